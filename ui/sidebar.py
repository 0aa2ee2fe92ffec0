"""Sidebars: grouped widgets (Data / Network / Training / Regularization) that build a RunConfig.

One builder serves every training page; a ``SidebarSpec`` says which page it is (its key prefix, its default
config, its datasets and bounds). Widget values persist for the whole browser session, also across pages.
Option lists come from the nncore registries, so a new optimizer or dataset shows up without touching this.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import streamlit as st

from nncore import registry
from nncore.config import DEVICES, ENGINES, IMAGE_DEFAULTS, MODEL_KINDS, RunConfig, parse_hidden
from nncore.datasets import DATASETS, SPECS
from nncore.errors import ConfigError

LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
PENALTIES = [0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
CLIP_NORMS = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
OPTIMIZER_KNOBS = {  # which optimizer settings apply to which optimizer
    "momentum": ("momentum",), "nesterov": ("momentum",), "adam": ("beta1", "beta2"),
    "adamw": ("beta1", "beta2", "weight_decay"),
}


@dataclass(frozen=True)
class SidebarSpec:
    """What differs between the pages that train."""

    prefix: str                  # widget key prefix, one per page, so each page keeps its own settings
    defaults: RunConfig          # the values on first load
    datasets: tuple[str, ...]    # dataset keys offered
    max_layers: int              # hidden-layer bounds on this page
    max_width: int
    images: bool = False         # image pages add model kind, preprocessing and augmentation


PLAYGROUND = SidebarSpec("pg", RunConfig(), (*SPECS, "csv"), max_layers=6, max_width=64)
IMAGES = SidebarSpec("img", IMAGE_DEFAULTS, ("digits", "fashion_mnist"), max_layers=4, max_width=1024, images=True)


def _fmt_rate(x: float) -> str:
    return "off" if x == 0 else f"{x:g}"


def _listing(reg) -> str:
    return "\n".join(f"- **{k}**: {v}" for k, v in reg.items())


def check_hidden(hidden: tuple[int, ...], max_layers: int, max_width: int) -> None:
    """A page's layer bounds, stated the same way as core validation messages."""
    if len(hidden) > max_layers:
        raise ConfigError(f"hidden layers must be at most {max_layers} here, got {len(hidden)}", "hidden")
    for i, width in enumerate(hidden):
        if not 1 <= width <= max_width:
            raise ConfigError(f"hidden[{i}] width must be between 1 and {max_width}, got {width}", "hidden")


class _Builder:
    """Draws one page's sidebar groups and collects their values."""

    def __init__(self, spec: SidebarSpec):
        self.spec = spec
        self.d, self.m, self.t = spec.defaults.data, spec.defaults.model, spec.defaults.train
        self.errors: list[str] = []
        self.locked = False
        self.hidden = {g.strip().lower() for g in st.query_params.get("hide", "").split(",") if g.strip()}

    def kw(self, name: str) -> dict:
        """A namespaced key whose value survives page switches and lives in the page's URL, so a link
        reproduces the settings (and, with the seed, the run). Locked groups show their values disabled."""
        return {"key": f"{self.spec.prefix}.{name}", "persist_state": "session", "bind": "query-params",
                "disabled": self.locked}

    def group(self, title: str, draw):
        """Draw one sidebar group. A group named in the URL's ``hide`` list (a classroom link, e.g.
        ``?hide=training,regularization``) is folded away and locked to the link's settings."""
        self.locked = title.lower() in self.hidden
        if self.locked:
            with st.expander(f"{title} — set by this link", expanded=False):
                result = draw()
        else:
            st.subheader(title)
            result = draw()
        self.locked = False
        return result

    def select(self, label: str, reg, default: str, name: str, **extra):
        options = list(reg)
        return st.selectbox(label, options, index=options.index(default), **self.kw(name), **extra)

    def data(self) -> dict:
        spec, d = self.spec, self.d
        names = {k: DATASETS[k] for k in spec.datasets}
        values = {"dataset": self.select("Dataset", names, d.dataset, "dataset", help=_listing(names))}
        if spec.images:
            limit = st.number_input("Training images (0 = all)", 0, 60_000, d.limit, step=500, **self.kw("limit"),
                                    help="fewer images train faster; validation and test shrink alike")
            values["limit"] = int(limit)
            values["standardize"] = st.toggle("Standardize pixels", d.standardize, **self.kw("standardize"),
                                              help="off: scale pixels to [0, 1]; on: per-pixel zero mean, unit variance")
        elif values["dataset"] == "csv":
            from .tables import table_inputs
            values.update(table_inputs(spec.prefix, self.kw))
            values["standardize"] = st.toggle("Standardize inputs", d.standardize, **self.kw("standardize"),
                                              help="zero mean, unit variance, with statistics of the training "
                                                   "split; a regression target too (its loss is then on the "
                                                   "standardized target; R² and predictions are in its units)")
        else:
            if SPECS[values["dataset"]].takes_classes:
                values["classes"] = st.slider("Classes (arms / clusters)", 2, 5, d.classes, **self.kw("classes"))
            values["n_points"] = st.slider("Points", 20, 2000, d.n_points, step=10, **self.kw("n_points"))
            values["noise"] = st.slider("Noise", 0.0, 0.5, d.noise, step=0.01, **self.kw("noise"),
                                        help="standard deviation of the jitter added to the points")
            values["standardize"] = st.toggle("Standardize inputs", d.standardize, **self.kw("standardize"),
                                              help="zero mean, unit variance, with statistics of the training split")
        values["seed"] = int(st.number_input("Seed", 0, 2**31 - 1, d.seed, **self.kw("seed"),
                                             help="same seed, same data, same initial weights, same run"))
        val, test = st.columns(2)
        values["val_fraction"] = val.slider("Validation %", 5, 40, int(d.val_fraction * 100), step=5,
                                            **self.kw("val_pct")) / 100
        values["test_fraction"] = test.slider("Test %", 5, 40, int(d.test_fraction * 100), step=5,
                                              **self.kw("test_pct")) / 100
        return values

    def network(self) -> dict:
        spec, m = self.spec, self.m
        values = {}
        if spec.images:
            values["kind"] = self.select("Model", MODEL_KINDS, m.kind, "kind", help=_listing(MODEL_KINDS))
        text = st.text_input("Hidden layers", ",".join(map(str, m.hidden)), **self.kw("hidden"),
                             help=f"widths separated by commas, e.g. 8,8 — 0 to {spec.max_layers} layers of "
                                  f"1–{spec.max_width} units; leave empty for no hidden layer (a linear model)")
        try:
            values["hidden"] = parse_hidden(text)
            check_hidden(values["hidden"], spec.max_layers, spec.max_width)
        except ConfigError as e:
            self.errors.append(str(e))
            values["hidden"] = ()
        values["activation"] = self.select("Activation", registry.ACTIVATIONS, m.activation, "activation",
                                           help=_listing(registry.ACTIVATIONS))
        values["init"] = self.select("Initialization", registry.INITIALIZERS, m.init, "init",
                                     help=_listing(registry.INITIALIZERS))
        return values

    def training(self) -> dict:
        t = self.t
        values = {
            "engine": self.select("Engine", ENGINES, t.engine, "engine", help=_listing(ENGINES)),
            "device": self.select("Device", DEVICES, t.device, "device", help=_listing(DEVICES)),
            "optimizer": self.select("Optimizer", registry.OPTIMIZERS, t.optimizer, "optimizer",
                                     help=_listing(registry.OPTIMIZERS)),
            "learning_rate": st.select_slider("Learning rate", LEARNING_RATES, t.learning_rate, format_func=_fmt_rate,
                                              **self.kw("learning_rate"), help="log scale; changes apply mid-run"),
        }
        knobs = OPTIMIZER_KNOBS.get(values["optimizer"], ())
        if "momentum" in knobs:
            values["momentum"] = st.slider("Momentum", 0.0, 0.99, t.momentum, step=0.01, **self.kw("momentum"))
        if "beta1" in knobs:
            b1, b2 = st.columns(2)
            values["beta1"] = b1.slider("β1", 0.0, 0.99, t.beta1, step=0.01, **self.kw("beta1"))
            values["beta2"] = b2.select_slider("β2", [0.9, 0.99, 0.995, 0.999, 0.9999], t.beta2, **self.kw("beta2"))
        if "weight_decay" in knobs:
            values["weight_decay"] = st.select_slider("Weight decay (AdamW)", PENALTIES, t.weight_decay,
                                                      format_func=_fmt_rate, **self.kw("weight_decay"))
        values["batch_size"] = st.select_slider("Batch size", BATCH_SIZES, t.batch_size, **self.kw("batch_size"))
        values["schedule"] = self.select("LR schedule", registry.SCHEDULES, t.schedule, "schedule",
                                         help=_listing(registry.SCHEDULES))
        if values["schedule"] == "step":
            values["step_size"] = int(st.number_input("Step every (epochs)", 1, 10_000, t.step_size,
                                                      **self.kw("step_size")))
        if values["schedule"] in ("step", "exponential"):
            default = 0.5 if values["schedule"] == "step" else 0.99
            values["gamma"] = st.slider("Decay factor γ", 0.5, 0.999, default, step=0.001,
                                        **self.kw(f"gamma_{values['schedule']}"))
        values["epochs"] = int(st.number_input("Epochs", 1, 100_000, t.epochs, step=10, **self.kw("epochs"),
                                               help="the run stops after this many passes over the training data"))
        return values

    def regularization(self) -> tuple[dict, dict]:
        m, t = self.m, self.t
        l1, l2 = st.columns(2)
        train = {"l1": l1.select_slider("L1", PENALTIES, t.l1, format_func=_fmt_rate, **self.kw("l1")),
                 "l2": l2.select_slider("L2", PENALTIES, t.l2, format_func=_fmt_rate, **self.kw("l2"))}
        model = {"dropout": st.slider("Dropout", 0.0, 0.8, m.dropout, step=0.05, **self.kw("dropout"),
                                      help="share of hidden units dropped at each training step"),
                 "batch_norm": st.toggle("Batch norm", m.batch_norm, **self.kw("batch_norm"))}
        train["clip_norm"] = st.select_slider("Gradient clipping (max norm)", CLIP_NORMS, t.clip_norm,
                                              format_func=_fmt_rate, **self.kw("clip_norm"))
        train["early_stopping"] = int(st.number_input(
            "Early stopping patience (epochs, 0 = off)", 0, 10_000, t.early_stopping, step=5,
            **self.kw("early_stopping")))
        if train["early_stopping"]:
            train["restore_best"] = st.toggle("Restore best weights", t.restore_best, **self.kw("restore_best"))
            train["min_delta"] = float(st.number_input(
                "Minimum improvement (val loss)", 0.0, 1.0, float(t.min_delta), step=1e-4, format="%g",
                **self.kw("min_delta"), help="a validation-loss drop smaller than this does not count as progress"))
        if self.spec.images:
            st.caption("Augmentation (training images only)")
            train["augment_flip"] = st.toggle("Random left-right flips", t.augment_flip, **self.kw("augment_flip"),
                                              help="suits clothing; digits are not symmetric")
            train["augment_shift"] = st.slider("Random shifts (pixels)", 0, 4, t.augment_shift,
                                               **self.kw("augment_shift"))
            train["augment_rotate"] = st.slider("Random rotations (degrees)", 0.0, 20.0, t.augment_rotate, step=1.0,
                                                **self.kw("augment_rotate"))
        return model, train


def training_sidebar(spec: SidebarSpec) -> tuple[RunConfig | None, str]:
    """Draw the page's sidebar; return (config, "") or (None, message) when a value is invalid."""
    b = _Builder(spec)
    with st.sidebar:
        data, model = b.group("Data", b.data), b.group("Network", b.network)
        train = b.group("Training", b.training)
        model_reg, train_reg = b.group("Regularization", b.regularization)
    if data["dataset"] == "csv" and not data.get("table"):
        return None, "Upload a CSV table in the Data group to train on your own data."
    try:
        cfg = RunConfig(replace(spec.defaults.data, **data), replace(spec.defaults.model, **model, **model_reg),
                        replace(spec.defaults.train, **train, **train_reg))
    except ConfigError as e:
        b.errors.append(str(e))
    if b.errors:
        return None, f"{b.errors[0]} — fix it; until then the run keeps its last valid settings."
    return cfg, ""


def changed_fields(old, new) -> list[str]:
    """Names of the config fields that differ between two config dataclasses."""
    return [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]


def _nearest(options: list[float], value: float) -> float:
    """The option closest to ``value`` on a log scale (0 matches 0): select sliders take listed values only."""
    import math
    if value in options:
        return value
    positive = [o for o in options if o > 0]
    if value <= 0:
        return 0.0 if 0.0 in options else positive[0]
    return min(positive, key=lambda o: abs(math.log(o) - math.log(value)))


def widget_values(spec: SidebarSpec, cfg: RunConfig) -> dict:
    """Widget state (key -> value) that makes ``spec``'s sidebar show ``cfg`` (values snapped to the options
    the widgets offer)."""
    d, m, t = cfg.data, cfg.model, cfg.train
    p = spec.prefix
    values = {
        "dataset": d.dataset, "classes": d.classes, "n_points": d.n_points, "noise": d.noise, "seed": d.seed,
        "val_pct": int(round(d.val_fraction * 100)), "test_pct": int(round(d.test_fraction * 100)),
        "standardize": d.standardize, "limit": d.limit,
        "kind": m.kind, "hidden": ",".join(map(str, m.hidden)), "activation": m.activation, "init": m.init,
        "dropout": m.dropout, "batch_norm": m.batch_norm,
        "engine": t.engine, "device": t.device, "optimizer": t.optimizer,
        "learning_rate": _nearest(LEARNING_RATES, t.learning_rate),
        "momentum": t.momentum, "beta1": t.beta1, "beta2": t.beta2,
        "weight_decay": _nearest(PENALTIES, t.weight_decay), "batch_size": _nearest(BATCH_SIZES, t.batch_size),
        "schedule": t.schedule, "step_size": t.step_size, f"gamma_{t.schedule}": t.gamma, "epochs": t.epochs,
        "l1": _nearest(PENALTIES, t.l1), "l2": _nearest(PENALTIES, t.l2),
        "clip_norm": _nearest(CLIP_NORMS, t.clip_norm), "early_stopping": t.early_stopping,
        "restore_best": t.restore_best, "min_delta": t.min_delta, "augment_flip": t.augment_flip,
        "augment_shift": t.augment_shift,
        "augment_rotate": t.augment_rotate,
    }
    return {f"{p}.{k}": v for k, v in values.items()}


def load_config(spec: SidebarSpec, cfg: RunConfig) -> None:
    """Make ``spec``'s sidebar show ``cfg`` on its next run (e.g. before switching to that page)."""
    st.session_state.update(widget_values(spec, cfg))
