"""The classroom app's controls: the parameters a class plays with, and typed values read.

A :class:`Control` binds a slider (or a switch) to a dotted scenario key, with its plain-words
label, unit and range; the ranges of bounded parameters are the schema's own bounds. Text typed
beside a control is read as a TOML value (:func:`typed_value`), never evaluated; the value is
then validated by :meth:`sim.Scenario.with_overrides` like a scenario file
(:class:`classroom.session.Classroom` does that), and a refusal is put in words by
:func:`refusal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sim.scenario import Scenario, ScenarioError, parse_override_value
from sim.scenario.schema import Actor, Category


@dataclass(frozen=True)
class Control:
    """A parameter a class plays with: a slider (or a switch) bound to a dotted scenario key.

    ``lo``/``hi`` are the slider's range. For parameters with closed bounds in the schema they
    are those bounds, so every slider position is a value the schema accepts (cross-parameter
    rules can still refuse one, e.g. a cap of 0 with a positive escalation step).
    """

    key: str
    label: str
    unit: str
    lo: float
    hi: float
    step: float
    kind: Literal["slider", "switch"] = "slider"
    help: str = ""

    @property
    def range_text(self) -> str:
        """The range as shown beside the control, e.g. ``0 to 1``."""
        if self.kind == "switch":
            return "off (0) or on (1)"
        return f"{_num(self.lo)} to {_num(self.hi)}"


def _num(x: float) -> str:
    return f"{x:g}"


def _schema_bounds(model: type, name: str) -> tuple[float, float]:
    field = model.model_fields[name]
    lo = hi = None
    for m in field.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    if lo is None or hi is None:
        raise ValueError(f"{model.__name__}.{name} has no closed bounds in the schema")
    return float(lo), float(hi)


def _schema_control(key: str, label: str, unit: str, model: type, name: str, step: float,
                    help: str, kind: Literal["slider", "switch"] = "slider") -> Control:
    lo, hi = _schema_bounds(model, name)
    return Control(key, label, unit, lo, hi, step, kind, help)


CONTROLS: tuple[Control, ...] = (
    _schema_control("categories.missiles.detection", "Missile detection",
                    "chance per month that a shipment is exposed", Category, "detection", 0.01,
                    "How likely a month's missile shipment is detected and made public."),
    _schema_control("categories.drones.detection", "Drone detection",
                    "chance per month that a shipment is exposed", Category, "detection", 0.01,
                    "How likely a month's drone shipment is detected and made public."),
    _schema_control("actors.USA.escalation_step", "US escalation step",
                    "sanction intensity added per escalation", Actor, "escalation_step", 0.01,
                    "How far the US raises its sanctions each time exposed transfers pass its "
                    "threshold."),
    _schema_control("actors.USA.escalation_cap", "US escalation cap",
                    "highest sanction intensity", Actor, "escalation_cap", 0.01,
                    "The most the US will ever impose (must stay above 0 while it escalates)."),
    _schema_control("actors.EU.escalation_step", "EU escalation step",
                    "sanction intensity added per escalation", Actor, "escalation_step", 0.01,
                    "How far the EU raises its sanctions when its members agree to act."),
    _schema_control("actors.EU.escalation_cap", "EU escalation cap",
                    "highest sanction intensity", Actor, "escalation_cap", 0.01,
                    "The most the EU will ever impose (must stay above 0 while it escalates)."),
    _schema_control("actors.EU.cohesion", "EU cohesion",
                    "chance that the members act together", Actor, "cohesion", 0.01,
                    "Low cohesion: the EU's packages fail and its threats lose credibility."),
    _schema_control("actors.NATO.cohesion", "NATO cohesion",
                    "chance that the members act together", Actor, "cohesion", 0.01,
                    "Low cohesion: the allies' aid to Ukraine stalls in some months, and NATO's "
                    "warning backs the US and EU threats less."),
    _schema_control("actors.BRICS.busting", "BRICS busting (leakage)",
                    "share of willingness to trade around sanctions", Actor, "busting", 0.01,
                    "How readily BRICS partners trade around Western sanctions, which leaks "
                    "pressure away."),
    _schema_control("actors.IRN.relief_priority", "Iran's priority for relief",
                    "weight of sanctions relief in its choices", Actor, "relief_priority", 0.01,
                    "At the start; a scheduled event (a new government) and economic pain may "
                    "raise it later."),
    Control("actors.RUS.demand.drones", "Russia's demand for drones",
            "drones per month at full war intensity", 0.0, 1000.0, 10.0, "slider",
            "What Russia's war needs from suppliers; typed values above 1000 are accepted."),
    Control("actors.RUS.demand.missiles", "Russia's demand for missiles",
            "missiles per month at full war intensity", 0.0, 200.0, 1.0, "slider",
            "What Russia's war needs from suppliers; typed values above 200 are accepted."),
    _schema_control("actors.USA.warning", "US has warned", "flag", Actor, "warning", 1.0,
                    "Whether the US has publicly warned of a severe response at the start.",
                    kind="switch"),
)
CONTROLS_BY_KEY: dict[str, Control] = {c.key: c for c in CONTROLS}


def read_value(scn: Scenario, key: str, dump: dict[str, Any] | None = None) -> float | None:
    """The value of dotted ``key`` in ``scn`` (policy and overrides applied).

    None when the scenario has no such parameter (e.g. an uploaded scenario without the EU).
    ``dump`` may pass ``scn.spec.model_dump(by_alias=True)`` when reading many keys.
    """
    node: Any = scn.spec.model_dump(by_alias=True) if dump is None else dump
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (isinstance(node, dict) and depth == len(parts) - 1 and len(parts) == 4
              and parts[0] == "actors" and parts[2] in ("capacity", "demand")
              and part in scn.spec.categories):
            return 0.0  # a category the actor neither makes nor needs
        else:
            return None
    if isinstance(node, bool):
        return float(node)
    return float(node) if isinstance(node, (int, float)) else None


class RefusedText(ValueError):
    """Typed text that is not a value at all (empty, or not a whole-number seed)."""


_SEED_TEXT = re.compile(r"[0-9]{1,20}")


def typed_value(text: str) -> Any:
    """The value of text typed beside a control: a TOML value (a number), never evaluated.

    Whole numbers become floats (every control's parameter is a real number or a 0/1 flag).
    Text that is not a number comes back as it is, for the scenario's validation to refuse in
    its own words.

    Raises:
        RefusedText: if the text is empty.
    """
    text = (text or "").strip()
    if not text:
        raise RefusedText("enter a number")
    value = parse_override_value(text)
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def seed_from_text(text: str | int) -> int:
    """A seed typed in the page: a whole number from 0 to 2**64 - 1.

    Raises:
        RefusedText: naming the rule, if the text is not such a number.
    """
    text = str(text).strip()
    if not _SEED_TEXT.fullmatch(text) or int(text) >= 2**64:
        raise RefusedText(f"the seed must be a whole number from 0 to 2**64 - 1 "
                          f"(got {text[:30]!r})")
    return int(text)


def refusal(exc: ScenarioError, key: str | None = None) -> str:
    """A refused value in words: the fault, naming the parameter when it is not ``key``."""
    if key is not None and exc.key == key:
        return exc.fault
    return f"{exc.key}: {exc.fault}"
