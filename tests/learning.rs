//! End-to-end: a small garg-tiny-like model really learns linear regression in
//! context, and training is deterministic for a seed on the CPU backend.

use burn::tensor::Device;
use icl_lab::config::Experiment;
use icl_lab::eval::evaluate;
use icl_lab::presets::preset;
use icl_lab::train::Trainer;

fn losses(exp: &Experiment, steps: usize) -> Vec<f32> {
    let mut t = Trainer::new(exp, &Device::flex());
    (0..steps)
        .filter_map(|_| t.step().loss.map(|l| l.into_scalar::<f32>()))
        .collect()
}

#[test]
fn same_seed_same_losses_on_cpu() {
    let mut e = preset("garg-tiny").unwrap();
    e.model.layers = 1;
    e.train.steps = 12;
    e.train.log_every = 1;
    let a = losses(&e, 12);
    let b = losses(&e, 12);
    assert_eq!(a.len(), 12);
    assert_eq!(a, b, "same seed must give bit-identical losses");
    e.seed = 1;
    assert_ne!(losses(&e, 12), a, "another seed must give other prompts");
}

/// `icl-in-a-minute` is garg-tiny's model (d = 5, 3 layers, 2 heads, width 64,
/// batch 64) on concatenated [x, y] tokens with 21 points. 500 steps: with GPT-2's
/// initialisation the preset's error at k = 20 is 0.107 at step 200 and 0.071 at
/// step 500 (measured), against the 0.2 asserted here.
#[test]
fn garg_tiny_like_model_learns_in_context() {
    let mut e = preset("icl-in-a-minute").unwrap();
    e.train.steps = 500;
    e.eval.prompts = 512;
    let dev = Device::flex();
    let mut t = Trainer::new(&e, &dev);
    t.run_to_end().unwrap();
    let (report, _) = evaluate(&e, &t.model(), &dev, &t.source, None, t.step).unwrap();
    let fresh = report.eval("fresh").unwrap();
    let k = *fresh.k.last().unwrap();
    assert!(k >= 2 * e.task.dims);
    let model = fresh.curves["model"].mean[k];
    let averaging = fresh.curves["averaging"].mean[k];
    let at_0 = fresh.curves["model"].mean[0];
    let at_d = fresh.curves["model"].mean[e.task.dims];
    eprintln!(
        "model: k=0 {at_0:.3}, k=d {at_d:.3}, k={k} {model:.4}; averaging at k={k} {averaging:.4}"
    );
    assert!(model < 0.2, "model error at k={k} is {model}");
    assert!(
        model < 0.5 * averaging,
        "model {model} vs averaging {averaging}"
    );
    // It learned from the context: with no examples it can only guess (≈ 1).
    assert!(at_0 > 0.7 && at_d < 0.5 * at_0, "k=0 {at_0}, k=d {at_d}");
}

/// Garg's own setting learns with the lab's defaults: `garg-tiny` (interleaved x / y
/// tokens, d = 5, 11 points, 3 layers, 2 heads, width 64, batch 64) reaches a
/// normalised error below 0.2 at the last position within its default step count,
/// as the independent PyTorch implementation does (0.227 at step 2000, 0.152 at
/// 3000). Evaluated every 250 steps; the test stops at the first pass.
#[test]
fn garg_tiny_learns_with_its_own_defaults() {
    let e = preset("garg-tiny").unwrap();
    let dev = Device::flex();
    let mut t = Trainer::new(&e, &dev);
    let mut seen = Vec::new();
    while !t.done() {
        t.step();
        if !t.step.is_multiple_of(250) && !t.done() {
            continue;
        }
        let (report, _) = evaluate(&e, &t.model(), &dev, &t.source, None, t.step).unwrap();
        let error = *report.eval("fresh").unwrap().curves["model"]
            .mean
            .last()
            .unwrap();
        seen.push((t.step, error));
        if error < 0.2 {
            break;
        }
    }
    eprintln!("garg-tiny, error at the last position by step: {seen:?}");
    let (step, error) = *seen.last().unwrap();
    assert!(
        error < 0.2,
        "after {step} steps (all of garg-tiny's) the error is still {error}: {seen:?}"
    );
}
