"""The Numba engine: the same rules looped over months and runs in one compiled kernel.

``run_kernel`` steps every run named in ``run_ids`` (in parallel over runs) and writes each
run's raw outcome row; when ``traj`` has one slot per run it also records the monthly figures.
A run's numbers depend only on (scenario, seed, run index): every draw is keyed by them (see
:mod:`sim.rng`), so chunking, thread count and order do not matter.
"""

from __future__ import annotations

import numba
import numpy as np

from sim import layout as L
from sim._jit import njit
from sim.outcomes import record_month, summarize
from sim.rules import init_state, step_month


@njit(parallel=True)
def run_kernel(seed, run_ids, months, W0, AP0, CP0, RP0, TP0, TM, CAP0, DEM0, AFF0, SANC0,
               TRADE0, EV, key_pairs, spairs, out, traj):
    """Step runs ``run_ids`` for ``months`` months; outcome rows to ``out`` (len(run_ids) x k),
    monthly figures to ``traj`` (len(run_ids) x (months + 1) x m) when it is not empty."""
    n = AP0.shape[0]
    nc = CP0.shape[0]
    nr = RP0.shape[0]
    nt = TP0.shape[0]
    record = traj.shape[0] == run_ids.shape[0]
    for k in numba.prange(run_ids.shape[0]):
        run = run_ids[k]
        W = W0.copy()
        AP = AP0.copy()
        CP = CP0.copy()
        RP = RP0.copy()
        TP = TP0.copy()
        CAP = CAP0.copy()
        DEM = DEM0.copy()
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
        SCR = np.zeros((n, n))
        init_state(W, AP, TP, AFF0, SANC0, TRADE0, SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G)
        if record:
            record_month(traj[k, 0], SA, SANC, AFF, RS, TS, G, spairs, key_pairs)
        for month in range(1, months + 1):
            step_month(seed, run, month, W, AP, CP, RP, TP, TM, CAP, DEM, AFF0, SANC0, TRADE0,
                       EV, SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G, DR, DS, DA, DT, SCR)
            if record:
                record_month(traj[k, month], SA, SANC, AFF, RS, TS, G, spairs, key_pairs)
        summarize(out[k], AP, CP, RP, TP, SA, AFF, BUILT, RS, TS, G, key_pairs)
