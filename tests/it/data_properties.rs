//! End-to-end on small configs: the data's properties decide what the model learns
//! (Chan/Reddy burstiness, Raventós task diversity). Each run takes seconds natively.

use burn::tensor::Device;
use icl_lab::config::Experiment;
use icl_lab::eval::{EvalReport, evaluate};
use icl_lab::metric::Metric;
use icl_lab::presets::preset;
use icl_lab::sweep::final_metrics;
use icl_lab::train::Trainer;

/// A metric by the key a sweep summary spells it with.
fn m(key: &str) -> Metric {
    key.parse().unwrap()
}

fn train(exp: &Experiment) -> EvalReport {
    let dev = Device::flex();
    let mut t = Trainer::new(exp, &dev);
    t.run_to_end().unwrap();
    evaluate(exp, &t.model(), &dev, &t.source, None, t.step)
        .unwrap()
        .0
}

/// Bursty sequences (p_bursty = 0.9) teach the model to read labels from the
/// context: far above chance on novel classes. Without bursts (p_bursty = 0) the
/// context never helps, the model memorises classes instead, and novel classes stay
/// at chance.
#[test]
fn burstiness_makes_icl_emerge() {
    let mut e = preset("zipf-coexistence").unwrap();
    e.train.steps = 600;
    e.train.eval_every = 0;
    e.eval.prompts = 400;
    let bursty = final_metrics(&train(&e));
    e.task.family = match e.task.family {
        icl_lab::tasks::TaskFamilyConfig::Classification(mut c) => {
            c.p_bursty = 0.0;
            icl_lab::tasks::TaskFamilyConfig::Classification(c)
        }
        _ => unreachable!(),
    };
    let flat = final_metrics(&train(&e));
    eprintln!("p_bursty 0.9: {bursty:?}\np_bursty 0: {flat:?}");
    let chance = 1.0 / 32.0;
    assert!(
        bursty[&m("icl")] > 10.0 * chance,
        "bursty ICL {}",
        bursty[&m("icl")]
    );
    assert!(
        flat[&m("icl")] < 3.0 * chance,
        "non-bursty ICL {}",
        flat[&m("icl")]
    );
    // What the non-bursty model learned instead: the classes, in its weights.
    assert!(
        flat[&m("in_weights")] > bursty[&m("in_weights")],
        "{flat:?}"
    );
}

/// Few pool tasks: the model behaves like dMMSE (the posterior over the pool) on
/// pool tasks and fails on fresh ones. Many: it tracks ridge on fresh tasks.
#[test]
fn task_diversity_moves_the_model_from_dmmse_to_ridge() {
    let mut e = preset("task-diversity-threshold").unwrap();
    e.train.steps = 1000;
    e.train.eval_every = 0;
    e.eval.prompts = 256;
    e.task.pool = Some(4);
    let small = final_metrics(&train(&e));
    e.task.pool = Some(4096);
    let large = final_metrics(&train(&e));
    eprintln!("M = 4: {small:?}\nM = 4096: {large:?}");
    // M = 4: like dMMSE on pool tasks, far worse than ridge on fresh ones.
    assert!(
        small[&m("pool_distance_dmmse")] < small[&m("pool_distance_ridge")],
        "{small:?}"
    );
    assert!(
        small[&m("fresh_error")] > 5.0 * small[&m("fresh_error_ridge")],
        "{small:?}"
    );
    // M = 4096: like ridge on fresh tasks, and near its error.
    assert!(
        large[&m("fresh_distance_ridge")] < large[&m("fresh_distance_dmmse")],
        "{large:?}"
    );
    assert!(
        large[&m("fresh_error")] < 0.5 * small[&m("fresh_error")],
        "{large:?} vs {small:?}"
    );
}
