#!/usr/bin/env python3
"""Writes tests/fixtures/parity_garg.json: a tiny Garg-style model's weights, one
batch, its loss and every gradient, computed by an independent PyTorch
implementation of the model. `tests/parity.rs` loads the weights into ICL Lab's
model and checks that the loss and each gradient agree to 1e-4 relative.

The independent implementation is `icl_ref_torch.py` (Garg's interleaved tokens,
pre-LayerNorm GPT-2 blocks, read-out at the x tokens, MSE over all positions; see
docs/parity.md). It is not part of this repository: pass the folder that holds it.

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy
    /tmp/torchenv/bin/python scripts/parity_fixture.py --reference DIR

What the script changes in the reference, and why:
- float64 throughout, so the fixture is exact to far below the test's tolerance and
  the comparison measures ICL Lab's f32 model only;
- exact (erf) GELU instead of the tanh approximation: ICL Lab uses the exact form
  (faster on its CPU backend; the two differ by < 1e-3);
- every parameter is moved by N(0, 0.05) noise after the reference's
  initialisation, so that zero biases and unit LayerNorm gains cannot hide a
  parameter that is loaded into the wrong place or ignored.
"""

import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True,
                    help="folder holding icl_ref_torch.py and icl_common.py")
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
        "parity_garg.json"))
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()

    sys.path.insert(0, os.path.abspath(a.reference))
    import torch  # noqa: E402
    import torch.nn.functional as F  # noqa: E402
    import icl_ref_torch as R  # noqa: E402

    exact_gelu = F.gelu
    R.F.gelu = lambda x, approximate="none": exact_gelu(x)  # noqa: E731

    # Small but with every part: 2 layers of 2 heads, MLP, d = 3, 5 points.
    cfg = dict(d=3, points=5, layers=2, heads=2, width=8, batch=4)
    torch.manual_seed(a.seed)
    torch.set_default_dtype(torch.float64)
    model = R.ICLTransformer(cfg["d"], cfg["points"], cfg["layers"], cfg["heads"],
                             cfg["width"])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    params = {k: v.tolist() for k, v in R.export_params(model).items()}

    gen = torch.Generator().manual_seed(a.seed + 1)
    xs, ys = R.sample_batch(gen, cfg["batch"], cfg["points"], cfg["d"])
    loss = F.mse_loss(model(xs, ys), ys)
    loss.backward()
    grads = {k: v.tolist() for k, v in R.export_grads(model).items()}

    out = {
        "about": "written by scripts/parity_fixture.py: weights (stored [in, out] like "
                 "burn's Linear), one batch, the MSE loss and every gradient of an "
                 "independent PyTorch implementation, float64, exact GELU",
        "torch": torch.__version__,
        "config": cfg,
        "xs": xs.tolist(),
        "ys": ys.tolist(),
        "loss": loss.item(),
        "params": params,
        "grads": grads,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {a.out}: loss {loss.item():.6f}, {len(grads)} gradients")


if __name__ == "__main__":
    main()
