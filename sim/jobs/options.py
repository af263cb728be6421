"""The backend option group of the command line: where a verb's runs go and how they are kept.

Every verb that runs many runs (``run``, ``compare``, ``sweep``, ...) adds these flags with
:func:`add_backend_arguments` and turns them into keyword arguments of its function with
:func:`backend_options` or :func:`chunked_options`. Only the command line imports this module:
the job model and the executors (:mod:`sim.jobs.job`, :mod:`sim.jobs.backends`) know nothing of
argparse.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.jobs.settings import DEFAULT_CHUNK_SIZE, BackendError


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of every verb that runs many runs: where to run them and how to store them.

    ``--out`` is not added here (each verb has its own); ``--resume`` applies to it.
    """
    g = p.add_argument_group("backend (see docs/scaling.md)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="run on a running Dask cluster, e.g. tcp://127.0.0.1:8786")
    g.add_argument("--workers", type=int, metavar="N",
                   help="run on a Dask LocalCluster of N worker processes on 127.0.0.1")
    g.add_argument("--chunk-size", type=int, metavar="K",
                   help=f"(point, run) items per chunk (default {DEFAULT_CHUNK_SIZE} on a "
                   "backend); never changes a result")
    g.add_argument("--resume", action="store_true",
                   help="keep every finished chunk in --out DIR and continue the job there if "
                   "it was interrupted, computing only its missing chunks")


def backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """Backend settings from the flags of :func:`add_backend_arguments`.

    Returns ``backend``, ``scheduler``, ``workers``, ``resume`` and ``chunk_size`` (None when
    not given: the caller's default applies).

    Raises:
        BackendError: inconsistent flags (both --scheduler and --workers, --workers 0,
            --resume without --out, --chunk-size 0).
    """
    scheduler = getattr(args, "scheduler", None)
    workers = getattr(args, "workers", None)
    if scheduler is not None and workers is not None:
        raise BackendError("--scheduler and --workers: give one or the other")
    if workers is not None and workers < 1:
        raise BackendError(f"--workers must be at least 1 (got {workers})")
    if scheduler is not None and "://" not in scheduler:
        raise BackendError(f"--scheduler {scheduler!r}: expected an address like "
                           "tcp://127.0.0.1:8786")
    chunk_size = getattr(args, "chunk_size", None)
    if chunk_size is not None and chunk_size < 1:
        raise BackendError(f"--chunk-size must be at least 1 (got {chunk_size})")
    resume = bool(getattr(args, "resume", False))
    if resume and getattr(args, "out", None) is None:
        raise BackendError("--resume needs --out DIR (the folder of the job to continue)")
    return {"backend": "dask" if scheduler is not None or workers is not None else "local",
            "scheduler": scheduler, "workers": workers, "resume": resume,
            "chunk_size": chunk_size}


def chunked_options(args: argparse.Namespace, out: str | Path | None) -> dict[str, Any]:
    """Keyword arguments for a verb's function from the backend flags.

    Empty (the verb's usual local path) unless a Dask backend or ``--resume`` is asked for;
    otherwise ``backend``, ``scheduler``, ``workers``, ``chunk_size``, ``resume`` and ``out``:
    the chunks of the job are kept in ``OUT/chunks`` (the verb's own files stay in ``OUT``).
    """
    opts = backend_options(args)
    if opts["backend"] != "dask" and not opts["resume"]:
        return {}
    return {**opts, "out": None if out is None else Path(out) / "chunks"}
