//! Evaluation: the ICL curve, through one path ([`EvalPlan`], then its async
//! `evaluate`) for the browser's worker, the CLI and the tests alike.
//!
//! This module holds the questions (evaluation sets and their prompts, the
//! baselines, the lens and token plans) and the answers ([`EvalReport`]), none of
//! which needs burn, so the page's build reads reports without the trainer; the
//! plan that asks the model ([`plan`]) is the trainer's (feature `trainer`).
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

use serde::{Deserialize, Serialize};

use crate::ablation::HeadAblation;
use crate::baselines::{BaselineContext, Predictor};
use crate::config::Experiment;
pub use crate::curve::Curve;
use crate::lens::algorithms::{AlgorithmMatch, LensPlan};
use crate::lens::heads::{AttentionSnapshot, HeadScore, TokenPlan, TokenReport};
use crate::lens::lsa::HeadView;
use crate::probes::ProbeResult;
use crate::prompt::{Prompt, PromptSampler};
use crate::seeds::{rng_for, streams};
use crate::tasks::{
    LinearClassification, LinearRegression, NoisyLinearRegression, TaskFamilyConfig, TaskSource,
};
use crate::xdist::XDistConfig;

#[cfg(feature = "trainer")]
pub mod plan;
#[cfg(feature = "trainer")]
pub use plan::EvalPlan;
#[cfg(all(feature = "trainer", not(target_arch = "wasm32")))]
pub use plan::evaluate;

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
    /// ([`lens_prompts_for`]: 32, fewer for large d or interleaved tokens) for
    /// families linear in x.
    ///
    /// [`lens_prompts_for`]: crate::lens::algorithms::lens_prompts_for
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
    /// Fresh tasks with inputs from another distribution (`eval.ood`, Garg's
    /// out-of-distribution prompts): its index in that list and the distribution.
    XDist(usize, XDistConfig),
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
            EvalSet::XDist(_, d) => format!("x={}", d.name()),
        }
    }

    /// The random stream of the set's prompts.
    fn stream(self) -> u64 {
        match self {
            EvalSet::Fresh => streams::EVAL * 16,
            EvalSet::Pool => streams::EVAL * 16 + 1,
            EvalSet::Noise(i, _) => streams::EVAL * 1000 + i as u64,
            EvalSet::Task(i) => streams::EVAL * 2000 + i as u64,
            EvalSet::XDist(i, _) => streams::EVAL * 3000 + i as u64,
        }
    }

    /// The sets an experiment is evaluated on: fresh tasks; pool tasks when the pool
    /// is finite; each noise level on its own when the family mixes several; each
    /// task of a regression + classification mixture; each `eval.ood` distribution.
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
        sets.extend(
            exp.eval
                .ood
                .iter()
                .enumerate()
                .map(|(i, d)| EvalSet::XDist(i, *d)),
        );
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
    let dist = match set {
        EvalSet::XDist(_, d) => d.distribution(),
        _ => x_dist.distribution(),
    };
    let fresh = TaskSource::Fresh;
    let sampler = PromptSampler {
        family: family.as_ref(),
        source: match set {
            EvalSet::Pool => source,
            EvalSet::Fresh | EvalSet::Noise(..) | EvalSet::Task(_) | EvalSet::XDist(..) => &fresh,
        },
        x_dist: dist.as_ref(),
        dims: exp.task.dims,
        y_scale: exp.eval.y_scale,
        label_noise: exp.eval.label_noise,
    };
    let mut rng = rng_for(exp.seed, set.stream());
    sampler.sample_batch(exp.eval.prompts, exp.task.points, exp.task.dims, &mut rng)
}

/// GD steps and Newton iterations the live lens compares the model with (Newton
/// up to [`crate::lens::algorithms::NEWTON_MAX_ITERATIONS`]). Fu 2023 finds about 3 Newton
/// iterations per layer, while gradient descent needs exponentially many steps to
/// keep up with depth; on ill-conditioned inputs (skewed x, condition number 25 at
/// d = 5) GD at its best step size needs 64 steps to reach cosine 0.999 to least
/// squares where Newton needs 16 (measured by `lens::algorithms::conditioning`), so
/// GD is compared that far.
pub const LENS_STEPS: [usize; 12] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

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

/// Prompts × points² × dims² the preview may spend (a k×d solve per prediction):
/// icl-in-a-minute's 256 prompts (d = 5, 21 points), about 40 ms natively.
const PREVIEW_WORK: usize = 256 * 21 * 21 * 5 * 5;

/// The baselines' curves on fresh tasks before any training: what the page draws
/// faintly in the ICL chart until the model's first evaluation (the "ghost" of the
/// figure to come). The page computes it on its own thread, so it stays cheap:
/// closed-form baselines only (not Lasso, GD, Newton or the network fit by GD: the
/// last took 6.2 s natively on relu-nn's 256 prompts), on at most `max_prompts`
/// prompts and fewer for large tasks (garg-linear gets 16). `None` for families
/// that are not regression, or with no such baseline.
pub fn baseline_preview(exp: &Experiment, max_prompts: usize) -> Option<EvalCurves> {
    use crate::baselines::BaselineConfig as B;
    if !matches!(exp.task.family.shape(), crate::tasks::Shape::Regression) {
        return None;
    }
    let fresh = TaskSource::Fresh;
    let mut small = exp.clone();
    let per_prompt = (exp.task.points * exp.task.dims).pow(2).max(1);
    small.eval.prompts = exp
        .eval
        .prompts
        .min(max_prompts)
        .min(PREVIEW_WORK / per_prompt)
        .max(16);
    let prompts = eval_prompts(&small, &fresh, EvalSet::Fresh, &exp.x_dist);
    let configs = match &exp.eval.baselines {
        Some(list) => list.clone(),
        None => crate::baselines::defaults_for(&exp.task.family)?,
    };
    let ctx = BaselineContext {
        pool: None,
        prior_var: exp.task.family.prior_var(),
    };
    // dMMSE needs the pool, which only training draws: left out here, with the
    // iterative algorithms.
    let curves: BTreeMap<String, Curve> = configs
        .iter()
        .filter(|c| {
            matches!(
                c,
                B::Zero
                    | B::Averaging
                    | B::KNearest { .. }
                    | B::LeastSquares
                    | B::Ridge { .. }
                    | B::BayesMixture { .. }
            )
        })
        .filter_map(|c| c.build(&ctx).ok())
        .map(|b| {
            let pred = b.predict_prompts(&prompts);
            let c = baseline_curve(b.as_ref(), &prompts, &pred, exp.task.dims);
            (b.name(), c)
        })
        .collect();
    (!curves.is_empty()).then(|| EvalCurves {
        name: EvalSet::Fresh.name(),
        x_dist: exp.x_dist.name(),
        k: (0..exp.task.points).collect(),
        curves,
        distance: BTreeMap::new(),
    })
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
    /// [points][dims]; the query at position k is xs[k] unless `queries` is given.
    pub xs: Vec<Vec<f64>>,
    /// Observed labels, noise included; the true y at position k is ys[k].
    pub ys: Vec<f64>,
    pub noise_std: f64,
    pub task_index: Option<usize>,
    /// [points][dims]: the query of each position, where it is not its own point
    /// (out-of-distribution tests such as orthogonal queries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<Vec<Vec<f64>>>,
    /// The queries' labels, noise included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_ys: Option<Vec<f64>>,
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
            queries: p.queries.as_ref().map(|q| {
                (0..q.xs.nrows())
                    .map(|i| q.xs.row(i).iter().copied().collect())
                    .collect()
            }),
            query_ys: p.queries.as_ref().map(|q| q.ys.iter().copied().collect()),
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
                .map(|(p, pred)| (pred[k] - p.target(k)).powi(2) / dims as f64)
                .collect()
        })
        .collect();
    Curve::from_samples(&samples)
}

/// A baseline's curve. For one that does not read the context (the zero predictor)
/// the error at every k has the same distribution, so each prompt's errors are
/// averaged over k first and the curve is their mean and standard error across
/// prompts, the same at every k: a flat line where 256 prompts per k wobbled
/// between 0.83 and 1.13 on icl-in-a-minute. The mean is the per-k means' mean.
pub fn baseline_curve(
    predictor: &dyn Predictor,
    prompts: &[Prompt],
    predictions: &[Vec<f64>],
    dims: usize,
) -> Curve {
    if predictor.reads_context() {
        return curve(prompts, predictions, dims);
    }
    let n = prompts[0].points();
    let per_prompt: Vec<f64> = prompts
        .iter()
        .zip(predictions)
        .map(|(p, pred)| {
            (0..n).map(|k| (pred[k] - p.target(k)).powi(2)).sum::<f64>() / (n * dims) as f64
        })
        .collect();
    let pooled = Curve::from_samples(std::slice::from_ref(&per_prompt));
    Curve {
        mean: vec![pooled.mean[0]; n],
        stderr: vec![pooled.stderr[0]; n],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_draws_the_baselines_before_training() {
        let exp = crate::presets::preset("icl-in-a-minute").unwrap();
        let p = baseline_preview(&exp, 64).expect("a regression preset");
        assert_eq!(p.k.len(), exp.task.points);
        assert!(!p.curves.contains_key("model"));
        // Least squares pins a noise-free task down from k = d on; averaging cannot.
        let d = exp.task.dims;
        let ls = &p.curves["least_squares"].mean;
        let avg = &p.curves["averaging"].mean;
        assert!(ls[d + 1] < 1e-6, "{ls:?}");
        assert!(avg[d + 1] > 0.1, "{avg:?}");
        // The iterative baselines are left to the model's first evaluation (the
        // network fit by GD took 6.2 s on relu-nn's prompts).
        let relu = crate::presets::preset("relu-nn").unwrap();
        let p = baseline_preview(&relu, 256).unwrap();
        assert!(!p.curves.contains_key("nn_gd") && p.curves.contains_key("least_squares"));
        // Token runs have no such figure.
        let tokens = crate::presets::preset("induction-phase-change").unwrap();
        assert!(baseline_preview(&tokens, 64).is_none());
    }

    /// Bai's selection, shown with the baselines alone before any model is trained:
    /// in `algorithm-selection-noise` ridge with the λ of one noise level is clearly
    /// worse than ridge with the other level's λ on that other level, at some k
    /// (so one λ, whichever, cannot pass for selection there), and the Bayes-optimal
    /// mixture predictor, which selects from the prompt, is close to the tuned ridge
    /// at both. The k found per level is the one the preset's claims read.
    #[test]
    fn algorithm_selection_noise_needs_selection_and_the_bayes_mixture_has_it() {
        use crate::baselines::{BaselineConfig as B, BaselineContext, Predictor};
        let mut e = crate::presets::preset("algorithm-selection-noise").unwrap();
        e.eval.prompts = 2048;
        let TaskFamilyConfig::NoisyLinear { noise } = e.task.family.clone() else {
            panic!("a noise mixture")
        };
        assert_eq!(noise.len(), 2);
        let ctx = BaselineContext {
            pool: None,
            prior_var: e.task.family.prior_var(),
        };
        let build = |c: B| c.build(&ctx).unwrap();
        let tuned = build(B::Ridge { lambda: None });
        let fixed: Vec<Box<dyn Predictor>> = noise
            .iter()
            .map(|s| {
                build(B::Ridge {
                    lambda: Some(s * s),
                })
            })
            .collect();
        let mixture = build(B::BayesMixture {
            noise: noise.clone(),
        });
        let sets: Vec<EvalSet> = EvalSet::for_experiment(&e)
            .into_iter()
            .filter(|s| matches!(s, EvalSet::Noise(..)))
            .collect();
        for (i, set) in sets.iter().enumerate() {
            let prompts = eval_prompts(&e, &TaskSource::Fresh, *set, &e.x_dist);
            let c =
                |p: &dyn Predictor| curve(&prompts, &p.predict_prompts(&prompts), e.task.dims).mean;
            let (t, right, wrong, m) = (
                c(tuned.as_ref()),
                c(fixed[i].as_ref()),
                c(fixed[1 - i].as_ref()),
                c(mixture.as_ref()),
            );
            eprintln!("{}: tuned / own λ / other λ / mixture by k", set.name());
            for k in 1..e.task.points {
                eprintln!(
                    "  k={k:2} {:.4} {:.4} {:.4} {:.4}  other/own {:.2}",
                    t[k],
                    right[k],
                    wrong[k],
                    m[k],
                    wrong[k] / right[k]
                );
            }
            let k = (1..e.task.points)
                .max_by(|a, b| (wrong[*a] / right[*a]).total_cmp(&(wrong[*b] / right[*b])))
                .unwrap();
            let gap = wrong[k] / right[k];
            eprintln!(
                "{}: k = {k}, the other level's λ is {gap:.2}× its own",
                set.name()
            );
            assert!(gap >= 1.25, "{}: k = {k}, only {gap:.2}×", set.name());
            // Not the oracle (a few examples leave σ uncertain) but far nearer it
            // than the wrong λ.
            assert!(
                m[k] <= 1.25 * t[k],
                "{}: mixture {} vs tuned {}",
                set.name(),
                m[k],
                t[k]
            );
            assert_eq!(
                k,
                ALGORITHM_SELECTION_K[i],
                "{}: the claims read k = {}",
                set.name(),
                ALGORITHM_SELECTION_K[i]
            );
        }
    }

    /// The k at which `algorithm-selection-noise`'s claims compare the model with
    /// the two one-λ ridges at each level (found by the test above).
    const ALGORITHM_SELECTION_K: [usize; 2] = [6, 5];

    #[test]
    fn the_zero_predictor_is_pooled_over_k_and_keeps_its_mean() {
        let exp = crate::presets::preset("icl-in-a-minute").unwrap();
        let prompts = eval_prompts(&exp, &TaskSource::Fresh, EvalSet::Fresh, &exp.x_dist);
        let pred = crate::baselines::Zero.predict_prompts(&prompts);
        let per_k = curve(&prompts, &pred, exp.task.dims);
        let pooled = baseline_curve(&crate::baselines::Zero, &prompts, &pred, exp.task.dims);
        let n = per_k.mean.len();
        // Flat, with the per-k means' mean, where the per-k curve wobbles.
        let mean = per_k.mean.iter().sum::<f64>() / n as f64;
        assert!(
            pooled.mean.iter().all(|m| (m - mean).abs() < 1e-12),
            "{pooled:?}"
        );
        let spread = |v: &[f64]| {
            v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
        };
        assert!(spread(&per_k.mean) > 0.05, "per-k curve {:?}", per_k.mean);
        // Its standard error is across prompts: smaller than one position's, not
        // the √n smaller that treating correlated positions as independent gives.
        assert!(
            pooled.stderr[0] < per_k.stderr[0],
            "{pooled:?} vs {per_k:?}"
        );
        assert!(
            pooled.stderr[0] > per_k.stderr[0] / (n as f64).sqrt(),
            "{pooled:?}"
        );
        // A predictor that reads the context keeps its curve per k.
        let ls = crate::baselines::LeastSquares;
        let ls_pred = ls.predict_prompts(&prompts);
        assert_eq!(
            baseline_curve(&ls, &prompts, &ls_pred, exp.task.dims),
            curve(&prompts, &ls_pred, exp.task.dims)
        );
    }

    #[test]
    fn curve_mean_and_stderr_by_hand() {
        let p = |y: f64| Prompt {
            xs: nalgebra::DMatrix::zeros(1, 2),
            ys: nalgebra::DVector::from_element(1, y),
            noise_std: 0.0,
            task_index: None,
            queries: None,
        };
        // errors/d: (2²)/2 = 2 and (0²)/2 = 0 → mean 1, sd √2, stderr 1
        let c = curve(&[p(2.0), p(1.0)], &[vec![0.0], vec![1.0]], 2);
        assert_eq!(c.mean, vec![1.0]);
        assert!((c.stderr[0] - 1.0).abs() < 1e-12);
    }
}
