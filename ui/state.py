"""Per-browser-session state, in one namespaced ``st.session_state`` entry reached only through here.

Nothing per-user lives in module globals or ``st.cache_resource`` (those are shared by every user).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from nncore.training import Snapshot, Trainer

NAMESPACE = "nnplay"


@dataclass
class RunSession:
    """One page's live run and its controls."""

    trainer: Trainer | None = None
    playing: bool = False
    notice: str = ""                  # one-off message shown after a reset ("the run was reset because …")
    snapshot: Snapshot | None = None  # the latest frame drawn
    cache: dict = field(default_factory=dict)  # derived views of the current run (e.g. evaluations per epoch)


def space() -> dict:
    """This browser session's namespace (created on first use)."""
    return st.session_state.setdefault(NAMESPACE, {})


def run_session(page: str) -> RunSession:
    """The live run of ``page`` ("playground", "images", ...) for this browser session."""
    return space().setdefault(f"run.{page}", RunSession())
