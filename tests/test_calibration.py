"""Calibration (issue 14): the record as targets, statistics and distance, ABC-SMC, the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from analysis.calibration import calibrate, load_targets, read_priors
from analysis.calibration import statistics as S
from analysis.calibration.abc import Prior
from sim.errors import DiplosimError
from sim.jobs.posterior import Posterior, load_posterior

RECORD = """id,date,kind,what,value,unit,constrains,source,figures_key,note
iran_missiles_delivered,2024-09,event,missiles,200,missiles,first month,Blinken,,
us_sanctions_iran_drones_2022,2024-03,event,US round,,,round,Treasury,,
us_e3_response_2024_09,2024-09,event,US round,,,round,Treasury,,
russia_growth_2024,2024-12,figure,growth,4.3,%,growth,Rosstat,,
no_relief_deal,2025-12,absence,no deal,,,no,UN,,
no_ceasefire,2025-12,absence,no ceasefire,,,no,EU,,
"""


@pytest.fixture
def record(tmp_path: Path) -> Path:
    path = tmp_path / "record.csv"
    path.write_text(RECORD, encoding="utf-8")
    return path


def test_record_rows_become_targets_at_the_scenarios_months(record: Path) -> None:
    targets, left_out = load_targets(record, "2024-01", 36)
    by_name = {t.name: t for t in targets}
    first = by_name["no_iranian_missiles_before"]              # none by the end of month 8
    assert first.month == 9 and first.observed == 1.0         # 2024-09 is month 9
    assert by_name["us_rounds_on_iran"].observed == 2.0       # two rounds by month 36
    assert by_name["russia_growth_2024"].observed == pytest.approx(0.043)
    assert by_name["no_relief_deal"].month == 24 and by_name["no_relief_deal"].observed == 0.0
    assert "record has no row shahed_first_delivery" in left_out["first_drones"]


def test_a_cut_off_holds_later_rows_out(record: Path) -> None:
    targets, left_out = load_targets(record, "2024-01", 36, until=6)
    names = {t.name for t in targets}
    assert "no_relief_deal" not in names and "outside months 1..6" in left_out["no_relief_deal"]
    count = next(t for t in targets if t.name == "us_rounds_on_iran")
    assert count.observed == 1.0 and count.month == 6        # only the March round by month 6


def test_an_outcome_the_scenario_lacks_is_left_out(record: Path) -> None:
    targets, left_out = load_targets(record, "2024-01", 36, {"delivered_iran_russia_missiles"})
    assert [t.name for t in targets] == ["no_iranian_missiles_before", "iranian_missiles_by"]
    assert "reports no outcome sanctions_USA_IRN" in left_out["us_rounds_on_iran"]


def test_bad_record_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,date\nx,2024-13\n", encoding="utf-8")
    with pytest.raises(DiplosimError, match="missing column"):
        load_targets(bad, "2024-01", 36)
    with pytest.raises(DiplosimError, match="no such record"):
        load_targets(tmp_path / "none.csv", "2024-01", 36)


def test_statistics_follow_the_outcomes_and_distance_is_zero_at_the_record(record: Path
                                                                          ) -> None:
    base = sim.load_scenario("baseline")
    targets, _ = load_targets(record, "2024-01", 36)
    keys = ["routes.iran_russia_missiles.propensity"]
    stats = S.run_statistics(base, keys, np.array([[-20.0], [5.0]]), targets, 36, 6, 1)
    names = [t.name for t in targets]
    before, by = names.index("no_iranian_missiles_before"), names.index("iranian_missiles_by")
    assert np.all(stats[0, :, before] == 1.0) and np.all(stats[0, :, by] == 0.0)  # never ships
    assert np.all(stats[1, :, before] == 0.0) and np.all(stats[1, :, by] == 1.0)  # ships at once
    perfect = S.observed(targets)[None, :]
    assert S.distance(perfect, targets)[0] == 0.0
    assert S.distance(S.summaries(stats), targets)[0] > 0.0


def test_priors_are_sourced_and_bad_ones_refused(tmp_path: Path) -> None:
    assert all(p.source for p in read_priors())
    bad = tmp_path / "p.csv"
    bad.write_text("key,distribution,low,high,source\nworld.w_risk,uniform,3,1,x\n")
    with pytest.raises(DiplosimError, match="must be below"):
        read_priors(bad)


def test_abc_smc_runs_in_seconds_and_stores_its_posterior(record: Path, tmp_path: Path
                                                          ) -> None:
    base = sim.load_scenario("baseline")
    priors = [Prior("routes.iran_russia_missiles.propensity", -6.0, 2.0, "test"),
              Prior("tracks.relief.base_rate", 0.0, 0.6, "test")]
    result = calibrate(base, record, priors=priors, particles=30, runs=3, batch=60,
                       quantiles=(0.5, 0.5), seed=2)
    post = result.posterior
    assert post.draws.shape == (30, 2) and post.weights.sum() == pytest.approx(1.0)
    assert np.all((post.draws[:, 0] >= -6.0) & (post.draws[:, 0] <= 2.0))
    assert result.populations[-1]["threshold"] < result.populations[0]["threshold"]
    folder = post.save(tmp_path / "post")
    again = load_posterior(folder)
    assert again.keys == post.keys and np.allclose(again.draws, post.draws)
    assert again.manifest["record_sha256"] and again.manifest["seed"] == 2
    draws = again.draw(100, seed=5)
    assert draws.shape == (100, 2) and np.array_equal(draws, again.draw(100, seed=5))


def test_elfis_repeated_proposal_warning_is_counted_not_printed(
        record: Path, caplog: pytest.LogCaptureFixture) -> None:
    """ELFI warns once per batch that needed 100 tries to perturb proposals inside the priors;
    on the hindcast that was 29 identical three-line warnings on stderr. The calibration counts
    them in the manifest instead, and lets every other warning through."""
    import logging

    elfi_log = logging.getLogger("elfi.methods.utils")

    def population(k: int, threshold: float, simulations: int) -> None:
        elfi_log.warning("SMC: It appears to be difficult to find enough valid proposals "
                         "with prior pdf > 0. ELFI will keep trying.")
        elfi_log.warning("another warning")

    base = sim.load_scenario("baseline")
    priors = [Prior("tracks.relief.base_rate", 0.0, 0.6, "test")]
    with caplog.at_level(logging.WARNING):
        result = calibrate(base, record, priors=priors, particles=10, runs=2, batch=10,
                           quantiles=(0.5, 0.5), seed=3, on_population=population)
    shown = [r.getMessage() for r in caplog.records]
    assert result.posterior.manifest["proposal_notices"] == 2
    assert shown.count("another warning") == 2
    assert not any("valid proposals" in m for m in shown)
    elfi_log.warning("SMC: It appears to be difficult to find enough valid proposals after")
    assert "valid proposals" in caplog.records[-1].getMessage()   # the filter is gone again


def test_posterior_folder_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DiplosimError, match="not a posterior folder"):
        load_posterior(tmp_path)
    with pytest.raises(DiplosimError, match="weights"):
        Posterior(("a",), np.ones((2, 1)), np.zeros(2))


def test_rounds_count_one_senders_rounds_on_one_target() -> None:
    """A round on Iran is a month the sender's level on Iran rose, whatever it does to others."""
    from sim.jobs.edits import PointEdits

    base = sim.load_scenario("hindcast_2022")
    key = "categories.missiles.detection"
    edits = PointEdits.from_design(base, [key], np.array([[0.05], [0.6]]))
    pairs = ["sanctions_USA_IRN", "sanctions_EU_IRN"]
    got = S.rounds_by(base, edits, pairs, 30, 3, 4)
    assert got.shape == (2, 3, 2)
    for p, value in enumerate((0.05, 0.6)):
        scn = base.with_overrides({key: value})
        res = sim.run_ensemble(scn, runs=3, seed=4, months=30, keep_runs=[0, 1, 2],
                               progress=False)
        traj = res.trajectories
        for r in range(3):
            run = traj[traj["run"] == r].sort_values("month")
            for k, pair in enumerate(pairs):
                rises = int((np.diff(run[pair].to_numpy()) > 1e-12).sum())
                assert got[p, r, k] == rises, (p, r, pair)
        usa = res.summary["escalations_USA"].to_numpy()
        assert np.all(got[p, :, 0] <= usa)  # escalations_USA counts rounds on others too
    with pytest.raises(DiplosimError, match="no monthly figure sanctions_USA_XYZ"):
        S.rounds_by(base, edits, ["sanctions_USA_XYZ"], 30, 1, 0)
