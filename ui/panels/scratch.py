"""Panels of the From scratch page: one layer's forward and backward numbers, and the check results."""

from __future__ import annotations

import altair as alt
import numpy as np
import streamlit as st

from nncore.engines.numpy_walkthrough import EQUATIONS

MAX_SHOWN = 16  # units shown per vector; wider layers are cut with a note


def _vector_table(rows: dict[str, np.ndarray]) -> None:
    width = len(next(iter(rows.values())))
    shown = min(width, MAX_SHOWN)
    table = {"": list(rows)}
    for j in range(shown):
        table[f"unit {j + 1}"] = [float(v[j]) for v in rows.values()]
    st.dataframe(table, hide_index=True, column_config={k: st.column_config.NumberColumn(format="%.4f")
                                                        for k in table if k})
    if width > shown:
        st.caption(f"first {shown} of {width} units shown")


def _heatmap(matrix: np.ndarray, title: str) -> dict:
    rows, cols = matrix.shape
    cells = [{"out": i + 1, "in": j + 1, "value": float(matrix[i, j])} for i in range(rows) for j in range(cols)]
    limit = float(np.abs(matrix).max()) or 1.0
    chart = alt.Chart(alt.Data(values=cells)).mark_rect().encode(
        x=alt.X("in:O", title="input unit"), y=alt.Y("out:O", title="unit"),
        color=alt.Color("value:Q", scale=alt.Scale(scheme="redblue", domain=[limit, -limit]), title=None),
        tooltip=["out:O", "in:O", alt.Tooltip("value:Q", format=".3g")])
    return chart.properties(title=title, width=min(24 * cols, 360), height=min(18 * rows, 300)).to_dict()


def layer_walkthrough(name: str, layer: dict, is_output: bool, task: str, activation: str, key: str) -> None:
    st.markdown(f"#### {name}")
    left, right = st.columns([3, 2])
    with left:
        _vector_table({"z (pre-activation)": layer["pre"][0], "h = f(z)": layer["post"][0],
                       "δ = ∂L/∂z": layer["delta"][0]})
        st.vega_lite_chart(_heatmap(layer["dW"], "∂L/∂W (red +, blue −)"), key=f"{key}.dW")
    with right:
        st.latex(EQUATIONS["forward"] if not is_output else r"z_L = W_L\,h_{L-1} + b_L")
        if not is_output:
            st.caption(f"f = {activation}")
        st.latex(EQUATIONS["output_delta"][task] if is_output else EQUATIONS["hidden_delta"])
        st.latex(EQUATIONS["gradients"])
        st.caption(f"‖∂L/∂W‖ = {np.linalg.norm(layer['dW']):.4g}, ‖∂L/∂b‖ = {np.linalg.norm(layer['db']):.4g}")


def gradcheck_result(result: dict) -> None:
    verdict = "passed" if result["passed"] else "FAILED"
    (st.success if result["passed"] else st.error)(
        f"Gradient check {verdict}: largest relative error {result['max_rel_error']:.2e} (threshold 1e-6), "
        f"{result['n_samples']} samples, ε = {result['eps']:g}, float64")
    st.dataframe([{"layer": r["layer"], "parameter": r["param"], "max relative error": r["max_rel_error"],
                   "verdict": "pass" if r["max_rel_error"] < 1e-6 else "fail", "reference": r["reference"]}
                  for r in result["layers"]], hide_index=True,
                 column_config={"max relative error": st.column_config.NumberColumn(format="%.2e")})
    for note in result["notes"]:
        st.caption(note)


def engines_step_result(report: dict) -> None:
    loss = report["loss"]
    st.markdown(f"Loss before the step: torch **{loss['torch']:.10f}**, NumPy **{loss['numpy']:.10f}**. "
                f"Largest parameter difference after the step: **{report['max_abs_diff']:.2e}**.")
    st.dataframe([{"layer": r["layer"], "parameter": r["param"], "|torch − NumPy| max": r["max_abs_diff"],
                   "how far the step moved it": r["max_abs_change"]} for r in report["layers"]], hide_index=True,
                 column_config={k: st.column_config.NumberColumn(format="%.2e")
                                for k in ("|torch − NumPy| max", "how far the step moved it")})
