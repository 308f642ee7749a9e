//! Linear regression, Garg et al.: y = w·x with w ~ N(0, I_d).

use nalgebra::DVector;
use rand_distr::StandardNormal;

use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct LinearRegression;

impl TaskFamily for LinearRegression {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        Task {
            function: TaskFn::Linear(gaussian_vector(dims, rng)),
            noise_std: 0.0,
        }
    }
}

/// A vector of d independent standard normals.
pub(crate) fn gaussian_vector(dims: usize, rng: &mut IclRng) -> DVector<f64> {
    DVector::from_fn(dims, |_, _| rand::Rng::sample(rng, StandardNormal))
}
