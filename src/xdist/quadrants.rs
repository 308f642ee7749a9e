//! Random quadrants: every point of a prompt lies in the same randomly chosen orthant,
//! x = s ⊙ |g| with g ~ N(0, I) and one random sign vector s per prompt. The inputs of
//! a prompt are then correlated, unlike in training.

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
    }
}
