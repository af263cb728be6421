"""Running the variants of an experiment: Monte Carlo runs with their monthly trajectories.

Every comparison of two variants uses common random numbers: run ``r`` of each variant sees the
same shocks, detection and deal draws (see :mod:`sim.core.rng`), so a paired difference per run
measures the variant's effect, not Monte Carlo noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs
from sim.core.rng import seed_key
from sim.engines.ensemble import run_chunk
from sim.scenario import Scenario

if TYPE_CHECKING:
    from analysis.facts.roles import Roles

@dataclass
class Ensemble:
    """Runs of one variant: summary rows and monthly figures (runs x months+1 per name)."""

    scenario: Scenario
    summary: pd.DataFrame
    monthly: dict[str, np.ndarray]

    def series(self, name: str) -> np.ndarray:
        """Monthly figure ``name`` (runs x months+1).

        Monthly figure ``name`` (runs x months+1); zeros if the variant does not record it
        (e.g. sanctions of a sender that never sanctions the target there).
        """
        if name in self.monthly:
            return self.monthly[name]
        first = next(iter(self.monthly.values()))
        return np.zeros_like(first)


def run_variant(scn: Scenario, runs: int, seed: int) -> Ensemble:
    """Run ``runs`` Monte Carlo runs of ``scn`` with the Numba engine, keeping monthly figures.

    Same runner, same draws as :func:`sim.run_ensemble` (run ``r`` is identical:
    :func:`sim.engines.ensemble.run_chunk`); in addition it records every month (``traj``),
    which the event studies need.
    """
    cs = scn.compile()
    names = monthly_names(cs, sanction_pairs(cs))
    ids = np.arange(runs, dtype=np.int64)
    chunk = run_chunk(scn, seed_key(seed), ids, cs.horizon, record=True)
    summary = pd.DataFrame(chunk.outcomes, columns=outcome_layout(cs)[0])
    summary.insert(0, "run", ids)
    traj = chunk.trajectories
    return Ensemble(scn, summary, {n: traj[:, :, k] for k, n in enumerate(names)})


@dataclass
class Context:
    """One experiment's scenario, roles, run count and seed, and the variants run so far.

    The facts share their variants (the baseline ensemble, the variant without sanctions on the
    target, ...) through :meth:`ensemble`, which runs each one once.
    """

    scn: Scenario
    roles: Roles
    runs: int
    seed: int
    cache: dict[str, Ensemble] = field(default_factory=dict)

    def ensemble(self, key: str, overrides: dict[str, Any] | None = None) -> Ensemble:
        """The variant ``key`` (the scenario with ``overrides``), run on first request."""
        if key not in self.cache:
            scn = self.scn.with_overrides(overrides) if overrides else self.scn
            self.cache[key] = run_variant(scn, self.runs, self.seed)
        return self.cache[key]
