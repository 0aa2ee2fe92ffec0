"""Small builders shared by the tests: configs from keyword settings, train-to-the-end, and floating-point
error bounds for tolerances derived from the dtype and the computation."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np

from nncore.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from nncore.training import Snapshot, Trainer


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


def matmul_bound(dtype, fan_in: int, scale):
    """How far two evaluations (any order, with or without FMA) of a dot product of ``fan_in`` terms plus a
    bias can differ, where ``scale`` bounds the sum of the terms' absolute values: each is within
    gamma_{fan_in+1} * scale of the exact value."""
    return 2 * gamma(dtype, fan_in + 1) * scale


# activation -> (function, Lipschitz constant, ulps of its evaluation)
_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), 1.0, 0),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), 1.0, 1),
    "linear": (lambda z: z, 1.0, 0),
    "tanh": (np.tanh, 1.0, ELEMENTWISE_ULPS),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), 0.25, ELEMENTWISE_ULPS),
    # gelu's slope peaks at 1.129
    "gelu": (lambda z: 0.5 * z * (1 + np.vectorize(math.erf)(z / math.sqrt(2))), 1.13, ELEMENTWISE_ULPS),
}


def mlp_forward_bound(params, X, dtype, activation: str, input_error=0.0):
    """Running error analysis of an MLP's forward pass (no batch norm) computed in ``dtype``.

    ``params``: per layer ``W`` (out, in) and ``b`` (out,), exactly the stored values; ``X`` (n, d): the exact
    inputs; ``input_error``: a bound on how far the inputs the network gets are from ``X`` before their
    rounding to ``dtype`` (which is added here). Returns the exact outputs (n, K) in float64 and a bound on
    the computed outputs' distance from them, per entry. Each layer adds its dot products' rounding
    (gamma_{fan_in+1} |W| |h|) to the incoming error carried through |W|; each activation passes on at most
    its Lipschitz constant times its input's error, plus its own evaluation error (relative to |f(z)| + |z|,
    which also covers gelu's cancellation in 1 + erf for negative z)."""
    f, lipschitz, ulps = _ACTIVATIONS[activation]
    u = unit_roundoff(dtype)
    h = np.asarray(X, dtype=np.float64)
    err = np.broadcast_to(input_error, h.shape) + u * np.abs(h)
    for i, layer in enumerate(params):
        assert "gamma" not in layer, "batch norm is not covered by this bound"
        W, b = np.asarray(layer["W"], dtype=np.float64), np.asarray(layer["b"], dtype=np.float64)
        z = h @ W.T + b
        carried = err @ np.abs(W).T
        err = carried + gamma(dtype, W.shape[1] + 1) * ((np.abs(h) + err) @ np.abs(W).T + np.abs(b))
        if i < len(params) - 1:
            h = f(z)
            err = lipschitz * err + ulps * u * (np.abs(h) + np.abs(z))
    return z, err


def assert_within(actual, desired, bound, what: str = "values") -> None:
    """|actual - desired| <= bound entrywise, reporting the worst entry against its bound."""
    actual, desired = np.asarray(actual, dtype=np.float64), np.asarray(desired, dtype=np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), actual.shape)
    assert actual.shape == desired.shape, (actual.shape, desired.shape)
    gap = np.abs(actual - desired)
    worst = np.unravel_index(np.argmax(gap - bound), gap.shape) if gap.size else ()
    assert np.all(gap <= bound), (f"{what} differ by {gap[worst]:.3g} at {worst}, beyond the derived bound "
                                  f"{bound[worst]:.3g}")
