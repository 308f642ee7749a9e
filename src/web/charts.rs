//! Small self-contained chart widgets drawn with plotters on a canvas: the training
//! loss (log scale), the ICL curve, and [`FigureChart`] for any [`Figure`] (probes,
//! distances, a sweep's threshold curve). Each keeps the geometry of its last
//! drawing so the pointer can be mapped back to data for the hover read-out.
//! Okabe–Ito colours, fixed per predictor, so a curve keeps its colour everywhere.

use std::rc::Rc;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::eval::{EvalCurves, EvalReport};

use super::app::now_ms;
use super::chart_id::ChartId;
use super::chart_plan::{format_tick, icl_plan, log_ticks};
use super::figures::Figure;

/// Okabe & Ito's colour-blind-safe palette, fixed per predictor.
pub fn colour(name: &str) -> RGBColor {
    let (r, g, b) = super::figures::predictor_rgb(name);
    RGBColor(r, g, b)
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
        "boosted_trees" => "boosted trees (XGBoost's settings)".into(),
        n => {
            if let Some(k) = n.strip_prefix("knn_") {
                format!("{k}-nearest neighbours")
            } else if let Some(s) = n.strip_prefix("gd_") {
                format!("gradient descent, {s} step(s)")
            } else if let Some(s) = n.strip_prefix("newton_") {
                format!("Newton, {s} iteration(s)")
            } else if let Some(d) = n.strip_prefix("tree_") {
                format!("greedy tree, depth {d}")
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

/// Sizes the drawing buffer to the element's CSS box × devicePixelRatio (crisp on
/// 2× screens) and scales the context so plotters draws in CSS pixels: the backend
/// measures the element's CSS box, and the pointer's offsets are CSS pixels too.
fn prepare(canvas: &HtmlCanvasElement) -> Option<CanvasBackend> {
    use wasm_bindgen::JsCast;
    let dpr = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(1.0, 4.0);
    let w = f64::from(canvas.client_width().max(200));
    let h = f64::from(canvas.client_height().max(150));
    let (bw, bh) = ((w * dpr).round() as u32, (h * dpr).round() as u32);
    if canvas.width() != bw || canvas.height() != bh {
        canvas.set_width(bw);
        canvas.set_height(bh);
    }
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0).ok()?;
    CanvasBackend::with_canvas_object(canvas.clone())
}

/// The observer and the callback it calls (kept alive with it).
type Observer = Option<(
    web_sys::ResizeObserver,
    wasm_bindgen::closure::Closure<dyn FnMut(js_sys::Array)>,
)>;

thread_local! {
    /// The page's one resize observer: it tells each chart's canvas that its box
    /// changed (a `chart-resize` event on the canvas), and the chart redraws.
    static RESIZE: Observer = {
        use wasm_bindgen::JsCast;
        let tell = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(|entries: js_sys::Array| {
            for entry in entries.iter() {
                if let Ok(entry) = entry.dyn_into::<web_sys::ResizeObserverEntry>()
                    && let Ok(event) = web_sys::Event::new(RESIZE_EVENT)
                {
                    let _ = entry.target().dispatch_event(&event);
                }
            }
        });
        web_sys::ResizeObserver::new(tell.as_ref().unchecked_ref())
            .ok()
            .map(|o| (o, tell))
    };
}

const RESIZE_EVENT: &str = "chart-resize";

#[derive(Default, PartialEq)]
struct Generation(u32);

impl Reducible for Generation {
    type Action = ();
    fn reduce(self: Rc<Self>, _: ()) -> Rc<Self> {
        Rc::new(Generation(self.0.wrapping_add(1)))
    }
}

/// A number that changes whenever the canvas's box does: a chart lists it among its
/// drawing effect's inputs, so it redraws at its new size.
#[hook]
fn use_resized(canvas: &NodeRef) -> u32 {
    let generation = use_reducer(Generation::default);
    {
        let canvas = canvas.clone();
        let bump = generation.dispatcher();
        use_effect_with((), move |_| {
            use wasm_bindgen::JsCast;
            let el = canvas.cast::<web_sys::Element>();
            let listener =
                wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || bump.dispatch(()));
            if let Some(el) = &el {
                let _ = el.add_event_listener_with_callback(
                    RESIZE_EVENT,
                    listener.as_ref().unchecked_ref(),
                );
                RESIZE.with(|r| {
                    if let Some((o, _)) = r {
                        o.observe(el);
                    }
                });
            }
            move || {
                if let Some(el) = &el {
                    RESIZE.with(|r| {
                        if let Some((o, _)) = r {
                            o.unobserve(el);
                        }
                    });
                    let _ = el.remove_event_listener_with_callback(
                        RESIZE_EVENT,
                        listener.as_ref().unchecked_ref(),
                    );
                }
                drop(listener);
            }
        });
    }
    generation.0
}

const FONT: &str = "system-ui, sans-serif";

fn on_canvas(
    canvas: &HtmlCanvasElement,
) -> Result<DrawingArea<CanvasBackend, Shift>, Box<dyn std::error::Error>> {
    Ok(prepare(canvas).ok_or("no 2d context")?.into_drawing_area())
}

/// The same drawing as SVG text, at the canvas's size (the chart's SVG export).
fn to_svg(
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Result<Geometry, Box<dyn std::error::Error>>,
) -> Option<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(root).ok()?;
    }
    Some(text)
}

/// The canvas's CSS size (its buffer is that × devicePixelRatio).
fn canvas_size(canvas: &NodeRef) -> (u32, u32) {
    canvas.cast::<HtmlCanvasElement>().map_or((640, 360), |c| {
        (
            c.client_width().max(200) as u32,
            c.client_height().max(150) as u32,
        )
    })
}

/// Saves `data` as a file named `name` (a link clicked in code; the URL is revoked
/// a minute later).
pub fn download(name: &str, data: &wasm_bindgen::JsValue) {
    use wasm_bindgen::JsCast;
    let url = if let Some(text) = data.as_string().filter(|t| t.starts_with("data:")) {
        Some(text)
    } else {
        let parts = js_sys::Array::of1(data);
        web_sys::Blob::new_with_u8_array_sequence(&parts)
            .or_else(|_| web_sys::Blob::new_with_str_sequence(&parts))
            .ok()
            .and_then(|b| web_sys::Url::create_object_url_with_blob(&b).ok())
    };
    let (Some(url), Some(doc)) = (url, web_sys::window().and_then(|w| w.document())) else {
        return;
    };
    if let Ok(a) = doc.create_element("a")
        && let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>()
    {
        a.set_href(&url);
        a.set_download(name);
        if let Some(body) = doc.body() {
            let _ = body.append_child(&a);
            a.click();
            let _ = body.remove_child(&a);
        }
    }
    if !url.starts_with("data:") {
        let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        });
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                revoke.unchecked_ref(),
                60_000,
            );
        }
    }
}

#[derive(Properties, PartialEq)]
struct ExportProps {
    /// File name without extension.
    name: AttrValue,
    canvas: NodeRef,
    /// The chart as SVG text at a size.
    svg: Callback<(u32, u32), Option<String>>,
}

/// PNG and SVG buttons for a chart.
#[function_component(ExportButtons)]
fn export_buttons(props: &ExportProps) -> Html {
    let png = {
        let canvas = props.canvas.clone();
        let name = props.name.clone();
        Callback::from(move |_| {
            if let Some(url) = canvas
                .cast::<HtmlCanvasElement>()
                .and_then(|c| c.to_data_url().ok())
            {
                download(&format!("{name}.png"), &url.into());
            }
        })
    };
    let svg = {
        let canvas = props.canvas.clone();
        let name = props.name.clone();
        let make = props.svg.clone();
        Callback::from(move |_| {
            if let Some(text) = make.emit(canvas_size(&canvas)) {
                download(&format!("{name}.svg"), &text.into());
            }
        })
    };
    html! {
        <span class="chart-export" role="group" aria-label="save this chart">
            <button class="small" data-export="png" onclick={png} title="save as PNG">{"PNG"}</button>
            <button class="small" data-export="svg" onclick={svg} title="save as SVG">{"SVG"}</button>
        </span>
    }
}

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

fn draw_loss<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    losses: &[(usize, f32)],
    steps: usize,
    zero: Option<f64>,
) -> Result<Geometry, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let pts: Vec<(f64, f64)> = thin(losses, 800)
        .into_iter()
        .filter(|(_, l)| l.is_finite() && *l > 0.0)
        .collect();
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, l)| {
        (lo.min(*l), hi.max(*l))
    });
    // The zero predictor's loss stays in view: the level a model that learned
    // nothing sits at.
    let zero = zero.filter(|z| z.is_finite() && *z > 0.0);
    let (lo, hi) = match (pts.is_empty(), zero) {
        (true, None) => (1e-3, 10.0),
        (true, Some(z)) => (z / 100.0, z * 1.5),
        (false, z) => (lo.min(z.unwrap_or(lo)) / 1.5, hi.max(z.unwrap_or(hi)) * 1.5),
    };
    let x_max = steps.max(1) as f64;
    // Room on the right for the last step's label, and for the y ticks beside
    // their axis title.
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .margin_right(24)
        .x_label_area_size(34)
        .y_label_area_size(64)
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
    if let Some(z) = zero {
        let grey = RGBColor(110, 110, 110);
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, z), (x_max, z)],
            6,
            4,
            ShapeStyle::from(&grey).stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            "predicting 0",
            (x_max, z),
            (FONT, 12)
                .into_font()
                .color(&grey)
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        )))?;
    }
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

/// What the ICL chart draws: one evaluation set of a report, or before training the
/// baselines alone, faint (the ghost of the figure to come).
#[derive(Clone, Copy)]
struct IclData<'a> {
    eval: &'a EvalCurves,
    dims: usize,
    ghost: bool,
}

impl<'a> IclData<'a> {
    fn pick(
        report: Option<&'a EvalReport>,
        set: &str,
        ghost: Option<&'a EvalCurves>,
        dims: usize,
    ) -> Option<Self> {
        match report {
            Some(r) => r.eval(set).map(|eval| IclData {
                eval,
                dims: r.dims,
                ghost: false,
            }),
            None => ghost.map(|eval| IclData {
                eval,
                dims,
                ghost: true,
            }),
        }
    }
}

fn draw_icl<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    data: IclData,
    hidden: &[String],
) -> Result<Geometry, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let IclData { eval, dims, ghost } = data;
    let n = eval.k.len().max(2);
    let x_max = (n - 1) as f64;
    // Baselines, the model on top, then any curve that would hide under another,
    // dashed (super::chart_plan).
    let plan = icl_plan(eval, hidden);
    let y_max = plan.y_max;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .margin_right(18)
        .x_label_area_size(34)
        .y_label_area_size(52)
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
        .y_label_formatter(&|v| format_tick(*v))
        .draw()?;
    // k = d: where least squares can first pin the task down.
    let d = dims as f64;
    if d <= x_max {
        chart.draw_series(LineSeries::new(
            vec![(d, 0.0), (d, y_max)],
            ShapeStyle::from(&RGBColor(120, 120, 120)).stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("k = d = {dims}"),
            (d + 0.2, y_max * 0.97),
            (FONT, 12).into_font().color(&RGBColor(90, 90, 90)),
        )))?;
    }
    for curve in &plan.curves {
        let name = &curve.name;
        let c = &eval.curves[name];
        // The ghost: the same colours, faint.
        let col = if ghost {
            let RGBColor(r, g, b) = colour(name);
            let fade = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * 0.55) as u8;
            RGBColor(fade(r), fade(g), fade(b))
        } else {
            colour(name)
        };
        let clip = |v: f64| v.clamp(0.0, y_max);
        // ±1 standard error band (not for a dashed curve: the band of the curve it
        // lies on already shows where both are).
        if !curve.dashed && !ghost {
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
        }
        let width = if name == "model" { 3 } else { 2 };
        let pts: Vec<(f64, f64)> = c
            .mean
            .iter()
            .enumerate()
            .map(|(k, m)| (k as f64, clip(*m)))
            .collect();
        let style = ShapeStyle::from(&col).stroke_width(width);
        if curve.dashed {
            chart.draw_series(DashedLineSeries::new(pts.clone(), 7, 5, style))?;
        } else {
            chart.draw_series(LineSeries::new(pts.clone(), style))?;
        }
        if name == "model" {
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, col.filled())))?;
        }
        // Where the curve runs above the top: a triangle pointing up, on the edge.
        chart.draw_series(
            curve
                .clipped
                .iter()
                .map(|&k| TriangleMarker::new((k as f64, y_max), 5, col.filled())),
        )?;
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
    /// The zero predictor's training loss (regression), drawn as a reference line.
    #[prop_or_default]
    pub zero: Option<f64>,
}

/// Training loss against steps, log scale; hover reads the nearest logged step.
#[function_component(LossChart)]
pub fn loss_chart(props: &LossProps) -> Html {
    let canvas = use_node_ref();
    let resized = use_resized(&canvas);
    let geometry = use_mut_ref(Geometry::default);
    let hover = use_state(|| None::<(f64, String)>);
    {
        let canvas = canvas.clone();
        let geometry = geometry.clone();
        use_effect_with(
            (
                props.losses.clone(),
                props.steps,
                props.zero.map(f64::to_bits),
                resized,
            ),
            move |(losses, steps, zero, _)| {
                if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                    let t0 = now_ms();
                    let zero = zero.map(f64::from_bits);
                    match on_canvas(&c).and_then(|root| draw_loss(root, losses, *steps, zero)) {
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
    let loss_svg = {
        let (losses, steps, zero) = (props.losses.clone(), props.steps, props.zero);
        Callback::from(move |size| to_svg(size, |root| draw_loss(root, &losses, steps, zero)))
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
            <figcaption>{"Training loss"}<ExportButtons name="training-loss" canvas={canvas.clone()} svg={loss_svg} /></figcaption>
            <div class="chart-body">
                <canvas ref={canvas} class="chart-canvas" data-chart={ChartId::Loss.id()} data-points={props.losses.len().to_string()}
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
    /// The baselines before training, drawn faint until the first evaluation.
    #[prop_or_default]
    pub ghost: Option<Rc<EvalCurves>>,
    /// k = d is marked (the ghost's dimension; a report carries its own).
    #[prop_or_default]
    pub dims: usize,
    /// The legend (curve toggles), shown inside the card under the chart.
    #[prop_or_default]
    pub children: Html,
}

/// Normalised error against k for the model and the baselines, ±1 s.e. bands, a
/// marker at k = d; hover lists every visible curve at the nearest k.
#[function_component(IclChart)]
pub fn icl_chart(props: &IclProps) -> Html {
    let canvas = use_node_ref();
    let resized = use_resized(&canvas);
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
                props.ghost.clone(),
                props.dims,
                resized,
            ),
            move |(report, set, hidden, ghost, dims, _)| {
                let data = IclData::pick(report.as_deref(), set, ghost.as_deref(), *dims);
                if let (Some(c), Some(data)) = (canvas.cast::<HtmlCanvasElement>(), data) {
                    let t0 = now_ms();
                    match on_canvas(&c).and_then(|root| draw_icl(root, data, hidden)) {
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
    let icl_svg = {
        let (report, set, hidden) = (
            props.report.clone(),
            props.set.clone(),
            props.hidden.clone(),
        );
        Callback::from(move |size| {
            let r = report.clone()?;
            let data = IclData::pick(Some(&r), &set, None, r.dims)?;
            to_svg(size, |root| draw_icl(root, data, &hidden))
        })
    };
    html! {
        <figure class="chart">
            <figcaption>
                {"In-context learning curve"}
                if let Some(s) = step { <span class="muted">{format!(" · evaluated at step {s}")}</span> }
                <ExportButtons name={format!("icl-curve-{}", props.set)} canvas={canvas.clone()} svg={icl_svg} />
            </figcaption>
            <div class="chart-body">
                <canvas ref={canvas} class="chart-canvas" data-chart={ChartId::Icl.id()}
                    data-step={step.map(|s| s.to_string()).unwrap_or_default()}
                    role="img" aria-label="normalised squared error against the number of in-context examples, model and baselines"
                    {onmousemove} {onmouseleave}></canvas>
                if props.report.is_none() && props.ghost.is_some() {
                    <div class="chart-ghost" id="icl-ghost">{"Before training: the classical algorithms on this task. The transformer's curve joins them seconds after Train."}</div>
                } else if props.report.is_none() {
                    <div class="chart-empty">{"The curve appears at the first evaluation, within seconds of Train."}</div>
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
            { props.children.clone() }
        </figure>
    }
}

/// Colours of the history charts' lines ([`super::figures::line_rgb`]).
pub fn line_colour(key: &str) -> RGBColor {
    let (r, g, b) = super::figures::line_rgb(key);
    RGBColor(r, g, b)
}

pub fn css_line_colour(key: &str) -> String {
    let RGBColor(r, g, b) = line_colour(key);
    format!("rgb({r},{g},{b})")
}

/// Formats an x value, using the figure's own labels where it has them (∞, names).
fn x_text(fig: &Figure, x: f64) -> String {
    fig.x_labels
        .iter()
        .find(|(v, _)| (v - x).abs() < 1e-9 * v.abs().max(1.0))
        .map(|(_, l)| l.clone())
        .unwrap_or_else(|| format_tick(x))
}

fn draw_figure<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    fig: &Figure,
) -> Result<Geometry, Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let all = fig.drawn_points();
    if all.is_empty() {
        root.present()?;
        return Ok(Geometry::default());
    }
    let (x0, x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all
        .iter()
        .chain(
            fig.hlines
                .iter()
                .map(|(v, _)| (0.0, *v))
                .collect::<Vec<_>>()
                .iter(),
        )
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    // Room on both sides of a single point or a flat line.
    let (x0, x1) = if fig.x_log {
        (x0 / 1.3, x1 * 1.3)
    } else if x1 > x0 {
        let pad = (x1 - x0) * 0.04;
        (x0 - pad, x1 + pad)
    } else {
        (x0 - 0.5, x1 + 0.5)
    };
    let (y0, y1) = match fig.y_range {
        Some(r) => r,
        None if fig.y_log => (y0.max(1e-6) / 1.5, y1.max(1e-5) * 1.5),
        None => {
            let pad = ((y1 - y0) * 0.1).max(0.05);
            (y0 - pad, y1 + pad)
        }
    };
    let mut b = ChartBuilder::on(&root);
    b.margin(10).x_label_area_size(34).y_label_area_size(56);
    let y_fmt = |v: &f64| format_tick(*v);
    let x_fmt = |v: &f64| x_text(fig, *v);
    // Four axis combinations, one drawing routine.
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(fig.x_desc.as_str())
                .y_desc(fig.y_desc.as_str())
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 13))
                .light_line_style(RGBColor(238, 238, 238))
                .max_light_lines(1)
                .x_labels(7)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .draw()?;
            for (v, text) in &fig.hlines {
                let grey = RGBColor(110, 110, 110);
                chart.draw_series(DashedLineSeries::new(
                    vec![(x0, *v), (x1, *v)],
                    6,
                    4,
                    ShapeStyle::from(&grey).stroke_width(1),
                ))?;
                // Labelled at the right end, above the line.
                chart.draw_series(std::iter::once(Text::new(
                    text.clone(),
                    (x1, *v),
                    (FONT, 12)
                        .into_font()
                        .color(&grey)
                        .pos(Pos::new(HPos::Right, VPos::Bottom)),
                )))?;
            }
            for line in &fig.lines {
                let col = line_colour(&line.key);
                let style = ShapeStyle::from(&col).stroke_width(2);
                if line.dashed {
                    chart.draw_series(DashedLineSeries::new(line.points.clone(), 8, 5, style))?;
                } else {
                    chart.draw_series(LineSeries::new(line.points.clone(), style))?;
                }
                chart.draw_series(line.points.iter().map(|p| Circle::new(*p, 3, col.filled())))?;
                // Each seed as a small open circle, then ± 1 s.e. as a capped bar.
                chart.draw_series(
                    line.spread
                        .iter()
                        .map(|p| Circle::new(*p, 2, col.mix(0.55).stroke_width(1))),
                )?;
                chart.draw_series(line.bars().map(|(x, lo, mid, hi)| {
                    ErrorBar::new_vertical(x, lo, mid, hi, col.stroke_width(2), 8)
                }))?;
            }
            for m in &fig.marks {
                let ink = RGBColor(0, 0, 0);
                chart.draw_series(std::iter::once(Circle::new(m.at, 6, ink.stroke_width(2))))?;
                // Beside the mark, on the side with room.
                let right_half = m.at.0 > (x0 + x1) / 2.0;
                let h = if right_half { HPos::Right } else { HPos::Left };
                chart.draw_series(std::iter::once(Text::new(
                    format!(" {} ", m.text),
                    m.at,
                    (FONT, 12)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(h, VPos::Bottom)),
                )))?;
            }
            let (px, py) = chart.plotting_area().get_pixel_range();
            (px, py)
        }};
    }
    let (px, py) = match (fig.x_log, fig.y_log) {
        (false, false) => draw!(b.build_cartesian_2d(x0..x1, y0..y1)?),
        (true, false) => draw!(b.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, true) => draw!(b.build_cartesian_2d(
            x0..x1,
            (y0..y1).log_scale().with_key_points(log_ticks(y0, y1))
        )?),
        (true, true) => draw!(b.build_cartesian_2d(
            (x0..x1).log_scale(),
            (y0..y1).log_scale().with_key_points(log_ticks(y0, y1))
        )?),
    };
    root.present()?;
    Ok(Geometry {
        px: (px.start, px.end),
        py: (py.start, py.end),
        x: (x0, x1),
    })
}

#[derive(Properties, PartialEq)]
pub struct FigureProps {
    pub figure: Rc<Figure>,
}

/// Any [`Figure`]: lines with markers, reference lines, marks, a legend, a caption;
/// hover lists every line's value at the nearest x.
#[function_component(FigureChart)]
pub fn figure_chart(props: &FigureProps) -> Html {
    let canvas = use_node_ref();
    let resized = use_resized(&canvas);
    let geometry = use_mut_ref(Geometry::default);
    let hover = use_state(|| None::<(f64, Vec<(String, String)>)>);
    {
        let canvas = canvas.clone();
        let geometry = geometry.clone();
        use_effect_with((props.figure.clone(), resized), move |(fig, _)| {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                let t0 = now_ms();
                match on_canvas(&c).and_then(|root| draw_figure(root, fig)) {
                    Ok(g) => *geometry.borrow_mut() = g,
                    Err(e) => {
                        web_sys::console::warn_1(&format!("{} chart: {e}", fig.id.id()).into())
                    }
                }
                log_slow(fig.id.id(), t0);
            }
        });
    }
    let fig = props.figure.clone();
    let onmousemove = {
        let hover = hover.clone();
        let geometry = geometry.clone();
        let fig = fig.clone();
        Callback::from(move |e: MouseEvent| {
            let g = *geometry.borrow();
            let px = e.offset_x() as f64;
            let found = pixel_to_x(&g, px, fig.x_log).and_then(|x| {
                // the nearest x any line has a point at
                let near = fig
                    .lines
                    .iter()
                    .flat_map(|l| l.points.iter().map(|p| p.0))
                    .min_by(|a, b| {
                        distance(*a, x, fig.x_log).total_cmp(&distance(*b, x, fig.x_log))
                    })?;
                let rows: Vec<(String, String)> = fig
                    .lines
                    .iter()
                    .filter_map(|l| {
                        let i = l.points.iter().position(|p| p.0 == near)?;
                        let err = l
                            .error
                            .get(i)
                            .filter(|e| **e > 0.0)
                            .map(|e| format!(" ± {e:.3}"))
                            .unwrap_or_default();
                        Some((
                            l.key.clone(),
                            format!("{}: {:.3}{err}", l.label, l.points[i].1),
                        ))
                    })
                    .collect();
                Some((
                    px,
                    [(x_text(&fig, near), String::new())]
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
    let points: usize = fig.lines.iter().map(|l| l.points.len()).sum();
    let values = fig
        .lines
        .first()
        .map(|l| {
            l.points
                .iter()
                .map(|(x, y)| format!("{}:{y:.4}", x_text(&fig, *x)))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    // A seeded sweep's error bars (± 1 s.e.) of the first line, for tests and
    // screen readers alike; empty when it has none.
    let errors = fig
        .lines
        .first()
        .map(|l| {
            l.error
                .iter()
                .map(|e| format!("{e:.4}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let fig_svg = {
        let fig = fig.clone();
        Callback::from(move |size| to_svg(size, |root| draw_figure(root, &fig)))
    };
    html! {
        <figure class="chart">
            <figcaption>{fig.title.clone()}<ExportButtons name={fig.id.id()} canvas={canvas.clone()} svg={fig_svg} /></figcaption>
            <div class="chart-body">
                <canvas ref={canvas} class="chart-canvas" data-chart={fig.id.id()} data-points={points.to_string()}
                    data-values={values} data-errors={errors}
                    role="img" aria-label={format!("{}: {}", fig.title, fig.caption)}
                    {onmousemove} {onmouseleave}></canvas>
                if points == 0 {
                    <div class="chart-empty">{"Points appear as evaluations finish."}</div>
                }
                if let Some((x, rows)) = &*hover {
                    <div class="tooltip" style={format!("left:{}px", x + 12.0)}>
                        { for rows.iter().map(|(k, v)| if v.is_empty() {
                            html!{ <div><strong>{k.clone()}</strong></div> }
                        } else {
                            html!{ <div><span class="swatch" style={format!("background:{}", css_line_colour(k))}></span>{v.clone()}</div> }
                        }) }
                    </div>
                }
            </div>
            if fig.lines.len() > 1 || !fig.hlines.is_empty() {
                <div class="legend" aria-label="lines">
                    { for fig.lines.iter().map(|l| html!{
                        <span class="curve">
                            <span class={classes!("swatch", l.dashed.then_some("dashed"))}
                                style={format!("background:{};border-color:{}", if l.dashed { "transparent".to_string() } else { css_line_colour(&l.key) }, css_line_colour(&l.key))}></span>
                            {l.label.clone()}
                        </span>
                    }) }
                </div>
            }
            if !fig.caption.is_empty() {
                <p class="caption" data-caption={fig.id.id()}>{fig.caption.clone()}</p>
            }
        </figure>
    }
}

/// The data x under a pixel, on a linear or log axis.
fn pixel_to_x(g: &Geometry, px: f64, log: bool) -> Option<f64> {
    if !log {
        return g.data_x(px);
    }
    let lg = Geometry {
        x: (g.x.0.max(1e-12).ln(), g.x.1.max(1e-12).ln()),
        ..*g
    };
    lg.data_x(px).map(f64::exp)
}

fn distance(a: f64, b: f64, log: bool) -> f64 {
    if log {
        (a.max(1e-12).ln() - b.max(1e-12).ln()).abs()
    } else {
        (a - b).abs()
    }
}

/// A signed value on a colour-blind-safe diverging scale (ColorBrewer PuOr):
/// purple for negative, white at 0, orange for positive; `scale` is the largest |v|.
pub fn diverging(v: f64, scale: f64) -> String {
    let t = if scale > 0.0 {
        (v / scale).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (end, a) = if t < 0.0 {
        ((84.0, 39.0, 136.0), -t)
    } else {
        ((179.0, 88.0, 6.0), t)
    };
    let mix = |e: f64| (255.0 + (e - 255.0) * a).round() as u8;
    format!("rgb({},{},{})", mix(end.0), mix(end.1), mix(end.2))
}

#[derive(Properties, PartialEq)]
pub struct HeatmapProps {
    pub title: String,
    /// Row-major [dim, dim].
    pub values: Vec<f64>,
    pub dim: usize,
    /// The largest |v| of the colour scale (shared by a matrix and its construction).
    pub scale: f64,
}

/// A small matrix as a grid of coloured cells (rows and columns x_1 … x_d, y); each
/// cell's value is in its title and its aria-label.
#[function_component(Heatmap)]
pub fn heatmap(props: &HeatmapProps) -> Html {
    let dim = props.dim;
    let name = |i: usize| {
        if i + 1 == dim {
            "y".to_string()
        } else {
            format!("x{}", i + 1)
        }
    };
    html! {
        <div class="heatmap">
            <div class="heatmap-title">{props.title.clone()}</div>
            <div class="heatmap-grid" role="table" aria-label={props.title.clone()}
                style={format!("grid-template-columns: repeat({dim}, 1fr)")}>
                { for props.values.iter().enumerate().map(|(at, v)| {
                    let text = format!("{} → {}: {v:.3}", name(at / dim), name(at % dim));
                    html!{ <div class="cell" role="cell" title={text.clone()} aria-label={text}
                        style={format!("background:{}", diverging(*v, props.scale))}></div> }
                }) }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct LsaProps {
    pub heads: Rc<Vec<crate::lens::lsa::HeadView>>,
}

/// von Oswald's picture: each head's W_KQ and W_PV beside the gradient-descent
/// construction at the same scale, with how much of each follows it.
#[function_component(LsaWeights)]
pub fn lsa_weights(props: &LsaProps) -> Html {
    html! {
        <figure class="chart" data-chart={ChartId::Lsa.id()}>
            <figcaption>{"Linear self-attention weights beside the GD construction"}</figcaption>
            { for props.heads.iter().map(|h| {
                let (kq_gd, pv_gd) = h.construction();
                let amax = |m: &[f64]| m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                let (skq, spv) = (amax(&h.kq), amax(&h.pv));
                html!{
                    <div class="lsa-head">
                        <div class="lsa-label">{format!("layer {}, head {}", h.layer + 1, h.head + 1)}</div>
                        <div class="heatmaps">
                            <Heatmap title="W_KQ (trained)" values={h.kq.clone()} dim={h.dim} scale={skq} />
                            <Heatmap title="GD: c·I on x" values={kq_gd} dim={h.dim} scale={skq} />
                            <Heatmap title="W_PV (trained)" values={h.pv.clone()} dim={h.dim} scale={spv} />
                            <Heatmap title="GD: η on y → y" values={pv_gd} dim={h.dim} scale={spv} />
                        </div>
                        <p class="caption" data-caption="lsa">{format!(
                            "W_KQ: {:.0} % of its weight on x–x, cosine {:.2} to the identity there; W_PV: {:.0} % on y → y. The GD construction is 100 %, 1.00, 100 %.",
                            100.0 * h.kq_share, h.kq_identity, 100.0 * h.pv_share
                        )}</p>
                    </div>
                }
            }) }
            <div class="legend"><span class="curve">
                <span class="swatch" style={format!("background:{}", diverging(-1.0, 1.0))}></span>{"negative"}
            </span><span class="curve">
                <span class="swatch" style={format!("background:{}", diverging(1.0, 1.0))}></span>{"positive (hover a cell for its value)"}
            </span></div>
        </figure>
    }
}

/// A weight in [0, 1] on a colour-blind-safe sequential scale (ColorBrewer Blues:
/// white for 0, dark blue for 1).
pub fn sequential(v: f64) -> String {
    let t = v.clamp(0.0, 1.0);
    let end = (8.0, 48.0, 107.0);
    let mix = |e: f64| (255.0 + (e - 255.0) * t).round() as u8;
    format!("rgb({},{},{})", mix(end.0), mix(end.1), mix(end.2))
}

#[derive(Properties, PartialEq)]
pub struct AttentionMapProps {
    /// `L2H1`.
    pub title: String,
    /// What each position holds.
    pub labels: Rc<Vec<String>>,
    /// Row-major [seq, seq]: row = the attending (query) position.
    pub weights: Rc<Vec<f32>>,
}

/// One head's attention pattern as a grid: rows attend, columns are attended to;
/// hovering a cell names both tokens and the weight (also its aria-label).
#[function_component(AttentionMap)]
pub fn attention_map(props: &AttentionMapProps) -> Html {
    let seq = props.labels.len();
    html! {
        <div class="attention-map heatmap-grid" role="table" aria-label={format!("attention of {}", props.title)}
            data-head={props.title.clone()}
            style={format!("grid-template-columns: repeat({seq}, 1fr)")}>
            { for props.weights.iter().enumerate().map(|(at, w)| {
                let (i, j) = (at / seq, at % seq);
                if j > i {
                    return html!{ <div class="cell masked" role="cell" aria-hidden="true"></div> };
                }
                let text = format!(
                    "{} (position {}) → {} (position {}): {w:.3}",
                    props.labels[i], i + 1, props.labels[j], j + 1
                );
                html!{ <div class="cell" role="cell" title={text.clone()} aria-label={text}
                    style={format!("background:{}", sequential(*w as f64))}></div> }
            }) }
        </div>
    }
}
