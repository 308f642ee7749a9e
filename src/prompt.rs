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
    /// A separate question per position (some out-of-distribution tests); `None`:
    /// position k asks about x_k, as in training.
    pub queries: Option<Queries>,
}

/// The queries of a prompt whose positions do not ask about their own points.
#[derive(Clone, Debug, PartialEq)]
pub struct Queries {
    /// The query of each position, [points, dims].
    pub xs: DMatrix<f64>,
    /// Their labels (noise included), [points].
    pub ys: DVector<f64>,
}

impl Prompt {
    /// A prompt whose position k asks about x_k.
    pub fn new(xs: DMatrix<f64>, ys: DVector<f64>) -> Self {
        Prompt {
            xs,
            ys,
            noise_std: 0.0,
            task_index: None,
            queries: None,
        }
    }
    pub fn points(&self) -> usize {
        self.xs.nrows()
    }
    pub fn dims(&self) -> usize {
        self.xs.ncols()
    }
    /// The inputs the positions ask about, [points, dims]: row k is position k's
    /// query (the points themselves unless the prompt has separate queries).
    pub fn query_xs(&self) -> &DMatrix<f64> {
        self.queries.as_ref().map_or(&self.xs, |q| &q.xs)
    }
    /// The input position k asks about, [dims].
    pub fn query(&self, k: usize) -> DVector<f64> {
        self.query_xs().row(k).transpose()
    }
    /// The label to predict at position k.
    pub fn target(&self, k: usize) -> f64 {
        match &self.queries {
            Some(q) => q.ys[k],
            None => self.ys[k],
        }
    }
    /// The first k pairs and position k's query as a prompt of k + 1 points whose
    /// last position asks its own point: how an encoding without query tokens
    /// (interleaved) asks a separate query, one pass per k.
    pub fn asking(&self, k: usize) -> Prompt {
        let mut xs = self.xs.rows(0, k + 1).into_owned();
        xs.row_mut(k).copy_from(&self.query(k).transpose());
        let mut ys = self.ys.rows(0, k + 1).into_owned();
        ys[k] = self.target(k);
        Prompt {
            xs,
            ys,
            noise_std: self.noise_std,
            task_index: self.task_index,
            queries: None,
        }
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
        let (xs, queries) = self.x_dist.sample_prompt(points, self.dims, active, rng);
        let noise = (task.noise_std.powi(2) + self.label_noise.powi(2)).sqrt();
        let mut label = |x: &DMatrix<f64>| {
            DVector::from_fn(points, |i, _| {
                let clean = task.eval(x.row(i).transpose().as_view());
                let eps: f64 = if noise > 0.0 {
                    StandardNormal.sample(rng)
                } else {
                    0.0
                };
                self.y_scale * (clean + noise * eps)
            })
        };
        let ys = label(&xs);
        let queries = queries.map(|q| Queries {
            ys: label(&q),
            xs: q,
        });
        Prompt {
            xs,
            ys,
            noise_std: noise * self.y_scale.abs(),
            task_index,
            queries,
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
    /// Context tokens [x_i, y_i] followed by one query token [x_k, 0] per position
    /// k, which sees only the first k context tokens. The context tokens attend
    /// causally among themselves, so a stack of layers runs an online algorithm
    /// (Ding et al. 2023): one sequence of 2n tokens serves every k.
    Concatenated,
    /// von Oswald et al.'s mask: each position k gets its own block, the k context
    /// tokens [x_i, y_i] (i < k), which all see each other, then the query [x_k, 0],
    /// which sees the block and itself. Nothing from pairs i ≥ k reaches position
    /// k's block in any layer, so K layers can run K full-batch steps; the blocks
    /// cost n(n+1)/2 tokens for n points.
    FullContext,
}

impl Encoding {
    /// Width of one token for inputs of dimension `dims`.
    pub fn token_dim(self, dims: usize) -> usize {
        match self {
            Encoding::Interleaved => dims,
            Encoding::Concatenated | Encoding::FullContext => dims + 1,
        }
    }

    /// Tokens in the sequence of a prompt of `n` points.
    pub fn seq_len(self, n: usize) -> usize {
        match self {
            Encoding::Interleaved | Encoding::Concatenated => 2 * n,
            Encoding::FullContext => n * (n + 1) / 2,
        }
    }

    /// Whether the query x_k has a token of its own that no later position reads:
    /// what the algorithm lens needs to move the query and nothing else.
    pub fn has_query_tokens(self) -> bool {
        self != Encoding::Interleaved
    }

    /// Where block k of [`Encoding::FullContext`] starts: k(k+1)/2.
    fn block_start(k: usize) -> usize {
        k * (k + 1) / 2
    }

    /// Encodes prompts that all have the same number of points and dimensions.
    ///
    /// Interleaved tokens have no query token apart from the context, so prompts
    /// with separate queries are asked one position at a time
    /// ([`Prompt::asking`]), not encoded whole.
    pub fn encode(self, prompts: &[Prompt]) -> Batch {
        assert!(!prompts.is_empty(), "cannot encode an empty batch");
        assert!(
            self.has_query_tokens() || prompts.iter().all(|p| p.queries.is_none()),
            "interleaved tokens cannot hold separate queries: encode Prompt::asking(k)"
        );
        let n = prompts[0].points();
        let d = prompts[0].dims();
        let t = self.token_dim(d);
        let seq = self.seq_len(n);
        let mut tokens = vec![0f32; prompts.len() * seq * t];
        let mut targets = Vec::with_capacity(prompts.len() * n);
        let readout = self.readout(n);
        for (b, p) in prompts.iter().enumerate() {
            assert_eq!((p.points(), p.dims()), (n, d), "ragged batch");
            let base = b * seq * t;
            // Writes pair i's x at `pos` and its y after x, or, for a query token,
            // the query of position i alone.
            let queries = p.query_xs();
            let mut put = |pos: usize, i: usize, context: bool| {
                let at = base + pos * t;
                let x = if context { &p.xs } else { queries };
                for j in 0..d {
                    tokens[at + j] = x[(i, j)] as f32;
                }
                if context {
                    tokens[at + d] = p.ys[i] as f32;
                }
            };
            for i in 0..n {
                match self {
                    // below: x_0 y_0 x_1 y_1 …
                    Encoding::Interleaved => {}
                    // [x_0,y_0] … [x_{n-1},y_{n-1}] [x_0,0] … [x_{n-1},0]
                    Encoding::Concatenated => {
                        put(i, i, true);
                        put(n + i, i, false);
                    }
                    // block k: [x_0,y_0] … [x_{k-1},y_{k-1}] [x_k,0]
                    Encoding::FullContext => {
                        let start = Self::block_start(i);
                        for c in 0..i {
                            put(start + c, c, true);
                        }
                        put(start + i, i, false);
                    }
                }
            }
            if self == Encoding::Interleaved {
                // an x token, then a y token carrying y alone
                for i in 0..n {
                    for j in 0..d {
                        tokens[base + 2 * i * t + j] = p.xs[(i, j)] as f32;
                    }
                    tokens[base + (2 * i + 1) * t] = p.ys[i] as f32;
                }
            }
            targets.extend((0..n).map(|k| p.target(k) as f32));
        }
        Batch {
            tokens,
            batch: prompts.len(),
            seq,
            token_dim: t,
            mask: self.mask(n),
            readout,
            targets: Targets::Values(targets),
        }
    }

    /// Attention mask for prompts of `n` points (`true` = masked).
    pub fn mask(self, n: usize) -> Vec<bool> {
        let seq = self.seq_len(n);
        let mut m = vec![true; seq * seq];
        let mut show = |q: usize, k: usize| m[q * seq + k] = false;
        match self {
            Encoding::Interleaved => {
                for q in 0..seq {
                    (0..=q).for_each(|k| show(q, k));
                }
            }
            Encoding::Concatenated => {
                for q in 0..n {
                    // context tokens: causal among themselves
                    (0..=q).for_each(|k| show(q, k));
                    // the query for position q: the first q context tokens and itself
                    (0..q).for_each(|k| show(n + q, k));
                    show(n + q, n + q);
                }
            }
            Encoding::FullContext => {
                for block in 0..n {
                    let start = Self::block_start(block);
                    let query = start + block;
                    for q in start..query {
                        // a context token sees its block's whole context
                        (start..query).for_each(|k| show(q, k));
                    }
                    (start..=query).for_each(|k| show(query, k));
                }
            }
        }
        m
    }

    /// Positions where y_0 … y_{n−1} are predicted.
    pub fn readout(self, n: usize) -> Vec<usize> {
        match self {
            Encoding::Interleaved => (0..n).map(|i| 2 * i).collect(),
            Encoding::Concatenated => (n..2 * n).collect(),
            Encoding::FullContext => (0..n).map(|k| Self::block_start(k) + k).collect(),
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
            queries: None,
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

    #[test]
    fn full_context_blocks() {
        let b = Encoding::FullContext.encode(&[prompt()]);
        // blocks: [q0] [c0 q1] [c0 c1 q2]
        assert_eq!((b.seq, b.token_dim), (6, 3));
        assert_eq!(
            b.tokens,
            vec![
                1., 2., 0., // q0
                1., 2., 10., 3., 4., 0., // c0 q1
                1., 2., 10., 3., 4., 20., 5., 6., 0., // c0 c1 q2
            ]
        );
        assert_eq!(b.readout, vec![0, 2, 5]);
        assert_eq!(b.values(), [10., 20., 30.]);
        let visible = |q: usize| -> Vec<usize> { (0..6).filter(|&k| !b.mask[q * 6 + k]).collect() };
        assert_eq!(visible(0), [0]);
        assert_eq!(visible(1), [1]);
        assert_eq!(visible(2), [1, 2]);
        // context tokens see the whole context of their block, later ones included,
        // but not the query
        assert_eq!(visible(3), [3, 4]);
        assert_eq!(visible(4), [3, 4]);
        assert_eq!(visible(5), [3, 4, 5]);
        assert_eq!(Encoding::FullContext.seq_len(11), 66);
    }

    #[test]
    fn separate_queries_fill_the_query_tokens_and_the_targets() {
        let mut p = prompt();
        p.queries = Some(Queries {
            xs: DMatrix::from_row_slice(3, 2, &[7., 8., 9., 10., 11., 12.]),
            ys: DVector::from_row_slice(&[-1., -2., -3.]),
        });
        let b = Encoding::Concatenated.encode(std::slice::from_ref(&p));
        // the context keeps its own pairs; each query token holds its query
        assert_eq!(&b.tokens[..9], &[1., 2., 10., 3., 4., 20., 5., 6., 30.]);
        assert_eq!(&b.tokens[9..], &[7., 8., 0., 9., 10., 0., 11., 12., 0.]);
        assert_eq!(b.values(), [-1., -2., -3.]);
        let f = Encoding::FullContext.encode(std::slice::from_ref(&p));
        // block 2: c0 c1 q2, the query being (11, 12)
        assert_eq!(&f.tokens[9..], &[1., 2., 10., 3., 4., 20., 11., 12., 0.]);
        assert_eq!(f.values(), [-1., -2., -3.]);
        // interleaved tokens have no query token: position 1 is asked alone
        let asked = p.asking(1);
        assert_eq!(asked.xs, DMatrix::from_row_slice(2, 2, &[1., 2., 9., 10.]));
        assert_eq!(asked.ys, DVector::from_row_slice(&[10., -2.]));
        assert!(asked.queries.is_none());
        let refused = std::panic::catch_unwind(|| Encoding::Interleaved.encode(&[p.clone()]));
        assert!(refused.is_err());
    }

    #[test]
    fn sampled_queries_are_labelled_by_the_prompts_task() {
        use crate::tasks::{LinearRegression, TaskSource};
        use rand::SeedableRng;
        let sampler = PromptSampler {
            family: &LinearRegression,
            source: &TaskSource::Fresh,
            x_dist: &crate::xdist::OrthogonalQueries,
            dims: 4,
            y_scale: 1.0,
            label_noise: 0.0,
        };
        let p = sampler.sample(8, 4, &mut IclRng::seed_from_u64(9));
        let q = p
            .queries
            .as_ref()
            .expect("orthogonal prompts ask separate queries");
        // the task is linear and noiseless: w solves the context and the queries
        // together (least squares on all 16 pairs fits exactly)
        let xs = DMatrix::from_fn(16, 4, |i, j| {
            if i < 8 {
                p.xs[(i, j)]
            } else {
                q.xs[(i - 8, j)]
            }
        });
        let ys = DVector::from_fn(16, |i, _| if i < 8 { p.ys[i] } else { q.ys[i - 8] });
        let w = xs.clone().svd(true, true).solve(&ys, 1e-12).unwrap();
        assert!((xs * w - ys).amax() < 1e-9);
        assert_eq!(p.query(3), q.xs.row(3).transpose());
        assert_eq!(p.target(3), q.ys[3]);
    }
}
