"""One outcome table for one ensemble everywhere: ``diplosim run`` prints it, the HTML report
and the classroom app show it, with the same rows and the same figures; every row's kind comes
from the outcome declarations of :mod:`sim.core.outcomes`."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.report import build_report, find_results
from classroom.session import run_futures
from sim.cli import main
from sim.core.outcomes import declare_outcomes, outcome_declaration, outcome_layout
from sim.results.stats import mean_interval, wilson_interval
from sim.results.table import estimate_text, interval_text, outcome_table

RUNS, SEED = 150, 3


def _cli_rows(text: str) -> dict[str, tuple[str, str, int]]:
    """``outcome -> (estimate, CI, runs)`` from the table ``diplosim run`` prints."""
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("outcome "))
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        m = re.fullmatch(r"(\S+)\s+(\S+)\s*(\[[^\]]*\])?\s+(\d+)", line)
        assert m, line
        ci = re.sub(r"\s+", "", m.group(3) or "").replace(",", ", ")
        rows[m.group(1)] = (m.group(2), ci, int(m.group(4)))
    return rows


def _report_rows(page: str) -> dict[str, tuple[str, str, int]]:
    """The same from the report's ensemble table (columns outcome, what, estimate, CI, runs)."""
    section = page[page.index("<h2>Ensemble:"):]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S):
        cells = [html.unescape(c.strip()) for c in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        if cells:
            rows[cells[0]] = (cells[2], cells[3], int(cells[4]))
    return rows


def test_cli_report_and_app_show_the_same_rows_and_figures(numba_kernel, tmp_path, capsys):
    out = tmp_path / "ens"
    assert main(["run", "baseline", "--runs", str(RUNS), "--seed", str(SEED), "--out",
                 str(out)]) == 0
    cli = _cli_rows(capsys.readouterr().out)
    page, _ = build_report(find_results(out))
    report = _report_rows(page)
    futures = run_futures(sim.load_scenario("baseline"), seed=SEED, runs=RUNS)
    app = {r["outcome"]: (r["estimate"], r["ci"], int(r["runs"].replace(",", "")))
           for r in futures.rows(headline=True) + futures.rows(headline=False)}
    table = sim.load_results(out).outcome_table()
    # Outcomes constant in all runs are left out of all three alike (tests/test_columns.py).
    assert len(cli) > 50 and list(cli) == list(report) == list(table["outcome"])
    assert sorted(app) == sorted(cli)
    assert cli == report == app
    # Rows derived from a column: the event before the column's mean.
    assert list(cli)[:2] == ["shipped_drones", "first_month_drones"]
    assert {"any_detected_missiles", "any_transfers_detected", "any_escalations"} <= set(cli)


def test_the_table_is_the_estimators_of_sim_results_stats(baseline, numba_kernel):
    res = sim.run_ensemble(baseline, runs=RUNS, seed=SEED, bands=False, progress=False)
    table = outcome_table(res.summary, baseline).set_index("outcome")
    x = res.summary["relief_month"].to_numpy()
    m, lo, hi = mean_interval(x)
    row = table.loc["relief_month"]
    assert (row["estimate"], row["lo"], row["hi"], row["n"]) == (m, lo, hi, np.isfinite(x).sum())
    k = int(res.summary["first_month_missiles"].notna().sum())
    row = table.loc["shipped_missiles"]
    assert row["kind"] == "probability" and row["column"] == "first_month_missiles"
    assert (row["lo"], row["hi"]) == wilson_interval(k, RUNS)
    assert estimate_text("probability", 0.7264) == "72.6%"
    assert interval_text("probability", 0.718, 0.735) == "[71.8%, 73.5%]"
    assert estimate_text("mean", float("nan")) == "never" and interval_text("mean", np.nan,
                                                                            np.nan) == ""


def test_a_column_the_scenario_does_not_declare_is_refused(baseline):
    summary = pd.DataFrame({"run": [0, 1], "relief_reached": [1.0, 0.0], "mood_IRN": [0.1, 0.2]})
    with pytest.raises(KeyError, match="mood_IRN"):
        outcome_table(summary, baseline)
    with pytest.raises(KeyError, match="mood_IRN"):
        outcome_declaration(baseline.compile(), "mood_IRN")


@pytest.mark.parametrize("name", sim.list_scenarios())
def test_declarations_cover_every_policys_columns(name):
    base = declare_outcomes(sim.load_scenario(name).compile())
    for policy in sim.list_policies():
        cs = sim.load_scenario(name, policy=policy).compile()
        names, _ = outcome_layout(cs)
        assert set(names) <= set(base)
        assert [d.column for d in declare_outcomes(cs).values()] == list(base)
    kinds = {d.column: d.kind for d in base.values()}
    assert kinds["relief_reached"] == "binary" and kinds["relief_month"] == "month"
    assert kinds["transfers_detected"] == "count" and kinds["gdp_index_IRN"] == "level"
    assert kinds["peak_pressure_IRN"] == "share"


def test_labels_name_actors_routes_and_tracks_in_words(baseline):
    d = declare_outcomes(baseline.compile())
    assert d["ceasefire_reached"].label == "Ceasefire agreed"
    assert d["relief_broken"].label == "Relief deal broken by an exposed transfer"
    assert d["detected_iran_russia_missiles"].event_label == (
        "A transfer exposed, Iran → Russia: ballistic missiles")
    assert d["first_month_missiles"].event == "shipped_missiles"
