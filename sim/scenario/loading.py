"""Scenario files: loading, validation, policy overlays, overrides and compilation to arrays.

A scenario is a TOML file read with :mod:`tomllib` (data only: nothing in it is ever executed)
and validated against :mod:`sim.scenario.schema`. Every fault is a :class:`ScenarioError` naming the
file, the dotted key and what is wrong, raised before any run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydantic import ValidationError

from sim.core import layout as L
from sim.core.identity import identity_key
from sim.errors import ScenarioError
from sim.scenario.schema import DOCTRINE_KEYS, Actor, ScenarioSpec


def _scenario_root() -> Path:
    try:
        root = resources.files("scenarios")
        path = Path(str(root))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "scenarios"


def scenario_dir() -> Path:
    """Folder of the bundled scenarios (works installed, editable or from a checkout)."""
    return _scenario_root()


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios, sorted."""
    return sorted(p.stem for p in scenario_dir().glob("*.toml"))


def list_policies() -> list[str]:
    """Names of the bundled policy overlays, sorted."""
    return sorted(p.stem for p in (scenario_dir() / "policies").glob("*.toml"))


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(label, "(file)", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(label, "(file)", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ScenarioError(label, "(file)", f"cannot be read ({exc.strerror})") from None
    return _parse_toml(text, label)


def _parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(label, "(file)", f"not valid TOML: {exc}") from None


def _resolve_path(name_or_path: str | Path, folder: Path, kind: str) -> Path:
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or path.exists() or "/" in text or "\\" in text:
        return path
    candidate = folder / f"{text}.toml"
    if candidate.exists():
        return candidate
    known = ", ".join(sorted(p.stem for p in folder.glob("*.toml")))
    raise ScenarioError(text, "(name)", f"no bundled {kind} of that name (known: {known})")


#: The lists of a scenario file that ``extends`` merges entry by entry, and the fields that key
#: an entry: a child's entry with the key of a parent's entry replaces it (whole), one with a
#: new key is appended, and one with ``remove = true`` deletes the parent's entry. Relations are
#: keyed by the unordered pair (``a``, ``b``). Every other key (tables) merges key by key, and
#: any other list (``outcomes.key_pairs``, ``teaching.notice``) is replaced whole.
MERGED_LISTS: dict[str, tuple[str, ...]] = {
    "relations": ("a", "b"), "trade": ("from", "to"), "sanctions": ("sender", "target"),
    "events": ("month", "key"),
}
#: The field of a list entry that deletes the parent's entry of the same key.
REMOVE = "remove"


def _merge(base: dict[str, Any], top: dict[str, Any], label: str = "",
           depth: int = 0) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in top.items():
        if depth == 0 and key in MERGED_LISTS and isinstance(value, list):
            parent = out.get(key, [])
            out[key] = _merge_list(key, parent if isinstance(parent, list) else [], value, label)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, label, depth + 1)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _entry_key(section: str, entry: Any) -> tuple[Any, ...] | None:
    """The key of a list entry (see :data:`MERGED_LISTS`), or None if it has none."""
    if not isinstance(entry, dict) or any(f not in entry for f in MERGED_LISTS[section]):
        return None
    parts = [json.dumps(entry[f], sort_keys=True, default=str) for f in MERGED_LISTS[section]]
    return tuple(sorted(parts)) if section == "relations" else tuple(parts)


def _entry_text(section: str, entry: dict[str, Any]) -> str:
    return ", ".join(f"{f} = {entry[f]!r}" for f in MERGED_LISTS[section])


def _merge_list(section: str, parent: list[Any], child: list[Any],
                label: str) -> list[Any]:
    """The parent's list of ``section`` with the child's entries merged in by key."""
    out = [copy.deepcopy(e) for e in parent]
    index = {k: i for i, e in enumerate(parent) if (k := _entry_key(section, e)) is not None}
    removed: set[int] = set()
    seen: set[tuple[Any, ...]] = set()
    for k, entry in enumerate(child):
        where = f"{section}.{k}"
        key = _entry_key(section, entry)
        if key is None:
            out.append(copy.deepcopy(entry))  # validation names the missing field
            continue
        if key in seen:
            raise ScenarioError(label, where, f"{_entry_text(section, entry)} given twice")
        seen.add(key)
        remove = entry.get(REMOVE, False)
        if not isinstance(remove, bool):
            raise ScenarioError(label, f"{where}.{REMOVE}", f"must be true or false (got "
                                f"{remove!r})")
        if remove:
            if key not in index:
                raise ScenarioError(label, f"{where}.{REMOVE}", f"the parent scenario has no "
                                    f"{section} entry with {_entry_text(section, entry)}")
            extra = sorted(set(entry) - {*MERGED_LISTS[section], REMOVE})
            if extra:
                raise ScenarioError(label, f"{where}.{extra[0]}", "an entry with remove = true "
                                    f"names only its key ({', '.join(MERGED_LISTS[section])})")
            removed.add(index[key])
            continue
        body = {f: copy.deepcopy(v) for f, v in entry.items() if f != REMOVE}
        if key in index:
            out[index[key]] = body
        else:
            out.append(body)
    return [e for i, e in enumerate(out) if i not in removed]


def _refuse_remove_without_parent(raw: dict[str, Any], label: str) -> None:
    for section in MERGED_LISTS:
        entries = raw.get(section)
        for k, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and REMOVE in entry:
                raise ScenarioError(label, f"{section}.{k}.{REMOVE}", "only a file with "
                                    "`extends` can remove an entry (of its parent)")


def _load_raw(path: Path, seen: tuple[Path, ...] = (), allow_paths: bool = True,
              text: str | None = None) -> dict[str, Any]:
    """The merged raw data of a scenario file (or of ``text``, labelled ``path``).

    With ``allow_paths`` False, ``extends`` may only name a bundled scenario: no other file is
    opened, so text from an untrusted user cannot make the loader read (or echo) the server's
    files. Bundled scenarios themselves extend with paths as usual.
    """
    label = str(path)
    raw = _read_toml(path, label) if text is None else _parse_toml(text, label)
    parent = raw.get("extends", "")
    if not parent:
        _refuse_remove_without_parent(raw, label)
    if parent:
        if not isinstance(parent, str):
            raise ScenarioError(label, "extends", "must be a scenario name or path (text)")
        if not allow_paths:
            known = list_scenarios()
            if parent not in known:
                raise ScenarioError(label, "extends", "may only name a bundled scenario "
                                    f"(known: {', '.join(known)}), not a path or another file")
            parent_path = scenario_dir() / f"{parent}.toml"
        else:
            try:
                parent_path = (path.parent / parent) if parent.endswith(".toml") else \
                    _resolve_path(parent, scenario_dir(), "scenario")
            except ScenarioError as exc:
                raise ScenarioError(label, "extends", exc.fault) from None
        if parent_path.resolve() in seen:
            raise ScenarioError(label, "extends", f"circular: {parent} extends itself")
        if not parent_path.is_file():
            raise ScenarioError(label, "extends", f"{parent_path} is not a scenario file")
        base = _load_raw(parent_path, (*seen, path.resolve()))
        base.pop("teaching", None)
        raw = _merge(base, {k: v for k, v in raw.items() if k != "extends"}, label)
    return raw


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _error_path(raw: dict[str, Any], err: dict[str, Any]) -> tuple[Any, ...]:
    """The key path of a validation error in the user's data.

    pydantic appends the member type of a union to the location (``events.0.value.float``);
    those parts are not keys of the input, so the path stops where the input does.
    """
    loc = tuple(err["loc"])
    if err["type"] in ("extra_forbidden", "missing"):
        return loc
    node: Any = raw
    for depth, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return loc[:depth] or loc
    return loc


def _describe(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    value = err.get("input")
    if isinstance(value, float) and math.isnan(value):
        return "NaN is not allowed"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{msg} (got {shown})"


def _validate(raw: dict[str, Any], label: str) -> ScenarioSpec:
    try:
        spec = ScenarioSpec.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        key = _loc(_error_path(raw, first))
        raise ScenarioError(label, key, _describe(first) + more) from None
    _check_references(spec, label)
    return spec


#: The most actors a scenario may have. The model's cost per run-month grows as about the
#: actor count to the power 2.7 (pairwise sanctions, affinity and pressure, and sanctioners
#: looking at every facilitator): a 200-actor scenario runs about 80 run-months a second on 2
#: cores against about 900,000 for the baseline's 6, so 1,000 runs of 36 months take about 8
#: minutes. Beyond 256 a single ensemble would take hours.
MAX_ACTORS = 256


def _check_references(spec: ScenarioSpec, label: str) -> None:
    actors = spec.actors
    cats = spec.categories

    def actor(key: str, name: str) -> None:
        if name not in actors:
            raise ScenarioError(label, key, f"unknown actor {name!r} (known: {', '.join(actors)})")

    if not actors:
        raise ScenarioError(label, "actors", "a scenario needs at least one actor")
    if len(actors) > MAX_ACTORS:
        raise ScenarioError(label, "actors", f"{len(actors)} actors; at most {MAX_ACTORS} (a "
                            "run's cost grows as about the cube of the actors: 200 take about "
                            "0.5 s a 36-month run on 2 cores, 10,000 times the baseline)")
    if len(actors) >= 1024 or len(spec.routes) >= 1024 or len(spec.tracks) >= 1024:
        raise ScenarioError(label, "actors", "at most 1023 actors, routes and tracks")
    for aid, a in actors.items():
        if a.kind == "bloc" and not a.members:
            raise ScenarioError(label, f"actors.{aid}.members", "a bloc needs its member list")
        if a.kind == "state" and a.cohesion != 1.0:
            raise ScenarioError(label, f"actors.{aid}.cohesion",
                                "only a bloc has a cohesion below 1 (a state acts as one)")
        if a.escalation_step > 0 and a.escalation_cap <= 0:
            raise ScenarioError(label, f"actors.{aid}.escalation_cap",
                                "must be above 0 when escalation_step is above 0")
        for other in a.backs:
            actor(f"actors.{aid}.backs", other)
            if other == aid:
                raise ScenarioError(label, f"actors.{aid}.backs", "an actor cannot back itself")
        for table in ("capacity", "demand", "built"):
            for cat, units in getattr(a, table).items():
                if cat not in cats:
                    raise ScenarioError(label, f"actors.{aid}.{table}.{cat}",
                                        f"unknown category (known: {', '.join(cats)})")
                if not math.isfinite(units) or units < 0:
                    raise ScenarioError(label, f"actors.{aid}.{table}.{cat}",
                                        f"must be a finite number >= 0 (got {units!r})")
    for cid, c in cats.items():
        if c.builds and c.builds not in cats:
            raise ScenarioError(label, f"categories.{cid}.builds", f"unknown category {c.builds!r}")
        if c.builds == cid:
            raise ScenarioError(label, f"categories.{cid}.builds", "cannot build itself")
    for rid, r in spec.routes.items():
        actor(f"routes.{rid}.supplier", r.supplier)
        actor(f"routes.{rid}.recipient", r.recipient)
        if r.supplier == r.recipient:
            raise ScenarioError(label, f"routes.{rid}.recipient", "same as the supplier")
        if r.category not in cats:
            raise ScenarioError(label, f"routes.{rid}.category",
                                f"unknown category {r.category!r} (known: {', '.join(cats)})")
    # Arms exports are part of GDP: a supplier whose sales at full capacity exceed its monthly
    # GDP has a GDP or a capacity that cannot both be right (and its arms revenue, a share of
    # GDP in the growth equation, would overflow).
    for aid, a in actors.items():
        sales = sum(a.capacity.get(r.category, 0.0) * cats[r.category].price
                    for r in spec.routes.values() if r.supplier == aid)
        if sales > a.gdp * 1000.0 / 12.0:
            raise ScenarioError(label, f"actors.{aid}.gdp",
                                f"{a.gdp!r} USD bn is below a year of its arms sales at full "
                                f"capacity ({12 * sales / 1000:.4g} USD bn: capacity x price "
                                "over its routes); raise the GDP or lower the capacity")
    # The theatre before the tracks: a ceasefire's party is checked against its attacker.
    actor("theatre.attacker", spec.theatre.attacker)
    actor("theatre.defender", spec.theatre.defender)
    if spec.theatre.attacker == spec.theatre.defender:
        raise ScenarioError(label, "theatre.defender", "same as the attacker")
    for tid, t in spec.tracks.items():
        actor(f"tracks.{tid}.party", t.party)
        if not t.counterparts:
            raise ScenarioError(label, f"tracks.{tid}.counterparts", "needs at least one actor")
        for k, name in enumerate(t.counterparts):
            actor(f"tracks.{tid}.counterparts.{k}", name)
            if name == t.party:
                raise ScenarioError(label, f"tracks.{tid}.counterparts.{k}",
                                    "the party cannot be its own counterpart")
        if t.mediator:
            actor(f"tracks.{tid}.mediator", t.mediator)
        if t.kind == "ceasefire" and t.party != spec.theatre.attacker:
            raise ScenarioError(label, f"tracks.{tid}.party",
                                "a ceasefire's party must be the theatre's attacker")
    pairs = set()
    for k, rel in enumerate(spec.relations):
        actor(f"relations.{k}.a", rel.a)
        actor(f"relations.{k}.b", rel.b)
        pair = frozenset((rel.a, rel.b))
        if rel.a == rel.b:
            raise ScenarioError(label, f"relations.{k}.b", "an actor has no relation to itself")
        if pair in pairs:
            raise ScenarioError(label, f"relations.{k}", f"{rel.a}-{rel.b} given twice")
        pairs.add(pair)
    shares: dict[str, float] = {}
    links: set[tuple[str, str]] = set()
    for k, tr in enumerate(spec.trade):
        actor(f"trade.{k}.from", tr.source)
        actor(f"trade.{k}.to", tr.to)
        if tr.source == tr.to:
            raise ScenarioError(label, f"trade.{k}.to", "trade with itself")
        if (tr.source, tr.to) in links:
            raise ScenarioError(label, f"trade.{k}", f"{tr.source} to {tr.to} given twice")
        links.add((tr.source, tr.to))
        shares[tr.source] = shares.get(tr.source, 0.0) + tr.share
        if shares[tr.source] > 1.0 + 1e-9:
            raise ScenarioError(label, f"trade.{k}.share",
                                f"{tr.source}'s trade shares add up to more than 1")
    imposed: set[tuple[str, str]] = set()
    for k, sanc in enumerate(spec.sanctions):
        actor(f"sanctions.{k}.sender", sanc.sender)
        actor(f"sanctions.{k}.target", sanc.target)
        if sanc.sender == sanc.target:
            raise ScenarioError(label, f"sanctions.{k}.target", "an actor cannot sanction itself")
        if (sanc.sender, sanc.target) in imposed:
            raise ScenarioError(label, f"sanctions.{k}",
                                f"{sanc.sender} on {sanc.target} given twice")
        imposed.add((sanc.sender, sanc.target))
    for k, pair in enumerate(spec.outcomes.key_pairs):
        if len(pair) != 2:
            raise ScenarioError(label, f"outcomes.key_pairs.{k}", "a pair names two actors")
        for i, name in enumerate(pair):
            actor(f"outcomes.key_pairs.{k}.{i}", name)
    scheduled: set[tuple[int, str]] = set()
    for k, ev in enumerate(spec.events):
        if (ev.month, ev.key) in scheduled:
            raise ScenarioError(label, f"events.{k}", f"{ev.key} is set twice in month "
                                f"{ev.month}")
        scheduled.add((ev.month, ev.key))
        if ev.month > spec.meta.horizon:
            raise ScenarioError(label, f"events.{k}.month",
                                f"month {ev.month} is past the horizon ({spec.meta.horizon})")
        table, _, _ = _event_target(spec, ev.key, f"events.{k}.key", label)
        _check_event_value(spec, ev.key, float(ev.value), table, f"events.{k}.value", label)
    for key in spec.sources:
        if key.split(".")[0] not in ScenarioSpec.model_fields:
            raise ScenarioError(label, f"sources.{key}", "names no section of the scenario")


def scenario_warnings(spec: ScenarioSpec) -> list[str]:
    """Silent traps of a valid scenario, one line each (``diplosim validate`` prints them).

    A sanctioner threatens and escalates only against an actor it is hostile to (affinity
    below 0, see ``threat_against`` and ``decide_sanctions`` in :mod:`sim.core.rules`), and an
    actor missing from ``relations`` starts at affinity 0 with everyone. So a new actor given
    no relation is never threatened nor sanctioned, whatever it ships; these warnings say so
    before a run does.
    """
    out: list[str] = []
    start = {frozenset((r.a, r.b)): r.affinity for r in spec.relations}
    related = {a for pair in start for a in pair}
    sanctioners = [a for a, act in spec.actors.items() if act.escalation_step > 0]

    def hostile(i: str, j: str) -> bool:
        return start.get(frozenset((i, j)), 0.0) < 0.0

    for aid in spec.actors:
        if aid not in related:
            out.append(f"actors.{aid}: no relation with any actor (no `relations` entry names "
                       "it): it starts at affinity 0 with everyone, and sanctioners act only "
                       "against actors they are hostile to (affinity < 0)")
    for aid in sanctioners:
        if aid in related and not any(hostile(aid, j) for j in spec.actors if j != aid):
            out.append(f"actors.{aid}: escalation_step > 0 but it starts hostile to no actor "
                       "(affinity < 0), so it never threatens nor escalates")
    warned: set[str] = set()
    for rid, route in spec.routes.items():
        cat = spec.categories[route.category]
        sup = route.supplier
        if (cat.detection <= 0 or cat.escalation_weight <= 0 or sup not in related
                or sup in warned):
            continue
        if not any(hostile(i, sup) for i in sanctioners if i != sup):
            warned.add(sup)
            out.append(f"routes.{rid}: no sanctioner (escalation_step > 0) starts hostile to "
                       f"its supplier {sup} (affinity < 0), so its transfers are never "
                       "threatened nor sanctioned")
    return out


def _event_target(spec: ScenarioSpec, key: str, where: str, label: str) -> tuple[int, int, int]:
    """(table, row, column) of the parameter an event sets; ScenarioError if none."""
    parts = key.split(".")

    def fail(why: str) -> ScenarioError:
        return ScenarioError(label, where, f"{key!r}: {why}")

    head = parts[0]
    if head == "packages":
        # packages.SENDER.TARGET: the sender imposes a package on the target that month
        if len(parts) != 3:
            raise fail("a package is packages.SENDER.TARGET")
        for who in parts[1:]:
            if who not in spec.actors:
                raise fail(f"unknown actor {who!r}")
        if parts[1] == parts[2]:
            raise fail("an actor cannot sanction itself")
        order = canonical_order(spec.actors)
        return L.EV_PACKAGE, order.index(parts[1]), order.index(parts[2])
    if head in ("world", "theatre") and len(parts) == 2:
        fields = L.WORLD_FIELDS if head == "world" else L.THEATRE_FIELDS
        if parts[1] not in fields:
            raise fail(f"not a numeric {head} parameter")
        return L.EV_WORLD, 0, fields[parts[1]]
    tables = {"actors": (spec.actors, L.ACTOR_FIELDS, L.EV_ACTOR),
              "categories": (spec.categories, L.CATEGORY_FIELDS, L.EV_CATEGORY),
              "routes": (spec.routes, L.ROUTE_FIELDS, L.EV_ROUTE),
              "tracks": (spec.tracks, L.TRACK_FIELDS, L.EV_TRACK)}
    if head not in tables or len(parts) not in (3, 4):
        raise fail("not a parameter events can set (world.*, theatre.*, actors.ID.*, "
                   "categories.ID.*, routes.ID.*, tracks.ID.*, packages.SENDER.TARGET)")
    items, fields, table = tables[head]
    if parts[1] not in items:
        raise fail(f"unknown {head[:-1]} {parts[1]!r}")
    row = canonical_order(items).index(parts[1])
    if head == "actors" and len(parts) == 4 and parts[2] in ("capacity", "demand"):
        if parts[3] not in spec.categories:
            raise fail(f"unknown category {parts[3]!r}")
        t = L.EV_CAPACITY if parts[2] == "capacity" else L.EV_DEMAND
        return t, row, canonical_order(spec.categories).index(parts[3])
    if len(parts) != 3 or parts[2] not in fields:
        raise fail(f"not a numeric {head[:-1]} parameter")
    return table, row, fields[parts[2]]


def _check_event_value(spec: ScenarioSpec, key: str, value: float, table: int, where: str,
                       label: str) -> None:
    """An event's value must satisfy the bounds of the parameter it sets."""
    parts = key.split(".")
    if table == L.EV_PACKAGE:
        if not 0.0 <= value <= 1.0:
            raise ScenarioError(label, where, f"a package is the share of the target's remaining "
                                f"exposure it cuts, in [0, 1] (got {value!r})")
        return
    if table in (L.EV_CAPACITY, L.EV_DEMAND):
        if not math.isfinite(value) or value < 0:
            raise ScenarioError(label, where, f"units must be finite and >= 0 (got {value!r})")
        return
    if parts[0] in ("world", "theatre"):
        section = getattr(spec, parts[0])
    else:
        section = getattr(spec, parts[0])[parts[1]]
    body = section.model_dump(by_alias=True)
    body[parts[-1]] = value
    try:
        updated = type(section).model_validate(body)
    except ValidationError as exc:
        raise ScenarioError(label, where, _describe(exc.errors()[0])) from None
    # The rules the file obeys hold after the event too.
    if isinstance(updated, Actor):
        if updated.kind == "state" and updated.cohesion != 1.0:
            raise ScenarioError(label, where, "only a bloc has a cohesion below 1 (a state acts "
                                "as one)")
        if updated.escalation_step > 0 and updated.escalation_cap <= 0:
            raise ScenarioError(label, where, f"{parts[1]} has no escalation_cap above 0 for an "
                                "escalation_step above 0")


def _parse_dotted(key: str) -> list[str | int]:
    out: list[str | int] = []
    for part in key.split("."):
        if part == "":
            raise ScenarioError("override", key, "empty part in dotted key")
        out.append(int(part) if part.isdigit() else part)
    return out


def _set_dotted(raw: dict[str, Any], key: str, value: Any, label: str) -> None:
    parts = _parse_dotted(key)
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(str(p) for p in parts[: depth + 1])
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                raise ScenarioError(label, key, f"no item {part} in {where.rsplit('.', 1)[0]}")
            node = node[part]
        elif isinstance(node, dict):
            if part not in node:
                if depth == len(parts) - 2 and str(part) in _OPTIONAL_TABLES:
                    node[part] = {}
                else:
                    raise ScenarioError(label, key, f"unknown key {where!r}")
            node = node[part]
        else:
            raise ScenarioError(label, key, f"{where!r} is a value, not a table")
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise ScenarioError(label, key, "no such item")
        node[last] = value
    elif isinstance(node, dict):
        node[str(last)] = value
    else:
        raise ScenarioError(label, key, "parent is a value, not a table")


_OPTIONAL_TABLES = {"world", "teaching", "capacity", "demand", "built", "outcomes"}


def parse_override_value(text: str) -> Any:
    """Read the value of ``--set key=value`` as a TOML value.

    Numbers, booleans, strings and arrays are read as TOML; anything else is taken as a plain
    string, which validation will then judge. Nothing is ever evaluated as code.
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Immutable: ``with_overrides`` and ``with_policy`` return new ones."""

    name: str
    source: str
    spec: ScenarioSpec
    raw: dict[str, Any] = field(repr=False)
    policies: tuple[str, ...] = ()

    @property
    def horizon(self) -> int:
        """Number of months in a run."""
        return self.spec.meta.horizon

    @property
    def actor_ids(self) -> list[str]:
        """Actor ids in array order (sorted: see :func:`canonical_order`)."""
        return canonical_order(self.spec.actors)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A copy with dotted keys set (``{"actors.USA.escalation_step": 0.3}``).

        Validated like the file. Raises ScenarioError naming the key on any fault.
        """
        raw = copy.deepcopy(self.raw)
        label = f"{self.source} (override)"
        for key, value in overrides.items():
            if not isinstance(key, str) or not key:
                raise ScenarioError(label, repr(key), "override keys are dotted strings")
            if key == "extends":
                raise ScenarioError(label, key, "a loaded scenario cannot change its parent; "
                                    "load the other scenario instead")
            _set_dotted(raw, key, value, label)
        spec = _validate(raw, label)
        return Scenario(self.name, self.source, spec, raw, self.policies)

    def with_policy(self, policy: str | Path) -> Scenario:
        """A copy with a policy overlay applied: it may change only doctrine keys of actors."""
        path = _resolve_path(policy, scenario_dir() / "policies", "policy")
        label = str(path)
        overlay = _read_toml(path, label)
        raw = copy.deepcopy(self.raw)
        for section, body in overlay.items():
            if section == "policy":
                if not isinstance(body, dict) or set(body) - {"title", "description"}:
                    raise ScenarioError(label, "policy", "only title and description allowed")
                continue
            if section != "actors" or not isinstance(body, dict):
                raise ScenarioError(label, section, "an overlay may only set actors' doctrine keys")
            bundled = path.resolve().parent == (scenario_dir() / "policies").resolve()
            for aid, keys in body.items():
                if aid not in self.spec.actors:
                    # Bundled overlays are written for the bundled actor set: a scenario without
                    # one of their actors simply has no doctrine to change. In an overlay of
                    # the user's own, an unknown actor is a typo and refused.
                    if bundled:
                        continue
                    raise ScenarioError(label, f"actors.{aid}", "unknown actor (known: "
                                        + ", ".join(self.spec.actors) + ")")
                if not isinstance(keys, dict):
                    raise ScenarioError(label, f"actors.{aid}", "must be a table of doctrine keys")
                for key, value in keys.items():
                    if key not in DOCTRINE_KEYS:
                        raise ScenarioError(label, f"actors.{aid}.{key}",
                                            "not a doctrine key (an overlay may set: "
                                            + ", ".join(sorted(DOCTRINE_KEYS)) + ")")
                    raw["actors"][aid][key] = value
        spec = _validate(raw, label)
        return Scenario(self.name, self.source, spec, raw, (*self.policies, path.stem))

    def content_hash(self) -> str:
        """SHA-256 of the validated content (canonical JSON): what a run depends on."""
        text = json.dumps(self.spec.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_toml(self) -> str:
        """The scenario as a self-contained TOML file (overrides and policies folded in)."""
        data = self.spec.model_dump(mode="json", by_alias=True, exclude={"extends"})
        return tomli_w.dumps(data)

    def compile(self) -> CompiledScenario:
        """The arrays the rules run on."""
        return compile_scenario(self)


def load_scenario(name_or_path: str | Path, policy: str | None = None, *,
                  allow_paths: bool = True) -> Scenario:
    """Load a bundled scenario by name or a ``.toml`` file by path, validated.

    Args:
        name_or_path: ``"baseline"`` (see :func:`list_scenarios`) or a path.
        policy: optional policy overlay name or path applied on top.
        allow_paths: False for names from untrusted users (a server): only bundled scenario
            and policy names are accepted, never a path, and no file but the bundled ones is
            read (see :func:`read_scenario_text` for a scenario's text).

    Raises:
        ScenarioError: on any fault, naming the file, the key and the fault.
    """
    if not allow_paths:
        for kind, name, known in (("scenario", name_or_path, list_scenarios()),
                                  ("policy", policy, list_policies())):
            if name is not None and str(name) not in known:
                raise ScenarioError(str(name)[:60], "(name)", f"no bundled {kind} of that name "
                                    f"(known: {', '.join(known)}); paths are not accepted here")
    path = _resolve_path(name_or_path, scenario_dir(), "scenario")
    raw = _load_raw(path)
    spec = _validate(raw, str(path))
    scn = Scenario(path.stem, str(path), spec, raw)
    return scn.with_policy(policy) if policy else scn


def read_scenario_text(text: str, label: str = "pasted.toml", *,
                       allow_paths: bool = False) -> Scenario:
    """A scenario from its TOML text (pasted or uploaded), validated like a file.

    Args:
        text: the scenario file's content.
        label: the name its errors give (also the scenario's name, without ``.toml``).
        allow_paths: whether ``extends`` may name a file by path (relative to the working
            folder). False by default: text from a user of a server may extend only bundled
            scenarios, by name, so it cannot open, or have an error echo, any other file.

    Raises:
        ScenarioError: on any fault, naming ``label``, the key and the fault.
    """
    path = Path(label)
    raw = _load_raw(path, allow_paths=allow_paths, text=text)
    spec = _validate(raw, label)
    return Scenario(path.stem, label, spec, raw)


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario as arrays (see :mod:`sim.core.layout`) plus the names of their rows.

    The arrays are read-only (a write raises ``ValueError``): many runs and both engines share
    them, so a run copies what it changes (``W`` to ``DEM``: events set them).
    """

    W: np.ndarray
    AP: np.ndarray
    CP: np.ndarray
    RP: np.ndarray
    TP: np.ndarray
    TM: np.ndarray
    CAP: np.ndarray
    DEM: np.ndarray
    AFF0: np.ndarray
    SANC0: np.ndarray
    TRADE0: np.ndarray
    EV: np.ndarray
    BUILT0: np.ndarray
    BK: np.ndarray
    horizon: int
    actor_ids: list[str]
    actor_names: list[str]
    category_ids: list[str]
    category_units: list[str]
    route_ids: list[str]
    track_ids: list[str]
    track_kinds: list[str]
    key_pairs: list[tuple[int, int]]
    event_notes: list[str]

    def __post_init__(self) -> None:
        for name in _ARRAYS:
            getattr(self, name).flags.writeable = False


_ARRAYS = ("W", "AP", "CP", "RP", "TP", "TM", "CAP", "DEM", "AFF0", "SANC0", "TRADE0", "EV",
           "BUILT0", "BK")


def canonical_order(items: Iterable[str]) -> list[str]:
    """The ids of a table (actors, categories, routes, tracks) in array order: sorted.

    The order a file lists its items in is presentation, not meaning: the arrays hold them sorted
    by id, so the same scenario written in another order compiles to the same arrays, and its runs
    are bit for bit the same (sums over actors add in one order).
    """
    return sorted(items)


def _identity_keys(kind: str, ids: list[str], label: str) -> np.ndarray:
    """The draw keys of ``ids`` (:func:`sim.core.rng.identity_key`); refuses a collision."""
    keys = [identity_key(kind, i) for i in ids]
    if len(set(keys)) != len(keys):
        seen: dict[int, str] = {}
        for i, k in zip(ids, keys, strict=True):
            if k in seen:
                raise ScenarioError(label, f"{kind} {i!r}", f"its draw key collides with that of "
                                    f"{seen[k]!r} (a 1 in 4 billion chance): rename one of them")
            seen[k] = i
    return np.array(keys, dtype=np.float64)


def compile_scenario(scn: Scenario) -> CompiledScenario:
    """Turn a validated scenario into the parameter arrays of :mod:`sim.core.layout`.

    Items are held in :func:`canonical_order`; each carries its identity key (``*_ID`` columns),
    by which every draw about it is keyed.
    """
    spec = scn.spec
    aids = canonical_order(spec.actors)
    idx = {a: k for k, a in enumerate(aids)}
    cids = canonical_order(spec.categories)
    cidx = {c: k for k, c in enumerate(cids)}
    rids = canonical_order(spec.routes)
    tids = canonical_order(spec.tracks)
    n, nc = len(aids), len(cids)

    W = np.zeros(L.NW)
    for name, col in L.WORLD_FIELDS.items():
        W[col] = getattr(spec.world, name)
    for name, col in L.THEATRE_FIELDS.items():
        W[col] = getattr(spec.theatre, name)
    W[L.W_ATTACKER] = idx[spec.theatre.attacker]
    W[L.W_DEFENDER] = idx[spec.theatre.defender]

    AP = np.zeros((n, L.NA))
    CAP = np.zeros((n, nc))
    DEM = np.zeros((n, nc))
    BUILT0 = np.zeros((n, nc))
    BK = np.zeros((n, n))
    AP[:, L.A_ID] = _identity_keys("actor", aids, scn.source)
    for a, actor in spec.actors.items():
        for name, col in L.ACTOR_FIELDS.items():
            AP[idx[a], col] = float(getattr(actor, name))
        for c, units in actor.capacity.items():
            CAP[idx[a], cidx[c]] = units
        for c, units in actor.demand.items():
            DEM[idx[a], cidx[c]] = units
        for c, units in actor.built.items():
            BUILT0[idx[a], cidx[c]] = units
        for other in actor.backs:
            BK[idx[a], idx[other]] = 1.0

    CP = np.zeros((nc, L.NC))
    CP[:, L.C_ID] = _identity_keys("category", cids, scn.source)
    for c, cat in spec.categories.items():
        for name, col in L.CATEGORY_FIELDS.items():
            CP[cidx[c], col] = getattr(cat, name)
        CP[cidx[c], L.C_BUILDS] = cidx[cat.builds] if cat.builds else -1

    RP = np.zeros((len(rids), L.NR))
    RP[:, L.R_ID] = _identity_keys("route", rids, scn.source)
    for k, route in enumerate(spec.routes[r] for r in rids):
        RP[k, L.R_SUPPLIER] = idx[route.supplier]
        RP[k, L.R_RECIPIENT] = idx[route.recipient]
        RP[k, L.R_CATEGORY] = cidx[route.category]
        for name, col in L.ROUTE_FIELDS.items():
            RP[k, col] = float(getattr(route, name))

    TP = np.zeros((len(tids), L.NT))
    TM = np.zeros((len(tids), n))
    TP[:, L.T_ID] = _identity_keys("track", tids, scn.source)
    for k, track in enumerate(spec.tracks[t] for t in tids):
        TP[k, L.T_KIND] = L.TRACK_RELIEF if track.kind == "relief" else L.TRACK_CEASEFIRE
        TP[k, L.T_PARTY] = idx[track.party]
        TP[k, L.T_MEDIATOR] = idx[track.mediator] if track.mediator else -1
        for name, col in L.TRACK_FIELDS.items():
            TP[k, col] = float(getattr(track, name))
        for c in track.counterparts:
            TM[k, idx[c]] = 1.0

    AFF0 = np.eye(n)
    for rel in spec.relations:
        AFF0[idx[rel.a], idx[rel.b]] = AFF0[idx[rel.b], idx[rel.a]] = rel.affinity
    SANC0 = np.zeros((n, n))
    for s in spec.sanctions:
        SANC0[idx[s.sender], idx[s.target]] = s.intensity
    TRADE0 = np.zeros((n, n))
    for t in spec.trade:
        TRADE0[idx[t.source], idx[t.to]] = t.share

    EV = np.zeros((len(spec.events), 5))
    for k, ev in enumerate(spec.events):
        table, row, col = _event_target(spec, ev.key, f"events.{k}.key", scn.source)
        EV[k] = (ev.month, table, row, col, float(ev.value))

    return CompiledScenario(
        W=W, AP=AP, CP=CP, RP=RP, TP=TP, TM=TM, CAP=CAP, DEM=DEM, AFF0=AFF0, SANC0=SANC0,
        TRADE0=TRADE0, EV=EV, BUILT0=BUILT0, BK=BK, horizon=spec.meta.horizon, actor_ids=aids,
        actor_names=[spec.actors[a].name for a in aids], category_ids=cids,
        category_units=[spec.categories[c].unit for c in cids],
        route_ids=rids, track_ids=tids,
        track_kinds=[spec.tracks[t].kind for t in tids],
        key_pairs=[(idx[p[0]], idx[p[1]]) for p in spec.outcomes.key_pairs],
        event_notes=[ev.note for ev in spec.events],
    )
