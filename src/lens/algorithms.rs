//! Which learning algorithm does the model run in context? (Akyürek 2022, von Oswald
//! 2023, Fu 2023.)
//!
//! Two measures, at every k, on the same evaluation prompts:
//! - the squared prediction difference between the model and each algorithm;
//! - the model's *implicit weights*: with the first k pairs as context, the model is
//!   queried at ±s·e_j for every input direction j, and the central difference
//!   (f(s e_j) − f(−s e_j)) / 2s is the j-th weight of the linear map it applies
//!   (exact for a model that is linear in the query, any offset cancels). Their cosine
//!   similarity to the weights of least squares, ridge, gradient descent (t steps,
//!   best step size) and iterative Newton (t iterations) says which one it matches.
//!
//! With [x, y] tokens (`task.encoding = concatenated`) the query token of position k
//! sees only the context before it, so one forward pass per probe direction gives the
//! implicit weights at every k at once. With Garg's interleaved tokens the query is
//! also context for later positions, so each k gets copies of its own in which only
//! x_k moves, read at k (see [`probe_batch`]): any causal model, recurrent included.

use std::collections::BTreeMap;

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::baselines::Context;
use crate::batch::Batch;
use crate::config::Encoding;
use crate::prompt::Prompt;

/// The linear algorithms the model is compared with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinearAlgorithm {
    LeastSquares,
    /// λ = σ²/τ² from the prompt's noise level (the Bayes posterior mean).
    Ridge {
        prior_var: f64,
    },
    /// `steps` steps from w = 0 with step size `lr_scale` / λ_max(XᵀX/k).
    GradientDescent {
        steps: usize,
        lr_scale: f64,
    },
    Newton {
        iterations: usize,
    },
    /// von Oswald's GD++: `steps` layers, each a GD step on the residuals (step
    /// size `lr_scale` / λ_max) and a curvature correction of every input,
    /// x ← (I − γS)x with S = XᵀX/k and γ = `gamma` / λ_max, the query's too.
    GdPlusPlus {
        steps: usize,
        lr_scale: f64,
        gamma: f64,
    },
}

impl LinearAlgorithm {
    /// The weights the algorithm fits to the first k pairs of `prompt`.
    pub fn weights(&self, prompt: &Prompt, k: usize) -> DVector<f64> {
        let t = match *self {
            LinearAlgorithm::GradientDescent { steps, .. }
            | LinearAlgorithm::GdPlusPlus { steps, .. } => steps,
            LinearAlgorithm::Newton { iterations } => iterations,
            _ => 1,
        };
        self.trajectory(prompt, k, &[t]).remove(0)
    }

    /// The weights after each step count in `ts`. GD, GD++ and Newton
    /// iterate, so their weights for every t come from one run (their own `steps` /
    /// `iterations` are ignored here); least squares and ridge repeat their one
    /// answer.
    pub fn trajectory(&self, prompt: &Prompt, k: usize, ts: &[usize]) -> Vec<DVector<f64>> {
        // One home for the maths: the baselines' own fits and trajectories.
        use crate::baselines::{self as b, StepSize};
        if k == 0 {
            return vec![DVector::zeros(prompt.dims()); ts.len()];
        }
        let c = Context::new(prompt, k);
        match *self {
            LinearAlgorithm::LeastSquares => vec![b::min_norm_solve(&c.xs, &c.ys); ts.len()],
            LinearAlgorithm::Ridge { prior_var } => {
                let ridge = b::Ridge {
                    lambda: None,
                    prior_var,
                };
                vec![ridge.fit(prompt, &c); ts.len()]
            }
            LinearAlgorithm::GradientDescent { lr_scale, .. } => {
                b::gd_trajectory(&c, StepSize::OfLambdaMax(lr_scale), ts)
            }
            LinearAlgorithm::Newton { .. } => {
                let s = c.xs.transpose() * c.xs;
                let xty = c.xs.transpose() * c.ys;
                b::newton_trajectory(&s, ts)
                    .into_iter()
                    .map(|m| m * &xty)
                    .collect()
            }
            LinearAlgorithm::GdPlusPlus {
                lr_scale, gamma, ..
            } => b::gdpp_trajectory(&c, lr_scale, gamma, ts),
        }
    }
}

/// Step sizes tried for gradient descent, as fractions of 1/λ_max (2 diverges).
pub const GD_STEPS: [f64; 5] = [0.25, 0.5, 1.0, 1.5, 1.9];

/// GD++'s curvature-correction sizes γ tried, as fractions of 1/λ_max (γ = 0 is
/// plain GD).
pub const GDPP_GAMMAS: [f64; 3] = [0.1, 0.25, 0.5];

/// Newton iterations compared at most: enough to reach least squares (cosine
/// 0.999) on the depth preset's skewed inputs, condition number 25 (measured by
/// `conditioning` below); more only cost d³ each.
pub const NEWTON_MAX_ITERATIONS: usize = 16;

/// GD++ depths compared: with one layer GD++ is GD (the correction comes after
/// the step).
pub const GDPP_STEPS: [usize; 3] = [2, 3, 4];

/// The probe inputs of [`implicit_weights`] for every prompt at once: copies of
/// each prompt with its query tokens set to ±`scale`·e_j. Sequence
/// `((block · 2d) + 2j + s)·P + b` is prompt b probed at +e_j (s = 0) or −e_j (s = 1).
/// With [x, y] tokens one block moves every query at once (a query token is read by
/// nothing after it), so one forward pass gives every implicit weight at every k.
/// With interleaved tokens x_k is also context for every later position, so block k
/// moves x_k alone and is read at k only: a causal model's prediction there does not
/// see what follows, whatever the later tokens hold. That is n times the sequences
/// ([`lens_prompts_for`] takes fewer prompts), and it works for every model kind,
/// recurrent ones included.
pub fn probe_batch(prompts: &[Prompt], encoding: Encoding, scale: f64) -> Result<Batch, String> {
    let (n, d) = match prompts.first() {
        Some(p) => (p.points(), p.dims()),
        None => return Err("implicit weights need at least one prompt".into()),
    };
    let blocks = probe_blocks(encoding, n);
    let copies: Vec<Prompt> = (0..blocks * 2 * d)
        .flat_map(|_| prompts.iter().cloned())
        .collect();
    let mut batch = encoding.encode(&copies);
    let t = batch.token_dim;
    for c in 0..copies.len() {
        let (block, dir) = (c / prompts.len() / (2 * d), c / prompts.len() % (2 * d));
        let (j, sign) = (dir / 2, if dir % 2 == 0 { 1.0 } else { -1.0 });
        let ks = if blocks == 1 { 0..n } else { block..block + 1 };
        for k in ks {
            // The query of position k, where k is read out: [x_k, 0] or x_k.
            let at = (c * batch.seq + batch.readout[k]) * t;
            for i in 0..d {
                batch.tokens[at + i] = if i == j { (sign * scale) as f32 } else { 0.0 };
            }
        }
    }
    Ok(batch)
}

/// Blocks of 2d probe copies per prompt: one, or one per position k with
/// interleaved tokens (see [`probe_batch`]).
fn probe_blocks(encoding: Encoding, points: usize) -> usize {
    if encoding.has_query_tokens() {
        1
    } else {
        points
    }
}

/// The implicit weights [prompt][k] from the model's predictions [sequence][k] on a
/// [`probe_batch`] of `prompts` prompts of dimension `d` (`per_k`: one block per k,
/// as interleaved tokens have).
pub fn weights_from_probes(
    predictions: &[Vec<f64>],
    prompts: usize,
    d: usize,
    scale: f64,
    per_k: bool,
) -> Vec<Vec<DVector<f64>>> {
    let n = predictions.first().map_or(0, Vec::len);
    // Row ((block·2d) + 2j)·prompts + b is prompt b's query moved to +scale·e_j, the
    // next block of prompts its copy at −scale·e_j: the central difference is the
    // weight on x_j.
    (0..prompts)
        .map(|b| {
            (0..n)
                .map(|k| {
                    let base = if per_k { k * 2 * d } else { 0 };
                    DVector::from_fn(d, |j, _| {
                        let plus = (base + 2 * j) * prompts + b;
                        let minus = (base + 2 * j + 1) * prompts + b;
                        (predictions[plus][k] - predictions[minus][k]) / (2.0 * scale)
                    })
                })
                .collect()
        })
        .collect()
}

/// The model's implicit weights, [prompt][k] → ŵ (k = 0 … n−1), by central
/// differences at ±`scale`·e_j. `predict` maps an encoded batch to its predictions
/// [sequence][k] (the model's forward pass; any function in tests).
pub fn implicit_weights<F>(
    prompts: &[Prompt],
    encoding: Encoding,
    scale: f64,
    mut predict: F,
) -> Result<Vec<Vec<DVector<f64>>>, String>
where
    F: FnMut(&Batch) -> Vec<Vec<f64>>,
{
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    let batch = probe_batch(prompts, encoding, scale)?;
    let d = prompts[0].dims();
    Ok(weights_from_probes(
        &predict(&batch),
        prompts.len(),
        d,
        scale,
        probe_blocks(encoding, prompts[0].points()) > 1,
    ))
}

fn cosine(a: &DVector<f64>, b: &DVector<f64>) -> Option<f64> {
    let (na, nb) = (a.norm(), b.norm());
    (na > 1e-12 && nb > 1e-12).then(|| a.dot(b) / (na * nb))
}

/// How closely the model matches each algorithm at each k ≥ 1 (index i is k = i + 1).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AlgorithmMatch {
    pub k: Vec<usize>,
    /// algorithm → mean cosine similarity of the implicit weights at each k (`None`
    /// where the model's weights are 0). Empty when the weights could not be
    /// recovered (interleaved tokens): then only predictions are compared.
    #[serde(default)]
    pub cosine: BTreeMap<String, Vec<Option<f64>>>,
    /// algorithm → mean (model − algorithm)²/d at each k.
    pub prediction_difference: BTreeMap<String, Vec<f64>>,
    /// The best-matching algorithm at each k: highest cosine, or smallest prediction
    /// difference without weights. (At k = 1 every algorithm's weights point along
    /// x_1, so the pick there means little.)
    pub best: Vec<String>,
    /// The best match's cosine (or prediction difference) at each k.
    #[serde(default)]
    pub best_score: Vec<f64>,
    /// Gradient descent's best step size at each k, as a fraction of 1/λ_max.
    pub gd_step: BTreeMap<String, Vec<f64>>,
}

impl AlgorithmMatch {
    /// Whether implicit weights were compared (else only predictions).
    pub fn has_weights(&self) -> bool {
        !self.cosine.is_empty()
    }

    /// An algorithm's mean cosine over k = 2 … n−1 (k = 1 is a tie for all).
    pub fn mean_cosine(&self, name: &str) -> Option<f64> {
        self.mean_from_k2(self.cosine.get(name)?.iter().copied())
    }

    /// An algorithm's mean prediction difference over k = 2 … n−1.
    pub fn mean_difference(&self, name: &str) -> Option<f64> {
        self.mean_from_k2(
            self.prediction_difference
                .get(name)?
                .iter()
                .map(|d| Some(*d)),
        )
    }

    /// The mean of the defined values at k ≥ 2 of a per-k series.
    fn mean_from_k2(&self, values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
        let v: Vec<f64> = values
            .zip(&self.k)
            .filter(|(_, k)| **k >= 2)
            .filter_map(|(v, _)| v)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// The member of a family (`gd_`, `newton_`) the model matches best over all
    /// k ≥ 2: highest mean cosine, or smallest mean prediction difference without
    /// weights. Members named in `skip` are left out.
    pub fn best_member(&self, prefix: &str, skip: &[&str]) -> Option<String> {
        let score = |name: &str| -> Option<f64> {
            if self.has_weights() {
                self.mean_cosine(name)
            } else {
                self.mean_difference(name).map(|d| -d)
            }
        };
        self.prediction_difference
            .keys()
            .filter(|n| n.starts_with(prefix) && !skip.contains(&n.as_str()))
            .filter_map(|n| Some((n.clone(), score(n)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, _)| n)
    }

    /// The t of [`AlgorithmMatch::best_member`] (`gd_4` → 4).
    pub fn best_count(&self, prefix: &str) -> Option<usize> {
        self.best_member(prefix, &[])?
            .strip_prefix(prefix)?
            .parse()
            .ok()
    }
}

/// The algorithms' weights and predictions on a fixed set of prompts, computed once
/// (they do not change while the model trains); [`References::compare`] then
/// matches any model's implicit weights and predictions against them.
pub struct References {
    n: usize,
    d: usize,
    /// (name, candidates): GD has one candidate per step size in [`GD_STEPS`], the
    /// best of which is kept at each k.
    families: Vec<(String, Vec<Candidate>)>,
}

struct Candidate {
    step: f64,
    /// [prompt][k] for k = 0 … n−1.
    weights: Vec<Vec<DVector<f64>>>,
    predictions: Vec<Vec<f64>>,
}

impl References {
    /// Least squares, ridge (λ = σ²/`prior_var` from each prompt's noise level), GD
    /// with t steps for every t in `steps` (ascending), Newton with t iterations for
    /// those up to [`NEWTON_MAX_ITERATIONS`],
    /// and GD++ with t layers for t in both `steps` and [`GDPP_STEPS`]. Each
    /// iterative algorithm runs once per prompt, k and step size, to the largest t.
    pub fn new(prompts: &[Prompt], prior_var: f64, steps: &[usize]) -> Self {
        let n = prompts.first().map_or(0, Prompt::points);
        let d = prompts.first().map_or(1, Prompt::dims);
        // [t][prompt][k] for each t in ts.
        let run = |alg: LinearAlgorithm, ts: &[usize]| {
            let mut out = vec![vec![Vec::with_capacity(n); prompts.len()]; ts.len()];
            for (b, p) in prompts.iter().enumerate() {
                for k in 0..n {
                    for (i, w) in alg.trajectory(p, k, ts).into_iter().enumerate() {
                        out[i][b].push(w);
                    }
                }
            }
            out
        };
        let candidate = |step: f64, weights: Vec<Vec<DVector<f64>>>| {
            let predictions = prompts
                .iter()
                .zip(&weights)
                .map(|(p, w)| (0..n).map(|k| w[k].dot(&p.query(k))).collect())
                .collect();
            Candidate {
                step,
                weights,
                predictions,
            }
        };
        let mut families: Vec<(String, Vec<Candidate>)> = vec![
            (
                "least_squares".into(),
                vec![candidate(
                    f64::NAN,
                    run(LinearAlgorithm::LeastSquares, &[1]).remove(0),
                )],
            ),
            (
                "ridge".into(),
                vec![candidate(
                    f64::NAN,
                    run(LinearAlgorithm::Ridge { prior_var }, &[1]).remove(0),
                )],
            ),
        ];
        let mut family =
            |name: String, c: Candidate| match families.iter_mut().find(|f| f.0 == name) {
                Some(f) => f.1.push(c),
                None => families.push((name, vec![c])),
            };
        for &s in &GD_STEPS {
            let gd = LinearAlgorithm::GradientDescent {
                steps: 0,
                lr_scale: s,
            };
            for (t, w) in steps.iter().zip(run(gd, steps)) {
                family(format!("gd_{t}"), candidate(s, w));
            }
        }
        let newton: Vec<usize> = steps
            .iter()
            .copied()
            .filter(|t| *t <= NEWTON_MAX_ITERATIONS)
            .collect();
        for (t, w) in newton
            .iter()
            .zip(run(LinearAlgorithm::Newton { iterations: 0 }, &newton))
        {
            family(format!("newton_{t}"), candidate(f64::NAN, w));
        }
        let pp: Vec<usize> = steps
            .iter()
            .copied()
            .filter(|t| GDPP_STEPS.contains(t))
            .collect();
        if !pp.is_empty() {
            for &s in &GD_STEPS {
                for &g in &GDPP_GAMMAS {
                    let alg = LinearAlgorithm::GdPlusPlus {
                        steps: 0,
                        lr_scale: s,
                        gamma: g,
                    };
                    for (t, w) in pp.iter().zip(run(alg, &pp)) {
                        family(format!("gdpp_{t}"), candidate(s, w));
                    }
                }
            }
        }
        Self { n, d, families }
    }

    /// Matches the model: its implicit weights [prompt][k] (if recovered) and its
    /// predictions [prompt][k] on the same prompts.
    pub fn compare(
        &self,
        model_weights: Option<&[Vec<DVector<f64>>]>,
        model_predictions: &[Vec<f64>],
    ) -> AlgorithmMatch {
        let ks: Vec<usize> = (1..self.n).collect();
        let mut cosines = BTreeMap::new();
        let mut diffs = BTreeMap::new();
        let mut gd_step = BTreeMap::new();
        let count = model_predictions.len().max(1) as f64;
        for (name, candidates) in &self.families {
            let mut cos_k = Vec::with_capacity(ks.len());
            let mut diff_k = Vec::with_capacity(ks.len());
            let mut step_k = Vec::with_capacity(ks.len());
            for &k in &ks {
                // (cosine, difference, step) of each candidate; keep the best.
                let scored = candidates.iter().map(|c| {
                    let diff = model_predictions
                        .iter()
                        .zip(&c.predictions)
                        .map(|(m, a)| (m[k] - a[k]).powi(2) / self.d as f64)
                        .sum::<f64>()
                        / count;
                    let cos = model_weights.and_then(|mw| {
                        let cs: Vec<f64> = mw
                            .iter()
                            .zip(&c.weights)
                            .filter_map(|(m, a)| cosine(&m[k], &a[k]))
                            .collect();
                        (!cs.is_empty()).then(|| cs.iter().sum::<f64>() / cs.len() as f64)
                    });
                    (cos, diff, c.step)
                });
                let best = scored
                    .reduce(|a, b| {
                        let better = match (a.0, b.0) {
                            // GD-1's step sizes all point the same way: equal
                            // cosines, so the closer predictions decide.
                            (Some(ca), Some(cb)) if (cb - ca).abs() <= 1e-9 => b.1 < a.1,
                            (Some(ca), Some(cb)) => cb > ca,
                            (None, Some(_)) => true,
                            (Some(_), None) => false,
                            (None, None) => b.1 < a.1,
                        };
                        if better { b } else { a }
                    })
                    .expect("every family has a candidate");
                cos_k.push(best.0);
                diff_k.push(best.1);
                step_k.push(best.2);
            }
            if name.starts_with("gd_") {
                gd_step.insert(name.clone(), step_k);
            }
            if model_weights.is_some() {
                cosines.insert(name.clone(), cos_k);
            }
            diffs.insert(name.clone(), diff_k);
        }
        let (best, best_score) = (0..ks.len())
            .map(|i| {
                if model_weights.is_some() {
                    cosines
                        .iter()
                        .filter_map(|(name, v)| v[i].map(|c| (name, c)))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|(name, c)| (name.clone(), c))
                        .unwrap_or((String::new(), f64::NAN))
                } else {
                    diffs
                        .iter()
                        .min_by(|a, b| a.1[i].total_cmp(&b.1[i]))
                        .map(|(name, v)| (name.clone(), v[i]))
                        .unwrap_or((String::new(), f64::NAN))
                }
            })
            .unzip();
        AlgorithmMatch {
            k: ks,
            cosine: cosines,
            prediction_difference: diffs,
            best,
            best_score,
            gd_step,
        }
    }
}

/// Compares the model's implicit weights and predictions with least squares, ridge,
/// GD with 1 … `max_steps` steps and Newton with 1 … `max_steps` iterations.
pub fn algorithm_match(
    prompts: &[Prompt],
    model_weights: &[Vec<DVector<f64>>],
    model_predictions: &[Vec<f64>],
    prior_var: f64,
    max_steps: usize,
) -> AlgorithmMatch {
    let steps: Vec<usize> = (1..=max_steps).collect();
    References::new(prompts, prior_var, &steps).compare(Some(model_weights), model_predictions)
}

/// Prompts the live lens looks at (from the fresh evaluation set) at most: enough
/// for mean cosines to settle (measured s.e. 0.003–0.016 over k on the default
/// lesson at step 600), few enough that the
/// probe batch (2d copies of each) costs a couple of training steps (measured: 1.75
/// steps of the default lesson, see the `lens` bench).
pub const LENS_PROMPTS: usize = 32;

/// The probe batch holds at most this many sequences: with large d the lens looks
/// at fewer prompts (down to 4) instead of costing 2d × 32 sequences an evaluation.
pub const LENS_SEQUENCES: usize = 640;

/// How many prompts the lens uses for inputs of dimension `dims`.
pub fn lens_prompts(dims: usize) -> usize {
    (LENS_SEQUENCES / (2 * dims.max(1))).clamp(4, LENS_PROMPTS)
}

/// How many prompts the lens uses for prompts of `points` points and `dims`
/// dimensions in `encoding`: interleaved tokens need a probe block per k, so fewer
/// prompts fill the same budget (down to 4).
pub fn lens_prompts_for(dims: usize, points: usize, encoding: Encoding) -> usize {
    let blocks = probe_blocks(encoding, points).max(1);
    (LENS_SEQUENCES / (2 * dims.max(1) * blocks)).clamp(4, LENS_PROMPTS)
}

/// The lens of a run, made once: its prompts (the first [`LENS_PROMPTS`] fresh
/// evaluation prompts, fewer with large d or interleaved tokens), the algorithms'
/// answers for them, and the probe batch.
pub struct LensPlan {
    prompts: usize,
    dims: usize,
    /// A probe block per k (interleaved tokens).
    per_k: bool,
    references: References,
    batch: Option<Batch>,
}

/// The probe scale: inputs are N(0, I), so ±1 along an axis is a typical query.
const PROBE_SCALE: f64 = 1.0;

impl LensPlan {
    pub fn new(prompts: &[Prompt], encoding: Encoding, prior_var: f64, steps: &[usize]) -> Self {
        let take = prompts
            .first()
            .map_or(0, |p| lens_prompts_for(p.dims(), p.points(), encoding));
        let prompts = &prompts[..prompts.len().min(take)];
        Self {
            prompts: prompts.len(),
            dims: prompts.first().map_or(1, Prompt::dims),
            per_k: prompts
                .first()
                .is_some_and(|p| probe_blocks(encoding, p.points()) > 1),
            references: References::new(prompts, prior_var, steps),
            batch: probe_batch(prompts, encoding, PROBE_SCALE).ok(),
        }
    }

    /// How many of the set's prompts (its first ones) the lens looks at.
    pub fn prompts(&self) -> usize {
        self.prompts
    }

    /// What the model must predict for the implicit weights, if they can be had.
    pub fn probe_batch(&self) -> Option<&Batch> {
        self.batch.as_ref()
    }

    /// The match, from the model's predictions on the evaluation set the lens
    /// prompts were taken from (their first rows are the lens prompts) and on the
    /// probe batch.
    pub fn report(
        &self,
        set_predictions: &[Vec<f64>],
        probes: Option<&[Vec<f64>]>,
    ) -> AlgorithmMatch {
        let weights = probes
            .map(|p| weights_from_probes(p, self.prompts, self.dims, PROBE_SCALE, self.per_k));
        self.references
            .compare(weights.as_deref(), &set_predictions[..self.prompts])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::linear_prompts;

    /// The lens's algorithms and the baselines are two views of the same maths: the
    /// implicit weights the lens compares the model with predict, at the query, what
    /// the baseline of the same name predicts, at every k.
    #[test]
    fn the_lens_and_the_baselines_agree() {
        use crate::baselines::{self as b, Predictor};
        let mut prompts = linear_prompts(4, 10, 4, 31);
        for (i, p) in prompts.iter_mut().enumerate() {
            p.noise_std = 0.25 * i as f64; // ridge's λ follows it; 0 is least squares
            p.ys += nalgebra::DVector::from_fn(10, |r, _| 0.1 * (r as f64 * 1.7).sin());
        }
        let pairs: Vec<(LinearAlgorithm, Box<dyn Predictor>)> = vec![
            (LinearAlgorithm::LeastSquares, Box::new(b::LeastSquares)),
            (
                LinearAlgorithm::Ridge { prior_var: 0.5 },
                Box::new(b::Ridge {
                    lambda: None,
                    prior_var: 0.5,
                }),
            ),
            (
                LinearAlgorithm::GradientDescent {
                    steps: 3,
                    lr_scale: 1.0,
                },
                Box::new(b::GradientDescent { steps: 3, lr: None }),
            ),
            (
                LinearAlgorithm::Newton { iterations: 4 },
                Box::new(b::Newton { iterations: 4 }),
            ),
            (
                LinearAlgorithm::GdPlusPlus {
                    steps: 3,
                    lr_scale: 0.9,
                    gamma: 0.25,
                },
                Box::new(b::GdPlusPlus {
                    steps: 3,
                    lr_scale: 0.9,
                    gamma: 0.25,
                }),
            ),
        ];
        for (alg, baseline) in &pairs {
            for p in &prompts {
                for k in 0..p.points() {
                    let lens = alg.weights(p, k).dot(&p.query(k));
                    let base = baseline.predict(p, k);
                    assert!(
                        (lens - base).abs() <= 1e-9 * (1.0 + base.abs()),
                        "{alg:?} at k = {k}: lens {lens}, baseline {base}"
                    );
                }
            }
        }
        // A trajectory holds each step count's weights, in the order asked.
        let c = Context::new(&prompts[1], 7);
        let gd = LinearAlgorithm::GradientDescent {
            steps: 0,
            lr_scale: 0.5,
        };
        let t = gd.trajectory(&prompts[1], 7, &[5, 0, 2]);
        let want = b::gd_trajectory(&c, b::StepSize::OfLambdaMax(0.5), &[2, 5]);
        assert_eq!(t[0], want[1]);
        assert_eq!(t[1], nalgebra::DVector::zeros(4));
        assert_eq!(t[2], want[0]);
    }

    /// A "model" that runs one GD step with rate η on the context it sees, read
    /// from the tokens (plus an offset the central difference must cancel).
    fn one_step_gd(eta: f64) -> impl FnMut(&Batch) -> Vec<Vec<f64>> {
        move |batch: &Batch| {
            let n = batch.seq / 2;
            let t = batch.token_dim;
            let d = t - 1;
            (0..batch.batch)
                .map(|b| {
                    let tok =
                        |pos: usize, i: usize| batch.tokens[(b * batch.seq + pos) * t + i] as f64;
                    (0..n)
                        .map(|k| {
                            let mut w = DVector::zeros(d);
                            for i in 0..k {
                                let x = DVector::from_fn(d, |j, _| tok(i, j));
                                w += x * tok(i, d);
                            }
                            if k > 0 {
                                w *= eta / k as f64;
                            }
                            let q = DVector::from_fn(d, |j, _| tok(n + k, j));
                            w.dot(&q) + 0.7
                        })
                        .collect()
                })
                .collect()
        }
    }

    #[test]
    fn implicit_weights_recover_the_map_of_a_model_linear_in_its_query() {
        let prompts = linear_prompts(5, 8, 4, 1);
        let w = implicit_weights(&prompts, Encoding::Concatenated, 1.0, one_step_gd(0.3)).unwrap();
        for (p, w) in prompts.iter().zip(&w) {
            for (k, got) in w.iter().enumerate().skip(1) {
                let mut want = DVector::zeros(4);
                for i in 0..k {
                    want += p.xs.row(i).transpose() * p.ys[i];
                }
                want *= 0.3 / k as f64;
                // f32 tokens: agreement to float precision.
                assert!((got - &want).amax() < 1e-5, "{got} vs {want}");
            }
            assert!(w[0].amax() < 1e-6, "no context, no weights");
        }
        // Interleaved tokens: a block of probes per k, read at k. A causal "model"
        // reading x_0, y_0 … x_k (and nothing after) gives the same weights.
        let interleaved = |batch: &Batch| -> Vec<Vec<f64>> {
            let (t, n) = (batch.token_dim, batch.seq / 2);
            (0..batch.tokens.len() / (batch.seq * t))
                .map(|b| {
                    let tok = |pos: usize, i: usize| batch.tokens[(b * batch.seq + pos) * t + i];
                    (0..n)
                        .map(|k| {
                            let mut w = DVector::zeros(t);
                            for i in 0..k {
                                let x = DVector::from_fn(t, |j, _| tok(2 * i, j) as f64);
                                w += x * tok(2 * i + 1, 0) as f64;
                            }
                            if k > 0 {
                                w *= 0.3 / k as f64;
                            }
                            w.dot(&DVector::from_fn(t, |j, _| tok(2 * k, j) as f64)) + 0.7
                        })
                        .collect()
                })
                .collect()
        };
        let wi = implicit_weights(&prompts, Encoding::Interleaved, 1.0, interleaved).unwrap();
        for (a, b) in w.iter().flatten().zip(wi.iter().flatten()) {
            assert!((a - b).amax() < 1e-5, "{a} vs {b}");
        }
        assert_eq!(wi.len(), prompts.len());
        // n blocks of 2d copies: the lens takes fewer prompts to stay in budget.
        let probe = probe_batch(&prompts, Encoding::Interleaved, 1.0).unwrap();
        assert_eq!(
            probe.tokens.len() / (probe.seq * probe.token_dim),
            8 * 2 * 4 * prompts.len()
        );
        assert_eq!(lens_prompts_for(5, 11, Encoding::Interleaved), 5);
        assert_eq!(lens_prompts_for(5, 11, Encoding::Concatenated), 32);
    }

    #[test]
    fn a_one_step_gd_model_matches_gd_1_best_and_least_squares_matches_itself() {
        let prompts = linear_prompts(40, 10, 4, 2);
        let mut model = one_step_gd(0.3);
        let w = implicit_weights(&prompts, Encoding::Concatenated, 1.0, &mut model).unwrap();
        let preds = model(&Encoding::Concatenated.encode(&prompts));
        let m = algorithm_match(&prompts, &w, &preds, 1.0, 3);
        assert_eq!(
            m.k,
            (1..10).collect::<Vec<_>>(),
            "k = 0 has no weights to match"
        );
        let cos = |m: &AlgorithmMatch, name: &str, k: usize| m.cosine[name][k - 1].unwrap();
        for k in 1..10 {
            assert!(cos(&m, "gd_1", k) > 0.999, "k={k}: {}", cos(&m, "gd_1", k));
        }
        // With one example every algorithm's weights point along x_1 (a tie); from
        // two on, one GD step is the best match.
        for k in 2..10 {
            assert_eq!(m.best[k - 1], "gd_1", "k={k}: {:?}", m.best);
            assert!(m.best_score[k - 1] > 0.999);
        }
        // At k ≥ d least squares recovers w exactly; one GD step does not.
        assert!(cos(&m, "least_squares", 8) < 0.999);
        assert!(m.mean_cosine("gd_1").unwrap() > m.mean_cosine("least_squares").unwrap());

        // Without weights (interleaved tokens) predictions decide: a "model" that
        // predicts exactly what one GD step (step size 1/λ_max) predicts.
        let gd = LinearAlgorithm::GradientDescent {
            steps: 1,
            lr_scale: 1.0,
        };
        let gd_preds: Vec<Vec<f64>> = prompts
            .iter()
            .map(|p| {
                (0..10)
                    .map(|k| gd.weights(p, k).dot(&p.xs.row(k).transpose()))
                    .collect()
            })
            .collect();
        let by_pred = References::new(&prompts, 1.0, &[1, 2]).compare(None, &gd_preds);
        assert!(!by_pred.has_weights());
        for k in 2..10 {
            assert_eq!(by_pred.best[k - 1], "gd_1", "k={k}: {:?}", by_pred.best);
            assert!(by_pred.best_score[k - 1] < 1e-18);
            assert_eq!(by_pred.gd_step["gd_1"][k - 1], 1.0);
        }
        // With weights, GD-1's step sizes tie on cosine (same direction): the
        // predictions pick the step, so its prediction difference is the true one.
        let gd_w: Vec<Vec<DVector<f64>>> = prompts
            .iter()
            .map(|p| (0..10).map(|k| gd.weights(p, k)).collect())
            .collect();
        let both = References::new(&prompts, 1.0, &[1]).compare(Some(&gd_w), &gd_preds);
        for k in 1..10 {
            assert_eq!(both.gd_step["gd_1"][k - 1], 1.0, "k={k}");
            assert!(both.prediction_difference["gd_1"][k - 1] < 1e-18);
        }

        // A "model" that is least squares: its weights are the LS solution.
        let ls: Vec<Vec<DVector<f64>>> = prompts
            .iter()
            .map(|p| {
                (0..10)
                    .map(|k| LinearAlgorithm::LeastSquares.weights(p, k))
                    .collect()
            })
            .collect();
        let ls_preds: Vec<Vec<f64>> = prompts
            .iter()
            .zip(&ls)
            .map(|(p, w)| {
                (0..10)
                    .map(|k| w[k].dot(&p.xs.row(k).transpose()))
                    .collect()
            })
            .collect();
        let m = algorithm_match(&prompts, &ls, &ls_preds, 1.0, 2);
        for k in 1..10 {
            assert!((cos(&m, "least_squares", k) - 1.0).abs() < 1e-9);
            assert!(m.prediction_difference["least_squares"][k - 1] < 1e-18);
        }
        // Noiseless ridge is least squares.
        assert!((cos(&m, "ridge", 6) - 1.0).abs() < 1e-9);
        // Newton converges to least squares: 2 iterations already close at k ≥ d.
        assert!(cos(&m, "newton_2", 9) > cos(&m, "newton_1", 9));
    }

    #[test]
    fn gd_plus_plus_without_correction_is_gd_and_with_it_gets_closer_to_least_squares() {
        let prompts = linear_prompts(20, 12, 4, 9);
        let (mut gd_cos, mut pp_cos) = (0.0, 0.0);
        for p in &prompts {
            for k in [6, 11] {
                let gd = LinearAlgorithm::GradientDescent {
                    steps: 3,
                    lr_scale: 1.0,
                }
                .weights(p, k);
                let pp0 = LinearAlgorithm::GdPlusPlus {
                    steps: 3,
                    lr_scale: 1.0,
                    gamma: 0.0,
                }
                .weights(p, k);
                assert!((&gd - &pp0).amax() < 1e-12, "γ = 0 is plain GD");
                let pp = LinearAlgorithm::GdPlusPlus {
                    steps: 3,
                    lr_scale: 1.0,
                    gamma: 0.5,
                }
                .weights(p, k);
                let ls = LinearAlgorithm::LeastSquares.weights(p, k);
                gd_cos += cosine(&gd, &ls).unwrap();
                pp_cos += cosine(&pp, &ls).unwrap();
            }
        }
        // The correction preconditions: three GD++ layers land nearer the
        // least-squares solution than three plain steps.
        assert!(
            pp_cos > gd_cos,
            "GD++ {pp_cos} vs GD {gd_cos} (sums of 40 cosines)"
        );
        // One layer of GD++ is one GD step (the correction acts after it).
        let p = &prompts[0];
        let one = LinearAlgorithm::GdPlusPlus {
            steps: 1,
            lr_scale: 0.5,
            gamma: 0.5,
        };
        let gd1 = LinearAlgorithm::GradientDescent {
            steps: 1,
            lr_scale: 0.5,
        };
        assert!((one.weights(p, 7) - gd1.weights(p, 7)).amax() < 1e-12);
    }

    #[test]
    fn trajectories_are_the_baselines_gd_and_newton_at_every_t() {
        use crate::baselines::{GradientDescent, newton_inverse};
        for p in &linear_prompts(3, 9, 4, 11) {
            for k in [1, 3, 8] {
                let c = Context::new(p, k);
                let gram = c.xs.transpose() * c.xs / k as f64;
                let top = gram.symmetric_eigenvalues().max();
                let gd = LinearAlgorithm::GradientDescent {
                    steps: 0,
                    lr_scale: 1.5,
                };
                let newton = LinearAlgorithm::Newton { iterations: 0 };
                let ts = [1, 2, 4, 16];
                for (t, w) in ts.iter().zip(gd.trajectory(p, k, &ts)) {
                    let want = GradientDescent {
                        steps: *t,
                        lr: Some(1.5 / top),
                    }
                    .fit(&c);
                    assert!((w - want).amax() < 1e-12, "GD t={t} k={k}");
                }
                let s = c.xs.transpose() * c.xs;
                for (t, w) in ts.iter().zip(newton.trajectory(p, k, &ts)) {
                    let want = newton_inverse(&s, *t) * (c.xs.transpose() * c.ys);
                    assert!(
                        (&w - &want).amax() < 1e-9 * (1.0 + want.amax()),
                        "Newton t={t}"
                    );
                }
                // weights(t) is the trajectory's t-th point.
                let pp = LinearAlgorithm::GdPlusPlus {
                    steps: 3,
                    lr_scale: 1.0,
                    gamma: 0.25,
                };
                assert_eq!(pp.weights(p, k), pp.trajectory(p, k, &[2, 3])[1]);
            }
        }
    }

    #[test]
    fn the_lens_looks_at_fewer_prompts_when_d_is_large() {
        assert_eq!(lens_prompts(5), 32);
        assert_eq!(lens_prompts(10), 32);
        assert_eq!(lens_prompts(20), 16);
        assert_eq!(lens_prompts(64), 5);
        assert_eq!(lens_prompts(1000), 4);
        let prompts = linear_prompts(40, 6, 20, 3);
        let plan = LensPlan::new(&prompts, Encoding::Concatenated, 1.0, &[1]);
        assert_eq!(plan.prompts(), 16);
        assert_eq!(plan.probe_batch().unwrap().batch, 2 * 20 * 16);
    }

    #[test]
    fn prediction_difference_by_hand() {
        let p = crate::baselines::test_util::prompt_from(&[1.0, 2.0], &[3.0, 0.0], 1);
        // k = 1: least squares fits w = 3, predicts 3·2 = 6; the model says 4.
        let w = vec![vec![DVector::zeros(1), DVector::from_element(1, 2.0)]];
        let m = algorithm_match(std::slice::from_ref(&p), &w, &[vec![0.0, 4.0]], 1.0, 1);
        assert!((m.prediction_difference["least_squares"][0] - 4.0).abs() < 1e-12);
        assert!(
            (m.cosine["least_squares"][0].unwrap() - 1.0).abs() < 1e-12,
            "same direction"
        );
    }
}

#[cfg(test)]
mod conditioning {
    use super::*;
    use crate::IclRng;
    use crate::prompt::PromptSampler;
    use crate::tasks::{LinearRegression, TaskSource};
    use crate::xdist::{Gaussian, Skewed};
    use rand::SeedableRng;

    /// Mean cosine to least squares, with all 20 examples of d = 5 prompts, of GD
    /// (its best step size at each t) and of Newton, for t in [`LENS_STEPS`].
    fn cosines(x_dist: &dyn crate::xdist::XDistribution) -> Vec<(usize, f64, f64)> {
        let mut rng = IclRng::seed_from_u64(7);
        let sampler = PromptSampler {
            family: &LinearRegression,
            source: &TaskSource::Fresh,
            x_dist,
            dims: 5,
            y_scale: 1.0,
            label_noise: 0.0,
        };
        let prompts = sampler.sample_batch(64, 21, 5, &mut rng);
        let ts = crate::eval::LENS_STEPS;
        let cos = |a: &DVector<f64>, b: &DVector<f64>| a.dot(b) / (a.norm() * b.norm());
        let mut gd = vec![0.0; ts.len()];
        let mut newton = vec![0.0; ts.len()];
        for p in &prompts {
            let ls = LinearAlgorithm::LeastSquares.weights(p, 20);
            let best = GD_STEPS
                .iter()
                .map(|&s| {
                    LinearAlgorithm::GradientDescent {
                        steps: 0,
                        lr_scale: s,
                    }
                    .trajectory(p, 20, &ts)
                })
                .collect::<Vec<_>>();
            let nt = LinearAlgorithm::Newton { iterations: 0 }.trajectory(p, 20, &ts);
            for i in 0..ts.len() {
                gd[i] += best
                    .iter()
                    .map(|w| cos(&w[i], &ls))
                    .fold(f64::MIN, f64::max);
                newton[i] += cos(&nt[i], &ls);
            }
        }
        let n = prompts.len() as f64;
        (0..ts.len())
            .map(|i| (ts[i], gd[i] / n, newton[i] / n))
            .collect()
    }

    /// Why the depth preset trains on skewed inputs: there GD needs many more steps
    /// than Newton needs iterations to reach least squares, while on isotropic
    /// inputs both get there within a few. (The counts the comments quote.)
    #[test]
    fn on_skewed_inputs_gd_needs_many_more_steps_than_newton() {
        let first = |c: &[(usize, f64, f64)], gd: bool| {
            c.iter()
                .find(|(_, g, n)| if gd { *g } else { *n } >= 0.999)
                .map(|(t, _, _)| *t)
        };
        let skewed = cosines(&Skewed);
        let iso = cosines(&Gaussian);
        eprintln!("skewed (t, gd, newton): {skewed:?}\nisotropic: {iso:?}");
        let (gd_s, nt_s) = (first(&skewed, true), first(&skewed, false));
        let (gd_i, nt_i) = (first(&iso, true), first(&iso, false));
        eprintln!(
            "cosine 0.999 first at: skewed GD {gd_s:?} Newton {nt_s:?}; isotropic GD {gd_i:?} Newton {nt_i:?}"
        );
        assert!(nt_s.is_some_and(|t| t <= 16), "{skewed:?}");
        assert!(gd_s.is_none_or(|t| t >= 4 * nt_s.unwrap()), "{skewed:?}");
    }
}
