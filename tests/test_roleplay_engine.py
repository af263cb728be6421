"""Role-play in the Mesa engine: some actors' decisions made by players (sim.engines.choices).

A month opened and closed with no answers is the model's month, bit for bit (and the kernel's);
answering with the model's own answers changes nothing but the story; a different answer changes
what happens that month (a shipment held back delivers nothing, a package backed down from is
not imposed, a deal agreed is recorded) and is told in the story.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.core import layout as L
from sim.engines.model import DiplomacyModel
from sim.errors import UsageError
from sim.jobs.ensemble import run_ensemble

SEED = 7
DRONES = "ship:iran_russia_drones"


def _play(scenario: str, months: int, answer) -> DiplomacyModel:
    """Step ``months`` months, each with the answers ``answer(model)`` gives after deciding."""
    m = DiplomacyModel(scenario, seed=SEED)
    while m.month < months:
        m.open_month()
        m.close_month(answer(m))
    return m


def test_open_and_close_without_answers_is_the_kernels_run(numba_kernel):
    played = _play("baseline", 36, lambda m: {})
    plain = DiplomacyModel("baseline", seed=SEED).run()
    pd.testing.assert_frame_equal(played.monthly(), plain.monthly(), check_exact=True)
    assert played.story_text() == plain.story_text()
    res = run_ensemble("baseline", [0], seed=SEED, engine="numba", keep_runs=[0],
                       progress=False)
    row = res.summary.iloc[0]
    for name, value in played.outcomes().items():
        assert value == row[name] or (np.isnan(value) and np.isnan(row[name])), name
    kernel = res.trajectory(0)
    mine = played.monthly()
    shared = [c for c in kernel.columns if c in mine.columns and c != "month"]
    assert len(shared) > 10
    for col in shared:
        np.testing.assert_array_equal(kernel[col].to_numpy(), mine[col].to_numpy(), err_msg=col)


def test_the_models_own_answers_change_nothing_but_the_story():
    def own(m: DiplomacyModel) -> dict:
        return {a: {c.key: c.model for c in m.choices(a)} for a in ("IRN", "USA", "EU")}

    played = _play("baseline", 24, own)
    plain = DiplomacyModel("baseline", seed=SEED).run(24)
    pd.testing.assert_frame_equal(played.monthly(), plain.monthly(), check_exact=True)
    assert played.outcomes() == pytest.approx(plain.outcomes(), nan_ok=True)
    told = [e for e in played.story if e.kind == "choice"]
    assert told and all("as the model would have" in e.text for e in told)


def test_a_shipment_held_back_delivers_nothing_and_is_told():
    m = DiplomacyModel("baseline", seed=SEED).run(1)
    m.open_month()
    drones = {c.key: c for c in m.choices("IRN")}[DRONES]
    assert drones.model == "ship" and drones.options == ("ship", "hold")
    assert 0 < drones.chance < 1 and any(r.term == "need" for r in drones.reasons)
    m.close_month({"IRN": {DRONES: "hold"}})
    r = m.compiled.route_ids.index("iran_russia_drones")
    assert m.state.RS[r, L.RS_SHIPPED] == 0
    plain = DiplomacyModel("baseline", seed=SEED).run(2)
    assert plain.state.RS[r, L.RS_SHIPPED] > 0
    month2 = [e for e in m.story if e.month == 2]
    choice = [e for e in month2 if e.kind == "choice"]
    assert len(choice) == 1 and "chooses to hold" in choice[0].text
    assert "would have chosen to ship" in choice[0].text
    assert not any(e.kind == "transfer" and "Shahed" in e.text for e in month2)


def test_a_shipment_the_model_holds_back_can_be_sent():
    m = DiplomacyModel("baseline", seed=SEED)
    for _ in range(2):
        m.step()
    m.open_month()
    missiles = {c.key: c for c in m.choices("IRN")}["ship:iran_russia_missiles"]
    assert missiles.model == "hold"
    m.close_month({"IRN": {missiles.key: "ship"}})
    r = m.compiled.route_ids.index("iran_russia_missiles")
    assert m.state.RS[r, L.RS_SHIPPED] > 0


def test_backing_down_from_a_package_costs_credibility_and_keeps_sanctions():
    played = DiplomacyModel("baseline", seed=SEED)
    plain = DiplomacyModel("baseline", seed=SEED).run(3)
    played.run(2)
    played.open_month()
    packages = [c for c in played.choices("USA") if c.kind == "package"]
    assert packages and all(c.model == "impose" for c in packages)
    played.close_month({"USA": {c.key: "back down" for c in packages}})
    usa, irn = played.compiled.actor_ids.index("USA"), played.compiled.actor_ids.index("IRN")
    assert played.state.SANC[usa, irn] < plain.state.SANC[usa, irn]
    assert played.state.SA[usa, L.S_CRED] < plain.state.SA[usa, L.S_CRED]
    assert played.state.SA[usa, L.S_FAILED] == len(packages)
    assert any(e.kind == "back-down" and e.month == 3 for e in played.story)


def test_a_relief_deal_agreed_by_the_player_is_recorded():
    offered: list[int] = []

    def agree(m: DiplomacyModel) -> dict:
        deal = [c for c in m.choices("IRN") if c.kind == "deal"]
        if deal:
            offered.append(m.month)
        return {"IRN": {deal[0].key: "agree"}} if deal else {}

    plain = DiplomacyModel("baseline", seed=SEED)
    plain.run(36)
    first_model_deal = plain.outcomes()["relief_agreed_month"] if plain.outcomes()[
        "relief_agreed"] else 37
    played = _play("baseline", 36, agree)
    assert offered, "no deal was ever open to Iran in 36 months"
    assert played.outcomes()["relief_agreed"] == 1
    # the player agreed the first month a deal was open, before the model itself did
    assert played.outcomes()["relief_agreed_month"] == offered[0] < first_model_deal
    assert any(e.kind == "deal" and e.month == offered[0] for e in played.story)


def test_bad_answers_are_refused_in_one_line():
    m = DiplomacyModel("baseline", seed=SEED)
    with pytest.raises(UsageError, match="no month is open"):
        m.choices("IRN")
    m.open_month()
    with pytest.raises(UsageError, match="already open"):
        m.open_month()
    with pytest.raises(UsageError, match="'XYZ' is not in the scenario"):
        m.choices("XYZ")
    with pytest.raises(UsageError, match="IRN has no question 'deal:relief'"):
        m.close_month({"IRN": {"deal:relief": "agree"}})
    with pytest.raises(UsageError, match="answer must be one of ship, hold, got 'maybe'"):
        m.close_month({"IRN": {DRONES: "maybe"}})
    with pytest.raises(UsageError, match="month 1 is open: close it before forking"):
        m.fork(policy="engagement")
    m.close_month()
    assert m.month == 1 and not m.month_open


def test_step_closes_an_open_month_and_counts_one_step():
    m = DiplomacyModel("baseline", seed=SEED)
    m.open_month()
    m.step({"IRN": {DRONES: "hold"}})
    assert m.month == 1 and m.steps == 1 and not m.month_open
    m.step()
    assert m.month == 2 and m.steps == 2
