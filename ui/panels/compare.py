"""Compare page helpers for kept runs: the table, the overlaid curves (shared with the race), keeping the
Playground's run, renaming and deleting. The race's helpers are in ``ui.panels.race``."""

from __future__ import annotations

import functools
from dataclasses import replace

import altair as alt
import numpy as np
import streamlit as st

from nncore.train.snapshot import SCORE_NAMES, Snapshot

from ui.panels import charts
from ui.session import state

SPLITS = {"val": "validation", "train": "train"}
PICK_KEY = "compare.pick"  # the overlay's picks: kept-run labels


# --- overlaid curves (kept runs and racers) ------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def _overlay_template(names: tuple[str, ...], title: str, log_y: bool, dashed: bool, height: int) -> dict:
    scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    colours = [charts.PALETTE[i % len(charts.PALETTE)] for i in range(len(names))]
    encoding = dict(
        x=alt.X("epoch:Q", title="epoch"), y=alt.Y("value:Q", scale=scale, title=title),
        color=alt.Color("run:N", scale=alt.Scale(domain=list(names), range=colours),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=420, title=None)),
        tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip("value:Q", format=".4f")])
    if dashed:  # validation solid, train dashed
        encoding["strokeDash"] = alt.StrokeDash("split:N", scale=alt.Scale(
            domain=list(SPLITS.values()), range=[[1, 0], [5, 4]]), title="split")
    # fit-x: the plot takes the container's width and keeps its height; the legend below adds to it (the
    # default "fit" would squeeze plot, title and legend into ``height``).
    return alt.Chart(alt.NamedData("curves")).mark_line().encode(**encoding).properties(
        height=height, title=title).to_dict() | {"autosize": {"type": "fit-x", "contains": "padding"}}


def overlay_chart(snapshots: dict[str, Snapshot], metric: str, title: str, log_y: bool = False,
                  show_train: bool = False, height: int = 260) -> dict:
    """One colour per run (``snapshots``: label -> Snapshot) for ``metric`` ("loss", or "score": each run's
    own, accuracy or a regression's R²) against epochs: validation solid, and train dashed when ``show_train``."""
    records = []
    for name, snap in snapshots.items():
        history = snap.history
        epochs = np.asarray(history["epoch"])
        idx = np.arange(len(epochs))
        if len(epochs) > charts.MAX_CURVE_POINTS:
            idx = np.unique(np.linspace(0, len(epochs) - 1, charts.MAX_CURVE_POINTS).round().astype(int))
        for split in (("val", "train") if show_train else ("val",)):
            values = np.asarray(history[f"{split}_{snap.score if metric == 'score' else metric}"])[idx]
            ok = np.isfinite(values) & ((values > 0) if log_y else True)
            records.extend({"run": name, "split": SPLITS[split], "epoch": float(e), "value": float(v)}
                           for e, v in zip(epochs[idx][ok], values[ok]))
    template = _overlay_template(tuple(snapshots), title, log_y, show_train, height)
    return {**template, "datasets": {"curves": records}}


def score_title(snapshots, split: str = "Validation") -> str:
    """ "Validation accuracy", or R² when every run is a regression (mixed: say both)."""
    regression = [s.score == "r2" for s in snapshots]
    if all(regression):
        return f"{split} R²"
    return f"{split} accuracy" + (" (R² for regression)" if any(regression) else "")


# --- kept runs -------------------------------------------------------------------------------------------------

def labels(records: list[state.RunRecord]) -> list[str]:
    """A unique label per kept run: its name, numbered when two runs share one."""
    out, seen = [], {}
    for record in records:
        seen[record.name] = seen.get(record.name, 0) + 1
        out.append(record.name if seen[record.name] == 1 else f"{record.name} ({seen[record.name]})")
    return out


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


SCORE_COLUMNS = {"acc": "acc", "r2": "R²"}  # a score's column label: "val acc", "val R²"


def table_rows(records: list[state.RunRecord]) -> list[dict]:
    """One row per kept run: settings and the metrics of the weights it kept (the best epoch's when early
    stopping restored them). The score columns are those of the runs' scores (accuracy and/or R²); a run
    fills its own."""
    kinds = [k for k in SCORE_NAMES if any(r.snapshot.score == k for r in records)]
    rows = []
    for label, record in zip(labels(records), records):
        snap, cfg = record.snapshot, record.snapshot.config
        rows.append({"run": label, "page": record.page, "dataset": cfg.data.dataset,
                     "network": f"{cfg.model.describe()} {cfg.model.activation}", "optimizer": cfg.train.optimizer,
                     "lr": cfg.train.learning_rate, "epochs": snap.epoch, "best epoch": snap.best_epoch,
                     "steps": snap.step,
                     **{f"{split} loss": _round(snap.final(f"{split}_loss")) for split in ("train", "val", "test")},
                     **{f"{split} {SCORE_COLUMNS[kind]}": _round(snap.final(f"{split}_{kind}"))
                        for kind in kinds for split in ("train", "val", "test")}})
    return rows


def keep_reason(trainer, records: list[state.RunRecord]) -> str:
    """Why the Playground's run cannot be kept now ("" when it can)."""
    if trainer is None:
        return "There is no Playground run yet: open the Playground and train."
    if trainer.epoch == 0:
        return "The Playground run has not finished an epoch yet: train it a little longer."
    for label, record in zip(labels(records), records):
        if record.page == "playground" and record.snapshot.config == trainer.cfg and record.snapshot.step == trainer.step:
            return f"This run is already kept, as {label}."
    return ""


def keep_button() -> None:
    """"Keep the current Playground run", with the reason when it cannot."""
    trainer = state.run_session("playground").trainer
    reason = keep_reason(trainer, state.run_history())

    def keep():
        state.archive_run("playground", trainer)
        label = labels(state.run_history())[-1]
        state.space()["compare.kept"] = label
        if PICK_KEY in st.session_state:  # overlay the run just kept
            st.session_state[PICK_KEY] = [*st.session_state[PICK_KEY], label]

    button, note = st.columns([2, 5], vertical_alignment="center")
    button.button("Keep the current Playground run", key="compare.keep", on_click=keep, disabled=bool(reason),
                  type="primary")
    kept = state.space().pop("compare.kept", None)
    if kept:
        note.success(f"Kept as {kept}.")
    elif reason:
        note.caption(reason)


def picker(names: list[str]) -> list[str]:
    """Which kept runs to overlay: the last four at first; later, the user's picks that still exist."""
    current = st.session_state.get(PICK_KEY)
    st.session_state[PICK_KEY] = names[-4:] if current is None else [n for n in current if n in names]
    return st.multiselect("Runs to overlay", names, key=PICK_KEY, persist_state="session")


def manage(records: list[state.RunRecord]) -> None:
    """Rename or delete kept runs (the overlay keeps its picks, under the new names)."""
    names = labels(records)

    def picked() -> set[int]:
        chosen = set(st.session_state.get(PICK_KEY, []))
        return {id(r) for r, name in zip(records, names) if name in chosen}

    def repick(ids: set[int]) -> None:
        st.session_state[PICK_KEY] = [n for r, n in zip(records, labels(records)) if id(r) in ids]

    def rename(which: int, new_name: str):
        ids, old = picked(), records[which]
        records[which] = replace(old, name=new_name.strip())
        repick(ids | {id(records[which])} if id(old) in ids else ids)

    def delete(which: int):
        ids = picked()
        del records[which]
        repick(ids)

    with st.expander("Rename or delete kept runs"):
        which = st.selectbox("Run", range(len(records)), format_func=names.__getitem__, key="compare.manage.run")
        new_name = st.text_input("New name", key="compare.manage.name", placeholder="e.g. adam baseline")
        left, right = st.columns(2)
        left.button("Rename", key="compare.manage.rename", on_click=rename, args=(which, new_name),
                    disabled=not new_name.strip() or which is None)
        right.button("Delete", key="compare.manage.delete", on_click=delete, args=(which,), disabled=which is None)
