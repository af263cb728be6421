"""Parameter sweeps: a design over chosen parameters, an ensemble at every design point.

A sweep sees the model as what the EMA Workbench and SALib see: a function from parameters to
outcomes, plus a parameter specification (SALib's *problem*: names and bounds). Designs live in
one registry, :data:`DESIGNS`, all with one signature ``sample(problem, samples, seed) -> X``
(real units, one row per design point), as SALib's samplers do:

- ``grid``: ``samples`` evenly spaced levels per parameter, every combination (``samples ** d``
  points);
- ``lhs``: a Latin hypercube of ``samples`` points (:class:`scipy.stats.qmc.LatinHypercube`);
- ``sobol``: Saltelli's extension of a scrambled Sobol' sequence for Sobol' indices
  (:func:`SALib.sample.sobol.sample`, ``samples * (d + 2)`` points; ``samples`` a power of 2);
- ``morris``: ``samples`` one-at-a-time trajectories on a 4-level grid for elementary effects
  (:func:`SALib.sample.morris.sample`, ``samples * (d + 1)`` points).

Every design point runs the same run indices with the same seed (common random numbers), so the
difference between two points is the parameters', not Monte Carlo noise; a parameter the model
never reads leaves every outcome exactly unchanged.

When every varied key is a parameter cell (:func:`sim.jobs.edits.cell_targets`: the numeric
fields of the world, the theatre, actors, categories, routes and tracks, an actor's capacity
and demand, the starting relations, sanctions and trade shares), the design runs as cell edits
of the scenario compiled once (:func:`sim.jobs.backends.run_design`): the design is validated
once (:func:`sim.jobs.edits.check_design`), a chunk of points x runs is one call of the kernel,
and each outcome comes back as one points x runs array, aggregated into the table at the end.
Other keys (structural ones) make every point a scenario of its own
(:meth:`Scenario.with_overrides`, validated like a scenario file). Both give the same numbers.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis._common import as_scenario
from sim.core.outcomes import declare_outcomes
from sim.core.rng import seed_key
from sim.errors import ArgumentError
from sim.jobs.edits import dotted_value
from sim.results.provenance import (
    read_result_manifest,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_result_manifest,
)
from sim.scenario import Scenario, ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    from analysis.discovery import PrimBox

#: The files of a saved sweep (see :meth:`SweepResult.save`).
SWEEP_FILES = {"table": "sweep.parquet", "scenario": "scenario.toml",
               "sensitivity": "sensitivity.parquet", "discovery": "discovery.json",
               "prim_trajectory": "prim_trajectory.parquet", "spread": "spread.parquet"}

# ---------------------------------------------------------------------------------------------
# Parameters to vary


@dataclass(frozen=True)
class Factor:
    """A parameter to vary: its dotted key, its range and whether it takes whole numbers."""

    key: str
    low: float
    high: float
    integer: bool = False

    def value(self, x: float) -> float | int:
        """The value to set for design coordinate ``x`` (rounded for whole-number keys)."""
        return int(round(x)) if self.integer else float(x)


def parse_vary(scenario: Scenario, vary: Mapping[str, tuple[float, float]]) -> list[Factor]:
    """Check the parameters to vary against ``scenario`` and return them as factors.

    Raises:
        ScenarioError: an unknown key, a key that is not numeric, or an end of the range the
            scenario's schema refuses (naming the key).
        ArgumentError: no key, or a range with low >= high or not finite.
    """
    if not vary:
        raise ArgumentError("sweep", "vary", "name at least one parameter to vary")
    data = scenario.spec.model_dump(mode="python", by_alias=True)
    factors = []
    for key, bounds in vary.items():
        try:
            current = dotted_value(data, key)
        except KeyError:
            raise ScenarioError(scenario.source, key, "unknown key (not a parameter of this "
                                "scenario)") from None
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ScenarioError(scenario.source, key, f"not a numeric parameter (its value is "
                                f"{current!r})")
        try:
            low, high = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ArgumentError("sweep", key, f"range must be two numbers (got {bounds!r})") \
                from None
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ArgumentError("sweep", key, f"range must be finite (got {low}:{high})")
        if low >= high:
            raise ArgumentError("sweep", key, f"low must be below high (got {low:g}:{high:g})")
        factor = Factor(key, low, high, integer=isinstance(current, int))
        for end in (low, high):
            scenario.with_overrides({key: factor.value(end)})  # raises naming the key
        factors.append(factor)
    return factors


def problem_of(factors: list[Factor]) -> dict[str, Any]:
    """SALib's problem dict (``num_vars``, ``names``, ``bounds``) for ``factors``."""
    return {"num_vars": len(factors), "names": [f.key for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


# ---------------------------------------------------------------------------------------------
# Designs: one registry, one signature


@dataclass(frozen=True)
class Design:
    """A sampling design: ``sample(problem, samples, seed) -> X`` in real units.

    ``points(d, samples)`` is the number of rows it returns for ``d`` parameters; ``analysis``
    names the sensitivity method its points support (``"sobol"``, ``"morris"`` or ``None``).
    """

    name: str
    sample: Callable[[dict[str, Any], int, int], np.ndarray]
    points: Callable[[int, int], int]
    min_samples: int
    analysis: str | None
    about: str


def _sampler_seed(seed: int) -> int:
    # numpy's legacy RandomState (used inside SALib's Morris sampler) takes seeds below 2**32.
    return int(seed) % (2**32)


def _grid(problem: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    axes = [np.linspace(lo, hi, samples) for lo, hi in problem["bounds"]]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.column_stack([m.ravel() for m in mesh])


def _lhs(problem: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    bounds = np.asarray(problem["bounds"], dtype=float)
    unit = qmc.LatinHypercube(d=problem["num_vars"], seed=np.random.default_rng(seed)).random(
        samples)
    return qmc.scale(unit, bounds[:, 0], bounds[:, 1])


def _sobol(problem: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol

    with warnings.catch_warnings():
        # SALib warns when N is not a power of 2 (the balance properties are lost, the design
        # is still valid); the CLI says so itself.
        warnings.simplefilter("ignore", UserWarning)
        return sobol.sample(problem, samples, calc_second_order=False,
                            seed=_sampler_seed(seed))


def _morris(problem: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=_sampler_seed(seed))


#: Levels of the Morris grid (SALib's default); the analysis must use the same number.
MORRIS_LEVELS = 4

DESIGNS: dict[str, Design] = {
    "grid": Design("grid", _grid, lambda d, n: n**d, 2, None,
                   "every combination of SAMPLES evenly spaced levels per parameter"),
    "lhs": Design("lhs", _lhs, lambda d, n: n, 1, None,
                  "Latin hypercube of SAMPLES points (scipy.stats.qmc)"),
    "sobol": Design("sobol", _sobol, lambda d, n: n * (d + 2), 2, "sobol",
                    "Saltelli/Sobol' design for Sobol' indices, SAMPLES*(d+2) points (SALib)"),
    "morris": Design("morris", _morris, lambda d, n: n * (d + 1), 2, "morris",
                     "SAMPLES Morris trajectories, SAMPLES*(d+1) points (SALib)"),
}


def sample_design(design: str, problem: dict[str, Any], samples: int, seed: int) -> np.ndarray:
    """Design points of ``design`` for ``problem`` (rows) in real units.

    Raises:
        ArgumentError: an unknown design or too few samples for it.
    """
    if design not in DESIGNS:
        raise ArgumentError("sweep", "design", f"unknown design {design!r} (known: "
                            f"{', '.join(DESIGNS)})")
    d = DESIGNS[design]
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) \
            or samples < d.min_samples:
        raise ArgumentError("sweep", "samples", f"design {design!r} needs samples >= "
                            f"{d.min_samples} (got {samples})")
    X = np.asarray(d.sample(problem, int(samples), int(seed)), dtype=float)
    expected = d.points(problem["num_vars"], int(samples))
    if X.shape != (expected, problem["num_vars"]):  # pragma: no cover - a library changed
        raise RuntimeError(f"design {design} returned {X.shape}, expected "
                           f"({expected}, {problem['num_vars']})")
    return X


# ---------------------------------------------------------------------------------------------
# One design point


def aggregate_design(values: np.ndarray) -> np.ndarray:
    """:func:`aggregate` of every point at once: ``values`` is points x runs x outcomes.

    Returns points x outcomes, each the same number :func:`aggregate` gives for the point's
    runs (runs are summed in the same order).
    """
    ok = np.isfinite(values)
    n = ok.sum(axis=1)
    total = np.where(ok, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), math.nan)


def aggregate(summary: pd.DataFrame) -> dict[str, float]:
    """Each outcome's ensemble figure over the runs of ``summary``.

    Yes/no outcomes (kind ``binary`` in :mod:`sim.core.outcomes`) give the share of runs;
    other outcomes the mean. Month outcomes (NaN when the event never happened) are averaged
    over the runs where it happened, NaN if it never did.
    """
    cols = [c for c in summary.columns if c != "run"]
    # Runs x outcomes in C order whatever the frame's layout: a sum over runs adds in an order
    # that depends on the layout, and this one is the frozen results'.
    values = np.ascontiguousarray(summary[cols].to_numpy(dtype=float))
    ok = np.isfinite(values)
    n = ok.sum(axis=0)
    total = np.where(ok, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n > 0, total / np.maximum(n, 1), math.nan)
    return {c: float(m) for c, m in zip(cols, means, strict=True)}


# ---------------------------------------------------------------------------------------------
# The sweep


@dataclass
class SweepResult:
    """A finished sweep: one row per design point, and what was learnt from it.

    ``table`` has columns ``point``, one per varied key (its value), ``runs``, then every
    outcome's mean or probability (see :func:`aggregate`). ``sensitivity`` holds the indices of
    :func:`analysis.sensitivity.sensitivity` and ``box`` a PRIM box of
    :func:`analysis.discovery.discover`, once computed (``result.sensitivity =
    sensitivity(result, outcomes)``); :meth:`save` writes them with the table and :meth:`load`
    reads them back. A sweep over a posterior (``sweep(..., posterior=DIR)``) also has
    ``spread``: per point and outcome, the 5-95% spread of the parameter draws' means and the
    Monte Carlo standard error (:func:`sim.jobs.posterior.point_spreads`).
    """

    scenario: Scenario | None
    factors: list[Factor]
    design: str
    samples: int
    runs_per_point: int
    seed: int
    months: int
    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    sensitivity: pd.DataFrame | None = None
    box: PrimBox | None = None
    spread: pd.DataFrame | None = None

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's problem dict of the varied parameters."""
        return problem_of(self.factors)

    @property
    def X(self) -> np.ndarray:
        """The design points as set (rows, one column per varied key)."""
        return self.table[[f.key for f in self.factors]].to_numpy(dtype=float)

    @property
    def outcomes(self) -> list[str]:
        """Outcome columns of ``table``."""
        skip = {"point", "runs", *(f.key for f in self.factors)}
        return [c for c in self.table.columns if c not in skip]

    def save(self, out: str | Path) -> list[Path]:
        """Write the sweep into folder ``out`` (a result folder of kind ``sweep``).

        Files: ``sweep.parquet`` (the table), ``scenario.toml``, the sensitivity indices
        (``sensitivity.parquet``) and the PRIM box (``discovery.json`` and
        ``prim_trajectory.parquet``) when there are, and ``manifest.json``, each written
        atomically.
        """
        out = Path(out)
        paths = [write_parquet_atomic(self.table, out / SWEEP_FILES["table"])]
        if self.scenario is not None:
            paths.append(write_bytes_atomic(out / SWEEP_FILES["scenario"],
                                            self.scenario.to_toml().encode()))
        if self.sensitivity is not None:
            paths.append(write_parquet_atomic(self.sensitivity, out / SWEEP_FILES["sensitivity"]))
        if self.spread is not None:
            paths.append(write_parquet_atomic(self.spread, out / SWEEP_FILES["spread"]))
        if self.box is not None:
            paths.append(write_json_atomic(out / SWEEP_FILES["discovery"], self.box.to_json()))
            paths.append(write_parquet_atomic(self.box.trajectory,
                                              out / SWEEP_FILES["prim_trajectory"]))
        declared = declare_outcomes(self.scenario.compile()) if self.scenario is not None else {}
        info = {
            "design": self.design, "samples": self.samples,
            "runs_per_point": self.runs_per_point, "seed": self.seed, "months": self.months,
            "points": len(self.table),
            "factors": [{"key": f.key, "low": f.low, "high": f.high, "integer": f.integer}
                        for f in self.factors],
            "proportions": [c for c in self.outcomes
                            if c in declared and declared[c].kind == "binary"],
            **self.meta,
        }
        if self.scenario is not None:
            info.update(scenario=self.scenario.name, scenario_source=self.scenario.source,
                        scenario_hash=self.scenario.content_hash(),
                        policies=list(self.scenario.policies),
                        title=self.scenario.spec.meta.title)
        paths.append(write_result_manifest(out, "sweep", paths, **info))
        return paths

    @classmethod
    def load(cls, folder: str | Path) -> SweepResult:
        """Read a sweep written by :meth:`save`, with its indices and box (no model run)."""
        folder = Path(folder)
        info = read_result_manifest(folder, "sweep")
        table = pd.read_parquet(folder / SWEEP_FILES["table"])
        factors = [Factor(f["key"], f["low"], f["high"], f.get("integer", False))
                   for f in info["factors"]]
        files = set(info.get("files", []))
        scn = None
        if SWEEP_FILES["scenario"] in files:
            from sim.scenario import load_scenario

            scn = load_scenario(folder / SWEEP_FILES["scenario"])
        indices = None
        if SWEEP_FILES["sensitivity"] in files:
            indices = pd.read_parquet(folder / SWEEP_FILES["sensitivity"])
        spread = None
        if SWEEP_FILES["spread"] in files:
            spread = pd.read_parquet(folder / SWEEP_FILES["spread"])
        box = None
        if SWEEP_FILES["discovery"] in files:
            from analysis.discovery import PrimBox

            trajectory = None
            if SWEEP_FILES["prim_trajectory"] in files:
                trajectory = pd.read_parquet(folder / SWEEP_FILES["prim_trajectory"])
            box = PrimBox.from_json(
                json.loads((folder / SWEEP_FILES["discovery"]).read_text(encoding="utf-8")),
                trajectory)
        keys = {"design", "samples", "runs_per_point", "seed", "months", "factors", "kind",
                "format", "points"}
        return cls(scn, factors, info["design"], int(info["samples"]),
                   int(info["runs_per_point"]), int(info["seed"]), int(info["months"]), table,
                   {k: v for k, v in info.items() if k not in keys}, indices, box, spread)


def sweep(scenario: Scenario | str, vary: Mapping[str, tuple[float, float]],
          design: str = "lhs", samples: int = 32, runs_per_point: int = 100, seed: int = 0,
          months: int | None = None, policy: str | None = None,
          progress: bool | None = None, posterior: Any = None, draws: int | None = None,
          **backend: Any) -> SweepResult:
    """Run an ensemble at every point of a design over the parameters in ``vary``.

    Args:
        scenario: a Scenario or a bundled name / path.
        vary: ``{"dotted.key": (low, high)}``; each key must be a numeric parameter of the
            scenario and both ends must be valid values of it.
        design: a name in :data:`DESIGNS` (``grid``, ``lhs``, ``sobol``, ``morris``).
        samples: the design's size parameter (levels per parameter for ``grid``, points for
            ``lhs``, base sample for ``sobol``, trajectories for ``morris``).
        runs_per_point: Monte Carlo runs at each point (run ids ``0..runs_per_point-1``, the
            same at every point: common random numbers).
        seed: seed of the runs and of the sampler.
        months: months per run (default: the scenario's horizon).
        policy: optional policy overlay applied before the sweep.
        progress: show a progress bar with time left (default: when stderr is a terminal).
        posterior: a calibration's posterior (:class:`sim.jobs.posterior.Posterior` or its
            folder): every point's runs draw the posterior's other parameters from it. The
            same ``draws`` parameter vectors serve every point, each run
            ``ceil(runs_per_point / draws)`` times on the same run ids (common random numbers
            within each draw); a varied key the posterior also has takes the design's value.
            The table gives the means over all of a point's runs and ``result.spread`` the
            spread over the draws apart from the Monte Carlo error. Varied keys must be
            parameter cells.
        draws: parameter draws of ``posterior`` (default
            :func:`sim.jobs.posterior.default_draws`: at most 50, two runs each or more).
        **backend: ``backend``, ``scheduler``, ``workers``, ``out``, ``resume``,
            ``chunk_size`` of :func:`sim.jobs.backends.run_job`. Every design point is one point
            of one job (:mod:`sim.jobs.job`), run in this process by default, on Dask, or
            durably into ``out`` and resumable; the numbers are the same. A design of cell
            keys runs a chunk (a block of points x runs) in one call of the kernel; otherwise
            a chunk is a point's runs.

    Returns:
        A :class:`SweepResult`; ``result.save(dir)`` writes Parquet and a manifest.

    Raises:
        ScenarioError: keys the scenario does not have or refuses (before any run).
        ArgumentError: bad ranges, design or sizes (before any run).
    """
    from sim.jobs.backends import run_points

    scn = as_scenario(scenario)
    if policy:
        scn = scn.with_policy(policy)
    seed = seed_key(seed)
    if isinstance(runs_per_point, bool) or not isinstance(runs_per_point, (int, np.integer)) \
            or runs_per_point < 1:
        raise ArgumentError("sweep", "runs_per_point", f"must be at least 1 (got "
                            f"{runs_per_point})")
    months = scn.horizon if months is None else int(months)
    if months < 1:
        raise ArgumentError("sweep", "months", f"must be at least 1 (got {months})")
    factors = parse_vary(scn, vary)
    X = sample_design(design, problem_of(factors), samples, seed)
    run_ids = np.arange(int(runs_per_point), dtype=np.int64)
    settings = [{f.key: f.value(v) for f, v in zip(factors, values, strict=True)}
                for values in X]
    if posterior is not None:
        return _sweep_posterior(scn, factors, design, int(samples), settings, posterior,
                                draws, int(runs_per_point), seed, months, progress, backend)
    edits = _cell_edits(scn, factors, settings)
    if edits is not None:
        table = _run_cells(edits, factors, settings, run_ids, seed, months, design, progress,
                           backend)
        return SweepResult(scn, factors, design, int(samples), int(runs_per_point), seed,
                           months, table)
    scenarios = [scn.with_overrides(o) for o in settings]
    # Every design point is a point of one job (the same seed and run ids: CRN). In this process
    # a chunk is one point's runs, so the progress bar counts points.
    with _progress(len(settings), progress if not backend else False, design) as bar:
        if not backend:
            backend = {"chunk_size": int(runs_per_point),
                       "on_chunk": lambda done, total: bar.update(done - bar.n)}
        frames = run_points(scenarios, run_ids, seed, labels=settings, months=months,
                            progress=bool(progress) and "on_chunk" not in backend, **backend)
    rows = [{"point": k, **overrides, "runs": int(runs_per_point), **aggregate(frame)}
            for k, (overrides, frame) in enumerate(zip(settings, frames, strict=True))]
    table = pd.DataFrame(rows)
    return SweepResult(scn, factors, design, int(samples), int(runs_per_point), seed, months,
                       table)


def _sweep_posterior(scn: Scenario, factors: list[Factor], design: str, samples: int,
                     settings: list[dict[str, Any]], posterior: Any,
                     draws: int | None, runs_per_point: int, seed: int, months: int,
                     progress: bool | None, backend: dict[str, Any]) -> SweepResult:
    """A sweep whose points run over parameter draws of a posterior (see :func:`sweep`)."""
    from sim.jobs.backends import run_design
    from sim.jobs.edits import PointEdits
    from sim.jobs.posterior import Posterior, default_draws, load_posterior, point_spreads

    post = posterior if isinstance(posterior, Posterior) else load_posterior(posterior)
    draws = default_draws(runs_per_point) if draws is None else draws
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) \
            or not 1 <= draws <= runs_per_point:
        raise ArgumentError("sweep", "draws", f"{draws!r} parameter draws for "
                            f"{runs_per_point} runs per point (need 1..runs per point)")
    per_draw = -(-runs_per_point // int(draws))
    n, d = len(settings), int(draws)
    varied = [f.key for f in factors]
    own = [k for k in post.keys if k not in varied]          # the design's value wins
    drawn = post.draw(d, seed)[:, [list(post.keys).index(k) for k in own]]
    design_values = np.array([[s[k] for k in varied] for s in settings], dtype=np.float64)
    values = np.hstack([np.repeat(design_values.reshape(n, -1), d, axis=0),
                        np.tile(drawn, (n, 1))])              # point-major, then draw
    edits = PointEdits.from_design(scn, varied + own, values)
    if edits is None:
        raise ArgumentError("sweep", "posterior", f"every varied key and every key of the "
                            f"posterior ({', '.join(post.keys)}) must be a parameter cell of "
                            f"{scn.name}")
    run_ids = np.arange(per_draw, dtype=np.int64)
    labels = [{**s, "draw": float(k)} for s in settings for k in range(d)]
    options = dict(backend)
    with _progress(n * d, progress if not backend else False, design) as bar:
        if not backend:
            options = {"on_chunk": lambda done, total: bar.update(
                min(n * d, round(done * n * d / total)) - bar.n)}
        else:
            options.setdefault("progress", bool(progress))
        columns, v = run_design(edits, run_ids, seed, labels=labels, months=months, **options)
    v = v.reshape(n, d, per_draw, len(columns))
    means = aggregate_design(v.reshape(n, d * per_draw, len(columns)))
    table: dict[str, Any] = {"point": np.arange(n, dtype=np.int64)}
    for j, f in enumerate(factors):
        column = design_values[:, j]
        table[f.key] = column.astype(np.int64) if f.integer else column.copy()
    table["runs"] = np.full(n, d * per_draw, dtype=np.int64)
    for j, c in enumerate(columns):
        table[c] = means[:, j]
    meta = {"posterior": {"folder": None if isinstance(posterior, Posterior) else str(posterior),
                          "keys": list(post.keys), "drawn": own, "draws": d,
                          "runs_per_draw": per_draw,
                          "record_sha256": post.manifest.get("record_sha256"),
                          "calibration_seed": post.manifest.get("seed")}}
    return SweepResult(scn, factors, design, samples, d * per_draw, seed, months,
                       pd.DataFrame(table), meta, spread=point_spreads(columns, v))


def _cell_edits(scn: Scenario, factors: list[Factor], settings: list[dict[str, Any]]):
    """The design as cell edits of ``scn`` (validated once), or None if a key is structural."""
    from sim.jobs.edits import PointEdits

    keys = [f.key for f in factors]
    values = np.array([[s[k] for k in keys] for s in settings], dtype=np.float64)
    return PointEdits.from_design(scn, keys, values.reshape(len(settings), len(keys)))


def _run_cells(edits, factors: list[Factor], settings: list[dict[str, Any]],
               run_ids: np.ndarray, seed: int, months: int, design: str,
               progress: bool | None, backend: dict[str, Any]) -> pd.DataFrame:
    """Run a design of cell edits; one points x runs array per outcome, then the table."""
    from sim.engines.ensemble import DEFAULT_CHUNK
    from sim.jobs.backends import run_design

    n, runs = len(settings), int(run_ids.size)
    options = dict(backend)
    with _progress(n, progress if not backend else False, design) as bar:
        if not backend:
            # In this process: blocks of whole points, about DEFAULT_CHUNK runs a call.
            options = {"chunk_size": max(1, DEFAULT_CHUNK // runs) * runs,
                       "on_chunk": lambda done, total: bar.update(
                           min(n, round(done * n / total)) - bar.n)}
        else:
            options.setdefault("progress", bool(progress))
        columns, values = run_design(edits, run_ids, seed, labels=settings, months=months,
                                     **options)
    means = aggregate_design(values)
    table = {"point": np.arange(n, dtype=np.int64)}
    for f in factors:
        col = edits.values[:, list(edits.keys).index(f.key)]
        table[f.key] = col.astype(np.int64) if f.integer else col.copy()
    table["runs"] = np.full(n, runs, dtype=np.int64)
    for j, c in enumerate(columns):
        table[c] = means[:, j]
    return pd.DataFrame(table)


def _progress(points: int, progress: bool | None, design: str):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else (not progress)
    return tqdm(total=points, desc=f"sweep ({design})", unit="point", disable=disable,
                file=sys.stderr, dynamic_ncols=True)
