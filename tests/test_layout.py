"""The column layout of the compiled arrays (sim/core/layout.py) is generated and stable.

* It is what ``python -m sim.scenario.make_layout`` writes from the schema (``--check``), and the
  check fails, saying what to run, on a file that is not current.
* Its columns are those frozen below (the layout of the first release), in the same order, less
  the write-only state columns removed on purpose: a column that moves or vanishes by accident
  fails here, naming it.
* It imports nothing, so the compiled core reads it without importing the scenario layer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from sim.core import layout as L
from sim.scenario import make_layout

REPO = Path(__file__).resolve().parents[1]

# Every column of every array, in index order, as it was when the layout was first generated.
FROZEN = {
    "W_": ["W_COALITION", "W_LEAK_GAIN", "W_MAX_LEAK", "W_DAMAGE", "W_ADAPT", "W_SHOCK",
           "W_WAR_COST", "W_RELIEF_BOOST", "W_AFF_DRIFT", "W_TRANSFER_PULL", "W_SANCTION_PUSH",
           "W_CO_PULL", "W_EXPOSURE", "W_DENIAL_SOFT", "W_TRIG_MEM", "W_TRADE_DIV",
           "W_SUPPLY_BASE", "W_W_AFF", "W_W_NEED", "W_W_PRICE", "W_W_RISK", "W_W_RELIEF",
           "W_ATTACKER", "W_DEFENDER", "W_INT0", "W_BAL0", "W_INT_BASE", "W_INT_RATE",
           "W_SUPPLY_REF", "W_SUPPLY_INT", "W_BAL_GAIN", "W_BAL_REV", "W_BAL_SD", "W_CF_INT"],
    "A_": ["A_COHESION", "A_GDP", "A_MILEX", "A_ALIGN", "A_OPEN", "A_GROWTH", "A_LEVERAGE",
           "A_BUSTING", "A_WAR_EXP", "A_PRIO", "A_PAIN", "A_DENY", "A_WARNING", "A_ESC_STEP",
           "A_ESC_CAP", "A_ESC_THRESH", "A_DECAY", "A_EASE", "A_SECONDARY", "A_CRED",
           "A_CRED_GAIN", "A_CRED_LOSS", "A_OFFER", "A_SNAPBACK"],
    "C_": ["C_VALUE", "C_PRICE", "C_DETECT", "C_ESC_W", "C_BUILDS", "C_BUILD_RATE"],
    "R_": ["R_SUPPLIER", "R_RECIPIENT", "R_CATEGORY", "R_OPEN", "R_PROPENSITY"],
    "T_": ["T_KIND", "T_PARTY", "T_MEDIATOR", "T_TRUST0", "T_TRUST_GAIN", "T_TRUST_LOSS",
           "T_MIN_TRUST", "T_BASE_RATE", "T_HALT_COST", "T_MED_BONUS", "T_STALE_BAND",
           "T_STALE_MONTHS", "T_HURT_INT"],
    "S_": ["S_GDP", "S_ADAPT", "S_PRESSURE", "S_RAW", "S_LEAK", "S_CRED", "S_WARNED", "S_PRIO",
           "S_REVENUE", "S_DAMAGE", "S_GROWTH", "S_PEAK", "S_ESCALATIONS", "S_TRIG", "S_EXPOSED",
           "S_DENIED", "S_REVENUE_TOTAL", "S_FAILED"],
    "RS_": ["RS_SHIPPED", "RS_TOTAL", "RS_DETECTED", "RS_DETECTED_TOTAL", "RS_FIRST",
            "RS_DENIED"],
    "TS_": ["TS_ACTIVE", "TS_REACHED", "TS_MONTH", "TS_BROKEN", "TS_BROKEN_MONTH", "TS_TRUST",
            "TS_TERMS", "TS_STALEMATE", "TS_ZOPA"],
    "G_": ["G_INTENSITY", "G_BALANCE", "G_CEASEFIRE", "G_MONTH", "G_V_ATT", "G_V_DEF",
           "G_IMPORTS"],
    "DA_": ["DA_CRED", "DA_WARN", "DA_ESC", "DA_FAILED"],
    "DT_": ["DT_DEAL", "DT_TERMS", "DT_ZOPA"],
    "EV_": ["EV_WORLD", "EV_ACTOR", "EV_CATEGORY", "EV_ROUTE", "EV_TRACK", "EV_CAPACITY",
            "EV_DEMAND"],
}
COUNTS = {"W_": "NW", "A_": "NA", "C_": "NC", "R_": "NR", "T_": "NT", "S_": "NSA", "RS_": "NRS",
          "TS_": "NTS", "G_": "NG", "DA_": "NDA", "DT_": "NDT"}
# State columns that were written and never read by a rule, an outcome or the story (issue 10):
# removed. The month (G_MONTH) is in every draw's key instead.
REMOVED = {"S_DAMAGE", "S_GROWTH", "S_DENIED", "TS_ZOPA", "G_MONTH"}


def _columns(prefix: str) -> list[str]:
    names = [k for k, v in vars(L).items() if k.startswith(prefix) and isinstance(v, int)]
    return sorted(names, key=lambda k: getattr(L, k))


def test_the_layout_module_is_current_with_the_schema():
    out = subprocess.run([sys.executable, "-m", "sim.scenario.make_layout", "--check"],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr


def test_the_check_fails_on_a_stale_layout_and_says_what_to_run(tmp_path, capsys):
    stale = tmp_path / "layout.py"
    stale.write_text(make_layout.render().replace("W_COALITION = 0", "W_COALITION = 1"))
    assert make_layout.main(["--check", "--path", str(stale)]) == 1
    assert "python -m sim.scenario.make_layout" in capsys.readouterr().err
    assert make_layout.main(["--path", str(stale)]) == 0  # rewritten
    assert make_layout.main(["--check", "--path", str(stale)]) == 0
    assert stale.read_text() == make_layout.render()


def test_columns_keep_their_order_and_only_the_removed_ones_are_gone():
    for prefix, frozen in FROZEN.items():
        now = _columns(prefix)
        assert now == [c for c in frozen if c not in REMOVED], prefix
        # Indices run 0..k-1 with no gap, and the count says k.
        assert [getattr(L, c) for c in now] == list(range(len(now))), prefix
        if prefix in COUNTS:
            assert getattr(L, COUNTS[prefix]) == len(now), prefix
    # Where nothing was removed, every index is today's.
    for frozen in FROZEN.values():
        if not REMOVED & set(frozen):
            now = {c: getattr(L, c) for c in frozen}
            assert now == {c: k for k, c in enumerate(frozen)}, frozen[0]
    assert (L.TRACK_RELIEF, L.TRACK_CEASEFIRE) == (0, 1)


def test_every_numeric_schema_field_has_a_column_events_can_set():
    from sim.scenario import schema

    sections = [(schema.World, L.WORLD_FIELDS), (schema.Theatre, L.THEATRE_FIELDS),
                (schema.Actor, L.ACTOR_FIELDS), (schema.Category, L.CATEGORY_FIELDS),
                (schema.Route, L.ROUTE_FIELDS), (schema.Track, L.TRACK_FIELDS)]
    for model, fields in sections:
        numeric = [name for name, f in model.model_fields.items() if f.annotation in (float, int)]
        assert list(fields) == numeric, model.__name__
    assert L.WORLD_FIELDS["coalition_share"] == L.W_COALITION
    assert L.TRACK_FIELDS["trust"] == L.T_TRUST0


def test_the_layout_imports_nothing():
    tree = ast.parse((REPO / "sim" / "core" / "layout.py").read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == []
    assert "GENERATED by ``python -m sim.scenario.make_layout``" in ast.get_docstring(tree)
