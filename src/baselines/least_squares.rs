//! Minimum-norm least squares: ŵ = X⁺y with X⁺ the Moore–Penrose pseudo-inverse
//! (nalgebra's SVD). Noiseless and isotropic: normalised error exactly 1 − k/d in
//! expectation for k < d and 0 from k = d on.

use super::{Predictor, linear_prediction};
use crate::prompt::Prompt;

pub struct LeastSquares;

/// ŵ = X⁺y, with singular values below 1e-10 · σ_max treated as zero.
pub(crate) fn min_norm_solve(
    xs: &nalgebra::DMatrixView<f64>,
    ys: &nalgebra::DVectorView<f64>,
) -> nalgebra::DVector<f64> {
    let x = xs.clone_owned();
    let svd = x.svd(true, true);
    let eps = 1e-10 * svd.singular_values.max().max(f64::MIN_POSITIVE);
    svd.solve(&ys.clone_owned(), eps)
        .expect("SVD computed with U and V")
}

impl Predictor for LeastSquares {
    fn name(&self) -> String {
        "least_squares".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| min_norm_solve(&c.xs, &c.ys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::{curve, linear_prompts};

    #[test]
    fn normalised_error_is_one_minus_k_over_d() {
        let d = 8;
        let prompts = linear_prompts(3000, 12, d, 11);
        let c = curve(&LeastSquares, &prompts);
        for (k, got) in c.iter().enumerate() {
            let want = if k < d {
                1.0 - k as f64 / d as f64
            } else {
                0.0
            };
            // Error = (w⊥·x_q)² with ‖w⊥‖² ~ χ²(d−k), x_q ~ N(0, I): variance
            // 3((d−k)² + 2(d−k)) − (d−k)²; allow 4 standard errors.
            let m = (d - k.min(d)) as f64;
            let sd = (3.0 * (m * m + 2.0 * m) - m * m).sqrt() / d as f64;
            let tol = 4.0 * sd / (prompts.len() as f64).sqrt();
            assert!(
                (got - want).abs() <= tol + 1e-12,
                "k={k}: {got} vs {want} ± {tol}"
            );
        }
        assert!(c[d] < 1e-12 && c[11] < 1e-12);
    }
}
