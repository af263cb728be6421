"""Monthly fan charts of the calibrated hindcast against the record's observed points.

The posterior's draws run with their monthly figures recorded (:func:`monthly_runs`: one call of
the compiled kernel for every draw x run, the draws as cell edits of the hindcast compiled
once), and each figure the record observes becomes a monthly series per run
(:func:`fan_series`):

* ``growth_{actor}``: the GDP index's growth over the 12 months to the month (over the months
  from the start, annualised, before month 12), as the growth targets compute it;
* ``rounds_{sender}_IRN``: the months so far in which the sender's sanctions on Iran rose (an
  imposed round, a snap-back or a scheduled package: the monthly record has the level, not the
  count of rounds, which the ``escalations_{sender}`` outcome gives at the end only, summed over
  every target);
* ``delivered_{route}``: units shipped on the route so far;
* ``in_force_{track}``: 1 while the relief deal (or the ceasefire) is in force.

:func:`fan_table` gives their 5, 50 and 95% quantiles and mean over every run of every draw,
month by month; :func:`observed_points` reads the record's points on those series (growth rows,
the US and EU rounds on Iran, the months of first deliveries, the absence of a deal and of a
ceasefire); :func:`write_fans` draws them.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration.record import scenario_month
from sim.errors import UsageError
from sim.jobs.posterior import Posterior
from sim.scenario import Scenario

#: Growth rows of the record per actor (ids), and rows of sanction rounds on Iran per sender
#: (the same rows the count targets rest on, analysis/calibration/targets.toml).
GROWTH_ROWS = {"IRN": ("iran_growth_2022", "iran_growth_2023", "iran_growth_2024_q1"),
               "RUS": ("russia_growth_2022_2023", "russia_growth_2024"),
               "UKR": ("ukraine_growth_2022_2023", "ukraine_growth_2024")}
ROUND_ROWS = {"USA": ("us_sanctions_iran_drones_2022", "us_e3_response_2024_09"),
              "EU": ("eu_iran_drone_regime", "eu_iran_regime_missiles", "eu_iran_listings_2024_10",
                     "eu_iran_irisl_2024_11")}
#: Routes whose cumulative deliveries are drawn, and the record's rows of their first month.
FIRST_ROWS = {"iran_russia_drones": "shahed_first_delivery",
              "iran_russia_missiles": "iran_missiles_delivered",
              "prk_russia_missiles": "prk_missiles_first"}
#: Record rows of delivered counts (a lower bound: "more than" or "fired").
COUNT_ROWS = {"iran_russia_missiles": "iran_missiles_delivered",
              "prk_russia_missiles": "prk_missiles_fired_2024_03"}
#: Tracks whose "in force" share is drawn, and the record's rows of their absence.
ABSENT_ROWS = {"relief": "no_relief_deal", "ceasefire": "no_ceasefire"}

QUANTILES = (0.05, 0.5, 0.95)


def monthly_runs(base: Scenario, posterior: Posterior, draws: int, runs: int, seed: int,
                 months: int | None = None) -> tuple[list[str], np.ndarray]:
    """Every run's monthly figures under ``draws`` posterior draws, ``runs`` runs each.

    The draws are cell edits of ``base`` (its other parameters as they are); runs 0..runs-1 of
    ``seed`` at every draw. One call of the kernel, in this process.

    Returns:
        ``(names, trajectories)``: the monthly figures' names
        (:func:`sim.core.outcomes.monthly_names`) and a float64 array (draws x runs) x
        (months + 1) x figures, month 0 being the start.
    """
    from sim.core.outcomes import monthly_names, sanction_pairs
    from sim.engines.ensemble import raw_outcomes
    from sim.jobs.edits import PointEdits

    values = posterior.draw(draws, seed)
    edits = PointEdits.from_design(base, list(posterior.keys), values)
    if edits is None:
        raise UsageError(f"fans: {base.name} has no parameter cell for one of "
                         f"{list(posterior.keys)}")
    cs = base.compile()
    months = cs.horizon if months is None else int(months)
    run_ids = np.tile(np.arange(runs, dtype=np.int64), draws)
    points = np.repeat(np.arange(draws, dtype=np.int64), runs)
    _, traj = raw_outcomes(cs, seed, run_ids, months, points, edits.cells,
                           edits.cell_values(slice(0, draws)), record=True)
    return monthly_names(cs, sanction_pairs(cs)), traj


def fan_series(names: Sequence[str], trajectories: np.ndarray) -> dict[str, np.ndarray]:
    """The observed quantities as monthly series: name -> runs x (months + 1) (see module)."""
    index = {n: k for k, n in enumerate(names)}
    n_months = trajectories.shape[1] - 1
    out: dict[str, np.ndarray] = {}
    for actor in GROWTH_ROWS:
        if f"gdp_index_{actor}" not in index:
            continue
        level = trajectories[:, :, index[f"gdp_index_{actor}"]]
        growth = np.full_like(level, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            for m in range(1, n_months + 1):
                growth[:, m] = (level[:, m] / level[:, m - 12] - 1.0 if m > 12
                                else level[:, m] ** (12.0 / m) - 1.0)
        out[f"growth_{actor}"] = growth
    for sender in ROUND_ROWS:
        key = f"sanctions_{sender}_IRN"
        if key in index:
            level = trajectories[:, :, index[key]]
            rose = np.diff(level, axis=1) > 1e-12
            out[f"rounds_{sender}_IRN"] = np.concatenate(
                [np.zeros((level.shape[0], 1)), np.cumsum(rose, axis=1)], axis=1)
    for route in FIRST_ROWS:
        if f"shipped_{route}" in index:
            out[f"delivered_{route}"] = np.cumsum(trajectories[:, :, index[f"shipped_{route}"]],
                                                  axis=1)
    for track in ABSENT_ROWS:
        if f"active_{track}" in index:
            out[f"in_force_{track}"] = trajectories[:, :, index[f"active_{track}"]]
    return out


def fan_table(series: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per series and month: ``q05``, ``q50``, ``q95`` over every run, and ``mean``.

    NaN where no run has a value (growth at month 0).
    """
    frames = []
    for name, x in series.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN months
            q = np.nanquantile(x, QUANTILES, axis=0)
            mean = np.nanmean(x, axis=0)
        frames.append(pd.DataFrame({"series": name, "month": np.arange(x.shape[1]),
                                    "q05": q[0], "q50": q[1], "q95": q[2], "mean": mean}))
    return pd.concat(frames, ignore_index=True)


def _growth_values(row: dict[str, str]) -> list[tuple[str, float]]:
    """A growth row's (YYYY-MM, % a year) points.

    ``3.8`` is a point at the row's date; ``a (2022); b (2023)`` a point at each December.
    """
    text = row["value"].strip()
    parts = re.findall(r"([-+]?\d+(?:\.\d+)?)\s*\((\d{4})\)", text)
    if parts:
        return [(f"{year}-12", float(v)) for v, year in parts]
    return [(row["date"], float(text))]


def observed_points(record: str | Path, start: str, horizon: int) -> pd.DataFrame:
    """The record's points on the fan series, within months 1..``horizon``.

    A growth row is drawn only where its 12 months lie inside the hindcast (month 13 on): the
    calendar-year rates of 2022 are the hindcast's starting trends, not something it produces.

    Columns: ``series``, ``month``, ``value``, ``how`` (``point``; ``at_least`` for a count
    the record bounds below; ``first`` for the month a route's first delivery was reported;
    ``none`` for an absence held to that month), ``id`` (the record row).
    """
    with Path(record).open(newline="", encoding="utf-8") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    points = []

    def add(series: str, date: str, value: float, how: str, rid: str) -> None:
        month = scenario_month(date, start)
        if 1 <= month <= horizon:
            points.append({"series": series, "month": month, "value": value, "how": how,
                           "id": rid})

    for actor, ids in GROWTH_ROWS.items():
        for rid in ids:
            if rid in rows:
                for date, v in _growth_values(rows[rid]):
                    if scenario_month(date, start) > 12:   # a year inside the hindcast
                        add(f"growth_{actor}", date, v / 100.0, "point", rid)
    for sender, ids in ROUND_ROWS.items():
        dated = sorted((rows[r]["date"], r) for r in ids if r in rows)
        for k, (date, rid) in enumerate(dated, start=1):
            add(f"rounds_{sender}_IRN", date, float(k), "at_least", rid)
    for route, rid in FIRST_ROWS.items():
        if rid in rows:
            add(f"delivered_{route}", rows[rid]["date"], 0.0, "first", rid)
    for route, rid in COUNT_ROWS.items():
        if rid in rows and rows[rid]["value"].strip():
            add(f"delivered_{route}", rows[rid]["date"], float(rows[rid]["value"]), "at_least",
                rid)
    for track, rid in ABSENT_ROWS.items():
        if rid in rows:
            add(f"in_force_{track}", rows[rid]["date"], 0.0, "none", rid)
    return pd.DataFrame(points, columns=["series", "month", "value", "how", "id"])


TITLES = {"growth": "growth of {0}, 12 months to the month", "rounds": "months {0}'s sanctions "
          "on IRN rose (cumulative)", "delivered": "delivered, {0} (cumulative units)",
          "in_force": "share of runs with the {0} in force"}


def write_fans(table: pd.DataFrame, points: pd.DataFrame, folder: str | Path, *,
               cutoff: int | None = None, title: str = "") -> Path:
    """Draw ``fans.png`` in ``folder``: one panel per series.

    Each panel has the 5-95% band and the median (for a share of runs, the share), the
    record's points (dots; triangles: at least; a dashed line: the first delivery reported; a
    cross: none by then) and, for a calibration to a cut-off month, a dotted line there.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table["series"]))
    cols = 3
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.7 * rows), squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        t = table[table["series"] == name]
        share = name.startswith("in_force")
        if share:
            ax.plot(t["month"], t["mean"], color="tab:blue", lw=1.5, label="share of runs")
        else:
            ax.fill_between(t["month"], t["q05"], t["q95"], color="tab:blue", alpha=0.25,
                            lw=0, label="5-95%")
            ax.plot(t["month"], t["q50"], color="tab:blue", lw=1.5, label="median")
        for p in points[points["series"] == name].itertuples():
            if p.how == "first":
                ax.axvline(p.month, color="black", ls="--", lw=1)
            elif p.how == "none":
                ax.plot(p.month, p.value, "x", color="black", ms=8, mew=2)
            else:
                ax.plot(p.month, p.value, "^" if p.how == "at_least" else "o", color="black",
                        ms=6)
        if cutoff is not None and cutoff < table["month"].max():
            ax.axvline(cutoff, color="grey", ls=":", lw=1)
        kind, _, what = name.partition("_")
        if name.startswith("in_force_"):
            kind, what = "in_force", name[len("in_force_"):]
        ax.set_title(TITLES[kind].format(what.replace("_IRN", "")), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("month of the hindcast", fontsize=7)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=6)
    fig.suptitle(title or "Hindcast fans (posterior draws x runs) against the record (black)",
                 fontsize=10)
    fig.tight_layout()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fans.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
