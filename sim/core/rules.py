"""The rules of diplosim, written once as compiled functions over arrays.

Both engines call these functions: the Mesa model (one agent object per actor, one run) and the
Numba ensemble kernel (thousands of runs). A month is simultaneous: every ``decide_*`` function
reads only last month's state and writes only its own decisions; ``resolve_month`` then applies
all decisions at once, phase by phase. The order of a month is written once, in
:mod:`sim.core.month`. Columns are named in :mod:`sim.core.layout` (``L.NAME``); the equations are
written up in ``docs/ODD.md`` (section 7, submodels).

The arrays travel in four named tuples, always in this order:

* :class:`DrawKey` ``key``: seed, run and month, the part of every draw's key the run fixes (the
  rest is the identity key of who decides and about what: the ``*_ID`` columns, never positions);
* :class:`Params` ``p``: the scenario's parameters (events may change ``W`` to ``DEM`` during a
  run, so each run owns a copy of those; the rest are the compiled scenario's, read-only);
* :class:`State` ``s``: the state of the world, which the month moves;
* :class:`Decisions` ``d``: this month's decisions, and a scratch array of the resolution.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.core import layout as L
from sim.core.jit import njit as alloc_njit
from sim.core.jit import rule_njit as njit
from sim.core.rng import (
    BREAKDOWN,
    COHESION,
    COMPLY,
    DEAL,
    DENY,
    DETECT,
    SECONDARY,
    SHIP,
    SHOCK,
    WAR,
    normal,
    uniform,
)

# A sanction below this is treated as absent (for leakage and audiences).
_SANCTION_EPS = 1e-9


class DrawKey(NamedTuple):
    """The run's part of every draw's key (see :mod:`sim.core.rng`)."""

    seed: np.uint64
    """The 64-bit seed (always passed as ``np.uint64``, so one compiled version serves all)."""
    run: int
    """The run index within the ensemble."""
    month: int
    """The month being stepped (1 = the first)."""


class Params(NamedTuple):
    """A scenario's parameters (columns in :mod:`sim.core.layout`)."""

    W: np.ndarray
    """World and theatre, ``W[...]``."""
    AP: np.ndarray
    """Actors, ``AP[actor, ...]``."""
    CP: np.ndarray
    """Arms categories, ``CP[category, ...]``."""
    RP: np.ndarray
    """Supply routes, ``RP[route, ...]``."""
    TP: np.ndarray
    """Negotiation tracks, ``TP[track, ...]``."""
    CAP: np.ndarray
    """Export capacity, units a month, ``CAP[actor, category]``."""
    DEM: np.ndarray
    """Demand at war intensity 1, units a month, ``DEM[actor, category]``."""
    TM: np.ndarray
    """Counterparts of each track, 1 or 0, ``TM[track, actor]``."""
    AFF0: np.ndarray
    """Starting affinity, ``AFF0[actor, actor]``."""
    SANC0: np.ndarray
    """Starting sanctions, ``SANC0[sender, target]``."""
    TRADE0: np.ndarray
    """Starting trade shares, ``TRADE0[from, to]``."""
    EV: np.ndarray
    """Scheduled events, rows (month, table, row, column, value)."""
    BUILT0: np.ndarray
    """Home production at the start, units a month, ``BUILT0[actor, category]``."""
    BK: np.ndarray
    """Backing: 1 if actor k's warning backs actor i's threats, ``BK[k, i]``."""


class State(NamedTuple):
    """The state of one run (columns in :mod:`sim.core.layout`)."""

    SA: np.ndarray
    """Actors, ``SA[actor, ...]``."""
    AFF: np.ndarray
    """Affinity in [-1, 1], ``AFF[actor, actor]`` (symmetric)."""
    SANC: np.ndarray
    """Sanction intensity in [0, 1], ``SANC[sender, target]``."""
    TRADE: np.ndarray
    """Trade shares, ``TRADE[from, to]`` (rows sum to at most 1)."""
    BUILT: np.ndarray
    """Home production (at the start, and built by assistance), units a month,
    ``BUILT[actor, category]``."""
    RS: np.ndarray
    """Routes, ``RS[route, ...]``."""
    TS: np.ndarray
    """Tracks, ``TS[track, ...]``."""
    TPRE: np.ndarray
    """Sanctions of each counterpart before the relief deal in force, ``TPRE[track, actor]``."""
    G: np.ndarray
    """The war and the month's arms flows, ``G[...]``."""
    THR: np.ndarray
    """Standing threats, ``THR[sender, route]``: the first month whose shipments on the route
    violate the threat, 0 for no threat."""
    TDL: np.ndarray
    """Deadline of each standing threat, ``TDL[sender, route]``: its last month."""


class Decisions(NamedTuple):
    """This month's decisions, written by the ``decide_*`` rules and applied by the resolution."""

    DR: np.ndarray
    """Units to ship on each route, ``DR[route]``."""
    DS: np.ndarray
    """Sanctions for the coming month, ``DS[sender, target]``."""
    DA: np.ndarray
    """Per actor, ``DA[actor, ...]``."""
    DT: np.ndarray
    """Per track, ``DT[track, ...]``."""
    DTH: np.ndarray
    """Threat decisions, ``DTH[sender, route]`` (codes ``L.TH_*``)."""
    DW: np.ndarray
    """The reasons of each supply decision, ``DW[route, ...]`` (the terms of its utility)."""
    SCR: np.ndarray
    """n x n scratch of the resolution (weighted detections, affinity changes)."""


def params_of(source: object) -> Params:
    """The :class:`Params` named like the attributes of ``source`` (a compiled scenario)."""
    return Params(*(getattr(source, name) for name in Params._fields))


@alloc_njit
def new_state(n, nc, nr, nt):
    """Zeroed state arrays for ``n`` actors, ``nc`` categories, ``nr`` routes, ``nt`` tracks."""
    return State(np.zeros((n, L.NSA)), np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n)),
                 np.zeros((n, nc)), np.zeros((nr, L.NRS)), np.zeros((nt, L.NTS)),
                 np.zeros((nt, n)), np.zeros(L.NG), np.zeros((n, nr)), np.zeros((n, nr)))


@alloc_njit
def new_decisions(n, nr, nt):
    """Zeroed decision arrays (and scratch) for ``n`` actors, ``nr`` routes, ``nt`` tracks."""
    return Decisions(np.zeros(nr), np.zeros((n, n)), np.zeros((n, L.NDA)), np.zeros((nt, L.NDT)),
                     np.zeros((n, nr)), np.zeros((nr, L.NDW)), np.zeros((n, max(n, 1))))


@njit
def clip(x, lo, hi):
    """``x`` limited to [lo, hi]."""
    return lo if x < lo else (hi if x > hi else x)


@njit
def chance(prob, key, actor, counterpart, purpose):
    """True with probability ``prob``, decided by the keyed uniform draw (see :mod:`sim.core.rng`).

    ``actor`` and ``counterpart`` are identity keys (``AP[i, L.A_ID]``, ``RP[r, L.R_ID]``...).

    A uniform draw lies in [0, 1), so ``prob <= 0`` is never and ``prob >= 1`` always true: the
    draw is skipped then, with the same answer (draws are keyed, so skipping one shifts no other).
    """
    if prob <= 0.0:
        return False
    if prob >= 1.0:
        return True
    return uniform(key.seed, key.run, key.month, actor, counterpart, purpose) < prob


@njit
def logistic(u):
    """The logistic function 1 / (1 + e^-u), safe for large |u|."""
    if u >= 0.0:
        return 1.0 / (1.0 + math.exp(-u))
    e = math.exp(u)
    return e / (1.0 + e)


@njit
def copy_into(dst, src):
    """Copy ``src`` into ``dst`` (two 2-D arrays of one shape) without allocating.

    ``dst[:, :] = src`` may allocate a temporary copy, which :func:`sim.core.jit.rule_njit` forbids.
    """
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


# ------------------------------------------------------------------------------------------
# Shared terms
# ------------------------------------------------------------------------------------------


@njit
def reach(i, j, p, s):
    """The share of target ``j``'s economy sender ``i``'s sanctions can reach, in [0, 1].

    Its financial and market reach (``leverage``) plus what is left of ``j``'s trade with ``i``
    (trade share x openness): trade diverted away from the sender is out of its reach.
    """
    return min(1.0, p.AP[i, L.A_LEVERAGE] + p.AP[j, L.A_OPEN] * s.TRADE[j, i])


@njit
def package_of(i, c, p):
    """The package sender ``i`` threatens over transfers of category ``c``, in [0, 1].

    The share of the target's remaining exposure it would cut: step x escalation weight.
    """
    return min(1.0, p.AP[i, L.A_ESC_STEP] * p.CP[c, L.C_ESC_W])


@njit
def after_package(now, package, cap):
    """Sanction intensity after a package: it cuts a share of what is left, never above the cap.

    s' = min(cap, 1 - (1 - s)(1 - package)): the same package adds less on a target already
    isolated (Hufbauer et al. 2007's diminishing returns; Early 2015).
    """
    return min(cap, 1.0 - (1.0 - now) * (1.0 - package))


@njit
def raw_pressure_with(j, i, level, p, s):
    """Raw pressure on ``j`` if sender ``i``'s sanctions on it were ``level`` (others as now)."""
    keep = 1.0
    for k in range(p.AP.shape[0]):
        if k != j:
            x = level if k == i else s.SANC[k, j]
            keep *= 1.0 - x * reach(k, j, p, s)
    return 1.0 - keep


@njit
def sender_cost(i, j, rise, p, s):
    """What raising ``i``'s sanctions on ``j`` by ``rise`` costs ``i``, in % of its GDP.

    The trade lost: ``j``'s trade with ``i`` (trade share x openness x GDP) cut by ``rise``, over
    ``i``'s GDP (Lacy & Niou 2004: the sender's cost of imposing).
    """
    gdp_i = p.AP[i, L.A_GDP] * s.SA[i, L.S_GDP]
    if gdp_i <= 0.0:
        return 0.0
    trade = s.TRADE[j, i] * p.AP[j, L.A_OPEN] * p.AP[j, L.A_GDP] * s.SA[j, L.S_GDP]
    return 100.0 * rise * trade / gdp_i


@njit
def committed(j, p, s):
    """The monitoring of ``j``'s relief deal being implemented or in force, -1 if none.

    A party to such a deal has agreed to halt its covert transfers (0 or more: committed).
    """
    TP, TS = p.TP, s.TS
    monitoring = -1.0
    for t in range(TP.shape[0]):
        if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
                and (TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5)):
            monitoring = max(monitoring, TP[t, L.T_MONITORING])
    return monitoring


@njit
def halt_defied(j, key, p, s):
    """Whether ``j``'s security apparatus defies the halt its government agreed to.

    Decided once per agreement (Putnam 1988: the agreement is ratified at home, or not): obeyed
    with chance ``control``, by a draw keyed by the agreement's month, the actor and the track,
    so the stance holds through the implementation and the deal that follows.
    """
    TP, TS = p.TP, s.TS
    for t in range(TP.shape[0]):
        if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
                and (TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5)):
            defy = 1.0 - p.AP[j, L.A_CONTROL]
            if defy >= 1.0:
                return True
            if defy > 0.0 and uniform(key.seed, key.run, TS[t, L.TS_SINCE], p.AP[j, L.A_ID],
                                      TP[t, L.T_ID], COMPLY) < defy:
                return True
    return False


@njit
def detection_chance(r, p, s):
    """The chance a shipment on route ``r`` is detected this month.

    A covert transfer of a party to a relief deal being implemented or in force is also watched
    by the deal's monitors: 1 - (1 - detection)(1 - monitoring).
    """
    c = int(p.RP[r, L.R_CATEGORY])
    det = p.CP[c, L.C_DETECT]
    if p.CP[c, L.C_ESC_W] > 0.0:
        m = committed(int(p.RP[r, L.R_SUPPLIER]), p, s)
        if m > 0.0:
            det = 1.0 - (1.0 - det) * (1.0 - m)
    return det


@njit
def is_covert(r, p):
    """Whether route ``r`` carries a category sanctioners react to (escalation weight above 0)."""
    return p.CP[int(p.RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0.0


# ------------------------------------------------------------------------------------------
# Initial state and scheduled events
# ------------------------------------------------------------------------------------------


@njit
def threaten_all(i, first, p, s):
    """Sender ``i`` publicly threatens every hostile supplier over each of its covert routes.

    Its public warning (the scenario's ``warning`` or an event setting it): each threat is
    violated by shipments from month ``first`` and stands for ``deadline`` months.
    """
    AP, RP = p.AP, p.RP
    s.SA[i, L.S_WARNED] = 1.0
    if AP[i, L.A_ESC_STEP] <= 0.0:
        return  # a warning with no sanctions of its own: it backs others' threats (BK)
    for r in range(RP.shape[0]):
        j = int(RP[r, L.R_SUPPLIER])
        if j == i or not is_covert(r, p) or s.AFF[i, j] >= 0.0:
            continue
        if s.SANC[i, j] >= AP[i, L.A_ESC_CAP] - 1e-12 or s.THR[i, r] > 0.0:
            continue
        s.THR[i, r] = first
        s.TDL[i, r] = first + AP[i, L.A_DEADLINE] - 1.0


@njit
def init_state(p, s):
    """Set the month-0 state from the parameters (in place).

    Adaptation starts from the sanctions episode's age; the sanction damage of the start is
    recorded (it is already in the trend growth); warnings stand as threats.
    """
    SA, AP, TS, G = s.SA, p.AP, s.TS, s.G
    n = AP.shape[0]
    SA[:, :] = 0.0
    for i in range(n):
        SA[i, L.S_GDP] = 1.0
        SA[i, L.S_CRED] = AP[i, L.A_CRED]
        SA[i, L.S_PRIO] = AP[i, L.A_PRIO]
        SA[i, L.S_ADAPT] = 1.0 - (1.0 - p.W[L.W_ADAPT]) ** AP[i, L.A_SANC_AGE]
    copy_into(s.AFF, p.AFF0)
    copy_into(s.SANC, p.SANC0)
    copy_into(s.TRADE, p.TRADE0)
    copy_into(s.BUILT, p.BUILT0)
    s.RS[:, :] = 0.0
    s.RS[:, L.RS_FIRST] = -1.0
    TS[:, :] = 0.0
    for t in range(p.TP.shape[0]):
        TS[t, L.TS_TRUST] = p.TP[t, L.T_TRUST0]
        TS[t, L.TS_MONTH] = -1.0
        TS[t, L.TS_BROKEN_MONTH] = -1.0
        TS[t, L.TS_AGREED_MONTH] = -1.0
        TS[t, L.TS_RIPE_MONTH] = -1.0
    s.TPRE[:, :] = 0.0
    s.THR[:, :] = 0.0
    s.TDL[:, :] = 0.0
    G[:] = 0.0
    G[L.G_INTENSITY] = p.W[L.W_INT0]
    G[L.G_BALANCE] = p.W[L.W_BAL0]
    for i in range(n):
        if AP[i, L.A_WARNING] >= 0.5:
            threaten_all(i, 1.0, p, s)
    update_pressure(p, s)
    for i in range(n):
        SA[i, L.S_PEAK] = SA[i, L.S_PRESSURE]
        SA[i, L.S_DAMAGE0] = p.W[L.W_DAMAGE] * SA[i, L.S_PRESSURE] * (1.0 - SA[i, L.S_ADAPT])


@njit
def set_parameter(p, table, row, col, value):
    """Set one parameter cell of ``p``: ``table`` is an event table (``L.EV_*``) of the layout.

    The one place that maps a (table, row, column) cell to its array, for scheduled events and
    for the cell edits of a design point (:func:`sim.core.kernel.apply_edits`).
    """
    if table == L.EV_WORLD:
        p.W[col] = value
    elif table == L.EV_ACTOR:
        p.AP[row, col] = value
    elif table == L.EV_CATEGORY:
        p.CP[row, col] = value
    elif table == L.EV_ROUTE:
        p.RP[row, col] = value
    elif table == L.EV_TRACK:
        p.TP[row, col] = value
    elif table == L.EV_CAPACITY:
        p.CAP[row, col] = value
    elif table == L.EV_DEMAND:
        p.DEM[row, col] = value


@njit
def apply_events(month, p, s):
    """Fire the scheduled events of ``month``: each sets one parameter (and its live state).

    ``EV`` rows are (month, table, row, column, value). Relief priority and credibility are both
    parameters and state, so an event on them changes the state too; an event setting ``warning``
    is a public warning: the actor threatens at once (its threats bind this month's shipments).
    An event ``packages.SENDER.TARGET`` is a sanctions round the scenario schedules (one the
    threat stage does not produce, such as the EU's packages on Russia): the sender imposes a
    package of that size on the target (:func:`after_package`, up to intensity 1).
    """
    EV = p.EV
    for e in range(EV.shape[0]):
        if int(EV[e, 0]) != month:
            continue
        table = int(EV[e, 1])
        row = int(EV[e, 2])
        col = int(EV[e, 3])
        value = EV[e, 4]
        if table == L.EV_PACKAGE:
            s.SANC[row, col] = after_package(s.SANC[row, col], value, 1.0)
            continue
        set_parameter(p, table, row, col, value)
        if table == L.EV_ACTOR:
            if col == L.A_PRIO:
                s.SA[row, L.S_PRIO] = value
            elif col == L.A_CRED:
                s.SA[row, L.S_CRED] = value
            elif col == L.A_WARNING and value >= 0.5:
                threaten_all(row, float(month), p, s)


# ------------------------------------------------------------------------------------------
# Decisions (read last month's state, write only decisions)
# ------------------------------------------------------------------------------------------
#
# The three ``decide_*`` rules run once per route, actor or track every month. A call that is
# not inlined passes the four tuples flattened (some 250 words on the stack per call), which cost
# the ensemble kernel about 15%; ``inline="always"`` inlines them in Numba's IR instead.


@njit
def clear_decisions(s, d):
    """Before anyone decides: nothing shipped, sanctions kept, no threat decision, no reasons."""
    d.DR[:] = 0.0
    copy_into(d.DS, s.SANC)
    d.DTH[:, :] = 0.0
    d.DW[:, :] = 0.0


@njit
def route_need(r, p, s):
    """The recipient's unmet need on route ``r`` in [0, 1] and the units it would take.

    Need is the share of the recipient's demand its own production does not cover, scaled by war
    intensity for a party to the war. For production assistance the need is that of the category
    it builds.
    """
    RP, DEM, BUILT = p.RP, p.DEM, s.BUILT
    q = int(RP[r, L.R_RECIPIENT])
    c = int(RP[r, L.R_CATEGORY])
    b = int(p.CP[c, L.C_BUILDS])
    wanted = DEM[q, c]
    if wanted <= 0.0:
        return 0.0, 0.0
    gauge = b if b >= 0 else c
    dem = DEM[q, gauge]
    if dem <= 0.0:
        return 0.0, 0.0
    unmet = max(0.0, dem - BUILT[q, gauge]) / dem
    at_war = q == int(p.W[L.W_ATTACKER]) or q == int(p.W[L.W_DEFENDER])
    scale = s.G[L.G_INTENSITY] if at_war else 1.0
    need = unmet * scale
    if b >= 0:
        units = wanted if unmet > 0.0 else 0.0
    else:
        units = wanted * need
    return need, units


@njit
def backed_credibility(i, p, s):
    """Credibility of sender ``i``'s threats, with the backing of the blocs that warned.

    A bloc whose public warning backs ``i`` (``backs``) makes its threats more credible, as far
    as the bloc's members act together and the bloc itself is believed (Martin 1992: an
    institution makes cooperation on sanctions credible): the doubt ``1 - cred`` shrinks by the
    share ``cohesion_k x cred_k`` for each such bloc ``k`` that has warned.
    """
    doubt = 1.0 - s.SA[i, L.S_CRED]
    for k in range(p.AP.shape[0]):
        if p.BK[k, i] > 0.0 and s.SA[k, L.S_WARNED] >= 0.5:
            doubt *= 1.0 - p.AP[k, L.A_COHESION] * s.SA[k, L.S_CRED]
    return 1.0 - doubt


@njit
def threat_cost(r, p, s):
    """Expected GDP loss (% of GDP) from the packages threatened over route ``r``.

    What the supplier would lose if the shipment were seen, over the ``sanction_years`` a package
    is expected to hurt (Neuenkirch & Neumeier 2015: about seven years for US sanctions).

    Sum over the senders with a standing threat over the route: credibility (with the backing of
    the blocs that warned, :func:`backed_credibility`) x the pressure the
    package would add (what is left to cut, after leakage) x damage rate x (1 - adaptation).
    """
    AP, SA = p.AP, s.SA
    j = int(p.RP[r, L.R_SUPPLIER])
    c = int(p.RP[r, L.R_CATEGORY])
    total = 0.0
    for i in range(AP.shape[0]):
        if s.THR[i, r] <= 0.0:
            continue
        now = s.SANC[i, j]
        cap = AP[i, L.A_ESC_CAP]
        if now >= cap:
            continue
        level = after_package(now, package_of(i, c, p), cap)
        gain = (raw_pressure_with(j, i, level, p, s) - SA[j, L.S_RAW]) * (1.0 - SA[j, L.S_LEAK])
        total += backed_credibility(i, p, s) * max(0.0, gain)
    return 100.0 * p.W[L.W_DAMAGE] * p.W[L.W_SANC_YEARS] * (1.0 - SA[j, L.S_ADAPT]) * total


@njit
def relief_at_risk(supplier, p_detect, p, s):
    """Relief ``supplier`` puts at risk by shipping.

    Under a relief deal being implemented or in force the halt is a commitment: shipping at all
    puts its full priority for relief at risk. In talks, the risk is the chance of exposure times
    the trust built so far (an exposed shipment destroys it).
    """
    TP, TS, SA = p.TP, s.TS, s.SA
    risk = 0.0
    for t in range(TP.shape[0]):
        if int(TP[t, L.T_KIND]) != L.TRACK_RELIEF or int(TP[t, L.T_PARTY]) != supplier:
            continue
        if TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5:
            risk += SA[supplier, L.S_PRIO]
        else:
            risk += p_detect * SA[supplier, L.S_PRIO] * TS[t, L.TS_TRUST]
    return risk


@njit(inline="always")
def decide_supply(r, key, p, s, d):
    """The choice on route ``r``: two levels in the supplier (Putnam 1988).

    The security apparatus that runs the transfers weighs
    U = base + propensity + w_aff * affinity + w_need * need + w_price * revenue (% of GDP)
        - w_risk * p_detect * threat_cost - control * w_relief * relief_at_risk
    (the government's wish for relief weighs only as far as it controls the apparatus). A
    government that has agreed to halt (a relief deal being implemented or in force) orders a
    halt of the covert routes: the apparatus obeys with chance ``control``, decided once per
    agreement (:func:`halt_defied`), else it ships as it would. A bloc ships only in a month its
    members act together (chance ``cohesion``, keyed by the route; e.g. one member blocking a
    joint aid package). P(ship) = 1 / (1 + exp(-U)); the units are the recipient's unmet need
    (for production assistance, the packages it asks for), capped by the supplier's capacity,
    rounded. The terms go to ``DW[r]`` (the story's reasons). One uniform draw per open
    route-month, keyed (seed, run, month, supplier, route, SHIP).
    """
    W, AP, CP, RP, DW = p.W, p.AP, p.CP, p.RP, d.DW
    d.DR[r] = 0.0
    if RP[r, L.R_OPEN] < 0.5:
        return
    sup = int(RP[r, L.R_SUPPLIER])
    q = int(RP[r, L.R_RECIPIENT])
    c = int(RP[r, L.R_CATEGORY])
    need, units = route_need(r, p, s)
    units = math.floor(min(units, p.CAP[sup, c]) + 0.5)
    if units <= 0.0:
        return
    gdp_usd_mn = AP[sup, L.A_GDP] * 1000.0 * s.SA[sup, L.S_GDP]
    revenue_pct = 100.0 * units * CP[c, L.C_PRICE] / gdp_usd_mn if gdp_usd_mn > 0.0 else 0.0
    covert = CP[c, L.C_ESC_W] > 0.0
    control = AP[sup, L.A_CONTROL]
    risk = 0.0
    relief = 0.0
    if covert:
        p_det = detection_chance(r, p, s)
        risk = p_det * threat_cost(r, p, s)
        relief = relief_at_risk(sup, p_det, p, s)
    DW[r, L.DW_NEED] = W[L.W_W_NEED] * need
    DW[r, L.DW_AFFINITY] = W[L.W_W_AFF] * s.AFF[sup, q]
    DW[r, L.DW_PRICE] = W[L.W_W_PRICE] * revenue_pct
    DW[r, L.DW_RISK] = -W[L.W_W_RISK] * risk
    DW[r, L.DW_RELIEF] = -control * W[L.W_W_RELIEF] * relief
    u = (W[L.W_SUPPLY_BASE] + RP[r, L.R_PROPENSITY] + DW[r, L.DW_AFFINITY] + DW[r, L.DW_NEED]
         + DW[r, L.DW_PRICE] + DW[r, L.DW_RISK] + DW[r, L.DW_RELIEF])
    prob = logistic(u)
    DW[r, L.DW_UTILITY] = u
    if covert and committed(sup, p, s) >= 0.0:
        DW[r, L.DW_HALT] = 1.0
        if halt_defied(sup, key, p, s):
            DW[r, L.DW_DEFIED] = 1.0
        else:
            prob = 0.0
    if AP[sup, L.A_COHESION] < 1.0 and not chance(AP[sup, L.A_COHESION], key, AP[sup, L.A_ID],
                                                   RP[r, L.R_ID], COHESION):
        DW[r, L.DW_DIVIDED] = 1.0
        prob = 0.0
    DW[r, L.DW_PROBABILITY] = prob
    if chance(prob, key, AP[sup, L.A_ID], RP[r, L.R_ID], SHIP):
        d.DR[r] = units


@njit(inline="always")
def decide_sanctions(i, key, p, s, d):
    """Sender ``i`` decides its threats and sets its row of sanctions for next month.

    A strategic threat stage (Lacy & Niou 2004; Whang, McLean & Kuberski 2013), threat by threat:
    a threat is specific (a sender, a supplier, a covert route), with a demand (no shipment on
    the route), a deadline and a stated package. A detected shipment on a route it has not
    threatened over prompts a threat. A detected shipment that violates a standing threat, once
    the evidence (the supplier's trigger) passes ``escalation_threshold``, calls for the package:
    it is imposed if it costs the sender less than the audience cost of backing down (Fearon
    1994) and, for a bloc, its members act together (chance ``cohesion``); otherwise the sender
    backs down and loses credibility. A threat complied with until its deadline lapses as a
    success. Threats against a party that agreed to halt under a relief deal with ``i`` are held
    while the deal is implemented or in force; while it is in force, ``i`` eases toward the
    agreed level. A doctrine with ``secondary`` > 0 also sanctions the facilitators of a target it
    imposed a package on. Every choice reads last month's state; what the choices do to the
    sanctions and to credibility is :func:`settle_threats`.
    """
    AP, CP, RP, TP, TM, SA, TS, SANC, DS, DTH = (p.AP, p.CP, p.RP, p.TP, p.TM, s.SA, s.TS,
                                                  s.SANC, d.DS, d.DTH)
    cap = AP[i, L.A_ESC_CAP]
    month = float(key.month)
    DS[i, i] = 0.0
    for t in range(TP.shape[0]):
        if TM[t, i] > 0.0 and TS[t, L.TS_ACTIVE] >= 0.5 and int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            j = int(TP[t, L.T_PARTY])
            now = SANC[i, j]
            floor = s.TPRE[t, i] * (1.0 - TS[t, L.TS_TERMS])
            if now > floor:
                DS[i, j] = max(floor, now - AP[i, L.A_EASE])
    if AP[i, L.A_ESC_STEP] > 0.0:
        for r in range(RP.shape[0]):
            j = int(RP[r, L.R_SUPPLIER])
            c = int(RP[r, L.R_CATEGORY])
            if j == i or CP[c, L.C_ESC_W] <= 0.0:
                continue
            held = False
            for t in range(TP.shape[0]):
                if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
                        and TM[t, i] > 0.0 and (TS[t, L.TS_ACTIVE] >= 0.5
                                                or TS[t, L.TS_IMPLEMENTING] >= 0.5)):
                    held = True
            if held:
                continue
            seen = s.RS[r, L.RS_DETECTED] >= 0.5
            now = SANC[i, j]
            if s.THR[i, r] <= 0.0:
                if seen and s.AFF[i, j] < 0.0 and now < cap - 1e-12:
                    DTH[i, r] = L.TH_ISSUE
                continue
            if seen and month - 1.0 >= s.THR[i, r]:
                if SA[j, L.S_TRIG] < AP[i, L.A_ESC_THRESH]:
                    continue
                if now >= cap - 1e-12:
                    DTH[i, r] = L.TH_EXHAUSTED
                    continue
                level = after_package(now, package_of(i, c, p), cap)
                cost = sender_cost(i, j, level - now, p, s)
                if (cost <= AP[i, L.A_AUDIENCE]
                        and chance(AP[i, L.A_COHESION], key, AP[i, L.A_ID], RP[r, L.R_ID],
                                   COHESION)):
                    DTH[i, r] = L.TH_IMPOSE
                else:
                    DTH[i, r] = L.TH_BACK_DOWN
            elif month - 1.0 >= s.TDL[i, r]:
                DTH[i, r] = L.TH_COMPLIED
    settle_threats(i, key, p, s, d)


@njit
def settle_threats(i, key, p, s, d):
    """What sender ``i``'s threat decisions of the month (``DTH[i]``) do to its sanctions.

    Each package imposed raises the target's row of next month's sanctions (``DS``, which holds
    the month's easing already); a doctrine with ``secondary`` > 0 also sanctions the
    facilitators of each target it imposed a package on; credibility moves once, from the
    month's counts (packages imposed and threats complied with raise it, back-downs lower it),
    and the counts are recorded. :func:`decide_sanctions` ends here, and so does a month in which
    a player answered the sender's threat questions (:mod:`sim.engines.choices`).
    """
    AP, RP, SA, SANC, DS, DTH = p.AP, p.RP, s.SA, s.SANC, d.DS, d.DTH
    n = AP.shape[0]
    cap = AP[i, L.A_ESC_CAP]
    imposed = 0.0
    backed = 0.0
    complied = 0.0
    issued = 0.0
    for r in range(RP.shape[0]):
        code = DTH[i, r]
        if code == L.TH_IMPOSE:
            j = int(RP[r, L.R_SUPPLIER])
            level = after_package(SANC[i, j], package_of(i, int(RP[r, L.R_CATEGORY]), p), cap)
            DS[i, j] = max(DS[i, j], level)
            imposed += 1.0
        elif code == L.TH_BACK_DOWN:
            backed += 1.0
        elif code == L.TH_COMPLIED:
            complied += 1.0
        elif code == L.TH_ISSUE:
            issued += 1.0
    sec = AP[i, L.A_SECONDARY]
    if sec > 0.0 and imposed > 0.0:
        for j in range(n):
            hit = False
            for r in range(RP.shape[0]):
                if int(RP[r, L.R_SUPPLIER]) == j and DTH[i, r] == L.TH_IMPOSE:
                    hit = True
            if hit:
                _secondary(i, j, key, sec * AP[i, L.A_ESC_STEP], sec * cap, p, s, d)
    cred = SA[i, L.S_CRED]
    cred = 1.0 - (1.0 - cred) * (1.0 - AP[i, L.A_CRED_GAIN]) ** (imposed + complied)
    cred = cred * (1.0 - AP[i, L.A_CRED_LOSS]) ** backed
    d.DA[i, L.DA_CRED] = cred
    d.DA[i, L.DA_WARN] = 1.0 if (SA[i, L.S_WARNED] >= 0.5 or issued > 0.0) else 0.0
    d.DA[i, L.DA_ESC] = imposed
    d.DA[i, L.DA_FAILED] = backed
    d.DA[i, L.DA_THREATS] = issued
    d.DA[i, L.DA_COMPLIED] = complied


@njit
def _secondary(i, j, key, package, cap, p, s, d):
    """Secondary sanctions by ``i`` on the facilitators of target ``j`` (partners that bust).

    Reads only last month's state (trade, busting, affinity, ``i``'s sanctions): a facilitator is
    never itself treated as a target this month, so no cascade, whatever the order of actors.
    """
    AP, DS = p.AP, d.DS
    for k in range(AP.shape[0]):
        if k == i or k == j or s.AFF[i, k] >= 0.5:
            continue
        facilitation = s.TRADE[j, k] * AP[k, L.A_BUSTING]
        if facilitation < 0.05:
            continue
        if chance(AP[i, L.A_COHESION], key, AP[i, L.A_ID], AP[k, L.A_ID], SECONDARY):
            DS[i, k] = max(DS[i, k], after_package(s.SANC[i, k], package, cap))


@njit(inline="always")
def decide_track(t, key, p, s, d):
    """Negotiation on track ``t``: both sides value a deal against no deal.

    A deal is agreed by chance if a zone of agreement exists and trust suffices; its terms are
    the Nash bargaining solution.

    Relief: the party's government gains ``relief_priority * x`` from lifting a share x of
    sanctions; its security apparatus loses ``halt_cost * affinity with its recipients`` by
    halting transfers, which the government must carry at home (Putnam 1988's win-set); the
    senders concede at most their leverage-weighted mean ``relief_offer`` (times cohesion for
    blocs). With linear utilities the Nash product (prio x - c)(x_max - x) peaks at
    x* = (x_min + x_max) / 2, where x_min = c / prio. The monthly chance of an agreement is
    base_rate x trust x (x_max - x_min) / x_max. An agreement is implemented first (the halt
    verified for ``implementation_months``), then the relief starts.

    Ceasefire: a zone of agreement exists only in a mutually hurting stalemate. Each side's
    disagreement value is the balance it expects minus its war cost; the Nash split puts the line
    at balance + (cost_defender - cost_attacker) / 2. A mediator raises the rate by
    ``mediator_bonus`` x its cohesion.
    """
    AP, RP, TP, TS, G, DT = p.AP, p.RP, p.TP, s.TS, s.G, d.DT
    DT[t, L.DT_DEAL] = 0.0
    DT[t, L.DT_TERMS] = 0.0
    DT[t, L.DT_ZOPA] = 0.0
    party = int(TP[t, L.T_PARTY])
    trust = TS[t, L.TS_TRUST]
    if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
        if TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5:
            return
        prio = s.SA[party, L.S_PRIO]
        ties = 0.0
        for r in range(RP.shape[0]):
            if int(RP[r, L.R_SUPPLIER]) == party and RP[r, L.R_OPEN] >= 0.5:
                ties = max(ties, s.AFF[party, int(RP[r, L.R_RECIPIENT])])
        halt = TP[t, L.T_HALT_COST] * ties
        offer = 0.0
        weight = 0.0
        for i in range(AP.shape[0]):
            if p.TM[t, i] > 0.0:
                w = max(AP[i, L.A_LEVERAGE], 1e-9)
                offer += w * AP[i, L.A_OFFER] * AP[i, L.A_COHESION]
                weight += w
        x_max = offer / weight if weight > 0.0 else 0.0
        if prio <= 0.0:
            return
        x_min = halt / prio
        if x_min > x_max or x_max <= 0.0:
            return
        DT[t, L.DT_ZOPA] = 1.0
        if trust < TP[t, L.T_MIN_TRUST]:
            return
        surplus = (x_max - x_min) / x_max
        if chance(TP[t, L.T_BASE_RATE] * trust * surplus, key, AP[party, L.A_ID], TP[t, L.T_ID],
                  DEAL):
            DT[t, L.DT_DEAL] = 1.0
            DT[t, L.DT_TERMS] = 0.5 * (x_min + x_max)
    else:
        if G[L.G_CEASEFIRE] >= 0.5:
            return
        if TS[t, L.TS_STALEMATE] < TP[t, L.T_STALE_MONTHS] or TS[t, L.TS_STALEMATE] <= 0.0:
            return
        DT[t, L.DT_ZOPA] = 1.0
        if trust < TP[t, L.T_MIN_TRUST]:
            return
        rate = TP[t, L.T_BASE_RATE] * trust
        med = int(TP[t, L.T_MEDIATOR])
        if med >= 0:
            rate = rate * (1.0 + TP[t, L.T_MED_BONUS] * AP[med, L.A_COHESION])
        if chance(min(rate, 1.0), key, AP[party, L.A_ID], TP[t, L.T_ID], DEAL):
            att = int(p.W[L.W_ATTACKER])
            dfd = int(p.W[L.W_DEFENDER])
            cost_a = AP[att, L.A_WAR_EXP] * G[L.G_INTENSITY]
            cost_d = AP[dfd, L.A_WAR_EXP] * G[L.G_INTENSITY]
            DT[t, L.DT_DEAL] = 1.0
            DT[t, L.DT_TERMS] = clip(G[L.G_BALANCE] + 0.5 * (cost_d - cost_a), -1.0, 1.0)


# ------------------------------------------------------------------------------------------
# Resolution of the month, phase by phase (ODD section 3)
# ------------------------------------------------------------------------------------------


@njit
def update_pressure(p, s):
    """Raw pressure, the coalition's share, leakage and effective pressure on every actor.

    raw_j = 1 - prod_i (1 - s_ij * reach_ij),  reach_ij = min(1, leverage_i + open_j * trade_ji)
    coalition_j = min(1, sum_{i sanctioning j} GDP_i / world_gdp)
    leak_j = min(max_leak, (1 - coalition_j) * leak_gain
                 * sum_k trade_jk * busting_k * (1 + aff_kj) / 2 * Y_k / (Y_k + Y_j)
                         * (1 - max_i s_ik) * (1 - s_kj))
    pressure_j = raw_j * (1 - leak_j)
    (Y: GDP now, USD bn: the starting GDP times the GDP index.) A partner busts in proportion to
    its goodwill toward the target ((1 + affinity) / 2) and can
    absorb trade in proportion to its economic size; a partner under sanctions itself busts that
    much less (its firms keep their access to the senders' markets).
    """
    W, AP, SA, SANC, TRADE = p.W, p.AP, s.SA, s.SANC, s.TRADE
    n = AP.shape[0]
    for j in range(n):
        keep = 1.0
        coalition = 0.0
        for i in range(n):
            if i != j:
                keep *= 1.0 - SANC[i, j] * reach(i, j, p, s)
                if SANC[i, j] > _SANCTION_EPS:
                    coalition += AP[i, L.A_GDP] * SA[i, L.S_GDP]
        SA[j, L.S_RAW] = 1.0 - keep
        SA[j, L.S_COALITION] = min(1.0, coalition / W[L.W_WORLD_GDP])
    for j in range(n):
        y_j = AP[j, L.A_GDP] * SA[j, L.S_GDP]
        busting = 0.0
        for k in range(n):
            if k == j or TRADE[j, k] <= 0.0 or AP[k, L.A_BUSTING] <= 0.0:
                continue
            hit = 0.0
            for i in range(n):
                if i != k and SANC[i, k] > hit:
                    hit = SANC[i, k]
            y_k = AP[k, L.A_GDP] * SA[k, L.S_GDP]
            absorb = y_k / (y_k + y_j) if y_k + y_j > 0.0 else 0.0
            busting += (TRADE[j, k] * AP[k, L.A_BUSTING] * 0.5 * (1.0 + s.AFF[k, j]) * absorb
                        * (1.0 - hit) * (1.0 - SANC[k, j]))
        leak = (1.0 - SA[j, L.S_COALITION]) * W[L.W_LEAK_GAIN] * busting
        SA[j, L.S_LEAK] = min(W[L.W_MAX_LEAK], leak)
        SA[j, L.S_PRESSURE] = SA[j, L.S_RAW] * (1.0 - SA[j, L.S_LEAK])


@njit
def take_deals(key, p, s, d):
    """Deals agreed this month take effect.

    A relief agreement is recorded (its implementation starts next month: this month's shipments
    were decided before it, see :func:`advance_deals`); a ceasefire stops the war at once.
    """
    TP, TS = p.TP, s.TS
    for t in range(TP.shape[0]):
        if d.DT[t, L.DT_DEAL] < 0.5:
            continue
        TS[t, L.TS_TERMS] = d.DT[t, L.DT_TERMS]
        if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            TS[t, L.TS_SINCE] = key.month
            if TS[t, L.TS_AGREED] < 0.5:
                TS[t, L.TS_AGREED] = 1.0
                TS[t, L.TS_AGREED_MONTH] = key.month
        else:
            TS[t, L.TS_ACTIVE] = 1.0
            TS[t, L.TS_SINCE] = key.month
            if TS[t, L.TS_REACHED] < 0.5:
                TS[t, L.TS_REACHED] = 1.0
                TS[t, L.TS_MONTH] = key.month
            s.G[L.G_CEASEFIRE] = 1.0


@njit
def share_need(p, s, d):
    """What each route delivers when several routes fill one need: ``RS_SHIPPED``.

    Routes that deliver the same category to the same recipient share its unmet need: when their
    offers (``DR``) add up to more than the recipient takes this month, the units it takes are
    allocated in proportion to the offers (largest remainders get the odd units; a tie goes to
    the route first in id order). One route alone delivers what it offers, as it decided.
    """
    RP, RS, DR = p.RP, s.RS, d.DR
    nr = RP.shape[0]
    for r in range(nr):
        RS[r, L.RS_SHIPPED] = DR[r]
    for r in range(nr):
        if DR[r] <= 0.0:
            continue
        q = int(RP[r, L.R_RECIPIENT])
        c = int(RP[r, L.R_CATEGORY])
        lead = True
        for o in range(r):
            if DR[o] > 0.0 and int(RP[o, L.R_RECIPIENT]) == q and int(RP[o, L.R_CATEGORY]) == c:
                lead = False
                break
        if not lead:
            continue
        offered = 0.0
        for o in range(r, nr):
            if DR[o] > 0.0 and int(RP[o, L.R_RECIPIENT]) == q and int(RP[o, L.R_CATEGORY]) == c:
                offered += DR[o]
        room = math.floor(route_need(r, p, s)[1] + 0.5)
        if offered <= room:
            continue
        given = 0.0
        for o in range(r, nr):
            if DR[o] > 0.0 and int(RP[o, L.R_RECIPIENT]) == q and int(RP[o, L.R_CATEGORY]) == c:
                RS[o, L.RS_SHIPPED] = math.floor(DR[o] * room / offered)
                given += RS[o, L.RS_SHIPPED]
        while given < room:
            best = -1
            best_rest = -1.0
            for o in range(r, nr):
                if (DR[o] > 0.0 and int(RP[o, L.R_RECIPIENT]) == q
                        and int(RP[o, L.R_CATEGORY]) == c):
                    rest = DR[o] * room / offered - RS[o, L.RS_SHIPPED]
                    if rest > best_rest:
                        best = o
                        best_rest = rest
            RS[best, L.RS_SHIPPED] += 1.0
            given += 1.0


@njit
def deliver(key, p, s, d):
    """Deliveries move; production assistance builds the recipient's own capacity.

    Records the month's shipments (after :func:`share_need`) and arms revenue, and the military
    value reaching each side of the war in ``G``: imports, then imports plus what it produces at
    home (``milex`` x ``value_per_milex``, plus the capacity production assistance built).
    """
    CP, RP, SA, RS, BUILT, G, AP = p.CP, p.RP, s.SA, s.RS, s.BUILT, s.G, p.AP
    att = int(p.W[L.W_ATTACKER])
    dfd = int(p.W[L.W_DEFENDER])
    for i in range(SA.shape[0]):
        SA[i, L.S_REVENUE] = 0.0
        SA[i, L.S_EXPOSED] = 0.0
    share_need(p, s, d)
    v_att = 0.0
    v_def = 0.0
    for r in range(RP.shape[0]):
        units = RS[r, L.RS_SHIPPED]
        RS[r, L.RS_DETECTED] = 0.0
        RS[r, L.RS_DENIED] = 0.0
        if units <= 0.0:
            continue
        sup = int(RP[r, L.R_SUPPLIER])
        q = int(RP[r, L.R_RECIPIENT])
        c = int(RP[r, L.R_CATEGORY])
        RS[r, L.RS_TOTAL] += units
        if RS[r, L.RS_FIRST] < 0.0:
            RS[r, L.RS_FIRST] = key.month
        if CP[c, L.C_ESC_W] > 0.0 and committed(sup, p, s) >= 0.0:
            RS[r, L.RS_UNDER_DEAL] += 1.0
        SA[sup, L.S_REVENUE] += units * CP[c, L.C_PRICE]
        b = int(CP[c, L.C_BUILDS])
        if b >= 0:
            BUILT[q, b] = min(max(p.DEM[q, b], BUILT[q, b]),
                              BUILT[q, b] + units * CP[c, L.C_BUILD_RATE])
        if q == att:
            v_att += units * CP[c, L.C_VALUE]
        elif q == dfd:
            v_def += units * CP[c, L.C_VALUE]
    G[L.G_IMPORTS] = v_att + v_def
    own_att = AP[att, L.A_MILEX] * p.W[L.W_VALUE_PER_MILEX]
    own_def = AP[dfd, L.A_MILEX] * p.W[L.W_VALUE_PER_MILEX]
    for c in range(CP.shape[0]):
        own_att += BUILT[att, c] * CP[c, L.C_VALUE]
        own_def += BUILT[dfd, c] * CP[c, L.C_VALUE]
    G[L.G_OWN_ATT] = own_att
    G[L.G_OWN_DEF] = own_def
    G[L.G_V_ATT] = v_att + own_att
    G[L.G_V_DEF] = v_def + own_def


@njit
def detect(key, p, s, d):
    """Detection draws make shipments public; an exposed supplier may deny.

    The monitors of a deal watch its party too (:func:`detection_chance`).

    Leaves the month's escalation-weighted detections of each supplier in ``SCR[:, 0]`` for the
    sanctioners' trigger. ``S_EXPOSED`` counts the exposed covert transfers (open aid is public,
    not an exposure).
    """
    CP, RP, RS, SCR = p.CP, p.RP, s.RS, d.SCR
    for i in range(s.SA.shape[0]):
        SCR[i, 0] = 0.0
    for r in range(RP.shape[0]):
        if RS[r, L.RS_SHIPPED] <= 0.0:
            continue
        sup = int(RP[r, L.R_SUPPLIER])
        c = int(RP[r, L.R_CATEGORY])
        if chance(detection_chance(r, p, s), key, p.AP[sup, L.A_ID], RP[r, L.R_ID], DETECT):
            RS[r, L.RS_DETECTED] = 1.0
            RS[r, L.RS_DETECTED_TOTAL] += 1.0
            if CP[c, L.C_ESC_W] > 0.0:
                s.SA[sup, L.S_EXPOSED] += 1.0
            SCR[sup, 0] += CP[c, L.C_ESC_W]
            if chance(p.AP[sup, L.A_DENY], key, p.AP[sup, L.A_ID], RP[r, L.R_ID], DENY):
                RS[r, L.RS_DENIED] = 1.0


@njit
def apply_sanctions(key, p, s, d):
    """Sanctions take their decided values; threats are issued, renewed or lapse.

    Credibility, warnings and the counts move too.

    A threat issued or renewed (after its package was imposed) this month binds shipments from
    next month, for ``deadline`` months.
    """
    SA, SANC, DA, THR, TDL, DTH = s.SA, s.SANC, d.DA, s.THR, s.TDL, d.DTH
    n = SA.shape[0]
    month = float(key.month)
    for i in range(n):
        for j in range(n):
            SANC[i, j] = clip(d.DS[i, j], 0.0, 1.0)
        SA[i, L.S_CRED] = clip(DA[i, L.DA_CRED], 0.0, 1.0)
        SA[i, L.S_WARNED] = DA[i, L.DA_WARN]
        SA[i, L.S_ESCALATIONS] += DA[i, L.DA_ESC]
        SA[i, L.S_FAILED] += DA[i, L.DA_FAILED]
        SA[i, L.S_THREATS] += DA[i, L.DA_THREATS]
        SA[i, L.S_COMPLIED] += DA[i, L.DA_COMPLIED]
        for r in range(THR.shape[1]):
            code = int(DTH[i, r])
            if code == L.TH_ISSUE or code == L.TH_IMPOSE:
                THR[i, r] = month + 1.0
                TDL[i, r] = month + p.AP[i, L.A_DEADLINE]
            elif code != L.TH_NONE:
                THR[i, r] = 0.0
                TDL[i, r] = 0.0


@njit
def advance_deals(key, p, s, d):
    """Relief deals move through their phases on what the party did this month.

    Being implemented: an exposed covert transfer is a breach (the agreement collapses back to
    talks); an unexposed one means the halt cannot be verified this month (the count of clean
    months restarts); a clean month counts, and after ``implementation_months`` clean months
    (at least one) the relief comes into force (Implementation Day): each counterpart's sanctions
    on the party at that moment are the level a broken deal snaps back from. In force: an exposed
    covert transfer breaks the deal with snap-back, never above a sender's cap (or the level it
    held on Implementation Day, if higher). An agreement of this month starts its implementation
    next month: the party's shipments of this month were decided before it.
    """
    TP, TS, SA, SANC, AP, RP, RS = p.TP, s.TS, s.SA, s.SANC, p.AP, p.RP, s.RS
    for t in range(TP.shape[0]):
        if int(TP[t, L.T_KIND]) != L.TRACK_RELIEF:
            continue
        party = int(TP[t, L.T_PARTY])
        exposed = SA[party, L.S_EXPOSED] > 0.0
        if TS[t, L.TS_IMPLEMENTING] >= 0.5:
            shipped = False
            for r in range(RP.shape[0]):
                if (int(RP[r, L.R_SUPPLIER]) == party and RS[r, L.RS_SHIPPED] > 0.0
                        and is_covert(r, p)):
                    shipped = True
            if exposed:
                TS[t, L.TS_IMPLEMENTING] = 0.0
                TS[t, L.TS_CLEAN] = 0.0
                TS[t, L.TS_BREACHES] += 1.0
            elif shipped:
                TS[t, L.TS_CLEAN] = 0.0
            else:
                TS[t, L.TS_CLEAN] += 1.0
                if TS[t, L.TS_CLEAN] >= max(1.0, TP[t, L.T_IMPL_MONTHS]):
                    TS[t, L.TS_IMPLEMENTING] = 0.0
                    TS[t, L.TS_ACTIVE] = 1.0
                    if TS[t, L.TS_REACHED] < 0.5:
                        TS[t, L.TS_REACHED] = 1.0
                        TS[t, L.TS_MONTH] = key.month
                    for i in range(AP.shape[0]):
                        s.TPRE[t, i] = SANC[i, party] if p.TM[t, i] > 0.0 else 0.0
        elif TS[t, L.TS_ACTIVE] >= 0.5 and exposed:
            TS[t, L.TS_ACTIVE] = 0.0
            TS[t, L.TS_BROKEN] = 1.0
            TS[t, L.TS_BREACHES] += 1.0
            if TS[t, L.TS_BROKEN_MONTH] < 0.0:
                TS[t, L.TS_BROKEN_MONTH] = key.month
            for i in range(AP.shape[0]):
                if p.TM[t, i] > 0.0:
                    ceiling = max(AP[i, L.A_ESC_CAP], s.TPRE[t, i])
                    back = max(SANC[i, party], s.TPRE[t, i]) + AP[i, L.A_SNAPBACK]
                    SANC[i, party] = max(SANC[i, party], min(ceiling, back))
        if d.DT[t, L.DT_DEAL] >= 0.5:
            TS[t, L.TS_IMPLEMENTING] = 1.0
            TS[t, L.TS_CLEAN] = 0.0


@njit
def update_trigger(p, s, d):
    """The sanctioners' evidence: the trigger remembers past detections and adds this month's."""
    SA = s.SA
    for i in range(SA.shape[0]):
        SA[i, L.S_TRIG] = p.W[L.W_TRIG_MEM] * SA[i, L.S_TRIG] + d.SCR[i, 0]


@njit
def grow_economies(key, p, s):
    """Economies move by log-growth, which keeps the GDP index positive.

    Annual growth = trend - (sanction damage - damage at the start) - war cost x (intensity -
    starting intensity) + arms revenue (share of GDP) + relief; plus a monthly shock. The trend is
    the growth observed under the starting conditions (war and sanctions included), so only their
    changes are added: nothing is counted twice. Sanction damage fades with adaptation.
    Adaptation and peak pressure update.
    """
    W, AP, TP, SA, TS = p.W, p.AP, p.TP, s.SA, s.TS
    for j in range(AP.shape[0]):
        relief = 0.0
        for t in range(TP.shape[0]):
            if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
                    and TS[t, L.TS_ACTIVE] >= 0.5):
                relief += TS[t, L.TS_TERMS]
        damage = W[L.W_DAMAGE] * SA[j, L.S_PRESSURE] * (1.0 - SA[j, L.S_ADAPT])
        gdp_usd_mn = AP[j, L.A_GDP] * 1000.0 * SA[j, L.S_GDP]
        revenue = 12.0 * SA[j, L.S_REVENUE] / gdp_usd_mn if gdp_usd_mn > 0.0 else 0.0
        war = W[L.W_WAR_COST] * AP[j, L.A_WAR_EXP] * (s.G[L.G_INTENSITY] - W[L.W_INT0])
        shock = W[L.W_SHOCK] * normal(key.seed, key.run, key.month, AP[j, L.A_ID], 0.0, SHOCK)
        annual = (AP[j, L.A_GROWTH] - (damage - SA[j, L.S_DAMAGE0]) - war + revenue
                  + W[L.W_RELIEF_BOOST] * relief)
        g = annual / 12.0 + shock / math.sqrt(12.0)
        SA[j, L.S_GDP] = SA[j, L.S_GDP] * math.exp(g)
        SA[j, L.S_REVENUE_TOTAL] += SA[j, L.S_REVENUE]
        if SA[j, L.S_PRESSURE] > 0.01:
            SA[j, L.S_ADAPT] += W[L.W_ADAPT] * (1.0 - SA[j, L.S_ADAPT])
        if SA[j, L.S_PRESSURE] > SA[j, L.S_PEAK]:
            SA[j, L.S_PEAK] = SA[j, L.S_PRESSURE]


@njit
def move_affinity(p, s, d):
    """Affinity moves.

    Transfers draw partners together, co-targets drift together, exposure costs goodwill with
    non-aligned audiences (less if publicly denied), all drift back. The pairwise changes from
    transfers collect in ``SCR`` first. The audiences' goodwill sets how much they bust sanctions
    on the supplier (:func:`update_pressure`).
    """
    W, AP, CP, RP, RS, SANC, AFF, SCR = p.W, p.AP, p.CP, p.RP, s.RS, s.SANC, s.AFF, d.SCR
    n = AP.shape[0]
    for i in range(n):
        for j in range(n):
            SCR[i, j] = 0.0
    for r in range(RP.shape[0]):
        units = RS[r, L.RS_SHIPPED]
        if units <= 0.0:
            continue
        sup = int(RP[r, L.R_SUPPLIER])
        q = int(RP[r, L.R_RECIPIENT])
        c = int(RP[r, L.R_CATEGORY])
        share = min(1.0, units / p.DEM[q, c]) if p.DEM[q, c] > 0.0 else 1.0
        SCR[sup, q] += W[L.W_TRANSFER_PULL] * share
        SCR[q, sup] += W[L.W_TRANSFER_PULL] * share
        if RS[r, L.RS_DETECTED] >= 0.5 and CP[c, L.C_ESC_W] > 0.0:
            loss = W[L.W_EXPOSURE] * (1.0 - W[L.W_DENIAL_SOFT] * RS[r, L.RS_DENIED])
            for k in range(n):
                if k == sup or k == q or AP[k, L.A_ALIGN] > 0.3 or SANC[k, sup] > _SANCTION_EPS:
                    continue
                SCR[sup, k] -= loss
                SCR[k, sup] -= loss
    for i in range(n):
        for j in range(i + 1, n):
            co = 0.0
            for k in range(n):
                co += min(SANC[k, i], SANC[k, j])
            change = (W[L.W_AFF_DRIFT] * (p.AFF0[i, j] - AFF[i, j])
                      + W[L.W_CO_PULL] * co + SCR[i, j])
            a = clip(AFF[i, j] + change, -1.0, 1.0)
            AFF[i, j] = a
            AFF[j, i] = a


@njit
def divert_trade(p, s):
    """A pressured target's trade shifts from its sanctioners toward partners that bust.

    Rows are renormalised when their sum passes 1.
    """
    W, AP, SANC, TRADE = p.W, p.AP, s.SANC, s.TRADE
    n = AP.shape[0]
    for j in range(n):
        pj = s.SA[j, L.S_PRESSURE]
        if pj <= 0.0:
            continue
        total = 0.0
        for k in range(n):
            if k == j:
                continue
            if SANC[k, j] > _SANCTION_EPS:
                TRADE[j, k] *= 1.0 - W[L.W_TRADE_DIV] * SANC[k, j]
            elif AP[k, L.A_BUSTING] > 0.0:
                TRADE[j, k] += W[L.W_TRADE_DIV] * pj * AP[k, L.A_BUSTING] * (1.0 - TRADE[j, k])
            total += TRADE[j, k]
        if total > 1.0:
            for k in range(n):
                TRADE[j, k] /= total


@njit
def supported_balance(p, s):
    """The balance this month's supply would hold the front at, in [-1, 1].

    Where :func:`move_war`'s drift and its pull back to 0 cancel: ``balance_gain`` x the supply
    advantage / ``balance_reversion``.
    """
    W, G = p.W, s.G
    total = G[L.G_V_ATT] + G[L.G_V_DEF]
    edge = (G[L.G_V_ATT] - G[L.G_V_DEF]) / total if total > 0.0 else 0.0
    if W[L.W_BAL_REV] <= 0.0:
        return 1.0 if edge > 0.0 else (-1.0 if edge < 0.0 else 0.0)
    return clip(W[L.W_BAL_GAIN] * edge / W[L.W_BAL_REV], -1.0, 1.0)


@njit
def keep_ceasefires(key, p, s):
    """A ceasefire in force may break down this month (Fortna 2004; Werner 1999).

    The monthly hazard is ``break_rate`` x (1 - ``strength``) x (1 + arms inflow + gap): the
    strength of the agreement (demilitarised zone, peacekeepers, guarantees) cuts it; arms
    imported by the two sides (per ``supply_ref``) raise it; so does the gap between the balance
    the forces now support (:func:`supported_balance`) and the line the terms drew, since a side
    the terms no longer suit has reason to fight. At a breakdown the war resumes, trust falls by
    ``trust_loss`` and the stalemate must be reached again.
    """
    TP, TS, G, W = p.TP, s.TS, s.G, p.W
    for t in range(TP.shape[0]):
        if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF or TS[t, L.TS_ACTIVE] < 0.5
                or TS[t, L.TS_SINCE] >= key.month):
            continue
        flow = min(1.0, G[L.G_IMPORTS] / W[L.W_SUPPLY_REF])
        gap = abs(supported_balance(p, s) - TS[t, L.TS_TERMS])
        hazard = min(1.0, TP[t, L.T_BREAK_RATE] * (1.0 - TP[t, L.T_STRENGTH])
                     * (1.0 + flow + gap))
        TS[t, L.TS_HAZARD] = hazard
        TS[t, L.TS_GAP] = gap
        party = int(TP[t, L.T_PARTY])
        if chance(hazard, key, p.AP[party, L.A_ID], TP[t, L.T_ID], BREAKDOWN):
            TS[t, L.TS_ACTIVE] = 0.0
            TS[t, L.TS_BREACHES] += 1.0
            if TS[t, L.TS_BROKEN] < 0.5:
                TS[t, L.TS_BROKEN] = 1.0
                TS[t, L.TS_BROKEN_MONTH] = key.month
            TS[t, L.TS_TRUST] = TS[t, L.TS_TRUST] * (1.0 - TP[t, L.T_TRUST_LOSS])
            TS[t, L.TS_STALEMATE] = 0.0
            TS[t, L.TS_TREND] = 0.0
            G[L.G_CEASEFIRE] = 0.0


@njit
def move_war(key, p, s):
    """The war's intensity follows supply, its balance the supply advantage and luck.

    Each side's supply is what it produces at home and what it imports (:func:`deliver`). The
    intensity moves toward ``base_intensity`` + ``supply_intensity`` x min(1, supply of both
    sides / (2 ``supply_ref``)); the balance moves by ``balance_gain`` x (attacker - defender) /
    (attacker + defender), minus ``balance_reversion`` x the balance, plus luck. Under a ceasefire
    the intensity is the ceasefire level and the balance stays.
    """
    W, G, AP = p.W, s.G, p.AP
    ref = W[L.W_SUPPLY_REF]
    G[L.G_MOVE] = 0.0
    if G[L.G_CEASEFIRE] >= 0.5:
        G[L.G_INTENSITY] = W[L.W_CF_INT]
    else:
        v_att = G[L.G_V_ATT]
        v_def = G[L.G_V_DEF]
        target = W[L.W_INT_BASE] + W[L.W_SUPPLY_INT] * min(1.0, (v_att + v_def) / (2.0 * ref))
        G[L.G_INTENSITY] = clip(G[L.G_INTENSITY] + W[L.W_INT_RATE] * (target - G[L.G_INTENSITY]),
                                0.0, 1.0)
        att = int(W[L.W_ATTACKER])
        dfd = int(W[L.W_DEFENDER])
        luck = W[L.W_BAL_SD] * normal(key.seed, key.run, key.month, AP[att, L.A_ID],
                                      AP[dfd, L.A_ID], WAR)
        total = v_att + v_def
        edge = (v_att - v_def) / total if total > 0.0 else 0.0
        before = G[L.G_BALANCE]
        G[L.G_BALANCE] = clip(before + W[L.W_BAL_GAIN] * edge - W[L.W_BAL_REV] * before + luck,
                              -1.0, 1.0)
        G[L.G_MOVE] = G[L.G_BALANCE] - before


@njit
def update_tracks(key, p, s):
    """Trust on the tracks, and the count of hurting-stalemate months.

    Relief: an exposed transfer costs a share of trust per exposure, a quiet month gains some.
    Ceasefire: arms flowing to the war cost trust in proportion to their value. The front's trend
    is the balance's monthly change smoothed over ``stalemate_months``; a month of hurting
    stalemate (Zartman 2000) is one at war in which the trend, a year ahead, moves the front less
    than ``stalemate_band`` and the intensity is above ``hurting_intensity``. Ripeness is such a
    stalemate lasting ``stalemate_months`` in a row: it comes from the war's course, not from
    where it starts.
    """
    TP, TS, G = p.TP, s.TS, s.G
    ref = p.W[L.W_SUPPLY_REF]
    for t in range(TP.shape[0]):
        party = int(TP[t, L.T_PARTY])
        trust = TS[t, L.TS_TRUST]
        gain = TP[t, L.T_TRUST_GAIN] * (1.0 - trust)
        if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            exposed = s.SA[party, L.S_EXPOSED]
            if exposed > 0.0:
                trust = trust * (1.0 - TP[t, L.T_TRUST_LOSS]) ** exposed
            else:
                trust = trust + gain
        else:
            flow = min(1.0, G[L.G_IMPORTS] / ref)
            trust = trust + gain - TP[t, L.T_TRUST_LOSS] * flow * trust
            if G[L.G_CEASEFIRE] >= 0.5:
                TS[t, L.TS_STALEMATE] = 0.0
                TS[t, L.TS_TREND] = 0.0
            else:
                span = max(1.0, TP[t, L.T_STALE_MONTHS])
                TS[t, L.TS_TREND] += (G[L.G_MOVE] - TS[t, L.TS_TREND]) / span
                if (12.0 * abs(TS[t, L.TS_TREND]) < TP[t, L.T_STALE_BAND]
                        and G[L.G_INTENSITY] > TP[t, L.T_HURT_INT]):
                    TS[t, L.TS_STALEMATE] += 1.0
                    if (TS[t, L.TS_STALEMATE] >= TP[t, L.T_STALE_MONTHS]
                            and TS[t, L.TS_RIPE_MONTH] < 0.0):
                        TS[t, L.TS_RIPE_MONTH] = key.month
                else:
                    TS[t, L.TS_STALEMATE] = 0.0
        TS[t, L.TS_TRUST] = clip(trust, 0.0, 1.0)


@njit
def feel_pain(p, s):
    """Economic pain (effective pressure) raises an actor's priority of relief."""
    AP, SA = p.AP, s.SA
    for j in range(AP.shape[0]):
        if AP[j, L.A_PAIN] > 0.0:
            prio = SA[j, L.S_PRIO]
            SA[j, L.S_PRIO] = clip(prio + AP[j, L.A_PAIN] * SA[j, L.S_PRESSURE] / 12.0
                                   * (1.0 - prio), 0.0, 1.0)


@njit
def count_halts(s, d, p):
    """The month's halts ordered by governments and defied by their security apparatus."""
    RP, DW, SA = p.RP, d.DW, s.SA
    for i in range(SA.shape[0]):
        halted = 0.0
        defied = 0.0
        for r in range(RP.shape[0]):
            if int(RP[r, L.R_SUPPLIER]) == i:
                halted = max(halted, DW[r, L.DW_HALT])
                defied = max(defied, DW[r, L.DW_DEFIED])
        SA[i, L.S_HALTS] += halted
        SA[i, L.S_DEFIED] += defied


@njit
def resolve_month(key, p, s, d):
    """Apply every decision of the month at once and move the world one month.

    The phases, in the order of ODD section 3: agreements take effect; deliveries; detection;
    sanctions and threats; relief deals' phases (implementation, breach, snap-back); the trigger;
    pressure with leakage; economies; affinity; trade diversion; ceasefires that break; the war;
    the tracks; domestic pressure for relief.
    """
    take_deals(key, p, s, d)
    deliver(key, p, s, d)
    detect(key, p, s, d)
    apply_sanctions(key, p, s, d)
    advance_deals(key, p, s, d)
    count_halts(s, d, p)
    update_trigger(p, s, d)
    update_pressure(p, s)
    grow_economies(key, p, s)
    move_affinity(p, s, d)
    divert_trade(p, s)
    keep_ceasefires(key, p, s)
    move_war(key, p, s)
    update_tracks(key, p, s)
    feel_pain(p, s)
