//! The CLI as a user meets it: outputs, formats and clear errors on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn icl_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icl-lab"))
        .args(args)
        .output()
        .expect("run icl-lab")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn presets_lists_every_required_preset() {
    let o = icl_lab(&["presets"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for name in [
        "garg-tiny",
        "garg-linear",
        "sparse",
        "noisy-mixture",
        "relu-nn",
        "decision-tree",
        "task-diversity",
        "bursty-icl",
        "zipf-coexistence",
        "task-diversity-threshold",
        "transience",
        "lsa-equals-gd",
        "algorithm-selection-noise",
        "regression-vs-classification",
        "depth-gd-to-newton",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
}

#[test]
fn bad_input_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["train", "--preset", "nope", "--out", out_s],
            "unknown preset `nope`",
        ),
        (
            vec![
                "train",
                "--preset",
                "garg-tiny",
                "--set",
                "task.dimz=3",
                "--out",
                out_s,
            ],
            "no field `dimz`",
        ),
        (
            vec![
                "train",
                "--preset",
                "garg-tiny",
                "--set",
                "task.dims=0",
                "--out",
                out_s,
            ],
            "task.dims = 0",
        ),
        (
            vec![
                "train",
                "--preset",
                "garg-tiny",
                "--set",
                "model.heads=3",
                "--out",
                out_s,
            ],
            "multiple of model.heads",
        ),
        (
            vec!["train", "--config", "/no/such/file.json", "--out", out_s],
            "cannot read config file",
        ),
        (
            vec![
                "train",
                "--preset",
                "garg-tiny",
                "--set",
                "eval.baselines=[{\"kind\":\"dmmse\"}]",
                "--out",
                out_s,
            ],
            "dmmse only with a finite task pool",
        ),
        // Valid but beyond any machine's memory: refused before allocating (these
        // once ran into an allocation abort and left a partial run directory).
        (
            vec![
                "train",
                "--preset",
                "garg-tiny",
                "--set",
                "task.dims=64",
                "--set",
                "task.pool=1073741824",
                "--out",
                out_s,
            ],
            "task.pool = 1073741824 is not allowed: at most",
        ),
        (
            vec![
                "train",
                "--preset",
                "garg-tiny",
                "--set",
                "model.width=1024",
                "--set",
                "model.heads=16",
                "--set",
                "model.layers=24",
                "--set",
                "train.batch=4096",
                "--set",
                "task.points=128",
                "--out",
                out_s,
            ],
            "on this machine",
        ),
    ];
    for (args, want) in cases {
        let o = icl_lab(&args);
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
        assert!(!out.exists(), "{args:?} created the run directory");
    }
    // An invalid config file names the file and the field.
    let cfg = dir.path().join("bad.json");
    std::fs::write(&cfg, r#"{"model": {"layers": 100}}"#).unwrap();
    let o = icl_lab(&["train", "--config", cfg.to_str().unwrap(), "--out", out_s]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("model.layers = 100"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn train_writes_the_run_and_eval_reevaluates_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let o = icl_lab(&[
        "train",
        "--preset",
        "garg-tiny",
        "--set",
        "train.steps=30",
        "--set",
        "train.log_every=10",
        "--set",
        "model.layers=1",
        "--set",
        "eval.prompts=16",
        "--set",
        "task.pool=8",
        "--out",
        out_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let config = read_json(&out.join("config.json"));
    assert_eq!(config["train"]["steps"], 30);
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["step"], 10 * (i + 1));
        assert!(l["loss"].as_f64().unwrap().is_finite());
        assert!(l["lr"].as_f64().unwrap() > 0.0);
        assert!(l["seconds"].as_f64().unwrap() >= 0.0);
    }
    let eval = read_json(&out.join("eval.json"));
    assert_eq!(eval["dims"], 5);
    let names: Vec<&str> = eval["evals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fresh", "pool"]);
    let fresh = &eval["evals"][0];
    assert_eq!(fresh["k"].as_array().unwrap().len(), 11);
    for name in [
        "model",
        "least_squares",
        "averaging",
        "knn_3",
        "zero",
        "dmmse",
        "ridge",
    ] {
        let c = &fresh["curves"][name];
        assert_eq!(c["mean"].as_array().unwrap().len(), 11, "{name}");
        assert_eq!(c["stderr"].as_array().unwrap().len(), 11, "{name}");
    }
    assert!(out.join("model.bin").exists() && out.join("checkpoint.json").exists());

    // A second train into the same directory is refused: nothing is overwritten.
    let o = icl_lab(&["train", "--preset", "garg-tiny", "--out", out_s]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already holds files"));

    // Out-of-distribution re-evaluation with a prompt dump.
    let dump = dir.path().join("dump.json");
    let o = icl_lab(&[
        "eval",
        "--run",
        out_s,
        "--x-dist",
        "scaled:2",
        "--dump-prompts",
        dump.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = read_json(&out.join("eval_scaled_2.json"));
    assert_eq!(report["evals"][0]["x_dist"], "scaled:2");
    let d = read_json(&dump);
    let first = &d["evals"][0];
    let prompts = first["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 16);
    assert_eq!(prompts[0]["xs"].as_array().unwrap().len(), 11);
    assert_eq!(prompts[0]["xs"][0].as_array().unwrap().len(), 5);
    // Every predictor's predictions are there, one per prompt and k; least squares is
    // exact from k = d on (noiseless), which anyone can check from the dump.
    let ls = &first["predictions"]["least_squares"];
    for (p, preds) in prompts.iter().zip(ls.as_array().unwrap()) {
        let y = p["ys"][7].as_f64().unwrap();
        assert!((preds[7].as_f64().unwrap() - y).abs() < 1e-6 * (1.0 + y.abs()));
    }
    assert_eq!(first["predictions"]["model"].as_array().unwrap().len(), 16);

    // --out naming a directory: said so, and no temporary file left beside it.
    let o = icl_lab(&[
        "eval",
        "--run",
        out_s,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("it is a directory"), "{}", stderr(&o));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json.tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let o = icl_lab(&["eval", "--run", out_s, "--x-dist", "sideways"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown x-distribution `sideways`"));
    // Implicit weights with garg-tiny's interleaved x and y: a probe block per k.
    let o = icl_lab(&["eval", "--run", out_s, "--algorithms"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lens = read_json(&out.join("algorithms.json"));
    assert!(
        lens["cosine"]["least_squares"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{lens}"
    );

    // A checkpoint.json that is there but unreadable is an error, not step 0.
    let saved = std::fs::read(out.join("checkpoint.json")).unwrap();
    std::fs::write(out.join("checkpoint.json"), "garbage").unwrap();
    let o = icl_lab(&["eval", "--run", out_s]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("is not a checkpoint record"),
        "{}",
        stderr(&o)
    );
    std::fs::write(out.join("checkpoint.json"), saved).unwrap();

    // --force replaces the run's own files (no stale eval of the old model survives)
    // and leaves anything else the user put there.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = icl_lab(&[
        "train",
        "--preset",
        "garg-tiny",
        "--force",
        "--set",
        "train.steps=5",
        "--set",
        "model.layers=1",
        "--set",
        "eval.prompts=4",
        "--out",
        out_s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("eval_scaled_2.json").exists());
    assert_eq!(read_json(&out.join("config.json"))["train"]["steps"], 5);
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );

    // A run file that cannot be replaced (a directory by that name) stops --force
    // before anything of the old run is deleted.
    std::fs::remove_file(out.join("optimizer.bin")).unwrap();
    std::fs::create_dir(out.join("optimizer.bin")).unwrap();
    let model_before = std::fs::read(out.join("model.bin")).unwrap();
    let o = icl_lab(&[
        "train",
        "--preset",
        "garg-tiny",
        "--force",
        "--set",
        "train.steps=3",
        "--out",
        out_s,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("optimizer.bin, which is not a file; nothing was removed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(out.join("model.bin")).unwrap(), model_before);
    assert_eq!(read_json(&out.join("config.json"))["train"]["steps"], 5);
}

/// The headline benchmark: the default lesson beats half of averaging's error well
/// within its steps (measured: at step 200), and the JSON line says when and how.
#[test]
fn bench_time_to_icl_reports_the_step_and_seconds() {
    let o = icl_lab(&[
        "bench",
        "--time-to-icl",
        "--preset",
        "icl-in-a-minute",
        "--every",
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8(o.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["reached"], true);
    let step = v["step"].as_u64().unwrap();
    assert!(step.is_multiple_of(100) && step <= 1000, "{v}");
    let (model, avg) = (
        v["model_error_last"].as_f64().unwrap(),
        v["averaging_error_last"].as_f64().unwrap(),
    );
    assert!(model < 0.5 * avg, "{v}");
    let parts = ["train_seconds", "eval_seconds", "plan_seconds"]
        .map(|k| v[k].as_f64().unwrap())
        .iter()
        .sum::<f64>();
    assert!((parts - v["seconds"].as_f64().unwrap()).abs() < 1e-6, "{v}");
    // Classification has no averaging baseline: one clear line, not a wrong number.
    let o = icl_lab(&[
        "bench",
        "--time-to-icl",
        "--preset",
        "reddy-abrupt",
        "--every",
        "2",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("needs a regression preset"),
        "{}",
        stderr(&o)
    );
    let o = icl_lab(&["bench", "--time-to-icl", "--every", "0"]);
    assert!(
        stderr(&o).contains("--every must be at least 1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bench_prints_one_json_line() {
    let o = icl_lab(&[
        "bench",
        "--preset",
        "garg-tiny",
        "--steps",
        "3",
        "--warmup",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert!(v["steps_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["backend"], "cpu (flex)");
}

#[test]
fn sweep_writes_one_run_per_value_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let out_s = out.to_str().unwrap();
    let small = SMALL;
    let mut args = vec!["sweep", "--preset", "task-diversity-threshold"];
    args.extend(small);
    args.extend(["--vary", "task.pool=2,null", "--out", out_s]);
    let o = icl_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["kind"], "icl-lab sweep");
    assert_eq!(summary["path"], "task.pool");
    let points = summary["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["value"], 2);
    assert!(points[1]["value"].is_null());
    for p in points {
        let m = &p["metrics"];
        assert!(m["fresh_error"].as_f64().unwrap().is_finite(), "{m}");
        let run = out.join(p["run"].as_str().unwrap());
        assert!(run.join("eval.json").exists(), "{}", run.display());
        assert!(run.join("config.json").exists());
    }
    assert!(points[0]["metrics"]["pool_distance_dmmse"].is_number());
    // The threshold table names the metrics.
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("fresh_error"), "{table}");

    // --force over it with other values: the old runs go, only the new ones stay
    // beside the new summary.
    let old_runs: Vec<String> = points
        .iter()
        .map(|p| p["run"].as_str().unwrap().to_string())
        .collect();
    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    for f in std::fs::read_dir(&out).unwrap().flatten() {
        let to = again.join(f.file_name());
        if f.path().is_dir() {
            std::fs::create_dir(&to).unwrap();
            for g in std::fs::read_dir(f.path()).unwrap().flatten() {
                std::fs::copy(g.path(), to.join(g.file_name())).unwrap();
            }
        } else {
            std::fs::copy(f.path(), &to).unwrap();
        }
    }
    let mut args = vec!["sweep", "--preset", "task-diversity-threshold", "--force"];
    args.extend(small);
    args.extend(["--vary", "task.pool=8", "--out", again.to_str().unwrap()]);
    let o = icl_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs: Vec<String> = std::fs::read_dir(&again)
        .unwrap()
        .flatten()
        .filter(|f| f.path().is_dir())
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        runs,
        vec!["00-task.pool=8".to_string()],
        "old: {old_runs:?}"
    );

    // The algorithm lens on one of the runs ([x, y] tokens).
    let run = out.join(points[0]["run"].as_str().unwrap());
    let o = icl_lab(&["eval", "--run", run.to_str().unwrap(), "--algorithms"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = read_json(&run.join("algorithms.json"));
    assert_eq!(
        m["k"][0], 1,
        "from k = 1: no weights to match without context"
    );
    assert_eq!(m["k"].as_array().unwrap().len(), 11);
    for alg in [
        "least_squares",
        "ridge",
        "gd_1",
        "gd_3",
        "gdpp_2",
        "newton_2",
        "newton_16",
    ] {
        let c = m["cosine"][alg][5].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&c), "{alg}: {c}");
    }
    assert!(m["best"][5].as_str().unwrap().len() > 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("best-matching algorithm"));

    // A preset's own sweep (depth) runs without --vary and reports the lens per depth.
    let depth = dir.path().join("depth");
    let mut args = vec!["sweep", "--preset", "depth-gd-to-newton"];
    args.extend(small);
    args.extend(["--out", depth.to_str().unwrap()]);
    let o = icl_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = read_json(&depth.join("summary.json"));
    assert_eq!(summary["path"], "model.layers");
    let points = summary["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for p in points {
        let m = &p["metrics"];
        let t = m["lens_newton_iterations"].as_f64().unwrap();
        assert!((1.0..=16.0).contains(&t), "{m}");
        let g = m["lens_gd_steps"].as_f64().unwrap();
        assert!((1.0..=64.0).contains(&g), "{m}");
        assert!(m["lens_cosine_least_squares"].as_f64().unwrap().abs() <= 1.0);
        // How well each family fits at its best count is the best member's cosine.
        for (fit, count, prefix) in [
            ("lens_newton_match", t, "newton"),
            ("lens_gd_match", g, "gd"),
        ] {
            let c = m[fit].as_f64().unwrap();
            let member = m[format!("lens_cosine_{prefix}_{count}")].as_f64().unwrap();
            assert_eq!(c, member, "{fit}: {m}");
        }
    }
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("best-matching Newton iterations per layer"),
        "{table}"
    );
    // Without --vary and without a preset sweep: the reason.
    let never = dir.path().join("never");
    let o = icl_lab(&[
        "sweep",
        "--preset",
        "icl-in-a-minute",
        "--out",
        never.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--vary is needed"), "{}", stderr(&o));
    assert!(!never.exists());

    // A value the config refuses is named before anything runs.
    let bad = dir.path().join("bad");
    let mut args = vec!["sweep", "--preset", "bursty-icl", "--vary"];
    args.extend(["task.family.burstiness=2,3", "--out", bad.to_str().unwrap()]);
    let o = icl_lab(&args);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("task.family.burstiness = 3"), "{e}");
    assert_eq!(e.matches("a divisor of task.points (8)").count(), 1, "{e}");
    assert!(!bad.exists(), "nothing written for a refused sweep");
    // A file where the sweep's directory would go is named as such.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let mut args = vec!["sweep", "--preset", "bursty-icl", "--vary"];
    args.extend(["task.family.p_bursty=0,1", "--out", file.to_str().unwrap()]);
    let o = icl_lab(&args);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("exists and is not a directory"),
        "{}",
        stderr(&o)
    );
    let o = icl_lab(&[
        "sweep",
        "--preset",
        "bursty-icl",
        "--vary",
        "p_bursty",
        "--out",
        out_s,
    ]);
    assert!(
        stderr(&o).contains("--vary p_bursty: expected path=v1,v2"),
        "{}",
        stderr(&o)
    );

    // Classification runs are summarised by their probes.
    let cls = dir.path().join("cls");
    let mut args = vec!["sweep", "--preset", "bursty-icl"];
    args.extend([
        "--set",
        "train.steps=3",
        "--set",
        "train.batch=8",
        "--set",
        "eval.prompts=16",
        "--set",
        "task.family.classes=64",
    ]);
    args.extend([
        "--vary",
        "task.family.p_bursty=0,1",
        "--out",
        cls.to_str().unwrap(),
    ]);
    let o = icl_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = read_json(&cls.join("summary.json"));
    let m = &summary["points"][1]["metrics"];
    for probe in ["icl", "in_weights", "flipped_context", "flipped_prior"] {
        let v = m[probe].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{probe} = {v}");
    }
}

/// A run stopped with --until (a job's time limit) or killed after a checkpoint goes
/// on with --resume to the same result as a run never stopped.
#[test]
fn a_run_stopped_and_resumed_ends_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("straight"), dir.path().join("stopped"));
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    let base = [
        "train",
        "--preset",
        "garg-tiny",
        "--set",
        "model.layers=1",
        "--set",
        "model.width=16",
        "--set",
        "train.steps=40",
        "--set",
        "train.log_every=1",
        "--set",
        "train.eval_every=10",
        "--set",
        "eval.prompts=64",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let o = icl_lab(&args(&with(&["--out", a_s])));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = icl_lab(&args(&with(&["--out", b_s, "--until", "15"])));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stopped at step 15 of 40"),
        "{}",
        stderr(&o)
    );
    assert!(!b.join("eval.json").exists(), "no final evaluation yet");
    assert_eq!(read_json(&b.join("checkpoint.json"))["step"], 15);
    // A killed process may have logged steps after its last checkpoint: resuming
    // trains them again, and the log holds each step once.
    let mut log = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    log.push_str("{\"step\":16,\"loss\":99.0}\n");
    std::fs::write(b.join("metrics.jsonl"), log).unwrap();

    let o = icl_lab(&["train", "--resume", b_s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resuming"), "{}", stderr(&o));
    let losses = |dir: &Path| -> Vec<(u64, f64)> {
        std::fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
            .collect()
    };
    let (la, lb) = (losses(&a), losses(&b));
    assert_eq!(la.len(), 40);
    assert_eq!(la, lb, "the same steps and losses, interrupted or not");
    let curve =
        |dir: &Path| read_json(&dir.join("eval.json"))["evals"][0]["curves"]["model"].clone();
    assert!(curve(&a).is_object(), "{}", curve(&a));
    assert_eq!(curve(&a), curve(&b));
    let history = |dir: &Path| {
        std::fs::read_to_string(dir.join("eval_history.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(history(&a), history(&b));

    // What cannot be resumed says why.
    let o = icl_lab(&["train", "--resume", b_s]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the run finished (step 40 of 40)"),
        "{}",
        stderr(&o)
    );
    let o = icl_lab(&args(&with(&[
        "--out",
        dir.path().join("c").to_str().unwrap(),
        "--until",
        "40",
    ])));
    assert!(!o.status.success());
    assert!(
        stderr(&o)
            .contains("--until 40: must be after step 0 and before the end, step 40 (train.steps)"),
        "{}",
        stderr(&o)
    );
    let o = icl_lab(&[
        "train",
        "--resume",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot read config.json"),
        "{}",
        stderr(&o)
    );
    let o = icl_lab(&["train", "--resume", b_s, "--preset", "garg-tiny"]);
    assert!(
        !o.status.success(),
        "--resume takes its config from the run"
    );
}

/// The small experiment the sweep tests train (seconds each).
const SMALL: [&str; 10] = [
    "--set",
    "model.layers=1",
    "--set",
    "model.width=16",
    "--set",
    "train.steps=4",
    "--set",
    "train.batch=8",
    "--set",
    "eval.prompts=16",
];

#[test]
fn a_seeded_sweep_summarises_each_value_across_its_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let mut args = vec!["sweep", "--preset", "task-diversity-threshold"];
    args.extend(SMALL);
    args.extend(["--vary", "task.pool=2,null", "--seeds", "2"]);
    args.extend(["--out", out.to_str().unwrap()]);
    let o = icl_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let seed = read_json(&out.join("summary.json"))["base"]["seed"]
        .as_u64()
        .unwrap();
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["seeds"], 2);
    let points = summary["points"].as_array().unwrap();
    let got: Vec<(serde_json::Value, u64, &str)> = points
        .iter()
        .map(|p| {
            (
                p["value"].clone(),
                p["seed"].as_u64().unwrap(),
                p["run"].as_str().unwrap(),
            )
        })
        .collect();
    let (a, b) = (
        format!("01-task.pool=2-seed{}", seed + 1),
        format!("02-task.pool=null-seed{seed}"),
    );
    assert_eq!(got[1], (2.into(), seed + 1, a.as_str()));
    assert_eq!(got[2], (serde_json::Value::Null, seed, b.as_str()));
    assert_eq!(got.len(), 4);
    // Each run really has its seed.
    let config = read_json(&out.join(&a).join("config.json"));
    assert_eq!(config["seed"].as_u64(), Some(seed + 1));
    // Two seeds of one value train differently.
    let (e0, e1) = (
        points[0]["metrics"]["fresh_error"].as_f64().unwrap(),
        points[1]["metrics"]["fresh_error"].as_f64().unwrap(),
    );
    assert_ne!(e0, e1);
    // The table gives each value's mean ± standard error over its 2 seeds.
    let table = String::from_utf8_lossy(&o.stdout);
    let mean = (e0 + e1) / 2.0;
    let se = (e0 - e1).abs() / 2.0;
    assert!(
        table.contains(&format!("{mean:.4} ± {se:.4}")),
        "{mean:.4} ± {se:.4} not in\n{table}"
    );
    assert!(table.contains("n=2"), "{table}");

    // Bad seeds are named with their range before anything runs.
    let (x, y) = (dir.path().join("x"), dir.path().join("y"));
    let o = icl_lab(&[
        "sweep",
        "--preset",
        "garg-tiny",
        "--vary",
        "task.pool=2",
        "--seeds",
        "0",
        "--out",
        x.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--seeds 0: must be from 1 to 32"),
        "{}",
        stderr(&o)
    );
    let o = icl_lab(&[
        "sweep",
        "--preset",
        "garg-tiny",
        "--vary",
        "seed=0..2",
        "--seeds",
        "2",
        "--out",
        y.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("a sweep of `seed` itself"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("x").exists() && !dir.path().join("y").exists());
}

#[test]
fn a_slurm_sweep_is_written_checked_and_collected() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("slurm");
    let s = sweep.to_str().unwrap();
    let base = [
        "sweep",
        "--preset",
        "garg-tiny",
        "--vary",
        "task.pool=4,16",
        "--seeds",
        "2",
        "--slurm",
    ];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.push(s);
        v.extend(extra);
        icl_lab(&v)
    };
    // Each option is checked, named with what it allows, before anything is written.
    for (extra, needle) in [
        (vec!["--time", "2h"], "--time 2h: MM, MM:SS"),
        (vec!["--mem", "lots"], "--mem lots: memory per node"),
        (
            vec!["--cpus-per-task", "0"],
            "--cpus-per-task 0: from 1 to 1024",
        ),
        (vec!["--gres", "gpu:0"], "--gres gpu:0: NAME[:TYPE][:COUNT]"),
        (vec!["--sbatch=--array=0-3"], "not --array"),
    ] {
        let o = with(&extra);
        assert!(!o.status.success(), "{extra:?}");
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
        assert!(!sweep.exists(), "{extra:?} wrote something");
    }
    let o = icl_lab(&[
        "sweep",
        "--preset",
        "garg-tiny",
        "--partition",
        "x",
        "--out",
        s,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--slurm"), "{}", stderr(&o));

    let elsewhere = dir.path().join("elsewhere");
    let o = with(&["--out", elsewhere.to_str().unwrap()]);
    assert!(
        stderr(&o).contains("--out and --slurm: choose one"),
        "{}",
        stderr(&o)
    );
    assert!(!sweep.exists() && !elsewhere.exists());

    // A GPU makes the tasks train on wgpu.
    let o = with(&[
        "--gres",
        "gpu:1",
        "--time",
        "1:00:00",
        "--sbatch=--account=lab",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--backend wgpu"), "{}", stderr(&o));
    let script = std::fs::read_to_string(sweep.join("sweep.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=0-3\n",
        "#SBATCH --gres=gpu:1\n",
        "#SBATCH --time=1:00:00\n",
        "#SBATCH --account=lab\n",
        "--force --backend wgpu &\n",
    ] {
        assert!(script.contains(line), "{line} not in\n{script}");
    }
    let configs = std::fs::read_dir(sweep.join("configs")).unwrap().count();
    assert_eq!(configs, 4);
    let plan = read_json(&sweep.join("sweep.json"));
    assert_eq!(plan["kind"], "icl-lab slurm sweep");
    assert_eq!(plan["tasks"][3]["name"], "003-task.pool=16-seed1");
    let c = read_json(&sweep.join("configs/003-task.pool=16-seed1.json"));
    assert_eq!(
        (c["task"]["pool"].as_u64(), c["seed"].as_u64()),
        (Some(16), Some(1))
    );
    // Written again: refused, then replaced with --force.
    let o = with(&[]);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(with(&["--force"]).status.success());

    // Collected before anything ran: no points, every task "not started" with its log.
    let o = icl_lab(&["sweep", "collect", s]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0 of 4 runs finished"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("task 3 (task.pool = 16, seed 1): not started"),
        "{}",
        stderr(&o)
    );
    let summary = read_json(&sweep.join("summary.json"));
    assert_eq!(summary["points"].as_array().unwrap().len(), 0);
    assert_eq!(summary["unfinished"][3]["log"], "logs/3.log");
    // Not a SLURM sweep: said so.
    let o = icl_lab(&["sweep", "collect", dir.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("a directory written by `icl-lab sweep --slurm`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn sigterm_stops_a_run_with_a_checkpoint_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_icl-lab"))
        .args(["train", "--preset", "garg-tiny", "--set", "model.layers=1"])
        .args(["--set", "model.width=16", "--set", "train.steps=100000"])
        .args(["--set", "train.log_every=1", "--set", "eval.prompts=16"])
        .args(["--out", r])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::fs::read_to_string(run.join("metrics.jsonl")).map_or(0, |t| t.lines().count()) < 3 {
        assert!(started.elapsed().as_secs() < 120, "no steps logged");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    let step: u64 = err
        .split("stopped by a signal at step ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(step >= 3, "{err}");
    assert_eq!(read_json(&run.join("checkpoint.json"))["step"], step);
    // Resumed to a nearer end: the checkpoint is where it stopped.
    let o = icl_lab(&["train", "--resume", r, "--until", &(step + 2).to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("resuming {r} at step {step} of 100000")),
        "{}",
        stderr(&o)
    );
    assert_eq!(read_json(&run.join("checkpoint.json"))["step"], step + 2);
}
