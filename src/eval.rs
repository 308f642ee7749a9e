//! Evaluation: the ICL curve, through one path ([`EvalPlan`], then its async
//! `evaluate`) for the browser's worker, the CLI and the tests alike.
//!
//! The same evaluation prompts go to the model and to every baseline; the squared
//! error of each prediction, divided by d, is averaged over prompts at every context
//! length k, with its standard error. Prompts come from fresh tasks and, when the
//! training pool is finite, from pool tasks too. Each curve set also says how far
//! the model's predictions are from each baseline's (which algorithm does it run?).
//!
//! Classification runs are evaluated by probes instead ([`crate::probes`]), token
//! runs by the loss at each position and the heads' scores ([`crate::lens::heads`]).

use std::collections::BTreeMap;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::baselines::{BaselineContext, Predictor};
use crate::config::{Encoding, Experiment};
pub use crate::curve::Curve;
use crate::lens::algorithms::{AlgorithmMatch, LensPlan};
use crate::lens::heads::{AttentionSnapshot, HeadScore, TokenPlan, TokenReport};
use crate::lens::lsa::{HeadView, lsa_view};
use crate::model::{HeadAblation, Transformer};
pub use crate::predict::{ModelPredictor, TokenPass, ov_matrices, to_matrix};
use crate::probes::{ProbePlan, ProbeResult};
use crate::prompt::{Prompt, PromptSampler};
use crate::seeds::{class_world, rng_for, streams};
use crate::tasks::classification::ClassEncoding;
use crate::tasks::{
    LinearClassification, LinearRegression, NoisyLinearRegression, Shape, TaskFamilyConfig,
    TaskSource,
};
use crate::xdist::XDistConfig;

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
    /// Puts the mechanism lens's reading into the report.
    pub fn put_heads(&mut self, lens: crate::lens::heads::HeadLens) {
        self.heads = lens.heads;
        self.uniform_prefix_matching = Some(lens.uniform_prefix_matching);
        self.attention = Some(lens.attention);
    }

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
            let Some(mut list) = crate::baselines::defaults_for(&exp.task.family) else {
                return Ok(Vec::new());
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

/// The token plan of an induction run: `eval.prompts` sequences from the
/// evaluation stream.
pub fn token_plan(exp: &Experiment) -> Option<TokenPlan> {
    let crate::tasks::Shape::Tokens { vocab } = exp.task.family.shape() else {
        return None;
    };
    let mut rng = rng_for(exp.seed, streams::EVAL * 3000);
    Some(TokenPlan::new(
        vocab,
        exp.task.points,
        exp.eval.prompts,
        &mut rng,
    ))
}

/// The one evaluation path. A plan holds what does not change during a run, made
/// once: the evaluation prompts and the baselines' curves (regression), the probe
/// sequences (classification), the token sequences (token runs), and the algorithm
/// lens's references. [`EvalPlan::evaluate`] then asks the model the same
/// questions: the browser's worker awaits it, the CLI and the tests block on it
/// ([`evaluate`]).
pub struct EvalPlan {
    dims: usize,
    x_dist: String,
    points: usize,
    encoding: Encoding,
    /// Heads per layer (classification runs score each head).
    heads: usize,
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
    /// The plan of a run, with inputs from its training distribution.
    pub fn new(exp: &Experiment, source: &TaskSource) -> Result<Self, String> {
        Self::for_x_dist(exp, source, &exp.x_dist)
    }

    /// The plan with regression inputs from `x_dist` (a shifted distribution: `eval
    /// --x-dist`).
    pub fn for_x_dist(
        exp: &Experiment,
        source: &TaskSource,
        x_dist: &XDistConfig,
    ) -> Result<Self, String> {
        let base = Self {
            dims: exp.task.dims,
            x_dist: x_dist.name(),
            points: exp.task.points,
            encoding: exp.task.encoding,
            heads: exp.model.heads,
            sets: Vec::new(),
            probes: None,
            lens: None,
            tokens: None,
        };
        // Each shape of data is asked its own questions: probes of held-out
        // sequences (classification), loss and head scores on token sequences, or
        // curves beside the baselines on evaluation prompts (regression, below).
        match exp.task.family.shape() {
            Shape::Classification(_) => {
                let world = class_world(exp).expect("a classification shape has classes");
                let encoding = ClassEncoding {
                    dims: exp.task.dims,
                    labels: world.cfg.labels,
                };
                return Ok(Self {
                    probes: Some((ProbePlan::new(exp, &world), encoding)),
                    ..base
                });
            }
            Shape::Tokens { .. } => {
                return Ok(Self {
                    tokens: token_plan(exp),
                    ..base
                });
            }
            Shape::Regression => {}
        }
        let predictors = baselines(exp, source)?;
        let sets = EvalSet::for_experiment(exp)
            .into_iter()
            .map(|set| {
                let prompts = eval_prompts(exp, source, set, x_dist);
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
        // The lens works on the fresh set's prompts (always the first set).
        let lens = sets.first().and_then(|s| lens_plan(exp, &s.prompts));
        Ok(Self { sets, lens, ..base })
    }

    /// Evaluates `model` at `step`: the model's answers to the plan's questions, read
    /// back asynchronously, beside the baselines'.
    pub async fn evaluate(
        &self,
        model: &Transformer,
        device: &Device,
        step: usize,
    ) -> Result<EvalReport, String> {
        Ok(self.evaluate_with_predictions(model, device, step).await?.0)
    }

    /// [`EvalPlan::evaluate`], also giving the model's predictions on each set's
    /// prompts (in set order; empty for classification and token runs).
    pub async fn evaluate_with_predictions(
        &self,
        model: &Transformer,
        device: &Device,
        step: usize,
    ) -> Result<(EvalReport, Vec<Vec<Vec<f64>>>), String> {
        let predictor = ModelPredictor {
            model,
            device: device.clone(),
            encoding: self.encoding,
        };
        // Token runs: loss by position, attention patterns, head scores.
        if let Some(tokens) = &self.tokens {
            let mut passes = Vec::new();
            for chunk in tokens.chunks() {
                passes.push(predictor.token_pass(&tokens.encoding, chunk).await?);
            }
            let ov = ov_matrices(model).await?;
            return Ok((self.token_report(step, &passes, &ov), Vec::new()));
        }
        let mut preds = Vec::new();
        for s in &self.sets {
            preds.push(predictor.predictions(&s.prompts).await?);
        }
        let mut labels = Vec::new();
        let mut class_heads = None;
        if let Some((plan, encoding)) = &self.probes {
            for seqs in plan.sequences() {
                labels.push(predictor.classify(encoding, seqs).await?);
            }
            // The heads' attention on the first of the ICL probe's sequences.
            let seqs = plan.icl_sequences();
            let seqs = &seqs[..seqs.len().min(crate::lens::heads::CLASS_HEAD_SEQUENCES)];
            let attention = predictor.class_attention(encoding, seqs).await?;
            class_heads = Some(crate::lens::heads::class_heads(
                seqs, &attention, self.heads,
            ));
        }
        // The algorithm lens: the model on 2d probe copies of a few fresh prompts.
        let lens = match self.lens.as_ref().and_then(LensPlan::probe_batch) {
            Some(batch) => Some(predictor.predict_batch(batch).await?),
            None => None,
        };
        let mut report = self.report(step, &preds, &labels, lens.as_deref());
        if let Some(lens) = class_heads {
            report.put_heads(lens);
        }
        // A linear self-attention model's heads beside the GD construction.
        report.lsa = lsa_view(model).await?;
        Ok((report, preds))
    }

    /// The prompts of each set with every predictor's predictions on them, the
    /// model's (from [`EvalPlan::evaluate_with_predictions`]) included: `eval --dump`.
    pub fn dumps(&self, model: &[Vec<Vec<f64>>]) -> Vec<EvalDump> {
        self.sets
            .iter()
            .zip(model)
            .map(|(s, own)| {
                let mut predictions = s.predictions.clone();
                predictions.insert("model".into(), own.clone());
                EvalDump {
                    name: s.set.name(),
                    x_dist: self.x_dist.clone(),
                    prompts: s.prompts.iter().map(DumpedPrompt::from).collect(),
                    predictions,
                }
            })
            .collect()
    }

    /// The report of a token run from the model's passes over
    /// [`TokenPlan::chunks`] and its OV circuits.
    fn token_report(
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
        report.put_heads(lens);
        report
    }

    /// The report for `step`, given the model's predictions for each set's prompts
    /// (in set order), its labels for each probe set (in the probe plan's order), and
    /// its predictions on the lens's probe batch.
    fn report(
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
                    name: s.set.name(),
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
            // `evaluate` reads the weights after (an async read).
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
/// with inputs from `x_dist` (the training distribution when `None`): the plan's
/// evaluation, blocked on (native callers: the CLI, tests, benches). Also gives the
/// prompts with every predictor's predictions (`eval --dump`).
#[cfg(not(target_arch = "wasm32"))]
pub fn evaluate(
    exp: &Experiment,
    model: &Transformer,
    device: &Device,
    source: &TaskSource,
    x_dist: Option<&XDistConfig>,
    step: usize,
) -> Result<(EvalReport, Vec<EvalDump>), String> {
    let plan = EvalPlan::for_x_dist(exp, source, x_dist.unwrap_or(&exp.x_dist))?;
    let (report, model_predictions) =
        futures_lite::future::block_on(plan.evaluate_with_predictions(model, device, step))?;
    Ok((report, plan.dumps(&model_predictions)))
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

    /// A native read, blocked on.
    fn now<T>(f: impl std::future::Future<Output = Result<T, String>>) -> T {
        futures_lite::future::block_on(f).unwrap()
    }

    #[test]
    fn the_report_holds_the_models_own_predictions_beside_the_baselines() {
        let mut e = Experiment::default();
        e.task.pool = Some(4);
        e.eval.prompts = 12;
        let dev = Device::flex();
        let t = crate::train::Trainer::new(&e, &dev);
        let model = t.model();
        let (full, dumps) = evaluate(&e, &model, &dev, &t.source, None, 7).unwrap();
        assert_eq!(full.step, 7);
        assert_eq!(full.evals.len(), 2, "fresh and pool");
        assert!(full.algorithms.is_some(), "a linear family has the lens");
        assert!(full.evals[0].distance["least_squares"] > 0.0);
        // The model as a plain Predictor on the same prompts gives the same curve.
        let mp = ModelPredictor {
            model: &model,
            device: dev.clone(),
            encoding: e.task.encoding,
        };
        let sets = EvalSet::for_experiment(&e);
        assert_eq!(sets.len(), full.evals.len());
        for ((set, curves), dump) in sets.into_iter().zip(&full.evals).zip(&dumps) {
            let prompts = eval_prompts(&e, &t.source, set, &e.x_dist);
            let own = Predictor::predict_prompts(&mp, &prompts);
            assert_eq!(dump.predictions["model"], own, "{}", curves.name);
            assert_eq!(curves.curves["model"], curve(&prompts, &own, e.task.dims));
            assert_eq!(
                dump.predictions.len(),
                curves.curves.len(),
                "{}",
                curves.name
            );
        }
        // Another x-distribution: other prompts, named in the report.
        let scaled = XDistConfig::Scaled { scale: 2.0 };
        let (shifted, _) = evaluate(&e, &model, &dev, &t.source, Some(&scaled), 7).unwrap();
        assert_eq!(shifted.evals[0].x_dist, scaled.name());
        assert_ne!(
            shifted.evals[0].curves["model"],
            full.evals[0].curves["model"]
        );
    }

    /// Token and classification runs take their own questions through the same plan.
    #[test]
    fn token_and_classification_runs_report_heads_and_probes() {
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
        let tp = plan.tokens.as_ref().unwrap();
        let passes: Vec<TokenPass> = tp
            .chunks()
            .map(|c| now(mp.token_pass(&tp.encoding, c)))
            .collect();
        let by_hand = plan.token_report(3, &passes, &now(ov_matrices(&model)));
        assert_eq!(by_hand, full);
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
        assert!(full.evals.is_empty() && full.tokens.is_none());
        assert_eq!(full.probes.len(), 4, "the four probes");
        assert_eq!(full.heads.len(), 2, "Reddy's 2 layers of 1 head");
        assert_eq!(full.attention.unwrap().prompts[0].labels.len(), 17);
    }

    #[test]
    fn eval_prompts_are_reproducible_and_pool_prompts_use_the_pool() {
        let mut e = Experiment::default();
        e.task.pool = Some(4);
        e.eval.prompts = 20;
        let src = crate::seeds::task_source(&e);
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
        let src = crate::seeds::task_source(&e);
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
