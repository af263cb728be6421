"""The check: validation on the population and the case, verification, and fragility."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.facts.base_rates import (
    fact_1_population,
    fact_2_population,
    fact_3_population,
    fact_5_population,
)
from analysis.facts.calibrated import case_draws, draw_spread
from analysis.facts.coalitions import COALITION_SWEEP, fact_4_leakage
from analysis.facts.fragility import CASE_SWEEPS, POPULATION_SWEEPS, fragility_sweep
from analysis.facts.measures import Fact
from analysis.facts.population import ARMS, Population, run_population
from analysis.facts.roles import Roles
from analysis.facts.variants import CaseDraws, Context
from analysis.facts.verification import Verified, verify
from sim.core.rng import seed_key
from sim.errors import UsageError
from sim.scenario import Scenario, load_scenario

#: Where each validated fact is measured: on the population of synthetic episodes (base rates
#: and contrasts over many episodes) or on the case (the scenario checked, Iran in the baseline).
WHERE = {1: "population", 2: "population", 3: "population", 4: "case", 5: "population"}

#: Variants of the case kept in memory together (the baseline; the verification's two; fact 4's
#: coalition sweep), and runs of the population (its arms, one run per episode).
MAIN_VARIANTS = 1 + 2 + len(COALITION_SWEEP)

#: The run counts at which tests/test_validation.py pins the verdicts (see its comments for the
#: margins): episodes of the population, and runs per variant of the case's fact 4.
PINNED_EPISODES = 3000
PINNED_RUNS = 1000


def facts_job(scn: Scenario, runs: int, sensitivity: bool) -> tuple[int, float]:
    """Runs in all and bytes held per run of ``runs``, for checking a job's size before it starts.

    Every variant keeps its runs' monthly figures (8 bytes x months+1 x figures) and outcomes;
    the population's arms are smaller (six actors) and counted as case variants (an upper
    bound).
    """
    from sim.core.outcomes import monthly_names, n_outcomes, sanction_pairs

    cs = scn.compile()
    per_run = 8.0 * (len(monthly_names(cs, sanction_pairs(cs))) * (cs.horizon + 1)
                     + n_outcomes(cs) + 1)
    kept = MAIN_VARIANTS + len(ARMS)
    total = runs * kept
    if sensitivity:
        total += runs * len(ARMS) * sum(len(v) for _, v in POPULATION_SWEEPS)
        total += max(100, runs // 2) * 2 * sum(len(v) for _, v in CASE_SWEEPS)
    return total, per_run * kept


@dataclass
class FactCheck:
    """The result of :func:`check_facts`.

    Attributes:
        facts: the validated facts 1-5 (the validation table), in the reference order.
        verification: the mechanisms of the verification table (the former facts 6, 7, 8 with
            their checks on the case; the others held by the tests they name).
        fragility: every validated fact at other horizons, codings and assumption values
            (empty if skipped).
        population: the population the facts 1, 2, 3 and 5 were measured on.
        runs: Monte Carlo runs per variant of the case, and episodes of the population.
        seed: the seed of every draw.
        scenario: the case's name.
        seconds: wall time of the check.
        roles: who is who in the case.
        posterior: the calibrated posterior's draws the case ran on (None: the scenario's
            own parameters). The population does not use it.
    """

    facts: list[Fact]
    verification: list[Verified]
    fragility: pd.DataFrame
    population: Population
    runs: int
    seed: int
    scenario: str
    seconds: float
    roles: Roles
    posterior: CaseDraws | None = None

    @property
    def case_runs(self) -> int:
        """Runs per variant of the case (on a posterior: draws x runs per draw)."""
        return self.posterior.runs if self.posterior is not None else self.runs

    @property
    def reproduced(self) -> int:
        """How many validated facts the model reproduces."""
        return sum(f.reproduced for f in self.facts)

    @property
    def sensitivity(self) -> pd.DataFrame:
        """The fragility table (the name of the former sweep of assumptions)."""
        return self.fragility


def check_facts(runs: int = 4000, seed: int = 0, scenario: Scenario | str = "baseline",
                sensitivity: bool = True, posterior: Any = None,
                draws: int | None = None) -> FactCheck:
    """Measure the validated facts, run the verification checks and (optionally) the fragility.

    Args:
        runs: episodes of the population (one run each), and Monte Carlo runs per variant of
            the case (4000 gives intervals of about +/-1.5 points on a share).
        seed: seed of every draw (0 is a seed like any other).
        scenario: the case (bundled name, path or Scenario); it needs a relief track whose
            party supplies arms, as the baseline has. The population does not depend on it.
        sensitivity: also run the fragility sweep (horizons, codings, assumptions; the case's
            assumptions at half the runs).
        posterior: a calibration's posterior (:class:`sim.jobs.posterior.Posterior` or its
            folder) for the case: each run of fact 4, of the case checks of V1-V3 and of fact
            4's fragility draws the posterior's keys from it (they override the scenario's
            cells), the variants compared share the draws and the runs (paired within each
            draw), and those rows also give the spread over the draws
            (:mod:`analysis.facts.calibrated`). The population's facts do not use it.
        draws: parameter draws of ``posterior`` (default
            :func:`sim.jobs.posterior.default_draws`: at most 50, two runs each or more);
            the case's runs are rounded up to a multiple of them.

    Returns:
        A :class:`FactCheck`.
    """
    if isinstance(runs, bool) or int(runs) != runs or runs < 100:
        raise UsageError(f"--runs {runs}: need at least 100 runs for meaningful intervals")
    runs = int(runs)
    seed = seed_key(seed)
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    roles = Roles.of(scn)
    t0 = time.perf_counter()
    # The posterior is read and checked against the case before anything runs.
    case = None if posterior is None else case_draws(posterior, scn, runs, seed, draws)
    half = max(100, runs // 2)
    # Fact 4's fragility on the case runs at half the runs, on the same draws.
    case_half = (None if case is None else
                 dataclasses.replace(case, per_draw=-(-half // case.draws))
                 if case.draws <= half else case_draws(case.posterior, scn, half, seed))
    pop = run_population(runs, seed)
    ctx = Context(scn, roles, case.runs if case is not None else runs, seed, posterior=case)
    f4 = draw_spread(ctx, fact_4_leakage(ctx), fact_4_leakage)
    facts = [fact_1_population(pop), fact_2_population(pop), fact_3_population(pop), f4,
             fact_5_population(pop)]
    for f in facts:
        f.runs = runs if WHERE[f.number] == "population" else ctx.runs
    verification = verify(ctx)
    for v in verification:
        if v.fact is not None:
            draw_spread(ctx, v.fact, v.mechanism.check)
            v.fact.runs = ctx.runs
    frag = (fragility_sweep(pop, scn, roles, half, seed, posterior=case_half) if sensitivity
            else pd.DataFrame())
    return FactCheck(facts, verification, frag, pop, runs, seed, scn.name,
                     time.perf_counter() - t0, roles, case)
