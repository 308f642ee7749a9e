//! Two small self-contained chart widgets drawn with plotters on a canvas: the
//! training loss (log scale) and the ICL curve. Each keeps the geometry of its last
//! drawing so the pointer can be mapped back to data for the hover read-out.
//! Okabe–Ito colours, fixed per predictor, so a curve keeps its colour everywhere.

use std::rc::Rc;

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::eval::EvalReport;

use super::app::now_ms;

/// Okabe & Ito's colour-blind-safe palette, fixed per predictor.
pub fn colour(name: &str) -> RGBColor {
    match name {
        "model" => RGBColor(0, 0, 0),
        "least_squares" => RGBColor(0, 114, 178),
        n if n.starts_with("ridge") => RGBColor(0, 158, 115),
        "averaging" => RGBColor(230, 159, 0),
        n if n.starts_with("knn") => RGBColor(204, 121, 167),
        "dmmse" => RGBColor(213, 94, 0),
        "lasso" => RGBColor(86, 180, 233),
        n if n.starts_with("gd") => RGBColor(180, 150, 0),
        n if n.starts_with("newton") => RGBColor(86, 180, 233),
        "nn_gd" => RGBColor(213, 94, 0),
        _ => RGBColor(153, 153, 153),
    }
}

pub fn css_colour(name: &str) -> String {
    let RGBColor(r, g, b) = colour(name);
    format!("rgb({r},{g},{b})")
}

/// A predictor's name for people.
pub fn label(name: &str) -> String {
    match name {
        "model" => "transformer".into(),
        "least_squares" => "least squares".into(),
        "ridge" => "ridge (Bayes λ)".into(),
        "averaging" => "averaging".into(),
        "zero" => "zero".into(),
        "dmmse" => "dMMSE (pool posterior)".into(),
        "lasso" => "Lasso".into(),
        "nn_gd" => "2-layer net by GD".into(),
        n => {
            if let Some(k) = n.strip_prefix("knn_") {
                format!("{k}-nearest neighbours")
            } else if let Some(s) = n.strip_prefix("gd_") {
                format!("gradient descent, {s} step(s)")
            } else if let Some(s) = n.strip_prefix("newton_") {
                format!("Newton, {s} iteration(s)")
            } else if let Some(l) = n.strip_prefix("ridge_") {
                format!("ridge λ = {l}")
            } else {
                n.into()
            }
        }
    }
}

/// Logs a drawing that took long enough to be felt (a frame is 16 ms).
fn log_slow(what: &str, t0: f64) {
    let ms = now_ms() - t0;
    if ms > 16.0 {
        web_sys::console::debug_1(&format!("{what} chart drawn in {ms:.0} ms").into());
    }
}

/// Where the plotting area lies on the canvas and which data range it shows.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
struct Geometry {
    px: (i32, i32),
    py: (i32, i32),
    x: (f64, f64),
}

impl Geometry {
    fn data_x(&self, pixel: f64) -> Option<f64> {
        let (a, b) = self.px;
        if b <= a || pixel < a as f64 - 4.0 || pixel > b as f64 + 4.0 {
            return None;
        }
        let t = (pixel - a as f64) / (b - a) as f64;
        Some(self.x.0 + t.clamp(0.0, 1.0) * (self.x.1 - self.x.0))
    }
}

fn prepare(canvas: &HtmlCanvasElement) -> Option<CanvasBackend> {
    // Match the drawing buffer to the element's CSS size.
    let w = canvas.client_width().max(200) as u32;
    let h = canvas.client_height().max(150) as u32;
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    CanvasBackend::with_canvas_object(canvas.clone())
}

const FONT: &str = "system-ui, sans-serif";

/// At most `max` points, evenly thinned (the last point always kept).
fn thin(points: &[(usize, f32)], max: usize) -> Vec<(f64, f64)> {
    let stride = points.len().div_ceil(max).max(1);
    let mut out: Vec<(f64, f64)> = points
        .iter()
        .step_by(stride)
        .map(|&(s, l)| (s as f64, l as f64))
        .collect();
    if let Some(&(s, l)) = points.last()
        && out.last().map(|p| p.0) != Some(s as f64)
    {
        out.push((s as f64, l as f64));
    }
    out
}

/// Log-axis ticks at 1, 2 and 5 × 10^e inside [lo, hi] (plotters labels only whole
/// decades, which a loss range within one decade does not contain).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi {
        for m in [1.0, 2.0, 5.0] {
            let x = m * 10f64.powi(e);
            if x >= lo && x <= hi {
                ticks.push(x);
            }
        }
        e += 1;
    }
    if ticks.len() < 2 {
        ticks = vec![lo * 1.05, (lo * hi).sqrt(), hi / 1.05];
    }
    ticks
}

fn format_tick(v: f64) -> String {
    if (0.01..1000.0).contains(&v.abs()) {
        format!("{}", (v * 1000.0).round() / 1000.0)
    } else {
        format!("{v:.0e}")
    }
}

fn draw_loss(
    canvas: &HtmlCanvasElement,
    losses: &[(usize, f32)],
    steps: usize,
) -> Result<Geometry, Box<dyn std::error::Error>> {
    let backend = prepare(canvas).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let pts: Vec<(f64, f64)> = thin(losses, 800)
        .into_iter()
        .filter(|(_, l)| l.is_finite() && *l > 0.0)
        .collect();
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, l)| {
        (lo.min(*l), hi.max(*l))
    });
    let (lo, hi) = if pts.is_empty() {
        (1e-3, 10.0)
    } else {
        (lo / 1.5, hi * 1.5)
    };
    let x_max = steps.max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(56)
        .build_cartesian_2d(
            0f64..x_max,
            (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
        )?;
    chart
        .configure_mesh()
        .x_desc("training step")
        .y_desc("loss (log scale)")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .light_line_style(RGBColor(238, 238, 238))
        .max_light_lines(1)
        .x_labels(6)
        .y_label_formatter(&|v| format_tick(*v))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart.draw_series(LineSeries::new(
        pts,
        ShapeStyle::from(&colour("model")).stroke_width(2),
    ))?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    root.present()?;
    Ok(Geometry {
        px: (px.start, px.end),
        py: (py.start, py.end),
        x: (0.0, x_max),
    })
}

fn draw_icl(
    canvas: &HtmlCanvasElement,
    report: &EvalReport,
    set: &str,
    hidden: &[String],
) -> Result<Geometry, Box<dyn std::error::Error>> {
    let backend = prepare(canvas).ok_or("no 2d context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let Some(eval) = report.eval(set) else {
        return Ok(Geometry::default());
    };
    let n = eval.k.len().max(2);
    let x_max = (n - 1) as f64;
    let model_max = eval
        .curves
        .get("model")
        .map_or(1.0, |c| c.mean.iter().cloned().fold(0.0, f64::max));
    // Room for the zero predictor (≈ 1) and the model; huge baselines (least squares
    // at k = d with noise) are clipped at the top.
    let y_max = (model_max.max(1.0) * 1.15).min(4.0);
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("in-context examples k")
        .y_desc("squared error / d")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .light_line_style(RGBColor(238, 238, 238))
        .max_light_lines(1)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    // k = d: where least squares can first pin the task down.
    let d = report.dims as f64;
    if d <= x_max {
        chart.draw_series(LineSeries::new(
            vec![(d, 0.0), (d, y_max)],
            ShapeStyle::from(&RGBColor(120, 120, 120)).stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("k = d = {}", report.dims),
            (d + 0.2, y_max * 0.97),
            (FONT, 12).into_font().color(&RGBColor(90, 90, 90)),
        )))?;
    }
    // Baselines first, the model on top.
    let mut names: Vec<&String> = eval.curves.keys().filter(|n| !hidden.contains(n)).collect();
    names.sort_by_key(|n| *n == "model");
    for name in names {
        let c = &eval.curves[name];
        let col = colour(name);
        let clip = |v: f64| v.clamp(0.0, y_max);
        // ±1 standard error band.
        let mut band: Vec<(f64, f64)> = c
            .mean
            .iter()
            .zip(&c.stderr)
            .enumerate()
            .map(|(k, (m, s))| (k as f64, clip(m + s)))
            .collect();
        band.extend(
            c.mean
                .iter()
                .zip(&c.stderr)
                .enumerate()
                .rev()
                .map(|(k, (m, s))| (k as f64, clip(m - s))),
        );
        chart.draw_series(std::iter::once(Polygon::new(band, col.mix(0.15))))?;
        let width = if name == "model" { 3 } else { 2 };
        let pts: Vec<(f64, f64)> = c
            .mean
            .iter()
            .enumerate()
            .map(|(k, m)| (k as f64, clip(*m)))
            .collect();
        chart.draw_series(LineSeries::new(
            pts.clone(),
            ShapeStyle::from(&col).stroke_width(width),
        ))?;
        if name == "model" {
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, col.filled())))?;
        }
    }
    let (px, py) = chart.plotting_area().get_pixel_range();
    root.present()?;
    Ok(Geometry {
        px: (px.start, px.end),
        py: (py.start, py.end),
        x: (0.0, x_max),
    })
}

#[derive(Properties, PartialEq)]
pub struct LossProps {
    pub losses: Rc<Vec<(usize, f32)>>,
    pub steps: usize,
}

/// Training loss against steps, log scale; hover reads the nearest logged step.
#[function_component(LossChart)]
pub fn loss_chart(props: &LossProps) -> Html {
    let canvas = use_node_ref();
    let geometry = use_mut_ref(Geometry::default);
    let hover = use_state(|| None::<(f64, String)>);
    {
        let canvas = canvas.clone();
        let geometry = geometry.clone();
        use_effect_with(
            (props.losses.clone(), props.steps),
            move |(losses, steps)| {
                if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                    let t0 = now_ms();
                    match draw_loss(&c, losses, *steps) {
                        Ok(g) => *geometry.borrow_mut() = g,
                        Err(e) => web_sys::console::warn_1(&format!("loss chart: {e}").into()),
                    }
                    log_slow("loss", t0);
                }
            },
        );
    }
    let onmousemove = {
        let hover = hover.clone();
        let geometry = geometry.clone();
        let losses = props.losses.clone();
        Callback::from(move |e: MouseEvent| {
            let g = *geometry.borrow();
            let x = e.offset_x() as f64;
            let found = g.data_x(x).and_then(|step| {
                losses
                    .iter()
                    .min_by_key(|(s, _)| (*s as f64 - step).abs() as u64)
                    .map(|(s, l)| (x, format!("step {s}: loss {l:.4}")))
            });
            hover.set(found);
        })
    };
    let onmouseleave = {
        let hover = hover.clone();
        Callback::from(move |_| hover.set(None))
    };
    // The last logged losses as `step:loss` pairs, for people reading the page source
    // and for the browser tests.
    let recent = props.losses[props.losses.len().saturating_sub(20)..]
        .iter()
        .map(|(s, l)| format!("{s}:{l}"))
        .collect::<Vec<_>>()
        .join(",");
    html! {
        <figure class="chart">
            <figcaption>{"Training loss"}</figcaption>
            <div class="chart-body">
                <canvas ref={canvas} class="chart-canvas" data-chart="loss" data-points={props.losses.len().to_string()}
                    data-recent={recent}
                    role="img" aria-label={format!("training loss over {} logged steps", props.losses.len())}
                    {onmousemove} {onmouseleave}></canvas>
                if let Some((x, text)) = &*hover {
                    <div class="tooltip" style={format!("left:{}px", x + 12.0)}>{text}</div>
                }
            </div>
        </figure>
    }
}

#[derive(Properties, PartialEq)]
pub struct IclProps {
    pub report: Option<Rc<EvalReport>>,
    /// `fresh` or `pool`.
    pub set: String,
    pub hidden: Vec<String>,
}

/// Normalised error against k for the model and the baselines, ±1 s.e. bands, a
/// marker at k = d; hover lists every visible curve at the nearest k.
#[function_component(IclChart)]
pub fn icl_chart(props: &IclProps) -> Html {
    let canvas = use_node_ref();
    let geometry = use_mut_ref(Geometry::default);
    let hover = use_state(|| None::<(f64, Vec<(String, String)>)>);
    {
        let canvas = canvas.clone();
        let geometry = geometry.clone();
        use_effect_with(
            (
                props.report.clone(),
                props.set.clone(),
                props.hidden.clone(),
            ),
            move |(report, set, hidden)| {
                if let (Some(c), Some(r)) = (canvas.cast::<HtmlCanvasElement>(), report) {
                    let t0 = now_ms();
                    match draw_icl(&c, r, set, hidden) {
                        Ok(g) => *geometry.borrow_mut() = g,
                        Err(e) => web_sys::console::warn_1(&format!("ICL chart: {e}").into()),
                    }
                    log_slow("ICL", t0);
                }
            },
        );
    }
    let onmousemove = {
        let hover = hover.clone();
        let geometry = geometry.clone();
        let report = props.report.clone();
        let set = props.set.clone();
        let hidden = props.hidden.clone();
        Callback::from(move |e: MouseEvent| {
            let g = *geometry.borrow();
            let x = e.offset_x() as f64;
            let found = g.data_x(x).zip(report.as_ref()).and_then(|(kx, r)| {
                let eval = r.eval(&set)?;
                let k = kx.round() as usize;
                let rows = eval
                    .curves
                    .iter()
                    .filter(|(n, _)| !hidden.contains(n))
                    .filter_map(|(n, c)| {
                        Some((
                            n.clone(),
                            format!("{:.3} ± {:.3}", c.mean.get(k)?, c.stderr.get(k)?),
                        ))
                    })
                    .collect::<Vec<_>>();
                Some((
                    x,
                    [(format!("k = {k}"), String::new())]
                        .into_iter()
                        .chain(rows)
                        .collect(),
                ))
            });
            hover.set(found);
        })
    };
    let onmouseleave = {
        let hover = hover.clone();
        Callback::from(move |_| hover.set(None))
    };
    let step = props.report.as_ref().map(|r| r.step);
    html! {
        <figure class="chart">
            <figcaption>
                {"In-context learning curve"}
                if let Some(s) = step { <span class="muted">{format!(" · evaluated at step {s}")}</span> }
            </figcaption>
            <div class="chart-body">
                <canvas ref={canvas} class="chart-canvas" data-chart="icl"
                    data-step={step.map(|s| s.to_string()).unwrap_or_default()}
                    role="img" aria-label="normalised squared error against the number of in-context examples, model and baselines"
                    {onmousemove} {onmouseleave}></canvas>
                if props.report.is_none() {
                    <div class="chart-empty">{"The curve appears at the first evaluation."}</div>
                }
                if let Some((x, rows)) = &*hover {
                    <div class="tooltip" style={format!("left:{}px", x + 12.0)}>
                        { for rows.iter().map(|(n, v)| if v.is_empty() {
                            // The header row (k = …) has no curve, so no swatch.
                            html!{ <div><strong>{n.clone()}</strong></div> }
                        } else {
                            html!{ <div><span class="swatch" style={format!("background:{}", css_colour(n))}></span>
                            {format!("{}: {v}", label(n))}</div> }
                        }) }
                    </div>
                }
            </div>
        </figure>
    }
}
