"""Fragility of each validated fact: its horizon, its coding and the assumptions it rests on.

A verdict that holds at one horizon, under one coding and at one value of an unsourced
assumption is fragile, and the page must say so. For each validated fact this module re-reads
the population's runs at other horizons and codings (no new runs), and reruns the population
(facts 1, 2, 3, 5) or the Iran case (fact 4) with each assumption swept over its plausible
range: not only halved and doubled, but from the value that switches the mechanism off to the
top of its range. Every row holds the figure, its interval and whether the verdict holds there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pandas as pd

from analysis.facts.base_rates import (
    CODINGS,
    CODINGS_5,
    fact_1_population,
    fact_2_population,
    fact_3_population,
    fact_5_population,
)
from analysis.facts.coalitions import fact_4_leakage
from analysis.facts.measures import Fact
from analysis.facts.population import Population, run_population
from analysis.facts.roles import Roles
from analysis.facts.variants import CaseDraws, Context
from sim.scenario import Scenario

#: Horizons (months) the population's facts are re-read at.
HORIZONS = (12, 24, 36, 48, 60)

#: Thresholds of an imposition (intensity above the start) for fact 2's coding.
THRESHOLDS = (0.05, 0.10, 0.20)

#: Shares of multilateral episodes (the prior's 0.4 is an assumption) facts 1 and 2 are re-read
#: at: every episode is run both ways, so only which arm counts as its own changes.
MULTILATERAL_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

#: Assumptions of the population swept over their plausible range (key, values, why).
#: ``pain_sensitivity``: how fast the target's wish for relief rises with pain (ODD 7.10; no
#: source): 0 switches the channel off, 1.5 is two and a half times the baseline's 0.6.
#: ``detection``: the monthly chance a shipment is made public (ODD 7.4; no source): replaces
#: the prior's draw with one value for every episode, from nearly covert (0.02) to 0.6.
POPULATION_SWEEPS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("actors.TGT.pain_sensitivity", (0.0, 0.3, 0.6, 0.9, 1.2, 1.5)),
    ("categories.arms.detection", (0.02, 0.05, 0.1, 0.2, 0.4, 0.6)),
)

#: Assumptions of the Iran case swept for fact 4 (at half the runs): the target's pain
#: sensitivity (the channel through which pressure moves the deal) and the leakage per unit of
#: busting trade (the channel through which the coalition's size moves pressure).
CASE_SWEEPS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("actors.{target}.pain_sensitivity", (0.0, 0.6, 1.5)),
    ("world.leak_gain", (0.5, 1.5, 4.0)),
)

_POPULATION_FACTS: dict[int, Callable[..., Fact]] = {
    1: fact_1_population, 2: fact_2_population, 3: fact_3_population, 5: fact_5_population}


def _row(f: Fact, kind: str, setting: str, value: float | str) -> dict[str, object]:
    return {"fact": f.number, "sweep": kind, "setting": setting, "value": value,
            "estimate": f.estimate, "low": f.low, "high": f.high, "holds": f.reproduced}


def reread(pop: Population) -> list[dict[str, object]]:
    """The population's facts re-read from the same runs at other settings.

    Facts 1, 2 and 5 at every horizon and coding, facts 1 and 2 at every share of multilateral
    episodes.
    """
    rows = []
    for h in HORIZONS:
        rows.append(_row(fact_1_population(pop, horizon=h), "horizon", "months", h))
        rows.append(_row(fact_2_population(pop, horizon=h), "horizon", "months", h))
        rows.append(_row(fact_5_population(pop, horizon=h), "horizon", "months", h))
    for c in CODINGS:
        rows.append(_row(fact_1_population(pop, coding=c), "coding", "success", c))
    for c in CODINGS_5:
        rows.append(_row(fact_5_population(pop, coding=c), "coding", "success", c))
    for t in THRESHOLDS:
        rows.append(_row(fact_2_population(pop, threshold=t), "coding", "imposition", t))
    u = pop.covariates["multilateral_u"].to_numpy()
    for p in MULTILATERAL_SHARES:
        other = dataclasses.replace(pop, multilateral=u < p)
        rows.append(_row(fact_1_population(other), "assumption", "multilateral share", p))
        rows.append(_row(fact_2_population(other), "assumption", "multilateral share", p))
    return rows


def fragility_sweep(pop: Population, scn: Scenario, roles: Roles, runs: int, seed: int,
                    case: bool = True, posterior: CaseDraws | None = None) -> pd.DataFrame:
    """Every validated fact at other horizons, codings and values of its assumptions.

    Args:
        pop: the population the facts were measured on (re-read; its size is reused for the
            populations of the assumption sweeps).
        scn: the case (the baseline) for fact 4.
        roles: the case's roles.
        runs: Monte Carlo runs per variant of the case's sweep.
        seed: seed of every draw.
        case: also sweep fact 4's assumptions on the case (the slowest part).
        posterior: the calibrated posterior's draws for the case's sweep (``runs`` is then
            ``posterior.runs``); a swept key the posterior also has takes the swept value.

    Returns:
        One row per fact and setting: the sweep (horizon, coding, assumption), the setting's
        name and value, the figure with its 95% interval and whether the verdict holds there.
    """
    rows = reread(pop)
    for key, values in POPULATION_SWEEPS:
        for v in values:
            other = run_population(pop.episodes, seed, assumptions={key: v})
            for fact in _POPULATION_FACTS.values():
                rows.append(_row(fact(other), "assumption", key, v))
    if case:
        for key, values in CASE_SWEEPS:
            key = key.format(target=roles.target)
            for v in values:
                ctx = Context(scn.with_overrides({key: v}), roles,
                              runs if posterior is None else posterior.runs, seed,
                              posterior=posterior, pinned=frozenset({key}))
                rows.append(_row(fact_4_leakage(ctx, shares=(0.8, 0.6)), "assumption", key, v))
    return pd.DataFrame(rows)
