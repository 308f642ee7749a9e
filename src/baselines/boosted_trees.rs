//! Gradient-boosted regression trees fit to the k context pairs, in the manner of
//! XGBoost with its default settings (Garg et al.'s other tree baseline): the
//! labels' mean as the base score, then `trees` rounds, each a greedy tree of depth
//! `max_depth` on the residuals with leaf weights Σr/(n + λ), added with the
//! learning rate `eta`. Squared error has a unit Hessian, so XGBoost's exact
//! greedy split gain is the [`Tree::grow`] gain with λ. Hand-written: see
//! [`GreedyTree`](super::GreedyTree) for why no crate.

use super::greedy_tree::Tree;
use super::{Context, Predictor};
use crate::prompt::Prompt;

pub struct BoostedTrees {
    pub trees: usize,
    pub max_depth: usize,
    pub eta: f64,
    pub lambda: f64,
}

impl Predictor for BoostedTrees {
    fn name(&self) -> String {
        "boosted_trees".into()
    }

    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let c = Context::new(prompt, k);
        let base = c.ys.mean();
        let mut fit = vec![base; k];
        let mut at_query = base;
        let mut residual = vec![0.0; k];
        // each context point's leaf value in this round's tree
        let mut step = vec![0.0; k];
        for _ in 0..self.trees {
            for i in 0..k {
                residual[i] = c.ys[i] - fit[i];
            }
            // Nothing left to fit: every further tree is a zero leaf.
            if residual.iter().all(|r| r.abs() < 1e-12) {
                break;
            }
            let tree = Tree::grow(&c.xs, &residual, self.max_depth, self.lambda, &mut step);
            for (f, s) in fit.iter_mut().zip(&step) {
                *f += self.eta * s;
            }
            at_query += self.eta * tree.predict(&c.query);
        }
        at_query
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::prompt_from;

    #[test]
    fn boosting_approaches_the_labels_and_one_round_is_a_shrunk_tree() {
        let xs = [0.3, -1.2, 2.0, 0.9, -0.4, 1.7, 0.9];
        let ys = [2.0, -1.0, 0.5, 3.0, 1.5, -2.0, 0.0];
        let p = prompt_from(&xs, &ys, 1);
        // the query sits on x = 0.9, whose label is 3
        let many = BoostedTrees {
            trees: 100,
            max_depth: 6,
            eta: 0.3,
            lambda: 1.0,
        };
        assert!(
            (many.predict(&p, 6) - 3.0).abs() < 0.05,
            "{}",
            many.predict(&p, 6)
        );
        // One round without λ: a deep tree isolates the query's point, so the
        // mean moves eta of the way to its label.
        let one = BoostedTrees {
            trees: 1,
            lambda: 0.0,
            ..many
        };
        let mean = ys[..6].iter().sum::<f64>() / 6.0;
        let want = mean + 0.3 * (3.0 - mean);
        assert!((one.predict(&p, 6) - want).abs() < 1e-12);
        assert_eq!(one.name(), "boosted_trees");
    }
}
