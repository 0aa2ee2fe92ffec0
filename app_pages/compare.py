"""Compare: runs kept from the Playground side by side, and races of a few settings on the same batches."""

import streamlit as st

from nncore.config import RunConfig
from ui.panels import compare as cp
from ui.panels import race as rp
from ui.session import state

st.title("Compare")
kept_tab, race_tab = st.tabs(["Kept runs", "Race"])

with kept_tab:
    st.caption("Runs kept from the Playground (by you, or when a change or Reset replaced them), with their final "
               "numbers; pick some to overlay their curves.")
    cp.keep_button()
    records = state.run_history()
    if not records:
        st.info("No runs kept yet. Train a run on the **Playground** (at least one epoch), then come back and "
                "press **Keep the current Playground run**. A trained run that a Reset or a new network replaces "
                "is kept by itself. Keep a few with different settings to compare them.")
    else:
        names = cp.labels(records)
        st.dataframe(cp.table_rows(records), hide_index=True, key="compare.table")
        st.caption("acc: accuracy on that split; R²: a regression's R² on it; losses and scores after the last "
                   "epoch.")
        picked = cp.picker(names)
        show_train = st.toggle("Also show train curves (dashed)", False, key="compare.train", persist_state="session")
        chosen = {name: record.snapshot for name, record in zip(names, records) if name in picked}
        if chosen:
            loss, score = st.columns(2)
            loss.vega_lite_chart(cp.overlay_chart(chosen, "loss", "Validation loss (log)", log_y=True,
                                                  show_train=show_train), key="compare.loss")
            score.vega_lite_chart(cp.overlay_chart(chosen, "score", cp.score_title(chosen.values()),
                                                   show_train=show_train), key="compare.acc")
        else:
            st.caption("Pick runs above to overlay their curves.")
        cp.manage(records)

with race_tab:
    st.caption("Racers train on the same data, from the same seed, on the same mini-batches, step for step: "
               "only the settings below differ. Everything else comes from the Playground's current run.")
    playground = state.run_session("playground").trainer
    base = playground.cfg if playground is not None else RunConfig()
    st.markdown(rp.data_summary(base))
    count = st.segmented_control("Racers", [2, 3, 4], default=3, key="race.count", persist_state="session")
    session = rp.race_session()
    controls = st.container()  # drawn once the racers' settings are read, shown above them
    with st.expander("Racer settings: each racer's own knobs (changing one starts the race again)", expanded=True):
        configs = rp.racer_settings(base, count or 3)
    rp.sync_race(session, configs, playground.dataset if playground else None)
    with controls:
        rp.race_controls(session)
    rp.race_fragment(session)
