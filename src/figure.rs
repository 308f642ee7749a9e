//! SVG figures drawn natively (plotters' SVG backend): the ICL curve of a report,
//! as in Garg et al.'s figures. Used by `icl-lab reproduce` (the results page) and
//! the `garg_figure` example. The page draws its own charts on canvases.

use std::collections::BTreeMap;

use plotters::prelude::*;

use crate::eval::EvalReport;
use crate::web::figures::Figure;

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
    let mut chart = titled_chart(
        &root,
        title,
        (k_max, "in-context examples k (grey line: k = d)"),
        (y_max, "squared error / d"),
    )?;
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
        let s = chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))?;
        labelled(s, name, color);
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A white, titled chart on `root` with both axes from 0 to the given maximum and
/// labelled (`(max, label)`), whole numbers on x: the layout the full-size figures
/// share.
fn titled_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    (x_max, x_desc): (f64, &str),
    (y_max, y_desc): (f64, &str),
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(y_desc)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    Ok(chart)
}

/// Names a drawn series in the legend with a short thick line of its colour.
fn labelled(
    series: &mut plotters::chart::SeriesAnno<'_, SVGBackend<'_>>,
    name: &str,
    color: RGBColor,
) {
    series
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
}

/// The legend, top right, on a faint white box.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

/// Garg et al.'s out-of-distribution figure: one small panel per evaluation set
/// (the training distribution first, then each `eval.ood` distribution), each with
/// the model's error against k beside least squares'. `None` when the report has
/// no out-of-distribution set.
pub fn ood_svg(report: &EvalReport, title: &str) -> Option<String> {
    let sets: Vec<&crate::eval::EvalCurves> = report
        .evals
        .iter()
        .filter(|e| e.name == "fresh" || e.name.starts_with("x="))
        .collect();
    if sets.len() < 2 {
        return None;
    }
    let mut svg = String::new();
    draw_ood(report.dims as f64, &sets, title, &mut svg).ok()?;
    Some(svg)
}

fn draw_ood(
    d: f64,
    sets: &[&crate::eval::EvalCurves],
    title: &str,
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let cols = sets.len().min(3);
    let rows = sets.len().div_ceil(cols);
    let root = SVGBackend::with_string(out, (300 * cols as u32, 40 + 240 * rows as u32))
        .into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(40);
    top.titled(title, ("sans-serif", 18))?;
    let panels = body.split_evenly((rows, cols));
    // One y range for every panel, so the panels compare at a glance.
    let y_max = sets
        .iter()
        .flat_map(|e| ["model", "least_squares"].map(|n| e.curves.get(n)))
        .flatten()
        .flat_map(|c| c.mean.iter())
        .fold(1.0f64, |a, b| a.max(*b))
        .min(3.0)
        * 1.05;
    for (e, area) in sets.iter().zip(panels.iter()) {
        let k_max = (*e.k.last().ok_or("no k")? as f64).max(1.0);
        let label = if e.name == "fresh" {
            format!("training inputs ({})", e.x_dist)
        } else {
            e.x_dist.clone()
        };
        let mut chart = ChartBuilder::on(area)
            .caption(label, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..k_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(d, 0.0), (d, y_max)],
            ShapeStyle::from(&RGBColor(150, 150, 150)).stroke_width(1),
        )))?;
        // The model black and thick, least squares blue (Okabe–Ito).
        for (name, color, width) in [("least_squares", PALETTE[4], 2), ("model", PALETTE[0], 3)] {
            let Some(c) = e.curves.get(name) else {
                continue;
            };
            let pts: Vec<(f64, f64)> =
                e.k.iter()
                    .zip(&c.mean)
                    .map(|(k, m)| (*k as f64, m.clamp(0.0, y_max)))
                    .collect();
            let s = chart.draw_series(LineSeries::new(pts, color.stroke_width(width)))?;
            if std::ptr::eq(*e, sets[0]) {
                labelled(s, &name.replace('_', " "), color);
            }
        }
        // One legend, in the first panel.
        if std::ptr::eq(*e, sets[0]) {
            legend(&mut chart)?;
        }
    }
    root.present()?;
    Ok(())
}

/// A metric against model size, one line per series (a model kind), as in Lee et
/// al.'s figures: `series` holds (parameters, value) points in order of size.
/// `None` when there is nothing to draw.
pub fn size_svg(title: &str, y_desc: &str, series: &[(String, Vec<(f64, f64)>)]) -> Option<String> {
    let mut svg = String::new();
    draw_sizes(title, y_desc, series, &mut svg).ok()?;
    Some(svg)
}

fn draw_sizes(
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
    out: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let x_max = all().map(|p| p.0).fold(f64::NAN, f64::max);
    let y_max = all().map(|p| p.1).fold(f64::NAN, f64::max);
    if !(x_max.is_finite() && y_max.is_finite()) {
        return Err("no points".into());
    }
    // Parameters in thousands, from 0: the sizes compared are a few times apart.
    // Headroom above the highest point keeps the legend (top right) off the lines.
    let (x_max, y_max) = (x_max / 1e3 * 1.1, y_max.max(1e-9) * 1.45);
    let root = SVGBackend::with_string(out, (760, 480)).into_drawing_area();
    let mut chart = titled_chart(
        &root,
        title,
        (x_max, "parameters (thousands)"),
        (y_max, y_desc),
    )?;
    for (slot, (name, pts)) in series.iter().enumerate() {
        let color = PALETTE[slot % PALETTE.len()];
        let pts: Vec<(f64, f64)> = pts.iter().map(|(x, y)| (x / 1e3, *y)).collect();
        let s = chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
        labelled(s, name, color);
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
    }
    legend(&mut chart)?;
    root.present()?;
    Ok(())
}

/// Any of the page's [`Figure`]s (a sweep's threshold curve, probe accuracies
/// through training, the algorithm lens, …) as an SVG file: the same lines and
/// colours, with a seeded sweep's error bars and seeds. `None` when the figure has
/// no points. (The page draws the same figure on a canvas.)
pub fn figure_svg(fig: &Figure) -> Option<String> {
    let mut svg = String::new();
    draw_figure(fig, &mut svg).ok()?;
    Some(svg)
}

fn draw_figure(fig: &Figure, out: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (760, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let all = fig.drawn_points();
    if all.is_empty() {
        return Err("no points".into());
    }
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
                let (r, g, bl) = crate::web::figures::line_rgb(&l.key);
                let c = RGBColor(r, g, bl);
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
                // Each seed as a small open circle, then ± 1 s.e. as a capped bar.
                chart.draw_series(
                    l.spread
                        .iter()
                        .map(|p| Circle::new(*p, 2, c.mix(0.55).stroke_width(1))),
                )?;
                chart.draw_series(l.bars().map(|(x, lo, mid, hi)| {
                    ErrorBar::new_vertical(x, lo, mid, hi, c.stroke_width(2), 8)
                }))?;
            }
            for m in &fig.marks {
                chart.draw_series(std::iter::once(Circle::new(m.at, 6, BLACK.stroke_width(2))))?;
                chart.draw_series(std::iter::once(Text::new(
                    m.text.clone(),
                    m.at,
                    ("sans-serif", 13),
                )))?;
            }
            // A legend only where there is more than one thing to tell apart (the
            // title names a single line), as the page does.
            if fig.lines.len() > 1 || !fig.hlines.is_empty() {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(200, 200, 200))
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::eval::{Curve, EvalCurves};

    #[test]
    fn a_figure_as_svg_draws_a_seeded_sweeps_error_bars_and_seeds() {
        use crate::metric::Metric;
        use crate::web::figures::threshold_figure;
        let summary = crate::web::figures::tests::seeded_summary();
        let fig = threshold_figure(&summary, &[Metric::error("fresh")]);
        let mut plain = fig.clone();
        plain.lines[0].error.clear();
        plain.lines[0].spread.clear();
        let (svg, plain) = (figure_svg(&fig).unwrap(), figure_svg(&plain).unwrap());
        // One capped bar (pool 8 has one seed: none there): a vertical line, two
        // caps and a ring round the mean; and three more circles, the seeds.
        assert_eq!(
            svg.matches("<circle").count(),
            plain.matches("<circle").count() + 3 + 1
        );
        // (The bar's lines are the only 2-pixel `<line>`s: the mesh's are thinner
        // and the series is a polyline.)
        let bars = |svg: &str| {
            svg.lines()
                .filter(|l| l.starts_with("<line") && l.contains("stroke-width=\"2\""))
                .count()
        };
        assert_eq!((bars(&svg), bars(&plain)), (3, 0), "{svg}");
        assert!(svg.contains(&fig.title));
        let mut empty = fig.clone();
        empty.lines.clear();
        assert!(figure_svg(&empty).is_none());
    }

    #[test]
    fn a_size_figure_draws_every_series_and_refuses_nothing_to_draw() {
        let series = vec![
            (
                "transformer".to_string(),
                vec![(15_000.0, 1.7), (45_000.0, 1.4)],
            ),
            ("lstm".to_string(), vec![(15_000.0, 3.4), (45_000.0, 2.9)]),
        ];
        let svg = size_svg("repeat loss against size", "nats", &series).unwrap();
        for text in [
            "transformer",
            "lstm",
            "repeat loss against size",
            "parameters (thousands)",
        ] {
            assert!(svg.contains(text), "{text} is missing");
        }
        // A marker per point.
        let one = size_svg("repeat loss against size", "nats", &series[..1]).unwrap();
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(one.matches("<circle").count(), 2);
        assert!(size_svg("t", "y", &[("a".into(), vec![])]).is_none());
    }

    fn set(name: &str, x_dist: &str) -> EvalCurves {
        let c = |m: f64| Curve {
            mean: vec![1.0, m, m / 2.0],
            stderr: vec![0.0; 3],
        };
        EvalCurves {
            name: name.into(),
            x_dist: x_dist.into(),
            k: vec![0, 1, 2],
            curves: [
                ("model".to_string(), c(0.8)),
                ("least_squares".to_string(), c(0.5)),
            ]
            .into_iter()
            .collect(),
            distance: Default::default(),
        }
    }

    #[test]
    fn the_ood_figure_has_a_panel_per_distribution_and_needs_one_shifted_set() {
        let mut report = EvalReport {
            dims: 2,
            evals: vec![set("fresh", "gaussian")],
            ..Default::default()
        };
        assert!(
            ood_svg(&report, "t").is_none(),
            "nothing shifted, no figure"
        );
        report.evals.push(set("x=skewed", "skewed"));
        report.evals.push(set("x=scaled:2", "scaled:2"));
        let svg = ood_svg(&report, "out of distribution").unwrap();
        for label in [
            "training inputs (gaussian)",
            "skewed",
            "scaled:2",
            "least squares",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
    }
}
