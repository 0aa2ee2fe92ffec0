"""Thread counts are the process's: building or training an engine leaves torch's alone; the CLI's train
command chooses one thread for a small torch MLP on the CPU (``wants_one_thread``)."""

import pytest
import torch

from nncore.cli.main import main
from nncore.data import make_dataset
from nncore.engines import SMALL_NETWORK_WEIGHTS, make_engine, set_threads_for, wants_one_thread
from nncore.train.trainer import Trainer

from tests.helpers import make_cfg


@pytest.fixture
def threads():
    """Set torch to a thread count no engine would choose (3) for the test, and restore the process's after."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


def test_building_and_training_a_torch_engine_leaves_the_thread_count_alone(threads):
    cfg = make_cfg(dataset="moons", n_points=100, engine="torch", device="cpu", hidden=(8, 8))
    ds = make_dataset(cfg.data)
    engine = make_engine(cfg, ds)
    assert wants_one_thread(engine)  # the case where engines used to switch the process to one thread
    engine.train_step(ds.X_train[:32], ds.y_train[:32])
    engine.forward(ds.X_val)
    assert torch.get_num_threads() == threads
    Trainer(cfg)
    assert torch.get_num_threads() == threads


def test_one_thread_suits_small_torch_mlps_on_the_cpu_only():
    def engine(**settings):
        trainer = Trainer(make_cfg(device="cpu", **settings))
        return trainer.engine

    assert wants_one_thread(engine(dataset="moons", engine="torch", hidden=(8, 8)))
    assert not wants_one_thread(engine(dataset="moons", engine="numpy", hidden=(8, 8)))
    # 2·w + w·w + w·2 weights: the smallest square pair of hidden layers at the limit, and one width below
    w = next(w for w in range(1, 1000) if 4 * w + w * w >= SMALL_NETWORK_WEIGHTS)
    assert not wants_one_thread(engine(dataset="moons", engine="torch", hidden=(w, w), n_points=50))
    assert wants_one_thread(engine(dataset="moons", engine="torch", hidden=(w - 1, w - 1), n_points=50))
    assert not wants_one_thread(engine(dataset="digits", engine="torch", kind="cnn", hidden=(8,)))


def test_set_threads_for_sets_one_thread_only_where_it_suits(threads):
    numpy_run = Trainer(make_cfg(dataset="moons", n_points=100, engine="numpy", hidden=(8, 8)))
    set_threads_for(numpy_run.engine)
    assert torch.get_num_threads() == threads
    wide = Trainer(make_cfg(dataset="moons", n_points=50, engine="torch", device="cpu", hidden=(400, 400)))
    set_threads_for(wide.engine)  # 160k weights
    assert torch.get_num_threads() == threads
    small = Trainer(make_cfg(dataset="moons", n_points=100, engine="torch", device="cpu", hidden=(8, 8)))
    set_threads_for(small.engine)
    assert torch.get_num_threads() == 1


def test_the_cli_train_command_chooses_one_thread_for_a_small_torch_network(threads, capsys):
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--engine", "torch",
                 "--device", "cpu", "--json"]) == 0
    assert torch.get_num_threads() == 1
    torch.set_num_threads(threads)
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--engine", "numpy",
                 "--json"]) == 0
    assert torch.get_num_threads() == threads


def test_the_cli_search_command_chooses_one_thread_for_a_small_torch_network(threads, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["search", "--dataset", "xor", "--epochs", "1", "--engine", "torch", "--trials", "1",
                 "--storage", storage, "--json"]) == 0
    assert torch.get_num_threads() == 1
