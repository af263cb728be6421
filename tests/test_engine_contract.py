"""The engine contract: for every bundled scenario and every policy overlay, runs 0..k of the Mesa
engine and of the Numba engine are the same runs, bit for bit (every column, month and band),
their monthly trajectories too, and the same seed gives the same runs.

One battery, parametrised over pairs of ``sim.list_scenarios()`` and (no policy and
``sim.list_policies()``), so a new scenario or policy is covered without a line here: every
scenario without a policy and under one policy (taken in turn), and the baseline under every
policy, so each policy runs on the baseline and on at least one other scenario. Not the full
product: a policy is an overlay of parameters that both engines read from the same compiled
scenario, so a divergence would show in any scenario it applies to, and the Mesa runs are the
suite's slowest (the full product took about 40 s of the suite). tests/test_golden.py pins every
scenario x policy on the Numba engine. Which columns are discrete (yes/no, counts, months) comes
from the outcome declarations of :mod:`sim.core.outcomes`, not from their names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.outcomes import outcome_declaration
from sim.jobs.ensemble import run_ensemble

RUNS = range(0, 4)
SEED = 20240917


def contract_cases(scenarios: list[str], policies: list[str],
                   base: str = "baseline") -> list[tuple[str, str | None]]:
    """(scenario, policy or None) pairs: each scenario bare and under one policy in turn, and
    ``base`` under every policy; no pair twice, in a fixed order."""
    others = [s for s in scenarios if s != base]
    pairs = [(s, None) for s in scenarios]
    pairs += [(base, p) for p in policies]
    pairs += [(s, policies[k % len(policies)]) for k, s in enumerate(others)]
    return list(dict.fromkeys(pairs))


CASES = contract_cases(sim.list_scenarios(), sim.list_policies())


@pytest.fixture(scope="module", params=CASES,
                ids=[f"{s}-{p or 'no_policy'}" for s, p in CASES])
def pair(request, numba_kernel):
    """One scenario under one policy: (scenario, numba result, mesa result)."""
    name, policy = request.param
    scn = sim.load_scenario(name, policy=policy)
    keep = list(RUNS)
    numba_res = run_ensemble(scn, RUNS, seed=SEED, engine="numba", keep_runs=keep,
                             progress=False)
    mesa_res = run_ensemble(scn, RUNS, seed=SEED, engine="mesa", keep_runs=keep,
                            progress=False)
    return scn, numba_res, mesa_res


def _columns(scn: sim.Scenario, summary: pd.DataFrame, discrete: bool) -> list[str]:
    cs = scn.compile()
    return [c for c in summary.columns[1:] if outcome_declaration(cs, c).discrete == discrete]


def test_same_columns_and_runs(pair):
    _, nb, me = pair
    assert list(nb.summary.columns) == list(me.summary.columns)
    assert nb.summary["run"].tolist() == me.summary["run"].tolist() == list(RUNS)


def test_every_column_is_declared_and_within_its_range(pair):
    scn, nb, _ = pair
    cs = scn.compile()
    for c in nb.summary.columns[1:]:
        d = outcome_declaration(cs, c)
        assert d.shown, c
        x = nb.summary[c].dropna().to_numpy()
        assert ((d.family.low <= x) & (x <= d.family.high)).all(), c
        if d.kind == "binary":
            assert set(x) <= {0.0, 1.0}, c
        if d.kind == "month":
            assert (x <= nb.months).all(), c


def test_discrete_outcomes_identical(pair):
    scn, nb, me = pair
    cols = _columns(scn, nb.summary, discrete=True)
    assert cols, "no discrete outcome found"
    np.testing.assert_array_equal(nb.summary[cols].to_numpy(), me.summary[cols].to_numpy())


def test_continuous_outcomes_are_bit_identical(pair):
    scn, nb, me = pair
    cols = _columns(scn, nb.summary, discrete=False)
    assert cols, "no continuous outcome found"
    np.testing.assert_array_equal(nb.summary[cols].to_numpy(), me.summary[cols].to_numpy())


def test_monthly_trajectories_agree(pair):
    _, nb, me = pair
    np.testing.assert_array_equal(nb.trajectories.to_numpy(), me.trajectories.to_numpy())


def test_bands_agree(pair):
    _, nb, me = pair
    num = nb.bands.select_dtypes("number").to_numpy()
    np.testing.assert_array_equal(num, me.bands.select_dtypes("number").to_numpy())


def test_same_seed_same_runs(pair):
    scn, nb, _ = pair
    again = run_ensemble(scn, RUNS, seed=SEED, progress=False, bands=False)
    pd.testing.assert_frame_equal(again.summary, nb.summary)


def test_discrete_outcomes_are_whole_numbers(pair):
    scn, nb, _ = pair
    for c in _columns(scn, nb.summary, discrete=True):
        x = nb.summary[c].dropna().to_numpy()
        assert np.array_equal(x, np.round(x)), c


def test_cases_cover_every_scenario_and_policy():
    scenarios, policies = sim.list_scenarios(), sim.list_policies()
    assert {s for s, p in CASES if p is None} == set(scenarios)
    assert {s for s, p in CASES if p is not None} == set(scenarios)
    assert {p for s, p in CASES if s == "baseline"} == {None, *policies}
    for policy in policies:
        assert len({s for s, p in CASES if p == policy}) >= 2, policy
    assert len(CASES) == len(set(CASES))
