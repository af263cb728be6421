"""diplosim: arms transfers, sanctions and negotiation between states and blocs.

The public interface::

    import sim
    sim.list_scenarios()
    scn = sim.load_scenario("baseline")
    scn = scn.with_overrides({"actors.USA.escalation_step": 0.3})
    model = sim.DiplomacyModel(scn, seed=7)
    model.run()
"""

from sim.core import jit as _jit  # noqa: F401  (sets the Numba cache folder before anything compiles)
from sim.jobs.ensemble import run_ensemble
from sim.results.ensemble import EnsembleResult, load_results
from sim.engines.model import ActorAgent, DiplomacyModel, StoryEvent
from sim.scenario import (
    Scenario,
    ScenarioError,
    list_policies,
    list_scenarios,
    load_scenario,
)

__version__ = "0.1.0"

__all__ = [
    "ActorAgent", "DiplomacyModel", "EnsembleResult", "Scenario", "ScenarioError", "StoryEvent",
    "__version__",
    "list_policies", "list_scenarios", "load_results", "load_scenario", "run_ensemble",
]
