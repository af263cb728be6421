"""Calibration (issue 14): simulation-based calibration, --posterior, the verb, the scores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from analysis.calibration import calibrate, scoring
from analysis.calibration import statistics as S
from analysis.calibration.abc import Prior
from analysis.calibration.record import Target
from analysis.compare import compare_posterior
from sim.jobs.posterior import Posterior, posterior_outcomes, spread_table

KEY = "routes.iran_russia_missiles.propensity"


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario("baseline")


@pytest.fixture(scope="module")
def posterior_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("post")
    draws = np.array([[-6.0, 0.05], [-1.0, 0.4], [1.0, 0.6]])
    Posterior((KEY, "tracks.relief.base_rate"), draws, np.array([0.2, 0.5, 0.3]),
              {"seed": 1}).save(folder)
    return folder


@pytest.mark.slow
def test_the_posterior_covers_the_truth_at_its_stated_rate(base: sim.Scenario) -> None:
    """Simulation-based calibration: truths drawn from the prior, data from the model itself.

    Each synthetic record is the mean of the model's runs at a true propensity (other seeds
    than the sampler's); the 80% central posterior interval must hold the truth in about 80% of
    the datasets (at least 7 of 12: the binomial's 2% lower tail).
    """
    prior = Prior(KEY, -8.0, 2.0, "test")
    template = [Target("first_missiles", ("x",), "first_month_missiles", "first_month", 36,
                       0.0, 3.0),
                Target("delivered", ("x",), "delivered_iran_russia_missiles", "count", 36,
                       0.0, 40.0)]
    truths = np.random.default_rng(11).uniform(prior.low, prior.high, 12)
    covered = 0
    for k, truth in enumerate(truths):
        data = S.summaries(S.run_statistics(base, [KEY], np.array([[truth]]), template, 36, 8,
                                            1000 + k))[0]
        targets = [Target(t.name, t.records, t.outcome, t.how, t.month, float(v), t.scale)
                   for t, v in zip(template, data, strict=True)]
        post = calibrate(base, targets=targets, priors=[prior], particles=100, runs=8,
                         batch=20, quantiles=(0.2, 0.5), seed=k + 1).posterior
        draws = post.draw(4000, seed=k)[:, 0]
        low, high = np.quantile(draws, [0.1, 0.9])
        covered += int(low <= truth <= high)
    assert covered >= 7


def test_posterior_runs_keep_draws_and_runs_common_across_policies(base: sim.Scenario,
                                                                   posterior_dir: Path) -> None:
    from sim.jobs.posterior import load_posterior

    post = load_posterior(posterior_dir)
    columns, (a, b) = posterior_outcomes([base, base], post, 20, 3, draws=5)
    assert a.shape == (5, 4, len(columns)) and np.array_equal(a, b, equal_nan=True)
    table = spread_table(columns, a)
    row = table.set_index("outcome").loc["delivered_iran_russia_missiles"]
    assert row["param_p05"] < row["param_p95"]          # the draws differ in the propensity
    cmp = compare_posterior(base, ["status_quo", "maximum_pressure"], posterior_dir, runs=20,
                            seed=3, draws=5)
    ref = cmp[cmp["policy"] == "status_quo"]
    assert np.allclose(ref["diff_mean"].fillna(0.0), 0.0)
    assert set(cmp["policy"]) == {"status_quo", "maximum_pressure"}


def test_run_with_posterior_prints_the_parameters_spread(posterior_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", "baseline", "--runs", "20",
                           "--posterior", str(posterior_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "param_p05" in done.stdout and "first_month_missiles" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "sim.cli", "run", "baseline", "--runs", "20",
                          "--posterior", str(posterior_dir.parent)], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "not a posterior folder" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_scores_are_proper_and_base_rate_grows_with_the_months() -> None:
    assert scoring.scores(1.0, 1) == (0.0, pytest.approx(-np.log(1 - scoring.CLIP)))
    assert scoring.scores(0.3, 0)[0] == pytest.approx(0.09)
    t = Target("no_deal", ("x",), "relief_agreed_month", "none_by", 41, 0.0, 0.5)
    near = Target("no_deal", ("x",), "relief_agreed_month", "none_by", 31, 0.0, 0.5)
    assert scoring.base_rate(t, 29) > scoring.base_rate(near, 29) > 0.0
    p, o = scoring.event_probability(np.array([1.0, 0.0, 0.0, 1.0]), t)
    assert (p, o) == (0.5, 0)


def test_the_uncalibrated_null_is_the_prior_predictive() -> None:
    """The out-of-sample null draws the calibrated parameters from their priors, not from the
    scenario's values (the baseline's now come from the whole record's posterior)."""
    priors = [Prior("a.b", -6.0, 2.0, "test"), Prior("c.d", 0.0, 0.5, "test")]
    prior = scoring.prior_draws(priors, 4000, seed=3)
    assert prior.keys == ("a.b", "c.d") and prior.weights.sum() == pytest.approx(1.0)
    assert prior.draws[:, 0].min() >= -6.0 and prior.draws[:, 0].max() <= 2.0
    assert prior.draws[:, 1].min() >= 0.0 and prior.draws[:, 1].max() <= 0.5
    assert np.mean(prior.draws, axis=0) == pytest.approx([-2.0, 0.25], abs=0.1)
    assert np.array_equal(prior.draws, scoring.prior_draws(priors, 4000, seed=3).draws)


def test_calibrate_verb_writes_the_posterior_and_scores(tmp_path: Path) -> None:
    record = tmp_path / "record.csv"
    record.write_text(
        "id,date,kind,what,value,unit,constrains,source\n"
        "iran_missiles_delivered,2024-09,event,m,,,first month,Blinken\n"
        "no_relief_deal,2025-12,absence,no deal,,,no,UN\n", encoding="utf-8")
    priors = tmp_path / "priors.csv"
    priors.write_text("key,distribution,low,high,source\n"
                      f"{KEY},uniform,-6,2,test\n", encoding="utf-8")
    args = [sys.executable, "-m", "sim.cli", "calibrate", "baseline", "--record", str(record),
            "--priors", str(priors), "--until", "2024-12", "--particles", "20", "--runs", "2",
            "--batch", "40", "--quantiles", "0.5,0.5", "--check-draws", "5", "--check-runs",
            "2", "--out", str(tmp_path / "out")]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("posterior.parquet", "manifest.json", "checks.csv", "scores.csv",
                 "marginals.png", "pairs.png", "checks.png", "fans.png", "fans.csv",
                 "abc_checkpoint.pkl"):
        assert (tmp_path / "out" / name).is_file(), name
    assert "out-of-sample scores" in done.stdout
    again = subprocess.run(args, capture_output=True, text=True)
    assert again.returncode == 2 and "already holds a posterior" in again.stderr
    from sim.cli import main

    (tmp_path / "out" / "fans.png").unlink()
    assert main([*args[3:], "--figures-only"]) == 0
    assert (tmp_path / "out" / "fans.png").is_file()


def test_sweep_over_a_posterior_keeps_each_draw_on_common_runs(base: sim.Scenario,
                                                               posterior_dir: Path,
                                                               tmp_path: Path) -> None:
    """Each point's runs are the posterior's draws on the same runs: point 0 of the sweep is
    exactly ``posterior_outcomes`` of the scenario at point 0's value."""
    from analysis.sweep import SweepResult, aggregate_design, sweep
    from sim.jobs.posterior import load_posterior

    res = sweep(base, {"world.w_risk": (0.0, 12.0)}, design="grid", samples=2,
                runs_per_point=8, seed=3, months=24, posterior=posterior_dir, draws=4)
    assert list(res.table["runs"]) == [8, 8]
    assert res.meta["posterior"]["drawn"] == [KEY, "tracks.relief.base_rate"]
    post = load_posterior(posterior_dir)
    one = base.with_overrides({"world.w_risk": 12.0})
    columns, (v,) = posterior_outcomes([one], post, 8, 3, draws=4, months=24)
    expected = aggregate_design(v.reshape(1, 8, len(columns)))[0]
    row = res.table.iloc[1]
    for j, name in enumerate(columns):
        assert row[name] == pytest.approx(expected[j], nan_ok=True), name
    spread = res.spread.set_index(["point", "outcome"])
    missiles = spread.loc[(1, "delivered_iran_russia_missiles")]
    assert missiles["param_p05"] < missiles["param_p95"] and missiles["mc_se"] > 0.0
    assert missiles["mean"] == pytest.approx(row["delivered_iran_russia_missiles"])
    again = SweepResult.load(res.save(tmp_path / "sweep")[0].parent)
    assert again.spread is not None and len(again.spread) == len(res.spread)


def test_sweep_verb_prints_the_spread_over_the_posterior(posterior_dir: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    from sim.cli import main

    args = ["sweep", "baseline", "--vary", f"{KEY}=-2:0", "--design", "grid", "--samples", "2",
            "--runs-per-point", "4", "--months", "6", "--posterior"]
    assert main([*args, str(posterior_dir)]) == 0
    text = capsys.readouterr().out
    assert "drawn from" in text and "param_p05" in text and "tracks.relief.base_rate" in text
    assert main([*args, str(posterior_dir.parent)]) == 2
    assert "not a posterior folder" in capsys.readouterr().err


def test_the_baselines_calibrated_values_are_the_bundled_posteriors_medians() -> None:
    """The baseline's calibrated parameters are the medians (two significant figures) of the
    bundled posterior (`make calibration`), each citing the calibration in ``[sources]``, and
    that posterior was fitted to the record that ships: a change of the record or of a
    calibrated value without re-running the calibration fails here."""
    from analysis.calibration.record import DEFAULT_MAPPING, file_digest
    from sim.jobs.edits import dotted_value
    from sim.jobs.posterior import bundled_posteriors, load_posterior
    from sim.scenario.loading import scenario_dir

    post = load_posterior("hindcast_2022")
    assert bundled_posteriors()["hindcast_2022"].is_dir()
    base = sim.load_scenario("baseline")
    values = base.spec.model_dump(mode="python", by_alias=True)
    for key, median in zip(post.keys, post.quantiles([0.5])[0], strict=True):
        assert dotted_value(values, key) == float(f"{median:.2g}"), key
        assert base.spec.sources[key].startswith("calibrated"), key
    manifest = post.manifest
    assert manifest["scenario"] == "hindcast_2022" and manifest["until"] == manifest["horizon"]
    assert manifest["record_sha256"] == file_digest(scenario_dir() / "data" / "record.csv")
    assert manifest["mapping_sha256"] == file_digest(DEFAULT_MAPPING)
    from analysis.calibration.abc import read_priors

    assert manifest["priors"] == [vars(p) for p in read_priors()]
