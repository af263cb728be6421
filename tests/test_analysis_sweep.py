"""Sweeps: design shapes and bounds, common random numbers across points, sensitivity indices."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from analysis.sensitivity import morris_indices, sensitivity, sobol_indices
from analysis.sweep import (
    DESIGNS,
    MORRIS_LEVELS,
    Factor,
    SweepResult,
    aggregate,
    problem_of,
    sample_design,
    sweep,
)
from sim.engines.ensemble import numba_summary
from sim.errors import ArgumentError, DiplosimError

MONTHS = 18
DEAD = "actors.BRICS.milex"  # numeric, bounded, descriptive: read by no rule
LIVE = "actors.USA.relief_offer"


@st.composite
def problems(draw):
    d = draw(st.integers(1, 4))
    bounds = []
    for _ in range(d):
        lo = draw(st.floats(-100, 100, allow_nan=False))
        width = draw(st.floats(1e-3, 100, allow_nan=False))
        bounds.append([lo, lo + width])
    return {"num_vars": d, "names": [f"p{k}" for k in range(d)], "bounds": bounds}


@given(problem=problems(), samples=st.integers(2, 9), seed=st.integers(0, 2**40),
       design=st.sampled_from(sorted(DESIGNS)))
def test_every_design_has_its_documented_shape_and_stays_in_bounds(problem, samples, seed,
                                                                   design):
    d = problem["num_vars"]
    if design == "grid" and samples**d > 2000:
        samples = 2
    X = sample_design(design, problem, samples, seed)
    assert X.shape == (DESIGNS[design].points(d, samples), d)
    b = np.asarray(problem["bounds"])
    tol = 1e-9 * np.maximum(1.0, np.abs(b).max(axis=1))
    assert (X >= b[:, 0] - tol).all() and (X <= b[:, 1] + tol).all()
    again = sample_design(design, problem, samples, seed)
    np.testing.assert_array_equal(X, again)  # the seed fixes the design


@given(problem=problems(), samples=st.integers(2, 40), seed=st.integers(0, 2**32 - 1))
def test_latin_hypercube_puts_one_point_in_each_stratum_of_each_parameter(problem, samples,
                                                                          seed):
    X = sample_design("lhs", problem, samples, seed)
    b = np.asarray(problem["bounds"])
    u = (X - b[:, 0]) / (b[:, 1] - b[:, 0])
    strata = np.clip(np.floor(u * samples).astype(int), 0, samples - 1)
    for j in range(problem["num_vars"]):
        assert sorted(strata[:, j]) == list(range(samples))


@given(problem=problems(), levels=st.integers(2, 6))
def test_grid_takes_every_combination_of_evenly_spaced_levels(problem, levels):
    d = problem["num_vars"]
    if levels**d > 2000:
        levels = 2
    X = sample_design("grid", problem, levels, 0)
    for j, (lo, hi) in enumerate(problem["bounds"]):
        np.testing.assert_allclose(np.unique(X[:, j]), np.linspace(lo, hi, levels))
    assert len({tuple(r) for r in X}) == levels**d


@given(problem=problems(), trajectories=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_morris_trajectories_move_one_parameter_at_a_time_on_its_grid(problem, trajectories,
                                                                      seed):
    d = problem["num_vars"]
    X = sample_design("morris", problem, trajectories, seed)
    b = np.asarray(problem["bounds"])
    u = (X - b[:, 0]) / (b[:, 1] - b[:, 0])
    np.testing.assert_allclose(u * (MORRIS_LEVELS - 1), np.round(u * (MORRIS_LEVELS - 1)),
                               atol=1e-9)
    for t in range(trajectories):
        block = u[t * (d + 1):(t + 1) * (d + 1)]
        moved = np.abs(np.diff(block, axis=0)) > 1e-12
        assert (moved.sum(axis=1) == 1).all()  # one coordinate per step
        assert sorted(np.argmax(moved, axis=1)) == list(range(d))  # each once


def test_sobol_design_is_saltellis_matrices_a_b_and_the_mixes():
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    X = sample_design("sobol", problem, 8, 5).reshape(8, 5, 3)
    A, B, AB = X[:, 0], X[:, -1], X[:, 1:-1]
    for i in range(3):
        expect = A.copy()
        expect[:, i] = B[:, i]
        np.testing.assert_array_equal(AB[:, i], expect)


@pytest.mark.parametrize("vary, key, fault", [
    ({"actors.XYZ.gdp": (1, 2)}, "actors.XYZ.gdp", "unknown key"),
    ({"actors.IRN.wealth": (1, 2)}, "actors.IRN.wealth", "unknown key"),
    ({"actors.IRN.name": (1, 2)}, "actors.IRN.name", "not a numeric"),
    ({"actors.IRN.kind": (1, 2)}, "actors.IRN.kind", "not a numeric"),
    ({LIVE: (0.5, 0.5)}, LIVE, "low must be below high"),
    ({LIVE: (0.6, 0.2)}, LIVE, "low must be below high"),
    ({LIVE: (0.0, float("inf"))}, LIVE, "finite"),
    ({"categories.missiles.detection": (0.1, 1.5)}, "categories.missiles.detection",
     "less than or equal to 1"),
    ({}, "vary", "at least one"),
])
def test_bad_parameters_to_vary_are_refused_before_any_run(vary, key, fault):
    with pytest.raises(DiplosimError) as err:
        sweep("baseline", vary, design="lhs", samples=4, runs_per_point=2)
    # A key the scenario lacks or refuses is a scenario fault; a bad range, a bad argument.
    bad_argument = key == "vary" or "finite" in fault or "below high" in fault
    assert isinstance(err.value, ArgumentError if bad_argument else sim.ScenarioError)
    assert err.value.key == key
    assert fault in err.value.fault


@pytest.mark.parametrize("design, samples", [("lhs", 0), ("grid", 1), ("sobol", 0),
                                             ("morris", 1), ("lhs", -3), ("nope", 4)])
def test_bad_design_sizes_are_refused(design, samples):
    with pytest.raises(ArgumentError):
        sweep("baseline", {LIVE: (0.1, 0.5)}, design=design, samples=samples, runs_per_point=2)


def test_bad_runs_per_point_is_refused():
    with pytest.raises(ArgumentError) as err:
        sweep("baseline", {LIVE: (0.1, 0.5)}, samples=2, runs_per_point=0)
    assert err.value.key == "runs_per_point"


def test_every_point_runs_the_same_runs_so_a_dead_parameter_changes_nothing():
    res = sweep("baseline", {DEAD: (0.0, 1.0)}, design="grid", samples=4, runs_per_point=40,
                seed=3, months=MONTHS)
    assert list(res.table["point"]) == [0, 1, 2, 3]
    np.testing.assert_allclose(res.table[DEAD], [0, 1 / 3, 2 / 3, 1])
    outcomes = res.table[res.outcomes]
    for k in range(1, 4):  # identical rows: the same draws and the parameter is never read
        pd.testing.assert_series_equal(outcomes.iloc[k], outcomes.iloc[0], check_names=False)
    # and each row is the plain ensemble's mean / probability
    plain = aggregate(numba_summary(sim.load_scenario("baseline"), 3, np.arange(40), MONTHS))
    for name in ("relief_agreed", "transfers_detected", "gdp_index_IRN"):
        assert outcomes.iloc[0][name] == pytest.approx(plain[name], rel=1e-12)


def test_points_apply_their_values_through_validated_overrides():
    res = sweep("baseline", {LIVE: (0.0, 0.9), "tracks.ceasefire.stalemate_months": (2, 12)},
                design="grid", samples=2, runs_per_point=30, seed=1, months=MONTHS)
    assert res.factors[1].integer and res.table["tracks.ceasefire.stalemate_months"].tolist() \
        == [2, 12, 2, 12]
    base = sim.load_scenario("baseline")
    for _, row in res.table.iterrows():
        scn = base.with_overrides({LIVE: float(row[LIVE]), "tracks.ceasefire.stalemate_months":
                                   int(row["tracks.ceasefire.stalemate_months"])})
        plain = aggregate(numba_summary(scn, 1, np.arange(30), MONTHS))
        assert row["relief_agreed"] == plain["relief_agreed"]
    # relief offered is what a relief deal needs
    assert res.table.loc[res.table[LIVE] == 0.0, "relief_agreed"].max() < \
        res.table.loc[res.table[LIVE] == 0.9, "relief_agreed"].min()


def test_save_and_load_keep_the_table_and_the_design(tmp_path):
    res = sweep("baseline", {LIVE: (0.1, 0.8), DEAD: (0.0, 1.0)}, design="lhs", samples=5,
                runs_per_point=10, seed=2, months=6)
    paths = res.save(tmp_path)
    assert {p.name for p in paths} == {"sweep.parquet", "scenario.toml", "manifest.json"}
    back = SweepResult.load(tmp_path)
    pd.testing.assert_frame_equal(back.table, res.table)
    assert back.factors == res.factors and back.design == "lhs" and back.seed == 2
    assert back.meta["scenario_hash"] == res.scenario.content_hash()
    assert "relief_agreed" in back.meta["proportions"]
    assert back.sensitivity is None and back.box is None
    again = back.save(tmp_path / "again")  # a loaded sweep saves again, with a fresh record
    assert [p.name for p in again] == [p.name for p in paths]


def test_sensitivity_indices_and_the_prim_box_are_saved_and_loaded_by_the_api(sobol_sweep,
                                                                             tmp_path):
    from analysis.discovery import discover

    res = SweepResult(sobol_sweep.scenario, sobol_sweep.factors, sobol_sweep.design,
                      sobol_sweep.samples, sobol_sweep.runs_per_point, sobol_sweep.seed,
                      sobol_sweep.months, sobol_sweep.table)
    res.sensitivity = sensitivity(res, ["relief_agreed"], seed=5)
    res.box = discover(res.table, [LIVE, DEAD], "relief_agreed>=0.2")
    names = {p.name for p in res.save(tmp_path)}
    assert {"sensitivity.parquet", "discovery.json", "prim_trajectory.parquet"} <= names
    back = SweepResult.load(tmp_path)
    pd.testing.assert_frame_equal(back.sensitivity, res.sensitivity)
    box = back.box
    assert box.condition == "relief_agreed>=0.2" and box.restricted == res.box.restricted
    pd.testing.assert_frame_equal(box.limits, res.box.limits)
    pd.testing.assert_frame_equal(box.data_range, res.box.data_range)
    pd.testing.assert_frame_equal(box.trajectory, res.box.trajectory)
    assert (box.coverage, box.density, box.mass, box.n) == (
        res.box.coverage, res.box.density, res.box.mass, res.box.n)
    assert box.describe() == res.box.describe()
    np.testing.assert_array_equal(box.contains(res.table), res.box.contains(res.table))


# ---------------------------------------------------------------------------------------------
# Sensitivity


@pytest.fixture(scope="module")
def sobol_sweep() -> SweepResult:
    return sweep("baseline", {LIVE: (0.0, 0.9), DEAD: (0.0, 1.0)}, design="sobol", samples=32,
                 runs_per_point=30, seed=5, months=MONTHS)


def test_a_parameter_no_rule_reads_gets_a_total_index_of_zero(sobol_sweep):
    idx = sobol_indices(sobol_sweep, ["relief_agreed", "transfers_detected"], seed=5)
    dead = idx[idx["parameter"] == DEAD]
    assert np.allclose(dead["ST"], 0.0, atol=1e-12)
    assert np.allclose(dead["S1"], 0.0, atol=1e-12)
    live = idx[(idx["parameter"] == LIVE) & (idx["outcome"] == "relief_agreed")].iloc[0]
    assert live["ST"] > 0.5 and live["ST_conf"] > 0


def test_morris_effect_of_a_dead_parameter_is_zero():
    res = sweep("baseline", {LIVE: (0.0, 0.9), DEAD: (0.0, 1.0)}, design="morris", samples=6,
                runs_per_point=30, seed=5, months=MONTHS)
    idx = morris_indices(res, ["relief_agreed"], seed=5).set_index("parameter")
    assert idx.loc[DEAD, "mu_star"] == 0.0 and idx.loc[DEAD, "sigma"] == 0.0
    assert idx.loc[LIVE, "mu_star"] > 0.1


def _synthetic(design: str, f, samples: int) -> SweepResult:
    """A sweep table built from a known function, to check the wiring of rows to SALib."""
    factors = [Factor("x1", 0.0, 1.0), Factor("x2", 0.0, 1.0), Factor("x3", 0.0, 1.0)]
    X = sample_design(design, problem_of(factors), samples, 9)
    table = pd.DataFrame(X, columns=["x1", "x2", "x3"])
    table.insert(0, "point", range(len(table)))
    table["runs"] = 1
    table["y"] = f(X)
    return SweepResult(None, factors, design, samples, 1, 9, 1, table)


def test_sobol_indices_of_a_known_additive_function():
    """y = 4 x1 + 2 x2 (x3 inert), x ~ U(0, 1): S1 = ST = 16/20, 4/20, 0."""
    res = _synthetic("sobol", lambda X: 4 * X[:, 0] + 2 * X[:, 1], 1024)
    idx = sobol_indices(res, ["y"], seed=1).set_index("parameter")
    np.testing.assert_allclose(idx["S1"], [0.8, 0.2, 0.0], atol=0.05)
    np.testing.assert_allclose(idx["ST"], [0.8, 0.2, 0.0], atol=0.05)


def test_morris_mu_star_of_a_known_linear_function():
    """Elementary effects of y = 3 x1 - x2 over the unit range are exactly 3, -1 and 0."""
    res = _synthetic("morris", lambda X: 3 * X[:, 0] - X[:, 1], 10)
    idx = morris_indices(res, ["y"]).set_index("parameter")
    np.testing.assert_allclose(idx["mu"], [3.0, -1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(idx["mu_star"], [3.0, 1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(idx["sigma"], [0.0, 0.0, 0.0], atol=1e-9)


def test_sensitivity_refuses_what_it_cannot_analyse(sobol_sweep):
    with pytest.raises(ArgumentError, match="undefined"):
        sensitivity(sobol_sweep, ["relief_broken_month"])
    with pytest.raises(ArgumentError, match="unknown outcome"):
        sensitivity(sobol_sweep, ["nonsense"])
    lhs = _synthetic("lhs", lambda X: X[:, 0], 8)
    with pytest.raises(ArgumentError, match="no sensitivity"):
        sensitivity(lhs, ["y"])
    with pytest.raises(ArgumentError, match="Morris"):
        morris_indices(sobol_sweep, ["relief_agreed"])


def test_a_sweep_shows_progress_and_time_left_when_asked(capsys):
    sweep("baseline", {LIVE: (0.1, 0.5)}, design="lhs", samples=3, runs_per_point=5, months=3,
          progress=True)
    err = capsys.readouterr().err
    assert "sweep (lhs)" in err and "3/3" in err and "point" in err
    assert re.search(r"\d\d:\d\d<\d\d:\d\d", err)  # elapsed < time left
    sweep("baseline", {LIVE: (0.1, 0.5)}, design="lhs", samples=3, runs_per_point=5, months=3,
          progress=False)
    assert capsys.readouterr().err == ""


def test_morris_with_a_whole_number_parameter_uses_the_design_as_sampled():
    res = sweep("baseline", {"tracks.ceasefire.stalemate_months": (2, 12), DEAD: (0.0, 1.0)},
                design="morris", samples=4, runs_per_point=20, seed=3, months=12)
    values = res.table["tracks.ceasefire.stalemate_months"]
    assert (values == values.round()).all() and set(values) <= set(range(2, 13))
    idx = morris_indices(res, ["ceasefire_reached"]).set_index("parameter")
    assert idx.loc[DEAD, "mu_star"] == 0.0
    tampered = SweepResult(res.scenario, res.factors, "morris", res.samples, 1, res.seed + 1,
                           res.months, res.table)
    with pytest.raises(ArgumentError, match="does not match"):
        morris_indices(tampered, ["ceasefire_reached"])


def test_aggregate_does_not_depend_on_the_frame_layout():
    """The same runs give the same bits whether a frame is laid out by rows or by columns."""
    rows = numba_summary(sim.load_scenario("baseline"), 3, np.arange(50), 6)
    by_column = pd.DataFrame(np.asfortranarray(rows.to_numpy()), columns=rows.columns)
    a, b = aggregate(by_column), aggregate(rows)
    assert list(a) == list(b)
    np.testing.assert_array_equal(list(a.values()), list(b.values()))  # NaN-aware, bit for bit
