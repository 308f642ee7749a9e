//! `icl-lab reproduce`: runs the claims of `claims/claims.toml` at their stated
//! scale, checks each against its tolerance, and writes what it measured
//! (`claims/results.json`, which the preset summaries and lessons quote) and a
//! results page (`docs/results/README.md` with one SVG figure per run).
//!
//! Claims that share a preset and overrides share one run: it trains once,
//! evaluating at every step a claim names and at its end.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::tensor::Device;

use crate::claims::{Claim, Measured, Results, SizeFigure};
use crate::config::Experiment;
use crate::eval::{EvalReport, evaluate};
use crate::metric::Metric;
use crate::sweep::final_metrics;
use crate::train::Trainer;

/// Claims measured by one run: the same preset and overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub preset: String,
    pub set: Vec<String>,
    pub claims: Vec<Claim>,
}

impl Group {
    /// A file-name-safe label (`icl-in-a-minute`, `depth-gd-to-newton__model.layers=2`;
    /// a long value is left out: `icl-in-a-minute__eval.ood`).
    pub fn label(&self) -> String {
        let mut s = self.preset.clone();
        for o in &self.set {
            s.push_str("__");
            match o.split_once('=') {
                Some((path, value)) if value.len() > 16 => s.push_str(path),
                _ => s.push_str(o),
            }
        }
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.=".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    pub fn experiment(&self) -> Result<Experiment, String> {
        crate::presets::preset(&self.preset)
            .and_then(|e| e.with_overrides(&self.set))
            .map_err(|e| format!("{}: {e}", self.label()))
    }
}

/// The claims grouped by run, in table order.
pub fn groups(claims: &[Claim]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for c in claims {
        match out
            .iter_mut()
            .find(|g| g.preset == c.preset && g.set == c.set)
        {
            Some(g) => g.claims.push(c.clone()),
            None => out.push(Group {
                preset: c.preset.clone(),
                set: c.set.clone(),
                claims: vec![c.clone()],
            }),
        }
    }
    out
}

/// The runs the claims need: [`groups`], with a threshold claim measured at each
/// of its swept values ([`sweep_point`]: its `past` check as the claim there).
pub fn runs(claims: &[Claim]) -> Vec<Group> {
    let expanded: Vec<Claim> = claims
        .iter()
        .flat_map(|c| match &c.threshold {
            None => vec![c.clone()],
            Some(t) => t.values.iter().map(|&v| sweep_point(c, v)).collect(),
        })
        .collect();
    groups(&expanded)
}

/// A threshold claim at one swept value: `id@path=v`, with the override, and the
/// threshold's `past` as its check.
pub fn sweep_point(c: &Claim, v: f64) -> Claim {
    let t = c.threshold.as_ref().expect("a threshold claim");
    let mut p = c.clone();
    p.id = format!("{}@{}={v}", c.id, t.path);
    p.set.push(format!("{}={v}", t.path));
    p.expect = t.past.clone();
    p.threshold = None;
    p
}

/// Whether a measured claim is one value of a threshold's sweep (not a claim of
/// the table: its fail is no failure).
pub fn is_sweep_point(c: &Claim) -> bool {
    c.id.contains('@')
}

/// The threshold claims' values from their sweeps' runs: the swept value from
/// which on the check passes at every value ([`Threshold::locate`]), NaN (a fail)
/// when the last value fails too.
pub fn thresholds(
    claims: &[Claim],
    outcomes: &[Outcome],
) -> Vec<(Claim, Result<Measured, String>)> {
    let measured: BTreeMap<&str, &Result<Measured, String>> = outcomes
        .iter()
        .flat_map(|o| o.measured.iter().map(|(c, m)| (c.id.as_str(), m)))
        .collect();
    claims
        .iter()
        .filter_map(|c| Some((c, c.threshold.as_ref()?)))
        .map(|(c, t)| {
            let mut sweep = Vec::new();
            let (mut seconds, mut total_seconds, mut steps) = (0.0, 0.0, 0);
            for &v in &t.values {
                let id = sweep_point(c, v).id;
                match measured.get(id.as_str()) {
                    Some(Ok(m)) => {
                        sweep.push([v, m.value, f64::from(u8::from(m.passed))]);
                        seconds += m.seconds;
                        total_seconds += m.total_seconds;
                        steps = m.steps;
                    }
                    Some(Err(e)) => return (c.clone(), Err(format!("{id}: {e}"))),
                    None => return (c.clone(), Err(format!("{id} was not run"))),
                }
            }
            let passed: Vec<bool> = sweep.iter().map(|p| p[2] == 1.0).collect();
            let value = t.locate(&passed).unwrap_or(f64::NAN);
            let m = Measured {
                passed: c.expect.holds(value, &[]),
                value,
                references: Vec::new(),
                seconds,
                total_seconds,
                steps,
                params: None,
                sweep,
            };
            (c.clone(), Ok(m))
        })
        .collect()
}

/// Which claims to run: the named presets' or claims' (`NAME` is a preset or a
/// claim id), else all with `all`, else the short ones.
pub fn select(claims: &[Claim], names: &[String], all: bool) -> Result<Vec<Claim>, String> {
    if names.is_empty() {
        return Ok(claims.iter().filter(|c| all || c.short).cloned().collect());
    }
    for n in names {
        if !claims.iter().any(|c| &c.preset == n || &c.id == n) {
            let presets: std::collections::BTreeSet<&str> =
                claims.iter().map(|c| c.preset.as_str()).collect();
            return Err(format!(
                "no claim or preset with claims named `{n}`; presets with claims: {}",
                presets.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(claims
        .iter()
        .filter(|c| names.iter().any(|n| &c.preset == n || &c.id == n))
        .cloned()
        .collect())
}

/// One run's outcome: each claim's measurement (or why it could not be read) and
/// the run's last evaluation.
pub struct Outcome {
    pub group: Group,
    pub measured: Vec<(Claim, Result<Measured, String>)>,
    pub last: EvalReport,
    /// Whether the run went to the experiment's last step (a group whose claims
    /// all read earlier steps stops at the last of them); only a complete run's
    /// figure goes on the results page.
    pub complete: bool,
}

/// Trains the group's experiment on `device` up to the last step its claims read
/// (the end when one reads the end), evaluating at each claimed step;
/// `tick(step, steps)` after every step (a progress bar). A run is deterministic
/// for its seed, so stopping early changes no number measured before.
pub fn run_group(
    group: &Group,
    device: &Device,
    mut tick: impl FnMut(usize, usize),
) -> Result<Outcome, String> {
    let exp = group.experiment()?;
    let started = Instant::now();
    let end = exp.train.steps;
    // Each claim's evaluation: a step, and the heads switched off there (none for
    // most); the end's intact evaluation is always made (the run's figure).
    let key = |c: &Claim| (c.step.unwrap_or(end).min(end), c.ablate.clone());
    let mut at: Vec<(usize, Vec<String>)> = group.claims.iter().map(key).collect();
    let stop = at.iter().map(|a| a.0).max().unwrap_or(end);
    at.push((stop, Vec::new()));
    at.sort_unstable();
    at.dedup();
    // The heads of every ablation, checked against the model before training (a
    // head it lacks once surfaced only after the run).
    let mut heads_of: BTreeMap<Vec<String>, Vec<crate::ablation::HeadAblation>> = BTreeMap::new();
    for (_, ablate) in &at {
        let heads = ablate
            .iter()
            .map(|h| {
                let head: crate::ablation::HeadAblation = h.parse()?;
                let (layers, heads) = exp.model.attention_heads();
                head.check(layers, heads)?;
                Ok(head)
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("{}: ablate {e}", group.label()))?;
        heads_of.insert(ablate.clone(), heads);
    }
    let mut reports: BTreeMap<(usize, Vec<String>), EvalReport> = BTreeMap::new();
    let mut t = Trainer::new(&exp, device);
    let measure = |t: &Trainer, ablate: &Vec<String>| -> Result<EvalReport, String> {
        let heads = &heads_of[ablate];
        let model = t.model();
        let model = if heads.is_empty() {
            model
        } else {
            model.ablated(heads)
        };
        evaluate(&exp, &model, device, &t.source, None, t.step).map(|(r, _)| r)
    };
    let measure_due = |t: &Trainer, reports: &mut BTreeMap<_, _>| -> Result<(), String> {
        for (step, ablate) in at.iter().filter(|(s, _)| *s == t.step) {
            reports.insert((*step, ablate.clone()), measure(t, ablate)?);
        }
        Ok(())
    };
    measure_due(&t, &mut reports)?;
    let mut training = std::time::Duration::ZERO;
    while !t.done() && t.step < stop {
        let step_started = Instant::now();
        if let Some(l) = t.step().loss {
            t.record_loss(t.step, l.into_scalar::<f32>())
                .map_err(|e| format!("{}: {e}", group.label()))?;
        }
        training += step_started.elapsed();
        tick(t.step, end);
        measure_due(&t, &mut reports)?;
    }
    let (seconds, total_seconds) = (training.as_secs_f64(), started.elapsed().as_secs_f64());
    let last = reports
        .get(&(stop, Vec::new()))
        .cloned()
        .ok_or_else(|| format!("{}: no evaluation at step {stop}", group.label()))?;
    let measured = group
        .claims
        .iter()
        .map(|c| {
            let report = &reports[&key(c)];
            let m = read(c, report).map(|(value, references)| Measured {
                passed: c.expect.holds(value, &references),
                value,
                references,
                seconds,
                total_seconds,
                steps: stop,
                params: Some(exp.param_count()),
                sweep: Vec::new(),
            });
            (c.clone(), m)
        })
        .collect();
    Ok(Outcome {
        group: group.clone(),
        measured,
        last,
        complete: stop == end,
    })
}

/// A claim's value (and its reference metric's) from one evaluation.
fn read(c: &Claim, report: &EvalReport) -> Result<(f64, Vec<f64>), String> {
    let metrics = final_metrics(report);
    let get = |key: &str| -> Result<f64, String> {
        let metric: Metric = key.parse().map_err(|_| format!("unknown metric {key}"))?;
        match (&metric, c.k) {
            (Metric::Error { set, predictor }, Some(k)) => {
                let name = predictor.as_deref().unwrap_or("model");
                report
                    .eval(set)
                    .and_then(|e| e.curves.get(name))
                    .and_then(|curve| curve.mean.get(k).copied())
                    .ok_or_else(|| format!("{key} at k = {k} is not in the evaluation"))
            }
            (_, Some(_)) => Err(format!("k applies to error metrics only, not {key}")),
            _ => metrics.get(&metric).copied().ok_or_else(|| {
                let known: Vec<String> = metrics.keys().map(|m| m.to_string()).collect();
                format!(
                    "{key} is not measured by this run (it has: {})",
                    known.join(", ")
                )
            }),
        }
    };
    let value = get(&c.metric)?;
    let references = c
        .expect
        .references()
        .into_iter()
        .map(get)
        .collect::<Result<Vec<f64>, String>>()?;
    Ok((value, references))
}

/// One line per claim: PASS / FAIL / ERROR, the value and the check.
pub fn report_line(c: &Claim, m: &Result<Measured, String>) -> String {
    match m {
        Ok(m) => format!(
            "{} {}: {} = {:.*}{}{} ({}; {})",
            if is_sweep_point(c) {
                "  at"
            } else if m.passed {
                "PASS"
            } else {
                "FAIL"
            },
            c.id,
            match &c.threshold {
                Some(t) => format!("threshold of {} for {}", t.path, c.metric),
                None => c.metric.clone(),
            },
            c.digits.max(3),
            m.value,
            refs_text(&m.references, 4),
            sweep_text(c, m),
            c.expect.describe(),
            c.what
        ),
        Err(e) => format!("ERROR {}: {e}", c.id),
    }
}

/// A threshold claim's sweep: "; task.pool = 2: 0.71 ✗, 4: 0.52 ✗, 8: 0.05 ✓".
fn sweep_text(c: &Claim, m: &Measured) -> String {
    let Some(t) = &c.threshold else {
        return String::new();
    };
    let points: Vec<String> = m
        .sweep
        .iter()
        .map(|[v, x, ok]| format!("{v}: {x:.3} {}", if *ok == 1.0 { "✓" } else { "✗" }))
        .collect();
    format!(
        " ({} = {}; check there: {})",
        t.path,
        points.join(", "),
        t.past.describe()
    )
}

/// ", references 0.1234 / 0.5678" (nothing without references).
fn refs_text(refs: &[f64], digits: usize) -> String {
    if refs.is_empty() {
        return String::new();
    }
    let r: Vec<String> = refs.iter().map(|r| format!("{r:.digits$}")).collect();
    format!(", reference {}", r.join(" / "))
}

/// Merges new measurements (the runs' and the thresholds') into the results
/// (claims not run keep their last measurement; results of claims no longer in
/// the table, and the single values of a threshold's sweep, are left out).
pub fn merge(
    old: &Results,
    outcomes: &[Outcome],
    thresholds: &[(Claim, Result<Measured, String>)],
    claims: &[Claim],
) -> Results {
    let in_table = |id: &str| claims.iter().any(|c| c.id == id);
    let mut r: Results = old
        .iter()
        .filter(|(id, _)| in_table(id))
        .map(|(id, m)| (id.clone(), m.clone()))
        .collect();
    let new = outcomes.iter().flat_map(|o| o.measured.iter());
    for (c, m) in new.chain(thresholds) {
        if let Ok(m) = m
            && in_table(&c.id)
        {
            r.insert(c.id.clone(), m.clone());
        }
    }
    r
}

/// The results page: every claim of the table, grouped by run, with its check,
/// its last measurement and a figure where the run has an ICL curve.
pub fn results_page(
    claims: &[Claim],
    sizes: &[SizeFigure],
    results: &Results,
    figures: &[String],
) -> String {
    let mut s = String::from(
        "# Reproduced results\n\n\
         Written by `icl-lab reproduce --write` (do not edit by hand). Each row is a claim of \
         `claims/claims.toml`: a number the preset summaries and lessons quote, measured by \
         training the preset natively on the CPU from its seed, and checked against what the \
         paper's result requires. `icl-lab reproduce` runs the short claims (CI runs them too); \
         `--all` runs every claim. A claim that fails is listed as failing.\n\n",
    );
    let (passed, failed, missing) =
        claims
            .iter()
            .fold((0, 0, 0), |(p, f, m), c| match results.get(&c.id) {
                Some(r) if r.passed => (p + 1, f, m),
                Some(_) => (p, f + 1, m),
                None => (p, f, m + 1),
            });
    s.push_str(&format!(
        "{} claims: {passed} pass, {failed} fail, {missing} not measured yet.\n\n",
        claims.len()
    ));
    for g in groups(claims) {
        let label = g.label();
        let steps = g
            .claims
            .iter()
            .find_map(|c| results.get(&c.id))
            .map(|m| {
                format!(
                    ", {} steps: {:.0} s training, {:.0} s with evaluations",
                    m.steps, m.seconds, m.total_seconds
                )
            })
            .unwrap_or_default();
        let over = if g.set.is_empty() {
            String::new()
        } else {
            format!(" with `{}`", g.set.join(" "))
        };
        s.push_str(&format!("## {}{over}{steps}\n\n", g.preset));
        s.push_str("| claim | what | check | measured | |\n|---|---|---|---|---|\n");
        for c in &g.claims {
            let (value, verdict) = match results.get(&c.id) {
                Some(m) => (
                    format!(
                        "{:.*}{}{}",
                        c.digits,
                        m.value,
                        refs_text(&m.references, c.digits),
                        sweep_text(c, m)
                    ),
                    if m.passed { "pass" } else { "**fail**" },
                ),
                None => ("–".into(), "not measured yet"),
            };
            let short = if c.short { " (CI)" } else { "" };
            s.push_str(&format!(
                "| `{}`{short} | {} | {} | {value} | {verdict} |\n",
                c.id,
                c.what,
                c.expect.describe()
            ));
        }
        if figures.contains(&label) {
            s.push_str(&format!("\n![ICL curve of {label}]({label}.svg)\n"));
        }
        let ood = format!("{label}-ood");
        if figures.contains(&ood) {
            s.push_str(&format!(
                "\n![The model and least squares on each input distribution of {label}]({ood}.svg)\n"
            ));
        }
        s.push('\n');
    }
    let drawn: Vec<&SizeFigure> = sizes.iter().filter(|f| figures.contains(&f.id)).collect();
    if !drawn.is_empty() {
        s.push_str("## Across runs\n\n");
        for f in drawn {
            let names: Vec<&str> = f.series.iter().map(|x| x.name.as_str()).collect();
            s.push_str(&format!(
                "{}: {} against parameters, one line per series ({}), from the claims above.\n\n![{}]({}.svg)\n\n",
                f.title,
                f.y,
                names.join(", "),
                f.title,
                f.id
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{Expect, table};

    #[test]
    fn claims_share_runs_and_selection_names_presets_or_ids() {
        let claims = table();
        let gs = groups(&claims);
        let total: usize = gs.iter().map(|g| g.claims.len()).sum();
        assert_eq!(total, claims.len());
        for g in &gs {
            assert!(g.experiment().is_ok(), "{}", g.label());
        }
        let short = select(&claims, &[], false).unwrap();
        assert!(!short.is_empty() && short.iter().all(|c| c.short));
        assert_eq!(select(&claims, &[], true).unwrap().len(), claims.len());
        let first = &claims[0];
        assert!(
            select(&claims, std::slice::from_ref(&first.id), false)
                .unwrap()
                .len()
                == 1
        );
        let by_preset = select(&claims, std::slice::from_ref(&first.preset), false).unwrap();
        assert!(by_preset.iter().all(|c| c.preset == first.preset));
        let err = select(&claims, &["nope".into()], false).unwrap_err();
        assert!(
            err.contains("`nope`") && err.contains(&first.preset),
            "{err}"
        );
    }

    #[test]
    fn a_tiny_run_measures_passes_and_fails_as_its_checks_say() {
        let claim = |id: &str, step: Option<usize>, metric: &str, k: Option<usize>, expect| Claim {
            id: format!("icl-in-a-minute/{id}"),
            preset: "icl-in-a-minute".into(),
            set: vec!["train.steps=4".into(), "eval.prompts=16".into()],
            step,
            metric: metric.into(),
            k,
            what: id.into(),
            expect,
            short: true,
            digits: 2,
            threshold: None,
            ablate: Vec::new(),
        };
        let claims = vec![
            // Untrained, the model is no better than guessing…
            claim(
                "untrained",
                Some(0),
                "fresh_error",
                Some(0),
                Expect::AtLeast(0.2),
            ),
            // …and least squares is exact from k = d on, at any step.
            claim(
                "ls",
                Some(2),
                "fresh_error_least_squares",
                Some(6),
                Expect::AtMost(1e-6),
            ),
            claim(
                "fails",
                None,
                "fresh_error",
                None,
                Expect::Below {
                    metric: "fresh_error_least_squares".into(),
                    times: 1.0,
                },
            ),
            claim("missing", None, "icl", None, Expect::AtLeast(0.5)),
        ];
        let gs = groups(&claims);
        assert_eq!(gs.len(), 1);
        let mut ticks = 0;
        let o = run_group(&gs[0], &Device::flex(), |_, _| ticks += 1).unwrap();
        assert_eq!(ticks, 4);
        let by_id: BTreeMap<&str, &Result<Measured, String>> =
            o.measured.iter().map(|(c, m)| (c.id.as_str(), m)).collect();
        assert!(by_id["icl-in-a-minute/untrained"].as_ref().unwrap().passed);
        assert!(by_id["icl-in-a-minute/ls"].as_ref().unwrap().passed);
        let fails = by_id["icl-in-a-minute/fails"].as_ref().unwrap();
        assert!(!fails.passed && fails.references.len() == 1);
        let missing = by_id["icl-in-a-minute/missing"].as_ref().unwrap_err();
        assert!(missing.contains("icl is not measured"), "{missing}");
        let results = merge(&Results::new(), &[o], &[], &claims);
        assert_eq!(results.len(), 3, "the error is not recorded");
        let page = results_page(&claims, &[], &results, &[]);
        assert!(
            page.contains("4 claims: 2 pass, 1 fail, 1 not measured yet"),
            "{page}"
        );
        assert!(page.contains("**fail**"));
    }

    /// A claim with `ablate` reads the model with those heads switched off, from the
    /// same run as the intact claims.
    #[test]
    fn an_ablation_claim_reads_the_model_without_its_heads() {
        let claim = |id: &str, ablate: &[&str]| Claim {
            id: format!("icl-in-a-minute/{id}"),
            preset: "icl-in-a-minute".into(),
            set: vec!["train.steps=3".into(), "eval.prompts=16".into()],
            step: None,
            metric: "fresh_error".into(),
            k: None,
            what: id.into(),
            expect: Expect::AtLeast(0.0),
            short: true,
            digits: 2,
            threshold: None,
            ablate: ablate.iter().map(|h| h.to_string()).collect(),
        };
        let claims = vec![
            claim("intact", &[]),
            claim("ablated", &["L1H1", "L1H2", "L2H1", "L2H2", "L3H1", "L3H2"]),
            claim("again", &[]),
        ];
        let gs = groups(&claims);
        assert_eq!(gs.len(), 1, "one run");
        let o = run_group(&gs[0], &Device::flex(), |_, _| {}).unwrap();
        let v: Vec<f64> = o
            .measured
            .iter()
            .map(|(_, m)| m.as_ref().unwrap().value)
            .collect();
        assert_eq!(v[0], v[2]);
        assert!(
            (v[0] - v[1]).abs() > 1e-6,
            "ablation changed nothing: {v:?}"
        );
        // A head the model does not have is an error, not a silent no-op.
        let bad = vec![claim("bad", &["L9H1"])];
        let Err(err) = run_group(&groups(&bad)[0], &Device::flex(), |_, _| {}) else {
            panic!("a head the model lacks was measured");
        };
        assert!(err.contains("L9H1: the model has layers L1…L3"), "{err}");
    }

    /// A threshold claim runs once per swept value and is located where its check
    /// starts to pass for good: least squares is exact from k = d on, so over
    /// task.dims = 2, 4, 8 at k = 5 the check passes at 2 and 4, not 8.
    #[test]
    fn a_threshold_claim_sweeps_and_locates() {
        let t = Claim {
            id: "icl-in-a-minute/t".into(),
            preset: "icl-in-a-minute".into(),
            set: vec!["train.steps=1".into(), "eval.prompts=8".into()],
            step: None,
            metric: "fresh_error_least_squares".into(),
            k: Some(5),
            what: "t".into(),
            expect: Expect::AtMost(2.0),
            short: false,
            digits: 0,
            threshold: Some(crate::claims::Threshold {
                path: "task.dims".into(),
                values: vec![2.0, 4.0, 8.0],
                past: Expect::AtMost(1e-6),
            }),
            ablate: Vec::new(),
        };
        let claims = vec![t.clone()];
        let rs = runs(&claims);
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[2].set.last().unwrap(), "task.dims=8");
        assert!(groups(&claims).len() == 1, "the page lists the claim once");
        let outcomes: Vec<Outcome> = rs
            .iter()
            .map(|g| run_group(g, &Device::flex(), |_, _| ()).unwrap())
            .collect();
        // the sweep's own verdicts: pass, pass, fail (8 dimensions, 5 examples)
        let located = thresholds(&claims, &outcomes);
        let m = located[0].1.as_ref().unwrap();
        assert_eq!(
            m.sweep.iter().map(|p| p[2]).collect::<Vec<_>>(),
            [1.0, 1.0, 0.0]
        );
        assert!(m.value.is_nan() && !m.passed, "8 fails, so no threshold");
        let results = merge(&Results::new(), &outcomes, &located, &claims);
        assert_eq!(results.keys().collect::<Vec<_>>(), ["icl-in-a-minute/t"]);
        assert!(report_line(&t, &located[0].1).contains("task.dims = 2: 0.000 ✓"));
        // the same sweep, reversed in meaning: from 8 on least squares errs
        let mut up = t.clone();
        up.threshold.as_mut().unwrap().past = Expect::AtLeast(1e-6);
        let located = thresholds(std::slice::from_ref(&up), &outcomes_for(&up, &outcomes));
        let m = located[0].1.as_ref().unwrap();
        assert_eq!((m.value, m.passed), (8.0, false), "8 > at most 2");
    }

    /// The outcomes of `t`'s sweep re-read with its own check (same runs).
    fn outcomes_for(t: &Claim, runs: &[Outcome]) -> Vec<Outcome> {
        let past = t.threshold.as_ref().unwrap().past.clone();
        runs.iter()
            .map(|o| Outcome {
                group: o.group.clone(),
                measured: o
                    .measured
                    .iter()
                    .map(|(c, m)| {
                        let m = m.clone().map(|mut m| {
                            m.passed = past.holds(m.value, &m.references);
                            m
                        });
                        (c.clone(), m)
                    })
                    .collect(),
                last: o.last.clone(),
                complete: o.complete,
            })
            .collect()
    }
}
