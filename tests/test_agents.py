"""The checks every ``sim.ActorAgent`` subclass must pass, in one base class to inherit.

Axelrod's strategy tests are the model: a new behaviour gets the whole battery by subclassing
:class:`AgentBattery` and naming its model::

    class SilentSanctioner(ActorAgent): ...              # your behaviour
    class SilentModel(DiplomacyModel):                   # at module level, so it pickles
        agent_classes = {"state": SilentSanctioner, "bloc": SilentSanctioner}

    class TestSilentSanctioner(AgentBattery):
        model_class = SilentModel

The battery holds what a user of a subclass relies on: the same seed gives the same run; the
agent decides only its own actor's rows of the month's decisions and only from last month's state
(so the order in which agents decide does not matter and nothing is changed in place); a run can
be cloned mid-way and both copies continue alike; the model class pickles and runs through Mesa's
``batch_run`` (docs/examples/batch_run.py); and a subclass declared to change nothing
(``changes_nothing = True``) gives every bundled run bit for bit as the base agent does. Each
example below adds the checks of what it does change.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core import layout as L
from sim.engines.model import ActorAgent, DiplomacyModel

REPO = Path(__file__).resolve().parent.parent
# The arrays an agent writes its decisions into; every other array of the run state is read only.
DECISIONS = ("DR", "DS", "DA", "DT", "DTH", "DW")


def state_arrays(model: DiplomacyModel) -> dict[str, np.ndarray]:
    """The run's arrays by name (the fields of its RunState)."""
    return {f.name: getattr(model.state, f.name) for f in dataclasses.fields(model.state)}


def own_rows(agent: ActorAgent) -> dict[str, list[int]]:
    """Rows of each decision array that belong to ``agent``: its routes (DR, and their reasons
    DW), its row of sanctions (DS), of sanctioner decisions (DA) and of threat decisions (DTH),
    its negotiation tracks (DT)."""
    return {"DR": list(agent.route_indices), "DS": [agent.index], "DA": [agent.index],
            "DT": list(agent.track_indices), "DTH": [agent.index],
            "DW": list(agent.route_indices)}


def prepare_decisions(model: DiplomacyModel) -> None:
    """Set the decision arrays as ``DiplomacyModel.step`` does before the agents decide."""
    s = model.state
    s.DS[:, :] = s.SANC
    s.DR[:] = 0.0
    s.DTH[:, :] = 0.0
    s.DW[:, :] = 0.0


def assert_same_run(a: DiplomacyModel, b: DiplomacyModel) -> None:
    """The two runs agree bit for bit: monthly record, story and outcomes (NaN equals NaN)."""
    pd.testing.assert_frame_equal(a.monthly(), b.monthly(), check_exact=True)
    assert a.story_text() == b.story_text()
    pd.testing.assert_series_equal(pd.Series(a.outcomes()), pd.Series(b.outcomes()),
                                   check_exact=True)


def load_example(name: str):
    """Import a script of docs/examples as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO / "docs" / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class AgentBattery:
    """Inherit, set ``model_class`` (a module-level DiplomacyModel subclass), and every check
    below runs against its agents."""

    model_class: ClassVar[type[DiplomacyModel]] = DiplomacyModel
    # True for a subclass that must not change any run (a diary, a cache, a logger).
    changes_nothing: ClassVar[bool] = False
    scenario: ClassVar[str] = "baseline"
    seeds: ClassVar[tuple[int, ...]] = (3, 11)
    # Months at which decisions are checked agent by agent.
    check_months: ClassVar[tuple[int, ...]] = (0, 8, 20)

    def model(self, seed: int, **kwargs) -> DiplomacyModel:
        return self.model_class(self.scenario, seed=seed, **kwargs)

    @pytest.mark.parametrize("seed_index", [0, 1])
    def test_same_seed_same_run(self, seed_index):
        seed = self.seeds[seed_index]
        assert_same_run(self.model(seed).run(), self.model(seed).run())

    def test_every_actor_gets_the_class_of_its_kind(self):
        model = self.model(self.seeds[0])
        assert len(list(model.agents)) == len(model.compiled.actor_ids)
        for aid, agent in model.actors_by_id.items():
            kind = model.diplo_scenario.spec.actors[aid].kind
            assert type(agent) is self.model_class.agent_classes[kind], aid
            assert agent.actor_id == aid and agent.model is model
        # Using the subclass leaves the base model's agents alone.
        base = DiplomacyModel(self.scenario, seed=self.seeds[0])
        assert {type(a) for a in base.agents} == {ActorAgent}

    def test_it_decides_only_its_own_rows_from_last_months_state(self):
        model = self.model(self.seeds[0])
        for month in self.check_months:
            model.run(month)
            model.month += 1  # decisions are taken for the coming month, as in step()
            prepare_decisions(model)
            arrays = state_arrays(model)
            start = {name: arrays[name].copy() for name in DECISIONS}
            for agent in model.agents:
                mine = {}
                for name in DECISIONS:
                    mine[name] = np.zeros(arrays[name].shape[0], dtype=bool)
                    mine[name][own_rows(agent)[name]] = True
                    arrays[name][...] = start[name]
                    arrays[name][~mine[name]] = np.nan  # a sentinel in every other row
                before = {k: v.copy() for k, v in arrays.items()}
                agent.decide()
                for name, now in arrays.items():
                    if name not in DECISIONS:
                        np.testing.assert_array_equal(now, before[name], strict=True,
                                                      err_msg=f"{agent!r} changed {name}")
                        continue
                    assert np.isnan(now[~mine[name]]).all(), f"{agent!r} wrote others' {name}"
                    assert np.isfinite(now[mine[name]]).all(), f"{agent!r}: {name} not finite"
            model.month -= 1

    def test_decisions_do_not_depend_on_the_order_of_the_agents(self):
        model = self.model(self.seeds[1])
        for month in self.check_months:
            model.run(month)
            model.month += 1
            decided = []
            for order in (list(model.agents), list(model.agents)[::-1]):
                prepare_decisions(model)
                for agent in order:
                    agent.decide()
                decided.append({k: getattr(model.state, k).copy() for k in DECISIONS})
            for name in DECISIONS:
                np.testing.assert_array_equal(decided[0][name], decided[1][name], strict=True)
            model.month -= 1

    def test_a_clone_continues_the_same_run(self):
        model = self.model(self.seeds[0]).run(10)
        clone = copy.deepcopy(model)
        assert all(type(clone.actors_by_id[a]) is type(model.actors_by_id[a])
                   for a in model.actors_by_id)
        assert all(a.model is clone for a in clone.agents)  # the clone's agents are its own
        clone.run()
        assert model.month == 10  # stepping the clone left the original where it was
        assert_same_run(clone, model.run())

    def test_the_model_class_pickles_and_runs_through_mesa_batch_run(self):
        # batch_run's worker processes receive the model class by reference (spawn).
        assert pickle.loads(pickle.dumps(self.model_class)) is self.model_class
        batch = load_example("batch_run")
        table = batch.run_batch(self.scenario, ("status_quo",), seeds=2, months=3,
                                model_class=self.model_class)
        assert list(table["rng"]) == [0, 1]
        for row in table.itertuples():
            last = self.model(int(row.rng), policy="status_quo").run(3).monthly().iloc[-1]
            assert row.month == 3
            assert row.pressure_IRN == last["pressure_IRN"]
            assert row.gdp_index_IRN == last["gdp_index_IRN"]

    def test_the_bundled_runs_are_the_base_agents_unless_it_changes_behaviour(self):
        # Every bundled scenario under every policy overlay (and none): a subclass declared to
        # change nothing gives each run bit for bit; one that changes behaviour changes some.
        for scenario in sim.list_scenarios():
            for policy in (None, *sim.list_policies()):
                seed = self.seeds[0]
                mine = self.model_class(scenario, seed=seed, policy=policy).run()
                base = DiplomacyModel(scenario, seed=seed, policy=policy).run()
                if self.changes_nothing:
                    assert_same_run(mine, base)
                elif not mine.monthly().equals(base.monthly()):
                    return  # one changed run is what this test asks of such a subclass
        assert self.changes_nothing, "the subclass changed no run"


# ---------------------------------------------------------------------------------------------
# The base agent passes its own battery
# ---------------------------------------------------------------------------------------------


class TestActorAgent(AgentBattery):
    model_class = DiplomacyModel
    changes_nothing = True


# ---------------------------------------------------------------------------------------------
# A subclass that changes nothing: a diary of the agent's own decisions
# ---------------------------------------------------------------------------------------------


class DiaryAgent(ActorAgent):
    """Keeps a diary of what it decided each month (units it ships, the sanctions it sets),
    without changing a decision: what a scholar writes to look inside a run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.diary: list[tuple[int, dict[str, float], dict[str, float]]] = []

    def decide(self) -> None:
        super().decide()
        s, cs = self.model.state, self.model.compiled
        shipped = {cs.route_ids[r]: float(s.DR[r]) for r in self.route_indices}
        sanctions = {cs.actor_ids[j]: float(v) for j, v in enumerate(s.DS[self.index])
                     if j != self.index and v > 0}
        self.diary.append((self.model.month, shipped, sanctions))


class DiaryModel(DiplomacyModel):
    agent_classes = {"state": DiaryAgent, "bloc": DiaryAgent}


class TestDiaryAgent(AgentBattery):
    model_class = DiaryModel
    changes_nothing = True

    def test_the_diary_agrees_with_the_monthly_record(self):
        model = DiaryModel("baseline", seed=5).run()
        monthly = model.monthly().set_index("month")
        iran = model.actors_by_id["IRN"]
        assert [m for m, _, _ in iran.diary] == list(range(1, model.horizon + 1))
        for month, shipped, _ in iran.diary:
            for route, units in shipped.items():
                # What it offered; the record has what arrived, its share of a need it shares
                # with another supplier (North Korea's missiles), never more than it offered.
                got = monthly.loc[month, f"shipped_{route}"]
                assert got <= units and (got > 0) == (units > 0), (month, route)
                if route != "iran_russia_missiles":
                    assert got == units, (month, route)
        # The sanctions it decides are the month's, unless an exposed transfer broke a relief
        # deal that month: then sanctions snap back above the decision. A run of the conditional
        # relief policy where a deal broke shows both.
        scn = sim.load_scenario("baseline", policy="conditional_relief")
        runs = sim.run_ensemble(scn, runs=400, seed=5, progress=False).summary
        broken = runs.loc[runs["relief_broken"] == 1]
        assert len(broken)
        run = int(broken["run"].iloc[0])
        model = DiaryModel(scn, seed=5, run=run).run()
        monthly = model.monthly().set_index("month")
        snapped = {int(model.outcomes()["relief_broken_month"])}
        raised = 0
        for month, _, sanctions in model.actors_by_id["USA"].diary:
            recorded = monthly.loc[month, "sanctions_USA_IRN"]
            if month in snapped:
                assert recorded >= sanctions["IRN"], month  # capped at 1
                continue
            assert recorded == sanctions["IRN"], month
            raised += recorded > monthly.loc[month - 1, "sanctions_USA_IRN"]
        assert snapped and raised  # both cases occur in this run


# ---------------------------------------------------------------------------------------------
# Subclasses that change behaviour
# ---------------------------------------------------------------------------------------------


class SilentSanctioner(ActorAgent):
    """A sanctioner that never threatens by its own decision: a threat it has not made by the
    start (or by a scheduled warning) it never makes. As a package is imposed only over a
    standing threat, it imposes only where it had already threatened."""

    def decide(self) -> None:
        super().decide()
        s = self.model.state
        issued = s.DTH[self.index] == L.TH_ISSUE
        s.DTH[self.index, issued] = L.TH_NONE
        s.DA[self.index, L.DA_THREATS] = 0.0
        s.DA[self.index, L.DA_WARN] = s.SA[self.index, L.S_WARNED]


class SilentModel(DiplomacyModel):
    agent_classes = {"state": SilentSanctioner, "bloc": SilentSanctioner}


class TestSilentSanctioner(AgentBattery):
    model_class = SilentModel

    def test_no_actor_warns_by_its_own_decision(self):
        # The EU has not warned at the start and warns by an event in month 3; the USA has.
        silent = [SilentModel("baseline", seed=seed).run() for seed in range(10)]
        base = [DiplomacyModel("baseline", seed=seed).run() for seed in range(10)]
        assert any(m.state.SA[:, L.S_THREATS].sum() > 0 for m in base)  # the base agent does
        for model in silent:
            assert model.state.SA[:, L.S_THREATS].sum() == 0
            eu = model.monthly().set_index("month")["sanctions_EU_IRN"]
            # Before the event the EU cannot have warned, so it cannot have escalated.
            assert (eu.loc[:2] <= eu.loc[0]).all()
            assert model.actors_by_id["EU"].warned  # the scheduled event still warns


class RestrainedIran(ActorAgent):
    """An Iran that never ships arms, whatever its utility says; other states as before."""

    def decide(self) -> None:
        super().decide()
        if self.actor_id == "IRN":
            for r in self.route_indices:
                self.model.state.DR[r] = 0.0


class RestrainedModel(DiplomacyModel):
    agent_classes = {"state": RestrainedIran, "bloc": ActorAgent}


class TestRestrainedIran(AgentBattery):
    model_class = RestrainedModel

    def test_iran_ships_nothing_and_the_others_behave_as_before(self):
        model = RestrainedModel("baseline", seed=7).run()
        assert isinstance(model.actors_by_id["IRN"], RestrainedIran)
        assert type(model.actors_by_id["NATO"]) is ActorAgent
        out = model.outcomes()
        assert out["delivered_iran_russia_drones"] == 0
        assert out["delivered_iran_russia_missiles"] == 0
        assert out["delivered_usa_ukraine_aid"] > 0  # other states behave as before
        assert "Iran ships" not in model.story_text()
        assert DiplomacyModel("baseline", seed=7).run().outcomes()[
            "delivered_iran_russia_drones"] > 0
