//! dMMSE (Raventós et al.): the Bayes posterior mean when tasks come from a finite
//! pool {f_m}. Weights ∝ exp(−Σ_i (y_i − f_m(x_i))² / 2σ_m² − k log σ_m) with a
//! uniform prior over the pool; prediction Σ_m weight_m f_m(x_q). Works for any
//! family, not only linear ones.

use super::{Context, Predictor};
use crate::prompt::Prompt;
use crate::tasks::TaskPool;

pub struct Dmmse {
    pub pool: TaskPool,
}

/// Smallest noise variance used in the likelihood, so noiseless pools stay finite.
const MIN_VAR: f64 = 1e-4;

impl Dmmse {
    /// Posterior weights over the pool after the first k pairs.
    pub fn posterior(&self, prompt: &Prompt, k: usize) -> Vec<f64> {
        let c = Context::new(prompt, k);
        let logw: Vec<f64> = self
            .pool
            .tasks
            .iter()
            .map(|t| {
                let var = t.noise_std.powi(2).max(MIN_VAR);
                let sse: f64 = (0..k)
                    .map(|i| (c.ys[i] - t.eval(c.xs.row(i).transpose().as_view())).powi(2))
                    .sum();
                -sse / (2.0 * var) - 0.5 * k as f64 * var.ln()
            })
            .collect();
        let max = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = logw.iter().map(|l| (l - max).exp()).collect();
        let z: f64 = w.iter().sum();
        w.into_iter().map(|v| v / z).collect()
    }
}

impl Predictor for Dmmse {
    fn name(&self) -> String {
        "dmmse".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        let q = prompt.query(k);
        self.posterior(prompt, k)
            .iter()
            .zip(&self.pool.tasks)
            .map(|(w, t)| w * t.eval(q.as_view()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IclRng;
    use crate::prompt::PromptSampler;
    use crate::tasks::{NoisyLinearRegression, TaskFamily, TaskSource};
    use crate::xdist::Gaussian;
    use rand::SeedableRng;

    #[test]
    fn posterior_concentrates_on_the_true_pool_task() {
        let mut rng = IclRng::seed_from_u64(8);
        let fam = NoisyLinearRegression { levels: vec![0.5] };
        let pool = TaskPool::new(&fam as &dyn TaskFamily, 8, 32, &mut rng);
        let source = TaskSource::Pool(pool.clone());
        let sampler = PromptSampler {
            family: &fam,
            source: &source,
            x_dist: &Gaussian,
            dims: 8,
            y_scale: 1.0,
            label_noise: 0.0,
        };
        let d = Dmmse { pool };
        let mut mass = [0.0; 3];
        let trials = 50;
        for _ in 0..trials {
            let p = sampler.sample(17, 8, &mut rng);
            let truth = p.task_index.unwrap();
            for (slot, k) in [0usize, 4, 16].iter().enumerate() {
                mass[slot] += d.posterior(&p, *k)[truth] / trials as f64;
            }
        }
        // Uniform prior at k = 0, then the true task takes over.
        assert!((mass[0] - 1.0 / 32.0).abs() < 1e-12, "{mass:?}");
        assert!(mass[1] > mass[0] * 4.0, "{mass:?}");
        assert!(mass[2] > 0.95, "{mass:?}");
    }
}
