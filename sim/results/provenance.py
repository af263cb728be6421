"""Provenance and safe writing: manifests that say how a result was made, atomic file writes.

Every result folder diplosim writes (an ensemble, a single run, a policy comparison, a sweep) has
one format: its files and a ``manifest.json`` written last, which names the folder's ``kind``
(:data:`RESULT_KINDS`), its ``format`` (:data:`RESULT_FORMAT`), its files, how it was made
(versions, time, command line) and what it holds. :func:`write_result_manifest` writes it for
every ``save``; :func:`read_result_manifest` is the one reader, so a reader (the report, a
``load``) takes the kind from the manifest and never guesses it from file names.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from sim.errors import UsageError

#: The kinds of result folder, as named in their manifests.
RESULT_KINDS = ("ensemble", "single", "comparison", "sweep")
#: Name and version of the result-folder layout, stored in every manifest.
RESULT_FORMAT = "diplosim-result/1"
#: The manifest's file name in every result folder.
MANIFEST = "manifest.json"
#: Kinds written by earlier versions under another name, read as today's.
_FORMER_KINDS = {"single_run": "single"}
#: Fields every result manifest sets itself.
_RECORD_FIELDS = ("kind", "format", "files", "versions", "created_utc", "command_line")

_PACKAGES = ("diplosim", "numpy", "numba", "mesa", "pandas", "pyarrow", "scipy", "pydantic")


def versions() -> dict[str, str]:
    """Versions of Python, diplosim and the libraries results depend on."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


_COMMAND_LINE: ContextVar[list[str] | None] = ContextVar("diplosim_command_line", default=None)


@contextmanager
def recording_command_line(argv: list[str]) -> Iterator[None]:
    """Within the block, manifests record ``argv`` as the command line.

    The CLI sets it, so that ``sim.cli.main([...])`` called from Python records its own
    arguments, not the caller's.
    """
    token = _COMMAND_LINE.set(list(argv))
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def command_line() -> list[str]:
    """The command line that produced a result: the CLI's arguments, else ``sys.argv``."""
    recorded = _COMMAND_LINE.get()
    if recorded is not None:
        return recorded
    return list(sys.argv) if sys.argv and sys.argv[0] else []


def manifest(**fields: Any) -> dict[str, Any]:
    """A provenance record: the given fields plus versions, time and command line."""
    return {
        **fields,
        "versions": versions(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command_line": command_line(),
    }


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A reader never sees a half-written file, and a crash leaves the old file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_parquet_atomic(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as Parquet, atomically.

    The table is serialised in memory, then written, synced to disk and renamed into place by
    :func:`write_bytes_atomic`.
    """
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    return write_bytes_atomic(path, buffer.getvalue())


def write_result_manifest(out: str | Path, kind: str, paths: list[Path],
                          **fields: Any) -> Path:
    """Write the manifest of result folder ``out`` (last, atomically) and return its path.

    Args:
        out: the folder.
        kind: one of :data:`RESULT_KINDS`.
        paths: the folder's files written before it (listed as ``files``).
        **fields: what the folder holds (scenario, seed, runs, ...), JSON-serialisable.
    """
    if kind not in RESULT_KINDS:
        raise ValueError(f"kind must be one of {RESULT_KINDS}, got {kind!r}")
    # A loaded result carries its old manifest's record fields; this write makes new ones.
    fields = {k: v for k, v in fields.items() if k not in _RECORD_FIELDS}
    record = manifest(**fields, kind=kind, format=RESULT_FORMAT,
                      files=[Path(p).name for p in paths])
    return write_json_atomic(Path(out) / MANIFEST, record)


def read_result_manifest(folder: str | Path, kind: str | None = None) -> dict[str, Any]:
    """The manifest of result folder ``folder``, with its ``kind`` checked.

    Args:
        folder: a folder written by a ``save`` (ensemble, single run, comparison, sweep).
        kind: the kind the caller expects (None: any of :data:`RESULT_KINDS`).

    Raises:
        FileNotFoundError: no ``manifest.json`` in ``folder``.
        UsageError: an unreadable manifest, or one of no result kind, or not ``kind``.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no {MANIFEST} (not a saved diplosim result)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(info, dict):
        raise UsageError(f"{path}: not a diplosim result manifest")
    found = _FORMER_KINDS.get(info.get("kind"), info.get("kind"))
    if found not in RESULT_KINDS:
        raise UsageError(f"{path}: kind {info.get('kind')!r} is not a diplosim result "
                         f"(one of {', '.join(RESULT_KINDS)})")
    if kind is not None and found != kind:
        raise UsageError(f"{folder}: holds a {found} (manifest kind {found!r}), not a {kind}")
    info["kind"] = found
    return info
