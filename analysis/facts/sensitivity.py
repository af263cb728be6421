"""The sensitivity sweep: facts 1-4 with each unsourced assumption halved and doubled."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.facts.coalitions import COALITION_SWEEP, fact_3_damage
from analysis.facts.episodes import fact_1_success, fact_2_threat
from analysis.facts.measures import paired
from analysis.facts.roles import Roles, coalition_overrides, durable_compliance
from analysis.facts.variants import Context
from sim.scenario import Scenario

#: Assumptions (no source) whose influence on the facts the sensitivity sweep shows, and the
#: factor each is multiplied by (halved and doubled).
ASSUMPTIONS = ("world.w_risk", "world.leak_gain", "tracks.relief.base_rate",
               "actors.{target}.pain_sensitivity")


SENSITIVITY_FACTORS = (0.5, 2.0)


def sensitivity_sweep(scn: Scenario, roles: Roles, runs: int, seed: int) -> pd.DataFrame:
    """Facts 1-4 with each unsourced assumption halved and doubled.

    The figures that lean most on assumptions, at each assumption halved and doubled: how
    robust the verdicts are to parameters with no source, and whether another value would
    reproduce a fact the baseline does not (a calibration check, not a calibration).
    """
    rows = []
    for key in ASSUMPTIONS:
        key = key.format(target=roles.target)
        base_value = _get(scn, key)
        for factor in (1.0, *SENSITIVITY_FACTORS):
            value = base_value * factor
            if key.endswith("base_rate"):
                value = min(value, 1.0)
            ctx = Context(scn.with_overrides({key: value}) if factor != 1.0 else scn,
                           roles, runs, seed)
            f1, f2, f3 = fact_1_success(ctx), fact_2_threat(ctx), fact_3_damage(ctx)
            lo_c = ctx.ensemble("lo", coalition_overrides(ctx.scn, roles,
                                                          COALITION_SWEEP[0]))
            hi_c = ctx.ensemble("hi", coalition_overrides(ctx.scn, roles,
                                                          COALITION_SWEEP[-1]))
            s_lo = durable_compliance(lo_c, roles)[1].astype(float)
            s_hi = durable_compliance(hi_c, roles)[1].astype(float)
            d4 = paired(s_hi, s_lo)
            rows.append({"assumption": key, "factor": factor, "value": value,
                         "fact1_success": f1.estimate, "fact1_in_band": f1.reproduced,
                         "fact2_unimposed": f2.estimate, "fact2_in_band": f2.reproduced,
                         "fact3_multi": f3.estimate, "fact3_uni": f3.data["uni"][0][0],
                         "fact3_in_band": f3.reproduced,
                         "fact4_success_change": d4[0], "fact4_falls": d4[2] < 0})
    return pd.DataFrame(rows)


def _get(scn: Scenario, key: str) -> float:
    node: Any = scn.spec
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return float(node)
