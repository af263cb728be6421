"""Facts 1, 2, 3 and 5 measured on the population of synthetic episodes.

These facts are base rates and contrasts over many episodes (HSE, TIES, GSDB), so their figures
come from :mod:`analysis.facts.population`: one run per episode, the episodes independent, so a
Wilson or t interval over episodes is the interval of the population's rate. Each measure takes
the horizon and the coding as arguments: the fragility sweep (:mod:`analysis.facts.fragility`)
re-reads the same runs at other horizons and codings.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.facts.measures import Fact, band_reason, fmt_ci, paired, proportion, unresolved
from analysis.facts.population import HORIZON, Population
from analysis.facts.roles import IMPOSITION
from analysis.facts.variants import Ensemble
from sim.results.stats import mean_interval

#: Codings of a successful episode (fact 1): ``durable`` a relief deal struck after the first
#: imposition, in force at the horizon and never broken before it (HSE's "positive outcome"
#: read as compliance that holds); ``in_force`` any deal in force at the horizon (the loosest);
#: ``halt`` durable and no shipment by the target in the last 12 months before the horizon (only
#: real halts count: the closest the model comes to Pape's strict coding).
CODINGS = ("durable", "in_force", "halt")

#: Fact 5's codings add ``any_stage``: a deal in force at the horizon whether or not a sender
#: imposed first (compliance at the threat stage counts, as in TIES, which Bapat & Morgan 2009
#: use); over all episodes, not only those with an imposition.
CODINGS_5 = (*CODINGS, "any_stage")


def imposed_by(ens: Ensemble, sender: str, target: str, threshold: float = IMPOSITION
               ) -> np.ndarray:
    """Runs x months: whether the sender has imposed by month m.

    Imposed: its intensity on the target stands ``threshold`` above the start.
    """
    x = ens.series(f"sanctions_{sender}_{target}")
    return np.maximum.accumulate((x - x[:, :1]) >= threshold - 1e-12, axis=1)


def first_imposition(ens: Ensemble, senders: tuple[str, ...], target: str,
                     threshold: float = IMPOSITION) -> np.ndarray:
    """Per run, the first month some sender has imposed (+inf if none in the run)."""
    first = np.full(len(ens.summary), np.inf)
    for s in senders:
        by = imposed_by(ens, s, target, threshold)
        first = np.where(by.any(axis=1), np.minimum(first, by.argmax(axis=1)), first)
    return first


def _own(pop: Population, quiet: bool = False) -> Ensemble:
    """Every episode in its own arm (multilateral or unilateral) as one ensemble."""
    suffix = "_q" if quiet else ""
    m, u = pop.arms["multi" + suffix], pop.arms["uni" + suffix]
    monthly = {k: np.where(pop.multilateral[:, None], v, u.series(k)) for k, v in m.monthly.items()}
    summary = m.summary.copy()
    for c in summary.columns:
        if c in u.summary:
            summary[c] = np.where(pop.multilateral, m.summary[c], u.summary[c])
    return Ensemble(m.scenario, summary, monthly)


def success(ens: Ensemble, pop: Population, horizon: int, coding: str
            ) -> tuple[np.ndarray, np.ndarray]:
    """Episodes (an imposition by ``horizon``) and their success under ``coding`` (per run).

    ``any_stage`` counts every run as an episode (see :data:`CODINGS_5`).
    """
    r = pop.roles
    t = r.track
    imp = first_imposition(ens, r.senders, r.target)
    episode = imp <= horizon
    active = ens.series(f"active_{t}")[:, horizon] > 0.5
    if coding == "any_stage":
        return np.ones_like(episode), active
    if coding == "in_force":
        return episode, episode & active
    deal = np.nan_to_num(ens.summary[f"{t}_month"].to_numpy(), nan=np.inf)
    broke = np.nan_to_num(ens.summary[f"{t}_broken_month"].to_numpy(), nan=np.inf)
    ok = episode & active & (deal > imp) & (deal <= horizon) & (broke > horizon)
    if coding == "durable":
        return episode, ok
    if coding == "halt":
        shipped = sum(ens.series(f"shipped_{q}") for q in r.routes)
        quiet = shipped[:, max(1, horizon - 11):horizon + 1].sum(axis=1) == 0
        return episode, ok & quiet
    raise ValueError(f"unknown coding {coding!r} (known: {', '.join(CODINGS_5)})")


def fact_1_population(pop: Population, horizon: int = HORIZON, coding: str = "durable"
                      ) -> Fact:
    """Fact 1 on the population: the share of episodes that succeed.

    Episode: a synthetic episode in which a sender imposes (its sanctions on the target rise
    ``IMPOSITION`` above the start) by ``horizon``. Success: ``coding`` (:data:`CODINGS`).
    Each episode in its own arm (multilateral or unilateral, as drawn).
    """
    ens = _own(pop)
    episode, ok = success(ens, pop, horizon, coding)
    est, lo, hi = proportion(ok[episode])
    by_month = np.array([proportion(success(ens, pop, h, coding)[1][
        success(ens, pop, h, coding)[0]])[0] for h in range(12, ens.scenario.horizon + 1, 6)])
    loose = proportion(success(ens, pop, horizon, "in_force")[1][episode])
    strict = proportion(success(ens, pop, horizon, "halt")[1][episode])
    return Fact(
        1, "Sanctions succeed in about a third of episodes",
        "34% of 204 episodes (HSE); 30-50% (GSDB); about 4% under strict coding (Pape)",
        "Hufbauer, Schott, Elliott & Oegg 2007; Felbermayr et al. 2020 (GSDB); Pape 1997",
        f"share of synthetic episodes with an imposition by month {horizon} that end in durable "
        "compliance (a relief deal struck after the imposition, never broken, in force at month "
        f"{horizon})",
        est, lo, hi, "0.20-0.50", bool(0.2 <= lo and hi <= 0.5),
        f"{int(episode.sum())} episodes of {pop.episodes} drawn; any deal in force at month "
        f"{horizon}: {fmt_ci(*loose)}; only real halts (no shipment in the last 12 months): "
        f"{fmt_ci(*strict)}",
        data={"months": np.arange(12, ens.scenario.horizon + 1, 6), "by_month": by_month},
        reason=band_reason(est, lo, hi, 0.2, 0.5, int(episode.sum()), "episodes"),
    )


def fact_2_population(pop: Population, horizon: int = HORIZON, threshold: float = IMPOSITION
                      ) -> Fact:
    """Fact 2 on the population: the share of threats never carried out.

    Threat: a sender's public warning at the start of an episode (the lead sender in every
    episode, the second sender in multilateral ones). It ends at the threat stage when the
    sender has not imposed (its sanctions ``threshold`` above the start) by ``horizon``.
    """
    ens = _own(pop)
    r = pop.roles
    lead, ally = r.senders
    ended, per_sender, by_month = [], {}, {}
    for s, threatened in ((lead, np.ones(pop.episodes, bool)), (ally, pop.multilateral)):
        by = imposed_by(ens, s, r.target, threshold)
        never = ~by[:, horizon]
        ended.append(never[threatened])
        per_sender[s] = proportion(never[threatened])
        by_month[s] = (by[threatened, :horizon + 1].mean(axis=0) if threatened.any()
                       else np.zeros(horizon + 1))
    alln = np.concatenate(ended)
    est, lo, hi = proportion(alln)
    ok = bool(0.35 <= lo and hi <= 0.65)
    # How the threats that end unimposed end: deterred (the target stops shipping) or never seen.
    shipped = sum(ens.series(f"shipped_{q}") for q in r.routes)[:, 1:horizon + 1]
    seen = sum(ens.series(f"detected_{q}") for q in r.routes)[:, 1:horizon + 1]
    quiet_lead = ~imposed_by(ens, lead, r.target, threshold)[:, horizon]
    ships = (shipped[quiet_lead] > 0).mean() if quiet_lead.any() else math.nan
    caught = (seen[quiet_lead].sum(axis=1) > 0).mean() if quiet_lead.any() else math.nan
    parts = "; ".join(f"{s}: {fmt_ci(*v)}" for s, v in per_sender.items())
    note = (f"{parts}; in the episodes the lead sender never imposes, the target ships in "
            f"{100 * ships:.0f}% of the months and is caught at least once in {100 * caught:.0f}%"
            " of them (a threat ends unimposed when the target stops, is never caught, or the "
            "sender backs down: ODD 7.2)")
    return Fact(
        2, "About half of threats are never carried out",
        "about half of threats in TIES end before imposition",
        "Morgan, Bapat & Kobayashi 2014 (TIES)",
        f"share of senders' public threats at the start of an episode with no imposition by "
        f"month {horizon}",
        est, lo, hi, "0.35-0.65", ok, note,
        data={"per_sender": per_sender, "imposed_by_month": by_month},
        reason=band_reason(est, lo, hi, 0.35, 0.65, int(alln.size), "threats"),
    )


def damage_after_imposition(pop: Population, arm: str, year: int) -> np.ndarray:
    """Per episode, the growth damage (points) in year ``year`` (1-3) after the first imposition.

    100 x (log growth of the target's GDP over the 12 months with no sanctions - the same in
    ``arm``), the months counted from the first imposition in ``arm``; NaN for an episode with
    no imposition early enough for three years inside the template's horizon.
    """
    r = pop.roles
    ens, none = pop.arms[arm], pop.arms["none_q"]
    imp = first_imposition(ens, r.senders, r.target)
    h = ens.scenario.horizon
    g_arm = np.log(ens.series(f"gdp_index_{r.target}"))
    g_none = np.log(none.series(f"gdp_index_{r.target}"))
    out = np.full(pop.episodes, np.nan)
    ok = np.isfinite(imp) & (imp + 36 <= h)
    m = imp[ok].astype(int)
    rows = np.flatnonzero(ok)
    a, b = m + 12 * (year - 1), m + 12 * year
    out[rows] = 100.0 * ((g_none[rows, b] - g_none[rows, a]) - (g_arm[rows, b] - g_arm[rows, a]))
    return out


def fact_3_population(pop: Population) -> Fact:
    """Fact 3 on the population: growth damage in the years after an imposition, and fading.

    Arms with relief talks off (``*_q``): every episode as multilateral and as unilateral,
    against its own run with no sanctions (common random numbers). The episodes start with no
    sanctions and no sanctions history, so the no-sanctions run's trend is the target's growth
    without sanctions and the damage is the whole damage of the episode (the case's fault,
    starting damage held in the trend, does not arise). Year 1: the 12 months from the first
    imposition; fading: year 3 below year 1 (paired).
    """
    d = {arm: [damage_after_imposition(pop, arm, y) for y in (1, 2, 3)]
         for arm in ("multi_q", "uni_q")}
    stats = {arm: [mean_interval(x[np.isfinite(x)]) for x in ys] for arm, ys in d.items()}
    fade = {arm: paired(ys[0][np.isfinite(ys[0])], ys[2][np.isfinite(ys[2])])
            for arm, ys in d.items()}
    m1, u1 = stats["multi_q"][0], stats["uni_q"][0]
    ok_m = 0.5 <= m1[1] and m1[2] <= 3.5
    ok_u = 0.5 <= u1[1] and u1[2] <= 1.0
    ok_f = fade["multi_q"][1] > 0 and fade["uni_q"][1] > 0
    why = []
    if not ok_m:
        why.append(band_reason(*m1, 0.5, 3.5, int(np.isfinite(d["multi_q"][0]).sum()),
                               "multilateral episodes") or "multilateral outside 0.5-3.5")
    if not ok_u:
        why.append("unilateral: " + (band_reason(*u1, 0.5, 1.0,
                                                 int(np.isfinite(d["uni_q"][0]).sum()),
                                                 "unilateral episodes")
                                     or "outside 0.5-1"))
    if not ok_f:
        why.append("damage does not fade from year 1 to year 3: "
                   + "; ".join(f"{a} {fmt_ci(*v)}" for a, v in fade.items()))
    n_m = int(np.isfinite(d["multi_q"][0]).sum())
    n_u = int(np.isfinite(d["uni_q"][0]).sum())
    return Fact(
        3, "Damage is real, moderate and fades",
        "first-year growth loss 2.3-3.5 points (UN), 0.5-0.9 (US only), fading over 7-10 years",
        "Neuenkirch & Neumeier 2015; Hufbauer 2018; Dizaji & van Bergeijk 2013",
        "growth loss of the target (points) in the 12 months after the first imposition, "
        "multilateral episodes (two senders), against the same episode with no sanctions",
        *m1, "multilateral 0.5-3.5, unilateral 0.5-1, year 3 below year 1", bool(
            ok_m and ok_u and ok_f),
        f"multilateral {fmt_ci(*m1)} ({n_m} episodes), unilateral {fmt_ci(*u1)} ({n_u}); "
        f"year 3: {fmt_ci(*stats['multi_q'][2])} and {fmt_ci(*stats['uni_q'][2])}; fall from "
        f"year 1 to year 3: {fmt_ci(*fade['multi_q'])} and {fmt_ci(*fade['uni_q'])} points",
        data={"multi": stats["multi_q"], "uni": stats["uni_q"], "fade": fade},
        reason="; ".join(why),
    )


def fact_5_population(pop: Population, horizon: int = HORIZON, coding: str = "durable"
                      ) -> Fact:
    """Fact 5 on the population: multilateral against unilateral, episode by episode.

    Every episode is run as multilateral (both senders) and as unilateral (the lead alone),
    on the same random numbers. Figures: the paired difference in success (``coding`` at
    ``horizon``, as a share of all episodes) and in the mean annual growth damage over the
    horizon with relief talks off.
    """
    r = pop.roles
    em, sm = success(pop.arms["multi"], pop, horizon, coding)
    eu, su = success(pop.arms["uni"], pop, horizon, coding)
    diff = paired(sm.astype(float), su.astype(float))
    _, am = success(pop.arms["multi"], pop, horizon, "any_stage")
    _, au = success(pop.arms["uni"], pop, horizon, "any_stage")
    any_stage = paired(am.astype(float), au.astype(float))
    g = {a: np.log(pop.arms[a].series(f"gdp_index_{r.target}")[:, horizon])
         for a in ("multi_q", "uni_q", "none_q")}
    years = horizon / 12.0
    dm = 100.0 * (g["none_q"] - g["multi_q"]) / years
    du = 100.0 * (g["none_q"] - g["uni_q"]) / years
    dd = paired(dm, du)
    ratio = dm.mean() / du.mean() if du.mean() > 0 else math.inf
    ok = bool(diff[1] > 0 and dd[1] > 0)
    why = [unresolved(v, what, pop.episodes, above=True) for v, what, fails in (
        (diff, "multilateral succeeds more", diff[1] <= 0),
        (dd, "multilateral damages more", dd[1] <= 0)) if fails]
    return Fact(
        5, "Multilateral beats unilateral",
        "multilateral, institution-backed sanctions succeed more; UN sanctions cut growth 3-4x "
        "more than US-only ones", "Bapat & Morgan 2009; Neuenkirch & Neumeier 2015",
        f"difference in success by month {horizon} (share of all episodes), each episode "
        "multilateral minus the same episode unilateral (paired)",
        *diff, "> 0 on success and on damage", ok,
        f"success {sm.mean():.3f} (multilateral) vs {su.mean():.3f} (lead sender alone); "
        f"episodes with an imposition by month {horizon}: {em.mean():.3f} vs {eu.mean():.3f} "
        f"(success is coded only after an imposition); a deal in force at month {horizon} "
        f"whether or not a sender imposed first: {am.mean():.3f} vs {au.mean():.3f}, "
        f"difference {fmt_ci(*any_stage, 3)}; mean annual damage over {horizon} months higher "
        f"by {fmt_ci(*dd)} points, ratio {ratio:.1f} (the literature's 3-4 for UN vs US-only)",
        data={"success": (proportion(sm), proportion(su)),
              "damage": (mean_interval(dm), mean_interval(du))},
        reason="; ".join(why),
    )
