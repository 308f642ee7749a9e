//! Lenses: what the trained model does inside, measured on the same prompts as the
//! baselines. [`algorithms`]: which learning algorithm it runs in context; [`lsa`]:
//! the linear self-attention model's weights beside the gradient-descent construction;
//! [`heads`]: per-head attention scores (prefix matching, previous token, copying)
//! and the ICL score on token sequences (the mechanism lens).

pub mod algorithms;
pub mod heads;
pub mod lsa;

/// The model as a function of encoded batches of any size, [sequence][k]
/// predictions (native: it blocks on the reads).
#[cfg(not(target_arch = "wasm32"))]
pub fn model_function<'a>(
    model: &'a crate::model::Transformer,
    device: &'a burn::tensor::Device,
) -> impl FnMut(&crate::batch::Batch) -> Vec<Vec<f64>> + 'a {
    let predictor = crate::predict::ModelPredictor {
        model,
        device: device.clone(),
        // Unused: the batch comes encoded.
        encoding: crate::config::Encoding::Concatenated,
    };
    move |batch: &crate::batch::Batch| {
        futures_lite::future::block_on(predictor.predict_batch(batch))
            .expect("native reads of the model's predictions")
    }
}
