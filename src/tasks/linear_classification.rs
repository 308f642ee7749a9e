//! Linear classification, Bai et al. 2023: y = sign(w·x) ∈ {−1, +1}, w ~ N(0, I_d),
//! read as a regression target (squared error), like their mixture with regression.

use super::linear::gaussian_vector;
use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct LinearClassification;

impl TaskFamily for LinearClassification {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        Task {
            function: TaskFn::Sign(gaussian_vector(dims, rng)),
            noise_std: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn labels_are_the_sign_of_a_linear_function() {
        let mut rng = IclRng::seed_from_u64(1);
        let t = LinearClassification.sample(3, &mut rng);
        let w = match &t.function {
            TaskFn::Sign(w) => w.clone(),
            other => panic!("{other:?}"),
        };
        for x in [[1.0, 0.5, -2.0], [-0.3, 0.1, 0.2], [0.0, 0.0, 0.0]] {
            let x = nalgebra::DVector::from_row_slice(&x);
            let want = if w.dot(&x) >= 0.0 { 1.0 } else { -1.0 };
            assert_eq!(t.eval(x.as_view()), want);
        }
    }
}
