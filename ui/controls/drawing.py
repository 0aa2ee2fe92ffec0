"""Drawing your own data: the drawn set of a page, its edits (add, remove the nearest, undo, clear), its place
in the page's link and its CSV download.

A page's drawn set lives in this browser session (``space()["drawn.<prefix>"]``) and reaches the run through
the sidebar: while the page's dataset is "drawn", the Data group puts the set into ``DataConfig.points``, so
every edit starts a new run on the edited data. The first edit on another dataset starts the drawn set from
that dataset's points (all splits, in the plane's units, with their labels) and switches the page's dataset
to "drawn"; undoing that edit switches back.

Up to ``LINK_MAX`` points travel in the page's link as ``<prefix>.points`` (``nncore.data.drawn.to_text``);
a bigger set is left out of the link, and the page offers its CSV instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from nncore.config import DataConfig
from nncore.data import drawn
from nncore.data.drawn import DRAWN
from nncore.errors import ConfigError
from nncore.limits import ENV_NAMES, load_limits

from ui.safe import plain
from ui.session.state import space

LINK_MAX = 200       # points a link may carry (about 20 characters each)
UNDO_MAX = 100       # edits that can be undone (each keeps the set before it; the points themselves are shared)
CSV_NAME = "drawn_points.csv"


@dataclass
class DrawnSet:
    """One page's drawn points and how they got there."""

    points: tuple[tuple[float, float, float], ...] = ()
    task: str = "classification"      # "classification" or "regression"
    undo: list = field(default_factory=list)  # (dataset before, points before, task before), latest last
    link: str | None = None           # the link text last read or written (not read again)


def drawn_set(prefix: str) -> DrawnSet:
    """The drawn set of the page whose widget keys start with ``prefix`` (created empty on first use)."""
    return space().setdefault(f"drawn.{prefix}", DrawnSet())


def set_points(prefix: str, points, task: str) -> None:
    """Make ``points`` the page's drawn set (e.g. a loaded checkpoint's or a kept run's); forgets the undo list."""
    state = drawn_set(prefix)
    state.points = drawn.normalize(points)
    state.task = drawn.resolve_task(state.points, task)
    state.undo.clear()


# --- edits -------------------------------------------------------------------------------------------------------

def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _label_text(label: float, task: str) -> str:
    return f"value {label:g}" if task == "regression" else f"class {int(label)}"


def _fractions(prefix: str) -> tuple[float, float]:
    d = DataConfig()
    val = st.session_state.get(f"{prefix}.val_pct", round(d.val_fraction * 100))
    test = st.session_state.get(f"{prefix}.test_pct", round(d.test_fraction * 100))
    return val / 100, test / 100


def _outcome(prefix: str, state: DrawnSet) -> str:
    """What happens to the run after an edit: a new run on the drawn set, or why none can start yet."""
    try:
        drawn.check(state.points, state.task, *_fractions(prefix))
    except ConfigError as e:
        n = len(state.points)
        return f" ({n} point{'' if n == 1 else 's'}). No run yet: {plain(e)}."
    return f": a new run started on the drawn data ({len(state.points)} points)."


def _start_from(dataset, state: DrawnSet) -> str | None:
    """Fill ``state`` with ``dataset``'s points; the reason when it cannot be drawn on (None: done)."""
    if dataset is None:
        state.points, state.task = (), "classification"
        return None
    if dataset.n_features != 2 or dataset.image_shape is not None:
        return (f"Drawing needs data with two features (x1, x2); {plain(dataset.name)} has {dataset.n_features}, "
                "drawn in another plane: pick a toy dataset, or the dataset drawn, to draw points.")
    n = len(dataset.y_train) + len(dataset.y_val) + len(dataset.y_test)
    limit = load_limits().max_points
    if n >= limit:
        return (f"Drawing starts from the shown data's {n} points, and a drawn set holds at most {limit} on this "
                f"server ({ENV_NAMES['max_points']}): pick smaller data to draw on.")
    state.points = drawn.dataset_points(dataset)
    state.task = "regression" if dataset.task == "regression" else "classification"
    return None


def apply_draw(event: dict, prefix: str, dataset) -> str:
    """Apply one ``draw`` event of the live view to the page's drawn set and return the message to show.

    ``event``: ``{"op": "add", "x", "y", "label"}``, ``{"op": "remove", "x", "y"}`` (the point nearest to
    (x, y) goes), ``{"op": "undo"}`` or ``{"op": "clear"}``, coordinates in the plane's units. ``dataset``: the
    Dataset the page shows now (the first edit on a dataset other than "drawn" starts from its points), or
    None. Call it from a callback (e.g. the component's ``on_draw_change``): it sets the page's dataset
    select, ``st.session_state[f"{prefix}.dataset"]``, before the sidebar is drawn. A bad event changes
    nothing and says why."""
    if not isinstance(event, dict) or event.get("op") not in ("add", "remove", "undo", "clear"):
        op = event.get("op") if isinstance(event, dict) else event
        return f"Ignored a drawing event: op must be add, remove, undo or clear, got {plain(repr(op))}."
    op = event["op"]
    key = f"{prefix}.dataset"
    state = drawn_set(prefix)
    selected = st.session_state.get(key, DataConfig().dataset)
    if op == "undo":
        if not state.undo:
            return "Nothing to undo."
        before, state.points, state.task = state.undo.pop()
        st.session_state[key] = before
        if before != DRAWN:
            return f"Undid the last edit: back to {plain(before)}."
        return "Undid the last edit" + _outcome(prefix, state)
    x, y = _number(event.get("x")), _number(event.get("y"))
    if op in ("add", "remove") and (x is None or y is None):
        return (f"Ignored a drawing event: x and y must be finite numbers, got {plain(repr(event.get('x')))} and "
                f"{plain(repr(event.get('y')))}.")
    snapshot = (selected, state.points, state.task)
    if selected != DRAWN:  # the first edit: start from the data on the plane
        problem = _start_from(dataset, state)
        if problem:
            return problem
    if op == "add":
        label = _number(event.get("label"))
        if state.task == "classification" and (label is None or not label.is_integer()
                                               or not 0 <= label < drawn.MAX_CLASSES):
            message = (f"Ignored the point: its class must be a class id 0-{drawn.MAX_CLASSES - 1}, got "
                       f"{plain(repr(event.get('label')))}.")
            state.points, state.task = snapshot[1], snapshot[2]
            return message
        if label is None:
            state.points, state.task = snapshot[1], snapshot[2]
            return f"Ignored the point: its value must be a finite number, got {plain(repr(event.get('label')))}."
        limit = load_limits().max_points
        if len(state.points) >= limit:
            state.points, state.task = snapshot[1], snapshot[2]
            return (f"The drawn set holds the most points this server allows ({limit}, "
                    f"{ENV_NAMES['max_points']}): remove some first (Shift-click).")
        label = drawn.rounded(label) if state.task == "regression" else float(int(label))
        point = (drawn.rounded(x), drawn.rounded(y), label)
        state.points = (*state.points, point)
        what = f"Added a point of {_label_text(label, state.task)} at ({point[0]:.2f}, {point[1]:.2f})"
    elif op == "remove":
        if not state.points:
            state.points, state.task = snapshot[1], snapshot[2]
            return "No point to remove: the drawn set is empty."
        xy = np.asarray([p[:2] for p in state.points])
        nearest = int(np.argmin((xy[:, 0] - x) ** 2 + (xy[:, 1] - y) ** 2))
        gone = state.points[nearest]
        state.points = state.points[:nearest] + state.points[nearest + 1:]
        what = f"Removed the point of {_label_text(gone[2], state.task)} at ({gone[0]:.2f}, {gone[1]:.2f})"
    else:
        state.points = ()
        what = "Cleared the drawn points"
    state.undo.append(snapshot)
    del state.undo[:-UNDO_MAX]
    st.session_state[key] = DRAWN
    return what + _outcome(prefix, state)


# --- the link ------------------------------------------------------------------------------------------------------

def _link_key(prefix: str) -> str:
    return f"{prefix}.points"


def read_link(prefix: str) -> str | None:
    """Take a drawn set from the page's link (``<prefix>.points``) when it holds one not read before; returns
    a warning (plain Markdown) when its text is not a drawn set (the parameter is then removed)."""
    key, state = _link_key(prefix), drawn_set(prefix)
    text = st.query_params.get(key)
    if text is None or text == state.link:
        return None
    try:
        points, task = drawn.from_text(text)
        if len(points) > LINK_MAX:
            raise ConfigError(f"the drawn points hold {len(points)} points, more than a link carries ({LINK_MAX})",
                              "points")
    except ConfigError as e:
        del st.query_params[key]
        state.link = None
        shown = text if len(text) <= 60 else text[:60] + "…"
        return (f"ignored {plain(key)}={plain(shown)}: {plain(e)}; the link's other settings apply (draw the "
                "points again, or load them from their CSV file as dataset csv)")
    set_points(prefix, points, task)
    state.link = text
    return None


def write_link(prefix: str, shown: bool) -> str | None:
    """Put the page's drawn set into its link while ``shown`` (the dataset is "drawn") and it has at most
    ``LINK_MAX`` points; otherwise take it out. Returns a note when the set is too big for a link."""
    key, state = _link_key(prefix), drawn_set(prefix)
    text = drawn.to_text(state.points, state.task) if shown and 0 < len(state.points) <= LINK_MAX else None
    if text is None:
        if key in st.query_params:
            del st.query_params[key]
        state.link = None
        if shown and len(state.points) > LINK_MAX:
            return (f"{len(state.points)} points are too many for a link (at most {LINK_MAX}): the link leaves them "
                    "out; download them instead.")
        return None
    if st.query_params.get(key) != text:
        st.query_params[key] = text
    state.link = text
    return None


# --- CSV -----------------------------------------------------------------------------------------------------------

def csv_text(points, task: str) -> str:
    """The drawn set as a CSV table with columns x1,x2,label (class ids as whole numbers); it loads back as
    dataset csv with label column "label"."""
    regression = drawn.resolve_task(points, task) == "regression"
    rows = [f"{x:.{drawn.DIGITS}g},{y:.{drawn.DIGITS}g},{f'{v:.{drawn.DIGITS}g}' if regression else int(v)}"
            for x, y, v in points]
    return "\n".join(["x1,x2,label", *rows]) + "\n"


def download_button(prefix: str) -> None:
    """A "Download drawn points (CSV)" button for the page's drawn set (disabled while it is empty)."""
    state = drawn_set(prefix)
    st.download_button("Download drawn points (CSV)", csv_text(state.points, state.task), file_name=CSV_NAME,
                       mime="text/csv", key=f"{prefix}.drawn_csv", disabled=not state.points,
                       help="columns x1, x2, label; it loads back as dataset csv (label column: label)")


# --- the sidebar's Data group ----------------------------------------------------------------------------------

def sidebar_inputs(prefix: str) -> dict:
    """DataConfig fields of the drawn set (the Data group calls this while the dataset is "drawn"), after
    reading a drawn set from the link; a bad link text is warned about here."""
    warning = read_link(prefix)
    if warning:
        st.warning(warning)
    state = drawn_set(prefix)
    return {"points": state.points, "task": state.task}


def _summary(state: DrawnSet, values: dict) -> str:
    """"41 points: class 0 20 (train 12, validation 4, test 4), ...", with the split counts once the set can
    be split."""
    n = len(state.points)
    if not n:
        return ("No points yet: click the plane to add a point of the picked class (Shift-click removes the "
                "nearest).")
    try:
        from nncore.data import make_dataset
        cfg = DataConfig(dataset=DRAWN, points=state.points, task=state.task, seed=values["seed"],
                         val_fraction=values["val_fraction"], test_fraction=values["test_fraction"])
        ds = make_dataset(cfg)
    except ConfigError:
        ds = None
    splits = (("train", "train"), ("val", "validation"), ("test", "test"))
    if state.task == "regression":
        if ds is None:
            return f"{n} points (regression)"
        return f"{n} points (regression): " + ", ".join(f"{name} {len(ds.split(s)[1])}" for s, name in splits)
    parts = []
    for k, count in drawn.class_counts(state.points, state.task).items():
        if ds is None:
            parts.append(f"class {k} {count}")
        else:
            per = ", ".join(f"{name} {int(np.sum(ds.split(s)[1] == k))}" for s, name in splits)
            parts.append(f"class {k} {count} ({per})")
    return f"{n} points: " + "; ".join(parts)


def sidebar_footer(prefix: str, values: dict) -> None:
    """The end of the Data group: for the drawn set its counts per class and split, the link note and the CSV
    download; for any other dataset, the drawn set leaves the link."""
    shown = values["dataset"] == DRAWN
    note = write_link(prefix, shown)
    if not shown:
        return
    st.caption(_summary(drawn_set(prefix), values))
    if note:
        st.caption(note)
    download_button(prefix)
