"""Global sensitivity analysis of a sweep through SALib.

- Sobol' indices (Sobol' 2001; Saltelli et al. 2010, doi:10.1016/j.cpc.2009.09.018) from a
  ``design="sobol"`` sweep: first-order ``S1`` (the share of the outcome's variance a parameter
  explains alone) and total ``ST`` (alone and in interaction), each with a bootstrap confidence
  interval (``S1_conf``, ``ST_conf``: half-widths at the stated level).
- Morris elementary effects (Morris 1991; Campolongo et al. 2007, doi:10.1016/j.envsoft.2006.10.004)
  from a ``design="morris"`` sweep: ``mu_star`` (mean absolute effect, with ``mu_star_conf``),
  ``mu`` and ``sigma`` (non-linearity or interaction).

The outcome analysed is the design point's ensemble figure (a mean or probability over
``runs_per_point`` runs on common random numbers), so a parameter that no rule reads changes no
outcome at all and gets indices of exactly zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.sweep import DESIGNS, MORRIS_LEVELS, SweepResult, sample_design
from sim.errors import ArgumentError

SOBOL_COLUMNS = ["outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
MORRIS_COLUMNS = ["outcome", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]


def _outcome_values(result: SweepResult, outcome: str) -> np.ndarray:
    if outcome not in result.outcomes:
        raise ArgumentError("sensitivity", outcome, "unknown outcome (known: "
                            f"{', '.join(result.outcomes)})")
    y = result.table[outcome].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise ArgumentError("sensitivity", outcome, f"undefined at {bad} design points (a month "
                            "of an event that never happened there); choose another outcome")
    return y


def sobol_indices(result: SweepResult, outcomes: list[str], confidence: float = 0.95,
                  seed: int = 0) -> pd.DataFrame:
    """Sobol' S1 and ST (with CI half-widths) of each outcome from a ``sobol`` sweep.

    An outcome that does not vary over the design has no variance to apportion: its indices are
    reported as 0 (no parameter moves it).
    """
    from SALib.analyze import sobol

    if result.design != "sobol":
        raise ArgumentError("sensitivity", "design", f"Sobol' indices need a 'sobol' sweep "
                            f"(this one is {result.design!r})")
    rows = []
    for outcome in outcomes:
        y = _outcome_values(result, outcome)
        names = result.problem["names"]
        if np.ptp(y) == 0.0:
            rows += [{"outcome": outcome, "parameter": p, "S1": 0.0, "S1_conf": 0.0, "ST": 0.0,
                      "ST_conf": 0.0} for p in names]
            continue
        res = sobol.analyze(result.problem, y, calc_second_order=False, conf_level=confidence,
                            seed=int(seed) % 2**32)
        for k, p in enumerate(names):
            rows.append({"outcome": outcome, "parameter": p, "S1": float(res["S1"][k]),
                         "S1_conf": float(res["S1_conf"][k]), "ST": float(res["ST"][k]),
                         "ST_conf": float(res["ST_conf"][k])})
    return pd.DataFrame(rows, columns=SOBOL_COLUMNS)


def morris_indices(result: SweepResult, outcomes: list[str], confidence: float = 0.95,
                   seed: int = 0) -> pd.DataFrame:
    """Morris mu, mu* (with CI half-width) and sigma of each outcome from a ``morris`` sweep."""
    from SALib.analyze import morris

    if result.design != "morris":
        raise ArgumentError("sensitivity", "design", f"Morris effects need a 'morris' sweep "
                            f"(this one is {result.design!r})")
    rows = []
    X = _morris_design(result)
    for outcome in outcomes:
        y = _outcome_values(result, outcome)
        res = morris.analyze(result.problem, X, y, conf_level=confidence,
                             num_levels=MORRIS_LEVELS, seed=int(seed) % 2**32)
        for k, p in enumerate(result.problem["names"]):
            rows.append({"outcome": outcome, "parameter": p, "mu": float(res["mu"][k]),
                         "mu_star": float(res["mu_star"][k]),
                         "mu_star_conf": float(res["mu_star_conf"][k]),
                         "sigma": float(res["sigma"][k])})
    return pd.DataFrame(rows, columns=MORRIS_COLUMNS)


def _morris_design(result: SweepResult) -> np.ndarray:
    """The Morris design as sampled, before whole-number parameters were rounded.

    SALib needs the grid values to recognise each trajectory's steps (effects of whole-number
    parameters are then per nominal step of the design). The design is redrawn from the sweep's
    seed and checked against the table.
    """
    X = result.X
    if not any(f.integer for f in result.factors):
        return X
    raw = sample_design("morris", result.problem, result.samples, result.seed)
    setv = np.column_stack([np.round(raw[:, j]) if f.integer else raw[:, j]
                            for j, f in enumerate(result.factors)])
    if raw.shape != X.shape or not np.allclose(setv, X):
        raise ArgumentError("sensitivity", "design", "the sweep's table does not match its "
                            "Morris design (seed or samples changed?)")
    return raw


def sensitivity(result: SweepResult, outcomes: list[str], confidence: float = 0.95,
                seed: int = 0) -> pd.DataFrame:
    """The indices the sweep's design supports: Sobol' for ``sobol``, Morris for ``morris``."""
    method = DESIGNS[result.design].analysis
    if method == "sobol":
        return sobol_indices(result, outcomes, confidence, seed)
    if method == "morris":
        return morris_indices(result, outcomes, confidence, seed)
    raise ArgumentError("sensitivity", "design", f"a {result.design!r} design supports no "
                        "sensitivity indices; sweep with --design sobol or --design morris")


def format_table(indices: pd.DataFrame) -> str:
    """A plain-text table of Sobol' or Morris indices, one block per outcome."""
    sobol_kind = "ST" in indices.columns
    lines = []
    width = max([len("parameter"), *(len(p) for p in indices["parameter"])])
    for outcome, block in indices.groupby("outcome", sort=False):
        lines.append(f"{outcome}")
        if sobol_kind:
            lines.append(f"  {'parameter':<{width}}  {'S1':>7} {'+/-':>6}  {'ST':>7} {'+/-':>6}")
            for _, r in block.sort_values("ST", ascending=False).iterrows():
                lines.append(f"  {r['parameter']:<{width}}  {r['S1']:7.3f} {r['S1_conf']:6.3f}  "
                             f"{r['ST']:7.3f} {r['ST_conf']:6.3f}")
        else:
            lines.append(f"  {'parameter':<{width}}  {'mu*':>9} {'+/-':>8}  {'mu':>9} "
                         f"{'sigma':>9}")
            for _, r in block.sort_values("mu_star", ascending=False).iterrows():
                lines.append(f"  {r['parameter']:<{width}}  {r['mu_star']:9.4g} "
                             f"{r['mu_star_conf']:8.3g}  {r['mu']:9.4g} {r['sigma']:9.4g}")
    return "\n".join(lines)
