//! The fused CPU engine: Garg's transformer trained without a tensor library, its
//! forward and backward pass written out by hand, read top to bottom.
//!
//! burn's CPU backend runs each tensor operation on its own: every GELU, LayerNorm
//! and softmax is several passes over fresh buffers, and autodiff records a graph
//! per step. On `garg-tiny` that costs about half of a step (see docs/engine.md).
//! Here one step is: the batch split into [`CHUNKS`] fixed chunks, each chunk's
//! forward and backward on its own thread (fused element-wise loops, matrix
//! products through `gemm`, buffers kept from step to step), the chunks' gradients
//! summed in a fixed order (so the result does not depend on how many cores ran
//! it), then clipping and Adam(W) as burn's optimizer does them.
//!
//! It trains what [`Fused::supports`] accepts: the regression transformer (softmax
//! attention, GELU MLP in every block, learned or sinusoidal positions, a linear
//! read-out, mean squared error). Everything else trains on burn. It computes the
//! same function and gradients as [`crate::model::Transformer`]: the parity tests
//! (`tests/it/parity.rs` and the unit tests below) check the loss and every gradient
//! against burn's autodiff and against an independent PyTorch implementation.
//!
//! The weights go to and from a burn [`Transformer`] ([`Fused::from_model`],
//! [`Fused::to_model`]) for evaluation, lenses and checkpoints, so nothing outside
//! the trainer knows which engine trained the model.
//!
//! Shapes: b = prompts in a chunk, s = sequence, w = width, h = heads, d = w / h,
//! f = 4w (MLP), t = token width, n = rows read out, N = b·s rows.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use crate::batch::Batch;
use crate::config::{AttentionKind, Experiment, ModelKind, OptimizerKind, PositionKind};
use crate::model::{Transformer, sinusoids};

/// The batch is cut into this many chunks, whatever the number of cores: each
/// chunk's gradient is summed in chunk order, so a run gives the same numbers on
/// one core, two or sixteen (and in the browser, which runs them one after the
/// other). Four keeps two or four cores busy; on `garg-tiny` (batch 64) a chunk of
/// 16 prompts is 352 rows, large enough for the matrix kernels.
pub const CHUNKS: usize = 4;

/// LayerNorm's ε, burn's default (and PyTorch's).
const LN_EPS: f32 = 1e-5;

/// Where each parameter lives in the flat vector. Linear weights are [in, out]
/// row-major as in burn; the query, key and value weights of a layer are stored
/// side by side as one [w, 3w] matrix (one product instead of three).
#[derive(Clone, Debug)]
struct Layout {
    t: usize,
    w: usize,
    h: usize,
    f: usize,
    max_seq: usize,
    learned: bool,
    win: usize,
    bin: usize,
    /// [max_seq, w]; unused (length 0) with sinusoidal positions.
    pos: usize,
    layers: Vec<LayerOffsets>,
    lnf_g: usize,
    lnf_b: usize,
    wout: usize,
    bout: usize,
    len: usize,
}

#[derive(Clone, Debug)]
struct LayerOffsets {
    ln1_g: usize,
    ln1_b: usize,
    wqkv: usize,
    bqkv: usize,
    wo: usize,
    bo: usize,
    ln2_g: usize,
    ln2_b: usize,
    wfc: usize,
    bfc: usize,
    wproj: usize,
    bproj: usize,
}

impl Layout {
    fn new(t: usize, w: usize, h: usize, layers: usize, max_seq: usize, learned: bool) -> Self {
        let f = 4 * w;
        let mut at = 0;
        let mut take = |n: usize| {
            let o = at;
            at += n;
            o
        };
        let win = take(t * w);
        let bin = take(w);
        let pos = take(if learned { max_seq * w } else { 0 });
        let layers = (0..layers)
            .map(|_| LayerOffsets {
                ln1_g: take(w),
                ln1_b: take(w),
                wqkv: take(w * 3 * w),
                bqkv: take(3 * w),
                wo: take(w * w),
                bo: take(w),
                ln2_g: take(w),
                ln2_b: take(w),
                wfc: take(w * f),
                bfc: take(f),
                wproj: take(f * w),
                bproj: take(w),
            })
            .collect();
        let lnf_g = take(w);
        let lnf_b = take(w);
        let wout = take(w);
        let bout = take(1);
        Layout {
            t,
            w,
            h,
            f,
            max_seq,
            learned,
            win,
            bin,
            pos,
            layers,
            lnf_g,
            lnf_b,
            wout,
            bout,
            len: at,
        }
    }

    /// Every parameter as burn holds it: (offset, rows, columns, row stride) of a
    /// strided view into the flat vector. burn's gradient clipping works per
    /// parameter, so the query, key and value weights are three views.
    fn params(&self) -> Vec<(usize, usize, usize, usize)> {
        let (t, w, f) = (self.t, self.w, self.f);
        let mut v = vec![(self.win, t, w, w), (self.bin, 1, w, w)];
        if self.learned {
            v.push((self.pos, self.max_seq, w, w));
        }
        for l in &self.layers {
            v.push((l.ln1_g, 1, w, w));
            v.push((l.ln1_b, 1, w, w));
            for part in 0..3 {
                v.push((l.wqkv + part * w, w, w, 3 * w));
                v.push((l.bqkv + part * w, 1, w, w));
            }
            v.extend([
                (l.wo, w, w, w),
                (l.bo, 1, w, w),
                (l.ln2_g, 1, w, w),
                (l.ln2_b, 1, w, w),
                (l.wfc, w, f, f),
                (l.bfc, 1, f, f),
                (l.wproj, f, w, w),
                (l.bproj, 1, w, w),
            ]);
        }
        v.extend([
            (self.lnf_g, 1, w, w),
            (self.lnf_b, 1, w, w),
            (self.wout, w, 1, 1),
            (self.bout, 1, 1, 1),
        ]);
        v
    }
}

/// What a layer's forward pass keeps for its backward pass (one chunk).
#[derive(Default)]
struct LayerActs {
    /// Residual stream entering the layer, [N, w].
    x: Vec<f32>,
    /// LayerNorm 1: normalised input [N, w], 1/σ per row [N], output [N, w].
    xhat1: Vec<f32>,
    rstd1: Vec<f32>,
    a1: Vec<f32>,
    /// [N, 3w]: q | k | v.
    qkv: Vec<f32>,
    /// Attention weights [b, h, s, s] (zero where masked).
    p: Vec<f32>,
    /// Heads' outputs side by side on the layer's query rows, [b·nq, w] (every
    /// row but in the last layer).
    ctx: Vec<f32>,
    /// Residual stream after attention (query rows), [b·nq, w]; so are the rest.
    x1: Vec<f32>,
    xhat2: Vec<f32>,
    rstd2: Vec<f32>,
    a2: Vec<f32>,
    /// GELU's output and derivative, [N, f].
    gelu: Vec<f32>,
    dgelu: Vec<f32>,
}

/// One chunk's buffers, kept from step to step.
#[derive(Default)]
struct Workspace {
    layers: Vec<LayerActs>,
    /// Residual stream after the last layer, and the final LayerNorm, on the
    /// read-out rows [b·n, w].
    xl: Vec<f32>,
    xhatf: Vec<f32>,
    rstdf: Vec<f32>,
    af: Vec<f32>,
    /// Gradient buffers for the backward pass.
    dx: Vec<f32>,
    dx_in: Vec<f32>,
    da: Vec<f32>,
    dqkv: Vec<f32>,
    dctx: Vec<f32>,
    dh: Vec<f32>,
    /// This chunk's parameter gradient.
    grad: Vec<f32>,
    /// ŷ at the read-out rows, [b, n].
    preds: Vec<f32>,
    loss: f64,
}

/// The parameters and Adam's moments: what a snapshot or a checkpoint keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedState {
    pub params: Vec<f32>,
    pub m1: Vec<f32>,
    pub m2: Vec<f32>,
    /// Adam steps taken (burn's `time`).
    pub time: u32,
}

/// The engine: the layout, the state and per-chunk workspaces.
pub struct Fused {
    layout: Layout,
    pub state: FusedState,
    work: Vec<Workspace>,
    /// The summed gradient of the last step (flat, as the parameters).
    grad: Vec<f32>,
    adamw: Option<f32>,
    /// Adam's L2 penalty λ (`weight_decay` with plain Adam): λθ joins the gradient.
    l2: f32,
    clip: Option<f32>,
}

/// The optimizer state of a checkpoint written by this engine starts with this.
const MAGIC: &[u8; 8] = b"ICLFUSE1";

impl Fused {
    /// Whether the fused engine can train this experiment: the regression
    /// transformer with softmax attention and an MLP in every block.
    pub fn supports(exp: &Experiment) -> bool {
        let m = &exp.model;
        m.kind == ModelKind::Transformer
            && m.attention == AttentionKind::Softmax
            && m.mlp
            && exp.task.family.family().is_some()
            && exp.outputs() == 1
            && m.width.is_multiple_of(m.heads)
    }

    /// The engine for `exp`, starting from `model`'s weights (fresh moments).
    pub fn from_model(exp: &Experiment, model: &Transformer) -> Self {
        assert!(
            Self::supports(exp),
            "the fused engine does not train this model"
        );
        let m = &exp.model;
        let layout = Layout::new(
            exp.token_dim(),
            m.width,
            m.heads,
            m.layers,
            exp.max_seq_len(),
            m.positions == PositionKind::Learned,
        );
        let mut params = vec![0.0; layout.len];
        read_model(&layout, model, &mut params);
        let len = layout.len;
        Fused {
            layout,
            state: FusedState {
                params,
                m1: vec![0.0; len],
                m2: vec![0.0; len],
                time: 0,
            },
            work: (0..CHUNKS).map(|_| Workspace::default()).collect(),
            grad: vec![0.0; len],
            adamw: (exp.optim.kind == OptimizerKind::AdamW)
                .then_some(exp.optim.weight_decay as f32),
            l2: match exp.optim.kind {
                OptimizerKind::Adam => exp.optim.weight_decay as f32,
                OptimizerKind::AdamW => 0.0,
            },
            clip: exp.optim.grad_clip.map(|c| c as f32),
        }
    }

    /// A forward-only engine for `model`'s weights (evaluation on the CPU), or
    /// `None` when the model is not one the engine computes: not the regression
    /// transformer, or with ablated heads.
    pub fn for_model(model: &Transformer) -> Option<Self> {
        let read_in = model.read_in.as_ref()?;
        let read_out = model.read_out.as_ref()?;
        let [t, w] = read_in.weight.val().dims();
        let h = model.blocks.first()?.attention.heads;
        let plain = model.head.is_none()
            && model.recurrent.is_empty()
            && model.ln_final.is_some()
            && read_out.weight.val().dims() == [w, 1]
            && (model.positions.is_some() || model.sinusoidal)
            && model.blocks.iter().all(|b| {
                let a = &b.attention;
                b.ln_attn.is_some()
                    && b.mlp.is_some()
                    && a.softmax
                    && a.zeroed == 0
                    && a.averaged == 0
                    && a.heads == h
            })
            && w % h == 0;
        if !plain {
            return None;
        }
        let max_seq = model
            .positions
            .as_ref()
            .map_or(usize::MAX, |p| p.weight.val().dims()[0]);
        let learned = model.positions.is_some();
        let layout = Layout::new(t, w, h, model.blocks.len(), max_seq, learned);
        let mut params = vec![0.0; layout.len];
        read_model(&layout, model, &mut params);
        Some(Fused {
            state: FusedState {
                params,
                m1: Vec::new(),
                m2: Vec::new(),
                time: 0,
            },
            work: (0..CHUNKS).map(|_| Workspace::default()).collect(),
            grad: Vec::new(),
            layout,
            adamw: None,
            l2: 0.0,
            clip: None,
        })
    }

    /// Predictions ŷ at the read-out positions, [b, n] row-major: the forward pass
    /// alone.
    pub fn predict(&mut self, batch: &Batch) -> Vec<f32> {
        self.run(batch, false);
        let chunks = CHUNKS.min(batch.batch).max(1);
        self.work[..chunks]
            .iter()
            .flat_map(|ws| ws.preds.iter().copied())
            .collect()
    }

    /// Writes the weights into `model` (same architecture), on `device`.
    pub fn to_model(&self, model: &Transformer, device: &Device) -> Transformer {
        self.model_from(&self.state.params, model, device)
    }

    /// Writes `params` (this engine's layout) into `model`, on `device`.
    pub fn model_from(&self, params: &[f32], model: &Transformer, device: &Device) -> Transformer {
        write_model(&self.layout, params, model, device)
    }

    /// Loss and gradient of one batch, without updating: the gradient is kept for
    /// [`Fused::apply`] and [`Fused::gradient_model`]. Returns the mean squared error.
    pub fn loss_and_grad(&mut self, batch: &Batch) -> f32 {
        self.run(batch, true);
        let chunks = CHUNKS.min(batch.batch).max(1);
        let total = (batch.batch * batch.readout.len()) as f32;
        // Sum the chunks in order (each span of the vector on its own thread).
        let work = &self.work[..chunks];
        spans(&mut self.grad, |at, g| {
            g.copy_from_slice(&work[0].grad[at..at + g.len()]);
            for ws in &work[1..] {
                add_into(g, &ws.grad[at..at + g.len()]);
            }
        });
        let loss: f64 = work.iter().map(|ws| ws.loss).sum();
        (loss / total as f64) as f32
    }

    /// Every chunk's forward pass, and its backward pass with `backward`.
    fn run(&mut self, batch: &Batch, backward: bool) {
        let lay = &self.layout;
        assert_eq!(batch.token_dim, lay.t, "token width");
        assert!(
            batch.seq <= lay.max_seq,
            "sequence longer than the positions"
        );
        let chunks = CHUNKS.min(batch.batch).max(1);
        let per = batch.batch.div_ceil(chunks);
        let total = (batch.batch * batch.readout.len()) as f32;
        let params = &self.state.params;
        let work = &mut self.work[..chunks];
        let job = |(i, ws): (usize, &mut Workspace)| {
            let start = (i * per).min(batch.batch);
            let end = ((i + 1) * per).min(batch.batch);
            chunk(lay, params, batch, start..end, total, backward, ws);
        };
        run_chunks(work, job);
    }

    /// The gradient of the last batch as a model (for tests against autodiff).
    pub fn gradient_model(&self, model: &Transformer) -> Transformer {
        write_model(&self.layout, &self.grad, model, &Device::flex())
    }

    /// One optimizer step at rate `lr` with the gradient of the last batch: burn's
    /// per-parameter norm clipping, Adam's L2 term (λθ added to the clipped
    /// gradient), then Adam (or AdamW's decoupled decay) exactly as burn 0.22.1
    /// writes them.
    pub fn apply(&mut self, lr: f64) {
        if let Some(c) = self.clip {
            for (o, r, cols, stride) in self.layout.params() {
                let mut sq = 0.0f32;
                for i in 0..r {
                    for g in &self.grad[o + i * stride..o + i * stride + cols] {
                        sq += g * g;
                    }
                }
                let coef = (c / (sq.sqrt() + f32::MIN_POSITIVE)).min(1.0);
                for i in 0..r {
                    for g in &mut self.grad[o + i * stride..o + i * stride + cols] {
                        *g *= coef;
                    }
                }
            }
        }
        let s = &mut self.state;
        s.time += 1;
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let t = s.time as i32;
        let bc2 = (1.0 - b2.powi(t)).sqrt();
        let factor = bc2 / (1.0 - b1.powi(t));
        let eps = eps * bc2;
        let lr32 = lr as f32;
        let keep = self.adamw.map_or(1.0, |wd| (1.0 - lr * wd as f64) as f32);
        let first = s.time == 1;
        let l2 = self.l2;
        let update = |((p, m1), m2): ((&mut [f32], &mut [f32]), &mut [f32]), g: &[f32]| {
            for (((p, m1), m2), &g) in p.iter_mut().zip(m1).zip(m2).zip(g) {
                // burn's WeightDecay::transform: θ·λ + g.
                let g = if l2 > 0.0 { *p * l2 + g } else { g };
                // burn starts the moments at (1 − β)·g rather than decaying zeros:
                // the same numbers, written as it does.
                if first {
                    *m1 = g * (1.0 - b1);
                    *m2 = g * g * (1.0 - b2);
                } else {
                    *m1 = *m1 * b1 + g * (1.0 - b1);
                    *m2 = *m2 * b2 + g * g * (1.0 - b2);
                }
                let delta = *m1 * factor / (m2.sqrt() + eps);
                *p = *p * keep - delta * lr32;
            }
        };
        // Spans of the vectors on the pool's threads natively.
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            s.params
                .par_chunks_mut(SPAN)
                .zip(s.m1.par_chunks_mut(SPAN))
                .zip(s.m2.par_chunks_mut(SPAN))
                .zip(self.grad.par_chunks(SPAN))
                .for_each(|(v, g)| update(v, g));
        }
        #[cfg(target_arch = "wasm32")]
        update(
            ((&mut s.params[..], &mut s.m1[..]), &mut s.m2[..]),
            &self.grad,
        );
    }

    /// One training step: loss and gradient, then the update. Returns the loss.
    pub fn step(&mut self, batch: &Batch, lr: f64) -> f32 {
        let loss = self.loss_and_grad(batch);
        self.apply(lr);
        loss
    }

    /// Adam's state as checkpoint bytes.
    pub fn optimizer_bytes(state: &FusedState) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 8 * state.m1.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&state.time.to_le_bytes());
        for v in state.m1.iter().chain(&state.m2) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Whether checkpoint optimizer bytes were written by this engine.
    pub fn owns_optimizer_bytes(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }

    /// Restores Adam's state from [`Fused::optimizer_bytes`].
    pub fn load_optimizer(&mut self, bytes: &[u8]) -> Result<(), String> {
        let len = self.layout.len;
        if !bytes.starts_with(MAGIC) || bytes.len() != 12 + 8 * len {
            return Err(format!(
                "the fused engine's optimizer state should be {} bytes for this model, found {}",
                12 + 8 * len,
                bytes.len()
            ));
        }
        self.state.time = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        let floats = bytes[12..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")));
        for (i, v) in floats.enumerate() {
            if i < len {
                self.state.m1[i] = v;
            } else {
                self.state.m2[i - len] = v;
            }
        }
        Ok(())
    }
}

/// Large enough that a span's work dwarfs handing it to a thread.
const SPAN: usize = 1 << 14;

/// `f(offset, span)` over consecutive spans of `v`: in parallel natively.
fn spans<F>(v: &mut [f32], f: F)
where
    F: Fn(usize, &mut [f32]) + Sync,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        v.par_chunks_mut(SPAN)
            .enumerate()
            .for_each(|(i, c)| f(i * SPAN, c));
    }
    #[cfg(target_arch = "wasm32")]
    v.chunks_mut(SPAN)
        .enumerate()
        .for_each(|(i, c)| f(i * SPAN, c));
}

/// Runs `job` on every workspace: on rayon's pool natively (threads that live
/// across steps), one after the other in the browser.
fn run_chunks<F>(work: &mut [Workspace], job: F)
where
    F: Fn((usize, &mut Workspace)) + Sync,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        work.par_iter_mut().enumerate().for_each(&job);
    }
    #[cfg(target_arch = "wasm32")]
    work.iter_mut().enumerate().for_each(job);
}

/// One chunk's forward and backward pass: prompts `rows` of the batch, with the
/// gradient of mean squared error over `total` read-out values.
#[allow(clippy::too_many_arguments)]
fn chunk(
    lay: &Layout,
    params: &[f32],
    batch: &Batch,
    prompts: std::ops::Range<usize>,
    total: f32,
    backward: bool,
    ws: &mut Workspace,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the copy was compiled for.
        unsafe { chunk_avx2(lay, params, batch, prompts, total, backward, ws) };
        return;
    }
    chunk_body(lay, params, batch, prompts, total, backward, ws);
}

/// The same code compiled for AVX2: the element-wise loops vectorise 8 wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn chunk_avx2(
    lay: &Layout,
    params: &[f32],
    batch: &Batch,
    prompts: std::ops::Range<usize>,
    total: f32,
    backward: bool,
    ws: &mut Workspace,
) {
    chunk_body(lay, params, batch, prompts, total, backward, ws);
}

#[inline(always)]
fn resize(v: &mut Vec<f32>, n: usize) {
    v.clear();
    v.resize(n, 0.0);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn chunk_body(
    lay: &Layout,
    params: &[f32],
    batch: &Batch,
    prompts: std::ops::Range<usize>,
    total: f32,
    backward: bool,
    ws: &mut Workspace,
) {
    let (t, w, h, f) = (lay.t, lay.w, lay.h, lay.f);
    let d = w / h;
    let w3 = 3 * w;
    let s = batch.seq;
    let b = prompts.len();
    let rows = b * s;
    let nl = lay.layers.len();
    let p = |o: usize, n: usize| &params[o..o + n];
    // Visible keys per query position (the mask is shared by the batch).
    let visible: Vec<Vec<usize>> = (0..s)
        .map(|i| (0..s).filter(|&j| !batch.mask[i * s + j]).collect())
        .collect();
    let scale = 1.0 / (d as f32).sqrt();
    // The positions whose layer output is used: all of them, except in the last
    // layer, where only the read-out positions reach the loss (their keys and
    // values still come from every position). Its MLP, attention output and final
    // LayerNorm run on those rows only: in Garg's interleaved prompts, half.
    let all: Vec<usize> = (0..s).collect();
    let queries = |l: usize| {
        if l + 1 == nl {
            &batch.readout[..]
        } else {
            &all[..]
        }
    };
    let n = batch.readout.len();

    if backward {
        resize(&mut ws.grad, lay.len);
    }
    ws.loss = 0.0;
    ws.preds.clear();
    if b == 0 {
        return;
    }
    ws.layers.resize_with(nl, LayerActs::default);

    // ── forward ──
    // Read-in and positions: x = tokens · W_in + b_in + pos, [N, w].
    let tokens = &batch.tokens[prompts.start * s * t..prompts.end * s * t];
    {
        let x = &mut ws.layers[0].x;
        resize(x, rows * w);
        let sin = (!lay.learned).then(|| sinusoids(s, w));
        for r in 0..rows {
            let pos = match &sin {
                Some(v) => &v[(r % s) * w..(r % s + 1) * w],
                None => p(lay.pos + (r % s) * w, w),
            };
            for ((o, &bi), &pi) in x[r * w..(r + 1) * w].iter_mut().zip(p(lay.bin, w)).zip(pos) {
                *o = bi + pi;
            }
        }
        matmul(x, tokens, p(lay.win, t * w), rows, t, w, true);
    }
    for l in 0..nl {
        let o = &lay.layers[l];
        let qs = queries(l);
        let nq = qs.len();
        let qrows = b * nq;
        let (before, after) = ws.layers.split_at_mut(l + 1);
        let a = &mut before[l];
        // LayerNorm 1 → q | k | v = a1 · W_qkv + b_qkv, [N, 3w]
        layer_norm(
            &a.x,
            p(o.ln1_g, w),
            p(o.ln1_b, w),
            w,
            &mut a.xhat1,
            &mut a.rstd1,
            &mut a.a1,
        );
        fill_rows(&mut a.qkv, p(o.bqkv, w3), rows);
        matmul(&mut a.qkv, &a.a1, p(o.wqkv, w * w3), rows, w, w3, true);
        // Softmax attention per prompt and head → ctx [b·nq, w] (query rows only)
        resize(&mut a.p, b * h * s * s);
        resize(&mut a.ctx, qrows * w);
        for pi in 0..b {
            for hh in 0..h {
                let pm = &mut a.p[(pi * h + hh) * s * s..(pi * h + hh + 1) * s * s];
                for (qi, &i) in qs.iter().enumerate() {
                    let r = pi * s + i;
                    let q = &a.qkv[r * w3 + hh * d..r * w3 + hh * d + d];
                    let row = &mut pm[i * s..(i + 1) * s];
                    let vis = &visible[i];
                    if vis.is_empty() {
                        // Every key masked: burn's −1e9 bias gives equal weights.
                        row.fill(1.0 / s as f32);
                    } else {
                        let mut max = f32::NEG_INFINITY;
                        for &j in vis {
                            let k = &a.qkv[(pi * s + j) * w3 + w + hh * d..][..d];
                            let sc = dot(q, k) * scale;
                            row[j] = sc;
                            max = max.max(sc);
                        }
                        let mut sum = 0.0;
                        for &j in vis {
                            let e = exp(row[j] - max);
                            row[j] = e;
                            sum += e;
                        }
                        let inv = 1.0 / sum;
                        for &j in vis {
                            row[j] *= inv;
                        }
                    }
                    let c = &mut a.ctx[(pi * nq + qi) * w + hh * d..][..d];
                    for (j, &pij) in row.iter().enumerate() {
                        if pij != 0.0 {
                            let v = &a.qkv[(pi * s + j) * w3 + 2 * w + hh * d..][..d];
                            axpy(c, pij, v);
                        }
                    }
                }
            }
        }
        // x1 = x (query rows) + ctx · W_o + b_o, [b·nq, w]
        a.x1.clear();
        for pi in 0..b {
            for &i in qs {
                a.x1.extend_from_slice(&a.x[(pi * s + i) * w..(pi * s + i + 1) * w]);
            }
        }
        add_rows(&mut a.x1, p(o.bo, w), qrows);
        matmul(&mut a.x1, &a.ctx, p(o.wo, w * w), qrows, w, w, true);
        // LayerNorm 2 → GELU(a2 · W_fc + b_fc) → x' = x1 + · W_proj + b_proj
        layer_norm(
            &a.x1,
            p(o.ln2_g, w),
            p(o.ln2_b, w),
            w,
            &mut a.xhat2,
            &mut a.rstd2,
            &mut a.a2,
        );
        fill_rows(&mut a.gelu, p(o.bfc, f), qrows);
        matmul(&mut a.gelu, &a.a2, p(o.wfc, w * f), qrows, w, f, true);
        resize(&mut a.dgelu, qrows * f);
        gelu(&mut a.gelu, &mut a.dgelu);
        let next = if l + 1 < nl {
            &mut after[0].x
        } else {
            &mut ws.xl
        };
        next.clear();
        next.extend_from_slice(&a.x1);
        add_rows(next, p(o.bproj, w), qrows);
        matmul(next, &a.gelu, p(o.wproj, f * w), qrows, f, w, true);
    }
    // Final LayerNorm on the read-out rows [b·n, w], then ŷ.
    layer_norm(
        &ws.xl,
        p(lay.lnf_g, w),
        p(lay.lnf_b, w),
        w,
        &mut ws.xhatf,
        &mut ws.rstdf,
        &mut ws.af,
    );
    let wout = p(lay.wout, w);
    let bout = params[lay.bout];
    resize(&mut ws.da, b * n * w);
    let (mut dbout, mut loss) = (0.0f32, 0.0f64);
    let targets = &batch.values()[prompts.start * n..];
    for (r, af) in ws.af.chunks_exact(w).enumerate() {
        let pred = dot(af, wout) + bout;
        ws.preds.push(pred);
        let diff = pred - targets[r];
        loss += (diff as f64) * (diff as f64);
        // d loss / d ŷ for the mean over the whole batch.
        if backward {
            let g = 2.0 * diff / total;
            dbout += g;
            axpy(&mut ws.grad[lay.wout..lay.wout + w], g, af);
            axpy(&mut ws.da[r * w..(r + 1) * w], g, wout);
        }
    }
    ws.loss = loss;
    if !backward {
        return;
    }
    ws.grad[lay.bout] += dbout;

    // ── backward ──
    // dx: gradient of the residual stream after the layer being undone, on its
    // query rows.
    resize(&mut ws.dx, b * n * w);
    {
        let (gg, gb) = two_mut(&mut ws.grad, lay.lnf_g, lay.lnf_b, w);
        layer_norm_backward(
            &ws.da,
            &ws.xhatf,
            &ws.rstdf,
            p(lay.lnf_g, w),
            w,
            gg,
            gb,
            &mut ws.dx,
            false,
        );
    }
    for l in (0..nl).rev() {
        let o = &lay.layers[l];
        let a = &ws.layers[l];
        let qs = queries(l);
        let nq = qs.len();
        let qrows = b * nq;
        // MLP: x' = x1 + GELU(a2 W_fc + b_fc) W_proj + b_proj
        matmul_tn(
            &mut ws.grad[o.wproj..o.wproj + f * w],
            &a.gelu,
            &ws.dx,
            f,
            qrows,
            w,
        );
        col_sums(&mut ws.grad[o.bproj..o.bproj + w], &ws.dx, w);
        resize(&mut ws.dh, qrows * f);
        matmul_nt(&mut ws.dh, &ws.dx, p(o.wproj, f * w), qrows, w, f);
        mul_into(&mut ws.dh, &a.dgelu);
        matmul_tn(
            &mut ws.grad[o.wfc..o.wfc + w * f],
            &a.a2,
            &ws.dh,
            w,
            qrows,
            f,
        );
        col_sums(&mut ws.grad[o.bfc..o.bfc + f], &ws.dh, f);
        resize(&mut ws.da, qrows * w);
        matmul_nt(&mut ws.da, &ws.dh, p(o.wfc, w * f), qrows, f, w);
        {
            let (gg, gb) = two_mut(&mut ws.grad, o.ln2_g, o.ln2_b, w);
            // dx (now d x1) += LayerNorm 2's backward
            layer_norm_backward(
                &ws.da,
                &a.xhat2,
                &a.rstd2,
                p(o.ln2_g, w),
                w,
                gg,
                gb,
                &mut ws.dx,
                true,
            );
        }
        // Attention: x1 = x + ctx W_o + b_o
        matmul_tn(
            &mut ws.grad[o.wo..o.wo + w * w],
            &a.ctx,
            &ws.dx,
            w,
            qrows,
            w,
        );
        col_sums(&mut ws.grad[o.bo..o.bo + w], &ws.dx, w);
        resize(&mut ws.dctx, qrows * w);
        matmul_nt(&mut ws.dctx, &ws.dx, p(o.wo, w * w), qrows, w, w);
        resize(&mut ws.dqkv, rows * w3);
        let mut dp = vec![0.0f32; s];
        for pi in 0..b {
            for hh in 0..h {
                let pm = &a.p[(pi * h + hh) * s * s..(pi * h + hh + 1) * s * s];
                for (qi, &i) in qs.iter().enumerate() {
                    let r = pi * s + i;
                    let row = &pm[i * s..(i + 1) * s];
                    let dc = &ws.dctx[(pi * nq + qi) * w + hh * d..][..d];
                    // dP_ij = dctx_i · v_j ; dV_j += P_ij dctx_i
                    let mut sum = 0.0;
                    for j in 0..s {
                        let pij = row[j];
                        if pij == 0.0 {
                            dp[j] = 0.0;
                            continue;
                        }
                        let vo = (pi * s + j) * w3 + 2 * w + hh * d;
                        dp[j] = dot(dc, &a.qkv[vo..vo + d]);
                        sum += pij * dp[j];
                        axpy(&mut ws.dqkv[vo..vo + d], pij, dc);
                    }
                    // dS_ij = P_ij (dP_ij − Σ P dP); dQ_i += s·dS_ij k_j; dK_j += s·dS_ij q_i
                    let qo = r * w3 + hh * d;
                    for j in 0..s {
                        let pij = row[j];
                        if pij == 0.0 {
                            continue;
                        }
                        let ds = pij * (dp[j] - sum) * scale;
                        let ko = (pi * s + j) * w3 + w + hh * d;
                        let (dq, dk) = two_mut(&mut ws.dqkv, qo, ko, d);
                        axpy(dq, ds, &a.qkv[ko..ko + d]);
                        axpy(dk, ds, &a.qkv[qo..qo + d]);
                    }
                }
            }
        }
        matmul_tn(
            &mut ws.grad[o.wqkv..o.wqkv + w * w3],
            &a.a1,
            &ws.dqkv,
            w,
            rows,
            w3,
        );
        col_sums(&mut ws.grad[o.bqkv..o.bqkv + w3], &ws.dqkv, w3);
        resize(&mut ws.da, rows * w);
        matmul_nt(&mut ws.da, &ws.dqkv, p(o.wqkv, w * w3), rows, w3, w);
        // d x (every row) = the residual's d x1 on the query rows + LayerNorm 1's
        // backward.
        resize(&mut ws.dx_in, rows * w);
        for pi in 0..b {
            for (qi, &i) in qs.iter().enumerate() {
                let r = pi * s + i;
                add_into(
                    &mut ws.dx_in[r * w..(r + 1) * w],
                    &ws.dx[(pi * nq + qi) * w..][..w],
                );
            }
        }
        {
            let (gg, gb) = two_mut(&mut ws.grad, o.ln1_g, o.ln1_b, w);
            layer_norm_backward(
                &ws.da,
                &a.xhat1,
                &a.rstd1,
                p(o.ln1_g, w),
                w,
                gg,
                gb,
                &mut ws.dx_in,
                true,
            );
        }
        std::mem::swap(&mut ws.dx, &mut ws.dx_in);
    }
    // Read-in and positions.
    matmul_tn(
        &mut ws.grad[lay.win..lay.win + t * w],
        tokens,
        &ws.dx,
        t,
        rows,
        w,
    );
    col_sums(&mut ws.grad[lay.bin..lay.bin + w], &ws.dx, w);
    if lay.learned {
        for r in 0..rows {
            let at = lay.pos + (r % s) * w;
            add_into(&mut ws.grad[at..at + w], &ws.dx[r * w..(r + 1) * w]);
        }
    }
}

/// Two disjoint `n`-long windows of `v` at `a` and `b`, both mutable.
#[inline(always)]
fn two_mut(v: &mut [f32], a: usize, b: usize, n: usize) -> (&mut [f32], &mut [f32]) {
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a..a + n], &mut y[..n])
    } else {
        let (x, y) = v.split_at_mut(a);
        let (yb, xa) = (&mut x[b..b + n], &mut y[..n]);
        (xa, yb)
    }
}

/// c[m, n] (row-major) (+)= a · b for a [m, k] and b [k, n] given by their
/// (row, column) strides: transposed operands are reads with swapped strides.
#[allow(clippy::too_many_arguments)]
fn gemm_strided(
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    acc: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        }
    };
    assert!(
        c.len() >= m * n && a.len() >= last(m, k, a_rs, a_cs) && b.len() >= last(k, n, b_rs, b_cs)
    );
    // SAFETY: every element the strides reach is inside the slices (checked above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            acc,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// c[m, n] (+)= a[m, k] · b[k, n], all row-major.
fn matmul(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize, acc: bool) {
    gemm_strided(c, m, k, n, acc, a, (k, 1), b, (n, 1));
}

/// c[m, n] += aᵀ · b with a [k, m] and b [k, n] row-major (weight gradients).
fn matmul_tn(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    gemm_strided(c, m, k, n, true, a, (1, m), b, (n, 1));
}

/// c[m, n] = a[m, k] · bᵀ with b [n, k] row-major (input gradients).
fn matmul_nt(c: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    gemm_strided(c, m, k, n, false, a, (k, 1), b, (1, k));
}

/// Every row of `out` ([rows, n]) set to `bias`.
#[inline(always)]
fn fill_rows(out: &mut Vec<f32>, bias: &[f32], rows: usize) {
    out.clear();
    for _ in 0..rows {
        out.extend_from_slice(bias);
    }
}

/// `bias` added to every row of `x`.
#[inline(always)]
fn add_rows(x: &mut [f32], bias: &[f32], rows: usize) {
    for r in 0..rows {
        add_into(&mut x[r * bias.len()..(r + 1) * bias.len()], bias);
    }
}

#[inline(always)]
fn add_into(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

#[inline(always)]
fn mul_into(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a *= b;
    }
}

/// x += α·y
#[inline(always)]
fn axpy(x: &mut [f32], alpha: f32, y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += alpha * b;
    }
}

/// Sum of x·y with eight running sums (so the loop vectorises; the order of the
/// additions is fixed).
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let xs = x.chunks_exact(8);
    let ys = y.chunks_exact(8);
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xs.zip(ys) {
        for i in 0..8 {
            acc[i] += a[i] * b[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let xs = x.chunks_exact(8);
    let tail: f32 = xs.remainder().iter().sum();
    for a in xs {
        for i in 0..8 {
            acc[i] += a[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// out[c] += Σ_rows x[row, c]
#[inline(always)]
fn col_sums(out: &mut [f32], x: &[f32], cols: usize) {
    for row in x.chunks_exact(cols) {
        add_into(out, row);
    }
}

/// Row-wise LayerNorm of x [rows, w]: x̂ = (x − μ)/σ, y = x̂·g + b, with σ² the
/// biased variance + ε (burn's and PyTorch's).
#[inline(always)]
fn layer_norm(
    x: &[f32],
    g: &[f32],
    b: &[f32],
    w: usize,
    xhat: &mut Vec<f32>,
    rstd: &mut Vec<f32>,
    y: &mut Vec<f32>,
) {
    let rows = x.len() / w;
    resize(xhat, rows * w);
    resize(rstd, rows);
    resize(y, rows * w);
    for r in 0..rows {
        let xr = &x[r * w..(r + 1) * w];
        let mean = sum(xr) / w as f32;
        let xh = &mut xhat[r * w..(r + 1) * w];
        for (o, &v) in xh.iter_mut().zip(xr) {
            *o = v - mean;
        }
        let var = dot(xh, xh) / w as f32;
        let rs = 1.0 / (var + LN_EPS).sqrt();
        rstd[r] = rs;
        for ((o, yo), (&gi, &bi)) in xh
            .iter_mut()
            .zip(&mut y[r * w..(r + 1) * w])
            .zip(g.iter().zip(b))
        {
            *o *= rs;
            *yo = *o * gi + bi;
        }
    }
}

/// LayerNorm's backward: from dy [rows, w], accumulates dg, db and writes (or adds,
/// with `add`) dx = σ⁻¹ (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) with dx̂ = dy ⊙ g.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn layer_norm_backward(
    dy: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    g: &[f32],
    w: usize,
    dg: &mut [f32],
    db: &mut [f32],
    dx: &mut [f32],
    add: bool,
) {
    let mut dxh = vec![0.0f32; w];
    for (r, &rs) in rstd.iter().enumerate() {
        let dyr = &dy[r * w..(r + 1) * w];
        let xr = &xhat[r * w..(r + 1) * w];
        for i in 0..w {
            dg[i] += dyr[i] * xr[i];
            db[i] += dyr[i];
            dxh[i] = dyr[i] * g[i];
        }
        let m1 = sum(&dxh) / w as f32;
        let m2 = dot(&dxh, xr) / w as f32;
        let out = &mut dx[r * w..(r + 1) * w];
        if add {
            for i in 0..w {
                out[i] += rs * (dxh[i] - m1 - xr[i] * m2);
            }
        } else {
            for i in 0..w {
                out[i] = rs * (dxh[i] - m1 - xr[i] * m2);
            }
        }
    }
}

const SQRT_1_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Exact GELU in place, x Φ(x), with its derivative Φ(x) + x φ(x) into `dy`.
/// erf as PyTorch's vectorised CPU kernel computes it (Abramowitz & Stegun
/// 7.1.26, |error| < 1.5e-7), whose exp(−x²/2) is also φ's.
#[inline(always)]
fn gelu(x: &mut [f32], dy: &mut [f32]) {
    for (v, d) in x.iter_mut().zip(dy.iter_mut()) {
        let xv = *v;
        let z = (xv * SQRT_1_2).abs();
        let e = exp(-0.5 * xv * xv);
        let t = 1.0 / (1.0 + 0.327_591_1 * z);
        let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t
            + 0.254_829_6)
            * t;
        let erf_abs = 1.0 - poly * e;
        let erf = if xv < 0.0 { -erf_abs } else { erf_abs };
        let cdf = 0.5 * (1.0 + erf);
        *v = xv * cdf;
        *d = cdf + xv * e * INV_SQRT_2PI;
    }
}

/// e^x in f32 without a library call, so loops over it vectorise (Cephes' expf:
/// x = n ln2 + r, a degree-6 polynomial for e^r, 2^n from the exponent bits).
/// Relative error about 2e-7 over [−87, 88]; inputs outside are clamped there.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let ni = t.to_bits() as i32 - MAGIC.to_bits() as i32;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let z = r * r;
    let y = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 5e-1)
        * z
        + r
        + 1.0;
    y * f32::from_bits(((ni + 127) << 23) as u32)
}

// ── the weights to and from burn's model ──

fn values<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
    p.val()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 weights")
}

/// Copies a [rows, cols] parameter into the strided view.
fn put(flat: &mut [f32], (o, rows, cols, stride): (usize, usize, usize, usize), v: &[f32]) {
    assert_eq!(v.len(), rows * cols, "parameter size");
    for r in 0..rows {
        flat[o + r * stride..o + r * stride + cols].copy_from_slice(&v[r * cols..(r + 1) * cols]);
    }
}

fn get(flat: &[f32], (o, rows, cols, stride): (usize, usize, usize, usize)) -> Vec<f32> {
    (0..rows)
        .flat_map(|r| flat[o + r * stride..o + r * stride + cols].iter().copied())
        .collect()
}

/// The model's parameters in [`Layout::params`]'s order.
fn model_params(m: &Transformer) -> Vec<&dyn ParamRef> {
    fn lin<'a>(v: &mut Vec<&'a dyn ParamRef>, l: &'a burn::nn::Linear) {
        v.push(&l.weight);
        v.push(l.bias.as_ref().expect("a bias"));
    }
    let mut v: Vec<&dyn ParamRef> = Vec::new();
    lin(&mut v, m.read_in.as_ref().expect("read-in"));
    if let Some(p) = &m.positions {
        v.push(&p.weight);
    }
    for b in &m.blocks {
        let ln = b.ln_attn.as_ref().expect("LayerNorm");
        v.push(&ln.gamma);
        v.push(ln.beta.as_ref().expect("LayerNorm bias"));
        let a = &b.attention;
        for l in [&a.query, &a.key, &a.value] {
            lin(&mut v, l);
        }
        lin(&mut v, &a.output);
        let mlp = b.mlp.as_ref().expect("an MLP");
        v.push(&mlp.ln.gamma);
        v.push(mlp.ln.beta.as_ref().expect("LayerNorm bias"));
        lin(&mut v, &mlp.fc);
        lin(&mut v, &mlp.proj);
    }
    let ln = m.ln_final.as_ref().expect("final LayerNorm");
    v.push(&ln.gamma);
    v.push(ln.beta.as_ref().expect("LayerNorm bias"));
    lin(&mut v, m.read_out.as_ref().expect("read-out"));
    v
}

/// A parameter of either rank, read as a flat vector.
trait ParamRef {
    fn flat(&self) -> Vec<f32>;
    /// Its gradient in `grads` (tests against autodiff).
    #[cfg(test)]
    fn grad_flat(&self, grads: &burn::tensor::Gradients) -> Vec<f32>;
}

impl<const D: usize> ParamRef for Param<Tensor<D>> {
    fn flat(&self) -> Vec<f32> {
        values(self)
    }
    #[cfg(test)]
    fn grad_flat(&self, grads: &burn::tensor::Gradients) -> Vec<f32> {
        let g = self.val().grad(grads).expect("a gradient");
        g.into_data().convert::<f32>().try_into_vec().unwrap()
    }
}

fn read_model(lay: &Layout, m: &Transformer, flat: &mut [f32]) {
    let params = model_params(m);
    let views = lay.params();
    assert_eq!(
        params.len(),
        views.len(),
        "the model's parameters and the layout"
    );
    for (p, view) in params.into_iter().zip(views) {
        put(flat, view, &p.flat());
    }
}

/// Param `p` with new values (same id, shape and device placement on `device`).
fn with_values<const D: usize>(
    p: &Param<Tensor<D>>,
    v: Vec<f32>,
    device: &Device,
) -> Param<Tensor<D>> {
    let shape = p.val().dims();
    // Trainable, as every parameter of the model is (takes effect under `train()`).
    Param::initialized(p.id, Tensor::from_data(TensorData::new(v, shape), device))
        .set_require_grad(true)
}

fn write_model(lay: &Layout, flat: &[f32], model: &Transformer, device: &Device) -> Transformer {
    let mut views = lay.params().into_iter();
    let mut next = || get(flat, views.next().expect("a view per parameter"));
    let mut m = model.clone();
    let lin = |l: &mut burn::nn::Linear, next: &mut dyn FnMut() -> Vec<f32>| {
        l.weight = with_values(&l.weight, next(), device);
        let b = l.bias.as_ref().expect("a bias");
        l.bias = Some(with_values(b, next(), device));
    };
    let ln = |n: &mut burn::nn::LayerNorm, next: &mut dyn FnMut() -> Vec<f32>| {
        n.gamma = with_values(&n.gamma, next(), device);
        let b = n.beta.as_ref().expect("LayerNorm bias");
        n.beta = Some(with_values(b, next(), device));
    };
    lin(m.read_in.as_mut().expect("read-in"), &mut next);
    if let Some(p) = &mut m.positions {
        p.weight = with_values(&p.weight, next(), device);
    }
    for b in &mut m.blocks {
        ln(b.ln_attn.as_mut().expect("LayerNorm"), &mut next);
        let a = &mut b.attention;
        for l in [&mut a.query, &mut a.key, &mut a.value] {
            lin(l, &mut next);
        }
        lin(&mut a.output, &mut next);
        let mlp = b.mlp.as_mut().expect("an MLP");
        ln(&mut mlp.ln, &mut next);
        lin(&mut mlp.fc, &mut next);
        lin(&mut mlp.proj, &mut next);
    }
    ln(m.ln_final.as_mut().expect("final LayerNorm"), &mut next);
    lin(m.read_out.as_mut().expect("read-out"), &mut next);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_library_to_a_few_ulps() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let rel = ((exp(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 4e-7, "worst relative error {worst:e}");
        assert_eq!(exp(-1000.0), exp(-87.0));
    }

    #[test]
    fn gelu_and_its_derivative_match_the_exact_forms() {
        let xs: Vec<f32> = (-600..600).map(|i| i as f32 * 0.01).collect();
        let mut y = xs.clone();
        let mut dy = vec![0.0; xs.len()];
        gelu(&mut y, &mut dy);
        let erf = |x: f64| {
            // erf through the complementary series is not in std: integrate φ.
            let n = 4000;
            let h = x / n as f64;
            (0..n)
                .map(|i| {
                    let t = (i as f64 + 0.5) * h;
                    (-t * t).exp()
                })
                .sum::<f64>()
                * h
                * 2.0
                / std::f64::consts::PI.sqrt()
        };
        for ((&x, &g), &d) in xs.iter().zip(&y).zip(&dy) {
            let x = x as f64;
            let cdf = 0.5 * (1.0 + erf(x / 2f64.sqrt()));
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!((g as f64 - x * cdf).abs() < 1e-6, "gelu({x})");
            assert!((d as f64 - (cdf + x * pdf)).abs() < 1e-6, "gelu'({x})");
        }
    }
}

#[cfg(test)]
mod parity {
    use super::*;
    use crate::config::{Experiment, OptimizerKind};
    use crate::model::ModelInput;
    use crate::model::init_model;
    use crate::seeds::{rng_for, streams, task_source};
    use burn::module::{Module, ModuleMapper};

    /// Every weight moved off its initial value by a fixed pattern (biases and
    /// LayerNorm gains stop being 0 and 1), so every gradient path is exercised.
    struct Perturb(usize);

    impl ModuleMapper for Perturb {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let id = param.id;
            let t = param.val();
            let dims = t.dims();
            let device = t.device();
            let mut v: Vec<f32> = t.into_data().convert::<f32>().try_into_vec().unwrap();
            for x in &mut v {
                self.0 += 1;
                *x += 0.15 * ((self.0 as f32) * 0.7).sin();
            }
            Param::initialized(id, Tensor::from_data(TensorData::new(v, dims), &device))
                .set_require_grad(true)
        }
    }

    fn small(positions: PositionKind) -> Experiment {
        let mut e = Experiment::default();
        e.task.dims = 3;
        e.task.points = 6;
        e.model.layers = 2;
        e.model.heads = 2;
        e.model.width = 16;
        e.model.positions = positions;
        // 5 prompts in 4 chunks: chunks of 2, 2, 1 and none.
        e.train.batch = 5;
        e
    }

    fn batch(e: &Experiment) -> Batch {
        let family = e.task.family.family().unwrap();
        let x_dist = e.x_dist.distribution();
        let source = task_source(e);
        let sampler = crate::prompt::PromptSampler {
            family: family.as_ref(),
            source: &source,
            x_dist: x_dist.as_ref(),
            dims: e.task.dims,
            y_scale: 1.0,
            label_noise: 0.0,
        };
        let prompts = sampler.sample_batch(
            e.train.batch,
            e.task.points,
            e.task.dims,
            &mut rng_for(7, streams::TRAIN),
        );
        e.task.encoding.encode(&prompts)
    }

    fn flat<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec().unwrap()
    }

    #[test]
    fn loss_and_every_gradient_match_burns_autodiff() {
        use crate::config::Encoding;
        for (positions, encoding) in [
            (PositionKind::Learned, Encoding::Interleaved),
            (PositionKind::Sinusoidal, Encoding::Interleaved),
            // Read out at every position: the last layer runs on all rows.
            (PositionKind::Learned, Encoding::Concatenated),
        ] {
            let mut e = small(positions);
            e.task.encoding = encoding;
            let model = init_model(&e, &Device::flex()).map(&mut Perturb(0));
            let batch = batch(&e);
            let mut fused = Fused::from_model(&e, &model);
            let loss = fused.loss_and_grad(&batch);
            let grads_fused = fused.gradient_model(&model);

            let dev = Device::flex().autodiff();
            let auto = model.clone().fork(&dev).train();
            let l = auto.loss(&ModelInput::new(&batch, &dev));
            let want = flat(l.clone())[0];
            assert!(
                (loss - want).abs() < 1e-5 * want.abs(),
                "loss {loss} vs {want}"
            );
            let grads = l.backward();
            let got = model_params(&grads_fused);
            let reference = model_params(&auto);
            assert_eq!(got.len(), reference.len());
            for (i, (g, r)) in got.iter().zip(&reference).enumerate() {
                let g = g.flat();
                let r = r.grad_flat(&grads);
                let diff: f32 = g.iter().zip(&r).map(|(a, b)| (a - b).powi(2)).sum();
                let norm: f32 = r.iter().map(|b| b * b).sum();
                let rel = (diff / norm.max(1e-30)).sqrt();
                // The key bias's gradient is zero in exact arithmetic (softmax
                // ignores a constant per row): compare absolutely there.
                assert!(
                    rel < 1e-4 || diff.sqrt() < 1e-6,
                    "{positions:?} parameter {i}: relative error {rel:e}"
                );
            }
        }
    }

    #[test]
    fn predictions_match_burns_forward_and_ablated_models_are_left_to_burn() {
        let e = small(PositionKind::Learned);
        let model = init_model(&e, &Device::flex()).map(&mut Perturb(3));
        let batch = batch(&e);
        let got = Fused::for_model(&model)
            .expect("the regression transformer")
            .predict(&batch);
        let want = flat(
            model
                .forward(&ModelInput::new(&batch, &Device::flex()))
                .predictions(),
        );
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5 * w.abs().max(1.0), "{g} vs {w}");
        }
        let ablated = model.ablated(&[crate::ablation::HeadAblation {
            layer: 0,
            head: 1,
            mode: crate::ablation::AblationMode::Zero,
        }]);
        assert!(Fused::for_model(&ablated).is_none());
    }

    #[test]
    fn steps_match_burns_optimizer() {
        for (kind, clip) in [
            (OptimizerKind::Adam, None),
            (OptimizerKind::AdamW, Some(0.05)),
        ] {
            let mut e = small(PositionKind::Learned);
            e.optim.kind = kind;
            e.optim.weight_decay = 0.1;
            e.optim.grad_clip = clip;
            let model = init_model(&e, &Device::flex());
            let batch = batch(&e);
            let mut fused = Fused::from_model(&e, &model);
            let dev = Device::flex().autodiff();
            let mut auto = model.clone().fork(&dev).train();
            let mut optim = crate::train::optimizer(&e);
            for step in 0..4 {
                let lf = fused.step(&batch, 1e-2);
                let l = auto.loss(&ModelInput::new(&batch, &dev));
                let lb = flat(l.clone())[0];
                let g = burn::optim::GradientsParams::from_grads(l.backward(), &auto);
                auto = optim.step(1e-2, auto, g);
                assert!(
                    (lf - lb).abs() < 1e-4 * lb.abs(),
                    "{kind:?} step {step}: {lf} vs {lb}"
                );
            }
            let got = fused.to_model(&model, &Device::flex());
            let views = fused.layout.params();
            let key_bias = |o: usize| {
                fused
                    .layout
                    .layers
                    .iter()
                    .any(|l| o == l.bqkv + e.model.width)
            };
            for ((g, r), view) in model_params(&got)
                .iter()
                .zip(&model_params(&auto.valid()))
                .zip(views)
            {
                let (g, r) = (g.flat(), r.flat());
                let diff: f32 = g
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                // The key bias's gradient is rounding noise (zero in exact
                // arithmetic), which Adam scales up to steps of ±lr: it may move
                // differently in the two engines, by at most 4 steps of 1e-2.
                let tol = if key_bias(view.0) { 4e-2 } else { 1e-5 };
                assert!(
                    diff < tol,
                    "{kind:?}: parameter at {} differs by {diff}",
                    view.0
                );
            }
        }
    }
}
