"""Column layout of the parameter and state arrays shared by the rules and both engines.

The rules work on plain float64 arrays so that Numba can compile them and both engines can
call them. These integer constants name the columns. ``WORLD_FIELDS`` and friends map the
scenario schema's field names onto them (checked by a test).
"""

from __future__ import annotations

# --- world parameters W[...] (world and theatre) ------------------------------------------
W_COALITION, W_LEAK_GAIN, W_MAX_LEAK, W_DAMAGE, W_ADAPT, W_SHOCK, W_WAR_COST = range(7)
W_RELIEF_BOOST, W_AFF_DRIFT, W_TRANSFER_PULL, W_SANCTION_PUSH, W_CO_PULL = range(7, 12)
W_EXPOSURE, W_DENIAL_SOFT, W_TRIG_MEM, W_TRADE_DIV = range(12, 16)
W_SUPPLY_BASE, W_W_AFF, W_W_NEED, W_W_PRICE, W_W_RISK, W_W_RELIEF = range(16, 22)
W_ATTACKER, W_DEFENDER, W_INT0, W_BAL0, W_INT_BASE, W_INT_RATE = range(22, 28)
W_SUPPLY_REF, W_SUPPLY_INT, W_BAL_GAIN, W_BAL_REV, W_BAL_SD, W_CF_INT = range(28, 34)
NW = 34

WORLD_FIELDS = {
    "coalition_share": W_COALITION, "leak_gain": W_LEAK_GAIN, "max_leak": W_MAX_LEAK,
    "damage_rate": W_DAMAGE, "adaptation_rate": W_ADAPT, "shock_sd": W_SHOCK,
    "war_cost": W_WAR_COST, "relief_boost": W_RELIEF_BOOST, "affinity_drift": W_AFF_DRIFT,
    "transfer_pull": W_TRANSFER_PULL, "sanction_push": W_SANCTION_PUSH,
    "co_sanction_pull": W_CO_PULL, "exposure_penalty": W_EXPOSURE,
    "denial_softening": W_DENIAL_SOFT, "trigger_memory": W_TRIG_MEM,
    "trade_diversion": W_TRADE_DIV, "supply_base": W_SUPPLY_BASE, "w_affinity": W_W_AFF,
    "w_need": W_W_NEED, "w_price": W_W_PRICE, "w_risk": W_W_RISK, "w_relief": W_W_RELIEF,
}
THEATRE_FIELDS = {
    "intensity": W_INT0, "balance": W_BAL0, "base_intensity": W_INT_BASE,
    "intensity_rate": W_INT_RATE, "supply_ref": W_SUPPLY_REF,
    "supply_intensity": W_SUPPLY_INT, "balance_gain": W_BAL_GAIN,
    "balance_reversion": W_BAL_REV, "balance_sd": W_BAL_SD,
    "ceasefire_intensity": W_CF_INT,
}

# --- actor parameters AP[actor, ...] -------------------------------------------------------
A_COHESION, A_GDP, A_MILEX, A_ALIGN, A_OPEN, A_GROWTH, A_LEVERAGE, A_BUSTING = range(8)
A_WAR_EXP, A_PRIO, A_PAIN, A_DENY, A_WARNING, A_ESC_STEP, A_ESC_CAP, A_ESC_THRESH = range(8, 16)
A_DECAY, A_EASE, A_SECONDARY, A_CRED, A_CRED_GAIN, A_CRED_LOSS, A_OFFER, A_SNAPBACK = range(16, 24)
NA = 24

ACTOR_FIELDS = {
    "cohesion": A_COHESION, "gdp": A_GDP, "milex": A_MILEX, "alignment": A_ALIGN,
    "openness": A_OPEN, "growth": A_GROWTH, "leverage": A_LEVERAGE, "busting": A_BUSTING,
    "war_exposure": A_WAR_EXP, "relief_priority": A_PRIO, "pain_sensitivity": A_PAIN,
    "deny_probability": A_DENY, "warning": A_WARNING, "escalation_step": A_ESC_STEP,
    "escalation_cap": A_ESC_CAP, "escalation_threshold": A_ESC_THRESH, "decay": A_DECAY,
    "ease_step": A_EASE, "secondary": A_SECONDARY, "credibility": A_CRED,
    "credibility_gain": A_CRED_GAIN, "credibility_loss": A_CRED_LOSS,
    "relief_offer": A_OFFER, "snapback": A_SNAPBACK,
}

# --- category parameters CP[category, ...] -------------------------------------------------
C_VALUE, C_PRICE, C_DETECT, C_ESC_W, C_BUILDS, C_BUILD_RATE = range(6)
NC = 6
CATEGORY_FIELDS = {
    "value": C_VALUE, "price": C_PRICE, "detection": C_DETECT,
    "escalation_weight": C_ESC_W, "build_rate": C_BUILD_RATE,
}

# --- route parameters RP[route, ...] ---------------------------------------------------------
R_SUPPLIER, R_RECIPIENT, R_CATEGORY, R_OPEN, R_PROPENSITY = range(5)
NR = 5
ROUTE_FIELDS = {"open": R_OPEN, "propensity": R_PROPENSITY}

# --- track parameters TP[track, ...] ---------------------------------------------------------
T_KIND, T_PARTY, T_MEDIATOR, T_TRUST0, T_TRUST_GAIN, T_TRUST_LOSS, T_MIN_TRUST = range(7)
T_BASE_RATE, T_HALT_COST, T_MED_BONUS, T_STALE_BAND, T_STALE_MONTHS, T_HURT_INT = range(7, 13)
NT = 13
TRACK_RELIEF = 0
TRACK_CEASEFIRE = 1
TRACK_FIELDS = {
    "trust": T_TRUST0, "trust_gain": T_TRUST_GAIN, "trust_loss": T_TRUST_LOSS,
    "min_trust": T_MIN_TRUST, "base_rate": T_BASE_RATE, "halt_cost": T_HALT_COST,
    "mediator_bonus": T_MED_BONUS, "stalemate_band": T_STALE_BAND,
    "stalemate_months": T_STALE_MONTHS, "hurting_intensity": T_HURT_INT,
}

# --- event tables -------------------------------------------------------------------------------
EV_WORLD, EV_ACTOR, EV_CATEGORY, EV_ROUTE, EV_TRACK, EV_CAPACITY, EV_DEMAND = range(7)

# --- actor state SA[actor, ...] -------------------------------------------------------------
S_GDP, S_ADAPT, S_PRESSURE, S_RAW, S_LEAK, S_CRED, S_WARNED, S_PRIO = range(8)
S_REVENUE, S_DAMAGE, S_GROWTH, S_PEAK, S_ESCALATIONS, S_TRIG, S_EXPOSED, S_DENIED = range(8, 16)
S_REVENUE_TOTAL, S_FAILED = range(16, 18)
NSA = 18

# --- route state RS[route, ...] --------------------------------------------------------------
RS_SHIPPED, RS_TOTAL, RS_DETECTED, RS_DETECTED_TOTAL, RS_FIRST, RS_DENIED = range(6)
NRS = 6

# --- track state TS[track, ...] --------------------------------------------------------------
TS_ACTIVE, TS_REACHED, TS_MONTH, TS_BROKEN, TS_BROKEN_MONTH, TS_TRUST, TS_TERMS = range(7)
TS_STALEMATE, TS_ZOPA = range(7, 9)
NTS = 9

# --- global state G[...] -----------------------------------------------------------------------
G_INTENSITY, G_BALANCE, G_CEASEFIRE, G_MONTH, G_V_ATT, G_V_DEF, G_IMPORTS = range(7)
NG = 7

# --- decisions ---------------------------------------------------------------------------------
DA_CRED, DA_WARN, DA_ESC, DA_FAILED = range(4)
NDA = 4
DT_DEAL, DT_TERMS, DT_ZOPA = range(3)
NDT = 3
