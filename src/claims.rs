//! The lab's quoted numbers, and the checks that keep them true.
//!
//! Every measured figure a user reads (a preset's summary, a lesson) is a *claim*:
//! one row of `claims/claims.toml` says which preset to run (with which overrides),
//! what to read from its evaluation (a sweep metric, optionally at one k and one
//! step) and what the paper's result requires of it (at most, at least, between,
//! below another metric). `icl-lab reproduce` runs the claims and writes what it
//! measured to `claims/results.json`; the texts quote a claim as `{{id}}` and are
//! rendered from that file by [`render`], so a summary cannot drift from what the
//! code measures. A claim that fails its check is quoted with the failure, not
//! hidden. Short claims run in CI (tests/it/reproduce.rs), the long ones with
//! `icl-lab reproduce --all`, their last results committed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The table, as committed.
pub const TABLE: &str = include_str!("../claims/claims.toml");
/// The last measured results, as committed.
pub const RESULTS: &str = include_str!("../claims/results.json");

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct Table {
    claim: Vec<Claim>,
    /// Figures drawn across claims (Lee's comparison: a metric against size).
    #[serde(default)]
    figure: Vec<SizeFigure>,
}

/// A figure drawn from several claims' results rather than from one run: one line
/// per series, each point a claim's value against its model's parameter count
/// (`Measured::params`). `icl-lab reproduce --write` draws it into
/// `docs/results/<id>.svg`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SizeFigure {
    /// The file name, `docs/results/<id>.svg`.
    pub id: String,
    pub title: String,
    /// The y axis's label (what the claims measure).
    pub y: String,
    pub series: Vec<Series>,
}

/// One line of a [`SizeFigure`]: a model kind at several sizes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub name: String,
    /// Claim ids, one per size.
    pub claims: Vec<String>,
}

impl SizeFigure {
    /// Each series' (parameters, value) points in order of size, from `results`;
    /// a claim not measured yet (or measured before sizes were recorded) is left
    /// out.
    pub fn points(&self, results: &Results) -> Vec<(String, Vec<(f64, f64)>)> {
        self.series
            .iter()
            .map(|s| {
                let mut pts: Vec<(f64, f64)> = s
                    .claims
                    .iter()
                    .filter_map(|id| results.get(id))
                    .filter_map(|m| Some((m.params? as f64, m.value)))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (s.name.clone(), pts)
            })
            .collect()
    }
}

/// One quoted number and its check.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// `preset/what`, quoted in texts as `{{id}}`.
    pub id: String,
    pub preset: String,
    /// Overrides, as the CLI's `--set` (`train.steps=1500`, `model.layers=2`).
    #[serde(default)]
    pub set: Vec<String>,
    /// The training step to measure at (an evaluation during the run); the run's
    /// end when absent.
    #[serde(default)]
    pub step: Option<usize>,
    /// A sweep metric (`fresh_error`, `fresh_error_averaging`, `icl`,
    /// `lens_cosine_gd_1`, `prefix_matching_max`, …).
    pub metric: String,
    /// For an error metric: the number of context examples k (the last when absent).
    #[serde(default)]
    pub k: Option<usize>,
    /// What is measured, in words (the results page's line).
    pub what: String,
    pub expect: Expect,
    /// Runs in CI (a few seconds to a minute natively); the rest with `--all`.
    #[serde(default)]
    pub short: bool,
    /// Digits after the point when quoted.
    #[serde(default = "two")]
    pub digits: usize,
    /// A threshold over a sweep: the claim's value is then the swept value from
    /// which on `metric` passes the threshold's check at every value (Raventós's
    /// M*), and `expect` checks that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// Heads switched off before measuring (`L2H1`, `L2H2:mean`, as `icl-lab eval
    /// --ablate`): the claim reads the evaluation of the model without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ablate: Vec<String>,
}

/// The sweep of a threshold claim.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The swept field, as in `--set` (`task.pool`).
    pub path: String,
    /// Its values, increasing: one run each.
    pub values: Vec<f64>,
    /// What passing means at one value (`below = { metric = "fresh_error_ridge",
    /// times = 1.5 }`: the model follows ridge there).
    pub past: Expect,
}

impl Threshold {
    /// The threshold of a sweep's verdicts, in the order of `values`: the first
    /// value from which on every one passes (none when the last fails).
    pub fn locate(&self, passed: &[bool]) -> Option<f64> {
        let from = passed.iter().rposition(|p| !p).map_or(0, |i| i + 1);
        self.values.get(from).copied()
    }
}

fn two() -> usize {
    2
}

/// What the paper's result requires of the measured value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    AtMost(f64),
    AtLeast(f64),
    Between([f64; 2]),
    /// Below `times` × another metric of the same measurement.
    Below {
        metric: String,
        times: f64,
    },
    /// Above `times` × another metric of the same measurement.
    Above {
        metric: String,
        times: f64,
    },
    /// Nearer to `metric` than to `than` (Bai's selection: the model's error nearer
    /// the tuned ridge's than the one-λ ridge's).
    Nearer {
        metric: String,
        than: String,
    },
}

impl Expect {
    /// The other metrics a relative check reads, in order.
    pub fn references(&self) -> Vec<&str> {
        match self {
            Expect::Below { metric, .. } | Expect::Above { metric, .. } => vec![metric],
            Expect::Nearer { metric, than } => vec![metric, than],
            _ => vec![],
        }
    }

    /// Whether `value` passes, given the values of [`Expect::references`].
    pub fn holds(&self, value: f64, refs: &[f64]) -> bool {
        if !value.is_finite() || refs.len() != self.references().len() {
            return false;
        }
        match self {
            Expect::AtMost(m) => value <= *m,
            Expect::AtLeast(m) => value >= *m,
            Expect::Between([lo, hi]) => (*lo..=*hi).contains(&value),
            Expect::Below { times, .. } => value < times * refs[0],
            Expect::Above { times, .. } => value > times * refs[0],
            Expect::Nearer { .. } => (value - refs[0]).abs() < (value - refs[1]).abs(),
        }
    }

    /// The check in words: "at most 0.05", "below 0.5 × fresh_error_averaging".
    pub fn describe(&self) -> String {
        match self {
            Expect::AtMost(m) => format!("at most {m}"),
            Expect::AtLeast(m) => format!("at least {m}"),
            Expect::Between([lo, hi]) => format!("between {lo} and {hi}"),
            Expect::Below { metric, times } => format!("below {times} × {metric}"),
            Expect::Above { metric, times } => format!("above {times} × {metric}"),
            Expect::Nearer { metric, than } => format!("nearer {metric} than {than}"),
        }
    }
}

/// What `icl-lab reproduce` measured for one claim.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    pub value: f64,
    /// The other metrics' values, for a relative check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<f64>,
    pub passed: bool,
    /// Wall-clock seconds of the claim's run on the machine that measured it:
    /// training alone (what `{{id:seconds}}` quotes), and with its evaluations.
    pub seconds: f64,
    pub total_seconds: f64,
    /// The steps that run trained: the preset's length, or the last step the run's
    /// claims read when none reads the end (`{{id:steps}}`).
    pub steps: usize,
    /// The model's parameter count in that run (`{{id:params}}`; absent in results
    /// measured before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<usize>,
    /// A threshold claim's sweep: [value, metric, 1 if it passed there].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<[f64; 3]>,
}

/// claim id → its last measurement.
pub type Results = BTreeMap<String, Measured>;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClaimError {
    #[error("claims/claims.toml: {0}")]
    Table(String),
    #[error("claims/results.json: {0}")]
    Results(String),
    #[error("claim {id}: {why}")]
    Claim { id: String, why: String },
    #[error("unknown claim `{0}` quoted as {{{{{0}}}}}")]
    Unknown(String),
}

/// Parses a claims table.
pub fn parse_table(text: &str) -> Result<Vec<Claim>, ClaimError> {
    Ok(parse(text)?.claim)
}

/// Parses a claims table's figures; each names claims of the table.
pub fn parse_figures(text: &str) -> Result<Vec<SizeFigure>, ClaimError> {
    let table = parse(text)?;
    let mut seen = std::collections::BTreeSet::new();
    for f in &table.figure {
        let bad = |why: String| ClaimError::Claim {
            id: format!("figure {}", f.id),
            why,
        };
        if !seen.insert(f.id.as_str()) {
            return Err(bad("listed twice".into()));
        }
        if f.id.is_empty() || !f.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("the id is a file name: letters, digits and -".into()));
        }
        for id in f.series.iter().flat_map(|s| &s.claims) {
            if !table.claim.iter().any(|c| &c.id == id) {
                return Err(bad(format!(
                    "`{}` is not a claim of the table",
                    crate::check::readable(id)
                )));
            }
        }
    }
    Ok(table.figure)
}

/// The committed table's figures.
pub fn figures() -> Vec<SizeFigure> {
    parse_figures(TABLE).expect("claims/claims.toml parses (tested)")
}

fn parse(text: &str) -> Result<Table, ClaimError> {
    let table: Table = toml::from_str(text).map_err(|e| ClaimError::Table(e.to_string()))?;
    let mut seen = std::collections::BTreeSet::new();
    for c in &table.claim {
        if !seen.insert(c.id.as_str()) {
            return Err(ClaimError::Claim {
                id: c.id.clone(),
                why: "listed twice".into(),
            });
        }
        if !c.id.starts_with(&format!("{}/", c.preset)) {
            return Err(ClaimError::Claim {
                id: c.id.clone(),
                why: format!("the id must start with its preset, `{}/`", c.preset),
            });
        }
        if c.id.contains('@') {
            return Err(ClaimError::Claim {
                id: c.id.clone(),
                why: "`@` is kept for the runs of a threshold's sweep".into(),
            });
        }
        if let Some(bad) = c
            .ablate
            .iter()
            .find(|h| h.parse::<crate::ablation::HeadAblation>().is_err())
        {
            return Err(ClaimError::Claim {
                id: c.id.clone(),
                why: format!("ablate: `{bad}` is not a head such as L2H1 or L2H1:mean"),
            });
        }
        if let Some(t) = &c.threshold
            && (t.values.is_empty() || t.values.windows(2).any(|w| w[0] >= w[1]))
        {
            return Err(ClaimError::Claim {
                id: c.id.clone(),
                why: "threshold.values must be one or more increasing numbers".into(),
            });
        }
    }
    Ok(table)
}

/// The committed table.
pub fn table() -> Vec<Claim> {
    parse_table(TABLE).expect("claims/claims.toml parses (tested)")
}

/// The committed results.
pub fn results() -> Results {
    parse_results(RESULTS).expect("claims/results.json parses (tested)")
}

pub fn parse_results(text: &str) -> Result<Results, ClaimError> {
    serde_json::from_str(text).map_err(|e| ClaimError::Results(e.to_string()))
}

/// How a claim's value is quoted: its digits, and the failure when it fails.
pub fn quote(claim: &Claim, m: &Measured) -> String {
    let v = format!("{:.*}", claim.digits, m.value);
    if m.passed {
        v
    } else {
        format!("{v} (fails its check: {})", claim.expect.describe())
    }
}

/// Fills `{{id}}` (the measured value), `{{id:seconds}}` (the run's wall-clock
/// seconds), `{{id:steps}}`, `{{id:params}}` (the model's parameter count) and
/// `{{id:k}}` (the claim's k) from `results`; a claim not measured yet reads "(not measured yet)".
/// Unknown ids are an error, so a typo cannot reach a reader (tested on every
/// preset and lesson).
pub fn render_with(text: &str, claims: &[Claim], results: &Results) -> Result<String, ClaimError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = after[..end].trim();
        let (id, field) = inner.split_once(':').unwrap_or((inner, "value"));
        let claim = claims
            .iter()
            .find(|c| c.id == id)
            // an id from a hand-edited text may hold anything: echoed on one line
            .ok_or_else(|| ClaimError::Unknown(crate::check::readable(id)))?;
        match (results.get(id), field) {
            (_, "k") if claim.k.is_some() => {
                out.push_str(&claim.k.map(|k| k.to_string()).unwrap_or_default())
            }
            (None, _) => out.push_str("(not measured yet)"),
            (Some(m), "value") => out.push_str(&quote(claim, m)),
            (Some(m), "seconds") => out.push_str(&format!("{:.0}", m.seconds.max(1.0))),
            (Some(m), "steps") => out.push_str(&m.steps.to_string()),
            (Some(m), "params") => out.push_str(
                &m.params
                    .map_or_else(|| "(not measured yet)".into(), thousands),
            ),
            (_, other) => {
                return Err(ClaimError::Claim {
                    id: id.into(),
                    why: format!(
                        "unknown field `{}` (value, seconds, steps, params, k)",
                        crate::check::readable(other)
                    ),
                });
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// 45 012 → "45,012": a count as a reader reads it.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

thread_local! {
    static LOADED: (Vec<Claim>, Results) = (table(), results());
}

/// [`render_with`] on the committed table and results.
pub fn render_checked(text: &str) -> Result<String, ClaimError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    LOADED.with(|(c, r)| render_with(text, c, r))
}

/// [`render_checked`], an unknown id left as written (the tests refuse it before it
/// ships).
pub fn render(text: &str) -> String {
    render_checked(text).unwrap_or_else(|_| text.to_string())
}

/// The ids a text quotes.
pub fn quoted(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        ids.push(
            inner
                .split_once(':')
                .map_or(inner, |(id, _)| id)
                .to_string(),
        );
        rest = &after[end + 2..];
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_name_claims_of_the_table_and_read_their_sizes() {
        assert!(!figures().is_empty(), "the committed figures parse");
        let head = "[[claim]]\nid = \"icl-in-a-minute/a\"\npreset = \"icl-in-a-minute\"\nmetric = \"fresh_error\"\nwhat = \"x\"\nexpect = { at_most = 1.0 }\n";
        let fig = |claims: &str| {
            format!(
                "{head}\n[[figure]]\nid = \"f\"\ntitle = \"t\"\ny = \"y\"\nseries = [{{ name = \"s\", claims = [{claims}] }}]\n"
            )
        };
        let f = parse_figures(&fig("\"icl-in-a-minute/a\"")).unwrap();
        assert_eq!(f[0].series[0].claims, ["icl-in-a-minute/a"]);
        let e = parse_figures(&fig("\"icl-in-a-minute/b\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`icl-in-a-minute/b` is not a claim"), "{e}");
        // Points: in order of size; a claim without a recorded size is left out.
        let m = |value: f64, params: Option<usize>| Measured {
            value,
            references: vec![],
            passed: true,
            seconds: 1.0,
            total_seconds: 1.0,
            steps: 1,
            params,
            sweep: vec![],
        };
        let fig = SizeFigure {
            id: "f".into(),
            title: "t".into(),
            y: "y".into(),
            series: vec![Series {
                name: "s".into(),
                claims: vec!["a".into(), "b".into(), "c".into()],
            }],
        };
        let results: Results = [
            ("a".to_string(), m(2.0, Some(45_000))),
            ("b".to_string(), m(3.0, Some(15_000))),
            ("c".to_string(), m(9.0, None)),
        ]
        .into();
        assert_eq!(
            fig.points(&results),
            [("s".to_string(), vec![(15_000.0, 3.0), (45_000.0, 2.0)])]
        );
    }

    fn claim(expect: Expect) -> Claim {
        Claim {
            id: "icl-in-a-minute/x".into(),
            preset: "icl-in-a-minute".into(),
            set: vec![],
            step: None,
            metric: "fresh_error".into(),
            k: None,
            what: "x".into(),
            expect,
            short: true,
            digits: 3,
            threshold: None,
            ablate: Vec::new(),
        }
    }

    fn measured(value: f64, passed: bool) -> Measured {
        Measured {
            value,
            references: vec![],
            passed,
            seconds: 41.7,
            total_seconds: 50.0,
            steps: 1500,
            params: Some(45012),
            sweep: vec![],
        }
    }

    #[test]
    fn checks_hold_or_fail_as_written() {
        assert!(Expect::AtMost(0.05).holds(0.05, &[]));
        assert!(!Expect::AtMost(0.05).holds(0.051, &[]));
        assert!(!Expect::AtMost(0.05).holds(f64::NAN, &[]));
        assert!(Expect::AtLeast(0.9).holds(0.95, &[]));
        assert!(Expect::Between([0.1, 0.2]).holds(0.15, &[]));
        assert!(!Expect::Between([0.1, 0.2]).holds(0.25, &[]));
        let below = Expect::Below {
            metric: "fresh_error_averaging".into(),
            times: 0.5,
        };
        assert!(below.holds(0.1, &[0.3]));
        assert!(!below.holds(0.2, &[0.3]));
        assert!(!below.holds(0.1, &[]), "no reference, no pass");
        assert_eq!(below.describe(), "below 0.5 × fresh_error_averaging");
        let nearer = Expect::Nearer {
            metric: "a".into(),
            than: "b".into(),
        };
        assert!(nearer.holds(0.11, &[0.1, 0.2]));
        assert!(!nearer.holds(0.16, &[0.1, 0.2]));
        assert_eq!(nearer.references(), vec!["a", "b"]);
    }

    #[test]
    fn a_threshold_is_where_passing_starts_for_good() {
        let t = Threshold {
            path: "task.pool".into(),
            values: vec![2.0, 4.0, 8.0, 16.0],
            past: Expect::AtMost(0.1),
        };
        assert_eq!(t.locate(&[false, false, true, true]), Some(8.0));
        // a lucky pass below the threshold does not count
        assert_eq!(t.locate(&[false, true, false, true]), Some(16.0));
        assert_eq!(t.locate(&[true, true, true, true]), Some(2.0));
        assert_eq!(t.locate(&[true, true, true, false]), None);
        let row = "[[claim]]\nid = \"icl-in-a-minute/t\"\npreset = \"icl-in-a-minute\"\nmetric = \"fresh_error\"\nwhat = \"x\"\nexpect = { at_most = 8 }\nthreshold = { path = \"task.pool\", values = VALUES, past = { at_most = 0.1 } }\n";
        let parsed = parse_table(&row.replace("VALUES", "[2, 4, 8]")).unwrap();
        assert_eq!(
            parsed[0].threshold.as_ref().unwrap().values,
            [2.0, 4.0, 8.0]
        );
        for bad in ["[]", "[4, 2]", "[2, 2]"] {
            let e = parse_table(&row.replace("VALUES", bad))
                .unwrap_err()
                .to_string();
            assert!(e.contains("increasing"), "{bad}: {e}");
        }
    }

    #[test]
    fn texts_quote_values_seconds_and_failures() {
        let claims = vec![claim(Expect::AtMost(0.05))];
        let mut results = Results::new();
        let text = "error {{icl-in-a-minute/x}} after {{icl-in-a-minute/x:steps}} steps ({{ icl-in-a-minute/x:seconds }} s)";
        assert_eq!(
            render_with(text, &claims, &results).unwrap(),
            "error (not measured yet) after (not measured yet) steps ((not measured yet) s)"
        );
        results.insert("icl-in-a-minute/x".into(), measured(0.0264, true));
        assert_eq!(
            render_with(text, &claims, &results).unwrap(),
            "error 0.026 after 1500 steps (42 s)"
        );
        assert_eq!(
            render_with("{{icl-in-a-minute/x:params}} parameters", &claims, &results).unwrap(),
            "45,012 parameters"
        );
        results.insert("icl-in-a-minute/x".into(), measured(0.31, false));
        assert_eq!(
            render_with("{{icl-in-a-minute/x}}", &claims, &results).unwrap(),
            "0.310 (fails its check: at most 0.05)"
        );
        assert_eq!(
            render_with("{{icl-in-a-minute/y}}", &claims, &results),
            Err(ClaimError::Unknown("icl-in-a-minute/y".into()))
        );
        assert!(render_with("{{icl-in-a-minute/x:colour}}", &claims, &results).is_err());
        assert_eq!(
            render_with("no quotes", &claims, &results).unwrap(),
            "no quotes"
        );
        assert_eq!(quoted(text), vec!["icl-in-a-minute/x"; 3]);
    }

    #[test]
    fn the_table_refuses_twins_and_foreign_ids() {
        let at = "[[claim]]\nid = \"icl-in-a-minute/a@x\"\npreset = \"icl-in-a-minute\"\nmetric = \"fresh_error\"\nwhat = \"x\"\nexpect = { at_most = 0.1 }\n";
        assert!(parse_table(at).unwrap_err().to_string().contains('@'));
        let row = |id: &str| {
            format!(
                "[[claim]]\nid = \"{id}\"\npreset = \"icl-in-a-minute\"\nmetric = \"fresh_error\"\nwhat = \"x\"\nexpect = {{ at_most = 0.1 }}\n"
            )
        };
        assert!(parse_table(&row("icl-in-a-minute/a")).is_ok());
        let twice = format!("{}{}", row("icl-in-a-minute/a"), row("icl-in-a-minute/a"));
        assert!(
            parse_table(&twice)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(
            parse_table(&row("garg-tiny/a"))
                .unwrap_err()
                .to_string()
                .contains("preset")
        );
        let unknown = row("icl-in-a-minute/a").replace("what", "wat");
        assert!(parse_table(&unknown).is_err());
        let ablated = format!(
            "{}ablate = [\"L2H1\", \"L2H2:mean\"]\n",
            row("icl-in-a-minute/a")
        );
        assert_eq!(parse_table(&ablated).unwrap()[0].ablate.len(), 2);
        let bad = format!("{}ablate = [\"head two\"]\n", row("icl-in-a-minute/a"));
        let e = parse_table(&bad).unwrap_err().to_string();
        assert!(e.contains("`head two` is not a head"), "{e}");
    }

    /// The committed table and results agree: every claim names a preset and
    /// overrides that validate, every result belongs to a claim, and every
    /// recorded pass is what the check says of the recorded value (a check edited
    /// after the measurement is caught here).
    #[test]
    fn the_committed_table_and_results_agree() {
        let claims = table();
        assert!(!claims.is_empty());
        for c in &claims {
            let exp =
                crate::presets::preset(&c.preset).unwrap_or_else(|e| panic!("claim {}: {e}", c.id));
            let exp = exp
                .with_overrides(&c.set)
                .unwrap_or_else(|e| panic!("claim {}: {e}", c.id));
            if let Some(t) = &c.threshold {
                for v in &t.values {
                    exp.clone()
                        .with_overrides(&[format!("{}={v}", t.path)])
                        .unwrap_or_else(|e| panic!("claim {}: {e}", c.id));
                }
            }
            let past = c.threshold.iter().flat_map(|t| t.past.references());
            let metrics = std::iter::once(c.metric.as_str())
                .chain(c.expect.references())
                .chain(past);
            for m in metrics {
                let parsed: crate::metric::Metric = m.parse().unwrap();
                assert!(
                    !matches!(parsed, crate::metric::Metric::Other(_)),
                    "claim {}: `{m}` is not a metric the lab measures",
                    c.id
                );
            }
            if let Some(step) = c.step {
                assert!(
                    step <= exp.train.steps,
                    "claim {}: step {step} after the run's end",
                    c.id
                );
            }
            if let Some(k) = c.k {
                assert!(
                    k < exp.task.points,
                    "claim {}: k = {k} beyond the prompt",
                    c.id
                );
            }
        }
        for (id, m) in &results() {
            let c = claims
                .iter()
                .find(|c| &c.id == id)
                .unwrap_or_else(|| panic!("results.json holds {id}, which no claim has"));
            assert_eq!(
                c.expect.holds(m.value, &m.references),
                m.passed,
                "{id}: recorded as passed = {} but {} {} says otherwise; run `icl-lab reproduce {}`",
                m.passed,
                m.value,
                c.expect.describe(),
                c.preset
            );
        }
    }

    /// Every preset summary quotes only claims that exist.
    #[test]
    fn preset_summaries_quote_known_claims() {
        let claims = table();
        let results = results();
        for p in crate::presets::PRESETS {
            let text = render_with(p.summary, &claims, &results)
                .unwrap_or_else(|e| panic!("preset {}: {e}", p.name));
            assert!(!text.contains("{{"), "{}", p.name);
            for id in quoted(p.summary) {
                assert!(
                    id.starts_with(&format!("{}/", p.name)) || claims.iter().any(|c| c.id == id),
                    "{}: {id}",
                    p.name
                );
            }
        }
    }
}
