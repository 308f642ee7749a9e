//! Skewed covariance: x ~ N(0, Σ) with Σ = Q diag(λ) Qᵀ, λ_i ∝ 1/i scaled so that
//! tr Σ = d (inputs as large on average as in training), and Q a random orthonormal
//! basis drawn per prompt (QR of a Gaussian matrix, via nalgebra).

use nalgebra::{DMatrix, DVector};

use super::{XDistribution, gaussian::standard_normal, mask_inactive};
use crate::IclRng;

pub struct Skewed;

/// The eigenvalues λ_i = c / i with Σ λ_i = d.
pub fn skewed_eigenvalues(dims: usize) -> DVector<f64> {
    let h: f64 = (1..=dims).map(|i| 1.0 / i as f64).sum();
    DVector::from_fn(dims, |i, _| dims as f64 / (h * (i + 1) as f64))
}

impl XDistribution for Skewed {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        // Only the active coordinates carry signal; skew within them.
        let a = active.max(1).min(dims);
        let q = standard_normal(a, a, rng).qr().q();
        let scale = DMatrix::from_diagonal(&skewed_eigenvalues(a).map(f64::sqrt));
        let z = standard_normal(points, a, rng);
        // rows: z diag(√λ) Qᵀ ⇒ Cov = Q diag(λ) Qᵀ
        let xa = z * scale * q.transpose();
        let mut x = DMatrix::zeros(points, dims);
        x.view_mut((0, 0), (points, a)).copy_from(&xa);
        mask_inactive(&mut x, active);
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn covariance_eigenvalues_fall_as_one_over_i() {
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
        // λ1/λ4 = 4 and the trace is d.
        assert!((want[0] / want[3] - 4.0).abs() < 1e-12);
        assert!((want.sum() - d as f64).abs() < 1e-12);
    }
}
