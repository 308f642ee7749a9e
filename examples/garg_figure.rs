//! Reproduces Garg et al.'s figure for linear regression: normalised squared error
//! against the number of in-context examples k, for the model and the baselines.
//!
//!     cargo run --release --example garg_figure -- [RUN_DIR] [OUT.svg]
//!
//! With a run directory written by `icl-lab train` it plots that run's eval.json;
//! without one it trains the `garg-tiny` preset first (its full length, on the CPU).
//! The drawing is `icl_lab::figure::icl_curve_svg`, which the results page of
//! `icl-lab reproduce` uses too.

use std::path::PathBuf;

use burn::tensor::Device;

use icl_lab::eval::{EvalReport, evaluate};
use icl_lab::figure::icl_curve_svg;
use icl_lab::presets::preset;
use icl_lab::train::Trainer;

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
    let svg = icl_curve_svg(&report, "fresh", &title).ok_or("eval.json has no fresh evaluation")?;
    std::fs::write(&out, svg)?;
    eprintln!("wrote {out}");
    Ok(())
}
