"""A small scenario builder for tests: valid scenarios in a few lines, by name, not by column.

A test says which actors, categories, routes, tracks, relations, trade links, sanctions and
events it needs, and gets a :class:`sim.Scenario` loaded the way a user's file is loaded (written
as TOML, read back by :func:`sim.load_scenario`, so the schema and the reference checks apply)::

    scn = (ScenarioBuilder("One route", horizon=12)
           .actor("SUP", capacity={"widgets": 10}).actor("REC", demand={"widgets": 10})
           .category("widgets", detection=0.3)
           .route("sup_rec", "SUP", "REC", "widgets", propensity=20.0)
           .build(tmp_path))

Every keyword is a field of the schema (``sim.scenario.schema``) under its own name, so a test
reads like the scenario file it stands for. Arrays a test needs come from the built scenario
(``scn.compile()``, ``RunState.new(scn.compile())``) and are addressed with ``sim.core.layout``
names, never built by column number. :meth:`ScenarioBuilder.from_scenario` starts from a loaded
scenario (a bundled one, say) and :meth:`ScenarioBuilder.without_actor` removes an actor with
every reference to it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import tomli_w

import sim
from sim.scenario import Scenario


class ScenarioBuilder:
    """Collects the tables of a scenario file; :meth:`build` writes and loads it.

    Args:
        title: ``meta.title``.
        horizon: months in a run (``meta.horizon``).
        **world: fields of ``[world]`` (``shock_sd=0.0``, say); the rest keep their defaults.
    """

    def __init__(self, title: str = "Built for a test", horizon: int = 12, **world: Any):
        self.raw: dict[str, Any] = {
            "meta": {"title": title, "horizon": horizon}, "world": dict(world), "actors": {},
            "categories": {}, "routes": {}, "tracks": {}, "relations": [], "trade": [],
            "sanctions": [], "events": [],
        }
        self._overrides: dict[str, Any] = {}

    @classmethod
    def from_scenario(cls, scenario: Scenario | str) -> ScenarioBuilder:
        """A builder holding a loaded scenario's tables (a bundled name or a Scenario)."""
        scn = sim.load_scenario(scenario) if isinstance(scenario, str) else scenario
        builder = cls()
        builder.raw = scn.spec.model_dump(mode="json", by_alias=True, exclude={"extends"})
        return builder

    # ---- tables ------------------------------------------------------------------------------
    def world(self, **fields: Any) -> ScenarioBuilder:
        """Set fields of ``[world]``."""
        self.raw.setdefault("world", {}).update(fields)
        return self

    def actor(self, actor_id: str, name: str | None = None, **fields: Any) -> ScenarioBuilder:
        """Add (or replace) a state; ``name`` defaults to its id."""
        self.raw["actors"][actor_id] = {"name": name or actor_id, **fields}
        return self

    def bloc(self, actor_id: str, members: list[str], name: str | None = None,
             **fields: Any) -> ScenarioBuilder:
        """Add (or replace) a bloc with its member states (names, for the story)."""
        return self.actor(actor_id, name, kind="bloc", members=list(members), **fields)

    def category(self, category_id: str, **fields: Any) -> ScenarioBuilder:
        """Add (or replace) a category of transfers; ``unit`` defaults to its id."""
        self.raw["categories"][category_id] = {"unit": category_id, **fields}
        return self

    def route(self, route_id: str, supplier: str, recipient: str, category: str,
              **fields: Any) -> ScenarioBuilder:
        """Add (or replace) a supply route."""
        self.raw["routes"][route_id] = {"supplier": supplier, "recipient": recipient,
                                        "category": category, **fields}
        return self

    def track(self, track_id: str, kind: str, party: str, counterparts: list[str],
              **fields: Any) -> ScenarioBuilder:
        """Add (or replace) a negotiation track (``kind`` "relief" or "ceasefire")."""
        self.raw["tracks"][track_id] = {"kind": kind, "party": party,
                                        "counterparts": list(counterparts), **fields}
        return self

    def theatre(self, attacker: str, defender: str, **fields: Any) -> ScenarioBuilder:
        """Set the war's theatre (by default the first two actors, attacker first)."""
        self.raw["theatre"] = {"attacker": attacker, "defender": defender, **fields}
        return self

    def relation(self, a: str, b: str, affinity: float) -> ScenarioBuilder:
        """Add the starting affinity of a pair, in [-1, 1]."""
        self.raw["relations"].append({"a": a, "b": b, "affinity": affinity})
        return self

    def trade(self, source: str, to: str, share: float) -> ScenarioBuilder:
        """Add the share of ``source``'s trade that goes to ``to``."""
        self.raw["trade"].append({"from": source, "to": to, "share": share})
        return self

    def sanction(self, sender: str, target: str, intensity: float) -> ScenarioBuilder:
        """Add a sanction in force at the start, intensity in [0, 1]."""
        self.raw["sanctions"].append({"sender": sender, "target": target,
                                      "intensity": intensity})
        return self

    def event(self, month: int, key: str, value: float | bool, note: str = "") -> ScenarioBuilder:
        """Add a scheduled event: in ``month`` the numeric parameter ``key`` becomes ``value``."""
        self.raw["events"].append({"month": month, "key": key, "value": value, "note": note})
        return self

    def override(self, key: str, value: Any) -> ScenarioBuilder:
        """Set a dotted key after loading, as ``Scenario.with_overrides`` does."""
        self._overrides[key] = value
        return self

    def without_actor(self, actor_id: str) -> ScenarioBuilder:
        """Remove an actor and everything that names it: its routes (and their events),
        relations, trade, sanctions, events (its packages too), track seats, the backing of
        others, key pairs and sources.

        A track whose party it was goes too; the theatre must not name it.
        """
        raw = self.raw
        raw["actors"].pop(actor_id)
        gone = {f"actors.{actor_id}"}
        for rid, route in list(raw["routes"].items()):
            if actor_id in (route["supplier"], route["recipient"]):
                raw["routes"].pop(rid)
                gone.add(f"routes.{rid}")
        for tid, track in list(raw.get("tracks", {}).items()):
            if actor_id == track["party"]:
                raw["tracks"].pop(tid)
                gone.add(f"tracks.{tid}")
                continue
            track["counterparts"] = [a for a in track["counterparts"] if a != actor_id]
            if track.get("mediator") == actor_id:
                track["mediator"] = ""
        for other in raw["actors"].values():
            if actor_id in other.get("backs", []):
                other["backs"] = [a for a in other["backs"] if a != actor_id]
        raw["relations"] = [r for r in raw["relations"] if actor_id not in (r["a"], r["b"])]
        raw["trade"] = [t for t in raw["trade"] if actor_id not in (t["from"], t["to"])]
        raw["sanctions"] = [s for s in raw["sanctions"]
                            if actor_id not in (s["sender"], s["target"])]

        def names_gone(key: str) -> bool:
            parts = key.split(".")
            if parts[0] == "packages":  # packages.SENDER.TARGET
                return actor_id in parts[1:]
            return any(key == g or key.startswith(g + ".") for g in gone)

        raw["events"] = [e for e in raw["events"] if not names_gone(e["key"])]
        if "outcomes" in raw:
            raw["outcomes"]["key_pairs"] = [p for p in raw["outcomes"]["key_pairs"]
                                            if actor_id not in p]
        if "sources" in raw:
            raw["sources"] = {k: v for k, v in raw["sources"].items() if not names_gone(k)}
        return self

    def reorder(self, actors: list[str] | None = None, routes: list[str] | None = None,
                tracks: list[str] | None = None) -> ScenarioBuilder:
        """List the actors, routes and tracks in another order (each a permutation of the ids).

        Nothing else changes: the same scenario written in another order, which must give the
        same runs (draws and sums are keyed by id, never by position in the file).
        """
        for table, order in (("actors", actors), ("routes", routes), ("tracks", tracks)):
            if order is None:
                continue
            items = self.raw.get(table, {})
            if sorted(order) != sorted(items):
                raise ValueError(f"{table}: {order} is not a permutation of {list(items)}")
            self.raw[table] = {key: items[key] for key in order}
        return self

    def order(self, table: str) -> list[str]:
        """The ids of ``table`` (``"actors"``, ``"routes"``, ``"tracks"``) in their order."""
        return list(self.raw.get(table, {}))

    # ---- output ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        """The scenario file it would write (what hypothesis prints for a failing example)."""
        try:
            return f"ScenarioBuilder(<<<\n{self.to_toml()}>>>)"
        except (ValueError, TypeError):
            return f"ScenarioBuilder(raw={self.raw!r})"

    def to_dict(self) -> dict[str, Any]:
        """The scenario's tables as a TOML document would hold them (a deep copy)."""
        raw = copy.deepcopy(self.raw)
        if "theatre" not in raw:
            actors = list(raw["actors"])
            if len(actors) < 2:
                raise ValueError("a scenario needs a theatre: add two actors or call theatre()")
            raw["theatre"] = {"attacker": actors[0], "defender": actors[1]}
        return {k: v for k, v in raw.items() if v != {} or k in ("actors", "categories",
                                                                    "routes")}

    def to_toml(self) -> str:
        """The scenario as the text of a ``.toml`` file."""
        return tomli_w.dumps(self.to_dict())

    def build(self, folder: Path, name: str = "built") -> Scenario:
        """Write ``folder/name.toml``, load it (validated) and apply the overrides.

        Raises:
            sim.ScenarioError: when the tables do not make a valid scenario, naming the key.
        """
        path = Path(folder) / f"{name}.toml"
        path.write_text(self.to_toml(), encoding="utf-8")
        scn = sim.load_scenario(path)
        return scn.with_overrides(self._overrides) if self._overrides else scn


def tiny_builder() -> ScenarioBuilder:
    """The tiny one-route scenario of the ``tiny`` fixture: SUP ships 10 widgets a month to REC;
    SND sanctions REC (pressure 0.5 x 0.4 = 0.2); no shocks, no growth, no war cost.

    Small enough that its outcomes have closed forms (see ``tests/closed_forms.py``). Tests of
    several files rely on its names and figures: change them only together with those tests.
    """
    return (ScenarioBuilder("Tiny: one route, one sanctioner", horizon=12, shock_sd=0.0,
                            war_cost=0.0, supply_base=0.0)
            .actor("SUP", "Supplier", gdp=100.0, growth=0.0, capacity={"widgets": 10})
            .actor("REC", "Recipient", gdp=100.0, growth=0.0, demand={"widgets": 10})
            .actor("SND", "Sanctioner", gdp=1000.0, growth=0.0, leverage=0.4)
            .category("widgets", value=1.0, price=0.0, detection=0.3, escalation_weight=0.0)
            .route("sup_rec", "SUP", "REC", "widgets", propensity=20.0)
            .relation("SUP", "REC", 0.5).relation("SND", "REC", -0.5)
            .relation("SND", "SUP", -0.5)
            .sanction("SND", "REC", 0.5)
            .theatre("REC", "SND", intensity=1.0, base_intensity=1.0, balance_sd=0.0))
