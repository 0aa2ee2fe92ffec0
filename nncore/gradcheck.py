"""Gradient check: the NumPy engine's hand-written backprop against central finite differences.

The function checked is the total loss f = mean data loss of a batch + L1/L2 penalty, in float64, with
batch norm in train mode (the batch's own statistics). For every parameter tensor T (each layer's ``W``,
``b`` and batch norm's ``gamma``, ``beta``) and a few seeded Gaussian directions v shaped like T:

    numeric   n = (f(T + eps·v) − f(T − eps·v)) / (2·eps)
    analytic  a = Σ (∂f/∂T)·v                    (the engine's ``loss_and_grads``)
    relative error = |a − n| / max(|a| + |n|, 1e-8)

and the check passes when the largest relative error is below 1e-6.

Why directions rather than single entries: a direction moves every entry of T at once, so one wrong entry
shows, while the compared number stays of the size of the whole gradient. A single entry's derivative can
be 1e-7 where f's rounding noise alone puts ~1e-10 on any float64 difference quotient, which no correct
implementation could bring under 1e-6 relative.

Two exact facts replace differences where differences only measure rounding noise:
- the bias of a Linear layer followed by batch norm (train mode) cannot change the loss (the batch mean
  absorbs it), so its reference derivative is exactly 0 and the analytic one must be ~0 too;
- dropout is turned off (random masks are not a function of the weights); the result's notes say so.

Kinks: ReLU and leaky ReLU have one at 0, |w| (L1) at w = 0. The batch is chosen so that every
pre-activation of a piecewise-linear activation lies at least ``KINK_MARGIN × eps`` from 0 (far beyond
what a perturbation of size eps moves it), and direction entries of weights closer to 0 than the
perturbation are set to 0. Where no such batch exists (e.g. all-zero initial weights) a note says so.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from .engines import network_sizes
from .engines.numpy_engine import NumpyEngine
from .errors import ConfigError
from .init import init_params

THRESHOLD = 1e-6    # passes when every relative error is below this
FLOOR = 1e-8        # denominator floor of the relative error
KINK_MARGIN = 1000  # piecewise-linear activation inputs must be this many eps away from their kink
PIECEWISE = ("relu", "leaky_relu")


def relative_error(a: float, n: float) -> float:
    """|a − n| / max(|a| + |n|, 1e-8)."""
    return abs(a - n) / max(abs(a) + abs(n), FLOOR)


def _kink_distance(engine: NumpyEngine, X: np.ndarray) -> float:
    """Smallest |pre-activation| of the batch X (B, d) in train mode; inf if nothing has a kink."""
    if engine.model.activation not in PIECEWISE or engine.n_layers < 2:
        return np.inf
    if engine.batch_norm and len(X) < 2:
        return np.inf
    return min(float(np.abs(z).min()) for z in engine.pre_activations(X, train=True))


def _choose_batch(engine: NumpyEngine, X: np.ndarray, n: int, margin: float, rng) -> tuple[np.ndarray, float]:
    """Indices of up to ``n`` rows of X whose batch keeps every kink farther than ``margin``, picked greedily
    in a seeded random order; falls back to the first ``n`` of that order. Returns (indices, distance)."""
    order = rng.permutation(len(X))[:2000]
    n = min(n, len(X))
    chosen: list[int] = []
    if engine.model.activation in PIECEWISE:
        for idx in order:
            trial = chosen + [int(idx)]
            if _kink_distance(engine, X[trial]) >= margin:
                chosen = trial
                if len(chosen) == n:
                    break
    if len(chosen) < n:
        chosen = [int(i) for i in order[:n]]
    return np.array(chosen), _kink_distance(engine, X[chosen])


def gradcheck(cfg, dataset, params=None, n_samples: int = 8, eps: float = 1e-6,
              n_directions: int = 4) -> dict:
    """Check analytic against numeric gradients for the network of ``cfg`` on ``n_samples`` rows of
    ``dataset``'s training split, starting from ``params`` (default: the seeded initialization).

    Returns {"max_rel_error", "passed", "layers": [{"layer", "param", "max_rel_error", "reference"}, ...],
    "notes": [...], "n_samples", "eps", "n_directions", "kink_distance"}. Relative error as in the module
    docstring: |a − n| / max(|a| + |n|, 1e-8); passed = max_rel_error < 1e-6.
    """
    if cfg.model.kind != "mlp":
        raise ConfigError("gradcheck covers the NumPy engine's MLPs; use model mlp", "kind")
    notes = []
    model = replace(cfg.model, dtype="float64", dropout=0.0)
    if cfg.model.dropout > 0:
        notes.append(f"dropout {cfg.model.dropout} turned off for the check (random masks are not "
                     "differentiable)")
    sizes = network_sizes(model, dataset.n_features, dataset.n_outputs)
    if params is None:
        params = init_params(model, sizes, seed=cfg.data.seed)
    engine = NumpyEngine(model, cfg.train, sizes, dataset.task, params, cfg.data.seed)
    rng = np.random.default_rng([cfg.data.seed, 7])
    margin = KINK_MARGIN * eps
    rows, distance = _choose_batch(engine, dataset.X_train, n_samples, margin, rng)
    if distance < margin:
        notes.append(f"no batch keeps every {model.activation} input {margin:g} from its kink (closest "
                     f"{distance:.3g}); errors there measure the kink, not the code")
    X, y = dataset.X_train[rows], dataset.y_train[rows]
    _, grads = engine.loss_and_grads(X, y, train=True)
    views = engine.parameter_views()
    layers = []
    for i, (name, layer) in enumerate(zip(engine.layer_names, views)):
        for key, view in layer.items():
            zero_by_design = key == "b" and model.batch_norm and i < engine.n_layers - 1
            worst = 0.0
            for _ in range(n_directions):
                v = rng.standard_normal(view.shape)
                if key == "W" and cfg.train.l1 > 0:  # keep |w| away from its kink at 0
                    v[(view != 0) & (np.abs(view) < 10 * eps * np.abs(v))] = 0.0
                analytic = float(np.sum(grads[i][key] * v))
                numeric = 0.0 if zero_by_design else _directional(engine, view, v, eps, X, y)
                worst = max(worst, relative_error(analytic, numeric))
            layers.append({"layer": name, "param": key, "max_rel_error": worst,
                           "reference": "exactly 0 (batch norm follows)" if zero_by_design
                           else "central differences"})
    max_err = max(row["max_rel_error"] for row in layers)
    return {"max_rel_error": max_err, "passed": bool(max_err < THRESHOLD), "layers": layers, "notes": notes,
            "n_samples": int(len(rows)), "eps": eps, "n_directions": n_directions,
            "kink_distance": None if distance == np.inf else distance}


def _directional(engine, view, v, eps, X, y) -> float:
    """(f(T + eps·v) − f(T − eps·v)) / (2·eps) for the live parameter view T; T is restored after."""
    saved = view.copy()
    view += eps * v
    plus = engine.total_loss(X, y, train=True)
    view[...] = saved - eps * v
    minus = engine.total_loss(X, y, train=True)
    view[...] = saved
    return (plus - minus) / (2 * eps)


def run_gradcheck(cfg, dataset) -> dict:
    """The check with its defaults (what the command line runs)."""
    return gradcheck(cfg, dataset)


# --- command line: ``python -m nncore gradcheck [network flags] [--json]`` ------------------------------
def add_command(subparsers) -> argparse.ArgumentParser:
    """Register the ``gradcheck`` subcommand on the CLI's subparsers."""
    from .cli import add_network_args
    p = subparsers.add_parser("gradcheck", help="check the NumPy engine's gradients by finite differences")
    add_network_args(p)
    p.add_argument("--samples", type=int, default=8, help="data rows in the checked batch")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--directions", type=int, default=4, help="random directions per parameter tensor")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_gradcheck)
    return p


def cmd_gradcheck(a: argparse.Namespace) -> int:
    """Handler: exit code 0 when the check passes, 1 when it fails."""
    from .cli import config_from_args
    from .datasets import make_dataset
    cfg = config_from_args(a)
    result = gradcheck(cfg, make_dataset(cfg.data), n_samples=a.samples, eps=a.eps, n_directions=a.directions)
    if a.json:
        print(json.dumps(result))
    else:
        for row in result["layers"]:
            print(f"{row['layer']:>10} {row['param']:>5}  rel. error {row['max_rel_error']:.2e}  "
                  f"({row['reference']})")
        for note in result["notes"]:
            print(f"note: {note}")
        print(f"{'passed' if result['passed'] else 'FAILED'}: max relative error "
              f"{result['max_rel_error']:.2e} (threshold {THRESHOLD:g})")
    return 0 if result["passed"] else 1
