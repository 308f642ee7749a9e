//! Prompts and their token encodings.
//!
//! A [`Prompt`] is `points` pairs (x_i, y_i) drawn from one task. At position k the
//! model (and every baseline) predicts y_k from the first k pairs and the query x_k,
//! so one prompt of n points yields predictions for k = 0 … n−1.
//!
//! Encodings turn a batch of prompts into a flat f32 token buffer plus an attention
//! mask and the positions where predictions are read; nothing here touches a tensor
//! backend, so the same bytes feed the CPU and the GPU.

use nalgebra::{DMatrix, DVector};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::batch::{Batch, Targets};

use crate::IclRng;
use crate::tasks::{TaskFamily, TaskSource};
use crate::xdist::XDistribution;

/// One in-context prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// Inputs, [points, dims].
    pub xs: DMatrix<f64>,
    /// Labels (noise included), [points].
    pub ys: DVector<f64>,
    /// Label noise σ of the prompt's task (known to oracle baselines such as ridge).
    pub noise_std: f64,
    /// Index of the task in the pool, when it came from one.
    pub task_index: Option<usize>,
}

impl Prompt {
    pub fn points(&self) -> usize {
        self.xs.nrows()
    }
    pub fn dims(&self) -> usize {
        self.xs.ncols()
    }
}

/// Everything needed to draw prompts.
pub struct PromptSampler<'a> {
    pub family: &'a dyn TaskFamily,
    pub source: &'a TaskSource,
    pub x_dist: &'a dyn XDistribution,
    pub dims: usize,
    /// Extra multiplier on y (out-of-distribution evaluation); 1 in training.
    pub y_scale: f64,
    /// Extra label noise σ (out-of-distribution evaluation); 0 in training.
    pub label_noise: f64,
}

impl PromptSampler<'_> {
    /// Draws one prompt of `points` pairs with `active` non-zero input coordinates.
    pub fn sample(&self, points: usize, active: usize, rng: &mut IclRng) -> Prompt {
        let (task, task_index) = self.source.draw(self.family, self.dims, rng);
        let xs = self.x_dist.sample(points, self.dims, active, rng);
        let noise = (task.noise_std.powi(2) + self.label_noise.powi(2)).sqrt();
        let ys = DVector::from_fn(points, |i, _| {
            let clean = task.eval(xs.row(i).transpose().as_view());
            let eps: f64 = if noise > 0.0 {
                StandardNormal.sample(rng)
            } else {
                0.0
            };
            self.y_scale * (clean + noise * eps)
        });
        Prompt {
            xs,
            ys,
            noise_std: noise * self.y_scale.abs(),
            task_index,
        }
    }

    pub fn sample_batch(
        &self,
        count: usize,
        points: usize,
        active: usize,
        rng: &mut IclRng,
    ) -> Vec<Prompt> {
        (0..count)
            .map(|_| self.sample(points, active, rng))
            .collect()
    }
}

/// Prompt encodings.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Garg et al.: x tokens and y tokens alternate (y zero-padded to d); the model
    /// predicts y_k at the position of x_k, with a causal mask.
    Interleaved,
    /// von Oswald et al.: context tokens [x_i, y_i] followed by one query token
    /// [x_k, 0] per position k, which sees only the first k context tokens.
    Concatenated,
}

impl Encoding {
    /// Width of one token for inputs of dimension `dims`.
    pub fn token_dim(self, dims: usize) -> usize {
        match self {
            Encoding::Interleaved => dims,
            Encoding::Concatenated => dims + 1,
        }
    }

    /// Encodes prompts that all have the same number of points and dimensions.
    pub fn encode(self, prompts: &[Prompt]) -> Batch {
        assert!(!prompts.is_empty(), "cannot encode an empty batch");
        let n = prompts[0].points();
        let d = prompts[0].dims();
        let t = self.token_dim(d);
        let seq = 2 * n;
        let mut tokens = vec![0f32; prompts.len() * seq * t];
        let mut targets = Vec::with_capacity(prompts.len() * n);
        for (b, p) in prompts.iter().enumerate() {
            assert_eq!((p.points(), p.dims()), (n, d), "ragged batch");
            let base = b * seq * t;
            for i in 0..n {
                let (x_pos, y_pos) = match self {
                    // x_0 y_0 x_1 y_1 …
                    Encoding::Interleaved => (2 * i, 2 * i + 1),
                    // [x_0,y_0] … [x_{n-1},y_{n-1}] [x_0,0] … [x_{n-1},0]
                    Encoding::Concatenated => (n + i, i),
                };
                for j in 0..d {
                    tokens[base + x_pos * t + j] = p.xs[(i, j)] as f32;
                }
                match self {
                    Encoding::Interleaved => tokens[base + y_pos * t] = p.ys[i] as f32,
                    Encoding::Concatenated => {
                        for j in 0..d {
                            tokens[base + y_pos * t + j] = p.xs[(i, j)] as f32;
                        }
                        tokens[base + y_pos * t + d] = p.ys[i] as f32;
                    }
                }
                targets.push(p.ys[i] as f32);
            }
        }
        Batch {
            tokens,
            batch: prompts.len(),
            seq,
            token_dim: t,
            mask: self.mask(n),
            readout: self.readout(n),
            targets: Targets::Values(targets),
        }
    }

    /// Attention mask for prompts of `n` points (`true` = masked).
    pub fn mask(self, n: usize) -> Vec<bool> {
        let seq = 2 * n;
        let mut m = vec![true; seq * seq];
        for q in 0..seq {
            for k in 0..seq {
                let visible = match self {
                    Encoding::Interleaved => k <= q,
                    Encoding::Concatenated => {
                        if q < n {
                            // context tokens: causal among themselves
                            k <= q
                        } else {
                            // query for position i = q - n: the first i context
                            // tokens and itself
                            k < q - n || k == q
                        }
                    }
                };
                m[q * seq + k] = !visible;
            }
        }
        m
    }

    /// Positions where y_0 … y_{n−1} are predicted.
    pub fn readout(self, n: usize) -> Vec<usize> {
        match self {
            Encoding::Interleaved => (0..n).map(|i| 2 * i).collect(),
            Encoding::Concatenated => (n..2 * n).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt() -> Prompt {
        Prompt {
            xs: DMatrix::from_row_slice(3, 2, &[1., 2., 3., 4., 5., 6.]),
            ys: DVector::from_row_slice(&[10., 20., 30.]),
            noise_std: 0.0,
            task_index: None,
        }
    }

    #[test]
    fn interleaved_layout() {
        let b = Encoding::Interleaved.encode(&[prompt()]);
        assert_eq!((b.seq, b.token_dim), (6, 2));
        assert_eq!(
            b.tokens,
            vec![1., 2., 10., 0., 3., 4., 20., 0., 5., 6., 30., 0.]
        );
        assert_eq!(b.readout, vec![0, 2, 4]);
        assert_eq!(b.values(), [10., 20., 30.]);
        // causal: row 2 sees 0..=2 only
        assert_eq!(&b.mask[12..18], &[false, false, false, true, true, true]);
    }

    #[test]
    fn concatenated_layout_and_query_visibility() {
        let b = Encoding::Concatenated.encode(&[prompt()]);
        assert_eq!((b.seq, b.token_dim), (6, 3));
        assert_eq!(&b.tokens[..9], &[1., 2., 10., 3., 4., 20., 5., 6., 30.]);
        assert_eq!(&b.tokens[9..], &[1., 2., 0., 3., 4., 0., 5., 6., 0.]);
        assert_eq!(b.readout, vec![3, 4, 5]);
        // query for k = 2 (row 5) sees context 0, 1 and itself, not context 2.
        let row5: Vec<bool> = b.mask[30..36].iter().map(|m| !m).collect();
        assert_eq!(row5, vec![true, true, false, false, false, true]);
        // query for k = 0 (row 3) sees only itself.
        let row3: Vec<bool> = b.mask[18..24].iter().map(|m| !m).collect();
        assert_eq!(row3, vec![false, false, false, true, false, false]);
    }
}
