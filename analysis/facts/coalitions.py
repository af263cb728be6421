"""Fact 4 on the case: leakage as the coalition shrinks.

Facts 3 and 5 (damage, multilateral against unilateral) are measured on the population of
episodes (:mod:`analysis.facts.base_rates`); fact 4 is a claim about the Iran case (busting by
China and the shrinking Western coalition), so it is measured on the scenario.
"""

from __future__ import annotations

import pandas as pd

from analysis.facts.measures import Fact, fmt_ci, paired, proportion, unresolved
from analysis.facts.roles import coalition_overrides, durable_compliance
from analysis.facts.variants import Context
from sim.results.stats import mean_interval

#: The coalition shares of the leakage sweep (Libman 2024: about 80% fell to about 60%).
COALITION_SWEEP = (0.8, 0.75, 0.7, 0.65, 0.6)


def fact_4_leakage(ctx: Context, shares: tuple[float, ...] = COALITION_SWEEP) -> Fact:
    """Fact 4: leakage as the coalition shrinks.

    Sweep the coalition's share of the world economy over ``shares`` (default
    ``COALITION_SWEEP``; the fragility sweep uses its two ends only) (through
    ``world.world_gdp``, :func:`coalition_overrides`). Per step: mean effective pressure
    on the target over the horizon and the success rate of fact 1. Monotone: every step down
    lowers the pressure (paired CI below 0), no step raises the success rate significantly, and
    from the first to the last share the success rate falls (paired CI below 0).
    """
    roles = ctx.roles
    press, succ, rows = [], [], []
    for share in shares:
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
    # The figure is a paired difference of success over all runs; the rates among episodes
    # (runs with an imposition) have a denominator that changes with the share, so their change
    # can have the other sign: both are given.
    note = (f"pressure {rows[0][1]:.3f} -> {rows[-1][1]:.3f} (change {fmt_ci(*total_p, 3)}); "
            f"success as a share of all runs (the figure's measure) {succ[0].mean():.3f} -> "
            f"{succ[-1].mean():.3f}; as a share of episodes (runs with an imposition, whose "
            f"number also changes) {rows[0][4]:.3f} -> {rows[-1][4]:.3f}; every step lowers "
            "pressure: "
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
        f"change in durable success (share of all runs, paired per run) from coalition share "
        f"{shares[0]:g} to {shares[-1]:g}, the Iran case"
        + (" on the calibrated posterior" if ctx.posterior is not None else ""),
        *total, "< 0, and pressure falls at every step", ok, note,
        data={"rows": pd.DataFrame(rows, columns=[
            "coalition_share", "pressure", "pressure_lo", "pressure_hi", "success",
            "success_lo", "success_hi"]), "per_run": succ[-1] - succ[0]},
        reason="; ".join(why),
    )
