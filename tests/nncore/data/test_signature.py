"""One description of a dataset's signature (nncore.data.signature) for the dataset, checkpoints and
exports; one description of a network (ModelConfig.describe) for everything that names one; one weight
count (engines.dense_weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nncore.config import ModelConfig
from nncore.data.signature import Signature
from nncore.data.tabular import read_csv_table, table_to_dataset
from nncore.engines import dense_weights, network_sizes
from nncore.engines.init import init_params
from nncore.errors import ConfigError
from nncore.io import export
from nncore.io.checkpoint import load_checkpoint, save_checkpoint
from nncore.train.trainer import Trainer
from tests.helpers import make_cfg
from tests.nncore.data.test_table_encoding import LIMITS, shop_table

FIELDS = ("name", "task", "n_classes", "class_names", "feature_names", "image_shape", "y_mean", "y_std", "encoding",
          "n_features", "n_outputs")


def _trainer(cfg, dataset=None) -> Trainer:
    trainer = Trainer(cfg, dataset)
    trainer.run(steps=20)
    return trainer


@pytest.fixture(scope="module")
def trainers():
    shop = read_csv_table(shop_table(), LIMITS)
    table_cfg = make_cfg(dataset="csv", hidden=(4,), epochs=1)
    price_cfg = make_cfg(dataset="csv", hidden=(4,), epochs=1, task="regression")
    return {
        "spirals": _trainer(make_cfg(dataset="spirals", classes=3, n_points=150, hidden=(5,), epochs=1,
                                     inputs=("x1", "x2", "x1_x2"))),
        "table": _trainer(table_cfg, table_to_dataset(shop, "buys", None, table_cfg.data, limits=LIMITS)),
        "target": _trainer(price_cfg, table_to_dataset(shop, "price", None, price_cfg.data, task="regression",
                                                       limits=LIMITS)),
        "cnn": _trainer(make_cfg(dataset="digits", limit=100, kind="cnn", channels=(2, 3), hidden=(5,), epochs=1)),
    }


def _same(a: Signature, b: Signature) -> None:
    for name in FIELDS:
        assert getattr(a, name) == getattr(b, name), name
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)


@pytest.mark.parametrize("name", ["spirals", "table", "target", "cnn"])
def test_a_checkpoint_keeps_the_datasets_signature(trainers, name):
    trainer = trainers[name]
    ds, ckpt = trainer.dataset, load_checkpoint(save_checkpoint(trainer), LIMITS)
    _same(ckpt.signature, ds.signature)
    assert ds.signature.n_outputs == ds.n_outputs and ds.signature.n_features == ds.n_features
    assert json.loads(json.dumps(ckpt.signature.to_json())) == ckpt.signature.to_json()  # plain JSON
    if name == "target":
        assert ds.signature.y_std != 1.0  # a regression's target scaling travels too
    if name == "table":
        assert ds.signature.encoding and ds.signature.encoding["categories"]


@pytest.mark.parametrize("name", ["spirals", "table", "target"])
def test_an_export_reads_the_same_signature_from_the_dataset_and_from_a_checkpoint(trainers, name):
    import torch

    trainer = trainers[name]
    ckpt = load_checkpoint(save_checkpoint(trainer), LIMITS)
    params = trainer.engine.get_params()
    from_data = export.torch_module(trainer.cfg, params, trainer.dataset)
    from_file = export.torch_module(trainer.cfg, params, ckpt.signature)
    raw = torch.as_tensor(trainer.dataset.unscale(trainer.dataset.X_test), dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(from_data(raw), from_file(raw))
    script_data = export.export_python(trainer.cfg, params, trainer.dataset)
    assert script_data == export.export_python(trainer.cfg, params, ckpt.signature)


def test_a_signature_refuses_an_inconsistent_description():
    base = dict(name="t", task="binary", n_classes=2, class_names=("a", "b"), feature_names=("x1", "x2"),
                mean=np.zeros(2), std=np.ones(2))
    assert Signature(**base).n_outputs == 1
    for change, field in ((dict(task="ordinal"), "task"), (dict(mean=np.zeros(3)), "mean"),
                          (dict(y_std=0.0), "y_std")):
        with pytest.raises(ConfigError) as e:
            Signature(**{**base, **change})
        assert e.value.param == field


def test_one_description_of_a_network(trainers):
    from nncore.io.checkpoint import check_compatible
    from ui.panels.race import racer_summary

    for name, trainer in trainers.items():
        cfg, ds = trainer.cfg, trainer.dataset
        text = cfg.model.describe(ds)
        ckpt = load_checkpoint(save_checkpoint(trainer), LIMITS)
        assert ckpt.network_text == text == cfg.model.describe(ckpt.signature)
        assert export.network_text(cfg, ds) == f"{cfg.model.kind.upper()} {text}"
        if cfg.model.kind == "mlp":
            assert text == " → ".join(map(str, trainer.engine.sizes))  # what the From-scratch page showed
        other = cfg.replace(model=ModelConfig(**{**cfg.model.__dict__, "hidden": (*cfg.model.hidden, 3)}))
        with pytest.raises(ConfigError) as e:
            check_compatible(ckpt, other, ds)
        assert text in str(e.value) and other.model.describe(ds) in str(e.value)
    assert trainers["spirals"].cfg.model.describe(trainers["spirals"].dataset) == "3 → 5 → 3"
    assert trainers["cnn"].cfg.model.describe(trainers["cnn"].dataset) == "8×8 → conv 2 → conv 3 → 5 → 10"
    assert ModelConfig(hidden=(16, 8)).describe() == "16,8" and ModelConfig(hidden=()).describe() == "linear"
    cfg = make_cfg(hidden=(16, 8))
    assert " · 16,8 · " in racer_summary(cfg) or racer_summary(cfg).endswith(" · 16,8")


@pytest.mark.parametrize("hidden, inputs", [((), ("x1", "x2")), ((7, 3), ("x1", "x2", "x1_sq", "sin_x1"))])
def test_one_weight_count(hidden, inputs):
    model = ModelConfig(hidden=hidden, inputs=inputs)
    sizes = network_sizes(model, 2, 3)
    assert dense_weights(sizes) == sum(layer["W"].size for layer in init_params(model, sizes, seed=0))


def test_the_checkpoint_weight_check_counts_the_networks_weights(trainers):
    from nncore.io.checkpoint import _declared_weights
    for trainer in trainers.values():
        ckpt = load_checkpoint(save_checkpoint(trainer), LIMITS)
        dense = [layer["W"].size for layer in trainer.engine.get_params() if layer["W"].ndim == 2]
        assert _declared_weights(trainer.cfg, ckpt.signature) == sum(dense)

