//! Query in the prompt (Garg et al.'s test): x ~ N(0, I), and the query at
//! position k is one of the k examples before it, drawn uniformly (at k = 0, with
//! no example yet, a fresh point). The answer is in the context: least squares
//! and nearest neighbours get it exactly (noise aside), so a model that learned to
//! solve regression should too, and one that learned to average will not.

use nalgebra::DMatrix;
use rand::Rng;

use super::{Gaussian, XDistribution};
use crate::IclRng;

pub struct QueryInPrompt;

impl XDistribution for QueryInPrompt {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        Gaussian.sample(points, dims, active, rng)
    }

    fn sample_prompt(
        &self,
        points: usize,
        dims: usize,
        active: usize,
        rng: &mut IclRng,
    ) -> (DMatrix<f64>, Option<DMatrix<f64>>) {
        let xs = self.sample(points + 1, dims, active, rng);
        let mut queries = DMatrix::zeros(points, dims);
        for k in 0..points {
            // k = 0: the spare last row, a point the context does not hold.
            let from = if k == 0 {
                points
            } else {
                rng.random_range(0..k)
            };
            queries.row_mut(k).copy_from(&xs.row(from));
        }
        (xs.rows(0, points).into_owned(), Some(queries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn each_query_repeats_an_earlier_example() {
        let mut rng = IclRng::seed_from_u64(6);
        let (x, q) = QueryInPrompt.sample_prompt(12, 4, 4, &mut rng);
        let q = q.unwrap();
        for k in 1..12 {
            assert!(
                (0..k).any(|i| x.row(i) == q.row(k)),
                "query {k} is not one of the first {k} examples"
            );
        }
        assert!((0..12).all(|i| x.row(i) != q.row(0)));
    }
}
