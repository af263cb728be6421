"""The observed record as calibration targets: which model outcome each row constrains, and how.

The record (``scenarios/data/record.csv``: id, date, kind, what, value, unit, constrains,
source, ...) says what was publicly observed, month by month. The mapping
(``analysis/calibration/targets.toml``) names, for each observed quantity, the record rows it
rests on, the summary column of the model it constrains and how (a first month, a count, a
growth rate, a yes/no by a date). Dates become months of the scenario (month 1 is its
``meta.start``); a target needs its rows inside the calibration window (months 1 to ``until``)
and its outcome among the scenario's columns, otherwise it is left out with the reason.
"""

from __future__ import annotations

import csv
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sim.errors import UsageError

How = Literal["first_month", "by", "none_by", "count", "rounds", "growth", "zero_before",
              "positive_by"]
HOWS: tuple[str, ...] = ("first_month", "by", "none_by", "count", "rounds", "growth",
                         "zero_before", "positive_by")

#: The mapping bundled with the package.
DEFAULT_MAPPING = Path(__file__).with_name("targets.toml")


@dataclass(frozen=True)
class RecordRow:
    """One row of the record: its id, month (``YYYY-MM``), value (text) and source."""

    id: str
    date: str
    kind: str
    what: str
    value: str
    unit: str
    constrains: str
    source: str


@dataclass(frozen=True)
class Target:
    """One observed quantity the model is held to.

    Attributes:
        name: the target's name (from the mapping).
        records: the record rows it rests on.
        outcome: the model's summary column it constrains.
        how: how (see ``targets.toml``).
        month: the month of the scenario it is observed at (1 = ``meta.start``).
        observed: the observed value, in the unit of a run's statistic (a month; 1 or 0 for
            ``by``/``none_by``, read as "the event happened by ``month``"; a count; a growth
            rate a year, 0.043 for 4.3%).
        scale: tolerance in that unit (the distance divides the difference by it).
    """

    name: str
    records: tuple[str, ...]
    outcome: str
    how: How
    month: int
    observed: float
    scale: float


def read_record(path: str | Path) -> dict[str, RecordRow]:
    """The rows of a record CSV by id; a missing column or a repeated id is refused."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such record file")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = {"id", "date", "kind", "what", "value", "unit", "constrains", "source"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise UsageError(f"{path}: missing column(s) {sorted(missing)}")
        rows: dict[str, RecordRow] = {}
        for line, raw in enumerate(reader, start=2):
            rid = (raw["id"] or "").strip()
            if not rid:
                raise UsageError(f"{path}:{line}: empty id")
            if rid in rows:
                raise UsageError(f"{path}:{line}: id {rid!r} given twice")
            _month_number(raw["date"], f"{path}:{line}: date")
            rows[rid] = RecordRow(rid, raw["date"].strip(), raw["kind"], raw["what"],
                                  (raw["value"] or "").strip(), raw["unit"], raw["constrains"],
                                  raw["source"])
    return rows


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex), for the posterior's manifest."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _month_number(date: str, where: str) -> int:
    try:
        year, month = (int(p) for p in date.strip().split("-"))
    except ValueError:
        raise UsageError(f"{where}: {date!r} is not YYYY-MM") from None
    if not 1 <= month <= 12:
        raise UsageError(f"{where}: {date!r} is not YYYY-MM")
    return year * 12 + month - 1


def scenario_month(date: str, start: str) -> int:
    """Month of the scenario (1 = ``start``) of calendar month ``date`` (both ``YYYY-MM``)."""
    return _month_number(date, "date") - _month_number(start, "meta.start") + 1


def _number(row: RecordRow, where: str) -> float:
    try:
        return float(row.value)
    except ValueError:
        raise UsageError(f"{where}: record row {row.id!r} has no single number "
                            f"(value {row.value!r})") from None


def load_targets(record: str | Path, start: str, horizon: int, columns: set[str] | None = None,
                 *, until: int | None = None, mapping: str | Path = DEFAULT_MAPPING,
                 ) -> tuple[list[Target], dict[str, str]]:
    """The targets of the record inside months 1..``until`` of a scenario, and those left out.

    Args:
        record: the record CSV.
        start: the scenario's ``meta.start`` (``YYYY-MM``).
        horizon: the scenario's months.
        columns: the scenario's summary columns (None: do not check the outcomes).
        until: the last month of the calibration window (default: ``horizon``).
        mapping: the TOML mapping of targets.

    Returns:
        ``(targets, left_out)``: the targets in the mapping's order, and for each target left
        out, why.

    Raises:
        UsageError: a mapping that names an unknown row, an unknown ``how`` or a bad scale.
    """
    until = horizon if until is None else until
    if not 1 <= until <= horizon:
        raise UsageError(f"until: {until} is outside months 1..{horizon}")
    rows = read_record(record)
    mapping = Path(mapping)
    try:
        spec = tomllib.loads(mapping.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{mapping}: {exc}") from None
    targets: list[Target] = []
    left_out: dict[str, str] = {}
    for k, entry in enumerate(spec.get("target", [])):
        where = f"{mapping}: target {k + 1}"
        name = str(entry.get("name", ""))
        ids = tuple(entry.get("records", ()))
        outcome, how = str(entry.get("outcome", "")), str(entry.get("how", ""))
        scale = float(entry.get("scale", 1.0))
        if not name or not ids or not outcome:
            raise UsageError(f"{where}: needs name, records and outcome")
        if how not in HOWS:
            raise UsageError(f"{where} ({name}): how {how!r} is not one of {list(HOWS)}")
        if not scale > 0:
            raise UsageError(f"{where} ({name}): scale must be above 0, got {scale}")
        unknown = [i for i in ids if i not in rows]
        if unknown:
            left_out[name] = f"record has no row {', '.join(unknown)}"
            continue
        if columns is not None and outcome not in columns:
            left_out[name] = f"the scenario reports no outcome {outcome}"
            continue
        months = [scenario_month(rows[i].date, start) for i in ids]
        inside = [m for m in months if 1 <= m <= until]
        if how in ("count", "rounds"):
            if not inside:
                left_out[name] = f"no row in months 1..{until}"
                continue
            targets.append(Target(name, ids, outcome, how, until, float(len(inside)), scale))
            continue
        month = min(months)
        if not 1 <= month <= until:
            left_out[name] = f"observed in month {month}, outside months 1..{until}"
            continue
        if how == "first_month":
            observed = float(month)
        elif how == "by":
            observed = 1.0
        elif how == "none_by":
            observed = 0.0
        elif how in ("zero_before", "positive_by"):
            if how == "zero_before" and month < 2:
                left_out[name] = "observed in month 1: nothing before it"
                continue
            observed = 1.0
        else:
            observed = _number(rows[ids[0]], where) / 100.0
        targets.append(Target(name, ids, outcome, how, month, observed, scale))  # type: ignore[arg-type]
    return targets, left_out
