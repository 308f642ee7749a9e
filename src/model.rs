//! The model: a GPT-2-style causal decoder over prompt tokens, read top to bottom.
//!
//! tokens ─read_in─▶ + learned positions ─▶ [LN → attention → + ; LN → MLP → +] × L
//!        ─▶ LN ─▶ (read-out positions) ─[Reddy: ReLU MLP]─read_out─▶ outputs per position
//!
//! The recurrent kinds (LSTM, GRU, S4D) keep the read-in, blocks and read-out and
//! swap attention for a recurrent mixer (`crate::recurrent`), without positions:
//!
//! tokens ─read_in─▶ [LN → mixer → + ; LN → MLP → +] × L ─▶ LN ─▶ read_out
//!
//! Regression reads one scalar (ŷ_k) per read-out position; classification reads one
//! logit per label at the query. Reddy's model drops the blocks' MLPs and puts a small
//! ReLU MLP classifier before the read-out instead.
//!
//! Initialisation is GPT-2's, as Garg et al. train it (and as the independent
//! PyTorch implementation the parity test compares with does):
//! - read-in and read-out (and Reddy's classifier layers): PyTorch's `nn.Linear`
//!   default, weight and bias from U(±1/√fan_in);
//! - learned positions, the query / key / value and MLP-in weights: N(0, 0.02);
//! - attention-out and MLP-out weights: N(0, 0.02/√(2L)) with L layers (GPT-2's
//!   scaling of the layers that write into the residual stream);
//! - every other bias 0, LayerNorm gain 1 and bias 0 (ε = 1e-5).
//!
//! burn's `LinearConfig::with_initializer` draws the bias from the same law as the
//! weight, so the biases are set here. With N(0, 0.02) on every weight and bias,
//! Garg's setting stayed on its plateau (normalised error at k = 10 still 0.70 at
//! step 3000 with a constant rate); with this scheme and the same optimizer it is
//! 0.25 at step 2000 and 0.11 at step 2500 (see docs/engine.md).
//!
//! Built from `burn::nn` parts (Linear, LayerNorm, Embedding, Gelu). Attention is
//! written out here because it comes in two kinds, softmax and linear (softmax-free,
//! von Oswald's), and because the lenses need its weights. No dropout: the data are
//! infinite. Tensor shapes are noted on every step: b = batch, s = sequence, w =
//! width, h = heads, t = token width.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{
    Embedding, EmbeddingConfig, Gelu, Initializer, LayerNorm, LayerNormConfig, Linear,
    LinearConfig, Relu,
};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::ablation::{AblationMode, HeadAblation};
use crate::batch::Batch;
use crate::config::{Experiment, ModelConfig, ModelKind};
use crate::recurrent::Mixer;

/// GPT-2's initialisation of the inner weights: N(0, std).
fn normal(std: f64) -> Initializer {
    Initializer::Normal { mean: 0.0, std }
}

/// GPT-2's N(0, 0.02).
fn init() -> Initializer {
    normal(0.02)
}

/// An inner layer: weight from `weight`, bias 0.
fn inner(i: usize, o: usize, weight: Initializer, device: &Device) -> Linear {
    let mut l = LinearConfig::new(i, o)
        .with_initializer(weight)
        .init(device);
    l.bias = Some(Initializer::Zeros.init_with([o], Some(i), Some(o), device));
    l
}

/// A read-in or read-out layer: PyTorch's `nn.Linear` default, weight and bias
/// from U(±1/√fan_in).
fn outer(i: usize, o: usize, device: &Device) -> Linear {
    let bound = 1.0 / (i as f64).sqrt();
    LinearConfig::new(i, o)
        .with_initializer(Initializer::Uniform {
            min: -bound,
            max: bound,
        })
        .init(device)
}

/// Everything needed to build a [`Transformer`].
#[derive(Clone, Debug)]
pub struct TransformerConfig {
    pub model: ModelConfig,
    /// Width of one input token.
    pub token_dim: usize,
    /// Longest sequence the learned positions cover.
    pub max_seq: usize,
    /// Numbers read out per position: 1 for regression, L logits for classification.
    pub outputs: usize,
}

impl TransformerConfig {
    pub fn init(&self, device: &Device) -> Transformer {
        let m = &self.model;
        if m.kind == ModelKind::Lsa {
            return self.init_lsa(device);
        }
        let reddy = m.kind == ModelKind::Reddy;
        let hidden = 4 * m.width;
        // The layers that write into the residual stream: N(0, 0.02/√(2L)).
        let residual_out = || normal(0.02 / (2.0 * m.layers as f64).sqrt());
        let linear = |i, o| inner(i, o, init(), device);
        let mlp = || Mlp {
            ln: LayerNormConfig::new(m.width).init(device),
            fc: linear(m.width, 4 * m.width),
            // Exact (erf) GELU. The tanh form is GPT-2's, but on flex it costs
            // far more (scalar libm tanh and powf per element).
            gelu: Gelu::new(),
            proj: inner(4 * m.width, m.width, residual_out(), device),
        };
        let attention_layers = if m.kind.is_recurrent() { 0 } else { m.layers };
        Transformer {
            read_in: Some(outer(self.token_dim, m.width, device)),
            positions: m.learned_positions().then(|| {
                EmbeddingConfig::new(self.max_seq, m.width)
                    .with_initializer(init())
                    .init(device)
            }),
            sinusoidal: m.sinusoidal_positions(),
            blocks: (0..attention_layers)
                .map(|_| Block {
                    ln_attn: Some(LayerNormConfig::new(m.width).init(device)),
                    attention: Attention {
                        query: linear(m.width, m.width),
                        key: linear(m.width, m.width),
                        value: linear(m.width, m.width),
                        output: inner(m.width, m.width, residual_out(), device),
                        heads: m.heads,
                        softmax: m.softmax(),
                        zeroed: 0,
                        averaged: 0,
                    },
                    mlp: (m.mlp && !reddy).then(mlp),
                })
                .collect(),
            recurrent: if m.kind.is_recurrent() {
                (0..m.layers)
                    .map(|_| RecurrentBlock {
                        ln: LayerNormConfig::new(m.width).init(device),
                        mixer: Mixer::new(m.kind, m.width, m.layers, device),
                        mlp: m.mlp.then(mlp),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            ln_final: Some(LayerNormConfig::new(m.width).init(device)),
            // Reddy's classifier is part of the read-out: PyTorch's default.
            head: reddy.then(|| ClassifierHead {
                fc1: outer(m.width, hidden, device),
                fc2: outer(hidden, hidden, device),
                relu: Relu::new(),
            }),
            read_out: Some(outer(
                if reddy { hidden } else { m.width },
                self.outputs,
                device,
            )),
        }
    }

    /// von Oswald's linear self-attention: the stream is the [x, y] token (width
    /// d + 1), each layer adds softmax-free attention without biases, the y slot of
    /// the query token is the prediction. Every weight N(0, 0.02): the model has no
    /// read-in or read-out, and its product W_Q W_Kᵀ must grow from small values
    /// into the GD construction.
    fn init_lsa(&self, device: &Device) -> Transformer {
        let w = self.token_dim;
        let lin = |i: usize, o: usize| {
            LinearConfig::new(i, o)
                .with_bias(false)
                .with_initializer(init())
                .init(device)
        };
        Transformer {
            read_in: None,
            positions: None,
            sinusoidal: false,
            blocks: (0..self.model.layers)
                .map(|_| Block {
                    ln_attn: None,
                    attention: Attention {
                        query: lin(w, w),
                        key: lin(w, w),
                        value: lin(w, w),
                        output: lin(w, w),
                        heads: self.model.heads,
                        softmax: false,
                        zeroed: 0,
                        averaged: 0,
                    },
                    mlp: None,
                })
                .collect(),
            recurrent: Vec::new(),
            ln_final: None,
            head: None,
            read_out: None,
        }
    }
}

/// Multi-head self-attention, softmax or linear.
#[derive(Module, Debug)]
pub struct Attention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub output: Linear,
    pub heads: usize,
    pub softmax: bool,
    /// Ablated heads (bit h = head h): their attention weights are set to zero, so
    /// they write nothing.
    pub zeroed: usize,
    /// Heads whose pattern is replaced by its mean over the batch (bit h = head h).
    pub averaged: usize,
}

impl Attention {
    /// x: [b, s, w] → ([b, s, w], attention weights [b, h, s, s])
    pub fn forward(&self, x: Tensor<3>, mask: &AttentionMask) -> (Tensor<3>, Tensor<4>) {
        let [b, s, w] = x.dims();
        let (h, dk) = (self.heads, w / self.heads);
        // [b, s, w] → [b, h, s, dk]
        let split = |t: Tensor<3>| t.reshape([b, s, h, dk]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        // [b, h, s, s]
        let scores = q.matmul(k.swap_dims(2, 3)) / (dk as f64).sqrt();
        let weights = if self.softmax {
            // −1e9 on masked keys: exactly zero weight after the softmax.
            softmax(scores + mask.bias.clone(), 3)
        } else {
            // Softmax-free: the raw scores averaged over the visible keys.
            scores * mask.average.clone()
        };
        let weights = self.ablate(weights);
        // [b, h, s, dk] → [b, s, w]
        let ctx = weights.clone().matmul(v).swap_dims(1, 2).reshape([b, s, w]);
        (self.output.forward(ctx), weights)
    }
}

impl Attention {
    /// Head `h`'s slices of the weights: W_Q, W_K, W_V as [w, d_k] (their columns
    /// of this head) and W_O as [d_k, w] (its rows).
    pub fn head_weights(&self, h: usize) -> [Tensor<2>; 4] {
        let [w, _] = self.query.weight.dims();
        let dk = w / self.heads;
        let cols = h * dk..(h + 1) * dk;
        [
            self.query.weight.val().slice([0..w, cols.clone()]),
            self.key.weight.val().slice([0..w, cols.clone()]),
            self.value.weight.val().slice([0..w, cols.clone()]),
            self.output.weight.val().slice([cols, 0..w]),
        ]
    }

    /// weights [b, h, s, s] with the ablated heads' rows zeroed or replaced by the
    /// head's mean pattern over the batch (still causal: a mean of causal rows).
    fn ablate(&self, weights: Tensor<4>) -> Tensor<4> {
        if self.zeroed == 0 && self.averaged == 0 {
            return weights;
        }
        let device = weights.device();
        let h = self.heads;
        let bit = |mask: usize, i: usize| mask >> i & 1 == 1;
        // [1, h, 1, 1] each
        let keep: Vec<f32> = (0..h)
            .map(|i| f32::from(!bit(self.zeroed | self.averaged, i)))
            .collect();
        let mean: Vec<f32> = (0..h).map(|i| f32::from(bit(self.averaged, i))).collect();
        let keep = Tensor::<4>::from_data(TensorData::new(keep, [1, h, 1, 1]), &device);
        let mean = Tensor::<4>::from_data(TensorData::new(mean, [1, h, 1, 1]), &device);
        // [b, h, s, s] · [1, h, 1, 1] + [1, h, s, s] · [1, h, 1, 1]
        weights.clone() * keep + weights.mean_dim(0) * mean
    }
}

/// The GELU MLP of a block (4× width), with its own pre-LayerNorm.
#[derive(Module, Debug)]
pub struct Mlp {
    pub ln: LayerNorm,
    pub fc: Linear,
    pub gelu: Gelu,
    pub proj: Linear,
}

impl Mlp {
    /// x + MLP(LN(x)): [b, s, w] → [b, s, w]
    fn residual(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.proj.forward(
            self.gelu
                .forward(self.fc.forward(self.ln.forward(x.clone()))),
        );
        x + y
    }
}

/// One pre-LayerNorm transformer block (no LayerNorm in the linear self-attention
/// model).
#[derive(Module, Debug)]
pub struct Block {
    pub ln_attn: Option<LayerNorm>,
    pub attention: Attention,
    /// `None` in attention-only models.
    pub mlp: Option<Mlp>,
}

impl Block {
    /// x: [b, s, w] → [b, s, w]
    pub fn forward(&self, x: Tensor<3>, mask: &AttentionMask) -> (Tensor<3>, Tensor<4>) {
        let normed = match &self.ln_attn {
            Some(ln) => ln.forward(x.clone()),
            None => x.clone(),
        };
        let (a, weights) = self.attention.forward(normed, mask);
        let x = x + a;
        let x = match &self.mlp {
            Some(m) => m.residual(x),
            None => x,
        };
        (x, weights)
    }
}

/// A block of the recurrent kinds: the transformer block with a recurrent mixer
/// (LSTM, GRU or S4D, `crate::recurrent`) where attention was. Pre-LayerNorm and
/// residual like the attention blocks, so the kinds differ only in how tokens mix.
#[derive(Module, Debug)]
pub struct RecurrentBlock {
    pub ln: LayerNorm,
    pub mixer: Mixer,
    /// `None` without `model.mlp`.
    pub mlp: Option<Mlp>,
}

impl RecurrentBlock {
    /// x: [b, s, w] → [b, s, w]; causal (the mixers are).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + self.mixer.forward(self.ln.forward(x));
        match &self.mlp {
            Some(m) => m.residual(x),
            None => x,
        }
    }
}

/// Reddy's classifier: two ReLU layers of 4× width on the read-out token.
#[derive(Module, Debug)]
pub struct ClassifierHead {
    pub fc1: Linear,
    pub fc2: Linear,
    pub relu: Relu,
}

/// The whole model, of every kind (named for the kind most runs use). The linear
/// self-attention model (`ModelKind::Lsa`) has no embedding, positions, LayerNorms
/// or read-out layer: those are `None`. The recurrent kinds (LSTM, GRU, S4D) have
/// `recurrent` blocks and no attention `blocks` or positions.
#[derive(Module, Debug)]
pub struct Transformer {
    /// `None`: the residual stream is the token itself.
    pub read_in: Option<Linear>,
    pub positions: Option<Embedding>,
    /// Fixed sinusoidal positions instead of learned ones.
    pub sinusoidal: bool,
    /// Attention blocks (empty in the recurrent kinds).
    pub blocks: Vec<Block>,
    /// Recurrent blocks (empty in the attention kinds).
    pub recurrent: Vec<RecurrentBlock>,
    pub ln_final: Option<LayerNorm>,
    /// Reddy's MLP classifier; `None` in the standard transformer.
    pub head: Option<ClassifierHead>,
    /// `None`: the prediction is the last coordinate (the y slot) of the stream.
    pub read_out: Option<Linear>,
}

/// The attention mask of one sequence length as two float tensors, broadcast over
/// batch and heads (one add or multiply per layer instead of a mask fill).
#[derive(Clone, Debug)]
pub struct AttentionMask {
    /// [1, 1, s, s]: 0 where a query may attend to a key, −1e9 where it may not
    /// (added to softmax scores).
    pub bias: Tensor<4>,
    /// [1, 1, s, s]: 1/(visible keys of the row) where visible, 0 where masked
    /// (multiplies linear-attention scores).
    pub average: Tensor<4>,
}

impl AttentionMask {
    /// `mask` is row-major [s, s], `true` = masked.
    pub fn new(mask: &[bool], seq: usize, device: &Device) -> Self {
        assert_eq!(mask.len(), seq * seq);
        let mut bias = Vec::with_capacity(seq * seq);
        let mut average = Vec::with_capacity(seq * seq);
        for row in mask.chunks(seq) {
            let visible = row.iter().filter(|m| !**m).count().max(1) as f32;
            for &m in row {
                bias.push(if m { -1.0e9 } else { 0.0 });
                average.push(if m { 0.0 } else { 1.0 / visible });
            }
        }
        Self {
            bias: Tensor::from_data(TensorData::new(bias, [1, 1, seq, seq]), device),
            average: Tensor::from_data(TensorData::new(average, [1, 1, seq, seq]), device),
        }
    }
}

/// Vaswani's fixed position code, row-major [s, w]: sin and cos pairs at
/// wavelengths 2π·10000^(2i/w). Scaled by 0.1 to sit near the token embeddings'
/// size at initialisation (LayerNorm follows in every block).
pub fn sinusoids(s: usize, w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(s * w);
    for pos in 0..s {
        for i in 0..w {
            let freq = 10000f64.powf(-((i / 2 * 2) as f64) / w as f64);
            let a = pos as f64 * freq;
            out.push((0.1 * if i % 2 == 0 { a.sin() } else { a.cos() }) as f32);
        }
    }
    out
}

/// What the model should read out.
#[derive(Clone, Debug)]
pub enum Targets {
    /// Regression: [b, n], the y_k to predict (mean squared error).
    Values(Tensor<2>),
    /// Classification: [b], the query's label (cross-entropy).
    Labels(Tensor<1, Int>),
    /// Token sequences: [b, n], the next token at every read-out position
    /// (cross-entropy averaged over positions).
    Tokens(Tensor<2, Int>),
}

/// A batch ready for the model.
#[derive(Clone, Debug)]
pub struct ModelInput {
    /// [b, s, t]
    pub tokens: Tensor<3>,
    pub mask: AttentionMask,
    /// [n]: positions where y_0 … y_{n−1} (or the query's label) are read.
    pub readout: Tensor<1, Int>,
    pub targets: Targets,
}

impl ModelInput {
    /// Any family's batch on the device.
    pub fn new(batch: &Batch, device: &Device) -> Self {
        let (b, n) = (batch.batch, batch.readout.len());
        Self {
            tokens: token_tensor(&batch.tokens, [b, batch.seq, batch.token_dim], device),
            mask: AttentionMask::new(&batch.mask, batch.seq, device),
            readout: index_tensor(batch.readout.iter().copied(), [n], device),
            targets: match &batch.targets {
                // [b, n]
                crate::batch::Targets::Values(v) => Targets::Values(Tensor::from_data(
                    TensorData::new(v.clone(), [b, n]),
                    device,
                )),
                // [b]
                crate::batch::Targets::Labels(l) => {
                    Targets::Labels(index_tensor(l.iter().copied(), [b], device))
                }
                // [b, n]
                crate::batch::Targets::Tokens(t) => {
                    Targets::Tokens(index_tensor(t.iter().copied(), [b, n], device))
                }
            },
        }
    }
}

/// Row-major f32 tokens on the device.
fn token_tensor(tokens: &[f32], shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(tokens.to_vec(), shape), device)
}

/// Positions, labels or token ids as an int tensor of `shape`.
fn index_tensor<const D: usize>(
    values: impl Iterator<Item = usize>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D, Int> {
    let v: Vec<i64> = values.map(|x| x as i64).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Cross-entropy of the next token at every read-out position, [b, n], from the
/// outputs [b, n, V] and the next tokens [b, n].
pub fn next_token_nll(outputs: Tensor<3>, next: &Tensor<2, Int>) -> Tensor<2> {
    let [b, n, _] = outputs.dims();
    // [b, n, V] → log-probabilities → the next token's, [b, n]
    let logp = log_softmax(outputs, 2);
    -logp
        .gather(2, next.clone().reshape([b, n, 1]))
        .reshape([b, n])
}

/// What one forward pass produced.
pub struct ModelOutput {
    /// [b, n, o]: what is read out at each read-out position (o = 1 for regression,
    /// L label logits for classification).
    pub outputs: Tensor<3>,
    /// Per layer, [b, h, s, s].
    pub attention: Vec<Tensor<4>>,
}

impl ModelOutput {
    /// Regression predictions ŷ_k, [b, n].
    pub fn predictions(&self) -> Tensor<2> {
        let [b, n, o] = self.outputs.dims();
        assert_eq!(o, 1, "predictions() is for regression models");
        self.outputs.clone().reshape([b, n])
    }

    /// Classification logits at the query, [b, L].
    pub fn logits(&self) -> Tensor<2> {
        let [b, n, o] = self.outputs.dims();
        self.outputs
            .clone()
            .slice([0..b, n - 1..n, 0..o])
            .reshape([b, o])
    }
}

impl Transformer {
    /// A copy of the model (sharing its weights) with `ablations` applied; an empty
    /// list gives the model back unablated.
    pub fn ablated(&self, ablations: &[HeadAblation]) -> Transformer {
        let mut m = self.clone();
        for b in &mut m.blocks {
            b.attention.zeroed = 0;
            b.attention.averaged = 0;
        }
        for a in ablations {
            if let Some(b) = m.blocks.get_mut(a.layer)
                && a.head < b.attention.heads
            {
                match a.mode {
                    AblationMode::Zero => b.attention.zeroed |= 1 << a.head,
                    AblationMode::Mean => b.attention.averaged |= 1 << a.head,
                }
            }
        }
        m
    }

    /// Per head, the OV circuit through the token embedding and the read-out:
    /// E · W_V,h · W_O,h · U, [V, V] (row: the attended token, column: the logit it
    /// raises), for models with a read-in and a read-out layer (LayerNorms ignored,
    /// as in Olsson's analysis). Empty for the linear self-attention model, and for
    /// Reddy's, whose read-out feeds an MLP classifier rather than the logits (on
    /// token sequences its read-out is not [w, V]: this once panicked after a whole
    /// run had trained).
    pub fn ov_circuits(&self) -> Vec<Vec<Tensor<2>>> {
        let (Some(read_in), Some(read_out), None) = (&self.read_in, &self.read_out, &self.head)
        else {
            return Vec::new();
        };
        let e = read_in.weight.val(); // [V, w]
        let u = read_out.weight.val(); // [w, V]
        if e.dims()[1] != u.dims()[0] || e.dims()[0] != u.dims()[1] {
            return Vec::new();
        }
        self.blocks
            .iter()
            .map(|b| {
                let a = &b.attention;
                (0..a.heads)
                    .map(|h| {
                        let [_, _, v, o] = a.head_weights(h);
                        e.clone().matmul(v).matmul(o).matmul(u.clone())
                    })
                    .collect()
            })
            .collect()
    }

    /// The linear self-attention model's heads as von Oswald draws them, per layer
    /// and head: (W_KQ = W_Q,h W_K,hᵀ / √d_k, W_PV = W_V,h W_O,h), each [w, w] with
    /// w the token width: token_i · W_KQ · token_jᵀ is the score, token · W_PV what
    /// the head writes. Empty for the other kinds of model (they embed first).
    pub fn lsa_heads(&self) -> Vec<Vec<(Tensor<2>, Tensor<2>)>> {
        if self.read_in.is_some() {
            return Vec::new();
        }
        self.blocks
            .iter()
            .map(|b| {
                let a = &b.attention;
                let dk = a.query.weight.dims()[0] / a.heads;
                (0..a.heads)
                    .map(|h| {
                        let [q, k, v, o] = a.head_weights(h);
                        (q.matmul(k.transpose()) / (dk as f64).sqrt(), v.matmul(o))
                    })
                    .collect()
            })
            .collect()
    }

    /// tokens [b, s, t] → the final residual stream after LayerNorm [b, s, w], plus
    /// every layer's attention weights.
    pub fn residual(&self, tokens: Tensor<3>, mask: &AttentionMask) -> (Tensor<3>, Vec<Tensor<4>>) {
        let [_, s, _] = tokens.dims();
        let device = tokens.device();
        // [b, s, t] → [b, s, w] (the token itself in the linear self-attention model)
        let mut x = match &self.read_in {
            Some(l) => l.forward(tokens),
            None => tokens,
        };
        if let Some(p) = &self.positions {
            // [1, s] → [1, s, w], broadcast over the batch
            x = x + p.forward(Tensor::<1, Int>::arange(0..s as i64, &device).reshape([1, s]));
        }
        if self.sinusoidal {
            let [_, _, w] = x.dims();
            // [1, s, w], broadcast over the batch
            x = x + Tensor::<3>::from_data(TensorData::new(sinusoids(s, w), [1, s, w]), &device);
        }
        let mut attention = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (y, w) = block.forward(x, mask);
            x = y;
            attention.push(w);
        }
        // The recurrent kinds read strictly in order: validation admits them only
        // where the mask is causal (interleaved prompts, sequences).
        for block in &self.recurrent {
            x = block.forward(x);
        }
        let x = match &self.ln_final {
            Some(ln) => ln.forward(x),
            None => x,
        };
        (x, attention)
    }

    /// Outputs at the read-out positions, [b, n, o].
    pub fn forward(&self, input: &ModelInput) -> ModelOutput {
        let (x, attention) = self.residual(input.tokens.clone(), &input.mask);
        // [b, s, w] → [b, n, w]
        let x = x.select(1, input.readout.clone());
        // Reddy's classifier: [b, n, w] → [b, n, 4w]
        let x = match &self.head {
            Some(h) => h
                .relu
                .forward(h.fc2.forward(h.relu.forward(h.fc1.forward(x)))),
            None => x,
        };
        let outputs = match &self.read_out {
            Some(l) => l.forward(x),
            // [b, n, w] → the y slot [b, n, 1]
            None => {
                let [b, n, w] = x.dims();
                x.slice([0..b, 0..n, w - 1..w])
            }
        };
        ModelOutput { outputs, attention }
    }

    /// The training loss, [1]: mean squared error over every prompt and every
    /// position k (Garg's), or cross-entropy of the query's label (Chan, Reddy).
    pub fn loss(&self, input: &ModelInput) -> Tensor<1> {
        let out = self.forward(input);
        match &input.targets {
            Targets::Values(y) => {
                let diff = out.predictions() - y.clone();
                (diff.clone() * diff).mean()
            }
            Targets::Labels(labels) => {
                // [b, L] → log-probabilities → the target's, [b, 1]
                let logp = log_softmax(out.logits(), 1);
                let [b] = labels.dims();
                let picked = logp.gather(1, labels.clone().reshape([b, 1]));
                -picked.mean()
            }
            Targets::Tokens(next) => next_token_nll(out.outputs, next).mean(),
        }
    }
}

/// Builds the model for an experiment. Weights are always initialised on the CPU
/// backend from the seed and then forked to `device` (trainable there when it is an
/// autodiff device), so every backend starts from the same weights.
pub fn init_model(exp: &Experiment, device: &Device) -> Transformer {
    let config = TransformerConfig {
        model: exp.model.clone(),
        token_dim: exp.token_dim(),
        max_seq: exp.max_seq_len(),
        outputs: exp.outputs(),
    };
    // burn initialises parameters lazily, on the device where they are first used;
    // every one is touched now, on the CPU, in a fixed order.
    let model = seeded(exp.seed, |cpu| materialized(config.init(cpu)));
    let model = model.fork(device);
    if device.is_autodiff() {
        // Created on a plain device, the parameters do not track gradients yet.
        model.train()
    } else {
        model
    }
}

/// Runs `draw` with burn's CPU generator seeded by `seed`, holding it: the generator
/// is process-wide, so two models initialised on different threads at once would
/// otherwise interleave their draws (and a test's model would depend on which
/// other tests run beside it). Whatever `draw` makes must be drawn before it returns
/// (burn initialises lazily: see `Materialize`).
pub fn seeded<T>(seed: u64, draw: impl FnOnce(&Device) -> T) -> T {
    static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    let cpu = Device::flex();
    cpu.seed(seed);
    draw(&cpu)
}

/// Whether `device` is burn's CPU backend (with or without autodiff).
pub fn is_cpu(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// `module` with every parameter drawn now (burn draws lazily, on first use): what
/// a [`seeded`] closure returns.
pub fn materialized<M: Module>(module: M) -> M {
    module.visit(&mut Materialize);
    module
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AttentionKind;
    use crate::config::Encoding;
    use crate::prompt::Prompt;
    use nalgebra::{DMatrix, DVector};

    fn small(attention: AttentionKind, mlp: bool, token_dim: usize) -> Transformer {
        small_for(attention, mlp, token_dim, 12)
    }

    /// `small` with room for `max_seq` positions (6 points: 12 tokens, or 21 in
    /// full-context blocks).
    fn small_for(
        attention: AttentionKind,
        mlp: bool,
        token_dim: usize,
        max_seq: usize,
    ) -> Transformer {
        seeded(1, |cpu| {
            let model = TransformerConfig {
                model: ModelConfig {
                    kind: crate::config::ModelKind::Transformer,
                    layers: 2,
                    heads: 2,
                    width: 16,
                    mlp,
                    attention,
                    ..ModelConfig::default()
                },
                token_dim,
                max_seq,
                outputs: 1,
            }
            .init(cpu);
            materialized(model)
        })
    }

    fn prompt(seed: f64) -> Prompt {
        Prompt {
            xs: DMatrix::from_fn(6, 3, |i, j| ((i * 3 + j) as f64 * 0.37 + seed).sin()),
            ys: DVector::from_fn(6, |i, _| (i as f64 * 1.3 + seed).cos()),
            noise_std: 0.0,
            task_index: None,
            queries: None,
        }
    }

    fn predictions(model: &Transformer, enc: Encoding, p: &Prompt) -> Vec<f32> {
        let batch = enc.encode(std::slice::from_ref(p));
        let input = ModelInput::new(&batch, &Device::flex());
        model
            .forward(&input)
            .predictions()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    }

    /// Every weight times `factor`.
    struct Scale(f32);

    impl burn::module::ModuleMapper for Scale {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            let id = param.id;
            burn::module::Param::initialized(id, param.val() * self.0)
        }
    }

    /// Changing pair j may change predictions at k > j only (k = j reads x_j only).
    #[test]
    fn later_tokens_never_change_earlier_predictions() {
        for attention in [AttentionKind::Softmax, AttentionKind::Linear] {
            for enc in [
                Encoding::Interleaved,
                Encoding::Concatenated,
                Encoding::FullContext,
            ] {
                // Weights 10× GPT-2's initial scale: with N(0, 0.02) weights a linear
                // attention score is ~1e-4, and a context token's effect on a later
                // prediction can vanish in f32 rounding of the residual stream.
                let model = small_for(attention, true, enc.token_dim(3), enc.seq_len(6))
                    .map(&mut Scale(10.0));
                let p = prompt(0.0);
                let base = predictions(&model, enc, &p);
                for j in 0..6 {
                    let mut q = p.clone();
                    q.ys[j] += 3.0;
                    q.xs[(j, 1)] -= 2.0;
                    let changed = predictions(&model, enc, &q);
                    for k in 0..6 {
                        // Masked entries contribute exact zeros, so "unchanged" is exact.
                        let same = changed[k] == base[k];
                        if k < j {
                            assert!(
                                same,
                                "{attention:?} {enc:?}: k={k} moved when pair {j} changed"
                            );
                        }
                        if k > j {
                            assert!(!same, "{attention:?} {enc:?}: k={k} ignores pair {j}");
                        }
                    }
                }
            }
        }
    }

    /// Reddy's network on token sequences trained, then panicked in the head lens
    /// (its read-out is not [w, V]) and lost the run: no OV circuits for it.
    #[test]
    fn ov_circuits_exist_only_where_the_read_out_gives_logits() {
        let mut e = crate::presets::preset("induction-phase-change").unwrap();
        e.model.width = 16;
        let plain = init_model(&e, &Device::flex());
        let circuits = plain.ov_circuits();
        assert_eq!(circuits.len(), e.model.layers);
        assert_eq!(circuits[0][0].dims(), [64, 64]);
        e.model.kind = crate::config::ModelKind::Reddy;
        assert!(init_model(&e, &Device::flex()).ov_circuits().is_empty());
    }

    #[test]
    fn attention_only_has_fewer_parameters_and_weights_sum_to_one() {
        let full = small(AttentionKind::Softmax, true, 3);
        let attn_only = small(AttentionKind::Softmax, false, 3);
        assert!(attn_only.num_params() < full.num_params());
        let batch = Encoding::Interleaved.encode(&[prompt(0.5)]);
        let input = ModelInput::new(&batch, &Device::flex());
        let out = full.forward(&input);
        assert_eq!(out.attention.len(), 2);
        let sums: Vec<f32> = out.attention[0]
            .clone()
            .sum_dim(3)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
    }

    #[test]
    fn ablating_a_head_changes_the_output_and_undoing_it_restores_it() {
        let model = small(AttentionKind::Softmax, false, 3);
        let p = prompt(0.3);
        // Two prompts in one batch: the mean pattern differs from each one's own.
        let batch_predictions = |m: &Transformer| {
            let batch = Encoding::Interleaved.encode(&[p.clone(), prompt(2.0)]);
            let out = m
                .forward(&ModelInput::new(&batch, &Device::flex()))
                .predictions();
            out.into_data().try_into_vec::<f32>().unwrap()
        };
        let base = batch_predictions(&model);
        for mode in [AblationMode::Zero, AblationMode::Mean] {
            for (layer, head) in [(0, 0), (1, 1)] {
                let cut = [HeadAblation { layer, head, mode }];
                let ablated = model.ablated(&cut);
                let got = batch_predictions(&ablated);
                assert!(
                    got.iter().zip(&base).any(|(a, b)| (a - b).abs() > 1e-6),
                    "{mode:?} L{layer}H{head} changed nothing"
                );
                // Undone (an empty list), the same model gives exactly the same output.
                assert_eq!(batch_predictions(&ablated.ablated(&[])), base);
            }
        }
        // A zeroed head's attention weights are zero; the other head's are untouched.
        let batch = Encoding::Interleaved.encode(std::slice::from_ref(&p));
        let input = ModelInput::new(&batch, &Device::flex());
        let cut = model.ablated(&[HeadAblation {
            layer: 0,
            head: 1,
            mode: AblationMode::Zero,
        }]);
        let sums: Vec<f32> = cut.forward(&input).attention[0]
            .clone()
            .sum_dim(3)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let s = batch.seq;
        assert!(sums[..s].iter().all(|v| (v - 1.0).abs() < 1e-5));
        assert!(sums[s..].iter().all(|v| *v == 0.0));
        // On a batch of one, the mean pattern is the pattern: mean ablation is a no-op.
        let same = model.ablated(&[HeadAblation {
            layer: 1,
            head: 0,
            mode: AblationMode::Mean,
        }]);
        let one = predictions(&model, Encoding::Interleaved, &p);
        let got = predictions(&same, Encoding::Interleaved, &p);
        assert!(got.iter().zip(&one).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    #[test]
    fn head_ablations_parse_and_check() {
        let a: HeadAblation = "L2H1:mean".parse().unwrap();
        assert_eq!((a.layer, a.head, a.mode), (1, 0, AblationMode::Mean));
        assert_eq!(
            "l1h3".parse::<HeadAblation>().unwrap().mode,
            AblationMode::Zero
        );
        for bad in ["L0H1", "H1", "L1H", "L1H1:half", "x"] {
            assert!(bad.parse::<HeadAblation>().is_err(), "{bad}");
        }
        let err = a.check(1, 2).unwrap_err();
        assert!(err.contains("L1…L1") && err.contains("H1…H2"), "{err}");
        assert!(a.check(2, 1).is_ok());
    }

    /// von Oswald's construction: one linear self-attention layer whose key and
    /// query read x, whose value writes η·y into the y slot, computes one step of
    /// gradient descent from w = 0 on the context. The query also attends to itself
    /// (its y slot is 0, so it adds nothing) and the average runs over k + 1 visible
    /// tokens: the step is GD's with rate η·k/(k + 1).
    #[test]
    fn hand_built_linear_self_attention_is_one_gd_step() {
        use burn::module::Param;
        let (d, n, eta) = (3usize, 7usize, 0.8f64);
        let w = d + 1;
        let mut model = TransformerConfig {
            model: ModelConfig {
                kind: ModelKind::Lsa,
                layers: 1,
                heads: 1,
                ..ModelConfig::default()
            },
            token_dim: w,
            max_seq: 2 * n,
            outputs: 1,
        }
        .init(&Device::flex());
        // Linear weights are [d_input, d_output]: y = x · W.
        let matrix = |f: &dyn Fn(usize, usize) -> f32| {
            let v: Vec<f32> = (0..w * w).map(|i| f(i / w, i % w)).collect();
            Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(v, [w, w]),
                &Device::flex(),
            ))
        };
        let x_only = |i: usize, j: usize| if i == j && i < d { 1.0 } else { 0.0 };
        let a = &mut model.blocks[0].attention;
        // scores are divided by √(d + 1): the query undoes it
        let root = (w as f32).sqrt();
        a.query.weight = matrix(&|i, j| x_only(i, j) * root);
        a.key.weight = matrix(&x_only);
        a.value.weight = matrix(&|i, j| if i == d && j == d { eta as f32 } else { 0.0 });
        a.output.weight = matrix(&|i, j| if i == j { 1.0 } else { 0.0 });

        let p = &crate::baselines::test_util::linear_prompts(1, n, d, 4)[0];
        let got = predictions(&model, Encoding::Concatenated, p);
        for (k, &got) in got.iter().enumerate().skip(1) {
            let gd = crate::baselines::GradientDescent {
                steps: 1,
                lr: Some(eta * k as f64 / (k + 1) as f64),
            };
            let want = crate::baselines::Predictor::predict(&gd, p, k);
            assert!(
                (got as f64 - want).abs() < 1e-5 * (1.0 + want.abs()),
                "k={k}: lsa {got} vs one GD step {want}"
            );
        }
        assert_eq!(got[0], 0.0, "no context: the y slot stays 0");

        // The weight view finds the construction: W_KQ = I on x, W_PV = η on y → y.
        let view = futures_lite::future::block_on(crate::predict::lsa_view(&model)).unwrap();
        assert_eq!(view.len(), 1);
        let h = &view[0];
        assert!((h.kq_identity - 1.0).abs() < 1e-6 && (h.kq_share - 1.0).abs() < 1e-6);
        assert!((h.pv_share - 1.0).abs() < 1e-6);
        assert!((h.kq[0] - 1.0).abs() < 1e-6 && (h.pv[w * w - 1] - eta).abs() < 1e-6);
    }

    /// Small experiments of every shape for `kind`: regression on interleaved
    /// prompts, classification sequences, token sequences (shrunk to test size).
    fn tiny_of_every_shape(kind: ModelKind) -> Vec<Experiment> {
        ["garg-tiny", "bursty-icl", "induction-phase-change"]
            .iter()
            .map(|name| {
                let mut e = crate::presets::preset(name).unwrap();
                e.model.kind = kind;
                e.model.layers = 2;
                e.model.heads = 2;
                e.model.width = 8;
                e.model.params = None;
                e.task.points = e.task.points.min(8);
                e.train.batch = 3;
                e
            })
            .collect()
    }

    fn tiny_batch(e: &Experiment, device: &Device) -> ModelInput {
        let mut rng = crate::seeds::rng_for(e.seed, crate::seeds::streams::TRAIN);
        let source = crate::seeds::task_source(e);
        let b = crate::data::training_data(e).batch(
            &mut rng,
            &source,
            e.train.batch,
            e.task.points,
            e.task.dims,
        );
        ModelInput::new(&b, device)
    }

    /// Σ over every parameter of gradient · direction (the direction a fixed pattern,
    /// the same one `Shift` moves the weights along).
    struct Directional<'a> {
        grads: &'a burn::tensor::Gradients,
        n: usize,
        sum: f64,
        missing: usize,
    }

    fn direction(n: usize, len: usize) -> Vec<f32> {
        (0..len).map(|i| ((n + i) as f32 * 0.7).sin()).collect()
    }

    impl ModuleVisitor for Directional<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let len = t.shape().num_elements();
            let v = direction(self.n, len);
            self.n += len;
            match t.grad(self.grads) {
                Some(g) => {
                    let g: Vec<f32> = g.into_data().convert::<f32>().try_into_vec().unwrap();
                    self.sum += g.iter().zip(&v).map(|(a, b)| (a * b) as f64).sum::<f64>();
                }
                None => self.missing += 1,
            }
        }
    }

    /// Every weight moved by `eps` along the fixed direction.
    struct Shift {
        eps: f32,
        n: usize,
    }

    impl burn::module::ModuleMapper for Shift {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let id = param.id;
            let t = param.val();
            let (dims, device) = (t.dims(), t.device());
            let len = t.shape().num_elements();
            let mut v: Vec<f32> = t.into_data().convert::<f32>().try_into_vec().unwrap();
            for (x, d) in v.iter_mut().zip(direction(self.n, len)) {
                *x += self.eps * d;
            }
            self.n += len;
            Param::initialized(id, Tensor::from_data(TensorData::new(v, dims), &device))
        }
    }

    fn loss_value(model: &Transformer, input: &ModelInput) -> f64 {
        model
            .loss(input)
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()[0]
    }

    /// Each recurrent kind (and the attention kinds beside them) runs forward and
    /// backward on a tiny batch of every shape, every parameter gets a gradient, and
    /// the gradient along a direction through all the weights matches central
    /// finite differences of the loss.
    #[test]
    fn every_kind_trains_and_its_gradients_match_finite_differences() {
        for kind in [
            ModelKind::Lstm,
            ModelKind::Gru,
            ModelKind::S4d,
            ModelKind::LinearAttention,
            ModelKind::Transformer,
        ] {
            for e in tiny_of_every_shape(kind) {
                assert!(e.validate().is_ok(), "{kind:?}: {:?}", e.validate());
                let name = format!("{kind:?} on {:?}", e.task.family.shape());
                let dev = Device::flex().autodiff();
                let model = init_model(&e, &dev);
                assert_eq!(
                    model.num_params(),
                    e.param_count(),
                    "{name}: parameter count"
                );
                let input = tiny_batch(&e, &dev);
                let out = model.forward(&input);
                let [b, n, o] = out.outputs.dims();
                assert_eq!((b, o), (e.train.batch, e.outputs()), "{name}");
                assert!(n >= 1);
                let loss = model.loss(&input);
                let grads = loss.backward();
                let mut d = Directional {
                    grads: &grads,
                    n: 0,
                    sum: 0.0,
                    missing: 0,
                };
                model.visit(&mut d);
                assert_eq!(d.missing, 0, "{name}: parameters without a gradient");
                // Central differences on the plain CPU device. The direction moves
                // every weight, so ε is small (at 1e-3 the classification loss's
                // curvature showed: 1.89 against 2.04, converging to it at 1e-4) yet
                // large against f32 rounding of a loss near 1 (≈ 1e-7 / ε).
                let plain = model.valid();
                let eps = 1e-4f32;
                let plus = plain.clone().map(&mut Shift { eps, n: 0 });
                let minus = plain.clone().map(&mut Shift { eps: -eps, n: 0 });
                let input = tiny_batch(&e, &Device::flex());
                let fd =
                    (loss_value(&plus, &input) - loss_value(&minus, &input)) / (2.0 * eps as f64);
                assert!(
                    (fd - d.sum).abs() < 2e-2 * d.sum.abs().max(1e-2),
                    "{name}: finite differences {fd} vs autodiff {}",
                    d.sum
                );
            }
        }
    }

    /// The recurrent kinds are causal on every shape of sequence: changing token j
    /// changes no output read before j (exactly), and some output after it.
    #[test]
    fn recurrent_kinds_are_causal() {
        for kind in [ModelKind::Lstm, ModelKind::Gru, ModelKind::S4d] {
            for e in tiny_of_every_shape(kind) {
                let dev = Device::flex();
                let model = init_model(&e, &dev).map(&mut Scale(3.0));
                let input = tiny_batch(&e, &dev);
                let [b, s, t] = input.tokens.dims();
                let outputs = |tokens: Tensor<3>| -> Vec<f32> {
                    let (x, _) = model.residual(tokens, &input.mask);
                    x.into_data().convert::<f32>().try_into_vec().unwrap()
                };
                let base = outputs(input.tokens.clone());
                let w = base.len() / (b * s);
                for j in [0, s / 2, s - 1] {
                    let bump = Tensor::<3>::zeros([b, s, t], &dev)
                        .slice_assign([0..b, j..j + 1, 0..t], Tensor::<3>::ones([b, 1, t], &dev));
                    let changed = outputs(input.tokens.clone() + bump);
                    for pos in 0..s {
                        let same = (0..b).all(|i| {
                            let at = (i * s + pos) * w;
                            base[at..at + w] == changed[at..at + w]
                        });
                        if pos < j {
                            assert!(
                                same,
                                "{kind:?}: position {pos} moved when token {j} changed"
                            );
                        } else {
                            assert!(!same, "{kind:?}: position {pos} ignores token {j}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_memory_estimate_counts_the_weights_the_model_has() {
        // The browser's and the CLI's limits estimate memory from the config alone
        // (crate::memory); its weight count must follow the model as it changes.
        for p in crate::presets::PRESETS {
            let e = (p.build)();
            let estimated = crate::memory::footprint(&e).weights / 4;
            let actual = init_model(&e, &Device::flex()).num_params();
            let ratio = estimated as f64 / actual as f64;
            println!(
                "{}: estimated {estimated}, actual {actual}, ratio {ratio:.3}",
                p.name
            );
            assert!(
                (0.9..=1.1).contains(&ratio),
                "{}: the estimate counts {estimated} weights, the model has {actual}",
                p.name
            );
        }
    }
}
