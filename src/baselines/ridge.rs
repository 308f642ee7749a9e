//! Ridge regression: ŵ = (XᵀX + λI)⁻¹Xᵀy by a Cholesky solve (nalgebra). With
//! λ = σ²/τ² it is the Bayes posterior mean for w ~ N(0, τ²I) and Gaussian noise σ.

use super::{Context, Predictor, linear_prediction, min_norm_solve};
use crate::prompt::Prompt;
use nalgebra::{DMatrix, DVector};

pub struct Ridge {
    /// Fixed λ; `None` = σ²/τ² from the prompt's own noise level.
    pub lambda: Option<f64>,
    pub prior_var: f64,
}

impl Ridge {
    fn lambda_for(&self, prompt: &Prompt) -> f64 {
        self.lambda
            .unwrap_or(prompt.noise_std.powi(2) / self.prior_var.max(f64::MIN_POSITIVE))
    }

    /// ŵ for the context `c` of `prompt` (whose noise level sets the oracle's λ). The
    /// baseline and the algorithm lens both use it.
    pub fn fit(&self, prompt: &Prompt, c: &Context) -> DVector<f64> {
        let lambda = self.lambda_for(prompt);
        if lambda == 0.0 {
            // The λ → 0 limit of ridge is min-norm least squares.
            return min_norm_solve(&c.xs, &c.ys);
        }
        let d = c.xs.ncols();
        let gram = c.xs.transpose() * c.xs + DMatrix::identity(d, d) * lambda;
        gram.cholesky()
            .expect("XᵀX + λI is positive definite for λ > 0")
            .solve(&(c.xs.transpose() * c.ys))
    }
}

impl Predictor for Ridge {
    fn name(&self) -> String {
        match self.lambda {
            None => "ridge".into(),
            Some(l) => format!("ridge_{l}"),
        }
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| self.fit(prompt, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::linear_prompts;

    #[test]
    fn equals_the_direct_solve() {
        let p = &linear_prompts(1, 7, 4, 3)[0];
        let r = Ridge {
            lambda: Some(0.7),
            prior_var: 1.0,
        };
        for k in 1..7 {
            let x = p.xs.rows(0, k);
            let y = p.ys.rows(0, k);
            let inv = (x.transpose() * x + DMatrix::identity(4, 4) * 0.7)
                .try_inverse()
                .unwrap();
            let w = inv * x.transpose() * y;
            let want = w.dot(&p.xs.row(k).transpose());
            assert!((r.predict(p, k) - want).abs() < 1e-9);
        }
    }

    #[test]
    fn bayes_lambda_follows_the_prompt_noise() {
        let mut p = linear_prompts(1, 5, 3, 9)[0].clone();
        p.noise_std = 0.5;
        let oracle = Ridge {
            lambda: None,
            prior_var: 1.0,
        };
        let fixed = Ridge {
            lambda: Some(0.25),
            prior_var: 1.0,
        };
        assert!((oracle.predict(&p, 3) - fixed.predict(&p, 3)).abs() < 1e-12);
    }
}
