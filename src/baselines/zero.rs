//! Predicts 0 everywhere: the floor every learner must beat.

use super::Predictor;
use crate::prompt::Prompt;

pub struct Zero;

impl Predictor for Zero {
    fn name(&self) -> String {
        "zero".into()
    }
    fn predict(&self, _prompt: &Prompt, _k: usize) -> f64 {
        0.0
    }
    fn reads_context(&self) -> bool {
        false
    }
}
