//! Random quadrants: every point of a prompt lies in the same randomly chosen orthant,
//! x = s ⊙ |g| with g ~ N(0, I) and one random sign vector s per prompt. The inputs of
//! a prompt are then correlated, unlike in training. The queries are unrestricted,
//! x ~ N(0, I), as in Garg's test: the model must predict in orthants the context
//! never showed.

use nalgebra::DMatrix;
use rand::Rng;

use super::{XDistribution, gaussian::standard_normal, mask_inactive};
use crate::IclRng;

pub struct RandomQuadrants;

impl XDistribution for RandomQuadrants {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        let signs: Vec<f64> = (0..dims)
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let mut x = standard_normal(points, dims, rng);
        for ((_, j), v) in x
            .iter_mut()
            .enumerate()
            .map(|(i, v)| ((i % points, i / points), v))
        {
            *v = signs[j] * v.abs();
        }
        mask_inactive(&mut x, active);
        x
    }

    fn sample_prompt(
        &self,
        points: usize,
        dims: usize,
        active: usize,
        rng: &mut IclRng,
    ) -> (DMatrix<f64>, Option<DMatrix<f64>>) {
        let xs = self.sample(points, dims, active, rng);
        let mut queries = standard_normal(points, dims, rng);
        mask_inactive(&mut queries, active);
        (xs, Some(queries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn all_points_share_one_orthant() {
        let mut rng = IclRng::seed_from_u64(2);
        let x = RandomQuadrants.sample(50, 6, 6, &mut rng);
        for j in 0..6 {
            let col = x.column(j);
            assert!(col.iter().all(|v| *v >= 0.0) || col.iter().all(|v| *v <= 0.0));
        }
        // The queries leave the context's orthant: with 50 of them in 6 dimensions,
        // some coordinate takes both signs.
        let (x, q) = RandomQuadrants.sample_prompt(50, 6, 6, &mut rng);
        let q = q.expect("quadrant prompts ask separate queries");
        let mixed = (0..6).any(|j| {
            let s = x[(0, j)].signum();
            q.column(j).iter().any(|v| v.signum() != s)
        });
        assert!(mixed);
    }
}
