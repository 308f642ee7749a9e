//! The URL hash is the experiment: `#exp=<compact JSON>&backend=cpu`.
//!
//! Writing keeps only what differs from the defaults ([`Experiment::to_compact_json`]),
//! percent-encoding only the characters a URL cannot carry, so a link stays readable.
//! Reading is lenient: a broken, partial or older link restores every field it can,
//! takes defaults for the rest and lists, by field, what it could not use.
//! Platform-neutral: tested natively.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::Value;

use crate::config::{ConfigError, Experiment, FORMAT_VERSION};
use crate::presets;

use super::chart_id::ChartId;
use super::protocol::BackendChoice;

/// Encoded: what a URL fragment cannot hold literally, plus the separators used here.
const FRAGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'+')
    .add(b'=');

/// Steps the bench page times unless the link says otherwise.
pub const DEFAULT_BENCH_STEPS: usize = 30;

/// Everything the hash holds.
#[derive(Clone, Debug, PartialEq)]
pub struct HashState {
    pub experiment: Experiment,
    pub backend: BackendChoice,
    /// `#bench` or `#bench=N`: the throughput page, timing N steps (default 30).
    pub bench: Option<usize>,
    /// The preset the link started from, if it named a valid one.
    pub preset: Option<String>,
    /// `embed=<chart>`: the embed view (one chart, a few controls) for an iframe.
    pub embed: Option<EmbedSpec>,
    /// `lesson=<id>`: the lesson open beside the lab.
    pub lesson: Option<String>,
    /// The link named a lesson but no experiment (`exp` / `preset`): the page sets up
    /// the lesson's own once it has loaded.
    pub lesson_fresh: bool,
}

impl Default for HashState {
    fn default() -> Self {
        Self {
            experiment: default_experiment(),
            backend: BackendChoice::Auto,
            bench: None,
            preset: None,
            embed: None,
            lesson: None,
            lesson_fresh: false,
        }
    }
}

/// What an embedded figure shows: `embed=<chart>&show=<field>,<field>&autoplay`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EmbedSpec {
    /// One of [`ChartId::EMBEDDABLE`]; the ICL curve when the hash names none.
    pub chart: ChartId,
    /// Controls the author keeps (config paths, e.g. `task.pool`); none by default.
    pub show: Vec<String>,
    /// Start training as soon as the page is ready.
    pub autoplay: bool,
}

/// What the page opens with when the hash is empty: the one-minute lesson.
pub fn default_experiment() -> Experiment {
    presets::preset("icl-in-a-minute").expect("built-in preset")
}

/// The hash for `state`, without the leading `#`.
pub fn to_hash(state: &HashState) -> String {
    let mut parts = Vec::new();
    match state.bench {
        Some(DEFAULT_BENCH_STEPS) => parts.push("bench".to_string()),
        Some(n) => parts.push(format!("bench={n}")),
        None => {}
    }
    parts.push(format!(
        "exp={}",
        utf8_percent_encode(&state.experiment.to_compact_json(), FRAGMENT)
    ));
    if state.backend != BackendChoice::Auto {
        parts.push(format!("backend={}", state.backend.name()));
    }
    if let Some(e) = &state.embed {
        parts.push(format!("embed={}", e.chart));
        if !e.show.is_empty() {
            parts.push(format!("show={}", e.show.join(",")));
        }
        if e.autoplay {
            parts.push("autoplay".into());
        }
    }
    if let Some(l) = &state.lesson {
        parts.push(format!("lesson={l}"));
    }
    parts.join("&")
}

/// The hash of an embed of the experiment in `state`: the lesson and bench dropped,
/// and the author's backend only when `keep_backend` (a reader's browser chooses its
/// own: the author's `cpu`, picked for their laptop, would hold back a reader with a
/// GPU).
pub fn embed_link(state: &HashState, spec: EmbedSpec, keep_backend: bool) -> String {
    to_hash(&HashState {
        embed: Some(spec),
        lesson: None,
        lesson_fresh: false,
        bench: None,
        backend: if keep_backend {
            state.backend
        } else {
            BackendChoice::Auto
        },
        ..state.clone()
    })
}

/// Reads a hash (with or without `#`). Never fails: returns the state it could
/// restore and one message per thing it could not use.
///
/// Keys: `exp=<json>` (fields over the defaults), `preset=<name>` (start from a preset
/// instead of the defaults; `exp` then applies on top), `backend=auto|webgpu|cpu`,
/// `bench` / `bench=N`, and for the embed view `embed=<chart>`, `show=<path>,…`,
/// `autoplay`. An empty hash gives [`default_experiment`].
pub fn parse_hash(hash: &str) -> (HashState, Vec<String>) {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    let mut problems = Vec::new();
    let mut state = HashState::default();
    if hash.trim().is_empty() {
        return (state, problems);
    }
    // `exp` holds the fields that differ from the defaults; without `exp` or `preset`
    // the page opens the lesson (the bench page: garg-tiny, the defaults).
    let mut base: Option<Experiment> = None;
    let mut exp_json: Option<String> = None;
    for part in hash.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = part.split_once('=').unwrap_or((part, ""));
        let value = match percent_decode_str(raw).decode_utf8() {
            Ok(v) => v.into_owned(),
            Err(_) => {
                problems.push(format!("{key}: not valid UTF-8 after percent-decoding"));
                continue;
            }
        };
        match key {
            "exp" => exp_json = Some(value),
            "preset" => match presets::preset(&value) {
                Ok(e) => {
                    base = Some(e);
                    state.preset = Some(value.clone());
                }
                Err(_) => problems.push(format!(
                    "preset = {value} is not a preset: one of {}",
                    presets::PRESETS
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
            "backend" => match BackendChoice::parse(&value) {
                Some(b) => state.backend = b,
                None => problems.push(format!(
                    "backend = {value} is not allowed: auto, webgpu or cpu"
                )),
            },
            "bench" if value.is_empty() => state.bench = Some(DEFAULT_BENCH_STEPS),
            "bench" => match value.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => state.bench = Some(n),
                _ => {
                    problems.push(format!(
                        "bench = {value} is not allowed: a step count in 1..=10000"
                    ));
                    state.bench = Some(DEFAULT_BENCH_STEPS);
                }
            },
            "embed" => {
                let chart = match value.parse::<ChartId>() {
                    Ok(c) if c.embeddable() => c,
                    _ => {
                        problems.push(format!(
                            "embed = {value} is not a chart: one of {}; showing the ICL curve",
                            ChartId::EMBEDDABLE.map(ChartId::id).join(", ")
                        ));
                        ChartId::Icl
                    }
                };
                state.embed.get_or_insert_with(EmbedSpec::default).chart = chart;
            }
            "show" => {
                let mut show = Vec::new();
                for path in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    if super::fields::all_fields().any(|f| f.path == path) {
                        show.push(path.to_string());
                    } else {
                        problems.push(format!(
                            "show = {path} is not a control: a field path such as task.pool or model.layers"
                        ));
                    }
                }
                state.embed.get_or_insert_with(EmbedSpec::default).show = show;
            }
            "autoplay" => state.embed.get_or_insert_with(EmbedSpec::default).autoplay = true,
            "lesson" => {
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if ok {
                    state.lesson = Some(value);
                } else {
                    problems.push(format!(
                        "lesson = {value} is not a lesson name: lower-case letters, digits and -, at most 64"
                    ));
                }
            }
            other => problems.push(format!("`{other}` is not a setting this page knows")),
        }
    }
    state.lesson_fresh = state.lesson.is_some() && base.is_none() && exp_json.is_none();
    let base = match (base, &exp_json, state.bench) {
        (Some(b), _, _) => b,
        (None, None, None) => default_experiment(),
        (None, _, _) => Experiment::default(),
    };
    state.experiment = match exp_json {
        None => base,
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => restore(&base, &v, &mut problems),
            Err(e) => {
                problems.push(format!("exp: not readable JSON ({e}); using the defaults"));
                base
            }
        },
    };
    (state, problems)
}

/// `base` with every usable field of `incoming` applied; `problems` names the rest.
pub fn restore(base: &Experiment, incoming: &Value, problems: &mut Vec<String>) -> Experiment {
    // An older link: fields whose defaults changed since get the defaults it had.
    let mut migrated = incoming.clone();
    crate::config::migrate(&mut migrated);
    if &migrated != incoming {
        problems.push(format!(
            "an older link (version {}): its optimizer settings are those of that version",
            incoming.get("version").unwrap_or(&Value::Null)
        ));
    }
    let incoming = &migrated;
    let Value::Object(map) = incoming else {
        problems.push("exp: expected a JSON object; using the defaults".into());
        return base.clone();
    };
    if let Some(v) = map.get("version") {
        match v.as_u64() {
            Some(n) if n as u32 == FORMAT_VERSION => {}
            Some(n) if (n as u32) < FORMAT_VERSION => problems.push(format!(
                "version = {n}: an older link; fields were read as version {FORMAT_VERSION}"
            )),
            _ => problems.push(format!(
                "version = {v}: made by a newer ICL Lab than this one ({FORMAT_VERSION}); \
                 fields were read as version {FORMAT_VERSION}"
            )),
        }
    }
    let mut merged = serde_json::to_value(base).expect("config serialises");
    let mut leaves = Vec::new();
    collect_leaves(&merged, incoming, String::new(), &mut leaves);
    // The leaves that could be set, in order: a later conflict can drop one of them.
    let mut applied = Vec::new();
    for (path, value) in leaves {
        if path == "version" {
            continue;
        }
        let mut trial = merged.clone();
        if !set(&mut trial, &path, value.clone()) {
            problems.push(format!("`{path}` is not a field of this version; ignored"));
            continue;
        }
        match serde_json::from_value::<Experiment>(trial.clone()) {
            Ok(_) => {
                merged = trial;
                applied.push((path, value));
            }
            Err(e) => problems.push(format!("{path} = {value} could not be used ({e})")),
        }
    }
    let base_value = serde_json::to_value(base).expect("config serialises");
    let decode = |merged: &Value| -> Option<Experiment> {
        let mut e: Experiment = serde_json::from_value(merged.clone()).ok()?;
        e.version = FORMAT_VERSION;
        // A link that sizes the model by its parameters gets the width that goes with it.
        e.resolve_params();
        Some(e)
    };
    let mut exp = decode(&merged).expect("checked leaf by leaf");
    // Out-of-range values: reset each named field to the base value, until valid. A
    // field already at the base value cannot be mended this way: the conflict is with
    // another field the link set (below).
    let mut reported = std::collections::BTreeSet::new();
    loop {
        let Err(ConfigError::Invalid(errors)) = exp.validate() else {
            return exp;
        };
        let mut changed = false;
        for err in &errors {
            let path = err.field.split('[').next().unwrap_or(&err.field);
            let Some(default) = get(&base_value, path) else {
                continue;
            };
            if get(&merged, path) != Some(default) {
                set(&mut merged, path, default.clone());
                changed = true;
                if reported.insert(err.to_string()) {
                    problems.push(format!("{err}; using the default"));
                }
            }
        }
        match decode(&merged) {
            Some(e) if changed => exp = e,
            _ => break,
        }
    }
    // A field the link set conflicts with the base's others (`model.kind = lstm` on a
    // preset whose encoding a recurrent model cannot read): drop the one link field
    // whose removal makes the experiment valid, and keep the rest of the link.
    let first_error = match exp.validate() {
        Err(ConfigError::Invalid(errors)) => errors.first().map(|e| e.to_string()),
        _ => None,
    };
    for skip in (0..applied.len()).rev() {
        let mut trial = base_value.clone();
        for (i, (path, value)) in applied.iter().enumerate() {
            if i != skip {
                set(&mut trial, path, value.clone());
            }
        }
        if let Some(e) = decode(&trial).filter(|e| e.validate().is_ok()) {
            let (path, value) = &applied[skip];
            problems.push(format!(
                "{path} = {value} does not fit with the rest of this experiment ({}); using the default",
                first_error.as_deref().unwrap_or("invalid")
            ));
            return e;
        }
    }
    problems.push("the link's fields do not fit together; using the defaults".into());
    base.clone()
}

/// The paths and values to apply: objects are walked field by field where the base
/// has the same section; a tagged enum whose `kind` changes, an optional section that
/// is off in the base, and every non-object value travel whole.
fn collect_leaves(base: &Value, v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    let join = |k: &str| crate::config::dotted(&path, k);
    match (base, v) {
        // `model.kind` is a plain field (every kind has the same fields), not a tag.
        (Value::Object(b), Value::Object(m))
            if path == "model" || m.get("kind").is_none() || m.get("kind") == b.get("kind") =>
        {
            for (k, sub) in m {
                let key = join(k);
                match b.get(k) {
                    Some(bsub) => collect_leaves(bsub, sub, key, out),
                    None => out.push((key, sub.clone())),
                }
            }
        }
        _ => out.push((path, v.clone())),
    }
}

/// The value at a dotted path (`model.width`).
pub(crate) fn get<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |cur, part| cur.get(part))
}

/// Sets an existing field; false when the path names no field.
fn set(root: &mut Value, path: &str, value: Value) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(map) = cur else {
            return false;
        };
        if !map.contains_key(*part) {
            // Fields inside a tagged enum variant need not exist in the base variant.
            let in_enum = map.contains_key("kind");
            if !(in_enum && i + 1 == parts.len()) {
                return false;
            }
        }
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value);
            return true;
        }
        cur = map.get_mut(*part).expect("checked");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AttentionKind;
    use crate::tasks::TaskFamilyConfig;

    #[test]
    fn a_hash_round_trips_the_whole_experiment() {
        let mut exp = presets::preset("noisy-mixture").unwrap();
        exp.seed = 1234;
        exp.model.attention = AttentionKind::Linear;
        exp.task.pool = Some(64);
        let state = HashState {
            experiment: exp.clone(),
            backend: BackendChoice::Cpu,
            bench: Some(5),
            preset: None,
            embed: None,
            lesson: Some("induction-heads".into()),
            lesson_fresh: false,
        };
        let h = to_hash(&state);
        assert!(!h.contains('"') && !h.contains(' '), "{h}");
        let (back, problems) = parse_hash(&format!("#{h}"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(back, state);
    }

    #[test]
    fn a_lesson_link_without_an_experiment_asks_for_the_lessons_own() {
        let (s, p) = parse_hash("#lesson=task-diversity");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.lesson.as_deref(), Some("task-diversity"));
        assert!(s.lesson_fresh);
        let (s, _) = parse_hash("#preset=garg-tiny&lesson=task-diversity");
        assert!(!s.lesson_fresh, "the link's experiment is kept");
        let (s, p) = parse_hash("#lesson=../etc");
        assert_eq!(s.lesson, None);
        assert!(p[0].contains("lesson = ../etc"), "{p:?}");
    }

    #[test]
    fn empty_hash_is_the_lesson_and_preset_key_starts_from_a_preset() {
        let (s, p) = parse_hash("");
        assert!(p.is_empty());
        assert_eq!(s.experiment, default_experiment());
        let (s, _) = parse_hash("#backend=cpu");
        assert_eq!(s.experiment, default_experiment());
        let (s, _) = parse_hash("#bench");
        assert_eq!(
            s.experiment,
            Experiment::default(),
            "the bench times garg-tiny"
        );
        assert_eq!(s.bench, Some(DEFAULT_BENCH_STEPS));
        let (s, p) = parse_hash("#preset=sparse&exp={\"seed\":9}");
        assert!(p.is_empty(), "{p:?}");
        let mut want = presets::preset("sparse").unwrap();
        want.seed = 9;
        assert_eq!(s.experiment, want);
    }

    #[test]
    fn a_broken_link_keeps_what_it_can_and_names_the_rest() {
        // seed fine; dims out of range; an unknown field; a wrong type; a new family.
        let json = r#"{"version":1,"seed":7,"task":{"dims":999,"points":15,"bogus":1,
            "family":{"kind":"sparse_linear","sparsity":2}},"model":{"layers":"three"}}"#;
        let (s, p) = parse_hash(&format!("exp={}&backend=quantum", json.replace('\n', "")));
        let e = &s.experiment;
        assert_eq!(e.seed, 7);
        assert_eq!(e.task.points, 15);
        assert_eq!(
            e.task.family,
            TaskFamilyConfig::SparseLinear { sparsity: 2 }
        );
        assert_eq!(e.task.dims, Experiment::default().task.dims);
        assert_eq!(e.model.layers, Experiment::default().model.layers);
        assert_eq!(s.backend, BackendChoice::Auto);
        let all = p.join("\n");
        for needle in [
            "task.dims = 999",
            "task.bogus",
            "model.layers",
            "backend = quantum",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
        assert!(e.validate().is_ok());
    }

    #[test]
    fn garbage_and_truncated_links_fall_back_to_defaults_with_a_message() {
        let (s, p) = parse_hash("#exp=%7B%22seed%22%3A3");
        assert_eq!(s.experiment, Experiment::default());
        assert!(p[0].contains("not readable JSON"), "{p:?}");
        let (_, p) = parse_hash("#exp=[1,2]");
        assert!(p[0].contains("expected a JSON object"));
        let (s, p) = parse_hash("#exp={\"version\":0,\"seed\":5}");
        assert_eq!(s.experiment.seed, 5);
        assert!(p[0].contains("older link"), "{p:?}");
    }

    #[test]
    fn an_older_link_keeps_the_optimizer_it_trained_with() {
        let (s, p) = parse_hash("exp={\"version\":1,\"seed\":4}");
        let o = &s.experiment.optim;
        assert_eq!((o.warmup_steps, o.grad_clip), (100, Some(1.0)));
        assert_eq!(o.schedule, crate::config::Schedule::Cosine);
        assert_eq!(s.experiment.seed, 4);
        assert!(
            p.iter().any(|m| m.contains("older link (version 1)")),
            "{p:?}"
        );
        // Written again, the link carries those settings explicitly.
        let (again, p) = parse_hash(&format!("exp={}", s.experiment.to_compact_json()));
        assert_eq!(again.experiment, s.experiment);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn cross_field_errors_reset_the_named_field() {
        // width 30 with 4 heads: width is reset, heads kept.
        let (s, p) = parse_hash("exp={\"model\":{\"heads\":4,\"width\":30}}");
        assert_eq!(s.experiment.model.heads, 4);
        assert_eq!(s.experiment.model.width, Experiment::default().model.width);
        assert!(p.iter().any(|m| m.contains("model.width = 30")), "{p:?}");
    }

    #[test]
    fn a_link_field_that_conflicts_with_the_preset_is_dropped_alone_and_named_once() {
        // icl-in-a-minute reads the concatenated encoding, which a recurrent model
        // cannot: the link's model.kind goes, its other fields stay.
        let (s, p) = parse_hash(
            "preset=icl-in-a-minute&exp={\"model\":{\"kind\":\"lstm\",\"layers\":1},\"train\":{\"steps\":7}}",
        );
        let e = &s.experiment;
        assert_eq!(e.train.steps, 7);
        assert_eq!(e.model.layers, 1);
        assert_eq!(e.model.kind, crate::config::ModelKind::Transformer);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].starts_with("model.kind = \"lstm\" does not fit"),
            "{p:?}"
        );
        assert!(p[0].contains("task.encoding"), "{p:?}");
        // With the encoding the link asks for too, it is all kept.
        let (s, p) = parse_hash(
            "preset=icl-in-a-minute&exp={\"model\":{\"kind\":\"lstm\"},\"task\":{\"encoding\":\"interleaved\"}}",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.experiment.model.kind, crate::config::ModelKind::Lstm);
    }

    #[test]
    fn an_embed_link_names_its_chart_controls_and_autoplay() {
        let (s, problems) = parse_hash(
            "#preset=induction-phase-change&embed=heads&show=model.layers,task.family.vocab&autoplay&backend=cpu",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let e = s.embed.clone().unwrap();
        assert_eq!(e.chart, ChartId::Heads);
        assert_eq!(e.show, ["model.layers", "task.family.vocab"]);
        assert!(e.autoplay);
        // It round-trips.
        let (back, problems) = parse_hash(&to_hash(&s));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(back.embed, s.embed);
        assert_eq!(back.experiment, s.experiment);
        // Unknown charts and controls are named, with what is allowed.
        let (s, problems) = parse_hash("#embed=pie&show=task.pool,model.colour");
        assert_eq!(s.embed.as_ref().unwrap().chart, ChartId::Icl);
        assert_eq!(s.embed.as_ref().unwrap().show, ["task.pool"]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("embed = pie") && problems[0].contains("token-loss"));
        assert!(problems[1].contains("show = model.colour"));
        // Without embed: no embed view.
        assert_eq!(parse_hash("#preset=garg-tiny").0.embed, None);
    }
}
