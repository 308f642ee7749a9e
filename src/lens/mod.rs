//! Lenses: what the trained model does inside, measured on the same prompts as the
//! baselines. [`algorithms`]: which learning algorithm it runs in context; [`lsa`]:
//! the linear self-attention model's weights beside the gradient-descent construction;
//! [`heads`]: per-head attention scores (prefix matching, previous token, copying)
//! and the ICL score on token sequences (the mechanism lens).

pub mod algorithms;
pub mod heads;
pub mod lsa;

use burn::tensor::Device;

use crate::config::Encoding;
use crate::eval::ModelPredictor;
use crate::model::Transformer;
use crate::prompt::EncodedBatch;

/// The model as a function of encoded batches of any size, [sequence][k]
/// predictions (synchronous reads: native, or the CPU backend).
pub fn model_function<'a>(
    model: &'a Transformer,
    device: &'a Device,
) -> impl FnMut(&EncodedBatch) -> Vec<Vec<f64>> + 'a {
    let predictor = ModelPredictor {
        model,
        device: device.clone(),
        // Unused: the batch comes encoded.
        encoding: Encoding::Concatenated,
    };
    move |batch: &EncodedBatch| predictor.predict_batch(batch)
}
