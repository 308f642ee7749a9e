//! Bai et al. 2023's mixture: each prompt is linear regression (y = w·x) or, with
//! probability `p_classification`, linear classification (y = sign(w·x)). One model
//! must tell from the context which task it faces. Evaluated on each task alone; a
//! sweep of p_classification over 0, 0.5, 1 gives the single-task models to compare.

use rand::Rng;

use super::linear::gaussian_vector;
use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct RegressionClassification {
    pub p_classification: f64,
}

impl TaskFamily for RegressionClassification {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        let classify = rng.random_bool(self.p_classification.clamp(0.0, 1.0));
        let w = gaussian_vector(dims, rng);
        Task {
            function: if classify {
                TaskFn::Sign(w)
            } else {
                TaskFn::Linear(w)
            },
            noise_std: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_mixture_draws_classification_with_its_probability() {
        let mut rng = IclRng::seed_from_u64(5);
        let fam = RegressionClassification {
            p_classification: 0.25,
        };
        let n = 4000;
        let signs = (0..n)
            .filter(|_| matches!(fam.sample(3, &mut rng).function, TaskFn::Sign(_)))
            .count();
        // 1000 expected, s.d. √(4000·0.25·0.75) ≈ 27
        assert!((870..1130).contains(&signs), "{signs}");
        let none = RegressionClassification {
            p_classification: 0.0,
        };
        assert!((0..100).all(|_| matches!(none.sample(3, &mut rng).function, TaskFn::Linear(_))));
    }
}
