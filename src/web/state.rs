//! The page's state and its reducer: every change is an [`Action`], so components
//! own no training state and the logic is tested natively. The worker's [`Event`]s
//! arrive as actions too.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::ablation::{AblationMode, HeadAblation};
use crate::config::Experiment;
use crate::eval::EvalReport;
use crate::lens::heads::AttentionSnapshot;
use crate::metric::{Metric, Metrics};
use crate::presets;
use crate::probes::Probe;
use crate::sweep::{SweepPoint, SweepSpec, SweepSummary, default_metric, final_metrics};
use crate::tasks::Shape;

use super::chart_id::ChartId;
use super::fields::all_fields;
use super::hash::{EmbedSpec, HashState, parse_hash, to_hash};
use super::lessons::{Lesson, LessonProgress, Progress as LessonProgressMap};
use super::protocol::{BackendChoice, BackendInfo, Control, Event, Phase, Progress};
use super::runs::{
    Imported, KEPT_SNAPSHOTS, Origin, RUN_KIND, RunRecord, RunStatus, SavedCheckpoint,
    experiment_name, thin_snapshots,
};

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
    /// Opened from the saved runs: the page shows it, the worker does not hold it
    /// (Resume first restores it there).
    pub detached: bool,
    /// A Restore was sent: its Paused answer is not a pause to save.
    pub restoring: bool,
    /// The checkpoint step this run was last resumed from (in this page).
    pub resumed_from: Option<usize>,
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
            detached: true,
            restoring: false,
            resumed_from: None,
        }
    }
}

/// What the reducer asks the page to carry out (controls for the worker, IndexedDB
/// writes), each once and in order. Numbered: the page remembers the next number it
/// has not carried out, so however many are queued between two renders, all
/// arrive. The page works through them right after each render, so only the
/// newest [`Outbox::KEEP`] are kept. Items are shared (`Rc`): the reducer copies
/// the page state on every action, and a queued save may carry a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Outbox<T> {
    items: std::collections::VecDeque<(u64, Rc<T>)>,
    next: u64,
}

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Self {
            items: Default::default(),
            next: 0,
        }
    }
}

impl<T> Outbox<T> {
    pub const KEEP: usize = 64;

    /// Queues `item`; its number.
    pub fn push(&mut self, item: T) -> u64 {
        let n = self.next;
        self.next += 1;
        self.items.push_back((n, Rc::new(item)));
        if self.items.len() > Self::KEEP {
            self.items.pop_front();
        }
        n
    }

    /// The items numbered `from` or later, in order: what a page that has carried
    /// out everything before `from` still has to do.
    pub fn since(&self, from: u64) -> Vec<(u64, Rc<T>)> {
        self.items
            .iter()
            .filter(|(n, _)| *n >= from)
            .cloned()
            .collect()
    }

    /// The number the next item will get (what a page has caught up to).
    pub fn next_number(&self) -> u64 {
        self.next
    }

    pub fn last(&self) -> Option<(u64, &T)> {
        self.items.back().map(|(n, t)| (*n, t.as_ref()))
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.items.iter().map(|(n, t)| (*n, t.as_ref()))
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The saved runs (IndexedDB) as the page shows them: its own part of the page
/// state, with the actions that touch only it ([`SavedRuns::apply`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavedRuns {
    /// Saved runs (IndexedDB, without their checkpoints), newest first.
    pub runs: Vec<Rc<RunRecord>>,
    /// The list has been read from IndexedDB.
    pub loaded: bool,
    /// Saved runs whose curves are overlaid.
    pub selected: BTreeSet<String>,
    /// The run whose Delete was pressed: asks before deleting.
    pub confirm_delete: Option<String>,
    /// Why saving or reading runs failed (quota, blocked storage): shown, not swallowed.
    pub storage_error: Option<String>,
    /// What the last import brought and what it could not read.
    pub import_notes: Vec<String>,
    /// IndexedDB operations for the page to carry out, each once, in order.
    pub store_ops: Outbox<StoreOp>,
    /// Runs whose latest save has not been confirmed by IndexedDB yet, with the
    /// number of that save (an earlier save's confirmation does not count).
    pub unsaved: BTreeMap<String, u64>,
}

impl SavedRuns {
    /// Queues an IndexedDB operation.
    fn store(&mut self, op: StoreOp) {
        if let StoreOp::Put { record, .. } = &op {
            self.unsaved
                .insert(record.id.clone(), self.store_ops.next_number());
        }
        self.store_ops.push(op);
    }

    /// Adds or replaces a saved run in the table (newest first).
    fn upsert(&mut self, mut record: RunRecord) {
        record.checkpoint = None;
        self.runs.retain(|r| r.id != record.id);
        self.runs.insert(0, Rc::new(record));
    }

    /// The actions about the saved runs alone; gives the action back otherwise.
    fn apply(&mut self, action: Action) -> Option<Action> {
        match action {
            Action::RunsLoaded(runs) => {
                let mut runs: Vec<Rc<RunRecord>> = runs.into_iter().map(Rc::new).collect();
                runs.sort_by(|a, b| b.saved_ms.total_cmp(&a.saved_ms));
                // Runs saved while the list was loading stay.
                for r in std::mem::take(&mut self.runs) {
                    if !runs.iter().any(|x| x.id == r.id) {
                        runs.insert(0, r);
                    }
                }
                self.runs = runs;
                self.loaded = true;
            }
            Action::StorageError(e) => self.storage_error = Some(e),
            Action::Saved { id, op } => {
                if self.unsaved.get(&id) == Some(&op) {
                    self.unsaved.remove(&id);
                }
            }
            Action::SelectRun(id) => {
                if !self.selected.remove(&id) {
                    self.selected.insert(id);
                }
            }
            Action::AskDelete(id) => self.confirm_delete = Some(id),
            Action::CancelDelete => self.confirm_delete = None,
            Action::DeleteRun(id) => {
                self.confirm_delete = None;
                self.runs.retain(|r| r.id != id);
                self.selected.remove(&id);
                self.store(StoreOp::Delete(id));
            }
            other => return Some(other),
        }
        None
    }
}

/// An IndexedDB operation the page carries out for the reducer (`SavedRuns::store_ops`).
#[derive(Clone, Debug, PartialEq)]
pub enum StoreOp {
    /// Save or replace a run (without its checkpoint) and, when given, its checkpoint.
    Put {
        record: Box<RunRecord>,
        checkpoint: Option<Box<SavedCheckpoint>>,
    },
    Delete(String),
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
    pub sweep: SweepView,
    /// Controls the reducer wants sent to the worker (a sweep starting its next
    /// run, a cancel, ablated heads), each sent once, in order.
    pub outbox: Outbox<Control>,
    /// Heads the user ablated (sent to the worker on every change).
    pub ablations: Vec<HeadAblation>,
    /// How a clicked head is ablated.
    pub ablation_mode: AblationMode,
    /// The evaluation the attention heatmaps show (index into `run.attention`);
    /// `None` follows the latest.
    pub scrub: Option<usize>,
    /// Which of the snapshot's sequences the heatmaps show.
    pub attention_prompt: usize,
    /// The embed view (`embed=<chart>` in the hash): one chart, a few controls.
    pub embed: Option<EmbedSpec>,
    /// The saved runs and what the page asks IndexedDB to do with them.
    pub saved: SavedRuns,
    /// Prefix of this page's run ids, and how many runs it started.
    pub session: String,
    pub run_seq: u64,
    /// ms since 1970 at page clock 0 (set by the page; 0 in tests).
    pub epoch_offset: f64,
    /// The lessons (www/lessons/), in teaching order, and the files that failed.
    pub lessons: Vec<Rc<Lesson>>,
    pub lesson_errors: Vec<String>,
    /// The open lesson's id (`lesson=` in the URL).
    pub lesson: Option<String>,
    /// The link asked for the lesson's own experiment (set once the lessons load).
    pub lesson_fresh: bool,
    /// The lesson index is open.
    pub show_lessons: bool,
    /// Progress in every lesson (localStorage).
    pub progress: LessonProgressMap,
}

/// Where a sweep stands.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepStatus {
    /// Run `index` of the values is training.
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
    /// Why the typed sweep cannot run (named field, value and range).
    pub error: Option<String>,
    pub summary: Option<SweepSummary>,
    pub status: Option<SweepStatus>,
    /// The experiment of each value, in order.
    pub runs: Vec<Experiment>,
    /// The metrics on the threshold chart (several are drawn together).
    pub metric: Vec<Metric>,
}

impl Default for SweepView {
    fn default() -> Self {
        Self {
            path: "task.pool".into(),
            values: "2^1..2^6, null".into(),
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
    ("optim.weight_decay", "weight decay (AdamW)", "0, 0.01, 0.1"),
    ("seed", "seed", "0..4"),
];

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
    /// The sweep panel's field or values changed.
    SweepEdit {
        path: String,
        values: String,
    },
    /// Start a sweep of the current experiment.
    SweepStart {
        now_ms: f64,
    },
    SweepCancel,
    /// A summary file was loaded (its text).
    SweepLoad(String),
    SweepMetric(Vec<Metric>),
    /// A head was clicked: ablate it (with the current mode), or restore it.
    ToggleHead {
        layer: usize,
        head: usize,
    },
    AblationMode(AblationMode),
    /// Restore every head.
    ClearAblations,
    /// Show the attention of evaluation `i` (`None`: the latest).
    Scrub(Option<usize>),
    AttentionPrompt(usize),
    /// The saved runs were read from IndexedDB.
    RunsLoaded(Vec<RunRecord>),
    /// Reading or writing saved runs failed (the message names why).
    StorageError(String),
    /// IndexedDB confirmed save number `op` of run `id`.
    Saved {
        id: String,
        op: u64,
    },
    /// Show a saved run (a sweep: load it into the sweep panel).
    OpenRun(String),
    /// Overlay a saved run's curves, or stop overlaying it.
    SelectRun(String),
    /// Delete pressed: ask first.
    AskDelete(String),
    CancelDelete,
    /// Deletion confirmed.
    DeleteRun(String),
    /// Files were imported.
    Imported(Imported, f64),
    /// The page sent Restore and Resume for the shown saved run.
    Restoring,
    /// Stop showing a saved run (Reset on a run the worker does not hold).
    CloseRun,
    /// `www/lessons/` was read: the lessons and the files that failed.
    LessonsLoaded {
        lessons: Vec<Rc<Lesson>>,
        errors: Vec<String>,
    },
    /// The reader's progress, read from localStorage.
    ProgressLoaded(LessonProgressMap),
    ShowLessons(bool),
    /// Open a lesson: its experiment goes into the controls.
    OpenLesson(String),
    CloseLesson,
    /// The "what do you predict?" choice.
    Predict(usize),
    /// A guided step ticked or unticked.
    ToggleStep(usize),
    /// "What to look for" shown.
    Reveal,
}

impl AppState {
    pub fn from_hash(hash: &str) -> Self {
        let (h, notices) = parse_hash(hash);
        let mut s = Self {
            exp: h.experiment,
            drafts: BTreeMap::new(),
            backend: h.backend,
            bench: h.bench,
            notices,
            worker_ready: false,
            run: RunView::default(),
            eval_set: "fresh".into(),
            hidden: BTreeSet::new(),
            sweep: SweepView::default(),
            outbox: Outbox::default(),
            ablations: Vec::new(),
            ablation_mode: AblationMode::Zero,
            scrub: None,
            attention_prompt: 0,
            embed: h.embed,
            saved: SavedRuns::default(),
            session: "run".into(),
            run_seq: 0,
            epoch_offset: 0.0,
            lessons: Vec::new(),
            lesson_errors: Vec::new(),
            lesson: h.lesson,
            lesson_fresh: h.lesson_fresh,
            show_lessons: false,
            progress: LessonProgressMap::new(),
        };
        s.match_sweep_to_task();
        if let Some(name) = &h.preset {
            s.adopt_preset_sweep(name);
        }
        s
    }

    /// A preset made for a sweep fills the sweep panel with it (not while one runs).
    fn adopt_preset_sweep(&mut self, name: &str) {
        let own = presets::PRESETS
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.sweep)
            .and_then(|v| v.split_once('='));
        if let (Some((path, values)), None) = (own, &self.sweep.status) {
            self.sweep.path = path.into();
            self.sweep.values = values.into();
            self.sweep.error = None;
        }
    }

    /// Keeps the sweep panel's field meaningful for the experiment shown: a field
    /// this experiment does not have (p_bursty on a regression family,
    /// p_classification without the mixture, a family parameter after the family
    /// changed) or refuses (a pool for classification) is swapped for the kind's
    /// headline property; a field it has keeps the user's values (not while a sweep
    /// is under way).
    fn match_sweep_to_task(&mut self) {
        if self.sweep.status.is_some() {
            return;
        }
        let classification = matches!(self.exp.task.family.shape(), Shape::Classification(_));
        let pointer = format!("/{}", self.sweep.path.replace('.', "/"));
        let has_field =
            serde_json::to_value(&self.exp).is_ok_and(|v| v.pointer(&pointer).is_some());
        if has_field && !(classification && self.sweep.path == "task.pool") {
            return;
        }
        let (want, values) = if classification {
            ("task.family.p_bursty", "0, 0.25, 0.5, 0.75, 1")
        } else {
            ("task.pool", "2^1..2^6, null")
        };
        self.sweep.path = want.into();
        self.sweep.values = values.into();
        self.sweep.error = None;
    }

    /// Queues a control for the page to send.
    fn send(&mut self, control: Control) {
        self.outbox.push(control);
    }

    /// Starts a run of `experiment` from the reducer (a sweep's runs).
    fn start_run(&mut self, experiment: Experiment, now_ms: f64, name: String) {
        self.send(Control::Start {
            experiment: Box::new(experiment.clone()),
            backend: self.backend,
            paused: false,
        });
        self.run = RunView {
            phase: Phase::Running,
            experiment: Some(experiment),
            started_at_ms: now_ms,
            id: Some(self.new_run_id()),
            name,
            ..RunView::default()
        };
    }

    fn new_run_id(&mut self) -> String {
        self.run_seq += 1;
        format!("{}-{}", self.session, self.run_seq)
    }

    /// Queues an IndexedDB operation.
    fn store(&mut self, op: StoreOp) {
        self.saved.store(op);
    }

    /// Adds or replaces a saved run in the table (newest first).
    fn upsert_run(&mut self, record: RunRecord) {
        self.saved.upsert(record);
    }

    /// The current run as a saved record (none for bench runs or runs shown from
    /// the saved ones and not trained on since).
    pub fn run_record(&self, now_ms: f64) -> Option<RunRecord> {
        let run = &self.run;
        // Bench runs time the backend; an embed's runs belong to a blog's reader.
        if self.bench.is_some() || self.embed.is_some() || run.detached {
            return None;
        }
        let (id, experiment) = (run.id.clone()?, run.experiment.clone()?);
        let step = run
            .progress
            .as_ref()
            .map(|p| p.step)
            .or(run.eval.as_ref().map(|r| r.step))
            .unwrap_or(0);
        Some(RunRecord {
            kind: RUN_KIND.into(),
            id,
            name: if run.name.is_empty() {
                experiment_name(&experiment)
            } else {
                run.name.clone()
            },
            origin: Origin::Browser,
            status: match run.phase {
                Phase::Finished => RunStatus::Finished,
                _ if run.checkpoint_step.is_some() => RunStatus::Paused,
                _ => RunStatus::Stopped,
            },
            saved_ms: self.epoch_offset + now_ms,
            experiment,
            step,
            losses: run.losses.clone(),
            history: run.history.clone(),
            eval: run.eval.clone(),
            attention: thin_snapshots(&run.attention, KEPT_SNAPSHOTS)
                .into_iter()
                .map(|(s, a)| (s, (*a).clone()))
                .collect(),
            train_ms: run.progress.as_ref().map(|p| p.train_ms),
            backend: run
                .backend
                .as_ref()
                .map(|b| format!("{} ({})", b.kind, b.adapter)),
            checkpoint_step: run.checkpoint_step,
            checkpoint: None,
            sweep: None,
        })
    }

    /// Saves the current run (and a checkpoint, when one came).
    fn save_run(&mut self, checkpoint: Option<SavedCheckpoint>, now_ms: f64) {
        if let Some(record) = self.run_record(now_ms) {
            self.upsert_run(record.clone());
            self.store(StoreOp::Put {
                record: Box::new(record),
                checkpoint: checkpoint.map(Box::new),
            });
        }
    }

    /// The open lesson.
    pub fn open_lesson(&self) -> Option<&Rc<Lesson>> {
        let id = self.lesson.as_ref()?;
        self.lessons.iter().find(|l| l.meta.id == *id)
    }

    /// The reader's progress in the open lesson.
    fn lesson_progress(&mut self) -> Option<&mut LessonProgress> {
        let id = self.lesson.clone()?;
        Some(self.progress.entry(id).or_default())
    }

    /// Puts the open lesson's experiment (and sweep) into the controls.
    fn apply_lesson(&mut self) {
        let Some(lesson) = self.open_lesson().cloned() else {
            return;
        };
        match lesson.experiment() {
            Ok(exp) => {
                self.exp = exp;
                self.drafts.clear();
                self.match_sweep_to_task();
                self.adopt_preset_sweep(&lesson.meta.preset);
                if let (Some((path, values)), None) = (
                    lesson.meta.sweep.as_deref().and_then(|s| s.split_once('=')),
                    &self.sweep.status,
                ) {
                    self.sweep.path = path.trim().into();
                    self.sweep.values = values.trim().into();
                    self.sweep.error = None;
                }
            }
            Err(e) => self.notices.push(e.to_string()),
        }
    }

    fn sweep_running(&self) -> Option<usize> {
        match self.sweep.status {
            Some(SweepStatus::Running { index }) => Some(index),
            _ => None,
        }
    }

    /// A run of the sweep finished: record its point and start the next run.
    fn sweep_next(&mut self, now_ms: f64) {
        let Some(index) = self.sweep_running() else {
            return;
        };
        if let (Some(summary), Some(report)) = (self.sweep.summary.as_mut(), &self.run.eval) {
            summary.points.push(SweepPoint {
                value: summary.values[index].clone(),
                step: report.step,
                metrics: final_metrics(report),
                run: None,
            });
            if self.sweep.metric.is_empty() {
                self.sweep.metric = default_metric(report);
            }
        }
        let next = index + 1;
        if next < self.sweep.runs.len() {
            self.sweep.status = Some(SweepStatus::Running { index: next });
            let exp = self.sweep.runs[next].clone();
            let name = self.sweep_run_name(next);
            self.start_run(exp, now_ms, name);
        } else {
            self.sweep.status = Some(SweepStatus::Done);
            if let Some(summary) = self.sweep.summary.clone() {
                let base = experiment_name(&summary.base);
                let record = RunRecord::from_sweep(summary, &base, self.epoch_offset + now_ms);
                self.upsert_run(record.clone());
                self.store(StoreOp::Put {
                    record: Box::new(record),
                    checkpoint: None,
                });
            }
        }
    }

    /// "garg-tiny: task.pool = 8": a sweep run's name.
    fn sweep_run_name(&self, index: usize) -> String {
        let Some(summary) = &self.sweep.summary else {
            return String::new();
        };
        format!(
            "{}: {} = {}",
            experiment_name(&summary.base),
            summary.path,
            summary
                .values
                .get(index)
                .map(crate::sweep::value_label)
                .unwrap_or_default()
        )
    }

    pub fn hash_state(&self) -> HashState {
        HashState {
            experiment: self.exp.clone(),
            backend: self.backend,
            bench: self.bench,
            preset: None,
            embed: self.embed.clone(),
            lesson: self.lesson.clone(),
            lesson_fresh: false,
        }
    }

    /// The hash of the current experiment without the embed settings: what "open in
    /// ICL Lab" links to.
    pub fn lab_hash(&self) -> String {
        to_hash(&HashState {
            embed: None,
            lesson: None,
            ..self.hash_state()
        })
    }

    /// The hash of an embed of `chart` for the current experiment.
    pub fn embed_hash(&self, chart: ChartId, show: &[String], autoplay: bool) -> String {
        to_hash(&HashState {
            embed: Some(EmbedSpec {
                chart,
                show: show.to_vec(),
                autoplay,
            }),
            ..self.hash_state()
        })
    }

    pub fn apply(&mut self, action: Action) {
        let Some(action) = self.saved.apply(action) else {
            return;
        };
        match action {
            // The saved runs' own actions, taken by `SavedRuns::apply` above.
            Action::RunsLoaded(_)
            | Action::StorageError(_)
            | Action::Saved { .. }
            | Action::SelectRun(_)
            | Action::AskDelete(_)
            | Action::CancelDelete
            | Action::DeleteRun(_) => {}
            Action::Edit { path, text } => {
                let Some(field) = all_fields().find(|f| f.path == path) else {
                    return;
                };
                match field.edit(&self.exp, &text) {
                    Ok(exp) => {
                        self.exp = exp;
                        self.drafts.remove(&path);
                        self.match_sweep_to_task();
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
                    self.match_sweep_to_task();
                    self.adopt_preset_sweep(&name);
                }
            }
            Action::Backend(b) => self.backend = b,
            Action::Hash(hash) => {
                let fresh = Self::from_hash(&hash);
                self.exp = fresh.exp;
                self.backend = fresh.backend;
                self.bench = fresh.bench;
                self.embed = fresh.embed;
                self.notices = fresh.notices;
                self.drafts.clear();
                if fresh.lesson != self.lesson {
                    self.lesson = fresh.lesson;
                    self.show_lessons = false;
                    // Before the lessons have loaded, LessonsLoaded applies it.
                    self.lesson_fresh = fresh.lesson_fresh && self.lessons.is_empty();
                    if fresh.lesson_fresh {
                        self.apply_lesson();
                    }
                }
            }
            Action::Started {
                experiment,
                paused,
                now_ms,
            } => {
                // A run started by hand ends a sweep in progress.
                if self.sweep_running().is_some() {
                    self.sweep.status = Some(SweepStatus::Cancelled);
                }
                let name = experiment_name(&experiment);
                self.run = RunView {
                    phase: if paused {
                        Phase::Paused
                    } else {
                        Phase::Running
                    },
                    experiment: Some(experiment),
                    started_at_ms: now_ms,
                    id: Some(self.new_run_id()),
                    name,
                    ..RunView::default()
                };
                self.eval_set = "fresh".into();
                // A new run starts with every head in place.
                self.ablations.clear();
                self.scrub = None;
            }
            Action::Worker { event, now_ms } => self.on_event(event, now_ms),
            Action::ToggleCurve(name) => {
                if !self.hidden.remove(&name) {
                    self.hidden.insert(name);
                }
            }
            Action::EvalSet(name) => self.eval_set = name,
            Action::DismissNotices => self.notices.clear(),
            Action::SweepEdit { path, values } => {
                self.sweep.path = path;
                self.sweep.values = values;
                self.sweep.error = None;
            }
            Action::SweepStart { now_ms } => {
                let spec = SweepSpec::parse(&format!("{}={}", self.sweep.path, self.sweep.values))
                    .map_err(|e| e.to_string())
                    .and_then(|spec| {
                        let runs = spec.experiments(&self.exp).map_err(|e| e.to_string())?;
                        for r in &runs {
                            super::limits::check_browser(r).map_err(|e| e.to_string())?;
                        }
                        Ok((spec, runs))
                    });
                match spec {
                    Err(e) => self.sweep.error = Some(e),
                    Ok((spec, runs)) => {
                        self.sweep.error = None;
                        self.sweep.summary = Some(SweepSummary::new(&spec, &self.exp));
                        self.sweep.status = Some(SweepStatus::Running { index: 0 });
                        self.sweep.metric = Vec::new();
                        let first = runs[0].clone();
                        self.sweep.runs = runs;
                        let name = self.sweep_run_name(0);
                        self.start_run(first, now_ms, name);
                    }
                }
            }
            Action::SweepCancel => {
                if self.sweep_running().is_some() {
                    self.sweep.status = Some(SweepStatus::Cancelled);
                    self.send(Control::Reset);
                }
            }
            Action::SweepLoad(text) => match SweepSummary::from_json(&text) {
                Ok(summary) => {
                    if self.sweep_running().is_some() {
                        self.send(Control::Reset);
                    }
                    self.show_summary(summary);
                }
                Err(e) => self.sweep.error = Some(e),
            },
            Action::SweepMetric(m) => self.sweep.metric = m,
            Action::ToggleHead { layer, head } => {
                let before = self.ablations.len();
                self.ablations
                    .retain(|a| (a.layer, a.head) != (layer, head));
                if self.ablations.len() == before {
                    self.ablations.push(HeadAblation {
                        layer,
                        head,
                        mode: self.ablation_mode,
                    });
                }
                self.ablations_changed();
            }
            Action::AblationMode(mode) => {
                self.ablation_mode = mode;
                if !self.ablations.is_empty() {
                    for a in &mut self.ablations {
                        a.mode = mode;
                    }
                    self.ablations_changed();
                }
            }
            Action::ClearAblations => {
                if !self.ablations.is_empty() {
                    self.ablations.clear();
                    self.ablations_changed();
                }
            }
            Action::Scrub(i) => {
                self.scrub = i.filter(|i| *i + 1 < self.run.attention.len());
            }
            Action::AttentionPrompt(i) => self.attention_prompt = i,
            Action::OpenRun(id) => self.open_run(&id),
            Action::Imported(imported, now_ms) => {
                let n = imported.runs.len();
                let mut notes = Vec::new();
                for mut record in imported.runs {
                    record.saved_ms = self.epoch_offset + now_ms;
                    let checkpoint = record.checkpoint.take().map(Box::new);
                    notes.push(format!("imported {}", record.name));
                    self.upsert_run(record.clone());
                    self.store(StoreOp::Put {
                        record: Box::new(record),
                        checkpoint,
                    });
                }
                if n == 0 && imported.problems.is_empty() {
                    notes.push("nothing to import in the chosen files".into());
                }
                notes.extend(imported.problems);
                self.saved.import_notes = notes;
            }
            Action::CloseRun => {
                if self.run.detached {
                    self.run = RunView::default();
                }
            }
            Action::Restoring => {
                self.run.detached = false;
                self.run.restoring = true;
                self.run.resumed_from = self.run.checkpoint_step;
                self.run.error = None;
                self.run.started_at_ms = 0.0;
            }
            Action::LessonsLoaded { lessons, errors } => {
                self.lessons = lessons;
                self.lesson_errors = errors;
                if self.lesson.is_some() && self.open_lesson().is_none() {
                    let id = self.lesson.take().unwrap_or_default();
                    self.notices.push(format!(
                        "lesson = {id} is not a lesson: one of {}",
                        self.lessons
                            .iter()
                            .map(|l| l.meta.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                } else if std::mem::take(&mut self.lesson_fresh) {
                    self.apply_lesson();
                }
            }
            Action::ProgressLoaded(p) => self.progress = p,
            Action::ShowLessons(show) => self.show_lessons = show,
            Action::OpenLesson(id) => {
                self.lesson = Some(id);
                self.show_lessons = false;
                self.apply_lesson();
            }
            Action::CloseLesson => self.lesson = None,
            Action::Predict(choice) => {
                if let Some(p) = self.lesson_progress() {
                    p.predicted = Some(choice);
                }
            }
            Action::ToggleStep(i) => {
                if let Some(p) = self.lesson_progress()
                    && !p.done.remove(&i)
                {
                    p.done.insert(i);
                }
            }
            Action::Reveal => {
                if let Some(p) = self.lesson_progress() {
                    p.revealed = true;
                }
            }
        }
    }

    /// Puts a finished sweep's summary (a file, a saved sweep) into the sweep panel.
    fn show_summary(&mut self, summary: SweepSummary) {
        self.sweep.metric = summary
            .metrics()
            .into_iter()
            .find(|m| *m == [Metric::Probe(Probe::Icl)] || *m == [Metric::error("fresh")])
            .unwrap_or_default();
        self.sweep.path = summary.path.clone();
        self.sweep.summary = Some(summary);
        self.sweep.status = Some(SweepStatus::Loaded);
        self.sweep.runs = Vec::new();
        self.sweep.error = None;
    }

    /// Shows a saved run as if trained here (a sweep goes to the sweep panel). A run
    /// the worker holds is dropped there (it was saved when it paused or finished).
    fn open_run(&mut self, id: &str) {
        let Some(record) = self.saved.runs.iter().find(|r| r.id == id) else {
            return;
        };
        let record = RunRecord::clone(record);
        if let Some(summary) = record.sweep {
            if self.sweep_running().is_none() {
                self.show_summary(summary);
            }
            return;
        }
        if self.run.phase == Phase::Running && !self.run.detached {
            return;
        }
        if self.run.phase == Phase::Paused && !self.run.detached {
            self.send(Control::Reset);
        }
        self.run = RunView::from_record(&record);
        self.exp = record.experiment.clone();
        self.drafts.clear();
        self.ablations.clear();
        self.scrub = None;
        self.eval_set = "fresh".into();
    }

    /// The ablated heads changed: drop the stale ablated evaluation and tell the
    /// worker (which evaluates the current model at once when a run exists).
    fn ablations_changed(&mut self) {
        self.run.ablated = None;
        if self.run.experiment.is_some() {
            self.send(Control::Ablate {
                heads: self.ablations.clone(),
            });
        }
    }

    /// The attention snapshot the heatmaps show, with its step.
    pub fn shown_attention(&self) -> Option<(usize, &AttentionSnapshot)> {
        let all = &self.run.attention;
        let i = self.scrub.unwrap_or(all.len().checked_sub(1)?);
        all.get(i).map(|(step, a)| (*step, a.as_ref()))
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
                run.history.push((report.step, final_metrics(&report)));
                if let Some(a) = &report.attention {
                    run.attention.push((report.step, Rc::new(a.clone())));
                }
                run.eval = Some(report);
            }
            Event::Ablated(report) => {
                // Only the answer to the heads ablated now (a click may be in flight).
                if report.ablated == self.ablations {
                    run.ablated = Some(report);
                }
            }
            Event::Paused { .. } => {
                run.phase = Phase::Paused;
                // GPU runs send no checkpoint (see the worker): save what there is.
                // Saved now and again when its checkpoint comes (if reading that
                // fails, the curves are kept all the same). A restored run's first
                // Paused is the worker taking it over, not a pause.
                if !std::mem::take(&mut run.restoring) {
                    self.save_run(None, now_ms);
                }
            }
            Event::Checkpoint(c) => {
                if !run.detached {
                    run.checkpoint_step = Some(c.step);
                    self.save_run(Some(*c), now_ms);
                }
            }
            Event::Resumed { .. } => run.phase = Phase::Running,
            Event::Finished { .. } => {
                run.phase = Phase::Finished;
                run.finished_ms = Some(now_ms - run.started_at_ms);
                self.save_run(None, now_ms);
                // A lesson's observations open when its run finishes.
                if let Some(p) = self.lesson_progress() {
                    p.revealed = true;
                }
                self.sweep_next(now_ms);
            }
            Event::Error { message } => {
                run.phase = Phase::Idle;
                if self.sweep_running().is_some() {
                    self.sweep.status = Some(SweepStatus::Failed(message.clone()));
                }
                self.run.error = Some(message);
            }
            // A saved run opened meanwhile stays shown.
            Event::Reset if run.detached => {}
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
        if run.detached {
            line.push_str(&format!(" · saved run “{}”", run.name));
        } else if let Some(p) = &run.progress {
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

/// Evaluations of the bench page's time-to-ICL run: every 50 steps, as
/// `icl-lab bench --time-to-icl` evaluates.
pub const ICL_BENCH_EVERY: usize = 50;

/// The bench page's time-to-ICL run: `exp` with its own step count, evaluated every
/// [`ICL_BENCH_EVERY`] steps; the page stops it at the milestone.
pub fn time_to_icl_experiment(exp: &Experiment) -> Experiment {
    let mut e = exp.clone();
    e.train.eval_every = ICL_BENCH_EVERY;
    e.train.log_every = ICL_BENCH_EVERY / 2;
    e
}

/// Whether `run` is a bench page's time-to-ICL run.
pub fn is_icl_bench(run: &RunView) -> bool {
    run.experiment
        .as_ref()
        .is_some_and(|e| e.train.eval_every == ICL_BENCH_EVERY)
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
    report
        .beats_averaging()
        .is_some_and(|b| b)
        .then_some(report.step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Curve, EvalCurves};

    #[test]
    fn the_time_to_icl_run_is_the_experiment_evaluated_every_50_steps() {
        let e = crate::presets::preset("garg-tiny").unwrap();
        let t = time_to_icl_experiment(&e);
        assert_eq!((t.train.eval_every, t.train.steps), (50, e.train.steps));
        let mut run = RunView {
            experiment: Some(t),
            ..RunView::default()
        };
        assert!(is_icl_bench(&run));
        run.experiment = Some(bench_experiment(&e, 30));
        assert!(!is_icl_bench(&run), "the throughput run does not evaluate");
    }

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
                distance: Default::default(),
            }],
            probes: Vec::new(),
            algorithms: None,
            lsa: Vec::new(),
            ..EvalReport::default()
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
            event: Event::Ready {
                protocol: 1,
                webgpu: false,
            },
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

    fn finish(s: &mut AppState, step: usize, model: f64) {
        s.apply(Action::Worker {
            event: Event::Eval(report(step, model)),
            now_ms: 0.0,
        });
        s.apply(Action::Worker {
            event: Event::Finished {
                step,
                train_ms: 1.0,
            },
            now_ms: 0.0,
        });
    }

    #[test]
    fn a_sweep_runs_each_value_in_turn_and_keeps_points_when_cancelled() {
        let mut s = AppState::from_hash("");
        s.worker_ready = true;
        s.apply(Action::SweepEdit {
            path: "task.pool".into(),
            values: "2, 8, null".into(),
        });
        s.apply(Action::SweepStart { now_ms: 0.0 });
        assert_eq!(s.sweep.error, None);
        let started = |s: &AppState| match s.outbox.last() {
            Some((_, Control::Start { experiment, .. })) => experiment.task.pool,
            other => panic!("expected a start, got {other:?}"),
        };
        assert_eq!(started(&s), Some(2));
        assert_eq!(s.sweep.status, Some(SweepStatus::Running { index: 0 }));
        finish(&mut s, 10, 0.3);
        assert_eq!(started(&s), Some(8));
        assert_eq!(s.run.phase, Phase::Running, "the next run started");
        let summary = s.sweep.summary.clone().unwrap();
        assert_eq!(summary.points.len(), 1);
        assert_eq!(summary.points[0].metrics[&Metric::error("fresh")], 0.3);
        assert_eq!(s.sweep.metric, [Metric::error("fresh")]);
        // the experiment the controls show is untouched
        assert_eq!(s.exp.task.pool, None);

        s.apply(Action::SweepCancel);
        assert_eq!(s.sweep.status, Some(SweepStatus::Cancelled));
        assert!(matches!(s.outbox.last(), Some((_, Control::Reset))));
        assert_eq!(s.sweep.summary.as_ref().unwrap().points.len(), 1);
        // a late Finished of the cancelled run adds nothing
        finish(&mut s, 10, 0.1);
        assert_eq!(s.sweep.summary.as_ref().unwrap().points.len(), 1);
    }

    #[test]
    fn the_sweep_field_follows_the_kind_of_task() {
        let mut s = AppState::from_hash("");
        assert_eq!(s.sweep.path, "task.pool");
        s.apply(Action::Preset("bursty-icl".into()));
        assert_eq!(s.sweep.path, "task.family.p_bursty");
        s.apply(Action::SweepEdit {
            path: "seed".into(),
            values: "1, 2".into(),
        });
        s.apply(Action::Preset("garg-tiny".into()));
        assert_eq!(s.sweep.path, "seed", "a field both kinds have stays");
        let t = AppState::from_hash("#preset=transience");
        assert_eq!(t.sweep.path, "task.family.p_bursty");
        let d = AppState::from_hash("#preset=depth-gd-to-newton");
        assert_eq!(
            d.sweep.path, "model.layers",
            "a link to a sweep preset brings its sweep"
        );
        // A preset made for a sweep brings its own.
        s.apply(Action::Preset("depth-gd-to-newton".into()));
        assert_eq!(
            (s.sweep.path.as_str(), s.sweep.values.as_str()),
            ("model.layers", "1..4")
        );
        s.apply(Action::Preset("regression-vs-classification".into()));
        assert_eq!(s.sweep.path, "task.family.p_classification");
        s.apply(Action::Preset("icl-in-a-minute".into()));
        assert_eq!(s.sweep.path, "task.pool", "not a field of plain regression");
        // A family parameter the experiment has survives edits of other fields.
        s.apply(Action::Preset("noisy-mixture".into()));
        s.apply(Action::SweepEdit {
            path: "task.family.noise".into(),
            values: "[0.1], [1.0]".into(),
        });
        s.apply(Action::Edit {
            path: "task.dims".into(),
            text: "6".into(),
        });
        assert_eq!(s.sweep.path, "task.family.noise");
    }

    #[test]
    fn a_sweep_finishes_after_its_last_value_and_bad_values_are_named() {
        let mut s = AppState::from_hash("");
        s.apply(Action::SweepEdit {
            path: "task.dims".into(),
            values: "4, 999".into(),
        });
        s.apply(Action::SweepStart { now_ms: 0.0 });
        let e = s.sweep.error.clone().unwrap();
        assert!(e.contains("task.dims = 999") && e.contains("1..=64"), "{e}");
        assert!(s.outbox.is_empty() && s.sweep.status.is_none());
        // A list that does not parse is named in the page's words (no CLI flag).
        s.apply(Action::SweepEdit {
            path: "task.dims".into(),
            values: "4..2".into(),
        });
        s.apply(Action::SweepStart { now_ms: 0.0 });
        let e = s.sweep.error.clone().unwrap();
        assert!(
            e.starts_with("task.dims: `4..2`") && !e.contains("--"),
            "{e}"
        );

        s.apply(Action::SweepEdit {
            path: "seed".into(),
            values: "1, 2".into(),
        });
        s.apply(Action::SweepStart { now_ms: 0.0 });
        finish(&mut s, 5, 0.5);
        finish(&mut s, 5, 0.4);
        assert_eq!(s.sweep.status, Some(SweepStatus::Done));
        let text = serde_json::to_string(s.sweep.summary.as_ref().unwrap()).unwrap();
        let mut t = AppState::from_hash("");
        t.apply(Action::SweepLoad(text));
        assert_eq!(t.sweep.status, Some(SweepStatus::Loaded));
        assert_eq!(t.sweep.summary.as_ref().unwrap().points.len(), 2);
        t.apply(Action::SweepLoad("{}".into()));
        assert!(
            t.sweep
                .error
                .as_ref()
                .unwrap()
                .contains("not an icl-lab sweep summary")
        );
    }

    fn token_report(step: usize, ablated: Vec<HeadAblation>) -> EvalReport {
        use crate::lens::heads::{AttentionSnapshot, PromptAttention};
        EvalReport {
            step,
            attention: Some(AttentionSnapshot {
                prompts: vec![PromptAttention {
                    labels: vec!["t1".into(), "t2".into()],
                    heads: vec![vec![vec![1.0, 0.0, step as f32 / 1000.0, 0.5]]],
                }],
            }),
            ablated,
            ..EvalReport::default()
        }
    }

    /// The page of `hash` with its experiment's run started.
    fn running(hash: &str) -> AppState {
        let mut s = AppState::from_hash(hash);
        let exp = s.exp.clone();
        s.apply(Action::Started {
            experiment: exp,
            paused: false,
            now_ms: 0.0,
        });
        s
    }

    #[test]
    fn the_saved_runs_take_their_own_actions_and_hand_back_the_rest() {
        let mut saved = SavedRuns::default();
        assert!(saved.apply(Action::SelectRun("a".into())).is_none());
        assert!(saved.selected.contains("a"));
        assert!(saved.apply(Action::AskDelete("a".into())).is_none());
        assert_eq!(saved.confirm_delete.as_deref(), Some("a"));
        assert!(saved.apply(Action::DeleteRun("a".into())).is_none());
        assert!(saved.selected.is_empty() && saved.confirm_delete.is_none());
        assert!(matches!(saved.store_ops.last(), Some((_, StoreOp::Delete(id))) if id == "a"));
        // Anything else is the page's: handed back untouched.
        assert!(matches!(
            saved.apply(Action::SweepCancel),
            Some(Action::SweepCancel)
        ));
    }

    #[test]
    fn controls_queued_between_two_renders_all_arrive_in_order() {
        let mut s = running("#preset=induction-phase-change");
        // The page has sent everything so far; two clicks land before it renders.
        let seen = s.outbox.next_number();
        s.apply(Action::ToggleHead { layer: 1, head: 0 });
        s.apply(Action::ToggleHead { layer: 0, head: 0 });
        let sent: Vec<Control> = s
            .outbox
            .since(seen)
            .into_iter()
            .map(|(_, c)| Control::clone(&c))
            .collect();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(matches!(&sent[0], Control::Ablate { heads } if heads.len() == 1));
        assert!(matches!(&sent[1], Control::Ablate { heads } if heads.len() == 2));
        assert!(s.outbox.since(s.outbox.next_number()).is_empty());
        // Past the bound only the newest are kept; the numbers keep counting.
        let mut o = Outbox::default();
        for i in 0..100u64 {
            o.push(i);
        }
        assert_eq!(o.since(0).len(), Outbox::<u64>::KEEP);
        assert_eq!(o.since(98), vec![(98, Rc::new(98)), (99, Rc::new(99))]);
    }

    #[test]
    fn heads_are_ablated_by_click_and_the_worker_is_told() {
        let mut s = AppState::from_hash("#preset=induction-phase-change");
        // Before a run: kept, nothing sent.
        s.apply(Action::ToggleHead { layer: 1, head: 0 });
        assert_eq!(s.ablations.len(), 1);
        assert!(s.outbox.is_empty());
        let exp = s.exp.clone();
        s.apply(Action::Started {
            experiment: exp,
            paused: false,
            now_ms: 0.0,
        });
        assert!(s.ablations.is_empty(), "a new run starts with every head");
        let ev = |event| Action::Worker { event, now_ms: 0.0 };
        s.apply(Action::ToggleHead { layer: 1, head: 0 });
        let cut = vec![HeadAblation {
            layer: 1,
            head: 0,
            mode: AblationMode::Zero,
        }];
        assert_eq!(
            s.outbox.last().map(|(_, c)| c.clone()),
            Some(Control::Ablate { heads: cut.clone() })
        );
        // A stale answer (for another set of heads) is ignored; the current one shown.
        s.apply(ev(Event::Ablated(token_report(50, Vec::new()))));
        assert!(s.run.ablated.is_none());
        s.apply(ev(Event::Ablated(token_report(50, cut.clone()))));
        assert_eq!(s.run.ablated.as_ref().map(|r| r.step), Some(50));
        // The mode applies to the ablated heads at once.
        s.apply(Action::AblationMode(AblationMode::Mean));
        assert_eq!(s.ablations[0].mode, AblationMode::Mean);
        assert!(s.run.ablated.is_none(), "the zeroed result is stale");
        // Clicked again: restored, and the worker told so.
        s.apply(Action::ToggleHead { layer: 1, head: 0 });
        assert!(s.ablations.is_empty());
        assert_eq!(
            s.outbox.last().map(|(_, c)| c.clone()),
            Some(Control::Ablate { heads: Vec::new() })
        );
    }

    #[test]
    fn the_scrubber_steps_through_the_attention_of_every_evaluation() {
        let mut s = running("#preset=induction-phase-change");
        assert!(s.shown_attention().is_none());
        let ev = |event| Action::Worker { event, now_ms: 0.0 };
        for step in [0, 50, 100] {
            s.apply(ev(Event::Eval(token_report(step, Vec::new()))));
        }
        assert_eq!(s.run.attention.len(), 3);
        // Following training: the latest.
        assert_eq!(s.shown_attention().map(|(step, _)| step), Some(100));
        s.apply(Action::Scrub(Some(1)));
        let (step, a) = s.shown_attention().unwrap();
        assert_eq!(step, 50);
        assert_eq!(a.prompts[0].heads[0][0][2], 0.05);
        // It stays there while training goes on; the last index follows again.
        s.apply(ev(Event::Eval(token_report(150, Vec::new()))));
        assert_eq!(s.shown_attention().map(|(step, _)| step), Some(50));
        s.apply(Action::Scrub(Some(3)));
        assert_eq!(s.scrub, None);
        assert_eq!(s.shown_attention().map(|(step, _)| step), Some(150));
    }

    #[test]
    fn an_embed_keeps_its_settings_and_links_back_to_the_lab() {
        let mut s =
            AppState::from_hash("#preset=icl-in-a-minute&embed=icl&show=task.points&autoplay");
        assert_eq!(s.embed.as_ref().unwrap().show, ["task.points"]);
        s.apply(Action::Edit {
            path: "task.points".into(),
            text: "15".into(),
        });
        // The URL keeps the embed settings and the edit; "open in ICL Lab" drops them.
        let h = to_hash(&s.hash_state());
        assert!(
            h.contains("embed=icl") && h.contains("show=task.points") && h.contains("autoplay"),
            "{h}"
        );
        let lab = s.lab_hash();
        assert!(!lab.contains("embed") && !lab.contains("autoplay"), "{lab}");
        assert_eq!(parse_hash(&lab).0.experiment.task.points, 15);
        let code = s.embed_hash(ChartId::Loss, &[], false);
        let back = parse_hash(&code).0;
        assert_eq!(back.embed.unwrap().chart, ChartId::Loss);
        assert_eq!(back.experiment, s.exp);
    }

    fn started(s: &mut AppState) {
        let exp = s.exp.clone();
        s.apply(Action::Started {
            experiment: exp,
            paused: false,
            now_ms: 0.0,
        });
    }

    fn checkpoint(step: usize) -> SavedCheckpoint {
        SavedCheckpoint {
            step,
            rng_position: "7".into(),
            model: "AQID".into(),
            optimizer: Some("BAU=".into()),
        }
    }

    fn puts(s: &AppState) -> Vec<(RunStatus, usize, bool)> {
        s.saved
            .store_ops
            .iter()
            .filter_map(|(_, op)| match op {
                StoreOp::Put { record, checkpoint } => {
                    Some((record.status, record.step, checkpoint.is_some()))
                }
                StoreOp::Delete(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_run_is_saved_with_its_checkpoint_when_it_pauses_and_when_it_finishes() {
        let mut s = AppState::from_hash("#preset=icl-in-a-minute");
        s.session = "t".into();
        started(&mut s);
        assert_eq!(s.run.id.as_deref(), Some("t-1"));
        let ev = |event| Action::Worker { event, now_ms: 5.0 };
        s.apply(ev(Event::Backend(BackendInfo {
            kind: "cpu".into(),
            adapter: "flex".into(),
            fallback_reason: None,
        })));
        s.apply(ev(Event::Progress(Progress {
            step: 40,
            steps: 1500,
            loss: 0.5,
            lr: 1e-3,
            steps_per_sec: 1.0,
            first_step_ms: 1.0,
            train_ms: 9.0,
        })));
        s.apply(ev(Event::Paused { step: 40 }));
        assert_eq!(
            puts(&s),
            [(RunStatus::Stopped, 40, false)],
            "saved at once, without a checkpoint yet"
        );
        s.apply(ev(Event::Checkpoint(Box::new(checkpoint(40)))));
        assert_eq!(
            puts(&s),
            [
                (RunStatus::Stopped, 40, false),
                (RunStatus::Paused, 40, true)
            ]
        );
        assert_eq!(s.saved.runs.len(), 1);
        assert!(
            s.saved.runs[0].checkpoint.is_none(),
            "the table holds no weights"
        );
        assert_eq!(s.saved.runs[0].name, "icl-in-a-minute");
        // Two saves queued: the first one's confirmation is not the latest's.
        assert_eq!(s.saved.unsaved.get("t-1"), Some(&1));
        s.apply(Action::Saved {
            id: "t-1".into(),
            op: 0,
        });
        assert!(s.saved.unsaved.contains_key("t-1"));
        s.apply(Action::Saved {
            id: "t-1".into(),
            op: 1,
        });
        assert!(s.saved.unsaved.is_empty());
        s.apply(ev(Event::Finished {
            step: 1500,
            train_ms: 1.0,
        }));
        assert_eq!(puts(&s)[2].0, RunStatus::Finished);
        assert_eq!(s.saved.runs.len(), 1, "the same run, replaced");
        // A second run gets its own id.
        started(&mut s);
        assert_eq!(s.run.id.as_deref(), Some("t-2"));
    }

    #[test]
    fn bench_and_embed_runs_are_not_saved() {
        for hash in ["#bench", "#preset=icl-in-a-minute&embed=icl"] {
            let mut s = AppState::from_hash(hash);
            started(&mut s);
            s.apply(Action::Worker {
                event: Event::Finished {
                    step: 1,
                    train_ms: 1.0,
                },
                now_ms: 0.0,
            });
            assert!(
                s.saved.store_ops.is_empty() && s.saved.runs.is_empty(),
                "{hash}"
            );
        }
    }

    fn saved(id: &str, status: RunStatus, checkpoint_step: Option<usize>) -> RunRecord {
        let mut exp = presets::preset("induction-phase-change").unwrap();
        exp.train.steps = 100;
        RunRecord {
            kind: RUN_KIND.into(),
            id: id.into(),
            name: id.into(),
            origin: Origin::Browser,
            status,
            saved_ms: 1.0,
            experiment: exp,
            step: 50,
            losses: vec![(10, 2.0), (50, 1.0)],
            history: vec![(50, [(Metric::IclScore, -1.0)].into())],
            eval: Some(token_report(50, Vec::new())),
            attention: vec![(50, token_report(50, Vec::new()).attention.unwrap())],
            train_ms: Some(3.0),
            backend: None,
            checkpoint_step,
            checkpoint: None,
            sweep: None,
        }
    }

    #[test]
    fn an_opened_run_shows_its_curves_and_resumes_through_a_restore() {
        let mut s = AppState::from_hash("");
        s.apply(Action::RunsLoaded(vec![
            saved("old", RunStatus::Finished, Some(100)),
            saved("paused", RunStatus::Paused, Some(50)),
        ]));
        s.apply(Action::OpenRun("paused".into()));
        assert!(s.run.detached);
        assert_eq!(s.run.phase, Phase::Paused);
        assert_eq!(
            s.exp.train.steps, 100,
            "the controls show the run's experiment"
        );
        assert_eq!(s.run.losses.len(), 2);
        assert_eq!(s.shown_attention().map(|(step, _)| step), Some(50));
        let line = s.status_line();
        assert!(
            line.contains("step 50 / 100") && line.contains("saved run"),
            "{line}"
        );
        // Not saved again just for being shown; the worker's Reset does not clear it.
        assert!(s.run_record(0.0).is_none());
        s.apply(Action::Worker {
            event: Event::Reset,
            now_ms: 0.0,
        });
        assert!(s.run.detached);
        // Resume: the page restores it in the worker; its first Paused is not saved.
        s.apply(Action::Restoring);
        assert_eq!(s.run.resumed_from, Some(50));
        s.apply(Action::Worker {
            event: Event::Backend(BackendInfo {
                kind: "webgpu".into(),
                adapter: "gpu".into(),
                fallback_reason: None,
            }),
            now_ms: 0.0,
        });
        s.apply(Action::Worker {
            event: Event::Paused { step: 50 },
            now_ms: 0.0,
        });
        assert!(s.saved.store_ops.is_empty());
        // A later pause of the (GPU) run saves it, under the same id.
        s.apply(Action::Worker {
            event: Event::Paused { step: 60 },
            now_ms: 0.0,
        });
        assert_eq!(s.saved.runs.iter().filter(|r| r.id == "paused").count(), 1);
        assert_eq!(puts(&s).len(), 1);
        // A finished run opens finished; one stopped without a checkpoint, idle.
        s.apply(Action::OpenRun("old".into()));
        assert_eq!(s.run.phase, Phase::Finished);
        let stopped = saved("x", RunStatus::Paused, None);
        assert_eq!(RunView::from_record(&stopped).phase, Phase::Idle);
    }

    #[test]
    fn delete_asks_first_and_overlays_follow_the_selection() {
        let mut s = AppState::from_hash("");
        s.apply(Action::RunsLoaded(vec![
            saved("a", RunStatus::Finished, None),
            saved("b", RunStatus::Finished, None),
        ]));
        s.apply(Action::SelectRun("a".into()));
        s.apply(Action::SelectRun("b".into()));
        s.apply(Action::SelectRun("b".into()));
        assert_eq!(s.saved.selected, ["a".to_string()].into());
        s.apply(Action::AskDelete("a".into()));
        assert_eq!(s.saved.confirm_delete.as_deref(), Some("a"));
        s.apply(Action::CancelDelete);
        assert_eq!(s.saved.runs.len(), 2);
        s.apply(Action::AskDelete("a".into()));
        s.apply(Action::DeleteRun("a".into()));
        assert_eq!(s.saved.runs.len(), 1);
        assert!(s.saved.selected.is_empty() && s.saved.confirm_delete.is_none());
        assert!(matches!(s.saved.store_ops.last(), Some((_, StoreOp::Delete(id))) if id == "a"));
    }

    #[test]
    fn imported_runs_store_their_checkpoint_apart_and_problems_are_listed() {
        let mut s = AppState::from_hash("");
        let mut r = saved("cli", RunStatus::Paused, Some(50));
        r.checkpoint = Some(checkpoint(50));
        s.apply(Action::Imported(
            Imported {
                runs: vec![r],
                problems: vec!["notes.txt: not a file the lab reads".into()],
            },
            2.0,
        ));
        assert_eq!(puts(&s), [(RunStatus::Paused, 50, true)]);
        assert!(s.saved.runs[0].checkpoint.is_none());
        assert_eq!(s.saved.import_notes.len(), 2);
        assert!(s.saved.import_notes[1].contains("notes.txt"));
        s.apply(Action::Imported(Imported::default(), 3.0));
        assert_eq!(
            s.saved.import_notes,
            ["nothing to import in the chosen files"]
        );
    }

    fn lesson(id: &str, preset: &str) -> Rc<Lesson> {
        Rc::new(
            Lesson::parse(&format!(
                "+++\nid = \"{id}\"\ntitle = \"T\"\nfamily = \"F\"\npreset = \"{preset}\"\nset = [\"train.steps=321\"]\nsweep = \"seed=1, 2\"\nquestion = \"Q?\"\nchoices = [\"a\", \"b\"]\nanswer = 1\n+++\nIntro.\n## Steps\n1. one\n2. two\n## What to look for\nThis.\n"
            ))
            .unwrap(),
        )
    }

    #[test]
    fn a_lesson_link_sets_up_its_experiment_once_the_lessons_load() {
        let mut s = AppState::from_hash("#lesson=two");
        assert_eq!(s.lesson.as_deref(), Some("two"));
        s.apply(Action::LessonsLoaded {
            lessons: vec![
                lesson("one", "icl-in-a-minute"),
                lesson("two", "transience"),
            ],
            errors: Vec::new(),
        });
        assert_eq!(s.exp.train.steps, 321);
        assert!(
            matches!(s.exp.task.family.shape(), Shape::Classification(_)),
            "transience's family"
        );
        assert_eq!(
            (s.sweep.path.as_str(), s.sweep.values.as_str()),
            ("seed", "1, 2")
        );
        assert!(to_hash(&s.hash_state()).contains("lesson=two"));
        // A link with its own experiment keeps it.
        let mut k = AppState::from_hash("#preset=garg-tiny&lesson=two");
        k.apply(Action::LessonsLoaded {
            lessons: vec![lesson("two", "transience")],
            errors: Vec::new(),
        });
        assert_eq!(k.exp, presets::preset("garg-tiny").unwrap());
        // An unknown lesson is named.
        let mut u = AppState::from_hash("#lesson=nope");
        u.apply(Action::LessonsLoaded {
            lessons: vec![lesson("two", "transience")],
            errors: Vec::new(),
        });
        assert_eq!(u.lesson, None);
        assert!(u.notices[0].contains("lesson = nope") && u.notices[0].contains("two"));
    }

    #[test]
    fn lesson_progress_follows_prediction_steps_and_the_finished_run() {
        let mut s = AppState::from_hash("");
        s.apply(Action::LessonsLoaded {
            lessons: vec![lesson("one", "icl-in-a-minute")],
            errors: Vec::new(),
        });
        s.apply(Action::Predict(0));
        assert!(s.progress.is_empty(), "no lesson open: nothing recorded");
        s.apply(Action::OpenLesson("one".into()));
        assert_eq!(s.exp.train.steps, 321);
        s.apply(Action::Predict(1));
        s.apply(Action::ToggleStep(0));
        s.apply(Action::ToggleStep(1));
        s.apply(Action::ToggleStep(1));
        let p = &s.progress["one"];
        assert_eq!((p.predicted, p.done.len(), p.revealed), (Some(1), 1, false));
        started(&mut s);
        s.apply(Action::Worker {
            event: Event::Finished {
                step: 321,
                train_ms: 1.0,
            },
            now_ms: 0.0,
        });
        assert!(
            s.progress["one"].revealed,
            "the observations open at the end of the run"
        );
        s.apply(Action::CloseLesson);
        assert!(!to_hash(&s.hash_state()).contains("lesson"));
    }
}
