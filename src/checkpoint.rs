//! Checkpoints as bytes: burn's burnpack record of the weights, the optimizer state,
//! and where the run stood. Where the bytes go (a run directory, IndexedDB) is the
//! caller's business.

use serde::{Deserialize, Serialize};

#[cfg(feature = "trainer")]
pub use weights::{model_from_bytes, model_to_bytes, model_to_cpu_async, non_finite_parameters};

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

/// The weights as bytes and back (the trainer's build only: it needs burn).
#[cfg(feature = "trainer")]
mod weights {
    use burn::module::Module;
    use burn::store::ModuleRecord;
    use burn::tensor::{Bytes, Device};

    use super::CheckpointError;
    use crate::config::Experiment;
    use crate::model::{Transformer, init_model};

    /// Serialises the weights.
    pub fn model_to_bytes(model: Transformer) -> Result<Vec<u8>, CheckpointError> {
        model
            .into_record()
            .into_bytes()
            .map(|b| b.to_vec())
            .map_err(|e| CheckpointError::Read(e.to_string()))
    }

    /// How many of the model's parameter tensors hold a NaN or an infinity (a
    /// corrupted `model.bin` loads without complaint and predicts NaN). Reads every
    /// parameter back synchronously: native or CPU models only.
    pub fn non_finite_parameters(model: &Transformer) -> usize {
        use burn::module::{ModuleVisitor, Param};
        use burn::tensor::Tensor;
        struct Count(usize);
        impl ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                // NaN and ±∞ survive a sum (∞ − ∞ is NaN); finite weights stay finite.
                let total: f32 = param.val().sum().into_scalar();
                if !total.is_finite() {
                    self.0 += 1;
                }
            }
        }
        let mut count = Count(0);
        model.visit(&mut count);
        count.0
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

    /// A copy of `model` on the CPU backend, its weights read asynchronously: how a
    /// browser checkpoints a WebGPU model (burn writes records with synchronous device
    /// reads, which WebGPU in wasm refuses). [`model_to_bytes`] of the copy gives the
    /// same bytes as of the original.
    pub async fn model_to_cpu_async(
        exp: &Experiment,
        model: &Transformer,
    ) -> Result<Transformer, CheckpointError> {
        use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
        use burn::tensor::{Tensor, TensorData};

        /// Every float parameter (its id, and its values flattened), in visiting order.
        struct Collect(Vec<(ParamId, Tensor<1>)>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                let t = param.val();
                let n = t.shape().num_elements();
                self.0.push((param.id, t.reshape([n])));
            }
        }
        /// Sets every float parameter of a CPU model from `data`, in the same order.
        struct Fill {
            data: std::collections::VecDeque<(ParamId, TensorData)>,
            device: Device,
            missing: bool,
        }
        impl ModuleMapper for Fill {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let Some((id, data)) = self.data.pop_front() else {
                    self.missing = true;
                    return param;
                };
                let dims = param.val().dims();
                if data.num_elements() != dims.iter().product::<usize>() {
                    self.missing = true;
                    return param;
                }
                // The original's id: a checkpoint names its tensors by parameter id.
                Param::initialized(id, Tensor::<1>::from_data(data, &self.device).reshape(dims))
            }
        }

        let mut collect = Collect(Vec::new());
        model.visit(&mut collect);
        let mut data = std::collections::VecDeque::new();
        for (id, t) in collect.0 {
            let values = t
                .into_data_async()
                .await
                .map_err(|e| CheckpointError::Read(format!("{e:?}")))?;
            data.push_back((id, values));
        }
        let device = Device::flex();
        let count = data.len();
        let mut fill = Fill {
            data,
            device: device.clone(),
            missing: false,
        };
        let cpu = init_model(exp, &device).map(&mut fill);
        if fill.missing || !fill.data.is_empty() {
            return Err(CheckpointError::Mismatch(format!(
                "the model's {count} weight tensors do not match the config's model"
            )));
        }
        Ok(cpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    use crate::baselines::Predictor;
    use crate::config::Experiment;
    use crate::eval::{EvalSet, eval_prompts};
    use crate::model::init_model;
    use crate::predict::ModelPredictor;

    #[test]
    fn weights_round_trip_and_mismatch_is_reported() {
        let mut e = Experiment::default();
        e.model.layers = 1;
        e.eval.prompts = 4;
        let dev = Device::flex();
        e.seed = 3;
        let model = init_model(&e, &dev);
        let src = crate::seeds::task_source(&e);
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
        // The asynchronous CPU copy (a browser's WebGPU checkpoint) writes the same bytes.
        let copy = futures_lite::future::block_on(model_to_cpu_async(&e, &loaded)).unwrap();
        assert_eq!(model_to_bytes(copy).unwrap(), bytes);
        e.model.width = 32;
        assert!(futures_lite::future::block_on(model_to_cpu_async(&e, &loaded)).is_err());
        assert!(model_from_bytes(&e, bytes, &dev).is_err());
        assert!(model_from_bytes(&e, vec![1, 2, 3], &dev).is_err());
    }

    /// Bytes that load but hold NaN (a corrupted file) are counted, so the CLI can
    /// refuse them instead of printing NaN errors with success.
    #[test]
    fn non_finite_weights_are_found() {
        struct Poison;
        impl burn::module::ModuleMapper for Poison {
            fn map_float<const D: usize>(
                &mut self,
                param: burn::module::Param<burn::tensor::Tensor<D>>,
            ) -> burn::module::Param<burn::tensor::Tensor<D>> {
                let id = param.id;
                let shape = param.val().shape();
                let nan = param.val().mask_fill(
                    burn::tensor::Tensor::<D, burn::tensor::Bool>::full(
                        shape,
                        true,
                        &Device::flex(),
                    ),
                    f32::NAN,
                );
                burn::module::Param::initialized(id, nan)
            }
        }
        use burn::module::Module;
        let mut e = Experiment::default();
        e.model.layers = 1;
        let dev = Device::flex();
        let model = init_model(&e, &dev);
        assert_eq!(non_finite_parameters(&model), 0);
        let bytes = model_to_bytes(model.map(&mut Poison)).unwrap();
        let loaded = model_from_bytes(&e, bytes, &dev).unwrap();
        assert!(non_finite_parameters(&loaded) > 0);
    }
}
