//! Training steps per second for `garg-tiny` on the CPU backend (flex).
//!
//! Quote results as ratios against the reference in the same run: `forward_only`
//! (one evaluation forward pass of the same batch) and the `prompts_only` cost of
//! drawing and encoding the batch, so machine speed cancels out.

use burn::tensor::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use icl_lab::model::ModelInput;
use icl_lab::presets::preset;
use icl_lab::prompt::PromptSampler;
use icl_lab::train::{Trainer, init_model, rng_for, streams, task_source};

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

    let mut trainer = Trainer::new(&exp, &dev);
    for _ in 0..5 {
        trainer.step();
    }
    group.bench_function("train_step", |b| b.iter(|| trainer.step()));

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

criterion_group!(benches, garg_tiny);
criterion_main!(benches);
