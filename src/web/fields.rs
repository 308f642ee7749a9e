//! The controls of the lab: one entry per config field a user varies, with its
//! label, the allowed values shown beside it, and when it applies. Editing goes
//! through the core's `Experiment::with_overrides` and `validate`, so the browser
//! accepts exactly what the CLI's `--set` accepts. Platform-neutral: tested natively.

use serde_json::Value;

use crate::config::{ConfigError, Experiment};
use crate::tasks::Shape;

use super::hash::get;

/// How a field is edited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Int,
    Float,
    /// An integer or empty (`null`).
    OptInt,
    /// Comma-separated numbers (a JSON array).
    List,
    Toggle,
    /// (JSON value, label) pairs.
    Select(&'static [(&'static str, &'static str)]),
    /// A number with a slider beside it (the data properties people move by hand).
    Slider {
        min: f64,
        max: f64,
        step: f64,
    },
    /// A whole number or empty (`null` = ∞) with a log₂ slider: 2⁰ … 2^max_exp, then ∞.
    LogSlider {
        max_exp: u32,
    },
}

/// The log₂ slider's position for a value: its exponent, or max_exp + 1 for ∞.
pub fn log_slider_position(text: &str, max_exp: u32) -> u32 {
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => (n as f64).log2().round().clamp(0.0, max_exp as f64) as u32,
        _ => max_exp + 1,
    }
}

/// The text a log₂ slider position stands for: 2^position, or empty (∞).
pub fn log_slider_text(position: u32, max_exp: u32) -> String {
    if position > max_exp {
        String::new()
    } else {
        (1u64 << position).to_string()
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub path: &'static str,
    pub label: &'static str,
    /// The allowed values, shown beside the input.
    pub hint: &'static str,
    pub kind: Kind,
    /// Shown only when the field at this path has this value (a family's parameter).
    pub when: Option<(&'static str, &'static str)>,
    /// Hidden when the field at any of these paths has the value (regression-only
    /// fields under the classification family, MLP and width for models without them).
    pub unless: &'static [(&'static str, &'static str)],
}

pub struct Section {
    pub title: &'static str,
    pub fields: &'static [Field],
}

const fn f(path: &'static str, label: &'static str, hint: &'static str, kind: Kind) -> Field {
    Field {
        path,
        label,
        hint,
        kind,
        when: None,
        unless: &[],
    }
}

const fn unless(field: Field, conditions: &'static [(&'static str, &'static str)]) -> Field {
    Field {
        unless: conditions,
        ..field
    }
}

const CLASSIFICATION: &str = "classification";
const INDUCTION: &str = "induction";

/// A classification parameter: shown only for that family.
const fn class_param(
    path: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
) -> Field {
    when(
        f(path, label, hint, kind),
        "task.family.kind",
        CLASSIFICATION,
    )
}

/// A regression-only field: hidden for classification and token sequences.
const fn regression(field: Field) -> Field {
    unless(
        field,
        &[
            ("task.family.kind", CLASSIFICATION),
            ("task.family.kind", INDUCTION),
        ],
    )
}

const fn when(field: Field, path: &'static str, value: &'static str) -> Field {
    Field {
        when: Some((path, value)),
        ..field
    }
}

pub const FAMILIES: &[(&str, &str)] = &[
    (r#"{"kind":"linear"}"#, "linear regression"),
    (r#"{"kind":"sparse_linear"}"#, "sparse linear"),
    (
        r#"{"kind":"noisy_linear"}"#,
        "noisy linear (σ or a mixture)",
    ),
    (r#"{"kind":"relu_net"}"#, "2-layer ReLU networks"),
    (r#"{"kind":"decision_tree"}"#, "decision trees"),
    (
        r#"{"kind":"linear_classification"}"#,
        "linear classification sign(w·x)",
    ),
    (
        r#"{"kind":"regression_classification"}"#,
        "regression + classification mixture",
    ),
    (
        r#"{"kind":"classification"}"#,
        "few-shot classification (Chan, Reddy)",
    ),
    (
        r#"{"kind":"induction"}"#,
        "token sequences with copies (induction heads)",
    ),
];

pub const X_DISTS: &[(&str, &str)] = &[
    (r#"{"kind":"gaussian"}"#, "Gaussian N(0, I)"),
    (r#"{"kind":"skewed"}"#, "skewed covariance"),
    (r#"{"kind":"half_subspace"}"#, "half subspace"),
    (r#"{"kind":"scaled"}"#, "scaled N(0, c²I)"),
    (r#"{"kind":"quadrants"}"#, "random quadrants, any query"),
    (
        r#"{"kind":"orthogonal"}"#,
        "queries orthogonal to the context",
    ),
    (r#"{"kind":"query_in_prompt"}"#, "query repeats an example"),
];

pub const SECTIONS: &[Section] = &[
    Section {
        title: "Task",
        fields: &[
            f("task.family", "family", "", Kind::Select(FAMILIES)),
            when(
                f(
                    "task.family.sparsity",
                    "non-zero weights s",
                    "1 … d",
                    Kind::Int,
                ),
                "task.family.kind",
                "sparse_linear",
            ),
            when(
                f(
                    "task.family.noise",
                    "noise σ (one, or a mixture)",
                    "0 … 10 each, e.g. 0.1, 0.5, 1",
                    Kind::List,
                ),
                "task.family.kind",
                "noisy_linear",
            ),
            when(
                f("task.family.hidden", "hidden units", "1 … 1024", Kind::Int),
                "task.family.kind",
                "relu_net",
            ),
            when(
                f("task.family.depth", "tree depth", "1 … 12", Kind::Int),
                "task.family.kind",
                "decision_tree",
            ),
            when(
                f(
                    "task.family.p_classification",
                    "classification fraction",
                    "0 … 1",
                    Kind::Slider {
                        min: 0.0,
                        max: 1.0,
                        step: 0.05,
                    },
                ),
                "task.family.kind",
                "regression_classification",
            ),
            class_param("task.family.classes", "classes K", "2 … 2²⁰", Kind::Int),
            class_param("task.family.labels", "labels L", "2 … 1024", Kind::Int),
            class_param(
                "task.family.p_bursty",
                "bursty fraction p_bursty",
                "0 … 1",
                Kind::Slider {
                    min: 0.0,
                    max: 1.0,
                    step: 0.05,
                },
            ),
            class_param(
                "task.family.burstiness",
                "burstiness B (copies per class)",
                "a divisor of the context length",
                Kind::Int,
            ),
            class_param(
                "task.family.zipf",
                "Zipf exponent α",
                "0 … 5; 0 = uniform",
                Kind::Slider {
                    min: 0.0,
                    max: 3.0,
                    step: 0.1,
                },
            ),
            class_param(
                "task.family.within_class_noise",
                "within-class noise ε",
                "0 … 10",
                Kind::Slider {
                    min: 0.0,
                    max: 2.0,
                    step: 0.05,
                },
            ),
            class_param(
                "task.family.p_novel",
                "novel-class fraction p_novel",
                "0 … 1",
                Kind::Slider {
                    min: 0.0,
                    max: 1.0,
                    step: 0.05,
                },
            ),
            class_param(
                "task.family.tasks",
                "tasks M (Kirsch: a projection and a relabelling each)",
                "empty = none, the classes as drawn; 1 … 2⁴⁰; p_novel then = sequences from a new task",
                Kind::OptInt,
            ),
            when(
                f(
                    "task.family.vocab",
                    "vocabulary V",
                    "2 … 4096 tokens",
                    Kind::Int,
                ),
                "task.family.kind",
                INDUCTION,
            ),
            unless(
                f("task.dims", "dimension d", "1 … 64", Kind::Int),
                &[("task.family.kind", INDUCTION)],
            ),
            f(
                "task.points",
                "points (context pairs; tokens T for sequences)",
                "1 … 256 (4 … 256 tokens)",
                Kind::Int,
            ),
            regression(f(
                "task.pool",
                "task pool size M",
                "empty = a fresh task per prompt (∞); 1 … 2³⁰; the slider goes 2⁰ … 2²⁰, then ∞",
                Kind::LogSlider { max_exp: 20 },
            )),
            regression(f(
                "task.encoding",
                "tokens",
                "",
                Kind::Select(&[
                    ("\"concatenated\"", "[x, y] per token, causal context"),
                    (
                        "\"full_context\"",
                        "[x, y] blocks, whole context visible (von Oswald)",
                    ),
                    ("\"interleaved\"", "x and y tokens alternate (Garg)"),
                ]),
            )),
        ],
    },
    Section {
        title: "Inputs x",
        fields: &[
            regression(f("x_dist", "distribution", "", Kind::Select(X_DISTS))),
            when(
                f("x_dist.scale", "scale c", "0 < c ≤ 100", Kind::Float),
                "x_dist.kind",
                "scaled",
            ),
        ],
    },
    Section {
        title: "Model",
        fields: &[
            f(
                "model.kind",
                "architecture",
                "",
                Kind::Select(&[
                    ("\"transformer\"", "transformer (GPT-2 style)"),
                    ("\"linear_attention\"", "linear attention (no softmax)"),
                    ("\"reddy\"", "Reddy: attention-only + MLP classifier"),
                    ("\"lsa\"", "linear self-attention (von Oswald)"),
                    ("\"lstm\"", "LSTM (recurrent)"),
                    ("\"gru\"", "GRU (recurrent)"),
                    ("\"s4d\"", "S4D state-space model"),
                ]),
            ),
            f("model.layers", "layers", "1 … 24", Kind::Int),
            unless(
                f("model.heads", "heads", "1 … 16", Kind::Int),
                &[
                    ("model.kind", "lstm"),
                    ("model.kind", "gru"),
                    ("model.kind", "s4d"),
                ],
            ),
            unless(
                f(
                    "model.params",
                    "parameters (sets the width)",
                    "empty = set the width; else ≈ this many parameters",
                    Kind::OptInt,
                ),
                &[("model.kind", "lsa")],
            ),
            unless(
                f(
                    "model.width",
                    "width",
                    "1 … 1024 (a multiple of heads with attention); set by parameters when given",
                    Kind::Int,
                ),
                &[("model.kind", "lsa")],
            ),
            unless(
                f("model.mlp", "MLP in every block", "", Kind::Toggle),
                &[("model.kind", "reddy"), ("model.kind", "lsa")],
            ),
            unless(
                f(
                    "model.attention",
                    "attention",
                    "",
                    Kind::Select(&[
                        ("\"softmax\"", "softmax"),
                        ("\"linear\"", "linear (no softmax)"),
                    ]),
                ),
                &[
                    ("model.kind", "lsa"),
                    ("model.kind", "linear_attention"),
                    ("model.kind", "lstm"),
                    ("model.kind", "gru"),
                    ("model.kind", "s4d"),
                ],
            ),
            unless(
                f(
                    "model.positions",
                    "positions",
                    "",
                    Kind::Select(&[
                        ("\"learned\"", "learned (GPT-2)"),
                        ("\"sinusoidal\"", "fixed sinusoids"),
                    ]),
                ),
                &[
                    ("model.kind", "lsa"),
                    ("model.kind", "lstm"),
                    ("model.kind", "gru"),
                    ("model.kind", "s4d"),
                ],
            ),
        ],
    },
    Section {
        title: "Training",
        fields: &[
            f("optim.lr", "learning rate", "0 < lr ≤ 1", Kind::Float),
            f(
                "optim.schedule",
                "schedule",
                "",
                Kind::Select(&[
                    ("\"cosine\"", "cosine decay to lr/10"),
                    ("\"constant\"", "constant"),
                ]),
            ),
            f(
                "optim.kind",
                "optimizer",
                "",
                Kind::Select(&[
                    ("\"adam\"", "Adam (decay = L2 in the loss)"),
                    ("\"adam_w\"", "AdamW (decoupled decay)"),
                ]),
            ),
            f(
                "optim.weight_decay",
                "weight decay (L2 with Adam)",
                "0 … 1",
                Kind::Float,
            ),
            f("optim.warmup_steps", "warm-up steps", "0 … 10⁷", Kind::Int),
            f("train.batch", "batch", "1 … 4096", Kind::Int),
            f("train.steps", "steps", "1 … 10⁷", Kind::Int),
            f("train.log_every", "log every", "1 … 10⁷ steps", Kind::Int),
            f(
                "train.eval_every",
                "evaluate every",
                "0 = at the end only; … 10⁷ steps",
                Kind::Int,
            ),
            f("seed", "seed", "any whole number ≥ 0", Kind::Int),
        ],
    },
    Section {
        title: "Evaluation",
        fields: &[f("eval.prompts", "prompts", "2 … 100000", Kind::Int)],
    },
];

/// Every field, in display order.
pub fn all_fields() -> impl Iterator<Item = &'static Field> {
    SECTIONS.iter().flat_map(|s| s.fields.iter())
}

impl Field {
    /// Whether the field applies to `exp` (a family's parameter only for that family).
    pub fn applies(&self, exp: &Experiment) -> bool {
        if self.when.is_none() && self.unless.is_empty() {
            return true;
        }
        let v = serde_json::to_value(exp).expect("config serialises");
        let is =
            |(path, value): (&str, &str)| get(&v, path).and_then(|x| x.as_str()) == Some(value);
        self.when.is_none_or(is) && !self.unless.iter().any(|c| is(*c))
    }

    /// The field's value as the input shows it.
    pub fn text(&self, exp: &Experiment) -> String {
        let v = serde_json::to_value(exp).expect("config serialises");
        let Some(x) = get(&v, self.path) else {
            return String::new();
        };
        match (self.kind, x) {
            (Kind::Select(options), Value::Object(map)) => {
                // A tagged enum: the option with the same kind.
                let kind = map.get("kind");
                options
                    .iter()
                    .find(|(json, _)| {
                        serde_json::from_str::<Value>(json)
                            .ok()
                            .and_then(|o| o.get("kind").cloned())
                            .as_ref()
                            == kind
                    })
                    .map(|(json, _)| json.to_string())
                    .unwrap_or_default()
            }
            (Kind::Select(_), other) => other.to_string(),
            (_, Value::Null) => String::new(),
            (Kind::List, Value::Array(items)) => items
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            (_, other) => other.to_string(),
        }
    }

    /// Applies what the user typed: the new experiment, or a message naming the
    /// field and the allowed values. The experiment itself is left untouched.
    pub fn edit(&self, exp: &Experiment, text: &str) -> Result<Experiment, String> {
        let t = text.trim();
        let json = match self.kind {
            Kind::Int | Kind::Float | Kind::Slider { .. } if t.is_empty() => {
                return Err(format!("{} is empty: {}", self.path, self.hint));
            }
            Kind::Int => match t.parse::<u64>() {
                Ok(n) => n.to_string(),
                Err(_) => {
                    return Err(format!(
                        "{} = {t} is not a whole number: {}",
                        self.path, self.hint
                    ));
                }
            },
            Kind::Float | Kind::Slider { .. } => match t.parse::<f64>() {
                Ok(x) if x.is_finite() => t.to_string(),
                _ => {
                    return Err(format!(
                        "{} = {t} is not a number: {}",
                        self.path, self.hint
                    ));
                }
            },
            Kind::OptInt | Kind::LogSlider { .. } if t.is_empty() => "null".into(),
            Kind::OptInt | Kind::LogSlider { .. } => match t.parse::<u64>() {
                Ok(n) => n.to_string(),
                Err(_) => {
                    return Err(format!(
                        "{} = {t} is not a whole number: {}",
                        self.path, self.hint
                    ));
                }
            },
            Kind::List => {
                let items: Result<Vec<f64>, _> = t
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<f64>())
                    .collect();
                match items {
                    Ok(v) if !v.is_empty() => serde_json::to_string(&v).expect("json"),
                    _ => {
                        return Err(format!(
                            "{} = {t} is not a list of numbers: {}",
                            self.path, self.hint
                        ));
                    }
                }
            }
            Kind::Toggle => match t {
                "true" | "false" => t.into(),
                _ => return Err(format!("{} = {t}: true or false", self.path)),
            },
            Kind::Select(options) => {
                if !options.iter().any(|(json, _)| *json == t) {
                    return Err(format!("{} = {t} is not one of the choices", self.path));
                }
                if self.text(exp) == t {
                    // The same family again keeps its parameters.
                    return Ok(exp.clone());
                }
                t.into()
            }
        };
        let mut sets = vec![format!("{}={json}", self.path)];
        if self.path == "task.family" {
            sets.extend(switch_kind(exp, &json));
        }
        let next = exp.with_overrides(&sets).map_err(messages)?;
        super::limits::check_browser(&next).map_err(messages)?;
        Ok(next)
    }
}

/// Switching between regression, classification and token sequences changes what
/// the task fields mean: each kind starts from its browser-scale defaults (the
/// `icl-in-a-minute`, `bursty-icl` or `induction-phase-change` task size), and
/// fields the new kind cannot use are cleared.
fn switch_kind(exp: &Experiment, family_json: &str) -> Vec<String> {
    let Ok(to) = serde_json::from_str::<crate::tasks::TaskFamilyConfig>(family_json) else {
        return Vec::new();
    };
    // The kind of data, not its parameters: another classification setup stays put.
    let (from, to) = (exp.task.family.shape(), to.shape());
    if from.name() == to.name() {
        return Vec::new();
    }
    let not_regression = [
        "task.pool=null".to_string(),
        "curriculum=null".into(),
        "eval.baselines=null".into(),
    ];
    match to {
        Shape::Regression => vec!["task.dims=5".into(), "task.points=21".into()],
        Shape::Classification(_) => [
            vec!["task.dims=32".to_string(), "task.points=8".into()],
            not_regression.to_vec(),
        ]
        .concat(),
        Shape::Tokens { .. } => [
            vec![
                "task.points=32".to_string(),
                "model.kind=\"transformer\"".into(),
            ],
            not_regression.to_vec(),
        ]
        .concat(),
    }
}

/// The field errors alone ("task.dims = 0 is not allowed: …"), without the
/// "invalid config:" prefix meant for the CLI.
fn messages(e: ConfigError) -> String {
    match e {
        ConfigError::Invalid(errors) => errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskFamilyConfig;

    fn field(path: &str) -> &'static Field {
        all_fields().find(|f| f.path == path).unwrap()
    }

    #[test]
    fn every_field_names_a_real_config_path_and_round_trips_its_value() {
        for p in crate::presets::PRESETS {
            let exp = (p.build)();
            for fl in all_fields().filter(|fl| fl.applies(&exp)) {
                let text = fl.text(&exp);
                let back = fl
                    .edit(&exp, &text)
                    .unwrap_or_else(|e| panic!("{} {}: {e}", p.name, fl.path));
                assert_eq!(back, exp, "{} {} = {text}", p.name, fl.path);
            }
        }
    }

    #[test]
    fn edits_validate_as_typed_and_name_field_and_range() {
        let exp = Experiment::default();
        let e = field("task.dims").edit(&exp, "500").unwrap_err();
        assert!(e.contains("task.dims = 500") && e.contains("1..=64"), "{e}");
        let e = field("task.dims").edit(&exp, "five").unwrap_err();
        assert!(
            e.contains("not a whole number") && e.contains("1 … 64"),
            "{e}"
        );
        let e = field("model.width").edit(&exp, "33").unwrap_err();
        assert!(e.contains("multiple of model.heads"), "{e}");
        let e = field("optim.lr").edit(&exp, "NaN").unwrap_err();
        assert!(e.contains("optim.lr"), "{e}");
        let mut big = exp.clone();
        big.task.points = 256;
        let e = field("train.batch").edit(&big, "4096").unwrap_err();
        assert!(
            e.contains("train.batch = 4096") && e.contains("browser"),
            "{e}"
        );
        let ok = field("task.pool").edit(&exp, "").unwrap();
        assert_eq!(ok.task.pool, None);
        let ok = field("task.pool").edit(&exp, "16").unwrap();
        assert_eq!(ok.task.pool, Some(16));
    }

    #[test]
    fn the_pool_slider_runs_in_powers_of_two_then_infinity() {
        assert_eq!(log_slider_position("16", 20), 4);
        assert_eq!(log_slider_position("1", 20), 0);
        assert_eq!(log_slider_position("", 20), 21);
        assert_eq!(
            log_slider_position("100", 20),
            7,
            "rounded to the nearest power"
        );
        assert_eq!(log_slider_text(4, 20), "16");
        assert_eq!(log_slider_text(21, 20), "");
        let exp = Experiment::default();
        let m = field("task.pool")
            .edit(&exp, &log_slider_text(10, 20))
            .unwrap();
        assert_eq!(m.task.pool, Some(1024));
        let inf = field("task.pool")
            .edit(&m, &log_slider_text(21, 20))
            .unwrap();
        assert_eq!(inf.task.pool, None);
        let mut c = exp.clone();
        c = field("task.family")
            .edit(&c, r#"{"kind":"classification"}"#)
            .unwrap();
        let e = field("task.family.p_bursty").edit(&c, "1.5").unwrap_err();
        assert!(
            e.contains("task.family.p_bursty = 1.5") && e.contains("[0, 1]"),
            "{e}"
        );
    }

    #[test]
    fn switching_family_shows_its_parameters() {
        let exp = Experiment::default();
        let sparse = field("task.family")
            .edit(&exp, r#"{"kind":"sparse_linear"}"#)
            .unwrap();
        assert_eq!(
            sparse.task.family,
            TaskFamilyConfig::SparseLinear { sparsity: 3 }
        );
        assert!(field("task.family.sparsity").applies(&sparse));
        assert!(!field("task.family.sparsity").applies(&exp));
        let noisy = field("task.family")
            .edit(&exp, r#"{"kind":"noisy_linear"}"#)
            .unwrap();
        let mix = field("task.family.noise")
            .edit(&noisy, "0.1, 0.5 1")
            .unwrap();
        assert_eq!(
            mix.task.family,
            TaskFamilyConfig::NoisyLinear {
                noise: vec![0.1, 0.5, 1.0]
            }
        );
        assert_eq!(field("task.family.noise").text(&mix), "0.1, 0.5, 1.0");
    }

    #[test]
    fn switching_to_classification_adapts_the_task_and_hides_regression_fields() {
        let mut exp = Experiment::default();
        exp.task.pool = Some(16);
        let c = field("task.family")
            .edit(&exp, r#"{"kind":"classification"}"#)
            .unwrap();
        assert!(matches!(c.task.family.shape(), Shape::Classification(_)));
        assert_eq!((c.task.dims, c.task.points, c.task.pool), (32, 8, None));
        assert!(field("task.family.p_bursty").applies(&c));
        assert!(!field("task.pool").applies(&c));
        assert!(!field("x_dist").applies(&c));
        assert!(field("task.pool").applies(&exp));
        let e = field("task.family.burstiness").edit(&c, "3").unwrap_err();
        assert!(
            e.contains("a divisor of task.points (8): 1, 2, 4, 8"),
            "{e}"
        );
        let back = field("task.family")
            .edit(&c, r#"{"kind":"linear"}"#)
            .unwrap();
        assert_eq!((back.task.dims, back.task.points), (5, 21));
        let reddy = field("model.kind").edit(&c, "\"reddy\"").unwrap();
        assert!(!field("model.mlp").applies(&reddy));
        let w = field("optim.kind").edit(&c, "\"adam_w\"").unwrap();
        let w = field("optim.weight_decay").edit(&w, "0.1").unwrap();
        // With plain Adam the decay is an L2 penalty in the loss: it stays.
        let plain = field("optim.kind").edit(&w, "\"adam\"").unwrap();
        assert_eq!(plain.optim.weight_decay, 0.1);
    }
}
