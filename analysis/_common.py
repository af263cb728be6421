"""Shared by the analysis modules: scenarios from names, percentages and tracks in words.

What an outcome is (a yes/no outcome, a count, a month...) is declared in
:mod:`sim.core.outcomes`, not guessed from its name here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.scenario import Scenario, load_scenario


def as_scenario(scenario: Scenario | str) -> Scenario:
    """A Scenario from a Scenario, a bundled name or a path."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def fmt_pct(p: float, digits: int = 0) -> str:
    """``0.123 -> '12%'``; NaN as ``'n/a'``."""
    return "n/a" if not math.isfinite(p) else f"{100 * p:.{digits}f}%"


def track_phrases(scn: Scenario) -> list[dict[str, Any]]:
    """For each negotiation track, who negotiates, in words, for plain-language summaries.

    Returns one dict per track in the scenario's order, e.g. ``{"id": "relief", "kind":
    "relief", "parties": "Iran, United States and NATO", "deal": "a sanctions-relief deal",
    "reach": "bring a sanctions-relief deal into force"}``.
    """
    spec = scn.spec
    out: list[dict[str, Any]] = []
    for tid, t in spec.tracks.items():
        names = [spec.actors[t.party].name] + [spec.actors[c].name for c in t.counterparts]
        if len(names) > 2:
            parties = ", ".join(names[:-1]) + " and " + names[-1]
        else:
            parties = " and ".join(names)
        deal = "a sanctions-relief deal" if t.kind == "relief" else "a ceasefire"
        # A relief deal counts once in force (after its implementation), a ceasefire once agreed.
        reach = ("bring a sanctions-relief deal into force" if t.kind == "relief"
                 else "reach a ceasefire")
        out.append({"id": tid, "kind": t.kind, "parties": parties, "deal": deal, "reach": reach})
    return out


def finite(values: np.ndarray) -> np.ndarray:
    """The finite entries of ``values`` (a month that never happened is NaN)."""
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]
