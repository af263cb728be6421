"""Posterior predictive checks and out-of-sample scores against null models.

A calibration fitted on months 1..``cut-off`` predicts the rows of the record dated after it:
each held-out target becomes a yes/no event (a deal by a date, the first shipment by the month
it came, at least the observed count), and each model gives it a probability. The scores are
the Brier score ((p - o)^2) and the log score (-log of the probability given to what happened,
p clipped to [0.001, 0.999]); lower is better. The models:

* ``calibrated``: the runs of draws from the posterior;
* ``uncalibrated``: the prior predictive: the calibrated parameters drawn from their priors
  (what the model says before it sees the record; not the scenario's own values, which the
  bundled baseline now takes from the whole record's posterior and would leak the held-out
  months into the null);
* ``mechanisms_off``: the posterior draws with the threat and deal mechanisms switched off (no
  weight on threatened sanctions, ``world.w_risk`` = 0; no deal can be struck, every track's
  ``base_rate`` = 0);
* ``base_rate``: no model: the event's monthly rate in the calibration window (with Laplace's
  rule, (events + 1) / (months + 2)) carried over the months to its date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.calibration import statistics as S
from analysis.calibration.record import Target
from sim.jobs.posterior import Posterior
from sim.scenario import Scenario

CLIP = 1e-3


def predictive(base: Scenario, posterior: Posterior, targets: Sequence[Target], until: int, *,
               draws: int, runs: int, seed: int, fixed: dict[str, float] | None = None,
               **options: Any) -> np.ndarray:
    """Run-level statistics of ``draws`` posterior draws, ``runs`` each: draws x runs x targets.

    ``fixed`` sets further parameters to one value in every draw (a null model's switches);
    a key also in the posterior takes the fixed value.
    """
    values = posterior.draw(draws, seed)
    keys = list(posterior.keys)
    for key, value in (fixed or {}).items():
        if key in keys:
            values[:, keys.index(key)] = value
        else:
            keys.append(key)
            values = np.column_stack([values, np.full(values.shape[0], value)])
    return S.run_statistics(base, keys, values, targets, until, runs, seed, **options)


def prior_draws(priors: Sequence[Any], n: int, seed: int) -> Posterior:
    """The prior as a :class:`Posterior`: ``n`` equally weighted, seeded uniform draws.

    Each of ``priors`` has ``key``, ``low`` and ``high``; used for the prior predictive.
    """
    rng = np.random.default_rng([seed, 0x9A10])
    low = np.array([p.low for p in priors], dtype=np.float64)
    high = np.array([p.high for p in priors], dtype=np.float64)
    values = low + (high - low) * rng.random((n, len(priors)))
    return Posterior(tuple(p.key for p in priors), values, np.full(n, 1.0 / n))


def check_table(stats: np.ndarray, targets: Sequence[Target]) -> pd.DataFrame:
    """Posterior predictive check: each target's observed value against the runs' spread.

    Columns: target, outcome, month, observed, scale (the target's tolerance), mean, q05,
    q50, q95 (over every run of every draw), and ``p_below``: the share of runs below the
    observed value plus half those equal to it (near 0 or 1: the calibrated model rarely
    produces what was observed).
    """
    flat = stats.reshape(-1, stats.shape[-1])
    rows = []
    for j, t in enumerate(targets):
        x = flat[:, j]
        rows.append({"target": t.name, "outcome": t.outcome, "month": t.month,
                     "observed": t.observed, "scale": t.scale, "mean": float(x.mean()),
                     "q05": float(np.quantile(x, 0.05)), "q50": float(np.quantile(x, 0.5)),
                     "q95": float(np.quantile(x, 0.95)),
                     "p_below": float((x < t.observed).mean() + 0.5 * (x == t.observed).mean())})
    return pd.DataFrame(rows)


def held_out(fitted: Sequence[Target], full: Sequence[Target]) -> list[Target]:
    """Targets of the full window not fitted: new ones, and counts that grew after the cut-off."""
    seen = {(t.name, t.observed) for t in fitted}
    return [t for t in full if (t.name, t.observed) not in seen and t.how != "growth"]


def event_probability(stats: np.ndarray, t: Target) -> tuple[float, int]:
    """(p, o): the model's probability of the target's yes/no event and what happened (1/0).

    ``stats``: any number of runs of the target's statistic (flattened).
    """
    x = np.asarray(stats, dtype=np.float64).reshape(-1)
    if t.how == "first_month":
        return float((x <= t.observed).mean()), 1
    if t.how in ("count", "rounds"):
        return float((x >= t.observed).mean()), 1
    return float(x.mean()), int(t.observed)


def happened(t: Target) -> int:
    """1 if the target's yes/no event happened (see :func:`event_probability`), else 0."""
    return event_probability(np.zeros(1), t)[1]


def base_rate(t: Target, cutoff: int) -> float:
    """The null model without a model: the window's monthly rate carried to the target's month.

    A held-out event did not happen in the window (else it would not be held out), so the rate
    is 1 / (cut-off + 2) a month; for a count, the window's rows per month instead.
    """
    months = max(t.month - cutoff, 1)
    if t.how in ("count", "rounds"):
        return float(1.0 - np.exp(-months / (cutoff + 2)))
    h = 1.0 / (cutoff + 2)
    return float(1.0 - (1.0 - h) ** months)


def scores(p: float, o: int) -> tuple[float, float]:
    """(Brier, log score) of probability ``p`` given to an event whose outcome was ``o``."""
    q = min(max(p, CLIP), 1.0 - CLIP)
    return (p - o) ** 2, float(-np.log(q if o else 1.0 - q))


def score_table(probabilities: dict[str, dict[str, float]], held: Sequence[Target]
                ) -> pd.DataFrame:
    """Brier and log scores of every model on every held-out event, with a mean row per model.

    ``probabilities``: model -> target name -> probability of the target's event.
    """
    rows = []
    for model, probs in probabilities.items():
        for t in held:
            o = happened(t)
            brier, log = scores(probs[t.name], o)
            rows.append({"model": model, "event": t.name, "month": t.month,
                         "happened": o, "p": probs[t.name], "brier": brier, "log": log})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    mean = frame.groupby("model", sort=False)[["brier", "log"]].mean().reset_index()
    mean["event"] = "mean"
    return pd.concat([frame, mean], ignore_index=True)


def mechanisms_off(base: Scenario) -> dict[str, float]:
    """The switches of the ``mechanisms_off`` null model for ``base``: threats and deals off."""
    off = {"world.w_risk": 0.0}
    for track in base.spec.tracks:
        off[f"tracks.{track}.base_rate"] = 0.0
    return off
