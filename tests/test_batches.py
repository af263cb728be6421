"""Designs as cell edits: many points in one compiled call, the same runs as point by point.

Run ``r`` of a design point depends only on (scenario, the point's values, seed, r): the same
whatever the batching, the chunking, the threads or the backend, and bit for bit the run of the
point's own scenario (``with_overrides`` + ``run_ensemble``). A bad design is refused before any
run, naming the key, the value and the point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core import layout as L
from sim.core.kernel import EDIT_AFFINITY, EDIT_SANCTION, EDIT_TRADE
from sim.errors import ScenarioError
from sim.jobs.backends import run_design, run_points
from sim.jobs.edits import PointEdits, cell_targets
from sim.jobs.job import Job

MONTHS = 12
RUNS = 24
SEED = 5

#: Cell keys of several tables; escalation_step from 0 changes which columns a summary shows.
KEYS = ["actors.EU.escalation_step", "categories.missiles.detection", "relations.0.affinity",
        "world.shock_sd", "tracks.relief.trust"]


def design_values(baseline, n: int = 6, seed: int = 3) -> np.ndarray:
    """``n`` points within the schema's bounds, one of them with escalation_step 0."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(0.0, 0.4, n), rng.uniform(0.05, 0.6, n),
                         rng.uniform(-0.5, 0.5, n), rng.uniform(0.0, 0.05, n),
                         rng.uniform(0.1, 0.6, n)])
    X[1, 0] = 0.0
    return X


@pytest.fixture(scope="module")
def edits(baseline, numba_kernel) -> PointEdits:
    keys = [k for k in KEYS if cell_targets(baseline, k) is not None]
    assert keys == KEYS, "every key of the test is a cell of the baseline"
    return PointEdits.from_design(baseline, KEYS, design_values(baseline))


@pytest.fixture(scope="module")
def reference(edits) -> tuple[list[str], np.ndarray]:
    """The design in one piece on all threads: points x runs x outcomes."""
    return run_design(edits, RUNS, SEED, months=MONTHS, chunk_size=10**6)


def test_each_point_equals_its_own_scenario_bit_for_bit(edits, reference):
    columns, values = reference
    shown_differently = False
    for p in range(edits.n_points):
        own = sim.run_ensemble(edits.scenario(p), runs=RUNS, seed=SEED, months=MONTHS,
                               bands=False, progress=False).summary
        np.testing.assert_array_equal(own["run"].to_numpy(), np.arange(RUNS))
        for j, c in enumerate(columns):
            if c in own.columns:
                np.testing.assert_array_equal(values[p, :, j], own[c].to_numpy(), err_msg=c)
            else:
                shown_differently = True
                assert np.isnan(values[p, :, j]).all(), c
    assert shown_differently, "the design should include a point whose summary lacks a column"


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("chunk_size", [1, 7, RUNS, 5 * RUNS + 3])
def test_batching_chunks_and_threads_do_not_change_runs(edits, reference, threads, chunk_size):
    import numba

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("machine has fewer threads")
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        columns, values = run_design(edits, RUNS, SEED, months=MONTHS, chunk_size=chunk_size)
    finally:
        numba.set_num_threads(before)
    assert columns == reference[0]
    np.testing.assert_array_equal(values, reference[1])


def test_a_point_alone_or_among_others_gives_the_same_runs(baseline, edits, reference):
    """Batching: a design of one point, or the points in another order, changes no run."""
    order = np.array([4, 0, 5, 2, 1, 3])
    shuffled = PointEdits.from_design(baseline, KEYS, edits.values[order])
    columns, values = run_design(shuffled, RUNS, SEED, months=MONTHS)
    where = [columns.index(c) for c in reference[0]]
    np.testing.assert_array_equal(values[:, :, where], reference[1][order])
    alone = PointEdits.from_design(baseline, KEYS, edits.values[[3]])
    cols1, one = run_design(alone, np.arange(5, RUNS), SEED, months=MONTHS)
    for j, c in enumerate(cols1):
        np.testing.assert_array_equal(one[0, :, j], reference[1][3, 5:, reference[0].index(c)])


def test_a_durable_design_stores_the_same_rows(edits, reference, tmp_path):
    columns, values = run_design(edits, RUNS, SEED, months=MONTHS, chunk_size=50,
                                 out=tmp_path / "design")
    np.testing.assert_array_equal(values, reference[1])
    stored = pd.read_parquet(tmp_path / "design") if (tmp_path / "design").is_file() else None
    assert stored is None or len(stored) == edits.n_points * RUNS


def test_points_of_policies_run_as_cell_edits_with_the_same_rows(baseline, numba_kernel,
                                                                  monkeypatch):
    """run_points batches points that differ only in cells (a policy comparison)."""
    scns = [baseline.with_policy(p) for p in sim.list_policies()]
    assert PointEdits.from_scenarios(scns) is not None
    batched = run_points(scns, 30, SEED, months=MONTHS)
    monkeypatch.setattr(PointEdits, "from_scenarios", classmethod(lambda cls, s: None))
    alone = run_points(scns, 30, SEED, months=MONTHS)
    for a, b in zip(batched, alone, strict=True):
        assert list(a.columns) == list(b.columns)
        np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_structural_differences_are_not_cell_edits(baseline):
    other = sim.load_scenario("baseline").with_overrides({"meta.horizon": 24})
    assert PointEdits.from_scenarios([baseline, other]) is None
    assert cell_targets(baseline, "routes.iran_russia_drones.supplier") is None
    assert cell_targets(baseline, "meta.horizon") is None
    assert cell_targets(baseline, "actors.USA.kind") is None
    assert cell_targets(baseline, "no.such.key") is None


def test_cell_keys_resolve_to_the_cells_compiling_sets(baseline):
    """Each cell key names the cell whose value compiling the overridden scenario changes."""
    cs = baseline.compile()
    keys = {"world.shock_sd": 0.031, "theatre.balance": 0.17, "actors.IRN.gdp": 512.0,
            "actors.RUS.capacity.drones": 7.0, "categories.drones.price": 0.07,
            "routes.iran_russia_drones.open": 0.0, "tracks.relief.trust": 0.33,
            "relations.0.affinity": 0.123, "sanctions.0.intensity": 0.42,
            "trade.0.share": 0.05}
    tables = {L.EV_WORLD: "W", L.EV_ACTOR: "AP", L.EV_CATEGORY: "CP", L.EV_ROUTE: "RP",
              L.EV_TRACK: "TP", L.EV_CAPACITY: "CAP", L.EV_DEMAND: "DEM",
              EDIT_AFFINITY: "AFF0", EDIT_SANCTION: "SANC0", EDIT_TRADE: "TRADE0"}
    for key, value in keys.items():
        cells = cell_targets(baseline, key)
        assert cells, key
        changed = baseline.with_overrides({key: value}).compile()
        for table, row, col in cells:
            name = tables[table]
            a = getattr(changed, name)
            assert (a[col] if a.ndim == 1 else a[row, col]) == value, key
        diffs = sum(int((getattr(changed, n) != getattr(cs, n)).sum()) for n in tables.values())
        assert diffs == len(cells), key


# ---- validation once per design -----------------------------------------------------------------

@pytest.mark.parametrize("keys, column, fault", [
    (["actors.USA.escalation_step"], [0.1, 0.2, 1.5, 0.3], "point 2: value 1.5"),
    (["categories.missiles.detection"], [0.1, -0.1, 0.2], "point 1: value -0.1"),
    (["world.shock_sd"], [0.01, np.nan], "point 1: value nan: must be a finite number"),
    (["tracks.ceasefire.stalemate_months"], [3, 4.5], "point 1: value 4.5: must be a whole"),
])
def test_a_value_outside_the_fields_bounds_names_key_value_and_point(baseline, keys, column,
                                                                      fault):
    with pytest.raises(ScenarioError, match=fault) as err:
        PointEdits.from_design(baseline, keys, np.array(column).reshape(-1, 1))
    assert err.value.key == keys[0]


def test_cross_field_rules_are_checked_for_every_point(baseline):
    """A cap of 0 with a step above 0 is refused at the point where both meet, not at the ends."""
    keys = ["actors.EU.escalation_step", "actors.EU.escalation_cap"]
    # point 2 holds no factor's smallest or largest value: the vectorised rule finds it
    X = np.array([[0.0, 0.0], [0.4, 0.5], [0.2, 0.0], [0.1, 0.9]])
    with pytest.raises(ScenarioError, match="point 2: value 0: .*escalation_cap above 0"):
        PointEdits.from_design(baseline, keys, X)
    gdp = baseline.spec.actors["IRN"].gdp
    price = baseline.spec.categories["missiles"].price
    cap = baseline.spec.actors["IRN"].capacity.get("missiles", 0.0)
    # IRN's missiles sales at a price that breaks the GDP rule only at one point
    routes = [r for r in baseline.spec.routes.values() if r.supplier == "IRN"]
    other = sum(baseline.spec.actors["IRN"].capacity.get(r.category, 0.0)
                * baseline.spec.categories[r.category].price for r in routes
                if r.category != "missiles")
    too_high = (gdp * 1000.0 / 12.0 - other) / cap * 1.01
    X = np.array([[price], [too_high], [price * 1.1]])
    with pytest.raises(ScenarioError, match="point 1: .*arms sales"):
        PointEdits.from_design(baseline, ["categories.missiles.price"], X)


def test_trade_shares_of_a_row_must_not_pass_1(baseline):
    src = baseline.spec.trade[0].source
    keys = [f"trade.{k}.share" for k, t in enumerate(baseline.spec.trade) if t.source == src]
    base = np.array([baseline.spec.trade[int(k.split(".")[1])].share for k in keys])
    X = np.vstack([base, base * 0 + 1.0 / len(keys) * 1.2, base])
    with pytest.raises(ScenarioError, match="point 1: .*trade shares add up to more than 1"):
        PointEdits.from_design(baseline, keys, X)


def test_a_bad_design_is_refused_before_any_run(baseline, monkeypatch):
    import sim.engines.ensemble as ens

    def forbidden(*args, **kwargs):
        raise AssertionError("ran the model")

    monkeypatch.setattr(ens, "raw_outcomes", forbidden)
    from analysis.sweep import sweep

    with pytest.raises(ScenarioError, match="escalation_cap"):
        sweep(baseline, {"actors.USA.escalation_step": (0.0, 0.4),
                         "actors.USA.escalation_cap": (0.0, 0.5)}, design="lhs", samples=20,
              runs_per_point=2, progress=False)


def test_a_job_of_edits_must_match_its_points(baseline, edits):
    with pytest.raises(ValueError, match="points"):
        Job((Job.design(edits, 2, 0).points[0],), np.arange(2), 0, edits=edits)
