"""Property tests: whatever a user sets, the core trains or refuses the setting with ConfigError; whatever
file a stranger uploads, the core reads it or refuses it with ConfigError. Never another exception, and
never a NaN or infinite number shown as a metric.

``PROPERTY_EXAMPLES`` (environment) raises the number of examples for a longer hunt.
"""

import contextlib
import json
import math
import os
import struct

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings, strategies as st
from safetensors.numpy import load as st_load, save as st_save

from nncore import registry
from nncore.io.checkpoint import describe, load_checkpoint, save_checkpoint
from nncore.config import ENGINES, DataConfig
from nncore.data import SPECS
from nncore.data.tabular import read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.limits import Limits
from nncore.inspect.grid import boundary_grid
from nncore.train.snapshot import history_keys
from nncore.train.trainer import Trainer
from tests.helpers import make_cfg

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "40"))
MAX_STEPS = 600  # per example; epochs are drawn small, so most runs end on their own first
NAN, INF = float("nan"), float("inf")


@contextlib.contextmanager
def subnormals_restored():
    """Training flushes subnormal floats to zero in its thread (for speed); the example generator in this
    same thread needs them back."""
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@pytest.fixture(autouse=True)
def _subnormals_at_start():
    """Earlier tests in this process may have trained in this thread and left subnormals flushed."""
    torch.set_flush_denormal(False)


def log_uniform(lo_exp, hi_exp):
    return st.floats(lo_exp, hi_exp).map(lambda e: 10.0 ** e)


# Each setting: (values the config accepts, values it must refuse). Most examples draw accepted values
# everywhere, so they train; the others put refused values into one to three settings.
FIELDS = {
    "dataset": (st.sampled_from(list(SPECS)), st.sampled_from(["mnist-typo", ""])),
    "n_points": (st.integers(20, 300), st.sampled_from([0, 19, -5, 20.5, 10**7])),
    "noise": (st.floats(0, 3), st.sampled_from([-0.1, 11.0, NAN, INF])),
    "classes": (st.integers(2, 10), st.sampled_from([0, 1, 11])),
    "seed": (st.integers(0, 5), st.sampled_from([-1, 2**31])),
    "standardize": (st.booleans(), st.sampled_from([0, "yes", None])),
    "hidden": (st.one_of(st.lists(st.integers(1, 12), max_size=4), st.sampled_from(["8,8", ""])),
               st.one_of(st.just([4] * 17), st.sampled_from([[0], [-3], [4097], [8, 0], "8,x", [2.5]]))),
    "activation": (st.sampled_from(list(registry.ACTIVATIONS)), st.just("swish")),
    "init": (st.sampled_from(list(registry.INITIALIZERS)), st.just("orthogonal")),
    "dropout": (st.sampled_from([0.0, 0.2, 0.5, 0.95, 0.999]), st.sampled_from([1.0, -0.1, NAN])),
    "batch_norm": (st.booleans(), st.just("true")),
    "dtype": (st.sampled_from(["float32", "float64"]), st.just("float16")),
    "optimizer": (st.sampled_from(list(registry.OPTIMIZERS)), st.just("adagrad")),
    "learning_rate": (st.one_of(log_uniform(-6, 1), st.sampled_from([1e-6, 10.0])),
                      st.sampled_from([0, 0.0, -1, NAN, INF, 10.5, 100.0])),
    "momentum": (st.sampled_from([0.0, 0.5, 0.9, 0.999]), st.sampled_from([1.0, -0.5])),
    "batch_size": (st.one_of(st.sampled_from([1, 2, 32, 1000]), st.integers(1, 400)),
                   st.sampled_from([0, -1, 1.5])),
    "schedule": (st.sampled_from(list(registry.SCHEDULES)), st.just("warmup")),
    "step_size": (st.integers(1, 3), st.sampled_from([0, -2])),
    "gamma": (st.sampled_from([0.01, 0.5, 1.0]), st.sampled_from([0.0, 2.0])),
    "epochs": (st.integers(1, 3), st.sampled_from([0, -1])),
    "l1": (st.one_of(st.floats(0, 1), st.just(0.0)), st.sampled_from([-0.1, 2.0, NAN])),
    "l2": (st.one_of(st.floats(0, 1), st.just(0.0)), st.sampled_from([-0.1, 2.0, INF])),
    "clip_norm": (st.sampled_from([0.0, 1e-3, 1.0, 1e6]), st.sampled_from([-1.0, NAN, 1e7])),
    "early_stopping": (st.integers(0, 2), st.just(-1)),
    "restore_best": (st.booleans(), st.just(1)),
    "engine": (st.sampled_from(list(ENGINES)), st.just("jax")),
}


@st.composite
def run_settings(draw):
    """Flat settings for ``make_cfg`` and whether every one of them is acceptable."""
    bad = draw(st.one_of(st.just(set()), st.sets(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=3)))
    return {name: draw(FIELDS[name][name in bad]) for name in FIELDS}, not bad


def assert_finite_report(trainer: Trainer, snap) -> None:
    assert snap.status in ("ready", "running", "done", "early_stopped", "diverged")
    assert tuple(snap.history) == history_keys(trainer.dataset.task)
    for key in snap.history:
        values = np.asarray(snap.history[key])
        assert len(values) == snap.epoch, f"{key}: {len(values)} values after {snap.epoch} epochs ({snap.status})"
        assert np.isfinite(values).all(), (key, values, snap.status)
        last = snap.last(key)
        assert last is None or math.isfinite(last)
    assert np.isfinite(snap.grad_norms).all()
    grid = boundary_grid(trainer.engine, trainer.dataset)
    if grid is not None:
        assert np.isfinite(grid.values).all()
    if snap.status == "diverged":
        assert "learning rate too high?" in snap.message
    for layer in trainer.engine.get_params():  # a diverged run is back on its last finite weights
        assert all(np.isfinite(v).all() for v in layer.values())


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=run_settings())
def test_any_configuration_trains_or_is_refused_at_construction(drawn):
    values, acceptable = drawn
    try:
        cfg = make_cfg(**values)
    except ConfigError:  # a setting out of range, or a combination the config rules out
        event("refused")
        return
    assert acceptable, "a setting outside its range was accepted"
    event("trained")
    trainer = Trainer(cfg)
    snap = trainer.snapshot()
    with subnormals_restored():
        while trainer.running and trainer.step < MAX_STEPS:
            snap = trainer.run(steps=100)
    assert_finite_report(trainer, snap)
    assert snap.status != "running" or trainer.step >= MAX_STEPS


# --- uploaded tables ---------------------------------------------------------------------------------------

cell = st.one_of(st.integers(-5, 5).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: f"{v:.3f}"),
                 st.sampled_from(["", "?", "NA", "inf", "x", "a b", '"q,uoted"', "1e308", "-0", "true"]))


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(["a", "b", "c", "label", "y", "1", ""]), min_size=n_cols,
                           max_size=n_cols))
    n_rows = draw(st.integers(0, 80))
    column_kinds = draw(st.lists(st.sampled_from(["int", "float", "class", "any"]), min_size=n_cols,
                                 max_size=n_cols))
    rows = []
    for _ in range(n_rows):
        row = []
        for kind in column_kinds:
            strategy = {"int": st.integers(0, 3).map(str), "float": st.floats(-10, 10).map(lambda v: f"{v:.4f}"),
                        "class": st.sampled_from(["cat", "dog", "emu"]), "any": cell}[kind]
            row.append(draw(strategy))
        if draw(st.integers(0, 30)) == 0:  # now and then a ragged row
            row = row[:-1] if len(row) > 1 else row + ["1"]
        rows.append(row)
    sep = draw(st.sampled_from([",", ";", "\t"]))
    text = "\n".join(sep.join(r) for r in [header, *rows])
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16", "cp1252"])))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tables(), task=st.sampled_from(["auto", "classification", "regression"]),
       missing=st.sampled_from([None, "drop", "impute"]), pick=st.integers(0, 10))
def test_any_table_becomes_a_dataset_or_one_config_error(data, task, missing, pick):
    limits = Limits(max_classes=5)
    try:
        df = read_csv_table(data, limits)
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    label = list(df.columns)[pick % len(df.columns)]
    try:
        ds = table_to_dataset(df, label, None, DataConfig(), task=task, missing=missing, limits=limits)
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert X.shape[1] == len(ds.feature_names) >= 1 and np.isfinite(X).all()
    if ds.task == "regression":
        assert np.isfinite(ds.y_train).all()
    else:
        assert 2 <= ds.n_classes <= 5 and len(ds.class_names) == ds.n_classes
        assert set(np.unique(ds.y_train)) == set(range(ds.n_classes))


# --- uploaded checkpoints ------------------------------------------------------------------------------------

_VALID = None


def valid_checkpoint() -> bytes:
    global _VALID
    if _VALID is None:
        trainer = Trainer(make_cfg(dataset="moons", n_points=60, hidden=(3,), batch_norm=True, epochs=1))
        with subnormals_restored():
            trainer.run(steps=50)
        _VALID = save_checkpoint(trainer)
    return _VALID


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_damaged_checkpoints_load_or_are_refused(edits, cut):
    data = bytearray(valid_checkpoint())
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[:cut % len(data)]
    try:
        ckpt = load_checkpoint(bytes(data))
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    for layer in ckpt.params:  # a change that survived parsing: still finite, well-shaped weights
        assert all(v.dtype == np.float64 and np.isfinite(v).all() for v in layer.values())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=st.sampled_from(["config", "dataset", "metrics"]), pick=st.integers(0, 100), value=json_values)
def test_edited_metadata_loads_or_is_refused(entry, pick, value):
    data = valid_checkpoint()
    (n,) = struct.unpack("<Q", data[:8])
    metadata = json.loads(data[8:8 + n])["__metadata__"]
    content = json.loads(metadata[entry])
    target = content
    if entry == "config":
        target = content[sorted(content)[pick % 3]]
    key = sorted(target)[pick % len(target)]
    target[key] = value
    metadata[entry] = json.dumps(content)
    edited = st_save(st_load(data), metadata=metadata)
    try:
        ckpt = load_checkpoint(edited)
    except ConfigError as e:
        assert "\n" not in str(e)
        return
    describe(ckpt)  # what `inspect` prints
    json.dumps({"metrics": ckpt.metrics, "config": ckpt.config.to_dict(),
                "dataset": ckpt.signature.to_json()}, allow_nan=False)


# --- counterexamples the search found, kept as plain tests ----------------------------------------------------

def trains_or_is_refused(**settings) -> Trainer | None:
    """The trainer after a short run, or None if the config was refused at construction."""
    try:
        cfg = make_cfg(**settings)
    except ConfigError:
        return None
    trainer = Trainer(cfg)
    with subnormals_restored():
        snap = trainer.run(steps=200)
    assert_finite_report(trainer, snap)
    return trainer


def test_batch_size_one_takes_steps():
    trainer = trains_or_is_refused(dataset="xor", n_points=40, epochs=2, batch_size=1)
    assert trainer is not None and trainer.step == 2 * len(trainer.dataset.X_train)  # one step per row


def test_few_points_for_many_classes_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"n_points must be >= 50 for 5 classes.*got 20"):
        make_cfg(dataset="spirals", n_points=20, classes=5, epochs=1)
    assert trains_or_is_refused(dataset="spirals", n_points=50, classes=5, epochs=1).step > 0  # the bound trains


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_nesterov_without_momentum_is_refused_and_with_a_little_trains(engine):
    with pytest.raises(ConfigError, match=r"momentum must be > 0 for nesterov") as refused:
        make_cfg(optimizer="nesterov", momentum=0.0, epochs=1, engine=engine)
    assert refused.value.param == "momentum" and "\n" not in str(refused.value)
    trainer = trains_or_is_refused(optimizer="nesterov", momentum=1e-3, epochs=1, engine=engine)
    assert trainer is not None and trainer.step > 0


def test_a_divergence_found_at_an_epoch_end_keeps_epoch_and_history_in_step():
    trainer = trains_or_is_refused(dataset="ripple", n_points=20, noise=0.0, standardize=False, hidden=(8, 8),
                                   init="uniform", batch_norm=True, optimizer="sgd", learning_rate=10.0,
                                   momentum=0.5, epochs=5)
    assert trainer is not None and trainer.status == "diverged"
