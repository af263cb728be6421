"""The local executor (sim.jobs.backends): the kernel's rows, durable parts, kill -9, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import add_backend_arguments, backend_options
from sim.engines.ensemble import numba_summary
from sim.errors import UsageError
from sim.jobs.backends import (
    BackendError,
    ChunkError,
    Job,
    Point,
    run_durable,
    run_job,
)
from sim.jobs.store import PART_GLOB, StoreError, read_dataset, read_manifest

MONTHS = 12


@pytest.fixture(scope="module")
def scn():
    return sim.load_scenario("baseline")


@pytest.fixture(scope="module")
def reference(scn):
    return numba_summary(scn, 11, np.arange(120, dtype=np.int64), MONTHS)


@pytest.mark.parametrize("chunk_size", [1, 7, 16, 119, 120, 121, 130])
def test_local_rows_equal_the_kernel_whatever_the_chunking(scn, reference, chunk_size):
    got = run_durable(scn, 120, 11, months=MONTHS, chunk_size=chunk_size)
    pd.testing.assert_frame_equal(got, reference)


def test_explicit_run_ids_keep_their_order_and_values(scn, reference):
    ids = np.array([77, 3, 119, 40])
    got = run_durable(scn, ids, 11, months=MONTHS, chunk_size=3)
    expected = reference.set_index("run").loc[ids].reset_index()
    pd.testing.assert_frame_equal(got, expected)


def _policy_job(scn, chunk_size=7, runs=10):
    policies = ("status_quo", "maximum_pressure", "engagement")
    points = tuple(Point(scn.with_policy(p), {"policy": p}) for p in policies)
    return Job(points, np.arange(runs), seed=5, months=MONTHS, chunk_size=chunk_size), policies


def test_points_get_labels_and_common_random_numbers(scn):
    job, policies = _policy_job(scn)
    rows = run_job(job)
    assert list(rows.columns[:3]) == ["point", "policy", "run"]
    assert len(rows) == 30 and not rows.duplicated(["point", "run"]).any()
    for i, p in enumerate(policies):
        mine = rows[rows["point"] == i].drop(columns=["point", "policy"]).reset_index(drop=True)
        assert (rows.loc[rows["point"] == i, "policy"] == p).all()
        expected = numba_summary(scn.with_policy(p), 5, np.arange(10), MONTHS)
        pd.testing.assert_frame_equal(mine, expected[mine.columns])


def test_points_with_different_outcome_columns_share_one_schema(scn):
    """A point whose scenario lacks an outcome (an actor that never sanctions has no
    credibility) gets NaN there, so every part has the same columns."""
    quiet = scn.with_overrides({"actors.EU.escalation_step": 0.0})
    assert "credibility_EU" not in numba_summary(quiet, 1, np.arange(1), 2).columns
    job = Job((Point(scn, {"eu": "acts"}), Point(quiet, {"eu": "quiet"})), np.arange(4),
              seed=1, months=MONTHS, chunk_size=3)
    rows = run_job(job)
    assert rows.loc[rows["point"] == 0, "credibility_EU"].notna().all()
    assert rows.loc[rows["point"] == 1, "credibility_EU"].isna().all()


def test_durable_local_job_resumes_from_a_partial_folder(tmp_path, scn, reference):
    out = tmp_path / "job"
    seen = []
    # Interrupt the first job after 4 of 12 chunks, as Ctrl-C would.

    def stop_after_four(done, total):
        seen.append(done)
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_durable(scn, 120, 11, months=MONTHS, chunk_size=10, out=out, on_chunk=stop_after_four)
    assert len(list(out.glob(PART_GLOB))) == 4
    assert read_manifest(out)["complete"] is False
    resumed = []
    got = run_durable(scn, 120, 11, months=MONTHS, chunk_size=10, out=out, resume=True,
                      on_chunk=lambda done, total: resumed.append(done))
    assert resumed == list(range(5, 13))  # only the 8 missing chunks were computed
    pd.testing.assert_frame_equal(got, reference)
    pd.testing.assert_frame_equal(read_dataset(out).drop(columns="point"), reference)


def test_second_job_with_other_inputs_is_refused(tmp_path, scn):
    out = tmp_path / "job"
    run_durable(scn, 20, 11, months=MONTHS, chunk_size=10, out=out)
    with pytest.raises(StoreError, match="seed: 11 there, 12 now"):
        run_durable(scn, 20, 12, months=MONTHS, chunk_size=10, out=out, resume=True)
    with pytest.raises(StoreError, match="chunk_size: 10 there, 5 now"):
        run_durable(scn, 20, 11, months=MONTHS, chunk_size=5, out=out, resume=True)
    with pytest.raises(StoreError, match="points_sha256 differs"):
        run_durable(scn.with_policy("engagement"), 20, 11, months=MONTHS, chunk_size=10,
                    out=out, resume=True)
    with pytest.raises(StoreError, match="already holds this job"):
        run_durable(scn, 20, 11, months=MONTHS, chunk_size=10, out=out)
    assert len(read_dataset(out)) == 20


def test_chunk_that_raises_names_its_runs_and_the_reason(tmp_path, scn, reference, monkeypatch):
    import sim.engines.ensemble

    real = sim.engines.ensemble.run_chunk

    def broken(s, seed, ids, *args, **kw):
        if 57 in ids:
            raise FloatingPointError("pressure diverged")
        return real(s, seed, ids, *args, **kw)

    monkeypatch.setattr(sim.engines.ensemble, "run_chunk", broken)
    with pytest.raises(ChunkError, match=r"1 of 12 chunks failed.*chunk 5 \(point 0 runs "
                                         r"50-59\): FloatingPointError: pressure diverged"):
        run_durable(scn, 120, 11, months=MONTHS, chunk_size=10, out=tmp_path / "job")
    # Every other chunk was kept; after the fault is fixed, a resume computes only chunk 5.
    assert read_manifest(tmp_path / "job")["chunks"].keys() == {str(c) for c in range(12)} - {"5"}
    monkeypatch.setattr(sim.engines.ensemble, "run_chunk", real)
    computed = []
    got = run_durable(scn, 120, 11, months=MONTHS, chunk_size=10, out=tmp_path / "job",
                      resume=True, on_chunk=lambda d, t: computed.append(d))
    assert computed == [12]
    pd.testing.assert_frame_equal(got, reference)


def test_bad_settings_are_one_line_usage_errors(scn):
    with pytest.raises(BackendError, match="resume needs an output folder"):
        run_durable(scn, 5, 1, resume=True)
    with pytest.raises(BackendError, match="need backend='dask'"):
        run_durable(scn, 5, 1, backend="local", workers=2)
    with pytest.raises(BackendError, match="either a scheduler address or a number of workers"):
        run_durable(scn, 5, 1, scheduler="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        run_durable(scn, 5, 1, chunk_size=0)
    with pytest.raises(ValueError, match="must not repeat"):
        run_durable(scn, [1, 1], 1)


def _parse(argv):
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--out")
    add_backend_arguments(p)
    return backend_options(p.parse_args(argv))


def test_backend_flags():
    assert _parse([]) == {"backend": "local", "scheduler": None, "workers": None,
                          "resume": False, "chunk_size": None}
    assert _parse(["--workers", "2", "--out", "d", "--resume", "--chunk-size", "100"]) == {
        "backend": "dask", "scheduler": None, "workers": 2, "resume": True, "chunk_size": 100}
    assert _parse(["--scheduler", "tcp://127.0.0.1:8786"])["backend"] == "dask"
    for argv, msg in ((["--resume"], "needs --out"),
                      (["--scheduler", "x", "--workers", "1"], "one or the other"),
                      (["--scheduler", "localhost"], "expected an address")):
        with pytest.raises(UsageError, match=msg):
            _parse(argv)


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--chunk-size", "0"]])
def test_backend_counts_below_one_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(argv)
    assert exc.value.code == 2
    assert f"argument {argv[0]}" in capsys.readouterr().err


# -- kill -9 part-way, then resume -------------------------------------------------------------
SWEEP_ARGS = ["sweep", "baseline", "--vary", "actors.USA.escalation_step=0.05:0.4",
              "--vary", "world.shock_sd=0:0.05", "--design", "lhs", "--samples", "4",
              "--runs-per-point", "1500", "--seed", "9", "--chunk-size", "50",
              "--outcome", "relief_reached"]


def test_sweep_killed_with_sigkill_resumes_without_loss_or_repeats(tmp_path, scn):
    """`diplosim sweep --resume` in a subprocess, SIGKILLed part-way, then resumed in a new
    process: the stored runs and the sweep's table equal an uninterrupted sweep's."""
    import analysis

    out = tmp_path / "sweep"
    chunks = out / "chunks"
    cmd = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())",
           *SWEEP_ARGS, "--out", str(out), "--resume"]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    n_chunks = 4 * 1500 // 50
    try:
        # A fresh process may compile the kernel first (10-40 s, more on a loaded machine).
        deadline = time.monotonic() + 180
        while len(list(chunks.glob(PART_GLOB))) < 5:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the sweep wrote no 5 parts in 180 s"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = len(list(chunks.glob(PART_GLOB)))
    assert 5 <= left < n_chunks, f"the sweep must be killed part-way ({left} parts)"
    assert not (out / "sweep.parquet").exists()

    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    man = read_manifest(chunks)
    assert man["complete"] and len(man["chunks"]) == n_chunks
    assert len(man["resumed_utc"]) == 1
    got = read_dataset(chunks)
    assert len(got) == 4 * 1500
    assert not got.duplicated(["point", "run"]).any()
    vary = {"actors.USA.escalation_step": (0.05, 0.4), "world.shock_sd": (0.0, 0.05)}
    plain = analysis.sweep(scn, vary, design="lhs", samples=4, runs_per_point=1500, seed=9)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), plain.table,
                                  check_like=True)
    # Row for row: every stored run equals the kernel's run at its point.
    for k in range(4):
        overrides = {key: plain.table.loc[k, key] for key in vary}
        expected = numba_summary(scn.with_overrides(overrides), 9, np.arange(1500))
        mine = got[got["point"] == k].drop(columns=["point", *vary]).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, expected)
    assert sorted(p.name for p in chunks.iterdir()) == sorted(
        ["_lock", "_manifest.json", "_points.json"]
        + [f"part-{c:08d}.parquet" for c in range(n_chunks)])


def test_run_ensemble_with_out_is_durable_and_resumable(tmp_path, scn, reference):
    out = tmp_path / "ens"
    res = sim.run_ensemble(scn, 120, seed=11, months=MONTHS, out=out, chunk_size=25,
                           progress=False)
    pd.testing.assert_frame_equal(res.summary, reference)
    assert res.meta["backend"] == "local" and read_manifest(out)["complete"]
    again = sim.run_ensemble(scn, 120, seed=11, months=MONTHS, out=out, chunk_size=25,
                             progress=False, resume=True)
    pd.testing.assert_frame_equal(again.summary, reference)
    with pytest.raises(StoreError, match="already holds this job"):
        sim.run_ensemble(scn, 120, seed=11, months=MONTHS, out=out, chunk_size=25,
                         progress=False)
    with pytest.raises(ValueError, match="keep_runs needs the local backend"):
        sim.run_ensemble(scn, 120, seed=11, months=MONTHS, out=tmp_path / "k", keep_runs=[1])


def test_sweep_and_compare_through_the_backend_give_the_same_tables(tmp_path, scn):
    import analysis

    vary = {"actors.USA.escalation_step": (0.05, 0.4), "world.shock_sd": (0.0, 0.05)}
    plain = analysis.sweep(scn, vary, design="lhs", samples=5, runs_per_point=12, seed=3,
                           months=MONTHS)
    chunked = analysis.sweep(scn, vary, design="lhs", samples=5, runs_per_point=12, seed=3,
                             months=MONTHS, backend="local", out=tmp_path / "sw", chunk_size=7,
                             resume=True)
    pd.testing.assert_frame_equal(chunked.table, plain.table, check_like=True)
    stored = read_dataset(tmp_path / "sw")
    assert len(stored) == 5 * 12 and not stored.duplicated(["point", "run"]).any()
    assert list(stored.columns[:4]) == ["point", *vary, "run"]

    policies = ["status_quo", "engagement"]
    a = analysis.compare_policies(scn, policies, runs=20, seed=3, months=MONTHS)
    b = analysis.compare_policies(scn, policies, runs=20, seed=3, months=MONTHS,
                                  out=tmp_path / "cmp", resume=True, chunk_size=9)
    pd.testing.assert_frame_equal(b.table, a.table)
    pd.testing.assert_frame_equal(b.runs, a.runs)
    assert set(read_dataset(tmp_path / "cmp")["policy"]) == set(policies)


def test_mesa_engine_chunks_agree_with_the_numba_engine(scn):
    numba_rows = run_durable(scn, 6, 4, months=MONTHS, chunk_size=4)
    mesa_rows = run_durable(scn, 6, 4, months=MONTHS, chunk_size=4, engine="mesa")
    assert list(mesa_rows.columns) == list(numba_rows.columns)
    pd.testing.assert_frame_equal(mesa_rows, numba_rows, check_exact=True)


def test_cli_reports_a_failing_chunk_on_one_line(tmp_path, monkeypatch, capsys):
    import sim.engines.ensemble
    from sim.cli import main

    real = sim.engines.ensemble.run_chunk

    def broken(s, seed, ids, *args, **kw):
        if 7 in ids:
            raise FloatingPointError("pressure diverged")
        return real(s, seed, ids, *args, **kw)

    monkeypatch.setattr(sim.engines.ensemble, "run_chunk", broken)
    status = main(["run", "baseline", "--runs", "40", "--months", "6", "--chunk-size", "10",
                   "--resume", "--out", str(tmp_path / "ens")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err[-1] == ("diplosim: error: 1 of 4 chunks failed: chunk 0 (point 0 runs 0-9): "
                       "FloatingPointError: pressure diverged")
    assert "Traceback" not in "\n".join(err)
    assert set(read_manifest(tmp_path / "ens" / "chunks")["chunks"]) == {"1", "2", "3"}
