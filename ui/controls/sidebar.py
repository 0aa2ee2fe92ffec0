"""Sidebars: grouped widgets (Data / Network / Training / Regularization) that build a RunConfig.

One builder serves every training page; a ``SidebarSpec`` says which page it is (its key prefix, its default
config, its datasets and bounds). Widget values persist for the whole browser session, also across pages.
Option lists come from the nncore registries, so a new optimizer or dataset shows up without touching this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import streamlit as st

from nncore import registry
from nncore.config import DEVICES, ENGINES, IMAGE_DEFAULTS, MODEL_KINDS, RunConfig, defaults_for, parse_hidden
from nncore.data import DATASETS, DRAWN, REAL_TABLES, SPECS, noise_help
from nncore.errors import ConfigError
from nncore.features import DEFAULT_INPUTS, FEATURES
from nncore.features import label as feature_label

from ui.safe import plain
from ui.session.state import space

LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
PENALTIES = [0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
CLIP_NORMS = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
BETA2S = [0.9, 0.99, 0.995, 0.999, 0.9999]
CHOICES = {"learning_rate": LEARNING_RATES, "weight_decay": PENALTIES, "l1": PENALTIES, "l2": PENALTIES,
           "batch_size": BATCH_SIZES, "beta2": BETA2S, "clip_norm": CLIP_NORMS}  # the select sliders' options
# (min, max, step) of every numeric widget, by widget name: the widgets are drawn with these, and settings that
# arrive from a checkpoint or a link are checked and fitted against them (a value outside stops the sidebar).
BOUNDS = {
    "classes": (2, 10, 1), "n_points": (20, 2000, 10), "noise": (0.0, 0.5, 0.01), "seed": (0, 2**31 - 1, 1),
    "val_pct": (5, 40, 5), "test_pct": (5, 40, 5), "limit": (0, 60_000, 500),
    "momentum": (0.0, 0.99, 0.01), "beta1": (0.0, 0.99, 0.01), "step_size": (1, 10_000, 1),
    "gamma_step": (0.5, 0.999, 0.001), "gamma_exponential": (0.5, 0.999, 0.001), "epochs": (1, 100_000, 10),
    "dropout": (0.0, 0.8, 0.05), "early_stopping": (0, 10_000, 5), "min_delta": (0.0, 1.0, 1e-4),
    "augment_shift": (0, 4, 1), "augment_rotate": (0.0, 20.0, 1.0),
}
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


PLAYGROUND = SidebarSpec("pg", RunConfig(), (*SPECS, *REAL_TABLES, "csv", DRAWN), max_layers=6, max_width=64)
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
        self.unbound = space().setdefault("link_unbound", set())  # widget keys whose link value was refused

    def kw(self, name: str) -> dict:
        """A namespaced key whose value survives page switches and lives in the page's URL, so a link
        reproduces the settings (and, with the seed, the run). Locked groups show their values disabled."""
        key = f"{self.spec.prefix}.{name}"
        return {"key": key, "persist_state": "session", "bind": None if key in self.unbound else "query-params",
                "disabled": self.locked}

    def num(self, widget, label: str, name: str, value, **extra):
        """A slider or number input (``widget``) with the bounds and step of ``BOUNDS[name]``."""
        lo, hi, step = BOUNDS[name]
        return widget(label, lo, hi, value, step=step, **self.kw(name), **extra)

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
        values = {"dataset": self.select("Dataset", names, d.dataset, "dataset", help=_listing(names),
                                         on_change=_dataset_changed, args=(spec,))}
        st.session_state[f"{spec.prefix}.dataset_shown"] = values["dataset"]
        if spec.images:
            limit = self.num(st.number_input, "Training images (0 = all)", "limit", d.limit,
                                    help="fewer images train faster; validation and test shrink alike")
            values["limit"] = int(limit)
            values["standardize"] = st.toggle("Standardize pixels", d.standardize, **self.kw("standardize"),
                                              help="off: scale pixels to [0, 1]; on: per-pixel zero mean, unit variance")
        elif values["dataset"] == "csv":
            from ui.controls.tables import table_inputs
            values.update(table_inputs(spec.prefix, self.kw))
            values["standardize"] = st.toggle("Standardize inputs", d.standardize, **self.kw("standardize"),
                                              help="zero mean, unit variance, with statistics of the training "
                                                   "split; a regression target too (its loss is then on the "
                                                   "standardized target; R² and predictions are in its units)")
        elif values["dataset"] == DRAWN:  # the user's own points, drawn on the plane (ui.controls.drawing)
            from ui.controls.drawing import sidebar_inputs
            values.update(sidebar_inputs(spec.prefix))
            values["standardize"] = st.toggle("Standardize inputs", d.standardize, **self.kw("standardize"),
                                              help="zero mean, unit variance, with statistics of the training "
                                                   "split; a regression target too")
        elif values["dataset"] in REAL_TABLES:  # a fixed table: points, noise and classes do not apply
            table = REAL_TABLES[values["dataset"]]
            kind = "regression" if table.task == "regression" else f"{table.classes} classes"
            st.caption(f"{table.rows} rows, {kind}; drawn in the plane of its first two principal components")
            values["standardize"] = st.toggle("Standardize inputs", d.standardize, **self.kw("standardize"),
                                              help="zero mean, unit variance, with statistics of the training split")
        else:
            if SPECS[values["dataset"]].takes_classes:
                values["classes"] = self.num(st.slider, "Classes (arms / clusters)", "classes", d.classes)
            values["n_points"] = self.num(st.slider, "Points", "n_points", d.n_points)
            values["noise"] = self.num(st.slider, "Noise", "noise", d.noise,
                                        help=noise_help(values["dataset"]))
            values["standardize"] = st.toggle("Standardize inputs", d.standardize, **self.kw("standardize"),
                                              help="zero mean, unit variance, with statistics of the training split")
        values["seed"] = int(self.num(st.number_input, "Seed", "seed", d.seed,
                                             help="same seed, same data, same initial weights, same run"))
        val, test = st.columns(2)
        values["val_fraction"] = self.num(val.slider, "Validation %", "val_pct",
                                            int(round(d.val_fraction * 100))) / 100
        values["test_fraction"] = self.num(test.slider, "Test %", "test_pct",
                                              int(round(d.test_fraction * 100))) / 100
        if not spec.images:
            from ui.controls.drawing import sidebar_footer
            sidebar_footer(spec.prefix, values)  # a drawn set's counts and download; only it keeps its link
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
        dataset = st.session_state.get(f"{spec.prefix}.dataset_shown", self.d.dataset)
        if not spec.images and (dataset in SPECS or dataset == DRAWN):  # 2-D data: x1², x1·x2, sin x1, ...
            values["inputs"] = tuple(st.multiselect(
                "Input features", list(FEATURES), list(m.inputs), format_func=feature_label, **self.kw("inputs"),
                help="what the first layer reads, computed from the standardized x1, x2: with x1² and x2² even a "
                     "network without hidden layers can draw a circle"))
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
            values["momentum"] = self.num(st.slider, "Momentum", "momentum", t.momentum)
        if "beta1" in knobs:
            b1, b2 = st.columns(2)
            values["beta1"] = self.num(b1.slider, "β1", "beta1", t.beta1)
            values["beta2"] = b2.select_slider("β2", BETA2S, t.beta2, **self.kw("beta2"))
        if "weight_decay" in knobs:
            values["weight_decay"] = st.select_slider("Weight decay (AdamW)", PENALTIES, t.weight_decay,
                                                      format_func=_fmt_rate, **self.kw("weight_decay"))
        values["batch_size"] = st.select_slider("Batch size", BATCH_SIZES, t.batch_size, **self.kw("batch_size"))
        values["schedule"] = self.select("LR schedule", registry.SCHEDULES, t.schedule, "schedule",
                                         help=_listing(registry.SCHEDULES))
        if values["schedule"] == "step":
            values["step_size"] = int(self.num(st.number_input, "Step every (epochs)", "step_size",
                                                      t.step_size))
        if values["schedule"] in ("step", "exponential"):
            default = 0.5 if values["schedule"] == "step" else 0.99
            values["gamma"] = self.num(st.slider, "Decay factor γ", f"gamma_{values['schedule']}", default)
        values["epochs"] = int(self.num(st.number_input, "Epochs", "epochs", t.epochs,
                                               help="the run stops after this many passes over the training data"))
        return values

    def regularization(self) -> tuple[dict, dict]:
        m, t = self.m, self.t
        l1, l2 = st.columns(2)
        train = {"l1": l1.select_slider("L1", PENALTIES, t.l1, format_func=_fmt_rate, **self.kw("l1")),
                 "l2": l2.select_slider("L2", PENALTIES, t.l2, format_func=_fmt_rate, **self.kw("l2"))}
        model = {"dropout": self.num(st.slider, "Dropout", "dropout", m.dropout,
                                      help="share of hidden units dropped at each training step"),
                 "batch_norm": st.toggle("Batch norm", m.batch_norm, **self.kw("batch_norm"))}
        train["clip_norm"] = st.select_slider("Gradient clipping (max norm)", CLIP_NORMS, t.clip_norm,
                                              format_func=_fmt_rate, **self.kw("clip_norm"))
        train["early_stopping"] = int(self.num(
            st.number_input, "Early stopping patience (epochs, 0 = off)", "early_stopping", t.early_stopping))
        if train["early_stopping"]:
            train["restore_best"] = st.toggle("Restore best weights", t.restore_best, **self.kw("restore_best"))
            train["min_delta"] = float(self.num(
                st.number_input, "Minimum improvement (val loss)", "min_delta", float(t.min_delta), format="%g",
                help="a validation-loss drop smaller than this does not count as progress"))
        if self.spec.images:
            st.caption("Augmentation (training images only)")
            train["augment_flip"] = st.toggle("Random left-right flips", t.augment_flip, **self.kw("augment_flip"),
                                              help="suits clothing; digits are not symmetric")
            train["augment_shift"] = self.num(st.slider, "Random shifts (pixels)", "augment_shift",
                                               t.augment_shift)
            train["augment_rotate"] = self.num(st.slider, "Random rotations (degrees)", "augment_rotate",
                                                t.augment_rotate)
        return model, train


def training_sidebar(spec: SidebarSpec) -> tuple[RunConfig | None, str]:
    """Draw the page's sidebar; return (config, "") or (None, message) when a value is invalid."""
    b = _Builder(spec)
    with st.sidebar:
        ignored = check_link(spec, b.unbound)
        if ignored:
            st.warning(f"{'; '.join(ignored)} (each keeps its current value).")
        data, model = b.group("Data", b.data), b.group("Network", b.network)
        train = b.group("Training", b.training)
        model_reg, train_reg = b.group("Regularization", b.regularization)
    if data["dataset"] == "csv" and not data.get("table"):
        return None, "Upload a CSV table in the Data group to train on your own data."
    base = defaults_for(data["dataset"])  # settings without a widget here take the dataset's defaults
    try:
        cfg = RunConfig(replace(base.data, **data), replace(base.model, **model, **model_reg),
                        replace(base.train, **train, **train_reg))
    except ConfigError as e:
        b.errors.append(str(e))
    if b.errors:
        return None, f"{plain(b.errors[0])} — fix it; until then the run keeps its last valid settings."
    return cfg, ""


def _dataset_changed(spec: SidebarSpec) -> None:
    """A new dataset brings its own defaults (tables: the table preset; see ``config.defaults_for``): every
    widget whose default differs between the old and the new dataset takes the new default; the others keep
    what the user set."""
    p = spec.prefix
    old = st.session_state.get(f"{p}.dataset_shown", spec.defaults.data.dataset)
    new = st.session_state[f"{p}.dataset"]
    if old == new or old not in DATASETS:
        return
    before, after = widget_values(spec, defaults_for(old)), widget_values(spec, defaults_for(new))
    st.session_state.update({k: v for k, v in after.items() if before.get(k) != v and k != f"{p}.dataset"})


def changed_fields(old, new) -> list[str]:
    """Names of the config fields that differ between two config dataclasses."""
    return [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]


def _nearest(options: list[float], value: float) -> float:
    """The option closest to ``value`` on a log scale (0 matches 0): select sliders take listed values only."""
    if value in options:
        return value
    positive = [o for o in options if o > 0]
    if value <= 0:
        return 0.0 if 0.0 in options else positive[0]
    return min(positive, key=lambda o: abs(math.log(o) - math.log(value)))


def _fit(name: str, value):
    """``value`` made acceptable to widget ``name``: the nearest option of a select slider, or clamped into a
    slider's or number input's bounds."""
    if name in CHOICES:
        return _nearest(CHOICES[name], value)
    if name in BOUNDS:
        lo, hi, _ = BOUNDS[name]
        value = min(max(value, lo), hi)
        return int(value) if isinstance(lo, int) else float(value)
    return value


def _raw_widget_values(cfg: RunConfig) -> dict:
    """Widget name -> the value that shows ``cfg`` exactly (possibly outside what the widget accepts)."""
    d, m, t = cfg.data, cfg.model, cfg.train
    return {
        "dataset": d.dataset, "classes": d.classes, "n_points": d.n_points, "noise": d.noise, "seed": d.seed,
        "val_pct": int(round(d.val_fraction * 100)), "test_pct": int(round(d.test_fraction * 100)),
        "standardize": d.standardize, "limit": d.limit,
        "kind": m.kind, "hidden": ",".join(map(str, m.hidden)), "activation": m.activation, "init": m.init,
        "dropout": m.dropout, "batch_norm": m.batch_norm, "inputs": list(m.inputs),
        "engine": t.engine, "device": t.device, "optimizer": t.optimizer, "learning_rate": t.learning_rate,
        "momentum": t.momentum, "beta1": t.beta1, "beta2": t.beta2, "weight_decay": t.weight_decay,
        "batch_size": t.batch_size, "schedule": t.schedule, "step_size": t.step_size, f"gamma_{t.schedule}": t.gamma,
        "epochs": t.epochs, "l1": t.l1, "l2": t.l2, "clip_norm": t.clip_norm, "early_stopping": t.early_stopping,
        "restore_best": t.restore_best, "min_delta": t.min_delta, "augment_flip": t.augment_flip,
        "augment_shift": t.augment_shift, "augment_rotate": t.augment_rotate,
    }


def widget_values(spec: SidebarSpec, cfg: RunConfig) -> dict:
    """Widget state (key -> value) that makes ``spec``'s sidebar show ``cfg``, each value fitted to what its
    widget accepts (``fit_config`` says which settings that changes)."""
    return {f"{spec.prefix}.{k}": _fit(k, v) for k, v in _raw_widget_values(cfg).items()}


def load_config(spec: SidebarSpec, cfg: RunConfig) -> None:
    """Make ``spec``'s sidebar show ``cfg`` on its next run (e.g. before switching to that page)."""
    st.session_state.update(widget_values(spec, cfg))
    if cfg.data.dataset == DRAWN:
        from ui.controls.drawing import set_points
        set_points(spec.prefix, cfg.data.points, cfg.data.task)


_WIDGET_FIELDS = {  # config field -> the widget that sets it, where the names differ
    "val_fraction": "val_pct", "test_fraction": "test_pct"}
_LABELS = {"n_points": "points", "val_fraction": "validation share", "test_fraction": "test share",
           "gamma": "decay factor γ", "beta1": "β1", "beta2": "β2", "l1": "L1", "l2": "L2", "min_delta":
           "minimum improvement", "early_stopping": "early stopping patience"}
_CSV_FIELDS = {"table", "label", "features", "task", "missing"}


def _shown_fields(spec: SidebarSpec, cfg: RunConfig | None) -> set[str]:
    """Config fields that ``spec``'s sidebar sets from a widget while it shows ``cfg`` (the same conditions as
    the builder's); every other field takes the page's default. ``cfg`` None: the fields any setting shows."""
    every = cfg is None
    d, t = (cfg.data, cfg.train) if cfg is not None else (None, None)
    knobs = {k for ks in OPTIMIZER_KNOBS.values() for k in ks} if every else OPTIMIZER_KNOBS.get(t.optimizer, ())
    shown = {"dataset", "seed", "val_fraction", "test_fraction", "standardize", "hidden", "activation", "init",
             "dropout", "batch_norm", "engine", "device", "optimizer", "learning_rate", "batch_size", "schedule",
             "epochs", "l1", "l2", "clip_norm", "early_stopping", *knobs}
    if spec.images:
        shown |= {"limit", "kind", "augment_flip", "augment_shift", "augment_rotate"}
    elif every or d.dataset == "csv":
        shown |= _CSV_FIELDS | ({"n_points", "noise", "classes"} if every else set())
    elif d.dataset in SPECS:  # (a bundled real table has none of these)
        shown |= {"n_points", "noise", *(("classes",) if SPECS[d.dataset].takes_classes else ())}
    elif d.dataset == DRAWN:  # the points and their task come from ui.controls.drawing, not from a widget
        shown |= {"points", "task"}
    if not spec.images and every:
        shown.add("points")
    if not spec.images and (every or d.dataset in SPECS or d.dataset == DRAWN):
        shown.add("inputs")
    if every or t.schedule == "step":
        shown.add("step_size")
    if every or t.schedule in ("step", "exponential"):
        shown.add("gamma")
    if every or t.early_stopping:
        shown |= {"restore_best", "min_delta"}
    return shown


def _text(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return plain(value) if value != "" else "none"


def fit_config(spec: SidebarSpec, cfg: RunConfig) -> tuple[RunConfig, list[str]]:
    """The config ``spec``'s sidebar shows for ``cfg`` (e.g. a checkpoint's, saved by the CLI with settings the
    widgets do not offer), and one note per setting that differs: "batch size 48 -> 64 (nearest choice)".

    The network's shape is never changed (the weights must fit it): a dataset, model kind, convolutions or
    hidden layers this page does not offer raise ConfigError, as does a fitted config that is not valid."""
    if cfg.data.dataset not in spec.datasets:
        raise ConfigError(f"its dataset {cfg.data.dataset} is not offered on this page (datasets here: "
                          f"{', '.join(spec.datasets)}): load it on the page that offers it", "dataset")
    model, defaults = cfg.model, spec.defaults.model
    if model.kind != defaults.kind and not spec.images:
        raise ConfigError(f"it holds a {model.kind.upper()}; this page trains {defaults.kind.upper()}s: load it on the "
                          "Images page", "kind")
    if model.kind == "cnn" and model.channels != defaults.channels:
        raise ConfigError(f"its convolutions have {_text(model.channels)} channels; this page builds "
                          f"{_text(defaults.channels)}, which cannot hold its weights", "channels")
    check_hidden(model.hidden, spec.max_layers, spec.max_width)
    raw, shown = _raw_widget_values(cfg), _shown_fields(spec, cfg)
    on_page = _shown_fields(spec, None)
    base = defaults_for(cfg.data.dataset)  # what the sidebar takes for settings without a widget
    parts, notes = {}, []
    for section in ("data", "model", "train"):
        old, default = getattr(cfg, section), getattr(base, section)
        new = {}
        for f in fields(old):
            value = getattr(old, f.name)
            if f.name not in shown:
                fitted = getattr(default, f.name)
                reason = "not shown with these settings" if f.name in on_page else "not set on this page"
            else:
                name = f"gamma_{cfg.train.schedule}" if f.name == "gamma" else _WIDGET_FIELDS.get(f.name, f.name)
                if name not in raw or name not in {**CHOICES, **BOUNDS}:
                    new[f.name] = value
                    continue
                widget_value = _fit(name, raw[name])
                fitted = widget_value / 100 if name in ("val_pct", "test_pct") else widget_value
                lo, hi = (BOUNDS[name][0], BOUNDS[name][1]) if name in BOUNDS else (None, None)
                reason = ("most this page offers" if hi is not None and raw[name] > hi else
                          "least this page offers" if lo is not None and raw[name] < lo else "nearest choice")
            new[f.name] = fitted
            if fitted != value:
                notes.append(f"{_LABELS.get(f.name, f.name.replace('_', ' '))} {_text(value)} -> {_text(fitted)} "
                             f"({reason})")
        parts[section] = new
    try:
        fitted = RunConfig(replace(base.data, **parts["data"]), replace(base.model, **parts["model"]),
                           replace(base.train, **parts["train"]))
    except ConfigError as e:
        raise ConfigError(f"its settings fitted to this page's controls are not valid: {e}", e.param) from None
    return fitted, notes


# --- links: values in the URL that the widgets would not take -----------------------------------------------

_TOGGLES = {"standardize", "batch_norm", "restore_best", "augment_flip"}
_CHOICE_TEXT = {"batch_size": str, "beta2": str}  # how a select slider's option reads in a link (else _fmt_rate)


def _selects(spec: SidebarSpec) -> dict:
    return {"dataset": spec.datasets, "kind": MODEL_KINDS, "activation": registry.ACTIVATIONS,
            "init": registry.INITIALIZERS, "engine": ENGINES, "device": DEVICES, "optimizer": registry.OPTIMIZERS,
            "schedule": registry.SCHEDULES}


def _link_problem(spec: SidebarSpec, name: str, text: str) -> str | None:
    """Why widget ``name`` of ``spec``'s sidebar would not take the link value ``text`` (None: it would)."""
    fields_here = _shown_fields(spec, None) - _CSV_FIELDS - {"gamma"}
    widgets = {_WIDGET_FIELDS.get(f, f) for f in fields_here} | {"gamma_step", "gamma_exponential"}
    if name not in widgets:
        return "not a setting on this page"
    if name in BOUNDS:
        lo, hi, _ = BOUNDS[name]
        whole = isinstance(lo, int)
        rule = f"must be a {'whole ' if whole else ''}number from {_text(lo)} to {_text(hi)}"
        try:
            value = float(text)
        except ValueError:
            return rule
        ok = math.isfinite(value) and lo <= value <= hi and (not whole or value == int(value))
        return None if ok else rule
    if name in CHOICES:
        texts = [_CHOICE_TEXT.get(name, _fmt_rate)(o) for o in CHOICES[name]]
        return None if text in texts else f"must be one of {', '.join(texts)}"
    if name in _TOGGLES:
        return None if text.lower() in ("true", "false") else "must be true or false"
    options = _selects(spec).get(name)
    if options is not None and text not in options:
        return f"must be one of {', '.join(options)}"
    return None


def _inputs_link_problem(texts: list[str]) -> str | None:
    """Why the link's input features (one URL value per chosen feature, each its label) would not be taken."""
    valid = [f.label for f in FEATURES.values()]
    if any(t not in valid for t in texts) or len(set(texts)) != len(texts) or not texts or texts == [""]:
        return f"must name one or more different input features from {', '.join(valid)}"
    return None


def toggle_input(spec_prefix: str, key: str, on: bool) -> tuple[str, ...]:
    """Turn input feature ``key`` on (appended, as the "Input features" multiselect adds it) or off in the
    sidebar of the page whose widget keys start with ``spec_prefix``; the last feature stays on. Call it from a
    callback (e.g. the diagram's input nodes): it sets the widget's value before the widget is drawn, so the
    widget, the URL and the next run's config all follow. Returns the inputs now chosen."""
    if key not in FEATURES:
        raise ConfigError(f"input feature must be one of {', '.join(FEATURES)}, got {key!r}", "inputs")
    spec = next((s for s in (PLAYGROUND, IMAGES) if s.prefix == spec_prefix), None)
    state_key = f"{spec_prefix}.inputs"
    chosen = [k for k in st.session_state.get(state_key, spec.defaults.model.inputs if spec else DEFAULT_INPUTS)
              if k in FEATURES]
    if on and key not in chosen:
        st.session_state[state_key] = chosen = [*chosen, key]
    elif not on and key in chosen and len(chosen) > 1:
        st.session_state[state_key] = chosen = [k for k in chosen if k != key]
    return tuple(chosen)


def check_link(spec: SidebarSpec, unbound: set) -> list[str]:
    """Notes on this page's link values that its widgets would not take, e.g. "ignored pg.n_points=999999: must
    be a whole number from 20 to 2000". Streamlit drops such values without a word, and some (``seed=1e400``)
    raise inside the widget; each is taken out of the URL and its widget key added to ``unbound``, so the
    widget does not read the link again this session (it would whenever the widget reappears)."""
    notes = []
    for key in list(st.query_params):
        if not key.startswith(f"{spec.prefix}."):
            continue
        texts = st.query_params.get_all(key) or [""]
        text, name = texts[-1], key[len(spec.prefix) + 1:]
        why = _link_problem(spec, name, text) or (_inputs_link_problem(texts) if name == "inputs" else None)
        if name == "inputs":
            text = ",".join(texts)
        if why:
            notes.append(f"ignored {plain(key)}={plain(text)}: {why}")
            del st.query_params[key]
            unbound.add(key)
    return notes
