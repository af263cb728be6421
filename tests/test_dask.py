"""The Dask backend: same rows as the local one, worker deaths and failing chunks, on loopback.

The module starts one LocalCluster of two single-threaded worker processes on 127.0.0.1 (no
dashboard, health checks on a free loopback port) and stops it at the end; one test starts its
own one-worker cluster through ``workers=1``, the path a user takes.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time

import cloudpickle
import numpy as np
import pandas as pd
import pytest

import sim
import sim.jobs.settings
from sim.engines.ensemble import numba_summary
from sim.jobs.backends import (
    BackendError,
    ChunkError,
    Job,
    Point,
    compute_chunk,
    dask_client,
    run_durable,
    run_job,
)
from sim.jobs.store import read_dataset, read_manifest

distributed = pytest.importorskip("distributed")

MONTHS = 12
SEED = 11
RUNS = 300

# Functions of this module sent to workers with client.run travel by value (the workers cannot
# import the tests folder).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def scn():
    return sim.load_scenario("baseline")


@pytest.fixture(scope="module")
def reference(scn):
    return numba_summary(scn, SEED, np.arange(RUNS, dtype=np.int64), MONTHS)


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on 127.0.0.1, no dashboard (dask_client).

    A task may see one worker die under it and be retried (Dask's default is three) so that
    the test of a chunk that kills every worker takes two deaths, not four.
    """
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            dask_client(workers=2) as cl:
        cl.run(_warm)  # import the model and load the compiled kernel on every worker
        yield cl


def _warm():
    import numpy as np

    import sim
    from sim.engines.ensemble import numba_summary

    numba_summary(sim.load_scenario("baseline"), 0, np.arange(2, dtype=np.int64), 2)


def _break_run(run):
    """On a worker: make the chunk holding ``run`` raise, as a bug in the model would."""
    import sim.engines.ensemble

    real = sim.engines.ensemble.__dict__.setdefault("_real_run_chunk",
                                                    sim.engines.ensemble.run_chunk)

    def broken(s, seed, ids, *args, **kw):
        if run in ids:
            raise FloatingPointError(f"pressure diverged in run {run}")
        return real(s, seed, ids, *args, **kw)

    sim.engines.ensemble.run_chunk = broken


def _repair():
    import sim.engines.ensemble

    real = sim.engines.ensemble.__dict__.pop("_real_run_chunk", None)
    if real is not None:
        sim.engines.ensemble.run_chunk = real


def test_cluster_is_on_loopback(client):
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert all(w.startswith("tcp://127.0.0.1:") for w in client.scheduler_info()["workers"])


@pytest.mark.parametrize("chunk_size", [7, 64, 1000])
def test_dask_rows_equal_local_rows_for_any_chunk_size(client, scn, reference, chunk_size):
    """Through the scheduler's address, as a user with a running cluster would."""
    got = run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=chunk_size,
                      scheduler=client.scheduler.address)
    pd.testing.assert_frame_equal(got, reference)


def test_one_worker_local_cluster_started_for_the_job(scn, reference):
    got = run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=45, workers=1)
    pd.testing.assert_frame_equal(got, reference)


def test_points_on_dask_equal_points_locally(client, scn, tmp_path):
    points = tuple(Point(scn.with_policy(p), {"policy": p})
                   for p in ("status_quo", "maximum_pressure", "engagement"))
    job = Job(points, np.arange(40), seed=SEED, months=MONTHS, chunk_size=13)
    local = run_job(job)
    on_dask = run_job(job, scheduler=client, out=tmp_path / "cmp")
    pd.testing.assert_frame_equal(on_dask, local)
    pd.testing.assert_frame_equal(read_dataset(tmp_path / "cmp"), local)


def test_scenario_and_chunk_task_pickle(scn):
    """What is shipped to workers survives pickling and computes the same rows."""
    edited = scn.with_policy("engagement").with_overrides({"actors.USA.escalation_step": 0.3})
    again = pickle.loads(pickle.dumps(edited))
    assert again.content_hash() == edited.content_hash()
    assert again.to_toml() == edited.to_toml() and again.policies == edited.policies
    job = Job.ensemble(edited, 9, seed=3, months=MONTHS, chunk_size=4)
    task = job.task(job.chunks()[1], job.columns(), threads=1)
    shipped = cloudpickle.loads(cloudpickle.dumps(task))
    pd.testing.assert_frame_equal(compute_chunk(shipped).frame(task.columns),
                                  compute_chunk(task).frame(task.columns))


def test_worker_killed_mid_job_loses_and_repeats_nothing(client, scn, tmp_path):
    """A worker process is killed (SIGKILL) while the job runs: its nanny restarts it, its
    chunks are computed again, and every run is stored exactly once."""
    runs = 2000
    expected = numba_summary(scn, SEED, np.arange(runs, dtype=np.int64), MONTHS)
    before = client.run(os.getpid)
    victim = sorted(before)[0]
    left_at_kill = []

    def kill_victim(done, total):
        if done == 3 and not left_at_kill:
            os.kill(before[victim], signal.SIGKILL)  # a worker process this test started
            left_at_kill.append(total - done)

    out = tmp_path / "job"
    got = run_durable(scn, runs, SEED, months=MONTHS, chunk_size=40, scheduler=client,
                      out=out, on_chunk=kill_victim)
    assert left_at_kill and left_at_kill[0] > 0  # killed part-way
    _wait_for_replacement(client, victim)
    after = client.run(os.getpid)
    assert before[victim] not in after.values()  # the victim really died
    assert not got.duplicated("run").any()
    pd.testing.assert_frame_equal(got, expected)
    man = read_manifest(out)
    assert man["complete"] and sum(c["rows"] for c in man["chunks"].values()) == runs


def _wait_for_replacement(client, victim, timeout=60.0):
    """Until the scheduler has dropped the killed worker and its replacement has joined."""
    deadline = time.monotonic() + timeout
    while True:
        workers = client.scheduler_info()["workers"]
        if victim not in workers and len(workers) == 2:
            return
        assert time.monotonic() < deadline, f"no replacement worker after {timeout} s"
        time.sleep(0.1)


def test_failing_chunk_on_a_worker_names_its_runs_and_others_are_kept(client, scn, reference,
                                                                       tmp_path):
    out = tmp_path / "job"
    client.run(_break_run, 123)
    try:
        with pytest.raises(ChunkError, match=r"1 of 6 chunks failed.*chunk 2 \(point 0 runs "
                                             r"100-149\): FloatingPointError: pressure diverged "
                                             r"in run 123"):
            run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=50, scheduler=client, out=out)
    finally:
        client.run(_repair)
    assert set(read_manifest(out)["chunks"]) == {"0", "1", "3", "4", "5"}
    computed = []
    got = run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=50, scheduler=client, out=out,
                      resume=True, on_chunk=lambda d, t: computed.append(d))
    assert computed == [6]
    pd.testing.assert_frame_equal(got, reference)


def test_failing_chunk_without_out_stops_the_job(client, scn):
    client.run(_break_run, 5)
    try:
        with pytest.raises(ChunkError, match=r"chunk 0 \(point 0 runs 0-49\)"):
            run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=50, scheduler=client)
    finally:
        client.run(_repair)


def test_unreachable_scheduler_is_a_one_line_error(scn, monkeypatch):
    monkeypatch.setattr(sim.jobs.settings, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(BackendError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_durable(scn, 5, 1, scheduler="tcp://127.0.0.1:9")


def test_run_ensemble_on_dask_gives_the_local_summary(client, scn, tmp_path):
    local = sim.run_ensemble(scn, RUNS, seed=SEED, months=MONTHS, progress=False)
    on_dask = sim.run_ensemble(scn, RUNS, seed=SEED, months=MONTHS, progress=False,
                               scheduler=client.scheduler.address, chunk_size=70,
                               out=tmp_path / "ens")
    pd.testing.assert_frame_equal(on_dask.summary, local.summary)
    assert on_dask.meta["backend"] == "dask" and on_dask.bands is None
    pd.testing.assert_frame_equal(on_dask.outcome_table(), local.outcome_table())
    pd.testing.assert_frame_equal(read_dataset(tmp_path / "ens").drop(columns="point"),
                                  local.summary)


def test_sweep_on_dask_equals_the_local_sweep(client, scn, tmp_path):
    import analysis

    vary = {"actors.USA.escalation_step": (0.05, 0.4)}
    local = analysis.sweep(scn, vary, design="grid", samples=4, runs_per_point=25, seed=2,
                           months=MONTHS)
    on_dask = analysis.sweep(scn, vary, design="grid", samples=4, runs_per_point=25, seed=2,
                             months=MONTHS, scheduler=client.scheduler.address, chunk_size=30,
                             out=tmp_path / "sw")
    pd.testing.assert_frame_equal(on_dask.table, local.table, check_like=True)
    assert read_manifest(tmp_path / "sw")["identity"]["points"] == 4


def test_design_of_cell_edits_on_dask_equals_the_local_design(client, scn, tmp_path):
    """A chunk is a block of points x runs computed in one kernel call on a worker; the rows
    are the local ones whatever the chunking, in memory or stored."""
    from sim.jobs.backends import run_design
    from sim.jobs.edits import PointEdits

    keys = ["actors.USA.escalation_step", "categories.missiles.detection"]
    X = np.array([[0.0, 0.1], [0.2, 0.3], [0.35, 0.5], [0.1, 0.2], [0.3, 0.45]])
    edits = PointEdits.from_design(scn, keys, X)
    cols, local = run_design(edits, 40, SEED, months=MONTHS)
    for chunk_size in (13, 200):
        got_cols, on_dask = run_design(edits, 40, SEED, months=MONTHS, chunk_size=chunk_size,
                                       scheduler=client.scheduler.address)
        assert got_cols == cols
        np.testing.assert_array_equal(on_dask, local)
    _, stored = run_design(edits, 40, SEED, months=MONTHS, chunk_size=37, scheduler=client,
                           out=tmp_path / "design")
    np.testing.assert_array_equal(stored, local)
    assert read_manifest(tmp_path / "design")["identity"]["points"] == len(X)


class _PoisonRun(distributed.WorkerPlugin):
    """On every worker, also those started to replace a dead one: the chunk holding ``run``
    kills its worker process, as a segfault or the out-of-memory killer would."""

    name = "diplosim-poison-run"

    def __init__(self, run):
        self.run = run

    def setup(self, worker):
        import os

        import sim.engines.ensemble

        real = sim.engines.ensemble.__dict__.setdefault("_real_run_chunk",
                                                sim.engines.ensemble.run_chunk)
        run = self.run

        def poisoned(s, seed, ids, *args, **kw):
            if run in ids:
                os._exit(1)
            return real(s, seed, ids, *args, **kw)

        sim.engines.ensemble.run_chunk = poisoned

    def teardown(self, worker):
        _repair()


def test_chunk_that_kills_every_worker_is_reported_and_the_rest_kept(client, scn, reference,
                                                                     tmp_path):
    """After Dask's allowed failures the chunk fails with KilledWorker, named with its runs;
    every other chunk is stored, and a resume after the fix completes the job."""
    out = tmp_path / "job"
    client.register_plugin(_PoisonRun(123))
    try:
        with pytest.raises(ChunkError, match=r"chunk 2 \(point 0 runs 100-149\): KilledWorker"):
            run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=50, scheduler=client, out=out)
    finally:
        client.unregister_worker_plugin(_PoisonRun.name)
    stored = set(read_manifest(out)["chunks"])
    assert "2" not in stored and len(stored) >= 4
    got = run_durable(scn, RUNS, SEED, months=MONTHS, chunk_size=50, scheduler=client, out=out,
                      resume=True)
    pd.testing.assert_frame_equal(got, reference)
