"""Ensembles: many Monte Carlo runs of one scenario, with either engine.

``run_ensemble`` is the one entry point. Run ``r`` of an ensemble depends only on
(scenario, seed, r): the Numba engine computes runs in chunks, in parallel, in any order, and gives
the same numbers as the Mesa engine run by run. :func:`compute_chunk` is the unit of work (a
picklable function of plain arguments, so a backend can ship it to another process or machine).

Memory: the summary keeps one row per run (8 bytes x outcome columns, 440 bytes a run for the
baseline); the monthly bands are exact up to :data:`sim.results.bands.EXACT_BANDS_MAX_RUNS` runs and a
fixed-size histogram beyond it; only the trajectories of ``keep_runs`` are kept in full.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.results.bands import EXACT_BANDS_MAX_RUNS, HistogramBands, exact_bands, figure_ranges
from sim.core.outcomes import monthly_names, n_outcomes, outcome_layout, sanction_pairs
from sim.core.rng import seed_key
from sim.scenario import CompiledScenario, Scenario, load_scenario
from sim.results.table import outcome_table

Engine = Literal["numba", "mesa"]

#: Runs per chunk of the Numba engine when only summaries are kept (memory of a chunk: 8 bytes x
#: raw outcome columns x runs, under 10 MB).
DEFAULT_CHUNK = 16384
#: Runs per chunk when monthly bands are computed (a chunk's trajectories: about 16 kB a run for
#: the baseline, 33 MB for 2,048 runs).
BAND_CHUNK = 2048
#: A progress bar appears once an ensemble has run this long (seconds), if ``progress``.
PROGRESS_DELAY = 1.0

RESULT_FILES = {"summary": "summary.parquet", "bands": "bands.parquet",
                "trajectories": "trajectories.parquet", "scenario": "scenario.toml",
                "manifest": "manifest.json"}


def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _run_ids(runs: int | range | Iterable[int] | np.ndarray) -> np.ndarray:
    if isinstance(runs, (int, np.integer)) and not isinstance(runs, bool):
        if runs < 1:
            raise ValueError(f"runs must be at least 1, got {runs}")
        return np.arange(int(runs), dtype=np.int64)
    if isinstance(runs, bool):
        raise TypeError("runs must be a count or a sequence of run indices, not a bool")
    ids = np.asarray(list(runs) if not isinstance(runs, np.ndarray) else runs)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError("runs must be a positive count or a non-empty sequence of run indices")
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"run indices must be integers, got {ids.dtype}")
    ids = ids.astype(np.int64)
    if (ids < 0).any() or (ids >= 2**32).any():
        raise ValueError("run indices must be in [0, 2**32)")
    return ids


def _compiled(scn: Scenario | CompiledScenario) -> CompiledScenario:
    return scn if isinstance(scn, CompiledScenario) else scn.compile()


def _key_pairs(cs: CompiledScenario) -> np.ndarray:
    return np.array(cs.key_pairs, dtype=np.int64).reshape(-1, 2)


@dataclass
class Chunk:
    """What :func:`compute_chunk` returns for runs ``run_ids``.

    Attributes:
        run_ids: the runs, in the order of the rows.
        outcomes: one row per run, the columns of :func:`sim.core.outcomes.outcome_layout`.
        trajectories: ``runs x (months + 1) x figures`` monthly figures, if asked for.
    """

    run_ids: np.ndarray
    outcomes: np.ndarray
    trajectories: np.ndarray | None = None


def compute_chunk(scn: Scenario | CompiledScenario, seed: int, run_ids: np.ndarray,
                  months: int, record: bool = False) -> Chunk:
    """Runs ``run_ids`` of ``scn`` with the Numba kernel, in parallel over the current threads.

    Args:
        scn: the scenario (or its compiled arrays).
        seed: the ensemble's seed (a valid key, see :func:`sim.core.rng.seed_key`).
        run_ids: int64 run indices.
        months: months per run.
        record: also return every run's monthly figures.
    """
    from sim.core.kernel import GRAB, run_kernel
    from sim.core.rules import params_of

    cs = _compiled(scn)
    run_ids = np.ascontiguousarray(run_ids, dtype=np.int64)
    kp = _key_pairs(cs)
    sp = sanction_pairs(cs)
    _, idx = outcome_layout(cs)
    raw = np.empty((run_ids.size, n_outcomes(cs)))
    if record:
        traj = np.empty((run_ids.size, months + 1, len(monthly_names(cs, sp))))
    else:
        traj = np.zeros((0, 0, 0))
    import numba

    before = numba.set_parallel_chunksize(GRAB)
    try:
        # As uint64: the kernel compiled for one seed type must take every seed in [0, 2**64).
        run_kernel(np.uint64(seed), run_ids, months, params_of(cs), kp, sp, raw, traj)
    finally:
        numba.set_parallel_chunksize(before)
    return Chunk(run_ids, raw[:, idx], traj if record else None)


def _summary_frame(names: list[str], run_ids: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(values, columns=names, copy=False)
    df.insert(0, "run", run_ids)
    return df


def numba_summary(scn: Scenario, seed: int, run_ids: np.ndarray, months: int | None = None,
                  chunk_size: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Summary rows of runs ``run_ids`` from the Numba kernel, in the order given."""
    cs = scn.compile()
    months = cs.horizon if months is None else int(months)
    run_ids = np.asarray(run_ids, dtype=np.int64)
    names, _ = outcome_layout(cs)
    values = np.empty((run_ids.size, len(names)))
    for start in range(0, run_ids.size, chunk_size):
        stop = min(run_ids.size, start + chunk_size)
        values[start:stop] = compute_chunk(cs, seed, run_ids[start:stop], months).outcomes
    return _summary_frame(names, run_ids, values)


def _mesa_run(scn: Scenario, seed: int, run: int, months: int, record: bool):
    from sim.engines.model import DiplomacyModel

    model = DiplomacyModel(scn, seed=seed, run=int(run)).run(months)
    traj = None
    if record:
        traj = model.monthly()[model.monthly_columns].to_numpy(dtype=float)
    return model.outcomes(), traj


def mesa_summary(scn: Scenario, seed: int, run_ids: np.ndarray,
                 months: int | None = None) -> pd.DataFrame:
    """Summary rows of runs ``run_ids`` from the Mesa engine (one model per run)."""
    months = scn.horizon if months is None else int(months)
    rows = []
    for r in run_ids:
        outcomes, _ = _mesa_run(scn, seed, int(r), months, False)
        rows.append({"run": int(r), **outcomes})
    return pd.DataFrame(rows)


def _mesa_chunk(scn: Scenario, seed: int, run_ids: np.ndarray, months: int,
                record: bool) -> Chunk:
    names, _ = outcome_layout(scn.compile())
    values = np.empty((run_ids.size, len(names)))
    trajs = []
    for k, r in enumerate(run_ids):
        outcomes, traj = _mesa_run(scn, seed, int(r), months, record)
        values[k] = [outcomes[n] for n in names]
        trajs.append(traj)
    return Chunk(run_ids, values, np.stack(trajs) if record else None)


@contextmanager
def numba_threads(threads: int | None) -> Iterator[int]:
    """Run the enclosed code on ``threads`` Numba threads (all by default), then restore."""
    import numba

    before = numba.get_num_threads()
    if threads is None:
        yield before
        return
    limit = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not (
            1 <= threads <= limit):
        raise ValueError(f"threads must be an integer in [1, {limit}], got {threads!r}")
    numba.set_num_threads(int(threads))
    try:
        yield int(threads)
    finally:
        numba.set_num_threads(before)


@dataclass
class EnsembleResult:
    """The runs of an ensemble.

    Attributes:
        scenario: the scenario the runs were made of (policies and overrides folded in).
        seed: the seed of every draw.
        engine: ``"numba"`` or ``"mesa"``.
        months: months per run.
        summary: one row per run, column ``run`` first, then every outcome of
            :func:`sim.core.outcomes.outcome_layout`.
        bands: per month and monthly figure, quantiles q05..q95, the mean, the error bound of
            the quantiles and the count of values outside the histogram range (see
            :mod:`sim.results.bands`); None if not asked for.
        trajectories: full monthly figures of the runs in ``keep_runs``: columns ``run``,
            ``month`` and one per figure; None if none kept.
        meta: how it was computed (threads, chunk size, band method, seconds).
    """

    scenario: Scenario
    seed: int
    engine: str
    months: int
    summary: pd.DataFrame
    bands: pd.DataFrame | None = None
    trajectories: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return len(self.summary)

    def trajectory(self, run: int) -> pd.DataFrame:
        """Monthly figures of one kept run (one row per month from 0)."""
        if self.trajectories is None or run not in set(self.trajectories["run"]):
            raise KeyError(f"run {run} was not kept (pass keep_runs=[{run}] to run_ensemble)")
        t = self.trajectories
        return t[t["run"] == run].drop(columns="run").reset_index(drop=True)

    def outcome_table(self, confidence: float = 0.95) -> pd.DataFrame:
        """Each outcome's probability or mean with a confidence interval.

        The one outcome table of :func:`sim.results.table.outcome_table`: what ``diplosim run``
        prints, the report and the classroom app show.
        """
        return outcome_table(self.summary, self.scenario, confidence)

    def save(self, out: str | Path) -> list[Path]:
        """Write the result into folder ``out``: Parquet tables, the scenario and a manifest.

        Every file is written atomically (a reader never sees half a file); the manifest, written
        last, names the files, the scenario's content hash, seed, runs, engine and versions.
        """
        from sim.results.provenance import (
            manifest,
            write_bytes_atomic,
            write_json_atomic,
            write_parquet_atomic,
        )

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [write_parquet_atomic(self.summary, out / RESULT_FILES["summary"])]
        if self.bands is not None:
            paths.append(write_parquet_atomic(self.bands, out / RESULT_FILES["bands"]))
        if self.trajectories is not None:
            paths.append(write_parquet_atomic(self.trajectories,
                                              out / RESULT_FILES["trajectories"]))
        paths.append(write_bytes_atomic(out / RESULT_FILES["scenario"],
                                        self.scenario.to_toml().encode()))
        scn = self.scenario
        paths.append(write_json_atomic(out / RESULT_FILES["manifest"], manifest(
            kind="ensemble", scenario=scn.name, scenario_source=scn.source,
            scenario_hash=scn.content_hash(), policies=list(scn.policies), seed=self.seed,
            runs=self.runs, months=self.months, engine=self.engine,
            files=[p.name for p in paths], meta=_jsonable(self.meta),
        )))
        return paths


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def load_results(folder: str | Path) -> EnsembleResult:
    """Read an ensemble written by :meth:`EnsembleResult.save`.

    Raises:
        FileNotFoundError: if the folder or its manifest is missing.
        ValueError: if the files do not match the manifest (another scenario, other run count).
    """
    folder = Path(folder)
    mpath = folder / RESULT_FILES["manifest"]
    if not mpath.is_file():
        raise FileNotFoundError(f"{folder}: no {RESULT_FILES['manifest']} (not a saved ensemble)")
    man = json.loads(mpath.read_text(encoding="utf-8"))
    if man.get("kind") != "ensemble":
        raise ValueError(f"{mpath}: kind {man.get('kind')!r}, expected 'ensemble'")
    scn = load_scenario(folder / RESULT_FILES["scenario"])
    scn = Scenario(man["scenario"], man.get("scenario_source", scn.source), scn.spec, scn.raw,
                   tuple(man.get("policies", ())))
    if scn.content_hash() != man["scenario_hash"]:
        raise ValueError(f"{folder}: scenario.toml does not match the manifest's scenario_hash")
    summary = pd.read_parquet(folder / RESULT_FILES["summary"])
    if len(summary) != man["runs"]:
        raise ValueError(f"{folder}: summary has {len(summary)} runs, manifest says {man['runs']}")
    files = set(man.get("files", []))

    def optional(key: str) -> pd.DataFrame | None:
        name = RESULT_FILES[key]
        return pd.read_parquet(folder / name) if name in files else None

    return EnsembleResult(scn, int(man["seed"]), man["engine"], int(man["months"]), summary,
                          optional("bands"), optional("trajectories"), man.get("meta", {}))


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
        runs: a count (runs 0..runs-1) or explicit run indices.
        seed: seed of every draw (0 is a seed like any other).
        engine: ``"numba"`` (compiled, parallel) or ``"mesa"`` (one Mesa model per run); both
            give the same numbers.
        months: months per run (default: the scenario's horizon).
        threads: Numba threads to use (default: all); restored afterwards. The Mesa engine
            runs on one thread and ignores it.
        keep_runs: runs whose full monthly trajectories to keep (they must be among ``runs``).
        progress: show a progress bar (on stderr) once the ensemble has run for a second.
        chunk_size: runs per chunk (default :data:`DEFAULT_CHUNK`, or :data:`BAND_CHUNK` with
            bands); bounds memory, never changes a result.
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

    On the Dask backend or with ``out``, runs go through :func:`sim.jobs.backends.run_job` (chunks
    of ``chunk_size`` runs, default :data:`sim.jobs.backends.DEFAULT_CHUNK_SIZE`) and only the
    summary is computed: no bands, and ``keep_runs`` is refused (trajectories are not shipped
    back from workers nor stored in parts). The summary is the same, row for row.
    """
    scn = _as_scenario(scenario)
    seed = seed_key(seed)
    ids = _run_ids(runs)
    months = scn.horizon if months is None else int(months)
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if engine not in ("numba", "mesa"):
        raise ValueError(f"engine must be 'numba' or 'mesa', got {engine!r}")
    if (backend == "dask" or scheduler is not None or workers is not None or out is not None
            or resume):
        return _run_on_backend(scn, seed, ids, engine, months, keep_runs, progress, chunk_size,
                               backend, scheduler, workers, out, resume)
    if chunk_size is None:
        chunk_size = BAND_CHUNK if bands else DEFAULT_CHUNK
    if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    keep_list = [] if keep_runs is None else list(keep_runs)
    keep = _run_ids(keep_list) if keep_list else None
    if keep is not None:
        missing = np.setdiff1d(keep, ids)
        if missing.size:
            raise ValueError(f"keep_runs {missing[:5].tolist()} are not runs of this ensemble")
    cs = scn.compile()
    names, _ = outcome_layout(cs)
    fig_names = monthly_names(cs, sanction_pairs(cs))
    exact = ids.size <= EXACT_BANDS_MAX_RUNS
    values = np.empty((ids.size, len(names)))
    traj_all = np.empty((ids.size, months + 1, len(fig_names))) if bands and exact else None
    hist = None
    if bands and not exact:
        lo, hi = figure_ranges(cs, fig_names)
        hist = HistogramBands(fig_names, months, lo, hi)

    def chunk(run_ids: np.ndarray, record: bool) -> Chunk:
        if engine == "numba":
            return compute_chunk(cs, seed, run_ids, months, record)
        return _mesa_chunk(scn, seed, run_ids, months, record)

    start = time.perf_counter()
    with numba_threads(threads if engine == "numba" else None) as used, \
            _progress(ids.size, engine, progress) as bar:
        step = chunk_size if engine == "numba" else 1
        for a in range(0, ids.size, step):
            b = min(ids.size, a + step)
            c = chunk(ids[a:b], bands)
            values[a:b] = c.outcomes
            if traj_all is not None:
                traj_all[a:b] = c.trajectories
            elif hist is not None:
                hist.add(c.trajectories)
            bar.update(b - a)
        kept = chunk(keep, True) if keep is not None else None
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
            "chunk_size": chunk_size if engine == "numba" else 1,
            "bands": None if not bands else ("exact" if exact else "histogram"),
            "seconds": round(seconds, 4)}
    if hist is not None:
        meta["band_bins"] = hist.bins
        meta["band_values_clipped"] = int(hist.clipped.sum())
    return EnsembleResult(scn, seed, engine, months, _summary_frame(names, ids, values),
                          band_frame, traj_frame, meta)


def _run_on_backend(scn: Scenario, seed: int, ids: np.ndarray, engine: str, months: int,
                    keep_runs: Iterable[int] | None, progress: bool, chunk_size: int | None,
                    backend: str | None, scheduler: Any, workers: int | None,
                    out: str | Path | None, resume: bool) -> EnsembleResult:
    """``run_ensemble`` through :mod:`sim.jobs.backends`: summary only, chunk by chunk."""
    from sim.jobs.backends import DEFAULT_CHUNK_SIZE, run_durable

    if keep_runs is not None and len(list(keep_runs)):
        raise ValueError("keep_runs needs the local backend without out (trajectories are "
                         "not shipped from workers nor stored in parts)")
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    start = time.perf_counter()
    summary = run_durable(scn, ids, seed, months=months, engine=engine, chunk_size=chunk_size,
                          backend=backend, scheduler=scheduler, workers=workers, out=out,
                          resume=resume, progress=progress)
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

