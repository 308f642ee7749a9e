//! Nearest context item: the label shown with the context item closest to the query
//! (cosine similarity). An idealised in-context learner, what a perfect induction
//! head computes: right whenever the query's class is in the context with its label,
//! blind to everything learned before.

use super::SequenceClassifier;
use crate::tasks::classification::ClassSequence;

pub struct ContextNearest;

impl SequenceClassifier for ContextNearest {
    fn name(&self) -> String {
        "context_nearest".into()
    }
    fn classify(&self, seq: &ClassSequence) -> usize {
        let n = seq.context_len();
        let q = seq.items.row(n);
        let qn = q.norm().max(1e-12);
        (0..n)
            .map(|i| {
                let x = seq.items.row(i);
                (x.dot(&q) / (x.norm().max(1e-12) * qn), seq.labels[i])
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, l)| l)
            .unwrap_or(0)
    }
}
