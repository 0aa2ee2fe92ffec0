"""Real image datasets: FashionMNIST (downloaded once, cached on disk) and scikit-learn's 8×8 digits (offline).

Images are flattened to one float64 (or float32) feature per pixel (``px0`` … ``px{r*c-1}``, row-major), so
every engine and chart that reads a ``Dataset`` works unchanged; ``IMAGE_SHAPES`` says how to fold a row back into an
image. ``augment_batch`` perturbs flattened training batches (flips, shifts, small rotations).

FashionMNIST (Zalando SE, MIT licence) is looked for, in this order, in the data folder itself, in
``FashionMNIST/raw`` below it (torchvision's layout) and in ``fashion_mnist`` below it, under the canonical
``.gz`` names or the same names without ``.gz``. Missing files are downloaded into the data folder.
"""

from __future__ import annotations

import functools

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nncore.errors import ConfigError
from nncore.data.download import DEFAULT_TIMEOUT, download as fetch, file_md5
from nncore.data.idx import read_idx_images, read_idx_labels
from nncore.data.scaling import fit_scaling

if TYPE_CHECKING:
    from nncore.data import Dataset

# ---------------------------------------------------------------------------------------------------------
# FashionMNIST facts

BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FASHION_MNIST_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
FASHION_MNIST_MD5 = {
    TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
    TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
    TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# Folders below the data folder that may hold the files, searched in this order ("." is the folder itself).
FASHION_MNIST_SUBDIRS = (".", "FashionMNIST/raw", "fashion_mnist")

DIGITS_CLASSES = tuple(str(d) for d in range(10))

# ---------------------------------------------------------------------------------------------------------
# The image datasets this module makes

IMAGE_SHAPES = {"digits": (8, 8), "fashion_mnist": (28, 28)}      # (rows, cols) of one image
PIXEL_MAX = {"digits": 16.0, "fashion_mnist": 255.0}              # brightest raw pixel value
IMAGE_DATASETS = {
    "digits": "handwritten digits 0–9, 8×8 pixels (1,797 images, offline)",
    "fashion_mnist": "FashionMNIST clothing, 28×28 pixels (60k train / 10k test, downloaded once)",
}
PREPROCESSING = ("scale", "standardize")

# (file name, done_bytes, total_bytes or None), called while a file downloads.
FileProgress = Callable[[str, int, "int | None"], None]


def default_data_dir() -> Path:
    """Where datasets live: ``$NNCORE_DATA_DIR`` if set, else ``$XDG_CACHE_HOME/nncore`` (``~/.cache/nncore``)."""
    chosen = os.environ.get("NNCORE_DATA_DIR")
    if chosen:
        return Path(chosen).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "nncore"


def _data_dir(data_dir) -> Path:
    return default_data_dir() if data_dir is None else Path(data_dir).expanduser()


def _locate(data_dir: Path) -> dict[str, Path | None]:
    """Canonical file name -> first existing candidate (``.gz`` before uncompressed, per folder) or None."""
    found: dict[str, Path | None] = {}
    for name in FASHION_MNIST_FILES:
        found[name] = None
        for sub in FASHION_MNIST_SUBDIRS:
            folder = data_dir / sub if sub != "." else data_dir
            for candidate in (folder / name, folder / name.removesuffix(".gz")):
                if candidate.is_file():
                    found[name] = candidate
                    break
            if found[name] is not None:
                break
    return found


def find_fashion_mnist(data_dir=None) -> dict[str, Path] | None:
    """The four FashionMNIST files under ``data_dir`` (default ``default_data_dir()``), keyed by canonical
    ``.gz`` name, or ``None`` if any is missing. Only looks for the files; does not read them."""
    found = _locate(_data_dir(data_dir))
    if any(path is None for path in found.values()):
        return None
    return found  # type: ignore[return-value]


def is_fashion_mnist_available(data_dir=None) -> bool:
    """Whether all four FashionMNIST files are on disk (no download, no reading)."""
    return find_fashion_mnist(data_dir) is not None


def _names_text() -> str:
    return ", ".join(FASHION_MNIST_FILES)


def _check_md5(path: Path, expected: str) -> None:
    actual = file_md5(path)
    if actual != expected.lower():
        raise ConfigError(f"{path} has MD5 {actual}, expected {expected.lower()}: it is damaged or not the original "
                          f"FashionMNIST file; delete it and download again (or replace it with a good copy)",
                          "data_dir")


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and cross-check one images/labels pair. Returns uint8 (n, 28, 28) and int64 (n,)."""
    images = read_idx_images(images_path)
    labels = read_idx_labels(labels_path)
    rows, cols = IMAGE_SHAPES["fashion_mnist"]
    if images.shape[1:] != (rows, cols):
        raise ConfigError(f"{images_path} holds {images.shape[1]}×{images.shape[2]} images, FashionMNIST images are "
                          f"{rows}×{cols}; replace it with the original file", "data_dir")
    if len(images) != len(labels):
        raise ConfigError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
                          f"they must come from the same release: replace both", "data_dir")
    if len(labels) and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise ConfigError(f"{labels_path} holds label {int(labels.max())}, FashionMNIST labels are 0–9; replace it "
                          f"with the original file", "data_dir")
    return images, labels.astype(np.int64)


def load_fashion_mnist(data_dir=None, download: bool = True, progress: FileProgress | None = None,
                       base_url: str = BASE_URL, checksums: dict[str, str] | None = None,
                       timeout: float = DEFAULT_TIMEOUT):
    """Load FashionMNIST from ``data_dir`` (default ``default_data_dir()``), downloading missing files into it.

    Returns ``(X_train, y_train, X_test, y_test)``: uint8 (60000, 28, 28), int64 (60000,), uint8 (10000, 28, 28),
    int64 (10000,). Files already on disk are verified by reading them and, for ``.gz`` files under their
    canonical names, by MD5. ``checksums`` maps canonical file names to MD5s and overrides the published ones
    (``None`` = ``FASHION_MNIST_MD5``). ``progress(file_name, done_bytes, total_bytes)`` reports downloads.

    Raises ``ConfigError`` when a file is missing and ``download`` is False, when a download fails, and when
    a file is damaged; each message names the file, the folder and what to do.
    """
    folder = _data_dir(data_dir)
    md5s = {**FASHION_MNIST_MD5, **(checksums or {})}
    found = _locate(folder)
    missing = [name for name, path in found.items() if path is None]
    if missing and not download:
        raise ConfigError(f"FashionMNIST is not in {folder}: missing {', '.join(missing)}. Put the four files "
                          f"(names: {_names_text()}; gzip-compressed or not) in {folder} or in "
                          f"{folder / 'FashionMNIST' / 'raw'}, or allow downloading them from {base_url}",
                          "data_dir")
    hint = (f"Put the four files in {folder} by hand (names: {_names_text()}; from {base_url}) "
            f"or try again online.")
    fresh = set()
    for name in missing:
        url = base_url if base_url.endswith("/") else base_url + "/"
        report = None if progress is None else functools.partial(progress, name)
        found[name] = fetch(url + name, folder / name, md5s[name], progress=report, timeout=timeout, hint=hint)
        fresh.add(name)
    for name, path in found.items():
        if name not in fresh and path.name == name:   # a canonical .gz name: the published MD5 applies
            _check_md5(path, md5s[name])
    X_train, y_train = _read_pair(found[TRAIN_IMAGES], found[TRAIN_LABELS])
    X_test, y_test = _read_pair(found[TEST_IMAGES], found[TEST_LABELS])
    return X_train, y_train, X_test, y_test


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits, bundled with the package (works offline).

    Returns ``(images, labels)``: uint8 (1797, 8, 8) with values 0..16 (the integer counts scikit-learn stores
    as floats, converted losslessly) and int64 (1797,) digits 0..9.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images)
    return images.astype(np.uint8), np.asarray(bunch.target, dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------
# Splitting and preprocessing


def _split(idx: np.ndarray, y: np.ndarray, held_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` (n,) with labels ``y`` (n,) into kept and held-out indices, stratified when possible."""
    from sklearn.model_selection import train_test_split  # imported on use: loading nncore stays fast
    try:
        kept, held = train_test_split(idx, test_size=held_fraction, random_state=seed, stratify=y)
    except ValueError:   # a class too small to stratify
        kept, held = train_test_split(idx, test_size=held_fraction, random_state=seed)
    return kept, held


def _subsample(idx: np.ndarray, y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` of the indices ``idx`` (labels ``y``), stratified when possible; all of them if ``k >= len(idx)``."""
    if k >= len(idx):
        return idx
    from sklearn.model_selection import train_test_split
    try:
        kept, _ = train_test_split(idx, train_size=k, random_state=seed, stratify=y)
    except ValueError:   # fewer samples than classes, or a class too small to stratify
        kept = np.random.default_rng(seed).choice(idx, size=k, replace=False)
    return np.sort(kept)


def _apply_limit(splits: list[np.ndarray], labels: list[np.ndarray], limit: int | None,
                 seed: int) -> list[np.ndarray]:
    """Cap the first (training) split at ``limit`` and shrink the others by the same factor (at least 1)."""
    if limit is None or limit >= len(splits[0]):
        return splits
    factor = limit / len(splits[0])
    out = []
    for i, (idx, y) in enumerate(zip(splits, labels)):
        k = limit if i == 0 else max(1, int(round(len(idx) * factor)))
        out.append(_subsample(idx, y, k, seed + i))
    return out


def _flatten(images: np.ndarray, dtype=np.float64) -> np.ndarray:
    """uint8 (n, r, c) -> ``dtype`` (n, r*c), row-major."""
    return images.reshape(len(images), -1).astype(dtype)


def make_image_dataset(name: str, cfg, data_dir=None, progress: FileProgress | None = None, download: bool = True,
                       preprocess: str = "scale", limit: int | None = None, base_url: str = BASE_URL,
                       checksums: dict[str, str] | None = None, dtype: str = "float64") -> Dataset:
    """Build the image ``Dataset`` ``name`` ("digits" or "fashion_mnist") with ``cfg``'s seed and fractions.

    Features are ``dtype`` (n, r*c), one per pixel (``px0`` …, row-major; fold with ``IMAGE_SHAPES[name]``):
    "float32" matches the networks' default type, so trainers use the arrays as they are, without a copy.
    ``preprocess="scale"`` divides by the brightest pixel value (255, or 16 for digits) so inputs lie in
    [0, 1]; ``"standardize"`` subtracts the per-pixel training mean and divides by the per-pixel training std
    (1 where a pixel never varies). ``Dataset.unscale`` gives raw pixel values back either way.

    Splits: digits are split like the toy sets (stratified, ``cfg.val_fraction`` / ``cfg.test_fraction``,
    seeded by ``cfg.seed``). FashionMNIST keeps its official 10,000-image test set as test
    (``cfg.test_fraction`` does not apply) and carves a stratified ``cfg.val_fraction`` of the 60,000
    training images out as validation. ``limit`` caps the training split at that many samples (stratified)
    and shrinks validation and test by the same factor, for quick demos and tests.

    ``data_dir``, ``progress``, ``download``, ``base_url`` and ``checksums`` are passed to
    ``load_fashion_mnist``; digits ignore them.
    """
    from nncore.data import Dataset  # imported here so the package can import this module while it initializes

    if name not in IMAGE_SHAPES:
        raise ConfigError(f"image dataset must be one of {', '.join(IMAGE_SHAPES)}, got {name!r}", "dataset")
    if preprocess not in PREPROCESSING:
        raise ConfigError(f"preprocess must be one of {', '.join(PREPROCESSING)}, got {preprocess!r}", "preprocess")
    if dtype not in ("float32", "float64"):
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}", "dtype")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ConfigError(f"limit must be a positive integer or None, got {limit!r}", "limit")
    seed = int(cfg.seed)

    if name == "digits":
        images, y = load_digits_images()
        class_names = DIGITS_CLASSES
        idx = np.arange(len(y))
        holdout = cfg.val_fraction + cfg.test_fraction
        train_idx, held_idx = _split(idx, y, holdout, seed)
        val_idx, test_idx = _split(held_idx, y[held_idx], cfg.test_fraction / holdout, seed)
        train_idx, val_idx, test_idx = _apply_limit([train_idx, val_idx, test_idx],
                                                    [y[train_idx], y[val_idx], y[test_idx]], limit, seed)
        parts = [(images[i], y[i]) for i in (train_idx, val_idx, test_idx)]
    else:
        X_tr_img, y_tr_all, X_te_img, y_te_all = load_fashion_mnist(
            data_dir, download=download, progress=progress, base_url=base_url, checksums=checksums)
        class_names = FASHION_MNIST_CLASSES
        train_idx, val_idx = _split(np.arange(len(y_tr_all)), y_tr_all, cfg.val_fraction, seed)
        test_idx = np.arange(len(y_te_all))
        train_idx, val_idx, test_idx = _apply_limit([train_idx, val_idx, test_idx],
                                                    [y_tr_all[train_idx], y_tr_all[val_idx], y_te_all[test_idx]],
                                                    limit, seed)
        parts = [(X_tr_img[train_idx], y_tr_all[train_idx]), (X_tr_img[val_idx], y_tr_all[val_idx]),
                 (X_te_img[test_idx], y_te_all[test_idx])]

    rows, cols = IMAGE_SHAPES[name]
    n_features = rows * cols
    X_train = _flatten(parts[0][0], dtype)
    if preprocess == "scale":
        mean = np.zeros(n_features)
        std = np.full(n_features, PIXEL_MAX[name])
    else:
        mean, std = fit_scaling(X_train)
    X_train -= mean
    X_train /= std
    splits = [X_train]
    for images, _ in parts[1:]:
        X = _flatten(images, dtype)
        X -= mean
        X /= std
        splits.append(X)
    (y_train, y_val, y_test) = (p[1].astype(np.int64) for p in parts)
    return Dataset(name, "multiclass", len(class_names), tuple(class_names),
                   tuple(f"px{i}" for i in range(n_features)),
                   splits[0], y_train, splits[1], y_val, splits[2], y_test, mean, std, image_shape=(rows, cols))


# ---------------------------------------------------------------------------------------------------------
# Augmentation


def _source_coords(shape: tuple[int, int], angles_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel of each image, the (row, col) it is sampled from, rotating counterclockwise
    (as displayed, row 0 at the top) by ``angles_deg`` (B,) about the image centre. Returns two (B, r, c)."""
    rows, cols = shape
    cy, cx = (rows - 1) / 2.0, (cols - 1) / 2.0
    theta = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))[:, None, None]
    x = (np.arange(cols) - cx)[None, None, :]          # right
    y = (cy - np.arange(rows))[None, :, None]          # up
    cos, sin = np.cos(theta), np.sin(theta)
    x_src = cos * x + sin * y
    y_src = -sin * x + cos * y
    return cy - y_src, x_src + cx


def rotate_images(images: np.ndarray, angles_deg: np.ndarray, method: str = "auto") -> np.ndarray:
    """Rotate each image of ``images`` (B, r, c) counterclockwise by ``angles_deg`` (B,) degrees about its
    centre, filling uncovered pixels with 0. Returns float64 (B, r, c).

    ``method``: "scipy" (bilinear, ``scipy.ndimage.map_coordinates``), "nearest" (numpy index maps) or
    "auto" (scipy when installed).
    """
    images = np.asarray(images, dtype=np.float64)
    batch, rows, cols = images.shape
    src_r, src_c = _source_coords((rows, cols), angles_deg)
    if method == "auto":
        try:
            import scipy.ndimage  # noqa: F401
            method = "scipy"
        except ImportError:
            method = "nearest"
    if method == "scipy":
        from scipy.ndimage import map_coordinates

        src_b = np.broadcast_to(np.arange(batch, dtype=np.float64)[:, None, None], src_r.shape)
        return map_coordinates(images, np.stack([src_b, src_r, src_c]), order=1, mode="constant", cval=0.0)
    if method != "nearest":
        raise ValueError(f"method must be auto, scipy or nearest, got {method!r}")
    r = np.rint(src_r).astype(np.int64)
    c = np.rint(src_c).astype(np.int64)
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    b = np.arange(batch)[:, None, None]
    return np.where(inside, images[b, np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1)], 0.0)


def shift_images(images: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Move image ``b`` of ``images`` (B, r, c) down by ``dy[b]`` and right by ``dx[b]`` whole pixels (negative:
    up / left), filling uncovered pixels with 0. Returns an array of the input's dtype, (B, r, c)."""
    batch, rows, cols = images.shape
    r = np.arange(rows)[None, :, None] - np.asarray(dy)[:, None, None]
    c = np.arange(cols)[None, None, :] - np.asarray(dx)[:, None, None]
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    b = np.arange(batch)[:, None, None]
    moved = images[b, np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1)]
    return np.where(inside, moved, np.zeros((), dtype=images.dtype))


def augment_batch(X_flat: np.ndarray, shape: tuple[int, int], rng: np.random.Generator, flip: bool = False,
                  shift: int = 0, rotate: float = 0.0) -> np.ndarray:
    """Randomly perturb a training batch of flattened images; returns a new (B, r*c) array, input untouched.

    ``X_flat`` is (B, r*c) row-major with ``shape == (r, c)``. Per image: a horizontal flip with probability
    0.5 (``flip``), then a rotation by a uniform angle in [-``rotate``, ``rotate``] degrees, then a shift by
    whole pixels drawn uniformly from [-``shift``, ``shift``] in each direction. Uncovered pixels become 0
    (black for scaled inputs, the mean pixel for standardized ones). The same ``rng`` state gives the same
    result. Integer inputs keep their dtype (rotations are rounded); otherwise the dtype is kept as well.
    """
    X_flat = np.asarray(X_flat)
    rows, cols = shape
    if X_flat.ndim != 2 or X_flat.shape[1] != rows * cols:
        raise ValueError(f"augment_batch needs X_flat of shape (B, {rows * cols}) for {rows}×{cols} images, "
                         f"got {X_flat.shape}")
    if shift < 0 or rotate < 0:
        raise ValueError(f"shift and rotate must be >= 0, got shift={shift!r}, rotate={rotate!r}")
    images = X_flat.reshape(-1, rows, cols).copy()
    batch = len(images)
    if flip:
        flipped = rng.random(batch) < 0.5
        images[flipped] = images[flipped, :, ::-1]
    if rotate > 0:
        angles = rng.uniform(-rotate, rotate, size=batch)
        turned = rotate_images(images, angles)
        if np.issubdtype(images.dtype, np.integer):
            info = np.iinfo(images.dtype)
            turned = np.clip(np.rint(turned), info.min, info.max)
        images = turned.astype(X_flat.dtype)
    if shift > 0:
        moves = rng.integers(-int(shift), int(shift) + 1, size=(2, batch))
        images = shift_images(images, moves[0], moves[1])
    return images.reshape(batch, rows * cols)
