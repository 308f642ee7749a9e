//! How much memory a run needs, estimated from its config before anything is
//! allocated: the largest single tensor (attention scores or MLP activations, per
//! prompt), the training memory (activations kept for backward, weights, gradients,
//! Adam moments) and a classification run's class prototypes. [`check`] holds a run
//! to a [`Budget`] and names the field to lower and how far: the browser's budget is
//! `web::limits::BROWSER`. Also where the evaluation's chunk size lives, which both
//! the model's evaluation passes and the estimate use.

use crate::config::{ConfigError, Experiment, FieldError};

/// Prompts per evaluation forward pass (the model's evaluation passes go in chunks
/// of this many prompts, so an evaluation's largest tensor does not grow with
/// `eval.prompts`).
pub const EVAL_CHUNK: usize = 256;

/// What a place can hold, in bytes, and how to name it in messages.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Largest single tensor.
    pub max_tensor: usize,
    /// Training memory.
    pub max_train: usize,
    /// The classification family's class prototypes and probe peers.
    pub max_classes: usize,
    /// The data the run holds outside the model: the task pool's weight vectors and
    /// the evaluation prompts with every predictor's predictions.
    pub max_data: usize,
    /// "in a browser", "on this machine".
    pub place: &'static str,
    /// Why the largest tensor is capped there, for the message.
    pub tensor_cap: &'static str,
    /// What to do instead, for the message ("or run it natively with the CLI").
    pub instead: &'static str,
}

/// Floats of the largest tensor and of training memory, per prompt in the batch,
/// plus the weights.
pub struct Footprint {
    pub largest_per_prompt: usize,
    pub train_per_prompt: usize,
    pub weights: usize,
}

pub fn footprint(exp: &Experiment) -> Footprint {
    let m = &exp.model;
    let seq = exp.max_seq_len();
    let d_in = exp.token_dim();
    if m.kind == crate::config::ModelKind::Lsa {
        // von Oswald's linear self-attention on the tokens themselves: per layer the
        // query, key, value and output maps (d_in × d_in each, split among the heads),
        // no embedding, MLP or read-out.
        let scores = m.heads * seq * seq;
        return Footprint {
            largest_per_prompt: scores.max(seq * d_in * m.heads),
            train_per_prompt: m.layers * (seq * 4 * d_in * m.heads + 2 * scores) + seq * d_in,
            weights: 4 * exp.param_count(),
        };
    }
    let reddy = m.kind == crate::config::ModelKind::Reddy;
    // Weights, gradients and two Adam moments.
    let weights = 4 * exp.param_count();
    if m.kind.is_recurrent() {
        let hidden = if m.mlp { 4 * m.width } else { m.width };
        // Per position and layer, what backward keeps: the LSTM's four gates before
        // and after their activations and its cell (≈ 12 w; the GRU's three gates,
        // ≈ 9 w), the S4D layer's input, output and activation (≈ 4 w); the block's
        // residual and LayerNorm, and the MLP as in the transformer.
        let mixer = match m.kind {
            crate::config::ModelKind::Lstm => 12 * m.width,
            crate::config::ModelKind::Gru => 9 * m.width,
            _ => 4 * m.width,
        };
        let mlp = if m.mlp { 2 * m.width + 2 * hidden } else { 0 };
        // The S4D layer's kernel [w, N, s] and causal convolution matrix [w, s, s]
        // belong to the layer, not the batch: counted with the weights.
        let kernel = if m.kind == crate::config::ModelKind::S4d {
            m.layers * m.width * seq * (crate::config::S4D_STATE + 2 * seq)
        } else {
            0
        };
        return Footprint {
            largest_per_prompt: seq * hidden.max(4 * m.width),
            train_per_prompt: m.layers * seq * (2 * m.width + mixer + mlp)
                + seq * (d_in + 2 * m.width),
            weights: weights + kernel,
        };
    }
    let hidden = if m.mlp && !reddy {
        4 * m.width
    } else {
        m.width
    };
    let scores = m.heads * seq * seq;
    Footprint {
        largest_per_prompt: scores.max(seq * hidden),
        // Per layer: residual, layer-norm, q, k, v, attention out, MLP in/out (~8 × w),
        // the MLP hidden twice (pre- and post-GELU), the scores twice (pre/post softmax).
        train_per_prompt: m.layers * (seq * (8 * m.width + 2 * hidden) + 2 * scores)
            + seq * (d_in + 2 * m.width),
        weights,
    }
}

/// Ok when the run fits `budget`; otherwise the fields to lower.
pub fn check(exp: &Experiment, budget: &Budget) -> Result<(), ConfigError> {
    let f = footprint(exp);
    let batch = exp.train.batch;
    let eval_batch = exp.eval.prompts.min(EVAL_CHUNK);
    let mut errors = Vec::new();
    let largest = 4 * f.largest_per_prompt * batch.max(eval_batch);
    if largest > budget.max_tensor {
        let most = budget.max_tensor / (4 * f.largest_per_prompt).max(1);
        errors.push(FieldError {
            field: "train.batch".into(),
            value: batch.to_string(),
            allowed: format!(
                "at most {most} for this model {}: its largest tensor (attention \
                 scores or MLP activations) would be {} MiB, over the {} MiB {}; lower \
                 train.batch, task.points or model.heads{}",
                budget.place,
                largest >> 20,
                budget.max_tensor >> 20,
                budget.tensor_cap,
                budget.instead,
            ),
        });
    }
    let total = 4 * (f.train_per_prompt * batch + f.weights);
    if total > budget.max_train {
        let most = (budget.max_train / 4).saturating_sub(f.weights) / f.train_per_prompt.max(1);
        errors.push(FieldError {
            field: if most == 0 {
                "model.width"
            } else {
                "train.batch"
            }
            .into(),
            value: if most == 0 { exp.model.width } else { batch }.to_string(),
            allowed: format!(
                "training would need about {} MiB, over the {} MiB it can have {}; {}{}",
                total >> 20,
                budget.max_train >> 20,
                budget.place,
                if most == 0 {
                    "lower model.width or model.layers".to_string()
                } else {
                    format!("use train.batch ≤ {most}, or a smaller model")
                },
                budget.instead,
            ),
        });
    }
    if let crate::tasks::Shape::Classification(c) = exp.task.family.shape() {
        // Prototypes, plus the unit-norm copy the class-lookup peer keeps.
        let bytes = 2 * 8 * c.classes * exp.task.dims;
        if bytes > budget.max_classes {
            let most = budget.max_classes / (16 * exp.task.dims.max(1));
            errors.push(FieldError {
                field: "task.family.classes".into(),
                value: c.classes.to_string(),
                allowed: format!(
                    "at most {most} at d = {} {}: {} classes' prototypes would take {} \
                     MiB, over {} MiB; lower task.family.classes or task.dims{}",
                    exp.task.dims,
                    budget.place,
                    c.classes,
                    bytes >> 20,
                    budget.max_classes >> 20,
                    budget.instead,
                ),
            });
        }
    }
    // The task pool: M weight vectors of d doubles (a pool of 2^30 once asked for
    // 80 GB at once).
    if let Some(m) = exp.task.pool {
        let bytes = m.saturating_mul(8 * exp.task.dims.max(1));
        if bytes > budget.max_data {
            errors.push(FieldError {
                field: "task.pool".into(),
                value: m.to_string(),
                allowed: format!(
                    "at most {} at d = {} {}: the pool's weight vectors would take {} MiB, \
                     over {} MiB{}",
                    budget.max_data / (8 * exp.task.dims.max(1)),
                    exp.task.dims,
                    budget.place,
                    bytes >> 20,
                    budget.max_data >> 20,
                    budget.instead,
                ),
            });
        }
    }
    let per_prompt = eval_bytes_per_prompt(exp);
    let bytes = exp.eval.prompts.saturating_mul(per_prompt);
    if bytes > budget.max_data {
        errors.push(FieldError {
            field: "eval.prompts".into(),
            value: exp.eval.prompts.to_string(),
            allowed: format!(
                "at most {} for prompts of {} points {}: the evaluation would hold {} MiB \
                 of prompts and predictions, over {} MiB{}",
                budget.max_data / per_prompt.max(1),
                exp.task.points,
                budget.place,
                bytes >> 20,
                budget.max_data >> 20,
                budget.instead,
            ),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(errors))
    }
}

/// Bytes an evaluation holds per prompt, over all its sets: x and y (doubles) and
/// the predictions of the model and of up to 8 baselines at every position.
fn eval_bytes_per_prompt(exp: &Experiment) -> usize {
    // Fresh and pool tasks (or a mixture's two tasks), each noise level, each
    // out-of-distribution set (as `EvalSet::for_experiment` lists them).
    let noise = match &exp.task.family {
        crate::tasks::TaskFamilyConfig::NoisyLinear { noise } if noise.len() > 1 => noise.len(),
        _ => 0,
    };
    let sets = 2 + noise + exp.eval.ood.len();
    let per_point = 8 * (exp.task.dims + 1) + 8 * (1 + 8);
    sets.saturating_mul(exp.task.points.saturating_mul(per_point))
}

/// What a machine with `available` bytes of free memory can give a run natively:
/// training three quarters of it, one tensor and the data each half.
pub fn native_budget(available: usize) -> Budget {
    Budget {
        max_tensor: available / 2,
        max_train: available / 4 * 3,
        max_classes: available / 2,
        max_data: available / 2,
        place: "on this machine",
        tensor_cap: "half of the memory free here",
        instead: "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_and_evaluations_too_large_are_refused_by_field() {
        let small = native_budget(4 << 30);
        let mut e = crate::presets::preset("task-diversity-threshold").unwrap();
        assert!(check(&e, &small).is_ok());
        e.task.pool = Some(1 << 30);
        let err = check(&e, &small).unwrap_err().to_string();
        assert!(
            err.contains("task.pool = 1073741824") && err.contains("MiB"),
            "{err}"
        );
        assert!(!err.contains("  "), "{err}");
        e.task.pool = Some(4);
        e.eval.prompts = 100_000;
        e.task.points = 256;
        let err = check(&e, &small).unwrap_err().to_string();
        assert!(err.contains("eval.prompts = 100000"), "{err}");
        // The message reads as one sentence (a broken line continuation once left a
        // run of spaces in it).
        assert!(!err.contains("  "), "{err}");
        // The suggested count fits.
        let most: usize = err
            .split("at most ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        e.eval.prompts = most;
        assert!(check(&e, &small).is_ok(), "{:?}", check(&e, &small));
    }
}
