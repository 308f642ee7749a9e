//! Skewed covariance, as Garg et al. define it: x = z·T with z ~ N(0, I) and
//! T = Q diag(1/i) Qᵀ, normalised so that tr Σ = d (inputs as large on average as in
//! training). The covariance Σ = TᵀT then has eigenvalues ∝ 1/i² (condition number
//! d², 25 at d = 5), not 1/i: Garg's code scales x by T, whose eigenvalues are 1/i.
//! Q is a random orthonormal basis (QR of a Gaussian matrix, via nalgebra), drawn
//! per prompt; Garg draws one per evaluation. Least squares does not care which
//! basis; the model sees the same spectrum either way.

use nalgebra::{DMatrix, DVector};

use super::{XDistribution, gaussian::standard_normal, within_active};
use crate::IclRng;

pub struct Skewed;

/// The covariance's eigenvalues λ_i = c / i² with Σ λ_i = d.
pub fn skewed_eigenvalues(dims: usize) -> DVector<f64> {
    let h: f64 = (1..=dims).map(|i| 1.0 / (i * i) as f64).sum();
    DVector::from_fn(dims, |i, _| dims as f64 / (h * ((i + 1) * (i + 1)) as f64))
}

impl XDistribution for Skewed {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        // Only the active coordinates carry signal; skew within them.
        within_active(points, dims, active, |a| {
            let q = standard_normal(a, a, rng).qr().q();
            let scale = DMatrix::from_diagonal(&skewed_eigenvalues(a).map(f64::sqrt));
            // rows: z diag(√λ) Qᵀ ⇒ Cov = Q diag(λ) Qᵀ
            standard_normal(points, a, rng) * scale * q.transpose()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn covariance_eigenvalues_fall_as_one_over_i_squared() {
        let mut rng = IclRng::seed_from_u64(4);
        let d = 4;
        let n = 40_000;
        let x = Skewed.sample(n, d, d, &mut rng);
        let cov = x.transpose() * &x / n as f64;
        let mut eig: Vec<f64> = cov.symmetric_eigen().eigenvalues.iter().copied().collect();
        eig.sort_by(|a, b| b.partial_cmp(a).unwrap());
        let want = skewed_eigenvalues(d);
        for (got, want) in eig.iter().zip(want.iter()) {
            assert!((got - want).abs() < 0.05 * want + 0.01, "{eig:?} vs {want}");
        }
        // λ1/λ4 = 4² (Garg's x scaled by 1/i) and the trace is d.
        assert!((want[0] / want[3] - 16.0).abs() < 1e-12);
        assert!((want.sum() - d as f64).abs() < 1e-12);
    }
}
