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
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sim.core.outcomes import outcome_layout
from sim.core.rng import seed_key
from sim.errors import UsageError
from sim.jobs.settings import DEFAULT_CHUNK_SIZE
from sim.scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from sim.jobs.edits import PointEdits

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
    compilation to arrays, the engines (the summary code of both engines, the Mesa model), this
    module (how a chunk's rows are assembled) and :mod:`sim.jobs.edits` (design points as cell
    edits).
    """
    from sim.core.jit import compiled_sources

    here = Path(__file__).resolve()
    return [*compiled_sources(), *sorted((_SIM / "scenario").glob("*.py")),
            *sorted((_SIM / "engines").glob("*.py")), here, here.parent / "edits.py"]


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


@dataclass(frozen=True, eq=False)
class CellTask:
    """A chunk's design points as cell edits of one base scenario (see :mod:`sim.jobs.edits`).

    Every item of the chunk runs in one call of the kernel. ``values`` and ``shown`` have one
    row per point of the chunk, from point ``first_point`` on.

    Attributes:
        base: the scenario every point edits.
        first_point: the job's index of the chunk's first point.
        cells: int64 (K x 3), the cells a point sets.
        values: float64 (chunk's points x K), each point's value of each cell.
        raw_index: int64, per column of the job, its position in the kernel's raw row.
        shown: bool (chunk's points x columns), whether a point's summary has the column (NaN
            where it has not, as a point of its own would).
    """

    base: Scenario
    first_point: int
    cells: np.ndarray
    values: np.ndarray
    raw_index: np.ndarray
    shown: np.ndarray


@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs to compute one chunk: picklable and self-contained.

    ``pieces`` holds, for each point the chunk touches, ``(point, scenario, run_ids)``; the run
    ids are a ``range`` when they are consecutive (a few bytes to ship instead of 8 a run).
    ``own_columns`` maps a point whose scenario's outcomes are not exactly ``columns`` to its
    own outcome names (they are placed by name, NaN where it lacks one). ``record`` asks for
    every run's monthly figures too. ``edits``, for a job of cell edits, computes every item
    in one call of the kernel.
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
    edits: CellTask | None = None

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
        edits: the points as cell edits of one base scenario (:mod:`sim.jobs.edits`), one per
            point: every chunk then runs in one call of the kernel. Build such a job with
            :meth:`Job.design`. Numba engine, summaries only.
    """

    points: tuple[Point, ...]
    run_ids: np.ndarray
    seed: int
    months: int | None = None
    engine: str = "numba"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    record: bool = False
    edits: PointEdits | None = None

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
        if self.edits is not None:
            if self.edits.n_points != len(self.points):
                raise ValueError(f"edits has {self.edits.n_points} points, the job "
                                 f"{len(self.points)}")
            if self.engine != "numba" or self.record:
                raise ValueError("a job of cell edits runs summaries on the numba engine")
        ids = self.run_ids
        object.__setattr__(self, "_consecutive",
                           bool(ids[-1] - ids[0] == ids.size - 1 and np.all(np.diff(ids) == 1)))

    @classmethod
    def ensemble(cls, scenario: Scenario, runs: int | Sequence[int] | np.ndarray, seed: int,
                 **kwargs: Any) -> Job:
        """A job of one point: an ensemble of ``scenario``."""
        return cls((Point(scenario),), as_run_ids(runs), seed, **kwargs)

    @classmethod
    def design(cls, edits: PointEdits, runs: int | Sequence[int] | np.ndarray, seed: int,
               labels: Sequence[Mapping[str, Any]] | None = None, **kwargs: Any) -> Job:
        """A job of the points of ``edits`` (cell edits of one base scenario), one call a chunk.

        ``labels``: per point, its label columns (default: each factor's value, by key).
        """
        if labels is None:
            labels = [dict(zip(edits.keys, row, strict=True)) for row in edits.values.tolist()]
        points = tuple(Point(edits.base, lab) for lab in labels)
        return cls(points, as_run_ids(runs), seed, edits=edits, **kwargs)

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
        if self.edits is not None:
            lays = self.edits.layouts
            columns = tuple(dict.fromkeys(name for lay in lays for name in lay))
            names = [lays[k] for k in self.edits.layout_of.tolist()]
            object.__setattr__(self, "_layout_cache", (columns, names))
            return columns, names
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
        if self.edits is not None:
            return ChunkTask(chunk.index, self.seed, months, self.engine, columns,
                             tuple(pieces), threads, False, {},
                             self._cell_task(pieces[0][0], pieces[-1][0], columns))
        names = self._layout()[1]
        own_columns = {p: names[p] for p, _, _ in pieces if names[p] != tuple(columns)}
        return ChunkTask(chunk.index, self.seed, months, self.engine, columns, tuple(pieces),
                         threads, bool(self.record), own_columns)

    def _cell_task(self, first: int, last: int, columns: tuple[str, ...]) -> CellTask:
        """The edits of points ``first`` to ``last`` (inclusive) for a chunk's task."""
        from sim.core.outcomes import declare_outcomes

        edits = self.edits
        masks = self.__dict__.get("_layout_masks")
        if masks is None:
            raw = {name: k for k, name in enumerate(declare_outcomes(edits.base.compile()))}
            raw_index = np.array([raw[c] for c in columns], dtype=np.int64)
            shown = np.array([[c in set(lay) for c in columns] for lay in edits.layouts],
                             dtype=bool).reshape(len(edits.layouts), len(columns))
            masks = (raw_index, shown)
            object.__setattr__(self, "_layout_masks", masks)
        raw_index, shown = masks
        points = slice(first, last + 1)
        return CellTask(edits.base, first, edits.cells, edits.cell_values(points), raw_index,
                        shown[edits.layout_of[points]])

    def identity(self) -> dict[str, Any]:
        """Everything the rows depend on, for the result folder's fingerprint.

        ``model_source`` is :func:`code_digest`: the code of the compiled core and every Python
        module that shapes the rows, so a dataset never mixes rows of two code versions.
        """
        hashes = self._content_hashes()
        points = [[hashes[i], {k: _label_value(k, v) for k, v in p.labels.items()}]
                  for i, p in enumerate(self.points)]
        # A design of cell edits: its cells and values are part of the points' identity.
        edits = b"" if self.edits is None else self.edits.digest().encode()
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
            "points_sha256": hashlib.sha256(json.dumps(points).encode() + edits).hexdigest(),
            "scenario": self.points[0].scenario.name,
            "chunk_size": int(self.chunk_size),
        }

    def _content_hashes(self) -> list[str]:
        """Each point's scenario's content hash, computed once per scenario object."""
        seen: dict[int, str] = {}
        out = []
        for p in self.points:
            if id(p.scenario) not in seen:
                seen[id(p.scenario)] = p.scenario.content_hash()
            out.append(seen[id(p.scenario)])
        return out

    def describe_points(self) -> list[dict[str, Any]]:
        """Per point: scenario name, source, policies, content hash and labels (for readers)."""
        hashes = self._content_hashes()
        return [{"point": i, "scenario": p.scenario.name, "source": p.scenario.source,
                 "policies": list(p.scenario.policies),
                 "content_hash": hashes[i],
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
    if task.edits is not None:
        return _compute_cells(task)
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


def _compute_cells(task: ChunkTask) -> ChunkResult:
    """A chunk of a job of cell edits: every item in one call of the kernel."""
    from sim.engines.ensemble import raw_outcomes

    edits = task.edits
    points = np.concatenate([np.full(len(ids), p, dtype=np.int64) for p, _, ids in task.pieces])
    run_ids = np.concatenate([np.asarray(ids, dtype=np.int64) for _, _, ids in task.pieces])
    local = points - edits.first_point
    cs = edits.base.compile()
    months = cs.horizon if task.months is None else int(task.months)
    raw, _ = raw_outcomes(cs, task.seed, run_ids, months, local, edits.cells, edits.values)
    outcomes = raw[:, edits.raw_index]
    hidden = ~edits.shown[local]
    if hidden.any():
        outcomes[hidden] = np.nan
    return ChunkResult(task.index, points, run_ids, outcomes)


def check_rows(task: ChunkTask, result: ChunkResult) -> None:
    """Raise RuntimeError unless ``result`` holds exactly the task's (point, run) items."""
    want_points = np.concatenate([np.full(len(ids), p, dtype=np.int64)
                                  for p, _, ids in task.pieces])
    want_runs = np.concatenate([np.asarray(ids, dtype=np.int64) for _, _, ids in task.pieces])
    if (result.index != task.index or not np.array_equal(result.points, want_points)
            or not np.array_equal(result.run_ids, want_runs)
            or result.outcomes.shape != (want_runs.size, len(task.columns))):
        raise RuntimeError(f"{task.describe()} returned rows for other (point, run) items")
