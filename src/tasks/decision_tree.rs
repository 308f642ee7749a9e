//! Random decision trees (Garg et al.): a complete binary tree of depth `depth`; each
//! internal node tests the sign of a uniformly chosen coordinate, each leaf holds a
//! value drawn from N(0, 1).

use nalgebra::DVectorView;
use rand::Rng;
use rand_distr::StandardNormal;

use super::{Task, TaskFamily, TaskFn};
use crate::IclRng;

pub struct DecisionTreeFamily {
    pub depth: usize,
}

/// A complete binary tree stored level by level: node i has children 2i+1, 2i+2.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTree {
    /// Coordinate tested at each of the 2^depth − 1 internal nodes.
    pub features: Vec<usize>,
    /// Values at the 2^depth leaves.
    pub leaves: Vec<f64>,
}

impl DecisionTree {
    pub fn eval(&self, x: DVectorView<f64>) -> f64 {
        let mut node = 0;
        while node < self.features.len() {
            node = if x[self.features[node]] > 0.0 {
                2 * node + 2
            } else {
                2 * node + 1
            };
        }
        self.leaves[node - self.features.len()]
    }
}

impl TaskFamily for DecisionTreeFamily {
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task {
        let internal = (1usize << self.depth) - 1;
        let features = (0..internal).map(|_| rng.random_range(0..dims)).collect();
        let leaves = (0..=internal).map(|_| rng.sample(StandardNormal)).collect();
        Task {
            function: TaskFn::Tree(DecisionTree { features, leaves }),
            noise_std: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DVector;

    #[test]
    fn routes_on_coordinate_signs() {
        // depth 2: root tests x0, its children test x1 (left) and x2 (right).
        let t = DecisionTree {
            features: vec![0, 1, 2],
            leaves: vec![10.0, 11.0, 12.0, 13.0],
        };
        let at = |v: [f64; 3]| t.eval(DVector::from_row_slice(&v).as_view());
        assert_eq!(at([-1.0, -1.0, 0.0]), 10.0);
        assert_eq!(at([-1.0, 1.0, 0.0]), 11.0);
        assert_eq!(at([1.0, 0.0, -1.0]), 12.0);
        assert_eq!(at([1.0, 0.0, 1.0]), 13.0);
    }
}
