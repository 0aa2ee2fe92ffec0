"""Gradient check: the NumPy engine's hand-written backprop against central finite differences.

The function checked is the total loss f = mean data loss of a batch + L1/L2 penalty, in float64, with
batch norm in train mode (the batch's own statistics). For every parameter tensor T (each layer's ``W``,
``b`` and batch norm's ``gamma``, ``beta``) and a few seeded Gaussian directions v shaped like T:

    numeric   n = (f(T + h·v) − f(T − h·v)) / (2h)          (h is ``eps``, the step)
    analytic  a = Σ (∂f/∂T)·v                               (the engine's ``loss_and_grads``)
    relative error = |a − n| / max(|a| + |n|, floor)

and the check passes when every relative error is below ``THRESHOLD`` (1e-6).

The floor is what keeps the verdict a property of the code, not of the CPU. How far a correct n can be
from the true derivative D follows from Taylor's theorem and the floating-point model:

    n − D = h²/6 · f'''(ξ)              truncation (f''' along v)
          + (δ₊ − δ₋) / (2h)            rounding, δ± the error of the computed f(T ± h·v)

- rounding: each computed f carries |δ| ≤ κ·u·S, with u the unit roundoff of the dtype (``np.finfo``
  eps / 2, 1.1e-16 for float64), S = max(|f|, 1) the loss's magnitude (inputs are standardized, so the
  values summed along the way are O(1) even when the loss is small) and κ the number of roundings on the
  longest path from a parameter to the loss (``rounding_steps``: Higham's γ_k bound, k roundings for a
  k-term sum, one per elementwise step). So the rounding part is at most κ·u·S / h.
- truncation: Richardson's estimate. The quotient with step 2h has 4× the h² term, so
  h²/6 · f''' ≈ (n(2h) − n(h)) / 3. The h⁴ term can make that estimate smaller than the truth; twice the
  estimate bounds it while the h⁴ term is under 1/9 of the h² one (as it is for any step small enough to
  be useful). The difference also carries both quotients' rounding, which only makes it larger.
- the analytic a has rounding of its own, at most κ·u·|a|.

The sum of the three is ``noise``: a correct implementation has |a − n| ≤ noise. Setting
floor = noise / THRESHOLD makes relative error < THRESHOLD equivalent to
|a − n| < max(THRESHOLD·(|a| + |n|), noise): derivatives large enough to be resolved to THRESHOLD are held
to it, and a derivative that cancels to almost nothing along v is held to the noise bound instead of to a
relative accuracy no correct code can reach (e.g. a = 2e-5 with the quotient's 1e-10 rounding). A wrong
derivative is off by a fraction of the gradient itself (1e-3 and more), far above either.

Why directions rather than single entries: a direction moves every entry of T at once, so one wrong entry
shows, while the compared number stays of the size of the whole gradient.

Two exact facts replace differences where differences only measure rounding noise:
- the bias of a Linear layer followed by batch norm (train mode) cannot change the loss (the batch mean
  absorbs it), so its reference derivative is exactly 0; the analytic one is held to the same noise bound
  (its rounding part; no truncation);
- dropout is turned off (random masks are not a function of the weights); the result's notes say so.

Kinks: ReLU and leaky ReLU have one at 0, |w| (L1) at w = 0. The batch is chosen so that every
pre-activation of a piecewise-linear activation lies at least ``KINK_MARGIN × eps`` from 0 (far beyond
what a perturbation of size 2·eps moves it), and direction entries of weights closer to 0 than the
perturbation are set to 0. Where no such batch exists (e.g. all-zero initial weights) a note says so.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nncore.engines import network_sizes
from nncore.engines.numpy_engine import NumpyEngine
from nncore.errors import ConfigError
from nncore.engines.init import init_params

THRESHOLD = 1e-6    # relative agreement asked where the quotient resolves the derivative that finely
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2  # u of the check's dtype
KINK_MARGIN = 1000  # piecewise-linear activation inputs must be this many eps away from their kink
PIECEWISE = ("relu", "leaky_relu")


def relative_error(a: float, n: float, floor: float) -> float:
    """|a − n| / max(|a| + |n|, floor)."""
    return abs(a - n) / max(abs(a) + abs(n), floor)


def rounding_steps(sizes, batch: int, batch_norm: bool, penalty_terms: int = 0) -> int:
    """κ: roundings on the longest path from a parameter to the loss, for layer sizes ``sizes`` (input
    first), a batch of ``batch`` rows, batch norm on the hidden layers or not, and ``penalty_terms`` weights
    summed into an L1/L2 penalty (0 without one)."""
    steps = sum(fan_in + 2 for fan_in in sizes[:-1])  # each dot product, + bias, activation (one ulp)
    if batch_norm:
        steps += (len(sizes) - 2) * (2 * batch + 4)     # batch mean and variance sums, normalize, scale, shift
    steps += sizes[-1] + 3                              # the loss over the outputs (log-sum-exp, log, minus)
    return steps + batch + penalty_terms                # the batch mean, the penalty's sum


def noise_bound(f: float, a: float, n_h: float | None, n_2h: float | None, h: float, steps: int) -> float:
    """The largest |a − n| a correct implementation can show (module docstring): rounding κ·u·S/h
    (S = max(|f|, 1)) + truncation 2·|n(2h) − n(h)|/3 + the analytic side's κ·u·|a|. Without quotients
    (an exactly-0 reference) only the rounding part and the analytic side's."""
    rounding = steps * UNIT_ROUNDOFF * max(abs(f), 1.0) / h
    truncation = 0.0 if n_h is None else 2 * abs(n_2h - n_h) / 3
    return rounding + truncation + steps * UNIT_ROUNDOFF * abs(a)


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

    Returns {"max_rel_error", "passed", "layers": [{"layer", "param", "max_rel_error", "max_abs_error",
    "noise", "reference"}, ...], "notes": [...], "n_samples", "eps", "n_directions", "kink_distance",
    "loss", "rounding_steps"}. Relative error as in the module docstring, with the floor derived from each
    comparison's noise bound; passed = max_rel_error < THRESHOLD. Per row, ``max_abs_error`` is the largest
    |a − n| and ``noise`` the noise bound of that same comparison.
    """
    if cfg.model.kind != "mlp":
        raise ConfigError("gradcheck covers the NumPy engine's MLPs; use model mlp", "kind")
    if not 0 < eps < np.inf:
        raise ConfigError(f"eps must be a finite number > 0, got {eps}", "eps")
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
    loss, grads = engine.loss_and_grads(X, y, train=True)
    views = engine.parameter_views()
    penalty_terms = engine.p.weights.size if (cfg.train.l1 > 0 or cfg.train.l2 > 0) else 0
    steps = rounding_steps(sizes, len(rows), model.batch_norm, penalty_terms)
    layers = []
    for i, (name, layer) in enumerate(zip(engine.layer_names, views)):
        for key, view in layer.items():
            zero_by_design = key == "b" and model.batch_norm and i < engine.n_layers - 1
            worst = worst_abs = worst_noise = 0.0
            for _ in range(n_directions):
                v = rng.standard_normal(view.shape)
                if key == "W" and cfg.train.l1 > 0:  # keep |w| away from its kink at 0 (steps up to 2·eps)
                    v[(view != 0) & (np.abs(view) < 20 * eps * np.abs(v))] = 0.0
                error, gap, noise = compare_direction(engine, view, grads[i][key], v, eps, X, y, loss, steps,
                                                      exact_zero=zero_by_design)
                if error >= worst:
                    worst, worst_abs, worst_noise = error, gap, noise
            layers.append({"layer": name, "param": key, "max_rel_error": worst, "max_abs_error": worst_abs,
                           "noise": worst_noise,
                           "reference": "exactly 0 (batch norm follows)" if zero_by_design
                           else "central differences"})
    max_err = max(row["max_rel_error"] for row in layers)
    return {"max_rel_error": max_err, "passed": bool(max_err < THRESHOLD), "layers": layers, "notes": notes,
            "n_samples": int(len(rows)), "eps": eps, "n_directions": n_directions,
            "kink_distance": None if distance == np.inf else distance, "loss": float(loss),
            "rounding_steps": steps}


def compare_direction(engine, view, grad, v, eps, X, y, loss, steps, exact_zero=False):
    """One comparison along direction v (shaped like the live parameter view T, gradient ``grad``):
    (relative error, |a − n|, noise bound). ``exact_zero``: the reference derivative is exactly 0, no
    differences taken."""
    analytic = float(np.sum(grad * v))
    if exact_zero:
        numeric, noise = 0.0, noise_bound(loss, analytic, None, None, eps, steps)
    else:
        numeric = _directional(engine, view, v, eps, X, y)
        coarse = _directional(engine, view, v, 2 * eps, X, y)
        noise = noise_bound(loss, analytic, numeric, coarse, eps, steps)
    return relative_error(analytic, numeric, noise / THRESHOLD), abs(analytic - numeric), noise


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
