"""Branches: a run forked at month m into what-ifs on common random numbers (the Python API,
:mod:`sim.engines.branches`, and the classroom's side-by-side comparison)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.rules import State

CHANGES = {"policy": "maximum_pressure", "overrides": {"actors.NATO.cohesion": 1.0},
           "events": [{"month": 20, "key": "actors.BRICS.busting", "value": 0.95,
                       "note": "BRICS partners trade around every sanction"}]}


def _same_run(a: sim.DiplomacyModel, b: sim.DiplomacyModel) -> None:
    pd.testing.assert_frame_equal(a.monthly(), b.monthly())
    assert a.story_text() == b.story_text()
    assert a.outcomes().keys() == b.outcomes().keys()
    for k, v in a.outcomes().items():
        assert v == b.outcomes()[k] or (np.isnan(v) and np.isnan(b.outcomes()[k])), k


@pytest.mark.parametrize("month", [0, 12, 35])
def test_fork_is_the_branch_scenario_run_from_the_start(month: int) -> None:
    parent = sim.DiplomacyModel("baseline", seed=7).run(month)
    branch = sim.fork(parent, **CHANGES) if month < 20 else \
        parent.fork(policy=CHANGES["policy"], overrides=CHANGES["overrides"])
    assert branch.month == month and branch.seed == parent.seed
    _same_run(branch, parent)  # up to the fork: the parent's run
    events = CHANGES["events"] if month < 20 else None
    scn = sim.branch_scenario(parent.diplo_scenario, month, policy=CHANGES["policy"],
                              overrides=CHANGES["overrides"], events=events)
    _same_run(branch.run(), sim.DiplomacyModel(scn, seed=7).run())
    told = [e.text for e in branch.story if e.month == month + 1 and e.kind == "event"]
    assert f"Branch from month {month + 1}: actors.NATO.cohesion is set to 1" in told
    assert any(t.startswith(f"Branch from month {month + 1}: policy maximum_pressure: ")
               for t in told)


def test_branches_meet_the_same_draws() -> None:
    parent = sim.DiplomacyModel("baseline", seed=11).run(8)
    same = parent.fork()  # no change: the branch is the parent's future, draw for draw
    moved = parent.fork(overrides={"categories.drones.detection": 1.0})
    parent.run(), same.run(), moved.run()
    _same_run(parent, same)
    diff = (moved.monthly() != parent.monthly()).any(axis=1)
    assert diff.any() and moved.monthly()["month"][diff].min() > 8
    # Ensembles: run r of a branch shares its first m months with run r of the parent.
    scn = sim.load_scenario("baseline")
    a = sim.run_ensemble(scn, runs=40, seed=3, bands=True).bands
    b = sim.run_ensemble(sim.branch_scenario(scn, 8, policy="engagement"), runs=40, seed=3,
                         bands=True).bands
    early = ["month", "metric", "q05", "q50", "q95"]
    pd.testing.assert_frame_equal(a[a.month <= 8][early].reset_index(drop=True),
                                  b[b.month <= 8][early].reset_index(drop=True))
    assert not a[a.month > 9][early].reset_index(drop=True).equals(
        b[b.month > 9][early].reset_index(drop=True))


def test_fork_starts_from_the_parents_state_even_set_by_hand() -> None:
    parent = sim.DiplomacyModel("baseline", seed=7).run(6)
    parent.actors_by_id["NATO"]  # the state is the arrays the agents read
    parent.state.SA[:, 0] *= 0.9  # a scholar's mid-run intervention
    branch = parent.fork()
    for name in State._fields:
        np.testing.assert_array_equal(getattr(branch.state, name), getattr(parent.state, name))
        assert getattr(branch.state, name) is not getattr(parent.state, name)
    branch.step()
    assert parent.month == 6  # independent


def test_what_a_branch_cannot_change() -> None:
    parent = sim.DiplomacyModel("baseline", seed=7).run(10)
    with pytest.raises(sim.ScenarioError, match="routes.iran_russia_drones.supplier: .*a "
                                                 "branch sets it as a scheduled event of month 11"):
        parent.fork(overrides={"routes.iran_russia_drones.supplier": "RUS"})
    with pytest.raises(sim.ScenarioError, match=r"events\.0\.month: must be after the fork"):
        parent.fork(events=[{"month": 5, "key": "actors.BRICS.busting", "value": 0.9}])
    with pytest.raises(sim.ScenarioError, match="less than or equal to 1"):
        parent.fork(overrides={"actors.NATO.cohesion": 2.0})
    with pytest.raises(ValueError, match="at its horizon"):
        sim.DiplomacyModel("baseline", seed=7).run().fork()
