//! The yew page: controls, run buttons, status, charts. It owns no training state:
//! everything lives in [`AppState`] and changes through [`Action`]s; the trainer runs
//! in `worker.js` and talks through [`Control`] and [`Event`]. The effects (storage,
//! the worker, the URL, the keys) are named hooks in [`hooks`].

mod hooks;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{HtmlInputElement, HtmlSelectElement, Worker};
use yew::prelude::*;

use crate::presets::PRESETS;

use super::chart_id::ChartId;
use super::chart_plan::{IclPlan, icl_plan, same_as_note};
use super::charts::{
    AttentionMap, FigureChart, IclChart, LossChart, LsaWeights, css_colour, label,
};
use super::fields::{Field, Kind, SECTIONS, log_slider_position, log_slider_text};
use super::figures::{
    algorithm_figure, copying_figure, distance_figure, head_score_figure, icl_score_figure,
    noise_figure, novel_in, probe_figure, threshold_figure, token_loss_figure,
};
use super::hash::{EmbedSpec, HashState, embed_link};
use super::keys::{Shortcut, shortcut, takes_text};
use super::lessons::{Lesson, PROGRESS_KEY, Progress as LessonProgressMap};
use super::link::{BootWorker, TrainerLink};
use super::protocol::{BackendChoice, BackendInfo, Control, Phase};
use super::runs::{ImportFile, RunRecord, RunStatus, import_files};
use super::state::{
    Action, AppState, Draft, ICL_BENCH_EVERY, LessonAction, Lessons, RunAction, RunView, SWEEPABLE,
    SavedAction, SavedRuns, StoreOp, SweepAction, SweepStatus, SweepView, bench_experiment,
    bench_rate, is_icl_bench, time_to_icl_experiment,
};
use super::store;
use crate::ablation::AblationMode;
use crate::config::{Experiment, ModelKind};
use crate::eval::EvalReport;
use crate::metric::{Head, Metric, list_text, parse_list};
use crate::tasks::Shape;

impl Reducible for AppState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        // The watchdog's tick every 2 s changes nothing unless the worker went silent:
        // the same Rc back, so yew does not re-render the page for it.
        if let Action::Tick(now_ms) = action
            && !self.worker_silent(now_ms)
        {
            return self;
        }
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}

thread_local! {
    /// The worker `boot.js` started before the page's module loaded, until the app
    /// adopts it.
    static BOOT: RefCell<Option<BootWorker>> = const { RefCell::new(None) };
}

/// Entry point of the page (`index.html`, `embed.html`, through `boot.js`).
/// `worker`: the trainer's worker boot.js started for `backend` (undefined: the
/// page starts one); `early`: what it sent before the page listened.
#[wasm_bindgen]
pub fn start_app(worker: JsValue, early: js_sys::Array, backend: String) {
    super::ensure_static_constructors();
    console_error_panic_hook::set_once();
    if let Ok(worker) = worker.dyn_into::<Worker>() {
        let boot = BootWorker {
            worker,
            early,
            backend: BackendChoice::parse(&backend).unwrap_or_default(),
        };
        BOOT.with(|b| *b.borrow_mut() = Some(boot));
    }
    let root = gloo_root();
    yew::Renderer::<App>::with_root(root).render();
}

fn gloo_root() -> web_sys::Element {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    doc.get_element_by_id("app").expect("index.html has #app")
}

/// The page clock (ms).
pub(crate) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Starts `experiment` in the worker and tells the page.
fn start_run(
    state: &UseReducerHandle<AppState>,
    worker: &Rc<RefCell<Option<TrainerLink>>>,
    experiment: Experiment,
    paused: bool,
) {
    send(
        worker,
        &Control::Start {
            experiment: Box::new(experiment.clone()),
            backend: state.backend,
            paused,
            // The bench page times the config's own schedule.
            live: state.bench.is_none(),
        },
    );
    state.dispatch(Action::Started {
        experiment,
        paused,
        now_ms: now_ms(),
    });
}

fn send(worker: &RefCell<Option<TrainerLink>>, control: &Control) {
    if let Some(link) = worker.borrow_mut().as_mut() {
        link.send(control);
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| {
        let mut s = AppState::from_hash(&location_hash());
        let now = js_sys::Date::now();
        s.epoch_offset = now - now_ms();
        s.session = format!("run-{:x}", now as u64);
        s.pause_when_hidden = local_storage()
            .and_then(|st| st.get_item(hooks::PAUSE_HIDDEN_KEY).ok().flatten())
            .is_some_and(|v| v == "1");
        // Read before the first render, so saving it never overwrites it with nothing.
        Rc::make_mut(&mut s.lessons).progress = local_storage()
            .and_then(|st| st.get_item(PROGRESS_KEY).ok().flatten())
            .and_then(|t| serde_json::from_str::<LessonProgressMap>(&t).ok())
            .unwrap_or_default();
        s
    });
    hooks::use_storage(&state);
    let worker = hooks::use_trainer(&state);
    hooks::use_url(&state);
    hooks::use_tab_visibility(&state);

    let start = {
        let state = state.clone();
        let worker = worker.clone();
        Callback::from(move |paused: bool| {
            let experiment = match state.bench {
                Some(n) => bench_experiment(&state.exp, n),
                None => state.exp.clone(),
            };
            start_run(&state, &worker, experiment, paused);
        })
    };
    // A lesson's "Start this lesson's run": its experiment into the controls, then
    // trained at once (the worker's Start replaces whatever run it held).
    let start_lesson = {
        let state = state.clone();
        let worker = worker.clone();
        Callback::from(move |lesson: Rc<Lesson>| match lesson.experiment() {
            Ok(exp) => {
                state.dispatch(Action::Lesson(LessonAction::Open(lesson.meta.id.clone())));
                start_run(&state, &worker, exp, false);
            }
            // The lesson's own notice says what is wrong with it.
            Err(_) => state.dispatch(Action::Lesson(LessonAction::Open(lesson.meta.id.clone()))),
        })
    };
    // The bench page's second measurement: train until the milestone.
    let start_icl = {
        let state = state.clone();
        let worker = worker.clone();
        Callback::from(move |_: ()| {
            start_run(&state, &worker, time_to_icl_experiment(&state.exp), false);
        })
    };
    // A saved run shown from the table is not in the worker: Resume and Step first
    // restore it there from its stored checkpoint; Reset just closes it.
    let control = {
        let worker = worker.clone();
        let state = state.clone();
        Callback::from(move |c: Control| {
            if !state.run.detached {
                send(&worker, &c);
                return;
            }
            match c {
                Control::Resume | Control::Step => {
                    let (Some(id), Some(exp)) =
                        (state.run.id.clone(), state.run.experiment.clone())
                    else {
                        return;
                    };
                    let backend = state.backend;
                    // After a crash the checkpoint is still in memory (storage may be
                    // off); a run opened from the table reads it from IndexedDB.
                    if let Some(checkpoint) = state.run.latest_checkpoint.clone() {
                        state.dispatch(Action::Restoring);
                        send(
                            &worker,
                            &Control::Restore {
                                experiment: Box::new(exp),
                                backend,
                                checkpoint: Box::new((*checkpoint).clone()),
                            },
                        );
                        send(&worker, &c);
                        return;
                    }
                    let worker = worker.clone();
                    let dispatch = state.dispatcher();
                    wasm_bindgen_futures::spawn_local(async move {
                        match store::checkpoint(&id).await {
                            Ok(Some(checkpoint)) => {
                                dispatch.dispatch(Action::Restoring);
                                send(
                                    &worker,
                                    &Control::Restore {
                                        experiment: Box::new(exp),
                                        backend,
                                        checkpoint: Box::new(checkpoint),
                                    },
                                );
                                send(&worker, &c);
                            }
                            Ok(None) => dispatch.dispatch(Action::Saved(SavedAction::StorageError(
                                "this saved run has no stored checkpoint, so it cannot resume; Train starts it again"
                                    .into(),
                            ))),
                            Err(e) => dispatch.dispatch(Action::Saved(SavedAction::StorageError(e))),
                        }
                    });
                }
                Control::Reset => state.dispatch(Action::CloseRun),
                other => send(&worker, &other),
            }
        })
    };

    // An embed's turn: autoplay when on screen, one figure training at a time.
    let waiting_turn = hooks::use_embed_turns(&state, start.clone(), control.clone());

    // Keyboard: t train / pause / resume, s step, r reset (not while typing).
    let onkeydown = {
        let state = state.clone();
        let start = start.clone();
        let control = control.clone();
        Callback::from(move |e: KeyboardEvent| {
            let typing = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    let kind = el.get_attribute("type");
                    let editable = el
                        .dyn_ref::<web_sys::HtmlElement>()
                        .is_some_and(|h| h.is_content_editable());
                    takes_text(&el.tag_name(), kind.as_deref(), editable)
                });
            if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let Some(key) = shortcut(&e.key(), state.run.phase, state.can_start()) else {
                return;
            };
            // A focused menu would also take the letter as type-ahead.
            e.prevent_default();
            match key {
                Shortcut::Pause => control.emit(Control::Pause),
                Shortcut::Resume => control.emit(Control::Resume),
                Shortcut::Train => start.emit(false),
                Shortcut::TrainPaused => start.emit(true),
                Shortcut::Step => control.emit(Control::Step),
                Shortcut::Reset => control.emit(Control::Reset),
            }
        })
    };

    hooks::use_keys(onkeydown);

    if let Some(spec) = state.embed.clone() {
        return html! {
            <EmbedView state={state.clone()} start={start.clone()} control={control.clone()} {spec} waiting={waiting_turn} />
        };
    }

    let toggle_lessons = {
        let state = state.clone();
        Callback::from(move |_| {
            state.dispatch(Action::Lesson(LessonAction::ShowIndex(
                !state.lessons.show_index,
            )))
        })
    };
    let lesson = state.lessons.open_lesson().cloned();
    // The first stop for the Tab key: straight to Train (a button, not a link: the
    // URL's hash is the experiment).
    let skip_to_train = Callback::from(|_| {
        if let Some(train) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("train"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = train.focus();
        }
    });
    html! {
        <div class="page">
            <button class="skip-link" id="skip-to-train" onclick={skip_to_train}>{"Skip to Train"}</button>
            <header class="top">
                <h1>{"ICL Lab"}<span class="tagline">{" · watch a transformer learn in context"}</span></h1>
                <button id="lessons-toggle" class="lessons-toggle" aria-expanded={state.lessons.show_index.to_string()}
                    aria-controls="lesson-index" onclick={toggle_lessons}>{"Lessons"}</button>
                <BackendBadge info={state.run.backend.clone()} choice={state.backend} dispatch={state.dispatcher()} />
            </header>
            if state.bench.is_none() {
                <section aria-label="what this lab is"><p class="hook" id="hook">
                    {"In-context learning: a trained model gets better at a task it has never seen from the examples in its prompt alone, with no change to its weights. Press "}
                    <strong>{"Train"}</strong>
                    {" and watch a small transformer learn to do it, beside the classical algorithms it is compared with."}
                </p></section>
            }
            // The trainer's wasm memory, for the long-run memory test.
            <p class="status" role="status" aria-live="polite" id="status" data-wasm-bytes={state.run.progress.as_ref().map_or(0.0, |p| p.wasm_bytes).to_string()}>{state.status_line()}</p>
            <Notices notices={state.notices.clone()} error={state.run.error.clone()} dispatch={state.dispatcher()} />
            if state.lessons.show_index { <LessonIndex lessons={Shared::from(&state.lessons)} dispatch={state.dispatcher()} /> }
            if let Some(steps) = state.bench {
                <BenchView run={Shared::from(&state.run)} exp={state.exp.clone()} can_start={state.can_start()} start={start.clone()} {start_icl} {steps} />
            } else {
                <main class={classes!("lab", lesson.is_some().then_some("with-lesson"))}>
                    if let Some(lesson) = lesson { <LessonPanel lessons={Shared::from(&state.lessons)} dispatch={state.dispatcher()} {lesson} start={start_lesson.clone()} /> }
                    <Controls exp={state.exp.clone()} drafts={state.drafts.clone()} dispatch={state.dispatcher()} />
                    <section class="results">
                        <RunButtons run={Shared::from(&state.run)} can_start={state.can_start()} valid={state.drafts.is_empty()} exp={state.exp.clone()} start={start.clone()} control={control.clone()} pause_when_hidden={Some(state.pause_when_hidden)} on_hidden_setting={{ let d = state.dispatcher(); Callback::from(move |on| d.dispatch(Action::PauseWhenHidden(on))) }} />
                        <ResumeOffer saved={Shared::from(&state.saved)} run={Shared::from(&state.run)} dispatch={state.dispatcher()} />
                        <Charts run={Shared::from(&state.run)} exp={state.exp.clone()} preview={state.preview()} hidden={state.hidden.clone()} ablation_mode={state.ablation_mode} attention_prompt={state.attention_prompt} dispatch={state.dispatcher()} />
                        <RunsPanel saved={Shared::from(&state.saved)} run={Shared::from(&state.run)} dispatch={state.dispatcher()} />
                        <EmbedPanel hash={state.hash_state()} />
                        <SweepPanel sweep={Shared::from(&state.sweep)} run={Shared::from(&state.run)} can_start={state.can_start()} dispatch={state.dispatcher()} />
                    </section>
                </main>
            }
            <footer class="foot">
                {"Keys: t train / pause / resume · s step · r reset. The URL holds the whole experiment: copy it to share. "}
                <a href="#bench">{"Bench"}</a>
            </footer>
        </div>
    }
}

/// The page's dispatcher: what a component changes the state through.
type Dispatch = UseReducerDispatcher<AppState>;

/// A part of the page state handed to a component. Equal when it is the same
/// allocation: the reducer gives a part it changes a new one, so comparing props
/// costs a pointer comparison, not a walk through saved runs or reports.
#[derive(Clone)]
struct Shared<T>(Rc<T>);

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<&Rc<T>> for Shared<T> {
    fn from(rc: &Rc<T>) -> Self {
        Self(rc.clone())
    }
}

#[derive(Properties, PartialEq)]
struct ControlsProps {
    exp: Experiment,
    drafts: BTreeMap<String, Draft>,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct BackendProps {
    info: Option<BackendInfo>,
    choice: BackendChoice,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct NoticesProps {
    notices: Vec<String>,
    error: Option<String>,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct LessonsProps {
    lessons: Shared<Lessons>,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct AttentionProps {
    run: Shared<RunView>,
    /// The trained model's kind: a recurrent one has no attention to show.
    kind: ModelKind,
    ablation_mode: AblationMode,
    attention_prompt: usize,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct SweepProps {
    sweep: Shared<SweepView>,
    run: Shared<RunView>,
    can_start: bool,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct RunsProps {
    saved: Shared<SavedRuns>,
    run: Shared<RunView>,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct ResumeProps {
    saved: Shared<SavedRuns>,
    run: Shared<RunView>,
    dispatch: Dispatch,
}

#[derive(Properties, PartialEq)]
struct EmbedPanelProps {
    /// The current experiment's hash (the embed's chart and autoplay are added).
    hash: HashState,
}

#[function_component(BackendBadge)]
fn backend_badge(props: &BackendProps) -> Html {
    let (run_backend, choice, dispatch) = (&props.info, props.choice, &props.dispatch);
    let (text, class, title) = match run_backend {
        Some(b) if b.kind == "webgpu" => (
            format!("WebGPU · {}", b.adapter),
            "badge gpu",
            b.adapter.clone(),
        ),
        Some(b) => (
            format!("CPU · {}", b.adapter),
            "badge cpu",
            b.adapter.clone(),
        ),
        None => (
            format!("backend: {} (chosen when training starts)", choice.name()),
            "badge",
            String::new(),
        ),
    };
    let onchange = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event2| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            if let Some(b) = BackendChoice::parse(&sel.value()) {
                dispatch.dispatch(Action::Backend(b));
            }
        })
    };
    let reason = run_backend.as_ref().and_then(|b| b.fallback_reason.clone());
    let warning = run_backend.as_ref().and_then(|b| b.warning.clone());
    html! {
        <div class="backend">
            <span class={class} id="backend-badge" {title}>{text}</span>
            <label class="inline">{"Backend "}
                <select id="backend-choice" {onchange} aria-label="compute backend">
                    { for BackendChoice::ALL.iter().map(|b| html!{
                        <option value={b.name()} selected={*b == choice}>{
                            match b { BackendChoice::Auto => "auto (WebGPU if a GPU)", BackendChoice::WebGpu => "WebGPU", BackendChoice::Cpu => "CPU" }
                        }</option>
                    }) }
                </select>
            </label>
            if let Some(r) = reason { <p class="fallback" id="fallback-reason">{r}</p> }
            if let Some(w) = warning { <p class="fallback" id="backend-warning" role="status">{w}</p> }
        </div>
    }
}

type Event2 = yew::events::Event;

#[function_component(Notices)]
fn notices(props: &NoticesProps) -> Html {
    let dispatch = &props.dispatch;
    let mut items = Vec::new();
    if !props.notices.is_empty() {
        let dismiss = {
            let dispatch = dispatch.clone();
            Callback::from(move |_| dispatch.dispatch(Action::DismissNotices))
        };
        items.push(html! {
            <div class="notice warn" id="link-notice" role="alert">
                <strong>{"Parts of this link could not be used; defaults were taken for them:"}</strong>
                <ul>{ for props.notices.iter().map(|n| html!{ <li>{n}</li> }) }</ul>
                <button class="small" onclick={dismiss}>{"Dismiss"}</button>
            </div>
        });
    }
    if let Some(err) = &props.error {
        items.push(html! { <div class="notice error" id="run-error" role="alert">{err}</div> });
    }
    html! { <>{ for items }</> }
}

#[function_component(Controls)]
fn controls(props: &ControlsProps) -> Html {
    let (exp, dispatch) = (&props.exp, &props.dispatch);
    let on_preset = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event2| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            dispatch.dispatch(Action::Preset(sel.value()));
        })
    };
    let preset = PRESETS.iter().find(|p| (p.build)() == *exp);
    html! {
        <aside class="controls" aria-label="experiment settings">
            <label class="preset">{"Preset "}
                <select id="preset" onchange={on_preset}>
                    <option value="" selected={preset.is_none()} disabled=true>{"(custom)"}</option>
                    { for PRESETS.iter().map(|p| html!{
                        <option value={p.name} selected={(p.build)() == *exp}>{p.name}</option>
                    }) }
                </select>
            </label>
            if let Some(p) = preset {
                <p class="preset-plain" id="preset-plain">{p.plain}</p>
                <details class="preset-details">
                    <summary class="small">{"Details and measurements"}</summary>
                    <p class="muted small">{crate::claims::render(p.summary)}</p>
                </details>
            }
            { for SECTIONS.iter().filter(|sec| sec.fields.iter().any(|f| f.applies(exp))).map(|sec| html!{
                <fieldset>
                    <legend>{sec.title}</legend>
                    { for sec.fields.iter().filter(|f| f.applies(exp)).map(|f| html!{
                        <FieldInput field={*f} value={f.text(exp)} draft={props.drafts.get(f.path).cloned()} dispatch={dispatch.clone()} />
                    }) }
                    if sec.title == "Model" {
                        // What model.params sizes by, so that two kinds compare at equal size.
                        <p class="muted small" id="param-count">{format!(
                            "{} parameters ({} of width {})",
                            crate::claims::thousands(exp.param_count()),
                            exp.model.kind.label(),
                            exp.model.width
                        )}</p>
                    }
                </fieldset>
            }) }
        </aside>
    }
}

#[derive(Properties)]
struct FieldProps {
    field: Field,
    /// The field's value in the experiment shown.
    value: String,
    /// What the user typed, when it is not valid (yet).
    draft: Option<Draft>,
    dispatch: Dispatch,
}

impl PartialEq for FieldProps {
    fn eq(&self, other: &Self) -> bool {
        self.field.path == other.field.path
            && self.value == other.value
            && self.draft == other.draft
            && self.dispatch == other.dispatch
    }
}

#[function_component(FieldInput)]
fn field_input(props: &FieldProps) -> Html {
    let f = props.field;
    let draft = props.draft.as_ref();
    let value = draft.map_or_else(|| props.value.clone(), |d| d.text.clone());
    let id = format!("f-{}", f.path.replace('.', "-"));
    let edit = {
        let dispatch = props.dispatch.clone();
        move |text: String| {
            dispatch.dispatch(Action::Edit {
                path: f.path.to_string(),
                text,
            })
        }
    };
    let input = match f.kind {
        Kind::Select(options) => {
            let edit = edit.clone();
            let onchange = Callback::from(move |e: Event2| {
                let sel: HtmlSelectElement = e.target_unchecked_into();
                edit(sel.value());
            });
            html! {
                <select id={id.clone()} {onchange}>
                    { for options.iter().map(|(json, label)| html!{
                        <option value={*json} selected={*json == value}>{*label}</option>
                    }) }
                </select>
            }
        }
        Kind::Toggle => {
            let edit = edit.clone();
            let onchange = Callback::from(move |e: Event2| {
                let el: HtmlInputElement = e.target_unchecked_into();
                edit(el.checked().to_string());
            });
            html! { <input type="checkbox" id={id.clone()} checked={value == "true"} {onchange} /> }
        }
        _ => {
            let edit = edit.clone();
            let oninput = Callback::from(move |e: InputEvent| {
                let el: HtmlInputElement = e.target_unchecked_into();
                edit(el.value());
            });
            let mode = match f.kind {
                Kind::Int | Kind::OptInt => "numeric",
                _ => "decimal",
            };
            html! {
                <input type="text" inputmode={mode} id={id.clone()} value={value.clone()}
                    aria-invalid={draft.is_some().to_string()}
                    aria-describedby={format!("{id}-hint")} {oninput} />
            }
        }
    };
    // Data properties get a slider beside the text box (arrow keys move it).
    let slider = match f.kind {
        Kind::Slider { min, max, step } => {
            let edit = edit.clone();
            let oninput = Callback::from(move |e: InputEvent| {
                let el: HtmlInputElement = e.target_unchecked_into();
                edit(el.value());
            });
            Some(html! {
                <input type="range" class="slider" id={format!("{id}-slider")} aria-label={f.label}
                    min={min.to_string()} max={max.to_string()} step={step.to_string()}
                    value={value.clone()} {oninput} />
            })
        }
        Kind::LogSlider { max_exp } => {
            let edit = edit.clone();
            let oninput = Callback::from(move |e: InputEvent| {
                let el: HtmlInputElement = e.target_unchecked_into();
                let pos = el.value().parse::<u32>().unwrap_or(max_exp + 1);
                edit(log_slider_text(pos, max_exp));
            });
            let pos = log_slider_position(&value, max_exp);
            Some(html! {
                <input type="range" class="slider" id={format!("{id}-slider")}
                    aria-label={format!("{} (log₂ scale, rightmost = ∞)", f.label)}
                    aria-valuetext={if value.is_empty() { "∞".to_string() } else { value.clone() }}
                    min="0" max={(max_exp + 1).to_string()} step="1"
                    value={pos.to_string()} {oninput} />
            })
        }
        _ => None,
    };
    html! {
        <div class={classes!("field", draft.map(|_| "invalid"))}>
            <label for={id.clone()}>{f.label}</label>
            {input}
            if let Some(s) = slider { {s} }
            if let Some(d) = draft {
                <p class="field-error" id={format!("{id}-hint")} role="alert">{&d.error}</p>
            } else if !f.hint.is_empty() {
                <p class="hint" id={format!("{id}-hint")}>{f.hint}</p>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct RunProps {
    run: Shared<RunView>,
    /// Every field valid and the worker listening.
    can_start: bool,
    /// Every field's typed text is valid.
    valid: bool,
    /// The experiment the controls show (the run's may differ).
    exp: Experiment,
    start: Callback<bool>,
    control: Callback<Control>,
    /// The setting "pause while this tab is hidden", shown as a checkbox where
    /// given (the lab page; an embed takes turns by visibility already).
    #[prop_or_default]
    pause_when_hidden: Option<bool>,
    #[prop_or_default]
    on_hidden_setting: Callback<bool>,
}

#[function_component(RunButtons)]
fn run_buttons(props: &RunProps) -> Html {
    let run = &props.run;
    let phase = run.phase;
    let can_start = props.can_start;
    let train = {
        let start = props.start.clone();
        let control = props.control.clone();
        Callback::from(move |_| match phase {
            Phase::Running => control.emit(Control::Pause),
            Phase::Paused => control.emit(Control::Resume),
            _ => start.emit(false),
        })
    };
    let step = {
        let start = props.start.clone();
        let control = props.control.clone();
        Callback::from(move |_| match phase {
            Phase::Running | Phase::Paused => control.emit(Control::Step),
            _ => start.emit(true),
        })
    };
    let reset = {
        let control = props.control.clone();
        Callback::from(move |_| control.emit(Control::Reset))
    };
    let restart = {
        let start = props.start.clone();
        Callback::from(move |_| start.emit(false))
    };
    let (train_label, train_disabled) = match phase {
        Phase::Running => ("Pause", false),
        Phase::Paused => ("Resume", false),
        Phase::Finished => ("Train again", !can_start),
        Phase::Idle => ("Train", !can_start),
    };
    let changed = run.experiment.as_ref().is_some_and(|e| *e != props.exp)
        && matches!(phase, Phase::Running | Phase::Paused);
    let progress = run.progress.as_ref();
    let pct = progress.map_or(0.0, |p| 100.0 * p.step as f64 / p.steps.max(1) as f64);
    html! {
        <div class="run">
            <button id="train" class="primary" onclick={train} disabled={train_disabled}>{train_label}</button>
            <button id="step" onclick={step} disabled={!can_start && phase == Phase::Idle}>{"Step"}</button>
            <button id="reset" onclick={reset} disabled={phase == Phase::Idle}>{"Reset"}</button>
            if changed {
                <button id="restart" onclick={restart} disabled={!can_start}>{"Restart with the new settings"}</button>
            }
            <progress max="100" value={pct.to_string()} aria-label="training progress"></progress>
            if let Some(on) = props.pause_when_hidden {
                <label class="small" for="pause-hidden" title="Off: training goes on in the background.">
                    <input type="checkbox" id="pause-hidden" checked={on} onchange={{
                        let set = props.on_hidden_setting.clone();
                        Callback::from(move |e: Event| {
                            let el: HtmlInputElement = e.target_unchecked_into();
                            set.emit(el.checked());
                        })
                    }} />
                    {" Pause while this tab is hidden"}
                </label>
            }
            if !props.valid {
                <span class="field-error">{"Fix the highlighted fields to train."}</span>
            }
            if let Some(step) = run.resumed_from {
                <span class="muted small" id="resumed-note">{format!(
                    "Resumed from the checkpoint at step {step}: the saved weights, learning-rate schedule and prompt stream; \
                     the optimizer's moment estimates start afresh (burn 0.22.1 cannot load them in a browser)."
                )}</span>
            }
            if let Some(m) = run.milestone {
                <span class="milestone" id="milestone" data-step={m.step.to_string()} data-seconds={format!("{:.1}", m.seconds)}>
                    {format!("In-context learning: at step {} ({:.0} s after Train) the model's error with all examples fell below half of averaging's.", m.step, m.seconds)}
                </span>
            } else if run.experiment.is_some() && run.eval.as_ref().is_some_and(|r| r.beats_averaging().is_some()) {
                // The line the milestone will take, held from the first evaluation on, so
                // the figures below do not jump when it comes.
                <span class="milestone pending" id="milestone-pending">
                    {"Not yet: the milestone is the model's error with all examples below half of averaging's."}
                </span>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ChartsProps {
    run: Shared<RunView>,
    /// The experiment the controls show (what an idle page draws axes for).
    exp: Experiment,
    /// Curves the user switched off.
    /// The baselines before training (the worker's answer to Control::Preview).
    preview: Option<Rc<crate::eval::EvalCurves>>,
    hidden: BTreeSet<String>,
    ablation_mode: AblationMode,
    attention_prompt: usize,
    dispatch: Dispatch,
    /// The embed view's one chart: the others are not built.
    #[prop_or_default]
    only: Option<ChartId>,
}

#[function_component(Charts)]
fn charts(props: &ChartsProps) -> Html {
    let (run, dispatch) = (&props.run, &props.dispatch);
    // Before the first evaluation: the closed-form baselines alone, faint, as the
    // worker computed them (Control::Preview).
    let ghost = &props.preview;
    let want = |id: ChartId| props.only.is_none_or(|o| o == id);
    let losses = Rc::new(run.losses.clone());
    let steps = run
        .experiment
        .as_ref()
        .map_or(props.exp.train.steps, |e| e.train.steps);
    let report = run.eval.clone().map(Rc::new);
    let sets: Vec<String> = report
        .as_ref()
        .map(|r| r.evals.iter().map(|e| e.name.clone()).collect())
        .unwrap_or_default();
    let names: Vec<String> = report
        .as_ref()
        .and_then(|r| r.eval(&run.eval_set).or(r.evals.first()))
        .or(ghost.as_deref())
        .map(|e| e.curves.keys().cloned().collect())
        .unwrap_or_default();
    let set = if sets.contains(&run.eval_set) {
        run.eval_set.clone()
    } else {
        sets.first().cloned().unwrap_or_else(|| "fresh".into())
    };
    let hidden: Vec<String> = props.hidden.iter().cloned().collect();
    let trained_dims = run.experiment.as_ref().unwrap_or(&props.exp).task.dims;
    // The zero predictor's training loss: its error per k (divided by d) times d,
    // averaged over k as the training loss averages over positions.
    let zero_loss = report
        .as_ref()
        .and_then(|r| r.eval("fresh").map(|e| (e, r.dims)))
        .or(ghost.as_deref().map(|e| (e, trained_dims)))
        .and_then(|(e, d)| {
            let z = &e.curves.get("zero")?.mean;
            (!z.is_empty()).then(|| z.iter().sum::<f64>() / z.len() as f64 * d as f64)
        });
    // How the ICL chart draws each curve, for the legend's notes.
    let plan = report
        .as_ref()
        .and_then(|r| r.eval(&set))
        .or(ghost.as_deref())
        .map(|e| icl_plan(e, &hidden));
    let trained = run.experiment.as_ref().unwrap_or(&props.exp);
    let shape = trained.task.family.shape();
    if let Shape::Tokens { .. } = shape {
        let token_loss = report
            .as_ref()
            .filter(|_| want(ChartId::TokenLoss))
            .and_then(|r| token_loss_figure(r, run.ablated.as_ref()))
            .map(Rc::new);
        let heads = head_score_figure(&run.history)
            .filter(|_| want(ChartId::Heads))
            .map(Rc::new);
        let copying = copying_figure(&run.history)
            .filter(|_| want(ChartId::Copying))
            .map(Rc::new);
        let icl = icl_score_figure(&run.history)
            .filter(|_| want(ChartId::IclScore))
            .map(Rc::new);
        return html! {
            <div class="charts">
                if want(ChartId::Loss) { <LossChart {losses} {steps} /> }
                if let Some(figure) = icl { <FigureChart {figure} /> }
                if let Some(figure) = heads { <FigureChart {figure} /> }
                if let Some(figure) = copying { <FigureChart {figure} /> }
                if let Some(figure) = token_loss { <FigureChart {figure} /> }
                if want(ChartId::Attention) { <AttentionView run={run.clone()} kind={trained.model.kind} ablation_mode={props.ablation_mode} attention_prompt={props.attention_prompt} dispatch={dispatch.clone()} /> }
            </div>
        };
    }
    if let Shape::Classification(c) = shape {
        let figure = Rc::new(probe_figure(
            &run.history,
            1.0 / c.labels as f64,
            novel_in(c),
        ));
        let heads = head_score_figure(&run.history)
            .filter(|_| want(ChartId::Heads))
            .map(Rc::new);
        let ablated = run.ablated.as_ref().zip(report.as_ref()).map(|(a, r)| {
            let names: Vec<String> = a.ablated.iter().map(|h| h.label()).collect();
            let accuracy = |r: &EvalReport, p: &str| {
                r.probe(p)
                    .and_then(|p| p.scores.get("model"))
                    .map_or(f64::NAN, |s| s.mean)
            };
            format!(
                "With {} ablated at step {}: ICL accuracy {:.2} (as trained {:.2}), in-weights {:.2} (as trained {:.2}).",
                names.join(", "),
                a.step,
                accuracy(a, "icl"),
                accuracy(r, "icl"),
                accuracy(a, "in_weights"),
                accuracy(r, "in_weights")
            )
        });
        return html! {
            <div class="charts">
                if want(ChartId::Loss) { <LossChart {losses} {steps} /> }
                if want(ChartId::Probes) {
                    <div>
                        <FigureChart {figure} />
                        if let Some(text) = ablated {
                            <p class="caption" data-caption="ablated">{text}</p>
                        }
                    </div>
                }
                if let Some(figure) = heads { <FigureChart {figure} /> }
                if want(ChartId::Attention) { <AttentionView run={run.clone()} kind={trained.model.kind} ablation_mode={props.ablation_mode} attention_prompt={props.attention_prompt} dispatch={dispatch.clone()} /> }
            </div>
        };
    }
    let distance = trained
        .task
        .pool
        .filter(|_| want(ChartId::Distance))
        .and_then(|_| distance_figure(&run.history))
        .map(Rc::new);
    let noise = report
        .as_ref()
        .filter(|_| want(ChartId::Noise))
        .and_then(|r| noise_figure(r))
        .map(Rc::new);
    let lsa = report
        .as_ref()
        .filter(|r| !r.lsa.is_empty() && want(ChartId::Lsa))
        .map(|r| Rc::new(r.lsa.clone()));
    let algorithms = report
        .as_ref()
        .filter(|_| want(ChartId::Algorithms))
        .and_then(|r| algorithm_figure(r.algorithms.as_ref()?, r.step))
        .map(Rc::new);
    html! {
        <div class="charts">
            // Fixed slots: the loss and the ICL curve on top, always; the lenses below,
            // in this order, as their first evaluation brings them.
            if want(ChartId::Loss) { <LossChart {losses} {steps} zero={zero_loss} /> }
            if want(ChartId::Icl) {
                <IclChart report={report.clone()} set={set.clone()} hidden={hidden.clone()}
                    ghost={ghost.clone()} dims={trained.task.dims}>
                <div class="legend" role="group" aria-label="curves to show">
                    if sets.len() > 1 {
                        <span class="toggle" role="radiogroup" aria-label="evaluation tasks">
                            { for sets.iter().map(|s| {
                                let dispatch = dispatch.clone();
                                let name = s.clone();
                                let onclick = Callback::from(move |_| dispatch.dispatch(Action::Run(RunAction::EvalSet(name.clone()))));
                                html!{ <button class={classes!("small", (*s == set).then_some("on"))} role="radio"
                                    aria-checked={(*s == set).to_string()} id={format!("set-{s}")} {onclick}>
                                    { match s.as_str() {
                                        "pool" => "pool tasks (seen in training)".to_string(),
                                        "fresh" => "fresh tasks".to_string(),
                                        "regression" => "regression only".to_string(),
                                        "classification" => "classification only".to_string(),
                                        other => other.replace("sigma=", "σ = ").replace("x=", "inputs: "),
                                    } }
                                </button> }
                            }) }
                        </span>
                    }
                    { for names.iter().map(|n| {
                        let dispatch = dispatch.clone();
                        let name = n.clone();
                        let onchange = Callback::from(move |_| dispatch.dispatch(Action::ToggleCurve(name.clone())));
                        let note = curve_note(plan.as_ref(), n);
                        let dashed = plan.as_ref().and_then(|p| p.curves.iter().find(|c| c.name == *n)).is_some_and(|c| c.dashed);
                        html!{
                            <label class="curve" data-curve={n.clone()}>
                                <input type="checkbox" checked={!hidden.contains(n)} {onchange} />
                                <span class={classes!("swatch", dashed.then_some("dashed"))}
                                    style={format!("background:{};border-color:{}", if dashed { "transparent".to_string() } else { css_colour(n) }, css_colour(n))}></span>
                                {label(n)}
                                if let Some(note) = note { <span class="muted curve-note">{format!(" ({note})")}</span> }
                            </label>
                        }
                    }) }
                </div>
                </IclChart>
            }
            if let Some(figure) = algorithms { <FigureChart {figure} /> }
            if let Some(figure) = distance { <FigureChart {figure} /> }
            if let Some(figure) = noise { <FigureChart {figure} /> }
            if let Some(heads) = lsa { <LsaWeights {heads} /> }
        </div>
    }
}

/// The legend's note for a curve the ICL chart draws dashed on another or cuts at
/// its top.
fn curve_note(plan: Option<&IclPlan>, name: &str) -> Option<String> {
    let c = plan?.curves.iter().find(|c| c.name == name)?;
    let mut notes = Vec::new();
    if let Some(note) = same_as_note(c, label) {
        notes.push(note);
    }
    if let (Some(first), Some(last)) = (c.clipped.first(), c.clipped.last()) {
        notes.push(if first == last {
            format!("▲ above the chart at k = {first}")
        } else {
            format!("▲ above the chart at k = {first}…{last}")
        });
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

#[derive(Properties, PartialEq)]
struct EmbedProps {
    state: UseReducerHandle<AppState>,
    start: Callback<bool>,
    control: Callback<Control>,
    spec: EmbedSpec,
    /// Another figure on the page trains; this one waits its turn.
    waiting: bool,
}

/// The embed view (`embed.html#…&embed=<chart>`): the run buttons, the controls the
/// author kept, one chart, and a link to the full lab. Sized by its container; it
/// tells a parent page its height (see `www/embed.html`).
#[function_component(EmbedView)]
fn embed_view(props: &EmbedProps) -> Html {
    let state = &props.state;
    let spec = &props.spec;
    let lab = format!("./index.html#{}", state.lab_hash());
    // Charts builds only the chosen chart; this hides the rest of its row (the ICL
    // curve's legend stays with it).
    let only = format!(
        ".embed-chart .charts > :not(:has([data-chart=\"{0}\"])):not([data-chart=\"{0}\"]) {{ display: none; }}",
        spec.chart
    );
    let fields: Vec<Field> = spec
        .show
        .iter()
        .filter_map(|p| {
            super::fields::all_fields()
                .find(|f| f.path == p.as_str())
                .copied()
        })
        .filter(|f| f.applies(&state.exp))
        .collect();
    html! {
        <div class="page embed" data-embed={spec.chart.id()}>
            <style>{only}</style>
            <header class="embed-top">
                // A heading for screen readers and the page outline; the figure's
                // caption says the same to the eye.
                <h1 class="visually-hidden">{format!("ICL Lab: {}", spec.chart.describe())}</h1>
                <RunButtons run={Shared::from(&state.run)} can_start={state.can_start()} valid={state.drafts.is_empty()} exp={state.exp.clone()} start={props.start.clone()} control={props.control.clone()} />
                <a class="open-lab" id="open-lab" href={lab} target="_blank" rel="noopener">{"Open in ICL Lab ↗"}</a>
            </header>
            <p class="status" role="status" aria-live="polite" id="status" title={state.status_line()}>{state.embed_status_line(props.waiting)}</p>
            <Notices notices={state.notices.clone()} error={state.run.error.clone()} dispatch={state.dispatcher()} />
            <main>
            if !fields.is_empty() {
                <div class="embed-controls" aria-label="settings">
                    { for fields.iter().map(|f| html!{
                        <FieldInput field={*f} value={f.text(&state.exp)} draft={state.drafts.get(f.path).cloned()} dispatch={state.dispatcher()} />
                    }) }
                </div>
            }
            <div class="embed-chart">
                <Charts run={Shared::from(&state.run)} exp={state.exp.clone()} preview={state.preview()} hidden={state.hidden.clone()} ablation_mode={state.ablation_mode} attention_prompt={state.attention_prompt} dispatch={state.dispatcher()} only={spec.chart} />
            </div>
            </main>
        </div>
    }
}

/// "Embed this chart": the iframe snippet for the current experiment and a chosen
/// chart, with a copy button (the text stays selectable when the clipboard is not
/// available, e.g. in an insecure context).
#[function_component(EmbedPanel)]
fn embed_panel(props: &EmbedPanelProps) -> Html {
    let hash = &props.hash;
    let chart = use_state(|| ChartId::Icl);
    let autoplay = use_state(|| true);
    // Readers' browsers pick their own backend unless the author insists.
    let keep_backend = use_state(|| false);
    let copied = use_state(|| None::<bool>);
    let base = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .map(|h| {
            let h = h.split('#').next().unwrap_or_default().to_string();
            match h.rfind('/') {
                Some(i) => h[..=i].to_string(),
                None => h,
            }
        })
        .unwrap_or_default();
    let label = chart.describe();
    let src = format!(
        "{base}embed.html#{}",
        embed_link(
            hash,
            EmbedSpec {
                chart: *chart,
                show: Vec::new(),
                autoplay: *autoplay,
            },
            *keep_backend,
        )
    );
    let snippet = format!(
        "<iframe src=\"{src}\" title=\"ICL Lab: {label}\" width=\"100%\" height=\"520\" style=\"border:0\" loading=\"lazy\"></iframe>\n\
         <script>addEventListener('message',e=>{{if(e.data&&e.data.type==='icl-lab:height')for(const f of document.querySelectorAll('iframe'))if(f.contentWindow===e.source)f.style.height=e.data.height+'px'}})</script>"
    );
    let on_chart = {
        let chart = chart.clone();
        Callback::from(move |e: web_sys::Event| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(c) = sel.value().parse() {
                chart.set(c);
            }
        })
    };
    let on_autoplay = {
        let autoplay = autoplay.clone();
        Callback::from(move |_| autoplay.set(!*autoplay))
    };
    let on_keep_backend = {
        let keep_backend = keep_backend.clone();
        Callback::from(move |_| keep_backend.set(!*keep_backend))
    };
    let copy = {
        let snippet = snippet.clone();
        let copied = copied.clone();
        Callback::from(move |_| copied.set(Some(copy_text(&snippet))))
    };
    html! {
        <details class="embed-panel">
            <summary>{"Embed a live figure"}</summary>
            <p class="muted small">{"An iframe that trains this experiment in the reader's browser and shows one chart, with a link back to the full lab. The snippet's script lets the frame size itself."}</p>
            <div class="embed-options">
                <label>{"chart "}
                    <select id="embed-chart" onchange={on_chart}>
                        { for ChartId::EMBEDDABLE.iter().map(|c| html!{
                            <option value={c.id()} selected={*c == *chart}>{c.describe()}</option>
                        }) }
                    </select>
                </label>
                <label><input type="checkbox" id="embed-autoplay" checked={*autoplay} onchange={on_autoplay} />{" start training when shown"}</label>
                if hash.backend != BackendChoice::Auto {
                    <label><input type="checkbox" id="embed-keep-backend" checked={*keep_backend} onchange={on_keep_backend} />
                        {format!(" readers train on {} too (otherwise each reader's browser picks)", hash.backend.name())}</label>
                }
                <button class="small" id="copy-embed" onclick={copy}>{"Copy embed code"}</button>
                { match *copied {
                    Some(true) => html!{ <span class="muted small" role="status">{"Copied."}</span> },
                    Some(false) => html!{ <span class="muted small" role="status">{"The clipboard is not available here: select the code and copy it."}</span> },
                    None => html!{},
                } }
            </div>
            <textarea id="embed-code" readonly=true rows="4" aria-label="embed code" value={snippet} />
            <p class="small"><a id="embed-preview" href={src} target="_blank" rel="noopener">{"Open the embed on its own ↗"}</a></p>
        </details>
    }
}

/// Writes `text` to the clipboard (navigator.clipboard.writeText); false when the
/// API is missing.
fn copy_text(text: &str) -> bool {
    let Some(nav) = web_sys::window().map(|w| w.navigator()) else {
        return false;
    };
    let Ok(clipboard) = js_sys::Reflect::get(&nav, &"clipboard".into()) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) else {
        return false;
    };
    let Ok(write) = write.dyn_into::<js_sys::Function>() else {
        return false;
    };
    write.call1(&clipboard, &text.into()).is_ok()
}

/// The attention patterns of every head at one evaluation (scrubbed through
/// training), each head's scores there, and a button per head to ablate it.
#[function_component(AttentionView)]
fn attention_view(props: &AttentionProps) -> Html {
    let (run, dispatch) = (&props.run, &props.dispatch);
    if !props.kind.has_attention() {
        return html! {
            <figure class="chart" data-chart={ChartId::Attention.id()}>
                <figcaption>{"Attention patterns"}</figcaption>
                <p class="caption" data-caption="no-attention">{format!(
                    "The attention lens and head ablations are for attention models only: this {} reads its context through a recurrent state, not attention heads. The loss and in-context charts, and the algorithm lens, apply to it as to a transformer.",
                    props.kind.label()
                )}</p>
            </figure>
        };
    }
    let Some((step, snapshot)) = run.shown_attention() else {
        return html! {
            <figure class="chart" data-chart={ChartId::Attention.id()}>
                <figcaption>{"Attention patterns"}</figcaption>
                <p class="caption">{"The heads' attention appears at the first evaluation."}</p>
            </figure>
        };
    };
    let count = run.attention.len();
    let index = run.scrub.unwrap_or(count - 1);
    let prompt = props
        .attention_prompt
        .min(snapshot.prompts.len().saturating_sub(1));
    let Some(p) = snapshot.prompts.get(prompt) else {
        return html! {
            <figure class="chart" data-chart={ChartId::Attention.id()}>
                <figcaption>{"Attention patterns"}</figcaption>
                <p class="caption">{format!(
                    "This model is too large to keep its attention patterns at every evaluation (at most {} weights per evaluation: fewer layers, heads or tokens); the head scores above are still measured.",
                    crate::lens::heads::SNAPSHOT_BUDGET
                )}</p>
            </figure>
        };
    };
    let labels = Rc::new(p.labels.clone());
    let metrics = run
        .history
        .iter()
        .find(|(s, _)| *s == step)
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let scrub = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            let i: usize = input.value().parse().unwrap_or(0);
            dispatch.dispatch(Action::Run(RunAction::Scrub((i + 1 < count).then_some(i))));
        })
    };
    let mode = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: web_sys::Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            let m = if select.value() == "mean" {
                AblationMode::Mean
            } else {
                AblationMode::Zero
            };
            dispatch.dispatch(Action::AblationMode(m));
        })
    };
    let clear = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Run(RunAction::ClearAblations)))
    };
    let score = |key: Metric, label: &str| -> String {
        metrics
            .get(&key)
            .map_or(String::new(), |v| format!("{label} {v:.2}"))
    };
    html! {
        <figure class="chart attention" data-chart={ChartId::Attention.id()}>
            <figcaption>{"Attention patterns: which earlier token each position reads"}</figcaption>
            <div class="attention-controls">
                <label>{"evaluation "}
                    <input type="range" id="scrub" min="0" max={(count - 1).to_string()}
                        value={index.to_string()} oninput={scrub}
                        aria-valuetext={format!("step {step}")} />
                    <span id="scrub-step" data-step={step.to_string()}>
                        {format!("step {step} ({} of {count}{})", index + 1,
                            if run.scrub.is_none() { ", following training" } else { "" })}
                    </span>
                </label>
                <span class="toggle" role="radiogroup" aria-label="sequence">
                    { for (0..snapshot.prompts.len()).map(|i| {
                        let dispatch = dispatch.clone();
                        let onclick = Callback::from(move |_| dispatch.dispatch(Action::AttentionPrompt(i)));
                        html!{ <button class={classes!("small", (i == prompt).then_some("on"))} role="radio"
                            aria-checked={(i == prompt).to_string()} id={format!("prompt-{i}")} {onclick}>
                            {format!("sequence {}", i + 1)}</button> }
                    }) }
                </span>
                <label>{"ablate by "}
                    <select id="ablation-mode" onchange={mode} aria-label="how a clicked head is ablated">
                        <option value="zero" selected={props.ablation_mode == AblationMode::Zero}>{"zeroing it"}</option>
                        <option value="mean" selected={props.ablation_mode == AblationMode::Mean}>{"its mean pattern"}</option>
                    </select>
                </label>
                if !run.ablations.is_empty() {
                    <button class="small" id="restore-heads" onclick={clear}>{"Restore all heads"}</button>
                }
            </div>
            <p class="caption">{format!(
                "Sequence: {}. Rows attend to columns (darker = more weight); hover a cell for the tokens. Click a head's name to ablate it on the current checkpoint.",
                p.labels.join(" ")
            )}</p>
            <div class="attention-grid">
                { for p.heads.iter().enumerate().flat_map(|(l, layer)| {
                    let dispatch = dispatch.clone();
                    let labels = labels.clone();
                    layer.iter().enumerate().map(move |(h, w)| {
                        let name = format!("L{}H{}", l + 1, h + 1);
                        let ablated = run.ablations.iter().any(|a| (a.layer, a.head) == (l, h));
                        let onclick = {
                            let dispatch = dispatch.clone();
                            Callback::from(move |_| dispatch.dispatch(Action::ToggleHead { layer: l, head: h }))
                        };
                        html!{
                            <div class={classes!("attention-head", ablated.then_some("ablated"))}>
                                <button class="head-name small" id={format!("head-{name}")}
                                    aria-pressed={ablated.to_string()} {onclick}
                                    title={if ablated { "restore this head" } else { "ablate this head" }}>
                                    {if ablated { format!("{name} (ablated)") } else { name.clone() }}
                                </button>
                                <AttentionMap title={name.clone()} labels={labels.clone()} weights={Rc::new(w.clone())} />
                            </div>
                        }
                    }).collect::<Vec<_>>()
                }) }
            </div>
            <p class="caption" data-caption="head-scores">{
                p.heads.iter().enumerate().flat_map(|(l, layer)| (0..layer.len()).map(move |h| (l, h)))
                    .map(|(l, h)| {
                        let at = Head::At { layer: l + 1, head: h + 1 };
                        let n = at.to_string();
                        let parts: Vec<String> = [
                            score(Metric::PrefixMatching(at), "prefix matching"),
                            score(Metric::PreviousToken(at), "previous token"),
                            score(Metric::Copying(at), "copying"),
                        ]
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .collect();
                        format!("{n}: {}", parts.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(" · ")
            }</p>
        </figure>
    }
}

#[derive(Properties, PartialEq)]
struct BenchProps {
    run: Shared<RunView>,
    exp: Experiment,
    can_start: bool,
    start: Callback<bool>,
    start_icl: Callback<()>,
    steps: usize,
}

/// `#bench`: time N steps of the hash's experiment (garg-tiny by default) on the
/// current backend.
#[function_component(BenchView)]
fn bench_view(props: &BenchProps) -> Html {
    let run = &props.run;
    let icl = is_icl_bench(run);
    let rate = bench_rate(&run.timings);
    let first = run.progress.as_ref().map(|p| p.first_step_ms);
    let onclick = {
        let start = props.start.clone();
        Callback::from(move |_| start.emit(false))
    };
    let onclick_icl = {
        let start = props.start_icl.clone();
        Callback::from(move |_| start.emit(()))
    };
    let busy = !props.can_start || run.phase == Phase::Running;
    let milestone = run.milestone.filter(|_| icl);
    let icl_text = match (milestone, icl, run.phase) {
        (Some(m), _, _) => format!("{:.1} s (step {})", m.seconds, m.step),
        (None, true, Phase::Running) => format!(
            "training… step {}",
            run.progress.as_ref().map_or(0, |p| p.step)
        ),
        (None, true, _) => "not reached within the run's steps".into(),
        (None, false, _) => "–".into(),
    };
    let e = &props.exp;
    html! {
        <main class="bench">
            <h2>{"Throughput"}</h2>
            <p>{format!(
                "{} steps of a {}-layer, {}-head, width-{} model on d = {}, {} points, batch {} ({} tokens).",
                props.steps, e.model.layers, e.model.heads, e.model.width, e.task.dims, e.task.points,
                e.train.batch, format!("{:?}", e.task.encoding).to_lowercase())}</p>
            <button id="bench-run" class="primary" {onclick} disabled={busy}>{"Run bench"}</button>
            <button id="bench-icl-run" onclick={onclick_icl} disabled={busy}>{"Time to ICL"}</button>
            <dl class="bench-results">
                <dt>{"time to the first finished step (set-up and shader compilation included)"}</dt>
                <dd id="bench-first">{first.map_or("–".into(), |ms| format!("{:.0} ms", ms))}</dd>
                <dt>{"steady-state steps per second"}</dt>
                <dd id="bench-rate" data-rate={rate.map(|r| format!("{r:.3}")).unwrap_or_default()}>
                    {rate.map_or("–".into(), |r| format!("{r:.2} steps/s ({:.1} ms a step)", 1000.0 / r))}</dd>
                <dt>{format!(
                    "time to in-context learning: from pressing the button until the model's error at the last \
                     position falls below half of averaging's (evaluated every {ICL_BENCH_EVERY} steps, all {} steps at most)",
                    e.train.steps)}</dt>
                <dd id="bench-icl" data-seconds={milestone.map(|m| format!("{:.2}", m.seconds)).unwrap_or_default()}
                    data-step={milestone.map(|m| m.step.to_string()).unwrap_or_default()}>{icl_text}</dd>
                <dt>{"state"}</dt>
                <dd id="bench-state">{format!("{:?}", run.phase).to_lowercase()}</dd>
            </dl>
            <p class="muted small">{"Compare backends in one session: change Backend above and run again. "}
                <a href="#">{"Back to the lab"}</a></p>
        </main>
    }
}

/// The sweep panel: pick a field and its values, queue one run per value, and watch
/// the threshold curve fill in; load a summary written by `icl-lab sweep`.
#[function_component(SweepPanel)]
fn sweep_panel(props: &SweepProps) -> Html {
    let (run, sweep, dispatch) = (&props.run, &props.sweep, &props.dispatch);
    let sw = sweep;
    let running = matches!(sw.status, Some(SweepStatus::Running { .. }));
    let on_path = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event2| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            let path = sel.value();
            let example = SWEEPABLE
                .iter()
                .find(|(p, _, _)| *p == path)
                .map_or(String::new(), |(_, _, ex)| ex.to_string());
            dispatch.dispatch(Action::Sweep(SweepAction::Edit {
                path,
                values: example,
            }));
        })
    };
    let on_values = {
        let dispatch = dispatch.clone();
        let path = sw.path.clone();
        Callback::from(move |e: InputEvent| {
            let el: HtmlInputElement = e.target_unchecked_into();
            dispatch.dispatch(Action::Sweep(SweepAction::Edit {
                path: path.clone(),
                values: el.value(),
            }));
        })
    };
    let on_seeds = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let el: HtmlInputElement = e.target_unchecked_into();
            dispatch.dispatch(Action::Sweep(SweepAction::Seeds(el.value())));
        })
    };
    let on_run = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| {
            dispatch.dispatch(Action::Sweep(SweepAction::Start { now_ms: now_ms() }))
        })
    };
    let on_cancel = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Sweep(SweepAction::Cancel)))
    };
    let on_metric = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event2| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            dispatch.dispatch(Action::Sweep(SweepAction::Metric(parse_list(&sel.value()))));
        })
    };
    let on_file = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event2| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default();
                dispatch.dispatch(Action::Sweep(SweepAction::Load(text)));
            });
        })
    };
    let status = match &sw.status {
        Some(SweepStatus::Running { index }) => format!(
            "run {} of {}: {} · step {} / {}",
            index + 1,
            sw.runs.len(),
            sw.run_label(*index).unwrap_or_default(),
            run.progress.as_ref().map_or(0, |p| p.step),
            run.experiment.as_ref().map_or(0, |e| e.train.steps),
        ),
        Some(SweepStatus::Done) => "finished".into(),
        Some(SweepStatus::Cancelled) => "cancelled; the finished points stay".into(),
        Some(SweepStatus::Failed(m)) => format!("stopped: {m}"),
        Some(SweepStatus::Loaded) => "loaded from a summary file".into(),
        None => String::new(),
    };
    let metrics = sw.summary.as_ref().map(|s| s.metrics()).unwrap_or_default();
    let figure = sw
        .summary
        .as_ref()
        .filter(|s| !sw.metric.is_empty() || s.points.is_empty())
        .map(|s| Rc::new(threshold_figure(s, &sw.metric)));
    // The summary as a file to download: made once per change of the summary (not
    // on every render during a run) and revoked when replaced.
    let download = use_state(|| None::<String>);
    {
        let download = download.clone();
        use_effect_with(sw.summary.clone(), move |summary| {
            let url = summary
                .as_ref()
                .filter(|s| !s.points.is_empty())
                .and_then(|s| {
                    let text = serde_json::to_string_pretty(s).ok()?;
                    let parts = js_sys::Array::of1(&JsValue::from_str(&text));
                    let blob = web_sys::Blob::new_with_str_sequence(&parts).ok()?;
                    web_sys::Url::create_object_url_with_blob(&blob).ok()
                });
            download.set(url.clone());
            move || {
                if let Some(u) = url {
                    let _ = web_sys::Url::revoke_object_url(&u);
                }
            }
        });
    }
    let download = (*download).clone();
    let custom = !SWEEPABLE.iter().any(|(p, _, _)| *p == sw.path);
    html! {
        <section class="sweep" aria-label="sweep">
            <h2>{"Sweep a data property"}</h2>
            <p class="muted small">{"One run of the current settings per value, in turn; the final metric of each run is plotted against the value."}</p>
            <div class="sweep-form">
                <label>{"field "}
                    <select id="sweep-path" onchange={on_path} disabled={running}>
                        if custom { <option value={sw.path.clone()} selected=true>{sw.path.clone()}</option> }
                        { for SWEEPABLE.iter().map(|(p, l, _)| html!{
                            <option value={*p} selected={*p == sw.path}>{format!("{l} ({p})")}</option>
                        }) }
                    </select>
                </label>
                <label>{"values "}
                    <input type="text" id="sweep-values" value={sw.values.clone()} oninput={on_values}
                        disabled={running} aria-describedby="sweep-hint" />
                </label>
                <label>{"seeds "}
                    <input type="number" id="sweep-seeds" class="narrow" min="1" max={crate::sweep::MAX_SEEDS.to_string()} step="1"
                        value={sw.seeds.clone()} oninput={on_seeds} disabled={running} aria-describedby="sweep-hint" />
                </label>
                if running {
                    <button id="sweep-cancel" onclick={on_cancel}>{"Cancel sweep"}</button>
                } else {
                    <button id="sweep-run" class="primary" onclick={on_run} disabled={!props.can_start}>{"Run sweep"}</button>
                }
                <label class="file">{"Load summary… "}
                    <input type="file" id="sweep-load" accept=".json,application/json" onchange={on_file} />
                </label>
                if let Some(href) = download {
                    <a id="sweep-download" {href} download="sweep-summary.json">{"Download summary"}</a>
                }
            </div>
            <p class="hint" id="sweep-hint">{"Comma-separated values; 2^1..2^6 gives powers of two, 1..4 every integer, null an infinite pool. Seeds: runs per value (seed, seed + 1, …), drawn as mean ± standard error. At most 64 runs."}</p>
            if let Some(e) = &sw.error { <p class="field-error" role="alert" id="sweep-error">{e}</p> }
            if !status.is_empty() { <p class="sweep-status" id="sweep-status">{status}</p> }
            if metrics.len() > 1 {
                <label>{"metric "}
                    <select id="sweep-metric" onchange={on_metric}>
                        { for metrics.iter().map(|m| html!{ <option value={list_text(m)} selected={*m == sw.metric}>{m.iter().map(Metric::label).collect::<Vec<_>>().join(" and ")}</option> }) }
                    </select>
                </label>
            }
            if let Some(figure) = figure { <FigureChart {figure} /> }
            if let Some(s) = sw.summary.as_ref().filter(|s| !s.unfinished.is_empty()) {
                <details class="sweep-unfinished" id="sweep-unfinished" open={s.unfinished.iter().any(|u| u.failed)}>
                    <summary>{format!("{} of {} runs have no result yet ({} failed)", s.unfinished.len(), s.planned(),
                        s.unfinished.iter().filter(|u| u.failed).count())}</summary>
                    <ul>
                        { for s.unfinished.iter().map(|u| html!{
                            <li class={classes!(u.failed.then_some("failed"))}>
                                {format!("task {} ({} = {}, seed {}): {} — log {}", u.task, s.path,
                                    crate::sweep::value_label(&u.value), u.seed, u.state, u.log)}
                            </li>
                        }) }
                    </ul>
                </details>
            }
        </section>
    }
}

/// The page's localStorage, when the browser allows it.
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// IndexedDB operations waiting to be carried out, in order (one task at a time).
#[derive(Default)]
struct StoreQueue {
    next: u64,
    pending: std::collections::VecDeque<(u64, Rc<StoreOp>)>,
    busy: bool,
}

/// A text file next to the page.
async fn fetch_text(url: &str) -> Result<String, String> {
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("{url}: {e:?}"))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|e| format!("{url}: {e:?}"))?)
        .await
        .map_err(|e| format!("{url}: {e:?}"))?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// `lessons/index.json` and every lesson it lists; each file that fails is named.
async fn fetch_lessons() -> (Vec<Rc<Lesson>>, Vec<String>) {
    let mut errors = Vec::new();
    let files: Vec<String> = match fetch_text("lessons/index.json").await {
        Ok(t) => match serde_json::from_str(&t) {
            Ok(f) => f,
            Err(e) => return (Vec::new(), vec![format!("lessons/index.json: {e}")]),
        },
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut lessons = Vec::new();
    for f in files {
        match fetch_text(&format!("lessons/{f}")).await {
            Ok(t) => match Lesson::parse(&t) {
                Ok(l) => lessons.push(Rc::new(l)),
                Err(e) => errors.push(format!("lessons/{f}: {e}")),
            },
            Err(e) => errors.push(e),
        }
    }
    (lessons, errors)
}

fn rendered(html: &str) -> Html {
    Html::from_html_unchecked(AttrValue::from(html.to_string()))
}

/// The lesson index: every lesson with the reader's progress.
#[function_component(LessonIndex)]
fn lesson_index(props: &LessonsProps) -> Html {
    let (lessons, dispatch) = (&props.lessons, &props.dispatch);
    let close = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Lesson(LessonAction::ShowIndex(false))))
    };
    html! {
        <nav class="lesson-index" id="lesson-index" aria-label="lessons">
            <h2>{"Lessons"}</h2>
            <p class="muted small">{"Each lesson sets up an experiment, asks what you expect, guides the run and says what to look for. Progress is kept in this browser."}</p>
            if lessons.list.is_empty() && lessons.errors.is_empty() {
                <p class="muted">{"Loading lessons…"}</p>
            }
            <ol>
                { for lessons.list.iter().map(|l| {
                    let id = l.meta.id.clone();
                    let p = lessons.progress.get(&id).cloned().unwrap_or_default();
                    let n = l.steps_html.len();
                    let status = if p.complete(n) {
                        "complete ✓".to_string()
                    } else if p.predicted.is_some() {
                        format!("{} of {n} steps", p.done.len().min(n))
                    } else {
                        "not started".to_string()
                    };
                    let onclick = {
                        let dispatch = dispatch.clone();
                        let id = id.clone();
                        Callback::from(move |e: MouseEvent| {
                            e.prevent_default();
                            dispatch.dispatch(Action::Lesson(LessonAction::Open(id.clone())));
                        })
                    };
                    html!{
                        <li data-lesson={id.clone()} data-complete={p.complete(n).to_string()}>
                            <a href={format!("#lesson={id}")} id={format!("lesson-link-{id}")} {onclick}>{l.meta.title.clone()}</a>
                            <span class="muted small">{format!(" · {} · ", l.meta.family)}</span>
                            <span class="lesson-status small">{status}</span>
                        </li>
                    }
                }) }
            </ol>
            { for lessons.errors.iter().map(|e| html!{ <p class="field-error">{e}</p> }) }
            <button class="small" onclick={close}>{"Close"}</button>
        </nav>
    }
}

#[derive(Properties, PartialEq)]
struct LessonProps {
    lessons: Shared<Lessons>,
    dispatch: Dispatch,
    lesson: Rc<Lesson>,
    /// Sets up the lesson's experiment and trains it at once (any other run goes).
    start: Callback<Rc<Lesson>>,
}

/// The open lesson beside the lab: introduction, the prediction, guided steps, and
/// what to look for (opened when the run finishes, or by hand).
#[function_component(LessonPanel)]
fn lesson_panel(props: &LessonProps) -> Html {
    let (lessons, dispatch) = (&props.lessons, &props.dispatch);
    let l = &props.lesson;
    let m = &l.meta;
    let p = lessons.progress.get(&m.id).cloned().unwrap_or_default();
    let index = lessons.list.iter().position(|x| x.meta.id == m.id);
    let neighbour = |offset: isize| {
        index
            .and_then(|i| i.checked_add_signed(offset))
            .and_then(|i| lessons.list.get(i))
            .cloned()
    };
    let open = |id: String| {
        let dispatch = dispatch.clone();
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            dispatch.dispatch(Action::Lesson(LessonAction::Open(id.clone())));
        })
    };
    let close = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Lesson(LessonAction::Close)))
    };
    let reveal = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Lesson(LessonAction::Reveal)))
    };
    let reload = open(m.id.clone());
    let start_lesson = {
        let (start, lesson) = (props.start.clone(), l.clone());
        Callback::from(move |_| start.emit(lesson.clone()))
    };
    // The lesson's answer (from the papers and the lab's native runs), never
    // "measured" on the reader's behalf: their own run is there to compare with, once
    // it has finished.
    let verdict = |i: usize| {
        let then = if p.ran {
            "Compare it with your run's figures."
        } else {
            "Run it to see for yourself."
        };
        if i == m.answer {
            format!(
                "You predicted “{}”, the lesson's answer. {then}",
                m.choices[i]
            )
        } else {
            format!(
                "You predicted “{}”; the lesson's answer is “{}”. {then}",
                m.choices[i], m.choices[m.answer]
            )
        }
    };
    html! {
        <aside class="lesson" aria-labelledby="lesson-title" data-lesson={m.id.clone()}>
            <p class="lesson-family small">{format!("Lesson {} of {} · {}", index.map_or(0, |i| i + 1), lessons.list.len(), m.family)}</p>
            <h2 id="lesson-title">{m.title.clone()}</h2>
            <section class="lesson-predict" aria-labelledby="predict-q">
                <h3>{"1 · Predict"}</h3>
                <p id="predict-q">{m.question.clone()}</p>
                <div role="radiogroup" aria-labelledby="predict-q">
                    { for m.choices.iter().enumerate().map(|(i, c)| {
                        let dispatch = dispatch.clone();
                        let onchange = Callback::from(move |_| dispatch.dispatch(Action::Lesson(LessonAction::Predict(i))));
                        html!{
                            <label class="choice">
                                <input type="radio" name="predict" id={format!("predict-{i}")}
                                    checked={p.predicted == Some(i)} {onchange} />
                                {c.clone()}
                            </label>
                        }
                    }) }
                </div>
            </section>
            <details class="lesson-intro" open={p.predicted.is_none()}>
                <summary>{"Background"}</summary>
                <div class="md">{rendered(&l.intro_html)}</div>
            </details>
            <section class="lesson-steps">
                <h3>{"2 · Run it"}</h3>
                if p.predicted.is_none() {
                    <p class="muted" id="steps-locked">{"Pick a prediction first: the steps open once you have committed to one."}</p>
                } else {
                    <ol>
                        { for l.steps_html.iter().enumerate().map(|(i, h)| {
                            let dispatch = dispatch.clone();
                            let onchange = Callback::from(move |_| dispatch.dispatch(Action::Lesson(LessonAction::ToggleStep(i))));
                            html!{
                                <li class={classes!(p.done.contains(&i).then_some("done"))}>
                                    <input type="checkbox" id={format!("lesson-step-{i}")} checked={p.done.contains(&i)}
                                        aria-label={format!("step {} done", i + 1)} {onchange} />
                                    <div class="md">{rendered(h)}</div>
                                </li>
                            }
                        }) }
                    </ol>
                    <p class="lesson-actions">
                        <button class="primary" id="lesson-start" onclick={start_lesson}>{"Start this lesson's run"}</button>
                        <button class="small" onclick={reload}>{"Reset the lesson's experiment"}</button>
                    </p>
                }
            </section>
            <section class="lesson-look">
                <h3>{"3 · What to look for"}</h3>
                if p.revealed {
                    if let Some(i) = p.predicted {
                        <p class="verdict" id="lesson-verdict">{verdict(i)}</p>
                    }
                    <div class="md" id="lesson-look">{rendered(&l.look_for_html)}</div>
                } else {
                    <p class="muted">{"Opens when the run finishes."}</p>
                    <button class="small" id="lesson-reveal" onclick={reveal}>{"Show it now"}</button>
                }
            </section>
            <nav class="lesson-nav" aria-label="other lessons">
                if let Some(prev) = neighbour(-1) {
                    <a href={format!("#lesson={}", prev.meta.id)} onclick={open(prev.meta.id.clone())}>{format!("← {}", prev.meta.title)}</a>
                }
                if let Some(next) = neighbour(1) {
                    <a href={format!("#lesson={}", next.meta.id)} id="lesson-next" onclick={open(next.meta.id.clone())}>{format!("{} →", next.meta.title)}</a>
                }
                <button class="small" id="lesson-close" onclick={close}>{"Close the lesson"}</button>
            </nav>
        </aside>
    }
}

fn date_text(ms: f64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms));
    String::from(d.to_locale_string("en-GB", &JsValue::UNDEFINED))
}

fn file_stem(r: &RunRecord) -> String {
    r.name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Saved runs: the table (open, overlay, export, delete with a question first),
/// importing CLI run folders, sweep summaries and exported runs, and the overlay.
#[function_component(RunsPanel)]
fn runs_panel(props: &RunsProps) -> Html {
    let (run, saved, dispatch) = (&props.run, &props.saved, &props.dispatch);
    let on_import = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event2| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(list) = input.files() else { return };
            let files: Vec<web_sys::File> =
                (0..list.length()).filter_map(|i| list.get(i)).collect();
            input.set_value("");
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let mut out = Vec::new();
                for f in files {
                    let path = js_sys::Reflect::get(&f, &"webkitRelativePath".into())
                        .ok()
                        .and_then(|v| v.as_string())
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| f.name());
                    let bytes = match wasm_bindgen_futures::JsFuture::from(f.array_buffer()).await {
                        Ok(buf) => js_sys::Uint8Array::new(&buf).to_vec(),
                        Err(_) => continue,
                    };
                    out.push(ImportFile { path, bytes });
                }
                dispatch.dispatch(Action::Imported(import_files(out, 0.0), now_ms()));
            });
        })
    };
    let export = |r: &RunRecord, what: &'static str| {
        let r = r.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |_| {
            let r = r.clone();
            let dispatch = dispatch.clone();
            let stem = file_stem(&r);
            match what {
                "csv" => super::charts::download(&format!("{stem}.csv"), &r.curves_csv().into()),
                "config" => {
                    super::charts::download("config.json", &r.experiment.to_json_pretty().into())
                }
                _ => wasm_bindgen_futures::spawn_local(async move {
                    let checkpoint = match store::checkpoint(&r.id).await {
                        Ok(c) => c,
                        Err(e) => {
                            dispatch.dispatch(Action::Saved(SavedAction::StorageError(e)));
                            None
                        }
                    };
                    if what == "json" {
                        let mut full = r.clone();
                        full.checkpoint = checkpoint;
                        super::charts::download(&format!("{stem}.json"), &full.to_json().into());
                    } else if let Some(bytes) = checkpoint.and_then(|c| c.model_bytes().ok()) {
                        let array = js_sys::Uint8Array::from(bytes.as_slice());
                        super::charts::download("model.bin", &array.into());
                    }
                }),
            }
        })
    };
    let selected: Vec<&RunRecord> = saved
        .runs
        .iter()
        .filter(|r| saved.selected.contains(&r.id))
        .map(|r| r.as_ref())
        .collect();
    let figures = super::figures::overlay_figures(&selected);
    let busy = run.phase == Phase::Running && !run.detached;
    html! {
        <section class="runs" aria-label="saved runs">
            <h2>{"Saved runs"}</h2>
            <p class="muted small">{"Finished and paused runs are kept in this browser (IndexedDB), CPU runs with their checkpoint so a paused one resumes after a reload. Tick runs to overlay their curves."}</p>
            <div class="runs-tools">
                <label class="file">{"Import run files… "}
                    <input type="file" id="runs-import" multiple=true accept=".json,.jsonl,.bin" onchange={on_import.clone()} />
                </label>
                <label class="file">{"Import a run folder… "}
                    <input type="file" id="runs-import-folder" webkitdirectory=true onchange={on_import} />
                </label>
                <span class="muted small">{"icl-lab train / sweep output folders, summary.json, or runs exported here"}</span>
            </div>
            if let Some(e) = &saved.storage_error {
                <p class="notice error" role="alert" id="storage-error">{e}</p>
            }
            if !saved.import_notes.is_empty() {
                <ul class="import-notes" id="import-notes" role="status">
                    { for saved.import_notes.iter().map(|n| html!{ <li>{n}</li> }) }
                </ul>
            }
            if saved.runs.is_empty() {
                <p class="muted" id="runs-empty">{ if saved.loaded { "No saved runs yet: a run is saved when it pauses or finishes." } else { "Reading saved runs…" } }</p>
            } else {
                <div class="table-scroll">
                <table id="runs-table">
                    <thead><tr>
                        <th scope="col">{"overlay"}</th><th scope="col">{"run"}</th><th scope="col">{"from"}</th>
                        <th scope="col">{"status"}</th><th scope="col">{"step"}</th><th scope="col">{"saved"}</th><th scope="col">{"actions"}</th>
                    </tr></thead>
                    <tbody>
                    { for saved.runs.iter().map(|r| {
                        let id = r.id.clone();
                        let select = {
                            let dispatch = dispatch.clone();
                            let id = id.clone();
                            Callback::from(move |_| dispatch.dispatch(Action::Saved(SavedAction::Select(id.clone()))))
                        };
                        let open_run = {
                            let dispatch = dispatch.clone();
                            let id = id.clone();
                            Callback::from(move |_| dispatch.dispatch(Action::OpenRun(id.clone())))
                        };
                        let ask = {
                            let dispatch = dispatch.clone();
                            let id = id.clone();
                            Callback::from(move |_| dispatch.dispatch(Action::Saved(SavedAction::AskDelete(id.clone()))))
                        };
                        let confirm = {
                            let dispatch = dispatch.clone();
                            let id = id.clone();
                            Callback::from(move |_| dispatch.dispatch(Action::Saved(SavedAction::Delete(id.clone()))))
                        };
                        let cancel = {
                            let dispatch = dispatch.clone();
                            Callback::from(move |_| dispatch.dispatch(Action::Saved(SavedAction::CancelDelete)))
                        };
                        // The run training now is saved with each checkpoint as
                        // resumable: it says it is running.
                        let training = run.id.as_deref() == Some(r.id.as_str())
                            && !run.detached
                            && run.phase == Phase::Running;
                        let status = match r.status {
                            RunStatus::Finished => "finished",
                            RunStatus::Paused if training && r.resumable() => "running (resumable)",
                            RunStatus::Paused if r.resumable() => "paused (resumable)",
                            RunStatus::Paused | RunStatus::Stopped => "stopped",
                        };
                        let origin = match r.origin {
                            super::runs::Origin::Browser => "browser",
                            super::runs::Origin::Cli => "CLI",
                            super::runs::Origin::Sweep => "sweep",
                        };
                        let shown = run.id.as_deref() == Some(r.id.as_str());
                        html!{
                            <tr data-run-id={id.clone()} data-status={status} data-saved={(!saved.unsaved.contains_key(&id)).to_string()}
                                class={classes!(shown.then_some("shown"))}>
                                <td><input type="checkbox" class="run-select" checked={saved.selected.contains(&id)}
                                    aria-label={format!("overlay {}", r.name)} onchange={select} disabled={r.sweep.is_some()} /></td>
                                <td class="run-name">{r.name.clone()}</td>
                                <td>{origin}</td>
                                <td>{status}</td>
                                <td>{ if r.sweep.is_some() { format!("{} runs", r.history.len()) } else { format!("{} / {}", r.step, r.experiment.train.steps) } }</td>
                                <td class="small">{ if saved.unsaved.contains_key(&id) { "saving…".to_string() } else { date_text(r.saved_ms) } }</td>
                                <td class="run-actions">
                                    if saved.confirm_delete.as_deref() == Some(id.as_str()) {
                                        <span role="alertdialog" aria-label="confirm deletion" class="confirm">
                                            {format!("Delete “{}”? This cannot be undone. ", r.name)}
                                            <button class="small danger" data-action="confirm-delete" onclick={confirm}>{"Delete"}</button>
                                            <button class="small" data-action="cancel-delete" onclick={cancel}>{"Keep"}</button>
                                        </span>
                                    } else {
                                        <button class="small" data-action="open" onclick={open_run} disabled={busy && r.sweep.is_none()}
                                            title={if busy { "pause or reset the current run first" } else { "show this run" }}>{"Open"}</button>
                                        <button class="small" data-action="json" onclick={export(r, "json")} title="the run with its checkpoint, as JSON">{"JSON"}</button>
                                        <button class="small" data-action="csv" onclick={export(r, "csv")} title="every curve, one tidy CSV">{"CSV"}</button>
                                        if r.checkpoint_step.is_some() {
                                            <button class="small" data-action="model" onclick={export(r, "model")} title="the weights (burnpack), as icl-lab train writes them">{"model.bin"}</button>
                                            <button class="small" data-action="config" onclick={export(r, "config")} title="the experiment, for icl-lab eval --run">{"config.json"}</button>
                                        }
                                        <button class="small" data-action="delete" onclick={ask}>{"Delete"}</button>
                                    }
                                </td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
                </div>
            }
            { for figures.into_iter().map(|f| html!{ <FigureChart figure={Rc::new(f)} /> }) }
        </section>
    }
}

/// After a reload with nothing trained yet: the newest paused run, one click from
/// being shown (and Resume from going on).
#[function_component(ResumeOffer)]
fn resume_offer(props: &ResumeProps) -> Html {
    let (run, saved, dispatch) = (&props.run, &props.saved, &props.dispatch);
    if run.experiment.is_some() {
        return html! {};
    }
    let Some(r) = saved.runs.iter().find(|r| r.resumable()) else {
        return html! {};
    };
    let open = {
        let dispatch = dispatch.clone();
        let id = r.id.clone();
        Callback::from(move |_| dispatch.dispatch(Action::OpenRun(id.clone())))
    };
    html! {
        <p class="notice resume-offer" id="resume-offer">
            {format!("A paused run is saved: “{}”, step {} of {}. ", r.name, r.step, r.experiment.train.steps)}
            <button class="small" id="resume-open" onclick={open}>{"Open it"}</button>
            {" then Resume to go on."}
        </p>
    }
}
