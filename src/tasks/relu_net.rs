//! Random two-layer ReLU networks (Garg et al.):
//! f(x) = Σ_i a_i ReLU(w_i·x), w_i ~ N(0, I_d), a_i ~ N(0, 2/hidden), so Var f ≈ ‖x‖².

use nalgebra::{DMatrix, DVector, DVectorView};
use rand::Rng;
use rand_distr::StandardNormal;

use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct ReluNetFamily {
    pub hidden: usize,
}

/// One drawn network.
#[derive(Clone, Debug, PartialEq)]
pub struct ReluNet {
    /// [hidden, d]
    pub w: DMatrix<f64>,
    /// [hidden]
    pub a: DVector<f64>,
}

impl ReluNet {
    pub fn eval(&self, x: DVectorView<f64>) -> f64 {
        let h = &self.w * x;
        h.iter()
            .zip(self.a.iter())
            .map(|(h, a)| a * h.max(0.0))
            .sum()
    }
}

impl TaskFamily for ReluNetFamily {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        let scale = (2.0 / self.hidden as f64).sqrt();
        let w = DMatrix::from_fn(self.hidden, dims, |_, _| rng.sample(StandardNormal));
        let a = DVector::from_fn(self.hidden, |_, _| {
            scale * rng.sample::<f64, _>(StandardNormal)
        });
        Task {
            function: TaskFn::ReluNet(ReluNet { w, a }),
            noise_std: 0.0,
        }
    }
}
