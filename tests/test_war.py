"""The war of the second edition (issue 12): shared need, home production, ripeness, breakdown.

What a scholar relies on:

* **shared need**: routes that bring the same category to one recipient share its unmet need, so
  a second supplier never makes the recipient receive more than it asked for, and the units are
  split in proportion to the offers;
* **home production**: a party's own production (``milex`` x ``value_per_milex``) is part of its
  supply, so imports are a margin and more spending moves the front its way;
* **ripeness from the war's course**: the stalemate that opens a ceasefire is a front that stops
  moving for ``stalemate_months``, not a starting value; supplying one side delays it;
* **a ceasefire can break**: never with no hazard, less often under a stronger agreement.

Runs are compared on common random numbers (same seed, same run indices), Numba engine; the Mesa
engine gives the same runs (``tests/test_engine_contract.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from builders import ScenarioBuilder

import sim
from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs
from sim.engines.ensemble import compute_chunk
from sim.scenario import Scenario

SEED = 12
RUNS = 300
IRAN_ROUTES = ("iran_russia_drones", "iran_russia_missiles", "iran_russia_production")


def simulate(scn: Scenario, runs: int = RUNS) -> tuple[dict, dict]:
    """Summary columns and monthly figures (runs x months+1) of runs 0..runs-1, by name."""
    cs = scn.compile()
    chunk = compute_chunk(cs, SEED, np.arange(runs), cs.horizon, record=True)
    names, _ = outcome_layout(cs)
    figures = monthly_names(cs, sanction_pairs(cs))
    return (dict(zip(names, chunk.outcomes.T, strict=True)),
            {f: chunk.trajectories[:, :, k] for k, f in enumerate(figures)})


def asked_aid(scn: Scenario, monthly: dict) -> np.ndarray:
    """Aid packages Ukraine asks for each month: its demand x last month's war intensity.

    Ukraine builds none of its aid, so its unmet need is its whole demand, scaled by intensity.
    """
    demand = scn.spec.actors["UKR"].demand["military_aid"]
    return np.floor(demand * monthly["war_intensity"][:, :-1] + 0.5)


def test_two_aid_suppliers_never_give_ukraine_more_than_it_asks(baseline, numba_kernel):
    _, monthly = simulate(baseline)
    routes = [r for r, spec in baseline.spec.routes.items()
              if spec.recipient == "UKR" and spec.category == "military_aid"]
    assert len(routes) >= 2
    got = sum(monthly[f"shipped_{r}"][:, 1:] for r in routes)
    asked = asked_aid(baseline, monthly)
    assert (got <= asked).all(), f"overfilled in {(got > asked).sum()} run-months"
    # When both deliver, together they offer more than the need: it is met exactly, shared.
    both = np.logical_and.reduce([monthly[f"shipped_{r}"][:, 1:] > 0 for r in routes])
    assert both.mean() > 0.3
    assert (got[both] == asked[both]).mean() > 0.9


def test_units_are_split_in_proportion_to_the_offers(baseline, numba_kernel):
    _, monthly = simulate(baseline)
    usa = monthly["shipped_usa_ukraine_aid"][:, 1:]
    nato = monthly["shipped_nato_ukraine_aid"][:, 1:]
    asked = asked_aid(baseline, monthly)
    both = (usa > 0) & (nato > 0)
    # Each offers what Ukraine asks for, up to its capacity.
    offer_usa = np.minimum(asked, baseline.spec.actors["USA"].capacity["military_aid"])[both]
    offer_nato = np.minimum(asked, baseline.spec.actors["NATO"].capacity["military_aid"])[both]
    share = usa[both] / (usa[both] + nato[both])
    expected = offer_usa / (offer_usa + offer_nato)
    # One odd unit out of the month's total is the rounding's whole freedom.
    assert (np.abs(share - expected) <= 1.0 / (usa[both] + nato[both]) + 1e-12).all()


def second_supplier(tmp_path: Path, capacity: float) -> Scenario:
    """The baseline with a second drone supplier to Russia (an added state)."""
    builder = ScenarioBuilder.from_scenario("baseline")
    builder.actor("SECOND", "A second supplier", gdp=30.0,
                  capacity={"drones": capacity}).relation("SECOND", "RUS", 0.6)
    builder.route("second_russia_drones", "SECOND", "RUS", "drones", propensity=5.0)
    return builder.build(tmp_path, f"second_{capacity:g}")


def test_a_second_supplier_shares_the_need_instead_of_doubling_it(tmp_path, numba_kernel):
    scn = second_supplier(tmp_path, 400.0)
    _, monthly = simulate(scn)
    routes = ["iran_russia_drones", "second_russia_drones"]
    both = (monthly["shipped_iran_russia_drones"][:, 1:] > 0) & (
        monthly["shipped_second_russia_drones"][:, 1:] > 0)
    assert both.mean() > 0.2, "the test needs months in which both suppliers deliver"
    total = sum(monthly[f"shipped_{r}"][:, 1:] for r in routes)
    demand = scn.spec.actors["RUS"].demand["drones"]
    # Russia never receives more drones than it asks for (its whole demand at most), while each
    # supplier alone could fill it.
    assert total.max() <= demand
    # Iran's deliveries shrink: the second supplier takes part of the need, not more of it.
    _, alone = simulate(sim.load_scenario("baseline"))
    assert (monthly["shipped_iran_russia_drones"].sum()
            < 0.8 * alone["shipped_iran_russia_drones"].sum())


def with_overrides(scn: Scenario, **values: float) -> Scenario:
    return scn.with_overrides({k.replace("__", "."): v for k, v in values.items()})


def test_home_production_moves_the_front_and_imports_are_a_margin(baseline, numba_kernel):
    base, _ = simulate(baseline)
    richer = with_overrides(baseline, actors__RUS__milex=1.5 * baseline.spec.actors["RUS"].milex)
    more, _ = simulate(richer)
    assert more["war_balance_final"].mean() > base["war_balance_final"].mean() + 0.05
    no_iran = baseline.with_overrides({f"routes.{r}.open": 0.0 for r in IRAN_ROUTES})
    without, _ = simulate(no_iran)
    # Without any Iranian arms Russia holds its own (home production), a little less well.
    assert without["war_balance_final"].mean() < base["war_balance_final"].mean()
    assert without["war_balance_final"].mean() > 0.0


def test_ripeness_comes_from_the_wars_course(baseline, numba_kernel):
    base, _ = simulate(baseline)
    months = base["ceasefire_ripe_month"]
    stale = baseline.spec.tracks["ceasefire"].stalemate_months
    ripe = months[~np.isnan(months)]
    assert len(ripe) > RUNS // 2
    # Not at the first possible month in (nearly) every run: when depends on the run.
    assert (ripe == stale).mean() < 0.5 and ripe.std() > 3
    # A war whose front keeps moving (one side far better supplied) ripens later or never.
    lopsided = with_overrides(baseline, actors__RUS__milex=4.0 * baseline.spec.actors["RUS"].milex)
    other, _ = simulate(lopsided)
    assert other["ceasefire_ripe"].mean() < base["ceasefire_ripe"].mean() - 0.1


def quick_ceasefire(scn: Scenario, **values: float) -> Scenario:
    """``scn`` where a ceasefire comes early and often, so its breakdowns can be counted."""
    return with_overrides(scn, **{"tracks__ceasefire__base_rate": 1.0,
                                  "tracks__ceasefire__min_trust": 0.0,
                                  "tracks__ceasefire__break_rate": 0.1, **values})


def test_a_ceasefire_breaks_only_with_a_hazard_and_less_when_strong(baseline, numba_kernel):
    never, _ = simulate(quick_ceasefire(baseline, tracks__ceasefire__break_rate=0.0))
    assert never["ceasefire_reached"].mean() > 0.5
    assert "ceasefire_broken" not in never  # no hazard: the column cannot vary, it is left out
    weak, _ = simulate(quick_ceasefire(baseline, tracks__ceasefire__strength=0.0))
    strong, _ = simulate(quick_ceasefire(baseline, tracks__ceasefire__strength=0.9))
    assert weak["ceasefire_broken"].mean() > strong["ceasefire_broken"].mean() + 0.2
    # Breakdowns follow the run (the war resumes, a new ceasefire may come).
    assert weak["ceasefire_breaches"].max() >= 2


@pytest.mark.parametrize("engine", ["numba", "mesa"])
def test_a_world_with_other_actor_ids_runs_everywhere(tmp_path, engine):
    """Nothing assumes the baseline's ids: the same world under other names runs and tells."""
    text = sim.load_scenario("baseline").spec.model_dump(mode="json", by_alias=True,
                                                          exclude={"extends"})
    raw = json.dumps(text)
    for old, new in (("IRN", "PERSIA"), ("RUS", "MUSCOVY"), ("UKR", "RUTHENIA"),
                     ("USA", "UNION"), ("NATO", "ALLIANCE"), ("BRICS", "PARTNERS"),
                     ("EU", "LEAGUE"), ("CHN", "CATHAY"), ("PRK", "CHOSON")):
        raw = re.sub(rf"\b{old}\b", new, raw)  # ids, keys (actors.X.y, packages.X.Y), pairs
    builder = ScenarioBuilder()
    builder.raw = json.loads(raw)
    scn = builder.build(tmp_path, "renamed")
    res = sim.run_ensemble(scn, runs=4, engine=engine, progress=False, bands=False)
    assert "gdp_index_PERSIA" in res.summary
    assert not any(re.search(r"\b(IRN|RUS|USA|NATO|EU|CHN|PRK)\b|_(IRN|RUS|EU)$", c)
                   for c in res.summary)
    model = sim.DiplomacyModel(scn, seed=3)
    model.run()
    assert any("Iran" in e.text for e in model.story)


# ---- what a scenario can now say: rounds of sanctions, home production, backing --------------

def test_a_scheduled_package_raises_the_senders_sanctions_that_month(tmp_path, numba_kernel):
    builder = ScenarioBuilder.from_scenario("baseline")
    builder.event(5, "packages.USA.RUS", 0.5, "A new round of US sanctions on Russia")
    scn = builder.build(tmp_path, "round")
    _, monthly = simulate(scn, runs=20)
    before, after = monthly["sanctions_USA_RUS"][:, 4], monthly["sanctions_USA_RUS"][:, 5]
    # A package cuts half of what is left to cut: s' = 1 - (1 - s)(1 - 0.5).
    np.testing.assert_allclose(after, 1 - (1 - before) * 0.5, atol=1e-12)


@pytest.mark.parametrize(("key", "value", "says"), [
    ("packages.USA.NOBODY", 0.2, "unknown actor 'NOBODY'"),
    ("packages.USA.USA", 0.2, "cannot sanction itself"),
    ("packages.USA.RUS", 1.5, "in [0, 1]"),
])
def test_a_bad_package_event_is_refused_with_its_key(tmp_path, key, value, says):
    builder = ScenarioBuilder.from_scenario("baseline").event(5, key, value)
    with pytest.raises(sim.ScenarioError) as err:
        builder.build(tmp_path, "bad")
    message = str(err.value)
    assert says in message and "events." in message, message


def test_home_production_at_the_start_lowers_the_need_for_imports(tmp_path, numba_kernel):
    demand = sim.load_scenario("baseline").spec.actors["RUS"].demand["drones"]
    builder = ScenarioBuilder.from_scenario("baseline")
    builder.raw["actors"]["RUS"]["built"] = {"drones": demand}
    scn = builder.build(tmp_path, "self_sufficient")
    _, monthly = simulate(scn, runs=50)
    assert monthly["shipped_iran_russia_drones"].sum() == 0  # Russia needs no imported drones
    _, base = simulate(sim.load_scenario("baseline"), runs=50)
    assert base["shipped_iran_russia_drones"].sum() > 0


def test_a_bloc_that_backs_a_senders_threats_deters_more(tmp_path, numba_kernel):
    """NATO's warning backing the US makes the US threats weigh more: Iran ships less."""
    builder = ScenarioBuilder.from_scenario("baseline")
    builder.raw["actors"]["NATO"].update(warning=1.0, backs=["USA"], escalation_step=0.0,
                                         escalation_cap=0.0, credibility=0.9)
    backed = builder.build(tmp_path, "backed")
    builder.raw["actors"]["NATO"]["backs"] = []
    alone = builder.build(tmp_path, "alone")
    covert = ["iran_russia_drones", "iran_russia_missiles"]
    _, b = simulate(backed)
    _, a = simulate(alone)
    shipped_b = sum(b[f"shipped_{r}"].sum() for r in covert)
    shipped_a = sum(a[f"shipped_{r}"].sum() for r in covert)
    assert shipped_b < shipped_a
