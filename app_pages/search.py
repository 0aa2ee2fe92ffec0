"""Search: tune the Playground's network with Optuna (grid, random or TPE; pruning; hold-out or k-fold), or
resume a stored study. Trials train in slices through the server's training gate, like every run."""

import streamlit as st

from nncore.config import RunConfig
from nncore.errors import ConfigError
from nncore.search.results import history_records, importance_records, list_studies, stored_search
from nncore.search.study import PRUNERS, SAMPLERS
from ui.session import gate, live, state
from ui.panels import search as search_panels
from ui.safe import server_text
from ui.controls.sidebar import PLAYGROUND, load_config

NEW = "New study (the Playground's data and settings)"

st.title("Search")
st.caption("Hyperparameter search with Optuna, one trial at a time. Studies are saved, so a search can be "
           "resumed here later (and shared by workers: see the README).")
session = search_panels.search_session()
try:
    studies = [row["name"] for row in list_studies()]
except (ConfigError, OSError) as e:  # OSError: a data folder that cannot be created
    st.error(server_text(e))
    studies = []
pick = st.selectbox("Study", [NEW, *studies], key="search.pick",
                    help="a stored study goes on with the data, network and search space it was started with")

space, cv, epochs = None, None, None
if pick == NEW:
    playground = state.run_session("playground").trainer
    base: RunConfig = playground.cfg if playground else RunConfig()
    st.markdown(f"Data: **{base.data.dataset}** ({base.data.n_points} points, noise {base.data.noise}, seed "
                f"{base.data.seed}); other settings from the Playground.")
    try:
        space = search_panels.space_form()
    except ConfigError as e:
        st.error(server_text(e))
    judge, folds_col, epochs_col = st.columns(3)
    kfold = judge.selectbox("Judge", ["hold-out validation", "stratified k-fold"], key="search.judge")
    cv = folds_col.slider("Folds", 2, 10, 5, key="search.folds") if kfold == "stratified k-fold" else None
    epochs = int(epochs_col.number_input("Epochs per trial", 1, 500, 30, key="search.epochs"))
    study = None
else:
    study = pick
    try:
        base, space, cv = stored_search(pick)
    except ConfigError as e:
        st.error(server_text(e))
        base = RunConfig()
    st.text(f"Resuming {pick}: {base.data.dataset} ({base.data.n_points} points, seed {base.data.seed}), "
            f"{base.train.epochs} epochs per trial, {f'{cv}-fold' if cv else 'hold-out'} validation; searching "
            f"{', '.join(space.knobs) if space else '–'}.")

limit_minutes = gate.limits().max_run_seconds / 60
left, middle, right, far = st.columns(4)
sampler = left.selectbox("Sampler", list(SAMPLERS), index=list(SAMPLERS).index("tpe"), key="search.sampler")
pruner = middle.selectbox("Pruner", list(PRUNERS), key="search.pruner", help="stops hopeless trials early")
trials = int(right.number_input("Trials to run", 1, 500, 20, key="search.trials",
                                help="finished trials to add to the study"))
minutes = far.number_input("Minutes of training", min(0.1, limit_minutes), limit_minutes, min(2.0, limit_minutes),
                           key="search.minutes",
                           help=f"at most {limit_minutes:g} on this server (NNPLAY_MAX_RUN_SECONDS)")


def begin():
    search_panels.start(session, base, space, trials=trials, minutes=float(minutes), study=study, sampler=sampler,
                        pruner=pruner, cv=cv, epochs=epochs, seed=base.data.seed)


go, halt = st.columns([1, 5])
go.button("Start search" if pick == NEW else "Resume search", type="primary", on_click=begin,
          disabled=space is None or session.playing)
halt.button("Stop", on_click=search_panels.stop, args=(session,), disabled=not session.playing)


def progress(_frame) -> None:
    """The search's progress, drawn by the live loop after each slice (from the session; a slice draws nothing)."""
    if session.error:
        st.error(session.error)
    search = session.search
    if search is None:
        st.info(session.notice or "Choose what to search and press **Start search**, or pick a stored study to "
                                  "resume.")
        return
    result = search.result()
    st.text(f"Study: {search.study_name}")
    st.progress(min(result.n_trials / search.n_trials, 1.0),
                text=f"{result.n_trials} of {search.n_trials} trials ({result.n_pruned} pruned); "
                     f"{session.trained_seconds:.0f} of {session.seconds:.0f} s of training used")
    if session.notice:
        st.info(session.notice)
    if result.best_params:
        spread = f" ± {result.best_std:.3f}" if result.best_std is not None else ""
        st.success(f"Best so far: trial {result.best_number}, {result.metric} {result.best_value:.4f}{spread} — "
                   f"{result.best_params}")
        if st.button("Open in Playground", key="search.open"):
            load_config(PLAYGROUND, result.best_config)
            st.switch_page("app_pages/playground.py")
    charts = session.charts
    if charts.get("trials") != result.n_trials:  # fANOVA refits only when a trial has ended
        charts.update(trials=result.n_trials, history=history_records(search.study),
                      importance=importance_records(search.study))
    left, right = st.columns(2)
    left.vega_lite_chart(search_panels.history_chart(charts["history"]), key="search.history")
    if charts["importance"]:
        right.vega_lite_chart(search_panels.importance_chart(charts["importance"]), key="search.importance")
    st.dataframe(result.trials, hide_index=True, key="search.table")


live.fragment(session, search_panels.search_work(session), progress)
