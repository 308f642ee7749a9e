//! A greedy regression tree fit to the k context pairs (CART: at each node the
//! axis-aligned split that most reduces the squared error, to `max_depth`), the
//! query's leaf mean as its prediction: Garg et al.'s greedy-tree baseline for the
//! decision-tree family (scikit-learn's `DecisionTreeRegressor`).
//!
//! Hand-written (about 80 lines, shared with [`BoostedTrees`](super::BoostedTrees)):
//! the one maintained Rust crate with boosted trees, `gbdt` 0.1.3, pulls rand 0.8,
//! whose getrandom 0.2 does not build for wasm32 without a JavaScript feature, into
//! the page's module; a tree over at most a few dozen points needs none of its
//! machinery.

use nalgebra::{DMatrixView, DVector};

use super::{Context, Predictor};
use crate::prompt::Prompt;

pub struct GreedyTree {
    pub max_depth: usize,
}

impl Predictor for GreedyTree {
    fn name(&self) -> String {
        format!("tree_{}", self.max_depth)
    }

    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let c = Context::new(prompt, k);
        let ys: Vec<f64> = c.ys.iter().copied().collect();
        let tree = Tree::grow(&c.xs, &ys, self.max_depth, 0.0, &mut vec![0.0; k]);
        tree.predict(&c.query)
    }
}

/// A fitted regression tree.
#[derive(Debug)]
pub(crate) enum Tree {
    Leaf(f64),
    Split {
        feature: usize,
        threshold: f64,
        /// x[feature] ≤ threshold
        below: Box<Tree>,
        above: Box<Tree>,
    },
}

impl Tree {
    /// Grows a tree on rows `xs` [n, d] with targets `r` [n], at most `max_depth`
    /// splits deep. Leaves hold Σr / (n + λ) (λ = 0: the mean; XGBoost's L2 on leaf
    /// weights otherwise), and a split is kept where it raises Σ (Σr)²/(n + λ)
    /// over the two sides, the squared-error gain of both. `fitted[i]` gets row i's
    /// leaf value (what boosting adds to its fit, without walking the tree again).
    pub(crate) fn grow(
        xs: &DMatrixView<f64>,
        r: &[f64],
        max_depth: usize,
        lambda: f64,
        fitted: &mut [f64],
    ) -> Tree {
        let mut rows: Vec<usize> = (0..r.len()).collect();
        Self::node(xs, r, &mut rows, max_depth, lambda, fitted)
    }

    fn node(
        xs: &DMatrixView<f64>,
        r: &[f64],
        rows: &mut [usize],
        depth: usize,
        lambda: f64,
        fitted: &mut [f64],
    ) -> Tree {
        let n = rows.len();
        let sum: f64 = rows.iter().map(|&i| r[i]).sum();
        let score = |g: f64, m: usize| g * g / (m as f64 + lambda);
        let value = sum / (n as f64 + lambda);
        let leaf = |rows: &[usize], fitted: &mut [f64]| {
            rows.iter().for_each(|&i| fitted[i] = value);
            Tree::Leaf(value)
        };
        if depth == 0 || n < 2 {
            return leaf(rows, fitted);
        }
        let parent = score(sum, n);
        // (gain, feature, threshold)
        let mut best: Option<(f64, usize, f64)> = None;
        for f in 0..xs.ncols() {
            rows.sort_by(|&a, &b| xs[(a, f)].total_cmp(&xs[(b, f)]));
            let mut left = 0.0;
            for s in 1..n {
                left += r[rows[s - 1]];
                let (lo, hi) = (xs[(rows[s - 1], f)], xs[(rows[s], f)]);
                if lo == hi {
                    continue;
                }
                let gain = score(left, s) + score(sum - left, n - s) - parent;
                if gain > 1e-12 && best.is_none_or(|b| gain > b.0) {
                    best = Some((gain, f, 0.5 * (lo + hi)));
                }
            }
        }
        let Some((_, feature, threshold)) = best else {
            return leaf(rows, fitted);
        };
        rows.sort_by_key(|&i| xs[(i, feature)] > threshold);
        let cut = rows.partition_point(|&i| xs[(i, feature)] <= threshold);
        let (lo, hi) = rows.split_at_mut(cut);
        Tree::Split {
            feature,
            threshold,
            below: Box::new(Self::node(xs, r, lo, depth - 1, lambda, fitted)),
            above: Box::new(Self::node(xs, r, hi, depth - 1, lambda, fitted)),
        }
    }

    pub(crate) fn predict(&self, x: &DVector<f64>) -> f64 {
        match self {
            Tree::Leaf(v) => *v,
            Tree::Split {
                feature,
                threshold,
                below,
                above,
            } => {
                if x[*feature] <= *threshold {
                    below.predict(x)
                } else {
                    above.predict(x)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::prompt_from;

    #[test]
    fn splits_where_the_labels_jump_and_stops_at_its_depth() {
        // 1-d inputs; y = 1 left of 2.5, 5 right of it.
        let p = prompt_from(
            &[0., 1., 2., 3., 4., 5., 2.9],
            &[1., 1., 1., 5., 5., 5., 0.],
            1,
        );
        let stump = GreedyTree { max_depth: 1 };
        assert!((stump.predict(&p, 6) - 5.0).abs() < 1e-12);
        assert_eq!(stump.name(), "tree_1");
        let c = Context::new(&p, 6);
        let mut fitted = [0.0; 6];
        match Tree::grow(&c.xs, &[1., 1., 1., 5., 5., 5.], 1, 0.0, &mut fitted) {
            Tree::Split {
                feature, threshold, ..
            } => assert_eq!((feature, threshold), (0, 2.5)),
            t => panic!("{t:?}"),
        }
        assert_eq!(fitted, [1., 1., 1., 5., 5., 5.], "each row gets its leaf");
        // depth 0: the mean of all labels
        assert!((GreedyTree { max_depth: 0 }.predict(&p, 6) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_deep_tree_interpolates_distinct_points_and_lambda_shrinks_leaves() {
        let xs = [0.3, -1.2, 2.0, 0.9, -0.4, 1.7, 0.5];
        let ys = [2.0, -1.0, 0.5, 3.0, 1.5, -2.0, 0.0];
        let p = prompt_from(&xs, &ys, 1);
        let deep = GreedyTree { max_depth: 10 };
        for (i, y) in ys.iter().enumerate().take(6) {
            let mut q = p.clone();
            q.xs[(6, 0)] = xs[i];
            assert!((deep.predict(&q, 6) - y).abs() < 1e-12, "point {i}");
        }
        let c = Context::new(&p, 1);
        let shrunk = Tree::grow(&c.xs, &[2.0], 3, 1.0, &mut [0.0]);
        assert!((shrunk.predict(&DVector::from_element(1, 0.3)) - 1.0).abs() < 1e-12);
    }
}
