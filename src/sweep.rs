//! Sweeps: one small run per value of one data property, and the final metric against
//! the property — the threshold curve (Raventós's M*, Chan's burstiness, Zipf's α).
//!
//! The same [`SweepSpec`] drives the CLI (`icl-lab sweep --vary path=v1,v2,…`) and the
//! browser's sweep panel; both write a [`SweepSummary`], which the browser can load
//! and plot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{ConfigError, Experiment};
use crate::eval::EvalReport;

/// Most runs one sweep may queue.
pub const MAX_VALUES: usize = 64;

/// Which field to vary and its values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// A config path, e.g. `task.pool` or `task.family.p_bursty`.
    pub path: String,
    /// One run per value, in order.
    pub values: Vec<Value>,
}

/// Why a sweep could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("--vary {0}: expected path=v1,v2,… (e.g. task.pool=2,8,32 or task.pool=2^1..2^6)")]
    Syntax(String),
    #[error("--vary {path}: {why}")]
    Values { path: String, why: String },
    #[error("{path} = {value}: {source}")]
    Invalid {
        path: String,
        value: String,
        source: ConfigError,
    },
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
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some((a, b)) = item.split_once("..") {
                let pow = |s: &str| s.trim().strip_prefix("2^").map(str::to_string);
                let (lo, hi, powers) = match (pow(a), pow(b)) {
                    (Some(a), Some(b)) => (a, b, true),
                    (None, None) => (a.trim().to_string(), b.trim().to_string(), false),
                    _ => return Err(bad(format!("`{item}`: write 2^a..2^b or a..b"))),
                };
                let lo: u32 = lo
                    .parse()
                    .map_err(|_| bad(format!("`{item}`: not an integer range")))?;
                let hi: u32 = hi
                    .parse()
                    .map_err(|_| bad(format!("`{item}`: not an integer range")))?;
                if lo > hi || (powers && hi > 40) {
                    return Err(bad(format!(
                        "`{item}`: the range must run upwards{}",
                        if powers { " and end by 2^40" } else { "" }
                    )));
                }
                for i in lo..=hi {
                    values.push(Value::from(if powers { 1u64 << i } else { i as u64 }));
                    if values.len() > MAX_VALUES {
                        break;
                    }
                }
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
        Ok(Self { path, values })
    }

    /// The experiment of every value, each validated; the first bad value is named.
    pub fn experiments(&self, base: &Experiment) -> Result<Vec<Experiment>, SweepError> {
        self.values
            .iter()
            .map(|v| {
                base.with_overrides(&[format!("{}={}", self.path, v)])
                    .map_err(|source| SweepError::Invalid {
                        path: self.path.clone(),
                        value: v.to_string(),
                        source,
                    })
            })
            .collect()
    }
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

/// The numbers a finished run is summarised by, by name:
/// - classification: `icl`, `in_weights`, `flipped_context`, `flipped_prior` (the
///   model's probe accuracies);
/// - regression: `<set>_error` (the model's normalised error with all examples, on
///   `fresh` and `pool` tasks), `<set>_error_<baseline>` (each baseline's), and
///   `<set>_distance_<baseline>` (how far the model's predictions are from each
///   baseline's).
pub fn final_metrics(report: &EvalReport) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for p in &report.probes {
        if let Some(s) = p.scores.get("model") {
            m.insert(p.name.clone(), s.mean);
        }
    }
    for e in &report.evals {
        for (name, c) in &e.curves {
            if let Some(last) = c.mean.last() {
                let key = if name == "model" {
                    format!("{}_error", e.name)
                } else {
                    format!("{}_error_{name}", e.name)
                };
                m.insert(key, *last);
            }
        }
        for (name, d) in &e.distance {
            m.insert(format!("{}_distance_{name}", e.name), *d);
        }
    }
    if let Some(a) = &report.algorithms {
        // The algorithm lens over k ≥ 2: each algorithm's mean cosine and prediction
        // difference, and the GD steps / Newton iterations the model matches best
        // (what a depth sweep plots against depth, after Fu 2023).
        for name in a.prediction_difference.keys() {
            if let Some(c) = a.mean_cosine(name) {
                m.insert(format!("lens_cosine_{name}"), c);
            }
            if let Some(d) = a.mean_difference(name) {
                m.insert(format!("lens_difference_{name}"), d);
            }
        }
        if let Some(t) = a.best_count("gd_") {
            m.insert("lens_gd_steps".into(), t as f64);
        }
        if let Some(t) = a.best_count("newton_") {
            m.insert("lens_newton_iterations".into(), t as f64);
        }
    }
    if let Some(t) = &report.tokens {
        // Token runs: the ICL score, the loss where the copy rule applies and where
        // it does not, and what a uniform head would score. Then, for token and
        // classification runs, every head's scores (`prefix_matching_L1H2`, …) with
        // the best prefix-matching score (what a depth sweep reads).
        m.insert("icl_score".into(), t.icl_score);
        m.insert(
            "loss".into(),
            t.loss.mean.iter().sum::<f64>() / t.loss.mean.len().max(1) as f64,
        );
        m.insert("repeat_loss".into(), t.repeat_loss);
        m.insert("new_loss".into(), t.new_loss);
    }
    if let Some(u) = report.uniform_prefix_matching {
        m.insert("prefix_matching_uniform".into(), u);
    }
    for h in &report.heads {
        m.insert(format!("prefix_matching_{}", h.label()), h.prefix_matching);
        m.insert(format!("previous_token_{}", h.label()), h.previous_token);
        if let Some(c) = h.copying {
            m.insert(format!("copying_{}", h.label()), c);
        }
    }
    if let Some(b) = report.best_induction_head() {
        m.insert("prefix_matching_max".into(), b.prefix_matching);
    }
    m
}

/// Metrics drawn together (a comma joins them): the error on each task of the
/// regression + classification mixture, and the lens's best GD steps and Newton
/// iterations (what a depth sweep plots, after Fu 2023).
pub const COMBINED: [&str; 2] = [
    "regression_error,classification_error",
    "lens_gd_steps,lens_newton_iterations",
];

/// The metric a threshold curve shows by default for this kind of run.
pub fn default_metric(report: &EvalReport) -> &'static str {
    if !report.probes.is_empty() {
        "icl"
    } else if report.tokens.is_some() {
        "prefix_matching_max"
    } else if report.eval("classification").is_some() && report.eval("regression").is_some() {
        COMBINED[0]
    } else {
        "fresh_error"
    }
}

/// One finished run of a sweep.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepPoint {
    pub value: Value,
    /// Steps trained.
    pub step: usize,
    pub metrics: BTreeMap<String, f64>,
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
    /// The experiment every run started from (before the varied field).
    pub base: Experiment,
    /// Finished runs, in the order of `values` (a cancelled sweep has fewer).
    pub points: Vec<SweepPoint>,
}

pub const SUMMARY_KIND: &str = "icl-lab sweep";

impl SweepSummary {
    pub fn new(spec: &SweepSpec, base: &Experiment) -> Self {
        Self {
            kind: SUMMARY_KIND.into(),
            path: spec.path.clone(),
            values: spec.values.clone(),
            base: base.clone(),
            points: Vec::new(),
        }
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
    pub fn slope(&self, metric: &str) -> Option<(f64, f64)> {
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

    /// Metric names present in every point, then the [`COMBINED`] ones whose parts
    /// all are.
    pub fn metrics(&self) -> Vec<String> {
        let Some(first) = self.points.first() else {
            return Vec::new();
        };
        let mut names: Vec<String> = first
            .metrics
            .keys()
            .filter(|k| self.points.iter().all(|p| p.metrics.contains_key(*k)))
            .cloned()
            .collect();
        let combined: Vec<String> = COMBINED
            .iter()
            .filter(|c| c.split(',').all(|m| names.iter().any(|n| n == m)))
            .map(|c| c.to_string())
            .collect();
        names.extend(combined);
        names
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
            step: 10,
            metrics: [("fresh_error".to_string(), 0.5)].into(),
            run: Some("00-task.pool=2".into()),
        });
        let back = SweepSummary::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.metrics(), vec!["fresh_error".to_string()]);
        let e = SweepSummary::from_json(r#"{"version":1}"#).unwrap_err();
        assert!(e.contains("not an icl-lab sweep summary"), "{e}");
    }

    #[test]
    fn slope_through_the_points_by_hand() {
        let spec = SweepSpec::parse("model.layers=1..3").unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        let point = |layers: i64, t: f64| SweepPoint {
            value: Value::from(layers),
            step: 10,
            metrics: [("lens_newton_iterations".to_string(), t)].into(),
            run: None,
        };
        s.points.push(point(1, 2.0));
        assert_eq!(s.slope("lens_newton_iterations"), None, "one point");
        // (1, 2), (2, 6), (3, 8): slope 3, intercept −2/3.
        s.points.extend([point(2, 6.0), point(3, 8.0)]);
        let (m, c) = s.slope("lens_newton_iterations").unwrap();
        assert!(
            (m - 3.0).abs() < 1e-12 && (c + 2.0 / 3.0).abs() < 1e-12,
            "{m} {c}"
        );
        assert_eq!(s.slope("absent"), None);
    }
}
