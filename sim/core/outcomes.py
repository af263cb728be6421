"""What a run reports: the summary row at the end and the figures recorded every month.

Both are compiled functions over the state arrays, so the two engines report identically. The
column names are built in Python from the compiled scenario, in the same order.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.core import layout as L
from sim.core.jit import rule_njit as njit
from sim.core.layout import A_ESC_STEP, C_BUILDS, R_SUPPLIER

if TYPE_CHECKING:
    from sim.scenario import CompiledScenario


def _all_outcome_names(cs: CompiledScenario) -> list[str]:
    names: list[str] = []
    names += [f"first_month_{c}" for c in cs.category_ids]
    names += [f"delivered_{r}" for r in cs.route_ids]
    names += [f"detected_{r}" for r in cs.route_ids]
    names += [f"detected_{c}" for c in cs.category_ids]
    names += ["transfers_detected"]
    for t in cs.track_ids:
        names += [f"{t}_reached", f"{t}_month", f"{t}_broken", f"{t}_broken_month"]
    names += [f"peak_pressure_{a}" for a in cs.actor_ids]
    names += [f"gdp_index_{a}" for a in cs.actor_ids]
    names += [f"credibility_{a}" for a in cs.actor_ids]
    names += [f"escalations_{a}" for a in cs.actor_ids]
    names += [f"arms_revenue_{a}" for a in cs.actor_ids]
    names += [f"affinity_{cs.actor_ids[i]}_{cs.actor_ids[j]}" for i, j in cs.key_pairs]
    names += [f"localised_{c}" for c in cs.category_ids]
    names += ["escalations", "failed_follow_through", "war_intensity_final", "war_balance_final"]
    return names


def outcome_layout(cs: CompiledScenario) -> tuple[list[str], np.ndarray]:
    """Names of the summary columns a user sees and their positions in the kernel's row.

    Columns that cannot vary are left out: credibility and escalations of actors that never
    sanction, arms revenue of actors that supply no route, breaking of a ceasefire (it cannot be
    broken in this model), localisation of a category nothing builds.
    """
    names = _all_outcome_names(cs)
    sanctioners = {cs.actor_ids[i] for i in range(len(cs.actor_ids)) if cs.AP[i, A_ESC_STEP] > 0}
    suppliers = {cs.actor_ids[int(r[R_SUPPLIER])] for r in cs.RP}
    built = {cs.category_ids[int(b)] for b in cs.CP[:, C_BUILDS] if b >= 0}
    keep = []
    for k, name in enumerate(names):
        head, _, tail = name.partition("_")
        if name.startswith(("credibility_", "escalations_")) and tail not in sanctioners:
            continue
        if name.startswith("arms_revenue_") and name[len("arms_revenue_"):] not in suppliers:
            continue
        if name.startswith("localised_") and name[len("localised_"):] not in built:
            continue
        if any(name in (f"{t}_broken", f"{t}_broken_month")
               for t, kind in zip(cs.track_ids, cs.track_kinds, strict=True)
               if kind == "ceasefire"):
            continue
        keep.append(k)
    return [names[k] for k in keep], np.array(keep, dtype=np.int64)


def n_outcomes(cs: CompiledScenario) -> int:
    """Length of the kernel's raw outcome row."""
    return len(_all_outcome_names(cs))


@njit
def summarize(out, p, s, key_pairs):
    """Write the run's raw outcome row (see ``_all_outcome_names`` for the order).

    ``p`` and ``s`` are the run's :class:`sim.core.rules.Params` and :class:`sim.core.rules.State`.
    """
    AP, CP, RP, TP = p.AP, p.CP, p.RP, p.TP
    SA, AFF, BUILT, RS, TS, G = s.SA, s.AFF, s.BUILT, s.RS, s.TS, s.G
    n = AP.shape[0]
    nc = CP.shape[0]
    nr = RP.shape[0]
    nt = TP.shape[0]
    k = 0
    for c in range(nc):
        first = math.nan
        for r in range(nr):
            if int(RP[r, L.R_CATEGORY]) == c and RS[r, L.RS_FIRST] >= 0.0:
                if math.isnan(first) or RS[r, L.RS_FIRST] < first:
                    first = RS[r, L.RS_FIRST]
        out[k] = first
        k += 1
    for r in range(nr):
        out[k] = RS[r, L.RS_TOTAL]
        k += 1
    total = 0.0  # covert transfers exposed: categories sanctioners react to (weight > 0)
    for r in range(nr):
        out[k] = RS[r, L.RS_DETECTED_TOTAL]
        if CP[int(RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0.0:
            total += RS[r, L.RS_DETECTED_TOTAL]
        k += 1
    for c in range(nc):
        d = 0.0
        for r in range(nr):
            if int(RP[r, L.R_CATEGORY]) == c:
                d += RS[r, L.RS_DETECTED_TOTAL]
        out[k] = d
        k += 1
    out[k] = total
    k += 1
    for t in range(nt):
        out[k] = TS[t, L.TS_REACHED]
        out[k + 1] = TS[t, L.TS_MONTH] if TS[t, L.TS_MONTH] >= 0.0 else math.nan
        out[k + 2] = TS[t, L.TS_BROKEN]
        out[k + 3] = TS[t, L.TS_BROKEN_MONTH] if TS[t, L.TS_BROKEN_MONTH] >= 0.0 else math.nan
        k += 4
    for a in range(n):
        out[k] = SA[a, L.S_PEAK]
        k += 1
    for a in range(n):
        out[k] = SA[a, L.S_GDP]
        k += 1
    for a in range(n):
        out[k] = SA[a, L.S_CRED]
        k += 1
    esc = 0.0
    failed = 0.0
    for a in range(n):
        out[k] = SA[a, L.S_ESCALATIONS]
        esc += SA[a, L.S_ESCALATIONS]
        failed += SA[a, L.S_FAILED]
        k += 1
    for a in range(n):
        out[k] = SA[a, L.S_REVENUE_TOTAL]
        k += 1
    for p in range(key_pairs.shape[0]):
        out[k] = AFF[key_pairs[p, 0], key_pairs[p, 1]]
        k += 1
    for c in range(nc):
        b = 0.0
        for a in range(n):
            b += BUILT[a, c]
        out[k] = b
        k += 1
    out[k] = esc
    out[k + 1] = failed
    out[k + 2] = G[L.G_INTENSITY]
    out[k + 3] = G[L.G_BALANCE]


def monthly_names(cs: CompiledScenario, sanction_pairs: np.ndarray) -> list[str]:
    """Names of the figures recorded every month, in the order of :func:`record_month`."""
    a = cs.actor_ids
    names = [f"gdp_index_{x}" for x in a]
    names += [f"pressure_{x}" for x in a]
    names += [f"credibility_{x}" for x in a]
    names += [f"relief_priority_{x}" for x in a]
    names += [f"shipped_{r}" for r in cs.route_ids]
    names += [f"detected_{r}" for r in cs.route_ids]
    names += [f"sanctions_{a[i]}_{a[j]}" for i, j in sanction_pairs]
    names += [f"affinity_{a[i]}_{a[j]}" for i, j in cs.key_pairs]
    names += [f"trust_{t}" for t in cs.track_ids]
    names += [f"active_{t}" for t in cs.track_ids]
    names += ["war_intensity", "war_balance"]
    return names


def sanction_pairs(cs: CompiledScenario) -> np.ndarray:
    """Sender-target pairs worth recording: sanctions at the start, or from any sanctioner."""
    pairs = []
    n = len(cs.actor_ids)
    for i in range(n):
        for j in range(n):
            if i != j and (cs.SANC0[i, j] > 0 or (cs.AP[i, A_ESC_STEP] > 0 and cs.AFF0[i, j] < 0)):
                pairs.append((i, j))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@njit
def record_month(row, s, spairs, key_pairs):
    """Write the month's figures into ``row`` (order of :func:`monthly_names`).

    ``s`` is the run's :class:`sim.core.rules.State`.
    """
    SA, SANC, AFF, RS, TS, G = s.SA, s.SANC, s.AFF, s.RS, s.TS, s.G
    n = SA.shape[0]
    k = 0
    for col in (L.S_GDP, L.S_PRESSURE, L.S_CRED, L.S_PRIO):
        for a in range(n):
            row[k] = SA[a, col]
            k += 1
    for r in range(RS.shape[0]):
        row[k] = RS[r, L.RS_SHIPPED]
        k += 1
    for r in range(RS.shape[0]):
        row[k] = RS[r, L.RS_DETECTED]
        k += 1
    for p in range(spairs.shape[0]):
        row[k] = SANC[spairs[p, 0], spairs[p, 1]]
        k += 1
    for p in range(key_pairs.shape[0]):
        row[k] = AFF[key_pairs[p, 0], key_pairs[p, 1]]
        k += 1
    for t in range(TS.shape[0]):
        row[k] = TS[t, L.TS_TRUST]
        k += 1
    for t in range(TS.shape[0]):
        row[k] = TS[t, L.TS_ACTIVE]
        k += 1
    row[k] = G[L.G_INTENSITY]
    row[k + 1] = G[L.G_BALANCE]
