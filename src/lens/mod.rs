//! Lenses: what the trained model does inside, measured on the same prompts as the
//! baselines. [`algorithms`]: which learning algorithm it runs in context.

pub mod algorithms;

use burn::tensor::Device;

use crate::model::{ModelInput, Transformer};
use crate::prompt::EncodedBatch;

/// The model as a function of encoded batches, [prompt][k] predictions (synchronous
/// reads: native, or the CPU backend).
pub fn model_function<'a>(
    model: &'a Transformer,
    device: &'a Device,
) -> impl FnMut(&EncodedBatch) -> Vec<Vec<f64>> + 'a {
    move |batch: &EncodedBatch| {
        let n = batch.readout.len();
        let data: Vec<f32> = model
            .forward(&ModelInput::new(batch, device))
            .predictions()
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 predictions");
        data.chunks(n)
            .map(|r| r.iter().map(|v| *v as f64).collect())
            .collect()
    }
}
