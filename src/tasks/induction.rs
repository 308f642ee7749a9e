//! Token sequences with a repeated segment: the setting in which induction heads form
//! (Olsson et al. 2022). Not a regression family: the model reads a token sequence
//! and predicts the next token at every position (cross-entropy).
//!
//! A sequence of T = `task.points` tokens over a vocabulary of V =
//! `task.family.vocab` starts with T/4 fresh tokens; then, until it is full, each
//! piece is a copy of an earlier window (3 to T/4 tokens from anywhere before, with
//! probability [`P_COPY`]) or one to three fresh tokens. Where a copy sits, and from
//! how far back, is random, so no fixed positional look-back predicts it: only "find
//! the previous occurrence of the current token and predict the token that followed
//! it" — the induction algorithm — lowers the loss inside the copies.

use rand::Rng;

use crate::IclRng;
use crate::batch::{Batch, Targets};

/// How often the next piece of a sequence is a copy of an earlier window: most
/// of the sequence then repeats something, which is the signal that makes an
/// induction head worth forming (with one short repeat per sequence a 2-layer model
/// stayed on the "any token seen before" plateau for 3000 steps, measured).
pub const P_COPY: f64 = 0.7;

/// Largest vocabulary: tokens are one-hot, so V sets the input and output widths.
pub const MAX_VOCAB: usize = 4096;
/// Longest sequence (attention is T × T per head).
pub const MAX_LENGTH: usize = 256;

/// One token sequence and where its copies are.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSequence {
    pub tokens: Vec<usize>,
    /// (from, to, len): tokens[to..to + len] is a copy of tokens[from..from + len].
    pub copies: Vec<(usize, usize, usize)>,
}

impl TokenSequence {
    /// Draws a sequence of `length` tokens from `vocab`: a fresh prefix of T/4
    /// tokens, then, until the sequence is full, either a copy of an earlier window
    /// (3 to T/4 tokens, from anywhere before) or one to three fresh tokens, with
    /// probability [`P_COPY`] and 1 − [`P_COPY`].
    pub fn sample(vocab: usize, length: usize, rng: &mut IclRng) -> Self {
        assert!(vocab >= 2 && length >= 4, "vocab ≥ 2 and length ≥ 4");
        let fresh = |rng: &mut IclRng| rng.random_range(0..vocab);
        let prefix = (length / 4).max(2);
        let mut tokens: Vec<usize> = (0..prefix).map(|_| fresh(rng)).collect();
        let mut copies = Vec::new();
        let longest = (length / 4).max(3);
        while tokens.len() < length {
            let room = length - tokens.len();
            if rng.random_bool(P_COPY) && tokens.len() >= 3 {
                let len = rng.random_range(3..=longest).min(room).min(tokens.len());
                let from = rng.random_range(0..=tokens.len() - len);
                let to = tokens.len();
                tokens.extend_from_within(from..from + len);
                copies.push((from, to, len));
            } else {
                for _ in 0..rng.random_range(1..=3).min(room) {
                    let t = fresh(rng);
                    tokens.push(t);
                }
            }
        }
        Self { tokens, copies }
    }

    /// For each position i, the most recent earlier position j < i holding the same
    /// token (`None` when the token is new): where an induction head looks from, its
    /// target being j + 1.
    pub fn previous_occurrences(tokens: &[usize]) -> Vec<Option<usize>> {
        let mut last = std::collections::HashMap::new();
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| last.insert(*t, i))
            .collect()
    }

    /// What the copy rule predicts as the token after position i: the token that
    /// followed the previous occurrence of token i (the induction algorithm run
    /// exactly), `None` when token i is new.
    pub fn copy_rule(tokens: &[usize]) -> Vec<Option<usize>> {
        Self::previous_occurrences(tokens)
            .into_iter()
            .map(|j| j.map(|j| tokens[j + 1]))
            .collect()
    }
}

/// Token sequences as model input: one-hot tokens (width V), a causal mask, and the
/// next token as the target at positions 0 … T − 2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenEncoding {
    pub vocab: usize,
}

impl TokenEncoding {
    pub fn encode(&self, seqs: &[TokenSequence]) -> Batch {
        assert!(!seqs.is_empty(), "cannot encode an empty batch");
        let (seq, v) = (seqs[0].tokens.len(), self.vocab);
        let mut tokens = vec![0f32; seqs.len() * seq * v];
        let mut targets = Vec::with_capacity(seqs.len() * (seq - 1));
        for (b, s) in seqs.iter().enumerate() {
            assert_eq!(s.tokens.len(), seq, "ragged batch");
            for (i, &t) in s.tokens.iter().enumerate() {
                tokens[(b * seq + i) * v + t] = 1.0;
            }
            targets.extend_from_slice(&s.tokens[1..]);
        }
        Batch {
            tokens,
            batch: seqs.len(),
            seq,
            token_dim: v,
            mask: Batch::causal_mask(seq),
            // The next token is read at every position but the last.
            readout: (0..seq - 1).collect(),
            targets: Targets::Tokens(targets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn copies_repeat_earlier_windows_at_many_offsets() {
        let mut rng = IclRng::seed_from_u64(1);
        let mut offsets = std::collections::BTreeSet::new();
        let mut copied = 0;
        for _ in 0..200 {
            let s = TokenSequence::sample(64, 32, &mut rng);
            assert_eq!(s.tokens.len(), 32);
            assert!(s.tokens.iter().all(|t| *t < 64));
            for &(from, to, len) in &s.copies {
                assert!(from + len <= to && to + len <= 32);
                assert_eq!(s.tokens[from..from + len], s.tokens[to..to + len]);
                offsets.insert(to - from);
                copied += len;
            }
        }
        assert!(offsets.len() > 15, "offsets vary: {offsets:?}");
        assert!(
            offsets.iter().any(|o| *o > 20),
            "long offsets too: {offsets:?}"
        );
        // Most of what follows the prefix is copied.
        assert!(copied > 200 * 24 / 2, "{copied}");
    }

    #[test]
    fn copy_rule_predicts_the_second_occurrence() {
        let tokens = [5, 1, 2, 3, 9, 1, 2, 3];
        let prev = TokenSequence::previous_occurrences(&tokens);
        assert_eq!(
            prev,
            [None, None, None, None, None, Some(1), Some(2), Some(3)]
        );
        let copy = TokenSequence::copy_rule(&tokens);
        // After the second "1" comes what followed the first: 2; then 3; then 9.
        assert_eq!(copy[5..], [Some(2), Some(3), Some(9)]);
    }

    #[test]
    fn encoding_is_one_hot_with_next_token_targets() {
        let s = TokenSequence {
            tokens: vec![2, 0, 1, 2],
            copies: vec![(0, 3, 1)],
        };
        let e = TokenEncoding { vocab: 3 }.encode(&[s]);
        assert_eq!(e.tokens[..3], [0.0, 0.0, 1.0]);
        assert_eq!(e.tokens[3..6], [1.0, 0.0, 0.0]);
        assert_eq!(e.targets, Targets::Tokens(vec![0, 1, 2]));
        assert!(!e.mask[4 + 1] && e.mask[2] && !e.mask[3 * 4]);
    }
}
