"""Verification: each mechanism does what docs/ODD.md says it does.

Verification is not validation. A pattern the model produces because its rules say so (relief
raises growth in the deal's month, a government that wants relief more strikes deals sooner,
a recipient that builds its own drones stops asking for them) checks that the code does what the
model description says; it cannot show that the model is right about the world. The former
facts 6, 7 and 8 are such checks, so they are listed here with the tests that hold them, beside
the closed forms of ``tests/test_validation.py`` and the equation tests of ``tests/test_docs.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis.facts.events import fact_6_relief, fact_7_government, fact_8_localisation
from analysis.facts.measures import Fact
from analysis.facts.variants import Context


@dataclass(frozen=True)
class Mechanism:
    """One row of the verification table.

    Attributes:
        key: short name (``V1`` ..).
        mechanism: what the ODD says the mechanism does.
        section: the ODD section that says it.
        tests: the tests that verify it (``file::test``).
        was_fact: the stylised fact it was counted as before (0 if none).
        check: the experiment ``diplosim facts`` runs for it on the case (None: tests only).
    """

    key: str
    mechanism: str
    section: str
    tests: tuple[str, ...]
    was_fact: int = 0
    check: Callable[[Context], Fact] | None = field(default=None, compare=False)


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("V1", "relief raises the target's growth from the month a deal is in force; a "
              "detected breach snaps sanctions back at once", "ODD 7.6, 7.11",
              ("tests/test_docs.py::test_economy_equation_matches_one_month",
               "tests/test_docs.py::test_advance_deals_follows_the_odd_in_every_situation",
               "tests/test_validation.py::test_verification_rows_hold"), 6, fact_6_relief),
    Mechanism("V2", "a higher relief priority (a change of government) cannot lower the hazard "
              "of a deal", "ODD 7.10, 7.13",
              ("tests/test_docs.py::test_relief_and_ceasefire_equations_match_decide_track",
               "tests/test_validation.py::test_verification_rows_hold"), 7, fact_7_government),
    Mechanism("V3", "production assistance builds the recipient's capacity, so its demand for "
              "the supplier's shipments (and the supplier's revenue) falls once it covers its "
              "need", "ODD 7.4",
              ("tests/test_docs.py::test_odd_month_by_month_equals_the_engine",
               "tests/test_validation.py::test_verification_rows_hold"), 8, fact_8_localisation),
    Mechanism("V4", "pressure composes senders with diminishing returns, reach and leakage "
              "outside the coalition", "ODD 7.5",
              ("tests/test_validation.py::test_pressure_on_iran_matches_the_closed_form",
               "tests/test_validation.py::test_a_full_coalition_leaks_nothing",
               "tests/test_rules.py::test_pressure_from_many_senders_has_diminishing_returns")),
    Mechanism("V5", "a shipment is detected with its category's monthly probability",
              "ODD 7.4",
              ("tests/test_validation.py::test_detection_within_m_months_is_geometric",
               "tests/test_rules.py::test_detections_follow_the_binomial_law")),
    Mechanism("V6", "no detection, no transfer-triggered sanctions", "ODD 7.2",
              ("tests/test_validation.py::"
               "test_no_transfer_triggered_sanctions_when_detection_is_zero",)),
    Mechanism("V7", "a sender imposes only if the package costs it less than backing down",
              "ODD 7.2",
              ("tests/test_docs.py::"
               "test_threat_stage_weighs_the_cost_of_imposing_against_the_audience_cost",)),
    Mechanism("V8", "damage fades as the target adapts; growth follows its trend without "
              "shocks", "ODD 7.6",
              ("tests/test_docs.py::test_adaptation_starts_from_the_episode_age",
               "tests/test_rules.py::test_gdp_path_without_shocks_is_the_closed_form")),
    Mechanism("V9", "parameters outside the rules change nothing", "ODD 8",
              ("tests/test_validation.py::test_parameters_outside_the_model_change_nothing",)),
    Mechanism("V10", "every equation of ODD section 7, month by month, on every bundled "
              "scenario", "ODD 7",
              ("tests/test_docs.py::test_odd_month_by_month_equals_the_engine",)),
)


@dataclass
class Verified:
    """A mechanism and, if ``diplosim facts`` checks it on the case, that check's result."""

    mechanism: Mechanism
    fact: Fact | None

    @property
    def status(self) -> str:
        """The row's status: ``verified``, ``FAILS``, ``unresolved`` or ``by tests``.

        A checked row is ``unresolved`` when its check has no interval at this run count (too
        few events); a row the command does not check is held ``by tests``.
        """
        if self.fact is None:
            return "by tests"
        if self.fact.reproduced:
            return "verified"
        return "unresolved" if not (math.isfinite(self.fact.low)
                                    and math.isfinite(self.fact.high)) else "FAILS"


def verify(ctx: Context) -> list[Verified]:
    """Every mechanism of :data:`MECHANISMS`, running the case's check where there is one."""
    return [Verified(m, m.check(ctx) if m.check is not None else None) for m in MECHANISMS]
