"""Running the variants of an experiment: Monte Carlo runs with their monthly trajectories.

Every comparison of two variants uses common random numbers: run ``r`` of each variant sees the
same shocks, detection and deal draws (see :mod:`sim.core.rng`), so a paired difference per run
measures the variant's effect, not Monte Carlo noise.

On a calibrated posterior (:class:`CaseDraws`) run ``r`` of every variant also has the same
parameter draw: draw ``d`` holds runs ``d x per_draw .. (d + 1) x per_draw - 1``, each variant
is one design of cell edits (:class:`sim.jobs.edits.PointEdits`, one point per draw) run in one
call of the compiled kernel with the monthly record, so a comparison stays paired run by run,
within each draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs
from sim.core.rng import seed_key
from sim.engines.ensemble import run_chunk
from sim.errors import UsageError
from sim.scenario import Scenario

if TYPE_CHECKING:
    from analysis.facts.roles import Roles
    from sim.jobs.posterior import Posterior

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

    def rows(self, runs: slice) -> Ensemble:
        """The runs ``runs`` of this variant (one parameter draw's, say), numbered from 0."""
        return Ensemble(self.scenario, self.summary.iloc[runs].reset_index(drop=True),
                        {n: a[runs] for n, a in self.monthly.items()})


@dataclass(frozen=True)
class CaseDraws:
    """The parameter draws of a calibrated posterior the case's variants run on.

    Attributes:
        posterior: the calibration's posterior (:class:`sim.jobs.posterior.Posterior`).
        values: draws x the posterior's keys, drawn once by weight (:meth:`Posterior.draw`).
        per_draw: runs per draw; draw ``d`` holds runs ``d x per_draw`` onwards.
        folder: the posterior's folder (None when given as an object in Python).
    """

    posterior: Posterior
    values: np.ndarray
    per_draw: int
    folder: str | None = None

    @property
    def draws(self) -> int:
        """Number of parameter draws."""
        return int(self.values.shape[0])

    @property
    def runs(self) -> int:
        """Runs of each variant: draws x runs per draw."""
        return self.draws * self.per_draw

    def where(self) -> str:
        """The posterior's name in a message: ``--posterior DIR``, or ``posterior``."""
        return f"--posterior {self.folder}" if self.folder is not None else "posterior"


def run_on_draws(scn: Scenario, case: CaseDraws, seed: int,
                 fixed: frozenset[str] = frozenset()) -> Ensemble:
    """The runs of ``scn`` on the posterior's draws, with their monthly figures.

    Run ``r`` is run ``r`` of ``seed`` with the parameters of draw ``r // per_draw`` set in the
    posterior's keys (cell edits of ``scn``: the same numbers as
    ``scn.with_overrides(draw)`` run ``r``); a key in ``fixed`` keeps ``scn``'s value (a variant
    or a fragility setting that sets it wins over the posterior).
    """
    from sim.engines.ensemble import raw_outcomes
    from sim.jobs.edits import PointEdits

    keys = [k for k in case.posterior.keys if k not in fixed]
    if not keys:
        return run_variant(scn, case.runs, seed)
    cols = [case.posterior.keys.index(k) for k in keys]
    edits = PointEdits.from_design(scn, keys, case.values[:, cols])
    if edits is None:
        raise UsageError(f"{case.where()}: {missing_key(scn, keys)} is not a parameter of "
                         f"{scn.source}")
    cs = scn.compile()
    ids = np.arange(case.runs, dtype=np.int64)
    raw, traj = raw_outcomes(cs, seed_key(seed), ids, cs.horizon,
                             item_points=ids // case.per_draw, cells=edits.cells,
                             point_values=edits.cell_values(slice(None)), record=True)
    names, idx = outcome_layout(cs)
    summary = pd.DataFrame(raw[:, idx], columns=names)
    summary.insert(0, "run", ids)
    monthly = {m: traj[:, :, k] for k, m in enumerate(monthly_names(cs, sanction_pairs(cs)))}
    return Ensemble(scn, summary, monthly)


def missing_key(scn: Scenario, keys: list[str] | tuple[str, ...]) -> str | None:
    """The first of ``keys`` that is not a parameter cell of ``scn`` (None if all are)."""
    from sim.jobs.edits import cell_targets

    return next((k for k in keys if cell_targets(scn, k) is None), None)


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
    target, ...) through :meth:`ensemble`, which runs each one once. With ``posterior`` every
    variant runs on its parameter draws (:func:`run_on_draws`; ``runs`` is then
    ``posterior.runs``), except for the keys in ``pinned`` and those a variant sets itself.
    """

    scn: Scenario
    roles: Roles
    runs: int
    seed: int
    cache: dict[str, Ensemble] = field(default_factory=dict)
    posterior: CaseDraws | None = None
    pinned: frozenset[str] = frozenset()
    frozen: bool = False

    def ensemble(self, key: str, overrides: dict[str, Any] | None = None) -> Ensemble:
        """The variant ``key`` (the scenario with ``overrides``), run on first request."""
        if key not in self.cache:
            if self.frozen:
                raise KeyError(f"variant {key!r} was not run for the whole experiment")
            scn = self.scn.with_overrides(overrides) if overrides else self.scn
            if self.posterior is None:
                self.cache[key] = run_variant(scn, self.runs, self.seed)
            else:
                self.cache[key] = run_on_draws(scn, self.posterior, self.seed,
                                               self.pinned | frozenset(overrides or ()))
        return self.cache[key]

    def draw(self, d: int) -> Context:
        """The runs of parameter draw ``d`` of every variant run so far, as an experiment.

        Its variants are the rows of this one's (no new runs: asking for a variant not run
        yet is an error), so a fact computed on it is that draw's effect.
        """
        if self.posterior is None:
            raise ValueError("an experiment without a posterior has no parameter draws")
        n = self.posterior.per_draw
        rows = slice(d * n, (d + 1) * n)
        return Context(self.scn, self.roles, n, self.seed,
                       {k: e.rows(rows) for k, e in self.cache.items()}, frozen=True)
