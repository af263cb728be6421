"""The Numba engine: the same rules looped over months and runs in one compiled kernel.

``run_kernel`` steps every run named in ``run_ids`` (in parallel over runs) and writes each
run's raw outcome row; when ``traj`` has one slot per run it also records the monthly figures.
A run's numbers depend only on (scenario, seed, run index): every draw is keyed by them (see
:mod:`sim.core.rng`), so chunking, thread count and order do not matter.

Runs are handed to threads in blocks of :data:`BLOCK` runs. A block allocates the arrays of a run
once and re-initialises them for each of its runs (every array is fully rewritten by
:func:`reset_run` and :func:`sim.core.rules.init_state`, so nothing leaks from one run to the next).
"""

from __future__ import annotations

import numba
import numpy as np

from sim.core.jit import njit, rule_njit
from sim.core.month import step_month
from sim.core.outcomes import record_month, summarize
from sim.core.rules import DrawKey, Params, copy_into, init_state, new_decisions, new_state

#: Runs per parallel work item; each item allocates one run's arrays once.
BLOCK = 16
#: Work items a thread takes at a time (``numba.set_parallel_chunksize``, set by the caller:
#: set inside the kernel it would stop Numba from caching it). Small grabs balance the load when
#: another process holds a core for a while; a static split leaves one thread waiting.
GRAB = 2


@rule_njit
def reset_run(p0, p, d):
    """Restore a run's copy of the parameters and clear its decisions and scratch.

    Events may have changed the parameters during the block's previous run; after this call the
    block's arrays serve its next run as if they were new.
    """
    for i in range(p0.W.shape[0]):
        p.W[i] = p0.W[i]
    copy_into(p.AP, p0.AP)
    copy_into(p.CP, p0.CP)
    copy_into(p.RP, p0.RP)
    copy_into(p.TP, p0.TP)
    copy_into(p.CAP, p0.CAP)
    copy_into(p.DEM, p0.DEM)
    d.DR[:] = 0.0
    d.DS[:, :] = 0.0
    d.DA[:, :] = 0.0
    d.DT[:, :] = 0.0
    d.SCR[:, :] = 0.0


@rule_njit
def simulate_run(seed, run, months, p0, p, s, d, key_pairs, spairs, out_row, traj_run, record):
    """One whole run in the given arrays: initial state, ``months`` months, the summary row.

    ``p0`` holds the scenario's parameters, ``p`` the run's copy (events change it). With
    ``record`` the monthly figures go to ``traj_run`` ((months + 1) x figures).
    """
    reset_run(p0, p, d)
    init_state(p, s)
    if record:
        record_month(traj_run[0], s, spairs, key_pairs)
    for month in range(1, months + 1):
        step_month(DrawKey(seed, run, month), p, s, d)
        if record:
            record_month(traj_run[month], s, spairs, key_pairs)
    summarize(out_row, p, s, key_pairs)


@njit(parallel=True)
def run_kernel(seed, run_ids, months, p0, key_pairs, spairs, out, traj):
    """Step runs ``run_ids`` for ``months`` months of the scenario whose parameters are ``p0``.

    ``p0`` is a :class:`sim.core.rules.Params` of the compiled scenario (read-only). Outcome rows
    go to ``out`` (len(run_ids) x k), monthly figures to ``traj`` (len(run_ids) x (months + 1) x
    m) when it has one slot per run (pass an empty array otherwise).
    """
    n = p0.AP.shape[0]
    nc = p0.CP.shape[0]
    nr = p0.RP.shape[0]
    nt = p0.TP.shape[0]
    nruns = run_ids.shape[0]
    record = traj.shape[0] == nruns
    nblocks = (nruns + BLOCK - 1) // BLOCK
    for b in numba.prange(nblocks):
        # The block's own copy of what events change; the rest is shared and read-only.
        p = Params(np.empty_like(p0.W), np.empty_like(p0.AP), np.empty_like(p0.CP),
                   np.empty_like(p0.RP), np.empty_like(p0.TP), np.empty_like(p0.CAP),
                   np.empty_like(p0.DEM), p0.TM, p0.AFF0, p0.SANC0, p0.TRADE0, p0.EV)
        s = new_state(n, nc, nr, nt)
        d = new_decisions(n, nr, nt)
        dummy = np.zeros((months + 1, 1))
        stop = min(nruns, (b + 1) * BLOCK)
        for k in range(b * BLOCK, stop):
            traj_run = traj[k] if record else dummy
            simulate_run(seed, run_ids[k], months, p0, p, s, d, key_pairs, spairs, out[k],
                         traj_run, record)
