//! The training loop, read top to bottom.
//!
//! Each step: the curriculum sets the prompt size → a seeded Rust RNG draws a batch of
//! prompts (the same bytes on every backend) → forward → MSE over all positions →
//! backward → clip → Adam(W) step at the scheduled rate.
//!
//! Two engines run that step. On the CPU, the regression transformer trains on the
//! fused engine ([`crate::fused`]: the same function and gradients, written out by
//! hand, 4.9× faster on garg-tiny in criterion); every other model, and every GPU run, trains on burn's
//! autodiff. [`EngineKind::Burn`] forces burn (for comparisons). Outside the trainer
//! the engines look the same: [`Trainer::model`] is always a burn model.
//!
//! No clock, no files, no threads: the caller times steps, stores checkpoints and
//! reads the loss. Reads are rationed: [`Trainer::step`] hands back the loss tensor
//! only on logging steps, and the caller reads it (synchronously natively, with
//! `into_data_async` in the browser) and passes the value to [`Trainer::record_loss`],
//! which guards against divergence.

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};

use crate::IclRng;
use crate::checkpoint::{Checkpoint, CheckpointError, model_from_bytes, model_to_bytes};
use crate::config::{Experiment, OptimizerKind, Schedule};
use crate::data::{TrainingData, training_data};
use crate::fused::{Fused, FusedState};
use crate::model::{ModelInput, Transformer, init_model, is_cpu};
use crate::seeds::{rng_for, streams, task_source};
use crate::tasks::TaskSource;

/// Learning rate at `step` (0-based): linear warm-up, then constant or cosine decay to
/// 10 % of the peak.
pub fn learning_rate(exp: &Experiment, step: usize) -> f64 {
    let o = &exp.optim;
    if step < o.warmup_steps {
        return o.lr * (step + 1) as f64 / o.warmup_steps as f64;
    }
    match o.schedule {
        Schedule::Constant => o.lr,
        Schedule::Cosine => {
            let span = exp.train.steps.saturating_sub(o.warmup_steps).max(1) as f64;
            let t = ((step - o.warmup_steps) as f64 / span).min(1.0);
            let floor = 0.1 * o.lr;
            floor + (o.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
        }
    }
}

/// (active dimensions, points) at `step` under the curriculum.
pub fn curriculum(exp: &Experiment, step: usize) -> (usize, usize) {
    let (dims, points) = (exp.task.dims, exp.task.points);
    match &exp.curriculum {
        None => (dims, points),
        Some(c) => {
            // Saturating: a config read without validation cannot overflow here.
            let stage = step / c.every.max(1);
            let grow = |start: usize, by: usize, full: usize| {
                start.saturating_add(stage.saturating_mul(by)).min(full)
            };
            (
                grow(c.dims_start, c.dims_step, dims),
                grow(c.points_start, c.points_step, points),
            )
        }
    }
}

pub(crate) fn optimizer(exp: &Experiment) -> ModuleOptimizer {
    let o = &exp.optim;
    let clip = o.grad_clip.map(|c| GradientClippingConfig::Norm(c as f32));
    match o.kind {
        // burn's Adam adds λθ to the gradient (coupled): the L2 penalty λ/2·‖θ‖².
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(
                (o.weight_decay > 0.0).then(|| WeightDecayConfig::new(o.weight_decay as f32)),
            )
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::AdamW => AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(o.weight_decay as f32)
            .with_grad_clipping(clip)
            .init(),
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "training diverged at step {step}: the loss is {loss}. The model was restored to \
         step {restored_step}, the last step with a finite loss. Try a smaller optim.lr \
         (now {lr}), a longer optim.warmup_steps, or set optim.grad_clip."
    )]
    Diverged {
        step: usize,
        loss: f32,
        restored_step: usize,
        lr: f64,
    },
}

/// What one step reports.
pub struct StepOutcome {
    /// Number of steps done, this one included.
    pub step: usize,
    pub lr: f64,
    pub active_dims: usize,
    pub points: usize,
    /// The loss tensor [1], only on logging steps (every `train.log_every` and the last).
    pub loss: Option<Tensor<1>>,
    /// The loss tensor [1] of every step, for a caller that must wait for the step to
    /// finish (timing the first step on a GPU); reading it is a device round trip.
    pub step_loss: Tensor<1>,
}

/// Which engine trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// The fused engine where it applies (the regression transformer on the CPU),
    /// burn elsewhere.
    #[default]
    Auto,
    /// burn's autodiff on whatever device (the reference the fused engine is
    /// checked against).
    Burn,
}

/// The model and optimizer of one engine.
#[derive(Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per trainer: boxing the burn variant would save nothing that matters"
)]
enum Engine {
    /// burn: the model on the autodiff device and its optimizer.
    Burn {
        model: Transformer,
        optim: ModuleOptimizer,
    },
    /// The fused CPU engine: its state. The engine itself (buffers) is in
    /// [`Trainer::fused`].
    Fused(FusedState),
}

pub struct Trainer {
    pub exp: Experiment,
    engine: Engine,
    /// The fused engine's buffers and layout (with [`Engine::Fused`]).
    fused: Option<Box<Fused>>,
    /// The model's structure on the CPU (parameter ids, shapes): the fused engine's
    /// weights are written into copies of it.
    template: Transformer,
    device: Device,
    rng: IclRng,
    /// Where the training batches come from (the family's shape of data).
    data: Box<dyn TrainingData>,
    /// The regression task pool (`Fresh` when there is none, and for classification).
    pub source: TaskSource,
    /// Steps done.
    pub step: usize,
    /// Everything needed to go back to the last logged finite loss.
    last_good: Snapshot,
    /// The last few logged losses: a loss far above them (and above
    /// [`DIVERGENCE_FLOOR`]) is divergence too.
    recent: std::collections::VecDeque<f32>,
}

/// A logged loss more than this many times the median of the last
/// [`RECENT_LOSSES`] (once that many are known) is taken as divergence, as NaN and
/// ∞ are: an Adam spike is a few times the level, a blow-up many orders of
/// magnitude (a run once kept a "last good" checkpoint at 3.5e23).
pub const DIVERGENCE_FACTOR: f32 = 1e3;
/// ...and above this loss: the lab's losses start near 1 or above (squared error of
/// targets of unit scale or more, cross-entropy over labels or tokens), so a loss
/// below it is no blow-up however far it is above a recent level near 0 (a
/// memorised classification run's cross-entropy of 1e-4 jumped to 0.24 at step
/// 8875 of a 10000-step transience run and was taken for divergence).
pub const DIVERGENCE_FLOOR: f32 = 1.0;
/// Losses the divergence guard compares with.
pub const RECENT_LOSSES: usize = 8;

/// The trainer's state at a logged step with a finite loss: what a divergence
/// restores and what a checkpoint saves, taken together so they always agree.
#[derive(Clone)]
struct Snapshot {
    step: usize,
    engine: Engine,
    rng_position: u128,
}

impl Trainer {
    /// `device` is a plain device (`Device::flex()`, a wgpu device); autodiff is
    /// added here.
    pub fn new(exp: &Experiment, device: &Device) -> Self {
        Self::with_engine(exp, device, EngineKind::Auto)
    }

    /// Whether `kind` on `device` trains `exp` on the fused engine.
    pub fn uses_fused(exp: &Experiment, device: &Device, kind: EngineKind) -> bool {
        kind == EngineKind::Auto && is_cpu(device) && Fused::supports(exp)
    }

    pub fn with_engine(exp: &Experiment, device: &Device, kind: EngineKind) -> Self {
        let template = init_model(exp, &Device::flex());
        let fused = Self::uses_fused(exp, device, kind)
            .then(|| Box::new(Fused::from_model(exp, &template)));
        let device = device.clone().autodiff();
        let engine = match &fused {
            Some(f) => Engine::Fused(f.state.clone()),
            None => Engine::Burn {
                model: template.clone().fork(&device).train(),
                optim: optimizer(exp),
            },
        };
        let rng = rng_for(exp.seed, streams::TRAIN);
        Self {
            exp: exp.clone(),
            last_good: Snapshot {
                step: 0,
                engine: engine.clone(),
                rng_position: rng.get_word_pos(),
            },
            engine,
            fused,
            template,
            rng,
            recent: Default::default(),
            data: training_data(exp),
            source: task_source(exp),
            step: 0,
            device,
        }
    }

    pub fn done(&self) -> bool {
        self.step >= self.exp.train.steps
    }

    /// One optimizer step.
    pub fn step(&mut self) -> StepOutcome {
        let (active, points) = curriculum(&self.exp, self.step);
        let lr = learning_rate(&self.exp, self.step);

        // Prompts (or classification sequences) from the seeded Rust RNG.
        let batch_size = self.exp.train.batch;
        let batch = self
            .data
            .batch(&mut self.rng, &self.source, batch_size, points, active);
        if let (Engine::Fused(state), Some(fused)) = (&mut self.engine, &mut self.fused) {
            // The engine works on its own copy of the state; hand it back after.
            std::mem::swap(&mut fused.state, state);
            let loss = fused.step(&batch, lr);
            std::mem::swap(&mut fused.state, state);
            self.step += 1;
            let loss = Tensor::<1>::from_data([loss], &Device::flex());
            let log = self.step.is_multiple_of(self.exp.train.log_every) || self.done();
            return StepOutcome {
                step: self.step,
                lr,
                active_dims: active,
                points,
                loss: log.then(|| loss.clone()),
                step_loss: loss,
            };
        }
        let input = ModelInput::new(&batch, &self.device);

        // forward → loss [1] → backward → optimizer
        let Engine::Burn { model, optim } = &mut self.engine else {
            unreachable!("the fused engine trains regression only")
        };
        let loss = model.loss(&input);
        let grads = GradientsParams::from_grads(loss.backward(), model);
        *model = optim.step(lr, model.clone(), grads);
        self.step += 1;

        let log = self.step.is_multiple_of(self.exp.train.log_every) || self.done();
        StepOutcome {
            step: self.step,
            lr,
            active_dims: active,
            points,
            loss: log.then(|| loss.clone().detach()),
            step_loss: loss.detach(),
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            step: self.step,
            engine: self.engine.clone(),
            rng_position: self.rng.get_word_pos(),
        }
    }

    /// Trains to `train.steps`, reading every logged loss synchronously (natively,
    /// or on the CPU backend; the browser reads asynchronously step by step) so a
    /// non-finite loss stops the run as in [`Trainer::record_loss`].
    pub fn run_to_end(&mut self) -> Result<(), TrainError> {
        while !self.done() {
            if let Some(l) = self.step().loss {
                let l: f32 = l.into_scalar();
                self.record_loss(self.step, l)?;
            }
        }
        Ok(())
    }

    /// Records a loss read back from a logging step. A non-finite loss, or one
    /// [`DIVERGENCE_FACTOR`] times the recent level, restores the weights, the
    /// optimizer state (whose moments the bad step poisoned) and the prompt stream
    /// to the last logged good loss, and stops the run.
    pub fn record_loss(&mut self, step: usize, loss: f32) -> Result<(), TrainError> {
        let blown_up = self.recent.len() == RECENT_LOSSES && {
            let mut sorted: Vec<f32> = self.recent.iter().copied().collect();
            sorted.sort_by(f32::total_cmp);
            let level = sorted[RECENT_LOSSES / 2].abs().max(1e-6);
            loss > DIVERGENCE_FACTOR * level && loss > DIVERGENCE_FLOOR
        };
        if loss.is_finite() && !blown_up {
            if self.recent.len() == RECENT_LOSSES {
                self.recent.pop_front();
            }
            self.recent.push_back(loss);
            self.last_good = self.snapshot();
            Ok(())
        } else {
            let good = self.last_good.clone();
            let restored_step = good.step;
            self.engine = good.engine;
            self.rng.set_word_pos(good.rng_position);
            self.step = restored_step;
            Err(TrainError::Diverged {
                step,
                loss,
                restored_step,
                lr: self.exp.optim.lr,
            })
        }
    }

    /// Which engine trains this run.
    pub fn engine(&self) -> EngineKind {
        match self.engine {
            Engine::Fused(_) => EngineKind::Auto,
            Engine::Burn { .. } => EngineKind::Burn,
        }
    }

    /// The model of an engine's state, without autodiff.
    fn model_of(&self, engine: &Engine) -> Transformer {
        match engine {
            Engine::Burn { model, .. } => model.valid(),
            Engine::Fused(state) => {
                let fused = self.fused.as_ref().expect("the fused engine");
                fused.model_from(&state.params, &self.template, &Device::flex())
            }
        }
    }

    /// The current model without autodiff, for evaluation.
    pub fn model(&self) -> Transformer {
        self.model_of(&self.engine)
    }

    /// The last logged finite loss's step, prompt-stream position and model: the
    /// parts of a checkpoint a browser reads asynchronously from any backend (see
    /// `checkpoint::model_to_cpu_async`).
    pub fn checkpoint_model(&self) -> (usize, u128, Transformer) {
        let good = &self.last_good;
        (good.step, good.rng_position, self.model_of(&good.engine))
    }

    /// A checkpoint of the last logged finite loss: weights, optimizer state, step
    /// and prompt-stream position, all from the same step.
    pub fn checkpoint(&self) -> Result<Checkpoint, CheckpointError> {
        let good = &self.last_good;
        Ok(Checkpoint {
            step: good.step,
            rng_position: good.rng_position,
            model: model_to_bytes(self.model_of(&good.engine))?,
            optimizer: match &good.engine {
                Engine::Burn { optim, .. } => optim
                    .into_bytes()
                    .map(|b| b.to_vec())
                    .map_err(|e| CheckpointError::Read(e.to_string()))?,
                Engine::Fused(state) => Fused::optimizer_bytes(state),
            },
        })
    }

    /// Resumes from a checkpoint taken by [`Trainer::checkpoint`]. An empty
    /// `optimizer` keeps a fresh optimizer (Adam's moments start again): the browser
    /// resumes that way, because burn 0.22.1 materialises loaded optimizer state on
    /// `Device::default()`, which in wasm is an uninitialised WebGPU device.
    ///
    /// Each engine writes its own optimizer state. A CPU run resumed from burn's
    /// state (a checkpoint from before the fused engine, or from a GPU) continues on
    /// burn; the fused engine's state can only be resumed on the CPU.
    pub fn resume(&mut self, checkpoint: Checkpoint) -> Result<(), CheckpointError> {
        let model = model_from_bytes(&self.exp, checkpoint.model, &Device::flex())?;
        let fused_state = Fused::owns_optimizer_bytes(&checkpoint.optimizer);
        if fused_state && self.fused.is_none() {
            return Err(CheckpointError::Read(
                "the optimizer state was saved by the fused CPU engine: resume this run on the \
                 CPU backend"
                    .into(),
            ));
        }
        // The fused engine continues its own state or starts fresh moments; burn's
        // state continues on burn. A failed read leaves the trainer as it was.
        let use_fused = self.fused.is_some() && (fused_state || checkpoint.optimizer.is_empty());
        self.engine = if use_fused {
            let mut fresh = Fused::from_model(&self.exp, &model);
            if fused_state {
                fresh
                    .load_optimizer(&checkpoint.optimizer)
                    .map_err(CheckpointError::Read)?;
            }
            let state = fresh.state.clone();
            self.fused = Some(Box::new(fresh));
            Engine::Fused(state)
        } else {
            Engine::Burn {
                optim: if checkpoint.optimizer.is_empty() {
                    optimizer(&self.exp)
                } else {
                    optimizer(&self.exp)
                        .from_bytes(burn::tensor::Bytes::from_bytes_vec(checkpoint.optimizer))
                        .map_err(|e| CheckpointError::Read(format!("optimizer state: {e}")))?
                },
                model: model.fork(&self.device).train(),
            }
        };
        self.rng.set_word_pos(checkpoint.rng_position);
        self.step = checkpoint.step;
        self.last_good = self.snapshot();
        // The divergence guard's level is the resumed run's to set.
        self.recent.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CurriculumConfig;

    #[test]
    fn schedule_warms_up_then_decays_to_a_tenth() {
        let mut e = Experiment::default();
        e.train.steps = 1000;
        e.optim.warmup_steps = 100;
        e.optim.schedule = Schedule::Cosine;
        assert!((learning_rate(&e, 0) - 1e-5).abs() < 1e-12);
        assert!((learning_rate(&e, 99) - 1e-3).abs() < 1e-12);
        assert!((learning_rate(&e, 100) - 1e-3).abs() < 1e-12);
        assert!((learning_rate(&e, 1000) - 1e-4).abs() < 1e-12);
        e.optim.schedule = Schedule::Constant;
        assert_eq!(learning_rate(&e, 900), 1e-3);
    }

    #[test]
    fn curriculum_grows_to_the_task_size() {
        let mut e = Experiment::default();
        e.task.dims = 20;
        e.task.points = 41;
        e.curriculum = Some(CurriculumConfig::default());
        assert_eq!(curriculum(&e, 0), (5, 11));
        assert_eq!(curriculum(&e, 1999), (5, 11));
        assert_eq!(curriculum(&e, 2000), (6, 13));
        assert_eq!(curriculum(&e, 30_000), (20, 41));
        assert_eq!(curriculum(&e, 1_000_000), (20, 41));
        // A step no validation would pass still saturates at the task's size.
        let mut huge = e.clone();
        huge.curriculum = Some(CurriculumConfig {
            every: 2,
            points_start: 1,
            points_step: usize::MAX,
            ..CurriculumConfig::default()
        });
        assert_eq!(curriculum(&huge, 4), (7, 41));
        assert_eq!(curriculum(&huge, 1), (5, 1));
    }

    fn tiny() -> Experiment {
        let mut e = Experiment::default();
        e.model.layers = 1;
        e.model.width = 16;
        e.train.batch = 8;
        e.train.steps = 10;
        e.train.log_every = 1;
        e
    }

    fn read(t: &mut Trainer) -> f32 {
        let l: f32 = t.step().loss.unwrap().into_scalar();
        t.record_loss(t.step, l).unwrap();
        l
    }

    #[test]
    fn a_resumed_run_continues_exactly() {
        let e = tiny();
        let dev = Device::flex();
        let mut a = Trainer::new(&e, &dev);
        let full: Vec<f32> = (0..10).map(|_| read(&mut a)).collect();

        let mut b = Trainer::new(&e, &dev);
        let first: Vec<f32> = (0..5).map(|_| read(&mut b)).collect();
        assert_eq!(first, full[..5]);
        let checkpoint = b.checkpoint().unwrap();
        drop(b);

        let mut c = Trainer::new(&e, &dev);
        c.resume(checkpoint.clone()).unwrap();
        let rest: Vec<f32> = (0..5).map(|_| read(&mut c)).collect();
        assert_eq!(rest, full[5..], "resumed losses differ");

        // Without optimizer state (the browser's resume): same weights, step and
        // prompts, so the first loss is the same; Adam's fresh moments then differ.
        let mut d = Trainer::new(&e, &dev);
        d.resume(Checkpoint {
            optimizer: Vec::new(),
            ..checkpoint
        })
        .unwrap();
        assert_eq!(d.step, 5);
        let fresh: Vec<f32> = (0..5).map(|_| read(&mut d)).collect();
        assert_eq!(
            fresh[0], full[5],
            "the first step's loss is of the saved weights"
        );
        assert_ne!(fresh[1..], full[6..], "the optimizer started afresh");
    }

    #[test]
    fn a_checkpoint_from_burn_continues_on_burn_and_a_bad_fused_state_changes_nothing() {
        let e = tiny();
        let dev = Device::flex();
        let mut a = Trainer::with_engine(&e, &dev, EngineKind::Burn);
        let full: Vec<f32> = (0..6).map(|_| read(&mut a)).collect();
        let mut b = Trainer::with_engine(&e, &dev, EngineKind::Burn);
        for _ in 0..3 {
            read(&mut b);
        }
        let checkpoint = b.checkpoint().unwrap();
        let mut c = Trainer::new(&e, &dev);
        assert_eq!(
            c.engine(),
            EngineKind::Auto,
            "the CPU trains this model fused"
        );
        c.resume(checkpoint.clone()).unwrap();
        assert_eq!(
            c.engine(),
            EngineKind::Burn,
            "burn's optimizer state stays on burn"
        );
        let rest: Vec<f32> = (0..3).map(|_| read(&mut c)).collect();
        assert_eq!(rest, full[3..]);

        let mut d = Trainer::new(&e, &dev);
        let before = crate::checkpoint::model_to_bytes(d.model()).unwrap();
        let err = d
            .resume(Checkpoint {
                optimizer: b"ICLFUSE1 too short".to_vec(),
                ..checkpoint
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains("optimizer state"), "{err}");
        assert_eq!((d.engine(), d.step), (EngineKind::Auto, 0));
        assert_eq!(
            crate::checkpoint::model_to_bytes(d.model()).unwrap(),
            before
        );
    }

    #[test]
    fn a_non_finite_loss_restores_the_last_good_model() {
        let e = tiny();
        let dev = Device::flex();
        let mut t = Trainer::new(&e, &dev);
        read(&mut t);
        read(&mut t);
        let good = t.checkpoint().unwrap();
        t.step();
        let err = t.record_loss(3, f32::NAN).unwrap_err().to_string();
        assert!(err.contains("diverged at step 3"), "{err}");
        assert!(err.contains("restored to step 2"), "{err}");
        assert!(err.contains("optim.lr"), "{err}");
        assert_eq!(t.step, 2);
        assert_eq!(
            crate::checkpoint::model_to_bytes(t.model()).unwrap(),
            good.model
        );
        // Optimizer state and prompt stream went back too: the next step repeats
        // step 3 exactly as it first ran.
        let after = t.checkpoint().unwrap();
        assert_eq!(
            (after.optimizer, after.rng_position),
            (good.optimizer, good.rng_position)
        );
    }

    #[test]
    fn a_finite_loss_far_above_its_recent_level_is_divergence_too() {
        let e = tiny();
        let dev = Device::flex();
        let mut t = Trainer::new(&e, &dev);
        // Too few losses known: a large one is kept (the first steps set the level).
        t.step();
        t.record_loss(1, 3.5e23).unwrap();
        let mut t = Trainer::new(&e, &dev);
        for _ in 0..RECENT_LOSSES {
            read(&mut t);
        }
        let good = t.checkpoint().unwrap();
        // A spike of a few times the level is training, not divergence.
        t.step();
        t.record_loss(t.step, 5.0 * 2.0).unwrap();
        // Nor is a loss far above a level near 0 but below the floor (a memorised
        // classifier's cross-entropy jumping from 1e-4 to 0.24).
        let mut low = Trainer::new(&e, &dev);
        for _ in 0..RECENT_LOSSES {
            low.step();
            low.record_loss(low.step, 1e-4).unwrap();
        }
        low.step();
        low.record_loss(low.step, 0.24).unwrap();
        let kept = t.checkpoint().unwrap();
        t.step();
        let err = t.record_loss(t.step, 3.5e23).unwrap_err().to_string();
        assert!(
            err.contains(&format!("diverged at step {}", kept.step + 1)),
            "{err}"
        );
        assert!(
            err.contains(&format!("restored to step {}", kept.step)),
            "{err}"
        );
        assert_eq!(t.step, kept.step);
        assert_ne!(kept.step, good.step);
    }
}
