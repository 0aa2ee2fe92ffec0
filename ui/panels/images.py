"""Panels of the Images page: loading image data (shared, read-only), evaluation views, galleries."""

from __future__ import annotations

import numpy as np
import streamlit as st

from nncore.config import DataConfig
from nncore.data import Dataset, make_dataset
from nncore.data.images import (FASHION_MNIST_FILES, PIXEL_MAX, is_fashion_mnist_available,
                                    load_fashion_mnist)
from nncore.errors import ConfigError
from nncore.inspect.evaluation import Evaluation, evaluate

from ui.panels import charts
from ui.safe import server_text
from ui.session.state import RunSession


@st.cache_resource(max_entries=4, show_spinner="Loading images…")
def shared_dataset(cfg: DataConfig, dtype: str = "float32") -> Dataset:
    """Image datasets are big and identical for everyone with the same settings: built once per server, in the
    networks' float type ``dtype`` so that every run trains on these arrays without a copy of its own, and
    shared read-only (arrays are locked against writes). Runs, models and metrics stay per session."""
    dataset = make_dataset(cfg, download=False, dtype=dtype)
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "mean", "std"):
        getattr(dataset, name).setflags(write=False)
    return dataset


def fashion_mnist_offer() -> None:
    """When FashionMNIST is not on disk: say how to get it, and offer the download with a progress bar."""
    if is_fashion_mnist_available():
        return
    with st.expander("FashionMNIST is not downloaded yet — the page uses the offline digits until then"):
        st.markdown(f"FashionMNIST (60,000 + 10,000 clothing images, 28×28, MIT licence, Zalando SE) is about "
                    f"30 MB. Download it here, or put the four files ({', '.join(FASHION_MNIST_FILES)}) in "
                    f"the server's data folder (`NNCORE_DATA_DIR`, by default `~/.cache/nncore`) and reload.")
        if st.button("Download FashionMNIST", key="img.download"):
            bar = st.progress(0.0, text="starting…")

            def progress(name, done, total):
                bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{name}: {done / 1e6:.1f} MB")

            try:
                load_fashion_mnist(progress=progress)
            except ConfigError as e:
                st.error(server_text(e))
            else:
                st.success("FashionMNIST is ready: pick it as the dataset in the sidebar.")


def evaluation(session: RunSession, trainer) -> Evaluation:
    """The test-set evaluation of the current epoch, computed once per epoch and kept for the frames after."""
    key = ("evaluation", id(trainer), trainer.epoch, trainer.step if trainer.epoch == 0 else -1)
    ev = session.cache.get(key)
    if ev is None:
        session.cache = {k: v for k, v in session.cache.items() if k[0] != "evaluation"}
        ev = session.cache[key] = evaluate(trainer, "test", seed=trainer.cfg.data.seed)
    return ev


def _raw_tiles(dataset: Dataset, rows: np.ndarray, scale: int) -> list[np.ndarray]:
    raw = dataset.unscale(dataset.X_test[rows])
    return [charts.image_tile(r, dataset.image_shape, PIXEL_MAX[dataset.name], scale) for r in raw]


def _scale(dataset: Dataset) -> int:
    return max(1, 96 // dataset.image_shape[0])


def mistakes(ev: Evaluation, dataset: Dataset, count: int = 12) -> None:
    rows = ev.mistakes[:count]
    st.markdown(f"**Most confident mistakes** — {len(ev.mistakes)} of {len(ev.truth)} test images are wrong")
    if len(rows) == 0:
        st.caption("No test image is misclassified.")
        return
    names = dataset.class_names
    captions = [f"true {names[ev.truth[i]]} · said {names[ev.predicted[i]]} "
                f"({ev.probabilities[i, ev.predicted[i]]:.0%})" for i in rows]
    st.image(_raw_tiles(dataset, rows, _scale(dataset)), caption=captions, width=96)


def prediction(ev: Evaluation, dataset: Dataset, key: str) -> None:
    st.markdown("**Prediction for one test image**")
    index = int(st.number_input("Test image #", 0, len(ev.truth) - 1, 0, key=key))
    picture, bars = st.columns([1, 3])
    picture.image(_raw_tiles(dataset, np.array([index]), _scale(dataset))[0],
                  caption=f"true: {dataset.class_names[ev.truth[index]]}", width=128)
    bars.vega_lite_chart(charts.class_bars_chart(ev.probabilities[index], dataset.class_names,
                                                 "Class probabilities", "probability"), key=f"{key}.bars")
