"""Role-play rooms, in plain Python: students play states, the model plays everyone else.

A teacher (or a student alone) opens a :class:`Room` on a scenario and a seed; it has a short
code that others type to join it. Each student takes a seat: one actor of the scenario (Iran's
government, the United States, the EU, ...). Every month the room asks each seated player the
questions their actor decides this month (:meth:`sim.DiplomacyModel.choices`: ship or hold on
each route, threaten, impose a package or back down, agree a deal), each with the reasons the
model would weigh and its chance; the model decides for every actor without a player. The month
is resolved when every seated player has answered, or when the teacher advances it (a player
who has not answered then keeps the model's decisions).

At the end the room's run is set against the model's own ensemble on the same scenario and seed
(:func:`compare_with_model`): "your choices reached a relief deal; 30% of model runs did".

Rooms live in the server's memory only (:class:`Rooms`): nothing is written anywhere, a room is
gone when the teacher closes it or after :data:`ROOM_IDLE_S` without a click, and only the
teacher's download (:meth:`Room.record`) keeps what happened.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from classroom.session import calendar_month
from sim.engines.choices import Choice
from sim.engines.model import DiplomacyModel, StoryEvent
from sim.errors import UsageError
from sim.results.table import outcome_table
from sim.scenario import Scenario

CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Letters of a room code: no 0/O, 1/I/L, which read alike on a board."""
CODE_LENGTH = 5
ROOM_IDLE_S = 4 * 3600.0
"""A room nobody has touched for this long (seconds) is closed when the next room opens."""
MAX_ROOMS = 200
"""Rooms one server keeps open at once."""


class Room:
    """One role-play run shared by its players.

    Every method is safe to call from several pages at once (one lock). ``version`` grows with
    every change a page should show (a seat taken, an answer, a month resolved).

    Args:
        code: the room's code.
        scenario: the scenario played.
        seed: the run's seed (and the comparison ensemble's).
    """

    def __init__(self, code: str, scenario: Scenario, seed: int):
        self.code = code
        self.scenario = scenario
        self.seed = int(seed)
        self.model = DiplomacyModel(scenario, seed=self.seed)
        self.seats: dict[str, str] = {}
        self.answers: dict[str, dict[str, str]] = {}
        self.played: list[dict[str, Any]] = []
        self.version = 0
        self.touched = time.monotonic()
        self._lock = threading.RLock()
        self.model.open_month()

    # ---- seats -----------------------------------------------------------------------------
    @property
    def actors(self) -> dict[str, str]:
        """Actors a player can take: id -> name."""
        spec = self.scenario.spec.actors
        return {aid: spec[aid].name for aid in self.model.compiled.actor_ids}

    def seat(self, actor: str, player: str = "") -> None:
        """Seat ``player`` (a display name, may be empty) as ``actor``.

        Raises:
            UsageError: if the actor is unknown or already taken.
        """
        with self._lock:
            if actor not in self.actors:
                raise UsageError(f"room {self.code}: {actor!r} is not an actor of the scenario "
                                 f"(actors: {', '.join(self.actors)})")
            if actor in self.seats:
                raise UsageError(f"room {self.code}: {self.actors[actor]} is already played")
            self.seats[actor] = player.strip()[:40]
            self._changed()

    def leave(self, actor: str) -> None:
        """Free ``actor``'s seat (the model plays it again); a month waiting only on it goes on."""
        with self._lock:
            self.seats.pop(actor, None)
            self.answers.pop(actor, None)
            self._changed()
            self._advance_if_ready()

    # ---- months ----------------------------------------------------------------------------
    @property
    def month(self) -> int:
        """The month being decided (1 to the horizon), or the horizon once the run is over."""
        return self.model.month

    @property
    def horizon(self) -> int:
        """Months in the run."""
        return self.model.horizon

    @property
    def finished(self) -> bool:
        """Whether every month has been resolved."""
        return not self.model.month_open

    def month_label(self, month: int | None = None) -> str:
        """Calendar month (YYYY-MM) of run month ``month`` (default: the month being decided)."""
        return calendar_month(self.scenario, self.month if month is None else month)

    def choices(self, actor: str) -> list[Choice]:
        """The questions ``actor`` answers this month (none once the run is over)."""
        with self._lock:
            return [] if self.finished else self.model.choices(actor)

    def waiting_for(self) -> list[str]:
        """Seated actors that have not answered this month.

        A seated actor with nothing to decide this month is not waited for.
        """
        with self._lock:
            if self.finished:
                return []
            return [a for a in self.seats
                    if a not in self.answers and self.model.choices(a)]

    def submit(self, actor: str, answers: dict[str, str]) -> bool:
        """``actor``'s answers for this month; True if that resolved the month.

        A question left out keeps the model's answer. The answers are checked at once.

        Raises:
            UsageError: if ``actor`` has no seat, the run is over, or an answer is not open.
        """
        with self._lock:
            if actor not in self.seats:
                raise UsageError(f"room {self.code}: {actor!r} has no seat in this room")
            if self.finished:
                raise UsageError(f"room {self.code}: the run is over")
            open_now = {c.key: c.options for c in self.model.choices(actor)}
            for key, answer in answers.items():
                if answer not in open_now.get(key, ()):
                    raise UsageError(f"room {self.code}: {actor}: {key}={answer!r} is not a "
                                     f"question and answer open in month {self.month}")
            self.answers[actor] = dict(answers)
            self._changed()
            return self._advance_if_ready()

    def advance(self) -> None:
        """Resolve the month now (the teacher's button).

        Players who have not answered keep the model's decisions.
        """
        with self._lock:
            if self.finished:
                return
            played = {a: self.answers[a] for a in self.seats if a in self.answers}
            self.played.append({"month": self.month, "seats": dict(self.seats),
                                "answers": played})
            self.model.close_month(played)
            self.answers = {}
            if self.model.month < self.horizon:
                self.model.open_month()
            self._changed()

    def _advance_if_ready(self) -> bool:
        if self.seats and not self.waiting_for() and not self.finished:
            self.advance()
            return True
        return False

    def _changed(self) -> None:
        self.version += 1
        self.touched = time.monotonic()

    # ---- what the pages show -----------------------------------------------------------------
    def story(self, newest_first: bool = True) -> list[tuple[int, list[StoryEvent]]]:
        """The room's story so far, grouped by month."""
        with self._lock:
            groups: dict[int, list[StoryEvent]] = {}
            for ev in self.model.story:
                groups.setdefault(ev.month, []).append(ev)
        return sorted(groups.items(), key=lambda g: g[0], reverse=newest_first)

    def outcomes(self) -> dict[str, float]:
        """The room's run's outcome columns (final once the run is over)."""
        with self._lock:
            return self.model.outcomes()

    def record(self) -> dict[str, Any]:
        """Everything the room did, for the teacher's download (plain JSON types).

        The scenario, seed, seats, each month's answers, the story and the outcomes.
        """
        with self._lock:
            return {"room": self.code, "scenario": self.scenario.to_toml(),
                    "scenario_title": self.scenario.spec.meta.title, "seed": self.seed,
                    "months": self.month if self.finished else self.month - 1,
                    "seats": dict(self.seats), "played": list(self.played),
                    "story": [{"month": e.month, "kind": e.kind, "text": e.text, "why": e.why}
                              for e in self.model.story],
                    "outcomes": {k: (None if math.isnan(v) else v)
                                 for k, v in self.model.outcomes().items()}}


class Rooms:
    """The rooms of one server process, by code, in memory only."""

    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}
        self._lock = threading.Lock()

    def open(self, scenario: Scenario, seed: int) -> Room:
        """A new room on ``scenario`` and ``seed`` with a fresh code.

        Rooms idle for :data:`ROOM_IDLE_S` are closed first.

        Raises:
            UsageError: if the server already holds :data:`MAX_ROOMS` rooms.
        """
        with self._lock:
            now = time.monotonic()
            for code in [c for c, r in self._rooms.items() if now - r.touched > ROOM_IDLE_S]:
                del self._rooms[code]
            if len(self._rooms) >= MAX_ROOMS:
                raise UsageError(f"this server already has {MAX_ROOMS} rooms open; close one")
            code = _new_code(self._rooms)
            room = Room(code, scenario, seed)
            self._rooms[code] = room
            return room

    def get(self, code: str) -> Room:
        """The room with ``code`` (any case, spaces ignored).

        Raises:
            UsageError: if no open room has that code.
        """
        key = "".join(code.split()).upper()
        with self._lock:
            room = self._rooms.get(key)
        if room is None:
            raise UsageError(f"no open room has the code {key or '(empty)'!r}")
        room.touched = time.monotonic()
        return room

    def close(self, code: str) -> None:
        """Forget the room: its run, seats and answers are gone."""
        with self._lock:
            self._rooms.pop(code, None)

    def __len__(self) -> int:
        return len(self._rooms)


def _new_code(taken: dict[str, Room]) -> str:
    while True:
        code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


@dataclass(frozen=True)
class Verdict:
    """One key outcome of a played run set against the model's ensemble.

    Attributes:
        outcome: the outcome's name (a summary column or a derived event).
        label: the outcome in plain words.
        yours: the played run's value as text (``"yes"``/``"no"`` for an event).
        model: the ensemble's as text (``"30% of model runs"``, ``"median 0.93"``).
        share: for an event, the share of model runs where it happened; for a figure, the
            share of model runs that ended below the played run (NaN where undefined).
        sentence: the comparison in one sentence.
    """

    outcome: str
    label: str
    yours: str
    model: str
    share: float
    sentence: str


def compare_with_model(outcomes: dict[str, float], summary: pd.DataFrame,
                       scenario: Scenario) -> list[Verdict]:
    """The played run's headline outcomes against the model's runs of the same scenario.

    Args:
        outcomes: the played run's outcome columns (:meth:`Room.outcomes`).
        summary: the ensemble's summary, one row per run (``sim.run_ensemble(...).summary``).
        scenario: the scenario of both.

    Returns:
        One :class:`Verdict` per headline row of the outcome table (the rows the app shows
        first: deals reached and broken, escalations, the focus actors' GDP...).
    """
    cols = [c for c in summary.columns if c != "run"]
    mine = pd.DataFrame([{"run": 0, **{c: outcomes[c] for c in cols}}])
    ours = outcome_table(mine, scenario, drop_constant=False)
    theirs = outcome_table(summary, scenario, drop_constant=False).set_index("outcome")
    out: list[Verdict] = []
    for row in ours.itertuples(index=False):
        if not row.headline or row.outcome not in theirs.index:
            continue
        t = theirs.loc[row.outcome]
        x = summary[row.column].to_numpy(dtype=float)
        if row.kind == "probability":
            happened = bool(row.estimate >= 0.5)
            share = float(t.estimate)
            yours = "yes" if happened else "no"
            model = f"{100 * share:.0f}% of model runs"
            verb = "happened" if happened else "did not happen"
            sentence = (f"{row.label}: in your run it {verb}; it happened in {model}.")
        else:
            value = float(row.estimate)
            ran = x[~np.isnan(x)]
            if math.isnan(value) or not len(ran):
                yours = "never" if math.isnan(value) else f"{value:.3g}"
                model = "never" if not len(ran) else f"median {np.median(ran):.3g}"
                share = math.nan
                sentence = f"{row.label}: yours {yours}; model runs {model}."
            else:
                share = float(np.mean(ran < value))
                yours, model = f"{value:.3g}", f"median {np.median(ran):.3g}"
                sentence = (f"{row.label}: yours {yours}; model runs {model} "
                            f"({100 * share:.0f}% of them lower).")
        out.append(Verdict(row.outcome, row.label, yours, model, share, sentence))
    return out
