//! Class lookup: the trained label of the training class whose prototype is closest
//! to the query (cosine similarity), ignoring the context. An idealised in-weights
//! learner: it has memorised every class and never reads the prompt.
//!
//! With Kirsch's tasks it has memorised every class of every pool task (class c of
//! task t at A_t μ_c with label π_t(c)), as far as [`LOOKUP_LIMIT`] allows: a larger
//! pool has no such peer (nothing is shown rather than a partial memoriser).

use nalgebra::DMatrix;

use super::SequenceClassifier;
use crate::tasks::ClassWorld;
use crate::tasks::classification::ClassSequence;

pub struct ClassLookup {
    /// [K, D], rows scaled to unit norm.
    unit_prototypes: DMatrix<f64>,
    labels: Vec<usize>,
}

/// The most prototype numbers (tasks × classes × D) the memoriser keeps: 16 MiB.
pub const LOOKUP_LIMIT: u64 = 1 << 21;

impl ClassLookup {
    /// `None` where the classes of every pool task would pass [`LOOKUP_LIMIT`].
    pub fn new(world: &ClassWorld) -> Option<Self> {
        let (mut p, labels) = match world.cfg.tasks {
            None => (world.prototypes.clone(), world.labels.clone()),
            Some(m) => {
                let k = world.prototypes.nrows();
                let d = world.prototypes.ncols();
                if m.saturating_mul((k * d) as u64) > LOOKUP_LIMIT {
                    return None;
                }
                let m = m as usize;
                let mut p = DMatrix::zeros(m * k, d);
                let mut labels = Vec::with_capacity(m * k);
                for t in 0..m {
                    let task = world.task(t as u64);
                    // [K, D]: each prototype (a row) through A_t
                    let projected = &world.prototypes * task.projection.transpose();
                    p.rows_mut(t * k, k).copy_from(&projected);
                    labels.extend(world.labels.iter().map(|&l| task.permutation[l]));
                }
                (p, labels)
            }
        };
        for mut row in p.row_iter_mut() {
            let n = row.norm().max(1e-12);
            row /= n;
        }
        Some(Self {
            unit_prototypes: p,
            labels,
        })
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
