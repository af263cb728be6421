"""The check: every fact's experiment on one scenario, and the sensitivity sweep."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from analysis.facts.coalitions import (
    COALITION_SWEEP,
    fact_3_damage,
    fact_4_leakage,
    fact_5_multilateral,
)
from analysis.facts.episodes import fact_1_success, fact_2_threat
from analysis.facts.events import fact_6_relief, fact_7_government, fact_8_localisation
from analysis.facts.measures import Fact
from analysis.facts.roles import Roles
from analysis.facts.sensitivity import ASSUMPTIONS, SENSITIVITY_FACTORS, sensitivity_sweep
from analysis.facts.variants import Context
from sim.core.rng import seed_key
from sim.errors import UsageError
from sim.scenario import Scenario, load_scenario

FACTS: tuple[Callable[[Context], Fact], ...] = (
    fact_1_success, fact_2_threat, fact_3_damage, fact_4_leakage, fact_5_multilateral,
    fact_6_relief, fact_7_government, fact_8_localisation,
)


#: Variants the eight experiments keep in memory together (the baseline; fact 3's three; fact
#: 4's coalition sweep; facts 5, 7 and 8's one each), and those of one step of the
#: sensitivity sweep (facts 1-3's four, fact 4's two ends), which runs at half the runs.
MAIN_VARIANTS = 1 + 3 + len(COALITION_SWEEP) + 3
SENSITIVITY_VARIANTS = 6


def facts_job(scn: Scenario, runs: int, sensitivity: bool) -> tuple[int, float]:
    """Runs in all and bytes held per run of ``runs``, for checking a job's size before it starts.

    Every variant keeps its runs' monthly figures (8 bytes x months+1 x figures) and outcomes.
    """
    from sim.core.outcomes import monthly_names, n_outcomes, sanction_pairs

    cs = scn.compile()
    per_run = 8.0 * (len(monthly_names(cs, sanction_pairs(cs))) * (cs.horizon + 1)
                     + n_outcomes(cs) + 1)
    steps = len(ASSUMPTIONS) * (1 + len(SENSITIVITY_FACTORS)) if sensitivity else 0
    total = runs * MAIN_VARIANTS + max(100, runs // 2) * SENSITIVITY_VARIANTS * steps
    return total, per_run * MAIN_VARIANTS


@dataclass
class FactCheck:
    """The result of :func:`check_facts`: the eight facts and the sensitivity sweep."""

    facts: list[Fact]
    sensitivity: pd.DataFrame
    runs: int
    seed: int
    scenario: str
    seconds: float

    @property
    def reproduced(self) -> int:
        """How many facts the model reproduces."""
        return sum(f.reproduced for f in self.facts)


def check_facts(runs: int = 4000, seed: int = 0, scenario: Scenario | str = "baseline",
                sensitivity: bool = True) -> FactCheck:
    """Run the eight experiments (and the sensitivity sweep) and return the verdicts.

    Args:
        runs: Monte Carlo runs per variant (each experiment compares a few variants on the same
            runs; 4000 gives confidence intervals of about +/-1.5 points on a share).
        seed: seed of every draw (0 is a seed like any other).
        scenario: the scenario the facts are checked on (bundled name, path or Scenario); it
            needs a relief track whose party supplies arms, as the baseline has.
        sensitivity: also run the sweep of the unsourced assumptions (halved and doubled), at
            half the runs.

    Returns:
        A :class:`FactCheck` with one :class:`Fact` per stylised fact, in the reference order.
    """
    if isinstance(runs, bool) or int(runs) != runs or runs < 100:
        raise UsageError(f"--runs {runs}: need at least 100 runs for meaningful intervals")
    runs = int(runs)
    seed = seed_key(seed)
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    roles = Roles.of(scn)
    t0 = time.perf_counter()
    ctx = Context(scn, roles, runs, seed)
    facts = [f(ctx) for f in FACTS]
    for f in facts:
        f.runs = runs
    sens = (sensitivity_sweep(scn, roles, max(100, runs // 2), seed) if sensitivity
            else pd.DataFrame())
    return FactCheck(facts, sens, runs, seed, scn.name, time.perf_counter() - t0)
