"""Image data layer: IDX files, the atomic checksummed downloader, FashionMNIST discovery and loading,
the digits set, image datasets and batch augmentation.

Downloads are exercised end to end against a local HTTP server on 127.0.0.1 serving small generated IDX
files; nothing leaves the machine.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import math
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from nncore.config import DataConfig
from nncore.data import split_dataset
from nncore.data.download import download
from nncore.data.idx import IMAGES_MAGIC, LABELS_MAGIC, idx_bytes, read_idx, read_idx_images, \
    read_idx_labels, write_idx
from nncore.data.images import (FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, FASHION_MNIST_MD5, IMAGE_SHAPES,
                                    TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, augment_batch,
                                    default_data_dir, find_fashion_mnist, is_fashion_mnist_available,
                                    load_digits_images, load_fashion_mnist, make_image_dataset, rotate_images)
from nncore.errors import ConfigError

N_TRAIN, N_TEST = 50, 20


# ------------------------------------------------------------------------------------------------ fixtures


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _fake_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Small FashionMNIST look-alike: 50 train / 20 test 28×28 uint8 images, balanced labels 0..9."""
    rng = np.random.default_rng(seed)
    return {
        TRAIN_IMAGES: rng.integers(0, 256, size=(N_TRAIN, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.permutation(np.arange(N_TRAIN) % 10).astype(np.uint8),
        TEST_IMAGES: rng.integers(0, 256, size=(N_TEST, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.permutation(np.arange(N_TEST) % 10).astype(np.uint8),
    }


@pytest.fixture
def fake(tmp_path):
    """Generated .gz files in a served folder: (folder, arrays by name, md5 by name)."""
    folder = tmp_path / "served"
    folder.mkdir()
    arrays = _fake_arrays()
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return folder, arrays, {name: _md5(folder / name) for name in arrays}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def serve():
    """Start a static file server on 127.0.0.1 for a folder; returns its base URL. Stopped after the test."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_url():
    """A 127.0.0.1 URL whose port is bound but not listening, so connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def _cfg(**kw) -> DataConfig:
    return DataConfig(**kw)


# ------------------------------------------------------------------------------------------------ IDX files


@pytest.mark.parametrize("name", ["x-idx3-ubyte.gz", "x-idx3-ubyte"])
def test_idx_round_trip_images_and_labels(tmp_path, name):
    arrays = _fake_arrays(1)
    images, labels = arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS]
    write_idx(tmp_path / name, images)
    write_idx(tmp_path / ("l" + name), labels)
    assert (tmp_path / name).read_bytes().startswith(b"\x1f\x8b") == name.endswith(".gz")
    got = read_idx_images(tmp_path / name)
    assert got.dtype == np.uint8 and np.array_equal(got, images)
    got_labels = read_idx_labels(tmp_path / ("l" + name))
    assert got_labels.dtype == np.uint8 and np.array_equal(got_labels, labels)


def test_idx_header_is_big_endian_with_the_published_magic_numbers():
    images = np.zeros((3, 4, 5), dtype=np.uint8)
    data = idx_bytes(images)
    assert int.from_bytes(data[:4], "big") == IMAGES_MAGIC == 0x00000803
    assert [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(3)] == [3, 4, 5]
    assert len(data) == 16 + images.size
    labels = idx_bytes(np.zeros(7, dtype=np.uint8))
    assert int.from_bytes(labels[:4], "big") == LABELS_MAGIC == 0x00000801
    assert int.from_bytes(labels[4:8], "big") == 7 and len(labels) == 8 + 7


def test_idx_reader_rejects_wrong_magic(tmp_path):
    write_idx(tmp_path / "labels.gz", np.arange(10, dtype=np.uint8))
    with pytest.raises(ConfigError) as err:
        read_idx_images(tmp_path / "labels.gz")
    message = str(err.value)
    assert "labels.gz" in message and "0x00000801" in message and "0x00000803" in message
    (tmp_path / "junk").write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(ConfigError, match="junk.*not an IDX"):
        read_idx(tmp_path / "junk")


def test_idx_reader_rejects_truncated_payload_with_sizes(tmp_path):
    images = _fake_arrays()[TRAIN_IMAGES]
    data = idx_bytes(images)
    keep = 16 + 1234
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(data[:keep]))
    with pytest.raises(ConfigError) as err:
        read_idx_images(tmp_path / "train-images-idx3-ubyte.gz")
    message = str(err.value)
    n, r, c = images.shape
    assert "train-images-idx3-ubyte.gz is truncated" in message
    assert f"{n} images of {r}×{c} ({images.size} bytes)" in message and f"holds {keep - 16}" in message
    assert "download again" in message


def test_idx_reader_rejects_extra_data_short_header_and_bad_gzip(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    (tmp_path / "extra").write_bytes(idx_bytes(labels) + b"\x00\x01")
    with pytest.raises(ConfigError, match=r"extra.*header says 10 labels \(10 bytes\) but the file holds 12"):
        read_idx_labels(tmp_path / "extra")
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((2, 3, 3), np.uint8))[:9])
    with pytest.raises(ConfigError, match="short is truncated: the header needs 16 bytes"):
        read_idx_images(tmp_path / "short")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ConfigError, match="empty is truncated"):
        read_idx_labels(tmp_path / "empty")
    packed = gzip.compress(idx_bytes(labels))
    (tmp_path / "cut.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ConfigError, match="cut.gz is truncated: the gzip stream ends early"):
        read_idx_labels(tmp_path / "cut.gz")
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b" + b"\xff" * 40)
    with pytest.raises(ConfigError, match="bad.gz is not a valid gzip file"):
        read_idx_labels(tmp_path / "bad.gz")
    with pytest.raises(ConfigError, match="does not exist"):
        read_idx_labels(tmp_path / "missing.gz")


# ------------------------------------------------------------------------------------------------ downloader


def test_download_reports_increasing_progress_ending_at_total(tmp_path, serve):
    folder = tmp_path / "served"
    folder.mkdir()
    payload = np.random.default_rng(2).integers(0, 256, size=10_000, dtype=np.uint8).tobytes()
    (folder / "blob.bin").write_bytes(payload)
    url = serve(folder)
    calls = []
    dest = download(url + "blob.bin", tmp_path / "out" / "blob.bin", hashlib.md5(payload).hexdigest(),
                    progress=lambda done, total: calls.append((done, total)), chunk_size=1024)
    assert dest.read_bytes() == payload
    done = [d for d, _ in calls]
    assert done[0] == 0 and all(b > a for a, b in zip(done, done[1:]))
    assert calls[-1] == (len(payload), len(payload))
    assert len(calls) == 1 + math.ceil(len(payload) / 1024)
    assert {t for _, t in calls} == {len(payload)}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["blob.bin"]


def test_download_checksum_mismatch_keeps_nothing(tmp_path, serve, fake):
    folder, _, md5s = fake
    url = serve(folder)
    out = tmp_path / "data"
    wrong = "0" * 32
    with pytest.raises(ConfigError) as err:
        download(url + TRAIN_LABELS, out / TRAIN_LABELS, wrong)
    message = str(err.value)
    assert TRAIN_LABELS in message and md5s[TRAIN_LABELS] in message and wrong in message
    assert "not saved" in message
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_download_http_error_and_timeout(tmp_path, serve, fake):
    folder, _, _ = fake
    url = serve(folder)
    out = tmp_path / "data"
    with pytest.raises(ConfigError, match="could not download nothing.gz from .*HTTP 404"):
        download(url + "nothing.gz", out / "nothing.gz", None)
    assert list(out.iterdir()) == []
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)   # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        port = silent.getsockname()[1]
        with pytest.raises(ConfigError, match="timed out"):
            download(f"http://127.0.0.1:{port}/x.gz", out / "x.gz", None, timeout=0.5)
    finally:
        silent.close()
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------------------------------------ FashionMNIST


def test_fashion_mnist_downloads_end_to_end_then_works_offline(tmp_path, serve, fake, dead_url):
    folder, arrays, md5s = fake
    data = tmp_path / "data"
    assert not is_fashion_mnist_available(data)
    seen: dict[str, list] = {}
    X_tr, y_tr, X_te, y_te = load_fashion_mnist(
        data, base_url=serve(folder), checksums=md5s,
        progress=lambda name, done, total: seen.setdefault(name, []).append((done, total)))
    assert X_tr.dtype == np.uint8 and np.array_equal(X_tr, arrays[TRAIN_IMAGES])
    assert np.array_equal(y_tr, arrays[TRAIN_LABELS]) and np.array_equal(X_te, arrays[TEST_IMAGES])
    assert np.array_equal(y_te, arrays[TEST_LABELS])
    assert sorted(p.name for p in data.iterdir()) == sorted(FASHION_MNIST_FILES)
    for name in FASHION_MNIST_FILES:
        assert (data / name).read_bytes() == (folder / name).read_bytes()
        size = (folder / name).stat().st_size
        assert seen[name][-1] == (size, size)
    assert is_fashion_mnist_available(data)
    assert find_fashion_mnist(data) == {name: data / name for name in FASHION_MNIST_FILES}
    # No server any more: the cached files are used.
    again = load_fashion_mnist(data, base_url=dead_url, checksums=md5s)
    assert all(np.array_equal(a, b) for a, b in zip(again, (X_tr, y_tr, X_te, y_te)))


def test_fashion_mnist_checksum_mismatch_leaves_data_dir_empty(tmp_path, serve, fake):
    folder, _, md5s = fake
    data = tmp_path / "data"
    wrong = dict(md5s, **{TRAIN_IMAGES: "f" * 32})
    with pytest.raises(ConfigError) as err:
        load_fashion_mnist(data, base_url=serve(folder), checksums=wrong)
    message = str(err.value)
    assert TRAIN_IMAGES in message and md5s[TRAIN_IMAGES] in message and "f" * 32 in message
    assert list(data.iterdir()) == []


def test_fashion_mnist_truncated_file_is_a_clear_error(tmp_path, serve, fake):
    folder, arrays, md5s = fake
    data_bytes = idx_bytes(arrays[TRAIN_IMAGES])
    (folder / TRAIN_IMAGES).write_bytes(gzip.compress(data_bytes[:5000]))
    md5s = dict(md5s, **{TRAIN_IMAGES: _md5(folder / TRAIN_IMAGES)})
    with pytest.raises(ConfigError) as err:
        load_fashion_mnist(tmp_path / "data", base_url=serve(folder), checksums=md5s)
    message = str(err.value)
    assert TRAIN_IMAGES in message and "truncated" in message
    assert f"{N_TRAIN} images of 28×28" in message and f"holds {5000 - 16}" in message


def test_fashion_mnist_refused_connection_says_where_to_put_files(tmp_path, dead_url):
    data = tmp_path / "data"
    with pytest.raises(ConfigError) as err:
        load_fashion_mnist(data, base_url=dead_url)
    message = str(err.value)
    assert "connection refused" in message and TRAIN_IMAGES in message
    assert f"Put the four files in {data}" in message
    assert all(name in message for name in FASHION_MNIST_FILES)
    assert list(data.iterdir()) == []


def test_fashion_mnist_without_download_names_missing_files(tmp_path, fake):
    folder, _, md5s = fake
    data = tmp_path / "data"
    data.mkdir()
    (data / TRAIN_IMAGES).write_bytes((folder / TRAIN_IMAGES).read_bytes())
    with pytest.raises(ConfigError) as err:
        load_fashion_mnist(data, download=False, checksums=md5s)
    message = str(err.value)
    assert f"missing {TRAIN_LABELS}, {TEST_IMAGES}, {TEST_LABELS}" in message and str(data) in message
    assert find_fashion_mnist(data) is None


def test_torchvision_layout_with_uncompressed_files_is_found(tmp_path):
    arrays = _fake_arrays(3)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, array in arrays.items():
        write_idx(raw / name.removesuffix(".gz"), array)
    found = find_fashion_mnist(tmp_path)
    assert found == {name: raw / name.removesuffix(".gz") for name in FASHION_MNIST_FILES}
    got = load_fashion_mnist(tmp_path, download=False)
    for array, name in zip(got, (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)):
        assert np.array_equal(array, arrays[name])


def test_found_canonical_gz_with_wrong_md5_is_rejected(tmp_path, fake):
    folder, _, md5s = fake
    target = tmp_path / "fashion_mnist"
    target.mkdir()
    for name in FASHION_MNIST_FILES:
        (target / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(ConfigError) as err:   # the generated files are not the published ones
        load_fashion_mnist(tmp_path, download=False)
    message = str(err.value)
    assert FASHION_MNIST_MD5[TRAIN_IMAGES] in message and md5s[TRAIN_IMAGES] in message
    assert str(target / TRAIN_IMAGES) in message
    assert len(load_fashion_mnist(tmp_path, download=False, checksums=md5s)[0]) == N_TRAIN


def test_default_data_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NNCORE_DATA_DIR", str(tmp_path / "mine"))
    assert default_data_dir() == tmp_path / "mine"
    monkeypatch.delenv("NNCORE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "nncore"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir() == Path.home() / ".cache" / "nncore"


def test_fashion_mnist_dataset_keeps_official_test_set(tmp_path, fake):
    folder, arrays, md5s = fake
    cfg = _cfg(seed=4, val_fraction=0.2)
    ds = make_image_dataset("fashion_mnist", cfg, data_dir=folder, download=False, checksums=md5s)
    n_val = math.ceil(N_TRAIN * cfg.val_fraction)
    assert ds.X_train.shape == (N_TRAIN - n_val, 28 * 28) and ds.X_val.shape == (n_val, 28 * 28)
    assert ds.task == "multiclass" and ds.n_classes == 10 and ds.class_names == FASHION_MNIST_CLASSES
    assert ds.feature_names[0] == "px0" and len(ds.feature_names) == 28 * 28 == np.prod(IMAGE_SHAPES[ds.name])
    assert np.array_equal(ds.unscale(ds.X_test), arrays[TEST_IMAGES].reshape(N_TEST, -1))
    assert np.array_equal(ds.y_test, arrays[TEST_LABELS])
    assert ds.X_train.min() >= 0 and ds.X_train.max() <= 1
    # train + val are exactly the official training images, stratified: 5 per class -> 4 train / 1 val each
    rows = np.concatenate([ds.unscale(ds.X_train), ds.unscale(ds.X_val)])
    expected = arrays[TRAIN_IMAGES].reshape(N_TRAIN, -1)
    assert np.array_equal(np.unique(rows, axis=0), np.unique(expected.astype(np.float64), axis=0))
    per_class = np.bincount(arrays[TRAIN_LABELS])
    assert np.array_equal(np.bincount(ds.y_val, minlength=10), per_class * n_val // N_TRAIN)

    std = make_image_dataset("fashion_mnist", cfg, data_dir=folder, download=False, checksums=md5s,
                             preprocess="standardize", limit=20)
    assert len(std.y_train) == 20 and np.array_equal(np.bincount(std.y_train, minlength=10), np.full(10, 2))
    assert np.allclose(std.X_train.mean(axis=0), 0) and len(std.y_test) == round(N_TEST * 20 / (N_TRAIN - n_val))


# ------------------------------------------------------------------------------------------------ digits


def test_digits_images_match_sklearn():
    from sklearn.datasets import load_digits

    images, labels = load_digits_images()
    bunch = load_digits()
    assert images.shape == (len(bunch.target),) + IMAGE_SHAPES["digits"] and images.dtype == np.uint8
    assert np.array_equal(images, bunch.images) and np.array_equal(labels, bunch.target)


def test_digits_dataset_stratified_splits_of_requested_sizes():
    cfg = _cfg(seed=7, val_fraction=0.15, test_fraction=0.25)
    ds = make_image_dataset("digits", cfg)
    images, labels = load_digits_images()
    n = len(labels)
    n_hold = math.ceil(n * (cfg.val_fraction + cfg.test_fraction))
    n_test = math.ceil(n_hold * cfg.test_fraction / (cfg.val_fraction + cfg.test_fraction))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (n - n_hold, n_hold - n_test, n_test)
    assert ds.n_classes == 10 and ds.task == "multiclass" and ds.X_train.shape[1] == 64
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert X.min() >= 0 and X.max() <= 1
    assert ds.X_train.max() == 1.0
    overall = np.bincount(labels) / n
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert np.abs(np.bincount(y, minlength=10) / len(y) - overall).max() < 2 / len(y)
    # The same rows as the toy sets' splitter picks for this seed.
    ref = split_dataset("digits", images.reshape(n, -1), labels, "classification",
                        _cfg(seed=7, val_fraction=0.15, test_fraction=0.25, standardize=False),
                        feature_names=())
    for split in ("train", "val", "test"):
        X, y = ds.split(split)
        X_ref, y_ref = ref.split(split)
        assert np.array_equal(ds.unscale(X), X_ref) and np.array_equal(y, y_ref)


def test_digits_standardize_uses_training_statistics():
    ds = make_image_dataset("digits", _cfg(seed=1), preprocess="standardize")
    raw_train = ds.unscale(ds.X_train)
    assert np.allclose(ds.mean, raw_train.mean(axis=0))
    assert np.allclose(ds.X_train.mean(axis=0), 0, atol=1e-9)
    varying = raw_train.std(axis=0) > 0
    assert np.allclose(ds.X_train[:, varying].std(axis=0), 1)
    assert np.all(ds.std[~varying] == 1.0)


def test_image_dataset_rejects_bad_arguments():
    with pytest.raises(ConfigError, match="image dataset must be one of"):
        make_image_dataset("cifar", _cfg())
    with pytest.raises(ConfigError, match="preprocess must be one of scale, standardize"):
        make_image_dataset("digits", _cfg(), preprocess="whiten")
    with pytest.raises(ConfigError, match="limit must be a positive integer"):
        make_image_dataset("digits", _cfg(), limit=0)


# ------------------------------------------------------------------------------------------------ augmentation


def _asymmetric_image() -> np.ndarray:
    image = np.zeros((6, 5))
    image[1, 0], image[2, 1], image[4, 3] = 1.0, 2.0, 3.0
    assert not np.array_equal(image, np.fliplr(image))
    return image


def test_augment_flip_is_fliplr_for_some_images():
    image = _asymmetric_image()
    batch = np.tile(image.ravel(), (64, 1))
    out = augment_batch(batch, image.shape, np.random.default_rng(0), flip=True)
    flipped = np.array([np.array_equal(row.reshape(image.shape), np.fliplr(image)) for row in out])
    kept = np.array([np.array_equal(row.reshape(image.shape), image) for row in out])
    assert np.all(flipped | kept) and flipped.any() and kept.any()
    assert np.array_equal(batch, np.tile(image.ravel(), (64, 1)))   # input untouched
    assert np.array_equal(augment_batch(batch, image.shape, np.random.default_rng(0)), batch)


def test_augment_shift_moves_a_single_pixel_with_zero_fill():
    shape, max_shift = (9, 11), 3
    centre = np.zeros(shape)
    centre[4, 5] = 7.0
    out = augment_batch(np.tile(centre.ravel(), (300, 1)), shape, np.random.default_rng(1), shift=max_shift)
    moves = []
    for row in out.reshape(-1, *shape):
        assert np.count_nonzero(row) == 1 and row.sum() == 7.0
        r, c = np.argwhere(row)[0]
        moves.append((r - 4, c - 5))
    dys, dxs = zip(*moves)
    assert set(dys) == set(dxs) == set(range(-max_shift, max_shift + 1))
    corner = np.zeros(shape)
    corner[0, 0] = 1.0
    out = augment_batch(np.tile(corner.ravel(), (200, 1)), shape, np.random.default_rng(2), shift=2)
    out = out.reshape(-1, *shape)
    assert (out.sum(axis=(1, 2)) == 0).any()                        # moved off the edge: gone, not wrapped
    hits = np.argwhere(out)[:, 1:]
    assert np.all(hits <= 2)                                        # only down/right of the corner


def test_rotate_images_quarter_turn_matches_rot90_both_methods():
    image = np.arange(49, dtype=np.float64).reshape(7, 7)
    for method in ("scipy", "nearest"):
        turned = rotate_images(image[None], np.array([90.0]), method=method)[0]
        assert np.allclose(turned, np.rot90(image), atol=1e-9), method
        same = rotate_images(image[None], np.array([0.0]), method=method)[0]
        assert np.allclose(same, image, atol=1e-12), method


def test_augment_is_deterministic_given_the_seed():
    X = np.random.default_rng(5).random((16, 28 * 28))
    opts = dict(flip=True, shift=2, rotate=15.0)
    a = augment_batch(X, (28, 28), np.random.default_rng(42), **opts)
    b = augment_batch(X, (28, 28), np.random.default_rng(42), **opts)
    c = augment_batch(X, (28, 28), np.random.default_rng(43), **opts)
    assert a.shape == X.shape and a.dtype == X.dtype
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match=r"shape \(B, 64\)"):
        augment_batch(X, (8, 8), np.random.default_rng(0))


# ------------------------------------------------------------------------------------ shared data in memory


def _write_big_fashion(folder: Path, n_train: int, n_test: int) -> None:
    """FashionMNIST-shaped IDX files (uncompressed names: no published MD5 applies) with balanced labels."""
    rng = np.random.default_rng(7)
    arrays = {TRAIN_IMAGES: rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
              TRAIN_LABELS: (np.arange(n_train) % 10).astype(np.uint8),
              TEST_IMAGES: rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
              TEST_LABELS: (np.arange(n_test) % 10).astype(np.uint8)}
    for name, array in arrays.items():
        write_idx(folder / name.removesuffix(".gz"), array)


def test_trainers_on_one_float32_image_set_share_its_arrays_and_add_little_memory(tmp_path):
    import tracemalloc

    from tests.helpers import make_cfg
    from nncore.train.trainer import Trainer

    _write_big_fashion(tmp_path, 6000, 1000)
    cfg = make_cfg(dataset="fashion_mnist", hidden=(8,), batch_size=64, epochs=1, engine="numpy")
    dataset = make_image_dataset("fashion_mnist", cfg.data, data_dir=tmp_path, download=False, dtype="float32")
    assert dataset.X_train.dtype == np.float32 and cfg.model.dtype == "float32"
    for name in ("X_train", "X_val", "X_test"):
        getattr(dataset, name).setflags(write=False)  # shared read-only, as the Images page holds it
    data_bytes = sum(getattr(dataset, f"X_{s}").nbytes for s in ("train", "val", "test"))

    first = Trainer(cfg, dataset)
    tracemalloc.start()
    second = Trainer(cfg, dataset)
    second.run(steps=20)  # training steps gather their mini-batches: no shuffled copy of the split
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for split in ("train", "val", "test"):
        X = getattr(dataset, f"X_{split}")
        assert np.shares_memory(first._splits[split][0], X) and np.shares_memory(second._splits[split][0], X)
    # what a trainer holds beyond the data: its sample order (8 bytes a row), a 784-8-10 network with its
    # Adam moments and one batch in flight, far below one copy of the inputs (a tenth of them: 1.9 MB here)
    assert peak < data_bytes / 10, (peak, data_bytes)
    assert second.step == 20


def test_float32_image_set_holds_the_same_pixels_as_the_float64_one(tmp_path):
    _write_big_fashion(tmp_path, 200, 50)
    for preprocess in ("scale", "standardize"):
        wide = make_image_dataset("fashion_mnist", _cfg(), data_dir=tmp_path, download=False, preprocess=preprocess)
        narrow = make_image_dataset("fashion_mnist", _cfg(), data_dir=tmp_path, download=False,
                                    preprocess=preprocess, dtype="float32")
        assert narrow.X_train.dtype == np.float32 and wide.X_train.dtype == np.float64
        np.testing.assert_array_equal(narrow.mean, wide.mean)
        # scaled pixels agree to float32 rounding (half a unit in the last place, relative)
        np.testing.assert_allclose(narrow.X_test, wide.X_test, rtol=np.finfo(np.float32).eps, atol=0)
    with pytest.raises(ConfigError, match="dtype must be float32 or float64"):
        make_image_dataset("fashion_mnist", _cfg(), data_dir=tmp_path, download=False, dtype="int8")
