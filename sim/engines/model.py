"""The Mesa engine: one readable run, one agent object per actor.

A step is simultaneous: :func:`sim.core.month.begin_month` fires the month's events, every agent
decides on last month's state (``agent.decide()`` calls the same compiled decision functions the
ensemble kernel calls), then :func:`sim.core.month.end_month` resolves all decisions at once. A
``DataCollector`` records the month and the story of the run is kept in plain words.

Subclass :class:`ActorAgent` and override ``decide`` to try a new behaviour in plain Python; set
``DiplomacyModel.agent_classes`` to use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.core import layout as L
from sim.core.month import begin_month, decide_actor, end_month
from sim.core.outcomes import (
    monthly_names,
    n_outcomes,
    outcome_layout,
    record_month,
    sanction_pairs,
    summarize,
)
from sim.core.rng import seed_key
from sim.core.rules import Decisions, DrawKey, Params, State
from sim.engines.state import RunState
from sim.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class StoryEvent:
    """One line of the story: what happened in a month, in plain words."""

    month: int
    kind: str
    text: str

    def __str__(self) -> str:
        return f"Month {self.month}: {self.text}"


class ActorAgent(mesa.Agent):
    """A state or bloc. Attributes read the live state of the run (units in their names)."""

    def __init__(self, model: DiplomacyModel, index: int, actor_id: str):
        super().__init__(model)
        self.index = index
        self.actor_id = actor_id
        spec = model.diplo_scenario.spec.actors[actor_id]
        self.name = spec.name
        self.kind = spec.kind
        self.members = list(spec.members)
        cs = model.compiled
        self.route_indices = [r for r in range(len(cs.route_ids))
                              if int(cs.RP[r, L.R_SUPPLIER]) == index]
        self.track_indices = [t for t in range(len(cs.track_ids))
                              if int(cs.TP[t, L.T_PARTY]) == index]

    # ---- readable state ------------------------------------------------------------------
    @property
    def _st(self) -> RunState:
        return self.model.state

    @property
    def gdp_index(self) -> float:
        """GDP relative to the start (1.0 = starting GDP)."""
        return float(self._st.SA[self.index, L.S_GDP])

    @property
    def gdp(self) -> float:
        """GDP now, USD bn (starting GDP times the index)."""
        return float(self._st.AP[self.index, L.A_GDP] * self.gdp_index)

    @property
    def pressure(self) -> float:
        """Effective sanction pressure on this actor, after leakage, in [0, 1]."""
        return float(self._st.SA[self.index, L.S_PRESSURE])

    @property
    def leakage(self) -> float:
        """Share of the raw pressure lost to trade around the sanctions."""
        return float(self._st.SA[self.index, L.S_LEAK])

    @property
    def credibility(self) -> float:
        """Credibility of this actor's threats, in [0, 1]."""
        return float(self._st.SA[self.index, L.S_CRED])

    @property
    def warned(self) -> bool:
        """Whether it has publicly warned of a response."""
        return bool(self._st.SA[self.index, L.S_WARNED] >= 0.5)

    @property
    def relief_priority(self) -> float:
        """Weight this actor puts on sanctions relief, in [0, 1]."""
        return float(self._st.SA[self.index, L.S_PRIO])

    @property
    def sanctions_on(self) -> dict[str, float]:
        """Sanction intensity this actor imposes on each other actor (non-zero only)."""
        ids = self.model.compiled.actor_ids
        row = self._st.SANC[self.index]
        return {ids[j]: float(v) for j, v in enumerate(row) if v > 0 and j != self.index}

    @property
    def sanctions_from(self) -> dict[str, float]:
        """Sanction intensity each other actor imposes on this one (non-zero only)."""
        ids = self.model.compiled.actor_ids
        col = self._st.SANC[:, self.index]
        return {ids[i]: float(v) for i, v in enumerate(col) if v > 0 and i != self.index}

    @property
    def affinity(self) -> dict[str, float]:
        """Affinity with each other actor, in [-1, 1]."""
        ids = self.model.compiled.actor_ids
        return {ids[j]: float(v) for j, v in enumerate(self._st.AFF[self.index])
                if j != self.index}

    # ---- behaviour -------------------------------------------------------------------------
    def decide(self) -> None:
        """Choose this month's shipments, sanctions and deals from last month's state."""
        decide_actor(self.index, *self.model.month_arrays())

    def __repr__(self) -> str:
        return f"<{self.kind} {self.actor_id} gdp_index={self.gdp_index:.3f}>"


class DiplomacyModel(mesa.Model):
    """One run of a scenario as a Mesa model.

    Args:
        scenario: a :class:`~sim.scenario.Scenario`, a bundled name or a path to a ``.toml``.
        seed: the run's seed (any integer in [0, 2**64); 0 is a seed like any other).
        run: the run index within an ensemble; (scenario, seed, run) fixes every draw.
        policy: optional policy overlay applied on top of the scenario.
        overrides: optional dotted-key overrides, validated like the file.
        rng: accepted for Mesa's ``batch_run``, which passes the seed this way.
    """

    agent_classes: dict[str, type[ActorAgent]] = {"state": ActorAgent, "bloc": ActorAgent}

    def __init__(self, scenario: Scenario | str | Path = "baseline", seed: int | None = None,
                 run: int = 0, policy: str | None = None,
                 overrides: dict[str, Any] | None = None, rng: int | None = None, **kwargs: Any):
        if seed is None:
            seed = 0 if rng is None else rng
        seed = seed_key(seed)
        super().__init__(rng=seed)
        scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if policy:
            scn = scn.with_policy(policy)
        if overrides or kwargs:
            scn = scn.with_overrides({**(overrides or {}), **kwargs})
        if not 0 <= int(run) < 2**32:
            raise ValueError(f"run must be in [0, 2**32), got {run}")
        self.diplo_scenario = scn
        self.seed = seed
        # The compiled rules take the seed as one type: a Python int above 2**63 would not
        # convert to the int64 specialisation compiled for a smaller seed earlier in the process.
        self.rng_key = np.uint64(seed)
        self.run_index = int(run)
        self.compiled = scn.compile()
        self.state = RunState.new(self.compiled)
        self.month = 0
        self._arrays: tuple[DrawKey, Params, State, Decisions] | None = None
        self._arrays_of = (-1, 0)
        self.story: list[StoryEvent] = []
        self._spairs = sanction_pairs(self.compiled)
        self._kp = np.array(self.compiled.key_pairs, dtype=np.int64).reshape(-1, 2)
        self.monthly_columns = monthly_names(self.compiled, self._spairs)
        self._row = np.zeros(len(self.monthly_columns))
        self.actors_by_id: dict[str, ActorAgent] = {}
        for k, aid in enumerate(self.compiled.actor_ids):
            cls = self.agent_classes[scn.spec.actors[aid].kind]
            self.actors_by_id[aid] = cls(self, k, aid)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "month": "month",
                **{name: (lambda m, k=k: float(m._row[k]))
                   for k, name in enumerate(self.monthly_columns)},
            },
            agent_reporters={
                "actor": "actor_id", "gdp_index": "gdp_index", "pressure": "pressure",
                "credibility": "credibility", "relief_priority": "relief_priority",
            },
        )
        self._record()

    # ---- running -------------------------------------------------------------------------
    @property
    def horizon(self) -> int:
        """Months in a run of this scenario."""
        return self.compiled.horizon

    def step(self) -> None:
        """One month: events fire, every agent decides, the model resolves.

        The month is then recorded by the DataCollector and told in the story.
        """
        self.month += 1
        begin_month(*self.month_arrays())
        self._tell_events()
        # After the events: the story tells what the month's decisions changed; the events
        # (a scheduled warning, say) have been told in their own words.
        before = _Snapshot.of(self.state)
        self.agents.do("decide")
        end_month(*self.month_arrays())
        self.story.extend(narrate(self, before))
        self._record()
        if self.month >= self.horizon:
            self.running = False

    def month_arrays(self) -> tuple[DrawKey, Params, State, Decisions]:
        """The draw key of this month and the run's arrays, grouped as the rules take them.

        Built once a month (the agents' decisions all use them).
        """
        s = self.state
        if self._arrays is None or self._arrays_of != (self.month, id(s)):
            key = DrawKey(self.rng_key, self.run_index, self.month)
            self._arrays = (key, s.params, s.state, s.decisions)
            self._arrays_of = (self.month, id(s))
        return self._arrays

    def run(self, months: int | None = None) -> DiplomacyModel:
        """Step to ``months`` (default: the scenario's horizon). Returns the model."""
        months = self.horizon if months is None else int(months)
        if months < 0:
            raise ValueError(f"months must be >= 0, got {months}")
        while self.month < months:
            self.step()
        return self

    def _record(self) -> None:
        record_month(self._row, self.state.state, self._spairs, self._kp)
        self.datacollector.collect(self)

    def _tell_events(self) -> None:
        cs = self.compiled
        for k in range(cs.EV.shape[0]):
            if int(cs.EV[k, 0]) == self.month:
                note = cs.event_notes[k] or f"{self.diplo_scenario.spec.events[k].key} is set to " \
                    f"{cs.EV[k, 4]:g}"
                self.story.append(StoryEvent(self.month, "event", note))

    # ---- results -------------------------------------------------------------------------
    def outcomes(self) -> dict[str, float]:
        """The run's summary: the outcome columns of DESIGN.md at the current month."""
        raw = np.zeros(n_outcomes(self.compiled))
        summarize(raw, self.state.params, self.state.state, self._kp)
        names, idx = outcome_layout(self.compiled)
        return {name: float(raw[k]) for name, k in zip(names, idx, strict=True)}

    def monthly(self) -> pd.DataFrame:
        """The monthly record (one row per month from 0), as collected by the DataCollector."""
        df = self.datacollector.get_model_vars_dataframe()
        return df.reset_index(drop=True)

    def story_text(self) -> str:
        """The story of the run so far, one line per event."""
        return "\n".join(str(e) for e in self.story)

    def story_frame(self) -> pd.DataFrame:
        """The story as a table: month, kind, text."""
        return pd.DataFrame([(e.month, e.kind, e.text) for e in self.story],
                            columns=["month", "kind", "text"])


@dataclass
class _Snapshot:
    SANC: np.ndarray
    SA: np.ndarray
    TS: np.ndarray
    BUILT: np.ndarray
    G: np.ndarray
    AFF: np.ndarray

    @classmethod
    def of(cls, s: RunState) -> _Snapshot:
        return cls(s.SANC.copy(), s.SA.copy(), s.TS.copy(), s.BUILT.copy(), s.G.copy(),
                   s.AFF.copy())


def _who(model: DiplomacyModel, i: int) -> str:
    return model.diplo_scenario.spec.actors[model.compiled.actor_ids[i]].name


def narrate(model: DiplomacyModel, before: _Snapshot) -> list[StoryEvent]:
    """What changed this month, in plain words (compares the state with ``before``)."""
    cs = model.compiled
    s = model.state
    m = model.month
    out: list[StoryEvent] = []
    n = len(cs.actor_ids)
    for r in range(len(cs.route_ids)):
        units = s.RS[r, L.RS_SHIPPED]
        sup, rec, c = (int(s.RP[r, L.R_SUPPLIER]), int(s.RP[r, L.R_RECIPIENT]),
                       int(s.RP[r, L.R_CATEGORY]))
        if s.CP[c, L.C_ESC_W] <= 0:
            continue  # open aid is reported as news only through its effect on the war
        if units > 0:
            text = (f"{_who(model, sup)} ships {units:.0f} {_units(cs.category_units[c], units)} "
                    f"to {_who(model, rec)}")
            if s.RS[r, L.RS_DETECTED] >= 0.5:
                text += "; the transfer is detected and made public"
                if s.RS[r, L.RS_DENIED] >= 0.5:
                    text += f", and {_who(model, sup)} publicly denies it"
            out.append(StoryEvent(m, "transfer", text))
    for t, tid in enumerate(cs.track_ids):
        kind = cs.track_kinds[t]
        p = int(s.TP[t, L.T_PARTY])
        others = _and([_who(model, i) for i in range(n) if s.TM[t, i] > 0])
        # This month's decision, not the state: a deal struck and broken in the same month is
        # told twice, and every deal and every break is told, not only the first.
        struck = s.DT[t, L.DT_DEAL] >= 0.5
        if struck:
            if kind == "relief":
                out.append(StoryEvent(m, "deal", f"{_who(model, p)} strikes a relief deal with "
                           f"{others}: {100 * s.DT[t, L.DT_TERMS]:.0f}% of sanctions to be lifted "
                           "for a verifiable halt of arms transfers"))
            else:
                med = int(s.TP[t, L.T_MEDIATOR])
                by = f", mediated by {_who(model, med)}" if med >= 0 else ""
                out.append(StoryEvent(m, "ceasefire", f"{_who(model, p)} and {others} agree a "
                           f"ceasefire{by}"))
        was_active = before.TS[t, L.TS_ACTIVE] >= 0.5 or struck
        if kind == "relief" and was_active and s.TS[t, L.TS_ACTIVE] < 0.5:
            out.append(StoryEvent(m, "deal", f"An exposed transfer breaks the {tid} deal; "
                       f"sanctions on {_who(model, p)} snap back"))
        if (kind == "ceasefire" and s.TS[t, L.TS_STALEMATE] >= s.TP[t, L.T_STALE_MONTHS]
                and before.TS[t, L.TS_STALEMATE] < s.TP[t, L.T_STALE_MONTHS]
                and s.G[L.G_CEASEFIRE] < 0.5):
            out.append(StoryEvent(m, "war", "The war has reached a mutually hurting stalemate; "
                       "a ceasefire becomes possible"))
    for i in range(n):
        if s.SA[i, L.S_WARNED] >= 0.5 and before.SA[i, L.S_WARNED] < 0.5:
            # It warns the hostile actor whose exposed transfers pulled its trigger.
            trig = before.SA[:, L.S_TRIG] * (before.AFF[i] < 0)
            j = int(np.argmax(trig))
            whom = f" {_who(model, j)}" if trig[j] > 0 else ""
            out.append(StoryEvent(m, "warning", f"{_who(model, i)} publicly warns{whom} "
                       "of a response to further transfers"))
        if s.SA[i, L.S_FAILED] > before.SA[i, L.S_FAILED]:
            out.append(StoryEvent(m, "credibility", f"{_who(model, i)} fails to agree on new "
                       f"sanctions; its credibility falls to {s.SA[i, L.S_CRED]:.2f}"))
        for j in range(n):
            new, old = s.SANC[i, j], before.SANC[i, j]
            if new > old + 1e-9:
                out.append(StoryEvent(m, "sanctions", f"{_who(model, i)} raises sanctions on "
                           f"{_who(model, j)} to {new:.2f}"))
            elif new < old - 0.04 or (new < old - 1e-9 and _eased_by_deal(s, i, j)):
                out.append(StoryEvent(m, "sanctions", f"{_who(model, i)} eases sanctions on "
                           f"{_who(model, j)} to {new:.2f}"))
    for q in range(n):
        for c in range(len(cs.category_ids)):
            dem = s.DEM[q, c]
            if dem <= 0:
                continue
            for level in (0.25, 0.5, 0.75, 1.0):
                if before.BUILT[q, c] < level * dem <= s.BUILT[q, c]:
                    out.append(StoryEvent(m, "production", f"{_who(model, q)} now builds "
                               f"{100 * level:.0f}% of the {cs.category_units[c]} it needs "
                               "at home"))
    if s.G[L.G_CEASEFIRE] < 0.5 and abs(s.G[L.G_BALANCE] - before.G[L.G_BALANCE]) > 0.1:
        side = "attacker" if s.G[L.G_BALANCE] > before.G[L.G_BALANCE] else "defender"
        out.append(StoryEvent(m, "war", f"The front moves in the {side}'s favour "
                   f"(balance {s.G[L.G_BALANCE]:+.2f})"))
    return out


def _and(names: list[str]) -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _units(unit: str, units: float) -> str:
    """``"Shahed drones"`` for many, ``"Shahed drone"`` for one."""
    return unit[:-1] if units == 1 and unit.endswith("s") else unit


def _eased_by_deal(s: RunState, i: int, j: int) -> bool:
    for t in range(s.TP.shape[0]):
        if (int(s.TP[t, L.T_PARTY]) == j and s.TM[t, i] > 0 and s.TS[t, L.TS_ACTIVE] >= 0.5
                and int(s.TP[t, L.T_KIND]) == L.TRACK_RELIEF):
            return True
    return False
