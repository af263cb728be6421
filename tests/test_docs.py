"""docs/ODD.md stays true to the code.

- The parameter tables in ODD.md are exactly what ``docs/make_parameter_table.py`` produces from
  the schema and the baseline now, and they cover every key of the scenario schema.
- Every actor, category, route and track of the baseline is explained in the prose.
- Every reference key cited in the baseline (in its ``[sources]`` table and its comments) is a row
  of ``shared/reference/figures.csv`` (skipped, with the reason, when that folder is absent).
- The equations of section 7 are restated here from the text (``odd_*``, never imported from
  sim/core/rules.py) and checked against the compiled rules they describe: the supply decision
  of the two levels with its reasons (``decide_supply``, draw by draw), the threat stage
  (``decide_sanctions``: issue, impose when the cost is within the audience cost and the members
  act together, back down, complied with, exhausted, held under a relief agreement, easing,
  secondary sanctions, credibility from the month's counts), relief in sequence (``take_deals``
  and ``advance_deals``: breach, clean months, Implementation Day, breaking and snap-back within
  the cap), the pressure with reach, coalition and leakage (``update_pressure``), the deal
  equations (``decide_track``), the economy and adaptation from the episode's age, the threats
  of month 0, and the worked numbers in the text.
- The threat stage and relief in sequence are checked phase by phase, month by month, over
  seeded runs of the baseline under every bundled policy and of the other scenarios.
- ``OddMonth`` is the whole month of sections 3 and 7 written from the text in plain Python; it
  must follow the engine month by month to 1e-9 over whole runs that take every branch (threats
  issued, imposed, backed down from and complied with; relief agreed, breached in implementation,
  in force, eased toward, broken and snapped back; a halt defied; secondary sanctions;
  ceasefire). A change to the rules without a change to ODD.md fails here, naming the array.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from builders import ScenarioBuilder
from hypothesis import given
from hypothesis import strategies as st
from reference import FIGURES, figure_keys

import sim
import sim.core.outcomes
import sim.engines.model
from sim.core import layout as L
from sim.core.rng import SHIP, uniform
from sim.core.rules import DrawKey, clear_decisions, decide_supply
from sim.engines.state import RunState
from sim.scenario.schema import ScenarioSpec, parameter_table

REPO = Path(__file__).resolve().parents[1]
ODD = REPO / "docs" / "ODD.md"
BASELINE = REPO / "scenarios" / "baseline.toml"


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_parameter_table",
                                                  REPO / "docs" / "make_parameter_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def odd_text() -> str:
    return ODD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def prose(odd_text: str) -> str:
    """ODD.md without the generated tables (what a person wrote)."""
    start = odd_text.index(gen.BEGIN)
    end = odd_text.index(gen.END)
    return odd_text[:start] + odd_text[end:]


@pytest.fixture(scope="module")
def table_rows(odd_text: str) -> dict[str, list[str]]:
    """Generated rows of ODD.md: key -> [meaning, unit, default, bounds, baseline, source]."""
    rows = {}
    for line in gen.current_block(odd_text).splitlines():
        m = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if m:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", m.group(2))]
            rows[m.group(1)] = cells
    return rows


# ---------------------------------------------------------------------------------------------
# The parameter table
# ---------------------------------------------------------------------------------------------


def test_parameter_table_is_current(odd_text):
    current = gen.current_block(odd_text)
    fresh = gen.render()
    assert current == fresh, (
        "docs/ODD.md's parameter table is stale: run "
        "`.venv/bin/python docs/make_parameter_table.py --write`")


def test_generator_check_mode_agrees(odd_text, capsys):
    assert gen.main(["--check"]) == 0


def test_splice_replaces_only_the_block():
    doc = f"intro\n{gen.BEGIN}\nold rows\n{gen.END}\noutro\n"
    out = gen.splice(doc, f"{gen.BEGIN}\nnew\n{gen.END}\n")
    assert out == f"intro\n{gen.BEGIN}\nnew\n{gen.END}\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        gen.splice("no markers here", "x")


def _schema_field_keys() -> set[str]:
    """Every key of the schema as the tables name it, walking ScenarioSpec's models."""
    keys = set()
    for name, info in ScenarioSpec.model_fields.items():
        kind, inner = gen._container(info.annotation)
        if kind == "model":
            prefix = name
        elif kind == "dict" and gen._is_model(inner):
            prefix = f"{name}.<id>"
        elif kind == "list" and gen._is_model(inner):
            prefix = f"{name}[]"
        else:
            keys.add(name)
            continue
        for fname, finfo in inner.model_fields.items():
            keys.add(f"{prefix}.{finfo.alias or fname}")
    return keys


def test_every_schema_key_is_in_the_table(table_rows):
    documented = set(table_rows)
    spec = sim.load_scenario("baseline").spec
    missing = []
    for key in _schema_field_keys():
        if key in ("actors.<id>.capacity", "actors.<id>.demand", "actors.<id>.built"):
            # per-category tables: one row per category of the baseline
            wanted = {f"{key}.{c}" for c in spec.categories}
            missing += sorted(wanted - documented)
        elif key not in documented:
            missing.append(key)
    assert not missing, f"keys of the schema missing from ODD.md's tables: {missing}"


def test_every_numeric_parameter_has_meaning_unit_default_bounds_and_source(table_rows):
    listed = parameter_table()
    assert len(listed) >= 70  # the numeric parameters of the schema (75 when written)
    for r in listed:
        key = f"{r['section']}.{r['name']}"
        assert key in table_rows, key
        meaning, unit, default, bounds, _baseline, source = table_rows[key]
        assert meaning.startswith(r["meaning"].replace("|", "\\|")), key
        assert unit == r["unit"], key
        assert default == r["default"], key
        if r["bounds"] != "[None, None]":
            assert bounds, key
        assert source, f"{key}: no source and not marked assumption"


def test_every_row_has_a_meaning(table_rows):
    empty = [k for k, cells in table_rows.items() if not cells[0]]
    assert not empty, f"rows without a meaning: {empty}"


def test_baseline_column_shows_values_that_differ_and_event_changes(table_rows):
    # war_cost is 0.30 in the baseline against a default of 0.10; Iran's relief priority is
    # raised by the month-7 event; a value equal to its default is left blank.
    assert table_rows["world.war_cost"][4] == "0.3"
    assert "IRN 0.3 (0.6 from month 7)" in table_rows["actors.<id>.relief_priority"][4]
    assert table_rows["world.leak_gain"][4] == ""
    assert table_rows["tracks.<id>.implementation_months"][4] == "relief 6"


def test_sources_come_from_the_baseline(table_rows):
    spec = sim.load_scenario("baseline").spec
    assert table_rows["world.world_gdp"][5] == spec.sources["world.world_gdp"]
    # a figure sourced only by its inline comment
    assert "IRN: gdp_iran" in table_rows["actors.<id>.gdp"][5]
    # no source anywhere: an assumption
    assert table_rows["world.leak_gain"][5] == "assumption"
    # some actors sourced, others not: both said
    growth = table_rows["actors.<id>.growth"][5]
    assert "RUS: russia_gdp_growth" in growth and "USA" in growth and "assumption" in growth


# ---------------------------------------------------------------------------------------------
# Ids of the baseline explained in the prose
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["actors", "categories", "routes", "tracks"])
def test_every_baseline_id_is_explained(prose, section):
    spec = sim.load_scenario("baseline").spec
    ids = list(getattr(spec, section))
    assert ids
    missing = [i for i in ids if f"`{i}`" not in prose]
    assert not missing, f"{section} of the baseline not explained in docs/ODD.md: {missing}"


def test_every_submodel_named_in_the_brief_has_a_section(prose):
    for name in ["Supply decision", "Sanctions", "Secondary sanctions", "Deliveries",
                 "Sanction pressure", "Economy", "Affinity", "Trade diversion", "The war",
                 "Negotiation tracks", "Trust, stalemate, breaking and snap-back",
                 "Denial and domestic pressure", "Scheduled events", "Random numbers"]:
        assert re.search(rf"^### 7\.\d+ {re.escape(name)}", prose, re.M), name
    for purpose in ["SHIP", "DETECT", "COHESION", "DENY", "DEAL", "SHOCK", "WAR", "SECONDARY",
                    "COMPLY"]:
        code = getattr(sim.core.rng, purpose)
        assert re.search(rf"^\| `{purpose}` \| {code} \|", prose, re.M), purpose


# ---------------------------------------------------------------------------------------------
# Reference keys
# ---------------------------------------------------------------------------------------------


def _vocabulary(spec) -> set[str]:
    """Words of the baseline file that are not reference keys: schema keys, ids, policy names."""
    words: set[str] = set()

    def walk(model):
        for fname, finfo in model.model_fields.items():
            words.update({fname, finfo.alias or fname})
            for tp in _types(finfo.annotation):
                if gen._is_model(tp):
                    walk(tp)

    walk(ScenarioSpec)
    for section in ("actors", "categories", "routes", "tracks"):
        words.update(getattr(spec, section))
    words.update(sim.list_scenarios())
    words.update(sim.list_policies())
    return words


def _types(annotation):
    import typing

    yield annotation
    for arg in typing.get_args(annotation):
        yield from _types(arg)


def _record_ids() -> set[str]:
    """Row ids of the public record (scenarios/data/record.csv), which the scenarios cite too."""
    with (REPO / "scenarios" / "data" / "record.csv").open(newline="", encoding="utf-8") as fh:
        return {row["id"] for row in csv.DictReader(fh)}


def test_every_reference_key_cited_in_the_baseline_exists():
    figures = figure_keys() | _record_ids()
    spec = sim.load_scenario("baseline").spec
    text = BASELINE.read_text(encoding="utf-8")
    vocabulary = _vocabulary(spec)
    cited = {w for w in gen.REFERENCE_KEY.findall(text) if w not in vocabulary}
    assert len(cited) >= 20, f"expected the baseline to cite its figures, found {sorted(cited)}"
    unknown = sorted(cited - figures)
    assert not unknown, f"baseline.toml cites keys not in {FIGURES} nor record.csv: {unknown}"


def test_every_reference_key_cited_in_odd_exists(prose):
    figures = figure_keys()
    spec = sim.load_scenario("baseline").spec
    vocabulary = _vocabulary(spec)
    code_names = set()
    for module in (sim.core.rules, sim.core.rng, sim.core.outcomes, sim.scenario.schema,
                   sim.engines.model, sim.scenario):
        code_names.update(dir(module))
    cited = set(re.findall(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`", prose))
    cs = sim.load_scenario("baseline").compile()
    outcome_names = set(sim.core.outcomes.outcome_layout(cs)[0])
    outcome_names |= set(sim.core.outcomes.monthly_names(cs, sim.core.outcomes.sanction_pairs(cs)))
    cited -= vocabulary | code_names | outcome_names | {"sanctions_0", "s_pre"}
    # symbols of the notation: a name with index subscripts, such as prio_j, s_ij, built_qc
    cited = {w for w in cited if not re.search(r"_[ijkqscptrgb]{1,2}$", w)}
    assert len(cited) >= 15
    unknown = sorted(cited - figures)
    assert not unknown, f"docs/ODD.md cites keys not in {FIGURES}: {unknown}"


# ---------------------------------------------------------------------------------------------
# The equations of section 7 against the compiled rules
# ---------------------------------------------------------------------------------------------


def odd_chance(prob: float, draw) -> bool:
    """A yes/no event of ODD 7.14: ``u < p``, the draw skipped when the answer is known."""
    if prob <= 0.0:
        return False
    if prob >= 1.0:
        return True
    return draw() < prob


def odd_committed(st_: RunState, s: int) -> float:
    """ODD 7.1: the monitoring of ``s``'s relief agreement being implemented or deal in force
    (the largest), -1 if ``s`` is not committed."""
    TP, TS = st_.TP, st_.TS
    found = [TP[t, L.T_MONITORING] for t in range(TP.shape[0])
             if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == s
             and (TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5)]
    return max(found) if found else -1.0


def odd_covert(st_: RunState, r: int) -> bool:
    return st_.CP[int(st_.RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0


def odd_detection(st_: RunState, r: int) -> float:
    """ODD 7.1: the detection chance d_r, raised by the monitors of a committed supplier."""
    d = st_.CP[int(st_.RP[r, L.R_CATEGORY]), L.C_DETECT]
    m = odd_committed(st_, int(st_.RP[r, L.R_SUPPLIER]))
    if odd_covert(st_, r) and m > 0:
        d = 1 - (1 - d) * (1 - m)
    return d


def odd_after_package(now: float, package: float, cap: float) -> float:
    """ODD 7.2: a package cuts a share of what is left, never above the cap."""
    return min(cap, 1 - (1 - now) * (1 - package))


def odd_package(st_: RunState, i: int, c: int) -> float:
    return min(1.0, st_.AP[i, L.A_ESC_STEP] * st_.CP[c, L.C_ESC_W])


def odd_reach(AP, TRADE, i: int, j: int) -> float:
    """ODD 7.5: leverage plus what is left of j's trade with i, at most 1."""
    return min(1.0, AP[i, L.A_LEVERAGE] + AP[j, L.A_OPEN] * TRADE[j, i])


def odd_raw(AP, SANC, TRADE, j: int) -> float:
    """ODD 7.5: R_j = 1 - prod_{i != j} (1 - s_ij * reach_ij)."""
    return 1 - float(np.prod([1 - SANC[i, j] * odd_reach(AP, TRADE, i, j)
                              for i in range(AP.shape[0]) if i != j]))


def odd_credibility(st_: RunState, i: int) -> float:
    """ODD 7.2: the credibility of i's threats, with the backing of the blocs that warned."""
    doubt = 1 - st_.SA[i, L.S_CRED]
    for k in np.flatnonzero(st_.BK[:, i] > 0):
        if st_.SA[k, L.S_WARNED] >= 0.5:
            doubt *= 1 - st_.AP[k, L.A_COHESION] * st_.SA[k, L.S_CRED]
    return 1 - doubt


def odd_threat_cost(st_: RunState, r: int) -> float:
    """ODD 7.1: expected growth lost (% of GDP) over the years a package hurts, if the shipment
    on ``r`` were seen."""
    AP, SA = st_.AP, st_.SA
    s, c = int(st_.RP[r, L.R_SUPPLIER]), int(st_.RP[r, L.R_CATEGORY])
    total = 0.0
    for i in range(AP.shape[0]):
        cap = AP[i, L.A_ESC_CAP]
        if st_.THR[i, r] <= 0 or st_.SANC[i, s] >= cap:
            continue
        sanc = st_.SANC.copy()
        sanc[i, s] = odd_after_package(st_.SANC[i, s], odd_package(st_, i, c), cap)
        gain = (odd_raw(AP, sanc, st_.TRADE, s) - SA[s, L.S_RAW]) * (1 - SA[s, L.S_LEAK])
        total += odd_credibility(st_, i) * max(0.0, gain)
    return (100 * st_.W[L.W_DAMAGE] * st_.W[L.W_SANC_YEARS] * (1 - SA[s, L.S_ADAPT])
            * total)


class SupplyTerms(NamedTuple):
    """The supply decision on a route by ODD 7.1, before the government's halt."""

    p: float
    """``P = logistic(U)``, 0 for a route that ships nothing."""
    units: float
    """The units it would ship."""
    committed: bool
    """Whether the route is covert and its supplier committed (a halt is then ordered)."""
    reasons: dict[int, float]
    """The terms of ``U`` kept as the decision's reasons (``L.DW_*`` columns)."""


def odd_supply_terms(st_: RunState, r: int) -> SupplyTerms:
    """ODD 7.1 without the halt: P = logistic(U), the units, whether the supplier is committed
    (its government then orders a halt of its covert routes) and the terms of U."""
    W, AP, CP, RP, TP, SA, AFF, TS, G = (st_.W, st_.AP, st_.CP, st_.RP, st_.TP, st_.SA,
                                         st_.AFF, st_.TS, st_.G)
    nothing = SupplyTerms(0.0, 0.0, False, {})
    if RP[r, L.R_OPEN] < 0.5:
        return nothing
    s, q, c = (int(RP[r, L.R_SUPPLIER]), int(RP[r, L.R_RECIPIENT]), int(RP[r, L.R_CATEGORY]))
    b = int(CP[c, L.C_BUILDS])
    g = b if b >= 0 else c
    if st_.DEM[q, c] <= 0 or st_.DEM[q, g] <= 0:
        return nothing
    unmet = max(0.0, st_.DEM[q, g] - st_.BUILT[q, g]) / st_.DEM[q, g]
    at_war = q in (int(W[L.W_ATTACKER]), int(W[L.W_DEFENDER]))
    need = unmet * (G[L.G_INTENSITY] if at_war else 1.0)
    units = (st_.DEM[q, c] if unmet > 0 else 0.0) if b >= 0 else st_.DEM[q, c] * need
    units = math.floor(min(units, st_.CAP[s, c]) + 0.5)
    if units <= 0:
        return nothing
    revenue_pct = 100 * units * CP[c, L.C_PRICE] / (1000 * AP[s, L.A_GDP] * SA[s, L.S_GDP])
    reasons = {L.DW_NEED: W[L.W_W_NEED] * need, L.DW_AFFINITY: W[L.W_W_AFF] * AFF[s, q],
               L.DW_PRICE: W[L.W_W_PRICE] * revenue_pct, L.DW_RISK: 0.0, L.DW_RELIEF: 0.0}
    committed = False
    if odd_covert(st_, r):
        d = odd_detection(st_, r)
        relief = 0.0
        for t in range(TP.shape[0]):
            if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == s:
                on = TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5
                relief += SA[s, L.S_PRIO] if on else d * SA[s, L.S_PRIO] * TS[t, L.TS_TRUST]
        reasons[L.DW_RISK] = -W[L.W_W_RISK] * d * odd_threat_cost(st_, r)
        reasons[L.DW_RELIEF] = -AP[s, L.A_CONTROL] * W[L.W_W_RELIEF] * relief
        committed = odd_committed(st_, s) >= 0
    u = W[L.W_SUPPLY_BASE] + RP[r, L.R_PROPENSITY] + sum(reasons.values())
    reasons[L.DW_UTILITY] = u
    return SupplyTerms(1.0 / (1.0 + math.exp(-u)), float(units), committed, reasons)


def odd_defies(st_: RunState, s: int, key, run: int, month: int) -> bool:
    """ODD 7.1: the security apparatus defies the halt of an agreement its government made.

    Decided once per agreement: the draw is keyed by the month the agreement was made and the
    track, not by ``month``, so the stance holds through implementation and the deal in force.
    """
    from sim.core.rng import COMPLY

    TP, TS = st_.TP, st_.TS
    return any(
        odd_chance(1 - st_.AP[s, L.A_CONTROL],
                   lambda t=t: uniform(key, run, TS[t, L.TS_SINCE], st_.AP[s, L.A_ID],
                                       TP[t, L.T_ID], COMPLY))
        for t in range(TP.shape[0])
        if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == s
        and (TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5))


def odd_supply(st_: RunState, r: int, key, run: int, month: int) -> tuple[float, float]:
    """P(ship) and units on route r by ODD section 7.1, the government's halt included."""
    from sim.core.rng import COHESION

    p, units, committed, _ = odd_supply_terms(st_, r)
    sup = int(st_.RP[r, L.R_SUPPLIER])
    if committed and not odd_defies(st_, sup, key, run, month):
        p = 0.0
    cohesion = st_.AP[sup, L.A_COHESION]
    if units > 0 and cohesion < 1 and not odd_chance(cohesion, lambda: uniform(
            key, run, month, st_.AP[sup, L.A_ID], st_.RP[r, L.R_ID], COHESION)):
        p = 0.0  # a bloc whose members do not act together this month ships nothing
    return p, units


@pytest.mark.parametrize("months", [0, 14])
def test_supply_equation_matches_decide_supply(months):
    """Over many seeds, decide_supply ships exactly when the documented probability says so."""
    model = sim.DiplomacyModel("baseline", seed=11).run(months)
    s = model.state
    month = months + 1
    seeds = 150
    branches = set()
    for r in range(s.RP.shape[0]):
        supplier = int(s.RP[r, L.R_SUPPLIER])
        ships = 0
        p_free, units_doc, committed, reasons = odd_supply_terms(s, r)
        for seed in range(seeds):
            key = np.uint64(seed)
            clear_decisions(s.state, s.decisions)
            decide_supply(r, DrawKey(key, 0, month), s.params, s.state, s.decisions)
            p_doc, _ = odd_supply(s, r, key, 0, month)
            u = uniform(key, 0, month, s.AP[supplier, L.A_ID], s.RP[r, L.R_ID], SHIP)
            expected = units_doc if u < p_doc else 0.0
            assert s.DR[r] == expected, (model.compiled.route_ids[r], seed, u, p_doc)
            if units_doc > 0:  # the decision's reasons (7.1), as the story tells them
                for col, value in reasons.items():
                    assert s.DW[r, col] == pytest.approx(value, rel=1e-12, abs=1e-15), (r, col)
                assert s.DW[r, L.DW_PROBABILITY] == pytest.approx(p_doc, rel=1e-12, abs=1e-15)
                assert s.DW[r, L.DW_HALT] == float(committed), r
            ships += expected > 0
            branches.add(expected > 0)
        p_free *= s.AP[supplier, L.A_COHESION]  # a bloc ships in months its members agree
        if units_doc > 0 and not committed:
            # The route ships as often as the documented probability says (4 standard errors).
            se = math.sqrt(p_free * (1 - p_free) / seeds)
            assert abs(ships / seeds - p_free) <= 4 * se + 1 / seeds, (r, ships, p_free)
    assert branches == {True, False}  # both shipping and holding back were checked


def test_supply_halt_follows_control():
    """A committed supplier's covert routes ship only when its apparatus defies the halt."""
    model = sim.DiplomacyModel("baseline", seed=2).run(3)
    s = model.state
    relief = model.compiled.track_ids.index("relief")
    s.TS[relief, L.TS_IMPLEMENTING] = 1.0
    drones = model.compiled.route_ids.index("iran_russia_drones")
    irn = int(s.RP[drones, L.R_SUPPLIER])
    defied = shipped = 0
    for seed in range(200):
        key = np.uint64(seed)
        clear_decisions(s.state, s.decisions)
        decide_supply(drones, DrawKey(key, 0, 4), s.params, s.state, s.decisions)
        p_doc, units = odd_supply(s, drones, key, 0, 4)
        u = uniform(key, 0, 4, s.AP[irn, L.A_ID], s.RP[drones, L.R_ID], SHIP)
        assert s.DR[drones] == (units if u < p_doc else 0.0), seed
        assert s.DW[drones, L.DW_HALT] == 1.0
        assert s.DW[drones, L.DW_DEFIED] == float(odd_defies(s, irn, key, 0, 4)), seed
        assert s.DW[drones, L.DW_PROBABILITY] == pytest.approx(p_doc, rel=1e-12), seed
        defied += odd_defies(s, irn, key, 0, 4)
        shipped += s.DR[drones] > 0
    control = s.AP[irn, L.A_CONTROL]
    assert abs(defied / 200 - (1 - control)) < 4 * math.sqrt(control * (1 - control) / 200)
    assert 0 < shipped <= defied


def test_worked_supply_example_in_the_text(prose):
    """Every figure of ODD 7.1's example (month 1 of the baseline, drones) as the oracle has it."""
    model = sim.DiplomacyModel("baseline", seed=0)
    s, ids = model.state, model.compiled.actor_ids
    drones = model.compiled.route_ids.index("iran_russia_drones")
    relief = model.compiled.track_ids.index("relief")
    irn, usa, rus = ids.index("IRN"), ids.index("USA"), ids.index("RUS")
    c = int(s.RP[drones, L.R_CATEGORY])
    W = s.W
    p, units, committed, reasons = odd_supply_terms(s, drones)
    unmet = (s.DEM[rus, c] - s.BUILT[rus, c]) / s.DEM[rus, c]
    assert 0 < unmet < 1 and not committed  # Russia builds part of its drones at home
    need = reasons[L.DW_NEED] / W[L.W_W_NEED]
    assert need == pytest.approx(unmet * s.G[L.G_INTENSITY], rel=1e-12)
    assert units == min(s.DEM[rus, c] * need, s.CAP[irn, c])
    revenue = reasons[L.DW_PRICE] / W[L.W_W_PRICE]
    package = odd_package(s, usa, c)
    level = odd_after_package(s.SANC[usa, irn], package, s.AP[usa, L.A_ESC_CAP])
    sanc = s.SANC.copy()
    sanc[usa, irn] = level
    gain = odd_raw(s.AP, sanc, s.TRADE, irn) - s.SA[irn, L.S_RAW]
    left = gain * (1 - s.SA[irn, L.S_LEAK])
    cost = odd_threat_cost(s, drones)
    det = odd_detection(s, drones)
    at_risk = det * s.SA[irn, L.S_PRIO] * s.TS[relief, L.TS_TRUST]
    assert np.count_nonzero(s.THR[:, drones]) == 1 and s.THR[usa, drones] > 0  # only the USA
    assert cost == pytest.approx(100 * W[L.W_DAMAGE] * W[L.W_SANC_YEARS]
                                 * (1 - s.SA[irn, L.S_ADAPT]) * s.SA[usa, L.S_CRED] * left,
                                 rel=1e-12)
    assert W[L.W_SANC_YEARS] == 7  # the text says "seven years"
    text = " ".join(prose.split())
    for figure in (
            f"Russia builds {s.BUILT[rus, c]:g} of the {s.DEM[rus, c]:g} drones a month it needs",
            f"need = ({s.DEM[rus, c]:g} - {s.BUILT[rus, c]:g}) / {s.DEM[rus, c]:g} x "
            f"{s.G[L.G_INTENSITY]:g} = {need:g}, units = min({s.DEM[rus, c]:g} x {need:g}, "
            f"{s.CAP[irn, c]:g}) = {units:g}",
            f"revenue {revenue:.3f}% of Iran's GDP",
            f"its drone package ({package:g}) would raise its sanctions from "
            f"{s.SANC[usa, irn]:.2f} to {level:.2f} and the raw pressure on Iran by {gain:.3f}, "
            f"of which {left:.3f} is left after leakage",
            f"so the threat cost is 100 x {W[L.W_DAMAGE]:.2f} x {W[L.W_SANC_YEARS]:g} x (1 - "
            f"{s.SA[irn, L.S_ADAPT]:.3f}) x {s.SA[usa, L.S_CRED]:g} x {left:.3f} = {cost:.3f}% "
            "of GDP over the seven years a package hurts",
            f"Relief at risk {det:g} x {s.SA[irn, L.S_PRIO]:g} x {s.TS[relief, L.TS_TRUST]:g} = "
            f"{at_risk:.3f}",
            f"So U = {W[L.W_W_AFF]:g} x {s.AFF[irn, rus]:g} + {W[L.W_W_NEED]:g} x {need:g} + "
            f"{revenue:.3f} - {W[L.W_W_RISK]:g} x {det:g} x {cost:.3f} - "
            f"{s.AP[irn, L.A_CONTROL]:g} x {W[L.W_W_RELIEF]:g} x {at_risk:.3f} = "
            f"{reasons[L.DW_UTILITY]:.2f} and Iran ships with probability {p:.2f}"):
        assert figure in text, figure
    # the base utility and the route's propensity are 0 in the baseline: the example omits them
    assert W[L.W_SUPPLY_BASE] == 0 and s.RP[drones, L.R_PROPENSITY] == 0


def test_worked_threat_stage_numbers_in_the_text(prose):
    """The packages and the costs of imposing ODD 7.2 quotes for the baseline."""
    model = sim.DiplomacyModel("baseline", seed=0)
    s, ids, routes = model.state, model.compiled.actor_ids, model.compiled.route_ids
    irn, usa, eu = ids.index("IRN"), ids.index("USA"), ids.index("EU")
    text = " ".join(prose.split())

    def level(i, route):
        c = int(s.RP[routes.index(route), L.R_CATEGORY])
        return (odd_package(s, i, c),
                odd_after_package(s.SANC[i, irn], odd_package(s, i, c), s.AP[i, L.A_ESC_CAP]))

    (drone, to_drone), (missile, to_missile) = (level(usa, "iran_russia_drones"),
                                                level(usa, "iran_russia_missiles"))
    assert (f"the USA's drone package ({drone:g}) raises its sanctions on Iran from "
            f"{s.SANC[usa, irn]:.2f} to {to_drone:.2f}, its missile package ({missile:g}) to "
            f"{to_missile:g}.") in text
    costs = {i: max(odd_sender_cost(s, i, irn, level(i, r)[1] - s.SANC[i, irn])
                    for r in routes if int(s.RP[routes.index(r), L.R_SUPPLIER]) == irn)
             for i in (usa, eu)}
    assert costs[usa] == 0 and s.TRADE[irn, usa] == 0
    assert 0 < costs[eu] < 0.01
    assert ("the USA's cost of imposing is 0 (Iran has no trade left with it) and the EU's "
            "under 0.01% of its GDP, far below their audience costs "
            f"({s.AP[usa, L.A_AUDIENCE]:g} and {s.AP[eu, L.A_AUDIENCE]:g}% of GDP)") in text
    assert s.AP[usa, L.A_COHESION] == 1 and (
        f"the EU only when its members fail to act together (cohesion {s.AP[eu, L.A_COHESION]:g})"
        in text)


def test_worked_pressure_numbers_in_the_text(prose):
    cs = sim.load_scenario("baseline").compile()
    s = RunState.new(cs)
    irn, rus = cs.actor_ids.index("IRN"), cs.actor_ids.index("RUS")
    text = " ".join(prose.split())
    assert (f"{s.SA[irn, L.S_PRESSURE]:.3f} on Iran (raw {s.SA[irn, L.S_RAW]:.3f}, of which "
            f"a leakage share of {s.SA[irn, L.S_LEAK]:.3f}") in text
    assert (f"{s.SA[rus, L.S_PRESSURE]:.3f} on Russia (raw {s.SA[rus, L.S_RAW]:.3f}, "
            f"leakage {s.SA[rus, L.S_LEAK]:.3f})") in text
    assert f"holds {100 * s.SA[irn, L.S_COALITION]:.1f}% of `gdp_world`" in text
    # adaptation from the episode's age (section 5)
    assert f"68 months, `A = {s.SA[irn, L.S_ADAPT]:.3f}`" in text
    assert f"23 months, `A = {s.SA[rus, L.S_ADAPT]:.3f}`" in text
    # the same starting pressure on Iran turned into growth lost (7.6), before and after adaptation
    damage = cs.W[L.W_DAMAGE] * s.SA[irn, L.S_PRESSURE] * 100
    assert f"({s.SA[irn, L.S_PRESSURE]:.3f}) into {damage:.1f} points of growth" in text
    assert f"adaptation it is {damage * (1 - s.SA[irn, L.S_ADAPT]):.1f} points" in text
    # damage fades with adaptation (7.6): half-life and what is left after seven years
    rate = cs.W[L.W_ADAPT]
    half = math.log(0.5) / math.log(1 - rate)
    assert (f"with {rate:g} a month, by half in about {half:.0f} months and to "
            f"{100 * (1 - rate) ** 84:.0f}% after seven years") in text


def odd_pressure(W, AP, SA, SANC, TRADE, AFF):
    """Raw pressure, the coalition's share, leakage and effective pressure by ODD 7.5."""
    n = AP.shape[0]
    y = AP[:, L.A_GDP] * SA[:, L.S_GDP]
    raw, coalition, leak = np.empty(n), np.empty(n), np.empty(n)
    for j in range(n):
        others = [i for i in range(n) if i != j]
        raw[j] = odd_raw(AP, SANC, TRADE, j)
        coalition[j] = min(1.0, sum(y[i] for i in others if SANC[i, j] > 1e-9) / W[L.W_WORLD_GDP])
        total = 0.0
        for k in others:
            if TRADE[j, k] <= 0 or AP[k, L.A_BUSTING] <= 0:
                continue
            hit = max((SANC[i, k] for i in range(n) if i != k), default=0.0)
            absorb = y[k] / (y[k] + y[j]) if y[k] + y[j] > 0 else 0.0
            total += (TRADE[j, k] * AP[k, L.A_BUSTING] * (1 + AFF[k, j]) / 2 * absorb
                      * (1 - hit) * (1 - SANC[k, j]))
        leak[j] = min(W[L.W_MAX_LEAK], (1 - coalition[j]) * W[L.W_LEAK_GAIN] * total)
    return raw, coalition, leak, raw * (1 - leak)


unit = st.floats(0.0, 1.0, allow_nan=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for scenarios built by the tests of this module."""
    return tmp_path_factory.mktemp("built")


@given(data=st.data(), n=st.integers(2, 5))
def test_pressure_equation_matches_the_engine(data, n, built):
    # Any actors' GDP, openness, leverage and busting, any affinities, sanctions between them and
    # trade shares (adding up to at most 1 per actor), any world GDP and leakage parameters: the
    # month-0 pressure the engine computes is the one of ODD section 7.5.
    ids = [f"A{k}" for k in range(n)]
    builder = ScenarioBuilder("Pressure", world_gdp=data.draw(st.floats(1.0, 1e5)),
                              leak_gain=data.draw(st.floats(0.0, 10.0)), max_leak=data.draw(unit))
    for aid in ids:
        builder.actor(aid, leverage=data.draw(unit), busting=data.draw(unit),
                      openness=data.draw(unit), gdp=data.draw(st.floats(0.0, 1e4)))
    for a in ids:
        shares = {b: data.draw(unit) for b in ids if b != a}
        total = max(1.0, sum(shares.values()))
        for b, share in shares.items():
            builder.sanction(a, b, data.draw(unit)).trade(a, b, share / total)
            if a < b:
                builder.relation(a, b, data.draw(st.floats(-1.0, 1.0)))
    s = RunState.new(builder.build(built, "pressure").compile())
    raw, coalition, leak, eff = odd_pressure(s.W, s.AP, s.SA, s.SANC, s.TRADE, s.AFF)
    np.testing.assert_allclose(s.SA[:, L.S_RAW], raw, atol=1e-12)
    np.testing.assert_allclose(s.SA[:, L.S_COALITION], coalition, atol=1e-12)
    np.testing.assert_allclose(s.SA[:, L.S_LEAK], leak, atol=1e-12)
    np.testing.assert_allclose(s.SA[:, L.S_PRESSURE], eff, atol=1e-12)


def odd_relief_zone(s: RunState, t: int) -> tuple[float, float] | None:
    """(x_min, x_max) of relief track ``t`` by ODD section 7.10, None without a zone of
    agreement: the party asks at least the cost of halting its transfers (``halt_cost`` times its
    closest ties among open routes) over its relief priority; the sanctioners offer at most their
    leverage-weighted ``relief_offer`` times cohesion."""
    TP, AP, SA, AFF, RP = s.TP, s.AP, s.SA, s.AFF, s.RP
    p = int(TP[t, L.T_PARTY])
    ties = max([0.0] + [AFF[p, int(RP[r, L.R_RECIPIENT])] for r in range(RP.shape[0])
                        if int(RP[r, L.R_SUPPLIER]) == p and RP[r, L.R_OPEN] >= 0.5])
    h = TP[t, L.T_HALT_COST] * ties
    members = [i for i in range(AP.shape[0]) if s.TM[t, i] > 0]
    w = [max(AP[i, L.A_LEVERAGE], 1e-9) for i in members]
    x_max = (sum(wi * AP[i, L.A_OFFER] * AP[i, L.A_COHESION]
                 for wi, i in zip(w, members, strict=True)) / sum(w) if members else 0.0)
    prio = SA[p, L.S_PRIO]
    if prio > 0 and x_max > 0 and h / prio <= x_max:
        return h / prio, x_max
    return None


def odd_ceasefire_rate(s: RunState, t: int) -> float:
    """Monthly chance of a ceasefire on ripe track ``t`` (ODD 7.10): the base rate times trust,
    raised by the mediator bonus times the mediator's cohesion where there is one, at most 1."""
    rate = s.TP[t, L.T_BASE_RATE] * s.TS[t, L.TS_TRUST]
    med = int(s.TP[t, L.T_MEDIATOR])
    if med >= 0:
        rate *= 1 + s.TP[t, L.T_MED_BONUS] * s.AP[med, L.A_COHESION]
    return min(1.0, rate)


def odd_ceasefire_line(s: RunState) -> float:
    """Terms of a ceasefire (ODD 7.10): the balance moved by half the difference of the war's
    costs to defender and attacker, in [-1, 1]."""
    att, dfd = int(s.W[L.W_ATTACKER]), int(s.W[L.W_DEFENDER])
    cost_a = s.AP[att, L.A_WAR_EXP] * s.G[L.G_INTENSITY]
    cost_d = s.AP[dfd, L.A_WAR_EXP] * s.G[L.G_INTENSITY]
    return float(np.clip(s.G[L.G_BALANCE] + (cost_d - cost_a) / 2, -1, 1))


def odd_growth(s: RunState, j: int, adapt: float, gdp: float, intensity: float,
               z: float) -> float:
    """Actor ``j``'s log GDP growth this month (ODD 7.6) from its adaptation, GDP index and the
    war intensity at the start of the month and its shock draw ``z``: trend growth less the
    change in sanction damage since the start and the change in war cost, plus arms revenue and
    relief (deals in force only), per year over 12, plus the shock."""
    W, AP, SA, TS, TP = s.W, s.AP, s.SA, s.TS, s.TP
    x = sum(TS[t, L.TS_TERMS] for t in range(TP.shape[0])
            if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
            and TS[t, L.TS_ACTIVE] >= 0.5)
    damage = W[L.W_DAMAGE] * SA[j, L.S_PRESSURE] * (1 - adapt)
    war = W[L.W_WAR_COST] * AP[j, L.A_WAR_EXP] * (intensity - W[L.W_INT0])
    revenue = 12 * SA[j, L.S_REVENUE] / (1000 * AP[j, L.A_GDP] * gdp)
    return ((AP[j, L.A_GROWTH] - (damage - SA[j, L.S_DAMAGE0]) - war + revenue
             + W[L.W_RELIEF_BOOST] * x) / 12 + W[L.W_SHOCK] * z / math.sqrt(12))


def test_relief_and_ceasefire_equations_match_decide_track():
    """Zone of agreement, deal chance and Nash terms of ODD section 7.10, draw by draw."""
    from sim.core.rng import DEAL
    from sim.core.rules import decide_track

    model = sim.DiplomacyModel("baseline", seed=5).run(10)
    s = model.state
    month = 11
    relief = model.compiled.track_ids.index("relief")
    cease = model.compiled.track_ids.index("ceasefire")
    # Put both tracks where a deal is possible, so the deal branch is exercised: enough trust, a
    # ripe stalemate, no agreement being implemented, no deal in force.
    s.TS[:, L.TS_TRUST] = 0.8
    s.TS[:, L.TS_ACTIVE] = 0.0
    s.TS[:, L.TS_IMPLEMENTING] = 0.0
    s.TS[cease, L.TS_STALEMATE] = s.TP[cease, L.T_STALE_MONTHS]
    s.G[L.G_CEASEFIRE] = 0.0
    TP = s.TP

    zone = odd_relief_zone(s, relief)
    assert zone is not None and zone[0] > 0, "the baseline should have a zone of agreement here"
    x_min, x_max = zone
    chance = TP[relief, L.T_BASE_RATE] * 0.8 * (x_max - x_min) / x_max
    p, a = int(TP[relief, L.T_PARTY]), int(TP[cease, L.T_PARTY])
    deals = {relief: 0, cease: 0}
    for seed in range(200):
        key = np.uint64(seed)
        for t, party, prob, terms in ((relief, p, chance, 0.5 * (x_min + x_max)),
                                      (cease, a, odd_ceasefire_rate(s, cease),
                                       odd_ceasefire_line(s))):
            decide_track(t, DrawKey(key, 0, month), s.params, s.state, s.decisions)
            assert s.DT[t, L.DT_ZOPA] == 1.0
            expected = uniform(key, 0, month, s.AP[party, L.A_ID], TP[t, L.T_ID], DEAL) < prob
            assert s.DT[t, L.DT_DEAL] == float(expected), (t, seed)
            if expected:
                assert s.DT[t, L.DT_TERMS] == pytest.approx(terms, abs=1e-12)
                deals[t] += 1
    assert 0 < deals[relief] < 200 and 0 < deals[cease] < 200


def test_economy_equation_matches_one_month():
    """GDP index and adaptation after one month follow ODD section 7.6 to 1e-12."""
    from sim.core.rng import SHOCK, normal

    model = sim.DiplomacyModel("baseline", seed=3, run=2).run(8)
    s = model.state
    y0 = s.SA[:, L.S_GDP].copy()
    a0 = s.SA[:, L.S_ADAPT].copy()
    intensity0 = s.G[L.G_INTENSITY]
    model.step()
    month = model.month
    for j in range(s.AP.shape[0]):
        z = normal(model.rng_key, 2, month, s.AP[j, L.A_ID], 0, SHOCK)
        g = odd_growth(s, j, a0[j], y0[j], intensity0, z)
        assert s.SA[j, L.S_GDP] == pytest.approx(y0[j] * math.exp(g), rel=1e-12), j
        pressure = s.SA[j, L.S_PRESSURE]
        adapted = a0[j] + s.W[L.W_ADAPT] * (1 - a0[j]) if pressure > 0.01 else a0[j]
        assert s.SA[j, L.S_ADAPT] == pytest.approx(adapted, abs=1e-15), j


def test_adaptation_starts_from_the_episode_age():
    """ODD section 5: A_j = 1 - (1 - adaptation_rate)^sanctioned_months_j at month 0."""
    cs = sim.load_scenario("baseline").compile()
    s = RunState.new(cs)
    want = 1 - (1 - cs.W[L.W_ADAPT]) ** cs.AP[:, L.A_SANC_AGE]
    np.testing.assert_allclose(s.SA[:, L.S_ADAPT], want, atol=1e-15)
    damage0 = cs.W[L.W_DAMAGE] * s.SA[:, L.S_PRESSURE] * (1 - want)
    np.testing.assert_allclose(s.SA[:, L.S_DAMAGE0], damage0, atol=1e-15)


def odd_initial_threats(st_: RunState) -> tuple[np.ndarray, np.ndarray]:
    """The standing threats of month 0 by ODD section 5 and 7.2 (public warnings): every actor
    with ``warning = 1`` and ``escalation_step > 0`` threatens every hostile supplier over each of
    its covert routes where it has headroom, from month 1 to month ``deadline``."""
    AP, RP = st_.AP, st_.RP
    first, last = np.zeros((AP.shape[0], RP.shape[0])), np.zeros((AP.shape[0], RP.shape[0]))
    for i in range(AP.shape[0]):
        if AP[i, L.A_WARNING] < 0.5 or AP[i, L.A_ESC_STEP] <= 0:
            continue
        for r in range(RP.shape[0]):
            j = int(RP[r, L.R_SUPPLIER])
            if (j != i and odd_covert(st_, r) and st_.AFF0[i, j] < 0
                    and st_.SANC0[i, j] < AP[i, L.A_ESC_CAP] - 1e-12):
                first[i, r], last[i, r] = 1.0, AP[i, L.A_DEADLINE]
    return first, last


@pytest.mark.parametrize("scenario", sim.list_scenarios())
def test_initial_threats_follow_section_5(scenario, prose):
    for policy in (None, *sim.list_policies()):
        st_ = sim.DiplomacyModel(scenario, seed=0, policy=policy).state
        first, last = odd_initial_threats(st_)
        np.testing.assert_array_equal(st_.THR, first, err_msg=f"{scenario} {policy}")
        np.testing.assert_array_equal(st_.TDL, last, err_msg=f"{scenario} {policy}")
        warned = (st_.AP[:, L.A_WARNING] >= 0.5) & (st_.AP[:, L.A_ESC_STEP] > 0)
        np.testing.assert_array_equal(st_.SA[:, L.S_WARNED] >= 0.5, warned,
                                      err_msg=f"{scenario} {policy}")
    if scenario == "baseline":
        model = sim.DiplomacyModel(scenario, seed=0)
        ids, routes = model.compiled.actor_ids, model.compiled.route_ids
        first, last = odd_initial_threats(model.state)
        threats = {(ids[i], routes[r]) for i, r in zip(*np.nonzero(first), strict=True)}
        assert threats == {("USA", r) for r in ("iran_russia_drones", "iran_russia_missiles",
                                                 "iran_russia_production", "prk_russia_missiles",
                                                 "china_russia_dual_use")}, threats
        text = " ".join(prose.split())
        assert ("the USA threatens Iran over its drones, missiles and production assistance, "
                "North Korea over its missiles and China over its dual-use goods until month "
                f"{int(last.max())}.") in text


# ---------------------------------------------------------------------------------------------
# Figures of the baseline quoted in the prose
# ---------------------------------------------------------------------------------------------


def _prose_rows(prose: str, first_cell: str) -> list[str]:
    """Cells of the prose table row whose first cell is ``first_cell`` (exactly one such row)."""
    rows = [line for line in prose.splitlines() if line.startswith(f"| {first_cell} |")]
    assert len(rows) == 1, f"expected one row for {first_cell} in ODD.md's prose, got {rows}"
    return [c.strip() for c in rows[0].strip("|").split("|")]


def test_prose_tables_quote_the_baseline(prose):
    spec = sim.load_scenario("baseline").spec
    for aid, actor in spec.actors.items():
        cells = _prose_rows(prose, f"`{aid}`")
        assert cells[1] == actor.name, aid
        assert cells[2].startswith(actor.kind), aid
        if actor.kind == "bloc":
            assert f"cohesion {actor.cohesion:g}" in cells[2], aid
    for cid, cat in spec.categories.items():
        cells = _prose_rows(prose, f"`{cid}`")
        numbers = [float(x) for x in cells[2:6]]
        assert numbers == [cat.value, cat.price, cat.detection, cat.escalation_weight], cid
        if cat.builds:
            assert f"builds `{cat.builds}`, {cat.build_rate:g} a month" in cells[1], cid
    for ev in spec.events:
        rows = [line for line in prose.splitlines()
                if line.startswith(f"| {ev.month} | `{ev.key}` | {float(ev.value):g} |")]
        assert rows, f"event {ev.month} {ev.key} = {ev.value} not in ODD.md section 6"


def test_every_bundled_scenario_and_policy_is_described(prose):
    for name in sim.list_scenarios() + sim.list_policies():
        assert f"`{name}`" in prose, name


# ---------------------------------------------------------------------------------------------
# The threat stage (7.2, 7.3) and relief in sequence (7.10, 7.11), phase by phase
# ---------------------------------------------------------------------------------------------


class ThreatStage(NamedTuple):
    """The decisions of ODD 7.2 and 7.3 for every sender, on last month's state."""

    sanctions: np.ndarray
    """``s'_ij``, the sanctions for the coming month."""
    cred: np.ndarray
    """``cred'_i``."""
    warned: np.ndarray
    """``warned_i`` after the month's threats."""
    codes: np.ndarray
    """What each sender did about each route (``L.TH_*``), ``codes[i, r]``."""
    imposed: np.ndarray
    backed: np.ndarray
    issued: np.ndarray
    complied: np.ndarray


def odd_held(st_: RunState, i: int, j: int) -> bool:
    """ODD 7.2: ``i``'s threats over ``j``'s routes are held while ``j`` is the party of a relief
    agreement being implemented, or of a deal in force, of which ``i`` is a counterpart."""
    TP, TS = st_.TP, st_.TS
    return any(int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == j
               and st_.TM[t, i] > 0 and (TS[t, L.TS_ACTIVE] >= 0.5
                                         or TS[t, L.TS_IMPLEMENTING] >= 0.5)
               for t in range(TP.shape[0]))


def odd_sender_cost(st_: RunState, i: int, j: int, rise: float) -> float:
    """ODD 7.2: the trade ``i`` loses by raising its sanctions on ``j`` by ``rise``, in % of its
    GDP: ``100 * rise * tau_ji * openness_j * gdp_j * Y_j / (gdp_i * Y_i)``."""
    AP, SA = st_.AP, st_.SA
    gdp_i = AP[i, L.A_GDP] * SA[i, L.S_GDP]
    if gdp_i <= 0:
        return 0.0
    return (100 * rise * st_.TRADE[j, i] * AP[j, L.A_OPEN] * AP[j, L.A_GDP] * SA[j, L.S_GDP]
            / gdp_i)


def odd_threat_stage(st_: RunState, key, run: int, m: int) -> ThreatStage:
    """Every sender's threats, sanctions and credibility in month ``m`` by ODD 7.2 and 7.3.

    Reads only the state after month ``m``'s events (last month's sanctions, trade, affinity,
    threats, detections, deals), as the text says; the draws are keyed by identity (7.14).
    """
    from sim.core.rng import COHESION, SECONDARY

    AP, SA, SANC, AFF, TP, TS, TM, RP = (st_.AP, st_.SA, st_.SANC, st_.AFF, st_.TP, st_.TS,
                                         st_.TM, st_.RP)
    n, nr = AP.shape[0], RP.shape[0]

    def u(actor, counterpart, purpose):
        return uniform(key, run, m, actor, counterpart, purpose)

    new = SANC.copy()
    np.fill_diagonal(new, 0.0)
    codes = np.zeros((n, nr))
    imposed, complied, backed, issued = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    cred = SA[:, L.S_CRED].copy()
    warned = SA[:, L.S_WARNED].copy()
    for i in range(n):
        cap = AP[i, L.A_ESC_CAP]
        for t in range(TP.shape[0]):  # easing under a deal in force
            if (TM[t, i] > 0 and TS[t, L.TS_ACTIVE] >= 0.5
                    and int(TP[t, L.T_KIND]) == L.TRACK_RELIEF):
                j = int(TP[t, L.T_PARTY])
                floor = st_.TPRE[t, i] * (1 - TS[t, L.TS_TERMS])
                if SANC[i, j] > floor:
                    new[i, j] = max(floor, SANC[i, j] - AP[i, L.A_EASE])
        if AP[i, L.A_ESC_STEP] > 0:
            for r in range(nr):
                j, c = int(RP[r, L.R_SUPPLIER]), int(RP[r, L.R_CATEGORY])
                if j == i or not odd_covert(st_, r) or odd_held(st_, i, j):
                    continue
                seen = st_.RS[r, L.RS_DETECTED] >= 0.5
                sij = SANC[i, j]
                if st_.THR[i, r] <= 0:  # 1. no standing threat
                    if seen and AFF[i, j] < 0 and sij < cap - 1e-12:
                        codes[i, r] = L.TH_ISSUE
                        issued[i] += 1
                elif seen and m - 1 >= st_.THR[i, r]:  # 2. a standing threat violated
                    if SA[j, L.S_TRIG] < AP[i, L.A_ESC_THRESH]:
                        continue
                    if sij >= cap - 1e-12:
                        codes[i, r] = L.TH_EXHAUSTED
                        continue
                    level = odd_after_package(sij, odd_package(st_, i, c), cap)
                    if odd_sender_cost(st_, i, j, level - sij) <= AP[i, L.A_AUDIENCE] and (
                            odd_chance(AP[i, L.A_COHESION], lambda i=i, r=r: u(
                                AP[i, L.A_ID], RP[r, L.R_ID], COHESION))):
                        codes[i, r] = L.TH_IMPOSE
                        imposed[i] += 1
                        new[i, j] = max(new[i, j], level)
                    else:
                        codes[i, r] = L.TH_BACK_DOWN
                        backed[i] += 1
                elif m - 1 >= st_.TDL[i, r]:  # 3. a standing threat kept to its deadline
                    codes[i, r] = L.TH_COMPLIED
                    complied[i] += 1
        sec = AP[i, L.A_SECONDARY]
        if sec > 0 and imposed[i] > 0:  # 7.3
            targets = {int(RP[r, L.R_SUPPLIER]) for r in range(nr) if codes[i, r] == L.TH_IMPOSE}
            for j in targets:
                for k in range(n):
                    if (k in (i, j) or AFF[i, k] >= 0.5
                            or st_.TRADE[j, k] * AP[k, L.A_BUSTING] < 0.05):
                        continue
                    if odd_chance(AP[i, L.A_COHESION], lambda i=i, k=k: u(
                            AP[i, L.A_ID], AP[k, L.A_ID], SECONDARY)):
                        new[i, k] = max(new[i, k], odd_after_package(
                            SANC[i, k], sec * AP[i, L.A_ESC_STEP], sec * cap))
        cred[i] = 1 - (1 - cred[i]) * (1 - AP[i, L.A_CRED_GAIN]) ** (imposed[i] + complied[i])
        cred[i] = cred[i] * (1 - AP[i, L.A_CRED_LOSS]) ** backed[i]
        if issued[i] > 0:
            warned[i] = 1.0
    return ThreatStage(new, cred, warned, codes, imposed, backed, issued, complied)


def odd_take_deals(st_: RunState, m: int, deals) -> None:
    """ODD 7.10, taking effect: ``deals`` is ``(deal, terms)`` per track, struck this month."""
    TP, TS = st_.TP, st_.TS
    for t, (deal, terms) in enumerate(deals):
        if not deal:
            continue
        TS[t, L.TS_TERMS] = terms
        if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            TS[t, L.TS_SINCE] = m  # its implementation starts at the end of the month (7.11)
            if TS[t, L.TS_AGREED] < 0.5:
                TS[t, L.TS_AGREED], TS[t, L.TS_AGREED_MONTH] = 1.0, m
        else:
            TS[t, L.TS_ACTIVE], TS[t, L.TS_SINCE] = 1.0, m  # it can break from next month
            if TS[t, L.TS_REACHED] < 0.5:
                TS[t, L.TS_REACHED], TS[t, L.TS_MONTH] = 1.0, m
            st_.G[L.G_CEASEFIRE] = 1.0


def odd_relief_in_sequence(st_: RunState, m: int, shipped: np.ndarray, exposed: np.ndarray,
                           agreed) -> None:
    """ODD 7.11, stage 5: relief deals move on what their party shipped this month and what of
    it was exposed (``exposed[p]`` covert transfers detected), after the month's sanctions; an
    agreement struck this month (``agreed[t]``) starts its implementation (7.10, taking effect)."""
    TP, TS, AP, RP, SANC = st_.TP, st_.TS, st_.AP, st_.RP, st_.SANC
    n = AP.shape[0]
    for t in range(TP.shape[0]):
        if int(TP[t, L.T_KIND]) != L.TRACK_RELIEF:
            continue
        p = int(TP[t, L.T_PARTY])
        if TS[t, L.TS_IMPLEMENTING] >= 0.5:
            covert_shipped = any(int(RP[r, L.R_SUPPLIER]) == p and shipped[r] > 0
                                 and odd_covert(st_, r) for r in range(RP.shape[0]))
            if exposed[p] > 0:  # a breach: back to talks
                TS[t, L.TS_IMPLEMENTING] = TS[t, L.TS_CLEAN] = 0.0
                TS[t, L.TS_BREACHES] += 1
            elif covert_shipped:  # the halt cannot be verified
                TS[t, L.TS_CLEAN] = 0.0
            else:
                TS[t, L.TS_CLEAN] += 1
                if TS[t, L.TS_CLEAN] >= max(1.0, TP[t, L.T_IMPL_MONTHS]):  # Implementation Day
                    TS[t, L.TS_IMPLEMENTING], TS[t, L.TS_ACTIVE] = 0.0, 1.0
                    if TS[t, L.TS_REACHED] < 0.5:
                        TS[t, L.TS_REACHED], TS[t, L.TS_MONTH] = 1.0, m
                    st_.TPRE[t] = [SANC[i, p] if st_.TM[t, i] > 0 else 0.0 for i in range(n)]
        elif TS[t, L.TS_ACTIVE] >= 0.5 and exposed[p] > 0:  # broken, with snap-back
            TS[t, L.TS_ACTIVE] = 0.0
            TS[t, L.TS_BROKEN] = 1.0
            TS[t, L.TS_BREACHES] += 1
            if TS[t, L.TS_BROKEN_MONTH] < 0:
                TS[t, L.TS_BROKEN_MONTH] = m
            for i in range(n):
                if st_.TM[t, i] > 0:
                    pre = st_.TPRE[t, i]
                    SANC[i, p] = max(SANC[i, p], min(max(AP[i, L.A_ESC_CAP], pre),
                                                     max(SANC[i, p], pre) + AP[i, L.A_SNAPBACK]))
        if agreed[t]:  # this month's shipments were decided before it: neither breach nor count
            TS[t, L.TS_IMPLEMENTING], TS[t, L.TS_CLEAN] = 1.0, 0.0



# ---------------------------------------------------------------------------------------------
# The whole month of ODD.md, written from the text in plain Python, against the engine
# ---------------------------------------------------------------------------------------------


def odd_need_units(st_: RunState, r: int) -> float:
    """ODD 7.1: the units the recipient of route ``r`` would take (its need, before capacity)."""
    W, CP, RP = st_.W, st_.CP, st_.RP
    q, c = int(RP[r, L.R_RECIPIENT]), int(RP[r, L.R_CATEGORY])
    b = int(CP[c, L.C_BUILDS])
    g = b if b >= 0 else c
    if st_.DEM[q, c] <= 0 or st_.DEM[q, g] <= 0:
        return 0.0
    unmet = max(0.0, st_.DEM[q, g] - st_.BUILT[q, g]) / st_.DEM[q, g]
    at_war = q in (int(W[L.W_ATTACKER]), int(W[L.W_DEFENDER]))
    need = unmet * (st_.G[L.G_INTENSITY] if at_war else 1.0)
    return (st_.DEM[q, c] if unmet > 0 else 0.0) if b >= 0 else st_.DEM[q, c] * need


def odd_share_need(st_: RunState, offers: np.ndarray) -> np.ndarray:
    """ODD 7.4: routes bringing one category to one recipient share its unmet need."""
    RP = st_.RP
    out = offers.copy()
    groups: dict[tuple[int, int], list[int]] = {}
    for r in np.flatnonzero(offers > 0):
        groups.setdefault((int(RP[r, L.R_RECIPIENT]), int(RP[r, L.R_CATEGORY])), []).append(r)
    for routes in groups.values():
        total = sum(offers[r] for r in routes)
        room = math.floor(odd_need_units(st_, routes[0]) + 0.5)
        if total <= room:
            continue
        quota = {r: offers[r] * room / total for r in routes}
        for r in routes:
            out[r] = math.floor(quota[r])
        left = room - sum(out[r] for r in routes)
        # the odd units to the largest remainders; a tie to the route first in id order
        for r in sorted(routes, key=lambda r: (-(quota[r] - out[r]), r))[:int(left)]:
            out[r] += 1
    return out


class OddMonth:
    """One month exactly as ODD.md sections 3 and 7 describe it, on a copy of a run's arrays.

    Written from the document, not from sim/core/rules.py: if a rule changes and ODD.md does not,
    the states part ways and ``test_odd_month_by_month_equals_the_engine`` names the array.
    """

    def __init__(self, st_: RunState, key, run: int):
        self.s = st_
        self.key = key
        self.run = run
        self.tables = {L.EV_WORLD: st_.W, L.EV_ACTOR: st_.AP, L.EV_CATEGORY: st_.CP,
                       L.EV_ROUTE: st_.RP, L.EV_TRACK: st_.TP, L.EV_CAPACITY: st_.CAP,
                       L.EV_DEMAND: st_.DEM}
        self.reasons = np.zeros((st_.RP.shape[0], L.NDW))
        """The reasons of the month's supply decisions (7.1), ``reasons[r, L.DW_*]``."""

    def u(self, month, actor, counterpart, purpose):
        """The uniform draw keyed by identities (ODD 7.14)."""
        return uniform(self.key, self.run, month, actor, counterpart, purpose)

    def z(self, month, actor, counterpart, purpose):
        from sim.core.rng import normal

        return normal(self.key, self.run, month, actor, counterpart, purpose)

    def aid(self, i):
        return self.s.AP[i, L.A_ID]

    def rid(self, r):
        return self.s.RP[r, L.R_ID]

    # 7.2, public warnings
    def threaten_all(self, i, first):
        s = self.s
        AP = s.AP
        s.SA[i, L.S_WARNED] = 1.0
        if AP[i, L.A_ESC_STEP] <= 0:
            return
        for r in range(s.RP.shape[0]):
            j = int(s.RP[r, L.R_SUPPLIER])
            if (j == i or not odd_covert(s, r) or s.AFF[i, j] >= 0
                    or s.SANC[i, j] >= AP[i, L.A_ESC_CAP] - 1e-12 or s.THR[i, r] > 0):
                continue
            s.THR[i, r] = first
            s.TDL[i, r] = first + AP[i, L.A_DEADLINE] - 1
        s.SA[i, L.S_WARNED] = 1.0

    # 7.13
    def events(self, m):
        s = self.s
        for month, table, row, col, value in s.EV:
            if int(month) != m:
                continue
            table, row, col = int(table), int(row), int(col)
            if table == L.EV_PACKAGE:  # a scheduled sanctions round (7.13)
                s.SANC[row, col] = odd_after_package(s.SANC[row, col], value, 1.0)
                continue
            if table == L.EV_WORLD:
                s.W[col] = value
            else:
                self.tables[table][row, col] = value
            if table == L.EV_ACTOR:
                if col == L.A_PRIO:
                    s.SA[row, L.S_PRIO] = value
                elif col == L.A_CRED:
                    s.SA[row, L.S_CRED] = value
                elif col == L.A_WARNING and value >= 0.5:
                    self.threaten_all(row, float(m))

    # 7.2 and 7.3
    def sanctions(self, m):
        return odd_threat_stage(self.s, self.key, self.run, m)

    # 7.10
    def tracks(self, m):
        from sim.core.rng import DEAL

        s = self.s
        TP, TS, G = s.TP, s.TS, s.G
        out = []
        for t in range(TP.shape[0]):
            p = int(TP[t, L.T_PARTY])
            trust = TS[t, L.TS_TRUST]
            deal, terms = 0.0, 0.0
            draw = lambda p=p, t=t: self.u(m, self.aid(p), TP[t, L.T_ID], DEAL)  # noqa: E731
            if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
                busy = TS[t, L.TS_ACTIVE] >= 0.5 or TS[t, L.TS_IMPLEMENTING] >= 0.5
                zone = None if busy else odd_relief_zone(s, t)
                if zone is not None:
                    x_min, x_max = zone
                    if trust >= TP[t, L.T_MIN_TRUST] and odd_chance(
                            TP[t, L.T_BASE_RATE] * trust * (x_max - x_min) / x_max, draw):
                        deal, terms = 1.0, 0.5 * (x_min + x_max)
            elif G[L.G_CEASEFIRE] < 0.5:
                count = TS[t, L.TS_STALEMATE]
                if count >= TP[t, L.T_STALE_MONTHS] and count >= 1:
                    if (trust >= TP[t, L.T_MIN_TRUST]
                            and odd_chance(odd_ceasefire_rate(s, t), draw)):
                        deal, terms = 1.0, odd_ceasefire_line(s)
            out.append((deal, terms))
        return out

    def step(self, m):
        from sim.core.rng import COHESION, DENY, DETECT, SHOCK, WAR

        s = self.s
        W, AP, CP, RP, TP, TS, SA, G = (s.W, s.AP, s.CP, s.RP, s.TP, s.TS, s.SA, s.G)
        n, nc, nr, nt = AP.shape[0], CP.shape[0], RP.shape[0], TP.shape[0]
        att, dfd = int(W[L.W_ATTACKER]), int(W[L.W_DEFENDER])
        self.events(m)
        # decisions, all on last month's state
        shipped = np.zeros(nr)
        halted, defied = np.zeros(n), np.zeros(n)
        self.reasons = np.zeros((nr, L.NDW))
        for r in range(nr):
            sup = int(RP[r, L.R_SUPPLIER])
            p_ship, units, committed, reasons = odd_supply_terms(s, r)
            for col, value in reasons.items():
                self.reasons[r, col] = value
            if committed:
                halted[sup] = self.reasons[r, L.DW_HALT] = 1.0
                if odd_defies(s, sup, self.key, self.run, m):
                    defied[sup] = self.reasons[r, L.DW_DEFIED] = 1.0
                else:
                    p_ship = 0.0
            if units > 0 and AP[sup, L.A_COHESION] < 1 and not odd_chance(
                    AP[sup, L.A_COHESION],
                    lambda sup=sup, r=r: self.u(m, self.aid(sup), self.rid(r), COHESION)):
                self.reasons[r, L.DW_DIVIDED] = 1.0  # a bloc's members divided: no shipment
                p_ship = 0.0
            self.reasons[r, L.DW_PROBABILITY] = p_ship if units > 0 else 0.0
            if units > 0 and odd_chance(p_ship, lambda sup=sup, r=r: self.u(
                    m, self.aid(sup), self.rid(r), SHIP)):
                shipped[r] = units
        new_sanc, cred, warned, codes, imposed, backed, issued, complied = self.sanctions(m)
        deals = self.tracks(m)
        # 1. agreements take effect
        odd_take_deals(s, m, deals)
        # 2. shared need, then deliveries
        shipped = odd_share_need(s, shipped)
        SA[:, L.S_REVENUE] = 0.0
        SA[:, L.S_EXPOSED] = 0.0
        s.RS[:, L.RS_SHIPPED] = shipped
        s.RS[:, L.RS_DETECTED] = 0.0
        s.RS[:, L.RS_DENIED] = 0.0
        v_att = v_def = 0.0
        for r in np.flatnonzero(shipped > 0):
            sup, q, c = (int(RP[r, L.R_SUPPLIER]), int(RP[r, L.R_RECIPIENT]),
                         int(RP[r, L.R_CATEGORY]))
            units = shipped[r]
            s.RS[r, L.RS_TOTAL] += units
            if s.RS[r, L.RS_FIRST] < 0:
                s.RS[r, L.RS_FIRST] = m
            if odd_covert(s, r) and odd_committed(s, sup) >= 0:
                s.RS[r, L.RS_UNDER_DEAL] += 1
            SA[sup, L.S_REVENUE] += units * CP[c, L.C_PRICE]
            b = int(CP[c, L.C_BUILDS])
            if b >= 0:
                s.BUILT[q, b] = min(max(s.DEM[q, b], s.BUILT[q, b]),
                                    s.BUILT[q, b] + units * CP[c, L.C_BUILD_RATE])
            if q == att:
                v_att += units * CP[c, L.C_VALUE]
            elif q == dfd:
                v_def += units * CP[c, L.C_VALUE]
        imports = v_att + v_def
        own_att = AP[att, L.A_MILEX] * W[L.W_VALUE_PER_MILEX] + sum(
            s.BUILT[att, c] * CP[c, L.C_VALUE] for c in range(nc))
        own_def = AP[dfd, L.A_MILEX] * W[L.W_VALUE_PER_MILEX] + sum(
            s.BUILT[dfd, c] * CP[c, L.C_VALUE] for c in range(nc))
        v_att += own_att
        v_def += own_def
        # 3. detection (the monitors of this month's agreements watch too) and denial
        weight = np.zeros(n)
        for r in np.flatnonzero(shipped > 0):
            sup, c = int(RP[r, L.R_SUPPLIER]), int(RP[r, L.R_CATEGORY])
            if odd_chance(odd_detection(s, r),
                          lambda sup=sup, r=r: self.u(m, self.aid(sup), self.rid(r), DETECT)):
                s.RS[r, L.RS_DETECTED] = 1.0
                s.RS[r, L.RS_DETECTED_TOTAL] += 1
                if odd_covert(s, r):
                    SA[sup, L.S_EXPOSED] += 1
                weight[sup] += CP[c, L.C_ESC_W]
                if odd_chance(AP[sup, L.A_DENY],
                              lambda sup=sup, r=r: self.u(m, self.aid(sup), self.rid(r), DENY)):
                    s.RS[r, L.RS_DENIED] = 1.0
        # 4. sanctions, threats, credibility
        s.SANC[:] = np.clip(new_sanc, 0, 1)
        SA[:, L.S_CRED] = np.clip(cred, 0, 1)
        SA[:, L.S_WARNED] = warned
        SA[:, L.S_ESCALATIONS] += imposed
        SA[:, L.S_FAILED] += backed
        SA[:, L.S_THREATS] += issued
        SA[:, L.S_COMPLIED] += complied
        for i in range(n):
            for r in range(nr):
                if codes[i, r] in (L.TH_ISSUE, L.TH_IMPOSE):
                    s.THR[i, r], s.TDL[i, r] = m + 1, m + AP[i, L.A_DEADLINE]
                elif codes[i, r] != L.TH_NONE:
                    s.THR[i, r] = s.TDL[i, r] = 0.0
        # 5. relief in sequence
        odd_relief_in_sequence(s, m, shipped, SA[:, L.S_EXPOSED], [d for d, _ in deals])
        # 6. halts ordered and defied
        SA[:, L.S_HALTS] += halted
        SA[:, L.S_DEFIED] += defied
        # 7. trigger
        SA[:, L.S_TRIG] = W[L.W_TRIG_MEM] * SA[:, L.S_TRIG] + weight
        # 8. pressure
        (SA[:, L.S_RAW], SA[:, L.S_COALITION], SA[:, L.S_LEAK],
         SA[:, L.S_PRESSURE]) = odd_pressure(W, AP, SA, s.SANC, s.TRADE, s.AFF)
        # 9. economy
        for j in range(n):
            SA[j, L.S_GDP] *= math.exp(odd_growth(s, j, SA[j, L.S_ADAPT], SA[j, L.S_GDP],
                                                  G[L.G_INTENSITY],
                                                  self.z(m, self.aid(j), 0, SHOCK)))
            if SA[j, L.S_PRESSURE] > 0.01:
                SA[j, L.S_ADAPT] += W[L.W_ADAPT] * (1 - SA[j, L.S_ADAPT])
            SA[j, L.S_PEAK] = max(SA[j, L.S_PEAK], SA[j, L.S_PRESSURE])
        # 10. affinity
        D = np.zeros((n, n))
        for r in np.flatnonzero(shipped > 0):
            sup, q, c = (int(RP[r, L.R_SUPPLIER]), int(RP[r, L.R_RECIPIENT]),
                         int(RP[r, L.R_CATEGORY]))
            share = min(1.0, shipped[r] / s.DEM[q, c]) if s.DEM[q, c] > 0 else 1.0
            D[sup, q] += W[L.W_TRANSFER_PULL] * share
            D[q, sup] += W[L.W_TRANSFER_PULL] * share
            if s.RS[r, L.RS_DETECTED] >= 0.5 and odd_covert(s, r):
                loss = W[L.W_EXPOSURE] * (1 - W[L.W_DENIAL_SOFT] * s.RS[r, L.RS_DENIED])
                for k in range(n):
                    if k not in (sup, q) and AP[k, L.A_ALIGN] <= 0.3 and s.SANC[k, sup] <= 1e-9:
                        D[sup, k] -= loss
                        D[k, sup] -= loss
        for i in range(n):
            for j in range(i + 1, n):
                co = sum(min(s.SANC[k, i], s.SANC[k, j]) for k in range(n))
                a = s.AFF[i, j] + (W[L.W_AFF_DRIFT] * (s.AFF0[i, j] - s.AFF[i, j])
                                   + W[L.W_CO_PULL] * co + D[i, j])
                s.AFF[i, j] = s.AFF[j, i] = min(1.0, max(-1.0, a))
        # 11. trade diversion
        for j in range(n):
            pj = SA[j, L.S_PRESSURE]
            if pj <= 0:
                continue
            for k in range(n):
                if k == j:
                    continue
                if s.SANC[k, j] > 1e-9:
                    s.TRADE[j, k] *= 1 - W[L.W_TRADE_DIV] * s.SANC[k, j]
                elif AP[k, L.A_BUSTING] > 0:
                    s.TRADE[j, k] += (W[L.W_TRADE_DIV] * pj * AP[k, L.A_BUSTING]
                                      * (1 - s.TRADE[j, k]))
            total = sum(s.TRADE[j, k] for k in range(n) if k != j)
            if total > 1:
                s.TRADE[j] /= total
        # 12. a ceasefire may break down
        from sim.core.rng import BREAKDOWN

        ref = W[L.W_SUPPLY_REF]
        edge = (v_att - v_def) / (v_att + v_def) if v_att + v_def > 0 else 0.0
        b_star = (float(np.clip(W[L.W_BAL_GAIN] * edge / W[L.W_BAL_REV], -1, 1))
                  if W[L.W_BAL_REV] > 0 else float(np.sign(edge)))
        for t in range(nt):
            if (int(TP[t, L.T_KIND]) == L.TRACK_RELIEF or TS[t, L.TS_ACTIVE] < 0.5
                    or TS[t, L.TS_SINCE] >= m):
                continue
            flow = min(1.0, imports / ref)
            gap = abs(b_star - TS[t, L.TS_TERMS])
            hazard = min(1.0, TP[t, L.T_BREAK_RATE] * (1 - TP[t, L.T_STRENGTH])
                         * (1 + flow + gap))
            TS[t, L.TS_HAZARD], TS[t, L.TS_GAP] = hazard, gap
            p = int(TP[t, L.T_PARTY])
            if odd_chance(hazard, lambda p=p, t=t: self.u(m, self.aid(p), TP[t, L.T_ID],
                                                          BREAKDOWN)):
                TS[t, L.TS_ACTIVE] = 0.0
                TS[t, L.TS_BREACHES] += 1
                if TS[t, L.TS_BROKEN] < 0.5:
                    TS[t, L.TS_BROKEN], TS[t, L.TS_BROKEN_MONTH] = 1.0, m
                TS[t, L.TS_TRUST] *= 1 - TP[t, L.T_TRUST_LOSS]
                TS[t, L.TS_STALEMATE] = TS[t, L.TS_TREND] = 0.0
                G[L.G_CEASEFIRE] = 0.0
        # 13. war
        move = 0.0
        if G[L.G_CEASEFIRE] >= 0.5:
            G[L.G_INTENSITY] = W[L.W_CF_INT]
        else:
            target = W[L.W_INT_BASE] + W[L.W_SUPPLY_INT] * min(1, (v_att + v_def) / (2 * ref))
            G[L.G_INTENSITY] = float(np.clip(G[L.G_INTENSITY] + W[L.W_INT_RATE]
                                             * (target - G[L.G_INTENSITY]), 0, 1))
            old = G[L.G_BALANCE]
            G[L.G_BALANCE] = float(np.clip(
                old + W[L.W_BAL_GAIN] * edge - W[L.W_BAL_REV] * old
                + W[L.W_BAL_SD] * self.z(m, self.aid(att), self.aid(dfd), WAR), -1, 1))
            move = G[L.G_BALANCE] - old
        # 14. trust, trend and stalemate
        for t in range(nt):
            p = int(TP[t, L.T_PARTY])
            trust = TS[t, L.TS_TRUST]
            gain = TP[t, L.T_TRUST_GAIN] * (1 - trust)
            if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF:
                exposed = SA[p, L.S_EXPOSED]
                trust = trust * (1 - TP[t, L.T_TRUST_LOSS]) ** exposed if exposed else trust + gain
            else:
                flow = min(1.0, imports / ref)
                trust = trust + gain - TP[t, L.T_TRUST_LOSS] * flow * trust
                if G[L.G_CEASEFIRE] >= 0.5:
                    TS[t, L.TS_STALEMATE] = TS[t, L.TS_TREND] = 0.0
                else:
                    TS[t, L.TS_TREND] += (move - TS[t, L.TS_TREND]) / TP[t, L.T_STALE_MONTHS]
                    hurting = (12 * abs(TS[t, L.TS_TREND]) < TP[t, L.T_STALE_BAND]
                               and G[L.G_INTENSITY] > TP[t, L.T_HURT_INT])
                    TS[t, L.TS_STALEMATE] = TS[t, L.TS_STALEMATE] + 1 if hurting else 0.0
                    if (TS[t, L.TS_STALEMATE] >= TP[t, L.T_STALE_MONTHS]
                            and TS[t, L.TS_RIPE_MONTH] < 0):
                        TS[t, L.TS_RIPE_MONTH] = m
            TS[t, L.TS_TRUST] = min(1.0, max(0.0, trust))
        # 15. domestic pressure
        for j in range(n):
            if AP[j, L.A_PAIN] > 0:
                prio = SA[j, L.S_PRIO]
                SA[j, L.S_PRIO] = min(1.0, max(0.0, prio + AP[j, L.A_PAIN]
                                               * SA[j, L.S_PRESSURE] / 12 * (1 - prio)))


_DOCUMENTED_STATE = {
    "SA": [L.S_GDP, L.S_ADAPT, L.S_PRESSURE, L.S_RAW, L.S_LEAK, L.S_COALITION, L.S_CRED,
           L.S_WARNED, L.S_PRIO, L.S_REVENUE, L.S_PEAK, L.S_ESCALATIONS, L.S_TRIG, L.S_EXPOSED,
           L.S_FAILED, L.S_THREATS, L.S_COMPLIED, L.S_HALTS, L.S_DEFIED],
    "RS": [L.RS_SHIPPED, L.RS_TOTAL, L.RS_DETECTED, L.RS_DETECTED_TOTAL, L.RS_FIRST,
           L.RS_DENIED, L.RS_UNDER_DEAL],
    "TS": [L.TS_ACTIVE, L.TS_REACHED, L.TS_MONTH, L.TS_BROKEN, L.TS_BROKEN_MONTH, L.TS_TRUST,
           L.TS_TERMS, L.TS_STALEMATE, L.TS_IMPLEMENTING, L.TS_CLEAN, L.TS_AGREED,
           L.TS_AGREED_MONTH, L.TS_BREACHES, L.TS_SINCE, L.TS_HAZARD, L.TS_TREND, L.TS_GAP,
           L.TS_RIPE_MONTH],
    "G": [L.G_INTENSITY, L.G_BALANCE, L.G_CEASEFIRE],
}


def _copy_state(st_: RunState) -> RunState:
    return RunState(**{name: getattr(st_, name).copy() for name in st_.__dataclass_fields__})


def _branches(model) -> set[str]:
    """The branches of sections 7.1-7.11 a run took."""
    s = model.state
    brics = model.compiled.actor_ids.index("BRICS")
    ceasefire = [t for t, kind in enumerate(model.compiled.track_kinds) if kind == "ceasefire"]
    relief = [t for t, kind in enumerate(model.compiled.track_kinds) if kind == "relief"]
    taken = {
        "agreed": s.TS[:, L.TS_AGREED].sum() > 0, "in force": s.TS[relief, L.TS_REACHED].sum() > 0,
        "breach in implementation": (s.TS[relief, L.TS_BREACHES]
                                     > s.TS[relief, L.TS_BROKEN]).any(),
        "broken": s.TS[relief, L.TS_BROKEN].sum() > 0, "threat": s.SA[:, L.S_THREATS].sum() > 0,
        "imposed": s.SA[:, L.S_ESCALATIONS].sum() > 0, "backed down": s.SA[:, L.S_FAILED].sum() > 0,
        "complied": s.SA[:, L.S_COMPLIED].sum() > 0, "defied": s.SA[:, L.S_DEFIED].sum() > 0,
        "secondary": s.SANC[:, brics].max() > 0,
        "ceasefire": (s.TS[ceasefire, L.TS_REACHED] > 0).any(),
        "ceasefire broken": (s.TS[ceasefire, L.TS_BROKEN] > 0).any(),
    }
    return {k for k, v in taken.items() if v}


# Runs (seed, run) chosen so that, between them, every branch of section 7 is taken: threats
# issued, imposed, backed down from and complied with; relief agreed, breached in implementation,
# in force, eased toward, broken and snapped back; a halt defied; secondary sanctions on BRICS; a
# ceasefire, and one that breaks. Searched after the baseline was re-stated from the calibration
# (commit f090782), seed 0, by the kernel ensemble's outcomes (sim.run_ensemble; relief_breaches
# above relief_broken is a breach in implementation), then confirmed with _branches. In the
# baseline, runs 0-99,999: a breach in implementation in 845, a deal in force broken in 557, both
# in 5 and none of those with a ceasefire and a defied halt too, so the baseline takes them in two
# runs (every other branch as well: 51 and 82 runs, first 4128 and 1082). relief_first with
# secondary sanctions, runs 0-1,999: a broken ceasefire with relief in force in 63 (first 19);
# split_nato_leaky_brics with secondary sanctions: a deal broken with a defied halt and a ceasefire
# in 1 (1082).
_COMMON = {"threat", "imposed", "backed down", "complied", "agreed", "in force", "ceasefire"}
CASES = [
    ("baseline", None, 0, 4128, _COMMON | {"breach in implementation", "defied", "secondary"}),
    ("baseline", None, 0, 1082, _COMMON | {"broken", "defied", "secondary"}),
    ("relief_first", "secondary_sanctions", 0, 19, _COMMON | {"secondary", "ceasefire broken"}),
    ("split_nato_leaky_brics", "secondary_sanctions", 0, 1082,
     _COMMON | {"broken", "defied", "secondary"}),
]


@pytest.mark.parametrize("scenario, policy, seed, run, branches", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_odd_month_by_month_equals_the_engine(scenario, policy, seed, run, branches):
    model = sim.DiplomacyModel(scenario, seed=seed, run=run, policy=policy)
    odd = OddMonth(_copy_state(model.state), model.rng_key, run)
    for month in range(1, model.horizon + 1):
        model.step()
        odd.step(month)
        a, b = model.state, odd.s
        for name in ("AFF", "SANC", "TRADE", "BUILT", "TPRE", "THR", "TDL", "W", "AP", "RP",
                     "TP"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-9,
                                       atol=1e-12, err_msg=f"{scenario} month {month}: {name}")
        np.testing.assert_allclose(odd.reasons, a.DW, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{scenario} month {month}: reasons of supply")
        for name, cols in _DOCUMENTED_STATE.items():
            got, want = getattr(b, name), getattr(a, name)
            for col in cols:
                np.testing.assert_allclose(
                    got[..., col], want[..., col], rtol=1e-9, atol=1e-12,
                    err_msg=f"{scenario} month {month}: {name} column {col}")
    assert branches <= _branches(model), _branches(model)


def test_the_cases_take_every_branch():
    assert set().union(*(c[4] for c in CASES)) == {
        "agreed", "in force", "breach in implementation", "broken", "threat", "imposed",
        "backed down", "complied", "defied", "secondary", "ceasefire", "ceasefire broken"}


def test_the_story_line_quoted_in_observation_is_what_the_model_writes(prose):
    text = " ".join(prose.split())
    quoted = re.search(r'plain words[^"(]*\("(Month \d+: [^"]+)"\)', text).group(1)
    pattern = re.sub(r"\\d\+|\d+", r"\\d+", re.escape(quoted))
    lines = []
    for seed in range(6):
        lines += sim.DiplomacyModel("baseline", seed=seed).run().story_text().splitlines()
    assert any(re.fullmatch(pattern, line) for line in lines), quoted


# ---------------------------------------------------------------------------------------------
# The threat stage and relief in sequence, phase by phase, over the baseline and every policy
# ---------------------------------------------------------------------------------------------

_DEAL_COLUMNS = [L.TS_ACTIVE, L.TS_REACHED, L.TS_MONTH, L.TS_BROKEN, L.TS_BROKEN_MONTH,
                 L.TS_TERMS, L.TS_IMPLEMENTING, L.TS_CLEAN, L.TS_AGREED, L.TS_AGREED_MONTH,
                 L.TS_BREACHES, L.TS_SINCE]
_THREAT_CODES = {L.TH_ISSUE: "issued", L.TH_IMPOSE: "imposed", L.TH_BACK_DOWN: "backed down",
                 L.TH_COMPLIED: "complied", L.TH_EXHAUSTED: "exhausted"}


def _threat_branches(st_: RunState, want: ThreatStage) -> set[str]:
    """The branches of ODD 7.2 and 7.3 the month's decisions took, from the oracle's answer."""
    taken = {_THREAT_CODES[int(code)] for code in np.unique(want.codes) if code}
    for i in range(st_.AP.shape[0]):
        for r in range(st_.RP.shape[0]):
            j = int(st_.RP[r, L.R_SUPPLIER])
            if st_.THR[i, r] > 0 and odd_covert(st_, r) and j != i and odd_held(st_, i, j):
                taken.add("held")
    for t in range(st_.TP.shape[0]):
        j = int(st_.TP[t, L.T_PARTY])
        if st_.TS[t, L.TS_ACTIVE] >= 0.5 and int(st_.TP[t, L.T_KIND]) == L.TRACK_RELIEF:
            if any(want.sanctions[i, j] < st_.SANC[i, j] for i in range(st_.AP.shape[0])):
                taken.add("eased")
    targets = {int(st_.RP[r, L.R_SUPPLIER]) for r in np.nonzero(want.codes == L.TH_IMPOSE)[1]}
    rose = want.sanctions > st_.SANC
    if any(rose[:, k].any() for k in range(st_.AP.shape[0]) if k not in targets):
        taken.add("secondary")
    cred = st_.SA[:, L.S_CRED]
    if (want.cred > cred + 1e-15).any():
        taken.add("credibility up")
    if (want.cred < cred - 1e-15).any():
        taken.add("credibility down")
    return taken


def _deal_branches(before: RunState, after: RunState) -> set[str]:
    """The branches of ODD 7.11's relief in sequence taken between two states of stage 5."""
    taken = set()
    TP, AP = before.TP, before.AP
    for t in range(TP.shape[0]):
        if int(TP[t, L.T_KIND]) != L.TRACK_RELIEF:
            continue
        b, a = before.TS[t], after.TS[t]
        if b[L.TS_IMPLEMENTING] < 0.5 and b[L.TS_ACTIVE] < 0.5 and a[L.TS_IMPLEMENTING] >= 0.5:
            taken.add("implementation starts")
        if b[L.TS_IMPLEMENTING] >= 0.5:
            if a[L.TS_BREACHES] > b[L.TS_BREACHES]:
                taken.add("breach in implementation")
            elif a[L.TS_ACTIVE] >= 0.5:
                taken.add("implementation day")
            elif a[L.TS_CLEAN] > b[L.TS_CLEAN]:
                taken.add("clean month")
            elif b[L.TS_CLEAN] > 0:
                taken.add("clean count restarted")
            else:
                taken.add("unverified month")
        elif b[L.TS_ACTIVE] >= 0.5 and a[L.TS_BROKEN] >= 0.5 and a[L.TS_ACTIVE] < 0.5:
            taken.add("broken")
            p = int(TP[t, L.T_PARTY])
            for i in range(AP.shape[0]):
                pre = before.TPRE[t, i]
                if (before.TM[t, i] > 0 and max(before.SANC[i, p], pre) + AP[i, L.A_SNAPBACK]
                        > max(AP[i, L.A_ESC_CAP], pre)):
                    taken.add("snap-back capped")
    return taken


def _follow_the_phases(scenario: str, policy: str | None, seed: int, run: int) -> set[str]:
    """Step a run month by month; each month check ``decide_sanctions`` against ODD 7.2-7.3 and
    ``take_deals`` with ``advance_deals`` against ODD 7.10-7.11. Returns the branches taken.

    The oracle of each phase starts from the engine's state where the phase starts: the threat
    stage from last month's state after this month's events (7.13); relief in sequence from the
    same state, with the month's agreements, shipments and exposures (checked by their own tests)
    and the month's sanctions (just checked).
    """
    model = sim.DiplomacyModel(scenario, seed=seed, run=run, policy=policy)
    key = model.rng_key
    taken: set[str] = set()
    for month in range(1, model.horizon + 1):
        st_ = _copy_state(model.state)
        OddMonth(st_, key, run).events(month)
        want = odd_threat_stage(st_, key, run, month)
        model.step()
        s = model.state
        where = f"{scenario} {policy} seed {seed} run {run} month {month}"
        np.testing.assert_array_equal(s.DTH, want.codes, err_msg=f"{where}: threat decisions")
        np.testing.assert_allclose(s.DS, want.sanctions, rtol=1e-12, atol=1e-15,
                                   err_msg=f"{where}: sanctions decided")
        for col, value in ((L.DA_CRED, want.cred), (L.DA_WARN, want.warned),
                           (L.DA_ESC, want.imposed), (L.DA_FAILED, want.backed),
                           (L.DA_THREATS, want.issued), (L.DA_COMPLIED, want.complied)):
            np.testing.assert_allclose(s.DA[:, col], value, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{where}: DA column {col}")
        taken |= _threat_branches(st_, want)

        deals = [(s.DT[t, L.DT_DEAL] >= 0.5, s.DT[t, L.DT_TERMS]) for t in range(s.TP.shape[0])]
        odd_take_deals(st_, month, deals)
        st_.SANC[:] = np.clip(want.sanctions, 0, 1)
        staged = _copy_state(st_)
        odd_relief_in_sequence(st_, month, s.RS[:, L.RS_SHIPPED], s.SA[:, L.S_EXPOSED],
                               [deal for deal, _ in deals])
        # a ceasefire that breaks down this month (7.10, a later stage, checked month by month
        # by test_odd_month_by_month_equals_the_engine) is left out of this month's comparison
        rows = [t for t in range(s.TP.shape[0])
                if int(s.TP[t, L.T_KIND]) == L.TRACK_RELIEF
                or s.TS[t, L.TS_BREACHES] <= staged.TS[t, L.TS_BREACHES]]
        np.testing.assert_array_equal(st_.TS[np.ix_(rows, _DEAL_COLUMNS)],
                                      s.TS[np.ix_(rows, _DEAL_COLUMNS)],
                                      err_msg=f"{where}: relief phases")
        np.testing.assert_array_equal(st_.TPRE, s.TPRE, err_msg=f"{where}: s_pre")
        np.testing.assert_allclose(st_.SANC, s.SANC, rtol=1e-12, atol=1e-15,
                                   err_msg=f"{where}: sanctions after snap-back")
        taken |= _deal_branches(staged, st_)
    return taken


_THREAT_BRANCHES = {"issued", "imposed", "backed down", "complied", "exhausted", "held",
                    "eased", "secondary", "credibility up", "credibility down"}
_DEAL_BRANCHES = {"implementation starts", "clean month", "unverified month",
                  "breach in implementation", "implementation day", "broken", "snap-back capped"}
_STAGE = {"issued", "imposed", "backed down", "complied", "credibility up", "credibility down"}
_IN_FORCE = (_THREAT_BRANCHES | _DEAL_BRANCHES) - {"secondary"}
# Runs (seed, run): 0-3 of run 3 as they come; the others for the rare branches, searched after the
# baseline was re-stated from the calibration (commit f090782) over seed 0, runs 0-1,999 of every
# case: the kernel ensemble's outcomes (sim.run_ensemble) gave the candidates (a breach in
# implementation: relief_breaches above relief_broken; a deal in force broken: relief_broken;
# missiles or drones shipped under a deal: shipped_under_deal_iran_*; relief agreed), up to 25 of
# each (40 agreed) followed here phase by phase. Per 2,000 runs of the baseline: a breach in
# implementation 17, a deal broken 10 (9 of them against a capped snap-back); a covert shipment
# unseen while an agreement was being implemented (an unverified month) in 4 of the 62 candidates
# followed. Kept: run 40 (a breach in implementation; 50 under drones_only), 854 (a deal broken
# against a capped snap-back, an unverified month), 1081 (broken and capped under
# split_nato_leaky_brics), 164 (an unverified month under conditional_relief and engagement), 1199
# (an unverified month and a threat held under split_nato_leaky_brics). If the rules change, pick
# runs again so that every branch stays taken (the assertion names the branches missing).
_PHASE_PAIRS = ((0, 3), (1, 3), (2, 3), (3, 3), (0, 40), (0, 50), (0, 164), (0, 854), (0, 1081),
                (0, 1199))
PHASE_RUNS = [
    ("baseline", None, _IN_FORCE),
    ("baseline", "status_quo", _IN_FORCE),
    ("baseline", "conditional_relief", _IN_FORCE),
    # rare under engagement: a snap-back at the cap in none of 2,000 runs (seed 0, runs 0-1,999;
    # a deal in force broken in 16 of them, all followed here)
    ("baseline", "engagement", _IN_FORCE - {"snap-back capped"}),
    ("baseline", "secondary_sanctions", _IN_FORCE | {"secondary"}),
    # no agreement under maximum pressure in 2,000 runs (seed 0): the threat stage only
    ("baseline", "maximum_pressure", _STAGE | {"exhausted"}),
    ("drones_only", None, _IN_FORCE),
    ("relief_first", None, _IN_FORCE),
    ("split_nato_leaky_brics", None, _IN_FORCE),
]


@pytest.mark.parametrize("scenario, policy, branches", PHASE_RUNS,
                         ids=[f"{c[0]}-{c[1]}" for c in PHASE_RUNS])
def test_threat_stage_and_relief_in_sequence_follow_the_odd(scenario, policy, branches):
    """decide_sanctions and the relief phases follow ODD 7.2, 7.3, 7.10 and 7.11 month by month
    over seeded runs of every bundled policy, taking the branches the runs are chosen for."""
    taken = set()
    for seed, run in _PHASE_PAIRS:
        taken |= _follow_the_phases(scenario, policy, seed, run)
    assert branches <= taken, f"branches not taken: {sorted(branches - taken)}"


def test_the_phase_runs_take_every_branch():
    assert set().union(*(c[2] for c in PHASE_RUNS)) == _THREAT_BRANCHES | _DEAL_BRANCHES
    assert {c[1] for c in PHASE_RUNS if c[0] == "baseline"} == {None, *sim.list_policies()}


def test_advance_deals_follows_the_odd_in_every_situation():
    """Stage 5 (advance_deals) against ODD 7.11 in every combination of phase, what the party did
    this month, clean months so far, implementation months and the snap-back's levels, including
    those the seeded runs rarely reach (a clean count restarted, a snap-back the cap does not
    bind)."""
    import itertools

    from sim.core.rules import advance_deals

    model = sim.DiplomacyModel("baseline", seed=0).run(2)
    ids = model.compiled.actor_ids
    t = model.compiled.track_ids.index("relief")
    drones = model.compiled.route_ids.index("iran_russia_drones")
    p = int(model.state.TP[t, L.T_PARTY])
    usa, eu = ids.index("USA"), ids.index("EU")
    taken: set[str] = set()
    for (phase, did, clean, months, now, pre, snap) in itertools.product(
            ("talks", "agreed", "implementing", "in force"), ("nothing", "shipped", "exposed"),
            (0, 2, 5), (0, 1, 3, 6), (0.3, 0.9), (0.5, 0.99), (0.05, 0.5)):
        if phase != "in force" and (now, pre, snap) != (0.3, 0.5, 0.05):
            continue  # the levels matter only to a snap-back
        engine = _copy_state(model.state)
        engine.TS[t, L.TS_ACTIVE] = float(phase == "in force")
        engine.TS[t, L.TS_IMPLEMENTING] = float(phase == "implementing")
        engine.TS[t, L.TS_CLEAN] = clean
        engine.DT[:, L.DT_DEAL] = 0.0
        engine.DT[t, L.DT_DEAL] = float(phase == "agreed")  # struck this month, in talks
        engine.TP[t, L.T_IMPL_MONTHS] = months
        engine.RS[:, L.RS_SHIPPED] = 0.0
        engine.RS[drones, L.RS_SHIPPED] = 0.0 if did == "nothing" else 300.0
        engine.SA[:, L.S_EXPOSED] = 0.0
        engine.SA[p, L.S_EXPOSED] = float(did == "exposed")
        engine.SANC[usa, p], engine.SANC[eu, p] = now, 0.5 * now
        engine.TPRE[t, usa], engine.TPRE[t, eu] = pre, 0.5 * pre
        engine.AP[[usa, eu], L.A_SNAPBACK] = snap
        staged, odd = _copy_state(engine), _copy_state(engine)
        advance_deals(DrawKey(model.rng_key, 0, 3), engine.params, engine.state,
                      engine.decisions)
        odd_relief_in_sequence(odd, 3, odd.RS[:, L.RS_SHIPPED], odd.SA[:, L.S_EXPOSED],
                               odd.DT[:, L.DT_DEAL] >= 0.5)
        case = (phase, did, clean, months, now, pre, snap)
        np.testing.assert_array_equal(odd.TS, engine.TS, err_msg=str(case))
        np.testing.assert_array_equal(odd.TPRE, engine.TPRE, err_msg=str(case))
        np.testing.assert_array_equal(odd.SANC, engine.SANC, err_msg=str(case))
        branches = _deal_branches(staged, odd)
        if "broken" in branches and "snap-back capped" not in branches:
            branches.add("snap-back within the cap")
        taken |= branches
    assert taken == _DEAL_BRANCHES | {"clean count restarted", "snap-back within the cap"}, taken


def test_threat_stage_weighs_the_cost_of_imposing_against_the_audience_cost():
    """ODD 7.2, draw by draw: a violated threat's package is imposed only if it costs the sender
    no more than its audience cost and, for a bloc, its members act together; otherwise the
    sender backs down. (In the bundled scenarios no package costs its sender that much.)"""
    from sim.core.rules import decide_sanctions

    model = sim.DiplomacyModel("baseline", seed=1).run(2)
    s = model.state
    ids = model.compiled.actor_ids
    irn = ids.index("IRN")
    drones = model.compiled.route_ids.index("iran_russia_drones")
    c = int(s.RP[drones, L.R_CATEGORY])
    s.TS[:, L.TS_ACTIVE] = s.TS[:, L.TS_IMPLEMENTING] = 0.0
    s.RS[:, L.RS_DETECTED] = 0.0
    s.RS[drones, L.RS_DETECTED] = 1.0
    s.SA[irn, L.S_TRIG] = 10.0
    month = 3
    for sender in ("USA", "EU"):
        i = ids.index(sender)
        s.THR[i, drones], s.TDL[i, drones] = 1.0, 12.0
        s.TRADE[irn, i] = 0.2
        now = s.SANC[i, irn]
        level = odd_after_package(now, odd_package(s, i, c), s.AP[i, L.A_ESC_CAP])
        cost = odd_sender_cost(s, i, irn, level - now)
        assert cost > 0
        for audience, imposing in ((0.5 * cost, False), (2.0 * cost, True)):
            s.AP[i, L.A_AUDIENCE] = audience
            imposed = 0
            for seed in range(200):
                key = np.uint64(seed)
                clear_decisions(s.state, s.decisions)
                decide_sanctions(i, DrawKey(key, 0, month), s.params, s.state, s.decisions)
                want = odd_threat_stage(s, key, 0, month)
                where = (sender, audience, seed)
                np.testing.assert_array_equal(s.DTH[i], want.codes[i], err_msg=str(where))
                np.testing.assert_allclose(s.DS[i], want.sanctions[i], rtol=1e-12,
                                           err_msg=str(where))
                assert s.DA[i, L.DA_CRED] == pytest.approx(want.cred[i], rel=1e-12), where
                imposed += want.codes[i, drones] == L.TH_IMPOSE
            cohesion = s.AP[i, L.A_COHESION]
            if not imposing:
                assert imposed == 0, (sender, imposed)
            elif cohesion >= 1:
                assert imposed == 200, (sender, imposed)
            else:
                se = math.sqrt(cohesion * (1 - cohesion) / 200)
                assert abs(imposed / 200 - cohesion) < 4 * se, (sender, imposed)
