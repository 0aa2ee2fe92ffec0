"""The Playground sidebar: grouped widgets (Data / Network / Training / Regularization) that build a RunConfig.

Widget values persist for the whole browser session (also across pages). Option lists come from the
nncore registries, so a new optimizer or dataset shows up here without touching this file.
"""

from __future__ import annotations

from dataclasses import fields

import streamlit as st

from nncore import registry
from nncore.config import ENGINES, DataConfig, ModelConfig, RunConfig, TrainConfig, parse_hidden
from nncore.datasets import DATASETS, SPECS
from nncore.errors import ConfigError

# The playground's own bounds (the core allows bigger networks for image data).
MAX_LAYERS, MAX_WIDTH = 6, 64
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
PENALTIES = [0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
CLIP_NORMS = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
OPTIMIZER_KNOBS = {  # which optimizer settings apply to which optimizer
    "momentum": ("momentum",), "nesterov": ("momentum",), "adam": ("beta1", "beta2"),
    "adamw": ("beta1", "beta2", "weight_decay"),
}

_D, _M, _T = DataConfig(), ModelConfig(), TrainConfig()


def _key(name: str) -> str:
    return f"pg.{name}"


def _kw(name: str) -> dict:
    """Common widget keywords: a namespaced key whose value survives page switches."""
    return {"key": _key(name), "persist_state": "session"}


def _fmt_rate(x: float) -> str:
    return "off" if x == 0 else f"{x:g}"


def check_playground_hidden(hidden: tuple[int, ...]) -> None:
    """The Playground's layer bounds, stated the same way as core validation messages."""
    if len(hidden) > MAX_LAYERS:
        raise ConfigError(f"hidden layers must be at most {MAX_LAYERS} here, got {len(hidden)}", "hidden")
    for i, width in enumerate(hidden):
        if not 1 <= width <= MAX_WIDTH:
            raise ConfigError(f"hidden[{i}] width must be between 1 and {MAX_WIDTH}, got {width}", "hidden")


def _data_group() -> dict:
    st.subheader("Data")
    values = {"dataset": st.selectbox("Dataset", list(DATASETS), format_func=lambda k: f"{k} — {DATASETS[k]}",
                                      index=list(DATASETS).index(_D.dataset), **_kw("dataset"))}
    if SPECS[values["dataset"]].takes_classes:
        values["classes"] = st.slider("Classes (arms / clusters)", 2, 5, _D.classes, **_kw("classes"))
    values["n_points"] = st.slider("Points", 100, 2000, _D.n_points, step=50, **_kw("n_points"))
    values["noise"] = st.slider("Noise", 0.0, 0.5, _D.noise, step=0.01, **_kw("noise"),
                                help="standard deviation of the jitter added to the points")
    values["seed"] = int(st.number_input("Seed", 0, 2**31 - 1, _D.seed, **_kw("seed"),
                                         help="same seed, same data, same initial weights, same run"))
    val, test = st.columns(2)
    values["val_fraction"] = val.slider("Validation %", 5, 40, int(_D.val_fraction * 100), step=5,
                                        **_kw("val_pct")) / 100
    values["test_fraction"] = test.slider("Test %", 5, 40, int(_D.test_fraction * 100), step=5,
                                          **_kw("test_pct")) / 100
    values["standardize"] = st.toggle("Standardize inputs", _D.standardize, **_kw("standardize"),
                                      help="zero mean, unit variance, with statistics of the training split")
    return values


def _network_group(errors: list[str]) -> dict:
    st.subheader("Network")
    text = st.text_input("Hidden layers", ",".join(map(str, _M.hidden)), **_kw("hidden"),
                         help=f"widths separated by commas, e.g. 8,8 — 0 to {MAX_LAYERS} layers of 1–{MAX_WIDTH} "
                              "units; leave empty for no hidden layer (a linear model)")
    try:
        hidden = parse_hidden(text)
        check_playground_hidden(hidden)
    except ConfigError as e:
        errors.append(str(e))
        hidden = ()
    return {
        "hidden": hidden,
        "activation": st.selectbox("Activation", list(registry.ACTIVATIONS), help=_listing(registry.ACTIVATIONS),
                                   index=list(registry.ACTIVATIONS).index(_M.activation), **_kw("activation")),
        "init": st.selectbox("Initialization", list(registry.INITIALIZERS), help=_listing(registry.INITIALIZERS),
                             index=list(registry.INITIALIZERS).index(_M.init), **_kw("init")),
    }


def _training_group() -> dict:
    st.subheader("Training")
    values = {
        "engine": st.selectbox("Engine", list(ENGINES), format_func=lambda k: f"{k} — {ENGINES[k]}",
                               index=list(ENGINES).index(_T.engine), **_kw("engine")),
        "optimizer": st.selectbox("Optimizer", list(registry.OPTIMIZERS), help=_listing(registry.OPTIMIZERS),
                                  index=list(registry.OPTIMIZERS).index(_T.optimizer), **_kw("optimizer")),
        "learning_rate": st.select_slider("Learning rate", LEARNING_RATES, _T.learning_rate, format_func=_fmt_rate,
                                          **_kw("learning_rate"), help="log scale; changes apply mid-run"),
    }
    knobs = OPTIMIZER_KNOBS.get(values["optimizer"], ())
    if "momentum" in knobs:
        values["momentum"] = st.slider("Momentum", 0.0, 0.99, _T.momentum, step=0.01, **_kw("momentum"))
    if "beta1" in knobs:
        b1, b2 = st.columns(2)
        values["beta1"] = b1.slider("β1", 0.0, 0.99, _T.beta1, step=0.01, **_kw("beta1"))
        values["beta2"] = b2.select_slider("β2", [0.9, 0.99, 0.995, 0.999, 0.9999], _T.beta2, **_kw("beta2"))
    if "weight_decay" in knobs:
        values["weight_decay"] = st.select_slider("Weight decay (AdamW)", PENALTIES, _T.weight_decay,
                                                  format_func=_fmt_rate, **_kw("weight_decay"))
    values["batch_size"] = st.select_slider("Batch size", BATCH_SIZES, _T.batch_size, **_kw("batch_size"))
    values["schedule"] = st.selectbox("LR schedule", list(registry.SCHEDULES), help=_listing(registry.SCHEDULES),
                                      index=list(registry.SCHEDULES).index(_T.schedule), **_kw("schedule"))
    if values["schedule"] == "step":
        values["step_size"] = int(st.number_input("Step every (epochs)", 1, 10_000, _T.step_size, **_kw("step_size")))
    if values["schedule"] in ("step", "exponential"):
        values["gamma"] = st.slider("Decay factor γ", 0.5, 0.999, 0.5 if values["schedule"] == "step" else 0.99,
                                    step=0.001, **_kw(f"gamma_{values['schedule']}"))
    values["epochs"] = int(st.number_input("Epochs", 1, 100_000, _T.epochs, step=50, **_kw("epochs"),
                                           help="the run stops after this many passes over the training data"))
    return values


def _regularization_group() -> tuple[dict, dict]:
    st.subheader("Regularization")
    l1, l2 = st.columns(2)
    train = {"l1": l1.select_slider("L1", PENALTIES, 0.0, format_func=_fmt_rate, **_kw("l1")),
             "l2": l2.select_slider("L2", PENALTIES, 0.0, format_func=_fmt_rate, **_kw("l2"))}
    model = {"dropout": st.slider("Dropout", 0.0, 0.8, _M.dropout, step=0.05, **_kw("dropout"),
                                  help="share of hidden units dropped at each training step"),
             "batch_norm": st.toggle("Batch norm", _M.batch_norm, **_kw("batch_norm"))}
    train["clip_norm"] = st.select_slider("Gradient clipping (max norm)", CLIP_NORMS, 0.0, format_func=_fmt_rate,
                                          **_kw("clip_norm"))
    train["early_stopping"] = int(st.number_input(
        "Early stopping patience (epochs, 0 = off)", 0, 10_000, _T.early_stopping, step=5, **_kw("early_stopping")))
    if train["early_stopping"]:
        train["restore_best"] = st.toggle("Restore best weights", _T.restore_best, **_kw("restore_best"))
    return model, train


def _listing(reg) -> str:
    return "\n".join(f"- **{k}**: {v}" for k, v in reg.items())


def playground_sidebar() -> tuple[RunConfig | None, str]:
    """Draw the sidebar; return (config, "") or (None, message) when a value is invalid."""
    errors: list[str] = []
    with st.sidebar:
        data = _data_group()
        model = _network_group(errors)
        train = _training_group()
        model_reg, train_reg = _regularization_group()
    try:
        cfg = RunConfig(DataConfig(**data), ModelConfig(**model, **model_reg), TrainConfig(**train, **train_reg))
    except ConfigError as e:
        errors.append(str(e))
    if errors:
        return None, f"{errors[0]} — fix it; until then the run keeps its last valid settings."
    return cfg, ""


def changed_fields(old, new) -> list[str]:
    """Names of the config fields that differ between two config dataclasses."""
    return [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]
