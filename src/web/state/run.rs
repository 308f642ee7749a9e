//! The current run as the page shows it, and how it is looked at (evaluation set,
//! ablated heads, the attention scrubber).

use std::rc::Rc;

use crate::ablation::{AblationMode, HeadAblation};
use crate::config::Experiment;
use crate::eval::EvalReport;
use crate::lens::heads::AttentionSnapshot;
use crate::metric::Metrics;
use crate::web::protocol::{BackendInfo, Control, Phase, Progress};
use crate::web::runs::{RunRecord, RunStatus, SavedCheckpoint};

/// When the model's error at the last position first fell below half the
/// averaging baseline's: the moment in-context learning is unmistakable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Milestone {
    pub step: usize,
    /// Seconds from pressing Train.
    pub seconds: f64,
}

/// What the page knows about the current run.
#[derive(Clone, Debug, PartialEq)]
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
    /// (step, final metrics) of every evaluation: the probe and distance charts.
    pub history: Vec<(usize, Metrics)>,
    pub error: Option<String>,
    /// The experiment being trained (the controls may have moved on since).
    pub experiment: Option<Experiment>,
    /// Page clock (ms) when Train was pressed.
    pub started_at_ms: f64,
    pub milestone: Option<Milestone>,
    pub finished_ms: Option<f64>,
    /// Token runs: the attention patterns of every evaluation, (step, snapshot), what
    /// the scrubber steps through.
    pub attention: Vec<(usize, Rc<AttentionSnapshot>)>,
    /// The latest evaluation with the user's heads ablated.
    pub ablated: Option<EvalReport>,
    /// The run's id in the saved runs (given at Start, kept when resumed).
    pub id: Option<String>,
    /// For people: the preset, or the sweep value.
    pub name: String,
    /// Step of the latest checkpoint the worker sent (CPU runs).
    pub checkpoint_step: Option<usize>,
    /// That checkpoint, kept in memory for a resume after a crash (storage may be
    /// off); not part of the saved record, which stores it apart.
    pub latest_checkpoint: Option<Rc<SavedCheckpoint>>,
    /// Opened from the saved runs: the page shows it, the worker does not hold it
    /// (Resume first restores it there).
    pub detached: bool,
    /// A Restore was sent: its Paused answer is not a pause to save.
    pub restoring: bool,
    /// The checkpoint step this run was last resumed from (in this page).
    pub resumed_from: Option<usize>,
    /// The evaluation set the ICL chart shows (`fresh`, `pool`, …).
    pub eval_set: String,
    /// Heads the user ablated (sent to the worker on every change).
    pub ablations: Vec<HeadAblation>,
    /// The evaluation the attention heatmaps show (index into `attention`); `None`
    /// follows the latest.
    pub scrub: Option<usize>,
}

impl RunView {
    /// A saved run, shown as if it had just been trained here.
    pub fn from_record(r: &RunRecord) -> Self {
        let resumable = r.resumable();
        Self {
            phase: match r.status {
                RunStatus::Finished => Phase::Finished,
                RunStatus::Paused if resumable => Phase::Paused,
                _ => Phase::Idle,
            },
            backend: None,
            losses: r.losses.clone(),
            timings: Vec::new(),
            progress: Some(Progress {
                step: r.step,
                steps: r.experiment.train.steps,
                loss: r.losses.last().map_or(f32::NAN, |l| l.1),
                lr: 0.0,
                steps_per_sec: 0.0,
                first_step_ms: 0.0,
                train_ms: r.train_ms.unwrap_or(0.0),
                wasm_bytes: 0.0,
                earlier: Vec::new(),
            }),
            eval: r.eval.clone(),
            history: r.history.clone(),
            error: None,
            experiment: Some(r.experiment.clone()),
            started_at_ms: 0.0,
            milestone: None,
            finished_ms: None,
            attention: r
                .attention
                .iter()
                .map(|(s, a)| (*s, Rc::new(a.clone())))
                .collect(),
            ablated: None,
            id: Some(r.id.clone()),
            name: r.name.clone(),
            checkpoint_step: r.checkpoint_step,
            latest_checkpoint: None,
            detached: true,
            restoring: false,
            resumed_from: None,
            ..Self::default()
        }
    }

    /// The run's own actions; a control for the worker when the ablated heads
    /// changed and the worker holds a model to evaluate.
    pub fn apply(&mut self, action: RunAction) -> Option<Control> {
        match action {
            RunAction::EvalSet(name) => self.eval_set = name,
            RunAction::ToggleHead { layer, head, mode } => {
                let before = self.ablations.len();
                self.ablations
                    .retain(|a| (a.layer, a.head) != (layer, head));
                if self.ablations.len() == before {
                    self.ablations.push(HeadAblation { layer, head, mode });
                }
                return self.ablations_changed();
            }
            RunAction::Remode(mode) => {
                if !self.ablations.is_empty() {
                    for a in &mut self.ablations {
                        a.mode = mode;
                    }
                    return self.ablations_changed();
                }
            }
            RunAction::ClearAblations => {
                if !self.ablations.is_empty() {
                    self.ablations.clear();
                    return self.ablations_changed();
                }
            }
            RunAction::Scrub(i) => self.scrub = i.filter(|i| *i + 1 < self.attention.len()),
        }
        None
    }

    /// The ablated heads changed: the ablated evaluation is stale, and the worker is
    /// told (it evaluates the current model at once when a run exists).
    fn ablations_changed(&mut self) -> Option<Control> {
        self.ablated = None;
        self.experiment.is_some().then(|| Control::Ablate {
            heads: self.ablations.clone(),
        })
    }

    /// The attention snapshot the heatmaps show, with its step.
    pub fn shown_attention(&self) -> Option<(usize, &AttentionSnapshot)> {
        let i = self.scrub.unwrap_or(self.attention.len().checked_sub(1)?);
        self.attention.get(i).map(|(step, a)| (*step, a.as_ref()))
    }
}

impl Default for RunView {
    fn default() -> Self {
        Self {
            phase: Phase::default(),
            backend: None,
            losses: Vec::new(),
            timings: Vec::new(),
            progress: None,
            eval: None,
            history: Vec::new(),
            error: None,
            experiment: None,
            started_at_ms: 0.0,
            milestone: None,
            finished_ms: None,
            attention: Vec::new(),
            ablated: None,
            id: None,
            name: String::new(),
            checkpoint_step: None,
            latest_checkpoint: None,
            detached: false,
            restoring: false,
            resumed_from: None,
            eval_set: "fresh".into(),
            ablations: Vec::new(),
            scrub: None,
        }
    }
}

/// What happens to how the run is looked at.
#[derive(Debug)]
pub enum RunAction {
    /// Show this evaluation set on the ICL chart.
    EvalSet(String),
    /// A head was clicked: ablate it (`mode`), or restore it.
    ToggleHead {
        layer: usize,
        head: usize,
        mode: AblationMode,
    },
    /// Ablate the ablated heads this way instead.
    Remode(AblationMode),
    /// Restore every head.
    ClearAblations,
    /// Show the attention of evaluation `i` (`None`: the latest).
    Scrub(Option<usize>),
}
