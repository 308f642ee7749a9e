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
//! implicit weights at every k at once. Garg's interleaved tokens would need a pass
//! per k and are refused.

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::baselines::{Context, GradientDescent, newton_inverse};
use crate::config::Encoding;
use crate::prompt::{EncodedBatch, Prompt};

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
}

impl LinearAlgorithm {
    /// The weights the algorithm fits to the first k pairs of `prompt`.
    pub fn weights(&self, prompt: &Prompt, k: usize) -> DVector<f64> {
        let d = prompt.dims();
        if k == 0 {
            return DVector::zeros(d);
        }
        let c = Context::new(prompt, k);
        match *self {
            LinearAlgorithm::LeastSquares => crate::baselines::min_norm_solve(&c.xs, &c.ys),
            LinearAlgorithm::Ridge { prior_var } => {
                let lambda = prompt.noise_std.powi(2) / prior_var.max(f64::MIN_POSITIVE);
                if lambda == 0.0 {
                    return crate::baselines::min_norm_solve(&c.xs, &c.ys);
                }
                let gram = c.xs.transpose() * c.xs + DMatrix::identity(d, d) * lambda;
                gram.cholesky()
                    .expect("XᵀX + λI is positive definite")
                    .solve(&(c.xs.transpose() * c.ys))
            }
            LinearAlgorithm::GradientDescent { steps, lr_scale } => {
                let gram = c.xs.transpose() * c.xs / k as f64;
                let top = gram.symmetric_eigenvalues().max();
                let lr = if top > 0.0 { lr_scale / top } else { 0.0 };
                GradientDescent {
                    steps,
                    lr: Some(lr),
                }
                .fit(&c)
            }
            LinearAlgorithm::Newton { iterations } => {
                let s = c.xs.transpose() * c.xs;
                newton_inverse(&s, iterations) * (c.xs.transpose() * c.ys)
            }
        }
    }
}

/// Step sizes tried for gradient descent, as fractions of 1/λ_max (2 diverges).
pub const GD_STEPS: [f64; 5] = [0.25, 0.5, 1.0, 1.5, 1.9];

/// The model's implicit weights, [prompt][k] → ŵ (k = 0 … n−1), by central
/// differences at ±`scale`·e_j. `predict` maps an encoded batch to its predictions
/// [prompt][k] (the model's forward pass; any function in tests).
pub fn implicit_weights<F>(
    prompts: &[Prompt],
    encoding: Encoding,
    scale: f64,
    mut predict: F,
) -> Result<Vec<Vec<DVector<f64>>>, String>
where
    F: FnMut(&EncodedBatch) -> Vec<Vec<f64>>,
{
    if encoding != Encoding::Concatenated {
        return Err(
            "implicit weights need [x, y] tokens (task.encoding = concatenated): with \
             interleaved tokens a query is also context for later positions"
                .into(),
        );
    }
    let Some(first) = prompts.first() else {
        return Ok(Vec::new());
    };
    let (n, d) = (first.points(), first.dims());
    let base = encoding.encode(prompts);
    let mut w = vec![vec![DVector::zeros(d); n]; prompts.len()];
    for j in 0..d {
        let mut side = |sign: f64| {
            let mut batch = base.clone();
            let t = batch.token_dim;
            for b in 0..batch.batch {
                for k in 0..n {
                    // The query token of position k: [x_k, 0] at sequence index n + k.
                    let at = (b * batch.seq + n + k) * t;
                    for i in 0..d {
                        batch.tokens[at + i] = if i == j { (sign * scale) as f32 } else { 0.0 };
                    }
                }
            }
            predict(&batch)
        };
        let plus = side(1.0);
        let minus = side(-1.0);
        for b in 0..prompts.len() {
            for k in 0..n {
                w[b][k][j] = (plus[b][k] - minus[b][k]) / (2.0 * scale);
            }
        }
    }
    Ok(w)
}

fn cosine(a: &DVector<f64>, b: &DVector<f64>) -> Option<f64> {
    let (na, nb) = (a.norm(), b.norm());
    (na > 1e-12 && nb > 1e-12).then(|| a.dot(b) / (na * nb))
}

/// How closely the model matches each algorithm at each k.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AlgorithmMatch {
    pub k: Vec<usize>,
    /// algorithm → mean cosine similarity of the implicit weights at each k (NaN at
    /// k = 0, where every algorithm's weights are 0).
    pub cosine: BTreeMap<String, Vec<f64>>,
    /// algorithm → mean (model − algorithm)²/d at each k.
    pub prediction_difference: BTreeMap<String, Vec<f64>>,
    /// The algorithm with the highest cosine at each k ("" at k = 0; at k = 1 every
    /// algorithm's weights point along x_1, so the pick there means nothing).
    pub best: Vec<String>,
    /// Gradient descent's best step size at each k, as a fraction of 1/λ_max.
    pub gd_step: BTreeMap<String, Vec<f64>>,
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
    let n = prompts.first().map_or(0, Prompt::points);
    let d = prompts.first().map_or(1, Prompt::dims) as f64;
    let mut cosines = BTreeMap::new();
    let mut diffs = BTreeMap::new();
    let mut gd_step = BTreeMap::new();
    // (name, candidates): GD tries every step size and keeps the best at each k.
    let mut families: Vec<(String, Vec<LinearAlgorithm>)> = vec![
        ("least_squares".into(), vec![LinearAlgorithm::LeastSquares]),
        ("ridge".into(), vec![LinearAlgorithm::Ridge { prior_var }]),
    ];
    for t in 1..=max_steps {
        families.push((
            format!("gd_{t}"),
            GD_STEPS
                .iter()
                .map(|&s| LinearAlgorithm::GradientDescent {
                    steps: t,
                    lr_scale: s,
                })
                .collect(),
        ));
        families.push((
            format!("newton_{t}"),
            vec![LinearAlgorithm::Newton { iterations: t }],
        ));
    }
    for (name, candidates) in &families {
        let mut cos_k = vec![f64::NAN; n];
        let mut diff_k = vec![0.0; n];
        let mut step_k = vec![f64::NAN; n];
        for k in 0..n {
            let mut best: Option<(f64, f64, f64)> = None; // (cosine, diff, step)
            for alg in candidates {
                let (mut cs, mut cn, mut ds) = (0.0, 0usize, 0.0);
                for (b, p) in prompts.iter().enumerate() {
                    let w = alg.weights(p, k);
                    if let Some(c) = cosine(&model_weights[b][k], &w) {
                        cs += c;
                        cn += 1;
                    }
                    let pred = w.dot(&p.xs.row(k).transpose());
                    ds += (model_predictions[b][k] - pred).powi(2) / d;
                }
                let c = if cn > 0 { cs / cn as f64 } else { f64::NAN };
                let ds = ds / prompts.len().max(1) as f64;
                let step = match alg {
                    LinearAlgorithm::GradientDescent { lr_scale, .. } => *lr_scale,
                    _ => f64::NAN,
                };
                if best.is_none_or(|(bc, _, _)| c > bc || bc.is_nan()) {
                    best = Some((c, ds, step));
                }
            }
            let (c, ds, s) = best.expect("at least one candidate");
            cos_k[k] = c;
            diff_k[k] = ds;
            step_k[k] = s;
        }
        if name.starts_with("gd_") {
            gd_step.insert(name.clone(), step_k);
        }
        cosines.insert(name.clone(), cos_k);
        diffs.insert(name.clone(), diff_k);
    }
    let best = (0..n)
        .map(|k| {
            cosines
                .iter()
                .filter(|(_, v)| v[k].is_finite())
                .max_by(|a, b| a.1[k].total_cmp(&b.1[k]))
                .map(|(name, _)| name.clone())
                .unwrap_or_default()
        })
        .collect();
    AlgorithmMatch {
        k: (0..n).collect(),
        cosine: cosines,
        prediction_difference: diffs,
        best,
        gd_step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::linear_prompts;

    /// A "model" that runs one GD step with rate η on the context it sees, read
    /// from the tokens (plus an offset the central difference must cancel).
    fn one_step_gd(eta: f64) -> impl FnMut(&EncodedBatch) -> Vec<Vec<f64>> {
        move |batch: &EncodedBatch| {
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
        for (b, p) in prompts.iter().enumerate() {
            for k in 1..8 {
                let mut want = DVector::zeros(4);
                for i in 0..k {
                    want += p.xs.row(i).transpose() * p.ys[i];
                }
                want *= 0.3 / k as f64;
                // f32 tokens: agreement to float precision.
                assert!((&w[b][k] - &want).amax() < 1e-5, "{} vs {}", w[b][k], want);
            }
            assert!(w[b][0].amax() < 1e-6, "no context, no weights");
        }
        let e =
            implicit_weights(&prompts, Encoding::Interleaved, 1.0, one_step_gd(0.3)).unwrap_err();
        assert!(e.contains("concatenated"), "{e}");
    }

    #[test]
    fn a_one_step_gd_model_matches_gd_1_best_and_least_squares_matches_itself() {
        let prompts = linear_prompts(40, 10, 4, 2);
        let mut model = one_step_gd(0.3);
        let w = implicit_weights(&prompts, Encoding::Concatenated, 1.0, &mut model).unwrap();
        let preds = model(&Encoding::Concatenated.encode(&prompts));
        let m = algorithm_match(&prompts, &w, &preds, 1.0, 3);
        for k in 1..10 {
            assert!(
                m.cosine["gd_1"][k] > 0.999,
                "k={k}: {}",
                m.cosine["gd_1"][k]
            );
        }
        // With one example every algorithm's weights point along x_1 (a tie); from
        // two on, one GD step is the best match.
        for k in 2..10 {
            assert_eq!(m.best[k], "gd_1", "k={k}: {:?}", m.best);
        }
        assert!(m.cosine["gd_1"][0].is_nan() && m.best[0].is_empty());
        // At k ≥ d least squares recovers w exactly; one GD step does not.
        assert!(m.cosine["least_squares"][8] < 0.999);

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
            assert!((m.cosine["least_squares"][k] - 1.0).abs() < 1e-9);
            assert!(m.prediction_difference["least_squares"][k] < 1e-18);
        }
        // Noiseless ridge is least squares.
        assert!((m.cosine["ridge"][6] - 1.0).abs() < 1e-9);
        // Newton converges to least squares: 2 iterations already close at k ≥ d.
        assert!(m.cosine["newton_2"][9] > m.cosine["newton_1"][9]);
    }

    #[test]
    fn prediction_difference_by_hand() {
        let p = crate::baselines::test_util::prompt_from(&[1.0, 2.0], &[3.0, 0.0], 1);
        // k = 1: least squares fits w = 3, predicts 3·2 = 6; the model says 4.
        let w = vec![vec![DVector::zeros(1), DVector::from_element(1, 2.0)]];
        let m = algorithm_match(std::slice::from_ref(&p), &w, &[vec![0.0, 4.0]], 1.0, 1);
        assert!((m.prediction_difference["least_squares"][1] - 4.0).abs() < 1e-12);
        assert!(
            (m.cosine["least_squares"][1] - 1.0).abs() < 1e-12,
            "same direction"
        );
    }
}
