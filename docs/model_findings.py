r"""Measure the findings of issue 11 on the model, before and after its second edition.

Issue 11 lists measured findings about the model (relief deals that do not halt transfers,
warnings that deter nothing, "already isolated" that is not a mechanism, sourced parameters that
change nothing, bookkeeping artefacts, growth counted twice, outcomes that cannot vary). This
script measures every figure the issue quotes, with its definition, through the public Python API
only (``sim.load_scenario``, ``Scenario.with_overrides`` / ``with_policy``, ``sim.run_ensemble``
with every run's monthly record kept, ``sim.DiplomacyModel`` for the state at month 0), so that it
runs unchanged on the present model and on the rewritten one. A column, track or parameter that
no longer exists gives "n/a (... gone)" for that figure, never a crash.

Usage (from the repository root)::

    .venv/bin/python docs/model_findings.py --runs 4000 \
        --out docs/figures/model-findings-before.json
    .venv/bin/python docs/model_findings.py --runs 4000 \
        --out docs/figures/model-findings-after.json
    .venv/bin/python docs/model_findings.py --before docs/figures/model-findings-before.json \
        --after docs/figures/model-findings-after.json --write-md docs/model-changes.md

``--write-md`` rewrites only the generated tables of the page (between the marker comments
``<!-- model-findings:F1:begin -->`` and ``<!-- model-findings:F1:end -->``, one pair per
finding), so the text around them stays as written; a page that does not exist is created from a
frame. Every comparison of two variants uses common random numbers: run ``r`` of each variant is
keyed by (seed, r), so a difference is the variant's effect, not Monte Carlo noise.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

import sim
from sim.errors import ScenarioError

REPO = Path(__file__).resolve().parents[1]

#: The US escalation step of the present baseline (actors.USA.escalation_step), the size of
#: "one step" in F3 if the rewritten schema has no escalation step.
PRESENT_US_STEP = 0.15
#: Tolerance below which two floats of the model are the same (sanction levels, pressures).
EPS = 1e-9
#: A US "escalation" adding less than this is a bookkeeping re-raise (decay, then back to the cap).
SMALL_STEP = 0.02
#: A "failure to agree" within this distance of the sender's cap is a failure near the cap.
NEAR_CAP = 0.02
#: An imposition: a sender's sanctions on the target at least this much above their starting
#: level (as ``analysis.facts.roles.IMPOSITION``, fact 1 of docs/validation.md).
IMPOSITION = 0.10

#: What issue 11 quotes for each figure (for the comparison only; never used in a computation).
ISSUE: dict[str, float] = {
    "deal_struck_while_shipping": 0.76,
    "deal_broken_on_arrival": 0.23,
    "deal_months_with_shipments": 0.15,
    "durable_success_with_shipments": 0.64,
    "durable_success_rate": 0.42,
    "durable_success_rate_real_halt": 0.15,
    "drones_change_no_warning": 0.1,
    "first_us_escalation_median": 3.0,
    "first_us_escalation_before_missiles": 0.91,
    "us_headroom_at_missiles": 0.017,
    "step_isolated_over_fresh": 1.0,
    "pressure_change_with_sender_trade": 0.0,
    "adaptation_month0_IRN": 0.0,
    "adaptation_month0_RUS": 0.0,
    "inert_parameters_share": 1.0,
    "us_above_cap_share": 0.29,
    "us_small_escalations_share": 0.62,
    "nato_failures_near_cap_share": 0.16,
    "growth_year1_UKR": -17.9,
    "growth_year1_RUS": -2.1,
    "growth_year1_IRN": 0.9,
    "affinity_RUS_BRICS_constant": 16 / 20,  # "0.400 in every run outside one policy"
    "sanctions_on_russia_constant": 1.0,
    "maximum_pressure_relief_reached_at_mode": 1.0,
    "maximum_pressure_escalations_USA_at_mode": 1.0,
    "maximum_pressure_delivered_iran_russia_production_at_mode": 1.0,
}

#: Reference growth figures (figures.csv key, the year's value in %), read from the CSV when it
#: is found (``shared/reference/figures.csv`` above the repository); these values are the CSV's,
#: kept here so that the page can be written on a machine without the folder.
REFERENCE_GROWTH = {"UKR": ("ukraine_gdp_growth", "2023", 5.3),
                    "RUS": ("russia_gdp_growth", "2023", 3.6),
                    "IRN": ("iran_gdp_growth_2023", "2023", 5.04)}


# ------------------------------------------------------------------------------------------
# Runs and their records
# ------------------------------------------------------------------------------------------


class Gone(LookupError):
    """A column, track, route or parameter the measurement needs is not in this model."""


@dataclass
class Runs:
    """An ensemble: its summary (one row per run) and, if kept, every run's monthly record.

    Attributes:
        scenario: the scenario run (policies and overrides folded in).
        summary: one row per run, in run order.
        monthly: monthly figure name -> array runs x (months + 1); month 0 is the start.
    """

    scenario: sim.Scenario
    summary: pd.DataFrame
    monthly: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return len(self.summary)

    def col(self, name: str) -> np.ndarray:
        """Summary column ``name`` as floats; :class:`Gone` if the model has no such column."""
        if name not in self.summary.columns:
            raise Gone(f"column {name}")
        return self.summary[name].to_numpy(dtype=float)

    def series(self, name: str) -> np.ndarray:
        """Monthly figure ``name`` (runs x months+1); :class:`Gone` if not recorded."""
        if name not in self.monthly:
            raise Gone(f"column {name}")
        return self.monthly[name]

    def has(self, name: str) -> bool:
        """Whether monthly figure ``name`` is recorded."""
        return name in self.monthly


def run(scn: sim.Scenario, runs: int, seed: int, monthly: bool = True,
        months: int | None = None) -> Runs:
    """Runs 0..runs-1 of ``scn`` with the Numba engine (``sim.run_ensemble``).

    With ``monthly`` every run's monthly record is kept (``keep_runs``), as arrays by figure.
    """
    res = sim.run_ensemble(scn, runs=runs, seed=seed, months=months, progress=False,
                           bands=False, keep_runs=range(runs) if monthly else None)
    summary = res.summary.sort_values("run").reset_index(drop=True)
    out = Runs(scn, summary)
    if monthly:
        t = res.trajectories.sort_values(["run", "month"])
        n_months = int(t["month"].max()) + 1
        for name in t.columns:
            if name not in ("run", "month"):
                out.monthly[name] = t[name].to_numpy(dtype=float).reshape(runs, n_months)
    return out


@dataclass(frozen=True)
class Roles:
    """Who is who, read from the scenario (the first relief track).

    Attributes:
        track: the relief track's id.
        party: the sanctioned supplier who negotiates relief (Iran in the baseline).
        senders: the track's counterparts, largest leverage first (the US, NATO).
        covert: the party's covert routes (their category's escalation weight above 0).
        drone_route: the party's route of the category ``drones`` ("" if none).
        missile_route: the party's route of the category ``missiles`` ("" if none).
    """

    track: str
    party: str
    senders: tuple[str, ...]
    covert: tuple[str, ...]
    drone_route: str
    missile_route: str

    @property
    def lead(self) -> str:
        """The sender with the largest leverage (the US in the baseline)."""
        return self.senders[0]

    @staticmethod
    def of(scn: sim.Scenario) -> Roles:
        """The roles in ``scn``; :class:`Gone` if it has no relief track."""
        spec = scn.spec
        relief = [(tid, t) for tid, t in spec.tracks.items() if t.kind == "relief"]
        if not relief:
            raise Gone("relief track")
        tid, track = relief[0]
        senders = tuple(sorted(track.counterparts,
                                key=lambda a: -getattr(spec.actors[a], "leverage", 0.0)))
        own = {rid: r for rid, r in spec.routes.items() if r.supplier == track.party}
        covert = tuple(rid for rid, r in own.items()
                       if getattr(spec.categories[r.category], "escalation_weight", 1.0) > 0)

        def route_of(category: str) -> str:
            return next((rid for rid, r in own.items() if r.category == category), "")

        return Roles(tid, track.party, senders, covert, route_of("drones"), route_of("missiles"))


def any_shipped(ens: Runs, routes: Iterable[str]) -> np.ndarray:
    """Runs x months+1: True where some route of ``routes`` shipped in the month."""
    out = np.zeros_like(next(iter(ens.monthly.values())), dtype=bool)
    for r in routes:
        out |= ens.series(f"shipped_{r}") > 0
    return out


def snapback_months(ens: Runs, roles: Roles) -> np.ndarray:
    """Runs x months (1..H): months in which a relief deal broke (snap-back).

    A deal in force at the end of month m-1 and not at the end of month m broke in month m; so
    did the first deal in its month when it broke in the month it was struck
    (``<track>_broken_month``). A later deal struck and broken in one month leaves no trace in
    the record and is missed.
    """
    active = ens.series(f"active_{roles.track}") > 0.5
    snap = active[:, :-1] & ~active[:, 1:]
    first = ens.col(f"{roles.track}_broken_month")
    hit = np.isfinite(first)
    snap[np.flatnonzero(hit), first[hit].astype(int) - 1] = True
    return snap


def escalation_rises(ens: Runs, sender: str, roles: Roles) -> tuple[np.ndarray, np.ndarray]:
    """Rises of ``sender``'s sanctions that are escalations, per month.

    Returns ``(rise, sizes)``: ``rise`` runs x months (1..H), True where some recorded sanction
    of ``sender`` rose by an escalation in the month; ``sizes`` the size of every such rise (one
    per target and month). The monthly record has no escalation column, so snap-back is told
    apart by when and where it lands: a rise of the sanctions on the party in a month in which
    the relief deal broke (:func:`snapback_months`), or a rise that ends above the sender's
    ``escalation_cap`` (and above the starting level), is snap-back and left out. A sender in a
    deal eases on the party, so no escalation on it is lost that way; an escalation in the month
    a deal is struck and broken is (rare: the check ``rises / escalations_<sender>`` is kept in
    the JSON).
    """
    snap = snapback_months(ens, roles)
    # Rounds the scenario schedules (events packages.SENDER.TARGET) are not escalations.
    scheduled = {(e.key.split(".")[2], e.month) for e in ens.scenario.spec.events
                 if e.key.startswith(f"packages.{sender}.")}
    cap = getattr(ens.scenario.spec.actors[sender], "escalation_cap", math.inf)
    # a scheduled event may raise the cap (the baseline's maximum pressure: 1.0 from month 14)
    cap = max([cap, *(e.value for e in ens.scenario.spec.events
                      if e.key == f"actors.{sender}.escalation_cap")])
    prefix = f"sanctions_{sender}_"
    names = [n for n in ens.monthly if n.startswith(prefix)]
    if not names:
        raise Gone(f"column {prefix}<target>")
    rise = np.zeros_like(snap)
    sizes = []
    for name in names:
        x = ens.series(name)
        up = np.diff(x, axis=1)
        hit = (up > EPS) & (x[:, 1:] <= max(cap, x[0, 0]) + EPS)
        for target, month in scheduled:
            if name == f"{prefix}{target}":
                hit[:, month - 1] = False
        if name == f"{prefix}{roles.party}" and sender in roles.senders:
            hit &= ~snap
        rise |= hit
        sizes.append(up[hit])
    return rise, np.concatenate(sizes) if sizes else np.zeros(0)


# ------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, with its definition.

    Attributes:
        key: a stable identifier (the same before and after the rewrite).
        label: the figure in a few plain words (the page's table row).
        definition: how it is computed, in model terms.
        unit: ``share`` (0 to 1), ``percent`` (a % change or growth), ``month``, ``level``
            (a sanction level, pressure or credibility) or ``count``.
        value: the figure; None when it cannot be computed on this model (see ``na``).
        low: smallest value it can take.
        high: largest value it can take.
        runs: Monte Carlo runs behind it (0 for a deterministic computation).
        where: the scenario and policy it is measured on.
        issue: what issue 11 quotes, if it quotes a figure.
        na: why the value is None ("n/a (column gone: relief_month)").
        extra: secondary numbers (counts, other codings, checks).
    """

    key: str
    label: str
    definition: str
    unit: str
    value: float | None
    low: float
    high: float
    runs: int
    where: str
    issue: float | None = None
    na: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def figure(key: str, label: str, definition: str, unit: str, low: float, high: float,
           runs: int, where: str, compute: Callable[[], Any]) -> Figure:
    """A :class:`Figure` from ``compute()`` (a value, or a value and a dict of extras).

    A column, track or parameter missing from the model (:class:`Gone`, or an override the
    schema refuses) gives ``value`` None and the reason in ``na``, never an exception.
    """
    try:
        got = compute()
    except Gone as e:
        return Figure(key, label, definition, unit, None, low, high, runs, where,
                      ISSUE.get(key), na=f"n/a ({e} gone)")
    except ScenarioError as e:
        return Figure(key, label, definition, unit, None, low, high, runs, where,
                      ISSUE.get(key), na=f"n/a (parameter gone: {e.key})")
    except (AttributeError, KeyError) as e:  # a schema field or id the rewrite removed
        return Figure(key, label, definition, unit, None, low, high, runs, where,
                      ISSUE.get(key), na=f"n/a ({type(e).__name__}: {e})")
    value, extra = got if isinstance(got, tuple) else (got, {})
    value = None if value is None or not math.isfinite(value) else float(value)
    return Figure(key, label, definition, unit, value, low, high, runs, where, ISSUE.get(key),
                  na="" if value is not None else "n/a (no run where it is defined)",
                  extra=_plain(extra))


def _plain(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays as Python numbers and lists (for JSON)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _share(x: np.ndarray) -> float:
    """Mean of a boolean array; NaN when it is empty."""
    return float(np.mean(x)) if x.size else math.nan


@dataclass
class Finding:
    """One finding of issue 11: its figures and its detail tables."""

    id: str
    title: str
    figures: list[Figure]
    tables: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """The scenario measured, the run count and seed, and the ensembles run so far."""

    scenario: str
    runs: int
    seed: int
    cache: dict[str, Runs] = field(default_factory=dict)

    def base(self) -> sim.Scenario:
        """The scenario measured, as its file gives it."""
        return sim.load_scenario(self.scenario)

    def ensemble(self, key: str, scn: sim.Scenario | None = None, monthly: bool = True,
                 runs: int | None = None) -> Runs:
        """The ensemble ``key`` (of ``scn``, default the base scenario), run on first request."""
        if key not in self.cache:
            self.cache[key] = run(scn or self.base(), runs or self.runs, self.seed, monthly)
        return self.cache[key]


# ------------------------------------------------------------------------------------------
# F1: relief deals that do not halt transfers
# ------------------------------------------------------------------------------------------


def durable_compliance(ens: Runs, roles: Roles) -> tuple[np.ndarray, np.ndarray]:
    """Episodes and durable successes, coded as fact 1 of docs/validation.md.

    The coding of ``analysis.facts.roles.durable_compliance`` (a test checks they agree):
    an *episode* is a run in which a sender's sanctions on the party stand at least
    ``IMPOSITION`` above their starting level in some month; it *succeeds* when a relief deal is
    first struck after the first such month, is never broken and is in force at the horizon.
    """
    first = np.full(ens.runs, np.inf)
    for s in roles.senders:
        name = f"sanctions_{s}_{roles.party}"
        if not ens.has(name):
            continue
        x = ens.series(name)
        up = (x - x[:, :1]) >= IMPOSITION - 1e-12
        first = np.where(up.any(axis=1), np.minimum(first, up.argmax(axis=1)), first)
    t = roles.track
    episode = np.isfinite(first)
    deal = ens.col(f"{t}_month")
    kept = ((ens.col(f"{t}_reached") > 0.5) & (ens.col(f"{t}_broken") < 0.5)
            & (ens.series(f"active_{t}")[:, -1] > 0.5))
    return episode, episode & kept & (np.nan_to_num(deal, nan=-1.0) > first)


def measure_relief(ctx: Context) -> Finding:
    """F1: relief deals struck while the party ships, broken at once, shipments under a deal."""
    base = ctx.ensemble("base")
    where = ctx.scenario
    n = base.runs
    roles = Roles.of(base.scenario)

    def reached() -> tuple[np.ndarray, np.ndarray]:
        ok = base.col(f"{roles.track}_reached") > 0.5
        month = base.col(f"{roles.track}_month")
        return ok, np.where(ok, np.nan_to_num(month, nan=0.0), 0).astype(int)

    def ship() -> np.ndarray:
        return any_shipped(base, roles.covert)

    def in_force() -> np.ndarray:
        # Month m (1..H) counts as under the deal when the monthly record of month m shows it
        # in force (active_<track>): the month it is struck (unless it breaks then) and every
        # month it lasts, but not the month it breaks. This is issue 11's coding; the months
        # whose choice was made under the deal (in force at the end of month m-1) are an extra.
        return base.series(f"active_{roles.track}")[:, 1:] > 0.5

    def decided_under_deal() -> np.ndarray:
        return base.series(f"active_{roles.track}")[:, :-1] > 0.5

    def struck_while_shipping():
        ok, month = reached()
        s = ship()
        hit = s[np.arange(n), month][ok]
        return _share(hit), {"deals": int(ok.sum())}

    def broken_on_arrival():
        ok, month = reached()
        broken = base.col(f"{roles.track}_broken_month")
        same = np.nan_to_num(broken, nan=-1.0) == month
        return _share(same[ok]), {"deals": int(ok.sum())}

    def months_with_shipments():
        f, g = in_force(), decided_under_deal()
        s = ship()[:, 1:]
        return _share(s[f]), {"deal_months": int(f.sum()),
                              "share_of_months_decided_under_the_deal": _share(s[g]),
                              "months_decided_under_the_deal": int(g.sum())}

    def durable():
        episode, success = durable_compliance(base, roles)
        return _share(success[episode]), {"episodes": int(episode.sum()),
                                          "successes": int(success.sum())}

    def shipped_under_durable(under: Callable[[], np.ndarray] = in_force):
        episode, success = durable_compliance(base, roles)
        dirty = (ship()[:, 1:] & under()).any(axis=1)
        return episode, success, dirty

    def durable_with_shipments():
        _, success, dirty = shipped_under_durable()
        _, _, strict = shipped_under_durable(decided_under_deal)
        return _share(dirty[success]), {
            "successes": int(success.sum()),
            "share_shipping_in_months_decided_under_the_deal": _share(strict[success])}

    def durable_real_halt():
        episode, success, dirty = shipped_under_durable()
        _, _, strict = shipped_under_durable(decided_under_deal)
        return _share((success & ~dirty)[episode]), {
            "episodes": int(episode.sum()),
            "rate_counting_months_decided_under_the_deal": _share((success & ~strict)[episode])}

    covert = ", ".join(roles.covert)
    figs = [
        figure("deal_struck_while_shipping", "First relief deals struck in a month the party "
               "ships", f"Share of runs with a relief deal ({roles.track}) whose first deal is "
               f"struck in a month in which {roles.party} ships on a covert route ({covert}; "
               "escalation weight > 0): shipped_<route> > 0 in the month relief_month.",
               "share", 0, 1, n, where, struck_while_shipping),
        figure("deal_broken_on_arrival", "Deals broken in the month they are struck",
               f"Share of runs with a relief deal in which {roles.track}_broken_month equals "
               f"{roles.track}_month (the first deal breaks in the month it is struck).",
               "share", 0, 1, n, where, broken_on_arrival),
        figure("deal_months_with_shipments", "Deal-in-force months with covert shipments",
               f"Over all runs and months m = 1..H whose monthly record shows the deal in force "
               f"(active_{roles.track} = 1 at month m: the month it is struck, unless it breaks "
               "then, and every month it lasts), the share in which "
               f"{roles.party} ships on a covert route (extra: over the months whose choice was "
               "made under the deal, i.e. in force at the end of month m-1).", "share", 0, 1, n,
               where, months_with_shipments),
        figure("durable_success_rate", "Durable sanctions success (fact 1)",
               "Fact 1 of docs/validation.md: share of episodes (a sender's sanctions on the "
               f"party >= {IMPOSITION} above their start in some month) ending in a relief deal "
               "struck after the first imposition, never broken, in force at the horizon.",
               "share", 0, 1, n, where, durable),
        figure("durable_success_with_shipments", "Durable successes with shipments under the "
               "deal", "Share of fact 1's successes in which the party ships on a covert route "
               "in some month under the deal (months as in 'deal-in-force months', so the month "
               "the deal is struck counts).", "share", 0, 1, n,
               where, durable_with_shipments),
        figure("durable_success_rate_real_halt", "Durable success counting only real halts",
               "Fact 1's success rate counting as success only the runs with no covert "
               "shipment in any month under the deal.", "share", 0, 1, n, where,
               durable_real_halt),
    ]
    return Finding("F1", "A relief deal does not halt transfers", figs)


# ------------------------------------------------------------------------------------------
# F2: warnings that deter nothing
# ------------------------------------------------------------------------------------------


def no_warning_overrides(scn: sim.Scenario) -> dict[str, Any]:
    """Overrides removing every warning the scenario gives: at the start and by events.

    Every actor's ``warning`` is set to 0 and every scheduled event on a ``*.warning`` key is
    dropped. A sanctioner that has not warned still warns on its own when the trigger first
    passes its threshold (``decide_sanctions``): no parameter turns that off, so this removes the
    warnings the scenario states, not the model's automatic first warning.
    """
    over: dict[str, Any] = {f"actors.{a}.warning": 0.0 for a, actor in scn.spec.actors.items()
                            if "warning" in type(actor).model_fields}
    events = [e.model_dump(by_alias=True) for e in scn.spec.events
              if not e.key.endswith(".warning")]
    if len(events) != len(scn.spec.events):
        over["events"] = events
    return over


def measure_warnings(ctx: Context) -> Finding:
    """F2: deterrence by warnings and threats; the US's escalations before the missiles."""
    base = ctx.ensemble("base")
    scn = base.scenario
    roles = Roles.of(scn)
    n = base.runs
    where = ctx.scenario
    drones = f"delivered_{roles.drone_route}" if roles.drone_route else "delivered_<drones>"
    missiles_open = next((e.month for e in scn.spec.events
                          if e.key == f"routes.{roles.missile_route}.open" and e.value), 9)

    def change(key: str, over: Callable[[], dict[str, Any]]):
        def compute():
            b = base.col(drones).mean()
            v = ctx.ensemble(key, scn.with_overrides(over()), monthly=False).col(drones).mean()
            return 100.0 * (v / b - 1.0), {"baseline_mean": b, "variant_mean": v}
        return compute

    def first_escalation() -> np.ndarray:
        rise, _ = escalation_rises(base, roles.lead, roles)
        return np.where(rise.any(axis=1), rise.argmax(axis=1) + 1.0, np.nan)

    def median_first():
        first = first_escalation()
        esc = base.col(f"escalations_{roles.lead}")
        rise, sizes = escalation_rises(base, roles.lead, roles)
        return float(np.nanmedian(first)), {
            "runs_with_escalation": int(np.isfinite(first).sum()),
            "check_rises_over_escalations": float(sizes.size / esc.sum()) if esc.sum() else None}

    def before_missiles():
        first = first_escalation()
        raw = np.zeros((n, scn.horizon), dtype=bool)  # every rise, snap-back included
        for name, x in base.monthly.items():
            if name.startswith(f"sanctions_{roles.lead}_"):
                raw |= np.diff(x, axis=1) > EPS
        raw_first = np.where(raw.any(axis=1), raw.argmax(axis=1) + 1.0, np.inf)
        return _share(np.nan_to_num(first, nan=np.inf) < missiles_open), {
            "missile_month": missiles_open,
            "share_of_runs_with_escalation": _share(first[np.isfinite(first)] < missiles_open),
            "share_counting_snapback_rises_too": _share(raw_first < missiles_open)}

    def headroom():
        cap = scn.spec.actors[roles.lead].escalation_cap
        x = base.series(f"sanctions_{roles.lead}_{roles.party}")
        entering = cap - x[:, missiles_open - 1]
        after = cap - x[:, missiles_open]
        return float(np.mean(entering)), {
            "cap": cap, "median": float(np.median(entering)),
            "share_of_runs_at_or_above_cap": _share(entering <= EPS),
            "mean_end_of_month": float(np.mean(after)),
            "median_end_of_month": float(np.median(after))}

    figs = [
        figure("drones_change_no_warning", "Drone deliveries with every warning removed",
               f"% change of mean {drones} (units over the run) when every actor's warning is 0 "
               "and the scheduled warning events are dropped (the automatic first warning on "
               "detection stays: no parameter removes it), against the scenario.", "percent",
               -100, math.inf, n, where,
               change("no_warning", lambda: no_warning_overrides(scn))),
        figure("drones_change_threats_ignored", "Drone deliveries when the party ignores threats",
               f"% change of mean {drones} with world.w_risk = 0 (the expected sanction cost "
               "of a shipment weighs nothing), against the scenario.", "percent", -100,
               math.inf, n, where, change("w_risk_0", lambda: {"world.w_risk": 0.0})),
        figure("first_us_escalation_median", f"Month of the first {roles.lead} escalation "
               "(median)", f"Median over runs with one of the first month in which some "
               f"sanction of {roles.lead} rises (monthly sanctions_{roles.lead}_<target>), a "
               "rise in a month the relief deal breaks (snap-back) left out.", "month", 1,
               scn.horizon, n, where, median_first),
        figure("first_us_escalation_before_missiles", f"Runs whose first {roles.lead} "
               f"escalation comes before the missiles (month {missiles_open})",
               f"Share of all runs whose first {roles.lead} escalation (as above) is in a month "
               f"before month {missiles_open}, when the missile route opens.", "share", 0, 1, n,
               where, before_missiles),
        figure("us_headroom_at_missiles", f"{roles.lead} headroom when the missiles come",
               f"Mean over runs of {roles.lead}'s escalation_cap minus "
               f"sanctions_{roles.lead}_{roles.party} entering month {missiles_open}, when the "
               f"missile route opens (the record of month {missiles_open - 1}; extra: at the "
               "end of the month).", "level", -1, 1, n, where, headroom),
    ]
    return Finding("F2", "Warnings deter nothing", figs)


# ------------------------------------------------------------------------------------------
# F3: "already isolated, so new sanctions bite less" is not a mechanism
# ------------------------------------------------------------------------------------------


def pressure_at_start(scn: sim.Scenario, party: str) -> float:
    """The party's effective sanction pressure at month 0 (``pressure_<party>``, one run)."""
    ens = run(scn, 1, 0, monthly=True, months=1)
    return float(ens.series(f"pressure_{party}")[0, 0])


def with_sanction(scn: sim.Scenario, sender: str, target: str, level: float,
                  others: bool = True) -> sim.Scenario:
    """``scn`` with the starting sanction of ``sender`` on ``target`` at ``level``.

    With ``others`` False every other starting sanction on ``target`` is removed too.
    """
    rows = [s.model_dump(by_alias=True) for s in scn.spec.sanctions
            if s.target != target or (others and s.sender != sender)]
    if level > 0:
        rows.append({"sender": sender, "target": target, "intensity": level})
    return scn.with_overrides({"sanctions": rows})


def with_trade(scn: sim.Scenario, source: str, to: str, share: float) -> sim.Scenario:
    """``scn`` with the trade share of ``source`` going to ``to`` set to ``share``."""
    rows = [t.model_dump(by_alias=True) for t in scn.spec.trade
            if not (t.source == source and t.to == to)]
    if share > 0:
        rows.append({"from": source, "to": to, "share": share})
    return scn.with_overrides({"trade": rows})


def adaptation_at_start(scn: sim.Scenario, actor: str) -> float:
    """An actor's adaptation to sanctions at month 0, read from a Mesa model of ``scn``.

    The agent's ``adaptation`` attribute if it has one; else the state array of the run
    (``model.month_arrays()``, column ``S_ADAPT`` of :mod:`sim.core.layout`), since the present
    model shows adaptation in no attribute, summary or monthly column.
    """
    model = sim.DiplomacyModel(scn, seed=0)
    agent = model.actors_by_id.get(actor)
    if agent is None:
        raise Gone(f"actor {actor}")
    if hasattr(agent, "adaptation"):
        return float(agent.adaptation)
    from sim.core import layout

    col = getattr(layout, "S_ADAPT", None)
    if col is None:
        raise Gone("adaptation state")
    state = model.month_arrays()[2]
    return float(state.SA[list(model.actors_by_id).index(actor), col])


def measure_isolation(ctx: Context) -> Finding:
    """F3: the marginal pressure of one escalation step, trade with the sender, adaptation."""
    scn = ctx.base()
    roles = Roles.of(scn)
    lead, party = roles.lead, roles.party
    spec = scn.spec
    # One step of the lead sender's doctrine; if the schema no longer has one (escalation as a
    # package), the present model's US step, so that "one step" is the same size in both.
    step = getattr(spec.actors[lead], "escalation_step", PRESENT_US_STEP)
    start = next((s.intensity for s in spec.sanctions
                  if s.sender == lead and s.target == party), 0.0)
    where = f"{ctx.scenario}, month 0"
    cache: dict[str, float] = {}

    def p(key: str, make: Callable[[], sim.Scenario]) -> float:
        if key not in cache:
            cache[key] = pressure_at_start(make(), party)
        return cache[key]

    def steps():
        up = min(1.0, start + step)
        isolated = (p("iso_up", lambda: with_sanction(scn, lead, party, up))
                    - p("iso", lambda: with_sanction(scn, lead, party, start)))
        fresh = (p("fresh_up", lambda: with_sanction(scn, lead, party, step))
                 - p("fresh", lambda: with_sanction(scn, lead, party, 0.0)))
        alone = (p("alone_up", lambda: with_sanction(scn, lead, party, step, others=False))
                 - p("alone", lambda: with_sanction(scn, lead, party, 0.0, others=False)))
        return isolated / fresh, {"step": step, "from_level": start,
                                  "added_on_isolated": isolated, "added_on_fresh": fresh,
                                  "added_on_unsanctioned_target": alone,
                                  "isolated_over_unsanctioned": isolated / alone}

    def room() -> float:
        used = sum(t.share for t in spec.trade if t.source == party and t.to != lead)
        return round(max(0.0, 1.0 - used), 6)

    def trade_change():
        share = room()
        if share <= 0:
            raise Gone(f"room in {party}'s trade row")
        now = next((t.share for t in spec.trade if t.source == party and t.to == lead), 0.0)
        a = p("trade_none", lambda: with_trade(scn, party, lead, 0.0))
        b = p("trade_full", lambda: with_trade(scn, party, lead, share))
        up = min(1.0, start + step)
        step_none = p("trade_none_up", lambda: with_trade(
            with_sanction(scn, lead, party, up), party, lead, 0.0)) - a
        step_full = p("trade_full_up", lambda: with_trade(
            with_sanction(scn, lead, party, up), party, lead, share)) - b
        return b - a, {"trade_share_now": now, "trade_share_moved_to": share,
                       "pressure_no_trade": a, "pressure_full_trade": b,
                       "step_no_trade": step_none, "step_full_trade": step_full}

    figs = [
        figure("step_isolated_over_fresh", f"One {lead} step on isolated {party} / on a fresh "
               "target", f"Month-0 pressure_{party} added by one {lead} escalation step "
               f"({step}) from {lead}'s starting level ({start}) on {party}, divided by the "
               f"pressure the same step adds from 0 (other senders' sanctions as in the "
               "scenario); 1 = isolation changes nothing. Measured with sim.run_ensemble at "
               "month 0 on scenarios whose starting sanctions are set by overrides.", "level",
               0, math.inf, 1, where, steps),
        figure("pressure_change_with_sender_trade", f"Pressure change when {party} trades "
               f"with {lead}", f"Month-0 pressure_{party} with {party}'s free trade share "
               f"(1 - its other shares) going to {lead}, minus the pressure with no trade with "
               f"{lead}; 0 = pressure ignores the trade left with the sender (extra: the step "
               "of one escalation in both cases).", "level", -1, 1, 1, where, trade_change),
    ]
    for actor in (party, *(a for a in ("RUS",) if a in spec.actors and a != party)):
        figs.append(figure(
            f"adaptation_month0_{actor}", f"Adaptation of {actor} at month 0",
            f"{actor}'s adaptation to sanctions at month 0 (0 = sanctions felt as new, "
            "whatever their age), from sim.DiplomacyModel.", "share", 0, 1, 0, ctx.scenario,
            lambda actor=actor: adaptation_at_start(scn, actor)))
    return Finding("F3", "\"Already isolated\" is not a mechanism", figs)


# ------------------------------------------------------------------------------------------
# F4: sourced parameters that change nothing
# ------------------------------------------------------------------------------------------


def inert_candidates(scn: sim.Scenario, roles: Roles) -> list[str]:
    """The parameters issue 11 lists as changing nothing, as dotted keys of ``scn``.

    GDP of every actor but the party; cohesion and leverage of the actors that never sanction
    (no escalation step, no starting sanction, no seat at a relief track); alignment, milex and
    openness of every actor; deny_probability of the covert suppliers; world.denial_softening
    and world.exposure_penalty.
    """
    spec = scn.spec
    seated = {c for t in spec.tracks.values() if t.kind == "relief" for c in t.counterparts}
    senders = {s.sender for s in spec.sanctions}
    never = [a for a, x in spec.actors.items()
             if getattr(x, "escalation_step", 0.0) <= 0 and a not in senders and a not in seated]
    suppliers = sorted({spec.routes[r].supplier for r in roles.covert})
    keys = [f"actors.{a}.gdp" for a in spec.actors if a != roles.party]
    keys += [f"actors.{a}.cohesion" for a in never if getattr(spec.actors[a], "kind", "") == "bloc"]
    keys += [f"actors.{a}.alignment" for a in spec.actors]
    keys += [f"actors.{a}.leverage" for a in never]
    keys += [f"actors.{a}.deny_probability" for a in suppliers]
    keys += ["world.denial_softening", "world.exposure_penalty"]
    keys += [f"actors.{a}.milex" for a in spec.actors]
    keys += [f"actors.{a}.openness" for a in spec.actors]
    return keys


def field_bounds(scn: sim.Scenario, key: str) -> tuple[float, float]:
    """The schema's closed bounds of parameter ``key`` (``actors.USA.gdp``).

    Raises:
        Gone: if the scenario has no such parameter.
    """
    parts = key.split(".")
    node: Any = scn.spec
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            raise Gone(f"parameter {key}")
    fields = type(node).model_fields
    if parts[-1] not in fields:
        raise Gone(f"parameter {key}")
    lo = hi = None
    for m in fields[parts[-1]].metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    if lo is None or hi is None:
        raise Gone(f"bounds of {key}")
    return float(lo), float(hi)


def summary_change(a: Runs, b: Runs, skip: str = "affinity_") -> dict[str, Any]:
    """The largest run-by-run change between two ensembles of common random numbers.

    Over every summary column both have (but ``run`` and those starting with ``skip``): the
    largest absolute difference where both values are defined, the column where it is, and the
    number of run-column cells where only one of the two is defined (an event that happens in
    one variant and not the other: a month column). Also the largest change of the skipped
    columns.
    """
    cols = [c for c in a.summary.columns if c in b.summary.columns and c != "run"]
    best, where, flips, skipped = 0.0, "", 0, 0.0
    for c in cols:
        x, y = a.col(c), b.col(c)
        both = np.isfinite(x) & np.isfinite(y)
        d = float(np.max(np.abs(x[both] - y[both]))) if both.any() else 0.0
        if c.startswith(skip):
            skipped = max(skipped, d)
            continue
        flip = int(np.sum(np.isfinite(x) != np.isfinite(y)))
        flips += flip
        if d > best or (flip and not where):
            best, where = max(best, d), c
    return {"max_change": best, "column": where, "event_flips": flips,
            "max_change_skipped": skipped}


def measure_inert(ctx: Context) -> Finding:
    """F4: move each listed parameter across its schema range; what changes in the summary."""
    base = ctx.ensemble("base")
    scn = base.scenario
    roles = Roles.of(scn)
    rows = []
    for key in inert_candidates(scn, roles):
        row: dict[str, Any] = {"parameter": key}
        try:
            lo, hi = field_bounds(scn, key)
            worst: dict[str, Any] = {"max_change": 0.0, "column": "", "event_flips": 0,
                                     "max_change_skipped": 0.0}
            for end in (lo, hi):
                var = run(scn.with_overrides({key: end}), ctx.runs, ctx.seed, monthly=False)
                got = summary_change(base, var)
                if (got["max_change"] > worst["max_change"]
                        or got["event_flips"] > worst["event_flips"]):
                    worst.update({k: got[k] for k in ("max_change", "column", "event_flips")})
                worst["max_change_skipped"] = max(worst["max_change_skipped"],
                                                  got["max_change_skipped"])
            row.update(low=lo, high=hi, **worst,
                       changes_nothing=worst["max_change"] == 0 and worst["event_flips"] == 0)
        except (Gone, ScenarioError, AttributeError, KeyError) as e:
            row.update(na=f"n/a ({e} gone)" if isinstance(e, Gone)
                       else f"n/a (parameter gone: {e.key})" if isinstance(e, ScenarioError)
                       else f"n/a ({type(e).__name__}: {e})")
        rows.append(row)
    measured = [r for r in rows if "na" not in r]

    def share_inert():
        if not measured:
            raise Gone("every listed parameter")
        inert = [r for r in measured if r["changes_nothing"]]
        return len(inert) / len(measured), {"inert": len(inert), "measured": len(measured)}

    def largest():
        if not measured:
            raise Gone("every listed parameter")
        return max(r["max_change"] for r in measured)

    figs = [
        figure("inert_parameters_share", "Listed parameters that change nothing",
               "Share of the parameters issue 11 lists (table below) whose move to either end "
               "of its schema range, on common random numbers, changes no summary column but "
               "affinity_* in any run (no value, no event gained or lost).", "share", 0, 1,
               base.runs, ctx.scenario, share_inert),
        figure("inert_parameters_largest_change", "Largest change any of them makes",
               "The largest run-by-run absolute change in a summary column (affinity_* left "
               "out) over every listed parameter and both ends of its range.", "level", 0,
               math.inf, base.runs, ctx.scenario, largest),
    ]
    return Finding("F4", "Sourced parameters that change nothing", figs,
                   tables={"parameters": rows})


# ------------------------------------------------------------------------------------------
# F5: bookkeeping artefacts
# ------------------------------------------------------------------------------------------


def reversed_actors(scn: sim.Scenario) -> sim.Scenario:
    """``scn`` with its actors table listed in reverse order (nothing else changed).

    Built from the scenario's own TOML (``Scenario.to_toml``): the actors table reversed,
    written to a temporary file and loaded back with ``sim.load_scenario``.
    """
    data = tomllib.loads(scn.to_toml())
    data["actors"] = dict(reversed(list(data["actors"].items())))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{scn.name}.toml"
        path.write_text(tomli_w.dumps(data))
        return sim.load_scenario(path)


def measure_bookkeeping(ctx: Context) -> Finding:
    """F5: sanctions above the cap, tiny escalations, failures at the cap, listing order."""
    base = ctx.ensemble("base")
    scn = base.scenario
    roles = Roles.of(scn)
    spec = scn.spec
    lead, party = roles.lead, roles.party
    n = base.runs
    where = ctx.scenario
    # The sender most likely to fail to agree: the counterpart with the lowest cohesion.
    splitter = min(roles.senders, key=lambda a: getattr(spec.actors[a], "cohesion", 1.0))

    def above_cap():
        cap = spec.actors[lead].escalation_cap
        x = base.series(f"sanctions_{lead}_{party}")
        peak = x.max(axis=1)
        over = peak > max(cap, x[0, 0]) + EPS
        every = np.zeros(n, dtype=bool)
        for name, y in base.monthly.items():
            m = re.fullmatch(r"sanctions_(\w+?)_(\w+)", name)
            if m and m.group(1) in spec.actors:
                c = spec.actors[m.group(1)].escalation_cap
                every |= y.max(axis=1) > max(c, y[0, 0]) + EPS
        return _share(over), {"cap": cap, "mean_peak_when_over": float(np.mean(peak[over]))
                              if over.any() else None, "any_sender_any_target": _share(every)}

    def small():
        _, sizes = escalation_rises(base, lead, roles)
        return _share(sizes < SMALL_STEP), {"escalations": int(sizes.size)}

    def near_cap():
        cred = base.series(f"credibility_{splitter}")
        x = base.series(f"sanctions_{splitter}_{party}")
        cap = spec.actors[splitter].escalation_cap
        fail = np.diff(cred, axis=1) < -EPS
        near = (cap - x[:, :-1]) < NEAR_CAP
        total = base.col("failed_follow_through").sum() if "failed_follow_through" in \
            base.summary.columns else math.nan
        return _share(near[fail]), {"failure_months": int(fail.sum()),
                                    "failures_in_summary_all_senders": total}

    order: dict[str, Any] = {}

    def order_runs() -> dict[str, Any]:
        if not order:
            pol = "secondary_sanctions"
            a = ctx.ensemble("secondary", scn.with_policy(pol))
            b = ctx.ensemble("secondary_reversed", reversed_actors(scn).with_policy(pol))
            name = f"sanctions_{lead}_RUS"
            order["file"] = float(a.series(name)[:, -1].mean())
            order["reversed"] = float(b.series(name)[:, -1].mean())
            order["peak_file"] = float(a.series(name).max())
            order["peak_reversed"] = float(b.series(name).max())
            changed = np.zeros(a.runs, dtype=bool)
            for c in a.summary.columns:
                if c != "run" and c in b.summary.columns:
                    x, y = a.col(c), b.col(c)
                    changed |= ~((x == y) | (np.isnan(x) & np.isnan(y)))
            order["changed"] = _share(changed)
            gdp = f"gdp_index_{party}"
            order["gdp_month1"] = _share(np.abs(a.series(gdp)[:, 1] - b.series(gdp)[:, 1]) > 0)
            order["final_means"] = {
                k: [float(a.series(k)[:, -1].mean()), float(b.series(k)[:, -1].mean())]
                for k in a.monthly if k.startswith("sanctions_") and b.has(k)}
        return order

    figs = [
        figure("us_above_cap_share", f"Runs with {lead} sanctions on {party} above its cap",
               f"Share of runs in which sanctions_{lead}_{party} exceeds {lead}'s "
               "escalation_cap (or its starting level, if higher) in some month.", "share", 0,
               1, n, where, above_cap),
        figure("us_small_escalations_share", f"{lead} escalations adding under {SMALL_STEP}",
               f"Share of {lead}'s escalations (monthly rises of sanctions_{lead}_<target>, "
               f"snap-back months left out) that add less than {SMALL_STEP}.", "share", 0, 1, n,
               where, small),
        figure("nato_failures_near_cap_share", f"{splitter} failures to agree within "
               f"{NEAR_CAP} of its cap", f"Share of the months in which {splitter} fails to "
               f"follow through (its credibility falls: the monthly record has no failure "
               f"column) in which sanctions_{splitter}_{party} stood within {NEAR_CAP} of "
               f"{splitter}'s cap at the start of the month (failures on other targets are "
               "counted against the party's level: in the baseline only the party triggers).",
               "share", 0, 1, n, where, near_cap),
        figure("secondary_us_on_russia_file_order", f"{lead} sanctions on Russia, secondary "
               "sanctions, file order", f"Mean over runs of sanctions_{lead}_RUS at the "
               "horizon under the secondary_sanctions policy, actors in file order.", "level",
               0, 1, n, f"{where} + secondary_sanctions",
               lambda: (order_runs()["file"], {"peak": order_runs()["peak_file"]})),
        figure("secondary_us_on_russia_reversed", "The same, actors listed in reverse",
               "The same, with the actors table of the scenario listed in reverse order "
               "(nothing else changed).", "level", 0, 1, n, f"{where} + secondary_sanctions",
               lambda: (order_runs()["reversed"], {"peak": order_runs()["peak_reversed"]})),
        figure("order_runs_changed", "Runs changed by listing the actors in reverse",
               "Share of runs (secondary_sanctions policy) in which some summary column "
               "(matched by name) differs between the file order and the reversed order; an "
               "order-free model gives 0. Extra: runs whose party's GDP index differs at month "
               "1, and the final mean of every recorded sanction in both orders.", "share", 0,
               1, n, f"{where} + secondary_sanctions",
               lambda: (order_runs()["changed"], {
                   "runs_whose_party_gdp_differs_at_month_1": order_runs()["gdp_month1"],
                   "final_mean_sanctions_file_vs_reversed": order_runs()["final_means"]})),
    ]
    return Finding("F5", "Bookkeeping artefacts", figs)


# ------------------------------------------------------------------------------------------
# F6: growth counted twice
# ------------------------------------------------------------------------------------------


def reference_figures() -> dict[str, str]:
    """Values of ``shared/reference/figures.csv`` by key, from the nearest folder above."""
    for folder in REPO.parents:
        path = folder / "shared" / "reference" / "figures.csv"
        if path.is_file():
            with path.open(newline="") as fh:
                return {row["key"]: row["value"] for row in csv.DictReader(fh)}
    return {}


def reference_growth(actor: str, table: dict[str, str]) -> tuple[str, float]:
    """The reference growth of ``actor`` (figures.csv key with its year, value in %)."""
    key, year, value = REFERENCE_GROWTH[actor]
    text = table.get(key)
    if text:
        m = re.search(rf"([+-]?\d+(?:\.\d+)?)\s*\({year}\)", text)
        if m:
            value = float(m.group(1))
        elif re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text.strip()):
            value = float(text)
    return f"{key} ({year})", value


def measure_growth(ctx: Context) -> Finding:
    """F6: year-one growth with no shocks against the reference figures."""
    scn = ctx.base().with_overrides({"world.shock_sd": 0.0})
    ens = ctx.ensemble("no_shock", scn)
    table = reference_figures()
    figs = []
    for actor in ("UKR", "RUS", "IRN"):
        key, ref = reference_growth(actor, table)

        def compute(actor=actor, key=key, ref=ref):
            index = ens.series(f"gdp_index_{actor}")[:, 12]
            g = 100.0 * (index - 1.0)
            return float(g.mean()), {"reference": ref, "reference_key": key,
                                     "min": float(g.min()), "max": float(g.max()),
                                     "median": float(np.median(g)),
                                     "log_growth_mean": float(100.0 * np.log(index).mean())}

        figs.append(figure(f"growth_year1_{actor}", f"Year-one growth of {actor}",
                           f"Mean over runs of 100 x (gdp_index_{actor} at month 12 - 1) with "
                           f"world.shock_sd = 0; reference {key}: {ref:+.1f}%. Extra: the mean "
                           "log growth, 100 x ln(index), the form issue 11 quotes.", "percent",
                           -100, math.inf, ens.runs, f"{ctx.scenario}, shock_sd = 0", compute))
    return Finding("F6", "Growth counted twice", figs)


# ------------------------------------------------------------------------------------------
# F7: outcomes that cannot vary
# ------------------------------------------------------------------------------------------


def constant_columns(ens: Runs) -> dict[str, float | None]:
    """Summary columns with one value in every run (NaN counts as a value), and that value."""
    out: dict[str, float | None] = {}
    for c in ens.summary.columns:
        if c == "run":
            continue
        x = ens.col(c)
        fin = np.isfinite(x)
        if not fin.any():
            out[c] = None
        elif fin.all() and np.ptp(x) <= EPS:
            out[c] = float(x[0])
    return out


def modal_share(x: np.ndarray) -> tuple[float, float | None]:
    """The share of runs at the most frequent value of ``x`` (NaN counts as a value), and it."""
    values, counts = np.unique(np.nan_to_num(x, nan=np.inf), return_counts=True)
    k = int(np.argmax(counts))
    value = float(values[k])
    return float(counts[k] / x.size), (value if math.isfinite(value) else None)


def measure_constants(ctx: Context, scenarios: Iterable[str] | None = None,
                      policies: Iterable[str] | None = None) -> Finding:
    """F7: for every bundled scenario x policy, the summary columns that cannot vary."""
    scenarios = list(scenarios) if scenarios is not None else sim.list_scenarios()
    policies = list(policies) if policies is not None else sim.list_policies()
    roles = Roles.of(ctx.base())
    production = next((rid for rid, r in ctx.base().spec.routes.items()
                       if r.supplier == roles.party and r.category == "production_assistance"),
                      "<production route>")
    picks = [(f"{roles.track}_reached", "relief deals"),
             (f"escalations_{roles.lead}", f"{roles.lead} escalations"),
             (f"delivered_{production}", "production packages delivered")]
    rows = []
    modal: dict[str, tuple[float, float | None]] = {}
    has_affinity = False
    for name in scenarios:
        for pol in policies:
            scn = sim.load_scenario(name, policy=pol)
            key = f"{name}+{pol}"
            ens = (ctx.cache["base"] if name == ctx.scenario and pol == "status_quo"
                   and "base" in ctx.cache else run(scn, ctx.runs, ctx.seed))
            const = constant_columns(ens)
            # Russia's affinity with its main busting partner: BRICS in the first world, China
            # (apart from BRICS) in the world of issue 12.
            pair = next((c for c in ("affinity_RUS_BRICS", "affinity_RUS_CHN")
                         if c in ens.summary.columns), None)
            has_affinity |= pair is not None
            on_russia = {}
            for fig, x in ens.monthly.items():
                if fig.startswith("sanctions_") and fig.endswith("_RUS"):
                    on_russia[fig] = bool(np.ptp(x) <= EPS)
            if name == ctx.scenario and pol == "maximum_pressure":
                modal = {c: modal_share(ens.col(c)) for c, _ in picks if c in ens.summary}
            rows.append({"scenario": name, "policy": pol, "key": key, "pair": pair,
                         "columns": len(ens.summary.columns) - 1, "constant": const,
                         "sanctions_on_russia_constant": on_russia})
    figs = []

    def affinity():
        if not has_affinity:
            raise Gone("column affinity_RUS_BRICS")
        have = [r for r in rows if r["pair"] is not None and r["pair"] in r["constant"]]
        return len(have) / len(rows), {"constant_in": [r["key"] for r in have]}

    def russia():
        tested = [r for r in rows if r["sanctions_on_russia_constant"]]
        if not tested:
            raise Gone("column sanctions_<sender>_RUS")
        fixed = [r for r in tested if all(r["sanctions_on_russia_constant"].values())]
        return len(fixed) / len(tested), {"constant_in": [r["key"] for r in fixed]}

    def share_constant():
        per = [len(r["constant"]) / r["columns"] for r in rows if r["columns"]]
        return float(np.mean(per)), {r["key"]: len(r["constant"]) for r in rows}

    everywhere = "every bundled scenario x policy"
    figs.append(figure("constant_columns_mean_share", "Summary columns that cannot vary",
                       "Mean over bundled scenario x policy of the share of summary columns "
                       "with one value in every run (NaN in every run counts).", "share", 0, 1,
                       ctx.runs, everywhere, share_constant))
    figs.append(figure("affinity_RUS_BRICS_constant", "Scenario x policy where "
                       "affinity_RUS_BRICS cannot vary", "Share of bundled scenario x policy in "
                       "which affinity_RUS_BRICS (affinity_RUS_CHN once China is apart from "
                       "BRICS, issue 12) has one value in every run.", "share", 0, 1,
                       ctx.runs, everywhere, affinity))
    figs.append(figure("sanctions_on_russia_constant", "Scenario x policy where no sanction "
                       "on Russia ever changes", "Share of bundled scenario x policy in which "
                       "every recorded sanctions_<sender>_RUS keeps its starting value in every "
                       "run and month.", "share", 0, 1, ctx.runs, everywhere, russia))

    def at_mode(col: str):
        if col not in modal:
            raise Gone(f"column {col}")
        share, value = modal[col]
        return share, {"value": value}

    for col, words in picks:
        figs.append(figure(
            f"maximum_pressure_{col}_at_mode", f"Maximum pressure: runs with the usual number "
            f"of {words}", f"Share of runs under maximum_pressure in which {col} takes its most "
            "frequent value (1 = it cannot vary); extra: that value.", "share", 0, 1, ctx.runs,
            f"{ctx.scenario} + maximum_pressure", lambda col=col: at_mode(col)))
    return Finding("F7", "Outcomes that cannot vary, reported as results", figs,
                   tables={"by_scenario_policy": rows})


# ------------------------------------------------------------------------------------------
# All of it
# ------------------------------------------------------------------------------------------

#: Every finding of issue 11: its id, its title and the function that measures it.
MEASURES: tuple[tuple[str, str, Callable[[Context], Finding]], ...] = (
    ("F1", "A relief deal does not halt transfers", measure_relief),
    ("F2", "Warnings deter nothing", measure_warnings),
    ("F3", "\"Already isolated\" is not a mechanism", measure_isolation),
    ("F4", "Sourced parameters that change nothing", measure_inert),
    ("F5", "Bookkeeping artefacts", measure_bookkeeping),
    ("F6", "Growth counted twice", measure_growth),
    ("F7", "Outcomes that cannot vary, reported as results", measure_constants),
)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def model_version() -> dict[str, Any]:
    """Which model the figures belong to.

    The commit of the tree, the last commit that changed the model (sim/, scenarios/), and
    whether the model has changes not committed (then the figures belong to no commit).
    """
    return {"commit": _git("rev-parse", "HEAD"),
            "model_commit": _git("log", "-1", "--format=%H", "--", "sim", "scenarios"),
            "model_uncommitted": bool(_git("status", "--porcelain", "--", "sim", "scenarios"))}


def measure_all(runs: int, seed: int = 0, scenario: str = "baseline",
                log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every finding's figures as a JSON-ready dict (``meta`` and ``findings``)."""
    ctx = Context(scenario, runs, seed)
    findings = []
    start = time.perf_counter()
    for fid, title, measure in MEASURES:
        t0 = time.perf_counter()
        try:
            f = measure(ctx)
        except Gone as e:  # the scenario lacks what the whole finding rests on (a relief track)
            f = Finding(fid, title, [], notes=[f"n/a ({e} gone)"])
        except (AttributeError, KeyError, ScenarioError) as e:  # a field the rewrite removed
            f = Finding(fid, title, [], notes=[f"n/a ({type(e).__name__}: {e})"])
        f.id, f.title = fid, title
        findings.append(f)
        if log:
            log(f"{fid} {title}: {time.perf_counter() - t0:.1f} s")
    return {
        "meta": {"runs": runs, "seed": seed, "scenario": scenario, **model_version(),
                 "diplosim": sim.__version__,
                 "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "seconds": round(time.perf_counter() - start, 1),
                 "engine": "numba (sim.run_ensemble)"},
        "findings": [_plain(asdict(f)) for f in findings],
    }


# ------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str, na: str = "") -> str:
    """A figure as the page shows it (shares in %, % changes signed, months to 0.1)."""
    if value is None:
        return na or "n/a"
    if unit == "share":
        digits = 1  # more where one decimal would round a share that is not 0 or 1 to it
        while digits < 3 and 0 < value < 1 and f"{100 * value:.{digits}f}" in ("0.0", "100.0",
                                                                               "0.00", "100.00"):
            digits += 1
        return f"{100 * value:.{digits}f}%"
    if unit == "percent":
        return f"{value:+.1f}%"
    if unit == "month":
        return f"{value:.1f}"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _figures(doc: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not doc:
        return {}
    return {g["key"]: g for f in doc["findings"] for g in f["figures"]}


def _finding(doc: dict[str, Any] | None, fid: str) -> dict[str, Any]:
    if not doc:
        return {}
    return next((f for f in doc["findings"] if f["id"] == fid), {})


def _cell(g: dict[str, Any] | None, measured: bool = True) -> str:
    """A figure's cell: its value, its n/a reason, or what is missing."""
    if not measured:
        return "(to be measured)"
    if g is None:
        return "n/a (not measured)"
    return fmt(g["value"], g["unit"], g.get("na", ""))


def finding_table(fid: str, before: dict[str, Any], after: dict[str, Any] | None) -> str:
    """The Markdown block of finding ``fid``: its figures before and after, and definitions."""
    fb = _finding(before, fid)
    fa = _figures(after)
    rb = before["meta"]["runs"]
    ra = after["meta"]["runs"] if after else None
    head = (f"| figure | issue 11 quotes | before ({rb} runs) | after"
            f"{f' ({ra} runs)' if ra else ''} |")
    lines = [head, "|---|---|---|---|"]
    defs = []
    for k, g in enumerate(fb.get("figures", []), 1):
        issue = fmt(g["issue"], g["unit"]) if g.get("issue") is not None else ""
        lines.append(f"| {k}. {g['label']} | {issue} | {_cell(g)} | "
                     f"{_cell(fa.get(g['key']), after is not None)} |")
        defs.append(f"{k}. {g['label']} ({g['where']}): {g['definition']}")
    out = "\n".join(lines) + "\n\n" + "\n".join(defs) + "\n"
    for what, doc in (("before", fb), ("after", _finding(after, fid))):
        for note in doc.get("notes", []):
            out += f"\n*Note ({what})*: {note}\n"
    if fid == "F4":
        out += "\n" + _inert_table(fb, _finding(after, "F4"))
    if fid == "F7":
        out += "\n" + _constant_table(fb, _finding(after, "F7"))
    return out


def _inert_table(fb: dict[str, Any], fa: dict[str, Any]) -> str:
    after = {r["parameter"]: r for r in fa.get("tables", {}).get("parameters", [])}

    def cell(r: dict[str, Any] | None) -> str:
        if r is None:
            return "(to be measured)"
        if "na" in r:
            return r["na"]
        if r["changes_nothing"]:
            return "nothing"
        flips = f", {r['event_flips']} events gained or lost" if r["event_flips"] else ""
        return f"{r['max_change']:.3g} ({r['column']}{flips})"

    lines = ["| parameter | range | largest change before | after |", "|---|---|---|---|"]
    for r in fb.get("tables", {}).get("parameters", []):
        rng = f"[{r['low']:g}, {r['high']:g}]" if "low" in r else ""
        lines.append(f"| `{r['parameter']}` | {rng} | {cell(r)} | "
                     f"{cell(after.get(r['parameter'])) if fa else '(to be measured)'} |")
    return "\n".join(lines) + "\n"


def _constant_table(fb: dict[str, Any], fa: dict[str, Any]) -> str:
    after = {r["key"]: r for r in fa.get("tables", {}).get("by_scenario_policy", [])}

    def cell(r: dict[str, Any] | None) -> str:
        if r is None:
            return "(to be measured)"
        names = ", ".join(f"`{c}`" for c in sorted(r["constant"]))
        return f"{len(r['constant'])} of {r['columns']}: {names}" if names else "none"

    lines = ["| scenario + policy | constant summary columns before | after |", "|---|---|---|"]
    for r in fb.get("tables", {}).get("by_scenario_policy", []):
        lines.append(f"| {r['key']} | {cell(r)} | "
                     f"{cell(after.get(r['key'])) if fa else '(to be measured)'} |")
    return "\n".join(lines) + "\n"


FRAME = """# Model changes: the second edition (issue 11)

<!-- model-findings:meta:begin -->
<!-- model-findings:meta:end -->

{sections}
"""


def _markers(fid: str) -> tuple[str, str]:
    return (f"<!-- model-findings:{fid}:begin (generated by docs/model_findings.py) -->",
            f"<!-- model-findings:{fid}:end -->")


def meta_block(before: dict[str, Any], after: dict[str, Any] | None) -> str:
    """What the figures come from: runs, seed, commit and date of each file."""
    def one(doc: dict[str, Any], what: str) -> str:
        m = doc["meta"]
        model = m.get("model_commit") or m.get("commit", "")
        dirty = " with uncommitted changes" if m.get("model_uncommitted") else ""
        return (f"*{what}*: {m['runs']} runs per variant, seed {m['seed']}, scenario "
                f"`{m['scenario']}`, the model of commit `{model[:10]}`{dirty}, {m['date']}.")
    text = one(before, "Before")
    text += "\n" + (one(after, "After") if after else "*After*: to be measured.")
    return text + "\n"


def write_page(path: Path, before: dict[str, Any], after: dict[str, Any] | None) -> None:
    """Write the generated blocks of the page at ``path`` (created from a frame if absent)."""
    ids = [f["id"] for f in before["findings"]]
    if path.is_file():
        text = path.read_text()
    else:
        sections = "\n".join(f"## {f['id']}: {f['title']}\n\n{_markers(f['id'])[0]}\n"
                             f"{_markers(f['id'])[1]}\n" for f in before["findings"])
        text = FRAME.format(sections=sections)
    blocks = {"meta": meta_block(before, after)}
    blocks.update({fid: finding_table(fid, before, after) for fid in ids})
    for fid, body in blocks.items():
        begin, end = _markers(fid)
        pattern = re.compile(re.escape(begin.split(" (")[0]) + r"[^\n]*\n.*?" + re.escape(end),
                             re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path}: no block for {fid} (markers {begin!r} ... {end!r})")
        text = pattern.sub(lambda _m, b=begin, e=end, body=body: f"{b}\n{body}{e}", text)
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Command line: measure into a JSON file, and/or write the page from two JSON files."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=4000, help="Monte Carlo runs per variant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--out", type=Path, help="write the measured figures to this JSON file")
    ap.add_argument("--before", type=Path, help="JSON of the model before the rewrite")
    ap.add_argument("--after", type=Path, help="JSON of the model after the rewrite")
    ap.add_argument("--write-md", type=Path, help="rewrite the generated tables of this page")
    args = ap.parse_args(argv)
    if not args.out and not args.write_md:
        ap.error("nothing to do: give --out and/or --write-md")
    if args.runs < 2:
        ap.error(f"--runs must be at least 2, got {args.runs}")
    if args.out:
        doc = measure_all(args.runs, args.seed, args.scenario,
                          log=lambda s: print(s, file=sys.stderr, flush=True))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    if args.write_md:
        if not args.before:
            ap.error("--write-md needs --before")
        try:
            before = json.loads(args.before.read_text())
            after = json.loads(args.after.read_text()) if args.after else None
        except (OSError, json.JSONDecodeError) as e:
            ap.error(f"cannot read the figures: {e}")
        write_page(args.write_md, before, after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
