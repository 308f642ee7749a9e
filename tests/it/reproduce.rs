//! The short claims of claims/claims.toml, run as `icl-lab reproduce` runs them
//! (natively, on the CPU, from each preset's seed): each passes its check, and what
//! is measured now is what claims/results.json records. That file is what the
//! preset summaries and lessons quote, so a change to the code that moves a quoted
//! number fails here until `icl-lab reproduce --write` has regenerated it.

use std::collections::BTreeMap;

use burn::tensor::Device;
use icl_lab::claims::{results, table};
use icl_lab::reproduce::{groups, report_line, run_group, select};

/// How far a measurement may move from the committed one before the committed
/// number is stale: training is bit-identical for a seed on one machine, but
/// float sums may round differently on another CPU (SIMD width), so 10 % and 0.01.
fn close(now: f64, committed: f64) -> bool {
    (now - committed).abs() <= 0.1 * committed.abs() + 0.01
}

#[test]
fn short_claims_pass_and_match_the_committed_results() {
    let claims = select(&table(), &[], false).unwrap();
    let committed = results();
    let groups = groups(&claims);
    assert!(groups.len() >= 3, "the short claims cover several presets");
    // One thread per run: the runs are independent and CI has two cores.
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .iter()
            .map(|g| s.spawn(move || run_group(g, &Device::flex(), |_, _| {})))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut problems = Vec::new();
    let mut lines = BTreeMap::new();
    for o in outcomes {
        let o = o.unwrap();
        for (c, m) in &o.measured {
            lines.insert(c.id.clone(), report_line(c, m));
            match (m, committed.get(&c.id)) {
                (Err(e), _) => problems.push(format!("{}: {e}", c.id)),
                (Ok(m), _) if !m.passed => problems.push(report_line(c, &Ok(m.clone()))),
                (Ok(_), None) => problems.push(format!(
                    "{}: not in claims/results.json; run `icl-lab reproduce --write`",
                    c.id
                )),
                (Ok(m), Some(old)) if !close(m.value, old.value) => problems.push(format!(
                    "{}: measured {} but claims/results.json says {}; run `icl-lab reproduce {} --write`",
                    c.id, m.value, old.value, c.preset
                )),
                _ => {}
            }
        }
    }
    for l in lines.values() {
        eprintln!("{l}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
