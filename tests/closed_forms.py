"""Closed forms of the model, one copy each, for the tests that check the engines against them.

Each is written from ODD.md (docs/ODD.md), not from sim/core/rules.py, and holds for the
situation its docstring names. Tests import them from here instead of writing them again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def detected_within(p: float, months: int) -> float:
    """Chance that a route shipping every month is detected at least once in ``months`` months,
    when each month's shipment is detected with chance ``p``: ``1 - (1 - p)^m`` (ODD 7.8)."""
    return 1.0 - (1.0 - p) ** months


def raw_pressure(senders: Iterable[tuple[float, float]]) -> float:
    """Raw sanction pressure on a target from its senders' (intensity, reach) pairs:
    ``1 - prod(1 - intensity x reach)``, each sender hurting what the others left (ODD 7.5).

    A sender's reach is ``min(1, leverage + openness_target x trade share of the target with
    the sender)``: its leverage alone when the target has no trade left with it.
    """
    left = 1.0
    for intensity, reach in senders:
        left *= 1.0 - intensity * reach
    return 1.0 - left


def gdp_index_without_shocks(months: int, pressure: float, damage_rate: float,
                             adaptation_rate: float, growth: float = 0.0,
                             age: float = 0.0) -> float:
    """GDP index after ``months`` under constant effective ``pressure`` from the start, with no
    shocks, war, revenue or relief (ODD 7.6).

    The trend ``growth`` was observed under the starting pressure, so only the change of the
    damage counts: the monthly growth is ``(growth - (damage_t - damage_0)) / 12`` with
    ``damage_t = damage_rate x pressure x (1 - a_t)`` and adaptation ``a_t = 1 - (1 -
    adaptation_rate)^(age + t)`` after ``t`` months under pressure, from an episode ``age``
    months old at the start (adaptation grows only while pressure is above 0.01). Rates are per
    year.
    """
    adapting = pressure > 0.01
    damage_0 = damage_rate * pressure * (1.0 - adaptation_rate) ** age
    total = 0.0
    for t in range(months):
        left = (1.0 - adaptation_rate) ** (age + (t if adapting else 0))
        total += (growth - (damage_rate * pressure * left - damage_0)) / 12.0
    return math.exp(total)
