"""The ensemble engine: chunks of Monte Carlo runs of one scenario, with either engine.

Run ``r`` depends only on (scenario, seed, r): the Numba engine computes runs in chunks, in
parallel, in any order, and gives the same numbers as the Mesa engine run by run.
:func:`run_chunk` is the one runner of a chunk of runs (outcomes, and monthly trajectories when
asked), a function of plain arguments, so a job can ship it to another process or machine;
:func:`compute_chunk` is its Numba path, :func:`numba_summary` and :func:`mesa_summary` give
summary rows. Many runs as a job (local or Dask, durable, bands, kept runs) are
:func:`sim.jobs.ensemble.run_ensemble`; the result folder is :mod:`sim.results.ensemble`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from sim.core.outcomes import monthly_names, n_outcomes, outcome_layout, sanction_pairs
from sim.scenario import CompiledScenario, Scenario

Engine = Literal["numba", "mesa"]

#: Runs per chunk of the Numba engine when only summaries are kept (memory of a chunk: 8 bytes x
#: raw outcome columns x runs, under 10 MB).
DEFAULT_CHUNK = 16384
#: Runs per chunk when monthly bands are computed (a chunk's trajectories: about 16 kB a run for
#: the baseline, 33 MB for 2,048 runs).
BAND_CHUNK = 2048


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


def _no_edits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.zeros((0, 3), dtype=np.int64), np.zeros((1, 0)), np.zeros(0, dtype=np.int64))


def raw_outcomes(cs: CompiledScenario, seed: int, run_ids: np.ndarray, months: int,
                 item_points: np.ndarray | None = None, cells: np.ndarray | None = None,
                 point_values: np.ndarray | None = None, record: bool = False
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw outcome rows (and monthly figures) of items of ``cs`` from one call of the kernel.

    Item ``k`` is run ``run_ids[k]`` of point ``item_points[k]``, the base scenario ``cs`` with
    the point's ``point_values`` set in ``cells`` (see :func:`sim.core.kernel.apply_edits`);
    without them every item is a run of ``cs`` itself. Parallel over the current threads.

    Returns:
        ``(raw, trajectories)``: raw rows in the order of every declared outcome
        (:func:`sim.core.outcomes.n_outcomes` columns), and ``items x (months + 1) x figures``
        if ``record`` (else None).
    """
    from sim.core.kernel import run_kernel
    from sim.core.rules import params_of

    run_ids = np.ascontiguousarray(run_ids, dtype=np.int64)
    if cells is None:
        cells, point_values, item_points = _no_edits()
    else:
        cells = np.ascontiguousarray(cells, dtype=np.int64).reshape(-1, 3)
        point_values = np.ascontiguousarray(point_values, dtype=np.float64)
        item_points = np.ascontiguousarray(item_points, dtype=np.int64)
    raw = np.empty((run_ids.size, n_outcomes(cs)))
    if record:
        sp = sanction_pairs(cs)
        traj = np.empty((run_ids.size, months + 1, len(monthly_names(cs, sp))))
    else:
        sp = np.zeros((0, 2), dtype=np.int64)
        traj = np.zeros((0, 0, 0))
    # As uint64: the kernel compiled for one seed type must take every seed in [0, 2**64).
    run_kernel(np.uint64(seed), run_ids, item_points, months, params_of(cs), cells,
               point_values, _key_pairs(cs), sp, raw, traj)
    return raw, (traj if record else None)


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
    cs = _compiled(scn)
    run_ids = np.ascontiguousarray(run_ids, dtype=np.int64)
    _, idx = outcome_layout(cs)
    raw, traj = raw_outcomes(cs, seed, run_ids, months, record=record)
    return Chunk(run_ids, raw[:, idx], traj)


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


def run_chunk(scn: Scenario, seed: int, run_ids: np.ndarray, months: int | None = None,
              engine: Engine = "numba", record: bool = False) -> Chunk:
    """The one runner of a chunk of runs: their outcomes and, if ``record``, trajectories.

    Everything that needs runs' monthly figures (ensemble bands and kept runs, the monthly
    trajectories of :mod:`analysis.monthly`, the stylised facts' event studies, the classroom's
    futures) and every job's chunk (:func:`sim.jobs.job.compute_chunk`) comes through here.

    Args:
        scn: the scenario.
        seed: the seed of every draw (a valid key, see :func:`sim.core.rng.seed_key`).
        run_ids: int64 run indices (checked by the caller, see :func:`sim.jobs.job.as_run_ids`).
        months: months per run (default: the scenario's horizon).
        engine: ``"numba"`` (the compiled kernel, parallel over runs) or ``"mesa"`` (one Mesa
            model per run); both give the same numbers.
        record: also return every run's monthly figures, ``runs x (months + 1) x figures`` in
            the order of :func:`sim.core.outcomes.monthly_names`.

    Returns:
        A :class:`Chunk`: outcomes in the columns of :func:`sim.core.outcomes.outcome_layout`.
    """
    run_ids = np.ascontiguousarray(run_ids, dtype=np.int64)
    months = scn.horizon if months is None else int(months)
    if engine == "numba":
        return compute_chunk(scn, seed, run_ids, months, record)
    if engine == "mesa":
        return _mesa_chunk(scn, seed, run_ids, months, record)
    raise ValueError(f"engine must be 'numba' or 'mesa', got {engine!r}")


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


