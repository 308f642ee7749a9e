//! A small 2-layer ReLU network, f(x) = aᵀReLU(Wx + b) + c, fit to the k context
//! pairs by full-batch gradient descent on the mean squared error: Garg's baseline for
//! the ReLU-network family. Initialised from a fixed seed, so predictions are
//! deterministic.
//!
//! Hand-written forward/backward in nalgebra: a burn model per (prompt, k) would cost
//! more in setup than the whole fit.

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use super::{Context, Predictor};
use crate::IclRng;
use crate::prompt::Prompt;

pub struct NeuralNet {
    pub hidden: usize,
    pub steps: usize,
    pub lr: f64,
}

impl Predictor for NeuralNet {
    fn name(&self) -> String {
        "nn_gd".into()
    }

    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let c = Context::new(prompt, k);
        let (n, d) = c.xs.shape();
        let h = self.hidden;
        let mut rng = IclRng::seed_from_u64(0x6e6e);
        let mut normal = |scale: f64| -> f64 {
            let z: f64 = StandardNormal.sample(&mut rng);
            scale * z
        };
        let mut w = DMatrix::from_fn(h, d, |_, _| normal((1.0 / d as f64).sqrt()));
        let mut b = DVector::<f64>::zeros(h);
        let mut a = DVector::from_fn(h, |_, _| normal((1.0 / h as f64).sqrt()));
        let mut c0 = 0.0;
        let x = c.xs.clone_owned(); // [n, d]
        let y = c.ys.clone_owned();
        for _ in 0..self.steps {
            // forward: pre [n, h], act [n, h], out [n]
            let mut pre = &x * w.transpose();
            for mut row in pre.row_iter_mut() {
                row += b.transpose();
            }
            let act = pre.map(|v| v.max(0.0));
            let out = &act * &a + DVector::repeat(n, c0);
            // backward of mean((out − y)²)
            let g_out = (out - &y) * (2.0 / n as f64); // [n]
            let g_a = act.transpose() * &g_out; // [h]
            let g_c = g_out.sum();
            let mut g_pre = &g_out * a.transpose(); // [n, h]
            g_pre.zip_apply(&pre, |g, p| {
                if p <= 0.0 {
                    *g = 0.0
                }
            });
            let g_w = g_pre.transpose() * &x; // [h, d]
            let g_b = g_pre.row_sum().transpose(); // [h]
            w -= g_w * self.lr;
            b -= g_b * self.lr;
            a -= g_a * self.lr;
            c0 -= g_c * self.lr;
        }
        let hq = (&w * &c.query + b).map(|v| v.max(0.0));
        hq.dot(&a) + c0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::prompt_from;

    #[test]
    fn fits_a_relu_of_one_input() {
        // y = ReLU(x) on a 1-d grid; the query 1.5 lies inside the range.
        let xs: Vec<f64> = (-4..=4).map(|i| i as f64 * 0.5).chain([1.5]).collect();
        let ys: Vec<f64> = xs.iter().map(|x| x.max(0.0)).collect();
        let p = prompt_from(&xs, &ys, 1);
        let nn = NeuralNet {
            hidden: 32,
            steps: 2000,
            lr: 0.05,
        };
        let pred = nn.predict(&p, 9);
        assert!((pred - 1.5).abs() < 0.15, "{pred}");
    }
}
