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

use plotters::prelude::*;

use icl_lab::config::Experiment;
use icl_lab::eval::EvalReport;
use icl_lab::metric::{Metric, Metrics, parse_list};
use icl_lab::probes::Probe;
use icl_lab::sweep::{SweepSummary, final_metrics};
use icl_lab::web::figures::{
    Figure, algorithm_figure, distance_figure, line_rgb, novel_in, probe_figure, threshold_figure,
};

/// The browser's colours (Okabe–Ito), from the same table.
fn colour(key: &str) -> RGBColor {
    let (r, g, b) = line_rgb(key);
    RGBColor(r, g, b)
}

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

fn draw(fig: &Figure, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(out, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let all: Vec<(f64, f64)> = fig.lines.iter().flat_map(|l| l.points.clone()).collect();
    let (x0, x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = fig.y_range.unwrap_or_else(|| {
        let (a, b) = all
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        if fig.y_log {
            (a.max(1e-6) / 1.5, b * 1.5)
        } else {
            (a - 0.1 * (b - a).max(0.1), b + 0.1 * (b - a).max(0.1))
        }
    });
    let (x0, x1) = if fig.x_log {
        (x0 / 1.3, x1 * 1.3)
    } else {
        (
            x0 - (x1 - x0).max(1.0) * 0.03,
            x1 + (x1 - x0).max(1.0) * 0.03,
        )
    };
    let label_x = |v: &f64| {
        fig.x_labels
            .iter()
            .find(|(x, _)| (x - v).abs() < 1e-9 * x.abs().max(1.0))
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| {
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            })
    };
    let mut b = ChartBuilder::on(&root);
    b.caption(&fig.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(fig.x_desc.as_str())
                .y_desc(fig.y_desc.as_str())
                .x_label_formatter(&label_x)
                .light_line_style(RGBColor(238, 238, 238))
                .max_light_lines(1)
                .draw()?;
            for (v, text) in &fig.hlines {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(x0, *v), (x1, *v)],
                        6,
                        4,
                        ShapeStyle::from(&RGBColor(110, 110, 110)),
                    ))?
                    .label(text.as_str())
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], RGBColor(110, 110, 110))
                    });
            }
            for l in &fig.lines {
                let c = colour(&l.key);
                let style = ShapeStyle::from(&c).stroke_width(2);
                let series = if l.dashed {
                    chart.draw_series(DashedLineSeries::new(l.points.clone(), 8, 5, style))?
                } else {
                    chart.draw_series(LineSeries::new(l.points.clone(), style))?
                };
                series.label(l.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
                chart.draw_series(l.points.iter().map(|p| Circle::new(*p, 3, c.filled())))?;
            }
            for m in &fig.marks {
                chart.draw_series(std::iter::once(Circle::new(m.at, 6, BLACK.stroke_width(2))))?;
                chart.draw_series(std::iter::once(Text::new(
                    m.text.clone(),
                    m.at,
                    ("sans-serif", 13),
                )))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }};
    }
    match (fig.x_log, fig.y_log) {
        (false, false) => body!(b.build_cartesian_2d(x0..x1, y0..y1)?),
        (true, false) => body!(b.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => body!(b.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (true, true) => body!(b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?),
    }
    root.present()?;
    Ok(())
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
    draw(&fig, &out)?;
    eprintln!("{} — wrote {}", fig.caption, out.display());
    Ok(())
}
