"""Scenario files: the bundled ones load, and every fault a hand-written file can have is
refused with a ScenarioError naming the file and the key path (and nothing else is raised).

The corruption strategy below works on the baseline's raw dict the way a student editing the
TOML would go wrong: an unknown key at any depth, a wrong type anywhere, a figure outside its
bounds, NaN or infinity, a reference to an actor or category that does not exist, an event in
month 0 or past the horizon or on a key that is not a numeric parameter, a bloc with no members,
trade shares adding up to more than 1, and TOML that does not parse.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest
import tomli_w
from builders import ScenarioBuilder
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import sim
from sim.core import layout as L
from sim.scenario import ScenarioError, load_scenario, parse_override_value, schema

BASE = load_scenario("baseline")
RAW = BASE.raw
HORIZON = BASE.horizon
ACTORS = list(RAW["actors"])
CATEGORIES = list(RAW["categories"])

# --------------------------------------------------------------------------------------------
# Where things are: the tables of the baseline and the schema model of each
# --------------------------------------------------------------------------------------------


def tables() -> list[tuple[tuple, type[BaseModel]]]:
    """(path, schema model) of every fixed-schema table in the baseline's raw dict."""
    out: list[tuple[tuple, type[BaseModel]]] = [
        ((), schema.ScenarioSpec), (("meta",), schema.Meta), (("teaching",), schema.Teaching),
        (("world",), schema.World), (("theatre",), schema.Theatre),
        (("outcomes",), schema.Outcomes),
    ]
    for section, model in (("actors", schema.Actor), ("categories", schema.Category),
                           ("routes", schema.Route), ("tracks", schema.Track)):
        out += [((section, key), model) for key in RAW[section]]
    for section, model in (("relations", schema.Relation), ("trade", schema.Trade),
                           ("sanctions", schema.Sanction), ("events", schema.Event)):
        out += [((section, k), model) for k in range(len(RAW[section]))]
    return out


TABLES = tables()


def known_names(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    names |= {f.alias for f in model.model_fields.values() if f.alias}
    return names


@dataclass(frozen=True)
class Bound:
    """A numeric field of a schema model with its closed bounds."""

    name: str
    lo: float | None
    hi: float | None
    integer: bool


def numeric_fields(model: type[BaseModel]) -> list[Bound]:
    out = []
    for name, f in model.model_fields.items():
        if f.annotation not in (float, int):
            continue
        lo = hi = None
        for m in f.metadata:
            lo = getattr(m, "ge", lo)
            hi = getattr(m, "le", hi)
        out.append(Bound(f.alias or name, lo, hi, f.annotation is int))
    return out


def leaves(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, value) in the raw dict, containers included (not the root)."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else []
    for key, value in items:
        out.append(((*path, key), value))
        out += leaves(value, (*path, key))
    return out


LEAVES = leaves(RAW)

# Event-settable numeric parameters with their bounds: (dotted key, Bound).
EVENT_KEYS: list[tuple[str, Bound]] = []
for _section, _fields, _model in (("world", L.WORLD_FIELDS, schema.World),
                                  ("theatre", L.THEATRE_FIELDS, schema.Theatre)):
    EVENT_KEYS += [(f"{_section}.{b.name}", b) for b in numeric_fields(_model)
                   if b.name in _fields]
for _section, _fields, _model in (("actors", L.ACTOR_FIELDS, schema.Actor),
                                  ("categories", L.CATEGORY_FIELDS, schema.Category),
                                  ("routes", L.ROUTE_FIELDS, schema.Route),
                                  ("tracks", L.TRACK_FIELDS, schema.Track)):
    for _id in RAW[_section]:
        EVENT_KEYS += [(f"{_section}.{_id}.{b.name}", b) for b in numeric_fields(_model)
                       if b.name in _fields]

NOT_EVENT_KEYS = [
    "meta.title", "meta.horizon", "actors.IRN.name", "actors.IRN.kind", "actors.NATO.members",
    "actors.IRN", "actors.IRN.capacity", "actors.IRN.capacity.lasers", "actors.ATLANTIS.gdp",
    "routes.iran_russia_drones.supplier", "routes.nowhere.open", "categories.drones.unit",
    "categories.production_assistance.builds", "tracks.relief.kind", "tracks.relief.party",
    "tracks.relief.counterparts", "theatre.attacker", "theatre.defender", "world.nonsense",
    "world", "relations.0.affinity", "trade.0.share", "sources.world", "", ".", "actors..gdp",
    "world.leak_gain.x", "teaching.description",
]

# --------------------------------------------------------------------------------------------
# The corruption strategy
# --------------------------------------------------------------------------------------------


@dataclass
class Corruption:
    """Assignments into the raw dict (path -> value) and the key path the error must name."""

    kind: str
    sets: dict[tuple, Any]
    expected: str
    also: frozenset[str] = field(default_factory=frozenset)  # other acceptable key paths

    def apply(self, raw: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(raw)
        for path, value in self.sets.items():
            node = out
            for part in path[:-1]:
                node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
            node[path[-1]] = value
        return out

    def overrides(self) -> dict[str, Any]:
        return {".".join(map(str, p)): v for p, v in self.sets.items()}

    def accepts(self, key: str) -> bool:
        return key == self.expected or key in self.also


def dotted(path: tuple) -> str:
    return ".".join(map(str, path))


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True)
big = st.floats(1e-6, 1e6)


def outside(b: Bound, draw) -> float | int:
    """A value just or far outside the bounds of ``b``."""
    sides = [s for s, v in (("lo", b.lo), ("hi", b.hi)) if v is not None]
    side = draw(st.sampled_from(sides))
    if b.integer:
        step = draw(st.integers(1, 10**6))
        return int(b.lo) - step if side == "lo" else int(b.hi) + step
    gap = draw(big)
    value = b.lo - gap if side == "lo" else b.hi + gap
    assume_outside = value < b.lo if side == "lo" else value > b.hi
    if not assume_outside:  # gap lost to rounding next to a large bound
        value = -math.inf if side == "lo" else math.inf
    return value


def wrong_type_value(current: Any, draw) -> Any:
    """A TOML value of a different kind than ``current``."""
    number = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False))
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
    boolean = st.booleans()
    array = st.lists(st.one_of(number, text), max_size=3)
    table = st.dictionaries(names, number, max_size=2)
    if isinstance(current, bool):
        options = [number, text, array, table]
    elif isinstance(current, (int, float)):
        options = [text, boolean, array, table]
    elif isinstance(current, str):
        options = [number, boolean, array, table]
    elif isinstance(current, list):
        options = [number, text, boolean, table]
    else:
        options = [number, text, boolean, array]
    return draw(st.one_of(*options))


KINDS = (
    "unknown_key", "unknown_category_key", "wrong_type", "out_of_bounds", "not_finite",
    "unknown_actor", "unknown_category", "event_month_zero", "event_past_horizon",
    "event_not_numeric", "event_out_of_bounds", "bloc_without_members", "trade_over_one",
)


@st.composite
def corruptions(draw, kinds: tuple[str, ...] = KINDS) -> Corruption:
    """One domain-shaped fault in the baseline (see the module docstring)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "unknown_key":
        path, model = draw(st.sampled_from(TABLES))
        key = draw(names.filter(lambda k: k not in known_names(model)))
        value = draw(st.one_of(st.integers(0, 9), st.text(max_size=5), st.booleans()))
        return Corruption(kind, {(*path, key): value}, dotted((*path, key)))
    if kind == "unknown_category_key":
        aid = draw(st.sampled_from(ACTORS))
        table = draw(st.sampled_from(["capacity", "demand"]))
        cat = draw(names.filter(lambda c: c not in CATEGORIES))
        path = ("actors", aid, table, cat)
        return Corruption(kind, {path: draw(st.integers(0, 100))}, dotted(path))
    if kind == "wrong_type":
        path, current = draw(st.sampled_from(LEAVES))
        value = wrong_type_value(current, draw)
        if path[0] == "events" and path[-1] == "value" and isinstance(value, bool):
            value = "true"  # an event value may be a boolean; a string never
        return Corruption(kind, {path: value}, dotted(path))
    if kind in ("out_of_bounds", "not_finite"):
        path, model = draw(st.sampled_from([t for t in TABLES if numeric_fields(t[1])]))
        fields = numeric_fields(model)
        if kind == "not_finite":
            fields = [b for b in fields if not b.integer]
            if not fields:
                fields = numeric_fields(schema.World)
                path = ("world",)
            b = draw(st.sampled_from(fields))
            value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        else:
            b = draw(st.sampled_from([f for f in fields if f.lo is not None or f.hi is not None]))
            value = outside(b, draw)
        return Corruption(kind, {(*path, b.name): value}, dotted((*path, b.name)))
    if kind == "unknown_actor":
        sites = [(("routes", r, side),) for r in RAW["routes"] for side in ("supplier",
                                                                              "recipient")]
        sites += [(("tracks", t, "party"),) for t in RAW["tracks"]]
        sites += [(("tracks", t, "counterparts", k),) for t in RAW["tracks"]
                  for k in range(len(RAW["tracks"][t]["counterparts"]))]
        sites += [(("tracks", t, "mediator"),) for t in RAW["tracks"]
                  if RAW["tracks"][t].get("mediator")]
        sites += [(("relations", k, s),) for k in range(len(RAW["relations"])) for s in "ab"]
        sites += [(("trade", k, s),) for k in range(len(RAW["trade"])) for s in ("from", "to")]
        sites += [(("sanctions", k, s),) for k in range(len(RAW["sanctions"]))
                  for s in ("sender", "target")]
        sites += [(("theatre", s),) for s in ("attacker", "defender")]
        sites += [(("outcomes", "key_pairs", k, i),)
                  for k in range(len(RAW["outcomes"]["key_pairs"])) for i in (0, 1)]
        (path,) = draw(st.sampled_from(sites))
        who = draw(names.filter(lambda a: a not in ACTORS))
        return Corruption(kind, {path: who}, dotted(path))
    if kind == "unknown_category":
        sites = [("routes", r, "category") for r in RAW["routes"]]
        sites += [("categories", c, "builds") for c in RAW["categories"]]
        path = draw(st.sampled_from(sites))
        what = draw(names.filter(lambda c: c not in CATEGORIES))
        return Corruption(kind, {path: what}, dotted(path))
    if kind.startswith("event_"):
        k = draw(st.integers(0, len(RAW["events"]) - 1))
        if kind == "event_month_zero":
            return Corruption(kind, {("events", k, "month"): draw(st.integers(-10**6, 0))},
                              f"events.{k}.month")
        if kind == "event_past_horizon":
            month = draw(st.integers(HORIZON + 1, 10**9))
            return Corruption(kind, {("events", k, "month"): month}, f"events.{k}.month")
        if kind == "event_not_numeric":
            key = draw(st.one_of(st.sampled_from(NOT_EVENT_KEYS),
                                 st.lists(names, min_size=1, max_size=4).map(".".join)))
            return Corruption(kind, {("events", k, "key"): key}, f"events.{k}.key")
        key, b = draw(st.sampled_from([e for e in EVENT_KEYS
                                       if e[1].lo is not None or e[1].hi is not None]))
        value = outside(b, draw)
        if b.integer is False and isinstance(value, float) and math.isinf(value):
            value = b.hi + 1.0 if b.hi is not None else b.lo - 1.0
        # In the horizon's last month, which no other event uses (a key set twice in one month
        # is a fault of its own).
        return Corruption(kind, {("events", k, "key"): key, ("events", k, "value"): value,
                                 ("events", k, "month"): HORIZON}, f"events.{k}.value")
    if kind == "bloc_without_members":
        blocs = [a for a in ACTORS if RAW["actors"][a].get("kind") == "bloc"]
        aid = draw(st.sampled_from(blocs))
        return Corruption(kind, {("actors", aid, "members"): []}, f"actors.{aid}.members")
    # trade_over_one: raise one share of an actor so its shares add up to more than 1.
    k = draw(st.integers(0, len(RAW["trade"]) - 1))
    src = RAW["trade"][k]["from"]
    others = sum(t["share"] for j, t in enumerate(RAW["trade"]) if t["from"] == src and j != k)
    share = draw(st.floats(min(1.0, 1.0 - others + 1e-6), 1.0))
    running, first = 0.0, None
    for j, t in enumerate(RAW["trade"]):
        if t["from"] == src:
            running += share if j == k else t["share"]
            if running > 1.0 + 1e-9 and first is None:
                first = j
    return Corruption(kind, {("trade", k, "share"): share}, f"trade.{first}.share")


BAD_TOML = [
    "= 1", 'title = "no closing quote', "[actors", "x = [1, 2", "k = 1979-13-45",
    "dup = 1\ndup = 2", "[meta]\ntitle = 'again'", "k = 0x", "k = tru", "k = {a = 1,,}",
]


@st.composite
def broken_toml(draw) -> bytes:
    """The baseline as TOML text with a syntax fault inserted at a line boundary."""
    lines = tomli_w.dumps(RAW).splitlines()
    at = draw(st.integers(0, len(lines)))
    garbage = draw(st.sampled_from(BAD_TOML))
    if draw(st.booleans()):
        return "\n".join([*lines[:at], garbage, *lines[at:]]).encode()
    return b"\xff\xfe" + "\n".join(lines).encode() if draw(st.booleans()) else (
        "\n".join(lines).encode() + b"\ntitle2 = \"\xc3\x28\"\n")


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corrupt")


def check_error(err: ScenarioError, case: Corruption, source: str) -> None:
    assert isinstance(err, ValueError)
    assert case.accepts(err.key), f"{case.kind}: expected key {case.expected!r}, got {err}"
    assert err.source == source
    message = str(err)
    assert "\n" not in message and err.key in message and source in message


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40)
@given(data=st.data())
def test_every_corruption_of_a_file_is_a_scenario_error_naming_its_key(kind, data, case_dir):
    # Each kind of fault gets its own examples: a mixed draw would give the kinds with few
    # distinct cases (a bloc without members) almost none.
    case = data.draw(corruptions((kind,)), label="case")
    path = case_dir / f"{kind}.toml"
    path.write_text(tomli_w.dumps(case.apply(RAW)), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    check_error(info.value, case, str(path))


@settings(max_examples=200)
@given(case=corruptions())
def test_overrides_validate_like_the_file(case):
    # A dotted override cannot address a key that itself has a dot (the keys of [sources]).
    assume(not any("." in str(part) for path in case.sets for part in path))
    with pytest.raises(ScenarioError) as info:
        BASE.with_overrides(case.overrides())
    check_error(info.value, case, f"{BASE.source} (override)")


@settings(max_examples=60)
@given(text=broken_toml())
def test_text_that_is_not_toml_is_a_scenario_error(text, case_dir):
    path = case_dir / "broken.toml"
    path.write_bytes(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == "(file)"
    assert info.value.source == str(path)
    assert "\n" not in str(info.value)


def test_the_corruption_strategy_starts_from_a_valid_file(case_dir):
    # Without this, every "corruption" might be refused for a fault of the starting point.
    path = case_dir / "roundtrip.toml"
    path.write_text(tomli_w.dumps(RAW), encoding="utf-8")
    assert load_scenario(path).content_hash() == BASE.content_hash()


def test_the_union_of_an_event_value_is_named_by_its_key():
    with pytest.raises(ScenarioError) as info:
        BASE.with_overrides({"events.0.value": "high"})
    assert info.value.key == "events.0.value"


# --------------------------------------------------------------------------------------------
# Valid perturbations: a value anywhere inside its bounds is accepted
# --------------------------------------------------------------------------------------------


@st.composite
def valid_numeric_overrides(draw) -> dict[str, Any]:
    """Up to four numeric doctrine/economy parameters set to values inside their bounds."""
    out = {}
    for _ in range(draw(st.integers(1, 4))):
        key, b = draw(st.sampled_from(EVENT_KEYS))
        if key.endswith(("cohesion", "escalation_cap", "escalation_step", "stalemate_months",
                         "gdp", "price")) or ".capacity." in key:
            continue  # cross-field rules (state cohesion 1, cap > 0 with a step, a supplier's
            # arms sales within a year of its GDP) are tested apart
        lo = -1e6 if b.lo is None else b.lo
        hi = 1e6 if b.hi is None else b.hi
        out[key] = draw(st.integers(int(math.ceil(lo)), int(hi)) if b.integer else
                        st.floats(lo, hi, allow_nan=False))
    return out


@settings(max_examples=60)
@given(overrides=valid_numeric_overrides())
def test_any_value_inside_the_bounds_is_accepted(overrides):
    scn = BASE.with_overrides(overrides)
    for key, value in overrides.items():
        node: Any = scn.spec
        for part in key.split("."):
            node = node[part] if isinstance(node, dict) else getattr(node, part)
        assert node == value
    scn.compile()


# --------------------------------------------------------------------------------------------
# Bundled scenarios and overlays
# --------------------------------------------------------------------------------------------


def test_bundled_scenarios_and_policies_are_listed():
    assert {"baseline", "drones_only", "relief_first", "split_nato_leaky_brics"} <= set(
        sim.list_scenarios())
    assert {"status_quo", "maximum_pressure", "secondary_sanctions", "conditional_relief",
            "engagement"} <= set(sim.list_policies())


@pytest.mark.parametrize("name", sim.list_scenarios())
def test_every_bundled_scenario_loads_compiles_and_validates(name, tmp_path):
    scn = load_scenario(name)
    cs = scn.compile()
    assert cs.horizon == scn.horizon >= 1
    assert cs.AP.shape[0] == len(scn.spec.actors) and cs.RP.shape[0] == len(scn.spec.routes)
    assert scn.spec.teaching.description and scn.spec.teaching.notice and scn.spec.teaching.try_
    # Written out as one self-contained file, it is the same scenario.
    again = load_scenario(write(tmp_path / f"{name}_copy.toml", scn.to_toml()))
    assert again.content_hash() == scn.content_hash()


@pytest.mark.parametrize("policy", sim.list_policies())
@pytest.mark.parametrize("name", sim.list_scenarios())
def test_every_policy_applies_to_every_bundled_scenario(name, policy):
    scn = load_scenario(name, policy=policy)
    scn.compile()
    assert scn.policies == (policy,)
    base = load_scenario(name)
    # The overlay changed doctrine keys of actors only.
    before, after = base.spec.model_dump(), scn.spec.model_dump()
    for section in before:
        if section != "actors":
            assert before[section] == after[section], section
    for aid in before["actors"]:
        for key, value in before["actors"][aid].items():
            if key not in schema.DOCTRINE_KEYS:
                assert after["actors"][aid][key] == value, (aid, key)


def test_a_policy_changes_what_it_names_and_nothing_else(baseline):
    scn = baseline.with_policy("maximum_pressure")
    assert scn.spec.actors["USA"].escalation_step == 0.3
    assert scn.spec.actors["EU"].audience_cost == 100.0
    assert scn.spec.actors["USA"].credibility == baseline.spec.actors["USA"].credibility
    assert scn.content_hash() != baseline.content_hash()
    assert baseline.with_policy("status_quo").content_hash() == baseline.content_hash()


def test_the_what_ifs_differ_from_the_baseline_where_they_say(baseline):
    drones = load_scenario("drones_only")
    assert all(e.key != "routes.iran_russia_missiles.open" for e in drones.spec.events)
    split = load_scenario("split_nato_leaky_brics")
    assert split.spec.actors["NATO"].cohesion < baseline.spec.actors["NATO"].cohesion
    assert split.spec.actors["BRICS"].busting > baseline.spec.actors["BRICS"].busting
    relief = load_scenario("relief_first")
    assert relief.spec.actors["IRN"].relief_priority > baseline.spec.actors["IRN"].relief_priority
    # What-ifs inherit everything else.
    assert drones.spec.world == baseline.spec.world
    assert drones.spec.actors["IRN"] == baseline.spec.actors["IRN"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "key"), [
    ("[actors.USA]\ngdp = 1.0\n", "actors.USA.gdp"),
    ("[actors.USA]\ncredibility = 0.9\n", "actors.USA.credibility"),
    ("[world]\nleak_gain = 0.0\n", "world"),
    ("[routes.iran_russia_drones]\nopen = 0.0\n", "routes"),
    ("[actors.USA]\nescalation_step = 1.5\n", "actors.USA.escalation_step"),
    ("[actors.USA]\nescalation_step = 'fast'\n", "actors.USA.escalation_step"),
    ("[actors]\nUSA = 3\n", "actors.USA"),
    ("[policy]\ntitle = 'x'\nauthor = 'me'\n", "policy"),
    ("actors = 5\n", "actors"),
    ("[actors.UAS]\nescalation_step = 0.3\n", "actors.UAS"),  # a typo is not skipped
])
def test_an_overlay_may_only_set_doctrine_keys(tmp_path, baseline, body, key):
    path = write(tmp_path / "mine.toml", body)
    with pytest.raises(ScenarioError) as info:
        baseline.with_policy(path)
    assert info.value.key == key
    assert info.value.source == str(path)


def test_a_bundled_overlay_skips_actors_a_scenario_lacks(tmp_path):
    lean = ScenarioBuilder.from_scenario("baseline").without_actor("EU").build(tmp_path, "lean")
    assert "EU" not in lean.spec.actors and all(s.sender != "EU" for s in lean.spec.sanctions)
    assert lean.spec.tracks["relief"].counterparts == ["USA"]
    scn = lean.with_policy("maximum_pressure")
    assert scn.spec.actors["USA"].escalation_step == 0.3 and "EU" not in scn.spec.actors


@pytest.mark.parametrize("key", sorted(schema.Actor.model_fields))
def test_an_overlay_sets_exactly_the_doctrine_keys(tmp_path, baseline, key):
    field = schema.Actor.model_fields[key]
    numeric = field.annotation is float
    lo = max([getattr(m, "ge", None) for m in field.metadata if getattr(m, "ge", None) is not None],
             default=0.0)
    number = max(0.5, lo)  # inside the field's bounds
    value = number if numeric else '"x"'
    path = write(tmp_path / "p.toml", f"[actors.USA]\n{key} = {value}\n")
    if key in schema.DOCTRINE_KEYS:
        assert numeric
        assert getattr(baseline.with_policy(path).spec.actors["USA"], key) == number
    else:
        with pytest.raises(ScenarioError) as info:
            baseline.with_policy(path)
        assert info.value.key == f"actors.USA.{key}" and "doctrine" in info.value.fault


def test_a_user_overlay_file_applies(tmp_path, baseline):
    path = write(tmp_path / "hawk.toml", "[policy]\ntitle = 'Hawk'\n\n[actors.EU]\n"
                 "escalation_step = 0.25\nsecondary = 0.5\n")
    scn = load_scenario("baseline", policy=str(path))
    assert scn.spec.actors["EU"].escalation_step == 0.25
    assert scn.spec.actors["EU"].secondary == 0.5
    assert scn.policies == ("hawk",)


def test_an_unknown_policy_name_is_refused(baseline):
    with pytest.raises(ScenarioError) as info:
        baseline.with_policy("appeasement")
    assert "maximum_pressure" in str(info.value)  # the error lists the known overlays


def test_an_unknown_scenario_name_is_refused_with_the_known_ones():
    with pytest.raises(ScenarioError) as info:
        load_scenario("baseline2")
    assert "baseline" in info.value.fault


def test_extends_cycles_are_refused(tmp_path):
    write(tmp_path / "a.toml", 'extends = "b.toml"\n[meta]\ntitle = "A"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n[meta]\ntitle = "B"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "a.toml")
    assert info.value.key == "extends"
    write(tmp_path / "self.toml", 'extends = "self.toml"\n[meta]\ntitle = "S"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "self.toml")
    assert info.value.key == "extends"


def test_extends_of_something_missing_names_the_file_and_key(tmp_path):
    path = write(tmp_path / "child.toml", 'extends = "no_such_parent"\n[meta]\ntitle = "C"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == "extends" and info.value.source == str(path)
    path = write(tmp_path / "child2.toml", 'extends = "gone.toml"\n[meta]\ntitle = "C"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == "extends" and info.value.source == str(path)
    path = write(tmp_path / "child3.toml", 'extends = 3\n[meta]\ntitle = "C"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == "extends"


def test_a_user_file_may_extend_a_bundled_scenario(tmp_path, baseline):
    path = write(tmp_path / "mine.toml", 'extends = "baseline"\n[meta]\ntitle = "Mine"\n\n'
                 "[categories.missiles]\ndetection = 0.6\n")
    scn = load_scenario(path)
    assert scn.spec.categories["missiles"].detection == 0.6
    assert scn.spec.categories["drones"] == baseline.spec.categories["drones"]
    assert scn.spec.meta.title == "Mine"


def test_loading_never_executes_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {marker}')"
    text = tomli_w.dumps(RAW).replace(
        'title = "Baseline', f'title = "{payload} Baseline', 1)
    text = text.replace('[sources]', f'[sources]\n"world.shock_sd" = "{payload}"', 1)
    path = write(tmp_path / "sneaky.toml", text)
    scn = load_scenario(path)
    assert scn.spec.meta.title.startswith(payload)
    assert scn.spec.sources["world.shock_sd"] == payload
    # A value that looks like Python where a number belongs is just a wrong type.
    with pytest.raises(ScenarioError) as info:
        BASE.with_overrides({"world.leak_gain": parse_override_value(f"{payload}")})
    assert info.value.key == "world.leak_gain"
    assert parse_override_value("1 + 1") == "1 + 1"
    assert parse_override_value("0.3") == 0.3 and parse_override_value("true") is True
    assert not marker.exists()


def test_bundled_scenarios_are_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_scenario("baseline").content_hash() == BASE.content_hash()
    assert load_scenario("relief_first", policy="engagement").policies == ("engagement",)
    # And from a fresh process started elsewhere, with the package imported normally.
    # (The content hash is the same in another process: no dependence on hash randomisation.)
    code = "import sim; print(sim.load_scenario('drones_only').content_hash())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == load_scenario("drones_only").content_hash()


def test_overrides_set_nested_keys_and_refuse_unknown_ones(baseline):
    scn = baseline.with_overrides({"actors.USA.escalation_step": 0.3,
                                   "actors.RUS.demand.drones": 500,
                                   "relations.0.affinity": 0.9})
    assert scn.spec.actors["USA"].escalation_step == 0.3
    assert scn.spec.actors["RUS"].demand["drones"] == 500
    assert scn.spec.relations[0].affinity == 0.9
    assert baseline.spec.actors["USA"].escalation_step == 0.15  # the original is unchanged
    for key in ("actors.USA.escalation_stepp", "actors.USAA.gdp", "world.nope",
                "relations.99.affinity", "meta.title.x", "actors..gdp", "nowhere", "extends"):
        with pytest.raises(ScenarioError) as info:
            baseline.with_overrides({key: 0.3})
        assert info.value.key == key, info.value


def test_cross_field_rules_are_enforced(baseline):
    cases = {
        "actors.IRN.cohesion": ({"actors.IRN.cohesion": 0.5}),
        "actors.EU.escalation_cap": ({"actors.EU.escalation_cap": 0.0}),
        "routes.iran_russia_drones.recipient": ({"routes.iran_russia_drones.recipient": "IRN"}),
        "theatre.defender": ({"theatre.defender": "RUS"}),
        "tracks.ceasefire.party": ({"tracks.ceasefire.party": "IRN"}),
        "tracks.relief.counterparts.0": ({"tracks.relief.counterparts.0": "IRN"}),
        "categories.production_assistance.builds": (
            {"categories.production_assistance.builds": "production_assistance"}),
        "sanctions.0.target": ({"sanctions.0.target": "USA"}),
        "relations.1": ({"relations.1.b": "RUS"}),
        # An event may not break them either.
        "events.0.value": ({"events.0.key": "actors.IRN.cohesion", "events.0.value": 0.5}),
        "events.1.value": ({"events.1.key": "actors.BRICS.escalation_step",
                            "events.1.value": 0.2}),
    }
    for key, overrides in cases.items():
        with pytest.raises(ScenarioError) as info:
            baseline.with_overrides(overrides)
        assert info.value.key == key, info.value


def test_scenario_error_is_a_value_error_with_its_parts():
    err = ScenarioError("file.toml", "actors.X.gdp", "must be >= 0")
    assert isinstance(err, ValueError)
    assert str(err) == "file.toml: actors.X.gdp: must be >= 0"
    assert isinstance(sim.ScenarioError, type) and sim.ScenarioError is ScenarioError


def test_schema_unions_are_only_where_expected():
    # The key-path fix for union members (pydantic appends the member type to the location)
    # matters only where a field is a union; list them so a new one is noticed.
    unions = []
    for model in (schema.Meta, schema.World, schema.Actor, schema.Category, schema.Route,
                  schema.Track, schema.Theatre, schema.Relation, schema.Trade, schema.Sanction,
                  schema.Event):
        for name, f in model.model_fields.items():
            if get_origin(f.annotation) in (Union, types.UnionType) and get_args(f.annotation):
                unions.append(f"{model.__name__}.{name}")
    assert unions == ["Event.value"]


# --------------------------------------------------------------------------------------------
# The test builder (tests/builders.py) makes scenarios the loader accepts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sim.list_scenarios())
def test_the_builder_copies_a_bundled_scenario_exactly(tmp_path, name):
    built = ScenarioBuilder.from_scenario(name).build(tmp_path, name)
    assert built.content_hash() == load_scenario(name).content_hash()


@pytest.mark.parametrize("actor", [a for a in ACTORS if a not in (
    RAW["theatre"]["attacker"], RAW["theatre"]["defender"])])
def test_the_builder_removes_any_actor_but_the_warring_ones(tmp_path, actor):
    scn = ScenarioBuilder.from_scenario("baseline").without_actor(actor).build(tmp_path)
    assert actor not in scn.spec.actors
    assert actor not in str(scn.spec.model_dump(exclude={"teaching", "sources", "meta"}))
    scn.compile()


def test_the_builder_refuses_what_the_loader_refuses(tmp_path):
    builder = (ScenarioBuilder().actor("A").actor("B").category("c")
               .route("a_b", "A", "B", "c").sanction("A", "Z", 0.5))
    with pytest.raises(ScenarioError) as info:
        builder.build(tmp_path)
    assert info.value.key == "sanctions.0.target"
    # Overrides are validated like the file.
    two = ScenarioBuilder().actor("A").actor("B")
    assert two.build(tmp_path).spec.world.leak_gain == 1.5  # the default
    with pytest.raises(ScenarioError) as info:
        two.override("world.leak_gain", 11.0).build(tmp_path)
    assert info.value.key == "world.leak_gain"


@pytest.mark.parametrize(("overrides", "ok"), [
    ({"actors.IRN.gdp": 2.9e-78}, False),          # found by hypothesis: revenue share overflowed
    ({"actors.IRN.gdp": 1.5}, False),              # 128 USD mn a month at capacity = 1.54 bn a year
    ({"actors.IRN.gdp": 1.6}, True),
    ({"actors.IRN.gdp": 1.6, "categories.missiles.price": 10.0}, False),
    ({"actors.RUS.gdp": 1e-9}, True),              # Russia supplies no route
])
def test_arms_sales_at_capacity_cannot_exceed_the_suppliers_gdp(overrides, ok):
    base = sim.load_scenario("baseline")
    if ok:
        assert base.with_overrides(overrides).spec.actors
    else:
        with pytest.raises(ScenarioError, match="below a year of its arms sales"):
            base.with_overrides(overrides)
