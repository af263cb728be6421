"""Monthly figures of an ensemble: full trajectories and their quantile bands (for fan charts).

:func:`monthly_bands` takes the bands the ensemble engine computes (``sim.run_ensemble``).
:func:`trajectories` gives every run's monthly figures from the Numba kernel (a ``traj`` array,
``runs x (months + 1) x metrics``) and :func:`bands_of` exact quantiles over them; keep ``runs``
to what fits in memory (8 bytes x runs x months x about 60 metrics: 1,000 runs of 36 months take
17 MB).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._common import as_scenario
from sim.core.outcomes import monthly_names, sanction_pairs
from sim.core.rng import seed_key
from sim.engines.ensemble import run_chunk
from sim.jobs.job import as_run_ids
from sim.scenario import Scenario

#: Quantiles drawn by a fan chart and their column names.
QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}


def trajectories(scenario: Scenario | str, runs: int = 500, seed: int = 0,
                 months: int | None = None, policy: str | None = None
                 ) -> tuple[np.ndarray, list[str]]:
    """Monthly figures of runs ``0..runs-1`` from the Numba kernel.

    Returns an array ``runs x (months + 1) x metrics`` (month 0 is the start) and the metric
    names (see :func:`sim.core.outcomes.monthly_names`), from
    :func:`sim.engines.ensemble.run_chunk`, the one runner of trajectories.
    """
    scn = as_scenario(scenario)
    if policy:
        scn = scn.with_policy(policy)
    seed = seed_key(seed)
    ids = as_run_ids(runs)
    cs = scn.compile()
    months = cs.horizon if months is None else int(months)
    if months < 1:
        raise ValueError("months must be at least 1")
    names = monthly_names(cs, sanction_pairs(cs))
    return run_chunk(scn, seed, ids, months, record=True).trajectories, names


def bands_of(traj: np.ndarray, names: list[str], metrics: list[str] | None = None
             ) -> pd.DataFrame:
    """Exact quantile bands and mean per month and metric, in long form.

    Quantiles are order statistics (numpy's ``inverted_cdf``: the smallest value with at least a
    share q of runs at or below it), as in :mod:`sim.results.bands`.

    Columns: ``month``, ``metric``, ``q05``, ``q25``, ``q50``, ``q75``, ``q95``, ``mean``.
    """
    metrics = list(names) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in names]
    if unknown:
        raise KeyError(f"unknown monthly metric {unknown[0]!r} (known: {', '.join(names)})")
    frames = []
    months = np.arange(traj.shape[1])
    for m in metrics:
        x = traj[:, :, names.index(m)]
        q = np.quantile(x, list(QUANTILES.values()), axis=0, method="inverted_cdf")
        frame = pd.DataFrame({"month": months, "metric": m})
        for k, col in enumerate(QUANTILES):
            frame[col] = q[k]
        frame["mean"] = x.mean(axis=0)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def monthly_bands(scenario: Scenario | str, metrics: list[str] | None = None, runs: int = 500,
                  seed: int = 0, months: int | None = None,
                  policy: str | None = None) -> pd.DataFrame:
    """Quantile bands of monthly metrics over ``runs`` runs, from the ensemble engine.

    The bands are :attr:`sim.EnsembleResult.bands` (exact quantiles up to
    ``sim.results.bands.EXACT_BANDS_MAX_RUNS`` runs, bounded-memory histograms beyond, with their
    error in column ``error``), in the long form of :func:`bands_of`, restricted to ``metrics``.
    """
    from sim.jobs.ensemble import run_ensemble

    scn = as_scenario(scenario)
    if policy:
        scn = scn.with_policy(policy)
    res = run_ensemble(scn, runs=runs, seed=seed, months=months, progress=False, bands=True)
    bands = res.bands
    if metrics is not None:
        known = set(bands["metric"])
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise KeyError(f"unknown monthly metric {unknown[0]!r} (known: "
                           f"{', '.join(dict.fromkeys(bands['metric']))})")
        bands = bands[bands["metric"].isin(metrics)].reset_index(drop=True)
    return bands
