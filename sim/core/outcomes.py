"""What a run reports: the summary row at the end and the figures recorded every month.

Both are compiled functions over the state arrays, so the two engines report identically. The
column names are built in Python from the compiled scenario, in the same order.

Every summary column belongs to one :class:`OutcomeFamily` declared here, beside
:func:`summarize` which computes it: what the column is (yes/no, a count, the month of an event, a
level or a share), its range and unit, its name in plain words and how an ensemble sums it up.
The outcome table (:mod:`sim.results.table`), the policy comparison, the report, the classroom
app and the engine contract all read these declarations, so they agree on every column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from sim.core import layout as L
from sim.core.jit import rule_njit as njit

if TYPE_CHECKING:
    from sim.scenario import CompiledScenario

OutcomeKind = Literal["binary", "count", "month", "level", "share"]
"""What one run's value of an outcome is.

``binary``: 0 or 1 (a deal reached). ``count``: a whole number (transfers exposed, units
delivered). ``month``: the month an event first happened, NaN in runs where it did not.
``level``: a real number (a GDP index, an affinity). ``share``: a real number in [0, 1] (sanction
pressure, credibility).
"""

Over = Literal["", "category", "route", "track", "actor", "pair", "side"]
"""What a family has one column per: nothing (a single column), or each category, route,
negotiation track, actor or key pair of actors."""

DISCRETE_KINDS: frozenset[str] = frozenset({"binary", "count", "month"})


@dataclass(frozen=True)
class OutcomeFamily:
    """A family of summary columns, declared once for every actor, route, track... it covers.

    Attributes:
        name: the column's name, a template over ``over``: ``"peak_pressure_{actor}"``,
            ``"{track}_reached"``, ``"affinity_{pair}"``, or a plain name.
        over: what there is one column per (see :data:`Over`).
        kind: what a run's value is (see :data:`OutcomeKind`).
        label: the column in plain words, a template (fields in :func:`declare_outcomes`).
        unit: the unit of a run's value.
        low: smallest value a run can have.
        high: largest value a run can have (``math.inf`` when unbounded; months and counts of
            months are bounded by the months run).
        event: for a month or a count, the name of the yes/no row the outcome table derives
            from it ("the event happened": the month is defined, the count is above 0), a
            template like ``name``; ``""`` for none.
        event_label: that row in plain words.
        only: which members have a column users see (:data:`MEMBER_GROUPS`; ``""``: all).
            The kernel computes every member; the others cannot vary.
        headline: members whose mean (or share, for a binary outcome) is a headline figure,
            shown first by the classroom app: ``""`` none, ``"all"``, or a member group.
        event_headline: the same for the event row.
    """

    name: str
    over: Over
    kind: OutcomeKind
    label: str
    unit: str
    low: float = 0.0
    high: float = math.inf
    event: str = ""
    event_label: str = ""
    only: str = ""
    headline: str = ""
    event_headline: str = ""

    @property
    def discrete(self) -> bool:
        """Whether a run's value is a whole number or NaN (binary, count, month)."""
        return self.kind in DISCRETE_KINDS

    @property
    def statistic(self) -> str:
        """How an ensemble sums the outcome up, in words."""
        if self.kind == "binary":
            return "share of runs where it is 1, Wilson score interval"
        if self.kind == "month":
            return "mean month over the runs where it happened, Student t interval"
        return "mean over runs, Student t interval"


def _month_label(words: str) -> str:
    return f"Month {words}, in runs with one"


#: The summary row, block by block in the kernel's order (:func:`summarize`). Within a block
#: the members are the outer loop: per track, reached, month, broken, broken month.
SUMMARY_BLOCKS: tuple[tuple[OutcomeFamily, ...], ...] = (
    (OutcomeFamily("first_month_{category}", "category", "month",
                   "First month {category} were shipped, in runs where they were", "month",
                   low=1.0, event="shipped_{category}",
                   event_label="{Category} shipped at least once", event_headline="covert"),),
    (OutcomeFamily("delivered_{route}", "route", "count", "Units delivered, {route}", "units"),),
    (OutcomeFamily("detected_{route}", "route", "count", "Transfers exposed, {route}",
                   "transfers", event="any_detected_{route}",
                   event_label="A transfer exposed, {route}"),),
    (OutcomeFamily("detected_{category}", "category", "count",
                   "Transfers of {category} exposed", "transfers",
                   event="any_detected_{category}", event_label="{Category} transfer exposed",
                   event_headline="covert"),),
    (OutcomeFamily("transfers_detected", "", "count",
                   "Covert transfers exposed (categories sanctioners react to)", "transfers",
                   event="any_transfers_detected",
                   event_label="A covert transfer exposed"),),
    (OutcomeFamily("{track}_reached", "track", "binary", "{Deal} {reached}", "share of runs",
                   high=1.0, headline="all"),
     OutcomeFamily("{track}_month", "track", "month", _month_label("of the {deal}"), "month",
                   low=1.0, headline="all"),
     OutcomeFamily("{track}_broken", "track", "binary", "{Deal} {broken}",
                   "share of runs", high=1.0, only="breakable", headline="all"),
     OutcomeFamily("{track}_broken_month", "track", "month",
                   "Month the {deal} broke, in runs where it did", "month", low=1.0,
                   only="breakable")),
    (OutcomeFamily("peak_pressure_{actor}", "actor", "share",
                   "Peak sanction pressure on {actor}", "pressure, 0 to 1", high=1.0,
                   headline="covert_suppliers"),),
    (OutcomeFamily("gdp_index_{actor}", "actor", "level", "Final GDP index of {actor}",
                   "1 = GDP at the start", headline="focus"),),
    (OutcomeFamily("credibility_{actor}", "actor", "share",
                   "Final credibility of the threats of {actor}", "0 to 1", high=1.0,
                   only="sanctioners"),),
    (OutcomeFamily("escalations_{actor}", "actor", "count", "Escalations by {actor}",
                   "escalations", only="sanctioners"),),
    (OutcomeFamily("arms_revenue_{actor}", "actor", "level", "Arms revenue of {actor}",
                   "USD mn", only="suppliers"),),
    (OutcomeFamily("affinity_{pair}", "pair", "level", "Final affinity, {pair}", "-1 to 1",
                   low=-1.0, high=1.0),),
    (OutcomeFamily("localised_{category}", "category", "level",
                   "Home-built capacity for {category}", "units per month", only="built"),),
    (OutcomeFamily("escalations", "", "count", "Sanction escalations, all sanctioners",
                   "escalations", event="any_escalations",
                   event_label="Sanctions escalated at least once", event_headline="all"),),
    (OutcomeFamily("failed_follow_through", "", "count", "Warnings not followed through",
                   "warnings", event="any_failed_follow_through",
                   event_label="A warning not followed through", event_headline="all"),),
    (OutcomeFamily("war_intensity_final", "", "share", "Final war intensity", "0 to 1",
                   high=1.0),),
    (OutcomeFamily("war_balance_final", "", "level", "Final war balance",
                   "-1 to 1, +1: the attacker winning", low=-1.0, high=1.0),),
    (OutcomeFamily("{track}_agreed", "track", "binary", "{Deal} agreed (before its implementation)",
                   "share of runs", high=1.0, only="relief_tracks", headline="all"),
     OutcomeFamily("{track}_agreed_month", "track", "month",
                   _month_label("the {deal} was first agreed"), "month", low=1.0,
                   only="relief_tracks"),
     OutcomeFamily("{track}_breaches", "track", "count", "{Breaches}", "{breaches}",
                   only="breakable")),
    (OutcomeFamily("shipped_under_deal_{route}", "route", "count",
                   "Months shipped while a relief deal was implemented or in force, {route}",
                   "months", event="any_shipped_under_deal_{route}",
                   event_label="Shipped under a relief deal, {route}", only="covert_routes"),),
    (OutcomeFamily("threats_{actor}", "actor", "count", "Threats issued by {actor}", "threats",
                   only="sanctioners"),),
    (OutcomeFamily("complied_{actor}", "actor", "count",
                   "Threats of {actor} complied with until their deadline", "threats",
                   only="sanctioners"),),
    (OutcomeFamily("backed_down_{actor}", "actor", "count", "Threats {actor} backed down from",
                   "threats", only="sanctioners"),),
    (OutcomeFamily("halts_{actor}", "actor", "count",
                   "Months the government of {actor} ordered a halt of its covert transfers",
                   "months", only="covert_suppliers"),),
    (OutcomeFamily("defied_{actor}", "actor", "count",
                   "Months the security apparatus of {actor} defied a halt", "months",
                   event="any_defied_{actor}", event_label="A halt defied by {actor}'s apparatus",
                   only="covert_suppliers"),),
    (OutcomeFamily("{track}_ripe", "track", "binary",
                   "A ripe moment for the {deal}: a hurting stalemate that lasted",
                   "share of runs", high=1.0, only="ceasefire_tracks", headline="all"),
     OutcomeFamily("{track}_ripe_month", "track", "month",
                   _month_label("the war first became ripe for the {deal}"), "month", low=1.0,
                   only="ceasefire_tracks")),
    (OutcomeFamily("own_production_{side}", "side", "level",
                   "Military value {side} produced at home in the last month",
                   "value per month"),),
)


def _highest(cs: CompiledScenario, table: int, col: int) -> np.ndarray:
    """The highest value parameter ``col`` of each row of ``table`` takes during a run.

    Its value at the start, or a larger one a scheduled event sets (``table`` is one of
    ``L.EV_WORLD``, ``L.EV_ACTOR``, ``L.EV_CATEGORY``, ``L.EV_TRACK``; for the world, one
    row). What a parameter can become during a run decides what can happen, hence which
    columns exist.
    """
    start = {L.EV_WORLD: cs.W[None, :], L.EV_ACTOR: cs.AP, L.EV_CATEGORY: cs.CP,
             L.EV_TRACK: cs.TP}[table]
    out = start[:, col].copy()
    for _month, ev_table, row, ev_col, value in cs.EV:
        if int(ev_table) == table and int(ev_col) == col:
            out[int(row)] = max(out[int(row)], value)
    return out


def _can_escalate(cs: CompiledScenario) -> np.ndarray:
    """Per actor: whether it can escalate during the run.

    An escalation step above 0 at the start, or set by a scheduled event.
    """
    return _highest(cs, L.EV_ACTOR, L.A_ESC_STEP) > 0


def _covert_routes(cs: CompiledScenario) -> list[int]:
    """Routes of categories sanctioners react to, not open aid.

    Their escalation weight is above 0 at the start or once a scheduled event sets it.
    """
    weight = _highest(cs, L.EV_CATEGORY, L.C_ESC_W)
    return [r for r in range(len(cs.route_ids)) if weight[int(cs.RP[r, L.R_CATEGORY])] > 0]


def _covert_suppliers(cs: CompiledScenario) -> set[str]:
    return {cs.actor_ids[int(cs.RP[r, L.R_SUPPLIER])] for r in _covert_routes(cs)}


def _focus(cs: CompiledScenario) -> set[str]:
    war = {cs.actor_ids[int(cs.W[L.W_ATTACKER])], cs.actor_ids[int(cs.W[L.W_DEFENDER])]}
    return _covert_suppliers(cs) | war


#: Named groups of members (ids), for a family's ``only``, ``headline`` and ``event_headline``.
MEMBER_GROUPS: dict[str, Callable[[CompiledScenario], set[str]]] = {
    # Actors that can escalate: at the start or once an event gives them an escalation step.
    "sanctioners": lambda cs: {a for a, can in zip(cs.actor_ids, _can_escalate(cs), strict=True)
                               if can},
    "suppliers": lambda cs: {cs.actor_ids[int(r[L.R_SUPPLIER])] for r in cs.RP},
    "built": lambda cs: {cs.category_ids[int(b)] for b in cs.CP[:, L.C_BUILDS] if b >= 0},
    # Relief deals break on an exposed transfer; a ceasefire only if it has a breakdown hazard.
    "breakable": lambda cs: {t for t, kind, hazard in zip(
        cs.track_ids, cs.track_kinds, _highest(cs, L.EV_TRACK, L.T_BREAK_RATE), strict=True)
        if kind == "relief" or hazard > 0},
    "ceasefire_tracks": lambda cs: {t for t, kind in zip(cs.track_ids, cs.track_kinds,
                                                         strict=True) if kind == "ceasefire"},
    "relief_tracks": lambda cs: {t for t, kind in zip(cs.track_ids, cs.track_kinds, strict=True)
                                 if kind == "relief"},
    "covert": lambda cs: {cs.category_ids[int(cs.RP[r, L.R_CATEGORY])]
                          for r in _covert_routes(cs)},
    "covert_suppliers": _covert_suppliers,
    "covert_routes": lambda cs: {cs.route_ids[r] for r in _covert_routes(cs)},
    "focus": _focus,  # covert suppliers and the two sides of the war
}

#: How a deal of each kind of negotiation track is named: (the deal, "reached" or "agreed", how
#: it breaks, what its breaches are, their unit).
DEAL_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "relief": ("relief deal", "in force", "broken by an exposed transfer",
               "Exposed transfers that broke the {deal} or its implementation", "breaches"),
    "ceasefire": ("ceasefire", "agreed", "broken down", "Breakdowns of the {deal}",
                  "breakdowns"),
}


@dataclass(frozen=True)
class Outcome:
    """The declaration of one summary column of a compiled scenario.

    Attributes:
        column: the column's name.
        family: its family (kind, unit, range, statistic).
        member: the actor, category, route or track id (``"IRN_RUS"`` for a pair), ``""`` for
            a single column.
        label: the column in plain words.
        event: name of the yes/no row derived from it (see :attr:`OutcomeFamily.event`).
        event_label: that row in plain words.
        shown: whether the column is in the summary users see (:func:`outcome_layout`).
        headline: whether its mean (share) is a headline figure.
        event_headline: whether its event row is.
    """

    column: str
    family: OutcomeFamily
    member: str
    label: str
    event: str
    event_label: str
    shown: bool
    headline: bool
    event_headline: bool

    @property
    def kind(self) -> OutcomeKind:
        """What a run's value is (see :data:`OutcomeKind`)."""
        return self.family.kind

    @property
    def unit(self) -> str:
        """The unit of a run's value."""
        return self.family.unit

    @property
    def discrete(self) -> bool:
        """Whether a run's value is a whole number or NaN (binary, count, month)."""
        return self.family.discrete


def _members(cs: CompiledScenario, over: Over) -> list[tuple[str, dict[str, str]]]:
    """``(id, label fields)`` of every member a family can be over, in the kernel's order."""
    if over == "":
        return [("", {})]
    if over == "category":
        return [(c, {"category": u, "Category": u[:1].upper() + u[1:]})
                for c, u in zip(cs.category_ids, cs.category_units, strict=True)]
    if over == "route":
        out = []
        for r, rid in enumerate(cs.route_ids):
            sup = cs.actor_names[int(cs.RP[r, L.R_SUPPLIER])]
            rec = cs.actor_names[int(cs.RP[r, L.R_RECIPIENT])]
            what = cs.category_units[int(cs.RP[r, L.R_CATEGORY])]
            out.append((rid, {"route": f"{sup} → {rec}: {what}"}))
        return out
    if over == "track":
        out = []
        for t, kind in zip(cs.track_ids, cs.track_kinds, strict=True):
            deal, reached, broken, breaches, unit = DEAL_WORDS[kind]
            if cs.track_kinds.count(kind) > 1:
                deal = f"{deal} ({t})"
            out.append((t, {"track": t, "deal": deal, "Deal": deal[:1].upper() + deal[1:],
                            "reached": reached, "broken": broken,
                            "Breaches": breaches.format(deal=deal), "breaches": unit}))
        return out
    if over == "actor":
        return [(a, {"actor": name}) for a, name in zip(cs.actor_ids, cs.actor_names,
                                                        strict=True)]
    if over == "side":
        return [(cs.actor_ids[int(cs.W[col])], {"side": cs.actor_names[int(cs.W[col])]})
                for col in (L.W_ATTACKER, L.W_DEFENDER)]
    if over == "pair":
        return [(f"{cs.actor_ids[i]}_{cs.actor_ids[j]}",
                 {"pair": f"{cs.actor_names[i]} – {cs.actor_names[j]}"}) for i, j in cs.key_pairs]
    raise ValueError(f"unknown member kind {over!r}")


def _in_group(cs: CompiledScenario, group: str,
              groups: dict[str, set[str]]) -> Callable[[str], bool]:
    """Membership test of a named group ("" none, "all" every member), cached in ``groups``."""
    if group == "":
        return lambda member: False
    if group == "all":
        return lambda member: True
    if group not in groups:
        groups[group] = MEMBER_GROUPS[group](cs)
    return groups[group].__contains__


def declare_outcomes(cs: CompiledScenario) -> dict[str, Outcome]:
    """The declaration of every column of the kernel's raw summary row, in its order.

    Columns users do not see (``shown`` False, see :func:`outcome_layout`) are declared too, so
    that a column of any policy's summary finds its declaration in the base scenario's.

    Label fields of the templates: ``{actor}`` (the actor's name), ``{category}`` and
    ``{Category}`` (the category's unit, e.g. "ballistic missiles"), ``{route}`` ("Iran → Russia:
    ballistic missiles"), ``{pair}`` ("Iran – Russia"), ``{track}`` (its id), ``{deal}``,
    ``{Deal}`` and ``{reached}`` (from :data:`DEAL_WORDS`).
    """
    groups: dict[str, set[str]] = {}
    out: dict[str, Outcome] = {}
    for block in SUMMARY_BLOCKS:
        over = block[0].over
        for member, words in _members(cs, over):
            for fam in block:
                keyed = {over: member} if over else {}
                column = fam.name.format(**keyed)
                shown = fam.only == "" or _in_group(cs, fam.only, groups)(member)
                out[column] = Outcome(
                    column=column, family=fam, member=member, label=fam.label.format(**words),
                    event=fam.event.format(**keyed) if fam.event else "",
                    event_label=fam.event_label.format(**words) if fam.event else "",
                    shown=shown, headline=_in_group(cs, fam.headline, groups)(member),
                    event_headline=_in_group(cs, fam.event_headline, groups)(member))
    return out


def outcome_declaration(cs: CompiledScenario, column: str) -> Outcome:
    """The declaration of summary column ``column`` of ``cs``.

    Raises:
        KeyError: if ``column`` is not an outcome of the scenario.
    """
    found = declare_outcomes(cs).get(column)
    if found is None:
        raise KeyError(f"{column!r} is not an outcome of this scenario")
    return found


def outcome_layout(cs: CompiledScenario) -> tuple[list[str], np.ndarray]:
    """Names of the summary columns a user sees and their positions in the kernel's row.

    Columns that cannot vary are left out (their family's ``only``): credibility and
    escalations of actors that can never escalate (no escalation step at the start nor from a
    scheduled event), arms revenue of actors that supply no route, breaking of a ceasefire with
    no breakdown hazard, localisation of a category nothing builds.
    """
    decl = list(declare_outcomes(cs).values())
    keep = [k for k, d in enumerate(decl) if d.shown]
    return [decl[k].column for k in keep], np.array(keep, dtype=np.int64)


def _all_outcome_names(cs: CompiledScenario) -> list[str]:
    """Every column of the kernel's raw summary row, in order (shown or not)."""
    return list(declare_outcomes(cs))


def n_outcomes(cs: CompiledScenario) -> int:
    """Length of the kernel's raw outcome row."""
    return len(declare_outcomes(cs))


@njit
def summarize(out, p, s, key_pairs):
    """Write the run's raw outcome row (see ``_all_outcome_names`` for the order).

    ``p`` and ``s`` are the run's :class:`sim.core.rules.Params` and :class:`sim.core.rules.State`.
    """
    AP, CP, RP, TP = p.AP, p.CP, p.RP, p.TP
    SA, AFF, BUILT, RS, TS, G = s.SA, s.AFF, s.BUILT, s.RS, s.TS, s.G
    n = AP.shape[0]
    nc = CP.shape[0]
    nr = RP.shape[0]
    nt = TP.shape[0]
    k = 0
    for c in range(nc):
        first = math.nan
        for r in range(nr):
            if int(RP[r, L.R_CATEGORY]) == c and RS[r, L.RS_FIRST] >= 0.0:
                if math.isnan(first) or RS[r, L.RS_FIRST] < first:
                    first = RS[r, L.RS_FIRST]
        out[k] = first
        k += 1
    for r in range(nr):
        out[k] = RS[r, L.RS_TOTAL]
        k += 1
    total = 0.0  # covert transfers exposed: categories sanctioners react to (weight > 0)
    for r in range(nr):
        out[k] = RS[r, L.RS_DETECTED_TOTAL]
        if CP[int(RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0.0:
            total += RS[r, L.RS_DETECTED_TOTAL]
        k += 1
    for c in range(nc):
        d = 0.0
        for r in range(nr):
            if int(RP[r, L.R_CATEGORY]) == c:
                d += RS[r, L.RS_DETECTED_TOTAL]
        out[k] = d
        k += 1
    out[k] = total
    k += 1
    for t in range(nt):
        out[k] = TS[t, L.TS_REACHED]
        out[k + 1] = TS[t, L.TS_MONTH] if TS[t, L.TS_MONTH] >= 0.0 else math.nan
        out[k + 2] = TS[t, L.TS_BROKEN]
        out[k + 3] = TS[t, L.TS_BROKEN_MONTH] if TS[t, L.TS_BROKEN_MONTH] >= 0.0 else math.nan
        k += 4
    for a in range(n):
        out[k] = SA[a, L.S_PEAK]
        k += 1
    for a in range(n):
        out[k] = SA[a, L.S_GDP]
        k += 1
    for a in range(n):
        out[k] = SA[a, L.S_CRED]
        k += 1
    esc = 0.0
    failed = 0.0
    for a in range(n):
        out[k] = SA[a, L.S_ESCALATIONS]
        esc += SA[a, L.S_ESCALATIONS]
        failed += SA[a, L.S_FAILED]
        k += 1
    for a in range(n):
        out[k] = SA[a, L.S_REVENUE_TOTAL]
        k += 1
    for p in range(key_pairs.shape[0]):
        out[k] = AFF[key_pairs[p, 0], key_pairs[p, 1]]
        k += 1
    for c in range(nc):
        b = 0.0
        for a in range(n):
            b += BUILT[a, c]
        out[k] = b
        k += 1
    out[k] = esc
    out[k + 1] = failed
    out[k + 2] = G[L.G_INTENSITY]
    out[k + 3] = G[L.G_BALANCE]
    k += 4
    for t in range(nt):
        out[k] = TS[t, L.TS_AGREED]
        out[k + 1] = TS[t, L.TS_AGREED_MONTH] if TS[t, L.TS_AGREED_MONTH] >= 0.0 else math.nan
        out[k + 2] = TS[t, L.TS_BREACHES]
        k += 3
    for r in range(nr):
        out[k] = RS[r, L.RS_UNDER_DEAL]
        k += 1
    for col in (L.S_THREATS, L.S_COMPLIED, L.S_FAILED, L.S_HALTS, L.S_DEFIED):
        for a in range(n):
            out[k] = SA[a, col]
            k += 1
    for t in range(nt):
        ripe = TS[t, L.TS_RIPE_MONTH]
        out[k] = 1.0 if ripe >= 0.0 else 0.0
        out[k + 1] = ripe if ripe >= 0.0 else math.nan
        k += 2
    out[k] = G[L.G_OWN_ATT]
    out[k + 1] = G[L.G_OWN_DEF]


def monthly_names(cs: CompiledScenario, sanction_pairs: np.ndarray) -> list[str]:
    """Names of the figures recorded every month, in the order of :func:`record_month`."""
    a = cs.actor_ids
    names = [f"gdp_index_{x}" for x in a]
    names += [f"pressure_{x}" for x in a]
    names += [f"credibility_{x}" for x in a]
    names += [f"relief_priority_{x}" for x in a]
    names += [f"shipped_{r}" for r in cs.route_ids]
    names += [f"detected_{r}" for r in cs.route_ids]
    names += [f"sanctions_{a[i]}_{a[j]}" for i, j in sanction_pairs]
    names += [f"affinity_{a[i]}_{a[j]}" for i, j in cs.key_pairs]
    names += [f"trust_{t}" for t in cs.track_ids]
    names += [f"active_{t}" for t in cs.track_ids]
    names += [f"implementing_{t}" for t in cs.track_ids]
    names += ["war_intensity", "war_balance"]
    return names


def sanction_pairs(cs: CompiledScenario) -> np.ndarray:
    """Sender-target pairs the monthly record follows, ``(sender, target)`` rows in index order.

    Every pair whose sanction is above 0 at the start or can become so during the run, whatever
    the draws (parameters as the scenario and its events can set them):

    * escalation: an actor that can escalate (:func:`_can_escalate`) on any actor it starts out
      hostile to, and on every covert supplier (a supplier of a route sanctioners react to:
      its exposures are what trigger escalation, and affinity moves during a run);
    * snap-back: a counterpart of a relief track with a snapback above 0, on the track's party
      (a broken deal snaps its sanctions back even if it never escalates);
    * secondary sanctions: a sender with a secondary doctrine that can escalate, on each
      facilitator of a covert supplier it may escalate on: an actor that busts sanctions and
      trades with that supplier at the start or can come to (trade diversion moves a pressured
      target's trade toward partners that bust).

    A policy overlay changes doctrine before compilation, so the pairs of a scenario with a
    policy are those the policy makes possible.
    """
    can = cs.SANC0 > 0
    escalates = _can_escalate(cs)
    covert = sorted({int(cs.RP[r, L.R_SUPPLIER]) for r in _covert_routes(cs)})
    for i in np.flatnonzero(escalates):
        can[i, cs.AFF0[i] < 0] = True
        can[i, covert] = True
    snapback = _highest(cs, L.EV_ACTOR, L.A_SNAPBACK) > 0
    for t, kind in enumerate(cs.track_kinds):
        if kind == "relief":
            party = int(cs.TP[t, L.T_PARTY])
            can[(cs.TM[t] > 0) & snapback, party] = True
    secondary = escalates & (_highest(cs, L.EV_ACTOR, L.A_SECONDARY) > 0)
    busting = _highest(cs, L.EV_ACTOR, L.A_BUSTING) > 0
    diverts = _highest(cs, L.EV_WORLD, L.W_TRADE_DIV)[0] > 0
    for i in np.flatnonzero(secondary):
        for j in covert:
            if j != i:
                trades = (cs.TRADE0[j] > 0) | diverts
                facilitators = busting & trades
                facilitators[[i, j]] = False
                can[i, facilitators] = True
    for _month, table, row, col, _value in cs.EV:
        if int(table) == L.EV_PACKAGE:
            can[int(row), int(col)] = True
    np.fill_diagonal(can, False)
    return np.argwhere(can).astype(np.int64).reshape(-1, 2)


@njit
def record_month(row, s, spairs, key_pairs):
    """Write the month's figures into ``row`` (order of :func:`monthly_names`).

    ``s`` is the run's :class:`sim.core.rules.State`.
    """
    SA, SANC, AFF, RS, TS, G = s.SA, s.SANC, s.AFF, s.RS, s.TS, s.G
    n = SA.shape[0]
    k = 0
    for col in (L.S_GDP, L.S_PRESSURE, L.S_CRED, L.S_PRIO):
        for a in range(n):
            row[k] = SA[a, col]
            k += 1
    for r in range(RS.shape[0]):
        row[k] = RS[r, L.RS_SHIPPED]
        k += 1
    for r in range(RS.shape[0]):
        row[k] = RS[r, L.RS_DETECTED]
        k += 1
    for p in range(spairs.shape[0]):
        row[k] = SANC[spairs[p, 0], spairs[p, 1]]
        k += 1
    for p in range(key_pairs.shape[0]):
        row[k] = AFF[key_pairs[p, 0], key_pairs[p, 1]]
        k += 1
    for t in range(TS.shape[0]):
        row[k] = TS[t, L.TS_TRUST]
        k += 1
    for t in range(TS.shape[0]):
        row[k] = TS[t, L.TS_ACTIVE]
        k += 1
    for t in range(TS.shape[0]):
        row[k] = TS[t, L.TS_IMPLEMENTING]
        k += 1
    row[k] = G[L.G_INTENSITY]
    row[k + 1] = G[L.G_BALANCE]
