"""Small builders shared by the tests: configs from keyword settings, train-to-the-end, and floating-point
error bounds for tolerances derived from the dtype and the computation."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import fields

import numpy as np

from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.train.snapshot import Snapshot
from nncore.train.trainer import Trainer


def make_cfg(**settings) -> RunConfig:
    """A RunConfig from flat keyword settings, each routed to the section that owns it."""
    parts = {DataConfig: {}, ModelConfig: {}, TrainConfig: {}}
    for key, value in settings.items():
        owner = next((kind for kind in parts if key in {f.name for f in fields(kind)}), None)
        if owner is None:
            raise KeyError(key)
        parts[owner][key] = value
    return RunConfig(DataConfig(**parts[DataConfig]), ModelConfig(**parts[ModelConfig]),
                     TrainConfig(**parts[TrainConfig]))


def train(**settings) -> tuple[Trainer, Snapshot]:
    """Train a run to its end (epochs, early stop or divergence) and return the trainer and last snapshot."""
    trainer = Trainer(make_cfg(**settings))
    snap = trainer.snapshot()
    while trainer.running:
        snap = trainer.run(steps=5000)
    return trainer, snap


# --- floating-point error bounds (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 2-3) ---------
# Tolerances come from the dtype's unit roundoff u = eps/2 and the operations done, so they hold on any CPU
# and in any summation order (BLAS kernels differ between Intel and AMD); a real mistake is far above them.

ELEMENTWISE_ULPS = 4  # exp/tanh/erf in libm, Sleef (torch) and MLAS (onnxruntime) are within a few ulp


def unit_roundoff(dtype) -> float:
    """u: one rounding to ``dtype`` is off by a relative error of at most u."""
    return float(np.finfo(dtype).eps) / 2


def gamma(dtype, n: int) -> float:
    """gamma_n = n u / (1 - n u): n roundings in a product of (1 + delta) factors, or a sum / dot product of n
    terms in any order, are off by at most gamma_n times the sum of the terms' absolute values."""
    nu = n * unit_roundoff(dtype)
    assert nu < 1, "too many operations for this dtype"
    return nu / (1 - nu)


# activation -> (f, f', Lipschitz constant of f, of f' (None: a kink at 0, where f' jumps by `jump`), jump,
# ulps of f's evaluation); f' computed from f(z) (1 - a^2, a(1 - a), ...) stays within DERIVATIVE_ERROR.
_SQRT2 = math.sqrt(2)
_erf = np.vectorize(math.erf)
_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0, 1.0, None, 1.0, 0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01), 1.0, None, 0.99, 1),
    "linear": (lambda z: z, lambda z: np.ones_like(z), 1.0, 0.0, 0.0, 0),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2, 1.0, 0.77, 0.0, ELEMENTWISE_ULPS),  # |tanh''| <= 4/(3 sqrt 3)
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: (1 / (1 + np.exp(-z))) * (1 / (1 + np.exp(z))), 0.25, 0.1,
                0.0, ELEMENTWISE_ULPS),  # |sigmoid''| <= 1 / (6 sqrt 3)
    "gelu": (lambda z: 0.5 * z * (1 + _erf(z / _SQRT2)),  # gelu' <= 1.129, |gelu''| <= 2 phi(0) = 0.798
             lambda z: 0.5 * (1 + _erf(z / _SQRT2)) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), 1.13, 0.8,
             0.0, ELEMENTWISE_ULPS),
}
DERIVATIVE_ERROR = 2 * ELEMENTWISE_ULPS + 4  # units of u, absolute: f(z)'s error times |df'/df| <= 2, 4 roundings


def _forward(params, X, dtype, activation: str, input_error=0.0):
    """Per layer (h, its error bound, z = W h + b, its error bound), all (n, width), h the exact input."""
    f, _, lipschitz, _, _, ulps = _ACTIVATIONS[activation]
    u = unit_roundoff(dtype)
    h = np.asarray(X, dtype=np.float64)
    err = np.broadcast_to(input_error, h.shape) + u * np.abs(h)
    layers = []
    for i, layer in enumerate(params):
        assert "gamma" not in layer, "batch norm is not covered by this bound"
        W, b = np.asarray(layer["W"], dtype=np.float64), np.asarray(layer["b"], dtype=np.float64)
        z = h @ W.T + b
        z_err = err @ np.abs(W).T + gamma(dtype, W.shape[1] + 1) * ((np.abs(h) + err) @ np.abs(W).T + np.abs(b))
        layers.append((h, err, z, z_err))
        if i < len(params) - 1:
            h = f(z)
            err = lipschitz * z_err + ulps * u * (np.abs(h) + np.abs(z))
    return layers


def mlp_forward_bound(params, X, dtype, activation: str, input_error=0.0):
    """Running error analysis of an MLP's forward pass (no batch norm) computed in ``dtype``.

    ``params``: per layer ``W`` (out, in) and ``b`` (out,), exactly the stored values; ``X`` (n, d): the exact
    inputs; ``input_error``: a bound on how far the inputs the network gets are from ``X`` before their
    rounding to ``dtype`` (which is added here). Returns the exact outputs (n, K) in float64 and a bound on
    the computed outputs' distance from them, per entry. Each layer adds its dot products' rounding
    (gamma_{fan_in+1} |W| |h|) to the incoming error carried through |W|; each activation passes on at most
    its Lipschitz constant times its input's error, plus its own evaluation error (relative to |f(z)| + |z|,
    which also covers gelu's cancellation in 1 + erf for negative z). First order in u."""
    _, _, z, z_err = _forward(params, X, dtype, activation, input_error)[-1]
    return z, z_err


def mlp_gradient_bound(params, X, y, dtype, activation: str) -> dict:
    """Running error analysis of the data loss's gradients of an MLP (no batch norm, no dropout) for the mean
    softmax cross-entropy over the batch ``X`` (B, d) with class ids ``y`` (B,), computed in ``dtype``.

    Returns the exact ``loss`` and per layer ``dW`` (out, in), ``db`` (out,), each with its bound
    (``loss_error``, ``dW_error``, ``db_error``) on one evaluation's distance from it, whatever the order of
    its sums (first order in u). Softmax: p_i moves by at most p_i (|dz_i| + sum_j p_j |dz_j|) and is
    evaluated (max, exp, sum, division, or exp of a log-softmax) within u p_i (2 ulps + 2K + 4 max|z|)."""
    _, df, _, lipschitz_df, jump, _ = _ACTIVATIONS[activation]
    u = unit_roundoff(dtype)
    layers = _forward(params, X, dtype, activation)
    _, _, z, z_err = layers[-1]
    B, K = z.shape
    zs = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(zs).sum(axis=1, keepdims=True))
    p = np.exp(zs - lse)
    onehot = np.eye(K)[np.asarray(y)]
    p_err = p * (z_err + (p * z_err).sum(axis=1, keepdims=True)) \
        + u * p * (2 * ELEMENTWISE_ULPS + 2 * K + 4 * np.abs(z).max(axis=1, keepdims=True))
    picked = zs[np.arange(B), y]
    per_sample = lse[:, 0] - picked  # log-sum-exp and z_y each move by at most max|dz|
    terms = np.abs(lse[:, 0]) + np.abs(picked)  # summed over the batch together or apart
    loss_err = 2 * z_err.max(axis=1) + u * (2 * ELEMENTWISE_ULPS + 2 * K) * (terms + np.abs(z).max(axis=1))
    out = {"loss": per_sample.mean(), "loss_error": loss_err.mean() + gamma(dtype, B + 1) * terms.mean(),
           "dW": [], "dW_error": [], "db": [], "db_error": []}
    # (p - onehot) / B: a subtraction and a division (or p / B, then 1 / B subtracted)
    delta, delta_err = (p - onehot) / B, (p_err + 2 * u * (np.abs(p - onehot) + onehot)) / B
    for i in range(len(params) - 1, -1, -1):
        h, h_err, _, _ = layers[i]
        out["dW"].insert(0, delta.T @ h)
        out["dW_error"].insert(0, delta_err.T @ np.abs(h) + np.abs(delta).T @ h_err
                               + gamma(dtype, B + 1) * (np.abs(delta) + delta_err).T @ (np.abs(h) + h_err))
        out["db"].insert(0, delta.sum(axis=0))
        out["db_error"].insert(0, delta_err.sum(axis=0)
                               + gamma(dtype, B + 1) * (np.abs(delta) + delta_err).sum(axis=0))
        if i == 0:
            break
        W = np.abs(np.asarray(params[i]["W"], dtype=np.float64))
        _, _, z_prev, z_prev_err = layers[i - 1]
        g = delta @ np.asarray(params[i]["W"], dtype=np.float64)
        g_err = delta_err @ W + gamma(dtype, W.shape[0]) * (np.abs(delta) + delta_err) @ W
        d = df(z_prev)
        if lipschitz_df is None:  # a kink: f' is exact away from 0, and may jump where z's error reaches 0
            d_err = np.where(np.abs(z_prev) <= z_prev_err, jump, 0.0)
        else:
            d_err = lipschitz_df * z_prev_err + DERIVATIVE_ERROR * u
        delta, delta_err = g * d, g_err * (np.abs(d) + d_err) + np.abs(g) * d_err + u * np.abs(g * d)
    return out


def assert_within(actual, desired, bound, what: str = "values") -> None:
    """|actual - desired| <= bound entrywise, reporting the worst entry against its bound."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), actual.shape)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    gap = np.abs(actual - desired)
    worst = np.unravel_index(np.argmax(gap - bound), gap.shape) if gap.size else ()
    assert np.all(gap <= bound), (f"{what} differ by {gap[worst]:.3g} at {worst}, beyond the derived bound "
                                  f"{bound[worst]:.3g}")


def assert_runs_without_torch(code: str) -> None:
    """Run ``code`` (Python statements) in a fresh interpreter: it must succeed without importing torch."""
    check = code + "\nimport sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout
