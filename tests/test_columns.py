"""Columns from what can happen (issue 11, item 8).

* The summary and the monthly record cover every actor that can sanction, escalate or be
  sanctioned during a run, not only those at month 0: an actor a scheduled event turns into a
  sanctioner has its credibility and escalation columns, and the monthly record follows every
  sanction that can become non-zero (escalation, snap-back after a broken deal, secondary
  sanctions on facilitators, under any policy). Checked against the full sanctions matrix of
  every month of every run, recorded by the same kernel with every pair asked for.
* The headline tables leave out outcomes that do not vary across the ensemble, and say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders import ScenarioBuilder
from hypothesis import given, settings
from hypothesis import strategies as st
from test_invariants import CASE_IDS, CASES, _drawn, case, relief_scenarios

import sim
import sim.engines.ensemble as engine
from analysis.report import build_report, find_results
from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs
from sim.results.table import constant_note, format_outcome_table, outcome_table
from sim.scenario import CompiledScenario, Scenario

SEED = 11


def every_pair(cs: CompiledScenario) -> np.ndarray:
    """Every (sender, target) pair of distinct actors."""
    n = len(cs.actor_ids)
    return np.array([(i, j) for i in range(n) for j in range(n) if i != j],
                    dtype=np.int64).reshape(-1, 2)


def pairs_that_move(scn: Scenario, runs: int, seed: int) -> set[tuple[str, str]]:
    """(sender, target) ids of every sanction above 0 in some month of some run.

    The kernel records the pairs it is given; here it is given every pair, so this is the whole
    sanctions matrix, month by month.
    """
    cs = scn.compile()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(engine, "sanction_pairs", every_pair)
        chunk = engine.compute_chunk(cs, seed, np.arange(runs), cs.horizon, record=True)
    assert chunk.trajectories is not None
    names = monthly_names(cs, every_pair(cs))
    ids = cs.actor_ids
    out = set()
    for i, j in every_pair(cs):
        k = names.index(f"sanctions_{ids[i]}_{ids[j]}")
        if (chunk.trajectories[:, :, k] > 0).any():
            out.add((ids[i], ids[j]))
    return out


def recorded(scn: Scenario) -> set[tuple[str, str]]:
    cs = scn.compile()
    return {(cs.actor_ids[i], cs.actor_ids[j]) for i, j in sanction_pairs(cs)}


def assert_recorded(scn: Scenario, runs: int, seed: int, what: str) -> set[tuple[str, str]]:
    moving = pairs_that_move(scn, runs, seed)
    missing = moving - recorded(scn)
    assert not missing, (f"{what}: sanctions that become non-zero but are not in the monthly "
                         f"record: {', '.join(f'{a} on {b}' for a, b in sorted(missing))}")
    return moving


@pytest.mark.parametrize(("name", "policy"), CASES, ids=CASE_IDS)
def test_the_record_follows_every_sanction_that_moves(name, policy, numba_kernel):
    assert_recorded(case(name, policy), 300, SEED, f"{name}+{policy or 'none'}")


def test_secondary_sanctions_on_a_facilitator_are_recorded(numba_kernel):
    # The EU is neutral to China at the start (affinity 0), so only its secondary doctrine can
    # sanction China, which buys most of Iran's oil and busts sanctions.
    scn = case("baseline", "secondary_sanctions")
    moving = assert_recorded(scn, 300, SEED, "baseline+secondary_sanctions")
    assert ("EU", "CHN") in moving


def late_sanctioner(folder) -> Scenario:
    """SUP ships covertly to REC; LATE has no escalation step until an event gives it one in
    month 3 (a government that changes its doctrine)."""
    return (ScenarioBuilder("A sanctioner from month 3", horizon=24, shock_sd=0.0)
            .actor("SUP", gdp=500.0, capacity={"arms": 20.0})
            .actor("REC", gdp=500.0, demand={"arms": 20.0})
            .actor("LATE", gdp=5000.0, leverage=0.3, escalation_cap=0.8, warning=1.0,
                   escalation_threshold=0.5, cohesion=1.0)
            .category("arms", detection=0.5, escalation_weight=1.0, price=0.01)
            .route("sup_rec", "SUP", "REC", "arms", propensity=5.0)
            .relation("LATE", "SUP", -0.5).relation("SUP", "REC", 0.5)
            .event(3, "actors.LATE.escalation_step", 0.2, "LATE adopts a sanctions doctrine")
            .theatre("REC", "LATE")
            .build(folder, "late"))


def test_an_actor_an_event_makes_a_sanctioner_has_its_columns(numba_kernel, tmp_path):
    scn = late_sanctioner(tmp_path)
    assert scn.spec.actors["LATE"].escalation_step == 0.0
    names, _ = outcome_layout(scn.compile())
    assert {"credibility_LATE", "escalations_LATE"} <= set(names)
    summary = sim.run_ensemble(scn, runs=200, seed=SEED, bands=False, progress=False).summary
    # The columns are results, not constants: LATE escalates in some runs and not in others.
    assert summary["escalations_LATE"].nunique() > 1
    assert summary["credibility_LATE"].nunique() > 1
    moving = assert_recorded(scn, 200, SEED, "late sanctioner")
    assert ("LATE", "SUP") in moving


@settings(max_examples=25)
@given(builder=relief_scenarios(), late=st.booleans(), month=st.integers(1, 12),
       seed=st.integers(0, 2**32))
def test_drawn_scenarios_record_every_sanction_that_moves(builder, late, month, seed,
                                                          numba_kernel, drawn_dir):
    if late:
        builder.actor("LATE", gdp=5000.0, leverage=0.3, escalation_cap=0.9)
        builder.relation("LATE", "SUP", -0.3)
        builder.event(month, "actors.LATE.escalation_step", 0.3)
    scn = _drawn(builder, drawn_dir)
    if late:
        names, _ = outcome_layout(scn.compile())
        assert {"credibility_LATE", "escalations_LATE"} <= set(names)
    assert_recorded(scn, 100, seed, "drawn scenario")


@pytest.fixture(scope="module")
def drawn_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("drawn_columns")


# ---- headline tables: outcomes that do not vary are left out, and named ------------------------


def _constant(x: pd.Series) -> bool:
    v = x.to_numpy(dtype=float)
    return bool(np.isnan(v).all() or (not np.isnan(v).any() and (v == v[0]).all()))


@pytest.mark.parametrize("policy", [None, "maximum_pressure"], ids=["none", "maximum_pressure"])
def test_the_outcome_table_leaves_out_what_does_not_vary_and_says_so(policy, numba_kernel):
    scn = case("baseline", policy)
    runs = 300
    summary = sim.run_ensemble(scn, runs=runs, seed=SEED, bands=False, progress=False).summary
    table = outcome_table(summary, scn)
    constant = {c for c in summary.columns if c != "run" and _constant(summary[c])}
    assert constant, "the baseline has outcomes that cannot vary (arms revenue of free aid)"
    assert set(table.attrs["constant"]) == constant
    assert not constant & set(table["column"])
    assert set(table["column"]) == set(summary.columns) - constant - {"run"}
    assert {"arms_revenue_USA", "peak_pressure_USA"} <= constant
    if policy == "maximum_pressure":
        # No zone of agreement can exist: no relief deal in any run (issue 11's finding).
        assert table.attrs["constant"]["relief_reached"] == "0"
        assert table.attrs["constant"]["relief_month"] == "never"
    # The printed table says which were left out, why, and their value.
    text = format_outcome_table(table)
    note = constant_note(table)
    assert note.startswith(f"constant in all {runs} runs")
    assert "arms_revenue_USA = 0" in note
    assert " ".join(text.split("\n\n", 1)[1].split()) == note
    # Asked for, every column stays.
    full = outcome_table(summary, scn, drop_constant=False)
    assert set(full["column"]) == set(summary.columns) - {"run"}
    assert full.attrs["constant"] == {}


def test_the_report_says_which_outcomes_were_left_out(numba_kernel, tmp_path):
    res = sim.run_ensemble(case("baseline", None), runs=150, seed=SEED, progress=False)
    res.save(tmp_path / "ens")
    page, _ = build_report(find_results(tmp_path / "ens"))
    assert "Constant in all 150 runs" in page and "arms_revenue_USA = 0" in page


def test_a_single_run_leaves_nothing_out(baseline):
    summary = pd.DataFrame({"run": [0], "relief_reached": [0.0], "relief_month": [np.nan]})
    table = outcome_table(summary, baseline)
    assert list(table["outcome"]) == ["relief_reached", "relief_month"]
    assert constant_note(table) == ""
