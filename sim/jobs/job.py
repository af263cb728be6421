"""The job model: design points x run indices under one seed, cut into chunks of work.

A *job* is a list of design points (a scenario each, with labels such as the swept parameters'
values or a policy's name) times a list of run indices, under one seed: an ensemble is a job of
one point, a policy comparison one point per policy, a sweep one point per design row. Run ``r``
of every point uses the same run index, hence the same random draws (common random numbers).

The job's (point, run) items, in point-major order, are cut into *chunks* of ``chunk_size``
consecutive items; a chunk may span several points. A chunk is the unit of work (one call of
:func:`sim.engines.ensemble.run_chunk` per point it touches) and of storage (one Parquet part,
see :mod:`sim.jobs.store`). Since run ``r`` of a point depends only on (scenario, seed, r) --
every random number is keyed by them (see :mod:`sim.core.rng`) -- the rows are the same whatever
the executor (:mod:`sim.jobs.backends`), the number of workers, the chunk size or the order in
which chunks finish.

This module only describes and computes work; where it runs is :mod:`sim.jobs.backends`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.core.outcomes import outcome_layout
from sim.core.rng import seed_key
from sim.errors import UsageError
from sim.jobs.settings import DEFAULT_CHUNK_SIZE
from sim.scenario import Scenario

Engine = Literal["numba", "mesa"]
#: Run indices are keys of the random draws (see :mod:`sim.core.rng`): 32 bits.
RUN_ID_LIMIT = 2**32

_SIM = Path(__file__).resolve().parent.parent


def as_run_ids(runs: int | range | Sequence[int] | np.ndarray) -> np.ndarray:
    """The one check of run indices: a count (runs 0..n-1) or an explicit sequence.

    Every entry point that takes runs (``run_ensemble``, a :class:`Job`, the comparisons, the
    sweeps) goes through this, so they all accept and refuse the same things.

    Returns:
        The run indices as a new int64 array, in the order given.

    Raises:
        UsageError: a count below 1 or a bool; an empty, nested or non-integer sequence; an
            index outside [0, 2**32); an index given twice (each run would count twice in every
            interval).
    """
    if isinstance(runs, (bool, np.bool_)):
        raise UsageError("runs must be a count or a sequence of run indices, not a bool")
    if isinstance(runs, (int, np.integer)):
        if runs < 1:
            raise UsageError(f"runs must be at least 1, got {runs}")
        if runs > RUN_ID_LIMIT:
            raise UsageError(f"runs must be at most 2**32, got {runs}")
        return np.arange(int(runs), dtype=np.int64)
    if isinstance(runs, (str, bytes)):
        raise UsageError(f"runs must be a count or a sequence of run indices, got {runs!r}")
    ids = np.array(runs if isinstance(runs, np.ndarray) else list(runs))
    if ids.ndim != 1 or ids.size == 0:
        raise UsageError("runs must be a positive count or a non-empty sequence of run indices")
    if ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
        raise UsageError(f"run indices must be integers, got {ids.dtype}")
    if (ids < 0).any() or (ids >= RUN_ID_LIMIT).any():
        raise UsageError("run indices must be in [0, 2**32)")
    ids = ids.astype(np.int64)
    uniq, counts = np.unique(ids, return_counts=True)
    if uniq.size != ids.size:
        twice = uniq[counts > 1][:5].tolist()
        raise UsageError(f"run indices must not repeat (given more than once: {twice}); a "
                         "repeated run would count twice in every estimate")
    return ids


def row_sources() -> list[Path]:
    """Every source file whose code shapes a job's rows, in a fixed order.

    The compiled core (the kernel, the outcome declarations and their naming), the scenario's
    compilation to arrays, the engines (the summary code of both engines, the Mesa model) and
    this module (how a chunk's rows are assembled).
    """
    from sim.core.jit import compiled_sources

    return [*compiled_sources(), *sorted((_SIM / "scenario").glob("*.py")),
            *sorted((_SIM / "engines").glob("*.py")), Path(__file__).resolve()]


def code_digest() -> str:
    """SHA-256 (16 hex digits) of :func:`row_sources` and the Numba version.

    Part of a durable job's fingerprint: a resumed job whose rows would come from other code
    is refused, so one dataset never mixes rows of two code versions.

    Raises:
        FileNotFoundError: a source is missing (the digest must cover every one).
    """
    import numba

    digest = hashlib.sha256()
    for path in row_sources():
        if not path.is_file():
            raise FileNotFoundError(f"source {path} is missing: a job's fingerprint must cover "
                                    "every module that shapes its rows")
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Point:
    """One design point of a job: a scenario and the labels that name it in the results.

    Labels become columns of every row of the point (e.g. ``{"policy": "engagement"}`` or the
    swept parameters' values); values must be str, int, float or bool.
    """

    scenario: Scenario
    labels: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """Items ``start`` (inclusive) to ``stop`` (exclusive) of a job's point-major item list."""

    index: int
    start: int
    stop: int

    @property
    def size(self) -> int:
        """Number of (point, run) items."""
        return self.stop - self.start


@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs to compute one chunk: picklable and self-contained.

    ``pieces`` holds, for each point the chunk touches, ``(point, scenario, run_ids)``; the run
    ids are a ``range`` when they are consecutive (a few bytes to ship instead of 8 a run).
    ``own_columns`` maps a point whose scenario's outcomes are not exactly ``columns`` to its
    own outcome names (they are placed by name, NaN where it lacks one). ``record`` asks for
    every run's monthly figures too.
    """

    index: int
    seed: int
    months: int | None
    engine: str
    columns: tuple[str, ...]
    pieces: tuple[tuple[int, Scenario, np.ndarray | range], ...]
    threads: int | None = None
    record: bool = False
    own_columns: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def describe(self) -> str:
        """The points and runs of the chunk, in words (for error messages)."""
        parts = []
        for point, _, ids in self.pieces:
            runs = _describe_runs(ids)
            parts.append(f"point {point} {runs}")
        return f"chunk {self.index} (" + "; ".join(parts) + ")"


@dataclass
class ChunkResult:
    """The rows of one finished chunk, as arrays (cheap to ship from a worker).

    Attributes:
        index: the chunk's number.
        points: per row, the point's index.
        run_ids: per row, the run index.
        outcomes: rows x the job's :meth:`Job.columns` (NaN where a point's scenario lacks one).
        trajectories: rows x (months + 1) x monthly figures, if the task recorded them.
    """

    index: int
    points: np.ndarray
    run_ids: np.ndarray
    outcomes: np.ndarray
    trajectories: np.ndarray | None = None

    def frame(self, columns: Sequence[str]) -> pd.DataFrame:
        """Columns ``point``, ``run`` and the outcomes, one row per item."""
        out = pd.DataFrame(self.outcomes, columns=list(columns), copy=False)
        out.insert(0, "run", self.run_ids)
        out.insert(0, "point", self.points)
        return out


def _describe_runs(ids: np.ndarray | range) -> str:
    ids = np.asarray(ids)
    if ids.size and np.array_equal(ids, np.arange(ids[0], ids[0] + ids.size)):
        return f"runs {ids[0]}-{ids[-1]}" if ids.size > 1 else f"run {ids[0]}"
    shown = ", ".join(str(i) for i in ids[:6]) + (", ..." if ids.size > 6 else "")
    return f"runs [{shown}]"


def _label_value(key: str, value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer, float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"label {key!r}: values must be str, int, float or bool, got "
                     f"{type(value).__name__}")


@dataclass(frozen=True, eq=False)
class Job:
    """Points x runs under one seed, cut into chunks. See the module docstring.

    Args:
        points: the design points (at least one); all must have the same set of labels.
        run_ids: run indices, the same for every point (checked by :func:`as_run_ids`).
        seed: seed of every random draw (0 is a seed like any other).
        months: months per run (``None``: each scenario's horizon).
        engine: ``"numba"`` (compiled kernel) or ``"mesa"`` (one Mesa model per run); both
            give the same numbers.
        chunk_size: items per chunk. Part of the job's identity: a resumed job must use the
            same chunking.
        record: also compute every run's monthly figures (for bands and kept trajectories;
            never stored in a durable dataset).
    """

    points: tuple[Point, ...]
    run_ids: np.ndarray
    seed: int
    months: int | None = None
    engine: str = "numba"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    record: bool = False

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a job needs at least one point")
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "run_ids", as_run_ids(self.run_ids))
        object.__setattr__(self, "seed", seed_key(self.seed))
        if self.engine not in ("numba", "mesa"):
            raise ValueError(f"engine must be 'numba' or 'mesa', got {self.engine!r}")
        if self.months is not None and int(self.months) < 1:
            raise ValueError(f"months must be at least 1, got {self.months}")
        if (isinstance(self.chunk_size, bool) or int(self.chunk_size) != self.chunk_size
                or self.chunk_size < 1):
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size!r}")
        keys = [tuple(p.labels) for p in self.points]
        if any(k != keys[0] for k in keys):
            raise ValueError("every point of a job must have the same label names")
        reserved = {"point", "run"} & set(keys[0])
        if reserved:
            raise ValueError(f"label names {sorted(reserved)} are reserved")
        ids = self.run_ids
        object.__setattr__(self, "_consecutive",
                           bool(ids[-1] - ids[0] == ids.size - 1 and np.all(np.diff(ids) == 1)))

    @classmethod
    def ensemble(cls, scenario: Scenario, runs: int | Sequence[int] | np.ndarray, seed: int,
                 **kwargs: Any) -> Job:
        """A job of one point: an ensemble of ``scenario``."""
        return cls((Point(scenario),), as_run_ids(runs), seed, **kwargs)

    @property
    def n_items(self) -> int:
        """Number of (point, run) items."""
        return len(self.points) * self.run_ids.size

    def chunks(self) -> list[Chunk]:
        """The chunks, in item order."""
        size = int(self.chunk_size)
        return [Chunk(i, start, min(start + size, self.n_items))
                for i, start in enumerate(range(0, self.n_items, size))]

    def columns(self) -> tuple[str, ...]:
        """Outcome columns of the rows.

        The union over points of each scenario's outcomes, in first-seen order (points whose
        scenario lacks one get NaN there), so that every part has the same schema. Computed once
        per job.
        """
        return self._layout()[0]

    def _layout(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """The columns, and every point's own outcome names."""
        cached = self.__dict__.get("_layout_cache")
        if cached is not None:
            return cached
        seen: dict[str, None] = {}
        by_hash: dict[str, tuple[str, ...]] = {}
        names = []
        for p in self.points:
            h = p.scenario.content_hash()
            if h not in by_hash:
                by_hash[h] = tuple(outcome_layout(p.scenario.compile())[0])
                for name in by_hash[h]:
                    seen.setdefault(name, None)
            names.append(by_hash[h])
        columns = tuple(seen)
        object.__setattr__(self, "_layout_cache", (columns, names))
        return columns, names

    def labels_frame(self) -> pd.DataFrame:
        """One row per point: its labels (with consistent column types)."""
        rows = [{k: _label_value(k, v) for k, v in p.labels.items()} for p in self.points]
        return pd.DataFrame(rows, index=pd.RangeIndex(len(self.points)))

    def task(self, chunk: Chunk, columns: tuple[str, ...], threads: int | None = None
             ) -> ChunkTask:
        """The self-contained task of ``chunk``."""
        nr = self.run_ids.size
        pieces = []
        k = chunk.start
        while k < chunk.stop:
            point, offset = divmod(k, nr)
            take = min(nr - offset, chunk.stop - k)
            ids = self.run_ids[offset:offset + take]
            if self._consecutive:
                ids = range(int(ids[0]), int(ids[0]) + take)
            pieces.append((point, self.points[point].scenario,
                           ids if isinstance(ids, range) else ids.copy()))
            k += take
        months = None if self.months is None else int(self.months)
        names = self._layout()[1]
        own_columns = {p: names[p] for p, _, _ in pieces if names[p] != tuple(columns)}
        return ChunkTask(chunk.index, self.seed, months, self.engine, columns, tuple(pieces),
                         threads, bool(self.record), own_columns)

    def identity(self) -> dict[str, Any]:
        """Everything the rows depend on, for the result folder's fingerprint.

        ``model_source`` is :func:`code_digest`: the code of the compiled core and every Python
        module that shapes the rows, so a dataset never mixes rows of two code versions.
        """
        points = [[p.scenario.content_hash(), {k: _label_value(k, v) for k, v in p.labels.items()}]
                  for p in self.points]
        return {
            "kind": "diplosim.backends.Job",
            "model_source": code_digest(),
            "engine": self.engine,
            "seed": self.seed,
            "months": "scenario horizon" if self.months is None else int(self.months),
            "runs": {"count": int(self.run_ids.size), "first": int(self.run_ids[0]),
                     "last": int(self.run_ids[-1]),
                     "sha256": hashlib.sha256(self.run_ids.tobytes()).hexdigest()},
            "points": len(self.points),
            "points_sha256": hashlib.sha256(json.dumps(points).encode()).hexdigest(),
            "scenario": self.points[0].scenario.name,
            "chunk_size": int(self.chunk_size),
        }

    def describe_points(self) -> list[dict[str, Any]]:
        """Per point: scenario name, source, policies, content hash and labels (for readers)."""
        return [{"point": i, "scenario": p.scenario.name, "source": p.scenario.source,
                 "policies": list(p.scenario.policies),
                 "content_hash": p.scenario.content_hash(),
                 "labels": {k: _label_value(k, v) for k, v in p.labels.items()}}
                for i, p in enumerate(self.points)]


def compute_chunk(task: ChunkTask) -> ChunkResult:
    """Compute one chunk: one row per item, the outcomes in the task's columns.

    Runs wherever it is called: in the driver (local backend) or on a Dask worker. ``threads``
    caps the Numba threads of this call (1 on Dask workers, whose parallelism is the workers).
    """
    from sim.engines.ensemble import run_chunk

    if task.threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(task.threads), numba.config.NUMBA_NUM_THREADS)))
    n = sum(len(ids) for _, _, ids in task.pieces)
    points = np.empty(n, dtype=np.int64)
    run_ids = np.empty(n, dtype=np.int64)
    outcomes = np.empty((n, len(task.columns)))
    trajs = []
    at = 0
    for point, scn, piece in task.pieces:
        ids = np.asarray(piece, dtype=np.int64)
        c = run_chunk(scn, task.seed, ids, task.months, task.engine, task.record)
        rows = slice(at, at + ids.size)
        points[rows] = point
        run_ids[rows] = c.run_ids
        names = task.own_columns.get(point)
        if names is None and c.outcomes.shape[1] == len(task.columns):
            outcomes[rows] = c.outcomes
        else:
            names = names or tuple(outcome_layout(scn.compile())[0])
            where = {name: k for k, name in enumerate(names)}
            for j, name in enumerate(task.columns):
                outcomes[rows, j] = c.outcomes[:, where[name]] if name in where else np.nan
        if task.record:
            trajs.append(c.trajectories)
        at += ids.size
    traj = None
    if task.record:
        traj = trajs[0] if len(trajs) == 1 else np.concatenate(trajs)
    return ChunkResult(task.index, points, run_ids, outcomes, traj)


def check_rows(task: ChunkTask, result: ChunkResult) -> None:
    """Raise RuntimeError unless ``result`` holds exactly the task's (point, run) items."""
    want_points = np.concatenate([np.full(len(ids), p, dtype=np.int64)
                                  for p, _, ids in task.pieces])
    want_runs = np.concatenate([np.asarray(ids, dtype=np.int64) for _, _, ids in task.pieces])
    if (result.index != task.index or not np.array_equal(result.points, want_points)
            or not np.array_equal(result.run_ids, want_runs)
            or result.outcomes.shape != (want_runs.size, len(task.columns))):
        raise RuntimeError(f"{task.describe()} returned rows for other (point, run) items")
