//! The numbers a finished run is summarised by: a sweep's points (`summary.json`), the
//! page's history of evaluations and its charts all key them by [`Metric`]. Written as
//! text (`fresh_error_ridge`, `prefix_matching_L1H2`, …) in files and menus, read back
//! with `FromStr`, so a key is built and parsed in one place.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::probes::Probe;

/// A run's final numbers by metric.
pub type Metrics = BTreeMap<Metric, f64>;

/// One number a run is summarised by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A classification probe's accuracy for the model (`icl`, `in_weights`, …).
    Probe(Probe),
    /// The normalised error with all examples on an evaluation set (`fresh`, `pool`,
    /// `sigma=0.5`, `regression`, `classification`), of the model (`predictor: None`,
    /// `fresh_error`) or of a baseline (`fresh_error_ridge`).
    Error {
        set: String,
        predictor: Option<String>,
    },
    /// How far the model's predictions are from a baseline's (`pool_distance_dmmse`).
    Distance { set: String, baseline: String },
    /// The algorithm lens over k ≥ 2: the mean cosine between the model's implicit
    /// weights and an algorithm's (`lens_cosine_gd_2`).
    LensCosine(String),
    /// The lens's mean prediction difference to an algorithm (`lens_difference_ridge`).
    LensDifference(String),
    /// The number of GD steps the model matches best (what a depth sweep plots).
    LensGdSteps,
    /// The number of Newton iterations the model matches best.
    LensNewtonIterations,
    /// The mean cosine of the best-matching GD member ([`Metric::LensGdSteps`]):
    /// how well gradient descent fits at its best step count.
    LensGdMatch,
    /// The mean cosine of the best-matching Newton member.
    LensNewtonMatch,
    /// Token runs: Olsson's ICL score (late loss − early loss).
    IclScore,
    /// Token runs: the mean next-token loss over positions.
    Loss,
    /// Token runs: the loss where the copy rule applies.
    RepeatLoss,
    /// Token runs: the loss where it does not.
    NewLoss,
    /// A head's prefix-matching score.
    PrefixMatching(Head),
    /// A head's previous-token score.
    PreviousToken(Head),
    /// A head's OV copying score (Olsson).
    Copying(Head),
    /// A linear self-attention head against von Oswald's GD construction: the
    /// cosine of W_KQ's x–x block to the identity.
    LsaKqIdentity(Head),
    /// The share of W_KQ's squared weight in its x–x block.
    LsaKqShare(Head),
    /// The share of W_PV's squared weight on y → y.
    LsaPvShare(Head),
    /// A key this version does not know, kept as written so that older records load.
    Other(String),
}

/// Which head a head score is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Head {
    /// Layer and head, counted from 1 as the page shows them (`L1H2`).
    At { layer: usize, head: usize },
    /// What a head attending uniformly would score on the same sequences.
    Uniform,
    /// The best head's score.
    Max,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Head::At { layer, head } => write!(f, "L{layer}H{head}"),
            Head::Uniform => f.write_str("uniform"),
            Head::Max => f.write_str("max"),
        }
    }
}

impl FromStr for Head {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "uniform" => Ok(Head::Uniform),
            "max" => Ok(Head::Max),
            _ => {
                let (layer, head) = s.strip_prefix('L').ok_or(())?.split_once('H').ok_or(())?;
                let n = |t: &str| t.parse::<usize>().ok().filter(|&n| n >= 1).ok_or(());
                Ok(Head::At {
                    layer: n(layer)?,
                    head: n(head)?,
                })
            }
        }
    }
}

impl Metric {
    /// The model's error on an evaluation set (`fresh_error`).
    pub fn error(set: &str) -> Self {
        Metric::Error {
            set: set.into(),
            predictor: None,
        }
    }

    /// The distance of the model's predictions from a baseline's on a set.
    pub fn distance(set: &str, baseline: &str) -> Self {
        Metric::Distance {
            set: set.into(),
            baseline: baseline.into(),
        }
    }

    /// The name for people (menus, axes, legends): `fresh_error_least_squares` →
    /// "least squares error, fresh tasks".
    pub fn label(&self) -> String {
        match self {
            Metric::Probe(p) => match p {
                Probe::Icl => "ICL accuracy (novel classes)".into(),
                Probe::InWeights => "in-weights accuracy (query class absent)".into(),
                Probe::FlippedContext => "flipped labels: follows the context".into(),
                Probe::FlippedPrior => "flipped labels: follows its prior".into(),
            },
            Metric::Error {
                set,
                predictor: None,
            } => format!("error, {}", set_label(set)),
            Metric::Error {
                set,
                predictor: Some(p),
            } => format!("{} error, {}", algorithm_label(p), set_label(set)),
            Metric::Distance { set, baseline } => {
                format!(
                    "distance to {}, {}",
                    algorithm_label(baseline),
                    set_label(set)
                )
            }
            Metric::LensCosine(a) => format!("cosine to {}", algorithm_label(a)),
            Metric::LensDifference(a) => {
                format!("prediction difference to {}", algorithm_label(a))
            }
            Metric::LensGdSteps => "GD steps matched best".into(),
            Metric::LensNewtonIterations => "Newton iterations matched best".into(),
            Metric::LensGdMatch => "cosine of the best GD match".into(),
            Metric::LensNewtonMatch => "cosine of the best Newton match".into(),
            Metric::IclScore => "ICL score (nats)".into(),
            Metric::Loss => "next-token loss".into(),
            Metric::RepeatLoss => "loss on repeated tokens".into(),
            Metric::NewLoss => "loss on new tokens".into(),
            Metric::PrefixMatching(Head::Max) => "best prefix-matching score".into(),
            Metric::PrefixMatching(Head::Uniform) => "prefix matching of a uniform head".into(),
            Metric::PrefixMatching(h) => format!("{h} prefix matching"),
            Metric::PreviousToken(h) => format!("{h} previous-token score"),
            Metric::LsaKqIdentity(h) => format!("{h} KQ weights: cosine to I"),
            Metric::LsaKqShare(h) => format!("{h} KQ weights: share on x–x"),
            Metric::LsaPvShare(h) => format!("{h} PV weights: share on y → y"),
            Metric::Copying(h) => format!("{h} copying score"),
            Metric::Other(s) => s.replace('_', " "),
        }
    }

    /// An accuracy or a score in [0, 1], rather than an error, a distance or a count.
    pub fn is_fraction(&self) -> bool {
        matches!(
            self,
            Metric::Probe(_)
                | Metric::LensCosine(_)
                | Metric::LensGdMatch
                | Metric::LensNewtonMatch
                | Metric::PrefixMatching(_)
                | Metric::PreviousToken(_)
                | Metric::LsaKqIdentity(_)
                | Metric::LsaKqShare(_)
                | Metric::LsaPvShare(_)
        )
    }

    /// A normalised error (what an error axis can share).
    pub fn is_error(&self) -> bool {
        matches!(self, Metric::Error { .. })
    }

    /// One of the lens's best-match counts (GD steps, Newton iterations).
    pub fn is_count(&self) -> bool {
        matches!(self, Metric::LensGdSteps | Metric::LensNewtonIterations)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Probe(p) => f.write_str(p.name()),
            Metric::Error {
                set,
                predictor: None,
            } => write!(f, "{set}_error"),
            Metric::Error {
                set,
                predictor: Some(p),
            } => write!(f, "{set}_error_{p}"),
            Metric::Distance { set, baseline } => write!(f, "{set}_distance_{baseline}"),
            Metric::LensCosine(a) => write!(f, "lens_cosine_{a}"),
            Metric::LensDifference(a) => write!(f, "lens_difference_{a}"),
            Metric::LensGdSteps => f.write_str("lens_gd_steps"),
            Metric::LensNewtonIterations => f.write_str("lens_newton_iterations"),
            Metric::LensGdMatch => f.write_str("lens_gd_match"),
            Metric::LensNewtonMatch => f.write_str("lens_newton_match"),
            Metric::IclScore => f.write_str("icl_score"),
            Metric::Loss => f.write_str("loss"),
            Metric::RepeatLoss => f.write_str("repeat_loss"),
            Metric::NewLoss => f.write_str("new_loss"),
            Metric::PrefixMatching(h) => write!(f, "prefix_matching_{h}"),
            Metric::PreviousToken(h) => write!(f, "previous_token_{h}"),
            Metric::LsaKqIdentity(h) => write!(f, "lsa_kq_identity_{h}"),
            Metric::LsaKqShare(h) => write!(f, "lsa_kq_share_{h}"),
            Metric::LsaPvShare(h) => write!(f, "lsa_pv_share_{h}"),
            Metric::Copying(h) => write!(f, "copying_{h}"),
            Metric::Other(s) => f.write_str(s),
        }
    }
}

impl FromStr for Metric {
    type Err = std::convert::Infallible;

    /// Every text parses: a key this version does not know becomes [`Metric::Other`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fixed = match s {
            "lens_gd_steps" => Some(Metric::LensGdSteps),
            "lens_newton_iterations" => Some(Metric::LensNewtonIterations),
            "lens_gd_match" => Some(Metric::LensGdMatch),
            "lens_newton_match" => Some(Metric::LensNewtonMatch),
            "icl_score" => Some(Metric::IclScore),
            "loss" => Some(Metric::Loss),
            "repeat_loss" => Some(Metric::RepeatLoss),
            "new_loss" => Some(Metric::NewLoss),
            _ => Probe::ALL
                .into_iter()
                .find(|p| p.name() == s)
                .map(Metric::Probe),
        };
        if let Some(m) = fixed {
            return Ok(m);
        }
        let head = |rest: &str, f: fn(Head) -> Metric| rest.parse().ok().map(f);
        let named = |rest: &str| (!rest.is_empty()).then(|| rest.to_string());
        let parsed = if let Some(r) = s.strip_prefix("lens_cosine_") {
            named(r).map(Metric::LensCosine)
        } else if let Some(r) = s.strip_prefix("lens_difference_") {
            named(r).map(Metric::LensDifference)
        } else if let Some(r) = s.strip_prefix("prefix_matching_") {
            head(r, Metric::PrefixMatching)
        } else if let Some(r) = s.strip_prefix("previous_token_") {
            head(r, Metric::PreviousToken)
        } else if let Some(r) = s.strip_prefix("copying_") {
            head(r, Metric::Copying)
        } else if let Some(r) = s.strip_prefix("lsa_kq_identity_") {
            head(r, Metric::LsaKqIdentity)
        } else if let Some(r) = s.strip_prefix("lsa_kq_share_") {
            head(r, Metric::LsaKqShare)
        } else if let Some(r) = s.strip_prefix("lsa_pv_share_") {
            head(r, Metric::LsaPvShare)
        } else if let Some((set, b)) = s.split_once("_distance_") {
            (!set.is_empty() && !b.is_empty()).then(|| Metric::distance(set, b))
        } else if let Some(set) = s.strip_suffix("_error") {
            (!set.is_empty() && !set.contains("_error_")).then(|| Metric::error(set))
        } else if let Some((set, p)) = s.split_once("_error_") {
            (!set.is_empty() && !p.is_empty()).then(|| Metric::Error {
                set: set.into(),
                predictor: Some(p.into()),
            })
        } else {
            None
        };
        Ok(parsed.unwrap_or_else(|| Metric::Other(s.into())))
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let Ok(m) = text.parse();
        Ok(m)
    }
}

/// An evaluation set for people: `fresh` → "fresh tasks", `sigma=0.5` → "σ = 0.5".
fn set_label(set: &str) -> String {
    match set {
        "fresh" | "pool" => format!("{set} tasks"),
        "regression" | "classification" => format!("{set} alone"),
        s => match (s.strip_prefix("sigma="), s.strip_prefix("x=")) {
            (Some(v), _) => format!("σ = {v}"),
            (_, Some(d)) => format!("x {d}"),
            _ => s.to_string(),
        },
    }
}

/// The name of an algorithm (a baseline or a lens reference) for people: `gd_2` →
/// "GD-2", `least_squares` → "least squares".
pub fn algorithm_label(name: &str) -> String {
    match name {
        "least_squares" => "least squares".into(),
        "dmmse" => "dMMSE".into(),
        "bayes_mixture" => "Bayes mixture".into(),
        n => {
            if let Some(t) = n.strip_prefix("gdpp_") {
                format!("GD++-{t}")
            } else if let Some(t) = n.strip_prefix("gd_") {
                format!("GD-{t}")
            } else if let Some(t) = n.strip_prefix("newton_") {
                format!("Newton-{t}")
            } else {
                n.replace('_', " ")
            }
        }
    }
}

/// Metrics drawn together on one chart: parsed from and written as a comma-joined
/// list (the sweep panel's menu).
pub fn parse_list(s: &str) -> Vec<Metric> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let Ok(m) = t.parse();
            m
        })
        .collect()
}

/// The comma-joined text of metrics drawn together.
pub fn list_text(metrics: &[Metric]) -> String {
    metrics
        .iter()
        .map(Metric::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Metric> {
        let at = Head::At { layer: 2, head: 1 };
        let mut all: Vec<Metric> = Probe::ALL.into_iter().map(Metric::Probe).collect();
        all.extend([
            Metric::error("fresh"),
            Metric::error("sigma=0.5"),
            Metric::Error {
                set: "pool".into(),
                predictor: Some("least_squares".into()),
            },
            Metric::distance("pool", "dmmse"),
            Metric::LensCosine("gd_2".into()),
            Metric::LensDifference("newton_4".into()),
            Metric::LensGdSteps,
            Metric::LensNewtonIterations,
            Metric::LensGdMatch,
            Metric::LensNewtonMatch,
            Metric::IclScore,
            Metric::Loss,
            Metric::RepeatLoss,
            Metric::NewLoss,
            Metric::PrefixMatching(at),
            Metric::PrefixMatching(Head::Uniform),
            Metric::PrefixMatching(Head::Max),
            Metric::PreviousToken(at),
            Metric::Copying(at),
            Metric::LsaKqIdentity(at),
            Metric::LsaKqShare(at),
            Metric::LsaPvShare(at),
            Metric::Other("something_new".into()),
        ]);
        all
    }

    #[test]
    fn every_metric_reads_back_as_written() {
        for m in every_kind() {
            let text = m.to_string();
            assert_eq!(text.parse::<Metric>().unwrap(), m, "{text}");
        }
    }

    #[test]
    fn keys_keep_their_old_spelling() {
        // summary.json files and saved runs written before the enum use these keys.
        let cases = [
            ("fresh_error", Metric::error("fresh")),
            (
                "fresh_error_ridge",
                Metric::Error {
                    set: "fresh".into(),
                    predictor: Some("ridge".into()),
                },
            ),
            (
                "pool_distance_least_squares",
                Metric::distance("pool", "least_squares"),
            ),
            ("in_weights", Metric::Probe(Probe::InWeights)),
            (
                "prefix_matching_L1H2",
                Metric::PrefixMatching(Head::At { layer: 1, head: 2 }),
            ),
            (
                "copying_L3H1",
                Metric::Copying(Head::At { layer: 3, head: 1 }),
            ),
            ("prefix_matching_max", Metric::PrefixMatching(Head::Max)),
            ("lens_newton_iterations", Metric::LensNewtonIterations),
            ("lens_newton_match", Metric::LensNewtonMatch),
            ("lens_gd_match", Metric::LensGdMatch),
        ];
        for (text, m) in cases {
            assert_eq!(text.parse::<Metric>().unwrap(), m, "{text}");
        }
        // Malformed keys are kept, not guessed at.
        for odd in [
            "prefix_matching_L0H1",
            "copying_",
            "_error",
            "x_distance_",
            "L1H2",
        ] {
            assert_eq!(
                odd.parse::<Metric>().unwrap(),
                Metric::Other(odd.into()),
                "{odd}"
            );
        }
    }

    #[test]
    fn labels_are_words_not_keys() {
        let cases = [
            ("fresh_error", "error, fresh tasks"),
            (
                "pool_error_least_squares",
                "least squares error, pool tasks",
            ),
            ("sigma=0.25_distance_ridge", "distance to ridge, σ = 0.25"),
            (
                "lens_difference_newton_16",
                "prediction difference to Newton-16",
            ),
            ("lens_cosine_gdpp_2", "cosine to GD++-2"),
            ("prefix_matching_L2H1", "L2H1 prefix matching"),
            ("icl", "ICL accuracy (novel classes)"),
        ];
        for (key, label) in cases {
            assert_eq!(key.parse::<Metric>().unwrap().label(), label, "{key}");
        }
        for m in every_kind() {
            assert!(!m.label().contains('_'), "{m}: {}", m.label());
        }
    }

    #[test]
    fn a_map_of_metrics_is_json_with_string_keys() {
        let m: Metrics = [(Metric::error("fresh"), 0.5), (Metric::IclScore, -1.0)].into();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"fresh_error":0.5,"icl_score":-1.0}"#);
        assert_eq!(serde_json::from_str::<Metrics>(&json).unwrap(), m);
        let list = vec![Metric::error("regression"), Metric::error("classification")];
        assert_eq!(list_text(&list), "regression_error,classification_error");
        assert_eq!(parse_list(&list_text(&list)), list);
    }
}
