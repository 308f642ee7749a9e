//! A sweep as a SLURM job array: `icl-lab sweep … --slurm DIR` writes a directory
//! that describes itself, `sbatch` runs it, `icl-lab sweep collect DIR` reads back
//! whatever has finished.
//!
//! ```text
//! DIR/sweep.json           the plan: the sweep, the base experiment, one entry per task
//! DIR/sweep.sbatch         the job array (#SBATCH --array=0-(n-1)); submit from DIR
//! DIR/configs/NAME.json    each task's experiment (value × seed), for `icl-lab train --config`
//! DIR/runs/NAME/           each task's run directory (written by the task)
//! DIR/logs/TASK.log        each task's SLURM output, appended to on every (re)submission
//! DIR/summary.json         written by `icl-lab sweep collect`
//! ```
//!
//! A task whose run has a checkpoint resumes from it (`icl-lab train --resume`), so a
//! cancelled, pre-empted or timed-out task is simply submitted again
//! (`sbatch --array=3 sweep.sbatch`); a finished one does nothing.
//!
//! Everything here is plain data and text; reading a directory back is native only.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Experiment;
use crate::sweep::{SweepSpec, SweepTask, value_label};

/// Marks `sweep.json` (the page and `collect` check it).
pub const PLAN_KIND: &str = "icl-lab slurm sweep";
/// The plan's file name in a SLURM sweep directory.
pub const PLAN_FILE: &str = "sweep.json";
/// The job script's file name.
pub const SCRIPT_FILE: &str = "sweep.sbatch";
/// The line a task's log gets when SLURM stops it (scancel, time limit, pre-emption).
pub const STOPPED_LINE: &str = "== stopped by SIGTERM";
/// The first words of a task's last log line: its exit status.
pub const EXIT_LINE: &str = "== exit status";
/// The first words of the line each (re)start of a task writes.
pub const START_LINE: &str = "== task";

/// `sweep.json`: what a SLURM sweep directory holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlurmPlan {
    pub kind: String,
    /// The field, its values and the seeds per value.
    pub sweep: SweepSpec,
    /// The experiment every task starts from (before the varied field and seed).
    pub base: Experiment,
    /// `cpu` or `wgpu`: what each task passes to `--backend`.
    pub backend: String,
    /// The #SBATCH options given (partition, time, …), as written in the script.
    pub sbatch: Vec<String>,
    /// One entry per array index, in order.
    pub tasks: Vec<PlannedTask>,
}

/// One array task: a value with one seed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlannedTask {
    /// The SLURM array index.
    pub task: usize,
    pub value: Value,
    pub seed: u64,
    /// The task's name: `configs/NAME.json`, `runs/NAME/`.
    pub name: String,
}

impl PlannedTask {
    pub fn config(&self) -> String {
        format!("configs/{}.json", self.name)
    }
    pub fn run(&self) -> String {
        format!("runs/{}", self.name)
    }
    pub fn log(&self) -> String {
        format!("logs/{}.log", self.task)
    }
}

/// Options that go through to `#SBATCH` lines, each checked before anything is
/// written (a typo here would otherwise surface as a rejected job on the cluster).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SbatchOptions {
    pub partition: Option<String>,
    /// `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM` or `D-HH:MM:SS`.
    pub time: Option<String>,
    /// Memory per node: a number with an optional K, M, G or T (`4G`).
    pub mem: Option<String>,
    pub cpus_per_task: Option<u32>,
    /// Generic resources, e.g. `gpu:1` or `gpu:a100:2`.
    pub gres: Option<String>,
    /// Further options as given, e.g. `--account=lab` or `--qos=short`.
    pub extra: Vec<String>,
}

/// Why a SLURM sweep could not be written, read or collected.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("--{option} {value}: {why}")]
    Option {
        option: &'static str,
        value: String,
        why: String,
    },
    #[error("{0}")]
    Plan(String),
}

fn bad(option: &'static str, value: &str, why: &str) -> SlurmError {
    SlurmError::Option {
        option,
        value: value.into(),
        why: why.into(),
    }
}

/// Most CPUs per task accepted (a typo guard; SLURM checks the partition's own).
pub const MAX_CPUS_PER_TASK: u32 = 1024;

impl SbatchOptions {
    /// The `#SBATCH` options, checked: each names its option and what is allowed.
    pub fn lines(&self) -> Result<Vec<String>, SlurmError> {
        let mut out = Vec::new();
        if let Some(p) = &self.partition {
            if p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.,".contains(c))
            {
                return Err(bad(
                    "partition",
                    p,
                    "a partition name (letters, digits, - _ . and commas between names)",
                ));
            }
            out.push(format!("--partition={p}"));
        }
        if let Some(t) = &self.time {
            if !valid_time(t) {
                return Err(bad(
                    "time",
                    t,
                    "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (e.g. 2:00:00 or 1-12:00:00)",
                ));
            }
            out.push(format!("--time={t}"));
        }
        if let Some(m) = &self.mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T']);
            let ok = !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && m.len() - digits.len() <= 1
                && digits.parse::<u64>().is_ok_and(|n| n > 0);
            if !ok {
                return Err(bad(
                    "mem",
                    m,
                    "memory per node: a positive whole number with an optional unit K, M, G or T (e.g. 4G)",
                ));
            }
            out.push(format!("--mem={m}"));
        }
        if let Some(c) = self.cpus_per_task {
            if c == 0 || c > MAX_CPUS_PER_TASK {
                return Err(bad(
                    "cpus-per-task",
                    &c.to_string(),
                    &format!("from 1 to {MAX_CPUS_PER_TASK}"),
                ));
            }
            out.push(format!("--cpus-per-task={c}"));
        }
        if let Some(g) = &self.gres {
            let parts: Vec<&str> = g.split(':').collect();
            let ok = (1..=3).contains(&parts.len())
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                })
                && parts[0].starts_with(|c: char| c.is_ascii_alphabetic())
                && match parts.last() {
                    // NAME:TYPE:COUNT needs a count; a count is never 0.
                    Some(last) if last.chars().all(|c| c.is_ascii_digit()) => {
                        parts.len() > 1 && last.parse::<u32>().is_ok_and(|n| n > 0)
                    }
                    _ => parts.len() < 3,
                };
            if !ok {
                return Err(bad(
                    "gres",
                    g,
                    "NAME[:TYPE][:COUNT], e.g. gpu:1 or gpu:a100:2",
                ));
            }
            out.push(format!("--gres={g}"));
        }
        for e in &self.extra {
            let ok = e.starts_with("--")
                && e.len() > 2
                && !e.contains(['\n', '\r', '#'])
                && !e.starts_with("--array")
                && !e.starts_with("--output")
                && !e.starts_with("--open-mode");
            if !ok {
                return Err(bad(
                    "sbatch",
                    e,
                    "one long sbatch option on one line, e.g. --account=lab or --qos=short (not --array, --output or --open-mode: the script sets them)",
                ));
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    /// Whether the tasks ask for a GPU (they then train with `--backend wgpu`).
    pub fn wants_gpu(&self) -> bool {
        self.gres.as_deref().is_some_and(|g| g.starts_with("gpu"))
    }
}

/// SLURM's time formats: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
fn valid_time(t: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    if days.is_some_and(|d| !num(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    if !parts.iter().all(|p| num(p)) {
        return false;
    }
    let total_zero = days.is_none_or(|d| d.trim_start_matches('0').is_empty())
        && parts.iter().all(|p| p.trim_start_matches('0').is_empty());
    if total_zero {
        return false;
    }
    (1..=3).contains(&parts.len())
}

/// A run's name: its index (zero-padded to `digits`), the value and (with several
/// seeds) the seed, in characters safe in any file system.
pub fn task_name(
    index: usize,
    digits: usize,
    path: &str,
    value: &Value,
    seed: Option<u64>,
) -> String {
    let mut name = format!("{index:0digits$}-{path}={}", value_label(value));
    if let Some(s) = seed {
        name.push_str(&format!("-seed{s}"));
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl SlurmPlan {
    pub fn new(
        spec: &SweepSpec,
        base: &Experiment,
        tasks: &[SweepTask],
        backend: &str,
        sbatch: Vec<String>,
    ) -> Self {
        let tasks = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| PlannedTask {
                task: i,
                value: t.value.clone(),
                seed: t.seed,
                name: task_name(
                    i,
                    3,
                    &spec.path,
                    &t.value,
                    (spec.seeds > 1).then_some(t.seed),
                ),
            })
            .collect();
        Self {
            kind: PLAN_KIND.into(),
            sweep: spec.clone(),
            base: base.clone(),
            backend: backend.into(),
            sbatch,
            tasks,
        }
    }

    /// Reads `sweep.json`, saying what is wrong with a file that is not one.
    pub fn from_json(text: &str) -> Result<Self, SlurmError> {
        let plan: SlurmPlan = serde_json::from_str(text)
            .map_err(|e| SlurmError::Plan(format!("not an icl-lab SLURM sweep plan: {e}")))?;
        if plan.kind != PLAN_KIND {
            return Err(SlurmError::Plan(format!(
                "not an icl-lab SLURM sweep plan: kind is `{}`, expected `{PLAN_KIND}`",
                plan.kind
            )));
        }
        for (i, t) in plan.tasks.iter().enumerate() {
            let safe = !t.name.is_empty()
                && !t.name.starts_with('.')
                && t.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.=".contains(c));
            if t.task != i || !safe {
                return Err(SlurmError::Plan(format!(
                    "sweep.json: task {i} is `{}` (index {}); the tasks must be numbered 0, 1, … with plain names",
                    t.name, t.task
                )));
            }
        }
        Ok(plan)
    }

    /// The job script. `icl_lab` is the binary the tasks run unless `$ICL_LAB` says
    /// otherwise (the path of the binary that wrote the script).
    pub fn script(&self, icl_lab: &str) -> String {
        let n = self.tasks.len();
        let s = &self.sweep;
        let values: Vec<String> = s.values.iter().map(value_label).collect();
        let mut out = String::new();
        out.push_str("#!/bin/bash\n");
        out.push_str(&format!(
            "# icl-lab sweep: {} = {}{} ({n} runs), written by `icl-lab sweep --slurm`.\n",
            s.path,
            values.join(", "),
            if s.seeds > 1 {
                format!(", {} seeds each", s.seeds)
            } else {
                String::new()
            }
        ));
        out.push_str(
            "#\n\
             # Submit from this directory:   sbatch sweep.sbatch\n\
             # Submit some tasks again:      sbatch --array=3,5 sweep.sbatch\n\
             #   (a task with a checkpoint resumes from it; a finished one does nothing)\n\
             # Results so far:               icl-lab sweep collect .\n\
             # Another binary:               ICL_LAB=/path/to/icl-lab sbatch sweep.sbatch\n\
             #\n",
        );
        out.push_str("#SBATCH --job-name=icl-lab-sweep\n");
        out.push_str(&format!("#SBATCH --array=0-{}\n", n.saturating_sub(1)));
        // One log per task, kept across resubmissions (each start writes a header).
        out.push_str("#SBATCH --output=logs/%a.log\n");
        out.push_str("#SBATCH --open-mode=append\n");
        // A pre-empted task goes back in the queue and resumes from its checkpoint.
        out.push_str("#SBATCH --requeue\n");
        for line in &self.sbatch {
            out.push_str(&format!("#SBATCH {line}\n"));
        }
        out.push_str(&format!(
            r#"
set -u
if [ ! -f {PLAN_FILE} ] || [ ! -d configs ]; then
  echo "icl-lab sweep: submit from the sweep directory (cd DIR && sbatch {SCRIPT_FILE})" >&2
  exit 2
fi
ICL_LAB="${{ICL_LAB:-{icl_lab}}}"
names=(
"#
        ));
        for t in &self.tasks {
            out.push_str(&format!("  {}\n", t.name));
        }
        out.push_str(&format!(
            r#")
task="${{SLURM_ARRAY_TASK_ID:?run this script with sbatch}}"
name="${{names[$task]}}"
run="runs/$name"
echo "{START_LINE} $task ($name): job ${{SLURM_JOB_ID:-?}} on $(hostname) at $(date -u +%FT%TZ)"
# SLURM sends SIGTERM before it stops a task (scancel, time limit, pre-emption):
# icl-lab writes a checkpoint and exits; this line says why in the log.
trap 'echo "{STOPPED_LINE}: resubmit this task to resume from its checkpoint"' TERM
# The CPU backend's threads: the CPUs SLURM gave the task (one unless --cpus-per-task).
export RAYON_NUM_THREADS="${{RAYON_NUM_THREADS:-${{SLURM_CPUS_PER_TASK:-1}}}}"
mkdir -p runs
if [ -f "$run/eval.json" ]; then
  echo "== already finished: $run"
  exit 0
elif [ -f "$run/checkpoint.json" ]; then
  "$ICL_LAB" train --resume "$run" --backend {backend} &
else
  "$ICL_LAB" train --config "configs/$name.json" --out "$run" --force --backend {backend} &
fi
# Waiting on a background child lets the trap run as soon as the signal comes; the
# second wait collects the child's own status once it has written its checkpoint.
child=$!
wait "$child"
status=$?
if kill -0 "$child" 2>/dev/null; then
  wait "$child"
  status=$?
fi
echo "{EXIT_LINE} $status at $(date -u +%FT%TZ)"
exit "$status"
"#,
            backend = self.backend
        ));
        out
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::{collect, write};

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::checkpoint::CheckpointState;
    use crate::eval::EvalReport;
    use crate::sweep::{SweepPoint, SweepSummary, Unfinished, final_metrics};

    fn io(what: &str, path: &Path, e: std::io::Error) -> SlurmError {
        SlurmError::Plan(format!("cannot {what} {}: {e}", path.display()))
    }

    /// Writes the sweep directory: plan, one config per task, the script, and the
    /// empty `logs/` that SLURM writes into (it does not create it). Refuses a
    /// directory that holds files unless `force`, and then only replaces its own.
    pub fn write(
        dir: &Path,
        plan: &SlurmPlan,
        configs: &[Experiment],
        icl_lab: &str,
        force: bool,
    ) -> Result<(), SlurmError> {
        if dir.exists() {
            if !dir.is_dir() {
                return Err(SlurmError::Plan(format!(
                    "--slurm {} exists and is not a directory",
                    dir.display()
                )));
            }
            let non_empty = fs::read_dir(dir)
                .map_err(|e| io("read", dir, e))?
                .next()
                .is_some();
            if non_empty && !force {
                return Err(SlurmError::Plan(format!(
                    "--slurm {} already holds files; choose a new directory or pass --force (runs/ and logs/ are kept)",
                    dir.display()
                )));
            }
            // --force: the old plan's configs go; runs and logs stay (a run of the
            // same name resumes or is already finished).
            let old = dir.join("configs");
            if old.is_dir() {
                fs::remove_dir_all(&old).map_err(|e| io("remove", &old, e))?;
            }
        }
        for sub in ["configs", "logs", "runs"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(|e| io("create", &d, e))?;
        }
        for (t, exp) in plan.tasks.iter().zip(configs) {
            let path = dir.join(t.config());
            fs::write(&path, exp.to_json_pretty()).map_err(|e| io("write", &path, e))?;
        }
        let path = dir.join(PLAN_FILE);
        let text = serde_json::to_string_pretty(plan).expect("a plan serialises");
        fs::write(&path, text).map_err(|e| io("write", &path, e))?;
        let path = dir.join(SCRIPT_FILE);
        fs::write(&path, plan.script(icl_lab)).map_err(|e| io("write", &path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
        }
        Ok(())
    }

    /// The summary of whatever has finished in a SLURM sweep directory, and each
    /// task with no result, said in words with its log. Reads only; the caller
    /// writes `summary.json`. The same files give the same summary, so it can be
    /// run at any time, while the array runs too.
    pub fn collect(dir: &Path) -> Result<SweepSummary, SlurmError> {
        let path = dir.join(PLAN_FILE);
        let text = fs::read_to_string(&path).map_err(|e| {
            SlurmError::Plan(format!(
                "{}: {e} (a directory written by `icl-lab sweep --slurm`)",
                path.display()
            ))
        })?;
        let plan = SlurmPlan::from_json(&text)?;
        let mut summary = SweepSummary::new(&plan.sweep, &plan.base);
        for t in &plan.tasks {
            let run = dir.join(t.run());
            let eval = fs::read_to_string(run.join("eval.json"))
                .ok()
                .map(|text| serde_json::from_str::<EvalReport>(&text));
            match eval {
                Some(Ok(report)) => summary.points.push(SweepPoint {
                    value: t.value.clone(),
                    seed: (plan.sweep.seeds > 1).then_some(t.seed),
                    step: report.step,
                    metrics: final_metrics(&report),
                    run: Some(t.run()),
                }),
                Some(Err(e)) => summary.unfinished.push(unfinished(
                    t,
                    format!("eval.json is not readable: {e}"),
                    true,
                )),
                None => {
                    let (state, failed) = task_state(dir, t, plan.base.train.steps);
                    summary.unfinished.push(unfinished(t, state, failed));
                }
            }
        }
        Ok(summary)
    }

    fn unfinished(t: &PlannedTask, state: String, failed: bool) -> Unfinished {
        Unfinished {
            task: t.task,
            value: t.value.clone(),
            seed: t.seed,
            run: t.run(),
            log: t.log(),
            state,
            failed,
        }
    }

    /// What a task with no result is doing, from its run's checkpoint and its log:
    /// (words, whether it failed).
    fn task_state(dir: &Path, t: &PlannedTask, planned_steps: usize) -> (String, bool) {
        let run = dir.join(t.run());
        let checkpoint = fs::read(run.join("checkpoint.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<CheckpointState>(&b).ok());
        let steps = fs::read_to_string(dir.join(t.config()))
            .ok()
            .and_then(|text| Experiment::from_json(&text).ok())
            .map_or(planned_steps, |e| e.train.steps);
        if let Some(why) = checkpoint.as_ref().and_then(|c| c.diverged.clone()) {
            return (format!("diverged: {why}"), true);
        }
        let at = checkpoint.map_or_else(
            || "no checkpoint yet".to_string(),
            |c| format!("checkpoint at step {} of {steps}", c.step),
        );
        let log = fs::read_to_string(dir.join(t.log())).unwrap_or_default();
        // Only what the latest start of the task wrote.
        let last = log.rfind(START_LINE).map_or("", |i| &log[i..]);
        if last.is_empty() {
            return ("not started".into(), false);
        }
        if last.contains(STOPPED_LINE) {
            return (
                format!(
                    "stopped by SLURM (cancelled, time limit or pre-empted), {at}; resubmit to resume"
                ),
                false,
            );
        }
        if let Some(line) = last.lines().find(|l| l.starts_with(EXIT_LINE)) {
            let status = line
                .trim_start_matches(EXIT_LINE)
                .split_whitespace()
                .next()
                .unwrap_or("?");
            let error = last
                .lines()
                .rfind(|l| l.starts_with("error:"))
                .map(|l| format!(": {}", l.trim_start_matches("error:").trim()))
                .unwrap_or_default();
            return (format!("failed (exit status {status}){error}; {at}"), true);
        }
        (format!("running, or killed without a word; {at}"), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seeds: usize) -> (SlurmPlan, Vec<Experiment>) {
        let spec = SweepSpec::parse("task.pool=2,8,null")
            .unwrap()
            .with_seeds(seeds)
            .unwrap();
        let base = Experiment::default();
        let tasks = spec.tasks(&base).unwrap();
        let configs = tasks.iter().map(|t| t.experiment.clone()).collect();
        (
            SlurmPlan::new(&spec, &base, &tasks, "cpu", vec!["--time=10".into()]),
            configs,
        )
    }

    #[test]
    fn a_plan_numbers_its_tasks_value_by_value_and_round_trips() {
        let (p, configs) = plan(2);
        assert_eq!(p.tasks.len(), 6);
        assert_eq!(p.tasks[3].name, "003-task.pool=8-seed1");
        assert_eq!(p.tasks[4].name, "004-task.pool=null-seed0");
        assert_eq!(configs[3].task.pool, Some(8));
        assert_eq!(configs[3].seed, 1);
        let back = SlurmPlan::from_json(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let one = plan(1).0;
        assert_eq!(one.tasks[1].name, "001-task.pool=8");
        let e = SlurmPlan::from_json(r#"{"kind":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an icl-lab SLURM sweep plan"), "{e}");
        // A name that would leave the directory is refused.
        let mut bad = p.clone();
        bad.tasks[0].name = "../x".into();
        let e = SlurmPlan::from_json(&serde_json::to_string(&bad).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain names"), "{e}");
    }

    #[test]
    fn the_script_runs_each_task_once_and_resumes_a_checkpoint() {
        let (p, _) = plan(2);
        let s = p.script("/opt/icl-lab");
        assert!(s.contains("#SBATCH --array=0-5\n"), "{s}");
        assert!(s.contains("#SBATCH --time=10\n"));
        assert!(s.contains("#SBATCH --output=logs/%a.log\n"));
        assert!(s.contains("ICL_LAB=\"${ICL_LAB:-/opt/icl-lab}\""));
        assert!(s.contains("  005-task.pool=null-seed1\n"));
        assert!(s.contains("train --resume \"$run\" --backend cpu"));
        assert!(s.contains(
            "train --config \"configs/$name.json\" --out \"$run\" --force --backend cpu"
        ));
    }

    #[test]
    fn sbatch_options_are_checked_and_named() {
        let ok = SbatchOptions {
            partition: Some("gpu,debug".into()),
            time: Some("1-12:00:00".into()),
            mem: Some("4G".into()),
            cpus_per_task: Some(4),
            gres: Some("gpu:a100:2".into()),
            extra: vec!["--account=lab".into()],
        };
        assert_eq!(
            ok.lines().unwrap(),
            vec![
                "--partition=gpu,debug",
                "--time=1-12:00:00",
                "--mem=4G",
                "--cpus-per-task=4",
                "--gres=gpu:a100:2",
                "--account=lab"
            ]
        );
        assert!(ok.wants_gpu());
        for t in ["30", "30:00", "2:00:00", "1-0", "1-12:30"] {
            assert!(valid_time(t), "{t}");
        }
        for (opts, needle) in [
            (
                SbatchOptions {
                    time: Some("2h".into()),
                    ..Default::default()
                },
                "--time 2h: MM, MM:SS",
            ),
            (
                SbatchOptions {
                    time: Some("0:00".into()),
                    ..Default::default()
                },
                "--time 0:00",
            ),
            (
                SbatchOptions {
                    mem: Some("4GB".into()),
                    ..Default::default()
                },
                "--mem 4GB: memory per node",
            ),
            (
                SbatchOptions {
                    cpus_per_task: Some(0),
                    ..Default::default()
                },
                "--cpus-per-task 0: from 1 to 1024",
            ),
            (
                SbatchOptions {
                    gres: Some("gpu:0".into()),
                    ..Default::default()
                },
                "--gres gpu:0",
            ),
            (
                SbatchOptions {
                    partition: Some("a b".into()),
                    ..Default::default()
                },
                "--partition a b",
            ),
            (
                SbatchOptions {
                    extra: vec!["--array=1-3".into()],
                    ..Default::default()
                },
                "not --array",
            ),
            (
                SbatchOptions {
                    extra: vec!["--comment=a\n#SBATCH --x".into()],
                    ..Default::default()
                },
                "one long sbatch option on one line",
            ),
        ] {
            let e = opts.lines().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn collect_reads_finished_runs_and_says_what_the_others_are_doing() {
        use crate::checkpoint::CheckpointState;
        use crate::eval::{Curve, EvalCurves, EvalReport};
        let dir = tempfile::tempdir().unwrap();
        let (p, configs) = plan(2);
        write(dir.path(), &p, &configs, "/opt/icl-lab", false).unwrap();
        // Writing again over it is refused without --force.
        let e = write(dir.path(), &p, &configs, "/opt/icl-lab", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--force"), "{e}");
        let report = |err: f64| EvalReport {
            dims: 5,
            step: 500,
            evals: vec![EvalCurves {
                name: "fresh".into(),
                x_dist: "gaussian".into(),
                k: vec![0, 1],
                curves: [(
                    "model".to_string(),
                    Curve {
                        mean: vec![1.0, err],
                        stderr: vec![0.1, 0.1],
                    },
                )]
                .into(),
                distance: Default::default(),
            }],
            ..EvalReport::default()
        };
        let put = |task: usize, file: &str, text: String| {
            let path = if file.ends_with(".log") {
                dir.path().join(p.tasks[task].log())
            } else {
                let run = dir.path().join(p.tasks[task].run());
                std::fs::create_dir_all(&run).unwrap();
                run.join(file)
            };
            std::fs::write(path, text).unwrap();
        };
        let checkpoint = |step: usize, diverged: Option<&str>| {
            serde_json::to_string(&CheckpointState {
                step,
                rng_position: "0".into(),
                diverged: diverged.map(String::from),
            })
            .unwrap()
        };
        // Tasks 0 and 1 finished (pool 2, seeds 0 and 1).
        for (t, err) in [(0, 0.2), (1, 0.4)] {
            put(t, "eval.json", serde_json::to_string(&report(err)).unwrap());
        }
        // 2 was stopped by SLURM at step 300; 3 failed; 4 diverged; 5 never started.
        put(2, "checkpoint.json", checkpoint(300, None));
        put(
            2,
            "2.log",
            format!("{START_LINE} 2 (x): job 7\n{STOPPED_LINE}: resubmit\n{EXIT_LINE} 1 at now\n"),
        );
        put(
            3,
            "3.log",
            format!("{START_LINE} 3 (x): job 8\nerror: out of memory\n{EXIT_LINE} 1 at now\n"),
        );
        put(4, "checkpoint.json", checkpoint(40, Some("loss is NaN")));
        let s = collect(dir.path()).unwrap();
        assert_eq!(s.points.len(), 2);
        assert_eq!(s.seeds, 2);
        assert_eq!(s.points[1].seed, Some(1));
        assert_eq!(
            s.points[1].run.as_deref(),
            Some("runs/001-task.pool=2-seed1")
        );
        let a = s.aggregate(&crate::metric::Metric::error("fresh"));
        assert_eq!(a.len(), 1);
        assert!((a[0].mean - 0.3).abs() < 1e-12);
        assert!((a[0].stderr.unwrap() - 0.1).abs() < 1e-12, "{:?}", a[0]);
        let states: Vec<(usize, &str, bool)> = s
            .unfinished
            .iter()
            .map(|u| (u.task, u.state.as_str(), u.failed))
            .collect();
        assert_eq!(states.len(), 4, "{states:?}");
        assert!(states[0].1.starts_with("stopped by SLURM") && states[0].1.contains("step 300 of"));
        assert!(!states[0].2);
        assert!(
            states[1]
                .1
                .starts_with("failed (exit status 1): out of memory"),
            "{states:?}"
        );
        assert!(states[1].2);
        assert!(states[2].1.starts_with("diverged: loss is NaN") && states[2].2);
        assert_eq!((states[3].1, states[3].2), ("not started", false));
        assert_eq!(s.unfinished[1].log, "logs/3.log");
        // Collecting is reading: the same files give the same summary.
        assert_eq!(collect(dir.path()).unwrap(), s);
        // A restart after a failure is judged by its own lines.
        put(
            3,
            "3.log",
            format!("{START_LINE} 3: job 8\nerror: x\n{EXIT_LINE} 1\n{START_LINE} 3: job 9\n"),
        );
        let s = collect(dir.path()).unwrap();
        assert!(
            s.unfinished[1].state.starts_with("running"),
            "{:?}",
            s.unfinished[1]
        );
    }
}
