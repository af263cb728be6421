"""The bundled world and the public record it cites.

- ``scenarios/data/record.csv`` (the observed record, August 2022 to December 2025): every row has
  an id, a month, a kind from the list, a source naming the publication and the model quantity it
  constrains; its ``figures_key`` cells are keys of ``shared/reference/figures.csv``; the rows the
  hindcast and the calibration need are there; it installs with the package.
- Every bundled scenario cites only keys of figures.csv or row ids of the record.
- The baseline's actors have the roles of issue 12: the EU sanctions and offers relief, NATO
  warns and arms Ukraine without sanctioning, China stands apart from the rest of BRICS, North
  Korea supplies Russia; their figures are those of the sources.
- Scheduled events fall in the month of the record row they cite, in the baseline and in the
  hindcast; the hindcast scripts no outcome the model should produce.
- The teaching what-ifs change what they say, and move their outcome the way their text says.
"""

from __future__ import annotations

import csv
import re
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from reference import FIGURES, figure_keys

import sim
from sim.scenario.loading import scenario_dir
from sim.scenario.schema import ScenarioSpec

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "scenarios" / "data" / "record.csv"
KINDS = {"event", "figure", "absence"}
COLUMNS = ["id", "date", "actors", "kind", "what", "value", "unit", "constrains", "source",
           "figures_key", "note"]
WHAT_IFS = ["china_stops_buying", "prk_supply_ends", "snapback_early", "irgc_overrules"]
# A snake_case word: the form of a figures.csv key and of a record row id.
KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _record() -> list[dict[str, str]]:
    with RECORD.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _by_id() -> dict[str, dict[str, str]]:
    return {row["id"]: row for row in _record()}


def _month_of(start: str, month: int) -> str:
    """Calendar month (YYYY-MM) of model month ``month`` when month 1 is ``start``."""
    year, mon = (int(x) for x in start.split("-"))
    index = year * 12 + (mon - 1) + (month - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------


def test_record_has_its_columns_and_unique_ids():
    with RECORD.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == COLUMNS
    ids = [row["id"] for row in _record()]
    assert len(ids) == len(set(ids)), "duplicate record ids"
    assert all(KEY.fullmatch(i) for i in ids), [i for i in ids if not KEY.fullmatch(i)]


def test_every_row_has_a_month_a_kind_a_source_and_a_constraint():
    rows = _record()
    assert len(rows) >= 40
    for row in rows:
        where = f"record.csv row {row['id']}"
        year, month = row["date"].split("-")
        date(int(year), int(month), 1)  # raises on a month that does not exist
        assert len(row["date"]) == 7, where
        assert row["kind"] in KINDS, where
        assert len(row["source"]) >= 10, f"{where}: no source"
        assert row["what"] and row["constrains"] and row["actors"], where
        if row["value"]:
            assert row["unit"], f"{where}: a value without its unit"


def test_figures_keys_exist_in_the_reference_figures():
    figures = figure_keys()
    cited = {row["figures_key"] for row in _record() if row["figures_key"]}
    assert len(cited) >= 15
    assert not sorted(cited - figures), f"not in figures.csv: {sorted(cited - figures)}"


def test_the_record_covers_what_the_calibration_needs():
    rows = _by_id()
    wanted = {
        "shahed_first_delivery": ("2022-08", "event"),
        "shahed_first_use": ("2022-09", "event"),
        "iran_missiles_delivered": ("2024-09", "event"),
        "prk_missiles_first": ("2023-12", "event"),
        "prk_troops": ("2024-10", "figure"),
        "eu_iran_drone_regime": ("2023-07", "event"),
        "pezeshkian_elected": ("2024-07", "event"),
        "us_administration_change": ("2025-01", "event"),
        "us_nspm2": ("2025-02", "event"),
        "us_teapot_refinery": ("2025-03", "event"),
        "us_iran_talks": ("2025-04", "event"),
        "strikes_on_iran": ("2025-06", "event"),
        "e3_snapback_notification": ("2025-08", "event"),
        "un_sanctions_reimposed": ("2025-09", "event"),
        "no_relief_deal": ("2025-12", "absence"),
        "no_ceasefire": ("2025-12", "absence"),
        "geran_capacity_2025": ("2025-09", "figure"),
    }
    for rid, (month, kind) in wanted.items():
        assert rid in rows, rid
        assert (rows[rid]["date"], rows[rid]["kind"]) == (month, kind), rid
    eu_rounds = sorted(r["date"] for r in rows.values() if r["id"].startswith("eu_russia_package"))
    assert len(eu_rounds) >= 10 and eu_rounds[0] == "2022-10" and eu_rounds[-1] == "2025-10"
    growth = {r["id"] for r in rows.values() if "growth rate of" in r["constrains"]}
    for actor in ("IRN", "RUS", "UKR"):
        assert any(actor in rows[g]["actors"] for g in growth), actor


def test_the_record_installs_with_the_package():
    data = resources.files("scenarios.data").joinpath("record.csv")
    assert data.is_file()
    assert data.read_text(encoding="utf-8") == RECORD.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Citations of the bundled scenarios
# --------------------------------------------------------------------------------------------


def _vocabulary() -> set[str]:
    """Snake-case words of a scenario file that are not citations: schema fields, ids, names."""
    words: set[str] = set()

    def walk(model):
        for name, info in model.model_fields.items():
            words.update({name, info.alias or name})
            for tp in (info.annotation, *getattr(info.annotation, "__args__", ())):
                for arg in (tp, *getattr(tp, "__args__", ())):
                    if isinstance(arg, type) and hasattr(arg, "model_fields"):
                        walk(arg)

    walk(ScenarioSpec)
    for name in sim.list_scenarios():
        spec = sim.load_scenario(name).spec
        for section in ("actors", "categories", "routes", "tracks"):
            words.update(getattr(spec, section))
    words.update(sim.list_scenarios())
    words.update(sim.list_policies())
    return words


@pytest.mark.parametrize("name", sim.list_scenarios())
def test_every_citation_is_a_figure_key_or_a_record_row(name):
    known = figure_keys() | set(_by_id()) | _vocabulary()
    text = (scenario_dir() / f"{name}.toml").read_text(encoding="utf-8")
    unknown = sorted(set(KEY.findall(text)) - known)
    assert not unknown, f"{name}.toml cites neither a figures.csv key nor a record row: {unknown}"


# --------------------------------------------------------------------------------------------
# The baseline's actors and their roles
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_spec():
    return sim.load_scenario("baseline").spec


def test_the_baseline_names_the_institutions_that_act(baseline_spec):
    assert set(baseline_spec.actors) == {"IRN", "RUS", "USA", "NATO", "EU", "CHN", "PRK", "BRICS",
                                    "UKR"}
    senders = {s.sender for s in baseline_spec.sanctions}
    assert senders == {"USA", "EU"}
    nato = baseline_spec.actors["NATO"]
    assert nato.escalation_step == 0 and nato.relief_offer == 0 and nato.secondary == 0
    assert nato.capacity.get("military_aid", 0) > 0 and nato.cohesion < 1
    assert "NATO" not in baseline_spec.tracks["relief"].counterparts
    assert baseline_spec.tracks["relief"].counterparts == ["USA", "EU"]
    eu = baseline_spec.actors["EU"]
    assert eu.escalation_step > 0 and eu.relief_offer > 0 and eu.snapback > 0 and eu.leverage > 0
    assert not any(t.source == "NATO" or t.to == "NATO" for t in baseline_spec.trade)


def test_china_and_north_korea_have_their_roles(baseline_spec):
    brics = baseline_spec.actors["BRICS"]
    assert not {"China", "Russia", "Iran"} & set(brics.members)
    assert baseline_spec.actors["CHN"].busting > 0
    shares = {(t.source, t.to): t.share for t in baseline_spec.trade}
    iran_to_china = shares[("IRN", "CHN")]
    assert iran_to_china > max(v for (a, b), v in shares.items() if a == "IRN" and b != "CHN")
    assert shares[("RUS", "CHN")] == max(v for (a, _), v in shares.items() if a == "RUS")
    prk_routes = [r for r in baseline_spec.routes.values() if r.supplier == "PRK"]
    assert [(r.recipient, r.category) for r in prk_routes] == [("RUS", "missiles")]
    assert baseline_spec.actors["PRK"].capacity["missiles"] > 0


def test_the_baseline_figures_are_those_of_the_sources(baseline_spec):
    figures_path = FIGURES
    if not figures_path.exists():
        pytest.skip(f"{FIGURES} not found")
    with figures_path.open(newline="", encoding="utf-8") as fh:
        fig = {row["key"]: row["value"] for row in csv.DictReader(fh)}
    a = baseline_spec.actors
    assert a["CHN"].gdp == float(fig["gdp_china"]) and a["CHN"].milex == float(fig["milex_china"])
    assert a["EU"].gdp == float(fig["gdp_eu27"])
    rest = sum(float(fig[f"gdp_{m}"]) for m in ("india", "brazil", "south_africa", "egypt",
                                                 "ethiopia", "uae"))
    assert a["BRICS"].gdp == pytest.approx(rest, abs=0.05)
    milex = sum(float(fig[f"milex_{m}"]) for m in ("india", "brazil", "south_africa"))
    assert a["BRICS"].milex == pytest.approx(milex, abs=0.05)
    rows = _by_id()
    assert a["PRK"].gdp == float(rows["prk_gdp_2022"]["value"])
    assert a["PRK"].growth == pytest.approx(float(rows["prk_growth_2023"]["value"]) / 100)
    assert a["CHN"].growth == pytest.approx(float(rows["china_growth_2023"]["value"]) / 100)
    share = float(rows["china_share_russia_trade"]["value"]) / 100
    trade = {(t.source, t.to): t.share for t in baseline_spec.trade}
    assert trade[("RUS", "CHN")] == pytest.approx(share, abs=0.005)


# --------------------------------------------------------------------------------------------
# Scheduled events in the month of the record row they cite
# --------------------------------------------------------------------------------------------

# (scenario, event key, month) -> the record row the event stands for.
EVENT_ROWS = {
    ("baseline", "actors.EU.warning", 3): "eu_warning_missiles",
    ("baseline", "actors.IRN.relief_priority", 7): "pezeshkian_elected",
    ("baseline", "actors.NATO.warning", 7): "nato_washington_summit",
    ("baseline", "actors.USA.escalation_step", 14): "us_nspm2",
    ("baseline", "actors.USA.escalation_cap", 14): "us_nspm2",
    ("baseline", "actors.USA.escalation_threshold", 14): "us_nspm2",
    ("baseline", "actors.USA.secondary", 15): "us_teapot_refinery",
    ("hindcast_2022", "routes.prk_russia_missiles.open", 14): "kim_putin_summit",
    ("hindcast_2022", "actors.RUS.demand.drones", 18): "shahed_launched_2024h1",
    ("hindcast_2022", "actors.EU.warning", 20): "eu_warning_missiles",
    ("hindcast_2022", "actors.IRN.relief_priority", 24): "pezeshkian_elected",
    ("hindcast_2022", "actors.NATO.warning", 24): "nato_washington_summit",
    ("hindcast_2022", "actors.USA.escalation_step", 31): "us_nspm2",
    ("hindcast_2022", "actors.USA.escalation_cap", 31): "us_nspm2",
    ("hindcast_2022", "actors.USA.escalation_threshold", 31): "us_nspm2",
    ("hindcast_2022", "actors.USA.secondary", 32): "us_teapot_refinery",
    ("hindcast_2022", "actors.EU.relief_offer", 37): "e3_snapback_notification",
    ("hindcast_2022", "actors.EU.escalation_cap", 37): "e3_snapback_notification",
    ("hindcast_2022", "packages.EU.RUS", 3): "eu_russia_package_08",
    ("hindcast_2022", "packages.EU.RUS", 5): "eu_russia_package_09",
    ("hindcast_2022", "packages.USA.RUS", 5): "russia_oil_price_cap",
    ("hindcast_2022", "packages.EU.RUS", 7): "eu_russia_package_10",
    ("hindcast_2022", "packages.EU.RUS", 11): "eu_russia_package_11",
    ("hindcast_2022", "packages.EU.RUS", 17): "eu_russia_package_12",
    ("hindcast_2022", "packages.EU.RUS", 19): "eu_russia_package_13",
    ("hindcast_2022", "packages.EU.RUS", 23): "eu_russia_package_14",
    ("hindcast_2022", "packages.EU.RUS", 29): "eu_russia_package_15",
    ("hindcast_2022", "packages.EU.RUS", 31): "eu_russia_package_16",
    ("hindcast_2022", "packages.EU.RUS", 34): "eu_russia_package_17",
    ("hindcast_2022", "packages.EU.RUS", 36): "eu_russia_package_18",
    ("hindcast_2022", "packages.EU.IRN", 38): "un_sanctions_reimposed",
    ("hindcast_2022", "packages.EU.RUS", 39): "eu_russia_package_19",
    ("hindcast_2022", "packages.USA.RUS", 39): "us_rosneft_lukoil",
    ("baseline", "packages.EU.RUS", 2): "eu_russia_package_13",
    ("baseline", "packages.EU.RUS", 6): "eu_russia_package_14",
    ("baseline", "packages.EU.RUS", 12): "eu_russia_package_15",
    ("baseline", "packages.EU.RUS", 14): "eu_russia_package_16",
    ("baseline", "packages.EU.RUS", 17): "eu_russia_package_17",
    ("baseline", "packages.EU.RUS", 19): "eu_russia_package_18",
    ("baseline", "packages.EU.RUS", 22): "eu_russia_package_19",
    ("baseline", "packages.USA.RUS", 22): "us_rosneft_lukoil",
}


@pytest.mark.parametrize("name", ["baseline", "hindcast_2022"])
def test_every_event_falls_in_the_month_of_its_record_row(name):
    spec = sim.load_scenario(name).spec
    rows = _by_id()
    events = {(name, e.key, e.month) for e in spec.events}
    listed = {k for k in EVENT_ROWS if k[0] == name}
    assert events == listed, f"events not matched to a record row: {sorted(events ^ listed)}"
    for (scenario, key, month), rid in EVENT_ROWS.items():
        if scenario != name:
            continue
        when = _month_of(spec.meta.start, month)
        if rows[rid]["kind"] == "event":
            assert when == rows[rid]["date"], (key, month, rid)
        else:  # a figure dated at the end of the period it covers: the event starts within it
            assert when <= rows[rid]["date"], (key, month, rid)
    text = (scenario_dir() / f"{name}.toml").read_text(encoding="utf-8")
    assert all(rid in text for (s, _, _), rid in EVENT_ROWS.items() if s == name)


def test_the_hindcast_runs_from_the_first_deliveries_to_the_end_of_2025():
    spec = sim.load_scenario("hindcast_2022").spec
    rows = _by_id()
    assert spec.meta.start == rows["shahed_first_delivery"]["date"]
    assert _month_of(spec.meta.start, spec.meta.horizon) == rows["no_relief_deal"]["date"]
    assert spec.actors["IRN"].sanctioned_months == 51  # 2018-05 to 2022-08
    assert spec.actors["RUS"].sanctioned_months == 6   # 2022-02 to 2022-08
    assert spec.routes["prk_russia_missiles"].open == 0.0


def test_the_hindcast_scripts_no_outcome_the_model_should_produce():
    spec = sim.load_scenario("hindcast_2022").spec
    for e in spec.events:
        # deals, trust and ceasefires are the model's; so are the Iranian routes' shipments
        assert not e.key.startswith("tracks."), e.key
        assert not e.key.startswith("theatre."), e.key
        assert not e.key.startswith("routes.iran_russia"), e.key
    assert spec.routes["iran_russia_missiles"].open == 1.0


# --------------------------------------------------------------------------------------------
# Teaching what-ifs
# --------------------------------------------------------------------------------------------


def test_the_what_ifs_are_bundled_with_their_teaching_text():
    assert set(WHAT_IFS) | {"hindcast_2022"} <= set(sim.list_scenarios())
    for name in WHAT_IFS:
        spec = sim.load_scenario(name).spec
        raw = tomllib.loads((scenario_dir() / f"{name}.toml").read_text(encoding="utf-8"))
        assert raw["extends"] == "baseline", name
        assert spec.teaching.description and spec.teaching.notice and spec.teaching.try_, name


def test_the_what_ifs_change_what_they_say(baseline_spec):
    china = sim.load_scenario("china_stops_buying").spec
    assert {(t.source, t.to): t.share for t in china.trade}[("IRN", "CHN")] == 0.0
    assert sim.load_scenario("prk_supply_ends").spec.routes["prk_russia_missiles"].open == 0.0
    early = sim.load_scenario("snapback_early").spec
    assert {(e.key, e.value) for e in early.events if e.month == 9} == {
        ("actors.EU.relief_offer", 0.0), ("actors.EU.escalation_cap", 0.95)}
    rows = _by_id()
    assert _month_of(early.meta.start, 9) == rows["iran_missiles_delivered"]["date"]
    assert _month_of(early.meta.start, 9) < rows["e3_snapback_notification"]["date"]
    irgc = sim.load_scenario("irgc_overrules").spec
    assert irgc.actors["IRN"].control < baseline_spec.actors["IRN"].control


@pytest.mark.slow
def test_the_what_ifs_move_their_outcomes_as_their_text_says(numba_kernel):
    runs, seed = 600, 11

    def table(name):
        return sim.run_ensemble(name, runs=runs, seed=seed, progress=False,
                                bands=False).summary.mean(numeric_only=True)

    base = table("baseline")
    early, irgc = table("snapback_early"), table("irgc_overrules")
    china, prk = table("china_stops_buying"), table("prk_supply_ends")
    # the EU's offer gone from month 9: far fewer relief deals
    assert early["relief_reached"] < base["relief_reached"] - 0.1
    # a government that does not control the IRGC: more halts defied, deals struck and then
    # broken by shipments it did not order (its notice), fewer deals in force
    assert irgc["defied_IRN"] > 1.5 * base["defied_IRN"]
    assert irgc["relief_breaches"] > base["relief_breaches"] + 0.05
    assert irgc["relief_broken"] > base["relief_broken"]
    assert irgc["relief_reached"] < base["relief_reached"] - 0.05
    # no Chinese buyer: less of the pressure on Iran leaks away
    assert china["peak_pressure_IRN"] > base["peak_pressure_IRN"]
    # no North Korean missiles: fewer detected missile transfers and EU threats
    assert prk["delivered_prk_russia_missiles"] == 0
    assert prk["detected_missiles"] < base["detected_missiles"]
    assert prk["threats_EU"] < base["threats_EU"]
