"""Charts drawn in the browser: the data the server sends (no browser needed here)."""

from __future__ import annotations

import json

import networkx as nx

import sim
from analysis.plots import relations_graph
from classroom.charts import (
    RunChart,
    chart_rows,
    fan_option,
    figure_json,
    network_option,
    run_panels,
)
from classroom.session import Classroom, monthly_labels


def test_panels_cover_the_run_and_rows_follow_the_columns() -> None:
    model = sim.DiplomacyModel("baseline", seed=7).run(3)
    columns, panels = run_panels(list(model.monthly_columns), monthly_labels(model.diplo_scenario))
    assert columns[0] == "month" and len(set(columns)) == len(columns)
    assert [p["id"] for p in panels] == ["gdp", "pressure", "deliveries", "war", "affinity",
                                         "tracks"]
    used = {s["col"] for p in panels for s in p["series"]}
    assert used == set(range(1, len(columns)))
    gdp = next(p for p in panels if p["id"] == "gdp")
    assert {s["name"] for s in gdp["series"]} >= {"Iran", "Russia"}
    rows = chart_rows(model.monthly(), columns)
    assert [r[0] for r in rows] == [0, 1, 2, 3]
    monthly = model.monthly()
    k = columns.index("shipped_iran_russia_drones")
    assert rows[2][k] == float(f"{monthly['shipped_iran_russia_drones'][2]:.5g}")


def test_a_step_sends_one_row_and_a_replay_sends_the_run(monkeypatch) -> None:
    room = Classroom()
    columns, panels = run_panels(list(room.model.monthly_columns),
                                 monthly_labels(room.scenario))
    widget = RunChart(panels=figure_json(panels), horizon=room.scenario.horizon)
    sent: list[dict] = []
    monkeypatch.setattr(widget, "send", lambda msg: sent.append(msg))
    assert widget.show(chart_rows(room.monthly(), columns)) == "replace"
    for month in (1, 2):
        room.step()
        assert widget.show(chart_rows(room.monthly(), columns)) == "append"
        assert sent[-1]["method"] == "append"
        (new,) = sent[-1]["args"]
        assert [r[0] for r in new] == [month]  # only that month's figures
        assert widget.sent_bytes == len(json.dumps(new)) < 2000
    assert len(widget.rows) == 3  # the widget's state holds the whole run for a reconnect
    assert widget.show(chart_rows(room.monthly(), columns)) == "same"
    assert room.set_seed("8")  # replayed with other draws: the whole run is sent
    assert widget.show(chart_rows(room.monthly(), columns)) == "replace"
    assert len(sent) == 2


def test_network_and_fan_options_are_plain_data() -> None:
    model = sim.DiplomacyModel("baseline", seed=7).run(4)
    graph = relations_graph(model)
    option = network_option(graph)
    json.dumps(option)
    (series,) = option["series"]
    assert {n["name"] for n in series["data"]} == set(graph.nodes)
    arms = [e for e in series["links"] if e["lineStyle"]["color"] == "#ff7f0e"]
    assert arms and all(e["symbol"] == ["none", "arrow"] for e in arms)
    assert isinstance(graph, nx.MultiDiGraph)
    room = Classroom()
    futures = room.run_futures(runs=40)
    fan = futures.fan("gdp_index_IRN")
    opt = fan_option(fan, "GDP", run=[1.0, 0.99], y_range=(0.5, 1.5), since=2)
    json.dumps(opt)
    names = [s["name"] for s in opt["series"]]
    assert names == ["p5", "90% of futures", "p25", "50% of futures", "median", "this run"]
    width = opt["series"][1]["data"]
    assert all(abs(w - (hi - lo)) < 1e-3 for w, lo, hi in
               zip(width, fan["p5"], fan["p95"], strict=True))
    assert opt["xAxis"]["data"] == [str(m) for m in fan["month"]]
    assert opt["yAxis"]["min"] == 0.5 and opt["yAxis"]["max"] == 1.5
    assert opt["series"][-1]["markLine"]["data"] == [{"xAxis": "2"}]


def test_rows_kept_by_the_room_match_the_run() -> None:
    room = Classroom()
    columns, _ = run_panels(list(room.model.monthly_columns), monthly_labels(room.scenario))
    for _ in range(3):
        room.step()
        assert room.chart_rows(columns) == chart_rows(room.monthly(), columns)
    assert room.set_seed("9")
    assert room.chart_rows(columns) == chart_rows(room.monthly(), columns)
    room.reset()
    assert len(room.chart_rows(columns)) == 1
