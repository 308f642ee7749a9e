//! The page's effects as named hooks: what the App component does besides laying
//! out the page (storage, the trainer's worker, the URL, the keyboard).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use yew::prelude::*;

use super::{BOOT, StoreQueue, fetch_lessons, local_storage, location_hash, now_ms, send};
use crate::web::hash::to_hash;
use crate::web::lessons::PROGRESS_KEY;
use crate::web::link::TrainerLink;
use crate::web::protocol::{Control, Event, Phase};
use crate::web::state::{Action, AppState, LessonAction, SavedAction, StoreOp, is_icl_bench};
use crate::web::store;

/// The page's end of the trainer's worker, shared by the callbacks that send to it.
pub type WorkerSlot = Rc<RefCell<Option<TrainerLink>>>;

/// Saved runs and lessons read once (not in an embed or on the bench page); the
/// reader's lesson progress written to localStorage; the IndexedDB writes the
/// reducer queued, carried out in order, each once.
#[hook]
pub fn use_storage(state: &UseReducerHandle<AppState>) {
    // Saved runs and lessons, once (not in an embed or on the bench page).
    {
        let dispatch = state.dispatcher();
        let lab = state.embed.is_none() && state.bench.is_none();
        use_effect_with((), move |_| {
            if lab {
                let d = dispatch.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match store::load_runs().await {
                        Ok((runs, problems)) => {
                            d.dispatch(Action::Saved(SavedAction::Loaded(runs)));
                            if !problems.is_empty() {
                                d.dispatch(Action::Saved(SavedAction::StorageError(
                                    problems.join("; "),
                                )));
                            }
                        }
                        Err(e) => d.dispatch(Action::Saved(SavedAction::StorageError(e))),
                    }
                });
                wasm_bindgen_futures::spawn_local(async move {
                    let (lessons, errors) = fetch_lessons().await;
                    dispatch.dispatch(Action::Lesson(LessonAction::Loaded { lessons, errors }));
                });
            }
        });
    }

    // Lesson progress follows the reader into localStorage.
    {
        let progress = state.lessons.progress.clone();
        use_effect_with(progress, move |p| {
            if let (Some(st), Ok(text)) = (local_storage(), serde_json::to_string(p)) {
                let _ = st.set_item(PROGRESS_KEY, &text);
            }
        });
    }

    // IndexedDB operations the reducer queued, in order, each once.
    {
        let queue = use_mut_ref(StoreQueue::default);
        let dispatch = state.dispatcher();
        let ops = state.saved.store_ops.since(queue.borrow().next);
        use_effect_with(state.saved.store_ops.next_number(), move |_| {
            let start = {
                let mut q = queue.borrow_mut();
                for (n, op) in ops {
                    if n >= q.next {
                        q.next = n + 1;
                        q.pending.push_back((n, op));
                    }
                }
                !std::mem::replace(&mut q.busy, true)
            };
            if start {
                wasm_bindgen_futures::spawn_local(async move {
                    loop {
                        let op = queue.borrow_mut().pending.pop_front();
                        let Some((n, op)) = op else { break };
                        let result = match op.as_ref() {
                            StoreOp::Put { record, checkpoint } => {
                                store::put(record, checkpoint.as_deref()).await.map(|()| {
                                    dispatch.dispatch(Action::Saved(SavedAction::Confirmed {
                                        id: record.id.clone(),
                                        op: n,
                                    }))
                                })
                            }
                            StoreOp::Delete(id) => store::delete(id).await,
                        };
                        if let Err(e) = result {
                            dispatch.dispatch(Action::Saved(SavedAction::StorageError(e)));
                        }
                    }
                    queue.borrow_mut().busy = false;
                });
            }
        });
    }
}

/// How often the watchdog looks (page clock; a hidden tab's timers run slower).
const WATCHDOG_TICK_MS: i32 = 2_000;

/// The trainer's worker (the one boot.js started, or a new one), its events turned
/// into actions; the controls the reducer queued sent to it in order; the bench
/// page's time-to-ICL run paused at its milestone; the watchdog.
#[hook]
pub fn use_trainer(state: &UseReducerHandle<AppState>) -> WorkerSlot {
    let worker = use_mut_ref(|| None::<TrainerLink>);
    // The worker, once (the one boot.js started, or a new one); its events become
    // actions.
    {
        let dispatch = state.dispatcher();
        let worker = worker.clone();
        let backend = state.backend;
        use_effect_with((), move |_| {
            let link = match BOOT.with(|b| b.borrow_mut().take()) {
                Some(boot) => Ok(TrainerLink::adopt(boot, dispatch.clone())),
                None => TrainerLink::spawn(backend, dispatch.clone()),
            };
            match link {
                Ok(link) => *worker.borrow_mut() = Some(link),
                Err(message) => dispatch.dispatch(Action::Worker {
                    event: Event::Error { message },
                    now_ms: now_ms(),
                }),
            }
        });
    }

    // The watchdog's clock (see `AppState::watch`), and the worker stopped when the
    // page gives up on it: before the queued controls are sent, so a Restore the
    // same change queued goes to a new worker.
    {
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            let tick =
                Closure::<dyn FnMut()>::new(move || dispatch.dispatch(Action::Tick(now_ms())));
            if let Some(w) = web_sys::window() {
                let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
                    tick.as_ref().unchecked_ref(),
                    WATCHDOG_TICK_MS,
                );
            }
            tick.forget();
        });
        let worker = worker.clone();
        use_effect_with(state.worker_lost, move |lost| {
            if *lost > 0
                && let Some(link) = worker.borrow().as_ref()
            {
                link.lost();
            }
        });
    }

    // Controls the reducer queued (a sweep's next run, a cancel, ablated heads):
    // every one not sent yet, in order.
    {
        let worker = worker.clone();
        let sent = use_mut_ref(|| 0u64);
        let pending = state.outbox.since(*sent.borrow());
        use_effect_with(state.outbox.next_number(), move |_| {
            for (n, control) in pending {
                send(&worker, &control);
                *sent.borrow_mut() = n + 1;
            }
        });
    }

    {
        // A time-to-ICL run stops at its milestone.
        let worker = worker.clone();
        let stop = state.bench.is_some()
            && state.run.phase == Phase::Running
            && state.run.milestone.is_some()
            && is_icl_bench(&state.run);
        use_effect_with(stop, move |stop| {
            if *stop {
                send(&worker, &Control::Pause);
            }
        });
    }
    worker
}

/// Links opened or edited while the page is open, and the URL following the
/// controls.
#[hook]
pub fn use_url(state: &UseReducerHandle<AppState>) {
    // Links opened or edited while the page is open.
    {
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            let on_hash = Closure::<dyn FnMut()>::new(move || {
                dispatch.dispatch(Action::Hash(location_hash()))
            });
            if let Some(w) = web_sys::window() {
                let _ = w.add_event_listener_with_callback(
                    "hashchange",
                    on_hash.as_ref().unchecked_ref(),
                );
            }
            on_hash.forget();
        });
    }

    // The URL follows the controls (replaceState: no history entry per keystroke,
    // and no hashchange back into the page).
    {
        let hash = format!("#{}", to_hash(&state.hash_state()));
        use_effect_with(hash, move |hash| {
            if location_hash() != *hash
                && let Some(w) = web_sys::window()
                && let Ok(h) = w.history()
            {
                let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(hash));
            }
        });
    }
}

/// The keyboard shortcuts, listened to on the window; `handler` is the latest
/// render's.
#[hook]
pub fn use_keys(handler: Callback<KeyboardEvent>) {
    // Listened to on the window, so the keys work wherever the focus is; the
    // listener calls the handler of the latest render.
    let key_handler = use_mut_ref(Callback::<KeyboardEvent>::noop);
    *key_handler.borrow_mut() = handler;
    {
        let key_handler = key_handler.clone();
        use_effect_with((), move |_| {
            let on_key = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                let handler = key_handler.borrow().clone();
                handler.emit(e)
            });
            if let Some(w) = web_sys::window() {
                let _ =
                    w.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
            }
            on_key.forget();
        });
    }
}

/// An embed's turn to train ([`crate::web::turns`]): an autoplay figure starts when
/// it is on screen and no other figure of the page trains; a figure pauses when
/// another starts after it, and goes on when that one stops. Returns whether this
/// figure is waiting for another (the status line says so). Not in the lab page.
#[hook]
pub fn use_embed_turns(
    state: &UseReducerHandle<AppState>,
    start: Callback<bool>,
    control: Callback<Control>,
) -> bool {
    use crate::web::turns::{CHANNEL, TurnAction, TurnMessage, Turns};
    let embed = state.embed.is_some();
    let autoplay = state.embed.as_ref().is_some_and(|e| e.autoplay);
    let ready = state.worker_ready && state.can_start();
    let phase = state.run.phase;
    let waiting = use_state_eq(|| false);
    // The latest render's view of the run, read by the closures below.
    let latest = use_mut_ref(|| (Phase::Idle, false));
    *latest.borrow_mut() = (phase, ready);
    // This figure's side of the rule and the page's channel (none in an old browser).
    type Slot = Option<(Turns, Option<web_sys::BroadcastChannel>)>;
    let turns: Rc<RefCell<Slot>> = use_mut_ref(|| None);
    let on_screen = use_mut_ref(|| false);
    // The latest render's callbacks (those of the first would start a stale config).
    let callbacks = use_mut_ref(|| (Callback::<bool>::noop(), Callback::<Control>::noop()));
    *callbacks.borrow_mut() = (start, control);
    // Carries out what the rule says (with no borrow of `turns` held).
    let act = {
        let (turns, latest, waiting) = (turns.clone(), latest.clone(), waiting.clone());
        Rc::new(move |actions: Vec<TurnAction>| {
            for a in actions {
                let (start, control) = callbacks.borrow().clone();
                match a {
                    TurnAction::Go => {
                        if latest.borrow().0 == Phase::Paused {
                            control.emit(Control::Resume);
                        } else {
                            start.emit(false);
                        }
                    }
                    TurnAction::Yield => control.emit(Control::Pause),
                    TurnAction::Post(m) => {
                        if let Some((_, Some(channel))) = &*turns.borrow()
                            && let Ok(v) = serde_wasm_bindgen::to_value(&m)
                        {
                            let _ = channel.post_message(&v);
                        }
                    }
                }
            }
            if let Some((t, _)) = &*turns.borrow() {
                waiting.set(t.waits_for_another());
            }
        })
    };
    // The channel and the visibility observer, once.
    {
        let (turns, on_screen, latest, act) = (
            turns.clone(),
            on_screen.clone(),
            latest.clone(),
            act.clone(),
        );
        use_effect_with((), move |_| {
            if !embed {
                return;
            }
            // Without a channel (an old browser) the figure plays alone.
            let channel = web_sys::BroadcastChannel::new(CHANNEL).ok();
            let id = format!("{:x}", (js_sys::Math::random() * 1e15) as u64);
            let (t, hello) = Turns::new(id, autoplay);
            *turns.borrow_mut() = Some((t, channel.clone()));
            act(vec![TurnAction::Post(hello)]);
            if let Some(channel) = channel {
                let on_message = {
                    let (turns, act) = (turns.clone(), act.clone());
                    Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                        move |e: web_sys::MessageEvent| {
                            let Ok(m) = serde_wasm_bindgen::from_value::<TurnMessage>(e.data())
                            else {
                                return;
                            };
                            let out = match &mut *turns.borrow_mut() {
                                Some((t, _)) => t.received(m),
                                None => Vec::new(),
                            };
                            act(out);
                        },
                    )
                };
                channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                on_message.forget();
            }
            // On screen: any part of the figure in the reader's viewport (the
            // top-level page's, from inside the frame).
            let on_view = {
                let (turns, on_screen, latest, act) =
                    (turns.clone(), on_screen.clone(), latest, act);
                Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    let Some(entry) = entries
                        .iter()
                        .filter_map(|e| e.dyn_into::<web_sys::IntersectionObserverEntry>().ok())
                        .next_back()
                    else {
                        return;
                    };
                    *on_screen.borrow_mut() = entry.is_intersecting();
                    let visible = entry.is_intersecting() && latest.borrow().1;
                    let out = match &mut *turns.borrow_mut() {
                        Some((t, _)) => t.visible(visible),
                        None => Vec::new(),
                    };
                    act(out);
                })
            };
            match (
                web_sys::IntersectionObserver::new(on_view.as_ref().unchecked_ref()),
                web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.document_element()),
            ) {
                (Ok(observer), Some(root)) => observer.observe(&root),
                // No observer: counted as on screen.
                _ => *on_screen.borrow_mut() = true,
            }
            on_view.forget();
        });
    }
    // The worker became ready (or a field invalid): visibility counts only when a
    // run could start.
    {
        let (turns, on_screen, act) = (turns.clone(), on_screen.clone(), act.clone());
        use_effect_with(ready, move |ready| {
            let visible = *on_screen.borrow() && *ready;
            let out = match &mut *turns.borrow_mut() {
                Some((t, _)) => t.visible(visible),
                None => Vec::new(),
            };
            act(out);
        });
    }
    // This figure's run started or stopped, whatever started or stopped it.
    {
        let (turns, act) = (turns.clone(), act.clone());
        use_effect_with(phase, move |phase| {
            let out = match &mut *turns.borrow_mut() {
                Some((t, _)) if *phase == Phase::Running => t.started(js_sys::Date::now()),
                Some((t, _)) => t.stopped(),
                None => Vec::new(),
            };
            act(out);
        });
    }
    *waiting
}

/// Where the setting "pause while this tab is hidden" is kept ("1" or "0").
pub const PAUSE_HIDDEN_KEY: &str = "icl-lab.pause-when-hidden";

/// The tab's visibility, told to the reducer (which pauses a training run while
/// the tab is hidden when the reader's setting says so), and the setting written
/// to localStorage when it changes (it is read before the first render).
#[hook]
pub fn use_tab_visibility(state: &UseReducerHandle<AppState>) {
    let dispatch = state.dispatcher();
    use_effect_with((), move |_| {
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            let seen = doc.clone();
            let on_change = Closure::<dyn FnMut()>::new(move || {
                dispatch.dispatch(Action::TabHidden(seen.hidden()));
            });
            let _ = doc.add_event_listener_with_callback(
                "visibilitychange",
                on_change.as_ref().unchecked_ref(),
            );
            on_change.forget();
        }
    });
    use_effect_with(state.pause_when_hidden, |on| {
        if let Some(st) = local_storage() {
            let _ = st.set_item(PAUSE_HIDDEN_KEY, if *on { "1" } else { "0" });
        }
    });
}
