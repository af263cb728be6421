"""The settings of a job's execution that the command line reads without importing the engines.

A leaf of the jobs layer (it imports only :mod:`sim.errors`), so that building the command
line's backend option group (:func:`sim.cli.add_backend_arguments`) loads neither numpy, pandas
nor the model.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sim.errors import UsageError

Backend = Literal["local", "dask"]
#: Items ((point, run) pairs) per chunk unless the caller says otherwise. About 0.1-0.5 s of
#: kernel time on one core for the baseline, and a part of a few MB: large enough that Dask's
#: per-task cost (a few ms) is negligible, small enough that a killed job loses little.
DEFAULT_CHUNK_SIZE = 5000
#: How long to try reaching a scheduler given by address before giving up.
CONNECT_TIMEOUT = "10s"


class BackendError(UsageError):
    """A bad backend setting (both a scheduler and workers, an unreachable scheduler, ...)."""


def resolve_backend(backend: str | None, scheduler: Any, workers: int | None) -> str:
    """``"local"`` or ``"dask"``: the backend asked for, or implied by a scheduler or workers.

    Raises:
        BackendError: an unknown backend, or a scheduler or workers with ``backend="local"``.
    """
    if backend is None:
        return "dask" if scheduler is not None or workers is not None else "local"
    if backend not in ("local", "dask"):
        raise BackendError(f"backend must be 'local' or 'dask', got {backend!r}")
    if backend == "local" and (scheduler is not None or workers is not None):
        raise BackendError("a scheduler or workers need backend='dask'")
    return backend


@contextmanager
def workers_ignore_ctrl_c() -> Iterator[None]:
    """Within the block, worker processes started here ignore Ctrl-C (SIGINT).

    Ctrl-C in a terminal goes to every process of the job: without this, each Dask worker
    process would print its own KeyboardInterrupt traceback. A signal ignored when a process
    starts stays ignored in it (neither Python nor asyncio install a handler over an ignored
    SIGINT), so the workers leave the interrupt to this process, which stops the job and closes
    the cluster, its workers with it. The block holds only the start of a LocalCluster (about a
    second): a Ctrl-C within it is ignored too (press it again). Off the main thread, where no
    handler can be set, it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
