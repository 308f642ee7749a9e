//! The page's end of the trainer's Web Worker.
//!
//! The browser lab ships three wasm modules: the page (this code, with no burn), a
//! CPU-only trainer and a WebGPU trainer. `boot.js` starts the worker before the
//! page's module has loaded, so the trainer downloads in parallel with first paint;
//! `worker.js?backend=…` picks the trainer (see [`trainer_switch`]). A [`TrainerLink`]
//! adopts that worker, turns its events into [`Action`]s, and, when a run needs
//! WebGPU but the worker holds the CPU-only trainer, starts a WebGPU worker in its
//! place (a Start or Restore drops the current run anyway, so nothing is lost).
//! A worker that crashed (a panic, an uncaught error) or that the page gave up on
//! (it stopped answering: [`TrainerLink::lost`]) is replaced the same way at the
//! next Start or Restore; other controls to it are dropped.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};
use yew::prelude::*;

use super::app::now_ms;
use super::protocol::{BackendChoice, Control, Event, trainer_switch};
use super::state::{Action, AppState};

/// The worker `boot.js` started, with the events it sent before the page listened.
pub struct BootWorker {
    pub worker: Worker,
    /// Messages (JSON text) and errors (`{error: text}`) received before the page's
    /// handlers were installed, in order.
    pub early: js_sys::Array,
    pub backend: BackendChoice,
}

pub struct TrainerLink {
    worker: Worker,
    /// The backend in the worker's URL.
    started_with: BackendChoice,
    /// What its `Ready` said: `Some(true)` for the WebGPU trainer.
    loaded: Rc<Cell<Option<bool>>>,
    /// The worker crashed or stopped answering: the next run needs a new one.
    dead: Rc<Cell<bool>>,
    dispatch: UseReducerDispatcher<AppState>,
}

impl TrainerLink {
    /// Takes over the worker `boot.js` started, replaying what it already sent.
    pub fn adopt(boot: BootWorker, dispatch: UseReducerDispatcher<AppState>) -> Self {
        let link = Self {
            worker: boot.worker,
            started_with: boot.backend,
            loaded: Rc::default(),
            dead: Rc::default(),
            dispatch,
        };
        link.listen();
        for item in boot.early.iter() {
            match item.as_string() {
                Some(text) => link.on_message(&text),
                None => {
                    let error = js_sys::Reflect::get(&item, &"error".into())
                        .ok()
                        .and_then(|e| e.as_string())
                        .unwrap_or_default();
                    link.on_error(&error);
                }
            }
        }
        link
    }

    /// Starts a worker for `backend` (when `boot.js` did not, or to switch trainers).
    pub fn spawn(
        backend: BackendChoice,
        dispatch: UseReducerDispatcher<AppState>,
    ) -> Result<Self, String> {
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Module);
        let url = format!("./worker.js?backend={}", backend.name());
        let worker = Worker::new_with_options(&url, &opts)
            .map_err(|e| format!("this browser could not start the training worker: {e:?}"))?;
        let link = Self {
            worker,
            started_with: backend,
            loaded: Rc::default(),
            dead: Rc::default(),
            dispatch,
        };
        link.listen();
        Ok(link)
    }

    fn listen(&self) {
        let this = self.handlers();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            this.on_message(&e.data().as_string().unwrap_or_default())
        });
        self.worker
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let this = self.handlers();
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
                this.on_error(&e.message())
            });
        self.worker
            .set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }

    /// What the handlers need (the worker itself stays with the link).
    fn handlers(&self) -> Handlers {
        Handlers {
            loaded: self.loaded.clone(),
            dead: self.dead.clone(),
            dispatch: self.dispatch.clone(),
        }
    }

    fn on_message(&self, text: &str) {
        self.handlers().on_message(text)
    }

    fn on_error(&self, message: &str) {
        self.handlers().on_error(message)
    }

    /// Sends a control; a run that needs the WebGPU trainer, or comes after the worker
    /// died, gets a new worker first.
    pub fn send(&mut self, control: &Control) {
        let wanted = match control {
            Control::Start { backend, .. } | Control::Restore { backend, .. } => Some(*backend),
            _ => None,
        };
        if wanted.is_none() && self.dead.get() {
            return;
        }
        let replace = wanted.and_then(|wanted| {
            let switch = trainer_switch(self.loaded.get(), self.started_with, wanted);
            match switch {
                None if self.dead.get() => Some(self.started_with),
                switch => switch,
            }
        });
        if let Some(backend) = replace {
            match Self::spawn(backend, self.dispatch.clone()) {
                Ok(new) => {
                    self.worker.terminate();
                    *self = new;
                }
                Err(e) => self.handlers().on_error(&e),
            }
        }
        self.post(control);
    }

    /// The page gave up on the worker (it stopped answering): it is stopped, and the
    /// next run gets a new one.
    pub fn lost(&self) {
        self.dead.set(true);
        self.worker.terminate();
    }

    fn post(&self, control: &Control) {
        let ser = serde_wasm_bindgen::Serializer::json_compatible();
        match serde::Serialize::serialize(control, &ser) {
            Ok(v) => {
                let _ = self.worker.post_message(&v);
            }
            Err(e) => web_sys::console::error_1(&format!("control not serialisable: {e}").into()),
        }
    }
}

struct Handlers {
    loaded: Rc<Cell<Option<bool>>>,
    dead: Rc<Cell<bool>>,
    dispatch: UseReducerDispatcher<AppState>,
}

impl Handlers {
    /// Events travel as JSON text (see `worker::post`).
    fn on_message(&self, text: &str) {
        // A worker that crashed, lost its device or was given up on says nothing
        // more that counts (a panic after a lost device, a late answer).
        if self.dead.get() {
            return;
        }
        match serde_json::from_str::<Event>(text) {
            Ok(event) => {
                match &event {
                    Event::Ready { webgpu, .. } => self.loaded.set(Some(*webgpu)),
                    Event::Crashed { .. } | Event::DeviceLost { .. } => self.dead.set(true),
                    _ => {}
                }
                self.dispatch.dispatch(Action::Worker {
                    event,
                    now_ms: now_ms(),
                })
            }
            Err(err) => {
                web_sys::console::error_1(&format!("unreadable worker event: {err}").into())
            }
        }
    }

    /// An error the worker did not catch: after a panic (whose hook already said
    /// `Crashed`) or in its script; either way its trainer is gone.
    fn on_error(&self, message: &str) {
        let first = !self.dead.replace(true);
        if !first {
            return;
        }
        self.dispatch.dispatch(Action::Worker {
            event: Event::Crashed {
                message: format!("the training worker failed: {message}"),
            },
            now_ms: now_ms(),
        })
    }
}
