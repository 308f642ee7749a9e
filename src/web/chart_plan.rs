//! What the charts draw, decided without a canvas so it is tested natively: round
//! axis ticks, the ICL chart's y range, which curves would hide one another (the
//! later one is then drawn dashed on top and named with the one it covers), and
//! where a curve leaves the top of the chart (a marker says so).

use crate::eval::EvalCurves;

/// Log-axis ticks inside [lo, hi], all round: 1, 2 and 5 × 10^e where the range
/// holds at least three of them, else every whole multiple of a finer round step
/// (a loss between 3 and 8 gets 3, 4, 5, 6, 7, 8, not 3.312 and 4.985).
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo) {
        return Vec::new();
    }
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
    if ticks.len() >= 3 {
        return ticks;
    }
    linear_ticks(lo, hi, 5)
}

/// Whole multiples of a round step (1, 2 or 5 × 10^e) inside [lo, hi], about
/// `target` of them (never fewer than two for a non-empty range).
pub fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mut step = nice_step(raw);
    loop {
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        if last - first >= 1 || step < (hi - lo) * 1e-9 {
            // Rounded to the step's own precision, so 0.30000000000000004 reads 0.3.
            let digits = (-step.log10().floor()).max(0.0) as i32 + 1;
            let scale = 10f64.powi(digits);
            return (first..=last)
                .map(|i| (i as f64 * step * scale).round() / scale)
                .collect();
        }
        step = nice_step(step / 2.0 * 0.999);
    }
}

/// The round number (1, 2 or 5 × 10^e) nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    let e = raw.log10().floor();
    let base = 10f64.powf(e);
    let m = raw / base;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// A tick label: at most three decimals, exponent form outside 0.01 … 1000.
pub fn format_tick(v: f64) -> String {
    if v.abs() < 1e-12 {
        "0".into()
    } else if (0.01..1000.0).contains(&v.abs()) {
        format!("{}", (v * 1000.0).round() / 1000.0)
    } else if v.abs() >= 1000.0 && v.fract() == 0.0 && v.abs() < 1e6 {
        format!("{v:.0}")
    } else {
        format!("{v:.0e}")
    }
}

/// How one curve of the ICL chart is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePlan {
    pub name: String,
    /// Drawn dashed, after the curves it would otherwise hide under.
    pub dashed: bool,
    /// The curve drawn earlier that this one lies on (within a few pixels
    /// everywhere): the legend says "= that one".
    pub same_as: Option<String>,
    /// The k at which the curve is above the chart's top (drawn at the top, with a
    /// marker).
    pub clipped: Vec<usize>,
}

/// The ICL chart: its y range and the curves in drawing order (later on top).
#[derive(Clone, Debug, PartialEq)]
pub struct IclPlan {
    pub y_max: f64,
    pub curves: Vec<CurvePlan>,
}

/// Curves closer than this share of the y range at every k look like one line.
pub const SAME_LINE: f64 = 0.02;
/// The y axis shows at most this (errors of least squares near k = d with noise run
/// to the hundreds; the region where ICL happens is 0 … ~1).
pub const Y_CAP: f64 = 4.0;

/// Plans the ICL chart of `eval` with the curves in `hidden` left out: room for the
/// zero predictor (≈ 1) and the model; baselines first, the model on top of them,
/// then any curve that would hide under one drawn before it, dashed.
pub fn icl_plan(eval: &EvalCurves, hidden: &[String]) -> IclPlan {
    let model_max = eval.curves.get("model").map_or(1.0, |c| {
        c.mean
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    });
    let y_max = (model_max.max(1.0) * 1.15).min(Y_CAP);
    let mut names: Vec<&String> = eval.curves.keys().filter(|n| !hidden.contains(n)).collect();
    // Baselines first (in the report's order), the model on top.
    names.sort_by_key(|n| *n == "model");
    let mut solid: Vec<&String> = Vec::new();
    let mut on_top: Vec<CurvePlan> = Vec::new();
    let mut plans: Vec<CurvePlan> = Vec::new();
    for name in names {
        let c = &eval.curves[name];
        let clipped = c
            .mean
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_finite() && **m > y_max)
            .map(|(k, _)| k)
            .collect();
        // The model is never the dashed one: it is the line the page is about.
        let covers = (name != "model")
            .then(|| {
                solid
                    .iter()
                    .find(|other| lies_on(&c.mean, &eval.curves[**other].mean, y_max))
            })
            .flatten();
        let plan = CurvePlan {
            name: name.clone(),
            dashed: covers.is_some(),
            same_as: covers.map(|o| (*o).clone()),
            clipped,
        };
        if plan.dashed {
            on_top.push(plan);
        } else {
            solid.push(name);
            plans.push(plan);
        }
    }
    // A baseline the untrained model lies on (zero) is drawn after the model.
    if let Some(model_at) = plans.iter().position(|p| p.name == "model") {
        let model = &eval.curves["model"];
        let under_model: Vec<usize> = (0..model_at)
            .filter(|&i| lies_on(&model.mean, &eval.curves[&plans[i].name].mean, y_max))
            .collect();
        for i in under_model.into_iter().rev() {
            let mut p = plans.remove(i);
            p.dashed = true;
            p.same_as = Some("model".into());
            on_top.insert(0, p);
        }
    }
    plans.extend(on_top);
    IclPlan {
        y_max,
        curves: plans,
    }
}

/// Whether curve `a` would hide `b` (or the other way round) on a chart `y_max`
/// high: within [`SAME_LINE`] of the range at every k both have, as drawn (clipped
/// to the chart).
fn lies_on(a: &[f64], b: &[f64], y_max: f64) -> bool {
    let shown = |v: f64| v.clamp(0.0, y_max);
    let mut pairs = a
        .iter()
        .zip(b)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .peekable();
    pairs.peek().is_some() && pairs.all(|(a, b)| (shown(*a) - shown(*b)).abs() <= SAME_LINE * y_max)
}

/// The legend's words for a curve drawn on another: "least squares (dashed: on
/// ridge)".
pub fn same_as_note(plan: &CurvePlan, label: impl Fn(&str) -> String) -> Option<String> {
    plan.same_as
        .as_ref()
        .map(|o| format!("dashed: lies on {}", label(o)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curve::Curve;
    use std::collections::BTreeMap;

    fn curve(mean: &[f64]) -> Curve {
        Curve {
            mean: mean.to_vec(),
            stderr: vec![0.01; mean.len()],
        }
    }

    fn eval(curves: &[(&str, &[f64])]) -> EvalCurves {
        EvalCurves {
            name: "fresh".into(),
            x_dist: "gaussian".into(),
            k: (0..curves[0].1.len()).collect(),
            curves: curves
                .iter()
                .map(|(n, m)| (n.to_string(), curve(m)))
                .collect::<BTreeMap<_, _>>(),
            distance: BTreeMap::new(),
        }
    }

    fn round(t: f64) -> bool {
        // One or two significant digits, as a person would write a tick.
        let e = t.abs().log10().floor();
        let m = t / 10f64.powf(e - 1.0);
        (m - m.round()).abs() < 1e-6
    }

    #[test]
    fn ticks_are_round_numbers_on_any_range() {
        // The loss chart's odd ticks (7.504, 4.985, 3.312) came from a range within
        // one decade that holds fewer than two of 1, 2, 5.
        for (lo, hi) in [
            (3.0, 8.0),
            (2.1, 7.9),
            (0.31, 0.39),
            (1e-3, 10.0),
            (12.0, 19.0),
            (0.5, 1.4),
        ] {
            let t = log_ticks(lo, hi);
            assert!(t.len() >= 2, "{lo}..{hi}: {t:?}");
            assert!(t.iter().all(|&x| x >= lo && x <= hi), "{lo}..{hi}: {t:?}");
            assert!(t.iter().all(|&x| round(x)), "{lo}..{hi}: {t:?}");
            assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
        }
        assert_eq!(log_ticks(3.0, 8.0), vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let decades = log_ticks(0.001, 0.1);
        let want = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
        assert_eq!(decades.len(), want.len(), "{decades:?}");
        assert!(
            decades
                .iter()
                .zip(want)
                .all(|(a, b)| (a / b - 1.0).abs() < 1e-9)
        );
        assert_eq!(
            linear_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert!(log_ticks(-1.0, 2.0).is_empty() && log_ticks(2.0, 2.0).is_empty());
        assert_eq!(format_tick(0.3), "0.3");
        assert_eq!(format_tick(1500.0), "1500");
        assert_eq!(format_tick(2e-4), "2e-4");
    }

    #[test]
    fn a_curve_on_another_is_dashed_on_top_and_named_with_it() {
        // Least squares equals ridge with σ = 0: drawn under it, it was invisible.
        let e = eval(&[
            ("averaging", &[1.0, 0.9, 0.85, 0.8]),
            ("least_squares", &[1.0, 0.5, 0.2, 0.0]),
            ("model", &[1.0, 0.7, 0.4, 0.2]),
            ("ridge", &[1.0, 0.505, 0.2, 0.001]),
        ]);
        let p = icl_plan(&e, &[]);
        let order: Vec<&str> = p.curves.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(order, ["averaging", "least_squares", "model", "ridge"]);
        let ridge = &p.curves[3];
        assert!(ridge.dashed);
        assert_eq!(ridge.same_as.as_deref(), Some("least_squares"));
        assert_eq!(
            same_as_note(ridge, |n| n.replace('_', " ")).as_deref(),
            Some("dashed: lies on least squares")
        );
        assert!(p.curves[..3].iter().all(|c| !c.dashed));
        // Hidden, it covers nothing.
        let p = icl_plan(&e, &["least_squares".to_string()]);
        assert!(p.curves.iter().all(|c| !c.dashed));
    }

    #[test]
    fn the_zero_line_is_drawn_over_an_untrained_model_and_curves_apart_stay_solid() {
        let e = eval(&[
            ("least_squares", &[1.0, 0.5, 0.2, 0.0]),
            ("model", &[1.01, 1.0, 0.99, 1.0]),
            ("zero", &[1.0, 1.0, 1.0, 1.0]),
        ]);
        let p = icl_plan(&e, &[]);
        let last = p.curves.last().unwrap();
        assert_eq!(
            (last.name.as_str(), last.dashed, last.same_as.as_deref()),
            ("zero", true, Some("model"))
        );
        // Trained, the model leaves the zero line: nothing dashed.
        let e = eval(&[
            ("model", &[1.0, 0.6, 0.3, 0.1]),
            ("zero", &[1.0, 1.0, 1.0, 1.0]),
        ]);
        assert!(icl_plan(&e, &[]).curves.iter().all(|c| !c.dashed));
    }

    #[test]
    fn a_curve_above_the_top_is_marked_where_it_leaves() {
        // Averaging and 3-NN at k < 5 run far above the model's range.
        let e = eval(&[
            ("knn_3", &[9.0, 7.0, 5.0, 3.0, 0.9]),
            ("model", &[1.0, 0.8, 0.6, 0.4, 0.2]),
        ]);
        let p = icl_plan(&e, &[]);
        assert!((p.y_max - 1.15).abs() < 1e-9);
        assert_eq!(p.curves[0].clipped, vec![0, 1, 2, 3]);
        assert!(p.curves[1].clipped.is_empty());
        // The axis never grows past the cap, whatever the model does.
        let e = eval(&[("model", &[50.0, 40.0])]);
        let p = icl_plan(&e, &[]);
        assert_eq!(p.y_max, Y_CAP);
        assert_eq!(p.curves[0].clipped, vec![0, 1]);
    }
}
