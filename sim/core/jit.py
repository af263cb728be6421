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
- **Less to compile** (cold start). Numba compiles, for every function, a CPython wrapper (to
  call it from Python) and a C-callable wrapper (for first-class function pointers); for a rule
  taking the named tuples of the compiled core, the wrapper unboxes some fifty arrays, and the
  two took about a quarter of a cold ``diplosim run``'s compilation, though only the kernel's loop
  and the band accumulator are ever called from Python there. So each project function is two
  dispatchers of the same Python function (:class:`EntryDispatcher`): the one Python calls, with
  its CPython wrapper, and a twin that compiled callers call, without wrappers, compiled only
  when a caller needs it (cached in a ``callees`` sub-folder: Numba's cache index does not tell
  the two apart). Neither has a C-callable wrapper. And a constant argument (a draw's purpose)
  no longer compiles a function once per value: every signature is compiled for the arguments'
  plain types (Numba's ``Literal[int](9)`` becomes ``int64``), the same machine code after LLVM
  inlines the constant (one specialisation of ``uniform`` instead of seven).
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
from numba.core import types
from numba.core.caching import FunctionCache
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher
from numba.core.registry import CPUDispatcher

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
        if isinstance(sig, tuple):  # argument types (a call or a caller's type inference)
            sig = tuple(types.unliteral(t) for t in sig)
        with numba_config(kernel_settings()):
            return compile_(sig)

    dispatcher.compile = compile
    return dispatcher


#: True under ``NUMBA_DISABLE_JIT=1``: the project's functions are then plain Python.
JIT_DISABLED: bool = bool(numba.config.DISABLE_JIT)


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` with the project's defaults: cached on disk, no fastmath, vectorisers off.

    Used as ``@njit`` or ``@njit(nogil=True, ...)``. The cache folder is :func:`cache_dir`
    and compilation runs under :func:`kernel_settings`, both for the project's functions only
    (see the module's docstring); the result is an :class:`EntryDispatcher`. fastmath stays off
    so that the compiled and pure-Python paths agree.
    """
    kwargs.setdefault("cache", True)
    if len(args) == 1 and callable(args[0]):
        return _decorate(args[0], (), kwargs)
    return lambda fn: _decorate(fn, args, kwargs)


def _cache_folder(callees: bool = False) -> str | None:
    """``CACHE_DIR`` for a project function's cache (None: Numba's default for the user's)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    base = Path(user) if user else cache_dir()
    if callees:
        return str(base / "callees")
    return None if user else str(base)


def _dispatcher(cls: type, fn: Callable, options: dict[str, Any], cache: bool,
                callees: bool) -> Any:
    """A ``cls`` dispatcher of ``fn`` as ``numba.njit(**options)`` makes it, cached if asked."""
    disp = cls(py_func=fn, locals={},
               targetoptions={"nopython": True, "boundscheck": None, **options})
    if cache:
        folder = _cache_folder(callees)
        # The cache folder is read when caching is enabled.
        with numba_config(kernel_settings() | ({"CACHE_DIR": folder} if folder else {})):
            disp.enable_caching()
    return _compiled_with_kernel_settings(disp)


class EntryDispatcher(CPUDispatcher):
    """A project function as Python calls it; compiled callers call its twin without wrappers.

    Numba types a jitted function that compiled code refers to from its ``_numba_type_``: here
    the twin's, a dispatcher of the same Python function and options with neither a CPython nor
    a C-callable wrapper (see the module's docstring), made at the first compiled call. The
    twin compiles its own specialisations, so a function called both from Python and from
    compiled code (``init_state`` in the Mesa engine and in the kernel) is compiled twice in a
    process that does both; a cold ``diplosim run`` calls only the kernel's loop from Python.
    """

    @property
    def _numba_type_(self) -> types.Dispatcher:
        with global_compiler_lock:
            callee = self.__dict__.get("_callee")
            if callee is None:
                callee = _dispatcher(CPUDispatcher, self.py_func,
                                     {**self.targetoptions, "no_cpython_wrapper": True},
                                     isinstance(self._cache, FunctionCache), callees=True)
                self._callee = callee
        return types.Dispatcher(callee)


def _decorate(fn: Callable, args: tuple, kwargs: dict[str, Any]) -> Any:
    if JIT_DISABLED:
        return fn
    options = {k: v for k, v in kwargs.items() if k != "cache"}
    options["no_cfunc_wrapper"] = True
    disp = _dispatcher(EntryDispatcher, fn, options, bool(kwargs.get("cache")), callees=False)
    if args:  # signatures given: compiled at once, as numba.njit does
        from numba.core import typeinfer

        sigs = args[0] if isinstance(args[0], list) else [args[0]]
        with typeinfer.register_dispatcher(disp):
            for sig in sigs:
                disp.compile(sig)
        disp.disable_compile()
    return disp


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
