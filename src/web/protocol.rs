//! The messages between the page and the trainer's Web Worker, and the worker's run
//! state machine. Platform-neutral (plain serde types and logic), so it is tested
//! natively and in the browser. Controls cross as JS objects (`serde-wasm-bindgen`);
//! events, frequent and sometimes large, as JSON text (see `worker::post`).

use serde::{Deserialize, Serialize};

use crate::config::Experiment;
use crate::eval::EvalReport;

use super::runs::SavedCheckpoint;

/// Bumped with any change to [`Control`] or [`Event`]; the page and the trainer are
/// built from one source tree, so a mismatch means a stale cached module.
pub const PROTOCOL_VERSION: u32 = 5;

/// Which compute backend the user asked for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// WebGPU when the browser gives an adapter, else the CPU.
    #[default]
    Auto,
    WebGpu,
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [Self::Auto, Self::WebGpu, Self::Cpu];

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::WebGpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == s)
    }
}

/// Whether the page must start a new worker before a run on `wanted`, and for which
/// backend: the browser has two trainer modules (`worker.js?backend=…` loads the
/// WebGPU one for `webgpu`, and for `auto` when the browser offers a hardware
/// adapter; the CPU-only one otherwise). A worker with the CPU-only module cannot
/// train on WebGPU, and one started for `cpu` never looked for an adapter. The
/// WebGPU module also trains on the CPU, so it never needs replacing.
///
/// `loaded`: what the worker's `Ready` said (`Some(true)`: the WebGPU module), `None`
/// before it did; `started_with`: the backend its URL asked for.
pub fn trainer_switch(
    loaded: Option<bool>,
    started_with: BackendChoice,
    wanted: BackendChoice,
) -> Option<BackendChoice> {
    let cpu_only = match loaded {
        Some(webgpu) => !webgpu,
        // Not ready yet: only a worker started for `cpu` is sure to be CPU-only.
        None => started_with == BackendChoice::Cpu,
    };
    let switch = cpu_only
        && match wanted {
            BackendChoice::Cpu => false,
            BackendChoice::WebGpu => true,
            // `auto` found no hardware adapter when the worker started (the CPU
            // module is then its answer), unless the worker never looked.
            BackendChoice::Auto => started_with == BackendChoice::Cpu,
        };
    switch.then_some(wanted)
}

/// Page → worker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    /// Start a fresh run (dropping any current one). `paused` starts it paused, so
    /// the user can step through it.
    Start {
        experiment: Box<Experiment>,
        backend: BackendChoice,
        paused: bool,
        /// Keep the page moving (see [`LiveSchedule`]); off for the bench page,
        /// which times the config's own schedule.
        #[serde(default = "yes")]
        live: bool,
    },
    Pause,
    Resume,
    /// One optimizer step, then pause.
    Step,
    /// Drop the run; the worker goes idle.
    Reset,
    /// Evaluate the current model with these heads ablated, now and at every later
    /// evaluation (an empty list ends the ablation). Answered by
    /// [`Event::Ablated`]; training is not touched.
    Ablate {
        heads: Vec<crate::ablation::HeadAblation>,
    },
    /// Continue a saved run: build `experiment`'s trainer, load the checkpoint
    /// (weights, optimizer state, prompt-stream position) and wait paused at its
    /// step (answered by [`Event::Paused`]); Resume trains on.
    Restore {
        experiment: Box<Experiment>,
        backend: BackendChoice,
        checkpoint: Box<SavedCheckpoint>,
    },
    /// The closed-form baselines' curves on fresh prompts, before any training
    /// (`eval::baseline_preview`), answered by [`Event::Preview`]; the run, if any,
    /// is not touched. The page's thread computes none of it.
    Preview {
        experiment: Box<Experiment>,
    },
    /// Fault injection for the reliability tests (`tests/e2e`): the trainer panics,
    /// as a bug in it would. The page never sends it.
    InjectPanic,
    /// Fault injection for the reliability tests: the worker destroys its WebGPU
    /// device (`GPUDevice.destroy()`), as a driver reset would lose it. The page
    /// never sends it.
    InjectDeviceLoss,
}

fn yes() -> bool {
    true
}

/// How the browser keeps a run visibly alive beyond the config's own schedule
/// (`train.log_every`, `train.eval_every`, which still rule in the CLI): the loss is
/// read and reported at least every [`LiveSchedule::REPORT_MS`] of training, and the
/// model is evaluated early ([`LiveSchedule::FIRST_EVAL_MS`]) and then at a gap that
/// keeps evaluation a small share of the time and grows with the run, so even a
/// preset with `eval_every = 0` draws its ICL curve within seconds, and a long run
/// adds only a few dozen evaluations. Times are training milliseconds (pauses and
/// evaluations excluded).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSchedule {
    last_report_ms: f64,
    next_eval_ms: f64,
    next_checkpoint_ms: f64,
}

impl Default for LiveSchedule {
    fn default() -> Self {
        Self {
            last_report_ms: 0.0,
            next_eval_ms: Self::FIRST_EVAL_MS,
            next_checkpoint_ms: Self::FIRST_CHECKPOINT_MS,
        }
    }
}

impl LiveSchedule {
    /// The status line and the loss chart move at least four times a second.
    pub const REPORT_MS: f64 = 250.0;
    /// The first evaluation of the training model.
    pub const FIRST_EVAL_MS: f64 = 2_000.0;
    /// The shortest gap between evaluations.
    pub const MIN_GAP_MS: f64 = 4_000.0;
    /// Evaluations take at most about this share of the time...
    pub const EVAL_SHARE: f64 = 0.125;
    /// ...and the gap grows with the run (geometric spacing: ~30 evaluations in
    /// half an hour).
    pub const GROWTH: f64 = 0.15;

    /// A running run sends its checkpoint this often (training time), so a crash, a
    /// killed worker or a closed tab loses at most this much training...
    pub const CHECKPOINT_MS: f64 = 30_000.0;
    /// ...and the first one this early, so a short run is safe too.
    pub const FIRST_CHECKPOINT_MS: f64 = 5_000.0;

    pub fn checkpoint_due(&self, train_ms: f64) -> bool {
        train_ms >= self.next_checkpoint_ms
    }

    pub fn checkpointed(&mut self, train_ms: f64) {
        self.next_checkpoint_ms = train_ms + Self::CHECKPOINT_MS;
    }

    pub fn report_due(&self, train_ms: f64) -> bool {
        train_ms - self.last_report_ms >= Self::REPORT_MS
    }

    pub fn reported(&mut self, train_ms: f64) {
        self.last_report_ms = train_ms;
    }

    pub fn eval_due(&self, train_ms: f64) -> bool {
        train_ms >= self.next_eval_ms
    }

    /// An evaluation (any: the config's or this schedule's) ended at `train_ms` and
    /// took `cost_ms`.
    pub fn evaluated(&mut self, train_ms: f64, cost_ms: f64) {
        let gap = Self::MIN_GAP_MS
            .max(cost_ms * (1.0 / Self::EVAL_SHARE - 1.0))
            .max(Self::GROWTH * train_ms);
        self.next_eval_ms = train_ms + gap;
    }
}

/// The backend a run trains on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BackendInfo {
    /// "webgpu" or "cpu".
    pub kind: String,
    /// The adapter in words ("google swiftshader (fallback adapter)", "burn flex on
    /// the CPU in wasm").
    pub adapter: String,
    /// When WebGPU was wanted but is not used: why, and what the user can do.
    pub fallback_reason: Option<String>,
    /// What to expect from the backend that is used (WebGPU forced onto a software
    /// adapter: slow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// One logged step.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub step: usize,
    pub steps: usize,
    /// The training loss at `step` (read only on logging steps).
    pub loss: f32,
    pub lr: f64,
    /// Steps per second since the previous progress event.
    pub steps_per_sec: f64,
    /// Milliseconds from Start to the end of the first step, the loss read back
    /// (shader compilation included on WebGPU).
    pub first_step_ms: f64,
    /// Milliseconds spent training since Start, pauses excluded.
    pub train_ms: f64,
    /// The trainer's wasm memory in bytes (it only grows: a leak shows as growth
    /// over a long run); 0 where unknown.
    #[serde(default)]
    pub wasm_bytes: f64,
    /// Logged steps since the previous progress event, (step, loss), oldest first:
    /// a fast run logging every step sends them together rather than one event each
    /// (hundreds a second once kept the page from answering a click).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<(usize, f32)>,
}

/// The page hears of a logged step at most this often (the rest ride along in the
/// next [`Progress`]'s `earlier`).
pub const MIN_PROGRESS_GAP_MS: f64 = 50.0;

/// Worker → page.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The worker's wasm is loaded and it listens. `webgpu`: the trainer module has
    /// the WebGPU backend (the CPU-only module says false).
    Ready {
        protocol: u32,
        #[serde(default)]
        webgpu: bool,
    },
    Backend(BackendInfo),
    Progress(Progress),
    /// ICL curves of the model and the baselines on the evaluation prompts.
    Eval(EvalReport),
    /// The same evaluation of the model with heads ablated (`report.ablated` says
    /// which), after [`Control::Ablate`] and beside every later `Eval`.
    Ablated(EvalReport),
    Paused {
        step: usize,
    },
    Resumed {
        step: usize,
    },
    Finished {
        step: usize,
        train_ms: f64,
    },
    /// The run stopped (bad config, divergence, backend failure).
    Error {
        message: String,
    },
    /// The run was dropped; the worker is idle.
    Reset,
    /// The trainer panicked: its wasm can do nothing more. The page keeps the run up
    /// to its last checkpoint (see [`LiveSchedule::checkpoint_due`]) and starts a new
    /// worker for whatever comes next.
    Crashed {
        message: String,
    },
    /// The worker's WebGPU device was lost (posted by `worker.js`, which watches
    /// every device the trainer asks for): the trainer cannot go on there, so the page
    /// goes on from the last checkpoint on the CPU in a new worker.
    DeviceLost {
        message: String,
    },
    /// The run's checkpoint (last logged step), sent after every pause and at the
    /// end, so the page can save the run and resume it after a reload.
    Checkpoint(Box<SavedCheckpoint>),
    /// The answer to [`Control::Preview`]: `None` where the experiment has no such
    /// figure (token and classification tasks).
    Preview {
        experiment: Box<Experiment>,
        curves: Option<Box<crate::eval::EvalCurves>>,
    },
}

/// Where a run stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Idle,
    Running,
    Paused,
    Finished,
}

/// What the worker should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Step,
    /// Nothing to do until the next message.
    Wait,
}

/// The worker's run state machine, without the training: which controls are legal
/// when, and whether the next thing to do is a step. The worker asks [`RunState::next`]
/// between steps, so a Pause that arrived during a step takes effect after it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunState {
    pub phase: Phase,
    /// Steps requested with [`Control::Step`] while paused.
    single_steps: usize,
}

impl RunState {
    /// Applies a control (Start is applied by the worker, which then calls
    /// [`RunState::started`]). Returns the event to acknowledge it with, if any.
    pub fn apply(&mut self, control: &Control, step: usize) -> Option<Event> {
        match (control, self.phase) {
            (Control::Start { paused, .. }, _) => {
                self.started(*paused);
                None
            }
            (Control::Restore { .. }, _) => {
                self.started(true);
                Some(Event::Paused { step })
            }
            (Control::Pause, Phase::Running) => {
                self.phase = Phase::Paused;
                Some(Event::Paused { step })
            }
            (Control::Resume, Phase::Paused) => {
                self.phase = Phase::Running;
                self.single_steps = 0;
                Some(Event::Resumed { step })
            }
            (Control::Step, Phase::Paused) => {
                self.single_steps += 1;
                None
            }
            (Control::Step, Phase::Running) => {
                // Step while running: pause after the step in flight.
                self.phase = Phase::Paused;
                Some(Event::Paused { step })
            }
            (Control::Reset, _) => {
                *self = Self::default();
                Some(Event::Reset)
            }
            // Pause when not running, Resume when not paused, Step with no run: no-ops.
            _ => None,
        }
    }

    pub fn started(&mut self, paused: bool) {
        self.phase = if paused {
            Phase::Paused
        } else {
            Phase::Running
        };
        self.single_steps = 0;
    }

    pub fn next(&self) -> Next {
        match self.phase {
            Phase::Running => Next::Step,
            Phase::Paused if self.single_steps > 0 => Next::Step,
            _ => Next::Wait,
        }
    }

    /// Records a finished step; `done` when the run reached its last step.
    pub fn stepped(&mut self, done: bool) {
        if self.phase == Phase::Paused && self.single_steps > 0 {
            self.single_steps -= 1;
        }
        if done {
            self.phase = Phase::Finished;
            self.single_steps = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_run_reports_often_and_evaluates_early_then_ever_more_rarely() {
        let mut s = LiveSchedule::default();
        assert!(!s.report_due(100.0) && s.report_due(250.0));
        s.reported(250.0);
        assert!(!s.report_due(400.0) && s.report_due(500.0));
        // The first evaluation within seconds of Train.
        assert!(!s.eval_due(1_999.0) && s.eval_due(2_000.0));
        // Then at least the shortest gap...
        s.evaluated(2_000.0, 100.0);
        assert!(!s.eval_due(5_999.0) && s.eval_due(6_000.0));
        // ...long enough that a slow evaluation stays an eighth of the time...
        s.evaluated(6_000.0, 2_000.0);
        assert!(!s.eval_due(19_999.0) && s.eval_due(20_000.0));
        // ...and growing with the run: a half-hour run gets a few dozen.
        let (mut t, mut n) = (0.0, 0);
        let mut s = LiveSchedule::default();
        while t < 1_800_000.0 {
            t += 50.0;
            if s.eval_due(t) {
                s.evaluated(t, 150.0);
                n += 1;
            }
        }
        assert!((20..=50).contains(&n), "{n} evaluations in 30 min");
        // A checkpoint within seconds, then every half minute of training.
        let mut s = LiveSchedule::default();
        assert!(!s.checkpoint_due(4_999.0) && s.checkpoint_due(5_000.0));
        s.checkpointed(5_100.0);
        assert!(!s.checkpoint_due(35_000.0) && s.checkpoint_due(35_100.0));
        // An old page's Start (no `live`) keeps the page moving.
        let c: Control = serde_json::from_str(
            r#"{"type":"start","experiment":{},"backend":"cpu","paused":false}"#,
        )
        .unwrap();
        assert!(matches!(c, Control::Start { live: true, .. }));
    }

    #[test]
    fn a_cpu_only_trainer_is_replaced_only_when_webgpu_could_be_used() {
        use BackendChoice::{Auto, Cpu, WebGpu};
        // The WebGPU module trains on anything.
        for started in BackendChoice::ALL {
            for wanted in BackendChoice::ALL {
                assert_eq!(trainer_switch(Some(true), started, wanted), None);
            }
        }
        // The CPU-only module: a WebGPU run needs the other module.
        assert_eq!(trainer_switch(Some(false), Auto, WebGpu), Some(WebGpu));
        assert_eq!(trainer_switch(Some(false), Cpu, WebGpu), Some(WebGpu));
        assert_eq!(trainer_switch(Some(false), Auto, Cpu), None);
        // `auto` already chose the CPU module (no hardware adapter) ...
        assert_eq!(trainer_switch(Some(false), Auto, Auto), None);
        // ... unless the worker was started for the CPU and never looked.
        assert_eq!(trainer_switch(Some(false), Cpu, Auto), Some(Auto));
        // Before Ready, only a worker started for the CPU is known to be CPU-only.
        assert_eq!(trainer_switch(None, Cpu, WebGpu), Some(WebGpu));
        assert_eq!(trainer_switch(None, Auto, WebGpu), None);
        assert_eq!(trainer_switch(None, WebGpu, WebGpu), None);
    }

    #[test]
    fn ready_from_an_older_worker_reads_as_no_webgpu() {
        let e: Event = serde_json::from_str(r#"{"type":"ready","protocol":3}"#).unwrap();
        assert_eq!(
            e,
            Event::Ready {
                protocol: 3,
                webgpu: false
            }
        );
    }

    #[test]
    fn messages_round_trip_through_json() {
        let c = Control::Start {
            experiment: Box::new(Experiment::default()),
            backend: BackendChoice::Cpu,
            paused: false,
            live: true,
        };
        let s = serde_json::to_string(&c).unwrap();
        assert!(s.contains("\"type\":\"start\""), "{s}");
        assert_eq!(serde_json::from_str::<Control>(&s).unwrap(), c);
        let e = Event::Progress(Progress {
            step: 3,
            steps: 10,
            loss: 0.5,
            lr: 1e-3,
            steps_per_sec: 2.0,
            first_step_ms: 10.0,
            train_ms: 30.0,
            wasm_bytes: 0.0,
            earlier: Vec::new(),
        });
        let s = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&s).unwrap(), e);
    }

    #[test]
    fn pause_stops_stepping_until_resume_and_step_runs_exactly_one() {
        let mut r = RunState::default();
        assert_eq!(r.next(), Next::Wait, "idle worker waits");
        r.apply(
            &Control::Start {
                experiment: Box::default(),
                backend: BackendChoice::Cpu,
                paused: false,
                live: true,
            },
            0,
        );
        assert_eq!(r.next(), Next::Step);
        assert_eq!(r.apply(&Control::Pause, 5), Some(Event::Paused { step: 5 }));
        assert_eq!(r.next(), Next::Wait);
        // Two single steps, then waiting again.
        assert_eq!(r.apply(&Control::Step, 5), None);
        assert_eq!(r.apply(&Control::Step, 5), None);
        assert_eq!(r.next(), Next::Step);
        r.stepped(false);
        assert_eq!(r.next(), Next::Step);
        r.stepped(false);
        assert_eq!(r.next(), Next::Wait);
        assert_eq!(
            r.apply(&Control::Resume, 7),
            Some(Event::Resumed { step: 7 })
        );
        assert_eq!(r.next(), Next::Step);
        r.stepped(true);
        assert_eq!(r.phase, Phase::Finished);
        assert_eq!(r.next(), Next::Wait);
        // Resume after the end does nothing; reset goes idle.
        assert_eq!(r.apply(&Control::Resume, 9), None);
        assert_eq!(r.apply(&Control::Reset, 9), Some(Event::Reset));
        assert_eq!(r, RunState::default());
    }

    #[test]
    fn restore_waits_paused_at_the_checkpoint() {
        let mut r = RunState::default();
        let checkpoint = Box::new(SavedCheckpoint {
            step: 30,
            rng_position: "1".into(),
            model: String::new(),
            optimizer: None,
        });
        let restore = Control::Restore {
            experiment: Box::default(),
            backend: BackendChoice::Cpu,
            checkpoint: checkpoint.clone(),
        };
        assert_eq!(r.apply(&restore, 30), Some(Event::Paused { step: 30 }));
        assert_eq!(r.next(), Next::Wait);
        assert_eq!(
            r.apply(&Control::Resume, 30),
            Some(Event::Resumed { step: 30 })
        );
        assert_eq!(r.next(), Next::Step);
        let s = serde_json::to_string(&Event::Checkpoint(checkpoint.clone())).unwrap();
        assert!(s.contains("\"type\":\"checkpoint\""), "{s}");
        assert_eq!(
            serde_json::from_str::<Event>(&s).unwrap(),
            Event::Checkpoint(checkpoint)
        );
    }

    #[test]
    fn step_while_running_pauses() {
        let mut r = RunState::default();
        r.started(false);
        assert_eq!(r.apply(&Control::Step, 2), Some(Event::Paused { step: 2 }));
        assert_eq!(r.next(), Next::Wait);
    }
}
