"""Every setting a user can make, declared once: what it sets, its bounds, its choices, its help, who reads it.

One ``Setting`` per config field a person can set (on the sidebar, in a link, on the command line, as a race
knob or in a search space). The consumers read this table instead of keeping their own copies:

- the sidebar (``ui.controls.sidebar``) draws its widgets, checks link values and fits checkpoints with it;
- the command line (``nncore.cli.main``) builds its flags and reads them back with it;
- the race (``ui.panels.race``) draws the knobs marked ``race``; the search space checks its ranges with it.

Bounds come in two kinds. ``lo``/``hi`` (with ``lo_open``/``hi_open``) are what a run accepts anywhere,
the rule ``nncore.config`` enforces (a test keeps the two equal); the command line states them. A widget
offers ``span`` when that is narrower (a slider over the useful part), and a server's ``NNPLAY_*`` limit
(``limit``, a field of ``nncore.limits.Limits``) narrows the upper end further; ``widget_bounds`` reads the
limits each time it is called, so changing the environment changes what the sidebar offers. Hidden layers
are bounded by ``layer_bounds`` (NNPLAY_MAX_LAYERS, and NNPLAY_MAX_WIDTH or NNPLAY_MAX_IMAGE_WIDTH).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nncore import registry
from nncore.config import (
    DEVICES,
    ENGINES,
    MAX_LAYERS,  # noqa: F401  (re-exported: settings.MAX_LAYERS is read by the sidebar, CLI and search space)
    MODEL_KINDS,
    RULES,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from nncore.data import DATASETS, noise_help
from nncore.features import FEATURES
from nncore.limits import Limits, load_limits

# The listed values of the select sliders (log-spaced where the setting spans decades).
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
PENALTIES = (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CLIP_NORMS = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
BETA2S = (0.9, 0.99, 0.995, 0.999, 0.9999)

SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


@dataclass(frozen=True)
class Setting:
    """One user-facing config field and everything the consumers need to offer it."""

    name: str                      # the config field it sets
    section: str                   # "data", "model" or "train" (the RunConfig part holding the field)
    kind: str                      # "int", "float", "bool", "choice", "layers", "features", "text", "columns"
    label: str                     # the widget's label
    help: str = ""                 # one line for the widget's tooltip and the flag's --help
    lo: float | None = None        # what a run accepts (config's rule) ...
    hi: float | None = None
    lo_open: bool = False          # ... lo < value instead of lo <= value
    hi_open: bool = False          # ... value < hi instead of value <= hi (lo..hi_open: config's RULES)
    limit: str | None = None       # the Limits field that caps ``hi`` on a server (NNPLAY_*)
    span: tuple | None = None      # the widget's own (lo, hi), in widget units, where narrower than the rule
    step: float | None = None      # the widget's step, in widget units
    scale: int = 1                 # widget value = field value x scale (percent sliders: 100)
    options: tuple | None = None   # a select slider's listed values
    log: bool = False              # the options are log-spaced (a link or checkpoint value snaps on a log scale)
    plain_options: bool = False    # options read as str(o) (else 0 reads "off" and others as %g)
    choices: Mapping | tuple | None = None  # the allowed keys (a registry: key -> description)
    widget: str | None = None      # "slider", "select_slider", "number", "select", "toggle", "text", "multiselect"
    key: str | None = None         # the widget's key (and URL parameter) where it differs from ``name``
    flag: str | None = None        # the CLI flag; a flag several settings share is one compound flag
    metavar: str | None = None     # the flag's metavar, where argparse's would mislead
    optimizers: tuple[str, ...] | None = None  # the optimizers that read it (None: all)
    schedules: tuple[str, ...] | None = None   # the LR schedules that read it (None: all)
    note: str | None = None        # how a note about a fitted value names it (default: name with spaces)
    race: int = 0                  # position among the race knobs (0: not a race knob)

    def __post_init__(self):
        if self.name in RULES:  # the rule is config's, written once there
            lo, hi, lo_open, hi_open, _ = RULES[self.name]
            for attr, v in (("lo", lo), ("hi", hi), ("lo_open", lo_open), ("hi_open", hi_open)):
                object.__setattr__(self, attr, v)

    @property
    def widget_key(self) -> str:
        return self.key or self.name

    @property
    def dest(self) -> str | None:
        """The argparse attribute of the setting's flag."""
        return None if self.flag is None else self.flag.lstrip("-").replace("-", "_")

    @property
    def note_name(self) -> str:
        return self.note or self.name.replace("_", " ")

    def applies(self, optimizer: str | None = None, schedule: str | None = None) -> bool:
        """Whether a run with ``optimizer`` and ``schedule`` reads this setting (None: any)."""
        return ((optimizer is None or self.optimizers is None or optimizer in self.optimizers)
                and (schedule is None or self.schedules is None or schedule in self.schedules))

    def rule_text(self) -> str:
        """The accepted values in words, e.g. ``0 < value <= 10`` or ``one of relu, tanh``."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.lo is None and self.hi is None:
            return ""
        lo = f"{_g(self.lo)} {'<' if self.lo_open else '<='} " if self.lo is not None else ""
        hi = f" {'<' if self.hi_open else '<='} {_g(self.hi)}" if self.hi is not None else ""
        return f"{lo}value{hi}"

    def option_text(self, value) -> str:
        """How a select slider's option reads in a link and on the slider."""
        return str(value) if self.plain_options else ("off" if value == 0 else f"{value:g}")


def _g(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


_OPT_MOMENTUM = ("momentum", "nesterov")
_OPT_ADAM = ("adam", "adamw")

TABLE: tuple[Setting, ...] = (
    # --- data ---------------------------------------------------------------------------------------------
    Setting("dataset", "data", "choice", "Dataset", "what to learn from", choices=DATASETS, widget="select",
            flag="--dataset"),
    Setting("classes", "data", "int", "Classes (arms / clusters)", "classes / spiral arms (spirals, blobs)",
            step=1, widget="slider", flag="--classes"),
    Setting("n_points", "data", "int", "Points", "points to generate (toy sets)",
            limit="max_points", step=10, widget="slider", flag="--n", note="points"),
    Setting("noise", "data", "float", "Noise", noise_help(), span=(0.0, 0.5), step=0.01,
            widget="slider", flag="--noise"),
    Setting("seed", "data", "int", "Seed", "same seed, same data, same initial weights, same run", step=1,
            widget="number", flag="--seed"),
    Setting("val_fraction", "data", "float", "Validation %", "share held out for validation", span=(5, 40),
            step=5, scale=100, widget="slider", key="val_pct", flag="--val-fraction",
            note="validation share"),
    Setting("test_fraction", "data", "float", "Test %", "share held out for the final test", span=(5, 40),
            step=5, scale=100, widget="slider", key="test_pct",
            flag="--test-fraction", note="test share"),
    Setting("standardize", "data", "bool", "Standardize inputs",
            "scale inputs to zero mean, unit variance, with statistics of the training split",
            widget="toggle", flag="--standardize"),
    Setting("limit", "data", "int", "Training images (0 = all)",
            "image sets: cap on training images (0 = all); fewer train faster",
            span=(0, 60_000), step=500, widget="number", flag="--limit"),
    # uploaded tables (dataset "csv"): the CLI reads the file with --csv, the sidebar with ui.controls.tables
    Setting("table", "data", "text", "CSV table", "train on this CSV table (header line, one row per sample)",
            flag="--csv", metavar="FILE"),
    Setting("label", "data", "text", "Label column", "the column to predict (default: the last column)",
            flag="--label", metavar="COLUMN"),
    Setting("features", "data", "columns", "Feature columns", "feature columns (default: all other numeric ones)",
            flag="--features", metavar="A,B,..."),
    Setting("task", "data", "choice", "Task", "what the label is (auto: whole-number labels are classes)",
            choices=registry.LABEL_TASKS, flag="--task"),
    Setting("missing", "data", "choice", "Missing values",
            "drop rows with missing values, or impute column means (default: refuse missing values)",
            choices=registry.Registry("missing", {"refuse": "refuse a table with missing values",
                                                  "drop": "drop rows with missing values",
                                                  "impute": "fill in column means"}), flag="--missing"),
    Setting("points", "data", "points", "Drawn points", "the points drawn on the plane (dataset drawn)"),
    # --- network ------------------------------------------------------------------------------------------
    Setting("kind", "model", "choice", "Model", "the network: cnn for image sets (conv-pool-conv-pool-dense)",
            choices=MODEL_KINDS, widget="select", flag="--model"),
    Setting("channels", "model", "layers", "Convolution channels", "cnn: the two convolutions' widths",
            flag="--channels"),
    Setting("hidden", "model", "layers", "Hidden layers", "layer widths, e.g. 16,16 ('' = none)",
            widget="text", flag="--hidden", race=5),
    Setting("inputs", "model", "features", "Input features",
            "input features the network reads, computed from the standardized x1, x2 of 2-D data",
            choices=FEATURES, widget="multiselect", flag="--inputs", metavar="x1,x2"),
    Setting("activation", "model", "choice", "Activation", "used after every hidden layer",
            choices=registry.ACTIVATIONS, widget="select", flag="--activation", race=3),
    Setting("init", "model", "choice", "Initialization", "how the weights start (biases start at 0)",
            choices=registry.INITIALIZERS, widget="select", flag="--init", race=4),
    Setting("dropout", "model", "float", "Dropout", "share of hidden units dropped at each training step",
            span=(0.0, 0.8), step=0.05, widget="slider", flag="--dropout", race=7),
    Setting("batch_norm", "model", "bool", "Batch norm", "BatchNorm between each hidden layer and its activation",
            widget="toggle", flag="--batch-norm", race=6),
    Setting("dtype", "model", "choice", "Precision", "float32 (fast) or float64 (exact comparisons)",
            choices=registry.Registry("dtype", {"float32": "fast", "float64": "exact comparisons"}),
            flag="--dtype"),
    # --- training -----------------------------------------------------------------------------------------
    Setting("engine", "train", "choice", "Engine", "what computes the training", choices=ENGINES,
            widget="select", flag="--engine"),
    Setting("device", "train", "choice", "Device", "torch engine: where it computes", choices=DEVICES,
            widget="select", flag="--device"),
    Setting("optimizer", "train", "choice", "Optimizer", "how a step follows the gradient",
            choices=registry.OPTIMIZERS, widget="select", flag="--optimizer", race=1),
    Setting("learning_rate", "train", "float", "Learning rate",
            "base step size, before the schedule; changes apply mid-run", options=LEARNING_RATES, log=True,
            widget="select_slider", flag="--lr", race=2),
    Setting("momentum", "train", "float", "Momentum", "the momentum term of SGD with momentum / Nesterov",
            span=(0.0, 0.99), step=0.01, widget="slider", flag="--momentum",
            optimizers=_OPT_MOMENTUM),
    Setting("beta1", "train", "float", "β1", "adam/adamw first-moment decay",
            span=(0.0, 0.99), step=0.01, widget="slider", flag="--beta1", optimizers=_OPT_ADAM, note="β1"),
    Setting("beta2", "train", "float", "β2", "adam/adamw second-moment decay",
            options=BETA2S, plain_options=True, widget="select_slider", flag="--beta2", optimizers=_OPT_ADAM,
            note="β2"),
    Setting("weight_decay", "train", "float", "Weight decay (AdamW)", "adamw's decoupled weight decay",
            options=PENALTIES, log=True, widget="select_slider", flag="--weight-decay", optimizers=("adamw",)),
    Setting("batch_size", "train", "int", "Batch size", "samples per step", options=BATCH_SIZES,
            log=True, plain_options=True, widget="select_slider", flag="--batch-size"),
    Setting("schedule", "train", "choice", "LR schedule", "how the learning rate changes over the run",
            choices=registry.SCHEDULES, widget="select", flag="--schedule"),
    Setting("step_size", "train", "int", "Step every (epochs)", "schedule step: epochs between decays", span=(1,
            10_000), step=1, widget="number", flag="--step-size", schedules=("step",)),
    Setting("gamma", "train", "float", "Decay factor γ",
            "schedule step/exponential: decay factor per step (per epoch for exponential)", span=(0.5, 0.999),
            step=0.001, widget="slider", flag="--gamma",
            schedules=("step", "exponential"), note="decay factor γ"),
    Setting("epochs", "train", "int", "Epochs", "the run stops after this many passes over the training data",
            limit="max_epochs", step=10, widget="number", flag="--epochs"),
    # --- regularization -----------------------------------------------------------------------------------
    Setting("l1", "train", "float", "L1", "L1 penalty weight on weights (not biases)",
            options=PENALTIES, log=True, widget="select_slider", flag="--l1", note="L1"),
    Setting("l2", "train", "float", "L2", "L2 penalty weight: adds l2/2·Σw² to the loss",
            options=PENALTIES, log=True, widget="select_slider", flag="--l2", note="L2", race=8),
    Setting("clip_norm", "train", "float", "Gradient clipping (max norm)", "max gradient norm (0 = off)",
            options=CLIP_NORMS, log=True, widget="select_slider", flag="--clip-norm"),
    Setting("early_stopping", "train", "int", "Early stopping patience (epochs, 0 = off)",
            "epochs without a better validation loss before stopping (0 = off)",
            span=(0, 10_000), step=5, widget="number", flag="--early-stopping", metavar="PATIENCE",
            note="early stopping patience"),
    Setting("restore_best", "train", "bool", "Restore best weights",
            "early stopping: go back to the best validation-loss weights", widget="toggle", flag="--restore-best"),
    Setting("min_delta", "train", "float", "Minimum improvement (val loss)",
            "early stopping: a validation-loss drop smaller than this is no improvement",
            span=(0.0, 1.0), step=1e-4, widget="number", flag="--min-delta", note="minimum improvement"),
    Setting("augment_flip", "train", "bool", "Random left-right flips",
            "image sets: flip training images left-right at random (suits clothing; digits are not symmetric)",
            widget="toggle", flag="--augment"),
    Setting("augment_shift", "train", "int", "Random shifts (pixels)",
            "image sets: shift training images by up to this many pixels", span=(0, 4), step=1,
            widget="slider", flag="--augment"),
    Setting("augment_rotate", "train", "float", "Random rotations (degrees)",
            "image sets: rotate training images by up to this many degrees", span=(0.0, 20.0),
            step=1.0, widget="slider", flag="--augment"),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in TABLE}
# Settings of an uploaded table (dataset "csv"), set by the table's own controls rather than one widget each.
CSV_FIELDS = ("table", "label", "features", "task", "missing")
# The knobs worth comparing in a race, in the order they are drawn.
RACE_KNOBS: tuple[str, ...] = tuple(s.name for s in sorted((s for s in TABLE if s.race), key=lambda s: s.race))


def get(name: str) -> Setting:
    return SETTINGS[name]


def label(name: str) -> str:
    return SETTINGS[name].label


def for_optimizer(optimizer: str) -> tuple[str, ...]:
    """The settings only some optimizers read that ``optimizer`` reads (momentum for SGD with momentum, the
    betas for Adam, ...)."""
    return tuple(s.name for s in TABLE if s.optimizers is not None and optimizer in s.optimizers)


def optimizer_settings() -> tuple[str, ...]:
    """Every setting that only some optimizers read."""
    return tuple(s.name for s in TABLE if s.optimizers is not None)


def widget_keys() -> dict[str, Setting]:
    """Widget key -> setting, for the settings drawn as one widget each (``gamma`` has one per schedule)."""
    out = {}
    for s in TABLE:
        if s.widget is None:
            continue
        if s.name == "gamma":
            out.update({f"gamma_{schedule}": s for schedule in s.schedules})
        else:
            out[s.widget_key] = s
    return out


def _limits(limits: Limits | None) -> Limits:
    return load_limits() if limits is None else limits


def widget_bounds(name: str, limits: Limits | None = None, *, capped: bool = True) -> tuple:
    """(lo, hi) a widget of setting ``name`` offers, in widget units: its span (or the rule), the upper end
    capped by the server's limit (``capped``), read now from the environment unless ``limits`` is given."""
    s = SETTINGS[name]
    lo, hi = s.span if s.span is not None else (s.lo, s.hi)
    if capped and s.limit is not None:
        hi = max(lo, min(hi, getattr(_limits(limits), s.limit)))
    return lo, hi


def layer_bounds(images: bool, limits: Limits | None = None) -> tuple[int, int]:
    """(most hidden layers, widest hidden layer) a server allows: ``NNPLAY_MAX_LAYERS`` and
    ``NNPLAY_MAX_WIDTH`` (``NNPLAY_MAX_IMAGE_WIDTH`` for image sets), read now unless ``limits`` is given."""
    lim = _limits(limits)
    return lim.max_layers, lim.max_image_width if images else lim.max_width


def valid_range(name: str) -> tuple:
    """(lo, hi, lo_open, hi_open): what a run accepts for setting ``name`` anywhere (config's rule)."""
    s = SETTINGS[name]
    return s.lo, s.hi, s.lo_open, s.hi_open


def preset_defaults(name: str) -> dict[str, object]:
    """The setting's starting value per preset where the presets differ, e.g. {"toy": 0.01, "images": 0.001,
    "tables": 0.003} for the learning rate; only the toy value when all agree."""
    from nncore.config import IMAGE_DEFAULTS, TABLE_DEFAULTS, RunConfig
    s = SETTINGS[name]
    values = {k: getattr(getattr(cfg, s.section), name) for k, cfg in
              (("toy", RunConfig()), ("images", IMAGE_DEFAULTS), ("tables", TABLE_DEFAULTS))}
    return values if len({repr(v) for v in values.values()}) > 1 else {"toy": values["toy"]}
