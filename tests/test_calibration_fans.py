"""Calibration (issue 14): the hindcast's monthly fans, and a calibration that resumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from analysis.calibration import calibrate, fans
from analysis.calibration.abc import Prior
from analysis.calibration.record import Target
from sim.errors import DiplosimError
from sim.jobs.backends import run_design
from sim.jobs.edits import PointEdits
from sim.jobs.posterior import Posterior

KEY = "routes.iran_russia_missiles.propensity"


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario("baseline")


def test_fans_follow_the_runs_summaries(base: sim.Scenario) -> None:
    """The monthly series end where the kernel's summary of the same draws and runs ends."""
    post = Posterior((KEY, "world.w_risk"), np.array([[-4.0, 2.0], [0.5, 10.0]]),
                     np.array([0.5, 0.5]))
    names, traj = fans.monthly_runs(base, post, 3, 4, 7, months=18)
    assert traj.shape[:2] == (12, 19)
    series = fans.fan_series(names, traj)
    edits = PointEdits.from_design(base, list(post.keys), post.draw(3, 7))
    columns, v = run_design(edits, 4, 7, months=18)
    end = v.reshape(12, len(columns))
    for route in ("iran_russia_drones", "iran_russia_missiles"):
        assert np.allclose(series[f"delivered_{route}"][:, -1],
                           end[:, columns.index(f"delivered_{route}")])
    gdp = traj[:, :, names.index("gdp_index_RUS")]
    assert np.allclose(series["growth_RUS"][:, 15], gdp[:, 15] / gdp[:, 3] - 1.0)
    assert np.all(np.diff(series["rounds_USA_IRN"], axis=1) >= 0)
    table = fans.fan_table(series)
    row = table[(table["series"] == "delivered_iran_russia_missiles") & (table["month"] == 18)]
    assert float(row["q05"].iloc[0]) <= float(row["q50"].iloc[0]) <= float(row["q95"].iloc[0])


def test_observed_points_read_the_record(tmp_path: Path) -> None:
    record = tmp_path / "record.csv"
    record.write_text(
        "id,date,kind,what,value,unit,constrains,source\n"
        "russia_growth_2022_2023,2023-02,figure,g,-1.2 (2022); +3.6 (2023),%,g,Rosstat\n"
        "us_sanctions_iran_drones_2022,2022-09,event,r,,,r,T\n"
        "us_e3_response_2024_09,2024-09,event,r,,,r,T\n"
        "no_ceasefire,2025-12,absence,n,,,n,EU\n", encoding="utf-8")
    points = fans.observed_points(record, "2022-08", 41).set_index("id")
    growth = points.loc["russia_growth_2022_2023"]
    assert growth["month"] == 17 and growth["value"] == pytest.approx(0.036)   # 2022: an input
    assert points.loc["us_e3_response_2024_09", "value"] == 2.0        # the second round
    assert points.loc["no_ceasefire", "month"] == 41


def test_a_killed_calibration_resumes_to_the_same_posterior(base: sim.Scenario,
                                                            tmp_path: Path) -> None:
    prior = Prior(KEY, -8.0, 2.0, "test")
    targets = [Target("delivered", ("x",), "delivered_iran_russia_missiles", "count", 24,
                      150.0, 60.0)]
    budget = {"targets": targets, "priors": [prior], "particles": 10, "runs": 2, "batch": 5,
              "quantiles": (0.5, 0.5), "seed": 4}
    straight = calibrate(base, checkpoint=tmp_path / "a.pkl", **budget).posterior

    class Killed(Exception):
        pass

    def kill(population: int, threshold: float, simulations: int) -> None:
        if population == 0:
            raise Killed

    with pytest.raises(Killed):
        calibrate(base, checkpoint=tmp_path / "b.pkl", on_population=kill, **budget)
    resumed = calibrate(base, checkpoint=tmp_path / "b.pkl", resume=True, **budget)
    assert resumed.posterior.manifest["resumed"]
    assert np.array_equal(resumed.posterior.draws, straight.draws)
    assert np.array_equal(resumed.posterior.weights, straight.weights)
    assert [p["threshold"] for p in resumed.populations] == \
        [p["threshold"] for p in straight.manifest["populations"]]
    with pytest.raises(DiplosimError, match="differs in seed"):
        calibrate(base, checkpoint=tmp_path / "b.pkl", resume=True, **{**budget, "seed": 5})
