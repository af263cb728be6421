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
#: The kinds of folder the command line writes: the results, and the figures of ``diplosim
#: facts`` (``fact_1.png`` ..., no manifest; the report does not read them).
FOLDER_KINDS = (*RESULT_KINDS, "facts")
#: Files the verbs write beside a result's manifest (plots), removed with it by ``--overwrite``.
RESULT_PLOTS = ("forest.png", "sensitivity.png", "prim.png", "surface.png")
#: The figures ``diplosim facts --figures DIR`` writes.
FACT_FIGURES = "fact_*.png"
#: The subfolder of a result folder that holds a chunked job (see :mod:`sim.jobs.store`).
CHUNKS = "chunks"
#: Bytes the write probe of an output folder writes (and removes) before a job starts.
PROBE_BYTES = 1 << 20
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


def folder_kind(folder: str | Path) -> str | None:
    """What an output folder holds, judged from its files.

    None (missing or empty), a kind of :data:`FOLDER_KINDS`, ``"job"`` (only the chunks of an
    unfinished job) or ``"files"`` (anything else).
    """
    path = Path(folder)
    if not path.is_dir():
        return None
    entries = [e for e in path.iterdir() if not e.name.startswith(".")]
    if not entries:
        return None
    info = path / MANIFEST
    if info.is_file():
        try:
            found = json.loads(info.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            return "files"
        found = _FORMER_KINDS.get(found, found)
        return found if found in RESULT_KINDS else "files"
    if any(path.glob(FACT_FIGURES)):
        return "facts"
    if [e.name for e in entries] == [CHUNKS] and (path / CHUNKS / "_manifest.json").is_file():
        return "job"
    return "files"


_KIND_WORDS = {"ensemble": "an ensemble", "single": "a single run", "comparison":
               "a policy comparison", "sweep": "a sweep", "facts": "the facts' figures",
               "job": "the chunks of an unfinished job", "files": "files that are not a "
               "diplosim result"}


def claim_output_folder(folder: str | Path, kind: str, *, flag: str = "--out",
                        overwrite: bool = False, resume: bool = False,
                        need_bytes: int = 0) -> tuple[Path, bool]:
    """Check, before a job computes anything, that ``folder`` may take a result of ``kind``.

    Nothing is lost and nothing is mixed: a folder holding a result of another kind, or files
    that are not a result, is refused; so is one holding a result of the same kind, unless
    ``overwrite`` (the earlier result's files are then deleted: its manifest, the files it
    lists, its plots, its chunks) or ``resume`` (the same job continues; the chunk store checks
    it is the same job). The folder is created if missing, then a write probe of
    :data:`PROBE_BYTES` proves it writable, and its free space is checked against
    ``need_bytes``.

    Args:
        folder: the output folder.
        kind: one of :data:`FOLDER_KINDS`.
        flag: the option naming the folder, for messages.
        overwrite: replace an earlier result (of any kind) in the folder.
        resume: continue the job stored in the folder (same kind only).
        need_bytes: estimated size of what the job writes there.

    Returns:
        The folder, and whether this call created it.

    Raises:
        UsageError: the folder cannot take the result, with what to do instead.
    """
    if kind not in FOLDER_KINDS:
        raise ValueError(f"kind must be one of {FOLDER_KINDS}, got {kind!r}")
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {folder}: exists and is not a folder")
    found = folder_kind(path)
    if overwrite and resume:
        raise UsageError("--overwrite and --resume: give one or the other (--resume continues "
                         "the job in the folder, --overwrite replaces it)")
    if found is not None and not overwrite:
        continuing = resume and found in (kind, "job")
        if not continuing:
            what = _KIND_WORDS[found]
            if found == kind:
                how = ("add --overwrite to replace it" + (", or --resume to continue its job"
                                                         if kind != "facts" else ""))
            else:
                how = f"it is not {_KIND_WORDS[kind]}; add --overwrite to replace it"
            if found == "files":
                how = "add --overwrite to write into it anyway (no file of yours is deleted)"
            elif found == "job":
                how = ("add --resume to continue it (the same command), or --overwrite to "
                       "replace it")
            raise UsageError(f"{flag} {folder}: holds {what}; {how}, or choose a new folder")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {folder}: cannot create it ({exc.strerror})") from None
    probe_folder(path, flag, need_bytes)
    if overwrite and found not in (None, "files"):
        clear_result(path, found)
    return path, created


def probe_folder(path: Path, flag: str, need_bytes: int = 0) -> None:
    """Prove ``path`` writable with a probe file, and roomy enough for ``need_bytes``.

    Raises:
        UsageError: read-only, full, or short of space, in one line.
    """
    import shutil

    try:
        fd, tmp = tempfile.mkstemp(prefix=".diplosim-probe.", dir=path)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there ({exc.strerror})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    free = shutil.disk_usage(path).free
    if need_bytes > free:
        raise UsageError(f"{flag} {path}: the job writes about {_size(need_bytes)} there but "
                         f"only {_size(free)} is free")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def clear_result(folder: Path, kind: str) -> list[Path]:
    """Delete the diplosim output of ``kind`` in ``folder`` (for ``--overwrite``).

    For the facts' figures, the ``fact_*.png`` files; for a result, the files its manifest
    lists, the manifest, the plots of :data:`RESULT_PLOTS` and the chunk store of a chunked
    job. Other files stay.
    """
    import shutil

    gone: list[Path] = []
    if kind == "facts":
        for p in folder.glob(FACT_FIGURES):
            p.unlink()
            gone.append(p)
        return gone
    names: set[str] = set(RESULT_PLOTS)
    info = folder / MANIFEST
    if info.is_file():
        try:
            listed = json.loads(info.read_text(encoding="utf-8")).get("files", [])
            names.update(str(n) for n in listed if isinstance(n, str) and "/" not in n)
        except (OSError, ValueError, AttributeError):
            pass
        names.add(MANIFEST)
    for name in names:
        p = folder / name
        if p.is_file():
            p.unlink()
            gone.append(p)
    chunks = folder / CHUNKS
    if (chunks / "_manifest.json").is_file():
        shutil.rmtree(chunks)
        gone.append(chunks)
    return gone
