"""Scenario discovery with PRIM: which ranges of the swept parameters lead to an outcome.

The Patient Rule Induction Method of Friedman and Fisher (1999), "Bump hunting in
high-dimensional data", Statistics and Computing 9, 123-143 (doi:10.1023/A:1008894516817), as used
for scenario discovery by Bryant and Lempert (2010), doi:10.1016/j.techfore.2009.08.002:

1. *Peeling*: start from a box holding every point. At each step, for each parameter, try
   removing the ``peel_alpha`` share of the box's points (``ceil(peel_alpha * m)`` of its ``m``
   points) with the lowest values of it, and the share with the highest; keep the one peel that
   leaves the highest density (share of points of interest) in the box, preferring on a tie a
   parameter already restricted. Stop when the box would hold less than ``mass_min`` of all
   points. The sequence of boxes is the *peeling trajectory*, a trade-off between coverage and
   density.
2. *Pasting*: from the box chosen on the trajectory, widen any limit again by ``paste_alpha`` of
   the points while that brings back points of interest without lowering the density.
3. *Covering* (optional): remove the points in the box and look for the next box.

For a box B over N points of which the set I are of interest: ``coverage`` = |B ∩ I| / |I| (how
many of the cases of interest the box explains), ``density`` = |B ∩ I| / |B| (how pure it is),
``mass`` = |B| / N. The EMA Workbench's ``prim`` (a 570 MB install here, whose 2.x API differs
from 3.x) does the same; this small version is tested on a synthetic case with a known box.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ArgumentError


@dataclass
class PrimBox:
    """A box found by PRIM, with its place on the peeling trajectory.

    Attributes:
        limits: DataFrame indexed by parameter with columns ``low`` and ``high`` (inclusive).
        restricted: parameters whose limits are narrower than the data's range.
        coverage: share of the points of interest inside the box.
        density: share of the box's points that are of interest.
        mass: share of all points inside the box.
        n: number of points inside.
        trajectory: one row per peeling step (``coverage``, ``density``, ``mass``, ``n`` and
            each parameter's ``low``/``high``); ``chosen`` marks the step the box was taken from.
        base_density: share of all points that are of interest (what a box must beat).
        data_range: DataFrame like ``limits`` with the range of the data (the unpeeled box).
        condition: what makes a point of interest (e.g. ``"relief_reached>=0.5"``), when the
            box was found by :func:`discover`.
    """

    limits: pd.DataFrame
    restricted: list[str]
    coverage: float
    density: float
    mass: float
    n: int
    trajectory: pd.DataFrame
    base_density: float
    data_range: pd.DataFrame
    condition: str | None = None

    def conditions(self) -> list[str]:
        """The box's restrictions as text, e.g. ``["actors.USA.decay >= 0.031"]``."""
        out = []
        for p in self.restricted:
            lo, hi = self.limits.loc[p, "low"], self.limits.loc[p, "high"]
            cut_lo = lo > self.data_range.loc[p, "low"]
            cut_hi = hi < self.data_range.loc[p, "high"]
            if cut_lo and cut_hi:
                out.append(f"{lo:.4g} <= {p} <= {hi:.4g}")
            elif cut_lo:
                out.append(f"{p} >= {lo:.4g}")
            else:
                out.append(f"{p} <= {hi:.4g}")
        return out

    def describe(self) -> str:
        """The box in words: its restricted limits and how good it is."""
        parts = self.conditions() or ["(no restriction)"]
        return (" and ".join(parts) + f": coverage {self.coverage:.0%}, density "
                f"{self.density:.0%} (base rate {self.base_density:.0%}), {self.n} points")

    def to_json(self) -> dict[str, Any]:
        """The box as JSON-ready data (what a saved sweep's ``discovery.json`` holds).

        The trajectory is left out (a table: :meth:`analysis.sweep.SweepResult.save` writes it
        as Parquet); :meth:`from_json` reads the rest back.
        """
        return {"condition": self.condition, "parameters": list(self.limits.index),
                "box": self.limits.to_dict("index"), "restricted": list(self.restricted),
                "coverage": self.coverage, "density": self.density, "mass": self.mass,
                "n": int(self.n), "base_density": self.base_density,
                "data_range": self.data_range.to_dict("index"), "description": self.describe()}

    @classmethod
    def from_json(cls, info: dict[str, Any], trajectory: pd.DataFrame | None = None) -> PrimBox:
        """A box from :meth:`to_json`'s data and its peeling trajectory (if kept)."""
        params = list(info["parameters"])
        limits = pd.DataFrame(info["box"]).T.loc[params, ["low", "high"]].astype(float)
        rng = pd.DataFrame(info.get("data_range", info["box"])).T.loc[params, ["low", "high"]]
        traj = pd.DataFrame() if trajectory is None else trajectory
        return cls(limits, list(info["restricted"]), float(info["coverage"]),
                   float(info["density"]), float(info["mass"]), int(info["n"]), traj,
                   float(info["base_density"]), rng.astype(float), info.get("condition"))

    def contains(self, X: pd.DataFrame) -> np.ndarray:
        """Which rows of ``X`` fall inside the box."""
        inside = np.ones(len(X), dtype=bool)
        for p, (lo, hi) in self.limits.iterrows():
            v = X[p].to_numpy(dtype=float)
            inside &= (v >= lo) & (v <= hi)
        return inside


def _stats(y: np.ndarray, inside: np.ndarray, total_interest: float) -> tuple[float, ...]:
    n = int(inside.sum())
    hits = float(y[inside].sum())
    coverage = hits / total_interest if total_interest > 0 else 0.0
    density = hits / n if n else 0.0
    return coverage, density, n / y.size, n


def peel_count(m: int, alpha: float) -> int:
    """Points one peel removes from a box of ``m`` points: ``ceil(alpha * m)``, at least 1.

    Friedman and Fisher peel the ``alpha`` share of the box's points (``alpha * m``); the EMA
    Workbench does the same (150 of 3,000 points at alpha 0.05). With ties at the cut fewer
    points go (a value is never split), see :func:`_candidates`.
    """
    # The tolerance keeps a product such as 0.07 * 100 = 7.000000000000001 at 7.
    return max(1, math.ceil(alpha * m - 1e-9))


def _candidates(x: np.ndarray, inside: np.ndarray, alpha: float):
    """Lower and upper peels of one parameter: (kind, new limit, new inside mask).

    A lower peel removes the :func:`peel_count` lowest values of the box (an upper peel the
    highest): every value below the k-th lowest's successor. Tied values at the cut stay, unless
    the cut falls on the box's edge value, which then goes whole.
    """
    v = np.sort(x[inside])
    out = []
    if v.size < 2:
        return out
    k = peel_count(v.size, alpha)
    lo_cut = v[k]
    hi_cut = v[v.size - 1 - k]
    keep_lo = x > lo_cut if lo_cut == v[0] else x >= lo_cut
    keep_hi = x < hi_cut if hi_cut == v[-1] else x <= hi_cut
    new_lo = inside & keep_lo
    new_hi = inside & keep_hi
    if 0 < new_lo.sum() < inside.sum():
        out.append(("low", float(x[new_lo].min()), new_lo))
    if 0 < new_hi.sum() < inside.sum():
        out.append(("high", float(x[new_hi].max()), new_hi))
    return out


def peel(X: pd.DataFrame, y: np.ndarray, peel_alpha: float = 0.05,
         mass_min: float = 0.05) -> pd.DataFrame:
    """The peeling trajectory of PRIM (step 1 above) as a DataFrame, one row per box."""
    x = X.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(X.columns)
    total = float(y.sum())
    inside = np.ones(y.size, dtype=bool)
    limits = {p: [float(x[:, j].min()), float(x[:, j].max())] for j, p in enumerate(names)}
    rows = []

    def record(step: int) -> None:
        cov, den, mass, n = _stats(y, inside, total)
        row = {"step": step, "coverage": cov, "density": den, "mass": mass, "n": n}
        for p in names:
            row[f"{p}.low"], row[f"{p}.high"] = limits[p]
        rows.append(row)

    record(0)
    step = 0
    full = {p: tuple(limits[p]) for p in names}
    while True:
        best = None
        for j, p in enumerate(names):
            # A parameter still at the data's range: peeling it restricts a new dimension.
            fresh = tuple(limits[p]) == full[p]
            for kind, limit, mask in _candidates(x[:, j], inside, peel_alpha):
                n = int(mask.sum())
                if n < mass_min * y.size:
                    continue
                den = float(y[mask].mean())
                # Highest density; ties: a parameter already restricted (as the EMA Workbench
                # does, so the box names no more parameters than it needs), then the peel that
                # keeps more points, then the first parameter, lower side first.
                key = (den, not fresh, n)
                if best is None or key > best[0]:
                    best = (key, p, kind, limit, mask)
        if best is None:
            break
        _, p, kind, limit, mask = best
        inside = mask
        limits[p][0 if kind == "low" else 1] = limit
        step += 1
        record(step)
    return pd.DataFrame(rows)


def _limits_at(traj: pd.DataFrame, step: int, names: list[str]) -> dict[str, list[float]]:
    row = traj.loc[traj["step"] == step].iloc[0]
    return {p: [float(row[f"{p}.low"]), float(row[f"{p}.high"])] for p in names}


def _mask(x: np.ndarray, limits: dict[str, list[float]], names: list[str]) -> np.ndarray:
    inside = np.ones(x.shape[0], dtype=bool)
    for j, p in enumerate(names):
        inside &= (x[:, j] >= limits[p][0]) & (x[:, j] <= limits[p][1])
    return inside


def paste(X: pd.DataFrame, y: np.ndarray, limits: dict[str, list[float]],
          paste_alpha: float = 0.05) -> dict[str, list[float]]:
    """Widen a box's limits (step 2 above) while that adds points of interest.

    A paste is taken only if it does not lower the box's density.
    """
    x = X.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(X.columns)
    limits = {p: list(v) for p, v in limits.items()}
    while True:
        inside = _mask(x, limits, names)
        n_in = int(inside.sum())
        den = float(y[inside].mean()) if n_in else 0.0
        step_n = max(1, int(np.ceil(paste_alpha * n_in)))
        best = None
        for j, p in enumerate(names):
            for side in (0, 1):
                trial = {q: list(v) for q, v in limits.items()}
                others = dict(trial)
                others[p] = [-np.inf, np.inf]
                cand = _mask(x, others, names) & ~inside
                v = x[cand, j]
                v = v[v < limits[p][0]] if side == 0 else v[v > limits[p][1]]
                if v.size == 0:
                    continue
                v = np.sort(v)[::-1] if side == 0 else np.sort(v)
                # A step of paste_alpha of the box's points, or failing that the nearest
                # single value (so a pure box can widen to its true edge).
                for k in dict.fromkeys((min(step_n, v.size), 1)):
                    cand = {q: list(lim) for q, lim in trial.items()}
                    cand[p][side] = float(v[k - 1])
                    mask = _mask(x, cand, names)
                    new_den = float(y[mask].mean())
                    gain = float(y[mask].sum() - y[inside].sum())
                    # Paste when the density does not fall and points of interest come back;
                    # each paste adds points, so this ends.
                    if new_den >= den and gain > 0:
                        if best is None or (new_den, gain) > best[0]:
                            best = ((new_den, gain), cand)
                        break
        if best is None:
            return limits
        limits = best[1]


def choose_step(traj: pd.DataFrame, min_coverage: float = 0.5) -> int:
    """The step of the trajectory to take the box from: the one-standard-error rule.

    Among the boxes that keep at least ``min_coverage``, find the highest density ``d*`` (box of
    ``n*`` points) and take the *largest* box whose density is within one binomial standard error
    ``sqrt(d* (1 - d*) / n*)`` of it: further peels that gain less than noise are not worth the
    coverage they cost (the rule CART uses to prune trees).
    """
    ok = traj[traj["coverage"] >= min_coverage - 1e-12]
    if ok.empty:
        return 0
    best = ok.loc[ok["density"].idxmax()]
    se = float(np.sqrt(best["density"] * (1.0 - best["density"]) / max(best["n"], 1)))
    near = ok[ok["density"] >= best["density"] - se]
    return int(near["step"].min())


def prim(X: pd.DataFrame, y: np.ndarray, peel_alpha: float = 0.05, paste_alpha: float = 0.05,
         mass_min: float = 0.05, min_coverage: float = 0.5) -> PrimBox:
    """Find one PRIM box where ``y`` (True/1: a point of interest) is concentrated.

    Args:
        X: the parameters of each point (one column per parameter).
        y: 1/True for the points of interest, 0/False otherwise.
        peel_alpha: share of the box's points removed by each peel (Friedman and Fisher advise
            0.05-0.1).
        paste_alpha: share of the box's points added back by each paste.
        mass_min: the smallest box, as a share of all points.
        min_coverage: the box is taken from the trajectory among the boxes that keep at least
            this coverage, by :func:`choose_step`, then pasted.

    Returns:
        A :class:`PrimBox` (with the whole trajectory, to choose another trade-off).
    """
    if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
        raise ValueError("X must be a DataFrame with at least one column")
    y = np.asarray(y).astype(float).ravel()
    if y.size != len(X):
        raise ValueError(f"y has {y.size} values for {len(X)} points")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must be 0/1 (or boolean): which points are of interest")
    if not 0 < peel_alpha < 0.5 or not 0 < paste_alpha < 0.5 or not 0 < mass_min < 1:
        raise ValueError("peel_alpha and paste_alpha must be in (0, 0.5), mass_min in (0, 1)")
    names = list(X.columns)
    traj = peel(X, y, peel_alpha, mass_min)
    step = choose_step(traj, min_coverage)
    limits = paste(X, y, _limits_at(traj, step, names), paste_alpha)
    x = X.to_numpy(dtype=float)
    inside = _mask(x, limits, names)
    cov, den, mass, n = _stats(y, inside, float(y.sum()))
    full = {p: (float(x[:, j].min()), float(x[:, j].max())) for j, p in enumerate(names)}
    restricted = [p for p in names if limits[p][0] > full[p][0] or limits[p][1] < full[p][1]]
    traj = traj.assign(chosen=traj["step"] == step)
    lim = pd.DataFrame(limits, index=["low", "high"]).T
    rng = pd.DataFrame(full, index=["low", "high"]).T
    return PrimBox(lim, restricted, cov, den, mass, n, traj, float(y.mean()), rng)


def prim_boxes(X: pd.DataFrame, y: np.ndarray, n_boxes: int = 2, **kwargs: float) -> list[PrimBox]:
    """PRIM with covering: after each box, drop its points and look for the next.

    Coverage and density of every box are measured on all points (not the remaining ones).
    """
    y = np.asarray(y).astype(float).ravel()
    left = np.ones(y.size, dtype=bool)
    out: list[PrimBox] = []
    for _ in range(n_boxes):
        if y[left].sum() == 0 or left.sum() < 2:
            break
        box = prim(X[left].reset_index(drop=True), y[left], **kwargs)
        inside = box.contains(X)
        cov, den, mass, n = _stats(y, inside & left, float(y.sum()))
        box.coverage, box.density, box.mass, box.n = cov, den, mass, n
        out.append(box)
        left &= ~inside
    return out


_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|>|<|==)\s*([-+0-9.eE]+)\s*$")


def parse_condition(text: str) -> tuple[str, str, float]:
    """``"relief_reached>=0.5"`` -> ``("relief_reached", ">=", 0.5)``; ArgumentError if bad."""
    m = _CONDITION.match(text)
    if not m:
        raise ArgumentError("discover", text, "expected OUTCOME>=VALUE (or >, <, <=, ==)")
    try:
        value = float(m.group(3))
    except ValueError:
        raise ArgumentError("discover", text, f"{m.group(3)!r} is not a number") from None
    return m.group(1), m.group(2), value


def condition_mask(values: np.ndarray, op: str, value: float) -> np.ndarray:
    """``values OP value`` as a boolean array (NaN is never of interest)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return {">=": v >= value, "<=": v <= value, ">": v > value, "<": v < value,
                "==": v == value}[op]


def discover(table: pd.DataFrame, parameters: list[str], condition: str,
             **kwargs: float) -> PrimBox:
    """PRIM box of the design points of a sweep ``table`` where ``condition`` holds.

    Args:
        table: a sweep's table (one row per design point).
        parameters: the varied parameter columns.
        condition: e.g. ``"relief_reached>=0.5"`` (an outcome column, an operator, a number).
        **kwargs: passed to :func:`prim`.
    """
    outcome, op, value = parse_condition(condition)
    if outcome not in table.columns:
        raise ArgumentError("discover", outcome, "unknown outcome of this sweep")
    y = condition_mask(table[outcome].to_numpy(), op, value)
    if not y.any():
        raise ArgumentError("discover", condition, "holds at no design point: nothing to find")
    box = prim(table[parameters], y, **kwargs)
    box.condition = condition
    return box
