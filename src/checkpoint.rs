//! Checkpoints as bytes: burn's burnpack record of the weights, the optimizer state,
//! and where the run stood. Where the bytes go (a run directory, IndexedDB) is the
//! caller's business.

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use crate::config::Experiment;
use crate::model::Transformer;
use crate::train::init_model;

/// A whole checkpoint in memory (see `Trainer::checkpoint` and `Trainer::resume`).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Steps done.
    pub step: usize,
    /// Word position of the training prompt stream.
    pub rng_position: u128,
    /// burnpack weights.
    pub model: Vec<u8>,
    /// burn's optimizer record.
    pub optimizer: Vec<u8>,
}

/// Where a checkpointed run stood.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CheckpointState {
    /// Steps done.
    pub step: usize,
    /// Position of the training prompt stream (a u128, as a decimal string so that
    /// JavaScript can carry it).
    pub rng_position: String,
    /// Set when the run stopped on a non-finite loss: the weights are those of `step`.
    pub diverged: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint weights could not be read: {0}")]
    Read(String),
    #[error("checkpoint weights do not fit this config's model: {0}")]
    Mismatch(String),
}

/// Serialises the weights.
pub fn model_to_bytes(model: Transformer) -> Result<Vec<u8>, CheckpointError> {
    model
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| CheckpointError::Read(e.to_string()))
}

/// Builds the experiment's model on `device` and loads the weights into it.
pub fn model_from_bytes(
    exp: &Experiment,
    bytes: Vec<u8>,
    device: &Device,
) -> Result<Transformer, CheckpointError> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| CheckpointError::Read(e.to_string()))?;
    init_model(exp, device)
        .try_load_record(record)
        .map_err(|e| CheckpointError::Mismatch(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::Predictor;
    use crate::eval::{EvalSet, ModelPredictor, eval_prompts};

    #[test]
    fn weights_round_trip_and_mismatch_is_reported() {
        let mut e = Experiment::default();
        e.model.layers = 1;
        e.eval.prompts = 4;
        let dev = Device::flex();
        e.seed = 3;
        let model = init_model(&e, &dev);
        let src = crate::train::task_source(&e);
        let prompts = eval_prompts(&e, &src, EvalSet::Fresh, &e.x_dist);
        let before = ModelPredictor {
            model: &model,
            device: dev.clone(),
            encoding: e.task.encoding,
        }
        .predict_prompts(&prompts);
        let bytes = model_to_bytes(model).unwrap();
        e.seed = 4; // a different init, overwritten by the load
        let loaded = model_from_bytes(&e, bytes.clone(), &dev).unwrap();
        let after = ModelPredictor {
            model: &loaded,
            device: dev.clone(),
            encoding: e.task.encoding,
        }
        .predict_prompts(&prompts);
        assert_eq!(before, after);
        e.model.width = 32;
        assert!(model_from_bytes(&e, bytes, &dev).is_err());
        assert!(model_from_bytes(&e, vec![1, 2, 3], &dev).is_err());
    }
}
