"""Search: tune the Playground's network with Optuna (grid, random or TPE; pruning; hold-out or k-fold)."""

import time

import streamlit as st

from nncore.config import RunConfig
from nncore.errors import ConfigError
from nncore.search import PRUNERS, SAMPLERS, history_records, importance_records, load_study, run_search
from ui import search_panels, state
from ui.sidebar import PLAYGROUND, load_config

state.require_entry()

st.title("Search")
st.caption("Hyperparameter search around the Playground's current settings, one trial at a time, with Optuna. "
           "Studies are saved, so a search can be resumed (and shared by workers: see the README).")
playground = state.run_session("playground").trainer
base: RunConfig = playground.cfg if playground else RunConfig()
st.markdown(f"Data: **{base.data.dataset}** ({base.data.n_points} points, noise {base.data.noise}, seed "
            f"{base.data.seed}); other settings from the Playground.")
search = state.space().setdefault("search", {"running": False, "study": None, "result": None})

try:
    space = search_panels.space_form()
except ConfigError as e:
    st.error(f"{e}")
    space = None
left, middle, right = st.columns(3)
sampler = left.selectbox("Sampler", list(SAMPLERS), index=list(SAMPLERS).index("tpe"), key="search.sampler")
pruner = middle.selectbox("Pruner", list(PRUNERS), key="search.pruner", help="stops hopeless trials early")
judge = right.selectbox("Judge", ["hold-out validation", "stratified k-fold"], key="search.judge")
left, middle, right = st.columns(3)
trials = left.number_input("Trials", 1, 500, 20, key="search.trials")
minutes = middle.number_input("Minutes (0 = no limit)", 0.0, 120.0, 2.0, step=0.5, key="search.minutes")
epochs = right.number_input("Epochs per trial", 1, 500, 30, key="search.epochs")
folds = st.slider("Folds", 2, 10, 5, key="search.folds") if judge == "stratified k-fold" else None


def start():
    search.update(running=True, result=None, started=time.time(), settings=dict(
        space=space, sampler=sampler, pruner=pruner, cv=folds, epochs=int(epochs), n_trials=int(trials),
        minutes=float(minutes), study=f"{base.data.dataset}-{time.strftime('%H%M%S')}-{id(search) % 9973}"))


def stop():
    search["running"] = False


go, halt = st.columns([1, 5])
go.button("Start search", type="primary", on_click=start, disabled=space is None or search["running"])
halt.button("Stop", on_click=stop, disabled=not search["running"])


def progress() -> None:
    settings = search.get("settings")
    if settings is None:
        st.info("Choose what to search and press **Start search**.")
        return
    if search["running"]:  # one more trial per tick keeps the page responsive and the charts live
        done = search["result"].n_trials if search["result"] else 0
        out_of_time = settings["minutes"] and time.time() - search["started"] > settings["minutes"] * 60
        if done >= settings["n_trials"] or out_of_time:
            search["running"] = False
            st.rerun()
        search["result"] = run_search(base, settings["space"], n_trials=done + 1, sampler=settings["sampler"],
                                      pruner=settings["pruner"], cv=settings["cv"], epochs=settings["epochs"],
                                      study_name=settings["study"], seed=base.data.seed)
    result = search["result"]
    if result is None:
        return
    st.progress(min(result.n_trials / settings["n_trials"], 1.0),
                text=f"{result.n_trials} of {settings['n_trials']} trials ({result.n_pruned} pruned)")
    if result.best_params:
        spread = f" ± {result.best_std:.3f}" if result.best_std is not None else ""
        st.success(f"Best so far: trial {result.best_number}, {result.metric} {result.best_value:.4f}{spread} — "
                   f"{result.best_params}")
        if st.button("Open in Playground", key="search.open"):
            load_config(PLAYGROUND, result.best_config)
            st.switch_page("pages/playground.py")
    study = load_study(settings["study"])
    left, right = st.columns(2)
    left.vega_lite_chart(search_panels.history_chart(history_records(study)), key="search.history")
    importance = importance_records(study)
    if importance:
        right.vega_lite_chart(search_panels.importance_chart(importance), key="search.importance")
    st.dataframe(result.trials, hide_index=True, key="search.table")


st.fragment(progress, run_every=0.5 if search["running"] else None)()
