//! Where a run's training batches come from. Each shape of data
//! ([`crate::tasks::Shape`]) samples its sequences from the training stream and
//! encodes them into the one [`Batch`] type; the trainer asks for a batch and
//! knows no shape. A new shape of data is one more implementation here and one arm
//! in [`training_data`].

use crate::IclRng;
use crate::batch::Batch;
use crate::config::Experiment;
use crate::prompt::{Encoding, PromptSampler};
use crate::seeds::class_world;
use crate::tasks::classification::{ClassEncoding, SequenceKind};
use crate::tasks::induction::{TokenEncoding, TokenSequence};
use crate::tasks::{ClassWorld, Shape, TaskFamily, TaskSource};
use crate::xdist::XDistribution;

/// A source of training batches.
pub trait TrainingData {
    /// `size` sequences with `points` points (pairs, or tokens) drawn from `rng`;
    /// regression prompts use the first `active` input dimensions and take their
    /// tasks from `source` (fresh or a finite pool).
    fn batch(
        &self,
        rng: &mut IclRng,
        source: &TaskSource,
        size: usize,
        points: usize,
        active: usize,
    ) -> Batch;
}

/// The training data of an experiment, by its family's shape.
pub fn training_data(exp: &Experiment) -> Box<dyn TrainingData> {
    match exp.task.family.shape() {
        Shape::Regression => Box::new(Regression {
            family: exp
                .task
                .family
                .family()
                .expect("a regression shape has a regression family"),
            x_dist: exp.x_dist.distribution(),
            encoding: exp.task.encoding,
            dims: exp.task.dims,
        }),
        Shape::Classification(_) => {
            let world = class_world(exp).expect("a classification shape has classes");
            Box::new(Classification {
                encoding: ClassEncoding {
                    dims: exp.task.dims,
                    labels: world.cfg.labels,
                },
                world,
            })
        }
        Shape::Tokens { vocab } => Box::new(Tokens {
            encoding: TokenEncoding { vocab },
            length: exp.task.points,
        }),
    }
}

/// Regression prompts (x_i, y_i) from a task family and an x-distribution.
struct Regression {
    family: Box<dyn TaskFamily>,
    x_dist: Box<dyn XDistribution>,
    encoding: Encoding,
    dims: usize,
}

impl TrainingData for Regression {
    fn batch(
        &self,
        rng: &mut IclRng,
        source: &TaskSource,
        size: usize,
        points: usize,
        active: usize,
    ) -> Batch {
        let sampler = PromptSampler {
            family: self.family.as_ref(),
            source,
            x_dist: self.x_dist.as_ref(),
            dims: self.dims,
            y_scale: 1.0,
            label_noise: 0.0,
        };
        self.encoding
            .encode(&sampler.sample_batch(size, points, active, rng))
    }
}

/// Chan/Reddy few-shot classification sequences over the run's classes.
struct Classification {
    world: ClassWorld,
    encoding: ClassEncoding,
}

impl TrainingData for Classification {
    fn batch(&self, rng: &mut IclRng, _: &TaskSource, size: usize, _: usize, _: usize) -> Batch {
        let seqs: Vec<_> = (0..size)
            .map(|_| self.world.sample(SequenceKind::Train, rng))
            .collect();
        self.encoding.encode(&seqs)
    }
}

/// Token sequences with copied windows (induction heads), `length` tokens each.
struct Tokens {
    encoding: TokenEncoding,
    length: usize,
}

impl TrainingData for Tokens {
    fn batch(&self, rng: &mut IclRng, _: &TaskSource, size: usize, _: usize, _: usize) -> Batch {
        let seqs: Vec<_> = (0..size)
            .map(|_| TokenSequence::sample(self.encoding.vocab, self.length, rng))
            .collect();
        self.encoding.encode(&seqs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Targets;
    use crate::seeds::{rng_for, streams, task_source};

    /// What the experiment says a sequence looks like (the model is built from it)
    /// is what each shape's batches are.
    #[test]
    fn every_shape_encodes_what_the_experiment_says() {
        for name in [
            "icl-in-a-minute",
            "garg-tiny",
            "task-diversity",
            "bursty-icl",
            "induction-phase-change",
        ] {
            let exp = crate::presets::preset(name).unwrap();
            let mut rng = rng_for(exp.seed, streams::TRAIN);
            let source = task_source(&exp);
            let b = training_data(&exp).batch(&mut rng, &source, 3, exp.task.points, exp.task.dims);
            assert_eq!(b.batch, 3, "{name}");
            assert_eq!(b.seq, exp.max_seq_len(), "{name}");
            assert_eq!(b.token_dim, exp.token_dim(), "{name}");
            assert_eq!(b.tokens.len(), 3 * b.seq * b.token_dim, "{name}");
            assert_eq!(b.mask.len(), b.seq * b.seq, "{name}");
            match (&b.targets, exp.task.family.shape()) {
                (Targets::Values(v), Shape::Regression) => {
                    assert_eq!(b.readout.len(), exp.task.points, "{name}");
                    assert_eq!(v.len(), 3 * exp.task.points, "{name}");
                }
                (Targets::Labels(l), Shape::Classification(c)) => {
                    assert_eq!(b.readout, [b.seq - 1], "{name}: read at the query");
                    assert!(l.len() == 3 && l.iter().all(|&l| l < c.labels), "{name}");
                }
                (Targets::Tokens(t), Shape::Tokens { vocab }) => {
                    assert_eq!(b.readout.len(), b.seq - 1, "{name}");
                    assert!(t.len() == 3 * (b.seq - 1) && t.iter().all(|&t| t < vocab));
                }
                (targets, shape) => panic!("{name}: {shape:?} gave {targets:?}"),
            }
        }
    }
}
