//! What a browser tab can hold. The core's limits (`config::limits`) are generous for
//! native runs; a tab has one WebGPU device whose buffers are often capped at 128 MiB
//! each and a wasm heap of 4 GiB at most. [`check_browser`] refuses, before anything
//! is allocated, a model and batch whose largest tensor or whose training memory
//! would not fit (the estimate is the core's, [`crate::memory`]), naming the field to
//! lower and how far. Platform-neutral.

use crate::config::{ConfigError, Experiment};
#[cfg(test)]
use crate::memory::footprint;
use crate::memory::{Budget, check};

/// Largest single tensor, in bytes: WebGPU's default maxStorageBufferBindingSize.
pub const MAX_TENSOR_BYTES: usize = 128 << 20;
/// Training memory (activations kept for backward, weights, Adam moments), in bytes.
pub const MAX_TRAIN_BYTES: usize = 1 << 30;
/// The classification family's class prototypes (K × D doubles) and probe peers.
pub const MAX_CLASS_BYTES: usize = 256 << 20;

/// The task pool and the evaluation's prompts and predictions.
pub const MAX_DATA_BYTES: usize = 512 << 20;

/// A browser tab's budget.
pub const BROWSER: Budget = Budget {
    max_tensor: MAX_TENSOR_BYTES,
    max_train: MAX_TRAIN_BYTES,
    max_classes: MAX_CLASS_BYTES,
    max_data: MAX_DATA_BYTES,
    place: "in a browser",
    tensor_cap: "a WebGPU buffer holds",
    instead: ", or run it natively with the CLI",
};

/// Ok when the run fits a browser tab; otherwise the fields to lower.
pub fn check_browser(exp: &Experiment) -> Result<(), ConfigError> {
    check(exp, &BROWSER)
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
