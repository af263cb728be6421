"""diplosim: arms transfers, sanctions and negotiation between states and blocs.

The public interface::

    import sim
    sim.list_scenarios()
    scn = sim.load_scenario("baseline")
    scn = scn.with_overrides({"actors.USA.escalation_step": 0.3})
    model = sim.DiplomacyModel(scn, seed=7)
    model.run()

``import sim`` is cheap: each name is imported from its module on first use (PEP 562), so a
script that only loads scenarios, or the ``diplosim list`` command, never pays for Mesa, Numba or
pandas. Importing sim changes no setting of another library (see :mod:`sim.core.jit`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "ActorAgent": "sim.engines.model",
    "DiplomacyModel": "sim.engines.model",
    "StoryEvent": "sim.engines.model",
    "branch_scenario": "sim.engines.branches",
    "fork": "sim.engines.branches",
    "EnsembleResult": "sim.results.ensemble",
    "load_results": "sim.results.ensemble",
    "run_ensemble": "sim.jobs.ensemble",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.errors",
    "list_policies": "sim.scenario",
    "list_scenarios": "sim.scenario",
    "load_scenario": "sim.scenario",
}

__all__ = [
    "ActorAgent", "DiplomacyModel", "EnsembleResult", "Scenario", "ScenarioError", "StoryEvent",
    "__version__", "branch_scenario", "fork",
    "list_policies", "list_scenarios", "load_results", "load_scenario", "run_ensemble",
]

if TYPE_CHECKING:
    from sim.engines.branches import branch_scenario, fork
    from sim.engines.model import ActorAgent, DiplomacyModel, StoryEvent
    from sim.errors import ScenarioError
    from sim.jobs.ensemble import run_ensemble
    from sim.results.ensemble import EnsembleResult, load_results
    from sim.scenario import Scenario, list_policies, list_scenarios, load_scenario


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, then keep it here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names and every public name, imported or not."""
    return sorted(set(globals()) | set(__all__))
