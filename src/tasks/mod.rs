//! Task families: the functions a prompt's (x, y) pairs come from.
//!
//! One trait, [`TaskFamily`], one file per family, dispatched by the serde enum
//! [`TaskFamilyConfig`]. A family draws a [`Task`] (a function R^d → R and its label
//! noise); a [`TaskSource`] decides whether tasks are fresh for every prompt or drawn
//! from a finite pool of M tasks (task diversity).

pub mod classification;
mod decision_tree;
pub mod induction;
mod linear;
mod linear_classification;
mod noisy_linear;
mod pool;
mod regression_classification;
mod relu_net;
mod sparse_linear;

pub use classification::{ClassWorld, ClassificationConfig};
pub use decision_tree::{DecisionTree, DecisionTreeFamily};
pub use linear::LinearRegression;
pub use linear_classification::LinearClassification;
pub use noisy_linear::NoisyLinearRegression;
pub use pool::{TaskPool, TaskSource};
pub use regression_classification::RegressionClassification;
pub use relu_net::{ReluNet, ReluNetFamily};
pub use sparse_linear::SparseLinearRegression;

use nalgebra::{DVector, DVectorView};
use serde::{Deserialize, Serialize};

use crate::IclRng;
use crate::check::Checker;

/// A family of in-context tasks.
pub trait TaskFamily {
    /// Draws one task on inputs of dimension `dims`.
    fn sample(&self, dims: usize, rng: &mut IclRng) -> Task;
}

/// One drawn task: a function and the standard deviation of its label noise.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub function: TaskFn,
    pub noise_std: f64,
}

impl Task {
    /// The noiseless value f(x).
    pub fn eval(&self, x: DVectorView<f64>) -> f64 {
        self.function.eval(x)
    }
}

/// The function of a task, one variant per kind of function.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskFn {
    /// y = w · x
    Linear(DVector<f64>),
    /// y = sign(w · x) ∈ {−1, +1} (+1 at 0)
    Sign(DVector<f64>),
    ReluNet(ReluNet),
    Tree(DecisionTree),
}

impl TaskFn {
    pub fn eval(&self, x: DVectorView<f64>) -> f64 {
        match self {
            TaskFn::Linear(w) => w.dot(&x),
            TaskFn::Sign(w) => {
                if w.dot(&x) >= 0.0 {
                    1.0
                } else {
                    -1.0
                }
            }
            TaskFn::ReluNet(n) => n.eval(x),
            TaskFn::Tree(t) => t.eval(x),
        }
    }

    /// The weight vector of a linear task.
    pub fn linear_weights(&self) -> Option<&DVector<f64>> {
        match self {
            TaskFn::Linear(w) => Some(w),
            _ => None,
        }
    }
}

/// Which family, with its parameters. Serialised with a `kind` tag.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[derive(Default)]
pub enum TaskFamilyConfig {
    /// y = w·x, w ~ N(0, I_d): Garg's main setting.
    #[default]
    Linear,
    /// Only `sparsity` of the d weights are non-zero (Garg: s = 3).
    SparseLinear {
        #[serde(default = "default_sparsity")]
        sparsity: usize,
    },
    /// y = w·x + σε. One σ, or several: each prompt then draws its σ uniformly from
    /// the list (Bai's algorithm selection). Raventós uses σ = 0.5.
    NoisyLinear {
        #[serde(default = "default_noise")]
        noise: Vec<f64>,
    },
    /// f(x) = Σ_i a_i ReLU(w_i·x), w_i ~ N(0, I), a_i ~ N(0, 2/hidden): Garg uses 100
    /// hidden units.
    ReluNet {
        #[serde(default = "default_hidden")]
        hidden: usize,
    },
    /// Depth-`depth` binary tree splitting on the sign of a random coordinate, leaf
    /// values N(0, 1): Garg uses depth 4.
    DecisionTree {
        #[serde(default = "default_depth")]
        depth: usize,
    },
    /// y = sign(w·x), w ~ N(0, I_d): Bai's linear classification, read as ±1 targets.
    LinearClassification,
    /// Each prompt is linear regression, or linear classification with probability
    /// `p_classification` (Bai's regression + classification mixture).
    RegressionClassification {
        #[serde(default = "default_p_classification")]
        p_classification: f64,
    },
    /// Few-shot classification sequences (Chan 2022, Reddy 2023): not a regression
    /// family; the model reads a label at the query and is probed for ICL vs
    /// in-weights learning (see [`classification`]).
    Classification(ClassificationConfig),
    /// Token sequences with a repeated segment (Olsson 2022's induction setting):
    /// next-token prediction at every position over a vocabulary of `vocab` tokens;
    /// `task.points` is the sequence length T (see [`induction`]).
    Induction {
        #[serde(default = "default_vocab")]
        vocab: usize,
    },
}

fn default_sparsity() -> usize {
    3
}
fn default_noise() -> Vec<f64> {
    vec![0.5]
}
fn default_hidden() -> usize {
    100
}
fn default_depth() -> usize {
    4
}
fn default_p_classification() -> f64 {
    0.5
}
/// 64 tokens: chance repeats outside the copied segment stay rare at T = 32 (a token
/// has met its twin by position 32 with probability about 1 − e^(−0.5)), so the
/// repeat is what the model can learn from, while one-hot tokens stay small.
fn default_vocab() -> usize {
    64
}

/// The three shapes of data a family gives. Everything that depends on the shape
/// (sequence length, token width, what the model reads out, which evaluation runs)
/// asks [`TaskFamilyConfig::shape`] and matches on this, in one place each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape<'a> {
    /// Prompts of (x_i, y_i) pairs with a real-valued y to predict at every k.
    Regression,
    /// Chan/Reddy few-shot sequences: N (item, label) pairs and a query.
    Classification(&'a ClassificationConfig),
    /// Token sequences over a vocabulary: the next token at every position.
    Tokens { vocab: usize },
}

impl Shape<'_> {
    /// The family kind's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Regression => "regression",
            Shape::Classification(_) => "classification",
            Shape::Tokens { .. } => "induction",
        }
    }

    /// Tokens in the longest sequence of `points` points (pairs, positions);
    /// `None` for regression prompts, whose length is their encoding's
    /// (`Encoding::seq_len`, `Experiment::max_seq_len`).
    pub fn seq_len(self, points: usize) -> Option<usize> {
        match self {
            Shape::Regression => None,
            // x_1 l_1 … x_N l_N x_q
            Shape::Classification(_) => Some(classification::ClassEncoding::seq_len(points)),
            Shape::Tokens { .. } => Some(points),
        }
    }

    /// Numbers the model reads out per position: one y, or one logit per label or
    /// token.
    pub fn outputs(self) -> usize {
        match self {
            Shape::Regression => 1,
            Shape::Classification(c) => c.labels,
            Shape::Tokens { vocab } => vocab,
        }
    }
}

impl TaskFamilyConfig {
    /// The regression family behind the config; `None` for classification.
    pub fn family(&self) -> Option<Box<dyn TaskFamily>> {
        Some(match self {
            TaskFamilyConfig::Linear => Box::new(LinearRegression),
            TaskFamilyConfig::SparseLinear { sparsity } => Box::new(SparseLinearRegression {
                sparsity: *sparsity,
            }),
            TaskFamilyConfig::NoisyLinear { noise } => Box::new(NoisyLinearRegression {
                levels: noise.clone(),
            }),
            TaskFamilyConfig::ReluNet { hidden } => Box::new(ReluNetFamily { hidden: *hidden }),
            TaskFamilyConfig::DecisionTree { depth } => {
                Box::new(DecisionTreeFamily { depth: *depth })
            }
            TaskFamilyConfig::LinearClassification => Box::new(LinearClassification),
            TaskFamilyConfig::RegressionClassification { p_classification } => {
                Box::new(RegressionClassification {
                    p_classification: *p_classification,
                })
            }
            TaskFamilyConfig::Classification(_) | TaskFamilyConfig::Induction { .. } => {
                return None;
            }
        })
    }

    /// The shape of the family's data: what a sequence is and what is read from it.
    pub fn shape(&self) -> Shape<'_> {
        match self {
            TaskFamilyConfig::Classification(c) => Shape::Classification(c),
            TaskFamilyConfig::Induction { vocab } => Shape::Tokens { vocab: *vocab },
            _ => Shape::Regression,
        }
    }

    /// Prior variance τ² of each weight for the linear families (w ~ N(0, τ²I)).
    /// Whether every task is y = w·x (+ noise): least squares, ridge, GD and Newton
    /// are then the algorithms the model can be matched with.
    pub fn linear_in_x(&self) -> bool {
        matches!(
            self,
            TaskFamilyConfig::Linear
                | TaskFamilyConfig::SparseLinear { .. }
                | TaskFamilyConfig::NoisyLinear { .. }
        )
    }

    pub fn prior_var(&self) -> f64 {
        1.0
    }

    pub(crate) fn validate(&self, dims: usize, points: usize, c: &mut Checker) {
        match self {
            TaskFamilyConfig::Linear => {}
            TaskFamilyConfig::SparseLinear { sparsity } => {
                c.range_usize("task.family.sparsity", *sparsity, 1, dims.max(1))
            }
            TaskFamilyConfig::NoisyLinear { noise } => {
                if noise.is_empty() || noise.len() > 16 {
                    c.fail(
                        "task.family.noise",
                        format!("{noise:?}"),
                        "a list of 1 to 16 noise levels",
                    );
                }
                for (i, s) in noise.iter().enumerate() {
                    c.range_f64(&format!("task.family.noise[{i}]"), *s, 0.0, 10.0);
                }
            }
            TaskFamilyConfig::ReluNet { hidden } => {
                c.range_usize("task.family.hidden", *hidden, 1, 1024)
            }
            TaskFamilyConfig::DecisionTree { depth } => {
                c.range_usize("task.family.depth", *depth, 1, 12)
            }
            TaskFamilyConfig::LinearClassification => {}
            TaskFamilyConfig::RegressionClassification { p_classification } => {
                c.range_f64("task.family.p_classification", *p_classification, 0.0, 1.0)
            }
            TaskFamilyConfig::Classification(cfg) => cfg.validate(dims, points, c),
            TaskFamilyConfig::Induction { vocab } => {
                c.range_usize("task.family.vocab", *vocab, 2, induction::MAX_VOCAB);
                c.range_usize("task.points", points, 4, induction::MAX_LENGTH);
            }
        }
    }
}
