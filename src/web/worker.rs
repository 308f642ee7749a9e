//! The trainer's Web Worker: receives [`Control`]s, trains with the core [`Trainer`],
//! posts [`Event`]s. The page's thread never trains.
//!
//! One loop: apply the queued controls, then either take one optimizer step or sleep
//! until the next message. It yields to the event loop after every step, so a Pause
//! sent during a step is seen right after it. Device reads are asynchronous and only
//! happen on logging steps, the first step (to time it) and evaluations.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

use crate::config::Experiment;
use crate::eval::{EvalPlan, EvalReport};
use crate::model::Transformer;
use crate::train::Trainer;

use super::protocol::{
    BackendChoice, BackendInfo, Control, Event, LiveSchedule, MIN_PROGRESS_GAP_MS, Next,
    PROTOCOL_VERSION, Progress, RunState,
};

/// Entry point of `worker.js`.
#[wasm_bindgen]
pub fn worker_main() {
    super::ensure_static_constructors();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // A panic ends the worker's wasm: log it and tell the page, which would otherwise
    // wait for events that never come.
    {
        let scope = scope.clone();
        std::panic::set_hook(Box::new(move |info| {
            console_error_panic_hook::hook(info);
            post(
                &scope,
                &Event::Crashed {
                    message: format!(
                        "the trainer crashed ({}); please report the link",
                        info.to_string().replace('\n', " ")
                    ),
                },
            );
        }));
    }
    let inbox: Rc<RefCell<VecDeque<Control>>> = Rc::default();
    let waker: Rc<RefCell<Option<Function>>> = Rc::default();
    {
        let inbox = inbox.clone();
        let waker = waker.clone();
        let scope2 = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            match serde_wasm_bindgen::from_value::<Control>(ev.data()) {
                Ok(c) => inbox.borrow_mut().push_back(c),
                Err(e) => post(
                    &scope2,
                    &Event::Error {
                        message: format!("the worker could not read a message: {e}"),
                    },
                ),
            }
            if let Some(wake) = waker.borrow_mut().take() {
                let _ = wake.call0(&JsValue::NULL);
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }
    post(
        &scope,
        &Event::Ready {
            protocol: PROTOCOL_VERSION,
            webgpu: cfg!(feature = "webgpu"),
        },
    );
    wasm_bindgen_futures::spawn_local(run_loop(scope, inbox, waker));
}

/// Events travel as JSON text: one string crosses to the page, which parses it with
/// serde_json, instead of a JS object that serde-wasm-bindgen walks field by field.
pub(crate) fn post(scope: &DedicatedWorkerGlobalScope, event: &Event) {
    match serde_json::to_string(event) {
        Ok(text) => {
            let _ = scope.post_message(&JsValue::from_str(&text));
        }
        Err(e) => web_sys::console::error_1(&format!("event not serialisable: {e}").into()),
    }
}

fn now() -> f64 {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    scope.performance().map(|p| p.now()).unwrap_or(0.0)
}

async fn run_loop(
    scope: DedicatedWorkerGlobalScope,
    inbox: Rc<RefCell<VecDeque<Control>>>,
    waker: Rc<RefCell<Option<Function>>>,
) {
    let mut state = RunState::default();
    let mut run: Option<Run> = None;
    loop {
        loop {
            let Some(control) = inbox.borrow_mut().pop_front() else {
                break;
            };
            if let Control::Start {
                experiment,
                backend,
                paused,
                live,
            } = &control
            {
                run = None;
                state = RunState::default();
                match Run::start(experiment, *backend, &scope, true, *live).await {
                    Ok(r) => {
                        run = Some(r);
                        state.started(*paused);
                    }
                    Err(message) => post(&scope, &Event::Error { message }),
                }
                continue;
            }
            if let Control::Restore {
                experiment,
                backend,
                checkpoint,
            } = &control
            {
                run = None;
                state = RunState::default();
                match Run::restore(experiment, *backend, checkpoint, &scope).await {
                    Ok(r) => {
                        if let Some(event) = state.apply(&control, r.trainer.step) {
                            post(&scope, &event);
                        }
                        run = Some(r);
                    }
                    Err(message) => post(&scope, &Event::Error { message }),
                }
                continue;
            }
            if control == Control::InjectPanic {
                panic!("a panic injected by a reliability test");
            }
            if control == Control::InjectDeviceLoss {
                // worker.js keeps the devices it saw; the lost device is reported
                // from there (Event::DeviceLost).
                let lose = js_sys::Reflect::get(&scope, &"iclLoseDevices".into())
                    .ok()
                    .and_then(|f| f.dyn_into::<Function>().ok());
                if let Some(lose) = lose {
                    let _ = lose.call0(&JsValue::NULL);
                }
                continue;
            }
            if let Control::Preview { experiment } = control {
                let curves = crate::eval::baseline_preview(&experiment, 256).map(Box::new);
                post(&scope, &Event::Preview { experiment, curves });
                continue;
            }
            let step = run.as_ref().map_or(0, |r| r.trainer.step);
            if let Some(event) = state.apply(&control, step) {
                // Steps between logging steps are not reported: when pausing, report
                // the step the run stands at first, then Paused, so the page's last
                // word before "paused" is exactly where the run stands.
                match (&event, run.as_mut()) {
                    (Event::Paused { .. }, Some(r)) => match r.report_current(&scope).await {
                        Ok(()) => {
                            post(&scope, &event);
                            r.post_checkpoint(&scope).await;
                        }
                        Err(message) => {
                            post(&scope, &event);
                            post(&scope, &Event::Error { message });
                        }
                    },
                    _ => post(&scope, &event),
                }
            }
            if control == Control::Reset {
                run = None;
            }
            if let (Control::Ablate { heads }, Some(r)) = (&control, run.as_mut()) {
                r.ablations = heads.clone();
                if !heads.is_empty()
                    && let Err(message) = r.evaluate_ablated(&scope).await
                {
                    post(&scope, &Event::Error { message });
                }
            }
        }
        match (state.next(), run.as_mut()) {
            (Next::Step, Some(r)) => {
                // A single step while paused always reports, so the user sees it.
                let single = state.phase == super::protocol::Phase::Paused;
                match r.step(&scope, single).await {
                    Ok(()) => state.stepped(r.trainer.done()),
                    Err(message) => {
                        post(&scope, &Event::Error { message });
                        state.stepped(true);
                    }
                }
                yield_now().await;
            }
            _ => {
                // Sleep until the next message.
                let promise = Promise::new(&mut |resolve, _| {
                    *waker.borrow_mut() = Some(resolve);
                });
                if !inbox.borrow().is_empty() {
                    waker.borrow_mut().take();
                    continue;
                }
                let _ = JsFuture::from(promise).await;
            }
        }
    }
}

/// Lets queued messages in: a macrotask through a MessageChannel (setTimeout would
/// be clamped to 4 ms).
async fn yield_now() {
    let Ok(channel) = MessageChannel::new() else {
        return;
    };
    let promise = Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(&resolve));
    });
    let _ = channel.port2().post_message(&JsValue::NULL);
    let _ = JsFuture::from(promise).await;
}

/// One training run in the worker.
struct Run {
    trainer: Trainer,
    device: Device,
    plan: Option<EvalPlan>,
    /// 0: evaluate only at the end.
    eval_every: usize,
    /// Milliseconds from Start to a ready trainer (backend and model initialised).
    init_ms: f64,
    first_step_ms: Option<f64>,
    train_ms: f64,
    /// (step, train_ms) of the previous progress event.
    last_progress: (usize, f64),
    /// Page-clock time of that event, and the logged steps held back since,
    /// (step, lr, loss), oldest first: sent with the next event.
    last_post_ms: f64,
    pending: Vec<(usize, f64, f32)>,
    /// The latest step's loss, not read yet unless reported.
    last_loss: Option<(usize, f64, burn::tensor::Tensor<1>)>,
    /// Heads the user ablated: every evaluation is repeated without them.
    ablations: Vec<crate::ablation::HeadAblation>,
    /// Reports and evaluations beyond the config's schedule, so the page moves from
    /// the first seconds (`None` on the bench page).
    live: Option<LiveSchedule>,
    /// Whether burn can write the checkpoint itself (synchronous device reads: the
    /// CPU backend); on WebGPU the weights are read asynchronously instead, without
    /// the optimizer state.
    sync_records: bool,
}

impl Run {
    async fn start(
        exp: &Experiment,
        choice: BackendChoice,
        scope: &DedicatedWorkerGlobalScope,
        evaluate: bool,
        live: bool,
    ) -> Result<Self, String> {
        let started_at = now();
        exp.validate().map_err(|e| e.to_string())?;
        super::limits::check_browser(exp).map_err(|e| e.to_string())?;
        let (device, info) = backend(choice).await;
        let sync_records = info.kind == "cpu";
        post(scope, &Event::Backend(info));
        let trainer = Trainer::new(exp, &device);
        let mut run = Self {
            trainer,
            device,
            plan: None,
            eval_every: exp.train.eval_every,
            init_ms: now() - started_at,
            first_step_ms: None,
            train_ms: 0.0,
            last_progress: (0, 0.0),
            last_post_ms: f64::NEG_INFINITY,
            pending: Vec::new(),
            last_loss: None,
            ablations: Vec::new(),
            live: live.then(LiveSchedule::default),
            sync_records,
        };
        // The untrained model's curve beside the baselines: where in-context learning
        // starts from, on the page before the first step.
        if evaluate && (run.eval_every > 0 || run.live.is_some()) {
            run.evaluate(scope).await?;
        }
        Ok(run)
    }

    /// A saved run, continued from its checkpoint (the page keeps its curves).
    async fn restore(
        exp: &Experiment,
        choice: BackendChoice,
        checkpoint: &crate::web::runs::SavedCheckpoint,
        scope: &DedicatedWorkerGlobalScope,
    ) -> Result<Self, String> {
        // Without the optimizer state: burn 0.22.1 loads it onto Device::default()
        // (WebGPU in wasm, uninitialised here: a panic), so Adam starts afresh; the page
        // says so.
        let checkpoint = checkpoint.weights_checkpoint()?;
        if checkpoint.step > exp.train.steps {
            return Err(format!(
                "the checkpoint is at step {} but the run has train.steps = {}",
                checkpoint.step, exp.train.steps
            ));
        }
        let mut run = Self::start(exp, choice, scope, false, true).await?;
        run.trainer
            .resume(checkpoint)
            .map_err(|e| format!("the saved checkpoint could not be loaded: {e}"))?;
        run.last_progress = (run.trainer.step, 0.0);
        Ok(run)
    }

    /// Posts the checkpoint of the last logged step: burn's whole checkpoint on the
    /// CPU, the weights read asynchronously on WebGPU (see `sync_records`).
    async fn post_checkpoint(&mut self, scope: &DedicatedWorkerGlobalScope) {
        use crate::web::runs::SavedCheckpoint;
        // The page saves the run at each checkpoint: its loss curve reaches the step.
        self.flush_progress(scope);
        let saved = if self.sync_records {
            self.trainer.checkpoint().map(|c| SavedCheckpoint::new(&c))
        } else {
            let (step, rng_position, model) = self.trainer.checkpoint_model();
            crate::checkpoint::model_to_cpu_async(&self.trainer.exp, &model)
                .await
                .and_then(crate::checkpoint::model_to_bytes)
                .map(|bytes| SavedCheckpoint::weights(step, rng_position, &bytes))
        };
        match saved {
            Ok(c) => post(scope, &Event::Checkpoint(Box::new(c))),
            Err(e) => web_sys::console::warn_1(&format!("no checkpoint: {e}").into()),
        }
    }

    async fn step(
        &mut self,
        scope: &DedicatedWorkerGlobalScope,
        report: bool,
    ) -> Result<(), String> {
        let t0 = now();
        let out = self.trainer.step();
        self.last_loss = Some((out.step, out.lr, out.step_loss.clone()));
        let first = self.first_step_ms.is_none();
        // The last step is always read, so the final checkpoint is of the last step.
        let report = report
            || self.trainer.done()
            || self
                .live
                .as_ref()
                .is_some_and(|l| l.report_due(self.train_ms));
        let loss = match (out.loss, first || report) {
            (Some(loss), _) => Some(read_loss(loss).await?),
            (None, true) => Some(read_loss(out.step_loss).await?),
            (None, false) => None,
        };
        let took = now() - t0;
        self.train_ms += took;
        if first {
            // Backend and model set-up plus the first step (shader compilation on
            // WebGPU); the evaluation prompts and baselines are not counted.
            self.first_step_ms = Some(self.init_ms + took);
        }
        if let Some(loss) = loss {
            self.trainer
                .record_loss(out.step, loss)
                .map_err(|e| e.to_string())?;
            let force = first || self.trainer.done();
            self.progress(scope, out.step, out.lr, loss, force);
            if let Some(live) = self.live.as_mut() {
                live.reported(self.train_ms);
            }
        }
        let done = self.trainer.done();
        let scheduled = self.eval_every > 0 && out.step.is_multiple_of(self.eval_every);
        let live = self
            .live
            .as_ref()
            .is_some_and(|l| l.eval_due(self.train_ms));
        if scheduled || live || done {
            let t0 = now();
            self.evaluate(scope).await?;
            let cost = now() - t0;
            if let Some(l) = self.live.as_mut() {
                l.evaluated(self.train_ms, cost);
            }
        }
        // A checkpoint now and then while running: a crash or a closed tab then
        // loses at most LiveSchedule::CHECKPOINT_MS of training.
        if !done
            && let Some(l) = self.live.as_mut()
            && l.checkpoint_due(self.train_ms)
        {
            l.checkpointed(self.train_ms);
            self.post_checkpoint(scope).await;
        }
        if done {
            // Before Finished: a sweep's next run starts on the page at Finished.
            self.post_checkpoint(scope).await;
            post(
                scope,
                &Event::Finished {
                    step: out.step,
                    train_ms: self.train_ms,
                },
            );
        }
        Ok(())
    }

    /// Reports a logged step: at once when `force`d (the first and last steps, a
    /// pause) or when [`MIN_PROGRESS_GAP_MS`] has passed since the last report;
    /// otherwise it waits in `pending` to ride along with the next one.
    fn progress(
        &mut self,
        scope: &DedicatedWorkerGlobalScope,
        step: usize,
        lr: f64,
        loss: f32,
        force: bool,
    ) {
        if !force && now() - self.last_post_ms < MIN_PROGRESS_GAP_MS {
            self.pending.push((step, lr, loss));
            return;
        }
        self.post_progress(scope, step, lr, loss);
    }

    /// Reports the latest logged step held back, if any (before a pause, a
    /// checkpoint or the end), with the ones before it.
    fn flush_progress(&mut self, scope: &DedicatedWorkerGlobalScope) {
        if let Some((step, lr, loss)) = self.pending.pop() {
            self.post_progress(scope, step, lr, loss);
        }
    }

    fn post_progress(
        &mut self,
        scope: &DedicatedWorkerGlobalScope,
        step: usize,
        lr: f64,
        loss: f32,
    ) {
        self.last_post_ms = now();
        let (s0, t0) = self.last_progress;
        let dt = (self.train_ms - t0).max(1e-6);
        post(
            scope,
            &Event::Progress(Progress {
                step,
                steps: self.trainer.exp.train.steps,
                loss,
                lr,
                steps_per_sec: step.saturating_sub(s0) as f64 / dt * 1000.0,
                first_step_ms: self.first_step_ms.unwrap_or(0.0),
                train_ms: self.train_ms,
                wasm_bytes: wasm_memory_bytes(),
                earlier: self.pending.drain(..).map(|(s, _, l)| (s, l)).collect(),
            }),
        );
        self.last_progress = (step, self.train_ms);
    }

    /// Reports the latest step if it was not (a pause between logging steps).
    async fn report_current(&mut self, scope: &DedicatedWorkerGlobalScope) -> Result<(), String> {
        self.flush_progress(scope);
        let Some((step, lr, loss)) = self.last_loss.take() else {
            return Ok(());
        };
        if step == self.last_progress.0 {
            return Ok(());
        }
        let loss = read_loss(loss).await?;
        self.trainer
            .record_loss(step, loss)
            .map_err(|e| e.to_string())?;
        self.progress(scope, step, lr, loss, true);
        Ok(())
    }

    async fn evaluate(&mut self, scope: &DedicatedWorkerGlobalScope) -> Result<(), String> {
        let model = self.trainer.model();
        let report = self.measure(&model).await?;
        post(scope, &Event::Eval(report));
        if !self.ablations.is_empty() {
            self.evaluate_ablated(scope).await?;
        }
        Ok(())
    }

    /// The current model with the user's heads ablated, evaluated as usual.
    async fn evaluate_ablated(&mut self, scope: &DedicatedWorkerGlobalScope) -> Result<(), String> {
        let model = self.trainer.model().ablated(&self.ablations);
        let mut report = self.measure(&model).await?;
        report.ablated = self.ablations.clone();
        post(scope, &Event::Ablated(report));
        Ok(())
    }

    /// Everything an evaluation reports about `model`: the run's plan (made at the
    /// first evaluation), evaluated with asynchronous reads.
    async fn measure(&mut self, model: &Transformer) -> Result<EvalReport, String> {
        if self.plan.is_none() {
            self.plan = Some(EvalPlan::new(&self.trainer.exp, &self.trainer.source)?);
        }
        let plan = self.plan.as_ref().expect("just made");
        plan.evaluate(model, &self.device, self.trainer.step).await
    }
}

async fn read_loss(loss: burn::tensor::Tensor<1>) -> Result<f32, String> {
    loss.into_scalar_async::<f32>()
        .await
        .map_err(|e| format!("reading the loss from the device failed: {e:?}"))
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// burn's wgpu runtime can be initialised once per worker.
    static WEBGPU: RefCell<Option<(Device, Adapter)>> = const { RefCell::new(None) };
}

/// The CPU backend, and why it is used when WebGPU was wanted.
fn cpu(why: Option<String>) -> (Device, BackendInfo) {
    (
        Device::flex(),
        BackendInfo {
            kind: "cpu".into(),
            adapter: "burn flex (CPU, wasm)".into(),
            fallback_reason: why,
            warning: None,
        },
    )
}

/// The device for `choice`, and what to tell the user about it (the WebGPU module).
#[cfg(feature = "webgpu")]
async fn backend(choice: BackendChoice) -> (Device, BackendInfo) {
    if choice == BackendChoice::Cpu {
        return cpu(None);
    }
    if let Some((device, adapter)) = WEBGPU.with(|w| w.borrow().clone()) {
        return webgpu_info(device, adapter);
    }
    let adapter = match probe_adapter().await {
        Ok(a) => a,
        Err(why) => return cpu(Some(why)),
    };
    if adapter.fallback && choice == BackendChoice::Auto {
        return cpu(Some(software_adapter(&adapter)));
    }
    match Device::wgpu_options().init_async().await {
        Ok(device) => {
            WEBGPU.with(|w| *w.borrow_mut() = Some((device.clone(), adapter.clone())));
            webgpu_info(device, adapter)
        }
        Err(e) => cpu(Some(format!(
            "WebGPU could not start ({e}); training on the CPU instead"
        ))),
    }
}

/// The device for `choice` in the CPU-only module: the CPU, and for `auto` or
/// `webgpu` the reason (worker.js loads this module when the browser gives no
/// hardware adapter; the page starts a WebGPU worker for an explicit `webgpu`).
#[cfg(not(feature = "webgpu"))]
async fn backend(choice: BackendChoice) -> (Device, BackendInfo) {
    if choice == BackendChoice::Cpu {
        return cpu(None);
    }
    let why = match probe_adapter().await {
        Err(why) => why,
        Ok(adapter) if adapter.fallback => software_adapter(&adapter),
        Ok(adapter) => format!(
            "the CPU trainer was loaded, so {} is not used; choose WebGPU under Backend \
             to train on it",
            adapter.name
        ),
    };
    cpu(Some(why))
}

fn software_adapter(adapter: &Adapter) -> String {
    format!(
        "the only WebGPU adapter is a software one ({}), slower than the CPU backend; \
         choose WebGPU under Backend to use it anyway",
        adapter.name
    )
}

#[cfg(feature = "webgpu")]
fn webgpu_info(device: Device, adapter: Adapter) -> (Device, BackendInfo) {
    // Chosen explicitly on a software adapter: it trains, but say what to expect.
    let warning = adapter.fallback.then(|| {
        format!(
            "WebGPU runs on a software adapter here ({}), usually several times slower \
             than the CPU backend; choose CPU or auto for speed",
            adapter.name
        )
    });
    (
        device,
        BackendInfo {
            kind: "webgpu".into(),
            adapter: adapter.name,
            fallback_reason: None,
            warning,
        },
    )
}

#[derive(Clone)]
struct Adapter {
    name: String,
    fallback: bool,
}

/// Asks `navigator.gpu` for an adapter, only to name it and to know whether it is a
/// software fallback; burn then requests its own.
async fn probe_adapter() -> Result<Adapter, String> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let navigator = scope.navigator();
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err(
            "this browser does not offer WebGPU (navigator.gpu is missing); \
                    a recent Chrome or Edge has it, Firefox and Safari behind a setting. \
                    Training runs on the CPU."
                .into(),
        );
    }
    let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
        .map_err(|_| "navigator.gpu.requestAdapter is missing".to_string())?
        .unchecked_into();
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?
        .unchecked_into();
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(
            "WebGPU is present but gave no adapter (the GPU may be blocklisted or \
                    disabled: see chrome://gpu). Training runs on the CPU."
                .into(),
        );
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |name: &str| {
        Reflect::get(&info, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let fallback = Reflect::get(&info, &"isFallbackAdapter".into())
        .ok()
        .and_then(|v| v.as_bool())
        .or_else(|| {
            Reflect::get(&adapter, &"isFallbackAdapter".into())
                .ok()
                .and_then(|v| v.as_bool())
        })
        .unwrap_or(false);
    let mut name = [field("vendor"), field("architecture"), field("description")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        name = "unnamed adapter".into();
    }
    if fallback {
        name.push_str(" (software fallback adapter)");
    }
    Ok(Adapter { name, fallback })
}

/// The size of this module's wasm memory in bytes (0 if it cannot be read).
fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()))
}
