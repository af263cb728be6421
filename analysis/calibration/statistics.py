"""Summary statistics of a design's runs against the targets, and the distance to the record.

Each run of each parameter point gives one statistic per target (a month, a 0/1 "by then", a
count, a growth rate), computed from the kernel's summary rows: the points run as one design
(:func:`sim.jobs.backends.run_design`, one compiled call per chunk) to the end of the window and,
for growth targets, to the months they need. A point's summary statistic is the mean over its
runs (a share of runs for the yes/no targets); the distance is the Euclidean norm of the
differences from the observed values, each divided by its target's scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.calibration.record import Target
from sim.errors import UsageError
from sim.jobs.backends import run_design
from sim.jobs.edits import PointEdits
from sim.scenario import Scenario


def horizons(targets: Sequence[Target], until: int) -> list[int]:
    """The months to run to: the window's end and the months growth targets compare."""
    months = {until}
    for t in targets:
        if t.how == "growth":
            months.add(t.month)
            if t.month > 12:
                months.add(t.month - 12)
        elif t.how == "zero_before":
            months.add(t.month - 1)
        elif t.how == "positive_by":
            months.add(t.month)
    return sorted(months)


def run_statistics(base: Scenario, keys: Sequence[str], values: np.ndarray, targets:
                   Sequence[Target], until: int, runs: int, seed: int, **options: Any,
                   ) -> np.ndarray:
    """Every run's statistic of every target: points x runs x targets (float64).

    Args:
        base: the scenario (the hindcast); its other parameters stay as they are.
        keys: dotted keys of the parameters the points set (cells of the compiled arrays).
        values: points x keys, in the keys' units.
        targets: the targets (:func:`analysis.calibration.record.load_targets`).
        until: the window's last month (the run's months for every statistic but growth).
        runs: runs per point (runs 0..runs-1 on common random numbers across points).
        seed: seed of every draw.
        **options: passed to :func:`run_design` (backend, scheduler, progress, ...).

    Raises:
        UsageError: a key that is not a parameter cell (ScenarioError: a value out of bounds).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(keys))
    edits = PointEdits.from_design(base, list(keys), values)
    if edits is None:
        raise UsageError(f"calibrated parameters must be numeric fields of the scenario "
                            f"(cells); one of {list(keys)} is not")
    outcome_at: dict[int, tuple[list[str], np.ndarray]] = {}
    for month in horizons(targets, until):
        outcome_at[month] = run_design(edits, runs, seed, months=month, **options)
    out = np.empty((values.shape[0], runs, len(targets)))
    rounds = [j for j, t in enumerate(targets) if t.how == "rounds"]
    if rounds:
        out[:, :, rounds] = rounds_by(base, edits, [targets[j].outcome for j in rounds], until,
                                      runs, seed)
    for j, t in enumerate(targets):
        columns, v = outcome_at[until]
        if t.how == "rounds":
            continue
        if t.how in ("first_month", "by", "none_by", "count"):
            x = v[:, :, columns.index(t.outcome)]
            if t.how == "first_month":
                out[:, :, j] = np.where(np.isfinite(x) & (x <= until), x, until + 1.0)
            elif t.how == "count":
                out[:, :, j] = x
            else:
                out[:, :, j] = np.isfinite(x) & (x <= t.month)
        elif t.how in ("zero_before", "positive_by"):
            at = t.month - 1 if t.how == "zero_before" else t.month
            cols, v = outcome_at[at]
            x = v[:, :, cols.index(t.outcome)]
            out[:, :, j] = (x == 0) if t.how == "zero_before" else (x > 0)
        else:
            cols, end = outcome_at[t.month]
            level = end[:, :, cols.index(t.outcome)]
            if t.month > 12:
                cols0, begin = outcome_at[t.month - 12]
                out[:, :, j] = level / begin[:, :, cols0.index(t.outcome)] - 1.0
            else:  # from the start (index 1), annualised
                out[:, :, j] = level ** (12.0 / t.month) - 1.0
    return out


def rounds_by(base: Scenario, edits: PointEdits, figures: Sequence[str], until: int, runs: int,
              seed: int) -> np.ndarray:
    """Rounds of sanctions per sender and target: points x runs x figures.

    A round is a month in which a pair's level of sanctions (a monthly figure such as
    ``sanctions_USA_IRN``) rose: the record counts rounds on one target, which a sender's
    ``escalations_{actor}`` outcome cannot tell apart from its rounds on others. Runs 0..runs-1
    of every point, in this process (the monthly figures are recorded, as the fans' are).
    """
    from sim.core.outcomes import monthly_names, sanction_pairs
    from sim.engines.ensemble import raw_outcomes

    cs = base.compile()
    names = monthly_names(cs, sanction_pairs(cs))
    missing = [f for f in figures if f not in names]
    if missing:
        raise UsageError(f"rounds: {base.name} reports no monthly figure {missing[0]}")
    n = edits.n_points
    run_ids = np.tile(np.arange(runs, dtype=np.int64), n)
    points = np.repeat(np.arange(n, dtype=np.int64), runs)
    _, traj = raw_outcomes(cs, seed, run_ids, until, points, edits.cells,
                           edits.cell_values(slice(0, n)), record=True)
    level = traj[:, :, [names.index(f) for f in figures]]
    rose = (np.diff(level, axis=1) > 1e-12).sum(axis=1)
    return rose.reshape(n, runs, len(figures)).astype(np.float64)


def summaries(stats: np.ndarray) -> np.ndarray:
    """Each point's summary statistics: the mean over its runs (points x targets)."""
    return stats.mean(axis=1)


def observed(targets: Sequence[Target]) -> np.ndarray:
    """The observed values of the targets, in their statistics' units."""
    return np.array([t.observed for t in targets], dtype=np.float64)


def scales(targets: Sequence[Target]) -> np.ndarray:
    """The targets' tolerances (the distance's divisors)."""
    return np.array([t.scale for t in targets], dtype=np.float64)


def distance(summary: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
    """Euclidean distance of each point's summaries (points x targets) to the record."""
    z = (np.atleast_2d(summary) - observed(targets)) / scales(targets)
    return np.sqrt((z * z).sum(axis=1))
