"""The outcome table of an ensemble: one row per figure, each with its confidence interval.

One function builds it (:func:`outcome_table`) from the run summaries and the outcome
declarations of :mod:`sim.core.outcomes`; ``diplosim run`` prints it, the HTML report and the
classroom app show it, so the three agree row for row and figure for figure. A summary column
gives one or two rows, as its declaration says:

* a yes/no outcome (a deal reached or broken) gives the share of runs where it happened, with a
  Wilson score interval (:func:`sim.results.stats.wilson_interval`);
* a month or a count with an event (a category shipped at all, a transfer exposed at least once,
  any escalation) gives first the share of runs where the event happened (row ``shipped_X`` or
  ``any_X``, Wilson), then its mean;
* every other outcome gives its mean with a Student t interval
  (:func:`sim.results.stats.mean_interval`). NaN values (the month of an event that did not
  happen) are left out, so a month's mean is over the runs where it happened, ``n`` saying how
  many.

A column with the same value in every run of the ensemble (sanction pressure on an actor nobody
sanctions, the arms revenue of a supplier whose transfers are free, a deal no zone of agreement
allows) is not a result: the table leaves it out and names it, with its value, in
``table.attrs["constant"]``; :func:`constant_note` says so in one line, which the printed table
and the report show under it.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd

from sim.core.outcomes import declare_outcomes
from sim.results.stats import mean_interval, wilson_interval
from sim.scenario import CompiledScenario, Scenario

#: Columns of :func:`outcome_table`, in order.
TABLE_COLUMNS = ["outcome", "column", "kind", "label", "estimate", "lo", "hi", "n", "unit",
                 "headline"]
#: Columns of a run summary that are not outcomes.
NOT_OUTCOMES = ("run",)


def _same_in_every_run(x: np.ndarray) -> bool:
    """Whether every run has the same value (NaN counting as one value: "never")."""
    nan = np.isnan(x)
    if nan.all():
        return True
    return not nan.any() and bool((x == x[0]).all())


def _value_text(x: float) -> str:
    return "never" if math.isnan(x) else f"{x:g}"


def outcome_table(summary: pd.DataFrame, scenario: Scenario | CompiledScenario,
                  confidence: float = 0.95, drop_constant: bool = True) -> pd.DataFrame:
    """Each outcome of an ensemble with its estimate and confidence interval.

    Args:
        summary: one row per run (column ``run``, then outcome columns of
            :func:`sim.core.outcomes.outcome_layout`, in any order and any subset).
        scenario: the scenario the runs were made of (its declarations name the columns).
        confidence: two-sided confidence level of every interval.
        drop_constant: leave out the columns whose value is the same in every run (when there
            are at least two runs); they are listed, column -> value as text, in
            ``attrs["constant"]`` (see :func:`constant_note`).

    Returns:
        One row per figure, in the order of the summary's columns: ``outcome`` (the summary
        column, or the derived event ``shipped_X`` / ``any_X``), ``column`` (the summary
        column it is computed from), ``kind`` (``probability`` or ``mean``), ``label`` (plain
        words), ``estimate``, ``lo``, ``hi``, ``n`` (runs counted), ``unit`` and ``headline``
        (shown first by the classroom app). ``attrs["runs"]`` is the number of runs and
        ``attrs["constant"]`` the columns left out as constant.

    Raises:
        KeyError: if a column is not an outcome of ``scenario``.
    """
    cs = scenario if isinstance(scenario, CompiledScenario) else scenario.compile()
    declared = declare_outcomes(cs)
    n = len(summary)
    rows: list[tuple] = []
    constant: dict[str, str] = {}

    def share(outcome: str, column: str, label: str, happened: np.ndarray,
              headline: bool) -> None:
        k = int(happened.sum())
        lo, hi = wilson_interval(k, n, confidence)
        rows.append((outcome, column, "probability", label, k / n, lo, hi, n, "share of runs",
                     headline))

    for col in summary.columns:
        if col in NOT_OUTCOMES:
            continue
        d = declared.get(col)
        if d is None:
            raise KeyError(f"summary column {col!r} is not an outcome of the scenario")
        x = summary[col].to_numpy(dtype=float)
        if drop_constant and n >= 2 and _same_in_every_run(x):
            constant[col] = _value_text(x[0])
            continue
        if d.kind == "binary":
            share(col, col, d.label, x >= 0.5, d.headline)
            continue
        if d.event:
            happened = ~np.isnan(x) if d.kind == "month" else x > 0
            share(d.event, col, d.event_label, happened, d.event_headline)
        m, lo, hi = mean_interval(x, confidence)
        rows.append((col, col, "mean", d.label, m, lo, hi, int(np.count_nonzero(~np.isnan(x))),
                     d.unit, d.headline))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table.attrs["runs"] = n
    table.attrs["constant"] = constant
    return table


def constant_note(table: pd.DataFrame) -> str:
    """The line that says which outcomes a table left out as constant, ``""`` if none.

    ``"constant in all 2000 runs, so not a result of the ensemble (left out): peak_pressure_USA
    = 0, arms_revenue_USA = 0"``.
    """
    constant = table.attrs.get("constant") or {}
    if not constant:
        return ""
    values = ", ".join(f"{col} = {value}" for col, value in constant.items())
    return (f"constant in all {table.attrs.get('runs', '?')} runs, so not a result of the "
            f"ensemble (left out): {values}")


def estimate_text(kind: str, estimate: float) -> str:
    """An estimate as shown everywhere: a share in percent to 0.1, a mean to 3 decimals.

    A mean with no run to average (a month of an event that never happened) reads ``never``.
    """
    if kind == "probability":
        return f"{100 * estimate:.1f}%"
    return "never" if math.isnan(estimate) else f"{estimate:.3f}"


def interval_text(kind: str, lo: float, hi: float) -> str:
    """A confidence interval as shown everywhere (``[71.8%, 73.5%]``; ``""`` if undefined)."""
    if kind == "probability":
        return f"[{100 * lo:.1f}%, {100 * hi:.1f}%]"
    return "" if math.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]"


def format_outcome_table(table: pd.DataFrame, confidence: float = 0.95) -> str:
    """The outcome table as aligned text (what ``diplosim run`` prints).

    The figures of :func:`estimate_text` and :func:`interval_text`, padded into columns, and
    under them the :func:`constant_note` of the outcomes left out, if any.
    """
    width = max(len("outcome"), *(len(o) for o in table["outcome"]))
    pct = round(100 * confidence)
    lines = [f"{'outcome':<{width}}  {'estimate':>9}  {f'{pct}% CI':>19}  {'runs':>7}",
             f"{'-' * width}  {'-' * 9}  {'-' * 19}  {'-' * 7}"]
    for row in table.itertuples(index=False):
        if row.kind == "probability":
            est = f"{100 * row.estimate:8.1f}%"
            ci = f"[{100 * row.lo:6.1f}%, {100 * row.hi:6.1f}%]"
        elif math.isnan(row.estimate):
            est, ci = f"{'never':>9}", ""
        else:
            est = f"{row.estimate:9.3f}"
            ci = f"[{row.lo:8.3f}, {row.hi:8.3f}]"
        lines.append(f"{row.outcome:<{width}}  {est}  {ci:>19}  {row.n:>7}")
    note = constant_note(table)
    if note:
        lines += ["", *textwrap.wrap(note, width=100, break_on_hyphens=False)]
    return "\n".join(lines)
