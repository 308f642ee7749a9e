//! The sequence mixers of the recurrent model kinds: what takes attention's place
//! in their blocks (`model::RecurrentBlock`: x + mixer(LN(x)), then the MLP).
//!
//! - LSTM and GRU: burn's `nn::Lstm` and `nn::Gru`, hidden size = width, initialised
//!   as PyTorch does (every weight and bias from U(±1/√hidden)). They step through
//!   the sequence one token at a time.
//! - S4D: a diagonal state-space layer (Gu, Gupta, Goel & Ré 2022, "On the
//!   parameterization and initialization of diagonal state space models"), in its
//!   real-valued form S4D-Real. burn has no state-space layer, so it is written out
//!   here, in a few lines of tensor operations that every backend (WebGPU included)
//!   has.
//!
//! The S4D layer. Each of the w channels runs its own linear recurrence over a state
//! of N numbers (N = `config::S4D_STATE`):
//!
//! ```text
//!   h_t = Ā h_{t−1} + B̄ u_t,   y_t = C h_t + D u_t,   Ā = exp(Δ A),  B̄ = (Ā − 1)/A · B
//! ```
//!
//! with A diagonal and negative (A_n = −exp(log_a_n), so the state decays), Δ > 0
//! the channel's step size (zero-order hold). A linear time-invariant recurrence is
//! a causal convolution: y_t = Σ_{j ≤ t} K_{t−j} u_j + D u_t, with kernel
//! K_l = Σ_n C_n B̄_n Ā_n^l. The layer computes K for every lag at once ([w, N, s]:
//! one exp), lays it out as a lower-triangular Toeplitz matrix per channel
//! ([w, s, s]: entries above the diagonal are exact zeros, so the layer is causal
//! exactly) and multiplies: one batched matmul instead of s sequential steps, the
//! same trade S4 makes with its FFT (at a few hundred tokens a matmul is cheaper).
//! Then S4's block output: GELU, and a linear map back into the residual stream.
//!
//! Initialisation (S4D-Real): A_n = −(n + 1), B = 1, C ~ N(0, 1), D ~ N(0, 1),
//! log Δ ~ U(ln 0.001, ln 0.1); the output map as the transformer's residual-writing
//! layers (N(0, 0.02/√(2L)), bias 0).

use burn::module::{Module, Param};
use burn::nn::{Gelu, Gru, GruConfig, Initializer, Linear, LinearConfig, Lstm, LstmConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use crate::config::{ModelKind, S4D_STATE};

/// What mixes information along the sequence in a recurrent block.
// One per layer, built once and never moved in a loop: the variants' sizes (burn's
// LSTM holds four gates' parameter handles) cost nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Mixer {
    Lstm(Lstm),
    Gru(Gru),
    S4d(S4d),
}

impl Mixer {
    /// The mixer of `kind` (a recurrent kind) for width `w` in a model of `layers`
    /// layers.
    pub fn new(kind: ModelKind, w: usize, layers: usize, device: &Device) -> Self {
        // PyTorch's LSTM and GRU default: U(±1/√hidden) for every weight and bias.
        let bound = 1.0 / (w as f64).sqrt();
        let uniform = Initializer::Uniform {
            min: -bound,
            max: bound,
        };
        match kind {
            ModelKind::Lstm => Mixer::Lstm(
                LstmConfig::new(w, w, true)
                    .with_initializer(uniform)
                    .init(device),
            ),
            ModelKind::Gru => Mixer::Gru(
                GruConfig::new(w, w, true)
                    .with_initializer(uniform)
                    .init(device),
            ),
            ModelKind::S4d => Mixer::S4d(S4d::new(w, layers, device)),
            other => panic!("{other:?} is not a recurrent kind"),
        }
    }

    /// x: [b, s, w] → [b, s, w]; the output at t depends on x_0 … x_t only.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Mixer::Lstm(l) => l.forward(x, None).0,
            Mixer::Gru(g) => g.forward(x, None),
            Mixer::S4d(s) => s.forward(x),
        }
    }
}

/// A diagonal state-space layer (S4D-Real) with S4's GELU and output map.
#[derive(Module, Debug)]
pub struct S4d {
    /// log Δ, the step size per channel, [w].
    pub log_dt: Param<Tensor<1>>,
    /// log(−A) per channel and mode, [w, N].
    pub log_a: Param<Tensor<2>>,
    /// B, [w, N].
    pub b: Param<Tensor<2>>,
    /// C, [w, N].
    pub c: Param<Tensor<2>>,
    /// D, the skip from input to output per channel, [w].
    pub d: Param<Tensor<1>>,
    pub output: Linear,
    pub gelu: Gelu,
}

impl S4d {
    pub fn new(w: usize, layers: usize, device: &Device) -> Self {
        let n = S4D_STATE;
        let (lo, hi) = (0.001f64.ln(), 0.1f64.ln());
        let log_a: Vec<f32> = (0..w)
            .flat_map(|_| (0..n).map(|i| ((i + 1) as f32).ln()))
            .collect();
        let mut output = LinearConfig::new(w, w)
            .with_initializer(Initializer::Normal {
                mean: 0.0,
                std: 0.02 / (2.0 * layers as f64).sqrt(),
            })
            .init(device);
        output.bias = Some(Initializer::Zeros.init_with([w], Some(w), Some(w), device));
        Self {
            log_dt: Param::from_tensor(Tensor::random([w], Distribution::Uniform(lo, hi), device)),
            log_a: Param::from_tensor(Tensor::from_data(TensorData::new(log_a, [w, n]), device)),
            b: Param::from_tensor(Tensor::ones([w, n], device)),
            c: Param::from_tensor(Tensor::random(
                [w, n],
                Distribution::Normal(0.0, 1.0),
                device,
            )),
            d: Param::from_tensor(Tensor::random([w], Distribution::Normal(0.0, 1.0), device)),
            output,
            gelu: Gelu::new(),
        }
    }

    /// The convolution kernel K_l = Σ_n C_n B̄_n Ā_n^l for lags l < s, [w, s].
    pub fn kernel(&self, s: usize) -> Tensor<2> {
        let [w, n] = self.log_a.dims();
        let device = self.log_a.device();
        // [w, 1] · [w, N]: Δ A, negative
        let a = -self.log_a.val().exp();
        let dta = a.clone() * self.log_dt.val().exp().reshape([w, 1]);
        // zero-order hold: B̄ = (exp(Δ A) − 1) / A · B, [w, N]
        let cb = self.c.val() * (dta.clone().exp() - 1.0) / a * self.b.val();
        // [1, 1, s]: the lags
        let lags = Tensor::<1, Int>::arange(0..s as i64, &device)
            .float()
            .reshape([1, 1, s]);
        // Ā^l = exp(l Δ A): [w, N, 1] · [1, 1, s] → [w, N, s], summed over the modes
        let powers = (dta.reshape([w, n, 1]) * lags).exp();
        (cb.reshape([w, n, 1]) * powers).sum_dim(1).reshape([w, s])
    }

    /// u: [b, s, w] → [b, s, w]
    pub fn forward(&self, u: Tensor<3>) -> Tensor<3> {
        let [_, s, w] = u.dims();
        let device = u.device();
        let k = self.kernel(s);
        // Toeplitz per channel: T[c, t, j] = K[c, t − j] for j ≤ t, 0 above the
        // diagonal. The lags t − j (clamped at 0 above it, then zeroed by tril) are
        // made on the device: [s, 1] − [1, s] → [s·s].
        let t = Tensor::<1, Int>::arange(0..s as i64, &device);
        let lag = (t.clone().reshape([s, 1]) - t.reshape([1, s]))
            .clamp_min(0)
            .reshape([s * s]);
        // [w, s·s] → [w, s, s], lower triangle
        let toeplitz = k.select(1, lag).reshape([w, s, s]).tril(0);
        // [w, s, s] · [w, s, b] → [w, s, b] → [b, s, w]
        let y = toeplitz
            .matmul(u.clone().permute([2, 1, 0]))
            .permute([2, 1, 0]);
        // + D u, [1, 1, w] broadcast
        let y = y + u * self.d.val().reshape([1, 1, w]);
        self.output.forward(self.gelu.forward(y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution is the recurrence: h_t = Ā h_{t−1} + B̄ u_t, y_t = C h_t + D u_t,
    /// stepped by hand in f64, gives the same outputs before GELU and the output map.
    #[test]
    fn s4d_convolution_equals_the_stepped_recurrence() {
        let device = Device::flex();
        let (w, s) = (3usize, 9usize);
        // Drawn (and read) under the seeded generator's lock.
        let layer = crate::model::seeded(3, |cpu| crate::model::materialized(S4d::new(w, 1, cpu)));
        let read = |t: Tensor<2>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let read1 = |t: Tensor<1>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let (log_a, b, c) = (
            read(layer.log_a.val()),
            read(layer.b.val()),
            read(layer.c.val()),
        );
        let (log_dt, d) = (read1(layer.log_dt.val()), read1(layer.d.val()));
        let u: Vec<f32> = (0..s * w).map(|i| ((i * 7) as f32 * 0.31).sin()).collect();
        let k = layer.kernel(s);
        let x = Tensor::<3>::from_data(TensorData::new(u.clone(), [1, s, w]), &device);
        // Without GELU and output: the convolution, from the kernel, + D u.
        let conv: Vec<f64> = {
            let k = read(k);
            (0..s)
                .flat_map(|t| {
                    let (k, u) = (&k, &u);
                    (0..w).map(move |ch| {
                        (0..=t)
                            .map(|j| k[ch * s + t - j] * u[j * w + ch] as f64)
                            .sum::<f64>()
                    })
                })
                .collect()
        };
        let n = S4D_STATE;
        for ch in 0..w {
            let dt = log_dt[ch].exp();
            let mut h = vec![0.0f64; n];
            for t in 0..s {
                let ut = u[t * w + ch] as f64;
                let mut y = 0.0;
                for m in 0..n {
                    let a = -log_a[ch * n + m].exp();
                    let abar = (dt * a).exp();
                    let bbar = (abar - 1.0) / a * b[ch * n + m];
                    h[m] = abar * h[m] + bbar * ut;
                    y += c[ch * n + m] * h[m];
                }
                let got = conv[t * w + ch];
                assert!(
                    (got - y).abs() < 1e-4 * (1.0 + y.abs()),
                    "channel {ch}, t = {t}: convolution {got} vs recurrence {y}"
                );
            }
        }
        // And the layer's forward is GELU(conv + D u) through the output map.
        let skip: Vec<f32> = (0..s * w)
            .map(|i| (conv[i] + d[i % w] * u[i] as f64) as f32)
            .collect();
        let skip = Tensor::<3>::from_data(TensorData::new(skip, [1, s, w]), &device);
        let want = read(
            layer
                .output
                .forward(layer.gelu.forward(skip))
                .reshape([s, w]),
        );
        let got = read(layer.forward(x).reshape([s, w]));
        for (g, e) in got.iter().zip(&want) {
            assert!((g - e).abs() < 1e-5, "forward {g} vs by hand {e}");
        }
    }
}
