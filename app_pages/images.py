"""Images: train an MLP or a small CNN on real images (digits offline, FashionMNIST once downloaded) and
look inside: curves, per-class accuracy, confusion, ROC, mistakes, and the hidden layer's PCA."""

import streamlit as st

from nncore.train.trainer import Trainer
from ui.panels import charts, images as image_panels, lessons as lesson_panels, common as panels
from ui.session import live, state
from ui.controls import model_io
from ui.controls.sidebar import IMAGES, training_sidebar

session = state.run_session("images")
# the sidebar shows any problem; its training settings steer the run by themselves (live.steer)
cfg, _ = training_sidebar(IMAGES, apply=lambda c: live.steer(session, c))
live.sync(session, cfg, lambda c: Trainer(c, image_panels.shared_dataset(c.data, c.model.dtype)))

st.title("Images")
st.caption("Real image data. The MLP flattens each image; the CNN looks at 3×3 neighbourhoods. "
           "Evaluation views refresh once per epoch on the test split.")
image_panels.fashion_mnist_offer()
speed = live.controls(session, key="img")
model_io.model_files(session, IMAGES, key="img.model")

def draw(snap, trainer):
    ds = trainer.dataset
    panels.status_line(snap, trainer.engine_label, session.playing)
    panels.live_view(session, snap, trainer.engine, ds, "img.live", panels=("curves", "histograms"),
                     engine_label=trainer.engine_label)


def evaluation_views(snap, trainer):
    ds = trainer.dataset
    if snap.epoch == 0:
        st.caption("Press Play: the evaluation views appear after the first epoch.")
        return
    lesson_panels.diagnostics(trainer, snap)
    ev = image_panels.evaluation(session, trainer)
    st.subheader(f"Test-set evaluation after epoch {ev.epoch}")
    left, right = st.columns(2)
    left.vega_lite_chart(charts.class_bars_chart(ev.recall, ds.class_names, "Per-class accuracy (test)",
                                                 "accuracy"), key="img.per_class")
    right.vega_lite_chart(charts.confusion_chart(ev.confusion, ds.class_names), key="img.confusion")
    table = {"class": list(ds.class_names), "precision": ev.precision, "recall": ev.recall, "F1": ev.f1,
             "support": ev.support, "AUC": ev.auc}
    st.dataframe(table, hide_index=True, key="img.table",
                 column_config={k: st.column_config.NumberColumn(format="%.3f")
                                for k in ("precision", "recall", "F1", "AUC")})
    left, right = st.columns(2)
    left.vega_lite_chart(charts.roc_chart(ev.roc, ev.auc, ds.class_names), key="img.roc")
    if ev.pca is not None:
        right.vega_lite_chart(charts.pca_chart(ev.pca, ev.truth[ev.pca_index], ds.class_names, ev.pca_variance),
                              key="img.pca")
    else:
        right.info("No hidden layer: add one to see the learned representation.")
    image_panels.mistakes(ev, ds)
    image_panels.prediction(ev, ds, key="img.pick")


live.run_fragment(session, speed, draw, slow_draw=evaluation_views)
