//! von Oswald's GD++ (2023): `steps` layers, each a gradient-descent step on the
//! residuals followed by a curvature correction of every input, the query's too:
//! x ← (I − γS)x with S = XᵀX/k. The correction preconditions the next step, so a
//! few layers come closer to least squares than as many GD steps. With one layer it
//! is one GD step (the correction comes after the step).
//!
//! Step size η = `lr_scale`/λ_max and γ = `gamma`/λ_max, each relative to the
//! current layer's own λ_max (the correction shrinks the spectrum, and a trained
//! layer would pick its own). The prediction p_q = Σ_l (η/k) r_lᵀ X_l P_l x_q, with
//! P_l the product of the corrections before layer l, is linear in x_q, so GD++ is
//! a weight vector ŵ = Σ_l P_lᵀ (η/k) X_lᵀ r_l like the other linear baselines.

use nalgebra::{DMatrix, DVector};

use super::{Context, Predictor, linear_prediction};
use crate::prompt::Prompt;

pub struct GdPlusPlus {
    pub steps: usize,
    pub lr_scale: f64,
    pub gamma: f64,
}

/// ŵ after each layer count in `ts`, from one run. The baseline and the algorithm
/// lens both use it.
pub fn gdpp_trajectory(c: &Context, lr_scale: f64, gamma: f64, ts: &[usize]) -> Vec<DVector<f64>> {
    let d = c.xs.ncols();
    let mut out = vec![DVector::zeros(d); ts.len()];
    if c.k() == 0 {
        return out;
    }
    let kf = c.k() as f64;
    // The inputs X (rows), the residuals r, and P, the corrections so far.
    let mut x = c.xs.clone_owned();
    let mut r = c.ys.clone_owned();
    let mut p = DMatrix::identity(d, d);
    let mut w = DVector::zeros(d);
    for t in 0..=ts.iter().copied().max().unwrap_or(0) {
        if t > 0 {
            let s = x.transpose() * &x / kf;
            let top = s.symmetric_eigenvalues().max();
            if top > 0.0 {
                let g = x.transpose() * &r * (lr_scale / top / kf); // (η/k) Xᵀr
                w += p.transpose() * &g;
                r -= &x * &g;
                let correction = DMatrix::identity(d, d) - s * (gamma / top);
                x = &x * &correction; // rows: x_i ← (I − γS) x_i (S symmetric)
                p = &correction * &p;
            }
        }
        for (o, _) in out.iter_mut().zip(ts).filter(|(_, want)| **want == t) {
            o.clone_from(&w);
        }
    }
    out
}

impl Predictor for GdPlusPlus {
    fn name(&self) -> String {
        format!("gdpp_{}", self.steps)
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| {
            gdpp_trajectory(c, self.lr_scale, self.gamma, &[self.steps]).remove(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::{curve, linear_prompts};
    use crate::baselines::{GradientDescent, StepSize, gd_trajectory};

    #[test]
    fn one_layer_is_one_gd_step_and_gamma_zero_is_gd() {
        let p = &linear_prompts(1, 12, 4, 21)[0];
        for k in 1..12 {
            let c = Context::new(p, k);
            let gd = gd_trajectory(&c, StepSize::OfLambdaMax(0.8), &[1, 3]);
            let one = gdpp_trajectory(&c, 0.8, 0.3, &[1]);
            let plain = gdpp_trajectory(&c, 0.8, 0.0, &[3]);
            assert!((&one[0] - &gd[0]).norm() < 1e-12, "k = {k}");
            assert!((&plain[0] - &gd[1]).norm() < 1e-12, "k = {k}");
        }
    }

    #[test]
    fn the_correction_beats_as_many_gd_steps() {
        // Anisotropic context (few points, k ≈ 2d): the preconditioning pays.
        let prompts = linear_prompts(400, 9, 4, 5);
        let gdpp = GdPlusPlus {
            steps: 3,
            lr_scale: 1.0,
            gamma: 0.25,
        };
        let gd = GradientDescent { steps: 3, lr: None };
        let (a, b) = (curve(&gdpp, &prompts), curve(&gd, &prompts));
        assert!(a[8] < b[8], "GD++ {a:?} vs GD {b:?}");
    }
}
