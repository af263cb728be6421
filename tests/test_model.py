"""The Mesa engine (sim.DiplomacyModel): agents a reader can inspect, a DataCollector with a row
per month, a story in plain words that agrees with the record. Subclassed agents have their own
battery in tests/test_agents.py.
"""

from __future__ import annotations

import math
import re

import mesa
import numpy as np
import pandas as pd
import pytest
from closed_forms import detected_within, gdp_index_without_shocks, raw_pressure

import sim
from sim.core import layout as L
from sim.engines.model import ActorAgent, DiplomacyModel

SHIPS = re.compile(r"^Month (\d+): Iran(?:'s security apparatus defies the government's halt and)? "
                   r"ships (\d+) (Shahed drones?|ballistic missiles?) to Russia")
RAISES = re.compile(r"^Month (\d+): (United States|NATO \(European members\)) imposes the package "
                    r"it threatened over Iran's shipments of .+: sanctions on Iran rise from "
                    r"(\d\.\d+) to (\d\.\d+)")
SENDER = {"United States": "USA", "NATO (European members)": "NATO"}
ROUTE = {"Shahed drone": "iran_russia_drones", "ballistic missile": "iran_russia_missiles"}


@pytest.fixture(scope="module")
def runs(baseline):
    """Ten whole baseline runs (seeds 0..9)."""
    return [DiplomacyModel(baseline, seed=seed).run() for seed in range(10)]


def test_one_agent_per_actor_with_readable_attributes(baseline):
    model = DiplomacyModel(baseline, seed=7)
    assert isinstance(model, mesa.Model)
    agents = list(model.agents)
    # One agent per actor, in the compiled order (actors sorted by id: order-free draws).
    assert [a.actor_id for a in agents] == model.compiled.actor_ids
    assert sorted(model.compiled.actor_ids) == sorted(baseline.spec.actors)
    assert all(isinstance(a, ActorAgent) and isinstance(a, mesa.Agent) for a in agents)
    by_id = model.actors_by_id
    for aid, spec in baseline.spec.actors.items():
        agent = by_id[aid]
        assert agent.name == spec.name and agent.kind == spec.kind
        assert agent.members == spec.members
        assert agent.gdp == pytest.approx(spec.gdp)  # USD bn at the start
        assert agent.gdp_index == 1.0
        assert 0.0 <= agent.pressure <= 1.0 and 0.0 <= agent.credibility <= 1.0
        assert agent.relief_priority == spec.relief_priority
        assert agent.warned == (spec.warning >= 0.5)
        assert set(agent.affinity) == set(baseline.spec.actors) - {aid}
    assert by_id["USA"].sanctions_on == {"RUS": 0.7, "IRN": 0.8, "PRK": 0.9}
    assert by_id["IRN"].sanctions_from == {"USA": 0.8, "EU": 0.4}
    assert by_id["IRN"].affinity["RUS"] == 0.5
    assert by_id["NATO"].kind == "bloc" and "Germany" in by_id["NATO"].members
    # Pressure on Iran from two senders, with BRICS leakage: above zero, below the raw pressure.
    iran = by_id["IRN"]
    # USA and the EU: intensity, and reach = leverage + Iran's openness x its trade share with the
    # sender (none with the USA, 0.05 with the EU).
    raw = raw_pressure([(0.8, 0.30 + 0.3 * 0.0), (0.4, 0.25 + 0.3 * 0.05)])
    assert 0 < iran.pressure < raw and iran.leakage > 0
    assert iran.pressure == pytest.approx(raw * (1 - iran.leakage))


def test_attributes_follow_the_run(runs):
    model = runs[0]
    monthly = model.monthly()
    last = monthly.iloc[-1]
    for aid, agent in model.actors_by_id.items():
        assert agent.gdp_index == last[f"gdp_index_{aid}"]
        assert agent.pressure == last[f"pressure_{aid}"]
        assert agent.gdp == pytest.approx(model.diplo_scenario.spec.actors[aid].gdp
                                          * agent.gdp_index)
    assert model.actors_by_id["USA"].sanctions_on["IRN"] == last["sanctions_USA_IRN"]


def test_datacollector_has_a_row_per_month(baseline):
    model = DiplomacyModel(baseline, seed=3)
    assert len(model.monthly()) == 1  # month 0 is recorded at the start
    model.run(5)
    assert model.month == 5 and model.running
    model.run()
    assert model.month == baseline.horizon and not model.running
    monthly = model.monthly()
    assert list(monthly["month"]) == list(range(baseline.horizon + 1))
    assert list(monthly.columns[1:]) == model.monthly_columns
    agents = model.datacollector.get_agent_vars_dataframe()
    assert len(agents) == (baseline.horizon + 1) * len(baseline.spec.actors)
    assert {"actor", "gdp_index", "pressure", "credibility", "relief_priority"} <= set(agents)
    iran = agents[agents["actor"] == "IRN"]["gdp_index"].to_numpy()
    np.testing.assert_array_equal(iran, monthly["gdp_index_IRN"].to_numpy())


def test_a_step_is_simultaneous(baseline):
    # Every agent decides on last month's state: shuffling the order in which agents decide
    # changes nothing.
    orders = []

    class Shuffled(DiplomacyModel):
        def step(self):
            order = list(self.agents)
            self.random.shuffle(order)

            def do(name):
                orders.append([a.actor_id for a in order])
                for agent in order:
                    getattr(agent, name)()

            self.agents.do = do
            super().step()

    a = DiplomacyModel(baseline, seed=11).run()
    b = Shuffled(baseline, seed=11).run()
    assert len(orders) == baseline.horizon and len({tuple(o) for o in orders}) > 1
    pd.testing.assert_frame_equal(a.monthly(), b.monthly(), check_exact=True)
    assert a.story_text() == b.story_text()


def test_the_story_is_in_plain_words_and_agrees_with_the_record(runs):
    shipped = raised = 0
    for model in runs:
        monthly = model.monthly().set_index("month")
        lines = model.story_text().splitlines()
        assert lines and all(line.startswith("Month ") for line in lines)
        assert [e.month for e in model.story] == sorted(e.month for e in model.story)
        for line in lines:
            if m := SHIPS.match(line):
                month, units, what = int(m[1]), int(m[2]), m[3].rstrip("s")
                assert monthly.loc[month, f"shipped_{ROUTE[what]}"] == units, line
                detected = monthly.loc[month, f"detected_{ROUTE[what]}"] == 1
                assert ("detected and made public" in line) == detected, line
                assert (units == 1) == (not m[3].endswith("s")), line
                shipped += 1
            if m := RAISES.match(line):
                month, sender, old, level = int(m[1]), SENDER[m[2]], float(m[3]), float(m[4])
                now = monthly.loc[month, f"sanctions_{sender}_IRN"]
                previous = monthly.loc[month - 1, f"sanctions_{sender}_IRN"]
                # Two packages of one month raise sanctions to the higher of their levels.
                assert now >= level - 0.0051 and level > old, line
                assert previous == pytest.approx(old, abs=0.0051), line  # rounded
                raised += 1
        # Every shipment of the record is told (drones and missiles; open aid is not).
        for route in ROUTE.values():
            told = sum(1 for line in lines if SHIPS.match(line) and ROUTE[
                SHIPS.match(line)[3].rstrip("s")] == route)
            assert told == int((monthly[f"shipped_{route}"] > 0).sum())
    assert shipped > 0 and raised > 0  # both kinds of line occur in ten runs


def test_the_story_tells_events_deals_and_threats(runs):
    text = "\n".join(m.story_text() for m in runs)
    assert "Month 7: Pezeshkian wins Iran's presidential run-off" in text
    assert ("Iran agrees a relief deal with European Union (with the E3) and United States"
            in text)
    assert re.search(r"Russia and Ukraine agree a ceasefire, mediated by BRICS partners", text)
    # The US's warning stands from the start: the story tells it in month 1, over each of Iran's
    # covert routes (and China's dual-use goods and North Korea's missiles), and the EU's in
    # month 3 by its event; NATO, which has no sanctions of its own, threatens no one.
    for what in ("Shahed drones", "ballistic missiles", "production-assistance packages"):
        assert (f"Month 1: United States publicly warns Iran over its shipments of {what} to "
                "Russia") in text
    for line in text.splitlines():
        if "publicly warns Iran" in line:
            assert re.match(r"Month (1: United States|3: European Union \(with the E3\)) "
                            r"publicly warns Iran over its shipments of ", line), line
        assert "NATO" not in line or "publicly warns" not in line, line
    frame = runs[0].story_frame()
    assert list(frame.columns) == ["month", "kind", "text", "reasons"]


def test_every_agreement_and_every_break_is_told(baseline):
    # Deals are agreed and broken often here (trust that exposures do not erode, a government
    # keen on relief with little control over its security apparatus, one month of verified
    # halt before relief): count them from the month's decisions and state.
    scn = baseline.with_overrides({
        "tracks.relief.trust": 0.8, "tracks.relief.min_trust": 0.0,
        "tracks.relief.trust_loss": 0.0, "tracks.relief.implementation_months": 1,
        "actors.IRN.relief_priority": 0.9, "actors.IRN.control": 0.2})

    class Counting(DiplomacyModel):
        def __init__(self, *args, **kwargs):
            self.deals = self.breaches = self.breaks = 0
            super().__init__(*args, **kwargs)

        def step(self):
            t = self.compiled.track_ids.index("relief")
            ts = self.state.TS[t].copy()
            super().step()
            self.deals += int(self.state.DT[t, L.DT_DEAL] >= 0.5)
            self.breaches += int(self.state.TS[t, L.TS_BREACHES] - ts[L.TS_BREACHES])
            self.breaks += int(ts[L.TS_ACTIVE] >= 0.5 and self.state.TS[t, L.TS_ACTIVE] < 0.5)

    most_deals = most_breaches = breaks = 0
    for seed in range(8):
        model = Counting(scn, seed=seed).run()
        text = model.story_text()
        assert text.count("agrees a relief deal") == model.deals
        assert text.count("breaks the relief deal") == model.breaks  # in force: snap-back
        assert (text.count("breaches the relief agreement") + model.breaks) == model.breaches
        most_deals, most_breaches = max(most_deals, model.deals), max(most_breaches,
                                                                      model.breaches)
        breaks += model.breaks
    # Repeated agreements and breaches did happen, and deals in force were broken.
    assert most_deals >= 2 and most_breaches >= 2 and breaks >= 1


def test_the_model_takes_names_policies_and_overrides():
    model = DiplomacyModel("baseline", seed=1, policy="maximum_pressure",
                           overrides={"actors.NATO.cohesion": 1.0})
    assert model.diplo_scenario.policies == ("maximum_pressure",)
    assert model.diplo_scenario.spec.actors["NATO"].cohesion == 1.0
    assert model.diplo_scenario.spec.actors["USA"].escalation_step == 0.3
    with pytest.raises(sim.ScenarioError):
        DiplomacyModel("baseline", overrides={"actors.NATO.cohesion": 2.0})
    with pytest.raises(sim.ScenarioError):
        DiplomacyModel("no_such_scenario")


def test_seeds_are_checked_and_mesa_rng_is_the_seed(baseline):
    for bad in (-1, 2**64, 1.5, True):
        with pytest.raises((TypeError, ValueError)):
            DiplomacyModel(baseline, seed=bad)
    with pytest.raises(ValueError):
        DiplomacyModel(baseline, seed=1, run=-1)
    a = DiplomacyModel(baseline, rng=5).run(6)
    b = DiplomacyModel(baseline, seed=5).run(6)
    pd.testing.assert_frame_equal(a.monthly(), b.monthly())
    zero = DiplomacyModel(baseline).run(12)
    assert zero.seed == 0
    seed_zero = DiplomacyModel(baseline, seed=0).run(12)
    pd.testing.assert_frame_equal(zero.monthly(), seed_zero.monthly())


def test_any_64_bit_seed_runs_after_a_small_one(baseline):
    small = DiplomacyModel(baseline, seed=7).run(3)
    big = DiplomacyModel(baseline, seed=2**64 - 1).run(3)
    again = DiplomacyModel(baseline, seed=2**64 - 1).run(3)
    pd.testing.assert_frame_equal(big.monthly(), again.monthly())
    assert not big.monthly().equals(small.monthly())


def test_outcomes_are_the_summary_columns(baseline, runs):
    names, _ = sim.core.outcomes.outcome_layout(baseline.compile())
    assert list(runs[0].outcomes()) == names
    for key in ("relief_reached", "ceasefire_reached", "detected_missiles",
                "gdp_index_IRN", "affinity_IRN_RUS"):
        assert key in names
    # A partial run reports outcomes so far.
    model = DiplomacyModel(baseline, seed=2).run(3)
    assert model.outcomes()["delivered_iran_russia_missiles"] == model.state.RS[
        model.compiled.route_ids.index("iran_russia_missiles"), L.RS_TOTAL]
    assert model.state.RS[:, L.RS_TOTAL].sum() == sum(
        v for k, v in model.outcomes().items() if k.startswith("delivered_"))


def test_the_mesa_model_follows_the_closed_forms_of_the_tiny_scenario(tiny):
    # REC is under pressure 0.5 x 0.4 from SND alone, with no shocks, growth, war or trade: its
    # GDP follows the closed form month by month; the others stay at 1.
    w = tiny.spec.world
    pressure = raw_pressure([(0.5, 0.4)])
    monthly = DiplomacyModel(tiny, seed=1).run().monthly()
    for m in range(tiny.horizon + 1):
        assert monthly.loc[m, "pressure_REC"] == pytest.approx(pressure, abs=1e-15)
        assert monthly.loc[m, "gdp_index_REC"] == pytest.approx(
            gdp_index_without_shocks(m, pressure, w.damage_rate, w.adaptation_rate), rel=1e-12)
        assert monthly.loc[m, "gdp_index_SUP"] == monthly.loc[m, "gdp_index_SND"] == 1.0
    # The route ships every month; each shipment is detected with chance p.
    p, months, runs = 0.2, 4, 300
    scn = tiny.with_overrides({"meta.horizon": months, "categories.widgets.detection": p})
    hits = sum(DiplomacyModel(scn, seed=seed).run().outcomes()["detected_sup_rec"] > 0
               for seed in range(runs))
    truth = detected_within(p, months)
    assert abs(hits / runs - truth) < 4 * math.sqrt(truth * (1 - truth) / runs)


def test_a_copy_or_fork_of_a_run_keeps_the_types_the_rules_were_compiled_for():
    # A copy that made the scenario's read-only arrays writable would be a new type to Numba:
    # the copy's first month would compile every rule again (about 25 s; the classroom forks).
    import copy

    import numba

    model = DiplomacyModel("baseline", seed=1).run(2)
    for other in (copy.deepcopy(model), model.fork()):
        assert numba.typeof(other.state.params) == numba.typeof(model.state.params)
        assert numba.typeof(other.state.state) == numba.typeof(model.state.state)
        assert other.state.SA is not model.state.SA  # the run's own state is its own
