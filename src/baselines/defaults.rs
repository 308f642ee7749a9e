//! Which baselines a task family is compared with when the experiment names none
//! (Garg's code keeps this table with the baselines, not with the tasks: a family
//! knows how to draw tasks, the baselines know which of them answer it).

use super::BaselineConfig;
use crate::tasks::TaskFamilyConfig;

/// The family's usual comparison set; `None` for the classification and token
/// families, whose classical peers are probes, not curves.
pub fn defaults_for(family: &TaskFamilyConfig) -> Option<Vec<BaselineConfig>> {
    use BaselineConfig as B;
    // The usual set for linear families: least squares, 3-NN, averaging, zero.
    let linear = || vec![B::LeastSquares, B::KNearest { k: 3 }, B::Averaging, B::Zero];
    Some(match family {
        TaskFamilyConfig::Linear => {
            let mut b = linear();
            b.push(B::Ridge { lambda: None });
            b
        }
        // Garg: Lasso at α = 0.01.
        TaskFamilyConfig::SparseLinear { .. } => {
            let mut b = linear();
            b.insert(0, B::Lasso { alpha: 0.01 });
            b
        }
        TaskFamilyConfig::NoisyLinear { noise } => {
            let mut b = vec![B::Ridge { lambda: None }];
            if noise.len() > 1 {
                // Bai's comparison: ridge with one λ, tuned to the smallest σ and to
                // the largest (τ² = 1). Each is right at its own level and clearly
                // wrong at the other near k = d; only a predictor that tells the
                // levels apart from the prompt is right at both.
                let lo = noise.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = noise.iter().copied().fold(0.0, f64::max);
                for s in [lo, hi] {
                    b.push(B::Ridge {
                        lambda: Some((s * s * 1e4).round() / 1e4),
                    });
                }
                // The Bayes-optimal answer to the mixture: what selection reaches.
                b.push(B::BayesMixture {
                    noise: noise.clone(),
                });
            }
            b.extend([B::LeastSquares, B::Averaging, B::Zero]);
            b
        }
        // Garg: a 2-layer network of 100 hidden units fit by gradient descent.
        TaskFamilyConfig::ReluNet { .. } => vec![
            B::NeuralNet {
                hidden: 100,
                steps: 200,
                lr: 0.05,
            },
            B::LeastSquares,
            B::KNearest { k: 3 },
            B::Averaging,
            B::Zero,
        ],
        // Garg: a greedy tree (depth 4) and XGBoost beside 3-NN and least squares.
        TaskFamilyConfig::DecisionTree { .. } => vec![
            B::GreedyTree { max_depth: 4 },
            B::BoostedTrees {
                trees: 100,
                max_depth: 6,
                eta: 0.3,
                lambda: 1.0,
            },
            B::KNearest { k: 3 },
            B::LeastSquares,
            B::Averaging,
            B::Zero,
        ],
        // Least squares on ±1 labels is the classical linear classifier's regression
        // (Fisher's discriminant direction); 3-NN, averaging and zero as for regression.
        TaskFamilyConfig::LinearClassification => linear(),
        TaskFamilyConfig::RegressionClassification { .. } => linear(),
        TaskFamilyConfig::Classification(_) | TaskFamilyConfig::Induction { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_regression_family_has_defaults_and_a_noise_mixture_gets_one_ridge_per_end() {
        let none = defaults_for(&TaskFamilyConfig::Induction { vocab: 64 });
        assert!(none.is_none());
        let mixture = defaults_for(&TaskFamilyConfig::NoisyLinear {
            noise: vec![0.25, 1.0],
        })
        .unwrap();
        // One λ tuned to each end of the mixture: σ² = 0.0625 and 1.
        for l in [0.0625, 1.0] {
            assert!(mixture.contains(&BaselineConfig::Ridge { lambda: Some(l) }));
        }
        assert!(mixture.contains(&BaselineConfig::BayesMixture {
            noise: vec![0.25, 1.0]
        }));
        let one = defaults_for(&TaskFamilyConfig::NoisyLinear { noise: vec![0.5] }).unwrap();
        assert_eq!(
            one.iter()
                .filter(|b| matches!(b, BaselineConfig::Ridge { .. }))
                .count(),
            1
        );
    }
}
