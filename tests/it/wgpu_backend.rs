//! The wgpu backend against the CPU backend on the same inputs: a forward pass and
//! one training step must agree (burn can return wrong numbers silently when a shader
//! is rejected, so this is checked, not assumed). Needs a wgpu adapter; `.ci/run`
//! installs Mesa's software Vulkan driver (lavapipe) so one always exists there.
#![cfg(feature = "wgpu")]

use burn::tensor::{Device, DeviceKind};
use icl_lab::baselines::Predictor;
use icl_lab::eval::{EvalSet, eval_prompts};
use icl_lab::model::init_model;
use icl_lab::predict::ModelPredictor;
use icl_lab::presets::preset;
use icl_lab::seeds::task_source;
use icl_lab::train::Trainer;

fn max_rel_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs() / (1e-3 + x.abs().max(y.abs())))
        .fold(0.0, f64::max)
}

#[test]
fn wgpu_matches_cpu_forward_and_one_training_step() {
    let mut e = preset("garg-tiny").unwrap();
    e.model.layers = 2;
    e.train.batch = 16;
    e.train.log_every = 1;
    e.eval.prompts = 8;
    let cpu = Device::flex();
    let gpu = Device::wgpu(DeviceKind::DefaultDevice);
    let src = task_source(&e);
    let prompts = eval_prompts(&e, &src, EvalSet::Fresh, &e.x_dist);

    // Same seed → same initial weights on both backends → same predictions.
    let predict = |model: &icl_lab::model::Transformer, dev: &Device| {
        ModelPredictor {
            model,
            device: dev.clone(),
            encoding: e.task.encoding,
        }
        .predict_prompts(&prompts)
    };
    let on_cpu = predict(&init_model(&e, &cpu), &cpu);
    let on_gpu = predict(&init_model(&e, &gpu), &gpu);
    let forward_diff = max_rel_diff(&on_cpu, &on_gpu);
    eprintln!("forward: max relative difference {forward_diff:.2e}");
    assert!(forward_diff < 1e-3, "forward differs by {forward_diff}");

    // One training step on the same prompts.
    let mut t_cpu = Trainer::new(&e, &cpu);
    let mut t_gpu = Trainer::new(&e, &gpu);
    let l_cpu: f32 = t_cpu.step().loss.unwrap().into_scalar();
    let l_gpu: f32 = t_gpu.step().loss.unwrap().into_scalar();
    eprintln!("first loss: cpu {l_cpu}, wgpu {l_gpu}");
    assert!(
        (l_cpu - l_gpu).abs() <= 1e-3 * l_cpu.abs(),
        "{l_cpu} vs {l_gpu}"
    );
    let after_cpu = predict(&t_cpu.model(), &cpu);
    let after_gpu = predict(&t_gpu.model(), &gpu);
    let step_diff = max_rel_diff(&after_cpu, &after_gpu);
    eprintln!("after one step: max relative difference {step_diff:.2e}");
    // The step moved the model, and moved it the same way on both backends.
    assert!(max_rel_diff(&on_cpu, &after_cpu) > 1e-3);
    assert!(
        step_diff < 1e-2,
        "after one step the backends differ by {step_diff}"
    );
}
