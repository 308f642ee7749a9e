//! Classical predictors, peers of the model: each answers the same question through
//! one trait, [`Predictor`]: given a prompt and a position k, predict y_k from the
//! first k pairs and the query x_k. One file per algorithm, dispatched by the serde
//! enum [`BaselineConfig`]. Linear algebra goes through nalgebra.

mod averaging;
mod bayes_mixture;
mod boosted_trees;
mod class_lookup;
mod context_nearest;
mod defaults;
mod dmmse;
mod gd_plus_plus;
mod gradient_descent;
mod greedy_tree;
mod knn;
mod lasso;
mod least_squares;
mod neural_net;
mod newton;
mod ridge;
mod zero;

pub use averaging::Averaging;
pub use bayes_mixture::BayesMixture;
pub use boosted_trees::BoostedTrees;
pub use class_lookup::ClassLookup;
pub use context_nearest::ContextNearest;
pub use defaults::defaults_for;
pub use dmmse::Dmmse;
pub use gd_plus_plus::{GdPlusPlus, gdpp_trajectory};
pub use gradient_descent::{GradientDescent, StepSize, gd_trajectory};
pub use greedy_tree::GreedyTree;
pub use knn::KNearest;
pub use lasso::Lasso;
pub use least_squares::LeastSquares;
pub(crate) use least_squares::min_norm_solve;
pub use neural_net::NeuralNet;
pub use newton::{Newton, newton_inverse, newton_trajectory};
pub use ridge::Ridge;
pub use zero::Zero;

use nalgebra::{DMatrixView, DVector, DVectorView};
use serde::{Deserialize, Serialize};

use crate::check::Checker;
use crate::prompt::Prompt;
use crate::tasks::TaskPool;

/// Anything that predicts in context: a baseline or the trained model.
pub trait Predictor {
    /// snake_case name used as the curve's key in `eval.json`.
    fn name(&self) -> String;

    /// Predicts y_k for the query x_k from the first k pairs of `prompt`.
    fn predict(&self, prompt: &Prompt, k: usize) -> f64;

    /// False for a predictor that never reads the context pairs (the zero
    /// predictor): its error at every k then estimates one and the same number, and
    /// its curve is that number pooled over k (`eval::baseline_curve`) instead of a
    /// line that wobbles with each position's sampling noise.
    fn reads_context(&self) -> bool {
        true
    }

    /// Predictions for every prompt and every k = 0 … points−1, [prompt][k]. The
    /// model overrides this to run one batched forward pass.
    fn predict_prompts(&self, prompts: &[Prompt]) -> Vec<Vec<f64>> {
        prompts
            .iter()
            .map(|p| (0..p.points()).map(|k| self.predict(p, k)).collect())
            .collect()
    }
}

/// A classical peer of the model on classification sequences: the query's label from
/// the whole sequence (context pairs and query).
pub trait SequenceClassifier {
    /// snake_case name used as the key in probe reports.
    fn name(&self) -> String;
    fn classify(&self, seq: &crate::tasks::classification::ClassSequence) -> usize;
}

/// The first k pairs and the query of position k.
pub struct Context<'a> {
    /// [k, d]
    pub xs: DMatrixView<'a, f64>,
    /// [k]
    pub ys: DVectorView<'a, f64>,
    /// [d]
    pub query: DVector<f64>,
}

impl<'a> Context<'a> {
    pub fn new(prompt: &'a Prompt, k: usize) -> Self {
        Self {
            xs: prompt.xs.rows(0, k),
            ys: prompt.ys.rows(0, k),
            query: prompt.query(k),
        }
    }
    pub fn k(&self) -> usize {
        self.xs.nrows()
    }
}

/// The prediction ŵ·x_k of an estimator that fits a weight vector to the first k
/// pairs; 0 when there are none.
pub(crate) fn linear_prediction(
    prompt: &Prompt,
    k: usize,
    fit: impl FnOnce(&Context) -> DVector<f64>,
) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let c = Context::new(prompt, k);
    fit(&c).dot(&c.query)
}

/// What a baseline may know besides the prompt.
#[derive(Clone, Copy, Default)]
pub struct BaselineContext<'a> {
    /// The training pool, for dMMSE.
    pub pool: Option<&'a TaskPool>,
    /// Prior variance τ² of each weight (w ~ N(0, τ² I)), for Bayes-optimal ridge.
    pub prior_var: f64,
}

/// Which baseline, with its parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BaselineConfig {
    /// Always 0: normalised error 1 on isotropic linear tasks.
    Zero,
    /// ŵ = (1/k) Σ y_i x_i (Garg's averaging estimator).
    Averaging,
    /// Mean label of the k nearest context inputs (Garg: 3-NN).
    KNearest {
        #[serde(default = "three")]
        k: usize,
    },
    /// Minimum-norm least squares, ŵ = X⁺y.
    LeastSquares,
    /// ŵ = (XᵀX + λI)⁻¹Xᵀy. `null` λ = σ²/τ² with the prompt's own σ: the Bayes
    /// posterior mean (an oracle that knows the noise level).
    Ridge {
        #[serde(default)]
        lambda: Option<f64>,
    },
    /// The Bayes-optimal predictor for a mixture of noise levels: each level σ
    /// weighed by its likelihood given the context, then ridge with λ = σ²/τ² (Bai
    /// et al.'s selection target).
    BayesMixture { noise: Vec<f64> },
    /// Posterior mean over the training pool (needs `task.pool`).
    Dmmse,
    /// ℓ1-regularised least squares, (1/2k)‖y − Xw‖² + α‖w‖₁ (scikit-learn's
    /// objective; Garg's α = 0.01).
    Lasso {
        #[serde(default = "lasso_alpha")]
        alpha: f64,
    },
    /// `steps` steps of gradient descent from w = 0 on ½‖y − Xw‖²/k; `null` lr =
    /// 1/λ_max(XᵀX/k), the largest stable step.
    GradientDescent {
        #[serde(default = "one")]
        steps: usize,
        #[serde(default)]
        lr: Option<f64>,
    },
    /// von Oswald's GD++: `steps` GD steps, each followed by the curvature correction
    /// x ← (I − γS)x; η = `lr_scale`/λ_max and γ = `gamma`/λ_max per step.
    GdPlusPlus {
        #[serde(default = "two")]
        steps: usize,
        #[serde(default = "unit")]
        lr_scale: f64,
        #[serde(default = "gdpp_gamma")]
        gamma: f64,
    },
    /// ŵ = M_t Xᵀy with M_t the t-th iterate of Newton–Schulz for (XᵀX)⁻¹ (Fu et al.).
    Newton {
        #[serde(default = "three")]
        iterations: usize,
    },
    /// A 2-layer ReLU network fit to the context by full-batch gradient descent.
    NeuralNet {
        #[serde(default = "nn_hidden")]
        hidden: usize,
        #[serde(default = "nn_steps")]
        steps: usize,
        #[serde(default = "nn_lr")]
        lr: f64,
    },
    /// A greedy regression tree (CART, squared error) fit to the context, `max_depth`
    /// splits deep (Garg: scikit-learn's tree at depth 4).
    GreedyTree {
        #[serde(default = "tree_depth")]
        max_depth: usize,
    },
    /// Gradient-boosted trees fit to the context, XGBoost's defaults (Garg's
    /// XGBoost baseline): 100 rounds of depth-6 trees, learning rate 0.3, λ = 1.
    BoostedTrees {
        #[serde(default = "boost_trees")]
        trees: usize,
        #[serde(default = "boost_depth")]
        max_depth: usize,
        #[serde(default = "boost_eta")]
        eta: f64,
        #[serde(default = "unit")]
        lambda: f64,
    },
}

fn one() -> usize {
    1
}
fn two() -> usize {
    2
}
fn unit() -> f64 {
    1.0
}
/// The middle of the lens's γ grid (0.1, 0.25, 0.5).
fn gdpp_gamma() -> f64 {
    0.25
}
fn three() -> usize {
    3
}
fn lasso_alpha() -> f64 {
    0.01
}
fn nn_hidden() -> usize {
    100
}
fn nn_steps() -> usize {
    200
}
fn nn_lr() -> f64 {
    0.05
}
/// Garg's greedy tree: depth 4, the depth of the trees the family draws.
fn tree_depth() -> usize {
    4
}
/// XGBoost's defaults: n_estimators 100, max_depth 6, eta 0.3.
fn boost_trees() -> usize {
    100
}
fn boost_depth() -> usize {
    6
}
fn boost_eta() -> f64 {
    0.3
}

impl BaselineConfig {
    /// Builds the predictor; fails when it needs something the run lacks.
    pub fn build(&self, ctx: &BaselineContext) -> Result<Box<dyn Predictor>, String> {
        Ok(match self {
            BaselineConfig::Zero => Box::new(Zero),
            BaselineConfig::Averaging => Box::new(Averaging),
            BaselineConfig::KNearest { k } => Box::new(KNearest { neighbours: *k }),
            BaselineConfig::LeastSquares => Box::new(LeastSquares),
            BaselineConfig::Ridge { lambda } => Box::new(Ridge {
                lambda: *lambda,
                prior_var: ctx.prior_var,
            }),
            BaselineConfig::BayesMixture { noise } => Box::new(BayesMixture {
                levels: noise.clone(),
                prior_var: ctx.prior_var,
            }),
            BaselineConfig::Dmmse => Box::new(Dmmse {
                pool: ctx
                    .pool
                    .ok_or("dmmse needs a finite task pool (set task.pool)")?
                    .clone(),
            }),
            BaselineConfig::Lasso { alpha } => Box::new(Lasso { alpha: *alpha }),
            BaselineConfig::GradientDescent { steps, lr } => Box::new(GradientDescent {
                steps: *steps,
                lr: *lr,
            }),
            BaselineConfig::GdPlusPlus {
                steps,
                lr_scale,
                gamma,
            } => Box::new(GdPlusPlus {
                steps: *steps,
                lr_scale: *lr_scale,
                gamma: *gamma,
            }),
            BaselineConfig::Newton { iterations } => Box::new(Newton {
                iterations: *iterations,
            }),
            BaselineConfig::GreedyTree { max_depth } => Box::new(GreedyTree {
                max_depth: *max_depth,
            }),
            BaselineConfig::BoostedTrees {
                trees,
                max_depth,
                eta,
                lambda,
            } => Box::new(BoostedTrees {
                trees: *trees,
                max_depth: *max_depth,
                eta: *eta,
                lambda: *lambda,
            }),
            BaselineConfig::NeuralNet { hidden, steps, lr } => Box::new(NeuralNet {
                hidden: *hidden,
                steps: *steps,
                lr: *lr,
            }),
        })
    }

    pub(crate) fn validate(&self, field: &str, c: &mut Checker) {
        match self {
            BaselineConfig::KNearest { k } => c.range_usize(&format!("{field}.k"), *k, 1, 1000),
            BaselineConfig::Ridge { lambda: Some(l) } => {
                c.range_f64(&format!("{field}.lambda"), *l, 0.0, 1e6)
            }
            BaselineConfig::Lasso { alpha } => {
                c.range_f64(&format!("{field}.alpha"), *alpha, 0.0, 1e3)
            }
            BaselineConfig::BayesMixture { noise } => {
                if noise.is_empty() || noise.len() > 16 {
                    c.fail(
                        &format!("{field}.noise"),
                        format!("{noise:?}"),
                        "a list of 1 to 16 noise levels",
                    );
                }
                for (i, s) in noise.iter().enumerate() {
                    c.range_f64(&format!("{field}.noise[{i}]"), *s, 0.0, 10.0);
                }
            }
            BaselineConfig::GradientDescent { steps, lr } => {
                c.range_usize(&format!("{field}.steps"), *steps, 1, 10_000);
                if let Some(lr) = lr {
                    c.range_f64(&format!("{field}.lr"), *lr, 1e-9, 100.0);
                }
            }
            BaselineConfig::GdPlusPlus {
                steps,
                lr_scale,
                gamma,
            } => {
                c.range_usize(&format!("{field}.steps"), *steps, 1, 1000);
                // 2/λ_max and more diverge; γ ≥ 1/λ_max flips the top direction.
                c.range_f64(&format!("{field}.lr_scale"), *lr_scale, 1e-6, 1.99);
                c.range_f64(&format!("{field}.gamma"), *gamma, 0.0, 0.99);
            }
            BaselineConfig::Newton { iterations } => {
                c.range_usize(&format!("{field}.iterations"), *iterations, 0, 100)
            }
            BaselineConfig::NeuralNet { hidden, steps, lr } => {
                c.range_usize(&format!("{field}.hidden"), *hidden, 1, 1024);
                c.range_usize(&format!("{field}.steps"), *steps, 1, 100_000);
                c.range_f64(&format!("{field}.lr"), *lr, 1e-9, 10.0);
            }
            BaselineConfig::GreedyTree { max_depth } => {
                c.range_usize(&format!("{field}.max_depth"), *max_depth, 0, 32)
            }
            BaselineConfig::BoostedTrees {
                trees,
                max_depth,
                eta,
                lambda,
            } => {
                c.range_usize(&format!("{field}.trees"), *trees, 1, 1000);
                c.range_usize(&format!("{field}.max_depth"), *max_depth, 0, 32);
                c.range_f64(&format!("{field}.eta"), *eta, 1e-6, 1.0);
                c.range_f64(&format!("{field}.lambda"), *lambda, 0.0, 1e6);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use nalgebra::{DMatrix, DVector};
    use rand::SeedableRng;

    use crate::IclRng;
    use crate::prompt::{Prompt, PromptSampler};
    use crate::tasks::{LinearRegression, TaskSource};
    use crate::xdist::Gaussian;

    /// `count` noiseless isotropic linear-regression prompts.
    pub fn linear_prompts(count: usize, points: usize, dims: usize, seed: u64) -> Vec<Prompt> {
        let mut rng = IclRng::seed_from_u64(seed);
        let sampler = PromptSampler {
            family: &LinearRegression,
            source: &TaskSource::Fresh,
            x_dist: &Gaussian,
            dims,
            y_scale: 1.0,
            label_noise: 0.0,
        };
        sampler.sample_batch(count, points, dims, &mut rng)
    }

    /// Mean normalised squared error at each k.
    pub fn curve(p: &dyn super::Predictor, prompts: &[Prompt]) -> Vec<f64> {
        let preds = p.predict_prompts(prompts);
        let n = prompts[0].points();
        let d = prompts[0].dims() as f64;
        (0..n)
            .map(|k| {
                prompts
                    .iter()
                    .zip(&preds)
                    .map(|(pr, pd)| (pd[k] - pr.target(k)).powi(2) / d)
                    .sum::<f64>()
                    / prompts.len() as f64
            })
            .collect()
    }

    pub fn prompt_from(xs: &[f64], ys: &[f64], dims: usize) -> Prompt {
        Prompt {
            xs: DMatrix::from_row_slice(ys.len(), dims, xs),
            ys: DVector::from_row_slice(ys),
            noise_std: 0.0,
            task_index: None,
            queries: None,
        }
    }
}
