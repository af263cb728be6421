"""Facts 1 and 2: how sanction episodes end (success, threats never carried out)."""

from __future__ import annotations

import math

import numpy as np

from analysis.facts.measures import Fact, band_reason, fmt_ci, proportion
from analysis.facts.roles import IMPOSITION, durable_compliance
from analysis.facts.variants import Context


def fact_1_success(ctx: Context) -> Fact:
    """Fact 1: the success rate of sanction episodes.

    Episode: a run in which a sender raises its sanctions on the target by at least
    ``IMPOSITION`` above the starting level. Success: durable compliance (see
    :func:`durable_compliance`). Figure: share of episodes that succeed, baseline ensemble.
    """
    base = ctx.ensemble("base")
    episode, success = durable_compliance(base, ctx.roles)
    est, lo, hi = proportion(success[episode])
    in_force = base.series(f"active_{ctx.roles.track}")[:, -1] > 0.5
    alt, alo, ahi = proportion(in_force[episode])
    ok = 0.2 <= lo and hi <= 0.5
    return Fact(
        1, "Sanctions succeed in about a third of episodes",
        "34% of 204 episodes (HSE); 30-50% (GSDB); about 4% under strict coding (Pape)",
        "Hufbauer, Schott, Elliott & Oegg 2007; Pape 1997",
        "share of sanction episodes (an imposition >= 0.10 above the starting intensity) ending "
        "in durable compliance (a relief deal struck after the imposition, never broken, in "
        "force at the horizon)",
        est, lo, hi, "0.20-0.50", ok,
        f"{int(episode.sum())} episodes in {ctx.runs} runs; a looser coding (deal in force at "
        f"the horizon, broken or not) gives {fmt_ci(alt, alo, ahi)}",
        data={"success_by_month": np.array([
            np.mean(success[episode] & (base.summary[f"{ctx.roles.track}_month"]
                                         .to_numpy()[episode] <= m)) for m in
            range(base.scenario.horizon + 1)]),
            "in_force_share": base.series(f"active_{ctx.roles.track}")[episode].mean(axis=0)},
        reason=band_reason(est, lo, hi, 0.2, 0.5, int(episode.sum()), "episodes"),
    )


def fact_2_threat(ctx: Context) -> Fact:
    """Fact 2: the share of threats never carried out.

    Threat: a sender with a public warning in force against the target's transfers (warned at
    the start, by a scheduled event, or before any escalation, which needs a prior warning).
    It ends at the threat stage when the sender never imposes (no escalation on the target
    within the horizon). Figure: share of threats that end at the threat stage.
    """
    base = ctx.ensemble("base")
    spec = ctx.scn.spec
    ended = []
    per_sender = {}
    imposed_by_month = {}
    for s in ctx.roles.senders:
        warned_by_event = any(e.key == f"actors.{s}.warning" and e.value for e in spec.events)
        threatened = np.full(ctx.runs, bool(spec.actors[s].warning) or warned_by_event)
        x = base.series(f"sanctions_{s}_{ctx.roles.target}")
        # imposed by month m: an imposition in some month up to m (sanctions may decay after)
        by_month = np.maximum.accumulate((x - x[:, :1]) >= IMPOSITION - 1e-12, axis=1)
        imposed = by_month[:, -1]
        threatened = threatened | imposed
        ended.append(~imposed[threatened])
        per_sender[s] = proportion(~imposed[threatened])
        # the figure's curves are over the same threats as the table, so they end at its figure
        imposed_by_month[s] = (by_month[threatened].mean(axis=0) if threatened.any()
                               else np.zeros(x.shape[1]))
    est, lo, hi = proportion(np.concatenate(ended))
    ok = 0.35 <= lo and hi <= 0.65
    # Months with no relief deal in force in which the target ships on some route.
    any_ship = np.any([base.series(f"shipped_{r}")[:, 1:] > 0 for r in ctx.roles.routes],
                      axis=0)
    free = base.series(f"active_{ctx.roles.track}")[:, 1:] < 0.5
    ship = any_ship[free].mean() if free.any() else math.nan
    parts = "; ".join(f"{s}: {fmt_ci(*v)}" for s, v in per_sender.items())
    mechanism = ("" if ok else
              f"; the target keeps shipping under the threat (in {100 * ship:.0f}% of the "
              "months with no deal in force): the expected cost of a shipment "
              "(detection x escalation weight x credibility x leverage x headroom to the cap) "
              "is small for a target already sanctioned near the cap, and the sender imposes on "
              "the first detection that passes its threshold")
    return Fact(
        2, "About half of threats are never carried out",
        "about half of threats in TIES end before imposition",
        "Morgan, Bapat & Kobayashi 2014 (TIES)",
        "share of sender-target threats (warning in force) with no new imposition within the "
        "horizon",
        est, lo, hi, "0.35-0.65", ok, parts + mechanism,
        data={"per_sender": per_sender, "imposed_by_month": imposed_by_month},
        reason=band_reason(est, lo, hi, 0.35, 0.65, int(np.concatenate(ended).size), "threats")
        + mechanism,
    )
