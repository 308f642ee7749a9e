//! SVG figures drawn natively (plotters' SVG backend): the ICL curve of a report,
//! as in Garg et al.'s figures. Used by `icl-lab reproduce` (the results page) and
//! the `garg_figure` example. The page draws its own charts on canvases.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::eval::EvalReport;

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

/// Normalised squared error against the number of in-context examples k on one
/// evaluation set (`fresh`, `pool`, …): the model first and thickest, each
/// baseline with a ±1 standard-error band, a grey line at k = d. `None` when the
/// report has no such set.
pub fn icl_curve_svg(report: &EvalReport, set: &str, title: &str) -> Option<String> {
    let e = report.eval(set)?;
    let mut svg = String::new();
    draw(report, e, title, &mut svg).ok()?;
    Some(svg)
}

fn draw(
    report: &EvalReport,
    e: &crate::eval::EvalCurves,
    title: &str,
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let d = report.dims as f64;
    let k_max = (*e.k.last().ok_or("no k")? as f64).max(1.0);
    let y_max = e
        .curves
        .values()
        .flat_map(|c| c.mean.iter())
        .fold(1.0f64, |a, b| a.max(*b))
        .min(2.0)
        * 1.05;
    let root = SVGBackend::with_string(out, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
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
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(d, 0.0), (d, y_max)],
        ShapeStyle::from(&RGBColor(150, 150, 150)).stroke_width(1),
    )))?;
    let mut order: BTreeMap<usize, (&String, _)> = BTreeMap::new();
    for (i, (name, c)) in e.curves.iter().enumerate() {
        order.insert(if name == "model" { 0 } else { i + 1 }, (name, c));
    }
    for (slot, (name, c)) in order.values().enumerate() {
        let color = PALETTE[slot % PALETTE.len()];
        let width = if *name == "model" { 3 } else { 2 };
        let at = |k: &usize, v: f64| (*k as f64, v.clamp(0.0, y_max));
        let pts: Vec<(f64, f64)> = e.k.iter().zip(&c.mean).map(|(k, m)| at(k, *m)).collect();
        let upper = e.k.iter().zip(c.mean.iter().zip(&c.stderr));
        let band: Vec<(f64, f64)> = upper
            .clone()
            .map(|(k, (m, s))| at(k, m + s))
            .chain(upper.rev().map(|(k, (m, s))| at(k, m - s)))
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
    Ok(())
}
