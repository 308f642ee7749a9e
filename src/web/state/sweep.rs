//! The sweep panel: what the user typed, the sweep under way, and its summary.

use crate::config::Experiment;
use crate::eval::EvalReport;
use crate::metric::Metric;
use crate::probes::Probe;
use crate::sweep::{
    MAX_SEEDS, MAX_VALUES, SweepPoint, SweepSpec, SweepSummary, SweepTask, default_metric,
    final_metrics,
};
use crate::tasks::Shape;
use crate::web::runs::{RunRecord, experiment_name};

/// Where a sweep stands.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepStatus {
    /// Run `index` of the sweep's runs (values × seeds) is training.
    Running {
        index: usize,
    },
    Done,
    /// Stopped by the user; the finished points stay.
    Cancelled,
    /// A run failed; the finished points stay.
    Failed(String),
    /// Loaded from a summary file.
    Loaded,
}

/// The sweep panel: what the user typed, and the sweep itself once started.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepView {
    /// The field to vary, e.g. `task.pool`.
    pub path: String,
    /// The values as typed, e.g. `2^1..2^6, null`.
    pub values: String,
    /// Seeds per value as typed (1 to [`MAX_SEEDS`]).
    pub seeds: String,
    /// Why the typed sweep cannot run (named field, value and range).
    pub error: Option<String>,
    pub summary: Option<SweepSummary>,
    pub status: Option<SweepStatus>,
    /// Each run of the sweep under way (value × seed), in order.
    pub runs: Vec<SweepTask>,
    /// The metrics on the threshold chart (several are drawn together).
    pub metric: Vec<Metric>,
}

impl Default for SweepView {
    fn default() -> Self {
        Self {
            path: "task.pool".into(),
            values: "2^1..2^6, null".into(),
            seeds: "1".into(),
            error: None,
            summary: None,
            status: None,
            runs: Vec::new(),
            metric: Vec::new(),
        }
    }
}

/// Fields a sweep can vary, with a label and an example list of values.
pub const SWEEPABLE: &[(&str, &str, &str)] = &[
    ("task.pool", "task pool size M", "2^1..2^6, null"),
    (
        "task.family.p_bursty",
        "bursty fraction p_bursty",
        "0, 0.25, 0.5, 0.75, 1",
    ),
    ("task.family.zipf", "Zipf exponent α", "0, 0.5, 1, 1.5, 2"),
    ("task.family.classes", "classes K", "2^5..2^11"),
    ("task.family.burstiness", "burstiness B", "1, 2, 4"),
    (
        "task.family.within_class_noise",
        "within-class noise ε",
        "0, 0.1, 0.5, 1",
    ),
    (
        "task.family.p_classification",
        "classification fraction (regression + classification)",
        "0, 0.5, 1",
    ),
    ("task.dims", "dimension d", "2, 4, 8"),
    ("task.points", "points per prompt", "5, 11, 21"),
    ("model.layers", "layers", "1..4"),
    ("model.width", "width", "16, 32, 64"),
    (
        "model.kind",
        "architecture (model kind)",
        "transformer, linear_attention, lstm, gru, s4d",
    ),
    (
        "model.params",
        "parameters (sets the width)",
        "15000, 45000",
    ),
    ("optim.weight_decay", "weight decay (AdamW)", "0, 0.01, 0.1"),
    ("seed", "seed", "0..4"),
];

/// What happens to the sweep panel alone (starting, cancelling and loading also
/// reach the run: see [`SweepEffect`]).
#[derive(Debug)]
pub enum SweepAction {
    /// The panel's field or values changed.
    Edit {
        path: String,
        values: String,
    },
    /// The seeds per value changed (as typed).
    Seeds(String),
    /// Start a sweep of the current experiment.
    Start {
        now_ms: f64,
    },
    Cancel,
    /// A summary file was loaded (its text).
    Load(String),
    /// The metrics on the threshold chart.
    Metric(Vec<Metric>),
}

/// What a sweep asks of the rest of the page.
#[derive(Debug, PartialEq)]
pub enum SweepEffect {
    None,
    /// Train this run next (its name for people).
    Start {
        experiment: Box<Experiment>,
        name: String,
    },
    /// Drop the run in the worker (a cancelled sweep's run).
    Reset,
    /// The sweep finished: save it as a run record.
    Save(Box<RunRecord>),
}

impl SweepView {
    /// The sweep panel's own actions, with the experiment shown (what a sweep varies).
    pub fn apply(&mut self, action: SweepAction, exp: &Experiment) -> SweepEffect {
        match action {
            SweepAction::Edit { path, values } => {
                self.path = path;
                self.values = values;
                self.error = None;
            }
            SweepAction::Seeds(seeds) => {
                self.seeds = seeds;
                self.error = None;
            }
            SweepAction::Start { .. } => {
                let spec = self
                    .seeds
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| {
                        format!(
                            "seeds `{}`: a whole number from 1 to {MAX_SEEDS}",
                            self.seeds.trim()
                        )
                    })
                    .and_then(|seeds| {
                        SweepSpec::parse(&format!("{}={}", self.path, self.values))
                            .and_then(|spec| spec.with_seeds(seeds))
                            .map_err(|e| e.to_string())
                    })
                    .and_then(|spec| {
                        let runs = spec.tasks(exp).map_err(|e| e.to_string())?;
                        if runs.len() > MAX_VALUES {
                            return Err(format!(
                                "{} values × {} seeds = {} runs; a sweep in the browser runs at most {MAX_VALUES} (`icl-lab sweep`, or --slurm on a cluster, runs more)",
                                spec.values.len(),
                                spec.seeds,
                                runs.len()
                            ));
                        }
                        for r in &runs {
                            crate::web::limits::check_browser(&r.experiment)
                                .map_err(|e| e.to_string())?;
                        }
                        Ok((spec, runs))
                    });
                match spec {
                    Err(e) => self.error = Some(e),
                    Ok((spec, runs)) => {
                        self.error = None;
                        self.summary = Some(SweepSummary::new(&spec, exp));
                        self.status = Some(SweepStatus::Running { index: 0 });
                        self.metric = Vec::new();
                        let first = runs[0].experiment.clone();
                        self.runs = runs;
                        return SweepEffect::Start {
                            experiment: Box::new(first),
                            name: self.run_name(0),
                        };
                    }
                }
            }
            SweepAction::Cancel => {
                if self.running().is_some() {
                    self.status = Some(SweepStatus::Cancelled);
                    return SweepEffect::Reset;
                }
            }
            SweepAction::Load(text) => match SweepSummary::from_json(&text) {
                Ok(summary) => {
                    let running = self.running().is_some();
                    self.show_summary(summary);
                    if running {
                        return SweepEffect::Reset;
                    }
                }
                Err(e) => self.error = Some(e),
            },
            SweepAction::Metric(m) => self.metric = m,
        }
        SweepEffect::None
    }

    /// The index of the value whose run is training.
    pub fn running(&self) -> Option<usize> {
        match self.status {
            Some(SweepStatus::Running { index }) => Some(index),
            _ => None,
        }
    }

    /// A run started by hand, or one that failed, ends a sweep in progress.
    pub fn interrupt(&mut self, failure: Option<&str>) {
        if self.running().is_some() {
            self.status = Some(match failure {
                Some(message) => SweepStatus::Failed(message.into()),
                None => SweepStatus::Cancelled,
            });
        }
    }

    /// A run of the sweep finished with `report` (its last evaluation): its point is
    /// recorded, and the next run starts, or the whole sweep is saved (`saved_ms`:
    /// the record's time).
    pub fn run_finished(&mut self, report: Option<&EvalReport>, saved_ms: f64) -> SweepEffect {
        let Some(index) = self.running() else {
            return SweepEffect::None;
        };
        if let (Some(summary), Some(report), Some(run)) =
            (self.summary.as_mut(), report, self.runs.get(index))
        {
            summary.points.push(SweepPoint {
                value: run.value.clone(),
                seed: (summary.seeds > 1).then_some(run.seed),
                step: report.step,
                metrics: final_metrics(report),
                run: None,
            });
            if self.metric.is_empty() {
                self.metric = default_metric(report);
            }
        }
        let next = index + 1;
        if next < self.runs.len() {
            self.status = Some(SweepStatus::Running { index: next });
            return SweepEffect::Start {
                experiment: Box::new(self.runs[next].experiment.clone()),
                name: self.run_name(next),
            };
        }
        self.status = Some(SweepStatus::Done);
        match self.summary.clone() {
            Some(summary) => {
                let base = experiment_name(&summary.base);
                SweepEffect::Save(Box::new(RunRecord::from_sweep(summary, &base, saved_ms)))
            }
            None => SweepEffect::None,
        }
    }

    /// "garg-tiny: task.pool = 8" (", seed 1" with several seeds): a sweep run's name.
    fn run_name(&self, index: usize) -> String {
        let (Some(summary), Some(run)) = (&self.summary, self.runs.get(index)) else {
            return String::new();
        };
        format!(
            "{}: {}",
            experiment_name(&summary.base),
            self.run_label(index).unwrap_or_else(|| format!(
                "{} = {}",
                summary.path,
                crate::sweep::value_label(&run.value)
            ))
        )
    }

    /// "task.pool = 8" or "task.pool = 8, seed 1": what run `index` varies.
    pub fn run_label(&self, index: usize) -> Option<String> {
        let summary = self.summary.as_ref()?;
        let run = self.runs.get(index)?;
        let mut label = format!(
            "{} = {}",
            summary.path,
            crate::sweep::value_label(&run.value)
        );
        if summary.seeds > 1 {
            label.push_str(&format!(", seed {}", run.seed));
        }
        Some(label)
    }

    /// Puts a finished sweep's summary (a file, a saved sweep) into the panel.
    pub fn show_summary(&mut self, summary: SweepSummary) {
        self.metric = summary
            .metrics()
            .into_iter()
            .find(|m| *m == [Metric::Probe(Probe::Icl)] || *m == [Metric::error("fresh")])
            .unwrap_or_default();
        self.path = summary.path.clone();
        self.seeds = summary.seeds.max(1).to_string();
        self.summary = Some(summary);
        self.status = Some(SweepStatus::Loaded);
        self.runs = Vec::new();
        self.error = None;
    }

    /// Fills the panel with `path=values` (a preset's or a lesson's own sweep), not
    /// while a sweep is under way.
    pub fn propose(&mut self, spec: &str) {
        if let (Some((path, values)), None) = (spec.split_once('='), &self.status) {
            self.path = path.trim().into();
            self.values = values.trim().into();
            self.error = None;
        }
    }

    /// Keeps the panel's field meaningful for the experiment shown: a field this
    /// experiment does not have (p_bursty on a regression family, p_classification
    /// without the mixture, a family parameter after the family changed) or refuses
    /// (a pool for classification) is swapped for the kind's headline property; a
    /// field it has keeps the user's values (not while a sweep is under way).
    pub fn match_task(&mut self, exp: &Experiment) {
        if self.status.is_some() {
            return;
        }
        let classification = matches!(exp.task.family.shape(), Shape::Classification(_));
        let pointer = format!("/{}", self.path.replace('.', "/"));
        let has_field = serde_json::to_value(exp).is_ok_and(|v| v.pointer(&pointer).is_some());
        if has_field && !(classification && self.path == "task.pool") {
            return;
        }
        let (want, values) = if classification {
            ("task.family.p_bursty", "0, 0.25, 0.5, 0.75, 1")
        } else {
            ("task.pool", "2^1..2^6, null")
        };
        self.path = want.into();
        self.values = values.into();
        self.error = None;
    }
}
