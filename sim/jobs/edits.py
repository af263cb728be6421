"""Design points as cell edits of one base scenario: many points in one compiled call.

A design (a sweep, a sensitivity design, a policy comparison, a calibration's draws) is many
points that differ from one base scenario only in some numeric parameters. Each such parameter
is a *cell* of the compiled arrays (see :mod:`sim.core.layout`); the base scenario is compiled
once and each point is the list of values it sets in those cells, applied to a run's copy of the
parameters inside the kernel (:func:`sim.core.kernel.apply_edits`). Run ``r`` of point ``p``
gives exactly the numbers of ``base.with_overrides(point p)`` run ``r``: compiling a scenario
copies each field into its cell, and the kernel sets the same cells before the run starts.

Cell keys (:func:`cell_targets`): every key a scheduled event can set (``world.*``,
``theatre.*``, ``actors.ID.FIELD``, ``actors.ID.capacity.CAT``, ``actors.ID.demand.CAT``,
``categories.ID.FIELD``, ``routes.ID.FIELD`` -- ``open`` included --, ``tracks.ID.FIELD``) and the
starting relations: ``relations.K.affinity`` (two cells), ``sanctions.K.intensity`` and
``trade.K.share`` (when no other entry names the same pair). Everything else is structural (an
actor, route or track added, a member list, a category's ``builds``, an event, the horizon) and
goes through the per-point path (:meth:`Scenario.with_overrides`, one scenario per point).

Validation happens once per design (:func:`check_design`), not once per point: every value
finite (and whole for whole-number fields), the points holding each factor's smallest and
largest value validated in full like a scenario file (the field's bounds, and every rule of the
file at those points), then the rules that tie fields together checked for every point,
vectorised, only for the factors they involve. A bad point is refused before any run with a
:class:`~sim.errors.ScenarioError` naming the key, the value and the point.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.core import layout as L
from sim.core.kernel import EDIT_AFFINITY, EDIT_SANCTION, EDIT_TRADE
from sim.core.outcomes import outcome_layout
from sim.errors import ScenarioError
from sim.scenario import CompiledScenario, Scenario
from sim.scenario.loading import _event_target, canonical_order

#: Editable columns of each table (those a scenario file sets directly); any cell of CAP, DEM,
#: AFF0, SANC0, TRADE0. Index columns (an actor, a category, a kind) are structural.
_EDITABLE = {
    "W": (L.EV_WORLD, set(L.WORLD_FIELDS.values()) | set(L.THEATRE_FIELDS.values())),
    "AP": (L.EV_ACTOR, set(L.ACTOR_FIELDS.values())),
    "CP": (L.EV_CATEGORY, set(L.CATEGORY_FIELDS.values())),
    "RP": (L.EV_ROUTE, set(L.ROUTE_FIELDS.values())),
    "TP": (L.EV_TRACK, set(L.TRACK_FIELDS.values())),
    "CAP": (L.EV_CAPACITY, None),
    "DEM": (L.EV_DEMAND, None),
    "AFF0": (EDIT_AFFINITY, None),
    "SANC0": (EDIT_SANCTION, None),
    "TRADE0": (EDIT_TRADE, None),
}
_TABLE_ARRAY = {code: name for name, (code, _) in _EDITABLE.items()}
#: What must be the same in every point's compiled scenario for the points to share one base.
_STRUCTURE = ("TM", "EV", "horizon", "actor_ids", "actor_names", "category_ids",
              "category_units", "route_ids", "track_ids", "track_kinds", "key_pairs")


def dotted_value(data: Any, key: str) -> Any:
    """The value at dotted ``key`` of a scenario's nested dicts and lists; KeyError if none."""
    node = data
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(key)
    return node


def cell_targets(base: Scenario, key: str) -> list[tuple[int, int, int]] | None:
    """The cells (table, row, column) that dotted ``key`` of ``base`` sets, or None.

    None means the key is structural or not a number (a route's supplier, a list's entry whose
    pair repeats, a member list, an event, ...): such points go through
    :meth:`Scenario.with_overrides`. An unknown key is None too (the per-point path names it).
    """
    spec = base.spec
    parts = key.split(".")
    data = spec.model_dump(mode="python", by_alias=True)
    try:
        current = dotted_value(data, key)
    except KeyError:
        if not (len(parts) == 4 and parts[0] == "actors" and parts[2] in ("capacity", "demand")
                and parts[1] in spec.actors and parts[3] in spec.categories):
            return None
        current = 0.0  # a category the actor does not list yet: its units are 0
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        return None
    idx = {a: k for k, a in enumerate(canonical_order(spec.actors))}
    if parts[0] in ("relations", "sanctions", "trade") and len(parts) == 3 and parts[1].isdigit():
        entries = getattr(spec, parts[0])
        k = int(parts[1])
        field = {"relations": "affinity", "sanctions": "intensity", "trade": "share"}[parts[0]]
        if parts[2] != field:
            return None
        if parts[0] == "relations":
            a, b = idx[entries[k].a], idx[entries[k].b]
            return [(EDIT_AFFINITY, a, b), (EDIT_AFFINITY, b, a)]
        ends = (("sender", "target") if parts[0] == "sanctions" else ("source", "to"))
        pair = tuple(getattr(entries[k], e) for e in ends)
        if sum(tuple(getattr(e, f) for f in ends) == pair for e in entries) != 1:
            return None  # another entry sets the same cell: the last one wins
        table = EDIT_SANCTION if parts[0] == "sanctions" else EDIT_TRADE
        return [(table, idx[pair[0]], idx[pair[1]])]
    try:
        return [_event_target(spec, key, key, base.source)]
    except ScenarioError:
        return None


def _is_integer_field(base: Scenario, key: str) -> bool:
    data = base.spec.model_dump(mode="python", by_alias=True)
    try:
        current = dotted_value(data, key)
    except KeyError:
        return False
    return isinstance(current, int) and not isinstance(current, bool)


def with_cells(cs: CompiledScenario, cells: np.ndarray, values: np.ndarray) -> CompiledScenario:
    """``cs`` with ``values[k]`` set in cell ``cells[k]``: what the kernel runs for a point."""
    arrays: dict[str, np.ndarray] = {}
    for (table, row, col), value in zip(np.asarray(cells).reshape(-1, 3).tolist(),
                                        np.asarray(values, dtype=float).tolist(), strict=True):
        name = _TABLE_ARRAY[table]
        if name not in arrays:
            arrays[name] = getattr(cs, name).copy()
        if arrays[name].ndim == 1:
            arrays[name][col] = value
        else:
            arrays[name][row, col] = value
    return dataclasses.replace(cs, **arrays)


@dataclass(frozen=True, eq=False)
class PointEdits:
    """Points that differ from ``base`` only in parameter cells.

    Attributes:
        base: the scenario every point edits (compiled once per chunk).
        keys: the name of each factor (a dotted key, or a cell's name for points found by
            :meth:`from_scenarios`).
        values: points x factors, each point's value of each factor.
        cells: int64 (K x 3), (table, row, column) of every cell a point sets.
        cell_factor: int64 (K), the factor whose value each cell takes.
        layouts: the distinct outcome layouts (shown columns) of the points, in first-seen order.
        layout_of: int64 (points), each point's layout (an index into ``layouts``).
    """

    base: Scenario
    keys: tuple[str, ...]
    values: np.ndarray
    cells: np.ndarray
    cell_factor: np.ndarray
    layouts: tuple[tuple[str, ...], ...]
    layout_of: np.ndarray

    @property
    def n_points(self) -> int:
        """Number of design points."""
        return int(self.values.shape[0])

    def cell_values(self, points: slice | np.ndarray) -> np.ndarray:
        """Points x cells: the value each of ``points`` sets in each cell."""
        return np.ascontiguousarray(self.values[points][:, self.cell_factor], dtype=np.float64)

    def digest(self) -> str:
        """SHA-256 (16 hex digits) of the keys, cells and values: the points' identity."""
        h = hashlib.sha256()
        h.update("\n".join(self.keys).encode())
        h.update(np.ascontiguousarray(self.cells, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.cell_factor, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.values, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def scenario(self, point: int) -> Scenario:
        """Point ``point`` as a scenario of its own (validated; the per-point path)."""
        if any(k.startswith("cell:") for k in self.keys):
            raise ValueError("points found from scenarios have no dotted keys; use their "
                             "scenarios")
        integer = {k: _is_integer_field(self.base, k) for k in self.keys}
        return self.base.with_overrides({
            k: (int(v) if integer[k] else float(v))
            for k, v in zip(self.keys, self.values[point].tolist(), strict=True)})

    @classmethod
    def from_design(cls, base: Scenario, keys: Sequence[str], values: np.ndarray,
                    check: bool = True) -> PointEdits | None:
        """Points of ``base`` setting ``keys`` to the rows of ``values``; None if not all cells.

        Args:
            base: the base scenario.
            keys: dotted keys (distinct).
            values: points x keys, in the keys' units.
            check: validate the design (:func:`check_design`) before returning it.

        Returns:
            The points, or None when a key is not a cell (:func:`cell_targets`): the caller
            then runs the points one scenario each.

        Raises:
            ScenarioError: a bad value, naming the key, the value and the point.
        """
        keys = tuple(keys)
        values = np.array(values, dtype=np.float64, copy=True).reshape(-1, len(keys))
        if len(set(keys)) != len(keys):
            raise ValueError(f"keys must be distinct, got {list(keys)}")
        targets = [cell_targets(base, k) for k in keys]
        if any(t is None for t in targets):
            return None
        if check:
            check_design(base, keys, values)
        cells = np.array([c for t in targets for c in t], dtype=np.int64).reshape(-1, 3)
        cell_factor = np.array([f for f, t in enumerate(targets) for _ in t], dtype=np.int64)
        layouts, layout_of = _design_layouts(base.compile(), keys, values, cells, cell_factor)
        values.flags.writeable = False
        return cls(base, keys, values, cells, cell_factor, layouts, layout_of)

    @classmethod
    def from_scenarios(cls, scenarios: Sequence[Scenario]) -> PointEdits | None:
        """The points ``scenarios`` as cell edits of the first, or None if one differs otherwise.

        Each scenario is already validated (a policy overlay, an override); this finds the
        cells where their compiled arrays differ from the first's. A difference of structure
        (actors, routes, tracks, events, horizon, index columns) gives None.
        """
        compiled = [s.compile() for s in scenarios]
        first = compiled[0]
        for cs in compiled[1:]:
            for name in _STRUCTURE:
                a, b = getattr(first, name), getattr(cs, name)
                same = (np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b)
                if not same:
                    return None
        found: dict[tuple[int, int, int], None] = {}
        for name, (code, editable) in _EDITABLE.items():
            a = getattr(first, name)
            for cs in compiled[1:]:
                b = getattr(cs, name)
                if a.shape != b.shape:
                    return None
                diff = np.argwhere(a.reshape(a.shape[0], -1) != b.reshape(b.shape[0], -1)) \
                    if a.ndim == 2 else np.argwhere(a != b)
                for where in diff.tolist():
                    row, col = (0, where[0]) if a.ndim == 1 else (where[0], where[1])
                    if editable is not None and col not in editable:
                        return None
                    found.setdefault((code, row, col), None)
        cells = np.array(list(found), dtype=np.int64).reshape(-1, 3)
        values = np.array([[float(getattr(cs, _TABLE_ARRAY[t])[c] if t == L.EV_WORLD
                                  else getattr(cs, _TABLE_ARRAY[t])[r, c])
                            for t, r, c in cells.tolist()] for cs in compiled],
                          dtype=np.float64).reshape(len(compiled), -1)
        names = [tuple(outcome_layout(cs)[0]) for cs in compiled]
        layouts = tuple(dict.fromkeys(names))
        layout_of = np.array([layouts.index(n) for n in names], dtype=np.int64)
        keys = tuple(f"cell:{_TABLE_ARRAY[t]}[{r},{c}]" for t, r, c in cells.tolist())
        values.flags.writeable = False
        return cls(scenarios[0], keys, values, cells, np.arange(len(keys), dtype=np.int64),
                   layouts, layout_of)


def _design_layouts(cs: CompiledScenario, keys: Sequence[str], values: np.ndarray,
                    cells: np.ndarray, cell_factor: np.ndarray
                    ) -> tuple[tuple[tuple[str, ...], ...], np.ndarray]:
    """Each point's outcome layout, from a few compiled variants rather than one per point.

    Which columns a summary shows depends on a few parameters (an actor sanctions when its
    escalation step is above 0, a category is covert when its escalation weight is above 0; see
    :func:`sim.core.outcomes.outcome_layout`), each compared with 0. A factor is
    layout-sensitive if setting it alone to its smallest, largest or middle value, or to 0
    when 0 is in its range, changes the base layout; points are then grouped by the signs of
    their layout-sensitive values and one point of each group gives the group's layout.
    """
    base_names = tuple(outcome_layout(cs)[0])
    n = values.shape[0]
    sensitive = []
    for f in range(len(keys)):
        col = values[:, f]
        lo, hi = float(col.min()), float(col.max())
        probes = {lo, hi, float(np.median(col))} | ({0.0} if lo <= 0.0 <= hi else set())
        mine = cells[cell_factor == f]
        for v in probes:
            variant = with_cells(cs, mine, np.full(len(mine), v))
            if tuple(outcome_layout(variant)[0]) != base_names:
                sensitive.append(f)
                break
    if not sensitive:
        return (base_names,), np.zeros(n, dtype=np.int64)
    signs = np.sign(values[:, sensitive])
    _, first, inverse = np.unique(signs, axis=0, return_index=True, return_inverse=True)
    names = []
    for p in first.tolist():
        variant = with_cells(cs, cells, values[p, cell_factor])
        names.append(tuple(outcome_layout(variant)[0]))
    per_point = [names[g] for g in inverse.reshape(-1).tolist()]
    layouts = tuple(dict.fromkeys(per_point))
    where = {lay: k for k, lay in enumerate(layouts)}
    return layouts, np.array([where[lay] for lay in per_point], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Validation once per design


def _fail(base: Scenario, key: str, point: int, value: float, why: str) -> ScenarioError:
    return ScenarioError(f"{base.source} (design)", key, f"point {point}: value {value:.10g}: "
                         f"{why}")


def check_design(base: Scenario, keys: Sequence[str], values: np.ndarray) -> None:
    """Validate every point of a design of cell keys at once, before any run.

    1. Every value is finite, and whole where the field takes whole numbers.
    2. For each factor, the points holding its smallest and largest value are validated in
       full like a scenario file (:meth:`Scenario.with_overrides`): the field's bounds are
       an interval, so every value between them is within bounds; and every rule of the file
       holds at those points.
    3. The rules that tie fields together, for every point, vectorised, only for the factors
       they involve: a sanctioner with an escalation step above 0 needs a cap above 0 (with
       the scenario's events on either); a state's cohesion is 1; a supplier's arms sales at
       full capacity stay within a year of its GDP; an actor's trade shares add up to at most
       1.

    Raises:
        ScenarioError: the first fault, naming the key, the point and its value.
    """
    keys = list(keys)
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(keys))
    if values.shape[0] == 0:
        raise ScenarioError(f"{base.source} (design)", "points", "a design needs at least one "
                            "point")
    integer = [_is_integer_field(base, k) for k in keys]
    for f, key in enumerate(keys):
        col = values[:, f]
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise _fail(base, key, int(bad[0]), float(col[bad[0]]), "must be a finite number")
        if integer[f]:
            bad = np.flatnonzero(col != np.round(col))
            if bad.size:
                raise _fail(base, key, int(bad[0]), float(col[bad[0]]),
                            "must be a whole number")
    typed = [(lambda v: int(v)) if integer[f] else float for f in range(len(keys))]
    checked: set[int] = set()
    for f, key in enumerate(keys):
        for p in (int(np.argmin(values[:, f])), int(np.argmax(values[:, f]))):
            if p in checked:
                continue
            checked.add(p)
            try:
                base.with_overrides({k: typed[j](values[p, j]) for j, k in enumerate(keys)})
            except ScenarioError as exc:
                where = exc.key if exc.key in keys else key
                j = keys.index(where)
                raise _fail(base, where, p, float(values[p, j]), exc.fault) from None
    _check_cross_field(base, keys, values)


def _column(base_value: float, keys: list[str], values: np.ndarray, key: str) -> np.ndarray:
    """The values of ``key`` at every point: its factor's, or the base value."""
    if key in keys:
        return values[:, keys.index(key)]
    return np.full(values.shape[0], base_value)


def _check_cross_field(base: Scenario, keys: list[str], values: np.ndarray) -> None:
    spec = base.spec
    involved = set(keys)

    def first_bad(bad: np.ndarray, candidates: list[str], why: str) -> None:
        hit = np.flatnonzero(bad)
        if hit.size:
            key = next(k for k in candidates if k in involved)
            p = int(hit[0])
            raise _fail(base, key, p, float(values[p, keys.index(key)]), why)

    events: dict[str, list[float]] = {}
    for ev in spec.events:
        events.setdefault(ev.key, []).append(float(ev.value))
    for aid, actor in spec.actors.items():
        step_key, cap_key = f"actors.{aid}.escalation_step", f"actors.{aid}.escalation_cap"
        if step_key in involved or cap_key in involved:
            step = _column(actor.escalation_step, keys, values, step_key)
            cap = _column(actor.escalation_cap, keys, values, cap_key)
            bad = (step > 0) & (cap <= 0)
            for e in events.get(step_key, []):
                bad |= (e > 0) & (cap <= 0)
            for e in events.get(cap_key, []):
                bad |= (step > 0) & (e <= 0)
            first_bad(bad, [cap_key, step_key], f"{aid} needs an escalation_cap above 0 for an "
                      "escalation_step above 0")
        coh_key = f"actors.{aid}.cohesion"
        if coh_key in involved and actor.kind == "state":
            first_bad(values[:, keys.index(coh_key)] != 1.0, [coh_key],
                      "only a bloc has a cohesion below 1 (a state acts as one)")
    # A supplier's arms sales at full capacity within a year of its GDP (as the file's rule,
    # summed in route order).
    cats = spec.categories
    for aid, actor in spec.actors.items():
        routes = [r for r in spec.routes.values() if r.supplier == aid]
        if not routes:
            continue
        ties = [f"actors.{aid}.gdp"] + [f"actors.{aid}.capacity.{r.category}" for r in routes] \
            + [f"categories.{r.category}.price" for r in routes]
        if not involved & set(ties):
            continue
        sales = np.zeros(values.shape[0])
        for r in routes:
            cap = _column(actor.capacity.get(r.category, 0.0), keys, values,
                          f"actors.{aid}.capacity.{r.category}")
            price = _column(cats[r.category].price, keys, values,
                            f"categories.{r.category}.price")
            sales = sales + cap * price
        gdp = _column(actor.gdp, keys, values, f"actors.{aid}.gdp")
        first_bad(sales > gdp * 1000.0 / 12.0, ties,
                  f"{aid}'s GDP is below a year of its arms sales at full capacity (capacity x "
                  "price over its routes)")
    # An actor's trade shares add up to at most 1.
    by_source: dict[str, list[int]] = {}
    for k, tr in enumerate(spec.trade):
        by_source.setdefault(tr.source, []).append(k)
    for source, entries in by_source.items():
        ties = [f"trade.{k}.share" for k in entries]
        if not involved & set(ties):
            continue
        total = np.zeros(values.shape[0])
        for k in entries:
            total = total + _column(spec.trade[k].share, keys, values, f"trade.{k}.share")
        first_bad(total > 1.0 + 1e-9, ties, f"{source}'s trade shares add up to more than 1")

