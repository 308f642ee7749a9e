//! The browser lab. The neutral parts (messages, the worker's run state machine, the
//! URL codec, the controls, the page's reducer, browser limits) compile everywhere
//! and are tested natively; the wasm parts (the worker runtime, the yew app, the
//! charts) only compile for `wasm32`. Nothing here trains: it drives the core.

pub mod chart_id;
pub mod chart_plan;
pub mod fields;
pub mod figures;
pub mod hash;
pub mod keys;
pub mod lessons;
pub mod limits;
pub mod protocol;
pub mod runs;
pub mod state;
pub mod turns;

// The page's module (`--features page`): the yew app, its charts, IndexedDB.
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub mod app;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub mod charts;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub mod link;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub mod store;
// The trainer's module (`--features trainer`, `webgpu` for the GPU): the worker.
#[cfg(all(target_arch = "wasm32", feature = "trainer"))]
pub mod worker;

/// Static constructors run once per wasm instance (page and worker alike).
///
/// cubecl registers its IR dialects with `inventory`, i.e. static constructors. When
/// nothing calls `__wasm_call_ctors`, wasm-ld treats the module as a command and wraps
/// *every* export so that it re-runs all constructors first: each call from JS into
/// the wasm (an event handler, a resumed future, a JS value handed over) cost ~0.3 s
/// of constructors here (measured with Chromium's profiler). An explicit call, made
/// once from wasm-bindgen's start hook, turns that wrapping off (see inventory's docs).
#[cfg(target_arch = "wasm32")]
mod ctors {
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }

    static ONCE: std::sync::Once = std::sync::Once::new();

    /// Runs the static constructors if they have not run yet. Called by the start
    /// hook below, and again (a no-op then) by the page's and the worker's entry
    /// points, which must not depend on the hook having run.
    pub fn ensure_static_constructors() {
        // SAFETY: runs once per instance, before anything reads the registrations.
        ONCE.call_once(|| unsafe { __wasm_call_ctors() });
    }

    #[wasm_bindgen::prelude::wasm_bindgen(start)]
    pub fn run_static_constructors_once() {
        ensure_static_constructors();
    }
}

#[cfg(target_arch = "wasm32")]
pub use ctors::ensure_static_constructors;
