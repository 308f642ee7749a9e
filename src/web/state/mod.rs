//! The page's state and its reducer: every change is an [`Action`], so components
//! own no training state and the logic is tested natively. The worker's [`Event`]s
//! arrive as actions too.
//!
//! The state is split by concern, each part with its own actions and reducer: the
//! run ([`run`]), the sweep panel ([`sweep`]), the saved runs ([`saved`]) and the
//! lessons ([`lessons`]). [`AppState::apply`] routes an action to its part and
//! carries out what the part asks of the others (a sweep starts a run, a finished
//! run opens its lesson's observations). The parts are shared (`Rc`): the copy yew
//! makes of the state on every action copies only the part the action changes.

pub mod lessons;
pub mod outbox;
pub mod run;
pub mod saved;
pub mod sweep;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::ablation::AblationMode;
use crate::config::Experiment;
use crate::eval::{EvalCurves, EvalReport};
use crate::presets;
use crate::sweep::final_metrics;

use super::chart_id::ChartId;
use super::fields::all_fields;
use super::hash::{EmbedSpec, HashState, embed_link, parse_hash, to_hash};
use super::protocol::{BackendChoice, Control, Event, Phase};
use super::runs::{
    Imported, KEPT_SNAPSHOTS, Origin, RUN_KIND, RunRecord, RunStatus, SavedCheckpoint,
    experiment_name, thin_snapshots,
};

pub use lessons::{LessonAction, LessonEffect, Lessons};
pub use outbox::Outbox;
pub use run::{Milestone, RunAction, RunView};
pub use saved::{SavedAction, SavedRuns, StoreOp};
pub use sweep::{SWEEPABLE, SweepAction, SweepEffect, SweepStatus, SweepView};

/// A field whose typed text is not (yet) valid: kept as typed, with the message.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub text: String,
    pub error: String,
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
    /// The embed view (`embed=<chart>` in the hash): one chart, a few controls.
    pub embed: Option<EmbedSpec>,
    /// Messages about the link the page was opened with.
    pub notices: Vec<String>,
    pub worker_ready: bool,
    /// The worker's latest baseline preview and the experiment it is for.
    pub preview: Option<Rc<(Experiment, Option<Rc<EvalCurves>>)>>,
    /// The experiment the worker was last asked to preview.
    pub preview_asked: Option<Experiment>,
    /// The current run and how it is looked at.
    pub run: Rc<RunView>,
    /// The sweep panel.
    pub sweep: Rc<SweepView>,
    /// The saved runs and what the page asks IndexedDB to do with them.
    pub saved: Rc<SavedRuns>,
    /// The lessons, the open one and the reader's progress.
    pub lessons: Rc<Lessons>,
    /// Controls the reducer wants sent to the worker (a sweep starting its next
    /// run, a cancel, ablated heads), each sent once, in order.
    pub outbox: Outbox<Control>,
    /// Curves the user switched off.
    pub hidden: BTreeSet<String>,
    /// How a clicked head is ablated.
    pub ablation_mode: AblationMode,
    /// Which of the attention snapshot's sequences the heatmaps show.
    pub attention_prompt: usize,
    /// Prefix of this page's run ids, and how many runs it started.
    pub session: String,
    pub run_seq: u64,
    /// ms since 1970 at page clock 0 (set by the page; 0 in tests).
    pub epoch_offset: f64,
    /// The reader's setting: pause a running training while the tab is hidden (and
    /// go on when it is seen again); off, training goes on in the background.
    pub pause_when_hidden: bool,
    /// The running training was paused because the tab was hidden (so coming back
    /// resumes it; a pause the user made stays).
    pub paused_by_tab: bool,
    /// The watchdog's record: page clock (ms) of the worker's latest event, and the
    /// longest silence between two events of the running run (an evaluation).
    pub last_event_ms: f64,
    pub longest_gap_ms: f64,
    /// Counts the workers the page gave up on (they stopped answering): the trainer
    /// hook stops the worker at each change, and the next run gets a new one.
    pub worker_lost: u64,
}

/// A running run whose worker says nothing for this long (or 4 × its longest
/// silence so far, an evaluation, if longer) is taken for stopped: a browser kills a
/// worker that runs out of memory without a word.
pub const WATCHDOG_MS: f64 = 30_000.0;

/// Everything that changes the page. The parts' own actions are grouped
/// ([`RunAction`], [`SweepAction`], [`SavedAction`], [`LessonAction`]); the rest
/// touch several parts at once.
#[derive(Debug)]
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
    DismissNotices,
    /// The setting "pause while this tab is hidden".
    PauseWhenHidden(bool),
    /// The tab was hidden (`true`) or shown again.
    TabHidden(bool),
    ToggleCurve(String),
    /// A head was clicked: ablate it (the current [`AblationMode`]), or restore it.
    ToggleHead {
        layer: usize,
        head: usize,
    },
    /// How clicked heads are ablated (the heads ablated now follow).
    AblationMode(AblationMode),
    AttentionPrompt(usize),
    Run(RunAction),
    Sweep(SweepAction),
    Saved(SavedAction),
    Lesson(LessonAction),
    /// Show a saved run (a sweep: load it into the sweep panel).
    OpenRun(String),
    /// Files were imported.
    Imported(Imported, f64),
    /// The page sent Restore and Resume for the shown saved run.
    Restoring,
    /// Stop showing a saved run (Reset on a run the worker does not hold).
    CloseRun,
    /// The page's clock, every few seconds: the watchdog looks at the worker.
    Tick(f64),
}

impl AppState {
    pub fn from_hash(hash: &str) -> Self {
        let (h, notices) = parse_hash(hash);
        let mut s = Self {
            exp: h.experiment,
            drafts: BTreeMap::new(),
            backend: h.backend,
            bench: h.bench,
            embed: h.embed,
            notices,
            worker_ready: false,
            preview: None,
            preview_asked: None,
            run: Rc::default(),
            sweep: Rc::default(),
            saved: Rc::default(),
            lessons: Rc::new(Lessons {
                open: h.lesson,
                fresh: h.lesson_fresh,
                ..Lessons::default()
            }),
            outbox: Outbox::default(),
            hidden: BTreeSet::new(),
            ablation_mode: AblationMode::Zero,
            attention_prompt: 0,
            session: "run".into(),
            run_seq: 0,
            epoch_offset: 0.0,
            pause_when_hidden: false,
            paused_by_tab: false,
            last_event_ms: 0.0,
            longest_gap_ms: 0.0,
            worker_lost: 0,
        };
        let exp = s.exp.clone();
        s.sweep_mut().match_task(&exp);
        if let Some(name) = &h.preset {
            s.adopt_preset_sweep(name);
        }
        s
    }

    // The parts, for changing: copied first if the previous state still shares them.
    fn run_mut(&mut self) -> &mut RunView {
        Rc::make_mut(&mut self.run)
    }
    fn sweep_mut(&mut self) -> &mut SweepView {
        Rc::make_mut(&mut self.sweep)
    }
    fn saved_mut(&mut self) -> &mut SavedRuns {
        Rc::make_mut(&mut self.saved)
    }
    fn lessons_mut(&mut self) -> &mut Lessons {
        Rc::make_mut(&mut self.lessons)
    }

    /// A preset made for a sweep fills the sweep panel with it (not while one runs).
    fn adopt_preset_sweep(&mut self, name: &str) {
        if let Some(spec) = presets::PRESETS
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.sweep)
        {
            self.sweep_mut().propose(spec);
        }
    }

    /// A new experiment in the controls: drafts go, the sweep panel follows it.
    fn set_experiment(&mut self, exp: Experiment) {
        self.exp = exp;
        self.drafts.clear();
        let exp = self.exp.clone();
        self.sweep_mut().match_task(&exp);
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
            live: true,
        });
        let id = self.new_run_id();
        self.last_event_ms = now_ms;
        self.longest_gap_ms = 0.0;
        self.run = Rc::new(RunView {
            phase: Phase::Running,
            experiment: Some(experiment),
            started_at_ms: now_ms,
            id: Some(id),
            name,
            ..RunView::default()
        });
    }

    fn new_run_id(&mut self) -> String {
        self.run_seq += 1;
        format!("{}-{}", self.session, self.run_seq)
    }

    /// Carries out what the sweep asked.
    fn sweep_effect(&mut self, effect: SweepEffect, now_ms: f64) {
        match effect {
            SweepEffect::None => {}
            SweepEffect::Start { experiment, name } => self.start_run(*experiment, now_ms, name),
            SweepEffect::Reset => self.send(Control::Reset),
            SweepEffect::Save(record) => self.keep_record(*record, None),
        }
    }

    /// Adds a record to the saved runs and queues its IndexedDB write.
    fn keep_record(&mut self, record: RunRecord, checkpoint: Option<Box<SavedCheckpoint>>) {
        let saved = self.saved_mut();
        saved.upsert(record.clone());
        saved.store(StoreOp::Put {
            record: Box::new(record),
            checkpoint,
        });
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
            self.keep_record(record, checkpoint.map(Box::new));
        }
    }

    /// Puts the open lesson's experiment (and sweep) into the controls.
    fn apply_lesson(&mut self) {
        let Some(lesson) = self.lessons.open_lesson().cloned() else {
            return;
        };
        match lesson.experiment() {
            Ok(exp) => {
                self.set_experiment(exp);
                self.adopt_preset_sweep(&lesson.meta.preset);
                if let Some(spec) = lesson.meta.sweep.as_deref() {
                    self.sweep_mut().propose(spec);
                }
            }
            Err(e) => self.notices.push(e.to_string()),
        }
    }

    pub fn hash_state(&self) -> HashState {
        HashState {
            experiment: self.exp.clone(),
            backend: self.backend,
            bench: self.bench,
            preset: None,
            embed: self.embed.clone(),
            lesson: self.lessons.open.clone(),
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

    /// The hash of an embed of `chart` for the current experiment (the backend only
    /// when `keep_backend`: see [`embed_link`]).
    pub fn embed_hash(
        &self,
        chart: ChartId,
        show: &[String],
        autoplay: bool,
        keep_backend: bool,
    ) -> String {
        embed_link(
            &self.hash_state(),
            EmbedSpec {
                chart,
                show: show.to_vec(),
                autoplay,
            },
            keep_backend,
        )
    }

    pub fn apply(&mut self, action: Action) {
        self.apply_action(action);
        self.ask_preview();
    }

    /// The experiment the charts show: the run's, or the controls' before any run.
    pub fn shown_experiment(&self) -> &Experiment {
        self.run.experiment.as_ref().unwrap_or(&self.exp)
    }

    /// The baselines' curves before training (the ICL chart's faint "ghost"), when
    /// the worker has computed them for the experiment shown.
    pub fn preview(&self) -> Option<Rc<EvalCurves>> {
        let (exp, curves) = self.preview.as_deref()?;
        (exp == self.shown_experiment()).then(|| curves.clone())?
    }

    /// Asks the worker for the baselines' preview of the experiment shown when it
    /// changed (the page's thread computes nothing: on relu-nn's prompts the
    /// preview is tens of milliseconds, at every edit). Not on the bench page, and
    /// not before the worker listens (a new worker is asked again).
    fn ask_preview(&mut self) {
        if self.bench.is_some() || !self.worker_ready {
            return;
        }
        // Compared by reference first: this runs after every action, worker
        // progress events included, and the experiment is cloned only to send it.
        if self.preview_asked.as_ref() != Some(self.shown_experiment()) {
            let shown = self.shown_experiment().clone();
            self.preview_asked = Some(shown.clone());
            self.send(Control::Preview {
                experiment: Box::new(shown),
            });
        }
    }

    fn apply_action(&mut self, action: Action) {
        match action {
            Action::Edit { path, text } => {
                let Some(field) = all_fields().find(|f| f.path == path) else {
                    return;
                };
                match field.edit(&self.exp, &text) {
                    Ok(exp) => {
                        let drafts = std::mem::take(&mut self.drafts);
                        self.set_experiment(exp);
                        self.drafts = drafts;
                        self.drafts.remove(&path);
                    }
                    Err(error) => {
                        self.drafts.insert(path, Draft { text, error });
                    }
                }
            }
            Action::Preset(name) => {
                if let Ok(exp) = presets::preset(&name) {
                    self.set_experiment(exp);
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
                let (open, asked) = (fresh.lessons.open.clone(), fresh.lessons.fresh);
                if self.lessons_mut().follow_link(open, asked) {
                    self.apply_lesson();
                }
            }
            Action::Started {
                experiment,
                paused,
                now_ms,
            } => {
                // A run started by hand ends a sweep in progress.
                if self.sweep.running().is_some() {
                    self.sweep_mut().interrupt(None);
                }
                let name = experiment_name(&experiment);
                let id = self.new_run_id();
                self.last_event_ms = now_ms;
                self.longest_gap_ms = 0.0;
                // A new run starts on the fresh set, with every head in place.
                self.run = Rc::new(RunView {
                    phase: if paused {
                        Phase::Paused
                    } else {
                        Phase::Running
                    },
                    experiment: Some(experiment),
                    started_at_ms: now_ms,
                    id: Some(id),
                    name,
                    ..RunView::default()
                });
            }
            Action::Worker { event, now_ms } => {
                // Silences after the first progress (not the start-up's).
                if self.run.phase == Phase::Running
                    && !self.run.detached
                    && self.run.progress.is_some()
                {
                    let gap = now_ms - self.last_event_ms;
                    self.longest_gap_ms = self.longest_gap_ms.max(gap);
                }
                self.last_event_ms = now_ms;
                self.on_event(event, now_ms)
            }
            Action::Tick(now_ms) => self.watch(now_ms),
            Action::DismissNotices => self.notices.clear(),
            Action::PauseWhenHidden(on) => self.pause_when_hidden = on,
            Action::TabHidden(true) => {
                let training = self.run.phase == Phase::Running && !self.run.detached;
                if self.pause_when_hidden && training {
                    self.send(Control::Pause);
                    self.paused_by_tab = true;
                }
            }
            Action::TabHidden(false) => {
                if std::mem::take(&mut self.paused_by_tab)
                    && self.run.phase == Phase::Paused
                    && !self.run.detached
                {
                    self.send(Control::Resume);
                }
            }
            Action::ToggleCurve(name) => {
                if !self.hidden.remove(&name) {
                    self.hidden.insert(name);
                }
            }
            Action::ToggleHead { layer, head } => {
                let mode = self.ablation_mode;
                self.apply(Action::Run(RunAction::ToggleHead { layer, head, mode }));
            }
            Action::AblationMode(mode) => {
                self.ablation_mode = mode;
                self.apply(Action::Run(RunAction::Remode(mode)));
            }
            Action::AttentionPrompt(i) => self.attention_prompt = i,
            Action::Run(action) => {
                if let Some(control) = self.run_mut().apply(action) {
                    self.send(control);
                }
            }
            Action::Sweep(action) => {
                let now_ms = match action {
                    SweepAction::Start { now_ms } => now_ms,
                    _ => 0.0,
                };
                let exp = self.exp.clone();
                let effect = self.sweep_mut().apply(action, &exp);
                self.sweep_effect(effect, now_ms);
            }
            Action::Saved(action) => self.saved_mut().apply(action),
            Action::Lesson(action) => {
                let opening = matches!(action, LessonAction::Open(_));
                match self.lessons_mut().apply(action) {
                    LessonEffect::None => {}
                    LessonEffect::Apply => {
                        // The lesson's experiment replaces the controls; a run that is
                        // not training (paused, finished, stopped; saved already) no
                        // longer matches them, so its buttons and charts go.
                        if opening {
                            self.close_stopped_run();
                        }
                        self.apply_lesson();
                    }
                    LessonEffect::Notice(n) => self.notices.push(n),
                }
            }
            Action::OpenRun(id) => self.open_run(&id),
            Action::Imported(imported, now_ms) => {
                let n = imported.runs.len();
                let mut notes = Vec::new();
                for mut record in imported.runs {
                    record.saved_ms = self.epoch_offset + now_ms;
                    let checkpoint = record.checkpoint.take().map(Box::new);
                    notes.push(format!("imported {}", record.name));
                    self.keep_record(record, checkpoint);
                }
                if n == 0 && imported.problems.is_empty() && imported.notes.is_empty() {
                    notes.push("nothing to import in the chosen files".into());
                }
                notes.extend(imported.notes);
                notes.extend(imported.problems);
                self.saved_mut().import_notes = notes;
            }
            Action::CloseRun => {
                if self.run.detached {
                    self.run = Rc::default();
                }
            }
            Action::Restoring => {
                self.longest_gap_ms = 0.0;
                let run = self.run_mut();
                run.detached = false;
                run.restoring = true;
                run.resumed_from = run.checkpoint_step;
                run.error = None;
                run.started_at_ms = 0.0;
            }
        }
    }

    /// Clears a run that is not training from the page (the worker drops a paused
    /// one); a training run stays.
    fn close_stopped_run(&mut self) {
        if self.run.phase == Phase::Running && !self.run.detached {
            return;
        }
        if self.run.phase == Phase::Paused && !self.run.detached {
            self.send(Control::Reset);
        }
        if self.run.experiment.is_some() {
            self.run = Rc::default();
        }
    }

    /// Shows a saved run as if trained here (a sweep goes to the sweep panel). A run
    /// the worker holds is dropped there (it was saved when it paused or finished).
    fn open_run(&mut self, id: &str) {
        let Some(record) = self.saved.runs.iter().find(|r| r.id == id) else {
            return;
        };
        let record = RunRecord::clone(record);
        if let Some(summary) = record.sweep {
            if self.sweep.running().is_none() {
                self.sweep_mut().show_summary(summary);
            }
            return;
        }
        if self.run.phase == Phase::Running && !self.run.detached {
            return;
        }
        if self.run.phase == Phase::Paused && !self.run.detached {
            self.send(Control::Reset);
        }
        self.run = Rc::new(RunView::from_record(&record));
        self.exp = record.experiment.clone();
        self.drafts.clear();
    }

    fn on_event(&mut self, event: Event, now_ms: f64) {
        match event {
            Event::Ready { .. } => {
                // A new worker (a backend switch) has not been asked for anything.
                self.worker_ready = true;
                self.preview_asked = None;
            }
            Event::Preview { experiment, curves } => {
                self.preview = Some(Rc::new((*experiment, curves.map(|c| Rc::new(*c)))));
            }
            Event::Backend(info) => self.run_mut().backend = Some(info),
            Event::Progress(p) => {
                let run = self.run_mut();
                run.losses.extend(p.earlier.iter().copied());
                run.losses.push((p.step, p.loss));
                run.timings.push((p.step, p.train_ms));
                run.progress = Some(p);
            }
            Event::Eval(report) => {
                let run = self.run_mut();
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
                if report.ablated == self.run.ablations {
                    self.run_mut().ablated = Some(report);
                }
            }
            Event::Paused { .. } => {
                let run = self.run_mut();
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
                if !self.run.detached {
                    let run = self.run_mut();
                    run.checkpoint_step = Some(c.step);
                    // Kept in memory too: a crash can then resume without storage.
                    run.latest_checkpoint = Some(Rc::new((*c).clone()));
                    self.save_run(Some(*c), now_ms);
                }
            }
            Event::Crashed { message } => self.trainer_lost(message),
            Event::DeviceLost { message } => self.device_lost(message),
            Event::Resumed { .. } => self.run_mut().phase = Phase::Running,
            Event::Finished { .. } => {
                let run = self.run_mut();
                run.phase = Phase::Finished;
                run.finished_ms = Some(now_ms - run.started_at_ms);
                self.save_run(None, now_ms);
                // A lesson's observations open when its run finishes.
                if self.lessons.open.is_some() {
                    self.lessons_mut().run_finished();
                }
                let report = self.run.eval.clone();
                let saved_ms = self.epoch_offset + now_ms;
                let effect = self.sweep_mut().run_finished(report.as_ref(), saved_ms);
                self.sweep_effect(effect, now_ms);
            }
            Event::Error { message } => {
                if self.sweep.running().is_some() {
                    self.sweep_mut().interrupt(Some(&message));
                }
                let run = self.run_mut();
                run.phase = Phase::Idle;
                run.error = Some(message);
            }
            // A saved run opened meanwhile stays shown.
            Event::Reset if self.run.detached => {}
            Event::Reset => self.run = Rc::default(),
        }
    }

    /// Whether the watchdog gives up on the worker at `now_ms` (the page's reducer
    /// skips a tick that would change nothing, so an idle page does not redraw).
    pub fn worker_silent(&self, now_ms: f64) -> bool {
        let run = &self.run;
        run.phase == Phase::Running
            && !run.detached
            && run.progress.is_some()
            && now_ms - self.last_event_ms > WATCHDOG_MS.max(4.0 * self.longest_gap_ms)
    }

    /// The watchdog: a running run whose worker has said nothing for too long is
    /// taken for lost (see [`WATCHDOG_MS`]). Only after the run's first progress: a
    /// WebGPU start compiles shaders for a while.
    fn watch(&mut self, now_ms: f64) {
        if self.worker_silent(now_ms) {
            let silent = now_ms - self.last_event_ms;
            self.worker_lost += 1;
            self.trainer_lost(format!(
                "The trainer has not answered for {:.0} s: the browser may have stopped it \
                 (out of memory?)",
                silent / 1000.0
            ));
        }
    }

    /// The worker's WebGPU device was lost: the run goes on from its last checkpoint
    /// on the CPU, in a new worker (at once if it was training; paused if paused).
    fn device_lost(&mut self, message: String) {
        let was_running = self.run.phase == Phase::Running;
        self.worker_lost += 1;
        self.trainer_lost(format!("The GPU device was lost ({message})"));
        let run = &self.run;
        if !(run.detached && run.phase == Phase::Paused) {
            return;
        }
        let (Some(experiment), Some(checkpoint)) =
            (run.experiment.clone(), run.latest_checkpoint.clone())
        else {
            return;
        };
        let step = checkpoint.step;
        self.send(Control::Restore {
            experiment: Box::new(experiment),
            backend: BackendChoice::Cpu,
            checkpoint: Box::new((*checkpoint).clone()),
        });
        if was_running {
            self.send(Control::Resume);
        }
        self.longest_gap_ms = 0.0;
        let run = self.run_mut();
        run.detached = false;
        run.restoring = true;
        run.resumed_from = Some(step);
        run.error = Some(format!(
            "The GPU device was lost ({message}): training goes on on the CPU from step {step}, \
             its last checkpoint."
        ));
    }

    /// The worker crashed or was stopped. A run it held is kept up to its last
    /// checkpoint, shown as a paused saved run (Resume restores it in a new worker);
    /// without a checkpoint it stops, its curves kept.
    fn trainer_lost(&mut self, message: String) {
        if self.sweep.running().is_some() {
            self.sweep_mut().interrupt(Some(&message));
        }
        let run = self.run_mut();
        let held =
            !run.detached && matches!(run.phase, Phase::Running | Phase::Paused) || run.restoring;
        if !held {
            // A second word about the same crash, or a crash with no run.
            if run.error.is_none() {
                run.error = Some(message);
            }
            return;
        }
        run.restoring = false;
        let Some(step) = run.checkpoint_step else {
            run.phase = Phase::Idle;
            run.error = Some(format!(
                "{message}. The run had no checkpoint yet: Train starts it again."
            ));
            return;
        };
        // What came after the checkpoint is trained again on Resume.
        run.losses.retain(|(s, _)| *s <= step);
        run.timings.retain(|(s, _)| *s <= step);
        run.history.retain(|(s, _)| *s <= step);
        run.attention.retain(|(s, _)| *s <= step);
        if let Some(p) = run.progress.as_mut() {
            p.step = step;
            if let Some((_, loss)) = run.losses.last() {
                p.loss = *loss;
            }
        }
        run.phase = Phase::Paused;
        run.detached = true;
        run.error = Some(format!(
            "{message}. The run is kept up to its last checkpoint, step {step}: Resume goes on \
             from there."
        ));
    }

    /// Whether Train can start: every field valid and the worker listening.
    pub fn can_start(&self) -> bool {
        self.drafts.is_empty() && self.worker_ready
    }

    /// The plain-text status line (`role="status"`): step, latest loss, phase, speed
    /// and time left. The backend is the badge's (one place names it, not two).
    pub fn status_line(&self) -> String {
        let run = &self.run;
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
        let mut line = format!("step {step} / {steps} · loss {loss} · {phase}");
        if self.paused_by_tab && run.phase == Phase::Paused {
            line.push_str(" while this tab was hidden");
        }
        if run.detached {
            line.push_str(&format!(" · saved run “{}”", run.name));
        } else if let Some(p) = &run.progress {
            line.push_str(&format!(" · {:.1} steps/s", p.steps_per_sec));
            if run.phase == Phase::Running
                && let Some(left) = time_left(p.steps.saturating_sub(p.step), p.steps_per_sec)
            {
                line.push_str(&format!(" · {left}"));
            }
        }
        line
    }
}

impl AppState {
    /// The status line of an embedded figure, for blog readers: what is happening in
    /// plain words, no backend jargon. `waiting`: another figure on the page trains
    /// and this one waits its turn.
    pub fn embed_status_line(&self, waiting: bool) -> String {
        let run = &self.run;
        let on = match run.backend.as_ref().map(|b| b.kind.as_str()) {
            Some("webgpu") => " on your GPU",
            Some(_) => " on your CPU",
            None => "",
        };
        let (step, steps) = match (&run.progress, &run.experiment) {
            (Some(p), _) => (p.step, p.steps),
            (None, Some(e)) => (0, e.train.steps),
            (None, None) => (0, self.exp.train.steps),
        };
        let autoplay = self.embed.as_ref().is_some_and(|e| e.autoplay);
        match run.phase {
            _ if waiting => {
                "Waiting: another figure on this page is training; this one goes on after it."
                    .into()
            }
            Phase::Running => {
                format!("Training a small transformer in your browser{on}: step {step} of {steps}.")
            }
            Phase::Paused => format!("Paused at step {step} of {steps}. Resume goes on."),
            Phase::Finished => format!("Training finished: {steps} steps in your browser{on}."),
            Phase::Idle if run.error.is_some() => "Stopped: see the message above.".into(),
            Phase::Idle if autoplay => {
                "This figure trains a small transformer in your browser when it comes into \
                 view; Train starts it now."
                    .into()
            }
            Phase::Idle => "Train trains a small transformer here, in your browser.".into(),
        }
    }
}

/// "about 40 s left" from the steps to go and the measured rate (which includes the
/// evaluations so far); `None` before a rate is known.
pub fn time_left(steps_left: usize, steps_per_sec: f64) -> Option<String> {
    if !(steps_per_sec.is_finite() && steps_per_sec > 0.0) || steps_left == 0 {
        return None;
    }
    let secs = steps_left as f64 / steps_per_sec;
    Some(if secs < 90.0 {
        format!("about {} s left", (secs / 5.0).ceil().max(1.0) as u64 * 5)
    } else if secs < 5400.0 {
        format!("about {} min left", (secs / 60.0).round() as u64)
    } else {
        format!("about {:.1} h left", secs / 3600.0)
    })
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
    use crate::ablation::HeadAblation;
    use crate::eval::{Curve, EvalCurves};
    use crate::metric::Metric;
    use crate::tasks::Shape;
    use crate::web::lessons::Lesson;
    use crate::web::protocol::{BackendInfo, Progress};

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
    fn the_worker_previews_each_experiment_shown_once_and_stale_answers_are_dropped() {
        let previews = |s: &AppState| -> Vec<Experiment> {
            s.outbox
                .iter()
                .filter_map(|(_, c)| match c {
                    Control::Preview { experiment } => Some((**experiment).clone()),
                    _ => None,
                })
                .collect()
        };
        let ready = || Action::Worker {
            event: Event::Ready {
                protocol: 1,
                webgpu: false,
            },
            now_ms: 0.0,
        };
        let mut s = AppState::from_hash("");
        assert!(previews(&s).is_empty(), "nobody listens yet");
        s.apply(ready());
        assert_eq!(previews(&s), vec![s.exp.clone()]);
        let first = s.exp.clone();
        s.apply(Action::Backend(BackendChoice::Cpu));
        assert_eq!(
            previews(&s).len(),
            1,
            "the same experiment is not asked twice"
        );
        s.apply(Action::Edit {
            path: "seed".into(),
            text: "5".into(),
        });
        assert_eq!(previews(&s).len(), 2);
        // The answer for the first experiment arrives late: not shown.
        let curves = crate::eval::baseline_preview(&first, 16).map(Box::new);
        assert!(curves.is_some());
        let answer = |experiment: &Experiment| Action::Worker {
            event: Event::Preview {
                experiment: Box::new(experiment.clone()),
                curves: curves.clone(),
            },
            now_ms: 0.0,
        };
        s.apply(answer(&first));
        assert!(s.preview().is_none(), "a preview of another experiment");
        let now = s.exp.clone();
        s.apply(answer(&now));
        assert!(s.preview().is_some());
        // A new worker (a backend switch) is asked again.
        s.apply(ready());
        assert_eq!(previews(&s).len(), 3);
        // The bench page asks nothing.
        let mut bench = AppState::from_hash("bench");
        bench.apply(ready());
        assert!(previews(&bench).is_empty());
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
            warning: None,
        })));
        s.apply(ev(Event::Progress(Progress {
            step: 25,
            steps: 1500,
            loss: 0.25,
            lr: 1e-3,
            steps_per_sec: 20.0,
            first_step_ms: 40.0,
            train_ms: 1250.0,
            wasm_bytes: 0.0,
            earlier: Vec::new(),
        })));
        let line = s.status_line();
        assert!(
            !line.contains("backend")
                && !line.contains("flex")
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
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.pool".into(),
            values: "2, 8, null".into(),
        }));
        s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
        assert_eq!(s.sweep.error, None);
        // The latest Start (a Preview of the run's experiment may follow it).
        let started = |s: &AppState| {
            s.outbox
                .iter()
                .filter_map(|(_, c)| match c {
                    Control::Start { experiment, .. } => Some(experiment.task.pool),
                    _ => None,
                })
                .last()
                .expect("a start")
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

        s.apply(Action::Sweep(SweepAction::Cancel));
        assert_eq!(s.sweep.status, Some(SweepStatus::Cancelled));
        assert!(matches!(s.outbox.last(), Some((_, Control::Reset))));
        assert_eq!(s.sweep.summary.as_ref().unwrap().points.len(), 1);
        // a late Finished of the cancelled run adds nothing
        finish(&mut s, 10, 0.1);
        assert_eq!(s.sweep.summary.as_ref().unwrap().points.len(), 1);
    }

    #[test]
    fn a_seeded_sweep_runs_every_seed_of_each_value_and_refuses_too_many() {
        let mut s = AppState::from_hash("");
        s.worker_ready = true;
        let seed = s.exp.seed;
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.pool".into(),
            values: "2, 8".into(),
        }));
        // Too many runs for a browser, and seeds that are not a count: named.
        for (seeds, needle) in [
            ("40", "seeds 40: must be from 1 to 32"),
            ("two", "seeds `two`: a whole number from 1 to 32"),
        ] {
            s.apply(Action::Sweep(SweepAction::Seeds(seeds.into())));
            s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
            let e = s.sweep.error.clone().unwrap_or_default();
            assert!(e.contains(needle), "{e}");
            assert_eq!(s.sweep.status, None);
        }
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.pool".into(),
            values: "1..33".into(),
        }));
        s.apply(Action::Sweep(SweepAction::Seeds("2".into())));
        s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
        let e = s.sweep.error.clone().unwrap_or_default();
        assert!(e.contains("33 values × 2 seeds = 66 runs"), "{e}");
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.pool".into(),
            values: "2, 8".into(),
        }));
        s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
        assert_eq!(s.sweep.error, None);
        let started = |s: &AppState| {
            s.outbox
                .iter()
                .filter_map(|(_, c)| match c {
                    Control::Start { experiment, .. } => {
                        Some((experiment.task.pool, experiment.seed))
                    }
                    _ => None,
                })
                .last()
                .expect("a start")
        };
        assert_eq!(started(&s), (Some(2), seed));
        assert_eq!(
            s.sweep.run_label(0).unwrap(),
            format!("task.pool = 2, seed {seed}")
        );
        for (i, err) in [0.2, 0.4, 0.6, 0.8].into_iter().enumerate() {
            if i > 0 {
                let want = (Some([2, 2, 8, 8][i]), seed + [0, 1, 0, 1][i]);
                assert_eq!(started(&s), want, "run {i}");
            }
            finish(&mut s, 10, err);
        }
        assert_eq!(s.sweep.status, Some(SweepStatus::Done));
        let summary = s.sweep.summary.clone().unwrap();
        assert_eq!(summary.seeds, 2);
        let seeds: Vec<Option<u64>> = summary.points.iter().map(|p| p.seed).collect();
        assert_eq!(
            seeds,
            [Some(seed), Some(seed + 1), Some(seed), Some(seed + 1)]
        );
        let a = summary.aggregate(&Metric::error("fresh"));
        assert!((a[0].mean - 0.3).abs() < 1e-12 && (a[1].mean - 0.7).abs() < 1e-12);
        assert!((a[0].stderr.unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn the_sweep_field_follows_the_kind_of_task() {
        let mut s = AppState::from_hash("");
        assert_eq!(s.sweep.path, "task.pool");
        s.apply(Action::Preset("bursty-icl".into()));
        assert_eq!(s.sweep.path, "task.family.p_bursty");
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "seed".into(),
            values: "1, 2".into(),
        }));
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
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.family.noise".into(),
            values: "[0.1], [1.0]".into(),
        }));
        s.apply(Action::Edit {
            path: "task.dims".into(),
            text: "6".into(),
        });
        assert_eq!(s.sweep.path, "task.family.noise");
    }

    #[test]
    fn a_sweep_finishes_after_its_last_value_and_bad_values_are_named() {
        let mut s = AppState::from_hash("");
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.dims".into(),
            values: "4, 999".into(),
        }));
        s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
        let e = s.sweep.error.clone().unwrap();
        assert!(e.contains("task.dims = 999") && e.contains("1..=64"), "{e}");
        assert!(s.outbox.is_empty() && s.sweep.status.is_none());
        // A list that does not parse is named in the page's words (no CLI flag).
        s.apply(Action::Sweep(SweepAction::Edit {
            path: "task.dims".into(),
            values: "4..2".into(),
        }));
        s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
        let e = s.sweep.error.clone().unwrap();
        assert!(
            e.starts_with("task.dims: `4..2`") && !e.contains("--"),
            "{e}"
        );

        s.apply(Action::Sweep(SweepAction::Edit {
            path: "seed".into(),
            values: "1, 2".into(),
        }));
        s.apply(Action::Sweep(SweepAction::Start { now_ms: 0.0 }));
        finish(&mut s, 5, 0.5);
        finish(&mut s, 5, 0.4);
        assert_eq!(s.sweep.status, Some(SweepStatus::Done));
        let text = serde_json::to_string(s.sweep.summary.as_ref().unwrap()).unwrap();
        let mut t = AppState::from_hash("");
        t.apply(Action::Sweep(SweepAction::Load(text)));
        assert_eq!(t.sweep.status, Some(SweepStatus::Loaded));
        assert_eq!(t.sweep.summary.as_ref().unwrap().points.len(), 2);
        t.apply(Action::Sweep(SweepAction::Load("{}".into())));
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

    /// With the setting on, hiding the tab pauses a training run and showing it
    /// resumes it; a pause the user made stays; with the setting off nothing is sent.
    #[test]
    fn a_hidden_tab_pauses_training_only_when_the_setting_says_so() {
        let sent = |s: &AppState, from: u64| -> Vec<Control> {
            s.outbox
                .since(from)
                .into_iter()
                .map(|(_, c)| Control::clone(&c))
                .collect()
        };
        let mut s = running("#");
        let from = s.outbox.next_number();
        s.apply(Action::TabHidden(true));
        s.apply(Action::TabHidden(false));
        assert!(sent(&s, from).is_empty(), "the setting is off by default");

        s.apply(Action::PauseWhenHidden(true));
        let from = s.outbox.next_number();
        s.apply(Action::TabHidden(true));
        assert_eq!(sent(&s, from), [Control::Pause]);
        s.apply(Action::Worker {
            event: Event::Paused { step: 7 },
            now_ms: 1.0,
        });
        assert!(s.status_line().contains("paused while this tab was hidden"));
        let from = s.outbox.next_number();
        s.apply(Action::TabHidden(false));
        assert_eq!(sent(&s, from), [Control::Resume]);
        assert!(!s.paused_by_tab);

        // Paused by the user before the tab was hidden: coming back leaves it paused.
        let mut t = running("#");
        t.apply(Action::PauseWhenHidden(true));
        t.apply(Action::Worker {
            event: Event::Paused { step: 3 },
            now_ms: 1.0,
        });
        let from = t.outbox.next_number();
        t.apply(Action::TabHidden(true));
        t.apply(Action::TabHidden(false));
        assert!(sent(&t, from).is_empty());
    }

    #[test]
    fn the_saved_runs_take_their_own_actions() {
        let mut saved = SavedRuns::default();
        saved.apply(SavedAction::Select("a".into()));
        assert!(saved.selected.contains("a"));
        saved.apply(SavedAction::AskDelete("a".into()));
        assert_eq!(saved.confirm_delete.as_deref(), Some("a"));
        saved.apply(SavedAction::Delete("a".into()));
        assert!(saved.selected.is_empty() && saved.confirm_delete.is_none());
        assert!(matches!(saved.store_ops.last(), Some((_, StoreOp::Delete(id))) if id == "a"));
    }

    #[test]
    fn an_action_copies_only_the_part_it_changes() {
        let mut before = running("#preset=induction-phase-change");
        before.apply(Action::Lesson(LessonAction::ShowIndex(true)));
        // What yew does on every action: copy the state, then apply.
        let copy = |s: &AppState, a: Action| {
            let mut next = s.clone();
            next.apply(a);
            next
        };
        let same = |a: &AppState, b: &AppState| {
            [
                Rc::ptr_eq(&a.run, &b.run),
                Rc::ptr_eq(&a.sweep, &b.sweep),
                Rc::ptr_eq(&a.saved, &b.saved),
                Rc::ptr_eq(&a.lessons, &b.lessons),
            ]
        };
        let after = copy(
            &before,
            Action::Sweep(SweepAction::Edit {
                path: "seed".into(),
                values: "0..2".into(),
            }),
        );
        assert_eq!(same(&before, &after), [true, false, true, true]);
        let after = copy(&before, Action::Saved(SavedAction::Select("x".into())));
        assert_eq!(same(&before, &after), [true, true, false, true]);
        let after = copy(&before, Action::Lesson(LessonAction::ShowIndex(false)));
        assert_eq!(same(&before, &after), [true, true, true, false]);
        let after = copy(&before, Action::Run(RunAction::EvalSet("pool".into())));
        assert_eq!(same(&before, &after), [false, true, true, true]);
        // A page preference touches no part.
        let after = copy(&before, Action::ToggleCurve("ridge".into()));
        assert_eq!(same(&before, &after), [true, true, true, true]);
        // The previous state is untouched by the next one's changes.
        assert_eq!(before.run.eval_set, "fresh");
        assert_eq!(after.run.eval_set, "fresh");
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
        assert_eq!(s.run.ablations.len(), 1);
        assert!(s.outbox.is_empty());
        let exp = s.exp.clone();
        s.apply(Action::Started {
            experiment: exp,
            paused: false,
            now_ms: 0.0,
        });
        assert!(
            s.run.ablations.is_empty(),
            "a new run starts with every head"
        );
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
        assert_eq!(s.run.ablations[0].mode, AblationMode::Mean);
        assert!(s.run.ablated.is_none(), "the zeroed result is stale");
        // Clicked again: restored, and the worker told so.
        s.apply(Action::ToggleHead { layer: 1, head: 0 });
        assert!(s.run.ablations.is_empty());
        assert_eq!(
            s.outbox.last().map(|(_, c)| c.clone()),
            Some(Control::Ablate { heads: Vec::new() })
        );
    }

    #[test]
    fn the_scrubber_steps_through_the_attention_of_every_evaluation() {
        let mut s = running("#preset=induction-phase-change");
        assert!(s.run.shown_attention().is_none());
        let ev = |event| Action::Worker { event, now_ms: 0.0 };
        for step in [0, 50, 100] {
            s.apply(ev(Event::Eval(token_report(step, Vec::new()))));
        }
        assert_eq!(s.run.attention.len(), 3);
        // Following training: the latest.
        assert_eq!(s.run.shown_attention().map(|(step, _)| step), Some(100));
        s.apply(Action::Run(RunAction::Scrub(Some(1))));
        let (step, a) = s.run.shown_attention().unwrap();
        assert_eq!(step, 50);
        assert_eq!(a.prompts[0].heads[0][0][2], 0.05);
        // It stays there while training goes on; the last index follows again.
        s.apply(ev(Event::Eval(token_report(150, Vec::new()))));
        assert_eq!(s.run.shown_attention().map(|(step, _)| step), Some(50));
        s.apply(Action::Run(RunAction::Scrub(Some(3))));
        assert_eq!(s.run.scrub, None);
        assert_eq!(s.run.shown_attention().map(|(step, _)| step), Some(150));
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
        let code = s.embed_hash(ChartId::Loss, &[], false, false);
        let back = parse_hash(&code).0;
        assert_eq!(back.embed.unwrap().chart, ChartId::Loss);
        assert_eq!(back.experiment, s.exp);
    }

    #[test]
    fn the_time_left_is_rounded_as_a_person_would_say_it() {
        assert_eq!(time_left(100, 10.0).as_deref(), Some("about 10 s left"));
        assert_eq!(time_left(1, 10.0).as_deref(), Some("about 5 s left"));
        assert_eq!(time_left(3000, 10.0).as_deref(), Some("about 5 min left"));
        assert_eq!(time_left(36_000, 2.0).as_deref(), Some("about 5.0 h left"));
        assert_eq!(time_left(0, 10.0), None);
        assert_eq!(time_left(10, 0.0), None);
    }

    #[test]
    fn embed_code_leaves_the_backend_to_the_reader_unless_the_author_keeps_it() {
        let s = AppState::from_hash("#preset=icl-in-a-minute&backend=cpu&lesson=one");
        let code = s.embed_hash(ChartId::Icl, &[], true, false);
        assert!(
            !code.contains("backend") && !code.contains("lesson"),
            "{code}"
        );
        assert_eq!(parse_hash(&code).0.backend, BackendChoice::Auto);
        let kept = s.embed_hash(ChartId::Icl, &[], true, true);
        assert_eq!(parse_hash(&kept).0.backend, BackendChoice::Cpu);
    }

    #[test]
    fn an_embed_tells_readers_what_happens_in_plain_words() {
        let mut s = AppState::from_hash("#preset=icl-in-a-minute&embed=icl&autoplay");
        let idle = s.embed_status_line(false);
        assert!(idle.contains("when it comes into view"), "{idle}");
        assert!(
            s.embed_status_line(true)
                .starts_with("Waiting: another figure")
        );
        started(&mut s);
        s.apply(Action::Worker {
            event: Event::Backend(BackendInfo {
                kind: "cpu".into(),
                adapter: "burn flex (CPU, wasm)".into(),
                fallback_reason: None,
                warning: None,
            }),
            now_ms: 0.0,
        });
        let line = s.embed_status_line(false);
        assert!(
            line.starts_with("Training a small transformer in your browser on your CPU"),
            "{line}"
        );
        // No jargon for blog readers.
        for word in ["burn", "flex", "wasm", "backend", "loss"] {
            assert!(!line.contains(word), "{word} in {line}");
        }
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
            warning: None,
        })));
        s.apply(ev(Event::Progress(Progress {
            step: 40,
            steps: 1500,
            loss: 0.5,
            lr: 1e-3,
            steps_per_sec: 1.0,
            first_step_ms: 1.0,
            train_ms: 9.0,
            wasm_bytes: 0.0,
            earlier: Vec::new(),
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
        s.apply(Action::Saved(SavedAction::Confirmed {
            id: "t-1".into(),
            op: 0,
        }));
        assert!(s.saved.unsaved.contains_key("t-1"));
        s.apply(Action::Saved(SavedAction::Confirmed {
            id: "t-1".into(),
            op: 1,
        }));
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

    fn progress(step: usize) -> Event {
        Event::Progress(Progress {
            step,
            steps: 1500,
            loss: 1.0 / step as f32,
            lr: 1e-3,
            steps_per_sec: 1.0,
            first_step_ms: 1.0,
            train_ms: step as f64,
            wasm_bytes: 0.0,
            earlier: Vec::new(),
        })
    }

    /// Steps a fast run logged between two progress events come with the second, in
    /// order: the loss curve misses none of them.
    #[test]
    fn logged_steps_sent_together_all_reach_the_loss_curve() {
        let mut s = AppState::from_hash("#preset=icl-in-a-minute");
        started(&mut s);
        let Event::Progress(mut p) = progress(5) else {
            unreachable!()
        };
        p.earlier = vec![(2, 0.9), (3, 0.8), (4, 0.7)];
        s.apply(Action::Worker {
            event: progress(1),
            now_ms: 1.0,
        });
        s.apply(Action::Worker {
            event: Event::Progress(p),
            now_ms: 2.0,
        });
        let steps: Vec<usize> = s.run.losses.iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, [1, 2, 3, 4, 5]);
        assert_eq!(s.run.progress.as_ref().unwrap().step, 5);
    }

    /// A crash mid-run keeps the run up to its last checkpoint, as a paused run the
    /// worker no longer holds (Resume restores it in a new worker), from memory if
    /// storage is off; what came after the checkpoint is dropped, to be trained again.
    #[test]
    fn a_crash_keeps_the_run_up_to_its_last_checkpoint() {
        let mut s = AppState::from_hash("#preset=icl-in-a-minute");
        started(&mut s);
        let ev = |event| Action::Worker { event, now_ms: 5.0 };
        for step in [10, 20, 30] {
            s.apply(ev(progress(step)));
        }
        s.apply(ev(Event::Checkpoint(Box::new(checkpoint(30)))));
        assert_eq!(
            puts(&s),
            [(RunStatus::Paused, 30, true)],
            "saved while running"
        );
        s.apply(ev(progress(40)));
        s.apply(ev(Event::Crashed {
            message: "the trainer crashed (boom)".into(),
        }));
        let run = &s.run;
        assert_eq!((run.phase, run.detached), (Phase::Paused, true));
        let steps: Vec<usize> = run.losses.iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, [10, 20, 30]);
        assert_eq!(run.progress.as_ref().unwrap().step, 30);
        assert_eq!(run.latest_checkpoint.as_ref().unwrap().step, 30);
        let error = run.error.clone().unwrap();
        assert!(
            error.contains("boom") && error.contains("step 30"),
            "{error}"
        );
        assert!(s.status_line().contains("30"), "{}", s.status_line());
        // The worker's uncaught error after the panic does not overwrite it.
        s.apply(ev(Event::Crashed {
            message: "the training worker failed: unreachable".into(),
        }));
        assert_eq!(s.run.error.as_deref(), Some(error.as_str()));
        // Resume restores it (the page sends Restore, then Resume).
        s.apply(Action::Restoring);
        assert!(!s.run.detached && s.run.restoring && s.run.error.is_none());

        // Before any checkpoint there is nothing to resume from.
        let mut s = AppState::from_hash("#preset=icl-in-a-minute");
        started(&mut s);
        s.apply(ev(progress(10)));
        s.apply(ev(Event::Crashed {
            message: "the trainer crashed (boom)".into(),
        }));
        assert_eq!((s.run.phase, s.run.detached), (Phase::Idle, false));
        assert!(
            s.run
                .error
                .as_ref()
                .unwrap()
                .contains("Train starts it again")
        );
    }

    /// A lost WebGPU device: the run goes on from its last checkpoint on the CPU in a
    /// new worker (the hook stops the old one first), and says so.
    #[test]
    fn a_lost_gpu_device_goes_on_on_the_cpu_from_the_last_checkpoint() {
        let mut s = AppState::from_hash("#preset=icl-in-a-minute&backend=webgpu");
        started(&mut s);
        let ev = |event| Action::Worker { event, now_ms: 5.0 };
        s.apply(ev(progress(20)));
        s.apply(ev(Event::Checkpoint(Box::new(checkpoint(20)))));
        s.apply(ev(progress(30)));
        let sent = s.outbox.next_number();
        s.apply(ev(Event::DeviceLost {
            message: "destroyed".into(),
        }));
        assert_eq!(s.worker_lost, 1);
        let controls: Vec<Control> = s
            .outbox
            .since(sent)
            .into_iter()
            .map(|(_, c)| (*c).clone())
            .collect();
        assert!(
            matches!(&controls[..], [Control::Restore { backend: BackendChoice::Cpu, checkpoint, .. }, Control::Resume] if checkpoint.step == 20),
            "{controls:?}"
        );
        let run = &s.run;
        assert!(!run.detached && run.restoring);
        assert_eq!(run.losses.last().map(|l| l.0), Some(20));
        let error = run.error.as_deref().unwrap();
        assert!(error.contains("on the CPU from step 20"), "{error}");
        // Without a checkpoint it stops and says so.
        let mut s = AppState::from_hash("#preset=icl-in-a-minute&backend=webgpu");
        started(&mut s);
        s.apply(ev(progress(20)));
        s.apply(ev(Event::DeviceLost {
            message: "destroyed".into(),
        }));
        assert_eq!(s.run.phase, Phase::Idle);
        assert!(
            s.run
                .error
                .as_deref()
                .unwrap()
                .contains("Train starts it again")
        );
    }

    /// A worker that goes silent while training (killed by the browser) is taken
    /// for lost after WATCHDOG_MS, or 4 × the longest silence seen (an evaluation).
    #[test]
    fn the_watchdog_gives_up_on_a_silent_worker_only_while_training() {
        let mut s = AppState::from_hash("#preset=icl-in-a-minute");
        started(&mut s);
        let at = |event, now_ms| Action::Worker { event, now_ms };
        // Before the first progress (shaders compiling) it waits.
        s.apply(Action::Tick(60_000.0));
        assert_eq!(s.worker_lost, 0);
        s.apply(at(progress(10), 61_000.0));
        s.apply(at(Event::Checkpoint(Box::new(checkpoint(10))), 61_000.0));
        // A slow evaluation: 9 s of silence, so 36 s are allowed from now on.
        s.apply(at(progress(20), 70_000.0));
        s.apply(Action::Tick(100_000.0));
        assert_eq!(s.worker_lost, 0, "30 s silent, 36 s allowed");
        s.apply(Action::Tick(107_000.0));
        assert_eq!(s.worker_lost, 1);
        assert_eq!((s.run.phase, s.run.detached), (Phase::Paused, true));
        assert!(
            s.run
                .error
                .as_ref()
                .unwrap()
                .contains("has not answered for 37 s")
        );
        // A paused run's worker may be silent for ever.
        s.apply(Action::Tick(500_000.0));
        assert_eq!(s.worker_lost, 1);
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
        s.apply(Action::Saved(SavedAction::Loaded(vec![
            saved("old", RunStatus::Finished, Some(100)),
            saved("paused", RunStatus::Paused, Some(50)),
        ])));
        s.apply(Action::OpenRun("paused".into()));
        assert!(s.run.detached);
        assert_eq!(s.run.phase, Phase::Paused);
        assert_eq!(
            s.exp.train.steps, 100,
            "the controls show the run's experiment"
        );
        assert_eq!(s.run.losses.len(), 2);
        assert_eq!(s.run.shown_attention().map(|(step, _)| step), Some(50));
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
                warning: None,
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
        s.apply(Action::Saved(SavedAction::Loaded(vec![
            saved("a", RunStatus::Finished, None),
            saved("b", RunStatus::Finished, None),
        ])));
        s.apply(Action::Saved(SavedAction::Select("a".into())));
        s.apply(Action::Saved(SavedAction::Select("b".into())));
        s.apply(Action::Saved(SavedAction::Select("b".into())));
        assert_eq!(s.saved.selected, ["a".to_string()].into());
        s.apply(Action::Saved(SavedAction::AskDelete("a".into())));
        assert_eq!(s.saved.confirm_delete.as_deref(), Some("a"));
        s.apply(Action::Saved(SavedAction::CancelDelete));
        assert_eq!(s.saved.runs.len(), 2);
        s.apply(Action::Saved(SavedAction::AskDelete("a".into())));
        s.apply(Action::Saved(SavedAction::Delete("a".into())));
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
                ..Imported::default()
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
        assert_eq!(s.lessons.open.as_deref(), Some("two"));
        s.apply(Action::Lesson(LessonAction::Loaded {
            lessons: vec![
                lesson("one", "icl-in-a-minute"),
                lesson("two", "transience"),
            ],
            errors: Vec::new(),
        }));
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
        k.apply(Action::Lesson(LessonAction::Loaded {
            lessons: vec![lesson("two", "transience")],
            errors: Vec::new(),
        }));
        assert_eq!(k.exp, presets::preset("garg-tiny").unwrap());
        // An unknown lesson is named.
        let mut u = AppState::from_hash("#lesson=nope");
        u.apply(Action::Lesson(LessonAction::Loaded {
            lessons: vec![lesson("two", "transience")],
            errors: Vec::new(),
        }));
        assert_eq!(u.lessons.open, None);
        assert!(u.notices[0].contains("lesson = nope") && u.notices[0].contains("two"));
    }

    #[test]
    fn opening_a_lesson_closes_a_paused_run_but_not_a_training_one() {
        let lessons = vec![
            lesson("one", "icl-in-a-minute"),
            lesson("two", "transience"),
        ];
        let loaded = || {
            Action::Lesson(LessonAction::Loaded {
                lessons: lessons.clone(),
                errors: Vec::new(),
            })
        };
        let mut s = running("");
        s.apply(loaded());
        s.apply(Action::Worker {
            event: Event::Paused { step: 7 },
            now_ms: 0.0,
        });
        let sent = s.outbox.next_number();
        s.apply(Action::Lesson(LessonAction::Open("two".into())));
        assert_eq!(s.run.phase, Phase::Idle, "no Resume of the old run");
        assert!(s.run.experiment.is_none() && s.run.losses.is_empty());
        assert!(
            matches!(s.outbox.last(), Some((n, Control::Reset)) if n >= sent),
            "the worker drops the paused run"
        );
        assert_eq!(s.exp.train.steps, 321, "the lesson's experiment");
        // A run that is training keeps training beside the lesson.
        let mut t = running("");
        t.apply(loaded());
        let sent = t.outbox.next_number();
        t.apply(Action::Lesson(LessonAction::Open("two".into())));
        assert_eq!(t.run.phase, Phase::Running);
        assert_eq!(t.outbox.next_number(), sent, "nothing sent");
    }

    #[test]
    fn lesson_progress_follows_prediction_steps_and_the_finished_run() {
        let mut s = AppState::from_hash("");
        s.apply(Action::Lesson(LessonAction::Loaded {
            lessons: vec![lesson("one", "icl-in-a-minute")],
            errors: Vec::new(),
        }));
        s.apply(Action::Lesson(LessonAction::Predict(0)));
        assert!(
            s.lessons.progress.is_empty(),
            "no lesson open: nothing recorded"
        );
        s.apply(Action::Lesson(LessonAction::Open("one".into())));
        assert_eq!(s.exp.train.steps, 321);
        s.apply(Action::Lesson(LessonAction::Predict(1)));
        s.apply(Action::Lesson(LessonAction::ToggleStep(0)));
        s.apply(Action::Lesson(LessonAction::ToggleStep(1)));
        s.apply(Action::Lesson(LessonAction::ToggleStep(1)));
        let p = &s.lessons.progress["one"];
        assert_eq!((p.predicted, p.done.len(), p.revealed), (Some(1), 1, false));
        // Shown by hand before any run: revealed, but nothing measured here yet.
        s.apply(Action::Lesson(LessonAction::Reveal));
        let p = &s.lessons.progress["one"];
        assert!(p.revealed && !p.ran);
        started(&mut s);
        s.apply(Action::Worker {
            event: Event::Finished {
                step: 321,
                train_ms: 1.0,
            },
            now_ms: 0.0,
        });
        assert!(
            s.lessons.progress["one"].revealed && s.lessons.progress["one"].ran,
            "the observations open at the end of the run, which measured them"
        );
        s.apply(Action::Lesson(LessonAction::Close));
        assert!(!to_hash(&s.hash_state()).contains("lesson"));
    }
}
