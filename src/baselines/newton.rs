//! Iterative Newton (Newton–Schulz) for the inverse of S = XᵀX (Fu et al.):
//! M₀ = αSᵀ, M_{t+1} = 2M_t − M_t S M_t; prediction (M_t Xᵀy)·x_q. Converges
//! quadratically to S⁺, so a few iterations match least squares.
//!
//! α = 1/‖SSᵀ‖₂, not the 2/‖SSᵀ‖₂ quoted in science.md: since I − M_{t+1}S =
//! (I − M_t S)², the factor 2 puts the top eigenvalue of I − M₀S at exactly −1, which
//! squares to 1 and never contracts (the test below caught it). With 1 every eigenvalue
//! starts in [0, 1) and the iteration converges.

use nalgebra::DMatrix;

use super::{Predictor, linear_prediction};
use crate::prompt::Prompt;

pub struct Newton {
    pub iterations: usize,
}

/// The t-th Newton–Schulz iterate for S⁺.
pub fn newton_inverse(s: &DMatrix<f64>, iterations: usize) -> DMatrix<f64> {
    newton_trajectory(s, &[iterations]).remove(0)
}

/// The Newton–Schulz iterates M_t for S⁺ at each count in `ts`, from one run. The
/// baseline and the algorithm lens both use it.
pub fn newton_trajectory(s: &DMatrix<f64>, ts: &[usize]) -> Vec<DMatrix<f64>> {
    let sst = s * s.transpose();
    let norm = sst.symmetric_eigenvalues().amax();
    let mut out = vec![DMatrix::zeros(s.ncols(), s.nrows()); ts.len()];
    if norm == 0.0 {
        return out;
    }
    let mut m = s.transpose() * (1.0 / norm);
    for t in 0..=ts.iter().copied().max().unwrap_or(0) {
        if t > 0 {
            m = &m * 2.0 - &m * s * &m;
        }
        for (o, _) in out.iter_mut().zip(ts).filter(|(_, want)| **want == t) {
            o.clone_from(&m);
        }
    }
    out
}

impl Predictor for Newton {
    fn name(&self) -> String {
        format!("newton_{}", self.iterations)
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| {
            let s = c.xs.transpose() * c.xs;
            newton_inverse(&s, self.iterations) * (c.xs.transpose() * c.ys)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::linear_prompts;

    #[test]
    fn iterates_converge_to_the_inverse() {
        let p = &linear_prompts(1, 20, 4, 7)[0];
        let s = p.xs.transpose() * &p.xs;
        let inv = s.clone().try_inverse().unwrap();
        let err = |t| (newton_inverse(&s, t) - &inv).norm() / inv.norm();
        let errs: Vec<f64> = [0, 2, 4, 8, 12, 20].iter().map(|t| err(*t)).collect();
        for w in errs.windows(2) {
            assert!(w[1] <= w[0] + 1e-12, "{errs:?}");
        }
        assert!(errs[5] < 1e-9, "{errs:?}");
        // …and M S → I.
        let m = newton_inverse(&s, 20);
        assert!((m * &s - DMatrix::identity(4, 4)).norm() < 1e-8);
    }
}
