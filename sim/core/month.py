"""The order of a month, written once for both engines.

A month is: :func:`begin_month` (the scheduled events fire, the decisions are cleared), every actor
decides on last month's state (:func:`decide_actor`), :func:`end_month` (all decisions are
resolved at once). The Numba kernel decides with :func:`decide_all` (:func:`step_month` is the
whole month); the Mesa engine calls the same two ends around its agents' ``decide()``, which call
:func:`decide_actor`. A new phase of the month is added here, and both engines run it.
"""

from __future__ import annotations

from sim.core import layout as L
from sim.core.jit import rule_njit as njit
from sim.core.rules import (
    apply_events,
    clear_decisions,
    decide_sanctions,
    decide_supply,
    decide_track,
    resolve_month,
)


@njit(inline="always")
def begin_month(key, p, s, d):
    """Before the decisions of month ``key.month``: its events fire, the decisions are cleared."""
    apply_events(key.month, p, s)
    clear_decisions(s, d)


@njit
def decide_actor(i, key, p, s, d):
    """Everything actor ``i`` decides this month, on last month's state.

    Its shipments on the routes it supplies, its sanctions for the coming month, and the deal on
    each track where it is the party. Each decision reads only the state and writes only its own
    slots of ``d``, so the order of actors does not matter.
    """
    for r in range(p.RP.shape[0]):
        if int(p.RP[r, L.R_SUPPLIER]) == i:
            decide_supply(r, key, p, s, d)
    decide_sanctions(i, key, p, s, d)
    for t in range(p.TP.shape[0]):
        if int(p.TP[t, L.T_PARTY]) == i:
            decide_track(t, key, p, s, d)


@njit
def decide_all(key, p, s, d):
    """Every decision of the month: what :func:`decide_actor` does for every actor.

    Grouped by kind (every route, every sanctioner, every track) rather than by actor: the same
    decisions, since each writes only its own slots and the order does not matter.
    """
    for r in range(p.RP.shape[0]):
        decide_supply(r, key, p, s, d)
    for i in range(p.AP.shape[0]):
        decide_sanctions(i, key, p, s, d)
    for t in range(p.TP.shape[0]):
        decide_track(t, key, p, s, d)


@njit(inline="always")
def end_month(key, p, s, d):
    """After the decisions: resolve them all at once and move the world one month."""
    resolve_month(key, p, s, d)


@njit(inline="always")
def step_month(key, p, s, d):
    """One whole month in the Numba engine: begin, every decision, end."""
    begin_month(key, p, s, d)
    decide_all(key, p, s, d)
    end_month(key, p, s, d)
