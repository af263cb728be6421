"""Every parameter is read, or it goes (issue 11, item 5): the schema's declarations, verified.

The schema declares per field whether a rule reads it (:func:`sim.scenario.schema.is_read`;
``read=False`` marks a descriptive field). Here every numeric field of the world, the actors
(with their capacity and demand entries), the arms categories, the routes, the tracks and the
theatre is moved across its range on the baseline, for each member in turn (each actor, each
category...), and 200 runs on common random numbers (same seed, same run indices) are compared
with the baseline's, bit for bit:

* a field declared read must change some summary column or monthly figure for some member;
* a field declared descriptive must change none, for any member.

Final and monthly affinity are left out of the comparison: affinity is an intermediate state,
and a parameter that moves only affinity, which no rule reads back for the outcomes, changes
nothing a user sees.

Where a field moves to: the lowest and highest value the schema allows. A bound that is
"infinite-ish" (1e4 or more: GDP up to 1e6 USD bn, a price up to 1e5 USD mn a unit, a
build rate up to 1e5, a supply reference up to 1e9) is replaced by 100 times the bundled
figure (100 where that is 0), still within the bound: two orders of magnitude is as far as a
what-if goes, and beyond it a value says nothing more about whether a rule reads the field.
Capacity and demand entries have no upper bound in the schema and move to 0 and to 10 times
the bundled figure. Where the scenario's validation refuses an end (a state's cohesion, arms
sales above GDP, a step without a cap...), the move is halved toward the bundled value until
it is accepted (or given up after 30 halvings; the message lists what was tried).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import pytest
from pydantic import BaseModel
from test_invariants import Runs, _identical, simulate

import sim
from sim.scenario import Scenario, schema

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("world", schema.World), ("actors", schema.Actor), ("categories", schema.Category),
    ("routes", schema.Route), ("tracks", schema.Track), ("theatre", schema.Theatre),
]
#: Bounds at or above this are "infinite-ish" (see the module docstring).
INFINITE_ISH = 1e4


@dataclass(frozen=True)
class Field:
    """One numeric field of a section of the schema (or the capacity / demand entries)."""

    section: str
    model: type[BaseModel]
    name: str
    lo: float | None
    hi: float | None
    integer: bool

    def __str__(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def read(self) -> bool:
        """Whether the schema declares that a rule reads it."""
        return schema.is_read(self.model, self.name)

    def members(self, scn: Scenario) -> list[tuple[str, float]]:
        """(dotted key, bundled value) of the field for every member of its section."""
        spec = scn.spec
        if self.section in ("world", "theatre"):
            return [(f"{self.section}.{self.name}",
                     float(getattr(getattr(spec, self.section), self.name)))]
        items = getattr(spec, self.section)
        if self.name in ("capacity", "demand"):
            return [(f"actors.{a}.{self.name}.{c}", float(units))
                    for a, actor in items.items() for c, units in getattr(actor,
                                                                          self.name).items()]
        return [(f"{self.section}.{m}.{self.name}", float(getattr(item, self.name)))
                for m, item in items.items()]

    def ends(self, current: float) -> list[float]:
        """The two values it moves to from ``current`` (see the module docstring)."""
        if self.name in ("capacity", "demand"):
            return [0.0, 10.0 * current]
        assert self.lo is not None and self.hi is not None, f"{self}: unbounded in the schema"
        hi = self.hi
        if hi >= INFINITE_ISH:
            hi = min(hi, 100.0 * abs(current) if current else 100.0)
        return [self.lo, hi]


def numeric_fields() -> list[Field]:
    """Every numeric field of the sections the rules read, plus capacity and demand."""
    out = []
    for section, model in SECTIONS:
        for name, f in model.model_fields.items():
            if f.annotation not in (float, int) or name in ("capacity", "demand"):
                continue
            lo = hi = None
            for m in f.metadata:
                lo, hi = getattr(m, "ge", lo), getattr(m, "le", hi)
            out.append(Field(section, model, name, lo, hi, f.annotation is int))
    out += [Field("actors", schema.Actor, name, 0.0, None, False)
            for name in ("capacity", "demand")]
    return out


FIELDS = numeric_fields()
READ = [f for f in FIELDS if f.read]
DESCRIPTIVE = [f for f in FIELDS if not f.read]


@functools.cache
def baseline() -> Scenario:
    return sim.load_scenario("baseline")


@functools.cache
def baseline_runs() -> Runs:
    return simulate(baseline())


def moved(scn: Scenario, key: str, current: float, end: float,
          integer: bool) -> tuple[Scenario, float] | None:
    """``scn`` with ``key`` moved toward ``end`` as far as validation accepts, and the value."""
    for k in range(31):
        value = current + (end - current) * 0.5**k
        value = float(round(value)) if integer else value
        if value == current or not math.isfinite(value):
            return None
        try:
            return scn.with_overrides({key: int(value) if integer else value}), value
        except sim.ScenarioError:
            continue
    return None


def changed_outputs(base: Runs, other: Runs) -> list[str]:
    """Summary columns and monthly figures (affinity aside) that differ in any run."""
    out = []
    for a, b in ((base.summary, other.summary), (base.monthly, other.monthly)):
        for name in sorted(a.keys() & b.keys()):
            if not name.startswith("affinity_") and not _identical(a[name], b[name]).all():
                out.append(name)
    return out


def moves(field: Field, stop_at_first_change: bool) -> list[tuple[str, float, list[str]]]:
    """(key, value, outputs changed) of every move of ``field`` on the baseline."""
    done = []
    for key, current in field.members(baseline()):
        for end in field.ends(current):
            found = moved(baseline(), key, current, end, field.integer)
            if found is None:
                continue
            scn, value = found
            changed = changed_outputs(baseline_runs(), simulate(scn))
            done.append((key, value, changed))
            if changed and stop_at_first_change:
                return done
    return done


def _tried(done: list[tuple[str, float, list[str]]]) -> str:
    return ", ".join(f"{key}={value:g}" for key, value, _ in done) or "no accepted move"


@pytest.mark.parametrize("field", READ, ids=str)
def test_a_parameter_declared_read_changes_some_output(field, numba_kernel):
    done = moves(field, stop_at_first_change=True)
    assert any(changed for _, _, changed in done), (
        f"{field} is declared read (schema) but no move changes any output but affinity; "
        f"members that change nothing: {_tried(done)}")


@pytest.mark.parametrize("field", DESCRIPTIVE, ids=str)
def test_a_descriptive_parameter_changes_nothing(field, numba_kernel):
    done = moves(field, stop_at_first_change=False)
    assert done, f"{field}: no move accepted by the scenario's validation"
    changing = [f"{key}={value:g} changes {', '.join(changed[:4])}"
                for key, value, changed in done if changed]
    assert not changing, f"{field} is declared descriptive (read=False) but " + "; ".join(
        changing)


def test_every_numeric_field_is_covered():
    # A field added to the schema is checked here without editing this file; this guards the
    # discovery itself (sections, bounds) against silently finding nothing.
    names = {str(f) for f in FIELDS}
    assert {"world.world_gdp", "actors.gdp", "actors.milex", "actors.capacity",
            "categories.detection", "routes.propensity", "tracks.halt_cost",
            "theatre.supply_ref"} <= names
    assert READ  # since issue 12 no field is descriptive (milex is read by the war)
    assert all(f.lo is not None and f.hi is not None for f in FIELDS
               if f.name not in ("capacity", "demand", "built")), "a numeric field without bounds"
