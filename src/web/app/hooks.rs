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

/// The trainer's worker (the one boot.js started, or a new one), its events turned
/// into actions; the controls the reducer queued sent to it in order; the bench
/// page's time-to-ICL run paused at its milestone.
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
