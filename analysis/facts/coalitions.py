"""Facts 3, 4 and 5: damage, leakage and coalitions.

The damage of sanctions and how it fades, leakage as the coalition shrinks, multilateral against
unilateral sanctions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.facts.measures import Fact, fmt_ci, paired, proportion, unresolved
from analysis.facts.roles import (
    coalition_overrides,
    coalition_share,
    durable_compliance,
    unilateral,
    without_target_sanctions,
)
from analysis.facts.variants import Context, Ensemble
from sim.results.stats import mean_interval

#: The coalition shares of the leakage sweep (Libman 2024: about 80% fell to about 60%).
COALITION_SWEEP = (0.8, 0.75, 0.7, 0.65, 0.6)


def _damage_by_year(ens: Ensemble, none: Ensemble, actor: str, years: int) -> list[tuple]:
    out = []
    for y in range(years):
        a, b = 12 * y, 12 * (y + 1)
        d_none = np.log(none.series(f"gdp_index_{actor}")[:, b]
                        / none.series(f"gdp_index_{actor}")[:, a])
        d = np.log(ens.series(f"gdp_index_{actor}")[:, b] / ens.series(f"gdp_index_{actor}")[:, a])
        out.append(mean_interval(100.0 * (d_none - d)))
    return out


def fact_3_damage(ctx: Context) -> Fact:
    """Fact 3: growth damage of multilateral and unilateral sanctions.

    First-year growth damage: 100 x (log growth of the target's GDP over months 1-12 with no
    sanctions on it - the same under the episode), per run with common random numbers. Relief
    talks are switched off in all three arms (``base_rate`` 0) so that the damage is that of the
    sanctions alone. Multilateral: the scenario's senders as documented. Unilateral: the lead
    sender alone (:func:`unilateral`). Fading: the damage in year 3 is below that of year 1.
    """
    roles = ctx.roles
    quiet = {f"tracks.{roles.track}.base_rate": 0.0}
    none = ctx.ensemble("f3_none", {**quiet, **without_target_sanctions(ctx.scn, roles)})
    multi = ctx.ensemble("f3_multi", quiet)
    uni_over, lead = unilateral(ctx.scn, roles)
    uni = ctx.ensemble("f3_uni", {**quiet, **uni_over})
    years = max(1, min(3, ctx.scn.horizon // 12))
    dm = _damage_by_year(multi, none, roles.target, years)
    du = _damage_by_year(uni, none, roles.target, years)

    def fades(ens: Ensemble) -> tuple[float, float, float]:
        g = lambda e, a, b: np.log(e.series(f"gdp_index_{roles.target}")[:, b]  # noqa: E731
                                   / e.series(f"gdp_index_{roles.target}")[:, a])
        last = 12 * (years - 1)
        y1 = g(none, 0, 12) - g(ens, 0, 12)
        yl = g(none, last, last + 12) - g(ens, last, last + 12)
        return paired(100.0 * y1, 100.0 * yl)

    fm, fu = fades(multi), fades(uni)
    ok_m = 2.0 <= dm[0][1] and dm[0][2] <= 4.0
    ok_u = 0.5 <= du[0][1] and du[0][2] <= 1.0
    ok_f = years > 1 and fm[1] > 0 and fu[1] > 0
    ok = ok_m and ok_u and ok_f
    why = []
    if not ok_m:
        why.append("multilateral damage outside 2-4 points")
    if not ok_u:
        why.append(f"unilateral ({lead} alone, coalition share "
                   f"{coalition_share(uni.scenario, roles):.2f}) outside 0.5-1 point: its "
                   "leakage is not large enough to bring one sender's pressure that low")
    if not ok_f:
        why.append("damage does not fade")
    return Fact(
        3, "Damage is real, moderate and fades",
        "first-year growth loss 2.3-3.5 points (UN), 0.5-0.9 (US only), fading over 7-10 years",
        "Neuenkirch & Neumeier 2015; Hufbauer 2018; Dizaji & van Bergeijk 2013",
        "first-year growth loss of the target (points), multilateral episode",
        dm[0][0], dm[0][1], dm[0][2], "multilateral 2-4, unilateral 0.5-1, fading", ok,
        f"unilateral ({lead} alone): {fmt_ci(*du[0])} points; year-{years} damage "
        f"{fmt_ci(*dm[-1])} (multi), {fmt_ci(*du[-1])} (uni); fall from year 1 to year {years}: "
        f"{fmt_ci(*fm)} and {fmt_ci(*fu)} points" + ("" if ok else "; " + "; ".join(why)),
        data={"multi": dm, "uni": du, "lead": lead},
        reason="; ".join(why),
    )


def fact_4_leakage(ctx: Context) -> Fact:
    """Fact 4: leakage as the coalition shrinks.

    Sweep the coalition's share of the world economy over ``COALITION_SWEEP`` (through
    ``world.world_gdp``, :func:`coalition_overrides`). Per step: mean effective pressure
    on the target over the horizon and the success rate of fact 1. Monotone: every step down
    lowers the pressure (paired CI below 0), no step raises the success rate significantly, and
    from the first to the last share the success rate falls (paired CI below 0).
    """
    roles = ctx.roles
    press, succ, rows = [], [], []
    for share in COALITION_SWEEP:
        ens = ctx.ensemble(f"f4_{share}", coalition_overrides(ctx.scn, roles, share))
        episode, success = durable_compliance(ens, roles)
        press.append(ens.series(f"pressure_{roles.target}")[:, 1:].mean(axis=1))
        succ.append(success.astype(float))
        rows.append((share, *mean_interval(press[-1]), *proportion(success[episode])))
    step_p = [paired(press[k + 1], press[k]) for k in range(len(press) - 1)]
    step_s = [paired(succ[k + 1], succ[k]) for k in range(len(succ) - 1)]
    total = paired(succ[-1], succ[0])
    total_p = paired(press[-1], press[0])
    ok = (all(hi < 0 for _, _, hi in step_p) and all(lo <= 0 for _, lo, _ in step_s)
          and total[2] < 0)
    note = (f"pressure {rows[0][1]:.3f} -> {rows[-1][1]:.3f} (change {fmt_ci(*total_p, 3)}); "
            f"success {rows[0][4]:.3f} -> {rows[-1][4]:.3f}; every step lowers pressure: "
            f"{all(hi < 0 for _, _, hi in step_p)}; no step raises success: "
            f"{all(lo <= 0 for _, lo, _ in step_s)}")
    if ok:
        note += ("; the effect on success is small: pressure feeds the target's wish for "
                 "relief only through its pain sensitivity")
    why = []
    if not all(hi < 0 for _, _, hi in step_p):
        why.append("a step down of the coalition share does not lower the pressure")
    if not all(lo <= 0 for _, lo, _ in step_s):
        why.append("a step down of the coalition share raises the success rate")
    if not total[2] < 0:
        why.append(unresolved(total, "success falls from 0.8 to 0.6", ctx.runs))
    return Fact(
        4, "Leakage grows as the coalition shrinks",
        "busting is the main cause of failure; coalition share fell from about 80% to 60%",
        "Early 2015; Libman 2024",
        "change in the success rate (per run, paired) from coalition share 0.8 to 0.6",
        *total, "< 0, and pressure falls at every step", ok, note,
        data={"rows": pd.DataFrame(rows, columns=[
            "coalition_share", "pressure", "pressure_lo", "pressure_hi", "success",
            "success_lo", "success_hi"])},
        reason="; ".join(why),
    )


def fact_5_multilateral(ctx: Context) -> Fact:
    """Fact 5: multilateral against unilateral sanctions.

    Multilateral: the scenario as documented. Unilateral: the lead sender alone
    (:func:`unilateral`), relief talks with it alone. Figures: the paired difference in the
    durable-success indicator (multi - uni) and the ratio of first-year growth damage (fact 3).
    """
    roles = ctx.roles
    base = ctx.ensemble("base")
    uni_over, lead = unilateral(ctx.scn, roles)
    uni = ctx.ensemble("f5_uni", uni_over)
    _, sm = durable_compliance(base, roles)
    eu, su = durable_compliance(uni, roles)
    diff = paired(sm.astype(float), su.astype(float))
    quiet = {f"tracks.{roles.track}.base_rate": 0.0}
    none = ctx.ensemble("f3_none", {**quiet, **without_target_sanctions(ctx.scn, roles)})
    multi_q = ctx.ensemble("f3_multi", quiet)
    uni_q = ctx.ensemble("f3_uni", {**quiet, **uni_over})
    g = lambda e: np.log(e.series(f"gdp_index_{roles.target}")[:, 12]  # noqa: E731
                         / e.series(f"gdp_index_{roles.target}")[:, 0])
    dmulti = g(none) - g(multi_q)
    duni = g(none) - g(uni_q)
    dd = paired(100 * dmulti, 100 * duni)
    ratio = dmulti.mean() / duni.mean() if duni.mean() > 0 else math.inf
    ok = diff[1] > 0 and dd[1] > 0
    why = [unresolved(v, what, ctx.runs, above=True) for v, what, fails in (
        (diff, "multilateral succeeds more", diff[1] <= 0),
        (dd, "multilateral damages more", dd[1] <= 0)) if fails]
    note = (f"success {sm.mean():.3f} (multilateral) vs {su.mean():.3f} ({lead} alone); "
            f"first-year damage higher by {fmt_ci(*dd)} points, ratio {ratio:.1f} "
            "(the literature's 3-4 for UN vs US-only is larger)")
    return Fact(
        5, "Multilateral beats unilateral",
        "multilateral, institution-backed sanctions succeed more; UN sanctions cut growth 3-4x "
        "more than US-only ones", "Bapat & Morgan 2009; Neuenkirch & Neumeier 2015",
        "difference in success rate, multilateral - unilateral (per run, paired)",
        *diff, "> 0 on success and on damage", ok, note,
        data={"success": (proportion(sm), proportion(su)), "damage": (mean_interval(100 * dmulti),
                                                            mean_interval(100 * duni)),
              "lead": lead},
        reason="; ".join(why),
    )
