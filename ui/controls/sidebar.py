"""Sidebars: grouped widgets (Data / Network / Training / Regularization) that build a RunConfig.

One builder serves every training page; a ``SidebarSpec`` says which page it is (its key prefix, its default
config, its datasets). Widget values persist for the whole browser session, also across pages. Each widget's
label, help, bounds, step and options come from ``nncore.settings``, its upper bounds capped by the server's
``NNPLAY_*`` limits as they are now; option lists come from the nncore registries, so a new optimizer or
dataset shows up without touching this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Callable

import streamlit as st

from nncore import settings
from nncore.config import IMAGE_DEFAULTS, RunConfig, defaults_for, parse_hidden
from nncore.data import DATASETS, DRAWN, REAL_TABLES, SPECS, noise_help
from nncore.errors import ConfigError
from nncore.features import DEFAULT_INPUTS, FEATURES
from nncore.features import label as feature_label
from ui.safe import plain
from ui.session.state import space

# Widget key -> the setting it shows (val_pct shows val_fraction; gamma_step and gamma_exponential show gamma).
WIDGETS = settings.widget_keys()


def bounds(name: str, *, capped: bool = True) -> tuple:
    """(min, max, step) of numeric widget ``name``: the widgets are drawn with these, and settings that arrive
    from a link are checked against them (a value outside stops the sidebar). The maximum follows the server's
    limit as the environment says now; ``capped`` False: without it (what the page itself offers, so that a
    checkpoint beyond the server's limit is refused by the limit's name rather than fitted down)."""
    s = WIDGETS[name]
    lo, hi = settings.widget_bounds(s.name, capped=capped)
    step = s.step
    if s.kind == "int" or s.scale != 1:
        return int(lo), int(hi), int(step)
    return float(lo), float(hi), float(step)


def options(name: str) -> tuple | None:
    """The listed values of select slider ``name`` (None: not a select slider)."""
    s = WIDGETS.get(name)
    return None if s is None or s.widget != "select_slider" else s.options


def _numeric(name: str) -> bool:
    s = WIDGETS.get(name)
    return s is not None and s.widget in ("slider", "number") and s.kind in ("int", "float")


@dataclass(frozen=True)
class SidebarSpec:
    """What differs between the pages that train."""

    prefix: str                  # widget key prefix, one per page, so each page keeps its own settings
    defaults: RunConfig          # the values on first load
    datasets: tuple[str, ...]    # dataset keys offered
    images: bool = False         # image pages add model kind, preprocessing and augmentation
    layer_cap: int | None = None  # this page's own cap on hidden layers, below the server's

    @property
    def max_layers(self) -> int:
        """Hidden layers offered here: the server's NNPLAY_MAX_LAYERS (read now), at most ``layer_cap``."""
        most = settings.layer_bounds(self.images)[0]
        return most if self.layer_cap is None else min(most, self.layer_cap)

    @property
    def max_width(self) -> int:
        """Units per hidden layer offered here: NNPLAY_MAX_WIDTH (NNPLAY_MAX_IMAGE_WIDTH for images), read now."""
        return settings.layer_bounds(self.images)[1]


PLAYGROUND = SidebarSpec("pg", RunConfig(), (*SPECS, *REAL_TABLES, "csv", DRAWN))
IMAGES = SidebarSpec("img", IMAGE_DEFAULTS, ("digits", "fashion_mnist"), images=True, layer_cap=4)


def _listing(reg) -> str:
    return "\n".join(f"- **{k}**: {v}" for k, v in reg.items())


def check_hidden(hidden: tuple[int, ...], max_layers: int, max_width: int) -> None:
    """A page's layer bounds, stated the same way as core validation messages."""
    if len(hidden) > max_layers:
        raise ConfigError(f"hidden layers must be at most {max_layers} here, got {len(hidden)}", "hidden")
    for i, width in enumerate(hidden):
        if not 1 <= width <= max_width:
            raise ConfigError(f"hidden[{i}] width must be between 1 and {max_width}, got {width}", "hidden")


def draw(name: str, value, kw: dict, container=None, *, label: str | None = None, help: str | None = None,
         **extra):
    """The widget of setting ``name`` (a widget key of ``WIDGETS``) as the settings table describes it: label,
    help, bounds and step, or the options of a select slider or select box. ``value``: its start, in widget
    units; ``kw``: key and state options; ``container``: where (default the current one)."""
    s = WIDGETS[name]
    c = st if container is None else container
    label = s.label if label is None else label
    help = s.help if help is None else help
    if s.widget in ("slider", "number"):
        lo, hi, step = bounds(name)
        widget = c.slider if s.widget == "slider" else c.number_input
        return widget(label, lo, hi, value, step=step, help=help or None, **kw, **extra)
    if s.widget == "select_slider":
        if not s.plain_options:
            extra.setdefault("format_func", s.option_text)
        return c.select_slider(label, list(s.options), value, help=help or None, **kw, **extra)
    if s.widget == "select":
        keys = list(extra.pop("choices", s.choices))
        reg = {k: s.choices[k] for k in keys}
        listing = _listing(reg)
        return c.selectbox(label, keys, index=keys.index(value), help=f"{help}\n\n{listing}" if help else listing,
                           **kw, **extra)
    if s.widget == "toggle":
        return c.toggle(label, value, help=help or None, **kw, **extra)
    raise ValueError(f"setting {name} has no single widget")


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

    def w(self, name: str, value, container=None, **extra):
        """The widget of setting ``name`` with this page's key, starting at ``value`` (widget units)."""
        return draw(name, value, self.kw(name), container, **extra)

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

    def data(self) -> dict:
        spec, d = self.spec, self.d
        values = {"dataset": self.w("dataset", d.dataset, choices=spec.datasets, on_change=_dataset_changed,
                                    args=(spec,))}
        st.session_state[f"{spec.prefix}.dataset_shown"] = values["dataset"]
        split = "zero mean, unit variance, with statistics of the training split"
        if spec.images:
            values["limit"] = int(self.w("limit", d.limit))
            values["standardize"] = self.w("standardize", d.standardize, label="Standardize pixels",
                                           help="off: scale pixels to [0, 1]; on: per-pixel zero mean, unit variance")
        elif values["dataset"] == "csv":
            from ui.controls.tables import table_inputs
            values.update(table_inputs(spec.prefix, self.kw))
            values["standardize"] = self.w("standardize", d.standardize,
                                           help=f"{split}; a regression target too (its loss is then on the "
                                                "standardized target; R² and predictions are in its units)")
        elif values["dataset"] == DRAWN:  # the user's own points, drawn on the plane (ui.controls.drawing)
            from ui.controls.drawing import sidebar_inputs
            values.update(sidebar_inputs(spec.prefix))
            values["standardize"] = self.w("standardize", d.standardize, help=f"{split}; a regression target too")
        elif values["dataset"] in REAL_TABLES:  # a fixed table: points, noise and classes do not apply
            table = REAL_TABLES[values["dataset"]]
            kind = "regression" if table.task == "regression" else f"{table.classes} classes"
            st.caption(f"{table.rows} rows, {kind}; drawn in the plane of its first two principal components")
            values["standardize"] = self.w("standardize", d.standardize, help=split)
        else:
            if SPECS[values["dataset"]].takes_classes:
                values["classes"] = self.w("classes", d.classes)
            values["n_points"] = self.w("n_points", d.n_points)
            values["noise"] = self.w("noise", d.noise, help=noise_help(values["dataset"]))
            values["standardize"] = self.w("standardize", d.standardize, help=split)
        values["seed"] = int(self.w("seed", d.seed))
        val, test = st.columns(2)
        for name, column in (("val_fraction", val), ("test_fraction", test)):  # percent sliders
            s = settings.get(name)
            values[name] = self.w(s.widget_key, round(getattr(d, name) * s.scale), column) / s.scale
        if not spec.images:
            from ui.controls.drawing import sidebar_footer
            sidebar_footer(spec.prefix, values)  # a drawn set's counts and download; only it keeps its link
        return values

    def network(self) -> dict:
        spec, m = self.spec, self.m
        values = {}
        if spec.images:
            values["kind"] = self.w("kind", m.kind)
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
                settings.label("inputs"), list(FEATURES), list(m.inputs), format_func=feature_label,
                **self.kw("inputs"),
                help="what the first layer reads, computed from the standardized x1, x2: with x1² and x2² even a "
                     "network without hidden layers can draw a circle"))
        values["activation"] = self.w("activation", m.activation)
        values["init"] = self.w("init", m.init)
        return values

    def training(self, into: dict, piece: Callable) -> None:
        """The Training group's values into ``into``, each setting drawn by ``piece(into, draw, reshapes=...)``
        (``training_sidebar``'s: a fragment of its own; ``reshapes``: its value decides which settings show)."""
        t = self.t

        def one(name: str, cast=lambda v: v):
            return lambda: {name: cast(self.w(name, getattr(t, name)))}
        piece(into, one("engine"))
        piece(into, one("device"))
        piece(into, one("optimizer"), reshapes=True)
        piece(into, one("learning_rate"))
        knobs = settings.for_optimizer(into["optimizer"])  # what this optimizer reads: momentum, betas, ...
        if "momentum" in knobs:
            piece(into, one("momentum"))
        if "beta1" in knobs:
            def betas():
                b1, b2 = st.columns(2)
                return {"beta1": self.w("beta1", t.beta1, b1), "beta2": self.w("beta2", t.beta2, b2, help="")}
            piece(into, betas)
        if "weight_decay" in knobs:
            piece(into, one("weight_decay"))
        piece(into, one("batch_size"))
        piece(into, one("schedule"), reshapes=True)
        if settings.get("step_size").applies(schedule=into["schedule"]):
            piece(into, one("step_size", int))
        if settings.get("gamma").applies(schedule=into["schedule"]):
            default, key = (0.5 if into["schedule"] == "step" else 0.99), f"gamma_{into['schedule']}"
            piece(into, lambda: {"gamma": self.w(key, default)})
        piece(into, one("epochs", int))

    def regularization(self, model: dict, train: dict, piece: Callable) -> None:
        """The Regularization group's values into ``model`` and ``train``, each drawn by ``piece``."""
        m, t = self.m, self.t

        def l1_l2():
            l1, l2 = st.columns(2)
            return {"l1": self.w("l1", t.l1, l1), "l2": self.w("l2", t.l2, l2)}
        piece(train, l1_l2)
        piece(model, lambda: {"dropout": self.w("dropout", m.dropout)})
        piece(model, lambda: {"batch_norm": self.w("batch_norm", m.batch_norm)})
        piece(train, lambda: {"clip_norm": self.w("clip_norm", t.clip_norm)})
        piece(train, lambda: {"early_stopping": int(self.w("early_stopping", t.early_stopping))}, reshapes=True)
        if train["early_stopping"]:
            piece(train, lambda: {"restore_best": self.w("restore_best", t.restore_best)})
            piece(train, lambda: {"min_delta": float(self.w("min_delta", float(t.min_delta), format="%g"))})
        if self.spec.images:
            st.caption("Augmentation (training images only)")
            for name in ("augment_flip", "augment_shift", "augment_rotate"):
                piece(train, lambda name=name: {name: self.w(name, getattr(t, name))})


def training_sidebar(spec: SidebarSpec, apply: Callable[[RunConfig], bool] | None = None
                     ) -> tuple[RunConfig | None, str]:
    """Draw the page's sidebar; return (config, "") or (None, message) when a value is invalid (the message is
    shown at the sidebar's foot).

    Each setting of the Training and Regularization groups is a fragment of its own: a change there reruns only
    its widget (a click on the learning rate while a run plays costs the browser one widget, not the page; each
    widget a rerun draws again costs it a few milliseconds). The new config then goes to ``apply``, which passes
    it to the run and returns True, or returns False where the whole page has to run again (a new run, a view
    that does not fetch its own frames); without ``apply`` it always does. The whole page also runs again for a
    setting that decides which others show (the optimizer's knobs, the schedule's, early stopping's), and where
    the settings have a problem or had one (the page shows it below the groups)."""
    b = _Builder(spec)
    alone = [False]  # False while the page runs; from then on, a piece reruns alone
    with st.sidebar:
        ignored = check_link(spec, b.unbound)
        if ignored:
            st.warning(f"{'; '.join(ignored)} (each keeps its current value).")
        data, model = b.group("Data", b.data), b.group("Network", b.network)
        page_errors = list(b.errors)
        train, model_reg, train_reg = {}, {}, {}
        shown = [""]  # the problem the page's run shows

        def settle() -> tuple[RunConfig | None, str]:
            b.errors = list(page_errors)
            return _settled(b, data, model, train, model_reg, train_reg)

        def piece(into: dict, draw: Callable[[], dict], *, reshapes: bool = False) -> None:
            locked = b.locked  # (a rerun of the piece alone draws it as its group did: locked by the link or not)

            def rerun_piece():
                outside, b.locked = b.locked, locked
                try:
                    into.update(draw())
                finally:
                    b.locked = outside
                if not alone[0]:
                    return  # the page's run settles the groups once they are all drawn
                cfg, error = (None, "") if reshapes else settle()
                if reshapes or error or shown[0] or apply is None or not apply(cfg):
                    st.rerun()
            st.fragment(rerun_piece)()
        b.group("Training", lambda: b.training(train, piece))
        b.group("Regularization", lambda: b.regularization(model_reg, train_reg, piece))
        cfg, error = settle()
        shown[0] = error
        if error:
            st.error(error)  # the run keeps its last valid settings
        alone[0] = True
    return cfg, error


def _settled(b: _Builder, data: dict, model: dict, train: dict, model_reg: dict, train_reg: dict
             ) -> tuple[RunConfig | None, str]:
    """The config of the sidebar's values, or (None, the first problem found)."""
    if data["dataset"] == "csv" and not data.get("table"):
        return None, "Upload a CSV table in the Data group to train on your own data."
    base = defaults_for(data["dataset"])  # settings without a widget here take the dataset's defaults
    cfg = None
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


def _nearest(options: list[float], value: float) -> float:
    """The option closest to ``value`` on a log scale (0 matches 0): select sliders take listed values only."""
    if value in options:
        return value
    positive = [o for o in options if o > 0]
    if value <= 0:
        return 0.0 if 0.0 in options else positive[0]
    return min(positive, key=lambda o: abs(math.log(o) - math.log(value)))


def _fit(name: str, value, *, capped: bool = True):
    """``value`` made acceptable to widget ``name``: the nearest option of a select slider, or clamped into a
    slider's or number input's bounds (``capped``: see ``bounds``)."""
    if options(name) is not None:
        return _nearest(list(options(name)), value)
    if _numeric(name):
        lo, hi, _ = bounds(name, capped=capped)
        value = min(max(value, lo), hi)
        return int(value) if isinstance(lo, int) else float(value)
    return value


def _raw_widget_values(cfg: RunConfig) -> dict:
    """Widget name -> the value that shows ``cfg`` exactly (possibly outside what the widget accepts)."""
    out = {}
    for key, setting in WIDGETS.items():
        value = getattr(getattr(cfg, setting.section), setting.name)
        if setting.name == "gamma" and key != f"gamma_{cfg.train.schedule}":
            continue  # one decay-factor widget per schedule: the run's schedule shows the run's gamma
        if setting.scale != 1:
            value = round(value * setting.scale)
        elif setting.kind == "layers":
            value = ",".join(map(str, value))
        elif setting.kind == "features":
            value = list(value)
        out[key] = value
    return out


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


_WIDGET_FIELDS = {s.name: s.widget_key for s in settings.TABLE if s.key}  # field -> its widget, where they differ
_CSV_FIELDS = set(settings.CSV_FIELDS)


def _shown_fields(spec: SidebarSpec, cfg: RunConfig | None) -> set[str]:
    """Config fields that ``spec``'s sidebar sets from a widget while it shows ``cfg`` (the same conditions as
    the builder's); every other field takes the page's default. ``cfg`` None: the fields any setting shows."""
    every = cfg is None
    d, t = (cfg.data, cfg.train) if cfg is not None else (None, None)
    knobs = settings.optimizer_settings() if every else settings.for_optimizer(t.optimizer)
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
    shown |= {s.name for s in settings.TABLE if s.schedules is not None
              and (every or s.applies(schedule=t.schedule))}  # step_size, gamma
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
    hidden layers this page does not offer raise ConfigError, as does a fitted config that is not valid.
    Settings beyond this server's NNPLAY_* limits are kept as they are, for the gate to refuse by name."""
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
    # The page's own cap on layers; the server's limits on layers and widths are left to the gate, which names them.
    check_hidden(model.hidden, spec.layer_cap or settings.MAX_LAYERS, settings.get("hidden").hi)
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
                if name not in raw or (options(name) is None and not _numeric(name)):
                    new[f.name] = value
                    continue
                widget_value = _fit(name, raw[name], capped=False)
                scale = WIDGETS[name].scale
                fitted = widget_value / scale if scale != 1 else widget_value
                lo, hi = bounds(name, capped=False)[:2] if _numeric(name) else (None, None)
                reason = ("most this page offers" if hi is not None and raw[name] > hi else
                          "least this page offers" if lo is not None and raw[name] < lo else "nearest choice")
            new[f.name] = fitted
            if fitted != value:
                notes.append(f"{settings.get(f.name).note_name} {_text(value)} -> {_text(fitted)} "
                             f"({reason})")
        parts[section] = new
    try:
        fitted = RunConfig(replace(base.data, **parts["data"]), replace(base.model, **parts["model"]),
                           replace(base.train, **parts["train"]))
    except ConfigError as e:
        raise ConfigError(f"its settings fitted to this page's controls are not valid: {e}", e.param) from None
    return fitted, notes


# --- links: values in the URL that the widgets would not take -----------------------------------------------

def _selects(spec: SidebarSpec) -> dict:
    """Select box -> the keys it offers on ``spec``'s page."""
    return {k: (spec.datasets if k == "dataset" else tuple(w.choices)) for k, w in WIDGETS.items()
            if w.widget == "select"}


def _link_problem(spec: SidebarSpec, name: str, text: str) -> str | None:
    """Why widget ``name`` of ``spec``'s sidebar would not take the link value ``text`` (None: it would)."""
    fields_here = _shown_fields(spec, None) - _CSV_FIELDS - {"gamma"}
    widgets = {_WIDGET_FIELDS.get(f, f) for f in fields_here} | {k for k, w in WIDGETS.items() if w.name == "gamma"}
    if name not in widgets:
        return "not a setting on this page"
    if _numeric(name):
        lo, hi, _ = bounds(name)
        whole = isinstance(lo, int)
        rule = f"must be a {'whole ' if whole else ''}number from {_text(lo)} to {_text(hi)}"
        try:
            value = float(text)
        except ValueError:
            return rule
        ok = math.isfinite(value) and lo <= value <= hi and (not whole or value == int(value))
        return None if ok else rule
    if options(name) is not None:
        texts = [WIDGETS[name].option_text(o) for o in options(name)]
        return None if text in texts else f"must be one of {', '.join(texts)}"
    if name in WIDGETS and WIDGETS[name].widget == "toggle":
        return None if text.lower() in ("true", "false") else "must be true or false"
    keys = _selects(spec).get(name)
    if keys is not None and text not in keys:
        return f"must be one of {', '.join(keys)}"
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
