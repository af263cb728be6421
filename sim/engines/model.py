"""The Mesa engine: one readable run, one agent object per actor.

A step is simultaneous: :func:`sim.core.month.begin_month` fires the month's events, every agent
decides on last month's state (``agent.decide()`` calls the same compiled decision functions the
ensemble kernel calls), then :func:`sim.core.month.end_month` resolves all decisions at once. A
``DataCollector`` records the month and the story of the run is kept in plain words: each month's
decisions (threats, packages, back-downs, shipments, halts, deals) and what they changed, each
decision with its reasons, the terms that weighed most in it (:class:`StoryEvent`,
:func:`narrate`).

Subclass :class:`ActorAgent` and override ``decide`` to try a new behaviour in plain Python; set
``DiplomacyModel.agent_classes`` to use it.

Role-play: a month can be taken in two halves, :meth:`DiplomacyModel.open_month` (events, every
agent decides) and :meth:`DiplomacyModel.close_month` (resolution), with players' answers to an
actor's questions (:meth:`DiplomacyModel.choices`, :mod:`sim.engines.choices`) in place of the
model's decisions; ``step()`` is the two halves with no answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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
from sim.core.rules import (
    Decisions,
    DrawKey,
    Params,
    State,
    after_package,
    package_of,
    sender_cost,
)
from sim.engines.state import RunState
from sim.errors import UsageError
from sim.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from sim.engines.choices import Choice


class Reason(NamedTuple):
    """One reason of a decision: a term that weighed in it, its value and unit.

    For a shipment, the terms of the supplier's utility (``DW``), in utility units; for a
    sanctions package, costs in % of the sender's GDP; elsewhere a probability or a count.
    """

    term: str
    value: float
    unit: str = ""

    def __str__(self) -> str:
        if self.unit == "months":
            return f"{self.term} {self.value:.0f} months"
        if self.unit == "%":
            # A sender's cost may be a few thousandths of a percent: two significant digits.
            small = 0 < abs(self.value) < 0.1
            size = f"{self.value:.2g}" if small else f"{self.value:.2f}"
            return f"{self.term} {size}% of GDP"
        return f"{self.term} {self.value:.2f}{self.unit}"


@dataclass(frozen=True)
class StoryEvent:
    """One line of the story: what happened in a month, in plain words, and why.

    ``reasons`` are the terms that weighed most in the decision the line tells (empty for lines
    that tell no decision: events, the war, production).
    """

    month: int
    kind: str
    text: str
    reasons: tuple[Reason, ...] = ()

    @property
    def why(self) -> str:
        """The reasons as text: ``"need 1.60, affinity 0.75, threat cost -0.06"`` ('' if none)."""
        return ", ".join(str(r) for r in self.reasons)

    def __str__(self) -> str:
        why = f" (why: {self.why})" if self.reasons else ""
        return f"Month {self.month}: {self.text}{why}"


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
        self.month_before: State | None = None
        """The state the open month's decisions read (after its events); None between months."""
        self.story: list[StoryEvent] = []
        self._memory = _StoryMemory.new(self.state)
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

    def step(self, played: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """One month: events fire, every agent decides, the model resolves.

        The month is then recorded by the DataCollector and told in the story. ``played``:
        the answers of players to the month's questions, ``{actor id: {choice key: answer}}``
        (:meth:`choices`); every other decision is the model's. If the month was opened with
        :meth:`open_month`, this closes it.
        """
        if self.month_before is None:
            self.open_month()
        self.close_month(played)

    @property
    def month_open(self) -> bool:
        """Whether a month is open: decided (:meth:`open_month`) and not yet resolved."""
        return self.month_before is not None

    def open_month(self) -> None:
        """The first half of a month: its events fire and every agent decides.

        Nothing is resolved until :meth:`close_month` (or :meth:`step`); in between,
        :meth:`choices` lists the decisions an actor makes this month, for a player to answer.

        Raises:
            UsageError: if a month is already open.
        """
        if self.month_before is not None:
            raise UsageError(f"month {self.month} is already open: close it first")
        self.month += 1
        begin_month(*self.month_arrays())
        self._tell_events()
        # After the events: the state every decision of the month reads. The story compares
        # the state after the month with it, and reads the month's decisions.
        self.month_before = State(*(a.copy() for a in self.state.state))
        self.agents.do("decide")

    def choices(self, actor: str) -> list[Choice]:
        """The decisions ``actor`` makes in the open month, as questions for a player.

        Each :class:`~sim.engines.choices.Choice` has its key, question, answers, the model's
        own answer, its chance and its reasons.
        """
        from sim.engines.choices import open_choices

        return open_choices(self, actor)

    def close_month(self, played: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """The second half of a month: the players' answers replace the model's, all resolve.

        ``played``: ``{actor id: {choice key: answer}}`` (see :meth:`choices`); each answer is
        told in the story. With none, the month is exactly the model's.
        """
        before = self.month_before
        if before is None:
            raise UsageError("no month is open: call open_month() first")
        told: list[StoryEvent] = []
        if played:
            from sim.engines.choices import apply_choices

            told = apply_choices(self, played)
        end_month(*self.month_arrays())
        self.month_before = None
        self.story.extend(told)
        self.story.extend(narrate(self, before, self._memory))
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

    def story_text(self, reasons: bool = True) -> str:
        """The story of the run so far, one line per event.

        With ``reasons`` (the default) a decision's line ends with its reasons,
        ``(why: need 1.60, affinity 0.75)``.
        """
        if reasons:
            return "\n".join(str(e) for e in self.story)
        return "\n".join(f"Month {e.month}: {e.text}" for e in self.story)

    def story_frame(self) -> pd.DataFrame:
        """The story as a table: month, kind, text, reasons (text, '' for no decision)."""
        return pd.DataFrame([(e.month, e.kind, e.text, e.why) for e in self.story],
                            columns=["month", "kind", "text", "reasons"])

    def fork(self, **changes: Any) -> DiplomacyModel:
        """A what-if branch of this run at its current month, on common random numbers.

        ``changes``: ``policy``, ``overrides``, ``events`` (:func:`sim.engines.branches.fork`).
        """
        if self.month_before is not None:
            raise UsageError(f"month {self.month} is open: close it before forking")
        from sim.engines.branches import fork

        return fork(self, **changes)


# ------------------------------------------------------------------------------------------
# The story: each month's decisions and what they changed, in plain words, with their reasons
# ------------------------------------------------------------------------------------------

_SUPPLY_TERMS = (("need", L.DW_NEED), ("affinity", L.DW_AFFINITY), ("revenue", L.DW_PRICE),
                 ("threat cost", L.DW_RISK), ("relief at risk", L.DW_RELIEF))
"""The weighed terms of a supply decision's utility, in plain words, and their ``DW`` columns."""


def supply_terms(dw: np.ndarray) -> list[Reason]:
    """Every term of a supply decision's utility, from its row of ``DW`` (utility units).

    The five weighed terms (need, affinity, revenue, threat cost, relief at risk) and the
    route's ``propensity``: the utility minus those five, that is the world's supply base plus
    the route's own propensity. They sum to the utility ``DW_UTILITY``.
    """
    row = dw.tolist()
    terms = [Reason(name, row[col]) for name, col in _SUPPLY_TERMS]
    rest = row[L.DW_UTILITY] - sum(t.value for t in terms)
    return [*terms, Reason("propensity", rest)]


def supply_reasons(dw: np.ndarray, most: int = 3) -> tuple[Reason, ...]:
    """The ``most`` terms of :func:`supply_terms` largest in absolute value, largest first.

    Terms under 0.005 in absolute value are left out (they round to 0.00); ties keep the order
    of :func:`supply_terms`.
    """
    terms = sorted(supply_terms(dw), key=lambda t: -abs(t.value))
    return tuple(t for t in terms[:most] if abs(t.value) >= 0.005)


@dataclass
class _StoryMemory:
    """What the story has told up to last month, where the state alone cannot say it.

    ``threats``: the standing threats as last told (``THR``), so that a threat born of a public
    warning (at the start or by an event) is told once; ``halting``: the suppliers whose
    government ordered a halt last month, so that a halt is told when it is first ordered.
    """

    threats: np.ndarray
    halting: set[int]

    @classmethod
    def new(cls, s: RunState) -> _StoryMemory:
        return cls(np.zeros_like(s.THR), set())


def _who(model: DiplomacyModel, i: int) -> str:
    return model.diplo_scenario.spec.actors[model.compiled.actor_ids[i]].name


def _flow(model: DiplomacyModel, r: int, its: bool = False) -> str:
    """``"Iran's shipments of Shahed drones to Russia"``: the transfers on route ``r``.

    With ``its``: ``"its shipments of ..."`` (the supplier was just named).
    """
    RP = model.state.RP
    whose = "its" if its else f"{_who(model, int(RP[r, L.R_SUPPLIER]))}'s"
    return (f"{whose} shipments of "
            f"{model.compiled.category_units[int(RP[r, L.R_CATEGORY])]} to "
            f"{_who(model, int(RP[r, L.R_RECIPIENT]))}")


def _rise(old: float, new: float) -> str:
    """``"from 0.80 to 0.83"``, with as many decimals (up to six) as it takes to show the change."""
    digits = 2
    while digits < 6 and old != new and f"{old:.{digits}f}" == f"{new:.{digits}f}":
        digits += 1
    return f"from {old:.{digits}f} to {new:.{digits}f}"


def _package(model: DiplomacyModel, before: State, i: int, r: int) -> tuple[float, float]:
    """Sanctions of ``i`` on the supplier of route ``r`` now, and after the threatened package."""
    s = model.state
    j = int(s.RP[r, L.R_SUPPLIER])
    now = float(before.SANC[i, j])
    package = package_of(i, int(s.RP[r, L.R_CATEGORY]), s.params)
    return now, float(after_package(now, package, s.AP[i, L.A_ESC_CAP]))


def narrate(model: DiplomacyModel, before: State, memory: _StoryMemory) -> list[StoryEvent]:
    """What the month's decisions were and what they changed, in plain words, with reasons.

    ``before`` is the state every decision of the month read (after the month's events);
    the decisions are in the model's decision arrays (``DW``, ``DTH``, ``DT``), the results in
    its state. ``memory`` is updated for next month.
    """
    out = _tell_warnings(model, before, memory)
    out += _tell_supply(model, before, memory)
    out += _tell_threats(model, before)
    out += _tell_sanctions(model, before)
    out += _tell_tracks(model, before)
    out += _tell_war(model, before)
    memory.threats = model.state.THR.copy()
    return out


def _tell_warnings(model: DiplomacyModel, before: State,
                   memory: _StoryMemory) -> list[StoryEvent]:
    """Threats born of a public warning (the scenario's, told in month 1, or an event's)."""
    s, m = model.state, model.month
    out: list[StoryEvent] = []
    if np.array_equal(before.THR, memory.threats):
        return out
    for i, r in zip(*np.nonzero((before.THR > 0) & (before.THR != memory.threats)), strict=True):
        j = int(s.RP[r, L.R_SUPPLIER])
        now, level = _package(model, before, i, r)
        out.append(StoryEvent(m, "threat", f"{_who(model, i)} publicly warns {_who(model, j)} "
                   f"over {_flow(model, r, its=True)}: a shipment seen from month "
                   f"{before.THR[i, r]:.0f} to month {before.TDL[i, r]:.0f} will bring a package "
                   f"raising sanctions on {_who(model, j)} {_rise(now, level)}",
                   (Reason("credibility", float(before.SA[i, L.S_CRED])),)))
    return out


def _tell_supply(model: DiplomacyModel, before: State, memory: _StoryMemory) -> list[StoryEvent]:
    """Halts ordered by governments, shipments (and their defiance of a halt), restraint."""
    cs, s, m = model.compiled, model.state, model.month
    out = []
    halting = {int(s.RP[r, L.R_SUPPLIER]) for r in range(len(cs.route_ids))
               if s.DW[r, L.DW_HALT] >= 0.5}
    for sup in sorted(halting - memory.halting):
        defied = any(s.DW[r, L.DW_DEFIED] >= 0.5 for r in range(len(cs.route_ids))
                     if int(s.RP[r, L.R_SUPPLIER]) == sup)
        answer = ("its security apparatus defies the order" if defied
                  else "its security apparatus obeys")
        out.append(StoryEvent(m, "halt", f"{_who(model, sup)}'s government orders a halt of its "
                   f"covert arms transfers, as its relief agreement requires; {answer}",
                   (Reason("government's control", float(s.AP[sup, L.A_CONTROL])),)))
    memory.halting = halting
    for r in range(len(cs.route_ids)):
        sup, rec, c = (int(s.RP[r, L.R_SUPPLIER]), int(s.RP[r, L.R_RECIPIENT]),
                       int(s.RP[r, L.R_CATEGORY]))
        if s.CP[c, L.C_ESC_W] <= 0:
            continue  # open aid is reported as news only through its effect on the war
        dw = s.DW[r]
        threats = [i for i in range(len(cs.actor_ids))
                   if 0 < before.THR[i, r] <= m <= before.TDL[i, r]]
        senders = _and([_who(model, i) for i in threats]) if threats else ""
        units = s.RS[r, L.RS_SHIPPED]
        what = cs.category_units[c]
        if units > 0:
            if dw[L.DW_DEFIED] >= 0.5:
                text = (f"{_who(model, sup)}'s security apparatus defies the government's halt "
                        f"and ships {units:.0f} {_units(what, units)} to {_who(model, rec)}")
            else:
                text = (f"{_who(model, sup)} ships {units:.0f} {_units(what, units)} to "
                        f"{_who(model, rec)}")
            if threats:
                text += f" despite the threat{'s' if len(threats) > 1 else ''} of {senders}"
            if s.RS[r, L.RS_DETECTED] >= 0.5:
                text += "; the transfer is detected and made public"
                if s.RS[r, L.RS_DENIED] >= 0.5:
                    text += f", and {_who(model, sup)} publicly denies it"
            if units < s.DR[r]:
                text += (f" (it offered {s.DR[r]:.0f}; other suppliers fill the rest of "
                         f"{_who(model, rec)}'s need)")
            out.append(StoryEvent(m, "transfer", text, supply_reasons(dw)))
        elif s.DR[r] > 0:
            out.append(StoryEvent(m, "transfer", f"{_who(model, sup)} offers {s.DR[r]:.0f} "
                       f"{_units(what, s.DR[r])} to {_who(model, rec)}, but other suppliers "
                       f"fill its need this month", supply_reasons(dw)))
        elif (before.RS[r, L.RS_SHIPPED] > 0 or m == 1) and dw[L.DW_PROBABILITY] > 0:
            # It shipped last month (or this is the first) and was free to ship (no halt
            # obeyed): it chose not to.
            under = f" under the threat{'s' if len(threats) > 1 else ''} of {senders}" \
                if threats else ""
            out.append(StoryEvent(m, "restraint", f"{_who(model, sup)} holds back its {what} "
                       f"to {_who(model, rec)} this month{under}, though its chance of shipping "
                       f"was {dw[L.DW_PROBABILITY]:.2f}", supply_reasons(dw)))
    return out


def _tell_threats(model: DiplomacyModel, before: State) -> list[StoryEvent]:
    """The senders' threat decisions: issued, package imposed, backed down, complied, lapsed."""
    cs, s, m = model.compiled, model.state, model.month
    out = []
    for i, r in zip(*np.nonzero(s.DTH), strict=True):
        code = int(s.DTH[i, r])
        j = int(s.RP[r, L.R_SUPPLIER])
        who, whom, flow = _who(model, i), _who(model, j), _flow(model, r)
        now, level = _package(model, before, i, r)
        cred = float(s.SA[i, L.S_CRED])
        if code == L.TH_ISSUE:
            out.append(StoryEvent(m, "threat", f"{who} threatens {whom} over "
                       f"{_flow(model, r, its=True)} after a detected shipment: a shipment seen "
                       f"from month {s.THR[i, r]:.0f} to month {s.TDL[i, r]:.0f} will bring a "
                       f"package raising sanctions on {whom} {_rise(now, level)}",
                       (Reason(f"affinity with {whom}", float(before.AFF[i, j])),
                        Reason("credibility", float(before.SA[i, L.S_CRED])))))
            continue
        if code == L.TH_EXHAUSTED:
            out.append(StoryEvent(m, "threat", f"{who} has nothing left to impose on {whom}: its "
                       f"sanctions are at its cap ({s.AP[i, L.A_ESC_CAP]:.2f}), so its threat "
                       f"over {flow} lapses"))
            continue
        if code == L.TH_COMPLIED:
            out.append(StoryEvent(m, "compliance", f"The threat of {who} over {flow} reaches "
                       f"its deadline (month {before.TDL[i, r]:.0f}) with no shipment seen: it "
                       f"counts as complied with, and the credibility of {who} rises to "
                       f"{cred:.2f}"))
            continue
        cost = float(sender_cost(i, j, level - now, s.params, before))
        audience = float(s.AP[i, L.A_AUDIENCE])
        reasons = [Reason(f"cost to {who}", cost, "%"),
                   Reason("audience cost of backing down", audience, "%")]
        if model.diplo_scenario.spec.actors[cs.actor_ids[i]].kind == "bloc":
            reasons.append(Reason("cohesion", float(s.AP[i, L.A_COHESION])))
        if code == L.TH_IMPOSE:
            out.append(StoryEvent(m, "sanctions", f"{who} imposes the package it threatened over "
                       f"{flow}: sanctions on {whom} rise {_rise(now, level)}, and the "
                       f"threat stands again until month {s.TDL[i, r]:.0f}", tuple(reasons)))
        elif code == L.TH_BACK_DOWN:
            if cost > audience:
                because = (f"the package would cost it more ({cost:.2f}% of GDP) than backing "
                           f"down ({audience:.2f}%)")
            else:
                because = "its members fail to agree on the package"
            out.append(StoryEvent(m, "back-down", f"{who} backs down from its threat over {flow}: "
                       f"{because}; its credibility falls to {cred:.2f}", tuple(reasons)))
    return out


def _tell_sanctions(model: DiplomacyModel, before: State) -> list[StoryEvent]:
    """Sanctions that moved for another reason than a package: secondary sanctions, easing.

    Packages are told by :func:`_tell_threats`, snap-back by :func:`_tell_tracks`.
    """
    cs, s, m = model.compiled, model.state, model.month
    n = len(cs.actor_ids)
    told = {(int(i), int(s.RP[r, L.R_SUPPLIER])) for i, r in zip(*np.nonzero(
        s.DTH == L.TH_IMPOSE), strict=True)}
    for t in range(len(cs.track_ids)):
        if _broken_in_force(s, before, t):
            party = int(s.TP[t, L.T_PARTY])
            told |= {(i, party) for i in range(n) if s.TM[t, i] > 0}
    out: list[StoryEvent] = []
    for i, j in zip(*np.nonzero(np.abs(s.SANC - before.SANC) > 1e-9), strict=True):
        i, j = int(i), int(j)
        targets = sorted({k for (h, k) in told if h == i})
        new, old = float(s.SANC[i, j]), float(before.SANC[i, j])
        if (i, j) in told:
            continue
        if new > old and targets and s.AP[i, L.A_SECONDARY] > 0:
            names = _and([_who(model, k) for k in targets])
            out.append(StoryEvent(m, "sanctions", f"{_who(model, i)} imposes secondary sanctions "
                       f"on {_who(model, j)} for keeping up trade with {names}: sanctions "
                       f"rise {_rise(old, new)}",
                       (Reason(f"trade share with {names}",
                               float(sum(before.TRADE[k, j] for k in targets))),
                        Reason("busting", float(s.AP[j, L.A_BUSTING])))))
        elif new > old:
            out.append(StoryEvent(m, "sanctions", f"{_who(model, i)} raises sanctions on "
                       f"{_who(model, j)} to {new:.2f}"))
        elif new < old - 0.04 or _eased_by_deal(s, i, j):
            out.append(StoryEvent(m, "sanctions", f"{_who(model, i)} eases sanctions on "
                       f"{_who(model, j)} to {new:.2f}"))
    return out


def _broken_in_force(s: RunState, before: State, t: int) -> bool:
    """Whether relief deal ``t``, in force at the start of the month, broke this month."""
    return (int(s.TP[t, L.T_KIND]) == L.TRACK_RELIEF and before.TS[t, L.TS_ACTIVE] >= 0.5
            and s.TS[t, L.TS_ACTIVE] < 0.5)


def _tell_tracks(model: DiplomacyModel, before: State) -> list[StoryEvent]:
    """Relief deals (agreement, implementation, Implementation Day, breaches) and ceasefires."""
    cs, s, m = model.compiled, model.state, model.month
    n = len(cs.actor_ids)
    out = []
    for t in range(len(cs.track_ids)):
        p = int(s.TP[t, L.T_PARTY])
        party = _who(model, p)
        members = [i for i in range(n) if s.TM[t, i] > 0]
        others = _and([_who(model, i) for i in members])
        agreed = s.DT[t, L.DT_DEAL] >= 0.5
        trust = Reason("trust", float(before.TS[t, L.TS_TRUST]))
        if cs.track_kinds[t] != "relief":
            if agreed:
                med = int(s.TP[t, L.T_MEDIATOR])
                by = f", mediated by {_who(model, med)}" if med >= 0 else ""
                out.append(StoryEvent(m, "ceasefire", f"{party} and {others} agree a "
                           f"ceasefire{by}", (Reason("stalemate", float(
                               before.TS[t, L.TS_STALEMATE]), "months"), trust)))
            if s.TS[t, L.TS_BREACHES] > before.TS[t, L.TS_BREACHES]:
                out.append(StoryEvent(m, "ceasefire", f"The ceasefire between {party} and "
                           f"{others} breaks down; the war resumes",
                           (Reason("breakdown chance", float(s.TS[t, L.TS_HAZARD])),
                            Reason("gap between the terms and the forces",
                                   float(s.TS[t, L.TS_GAP])),
                            Reason("arms imported", float(before.G[L.G_IMPORTS]),
                                   "value/month"))))
            if (s.TS[t, L.TS_STALEMATE] >= s.TP[t, L.T_STALE_MONTHS]
                    and before.TS[t, L.TS_STALEMATE] < s.TP[t, L.T_STALE_MONTHS]
                    and s.G[L.G_CEASEFIRE] < 0.5):
                out.append(StoryEvent(m, "war", "The war has reached a mutually hurting "
                           "stalemate; a ceasefire becomes possible",
                           (Reason("months the front barely moved",
                                   float(s.TS[t, L.TS_STALEMATE]), "months"),
                            Reason("front's trend", 12.0 * float(s.TS[t, L.TS_TREND]),
                                   "balance/year"),
                            Reason("war intensity", float(s.G[L.G_INTENSITY])))))
            continue
        months = max(1, round(float(s.TP[t, L.T_IMPL_MONTHS])))
        terms = 100 * s.TS[t, L.TS_TERMS]
        if agreed:
            out.append(StoryEvent(m, "deal", f"{party} agrees a relief deal with {others}: "
                       f"{terms:.0f}% of sanctions to be lifted once a halt of its covert arms "
                       f"transfers has been verified for {months} month{'s' * (months > 1)}",
                       (Reason("relief priority", float(before.SA[p, L.S_PRIO])), trust)))
        breached = s.TS[t, L.TS_BREACHES] > before.TS[t, L.TS_BREACHES]
        if before.TS[t, L.TS_IMPLEMENTING] >= 0.5 or agreed:
            if s.TS[t, L.TS_ACTIVE] >= 0.5:
                out.append(StoryEvent(m, "deal", f"Implementation Day: {party}'s halt has been "
                           f"verified for {months} month{'s' * (months > 1)}; the relief deal "
                           f"comes into force, and {others} begin lifting {terms:.0f}% of their "
                           f"sanctions"))
            elif breached:
                out.append(StoryEvent(m, "breach", f"An exposed transfer breaches the relief "
                           f"agreement while it is being implemented; the agreement collapses "
                           f"and talks with {party} resume"))
            elif s.TS[t, L.TS_CLEAN] > 0:
                out.append(StoryEvent(m, "implementation", f"{party}'s halt is verified for "
                           f"month {s.TS[t, L.TS_CLEAN]:.0f} of {months} of the relief deal's "
                           "implementation"))
            else:
                out.append(StoryEvent(m, "implementation", f"{party}'s halt cannot be verified "
                           "this month: a covert shipment went unseen, and the count of verified "
                           "months restarts"))
        elif _broken_in_force(s, before, t):
            back = _and([f"{_who(model, i)} to {s.SANC[i, p]:.2f}" for i in members])
            out.append(StoryEvent(m, "breach", f"An exposed transfer breaks the relief deal in "
                       f"force; sanctions on {party} snap back: {back}"))
    return out


def _tell_war(model: DiplomacyModel, before: State) -> list[StoryEvent]:
    """Home production passing a quarter of the need, and moves of the front."""
    cs, s, m = model.compiled, model.state, model.month
    out = []
    for q, c in zip(*np.nonzero(s.BUILT > before.BUILT), strict=True):
        dem = s.DEM[q, c]
        if dem > 0:
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
