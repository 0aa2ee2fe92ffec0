"""Backpropagation laid open for the From scratch page: one sample through the NumPy engine, and one
optimizer step taken by both engines from the same weights on the same batch, with their difference.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nncore.engines import engine_class, network_sizes
from nncore.errors import ConfigError

# The formulas beside each stage, per task (LaTeX).
EQUATIONS = {
    "forward": r"z_l = W_l\,h_{l-1} + b_l,\qquad h_l = f(z_l)",
    "output_delta": {
        "multiclass": r"\delta_L = \partial L/\partial z_L = \mathrm{softmax}(z_L) - \mathrm{onehot}(y)",
        "binary": r"\delta_L = \partial L/\partial z_L = \sigma(z_L) - y",
        "regression": r"\delta_L = \partial L/\partial z_L = 2\,(z_L - y)",
    },
    "hidden_delta": r"\delta_l = (W_{l+1}^\top \delta_{l+1}) \odot f'(z_l)",
    "gradients": r"\partial L/\partial W_l = \delta_l\, h_{l-1}^\top,\qquad \partial L/\partial b_l = \delta_l",
}


def _float64(cfg, engine: str):
    """The run's config on ``engine`` in float64 with dropout off (a deterministic, exact comparison)."""
    if cfg.model.kind != "mlp":
        raise ConfigError("the from-scratch view covers MLPs; the CNN runs on the torch engine only", "kind")
    return replace(cfg, model=replace(cfg.model, dtype="float64", dropout=0.0),
                   train=replace(cfg.train, engine=engine))


def _build(cfg, dataset, params, engine: str):
    cfg64 = _float64(cfg, engine)
    sizes = network_sizes(cfg64.model, dataset.n_features, dataset.n_outputs)
    return engine_class(engine)(cfg64.model, cfg64.train, sizes, dataset.task, params, cfg.data.seed)


def explain_sample(cfg, dataset, params, index: int) -> list[dict[str, np.ndarray]]:
    """Forward and backward pass of training sample ``index`` with ``params`` (see NumpyEngine.explain)."""
    engine = _build(cfg, dataset, params, "numpy")
    return engine.explain(dataset.X_train[index:index + 1], dataset.y_train[index:index + 1])


def step_both_engines(cfg, dataset, params, batch: np.ndarray) -> dict:
    """One optimizer step by the torch and the NumPy engine from ``params`` on training rows ``batch``.

    Returns {"loss": {engine: value}, "layers": [{"layer", "param", "max_abs_diff", "max_abs_change"}],
    "max_abs_diff": float}: the difference of the two engines' parameters after the step, next to how much
    the step moved them (so "equal" is measured against a real change)."""
    X, y = dataset.X_train[batch], dataset.y_train[batch]
    after, losses = {}, {}
    for name in ("torch", "numpy"):
        engine = _build(cfg, dataset, params, name)
        losses[name] = engine.train_step(X, y)
        after[name] = engine.get_params()
        names = engine.layer_names
    rows = []
    for i, layer in enumerate(params):
        for key in layer:
            diff = np.abs(after["torch"][i][key] - after["numpy"][i][key]).max()
            change = np.abs(after["numpy"][i][key] - layer[key]).max()
            rows.append({"layer": names[i], "param": key, "max_abs_diff": float(diff),
                         "max_abs_change": float(change)})
    return {"loss": losses, "layers": rows, "max_abs_diff": max(r["max_abs_diff"] for r in rows)}
