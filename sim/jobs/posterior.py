"""A calibration's posterior on disk, and parameter draws from it for runs.

A posterior (written by ``diplosim calibrate``, :mod:`analysis.calibration`) is a folder:
``posterior.parquet`` (one row per accepted particle: a column per calibrated parameter, by its
dotted key, and ``weight``) and ``manifest.json`` (the scenario, the record's hash, the priors,
the targets, the seed, the budget and the versions). ``run``, ``compare`` and ``sweep`` draw
each run's parameters from it (:meth:`Posterior.draw`), so an outcome table can show the spread
over what we do not know about the parameters apart from the Monte Carlo error of the runs.

This module lives under :mod:`sim.jobs` (not :mod:`analysis`) so that the run commands can read
a posterior without importing the analysis layer.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

DRAWS_FILE = "posterior.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Posterior:
    """Weighted parameter draws of a calibration.

    Attributes:
        keys: dotted keys of the calibrated parameters.
        draws: particles x keys, in the keys' units.
        weights: particles, summing to 1.
        manifest: what produced them (scenario, record hash, priors, targets, seed, versions).
    """

    keys: tuple[str, ...]
    draws: np.ndarray
    weights: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.draws.ndim != 2 or self.draws.shape[1] != len(self.keys):
            raise UsageError(f"posterior: draws of shape {self.draws.shape} do not match "
                             f"{len(self.keys)} keys")
        if self.weights.shape != (self.draws.shape[0],) or not np.all(self.weights >= 0) \
                or not self.weights.sum() > 0:
            raise UsageError("posterior: weights must be one per particle, >= 0, not all 0")

    @property
    def n_particles(self) -> int:
        """Number of particles."""
        return int(self.draws.shape[0])

    def draw(self, n: int, seed: int) -> np.ndarray:
        """``n`` parameter vectors (n x keys) drawn by weight with replacement, seeded."""
        rng = np.random.default_rng([seed, 0x9057])
        p = self.weights / self.weights.sum()
        return self.draws[rng.choice(self.n_particles, size=n, replace=True, p=p)]

    def mean(self) -> np.ndarray:
        """Weighted mean of each parameter."""
        return (self.weights[:, None] * self.draws).sum(axis=0) / self.weights.sum()

    def quantiles(self, q: Sequence[float]) -> np.ndarray:
        """Weighted quantiles ``q`` (in [0, 1]) of each parameter: len(q) x keys.

        The weighted empirical distribution function (cumulative weights at the sorted draws),
        inverted by linear interpolation; docs/calibration.md's medians and 5-95% ranges, and
        the baseline's calibrated values, are these.
        """
        out = np.empty((len(q), len(self.keys)))
        for k in range(len(self.keys)):
            order = np.argsort(self.draws[:, k], kind="stable")
            cum = np.cumsum(self.weights[order])
            out[:, k] = np.interp(q, cum / cum[-1], self.draws[order, k])
        return out

    def overrides(self) -> dict[str, float]:
        """The posterior mean as ``--set``-style overrides (key -> value)."""
        return dict(zip(self.keys, (float(v) for v in self.mean()), strict=True))

    def save(self, folder: str | Path) -> Path:
        """Write ``posterior.parquet`` and ``manifest.json`` into ``folder`` (created)."""
        import pandas as pd

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(self.draws, columns=list(self.keys))
        frame["weight"] = self.weights
        frame.to_parquet(folder / DRAWS_FILE, index=False)
        manifest = dict(self.manifest, keys=list(self.keys), particles=self.n_particles)
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                            encoding="utf-8")
        return folder


def bundled_posteriors() -> dict[str, Path]:
    """The posteriors shipped with the package (``scenarios/posteriors/NAME``), by name.

    ``hindcast_2022`` is the calibration of docs/calibration.md (``make calibration``), the
    posterior the bundled baseline's calibrated values come from.
    """
    from sim.scenario.loading import scenario_dir

    root = scenario_dir() / "posteriors"
    return {p.name: p for p in sorted(root.iterdir())
            if (p / DRAWS_FILE).is_file()} if root.is_dir() else {}


def load_posterior(folder: str | Path) -> Posterior:
    """The posterior stored in ``folder``, or the bundled one of that name.

    See :func:`bundled_posteriors`; a missing or malformed folder is a one-line error.
    """
    import pandas as pd

    bundled = bundled_posteriors()
    if not Path(folder).is_dir() and str(folder) in bundled:
        folder = bundled[str(folder)]
    folder = Path(folder)
    draws, manifest = folder / DRAWS_FILE, folder / MANIFEST_FILE
    if not draws.is_file() or not manifest.is_file():
        names = ", ".join(bundled) or "none"
        raise UsageError(f"--posterior {folder}: not a posterior folder (needs {DRAWS_FILE} and "
                         f"{MANIFEST_FILE}, written by diplosim calibrate) nor a bundled "
                         f"posterior ({names})")
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        frame = pd.read_parquet(draws)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--posterior {folder}: {exc}") from None
    keys = tuple(meta.get("keys", [c for c in frame.columns if c != "weight"]))
    missing = [k for k in (*keys, "weight") if k not in frame.columns]
    if missing:
        raise UsageError(f"--posterior {folder}: {DRAWS_FILE} lacks column(s) {missing}")
    return Posterior(keys, frame[list(keys)].to_numpy(dtype=np.float64),
                     frame["weight"].to_numpy(dtype=np.float64), meta)


def default_draws(runs: int) -> int:
    """Parameter draws for ``runs`` runs: at most 50, and at least two runs each when runs >= 2.

    Two runs or more per draw are what separates the Monte Carlo error from the spread over
    the parameters (:func:`spread_table`).
    """
    return max(1, min(runs // 2, 50))


def posterior_outcomes(scenarios: Sequence[Scenario], posterior: Posterior, runs: int, seed: int,
                       *, draws: int | None = None, months: int | None = None,
                       **options: Any) -> tuple[list[str], list[np.ndarray]]:
    """Runs of each scenario with parameters drawn from ``posterior``, on common random numbers.

    ``draws`` parameter vectors are drawn once (default: :func:`default_draws`); each runs
    ``ceil(runs / draws)`` times, runs 0.. of ``seed``, in every scenario: a policy comparison
    stays on common random numbers within each parameter draw.

    Args:
        scenarios: the scenarios (a scenario under several policies, say); each must have every
            key of the posterior as a parameter cell.
        posterior: the posterior.
        runs: runs in all (rounded up to a multiple of the draws).
        seed: seed of the draws and of the runs.
        draws: parameter draws.
        months: months per run (default: the horizon).
        **options: passed to :func:`sim.jobs.backends.run_design`.

    Returns:
        ``(columns, values)``: the outcome names, and per scenario a float64 array draws x runs
        per draw x outcomes.
    """
    from sim.jobs.backends import run_design
    from sim.jobs.edits import PointEdits

    draws = default_draws(runs) if draws is None else draws
    if not 1 <= draws <= runs:
        raise UsageError(f"--posterior: {draws} parameter draws for {runs} runs (need 1..runs)")
    per_draw = -(-runs // draws)
    values = posterior.draw(draws, seed)
    columns: list[str] = []
    out = []
    for scn in scenarios:
        edits = PointEdits.from_design(scn, list(posterior.keys), values)
        if edits is None:
            raise UsageError(f"--posterior: {scn.name} has no parameter cell for one of "
                             f"{list(posterior.keys)}")
        cols, v = run_design(edits, per_draw, seed, months=months, **options)
        if columns and cols != columns:
            raise UsageError("--posterior: the scenarios report different outcomes")
        columns = cols
        out.append(v)
    return columns, out


def spread_table(columns: Sequence[str], values: np.ndarray) -> pd.DataFrame:
    """Each outcome's mean, its spread over parameter draws and its Monte Carlo error.

    ``values``: draws x runs x outcomes (a difference between two policies' runs works too).
    Columns: ``outcome``, ``mean`` (over every run; months over the runs where the event
    happened), ``param_p05`` and ``param_p95`` (5% and 95% of the draws' means: what we do not
    know about the parameters), ``mc_se`` (standard error of ``mean`` from the runs' chance
    alone: the within-draw variance over all runs; NaN with one run per draw).
    """
    return point_spreads(columns, np.asarray(values)[None]).drop(columns="point")


def point_spreads(columns: Sequence[str], values: np.ndarray) -> pd.DataFrame:
    """:func:`spread_table` of every point of a design.

    ``values`` is points x draws x runs x outcomes (the same parameter draws and runs at every
    point). One row per point and outcome (an outcome NaN in every run of a point is left out):
    ``point``, ``outcome``, ``mean``, ``param_p05``, ``param_p95``, ``mc_se``.
    """
    import pandas as pd

    v = np.asarray(values, dtype=np.float64)
    n_points, _, n_runs, n_out = v.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(v, axis=2)                              # points x draws x outcomes
        # One run per draw cannot tell chance from the parameters: no Monte Carlo error then.
        within = (np.nanvar(v, axis=2, ddof=1) if n_runs > 1
                  else np.full_like(means, np.nan))
        finite = np.isfinite(v).sum(axis=(1, 2))                   # points x outcomes
        frame = pd.DataFrame({
            "point": np.repeat(np.arange(n_points, dtype=np.int64), n_out),
            "outcome": np.tile(np.asarray(list(columns), dtype=object), n_points),
            "mean": np.nanmean(v, axis=(1, 2)).reshape(-1),
            "param_p05": np.nanquantile(means, 0.05, axis=1).reshape(-1),
            "param_p95": np.nanquantile(means, 0.95, axis=1).reshape(-1),
            "mc_se": np.sqrt(np.nanmean(within, axis=1) / np.maximum(finite, 1)).reshape(-1),
        })
    keep = (finite > 0).reshape(-1)
    return frame[keep].reset_index(drop=True)
