"""Standardization: each feature (or a regression target) at zero mean and unit variance, with statistics
of the training split only, so validation and test numbers stay honest."""

from __future__ import annotations

import numpy as np

# A spread at or below this is a constant column (e.g. an always-blank pixel): it is centred, not divided,
# so it stays 0 instead of becoming rounding noise blown up to unit size.
STD_FLOOR = 1e-12


def fit_scaling(X) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` per column of ``X`` (n, d), or scalars for a 1-D ``X``, in float64; a spread of at most
    ``STD_FLOOR`` gets std 1."""
    X = np.asarray(X)
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    return mean, np.where(std > STD_FLOOR, std, 1.0)
