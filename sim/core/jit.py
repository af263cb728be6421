"""Numba set-up shared by every compiled module of the package, scoped to the package's kernels.

Importing diplosim changes no Numba setting of the user's process: the two settings the project
needs apply to its own functions only.

- **Cache folder.** Numba's on-disk cache is keyed on the file that defines a function, not on the
  callees it inlines from other modules: editing a rule in ``sim/core/rules.py`` would leave a
  stale cached kernel in ``sim/core/kernel.py``. Unless the user sets ``NUMBA_CACHE_DIR``, the
  project's functions are cached in a folder named after a hash of every compiled source file
  (:func:`cache_dir`), so any edit starts a fresh cache. Numba reads ``numba.config.CACHE_DIR``
  when a function is decorated (its cache locator keeps the path), so :func:`njit` sets it for
  the decoration of the project's functions only and restores it at once.
- **Vectorisers off.** LLVM's loop and SLP vectorisers turn the rules' loops over 2 to 8 actors,
  routes or tracks into masked 512-bit vector code whose set-up costs more than the scalar loop:
  with them off the ensemble kernel is about 12% faster, with identical results (without fastmath
  LLVM never reorders floating-point sums). Numba (0.68, ``numba/core/codegen.py``) reads
  ``numba.config.LOOP_VECTORIZE`` and ``SLP_VECTORIZE`` each time it builds an LLVM pass manager,
  that is, at every compilation; so :func:`njit` turns them off around the compilation of the
  project's functions (callees and the parallel kernel's gufuncs are compiled inside it), under
  Numba's compiler lock, and restores them after. A cache hit compiles nothing. A user's
  ``NUMBA_LOOP_VECTORIZE`` / ``NUMBA_SLP_VECTORIZE`` wins.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numba
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher

#: Every module whose code the compiled kernels contain: the whole compiled core, and the band
#: accumulators of :mod:`sim.results.bands`. A missing file is an error, never silently skipped
#: (a renamed module would otherwise leave stale kernels in the cache).
_CORE = Path(__file__).resolve().parent
_COMPILED_EXTRA = (_CORE.parent / "results" / "bands.py",)


def compiled_sources() -> list[Path]:
    """The source files whose code ends up in a compiled kernel, in a fixed order."""
    return sorted(_CORE.glob("*.py")) + list(_COMPILED_EXTRA)


def _source_digest() -> str:
    digest = hashlib.sha256()
    for path in compiled_sources():
        if not path.is_file():
            raise FileNotFoundError(f"compiled source {path} is missing: the kernel cache key "
                                    "must cover every module of the compiled core")
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Folder where the project's compiled kernels are cached (the user's NUMBA_CACHE_DIR wins)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        return Path(user)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "diplosim" / "numba" / _source_digest()


def kernel_settings() -> dict[str, Any]:
    """The ``numba.config`` values the project's kernels compile under (a user's env wins)."""
    return {name: 0 for name in ("LOOP_VECTORIZE", "SLP_VECTORIZE")
            if f"NUMBA_{name}" not in os.environ}


@contextmanager
def numba_config(settings: dict[str, Any]) -> Iterator[None]:
    """Within the block, ``numba.config`` has ``settings``; the previous values after it.

    Held under Numba's (re-entrant) compiler lock, so no other thread compiles meanwhile with the
    project's settings; nested blocks restore what the outer block set.
    """
    with global_compiler_lock:
        saved = {name: getattr(numba.config, name) for name in settings}
        try:
            for name, value in settings.items():
                setattr(numba.config, name, value)
            yield
        finally:
            for name, value in saved.items():
                setattr(numba.config, name, value)


def _compiled_with_kernel_settings(dispatcher: Any) -> Any:
    """``dispatcher`` whose every compilation runs under :func:`kernel_settings`.

    Numba compiles through ``Dispatcher.compile`` (first call, a caller's type inference, a
    recompile); the instance's own ``compile`` wraps it. Under ``NUMBA_DISABLE_JIT`` there is no
    dispatcher, only the Python function, returned as it is.
    """
    if not isinstance(dispatcher, Dispatcher):
        return dispatcher
    compile_ = dispatcher.compile

    @functools.wraps(compile_)
    def compile(sig: Any) -> Any:
        with numba_config(kernel_settings()):
            return compile_(sig)

    dispatcher.compile = compile
    return dispatcher


#: True under ``NUMBA_DISABLE_JIT=1``: the project's functions are then plain Python.
JIT_DISABLED: bool = bool(numba.config.DISABLE_JIT)


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` with the project's defaults: cached on disk, no fastmath, vectorisers off.

    Used as ``@njit`` or ``@njit(parallel=True, ...)``. The cache folder is :func:`cache_dir`
    and compilation runs under :func:`kernel_settings`, both for the project's functions only
    (see the module's docstring). fastmath stays off so that the compiled and pure-Python paths
    agree.
    """
    kwargs.setdefault("cache", True)
    if len(args) == 1 and callable(args[0]):
        return _decorate(args[0], (), kwargs)
    return lambda fn: _decorate(fn, args, kwargs)


def _decorate(fn: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    # The cache folder is read at decoration; a signature given here compiles at once.
    settings = kernel_settings()
    if kwargs.get("cache") and not os.environ.get("NUMBA_CACHE_DIR"):
        settings["CACHE_DIR"] = str(cache_dir())
    with numba_config(settings):
        dispatcher = numba.njit(*args, **kwargs)(fn)
    return _compiled_with_kernel_settings(dispatcher)


def rule_njit(*args, **kwargs):
    """``njit`` for the rule functions, compiled without Numba's reference-counting runtime.

    The rules only read and write arrays they are given; they never allocate one. With the
    runtime on, every call of a rule increments and decrements the reference count of each array
    argument with atomic instructions (a dozen to thirty arrays per call, several calls per actor
    and month), which took about two thirds of the ensemble kernel's time. Without it the calls
    cost next to nothing and the numbers are identical. A rule that allocates (``np.zeros``, or
    ``A[:, :] = B``, which may copy ``B``) fails to compile with "NRT required but not enabled":
    use a loop, or let the caller pass the array in.
    """
    kwargs.setdefault("_nrt", False)
    return njit(*args, **kwargs)
