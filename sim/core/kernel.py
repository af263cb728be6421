"""The Numba engine: the same rules looped over months and runs in one compiled kernel.

``run_kernel`` steps *items*, each a run of a design point, in parallel, and writes each item's
raw outcome row; when ``traj`` has one slot per item it also records the monthly figures. An
ensemble is a design of one point with no edits; a sweep, a sensitivity design or a policy
comparison is many points of one base scenario, each a set of parameter *cells* it sets (see
:func:`apply_edits`), all in one call. Item ``k`` is run ``run_ids[k]`` of point
``item_points[k]``; its numbers depend only on (scenario, the point's cell values, seed, run
index): every draw is keyed by (seed, run, month, ...) (see :mod:`sim.core.rng`), so batching,
chunking, thread count and order do not matter.

Threads take :data:`GRAB` items at a time. They allocate the arrays of a run once and
re-initialise them for each item (every array is fully rewritten by
:func:`reset_run`, :func:`apply_edits` and :func:`sim.core.rules.init_state`, so nothing leaks
from one item to the next).
"""

from __future__ import annotations

import itertools
import threading

import numba
import numpy as np

from sim.core.jit import njit, rule_njit
from sim.core.month import step_month
from sim.core.outcomes import record_month, summarize
from sim.core.rules import (
    DrawKey,
    Params,
    copy_into,
    init_state,
    new_decisions,
    new_state,
    set_parameter,
)

#: Items (runs) a thread takes at a time; it allocates one run's arrays once for them. Small
#: enough to balance the load when another process holds a core for a while (a static split
#: leaves one thread waiting); large enough that taking them (a call from Python, some 20 us)
#: costs about 1% of stepping them.
GRAB = 64

#: Tables of the cells a design point may set beyond those events set (``EV_WORLD`` to
#: ``EV_DEMAND`` of :mod:`sim.core.layout`): the starting relations. A relation's affinity is two
#: cells, (a, b) and (b, a).
EDIT_AFFINITY = 100
EDIT_SANCTION = 101
EDIT_TRADE = 102


@njit
def run_params(p0):
    """A run's own copy of the parameters a run may change (events, a design point's edits).

    The one place that lists :class:`sim.core.rules.Params` field by field for the kernel, with
    :func:`reset_run` beside it: a new field is added in these two functions. The track
    membership ``TM`` and the events ``EV`` are shared with ``p0`` (nothing writes them).
    """
    return Params(np.empty_like(p0.W), np.empty_like(p0.AP), np.empty_like(p0.CP),
                  np.empty_like(p0.RP), np.empty_like(p0.TP), np.empty_like(p0.CAP),
                  np.empty_like(p0.DEM), p0.TM, np.empty_like(p0.AFF0),
                  np.empty_like(p0.SANC0), np.empty_like(p0.TRADE0), p0.EV, p0.BUILT0, p0.BK)


@rule_njit
def reset_run(p0, p, d):
    """Restore a run's copy of the parameters (:func:`run_params`); clear decisions and scratch.

    Events and edits may have changed the parameters during the previous item; after
    this call the arrays serve the next item as if they were new.
    """
    for i in range(p0.W.shape[0]):
        p.W[i] = p0.W[i]
    copy_into(p.AP, p0.AP)
    copy_into(p.CP, p0.CP)
    copy_into(p.RP, p0.RP)
    copy_into(p.TP, p0.TP)
    copy_into(p.CAP, p0.CAP)
    copy_into(p.DEM, p0.DEM)
    copy_into(p.AFF0, p0.AFF0)
    copy_into(p.SANC0, p0.SANC0)
    copy_into(p.TRADE0, p0.TRADE0)
    d.DR[:] = 0.0
    d.DS[:, :] = 0.0
    d.DA[:, :] = 0.0
    d.DT[:, :] = 0.0
    d.SCR[:, :] = 0.0


@rule_njit
def apply_edits(p, cells, values):
    """Set a design point's parameter cells in a run's copy ``p`` (before the initial state).

    ``cells`` rows are (table, row, column): the tables of the scheduled events
    (:mod:`sim.core.layout` ``EV_*``) or :data:`EDIT_AFFINITY`, :data:`EDIT_SANCTION`,
    :data:`EDIT_TRADE`; ``values[k]`` is the value of cell ``k``. The same numbers as compiling
    the scenario with those values: compiling copies each field into its cell.
    """
    for k in range(cells.shape[0]):
        table = cells[k, 0]
        row = cells[k, 1]
        col = cells[k, 2]
        value = values[k]
        if table == EDIT_AFFINITY:
            p.AFF0[row, col] = value
        elif table == EDIT_SANCTION:
            p.SANC0[row, col] = value
        elif table == EDIT_TRADE:
            p.TRADE0[row, col] = value
        else:
            set_parameter(p, table, row, col, value)


@rule_njit(inline="always")
def simulate_run(seed, run, months, p0, p, s, d, cells, values, key_pairs, spairs, out_row,
                 traj_run, record):
    """One whole run in the given arrays: initial state, ``months`` months, the summary row.

    ``p0`` holds the base scenario's parameters, ``p`` the run's copy (the point's ``values``
    of ``cells`` are set in it, then events change it). With ``record`` the monthly figures go
    to ``traj_run`` ((months + 1) x figures). Inlined into :func:`run_items` in Numba's IR: a
    function of its own would be optimised and compiled to machine code once more with every
    rule it calls (Numba links and optimises each function's callees into it), some 15% of
    the kernel's compilation.
    """
    reset_run(p0, p, d)
    apply_edits(p, cells, values)
    init_state(p, s)
    if record:
        record_month(traj_run[0], s, spairs, key_pairs)
    for month in range(1, months + 1):
        step_month(DrawKey(seed, run, month), p, s, d)
        if record:
            record_month(traj_run[month], s, spairs, key_pairs)
    summarize(out_row, p, s, key_pairs)


@njit(nogil=True)
def run_items(seed, run_ids, item_points, months, p0, cells, point_values, key_pairs, spairs,
              out, traj, start, stop):
    """Step items ``start`` to ``stop`` (exclusive) of :func:`run_kernel` in one set of arrays.

    Compiled without the GIL: :func:`run_kernel` runs it on several threads at once, each on
    its own range of items.
    """
    n = p0.AP.shape[0]
    nc = p0.CP.shape[0]
    nr = p0.RP.shape[0]
    nt = p0.TP.shape[0]
    nitems = run_ids.shape[0]
    record = traj.shape[0] == nitems
    by_point = item_points.shape[0] == nitems
    # The items' own copy of what runs change; the rest is shared and read-only.
    p = run_params(p0)
    s = new_state(n, nc, nr, nt)
    d = new_decisions(n, nr, nt)
    dummy = np.zeros((months + 1, 1))
    for k in range(start, stop):
        traj_run = traj[k] if record else dummy
        point = item_points[k] if by_point else 0
        simulate_run(seed, run_ids[k], months, p0, p, s, d, cells, point_values[point],
                     key_pairs, spairs, out[k], traj_run, record)


def run_kernel(seed, run_ids, item_points, months, p0, cells, point_values, key_pairs, spairs,
               out, traj, threads=None):
    """Step items (point, run) for ``months`` months of the base scenario of parameters ``p0``.

    Item ``k`` is run ``run_ids[k]`` of point ``item_points[k]``. ``threads`` Python threads
    (default: ``numba.get_num_threads()``) take :data:`GRAB` items at a time and step them in
    :func:`run_items`, compiled without the GIL. (A ``prange`` loop would do the same, but
    Numba's parallel lowering compiles the whole model twice more: it took about 40% of the
    kernel's compilation.)

    Args:
        seed: the seed as ``np.uint64``.
        run_ids: int64, the run of each item.
        item_points: int64, the point of each item (a row of ``point_values``); empty: every
            item is of point 0.
        months: months per run.
        p0: a :class:`sim.core.rules.Params` of the compiled base scenario (read-only).
        cells: int64 (K x 3), the cells a point sets (see :func:`apply_edits`); (0 x 3) for
            none.
        point_values: float64 (points x K), each point's value of each cell.
        key_pairs: actor pairs of the outcomes.
        spairs: sender-target pairs of the monthly sanction figures.
        out: outcome rows (items x raw outcomes).
        traj: monthly figures (items x (months + 1) x figures) when it has one slot per item
            (pass an empty array otherwise).
        threads: threads to use (default: Numba's current thread count).
    """
    args = (seed, run_ids, item_points, months, p0, cells, point_values, key_pairs, spairs,
            out, traj)
    nitems = run_ids.shape[0]
    step = GRAB
    nwork = (nitems + step - 1) // step
    threads = numba.get_num_threads() if threads is None else int(threads)
    threads = max(1, min(threads, nwork))
    if threads == 1:
        if nitems:
            run_items(*args, 0, nitems)
        return
    grabs = itertools.count()  # next() is atomic under the GIL: each work item is taken once
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for w in iter(grabs.__next__, None):
                if w >= nwork or errors:
                    return
                run_items(*args, w * step, min(nitems, (w + 1) * step))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, name=f"diplosim-kernel-{t}", daemon=True)
            for t in range(threads - 1)]
    for t in pool:
        t.start()
    worker()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
