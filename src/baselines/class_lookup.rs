//! Class lookup: the trained label of the training class whose prototype is closest
//! to the query (cosine similarity), ignoring the context. An idealised in-weights
//! learner: it has memorised every class and never reads the prompt.

use nalgebra::DMatrix;

use super::SequenceClassifier;
use crate::tasks::ClassWorld;
use crate::tasks::classification::ClassSequence;

pub struct ClassLookup {
    /// [K, D], rows scaled to unit norm.
    unit_prototypes: DMatrix<f64>,
    labels: Vec<usize>,
}

impl ClassLookup {
    pub fn new(world: &ClassWorld) -> Self {
        let mut p = world.prototypes.clone();
        for mut row in p.row_iter_mut() {
            let n = row.norm().max(1e-12);
            row /= n;
        }
        Self {
            unit_prototypes: p,
            labels: world.labels.clone(),
        }
    }
}

impl SequenceClassifier for ClassLookup {
    fn name(&self) -> String {
        "class_lookup".into()
    }
    fn classify(&self, seq: &ClassSequence) -> usize {
        let q = seq.items.row(seq.context_len()).transpose();
        // [K]: cosine up to the query's norm, which is the same for every class
        let scores = &self.unit_prototypes * q;
        self.labels[scores.argmax().0]
    }
}
