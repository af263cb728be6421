"""A durable, resumable result folder: one Parquet part per finished chunk, and a manifest.

A long job (an ensemble of millions of runs, a sweep over thousands of design points) is cut
into chunks (see :mod:`sim.jobs.backends`). Each finished chunk is written here as its own Parquet
file, first under a temporary name starting with ``.`` and then renamed, so a part either exists
whole or not at all; a killed job leaves at most a stray temporary file, which the next opening
removes. The manifest ``_manifest.json`` names the job (what its rows depend on: the scenario
content hashes, seed, runs, months, engine, chunking, the model's source digest) and lists the
finished chunks with their row counts and checksums.

Resuming a job recomputes only the chunks that are not there. A part written just before a kill,
but not yet listed in the manifest, is adopted after checking the job fingerprint and chunk
number stored in its own Parquet metadata. A folder that holds a different job is refused with
an error naming what differs: results of two jobs are never mixed.

The folder reads as one table: ``pandas.read_parquet(DIR)`` and ``pyarrow.dataset.dataset(DIR)``
skip files starting with ``_`` or ``.``; DuckDB reads ``DIR/part-*.parquet``. Parts are named by
zero-padded chunk number, so reading them in name order gives the job's row order.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UsageError
from sim.results.provenance import manifest as provenance
from sim.results.provenance import write_json_atomic

#: Name and version of the folder layout, stored in the manifest.
FORMAT = "diplosim-chunked-dataset/1"
MANIFEST = "_manifest.json"
POINTS = "_points.json"
LOCK = "_lock"
#: Glob of the data files (for DuckDB: ``read_parquet('DIR/part-*.parquet')``).
PART_GLOB = "part-*.parquet"
_META_JOB = b"diplosim.job"
_META_CHUNK = b"diplosim.chunk"
#: Least time between two rewrites of the manifest while a job runs (seconds). Parts are the
#: record of truth (a part not yet listed is adopted on resume), so this only bounds the cost
#: of rewriting a long manifest after every small chunk.
MANIFEST_INTERVAL_S = 0.5


class StoreError(UsageError):
    """The output folder cannot take this job.

    It holds another job, or is in use, or is not a diplosim dataset. A user error: the CLI
    prints it on one line and exits 2.
    """


def part_name(chunk: int) -> str:
    """File name of chunk ``chunk``'s part (zero-padded so that name order is chunk order)."""
    return f"part-{chunk:08d}.parquet"


def fingerprint(identity: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a job's identity."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "(absent)"), new.get(key, "(absent)")
        if a != b:
            shown_a, shown_b = (json.dumps(v, default=str) for v in (a, b))
            if len(shown_a) > 60 or len(shown_b) > 60:
                out.append(f"{key} differs")
            else:
                out.append(f"{key}: {shown_a} there, {shown_b} now")
    return out


class ChunkStore:
    """The output folder of one chunked job, opened for writing.

    Args:
        path: the folder (created if missing).
        identity: what the job's rows depend on (JSON-serialisable); its fingerprint is checked
            against the folder's manifest and stored in every part.
        n_chunks: number of chunks of the job.
        resume: continue a job already in the folder. Without it a folder that holds any finished
            chunk is refused, so that a job is never silently skipped or appended to.
        points: description of the job's design points (scenario name and hash, labels), written
            once to ``_points.json`` for readers.
        meta: extra fields for the manifest (not part of the identity).

    Raises:
        StoreError: the folder holds another job, or another process is writing it, or it is
            a non-empty folder that is not a diplosim dataset.
    """

    def __init__(self, path: str | Path, identity: Mapping[str, Any], n_chunks: int, *,
                 resume: bool = False, points: list[dict[str, Any]] | None = None,
                 meta: Mapping[str, Any] | None = None):
        self.path = Path(path)
        self.identity = dict(identity)
        self.fingerprint = fingerprint(self.identity)
        self.n_chunks = int(n_chunks)
        self._last_write = 0.0
        self._dirty = False
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path}: exists and is not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create ({exc.strerror})") from None
        self._lock_fh = self._lock()
        try:
            self._open(resume, points or [], dict(meta or {}))
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _lock(self):
        fh = (self.path / LOCK).open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StoreError(f"{self.path}: another job is writing this folder right now") from None
        return fh

    def _open(self, resume: bool, points: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        mpath = self.path / MANIFEST
        # Temporary files of atomic writes (parts, manifest, points) that a killed job left
        # behind: this job holds the folder's lock, so no other writer owns them.
        for stale in self.path.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        if not mpath.exists():
            foreign = [p.name for p in self.path.iterdir() if p.name not in (LOCK, POINTS)]
            if foreign:
                raise StoreError(f"{self.path}: not empty and not a diplosim dataset (holds "
                                 f"{foreign[0]!r}); choose a new folder")
            self.chunks: dict[int, dict[str, Any]] = {}
            self.manifest = {"format": FORMAT, "fingerprint": self.fingerprint,
                             "identity": self.identity, "n_chunks": self.n_chunks,
                             "complete": False, "chunks": {},
                             "provenance": provenance(**meta)}
            write_json_atomic(self.path / POINTS, points)
            self._write_manifest()
            return
        try:
            old = json.loads(mpath.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{mpath}: unreadable manifest ({exc})") from None
        if old.get("format") != FORMAT:
            raise StoreError(f"{mpath}: format {old.get('format')!r}, expected {FORMAT!r}")
        if old.get("fingerprint") != self.fingerprint:
            diffs = _differences(old.get("identity", {}), self.identity) or ["identity differs"]
            raise StoreError(f"{self.path} holds a different job ({'; '.join(diffs)}); "
                             "use a new folder, or delete this one to start over")
        self.manifest = old
        self.chunks = {int(k): v for k, v in old.get("chunks", {}).items()}
        self._reconcile()
        if self.chunks and not resume:
            state = "complete" if len(self.chunks) == self.n_chunks else (
                f"{len(self.chunks)} of {self.n_chunks} chunks done")
            raise StoreError(f"{self.path} already holds this job ({state}); pass resume "
                             "(--resume) to continue it, or use a new folder")
        self.manifest.setdefault("resumed_utc", []).append(
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._write_manifest()

    def _reconcile(self) -> None:
        """Make the chunk list agree with the parts on disk.

        Drops listed chunks whose part is missing or altered (they are computed again), and
        adopts parts of this job written after the last manifest update.
        """
        for chunk, rec in list(self.chunks.items()):
            part = self.path / rec["file"]
            if not part.exists() or _sha256_file(part) != rec["sha256"]:
                # Missing or altered since it was listed: compute it again.
                part.unlink(missing_ok=True)
                del self.chunks[chunk]
        for part in sorted(self.path.glob(PART_GLOB)):
            try:
                chunk = int(part.stem.split("-")[1])
            except (IndexError, ValueError):
                raise StoreError(f"{part}: not a part of a diplosim dataset") from None
            if chunk in self.chunks:
                continue
            try:
                meta = pq.read_schema(part).metadata or {}
                rows = pq.read_metadata(part).num_rows
            except (OSError, pa.ArrowException):
                meta, rows = {}, -1
            if (meta.get(_META_JOB) != self.fingerprint.encode()
                    or meta.get(_META_CHUNK) != str(chunk).encode() or chunk >= self.n_chunks):
                raise StoreError(f"{part}: does not belong to this job; remove it or use a new "
                                 "folder")
            self.chunks[chunk] = {"file": part.name, "rows": rows, "sha256": _sha256_file(part)}
        self._dirty = True

    # -- writing ---------------------------------------------------------------------------
    def done(self) -> set[int]:
        """Chunk numbers already written."""
        return set(self.chunks)

    def write(self, chunk: int, frame: pd.DataFrame, **info: Any) -> Path:
        """Write chunk ``chunk``'s rows as its part, then list it in the manifest.

        The part is written to a temporary file, synced and renamed, so it exists whole or not
        at all. ``info`` is stored with the chunk's record (e.g. its points).
        """
        if not 0 <= chunk < self.n_chunks:
            raise ValueError(f"chunk {chunk} outside 0..{self.n_chunks - 1}")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({
            **(table.schema.metadata or {}),
            _META_JOB: self.fingerprint.encode(), _META_CHUNK: str(chunk).encode()})
        final = self.path / part_name(chunk)
        tmp = self.path / f".{final.name}.{os.getpid()}.tmp"
        try:
            pq.write_table(table, tmp)
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.chunks[chunk] = {"file": final.name, "rows": len(frame),
                              "sha256": _sha256_file(final), **info}
        self._dirty = True
        if time.monotonic() - self._last_write >= MANIFEST_INTERVAL_S:
            self._write_manifest()
        return final

    def _write_manifest(self) -> None:
        self.manifest["chunks"] = {str(k): self.chunks[k] for k in sorted(self.chunks)}
        self.manifest["complete"] = len(self.chunks) == self.n_chunks
        write_json_atomic(self.path / MANIFEST, self.manifest)
        self._last_write = time.monotonic()
        self._dirty = False

    def flush(self) -> None:
        """Write the manifest now if it lags behind the parts."""
        if self._dirty:
            self._write_manifest()

    @property
    def complete(self) -> bool:
        """True when every chunk of the job is written."""
        return len(self.chunks) == self.n_chunks

    def close(self) -> None:
        """Flush the manifest and release the folder."""
        try:
            if hasattr(self, "manifest"):
                self.flush()
        finally:
            if self._lock_fh is not None:
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
                self._lock_fh.close()
                self._lock_fh = None

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self) -> pd.DataFrame:
        """Every written part, in chunk order, as one DataFrame."""
        return read_parts(self.path, sorted(self.chunks))


def read_parts(path: str | Path, chunks: list[int]) -> pd.DataFrame:
    """Parts ``chunks`` of the folder ``path``, concatenated in the order given."""
    path = Path(path)
    tables = [pq.read_table(path / part_name(c)) for c in chunks]
    if not tables:
        return pd.DataFrame()
    table = pa.concat_tables(tables).replace_schema_metadata(None)
    return table.to_pandas()


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a dataset folder (raises StoreError if there is none)."""
    mpath = Path(path) / MANIFEST
    try:
        return json.loads(mpath.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: no {MANIFEST}; not a diplosim dataset") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{mpath}: unreadable manifest ({exc})") from None


def read_dataset(path: str | Path, *, allow_partial: bool = False) -> pd.DataFrame:
    """Read a dataset folder as one DataFrame, in the job's row order.

    Args:
        path: the folder a chunked job wrote.
        allow_partial: return the finished chunks of an unfinished job instead of refusing.

    Raises:
        StoreError: not a dataset, or unfinished and ``allow_partial`` is false.
    """
    man = read_manifest(path)
    chunks = sorted(int(k) for k in man.get("chunks", {}))
    if len(chunks) != man["n_chunks"] and not allow_partial:
        raise StoreError(f"{path}: unfinished job ({len(chunks)} of {man['n_chunks']} chunks); "
                         "resume it, or read with allow_partial=True")
    return read_parts(path, chunks)
