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

from sim.core import layout as L
from sim.core.jit import njit, rule_njit
from sim.core.outcomes import record_month, summarize
from sim.core.rules import copy_into, init_state, step_month

#: Runs per parallel work item; each item allocates one run's arrays once.
BLOCK = 16
#: Work items a thread takes at a time (``numba.set_parallel_chunksize``, set by the caller:
#: set inside the kernel it would stop Numba from caching it). Small grabs balance the load when
#: another process holds a core for a while; a static split leaves one thread waiting.
GRAB = 2


@rule_njit
def reset_run(W0, AP0, CP0, RP0, TP0, CAP0, DEM0, W, AP, CP, RP, TP, CAP, DEM, DR, DS, DA, DT,
              SCR):
    """Restore a run's copy of the parameters and clear its decisions and scratch.

    Events may have changed the parameters during the block's previous run; after this call the
    block's arrays serve its next run as if they were new.
    """
    for i in range(W0.shape[0]):
        W[i] = W0[i]
    copy_into(AP, AP0)
    copy_into(CP, CP0)
    copy_into(RP, RP0)
    copy_into(TP, TP0)
    copy_into(CAP, CAP0)
    copy_into(DEM, DEM0)
    DR[:] = 0.0
    DS[:, :] = 0.0
    DA[:, :] = 0.0
    DT[:, :] = 0.0
    SCR[:, :] = 0.0


@rule_njit
def simulate_run(seed, run, months, W0, AP0, CP0, RP0, TP0, TM, CAP0, DEM0, AFF0, SANC0, TRADE0,
                 EV, key_pairs, spairs, W, AP, CP, RP, TP, CAP, DEM, SA, AFF, SANC, TRADE, BUILT,
                 RS, TS, TPRE, G, DR, DS, DA, DT, SCR, out_row, traj_run, record):
    """One whole run in the given arrays: initial state, ``months`` months, the summary row.

    With ``record`` the monthly figures go to ``traj_run`` ((months + 1) x figures).
    """
    reset_run(W0, AP0, CP0, RP0, TP0, CAP0, DEM0, W, AP, CP, RP, TP, CAP, DEM, DR, DS, DA, DT, SCR)
    init_state(W, AP, TP, AFF0, SANC0, TRADE0, SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G)
    if record:
        record_month(traj_run[0], SA, SANC, AFF, RS, TS, G, spairs, key_pairs)
    for month in range(1, months + 1):
        step_month(seed, run, month, W, AP, CP, RP, TP, TM, CAP, DEM, AFF0, SANC0, TRADE0,
                   EV, SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G, DR, DS, DA, DT, SCR)
        if record:
            record_month(traj_run[month], SA, SANC, AFF, RS, TS, G, spairs, key_pairs)
    summarize(out_row, AP, CP, RP, TP, SA, AFF, BUILT, RS, TS, G, key_pairs)


@njit(parallel=True)
def run_kernel(seed, run_ids, months, W0, AP0, CP0, RP0, TP0, TM, CAP0, DEM0, AFF0, SANC0,
               TRADE0, EV, key_pairs, spairs, out, traj):
    """Step runs ``run_ids`` for ``months`` months.

    Outcome rows go to ``out`` (len(run_ids) x k), monthly figures to ``traj``
    (len(run_ids) x (months + 1) x m) when it has one slot per run (pass an empty array
    otherwise).
    """
    n = AP0.shape[0]
    nc = CP0.shape[0]
    nr = RP0.shape[0]
    nt = TP0.shape[0]
    nruns = run_ids.shape[0]
    record = traj.shape[0] == nruns
    nblocks = (nruns + BLOCK - 1) // BLOCK
    for b in numba.prange(nblocks):
        W = np.empty_like(W0)
        AP = np.empty_like(AP0)
        CP = np.empty_like(CP0)
        RP = np.empty_like(RP0)
        TP = np.empty_like(TP0)
        CAP = np.empty_like(CAP0)
        DEM = np.empty_like(DEM0)
        SA = np.zeros((n, L.NSA))
        AFF = np.zeros((n, n))
        SANC = np.zeros((n, n))
        TRADE = np.zeros((n, n))
        BUILT = np.zeros((n, nc))
        RS = np.zeros((nr, L.NRS))
        TS = np.zeros((nt, L.NTS))
        TPRE = np.zeros((nt, n))
        G = np.zeros(L.NG)
        DR = np.zeros(nr)
        DS = np.zeros((n, n))
        DA = np.zeros((n, L.NDA))
        DT = np.zeros((nt, L.NDT))
        SCR = np.zeros((n, max(n, 1)))
        dummy = np.zeros((months + 1, 1))
        stop = min(nruns, (b + 1) * BLOCK)
        for k in range(b * BLOCK, stop):
            traj_run = traj[k] if record else dummy
            simulate_run(seed, run_ids[k], months, W0, AP0, CP0, RP0, TP0, TM, CAP0, DEM0, AFF0,
                         SANC0, TRADE0, EV, key_pairs, spairs, W, AP, CP, RP, TP, CAP, DEM, SA,
                         AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G, DR, DS, DA, DT, SCR, out[k],
                         traj_run, record)
