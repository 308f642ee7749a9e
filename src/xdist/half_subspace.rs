//! Half subspace (Garg et al.'s "half_subspace" prompts): x = z·T with
//! z ~ N(0, I) and T = √2 · Q diag(1, …, 1, 0, …, 0) Qᵀ, ones on the first ⌊d/2⌋
//! coordinates: every point of a prompt lies in one random subspace of half the
//! dimension, with tr Σ = d as in training (the √2). Least squares then needs only
//! d/2 examples; a model that learned "d examples pin w down" may not notice.
//! Q is drawn per prompt (Garg: once per evaluation).

use nalgebra::DMatrix;

use super::{XDistribution, gaussian::standard_normal, within_active};
use crate::IclRng;

pub struct HalfSubspace;

impl XDistribution for HalfSubspace {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        // Within the active coordinates (curriculum), as the skewed distribution.
        within_active(points, dims, active, |a| {
            let half = (a / 2).max(1);
            let q = standard_normal(a, a, rng).qr().q(); // [a, a], orthonormal
            let basis = q.columns(0, half); // [a, half]: the subspace
            let scale = (a as f64 / half as f64).sqrt();
            // rows: z Qₕ Qₕᵀ · scale ⇒ Cov = scale² Qₕ Qₕᵀ, trace a
            standard_normal(points, a, rng) * basis * basis.transpose() * scale
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn points_fill_half_the_dimensions_with_the_training_trace() {
        let mut rng = IclRng::seed_from_u64(5);
        let d = 6;
        let n = 20_000;
        let x = HalfSubspace.sample(n, d, d, &mut rng);
        let cov = x.transpose() * &x / n as f64;
        let mut eig: Vec<f64> = cov.symmetric_eigen().eigenvalues.iter().copied().collect();
        eig.sort_by(|a, b| b.total_cmp(a));
        // Three directions of variance 2, three of none: rank d/2, trace d.
        for e in &eig[..3] {
            assert!((e - 2.0).abs() < 0.1, "{eig:?}");
        }
        for e in &eig[3..] {
            assert!(e.abs() < 1e-9, "{eig:?}");
        }
        // A prompt of d/2 points already spans the subspace: least squares on it
        // recovers w's projection, so rank is what matters, not d.
        let p = HalfSubspace.sample(d, d, d, &mut rng);
        assert_eq!(p.rank(1e-9), d / 2);
    }
}
