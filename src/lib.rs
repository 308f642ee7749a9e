//! # ICL Lab core
//!
//! Train tiny transformers on in-context regression and compare them, prompt for
//! prompt, with the classical algorithms. The same code runs natively (the `icl-lab`
//! CLI) and in wasm (the browser lab): no files, clocks or threads in here.
//!
//! Module map (see ARCHITECTURE.md for the data flow):
//! - [`config`]: the one serde [`Experiment`](config::Experiment) config, validation,
//!   compact JSON for URLs, `--set` overrides; [`presets`]: named experiments.
//! - [`tasks`]: task families (one trait, one file each) and finite task pools.
//! - [`xdist`]: input distributions, in- and out-of-distribution.
//! - [`prompt`]: prompts and their token encodings (interleaved, concatenated).
//! - [`baselines`]: classical predictors behind one [`Predictor`](baselines::Predictor)
//!   trait.
//! - [`model`]: the GPT-2-style decoder (burn).
//! - [`train`]: the training loop, schedule, curriculum, divergence guard.
//! - [`eval`]: ICL curves of the model and the baselines on the same prompts.
//! - [`probes`]: ICL vs in-weights probes of classification runs.
//! - [`lens`]: inside the model: which algorithm it runs (implicit weights).
//! - [`sweep`]: one run per value of a field; the threshold curve's summary.
//! - [`checkpoint`]: model and optimizer bytes, in memory.

pub mod ablation;
pub mod baselines;
pub mod batch;
pub mod check;
pub mod checkpoint;
pub mod claims;
pub mod config;
pub mod curve;
pub mod data;
pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod figure;
#[cfg(feature = "trainer")]
pub mod fused;
pub mod lens;
pub mod memory;
pub mod metric;
#[cfg(feature = "trainer")]
pub mod model;
#[cfg(feature = "trainer")]
pub mod predict;
pub mod presets;
pub mod probes;
pub mod prompt;
#[cfg(feature = "trainer")]
pub mod recurrent;
#[cfg(all(feature = "trainer", not(target_arch = "wasm32")))]
pub mod reproduce;
pub mod seeds;
pub mod slurm;
pub mod sweep;
pub mod tasks;
#[cfg(feature = "trainer")]
pub mod train;
pub mod web;
pub mod xdist;

/// The RNG behind every random draw of data: seeded, portable, identical natively and
/// in wasm.
pub type IclRng = rand_chacha::ChaCha8Rng;

/// The files `icl-lab train` writes into a run directory (plus `eval_*.json` from
/// `icl-lab eval`): what the CLI clears with `--force` and what the browser reads
/// when a run directory is imported.
pub const RUN_FILES: &[&str] = &[
    "config.json",
    "metrics.jsonl",
    "eval.json",
    "eval_history.jsonl",
    "model.bin",
    "optimizer.bin",
    "checkpoint.json",
    "algorithms.json",
];
