"""Frozen, typed run configuration: the only thing that crosses from the UI or the CLI into the core.

Every field is validated on construction; a bad value raises ``ConfigError`` whose message names the
parameter, the rule and the value, e.g. ``learning_rate must be > 0, got -0.1``. Configs round-trip through
plain dicts (``to_dict``/``from_dict``) for URLs, checkpoints and the CLI.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from nncore.errors import ConfigError
from nncore.features import DEFAULT_INPUTS, check_keys, input_width, is_default, parse_inputs
from nncore.registry import ACTIVATIONS, INITIALIZERS, LABEL_TASKS, OPTIMIZERS, SCHEDULES, Registry

MODEL_KINDS = Registry("model", {
    "mlp": "multi-layer perceptron: fully connected layers (inputs flattened)",
    "cnn": "small convolutional network for images: conv-pool-conv-pool, then fully connected layers",
})

DEVICES = Registry("device", {
    "auto": "CUDA, else Apple MPS, else the CPU",
    "cpu": "the CPU",
    "cuda": "an NVIDIA GPU (torch engine)",
    "mps": "Apple's GPU (torch engine)",
})

ENGINES = Registry("engine", {
    "torch": "PyTorch (torch.nn + torch.optim)",
    "numpy": "NumPy from scratch (hand-written backprop)",
    "auto": "the faster engine for this network",
})


def _fail(name: str, rule: str, value: Any) -> None:
    raise ConfigError(f"{name} must be {rule}, got {value!r}", name)


def _number(name: str, value: Any, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        _fail(name, "an integer" if integer else "a number", value)
    if not integer and not math.isfinite(value):
        _fail(name, "a finite number", value)


def _range(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
           integer: bool = False, lo_open: bool = False, hi_open: bool = False) -> None:
    """Check ``lo <(=) value <(=) hi`` and say the rule in the message."""
    _number(name, value, integer=integer)
    if lo is not None and (value <= lo if lo_open else value < lo):
        _fail(name, f"> {lo}" if lo_open else f">= {lo}", value)
    if hi is not None and (value >= hi if hi_open else value > hi):
        _fail(name, f"< {hi}" if hi_open else f"<= {hi}", value)


# Each numeric setting's rule, written once: field -> (lo, hi, lo_open, hi_open, integer). Validation below
# reads it, and so does the table of settings (nncore.settings) that the sidebar, the CLI and the search
# show; a server's NNPLAY_* limits narrow some ``hi`` further (nncore.limits).
MAX_LAYERS = 16  # the most hidden layers any run may have
RULES: dict[str, tuple] = {
    "n_points": (20, 1_000_000, False, False, True),
    "noise": (0, 10, False, False, False),
    "classes": (2, 10, False, False, True),
    "seed": (0, 2**31 - 1, False, False, True),
    "val_fraction": (0, 0.5, True, False, False),
    "test_fraction": (0, 0.5, True, False, False),
    "limit": (0, 10_000_000, False, False, True),
    "dropout": (0, 1, False, True, False),
    "learning_rate": (0, 10, True, False, False),
    "momentum": (0, 1, False, True, False),
    "beta1": (0, 1, False, True, False),
    "beta2": (0, 1, False, True, False),
    "weight_decay": (0, 1, False, False, False),
    "batch_size": (1, 65536, False, False, True),
    "step_size": (1, 100_000, False, False, True),
    "gamma": (0, 1, True, False, False),
    "epochs": (1, 1_000_000, False, False, True),
    "l1": (0, 1, False, False, False),
    "l2": (0, 1, False, False, False),
    "clip_norm": (0, 1e6, False, False, False),
    "early_stopping": (0, 100_000, False, False, True),
    "min_delta": (0, 1e3, False, False, False),
    "augment_shift": (0, 8, False, False, True),
    "augment_rotate": (0, 45, False, False, False),
    "channels": (1, 512, False, False, True),
    "hidden": (1, 4096, False, False, True),
}


def _rule(field: str, value: Any, name: str | None = None) -> None:
    """``_range`` with the rule of ``field`` from RULES (``name``: what the message calls it, e.g. hidden[0])."""
    lo, hi, lo_open, hi_open, integer = RULES[field]
    _range(name or field, value, lo, hi, lo_open=lo_open, hi_open=hi_open, integer=integer)


def _choice(name: str, value: Any, registry) -> None:
    if value not in registry:
        _fail(name, "one of " + ", ".join(registry), value)


def _boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(name, "true or false", value)


def parse_hidden(text: str | tuple | list) -> tuple[int, ...]:
    """Parse a compact layer spec such as ``"16,16"`` (or ``""`` for no hidden layer) into widths."""
    if isinstance(text, (tuple, list)):
        return tuple(text)
    parts = [p.strip() for p in str(text).replace(" ", ",").split(",") if p.strip()]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"hidden must be comma-separated layer widths such as 16,16, got {text!r}",
                          "hidden") from None


@dataclass(frozen=True)
class DataConfig:
    """What to learn from. Changing any of these starts a new run."""

    dataset: str = "spirals"      # key of nncore.data.DATASETS
    n_points: int = 600           # samples generated before the split (toy sets)
    noise: float = 0.1            # toy sets: jitter std as a fraction of the shape's scale (toy.SCALES; 0 = clean)
    classes: int = 2              # number of classes, for datasets that take it (spirals arms, blobs)
    seed: int = 0                 # seeds data, initialization, shuffling and dropout: same seed, same run
    val_fraction: float = 0.2     # share of samples held out for validation
    test_fraction: float = 0.2    # share of samples held out for the final test
    standardize: bool = True      # scale inputs to zero mean, unit variance (fit on train only)
    limit: int = 0                # image sets: cap on training samples (0 = all), for quick demos
    table: str = ""               # dataset "csv": which uploaded table ("name.csv#checksum")
    label: str = ""               # dataset "csv": the column to predict
    features: tuple[str, ...] = ()  # dataset "csv": feature columns (empty = every other numeric column)
    task: str = "auto"            # dataset "csv": auto, classification or regression
    missing: str = "refuse"       # dataset "csv": refuse, drop (rows) or impute (column means) missing values
    points: tuple[tuple[float, float, float], ...] = ()  # dataset "drawn": (x1, x2, label) in the plane's units;
    #                                   label = class id, or the target (task "regression"; "auto": whole labels = classes)

    def __post_init__(self):
        from nncore.data import DATASETS  # the dataset registry lives with the generators
        _choice("dataset", self.dataset, DATASETS)
        _rule("n_points", self.n_points)
        _rule("noise", self.noise)
        _rule("classes", self.classes)
        _rule("seed", self.seed)
        _rule("val_fraction", self.val_fraction)
        _rule("test_fraction", self.test_fraction)
        if self.val_fraction + self.test_fraction > 0.8:
            _fail("val_fraction + test_fraction", "<= 0.8 (keep data to train on)",
                  round(self.val_fraction + self.test_fraction, 6))
        _boolean("standardize", self.standardize)
        _rule("limit", self.limit)
        object.__setattr__(self, "features", tuple(self.features))
        _choice("task", self.task, LABEL_TASKS)
        _choice("missing", self.missing, ("refuse", "drop", "impute"))
        from nncore.data import drawn
        object.__setattr__(self, "points", drawn.normalize(self.points))
        if self.dataset == drawn.DRAWN:
            drawn.check(self.points, self.task, self.val_fraction, self.test_fraction)
        from nncore.data import SPECS
        spec = SPECS.get(self.dataset)
        if spec is not None and spec.task == "classification":
            classes = self.classes if spec.takes_classes else 2
            need = math.ceil(2 * classes / min(self.val_fraction, self.test_fraction))
            if self.n_points < need:  # stratified splits need every class in train, validation and test
                _fail("n_points", f">= {need} for {classes} classes with these split fractions", self.n_points)
        from nncore.data import REAL_TABLES
        table = REAL_TABLES.get(self.dataset)
        if table is not None and table.classes:  # a fixed table: the split fractions must leave room per class
            least = math.ceil(2 * table.classes / table.rows * 1000) / 1000
            if min(self.val_fraction, self.test_fraction) < least:
                _fail("val_fraction and test_fraction", f">= {least:g} each for {self.dataset} ({table.rows} rows: "
                      f"all {table.classes} classes in every split)", min(self.val_fraction, self.test_fraction))


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape. Changing any of these starts a new run."""

    hidden: tuple[int, ...] = (16, 16)  # width of each hidden layer, input side first; () = no hidden layer
    activation: str = "relu"            # key of ACTIVATIONS, used after every hidden layer
    init: str = "he_uniform"            # key of INITIALIZERS for weights; biases start at 0
    dropout: float = 0.0                # drop probability after each hidden activation (0 = off)
    batch_norm: bool = False            # BatchNorm1d between each hidden Linear and its activation
    dtype: str = "float32"              # float32 (fast) or float64 (exact comparisons)
    kind: str = "mlp"                   # "mlp", or "cnn" for images: conv-pool-conv-pool, then the hidden layers
    channels: tuple[int, ...] = (16, 32)  # cnn: output channels of the two 3×3 convolutions
    inputs: tuple[str, ...] = DEFAULT_INPUTS  # keys of features.FEATURES the network reads, in order; the default
    #                                           is the data's features as they are (any data), others need 2-D data

    def __post_init__(self):
        object.__setattr__(self, "hidden", parse_hidden(self.hidden))
        object.__setattr__(self, "inputs", parse_inputs(self.inputs))
        check_keys(self.inputs)
        object.__setattr__(self, "channels", parse_hidden(self.channels))
        _choice("kind", self.kind, MODEL_KINDS)
        if len(self.channels) != 2:
            _fail("channels", "two convolution widths such as 16,32", self.channels)
        for i, width in enumerate(self.channels):
            _rule("channels", width, f"channels[{i}]")
        if len(self.hidden) > MAX_LAYERS:
            _fail("hidden", f"at most {MAX_LAYERS} layers", len(self.hidden))
        for i, width in enumerate(self.hidden):
            _rule("hidden", width, f"hidden[{i}]")
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("init", self.init, INITIALIZERS)
        _rule("dropout", self.dropout)
        _boolean("batch_norm", self.batch_norm)
        _choice("dtype", self.dtype, ("float32", "float64"))
        if self.kind == "cnn" and not is_default(self.inputs):
            _fail("inputs", "x1,x2 for model cnn (input features are for MLPs on 2-D data)", ",".join(self.inputs))

    def describe(self, data=None) -> str:
        """The network in one line. With ``data`` (a Dataset or its Signature) every layer's width, e.g.
        ``2 → 16 → 16 → 1``, or for a CNN ``28×28 → conv 16 → conv 32 → 128 → 10``; without, its hidden
        layers, e.g. ``16,16`` (``linear`` when it has none)."""
        if data is None:
            return ",".join(map(str, self.hidden)) or "linear"
        dense = [*self.hidden, data.n_outputs]
        if self.kind == "cnn":
            rows, cols = data.image_shape or ("?", "?")
            return " → ".join([f"{rows}×{cols}", *(f"conv {c}" for c in self.channels), *map(str, dense)])
        return " → ".join(map(str, [input_width(self.inputs, data.n_features), *dense]))


@dataclass(frozen=True)
class TrainConfig:
    """How to train. These can change mid-run without a reset (the engine picks them up)."""

    optimizer: str = "adam"        # key of OPTIMIZERS
    learning_rate: float = 0.01    # base step size, before the schedule
    momentum: float = 0.9          # momentum / nesterov / rmsprop momentum term
    beta1: float = 0.9             # adam/adamw first-moment decay
    beta2: float = 0.999           # adam/adamw second-moment decay
    weight_decay: float = 0.01     # adamw's decoupled decay (other optimizers use l2)
    batch_size: int = 32           # samples per step
    schedule: str = "constant"     # key of SCHEDULES
    step_size: int = 50            # epochs between decays (schedule "step")
    gamma: float = 0.5             # decay factor per step_size epochs ("step") or per epoch ("exponential")
    epochs: int = 1000             # the run stops after this many epochs (cosine decays over them)
    l1: float = 0.0                # L1 penalty weight on weights (not biases)
    l2: float = 0.0                # L2 penalty weight: adds l2/2·Σw² to the loss
    clip_norm: float = 0.0         # clip the global gradient norm to this (0 = off)
    early_stopping: int = 0        # stop after this many epochs without a better val loss (0 = off)
    restore_best: bool = True      # on early stop, go back to the best val-loss weights
    min_delta: float = 1e-4        # early stopping: a val-loss drop smaller than this is no improvement
    augment_flip: bool = False     # image sets: flip training images left-right at random
    augment_shift: int = 0         # image sets: shift training images by up to this many pixels
    augment_rotate: float = 0.0    # image sets: rotate training images by up to this many degrees
    engine: str = "auto"           # key of ENGINES ("auto": NumPy for small MLPs, torch otherwise)
    device: str = "auto"           # key of DEVICES: where the torch engine computes (NumPy is always CPU)

    def __post_init__(self):
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _rule("learning_rate", self.learning_rate)
        _rule("momentum", self.momentum)
        if self.optimizer == "nesterov" and self.momentum == 0:
            _fail("momentum", "> 0 for nesterov (Nesterov's look-ahead is a momentum step)", self.momentum)
        _rule("beta1", self.beta1)
        _rule("beta2", self.beta2)
        _rule("weight_decay", self.weight_decay)
        _rule("batch_size", self.batch_size)
        _choice("schedule", self.schedule, SCHEDULES)
        _rule("step_size", self.step_size)
        _rule("gamma", self.gamma)
        _rule("epochs", self.epochs)
        _rule("l1", self.l1)
        _rule("l2", self.l2)
        _rule("clip_norm", self.clip_norm)
        _rule("early_stopping", self.early_stopping)
        _boolean("restore_best", self.restore_best)
        _rule("min_delta", self.min_delta)
        _boolean("augment_flip", self.augment_flip)
        _rule("augment_shift", self.augment_shift)
        _rule("augment_rotate", self.augment_rotate)
        _choice("engine", self.engine, ENGINES)
        _choice("device", self.device, DEVICES)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self):
        if self.model.batch_norm and self.train.batch_size < 2:
            _fail("batch_size", ">= 2 with batch norm (it normalizes over the batch)", self.train.batch_size)
        from nncore.data import IMAGE_SHAPES, REAL_TABLES
        if not is_default(self.model.inputs) and self.data.dataset in (*IMAGE_SHAPES, *REAL_TABLES):
            kind = "an image set" if self.data.dataset in IMAGE_SHAPES else "a table"
            raise ConfigError(f"inputs {','.join(self.model.inputs)} need data with exactly 2 features (x1, x2); "
                              f"{self.data.dataset} is {kind} with more: use inputs x1,x2 (the data's features as "
                              "they are)", "inputs")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"]["hidden"] = list(self.model.hidden)
        d["model"]["channels"] = list(self.model.channels)
        d["model"]["inputs"] = list(self.model.inputs)
        d["data"]["features"] = list(self.data.features)
        d["data"]["points"] = [list(p) for p in self.data.points]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        parts = {}
        for name, kind in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
            parts[name] = build(kind, d.get(name, {}))
        return cls(**parts)

    def replace(self, **sections) -> "RunConfig":
        return replace(self, **sections)


def changed_fields(old, new) -> list[str]:
    """Names of the fields that differ between two configs of one kind (DataConfig, ModelConfig, ...)."""
    return [f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name)]


def build(kind, values: dict, what: str | None = None):
    """Construct dataclass ``kind`` from a dict, naming any unknown key (``what`` it is not: by default "a
    setting of <kind>") instead of a TypeError."""
    known = {f.name for f in fields(kind)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{key} is not {what or f'a setting of {kind.__name__}'}; "
                              f"known: {', '.join(sorted(known))}", key)
    return kind(**values)


# Image sets start from the classic MLP (784-512-512-10 on FashionMNIST): Adam 1e-3, batch 256, pixels scaled
# to [0, 1]. Known results for such MLPs on FashionMNIST: ~88% test accuracy after 5-10 epochs, 89-90% after
# 15-30 (plain MLPs plateau there); digits pass 97% within a few seconds.
IMAGE_DEFAULTS = RunConfig(DataConfig(dataset="digits", standardize=False), ModelConfig(hidden=(512, 512)),
                           TrainConfig(learning_rate=1e-3, batch_size=256, epochs=30))


# Tables (the bundled real ones and uploaded CSVs) have a few hundred rows and many features: the toy defaults
# (1000 epochs at Adam 0.01, no regularization) memorize them. Instead a gentler rate, dropout 0.2 and L2 0.01,
# and early stopping after 50 epochs without a better validation loss, going back to the best epoch's weights;
# 1000 epochs is only the budget. benchmarks/tables.py compares them with scikit-learn (docs/measurements.md).
TABLE_DEFAULTS = RunConfig(DataConfig(dataset="csv"), ModelConfig(dropout=0.2),
                           TrainConfig(learning_rate=0.003, l2=0.01, early_stopping=50, restore_best=True))


def defaults_for(dataset: str) -> RunConfig:
    """The starting configuration for ``dataset``: the image preset for image sets, the table preset for
    tables (bundled or uploaded), else the toy defaults. A drawn set has no points by default, so "drawn" gets
    the toy defaults as they are (their dataset): its points come with the dataset (``replace`` both at once)."""
    from nncore.data import DRAWN, IMAGE_SHAPES, is_table
    base = IMAGE_DEFAULTS if dataset in IMAGE_SHAPES else TABLE_DEFAULTS if is_table(dataset) else RunConfig()
    return base if dataset == DRAWN else base.replace(data=replace(base.data, dataset=dataset))
