//! The mechanism lens: what each attention head does, and how much the model learns
//! from its context, on token sequences with a repeated segment (Olsson 2022).
//!
//! Per head, from its attention patterns on the evaluation sequences:
//! - **prefix matching**: the mean attention from a token that occurred before to the
//!   tokens *after* its earlier occurrences (an induction head scores near 1, a
//!   uniform head about the mean of (occurrences)/(i + 1), ≈ 1/T);
//! - **previous token**: the mean attention from position i to i − 1 (the first half
//!   of the two-layer induction circuit);
//!
//! and from its weights, the **copying** score of its OV circuit E·W_V·W_O·U:
//! Σλ / Σ|λ| over the eigenvalues (Olsson's): 1 when attending to a token raises
//! that token's logit, −1 when it lowers it.
//!
//! Per model: the next-token loss at every position, its accuracy beside the copy
//! rule's, and the **ICL score** = loss late in the context − loss early in it
//! (negative when the context helps).
//!
//! Everything here takes plain numbers read back from the device (synchronously
//! natively, asynchronously in the browser).

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::eval::Curve;
use crate::tasks::induction::{TokenEncoding, TokenSequence};

/// Mean, over every position i whose token occurred before, of the attention from
/// i to the positions right after the earlier occurrences of its token (summed when
/// there are several). `weights` is one head's patterns, row-major [batch, seq,
/// seq] (query row, key column). `None` when no token repeats.
pub fn prefix_matching_score(tokens: &[Vec<usize>], weights: &[f32]) -> Option<f64> {
    let mut sum = 0.0;
    let mut count = 0usize;
    for (b, seq) in tokens.iter().enumerate() {
        let s = seq.len();
        for i in 1..s {
            let row = &weights[(b * s + i) * s..(b * s + i + 1) * s];
            let mut found = false;
            let mut mass = 0.0;
            for j in 0..i {
                if seq[j] == seq[i] {
                    found = true;
                    mass += row[j + 1] as f64;
                }
            }
            if found {
                sum += mass;
                count += 1;
            }
        }
    }
    (count > 0).then(|| sum / count as f64)
}

/// The prefix-matching score of a head attending uniformly to every visible
/// position: the baseline a score should be read against on these sequences.
pub fn uniform_prefix_matching(tokens: &[Vec<usize>]) -> Option<f64> {
    let s = tokens.first()?.len();
    let mut row_major = vec![0f32; tokens.len() * s * s];
    for b in 0..tokens.len() {
        for i in 0..s {
            for j in 0..=i {
                row_major[(b * s + i) * s + j] = 1.0 / (i + 1) as f32;
            }
        }
    }
    prefix_matching_score(tokens, &row_major)
}

/// Mean attention from position i to i − 1, over i ≥ 1. `weights` as in
/// [`prefix_matching_score`].
pub fn previous_token_score(batch: usize, seq: usize, weights: &[f32]) -> f64 {
    let mut sum = 0.0;
    for b in 0..batch {
        for i in 1..seq {
            sum += weights[(b * seq + i) * seq + i - 1] as f64;
        }
    }
    sum / (batch * (seq - 1)).max(1) as f64
}

/// Olsson's copying score of an OV circuit (a square matrix): Σλ / Σ|λ| over its
/// complex eigenvalues (the real part of the sum). 0 for a zero matrix; `None` when
/// nalgebra's Schur iteration does not converge (its unbounded form can loop for
/// ever on some matrices, e.g. a cyclic permutation).
pub fn copying_score(ov: &DMatrix<f64>) -> Option<f64> {
    let schur = nalgebra::linalg::Schur::try_new(ov.clone(), 1e-12, 10_000)?;
    let eig = schur.complex_eigenvalues();
    let total: f64 = eig.iter().map(|l| l.norm()).sum();
    if total == 0.0 {
        return Some(0.0);
    }
    Some(eig.iter().map(|l| l.re).sum::<f64>() / total)
}

/// One head's scores at one evaluation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HeadScore {
    /// 0-based.
    pub layer: usize,
    pub head: usize,
    pub prefix_matching: f64,
    pub previous_token: f64,
    /// `None` when the model has no token embedding and read-out (not a token run).
    pub copying: Option<f64>,
}

impl HeadScore {
    /// `L1H2`, 1-based.
    pub fn label(&self) -> String {
        format!("L{}H{}", self.layer + 1, self.head + 1)
    }
}

/// A token run's evaluation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TokenReport {
    /// Cross-entropy (nats) of the next-token prediction at positions 0 … T − 2,
    /// mean ± standard error over the evaluation sequences.
    pub loss: Curve,
    /// The model's top-1 accuracy at each position.
    pub accuracy: Vec<f64>,
    /// The copy rule's accuracy at each position (where the current token is new it
    /// guesses, right with probability 1/V): the induction algorithm run exactly.
    pub copy_rule: Vec<f64>,
    /// ln V: the loss of a model that ignores its input.
    pub uniform_loss: f64,
    /// Mean loss over the last quarter of positions − over the first quarter.
    pub icl_score: f64,
    /// The prefix-matching score of a uniform head on these sequences (about 1/T
    /// when every token occurs at most twice; more when tokens recur).
    pub uniform_prefix_matching: f64,
    /// Mean loss where the copy rule applies (the token occurred before), and where it
    /// does not.
    pub repeat_loss: f64,
    pub new_loss: f64,
    pub heads: Vec<HeadScore>,
}

impl TokenReport {
    /// The head with the highest prefix-matching score.
    pub fn best_induction_head(&self) -> Option<&HeadScore> {
        self.heads
            .iter()
            .max_by(|a, b| a.prefix_matching.total_cmp(&b.prefix_matching))
    }
}

/// The attention patterns of a few evaluation sequences at one evaluation: what the
/// page's heatmaps show and its scrubber steps through.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AttentionSnapshot {
    pub prompts: Vec<PromptAttention>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PromptAttention {
    /// What each position holds, for people (`t17`, `x3`, `y3`, `label 4`).
    pub labels: Vec<String>,
    /// [layer][head]: row-major [seq, seq] weights, rounded to 1e-3.
    pub heads: Vec<Vec<Vec<f32>>>,
}

/// Sequences shown in the attention heatmaps.
pub const SNAPSHOT_PROMPTS: usize = 4;

/// One chunk of evaluation sequences after a forward pass, read back.
pub struct TokenPass {
    /// Row-major [batch, n]: cross-entropy at each read-out position.
    pub losses: Vec<f32>,
    /// Row-major [batch, n]: the model's most likely next token.
    pub predicted: Vec<usize>,
    /// Per layer, row-major [batch, heads, seq, seq].
    pub attention: Vec<Vec<f32>>,
    pub heads: usize,
}

/// The evaluation sequences of a token run and how they become tokens, fixed for
/// the run; each evaluation hands back the model's [`TokenPass`] per chunk.
pub struct TokenPlan {
    pub encoding: TokenEncoding,
    pub sequences: Vec<TokenSequence>,
    uniform_prefix: f64,
}

/// Sequences per forward pass (attention is [chunk, h, T, T] per layer).
pub const TOKEN_CHUNK: usize = 128;

impl TokenPlan {
    pub fn new(vocab: usize, length: usize, count: usize, rng: &mut crate::IclRng) -> Self {
        let sequences: Vec<TokenSequence> = (0..count)
            .map(|_| TokenSequence::sample(vocab, length, rng))
            .collect();
        let tokens: Vec<Vec<usize>> = sequences.iter().map(|s| s.tokens.clone()).collect();
        Self {
            encoding: TokenEncoding { vocab },
            uniform_prefix: uniform_prefix_matching(&tokens).unwrap_or(0.0),
            sequences,
        }
    }

    /// The sequences in forward-pass chunks.
    pub fn chunks(&self) -> impl Iterator<Item = &[TokenSequence]> {
        self.sequences.chunks(TOKEN_CHUNK)
    }

    /// The report and the first sequences' attention, from one [`TokenPass`] per
    /// chunk (in the order of [`TokenPlan::chunks`]) and, where the model has them,
    /// its OV circuits ([layer][head], [V, V]).
    pub fn report(
        &self,
        passes: &[TokenPass],
        ov: &[Vec<DMatrix<f64>>],
    ) -> (TokenReport, AttentionSnapshot) {
        let t = self.sequences[0].tokens.len();
        let n = t - 1;
        let v = self.encoding.vocab;
        let count = self.sequences.len() as f64;
        let mut per_pos: Vec<Vec<f64>> = vec![Vec::with_capacity(self.sequences.len()); n];
        let mut accuracy = vec![0.0; n];
        let mut copy_rule = vec![0.0; n];
        let (mut repeat, mut repeat_n, mut new, mut new_n) = (0.0, 0usize, 0.0, 0usize);
        let layers = passes.first().map_or(0, |p| p.attention.len());
        let heads = passes.first().map_or(0, |p| p.heads);
        // [layer][head]: (prefix sum, prefix count, previous-token sum)
        let mut sums = vec![vec![(0.0f64, 0usize, 0.0f64); heads]; layers];
        let mut snapshot = Vec::new();
        for (chunk, pass) in self.chunks().zip(passes) {
            let tokens: Vec<Vec<usize>> = chunk.iter().map(|s| s.tokens.clone()).collect();
            for (b, seq) in tokens.iter().enumerate() {
                let copy = TokenSequence::copy_rule(seq);
                for i in 0..n {
                    let loss = pass.losses[b * n + i] as f64;
                    per_pos[i].push(loss);
                    let next = seq[i + 1];
                    accuracy[i] += f64::from(pass.predicted[b * n + i] == next) / count;
                    copy_rule[i] += match copy[i] {
                        Some(c) => f64::from(c == next),
                        None => 1.0 / v as f64,
                    } / count;
                    if copy[i].is_some() {
                        repeat += loss;
                        repeat_n += 1;
                    } else {
                        new += loss;
                        new_n += 1;
                    }
                }
            }
            let batch = chunk.len();
            for (l, weights) in pass.attention.iter().enumerate() {
                for h in 0..heads {
                    // This head's [batch, t, t] patterns.
                    let head: Vec<f32> = (0..batch)
                        .flat_map(|b| {
                            let at = (b * heads + h) * t * t;
                            weights[at..at + t * t].iter().copied()
                        })
                        .collect();
                    let occurrences: usize = tokens
                        .iter()
                        .map(|s| {
                            TokenSequence::previous_occurrences(s)
                                .iter()
                                .flatten()
                                .count()
                        })
                        .sum();
                    let e = &mut sums[l][h];
                    if let Some(p) = prefix_matching_score(&tokens, &head) {
                        e.0 += p * occurrences as f64;
                        e.1 += occurrences;
                    }
                    e.2 += previous_token_score(batch, t, &head) * batch as f64;
                }
            }
            for (b, seq) in chunk.iter().enumerate() {
                if snapshot.len() == SNAPSHOT_PROMPTS {
                    break;
                }
                snapshot.push(PromptAttention {
                    labels: seq.tokens.iter().map(|x| format!("t{x}")).collect(),
                    heads: pass
                        .attention
                        .iter()
                        .map(|w| {
                            (0..heads)
                                .map(|h| {
                                    let at = (b * heads + h) * t * t;
                                    w[at..at + t * t]
                                        .iter()
                                        .map(|x| (x * 1000.0).round() / 1000.0)
                                        .collect()
                                })
                                .collect()
                        })
                        .collect(),
                });
            }
        }
        let loss = Curve::from_samples(&per_pos);
        let quarter = (n / 4).max(1);
        let mean = |r: std::ops::Range<usize>| {
            let len = r.len().max(1) as f64;
            loss.mean[r].iter().sum::<f64>() / len
        };
        let icl_score = mean(n - quarter..n) - mean(0..quarter);
        let scores = sums
            .iter()
            .enumerate()
            .flat_map(|(l, row)| {
                row.iter()
                    .enumerate()
                    .map(move |(h, (p, pc, prev))| HeadScore {
                        layer: l,
                        head: h,
                        prefix_matching: if *pc > 0 { p / *pc as f64 } else { 0.0 },
                        previous_token: prev / count,
                        copying: ov.get(l).and_then(|r| r.get(h)).and_then(copying_score),
                    })
            })
            .collect();
        (
            TokenReport {
                loss,
                accuracy,
                copy_rule,
                uniform_loss: (v as f64).ln(),
                icl_score,
                uniform_prefix_matching: self.uniform_prefix,
                repeat_loss: repeat / repeat_n.max(1) as f64,
                new_loss: new / new_n.max(1) as f64,
                heads: scores,
            },
            AttentionSnapshot { prompts: snapshot },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(batch: usize, seq: usize) -> Vec<f32> {
        let mut w = vec![0f32; batch * seq * seq];
        for b in 0..batch {
            for i in 0..seq {
                for j in 0..=i {
                    w[(b * seq + i) * seq + j] = 1.0 / (i + 1) as f32;
                }
            }
        }
        w
    }

    /// A perfect induction head attends, from every repeated token, to the token
    /// after its previous occurrence (and from new tokens to themselves).
    fn induction_head(tokens: &[Vec<usize>]) -> Vec<f32> {
        let seq = tokens[0].len();
        let mut w = vec![0f32; tokens.len() * seq * seq];
        for (b, s) in tokens.iter().enumerate() {
            for (i, prev) in TokenSequence::previous_occurrences(s)
                .into_iter()
                .enumerate()
            {
                let j = prev.map_or(i, |j| j + 1);
                w[(b * seq + i) * seq + j] = 1.0;
            }
        }
        w
    }

    fn sequences(n: usize, t: usize) -> Vec<Vec<usize>> {
        let mut rng = <crate::IclRng as rand::SeedableRng>::seed_from_u64(4);
        (0..n)
            .map(|_| TokenSequence::sample(64, t, &mut rng).tokens)
            .collect()
    }

    #[test]
    fn a_perfect_induction_head_scores_one_and_a_uniform_head_about_one_over_t() {
        let t = 32;
        // Olsson's probe: T/2 distinct random tokens, then the same again.
        let mut rng = <crate::IclRng as rand::SeedableRng>::seed_from_u64(4);
        let tokens: Vec<Vec<usize>> = (0..50)
            .map(|_| {
                let mut half: Vec<usize> = (0..64).collect();
                rand::seq::SliceRandom::shuffle(half.as_mut_slice(), &mut rng);
                half.truncate(t / 2);
                [half.clone(), half].concat()
            })
            .collect();
        let perfect = prefix_matching_score(&tokens, &induction_head(&tokens)).unwrap();
        assert!((perfect - 1.0).abs() < 1e-9, "{perfect}");
        let u = prefix_matching_score(&tokens, &uniform(50, t)).unwrap();
        // Every token of the second half occurred once before: 1/(i + 1), averaged
        // over i in [T/2, T), between 1/T and 2/T.
        let want = (t / 2..t).map(|i| 1.0 / (i + 1) as f64).sum::<f64>() / (t / 2) as f64;
        assert!((u - want).abs() < 1e-6, "{u} vs {want}");
        assert!(u > 1.0 / t as f64 && u < 2.0 / t as f64, "{u}");
        // On the training data tokens recur more often, and a uniform head scores
        // more: what the report gives as the baseline.
        let data = sequences(50, t);
        let busy = prefix_matching_score(&data, &uniform(50, t)).unwrap();
        assert!(busy > u, "{busy}");
        assert_eq!(uniform_prefix_matching(&data), Some(busy));
        // Neither is a previous-token head; a shifted identity is.
        assert!(previous_token_score(50, t, &induction_head(&tokens)) < 0.2);
        let mut prev = vec![0f32; t * t];
        prev[0] = 1.0;
        for i in 1..t {
            prev[i * t + i - 1] = 1.0;
        }
        assert_eq!(previous_token_score(1, t, &prev), 1.0);
        assert!(prefix_matching_score(&tokens[..1], &prev).unwrap() < 0.2);
    }

    #[test]
    fn copying_scores_of_hand_built_circuits() {
        let v = 6;
        let score = |m: &DMatrix<f64>| copying_score(m).unwrap();
        assert!((score(&DMatrix::identity(v, v)) - 1.0).abs() < 1e-12);
        assert!((score(&(-DMatrix::<f64>::identity(v, v))) + 1.0).abs() < 1e-12);
        assert_eq!(score(&DMatrix::zeros(v, v)), 0.0);
        // Pairs of tokens raising each other's logit and lowering their own twin's
        // (90° rotations, eigenvalues ±i) neither copy nor suppress: 0.
        let rot = DMatrix::from_fn(v, v, |i, j| match (i % 2, j) {
            (0, j) if j == i + 1 => 1.0,
            (1, j) if j + 1 == i => -1.0,
            _ => 0.0,
        });
        assert!(score(&rot).abs() < 1e-9, "{}", score(&rot));
        // Half copying, half suppressing: 0; mostly copying: between 0 and 1.
        let half = DMatrix::from_diagonal(&nalgebra::DVector::from_fn(v, |i, _| {
            if i % 2 == 0 { 1.0 } else { -1.0 }
        }));
        assert!(score(&half).abs() < 1e-12);
        let mostly = DMatrix::from_diagonal(&nalgebra::DVector::from_fn(v, |i, _| {
            if i == 0 { -1.0 } else { 1.0 }
        }));
        assert!((score(&mostly) - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn report_from_a_hand_built_pass() {
        let mut rng = <crate::IclRng as rand::SeedableRng>::seed_from_u64(9);
        let plan = TokenPlan::new(16, 12, 5, &mut rng);
        let t = 12;
        let n = t - 1;
        let tokens: Vec<Vec<usize>> = plan.sequences.iter().map(|s| s.tokens.clone()).collect();
        let induction = induction_head(&tokens);
        // Layer 0: head 0 uniform, head 1 induction; loss 3 early, 1 late.
        let mut attention = vec![0f32; 5 * 2 * t * t];
        let u = uniform(5, t);
        for b in 0..5 {
            let (src_u, src_i) = (&u[b * t * t..][..t * t], &induction[b * t * t..][..t * t]);
            attention[(b * 2) * t * t..][..t * t].copy_from_slice(src_u);
            attention[(b * 2 + 1) * t * t..][..t * t].copy_from_slice(src_i);
        }
        let losses: Vec<f32> = (0..5 * n)
            .map(|at| if at % n < n / 2 { 3.0 } else { 1.0 })
            .collect();
        // The model predicts exactly the copy rule where it applies, token 0 elsewhere.
        let predicted: Vec<usize> = tokens
            .iter()
            .flat_map(|s| {
                TokenSequence::copy_rule(s)[..n]
                    .iter()
                    .map(|c| c.unwrap_or(0))
                    .collect::<Vec<_>>()
            })
            .collect();
        let pass = TokenPass {
            losses,
            predicted,
            attention: vec![attention],
            heads: 2,
        };
        let ov = vec![vec![DMatrix::identity(16, 16), DMatrix::zeros(16, 16)]];
        let (r, snap) = plan.report(&[pass], &ov);
        assert_eq!(r.loss.mean.len(), n);
        assert_eq!(r.icl_score, 1.0 - 3.0);
        assert!((r.uniform_loss - 16f64.ln()).abs() < 1e-12);
        assert!(r.heads[1].prefix_matching > 0.999 && r.heads[0].prefix_matching < 0.5);
        assert_eq!(r.best_induction_head().unwrap().label(), "L1H2");
        assert_eq!(r.heads[0].copying, Some(1.0));
        // Where the copy rule applies the model is right, so its accuracy there
        // equals the copy rule's.
        for i in 0..n {
            assert!(r.accuracy[i] + 1e-9 >= r.copy_rule[i] - 1.0 / 16.0, "{i}");
        }
        assert_eq!(snap.prompts.len(), 4);
        assert_eq!(snap.prompts[0].heads.len(), 1);
        assert_eq!(snap.prompts[0].heads[0][1].len(), t * t);
    }
}
