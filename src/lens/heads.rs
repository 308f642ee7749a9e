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

use crate::curve::Curve;
use crate::tasks::classification::{ClassOrigin, ClassSequence};
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

/// Few-shot classification sequences (tokens x_1 l_1 … x_N l_N x_q): for each
/// sequence, the positions of the label tokens that follow context items of the
/// query's class (same training class, or the same novel class: novel classes
/// get distinct labels).
pub fn query_matches(seqs: &[ClassSequence]) -> Vec<Vec<usize>> {
    seqs.iter()
        .map(|s| {
            let n = s.context_len();
            let q = (s.classes[n], s.labels[n]);
            (0..n)
                .filter(|&i| (s.classes[i], s.labels[i]) == q)
                .map(|i| 2 * i + 1)
                .collect()
        })
        .collect()
}

/// Reddy's induction head, measured: the mean, over sequences whose query's class
/// is in the context, of the attention from the query (the last position) to the
/// label tokens of its class's items (`matches`, from [`query_matches`]).
/// `weights` is one head's patterns, row-major [batch, seq, seq].
pub fn query_label_score(matches: &[Vec<usize>], weights: &[f32], seq: usize) -> Option<f64> {
    let mut sum = 0.0;
    let mut count = 0usize;
    for (b, m) in matches.iter().enumerate() {
        if m.is_empty() {
            continue;
        }
        let row = &weights[(b * seq + seq - 1) * seq..(b * seq + seq) * seq];
        sum += m.iter().map(|&j| row[j] as f64).sum::<f64>();
        count += 1;
    }
    (count > 0).then(|| sum / count as f64)
}

/// Head scores and attention snapshot of a classification run, from its
/// attention (per layer, row-major [batch, heads, seq, seq]) on `seqs` (the ICL
/// probe's novel bursty sequences): prefix matching is [`query_label_score`].
pub fn class_heads(seqs: &[ClassSequence], attention: &[Vec<f32>], heads: usize) -> HeadLens {
    let Some(first) = seqs.first() else {
        return HeadLens {
            heads: Vec::new(),
            uniform_prefix_matching: 0.0,
            attention: AttentionSnapshot {
                prompts: Vec::new(),
            },
        };
    };
    let seq = 2 * first.context_len() + 1;
    let batch = seqs.len();
    let matches = query_matches(seqs);
    let scores = attention
        .iter()
        .enumerate()
        .flat_map(|(l, w)| {
            let matches = &matches;
            (0..heads).map(move |h| {
                let head = one_head(w, batch, heads, h, seq);
                HeadScore {
                    layer: l,
                    head: h,
                    prefix_matching: query_label_score(matches, &head, seq).unwrap_or(0.0),
                    previous_token: previous_token_score(batch, seq, &head),
                    copying: None,
                }
            })
        })
        .collect();
    let prompts = seqs
        .iter()
        .take(snapshot_count(attention.len(), heads, seq))
        .enumerate()
        .map(|(b, s)| {
            let n = s.context_len();
            let item = |i: usize| match s.classes[i] {
                ClassOrigin::Train(k) => format!("c{k}"),
                ClassOrigin::Task { task, class } => format!("t{task}c{class}"),
                ClassOrigin::Novel => format!("n{}", s.labels[i]),
            };
            let mut labels = Vec::with_capacity(seq);
            for i in 0..n {
                labels.push(item(i));
                labels.push(format!("→{}", s.labels[i]));
            }
            labels.push(format!("{}?", item(n)));
            PromptAttention {
                labels,
                heads: snapshot_heads(attention, b, heads, seq),
            }
        })
        .collect();
    // A uniform query row puts 1/seq on each matching label.
    let with_match: Vec<&Vec<usize>> = matches.iter().filter(|m| !m.is_empty()).collect();
    let uniform = with_match
        .iter()
        .map(|m| m.len() as f64 / seq as f64)
        .sum::<f64>()
        / with_match.len().max(1) as f64;
    HeadLens {
        heads: scores,
        uniform_prefix_matching: uniform,
        attention: AttentionSnapshot { prompts },
    }
}

/// Head `h`'s patterns, row-major [batch, seq, seq], out of one layer's attention
/// read back as [batch, heads, seq, seq].
fn one_head(layer: &[f32], batch: usize, heads: usize, h: usize, seq: usize) -> Vec<f32> {
    (0..batch)
        .flat_map(|b| {
            let at = (b * heads + h) * seq * seq;
            layer[at..at + seq * seq].iter().copied()
        })
        .collect()
}

/// Sequence `b`'s patterns, [layer][head][seq × seq], rounded to 1e-3 (what the
/// page shows and eval.json keeps).
fn snapshot_heads(
    attention: &[Vec<f32>],
    b: usize,
    heads: usize,
    seq: usize,
) -> Vec<Vec<Vec<f32>>> {
    attention
        .iter()
        .map(|w| {
            (0..heads)
                .map(|h| {
                    let at = (b * heads + h) * seq * seq;
                    w[at..at + seq * seq]
                        .iter()
                        .map(|x| (x * 1000.0).round() / 1000.0)
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// Sequences a classification run's head scores are measured on.
pub const CLASS_HEAD_SEQUENCES: usize = 128;

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
    /// Mean loss where the copy rule applies (the token occurred before), and where it
    /// does not.
    pub repeat_loss: f64,
    pub new_loss: f64,
}

/// The head with the highest prefix-matching score.
pub fn best_induction_head(heads: &[HeadScore]) -> Option<&HeadScore> {
    heads
        .iter()
        .max_by(|a, b| a.prefix_matching.total_cmp(&b.prefix_matching))
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

/// What the mechanism lens reads off the heads at one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadLens {
    pub heads: Vec<HeadScore>,
    /// The prefix-matching score a head attending uniformly would get on the same
    /// sequences: the baseline to read the scores against.
    pub uniform_prefix_matching: f64,
    pub attention: AttentionSnapshot,
}

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

/// Sequences shown in the attention heatmaps.
pub const SNAPSHOT_PROMPTS: usize = 4;

/// Most attention weights kept per evaluation (1 MiB of f32): the page keeps a
/// snapshot of every evaluation for its scrubber, so large models keep fewer
/// sequences, and none past the budget (24 layers × 16 heads × T = 256 would be
/// 100 MB per evaluation).
pub const SNAPSHOT_BUDGET: usize = 1 << 18;

/// How many sequences' patterns an evaluation keeps for a model of `layers` ×
/// `heads` on `seq` positions: up to [`SNAPSHOT_PROMPTS`] within
/// [`SNAPSHOT_BUDGET`].
pub fn snapshot_count(layers: usize, heads: usize, seq: usize) -> usize {
    (SNAPSHOT_BUDGET / (layers * heads * seq * seq).max(1)).min(SNAPSHOT_PROMPTS)
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
    ) -> (TokenReport, HeadLens) {
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
            // Positions whose token occurred before: the weight of this chunk's
            // prefix-matching mean.
            let occurrences: usize = tokens
                .iter()
                .map(|s| {
                    TokenSequence::previous_occurrences(s)
                        .iter()
                        .flatten()
                        .count()
                })
                .sum();
            for (weights, layer) in pass.attention.iter().zip(&mut sums) {
                for (h, e) in layer.iter_mut().enumerate() {
                    let head = one_head(weights, batch, heads, h, t);
                    if let Some(p) = prefix_matching_score(&tokens, &head) {
                        e.0 += p * occurrences as f64;
                        e.1 += occurrences;
                    }
                    e.2 += previous_token_score(batch, t, &head) * batch as f64;
                }
            }
            for (b, seq) in chunk.iter().enumerate() {
                if snapshot.len() == snapshot_count(layers, heads, t) {
                    break;
                }
                snapshot.push(PromptAttention {
                    labels: seq.tokens.iter().map(|x| format!("t{x}")).collect(),
                    heads: snapshot_heads(&pass.attention, b, heads, t),
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
                repeat_loss: repeat / repeat_n.max(1) as f64,
                new_loss: new / new_n.max(1) as f64,
            },
            HeadLens {
                heads: scores,
                uniform_prefix_matching: self.uniform_prefix,
                attention: AttentionSnapshot { prompts: snapshot },
            },
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
        let (r, lens) = plan.report(&[pass], &ov);
        let (heads, snap) = (lens.heads, lens.attention);
        assert_eq!(r.loss.mean.len(), n);
        assert_eq!(r.icl_score, 1.0 - 3.0);
        assert!((r.uniform_loss - 16f64.ln()).abs() < 1e-12);
        assert!(heads[1].prefix_matching > 0.999 && heads[0].prefix_matching < 0.5);
        assert_eq!(best_induction_head(&heads).unwrap().label(), "L1H2");
        assert_eq!(heads[0].copying, Some(1.0));
        // Where the copy rule applies the model is right, so its accuracy there
        // equals the copy rule's.
        for i in 0..n {
            assert!(r.accuracy[i] + 1e-9 >= r.copy_rule[i] - 1.0 / 16.0, "{i}");
        }
        assert_eq!(snap.prompts.len(), 4);
        assert_eq!(snap.prompts[0].heads.len(), 1);
        assert_eq!(snap.prompts[0].heads[0][1].len(), t * t);
    }

    #[test]
    fn reddys_induction_head_reads_the_label_of_the_querys_class() {
        use nalgebra::DMatrix;
        // N = 4: classes 7, novel(label 2), 7, 3; query of class 7 (label 5).
        let s = ClassSequence {
            items: DMatrix::zeros(5, 2),
            labels: vec![5, 2, 5, 1, 5],
            classes: vec![
                ClassOrigin::Train(7),
                ClassOrigin::Novel,
                ClassOrigin::Train(7),
                ClassOrigin::Train(3),
                ClassOrigin::Train(7),
            ],
        };
        let matches = query_matches(std::slice::from_ref(&s));
        assert_eq!(matches, vec![vec![1, 5]]);
        let seq = 9;
        // The query splits its attention over the two matching labels: score 1.
        let mut w = vec![0f32; seq * seq];
        for i in 0..seq {
            w[i * seq + i] = 1.0;
        }
        w[8 * seq + 8] = 0.0;
        w[8 * seq + 1] = 0.5;
        w[8 * seq + 5] = 0.5;
        assert_eq!(query_label_score(&matches, &w, seq), Some(1.0));
        // Uniform over the 9 visible positions: 2/9.
        let u: Vec<f32> = (0..seq * seq)
            .map(|at| {
                if at % seq <= at / seq {
                    1.0 / (at / seq + 1) as f32
                } else {
                    0.0
                }
            })
            .collect();
        assert!((query_label_score(&matches, &u, seq).unwrap() - 2.0 / 9.0).abs() < 1e-6);
        // A query whose class is absent is not scored.
        assert_eq!(query_label_score(&[vec![]], &u, seq), None);
        let lens = class_heads(&[s], &[w.clone()], 1);
        assert_eq!(lens.heads[0].prefix_matching, 1.0);
        assert!((lens.uniform_prefix_matching - 2.0 / 9.0).abs() < 1e-12);
        let snap = lens.attention;
        assert_eq!(
            snap.prompts[0].labels,
            ["c7", "→5", "n2", "→2", "c7", "→5", "c3", "→1", "c7?"]
        );
    }

    #[test]
    fn large_models_keep_fewer_attention_snapshots() {
        assert_eq!(snapshot_count(2, 2, 32), 4);
        assert_eq!(snapshot_count(4, 4, 64), 4);
        assert_eq!(snapshot_count(8, 8, 64), 1);
        assert_eq!(snapshot_count(24, 16, 256), 0);
        // No sequences at all: the report still has scores, and no patterns.
        let mut rng = <crate::IclRng as rand::SeedableRng>::seed_from_u64(2);
        let plan = TokenPlan::new(8, 256, 2, &mut rng);
        let n = 255;
        let pass = TokenPass {
            losses: vec![1.0; 2 * n],
            predicted: vec![0; 2 * n],
            attention: vec![vec![0.0; 2 * 16 * 256 * 256]; 1],
            heads: 16,
        };
        let (_, lens) = plan.report(&[pass], &[]);
        assert_eq!(lens.heads.len(), 16);
        assert_eq!(
            lens.attention.prompts.len(),
            0,
            "1 × 16 × 256² = 1M weights > the budget"
        );
    }
}
