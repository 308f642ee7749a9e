//! Orthogonal train/test (Garg et al.'s "orthogonal train test" prompts): the
//! context points lie in one random subspace of half the dimension, as in
//! [`HalfSubspace`](super::HalfSubspace), and every query in the subspace
//! orthogonal to it. The context then says nothing about w along the query: least
//! squares' minimum-norm solution predicts 0 there, and its error is the query's
//! share of w. Traces are d for the context and for the queries, as in training.

use nalgebra::DMatrix;

use super::{XDistribution, gaussian::standard_normal, within_active};
use crate::IclRng;

pub struct OrthogonalQueries;

impl XDistribution for OrthogonalQueries {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        self.sample_prompt(points, dims, active, rng).0
    }

    fn sample_prompt(
        &self,
        points: usize,
        dims: usize,
        active: usize,
        rng: &mut IclRng,
    ) -> (DMatrix<f64>, Option<DMatrix<f64>>) {
        let a = active.max(1).min(dims);
        let half = (a / 2).max(1);
        let q = standard_normal(a, a, rng).qr().q(); // [a, a], orthonormal
        // One dimension: no complement to ask in; the queries then share the context's line.
        let rest = (a - half).max(1);
        let (context, other) = (q.columns(0, half), q.columns(a - rest, rest));
        let mut draw = |basis: nalgebra::DMatrixView<f64>, width: usize| {
            let scale = (a as f64 / width as f64).sqrt();
            within_active(points, dims, active, |a| {
                standard_normal(points, a, rng) * basis * basis.transpose() * scale
            })
        };
        let xs = draw(context, half);
        let queries = draw(other, rest);
        (xs, Some(queries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn queries_are_orthogonal_to_the_context() {
        let mut rng = IclRng::seed_from_u64(3);
        let (x, q) = OrthogonalQueries.sample_prompt(40, 6, 6, &mut rng);
        let q = q.unwrap();
        // Every query is orthogonal to every context point, and each side spans d/2.
        let cross = &x * q.transpose();
        assert!(cross.amax() < 1e-9, "{}", cross.amax());
        assert_eq!(x.rank(1e-9), 3);
        assert_eq!(q.rank(1e-9), 3);
        // Trace d on each side, as in training (mean squared norm ≈ 6).
        let norm = |m: &DMatrix<f64>| m.norm_squared() / m.nrows() as f64;
        let (mut nx, mut nq) = (0.0, 0.0);
        for _ in 0..200 {
            let (x, q) = OrthogonalQueries.sample_prompt(40, 6, 6, &mut rng);
            nx += norm(&x) / 200.0;
            nq += norm(&q.unwrap()) / 200.0;
        }
        assert!(
            (nx - 6.0).abs() < 0.2 && (nq - 6.0).abs() < 0.2,
            "{nx} {nq}"
        );
    }

    #[test]
    fn inactive_coordinates_stay_zero() {
        let mut rng = IclRng::seed_from_u64(4);
        let (x, q) = OrthogonalQueries.sample_prompt(10, 8, 4, &mut rng);
        let q = q.unwrap();
        for j in 4..8 {
            assert!(
                x.column(j)
                    .iter()
                    .chain(q.column(j).iter())
                    .all(|v| *v == 0.0)
            );
        }
    }
}
