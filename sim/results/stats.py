"""Confidence intervals for ensemble outcomes.

Two estimators cover every outcome of an ensemble:

* a proportion (how many of ``n`` runs ended in a deal, saw a route detected, ...) gets the
  Wilson score interval, which keeps close to its nominal coverage even for proportions near 0
  or 1 and small ``n``, where the textbook Wald interval collapses to a point;
* a mean (months to a deal, final sanction pressure, ...) gets the Student t interval
  ``mean +/- t_{(1+c)/2, n-1} * s / sqrt(n)``. Runs of an ensemble are independent and
  identically distributed by construction (every draw is keyed by the run index), so the central
  limit theorem applies; with the thousands of runs of a usual ensemble the t interval is
  indistinguishable from a bootstrap percentile interval and costs nothing.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return confidence


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Args:
        successes: number of runs where the event happened (0 <= successes <= n).
        n: number of runs (n >= 1).
        confidence: two-sided confidence level, e.g. 0.95.

    Returns:
        ``(lo, hi)``, bounds on the probability of the event, within [0, 1]. With
        ``successes == 0`` the lower bound is exactly 0; with ``successes == n`` the upper bound
        is exactly 1.

    Raises:
        ValueError: if ``n < 1``, ``successes`` is outside ``[0, n]`` or ``confidence`` is not in
            (0, 1).
    """
    confidence = _check_confidence(confidence)
    n = int(n)
    successes = int(successes)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    from scipy.special import ndtri  # light import: scipy.stats takes seconds to import

    z = float(ndtri(0.5 + confidence / 2.0))
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / (1.0 + z2n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def mean_interval(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its Student t confidence interval.

    NaN values (e.g. "months to deal" of runs that never reached a deal) are dropped first, so
    the interval is conditional on the value being defined.

    Args:
        values: one number per run.
        confidence: two-sided confidence level, e.g. 0.95.

    Returns:
        ``(mean, lo, hi)``. With no finite value all three are NaN; with one value, or values
        that are all equal, the interval is the point ``(mean, mean, mean)``.

    Raises:
        ValueError: if ``confidence`` is not in (0, 1).
    """
    confidence = _check_confidence(confidence)
    x = np.asarray(values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return mean, mean, mean
    from scipy.special import stdtrit  # the Student t quantile, as scipy.stats.t.ppf

    half = float(stdtrit(x.size - 1, 0.5 + confidence / 2.0)) * sd / math.sqrt(x.size)
    return mean, mean - half, mean + half
