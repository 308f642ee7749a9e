//! Browser tests (wasm-bindgen-test in headless Chromium, in a dedicated worker like
//! the lab's trainer): the worker protocol as the page and the worker exchange it,
//! and WebGPU against the CPU backend on the same inputs. Run by `scripts/test.sh`
//! through `scripts/test-web.sh`; natively this file is empty.
#![cfg(target_arch = "wasm32")]

use burn::tensor::Device;
use icl_lab::config::Experiment;
use icl_lab::eval::{EvalPlan, EvalSet, ModelPredictor, eval_prompts};
use icl_lab::presets;
use icl_lab::train::Trainer;
use icl_lab::web::protocol::{BackendChoice, Control, Event, Next, Phase, RunState};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Through JS values exactly as the page and the worker send them.
fn through_js<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    let js = v.serialize(&ser).expect("serialises");
    serde_wasm_bindgen::from_value(js).expect("deserialises")
}

#[wasm_bindgen_test]
fn controls_and_events_cross_the_worker_boundary_unchanged() {
    icl_lab::web::ensure_static_constructors();
    for p in presets::PRESETS {
        let c = Control::Start {
            experiment: Box::new((p.build)()),
            backend: BackendChoice::WebGpu,
            paused: true,
        };
        assert_eq!(through_js(&c), c, "{}", p.name);
    }
    for c in [
        Control::Pause,
        Control::Resume,
        Control::Step,
        Control::Reset,
    ] {
        assert_eq!(through_js(&c), c);
    }
    // A real evaluation report (maps of curves, NaN-free floats).
    let mut e = presets::preset("task-diversity").unwrap();
    e.eval.prompts = 8;
    let t = Trainer::new(&e, &Device::flex());
    let plan = EvalPlan::new(&e, &t.source).unwrap();
    let model = t.model();
    let predictor = ModelPredictor {
        model: &model,
        device: Device::flex(),
        encoding: e.task.encoding,
    };
    let preds: Vec<_> = plan
        .prompts()
        .map(|p| icl_lab::baselines::Predictor::predict_prompts(&predictor, p))
        .collect();
    let lens = plan.lens_batch().map(|b| predictor.predict_batch(b));
    let report = plan.report(0, &preds, &[], lens.as_deref());
    assert!(report.algorithms.as_ref().is_some_and(|a| a.has_weights()));
    let ev = Event::Eval(report);
    assert_eq!(through_js(&ev), ev);
    // Events go as JSON text: equal up to serde_json's float parsing (the last bit of
    // a 17-digit number may differ; the page shows 3 digits).
    let text = wasm_bindgen::JsValue::from_str(&serde_json::to_string(&ev).unwrap());
    let back: Event = serde_json::from_str(&text.as_string().unwrap()).unwrap();
    let (a, b) = (
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&ev).unwrap(),
    );
    assert!(close(&a, &b), "JSON round trip changed the event");
}

/// Same structure, and numbers equal to 1e-12 relative.
fn close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1e-300)
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[wasm_bindgen_test]
fn run_state_in_wasm_pauses_steps_and_resets() {
    let mut r = RunState::default();
    r.started(false);
    assert_eq!(r.apply(&Control::Pause, 3), Some(Event::Paused { step: 3 }));
    r.apply(&Control::Step, 3);
    assert_eq!(r.next(), Next::Step);
    r.stepped(false);
    assert_eq!(r.next(), Next::Wait);
    assert_eq!(r.apply(&Control::Reset, 4), Some(Event::Reset));
    assert_eq!(r.phase, Phase::Idle);
}

/// A model small enough for a software WebGPU adapter (SwiftShader) to step in seconds.
fn tiny() -> Experiment {
    let mut e = presets::preset("icl-in-a-minute").unwrap();
    e.task.dims = 3;
    e.task.points = 6;
    e.model.layers = 1;
    e.model.width = 16;
    e.train.batch = 8;
    e.eval.prompts = 16;
    e
}

async fn predictions(t: &Trainer, device: &Device, e: &Experiment) -> Vec<f64> {
    let prompts = eval_prompts(e, &t.source, EvalSet::Fresh, &e.x_dist);
    let model = t.model();
    let p = ModelPredictor {
        model: &model,
        device: device.clone(),
        encoding: e.task.encoding,
    };
    p.predict_prompts_async(&prompts).await.unwrap().concat()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Agreement required between WebGPU and the CPU: f32 kernels with different
/// summation orders differ by ~1e-6 relative; a shader that fails validation gives
/// zeros or garbage, off by O(1).
const TOLERANCE: f64 = 1e-3;

#[wasm_bindgen_test]
async fn webgpu_forward_and_one_training_step_match_the_cpu() {
    icl_lab::web::ensure_static_constructors();
    let e = tiny();
    let gpu = Device::wgpu_options()
        .init_async()
        .await
        .expect("a WebGPU adapter (Chromium needs --enable-unsafe-webgpu; see DEVELOPERS.md)");
    let cpu = Device::flex();
    let mut t_cpu = Trainer::new(&e, &cpu);
    let mut t_gpu = Trainer::new(&e, &gpu);

    let before_cpu = predictions(&t_cpu, &cpu, &e).await;
    let before_gpu = predictions(&t_gpu, &gpu, &e).await;
    let d0 = max_abs_diff(&before_cpu, &before_gpu);
    web_sys::console::log_1(&format!("forward: max |webgpu − cpu| = {d0:.2e}").into());
    assert!(
        before_cpu.iter().any(|v| v.abs() > 1e-3),
        "non-trivial predictions"
    );
    assert!(d0 < TOLERANCE, "forward differs by {d0}");

    let l_cpu: f32 = t_cpu.step().step_loss.into_scalar_async().await.unwrap();
    let l_gpu: f32 = t_gpu.step().step_loss.into_scalar_async().await.unwrap();
    web_sys::console::log_1(&format!("step 1 loss: cpu {l_cpu}, webgpu {l_gpu}").into());
    assert!(((l_cpu - l_gpu) as f64).abs() < TOLERANCE * l_cpu.abs().max(1.0) as f64);

    let after_cpu = predictions(&t_cpu, &cpu, &e).await;
    let after_gpu = predictions(&t_gpu, &gpu, &e).await;
    let d1 = max_abs_diff(&after_cpu, &after_gpu);
    web_sys::console::log_1(&format!("after one step: max |webgpu − cpu| = {d1:.2e}").into());
    assert!(
        max_abs_diff(&after_cpu, &before_cpu) > 1e-4,
        "the step changed the model"
    );
    assert!(d1 < TOLERANCE, "after one step the backends differ by {d1}");
}
