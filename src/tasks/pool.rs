//! Finite task pools (Raventós et al.'s task diversity): M tasks drawn once from a
//! family with their own seed; every prompt then picks one uniformly. M absent means
//! a fresh task for every prompt.

use rand::Rng;

use super::{Task, TaskFamily};
use crate::IclRng;

/// M tasks fixed for a whole run.
#[derive(Clone, Debug)]
pub struct TaskPool {
    pub tasks: Vec<Task>,
}

impl TaskPool {
    pub fn new(family: &dyn TaskFamily, dims: usize, size: usize, rng: &mut IclRng) -> Self {
        Self {
            tasks: (0..size).map(|_| family.sample(dims, rng)).collect(),
        }
    }
}

/// Where a prompt's task comes from.
#[derive(Clone, Debug)]
pub enum TaskSource {
    /// A fresh task for every prompt (M = ∞).
    Fresh,
    Pool(TaskPool),
}

impl TaskSource {
    /// Draws a task; also returns its pool index when it came from the pool.
    pub fn draw(
        &self,
        family: &dyn TaskFamily,
        dims: usize,
        rng: &mut IclRng,
    ) -> (Task, Option<usize>) {
        match self {
            TaskSource::Fresh => (family.sample(dims, rng), None),
            TaskSource::Pool(pool) => {
                let i = rng.random_range(0..pool.tasks.len());
                (pool.tasks[i].clone(), Some(i))
            }
        }
    }

    pub fn pool(&self) -> Option<&TaskPool> {
        match self {
            TaskSource::Fresh => None,
            TaskSource::Pool(p) => Some(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::LinearRegression;
    use rand::SeedableRng;

    #[test]
    fn pool_draws_are_uniform_over_m_fixed_tasks() {
        let mut rng = IclRng::seed_from_u64(5);
        let pool = TaskPool::new(&LinearRegression, 4, 8, &mut rng);
        let src = TaskSource::Pool(pool.clone());
        let mut counts = [0usize; 8];
        for _ in 0..8000 {
            let (task, i) = src.draw(&LinearRegression, 4, &mut rng);
            let i = i.unwrap();
            assert_eq!(task, pool.tasks[i]);
            counts[i] += 1;
        }
        // 1000 expected each, sd ≈ 30.
        for c in counts {
            assert!((880..1120).contains(&c), "{counts:?}");
        }
        // A fresh source never repeats a task.
        let (a, ia) = TaskSource::Fresh.draw(&LinearRegression, 4, &mut rng);
        let (b, _) = TaskSource::Fresh.draw(&LinearRegression, 4, &mut rng);
        assert!(ia.is_none());
        assert_ne!(a, b);
    }
}
