//! Lasso: argmin (1/2k)‖y − Xw‖² + α‖w‖₁ by cyclic coordinate descent.
//!
//! Hand-written: nalgebra and faer have no ℓ1 solver, and linfa's would bring a second
//! linear-algebra stack into the wasm build. The objective matches scikit-learn's,
//! which Garg et al. used (α = 0.01).

use nalgebra::DVector;

use super::{Context, Predictor, linear_prediction};
use crate::prompt::Prompt;

pub struct Lasso {
    pub alpha: f64,
}

const MAX_SWEEPS: usize = 1000;
const TOL: f64 = 1e-8;

fn soft_threshold(v: f64, t: f64) -> f64 {
    v.signum() * (v.abs() - t).max(0.0)
}

impl Lasso {
    pub fn fit(&self, c: &Context) -> DVector<f64> {
        let (k, d) = c.xs.shape();
        let n = k as f64;
        let mut w = DVector::zeros(d);
        let mut r = c.ys.clone_owned(); // residual y − Xw
        let col_sq: Vec<f64> = (0..d).map(|j| c.xs.column(j).norm_squared() / n).collect();
        for _ in 0..MAX_SWEEPS {
            let mut max_change: f64 = 0.0;
            for j in 0..d {
                if col_sq[j] == 0.0 {
                    continue;
                }
                let col = c.xs.column(j);
                let rho = col.dot(&r) / n + col_sq[j] * w[j];
                let new = soft_threshold(rho, self.alpha) / col_sq[j];
                let delta: f64 = new - w[j];
                if delta != 0.0 {
                    r.axpy(-delta, &col, 1.0);
                    w[j] = new;
                    max_change = max_change.max(delta.abs());
                }
            }
            if max_change < TOL {
                break;
            }
        }
        w
    }
}

impl Predictor for Lasso {
    fn name(&self) -> String {
        "lasso".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| self.fit(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::prompt_from;

    #[test]
    fn orthogonal_design_gives_soft_thresholded_least_squares() {
        // X = √2·I (2 points, 2 dims): (1/n)XᵀX = I, so ŵ_j = soft((1/n)x_jᵀy, α).
        let s = 2f64.sqrt();
        let p = prompt_from(&[s, 0., 0., s, 1., 1.], &[s * 3.0, s * 0.05, 0.], 2);
        let c = Context::new(&p, 2);
        let w = Lasso { alpha: 0.1 }.fit(&c);
        assert!((w[0] - 2.9).abs() < 1e-9, "{w}");
        assert_eq!(w[1], 0.0);
    }
}
