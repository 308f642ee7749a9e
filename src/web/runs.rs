//! Saved runs: what the page keeps of a run in IndexedDB, what it exports, and how
//! files written by the native CLI (`icl-lab train`, `icl-lab sweep`) become runs
//! the page shows exactly like its own. Platform-neutral: the page's store
//! (`web::store`) only moves these records in and out of the browser.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointState};
use crate::config::Experiment;
use crate::eval::EvalReport;
use crate::lens::heads::AttentionSnapshot;
use crate::metric::Metrics;
use crate::presets::PRESETS;
use crate::sweep::{SUMMARY_KIND, SweepSummary, final_metrics};

/// Marks a file as a saved run (checked on import).
pub const RUN_KIND: &str = "icl-lab run";

/// At most this many attention snapshots are kept with a run (evenly spaced, the
/// last always kept): enough to scrub through a phase change, a few MB at most.
pub const KEPT_SNAPSHOTS: usize = 16;

/// Where a run came from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Trained in this browser.
    Browser,
    /// A run directory written by `icl-lab train`.
    Cli,
    /// A sweep summary (`summary.json`, or a sweep finished in the browser).
    Sweep,
}

/// Where a saved run stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Finished,
    /// Stopped part-way with a checkpoint it can resume from.
    Paused,
    /// Stopped part-way without one (diverged, or no optimizer state).
    Stopped,
}

/// A checkpoint as text: weights and optimizer state in base64, so it travels in
/// JSON (worker events, exported run files).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SavedCheckpoint {
    pub step: usize,
    /// The training prompt stream's position (a u128 as a decimal string).
    pub rng_position: String,
    /// burnpack weights, base64 (the CLI's `model.bin`).
    pub model: String,
    /// burn's optimizer record, base64 (the CLI's `optimizer.bin`); without it the
    /// weights can be evaluated but training cannot resume.
    pub optimizer: Option<String>,
}

impl SavedCheckpoint {
    pub fn new(c: &Checkpoint) -> Self {
        Self {
            step: c.step,
            rng_position: c.rng_position.to_string(),
            model: BASE64.encode(&c.model),
            optimizer: Some(BASE64.encode(&c.optimizer)),
        }
    }

    /// Weights only (a WebGPU run's checkpoint in the browser).
    pub fn weights(step: usize, rng_position: u128, model: &[u8]) -> Self {
        Self {
            step,
            rng_position: rng_position.to_string(),
            model: BASE64.encode(model),
            optimizer: None,
        }
    }

    pub fn model_bytes(&self) -> Result<Vec<u8>, String> {
        BASE64
            .decode(&self.model)
            .map_err(|e| format!("the checkpoint's weights are not base64: {e}"))
    }

    /// The checkpoint the browser resumes from: the weights, step and prompt-stream
    /// position, without the optimizer state (burn 0.22.1 loads that onto
    /// `Device::default()`, an uninitialised WebGPU device in wasm), so Adam starts
    /// afresh.
    pub fn weights_checkpoint(&self) -> Result<Checkpoint, String> {
        Ok(Checkpoint {
            step: self.step,
            rng_position: self.rng_position.parse().map_err(|_| {
                format!(
                    "checkpoint rng_position `{}` is not a whole number",
                    self.rng_position
                )
            })?,
            model: self.model_bytes()?,
            optimizer: Vec::new(),
        })
    }

    /// The whole checkpoint, optimizer state included (a native resume).
    pub fn to_checkpoint(&self) -> Result<Checkpoint, String> {
        let optimizer = self.optimizer.as_ref().ok_or(
            "this checkpoint has no optimizer state (optimizer.bin), so training cannot resume",
        )?;
        Ok(Checkpoint {
            optimizer: BASE64
                .decode(optimizer)
                .map_err(|e| format!("the optimizer state is not base64: {e}"))?,
            ..self.weights_checkpoint()?
        })
    }
}

/// One saved run: everything the page's charts need, in one serde record (the
/// IndexedDB value, the exported `.json`, what an imported run directory becomes).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// [`RUN_KIND`].
    pub kind: String,
    /// Unique per run; a run saved again (paused twice, finished) keeps its id.
    pub id: String,
    /// For people: the preset, the swept value, the folder it came from.
    pub name: String,
    pub origin: Origin,
    pub status: RunStatus,
    /// When it was saved (ms since 1970).
    pub saved_ms: f64,
    pub experiment: Experiment,
    /// Steps done.
    pub step: usize,
    /// (step, training loss) of every logged step.
    pub losses: Vec<(usize, f32)>,
    /// (step, final metrics) of every evaluation.
    pub history: Vec<(usize, Metrics)>,
    /// The latest evaluation.
    pub eval: Option<EvalReport>,
    /// Attention snapshots (step, snapshot) for the scrubber, at most [`KEPT_SNAPSHOTS`].
    #[serde(default)]
    pub attention: Vec<(usize, AttentionSnapshot)>,
    /// Training time in ms, pauses excluded (browser runs).
    pub train_ms: Option<f64>,
    /// The backend it trained on, in words.
    pub backend: Option<String>,
    /// Step of the stored checkpoint, if one is stored.
    pub checkpoint_step: Option<usize>,
    /// The checkpoint itself: in exported files; the page stores it apart, so the
    /// runs table loads without the weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<SavedCheckpoint>,
    /// A sweep: its summary (the runs table loads it into the sweep panel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
}

/// A file handed to the importer: its path (folder names included when a folder was
/// picked) and bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The name of the preset `exp` is, or a short description.
pub fn experiment_name(exp: &Experiment) -> String {
    if let Some(p) = PRESETS.iter().find(|p| (p.build)() == *exp) {
        return p.name.to_string();
    }
    let kind = serde_json::to_value(&exp.task.family)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(String::from))
        .unwrap_or_else(|| "custom".into());
    format!(
        "{kind}, {} layer{}, seed {}",
        exp.model.layers,
        if exp.model.layers == 1 { "" } else { "s" },
        exp.seed
    )
}

/// At most `max` snapshots, evenly spaced, the last always kept.
pub fn thin_snapshots<T: Clone>(all: &[(usize, T)], max: usize) -> Vec<(usize, T)> {
    if all.len() <= max || max == 0 {
        return all.to_vec();
    }
    let last = all.len() - 1;
    let mut keep: Vec<usize> = (0..max).map(|i| i * last / (max - 1)).collect();
    keep.dedup();
    keep.into_iter().map(|i| all[i].clone()).collect()
}

/// A small stable hash (ids of imported runs, so importing twice replaces).
fn fingerprint(parts: &[&str]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

impl RunRecord {
    /// The record's JSON (an exported file).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a run always serialises")
    }

    /// Reads an exported run, checking what it is.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        match v.get("kind").and_then(|k| k.as_str()) {
            Some(RUN_KIND) => {}
            Some(other) => {
                return Err(format!(
                    "kind is `{other}`, expected `{RUN_KIND}` (an exported run)"
                ));
            }
            None => return Err(format!("no `kind`: not an exported run (`{RUN_KIND}`)")),
        }
        let r: RunRecord =
            serde_json::from_value(v).map_err(|e| format!("not a readable run: {e}"))?;
        r.experiment
            .validate()
            .map_err(|e| format!("its experiment is not valid here: {e}"))?;
        Ok(r)
    }

    /// A record of a sweep summary.
    pub fn from_sweep(summary: SweepSummary, name: &str, saved_ms: f64) -> Self {
        let json = serde_json::to_string(&summary).unwrap_or_default();
        let history = summary
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.metrics.clone()))
            .collect();
        Self {
            kind: RUN_KIND.into(),
            id: format!("sweep-{}", fingerprint(&[&json])),
            name: format!("{name}: sweep of {}", summary.path),
            origin: Origin::Sweep,
            status: if summary.points.len() == summary.values.len() {
                RunStatus::Finished
            } else {
                RunStatus::Stopped
            },
            saved_ms,
            experiment: summary.base.clone(),
            step: summary.points.iter().map(|p| p.step).max().unwrap_or(0),
            losses: Vec::new(),
            history,
            eval: None,
            attention: Vec::new(),
            train_ms: None,
            backend: None,
            checkpoint_step: None,
            checkpoint: None,
            sweep: Some(summary),
        }
    }

    /// A run directory written by `icl-lab train`: `config.json` (required),
    /// `metrics.jsonl`, `eval_history.jsonl`, `eval.json`, and the checkpoint
    /// (`model.bin`, `optimizer.bin`, `checkpoint.json`). `folder` names it.
    pub fn from_cli_files(
        folder: &str,
        files: &BTreeMap<String, Vec<u8>>,
        saved_ms: f64,
    ) -> Result<Self, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            files
                .get(name)
                .map(|b| {
                    String::from_utf8(b.clone()).map_err(|_| format!("{name} is not UTF-8 text"))
                })
                .transpose()
        };
        let config = text("config.json")?.ok_or("config.json is missing")?;
        let experiment = Experiment::from_json(&config).map_err(|e| format!("config.json: {e}"))?;
        let mut losses = Vec::new();
        if let Some(metrics) = text("metrics.jsonl")? {
            for (i, line) in metrics
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| format!("metrics.jsonl line {}: {e}", i + 1))?;
                let step = v.get("step").and_then(|s| s.as_u64()).ok_or_else(|| {
                    format!("metrics.jsonl line {}: no whole-number `step`", i + 1)
                })? as usize;
                // A non-finite loss is written as a string ("NaN"): not plotted.
                if let Some(loss) = v.get("loss").and_then(|l| l.as_f64()) {
                    losses.push((step, loss as f32));
                }
            }
        }
        let mut reports = Vec::new();
        if let Some(history) = text("eval_history.jsonl")? {
            for (i, line) in history
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                reports.push(
                    serde_json::from_str::<EvalReport>(line)
                        .map_err(|e| format!("eval_history.jsonl line {}: {e}", i + 1))?,
                );
            }
        }
        let last = match text("eval.json")? {
            Some(t) => Some(
                serde_json::from_str::<EvalReport>(&t).map_err(|e| format!("eval.json: {e}"))?,
            ),
            None => reports.last().cloned(),
        };
        if reports.is_empty()
            && let Some(r) = &last
        {
            reports.push(r.clone());
        }
        let history = reports.iter().map(|r| (r.step, final_metrics(r))).collect();
        let attention: Vec<(usize, AttentionSnapshot)> = reports
            .iter()
            .filter_map(|r| r.attention.clone().map(|a| (r.step, a)))
            .collect();
        let state: Option<CheckpointState> = text("checkpoint.json")?
            .map(|t| serde_json::from_str(&t).map_err(|e| format!("checkpoint.json: {e}")))
            .transpose()?;
        let checkpoint = match (state.as_ref(), files.get("model.bin")) {
            (Some(s), Some(model)) => Some(SavedCheckpoint {
                step: s.step,
                rng_position: s.rng_position.clone(),
                model: BASE64.encode(model),
                optimizer: files.get("optimizer.bin").map(|o| BASE64.encode(o)),
            }),
            _ => None,
        };
        let diverged = state.as_ref().and_then(|s| s.diverged.clone());
        let step = [
            checkpoint.as_ref().map(|c| c.step),
            losses.last().map(|l| l.0),
            last.as_ref().map(|r| r.step),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        // The browser resumes from the weights (its Adam starts afresh either way).
        let resumable = checkpoint.is_some() && diverged.is_none() && step < experiment.train.steps;
        let status = if step >= experiment.train.steps && files.contains_key("eval.json") {
            RunStatus::Finished
        } else if resumable {
            RunStatus::Paused
        } else {
            RunStatus::Stopped
        };
        let folder_name = folder.rsplit('/').next().filter(|s| !s.is_empty());
        Ok(Self {
            kind: RUN_KIND.into(),
            id: format!("cli-{}", fingerprint(&[&config, &step.to_string(), folder])),
            name: match folder_name {
                Some(f) => format!("{f} ({})", experiment_name(&experiment)),
                None => experiment_name(&experiment),
            },
            origin: Origin::Cli,
            status,
            saved_ms,
            step,
            losses,
            history,
            eval: last,
            attention: thin_snapshots(&attention, KEPT_SNAPSHOTS),
            train_ms: None,
            backend: Some("native CLI".into()),
            checkpoint_step: checkpoint.as_ref().map(|c| c.step),
            checkpoint,
            sweep: None,
            experiment,
        })
    }

    /// Whether training can go on from the stored checkpoint.
    pub fn resumable(&self) -> bool {
        self.status == RunStatus::Paused && self.checkpoint_step.is_some()
    }

    /// The run's curves as one tidy CSV: `series,set,name,x,mean,stderr`, with the
    /// training loss (`loss,train,loss,step,…`), the latest evaluation's curves
    /// (`icl,<set>,<predictor>,k,…`; token runs: `token_loss,…,position,…`), every
    /// evaluation's metrics (`metric,history,<metric>,step,…`) and a sweep's points
    /// (`sweep,<path>,<metric>,<value index>,…`).
    pub fn curves_csv(&self) -> String {
        let mut out = String::from("series,set,name,x,mean,stderr\n");
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        for (step, loss) in &self.losses {
            let _ = writeln!(out, "loss,train,loss,{step},{loss},");
        }
        if let Some(r) = &self.eval {
            for e in &r.evals {
                for (name, c) in &e.curves {
                    for (i, (m, s)) in c.mean.iter().zip(&c.stderr).enumerate() {
                        let k = e.k.get(i).copied().unwrap_or(i);
                        let _ = writeln!(out, "icl,{},{},{k},{m},{s}", field(&e.name), field(name));
                    }
                }
            }
            if let Some(t) = &r.tokens {
                for (i, (m, s)) in t.loss.mean.iter().zip(&t.loss.stderr).enumerate() {
                    let _ = writeln!(out, "token_loss,tokens,model,{i},{m},{s}");
                }
            }
        }
        for (step, metrics) in &self.history {
            for (name, v) in metrics {
                let _ = writeln!(
                    out,
                    "metric,history,{},{step},{v},",
                    field(&name.to_string())
                );
            }
        }
        if let Some(s) = &self.sweep {
            for (i, p) in s.points.iter().enumerate() {
                for (name, v) in &p.metrics {
                    let _ = writeln!(
                        out,
                        "sweep,{},{},{i},{v},",
                        field(&s.path),
                        field(&name.to_string())
                    );
                }
            }
        }
        out
    }
}

/// What an import brought: the runs, and what could not be read (named).
#[derive(Debug, Default, PartialEq)]
pub struct Imported {
    pub runs: Vec<RunRecord>,
    pub problems: Vec<String>,
    /// What else was recognised and deliberately not imported (a SLURM sweep's
    /// plan, configs and logs).
    pub notes: Vec<String>,
}

/// Reads whatever the user picked: run directories of `icl-lab train` (grouped by
/// folder; a folder of a sweep gives every run and its summary), `summary.json`
/// files of `icl-lab sweep` or the sweep panel, and runs exported by the page.
pub fn import_files(files: Vec<ImportFile>, saved_ms: f64) -> Imported {
    // SLURM sweep directories (`icl-lab sweep --slurm`): their plan, configs, logs
    // and job script are the cluster's; their runs and summary.json are imported.
    let slurm_roots: Vec<String> = files
        .iter()
        .filter(|f| {
            f.path == crate::slurm::PLAN_FILE
                || f.path.ends_with(&format!("/{}", crate::slurm::PLAN_FILE))
        })
        .filter(|f| {
            serde_json::from_slice::<serde_json::Value>(&f.bytes)
                .ok()
                .is_some_and(|v| v["kind"] == crate::slurm::PLAN_KIND)
        })
        .map(|f| f.path[..f.path.len() - crate::slurm::PLAN_FILE.len()].to_string())
        .collect();
    let slurm_file = |path: &str| {
        slurm_roots.iter().any(|root| {
            path.strip_prefix(root.as_str()).is_some_and(|rest| {
                rest == crate::slurm::PLAN_FILE
                    || rest == crate::slurm::SCRIPT_FILE
                    || rest.starts_with("configs/")
                    || rest.starts_with("logs/")
            })
        })
    };
    let notes: Vec<String> = slurm_roots
        .iter()
        .map(|root| {
            let name = root.trim_end_matches('/');
            let name = if name.is_empty() { "the chosen folder" } else { name };
            let summary = format!("{root}summary.json");
            if files.iter().any(|f| f.path == summary) {
                format!("{name}: a SLURM sweep; its runs and summary.json were read (its plan, configs and logs stay with the cluster)")
            } else {
                format!("{name}: a SLURM sweep without summary.json; run `icl-lab sweep collect {name}` first to see its threshold curve")
            }
        })
        .collect();
    let files: Vec<ImportFile> = files.into_iter().filter(|f| !slurm_file(&f.path)).collect();
    let mut folders: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut loose = Vec::new();
    for f in files {
        let (folder, name) = match f.path.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n.to_string()),
            None => (String::new(), f.path.clone()),
        };
        // A run directory's files (`algorithms.json` among them, unread).
        if crate::RUN_FILES.contains(&name.as_str()) {
            folders.entry(folder).or_default().insert(name, f.bytes);
        } else {
            loose.push(f);
        }
    }
    let mut out = Imported {
        notes,
        ..Imported::default()
    };
    for (folder, files) in folders {
        if !files.contains_key("config.json") {
            // Not a run directory: its JSON files may still be exports.
            for (name, bytes) in files {
                let path = if folder.is_empty() {
                    name
                } else {
                    format!("{folder}/{name}")
                };
                loose.push(ImportFile { path, bytes });
            }
            continue;
        }
        match RunRecord::from_cli_files(&folder, &files, saved_ms) {
            Ok(r) => out.runs.push(r),
            Err(e) => out.problems.push(format!(
                "{}: {e}",
                if folder.is_empty() {
                    "the run files"
                } else {
                    &folder
                }
            )),
        }
    }
    for f in loose {
        let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
        if !name.ends_with(".json") {
            if !name.starts_with('.') && !name.ends_with(".tmp") {
                out.problems.push(format!(
                    "{}: not a file the lab reads (run folders of `icl-lab train`, summary.json, exported runs)",
                    f.path
                ));
            }
            continue;
        }
        let Ok(text) = String::from_utf8(f.bytes) else {
            out.problems.push(format!("{}: not UTF-8 text", f.path));
            continue;
        };
        let kind = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(String::from));
        let result = match kind.as_deref() {
            Some(SUMMARY_KIND) => SweepSummary::from_json(&text).map(|s| {
                let folder = f.path.rsplit_once('/').map_or("sweep", |(d, _)| d);
                RunRecord::from_sweep(s, folder.rsplit('/').next().unwrap_or(folder), saved_ms)
            }),
            Some(RUN_KIND) => RunRecord::from_json(&text),
            // eval_*.json and algorithms.json from `icl-lab eval`: part of a run folder.
            _ if name.starts_with("eval_") || name == "algorithms.json" => continue,
            _ => Err(format!(
                "not an icl-lab run or sweep summary (no `kind` of `{RUN_KIND}` or `{SUMMARY_KIND}`)"
            )),
        };
        match result {
            Ok(r) => out.runs.push(r),
            Err(e) => out.problems.push(format!("{}: {e}", f.path)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Curve, EvalCurves};
    use crate::metric::Metric;

    fn report(step: usize, err: f64) -> EvalReport {
        EvalReport {
            dims: 5,
            step,
            evals: vec![EvalCurves {
                name: "fresh".into(),
                x_dist: "gaussian".into(),
                k: vec![0, 1, 2],
                curves: [(
                    "model".to_string(),
                    Curve {
                        mean: vec![1.0, 0.7, err],
                        stderr: vec![0.1, 0.1, 0.1],
                    },
                )]
                .into(),
                distance: Default::default(),
            }],
            ..EvalReport::default()
        }
    }

    fn cli_dir(exp: &Experiment, steps_done: usize, optimizer: bool) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        files.insert("config.json".into(), exp.to_json_pretty().into_bytes());
        files.insert(
            "metrics.jsonl".into(),
            b"{\"step\":1,\"loss\":2.5,\"lr\":0.001}\n{\"step\":2,\"loss\":\"NaN\"}\n{\"step\":3,\"loss\":1.5}\n"
                .to_vec(),
        );
        let history = [report(0, 0.9), report(steps_done, 0.4)]
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        files.insert("eval_history.jsonl".into(), history.into_bytes());
        files.insert(
            "checkpoint.json".into(),
            serde_json::to_vec(&CheckpointState {
                step: steps_done,
                rng_position: "12345678901234567890123".into(),
                diverged: None,
            })
            .unwrap(),
        );
        files.insert("model.bin".into(), vec![1, 2, 3, 250]);
        if optimizer {
            files.insert("optimizer.bin".into(), vec![9, 8]);
        }
        files
    }

    #[test]
    fn a_cli_run_directory_becomes_a_run_with_its_curves_and_checkpoint() {
        let exp = crate::presets::preset("icl-in-a-minute").unwrap();
        let mut files = cli_dir(&exp, exp.train.steps, true);
        files.insert(
            "eval.json".into(),
            serde_json::to_vec(&report(exp.train.steps, 0.3)).unwrap(),
        );
        let r = RunRecord::from_cli_files("runs/minute", &files, 5.0).unwrap();
        assert_eq!(r.experiment, exp);
        assert_eq!(r.name, "minute (icl-in-a-minute)");
        assert_eq!(r.origin, Origin::Cli);
        assert_eq!(r.status, RunStatus::Finished);
        assert_eq!(
            r.losses,
            vec![(1, 2.5), (3, 1.5)],
            "the NaN line is skipped"
        );
        assert_eq!(r.history.len(), 2);
        assert_eq!(r.history[1].1[&Metric::error("fresh")], 0.4);
        assert_eq!(r.eval.as_ref().unwrap().step, exp.train.steps);
        let c = r.checkpoint.as_ref().unwrap();
        assert_eq!(c.model_bytes().unwrap(), vec![1, 2, 3, 250]);
        let back = c.to_checkpoint().unwrap();
        assert_eq!(back.rng_position, 12345678901234567890123u128);
        assert_eq!(back.optimizer, vec![9, 8]);
        // Imported twice: the same id, so the second replaces the first.
        let again = RunRecord::from_cli_files("runs/minute", &files, 6.0).unwrap();
        assert_eq!(again.id, r.id);
    }

    #[test]
    fn a_cli_run_stopped_part_way_resumes_from_its_weights() {
        let exp = crate::presets::preset("icl-in-a-minute").unwrap();
        let r = RunRecord::from_cli_files("a", &cli_dir(&exp, 100, true), 0.0).unwrap();
        assert_eq!(
            (r.status, r.step, r.resumable()),
            (RunStatus::Paused, 100, true)
        );
        // Without optimizer.bin: resumable in the browser (fresh Adam), not exactly.
        let r = RunRecord::from_cli_files("a", &cli_dir(&exp, 100, false), 0.0).unwrap();
        assert_eq!((r.status, r.resumable()), (RunStatus::Paused, true));
        let c = r.checkpoint.unwrap();
        let e = c.to_checkpoint().unwrap_err();
        assert!(e.contains("optimizer.bin"), "{e}");
        let w = c.weights_checkpoint().unwrap();
        assert_eq!((w.step, w.model.len(), w.optimizer.len()), (100, 4, 0));
        // Diverged: not resumable.
        let mut files = cli_dir(&exp, 100, true);
        files.insert(
            "checkpoint.json".into(),
            br#"{"step":100,"rng_position":"1","diverged":"loss NaN at step 101"}"#.to_vec(),
        );
        let r = RunRecord::from_cli_files("a", &files, 0.0).unwrap();
        assert_eq!((r.status, r.resumable()), (RunStatus::Stopped, false));
    }

    #[test]
    fn bad_run_files_are_named() {
        let exp = Experiment::default();
        let mut files = cli_dir(&exp, 10, true);
        files.insert("config.json".into(), b"{\"task\":{\"dims\":0}}".to_vec());
        let e = RunRecord::from_cli_files("x", &files, 0.0).unwrap_err();
        assert!(
            e.starts_with("config.json") && e.contains("task.dims"),
            "{e}"
        );
        let mut files = cli_dir(&exp, 10, true);
        files.insert("eval_history.jsonl".into(), b"{}\n{broken".to_vec());
        let e = RunRecord::from_cli_files("x", &files, 0.0).unwrap_err();
        assert!(e.starts_with("eval_history.jsonl line 1"), "{e}");
        files.remove("config.json");
        let imported = import_files(
            files
                .into_iter()
                .map(|(n, bytes)| ImportFile {
                    path: format!("dir/{n}"),
                    bytes,
                })
                .chain([ImportFile {
                    path: "notes.txt".into(),
                    bytes: b"hi".to_vec(),
                }])
                .collect(),
            0.0,
        );
        assert!(imported.runs.is_empty());
        assert!(
            imported.problems.iter().any(|p| p.starts_with("notes.txt")),
            "{:?}",
            imported.problems
        );
    }

    #[test]
    fn an_import_groups_folders_and_reads_sweeps_and_exported_runs() {
        let exp = Experiment::default();
        let mut files = Vec::new();
        for dir in ["sweep/v1", "sweep/v2"] {
            for (n, bytes) in cli_dir(&exp, 10, true) {
                files.push(ImportFile {
                    path: format!("{dir}/{n}"),
                    bytes,
                });
            }
        }
        let spec = crate::sweep::SweepSpec::parse("seed=1,2").unwrap();
        let summary = SweepSummary::new(&spec, &exp);
        files.push(ImportFile {
            path: "sweep/summary.json".into(),
            bytes: serde_json::to_vec(&summary).unwrap(),
        });
        let exported = RunRecord::from_cli_files("v1", &cli_dir(&exp, 10, true), 1.0).unwrap();
        files.push(ImportFile {
            path: "exported.json".into(),
            bytes: exported.to_json().into_bytes(),
        });
        files.push(ImportFile {
            path: "other.json".into(),
            bytes: b"{\"kind\":\"something else\"}".to_vec(),
        });
        let got = import_files(files, 2.0);
        let origins: Vec<Origin> = got.runs.iter().map(|r| r.origin).collect();
        assert_eq!(
            origins,
            [Origin::Cli, Origin::Cli, Origin::Sweep, Origin::Cli],
            "{:?}",
            got.problems
        );
        assert_ne!(got.runs[0].id, got.runs[1].id, "two folders, two runs");
        assert_eq!(got.runs[2].sweep.as_ref().unwrap().path, "seed");
        assert_eq!(got.runs[3], exported, "an exported run reads back exactly");
        assert_eq!(got.problems.len(), 1);
        assert!(got.problems[0].contains("other.json"), "{:?}", got.problems);
    }

    #[test]
    fn a_slurm_sweep_folder_imports_its_runs_and_summary_and_names_the_rest() {
        let exp = Experiment::default();
        let spec = crate::sweep::SweepSpec::parse("task.pool=2,8")
            .unwrap()
            .with_seeds(2)
            .unwrap();
        let tasks = spec.tasks(&exp).unwrap();
        let plan = crate::slurm::SlurmPlan::new(&spec, &exp, &tasks, "cpu", Vec::new());
        let file = |path: &str, bytes: Vec<u8>| ImportFile {
            path: path.into(),
            bytes,
        };
        let mut files = vec![
            file("c/sweep.json", serde_json::to_vec(&plan).unwrap()),
            file("c/sweep.sbatch", plan.script("icl-lab").into_bytes()),
            file("c/logs/0.log", b"== task 0\n".to_vec()),
        ];
        for t in &plan.tasks {
            files.push(file(
                &format!("c/{}", t.config()),
                exp.to_json_pretty().into_bytes(),
            ));
        }
        // Two finished runs.
        for t in &plan.tasks[..2] {
            for (n, bytes) in cli_dir(&exp, 10, true) {
                files.push(file(&format!("c/{}/{n}", t.run()), bytes));
            }
        }
        let got = import_files(files.clone(), 0.0);
        assert!(got.problems.is_empty(), "{:?}", got.problems);
        assert_eq!(got.runs.len(), 2);
        assert!(
            got.notes[0].contains("without summary.json") && got.notes[0].contains("collect c"),
            "{:?}",
            got.notes
        );
        // Collected: the summary comes too, with its seeds.
        let mut summary = SweepSummary::new(&spec, &exp);
        summary.unfinished.push(crate::sweep::Unfinished {
            task: 3,
            value: 8.into(),
            seed: 1,
            run: plan.tasks[3].run(),
            log: plan.tasks[3].log(),
            state: "not started".into(),
            failed: false,
        });
        files.push(file(
            "c/summary.json",
            serde_json::to_vec(&summary).unwrap(),
        ));
        let got = import_files(files, 0.0);
        assert!(got.problems.is_empty(), "{:?}", got.problems);
        assert_eq!(got.runs.len(), 3);
        let sweep = got.runs[2].sweep.as_ref().unwrap();
        assert_eq!((sweep.seeds, sweep.unfinished.len()), (2, 1));
        assert!(got.notes[0].contains("its runs and summary.json were read"));
    }

    #[test]
    fn curves_csv_has_every_series_and_parses_back() {
        let exp = Experiment::default();
        let mut r = RunRecord::from_cli_files("v", &cli_dir(&exp, 10, true), 0.0).unwrap();
        r.history[0].1.insert(Metric::Other("odd,name".into()), 1.0);
        let csv = r.curves_csv();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[0], "series,set,name,x,mean,stderr");
        assert_eq!(rows[1], "loss,train,loss,1,2.5,");
        assert!(rows.contains(&"icl,fresh,model,2,0.4,0.1"), "{csv}");
        assert!(rows.contains(&"metric,history,\"odd,name\",0,1,"), "{csv}");
        // Every row has six fields (quoted commas aside).
        for row in &rows {
            let unquoted: String = row.split('"').step_by(2).collect();
            assert_eq!(unquoted.matches(',').count(), 5, "{row}");
        }
    }

    #[test]
    fn snapshots_are_thinned_evenly_keeping_the_last() {
        let all: Vec<(usize, u8)> = (0..40).map(|i| (i * 50, 0)).collect();
        let kept = thin_snapshots(&all, 16);
        assert_eq!(kept.len(), 16);
        assert_eq!(kept[0].0, 0);
        assert_eq!(kept.last().unwrap().0, 39 * 50);
        assert_eq!(thin_snapshots(&all[..3], 16).len(), 3);
    }
}
