//! The one experiment config: at once the CLI's config file, the record saved with
//! every run and (in the browser) the URL hash.
//!
//! Every field has a default that says why it was chosen; [`Experiment::validate`]
//! names the field, the value and the allowed range of everything it rejects.
//! Missing fields take their defaults, unknown fields are refused (a typo in a config
//! file must not silently train the wrong thing).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::baselines::BaselineConfig;
pub use crate::check::FieldError;
use crate::check::{Checker, ellipsize, readable};
pub use crate::prompt::Encoding;
use crate::tasks::{Shape, TaskFamilyConfig};
use crate::xdist::XDistConfig;

/// Bumped whenever a field changes meaning; old records are refused or migrated.
/// Version 2 changed the optimizer's defaults (no warm-up, constant rate, no
/// clipping; version 1: 100 warm-up steps, cosine, per-parameter clipping at 1.0):
/// [`migrate`] gives a version-1 record that leaves them out the old values.
pub const FORMAT_VERSION: u32 = 2;

/// Brings a config record (a config file, a URL's experiment) written by an older
/// version to this one: fields whose default changed since are filled with the
/// default of the record's version, so an old link or file trains what it trained
/// then. Records of this version, or without a version, are left as they are.
pub fn migrate(record: &mut Value) {
    let Value::Object(map) = record else { return };
    if map.get("version").and_then(Value::as_u64) != Some(1) {
        return;
    }
    let optim = map
        .entry("optim")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(o) = optim {
        for (key, old) in [
            ("warmup_steps", Value::from(100)),
            ("schedule", Value::from("cosine")),
            ("grad_clip", Value::from(1.0)),
        ] {
            o.entry(key).or_insert(old);
        }
    }
    map.insert("version".into(), Value::from(FORMAT_VERSION));
}

/// One experiment: what is trained, on what data, how, and how it is evaluated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Experiment {
    /// Format version of this record ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Seeds everything: prompts (a Rust RNG, identical on every backend), the task
    /// pool, the evaluation prompts and the model's initial weights.
    pub seed: u64,
    pub task: TaskConfig,
    /// Distribution of the inputs x during training (and in-distribution evaluation).
    pub x_dist: XDistConfig,
    pub model: ModelConfig,
    pub optim: OptimConfig,
    /// Garg's curriculum; `null` trains at full size from the first step.
    pub curriculum: Option<CurriculumConfig>,
    pub train: TrainConfig,
    pub eval: EvalConfig,
}

impl Default for Experiment {
    fn default() -> Self {
        Self {
            version: FORMAT_VERSION,
            // Any fixed value: runs are reproducible by default.
            seed: 0,
            task: TaskConfig::default(),
            x_dist: XDistConfig::default(),
            model: ModelConfig::default(),
            optim: OptimConfig::default(),
            curriculum: None,
            train: TrainConfig::default(),
            eval: EvalConfig::default(),
        }
    }
}

/// The in-context task: which function family, its size, and how prompts are encoded.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    pub family: TaskFamilyConfig,
    /// Input dimension d. 5 is Garg's `toy` setting: small enough to train in a minute,
    /// large enough that k < d and k ≥ d look different.
    pub dims: usize,
    /// (x, y) pairs per prompt. 11 ≈ 2d + 1 shows the whole curve past k = d.
    pub points: usize,
    /// Size M of a finite task pool (Raventós's task diversity); `null` draws a fresh
    /// task for every prompt (M = ∞), the classic ICL setting.
    pub pool: Option<usize>,
    /// How a prompt becomes tokens.
    pub encoding: Encoding,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            family: TaskFamilyConfig::default(),
            dims: 5,
            points: 11,
            pool: None,
            encoding: Encoding::Interleaved,
        }
    }
}

/// Attention kinds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// Standard scaled dot-product attention with a softmax.
    Softmax,
    /// Softmax-free ("linear") attention: scores averaged over the visible keys, as in
    /// von Oswald's linear self-attention.
    Linear,
}

/// Model architectures.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// GPT-2-style decoder: pre-LayerNorm blocks of attention (+ MLP), a linear read-out.
    Transformer,
    /// Reddy 2023's network: attention-only layers (no MLP in the blocks, whatever
    /// `mlp` says), then a small ReLU MLP classifier (two hidden layers of 4× width)
    /// on the read-out token. With 2 layers and 1 head it is the ≈100k-parameter model
    /// whose abrupt ICL transition Reddy traces to an induction head.
    Reddy,
    /// von Oswald's linear self-attention: `layers` softmax-free attention layers
    /// acting directly on the [x, y] tokens (residual width d + 1, no embedding, no
    /// positions, no LayerNorm, no MLP, no biases); the prediction is the y slot of
    /// the query token. `width` and `mlp` do not apply; needs [x, y] tokens.
    Lsa,
    /// The transformer with softmax-free attention whatever `attention` says: the
    /// "linear RNN" bridge between attention and recurrence (linear attention is a
    /// recurrence over a d_k × d_k state).
    LinearAttention,
    /// A stack of LSTM layers (burn's `nn::Lstm`, hidden size = width) in pre-LayerNorm
    /// residual blocks, with the blocks' MLP when `mlp` is on: the transformer with
    /// its attention swapped for recurrence (Chan 2022, Lee 2023). No positions: the
    /// recurrence knows the order. Reads the sequence strictly in order, so regression
    /// needs `task.encoding = interleaved`.
    Lstm,
    /// The same blocks with burn's `nn::Gru`.
    Gru,
    /// The same blocks with a diagonal state-space layer (S4D-Real, Gu et al. 2022):
    /// per channel a linear recurrence over a state of [`S4D_STATE`] numbers, computed
    /// as a causal convolution. burn has none; it is written out in `src/recurrent.rs`.
    S4d,
}

/// State numbers per channel of the S4D layer: S4D's default of 64 is for
/// sequences of thousands of tokens; a few hundred need far fewer modes, and 16
/// keeps the convolution kernel's [w, N, s] tensor small in a browser.
pub const S4D_STATE: usize = 16;

impl ModelKind {
    /// Every kind, in the order menus and sweeps list them.
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Transformer,
        ModelKind::LinearAttention,
        ModelKind::Reddy,
        ModelKind::Lsa,
        ModelKind::Lstm,
        ModelKind::Gru,
        ModelKind::S4d,
    ];

    /// LSTM, GRU and S4D: no attention, a state carried along the sequence.
    pub fn is_recurrent(self) -> bool {
        matches!(self, ModelKind::Lstm | ModelKind::Gru | ModelKind::S4d)
    }

    /// Whether the model has attention heads (what the attention lens and head
    /// ablations read).
    pub fn has_attention(self) -> bool {
        !self.is_recurrent()
    }

    /// The name a sentence uses ("LSTM", "state-space model").
    pub fn label(self) -> &'static str {
        match self {
            ModelKind::Transformer => "transformer",
            ModelKind::Reddy => "attention-only model",
            ModelKind::Lsa => "linear self-attention model",
            ModelKind::LinearAttention => "linear-attention transformer",
            ModelKind::Lstm => "LSTM",
            ModelKind::Gru => "GRU",
            ModelKind::S4d => "S4D state-space model",
        }
    }

    /// The name in configs and URLs (`lstm`).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Transformer => "transformer",
            ModelKind::Reddy => "reddy",
            ModelKind::Lsa => "lsa",
            ModelKind::LinearAttention => "linear_attention",
            ModelKind::Lstm => "lstm",
            ModelKind::Gru => "gru",
            ModelKind::S4d => "s4d",
        }
    }
}

/// The model: a GPT-2-style decoder, or Reddy's attention-only classifier.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Which architecture; `transformer` is Garg's.
    pub kind: ModelKind,
    /// Transformer blocks. 3 layers / 2 heads / width 64 is Garg's `tiny` model: it
    /// learns linear regression in context in a few thousand steps on a CPU.
    pub layers: usize,
    pub heads: usize,
    /// Residual width (d_model); must be a multiple of `heads`.
    pub width: usize,
    /// GELU MLP (4× width) in every block; `false` gives an attention-only model.
    /// (Reddy's model is always attention-only.)
    pub mlp: bool,
    pub attention: AttentionKind,
    /// Position information added to the tokens (attention models; recurrent ones
    /// take none).
    pub positions: PositionKind,
    /// Size the model by its parameter count: when set, `width` is the one whose
    /// model has the count nearest this (a multiple of `heads` for attention models),
    /// so kinds compare at equal parameters with one setting. `null`: `width` as given.
    pub params: Option<usize>,
}

/// How the transformer knows where a token is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PositionKind {
    /// GPT-2's learned position embeddings (Garg's model).
    #[default]
    Learned,
    /// Fixed sinusoids (Vaswani 2017): "the token before" is a fixed linear map of
    /// "this token's" position, so a previous-token head can form without first
    /// learning the positions, which shortens the induction plateau.
    Sinusoidal,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            kind: ModelKind::Transformer,
            layers: 3,
            heads: 2,
            width: 64,
            mlp: true,
            attention: AttentionKind::Softmax,
            positions: PositionKind::Learned,
            params: None,
        }
    }
}

impl ModelConfig {
    /// Whether attention is softmax: the `attention` setting, except that the
    /// linear-attention kind is softmax-free by definition.
    pub fn softmax(&self) -> bool {
        self.kind != ModelKind::LinearAttention && self.attention == AttentionKind::Softmax
    }

    /// Attention layers and heads per layer, (0, 0) for the recurrent kinds: the
    /// heads a lens reads and an ablation may switch off.
    pub fn attention_heads(&self) -> (usize, usize) {
        if self.kind.has_attention() {
            (self.layers, self.heads)
        } else {
            (0, 0)
        }
    }

    /// Whether learned positions are added (attention models with learned positions).
    pub fn learned_positions(&self) -> bool {
        self.kind.has_attention()
            && self.kind != ModelKind::Lsa
            && self.positions == PositionKind::Learned
    }

    /// Whether fixed sinusoids are added.
    pub fn sinusoidal_positions(&self) -> bool {
        self.kind.has_attention()
            && self.kind != ModelKind::Lsa
            && self.positions == PositionKind::Sinusoidal
    }

    /// The exact number of trainable numbers the model has, with `width` as set: the
    /// model's own `num_params` (a test holds the two equal for every kind).
    pub fn param_count(&self, token_dim: usize, max_seq: usize, outputs: usize) -> usize {
        let (l, w) = (self.layers, self.width);
        let linear = |i: usize, o: usize| i * o + o;
        let norm = 2 * w;
        if self.kind == ModelKind::Lsa {
            // Four bias-free maps on the token itself per layer.
            return 4 * l * token_dim * token_dim;
        }
        let reddy = self.kind == ModelKind::Reddy;
        let mlp = if self.mlp && !reddy {
            norm + linear(w, 4 * w) + linear(4 * w, w)
        } else {
            0
        };
        let mixer = match self.kind {
            // query, key, value, output
            ModelKind::Transformer | ModelKind::Reddy | ModelKind::LinearAttention => {
                4 * linear(w, w)
            }
            // per gate an input and a hidden map: 4 gates (LSTM), 3 (GRU)
            ModelKind::Lstm => 4 * 2 * linear(w, w),
            ModelKind::Gru => 3 * 2 * linear(w, w),
            // log Δ and D per channel; log(−A), B, C per channel and mode; the output map
            ModelKind::S4d => 2 * w + 3 * w * S4D_STATE + linear(w, w),
            ModelKind::Lsa => unreachable!("returned above"),
        };
        let positions = if self.learned_positions() {
            max_seq * w
        } else {
            0
        };
        let head = if reddy {
            linear(w, 4 * w) + linear(4 * w, 4 * w) + linear(4 * w, outputs)
        } else {
            linear(w, outputs)
        };
        linear(token_dim, w) + positions + l * (norm + mixer + mlp) + norm + head
    }

    /// The widths this kind may have: multiples of `heads` for attention models, any
    /// width for recurrent ones.
    fn widths(&self) -> impl Iterator<Item = usize> + '_ {
        let step = if self.kind.is_recurrent() {
            1
        } else {
            self.heads.max(1)
        };
        (step..=limits::WIDTH).step_by(step)
    }

    /// The width `params` asks for (the one with the nearest count), or `None` when
    /// `params` is not set or the kind has no width (LSA).
    pub fn width_for_params(
        &self,
        token_dim: usize,
        max_seq: usize,
        outputs: usize,
    ) -> Option<usize> {
        let target = self.params? as i64;
        if self.kind == ModelKind::Lsa {
            return None;
        }
        self.widths().min_by_key(|&w| {
            let m = ModelConfig {
                width: w,
                ..self.clone()
            };
            (m.param_count(token_dim, max_seq, outputs) as i64 - target).abs()
        })
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam; with `weight_decay` > 0, an L2 penalty in the loss (Singh's).
    Adam,
    /// Adam with decoupled weight decay (Loshchilov & Hutter).
    AdamW,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// Cosine decay to 10 % of the peak rate after warm-up.
    Cosine,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    pub kind: OptimizerKind,
    /// Peak learning rate. Garg uses 1e-4 over 500k steps; browser-scale runs of a few
    /// thousand steps need a larger rate, and 1e-3 is stable for `tiny` (the
    /// independent PyTorch implementation learns garg-tiny at 1e-3 too).
    pub lr: f64,
    /// Weight decay λ; 0 = none. With AdamW it is decoupled (θ ← θ − lr·λ·θ beside
    /// the Adam step). With Adam it is an L2 penalty λ/2·‖θ‖² in the loss: λθ joins
    /// the gradient before Adam's normalisation (PyTorch's `Adam(weight_decay)`),
    /// the regulariser Singh et al. 2023 found to keep ICL from fading.
    pub weight_decay: f64,
    /// Linear warm-up steps. 0: Adam's bias correction already tempers the first
    /// steps, and on garg-tiny 100 warm-up steps learned no faster (measured: error
    /// at k = 10 after 2500 steps 0.20 with, 0.11 without).
    pub warmup_steps: usize,
    /// Constant, as Garg trains: a cosine decay over a run of a few thousand steps
    /// lowers the rate just as the model leaves its plateau (garg-tiny at step 2500:
    /// 0.31 with cosine, 0.11 constant).
    pub schedule: Schedule,
    /// Clip each parameter's gradient to this L2 norm; `null` = no clipping (Garg's).
    /// Measured on garg-tiny at a constant rate: 0.16 at step 2500 with 1.0, 0.11
    /// without; the divergence guard catches the rare blow-up.
    pub grad_clip: Option<f64>,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
            weight_decay: 0.0,
            warmup_steps: 0,
            schedule: Schedule::Constant,
            grad_clip: None,
        }
    }
}

/// Garg's curriculum: train on few active dimensions and short prompts first, growing
/// both every `every` steps up to `task.dims` and `task.points`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CurriculumConfig {
    pub dims_start: usize,
    pub dims_step: usize,
    pub points_start: usize,
    pub points_step: usize,
    pub every: usize,
}

impl Default for CurriculumConfig {
    /// Garg's schedule: dims 5 (+1), points 11 (+2), every 2000 steps.
    fn default() -> Self {
        Self {
            dims_start: 5,
            dims_step: 1,
            points_start: 11,
            points_step: 2,
            every: 2000,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimizer steps. 3000 is enough for `tiny` at d = 5 to reach least squares.
    pub steps: usize,
    /// Prompts per step. 64 is Garg's `toy` batch.
    pub batch: usize,
    /// Read the loss back (and check for divergence) every this many steps; reads
    /// are rationed because on a GPU each one is a synchronisation.
    pub log_every: usize,
    /// Evaluate the ICL curve every this many steps; 0 = only at the end.
    pub eval_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 3000,
            batch: 64,
            log_every: 25,
            eval_every: 0,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Evaluation prompts per distribution. 256 keeps the standard error of the
    /// normalised error near 0.05 at k = 0 while the baselines stay fast.
    pub prompts: usize,
    /// Predictors compared with the model; `null` = the family's usual set.
    pub baselines: Option<Vec<BaselineConfig>>,
    /// Multiply y by this (out-of-distribution evaluation; 1 = in distribution).
    pub y_scale: f64,
    /// Extra label noise σ added at evaluation only (out-of-distribution).
    pub label_noise: f64,
    /// Extra evaluation sets whose inputs come from other distributions (Garg's
    /// out-of-distribution prompts: skewed covariance, half subspace, quadrants,
    /// scaled x), each a set of its own named `x=<name>` beside the fresh tasks,
    /// so the model and least squares are compared on each in one run. Empty by
    /// default: every set costs an evaluation. Regression tasks only.
    pub ood: Vec<XDistConfig>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            prompts: 256,
            baselines: None,
            y_scale: 1.0,
            label_noise: 0.0,
            ood: Vec::new(),
        }
    }
}

/// Why a config could not be used. Worded for any caller: the CLI adds its flags
/// and commands, the page shows it beside the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid config: {}", join(.0))]
    Invalid(Vec<FieldError>),
    #[error("config is not valid JSON for an experiment: {0}")]
    Parse(String),
    /// A `path=value` override that does not fit the experiment.
    #[error("{path}: {why}")]
    Set { path: String, why: String },
    #[error("unknown preset `{0}`")]
    UnknownPreset(String),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Upper limits. Generous for native runs; the browser may impose tighter ones.
pub mod limits {
    pub const DIMS: usize = 64;
    pub const POINTS: usize = 256;
    /// Points with full-context blocks: 64 points are 2080 tokens (n(n+1)/2).
    pub const FULL_CONTEXT_POINTS: usize = 64;
    pub const POOL: usize = 1 << 30;
    pub const LAYERS: usize = 24;
    pub const HEADS: usize = 16;
    pub const WIDTH: usize = 1024;
    pub const BATCH: usize = 4096;
    pub const STEPS: usize = 10_000_000;
    pub const EVAL_PROMPTS: usize = 100_000;
    /// Out-of-distribution evaluation sets (`eval.ood`): each costs an evaluation.
    pub const MAX_OOD_SETS: usize = 8;
}

impl Experiment {
    /// Checks every field; returns all problems at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use limits::*;
        let mut c = Checker::default();
        // Full records of version 1 (saved runs, run folders) mean what they meant:
        // every field is written out, only defaults changed (see `migrate`).
        if !(1..=FORMAT_VERSION).contains(&self.version) {
            c.fail("version", self.version, format!("1 … {FORMAT_VERSION}"));
        }
        let t = &self.task;
        c.range_usize("task.dims", t.dims, 1, DIMS);
        if t.encoding == Encoding::FullContext && t.points > FULL_CONTEXT_POINTS {
            // Each position has its own block of context: the sequence grows as n².
            c.fail(
                "task.points",
                t.points,
                format!(
                    "1 … {FULL_CONTEXT_POINTS} with task.encoding = full_context \
                     (n(n+1)/2 tokens)"
                ),
            );
        } else {
            c.range_usize("task.points", t.points, 1, POINTS);
        }
        if let Some(m) = t.pool {
            c.range_usize("task.pool", m, 1, POOL);
        }
        t.family.validate(t.dims, t.points, &mut c);
        let shape = t.family.shape();
        if shape != Shape::Regression {
            let kind = shape.name();
            if let Some(m) = t.pool {
                c.fail(
                    "task.pool",
                    m,
                    format!(
                        "null with the {kind} family (task pools are for regression; \
                         classification sets its classes with task.family.classes)"
                    ),
                );
            }
            if self.curriculum.is_some() {
                c.fail(
                    "curriculum",
                    "set",
                    format!(
                        "null with the {kind} family (the curriculum grows regression prompts)"
                    ),
                );
            }
            if self.eval.baselines.is_some() {
                c.fail(
                    "eval.baselines",
                    "a list",
                    format!(
                        "null with the {kind} family (it is evaluated by its own probes, \
                         not regression baselines)"
                    ),
                );
            }
        }
        self.x_dist.validate("x_dist", &mut c);
        if self.x_dist.separate_queries() && !t.encoding.has_query_tokens() {
            c.fail(
                "x_dist",
                self.x_dist.name(),
                "gaussian, skewed, half-subspace or scaled with task.encoding = interleaved \
                 (this one asks each position a separate query, which needs a query token: \
                 train on it with concatenated or full_context; as an eval.ood set it works \
                 with any encoding)",
            );
        }

        let m = &self.model;
        c.range_usize("model.layers", m.layers, 1, LAYERS);
        c.range_usize("model.heads", m.heads, 1, HEADS);
        c.range_usize("model.width", m.width, 1, WIDTH);
        if m.kind == ModelKind::Lsa {
            if !t.encoding.has_query_tokens() {
                c.fail(
                    "task.encoding",
                    "interleaved",
                    "concatenated or full_context with model.kind = lsa (it reads y from the query's [x, y] token)",
                );
            }
            if shape != Shape::Regression {
                c.fail(
                    "model.kind",
                    "lsa",
                    "transformer or reddy for classification and induction",
                );
            }
            let w = t.dims + 1;
            if m.heads > 0 && !w.is_multiple_of(m.heads) {
                c.fail(
                    "model.heads",
                    m.heads,
                    format!("a divisor of the token width d + 1 = {w} with model.kind = lsa"),
                );
            }
        } else if m.kind.has_attention() && m.heads > 0 && !m.width.is_multiple_of(m.heads) {
            c.fail(
                "model.width",
                m.width,
                format!("a multiple of model.heads ({})", m.heads),
            );
        }
        if m.kind.is_recurrent()
            && shape == Shape::Regression
            && t.encoding != Encoding::Interleaved
        {
            let name = match t.encoding {
                Encoding::Concatenated => "concatenated",
                _ => "full_context",
            };
            c.fail(
                "task.encoding",
                name,
                format!(
                    "interleaved with model.kind = {} (a recurrent model reads the tokens \
                     strictly in order, so it cannot keep a query from the context after it \
                     as the {} encoding's mask does)",
                    m.kind.name(),
                    name
                ),
            );
        }
        if let Some(n) = m.params {
            let (token_dim, seq, outputs) = (self.token_dim(), self.max_seq_len(), self.outputs());
            let count = |w: usize| {
                ModelConfig {
                    width: w,
                    ..m.clone()
                }
                .param_count(token_dim, seq, outputs)
            };
            if m.kind == ModelKind::Lsa {
                c.fail(
                    "model.params",
                    n,
                    "null with model.kind = lsa (its size is fixed by the token width d + 1)",
                );
            } else if let Some(w) = m.width_for_params(token_dim, seq, outputs) {
                let (lo, hi) = (
                    count(m.widths().next().unwrap_or(1)),
                    count(m.widths().last().unwrap_or(1)),
                );
                let off = (count(w) as f64 - n as f64).abs() / n.max(1) as f64;
                if off > 0.1 {
                    c.fail(
                        "model.params",
                        n,
                        format!(
                            "{lo} … {hi} for a {}-layer {} model on this task (widths {} … {})",
                            m.layers,
                            m.kind.name(),
                            m.widths().next().unwrap_or(1),
                            limits::WIDTH
                        ),
                    );
                } else if w != m.width {
                    c.fail(
                        "model.width",
                        m.width,
                        format!(
                            "{w}, the width model.params = {n} gives (set model.params = null \
                             to choose the width yourself)"
                        ),
                    );
                }
            }
        }

        let o = &self.optim;
        if !(o.lr.is_finite() && o.lr > 0.0 && o.lr <= 1.0) {
            c.fail("optim.lr", o.lr, "a number in (0, 1]");
        }
        c.range_f64("optim.weight_decay", o.weight_decay, 0.0, 1.0);
        c.range_usize("optim.warmup_steps", o.warmup_steps, 0, STEPS);
        if let Some(g) = o.grad_clip
            && !(g.is_finite() && g > 0.0)
        {
            c.fail("optim.grad_clip", g, "a positive number, or null");
        }

        if let Some(cur) = &self.curriculum {
            c.range_usize("curriculum.dims_start", cur.dims_start, 1, t.dims.max(1));
            c.range_usize(
                "curriculum.points_start",
                cur.points_start,
                1,
                t.points.max(1),
            );
            c.range_usize("curriculum.every", cur.every, 1, STEPS);
            // A step larger than the task only jumps to full size; the bound also
            // keeps the schedule's arithmetic far from overflow.
            c.range_usize("curriculum.dims_step", cur.dims_step, 0, t.dims.max(1));
            c.range_usize(
                "curriculum.points_step",
                cur.points_step,
                0,
                t.points.max(1),
            );
        }

        let tr = &self.train;
        c.range_usize("train.steps", tr.steps, 1, STEPS);
        c.range_usize("train.batch", tr.batch, 1, BATCH);
        c.range_usize("train.log_every", tr.log_every, 1, STEPS);
        c.range_usize("train.eval_every", tr.eval_every, 0, STEPS);

        let e = &self.eval;
        c.range_usize("eval.prompts", e.prompts, 2, EVAL_PROMPTS);
        c.range_f64("eval.y_scale", e.y_scale, -1e3, 1e3);
        c.range_f64("eval.label_noise", e.label_noise, 0.0, 1e3);
        if e.ood.len() > MAX_OOD_SETS {
            c.fail(
                "eval.ood",
                format!("{} distributions", e.ood.len()),
                format!("at most {MAX_OOD_SETS} input distributions"),
            );
        }
        if !e.ood.is_empty() && t.family.shape() != crate::tasks::Shape::Regression {
            c.fail(
                "eval.ood",
                format!("{} distributions", e.ood.len()),
                "empty for token and classification tasks (their inputs are not drawn from an x-distribution)",
            );
        }
        for (i, d) in e.ood.iter().enumerate() {
            d.validate(&format!("eval.ood[{i}]"), &mut c);
        }
        if let Some(bs) = &e.baselines {
            for (i, b) in bs.iter().enumerate() {
                b.validate(&format!("eval.baselines[{i}]"), &mut c);
                if *b == BaselineConfig::Dmmse && t.pool.is_none() {
                    c.fail(
                        &format!("eval.baselines[{i}]"),
                        "dmmse",
                        "dmmse only with a finite task pool (set task.pool)",
                    );
                }
            }
        }

        if c.errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(c.errors))
        }
    }

    /// Sets `model.width` from `model.params` when that is set (the width whose model
    /// has the nearest parameter count). Every reader of a record calls it, so a
    /// config, a URL or an override that sets `model.params` (or changes the task,
    /// and with it the token width) gets the width that goes with it.
    pub fn resolve_params(&mut self) {
        let (token_dim, seq, outputs) = (self.token_dim(), self.max_seq_len(), self.outputs());
        if let Some(w) = self.model.width_for_params(token_dim, seq, outputs) {
            self.model.width = w;
        }
    }

    /// The model's parameter count (exact; what `model.params` sizes by).
    pub fn param_count(&self) -> usize {
        self.model
            .param_count(self.token_dim(), self.max_seq_len(), self.outputs())
    }

    /// Number of tokens in the longest prompt the model sees.
    pub fn max_seq_len(&self) -> usize {
        let t = &self.task;
        t.family
            .shape()
            .seq_len(t.points)
            .unwrap_or_else(|| t.encoding.seq_len(t.points))
    }

    /// Width of one input token.
    pub fn token_dim(&self) -> usize {
        match self.task.family.shape() {
            // x, and y, as the prompt encoding lays them out
            Shape::Regression => self.task.encoding.token_dim(self.task.dims),
            // x | a one-hot label
            Shape::Classification(c) => self.task.dims + c.labels,
            // one-hot tokens
            Shape::Tokens { vocab } => vocab,
        }
    }

    /// Numbers the model reads out per position: one y, or one logit per label.
    pub fn outputs(&self) -> usize {
        self.task.family.shape().outputs()
    }

    /// Parses a JSON config (missing fields take defaults) and validates it.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let mut record: Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Parse(readable(&e.to_string())))?;
        if !record.is_object() {
            return Err(ConfigError::Parse(format!(
                "a config is a JSON object ({{\"task\": {{…}}, …}}), not {}",
                json_kind(&record)
            )));
        }
        migrate(&mut record);
        let mut exp = read_record(record).map_err(|e| match e {
            RecordError::Serde(e) => ConfigError::Parse(e),
            RecordError::Unknown(path) => ConfigError::Parse(format!(
                "unknown field `{path}`: no such setting (README lists them)"
            )),
        })?;
        exp.resolve_params();
        exp.validate()?;
        Ok(exp)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("config always serialises")
    }

    /// The config as JSON holding only what differs from the defaults: what a URL
    /// carries. [`Experiment::from_json`] reads it back exactly.
    pub fn to_compact_json(&self) -> String {
        let full = serde_json::to_value(self).expect("config always serialises");
        let base = serde_json::to_value(Experiment::default()).expect("default serialises");
        let mut diff = diff_value(&full, &base).unwrap_or(Value::Object(Default::default()));
        // The version always travels, so old links can be recognised.
        if let Value::Object(map) = &mut diff {
            map.insert("version".into(), Value::from(self.version));
        }
        serde_json::to_string(&diff).expect("json")
    }

    /// Applies `path=value` overrides (`task.dims=8`, `model.attention=linear`,
    /// `task.pool=null`). The value is read as JSON when it parses as JSON, else as a
    /// string. The path must name an existing field.
    pub fn with_overrides<S: AsRef<str>>(&self, sets: &[S]) -> Result<Self, ConfigError> {
        let mut v = serde_json::to_value(self).expect("config always serialises");
        for s in sets {
            let s = s.as_ref();
            let (path, raw) = s.split_once('=').ok_or_else(|| ConfigError::Set {
                path: s.to_string(),
                why: "expected path=value".into(),
            })?;
            let value: Value = match serde_json::from_str(raw) {
                Ok(v) => v,
                // A number JSON cannot hold (1e999, NaN) would be read as a string.
                Err(_) if raw.trim().parse::<f64>().is_ok() => {
                    return Err(ConfigError::Set {
                        path: readable(path),
                        why: format!("{} is not a finite number", readable(raw.trim())),
                    });
                }
                Err(_) => Value::String(raw.to_string()),
            };
            set_path(&mut v, path, value)?;
        }
        let mut exp = read_record(v).map_err(|e| match e {
            RecordError::Unknown(path) => ConfigError::Set {
                why: "no such field here".into(),
                path,
            },
            // Name the override that fails on its own, when one does.
            RecordError::Serde(why) => {
                let culprit = (sets.len() > 1)
                    .then(|| {
                        sets.iter()
                            .map(AsRef::as_ref)
                            .find(|one| self.with_overrides(&[*one]).is_err())
                    })
                    .flatten();
                match culprit {
                    Some(one) => self.with_overrides(&[one]).expect_err("it failed alone"),
                    None => ConfigError::Set {
                        path: readable(
                            &sets
                                .iter()
                                .map(|s| s.as_ref().to_string())
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
                        why: ellipsize(&why),
                    },
                }
            }
        })?;
        // model.params sets the width, unless this very call sets the width (then
        // validate says the two disagree, rather than dropping what was asked).
        let sets_width = sets.iter().any(|s| {
            s.as_ref()
                .split_once('=')
                .is_some_and(|(p, _)| p.trim() == "model.width")
        });
        if !sets_width {
            exp.resolve_params();
        }
        exp.validate()?;
        Ok(exp)
    }
}

/// Why a JSON record is not an experiment.
enum RecordError {
    Serde(String),
    /// A key the experiment has no field for, as a path (`task.family.sparsity`).
    Unknown(String),
}

/// Reads a record, refusing keys the experiment does not have. Structs refuse them
/// by `deny_unknown_fields`, but serde drops a field given to an enum variant that
/// has none (`{"kind": "linear", "sparsity": 3}`), so the record is compared with
/// what was read back.
fn read_record(record: Value) -> Result<Experiment, RecordError> {
    let exp: Experiment = serde_json::from_value(record.clone())
        .map_err(|e| RecordError::Serde(readable(&e.to_string())))?;
    let read = serde_json::to_value(&exp).expect("config always serialises");
    match unknown_key(&record, &read, "") {
        Some(path) => Err(RecordError::Unknown(readable(&path))),
        None => Ok(exp),
    }
}

/// The first key of `given` that `read` (the same record, read and written back)
/// lacks, as a dotted path.
fn unknown_key(given: &Value, read: &Value, at: &str) -> Option<String> {
    let join = |k: &str| dotted(at, k);
    match (given, read) {
        (Value::Object(g), Value::Object(r)) => g.iter().find_map(|(k, gv)| match r.get(k) {
            None => Some(join(k)),
            Some(rv) => unknown_key(gv, rv, &join(k)),
        }),
        (Value::Array(g), Value::Array(r)) if g.len() == r.len() => g
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (gv, rv))| unknown_key(gv, rv, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// `at.key`, or `key` at the top: a field's path in a record.
pub(crate) fn dotted(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// "an array", "a number", … (what a config file was instead of an object).
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), ConfigError> {
    let err = |why: String| ConfigError::Set {
        path: readable(path),
        why: readable(&why),
    };
    let mut cur = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let Value::Object(map) = cur else {
            return Err(err(format!("`{}` is not a section", parts[..i].join("."))));
        };
        if !map.contains_key(*part) {
            let known: Vec<&String> = map.keys().collect();
            return Err(err(format!(
                "no field `{part}` here; known fields: {}",
                known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if last {
            map.insert(part.to_string(), value);
            return Ok(());
        }
        cur = map.get_mut(*part).expect("checked");
        if cur.is_null() && !last {
            // An optional section switched on by setting one of its fields.
            if *part == "curriculum" {
                *cur = serde_json::to_value(CurriculumConfig::default()).expect("json");
            }
        }
    }
    Ok(())
}

/// The parts of `v` that differ from `base` (objects recursively, everything else whole).
fn diff_value(v: &Value, base: &Value) -> Option<Value> {
    match (v, base) {
        (Value::Object(a), Value::Object(b)) => {
            // A tagged enum whose tag changed must travel whole.
            if a.get("kind").is_some() && a.get("kind") != b.get("kind") {
                return Some(v.clone());
            }
            let mut out = serde_json::Map::new();
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) => {
                        if let Some(d) = diff_value(av, bv) {
                            out.insert(k.clone(), d);
                        }
                    }
                    None => {
                        out.insert(k.clone(), av.clone());
                    }
                }
            }
            if out.is_empty() {
                None
            } else {
                if let Some(kind) = a.get("kind") {
                    out.insert("kind".into(), kind.clone());
                }
                Some(Value::Object(out))
            }
        }
        _ if v == base => None,
        _ => Some(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let e = Experiment::default();
        e.validate().unwrap();
        let back = Experiment::from_json(&e.to_json_pretty()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn compact_json_is_small_and_exact() {
        let mut e = Experiment {
            seed: 7,
            curriculum: Some(CurriculumConfig::default()),
            ..Experiment::default()
        };
        e.task.pool = Some(64);
        e.task.family = TaskFamilyConfig::NoisyLinear {
            noise: vec![0.1, 0.5],
        };
        let c = e.to_compact_json();
        assert!(c.len() < 200, "{c}");
        assert_eq!(Experiment::from_json(&c).unwrap(), e);
        assert_eq!(Experiment::default().to_compact_json(), r#"{"version":2}"#);
    }

    #[test]
    fn validation_names_field_value_and_range() {
        let mut e = Experiment::default();
        e.task.dims = 0;
        e.model.width = 65;
        e.optim.lr = f64::NAN;
        let err = e.validate().unwrap_err().to_string();
        assert!(err.contains("task.dims = 0"), "{err}");
        assert!(err.contains("1..=64"), "{err}");
        assert!(err.contains("model.width = 65"), "{err}");
        assert!(err.contains("multiple of model.heads"), "{err}");
        assert!(err.contains("optim.lr = NaN"), "{err}");
    }

    /// A version-1 file that leaves the optimizer out trains with version 1's
    /// optimizer defaults; what it does set is kept; a full version-1 record (a saved
    /// run's config.json) is valid as it is.
    #[test]
    fn version_1_records_keep_their_optimizer_defaults() {
        let e = Experiment::from_json(r#"{"version":1,"optim":{"lr":0.002,"grad_clip":null}}"#)
            .unwrap();
        assert_eq!(e.version, FORMAT_VERSION);
        assert_eq!(e.optim.warmup_steps, 100);
        assert_eq!(e.optim.schedule, Schedule::Cosine);
        assert_eq!((e.optim.lr, e.optim.grad_clip), (0.002, None));
        let now = Experiment::from_json(r#"{"version":2}"#).unwrap();
        assert_eq!(now.optim, OptimConfig::default());
        let mut full = Experiment {
            version: 1,
            ..Experiment::default()
        };
        assert!(full.validate().is_ok());
        assert_eq!(
            Experiment::from_json(&full.to_json_pretty()).unwrap().optim,
            full.optim
        );
        full.version = 3;
        assert!(full.validate().unwrap_err().to_string().contains("version"));
    }

    #[test]
    fn ood_sets_are_named_checked_and_regression_only() {
        let e = Experiment::default()
            .with_overrides(&[r#"eval.ood=[{"kind":"skewed"},{"kind":"scaled","scale":3}]"#])
            .unwrap();
        assert_eq!(
            e.eval.ood,
            [XDistConfig::Skewed, XDistConfig::Scaled { scale: 3.0 }]
        );
        let err = Experiment::default()
            .with_overrides(&[r#"eval.ood=[{"kind":"scaled","scale":0}]"#])
            .unwrap_err()
            .to_string();
        assert!(err.contains("eval.ood[0].scale"), "{err}");
        let mut tokens = crate::presets::preset("induction-phase-change").unwrap();
        tokens.eval.ood = vec![XDistConfig::Skewed];
        let err = tokens.validate().unwrap_err().to_string();
        assert!(err.contains("eval.ood") && err.contains("token"), "{err}");
        let mut many = Experiment::default();
        many.eval.ood = vec![XDistConfig::Quadrants; limits::MAX_OOD_SETS + 1];
        let err = many.validate().unwrap_err().to_string();
        assert!(err.contains("at most 8"), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = Experiment::from_json(r#"{"task": {"dimz": 3}}"#).unwrap_err();
        assert!(err.to_string().contains("dimz"), "{err}");
        // Fields given to enum variants that have none (serde alone drops them).
        for (json, path) in [
            (
                r#"{"task": {"family": {"kind": "linear", "sparsity": 3}}}"#,
                "task.family.sparsity",
            ),
            (
                r#"{"x_dist": {"kind": "gaussian", "scale": 3}}"#,
                "x_dist.scale",
            ),
            (
                r#"{"eval": {"baselines": [{"kind": "zero"}, {"kind": "averaging", "k": 2}]}}"#,
                "eval.baselines[1].k",
            ),
        ] {
            let err = Experiment::from_json(json).unwrap_err().to_string();
            assert!(err.contains(&format!("unknown field `{path}`")), "{err}");
        }
        let err = Experiment::default()
            .with_overrides(&[r#"task.family={"kind":"linear","sparsity":3}"#])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("task.family.sparsity: no such field"),
            "{err}"
        );
        // A config is an object, not a list read by position.
        let err = Experiment::from_json("[2, 0]").unwrap_err().to_string();
        assert!(
            err.contains("a JSON object") && err.contains("an array"),
            "{err}"
        );
        // What the lab writes reads back: every preset, in full and compact form.
        for p in crate::presets::PRESETS {
            let e = (p.build)();
            assert_eq!(Experiment::from_json(&e.to_json_pretty()).unwrap(), e);
            assert_eq!(Experiment::from_json(&e.to_compact_json()).unwrap(), e);
        }
    }

    #[test]
    fn a_bad_override_among_several_is_named_alone() {
        let err = Experiment::default()
            .with_overrides(&["task.dims=8", "task.points=-3", "seed=4"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("task.points=-3:"), "{err}");
        assert!(!err.contains("task.dims=8"), "{err}");
    }

    #[test]
    fn overrides_say_what_is_wrong_in_a_line() {
        let err = Experiment::default()
            .with_overrides(&["optim.lr=1e999"])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "optim.lr: 1e999 is not a finite number");
        let huge = format!("task.dims={}", "x".repeat(100_000));
        let err = Experiment::default()
            .with_overrides(&[huge])
            .unwrap_err()
            .to_string();
        assert!(err.len() < 600, "{} bytes: {}", err.len(), &err[..200]);
        assert!(err.contains("task.dims") && err.contains("bytes)"), "{err}");
    }

    #[test]
    fn curriculum_steps_are_bounded_by_the_task() {
        let err = crate::presets::preset("garg-linear")
            .unwrap()
            .with_overrides(&[
                "curriculum.every=2",
                "curriculum.points_start=1",
                "curriculum.points_step=18446744073709551615",
            ])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("curriculum.points_step = 18446744073709551615") && err.contains("0..=41"),
            "{err}"
        );
    }

    #[test]
    fn overrides_apply_and_reject_bad_paths() {
        let e = Experiment::default()
            .with_overrides(&["task.dims=8", "model.attention=linear", "task.pool=16"])
            .unwrap();
        assert_eq!(e.task.dims, 8);
        assert_eq!(e.model.attention, AttentionKind::Linear);
        assert_eq!(e.task.pool, Some(16));
        let err = Experiment::default()
            .with_overrides(&["task.dimz=8"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no field `dimz`"), "{err}");
        let err = Experiment::default()
            .with_overrides(&["task.dims=-3"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("task.dims"), "{err}");
        let err = Experiment::default()
            .with_overrides(&["task.dims=1000"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("task.dims = 1000"), "{err}");
        let e = Experiment::default()
            .with_overrides(&["curriculum.every=500"])
            .unwrap();
        assert_eq!(e.curriculum.unwrap().every, 500);
    }
}
