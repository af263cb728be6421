"""Provenance and safe writing: manifests that say how a result was made, atomic file writes."""

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
