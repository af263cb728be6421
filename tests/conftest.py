"""Shared fixtures: the bundled baseline, a tiny one-route scenario for closed-form checks, and
one warm-up of the Numba kernel per test session.

Every fixture writes only into pytest's temporary folders, never into the repository, and does
not depend on the working directory.
"""

from __future__ import annotations

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
