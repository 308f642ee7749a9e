//! Isotropic Gaussian inputs, x ~ N(0, I_d).

use nalgebra::DMatrix;
use rand_distr::StandardNormal;

use super::{XDistribution, mask_inactive};
use crate::IclRng;

pub struct Gaussian;

impl XDistribution for Gaussian {
    fn sample(&self, points: usize, dims: usize, active: usize, rng: &mut IclRng) -> DMatrix<f64> {
        let mut x = standard_normal(points, dims, rng);
        mask_inactive(&mut x, active);
        x
    }
}

pub(crate) fn standard_normal(rows: usize, cols: usize, rng: &mut IclRng) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |_, _| rand::Rng::sample(rng, StandardNormal))
}
