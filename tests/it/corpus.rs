//! The inputs that once broke something (`tests/corpus/`, see its README), and
//! seeded mutations of them and of every preset's config: the config reader, the
//! `--set` and `--vary` parsers and the URL-hash reader must answer each with a
//! one-line error (or a page state with notices), never a panic.
//!
//! The mutations are hand-written (byte flips, cuts, splices, JSON tokens that
//! broke things before) on the crate's own seeded RNG, not a coverage-guided
//! fuzzer: about 24,000 cases run in well under a second, so CI runs them all.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use icl_lab::IclRng;
use icl_lab::config::Experiment;
use icl_lab::sweep::SweepSpec;
use icl_lab::web::hash::parse_hash;
use rand::{Rng, SeedableRng};

fn corpus() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"))
}

/// The lines of a corpus list, comments and blank lines left out.
fn lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(corpus().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("# "))
        .map(str::to_string)
        .collect()
}

fn configs() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(corpus().join("configs"))
        .unwrap()
        .flatten()
        .map(|f| {
            (
                f.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(f.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A message a person can read: one line, not a dump of the input.
fn one_line(what: &str, input: &str, message: &str) {
    assert!(
        !message.trim().contains('\n'),
        "{what} {input:?}: a multi-line message: {message}"
    );
    assert!(
        message.len() <= 1000,
        "{what} {input:?}: a {}-byte message",
        message.len()
    );
}

/// Runs `f`, failing the test with the input when it panics.
fn no_panic<T>(what: &str, input: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked on {input:?}"))
}

#[test]
fn every_input_that_once_broke_something_is_refused_in_one_line() {
    let configs = configs();
    assert!(configs.len() >= 5, "the corpus is there");
    for (name, text) in &configs {
        let r = no_panic("from_json", name, || Experiment::from_json(text));
        let e = r.expect_err(name).to_string();
        one_line("config", name, &e);
    }
    for set in lines("sets.txt") {
        let r = no_panic("--set", &set, || {
            Experiment::default().with_overrides(std::slice::from_ref(&set))
        });
        let e = r.expect_err(&set).to_string();
        one_line("--set", &set, &e);
    }
    for vary in lines("vary.txt") {
        let r = no_panic("--vary", &vary, || {
            SweepSpec::parse(&vary)
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    s.experiments(&Experiment::default())
                        .map_err(|e| e.to_string())
                })
        });
        let e = r.expect_err(&vary);
        one_line("--vary", &vary, &e);
    }
    for hash in lines("hashes.txt") {
        let (_, notices) = no_panic("parse_hash", &hash, || parse_hash(&hash));
        for n in &notices {
            one_line("hash notice", &hash, n);
        }
    }
    // A value of 100 kB is not echoed whole.
    let huge = format!("task.dims={}", "9".repeat(100_000));
    let e = Experiment::default()
        .with_overrides(&[huge])
        .unwrap_err()
        .to_string();
    one_line("--set", "task.dims=999…", &e);
}

/// Tokens that broke a parser once, spliced into inputs.
const TOKENS: &[&str] = &[
    "null",
    "1e999",
    "-1",
    "18446744073709551616",
    "NaN",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ",",
    "..",
    "2^",
    "=",
    "&",
    "%",
    "\"kind\":\"sparse_linear\"",
    "\"pool\":1073741824",
];

/// One random edit of `s`: a byte changed, a span cut or doubled, a token inserted.
fn mutate(s: &str, rng: &mut IclRng) -> String {
    let mut b = s.as_bytes().to_vec();
    let at = |rng: &mut IclRng, len: usize| rng.random_range(0..=len);
    match rng.random_range(0..4) {
        0 if !b.is_empty() => {
            let i = rng.random_range(0..b.len());
            b[i] = rng.random_range(0x20..0x7f);
        }
        1 if !b.is_empty() => {
            let i = at(rng, b.len());
            let j = (i + rng.random_range(1..8)).min(b.len());
            b.drain(i..j);
        }
        2 if !b.is_empty() => {
            let i = at(rng, b.len());
            let j = (i + rng.random_range(1..16)).min(b.len());
            let span = b[i..j].to_vec();
            b.splice(i..i, span);
        }
        _ => {
            let i = at(rng, b.len());
            let t = TOKENS[rng.random_range(0..TOKENS.len())];
            b.splice(i..i, t.bytes());
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn mutated_inputs_never_panic_and_errors_stay_one_line() {
    let mut rng = IclRng::seed_from_u64(20_261_202);
    let mut seeds: Vec<String> = configs().into_iter().map(|(_, t)| t).collect();
    seeds.extend(
        icl_lab::presets::PRESETS
            .iter()
            .flat_map(|p| [(p.build)().to_compact_json(), (p.build)().to_json_pretty()]),
    );
    let (mut cases, mut accepted) = (0, 0);
    for seed in &seeds {
        for _ in 0..200 {
            let mut input = seed.clone();
            for _ in 0..rng.random_range(1..4) {
                input = mutate(&input, &mut rng);
            }
            cases += 1;
            match no_panic("from_json", &input, || Experiment::from_json(&input)) {
                Ok(_) => accepted += 1,
                Err(e) => one_line("config", &input, &e.to_string()),
            }
        }
    }
    let sets = lines("sets.txt");
    let varies = lines("vary.txt");
    let hashes = lines("hashes.txt");
    for _ in 0..5000 {
        let set = mutate(&sets[rng.random_range(0..sets.len())], &mut rng);
        if let Err(e) = no_panic("--set", &set, || {
            Experiment::default().with_overrides(std::slice::from_ref(&set))
        }) {
            one_line("--set", &set, &e.to_string());
        }
        let vary = mutate(&varies[rng.random_range(0..varies.len())], &mut rng);
        if let Ok(spec) = no_panic("--vary", &vary, || SweepSpec::parse(&vary)) {
            let _ = no_panic("--vary values", &vary, || {
                spec.experiments(&Experiment::default())
            });
        }
        let hash = mutate(&hashes[rng.random_range(0..hashes.len())], &mut rng);
        let _ = no_panic("parse_hash", &hash, || parse_hash(&hash));
        cases += 3;
    }
    eprintln!("{cases} mutated inputs, {accepted} configs among them still valid");
    assert!(cases > 20_000);
}
