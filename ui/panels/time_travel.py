"""Time travel on a paused run: scrub back through kept epochs, see that moment, branch from it."""

from __future__ import annotations

import streamlit as st

from nncore.train.trainer import Trainer

from ui.panels import common as panels
from ui.session import state
from ui.session.state import RunSession


def time_travel(session: RunSession, trainer: Trainer, key: str) -> None:
    """A slider over the run's kept epochs (paused runs only); an earlier epoch shows its boundary, curves and
    histograms, and "Branch from here" continues from it with the sidebar's current training settings (those the
    run has taken: the sidebar passes them to the run as they change)."""
    kept = trainer.kept_epochs()
    if session.playing or len(kept) < 2:
        return
    st.markdown("**Time travel** — scrub back through the run; weights are kept for "
                f"{len(kept)} epochs (older ones thinned to every other)")
    epoch = st.select_slider("Epoch", kept, kept[-1], key=f"{key}.epoch")
    if epoch == kept[-1] and epoch == trainer.epoch:
        st.caption("Showing the present. Pick an earlier epoch to look back.")
        return
    past = trainer.snapshot_at(epoch)
    st.caption(panels.status_text(past, trainer.engine_label, playing=False))
    panels.live_view(session, past, trainer.engine_at(epoch), trainer.dataset, f"{key}.view",
                     panels=("diagram", "boundary", "curves", "histograms", "hidden"))

    def branch():
        state.archive_run(session.page, session.trainer)
        session.trainer = Trainer.from_kept(trainer, epoch, session.trainer.cfg.train)
        session.notice = (f"Branched from epoch {epoch} with the sidebar's training settings; the earlier run is "
                          "kept on the Compare page.")
        session.cache.clear()

    st.button("Branch from here", on_click=branch, key=f"{key}.branch",
              help="continue from this epoch with the training settings now in the sidebar (optimizer moments "
                   "start afresh)")
