"""Analysis of ensembles: policy comparison, sweeps, sensitivity, scenario discovery, reports.

Imports the model; the model never imports this package. Plots (matplotlib) live in
:mod:`analysis.plots` and are imported only by what draws.

    import analysis
    cmp = analysis.compare_policies("baseline", ["status_quo", "maximum_pressure"], runs=2000)
    sw = analysis.sweep("baseline", {"actors.USA.escalation_step": (0.05, 0.4)}, design="lhs")
"""

from analysis.compare import PolicyComparison, compare_policies
from analysis.discovery import PrimBox, prim
from analysis.sensitivity import morris_indices, sensitivity, sobol_indices
from analysis.sweep import DESIGNS, SweepResult, sample_design, sweep

__all__ = [
    "DESIGNS", "PolicyComparison", "PrimBox", "SweepResult", "compare_policies",
    "morris_indices", "prim", "sample_design", "sensitivity", "sobol_indices", "sweep",
]
