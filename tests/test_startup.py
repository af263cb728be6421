"""Start-up: what a command imports, and what importing diplosim leaves changed (nothing).

Each command runs in a fresh interpreter (``sim.cli.main([...])``, then the names of the loaded
modules are printed), so that what an earlier test imported cannot hide an import. The figures
behind the limits: before the static table of verbs, ``diplosim list`` imported every verb
module (pandas, Numba, Mesa, SciPy, matplotlib) and used about 4.4 s of CPU; it now stays under
1 s (the test asserts on the imported modules only, never on time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numba
import pytest

import sim
from sim import cli
from sim.core import jit
from sim.scenario import scenario_dir

#: What the cheap commands must not import.
HEAVY = ("mesa", "numba", "pandas", "scipy", "matplotlib")


def _run_python(code: str, drop: tuple[str, ...] = ()) -> dict:
    """Run ``code`` in a fresh interpreter (without the variables ``drop``); it prints one JSON
    object as its last line."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _modules_after(argv: list[str]) -> dict:
    """Exit status, stdout and the top-level names of the modules loaded by ``main(argv)``."""
    return _run_python(f"""
        import contextlib, io, json, sys
        from sim.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                status = main({argv!r})
            except SystemExit as exc:
                status = exc.code
        names = sorted({{m.split(".")[0] for m in sys.modules}})
        print(json.dumps({{"status": status, "out": out.getvalue(), "modules": names}}))
    """)


@pytest.mark.parametrize("argv", [
    ["list"],
    ["validate", str(scenario_dir() / "baseline.toml")],
    ["validate", "baseline", "--policy", "engagement"],
    ["--help"],
    ["run", "--help"],
])
def test_cheap_commands_import_no_heavy_library(argv):
    got = _modules_after(argv)
    assert got["status"] == 0, got["out"]
    loaded = [m for m in HEAVY if m in got["modules"]]
    assert loaded == [], f"diplosim {' '.join(argv)} imported {loaded}"


def test_help_lists_every_verb_from_the_table():
    got = _modules_after(["--help"])
    for v in cli.VERBS.values():
        assert v.name in got["out"]
        assert v.help.split()[0] in got["out"]
    # No verb module was imported to write it.
    assert not {"analysis", "classroom"} & set(got["modules"])


def test_an_ensemble_run_does_not_import_mesa():
    got = _modules_after(["run", "baseline", "--runs", "20", "--months", "3", "--quiet"])
    assert got["status"] == 0 and "numba" in got["modules"]
    assert "mesa" not in got["modules"]
    with_mesa = _modules_after(["run", "baseline", "--runs", "2", "--months", "2",
                                "--engine", "mesa"])
    assert with_mesa["status"] == 0 and "mesa" in with_mesa["modules"]


def test_import_sim_is_cheap_and_keeps_the_public_interface():
    got = _run_python("""
        import json, sys
        import sim
        before = sorted(m for m in ("mesa", "numba", "pandas", "scipy") if m in sys.modules)
        missing = [n for n in sim.__all__ if not hasattr(sim, n)]
        print(json.dumps({"before": before, "missing": missing, "dir": dir(sim)}))
    """)
    assert got["before"] == [] and got["missing"] == []
    assert set(sim.__all__) <= set(got["dir"])
    assert set(sim.__all__) == {"__version__", *sim._EXPORTS}
    assert sim.DiplomacyModel.__module__ == "sim.engines.model"
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        sim.nonsense  # noqa: B018


def test_every_verb_of_the_table_is_defined_in_its_module():
    for name, v in cli.VERBS.items():
        add_arguments, run = cli.definition(name)
        assert run.__module__ == v.module and callable(add_arguments)
    with pytest.raises(KeyError, match="not in sim.cli.VERBS"):
        cli.verb("nonsense", lambda p: None)


# ---------------------------------------------------------------------------------------------
# No side effects at import: Numba's settings and matplotlib's backend


def test_importing_and_running_diplosim_leaves_numba_settings_as_they_were():
    """The project's settings hold while its functions compile, never after."""
    got = _run_python("""
        import json
        import numba
        names = ("LOOP_VECTORIZE", "SLP_VECTORIZE", "CACHE_DIR")
        before = {n: getattr(numba.config, n) for n in names}
        import sim
        import sim.core.kernel
        after_import = {n: getattr(numba.config, n) for n in names}
        sim.run_ensemble("baseline", runs=8, seed=1, months=2)
        after_run = {n: getattr(numba.config, n) for n in names}
        print(json.dumps({"before": before, "import": after_import, "run": after_run}))
    """, drop=("NUMBA_LOOP_VECTORIZE", "NUMBA_SLP_VECTORIZE"))
    assert got["import"] == got["before"]
    assert got["run"] == got["before"]


@pytest.mark.skipif(any(f"NUMBA_{n}_VECTORIZE" in os.environ for n in ("LOOP", "SLP")),
                    reason="the user's NUMBA_*_VECTORIZE wins over the project's setting")
def test_only_the_projects_functions_compile_with_the_vectorisers_off(monkeypatch):
    from numba.core.codegen import CPUCodegen

    seen: list[tuple[int, int]] = []
    real = CPUCodegen._pass_builder

    def spy(self, **kwargs):
        seen.append((numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE))
        return real(self, **kwargs)

    monkeypatch.setattr(CPUCodegen, "_pass_builder", spy)
    user = (numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE)

    @jit.njit(cache=False)
    def projects(x):
        return x + 1.5

    @numba.njit
    def users(x):
        return x * 2.5

    assert projects(1.0) == 2.5
    assert seen and set(seen) == {(0, 0)}
    seen.clear()
    assert users(1.0) == 2.5
    assert seen and set(seen) == {user}
    assert (numba.config.LOOP_VECTORIZE, numba.config.SLP_VECTORIZE) == user


@pytest.mark.skipif("NUMBA_CACHE_DIR" in os.environ,
                    reason="the user's NUMBA_CACHE_DIR is every function's cache folder")
def test_the_cache_folder_is_the_projects_own_not_the_users(tmp_path):
    @jit.njit
    def projects(x):
        return x + 1

    @numba.njit(cache=True)
    def users(x):
        return x + 2

    def folder(dispatcher) -> str:
        return dispatcher._cache._impl.locator.get_cache_path()

    assert folder(projects).startswith(str(jit.cache_dir()))
    assert not folder(users).startswith(str(jit.cache_dir()))
    # The twin compiled callers call has its own folder: Numba's cache index would not tell
    # a function compiled with its Python wrapper from one compiled without.
    twin = projects._numba_type_.dispatcher
    assert folder(twin).startswith(str(jit.cache_dir() / "callees"))
    assert numba.config.CACHE_DIR == os.environ.get("NUMBA_CACHE_DIR", "")


def test_compiled_callers_call_a_twin_without_wrappers_one_specialisation_per_types():
    @jit.njit(cache=False)
    def price(x, step):
        return x + step

    @jit.njit(cache=False)
    def two_steps(x):
        return price(x, 1) * 10 + price(x, 2)

    assert two_steps(3) == 45
    twin = price._numba_type_.dispatcher
    assert twin is not price and twin.py_func is price.py_func
    assert twin.targetoptions["no_cpython_wrapper"] and twin.targetoptions["no_cfunc_wrapper"]
    assert not price.targetoptions.get("no_cpython_wrapper")
    # The constants 1 and 2 compile one specialisation of plain int64, not two literal ones.
    assert twin.signatures == [(numba.int64, numba.int64)]
    # Python has not called price yet; its call compiles the entry with its Python wrapper.
    assert price.signatures == []
    assert price(2.5, 1) == 3.5
    assert price.signatures == [(numba.float64, numba.int64)]
    assert two_steps.signatures == [(numba.int64,)]


def test_no_module_sets_matplotlibs_backend():
    got = _run_python("""
        import json
        import matplotlib
        unset = dict.__getitem__(matplotlib.rcParams, "backend")
        import sim, sim.cli, sim.commands
        import analysis, analysis.commands, analysis.plots, analysis.report, analysis.facts
        import analysis.facts.figures, classroom.commands
        untouched = dict.__getitem__(matplotlib.rcParams, "backend") == unset
        matplotlib.use("pdf")
        from analysis import plots
        fig, ax = plots.new_figure(figsize=(2.0, 2.0))
        ax.plot([0, 1], [1, 0])
        png = plots.png_bytes(fig)
        print(json.dumps({"untouched": untouched, "backend": matplotlib.get_backend(),
                          "png": png[:4].hex()}))
    """)
    assert got["untouched"]
    assert got["backend"] == "pdf"
    assert got["png"] == b"\x89PNG".hex()
