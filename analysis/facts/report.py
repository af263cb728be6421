"""The facts as a table (one row per fact) and as the text report ``diplosim facts`` prints."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.facts.check import FactCheck
from analysis.facts.measures import Fact


def facts_table(check: FactCheck) -> pd.DataFrame:
    """The facts as a table, one row per fact.

    One row per fact: the fact, literature and source, the model's figure with its 95% CI,
    the band, the verdict, the note, the runs per variant behind the figure and, for a fact not
    reproduced, the reason.
    """
    return pd.DataFrame([{
        "fact": f.number, "title": f.title, "literature": f.literature, "source": f.source,
        "model_measure": f.measure, "model": f.estimate, "ci_low": f.low, "ci_high": f.high,
        "band": f.band, "verdict": f.verdict, "note": f.note, "runs": f.runs,
        "reason": f.reason,
    } for f in check.facts])


#: The literature's figure and source in a few words, for the one-row-per-fact table.
SHORT_LITERATURE = {
    1: "34% of 204 (Hufbauer et al. 2007)",
    2: "about 1/2 (TIES, Morgan et al. 2014)",
    3: "UN 2.3-3.5, US 0.5-0.9 pts (N&N 2015)",
    4: "falls, share 0.8->0.6 (Early 2015)",
    5: "multi > uni (Bapat & Morgan 2009)",
    6: "within months (Iran 2016, 2018)",
    7: "HR > 1 (McGillivray & Stam 2004)",
    8: "falls (Alabuga; SIPRI 2025)",
}


def _ci_text(f: Fact) -> str:
    if np.isfinite(f.low) and np.isfinite(f.high):
        return f"{f.estimate:.3g} [{f.low:.3g}, {f.high:.3g}]"
    return f"{f.estimate:.3g} [n/a]"


def format_report(check: FactCheck) -> str:
    """The report as text.

    One row per fact, then one block per fact with its definition and note, then the count of
    facts reproduced and the sensitivity sweep.
    """
    lines = [f"Stylised facts on '{check.scenario}' ({check.runs} runs per variant, seed "
             f"{check.seed}, {check.seconds:.0f} s)", ""]
    head = f"{'#':<2} {'fact':<47} {'literature (source)':<39} {'model [95% CI]':<27} verdict"
    lines += [head, "-" * len(head)]
    for f in check.facts:
        lines.append(f"{f.number:<2} {f.title[:47]:<47} {SHORT_LITERATURE.get(f.number, ''):<39} "
                     f"{_ci_text(f):<27} {f.verdict} (band {f.band})")
    lines.append("")
    for f in check.facts:
        lines.append(f"{f.number}. {f.title}: {f.verdict.upper()}")
        lines.append(f"   literature: {f.literature} ({f.source})")
        lines.append(f"   model:      {_ci_text(f)}  band {f.band}  ({f.runs} runs per "
                     "variant)")
        lines.append(f"   measure:    {f.measure}")
        if f.note:
            lines.append(f"   note:       {f.note}")
        if f.reason:
            lines.append(f"   reason:     {f.reason}")
        lines.append("")
    lines.append(f"{check.reproduced} of {len(check.facts)} facts reproduced at {check.runs} runs "
                 f"per variant (seed {check.seed}); verdicts are statistical: with fewer runs "
                 "small effects are not resolved (see each reason).")
    if not check.sensitivity.empty:
        lines += ["", "Sensitivity to unsourced assumptions (x0.5, x1, x2):",
                  check.sensitivity.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
    return "\n".join(lines)
