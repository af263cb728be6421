"""Monthly bands of an ensemble: quantiles and mean of every monthly figure, month by month.

A band row gives, for one month and one monthly figure (``gdp_index_IRN``, ``pressure_RUS``,
``sanctions_USA_IRN``, ... see :func:`sim.core.outcomes.monthly_names`), the 5, 25, 50, 75 and 95%
quantiles over the runs and their mean. Quantiles are order statistics (numpy's
``method="inverted_cdf"``: the smallest value with at least a share q of runs at or below it), so
a band of a yes/no figure is 0 or 1, never an interpolated 0.5.

Two ways to compute them, one result format:

* **exact** (:func:`exact_bands`) from every run's trajectory, used up to
  :data:`EXACT_BANDS_MAX_RUNS` runs (a trajectory takes 8 bytes x (months + 1) x figures, about
  16 kB for the baseline, so 2,000 runs take 33 MB);
* **approximate** (:class:`HistogramBands`) beyond it: a fixed-bin histogram per (month, figure)
  of :data:`BINS` bins over the figure's range ``[lo, hi]``, filled chunk by chunk, so memory
  does not grow with runs (8 bytes x (months + 1) x figures x bins, 16 MB for the baseline).
  The quantile is the centre of the bin that holds the order statistic, clamped to the smallest
  and largest value seen, so **its error is at most half a bin, (hi - lo) / (2 x BINS)**:
  0.0005 for figures in [0, 1], 0.001 for figures in [-1, 1]. Values outside ``[lo, hi]`` go to
  an underflow or overflow bin (a quantile there is reported as the smallest or largest value
  seen) and are counted in the ``clipped`` column; the bound holds for every row whose
  ``clipped`` is 0 (the ``error`` column is then the bound, else infinity). The mean is exact
  (a running sum, added in run order whatever the chunking or thread count).

The ranges come from the model: shares, pressures, credibilities, trust and intensity lie in
[0, 1], affinity and the war balance in [-1, 1], units shipped between 0 and the supplier's largest
capacity; the GDP index gets [0, :data:`GDP_INDEX_MAX`].
"""

from __future__ import annotations

import math
import threading

import numba
import numpy as np
import pandas as pd

from sim.core import layout as L
from sim.core.jit import njit
from sim.scenario import CompiledScenario

#: Quantiles of a band and their column names.
QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
#: Largest ensemble whose bands are computed exactly from every trajectory.
EXACT_BANDS_MAX_RUNS = 2000
#: Bins per (month, figure) of the approximate bands.
BINS = 1000
#: Upper end of the GDP index range of the approximate bands (GDP four times the start).
GDP_INDEX_MAX = 4.0

BAND_COLUMNS = ["month", "metric", *QUANTILES, "mean", "error", "clipped"]

_UNIT = ("pressure_", "credibility_", "relief_priority_", "sanctions_", "trust_", "active_",
         "implementing_",
         "detected_", "war_intensity")
_SIGNED = ("affinity_", "war_balance")


def figure_ranges(cs: CompiledScenario, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Range ``[lo, hi]`` of each monthly figure, from what the model allows.

    Raises:
        KeyError: for a figure this module does not know (add its range here).
    """
    cap = float(np.max(cs.CAP)) if cs.CAP.size else 0.0
    for e in cs.EV:
        if int(e[1]) == L.EV_CAPACITY:
            cap = max(cap, float(e[4]))
    lo = np.zeros(len(names))
    hi = np.ones(len(names))
    for k, name in enumerate(names):
        if name.startswith("gdp_index_"):
            hi[k] = GDP_INDEX_MAX
        elif name.startswith("shipped_"):
            hi[k] = max(1.0, math.floor(cap + 0.5))
        elif name.startswith(_SIGNED):
            lo[k] = -1.0
        elif not name.startswith(_UNIT):
            raise KeyError(f"no band range for monthly figure {name!r} (see sim.results.bands)")
    return lo, hi


def _rank(n: int, q: float) -> int:
    """0-based index of the order statistic numpy's ``inverted_cdf`` method returns."""
    v = n * q - 1.0
    k = math.floor(v)
    if v - k > 0:
        k += 1
    return min(max(k, 0), n - 1)


def exact_bands(traj: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Exact bands from trajectories ``runs x (months + 1) x figures`` (long form)."""
    runs, nm, nf = traj.shape
    qs = np.quantile(traj, list(QUANTILES.values()), axis=0, method="inverted_cdf")
    data = {
        "month": np.tile(np.arange(nm), nf),
        "metric": np.repeat(np.array(names, dtype=object), nm),
    }
    for i, col in enumerate(QUANTILES):
        data[col] = qs[i].T.ravel()
    data["mean"] = traj.mean(axis=0).T.ravel()
    data["error"] = np.zeros(nm * nf)
    data["clipped"] = np.zeros(nm * nf, dtype=np.int64)
    return pd.DataFrame(data, columns=BAND_COLUMNS)


@njit(nogil=True)
def _accumulate(traj, lo, hi, width, counts, sums, mins, maxs, clipped, m0, m1):
    """Add months ``m0`` to ``m1`` (exclusive) of trajectories ``runs x months x figures``.

    One (month, figure) at a time, its runs in order: every sum adds its runs in run order,
    whatever the chunking or the threads, and the running sum, extremes and histogram row stay
    in registers and cache (2.5 times faster than one run's figures at a time). NaN values
    count as clipped and enter neither a bin nor the sum. ``width`` is each figure's bin width,
    ``(hi - lo) / bins``; a value's offset in bins is not negative, so truncating it is its
    floor. Compiled without the GIL: :meth:`HistogramBands.add` runs it on several threads,
    each on its own months.
    """
    runs = traj.shape[0]
    nf = traj.shape[2]
    bins = counts.shape[2] - 2  # counts[..., 0] underflow, counts[..., bins + 1] overflow
    for m in range(m0, m1):
        for f in range(nf):
            low, high, w = lo[f], hi[f], width[f]
            total, least, most, out = sums[m, f], mins[m, f], maxs[m, f], clipped[m, f]
            row = counts[m, f]
            for r in range(runs):
                x = traj[r, m, f]
                if math.isnan(x):
                    out += 1
                    continue
                total += x
                if x < least:
                    least = x
                if x > most:
                    most = x
                if x < low:
                    out += 1
                    row[0] += 1
                elif x > high:
                    out += 1
                    row[bins + 1] += 1
                else:
                    b = int((x - low) / w)
                    if b >= bins:  # x == hi
                        b = bins - 1
                    row[b + 1] += 1
            sums[m, f], mins[m, f], maxs[m, f], clipped[m, f] = total, least, most, out


class HistogramBands:
    """Bounded-memory bands, filled chunk by chunk (see the module docstring for the error).

    Args:
        names: monthly figure names.
        months: months per run (the histograms cover months 0..months).
        lo: lower end of each figure's range.
        hi: upper end of each figure's range.
        bins: bins per (month, figure).
    """

    def __init__(self, names: list[str], months: int, lo: np.ndarray, hi: np.ndarray,
                 bins: int = BINS):
        nf = len(names)
        self.names = list(names)
        self.lo = np.asarray(lo, dtype=float)
        self.hi = np.asarray(hi, dtype=float)
        if self.lo.shape != (nf,) or self.hi.shape != (nf,) or not (self.hi > self.lo).all():
            raise ValueError("need one range lo < hi per figure")
        if int(bins) < 1:
            raise ValueError(f"bins must be at least 1, got {bins}")
        self.bins = int(bins)
        # Bin 0 counts values below lo, bin bins + 1 values above hi.
        self.counts = np.zeros((months + 1, nf, self.bins + 2), dtype=np.int64)
        self.sums = np.zeros((months + 1, nf))
        self.mins = np.full((months + 1, nf), np.inf)
        self.maxs = np.full((months + 1, nf), -np.inf)
        self.clipped = np.zeros((months + 1, nf), dtype=np.int64)
        self.runs = 0

    @property
    def max_error(self) -> np.ndarray:
        """Worst-case quantile error of each figure, half a bin: (hi - lo) / (2 x bins)."""
        return (self.hi - self.lo) / (2 * self.bins)

    def add(self, traj: np.ndarray) -> None:
        """Add the trajectories of a chunk of runs (``runs x (months + 1) x figures``)."""
        if traj.shape[1:] != self.counts.shape[:2]:
            raise ValueError(f"trajectories of shape {traj.shape[1:]} do not fit bands of "
                             f"shape {self.counts.shape[:2]}")
        traj = np.ascontiguousarray(traj, dtype=np.float64)
        args = (traj, self.lo, self.hi, (self.hi - self.lo) / self.bins, self.counts, self.sums,
                self.mins, self.maxs, self.clipped)
        nm = traj.shape[1]
        threads = max(1, min(numba.get_num_threads(), nm))
        # Each thread its own months: no two write one (month, figure).
        cuts = [nm * t // threads for t in range(threads + 1)]
        errors: list[BaseException] = []

        def months(t: int) -> None:
            try:
                _accumulate(*args, cuts[t], cuts[t + 1])
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                errors.append(exc)

        pool = [threading.Thread(target=months, args=(t,)) for t in range(1, threads)]
        for t in pool:
            t.start()
        months(0)
        for t in pool:
            t.join()
        if errors:
            raise errors[0]
        self.runs += traj.shape[0]

    def frame(self) -> pd.DataFrame:
        """The bands in long form (columns :data:`BAND_COLUMNS`)."""
        if self.runs == 0:
            raise ValueError("no runs added")
        nm, nf, _ = self.counts.shape
        cum = np.cumsum(self.counts, axis=2)
        width = (self.hi - self.lo) / self.bins
        out = {}
        for col, q in QUANTILES.items():
            k = _rank(self.runs, q) + 1  # need at least k values at or below
            b = np.argmax(cum >= k, axis=2) - 1  # first bin reaching rank k (-1: underflow)
            centre = self.lo[None, :] + (b + 0.5) * width[None, :]
            centre = np.where(b < 0, self.mins, np.where(b >= self.bins, self.maxs, centre))
            out[col] = np.clip(centre, self.mins, self.maxs).T.ravel()
        error = np.where(self.clipped > 0, np.inf, self.max_error[None, :])
        data = {
            "month": np.tile(np.arange(nm), nf),
            "metric": np.repeat(np.array(self.names, dtype=object), nm),
            **out,
            "mean": (self.sums / self.runs).T.ravel(),
            "error": error.T.ravel(),
            "clipped": self.clipped.T.ravel(),
        }
        return pd.DataFrame(data, columns=BAND_COLUMNS)
