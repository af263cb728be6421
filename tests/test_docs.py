"""docs/ODD.md stays true to the code.

- The parameter tables in ODD.md are exactly what ``docs/make_parameter_table.py`` produces from
  the schema and the baseline now, and they cover every key of the scenario schema.
- Every actor, category, route and track of the baseline is explained in the prose.
- Every reference key cited in the baseline (in its ``[sources]`` table and its comments) is a row
  of ``shared/reference/figures.csv`` (skipped, with the reason, when that folder is absent).
- The equations of section 7 are checked against the compiled rules they describe: the supply
  logit (against ``decide_supply``'s ship/no-ship decisions, draw by draw), the pressure
  composition with leakage (against ``update_pressure``), and the worked numbers in the text.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim import layout as L
from sim.rng import SHIP, uniform
from sim.rules import decide_supply, update_pressure
from sim.schema import ScenarioSpec, parameter_table
from sim.state import RunState

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
FIGURES = SHARED / "reference" / "figures.csv"
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
        if key in ("actors.<id>.capacity", "actors.<id>.demand"):
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
    assert "iran_russia_missiles 0 (1 from month 9)" in table_rows["routes.<id>.open"][4]


def test_sources_come_from_the_baseline(table_rows):
    spec = sim.load_scenario("baseline").spec
    assert table_rows["world.coalition_share"][5] == spec.sources["world.coalition_share"]
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
    for purpose in ["SHIP", "DETECT", "COHESION", "DENY", "DEAL", "SHOCK", "WAR", "SECONDARY"]:
        code = getattr(sim.rng, purpose)
        assert re.search(rf"^\| `{purpose}` \| {code} \|", prose, re.M), purpose


# ---------------------------------------------------------------------------------------------
# Reference keys
# ---------------------------------------------------------------------------------------------


def _figure_keys() -> set[str]:
    if not FIGURES.exists():
        pytest.skip(f"{FIGURES} not found: the shared reference folder sits next to the repository "
                    "in the development setup only")
    with FIGURES.open(newline="", encoding="utf-8") as fh:
        return {row["key"] for row in csv.DictReader(fh)}


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


def test_every_reference_key_cited_in_the_baseline_exists():
    figures = _figure_keys()
    spec = sim.load_scenario("baseline").spec
    text = BASELINE.read_text(encoding="utf-8")
    vocabulary = _vocabulary(spec)
    cited = {w for w in gen.REFERENCE_KEY.findall(text) if w not in vocabulary}
    assert len(cited) >= 20, f"expected the baseline to cite its figures, found {sorted(cited)}"
    unknown = sorted(cited - figures)
    assert not unknown, f"baseline.toml cites keys not in {FIGURES}: {unknown}"


def test_every_reference_key_cited_in_odd_exists(prose):
    figures = _figure_keys()
    spec = sim.load_scenario("baseline").spec
    vocabulary = _vocabulary(spec)
    code_names = set()
    for module in (sim.rules, sim.rng, sim.outcomes, sim.schema, sim.model, sim.scenario):
        code_names.update(dir(module))
    cited = set(re.findall(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`", prose))
    cs = sim.load_scenario("baseline").compile()
    outcome_names = set(sim.outcomes.outcome_layout(cs)[0])
    outcome_names |= set(sim.outcomes.monthly_names(cs, sim.outcomes.sanction_pairs(cs)))
    cited -= vocabulary | code_names | outcome_names | {"sanctions_0", "s_pre"}
    # symbols of the notation: a name with index subscripts, such as prio_j, s_ij, built_qc
    cited = {w for w in cited if not re.search(r"_[ijkqscptrgb]{1,2}$", w)}
    assert len(cited) >= 15
    unknown = sorted(cited - figures)
    assert not unknown, f"docs/ODD.md cites keys not in {FIGURES}: {unknown}"


# ---------------------------------------------------------------------------------------------
# The equations of section 7 against the compiled rules
# ---------------------------------------------------------------------------------------------


def odd_supply_probability(st_: RunState, r: int) -> tuple[float, float]:
    """P(ship) and units on route r by the equations of ODD section 7.1, in plain Python."""
    W, AP, CP, RP, TP, SA, AFF, SANC, TS, G = (st_.W, st_.AP, st_.CP, st_.RP, st_.TP, st_.SA,
                                               st_.AFF, st_.SANC, st_.TS, st_.G)
    if RP[r, L.R_OPEN] < 0.5:
        return 0.0, 0.0
    s, q, c = (int(RP[r, L.R_SUPPLIER]), int(RP[r, L.R_RECIPIENT]), int(RP[r, L.R_CATEGORY]))
    b = int(CP[c, L.C_BUILDS])
    g = b if b >= 0 else c
    if st_.DEM[q, c] <= 0 or st_.DEM[q, g] <= 0:
        return 0.0, 0.0
    unmet = max(0.0, st_.DEM[q, g] - st_.BUILT[q, g]) / st_.DEM[q, g]
    at_war = q in (int(W[L.W_ATTACKER]), int(W[L.W_DEFENDER]))
    need = unmet * (G[L.G_INTENSITY] if at_war else 1.0)
    units = (st_.DEM[q, c] if unmet > 0 else 0.0) if b >= 0 else st_.DEM[q, c] * need
    units = math.floor(min(units, st_.CAP[s, c]) + 0.5)
    if units <= 0:
        return 0.0, 0.0
    threat = 0.0
    for i in range(AP.shape[0]):
        if i != s and AP[i, L.A_ESC_STEP] > 0 and AFF[i, s] < 0:
            stage = 1.0 if SA[i, L.S_WARNED] >= 0.5 else 0.5
            threat += (stage * SA[i, L.S_CRED] * AP[i, L.A_LEVERAGE]
                       * max(0.0, AP[i, L.A_ESC_CAP] - SANC[i, s]))
    p = CP[c, L.C_DETECT]
    relief = 0.0
    for t in range(TP.shape[0]):
        if int(TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(TP[t, L.T_PARTY]) == s:
            relief += (SA[s, L.S_PRIO] if TS[t, L.TS_ACTIVE] >= 0.5
                       else p * SA[s, L.S_PRIO] * TS[t, L.TS_TRUST])
    revenue_pct = 100 * units * CP[c, L.C_PRICE] / (1000 * AP[s, L.A_GDP] * SA[s, L.S_GDP])
    u = (W[L.W_SUPPLY_BASE] + RP[r, L.R_PROPENSITY] + W[L.W_W_AFF] * AFF[s, q]
         + W[L.W_W_NEED] * need + W[L.W_W_PRICE] * revenue_pct
         - W[L.W_W_RISK] * p * CP[c, L.C_ESC_W] * threat - W[L.W_W_RELIEF] * relief)
    return 1.0 / (1.0 + math.exp(-u)), float(units)


@pytest.mark.parametrize("months", [0, 14])
def test_supply_equation_matches_decide_supply(months):
    """Over many seeds, decide_supply ships exactly when the documented probability says so."""
    model = sim.DiplomacyModel("baseline", seed=11).run(months)
    s = model.state
    month = months + 1
    for r in range(s.RP.shape[0]):
        p_doc, units_doc = odd_supply_probability(s, r)
        supplier = int(s.RP[r, L.R_SUPPLIER])
        agree = 0
        for seed in range(150):
            key = np.uint64(seed)
            s.DR[:] = 0.0
            decide_supply(r, key, 0, month, s.W, s.AP, s.CP, s.RP, s.TP, s.CAP, s.DEM, s.SA,
                          s.AFF, s.SANC, s.BUILT, s.TS, s.G, s.DR)
            u = uniform(key, 0, month, supplier, r, SHIP)
            expected = units_doc if u < p_doc else 0.0
            assert s.DR[r] == expected, (model.compiled.route_ids[r], seed, u, p_doc)
            agree += 1
        assert agree == 150


def test_worked_supply_example_in_the_text(prose):
    model = sim.DiplomacyModel("baseline", seed=0)
    drones = model.compiled.route_ids.index("iran_russia_drones")
    p, units = odd_supply_probability(model.state, drones)
    assert units == 300
    assert f"Iran ships with probability {p:.2f}" in " ".join(prose.split())


def test_worked_pressure_numbers_in_the_text(prose):
    cs = sim.load_scenario("baseline").compile()
    s = RunState.new(cs)
    irn, rus = cs.actor_ids.index("IRN"), cs.actor_ids.index("RUS")
    text = " ".join(prose.split())
    assert (f"{s.SA[irn, L.S_PRESSURE]:.3f} on Iran (raw {s.SA[irn, L.S_RAW]:.3f}, of which "
            f"a leakage share of {s.SA[irn, L.S_LEAK]:.3f}") in text
    assert (f"{s.SA[rus, L.S_PRESSURE]:.3f} on Russia (raw {s.SA[rus, L.S_RAW]:.3f}, "
            f"leakage {s.SA[rus, L.S_LEAK]:.3f})") in text
    # the same starting pressure on Iran turned into growth lost (7.6)
    damage = cs.W[L.W_DAMAGE] * s.SA[irn, L.S_PRESSURE] * 100
    assert f"({s.SA[irn, L.S_PRESSURE]:.3f}) into {damage:.1f} points of growth" in text


def odd_pressure(W, AP, SANC, TRADE):
    """Raw pressure, leakage and effective pressure by the equations of ODD section 7.5."""
    n = AP.shape[0]
    lev = AP[:, L.A_LEVERAGE]
    busting = AP[:, L.A_BUSTING]
    raw = np.empty(n)
    leak = np.empty(n)
    for j in range(n):
        others = [i for i in range(n) if i != j]
        raw[j] = 1 - np.prod([1 - SANC[i, j] * lev[i] for i in others])
        total = 0.0
        for k in others:
            hit = max((SANC[i, k] for i in range(n) if i != k), default=0.0)
            total += TRADE[j, k] * busting[k] * (1 - hit) * (1 - SANC[k, j])
        leak[j] = min(W[L.W_MAX_LEAK],
                      (1 - W[L.W_COALITION]) * W[L.W_LEAK_GAIN] * total)
    return raw, leak, raw * (1 - leak)


unit = st.floats(0.0, 1.0, allow_nan=False)


@given(data=st.data(), n=st.integers(2, 5))
def test_pressure_equation_matches_update_pressure(data, n):
    AP = np.zeros((n, L.NA))
    AP[:, L.A_LEVERAGE] = data.draw(st.lists(unit, min_size=n, max_size=n))
    AP[:, L.A_BUSTING] = data.draw(st.lists(unit, min_size=n, max_size=n))
    SANC = np.array(data.draw(st.lists(unit, min_size=n * n, max_size=n * n))).reshape(n, n)
    np.fill_diagonal(SANC, 0.0)
    TRADE = np.array(data.draw(st.lists(unit, min_size=n * n, max_size=n * n))).reshape(n, n)
    np.fill_diagonal(TRADE, 0.0)
    TRADE /= np.maximum(1.0, TRADE.sum(axis=1, keepdims=True))
    W = np.zeros(L.NW)
    W[L.W_COALITION] = data.draw(unit)
    W[L.W_LEAK_GAIN] = data.draw(st.floats(0.0, 10.0))
    W[L.W_MAX_LEAK] = data.draw(unit)
    SA = np.zeros((n, L.NSA))
    update_pressure(W, AP, SA, SANC, TRADE)
    raw, leak, eff = odd_pressure(W, AP, SANC, TRADE)
    np.testing.assert_allclose(SA[:, L.S_RAW], raw, atol=1e-12)
    np.testing.assert_allclose(SA[:, L.S_LEAK], leak, atol=1e-12)
    np.testing.assert_allclose(SA[:, L.S_PRESSURE], eff, atol=1e-12)


def test_relief_and_ceasefire_equations_match_decide_track():
    """Zone of agreement, deal chance and Nash terms of ODD section 7.10, draw by draw."""
    from sim.rng import DEAL
    from sim.rules import decide_track

    model = sim.DiplomacyModel("baseline", seed=5).run(10)
    s = model.state
    month = 11
    relief = model.compiled.track_ids.index("relief")
    cease = model.compiled.track_ids.index("ceasefire")
    # Put both tracks where a deal is possible, so the deal branch is exercised: enough trust, a
    # ripe stalemate, no deal in force.
    s.TS[:, L.TS_TRUST] = 0.8
    s.TS[:, L.TS_ACTIVE] = 0.0
    s.TS[cease, L.TS_STALEMATE] = s.TP[cease, L.T_STALE_MONTHS]
    s.G[L.G_CEASEFIRE] = 0.0
    TP, AP, SA, AFF, RP = s.TP, s.AP, s.SA, s.AFF, s.RP

    # relief, by the text
    p = int(TP[relief, L.T_PARTY])
    ties = max([0.0] + [AFF[p, int(RP[r, L.R_RECIPIENT])] for r in range(RP.shape[0])
                        if int(RP[r, L.R_SUPPLIER]) == p and RP[r, L.R_OPEN] >= 0.5])
    h = TP[relief, L.T_HALT_COST] * ties
    members = [i for i in range(AP.shape[0]) if s.TM[relief, i] > 0]
    w = [max(AP[i, L.A_LEVERAGE], 1e-9) for i in members]
    x_max = sum(wi * AP[i, L.A_OFFER] * AP[i, L.A_COHESION]
                for wi, i in zip(w, members, strict=True)) / sum(w)
    x_min = h / SA[p, L.S_PRIO]
    assert 0 < x_min <= x_max, "the baseline should have a zone of agreement here"
    chance = TP[relief, L.T_BASE_RATE] * 0.8 * (x_max - x_min) / x_max
    # ceasefire, by the text
    a = int(TP[cease, L.T_PARTY])
    rate = min(1.0, TP[cease, L.T_BASE_RATE] * 0.8 * (1 + TP[cease, L.T_MED_BONUS]))
    att, dfd = int(s.W[L.W_ATTACKER]), int(s.W[L.W_DEFENDER])
    line = np.clip(s.G[L.G_BALANCE] + 0.5 * (AP[dfd, L.A_WAR_EXP] - AP[att, L.A_WAR_EXP])
                   * s.G[L.G_INTENSITY], -1, 1)
    deals = {relief: 0, cease: 0}
    for seed in range(200):
        key = np.uint64(seed)
        for t, party, prob, terms in ((relief, p, chance, 0.5 * (x_min + x_max)),
                                      (cease, a, rate, line)):
            decide_track(t, key, 0, month, s.W, AP, RP, TP, s.TM, SA, AFF, s.TS, s.G, s.DT)
            assert s.DT[t, L.DT_ZOPA] == 1.0
            expected = uniform(key, 0, month, party, t, DEAL) < prob
            assert s.DT[t, L.DT_DEAL] == float(expected), (t, seed)
            if expected:
                assert s.DT[t, L.DT_TERMS] == pytest.approx(terms, abs=1e-12)
                deals[t] += 1
    assert 0 < deals[relief] < 200 and 0 < deals[cease] < 200


def test_economy_equation_matches_one_month():
    """GDP index and adaptation after one month follow ODD section 7.6 to 1e-12."""
    from sim.rng import SHOCK, normal

    model = sim.DiplomacyModel("baseline", seed=3, run=2).run(8)
    s = model.state
    y0 = s.SA[:, L.S_GDP].copy()
    a0 = s.SA[:, L.S_ADAPT].copy()
    intensity0 = s.G[L.G_INTENSITY]
    model.step()
    month = model.month
    W, AP = s.W, s.AP
    for j in range(AP.shape[0]):
        pressure = s.SA[j, L.S_PRESSURE]
        x = sum(s.TS[t, L.TS_TERMS] for t in range(s.TP.shape[0])
                if int(s.TP[t, L.T_KIND]) == L.TRACK_RELIEF and int(s.TP[t, L.T_PARTY]) == j
                and s.TS[t, L.TS_ACTIVE] >= 0.5)
        damage = W[L.W_DAMAGE] * pressure * (1 - a0[j])
        war = W[L.W_WAR_COST] * AP[j, L.A_WAR_EXP] * intensity0
        revenue = 12 * s.SA[j, L.S_REVENUE] / (1000 * AP[j, L.A_GDP] * y0[j])
        g = ((AP[j, L.A_GROWTH] - damage - war + revenue + W[L.W_RELIEF_BOOST] * x) / 12
             + W[L.W_SHOCK] * normal(model.rng_key, 2, month, j, 0, SHOCK) / math.sqrt(12))
        assert s.SA[j, L.S_GDP] == pytest.approx(y0[j] * math.exp(g), rel=1e-12), j
        adapted = a0[j] + W[L.W_ADAPT] * (1 - a0[j]) if pressure > 0.01 else a0[j]
        assert s.SA[j, L.S_ADAPT] == pytest.approx(adapted, abs=1e-15), j


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
