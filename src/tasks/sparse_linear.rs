//! Sparse linear regression (Garg et al.): only `sparsity` of the d weights are
//! non-zero, on coordinates drawn uniformly without replacement.

use nalgebra::DVector;
use rand::seq::index;
use rand_distr::StandardNormal;

use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct SparseLinearRegression {
    pub sparsity: usize,
}

impl TaskFamily for SparseLinearRegression {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        let mut w = DVector::zeros(dims);
        for i in index::sample(rng, dims, self.sparsity.min(dims)) {
            w[i] = rand::Rng::sample(rng, StandardNormal);
        }
        Task {
            function: TaskFn::Linear(w),
            noise_std: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn exactly_s_nonzero_weights_on_uniform_coordinates() {
        let mut rng = IclRng::seed_from_u64(1);
        let fam = SparseLinearRegression { sparsity: 3 };
        let mut hits = [0usize; 10];
        for _ in 0..2000 {
            let t = fam.sample(10, &mut rng);
            let w = t.function.linear_weights().unwrap();
            assert_eq!(w.iter().filter(|v| **v != 0.0).count(), 3);
            for (i, v) in w.iter().enumerate() {
                if *v != 0.0 {
                    hits[i] += 1;
                }
            }
        }
        // Each coordinate is non-zero with probability 3/10: 600 of 2000 (sd ≈ 20).
        for h in hits {
            assert!((500..700).contains(&h), "{hits:?}");
        }
    }
}
