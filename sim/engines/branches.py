"""Branches: fork a run at month m into what-ifs that go on with common random numbers.

A branch is the run's scenario with changes that take effect from month ``m + 1``: a policy
switched (its doctrine keys), parameters moved, events added. Every change is written into the
branch's scenario as a scheduled event of month ``m + 1`` (or the added event's own month), so a
branch is an ordinary scenario: :func:`branch_scenario` returns it, and run ``r`` of it is the
same as run ``r`` of the parent up to month ``m`` (the same parameters, the same draws). After
``m`` the branches differ only by their changes: every draw is keyed by (seed, run, month,
actor, purpose) (:mod:`sim.core.rng`), so they meet the same shocks: common random numbers.

:func:`fork` does it for a run being stepped (a :class:`~sim.engines.model.DiplomacyModel` at
month ``m``): a new model of the branch scenario, with the same seed and run, at month ``m``,
with the parent's state at that month (its story and monthly record up to ``m`` too). Stepping
it on gives exactly ``DiplomacyModel(branch_scenario(...), seed, run).run()`` (tested), and the
ensembles of branches compared on one seed (``sim.run_ensemble(branch, seed=s)``) pair run
``r`` with run ``r``: futures that shared their first ``m`` months.

Only what an event can set is a branch's change (numeric parameters of the world, the theatre,
actors, categories, routes and tracks): a change of structure (an actor added, a route's
supplier, the horizon) is a different scenario, not a branch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.core.rules import State
from sim.engines.model import DiplomacyModel
from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.scenario.schema import DOCTRINE_KEYS

_PARAMS = ("W", "AP", "CP", "RP", "TP", "CAP", "DEM")
"""The run's own parameter arrays (events change them); the rest of Params is shared."""


def _doctrine_moves(scn: Scenario, policy: str) -> dict[str, Any]:
    """The doctrine keys a policy overlay changes in ``scn``: ``{"actors.ID.key": value}``."""
    after = scn.with_policy(policy).spec.actors
    moves: dict[str, Any] = {}
    for aid, actor in scn.spec.actors.items():
        for key in sorted(DOCTRINE_KEYS):
            old, new = getattr(actor, key), getattr(after[aid], key)
            if new != old:
                moves[f"actors.{aid}.{key}"] = new
    return moves


def branch_scenario(scn: Scenario, month: int, *, policy: str | None = None,
                    overrides: dict[str, Any] | None = None,
                    events: list[dict[str, Any]] | None = None) -> Scenario:
    """The scenario of a branch that forks ``scn`` after ``month`` months.

    Args:
        scn: the run's scenario.
        month: the month the branch forks at (0 to the horizon - 1); changes take effect
            from month ``month + 1``.
        policy: a policy overlay switched on at the fork (its doctrine keys).
        overrides: parameters moved at the fork, as dotted keys (``{"actors.NATO.cohesion":
            1.0}``); each must be a parameter an event can set.
        events: events added, as in a scenario file (``{"month": 20, "key": ..., "value": ...,
            "note": ...}``), each after the fork.

    Raises:
        ScenarioError: naming the change that cannot be made, and why.
    """
    label = f"{scn.source} (branch at month {month})"
    if not 0 <= int(month) < scn.horizon:
        raise ScenarioError(label, "month", f"must be from 0 to {scn.horizon - 1} (the horizon "
                            f"is {scn.horizon}; got {month})")
    month = int(month)
    moves: dict[str, tuple[Any, str]] = {}
    if policy:
        for key, value in _doctrine_moves(scn, policy).items():
            moves[key] = (value, f"policy {policy}: ")
    for key, value in (overrides or {}).items():
        moves[key] = (value, "")
    existing = [dict(e) for e in scn.raw.get("events", [])]
    added: list[dict[str, Any]] = []
    for key, (value, why) in moves.items():
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        added.append({"month": month + 1, "key": key, "value": value,
                      "note": f"Branch from month {month + 1}: {why}{key} is set to {shown}"})
    for k, event in enumerate(events or []):
        if not isinstance(event, dict) or "month" not in event:
            raise ScenarioError(label, f"events.{k}", "an event is a table with month, key and "
                                "value")
        if not isinstance(event["month"], int) or event["month"] <= month:
            raise ScenarioError(label, f"events.{k}.month", f"must be after the fork (month "
                                f"{month}); got {event['month']!r}")
        added.append(dict(event))
    # An added event replaces an event of the same month and key (the branch's value wins).
    keys = {(e["month"], e.get("key")) for e in added}
    kept = [e for e in existing if (e.get("month"), e.get("key")) not in keys]
    try:
        branched = scn.with_overrides({"events": [*kept, *added]})
        branched.compile()
    except ScenarioError as exc:
        parts = exc.key.split(".")
        k = int(parts[1]) - len(kept) if parts[0] == "events" and parts[1:2] and \
            parts[1].isdigit() else -1
        if not 0 <= k < len(added):
            raise
        if k >= len(moves):  # an added event: name it as the caller wrote it
            raise ScenarioError(label, f"events.{k - len(moves)}." + ".".join(parts[2:]),
                                exc.fault) from None
        raise ScenarioError(label, str(added[k]["key"]), f"{exc.fault} (a branch sets it as "
                            f"a scheduled event of month {month + 1})") from None
    return branched


def fork(model: DiplomacyModel, *, policy: str | None = None,
         overrides: dict[str, Any] | None = None,
         events: list[dict[str, Any]] | None = None) -> DiplomacyModel:
    """A branch of a run at its current month: a new model that goes on with the changes.

    The branch has the parent's seed and run index, is at the parent's month, with the
    parent's state (copied: the two go on independently), story and monthly record; from the
    next month it runs :func:`branch_scenario` (``policy``, ``overrides``, ``events`` as
    there). Stepping parent and branch on meets the same random draws.

    Raises:
        ScenarioError: if a change cannot be made in a branch.
        ValueError: if the run is at its horizon (nothing left to branch).
    """
    month = model.month
    if month >= model.horizon:
        raise ValueError(f"the run is at its horizon (month {month}): nothing left to branch")
    scn = branch_scenario(model.diplo_scenario, month, policy=policy, overrides=overrides,
                          events=events)
    branch = type(model)(scn, seed=model.seed, run=model.run_index)
    branch.run(month)  # the same months as the parent: its story and record up to the fork
    # The parent's state at the fork, whatever happened to it (a scholar may have set a value
    # by hand between steps): the branch starts from exactly there.
    src, dst = model.state, branch.state
    for name in (*_PARAMS, *State._fields):
        np.copyto(getattr(dst, name), getattr(src, name))
    return branch
