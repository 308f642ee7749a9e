//! The trained model as a peer of the baselines: the same questions, asked of the
//! model through batched forward passes. Regression prompts give predictions at
//! every k ([`ModelPredictor`] is a [`Predictor`]), classification sequences give
//! labels, token sequences give losses, guesses and attention ([`TokenPass`]). Every
//! read is asynchronous (WebGPU in a browser allows only that); native callers block
//! on it.

use burn::tensor::{Device, Tensor};

#[cfg(not(target_arch = "wasm32"))]
use crate::baselines::Predictor;
use crate::batch::Batch;
use crate::config::Encoding;
use crate::lens::heads::TokenPass;
use crate::lens::lsa::HeadView;
use crate::memory::EVAL_CHUNK;
use crate::model::{ModelInput, Transformer};
use crate::prompt::Prompt;
use crate::tasks::classification::{ClassEncoding, ClassSequence};
use crate::tasks::induction::{TokenEncoding, TokenSequence};

/// The trained model as a [`Predictor`]: one batched forward pass per chunk.
pub struct ModelPredictor<'a> {
    pub model: &'a Transformer,
    pub device: Device,
    pub encoding: Encoding,
}

impl ModelPredictor<'_> {
    /// The prediction tensor [b, n] of an encoded batch. On the CPU the regression
    /// transformer runs on the fused engine's forward pass (the same function,
    /// several times faster than burn's; see `fused`).
    fn batch_tensor(&self, batch: &Batch) -> Tensor<2> {
        if crate::model::is_cpu(&self.device)
            && let Some(mut fused) = crate::fused::Fused::for_model(self.model)
        {
            let preds = fused.predict(batch);
            let shape = [batch.batch, batch.readout.len()];
            return Tensor::from_data(burn::tensor::TensorData::new(preds, shape), &self.device);
        }
        self.model
            .forward(&ModelInput::new(batch, &self.device))
            .predictions()
    }

    /// Predictions [sequence][k] for an encoded batch of any size (the lens's probe
    /// batch), in chunks.
    pub async fn predict_batch(&self, batch: &Batch) -> Result<Vec<Vec<f64>>, String> {
        let n = batch.readout.len();
        let mut out = Vec::with_capacity(batch.batch);
        for s in (0..batch.batch).step_by(EVAL_CHUNK) {
            let chunk = batch.slice(s, (s + EVAL_CHUNK).min(batch.batch));
            let data = read(self.batch_tensor(&chunk), "predictions").await?;
            out.extend(rows(data, n));
        }
        Ok(out)
    }

    /// Predictions [prompt][k] at every k, in chunks of [`EVAL_CHUNK`] prompts.
    pub async fn predictions(&self, prompts: &[Prompt]) -> Result<Vec<Vec<f64>>, String> {
        if !self.encoding.has_query_tokens() && prompts.iter().any(|p| p.queries.is_some()) {
            return self.predictions_asking(prompts).await;
        }
        let mut out = Vec::with_capacity(prompts.len());
        for chunk in prompts.chunks(EVAL_CHUNK) {
            let tensor = self.batch_tensor(&self.encoding.encode(chunk));
            out.extend(rows(read(tensor, "predictions").await?, chunk[0].points()));
        }
        Ok(out)
    }

    /// Predictions [prompt][k] for prompts with separate queries on interleaved
    /// tokens, where a query cannot have a token of its own in the one sequence
    /// (it would be context for the positions after it): one pass per k over the
    /// first k pairs and position k's query ([`Prompt::asking`]), read at the end.
    async fn predictions_asking(&self, prompts: &[Prompt]) -> Result<Vec<Vec<f64>>, String> {
        let n = prompts.first().map_or(0, Prompt::points);
        let mut out = vec![vec![0.0; n]; prompts.len()];
        for k in 0..n {
            let asked: Vec<Prompt> = prompts.iter().map(|p| p.asking(k)).collect();
            for (c, chunk) in asked.chunks(EVAL_CHUNK).enumerate() {
                let tensor = self.batch_tensor(&self.encoding.encode(chunk));
                for (i, row) in rows(read(tensor, "predictions").await?, k + 1)
                    .into_iter()
                    .enumerate()
                {
                    out[c * EVAL_CHUNK + i][k] = row[k];
                }
            }
        }
        Ok(out)
    }

    /// The model's label for each classification sequence.
    pub async fn classify(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Result<Vec<usize>, String> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(EVAL_CHUNK) {
            let input = ModelInput::new(&encoding.encode(chunk), &self.device);
            // [b, 1]: the most likely label at the query.
            let labels_at_query = self.model.forward(&input).logits().argmax(1);
            out.extend(labels(read(labels_at_query, "labels").await?));
        }
        Ok(out)
    }

    /// One chunk of token sequences through the model, read back.
    pub async fn token_pass(
        &self,
        encoding: &TokenEncoding,
        seqs: &[TokenSequence],
    ) -> Result<TokenPass, String> {
        let input = ModelInput::new(&encoding.encode(seqs), &self.device);
        let out = self.model.forward(&input);
        let crate::model::Targets::Tokens(next) = &input.targets else {
            unreachable!("a token batch has token targets")
        };
        let [b, n, _] = out.outputs.dims();
        // [b, n] each: cross-entropy and the most likely next token.
        let losses = crate::model::next_token_nll(out.outputs.clone(), next);
        let predicted = out.outputs.argmax(2).reshape([b, n]);
        let heads = out.attention.first().map_or(0, |a| a.dims()[1]);
        let losses = read(losses, "token losses").await?;
        let predicted = read(predicted, "token predictions").await?;
        let mut attention = Vec::with_capacity(out.attention.len());
        for a in out.attention {
            attention.push(f32s(read(a, "attention").await?));
        }
        Ok(TokenPass {
            losses: f32s(losses),
            predicted: labels(predicted),
            attention,
            heads,
        })
    }

    /// Attention per layer, row-major [b, h, s, s], on classification sequences.
    pub async fn class_attention(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Result<Vec<Vec<f32>>, String> {
        let input = ModelInput::new(&encoding.encode(seqs), &self.device);
        let mut out = Vec::new();
        for a in self.model.forward(&input).attention {
            out.push(f32s(read(a, "attention").await?));
        }
        Ok(out)
    }
}

/// Natively the model is also a [`Predictor`] like any baseline (blocking on the
/// reads; in a browser, WebGPU allows only awaited reads).
#[cfg(not(target_arch = "wasm32"))]
impl Predictor for ModelPredictor<'_> {
    fn name(&self) -> String {
        "model".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        self.predict_prompts(std::slice::from_ref(prompt))[0][k]
    }
    fn predict_prompts(&self, prompts: &[Prompt]) -> Vec<Vec<f64>> {
        futures_lite::future::block_on(self.predictions(prompts))
            .expect("native reads of the model's predictions")
    }
}

/// The model's OV circuits ([layer][head], [V, V]), read back.
pub async fn ov_matrices(model: &Transformer) -> Result<Vec<Vec<nalgebra::DMatrix<f64>>>, String> {
    let mut out = Vec::new();
    for layer in model.ov_circuits() {
        let mut heads = Vec::new();
        for m in layer {
            heads.push(to_matrix(read(m, "weights").await?));
        }
        out.push(heads);
    }
    Ok(out)
}

/// A tensor read back from its device (asynchronously: the only way WebGPU allows in
/// a browser; natively the future is ready at once on the CPU).
pub async fn read<const D: usize, K>(
    t: Tensor<D, K>,
    what: &str,
) -> Result<burn::tensor::TensorData, String>
where
    K: burn::tensor::kind::Basic,
{
    t.into_data_async()
        .await
        .map_err(|e| format!("reading the model's {what} failed: {e:?}"))
}

fn f32s(data: burn::tensor::TensorData) -> Vec<f32> {
    data.try_into_vec::<f32>().expect("f32 tensor")
}

/// A [r, c] tensor read back → a matrix.
pub fn to_matrix(data: burn::tensor::TensorData) -> nalgebra::DMatrix<f64> {
    let [r, c] = [data.shape()[0], data.shape()[1]];
    let v: Vec<f32> = data.try_into_vec::<f32>().expect("f32 matrix");
    nalgebra::DMatrix::from_row_iterator(r, c, v.into_iter().map(f64::from))
}

/// Label indices read back (the int type differs between backends).
fn labels(data: burn::tensor::TensorData) -> Vec<usize> {
    data.iter::<i64>().map(|v| v.max(0) as usize).collect()
}

/// Predictions [b, n] read back → one row of n predictions per prompt.
fn rows(data: burn::tensor::TensorData, n: usize) -> Vec<Vec<f64>> {
    let data: Vec<f32> = data.try_into_vec::<f32>().expect("f32 predictions");
    data.chunks(n)
        .map(|row| row.iter().map(|v| *v as f64).collect())
        .collect()
}

/// Reads the heads of a linear self-attention model. Empty for other models.
pub async fn lsa_view(model: &Transformer) -> Result<Vec<HeadView>, String> {
    let values = |data: burn::tensor::TensorData| -> Vec<f64> {
        let v: Vec<f32> = data.try_into_vec::<f32>().expect("f32 weights");
        v.into_iter().map(f64::from).collect()
    };
    let mut out = Vec::new();
    for (l, heads) in model.lsa_heads().into_iter().enumerate() {
        for (h, (kq, pv)) in heads.into_iter().enumerate() {
            let dim = kq.dims()[0];
            let kq = values(read(kq, "weights").await?);
            let pv = values(read(pv, "weights").await?);
            out.push(HeadView::new(l, h, dim, kq, pv));
        }
    }
    Ok(out)
}

/// The model as a function of encoded batches of any size, [sequence][k]
/// predictions (native: it blocks on the reads).
#[cfg(not(target_arch = "wasm32"))]
pub fn model_function<'a>(
    model: &'a Transformer,
    device: &'a Device,
) -> impl FnMut(&Batch) -> Vec<Vec<f64>> + 'a {
    let predictor = ModelPredictor {
        model,
        device: device.clone(),
        // Unused: the batch comes encoded.
        encoding: Encoding::Concatenated,
    };
    move |batch: &Batch| {
        futures_lite::future::block_on(predictor.predict_batch(batch))
            .expect("native reads of the model's predictions")
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, ModelKind};
    use crate::model::TransformerConfig;
    use crate::prompt::Queries;
    use nalgebra::{DMatrix, DVector};

    /// Interleaved tokens ask separate queries one position at a time. With the
    /// queries set to the prompt's own points, that path must give what the one
    /// causal pass gives (a prefix's positions are the same tokens either way);
    /// with other queries, position k must move and no other.
    #[test]
    fn separate_queries_on_interleaved_tokens_are_asked_one_position_at_a_time() {
        let model = crate::model::seeded(3, |cpu| {
            let model = TransformerConfig {
                model: ModelConfig {
                    kind: ModelKind::Transformer,
                    layers: 2,
                    heads: 2,
                    width: 16,
                    ..ModelConfig::default()
                },
                token_dim: 3,
                max_seq: 12,
                outputs: 1,
            }
            .init(cpu);
            crate::model::materialized(model)
        });
        let p = Prompt::new(
            DMatrix::from_fn(6, 3, |i, j| ((i * 3 + j) as f64 * 0.41).sin()),
            DVector::from_fn(6, |i, _| (i as f64 * 0.9).cos()),
        );
        let mp = ModelPredictor {
            model: &model,
            device: Device::flex(),
            encoding: Encoding::Interleaved,
        };
        let one_pass = Predictor::predict_prompts(&mp, std::slice::from_ref(&p));
        let mut own = p.clone();
        own.queries = Some(Queries {
            xs: p.xs.clone(),
            ys: p.ys.clone(),
        });
        let asked = Predictor::predict_prompts(&mp, std::slice::from_ref(&own));
        for k in 0..6 {
            assert!(
                (asked[0][k] - one_pass[0][k]).abs() < 1e-5,
                "k = {k}: {} vs {}",
                asked[0][k],
                one_pass[0][k]
            );
        }
        let mut moved = own.clone();
        moved.queries.as_mut().unwrap().xs[(3, 0)] += 2.0;
        let after = Predictor::predict_prompts(&mp, std::slice::from_ref(&moved));
        for k in 0..6 {
            let same = (after[0][k] - asked[0][k]).abs() < 1e-6;
            assert_eq!(same, k != 3, "k = {k}");
        }
    }
}
