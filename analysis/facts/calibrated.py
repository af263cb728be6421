"""The case's facts on a calibrated posterior: the draws, and each draw's effect.

Fact 4 and the case checks of V1-V3 are about the Iran case, so they can run on what the
calibration (``diplosim calibrate``, :mod:`analysis.calibration`) learnt about its parameters:
each run draws the posterior's keys (they override the scenario's cells), and the variants an
experiment compares share the draws and the runs (:class:`~analysis.facts.variants.CaseDraws`).
A row then reports, beside the figure and its interval over all runs, the 5-95% spread of the
draws' own figures (what we do not know about the parameters) and, for a mean of per-run
effects, its Monte Carlo standard error (the runs' chance alone), as the calibration's outcome
tables do (``param_p05``, ``param_p95``, ``mc_se``; :func:`sim.jobs.posterior.point_spreads`).

The population's facts (1, 2, 3 and 5) are about many sender-target pairs, not Iran: they do not
use the posterior.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from analysis.facts.measures import Fact
from analysis.facts.variants import CaseDraws, Context, missing_key
from sim.errors import UsageError
from sim.scenario import Scenario


def case_draws(posterior: Any, scn: Scenario, runs: int, seed: int,
               draws: int | None = None) -> CaseDraws:
    """The parameter draws the case runs on, checked against ``scn`` before any run.

    Args:
        posterior: a :class:`sim.jobs.posterior.Posterior` or its folder (``posterior.parquet``
            and ``manifest.json``, written by ``diplosim calibrate``).
        scn: the case; every key of the posterior must be a parameter cell of it.
        runs: runs per variant (rounded up to a multiple of the draws).
        seed: seed of the draws (:meth:`Posterior.draw`) and of the runs.
        draws: parameter draws (default :func:`sim.jobs.posterior.default_draws`: at most 50,
            two runs each or more).

    Raises:
        UsageError: not a posterior folder, a key the scenario does not have, or a bad number
            of draws, in one line naming the folder and the key.
        ScenarioError: a drawn value the scenario refuses (naming the key, the value, the draw).
    """
    from sim.jobs.edits import check_design
    from sim.jobs.posterior import Posterior, default_draws, load_posterior

    if isinstance(posterior, Posterior):
        post, folder = posterior, None
    else:
        folder = str(posterior)
        post = load_posterior(Path(posterior))
    where = f"--posterior {folder}" if folder is not None else "posterior"
    bad = missing_key(scn, post.keys)
    if bad is not None:
        raise UsageError(f"{where}: {bad} is not a parameter of {scn.source} (the posterior's "
                         f"keys must be parameter cells of the case)")
    d = default_draws(runs) if draws is None else draws
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= runs:
        raise UsageError(f"{where}: {d!r} parameter draws for {runs} runs (need 1..runs)")
    values = post.draw(int(d), seed)
    check_design(scn, list(post.keys), values)
    return CaseDraws(post, values, -(-runs // int(d)), folder)


def draw_spread(ctx: Context, fact: Fact, measure: Callable[[Context], Fact]) -> Fact:
    """Set ``fact``'s spread over the posterior's draws; ``fact`` was measured on ``ctx``.

    ``measure`` is the function that measured it: it is applied to each draw's runs
    (:meth:`Context.draw`, no new runs), and ``param_p05`` / ``param_p95`` are the 5% and 95%
    quantiles of the draws' figures (NaN draws, too few events to give one, left out). If the
    figure is a mean of per-run effects (``fact.data["per_run"]``), ``mc_se`` is its Monte
    Carlo standard error, the within-draw variance over all runs
    (:func:`sim.jobs.posterior.point_spreads`); otherwise NaN.
    """
    from sim.jobs.posterior import point_spreads

    case = ctx.posterior
    if case is None:
        return fact
    with warnings.catch_warnings():
        # A draw with no event to study (no deal in its runs) has no figure: NaN, left out.
        warnings.simplefilter("ignore", RuntimeWarning)
        per_draw = np.array([measure(ctx.draw(d)).estimate for d in range(case.draws)], float)
        p05, p95 = (np.nanquantile(per_draw, [0.05, 0.95]) if np.isfinite(per_draw).any()
                    else (math.nan, math.nan))
    fact.param_p05, fact.param_p95 = float(p05), float(p95)
    fact.draws = int(np.isfinite(per_draw).sum())
    per_run = fact.data.get("per_run")
    if per_run is not None:
        v = np.asarray(per_run, float).reshape(1, case.draws, case.per_draw, 1)
        fact.mc_se = float(point_spreads(["effect"], v)["mc_se"].iloc[0])
    return fact
