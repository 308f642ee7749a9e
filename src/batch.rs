//! The one batch type every data family encodes into: tokens, the attention mask,
//! the positions the model is read at and what it should say there. Regression
//! prompts, classification sequences and token sequences differ only in their
//! [`Targets`]; the model (`model::ModelInput::new`) takes any of them.

/// A batch of sequences as tokens, ready for the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Row-major [batch, seq, token_dim].
    pub tokens: Vec<f32>,
    pub batch: usize,
    pub seq: usize,
    pub token_dim: usize,
    /// Row-major [seq, seq]; `true` = the query row may NOT attend to the key column.
    pub mask: Vec<bool>,
    /// The sequence positions the model is read at: where y_k is predicted
    /// (regression), the query (classification), every position but the last (tokens).
    pub readout: Vec<usize>,
    pub targets: Targets,
}

/// What the model should produce at the read-out positions.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Regression: row-major [batch, readout], the y_k to predict.
    Values(Vec<f32>),
    /// Classification: [batch], the query's label (one read-out position).
    Labels(Vec<usize>),
    /// Token sequences: row-major [batch, readout], the next token at each position.
    Tokens(Vec<usize>),
}

impl Batch {
    /// The causal mask of a sequence of `seq` tokens: each attends to itself and
    /// earlier ones.
    pub fn causal_mask(seq: usize) -> Vec<bool> {
        (0..seq * seq).map(|at| at % seq > at / seq).collect()
    }

    /// Sequences `start..end` of the batch (to run a large batch in chunks).
    pub fn slice(&self, start: usize, end: usize) -> Batch {
        let per = self.seq * self.token_dim;
        let n = self.readout.len();
        Batch {
            tokens: self.tokens[start * per..end * per].to_vec(),
            batch: end - start,
            seq: self.seq,
            token_dim: self.token_dim,
            mask: self.mask.clone(),
            readout: self.readout.clone(),
            targets: match &self.targets {
                Targets::Values(v) => Targets::Values(v[start * n..end * n].to_vec()),
                Targets::Labels(l) => Targets::Labels(l[start..end].to_vec()),
                Targets::Tokens(t) => Targets::Tokens(t[start * n..end * n].to_vec()),
            },
        }
    }

    /// The regression targets, row-major [batch, readout].
    ///
    /// # Panics
    /// On a classification or token batch (a caller that only handles regression).
    pub fn values(&self) -> &[f32] {
        match &self.targets {
            Targets::Values(v) => v,
            other => panic!("a regression batch was expected, not {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_keeps_each_kind_of_target_with_its_sequences() {
        let batch = |targets| Batch {
            tokens: (0..12).map(|v| v as f32).collect(),
            batch: 3,
            seq: 2,
            token_dim: 2,
            mask: Batch::causal_mask(2),
            readout: vec![0, 1],
            targets,
        };
        let s = batch(Targets::Values(vec![1., 2., 3., 4., 5., 6.])).slice(1, 3);
        assert_eq!(s.tokens, [4., 5., 6., 7., 8., 9., 10., 11.]);
        assert_eq!(s.values(), [3., 4., 5., 6.]);
        let s = batch(Targets::Labels(vec![7, 8, 9])).slice(2, 3);
        assert_eq!(s.targets, Targets::Labels(vec![9]));
        let s = batch(Targets::Tokens(vec![0, 1, 2, 3, 4, 5])).slice(0, 1);
        assert_eq!(s.targets, Targets::Tokens(vec![0, 1]));
        assert_eq!(Batch::causal_mask(2), [false, true, false, false]);
    }
}
