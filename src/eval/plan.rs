//! The plan that asks the model (the trainer's half of [`crate::eval`]): made once
//! per run, then [`EvalPlan::evaluate`] at every evaluation.

use std::collections::BTreeMap;

use burn::tensor::Device;

use super::{
    Curve, DumpedPrompt, EvalCurves, EvalDump, EvalReport, EvalSet, baseline_curve, baselines,
    curve, distances, eval_prompts, lens_plan, token_plan,
};
use crate::config::{Encoding, Experiment};
use crate::lens::algorithms::LensPlan;
use crate::lens::heads::{TokenPass, TokenPlan};
use crate::model::Transformer;
use crate::predict::{ModelPredictor, lsa_view, ov_matrices};
use crate::probes::ProbePlan;
use crate::prompt::Prompt;
use crate::seeds::class_world;
use crate::tasks::classification::ClassEncoding;
use crate::tasks::{Shape, TaskSource};
use crate::xdist::XDistConfig;

/// The one evaluation path. A plan holds what does not change during a run, made
/// once: the questions the run's shape of data is asked (see [`Questions`]).
/// [`EvalPlan::evaluate`] then asks the model the same questions: the browser's
/// worker awaits it, the CLI and the tests block on it ([`evaluate`]). The
/// trainer's build only (the page reads reports, it makes none).
pub struct EvalPlan {
    dims: usize,
    x_dist: String,
    points: usize,
    encoding: Encoding,
    /// Heads per layer (classification runs score each head).
    heads: usize,
    questions: Questions,
}

/// What each shape of data is asked, one variant per [`Shape`]: adding a shape is
/// one arm here (and one [`crate::data::TrainingData`]).
enum Questions {
    /// Curves beside the baselines on evaluation prompts (fresh tasks, pool tasks,
    /// each component of a mixture), and the algorithm lens on the fresh set.
    Regression {
        sets: Vec<PlannedSet>,
        lens: Option<LensPlan>,
    },
    /// Probes of held-out sequences (ICL, in-weights, flipped labels) and the
    /// heads' attention; how sequences become tokens.
    Classification {
        probes: ProbePlan,
        encoding: ClassEncoding,
    },
    /// Loss by position and head scores on token sequences.
    Tokens(TokenPlan),
}

struct PlannedSet {
    set: EvalSet,
    prompts: Vec<Prompt>,
    baselines: BTreeMap<String, Curve>,
    predictions: BTreeMap<String, Vec<Vec<f64>>>,
}

impl PlannedSet {
    /// The name of the set's input distribution: its own for an `eval.ood` set,
    /// else the plan's.
    fn x_dist(&self, plan: &str) -> String {
        match self.set {
            EvalSet::XDist(_, d) => d.name(),
            _ => plan.to_string(),
        }
    }
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
        let questions = match exp.task.family.shape() {
            Shape::Classification(_) => {
                let world = class_world(exp).expect("a classification shape has classes");
                Questions::Classification {
                    probes: ProbePlan::new(exp, &world),
                    encoding: ClassEncoding {
                        dims: exp.task.dims,
                        labels: world.cfg.labels,
                    },
                }
            }
            Shape::Tokens { .. } => {
                Questions::Tokens(token_plan(exp).expect("a token shape has a token plan"))
            }
            Shape::Regression => {
                let sets = planned_sets(exp, source, x_dist)?;
                // The lens works on the fresh set's prompts (always the first set).
                let lens = sets.first().and_then(|s| lens_plan(exp, &s.prompts));
                Questions::Regression { sets, lens }
            }
        };
        Ok(Self {
            dims: exp.task.dims,
            x_dist: x_dist.name(),
            points: exp.task.points,
            encoding: exp.task.encoding,
            heads: exp.model.heads,
            questions,
        })
    }

    /// The regression sets (empty for other shapes).
    fn sets(&self) -> &[PlannedSet] {
        match &self.questions {
            Questions::Regression { sets, .. } => sets,
            _ => &[],
        }
    }

    /// The prompts of each set with every predictor's predictions on them, the
    /// model's (from [`EvalPlan::evaluate_with_predictions`]) included: `eval --dump`.
    pub fn dumps(&self, model: &[Vec<Vec<f64>>]) -> Vec<EvalDump> {
        self.sets()
            .iter()
            .zip(model)
            .map(|(s, own)| {
                let mut predictions = s.predictions.clone();
                predictions.insert("model".into(), own.clone());
                EvalDump {
                    name: s.set.name(),
                    x_dist: s.x_dist(&self.x_dist),
                    prompts: s.prompts.iter().map(DumpedPrompt::from).collect(),
                    predictions,
                }
            })
            .collect()
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
        let report = EvalReport {
            dims: self.dims,
            step,
            ..EvalReport::default()
        };
        match &self.questions {
            Questions::Tokens(tokens) => {
                let mut passes = Vec::new();
                for chunk in tokens.chunks() {
                    passes.push(predictor.token_pass(&tokens.encoding, chunk).await?);
                }
                let ov = ov_matrices(model).await?;
                Ok((token_report(tokens, report, &passes, &ov), Vec::new()))
            }
            Questions::Classification { probes, encoding } => {
                let mut labels = Vec::new();
                for seqs in probes.sequences() {
                    labels.push(predictor.classify(encoding, seqs).await?);
                }
                // The heads' attention on the first of the ICL probe's sequences.
                let seqs = probes.icl_sequences();
                let seqs = &seqs[..seqs.len().min(crate::lens::heads::CLASS_HEAD_SEQUENCES)];
                let attention = predictor.class_attention(encoding, seqs).await?;
                let mut report = EvalReport {
                    probes: probes.report(&labels),
                    lsa: lsa_view(model).await?,
                    ..report
                };
                report.put_heads(crate::lens::heads::class_heads(
                    seqs, &attention, self.heads,
                ));
                Ok((report, Vec::new()))
            }
            Questions::Regression { sets, lens } => {
                let mut preds = Vec::new();
                for s in sets {
                    preds.push(predictor.predictions(&s.prompts).await?);
                }
                // The algorithm lens: the model on 2d probe copies of a few fresh prompts.
                let probed = match lens.as_ref().and_then(LensPlan::probe_batch) {
                    Some(batch) => Some(predictor.predict_batch(batch).await?),
                    None => None,
                };
                let report = EvalReport {
                    evals: self.curves(sets, &preds),
                    algorithms: lens
                        .as_ref()
                        .zip(preds.first())
                        .map(|(l, fresh)| l.report(fresh, probed.as_deref())),
                    // A linear self-attention model's heads beside the GD construction.
                    lsa: lsa_view(model).await?,
                    ..report
                };
                Ok((report, preds))
            }
        }
    }

    /// Each set's curves, the model's (from its predictions, in set order) beside
    /// the baselines', and how far the model is from each baseline.
    fn curves(&self, sets: &[PlannedSet], model: &[Vec<Vec<f64>>]) -> Vec<EvalCurves> {
        sets.iter()
            .zip(model)
            .map(|(s, pred)| {
                let mut curves = s.baselines.clone();
                curves.insert("model".into(), curve(&s.prompts, pred, self.dims));
                EvalCurves {
                    name: s.set.name(),
                    x_dist: s.x_dist(&self.x_dist),
                    k: (0..self.points).collect(),
                    curves,
                    distance: distances(pred, &s.predictions, self.dims),
                }
            })
            .collect()
    }
}

/// The regression sets of an experiment: each set's prompts, and every baseline's
/// predictions and curve on them.
fn planned_sets(
    exp: &Experiment,
    source: &TaskSource,
    x_dist: &XDistConfig,
) -> Result<Vec<PlannedSet>, String> {
    let predictors = baselines(exp, source)?;
    Ok(EvalSet::for_experiment(exp)
        .into_iter()
        .map(|set| {
            let prompts = eval_prompts(exp, source, set, x_dist);
            let mut predictions = BTreeMap::new();
            let mut baselines = BTreeMap::new();
            for p in &predictors {
                let pred = p.predict_prompts(&prompts);
                let c = baseline_curve(p.as_ref(), &prompts, &pred, exp.task.dims);
                baselines.insert(p.name(), c);
                predictions.insert(p.name(), pred);
            }
            PlannedSet {
                set,
                prompts,
                baselines,
                predictions,
            }
        })
        .collect())
}

/// The report of a token run from the model's passes over [`TokenPlan::chunks`]
/// and its OV circuits.
fn token_report(
    plan: &TokenPlan,
    report: EvalReport,
    passes: &[TokenPass],
    ov: &[Vec<nalgebra::DMatrix<f64>>],
) -> EvalReport {
    let (tokens, lens) = plan.report(passes, ov);
    let mut report = EvalReport {
        tokens: Some(tokens),
        ..report
    };
    report.put_heads(lens);
    report
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
    use crate::baselines::Predictor;
    use crate::tasks::TaskFamilyConfig;

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
        // eval.ood: each distribution is a set of its own beside the others, named
        // and labelled with its distribution, and the training sets are unchanged.
        let mut o = e.clone();
        o.eval.ood = vec![XDistConfig::HalfSubspace, scaled];
        let (ood, _) = evaluate(&o, &model, &dev, &t.source, None, 7).unwrap();
        let names: Vec<(&str, &str)> = ood
            .evals
            .iter()
            .map(|s| (s.name.as_str(), s.x_dist.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("fresh", "gaussian"),
                ("pool", "gaussian"),
                ("x=half-subspace", "half-subspace"),
                ("x=scaled:2", "scaled:2")
            ]
        );
        assert_eq!(ood.evals[..2], full.evals[..]);
        // Least squares needs only d/2 examples in a half subspace.
        let ls = &ood.evals[2].curves["least_squares"].mean;
        assert!(ls[e.task.dims / 2 + 1] < 1e-6, "{ls:?}");
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
        let Questions::Tokens(tp) = &plan.questions else {
            panic!("a token run is asked token questions");
        };
        let passes: Vec<TokenPass> = tp
            .chunks()
            .map(|c| now(mp.token_pass(&tp.encoding, c)))
            .collect();
        let empty = EvalReport {
            dims: e.task.dims,
            step: 3,
            ..EvalReport::default()
        };
        let by_hand = token_report(tp, empty, &passes, &now(ov_matrices(&model)));
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
