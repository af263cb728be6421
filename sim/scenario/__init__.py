"""The scenario layer: the schema of a scenario file, loading and validating it, compiling it.

Imports only :mod:`sim.errors` and the array layout of :mod:`sim.core.layout`.
"""

from sim.errors import ScenarioError
from sim.scenario.loading import (
    CompiledScenario,
    Scenario,
    compile_scenario,
    list_policies,
    list_scenarios,
    load_scenario,
    parse_override_value,
    read_scenario_text,
    scenario_dir,
)

__all__ = [
    "CompiledScenario", "Scenario", "ScenarioError", "compile_scenario", "list_policies",
    "list_scenarios", "load_scenario", "parse_override_value", "read_scenario_text",
    "scenario_dir",
]
