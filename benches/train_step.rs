//! Training steps per second for `garg-tiny` on the CPU backend (flex).
//!
//! Quote results as ratios against the reference in the same run: `forward_only`
//! (one evaluation forward pass of the same batch) and the `prompts_only` cost of
//! drawing and encoding the batch, so machine speed cancels out.

use burn::tensor::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use icl_lab::model::ModelInput;
use icl_lab::model::init_model;
use icl_lab::presets::preset;
use icl_lab::prompt::PromptSampler;
use icl_lab::seeds::{rng_for, streams, task_source};
use icl_lab::train::{EngineKind, Trainer};

/// The CLI's allocator, so the bench measures what `icl-lab train` runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn garg_tiny(c: &mut Criterion) {
    let mut exp = preset("garg-tiny").unwrap();
    exp.train.steps = usize::MAX / 2;
    exp.train.log_every = usize::MAX / 2;
    exp.optim.warmup_steps = 0;
    let dev = Device::flex();

    let mut group = c.benchmark_group("garg_tiny");
    group.sample_size(30);

    // The CPU's default engine (fused), then burn's autodiff on the same run: their
    // ratio is the fused engine's gain.
    let mut trainer = Trainer::new(&exp, &dev);
    assert_eq!(trainer.engine(), EngineKind::Auto, "garg-tiny trains fused");
    for _ in 0..5 {
        trainer.step();
    }
    group.bench_function("train_step", |b| b.iter(|| trainer.step()));
    let mut burn_trainer = Trainer::with_engine(&exp, &dev, EngineKind::Burn);
    for _ in 0..5 {
        burn_trainer.step();
    }
    group.bench_function("train_step_burn", |b| b.iter(|| burn_trainer.step()));

    let family = exp.task.family.family().expect("garg-tiny is regression");
    let x_dist = exp.x_dist.distribution();
    let source = task_source(&exp);
    let sampler = PromptSampler {
        family: family.as_ref(),
        source: &source,
        x_dist: x_dist.as_ref(),
        dims: exp.task.dims,
        y_scale: 1.0,
        label_noise: 0.0,
    };
    let mut rng = rng_for(0, streams::TRAIN);
    group.bench_function("prompts_only", |b| {
        b.iter(|| {
            let p = sampler.sample_batch(exp.train.batch, exp.task.points, exp.task.dims, &mut rng);
            exp.task.encoding.encode(&p)
        })
    });

    let model = init_model(&exp, &dev);
    let prompts = sampler.sample_batch(exp.train.batch, exp.task.points, exp.task.dims, &mut rng);
    let input = ModelInput::new(&exp.task.encoding.encode(&prompts), &dev);
    group.bench_function("forward_only", |b| {
        b.iter(|| model.forward(&input).predictions().into_data())
    });
    group.finish();
}

/// What the live algorithm lens costs, against one training step of the same run
/// (`icl-in-a-minute`, the default lesson): the algorithms' references (once per
/// run) and the model on the probe batch plus the match (every evaluation).
fn lens(c: &mut Criterion) {
    use icl_lab::eval::{EvalSet, LENS_STEPS, eval_prompts};
    use icl_lab::lens::algorithms::{LENS_PROMPTS, LensPlan, References};
    let mut exp = preset("icl-in-a-minute").unwrap();
    exp.train.steps = usize::MAX / 2;
    exp.train.log_every = usize::MAX / 2;
    let dev = Device::flex();
    let mut group = c.benchmark_group("lens");
    group.sample_size(10);
    let mut trainer = Trainer::new(&exp, &dev);
    group.bench_function("train_step", |b| b.iter(|| trainer.step()));
    let mut prompts = eval_prompts(&exp, &trainer.source, EvalSet::Fresh, &exp.x_dist);
    prompts.truncate(LENS_PROMPTS);
    group.bench_function("references_once_per_run", |b| {
        b.iter(|| References::new(&prompts, 1.0, &LENS_STEPS))
    });
    let plan = LensPlan::new(&prompts, exp.task.encoding, 1.0, &LENS_STEPS);
    let model = trainer.model();
    let predictor = icl_lab::predict::ModelPredictor {
        model: &model,
        device: dev.clone(),
        encoding: exp.task.encoding,
    };
    group.bench_function("per_evaluation", |b| {
        b.iter(|| {
            let probes = futures_lite::future::block_on(
                predictor.predict_batch(plan.probe_batch().expect("[x, y] tokens")),
            )
            .unwrap();
            let preds = icl_lab::baselines::Predictor::predict_prompts(&predictor, &prompts);
            plan.report(&preds, Some(&probes))
        })
    });
    group.finish();
}

/// What the mechanism lens costs on `induction-phase-change` (2 attention-only
/// layers, T = 32, 256 evaluation sequences), against one training step of the
/// same run: an evaluation (loss by position, every head's scores, attention
/// snapshots, OV copying scores) and the same with a head ablated (what a click
/// in the browser runs).
fn heads(c: &mut Criterion) {
    use icl_lab::ablation::{AblationMode, HeadAblation};
    use icl_lab::eval::evaluate;
    let mut exp = preset("induction-phase-change").unwrap();
    exp.train.steps = usize::MAX / 2;
    exp.train.log_every = usize::MAX / 2;
    let dev = Device::flex();
    let mut group = c.benchmark_group("heads");
    group.sample_size(10);
    let mut trainer = Trainer::new(&exp, &dev);
    group.bench_function("train_step", |b| b.iter(|| trainer.step()));
    let model = trainer.model();
    group.bench_function("per_evaluation", |b| {
        b.iter(|| evaluate(&exp, &model, &dev, &trainer.source, None, 0).unwrap())
    });
    let cut = model.ablated(&[HeadAblation {
        layer: 1,
        head: 0,
        mode: AblationMode::Mean,
    }]);
    group.bench_function("ablated_evaluation", |b| {
        b.iter(|| evaluate(&exp, &cut, &dev, &trainer.source, None, 0).unwrap())
    });
    group.finish();
}

criterion_group!(benches, garg_tiny, lens, heads);
criterion_main!(benches);
