"""A fact's figure and verdict, and the statistics the facts are measured with.

Every interval is 95%: Wilson for a proportion, Student's t for a mean of per-run (paired)
differences, exact (Clopper-Pearson, conditional) for a ratio of two Poisson rates, a bootstrap
over runs for the half-time of an event's effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _st

from sim.results.stats import mean_interval, wilson_interval

#: Length of the window after a relief deal or a breach over which its effect is measured.
EVENT_WINDOW = 6


#: Months before a deal or a breach that give the reference growth.
PRE_WINDOW = 3


@dataclass
class Fact:
    """One stylised fact, the model's figure for it and the verdict.

    Attributes:
        number: 1..8, the order of the reference list.
        title: the fact in a few words.
        literature: the literature's figure, in words.
        source: the reference(s).
        measure: what the model's figure is, in model terms.
        estimate: the model's figure (units in ``measure``).
        low, high: its 95% confidence interval.
        band: the band the figure must fall in, in words.
        reproduced: whether the model reproduces the fact (every stated condition holds).
        note: the further figures the verdict rests on.
        data: arrays the figure of this fact is drawn from.
        reason: why the fact is not reproduced (empty when it is): which condition fails, or
            that the figure lies inside its band but its interval is not resolved at this run
            count.
        runs: Monte Carlo runs per variant behind the figure (set by ``check_facts``).
        param_p05, param_p95: on a calibrated posterior, the 5% and 95% quantiles of the
            parameter draws' own figures (what we do not know about the parameters; NaN
            without a posterior, :func:`analysis.facts.calibrated.draw_spread`).
        mc_se: on a posterior, the Monte Carlo standard error of a figure that is a mean of
            per-run effects (the runs' chance alone); NaN otherwise.
        draws: on a posterior, the parameter draws that gave a figure (0 without).
    """

    number: int
    title: str
    literature: str
    source: str
    measure: str
    estimate: float
    low: float
    high: float
    band: str
    reproduced: bool
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    reason: str = ""
    runs: int = 0
    param_p05: float = math.nan
    param_p95: float = math.nan
    mc_se: float = math.nan
    draws: int = 0

    def __post_init__(self) -> None:
        if not self.reproduced and not self.reason:
            self.reason = f"a condition of the band ({self.band}) fails; see the note"
        if self.reproduced:
            self.reason = ""

    @property
    def verdict(self) -> str:
        """``"reproduced"`` or ``"not reproduced"``."""
        return "reproduced" if self.reproduced else "not reproduced"


def band_reason(est: float, lo: float, hi: float, low: float, high: float, n: int,
                units: str) -> str:
    """Why a figure whose interval must lie within [low, high] is not reproduced ("" if it is).

    Either the figure itself lies outside the band, or it lies inside but its 95% interval
    reaches past an edge: not resolved with ``n`` ``units`` (more runs may settle it).
    """
    if low <= lo and hi <= high:
        return ""
    if not (math.isfinite(est) and math.isfinite(lo) and math.isfinite(hi)):
        return f"no interval with {n} {units}"
    if low <= est <= high:
        return (f"the figure {est:.3g} is inside the band {low:g}-{high:g} but its 95% CI "
                f"[{lo:.3g}, {hi:.3g}] reaches past it with {n} {units}: not resolved; more "
                "runs (--runs) may settle it")
    side = "above" if est > high else "below"
    return f"the figure {est:.3g} is {side} the band {low:g}-{high:g}"


def unresolved(ci: tuple[float, float, float], claim: str, runs: int,
               above: bool = False) -> str:
    """Why a paired difference does not show ``claim``.

    It must be below 0 (above if ``above``): either it has the wrong sign, or its 95% interval
    includes 0 with ``runs`` runs (not resolved).
    """
    est, lo, hi = ci
    right = est > 0 if above else est < 0
    if right:
        return (f"{claim}: {est:+.3g} has the right sign but its 95% CI [{lo:+.3g}, {hi:+.3g}] "
                f"includes 0 with {runs} runs: not resolved; more runs (--runs) may settle it")
    return f"{claim}: no, {est:+.3g} [{lo:+.3g}, {hi:+.3g}]"


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of the per-run differences ``a - b`` (common random numbers) and its 95% CI."""
    return mean_interval(np.asarray(a, float) - np.asarray(b, float))


def proportion(x: np.ndarray) -> tuple[float, float, float]:
    """Proportion of True in ``x`` with its Wilson 95% interval."""
    x = np.asarray(x, bool)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    lo, hi = wilson_interval(int(x.sum()), x.size)
    return float(x.mean()), lo, hi


def fmt_ci(est: float, lo: float, hi: float, digits: int = 2) -> str:
    """``"est [lo, hi]"`` with ``digits`` decimals, for the notes of the facts."""
    return f"{est:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def event_study(growth: np.ndarray, months: np.ndarray, sign: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Growth change around an event, one row per run with the event.

    Growth change around an event: rows (runs with the event at month ``m``, far enough
    from both ends), columns k = -PRE_WINDOW .. EVENT_WINDOW-1, relative to the mean growth of
    the ``PRE_WINDOW`` months before; ``sign`` -1 turns a fall into a positive loss.
    """
    h = growth.shape[1]
    rows = []
    for r, m in enumerate(months):
        if not np.isfinite(m):
            continue
        m = int(m)
        if m - PRE_WINDOW < 1 or m + EVENT_WINDOW - 1 > h:
            continue
        seg = growth[r, m - 1 - PRE_WINDOW: m - 1 + EVENT_WINDOW]
        rows.append(sign * (seg - seg[:PRE_WINDOW].mean()))
    k = np.arange(-PRE_WINDOW, EVENT_WINDOW)
    return k, np.array(rows).reshape(-1, k.size)


def half_time(rows: np.ndarray) -> float:
    """Months until half of an event's effect is reached.

    Months from the event (0 = the event's month) until the mean change first reaches half
    of its mean over the window after the event; NaN if it never does.
    """
    curve = rows.mean(axis=0)[PRE_WINDOW:]
    level = curve.mean()
    if not level > 0:
        return math.nan
    hit = np.nonzero(curve >= 0.5 * level)[0]
    return float(hit[0] + 1) if hit.size else math.nan


def boot_half_time(rows: np.ndarray, seed: int, reps: int = 400) -> tuple[float, float, float]:
    """Half-time of an event's effect with a bootstrap 95% interval.

    Half-time (months, counting the event's month as 1) and its bootstrap 95% interval
    (resampling runs; generator seeded from the ensemble seed).
    """
    est = half_time(rows)
    if rows.shape[0] < 10:
        return est, math.nan, math.nan
    rng = np.random.default_rng([seed, 6])
    boots = [half_time(rows[rng.integers(0, rows.shape[0], rows.shape[0])])
             for _ in range(reps)]
    boots = np.array(boots, float)
    if np.isnan(boots).mean() > 0.025:
        return est, math.nan, math.nan
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return est, float(lo), float(hi)


def rate_ratio(e1: int, t1: float, e0: int, t0: float) -> tuple[float, float, float]:
    """Ratio of two Poisson rates with its exact 95% interval.

    Ratio of two Poisson rates (events per month at risk) with its exact 95% interval:
    conditional on e1 + e0 events, e1 is binomial with p = r1 t1 / (r1 t1 + r0 t0).
    """
    if e0 == 0 or e1 == 0 or t0 <= 0 or t1 <= 0:
        return math.nan, math.nan, math.nan
    ci = _st.binomtest(e1, e1 + e0).proportion_ci(confidence_level=0.95, method="exact")
    scale = t0 / t1
    to_ratio = lambda p: p / (1.0 - p) * scale if p < 1.0 else math.inf  # noqa: E731
    return (e1 / t1) / (e0 / t0), to_ratio(ci.low), to_ratio(ci.high)
