//! What the one seed draws: independent random streams (training prompts, the task
//! pool, evaluation prompts), the task pool of a run and the classes of a
//! classification run. Training, evaluation and the probes all draw from here, so a
//! change to one stream (more evaluation prompts, say) never moves another.

use rand::SeedableRng;

use crate::IclRng;
use crate::config::Experiment;
use crate::tasks::{ClassWorld, TaskPool, TaskSource};

/// Independent random streams derived from the one seed, so that e.g. changing the
/// number of evaluation prompts never changes the training prompts.
pub mod streams {
    pub const TRAIN: u64 = 1;
    pub const POOL: u64 = 2;
    pub const EVAL: u64 = 3;
}

/// A seeded RNG for one stream.
pub fn rng_for(seed: u64, stream: u64) -> IclRng {
    let mut rng = IclRng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The task pool of an experiment (drawn from its own stream), or fresh tasks.
pub fn task_source(exp: &Experiment) -> TaskSource {
    match (exp.task.pool, exp.task.family.family()) {
        (Some(m), Some(family)) => {
            let mut rng = rng_for(exp.seed, streams::POOL);
            TaskSource::Pool(TaskPool::new(family.as_ref(), exp.task.dims, m, &mut rng))
        }
        _ => TaskSource::Fresh,
    }
}

/// The K classes of a classification experiment (drawn from the pool's stream: they
/// are its "task pool"); `None` for regression.
pub fn class_world(exp: &Experiment) -> Option<ClassWorld> {
    let crate::tasks::Shape::Classification(cfg) = exp.task.family.shape() else {
        return None;
    };
    let mut rng = rng_for(exp.seed, streams::POOL);
    Some(ClassWorld::new(
        cfg,
        exp.task.dims,
        exp.task.points,
        &mut rng,
    ))
}
