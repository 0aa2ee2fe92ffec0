"""Activations and losses of the NumPy engine, each written out with its derivative.

Every function keeps the dtype of its input (float32 stays float32). Shapes: ``z`` and ``a`` are
(B, n) pre-activations and activations; losses take network outputs ``z`` (B, K) and a prepared target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf as _erf  # scipy comes with scikit-learn; both keep float32 and run in C
from scipy.special import expit as _expit

_sum, _max = np.add.reduce, np.maximum.reduce  # ufunc methods: no Python wrapper per call
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An elementwise activation and its derivative.

    ``forward(z) -> a``; when ``in_place`` it overwrites ``z`` (so the derivative may read only ``a``).
    ``derivative(z, a) -> da/dz``, same shape, multiplied into the incoming gradient; None = identity.
    """

    forward: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    in_place: bool = False


def _relu(z):
    return np.maximum(z, 0, out=z)


def _relu_grad(z, a):
    return a > 0  # torch's convention: slope 0 at 0


def _leaky(z):
    return np.maximum(z, LEAKY_SLOPE * z)  # z for z > 0, 0.01·z otherwise


def _leaky_grad(z, a):
    t = a.dtype.type
    return np.where(a > 0, t(1.0), t(LEAKY_SLOPE))


def _tanh_grad(z, a):
    d = a * a
    np.subtract(1, d, out=d)
    return d


def _sigmoid_grad(z, a):
    d = 1 - a
    d *= a
    return d


def _gelu(z):
    cdf = _erf(z * _SQRT1_2)
    cdf += 1
    cdf *= 0.5
    cdf *= z
    return cdf


def _gelu_grad(z, a):
    cdf = _erf(z * _SQRT1_2)
    cdf += 1
    cdf *= 0.5
    pdf = z * z
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= _INV_SQRT_2PI
    pdf *= z
    pdf += cdf
    return pdf


# Keyed like nncore.registry.ACTIVATIONS.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(_relu, _relu_grad, in_place=True),
    "leaky_relu": Activation(_leaky, _leaky_grad),
    "tanh": Activation(np.tanh, _tanh_grad),
    "sigmoid": Activation(_expit, _sigmoid_grad),
    "gelu": Activation(_gelu, _gelu_grad),
    "linear": Activation(lambda z: z, None, in_place=True),
}


# --- losses: (z (B, K), target) -> (mean loss as a 0-d value, dL/dz (B, K)); z may be overwritten ---------
def softmax_ce(z: np.ndarray, y: np.ndarray):
    """Softmax cross-entropy; ``y`` (B,) int class ids."""
    n = z.shape[0]
    z -= _max(z, axis=1, keepdims=True)
    rows = np.arange(n)
    picked = _sum(z[rows, y])
    e = np.exp(z, out=z)
    s = _sum(e, axis=1, keepdims=True)
    loss = (_sum(np.log(s), axis=None) - picked) / n
    s *= n
    e /= s
    e[rows, y] -= 1.0 / n
    return loss, e


def sigmoid_bce(z: np.ndarray, y: np.ndarray):
    """Binary cross-entropy on one logit; ``y`` (B, 1) float 0/1. Stable for any |z|."""
    n = z.shape[0]
    e = np.exp(-np.abs(z))
    loss = (np.maximum(z, 0) - z * y + np.log1p(e)).sum() / n
    s = 1 / (1 + e)                       # sigmoid(|z|)
    p = np.where(z >= 0, s, e * s)        # sigmoid(z)
    p -= y
    p /= n
    return loss, p


def mse(z: np.ndarray, y: np.ndarray):
    """Mean squared error on one output; ``y`` (B, 1) float."""
    n = z.shape[0]
    d = z - y
    loss = np.dot(d.ravel(), d.ravel()) / n
    d *= 2.0 / n
    return loss, d


# Keyed like nncore.registry.LOSSES.
LOSSES: dict[str, Callable] = {"softmax_ce": softmax_ce, "sigmoid_bce": sigmoid_bce, "mse": mse}
