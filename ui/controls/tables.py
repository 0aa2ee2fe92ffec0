"""Uploaded tables (the "csv" dataset): the upload and column choices in the sidebar, and the Dataset.

A table lives in this browser session only. A bad file gets one message naming the problem and the fix,
and the previous table (and its run) stays.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from nncore.data.columns import plan_features
from nncore.data.tabular import describe_table, read_csv_table, table_to_dataset
from nncore.errors import ConfigError
from nncore.limits import load_limits
from nncore.registry import LABEL_TASKS

from ui.safe import plain
from ui.session.state import space


def _tables() -> dict:
    return space().setdefault("tables", {})


def table_inputs(prefix: str, kw) -> dict:
    """Upload + label/features/task/missing widgets; returns DataConfig fields ({} until a table is in)."""
    tables = _tables()
    upload = st.file_uploader("CSV table", type=["csv", "txt"], key=f"{prefix}.csv_file",
                              help="a header line, then one row per sample; numeric, true/false or text (categorical) "
                                   "feature columns")
    if upload is not None:
        data = upload.getvalue()
        table_id = f"{upload.name}#{hashlib.md5(data).hexdigest()[:10]}"
        if table_id not in tables and tables.get("_failed") != table_id:
            try:
                tables[table_id] = read_csv_table(data, load_limits())
                tables["_current"] = table_id
            except ConfigError as e:
                tables["_failed"] = table_id
                tables["_error"] = f"{upload.name}: {e}"
        elif table_id in tables:
            tables["_current"] = table_id
    if tables.get("_failed") and upload is not None and tables.get("_current") != tables["_failed"]:
        st.error(plain(tables["_error"]) + (" — the previous table is still in use." if tables.get("_current")
                                             else ""))
    current = tables.get("_current")
    if current is None:
        st.info("Upload a CSV table to train on it.")
        return {}
    info = describe_table(tables[current])
    st.caption(f"{plain(current.split('#')[0])}: {info['n_rows']} rows, {len(info['columns'])} columns")
    columns = info["columns"]
    label = st.selectbox("Label column (to predict)", columns, index=columns.index(info["suggested_label"]),
                         key=f"{prefix}.csv_label_{current}")
    plan = plan_features(tables[current], label)
    usable = list(plan.columns)
    features = st.multiselect("Feature columns", usable, usable, key=f"{prefix}.csv_features_{current}",
                              help="text columns are one-hot encoded (one 0/1 input per category); 2 inputs draw "
                                   "the boundary directly, more are drawn in a 2-D PCA plane")
    show_features(tables[current], label, features, plan.left_out)
    task = st.selectbox("Task", list(LABEL_TASKS), key=f"{prefix}.csv_task",
                        help="auto: text labels or up to 10 integer values are classes, other numbers a target")
    missing = "refuse"
    if any(info["missing"][c] for c in [label, *features]):
        missing = st.selectbox("Missing values", ["drop", "impute"], key=f"{prefix}.csv_missing",
                               help="drop rows with gaps, or fill feature gaps with the column mean")
    return {"table": current, "label": label, "features": tuple(features), "task": task, "missing": missing}


def show_features(df, label: str, features, unusable: dict) -> None:
    """The network's inputs (after encoding) and every column left out with its reason, as plain text:
    column names come from the file."""
    if not features:
        return
    used = plan_features(df, label, list(features))
    st.text("Inputs: " + ", ".join(used.features))
    left_out = {**{c: why for c, why in used.left_out.items() if c not in unusable}, **unusable}
    if left_out:
        st.text("Left out: " + "; ".join(f"{c} ({why})" for c, why in left_out.items()))


def dataset_for(cfg):
    """The Dataset of an uploaded-table config (None for generated datasets: the Trainer makes them)."""
    if cfg.data.dataset != "csv":
        return None
    df = _tables().get(cfg.data.table)
    if df is None:
        raise ConfigError("the uploaded table is gone (the page was reloaded): upload it again", "table")
    d = cfg.data
    return table_to_dataset(df, d.label, list(d.features) or None, d, task=d.task,
                            missing=None if d.missing == "refuse" else d.missing, limits=load_limits(),
                            name=d.table.split("#")[0])
