"""The arrays of one run: parameters it may change, its state, its decisions and scratch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core import layout as L
from sim.core.rules import init_state
from sim.scenario import CompiledScenario


@dataclass
class RunState:
    """Everything one run works on, as the arrays the rules expect (see :mod:`sim.core.rules`)."""

    W: np.ndarray
    AP: np.ndarray
    CP: np.ndarray
    RP: np.ndarray
    TP: np.ndarray
    TM: np.ndarray
    CAP: np.ndarray
    DEM: np.ndarray
    AFF0: np.ndarray
    SANC0: np.ndarray
    TRADE0: np.ndarray
    EV: np.ndarray
    SA: np.ndarray
    AFF: np.ndarray
    SANC: np.ndarray
    TRADE: np.ndarray
    BUILT: np.ndarray
    RS: np.ndarray
    TS: np.ndarray
    TPRE: np.ndarray
    G: np.ndarray
    DR: np.ndarray
    DS: np.ndarray
    DA: np.ndarray
    DT: np.ndarray
    SCR: np.ndarray

    @classmethod
    def new(cls, cs: CompiledScenario) -> RunState:
        """Fresh arrays for one run of ``cs``, set to the month-0 state."""
        W, AP, CP, RP, TP, TM, CAP, DEM = cs.params()
        n, nc, nr, nt = AP.shape[0], CP.shape[0], RP.shape[0], TP.shape[0]
        st = cls(
            W=W, AP=AP, CP=CP, RP=RP, TP=TP, TM=TM, CAP=CAP, DEM=DEM,
            AFF0=cs.AFF0, SANC0=cs.SANC0, TRADE0=cs.TRADE0, EV=cs.EV,
            SA=np.zeros((n, L.NSA)), AFF=np.zeros((n, n)), SANC=np.zeros((n, n)),
            TRADE=np.zeros((n, n)), BUILT=np.zeros((n, nc)), RS=np.zeros((nr, L.NRS)),
            TS=np.zeros((nt, L.NTS)), TPRE=np.zeros((nt, n)), G=np.zeros(L.NG),
            DR=np.zeros(nr), DS=np.zeros((n, n)), DA=np.zeros((n, L.NDA)),
            DT=np.zeros((nt, L.NDT)), SCR=np.zeros((n, max(n, 1))),
        )
        init_state(st.W, st.AP, st.TP, st.AFF0, st.SANC0, st.TRADE0, st.SA, st.AFF, st.SANC,
                   st.TRADE, st.BUILT, st.RS, st.TS, st.TPRE, st.G)
        return st
