"""What a search varies: the knobs, their ranges and choices (``SearchSpace``), and a trial's config."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from nncore.config import RunConfig, _choice, _fail, _range, build
from nncore.errors import ConfigError
from nncore import settings
from nncore.search.storage import optuna  # lazy: only annotations name it here


# Knob name -> how it is sampled: "log" (log-uniform float range), "float" (uniform float range), "int"
# (integer range, both ends included) or "choice" (one of the listed values).
KNOBS = {"learning_rate": "log", "depth": "int", "width": "choice", "activation": "choice",
         "optimizer": "choice", "l2": "log", "dropout": "float", "batch_size": "choice", "init": "choice"}


@dataclass(frozen=True)
class SearchSpace:
    """Which settings to search and over what; a knob set to None is not searched (the base config's value
    is kept). Every hidden layer gets the same ``width``."""

    learning_rate: tuple[float, float] | None = (1e-3, 0.3)    # log-uniform range
    depth: tuple[int, int] | None = (1, 3)                     # hidden layers, both ends included
    width: tuple[int, ...] | None = (4, 8, 16, 32)             # neurons per hidden layer
    activation: tuple[str, ...] | None = ("relu", "tanh")
    optimizer: tuple[str, ...] | None = ("adam", "momentum")
    l2: tuple[float, float] | None = (1e-6, 1e-2)              # log range; the 1e-6 floor is as good as off
    dropout: tuple[float, float] | None = (0.0, 0.3)           # uniform range
    batch_size: tuple[int, ...] | None = (16, 32, 64)
    init: tuple[str, ...] | None = None
    grid_points: int = 3                                       # values per float range for the grid sampler

    def __post_init__(self):
        for name, kind in KNOBS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, (str, int, float)) or not value:
                _fail(name, "a non-empty list" + (" of choices" if kind == "choice" else " [low, high]"), value)
            object.__setattr__(self, name, tuple(value))
            if kind != "choice":
                self._check_range(name, kind)
        for name in ("activation", "optimizer", "init"):  # choices: the setting's registry
            for value in getattr(self, name) or ():
                _choice(name, value, settings.get(name).choices)
        hidden = settings.get("hidden")
        for value in self.width or ():
            _range("width", value, hidden.lo, hidden.hi, integer=True)
        batch = settings.get("batch_size")
        for value in self.batch_size or ():
            _range("batch_size", value, batch.lo, batch.hi, integer=True)
        _range("grid_points", self.grid_points, 1, 20, integer=True)
        if not self.knobs:
            raise ConfigError("the search space is empty: search at least one setting", "space")

    def _check_range(self, name: str, kind: str) -> None:
        value = getattr(self, name)
        if len(value) != 2:
            _fail(name, "a range [low, high]", list(value))
        lo, hi = value
        if name == "depth":  # hidden layers: none up to the most a run may have
            lo_end, hi_end, hi_open = 0, settings.MAX_LAYERS, False
        else:  # the setting's own rule (a log range also excludes 0)
            lo_end, hi_end, _, hi_open = settings.valid_range(name)
        for end in value:
            _range(name, end, lo_end, hi_end, integer=kind == "int", lo_open=kind == "log", hi_open=hi_open)
        if lo > hi:
            _fail(name, "a range with low <= high", list(value))

    @property
    def knobs(self) -> list[str]:
        """Names of the searched settings, in a fixed order."""
        return [name for name in KNOBS if getattr(self, name) is not None]

    def suggest(self, trial: optuna.Trial) -> dict:
        """Draw one configuration's searched settings through ``trial``."""
        params = {}
        for name in self.knobs:
            kind, value = KNOBS[name], getattr(self, name)
            if kind == "choice":
                params[name] = trial.suggest_categorical(name, list(value))
            elif kind == "int":
                params[name] = trial.suggest_int(name, *value)
            else:
                params[name] = trial.suggest_float(name, *value, log=kind == "log")
        return params

    def grid(self) -> dict[str, list]:
        """The finite grid for the grid sampler: all choices, every depth, ``grid_points`` values per float
        range (log-spaced for log ranges, both ends exact)."""
        out = {}
        for name in self.knobs:
            kind, value = KNOBS[name], getattr(self, name)
            if kind == "choice":
                out[name] = list(value)
            elif kind == "int":
                out[name] = list(range(value[0], value[1] + 1))
            else:
                lo, hi = value
                space = np.geomspace if kind == "log" else np.linspace
                points = [float(v) for v in space(lo, hi, self.grid_points)] if lo < hi else [float(lo)]
                points[0], points[-1] = float(lo), float(hi)
                out[name] = sorted(set(points))
        return out

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSpace":
        return build(cls, d, "a knob of the search space")


def config_from_params(base_cfg: RunConfig, params: dict) -> RunConfig:
    """The run ``base_cfg`` with a trial's settings applied (``depth`` × ``width`` become ``hidden``)."""
    model_keys = {"activation", "dropout", "init"}
    train_keys = {"learning_rate", "optimizer", "l2", "batch_size"}
    model, train = {}, {}
    for key, value in params.items():
        if key in model_keys:
            model[key] = value
        elif key in train_keys:
            train[key] = value
        elif key not in ("depth", "width"):
            raise ConfigError(f"{key} is not a searchable setting; known: {', '.join(KNOBS)}", key)
    if "depth" in params or "width" in params:
        hidden = base_cfg.model.hidden
        depth = params.get("depth", len(hidden))
        width = params.get("width", hidden[0] if hidden else 16)
        model["hidden"] = (int(width),) * int(depth)
    return RunConfig(base_cfg.data, replace(base_cfg.model, **model), replace(base_cfg.train, **train))
