"""The two tables (validation, verification) and the text report ``diplosim facts`` prints."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.facts.check import WHERE, FactCheck
from analysis.facts.measures import Fact


def facts_table(check: FactCheck) -> pd.DataFrame:
    """The validation table, one row per validated fact.

    One row per fact: where it is measured (the population of synthetic episodes or the case),
    the fact, literature and source, the model's figure with its 95% CI, the band, the verdict,
    the note, the runs (or episodes) behind the figure and, for a fact not reproduced, the
    reason. On a calibrated posterior (``check.posterior``) also ``param_p05`` and
    ``param_p95`` (the 5-95% spread of the parameter draws' own figures), ``mc_se`` (Monte
    Carlo standard error of a mean of per-run effects) and ``draws``: set for the case's fact,
    NaN (0 draws) for the population's, which do not use the posterior.
    """
    frame = pd.DataFrame([{
        "fact": f.number, "where": WHERE[f.number], "title": f.title,
        "literature": f.literature, "source": f.source, "model_measure": f.measure,
        "model": f.estimate, "ci_low": f.low, "ci_high": f.high, "band": f.band,
        "verdict": f.verdict, "note": f.note, "runs": f.runs, "reason": f.reason,
    } for f in check.facts])
    return _with_spread(frame, check.facts, check)


def _with_spread(frame: pd.DataFrame, facts: list[Fact | None], check: FactCheck
                 ) -> pd.DataFrame:
    """``frame`` with the posterior's spread columns when the case ran on one."""
    if check.posterior is None:
        return frame
    nan = np.nan
    frame["param_p05"] = [f.param_p05 if f is not None else nan for f in facts]
    frame["param_p95"] = [f.param_p95 if f is not None else nan for f in facts]
    frame["mc_se"] = [f.mc_se if f is not None else nan for f in facts]
    frame["draws"] = [f.draws if f is not None else 0 for f in facts]
    return frame


def verification_table(check: FactCheck) -> pd.DataFrame:
    """The verification table, one row per mechanism.

    What the ODD says, where, the tests that verify it and, for the mechanisms the command
    checks on the case, the check's figure.
    """
    rows = []
    for v in check.verification:
        m, f = v.mechanism, v.fact
        rows.append({
            "check": m.key, "mechanism": m.mechanism, "odd": m.section,
            "was_fact": m.was_fact or None, "tests": "; ".join(m.tests), "status": v.status,
            "model": f.estimate if f is not None else np.nan,
            "ci_low": f.low if f is not None else np.nan,
            "ci_high": f.high if f is not None else np.nan,
            "measure": f.measure if f is not None else "",
            "note": f.note if f is not None else "",
        })
    return _with_spread(pd.DataFrame(rows), [v.fact for v in check.verification], check)


#: The literature's figure and source in a few words, for the one-row-per-fact table.
SHORT_LITERATURE = {
    1: "34% of 204 (Hufbauer et al. 2007)",
    2: "about 1/2 (TIES, Morgan et al. 2014)",
    3: "UN 2.3-3.5, US 0.5-0.9 pts (N&N 2015)",
    4: "falls, share 0.8->0.6 (Early 2015)",
    5: "multi > uni (Bapat & Morgan 2009)",
}


def _ci_text(f: Fact) -> str:
    if np.isfinite(f.low) and np.isfinite(f.high):
        return f"{f.estimate:.3g} [{f.low:.3g}, {f.high:.3g}]"
    return f"{f.estimate:.3g} [n/a]"


def spread_text(f: Fact) -> str:
    """A case figure's spread over the posterior's draws, in words ("" without a posterior)."""
    if not f.draws:
        return ""
    text = (f"5-95% over {f.draws} parameter draws (each draw's own figure) "
            f"{f.param_p05:.3g} to {f.param_p95:.3g}")
    if np.isfinite(f.mc_se):
        text += f"; Monte Carlo s.e. {f.mc_se:.2g}"
    return text


def posterior_text(check: FactCheck) -> str:
    """Which posterior the case ran on, in one line ("" without one)."""
    case = check.posterior
    if case is None:
        return ""
    m = case.posterior.manifest
    folder = case.folder if case.folder is not None else "(given in Python)"
    sha = m.get("record_sha256") or "not recorded"
    return (f"posterior {folder}: {case.posterior.n_particles} particles of "
            f"{len(case.posterior.keys)} parameters, calibrated on "
            f"{m.get('scenario', 'an unnamed scenario')} (seed {m.get('seed', 'not recorded')}, "
            f"record SHA-256 {sha}); {case.draws} draws x {case.per_draw} runs")


def fragility_summary(check: FactCheck) -> pd.DataFrame:
    """Per validated fact and sweep: how many settings keep the verdict "reproduced"."""
    t = check.fragility
    if t.empty:
        return pd.DataFrame()
    g = t.groupby(["fact", "sweep", "setting"], sort=False)
    out = g.agg(settings=("holds", "size"), reproduced_at=("holds", "sum"),
                low=("estimate", "min"), high=("estimate", "max")).reset_index()
    out["reproduced_at"] = out["reproduced_at"].astype(int)
    return out


def format_report(check: FactCheck) -> str:
    """The report as text.

    The validation table, the verification table, one block per validated fact, the count,
    and the fragility summary.
    """
    n = len(check.facts)
    lines = [f"Validation and verification on '{check.scenario}' and a population of "
             f"{check.population.episodes} synthetic episodes ({check.case_runs} runs per "
             f"variant, seed {check.seed}, {check.seconds:.0f} s)", ""]
    if check.posterior is not None:
        lines[-1:] = [f"The case (fact 4, the checks of V1-V3) on the calibrated "
                      f"{posterior_text(check)}; the population's facts do not use it.", ""]
    lines.append("VALIDATION: patterns the model was not built to produce")
    head = (f"{'#':<2} {'where':<10} {'fact':<44} {'literature (source)':<38} "
            f"{'model [95% CI]':<27} verdict")
    lines += [head, "-" * len(head)]
    for f in check.facts:
        lines.append(f"{f.number:<2} {WHERE[f.number]:<10} {f.title[:44]:<44} "
                     f"{SHORT_LITERATURE.get(f.number, ''):<38} {_ci_text(f):<27} "
                     f"{f.verdict} (band {f.band})")
    lines += ["", "VERIFICATION: each mechanism does what docs/ODD.md says (not evidence "
              "about the world)"]
    head = f"{'id':<4} {'ODD':<14} {'mechanism':<60} {'status':<9} tests"
    lines += [head, "-" * len(head)]
    for v in check.verification:
        m = v.mechanism
        was = f" (was fact {m.was_fact})" if m.was_fact else ""
        text = (m.mechanism + was)
        fig = f"; case: {_ci_text(v.fact)}" if v.fact is not None else ""
        if v.fact is not None and v.fact.draws:
            fig += f" ({spread_text(v.fact)})"
        lines.append(f"{m.key:<4} {m.section:<14} {text[:60]:<60} {v.status:<9} "
                     f"{', '.join(t.split('::')[-1] for t in m.tests)}{fig}")
    lines.append("")
    for f in check.facts:
        lines.append(f"{f.number}. {f.title} ({WHERE[f.number]}): {f.verdict.upper()}")
        lines.append(f"   literature: {f.literature} ({f.source})")
        lines.append(f"   model:      {_ci_text(f)}  band {f.band}  ({f.runs} "
                     f"{'episodes' if WHERE[f.number] == 'population' else 'runs per variant'})")
        if f.draws:
            lines.append(f"   posterior:  {spread_text(f)}")
        lines.append(f"   measure:    {f.measure}")
        if f.note:
            lines.append(f"   note:       {f.note}")
        if f.reason:
            lines.append(f"   reason:     {f.reason}")
        lines.append("")
    lines.append(f"{check.reproduced} of {n} validated facts reproduced at {check.case_runs} runs "
                 f"per variant ({check.runs} episodes in the population, seed {check.seed}); "
                 "verdicts are statistical: with fewer runs small effects are not resolved (see "
                 "each reason). Facts 6, 7 and 8 of the reference list hold by construction and "
                 "are in the verification table.")
    summary = fragility_summary(check)
    if not summary.empty:
        lines += ["", "Fragility (settings at which each fact is reproduced; figure range):",
                  summary.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
    return "\n".join(lines)
