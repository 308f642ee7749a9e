//! `icl-lab`: the native command line. Trains, re-evaluates, benchmarks and lists
//! presets. All I/O, clocks and progress bars live here, not in the core.
//! (`src/main.rs` includes it only natively.)

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use burn::tensor::Device;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use icl_lab::checkpoint::{CheckpointState, model_from_bytes};
use icl_lab::config::{ConfigError, Experiment};
use icl_lab::eval::{EvalPlan, EvalReport, EvalSet, LENS_STEPS, eval_prompts, evaluate};
use icl_lab::lens::algorithms::{AlgorithmMatch, References, implicit_weights};
use icl_lab::metric::Metric;
use icl_lab::predict::model_function;
use icl_lab::presets::PRESETS;
use icl_lab::probes::Probe;
use icl_lab::seeds::task_source;
use icl_lab::sweep::{SweepPoint, SweepSpec, SweepSummary, final_metrics, value_label};
use icl_lab::train::Trainer;
use icl_lab::xdist::XDistConfig;

/// Keeps freed tensor buffers for reuse instead of handing them back to the OS.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "icl-lab",
    version,
    about = "Watch in-context learning happen: train tiny transformers on in-context regression and compare them with classical algorithms."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum Backend {
    /// burn's flex backend (pure-Rust CPU).
    Cpu,
    /// burn's wgpu backend (Vulkan, Metal or DX12; a software adapter works too).
    Wgpu,
}

/// What `train` and `sweep` share: the base experiment, where to write, the backend.
#[derive(clap::Args)]
struct RunArgs {
    /// Start from a named preset (`icl-lab presets` lists them).
    #[arg(
        long,
        conflicts_with = "config",
        required_unless_present_any = ["config", "resume"]
    )]
    preset: Option<String>,
    /// Start from a JSON config file (missing fields take their defaults).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override one field, e.g. --set task.dims=8 --set model.attention=linear.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Run directory (a sweep's: one sub-directory per run); created, and refused
    /// if it already holds files (see --force). Needed unless --resume (train) or
    /// --slurm (sweep).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Backend,
    /// Write into an existing, non-empty directory, replacing its files.
    #[arg(long)]
    force: bool,
    /// `train` only: go on with the run in DIR from its checkpoint (a run stopped by
    /// --until, pre-empted or killed), to the end of its config's train.steps. The
    /// result is the same as an uninterrupted run's.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["preset", "config", "sets", "out", "force"])]
    resume: Option<PathBuf>,
    /// `train` only: stop at this step with a checkpoint, before the end (a job with
    /// a time limit); --resume goes on from there.
    #[arg(long, value_name = "STEP")]
    until: Option<usize>,
}

/// `icl-lab eval`: a trained run evaluated again (another x-distribution, more
/// prompts, ablated heads).
#[derive(clap::Args)]
struct EvalArgs {
    /// A run directory written by `icl-lab train`.
    #[arg(long)]
    run: PathBuf,
    /// Input distribution: gaussian, skewed, half-subspace, quadrants or scaled:C.
    #[arg(long)]
    x_dist: Option<String>,
    /// Override an evaluation field, e.g. --set eval.y_scale=2 --set eval.prompts=512.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    sets: Vec<String>,
    /// Write the prompts and every predictor's predictions to this JSON file.
    #[arg(long)]
    dump_prompts: Option<PathBuf>,
    /// Where to write the report (default: RUN/eval_<x-dist>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "cpu")]
    backend: Backend,
    /// Also compare the model with least squares, ridge, GD-t and Newton-t by its
    /// implicit weights on fresh tasks (up to T = 3); writes RUN/algorithms.json.
    #[arg(long)]
    algorithms: bool,
    /// Ablate a head before evaluating: L2H1 zeroes layer 2's head 1, L2H1:mean
    /// gives it its mean attention pattern (repeat for several heads).
    #[arg(long, value_name = "L<layer>H<head>[:mean]")]
    ablate: Vec<icl_lab::ablation::HeadAblation>,
}

/// `sweep --slurm DIR`: the sweep as a SLURM job array, written and not run.
#[derive(clap::Args)]
struct SlurmArgs {
    /// Write the sweep as a SLURM job array into DIR instead of running it: the
    /// plan (sweep.json), one config per run, and sweep.sbatch (one array task per
    /// value × seed). Then `cd DIR && sbatch sweep.sbatch`, and
    /// `icl-lab sweep collect DIR`.
    // (Not `conflicts_with = "out"`: clap then waives `requires = "slurm"` of the
    // options below when --out is given; the two are refused together in sweep().)
    #[arg(long, value_name = "DIR")]
    slurm: Option<PathBuf>,
    /// #SBATCH --partition.
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// #SBATCH --time: each task's limit (e.g. 2:00:00); a task stopped by it
    /// resumes from its checkpoint when submitted again.
    #[arg(long, requires = "slurm", value_name = "TIME")]
    time: Option<String>,
    /// #SBATCH --mem: memory per node (e.g. 4G).
    #[arg(long, requires = "slurm")]
    mem: Option<String>,
    /// #SBATCH --cpus-per-task.
    #[arg(long, requires = "slurm", value_name = "N")]
    cpus_per_task: Option<u32>,
    /// #SBATCH --gres, e.g. gpu:1; a GPU makes the tasks train with --backend wgpu.
    #[arg(long, requires = "slurm")]
    gres: Option<String>,
    /// Any other sbatch option, as one #SBATCH line (repeatable): --sbatch=--account=lab.
    #[arg(
        long = "sbatch",
        requires = "slurm",
        value_name = "OPTION",
        allow_hyphen_values = true
    )]
    sbatch: Vec<String>,
}

#[derive(Subcommand)]
enum SweepAction {
    /// Write DIR/summary.json from the runs of a SLURM sweep (--slurm DIR) that have
    /// finished, and list the tasks that failed or have not finished, with their
    /// logs. Only reads the runs: run it as often as you like, while the array runs too.
    Collect {
        /// A directory written by `icl-lab sweep --slurm DIR`.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Train a model and write config.json, metrics.jsonl, eval.json and a checkpoint to --out.
    Train {
        #[command(flatten)]
        run: RunArgs,
    },
    /// One run per value of one field; writes a run directory per value and
    /// summary.json (the final metrics against the value) to --out.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sweep {
        #[command(subcommand)]
        action: Option<SweepAction>,
        #[command(flatten)]
        run: RunArgs,
        /// The field and its values: task.pool=2,8,32 · task.pool=2^1..2^15 ·
        /// task.family.p_bursty=0,0.5,1 · model.layers=1..4. Without it, the
        /// preset's own sweep (depth-gd-to-newton, task-diversity-threshold,
        /// regression-vs-classification).
        #[arg(long, value_name = "PATH=V1,V2,…")]
        vary: Option<String>,
        /// Runs per value, seeded SEED, SEED+1, … (SEED: the experiment's seed); the
        /// summary gives each value's mean ± standard error across them.
        #[arg(long, value_name = "N", default_value_t = 1)]
        seeds: usize,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Re-evaluate a trained run, optionally out of distribution.
    Eval(EvalArgs),
    /// Measure training steps per second; prints one JSON line.
    Bench {
        #[arg(long, default_value = "garg-tiny")]
        preset: String,
        #[arg(long, default_value_t = 100)]
        steps: usize,
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: Backend,
        /// Instead of steps/s: train the preset from scratch, evaluate every
        /// --every steps, and report the seconds until the model's error at the last
        /// position falls below half of the averaging baseline's (regression presets).
        #[arg(long)]
        time_to_icl: bool,
        /// With --time-to-icl: evaluate every this many steps (the browser's default
        /// lesson evaluates every 50).
        #[arg(long, default_value_t = 50)]
        every: usize,
    },
    /// List the presets, one line each.
    Presets,
    /// Run the lab's claims (claims/claims.toml: the numbers the preset summaries
    /// and lessons quote), check each against its tolerance, and with --write record
    /// them in claims/results.json and the results page docs/results/README.md.
    /// Exits with failure when a claim fails.
    Reproduce {
        /// Presets or claim ids to run; none: the short claims (what CI runs).
        names: Vec<String>,
        /// Every claim, the long ones too (hours on a 2-core CPU).
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Record the measurements: claims/results.json (merged: claims not run keep
        /// their last result), docs/results/README.md and one SVG per run.
        #[arg(long)]
        write: bool,
        /// The repository whose claims/ and docs/results/ are read and written.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: Backend,
    },
}

/// Set by SIGTERM or the first Ctrl-C: the run writes a checkpoint and stops.
static STOP: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::OnceLock::new();

/// Whether a stop was asked for (SIGTERM or Ctrl-C).
fn stop_asked() -> bool {
    STOP.get()
        .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
}

/// SIGTERM (what SLURM sends before it stops a task: scancel, a time limit,
/// pre-emption) and Ctrl-C set [`STOP`]; a second Ctrl-C ends the process at once.
fn catch_stop_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = STOP.get_or_init(Default::default).clone();
    // Conditional first: it fires only when the flag is already set.
    let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, flag.clone());
    let _ = signal_hook::flag::register(SIGINT, flag.clone());
    let _ = signal_hook::flag::register(SIGTERM, flag);
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    catch_stop_signals();
    let result = match cli.command {
        Command::Train { run } => train(run),
        Command::Sweep {
            action: Some(SweepAction::Collect { dir }),
            ..
        } => collect(&dir),
        Command::Sweep {
            action: None,
            run,
            vary,
            seeds,
            slurm,
        } => sweep(run, vary, seeds, slurm),
        Command::Eval(args) => eval(args),
        Command::Bench {
            preset,
            backend,
            time_to_icl: true,
            every,
            ..
        } => time_to_icl(&preset, every, backend),
        Command::Bench {
            preset,
            steps,
            warmup,
            backend,
            ..
        } => bench(&preset, steps, warmup, backend),
        Command::Presets => {
            let width = PRESETS.iter().map(|p| p.name.len()).max().unwrap_or(0);
            for p in PRESETS {
                let summary = icl_lab::claims::render(p.summary);
                match p.sweep {
                    Some(v) => println!("{:width$}  {summary} (sweep: {v})", p.name),
                    None => println!("{:width$}  {summary}", p.name),
                }
            }
            Ok(())
        }
        Command::Reproduce {
            names,
            all,
            write,
            root,
            backend,
        } => reproduce(&names, all, write, &root, backend),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `icl-lab reproduce`: see [`icl_lab::reproduce`].
fn reproduce(
    names: &[String],
    all: bool,
    write: bool,
    root: &Path,
    backend: Backend,
) -> Result<()> {
    use icl_lab::claims;
    use icl_lab::reproduce as rep;
    // The repository's table when there is one (so an edited claim is what runs),
    // else the one this binary was built with.
    let table_path = root.join("claims/claims.toml");
    let results_path = root.join("claims/results.json");
    let (table, sizes) = match fs::read_to_string(&table_path) {
        Ok(text) => (claims::parse_table(&text)?, claims::parse_figures(&text)?),
        Err(_) if !write => (claims::table(), claims::figures()),
        Err(e) => return Err(anyhow!("--write needs {}: {e}", table_path.display())),
    };
    let old = match fs::read_to_string(&results_path) {
        Ok(text) => claims::parse_results(&text)?,
        Err(_) => claims::results(),
    };
    let selected = rep::select(&table, names, all).map_err(|e| anyhow!(e))?;
    let dev = device(backend)?;
    let groups = rep::runs(&selected);
    let mut outcomes = Vec::new();
    let mut bad = 0;
    for (i, g) in groups.iter().enumerate() {
        let exp = g.experiment().map_err(|e| anyhow!(e))?;
        let bar = ProgressBar::new(exp.train.steps as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} steps, {elapsed}, ETA {eta}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("run {}/{} {}", i + 1, groups.len(), g.label()));
        let o = rep::run_group(g, &dev, |step, _| bar.set_position(step as u64));
        bar.finish_and_clear();
        // A run that fails (a divergence, say) fails its claims, not the runs after
        // it: the rest are still measured and written.
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                for c in &g.claims {
                    println!("{}", rep::report_line(c, &Err(e.clone())));
                    bad += 1;
                }
                continue;
            }
        };
        for (c, m) in &o.measured {
            println!("{}", rep::report_line(c, m));
            // A value of a threshold's sweep may fail its check: that is the sweep.
            let failed = match m {
                Ok(m) => !m.passed && !rep::is_sweep_point(c),
                Err(_) => true,
            };
            bad += usize::from(failed);
        }
        outcomes.push(o);
    }
    let thresholds = rep::thresholds(&selected, &outcomes);
    for (c, m) in &thresholds {
        println!("{}", rep::report_line(c, m));
        bad += usize::from(!matches!(m, Ok(m) if m.passed));
    }
    if write {
        let results = rep::merge(&old, &outcomes, &thresholds, &table);
        let dir = root.join("docs/results");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut figures: Vec<String> = Vec::new();
        // Figures of earlier runs stay (their runs were not repeated).
        for g in rep::groups(&table) {
            let label = g.label();
            // A run stopped before the end (only early-step claims) keeps the
            // figure of the last complete run.
            let fresh = outcomes
                .iter()
                .find(|o| o.group.label() == label && o.complete);
            let title = format!("{label}: error against in-context examples");
            let svg = fresh.and_then(|o| icl_lab::figure::icl_curve_svg(&o.last, "fresh", &title));
            let path = dir.join(format!("{label}.svg"));
            if let Some(svg) = svg {
                fs::write(&path, svg)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if path.exists() {
                figures.push(label.clone());
            }
            // Runs with out-of-distribution sets (eval.ood): Garg's panels too.
            let ood = format!("{label}-ood");
            let path = dir.join(format!("{ood}.svg"));
            let title = format!("{label}: the model and least squares on other inputs");
            if let Some(svg) = fresh.and_then(|o| icl_lab::figure::ood_svg(&o.last, &title)) {
                fs::write(&path, svg)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if path.exists() {
                figures.push(ood);
            }
        }
        // Figures across runs (a metric against size), from the merged results.
        for f in &sizes {
            let path = dir.join(format!("{}.svg", f.id));
            if let Some(svg) = icl_lab::figure::size_svg(&f.title, &f.y, &f.points(&results)) {
                fs::write(&path, svg)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if path.exists() {
                figures.push(f.id.clone());
            }
        }
        write_json(&results_path, &results)?;
        let page = dir.join("README.md");
        fs::write(&page, rep::results_page(&table, &sizes, &results, &figures))
            .with_context(|| format!("cannot write {}", page.display()))?;
        eprintln!("wrote {}, {}", results_path.display(), page.display());
    }
    let n: usize = outcomes
        .iter()
        .flat_map(|o| &o.measured)
        .filter(|(c, _)| !rep::is_sweep_point(c))
        .count()
        + thresholds.len();
    if bad > 0 {
        return Err(anyhow!(
            "{bad} of {n} claims failed or could not be measured"
        ));
    }
    eprintln!("{n} claims pass");
    Ok(())
}

fn device(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        Backend::Wgpu => {
            quiet_wayland_probe();
            wgpu_device()
        }
    }
}

/// On a Linux machine without a desktop session, the Vulkan driver's Wayland probe
/// prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." (four
/// times, on a run that succeeds). Given a private empty directory instead, it finds
/// no display, quietly. Called before the device is made, while the CLI runs on one
/// thread (the training threads start later), so setting the variable is sound.
fn quiet_wayland_probe() {
    let current = std::env::var_os("XDG_RUNTIME_DIR");
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let Some(dir) = runtime_dir_for(current.as_deref(), &std::env::temp_dir(), &user) else {
        return;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let made = fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)));
        if made.is_ok() {
            // SAFETY: no other thread exists yet to read the environment (see above).
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
}

/// The directory to give as XDG_RUNTIME_DIR: none when the current one is a
/// directory; else a private one under `temp` for `user`.
fn runtime_dir_for(current: Option<&std::ffi::OsStr>, temp: &Path, user: &str) -> Option<PathBuf> {
    match current {
        Some(d) if Path::new(d).is_dir() => None,
        _ => {
            let safe: String = user
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            Some(temp.join(format!("icl-lab-runtime-{safe}")))
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    // Touch the device once so a missing adapter is reported here, in one line.
    // (quietly: the panic of a missing adapter becomes the one line below)
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = std::panic::catch_unwind(|| {
        let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        t.sum().into_scalar::<f32>()
    });
    std::panic::set_hook(hook);
    match probe {
        Ok(3.0) => Ok(device),
        Ok(v) => Err(anyhow!(
            "the wgpu backend computed 1 + 2 = {v}; its adapter is not usable"
        )),
        Err(_) => Err(anyhow!(
            "no usable wgpu adapter (Vulkan, Metal or DX12) was found; use --backend cpu, or \
             install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers)"
        )),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device> {
    Err(anyhow!(
        "this icl-lab was built without the `wgpu` feature; use --backend cpu"
    ))
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Cpu => "cpu (flex)",
        Backend::Wgpu => "wgpu",
    }
}

/// The experiment of --preset or --config with the --set overrides, sized for this
/// machine.
fn load_experiment(
    preset_name: Option<String>,
    config: Option<PathBuf>,
    sets: &[String],
) -> Result<Experiment> {
    let exp = read_experiment(preset_name, config, sets)?;
    fits_here(&exp)?;
    Ok(exp)
}

/// The experiment of --preset or --config with the --set overrides, validated but
/// not sized (a SLURM sweep runs on the cluster's nodes, not here).
fn read_experiment(
    preset_name: Option<String>,
    config: Option<PathBuf>,
    sets: &[String],
) -> Result<Experiment> {
    let base = match (preset_name, config) {
        (Some(name), _) => preset(&name)?,
        (None, Some(path)) => {
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            Experiment::from_json(&text).with_context(|| format!("{}", path.display()))?
        }
        (None, None) => unreachable!("clap requires --preset or --config"),
    };
    base.with_overrides(sets).map_err(cli_words)
}

/// Refuses, before anything is allocated or written, a run this machine's memory
/// cannot hold (the estimate of `icl_lab::memory`, against what is free now),
/// naming the field to lower.
fn fits_here(exp: &Experiment) -> Result<()> {
    icl_lab::memory::check(exp, &icl_lab::memory::native_budget(available_memory()))
        .map_err(cli_words)
}

/// Bytes of memory free now (Linux's MemAvailable); 16 GiB where it cannot be read.
fn available_memory() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map_or(16 << 30, |kb| kb.saturating_mul(1024))
}

/// A preset by name (an unknown name in the CLI's words).
fn preset(name: &str) -> Result<Experiment> {
    icl_lab::presets::preset(name).map_err(cli_words)
}

/// The core's config errors in the CLI's words: its flags and commands.
fn cli_words(e: ConfigError) -> anyhow::Error {
    match e {
        ConfigError::Set { .. } => anyhow!("--set {e}"),
        ConfigError::UnknownPreset(_) => anyhow!("{e}; `icl-lab presets` lists them"),
        other => other.into(),
    }
}

/// Creates the run directory, refusing to mix a new run into an old one.
fn prepare_out_dir(out: &Path, force: bool) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(anyhow!(
                "--out {} exists and is not a directory",
                out.display()
            ));
        }
        let non_empty = fs::read_dir(out)
            .with_context(|| format!("cannot read {}", out.display()))?
            .next()
            .is_some();
        if non_empty && !force {
            return Err(anyhow!(
                "--out {} already holds files; choose a new directory or pass --force to replace them",
                out.display()
            ));
        }
        if non_empty {
            // --force: clear the previous run's files so the two runs cannot mix;
            // anything else in the directory is left alone. Every one is checked
            // first, so a file that cannot go (a directory by that name, say)
            // stops the run before any of the old run is deleted.
            let mut old = Vec::new();
            for entry in fs::read_dir(out)?.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let ours = icl_lab::RUN_FILES.contains(&name.as_str())
                    || (name.starts_with("eval_") && name.ends_with(".json"));
                if !ours {
                    continue;
                }
                let kind = entry
                    .file_type()
                    .with_context(|| format!("cannot read {}", entry.path().display()))?;
                if !kind.is_file() {
                    return Err(anyhow!(
                        "--force would replace {}, which is not a file; nothing was removed (move it away first)",
                        entry.path().display()
                    ));
                }
                old.push(entry.path());
            }
            for path in old {
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    Ok(())
}

/// `sweep --force` over an older sweep: the run directories its summary.json lists
/// go (their run files checked first, as `train --force` does; a directory that
/// still holds something else is kept), so no old run sits beside the new summary.
fn clear_old_sweep(out: &Path) -> Result<()> {
    let Ok(text) = fs::read_to_string(out.join("summary.json")) else {
        return Ok(());
    };
    let Ok(old) = SweepSummary::from_json(&text) else {
        return Ok(());
    };
    for name in old.points.iter().filter_map(|p| p.run.as_deref()) {
        // A name from the file, not a path: nothing outside --out.
        if name.contains(['/', '\\']) || name.starts_with('.') {
            continue;
        }
        let dir = out.join(name);
        if dir.is_dir() {
            prepare_out_dir(&dir, true)?;
            let _ = fs::remove_dir(&dir);
        }
    }
    Ok(())
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    if path.is_dir() {
        return Err(anyhow!(
            "cannot write {}: it is a directory (give a file name)",
            path.display()
        ));
    }
    let text = serde_json::to_string_pretty(value)?;
    // Write then rename, so a reader never sees half a file; a failed rename
    // leaves no temporary file behind.
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

fn write_checkpoint(out: &Path, trainer: &Trainer, diverged: Option<String>) -> Result<()> {
    let checkpoint = trainer.checkpoint()?;
    let tmp = out.join("model.bin.tmp");
    fs::write(&tmp, &checkpoint.model).context("cannot write the checkpoint")?;
    fs::rename(&tmp, out.join("model.bin")).context("cannot write the checkpoint")?;
    fs::write(out.join("optimizer.bin"), &checkpoint.optimizer)
        .context("cannot write the optimizer state")?;
    write_json(
        &out.join("checkpoint.json"),
        &CheckpointState {
            step: checkpoint.step,
            rng_position: checkpoint.rng_position.to_string(),
            diverged,
        },
    )
}

fn train(args: RunArgs) -> Result<()> {
    if let Some(dir) = &args.resume {
        return resume(dir, args.backend, args.until);
    }
    let out = args.out.as_deref().ok_or_else(|| {
        anyhow!("--out DIR is needed: where the run is written (or --resume DIR)")
    })?;
    // Everything that can be wrong with the input is checked before DIR is touched.
    let exp = load_experiment(args.preset, args.config, &args.sets)?;
    if let Some(until) = args.until {
        check_until(until, 0, &exp)?;
    }
    let dev = device(args.backend)?;
    prepare_out_dir(out, args.force)?;
    if let Some(report) = run(&exp, &dev, args.backend, out, None, args.until)? {
        print_summary(&report);
    }
    Ok(())
}

/// `--until` must stop somewhere between the checkpoint and the end.
fn check_until(until: usize, from: usize, exp: &Experiment) -> Result<()> {
    if until <= from || until >= exp.train.steps {
        return Err(anyhow!(
            "--until {until}: must be after step {from} and before the end, step {} (train.steps)",
            exp.train.steps
        ));
    }
    Ok(())
}

/// `train --resume DIR`: the run's config and checkpoint, trained on to the end (or
/// to `until`). Steps logged after the checkpoint by the interrupted process are
/// dropped from metrics.jsonl and eval_history.jsonl: they are trained again.
fn resume(dir: &Path, backend: Backend, until: Option<usize>) -> Result<()> {
    let read = |name: &str| {
        fs::read(dir.join(name)).with_context(|| {
            format!(
                "--resume {}: cannot read {name} (a run directory written by `icl-lab train`)",
                dir.display()
            )
        })
    };
    let text = String::from_utf8(read("config.json")?).context("config.json is not UTF-8")?;
    let exp = Experiment::from_json(&text)
        .map_err(|e| anyhow!("--resume {}: config.json: {e}", dir.display()))?;
    let state: CheckpointState =
        serde_json::from_slice(&read("checkpoint.json")?).with_context(|| {
            format!(
                "--resume {}: checkpoint.json is not readable",
                dir.display()
            )
        })?;
    if let Some(why) = &state.diverged {
        return Err(anyhow!(
            "--resume {}: the run diverged ({why}); resuming would repeat it: change the config and train again",
            dir.display()
        ));
    }
    if state.step >= exp.train.steps {
        return Err(anyhow!(
            "--resume {}: the run finished (step {} of {}); nothing to resume",
            dir.display(),
            state.step,
            exp.train.steps
        ));
    }
    if let Some(until) = until {
        check_until(until, state.step, &exp)?;
    }
    let checkpoint = icl_lab::checkpoint::Checkpoint {
        step: state.step,
        rng_position: state
            .rng_position
            .parse()
            .with_context(|| format!("checkpoint.json: rng_position `{}`", state.rng_position))?,
        model: read("model.bin")?,
        optimizer: read("optimizer.bin")?,
    };
    for log in ["metrics.jsonl", "eval_history.jsonl"] {
        keep_steps_up_to(&dir.join(log), state.step)?;
    }
    eprintln!(
        "resuming {} at step {} of {}",
        dir.display(),
        state.step,
        exp.train.steps
    );
    let dev = device(backend)?;
    if let Some(report) = run(&exp, &dev, backend, dir, Some(checkpoint), until)? {
        print_summary(&report);
    }
    Ok(())
}

/// Drops the lines of a JSON-lines log whose `step` is after `step` (absent: nothing).
fn keep_steps_up_to(path: &Path, step: usize) -> Result<()> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["step"].as_u64())
                .is_some_and(|s| s as usize <= step)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(path, kept).with_context(|| format!("cannot rewrite {}", path.display()))
}

fn sweep(args: RunArgs, vary: Option<String>, seeds: usize, slurm: SlurmArgs) -> Result<()> {
    let RunArgs {
        preset: preset_name,
        config,
        sets,
        out,
        mut backend,
        force,
        resume,
        until,
    } = args;
    if resume.is_some() || until.is_some() {
        return Err(anyhow!(
            "--resume and --until are for one run: `icl-lab train --resume RUN_DIR`"
        ));
    }
    let sets = sets.as_slice();
    let own = preset_name
        .as_deref()
        .and_then(|name| PRESETS.iter().find(|p| p.name == name))
        .and_then(|p| p.sweep);
    let vary = match (vary, own) {
        (Some(v), _) => v,
        (None, Some(v)) => {
            eprintln!("sweeping the preset's own values: --vary {v}");
            v.to_string()
        }
        (None, None) => {
            return Err(anyhow!(
                "--vary is needed (PATH=V1,V2,…, e.g. model.layers=1..4): this base experiment has no sweep of its own"
            ));
        }
    };
    let base = if slurm.slurm.is_some() {
        read_experiment(preset_name, config, sets)?
    } else {
        load_experiment(preset_name, config, sets)?
    };
    let spec = SweepSpec::parse(&vary)
        .map_err(|e| anyhow!("--vary {e}"))?
        .with_seeds(seeds)
        .map_err(|e| anyhow!("--{e}"))?;
    // Every run is validated (and sized for this machine) before the first.
    let tasks = spec.tasks(&base)?;
    if let Some(dir) = &slurm.slurm {
        if out.is_some() {
            return Err(anyhow!(
                "--out and --slurm: choose one (--slurm DIR writes a job array into DIR; --out DIR runs the sweep here)"
            ));
        }
        let options = icl_lab::slurm::SbatchOptions {
            partition: slurm.partition,
            time: slurm.time,
            mem: slurm.mem,
            cpus_per_task: slurm.cpus_per_task,
            gres: slurm.gres,
            extra: slurm.sbatch,
        };
        let lines = options.lines()?;
        if options.wants_gpu() && backend != Backend::Wgpu {
            eprintln!("--gres asks for a GPU: the tasks train with --backend wgpu");
            backend = Backend::Wgpu;
        }
        // The backend as `--backend` spells it (clap's own name for the value).
        let flag = backend
            .to_possible_value()
            .expect("every backend has a name");
        let plan = icl_lab::slurm::SlurmPlan::new(&spec, &base, &tasks, flag.get_name(), lines);
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.canonicalize().ok())
            .map_or_else(|| "icl-lab".to_string(), |p| p.display().to_string());
        let configs: Vec<Experiment> = tasks.iter().map(|t| t.experiment.clone()).collect();
        icl_lab::slurm::write(dir, &plan, &configs, &exe, force)?;
        println!(
            "wrote a SLURM job array of {} runs to {}:\n  sweep.json     the plan (the sweep, the base experiment, each task)\n  configs/       one experiment per task\n  sweep.sbatch   the job array (#SBATCH --array=0-{})\nsubmit it:       cd {} && sbatch sweep.sbatch\ncollect results: icl-lab sweep collect {}",
            tasks.len(),
            dir.display(),
            tasks.len() - 1,
            dir.display(),
            dir.display()
        );
        return Ok(());
    }
    let out = out.ok_or_else(|| {
        anyhow!("--out DIR is needed: where the sweep's runs and summary.json are written (or --slurm DIR to write a job array)")
    })?;
    let out = out.as_path();
    for t in &tasks {
        fits_here(&t.experiment).with_context(|| format!("--vary {} = {}", spec.path, t.value))?;
    }
    let dev = device(backend)?;
    if out.exists() && !out.is_dir() {
        return Err(anyhow!(
            "--out {} exists and is not a directory; a sweep writes a directory of runs",
            out.display()
        ));
    }
    if out.exists() && !force && fs::read_dir(out)?.next().is_some() {
        return Err(anyhow!(
            "--out {} already holds files; choose a new directory or pass --force",
            out.display()
        ));
    }
    if force {
        clear_old_sweep(out)?;
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut summary = SweepSummary::new(&spec, &base);
    write_json(&out.join("summary.json"), &summary)?;
    let seeded = spec.seeds > 1;
    for (i, t) in tasks.iter().enumerate() {
        let label = value_label(&t.value);
        eprintln!(
            "run {}/{}: {} = {label}{}",
            i + 1,
            tasks.len(),
            spec.path,
            if seeded {
                format!(", seed {}", t.seed)
            } else {
                String::new()
            }
        );
        let name = icl_lab::slurm::task_name(i, 2, &spec.path, &t.value, seeded.then_some(t.seed));
        let dir = out.join(&name);
        prepare_out_dir(&dir, force)?;
        let report = run(&t.experiment, &dev, backend, &dir, None, None)?.expect("runs to the end");
        summary.points.push(SweepPoint {
            value: t.value.clone(),
            seed: seeded.then_some(t.seed),
            step: report.step,
            metrics: final_metrics(&report),
            run: Some(name),
        });
        // Rewritten after every run: a stopped sweep keeps its finished points.
        write_json(&out.join("summary.json"), &summary)?;
    }
    print_sweep(&summary);
    eprintln!("wrote {}", out.join("summary.json").display());
    Ok(())
}

/// `icl-lab sweep collect DIR`: summary.json of a SLURM sweep from its finished
/// runs; the others listed with their state and log. Fails (after writing the
/// summary) when a task failed, so a script notices.
fn collect(dir: &Path) -> Result<()> {
    let summary = icl_lab::slurm::collect(dir)?;
    write_json(&dir.join("summary.json"), &summary)?;
    if !summary.points.is_empty() {
        print_sweep(&summary);
    }
    let finished = summary.points.len();
    eprintln!(
        "{finished} of {} runs finished; wrote {}",
        summary.planned(),
        dir.join("summary.json").display()
    );
    for u in &summary.unfinished {
        eprintln!(
            "  task {} ({} = {}, seed {}): {} — log {}",
            u.task,
            summary.path,
            value_label(&u.value),
            u.seed,
            u.state,
            dir.join(&u.log).display()
        );
    }
    let failed: Vec<String> = summary
        .unfinished
        .iter()
        .filter(|u| u.failed)
        .map(|u| u.task.to_string())
        .collect();
    if !failed.is_empty() {
        return Err(anyhow!(
            "{} task(s) failed: {}; after a fix, submit them again with `sbatch --array={} sweep.sbatch`",
            failed.len(),
            failed.join(", "),
            failed.join(",")
        ));
    }
    Ok(())
}

/// The threshold table: the headline metrics against the varied value.
fn print_sweep(summary: &SweepSummary) {
    let metrics: Vec<Metric> = summary
        .metrics()
        .into_iter()
        .filter_map(|chart| match chart.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
        .filter(|m| match m {
            Metric::Probe(Probe::Icl | Probe::InWeights) => true,
            Metric::Error {
                set,
                predictor: None,
            } => set == "fresh" || set == "pool",
            Metric::LensCosine(a) => a == "least_squares" || a == "gd_1",
            Metric::LensGdSteps
            | Metric::LensNewtonIterations
            | Metric::LensGdMatch
            | Metric::LensNewtonMatch => true,
            Metric::Distance { baseline, .. } => baseline == "dmmse" || baseline == "ridge",
            _ => false,
        })
        .collect();
    // Each column as wide as its name, and at least 22 (a mean ± its error).
    let widths: Vec<usize> = metrics
        .iter()
        .map(|m| m.to_string().len().max(20) + 2)
        .collect();
    print!("{:>14}", summary.path.rsplit('.').next().unwrap_or(""));
    for (m, w) in metrics.iter().zip(&widths) {
        print!("{:>w$}", m.to_string());
    }
    println!();
    if summary.seeds > 1 {
        // Each value's mean ± standard error over its finished seeds.
        println!(
            "(mean ± standard error over {} seeds per value; n: finished seeds)",
            summary.seeds
        );
        let columns: Vec<Vec<icl_lab::sweep::Aggregate>> =
            metrics.iter().map(|m| summary.aggregate(m)).collect();
        for (row, a) in columns.first().into_iter().flatten().enumerate() {
            print!("{:>14}", value_label(&a.value));
            for (col, w) in columns.iter().zip(&widths) {
                let a = &col[row];
                let cell = match a.stderr {
                    Some(se) => format!("{:.4} ± {se:.4}", a.mean),
                    None => format!("{:.4}", a.mean),
                };
                print!("{cell:>w$}");
            }
            println!("  n={}", a.each.len());
        }
    } else {
        for p in &summary.points {
            print!("{:>14}", value_label(&p.value));
            for (m, w) in metrics.iter().zip(&widths) {
                print!("{:>w$.4}", p.metrics[m]);
            }
            println!();
        }
    }
    if summary.path == "model.layers" {
        // Fu 2023: about 3 Newton iterations per layer; GD would need exponentially many.
        for (metric, what) in [
            (Metric::LensNewtonIterations, "Newton iterations"),
            (Metric::LensGdSteps, "GD steps"),
        ] {
            if let Some((slope, _)) = summary.slope(&metric) {
                let most = match metric {
                    Metric::LensNewtonIterations => {
                        icl_lab::lens::algorithms::NEWTON_MAX_ITERATIONS
                    }
                    _ => *icl_lab::eval::LENS_STEPS.last().unwrap_or(&0),
                };
                println!(
                    "best-matching {what} per layer (least-squares slope): {slope:.2} (compared up to {most})"
                );
            }
        }
    }
}

/// Trains `exp` into the (prepared) run directory `out`; returns the final report.
/// Trains `exp` into `out` from the start or from `from` (its logs appended to), to
/// the end (the final report) or to step `until` (a checkpoint, `None`).
fn run(
    exp: &Experiment,
    dev: &Device,
    backend: Backend,
    out: &Path,
    from: Option<icl_lab::checkpoint::Checkpoint>,
    until: Option<usize>,
) -> Result<Option<EvalReport>> {
    let exp = exp.clone();
    let dev = dev.clone();
    write_json(&out.join("config.json"), &exp)?;

    let mut trainer = Trainer::new(&exp, &dev);
    let resumed = from.is_some();
    let first_step = from.as_ref().map_or(0, |c| c.step);
    if let Some(checkpoint) = from {
        trainer
            .resume(checkpoint)
            .map_err(|e| anyhow!("--resume {}: {e}", out.display()))?;
    }
    let log = |name: &str| -> Result<fs::File> {
        fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(out.join(name))
            .with_context(|| format!("cannot open {name}"))
    };
    let mut metrics = log("metrics.jsonl")?;
    // The ICL curve through training, when train.eval_every > 0.
    let mut history = match exp.train.eval_every {
        0 => None,
        _ => Some(log("eval_history.jsonl")?),
    };
    // The run's evaluation plan (prompts, baseline curves, lens references), made
    // once as the browser's worker makes it; each evaluation adds the model's answers.
    let plan = EvalPlan::new(&exp, &trainer.source).map_err(anyhow::Error::msg)?;
    let evaluate_now = |t: &Trainer| -> Result<EvalReport> {
        futures_lite::future::block_on(plan.evaluate(&t.model(), &dev, t.step))
            .map_err(anyhow::Error::msg)
    };

    let bar = ProgressBar::new(exp.train.steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ETA {eta} {msg}",
        )
        .expect("template"),
    );
    bar.set_position(trainer.step as u64);
    let start = Instant::now();
    while !trainer.done() {
        if stop_asked() {
            write_checkpoint(out, &trainer, None)?;
            bar.abandon();
            return Err(anyhow!(
                "stopped by a signal at step {} of {} with a checkpoint; go on with `icl-lab train --resume {}`",
                trainer.step,
                exp.train.steps,
                out.display()
            ));
        }
        if until == Some(trainer.step) {
            write_checkpoint(out, &trainer, None)?;
            bar.finish_and_clear();
            eprintln!(
                "stopped at step {} of {} with a checkpoint; go on with `icl-lab train --resume {}`",
                trainer.step,
                exp.train.steps,
                out.display()
            );
            return Ok(None);
        }
        let outcome = trainer.step();
        bar.set_position(outcome.step as u64);
        if let Some(loss) = outcome.loss {
            let loss: f32 = loss.into_scalar();
            let seconds = start.elapsed().as_secs_f64();
            let line = json!({
                "step": outcome.step,
                "loss": if loss.is_finite() { json!(loss) } else { json!(loss.to_string()) },
                "lr": outcome.lr,
                "seconds": seconds,
                "active_dims": outcome.active_dims,
                "points": outcome.points,
            });
            writeln!(metrics, "{line}")?;
            bar.set_message(format!("loss {loss:.4}"));
            if let Err(e) = trainer.record_loss(outcome.step, loss) {
                bar.abandon();
                write_checkpoint(out, &trainer, Some(e.to_string()))?;
                return Err(anyhow!(
                    "{e} The last good checkpoint is in {}.",
                    out.display()
                ));
            }
        }
        let every = exp.train.eval_every;
        if every > 0 && trainer.step.is_multiple_of(every) && !trainer.done() {
            let report = evaluate_now(&trainer)?;
            if let Some(file) = history.as_mut() {
                writeln!(file, "{}", serde_json::to_string(&report)?)?;
            }
            write_checkpoint(out, &trainer, None)?;
        }
    }
    bar.finish_with_message("evaluating…");
    let report = evaluate_now(&trainer)?;
    if let Some(file) = history.as_mut() {
        writeln!(file, "{}", serde_json::to_string(&report)?)?;
    }
    write_json(&out.join("eval.json"), &report)?;
    write_checkpoint(out, &trainer, None)?;
    bar.finish_and_clear();
    eprintln!(
        "trained {} steps of a {} ({} layers, width {}, {} parameters) on {} in {:.1} s; wrote {}",
        match first_step {
            0 => exp.train.steps.to_string(),
            s => format!("{}–{}", s + 1, exp.train.steps),
        },
        exp.model.kind.label(),
        exp.model.layers,
        exp.model.width,
        icl_lab::claims::thousands(exp.param_count()),
        backend_name(backend),
        start.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(Some(report))
}

/// A few columns of the ICL curve (or the probe table, or a token run's head
/// scores), for a person at a terminal.
fn print_summary(report: &EvalReport) {
    if let Some(t) = &report.tokens {
        let n = t.loss.mean.len();
        println!(
            "next-token loss {:.3} at the start, {:.3} at the end (uniform {:.3}); ICL score {:+.3}; \
             where the token occurred before {:.3}, new tokens {:.3}",
            t.loss.mean[0],
            t.loss.mean[n - 1],
            t.uniform_loss,
            t.icl_score,
            t.repeat_loss,
            t.new_loss
        );
    }
    if !report.heads.is_empty() {
        println!(
            "  {:6}{:>16}{:>16}{:>10}",
            "head", "prefix matching", "previous token", "copying"
        );
        for h in &report.heads {
            println!(
                "  {:6}{:>16.3}{:>16.3}{:>10}",
                h.label(),
                h.prefix_matching,
                h.previous_token,
                h.copying.map_or("–".into(), |c| format!("{c:.3}"))
            );
        }
    }
    if !report.probes.is_empty() {
        let names: Vec<&String> = report.probes[0].scores.keys().collect();
        print!("  {:16}", "accuracy");
        for n in &names {
            print!("{n:>16}");
        }
        println!("{:>10}", "chance");
        for p in &report.probes {
            print!("  {:16}", p.name);
            for n in &names {
                print!("{:>16.3}", p.scores[*n].mean);
            }
            println!("{:>10.3}", p.chance);
        }
    }
    for e in &report.evals {
        println!(
            "{} tasks, x ~ {} (normalised squared error by k):",
            e.name, e.x_dist
        );
        let n = e.k.len();
        let ks: Vec<usize> = [0, report.dims / 2, report.dims, n - 1]
            .into_iter()
            .filter(|k| *k < n)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        print!("  {:16}", "k");
        for k in &ks {
            print!("{k:>9}");
        }
        println!();
        for (name, c) in &e.curves {
            print!("  {name:16}");
            for k in &ks {
                print!("{:>9.4}", c.mean[*k]);
            }
            println!();
        }
    }
}

fn eval(args: EvalArgs) -> Result<()> {
    let EvalArgs {
        run,
        x_dist,
        sets,
        dump_prompts: dump,
        out,
        backend,
        algorithms,
        ablate,
    } = args;
    let (run, x_dist, sets, ablate) = (run.as_path(), x_dist.as_deref(), &sets, &ablate);
    let config_path = run.join("config.json");
    let text = fs::read_to_string(&config_path).with_context(|| {
        format!(
            "cannot read {} (is --run a directory written by `icl-lab train`?)",
            config_path.display()
        )
    })?;
    let exp = Experiment::from_json(&text)
        .with_context(|| format!("{}", config_path.display()))?
        .with_overrides(sets)
        .map_err(cli_words)?;
    let x = match x_dist {
        None => exp.x_dist,
        Some(name) => XDistConfig::parse_name(name).map_err(|e| anyhow!("--x-dist: {e}"))?,
    };
    let dev = device(backend)?;
    let bytes = fs::read(run.join("model.bin"))
        .with_context(|| format!("cannot read {}", run.join("model.bin").display()))?;
    let model = model_from_bytes(&exp, bytes, &dev)?;
    let bad = icl_lab::checkpoint::non_finite_parameters(&model);
    if bad > 0 {
        return Err(anyhow!(
            "{}: {bad} weight tensors hold NaN or ∞ (a corrupted file, or a run saved after it diverged)",
            run.join("model.bin").display()
        ));
    }
    let (layers, heads) = exp.model.attention_heads();
    for a in ablate {
        a.check(layers, heads)
            .map_err(|e| anyhow!("--ablate {e}"))?;
    }
    let model = model.ablated(ablate);
    // The step the weights are from: checkpoint.json, when the run has one; one
    // that is there but unreadable is an error (it once read as step 0).
    let checkpoint = run.join("checkpoint.json");
    let step = match fs::read_to_string(&checkpoint) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(anyhow!("cannot read {}: {e}", checkpoint.display())),
        Ok(text) => {
            serde_json::from_str::<CheckpointState>(&text)
                .map_err(|e| anyhow!("{} is not a checkpoint record: {e}", checkpoint.display()))?
                .step
        }
    };
    let source = task_source(&exp);
    let (mut report, dumps) =
        evaluate(&exp, &model, &dev, &source, Some(&x), step).map_err(anyhow::Error::msg)?;
    report.ablated = ablate.to_vec();
    let suffix: String = ablate.iter().map(|a| format!("_{}", a.label())).collect();
    let out = out
        .unwrap_or_else(|| run.join(format!("eval_{}{suffix}.json", x.name().replace(':', "_"))));
    write_json(&out, &report)?;
    if let Some(path) = dump {
        write_json(&path, &json!({ "dims": exp.task.dims, "evals": dumps }))?;
    }
    print_summary(&report);
    eprintln!("wrote {}", out.display());
    if algorithms {
        let m = algorithm_lens(&exp, &model, &dev, &source, &x)?;
        let path = run.join("algorithms.json");
        write_json(&path, &m)?;
        println!("best-matching algorithm by implicit weights (cosine):");
        for i in (0..m.k.len()).step_by((m.k.len() / 8).max(1)) {
            println!(
                "  k = {:3}: {:14} {:.3}",
                m.k[i], m.best[i], m.best_score[i]
            );
        }
        if let (Some(g), Some(n)) = (m.best_member("gd_", &[]), m.best_member("newton_", &[])) {
            println!(
                "over all k ≥ 2: closest GD is {g} (cosine {:.3}), closest Newton is {n} ({:.3}), least squares {:.3}",
                m.mean_cosine(&g).unwrap_or(f64::NAN),
                m.mean_cosine(&n).unwrap_or(f64::NAN),
                m.mean_cosine("least_squares").unwrap_or(f64::NAN)
            );
        }
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The algorithm lens on (at most 128) fresh evaluation prompts.
fn algorithm_lens(
    exp: &Experiment,
    model: &icl_lab::model::Transformer,
    dev: &Device,
    source: &icl_lab::tasks::TaskSource,
    x: &XDistConfig,
) -> Result<AlgorithmMatch> {
    let shape = exp.task.family.shape();
    if shape != icl_lab::tasks::Shape::Regression {
        return Err(anyhow!(
            "--algorithms compares regression algorithms; this run is {}",
            shape.name()
        ));
    }
    let mut prompts = eval_prompts(exp, source, EvalSet::Fresh, x);
    prompts.truncate(128);
    let mut f = model_function(model, dev);
    let w =
        implicit_weights(&prompts, exp.task.encoding, 1.0, &mut f).map_err(anyhow::Error::msg)?;
    let preds = f(&exp.task.encoding.encode(&prompts));
    Ok(
        References::new(&prompts, exp.task.family.prior_var(), &LENS_STEPS)
            .compare(Some(&w), &preds),
    )
}

fn bench(preset_name: &str, steps: usize, warmup: usize, backend: Backend) -> Result<()> {
    if steps == 0 {
        return Err(anyhow!("--steps must be at least 1"));
    }
    let mut exp = preset(preset_name)?;
    exp.train.steps = steps + warmup;
    exp.train.log_every = exp.train.steps; // one read, at the end
    let dev = device(backend)?;
    let mut trainer = Trainer::new(&exp, &dev);
    for _ in 0..warmup {
        trainer.step();
    }
    let _ = dev.sync();
    let start = Instant::now();
    let mut last = None;
    for _ in 0..steps {
        last = trainer.step().loss.or(last);
    }
    let loss: f32 = last.map(|l| l.into_scalar()).unwrap_or(f32::NAN);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "preset": preset_name,
            "backend": backend_name(backend),
            "steps": steps,
            "seconds": seconds,
            "steps_per_s": steps as f64 / seconds,
            "final_loss": loss,
        })
    );
    Ok(())
}

/// `bench --time-to-icl`: seconds from a fresh start until the model's error at the
/// last position is below half of averaging's, evaluated every `every` steps on the
/// preset's fresh evaluation prompts. The clock covers everything from pressing
/// Train: the model's initialisation, the evaluation plan (prompts and baseline
/// curves, built once), training and the evaluations; each part is reported too.
fn time_to_icl(preset_name: &str, every: usize, backend: Backend) -> Result<()> {
    if every == 0 {
        return Err(anyhow!("--every must be at least 1"));
    }
    let mut exp = preset(preset_name)?;
    let no_baseline = || {
        anyhow!(
            "time to ICL needs a regression preset with fresh tasks and the averaging baseline; {preset_name} has none"
        )
    };
    if exp.task.family.family().is_none() {
        return Err(no_baseline());
    }
    exp.train.log_every = exp.train.steps; // no loss reads on the way
    let dev = device(backend)?;
    let start = Instant::now();
    let mut trainer = Trainer::new(&exp, &dev);
    let plan = EvalPlan::new(&exp, &trainer.source).map_err(anyhow::Error::msg)?;
    let plan_s = start.elapsed().as_secs_f64();
    let (mut first_step_s, mut eval_s) = (None, 0.0);
    let (mut last, mut reached) = (None, false);
    while !trainer.done() {
        let out = trainer.step();
        if first_step_s.is_none() {
            let _: f32 = out.step_loss.into_scalar();
            first_step_s = Some(start.elapsed().as_secs_f64());
        }
        if !trainer.step.is_multiple_of(every) && !trainer.done() {
            continue;
        }
        let t = Instant::now();
        let model = trainer.model();
        let report = futures_lite::future::block_on(plan.evaluate(&model, &dev, trainer.step))
            .map_err(anyhow::Error::msg)?;
        eval_s += t.elapsed().as_secs_f64();
        let Some(beats) = report.beats_averaging() else {
            return Err(no_baseline());
        };
        let fresh = report.eval("fresh").expect("checked above");
        let at_last = |name: &str| fresh.curves[name].mean.last().copied();
        last = Some((at_last("model"), at_last("averaging")));
        if beats {
            reached = true;
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let (model, averaging) = last.expect("at least one evaluation");
    println!(
        "{}",
        json!({
            "preset": preset_name,
            "backend": backend_name(backend),
            "reached": reached,
            "step": trainer.step,
            "seconds": seconds,
            "train_seconds": seconds - eval_s - plan_s,
            "eval_seconds": eval_s,
            "plan_seconds": plan_s,
            "first_step_seconds": first_step_s,
            "steps_per_s": trainer.step as f64 / (seconds - eval_s - plan_s),
            "model_error_last": model,
            "averaging_error_last": averaging,
            "every": every,
        })
    );
    if !reached {
        return Err(anyhow!(
            "{preset_name}: the model did not beat half of averaging's error within its {} steps",
            exp.train.steps
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--backend wgpu` on a headless Linux machine printed the Wayland probe's
    /// complaint four times; the CLI gives the probe a private directory when
    /// XDG_RUNTIME_DIR is unset or not a directory, and leaves a good one alone.
    #[test]
    fn the_wayland_probe_gets_a_private_runtime_dir_only_when_it_has_none() {
        let temp = Path::new("/tmp");
        let want = Some(PathBuf::from("/tmp/icl-lab-runtime-ann"));
        assert_eq!(runtime_dir_for(None, temp, "ann"), want);
        let missing = std::ffi::OsStr::new("/no/such/dir");
        assert_eq!(runtime_dir_for(Some(missing), temp, "ann"), want);
        let good = std::env::temp_dir();
        assert_eq!(runtime_dir_for(Some(good.as_os_str()), temp, "ann"), None);
        assert_eq!(
            runtime_dir_for(None, temp, "../x y"),
            Some(PathBuf::from("/tmp/icl-lab-runtime-___x_y"))
        );
    }
}
