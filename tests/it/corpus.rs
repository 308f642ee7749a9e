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

/// The README's reliability record quotes the count this test ran.
fn readme_states(phrase: &str) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(phrase),
        "README.md's reliability record must say `{phrase}` (what this test ran)"
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
    readme_states(&format!("{cases} mutated inputs"));
}

/// One random edit of raw bytes (a weights file): a byte changed, a span cut, a
/// span doubled, or the file cut short.
fn mutate_bytes(b: &[u8], rng: &mut IclRng) -> Vec<u8> {
    let mut b = b.to_vec();
    if b.is_empty() {
        return vec![rng.random()];
    }
    match rng.random_range(0..4) {
        0 => {
            let i = rng.random_range(0..b.len());
            b[i] = rng.random();
        }
        1 => {
            let i = rng.random_range(0..b.len());
            let j = (i + rng.random_range(1..64)).min(b.len());
            b.drain(i..j);
        }
        2 => {
            let i = rng.random_range(0..b.len());
            let j = (i + rng.random_range(1..64)).min(b.len());
            let span = b[i..j].to_vec();
            b.splice(i..i, span);
        }
        _ => b.truncate(rng.random_range(0..b.len())),
    }
    b
}

/// What a user can hand the lab besides a config: a run folder of `icl-lab train`
/// (config, metrics, evaluations, checkpoint, weights), a run exported by the page,
/// a sweep's summary.json, a lesson file, and the weights alone (`eval` reads
/// model.bin). Seeded from a real tiny run; every mutation must be read or refused
/// with one-line problems, never a panic.
#[test]
fn mutated_imports_never_panic_and_problems_stay_one_line() {
    use burn::tensor::Device;
    use icl_lab::checkpoint::{CheckpointState, model_from_bytes, model_to_bytes};
    use icl_lab::eval::evaluate;
    use icl_lab::sweep::{SweepPoint, SweepSummary, final_metrics};
    use icl_lab::train::Trainer;
    use icl_lab::web::lessons::Lesson;
    use icl_lab::web::runs::{ImportFile, import_files};

    let mut exp = icl_lab::presets::preset("icl-in-a-minute").unwrap();
    exp.task.points = 6;
    exp.eval.prompts = 8;
    exp.train.steps = 2;
    let dev = Device::flex();
    let mut t = Trainer::new(&exp, &dev);
    t.step();
    t.step();
    let (report, _) = evaluate(&exp, &t.model(), &dev, &t.source, None, t.step).unwrap();
    let eval = serde_json::to_string(&report).unwrap();
    let weights = model_to_bytes(t.model()).unwrap();
    let folder: Vec<(&str, Vec<u8>)> = vec![
        ("config.json", exp.to_json_pretty().into_bytes()),
        (
            "metrics.jsonl",
            b"{\"step\":1,\"loss\":2.5,\"lr\":0.001}\n{\"step\":2,\"loss\":1.5,\"lr\":0.001}\n"
                .to_vec(),
        ),
        ("eval.json", eval.clone().into_bytes()),
        ("eval_history.jsonl", eval.into_bytes()),
        (
            "checkpoint.json",
            serde_json::to_vec(&CheckpointState {
                step: 2,
                rng_position: "1234".into(),
                diverged: None,
            })
            .unwrap(),
        ),
        ("model.bin", weights.clone()),
    ];
    let as_files = |folder: &[(&str, Vec<u8>)]| -> Vec<ImportFile> {
        folder
            .iter()
            .map(|(n, b)| ImportFile {
                path: format!("run/{n}"),
                bytes: b.clone(),
            })
            .collect()
    };
    let imported = import_files(as_files(&folder), 0.0);
    assert!(imported.problems.is_empty(), "{:?}", imported.problems);
    let export = imported.runs[0].to_json();
    let spec = SweepSpec::parse("task.pool=4,8").unwrap();
    let mut summary = SweepSummary::new(&spec, &exp);
    summary.points.push(SweepPoint {
        value: serde_json::json!(4),
        seed: None,
        step: 2,
        metrics: final_metrics(&report),
        run: Some("task.pool=4".into()),
    });
    let summary = serde_json::to_string(&summary).unwrap();
    let lessons: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/www/lessons"))
            .unwrap()
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
            .map(|f| std::fs::read_to_string(f.path()).unwrap())
            .collect();
    assert!(lessons.len() >= 10);

    let mut rng = IclRng::seed_from_u64(20_261_203);
    let problems_are_lines = |what: &str, got: &icl_lab::web::runs::Imported| {
        for p in &got.problems {
            one_line(what, "(mutated)", p);
        }
    };
    let mut cases = 0;
    // A run folder with one of its files mutated (the weights byte-wise).
    for _ in 0..600 {
        let mut f = folder.clone();
        let i = rng.random_range(0..f.len());
        f[i].1 = if f[i].0 == "model.bin" {
            mutate_bytes(&f[i].1, &mut rng)
        } else {
            mutate(&String::from_utf8_lossy(&f[i].1), &mut rng).into_bytes()
        };
        let got = no_panic("run folder", f[i].0, || import_files(as_files(&f), 0.0));
        problems_are_lines("run folder", &got);
        cases += 1;
    }
    // An exported run and a sweep summary.
    for (name, seed) in [("run.json", &export), ("summary.json", &summary)] {
        for _ in 0..600 {
            let mut input = seed.clone();
            for _ in 0..rng.random_range(1..4) {
                input = mutate(&input, &mut rng);
            }
            let file = ImportFile {
                path: name.into(),
                bytes: input.into_bytes(),
            };
            let got = no_panic(name, name, || import_files(vec![file], 0.0));
            problems_are_lines(name, &got);
            cases += 1;
        }
    }
    // Lesson files.
    for _ in 0..2000 {
        let mut input = lessons[rng.random_range(0..lessons.len())].clone();
        for _ in 0..rng.random_range(1..4) {
            input = mutate(&input, &mut rng);
        }
        if let Err(e) = no_panic("lesson", "(mutated lesson)", || Lesson::parse(&input)) {
            one_line("lesson", "(mutated lesson)", &e.to_string());
        }
        cases += 1;
    }
    // The weights alone, as `icl-lab eval` reads them.
    for _ in 0..300 {
        let bytes = mutate_bytes(&weights, &mut rng);
        if let Err(e) = no_panic("model.bin", "(mutated weights)", || {
            model_from_bytes(&exp, bytes, &dev)
        }) {
            one_line("model.bin", "(mutated weights)", &e.to_string());
        }
        cases += 1;
    }
    eprintln!("{cases} mutated imports");
    assert!(cases >= 4000);
    readme_states(&format!("{cases} mutated imports"));
}
