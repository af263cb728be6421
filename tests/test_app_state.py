"""The classroom app's logic without a browser: controls, settings, validation, the run, the
futures, the network, the downloads and the ``ui`` verb's refusals."""

from __future__ import annotations

import io
import math
import re
import socket
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from classroom.controls import CONTROLS, RefusedText, read_value, seed_from_text, typed_value
from classroom.session import (
    DEFAULT_SEED,
    EDITOR_EXAMPLE,
    NO_POLICY,
    Classroom,
    monthly_labels,
    run_futures,
)
from sim.cli import main
from sim.results.stats import wilson_interval
from sim.results.table import outcome_table


@pytest.fixture
def room() -> Classroom:
    return Classroom()


def _fresh(scn: sim.Scenario, seed: int, months: int) -> sim.DiplomacyModel:
    return sim.DiplomacyModel(scn, seed=seed).run(months)


# ---- controls ------------------------------------------------------------------------------

def test_controls_cover_the_issue_and_state_unit_and_range(room: Classroom) -> None:
    keys = {c.key for c in room.controls}
    assert keys == {
        "categories.missiles.detection", "categories.drones.detection",
        "actors.USA.escalation_step", "actors.USA.escalation_cap",
        "actors.EU.escalation_step", "actors.EU.escalation_cap", "actors.EU.cohesion",
        "actors.NATO.cohesion",
        "actors.BRICS.busting", "actors.IRN.relief_priority", "actors.RUS.demand.drones",
        "actors.RUS.demand.missiles", "actors.USA.warning",
    }
    for c in CONTROLS:
        assert c.unit and c.range_text and c.lo < c.hi
        value = room.value(c.key)
        assert value is not None and c.lo <= value <= c.hi
    # Slider ranges of bounded parameters are the schema's bounds: the ends are accepted.
    for c in CONTROLS:
        if c.key.startswith(("categories.", "actors.NATO.cohesion", "actors.BRICS")):
            assert Classroom().set_value(c.key, c.hi)
            assert Classroom().set_value(c.key, c.lo)


def test_control_values_follow_scenario_and_policy(baseline: sim.Scenario) -> None:
    room = Classroom()
    assert room.value("categories.missiles.detection") == baseline.spec.categories[
        "missiles"].detection
    assert room.value("actors.RUS.demand.drones") == 400.0
    assert room.value("actors.USA.warning") == 1.0
    assert room.choose_policy("maximum_pressure")
    assert room.value("actors.USA.escalation_step") == 0.3
    assert room.choose_policy(NO_POLICY)
    assert room.value("actors.USA.escalation_step") == 0.15
    assert room.choose_scenario("split_nato_leaky_brics")
    assert room.value("actors.NATO.cohesion") == 0.35
    assert room.teaching["title"].startswith("What-if: a split NATO")
    assert room.teaching["try"]


def test_typed_values_are_read_not_evaluated() -> None:
    assert typed_value(" 120 ") == 120.0 and isinstance(typed_value("120"), float)
    assert typed_value("0.25") == 0.25
    assert typed_value("true") is True
    assert typed_value("__import__('os')") == "__import__('os')"  # text, refused by the schema
    with pytest.raises(RefusedText, match="enter a number"):
        typed_value("  ")
    assert seed_from_text(" 42 ") == 42 and seed_from_text(2**64 - 1) == 2**64 - 1
    for bad in ("-1", "1e3", str(2**64), "seven"):
        with pytest.raises(RefusedText, match="whole number"):
            seed_from_text(bad)


def test_read_value_missing_parameters(baseline: sim.Scenario) -> None:
    assert read_value(baseline, "actors.XXX.cohesion") is None
    assert read_value(baseline, "categories.nukes.detection") is None
    assert read_value(baseline, "actors.USA.demand.drones") == 0.0  # known category, no demand
    assert read_value(baseline, "actors.USA.demand.nukes") is None


# ---- settings change the run, validated ----------------------------------------------------

def _drone_lines(room: Classroom) -> list[str]:
    return [line for _, lines in room.story_by_month() for line in lines
            if re.match(r"Iran ships \d+ Shahed drones", line)]


def test_valid_change_replays_the_run_to_the_same_month(room: Classroom) -> None:
    for _ in range(10):
        room.step()
    before = room.monthly()
    shipped_before = _drone_lines(room)
    assert room.set_value("categories.drones.detection", 1.0)
    assert room.month == 10 and room.model.steps == 10
    expected = _fresh(sim.load_scenario("baseline").with_overrides(
        {"categories.drones.detection": 1.0}), DEFAULT_SEED, 10)
    pd.testing.assert_frame_equal(room.monthly(), expected.monthly())
    assert not room.monthly().equals(before)
    assert room.model.story_text() == expected.story_text()
    # Every drone shipment is now exposed, and the supplier, sure to be seen, ships less.
    drones = _drone_lines(room)
    assert all("detected and made public" in line for line in drones)
    assert len(drones) < len(shipped_before)


def test_text_entry_is_read_as_a_number(room: Classroom) -> None:
    assert room.set_text("actors.RUS.demand.missiles", " 120 ")
    assert room.value("actors.RUS.demand.missiles") == 120.0
    assert room.set_text("actors.RUS.demand.drones", "5000")  # above the slider, still valid
    assert room.value("actors.RUS.demand.drones") == 5000.0


@pytest.mark.parametrize("text, fault", [
    ("1.5", "less than or equal to 1"),
    ("-0.1", "greater than or equal to 0"),
    ("abc", "valid number"),
    ("nan", "NaN"),
    ("__import__('os').system('touch /tmp/diplosim_pwned')", "valid number"),
    ("", "enter a number"),
])
def test_bad_text_is_refused_with_a_message_and_the_run_is_kept(room: Classroom, text: str,
                                                                fault: str) -> None:
    for _ in range(4):
        room.step()
    before = room.monthly()
    key = "categories.missiles.detection"
    assert not room.set_text(key, text)
    assert fault in room.errors[key]
    assert room.value(key) == sim.load_scenario("baseline").spec.categories["missiles"].detection
    pd.testing.assert_frame_equal(room.monthly(), before)
    # A valid value afterwards clears the message.
    assert room.set_text(key, "0.3")
    assert key not in room.errors


def test_cross_parameter_rule_is_reported_beside_the_control(room: Classroom) -> None:
    # The EU (the USA's scheduled maximum pressure needs its cap above 0 at month 14)
    assert room.set_value("actors.EU.escalation_step", 0.0)
    assert room.set_value("actors.EU.escalation_cap", 0.0)
    assert not room.set_value("actors.EU.escalation_step", 0.2)
    msg = room.errors["actors.EU.escalation_step"]
    assert msg.startswith("actors.EU.escalation_cap:") and "above 0" in msg
    assert room.value("actors.EU.escalation_step") == 0.0


@settings(max_examples=40)
@given(k=st.integers(0, len(CONTROLS) - 1), u=st.floats(0, 1), text=st.text(max_size=30))
def test_any_slider_position_or_text_never_raises(k: int, u: float, text: str) -> None:
    room = Classroom()
    c = CONTROLS[k]
    value = c.lo + u * (c.hi - c.lo)
    ok = room.set_value(c.key, value)
    assert ok == (c.key not in room.errors)
    if ok:
        assert room.value(c.key) == pytest.approx(value)
    before = room.value(c.key)
    ok = room.set_text(c.key, text)
    if not ok:
        assert room.errors[c.key]
        assert room.value(c.key) == before


@pytest.mark.parametrize("text, ok", [("0", True), ("12", True), (str(2**64 - 1), True),
                                      (str(2**64), False), ("-1", False), ("1.5", False),
                                      ("seven", False), ("", False), ("٣", False)])
def test_seed_field(room: Classroom, text: str, ok: bool) -> None:
    room.step()
    assert room.set_seed(text) is ok
    if ok:
        assert room.seed == int(text) and room.month == 1
        assert "seed" not in room.errors
    else:
        assert room.seed == DEFAULT_SEED and "whole number" in room.errors["seed"]


def test_policy_and_scenario_changes_reset_the_controls(room: Classroom) -> None:
    room.set_value("actors.NATO.cohesion", 1.0)
    assert room.choose_policy("engagement")
    assert room.overrides == {}
    assert room.value("actors.NATO.cohesion") == 0.7
    assert room.value("actors.USA.warning") == 0.0  # engagement: no public threats
    assert room.scenario.policies == ("engagement",)
    assert not room.choose_scenario("no_such_scenario")
    assert "no bundled scenario" in room.errors["scenario"]
    assert room.scenario.policies == ("engagement",)


# ---- the run ---------------------------------------------------------------------------------

def test_the_story_shows_each_decision_with_its_reasons(room: Classroom) -> None:
    for _ in range(4):
        room.step()
    grouped = room.story_events_by_month(newest_first=False)
    assert [m for m, _ in grouped] == sorted({e.month for e in room.model.story})
    assert [e for _, events in grouped for e in events] == room.model.story
    assert room.story_by_month(newest_first=False) == [
        (m, [e.text for e in events]) for m, events in grouped]
    assert [m for m, _ in room.story_events_by_month()] == [m for m, _ in grouped][::-1]
    # A shipment's reasons are the largest terms of Iran's utility for it, in plain words with
    # their values ("need 1.60, affinity 0.75, ..."); an event gives none.
    month1 = dict(grouped)[1]
    ships = [e for e in month1 if e.text.startswith("Iran ships")]
    assert ships and all(re.fullmatch(r"(need|affinity|revenue|threat cost|relief at risk|"
                                      r"propensity) -?\d+\.\d\d(, .+)?", e.why) for e in ships)
    assert any(e.why.startswith("need ") for e in ships)
    events = [e for _, evs in grouped for e in evs if e.kind == "event"]
    assert all(e.why == "" for e in events)
    # Replayed with a new setting, the reasons are those of the new run.
    assert room.set_value("actors.IRN.relief_priority", 1.0)
    assert [e.why for _, evs in room.story_events_by_month(False) for e in evs] == [
        e.why for e in _fresh(room.scenario, DEFAULT_SEED, 4).story]


def test_step_reset_and_horizon(room: Classroom) -> None:
    assert room.month == 0 and room.model.steps == 0 and room.story_by_month() == []
    room.step()
    assert room.month == 1 and room.model.steps == 1
    assert room.story_by_month()[0][0] == 1
    assert room.calendar() == "2024-01"
    room.model.run(room.scenario.horizon)
    assert room.finished and not room.step()
    assert room.calendar() == "2026-12"
    room.reset()
    assert room.month == 0 and not room.finished


def test_play_ticks_until_paused_or_finished(room: Classroom) -> None:
    token = room.play()
    assert room.playing
    assert room.play_tick(token) and room.month == 1
    room.pause()
    assert not room.play_tick(token) and room.month == 1
    token = room.play()
    stale = token - 1
    assert not room.play_tick(stale) and room.month == 1
    while room.play_tick(token):
        pass
    assert room.finished and not room.playing


def test_play_from_another_thread_is_consistent(room: Classroom) -> None:
    token = room.play()

    def loop() -> None:
        while room.play_tick(token):
            pass

    t = threading.Thread(target=loop)
    t.start()
    for _ in range(5):
        room.set_value("actors.BRICS.busting", 0.95)
        room.set_value("actors.BRICS.busting", 0.5)
    t.join(timeout=60)
    assert room.finished
    expected = _fresh(room.scenario, room.seed, room.scenario.horizon).monthly()
    pd.testing.assert_frame_equal(room.monthly(), expected)


def test_so_far_and_labels(room: Classroom) -> None:
    facts = room.so_far()
    assert facts == {"Transfers exposed": "0", "Relief deal": "not yet", "Ceasefire": "not yet"}
    labels = monthly_labels(room.scenario)
    assert set(room.monthly().columns) - {"month"} <= set(labels)
    assert labels["shipped_iran_russia_missiles"] == "Iran → Russia: ballistic missiles"


def test_network_is_the_shared_relations_graph(room: Classroom) -> None:
    from analysis.plots import relations_graph

    cs = room.model.compiled
    iran = [r for r in cs.route_ids if r.startswith("iran_russia")]
    for _ in range(9):
        room.step()
    # On to a month in which Iran ships (it may hold back in some months, under a halt say).
    while (sum(room.monthly().iloc[-1][f"shipped_{r}"] for r in iran) == 0
           and room.model.month < room.model.horizon):
        room.step()
    g = room.network()
    s = room.model.state
    assert g.graph["month"] == room.model.month >= 9 and list(g.nodes) == cs.actor_ids
    edges = list(g.edges(data=True))
    assert edges == list(relations_graph(room.model).edges(data=True))
    last = room.monthly().iloc[-1]
    arms = {(u, v): d for u, v, d in edges if d["kind"] == "arms"}
    assert arms[("IRN", "RUS")]["shipped"] == sum(last[f"shipped_{r}"] for r in iran) > 0
    assert arms[("IRN", "RUS")]["exposed"] == any(last[f"detected_{r}"] >= 0.5 for r in iran)
    sanctions = {(u, v): d["weight"] for u, v, d in edges if d["kind"] == "sanctions"}
    n = len(cs.actor_ids)
    assert len(sanctions) == sum(1 for i in range(n) for j in range(n)
                                 if i != j and s.SANC[i, j] > 0)
    for u, v, d in edges:
        if d["kind"] == "affinity":
            assert room.model.actors_by_id[u].affinity[v] == d["weight"]


# ---- futures -------------------------------------------------------------------------------

def test_futures_table_is_the_ensembles_outcome_table(numba_kernel,
                                                     baseline: sim.Scenario) -> None:
    f = run_futures(baseline, seed=11, runs=300)
    res = sim.run_ensemble(baseline, runs=300, seed=11)
    pd.testing.assert_frame_equal(f.summary, res.summary)
    pd.testing.assert_frame_equal(f.table, res.outcome_table())
    row = f.table.set_index("outcome").loc["relief_reached"]
    k = int((res.summary["relief_reached"] >= 0.5).sum())
    assert row["estimate"] == k / 300
    assert (row["lo"], row["hi"]) == wilson_interval(k, 300)
    assert row["label"] == "Relief deal in force"
    # The headline rows are what the page shows first: the deals, the covert transfers, the
    # pressure on their supplier, the economies of the supplier and of the two sides at war.
    headline = set(f.table.loc[f.table["headline"], "outcome"])
    assert {"relief_reached", "relief_broken", "ceasefire_reached", "shipped_missiles",
            "any_detected_missiles", "peak_pressure_IRN", "gdp_index_IRN", "gdp_index_UKR",
            "any_escalations"} <= headline
    assert not {"shipped_military_aid", "gdp_index_USA", "affinity_IRN_RUS"} & headline
    shown = [r["outcome"] for r in f.rows(headline=True)] + [
        r["outcome"] for r in f.rows(headline=False)]
    assert sorted(shown) == sorted(f.table["outcome"])
    means = f.table[f.table["kind"] == "mean"].set_index("outcome")
    assert means.loc["gdp_index_IRN", "estimate"] == pytest.approx(
        res.summary["gdp_index_IRN"].mean())


def test_fan_bands_are_quantiles_of_the_mesa_runs(numba_kernel, baseline: sim.Scenario) -> None:
    runs = 8
    f = run_futures(baseline, seed=5, runs=runs)
    models = [sim.DiplomacyModel(baseline, seed=5, run=r).run() for r in range(runs)]
    assert set(f.band_names) == set(models[0].monthly().columns) - {"month"}
    for figure in ("gdp_index_IRN", "war_intensity"):
        mesa = np.stack([m.monthly()[figure].to_numpy() for m in models])
        fan = f.fan(figure)
        assert list(fan["month"]) == list(range(baseline.horizon + 1))
        for q in (5, 25, 50, 75, 95):
            expected = np.quantile(mesa, q / 100, axis=0, method="inverted_cdf")
            np.testing.assert_array_equal(fan[f"p{q}"], expected)
        cols = ["p5", "p25", "p50", "p75", "p95"]
        assert (np.diff(fan[cols].to_numpy(), axis=1) >= 0).all()
    with pytest.raises(KeyError):
        f.fan("no_such_figure")


def test_futures_follow_the_settings(numba_kernel) -> None:
    room = Classroom()
    f0 = room.run_futures(runs=200)
    assert room.futures_current
    room.set_value("categories.drones.detection", 1.0)
    assert not room.futures_current
    f1 = room.run_futures(runs=200)
    row = {o: f.table.set_index("outcome").loc[["any_detected_drones", "shipped_drones"],
                                                 "estimate"]
           for o, f in (("before", f0), ("after", f1))}
    # every run that ships drones is seen now (some ship none, deterred); not before
    assert row["after"]["any_detected_drones"] == row["after"]["shipped_drones"] > 0.5
    assert row["before"]["any_detected_drones"] < row["before"]["shipped_drones"]


def test_outcome_table_with_no_events() -> None:
    scn = sim.load_scenario("baseline")
    summary = pd.DataFrame({"relief_reached": [0.0] * 5, "relief_month": [math.nan] * 5})
    table = outcome_table(summary, scn, drop_constant=False).set_index("outcome")
    assert table.loc["relief_reached", "estimate"] == 0.0
    assert table.loc["relief_reached", "lo"] == 0.0
    assert math.isnan(table.loc["relief_month", "estimate"])


# ---- downloads and uploads -----------------------------------------------------------------

def test_settings_download_round_trips(room: Classroom, tmp_path) -> None:
    room.choose_policy("maximum_pressure")
    room.set_value("actors.NATO.cohesion", 0.95)
    path = tmp_path / room.settings_filename()
    path.write_text(room.settings_toml(), encoding="utf-8")
    back = sim.load_scenario(path)
    assert back.spec == room.scenario.spec
    assert back.content_hash() == room.scenario.content_hash()
    assert path.name == "baseline_maximum_pressure_settings.toml"
    assert main(["validate", str(path)]) == 0


def test_csv_downloads(numba_kernel, room: Classroom) -> None:
    for _ in range(3):
        room.step()
    monthly = pd.read_csv(io.StringIO(room.monthly_csv()))
    assert list(monthly["month"]) == [0, 1, 2, 3]
    np.testing.assert_allclose(monthly.to_numpy(), room.monthly().to_numpy())
    story = pd.read_csv(io.StringIO(room.story_csv()), keep_default_na=False)
    assert list(story.columns) == ["month", "kind", "text", "reasons"]
    assert len(story) == len(room.model.story)
    assert list(story["reasons"]) == [e.why for e in room.model.story]
    assert room.futures_csv() == "" and room.futures_table_csv() == ""
    room.run_futures(runs=50)
    runs = pd.read_csv(io.StringIO(room.futures_csv()))
    assert len(runs) == 50 and list(runs["run"]) == list(range(50))
    table = pd.read_csv(io.StringIO(room.futures_table_csv()))
    assert {"label", "estimate", "lo", "hi"} <= set(table.columns)


def test_upload_valid_and_invalid(room: Classroom) -> None:
    good = b'extends = "baseline"\n[meta]\ntitle = "Class what-if"\n[actors.NATO]\ncohesion = 0.2\n'
    assert room.upload("../../etc/what if.toml", good)
    assert room.source_label == "uploaded: what_if.toml"
    assert room.value("actors.NATO.cohesion") == 0.2
    assert "uploaded: what_if.toml" in room.scenario_choices
    assert room.teaching["title"] == "Class what-if"
    before = room.scenario
    bad = b'extends = "baseline"\n[actors.NATO]\ncohesion = 2.0\n'
    assert not room.upload("bad.toml", bad)
    assert room.errors["upload"].startswith("bad.toml: actors.NATO.cohesion:")
    assert room.scenario is before
    assert not room.upload("junk.toml", b"\xff\xfe not toml")
    assert "UTF-8" in room.errors["upload"]
    assert not room.upload("code.toml", b"import os\nos.system('echo pwned')\n")
    assert "not valid TOML" in room.errors["upload"]
    assert room.choose_scenario("uploaded: what_if.toml")


# ---- the ui verb -------------------------------------------------------------------------

@pytest.mark.parametrize("port", ["0", "70000", "-5"])
def test_ui_refuses_a_bad_port(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ui", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"diplosim: error: --port {port}: must be from 1 to 65535")
    assert "Traceback" not in err


def test_ui_refuses_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["ui", "--port", str(port)]) == 2
    assert "already in use" in capsys.readouterr().err


# ---- figures -----------------------------------------------------------------------------------

def test_figures_draw_what_the_run_holds(numba_kernel, room: Classroom) -> None:
    from analysis.plots import fan_chart, network_plot
    from classroom.figures import run_charts

    for _ in range(6):
        room.step()
    monthly = room.monthly()
    fig = run_charts(monthly, monthly_labels(room.scenario), room.scenario.horizon)
    axes = fig.get_axes()
    assert [a.get_title(loc="left") for a in axes] == [
        "GDP index", "Effective sanction pressure", "Deliveries per route", "War",
        "Affinity of key pairs", "Negotiation tracks"]
    gdp = [line for line in axes[0].get_lines() if not line.get_label().startswith("_")]
    actors = room.model.compiled.actor_ids
    assert [line.get_label() for line in gdp] == [
        room.scenario.spec.actors[a].name for a in actors]
    np.testing.assert_allclose(gdp[0].get_ydata(), monthly[f"gdp_index_{actors[0]}"])
    assert axes[0].get_xlim() == (0, room.scenario.horizon)
    net = network_plot(room.network())
    assert net.get_axes()[0].get_title(loc="left") == "Relations at month 6"
    f = room.run_futures(runs=40)
    fan = fan_chart(f.bands, "war_intensity", title="War intensity: 40 futures",
                    run=monthly["war_intensity"])
    labels = [t.get_text() for t in fan.get_axes()[0].get_legend().get_texts()]
    assert labels == ["90% of runs", "50% of runs", "median", "this run"]
    line = fan.get_axes()[0].get_lines()[-1]
    np.testing.assert_array_equal(line.get_ydata(), monthly["war_intensity"].to_numpy())
    for figure in (fig, net, fan):
        buf = io.BytesIO()
        figure.savefig(buf, format="png")
        assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tracks_panel_marks_deals_in_force_and_being_implemented(baseline) -> None:
    from classroom.figures import run_charts

    # A run whose relief agreement is implemented, then in force (looked for, not assumed).
    for seed in range(40):
        monthly = sim.DiplomacyModel(baseline, seed=seed).run().monthly()
        if monthly["implementing_relief"].any() and monthly["active_relief"].any():
            break
    else:
        pytest.fail("no run of 40 has a relief deal implemented and in force")
    fig = run_charts(monthly, monthly_labels(baseline), baseline.horizon)
    tracks = fig.get_axes()[5]
    legend = [t.get_text() for t in tracks.get_legend().get_texts()]
    assert {"Relief in force", "Relief agreed, being implemented"} <= set(legend)
    hatched = [c for c in tracks.collections if c.get_hatch()]
    assert [c.get_label() for c in hatched] == ["Relief agreed, being implemented"]


def test_typed_scenario_text(room: Classroom) -> None:
    assert room.use_text(EDITOR_EXAMPLE)
    assert room.source_label == "uploaded: edited.toml"
    assert room.value("actors.NATO.cohesion") == 0.95
    assert room.teaching["title"] == "My what-if: a united NATO"
    bad = EDITOR_EXAMPLE.replace("0.95", "2.0")
    assert not room.use_text(bad)
    assert room.errors["edited"] == ("edited.toml: actors.NATO.cohesion: Input should be less "
                                     "than or equal to 1 (got 2.0)")
    assert room.value("actors.NATO.cohesion") == 0.95  # still the last valid scenario
    assert not room.use_text("[meta\n")
    assert "not valid TOML" in room.errors["edited"]
