"""Race helpers for the Compare page: each racer's knobs, the race controls, and the fragment that trains all
racers in lockstep and draws them side by side. The race obeys the server's limits like any run: its
configs are checked against them, its training time is capped, and it needs a training slot to advance."""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from nncore import settings
from nncore.config import RunConfig, parse_hidden
from nncore.data import SPECS
from nncore.errors import ConfigError
from nncore.train.race import Race
from nncore.train.snapshot import Snapshot

from ui.panels import charts, common as panels
from ui.session import gate, live, state
from ui.panels.compare import overlay_chart
from ui.safe import plain, server_text
from ui.controls.sidebar import PLAYGROUND, check_hidden, draw

RACER_NAMES = ("A", "B", "C", "D")
FRAME_SECONDS = 0.3    # a new race frame every 0.3 s while racing
SLICE_SECONDS = 0.1    # lockstep training per frame, all racers together
RACERS_PER_ROW = 2     # boundaries side by side, two to a row (a boundary chart needs ~360 px)


@dataclass
class RaceSession(state.LiveState):
    """The race of this browser session; the live loop keeps its flags."""

    race: Race | None = None

    def close(self) -> None:
        """A closed tab: stop and drop its race (its training slot is given back with the session's)."""
        self.race, self.playing, self.trained_seconds = None, False, 0.0
        self.notice = "The connection was lost, so the race was stopped and cleared."


def race_session() -> RaceSession:
    return state.space().setdefault("race", RaceSession())


def race_work(session: RaceSession) -> live.Work:
    """The race as the live loop's work: every racer advances in lockstep, one slice per frame."""

    def advance(steps, seconds):
        return session.race.run(steps) if steps else session.race.run_for(seconds)

    def again():
        session.race = Race(session.race.configs, dataset=session.race.dataset)

    return live.Work(advance=advance, still=lambda: session.race.snapshots(), running=lambda: session.race.running,
                     ready=lambda: session.race is not None, reset=again, what="race",
                     restart="press Reset race to start it again",
                     missing="Fix the racers' settings above to start a race.",
                     pace=lambda busy: (FRAME_SECONDS, SLICE_SECONDS))


RACE_BUTTONS = live.Buttons("race", play="Start race", pause="Pause race", step="Step race", reset="Reset race",
                            play_name="start", step_help="one optimizer step for every racer, on the same mini-batch",
                            reset_help="all racers back to their initial weights", speed=False,
                            only_while_running=True)


def data_summary(cfg: RunConfig) -> str:
    """The racers' shared data and batches, in one line."""
    d = cfg.data
    what = (f"**{d.dataset}** ({d.n_points} points, noise {d.noise}, seed {d.seed})" if d.dataset in SPECS
            else f"**{plain(d.table.split('#')[0] or d.dataset)}** (seed {d.seed})")
    return (f"Data: {what}; batch size {cfg.train.batch_size}, {cfg.train.epochs} epochs, "
            f"engine {cfg.train.engine}.")


def racer_default(base: RunConfig, index: int) -> RunConfig:
    """Racer A starts as the base run; B, C and D each change one thing, so the first race already shows a
    difference: the optimizer, the activation, batch norm."""
    m, t = base.model, base.train
    if index == 1:
        return base.replace(train=replace(t, optimizer="sgd" if t.optimizer != "sgd" else "adam"))
    if index == 2:
        return base.replace(model=replace(m, activation="tanh" if m.activation != "tanh" else "relu"))
    if index == 3:
        return base.replace(model=replace(m, batch_norm=not m.batch_norm))
    return base


def _snap(options: list[float], value: float) -> float:
    """The listed option nearest ``value`` (select sliders take listed values only)."""
    return value if value in options else min(options, key=lambda o: abs(o - value))


def racer_knobs(name: str, default: RunConfig) -> RunConfig:
    """The knobs worth comparing (``settings.RACE_KNOBS``), for one racer; other settings come from
    ``default``. Each knob is the sidebar's widget for that setting, keyed ``race.<racer>.<setting>`` and kept
    out of the URL. Raises ConfigError."""
    values = {"model": {}, "train": {}}
    for knob in settings.RACE_KNOBS:
        s = settings.get(knob)
        value = getattr(getattr(default, s.section), knob)
        kw = {"key": f"race.{name}.{knob}", "persist_state": "session"}
        if knob == "hidden":
            value = parse_hidden(st.text_input(s.label, ",".join(map(str, value)), **kw))
            check_hidden(value, PLAYGROUND.max_layers, PLAYGROUND.max_width)
        else:
            value = draw(knob, _snap(list(s.options), value) if s.options else value, kw)
        values[s.section][knob] = value
    return RunConfig(default.data, replace(default.model, **values["model"]),
                     replace(default.train, **values["train"]))


def racer_summary(cfg: RunConfig) -> str:
    """A racer's knobs in one line: "adam lr 0.01 · relu · he_uniform · 16,16 · batch norm"."""
    m, t = cfg.model, cfg.train
    parts = [f"{t.optimizer} lr {t.learning_rate:g}", m.activation, m.init, m.describe()]
    parts += ["batch norm"] * m.batch_norm + [f"dropout {m.dropout:g}"] * (m.dropout > 0) + [f"L2 {t.l2:g}"] * (t.l2 > 0)
    return " · ".join(parts)


def _heading(name: str, summary: str = "") -> None:
    """The racer's name in its colour (the same as its curve in the overlaid chart)."""
    colour = charts.PALETTE[RACER_NAMES.index(name) % len(charts.PALETTE)]
    st.markdown(f"<span style='color:{colour}'>■</span> **Racer {name}**" + (f" — {summary}" if summary else ""),
                unsafe_allow_html=True)


def racer_settings(base: RunConfig, count: int) -> dict[str, RunConfig] | None:
    """One column of knobs per racer; the racers' configs, or None (with the message shown) when one is
    invalid."""
    configs, ok = {}, True
    for index, (name, column) in enumerate(zip(RACER_NAMES[:count], st.columns(count))):
        with column:
            _heading(name)
            try:
                configs[name] = racer_knobs(name, racer_default(base, index))
            except ConfigError as e:
                st.error(server_text(e))
                ok = False
    return configs if ok else None


def _build(configs: dict[str, RunConfig], dataset) -> Race:
    """A race within this server's limits (NNPLAY_* variables); raises ConfigError naming the limit."""
    for cfg in configs.values():
        gate.check(cfg)  # before the data is generated
    race = Race(configs, dataset=dataset)
    for cfg in configs.values():
        gate.check(cfg, race.dataset)
    return race


def sync_race(session: RaceSession, configs: dict[str, RunConfig] | None, dataset=None) -> None:
    """Start the race, or start it again when a racer's settings (or the shared data) changed: racers only
    compare fairly when they start together. Invalid settings (None) keep the race as it is. ``dataset``:
    the base run's data, reused (it matches the racers' DataConfig)."""
    if configs is None:
        return
    race = session.race
    if race is not None and race.configs == configs:
        return
    try:
        session.race = _build(configs, dataset)
    except ConfigError as e:
        st.error(server_text(e))
        return
    session.trained_seconds = 0.0
    if race is not None and race.step > 0:  # say why a race under way went back to step 0
        if list(race.configs) != list(configs):
            what = "The number of racers changed"
        elif next(iter(race.configs.values())).data != next(iter(configs.values())).data:
            what = "The Playground's data changed"
        else:
            what = f"Racer settings changed ({', '.join(n for n in configs if race.configs[n] != configs[n])})"
        session.notice = f"{what}: the race starts again from step 0, all racers together."
        session.playing = False


def race_controls(session: RaceSession) -> None:
    """Start / Pause / Step / Reset for the race (the live loop's buttons: they only flip flags)."""
    live.buttons(session, race_work(session), RACE_BUTTONS)


def draw_race(snapshots: dict[str, Snapshot], race: Race, playing: bool) -> None:
    """Per racer: settings, status line and boundary, two racers to a row; below, the racers' validation
    losses overlaid (one colour per racer)."""
    items = list(snapshots.items())
    for row in range(0, len(items), RACERS_PER_ROW):
        for column, (name, snap) in zip(st.columns(RACERS_PER_ROW), items[row:row + RACERS_PER_ROW]):
            with column:
                _heading(name, racer_summary(race.configs[name]))
                st.markdown(panels.status_text(snap, race.trainers[name].engine_label, playing))
                if snap.message:
                    st.caption(snap.message)
                panels.view(f"race.view.{name}", snap, race.trainers[name].engine, race.dataset,
                            panels=("boundary", "diagram"), playing=playing)
    if all(len(s.history["epoch"]) == 0 for s in snapshots.values()):
        st.caption("The racers' validation losses appear here after the first epoch.")
        return
    st.vega_lite_chart(overlay_chart(snapshots, "loss", "Validation loss (log)", log_y=True), key="race.val_loss")


def race_fragment(session: RaceSession) -> None:
    """While racing, every FRAME_SECONDS: all racers train in lockstep for a slice, then are drawn."""
    live.fragment(session, race_work(session),
                  lambda snapshots: draw_race(snapshots, session.race, session.playing))
