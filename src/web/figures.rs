//! What the history charts show, as plain data: the probe accuracies through training
//! (with chance and the ICL peak), the model's distance to each algorithm through
//! training, and a sweep's threshold curve. Built here from the page state, drawn by
//! `charts::FigureChart`; platform-neutral, so tested natively.

use super::chart_id::ChartId;
use crate::eval::EvalReport;
use crate::lens::algorithms::AlgorithmMatch;
use crate::metric::{Head, Metric, Metrics, algorithm_label};
use crate::probes::Probe;
use crate::sweep::{SweepSummary, combined, value_label, value_number};

/// Okabe & Ito's colour-blind-safe palette, fixed per predictor (RGB).
pub fn predictor_rgb(name: &str) -> (u8, u8, u8) {
    match name {
        "model" => (0, 0, 0),
        "least_squares" => (0, 114, 178),
        n if n.starts_with("ridge") => (0, 158, 115),
        "averaging" => (230, 159, 0),
        n if n.starts_with("knn") => (204, 121, 167),
        "dmmse" => (213, 94, 0),
        "lasso" => (86, 180, 233),
        n if n.starts_with("gd") => (180, 150, 0),
        n if n.starts_with("newton") => (86, 180, 233),
        "nn_gd" => (213, 94, 0),
        // the trees: the tree family's own two lines, vermilion and sky blue as
        // the network fit and Lasso (never drawn with them)
        n if n.starts_with("tree_") => (213, 94, 0),
        "boosted_trees" => (86, 180, 233),
        _ => (153, 153, 153),
    }
}

/// The colour of a figure's line by its key: the probes get four Okabe–Ito colours
/// of their own, the algorithm lens's GD-1 / best GD-t / GD++-t / Newton-t too, a
/// sweep's combined metrics two; everything else keeps its predictor's colour. The
/// page (`charts.rs`) and `examples/data_figure.rs` both draw with it.
pub fn line_rgb(key: &str) -> (u8, u8, u8) {
    match key {
        "icl" => (0, 114, 178),
        "in_weights" => (213, 94, 0),
        "flipped_context" => (86, 180, 233),
        "flipped_prior" => (230, 159, 0),
        "alg_gd_1" => (204, 121, 167),
        "alg_gd" => (180, 150, 0),
        "alg_newton" => (213, 94, 0),
        "alg_gdpp" => (86, 180, 233),
        "metric_0" => (0, 114, 178),
        "metric_1" => (213, 94, 0),
        "icl_score" => (0, 114, 178),
        "uniform" => (153, 153, 153),
        "ablated" => (213, 94, 0),
        k if k.starts_with("head_") || k.starts_with("run_") => {
            // Okabe–Ito, one colour per head (layer-major), cycling past seven.
            const HEADS: [(u8, u8, u8); 7] = [
                (0, 114, 178),
                (213, 94, 0),
                (0, 158, 115),
                (204, 121, 167),
                (230, 159, 0),
                (86, 180, 233),
                (0, 0, 0),
            ];
            let i: usize = k[k.find('_').map_or(0, |i| i + 1)..]
                .split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            HEADS[i % HEADS.len()]
        }
        k => predictor_rgb(k.strip_prefix("alg_").unwrap_or(k)),
    }
}

/// One line of a figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Key for the colour and the legend (`icl`, `pool_distance_dmmse`, …).
    pub key: String,
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// ± half-width of an error bar at each point (a seeded sweep's standard
    /// error); empty: no bars.
    pub error: Vec<f64>,
    /// Individual values drawn as small open markers behind the line (each seed of
    /// a seeded sweep); empty: none.
    pub spread: Vec<(f64, f64)>,
}

/// A labelled point worth pointing at (the ICL peak).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub at: (f64, f64),
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Which chart: the canvas's `data-chart`.
    pub id: ChartId,
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_log: bool,
    pub y_log: bool,
    /// Fixed y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    pub lines: Vec<Line>,
    /// Horizontal reference lines (value, label): chance.
    pub hlines: Vec<(f64, String)>,
    pub marks: Vec<Mark>,
    /// A sentence under the chart saying what it shows now.
    pub caption: String,
    /// Tick labels for x values that are not plain numbers (∞ for an infinite pool).
    pub x_labels: Vec<(f64, String)>,
}

impl Line {
    /// The error bars to draw: (x, mean − e, mean, mean + e) where e > 0.
    pub fn bars(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        self.points
            .iter()
            .zip(&self.error)
            .filter(|(_, e)| **e > 0.0)
            .map(|(p, e)| (p.0, p.1 - e, p.1, p.1 + e))
    }
}

impl Figure {
    /// Every point drawn (markers, the ends of error bars, each seed's value): what
    /// the axes must hold.
    pub fn drawn_points(&self) -> Vec<(f64, f64)> {
        self.lines
            .iter()
            .flat_map(|l| {
                let bars = l
                    .points
                    .iter()
                    .zip(&l.error)
                    .flat_map(|(p, e)| [(p.0, p.1 - e), (p.0, p.1 + e)]);
                l.points
                    .iter()
                    .copied()
                    .chain(bars)
                    .chain(l.spread.iter().copied())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// The probes' names for people.
pub fn probe_label(name: &str) -> &'static str {
    match name {
        "icl" => "ICL: novel classes",
        "in_weights" => "in-weights: query class absent",
        "flipped_context" => "flipped labels: follows the context",
        "flipped_prior" => "flipped labels: follows its prior",
        _ => "other",
    }
}

/// What the ICL probe's sequences are new in, for people: classes never seen, or
/// (with Kirsch's tasks) tasks never seen.
pub fn novel_in(c: &crate::tasks::ClassificationConfig) -> &'static str {
    if c.tasks.is_some() {
        "new tasks"
    } else {
        "novel classes"
    }
}

/// ICL is said to have faded when its accuracy fell this far below its peak.
pub const FADE: f64 = 0.15;

/// Probe accuracies through training. `history` holds (step, final metrics) of
/// every evaluation; `chance` is 1/L; `novel` names what the ICL probe's sequences
/// are new in ("novel classes", or "new tasks" with Kirsch's tasks).
pub fn probe_figure(history: &[(usize, Metrics)], chance: f64, novel: &str) -> Figure {
    let lines: Vec<Line> = Probe::ALL
        .iter()
        .map(|p| Line {
            key: p.name().to_string(),
            label: match p {
                Probe::Icl => format!("ICL: {novel}"),
                _ => probe_label(p.name()).into(),
            },
            points: history
                .iter()
                .filter_map(|(s, m)| m.get(&Metric::Probe(*p)).map(|v| (*s as f64, *v)))
                .collect(),
            dashed: matches!(p, Probe::FlippedContext | Probe::FlippedPrior),
            error: Vec::new(),
            spread: Vec::new(),
        })
        .collect();
    let icl = &lines[0].points;
    let mut marks = Vec::new();
    let mut caption = String::new();
    if let Some(&(peak_step, peak)) = icl.iter().max_by(|a, b| a.1.total_cmp(&b.1))
        && let Some(&(last_step, last)) = icl.last()
    {
        if peak > chance + 0.1 {
            marks.push(Mark {
                at: (peak_step, peak),
                text: format!("ICL peak {peak:.2}"),
            });
        }
        caption = if peak - last >= FADE && last_step > peak_step {
            format!(
                "Transient ICL: accuracy on {novel} peaked at {peak:.2} (step {peak_step:.0}) and has faded to {last:.2} (step {last_step:.0})."
            )
        } else if peak > chance + 0.1 {
            format!(
                "ICL accuracy on {novel}: {last:.2} at step {last_step:.0} (peak {peak:.2}); chance is {chance:.3}."
            )
        } else {
            format!("ICL accuracy on {novel} is still near chance ({chance:.3}).")
        };
    }
    Figure {
        id: ChartId::Probes,
        title: "Probes: in context or in the weights?".into(),
        x_desc: "training step".into(),
        y_desc: "accuracy".into(),
        x_log: false,
        y_log: false,
        y_range: Some((0.0, 1.0)),
        lines,
        hlines: vec![(chance, format!("chance 1/L = {chance:.3}"))],
        marks,
        caption,
        x_labels: Vec::new(),
    }
}

/// The phase change: the evaluation step after the steepest fall of the ICL score
/// per training step (Olsson's marker for token runs), with the score there; for
/// classification runs, the steepest rise of the best head's prefix-matching score
/// (Reddy's induction head forming; the ICL accuracy's own first rise, from chance
/// to the copy-a-context-label plateau, is steeper and not the transition), with
/// the score.
///
/// Only a real jump followed by a plateau is called one (`None` otherwise: the
/// page then says "no phase change yet"): at least four evaluations; the curve moved
/// by at least 0.1 in all; the steepest segment at least twice the run's average
/// slope; a later evaluation where the change has slowed to a third of it (a jump
/// at the latest evaluation may still be a smooth decline); and, for a head's
/// score, ending at least 0.1 above what a head attending uniformly scores.
pub fn phase_change(history: &[(usize, Metrics)]) -> Option<(usize, f64)> {
    let tokens = history
        .iter()
        .any(|(_, m)| m.contains_key(&Metric::IclScore));
    let (key, sign) = if tokens {
        (Metric::IclScore, 1.0)
    } else {
        (Metric::PrefixMatching(Head::Max), -1.0)
    };
    // Signed so that the change sought is a fall.
    let points: Vec<(usize, f64)> = history
        .iter()
        .filter_map(|(s, m)| m.get(&key).map(|v| (*s, sign * *v)))
        .collect();
    if points.len() < 4 {
        return None;
    }
    let slopes: Vec<f64> = points
        .windows(2)
        .map(|w| (w[0].1 - w[1].1) / (w[1].0 - w[0].0).max(1) as f64)
        .collect();
    let (i, steepest) = slopes
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let at = points[i + 1];
    let (first, last) = (points[0], points[points.len() - 1]);
    let total = first.1 - points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let average = (first.1 - last.1) / (last.0 - first.0).max(1) as f64;
    let abrupt = steepest > 0.0 && steepest >= 2.0 * average.max(0.0);
    let plateau = slopes[i + 1..].iter().any(|s| *s < steepest / 3.0);
    let above_uniform = tokens
        || history
            .iter()
            .find(|(s, _)| *s == at.0)
            .and_then(|(_, m)| m.get(&Metric::PrefixMatching(Head::Uniform)))
            .is_none_or(|u| sign * at.1 >= u + 0.1);
    (total >= 0.1 && abrupt && plateau && above_uniform).then_some((at.0, sign * at.1))
}

/// Per head through training: prefix-matching score (solid) and previous-token
/// score (dashed), with the phase change marked.
pub fn head_score_figure(history: &[(usize, Metrics)]) -> Option<Figure> {
    let last = &history.last()?.1;
    let heads: Vec<Head> = last
        .keys()
        .filter_map(|k| match k {
            Metric::PrefixMatching(h @ Head::At { .. }) => Some(*h),
            _ => None,
        })
        .collect();
    if heads.is_empty() {
        return None;
    }
    let series = |key: Metric| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|(s, m)| m.get(&key).map(|v| (*s as f64, *v)))
            .collect()
    };
    let mut lines = Vec::new();
    for (i, h) in heads.iter().enumerate() {
        lines.push(Line {
            key: format!("head_{i}_prefix"),
            label: format!("{h} prefix matching"),
            points: series(Metric::PrefixMatching(*h)),
            dashed: false,
            error: Vec::new(),
            spread: Vec::new(),
        });
        lines.push(Line {
            key: format!("head_{i}_previous"),
            label: format!("{h} previous token"),
            points: series(Metric::PreviousToken(*h)),
            dashed: true,
            error: Vec::new(),
            spread: Vec::new(),
        });
    }
    let best = heads
        .iter()
        .max_by(|a, b| {
            let v = |h: &Head| {
                last.get(&Metric::PrefixMatching(*h))
                    .copied()
                    .unwrap_or(0.0)
            };
            v(a).total_cmp(&v(b))
        })
        .copied()?;
    let best_score = last
        .get(&Metric::PrefixMatching(best))
        .copied()
        .unwrap_or(0.0);
    let uniform = last.get(&Metric::PrefixMatching(Head::Uniform)).copied();
    let baseline = uniform.map_or(String::new(), |u| {
        format!(" (a head attending uniformly would score {u:.2} on these sequences)")
    });
    let mut marks = Vec::new();
    let caption = match phase_change(history) {
        Some((step, _)) => {
            let at = history
                .iter()
                .find(|(s, _)| *s == step)
                .and_then(|(_, m)| m.get(&Metric::PrefixMatching(best)).copied())
                .unwrap_or(best_score);
            marks.push(Mark {
                at: (step as f64, at),
                text: format!("phase change, step {step}"),
            });
            let what = if history
                .iter()
                .any(|(_, m)| m.contains_key(&Metric::IclScore))
            {
                "The ICL score fell"
            } else {
                "The best head's score rose"
            };
            format!(
                "Best induction head {best}: prefix-matching score {best_score:.2}{baseline}. {what} fastest just before step {step}."
            )
        }
        None => format!(
            "Best prefix-matching score so far: {best} at {best_score:.2}{baseline}; no phase change yet."
        ),
    };
    Some(Figure {
        id: ChartId::Heads,
        title: "Head scores through training".into(),
        x_desc: "training step".into(),
        y_desc: "attention score".into(),
        x_log: false,
        y_log: false,
        y_range: Some((0.0, 1.0)),
        lines,
        hlines: uniform
            .map(|u| vec![(u, "uniform attention".to_string())])
            .unwrap_or_default(),
        marks,
        caption,
        x_labels: Vec::new(),
    })
}

/// Per head through training: Olsson's copying score of its OV circuit (token runs).
pub fn copying_figure(history: &[(usize, Metrics)]) -> Option<Figure> {
    let last = &history.last()?.1;
    let heads: Vec<Head> = last
        .keys()
        .filter_map(|k| match k {
            Metric::Copying(h) => Some(*h),
            _ => None,
        })
        .collect();
    if heads.is_empty() {
        return None;
    }
    let lines: Vec<Line> = heads
        .iter()
        .enumerate()
        .map(|(i, h)| Line {
            key: format!("head_{i}_copying"),
            label: h.to_string(),
            points: history
                .iter()
                .filter_map(|(s, m)| m.get(&Metric::Copying(*h)).map(|v| (*s as f64, *v)))
                .collect(),
            dashed: false,
            error: Vec::new(),
            spread: Vec::new(),
        })
        .collect();
    let now: Vec<String> = heads
        .iter()
        .map(|h| format!("{h} {:.2}", last[&Metric::Copying(*h)]))
        .collect();
    Some(Figure {
        id: ChartId::Copying,
        title: "Copying score of each head's OV circuit".into(),
        x_desc: "training step".into(),
        y_desc: "Σλ / Σ|λ|".into(),
        x_log: false,
        y_log: false,
        y_range: Some((-1.0, 1.0)),
        lines,
        hlines: vec![(0.0, "neither copies nor suppresses".into())],
        marks: Vec::new(),
        caption: format!(
            "1: attending to a token raises that token's logit (copying), −1: lowers it. Now: {}.",
            now.join(", ")
        ),
        x_labels: Vec::new(),
    })
}

/// The ICL score (loss late in the context − early) through training, beside the
/// mean next-token loss, with the phase change marked.
pub fn icl_score_figure(history: &[(usize, Metrics)]) -> Option<Figure> {
    let series = |key: Metric| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|(s, m)| m.get(&key).map(|v| (*s as f64, *v)))
            .collect()
    };
    let score = series(Metric::IclScore);
    let &(last_step, last) = score.last()?;
    let mut marks = Vec::new();
    let caption = match phase_change(history) {
        Some((step, v)) => {
            marks.push(Mark {
                at: (step as f64, v),
                text: format!("phase change, step {step}"),
            });
            format!(
                "ICL score {last:.2} at step {last_step:.0}: late tokens are predicted {:.2} nats better than early ones. Its steepest fall (the phase change) ended at step {step}.",
                -last
            )
        }
        None => format!(
            "ICL score {last:.2} at step {last_step:.0} (negative when later tokens are predicted better than early ones)."
        ),
    };
    Some(Figure {
        id: ChartId::IclScore,
        title: "ICL score: loss late in the context − early".into(),
        x_desc: "training step".into(),
        y_desc: "nats".into(),
        x_log: false,
        y_log: false,
        y_range: None,
        lines: vec![
            Line {
                key: "icl_score".into(),
                label: "ICL score".into(),
                points: score,
                dashed: false,
                error: Vec::new(),
                spread: Vec::new(),
            },
            Line {
                key: "uniform".into(),
                label: "mean next-token loss".into(),
                points: series(Metric::Loss),
                dashed: true,
                error: Vec::new(),
                spread: Vec::new(),
            },
        ],
        hlines: vec![(0.0, "no help from the context".into())],
        marks,
        caption,
        x_labels: Vec::new(),
    })
}

/// A token run's next-token loss at each position, beside ln V and, when heads are
/// ablated, the ablated model's.
pub fn token_loss_figure(report: &EvalReport, ablated: Option<&EvalReport>) -> Option<Figure> {
    let t = report.tokens.as_ref()?;
    let curve = |r: &crate::lens::heads::TokenReport| -> Vec<(f64, f64)> {
        r.loss
            .mean
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 + 1.0, *v))
            .collect()
    };
    let mut lines = vec![Line {
        key: "model".into(),
        label: "model".into(),
        points: curve(t),
        dashed: false,
        error: Vec::new(),
        spread: Vec::new(),
    }];
    let mut caption = format!(
        "Step {}: {:.2} nats where the token occurred before, {:.2} on new tokens (ln V = {:.2}).",
        report.step, t.repeat_loss, t.new_loss, t.uniform_loss
    );
    if let Some(a) = ablated.and_then(|a| a.tokens.as_ref().map(|t| (a, t))) {
        let names: Vec<String> = a.0.ablated.iter().map(|h| h.label()).collect();
        lines.push(Line {
            key: "ablated".into(),
            label: format!("{} ablated", names.join(", ")),
            points: curve(a.1),
            dashed: true,
            error: Vec::new(),
            spread: Vec::new(),
        });
        caption.push_str(&format!(
            " With {} ablated: {:.2} where the token occurred before ({:+.2}), ICL score {:.2} instead of {:.2}.",
            names.join(", "),
            a.1.repeat_loss,
            a.1.repeat_loss - t.repeat_loss,
            a.1.icl_score,
            t.icl_score
        ));
    }
    Some(Figure {
        id: ChartId::TokenLoss,
        title: "Next-token loss by position".into(),
        x_desc: "position of the predicted token".into(),
        y_desc: "cross-entropy (nats)".into(),
        x_log: false,
        y_log: false,
        y_range: Some((0.0, t.uniform_loss * 1.15)),
        lines,
        hlines: vec![(t.uniform_loss, "ln V: no information".into())],
        marks: Vec::new(),
        caption,
        x_labels: Vec::new(),
    })
}

/// The model's distance to dMMSE and to ridge (or least squares) through training,
/// on pool and fresh tasks: which algorithm does it behave like?
pub fn distance_figure(history: &[(usize, Metrics)]) -> Option<Figure> {
    let last = history.last()?.1.clone();
    // (set, baseline) pairs the last evaluation has.
    let mut keys: Vec<(&str, &str)> = ["pool", "fresh"]
        .into_iter()
        .flat_map(|set| ["dmmse", "ridge", "least_squares"].map(|b| (set, b)))
        .filter(|(set, b)| last.contains_key(&Metric::distance(set, b)))
        .collect();
    // ridge and least squares say the same on noiseless tasks; keep ridge when both.
    if keys.iter().any(|(_, b)| *b == "ridge") {
        keys.retain(|(_, b)| *b != "least_squares");
    }
    if keys.is_empty() {
        return None;
    }
    let lines = keys
        .iter()
        .map(|&(set, b)| {
            let k = Metric::distance(set, b);
            Line {
                key: b.to_string(),
                label: format!(
                    "to {} on {} tasks",
                    match b {
                        "dmmse" => "dMMSE",
                        "ridge" => "ridge",
                        _ => "least squares",
                    },
                    set
                ),
                points: history
                    .iter()
                    .filter_map(|(s, m)| m.get(&k).map(|v| (*s as f64, v.max(1e-6))))
                    .collect(),
                dashed: set == "fresh",
                error: Vec::new(),
                spread: Vec::new(),
            }
        })
        .collect();
    let nearest = |set: &str| {
        let d = |&(s, b): &(&str, &str)| last[&Metric::distance(s, b)];
        keys.iter()
            .filter(|(s, _)| *s == set)
            .min_by(|a, b| d(a).total_cmp(&d(b)))
            .map(|(_, b)| b.replace('_', " "))
    };
    let caption = match (nearest("pool"), nearest("fresh")) {
        (Some(p), Some(f)) => format!(
            "Now closest to {} on pool tasks and to {} on fresh tasks.",
            p.replace("dmmse", "dMMSE"),
            f.replace("dmmse", "dMMSE")
        ),
        (None, Some(f)) => format!("Now closest to {}.", f.replace("dmmse", "dMMSE")),
        _ => String::new(),
    };
    Some(Figure {
        id: ChartId::Distance,
        title: "Which algorithm does the model run?".into(),
        x_desc: "training step".into(),
        y_desc: "(model − algorithm)² / d (log)".into(),
        x_log: false,
        y_log: true,
        y_range: None,
        lines,
        hlines: Vec::new(),
        marks: Vec::new(),
        caption,
        x_labels: Vec::new(),
    })
}

/// The kind of algorithm a lens name belongs to (`gd_4` → "GD").
fn algorithm_family(name: &str) -> &'static str {
    if name.starts_with("gdpp_") {
        "GD++"
    } else if name.starts_with("gd_") {
        "GD"
    } else if name.starts_with("newton_") {
        "Newton"
    } else if name == "ridge" {
        "ridge"
    } else {
        "least squares"
    }
}

/// Cosines closer than this to the best count as a tie. Measured on the default
/// lesson (step 600, 32 prompts): a mean cosine's standard error is 0.003–0.016
/// depending on k; algorithms are compared on the same prompts, so their
/// differences vary less, but ties this close are not a real preference.
pub const TIE: f64 = 0.005;

/// The cosine an algorithm's implicit weights must reach to be called the model's
/// match at a k; below it the lens says "no match yet" (an untrained model's weights
/// point nowhere in particular, and the best of five at cos 0.2 is not a match).
pub const MATCH: f64 = 0.9;

/// The best matches by k, in runs: "k = 2–5: GD / GD++ (cos ≥ 0.95); k = 6–20: least
/// squares (cos ≥ 0.99)". At each k every kind of algorithm within [`TIE`] of the
/// best (within 10 % by prediction difference) is named, so near-ties do not flicker
/// between GD-8 and GD++-4; ridge is left out where it equals least squares.
const NO_MATCH: &str = "no match yet";

fn best_runs(m: &AlgorithmMatch, with_ridge: bool) -> String {
    const ORDER: [&str; 5] = ["least squares", "ridge", "GD", "GD++", "Newton"];
    let weights = m.has_weights();
    let mut runs: Vec<(usize, usize, Vec<&str>, f64)> = Vec::new();
    for (i, &k) in m.k.iter().enumerate() {
        if k < 2 {
            continue; // k = 1: every algorithm points along x_1.
        }
        // Each kind's best score at this k.
        let mut kinds: Vec<(&str, f64)> = Vec::new();
        for (name, diff) in &m.prediction_difference {
            if name == "ridge" && !with_ridge {
                continue;
            }
            let score = if weights {
                match m.cosine.get(name).and_then(|v| v[i]) {
                    Some(c) => c,
                    None => continue,
                }
            } else {
                -diff[i]
            };
            let kind = algorithm_family(name);
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some(e) => e.1 = e.1.max(score),
                None => kinds.push((kind, score)),
            }
        }
        let Some(best) = kinds.iter().map(|k| k.1).max_by(f64::total_cmp) else {
            continue;
        };
        let near = |s: f64| {
            if weights {
                s >= best - TIE
            } else {
                -s <= -best * 1.1
            }
        };
        let tied: Vec<&str> = ORDER
            .iter()
            .copied()
            .filter(|o| kinds.iter().any(|(k, s)| k == o && near(*s)))
            .collect();
        let tied = if weights && best < MATCH {
            vec![NO_MATCH]
        } else {
            tied
        };
        let shown = if weights { best } else { -best };
        match runs.last_mut() {
            Some(r) if r.2 == tied => {
                r.1 = k;
                r.3 = if weights {
                    r.3.min(shown)
                } else {
                    r.3.max(shown)
                };
            }
            _ => runs.push((k, k, tied, shown)),
        }
    }
    runs.iter()
        .map(|(a, b, kinds, s)| {
            let ks = if a == b {
                format!("k = {a}")
            } else {
                format!("k = {a}–{b}")
            };
            if kinds == &[NO_MATCH] {
                return format!("{ks}: {NO_MATCH} (no algorithm reaches cos {MATCH:.2})");
            }
            let score = if weights {
                format!("cos ≥ {s:.2}")
            } else {
                format!("diff ≤ {s:.3}")
            };
            format!("{ks}: {} ({score})", kinds.join(" / "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The algorithm lens of one evaluation: at each k, how closely the model matches
/// least squares, ridge, one GD step, the best GD-t and the best Newton-t (implicit
/// weights' cosine; prediction difference when weights cannot be recovered).
pub fn algorithm_figure(m: &AlgorithmMatch, step: usize) -> Option<Figure> {
    if m.k.is_empty() {
        return None;
    }
    let mut names = vec!["least_squares".to_string()];
    // Ridge is least squares on noiseless tasks: draw it only when they differ.
    let differs = m
        .prediction_difference
        .get("ridge")
        .zip(m.prediction_difference.get("least_squares"))
        .is_some_and(|(r, l)| {
            r.iter()
                .zip(l)
                .any(|(a, b)| (a - b).abs() > 1e-9 * (1.0 + a.abs()))
        });
    if differs {
        names.push("ridge".into());
    }
    names.push("gd_1".into());
    names.extend(m.best_member("gd_", &["gd_1"]));
    names.extend(m.best_member("gdpp_", &[]));
    names.extend(m.best_member("newton_", &[]));
    let weights = m.has_weights();
    let lines = names
        .iter()
        .filter(|n| m.prediction_difference.contains_key(*n))
        .map(|n| Line {
            key: format!(
                "alg_{}",
                if n.starts_with("gd_") && n != "gd_1" {
                    "gd"
                } else if n.starts_with("newton_") {
                    "newton"
                } else if n.starts_with("gdpp_") {
                    "gdpp"
                } else {
                    n
                }
            ),
            label: algorithm_label(n),
            points: m
                .k
                .iter()
                .enumerate()
                .filter_map(|(i, &k)| {
                    let v = if weights {
                        m.cosine.get(n)?.get(i).copied().flatten()?
                    } else {
                        m.prediction_difference.get(n)?.get(i)?.max(1e-6)
                    };
                    Some((k as f64, v))
                })
                .collect(),
            dashed: n == "gd_1",
            error: Vec::new(),
            spread: Vec::new(),
        })
        .collect();
    let runs = best_runs(m, differs);
    let caption = if weights {
        format!(
            "Best match at step {step} (kinds within {TIE} of the best named together): {runs}."
        )
    } else {
        format!(
            "Best match at step {step} by predictions: {runs}. (Implicit weights need [x, y] tokens: task.encoding = concatenated.)"
        )
    };
    Some(Figure {
        id: ChartId::Algorithms,
        title: "Which algorithm does the model run at each k?".into(),
        x_desc: "in-context examples k".into(),
        y_desc: if weights {
            "cosine of implicit weights".into()
        } else {
            "(model − algorithm)² / d (log)".into()
        },
        x_log: false,
        y_log: !weights,
        y_range: None,
        lines,
        hlines: if weights {
            vec![(1.0, "identical weights".into())]
        } else {
            Vec::new()
        },
        marks: Vec::new(),
        caption,
        x_labels: Vec::new(),
    })
}

/// The number of examples k at which one-λ ridges tell noise levels apart best: at
/// every level, the worst fixed λ is furthest above the best one (near k = d, where
/// too small a λ blows up and too large a one shrinks too much). With all examples
/// every λ converges, so the last k would hide selection. The last k when the
/// report has no fixed-λ ridge.
pub fn selection_k(sets: &[&crate::eval::EvalCurves]) -> usize {
    let n = sets.first().map_or(0, |e| e.k.len());
    let score = |k: usize| {
        sets.iter()
            .map(|e| {
                let errs: Vec<f64> = e
                    .curves
                    .iter()
                    .filter(|(name, _)| name.starts_with("ridge_"))
                    .filter_map(|(_, c)| c.mean.get(k).copied())
                    .collect();
                let hi = errs.iter().copied().fold(f64::MIN, f64::max);
                let lo = errs.iter().copied().fold(f64::MAX, f64::min);
                if errs.len() < 2 {
                    1.0
                } else {
                    hi / lo.max(1e-12)
                }
            })
            .fold(f64::MAX, f64::min)
    };
    (1..n)
        .max_by(|a, b| score(*a).total_cmp(&score(*b)))
        .filter(|k| score(*k) > 1.0)
        .unwrap_or(n.saturating_sub(1))
}

/// Algorithm selection (Bai): the error at each noise level of a mixture, for the
/// model, ridge tuned to each σ, ridge with one λ per end of the mixture and least
/// squares, at the k where one λ is most wrong ([`selection_k`]). `None` unless the
/// report evaluates noise levels separately.
pub fn noise_figure(report: &EvalReport) -> Option<Figure> {
    let sets: Vec<(f64, &crate::eval::EvalCurves)> = report
        .evals
        .iter()
        .filter_map(|e| Some((e.name.strip_prefix("sigma=")?.parse().ok()?, e)))
        .collect();
    if sets.len() < 2 {
        return None;
    }
    let names: Vec<String> = sets[0]
        .1
        .curves
        .keys()
        .filter(|n| *n == "model" || n.starts_with("ridge") || *n == "least_squares")
        .cloned()
        .collect();
    let curves: Vec<&crate::eval::EvalCurves> = sets.iter().map(|(_, e)| *e).collect();
    let k = selection_k(&curves);
    let last = |e: &crate::eval::EvalCurves, n: &str| e.curves.get(n)?.mean.get(k).copied();
    let lines: Vec<Line> = names
        .iter()
        .map(|n| Line {
            key: n.clone(),
            label: match n.as_str() {
                "model" => "transformer".into(),
                "ridge" => "ridge tuned to each σ".into(),
                "least_squares" => "least squares".into(),
                other => format!("ridge, one λ = {}", other.trim_start_matches("ridge_")),
            },
            points: sets
                .iter()
                .filter_map(|(s, e)| Some((*s, last(e, n)?.max(1e-6))))
                .collect(),
            dashed: n != "model" && n != "ridge",
            error: Vec::new(),
            spread: Vec::new(),
        })
        .collect();
    // How far the model and the one-λ ridge are from the tuned ridge, worst level.
    let worst = |n: &str| {
        sets.iter()
            .filter_map(|(s, e)| Some((*s, last(e, n)? / last(e, "ridge")?.max(1e-12) - 1.0)))
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
    };
    let fixed = names
        .iter()
        .filter(|n| n.starts_with("ridge_"))
        .filter_map(|f| worst(f))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    let mut caption = match worst("model") {
        Some((s, r)) => format!(
            "At k = {k} examples the model is within {:.0} % of ridge tuned to each σ (worst at σ = {s})",
            100.0 * r.abs()
        ),
        None => String::new(),
    };
    if let Some((s, r)) = fixed {
        caption.push_str(&format!(
            "; ridge with one λ is off by up to {:.0} % (σ = {s}).",
            100.0 * r.abs()
        ));
    } else if !caption.is_empty() {
        caption.push('.');
    }
    Some(Figure {
        id: ChartId::Noise,
        title: format!("Algorithm selection: error at each noise level, k = {k}"),
        x_desc: "noise σ of the prompt's task".into(),
        y_desc: format!("squared error / d with k = {k} examples (log)"),
        x_log: false,
        y_log: true,
        y_range: None,
        lines,
        hlines: Vec::new(),
        marks: Vec::new(),
        caption,
        x_labels: Vec::new(),
    })
}

/// A sweep's final metric against the varied value. Values spanning 16× or more
/// get a log axis; `null` (an infinite pool) is drawn one step past the largest.
pub fn threshold_figure(summary: &SweepSummary, metric: &[Metric]) -> Figure {
    let finite: Vec<f64> = summary
        .values
        .iter()
        .filter_map(value_number)
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let x_log = !finite.is_empty() && lo > 0.0 && hi / lo >= 16.0;
    let infinity_at = if finite.is_empty() {
        1.0
    } else if x_log {
        hi * 4.0
    } else {
        hi + (hi - lo).max(1.0) * 0.25
    };
    let x = |v: &serde_json::Value| {
        value_number(v).map(|n| if n.is_infinite() { infinity_at } else { n })
    };
    let mut x_labels = Vec::new();
    if summary.values.iter().any(|v| v.is_null()) {
        x_labels.push((infinity_at, "∞".to_string()));
    }
    // Categorical values (softmax / linear): evenly spaced.
    let categorical = summary.values.iter().any(|v| x(v).is_none());
    let position = |i: usize, v: &serde_json::Value| {
        if categorical {
            i as f64
        } else {
            x(v).unwrap_or(i as f64)
        }
    };
    if categorical {
        x_labels = summary
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, value_label(v)))
            .collect();
    }
    // One line per metric; a comma joins metrics drawn together.
    let parts = metric;
    // Each value's mean over its seeds, ± its standard error, with every seed's
    // value behind it (one seed: the value itself, no bar).
    let seeded = summary.seeds > 1;
    let lines: Vec<Line> = parts
        .iter()
        .enumerate()
        .map(|(n, m)| {
            let at = |a: &crate::sweep::Aggregate| {
                let i = summary.values.iter().position(|v| *v == a.value)?;
                Some(position(i, &a.value))
            };
            let aggregates: Vec<(f64, crate::sweep::Aggregate)> = summary
                .aggregate(m)
                .into_iter()
                .filter_map(|a| Some((at(&a)?, a)))
                .collect();
            Line {
                key: if parts.len() == 1 {
                    "model".into()
                } else {
                    format!("metric_{n}")
                },
                label: m.label(),
                points: aggregates.iter().map(|(x, a)| (*x, a.mean)).collect(),
                dashed: false,
                error: if seeded {
                    aggregates
                        .iter()
                        .map(|(_, a)| a.stderr.unwrap_or(0.0))
                        .collect()
                } else {
                    Vec::new()
                },
                spread: if seeded {
                    aggregates
                        .iter()
                        .flat_map(|(x, a)| a.each.iter().map(move |v| (*x, *v)))
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let accuracy = !parts.is_empty() && parts.iter().all(Metric::is_fraction);
    let named = parts
        .iter()
        .map(Metric::label)
        .collect::<Vec<_>>()
        .join(" and ");
    let name = summary.path.rsplit('.').next().unwrap_or(&summary.path);
    let mut caption = format!(
        "{} of {} runs finished.",
        summary.points.len(),
        summary.planned()
    );
    if seeded {
        caption = format!(
            "{caption} Each point is the mean of {} seeds, with ± 1 standard error; small circles are the seeds.",
            summary.seeds
        );
    }
    if let Some(more) = combined_caption(summary, metric) {
        caption = format!("{caption} {more}");
    }
    Figure {
        id: ChartId::Threshold,
        title: format!("Sweep: {} against {}", named, summary.path),
        x_desc: format!("{name}{}", if x_log { " (log)" } else { "" }),
        y_desc: if parts.len() == 1 {
            parts[0].label()
        } else if parts.iter().all(Metric::is_error) {
            "error with all examples (÷ d)".into()
        } else if parts.iter().all(Metric::is_count) {
            "best-matching steps / iterations".into()
        } else {
            "value".into()
        },
        x_log: x_log && !categorical,
        y_log: false,
        y_range: accuracy.then_some((0.0, 1.0)),
        lines,
        hlines: Vec::new(),
        marks: Vec::new(),
        caption,
        x_labels,
    }
}

/// What a combined sweep chart says in words: the mixture model against each
/// single-task model (p_classification = 0 and 1), or the GD steps / Newton
/// iterations the model matches per layer (a depth sweep's slopes).
fn combined_caption(summary: &SweepSummary, metric: &[Metric]) -> Option<String> {
    let [mixture, lens, _] = combined();
    // Means over seeds, where a sweep has several.
    let at = |v: f64, m: &Metric| {
        summary
            .aggregate(m)
            .into_iter()
            .find(|a| value_number(&a.value) == Some(v))
            .map(|a| a.mean)
    };
    let (regression, classification) =
        (Metric::error("regression"), Metric::error("classification"));
    if metric == mixture.as_slice() {
        let p = summary
            .values
            .iter()
            .filter_map(value_number)
            .find(|v| *v > 0.0 && *v < 1.0)?;
        let (r_mix, c_mix) = (at(p, &regression)?, at(p, &classification)?);
        let r_single = at(0.0, &regression)?;
        let c_single = at(1.0, &classification)?;
        return Some(format!(
            "On regression the mixture model (p = {p}) has error {r_mix:.3} vs {r_single:.3} for the regression-only model; on classification {c_mix:.3} vs {c_single:.3} for the classification-only model."
        ));
    }
    if metric == lens.as_slice() && summary.path == "model.layers" {
        let (newton, _) = summary.slope(&Metric::LensNewtonIterations)?;
        let (gd, _) = summary.slope(&Metric::LensGdSteps)?;
        return Some(format!(
            "Per layer: {newton:.1} more Newton iterations, {gd:.1} more GD steps in the best match (Fu: about 3 Newton iterations per layer)."
        ));
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Experiment;
    use crate::sweep::{SweepPoint, SweepSpec};

    /// A metric by its key, as a saved record spells it.
    fn k(key: &str) -> Metric {
        key.parse().unwrap()
    }

    fn h(values: &[(usize, f64, f64)]) -> Vec<(usize, Metrics)> {
        values
            .iter()
            .map(|(s, icl, iw)| (*s, [(k("icl"), *icl), (k("in_weights"), *iw)].into()))
            .collect()
    }

    #[test]
    fn probe_figure_marks_the_peak_and_says_when_icl_faded() {
        let f = probe_figure(
            &h(&[(100, 0.3, 0.1), (200, 0.74, 0.2), (300, 0.2, 0.99)]),
            1.0 / 32.0,
            "novel classes",
        );
        assert_eq!(
            f.lines[0].points,
            vec![(100.0, 0.3), (200.0, 0.74), (300.0, 0.2)]
        );
        assert_eq!(f.marks[0].at, (200.0, 0.74));
        assert!(f.caption.starts_with("Transient ICL"), "{}", f.caption);
        assert!(
            f.caption.contains("0.74") && f.caption.contains("0.20"),
            "{}",
            f.caption
        );
        let still = probe_figure(
            &h(&[(100, 0.3, 0.1), (200, 0.74, 0.2)]),
            1.0 / 32.0,
            "new tasks",
        );
        assert_eq!(still.lines[0].label, "ICL: new tasks");
        assert!(still.caption.contains("on new tasks"), "{}", still.caption);
        assert!(!still.caption.contains("Transient"), "{}", still.caption);
        let flat = probe_figure(&h(&[(100, 0.04, 0.1)]), 1.0 / 32.0, "novel classes");
        assert!(flat.marks.is_empty() && flat.caption.contains("near chance"));
        assert_eq!(f.hlines[0].0, 1.0 / 32.0);
    }

    #[test]
    fn distance_figure_names_the_closest_algorithm_per_task_set() {
        let m = |a: f64, b: f64, c: f64, d: f64| -> Metrics {
            [
                (k("pool_distance_dmmse"), a),
                (k("pool_distance_ridge"), b),
                (k("fresh_distance_dmmse"), c),
                (k("fresh_distance_ridge"), d),
                (k("fresh_distance_least_squares"), d),
            ]
            .into()
        };
        let f =
            distance_figure(&[(10, m(0.5, 0.5, 0.5, 0.5)), (20, m(0.01, 0.2, 0.3, 0.05))]).unwrap();
        assert_eq!(f.lines.len(), 4, "least squares dropped beside ridge");
        assert!(f.y_log);
        assert_eq!(
            f.caption,
            "Now closest to dMMSE on pool tasks and to ridge on fresh tasks."
        );
        assert!(distance_figure(&[]).is_none());
    }

    fn lens_match(weights: bool) -> AlgorithmMatch {
        let v = |xs: &[f64]| xs.to_vec();
        let names = [
            "least_squares",
            "ridge",
            "gd_1",
            "gd_2",
            "newton_1",
            "newton_2",
        ];
        // cosines at k = 1…4: GD-1 best early, least squares from k = 3.
        let cos = [
            [0.9, 0.80, 0.95, 0.99],
            [0.9, 0.80, 0.95, 0.99],
            [0.9, 0.97, 0.90, 0.80],
            [0.9, 0.95, 0.93, 0.90],
            [0.9, 0.90, 0.92, 0.93],
            [0.9, 0.91, 0.94, 0.97],
        ];
        let diff = [
            [0.5, 0.4, 0.1, 0.01],
            [0.5, 0.4, 0.1, 0.01],
            [0.5, 0.1, 0.2, 0.30],
            [0.5, 0.2, 0.15, 0.2],
            [0.5, 0.3, 0.2, 0.1],
            [0.5, 0.3, 0.15, 0.05],
        ];
        AlgorithmMatch {
            k: vec![1, 2, 3, 4],
            cosine: if weights {
                names
                    .iter()
                    .zip(cos)
                    .map(|(n, c)| (n.to_string(), c.iter().map(|x| Some(*x)).collect()))
                    .collect()
            } else {
                Default::default()
            },
            prediction_difference: names
                .iter()
                .zip(diff)
                .map(|(n, d)| (n.to_string(), v(&d)))
                .collect(),
            best: vec![
                "ridge".into(),
                "gd_1".into(),
                "least_squares".into(),
                "least_squares".into(),
            ],
            best_score: if weights {
                vec![0.9, 0.97, 0.95, 0.99]
            } else {
                vec![0.5, 0.1, 0.1, 0.01]
            },
            gd_step: Default::default(),
        }
    }

    #[test]
    fn algorithm_figure_draws_the_candidates_and_says_the_best_match_per_k() {
        let f = algorithm_figure(&lens_match(true), 300).unwrap();
        let labels: Vec<&str> = f.lines.iter().map(|l| l.label.as_str()).collect();
        // Ridge equals least squares here (noiseless): left out. Best GD-t beyond
        // GD-1 is GD-2; best Newton over k ≥ 2 is Newton-2.
        assert_eq!(labels, ["least squares", "GD-1", "GD-2", "Newton-2"]);
        assert_eq!(
            f.lines[1].points,
            vec![(1.0, 0.9), (2.0, 0.97), (3.0, 0.9), (4.0, 0.8)]
        );
        assert!(f.lines[1].dashed && !f.lines[2].dashed);
        assert_eq!(
            f.caption,
            "Best match at step 300 (kinds within 0.005 of the best named together): k = 2: GD (cos ≥ 0.97); k = 3–4: least squares (cos ≥ 0.95)."
        );
        // A near-tie names both kinds instead of flickering between them.
        let mut tie = lens_match(true);
        tie.cosine.get_mut("newton_2").unwrap()[2] = Some(0.948);
        let f = algorithm_figure(&tie, 300).unwrap();
        assert!(
            f.caption
                .contains("k = 3: least squares / Newton (cos ≥ 0.95); k = 4: least squares"),
            "{}",
            f.caption
        );
        assert!(!f.y_log);
        // An untrained model matches nothing: the best of the candidates at cos 0.3
        // is not called a match.
        let mut weak = lens_match(true);
        for v in weak.cosine.values_mut() {
            for c in v.iter_mut().flatten() {
                *c *= 0.3;
            }
        }
        let f = algorithm_figure(&weak, 50).unwrap();
        assert!(
            f.caption
                .contains("k = 2–4: no match yet (no algorithm reaches cos 0.90)"),
            "{}",
            f.caption
        );

        // Without weights: prediction differences on a log axis, and the reason.
        let f = algorithm_figure(&lens_match(false), 300).unwrap();
        assert!(
            f.y_log && f.caption.contains("concatenated"),
            "{}",
            f.caption
        );
        let newton = f.lines.iter().find(|l| l.key == "alg_newton").unwrap();
        assert_eq!(
            newton.label, "Newton-2",
            "smallest mean difference over k ≥ 2"
        );
    }

    #[test]
    fn noise_figure_compares_the_model_with_tuned_and_fixed_ridge_per_sigma() {
        use crate::eval::{Curve, EvalCurves};
        let set = |s: f64, model: f64, ridge: f64, fixed: f64| EvalCurves {
            name: format!("sigma={s}"),
            x_dist: "gaussian".into(),
            k: vec![0, 1],
            curves: [
                ("model", model),
                ("ridge", ridge),
                ("ridge_0.25", fixed),
                ("averaging", 9.0),
            ]
            .into_iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    Curve {
                        mean: vec![1.0, v],
                        stderr: vec![0.0, 0.0],
                    },
                )
            })
            .collect(),
            distance: Default::default(),
        };
        let report = EvalReport {
            dims: 4,
            step: 100,
            evals: vec![set(0.1, 0.011, 0.01, 0.02), set(1.0, 0.9, 1.0, 1.5)],
            probes: Vec::new(),
            algorithms: None,
            lsa: Vec::new(),
            ..EvalReport::default()
        };
        let f = noise_figure(&report).unwrap();
        assert_eq!(f.lines.len(), 3, "averaging left out");
        let model = f.lines.iter().find(|l| l.key == "model").unwrap();
        assert_eq!(model.points, vec![(0.1, 0.011), (1.0, 0.9)]);
        assert!(
            f.caption.contains("within 10 %") && f.caption.contains("σ = 0.1"),
            "{}",
            f.caption
        );
        assert!(f.caption.contains("off by up to 100 %"), "{}", f.caption);
        let one = EvalReport {
            evals: vec![set(0.5, 0.1, 0.1, 0.1)],
            ..report
        };
        assert!(noise_figure(&one).is_none());
    }

    #[test]
    fn selection_k_is_where_one_lambda_is_most_wrong_at_every_level() {
        use crate::eval::{Curve, EvalCurves};
        let set = |lo: [f64; 4], hi: [f64; 4]| EvalCurves {
            name: "sigma=x".into(),
            x_dist: "gaussian".into(),
            k: vec![0, 1, 2, 3],
            curves: [("ridge_0.04", lo), ("ridge_1", hi)]
                .into_iter()
                .map(|(n, m)| {
                    (
                        n.to_string(),
                        Curve {
                            mean: m.to_vec(),
                            stderr: vec![0.0; 4],
                        },
                    )
                })
                .collect(),
            distance: Default::default(),
        };
        // Level one: the λs differ most at k = 2 (3×); level two at k = 1 (4×) but
        // only 1.5× at k = 2, and 1.1× at k = 1 on level one: k = 2 is the best
        // for both.
        let a = set([1.0, 1.1, 0.3, 0.2], [1.0, 1.0, 0.1, 0.19]);
        let b = set([1.0, 4.0, 1.5, 1.0], [1.0, 1.0, 1.0, 1.0]);
        assert_eq!(selection_k(&[&a, &b]), 2);
        // No fixed-λ ridge: the last k.
        let mut c = a.clone();
        c.curves.clear();
        assert_eq!(selection_k(&[&c]), 3);
    }

    /// A sweep of pool sizes 2 and 8 with two seeds each: pool 2 has both seeds
    /// (0.2 and 0.4), pool 8 one (0.6).
    pub(crate) fn seeded_summary() -> SweepSummary {
        let spec = SweepSpec::parse("task.pool=2,8")
            .unwrap()
            .with_seeds(2)
            .unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        for (v, seed, err) in [(2, 0, 0.2), (2, 1, 0.4), (8, 0, 0.6)] {
            s.points.push(SweepPoint {
                value: v.into(),
                seed: Some(seed),
                step: 10,
                metrics: [(Metric::error("fresh"), err)].into(),
                run: None,
            });
        }
        s
    }

    #[test]
    fn a_seeded_sweep_draws_each_values_mean_with_its_error_bar_and_seeds() {
        let f = threshold_figure(&seeded_summary(), &[Metric::error("fresh")]);
        let line = &f.lines[0];
        assert_eq!(line.points.len(), 2);
        assert!((line.points[0].1 - 0.3).abs() < 1e-12, "{:?}", line.points);
        assert_eq!(line.points[1], (8.0, 0.6));
        // s.d. of {0.2, 0.4} is √0.02; ÷ √2 gives 0.1. One seed: no bar.
        assert!((line.error[0] - 0.1).abs() < 1e-12, "{:?}", line.error);
        assert_eq!(line.error[1], 0.0);
        assert_eq!(line.spread, vec![(2.0, 0.2), (2.0, 0.4), (8.0, 0.6)]);
        assert!(
            f.caption.starts_with("3 of 4 runs finished."),
            "{}",
            f.caption
        );
        assert!(f.caption.contains("mean of 2 seeds"), "{}", f.caption);
        // One seed per value: no bars, no seeds drawn, the caption as it was.
        let mut one = seeded_summary();
        one.seeds = 1;
        one.points.truncate(1);
        let f = threshold_figure(&one, &[Metric::error("fresh")]);
        assert!(f.lines[0].error.is_empty() && f.lines[0].spread.is_empty());
        assert_eq!(f.caption, "1 of 2 runs finished.");
    }

    #[test]
    fn threshold_figure_uses_a_log_axis_for_wide_ranges_and_places_infinity() {
        let spec = SweepSpec::parse("task.pool=2^1..2^6,null").unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        for (v, e) in [(2, 0.9), (64, 0.2)] {
            s.points.push(SweepPoint {
                value: v.into(),
                seed: None,
                step: 10,
                metrics: [(k("fresh_error"), e)].into(),
                run: None,
            });
        }
        s.points.push(SweepPoint {
            value: serde_json::Value::Null,
            seed: None,
            step: 10,
            metrics: [(k("fresh_error"), 0.1)].into(),
            run: None,
        });
        let f = threshold_figure(&s, &[Metric::error("fresh")]);
        assert!(f.x_log);
        assert_eq!(
            f.lines[0].points,
            vec![(2.0, 0.9), (64.0, 0.2), (256.0, 0.1)]
        );
        assert_eq!(f.x_labels, vec![(256.0, "∞".to_string())]);
        assert_eq!(f.y_range, None);
        assert_eq!(f.caption, "3 of 7 runs finished.");

        let spec = SweepSpec::parse("task.family.p_bursty=0,0.5,1").unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        s.points.push(SweepPoint {
            value: 0.5.into(),
            seed: None,
            step: 10,
            metrics: [(k("icl"), 0.7)].into(),
            run: None,
        });
        let f = threshold_figure(&s, &[Metric::Probe(Probe::Icl)]);
        assert!(!f.x_log);
        assert_eq!(f.y_range, Some((0.0, 1.0)));
        assert_eq!(f.lines[0].points, vec![(0.5, 0.7)]);
    }

    #[test]
    fn a_combined_metric_draws_a_line_each_and_compares_the_mixture_with_single_task_models() {
        let spec = SweepSpec::parse("task.family.p_classification=0,0.5,1").unwrap();
        let mut s = SweepSummary::new(&spec, &Experiment::default());
        for (i, r, c) in [(0, 0.1, 0.3), (1, 0.12, 0.2), (2, 0.9, 0.18)] {
            s.points.push(SweepPoint {
                value: spec.values[i].clone(),
                seed: None,
                step: 10,
                metrics: [(k("regression_error"), r), (k("classification_error"), c)].into(),
                run: None,
            });
        }
        let [metric, _, _] = combined();
        assert!(s.metrics().contains(&metric));
        let f = threshold_figure(&s, &metric);
        assert_eq!(f.lines.len(), 2);
        assert_eq!(f.lines[1].points, vec![(0.0, 0.3), (0.5, 0.2), (1.0, 0.18)]);
        assert_eq!(f.y_range, None, "errors are not accuracies");
        assert!(
            f.caption.ends_with("On regression the mixture model (p = 0.5) has error 0.120 vs 0.100 for the regression-only model; on classification 0.200 vs 0.180 for the classification-only model."),
            "{}",
            f.caption
        );
    }

    fn token_history(scores: &[(usize, f64, f64)]) -> Vec<(usize, Metrics)> {
        scores
            .iter()
            .map(|&(step, icl, prefix)| {
                let m: Metrics = [
                    (k("icl_score"), icl),
                    (k("loss"), 3.0 + icl / 2.0),
                    (k("prefix_matching_L1H1"), 0.1),
                    (k("previous_token_L1H1"), 0.6),
                    (k("prefix_matching_L2H1"), prefix),
                    (k("previous_token_L2H1"), 0.05),
                    (k("prefix_matching_uniform"), 0.11),
                ]
                .into();
                (step, m)
            })
            .collect()
    }

    #[test]
    fn the_phase_change_is_the_steepest_fall_of_the_icl_score() {
        let hist = token_history(&[
            (0, 0.0, 0.06),
            (100, -0.1, 0.07),
            (200, -1.5, 0.3),
            (300, -2.0, 0.6),
            (400, -2.1, 0.65),
        ]);
        assert_eq!(phase_change(&hist), Some((200, -1.5)));
        // Evaluations at uneven intervals: the fall per step decides.
        let uneven = token_history(&[
            (0, 0.0, 0.0),
            (50, -0.6, 0.0),
            (250, -1.6, 0.0),
            (450, -1.65, 0.0),
        ]);
        assert_eq!(phase_change(&uneven), Some((50, -0.6)));
        // A fall at the latest evaluation is not yet a phase change: no plateau.
        let latest = token_history(&[
            (0, 0.0, 0.0),
            (100, -0.05, 0.0),
            (200, -0.1, 0.0),
            (300, -1.5, 0.0),
        ]);
        assert_eq!(phase_change(&latest), None);
        // Nor is a steady decline, however far it goes.
        let steady: Vec<(usize, f64, f64)> =
            (0..8).map(|i| (i * 100, -0.3 * i as f64, 0.0)).collect();
        assert_eq!(phase_change(&token_history(&steady)), None);
        // No fall worth the name: no marker.
        assert_eq!(
            phase_change(&token_history(&[
                (0, 0.0, 0.0),
                (50, -0.05, 0.0),
                (100, -0.06, 0.0)
            ])),
            None
        );
        assert_eq!(phase_change(&hist[..2]), None);

        let f = head_score_figure(&hist).unwrap();
        assert_eq!(f.lines.len(), 4, "prefix and previous-token line per head");
        assert!(
            f.lines
                .iter()
                .any(|l| l.label == "L2H1 prefix matching" && !l.dashed)
        );
        assert!(
            f.lines
                .iter()
                .any(|l| l.label == "L1H1 previous token" && l.dashed)
        );
        assert_eq!(f.marks.len(), 1);
        assert_eq!(f.hlines, vec![(0.11, "uniform attention".to_string())]);
        assert!(
            f.caption.contains("L2H1")
                && f.caption.contains("0.65")
                && f.caption.contains("0.11")
                && f.caption.contains("step 200"),
            "{}",
            f.caption
        );
        let icl = icl_score_figure(&hist).unwrap();
        assert_eq!(icl.marks[0].at, (200.0, -1.5));
        assert!(icl.caption.contains("2.10 nats better"), "{}", icl.caption);
    }

    #[test]
    fn a_classification_runs_phase_change_is_the_steepest_rise_of_the_best_head() {
        // Measured on reddy-abrupt: ICL accuracy and the best head's score.
        let hist: Vec<(usize, Metrics)> = [
            (0, 0.03, 0.25),
            (100, 0.41, 0.43),
            (300, 0.46, 0.41),
            (400, 0.64, 0.54),
            (500, 0.96, 0.88),
            (600, 0.98, 0.94),
        ]
        .iter()
        .map(|&(s, icl, best)| {
            let m: Metrics = [
                (k("icl"), icl),
                (k("prefix_matching_L2H1"), best),
                (k("prefix_matching_max"), best),
                (k("previous_token_L2H1"), 0.3),
                (k("prefix_matching_uniform"), 0.24),
            ]
            .into();
            (s, m)
        })
        .collect();
        // ICL accuracy rises fastest from 0 to 100 (the plateau); the head at 500.
        assert_eq!(phase_change(&hist), Some((500, 0.88)));
        // Head scores that barely clear a uniform head's (0.13 against 0.11) are not
        // an induction head forming, however abruptly they moved.
        let faint: Vec<(usize, Metrics)> = [(0, 0.02), (100, 0.03), (200, 0.12), (300, 0.13)]
            .iter()
            .map(|&(s, best)| {
                let m: Metrics = [
                    (k("prefix_matching_max"), best),
                    (k("prefix_matching_uniform"), 0.11),
                ]
                .into();
                (s, m)
            })
            .collect();
        assert_eq!(phase_change(&faint), None);
        let f = head_score_figure(&hist).unwrap();
        assert!(
            f.caption
                .contains("The best head's score rose fastest just before step 500"),
            "{}",
            f.caption
        );
    }

    #[test]
    fn the_token_loss_figure_shows_the_ablated_model_beside_the_model() {
        use crate::ablation::{AblationMode, HeadAblation};
        use crate::eval::Curve;
        use crate::lens::heads::TokenReport;
        let tokens = |loss: f64, repeat: f64, icl: f64| TokenReport {
            loss: Curve {
                mean: vec![4.1, loss, loss],
                stderr: vec![0.0; 3],
            },
            accuracy: vec![0.0; 3],
            copy_rule: vec![0.0; 3],
            uniform_loss: 64f64.ln(),
            icl_score: icl,
            repeat_loss: repeat,
            new_loss: 4.1,
        };
        let model = EvalReport {
            step: 800,
            tokens: Some(tokens(1.5, 1.4, -2.3)),
            ..EvalReport::default()
        };
        let f = token_loss_figure(&model, None).unwrap();
        assert_eq!(f.lines.len(), 1);
        assert_eq!(f.lines[0].points[0], (1.0, 4.1));
        let ablated = EvalReport {
            step: 800,
            tokens: Some(tokens(4.0, 4.16, -0.56)),
            ablated: vec![HeadAblation {
                layer: 1,
                head: 0,
                mode: AblationMode::Zero,
            }],
            ..EvalReport::default()
        };
        let f = token_loss_figure(&model, Some(&ablated)).unwrap();
        assert_eq!(f.lines[1].label, "L2H1 ablated");
        assert!(f.lines[1].dashed);
        assert!(
            f.caption.contains("+2.76") && f.caption.contains("-0.56"),
            "{}",
            f.caption
        );
    }

    #[test]
    fn copying_scores_are_drawn_per_head() {
        let hist: Vec<(usize, Metrics)> = [(0, 0.3), (100, 0.99)]
            .iter()
            .map(|&(s, c)| {
                let m: Metrics = [
                    (k("copying_L1H1"), c),
                    (k("copying_L2H1"), -c),
                    (k("prefix_matching_L1H1"), 0.1),
                ]
                .into();
                (s, m)
            })
            .collect();
        let f = copying_figure(&hist).unwrap();
        assert_eq!(f.lines.len(), 2);
        assert_eq!(f.lines[1].points, vec![(0.0, -0.3), (100.0, -0.99)]);
        assert!(
            f.caption.ends_with("Now: L1H1 0.99, L2H1 -0.99."),
            "{}",
            f.caption
        );
        assert!(copying_figure(&hist[..0]).is_none());
    }
}

/// The saved runs the user selected, overlaid: training loss, the metric the first
/// run's kind is judged by through training, and (regression runs) the model's
/// final ICL curve on fresh tasks. One colour per run (Okabe–Ito, in selection order).
pub fn overlay_figures(runs: &[&crate::web::runs::RunRecord]) -> Vec<Figure> {
    use crate::sweep::default_metric;
    if runs.is_empty() {
        return Vec::new();
    }
    let line = |i: usize, name: &str, points: Vec<(f64, f64)>| Line {
        key: format!("run_{i}"),
        label: name.to_string(),
        points,
        dashed: false,
        error: Vec::new(),
        spread: Vec::new(),
    };
    let names: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    let mut figures = Vec::new();
    let losses: Vec<Line> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.losses.is_empty())
        .map(|(i, r)| {
            let pts = r
                .losses
                .iter()
                .filter(|(_, l)| l.is_finite() && *l > 0.0)
                .map(|(s, l)| (*s as f64, f64::from(*l)))
                .collect();
            line(i, &names[i], pts)
        })
        .collect();
    if !losses.is_empty() {
        figures.push(Figure {
            id: ChartId::OverlayLoss,
            title: "Saved runs: training loss".into(),
            x_desc: "training step".into(),
            y_desc: "loss (log scale)".into(),
            x_log: false,
            y_log: true,
            y_range: None,
            caption: format!("{} runs overlaid.", losses.len()),
            lines: losses,
            hlines: Vec::new(),
            marks: Vec::new(),
            x_labels: Vec::new(),
        });
    }
    // The first of the metrics the first evaluated run's kind is judged by.
    let metric = runs
        .iter()
        .find_map(|r| r.eval.as_ref().map(default_metric))
        .and_then(|m| m.into_iter().next())
        .unwrap_or_else(|| Metric::error("fresh"));
    let metric_lines: Vec<Line> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let pts: Vec<(f64, f64)> = r
                .history
                .iter()
                .filter_map(|(s, m)| m.get(&metric).map(|v| (*s as f64, *v)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            (!pts.is_empty() && r.sweep.is_none()).then(|| line(i, &names[i], pts))
        })
        .collect();
    if !metric_lines.is_empty() {
        let pretty = metric.label();
        figures.push(Figure {
            id: ChartId::OverlayMetric,
            title: format!("Saved runs: {pretty} through training"),
            x_desc: "training step".into(),
            y_desc: pretty.clone(),
            x_log: false,
            y_log: false,
            y_range: None,
            caption: format!(
                "{pretty} at every evaluation of {} runs; runs without it are left out.",
                metric_lines.len()
            ),
            lines: metric_lines,
            hlines: Vec::new(),
            marks: Vec::new(),
            x_labels: Vec::new(),
        });
    }
    let icl: Vec<Line> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let e = r.eval.as_ref()?.eval("fresh")?;
            let c = e.curves.get("model")?;
            let pts =
                e.k.iter()
                    .zip(&c.mean)
                    .map(|(k, m)| (*k as f64, *m))
                    .collect();
            Some(line(i, &names[i], pts))
        })
        .collect();
    if !icl.is_empty() {
        figures.push(Figure {
            id: ChartId::OverlayIcl,
            title: "Saved runs: the model's error on fresh tasks by examples in context".into(),
            x_desc: "examples in context k".into(),
            y_desc: "squared error / d".into(),
            x_log: false,
            y_log: false,
            y_range: None,
            caption: "At each run's last evaluation.".into(),
            lines: icl,
            hlines: Vec::new(),
            marks: Vec::new(),
            x_labels: Vec::new(),
        });
    }
    figures
}

#[cfg(test)]
mod overlay_tests {
    use super::*;
    use crate::web::runs::{Origin, RUN_KIND, RunRecord, RunStatus};

    /// A metric by its key, as a saved record spells it.
    fn k(key: &str) -> Metric {
        key.parse().unwrap()
    }

    fn run(name: &str, loss: f32, err: f64) -> RunRecord {
        RunRecord {
            kind: RUN_KIND.into(),
            id: name.into(),
            name: name.into(),
            origin: Origin::Browser,
            status: RunStatus::Finished,
            saved_ms: 0.0,
            experiment: crate::config::Experiment::default(),
            step: 20,
            losses: vec![(10, loss), (20, loss / 2.0)],
            history: vec![(20, [(k("fresh_error"), err)].into())],
            eval: None,
            attention: Vec::new(),
            train_ms: None,
            backend: None,
            checkpoint_step: None,
            checkpoint: None,
            sweep: None,
        }
    }

    #[test]
    fn selected_runs_overlay_with_one_colour_each() {
        let (a, b) = (run("a", 1.0, 0.5), run("b", 2.0, 0.25));
        let figs = overlay_figures(&[&a, &b]);
        let ids: Vec<&str> = figs.iter().map(|f| f.id.id()).collect();
        assert_eq!(ids, ["overlay-loss", "overlay-metric"]);
        assert_eq!(figs[0].lines.len(), 2);
        assert_eq!(figs[0].lines[1].points, vec![(10.0, 2.0), (20.0, 1.0)]);
        assert_eq!(figs[1].lines[0].points, vec![(20.0, 0.5)]);
        assert_ne!(line_rgb("run_0"), line_rgb("run_1"));
        assert!(overlay_figures(&[]).is_empty());
    }
}
