"""The durable chunked result folder (sim.jobs.store): parts, manifest, resume, refusal, readers."""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.jobs.backends import Job, Point, compute_chunk
from sim.jobs.store import (
    MANIFEST,
    PART_GLOB,
    ChunkStore,
    StoreError,
    part_name,
    read_dataset,
    read_manifest,
)

MONTHS = 6


@pytest.fixture(scope="module")
def scn():
    return sim.load_scenario("baseline")


def _frame(chunk: int, rows: int = 4) -> pd.DataFrame:
    runs = np.arange(chunk * rows, (chunk + 1) * rows, dtype=np.int64)
    return pd.DataFrame({"point": np.zeros(rows, dtype=np.int64), "run": runs,
                         "x": runs * 0.5})


IDENTITY = {"seed": 7, "runs": 12, "chunk_size": 4}


def _fill(path, chunks=(0, 1, 2), identity=IDENTITY, n_chunks=3, resume=False):
    with ChunkStore(path, identity, n_chunks, resume=resume) as store:
        for c in chunks:
            store.write(c, _frame(c))
    return store


def test_parts_and_manifest_read_back_in_order(tmp_path):
    out = tmp_path / "job"
    store = _fill(out, chunks=(2, 0, 1))  # finished out of order, as on a cluster
    assert store.complete
    man = read_manifest(out)
    assert man["complete"] and man["n_chunks"] == 3 and man["identity"] == IDENTITY
    assert sorted(man["chunks"]) == ["0", "1", "2"]
    assert all(man["chunks"][k]["rows"] == 4 for k in man["chunks"])
    assert sorted(p.name for p in out.glob(PART_GLOB)) == [part_name(c) for c in range(3)]
    got = read_dataset(out)
    assert got["run"].tolist() == list(range(12))
    assert not list(out.glob(".*tmp"))


def test_folder_reads_as_one_table_with_pandas_pyarrow_duckdb(tmp_path):
    out = tmp_path / "job"
    _fill(out)
    expected = pd.concat([_frame(c) for c in range(3)], ignore_index=True)
    by_pandas = pd.read_parquet(out).sort_values("run", ignore_index=True)
    pd.testing.assert_frame_equal(by_pandas, expected)
    table = ds.dataset(out, format="parquet").to_table()
    assert table.num_rows == 12 and table.column_names == ["point", "run", "x"]
    con = duckdb.connect()
    n, total = con.execute(
        f"SELECT count(*), sum(x) FROM read_parquet('{out}/{PART_GLOB}')").fetchone()
    assert n == 12 and total == pytest.approx(expected["x"].sum())


def test_another_job_is_refused_naming_what_differs(tmp_path):
    out = tmp_path / "job"
    _fill(out, chunks=(0,))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for key, value in (("seed", 8), ("runs", 13), ("chunk_size", 5)):
        other = {**IDENTITY, key: value}
        with pytest.raises(StoreError, match=f"different job.*{key}: {IDENTITY[key]} there, "
                                             f"{value} now"):
            ChunkStore(out, other, 3, resume=True)
    # Nothing was touched by the refused jobs.
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_same_job_without_resume_is_refused(tmp_path):
    out = tmp_path / "job"
    _fill(out, chunks=(0,))
    with pytest.raises(StoreError, match=r"already holds this job \(1 of 3 chunks done\).*resume"):
        ChunkStore(out, IDENTITY, 3)
    with ChunkStore(out, IDENTITY, 3, resume=True) as store:
        assert store.done() == {0}


def test_folder_that_is_not_a_dataset_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a diplosim dataset"):
        ChunkStore(tmp_path, IDENTITY, 3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="not a folder"):
        ChunkStore(tmp_path / "file", IDENTITY, 3)


def test_part_renamed_before_the_manifest_caught_up_is_adopted(tmp_path):
    """A kill between a part's rename and the manifest's update loses nothing."""
    out = tmp_path / "job"
    _fill(out, chunks=(0,))
    stale = (out / MANIFEST).read_text()
    with ChunkStore(out, IDENTITY, 3, resume=True) as store:
        store.write(1, _frame(1))
    (out / MANIFEST).write_text(stale)  # as if killed before the manifest listed chunk 1
    with ChunkStore(out, IDENTITY, 3, resume=True) as store:
        assert store.done() == {0, 1}
        store.write(2, _frame(2))
    assert read_dataset(out)["run"].tolist() == list(range(12))


def test_stale_temporary_files_are_removed_and_invisible_to_readers(tmp_path):
    out = tmp_path / "job"
    _fill(out, chunks=(0,))
    junk = [out / f".{part_name(1)}.999.tmp", out / "._manifest.json.k2j4x9.tmp",
            out / "._points.json.a8b7c6.tmp"]  # a job killed in each kind of atomic write
    for path in junk:
        path.write_bytes(b"half a file")
    assert len(pd.read_parquet(out)) == 4  # readers skip dot files
    with ChunkStore(out, IDENTITY, 3, resume=True) as store:
        assert store.done() == {0}
    assert not [path for path in junk if path.exists()]


def test_altered_or_missing_part_is_computed_again(tmp_path):
    out = tmp_path / "job"
    _fill(out)
    (out / part_name(1)).unlink()
    (out / part_name(2)).write_bytes(b"corrupted")
    with ChunkStore(out, IDENTITY, 3, resume=True) as store:
        assert store.done() == {0}
    assert not (out / part_name(2)).exists()


def test_part_of_another_job_is_not_mixed_in(tmp_path):
    out, other = tmp_path / "job", tmp_path / "other"
    _fill(out, chunks=(0,))
    _fill(other, chunks=(1,), identity={**IDENTITY, "seed": 8})
    shutil.copy(other / part_name(1), out / part_name(1))
    with pytest.raises(StoreError, match="does not belong to this job"):
        ChunkStore(out, IDENTITY, 3, resume=True)


def test_two_writers_on_one_folder_are_refused(tmp_path):
    with ChunkStore(tmp_path / "job", IDENTITY, 3):
        with pytest.raises(StoreError, match="another job is writing"):
            ChunkStore(tmp_path / "job", IDENTITY, 3, resume=True)


def test_unfinished_dataset_is_read_only_on_request(tmp_path):
    out = tmp_path / "job"
    _fill(out, chunks=(0, 2))
    with pytest.raises(StoreError, match=r"unfinished job \(2 of 3 chunks\)"):
        read_dataset(out)
    assert read_dataset(out, allow_partial=True)["run"].tolist() == [0, 1, 2, 3, 8, 9, 10, 11]
    assert json.loads((out / MANIFEST).read_text())["complete"] is False


@settings(max_examples=60, deadline=None)
@given(n_points=st.integers(1, 5), n_runs=st.integers(1, 40), chunk_size=st.integers(1, 60),
       data=st.data())
def test_chunk_plan_covers_every_point_and_run_once_in_order(scn, n_points, n_runs, chunk_size,
                                                             data):
    """Chunks partition the point-major (point, run) list, whatever the sizes."""
    runs = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=n_runs, max_size=n_runs,
                              unique=True))
    job = Job(tuple(Point(scn, {"k": i}) for i in range(n_points)), np.array(runs), seed=1,
              chunk_size=chunk_size)
    items = []
    chunks = job.chunks()
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(1 <= c.size <= chunk_size for c in chunks)
    for chunk in chunks:
        task = job.task(chunk, ())
        got = [(p, int(r)) for p, _, ids in task.pieces for r in ids]
        assert len(got) == chunk.size
        items += got
    assert items == [(p, r) for p in range(n_points) for r in runs]


def test_identity_changes_with_every_input_the_rows_depend_on(scn):
    base = Job.ensemble(scn, 10, seed=3, months=MONTHS, chunk_size=4)
    ident = base.identity()
    variants = {
        "seed": Job.ensemble(scn, 10, seed=4, months=MONTHS, chunk_size=4),
        "runs": Job.ensemble(scn, 11, seed=3, months=MONTHS, chunk_size=4),
        "months": Job.ensemble(scn, 10, seed=3, months=MONTHS + 1, chunk_size=4),
        "chunk_size": Job.ensemble(scn, 10, seed=3, months=MONTHS, chunk_size=5),
        "engine": Job.ensemble(scn, 10, seed=3, months=MONTHS, chunk_size=4, engine="mesa"),
        "points_sha256": Job.ensemble(scn.with_overrides({"actors.USA.escalation_step": 0.3}),
                                      10, seed=3, months=MONTHS, chunk_size=4),
    }
    for key, job in variants.items():
        other = job.identity()
        assert other[key] != ident[key], key
    assert Job.ensemble(scn, 10, seed=3, months=MONTHS, chunk_size=4).identity() == ident


def test_chunk_rows_are_what_a_store_writes(tmp_path, scn):
    """compute_chunk's frame has one schema across chunks, so parts concatenate as a table."""
    job = Job((Point(scn, {"policy": "a"}), Point(scn.with_policy("engagement"),
                                                   {"policy": "b"})),
              np.arange(5), seed=2, months=MONTHS, chunk_size=3)
    cols = job.columns()
    frames = [compute_chunk(job.task(c, cols)).frame(cols) for c in job.chunks()]
    assert len({tuple(f.dtypes.astype(str)) for f in frames}) == 1
    assert all(f["point"].dtype == np.int64 and f["run"].dtype == np.int64 for f in frames)


def test_duckdb_query_of_docs_scaling_runs_as_written(tmp_path):
    """The DuckDB example of docs/scaling.md runs from a fresh interpreter and prints a table."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "scaling.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "duckdb.sql" in b]
    assert len(blocks) == 1
    done = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "p_relief" in done.stdout and "engagement" in done.stdout
    assert len(read_dataset(tmp_path / "results" / "duck")) == 1000


def test_the_fingerprint_covers_the_python_code_that_shapes_rows():
    """A durable job's fingerprint covers the outcome naming, both engines' summary code, the
    scenario's compilation and the job's row assembly, not only the compiled kernel."""
    from sim.core.jit import compiled_sources
    from sim.jobs.job import row_sources

    names = {f"{p.parent.name}/{p.name}" for p in row_sources()}
    assert {"core/outcomes.py", "core/kernel.py", "engines/ensemble.py", "engines/model.py",
            "scenario/loading.py", "jobs/job.py"} <= names
    assert set(compiled_sources()) <= set(row_sources())


def test_a_resumed_job_after_a_change_to_the_row_code_is_refused(tmp_path, scn, monkeypatch):
    """Edit (a copy of) the outcome naming between two sessions of one job: the resume is
    refused, so one dataset never mixes rows of two code versions."""
    import shutil

    import sim.jobs.job
    from sim.jobs.backends import run_job

    copies = []
    for src in sim.jobs.job.row_sources():
        dst = tmp_path / "src" / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        copies.append(dst)
    monkeypatch.setattr(sim.jobs.job, "row_sources", lambda: copies)
    job = Job.ensemble(scn, 8, seed=3, months=MONTHS, chunk_size=4)
    out = tmp_path / "job"

    def stop_after_one(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(job, out=out, on_chunk=stop_after_one)
    before = job.identity()["model_source"]
    outcomes = next(p for p in copies if p.name == "outcomes.py" and p.parent.name == "core")
    outcomes.write_text(outcomes.read_text() + "\n# renamed an outcome\n")
    assert job.identity()["model_source"] != before
    with pytest.raises(StoreError, match="model_source"):
        run_job(job, out=out, resume=True)
    outcomes.unlink()
    with pytest.raises(FileNotFoundError, match="outcomes.py"):
        job.identity()
