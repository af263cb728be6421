"""Ensembles: many Monte Carlo runs of one scenario, as a job of one point.

:func:`run_ensemble` is the one entry point (``sim.run_ensemble``). It builds a
:class:`~sim.jobs.job.Job` of one point and hands it to an executor (:mod:`sim.jobs.backends`),
as policy comparisons and sweeps do with their many points. Run ``r`` of an ensemble depends only
on (scenario, seed, r), so the numbers are the same whatever the engine, the executor, the chunk
size or the threads.

In this process (the default) the job's chunks also record every run's monthly figures, folded
into bands chunk by chunk. Memory: the summary keeps one row per run (8 bytes x outcome columns,
440 bytes a run for the baseline); the monthly bands are exact up to
:data:`sim.results.bands.EXACT_BANDS_MAX_RUNS` runs and a fixed-size histogram beyond it; only
the trajectories of ``keep_runs`` are kept in full. On Dask or with ``out`` only the summary is
computed (trajectories are not shipped from workers nor stored in parts).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.outcomes import monthly_names, sanction_pairs
from sim.core.rng import seed_key
from sim.engines.ensemble import BAND_CHUNK, DEFAULT_CHUNK, Engine, numba_threads
from sim.jobs.backends import execute, run_job
from sim.jobs.job import Job, as_run_ids
from sim.jobs.settings import DEFAULT_CHUNK_SIZE
from sim.results.bands import EXACT_BANDS_MAX_RUNS, HistogramBands, exact_bands, figure_ranges
from sim.results.ensemble import EnsembleResult
from sim.scenario import Scenario, load_scenario

#: A progress bar appears once an ensemble has run this long (seconds), if ``progress``.
PROGRESS_DELAY = 1.0


def _progress(total: int, engine: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", desc=f"{engine} ensemble", disable=not progress,
                delay=PROGRESS_DELAY, leave=False, dynamic_ncols=True)


def run_ensemble(scenario: Scenario | str | Path, runs: int | range | Iterable[int] = 1000,
                 seed: int = 0, engine: Engine = "numba", months: int | None = None,
                 threads: int | None = None, keep_runs: Iterable[int] | None = None,
                 progress: bool = True, chunk_size: int | None = None,
                 bands: bool = True, backend: str | None = None, scheduler: Any = None,
                 workers: int | None = None, out: str | Path | None = None,
                 resume: bool = False) -> EnsembleResult:
    """Run many Monte Carlo runs of ``scenario``.

    Args:
        scenario: a Scenario or a bundled name / path.
        runs: a count (runs 0..runs-1) or explicit run indices (each at most once, see
            :func:`sim.jobs.job.as_run_ids`).
        seed: seed of every draw (0 is a seed like any other).
        engine: ``"numba"`` (compiled, parallel) or ``"mesa"`` (one Mesa model per run); both
            give the same numbers.
        months: months per run (default: the scenario's horizon).
        threads: Numba threads to use (default: all); restored afterwards. The Mesa engine
            runs on one thread and ignores it.
        keep_runs: runs whose full monthly trajectories to keep (they must be among ``runs``).
        progress: show a progress bar (on stderr) once the ensemble has run for a second.
        chunk_size: runs per chunk (default :data:`sim.engines.ensemble.DEFAULT_CHUNK`, or
            :data:`sim.engines.ensemble.BAND_CHUNK` with bands; one run a chunk on the Mesa
            engine); bounds memory, never changes a result.
        bands: compute the monthly bands (exact up to
            :data:`sim.results.bands.EXACT_BANDS_MAX_RUNS` runs, a histogram beyond, see
            :mod:`sim.results.bands`); False keeps only the summary.
        backend: ``"local"`` (this process) or ``"dask"`` (default ``"dask"`` if
            ``scheduler`` or ``workers`` is given); see :mod:`sim.jobs.backends`.
        scheduler: address of a running Dask scheduler (``"tcp://127.0.0.1:8786"``) or a
            ``distributed.Client``.
        workers: start a Dask LocalCluster of this many worker processes on 127.0.0.1.
        out: folder where every finished chunk of runs is written as a Parquet part (see
            :mod:`sim.jobs.store`); ``resume=True`` continues a killed job there.
        resume: compute only the chunks missing from ``out``.

    On the Dask backend or with ``out``, the job's chunks hold ``chunk_size`` runs (default
    :data:`sim.jobs.settings.DEFAULT_CHUNK_SIZE`) and only the summary is computed: no bands,
    and ``keep_runs`` is refused (trajectories are not shipped back from workers nor stored in
    parts). The summary is the same, row for row.

    Raises:
        UsageError: bad runs (a repeated run index, one out of range, ...).
        ValueError: other bad arguments (engine, months, threads, chunk size, kept runs).
    """
    scn = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    seed = seed_key(seed)
    ids = as_run_ids(runs)
    months = scn.horizon if months is None else int(months)
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if engine not in ("numba", "mesa"):
        raise ValueError(f"engine must be 'numba' or 'mesa', got {engine!r}")
    if (backend == "dask" or scheduler is not None or workers is not None or out is not None
            or resume):
        return _run_summary_job(scn, seed, ids, engine, months, keep_runs, progress, chunk_size,
                                backend, scheduler, workers, out, resume)
    if chunk_size is None:
        chunk_size = BAND_CHUNK if bands else DEFAULT_CHUNK
    if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size) if engine == "numba" else 1
    keep_list = [] if keep_runs is None else list(keep_runs)
    keep = as_run_ids(keep_list) if keep_list else None
    if keep is not None:
        missing = np.setdiff1d(keep, ids)
        if missing.size:
            raise ValueError(f"keep_runs {missing[:5].tolist()} are not runs of this ensemble")
    job = Job.ensemble(scn, ids, seed, months=months, engine=engine, chunk_size=chunk_size,
                       record=bands)
    chunks = job.chunks()
    names = list(job.columns())
    cs = scn.compile()
    fig_names = monthly_names(cs, sanction_pairs(cs))
    exact = ids.size <= EXACT_BANDS_MAX_RUNS
    values = np.empty((ids.size, len(names)))
    traj_all = np.empty((ids.size, months + 1, len(fig_names))) if bands and exact else None
    hist = None
    if bands and not exact:
        lo, hi = figure_ranges(cs, fig_names)
        hist = HistogramBands(fig_names, months, lo, hi)

    start = time.perf_counter()
    with numba_threads(threads if engine == "numba" else None) as used, \
            _progress(ids.size, engine, progress) as bar:
        for result in execute(job, backend="local"):
            a, b = chunks[result.index].start, chunks[result.index].stop
            values[a:b] = result.outcomes
            if traj_all is not None:
                traj_all[a:b] = result.trajectories
            elif hist is not None:
                hist.add(result.trajectories)
            bar.update(b - a)
        kept = None
        if keep is not None:
            kept_job = Job.ensemble(scn, keep, seed, months=months, engine=engine,
                                    chunk_size=keep.size, record=True)
            (kept,) = execute(kept_job, backend="local")
    seconds = time.perf_counter() - start

    band_frame = None
    if traj_all is not None:
        band_frame = exact_bands(traj_all, fig_names)
        del traj_all
    elif hist is not None:
        band_frame = hist.frame()
    traj_frame = None
    if kept is not None:
        nk = kept.run_ids.size
        traj_frame = pd.DataFrame(kept.trajectories.reshape(nk * (months + 1), -1),
                                  columns=fig_names)
        traj_frame.insert(0, "month", np.tile(np.arange(months + 1), nk))
        traj_frame.insert(0, "run", np.repeat(kept.run_ids, months + 1))
    meta = {"threads": used if engine == "numba" else 1,
            "chunk_size": chunk_size,
            "bands": None if not bands else ("exact" if exact else "histogram"),
            "seconds": round(seconds, 4)}
    if hist is not None:
        meta["band_bins"] = hist.bins
        meta["band_values_clipped"] = int(hist.clipped.sum())
    return EnsembleResult(scn, seed, engine, months, _summary_frame(names, ids, values),
                          band_frame, traj_frame, meta)


def _summary_frame(names: list[str], run_ids: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(values, columns=names, copy=False)
    df.insert(0, "run", run_ids)
    return df


def _run_summary_job(scn: Scenario, seed: int, ids: np.ndarray, engine: str, months: int,
                     keep_runs: Iterable[int] | None, progress: bool, chunk_size: int | None,
                     backend: str | None, scheduler: Any, workers: int | None,
                     out: str | Path | None, resume: bool) -> EnsembleResult:
    """``run_ensemble`` on Dask or durably: the summary only, chunk by chunk."""
    if keep_runs is not None and len(list(keep_runs)):
        raise ValueError("keep_runs needs the local backend without out (trajectories are "
                         "not shipped from workers nor stored in parts)")
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    start = time.perf_counter()
    job = Job.ensemble(scn, ids, seed, months=months, engine=engine, chunk_size=chunk_size)
    rows = run_job(job, backend=backend, scheduler=scheduler, workers=workers, out=out,
                   resume=resume, progress=progress)
    summary = rows.drop(columns="point")
    meta = {"backend": "dask" if backend != "local" and (
                backend == "dask" or scheduler is not None or workers is not None) else "local",
            "chunk_size": int(chunk_size), "bands": None,
            "seconds": round(time.perf_counter() - start, 4)}
    if workers is not None:
        meta["workers"] = int(workers)
    if isinstance(scheduler, str):
        meta["scheduler"] = scheduler
    if out is not None:
        meta["chunks_folder"] = str(out)
    return EnsembleResult(scn, seed, engine, months, summary, None, None, meta)
