"""Policy comparison on common random numbers: paired differences, their CIs, and saving."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.compare import PolicyComparison, compare_policies, paired_difference
from sim.engines.ensemble import numba_summary
from sim.errors import ArgumentError, DiplosimError
from sim.results.stats import mean_interval, wilson_interval

MONTHS = 36


@pytest.fixture(scope="module")
def comparison() -> PolicyComparison:
    return compare_policies("baseline", ["status_quo", "maximum_pressure", "status_quo"],
                            runs=200, seed=11, months=MONTHS)


def test_a_policy_compared_with_itself_differs_by_exactly_zero(comparison):
    t = comparison.table
    twin = t[t["policy"] == "status_quo (2)"]
    assert len(twin) == len(t[t["policy"] == "status_quo"]) > 10
    defined = twin[twin["n_pairs"] > 0]
    assert (defined["diff"] == 0.0).all()
    assert (defined["diff_low"] == 0.0).all() and (defined["diff_high"] == 0.0).all()
    # and the twin's own estimates are the reference's, to the bit
    ref = t[t["policy"] == "status_quo"].set_index("outcome")
    for _, r in twin.iterrows():
        assert r["estimate"] == ref.loc[r["outcome"], "estimate"] or (
            math.isnan(r["estimate"]) and math.isnan(ref.loc[r["outcome"], "estimate"]))


def test_every_policy_runs_the_same_runs_as_a_plain_ensemble(comparison):
    """Run r under a policy is run r of that policy's own ensemble (same seed, same run ids)."""
    base = sim.load_scenario("baseline")
    ids = np.arange(200)
    for label, name in [("status_quo", "status_quo"), ("maximum_pressure", "maximum_pressure")]:
        alone = numba_summary(base.with_policy(name), 11, ids, MONTHS)
        mine = comparison.runs[comparison.runs["policy"] == label].drop(columns="policy")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True),
                                      alone[mine.columns].reset_index(drop=True))


@pytest.mark.parametrize("outcome", ["gdp_index_IRN", "transfers_detected", "ceasefire_reached"])
def test_paired_differences_have_lower_variance_than_unpaired(outcome):
    """Common random numbers: the same draws under both policies cancel most of the noise.
    Unpaired = the second policy run on another seed (independent ensembles)."""
    base = sim.load_scenario("baseline")
    ids = np.arange(300)
    a = numba_summary(base.with_policy("status_quo"), 1, ids, MONTHS)[outcome].to_numpy()
    b = numba_summary(base.with_policy("maximum_pressure"), 1, ids, MONTHS)[outcome].to_numpy()
    b_other = numba_summary(base.with_policy("maximum_pressure"), 2, ids, MONTHS)[outcome]
    paired = np.var(b - a, ddof=1)
    unpaired = np.var(b_other.to_numpy() - a, ddof=1)
    assert paired < 0.25 * unpaired
    # and the comparison's paired CI is correspondingly narrower than an unpaired one would be
    d, lo, hi, n = paired_difference(b, a, 0.95)
    assert n == 300 and lo <= d <= hi
    unpaired_half = 1.96 * math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 300)
    assert (hi - lo) / 2 < unpaired_half


def test_estimates_use_wilson_for_proportions_and_t_for_means(comparison):
    runs = comparison.runs[comparison.runs["policy"] == "maximum_pressure"]
    row = comparison.row("maximum_pressure", "ceasefire_reached")
    k = int(runs["ceasefire_reached"].sum())
    assert row["kind"] == "proportion"
    assert row["estimate"] == pytest.approx(k / 200)
    assert (row["low"], row["high"]) == pytest.approx(wilson_interval(k, 200))
    row = comparison.row("maximum_pressure", "transfers_detected")
    assert row["kind"] == "mean"
    assert (row["estimate"], row["low"], row["high"]) == pytest.approx(
        mean_interval(runs["transfers_detected"].to_numpy()))
    # the paired difference is the mean of per-run differences
    ref = comparison.runs[comparison.runs["policy"] == "status_quo"]
    d = runs["transfers_detected"].to_numpy() - ref["transfers_detected"].to_numpy()
    assert row["diff"] == pytest.approx(d.mean())
    assert row["diff_low"] < row["diff"] < row["diff_high"]


def test_month_outcomes_pair_only_runs_where_both_happened():
    d, lo, hi, n = paired_difference(np.array([3.0, np.nan, 5.0, 7.0]),
                                     np.array([1.0, 2.0, np.nan, 4.0]), 0.95)
    assert n == 2 and d == pytest.approx(2.5)


def test_sentences_name_the_deal_the_level_and_the_paired_difference(comparison):
    text = comparison.sentences()
    relief = [s for s in text if "sanctions-relief deal" in s]
    assert len(relief) == 3
    assert relief[0].startswith("Under status quo Iran")
    assert f"within {MONTHS} months" in relief[0]
    assert "than under status quo (paired 95% CI" in relief[1]
    assert "identical to status quo in every run" in relief[2]
    assert any("Russia and Ukraine reach a ceasefire" in s for s in text)


def test_save_and_load_give_the_same_comparison(comparison, tmp_path):
    comparison.save(tmp_path)
    back = PolicyComparison.load(tmp_path)
    pd.testing.assert_frame_equal(back.table, comparison.table)
    pd.testing.assert_frame_equal(back.runs, comparison.runs)
    assert back.policies == comparison.policies and back.seed == 11
    assert back.sentences() == comparison.sentences()
    assert sim.load_scenario(tmp_path / "scenario.toml").content_hash() == \
        comparison.scenario.content_hash()


@pytest.mark.parametrize("kwargs, key", [
    ({"policies": ["status_quo", "no_such_policy"]}, "(name)"),
    ({"policies": []}, "policy"),
    ({"policies": ["status_quo"], "runs": 1}, "runs"),
    ({"policies": ["status_quo"], "outcomes": ["nonsense"]}, "outcome"),
    ({"policies": ["status_quo"], "months": 0}, "months"),
])
def test_bad_input_is_refused_before_any_run(kwargs, key):
    """An unknown policy is a scenario fault; bad sizes and names are bad arguments."""
    args = {"runs": 10, "seed": 0, **kwargs}
    with pytest.raises(DiplosimError) as err:
        compare_policies("baseline", **args)
    assert isinstance(err.value, sim.ScenarioError if key == "(name)" else ArgumentError)
    assert err.value.key == key
