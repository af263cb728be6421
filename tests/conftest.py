"""Shared fixtures: the bundled baseline, a tiny one-route scenario for closed-form checks, and
one warm-up of the Numba kernel per test session.

Every fixture writes only into pytest's temporary folders, never into the repository, and does
not depend on the working directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from builders import tiny_builder
from hypothesis import HealthCheck, settings

import sim
from sim.scenario import Scenario

# Hypothesis: real coverage, no wall-clock deadline (the first call of a compiled rule may
# compile or load it from the cache, which says nothing about the code under test).
settings.register_profile(
    "diplosim", deadline=None, suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("diplosim")

REPO = Path(__file__).resolve().parent.parent

# The tiny scenario (tests/builders.py: ``tiny_builder``) has one supply route, one sanctioner
# and no negotiation track: small enough that its outcomes have closed forms (detection within m
# months, pressure from one sender, GDP growth with no shocks: tests/closed_forms.py). Parameters
# a test varies are set through ``with_overrides``. Tests of several files rely on its names and
# figures (route ``sup_rec``, category ``widgets``, 10 units a month, pressure 0.5 x 0.4 on REC).


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The bundled baseline scenario (validated)."""
    return sim.load_scenario("baseline")


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the tiny one-route scenario file, written into a temporary folder."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.toml"
    path.write_text(tiny_builder().to_toml(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> Scenario:
    """The tiny one-route scenario (validated)."""
    return sim.load_scenario(tiny_path)


@pytest.fixture(scope="session")
def numba_kernel(baseline: Scenario):
    """The compiled ensemble kernel, compiled (or loaded from the cache) once per session.

    Tests that run ensembles take this fixture so that compilation is paid once and shows up
    in one place in ``--durations``.
    """
    sim.run_ensemble(baseline, runs=np.arange(2), seed=0, engine="numba", months=2)
    from sim.core.kernel import run_kernel

    return run_kernel


# The classroom app in a real browser: one ``diplosim ui`` server and one Chromium for the whole
# session, shared by the browser test modules (each skips itself when Chromium or the app's
# extras are missing, before it asks for these).


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, numba_kernel) -> Iterator[str]:
    """``diplosim ui --port P`` on a free port, as a user starts it; stopped after the tests."""
    import subprocess
    import sys

    from classroom.serve import free_port, stop, wait_until_up

    port = free_port()
    log = tmp_path_factory.mktemp("ui") / "ui.log"
    with log.open("w") as out:
        # What the ``diplosim`` script runs (``python -m sim.cli`` would register the verbs on
        # a second copy of the module).
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from sim.cli import main; "
                                 "sys.exit(main())", "ui", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            wait_until_up(url, timeout=300, proc=proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; its output:\n{log.read_text()}") from None
        assert f"diplosim classroom app: {url}" in log.read_text()
        yield url
    finally:
        stop(proc)
    # SIGTERM stops the server and ``diplosim ui`` exits cleanly (not killed after a timeout).
    assert proc.returncode == 0, log.read_text()[-2000:]


@pytest.fixture(scope="session")
def browser(app_url: str) -> Iterator:
    """Headless Chromium (Debian's package); depends on the server so that it closes first."""
    from playwright.sync_api import sync_playwright

    from classroom.serve import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()
