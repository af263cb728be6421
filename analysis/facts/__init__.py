"""Pattern-oriented validation: the stylised facts of the sanctions literature, checked.

Scholars trust a model only as far as it reproduces what is known about the real system
(pattern-oriented modelling: Grimm et al. 2005, "Pattern-oriented modeling of agent-based complex
systems", Science 310:987, doi:10.1126/science.1116681). The eight facts are listed in the
project's reference notes; for each, :func:`check_facts` runs an experiment on the bundled
scenario (variants made with :meth:`sim.Scenario.with_overrides`, never a parameter set for one
fact), measures the model's figure with a 95% confidence interval and says whether it falls in
the literature's band. ``docs/validation.md`` states every definition in words; the docstring of
each ``fact_*`` function states it in model terms.

    from analysis.facts import check_facts, facts_table
    facts = check_facts(runs=4000, seed=0)
    print(facts_table(facts))

The package, by job:

- :mod:`~analysis.facts.variants`: running a variant with its monthly trajectories (common
  random numbers across variants), and the cache of variants an experiment shares;
- :mod:`~analysis.facts.roles`: who is who (target, senders, recipient, routes), what an episode
  and its success are, the counterfactual variants;
- :mod:`~analysis.facts.measures`: a :class:`Fact` and the statistics of its figure;
- :mod:`~analysis.facts.episodes` (facts 1-2), :mod:`~analysis.facts.coalitions` (facts 3-5),
  :mod:`~analysis.facts.events` (facts 6-8): the experiments;
- :mod:`~analysis.facts.sensitivity`: the sweep of unsourced assumptions;
- :mod:`~analysis.facts.check`: :func:`check_facts`;
- :mod:`~analysis.facts.report`: the table and the text report;
- :mod:`~analysis.facts.figures`: one PNG per fact (matplotlib, imported when one is drawn);
- :mod:`~analysis.facts.command`: ``diplosim facts [--runs N] [--seed S] [--figures DIR]
  [--csv FILE]``.
"""

from analysis.facts.check import FACTS, FactCheck, check_facts
from analysis.facts.coalitions import COALITION_SWEEP
from analysis.facts.figures import write_figures
from analysis.facts.measures import EVENT_WINDOW, PRE_WINDOW, Fact
from analysis.facts.report import SHORT_LITERATURE, facts_table, format_report
from analysis.facts.roles import IMPOSITION, Roles
from analysis.facts.sensitivity import ASSUMPTIONS, SENSITIVITY_FACTORS
from analysis.facts.variants import Ensemble, run_variant

__all__ = [
    "ASSUMPTIONS", "COALITION_SWEEP", "EVENT_WINDOW", "FACTS", "IMPOSITION", "PRE_WINDOW",
    "SENSITIVITY_FACTORS", "SHORT_LITERATURE", "Ensemble", "Fact", "FactCheck", "Roles",
    "check_facts", "facts_table", "format_report", "run_variant", "write_figures",
]
