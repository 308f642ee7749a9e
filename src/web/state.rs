//! The page's state and its reducer: every change is an [`Action`], so components
//! own no training state and the logic is tested natively. The worker's [`Event`]s
//! arrive as actions too.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Experiment;
use crate::eval::EvalReport;
use crate::presets;

use super::fields::all_fields;
use super::hash::{HashState, parse_hash};
use super::protocol::{BackendChoice, BackendInfo, Event, Phase, Progress};

/// A field whose typed text is not (yet) valid: kept as typed, with the message.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub text: String,
    pub error: String,
}

/// When the model's error at the last position first fell below half the
/// averaging baseline's: the moment in-context learning is unmistakable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Milestone {
    pub step: usize,
    /// Seconds from pressing Train.
    pub seconds: f64,
}

/// What the page knows about the current run.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RunView {
    pub phase: Phase,
    pub backend: Option<BackendInfo>,
    /// (step, loss) of every logged step.
    pub losses: Vec<(usize, f32)>,
    /// (step, training ms) of every logged step: the bench page's clock.
    pub timings: Vec<(usize, f64)>,
    pub progress: Option<Progress>,
    /// The latest evaluation.
    pub eval: Option<EvalReport>,
    pub error: Option<String>,
    /// The experiment being trained (the controls may have moved on since).
    pub experiment: Option<Experiment>,
    /// Page clock (ms) when Train was pressed.
    pub started_at_ms: f64,
    pub milestone: Option<Milestone>,
    pub finished_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppState {
    /// The experiment the controls show: always valid.
    pub exp: Experiment,
    /// Fields whose typed text is invalid, by path.
    pub drafts: BTreeMap<String, Draft>,
    pub backend: BackendChoice,
    /// Steps the bench page times (`#bench`), or `None` on the lab page.
    pub bench: Option<usize>,
    /// Messages about the link the page was opened with.
    pub notices: Vec<String>,
    pub worker_ready: bool,
    pub run: RunView,
    /// `fresh` or `pool`.
    pub eval_set: String,
    /// Curves the user switched off.
    pub hidden: BTreeSet<String>,
}

pub enum Action {
    /// The user typed `text` into the field at `path`.
    Edit {
        path: String,
        text: String,
    },
    Preset(String),
    Backend(BackendChoice),
    /// The page was opened with, or navigated to, this hash.
    Hash(String),
    /// Train was pressed: the page sent Start with this experiment.
    Started {
        experiment: Experiment,
        paused: bool,
        now_ms: f64,
    },
    Worker {
        event: Event,
        now_ms: f64,
    },
    ToggleCurve(String),
    EvalSet(String),
    DismissNotices,
}

impl AppState {
    pub fn from_hash(hash: &str) -> Self {
        let (h, notices) = parse_hash(hash);
        Self {
            exp: h.experiment,
            drafts: BTreeMap::new(),
            backend: h.backend,
            bench: h.bench,
            notices,
            worker_ready: false,
            run: RunView::default(),
            eval_set: "fresh".into(),
            hidden: BTreeSet::new(),
        }
    }

    pub fn hash_state(&self) -> HashState {
        HashState {
            experiment: self.exp.clone(),
            backend: self.backend,
            bench: self.bench,
        }
    }

    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Edit { path, text } => {
                let Some(field) = all_fields().find(|f| f.path == path) else {
                    return;
                };
                match field.edit(&self.exp, &text) {
                    Ok(exp) => {
                        self.exp = exp;
                        self.drafts.remove(&path);
                    }
                    Err(error) => {
                        self.drafts.insert(path, Draft { text, error });
                    }
                }
            }
            Action::Preset(name) => {
                if let Ok(exp) = presets::preset(&name) {
                    self.exp = exp;
                    self.drafts.clear();
                }
            }
            Action::Backend(b) => self.backend = b,
            Action::Hash(hash) => {
                let fresh = Self::from_hash(&hash);
                self.exp = fresh.exp;
                self.backend = fresh.backend;
                self.bench = fresh.bench;
                self.notices = fresh.notices;
                self.drafts.clear();
            }
            Action::Started {
                experiment,
                paused,
                now_ms,
            } => {
                self.run = RunView {
                    phase: if paused {
                        Phase::Paused
                    } else {
                        Phase::Running
                    },
                    experiment: Some(experiment),
                    started_at_ms: now_ms,
                    ..RunView::default()
                };
                self.eval_set = "fresh".into();
            }
            Action::Worker { event, now_ms } => self.on_event(event, now_ms),
            Action::ToggleCurve(name) => {
                if !self.hidden.remove(&name) {
                    self.hidden.insert(name);
                }
            }
            Action::EvalSet(name) => self.eval_set = name,
            Action::DismissNotices => self.notices.clear(),
        }
    }

    fn on_event(&mut self, event: Event, now_ms: f64) {
        let run = &mut self.run;
        match event {
            Event::Ready { .. } => self.worker_ready = true,
            Event::Backend(info) => run.backend = Some(info),
            Event::Progress(p) => {
                run.losses.push((p.step, p.loss));
                run.timings.push((p.step, p.train_ms));
                run.progress = Some(p);
            }
            Event::Eval(report) => {
                if run.milestone.is_none()
                    && let Some(step) = icl_milestone(&report)
                {
                    run.milestone = Some(Milestone {
                        step,
                        seconds: (now_ms - run.started_at_ms) / 1000.0,
                    });
                }
                run.eval = Some(report);
            }
            Event::Paused { .. } => run.phase = Phase::Paused,
            Event::Resumed { .. } => run.phase = Phase::Running,
            Event::Finished { .. } => {
                run.phase = Phase::Finished;
                run.finished_ms = Some(now_ms - run.started_at_ms);
            }
            Event::Error { message } => {
                run.phase = Phase::Idle;
                run.error = Some(message);
            }
            Event::Reset => *run = RunView::default(),
        }
    }

    /// Whether Train can start: every field valid and the worker listening.
    pub fn can_start(&self) -> bool {
        self.drafts.is_empty() && self.worker_ready
    }

    /// The plain-text status line (`role="status"`): backend, step, latest loss.
    pub fn status_line(&self) -> String {
        let run = &self.run;
        let backend = match &run.backend {
            Some(b) => format!("backend: {} ({})", b.kind, b.adapter),
            None => format!("backend: {} (not started)", self.backend.name()),
        };
        let (step, steps) = match (&run.progress, &run.experiment) {
            (Some(p), _) => (p.step, p.steps),
            (None, Some(e)) => (0, e.train.steps),
            (None, None) => (0, self.exp.train.steps),
        };
        let loss = run
            .progress
            .as_ref()
            .map_or("–".to_string(), |p| format!("{:.4}", p.loss));
        let phase = match run.phase {
            Phase::Idle if run.error.is_some() => "stopped",
            Phase::Idle => "idle",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Finished => "finished",
        };
        let mut line = format!("{backend} · step {step} / {steps} · loss {loss} · {phase}");
        if let Some(p) = &run.progress {
            line.push_str(&format!(" · {:.1} steps/s", p.steps_per_sec));
        }
        line
    }
}

/// The run the bench page times: `exp` for `steps` steps, logging often enough to
/// time the steady state, evaluating only once at the end.
pub fn bench_experiment(exp: &Experiment, steps: usize) -> Experiment {
    let mut e = exp.clone();
    e.train.steps = steps;
    e.train.log_every = (steps / 6).max(1);
    e.train.eval_every = 0;
    e
}

/// Steady-state steps per second of a bench run: from the first logged step after
/// the first one (shader compilation and warm-up excluded) to the last.
pub fn bench_rate(timings: &[(usize, f64)]) -> Option<f64> {
    let first = timings.iter().find(|(s, _)| *s > 1)?;
    let last = timings.last()?;
    (last.0 > first.0 && last.1 > first.1)
        .then(|| (last.0 - first.0) as f64 / (last.1 - first.1) * 1000.0)
}

/// The step of `report` if the model's error at the last position is below half of
/// the averaging baseline's on fresh tasks.
pub fn icl_milestone(report: &EvalReport) -> Option<usize> {
    let fresh = report.eval("fresh")?;
    let model = fresh.curves.get("model")?.mean.last()?;
    let avg = fresh.curves.get("averaging")?.mean.last()?;
    (*model < 0.5 * avg).then_some(report.step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Curve, EvalCurves};

    fn report(step: usize, model: f64) -> EvalReport {
        let c = |m: f64| Curve {
            mean: vec![1.0, m],
            stderr: vec![0.0, 0.0],
        };
        EvalReport {
            dims: 5,
            step,
            evals: vec![EvalCurves {
                name: "fresh".into(),
                x_dist: "gaussian".into(),
                k: vec![0, 1],
                curves: [("model".into(), c(model)), ("averaging".into(), c(0.8))].into(),
            }],
        }
    }

    #[test]
    fn invalid_typing_keeps_the_experiment_and_shows_the_range() {
        let mut s = AppState::from_hash("");
        let before = s.exp.clone();
        s.apply(Action::Edit {
            path: "model.layers".into(),
            text: "100".into(),
        });
        assert_eq!(s.exp, before);
        assert!(s.drafts["model.layers"].error.contains("1..=24"));
        assert!(!s.can_start());
        s.apply(Action::Edit {
            path: "model.layers".into(),
            text: "2".into(),
        });
        assert_eq!(s.exp.model.layers, 2);
        assert!(s.drafts.is_empty());
    }

    #[test]
    fn events_drive_the_run_view_and_the_status_line() {
        let mut s = AppState::from_hash("");
        s.apply(Action::Worker {
            event: Event::Ready { protocol: 1 },
            now_ms: 0.0,
        });
        assert!(s.can_start());
        assert!(
            s.status_line().contains("step 0 / 1500"),
            "{}",
            s.status_line()
        );
        let exp = s.exp.clone();
        s.apply(Action::Started {
            experiment: exp,
            paused: false,
            now_ms: 1000.0,
        });
        let ev = |event| Action::Worker {
            event,
            now_ms: 31_000.0,
        };
        s.apply(ev(Event::Backend(BackendInfo {
            kind: "cpu".into(),
            adapter: "flex".into(),
            fallback_reason: None,
        })));
        s.apply(ev(Event::Progress(Progress {
            step: 25,
            steps: 1500,
            loss: 0.25,
            lr: 1e-3,
            steps_per_sec: 20.0,
            first_step_ms: 40.0,
            train_ms: 1250.0,
        })));
        let line = s.status_line();
        assert!(
            line.contains("backend: cpu (flex)")
                && line.contains("step 25 / 1500")
                && line.contains("loss 0.2500")
                && line.contains("running"),
            "{line}"
        );
        s.apply(ev(Event::Eval(report(100, 0.5))));
        assert_eq!(s.run.milestone, None, "0.5 is not below half of 0.8");
        s.apply(ev(Event::Eval(report(200, 0.3))));
        assert_eq!(
            s.run.milestone,
            Some(Milestone {
                step: 200,
                seconds: 30.0
            })
        );
        s.apply(ev(Event::Paused { step: 25 }));
        assert!(s.status_line().contains("paused"));
        s.apply(ev(Event::Error {
            message: "diverged".into(),
        }));
        assert!(s.status_line().contains("stopped"));
        assert_eq!(s.run.losses, vec![(25, 0.25)]);
    }

    #[test]
    fn a_new_hash_replaces_the_experiment_and_reports_problems() {
        let mut s = AppState::from_hash("");
        s.apply(Action::Hash(
            "#exp={\"seed\":4,\"task\":{\"dims\":0}}&backend=cpu".into(),
        ));
        assert_eq!(s.exp.seed, 4);
        assert_eq!(s.backend, BackendChoice::Cpu);
        assert!(
            s.notices.iter().any(|n| n.contains("task.dims = 0")),
            "{:?}",
            s.notices
        );
    }
}
