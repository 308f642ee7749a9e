//! Garg's averaging estimator: ŵ = (1/k) Σ y_i x_i, prediction ŵ·x_q. Unbiased for
//! isotropic x but with variance that shrinks only like 1/k.

use super::{Predictor, linear_prediction};
use crate::prompt::Prompt;

pub struct Averaging;

impl Predictor for Averaging {
    fn name(&self) -> String {
        "averaging".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| c.xs.transpose() * c.ys / k as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::prompt_from;

    #[test]
    fn matches_hand_calculation() {
        // x1 = (1, 0), y1 = 2; x2 = (0, 2), y2 = 4; query (1, 1).
        let p = prompt_from(&[1., 0., 0., 2., 1., 1.], &[2., 4., 0.], 2);
        // ŵ = ((2,0) + (0,8)) / 2 = (1, 4) → 5
        assert!((Averaging.predict(&p, 2) - 5.0).abs() < 1e-12);
        assert_eq!(Averaging.predict(&p, 0), 0.0);
    }
}
