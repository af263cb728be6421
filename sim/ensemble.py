"""Ensembles: many Monte Carlo runs of one scenario, with either engine.

``run_ensemble`` is the one entry point. Run ``r`` of an ensemble depends only on
(scenario, seed, r): the Numba engine computes runs in chunks, in parallel, in any order, and gives
the same numbers as the Mesa engine run by run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from sim.outcomes import n_outcomes, outcome_layout, sanction_pairs
from sim.rng import seed_key
from sim.scenario import Scenario, load_scenario

Engine = Literal["numba", "mesa"]


def _as_scenario(scenario: Scenario | str) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _run_ids(runs: int | range | np.ndarray) -> np.ndarray:
    if isinstance(runs, (int, np.integer)) and not isinstance(runs, bool):
        if runs < 1:
            raise ValueError(f"runs must be at least 1, got {runs}")
        return np.arange(int(runs), dtype=np.int64)
    ids = np.asarray(list(runs) if isinstance(runs, range) else runs, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError("runs must be a positive count or a non-empty sequence of run indices")
    if (ids < 0).any() or (ids >= 2**32).any():
        raise ValueError("run indices must be in [0, 2**32)")
    return ids


def numba_summary(scn: Scenario, seed: int, run_ids: np.ndarray, months: int | None = None,
                  chunk_size: int = 8192) -> pd.DataFrame:
    """Summary rows of runs ``run_ids`` from the Numba kernel, in the order given."""
    from sim.kernel import run_kernel

    cs = scn.compile()
    months = cs.horizon if months is None else int(months)
    kp = np.array(cs.key_pairs, dtype=np.int64).reshape(-1, 2)
    sp = sanction_pairs(cs)
    names, idx = outcome_layout(cs)
    raw = np.empty((run_ids.size, n_outcomes(cs)))
    empty = np.zeros((0, 0, 0))
    for start in range(0, run_ids.size, chunk_size):
        ids = run_ids[start:start + chunk_size]
        run_kernel(seed, ids, months, cs.W, cs.AP, cs.CP, cs.RP, cs.TP, cs.TM, cs.CAP, cs.DEM,
                   cs.AFF0, cs.SANC0, cs.TRADE0, cs.EV, kp, sp, raw[start:start + ids.size],
                   empty)
    df = pd.DataFrame(raw[:, idx], columns=names)
    df.insert(0, "run", run_ids)
    return df


def mesa_summary(scn: Scenario, seed: int, run_ids: np.ndarray,
                 months: int | None = None) -> pd.DataFrame:
    """Summary rows of runs ``run_ids`` from the Mesa engine (one model per run)."""
    from sim.model import DiplomacyModel

    rows = []
    for r in run_ids:
        model = DiplomacyModel(scn, seed=seed, run=int(r)).run(months)
        rows.append({"run": int(r), **model.outcomes()})
    return pd.DataFrame(rows)


@dataclass
class EnsembleResult:
    """The runs of an ensemble. ``summary`` has one row per run, column ``run`` first."""

    scenario: Scenario
    seed: int
    engine: str
    months: int
    summary: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return len(self.summary)


def run_ensemble(scenario: Scenario | str, runs: int | range | np.ndarray = 1000, seed: int = 0,
                 engine: Engine = "numba", months: int | None = None) -> EnsembleResult:
    """Run many Monte Carlo runs of ``scenario``.

    Args:
        scenario: a Scenario or a bundled name / path.
        runs: a count (runs 0..runs-1) or explicit run indices.
        seed: seed of every draw (0 is a seed like any other).
        engine: ``"numba"`` (compiled, parallel) or ``"mesa"`` (one Mesa model per run); both
            give the same numbers.
        months: months per run (default: the scenario's horizon).
    """
    scn = _as_scenario(scenario)
    seed = seed_key(seed)
    ids = _run_ids(runs)
    months = scn.horizon if months is None else int(months)
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if engine == "numba":
        summary = numba_summary(scn, seed, ids, months)
    elif engine == "mesa":
        summary = mesa_summary(scn, seed, ids, months)
    else:
        raise ValueError(f"engine must be 'numba' or 'mesa', got {engine!r}")
    return EnsembleResult(scn, seed, engine, months, summary)
