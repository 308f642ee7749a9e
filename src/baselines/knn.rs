//! k nearest neighbours: the mean label of the `neighbours` context inputs closest to
//! the query (Euclidean), all of them when there are fewer.

use super::{Context, Predictor};
use crate::prompt::Prompt;

pub struct KNearest {
    pub neighbours: usize,
}

impl Predictor for KNearest {
    fn name(&self) -> String {
        format!("knn_{}", self.neighbours)
    }
    fn predict(&self, prompt: &Prompt, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let c = Context::new(prompt, k);
        let mut dist: Vec<(f64, f64)> = (0..k)
            .map(|i| ((c.xs.row(i).transpose() - &c.query).norm_squared(), c.ys[i]))
            .collect();
        dist.sort_by(|a, b| a.0.total_cmp(&b.0));
        let m = self.neighbours.min(k);
        dist[..m].iter().map(|(_, y)| y).sum::<f64>() / m as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_util::prompt_from;

    #[test]
    fn averages_the_nearest_labels() {
        // 1-d inputs 0, 1, 5, 6; query 0.4 → nearest two are 0 and 1.
        let p = prompt_from(&[0., 1., 5., 6., 0.4], &[1., 3., 100., 200., 0.], 1);
        let two = KNearest { neighbours: 2 };
        assert!((two.predict(&p, 4) - 2.0).abs() < 1e-12);
        assert_eq!(two.name(), "knn_2");
    }
}
