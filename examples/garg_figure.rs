//! Reproduces Garg et al.'s figure for linear regression: normalised squared error
//! against the number of in-context examples k, for the model and the baselines.
//!
//!     cargo run --release --example garg_figure -- [RUN_DIR] [OUT.svg]
//!
//! With a run directory written by `icl-lab train` it plots that run's eval.json;
//! without one it trains the `garg-tiny` preset first (its full length, on the CPU).

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::tensor::Device;
use plotters::prelude::*;

use icl_lab::eval::{EvalReport, evaluate};
use icl_lab::presets::preset;
use icl_lab::train::Trainer;

/// Okabe–Ito: distinguishable with every common colour-vision deficiency.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 0, 0),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (report, title) = match args.first() {
        Some(dir) if !dir.ends_with(".svg") => {
            let text = std::fs::read_to_string(PathBuf::from(dir).join("eval.json"))?;
            (
                serde_json::from_str::<EvalReport>(&text)?,
                format!("ICL curve of {dir}"),
            )
        }
        _ => {
            let exp = preset("garg-tiny")?;
            eprintln!(
                "training garg-tiny for {} steps on the CPU…",
                exp.train.steps
            );
            let dev = Device::flex();
            let mut t = Trainer::new(&exp, &dev);
            t.run_to_end()?;
            let (r, _) = evaluate(&exp, &t.model(), &dev, &t.source, None, t.step)?;
            (
                r,
                "garg-tiny: linear regression in context (d = 5)".to_string(),
            )
        }
    };
    let out = args
        .iter()
        .find(|a| a.ends_with(".svg"))
        .cloned()
        .unwrap_or_else(|| "garg_figure.svg".into());

    let fresh = report
        .eval("fresh")
        .ok_or("eval.json has no fresh evaluation")?;
    let d = report.dims as f64;
    let k_max = *fresh.k.last().unwrap() as f64;
    let y_max = fresh
        .curves
        .values()
        .flat_map(|c| c.mean.iter())
        .fold(1.0f64, |a, b| a.max(*b))
        .min(2.0)
        * 1.05;

    let root = SVGBackend::new(&out, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..k_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("in-context examples k (grey line: k = d)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("squared error / d")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    // k = d: where least squares reaches zero.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(d, 0.0), (d, y_max)],
        ShapeStyle::from(&RGBColor(150, 150, 150)).stroke_width(1),
    )))?;
    // The model first and thickest, then the baselines.
    let mut order: BTreeMap<usize, (&String, _)> = BTreeMap::new();
    for (i, (name, c)) in fresh.curves.iter().enumerate() {
        order.insert(if name == "model" { 0 } else { i + 1 }, (name, c));
    }
    for (slot, (name, c)) in order.values().enumerate() {
        let color = PALETTE[slot % PALETTE.len()];
        let width = if *name == "model" { 3 } else { 2 };
        let pts: Vec<(f64, f64)> = fresh
            .k
            .iter()
            .zip(&c.mean)
            .map(|(k, m)| (*k as f64, m.min(y_max)))
            .collect();
        // shaded ± one standard error
        let band: Vec<(f64, f64)> = fresh
            .k
            .iter()
            .zip(c.mean.iter().zip(&c.stderr))
            .map(|(k, (m, s))| (*k as f64, (m + s).min(y_max)))
            .chain(
                fresh
                    .k
                    .iter()
                    .zip(c.mean.iter().zip(&c.stderr))
                    .rev()
                    .map(|(k, (m, s))| (*k as f64, (m - s).max(0.0))),
            )
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))?;
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    eprintln!("wrote {out}");
    Ok(())
}
