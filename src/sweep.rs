//! Sweeps: one small run per value of one data property, and the final metric against
//! the property — the threshold curve (Raventós's M*, Chan's burstiness, Zipf's α).
//!
//! The same [`SweepSpec`] drives the CLI (`icl-lab sweep --vary path=v1,v2,…`) and the
//! browser's sweep panel; both write a [`SweepSummary`], which the browser can load
//! and plot.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ConfigError, Experiment};
use crate::eval::EvalReport;
use crate::metric::{Head, Metric, Metrics};
use crate::probes::Probe;

/// Most values one sweep may vary over.
pub const MAX_VALUES: usize = 64;
/// Most seeds per value: enough for a standard error, few enough that a typo
/// (`--seeds 500`) is caught rather than queued.
pub const MAX_SEEDS: usize = 32;

/// Which field to vary, its values, and how many seeds each value runs with.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// A config path, e.g. `task.pool` or `task.family.p_bursty`.
    pub path: String,
    /// One run per value (per seed), in order.
    pub values: Vec<Value>,
    /// Runs per value, seeded `seed`, `seed + 1`, … from the base experiment's
    /// seed; the summary gives each value's mean ± standard error across them.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub seeds: usize,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// One run of a sweep: a value with one seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepTask {
    pub value: Value,
    /// The run's seed (`experiment.seed`).
    pub seed: u64,
    pub experiment: Experiment,
}

/// Why a sweep could not be set up. Worded for any caller: the CLI puts its flag
/// (`--vary`) in front, the page shows it under the sweep's fields.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}: expected path=v1,v2,… (e.g. task.pool=2,8,32 or task.pool=2^1..2^6)")]
    Syntax(String),
    #[error("{path}: {why}")]
    Values { path: String, why: String },
    /// (`why` is not a `source`: the message already says it, and a chained
    /// source printed the cause a second time.)
    #[error("{path} = {value}: {why}")]
    Invalid {
        path: String,
        value: String,
        why: ConfigError,
    },
    #[error("seeds {0}: must be from 1 to {MAX_SEEDS}")]
    Seeds(usize),
    #[error(
        "seeds {0}: a sweep of `seed` itself already gives one run per seed; use 1 seed, or vary another field"
    )]
    SeedsOfSeed(usize),
}

impl SweepSpec {
    /// Parses `path=v1,v2,…`; a value `2^a..2^b` expands to the powers of two from
    /// 2^a to 2^b, and `a..b` (integers) to every integer between. Values are read as
    /// JSON when they parse as JSON (`null`, numbers), else as strings.
    pub fn parse(text: &str) -> Result<Self, SweepError> {
        let (path, list) = text
            .split_once('=')
            .ok_or_else(|| SweepError::Syntax(text.to_string()))?;
        let path = path.trim().to_string();
        if path.is_empty() {
            return Err(SweepError::Syntax(text.to_string()));
        }
        let bad = |why: String| SweepError::Values {
            path: path.clone(),
            why,
        };
        let mut values = Vec::new();
        for item in top_level_items(list) {
            // `a..b` or `2^a..2^b` with integers is a range; anything else with `..`
            // in it (a string value) is a value.
            let range = item.split_once("..").and_then(|(a, b)| {
                let pow = |s: &str| s.trim().strip_prefix("2^").map(str::to_string);
                let (lo, hi, powers) = match (pow(a), pow(b)) {
                    (Some(a), Some(b)) => (a, b, true),
                    (None, None) => (a.trim().to_string(), b.trim().to_string(), false),
                    _ => return None,
                };
                Some((lo.parse::<u32>().ok()?, hi.parse::<u32>().ok()?, powers))
            });
            if let Some((lo, hi, powers)) = range {
                if lo > hi || (powers && hi > 40) {
                    return Err(bad(format!(
                        "`{item}`: the range must run upwards{}",
                        if powers { " and end by 2^40" } else { "" }
                    )));
                }
                // Counted before anything is listed: a huge range is refused with
                // its true size.
                let count = (hi - lo) as usize + 1;
                if values.len() + count > MAX_VALUES {
                    return Err(bad(format!(
                        "`{item}` is {count} values{}; a sweep runs at most {MAX_VALUES}",
                        if values.is_empty() {
                            String::new()
                        } else {
                            format!(" after {} others", values.len())
                        }
                    )));
                }
                values.extend(
                    (lo..=hi).map(|i| Value::from(if powers { 1u64 << i } else { i as u64 })),
                );
            } else {
                values.push(serde_json::from_str(item).unwrap_or_else(|_| Value::from(item)));
            }
        }
        if values.is_empty() {
            return Err(bad("no values".into()));
        }
        if values.len() > MAX_VALUES {
            return Err(bad(format!(
                "{} values; a sweep runs at most {MAX_VALUES}",
                values.len()
            )));
        }
        Ok(Self {
            path,
            values,
            seeds: 1,
        })
    }

    /// The same sweep with `seeds` seeds per value (checked: 1 to [`MAX_SEEDS`],
    /// and not on a sweep of `seed` itself).
    pub fn with_seeds(mut self, seeds: usize) -> Result<Self, SweepError> {
        if seeds == 0 || seeds > MAX_SEEDS {
            return Err(SweepError::Seeds(seeds));
        }
        if seeds > 1 && self.path == "seed" {
            return Err(SweepError::SeedsOfSeed(seeds));
        }
        self.seeds = seeds;
        Ok(self)
    }

    /// Every run of the sweep, value by value and each value's seeds in turn
    /// (seed `base.seed + s`), each validated; the first bad value is named.
    pub fn tasks(&self, base: &Experiment) -> Result<Vec<SweepTask>, SweepError> {
        if self.seeds == 0 || self.seeds > MAX_SEEDS {
            return Err(SweepError::Seeds(self.seeds));
        }
        let mut tasks = Vec::with_capacity(self.values.len() * self.seeds);
        for (value, exp) in self.values.iter().zip(self.experiments(base)?) {
            for s in 0..self.seeds as u64 {
                let mut experiment = exp.clone();
                if self.seeds > 1 {
                    experiment.seed = exp.seed.wrapping_add(s);
                }
                tasks.push(SweepTask {
                    value: value.clone(),
                    seed: experiment.seed,
                    experiment,
                });
            }
        }
        Ok(tasks)
    }

    /// The experiment of every value, each validated; the first bad value is named.
    pub fn experiments(&self, base: &Experiment) -> Result<Vec<Experiment>, SweepError> {
        self.values
            .iter()
            .map(|v| {
                base.with_overrides(&[format!("{}={}", self.path, v)])
                    .map_err(|why| SweepError::Invalid {
                        path: self.path.clone(),
                        value: v.to_string(),
                        why,
                    })
            })
            .collect()
    }
}

/// The comma-separated items of a value list, commas inside JSON brackets, braces
/// or strings kept (`[0.1,0.5],[1]` is two values), trimmed, empty ones dropped.
fn top_level_items(list: &str) -> Vec<&str> {
    let (mut items, mut depth, mut in_string, mut escaped, mut start) =
        (Vec::new(), 0i32, false, false, 0);
    for (i, c) in list.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth <= 0 => {
                items.push(list[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(list[start..].trim());
    items.retain(|s| !s.is_empty());
    items
}

/// A value written for a file name or an axis label: `2048`, `0.9`, `null`.
pub fn value_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value as a number on a chart's x axis (`null`, i.e. an infinite pool, is ∞).
pub fn value_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Null => Some(f64::INFINITY),
        _ => None,
    }
}

/// The numbers a finished run is summarised by (see [`Metric`]):
/// - classification: the model's probe accuracies (`icl`, `in_weights`, …);
/// - regression: the model's normalised error with all examples on each evaluation
///   set (`fresh_error`), each baseline's (`fresh_error_ridge`), and how far the
///   model's predictions are from each baseline's (`fresh_distance_ridge`);
/// - the algorithm lens, token runs and head scores where the report has them.
pub fn final_metrics(report: &EvalReport) -> Metrics {
    let mut m = Metrics::new();
    for p in &report.probes {
        if let (Some(s), Ok(Metric::Probe(probe))) = (p.scores.get("model"), p.name.parse()) {
            m.insert(Metric::Probe(probe), s.mean);
        }
    }
    for e in &report.evals {
        for (name, c) in &e.curves {
            if let Some(last) = c.mean.last() {
                let predictor = (name != "model").then(|| name.clone());
                let key = Metric::Error {
                    set: e.name.clone(),
                    predictor,
                };
                m.insert(key, *last);
            }
        }
        for (name, d) in &e.distance {
            m.insert(Metric::distance(&e.name, name), *d);
        }
    }
    if let Some(a) = &report.algorithms {
        // The algorithm lens over k ≥ 2: each algorithm's mean cosine and prediction
        // difference, and the GD steps / Newton iterations the model matches best
        // (what a depth sweep plots against depth, after Fu 2023).
        for name in a.prediction_difference.keys() {
            if let Some(c) = a.mean_cosine(name) {
                m.insert(Metric::LensCosine(name.clone()), c);
            }
            if let Some(d) = a.mean_difference(name) {
                m.insert(Metric::LensDifference(name.clone()), d);
            }
        }
        for (prefix, count, fit) in [
            ("gd_", Metric::LensGdSteps, Metric::LensGdMatch),
            (
                "newton_",
                Metric::LensNewtonIterations,
                Metric::LensNewtonMatch,
            ),
        ] {
            if let Some(t) = a.best_count(prefix) {
                m.insert(count, t as f64);
            }
            // How well the family fits at its best count: which of GD and Newton
            // the model follows (Fu 2023), not only how far each got.
            if let Some(c) = a
                .best_member(prefix, &[])
                .and_then(|best| a.mean_cosine(&best))
            {
                m.insert(fit, c);
            }
        }
    }
    if let Some(t) = &report.tokens {
        // Token runs: the ICL score, the loss where the copy rule applies and where
        // it does not. Then, for token and classification runs, every head's scores
        // with the best prefix-matching score (what a depth sweep reads) and what a
        // uniform head would score.
        m.insert(Metric::IclScore, t.icl_score);
        m.insert(
            Metric::Loss,
            t.loss.mean.iter().sum::<f64>() / t.loss.mean.len().max(1) as f64,
        );
        m.insert(Metric::RepeatLoss, t.repeat_loss);
        m.insert(Metric::NewLoss, t.new_loss);
    }
    if let Some(u) = report.uniform_prefix_matching {
        m.insert(Metric::PrefixMatching(Head::Uniform), u);
    }
    for h in &report.heads {
        let at = Head::At {
            layer: h.layer + 1,
            head: h.head + 1,
        };
        m.insert(Metric::PrefixMatching(at), h.prefix_matching);
        m.insert(Metric::PreviousToken(at), h.previous_token);
        if let Some(c) = h.copying {
            m.insert(Metric::Copying(at), c);
        }
    }
    // Linear self-attention heads against von Oswald's construction.
    for v in &report.lsa {
        let at = Head::At {
            layer: v.layer + 1,
            head: v.head + 1,
        };
        m.insert(Metric::LsaKqIdentity(at), v.kq_identity);
        m.insert(Metric::LsaKqShare(at), v.kq_share);
        m.insert(Metric::LsaPvShare(at), v.pv_share);
    }
    if let Some(b) = report.best_induction_head() {
        m.insert(Metric::PrefixMatching(Head::Max), b.prefix_matching);
    }
    m
}

/// Metrics drawn together: the error on each task of the regression +
/// classification mixture, the lens's best GD steps and Newton iterations (what
/// a depth sweep plots, after Fu 2023) and how well each fits at that count.
pub fn combined() -> [Vec<Metric>; 3] {
    [
        vec![Metric::error("regression"), Metric::error("classification")],
        vec![Metric::LensGdSteps, Metric::LensNewtonIterations],
        vec![Metric::LensGdMatch, Metric::LensNewtonMatch],
    ]
}

/// The metrics a threshold curve shows by default for this kind of run.
pub fn default_metric(report: &EvalReport) -> Vec<Metric> {
    if !report.probes.is_empty() {
        vec![Metric::Probe(Probe::Icl)]
    } else if report.tokens.is_some() {
        vec![Metric::PrefixMatching(Head::Max)]
    } else if report.eval("classification").is_some() && report.eval("regression").is_some() {
        let [mixture, _, _] = combined();
        mixture
    } else {
        vec![Metric::error("fresh")]
    }
}

/// One finished run of a sweep.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepPoint {
    pub value: Value,
    /// The run's seed, in a sweep with several seeds per value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Steps trained.
    pub step: usize,
    pub metrics: Metrics,
    /// The run's directory, relative to the summary (CLI sweeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// `summary.json` of a sweep: what the threshold curve is drawn from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepSummary {
    /// Marks the file as a sweep summary (the browser checks it on load).
    pub kind: String,
    pub path: String,
    pub values: Vec<Value>,
    /// Runs per value (absent in a summary of one seed per value).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub seeds: usize,
    /// The experiment every run started from (before the varied field).
    pub base: Experiment,
    /// Finished runs, in the order of `values` (a cancelled sweep has fewer).
    pub points: Vec<SweepPoint>,
    /// Runs with no result yet (a SLURM sweep collected while running, or with
    /// failed tasks): what each is and where its log is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<Unfinished>,
}

/// A sweep's run that has not finished, as `icl-lab sweep collect` found it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Unfinished {
    /// The SLURM array index.
    pub task: usize,
    pub value: Value,
    pub seed: u64,
    /// The run's directory, relative to the summary.
    pub run: String,
    /// The task's SLURM log, relative to the summary (written or not).
    pub log: String,
    /// What the files say: "not started", "stopped at step 300 of 1000", "failed
    /// (exit status 1)", "diverged: …".
    pub state: String,
    /// True when the task failed rather than not having run (yet).
    pub failed: bool,
}

/// One value's runs, summarised across seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub value: Value,
    pub mean: f64,
    /// Standard error of the mean (sample s.d. / √n); `None` with one run.
    pub stderr: Option<f64>,
    /// Each seed's value.
    pub each: Vec<f64>,
}

pub const SUMMARY_KIND: &str = "icl-lab sweep";

impl SweepSummary {
    pub fn new(spec: &SweepSpec, base: &Experiment) -> Self {
        Self {
            kind: SUMMARY_KIND.into(),
            path: spec.path.clone(),
            values: spec.values.clone(),
            seeds: spec.seeds,
            base: base.clone(),
            points: Vec::new(),
            unfinished: Vec::new(),
        }
    }

    /// Planned runs: one per value and seed.
    pub fn planned(&self) -> usize {
        self.values.len() * self.seeds.max(1)
    }

    /// `metric` for each value with a finished run, in the order of `values`: the
    /// mean over its seeds, their standard error and each seed's value.
    pub fn aggregate(&self, metric: &Metric) -> Vec<Aggregate> {
        self.values
            .iter()
            .filter_map(|value| {
                let each: Vec<f64> = self
                    .points
                    .iter()
                    .filter(|p| p.value == *value)
                    .filter_map(|p| p.metrics.get(metric).copied())
                    .collect();
                if each.is_empty() {
                    return None;
                }
                let n = each.len() as f64;
                let mean = each.iter().sum::<f64>() / n;
                let stderr = (each.len() > 1).then(|| {
                    let var = each.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
                    (var / n).sqrt()
                });
                Some(Aggregate {
                    value: value.clone(),
                    mean,
                    stderr,
                    each,
                })
            })
            .collect()
    }

    /// Reads a summary, saying what is wrong with a file that is not one.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let s: SweepSummary =
            serde_json::from_str(text).map_err(|e| format!("not an icl-lab sweep summary: {e}"))?;
        if s.kind != SUMMARY_KIND {
            return Err(format!(
                "not an icl-lab sweep summary: kind is `{}`, expected `{SUMMARY_KIND}`",
                s.kind
            ));
        }
        Ok(s)
    }

    /// The least-squares line through (value, metric) over the finished points
    /// with numeric values: (slope, intercept). A depth sweep's
    /// `lens_newton_iterations` slope is Fu's Newton iterations per layer.
    pub fn slope(&self, metric: &Metric) -> Option<(f64, f64)> {
        let xy: Vec<(f64, f64)> = self
            .points
            .iter()
            .filter_map(|p| Some((value_number(&p.value)?, *p.metrics.get(metric)?)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        if xy.len() < 2 {
            return None;
        }
        let n = xy.len() as f64;
        let (mx, my) = (
            xy.iter().map(|p| p.0).sum::<f64>() / n,
            xy.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
        if sxx == 0.0 {
            return None;
        }
        let slope = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx;
        Some((slope, my - slope * mx))
    }

    /// The charts a summary can draw: each metric present in every point, then the
    /// [`combined`] ones whose parts all are.
    pub fn metrics(&self) -> Vec<Vec<Metric>> {
        let Some(first) = self.points.first() else {
            return Vec::new();
        };
        let names: Vec<&Metric> = first
            .metrics
            .keys()
            .filter(|k| self.points.iter().all(|p| p.metrics.contains_key(*k)))
            .collect();
        let mut out: Vec<Vec<Metric>> = names.iter().map(|m| vec![(*m).clone()]).collect();
        out.extend(
            combined()
                .into_iter()
                .filter(|c| c.iter().all(|m| names.contains(&m))),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_ranges_and_powers_of_two() {
        let s = SweepSpec::parse("task.pool=2^1..2^4,null").unwrap();
        assert_eq!(s.path, "task.pool");
        assert_eq!(
            s.values,
            vec![
                Value::from(2),
                Value::from(4),
                Value::from(8),
                Value::from(16),
                Value::Null
            ]
        );
        let s = SweepSpec::parse("task.family.p_bursty=0, 0.5,1").unwrap();
        assert_eq!(s.values.len(), 3);
        assert_eq!(s.values[1], Value::from(0.5));
        let s = SweepSpec::parse("model.layers=1..3").unwrap();
        assert_eq!(
            s.values,
            vec![Value::from(1), Value::from(2), Value::from(3)]
        );
        let s = SweepSpec::parse("model.attention=softmax,linear").unwrap();
        assert_eq!(s.values[1], Value::from("linear"));
        // JSON values keep their commas: lists, objects and strings.
        let s = SweepSpec::parse(r#"task.family.noise=[0.1,0.5], [1],"a,b""#).unwrap();
        assert_eq!(
            s.values,
            vec![
                serde_json::json!([0.1, 0.5]),
                serde_json::json!([1]),
                Value::from("a,b")
            ]
        );
        let s = SweepSpec::parse(r#"eval.baselines=[{"kind":"zero"},{"kind":"averaging"}],null"#)
            .unwrap();
        assert_eq!(s.values.len(), 2);
    }

    #[test]
    fn bad_specs_say_why() {
        let e = SweepSpec::parse("task.pool").unwrap_err().to_string();
        assert!(e.contains("path=v1,v2"), "{e}");
        let e = SweepSpec::parse("task.pool=").unwrap_err().to_string();
        assert!(e.contains("no values"), "{e}");
        let e = SweepSpec::parse("task.pool=2^5..2^2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("upwards"), "{e}");
        let e = SweepSpec::parse("task.pool=1..1000")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 64"), "{e}");
        // The count is the range's own (it once said "65 values" for any big range).
        let e = SweepSpec::parse("task.pool=1..100000")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`1..100000` is 100000 values"), "{e}");
        let e = SweepSpec::parse("task.pool=7,1..64")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is 64 values after 1 others"), "{e}");
        // `..` in a value that is not an integer range is a value.
        let s = SweepSpec::parse("eval.note=a..b,c").unwrap();
        assert_eq!(s.values, vec![Value::from("a..b"), Value::from("c")]);
        let spec = SweepSpec::parse("task.dims=4,999").unwrap();
        let e = spec
            .experiments(&Experiment::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("task.dims = 999"), "{e}");
        let spec = SweepSpec::parse("task.dimz=4").unwrap();
        let e = spec
            .experiments(&Experiment::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("dimz"), "{e}");
    }

    #[test]
    fn each_value_lands_in_its_experiment() {
        let spec = SweepSpec::parse("task.pool=2,8,null").unwrap();
        let exps = spec.experiments(&Experiment::default()).unwrap();
        let pools: Vec<_> = exps.iter().map(|e| e.task.pool).collect();
        assert_eq!(pools, vec![Some(2), Some(8), None]);
        assert_eq!(value_number(&Value::Null), Some(f64::INFINITY));
        assert_eq!(value_label(&Value::from(8)), "8");
    }

    #[test]
    fn summary_round_trips_and_refuses_other_files() {
        let spec = SweepSpec::parse("task.pool=2,8").unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        s.points.push(SweepPoint {
            value: Value::from(2),
            seed: None,
            step: 10,
            metrics: [(Metric::error("fresh"), 0.5)].into(),
            run: Some("00-task.pool=2".into()),
        });
        let back = SweepSummary::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.metrics(), vec![vec![Metric::error("fresh")]]);
        let e = SweepSummary::from_json(r#"{"version":1}"#).unwrap_err();
        assert!(e.contains("not an icl-lab sweep summary"), "{e}");
    }

    #[test]
    fn slope_through_the_points_by_hand() {
        let spec = SweepSpec::parse("model.layers=1..3").unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        let point = |layers: i64, t: f64| SweepPoint {
            value: Value::from(layers),
            seed: None,
            step: 10,
            metrics: [(Metric::LensNewtonIterations, t)].into(),
            run: None,
        };
        s.points.push(point(1, 2.0));
        assert_eq!(s.slope(&Metric::LensNewtonIterations), None, "one point");
        // (1, 2), (2, 6), (3, 8): slope 3, intercept −2/3.
        s.points.extend([point(2, 6.0), point(3, 8.0)]);
        let (m, c) = s.slope(&Metric::LensNewtonIterations).unwrap();
        assert!(
            (m - 3.0).abs() < 1e-12 && (c + 2.0 / 3.0).abs() < 1e-12,
            "{m} {c}"
        );
        assert_eq!(s.slope(&Metric::LensGdSteps), None);
    }
}
