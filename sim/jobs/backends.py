"""The executors of a job: in this process, or on a Dask cluster; and durable, resumable jobs.

A job (:mod:`sim.jobs.job`: design points x run indices under one seed, cut into chunks) is
handed to an executor, which computes its chunks and gives back their results:

* ``"local"``: chunks run one after the other in this process, in order; the kernel itself is
  parallel over the machine's cores.
* ``"dask"``: chunks are Dask tasks. ``scheduler="tcp://host:port"`` uses a running cluster
  (started with ``dask scheduler`` and ``dask worker ADDR``); ``workers=N`` starts a
  ``LocalCluster`` of N single-threaded worker processes bound to 127.0.0.1 for the job.
  A worker that dies is replaced by its nanny and its chunks are computed again; only the driver
  writes results, once per finished chunk, so nothing is lost or written twice.

:func:`execute` yields each chunk's :class:`~sim.jobs.job.ChunkResult` as it finishes (what
:func:`sim.run_ensemble` consumes, with monthly figures for its bands); :func:`run_job` collects
the rows and, with ``out=DIR``, writes every finished chunk durably as it arrives (see
:mod:`sim.jobs.store`); ``resume=True`` continues a killed job, computing only the missing
chunks. Ensembles, policy comparisons and sweeps all run as one job through these.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.errors import JobError
from sim.jobs import settings
from sim.jobs.job import (
    Chunk,
    ChunkResult,
    Engine,
    Job,
    Point,
    as_run_ids,
    check_rows,
    compute_chunk,
)
from sim.jobs.settings import DEFAULT_CHUNK_SIZE, Backend, BackendError, resolve_backend
from sim.scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from sim.jobs.edits import PointEdits

__all__ = [
    "DEFAULT_CHUNK_SIZE", "Backend", "BackendError", "ChunkError", "Job",
    "Point", "as_run_ids", "compute_chunk", "dask_client", "execute", "run_design",
    "run_durable", "run_job", "run_points",
]

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


def _joined(results: list[ChunkResult]) -> ChunkResult:
    """The results of consecutive chunks as one (rows in the order given)."""
    if len(results) == 1:
        return results[0]
    return ChunkResult(results[0].index, np.concatenate([r.points for r in results]),
                       np.concatenate([r.run_ids for r in results]),
                       np.concatenate([r.outcomes for r in results]))


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
            client = Client(scheduler, timeout=settings.CONNECT_TIMEOUT)
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
    with settings.workers_ignore_ctrl_c():  # Ctrl-C: one line here, none from each worker
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=dashboard_address,
                               scheduler_kwargs=http, silence_logs=logging.ERROR)
    log = logging.getLogger("distributed")
    level = log.level
    try:
        client = Client(cluster)
        try:
            yield client
        except KeyboardInterrupt:
            # Closing a cluster in the middle of its work makes distributed log the
            # connections it loses (CommClosedError tracebacks on stderr): after Ctrl-C the
            # command's one line is all the user should see.
            log.setLevel(logging.CRITICAL)
            raise
        finally:
            client.close()
    finally:
        cluster.close()
        log.setLevel(level)


def execute(job: Job, chunks: Sequence[Chunk] | None = None, *,
            backend: Backend | None = None, scheduler: str | Client | None = None,
            workers: int | None = None, keep_going: bool = False,
            dashboard_address: str | None = None) -> Iterator[ChunkResult]:
    """Compute ``chunks`` of ``job`` (default: all) and yield each result as it finishes.

    The local executor yields them in chunk order; on Dask they come in the order they finish.
    Every result is checked to hold exactly its chunk's (point, run) items.

    Args:
        job: the points, runs, seed and chunking.
        chunks: the chunks to compute (e.g. those a resumed job still lacks).
        backend: ``"local"`` or ``"dask"`` (default: ``"dask"`` if ``scheduler`` or
            ``workers`` is given, else ``"local"``).
        scheduler: address of a running Dask scheduler (``"tcp://127.0.0.1:8786"``) or a
            Client.
        workers: start a LocalCluster of this many worker processes on 127.0.0.1.
        keep_going: compute every other chunk when one fails (then raise); by default the
            first failure stops the job.
        dashboard_address: dashboard of a LocalCluster started here (default: none).

    Raises:
        ChunkError: a chunk raised (named with its points and runs), after the others when
            ``keep_going``.
        BackendError: bad backend settings or an unreachable scheduler.
    """
    backend = resolve_backend(backend, scheduler, workers)
    chunks = job.chunks() if chunks is None else list(chunks)
    n_chunks = len(job.chunks())
    columns = job.columns()
    failures: list[tuple[str, BaseException]] = []
    if backend == "local":
        for chunk in chunks:
            task = job.task(chunk, columns)
            try:
                result = compute_chunk(task)
                check_rows(task, result)
            except Exception as exc:  # noqa: BLE001 - reported with the chunk's runs
                failures.append((task.describe(), exc))
                if not keep_going:
                    break
                continue
            yield result
    elif chunks:
        with dask_client(scheduler, workers, dashboard_address=dashboard_address) as client:
            yield from _run_on_dask(client, job, chunks, columns, failures, keep_going)
    if failures:
        raise ChunkError(failures, n_chunks)


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

    backend = resolve_backend(backend, scheduler, workers)
    if resume and out is None:
        raise BackendError("resume needs an output folder (out=DIR, --out DIR)")
    if not collect and out is None:
        raise BackendError("collect=False needs an output folder")
    if job.record and out is not None:
        raise BackendError("a job that records monthly figures cannot be stored durably "
                           "(parts hold run summaries only)")
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
        results: dict[int, ChunkResult] = {}
        bar = _progress_bar(progress, len(chunks), len(done))
        try:
            for result in execute(job, todo, backend=backend, scheduler=scheduler,
                                  workers=workers, keep_going=store is not None,
                                  dashboard_address=dashboard_address):
                if store is not None:
                    store.write(result.index, _with_labels(result.frame(columns), labels),
                                points=[int(p) for p in np.unique(result.points)])
                elif collect:
                    results[result.index] = result
                done.add(result.index)
                if bar is not None:
                    bar.update(1)
                if on_chunk is not None:
                    on_chunk(len(done), len(chunks))
        finally:
            if bar is not None:
                bar.close()
        if not collect:
            return None
        if store is not None:
            return store.read()
        return _with_labels(_joined([results[c.index] for c in chunks]).frame(columns), labels)
    finally:
        if store is not None:
            store.close()


def _run_on_dask(client: Client, job: Job, todo: list[Chunk], columns: tuple[str, ...],
                 failures: list[tuple[str, BaseException]], keep_going: bool
                 ) -> Iterator[ChunkResult]:
    """Submit every chunk as a task; yield results as they complete, in any order."""
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
                if not keep_going:
                    break
                continue
            result = fut.result()
            fut.release()
            try:
                check_rows(task, result)
            except RuntimeError as exc:
                failures.append((task.describe(), exc))
                if not keep_going:
                    break
                continue
            yield result
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
    from sim.jobs.edits import PointEdits

    labels = list(labels) if labels is not None else [{} for _ in scenarios]
    # Points that differ from the first only in parameter cells (policies, numeric overrides)
    # run as cell edits of it: every chunk in one call of the kernel, the same numbers.
    edits = (PointEdits.from_scenarios(scenarios)
             if engine == "numba" and len(scenarios) > 1 else None)
    job = Job(tuple(Point(s, lab) for s, lab in zip(scenarios, labels, strict=True)),
              as_run_ids(runs), seed, months=months, engine=engine,
              chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size, edits=edits)
    rows = run_job(job, **options)
    n = job.run_ids.size
    columns = list(job.columns())
    values = rows[columns].to_numpy(dtype=np.float64)
    runs = rows["run"].to_numpy(dtype=np.int64)
    frames = []
    for i in range(len(job.points)):
        # Laid out as numba_summary lays out its rows (runs x outcomes, C order): a reduction
        # over the runs of a frame adds in an order that depends on the layout.
        block = np.ascontiguousarray(values[i * n:(i + 1) * n])
        frame = pd.DataFrame(block, columns=columns, copy=False)
        frame.insert(0, "run", runs[i * n:(i + 1) * n])
        frames.append(frame)
    return frames


def run_design(edits: PointEdits, runs: int | Sequence[int] | np.ndarray, seed: int, *,
               labels: Sequence[Mapping[str, Any]] | None = None, months: int | None = None,
               chunk_size: int | None = None, **options: Any) -> tuple[list[str], np.ndarray]:
    """Every run of every point of a design of cell edits, as one array per outcome.

    The design's points run as one :class:`Job` (:meth:`Job.design`): a chunk is a block of
    (point, run) items computed in one call of the kernel, here or on Dask; run ``r`` of point
    ``p`` is the same whatever the chunking, the threads or the backend, and the same as
    ``edits.scenario(p)`` run ``r`` on its own.

    Args:
        edits: the points (:class:`sim.jobs.edits.PointEdits`).
        runs: a count (runs 0..n-1) or explicit run indices, the same for every point.
        seed: seed of every draw.
        labels: per point, the label columns of its rows in a stored dataset (default: the
            factors' values).
        months: months per run (default: the base scenario's horizon).
        chunk_size: items per chunk (default :data:`DEFAULT_CHUNK_SIZE`).
        **options: those of :func:`run_job` (backend, scheduler, workers, out, resume,
            progress, on_chunk).

    Returns:
        ``(columns, values)``: the outcome names and a float64 array points x runs x outcomes
        (NaN where a point's summary lacks an outcome).
    """
    job = Job.design(edits, runs, seed, labels, months=months,
                     chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size)
    columns = list(job.columns())
    n, r = len(job.points), job.run_ids.size
    if options.get("out") is None and not options.get("resume"):
        # In memory: each chunk's rows go straight into the array, no frame per chunk.
        on_chunk = options.pop("on_chunk", None)
        bar = _progress_bar(bool(options.pop("progress", False)), len(job.chunks()), 0)
        for unused in ("out", "resume", "collect"):
            options.pop(unused, None)
        values = np.empty((n * r, len(columns)))
        chunks = job.chunks()
        try:
            for done, result in enumerate(execute(job, **options), start=1):
                c = chunks[result.index]
                values[c.start:c.stop] = result.outcomes
                if bar is not None:
                    bar.update(1)
                if on_chunk is not None:
                    on_chunk(done, len(chunks))
        finally:
            if bar is not None:
                bar.close()
        return columns, values.reshape(n, r, len(columns))
    rows = run_job(job, **options)
    values = np.ascontiguousarray(rows[columns].to_numpy(dtype=np.float64))
    return columns, values.reshape(n, r, len(columns))
