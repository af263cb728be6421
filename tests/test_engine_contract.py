"""The engine contract: for every bundled scenario and every policy overlay, runs 0..k of the Mesa
engine and of the Numba engine are the same runs, bit for bit (every column, month and band),
their monthly trajectories too, and the same seed gives the same runs.

One battery (:class:`EngineContract`), one class per bundled scenario inheriting it (as the
Axelrod library tests every strategy); each class runs the battery with no policy and with each
policy overlay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.jobs.ensemble import run_ensemble

RUNS = range(0, 4)
SEED = 20240917

#: Outcomes that are counts, months or yes/no: they must agree exactly.
DISCRETE = ("first_month_", "delivered_", "detected_", "transfers_detected", "escalations",
            "failed_follow_through")
DISCRETE_SUFFIX = ("_reached", "_month", "_broken", "_broken_month")


def is_discrete(column: str) -> bool:
    return column.startswith(DISCRETE) or column.endswith(DISCRETE_SUFFIX)


@pytest.fixture(scope="class", params=[None, *sim.list_policies()],
                ids=lambda p: p or "no_policy")
def pair(request, numba_kernel):
    """The test class's scenario under one policy: (scenario, numba result, mesa result)."""
    scn = sim.load_scenario(request.cls.scenario, policy=request.param)
    keep = list(RUNS)
    numba_res = run_ensemble(scn, RUNS, seed=SEED, engine="numba", keep_runs=keep,
                             progress=False)
    mesa_res = run_ensemble(scn, RUNS, seed=SEED, engine="mesa", keep_runs=keep,
                            progress=False)
    return scn, numba_res, mesa_res


class EngineContract:
    """The checks every bundled scenario passes (subclasses set ``scenario``)."""

    scenario: str = ""
    def test_same_columns_and_runs(self, pair):
        _, nb, me = pair
        assert list(nb.summary.columns) == list(me.summary.columns)
        assert nb.summary["run"].tolist() == me.summary["run"].tolist() == list(RUNS)

    def test_discrete_outcomes_identical(self, pair):
        _, nb, me = pair
        cols = [c for c in nb.summary.columns[1:] if is_discrete(c)]
        assert cols, "no discrete outcome found"
        np.testing.assert_array_equal(nb.summary[cols].to_numpy(), me.summary[cols].to_numpy())

    def test_continuous_outcomes_are_bit_identical(self, pair):
        _, nb, me = pair
        cols = [c for c in nb.summary.columns[1:] if not is_discrete(c)]
        np.testing.assert_array_equal(nb.summary[cols].to_numpy(), me.summary[cols].to_numpy())

    def test_monthly_trajectories_agree(self, pair):
        _, nb, me = pair
        np.testing.assert_array_equal(nb.trajectories.to_numpy(), me.trajectories.to_numpy())

    def test_bands_agree(self, pair):
        _, nb, me = pair
        num = nb.bands.select_dtypes("number").to_numpy()
        np.testing.assert_array_equal(num, me.bands.select_dtypes("number").to_numpy())

    def test_same_seed_same_runs(self, pair):
        scn, nb, _ = pair
        again = run_ensemble(scn, RUNS, seed=SEED, progress=False, bands=False)
        pd.testing.assert_frame_equal(again.summary, nb.summary)

    def test_discrete_outcomes_are_whole_numbers(self, pair):
        _, nb, _ = pair
        for c in nb.summary.columns[1:]:
            if is_discrete(c):
                x = nb.summary[c].dropna().to_numpy()
                assert np.array_equal(x, np.round(x)), c


class TestBaseline(EngineContract):
    scenario = "baseline"


class TestDronesOnly(EngineContract):
    scenario = "drones_only"


class TestReliefFirst(EngineContract):
    scenario = "relief_first"


class TestSplitNatoLeakyBrics(EngineContract):
    scenario = "split_nato_leaky_brics"


def test_every_bundled_scenario_has_a_battery():
    covered = {cls.scenario for cls in EngineContract.__subclasses__()}
    assert covered == set(sim.list_scenarios())
