"""What one server lets a run use: sizes, time and concurrent trainings, set by environment variables.

A public demo serves many strangers from one process, so every run is bounded. ``load_limits()`` reads the
``NNPLAY_*`` variables (unset or blank = the default below); ``check_run`` refuses a config beyond them with
a message naming the limit and its variable; ``TrainingSlots`` shares a fixed number of concurrent trainings
among all sessions, first come first served, and takes a slot back from a session that went quiet.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from nncore.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """Per-server bounds. Each field is read from the environment variable named in ``ENV_NAMES``."""

    max_points: int = 5000            # samples a toy dataset may generate (DataConfig.n_points)
    max_upload_mb: float = 10.0       # size of one uploaded file (CSV table or checkpoint), in MiB
    max_rows: int = 100_000           # data rows of an uploaded table
    max_columns: int = 200            # columns of an uploaded table
    max_classes: int = 20             # distinct labels of a classification table
    max_layers: int = 6               # hidden layers of a network
    max_width: int = 64               # units per hidden layer for toy and table data
    max_image_width: int = 1024       # units per hidden layer for image datasets (784 inputs need room)
    max_epochs: int = 10_000          # epochs a run may be set to
    max_run_seconds: float = 600.0    # wall seconds of training one run may use in total
    max_trainings: int = 8            # trainings running at once in one server process (others queue)
    slot_timeout_seconds: float = 30.0  # a session silent this long loses its training slot or queue place

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


ENV_NAMES = {
    "max_points": "NNPLAY_MAX_POINTS",
    "max_upload_mb": "NNPLAY_MAX_UPLOAD_MB",
    "max_rows": "NNPLAY_MAX_ROWS",
    "max_columns": "NNPLAY_MAX_COLUMNS",
    "max_classes": "NNPLAY_MAX_CLASSES",
    "max_layers": "NNPLAY_MAX_LAYERS",
    "max_width": "NNPLAY_MAX_WIDTH",
    "max_image_width": "NNPLAY_MAX_IMAGE_WIDTH",
    "max_epochs": "NNPLAY_MAX_EPOCHS",
    "max_run_seconds": "NNPLAY_MAX_RUN_SECONDS",
    "max_trainings": "NNPLAY_MAX_TRAININGS",
    "slot_timeout_seconds": "NNPLAY_SLOT_TIMEOUT_SECONDS",
}


def _parse(var: str, text: str, kind: type) -> int | float:
    """A positive int or float from an environment value; ConfigError naming ``var`` otherwise."""
    rule = "a positive integer" if kind is int else "a positive number"
    try:
        value = kind(text.strip())
    except ValueError:
        raise ConfigError(f"{var} must be {rule}, got {text!r}", var) from None
    if not value > 0 or value == float("inf"):  # also refuses NaN
        raise ConfigError(f"{var} must be {rule}, got {text!r}", var)
    return value


def load_limits(env: Mapping[str, str] | None = None) -> Limits:
    """Limits from ``env`` (default ``os.environ``): each ``NNPLAY_*`` variable overrides one default."""
    env = os.environ if env is None else env
    values = {}
    for f in fields(Limits):
        text = env.get(ENV_NAMES[f.name], "")
        if text.strip():
            values[f.name] = _parse(ENV_NAMES[f.name], text, int if f.type in ("int", int) else float)
    return Limits(**values)


def upload_bytes(data, limits: Limits, param: str, prefix: str = "", advice: str = "") -> bytes:
    """An uploaded file's ``data`` as bytes; a ConfigError naming ``param`` when it is not bytes (the message
    opens with ``prefix``) or is over the upload limit (the message ends with ``advice``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ConfigError(f"{prefix}expected the file's bytes, got {type(data).__name__}", param)
    data = bytes(data)
    if len(data) > limits.max_upload_bytes:
        raise ConfigError(f"the file is {len(data) / 2**20:.1f} MB; this server accepts up to "
                          f"{limits.max_upload_mb:g} MB ({ENV_NAMES['max_upload_mb']}){advice}", param)
    return data


def _over(what: str, limit: int | float, var: str, got) -> ConfigError:
    return ConfigError(f"{what} must be <= {limit:g} on this server ({var}), got {got}", what)


def check_run(cfg, limits: Limits, dataset=None) -> None:
    """Raise ConfigError if run config ``cfg`` goes beyond ``limits``.

    ``dataset`` is the Dataset the run trains on, when the caller has it (it must be passed for uploaded
    tables); without it, everything the config alone decides is checked, so a run can be refused before its
    data is generated. Hidden layers of networks for image sets may be up to ``max_image_width`` wide; the
    ``n_points`` limit applies to generated toy data only, and the same number bounds a drawn set's points."""
    from nncore.data import SPECS
    from nncore.data.images import IMAGE_SHAPES

    name = cfg.data.dataset if dataset is None else dataset.name
    image = name in IMAGE_SHAPES
    toy = name == cfg.data.dataset and name in SPECS  # generated from n_points (not a table, not images)
    if toy and cfg.data.n_points > limits.max_points:
        raise _over("n_points", limits.max_points, ENV_NAMES["max_points"], cfg.data.n_points)
    if name == cfg.data.dataset == "drawn" and len(cfg.data.points) > limits.max_points:
        raise _over("drawn points", limits.max_points, ENV_NAMES["max_points"], len(cfg.data.points))
    hidden = cfg.model.hidden
    if len(hidden) > limits.max_layers:
        raise _over("hidden layers", limits.max_layers, ENV_NAMES["max_layers"], len(hidden))
    width_field = "max_image_width" if image else "max_width"
    max_width = getattr(limits, width_field)
    for i, width in enumerate(hidden):
        if width > max_width:
            raise _over(f"hidden[{i}]", max_width, ENV_NAMES[width_field], width)
    if cfg.train.epochs > limits.max_epochs:
        raise _over("epochs", limits.max_epochs, ENV_NAMES["max_epochs"], cfg.train.epochs)
    if dataset is not None and dataset.n_classes > limits.max_classes:
        raise _over("classes", limits.max_classes, ENV_NAMES["max_classes"], dataset.n_classes)


class TrainingSlots:
    """A fixed number of concurrent trainings shared by all sessions of one server process.

    A session calls ``acquire`` before each training slice: True means it holds a slot (and keeps it until
    ``release``); False means all slots are busy, and the session now waits in a first-come-first-served
    queue (``queue_position`` says where). Every call by a session counts as a sign of life, as does
    ``touch``; a session silent for ``stale_after`` seconds loses its slot or place, so a closed browser tab
    cannot hold a slot for ever. All methods are thread-safe and idempotent per session.
    """

    def __init__(self, capacity: int, stale_after: float = 30.0, clock: Callable[[], float] = time.monotonic):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigError(f"capacity must be a positive integer, got {capacity!r}", "capacity")
        if not stale_after > 0:
            raise ConfigError(f"stale_after must be > 0, got {stale_after!r}", "stale_after")
        self.capacity = capacity
        self.stale_after = float(stale_after)
        self._clock = clock
        self._lock = threading.Lock()
        self._holders: dict[str, float] = {}   # session -> last sign of life
        self._waiting: dict[str, float] = {}   # session -> last sign of life, in arrival order

    def _expire(self, now: float) -> None:
        for table in (self._holders, self._waiting):
            for sid in [s for s, seen in table.items() if now - seen > self.stale_after]:
                del table[sid]

    def acquire(self, session_id: str) -> bool:
        """Take a slot for ``session_id`` (True), or queue it and return False while all slots are busy."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if session_id in self._holders:
                self._holders[session_id] = now
                return True
            free = self.capacity - len(self._holders)
            ahead = list(self._waiting)
            position = ahead.index(session_id) if session_id in self._waiting else len(ahead)
            if position < free:  # a free slot not promised to someone who queued earlier
                self._waiting.pop(session_id, None)
                self._holders[session_id] = now
                return True
            self._waiting[session_id] = now
            return False

    def release(self, session_id: str) -> None:
        """Give back the slot (or queue place) of ``session_id``; nothing happens if it holds neither."""
        with self._lock:
            self._holders.pop(session_id, None)
            self._waiting.pop(session_id, None)

    def touch(self, session_id: str) -> None:
        """Say that ``session_id`` is still there, keeping its slot or queue place."""
        with self._lock:
            now = self._clock()
            for table in (self._holders, self._waiting):
                if session_id in table:
                    table[session_id] = now
            self._expire(now)

    def queue_position(self, session_id: str) -> int | None:
        """0 while ``session_id`` holds a slot, 1 for the next in line, 2 for the one after, ...; None when
        it neither holds a slot nor waits."""
        with self._lock:
            self._expire(self._clock())
            if session_id in self._holders:
                return 0
            if session_id in self._waiting:
                return list(self._waiting).index(session_id) + 1
            return None

    @property
    def busy(self) -> int:
        """Slots held right now."""
        with self._lock:
            self._expire(self._clock())
            return len(self._holders)

    def waiting(self) -> tuple[str, ...]:
        """Sessions waiting for a slot, first in line first."""
        with self._lock:
            self._expire(self._clock())
            return tuple(self._waiting)


_shared_slots: TrainingSlots | None = None
_shared_lock = threading.Lock()


def training_slots() -> TrainingSlots:
    """The process-wide TrainingSlots, sized by ``load_limits()`` on first use."""
    global _shared_slots
    with _shared_lock:
        if _shared_slots is None:
            limits = load_limits()
            _shared_slots = TrainingSlots(limits.max_trainings, limits.slot_timeout_seconds)
        return _shared_slots
