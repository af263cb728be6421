"""The observed record on the run's charts (classroom.charts.record_marks), without a browser."""

from __future__ import annotations

import csv

from analysis.calibration.abc import target_columns
from analysis.calibration.command import DEFAULT_RECORD
from classroom.charts import RECORD_SCENARIO, record_marks, run_panels, with_marks
from sim.scenario import load_scenario


def _marks(horizon: int | None = None) -> dict[str, list[dict]]:
    scn = load_scenario(RECORD_SCENARIO)
    return record_marks(scn.spec.meta.start, horizon or scn.horizon, target_columns(scn))


def test_only_rows_mapped_to_a_charted_quantity_are_marked_with_their_source():
    marks = _marks()
    rows = {r["id"]: r for r in csv.DictReader(DEFAULT_RECORD.open(encoding="utf-8"))}
    assert set(marks) <= {"gdp", "pressure", "deliveries", "tracks"}
    every = [m for ms in marks.values() for m in ms]
    assert 0 < len(every) < len(rows)  # not the whole record: 82 rows, most not charted
    for m in every:
        row = rows[m["id"]]
        assert m["tip"].startswith(f"{row['date']}: {row['what']}")
        assert m["tip"].endswith(f"Source: {row['source']}")
    first = next(m for m in marks["deliveries"] if m["id"] == "shahed_first_delivery")
    assert first["month"] == 1  # the hindcast starts with the first deliveries, 2022-08
    assert {m["id"] for m in marks["tracks"]} == {"no_relief_deal", "no_ceasefire"}
    # the US's and the EU's rounds on Iran (targets on a pair's monthly sanction level)
    assert {m["id"] for m in marks["pressure"]} >= {
        "us_sanctions_iran_drones_2022", "us_e3_response_2024_09", "eu_iran_drone_regime",
        "eu_iran_regime_missiles", "eu_iran_listings_2024_10", "eu_iran_irisl_2024_11"}
    assert len({(p, m["id"]) for p, ms in marks.items() for m in ms}) == len(every)


def test_rows_after_the_horizon_are_left_out():
    short = [m for ms in _marks(horizon=12).values() for m in ms]
    assert short and all(1 <= m["month"] <= 12 for m in short)
    assert len(short) < sum(len(ms) for ms in _marks().values())


def test_panels_carry_their_marks():
    names = ["gdp_index_IRN", "pressure_IRN", "shipped_iran_russia_drones"]
    _, panels = run_panels(names, {})
    marked = with_marks(panels, _marks())
    by_id = {p["id"]: p for p in marked}
    assert by_id["deliveries"]["marks"] and by_id["war"]["marks"] == []
    assert [p["series"] for p in marked] == [p["series"] for p in panels]
