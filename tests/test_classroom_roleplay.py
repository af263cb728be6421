"""Role-play rooms without a browser (classroom.roleplay): seats, months, teacher, verdict."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import classroom.roleplay as rp
from sim.core import layout as L
from sim.engines.model import DiplomacyModel
from sim.errors import UsageError
from sim.jobs.ensemble import run_ensemble
from sim.scenario import load_scenario

SEED = 7


@pytest.fixture()
def rooms() -> rp.Rooms:
    return rp.Rooms()


@pytest.fixture()
def room(rooms: rp.Rooms) -> rp.Room:
    return rooms.open(load_scenario("baseline"), SEED)


def test_a_room_has_a_code_others_can_type(rooms, room):
    assert re.fullmatch(f"[{rp.CODE_LETTERS}]{{{rp.CODE_LENGTH}}}", room.code)
    assert rooms.get(f" {room.code.lower()} ") is room
    with pytest.raises(UsageError, match="no open room has the code 'NOPE'"):
        rooms.get("nope")
    rooms.close(room.code)
    with pytest.raises(UsageError, match="no open room"):
        rooms.get(room.code)


def test_seats_are_one_player_per_actor(room):
    room.seat("IRN", "Ana")
    with pytest.raises(UsageError, match="Iran.* is already played"):
        room.seat("IRN", "Ben")
    with pytest.raises(UsageError, match="'XYZ' is not an actor"):
        room.seat("XYZ")
    with pytest.raises(UsageError, match="'USA' has no seat"):
        room.submit("USA", {})


def test_the_month_advances_when_every_seat_has_answered(room):
    room.seat("IRN", "Ana")
    room.seat("USA", "Ben")
    assert room.month == 1 and room.waiting_for() == ["IRN", "USA"]
    drones = {c.key: c for c in room.choices("IRN")}
    assert "ship:iran_russia_drones" in drones
    v = room.version
    assert room.submit("IRN", {"ship:iran_russia_drones": "hold"}) is False
    assert room.month == 1 and room.waiting_for() == ["USA"] and room.version > v
    assert room.submit("USA", {}) is True
    assert room.month == 2 and room.waiting_for() == ["IRN", "USA"]
    assert room.played[0]["answers"] == {"IRN": {"ship:iran_russia_drones": "hold"},
                                         "USA": {}}
    told = [e for m, evs in room.story() for e in evs if e.kind == "choice"]
    assert len(told) == 1 and "chooses to hold" in told[0].text


def test_the_teacher_advances_for_players_who_have_not_answered(room):
    room.seat("IRN")
    room.seat("USA")
    room.submit("IRN", {})
    room.advance()
    assert room.month == 2
    plain = DiplomacyModel("baseline", seed=SEED).run(1)
    pd.testing.assert_frame_equal(room.model.monthly(), plain.monthly(), check_exact=True)


def test_a_player_leaving_releases_a_month_waiting_on_them(room):
    room.seat("IRN")
    room.seat("USA")
    room.submit("IRN", {})
    room.leave("USA")
    assert room.month == 2 and list(room.seats) == ["IRN"]


def test_a_seat_with_nothing_to_decide_is_not_waited_for(room):
    room.seat("IRN")
    room.seat("RUS")
    assert room.choices("RUS") == [] and room.waiting_for() == ["IRN"]
    assert room.submit("IRN", {}) is True and room.month == 2


def test_a_bad_answer_is_refused_and_changes_nothing(room):
    room.seat("IRN")
    with pytest.raises(UsageError, match="ship:iran_russia_drones='maybe' is not a question"):
        room.submit("IRN", {"ship:iran_russia_drones": "maybe"})
    assert room.month == 1 and room.waiting_for() == ["IRN"]


def test_a_room_plays_to_the_end_and_its_record_is_plain_json(room):
    room.seat("IRN", "Ana")
    r = room.model.compiled.route_ids.index("iran_russia_drones")
    while not room.finished:
        room.submit("IRN", {c.key: "hold" for c in room.choices("IRN") if c.kind == "ship"})
    assert room.month == room.horizon and room.choices("IRN") == [] and room.waiting_for() == []
    assert room.model.state.RS[r, L.RS_TOTAL] == 0
    with pytest.raises(UsageError, match="the run is over"):
        room.submit("IRN", {})
    record = json.loads(json.dumps(room.record()))
    assert record["months"] == room.horizon and record["seats"] == {"IRN": "Ana"}
    assert len(record["played"]) == room.horizon
    assert record["outcomes"]["delivered_iran_russia_drones"] == 0
    assert any(e["kind"] == "choice" for e in record["story"])


def test_idle_rooms_are_closed_when_a_new_one_opens(rooms, room, monkeypatch):
    room.touched -= rp.ROOM_IDLE_S + 1
    rooms.open(load_scenario("baseline"), 1)
    assert len(rooms) == 1
    monkeypatch.setattr(rp, "MAX_ROOMS", 1)
    with pytest.raises(UsageError, match="already has 1 rooms open"):
        rooms.open(load_scenario("baseline"), 2)


def test_the_verdict_sets_the_played_run_against_the_models_runs(numba_kernel):
    scn = load_scenario("baseline")
    room = rp.Room("TEST1", scn, SEED)
    room.seat("IRN")
    while not room.finished:
        deal = [c.key for c in room.choices("IRN") if c.kind == "deal"]
        room.submit("IRN", {k: "agree" for k in deal})
    summary = run_ensemble(scn, 40, seed=SEED, engine="numba", progress=False).summary
    verdicts = {v.outcome: v for v in rp.compare_with_model(room.outcomes(), summary, scn)}
    agreed = verdicts["relief_agreed"]
    assert agreed.yours == "yes"
    assert agreed.share == pytest.approx(float(np.mean(summary["relief_agreed"] >= 0.5)))
    assert f"{100 * agreed.share:.0f}% of model runs" in agreed.sentence
    assert "in your run it happened" in agreed.sentence
    gdp = [v for v in verdicts.values() if v.outcome.startswith("gdp_index_")]
    assert gdp, "the focus actors' GDP is a headline outcome"
    x = summary[gdp[0].outcome].to_numpy()
    assert gdp[0].share == pytest.approx(float(np.mean(x < room.outcomes()[gdp[0].outcome])))
