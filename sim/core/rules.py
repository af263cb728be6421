"""The rules of diplosim, written once as compiled functions over arrays.

Both engines call these functions: the Mesa model (one agent object per actor, one run) and the
Numba ensemble kernel (thousands of runs). A month is simultaneous: every ``decide_*`` function
reads only last month's state and writes only its own decisions; ``resolve_month`` then applies
all decisions at once, phase by phase. The order of a month is written once, in
:mod:`sim.core.month`. Columns are named in :mod:`sim.core.layout` (``L.NAME``); the equations are
written up in ``docs/ODD.md`` (section 7, submodels).

The arrays travel in four named tuples, always in this order:

* :class:`DrawKey` ``key``: seed, run and month, the part of every draw's key the run fixes;
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
from sim.core.rng import COHESION, DEAL, DENY, DETECT, SECONDARY, SHIP, SHOCK, WAR, normal, uniform

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
    """Own production built by assistance, units a month, ``BUILT[actor, category]``."""
    RS: np.ndarray
    """Routes, ``RS[route, ...]``."""
    TS: np.ndarray
    """Tracks, ``TS[track, ...]``."""
    TPRE: np.ndarray
    """Sanctions of each counterpart before the relief deal in force, ``TPRE[track, actor]``."""
    G: np.ndarray
    """The war and the month's arms flows, ``G[...]``."""


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
                 np.zeros((nt, n)), np.zeros(L.NG))


@alloc_njit
def new_decisions(n, nr, nt):
    """Zeroed decision arrays (and scratch) for ``n`` actors, ``nr`` routes, ``nt`` tracks."""
    return Decisions(np.zeros(nr), np.zeros((n, n)), np.zeros((n, L.NDA)), np.zeros((nt, L.NDT)),
                     np.zeros((n, max(n, 1))))


@njit
def clip(x, lo, hi):
    """``x`` limited to [lo, hi]."""
    return lo if x < lo else (hi if x > hi else x)


@njit
def chance(prob, key, actor, counterpart, purpose):
    """True with probability ``prob``, decided by the keyed uniform draw (see :mod:`sim.core.rng`).

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
# Initial state and scheduled events
# ------------------------------------------------------------------------------------------


@njit
def init_state(p, s):
    """Set the month-0 state from the parameters (in place)."""
    SA, AP, TS, G = s.SA, p.AP, s.TS, s.G
    n = AP.shape[0]
    SA[:, :] = 0.0
    for i in range(n):
        SA[i, L.S_GDP] = 1.0
        SA[i, L.S_CRED] = AP[i, L.A_CRED]
        SA[i, L.S_WARNED] = AP[i, L.A_WARNING]
        SA[i, L.S_PRIO] = AP[i, L.A_PRIO]
    copy_into(s.AFF, p.AFF0)
    copy_into(s.SANC, p.SANC0)
    copy_into(s.TRADE, p.TRADE0)
    s.BUILT[:, :] = 0.0
    s.RS[:, :] = 0.0
    s.RS[:, L.RS_FIRST] = -1.0
    TS[:, :] = 0.0
    for t in range(p.TP.shape[0]):
        TS[t, L.TS_TRUST] = p.TP[t, L.T_TRUST0]
        TS[t, L.TS_MONTH] = -1.0
        TS[t, L.TS_BROKEN_MONTH] = -1.0
    s.TPRE[:, :] = 0.0
    G[:] = 0.0
    G[L.G_INTENSITY] = p.W[L.W_INT0]
    G[L.G_BALANCE] = p.W[L.W_BAL0]
    update_pressure(p, s)
    for i in range(n):
        SA[i, L.S_PEAK] = SA[i, L.S_PRESSURE]


@njit
def apply_events(month, p, s):
    """Fire the scheduled events of ``month``: each sets one parameter (and its live state).

    ``EV`` rows are (month, table, row, column, value). Relief priority, credibility and the
    public warning are both parameters and state, so an event on them changes the state too.
    """
    EV = p.EV
    for e in range(EV.shape[0]):
        if int(EV[e, 0]) != month:
            continue
        table = int(EV[e, 1])
        row = int(EV[e, 2])
        col = int(EV[e, 3])
        value = EV[e, 4]
        if table == L.EV_WORLD:
            p.W[col] = value
        elif table == L.EV_ACTOR:
            p.AP[row, col] = value
            if col == L.A_PRIO:
                s.SA[row, L.S_PRIO] = value
            elif col == L.A_CRED:
                s.SA[row, L.S_CRED] = value
            elif col == L.A_WARNING:
                s.SA[row, L.S_WARNED] = value
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


# ------------------------------------------------------------------------------------------
# Decisions (read last month's state, write only decisions)
# ------------------------------------------------------------------------------------------
#
# The three ``decide_*`` rules run once per route, actor or track every month. A call that is
# not inlined passes the four tuples flattened (some 250 words on the stack per call), which cost
# the ensemble kernel about 15%; ``inline="always"`` inlines them in Numba's IR instead.


@njit
def clear_decisions(s, d):
    """Before anyone decides: nothing shipped, every sanction kept at its level."""
    d.DR[:] = 0.0
    copy_into(d.DS, s.SANC)


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
def threat_against(supplier, p, s):
    """Credible threat hanging over ``supplier``.

    The sum over hostile sanctioners of credibility x leverage x headroom to their cap, halved
    for those that have not warned.
    """
    AP, SA = p.AP, s.SA
    threat = 0.0
    for i in range(AP.shape[0]):
        if i == supplier or AP[i, L.A_ESC_STEP] <= 0.0 or s.AFF[i, supplier] >= 0.0:
            continue
        headroom = max(0.0, AP[i, L.A_ESC_CAP] - s.SANC[i, supplier])
        stage = 1.0 if SA[i, L.S_WARNED] >= 0.5 else 0.5
        threat += stage * SA[i, L.S_CRED] * AP[i, L.A_LEVERAGE] * headroom
    return threat


@njit
def relief_at_risk(supplier, p_detect, p, s):
    """Relief ``supplier`` puts at risk by shipping.

    Under a relief deal in force the halt is a commitment: shipping at all costs its full
    priority for relief. In talks, the risk is the chance of exposure times the trust built so
    far (an exposed shipment destroys it).
    """
    TP, TS, SA = p.TP, s.TS, s.SA
    risk = 0.0
    for t in range(TP.shape[0]):
        if int(TP[t, L.T_KIND]) != L.TRACK_RELIEF or int(TP[t, L.T_PARTY]) != supplier:
            continue
        if TS[t, L.TS_ACTIVE] >= 0.5:
            risk += SA[supplier, L.S_PRIO]
        else:
            risk += p_detect * SA[supplier, L.S_PRIO] * TS[t, L.TS_TRUST]
    return risk


@njit(inline="always")
def decide_supply(r, key, p, s, d):
    """The supplier's choice on route ``r``: ship ``units`` with logistic probability, or not.

    U = base + propensity + w_aff * affinity + w_need * need + w_price * revenue (% of GDP)
        - w_risk * p_detect * escalation_weight * threat - w_relief * relief_at_risk
    P(ship) = 1 / (1 + exp(-U)). The units are the recipient's unmet need (for production
    assistance, the packages it asks for), capped by the supplier's capacity, rounded.
    Writes the units shipped (0 if not) to ``DR[r]``. One uniform draw per open route-month,
    keyed (seed, run, month, supplier, route, SHIP).
    """
    W, AP, CP, RP = p.W, p.AP, p.CP, p.RP
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
    p_det = CP[c, L.C_DETECT]
    risk = 0.0
    if p_det > 0.0 and CP[c, L.C_ESC_W] > 0.0:  # (0 x threat is 0: skip the sum for open aid)
        risk = p_det * CP[c, L.C_ESC_W] * threat_against(sup, p, s)
    relief = relief_at_risk(sup, p_det, p, s)
    u = (W[L.W_SUPPLY_BASE] + RP[r, L.R_PROPENSITY] + W[L.W_W_AFF] * s.AFF[sup, q]
         + W[L.W_W_NEED] * need + W[L.W_W_PRICE] * revenue_pct - W[L.W_W_RISK] * risk
         - W[L.W_W_RELIEF] * relief)
    if chance(logistic(u), key, sup, r, SHIP):
        d.DR[r] = units


@njit(inline="always")
def decide_sanctions(i, key, p, s, d):
    """Sanctioner ``i`` sets its row of sanctions for next month.

    Against each hostile target whose trigger (escalation-weighted detected transfers, with
    memory) passes ``escalation_threshold``: warn first if it has not warned; otherwise escalate
    by ``escalation_step`` up to ``escalation_cap`` when its members act together (chance
    ``cohesion``), gaining credibility, or lose credibility when they do not. While a relief deal
    with the target is kept, ease toward the agreed level; otherwise decay to the starting level.
    A doctrine with ``secondary`` > 0 also sanctions facilitators of a target it escalates on.
    """
    AP, TP, TM, SA, TS, SANC, DS = p.AP, p.TP, p.TM, s.SA, s.TS, s.SANC, d.DS
    n = AP.shape[0]
    step = AP[i, L.A_ESC_STEP]
    cap = AP[i, L.A_ESC_CAP]
    cred = SA[i, L.S_CRED]
    warned = SA[i, L.S_WARNED]
    escalations = 0.0
    failed = 0.0
    in_deal = False  # a counterpart of a relief deal in force: the only case that eases
    for t in range(TP.shape[0]):
        if TM[t, i] > 0.0 and TS[t, L.TS_ACTIVE] >= 0.5 and int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            in_deal = True
    for j in range(n):
        now = SANC[i, j]
        new = now
        if j == i:
            DS[i, j] = 0.0
            continue
        eased = False
        if in_deal:
            for t in range(TP.shape[0]):
                if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
                        and TM[t, i] > 0.0 and TS[t, L.TS_ACTIVE] >= 0.5):
                    floor = s.TPRE[t, i] * (1.0 - TS[t, L.TS_TERMS])
                    new = max(floor, now - AP[i, L.A_EASE]) if now > floor else now
                    eased = True
        if not eased:
            trig = SA[j, L.S_TRIG]
            if (step > 0.0 and trig >= AP[i, L.A_ESC_THRESH] and trig > 0.0
                    and s.AFF[i, j] < 0.0):
                if warned < 0.5:
                    warned = 1.0
                elif now < cap - 1e-12:
                    if chance(AP[i, L.A_COHESION], key, i, j, COHESION):
                        new = min(cap, now + step)
                        escalations += 1.0
                        cred = cred + AP[i, L.A_CRED_GAIN] * (1.0 - cred)
                    else:
                        failed += 1.0
                        cred = cred * (1.0 - AP[i, L.A_CRED_LOSS])
            elif now > p.SANC0[i, j]:
                new = now - AP[i, L.A_DECAY] * (now - p.SANC0[i, j])
        DS[i, j] = new
    sec = AP[i, L.A_SECONDARY]
    if sec > 0.0 and escalations > 0.0:
        for j in range(n):
            if j != i and DS[i, j] > SANC[i, j]:
                _secondary(i, j, key, sec * step, sec * cap, p, s, d)
    d.DA[i, L.DA_CRED] = cred
    d.DA[i, L.DA_WARN] = warned
    d.DA[i, L.DA_ESC] = escalations
    d.DA[i, L.DA_FAILED] = failed


@njit
def _secondary(i, j, key, step, cap, p, s, d):
    """Secondary sanctions by ``i`` on facilitators of target ``j`` (partners that bust).

    Runs after ``i``'s whole row is decided, so it only ever raises ``DS[i, k]``.
    """
    AP, DS = p.AP, d.DS
    for k in range(AP.shape[0]):
        if k == i or k == j or s.AFF[i, k] >= 0.5:
            continue
        facilitation = s.TRADE[j, k] * AP[k, L.A_BUSTING]
        if facilitation < 0.05:
            continue
        if chance(AP[i, L.A_COHESION], key, i, k, SECONDARY):
            DS[i, k] = max(DS[i, k], min(cap, s.SANC[i, k] + step))


@njit(inline="always")
def decide_track(t, key, p, s, d):
    """Negotiation on track ``t``: both sides value a deal against no deal.

    A deal is struck by chance if a zone of agreement exists and trust suffices; its terms are
    the Nash bargaining solution.

    Relief: the party gains ``relief_priority * x`` from lifting a share x of sanctions and loses
    ``halt_cost * affinity with its recipients`` by halting transfers; the senders concede at most
    their leverage-weighted mean ``relief_offer`` (times cohesion for blocs). With linear
    utilities the Nash product (prio x - c)(x_max - x) peaks at x* = (x_min + x_max) / 2, where
    x_min = c / prio. The monthly chance of a deal is base_rate x trust x (x_max - x_min) / x_max:
    the wider the zone of agreement, the easier the talks.

    Ceasefire: a zone of agreement exists only in a mutually hurting stalemate. Each side's
    disagreement value is the balance it expects minus its war cost; the Nash split puts the line
    at balance + (cost_defender - cost_attacker) / 2.
    """
    AP, RP, TP, TS, G, DT = p.AP, p.RP, p.TP, s.TS, s.G, d.DT
    DT[t, L.DT_DEAL] = 0.0
    DT[t, L.DT_TERMS] = 0.0
    DT[t, L.DT_ZOPA] = 0.0
    party = int(TP[t, L.T_PARTY])
    trust = TS[t, L.TS_TRUST]
    if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
        if TS[t, L.TS_ACTIVE] >= 0.5:
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
        if chance(TP[t, L.T_BASE_RATE] * trust * surplus, key, party, t, DEAL):
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
        if int(TP[t, L.T_MEDIATOR]) >= 0:
            rate = rate * (1.0 + TP[t, L.T_MED_BONUS])
        if chance(min(rate, 1.0), key, party, t, DEAL):
            att = int(p.W[L.W_ATTACKER])
            dfd = int(p.W[L.W_DEFENDER])
            cost_a = AP[att, L.A_WAR_EXP] * G[L.G_INTENSITY]
            cost_d = AP[dfd, L.A_WAR_EXP] * G[L.G_INTENSITY]
            DT[t, L.DT_DEAL] = 1.0
            DT[t, L.DT_TERMS] = clip(G[L.G_BALANCE] + 0.5 * (cost_d - cost_a), -1.0, 1.0)


# ------------------------------------------------------------------------------------------
# Resolution of the month, phase by phase (ODD section 3, stages 1-11)
# ------------------------------------------------------------------------------------------


@njit
def update_pressure(p, s):
    """Raw pressure, leakage and effective pressure on every actor (in place).

    raw_j = 1 - prod_i (1 - s_ij * leverage_i)
    leak_j = min(max_leak, (1 - coalition_share) * leak_gain
                 * sum_k trade_jk * busting_k * (1 - max_i s_ik) * (1 - s_kj))
    pressure_j = raw_j * (1 - leak_j)
    A partner under sanctions itself (at most intensity max_i s_ik, from secondary sanctions for
    example) busts that much less: its firms keep their access to the sender's markets.
    """
    W, AP, SA, SANC, TRADE = p.W, p.AP, s.SA, s.SANC, s.TRADE
    n = AP.shape[0]
    for j in range(n):
        keep = 1.0
        for i in range(n):
            if i != j:
                keep *= 1.0 - SANC[i, j] * AP[i, L.A_LEVERAGE]
        SA[j, L.S_RAW] = 1.0 - keep
    # Busting through each partner k, summed over k in order for every j (S_LEAK holds the sum
    # until the leak is known); the largest sanction on k is found once per k, not once per j.
    for j in range(n):
        SA[j, L.S_LEAK] = 0.0
    for k in range(n):
        hit = 0.0
        for i in range(n):
            if i != k and SANC[i, k] > hit:
                hit = SANC[i, k]
        for j in range(n):
            if j != k:
                SA[j, L.S_LEAK] += (TRADE[j, k] * AP[k, L.A_BUSTING] * (1.0 - hit)
                                    * (1.0 - SANC[k, j]))
    for j in range(n):
        leak = (1.0 - W[L.W_COALITION]) * W[L.W_LEAK_GAIN] * SA[j, L.S_LEAK]
        SA[j, L.S_LEAK] = min(W[L.W_MAX_LEAK], leak)
        SA[j, L.S_PRESSURE] = SA[j, L.S_RAW] * (1.0 - SA[j, L.S_LEAK])


@njit
def take_deals(key, p, s, d):
    """Stage 1: deals struck this month take effect.

    A relief deal records each counterpart's sanctions on the party at signing (the level a
    broken deal snaps back from); a ceasefire stops the war.
    """
    TP, TS = p.TP, s.TS
    for t in range(TP.shape[0]):
        if d.DT[t, L.DT_DEAL] < 0.5:
            continue
        TS[t, L.TS_ACTIVE] = 1.0
        TS[t, L.TS_TERMS] = d.DT[t, L.DT_TERMS]
        if TS[t, L.TS_REACHED] < 0.5:
            TS[t, L.TS_REACHED] = 1.0
            TS[t, L.TS_MONTH] = key.month
        party = int(TP[t, L.T_PARTY])
        if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            for i in range(p.AP.shape[0]):
                s.TPRE[t, i] = s.SANC[i, party] if p.TM[t, i] > 0.0 else 0.0
        else:
            s.G[L.G_CEASEFIRE] = 1.0


@njit
def deliver(key, p, s, d):
    """Stage 2: deliveries move; production assistance builds the recipient's own capacity.

    Records the month's shipments and arms revenue, and the military value reaching each side
    of the war (imports, then imports plus own production) in ``G``.
    """
    CP, RP, SA, RS, BUILT, G = p.CP, p.RP, s.SA, s.RS, s.BUILT, s.G
    att = int(p.W[L.W_ATTACKER])
    dfd = int(p.W[L.W_DEFENDER])
    for i in range(SA.shape[0]):
        SA[i, L.S_REVENUE] = 0.0
        SA[i, L.S_EXPOSED] = 0.0
    v_att = 0.0
    v_def = 0.0
    for r in range(RP.shape[0]):
        units = d.DR[r]
        RS[r, L.RS_SHIPPED] = units
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
        SA[sup, L.S_REVENUE] += units * CP[c, L.C_PRICE]
        b = int(CP[c, L.C_BUILDS])
        if b >= 0:
            BUILT[q, b] = min(max(p.DEM[q, b], BUILT[q, b]),
                              BUILT[q, b] + units * CP[c, L.C_BUILD_RATE])
        if q == att:
            v_att += units * CP[c, L.C_VALUE]
        elif q == dfd:
            v_def += units * CP[c, L.C_VALUE]
    imports = v_att + v_def
    for c in range(CP.shape[0]):
        v_att += BUILT[att, c] * CP[c, L.C_VALUE]
        v_def += BUILT[dfd, c] * CP[c, L.C_VALUE]
    G[L.G_V_ATT] = v_att
    G[L.G_V_DEF] = v_def
    G[L.G_IMPORTS] = imports


@njit
def detect(key, p, s, d):
    """Stage 3: detection draws make shipments public; an exposed supplier may deny.

    Leaves the month's escalation-weighted detections of each supplier in ``SCR[:, 0]`` for the
    sanctioners' trigger (stage 4).
    """
    CP, RP, RS, SCR = p.CP, p.RP, s.RS, d.SCR
    for i in range(s.SA.shape[0]):
        SCR[i, 0] = 0.0
    for r in range(RP.shape[0]):
        if RS[r, L.RS_SHIPPED] <= 0.0:
            continue
        sup = int(RP[r, L.R_SUPPLIER])
        c = int(RP[r, L.R_CATEGORY])
        if chance(CP[c, L.C_DETECT], key, sup, r, DETECT):
            RS[r, L.RS_DETECTED] = 1.0
            RS[r, L.RS_DETECTED_TOTAL] += 1.0
            s.SA[sup, L.S_EXPOSED] += 1.0
            SCR[sup, 0] += CP[c, L.C_ESC_W]
            if chance(p.AP[sup, L.A_DENY], key, sup, r, DENY):
                RS[r, L.RS_DENIED] = 1.0


@njit
def apply_sanctions(s, d):
    """Stage 4a: sanctions take their decided values; credibility, warnings and the counts."""
    SA, SANC, DA = s.SA, s.SANC, d.DA
    n = SA.shape[0]
    for i in range(n):
        for j in range(n):
            SANC[i, j] = clip(d.DS[i, j], 0.0, 1.0)
        SA[i, L.S_CRED] = clip(DA[i, L.DA_CRED], 0.0, 1.0)
        SA[i, L.S_WARNED] = DA[i, L.DA_WARN]
        SA[i, L.S_ESCALATIONS] += DA[i, L.DA_ESC]
        SA[i, L.S_FAILED] += DA[i, L.DA_FAILED]


@njit
def break_exposed_deals(key, p, s):
    """Stage 4b: a relief deal whose party was exposed this month breaks, with snap-back.

    Each counterpart's sanctions return to at least their level at signing, plus its snapback.
    """
    TP, TS, SANC = p.TP, s.TS, s.SANC
    for t in range(TP.shape[0]):
        party = int(TP[t, L.T_PARTY])
        if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and TS[t, L.TS_ACTIVE] >= 0.5
                and s.SA[party, L.S_EXPOSED] > 0.0):
            TS[t, L.TS_ACTIVE] = 0.0
            TS[t, L.TS_BROKEN] = 1.0
            if TS[t, L.TS_BROKEN_MONTH] < 0.0:
                TS[t, L.TS_BROKEN_MONTH] = key.month
            for i in range(p.AP.shape[0]):
                if p.TM[t, i] > 0.0:
                    SANC[i, party] = min(1.0, max(SANC[i, party], s.TPRE[t, i])
                                         + p.AP[i, L.A_SNAPBACK])


@njit
def update_trigger(p, s, d):
    """Stage 4c: the sanctioners' trigger remembers past detections and adds this month's."""
    SA = s.SA
    for i in range(SA.shape[0]):
        SA[i, L.S_TRIG] = p.W[L.W_TRIG_MEM] * SA[i, L.S_TRIG] + d.SCR[i, 0]


@njit
def grow_economies(key, p, s):
    """Stage 6: economies move by log-growth, which keeps the GDP index positive.

    Annual growth = trend - sanction damage (fading with adaptation) - war cost + arms revenue
    (share of GDP) + relief; plus a monthly shock. Adaptation and peak pressure update.
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
        war = W[L.W_WAR_COST] * AP[j, L.A_WAR_EXP] * s.G[L.G_INTENSITY]
        shock = W[L.W_SHOCK] * normal(key.seed, key.run, key.month, j, 0, SHOCK)
        annual = (AP[j, L.A_GROWTH] - damage - war + revenue + W[L.W_RELIEF_BOOST] * relief)
        g = annual / 12.0 + shock / math.sqrt(12.0)
        SA[j, L.S_GDP] = SA[j, L.S_GDP] * math.exp(g)
        SA[j, L.S_REVENUE_TOTAL] += SA[j, L.S_REVENUE]
        if SA[j, L.S_PRESSURE] > 0.01:
            SA[j, L.S_ADAPT] += W[L.W_ADAPT] * (1.0 - SA[j, L.S_ADAPT])
        if SA[j, L.S_PRESSURE] > SA[j, L.S_PEAK]:
            SA[j, L.S_PEAK] = SA[j, L.S_PRESSURE]


@njit
def move_affinity(p, s, d):
    """Stage 7: affinity moves.

    Transfers draw partners together, sanctions push sender and target apart, co-targets drift
    together, exposure costs goodwill with non-aligned audiences, all drift back. The pairwise
    changes from transfers collect in ``SCR`` first.
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
                      - W[L.W_SANCTION_PUSH] * (SANC[i, j] + SANC[j, i])
                      + W[L.W_CO_PULL] * co + SCR[i, j])
            a = clip(AFF[i, j] + change, -1.0, 1.0)
            AFF[i, j] = a
            AFF[j, i] = a


@njit
def divert_trade(p, s):
    """Stage 8: a pressured target's trade shifts from its sanctioners toward partners that bust.

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
def move_war(key, p, s):
    """Stage 9: the war's intensity follows supply, its balance the supply advantage and luck.

    Under a ceasefire the intensity is the ceasefire level and the balance stays.
    """
    W, G = p.W, s.G
    ref = W[L.W_SUPPLY_REF]
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
        luck = W[L.W_BAL_SD] * normal(key.seed, key.run, key.month, att, dfd, WAR)
        G[L.G_BALANCE] = clip(G[L.G_BALANCE] + W[L.W_BAL_GAIN] * (v_att - v_def) / ref
                              - W[L.W_BAL_REV] * G[L.G_BALANCE] + luck, -1.0, 1.0)


@njit
def update_tracks(p, s):
    """Stage 10: trust on the tracks, and the count of hurting-stalemate months.

    Relief: an exposed transfer costs a share of trust per exposure, a quiet month gains some.
    Ceasefire: arms flowing to the war cost trust in proportion to their value.
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
            if (abs(G[L.G_BALANCE]) < TP[t, L.T_STALE_BAND]
                    and G[L.G_INTENSITY] > TP[t, L.T_HURT_INT]):
                TS[t, L.TS_STALEMATE] += 1.0
            else:
                TS[t, L.TS_STALEMATE] = 0.0
        TS[t, L.TS_TRUST] = clip(trust, 0.0, 1.0)


@njit
def feel_pain(p, s):
    """Stage 11: economic pain (effective pressure) raises an actor's priority of relief."""
    AP, SA = p.AP, s.SA
    for j in range(AP.shape[0]):
        if AP[j, L.A_PAIN] > 0.0:
            prio = SA[j, L.S_PRIO]
            SA[j, L.S_PRIO] = clip(prio + AP[j, L.A_PAIN] * SA[j, L.S_PRESSURE] / 12.0
                                   * (1.0 - prio), 0.0, 1.0)


@njit
def resolve_month(key, p, s, d):
    """Apply every decision of the month at once and move the world one month.

    The phases, in the order of ODD section 3: deals take effect; deliveries; detection;
    sanctions, snap-back and the trigger; pressure with leakage; economies; affinity; trade
    diversion; the war; the tracks; domestic pressure for relief.
    """
    take_deals(key, p, s, d)
    deliver(key, p, s, d)
    detect(key, p, s, d)
    apply_sanctions(s, d)
    break_exposed_deals(key, p, s)
    update_trigger(p, s, d)
    update_pressure(p, s)
    grow_economies(key, p, s)
    move_affinity(p, s, d)
    divert_trade(p, s)
    move_war(key, p, s)
    update_tracks(p, s)
    feel_pain(p, s)
