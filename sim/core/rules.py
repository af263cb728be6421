"""The rules of diplosim, written once as compiled functions over arrays.

Both engines call these functions: the Mesa model (one agent object per actor, one run) and the
Numba ensemble kernel (thousands of runs). A month is simultaneous: every ``decide_*`` function
reads only last month's state and writes only its own decision arrays; ``resolve_month`` then
applies all decisions at once. Array layouts are named in :mod:`sim.core.layout`; the equations are
written up in ``docs/ODD.md`` (section 7, submodels).

Argument groups, always in this order:

* parameters ``W, AP, CP, RP, TP, TM, CAP, DEM, AFF0, SANC0, TRADE0`` (events may change the first
  eight during a run, so each run owns a copy);
* state ``SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G``;
* decisions ``DR`` (units to ship per route), ``DS`` (new sanction matrix), ``DA`` (per actor),
  ``DT`` (per track).
"""

from __future__ import annotations

import math

from sim.core.jit import rule_njit as njit
from sim.core.layout import (
    A_ALIGN,
    A_BUSTING,
    A_COHESION,
    A_CRED,
    A_CRED_GAIN,
    A_CRED_LOSS,
    A_DECAY,
    A_DENY,
    A_EASE,
    A_ESC_CAP,
    A_ESC_STEP,
    A_ESC_THRESH,
    A_GDP,
    A_GROWTH,
    A_LEVERAGE,
    A_OFFER,
    A_PAIN,
    A_PRIO,
    A_SECONDARY,
    A_SNAPBACK,
    A_WAR_EXP,
    A_WARNING,
    C_BUILD_RATE,
    C_BUILDS,
    C_DETECT,
    C_ESC_W,
    C_PRICE,
    C_VALUE,
    DA_CRED,
    DA_ESC,
    DA_FAILED,
    DA_WARN,
    DT_DEAL,
    DT_TERMS,
    DT_ZOPA,
    EV_ACTOR,
    EV_CAPACITY,
    EV_CATEGORY,
    EV_DEMAND,
    EV_ROUTE,
    EV_TRACK,
    EV_WORLD,
    G_BALANCE,
    G_CEASEFIRE,
    G_IMPORTS,
    G_INTENSITY,
    G_MONTH,
    G_V_ATT,
    G_V_DEF,
    R_CATEGORY,
    R_OPEN,
    R_PROPENSITY,
    R_RECIPIENT,
    R_SUPPLIER,
    RS_DENIED,
    RS_DETECTED,
    RS_DETECTED_TOTAL,
    RS_FIRST,
    RS_SHIPPED,
    RS_TOTAL,
    S_ADAPT,
    S_CRED,
    S_DAMAGE,
    S_DENIED,
    S_ESCALATIONS,
    S_EXPOSED,
    S_FAILED,
    S_GDP,
    S_GROWTH,
    S_LEAK,
    S_PEAK,
    S_PRESSURE,
    S_PRIO,
    S_RAW,
    S_REVENUE,
    S_REVENUE_TOTAL,
    S_TRIG,
    S_WARNED,
    T_BASE_RATE,
    T_HALT_COST,
    T_HURT_INT,
    T_KIND,
    T_MED_BONUS,
    T_MEDIATOR,
    T_MIN_TRUST,
    T_PARTY,
    T_STALE_BAND,
    T_STALE_MONTHS,
    T_TRUST0,
    T_TRUST_GAIN,
    T_TRUST_LOSS,
    TRACK_RELIEF,
    TS_ACTIVE,
    TS_BROKEN,
    TS_BROKEN_MONTH,
    TS_MONTH,
    TS_REACHED,
    TS_STALEMATE,
    TS_TERMS,
    TS_TRUST,
    TS_ZOPA,
    W_ADAPT,
    W_AFF_DRIFT,
    W_ATTACKER,
    W_BAL0,
    W_BAL_GAIN,
    W_BAL_REV,
    W_BAL_SD,
    W_CF_INT,
    W_CO_PULL,
    W_COALITION,
    W_DAMAGE,
    W_DEFENDER,
    W_DENIAL_SOFT,
    W_EXPOSURE,
    W_INT0,
    W_INT_BASE,
    W_INT_RATE,
    W_LEAK_GAIN,
    W_MAX_LEAK,
    W_RELIEF_BOOST,
    W_SANCTION_PUSH,
    W_SHOCK,
    W_SUPPLY_BASE,
    W_SUPPLY_INT,
    W_SUPPLY_REF,
    W_TRADE_DIV,
    W_TRANSFER_PULL,
    W_TRIG_MEM,
    W_W_AFF,
    W_W_NEED,
    W_W_PRICE,
    W_W_RELIEF,
    W_W_RISK,
    W_WAR_COST,
)
from sim.core.rng import COHESION, DEAL, DENY, DETECT, SECONDARY, SHIP, SHOCK, WAR, normal, uniform

# A sanction below this is treated as absent (for leakage and audiences).
_SANCTION_EPS = 1e-9


@njit
def clip(x, lo, hi):
    """``x`` limited to [lo, hi]."""
    return lo if x < lo else (hi if x > hi else x)


@njit
def chance(p, seed, run, month, actor, counterpart, purpose):
    """True with probability ``p``, decided by the keyed uniform draw (see :mod:`sim.core.rng`).

    A uniform draw lies in [0, 1), so ``p <= 0`` is never and ``p >= 1`` always true: the draw is
    skipped then, with the same answer (draws are keyed, so skipping one shifts no other).
    """
    if p <= 0.0:
        return False
    if p >= 1.0:
        return True
    return uniform(seed, run, month, actor, counterpart, purpose) < p


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


@njit
def combine_pressure(intensities, leverages):
    """Raw pressure from several senders with diminishing returns: 1 - prod(1 - s_i * lev_i)."""
    keep = 1.0
    for i in range(intensities.shape[0]):
        keep *= 1.0 - intensities[i] * leverages[i]
    return 1.0 - keep


# ------------------------------------------------------------------------------------------
# Initial state and scheduled events
# ------------------------------------------------------------------------------------------


@njit
def init_state(W, AP, TP, AFF0, SANC0, TRADE0, SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G):
    """Set the month-0 state from the parameters (in place)."""
    n = AP.shape[0]
    SA[:, :] = 0.0
    for i in range(n):
        SA[i, S_GDP] = 1.0
        SA[i, S_CRED] = AP[i, A_CRED]
        SA[i, S_WARNED] = AP[i, A_WARNING]
        SA[i, S_PRIO] = AP[i, A_PRIO]
    copy_into(AFF, AFF0)
    copy_into(SANC, SANC0)
    copy_into(TRADE, TRADE0)
    BUILT[:, :] = 0.0
    RS[:, :] = 0.0
    RS[:, RS_FIRST] = -1.0
    TS[:, :] = 0.0
    for t in range(TP.shape[0]):
        TS[t, TS_TRUST] = TP[t, T_TRUST0]
        TS[t, TS_MONTH] = -1.0
        TS[t, TS_BROKEN_MONTH] = -1.0
    TPRE[:, :] = 0.0
    G[:] = 0.0
    G[G_INTENSITY] = W[W_INT0]
    G[G_BALANCE] = W[W_BAL0]
    update_pressure(W, AP, SA, SANC, TRADE)
    for i in range(n):
        SA[i, S_PEAK] = SA[i, S_PRESSURE]


@njit
def apply_events(month, EV, W, AP, CP, RP, TP, CAP, DEM, SA):
    """Fire the scheduled events of ``month``: each sets one parameter (and its live state).

    ``EV`` rows are (month, table, row, column, value). Relief priority, credibility and the
    public warning are both parameters and state, so an event on them changes the state too.
    """
    for e in range(EV.shape[0]):
        if int(EV[e, 0]) != month:
            continue
        table = int(EV[e, 1])
        row = int(EV[e, 2])
        col = int(EV[e, 3])
        value = EV[e, 4]
        if table == EV_WORLD:
            W[col] = value
        elif table == EV_ACTOR:
            AP[row, col] = value
            if col == A_PRIO:
                SA[row, S_PRIO] = value
            elif col == A_CRED:
                SA[row, S_CRED] = value
            elif col == A_WARNING:
                SA[row, S_WARNED] = value
        elif table == EV_CATEGORY:
            CP[row, col] = value
        elif table == EV_ROUTE:
            RP[row, col] = value
        elif table == EV_TRACK:
            TP[row, col] = value
        elif table == EV_CAPACITY:
            CAP[row, col] = value
        elif table == EV_DEMAND:
            DEM[row, col] = value


# ------------------------------------------------------------------------------------------
# Decisions (read last month's state, write only decision arrays)
# ------------------------------------------------------------------------------------------


@njit
def route_need(r, W, RP, CP, DEM, BUILT, G):
    """The recipient's unmet need on route ``r`` in [0, 1] and the units it would take.

    Need is the share of the recipient's demand its own production does not cover, scaled by war
    intensity for a party to the war. For production assistance the need is that of the category
    it builds.
    """
    q = int(RP[r, R_RECIPIENT])
    c = int(RP[r, R_CATEGORY])
    b = int(CP[c, C_BUILDS])
    wanted = DEM[q, c]
    if wanted <= 0.0:
        return 0.0, 0.0
    gauge = b if b >= 0 else c
    dem = DEM[q, gauge]
    if dem <= 0.0:
        return 0.0, 0.0
    unmet = max(0.0, dem - BUILT[q, gauge]) / dem
    at_war = q == int(W[W_ATTACKER]) or q == int(W[W_DEFENDER])
    scale = G[G_INTENSITY] if at_war else 1.0
    need = unmet * scale
    if b >= 0:
        units = wanted if unmet > 0.0 else 0.0
    else:
        units = wanted * need
    return need, units


@njit
def threat_against(s, n, AP, SA, SANC, AFF):
    """Credible threat hanging over supplier ``s``.

    The sum over hostile sanctioners of credibility x leverage x headroom to their cap, halved
    for those that have not warned.
    """
    threat = 0.0
    for i in range(n):
        if i == s or AP[i, A_ESC_STEP] <= 0.0 or AFF[i, s] >= 0.0:
            continue
        headroom = max(0.0, AP[i, A_ESC_CAP] - SANC[i, s])
        stage = 1.0 if SA[i, S_WARNED] >= 0.5 else 0.5
        threat += stage * SA[i, S_CRED] * AP[i, A_LEVERAGE] * headroom
    return threat


@njit
def relief_at_risk(s, p_detect, TP, TS, SA):
    """Relief supplier ``s`` puts at risk by shipping.

    Under a relief deal in force the halt is a commitment: shipping at all costs its full
    priority for relief. In talks, the risk is the chance of exposure times the trust built so
    far (an exposed shipment destroys it).
    """
    risk = 0.0
    for t in range(TP.shape[0]):
        if int(TP[t, T_KIND]) != TRACK_RELIEF or int(TP[t, T_PARTY]) != s:
            continue
        if TS[t, TS_ACTIVE] >= 0.5:
            risk += SA[s, S_PRIO]
        else:
            risk += p_detect * SA[s, S_PRIO] * TS[t, TS_TRUST]
    return risk


@njit
def decide_supply(r, seed, run, month, W, AP, CP, RP, TP, CAP, DEM, SA, AFF, SANC, BUILT, TS, G,
                  DR):
    """The supplier's choice on route ``r``: ship ``units`` with logistic probability, or not.

    U = base + propensity + w_aff * affinity + w_need * need + w_price * revenue (% of GDP)
        - w_risk * p_detect * escalation_weight * threat - w_relief * relief_at_risk
    P(ship) = 1 / (1 + exp(-U)). The units are the recipient's unmet need (for production
    assistance, the packages it asks for), capped by the supplier's capacity, rounded.
    Writes the units shipped (0 if not) to ``DR[r]``. One uniform draw per open route-month,
    keyed (seed, run, month, supplier, route, SHIP).
    """
    DR[r] = 0.0
    if RP[r, R_OPEN] < 0.5:
        return
    s = int(RP[r, R_SUPPLIER])
    q = int(RP[r, R_RECIPIENT])
    c = int(RP[r, R_CATEGORY])
    n = AP.shape[0]
    need, units = route_need(r, W, RP, CP, DEM, BUILT, G)
    units = math.floor(min(units, CAP[s, c]) + 0.5)
    if units <= 0.0:
        return
    gdp_usd_mn = AP[s, A_GDP] * 1000.0 * SA[s, S_GDP]
    revenue_pct = 100.0 * units * CP[c, C_PRICE] / gdp_usd_mn if gdp_usd_mn > 0.0 else 0.0
    p_det = CP[c, C_DETECT]
    risk = 0.0
    if p_det > 0.0 and CP[c, C_ESC_W] > 0.0:  # (0 x threat is 0: skip the sum for open aid)
        risk = p_det * CP[c, C_ESC_W] * threat_against(s, n, AP, SA, SANC, AFF)
    relief = relief_at_risk(s, p_det, TP, TS, SA)
    u = (W[W_SUPPLY_BASE] + RP[r, R_PROPENSITY] + W[W_W_AFF] * AFF[s, q] + W[W_W_NEED] * need
         + W[W_W_PRICE] * revenue_pct - W[W_W_RISK] * risk - W[W_W_RELIEF] * relief)
    if chance(logistic(u), seed, run, month, s, r, SHIP):
        DR[r] = units


@njit
def decide_sanctions(i, seed, run, month, W, AP, TP, TM, SANC0, SA, AFF, SANC, TRADE, TS, TPRE,
                     DS, DA):
    """Sanctioner ``i`` sets its row of sanctions for next month.

    Against each hostile target whose trigger (escalation-weighted detected transfers, with
    memory) passes ``escalation_threshold``: warn first if it has not warned; otherwise escalate
    by ``escalation_step`` up to ``escalation_cap`` when its members act together (chance
    ``cohesion``), gaining credibility, or lose credibility when they do not. While a relief deal
    with the target is kept, ease toward the agreed level; otherwise decay to the starting level.
    A doctrine with ``secondary`` > 0 also sanctions facilitators of a target it escalates on.
    """
    n = AP.shape[0]
    step = AP[i, A_ESC_STEP]
    cap = AP[i, A_ESC_CAP]
    cred = SA[i, S_CRED]
    warned = SA[i, S_WARNED]
    escalations = 0.0
    failed = 0.0
    in_deal = False  # a counterpart of a relief deal in force: the only case that eases
    for t in range(TP.shape[0]):
        if TM[t, i] > 0.0 and TS[t, TS_ACTIVE] >= 0.5 and int(TP[t, T_KIND]) == TRACK_RELIEF:
            in_deal = True
    for j in range(n):
        s = SANC[i, j]
        new = s
        if j == i:
            DS[i, j] = 0.0
            continue
        eased = False
        if in_deal:
            for t in range(TP.shape[0]):
                if (int(TP[t, T_KIND]) == TRACK_RELIEF and int(TP[t, T_PARTY]) == j
                        and TM[t, i] > 0.0 and TS[t, TS_ACTIVE] >= 0.5):
                    floor = TPRE[t, i] * (1.0 - TS[t, TS_TERMS])
                    new = max(floor, s - AP[i, A_EASE]) if s > floor else s
                    eased = True
        if not eased:
            trig = SA[j, S_TRIG]
            if step > 0.0 and trig >= AP[i, A_ESC_THRESH] and trig > 0.0 and AFF[i, j] < 0.0:
                if warned < 0.5:
                    warned = 1.0
                elif s < cap - 1e-12:
                    if chance(AP[i, A_COHESION], seed, run, month, i, j, COHESION):
                        new = min(cap, s + step)
                        escalations += 1.0
                        cred = cred + AP[i, A_CRED_GAIN] * (1.0 - cred)
                    else:
                        failed += 1.0
                        cred = cred * (1.0 - AP[i, A_CRED_LOSS])
            elif s > SANC0[i, j]:
                new = s - AP[i, A_DECAY] * (s - SANC0[i, j])
        DS[i, j] = new
    sec = AP[i, A_SECONDARY]
    if sec > 0.0 and escalations > 0.0:
        for j in range(n):
            if j != i and DS[i, j] > SANC[i, j]:
                _secondary(i, j, seed, run, month, sec * step, sec * cap, AP, AFF, SANC, TRADE,
                           DS)
    DA[i, DA_CRED] = cred
    DA[i, DA_WARN] = warned
    DA[i, DA_ESC] = escalations
    DA[i, DA_FAILED] = failed


@njit
def _secondary(i, j, seed, run, month, step, cap, AP, AFF, SANC, TRADE, DS):
    """Secondary sanctions by ``i`` on facilitators of target ``j`` (partners that bust).

    Runs after ``i``'s whole row is decided, so it only ever raises ``DS[i, k]``.
    """
    n = AP.shape[0]
    for k in range(n):
        if k == i or k == j or AFF[i, k] >= 0.5:
            continue
        facilitation = TRADE[j, k] * AP[k, A_BUSTING]
        if facilitation < 0.05:
            continue
        if chance(AP[i, A_COHESION], seed, run, month, i, k, SECONDARY):
            DS[i, k] = max(DS[i, k], min(cap, SANC[i, k] + step))


@njit
def decide_track(t, seed, run, month, W, AP, RP, TP, TM, SA, AFF, TS, G, DT):
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
    DT[t, DT_DEAL] = 0.0
    DT[t, DT_TERMS] = 0.0
    DT[t, DT_ZOPA] = 0.0
    p = int(TP[t, T_PARTY])
    trust = TS[t, TS_TRUST]
    n = AP.shape[0]
    if int(TP[t, T_KIND]) == TRACK_RELIEF:
        if TS[t, TS_ACTIVE] >= 0.5:
            return
        prio = SA[p, S_PRIO]
        ties = 0.0
        for r in range(RP.shape[0]):
            if int(RP[r, R_SUPPLIER]) == p and RP[r, R_OPEN] >= 0.5:
                ties = max(ties, AFF[p, int(RP[r, R_RECIPIENT])])
        halt = TP[t, T_HALT_COST] * ties
        offer = 0.0
        weight = 0.0
        for i in range(n):
            if TM[t, i] > 0.0:
                w = max(AP[i, A_LEVERAGE], 1e-9)
                offer += w * AP[i, A_OFFER] * AP[i, A_COHESION]
                weight += w
        x_max = offer / weight if weight > 0.0 else 0.0
        if prio <= 0.0:
            return
        x_min = halt / prio
        if x_min > x_max or x_max <= 0.0:
            return
        DT[t, DT_ZOPA] = 1.0
        if trust < TP[t, T_MIN_TRUST]:
            return
        surplus = (x_max - x_min) / x_max
        if chance(TP[t, T_BASE_RATE] * trust * surplus, seed, run, month, p, t, DEAL):
            DT[t, DT_DEAL] = 1.0
            DT[t, DT_TERMS] = 0.5 * (x_min + x_max)
    else:
        if G[G_CEASEFIRE] >= 0.5:
            return
        if TS[t, TS_STALEMATE] < TP[t, T_STALE_MONTHS] or TS[t, TS_STALEMATE] <= 0.0:
            return
        DT[t, DT_ZOPA] = 1.0
        if trust < TP[t, T_MIN_TRUST]:
            return
        rate = TP[t, T_BASE_RATE] * trust
        if int(TP[t, T_MEDIATOR]) >= 0:
            rate = rate * (1.0 + TP[t, T_MED_BONUS])
        if chance(min(rate, 1.0), seed, run, month, p, t, DEAL):
            att = int(W[W_ATTACKER])
            dfd = int(W[W_DEFENDER])
            cost_a = AP[att, A_WAR_EXP] * G[G_INTENSITY]
            cost_d = AP[dfd, A_WAR_EXP] * G[G_INTENSITY]
            DT[t, DT_DEAL] = 1.0
            DT[t, DT_TERMS] = clip(G[G_BALANCE] + 0.5 * (cost_d - cost_a), -1.0, 1.0)


# ------------------------------------------------------------------------------------------
# Resolution of the month
# ------------------------------------------------------------------------------------------


@njit
def update_pressure(W, AP, SA, SANC, TRADE):
    """Raw pressure, leakage and effective pressure on every actor (in place).

    raw_j = 1 - prod_i (1 - s_ij * leverage_i)
    leak_j = min(max_leak, (1 - coalition_share) * leak_gain
                 * sum_k trade_jk * busting_k * (1 - max_i s_ik) * (1 - s_kj))
    pressure_j = raw_j * (1 - leak_j)
    A partner under sanctions itself (at most intensity max_i s_ik, from secondary sanctions for
    example) busts that much less: its firms keep their access to the sender's markets.
    """
    n = AP.shape[0]
    for j in range(n):
        keep = 1.0
        for i in range(n):
            if i != j:
                keep *= 1.0 - SANC[i, j] * AP[i, A_LEVERAGE]
        SA[j, S_RAW] = 1.0 - keep
    # Busting through each partner k, summed over k in order for every j (S_LEAK holds the sum
    # until the leak is known); the largest sanction on k is found once per k, not once per j.
    for j in range(n):
        SA[j, S_LEAK] = 0.0
    for k in range(n):
        hit = 0.0
        for i in range(n):
            if i != k and SANC[i, k] > hit:
                hit = SANC[i, k]
        for j in range(n):
            if j != k:
                SA[j, S_LEAK] += TRADE[j, k] * AP[k, A_BUSTING] * (1.0 - hit) * (1.0 - SANC[k, j])
    for j in range(n):
        leak = (1.0 - W[W_COALITION]) * W[W_LEAK_GAIN] * SA[j, S_LEAK]
        SA[j, S_LEAK] = min(W[W_MAX_LEAK], leak)
        SA[j, S_PRESSURE] = SA[j, S_RAW] * (1.0 - SA[j, S_LEAK])


@njit
def resolve_month(seed, run, month, W, AP, CP, RP, TP, TM, CAP, DEM, AFF0, SANC0, TRADE0,
                  SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G, DR, DS, DA, DT, SCR):
    """Apply every decision of the month at once and move the world one month.

    Order: deals struck take effect; deliveries move and production assistance builds capacity;
    detection draws make transfers public (a detected transfer during a relief deal breaks it,
    with snap-back); sanctions take their new values; pressure with leakage; economies; affinity;
    trade diversion; the war; trust on the tracks; domestic pressure for relief.
    ``SCR`` is an n x n scratch array.
    """
    n = AP.shape[0]
    nr = RP.shape[0]
    nt = TP.shape[0]
    G[G_MONTH] = month
    att = int(W[W_ATTACKER])
    dfd = int(W[W_DEFENDER])

    # 1. Deals decided this month take effect.
    for t in range(nt):
        TS[t, TS_ZOPA] = DT[t, DT_ZOPA]
        if DT[t, DT_DEAL] < 0.5:
            continue
        TS[t, TS_ACTIVE] = 1.0
        TS[t, TS_TERMS] = DT[t, DT_TERMS]
        if TS[t, TS_REACHED] < 0.5:
            TS[t, TS_REACHED] = 1.0
            TS[t, TS_MONTH] = month
        p = int(TP[t, T_PARTY])
        if int(TP[t, T_KIND]) == TRACK_RELIEF:
            for i in range(n):
                TPRE[t, i] = SANC[i, p] if TM[t, i] > 0.0 else 0.0
        else:
            G[G_CEASEFIRE] = 1.0

    # 2. Deliveries move; production assistance builds the recipient's own capacity.
    for i in range(n):
        SA[i, S_REVENUE] = 0.0
        SA[i, S_EXPOSED] = 0.0
        SA[i, S_DENIED] = 0.0
    v_att = 0.0
    v_def = 0.0
    for r in range(nr):
        units = DR[r]
        RS[r, RS_SHIPPED] = units
        RS[r, RS_DETECTED] = 0.0
        RS[r, RS_DENIED] = 0.0
        if units <= 0.0:
            continue
        s = int(RP[r, R_SUPPLIER])
        q = int(RP[r, R_RECIPIENT])
        c = int(RP[r, R_CATEGORY])
        RS[r, RS_TOTAL] += units
        if RS[r, RS_FIRST] < 0.0:
            RS[r, RS_FIRST] = month
        SA[s, S_REVENUE] += units * CP[c, C_PRICE]
        b = int(CP[c, C_BUILDS])
        if b >= 0:
            BUILT[q, b] = min(max(DEM[q, b], BUILT[q, b]),
                              BUILT[q, b] + units * CP[c, C_BUILD_RATE])
        if q == att:
            v_att += units * CP[c, C_VALUE]
        elif q == dfd:
            v_def += units * CP[c, C_VALUE]
    imports = v_att + v_def
    for c in range(CP.shape[0]):
        v_att += BUILT[att, c] * CP[c, C_VALUE]
        v_def += BUILT[dfd, c] * CP[c, C_VALUE]
    G[G_V_ATT] = v_att
    G[G_V_DEF] = v_def
    G[G_IMPORTS] = imports

    # 3. Detection: exposed transfers feed the sanctioners' trigger and may break a deal.
    for i in range(n):
        SCR[i, 0] = 0.0  # escalation-weighted detections against i this month
    for r in range(nr):
        if RS[r, RS_SHIPPED] <= 0.0:
            continue
        s = int(RP[r, R_SUPPLIER])
        c = int(RP[r, R_CATEGORY])
        if chance(CP[c, C_DETECT], seed, run, month, s, r, DETECT):
            RS[r, RS_DETECTED] = 1.0
            RS[r, RS_DETECTED_TOTAL] += 1.0
            SA[s, S_EXPOSED] += 1.0
            SCR[s, 0] += CP[c, C_ESC_W]
            if chance(AP[s, A_DENY], seed, run, month, s, r, DENY):
                RS[r, RS_DENIED] = 1.0
                SA[s, S_DENIED] = 1.0

    # 4. Sanctions take their decided values; credibility and warnings; snap-back.
    for i in range(n):
        for j in range(n):
            SANC[i, j] = clip(DS[i, j], 0.0, 1.0)
        SA[i, S_CRED] = clip(DA[i, DA_CRED], 0.0, 1.0)
        SA[i, S_WARNED] = DA[i, DA_WARN]
        SA[i, S_ESCALATIONS] += DA[i, DA_ESC]
        SA[i, S_FAILED] += DA[i, DA_FAILED]
    for t in range(nt):
        p = int(TP[t, T_PARTY])
        if (int(TP[t, T_KIND]) == TRACK_RELIEF and TS[t, TS_ACTIVE] >= 0.5
                and SA[p, S_EXPOSED] > 0.0):
            TS[t, TS_ACTIVE] = 0.0
            TS[t, TS_BROKEN] = 1.0
            if TS[t, TS_BROKEN_MONTH] < 0.0:
                TS[t, TS_BROKEN_MONTH] = month
            for i in range(n):
                if TM[t, i] > 0.0:
                    SANC[i, p] = min(1.0, max(SANC[i, p], TPRE[t, i]) + AP[i, A_SNAPBACK])
    for i in range(n):
        SA[i, S_TRIG] = W[W_TRIG_MEM] * SA[i, S_TRIG] + SCR[i, 0]

    # 5. Pressure with diminishing returns and leakage.
    update_pressure(W, AP, SA, SANC, TRADE)

    # 6. Economies: log-growth keeps the GDP index positive.
    for j in range(n):
        relief = 0.0
        for t in range(nt):
            if (int(TP[t, T_KIND]) == TRACK_RELIEF and int(TP[t, T_PARTY]) == j
                    and TS[t, TS_ACTIVE] >= 0.5):
                relief += TS[t, TS_TERMS]
        damage = W[W_DAMAGE] * SA[j, S_PRESSURE] * (1.0 - SA[j, S_ADAPT])
        gdp_usd_mn = AP[j, A_GDP] * 1000.0 * SA[j, S_GDP]
        revenue = 12.0 * SA[j, S_REVENUE] / gdp_usd_mn if gdp_usd_mn > 0.0 else 0.0
        war = W[W_WAR_COST] * AP[j, A_WAR_EXP] * G[G_INTENSITY]
        shock = W[W_SHOCK] * normal(seed, run, month, j, 0, SHOCK)
        annual = (AP[j, A_GROWTH] - damage - war + revenue + W[W_RELIEF_BOOST] * relief)
        g = annual / 12.0 + shock / math.sqrt(12.0)
        SA[j, S_GDP] = SA[j, S_GDP] * math.exp(g)
        SA[j, S_DAMAGE] = damage
        SA[j, S_GROWTH] = 12.0 * g
        SA[j, S_REVENUE_TOTAL] += SA[j, S_REVENUE]
        if SA[j, S_PRESSURE] > 0.01:
            SA[j, S_ADAPT] += W[W_ADAPT] * (1.0 - SA[j, S_ADAPT])
        if SA[j, S_PRESSURE] > SA[j, S_PEAK]:
            SA[j, S_PEAK] = SA[j, S_PRESSURE]

    # 7. Affinity: transfers draw partners together, sanctions push apart, co-targets drift
    # together, exposure costs goodwill with non-aligned audiences, all drift back.
    for i in range(n):
        for j in range(n):
            SCR[i, j] = 0.0
    for r in range(nr):
        units = RS[r, RS_SHIPPED]
        if units <= 0.0:
            continue
        s = int(RP[r, R_SUPPLIER])
        q = int(RP[r, R_RECIPIENT])
        c = int(RP[r, R_CATEGORY])
        share = min(1.0, units / DEM[q, c]) if DEM[q, c] > 0.0 else 1.0
        SCR[s, q] += W[W_TRANSFER_PULL] * share
        SCR[q, s] += W[W_TRANSFER_PULL] * share
        if RS[r, RS_DETECTED] >= 0.5 and CP[c, C_ESC_W] > 0.0:
            loss = W[W_EXPOSURE] * (1.0 - W[W_DENIAL_SOFT] * RS[r, RS_DENIED])
            for k in range(n):
                if k == s or k == q or AP[k, A_ALIGN] > 0.3 or SANC[k, s] > _SANCTION_EPS:
                    continue
                SCR[s, k] -= loss
                SCR[k, s] -= loss
    for i in range(n):
        for j in range(i + 1, n):
            co = 0.0
            for k in range(n):
                co += min(SANC[k, i], SANC[k, j])
            d = (W[W_AFF_DRIFT] * (AFF0[i, j] - AFF[i, j])
                 - W[W_SANCTION_PUSH] * (SANC[i, j] + SANC[j, i])
                 + W[W_CO_PULL] * co + SCR[i, j])
            a = clip(AFF[i, j] + d, -1.0, 1.0)
            AFF[i, j] = a
            AFF[j, i] = a

    # 8. Trade diversion toward partners that bust sanctions.
    for j in range(n):
        pj = SA[j, S_PRESSURE]
        if pj <= 0.0:
            continue
        total = 0.0
        for k in range(n):
            if k == j:
                continue
            if SANC[k, j] > _SANCTION_EPS:
                TRADE[j, k] *= 1.0 - W[W_TRADE_DIV] * SANC[k, j]
            elif AP[k, A_BUSTING] > 0.0:
                TRADE[j, k] += W[W_TRADE_DIV] * pj * AP[k, A_BUSTING] * (1.0 - TRADE[j, k])
            total += TRADE[j, k]
        if total > 1.0:
            for k in range(n):
                TRADE[j, k] /= total

    # 9. The war: intensity follows supply, the balance follows the supply advantage and luck.
    ref = W[W_SUPPLY_REF]
    if G[G_CEASEFIRE] >= 0.5:
        G[G_INTENSITY] = W[W_CF_INT]
    else:
        target = W[W_INT_BASE] + W[W_SUPPLY_INT] * min(1.0, (v_att + v_def) / (2.0 * ref))
        G[G_INTENSITY] = clip(G[G_INTENSITY] + W[W_INT_RATE] * (target - G[G_INTENSITY]), 0.0, 1.0)
        luck = W[W_BAL_SD] * normal(seed, run, month, att, dfd, WAR)
        G[G_BALANCE] = clip(G[G_BALANCE] + W[W_BAL_GAIN] * (v_att - v_def) / ref
                            - W[W_BAL_REV] * G[G_BALANCE] + luck, -1.0, 1.0)

    # 10. Trust and stalemates on the tracks.
    for t in range(nt):
        p = int(TP[t, T_PARTY])
        trust = TS[t, TS_TRUST]
        gain = TP[t, T_TRUST_GAIN] * (1.0 - trust)
        if int(TP[t, T_KIND]) == TRACK_RELIEF:
            if SA[p, S_EXPOSED] > 0.0:
                trust = trust * (1.0 - TP[t, T_TRUST_LOSS]) ** SA[p, S_EXPOSED]
            else:
                trust = trust + gain
        else:
            flow = min(1.0, imports / ref)
            trust = trust + gain - TP[t, T_TRUST_LOSS] * flow * trust
            if (abs(G[G_BALANCE]) < TP[t, T_STALE_BAND]
                    and G[G_INTENSITY] > TP[t, T_HURT_INT]):
                TS[t, TS_STALEMATE] += 1.0
            else:
                TS[t, TS_STALEMATE] = 0.0
        TS[t, TS_TRUST] = clip(trust, 0.0, 1.0)

    # 11. Economic pain raises the priority of relief.
    for j in range(n):
        if AP[j, A_PAIN] > 0.0:
            prio = SA[j, S_PRIO]
            SA[j, S_PRIO] = clip(prio + AP[j, A_PAIN] * SA[j, S_PRESSURE] / 12.0 * (1.0 - prio),
                                 0.0, 1.0)


@njit
def step_month(seed, run, month, W, AP, CP, RP, TP, TM, CAP, DEM, AFF0, SANC0, TRADE0, EV,
               SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G, DR, DS, DA, DT, SCR):
    """One whole month in the order of the design: events, every decision, resolution.

    The Numba engine calls this; the Mesa engine calls the same pieces through its agents.
    """
    apply_events(month, EV, W, AP, CP, RP, TP, CAP, DEM, SA)
    for r in range(RP.shape[0]):
        decide_supply(r, seed, run, month, W, AP, CP, RP, TP, CAP, DEM, SA, AFF, SANC, BUILT,
                      TS, G, DR)
    copy_into(DS, SANC)
    for i in range(AP.shape[0]):
        decide_sanctions(i, seed, run, month, W, AP, TP, TM, SANC0, SA, AFF, SANC, TRADE, TS,
                         TPRE, DS, DA)
    for t in range(TP.shape[0]):
        decide_track(t, seed, run, month, W, AP, RP, TP, TM, SA, AFF, TS, G, DT)
    resolve_month(seed, run, month, W, AP, CP, RP, TP, TM, CAP, DEM, AFF0, SANC0, TRADE0,
                  SA, AFF, SANC, TRADE, BUILT, RS, TS, TPRE, G, DR, DS, DA, DT, SCR)
