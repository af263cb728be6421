"""Numba set-up shared by every compiled module of the package.

Numba's on-disk cache is keyed on the file that defines a function, not on the callees it
inlines from other modules: editing a rule in ``sim/core/rules.py`` would leave a stale cached
kernel in ``sim/engines/ensemble.py``. Unless the user points ``NUMBA_CACHE_DIR`` elsewhere, the
cache therefore lives in a folder named after a hash of every compiled source file, so any
edit to the rules starts a fresh cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

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
    """Folder where compiled kernels are cached (user's NUMBA_CACHE_DIR wins)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        return Path(user)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "diplosim" / "numba" / _source_digest()


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = str(cache_dir())

# LLVM's loop and SLP vectorisers turn the rules' loops over 2 to 8 actors, routes or tracks into
# masked 512-bit vector code whose set-up costs more than the scalar loop: with them off the
# ensemble kernel is about 12% faster, with identical results (without fastmath LLVM never
# reorders floating-point sums). Numba reads these settings when it first compiles anything in
# the process, so they only apply if diplosim is imported first; a user's
# NUMBA_LOOP_VECTORIZE / NUMBA_SLP_VECTORIZE wins.
if "NUMBA_LOOP_VECTORIZE" not in os.environ:
    numba.config.LOOP_VECTORIZE = 0
if "NUMBA_SLP_VECTORIZE" not in os.environ:
    numba.config.SLP_VECTORIZE = 0

JIT_DISABLED: bool = bool(numba.config.DISABLE_JIT)


def njit(*args, **kwargs):
    """``numba.njit`` with the project's defaults: cached on disk, no fastmath.

    fastmath stays off so that the compiled and pure-Python paths agree to 1e-12.
    """
    kwargs.setdefault("cache", True)
    return numba.njit(*args, **kwargs)


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
