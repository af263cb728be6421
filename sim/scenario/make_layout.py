"""Generate :mod:`sim.core.layout`, the column layout of the compiled arrays, from the schema.

    python -m sim.scenario.make_layout            # rewrite sim/core/layout.py
    python -m sim.scenario.make_layout --check    # exit 1 if sim/core/layout.py is not current

The parameter columns (``W``, ``AP``, ``CP``, ``RP``, ``TP``) follow the fields of
:mod:`sim.scenario.schema` in their order: every numeric field gets a column (and an entry in the
section's ``*_FIELDS`` map that compiling and events use), every field naming another item of the
scenario (an actor, a category, a track kind) gets a column holding its index. A field added to
the schema therefore gets its column by running this command. The state and decision columns are
not in a scenario file; they are declared here, with their meaning.

The generated module is a plain constants module that imports nothing: the compiled core reads it
at run time without importing the scenario layer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import BaseModel

from sim.scenario import schema

LAYOUT = Path(__file__).resolve().parents[1] / "core" / "layout.py"
COMMAND = "python -m sim.scenario.make_layout"

# Short column names of schema fields (the rules read better with them); a field missing here is
# named after itself, upper-cased.
_SHORT = {
    "world": {
        "coalition_share": "COALITION", "damage_rate": "DAMAGE", "adaptation_rate": "ADAPT",
        "sanction_years": "SANC_YEARS",
        "shock_sd": "SHOCK", "affinity_drift": "AFF_DRIFT", "co_sanction_pull": "CO_PULL",
        "exposure_penalty": "EXPOSURE", "denial_softening": "DENIAL_SOFT",
        "trigger_memory": "TRIG_MEM", "trade_diversion": "TRADE_DIV", "w_affinity": "W_AFF",
        "w_need": "W_NEED", "w_price": "W_PRICE", "w_risk": "W_RISK", "w_relief": "W_RELIEF",
    },
    "theatre": {
        "intensity": "INT0", "balance": "BAL0", "base_intensity": "INT_BASE",
        "intensity_rate": "INT_RATE", "supply_intensity": "SUPPLY_INT", "balance_gain": "BAL_GAIN",
        "balance_reversion": "BAL_REV", "balance_sd": "BAL_SD", "ceasefire_intensity": "CF_INT",
    },
    "actors": {
        "alignment": "ALIGN", "openness": "OPEN", "war_exposure": "WAR_EXP",
        "relief_priority": "PRIO", "pain_sensitivity": "PAIN", "deny_probability": "DENY",
        "escalation_step": "ESC_STEP", "escalation_cap": "ESC_CAP",
        "escalation_threshold": "ESC_THRESH", "ease_step": "EASE", "credibility": "CRED",
        "sanctioned_months": "SANC_AGE", "audience_cost": "AUDIENCE",
        "credibility_gain": "CRED_GAIN", "credibility_loss": "CRED_LOSS", "relief_offer": "OFFER",
    },
    "categories": {"detection": "DETECT", "escalation_weight": "ESC_W"},
    "routes": {},
    "tracks": {
        "trust": "TRUST0", "mediator_bonus": "MED_BONUS", "stalemate_band": "STALE_BAND",
        "stalemate_months": "STALE_MONTHS", "hurting_intensity": "HURT_INT",
        "implementation_months": "IMPL_MONTHS",
    },
}

# Fields that name another item of the scenario: their column holds its index (-1 for none).
_REFERENCES = {
    "theatre": {"attacker", "defender"},
    "categories": {"builds"},
    "routes": {"supplier", "recipient", "category"},
    "tracks": {"kind", "party", "mediator"},
}

# (array, prefix, count name, sections, what the array is)
_PARAMETERS = [
    ("W", "W_", "NW", [("world", schema.World, "WORLD_FIELDS"),
                       ("theatre", schema.Theatre, "THEATRE_FIELDS")],
     "world parameters W[...] (sections world and theatre)"),
    ("AP", "A_", "NA", [("actors", schema.Actor, "ACTOR_FIELDS")],
     "actor parameters AP[actor, ...]"),
    ("CP", "C_", "NC", [("categories", schema.Category, "CATEGORY_FIELDS")],
     "category parameters CP[category, ...]"),
    ("RP", "R_", "NR", [("routes", schema.Route, "ROUTE_FIELDS")],
     "route parameters RP[route, ...]"),
    ("TP", "T_", "NT", [("tracks", schema.Track, "TRACK_FIELDS")],
     "track parameters TP[track, ...]"),
]

# Columns a parameter array has beyond the schema's fields: (array, [(name, meaning)]).
_DERIVED = {
    "AP": [("ID", "stable 32-bit key of the actor's id: its draws are keyed by it")],
    "CP": [("ID", "stable 32-bit key of the category's id")],
    "RP": [("ID", "stable 32-bit key of the route's id: its draws are keyed by it")],
    "TP": [("ID", "stable 32-bit key of the track's id: its draws are keyed by it")],
}

# State and decision columns: (array, prefix, count name, what it is, [(name, meaning)]).
_STATE = [
    ("SA", "S_", "NSA", "actor state SA[actor, ...]", [
        ("GDP", "GDP index, 1 at the start"),
        ("ADAPT", "adaptation to sanctions, [0, 1)"),
        ("PRESSURE", "effective sanction pressure, after leakage, [0, 1]"),
        ("RAW", "raw sanction pressure, [0, 1]"),
        ("LEAK", "share of the raw pressure lost to leakage"),
        ("CRED", "credibility of its threats, [0, 1]"),
        ("WARNED", "1 once it has publicly threatened someone"),
        ("PRIO", "priority of sanctions relief, [0, 1]"),
        ("REVENUE", "arms revenue this month, USD mn"),
        ("PEAK", "highest effective pressure so far"),
        ("ESCALATIONS", "threatened packages imposed so far"),
        ("TRIG", "escalation-weighted detected transfers, with memory"),
        ("EXPOSED", "its transfers detected this month"),
        ("REVENUE_TOTAL", "arms revenue so far, USD mn"),
        ("FAILED", "threats backed down from so far"),
        ("COALITION", "share of the world economy sanctioning it"),
        ("DAMAGE0", "sanction damage at the start, 1/year (already in its trend growth)"),
        ("THREATS", "threats issued so far"),
        ("COMPLIED", "threats complied with until their deadline so far"),
        ("HALTS", "months its government ordered a halt of its covert transfers"),
        ("DEFIED", "months its security apparatus defied a halt"),
    ]),
    ("RS", "RS_", "NRS", "route state RS[route, ...]", [
        ("SHIPPED", "units shipped this month"),
        ("TOTAL", "units shipped so far"),
        ("DETECTED", "1 if this month's shipment was detected"),
        ("DETECTED_TOTAL", "months with a detected shipment so far"),
        ("FIRST", "month of the first shipment, -1 before"),
        ("DENIED", "1 if the supplier denied this month's detected shipment"),
        ("UNDER_DEAL", "months it shipped while its supplier's relief deal was implemented or "
         "in force"),
    ]),
    ("TS", "TS_", "NTS", "track state TS[track, ...]", [
        ("ACTIVE", "1 while a deal (or the ceasefire) is in force"),
        ("REACHED", "1 once a deal was reached (relief: once it came into force)"),
        ("MONTH", "month of the first deal, -1 before"),
        ("BROKEN", "1 once a deal was broken"),
        ("BROKEN_MONTH", "month of the first break, -1 before"),
        ("TRUST", "trust between the sides, [0, 1]"),
        ("TERMS", "terms of the deal in force or being implemented"),
        ("STALEMATE", "months of hurting stalemate in a row"),
        ("IMPLEMENTING", "1 while an agreed relief deal is being implemented"),
        ("CLEAN", "months in a row of verified halt during implementation"),
        ("AGREED", "1 once a relief deal was agreed"),
        ("AGREED_MONTH", "month of the first agreement, -1 before"),
        ("BREACHES", "relief: exposed transfers that broke a deal; ceasefire: breakdowns"),
        ("SINCE", "month the agreement being implemented or in force was made"),
        ("HAZARD", "ceasefire: this month's chance of a breakdown"),
        ("TREND", "ceasefire: the front's trend, monthly balance change smoothed"),
        ("GAP", "ceasefire: gap between the balance the forces now support and the terms"),
        ("RIPE_MONTH", "ceasefire: first month of a ripe (lasting, hurting) stalemate, -1 before"),
    ]),
    ("G", "G_", "NG", "global state G[...]", [
        ("INTENSITY", "war intensity, [0, 1]"),
        ("BALANCE", "war balance, +1 attacker winning, -1 defender"),
        ("CEASEFIRE", "1 while a ceasefire holds"),
        ("V_ATT", "military value reaching the attacker this month (imports and own production)"),
        ("V_DEF", "military value reaching the defender this month (imports and own production)"),
        ("IMPORTS", "military value imported by the two sides this month"),
        ("MOVE", "change of the balance this month"),
        ("OWN_ATT", "military value the attacker produced at home this month"),
        ("OWN_DEF", "military value the defender produced at home this month"),
    ]),
    ("DA", "DA_", "NDA", "actor decisions DA[actor, ...]", [
        ("CRED", "credibility after this month's decisions"),
        ("WARN", "1 if it has threatened someone after this month's decisions"),
        ("ESC", "threatened packages imposed this month"),
        ("FAILED", "threats backed down from this month"),
        ("THREATS", "threats issued this month"),
        ("COMPLIED", "threats complied with until their deadline this month"),
    ]),
    ("DT", "DT_", "NDT", "track decisions DT[track, ...]", [
        ("DEAL", "1 if a deal is agreed this month"),
        ("TERMS", "its terms"),
        ("ZOPA", "1 if a zone of agreement exists"),
    ]),
    ("DW", "DW_", "NDW", "supply decisions' reasons DW[route, ...] (terms of the utility)", [
        ("UTILITY", "the supply utility U"),
        ("NEED", "w_need x the recipient's unmet need"),
        ("AFFINITY", "w_affinity x affinity with the recipient"),
        ("PRICE", "w_price x revenue, % of GDP"),
        ("RISK", "-w_risk x expected cost of the threatened packages"),
        ("RELIEF", "-control x w_relief x relief put at risk"),
        ("HALT", "1 if the supplier's government ordered a halt"),
        ("DEFIED", "1 if its security apparatus defied the halt"),
        ("PROBABILITY", "chance of shipping"),
        ("DIVIDED", "1 if a bloc's members did not act together on it this month"),
    ]),
]

# Threat decisions (DTH[sender, route]) and threat states (THR[sender, route]).
_THREAT_CODES = [
    ("NONE", "no decision"),
    ("ISSUE", "a threat is issued over the route"),
    ("IMPOSE", "the threatened package is imposed"),
    ("BACK_DOWN", "the sender backs down (the threat lapses, credibility lost)"),
    ("COMPLIED", "the deadline passed with no detected transfer: the threat lapses as a success"),
    ("EXHAUSTED", "the sender is at its cap: the threat lapses with nothing left to impose"),
]

_TABLES = ["WORLD", "ACTOR", "CATEGORY", "ROUTE", "TRACK", "CAPACITY", "DEMAND", "PACKAGE"]


def _is_numeric(model: type[BaseModel], name: str) -> bool:
    return model.model_fields[name].annotation in (float, int)


def _unit(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra or {}
    return str(extra.get("unit", "")) if isinstance(extra, dict) else ""


def render() -> str:
    """The text of ``sim/core/layout.py`` for the current schema."""
    out = [
        '"""Column layout of the parameter, state and decision arrays of the rules and both '
        "engines.",
        "",
        f"GENERATED by ``{COMMAND}`` from the schema (``sim/scenario/schema.py``,",
        "parameters) and ``sim/scenario/make_layout.py`` (state and decisions). Do not edit it by",
        "hand: run the command after changing either (with ``--check`` it tells whether this file",
        "is current).",
        "",
        "The rules work on plain float64 arrays so that Numba can compile them and both engines",
        "can call them; these integer constants name the columns. ``WORLD_FIELDS`` and friends",
        "map the schema's field names onto them. This module imports nothing.",
        '"""',
    ]
    for array, prefix, count, sections, what in _PARAMETERS:
        out += ["", f"# --- {what} " + "-" * max(0, 90 - len(what))]
        col = 0
        fields_maps = []
        for section, model, fields_name in sections:
            short = _SHORT[section]
            entries = []
            for name in model.model_fields:
                if name in _REFERENCES.get(section, set()):
                    const = f"{prefix}{short.get(name, name.upper())}"
                    out.append(f"{const} = {col}  # {section}.{name} (index)")
                elif _is_numeric(model, name):
                    const = f"{prefix}{short.get(name, name.upper())}"
                    unit = _unit(model, name)
                    out.append(f"{const} = {col}  # {section}.{name}" + (f" ({unit})" if unit
                                                                          else ""))
                    entries.append((model.model_fields[name].alias or name, const))
                else:
                    continue
                col += 1
            fields_maps.append((fields_name, entries))
        for name, meaning in _DERIVED.get(array, []):
            out.append(f"{prefix}{name} = {col}  # {meaning}")
            col += 1
        out.append(f"{count} = {col}")
        for fields_name, entries in fields_maps:
            out.append("")
            out.append(f"{fields_name} = {{")
            out += [f'    "{name}": {const},' for name, const in entries]
            out.append("}")
        if array == "TP":
            out += ["", "# Track kinds (column T_KIND).", "TRACK_RELIEF = 0", "TRACK_CEASEFIRE = 1"]
    out += ["", "# --- event tables: the parameter array an event sets (column 1 of EV) "
            + "-" * 22]
    out += [f"EV_{t} = {k}" for k, t in enumerate(_TABLES)]
    out += ["", "# --- threat decisions DTH[sender, route] " + "-" * 52]
    out += [f"TH_{name} = {k}  # {meaning}" for k, (name, meaning) in enumerate(_THREAT_CODES)]
    for _array, prefix, count, what, columns in _STATE:
        out += ["", f"# --- {what} " + "-" * max(0, 90 - len(what))]
        out += [f"{prefix}{name} = {k}  # {meaning}" for k, (name, meaning) in enumerate(columns)]
        out.append(f"{count} = {len(columns)}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``sim/core/layout.py`` (or with ``--check``, return 1 if it is not current)."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the file differs from what would be written")
    parser.add_argument("--path", type=Path, default=LAYOUT, help="the layout module to write")
    args = parser.parse_args(argv)
    text = render()
    current = args.path.read_text(encoding="utf-8") if args.path.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.path} is not current with the schema: run `{COMMAND}`",
                  file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
