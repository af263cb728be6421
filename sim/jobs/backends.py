"""Where the runs of a job are computed: in this process, or on a Dask cluster.

A *job* is a list of design points (a scenario each, with labels such as the swept parameters'
values or a policy's name) times a list of run indices, under one seed: an ensemble is a job of
one point, a policy comparison one point per policy, a sweep one point per design row. Run ``r``
of every point uses the same run index, hence the same random draws (common random numbers).

The job's (point, run) items, in point-major order, are cut into *chunks* of ``chunk_size``
consecutive items; a chunk may span several points. A chunk is the unit of work (one call of the
Numba kernel per point it touches) and of storage (one Parquet part, see :mod:`sim.jobs.store`). Since
run ``r`` of a point depends only on (scenario, seed, r) -- every random number is keyed by them
(see :mod:`sim.core.rng`) -- the rows are the same whatever the backend, the number of workers, the
chunk size or the order in which chunks finish.

Backends:

* ``"local"``: chunks run one after the other in this process; the kernel itself is parallel
  over the machine's cores.
* ``"dask"``: chunks are Dask tasks. ``scheduler="tcp://host:port"`` uses a running cluster
  (started with ``dask scheduler`` and ``dask worker ADDR``); ``workers=N`` starts a
  ``LocalCluster`` of N single-threaded worker processes bound to 127.0.0.1 for the job.
  A worker that dies is replaced by its nanny and its chunks are computed again; only the driver
  writes results, once per finished chunk, so nothing is lost or written twice.

With ``out=DIR`` every finished chunk is written durably as it arrives; ``resume=True`` continues
a killed job, computing only the missing chunks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sim.errors import JobError, UsageError
from sim.core.outcomes import outcome_layout
from sim.core.rng import seed_key
from sim.scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

Backend = Literal["local", "dask"]
Engine = Literal["numba", "mesa"]
#: Items ((point, run) pairs) per chunk unless the caller says otherwise. About 0.1-0.5 s of
#: kernel time on one core for the baseline, and a part of a few MB: large enough that Dask's
#: per-task cost (a few ms) is negligible, small enough that a killed job loses little.
DEFAULT_CHUNK_SIZE = 5000
#: How long to try reaching a scheduler given by address before giving up.
CONNECT_TIMEOUT = "10s"


class BackendError(UsageError):
    """A bad backend setting (both a scheduler and workers, an unreachable scheduler, ...)."""


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
    """

    index: int
    seed: int
    months: int | None
    engine: str
    columns: tuple[str, ...]
    pieces: tuple[tuple[int, Scenario, np.ndarray | range], ...]
    threads: int | None = None

    def describe(self) -> str:
        """The points and runs of the chunk, in words (for error messages)."""
        parts = []
        for point, _, ids in self.pieces:
            runs = _describe_runs(ids)
            parts.append(f"point {point} {runs}")
        return f"chunk {self.index} (" + "; ".join(parts) + ")"


def _describe_runs(ids: np.ndarray) -> str:
    ids = np.asarray(ids)
    if ids.size and np.array_equal(ids, np.arange(ids[0], ids[0] + ids.size)):
        return f"runs {ids[0]}-{ids[-1]}" if ids.size > 1 else f"run {ids[0]}"
    shown = ", ".join(str(i) for i in ids[:6]) + (", ..." if ids.size > 6 else "")
    return f"runs [{shown}]"


class ChunkError(JobError):
    """One or more chunks raised.

    ``failures`` lists ``(description, exception)``; the message names each failed chunk's
    points and runs and the error. Chunks that finished are kept (in ``out``, when given), so a
    resume recomputes only the failed ones. A ``RuntimeError``; the CLI prints it on one line
    and exits 1.
    """

    def __init__(self, failures: list[tuple[str, BaseException]], n_chunks: int):
        self.failures = failures
        lines = [f"{desc}: {type(exc).__name__}: {exc}" for desc, exc in failures[:5]]
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} of {n_chunks} chunks failed{more}: "
                         + " | ".join(lines))


def as_run_ids(runs: int | range | Sequence[int] | np.ndarray) -> np.ndarray:
    """Run indices from a count (runs 0..n-1) or an explicit sequence; checked."""
    if isinstance(runs, (int, np.integer)) and not isinstance(runs, bool):
        if runs < 1:
            raise ValueError(f"runs must be at least 1, got {runs}")
        return np.arange(int(runs), dtype=np.int64)
    ids = np.asarray(list(runs) if isinstance(runs, range) else runs, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError("runs must be a positive count or a non-empty sequence of run indices")
    if (ids < 0).any() or (ids >= 2**32).any():
        raise ValueError("run indices must be in [0, 2**32)")
    if np.unique(ids).size != ids.size:
        raise ValueError("run indices must not repeat")
    return ids


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
        run_ids: run indices, the same for every point.
        seed: seed of every random draw (0 is a seed like any other).
        months: months per run (``None``: each scenario's horizon).
        engine: ``"numba"`` (compiled kernel) or ``"mesa"`` (one Mesa model per run); both
            give the same numbers.
        chunk_size: items per chunk. Part of the job's identity: a resumed job must use the
            same chunking.
    """

    points: tuple[Point, ...]
    run_ids: np.ndarray
    seed: int
    months: int | None = None
    engine: str = "numba"
    chunk_size: int = DEFAULT_CHUNK_SIZE

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
        if isinstance(self.chunk_size, bool) or int(self.chunk_size) < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")
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
        scenario lacks one get NaN there), so that every part has the same schema.
        """
        seen: dict[str, None] = {}
        done: set[str] = set()
        for p in self.points:
            h = p.scenario.content_hash()
            if h in done:
                continue
            done.add(h)
            for name in outcome_layout(p.scenario.compile())[0]:
                seen.setdefault(name, None)
        return tuple(seen)

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
        return ChunkTask(chunk.index, self.seed, months, self.engine, columns, tuple(pieces),
                         threads)

    def identity(self) -> dict[str, Any]:
        """Everything the rows depend on, for the result folder's fingerprint."""
        from sim.core.jit import _source_digest

        points = [[p.scenario.content_hash(), {k: _label_value(k, v) for k, v in p.labels.items()}]
                  for p in self.points]
        return {
            "kind": "diplosim.backends.Job",
            "model_source": _source_digest(),
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


def compute_chunk(task: ChunkTask) -> pd.DataFrame:
    """Compute one chunk: columns ``point``, ``run`` and the outcomes, one row per item.

    Runs wherever it is called: in the driver (local backend) or on a Dask worker. ``threads``
    caps the Numba threads of this call (1 on Dask workers, whose parallelism is the workers).
    """
    from sim.engines.ensemble import mesa_summary, numba_summary

    if task.threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(task.threads), numba.config.NUMBA_NUM_THREADS)))
    frames = []
    for point, scn, piece in task.pieces:
        ids = np.asarray(piece, dtype=np.int64)
        if task.engine == "numba":
            df = numba_summary(scn, task.seed, ids, task.months)
        else:
            df = mesa_summary(scn, task.seed, ids, task.months)
        out = df.reindex(columns=list(task.columns)).astype(np.float64)
        out.insert(0, "run", np.asarray(df["run"], dtype=np.int64))
        out.insert(0, "point", np.full(len(df), point, dtype=np.int64))
        frames.append(out)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _check_rows(task: ChunkTask, frame: pd.DataFrame) -> None:
    want_points = np.concatenate([np.full(len(ids), p, dtype=np.int64)
                                  for p, _, ids in task.pieces])
    want_runs = np.concatenate([np.asarray(ids, dtype=np.int64) for _, _, ids in task.pieces])
    if (len(frame) != want_runs.size or not np.array_equal(frame["point"].to_numpy(), want_points)
            or not np.array_equal(frame["run"].to_numpy(), want_runs)):
        raise RuntimeError(f"{task.describe()} returned rows for other (point, run) items")


def _with_labels(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    if labels.shape[1] == 0:
        return frame
    lab = labels.iloc[frame["point"].to_numpy()].reset_index(drop=True)
    return pd.concat([frame[["point"]], lab, frame.drop(columns="point")], axis=1)


@contextmanager
def dask_client(scheduler: str | Client | None = None, workers: int | None = None, *,
                dashboard_address: str | None = None) -> Iterator[Client]:
    """A Dask client for the job, closed (with any cluster it started) on exit.

    Args:
        scheduler: ``"tcp://host:port"`` of a running scheduler, or a ``distributed.Client``
            to use as is (not closed on exit).
        workers: start a ``LocalCluster`` of this many single-threaded worker processes on
            127.0.0.1 (default when neither is given: one per core).
        dashboard_address: where the LocalCluster's dashboard listens (default: no dashboard);
            pass e.g. ``"127.0.0.1:8787"`` to watch the job.

    Raises:
        BackendError: both ``scheduler`` and ``workers`` given, or the scheduler unreachable.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None and workers is not None:
        raise BackendError("give either a scheduler address or a number of workers, not both")
    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BackendError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = (os.cpu_count() or 1) if workers is None else int(workers)
    if n < 1:
        raise BackendError(f"workers must be at least 1, got {n}")
    # Without a dashboard the scheduler still serves health checks over HTTP, by default on
    # port 8787 (taken if another cluster runs): put them on a free loopback port instead.
    http = {} if dashboard_address is not None else {"dashboard_address": "127.0.0.1:0"}
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=dashboard_address, scheduler_kwargs=http,
                           silence_logs=logging.ERROR)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _resolve_backend(backend: str | None, scheduler: Any, workers: int | None) -> str:
    if backend is None:
        return "dask" if scheduler is not None or workers is not None else "local"
    if backend not in ("local", "dask"):
        raise BackendError(f"backend must be 'local' or 'dask', got {backend!r}")
    if backend == "local" and (scheduler is not None or workers is not None):
        raise BackendError("a scheduler or workers need backend='dask'")
    return backend


def run_job(job: Job, *, backend: Backend | None = None, scheduler: str | Client | None = None,
            workers: int | None = None, out: str | Path | None = None, resume: bool = False,
            progress: bool = False, on_chunk: Callable[[int, int], None] | None = None,
            collect: bool = True, dashboard_address: str | None = None
            ) -> pd.DataFrame | None:
    """Compute every (point, run) item of ``job``; optionally store each chunk durably.

    Args:
        job: the points, runs, seed and chunking.
        backend: ``"local"`` or ``"dask"`` (default: ``"dask"`` if ``scheduler`` or ``workers``
            is given, else ``"local"``).
        scheduler: address of a running Dask scheduler (``"tcp://127.0.0.1:8786"``) or a Client.
        workers: start a LocalCluster of this many worker processes on 127.0.0.1.
        out: folder for the durable dataset (see :mod:`sim.jobs.store`).
        resume: continue the job already in ``out``, computing only its missing chunks.
        progress: show a progress bar (tqdm, on stderr).
        on_chunk: called as ``on_chunk(done, total)`` after each chunk is finished (and stored).
        collect: return the rows; with ``out``, ``False`` returns None and leaves the rows on
            disk (for jobs larger than memory).
        dashboard_address: dashboard of a LocalCluster started here (default: none).

    Returns:
        One row per item in point-major order: ``point``, the label columns, ``run`` and the
        outcomes; or None when ``collect`` is false.

    Raises:
        ChunkError: a chunk raised (named with its points and runs). With ``out`` the other
            chunks are still computed and stored first; without it the job stops at once.
        StoreError: ``out`` holds another job, or this one without ``resume``.
        BackendError: bad backend settings or an unreachable scheduler.
    """
    from sim.jobs.store import ChunkStore

    backend = _resolve_backend(backend, scheduler, workers)
    if resume and out is None:
        raise BackendError("resume needs an output folder (out=DIR, --out DIR)")
    if not collect and out is None:
        raise BackendError("collect=False needs an output folder")
    chunks = job.chunks()
    columns = job.columns()
    labels = job.labels_frame()
    store = None
    if out is not None:
        store = ChunkStore(out, job.identity(), len(chunks), resume=resume,
                           points=job.describe_points(),
                           meta={"backend": backend, "n_items": job.n_items,
                                 "columns": ["point", *labels.columns, "run", *columns]})
    try:
        done = store.done() if store is not None else set()
        todo = [c for c in chunks if c.index not in done]
        results: dict[int, pd.DataFrame] = {}
        failures: list[tuple[str, BaseException]] = []
        bar = _progress_bar(progress, len(chunks), len(done))

        def finish(task: ChunkTask, frame: pd.DataFrame) -> None:
            frame = _with_labels(frame, labels)
            if store is not None:
                store.write(task.index, frame, points=[int(p) for p, _, _ in task.pieces])
            elif collect:
                results[task.index] = frame
            done.add(task.index)
            if bar is not None:
                bar.update(1)
            if on_chunk is not None:
                on_chunk(len(done), len(chunks))

        if backend == "local":
            for chunk in todo:
                task = job.task(chunk, columns)
                try:
                    frame = compute_chunk(task)
                    _check_rows(task, frame)
                except Exception as exc:  # noqa: BLE001 - reported with the chunk's runs
                    failures.append((task.describe(), exc))
                    if store is None:
                        break
                    continue
                finish(task, frame)
        elif todo:
            with dask_client(scheduler, workers, dashboard_address=dashboard_address) as client:
                _run_on_dask(client, job, todo, columns, finish, failures,
                             stop_on_error=store is None)
        if bar is not None:
            bar.close()
        if failures:
            raise ChunkError(failures, len(chunks))
        if not collect:
            return None
        if store is not None:
            return store.read()
        return pd.concat([results[c.index] for c in chunks], ignore_index=True)
    finally:
        if store is not None:
            store.close()


def _run_on_dask(client: Client, job: Job, todo: list[Chunk], columns: tuple[str, ...],
                 finish: Callable[[ChunkTask, pd.DataFrame], None],
                 failures: list[tuple[str, BaseException]], stop_on_error: bool) -> None:
    """Submit every chunk as a task; finish them as they complete, in any order."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:12]
    futures = {}
    for chunk in todo:
        task = job.task(chunk, columns, threads=1)
        fut = client.submit(compute_chunk, task, key=f"diplosim-chunk-{token}-{chunk.index}",
                            pure=False, retries=0)
        futures[fut] = task
    try:
        for fut in as_completed(list(futures)):
            task = futures.pop(fut)
            if fut.status == "error":
                failures.append((task.describe(), fut.exception()))
                if stop_on_error:
                    break
                continue
            frame = fut.result()
            fut.release()
            try:
                _check_rows(task, frame)
            except RuntimeError as exc:
                failures.append((task.describe(), exc))
                if stop_on_error:
                    break
                continue
            finish(task, frame)
    finally:
        if futures:
            client.cancel(list(futures))


def _progress_bar(show: bool, total: int, initial: int):
    if not show:
        return None
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (logs of batch jobs stay clean).
    return tqdm(total=total, initial=initial, unit="chunk", desc="chunks", leave=False,
                disable=None)


def run_durable(scenario: Scenario, runs: int | Sequence[int] | np.ndarray, seed: int, *,
                months: int | None = None, engine: Engine = "numba",
                chunk_size: int = DEFAULT_CHUNK_SIZE, **options: Any) -> pd.DataFrame | None:
    """An ensemble of ``scenario`` through :func:`run_job`, durable with ``out=DIR``.

    Returns one row per run, column ``run`` first (the ``point`` column of a one-point job is
    dropped), as :func:`sim.engines.ensemble.numba_summary` does.

    ``options`` are those of :func:`run_job` (backend, scheduler, workers, out, resume, ...).
    """
    job = Job.ensemble(scenario, runs, seed, months=months, engine=engine,
                       chunk_size=chunk_size)
    rows = run_job(job, **options)
    return None if rows is None else rows.drop(columns="point")


def run_points(scenarios: Sequence[Scenario], runs: int | Sequence[int] | np.ndarray, seed: int,
               *, labels: Sequence[Mapping[str, Any]] | None = None, months: int | None = None,
               engine: Engine = "numba", chunk_size: int | None = None,
               **options: Any) -> list[pd.DataFrame]:
    """Run summaries of several scenarios on the same runs (common random numbers), as one job.

    The building block of policy comparisons and sweeps on a backend: every scenario is a point
    of one :class:`Job` (so one cluster, one chunk plan and, with ``out``, one dataset whose rows
    carry ``labels`` as columns).

    Args:
        scenarios: one per point.
        runs: a count (runs 0..n-1) or explicit run indices, the same for every point.
        seed: seed of every draw.
        labels: per point, the label columns of its rows in the stored dataset.
        months: months per run (default: each scenario's horizon).
        engine: ``"numba"`` or ``"mesa"``.
        chunk_size: items per chunk (default :data:`DEFAULT_CHUNK_SIZE`).
        **options: those of :func:`run_job` (backend, scheduler, workers, out, resume, ...).

    Returns:
        Per point, its summary: one row per run, column ``run`` first, then the outcomes (the
        union over points; NaN where a point's scenario lacks one).
    """
    labels = list(labels) if labels is not None else [{} for _ in scenarios]
    job = Job(tuple(Point(s, lab) for s, lab in zip(scenarios, labels, strict=True)),
              as_run_ids(runs), seed, months=months, engine=engine,
              chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size)
    rows = run_job(job, **options)
    n = job.run_ids.size
    drop = ["point", *job.labels_frame().columns]
    return [rows.iloc[i * n:(i + 1) * n].drop(columns=drop).reset_index(drop=True)
            for i in range(len(job.points))]


# -- command line ----------------------------------------------------------------------------
def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of every verb that runs many runs: where to run them and how to store them.

    ``--out`` is not added here (each verb has its own); ``--resume`` applies to it.
    """
    g = p.add_argument_group("backend (see docs/scaling.md)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="run on a running Dask cluster, e.g. tcp://127.0.0.1:8786")
    g.add_argument("--workers", type=int, metavar="N",
                   help="run on a Dask LocalCluster of N worker processes on 127.0.0.1")
    g.add_argument("--chunk-size", type=int, metavar="K",
                   help=f"(point, run) items per chunk (default {DEFAULT_CHUNK_SIZE} on a "
                   "backend); never changes a result")
    g.add_argument("--resume", action="store_true",
                   help="keep every finished chunk in --out DIR and continue the job there if "
                   "it was interrupted, computing only its missing chunks")


def backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """Backend settings from the flags of :func:`add_backend_arguments`.

    Returns ``backend``, ``scheduler``, ``workers``, ``resume`` and ``chunk_size`` (None when
    not given: the caller's default applies).

    Raises:
        BackendError: inconsistent flags (both --scheduler and --workers, --workers 0,
            --resume without --out, --chunk-size 0).
    """
    scheduler = getattr(args, "scheduler", None)
    workers = getattr(args, "workers", None)
    if scheduler is not None and workers is not None:
        raise BackendError("--scheduler and --workers: give one or the other")
    if workers is not None and workers < 1:
        raise BackendError(f"--workers must be at least 1 (got {workers})")
    if scheduler is not None and "://" not in scheduler:
        raise BackendError(f"--scheduler {scheduler!r}: expected an address like "
                           "tcp://127.0.0.1:8786")
    chunk_size = getattr(args, "chunk_size", None)
    if chunk_size is not None and chunk_size < 1:
        raise BackendError(f"--chunk-size must be at least 1 (got {chunk_size})")
    resume = bool(getattr(args, "resume", False))
    if resume and getattr(args, "out", None) is None:
        raise BackendError("--resume needs --out DIR (the folder of the job to continue)")
    return {"backend": "dask" if scheduler is not None or workers is not None else "local",
            "scheduler": scheduler, "workers": workers, "resume": resume,
            "chunk_size": chunk_size}


def chunked_options(args: argparse.Namespace, out: str | Path | None) -> dict[str, Any]:
    """Keyword arguments for a verb's function from the backend flags.

    Empty (the verb's usual local path) unless a Dask backend or ``--resume`` is asked for;
    otherwise ``backend``, ``scheduler``, ``workers``, ``chunk_size``, ``resume`` and ``out``:
    the chunks of the job are kept in ``OUT/chunks`` (the verb's own files stay in ``OUT``).
    """
    opts = backend_options(args)
    if opts["backend"] != "dask" and not opts["resume"]:
        return {}
    return {**opts, "out": None if out is None else Path(out) / "chunks"}
