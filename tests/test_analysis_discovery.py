"""PRIM scenario discovery on synthetic cases whose box is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.discovery import (
    condition_mask,
    discover,
    parse_condition,
    peel,
    peel_count,
    prim,
    prim_boxes,
)
from sim.errors import ArgumentError


def _uniform(n: int, d: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.uniform(size=(n, d)), columns=[f"x{k}" for k in range(d)])


def test_prim_recovers_a_known_box():
    X = _uniform(3000, 4, 1)
    y = (X["x0"] > 0.6) & (X["x1"] < 0.4)  # x2, x3 irrelevant
    box = prim(X, y)
    assert box.restricted == ["x0", "x1"]
    assert box.limits.loc["x0", "low"] == pytest.approx(0.6, abs=0.03)
    assert box.limits.loc["x1", "high"] == pytest.approx(0.4, abs=0.03)
    assert box.density > 0.97 and box.coverage > 0.9
    assert box.conditions() == [f"x0 >= {box.limits.loc['x0', 'low']:.4g}",
                                f"x1 <= {box.limits.loc['x1', 'high']:.4g}"]


def test_prim_finds_the_box_through_label_noise():
    X = _uniform(3000, 3, 2)
    truth = ((X["x0"] > 0.2) & (X["x0"] < 0.7) & (X["x2"] > 0.5)).to_numpy()
    flip = np.random.default_rng(3).uniform(size=len(X)) < 0.05
    box = prim(X, truth ^ flip)
    assert set(box.restricted) == {"x0", "x2"}
    assert box.limits.loc["x0", "low"] == pytest.approx(0.2, abs=0.06)
    assert box.limits.loc["x0", "high"] == pytest.approx(0.7, abs=0.06)
    assert box.limits.loc["x2", "low"] == pytest.approx(0.5, abs=0.06)
    assert box.density > 0.85  # 5% of labels flipped: about 0.95 at best
    inside = box.contains(X)
    assert truth[inside].mean() > 0.95  # nearly all of the box is the true box


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), alpha=st.floats(0.03, 0.2), mass_min=st.floats(0.02, 0.3))
def test_coverage_density_and_mass_are_what_they_claim(seed, alpha, mass_min):
    X = _uniform(400, 3, seed)
    rng = np.random.default_rng(seed + 1)
    y = (X["x1"] > rng.uniform(0.2, 0.8)) | (rng.uniform(size=400) < 0.1)
    traj = peel(X, y.to_numpy(), alpha, mass_min)
    assert traj.iloc[0]["coverage"] == 1.0 and traj.iloc[0]["mass"] == 1.0
    assert traj.iloc[0]["density"] == pytest.approx(y.mean())
    assert (np.diff(traj["n"]) < 0).all()  # each peel removes points
    assert (traj["mass"] >= mass_min - 1e-12).all()
    box = prim(X, y, peel_alpha=alpha, mass_min=mass_min)
    inside = box.contains(X)
    assert box.n == inside.sum()
    assert box.density == pytest.approx(y[inside].mean())
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum())
    assert box.mass == pytest.approx(inside.mean())
    assert box.trajectory["chosen"].sum() == 1


def test_covering_finds_a_second_box_after_removing_the_first():
    X = _uniform(4000, 2, 4)
    a = (X["x0"] < 0.3) & (X["x1"] < 0.3)
    b = (X["x0"] > 0.7) & (X["x1"] > 0.7)
    boxes = prim_boxes(X, (a | b).to_numpy(), n_boxes=2, min_coverage=0.3)
    assert len(boxes) == 2
    found = [box.contains(X) for box in boxes]
    hits = sorted([(f & a).sum() / a.sum(), (f & b).sum() / b.sum()] for f in found)
    # one box covers each corner, each mostly pure
    assert max(hits[0]) > 0.8 and max(hits[1]) > 0.8
    assert all(box.density > 0.9 for box in boxes)


def test_conditions_are_parsed_and_applied():
    assert parse_condition("relief_reached >= 0.5") == ("relief_reached", ">=", 0.5)
    assert parse_condition("escalations<3") == ("escalations", "<", 3.0)
    v = np.array([0.1, 0.5, np.nan, 0.9])
    assert condition_mask(v, ">=", 0.5).tolist() == [False, True, False, True]
    for bad in ("relief_reached", "relief_reached >> 1", ">= 0.5", "x >= abc"):
        with pytest.raises(ArgumentError):
            parse_condition(bad)


def test_discover_on_a_sweep_table_and_its_errors():
    X = _uniform(500, 2, 5)
    table = X.assign(relief_reached=np.where(X["x0"] > 0.5, 0.9, 0.1))
    box = discover(table, ["x0", "x1"], "relief_reached>=0.5")
    assert box.restricted == ["x0"] and box.density == 1.0 and box.coverage == 1.0
    with pytest.raises(ArgumentError, match="unknown outcome"):
        discover(table, ["x0", "x1"], "nonsense>=0.5")
    with pytest.raises(ArgumentError, match="no design point"):
        discover(table, ["x0", "x1"], "relief_reached>=2")


def test_prim_refuses_bad_input():
    X = _uniform(10, 2, 0)
    with pytest.raises(ValueError):
        prim(X, np.arange(10) % 3)  # not 0/1
    with pytest.raises(ValueError):
        prim(X, np.ones(9))
    with pytest.raises(ValueError):
        prim(X, np.ones(10), peel_alpha=0.7)


def test_a_peel_removes_alpha_times_m_points():
    # Friedman and Fisher, and the EMA Workbench: alpha x m points of an m-point box per peel.
    assert peel_count(3000, 0.05) == 150
    assert peel_count(2850, 0.05) == 143  # ceil(142.5)
    assert peel_count(100, 0.07) == 7  # 0.07 * 100 is 7.000000000000001 in floating point
    assert peel_count(10, 0.05) == 1  # never less than one point
    X = _uniform(3000, 2, 7)
    traj = peel(X, (X["x0"] > 0.5).to_numpy(), 0.05, 0.5)
    assert traj["n"].tolist()[:3] == [3000, 2850, 2707]


def test_peels_by_hand_on_twenty_points():
    # x = 0..19, the points of interest x >= 10, alpha 0.1: the box loses ceil(0.1 m) of its
    # lowest points (m = 20, 18, 16, 14, 12: two each) until it is pure, then one a step (the
    # lower peel wins ties with the upper one: same density, same count, lower side first).
    X = pd.DataFrame({"x": np.arange(20.0)})
    traj = peel(X, (X["x"] >= 10).to_numpy(), peel_alpha=0.1, mass_min=0.05)
    assert traj["n"].tolist() == [20, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert traj["x.low"].tolist() == [0, 2, 4, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    assert (traj["x.high"] == 19).all()
    assert traj["density"].tolist()[:6] == [0.5, 10 / 18, 10 / 16, 10 / 14, 10 / 12, 1.0]


def test_a_tied_peel_keeps_to_a_parameter_already_restricted():
    # Ten points A..J, alpha 0.2 (two points a peel), four of interest (D, F, G, H).
    #   step 1: x1's two lowest (A, B: both not of interest) give density 4/8, every other peel
    #           less, so x1 is restricted first;
    #   step 2: x0's two highest (E, F) and x1's next two lowest (C, D) both leave 3 of 6: a tie,
    #           resolved by keeping to x1 rather than restricting x0 too (as the EMA Workbench).
    names = "ABCDEFGHIJ"
    x0 = dict(G=0, H=1, A=2, B=3, C=4, D=5, I=6, J=7, E=8, F=9)
    x1 = dict(A=0, B=1, C=2, D=3, E=4, F=5, I=6, J=7, G=8, H=9)
    X = pd.DataFrame({"x0": [x0[p] for p in names], "x1": [x1[p] for p in names]}, dtype=float)
    y = np.array([p in "DFGH" for p in names])
    traj = peel(X, y, peel_alpha=0.2, mass_min=0.5)  # a third peel would leave 4 < 5 points
    assert traj["n"].tolist() == [10, 8, 6]
    assert traj["density"].tolist() == [0.4, 0.5, 0.5]
    assert traj["x1.low"].tolist() == [0, 2, 4]
    assert traj["x0.low"].tolist() == [0, 0, 0] and traj["x0.high"].tolist() == [9, 9, 9]
