//! The browser's history and sweep charts as SVG files, for papers and blog posts:
//! the same `web::figures::Figure` the page draws, from a CLI run or sweep.
//!
//!     cargo run --release --example data_figure -- runs/transience [OUT.svg]
//!         probe accuracies through training (a classification run with
//!         train.eval_every > 0), the distance to dMMSE / ridge (a regression run
//!         with a task pool), or else the algorithm lens of the final evaluation
//!         (which algorithm the model matches at each k)
//!     cargo run --release --example data_figure -- runs/sweep/summary.json [OUT.svg] [METRIC]
//!         a sweep's threshold curve (METRIC: icl, fresh_error, …; default by kind)

use std::path::{Path, PathBuf};

use icl_lab::config::Experiment;
use icl_lab::eval::EvalReport;
use icl_lab::figure::figure_svg;
use icl_lab::metric::{Metric, Metrics, parse_list};
use icl_lab::probes::Probe;
use icl_lab::sweep::{SweepSummary, final_metrics};
use icl_lab::web::figures::{
    Figure, algorithm_figure, distance_figure, novel_in, probe_figure, threshold_figure,
};

fn load(input: &Path, metric: Option<&str>) -> Result<Figure, Box<dyn std::error::Error>> {
    if input.is_file() {
        let summary = SweepSummary::from_json(&std::fs::read_to_string(input)?)?;
        // METRIC, or a comma-joined list drawn together; by default the run's kind.
        let metric = metric.map(parse_list).unwrap_or_else(|| {
            let icl = vec![Metric::Probe(Probe::Icl)];
            if summary.metrics().contains(&icl) {
                icl
            } else {
                vec![Metric::error("fresh")]
            }
        });
        return Ok(threshold_figure(&summary, &metric));
    }
    let exp = Experiment::from_json(&std::fs::read_to_string(input.join("config.json"))?)?;
    let history = || -> Result<Vec<(usize, Metrics)>, Box<dyn std::error::Error>> {
        Ok(std::fs::read_to_string(input.join("eval_history.jsonl"))
            .map_err(|e| format!("{}: {e} (train with train.eval_every > 0)", input.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let r: EvalReport = serde_json::from_str(l)?;
                Ok((r.step, final_metrics(&r)))
            })
            .collect::<Result<_, serde_json::Error>>()?)
    };
    if let icl_lab::tasks::Shape::Classification(c) = exp.task.family.shape() {
        return Ok(probe_figure(
            &history()?,
            1.0 / c.labels as f64,
            novel_in(c),
        ));
    }
    if exp.task.pool.is_some()
        && let Some(f) = distance_figure(&history()?)
    {
        return Ok(f);
    }
    // Otherwise the algorithm lens of the final evaluation.
    let report: EvalReport =
        serde_json::from_str(&std::fs::read_to_string(input.join("eval.json"))?)?;
    report
        .algorithms
        .as_ref()
        .and_then(|m| algorithm_figure(m, report.step))
        .ok_or_else(|| "no distances (no task pool) and no algorithm lens in this run".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(input) = args.first().map(PathBuf::from) else {
        return Err("usage: data_figure RUN_DIR|SUMMARY.json [OUT.svg] [METRIC]".into());
    };
    let fig = load(&input, args.get(2).map(String::as_str))?;
    let out = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("{}.svg", fig.id)));
    let svg = figure_svg(&fig).ok_or("nothing to draw")?;
    std::fs::write(&out, svg)?;
    eprintln!("{} — wrote {}", fig.caption, out.display());
    Ok(())
}
