//! `steps` steps of gradient descent from w = 0 on L(w) = ½‖y − Xw‖²/k. One step
//! gives w₁ = (η/k) Xᵀy, the update von Oswald's linear self-attention layer encodes.

use nalgebra::DVector;

use super::{Context, Predictor, linear_prediction};
use crate::prompt::Prompt;

pub struct GradientDescent {
    pub steps: usize,
    /// Step size η; `None` = 1/λ_max(XᵀX/k), the largest step that never overshoots.
    pub lr: Option<f64>,
}

/// Gradient descent's step size η.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepSize {
    /// η itself.
    Fixed(f64),
    /// η = scale / λ_max(XᵀX/k): 1 never overshoots, 2 and more diverge.
    OfLambdaMax(f64),
}

/// The weights after each step count in `ts`, from one run of gradient descent from
/// w = 0 on L(w) = ½‖y − Xw‖²/k. The baseline and the algorithm lens both use it.
pub fn gd_trajectory(c: &Context, step: StepSize, ts: &[usize]) -> Vec<DVector<f64>> {
    let k = c.k() as f64;
    let d = c.xs.ncols();
    let mut out = vec![DVector::zeros(d); ts.len()];
    if c.k() == 0 {
        return out;
    }
    let gram = c.xs.transpose() * c.xs / k;
    let xty = c.xs.transpose() * c.ys / k;
    let lr = match step {
        StepSize::Fixed(lr) => lr,
        StepSize::OfLambdaMax(scale) => {
            let top = gram.symmetric_eigenvalues().max();
            if top > 0.0 { scale / top } else { 0.0 }
        }
    };
    let mut w = DVector::zeros(d);
    for t in 0..=ts.iter().copied().max().unwrap_or(0) {
        if t > 0 {
            // ∇L = XᵀXw/k − Xᵀy/k
            let grad = &gram * &w - &xty;
            w -= grad * lr;
        }
        for (o, _) in out.iter_mut().zip(ts).filter(|(_, want)| **want == t) {
            o.clone_from(&w);
        }
    }
    out
}

impl GradientDescent {
    pub fn fit(&self, c: &Context) -> DVector<f64> {
        let step = self.lr.map_or(StepSize::OfLambdaMax(1.0), StepSize::Fixed);
        gd_trajectory(c, step, &[self.steps]).remove(0)
    }
}

impl Predictor for GradientDescent {
    fn name(&self) -> String {
        format!("gd_{}", self.steps)
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| self.fit(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::linear_prompts;

    #[test]
    fn one_step_equals_the_formula() {
        let p = &linear_prompts(1, 9, 4, 5)[0];
        let eta = 0.3;
        let gd = GradientDescent {
            steps: 1,
            lr: Some(eta),
        };
        for k in 1..9 {
            // w₁ = (η/k) Σ y_i x_i
            let mut w = DVector::zeros(4);
            for i in 0..k {
                w += p.xs.row(i).transpose() * p.ys[i];
            }
            w *= eta / k as f64;
            let want = w.dot(&p.xs.row(k).transpose());
            assert!((gd.predict(p, k) - want).abs() < 1e-12);
        }
    }

    #[test]
    fn many_steps_approach_least_squares() {
        let p = &linear_prompts(1, 12, 3, 6)[0];
        let gd = GradientDescent {
            steps: 2000,
            lr: None,
        };
        // Noiseless and k ≥ d: least squares recovers y exactly.
        assert!((gd.predict(p, 10) - p.ys[10]).abs() < 1e-6);
    }
}
