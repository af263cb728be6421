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
never reads leaves every outcome exactly unchanged. Each point applies its values through
:meth:`Scenario.with_overrides`, so they are validated like a scenario file.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis._common import as_scenario
from sim.results.provenance import manifest, write_bytes_atomic, write_json_atomic, write_parquet_atomic
from sim.core.rng import seed_key
from sim.core.outcomes import declare_outcomes
from sim.errors import ArgumentError
from sim.scenario import Scenario, ScenarioError

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


def _lookup(data: Any, key: str) -> Any:
    node = data
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(key)
    return node


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
            current = _lookup(data, key)
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


def aggregate(summary: pd.DataFrame) -> dict[str, float]:
    """Each outcome's ensemble figure over the runs of ``summary``.

    Yes/no outcomes (kind ``binary`` in :mod:`sim.core.outcomes`) give the share of runs;
    other outcomes the mean. Month outcomes (NaN when the event never happened) are averaged
    over the runs where it happened, NaN if it never did.
    """
    cols = [c for c in summary.columns if c != "run"]
    values = summary[cols].to_numpy(dtype=float)
    ok = np.isfinite(values)
    n = ok.sum(axis=0)
    total = np.where(ok, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n > 0, total / np.maximum(n, 1), math.nan)
    return {c: float(m) for c, m in zip(cols, means, strict=True)}


def run_point(scenario: Scenario, overrides: Mapping[str, Any], seed: int,
              run_ids: np.ndarray, months: int | None) -> pd.DataFrame:
    """The run summaries of one design point (one row per run, column ``run`` first).

    The unit of work a backend ships to a worker: it depends only on its arguments, and the
    same ``seed`` and ``run_ids`` at every point give common random numbers.
    """
    from sim.engines.ensemble import numba_summary

    scn = scenario.with_overrides(dict(overrides)) if overrides else scenario
    return numba_summary(scn, seed, np.asarray(run_ids, dtype=np.int64), months)


def evaluate_point(scenario: Scenario, overrides: Mapping[str, Any], seed: int,
                   run_ids: np.ndarray, months: int | None) -> dict[str, float]:
    """Each outcome's mean or probability at one design point (see :func:`aggregate`)."""
    return aggregate(run_point(scenario, overrides, seed, run_ids, months))


# ---------------------------------------------------------------------------------------------
# The sweep


@dataclass
class SweepResult:
    """A finished sweep: one row per design point.

    ``table`` has columns ``point``, one per varied key (its value), ``runs``, then every
    outcome's mean or probability (see :func:`aggregate`).
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
        """Write ``sweep.parquet``, ``scenario.toml`` and ``manifest.json`` into ``out``."""
        out = Path(out)
        paths = [write_parquet_atomic(self.table, out / "sweep.parquet")]
        if self.scenario is not None:
            paths.append(write_bytes_atomic(out / "scenario.toml",
                                            self.scenario.to_toml().encode()))
        declared = declare_outcomes(self.scenario.compile()) if self.scenario is not None else {}
        info = {
            "kind": "sweep", "design": self.design, "samples": self.samples,
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
        info["files"] = [p.name for p in paths]
        paths.append(write_json_atomic(out / "manifest.json", manifest(**info)))
        return paths

    @classmethod
    def load(cls, folder: str | Path) -> SweepResult:
        """Read a sweep written by :meth:`save` (no model run needed)."""
        folder = Path(folder)
        info = json.loads((folder / "manifest.json").read_text())
        if info.get("kind") != "sweep":
            raise ValueError(f"{folder}: not a sweep (manifest kind {info.get('kind')!r})")
        table = pd.read_parquet(folder / "sweep.parquet")
        factors = [Factor(f["key"], f["low"], f["high"], f.get("integer", False))
                   for f in info["factors"]]
        scn = None
        if (folder / "scenario.toml").exists():
            from sim.scenario import load_scenario

            scn = load_scenario(folder / "scenario.toml")
        keys = {"design", "samples", "runs_per_point", "seed", "months", "factors", "kind",
                "points"}
        return cls(scn, factors, info["design"], int(info["samples"]),
                   int(info["runs_per_point"]), int(info["seed"]), int(info["months"]), table,
                   {k: v for k, v in info.items() if k not in keys})


def sweep(scenario: Scenario | str, vary: Mapping[str, tuple[float, float]],
          design: str = "lhs", samples: int = 32, runs_per_point: int = 100, seed: int = 0,
          months: int | None = None, policy: str | None = None,
          progress: bool | None = None, **backend: Any) -> SweepResult:
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
        **backend: ``backend``, ``scheduler``, ``workers``, ``out``, ``resume``,
            ``chunk_size`` of :func:`sim.jobs.backends.run_job`: run every design point as one
            chunked job (on Dask, or durably into ``out`` and resumable); same numbers.

    Returns:
        A :class:`SweepResult`; ``result.save(dir)`` writes Parquet and a manifest.

    Raises:
        ScenarioError: keys the scenario does not have or refuses (before any run).
        ArgumentError: bad ranges, design or sizes (before any run).
    """
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
    rows = []
    if backend:
        from sim.jobs.backends import run_points

        settings = [{f.key: f.value(v) for f, v in zip(factors, values, strict=True)}
                    for values in X]
        frames = run_points([scn.with_overrides(o) for o in settings], run_ids, seed,
                            labels=settings, months=months, progress=bool(progress), **backend)
        for k, (overrides, frame) in enumerate(zip(settings, frames, strict=True)):
            rows.append({"point": k, **overrides, "runs": int(runs_per_point),
                         **aggregate(frame)})
    for k, values in enumerate(_progress(X, progress, design) if not backend else ()):
        overrides = {f.key: f.value(v) for f, v in zip(factors, values, strict=True)}
        rows.append({"point": k, **overrides, "runs": int(runs_per_point),
                     **evaluate_point(scn, overrides, seed, run_ids, months)})
    table = pd.DataFrame(rows)
    return SweepResult(scn, factors, design, int(samples), int(runs_per_point), seed, months,
                       table)


def _progress(points: np.ndarray, progress: bool | None, design: str) -> Iterable[np.ndarray]:
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else (not progress)
    return tqdm(points, desc=f"sweep ({design})", unit="point", disable=disable,
                file=sys.stderr, dynamic_ncols=True)
