//! What a browser tab can hold. The core's limits (`config::limits`) are generous for
//! native runs; a tab has one WebGPU device whose buffers are often capped at 128 MiB
//! each and a wasm heap of 4 GiB at most. This refuses, before anything is allocated,
//! a model and batch whose largest tensor or whose training memory would not fit,
//! naming the field to lower and how far. Platform-neutral.

use crate::config::{ConfigError, Experiment, FieldError};

/// Largest single tensor, in bytes: WebGPU's default maxStorageBufferBindingSize.
pub const MAX_TENSOR_BYTES: usize = 128 << 20;
/// Training memory (activations kept for backward, weights, Adam moments), in bytes.
pub const MAX_TRAIN_BYTES: usize = 1 << 30;
/// The classification family's class prototypes (K × D doubles) and probe peers.
pub const MAX_CLASS_BYTES: usize = 256 << 20;
/// Prompts per evaluation forward pass (`eval::EVAL_CHUNK`).
const EVAL_CHUNK: usize = 256;

/// Floats of the largest tensor and of training memory, per prompt in the batch,
/// plus the weights.
struct Footprint {
    largest_per_prompt: usize,
    train_per_prompt: usize,
    weights: usize,
}

fn footprint(exp: &Experiment) -> Footprint {
    let m = &exp.model;
    let seq = exp.max_seq_len();
    let d_in = exp.token_dim();
    let reddy = m.kind == crate::config::ModelKind::Reddy;
    let hidden = if m.mlp && !reddy {
        4 * m.width
    } else {
        m.width
    };
    let scores = m.heads * seq * seq;
    let per_layer_weights = 4 * m.width * m.width
        + if hidden > m.width {
            8 * m.width * m.width
        } else {
            0
        };
    // Reddy's classifier head (4w × 4w) and the read-out (one per label).
    let head = if reddy { 20 * m.width * m.width } else { 0 } + 4 * m.width * exp.outputs();
    Footprint {
        largest_per_prompt: scores.max(seq * hidden),
        // Per layer: residual, layer-norm, q, k, v, attention out, MLP in/out (~8 × w),
        // the MLP hidden twice (pre- and post-GELU), the scores twice (pre/post softmax).
        train_per_prompt: m.layers * (seq * (8 * m.width + 2 * hidden) + 2 * scores)
            + seq * (d_in + 2 * m.width),
        // Weights, gradients and two Adam moments.
        weights: 4 * (m.layers * per_layer_weights + seq * m.width + d_in * m.width + head),
    }
}

/// Ok when the run fits a browser tab; otherwise the fields to lower.
pub fn check_browser(exp: &Experiment) -> Result<(), ConfigError> {
    let f = footprint(exp);
    let batch = exp.train.batch;
    let eval_batch = exp.eval.prompts.min(EVAL_CHUNK);
    let mut errors = Vec::new();
    let largest = 4 * f.largest_per_prompt * batch.max(eval_batch);
    if largest > MAX_TENSOR_BYTES {
        let most = MAX_TENSOR_BYTES / (4 * f.largest_per_prompt).max(1);
        errors.push(FieldError {
            field: "train.batch".into(),
            value: batch.to_string(),
            allowed: format!(
                "at most {most} for this model in a browser: its largest tensor (attention \
                 scores or MLP activations) would be {} MiB, over the {} MiB a WebGPU \
                 buffer holds; lower train.batch, task.points or model.heads, or run it \
                 natively with the CLI",
                largest >> 20,
                MAX_TENSOR_BYTES >> 20
            ),
        });
    }
    let total = 4 * (f.train_per_prompt * batch + f.weights);
    if total > MAX_TRAIN_BYTES {
        let most = (MAX_TRAIN_BYTES / 4).saturating_sub(f.weights) / f.train_per_prompt.max(1);
        errors.push(FieldError {
            field: if most == 0 {
                "model.width"
            } else {
                "train.batch"
            }
            .into(),
            value: if most == 0 { exp.model.width } else { batch }.to_string(),
            allowed: format!(
                "training would need about {} MiB, over the {} MiB a browser tab can give it; \
                 {}, or run it natively with the CLI",
                total >> 20,
                MAX_TRAIN_BYTES >> 20,
                if most == 0 {
                    "lower model.width or model.layers".to_string()
                } else {
                    format!("use train.batch ≤ {most}, or a smaller model")
                }
            ),
        });
    }
    if let crate::tasks::Shape::Classification(c) = exp.task.family.shape() {
        // Prototypes, plus the unit-norm copy the class-lookup peer keeps.
        let bytes = 2 * 8 * c.classes * exp.task.dims;
        if bytes > MAX_CLASS_BYTES {
            let most = MAX_CLASS_BYTES / (16 * exp.task.dims.max(1));
            errors.push(FieldError {
                field: "task.family.classes".into(),
                value: c.classes.to_string(),
                allowed: format!(
                    "at most {most} at d = {} in a browser: {} classes' prototypes would \
                     take {} MiB, over {} MiB; lower task.family.classes or task.dims, or \
                     run it natively with the CLI",
                    exp.task.dims,
                    c.classes,
                    bytes >> 20,
                    MAX_CLASS_BYTES >> 20
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::PRESETS;

    #[test]
    fn too_many_classes_for_a_tab_are_refused_by_field() {
        let mut e = crate::presets::preset("zipf-coexistence").unwrap();
        assert!(check_browser(&e).is_ok());
        e = e
            .with_overrides(&["task.family.classes=1048576", "task.dims=64"])
            .unwrap();
        let Err(ConfigError::Invalid(errs)) = check_browser(&e) else {
            panic!("a million 64-d prototypes should be refused")
        };
        let msg = errs[0].to_string();
        assert!(msg.contains("task.family.classes = 1048576"), "{msg}");
        assert!(msg.contains("at most 262144 at d = 64"), "{msg}");
    }

    #[test]
    fn every_browser_preset_fits_and_a_huge_model_is_refused_by_field() {
        for p in PRESETS.iter().filter(|p| p.name != "garg-linear") {
            let e = (p.build)();
            assert!(
                check_browser(&e).is_ok(),
                "{}: {:?}",
                p.name,
                check_browser(&e)
            );
        }
        let mut e = Experiment::default();
        e.task.points = 256;
        e.model.width = 1024;
        e.model.heads = 16;
        e.model.layers = 24;
        e.train.batch = 4096;
        assert!(e.validate().is_ok(), "within the native limits");
        let Err(ConfigError::Invalid(errs)) = check_browser(&e) else {
            panic!("should be refused")
        };
        assert!(errs.iter().any(|f| f.field == "train.batch"), "{errs:?}");
        assert!(errs[0].to_string().contains("MiB"), "{}", errs[0]);
        // The suggested batch fits (for the buffer cap).
        let most: usize = errs[0]
            .allowed
            .split_whitespace()
            .nth(2)
            .unwrap()
            .parse()
            .unwrap();
        e.train.batch = most.max(1);
        e.eval.prompts = most.max(2);
        let f = footprint(&e);
        assert!(4 * f.largest_per_prompt * most <= MAX_TENSOR_BYTES);
    }
}
