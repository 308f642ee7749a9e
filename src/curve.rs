//! A curve over context length k: the mean and its standard error at each k, from
//! per-prompt samples. Evaluation (the ICL curve) and the mechanism lens (loss by
//! position) both draw them.

use serde::{Deserialize, Serialize};

/// Mean and standard error at each k.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Curve {
    pub mean: Vec<f64>,
    pub stderr: Vec<f64>,
}

impl Curve {
    /// Mean and standard error of the samples at each k (`samples[k]`).
    pub fn from_samples(samples: &[Vec<f64>]) -> Curve {
        let (mut mean, mut stderr) = (Vec::new(), Vec::new());
        for xs in samples {
            let count = xs.len().max(1) as f64;
            let m = xs.iter().sum::<f64>() / count;
            let var = xs.iter().map(|e| (e - m).powi(2)).sum::<f64>() / (count - 1.0).max(1.0);
            mean.push(m);
            stderr.push((var / count).sqrt());
        }
        Curve { mean, stderr }
    }
}
