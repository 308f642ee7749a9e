//! Evaluation: the ICL curve.
//!
//! The same evaluation prompts go to the model and to every baseline; the squared
//! error of each prediction, divided by d, is averaged over prompts at every context
//! length k, with its standard error. Prompts come from fresh tasks and, when the
//! training pool is finite, from pool tasks too. Each curve set also says how far
//! the model's predictions are from each baseline's (which algorithm does it run?).
//!
//! Classification runs are evaluated by probes instead ([`crate::probes`]).

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::baselines::{BaselineContext, Predictor};
use crate::config::{Encoding, Experiment};
use crate::lens::algorithms::{AlgorithmMatch, LensPlan};
use crate::lens::heads::{AttentionSnapshot, HeadScore, TokenPass, TokenPlan, TokenReport};
use crate::lens::lsa::{HeadView, lsa_view};
use crate::model::{HeadAblation, ModelInput, Transformer};
use crate::probes::{ProbePlan, ProbeResult};
use crate::prompt::{EncodedBatch, Prompt, PromptSampler};
use crate::tasks::classification::{ClassEncoding, ClassSequence};
use crate::tasks::induction::{TokenEncoding, TokenSequence};
use crate::tasks::{
    LinearClassification, LinearRegression, NoisyLinearRegression, TaskFamilyConfig, TaskSource,
};
use crate::train::{class_world, rng_for, streams};
use crate::xdist::XDistConfig;

/// Mean and standard error at each k.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Curve {
    pub mean: Vec<f64>,
    pub stderr: Vec<f64>,
}

impl Curve {
    /// Mean and standard error of the samples at each k (`samples[k]`).
    pub fn from_samples(samples: &[Vec<f64>]) -> Curve {
        let (mut mean, mut stderr) = (Vec::new(), Vec::new());
        for xs in samples {
            let count = xs.len().max(1) as f64;
            let m = xs.iter().sum::<f64>() / count;
            let var = xs.iter().map(|e| (e - m).powi(2)).sum::<f64>() / (count - 1.0).max(1.0);
            mean.push(m);
            stderr.push((var / count).sqrt());
        }
        Curve { mean, stderr }
    }
}

/// One evaluation distribution: k and one curve per predictor.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvalCurves {
    /// `fresh` (new tasks) or `pool` (tasks from the training pool).
    pub name: String,
    /// The x-distribution the prompts were drawn from.
    pub x_dist: String,
    pub k: Vec<usize>,
    pub curves: BTreeMap<String, Curve>,
    /// baseline → mean over prompts and k ≥ 1 of (model's prediction − baseline's)²/d:
    /// how closely the model behaves like each algorithm (Akyürek's squared
    /// prediction difference), whatever the errors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distance: BTreeMap<String, f64>,
}

/// `eval.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct EvalReport {
    pub dims: usize,
    /// Training steps done when this was evaluated.
    pub step: usize,
    /// ICL curves (regression runs).
    pub evals: Vec<EvalCurves>,
    /// Probe accuracies (classification runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeResult>,
    /// Which algorithm the model matches at each k, on the first few fresh prompts
    /// ([`lens_prompts`]: 32, fewer for large d) for families linear in x.
    ///
    /// [`lens_prompts`]: crate::lens::algorithms::lens_prompts
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<AlgorithmMatch>,
    /// The linear self-attention model's heads beside the GD construction
    /// (`model.kind = lsa`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lsa: Vec<HeadView>,
    /// Token runs (`task.family.kind = induction`): next-token loss by position, the
    /// ICL score and every head's scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenReport>,
    /// Per attention head: prefix matching (token runs: attention to the tokens after
    /// earlier occurrences of the current one; classification: from the query to
    /// the labels of its class's exemplars), previous token, copying.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heads: Vec<HeadScore>,
    /// What a head attending uniformly would score on the same sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform_prefix_matching: Option<f64>,
    /// The attention patterns of a few evaluation sequences (token and
    /// classification runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<AttentionSnapshot>,
    /// The heads ablated when this was evaluated (empty: the model as trained).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ablated: Vec<HeadAblation>,
}

impl EvalReport {
    pub fn eval(&self, name: &str) -> Option<&EvalCurves> {
        self.evals.iter().find(|e| e.name == name)
    }

    pub fn probe(&self, name: &str) -> Option<&ProbeResult> {
        self.probes.iter().find(|p| p.name == name)
    }

    /// The head with the highest prefix-matching score.
    pub fn best_induction_head(&self) -> Option<&HeadScore> {
        crate::lens::heads::best_induction_head(&self.heads)
    }

    /// The moment in-context learning is unmistakable, the lab's headline ("time to
    /// ICL"): on fresh tasks the model's error at the last position is below half of
    /// the averaging baseline's. `None` when the report has no such curves
    /// (classification and token runs).
    pub fn beats_averaging(&self) -> Option<bool> {
        let fresh = self.eval("fresh")?;
        let model = fresh.curves.get("model")?.mean.last()?;
        let avg = fresh.curves.get("averaging")?.mean.last()?;
        Some(*model < 0.5 * avg)
    }
}

/// Which tasks the evaluation prompts come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EvalSet {
    Fresh,
    Pool,
    /// Fresh tasks at one noise level of a mixture (Bai's algorithm selection): the
    /// level's index in `task.family.noise` and its σ.
    Noise(usize, f64),
    /// One task of the regression + classification mixture on its own: 0 =
    /// regression, 1 = classification.
    Task(usize),
}

impl EvalSet {
    /// `fresh`, `pool`, or `sigma=<σ>`.
    pub fn name(self) -> String {
        match self {
            EvalSet::Fresh => "fresh".into(),
            EvalSet::Pool => "pool".into(),
            EvalSet::Noise(_, s) => format!("sigma={s}"),
            EvalSet::Task(0) => "regression".into(),
            EvalSet::Task(_) => "classification".into(),
        }
    }

    /// The random stream of the set's prompts.
    fn stream(self) -> u64 {
        match self {
            EvalSet::Fresh => streams::EVAL * 16,
            EvalSet::Pool => streams::EVAL * 16 + 1,
            EvalSet::Noise(i, _) => streams::EVAL * 1000 + i as u64,
            EvalSet::Task(i) => streams::EVAL * 2000 + i as u64,
        }
    }

    /// The sets an experiment is evaluated on: fresh tasks; pool tasks when the pool
    /// is finite; each noise level on its own when the family mixes several.
    pub fn for_experiment(exp: &Experiment) -> Vec<EvalSet> {
        let mut sets = vec![EvalSet::Fresh];
        if exp.task.pool.is_some() {
            sets.push(EvalSet::Pool);
        }
        if let TaskFamilyConfig::NoisyLinear { noise } = &exp.task.family
            && noise.len() > 1
        {
            sets.extend(noise.iter().enumerate().map(|(i, s)| EvalSet::Noise(i, *s)));
        }
        if let TaskFamilyConfig::RegressionClassification { .. } = &exp.task.family {
            sets.extend([EvalSet::Task(0), EvalSet::Task(1)]);
        }
        sets
    }
}

/// Evaluation prompts: full size, seeded from the experiment's evaluation stream
/// (one sub-stream per set), so every evaluation of a run sees the same prompts.
pub fn eval_prompts(
    exp: &Experiment,
    source: &TaskSource,
    set: EvalSet,
    x_dist: &XDistConfig,
) -> Vec<Prompt> {
    let family: Box<dyn crate::tasks::TaskFamily> = match set {
        EvalSet::Noise(_, sigma) => Box::new(NoisyLinearRegression {
            levels: vec![sigma],
        }),
        EvalSet::Task(0) => Box::new(LinearRegression),
        EvalSet::Task(_) => Box::new(LinearClassification),
        _ => exp
            .task
            .family
            .family()
            .expect("regression prompts need a regression family"),
    };
    let dist = x_dist.distribution();
    let fresh = TaskSource::Fresh;
    let sampler = PromptSampler {
        family: family.as_ref(),
        source: match set {
            EvalSet::Pool => source,
            EvalSet::Fresh | EvalSet::Noise(..) | EvalSet::Task(_) => &fresh,
        },
        x_dist: dist.as_ref(),
        dims: exp.task.dims,
        y_scale: exp.eval.y_scale,
        label_noise: exp.eval.label_noise,
    };
    let mut rng = rng_for(exp.seed, set.stream());
    sampler.sample_batch(exp.eval.prompts, exp.task.points, exp.task.dims, &mut rng)
}

/// GD steps and Newton iterations the live lens compares the model with.
/// Up to 16: Fu 2023 finds about 3 Newton iterations per layer, while gradient
/// descent needs exponentially many steps to keep up with depth.
pub const LENS_STEPS: [usize; 8] = [1, 2, 3, 4, 6, 8, 12, 16];

/// The algorithm lens for an experiment's fresh evaluation prompts, when its tasks
/// are linear in x (least squares, ridge, GD and Newton are then the candidates).
pub fn lens_plan(exp: &Experiment, fresh: &[Prompt]) -> Option<LensPlan> {
    exp.task.family.linear_in_x().then(|| {
        LensPlan::new(
            fresh,
            exp.task.encoding,
            exp.task.family.prior_var(),
            &LENS_STEPS,
        )
    })
}

/// The experiment's baselines (its own list, or its family's usual set, plus dMMSE
/// when there is a pool).
pub fn baselines(exp: &Experiment, source: &TaskSource) -> Result<Vec<Box<dyn Predictor>>, String> {
    let configs = match &exp.eval.baselines {
        Some(list) => list.clone(),
        None => {
            let mut list = match exp.task.family.family() {
                Some(f) => f.default_baselines(),
                None => return Ok(Vec::new()),
            };
            if exp.task.pool.is_some() {
                list.insert(0, crate::baselines::BaselineConfig::Dmmse);
            }
            list
        }
    };
    let ctx = BaselineContext {
        pool: source.pool(),
        prior_var: exp.task.family.prior_var(),
    };
    configs.iter().map(|c| c.build(&ctx)).collect()
}

/// The trained model as a [`Predictor`]: one batched forward pass per chunk.
pub struct ModelPredictor<'a> {
    pub model: &'a Transformer,
    pub device: Device,
    pub encoding: Encoding,
}

/// Prompts per forward pass during evaluation.
const EVAL_CHUNK: usize = 256;

impl ModelPredictor<'_> {
    /// The prediction tensor [b, n] for a chunk, not yet read back (the browser reads
    /// it asynchronously).
    pub fn prediction_tensor(&self, prompts: &[Prompt]) -> Tensor<2> {
        self.batch_tensor(&self.encoding.encode(prompts))
    }

    /// The prediction tensor [b, n] of an encoded batch. On the CPU the regression
    /// transformer runs on the fused engine's forward pass (the same function,
    /// several times faster than burn's; see `fused`).
    fn batch_tensor(&self, batch: &EncodedBatch) -> Tensor<2> {
        if crate::train::is_cpu(&self.device)
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
    pub fn predict_batch(&self, batch: &EncodedBatch) -> Vec<Vec<f64>> {
        let n = batch.readout.len();
        (0..batch.batch)
            .step_by(EVAL_CHUNK)
            .flat_map(|s| {
                let chunk = batch.slice(s, (s + EVAL_CHUNK).min(batch.batch));
                rows(self.batch_tensor(&chunk).into_data(), n)
            })
            .collect()
    }

    /// [`ModelPredictor::predict_batch`] with asynchronous reads.
    pub async fn predict_batch_async(&self, batch: &EncodedBatch) -> Result<Vec<Vec<f64>>, String> {
        let n = batch.readout.len();
        let mut out = Vec::with_capacity(batch.batch);
        for s in (0..batch.batch).step_by(EVAL_CHUNK) {
            let chunk = batch.slice(s, (s + EVAL_CHUNK).min(batch.batch));
            let data = self
                .batch_tensor(&chunk)
                .into_data_async()
                .await
                .map_err(|e| format!("reading the model's predictions failed: {e:?}"))?;
            out.extend(rows(data, n));
        }
        Ok(out)
    }
}

impl Predictor for ModelPredictor<'_> {
    fn name(&self) -> String {
        "model".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        self.predict_prompts(std::slice::from_ref(prompt))[0][k]
    }
    fn predict_prompts(&self, prompts: &[Prompt]) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(prompts.len());
        for chunk in prompts.chunks(EVAL_CHUNK) {
            let data = self.prediction_tensor(chunk).into_data();
            out.extend(rows(data, chunk[0].points()));
        }
        out
    }
}

impl ModelPredictor<'_> {
    /// [`Predictor::predict_prompts`] with asynchronous reads: the only kind WebGPU
    /// allows in a browser.
    pub async fn predict_prompts_async(&self, prompts: &[Prompt]) -> Result<Vec<Vec<f64>>, String> {
        let mut out = Vec::with_capacity(prompts.len());
        for chunk in prompts.chunks(EVAL_CHUNK) {
            let data = self
                .prediction_tensor(chunk)
                .into_data_async()
                .await
                .map_err(|e| format!("reading the model's predictions failed: {e:?}"))?;
            out.extend(rows(data, chunk[0].points()));
        }
        Ok(out)
    }
}

impl ModelPredictor<'_> {
    /// The model's label for each classification sequence, [b, 1] on the device.
    pub fn label_tensor(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Tensor<2, burn::tensor::Int> {
        let input = ModelInput::from_sequences(&encoding.encode(seqs), &self.device);
        self.model.forward(&input).logits().argmax(1)
    }

    pub fn classify(&self, encoding: &ClassEncoding, seqs: &[ClassSequence]) -> Vec<usize> {
        seqs.chunks(EVAL_CHUNK)
            .flat_map(|c| labels(self.label_tensor(encoding, c).into_data()))
            .collect()
    }

    pub async fn classify_async(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Result<Vec<usize>, String> {
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(EVAL_CHUNK) {
            let data = self
                .label_tensor(encoding, chunk)
                .into_data_async()
                .await
                .map_err(|e| format!("reading the model's labels failed: {e:?}"))?;
            out.extend(labels(data));
        }
        Ok(out)
    }
}

/// The device tensors of one token forward pass: losses [b, n], most likely next
/// token [b, n], attention per layer [b, h, s, s].
type TokenTensors = (Tensor<2>, Tensor<2, burn::tensor::Int>, Vec<Tensor<4>>);

impl ModelPredictor<'_> {
    fn token_tensors(&self, encoding: &TokenEncoding, seqs: &[TokenSequence]) -> TokenTensors {
        let input = ModelInput::from_tokens(&encoding.encode(seqs), &self.device);
        let out = self.model.forward(&input);
        let crate::model::Targets::Tokens(next) = &input.targets else {
            unreachable!("from_tokens sets token targets")
        };
        let [b, n, _] = out.outputs.dims();
        let losses = crate::model::next_token_nll(out.outputs.clone(), next);
        let predicted = out.outputs.argmax(2).reshape([b, n]);
        (losses, predicted, out.attention)
    }

    /// One chunk of token sequences through the model, read back.
    pub fn token_pass(&self, encoding: &TokenEncoding, seqs: &[TokenSequence]) -> TokenPass {
        let (losses, predicted, attention) = self.token_tensors(encoding, seqs);
        let heads = attention.first().map_or(0, |a| a.dims()[1]);
        TokenPass {
            losses: losses
                .into_data()
                .try_into_vec::<f32>()
                .expect("f32 losses"),
            predicted: labels(predicted.into_data()),
            attention: attention
                .into_iter()
                .map(|a| a.into_data().try_into_vec::<f32>().expect("f32 attention"))
                .collect(),
            heads,
        }
    }

    /// [`ModelPredictor::token_pass`] with asynchronous reads.
    pub async fn token_pass_async(
        &self,
        encoding: &TokenEncoding,
        seqs: &[TokenSequence],
    ) -> Result<TokenPass, String> {
        let (losses, predicted, attention) = self.token_tensors(encoding, seqs);
        let heads = attention.first().map_or(0, |a| a.dims()[1]);
        let err = |e| format!("reading the model's token predictions failed: {e:?}");
        let losses = losses.into_data_async().await.map_err(err)?;
        let predicted = predicted.into_data_async().await.map_err(err)?;
        let mut layers = Vec::with_capacity(attention.len());
        for a in attention {
            let d = a.into_data_async().await.map_err(err)?;
            layers.push(d.try_into_vec::<f32>().expect("f32 attention"));
        }
        Ok(TokenPass {
            losses: losses.try_into_vec::<f32>().expect("f32 losses"),
            predicted: labels(predicted),
            attention: layers,
            heads,
        })
    }
}

impl ModelPredictor<'_> {
    fn class_attention_tensors(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Vec<Tensor<4>> {
        let input = ModelInput::from_sequences(&encoding.encode(seqs), &self.device);
        self.model.forward(&input).attention
    }

    /// Attention per layer, row-major [b, h, s, s], on classification sequences.
    pub fn class_attention(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Vec<Vec<f32>> {
        self.class_attention_tensors(encoding, seqs)
            .into_iter()
            .map(|a| a.into_data().try_into_vec::<f32>().expect("f32 attention"))
            .collect()
    }

    /// [`ModelPredictor::class_attention`] with asynchronous reads.
    pub async fn class_attention_async(
        &self,
        encoding: &ClassEncoding,
        seqs: &[ClassSequence],
    ) -> Result<Vec<Vec<f32>>, String> {
        let mut out = Vec::new();
        for a in self.class_attention_tensors(encoding, seqs) {
            let d = a
                .into_data_async()
                .await
                .map_err(|e| format!("reading the model's attention failed: {e:?}"))?;
            out.push(d.try_into_vec::<f32>().expect("f32 attention"));
        }
        Ok(out)
    }
}

/// The model's OV circuits ([layer][head], [V, V]) read back synchronously.
pub fn ov_matrices(model: &Transformer) -> Vec<Vec<nalgebra::DMatrix<f64>>> {
    model
        .ov_circuits()
        .into_iter()
        .map(|layer| {
            layer
                .into_iter()
                .map(|m| to_matrix(m.into_data()))
                .collect()
        })
        .collect()
}

/// A [r, c] tensor read back → a matrix.
pub fn to_matrix(data: burn::tensor::TensorData) -> nalgebra::DMatrix<f64> {
    let [r, c] = [data.shape()[0], data.shape()[1]];
    let v: Vec<f32> = data.try_into_vec::<f32>().expect("f32 matrix");
    nalgebra::DMatrix::from_row_iterator(r, c, v.into_iter().map(f64::from))
}

/// The token plan of an induction run: `eval.prompts` sequences from the
/// evaluation stream.
pub fn token_plan(exp: &Experiment) -> Option<TokenPlan> {
    let vocab = exp.task.family.induction_vocab()?;
    let mut rng = rng_for(exp.seed, streams::EVAL * 3000);
    Some(TokenPlan::new(
        vocab,
        exp.task.points,
        exp.eval.prompts,
        &mut rng,
    ))
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

/// The evaluation prompts and the baselines' curves, computed once per run; each
/// evaluation then only adds the model's curve (what the browser does, where an
/// evaluation must not stall training).
pub struct EvalPlan {
    dims: usize,
    x_dist: String,
    points: usize,
    sets: Vec<PlannedSet>,
    /// Classification runs: the probes and how sequences become tokens.
    probes: Option<(ProbePlan, ClassEncoding)>,
    /// The algorithm lens on the first set's (fresh) prompts.
    lens: Option<LensPlan>,
    /// Token runs: the evaluation sequences.
    tokens: Option<TokenPlan>,
}

struct PlannedSet {
    set: EvalSet,
    prompts: Vec<Prompt>,
    baselines: BTreeMap<String, Curve>,
    predictions: BTreeMap<String, Vec<Vec<f64>>>,
}

impl EvalPlan {
    pub fn new(exp: &Experiment, source: &TaskSource) -> Result<Self, String> {
        if let Some(world) = class_world(exp) {
            let encoding = ClassEncoding {
                dims: exp.task.dims,
                labels: world.cfg.labels,
            };
            return Ok(Self {
                dims: exp.task.dims,
                x_dist: exp.x_dist.name(),
                points: exp.task.points,
                sets: Vec::new(),
                probes: Some((ProbePlan::new(exp, &world), encoding)),
                lens: None,
                tokens: None,
            });
        }
        if let Some(plan) = token_plan(exp) {
            return Ok(Self {
                dims: exp.task.dims,
                x_dist: exp.x_dist.name(),
                points: exp.task.points,
                sets: Vec::new(),
                probes: None,
                lens: None,
                tokens: Some(plan),
            });
        }
        let predictors = baselines(exp, source)?;
        let sets = EvalSet::for_experiment(exp)
            .into_iter()
            .map(|set| {
                let prompts = eval_prompts(exp, source, set, &exp.x_dist);
                let predictions: BTreeMap<String, Vec<Vec<f64>>> = predictors
                    .iter()
                    .map(|p| (p.name(), p.predict_prompts(&prompts)))
                    .collect();
                let baselines = predictions
                    .iter()
                    .map(|(name, pred)| (name.clone(), curve(&prompts, pred, exp.task.dims)))
                    .collect();
                PlannedSet {
                    set,
                    prompts,
                    baselines,
                    predictions,
                }
            })
            .collect::<Vec<PlannedSet>>();
        let lens = sets.first().and_then(|s| lens_plan(exp, &s.prompts));
        Ok(Self {
            dims: exp.task.dims,
            x_dist: exp.x_dist.name(),
            points: exp.task.points,
            sets,
            probes: None,
            lens,
            tokens: None,
        })
    }

    /// Classification runs: the sequences the heads are scored on (the first
    /// [`CLASS_HEAD_SEQUENCES`] of the ICL probe's) with their encoding.
    ///
    /// [`CLASS_HEAD_SEQUENCES`]: crate::lens::heads::CLASS_HEAD_SEQUENCES
    pub fn head_sequences(&self) -> Option<(&ClassEncoding, &[ClassSequence])> {
        self.probes.as_ref().map(|(plan, enc)| {
            let seqs = plan.icl_sequences();
            (
                enc,
                &seqs[..seqs.len().min(crate::lens::heads::CLASS_HEAD_SEQUENCES)],
            )
        })
    }

    /// The token plan of a token run.
    pub fn token_plan(&self) -> Option<&TokenPlan> {
        self.tokens.as_ref()
    }

    /// The report of a token run from the model's passes over
    /// [`TokenPlan::chunks`] and its OV circuits.
    pub fn token_report(
        &self,
        step: usize,
        passes: &[TokenPass],
        ov: &[Vec<nalgebra::DMatrix<f64>>],
    ) -> EvalReport {
        let plan = self.tokens.as_ref().expect("a token run");
        let (tokens, lens) = plan.report(passes, ov);
        let mut report = EvalReport {
            dims: self.dims,
            step,
            tokens: Some(tokens),
            ..EvalReport::default()
        };
        lens.fill(&mut report);
        report
    }

    /// The lens's probe batch, if the run has one: the model's predictions on it go
    /// to [`EvalPlan::report`] as `lens`.
    pub fn lens_batch(&self) -> Option<&EncodedBatch> {
        self.lens.as_ref().and_then(LensPlan::probe_batch)
    }

    /// The prompts of each evaluation set, in order (none for classification).
    pub fn prompts(&self) -> impl Iterator<Item = &[Prompt]> {
        self.sets.iter().map(|s| s.prompts.as_slice())
    }

    /// The probe sequence sets of a classification run, in order, with their encoding.
    pub fn sequences(&self) -> Option<(&ClassEncoding, Vec<&[ClassSequence]>)> {
        self.probes
            .as_ref()
            .map(|(plan, enc)| (enc, plan.sequences().collect()))
    }

    /// The report for `step`, given the model's predictions for each set's prompts
    /// (in the order of [`EvalPlan::prompts`]) and its labels for each probe set (in
    /// the order of [`EvalPlan::sequences`]), and its predictions on the
    /// [`EvalPlan::lens_batch`].
    pub fn report(
        &self,
        step: usize,
        model: &[Vec<Vec<f64>>],
        labels: &[Vec<usize>],
        lens: Option<&[Vec<f64>]>,
    ) -> EvalReport {
        let evals = self
            .sets
            .iter()
            .zip(model)
            .map(|(s, pred)| {
                let mut curves = s.baselines.clone();
                curves.insert("model".into(), curve(&s.prompts, pred, self.dims));
                EvalCurves {
                    name: s.set.name().into(),
                    x_dist: self.x_dist.clone(),
                    k: (0..self.points).collect(),
                    curves,
                    distance: distances(pred, &s.predictions, self.dims),
                }
            })
            .collect();
        EvalReport {
            dims: self.dims,
            step,
            evals,
            probes: match &self.probes {
                Some((plan, _)) => plan.report(labels),
                None => Vec::new(),
            },
            algorithms: self
                .lens
                .as_ref()
                .zip(model.first())
                .map(|(l, fresh)| l.report(fresh, lens)),
            // The caller reads the weights (asynchronously in the browser).
            lsa: Vec::new(),
            ..EvalReport::default()
        }
    }
}

/// Mean over prompts and k ≥ 1 of (model − baseline)²/d, for every baseline.
pub fn distances(
    model: &[Vec<f64>],
    baselines: &BTreeMap<String, Vec<Vec<f64>>>,
    dims: usize,
) -> BTreeMap<String, f64> {
    baselines
        .iter()
        .map(|(name, pred)| {
            let (mut sum, mut count) = (0.0, 0usize);
            for (m, b) in model.iter().zip(pred) {
                for k in 1..m.len() {
                    sum += (m[k] - b[k]).powi(2) / dims as f64;
                    count += 1;
                }
            }
            (name.clone(), sum / count.max(1) as f64)
        })
        .collect()
}

/// Prompts and everything predicted for them: what `--dump-prompts` writes.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct EvalDump {
    pub name: String,
    pub x_dist: String,
    pub prompts: Vec<DumpedPrompt>,
    /// predictor → [prompt][k]
    pub predictions: BTreeMap<String, Vec<Vec<f64>>>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct DumpedPrompt {
    /// [points][dims]; the query at position k is xs[k].
    pub xs: Vec<Vec<f64>>,
    /// Observed labels, noise included; the true y at position k is ys[k].
    pub ys: Vec<f64>,
    pub noise_std: f64,
    pub task_index: Option<usize>,
}

impl From<&Prompt> for DumpedPrompt {
    fn from(p: &Prompt) -> Self {
        Self {
            xs: (0..p.points())
                .map(|i| p.xs.row(i).iter().copied().collect())
                .collect(),
            ys: p.ys.iter().copied().collect(),
            noise_std: p.noise_std,
            task_index: p.task_index,
        }
    }
}

/// Mean and standard error of (prediction − y)²/d at each k.
pub fn curve(prompts: &[Prompt], predictions: &[Vec<f64>], dims: usize) -> Curve {
    let n = prompts[0].points();
    let samples: Vec<Vec<f64>> = (0..n)
        .map(|k| {
            prompts
                .iter()
                .zip(predictions)
                .map(|(p, pred)| (pred[k] - p.ys[k]).powi(2) / dims as f64)
                .collect()
        })
        .collect();
    Curve::from_samples(&samples)
}

/// Evaluates `model` and the baselines on every evaluation set of the experiment,
/// with inputs from `x_dist` (the training distribution when `None`).
pub fn evaluate(
    exp: &Experiment,
    model: &Transformer,
    device: &Device,
    source: &TaskSource,
    x_dist: Option<&XDistConfig>,
    step: usize,
) -> Result<(EvalReport, Vec<EvalDump>), String> {
    let x_dist = x_dist.unwrap_or(&exp.x_dist);
    let model = ModelPredictor {
        model,
        device: device.clone(),
        encoding: exp.task.encoding,
    };
    if let Some(world) = class_world(exp) {
        let plan = ProbePlan::new(exp, &world);
        let encoding = ClassEncoding {
            dims: exp.task.dims,
            labels: world.cfg.labels,
        };
        let labels: Vec<Vec<usize>> = plan
            .sequences()
            .map(|seqs| model.classify(&encoding, seqs))
            .collect();
        let icl = plan.icl_sequences();
        let icl = &icl[..icl.len().min(crate::lens::heads::CLASS_HEAD_SEQUENCES)];
        let lens = crate::lens::heads::class_heads(
            icl,
            &model.class_attention(&encoding, icl),
            exp.model.heads,
        );
        let mut report = EvalReport {
            dims: exp.task.dims,
            step,
            evals: Vec::new(),
            probes: plan.report(&labels),
            ..EvalReport::default()
        };
        lens.fill(&mut report);
        return Ok((report, Vec::new()));
    }
    if let Some(plan) = token_plan(exp) {
        let passes: Vec<TokenPass> = plan
            .chunks()
            .map(|c| model.token_pass(&plan.encoding, c))
            .collect();
        let (tokens, lens) = plan.report(&passes, &ov_matrices(model.model));
        let mut report = EvalReport {
            dims: exp.task.dims,
            step,
            tokens: Some(tokens),
            ..EvalReport::default()
        };
        lens.fill(&mut report);
        return Ok((report, Vec::new()));
    }
    let model_ref = model.model;
    let lens_model = ModelPredictor {
        model: model.model,
        device: device.clone(),
        encoding: exp.task.encoding,
    };
    let mut predictors: Vec<Box<dyn Predictor + '_>> = vec![Box::new(model)];
    predictors.extend(baselines(exp, source)?);

    let mut evals = Vec::new();
    let mut dumps = Vec::new();
    let mut algorithms = None;
    for set in EvalSet::for_experiment(exp) {
        let prompts = eval_prompts(exp, source, set, x_dist);
        let mut predictions = BTreeMap::new();
        let mut curves = BTreeMap::new();
        for p in &predictors {
            let pred = p.predict_prompts(&prompts);
            curves.insert(p.name(), curve(&prompts, &pred, exp.task.dims));
            predictions.insert(p.name(), pred);
        }
        let mut others = predictions.clone();
        let own = others.remove("model").expect("the model is a predictor");
        // The lens reuses the model's predictions on the set (its prompts are the
        // first ones) and adds the probe batch.
        if set == EvalSet::Fresh
            && let Some(lens) = lens_plan(exp, &prompts)
        {
            let probes = lens.probe_batch().map(|b| lens_model.predict_batch(b));
            algorithms = Some(lens.report(&own, probes.as_deref()));
        }
        evals.push(EvalCurves {
            name: set.name().into(),
            x_dist: x_dist.name(),
            k: (0..exp.task.points).collect(),
            curves,
            distance: distances(&own, &others, exp.task.dims),
        });
        dumps.push(EvalDump {
            name: set.name().into(),
            x_dist: x_dist.name(),
            prompts: prompts.iter().map(DumpedPrompt::from).collect(),
            predictions,
        });
    }
    Ok((
        EvalReport {
            dims: exp.task.dims,
            step,
            evals,
            probes: Vec::new(),
            algorithms,
            lsa: lsa_view(model_ref),
            ..EvalReport::default()
        },
        dumps,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_mean_and_stderr_by_hand() {
        let p = |y: f64| Prompt {
            xs: nalgebra::DMatrix::zeros(1, 2),
            ys: nalgebra::DVector::from_element(1, y),
            noise_std: 0.0,
            task_index: None,
        };
        // errors/d: (2²)/2 = 2 and (0²)/2 = 0 → mean 1, sd √2, stderr 1
        let c = curve(&[p(2.0), p(1.0)], &[vec![0.0], vec![1.0]], 2);
        assert_eq!(c.mean, vec![1.0]);
        assert!((c.stderr[0] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_browsers_plan_gives_the_same_report_as_evaluate() {
        let mut e = Experiment::default();
        e.task.pool = Some(4);
        e.eval.prompts = 12;
        let dev = Device::flex();
        let t = crate::train::Trainer::new(&e, &dev);
        let model = t.model();
        let (full, _) = evaluate(&e, &model, &dev, &t.source, None, 7).unwrap();
        let plan = EvalPlan::new(&e, &t.source).unwrap();
        let mp = ModelPredictor {
            model: &model,
            device: dev.clone(),
            encoding: e.task.encoding,
        };
        let preds: Vec<_> = plan.prompts().map(|p| mp.predict_prompts(p)).collect();
        assert_eq!(full.evals.len(), 2, "fresh and pool");
        let lens = plan.lens_batch().map(|b| mp.predict_batch(b));
        let mut planned = plan.report(7, &preds, &[], lens.as_deref());
        planned.lsa = lsa_view(&model);
        assert!(planned.algorithms.is_some(), "a linear family has the lens");
        assert_eq!(planned, full);
        assert!(full.evals[0].distance["least_squares"] > 0.0);
    }

    /// What the worker does for token and classification runs (plan, then the
    /// model's passes) gives what `evaluate` gives.
    #[test]
    fn token_and_classification_plans_give_the_same_reports_as_evaluate() {
        let dev = Device::flex();
        let mut e = crate::presets::preset("induction-phase-change").unwrap();
        e.eval.prompts = 6;
        e.model.width = 16;
        let t = crate::train::Trainer::new(&e, &dev);
        let model = t.model();
        let (full, _) = evaluate(&e, &model, &dev, &t.source, None, 3).unwrap();
        let plan = EvalPlan::new(&e, &t.source).unwrap();
        let mp = ModelPredictor {
            model: &model,
            device: dev.clone(),
            encoding: e.task.encoding,
        };
        let tp = plan.token_plan().unwrap();
        let passes: Vec<TokenPass> = tp
            .chunks()
            .map(|c| mp.token_pass(&tp.encoding, c))
            .collect();
        let planned = plan.token_report(3, &passes, &ov_matrices(&model));
        assert_eq!(planned, full);
        assert_eq!(full.heads.len(), 4);
        assert_eq!(full.attention.as_ref().unwrap().prompts.len(), 4);

        let mut c = crate::presets::preset("bursty-icl").unwrap();
        c.eval.prompts = 6;
        if let TaskFamilyConfig::Classification(cfg) = &mut c.task.family {
            cfg.classes = 64;
        }
        let t = crate::train::Trainer::new(&c, &dev);
        let model = t.model();
        let (full, _) = evaluate(&c, &model, &dev, &t.source, None, 3).unwrap();
        let plan = EvalPlan::new(&c, &t.source).unwrap();
        let mp = ModelPredictor {
            model: &model,
            device: dev.clone(),
            encoding: c.task.encoding,
        };
        let (enc, sets) = plan.sequences().unwrap();
        let labels: Vec<Vec<usize>> = sets.iter().map(|s| mp.classify(enc, s)).collect();
        let mut planned = plan.report(3, &[], &labels, None);
        let (enc, seqs) = plan.head_sequences().unwrap();
        crate::lens::heads::class_heads(seqs, &mp.class_attention(enc, seqs), c.model.heads)
            .fill(&mut planned);
        assert_eq!(planned, full);
        assert_eq!(full.heads.len(), 2, "Reddy's 2 layers of 1 head");
        assert_eq!(full.attention.unwrap().prompts[0].labels.len(), 17);
    }

    #[test]
    fn eval_prompts_are_reproducible_and_pool_prompts_use_the_pool() {
        let mut e = Experiment::default();
        e.task.pool = Some(4);
        e.eval.prompts = 20;
        let src = crate::train::task_source(&e);
        let a = eval_prompts(&e, &src, EvalSet::Pool, &e.x_dist);
        let b = eval_prompts(&e, &src, EvalSet::Pool, &e.x_dist);
        assert_eq!(a, b);
        assert!(a.iter().all(|p| p.task_index.unwrap() < 4));
        let f = eval_prompts(&e, &src, EvalSet::Fresh, &e.x_dist);
        assert!(f.iter().all(|p| p.task_index.is_none()));
    }

    #[test]
    fn a_regression_classification_mixture_is_evaluated_on_each_task_alone() {
        let mut e = Experiment::default();
        e.task.family = TaskFamilyConfig::RegressionClassification {
            p_classification: 0.5,
        };
        e.eval.prompts = 30;
        let names: Vec<String> = EvalSet::for_experiment(&e)
            .into_iter()
            .map(EvalSet::name)
            .collect();
        assert_eq!(names, ["fresh", "regression", "classification"]);
        let src = crate::train::task_source(&e);
        let labels = |p: &Prompt| p.ys.iter().all(|y| *y == 1.0 || *y == -1.0);
        let c = eval_prompts(&e, &src, EvalSet::Task(1), &e.x_dist);
        assert!(
            c.iter().all(labels),
            "classification prompts carry ±1 labels"
        );
        let r = eval_prompts(&e, &src, EvalSet::Task(0), &e.x_dist);
        assert!(r.iter().all(|p| !labels(p)), "regression prompts do not");
        let mixed = eval_prompts(&e, &src, EvalSet::Fresh, &e.x_dist);
        let signs = mixed.iter().filter(|p| labels(p)).count();
        assert!(
            (5..25).contains(&signs),
            "{signs} of 30 mixed prompts classify"
        );
    }
}
