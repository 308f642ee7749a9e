//! Noisy linear regression: y = w·x + σε. With several noise levels each prompt
//! draws its σ uniformly from the list, so one model must infer the noise level from
//! the prompt and pick the right regularisation (Bai et al.'s algorithm selection).

use rand::Rng;

use super::linear::gaussian_vector;
use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct NoisyLinearRegression {
    pub levels: Vec<f64>,
}

impl TaskFamily for NoisyLinearRegression {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        let w = gaussian_vector(dims, rng);
        let noise_std = self.levels[rng.random_range(0..self.levels.len())];
        Task {
            function: TaskFn::Linear(w),
            noise_std,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mixture_levels_are_drawn_uniformly() {
        let fam = NoisyLinearRegression {
            levels: vec![0.1, 1.0],
        };
        let mut rng = IclRng::seed_from_u64(3);
        let n = 4000;
        let low = (0..n)
            .filter(|_| fam.sample(4, &mut rng).noise_std == 0.1)
            .count();
        assert!((1850..2150).contains(&low), "{low}");
    }
}
