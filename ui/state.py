"""Per-browser-session state, in one namespaced ``st.session_state`` entry reached only through here.

Nothing per-user lives in module globals or ``st.cache_resource`` (those are shared by every user).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from nncore.training import Snapshot, Trainer

NAMESPACE = "nnplay"


@dataclass
class PlaygroundSession:
    """The live run of the Playground page and its controls."""

    trainer: Trainer | None = None
    playing: bool = False
    notice: str = ""                 # one-off message shown after a reset ("the run was reset because …")
    snapshot: Snapshot | None = None  # the latest frame drawn


def playground() -> PlaygroundSession:
    """This browser session's Playground state (created on first use)."""
    space = st.session_state.setdefault(NAMESPACE, {})
    return space.setdefault("playground", PlaygroundSession())
