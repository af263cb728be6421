"""The arrays of one run: parameters it may change, its state, its decisions and scratch."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from sim.core.rules import Decisions, Params, State, init_state, new_decisions, new_state
from sim.scenario import CompiledScenario

#: The compiled scenario's read-only arrays a run reads but never changes.
SHARED = ("TM", "AFF0", "SANC0", "TRADE0", "EV", "BUILT0", "BK")


@dataclass
class RunState:
    """Everything one run works on, by name (see :mod:`sim.core.rules` for the groups).

    ``W`` to ``DEM`` are the run's own copies (events change them); ``TM``, ``AFF0``, ``SANC0``,
    ``TRADE0``, ``EV``, ``BUILT0`` and ``BK`` are the compiled scenario's read-only arrays
    (:data:`SHARED`), which a copy of the run shares. :attr:`params`, :attr:`state` and
    :attr:`decisions` group the same arrays (not copies) as the rules take them.
    """

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
    BUILT0: np.ndarray
    BK: np.ndarray
    SA: np.ndarray
    AFF: np.ndarray
    SANC: np.ndarray
    TRADE: np.ndarray
    BUILT: np.ndarray
    RS: np.ndarray
    TS: np.ndarray
    TPRE: np.ndarray
    G: np.ndarray
    THR: np.ndarray
    TDL: np.ndarray
    DR: np.ndarray
    DS: np.ndarray
    DA: np.ndarray
    DT: np.ndarray
    DTH: np.ndarray
    DW: np.ndarray
    SCR: np.ndarray

    def __deepcopy__(self, memo: dict) -> RunState:
        # The read-only arrays stay shared: a writable copy would be another type to Numba
        # (``readonly array``), and every rule the copy calls would compile again (25 s).
        return RunState(**{name: getattr(self, name) if name in SHARED
                           else copy.deepcopy(getattr(self, name), memo)
                           for name in self.__dataclass_fields__})

    @property
    def params(self) -> Params:
        """The parameter arrays, grouped as the rules take them."""
        return Params(*(getattr(self, name) for name in Params._fields))

    @property
    def state(self) -> State:
        """The state arrays, grouped as the rules take them."""
        return State(*(getattr(self, name) for name in State._fields))

    @property
    def decisions(self) -> Decisions:
        """The decision arrays and scratch, grouped as the rules take them."""
        return Decisions(*(getattr(self, name) for name in Decisions._fields))

    @classmethod
    def new(cls, cs: CompiledScenario) -> RunState:
        """Fresh arrays for one run of ``cs``, set to the month-0 state."""
        n, nc, nr, nt = cs.AP.shape[0], cs.CP.shape[0], cs.RP.shape[0], cs.TP.shape[0]
        copies = {name: getattr(cs, name).copy()
                  for name in ("W", "AP", "CP", "RP", "TP", "CAP", "DEM")}
        shared = {name: getattr(cs, name) for name in SHARED}
        st = cls(**copies, **shared, **new_state(n, nc, nr, nt)._asdict(),
                 **new_decisions(n, nr, nt)._asdict())
        init_state(st.params, st.state)
        return st
