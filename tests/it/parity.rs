//! Parity with an independent implementation: the weights, one batch, the loss and
//! every gradient of a tiny Garg-style model computed by PyTorch (float64,
//! `tests/fixtures/parity_garg.json`, written by `scripts/parity_fixture.py`) are
//! loaded into ICL Lab's model, whose loss and gradients must agree to 1e-4
//! relative. It guards the model, the kernels and burn's version: any change that
//! alters what the model computes fails here.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use icl_lab::config::{Encoding, Experiment, ModelConfig};
use icl_lab::model::{ModelInput, Transformer, TransformerConfig};
use icl_lab::prompt::Prompt;
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

const TOLERANCE: f64 = 1e-4;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/parity_garg.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// A nested JSON array of numbers, flattened row-major, with its shape.
fn array(v: &Value) -> (Vec<f64>, Vec<usize>) {
    match v {
        Value::Array(items) => {
            let parts: Vec<_> = items.iter().map(array).collect();
            let mut shape = vec![items.len()];
            shape.extend(parts.first().map(|p| p.1.clone()).unwrap_or_default());
            (parts.into_iter().flat_map(|p| p.0).collect(), shape)
        }
        Value::Number(n) => (vec![n.as_f64().unwrap()], vec![]),
        other => panic!("not a number array: {other}"),
    }
}

struct Fixture {
    exp: Experiment,
    params: Value,
    grads: Value,
    prompts: Vec<Prompt>,
    loss: f64,
}

fn load() -> Fixture {
    let f = fixture();
    let c = &f["config"];
    let n = |k: &str| c[k].as_u64().unwrap() as usize;
    let mut exp = Experiment::default();
    exp.task.dims = n("d");
    exp.task.points = n("points");
    exp.task.encoding = Encoding::Interleaved;
    exp.model = ModelConfig {
        layers: n("layers"),
        heads: n("heads"),
        width: n("width"),
        ..ModelConfig::default()
    };
    let (xs, xs_shape) = array(&f["xs"]);
    let (ys, _) = array(&f["ys"]);
    let [b, p, d] = xs_shape[..] else {
        panic!("xs shape {xs_shape:?}")
    };
    let prompts = (0..b)
        .map(|i| Prompt {
            xs: DMatrix::from_fn(p, d, |r, c| xs[(i * p + r) * d + c]),
            ys: DVector::from_fn(p, |r, _| ys[i * p + r]),
            noise_std: 0.0,
            task_index: None,
            queries: None,
        })
        .collect();
    Fixture {
        exp,
        params: f["params"].clone(),
        grads: f["grads"].clone(),
        prompts,
        loss: f["loss"].as_f64().unwrap(),
    }
}

fn tensor<const D: usize>(values: Vec<f64>, shape: [usize; D]) -> Tensor<D> {
    let v: Vec<f32> = values.into_iter().map(|x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), &Device::flex())
}

fn param<const D: usize>(v: &Value) -> Param<Tensor<D>> {
    let (values, shape) = array(v);
    Param::from_tensor(tensor(values, shape.try_into().expect("rank")))
}

/// Columns `part` (0 = q, 1 = k, 2 = v) of the reference's fused [w, 3w] qkv
/// weight, or of its [3w] bias.
fn qkv_part(v: &Value, part: usize, width: usize) -> Value {
    let cols = part * width..(part + 1) * width;
    match v {
        Value::Array(rows) if rows.first().is_some_and(Value::is_array) => Value::Array(
            rows.iter()
                .map(|r| Value::Array(r.as_array().unwrap()[cols.clone()].to_vec()))
                .collect(),
        ),
        Value::Array(bias) => Value::Array(bias[cols].to_vec()),
        other => panic!("qkv {other}"),
    }
}

/// The reference's parameters in ICL Lab's model (names of `export_params`).
fn load_weights(model: &mut Transformer, p: &Value, width: usize) {
    let linear = |l: &mut burn::nn::Linear, w: &Value, b: &Value| {
        l.weight = param(w);
        l.bias = Some(param(b));
    };
    let norm = |n: &mut burn::nn::LayerNorm, name: &str| {
        n.gamma = param(&p[format!("{name}.g")]);
        n.beta = Some(param(&p[format!("{name}.b")]));
    };
    linear(
        model.read_in.as_mut().unwrap(),
        &p["read_in.w"],
        &p["read_in.b"],
    );
    linear(
        model.read_out.as_mut().unwrap(),
        &p["read_out.w"],
        &p["read_out.b"],
    );
    model.positions.as_mut().unwrap().weight = param(&p["wpe"]);
    norm(model.ln_final.as_mut().unwrap(), "ln_f");
    for (i, block) in model.blocks.iter_mut().enumerate() {
        let h = |s: &str| format!("h{i}.{s}");
        let a = &mut block.attention;
        for (part, l) in [&mut a.query, &mut a.key, &mut a.value]
            .into_iter()
            .enumerate()
        {
            linear(
                l,
                &qkv_part(&p[h("qkv.w")], part, width),
                &qkv_part(&p[h("qkv.b")], part, width),
            );
        }
        linear(&mut a.output, &p[h("attn_out.w")], &p[h("attn_out.b")]);
        norm(block.ln_attn.as_mut().unwrap(), &h("ln1"));
        let mlp = block.mlp.as_mut().unwrap();
        norm(&mut mlp.ln, &h("ln2"));
        linear(&mut mlp.fc, &p[h("fc.w")], &p[h("fc.b")]);
        linear(&mut mlp.proj, &p[h("mlp_out.w")], &p[h("mlp_out.b")]);
    }
}

/// ICL Lab's model of the fixture's shape, holding the reference's weights.
fn reference_model(f: &Fixture, device: &Device) -> Transformer {
    let e = &f.exp;
    let mut model = TransformerConfig {
        model: e.model.clone(),
        token_dim: e.token_dim(),
        max_seq: e.max_seq_len(),
        outputs: e.outputs(),
    }
    .init(device);
    load_weights(&mut model, &f.params, e.model.width);
    model
}

/// ‖a − b‖ / ‖b‖ over one parameter's gradient.
fn relative_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let diff: f64 = got.iter().zip(want).map(|(g, w)| (g - w).powi(2)).sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    (diff / norm.max(1e-300)).sqrt()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn loss_and_every_gradient_match_an_independent_pytorch_model() {
    let f = load();
    let e = &f.exp;
    let cpu = Device::flex();
    let model = reference_model(&f, &cpu);
    let dev = cpu.autodiff();
    let model = model.fork(&dev).train();

    let input = ModelInput::new(&e.task.encoding.encode(&f.prompts), &dev);
    let loss = model.loss(&input);
    let got_loss = values(loss.clone())[0];
    let grads = loss.backward();
    let rel_loss = (got_loss - f.loss).abs() / f.loss.abs();
    eprintln!(
        "loss: icl-lab {got_loss:.8}, reference {:.8} (rel {rel_loss:.1e})",
        f.loss
    );
    assert!(rel_loss < TOLERANCE, "loss {got_loss} vs {}", f.loss);

    // Every gradient, by the reference's names; q, k, v against the fused qkv.
    let grad = |p: &Param<Tensor<2>>| values(p.val().grad(&grads).expect("a gradient"));
    let grad1 = |p: &Param<Tensor<1>>| values(p.val().grad(&grads).expect("a gradient"));
    compare_gradients(&f, &model, grad, grad1);
}

/// The CPU's fused engine (src/fused.rs), which trains the regression transformer,
/// computes the same loss and gradients from the same weights and batch.
#[test]
fn the_fused_engine_matches_the_independent_pytorch_model_too() {
    let f = load();
    let e = &f.exp;
    let cpu = Device::flex();
    let model = reference_model(&f, &cpu);
    let mut fused = icl_lab::fused::Fused::from_model(e, &model);
    let got_loss = fused.loss_and_grad(&e.task.encoding.encode(&f.prompts)) as f64;
    let rel_loss = (got_loss - f.loss).abs() / f.loss.abs();
    eprintln!(
        "loss: fused {got_loss:.8}, reference {:.8} (rel {rel_loss:.1e})",
        f.loss
    );
    assert!(rel_loss < TOLERANCE, "loss {got_loss} vs {}", f.loss);
    // The gradient written into a model of the same shape: its weights are the
    // gradient.
    let grads = fused.gradient_model(&model);
    compare_gradients(
        &f,
        &grads,
        |p: &Param<Tensor<2>>| values(p.val()),
        |p: &Param<Tensor<1>>| values(p.val()),
    );
}

/// Every parameter's gradient against the reference's, by its names; `grad` and
/// `grad1` read a parameter's gradient.
fn compare_gradients(
    f: &Fixture,
    model: &Transformer,
    grad: impl Fn(&Param<Tensor<2>>) -> Vec<f64>,
    grad1: impl Fn(&Param<Tensor<1>>) -> Vec<f64>,
) {
    let e = &f.exp;
    let mut checked = Vec::new();
    let mut check = |name: String, got: Vec<f64>, want: &Value| {
        let (want, _) = array(want);
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if name.ends_with("qkv.b[1]") {
            // The key bias adds q·b to every score of a row, which the softmax
            // ignores: its gradient is zero up to rounding in both models.
            assert!(norm(&want) < 1e-9 && norm(&got) < 1e-6, "{name}: not ~0");
            checked.push((name, 0.0));
            return;
        }
        let rel = relative_error(&got, &want);
        assert!(rel < TOLERANCE, "{name}: relative error {rel:.2e}");
        checked.push((name, rel));
    };
    let w = e.model.width;
    let g = &f.grads;
    let lin = |l: &burn::nn::Linear| (grad(&l.weight), grad1(l.bias.as_ref().unwrap()));
    let (rw, rb) = lin(model.read_in.as_ref().unwrap());
    check("read_in.w".into(), rw, &g["read_in.w"]);
    check("read_in.b".into(), rb, &g["read_in.b"]);
    let (ow, ob) = lin(model.read_out.as_ref().unwrap());
    check("read_out.w".into(), ow, &g["read_out.w"]);
    check("read_out.b".into(), ob, &g["read_out.b"]);
    check(
        "wpe".into(),
        grad(&model.positions.as_ref().unwrap().weight),
        &g["wpe"],
    );
    let ln = |n: &burn::nn::LayerNorm| (grad1(&n.gamma), grad1(n.beta.as_ref().unwrap()));
    let (lg, lb) = ln(model.ln_final.as_ref().unwrap());
    check("ln_f.g".into(), lg, &g["ln_f.g"]);
    check("ln_f.b".into(), lb, &g["ln_f.b"]);
    for (i, block) in model.blocks.iter().enumerate() {
        let h = |s: &str| format!("h{i}.{s}");
        let a = &block.attention;
        for (part, l) in [&a.query, &a.key, &a.value].into_iter().enumerate() {
            let (lw, lb) = lin(l);
            check(
                h(&format!("qkv.w[{part}]")),
                lw,
                &qkv_part(&g[h("qkv.w")], part, w),
            );
            check(
                h(&format!("qkv.b[{part}]")),
                lb,
                &qkv_part(&g[h("qkv.b")], part, w),
            );
        }
        let (aw, ab) = lin(&a.output);
        check(h("attn_out.w"), aw, &g[h("attn_out.w")]);
        check(h("attn_out.b"), ab, &g[h("attn_out.b")]);
        let (g1, b1) = ln(block.ln_attn.as_ref().unwrap());
        check(h("ln1.g"), g1, &g[h("ln1.g")]);
        check(h("ln1.b"), b1, &g[h("ln1.b")]);
        let mlp = block.mlp.as_ref().unwrap();
        let (g2, b2) = ln(&mlp.ln);
        check(h("ln2.g"), g2, &g[h("ln2.g")]);
        check(h("ln2.b"), b2, &g[h("ln2.b")]);
        let (fw, fb) = lin(&mlp.fc);
        check(h("fc.w"), fw, &g[h("fc.w")]);
        check(h("fc.b"), fb, &g[h("fc.b")]);
        let (pw, pb) = lin(&mlp.proj);
        check(h("mlp_out.w"), pw, &g[h("mlp_out.w")]);
        check(h("mlp_out.b"), pb, &g[h("mlp_out.b")]);
    }
    let worst = checked
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("gradients checked");
    eprintln!(
        "{} gradients within {TOLERANCE:.0e}; worst {} at {:.1e}",
        checked.len(),
        worst.0,
        worst.1
    );
    // Every parameter of the model was compared (q, k, v count three times for qkv).
    let reference_params = g.as_object().unwrap().len();
    assert_eq!(checked.len(), reference_params + 4 * e.model.layers);
    assert_eq!(model.num_params(), {
        let p = f.params.as_object().unwrap();
        p.values().map(|v| array(v).0.len()).sum::<usize>()
    });
}

/// The initialisation is the scheme `src/model.rs` documents (Garg / GPT-2): read-in
/// and read-out U(±1/√fan_in) for weight and bias, inner weights N(0, 0.02),
/// residual-writing weights N(0, 0.02/√(2L)), inner biases 0.
#[test]
fn initialisation_follows_gpt2() {
    let mut e = Experiment::default();
    e.model.layers = 4;
    e.model.width = 128;
    let m = icl_lab::model::init_model(&e, &Device::flex());
    let stats = |t: Tensor<2>| {
        let v = values(t);
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        let max = v.iter().fold(0f64, |a, x| a.max(x.abs()));
        (mean, sd, max)
    };
    let near = |got: f64, want: f64, what: &str| {
        assert!(
            (got / want - 1.0).abs() < 0.05,
            "{what}: sd {got:.5} vs {want:.5}"
        );
    };
    let b = &m.blocks[0];
    near(stats(b.attention.query.weight.val()).1, 0.02, "query");
    near(
        stats(b.mlp.as_ref().unwrap().fc.weight.val()).1,
        0.02,
        "mlp fc",
    );
    let scaled = 0.02 / 8f64.sqrt();
    near(
        stats(b.attention.output.weight.val()).1,
        scaled,
        "attention out",
    );
    near(
        stats(b.mlp.as_ref().unwrap().proj.weight.val()).1,
        scaled,
        "mlp out",
    );
    near(
        stats(m.positions.as_ref().unwrap().weight.val()).1,
        0.02,
        "positions",
    );
    let bias = values(b.attention.value.bias.as_ref().unwrap().val());
    assert!(bias.iter().all(|x| *x == 0.0), "inner biases are 0");
    // U(±1/√fan_in): sd 1/√(3·fan_in), nothing beyond the bound.
    for (l, fan_in) in [
        (m.read_in.as_ref().unwrap(), e.token_dim()),
        (m.read_out.as_ref().unwrap(), e.model.width),
    ] {
        let bound = 1.0 / (fan_in as f64).sqrt();
        let (_, sd, max) = stats(l.weight.val());
        assert!(max <= bound && max > 0.8 * bound, "{max} vs bound {bound}");
        if l.weight.val().dims().iter().product::<usize>() > 500 {
            near(sd, bound / 3f64.sqrt(), "read-in/out");
        }
        let b = values(l.bias.as_ref().unwrap().val());
        assert!(b.iter().all(|x| x.abs() <= bound) && b.iter().any(|x| *x != 0.0));
    }
}
