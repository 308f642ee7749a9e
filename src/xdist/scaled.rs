//! Scaled Gaussian inputs, x ~ N(0, c² I): Garg's test of whether the model
//! extrapolates to larger or smaller inputs than it was trained on.

use nalgebra::DMatrix;

use super::{XDistribution, gaussian::standard_normal, mask_inactive};
use crate::IclRng;

pub struct Scaled {
    pub scale: f64,
}

impl XDistribution for Scaled {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        let mut x = standard_normal(points, dims, rng) * self.scale;
        mask_inactive(&mut x, active);
        x
    }
}
