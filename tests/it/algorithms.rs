//! End-to-end: a trained one-layer linear self-attention model runs one step of
//! gradient descent in context (von Oswald 2023), seen through its implicit weights.

use burn::tensor::Device;
use icl_lab::eval::{EvalSet, eval_prompts};
use icl_lab::lens::algorithms::{algorithm_match, implicit_weights};
use icl_lab::predict::model_function;
use icl_lab::presets::preset;
use icl_lab::train::Trainer;

#[test]
fn a_trained_linear_self_attention_layer_matches_one_gd_step_not_least_squares() {
    let e = preset("lsa-equals-gd").unwrap();
    let dev = Device::flex();
    let mut t = Trainer::new(&e, &dev);
    t.run_to_end().unwrap();
    let model = t.model();
    let mut prompts = eval_prompts(&e, &t.source, EvalSet::Fresh, &e.x_dist);
    prompts.truncate(128);
    let mut f = model_function(&model, &dev);
    let w = implicit_weights(&prompts, e.task.encoding, 1.0, &mut f).unwrap();
    let preds = f(&e.task.encoding.encode(&prompts));
    let m = algorithm_match(&prompts, &w, &preds, 1.0, 2);
    let mean = |name: &str| m.mean_cosine(name).unwrap();
    let (gd, ls) = (mean("gd_1"), mean("least_squares"));
    eprintln!(
        "mean cosine over k = 2…{}: gd_1 {gd:.4}, least squares {ls:.4}",
        e.task.points - 1
    );
    assert!(gd > 0.99, "gd_1 {gd}");
    assert!(gd > ls + 0.05, "gd_1 {gd} vs least squares {ls}");
    // and by prediction difference too, at k = d where least squares is exact
    let i = m.k.iter().position(|&k| k == e.task.dims).unwrap();
    assert!(
        m.prediction_difference["gd_1"][i] < m.prediction_difference["least_squares"][i],
        "{:?}",
        m.prediction_difference
    );
    // And in its weights: von Oswald's construction, W_KQ ∝ I on the inputs and
    // W_PV copying y into the y slot (measured: 0.999, 0.999, 0.997).
    let view = futures_lite::future::block_on(icl_lab::predict::lsa_view(&model)).unwrap();
    let h = &view[0];
    eprintln!(
        "W_KQ: {:.3} of its weight on x–x, cosine {:.3} to I; W_PV: {:.3} on y → y",
        h.kq_share, h.kq_identity, h.pv_share
    );
    assert!(
        h.kq_identity > 0.95 && h.kq_share > 0.9 && h.pv_share > 0.9,
        "{h:?}"
    );
}
