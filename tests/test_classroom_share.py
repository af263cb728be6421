"""Share and print: a what-if saved to one file or link reopens the same run; the handout."""

from __future__ import annotations

import base64
import json
import re
import zlib

import pandas as pd
import pytest

from classroom.handout import questions
from classroom.session import WHATIF_FORMAT, Classroom


def _whatif_room() -> Classroom:
    room = Classroom("baseline", seed=11)
    assert room.choose_policy("conditional_relief")
    assert room.set_value("actors.NATO.cohesion", 0.9)
    for _ in range(9):
        room.step()
    assert room.add_branch("maximum_pressure")
    assert room.add_branch(None, "categories.drones.detection", "0.6")
    return room


def _same(a: Classroom, b: Classroom) -> None:
    assert a.scenario.content_hash() == b.scenario.content_hash()
    assert (a.seed, a.month, a.policy, a.branches) == (b.seed, b.month, b.policy, b.branches)
    pd.testing.assert_frame_equal(a.monthly(), b.monthly())
    assert a.model.story_text() == b.model.story_text()


@pytest.mark.parametrize("how", ["file", "link"])
def test_a_whatif_reopens_exactly(how: str) -> None:
    room = _whatif_room()
    saved = room.whatif_json() if how == "file" else room.whatif_link()
    other = Classroom()
    assert other.open_whatif(saved.encode() if how == "file" else saved), other.errors
    _same(room, other)
    assert other.notice == "What-if reopened: baseline, seed 11, month 9, 2 branches"
    # ... and the branches' futures are the same numbers.
    a, b = room.compare_branches(runs=30), other.compare_branches(runs=30)
    for fa, fb in zip(a.futures, b.futures, strict=True):
        pd.testing.assert_frame_equal(fa.table, fb.table)


def test_a_typed_scenario_travels_inside_the_whatif() -> None:
    room = Classroom()
    assert room.use_text('extends = "baseline"\n[meta]\ntitle = "Mine"\n[actors.NATO]\n'
                         'cohesion = 0.4\n')
    room.step()
    data = room.whatif()
    assert data["scenario"] is None and "cohesion = 0.4" in data["scenario_toml"]
    other = Classroom()
    assert other.open_whatif(room.whatif_json())
    _same(room, other)
    assert other.source_label == "uploaded: edited.toml" and other.teaching["title"] == "Mine"


@pytest.mark.parametrize("change, message", [
    ({"format": "x"}, "not a what-if file (its format should be diplosim-whatif/1)"),
    ({"scenario": "/etc/passwd"}, "paths are not accepted here"),
    ({"scenario": None, "scenario_toml": 'extends = "/etc/passwd"\n'},
     "extends: may only name a bundled scenario"),
    ({"policy": "../x"}, "policy: no bundled policy"),
    ({"overrides": {"actors.NATO.cohesion": 7}}, "less than or equal to 1"),
    ({"seed": "-1"}, "the seed must be a whole number"),
    ({"month": 99}, "month: must be a whole number from 0 to 36"),
    ({"branches": [{"name": "A", "month": 3, "overrides": [["meta.horizon", 9]]}]},
     "branch A: overrides are [control key, value] pairs"),
])
def test_a_bad_whatif_is_refused_and_the_room_kept(change: dict, message: str) -> None:
    data = {**_whatif_room().whatif(), **change}
    room = Classroom()
    room.step()
    assert not room.open_whatif(json.dumps(data))
    assert room.errors["whatif"].startswith("what-if not opened: ")
    assert message in room.errors["whatif"]
    assert room.month == 1 and room.source_label == "baseline"


def test_a_cut_link_and_a_bomb_are_refused() -> None:
    room = Classroom()
    link = _whatif_room().whatif_link()
    assert not room.open_whatif(link[:-20])
    assert "not a what-if link" in room.errors["whatif"]
    bomb = base64.urlsafe_b64encode(zlib.compress(b"{" + b" " * 5_000_000, 9)).decode()
    assert not room.open_whatif("?whatif=" + bomb)  # inflated to at most 1 MB, then refused
    assert room.errors["whatif"].startswith("what-if not opened: not a what-if file")
    assert WHATIF_FORMAT == "diplosim-whatif/1"


def test_the_handout_has_the_story_charts_and_questions() -> None:
    room = _whatif_room()
    room.run_futures(runs=50)
    room.compare_branches(runs=20)
    page = room.handout_html()
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert page.count("data:image/png;base64,") == 2  # the six charts and the network
    assert "seed 11" in page and "month 9 of 36" in page and "conditional_relief" in page
    for ev in room.model.story[:5]:
        assert ev.text.replace("'", "&#x27;").replace('"', "&quot;") in page
    assert "50 futures of these settings" in page and "What-if branches" in page
    qs = questions(room.teaching)
    assert len(qs) == len(room.teaching["notice"]) + len(room.teaching["try"]) + 2
    assert all(q.replace("'", "&#x27;").replace('"', "&quot;") in page for q in qs)
    assert not re.search(r"<script", page, re.I)


def test_the_handout_escapes_what_a_student_typed() -> None:
    room = Classroom()
    assert room.use_text('extends = "baseline"\n[meta]\ntitle = "<script>alert(1)</script>"\n')
    page = room.handout_html()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
