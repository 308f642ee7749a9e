//! The Bayes-optimal predictor for a mixture of noise levels (Bai et al. 2023's
//! in-context algorithm selection): w ~ N(0, τ²I), σ drawn uniformly from a list
//! per prompt, y = w·x + σε. From the context it weighs each level by its marginal
//! likelihood, y ~ N(0, τ²XXᵀ + σ²I), and averages the ridge fits with λ = σ²/τ²
//! under those weights: the posterior mean of w. Where the levels are far apart no
//! single λ comes close to it; a model that does has selected the algorithm from
//! the prompt. Ridge with the prompt's own σ (`ridge`) is the oracle it approaches
//! as the context reveals the level.

use nalgebra::{DMatrix, DVector};

use super::{Context, Predictor, Ridge, linear_prediction};
use crate::prompt::Prompt;

pub struct BayesMixture {
    /// The noise levels σ, each a priori equally likely.
    pub levels: Vec<f64>,
    /// τ², the prior variance of each weight.
    pub prior_var: f64,
}

impl BayesMixture {
    /// The posterior probability of each level given the context (uniform with no
    /// examples).
    pub fn posterior(&self, c: &Context) -> Vec<f64> {
        let k = c.ys.len();
        let n = self.levels.len();
        if k == 0 || n == 0 {
            return vec![1.0 / n.max(1) as f64; n];
        }
        let gram = c.xs * c.xs.transpose() * self.prior_var; // [k, k]
        let log_lik: Vec<f64> = self
            .levels
            .iter()
            .map(|s| {
                // σ = 0 makes τ²XXᵀ singular once k > d: a little jitter keeps the
                // Cholesky factor, and the level's likelihood, finite.
                let cov = &gram + DMatrix::identity(k, k) * s.powi(2).max(1e-8);
                match cov.cholesky() {
                    Some(chol) => {
                        let alpha = chol.solve(&c.ys.clone_owned());
                        let log_det: f64 = chol.l().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
                        -0.5 * (c.ys.dot(&alpha) + log_det)
                    }
                    None => f64::NEG_INFINITY,
                }
            })
            .collect();
        let top = log_lik.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            return vec![1.0 / n as f64; n];
        }
        let w: Vec<f64> = log_lik.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = w.iter().sum();
        w.iter().map(|v| v / total).collect()
    }

    /// The posterior mean of w: the levels' ridge fits, weighted by the posterior.
    pub fn fit(&self, prompt: &Prompt, c: &Context) -> DVector<f64> {
        let post = self.posterior(c);
        let mut w = DVector::zeros(c.xs.ncols());
        for (s, p) in self.levels.iter().zip(post) {
            let ridge = Ridge {
                lambda: Some(s.powi(2) / self.prior_var.max(f64::MIN_POSITIVE)),
                prior_var: self.prior_var,
            };
            w += ridge.fit(prompt, c) * p;
        }
        w
    }
}

impl Predictor for BayesMixture {
    fn name(&self) -> String {
        "bayes_mixture".into()
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        linear_prediction(prompt, k, |c| self.fit(prompt, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::{curve, linear_prompts};

    /// Prompts of one noise level σ (labels re-drawn as w·x + σε).
    fn noisy(sigma: f64, count: usize, points: usize, dims: usize, seed: u64) -> Vec<Prompt> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = crate::IclRng::seed_from_u64(seed + 1000);
        linear_prompts(count, points, dims, seed)
            .into_iter()
            .map(|mut p| {
                for y in p.ys.iter_mut() {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    *y += sigma * e;
                }
                p.noise_std = sigma;
                p
            })
            .collect()
    }

    #[test]
    fn the_posterior_finds_the_level_that_made_the_context() {
        let mix = BayesMixture {
            levels: vec![0.1, 2.0],
            prior_var: 1.0,
        };
        for (sigma, which) in [(0.1, 0), (2.0, 1)] {
            let prompts = noisy(sigma, 40, 21, 4, 5);
            let right = prompts
                .iter()
                .filter(|p| mix.posterior(&Context::new(p, 20))[which] > 0.5)
                .count();
            assert!(right >= 36, "σ = {sigma}: {right} of 40");
        }
        // No examples: the prior.
        let p = &linear_prompts(1, 3, 4, 1)[0];
        assert_eq!(mix.posterior(&Context::new(p, 0)), vec![0.5, 0.5]);
    }

    /// One level: the mixture is that level's ridge.
    #[test]
    fn one_level_is_ridge() {
        let p = &noisy(0.5, 1, 9, 4, 2)[0];
        let mix = BayesMixture {
            levels: vec![0.5],
            prior_var: 1.0,
        };
        let ridge = Ridge {
            lambda: Some(0.25),
            prior_var: 1.0,
        };
        for k in 1..9 {
            assert!((mix.predict(p, k) - ridge.predict(p, k)).abs() < 1e-9);
        }
    }

    /// At each level the mixture is close to the oracle ridge that knows σ, and
    /// better than ridge with the mixture's one λ where that λ is wrong.
    #[test]
    fn it_tracks_the_oracle_at_each_level() {
        let levels = vec![0.1, 2.0];
        let mix = BayesMixture {
            levels: levels.clone(),
            prior_var: 1.0,
        };
        let oracle = Ridge {
            lambda: None,
            prior_var: 1.0,
        };
        let one = Ridge {
            lambda: Some((0.01 + 4.0) / 2.0),
            prior_var: 1.0,
        };
        for sigma in levels {
            let prompts = noisy(sigma, 400, 13, 4, 7);
            let (m, o, l) = (
                curve(&mix, &prompts),
                curve(&oracle, &prompts),
                curve(&one, &prompts),
            );
            // k = 8 = 2d: the level is known by then.
            assert!(
                m[8] <= o[8] * 1.1 + 1e-3,
                "σ {sigma}: mixture {} vs oracle {}",
                m[8],
                o[8]
            );
            if sigma < 1.0 {
                assert!(
                    l[8] > 2.0 * m[8],
                    "σ {sigma}: one λ {} vs mixture {}",
                    l[8],
                    m[8]
                );
            }
        }
    }
}
