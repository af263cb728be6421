"""One classroom session, in plain Python (no Solara, no browser): the room.

A :class:`Classroom` holds what a student has chosen (scenario, policy overlay, the values of the
controls of :mod:`classroom.controls`, the seed), the one run they are stepping through (a
:class:`sim.DiplomacyModel`) and the last ensemble they asked for (:class:`Futures`). Every
change of a setting goes through :meth:`sim.Scenario.with_overrides`, so it is validated exactly
like a scenario file: a bad value is kept out of the run and its message is stored under the
control's key for the page to show beside that control. An uploaded scenario is read with
:mod:`tomllib` like any scenario file.

What the room shows is shared with the rest of the project: the futures' outcome table is the
one of :func:`sim.results.table.outcome_table`, the network is
:func:`analysis.plots.relations_graph`. The page (:mod:`classroom.app`) is a thin view of this
object, so everything here is tested without a browser.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from classroom.controls import (
    CONTROLS,
    CONTROLS_BY_KEY,
    Control,
    RefusedText,
    read_value,
    refusal,
    seed_from_text,
    typed_value,
)
from sim.core import layout as L
from sim.core.outcomes import n_outcomes, outcome_layout, sanction_pairs, summarize
from sim.engines.branches import branch_scenario
from sim.engines.model import DiplomacyModel, StoryEvent
from sim.jobs.ensemble import run_ensemble
from sim.results.table import estimate_text, interval_text
from sim.scenario import (
    Scenario,
    ScenarioError,
    list_policies,
    list_scenarios,
    load_scenario,
    read_scenario_text,
)

DEFAULT_SCENARIO = "baseline"
DEFAULT_SEED = 7
FUTURES_RUNS = 1000
NO_POLICY = "(none)"
EDITED_NAME = "edited.toml"
EDITOR_EXAMPLE = """extends = "baseline"

[meta]
title = "My what-if: a united NATO"

[actors.NATO]
cohesion = 0.95
"""
"""What the scenario editor on the page starts with."""
BAND_QUANTILES = (5, 25, 50, 75, 95)
"""Percentiles of the fan chart (the ensemble's q05..q95): 90% and 50% bands, median."""


def sent_value(x: Any) -> float | None:
    """A figure as sent to the browser: 5 significant digits, None for NaN (JSON has none)."""
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.5g}")


# ---- the ensemble: "Run 1,000 futures" ---------------------------------------------------------

@dataclass(frozen=True)
class Futures:
    """An ensemble on the settings of the moment: summary, outcome table and monthly bands.

    Attributes:
        runs: number of runs (futures).
        seed: seed of every draw; run r is the same run r the Mesa engine would give.
        settings_hash: content hash of the scenario they were computed for.
        seconds: wall time of the computation.
        summary: one row per run (``sim.run_ensemble(...).summary``).
        table: the ensemble's outcome table (:func:`sim.results.table.outcome_table`, the one
            ``diplosim run`` prints and the report shows): outcome, column, kind
            ("probability" or "mean"), label, estimate, lo, hi (95% CI), n, unit, headline.
        bands: the ensemble's monthly bands (``EnsembleResult.bands``, long form: month, metric,
            q05..q95, mean, error, clipped; exact order statistics up to 2,000 runs).
    """

    runs: int
    seed: int
    settings_hash: str
    seconds: float
    summary: pd.DataFrame
    table: pd.DataFrame
    bands: pd.DataFrame

    @property
    def band_names(self) -> list[str]:
        """Monthly figures that have bands (columns of ``DiplomacyModel.monthly()``)."""
        return list(dict.fromkeys(self.bands["metric"]))

    def fan(self, figure: str) -> pd.DataFrame:
        """Percentile bands of one monthly figure: month, p5, p25, p50, p75, p95."""
        rows = self.bands[self.bands["metric"] == figure].sort_values("month")
        if rows.empty:
            raise KeyError(f"no bands for {figure!r}")
        out = {"month": rows["month"].to_numpy()}
        for q in BAND_QUANTILES:
            out[f"p{q}"] = rows[f"q{q:02d}"].to_numpy()
        return pd.DataFrame(out)

    def rows(self, headline: bool | None = None) -> list[dict[str, Any]]:
        """The outcome table as the page shows it: label, estimate, CI, runs, unit as text.

        ``headline``: True for the headline rows only (shown first), False for the others,
        None for all. The figures are :func:`sim.results.table.estimate_text` and
        :func:`~sim.results.table.interval_text`, as in the report.
        """
        t = self.table if headline is None else self.table[self.table["headline"] == headline]
        return [{"outcome": r.outcome, "label": r.label,
                 "estimate": estimate_text(r.kind, r.estimate),
                 "ci": interval_text(r.kind, r.lo, r.hi), "runs": f"{r.n:,}", "unit": r.unit}
                for r in t.itertuples(index=False)]


_FUTURES_SLOT = threading.Lock()
_futures_waiting = 0
_waiting_lock = threading.Lock()


def futures_waiting() -> int:
    """Ensembles of this server process asked for and not finished (running or queued)."""
    return _futures_waiting


def run_futures(scn: Scenario, seed: int, runs: int = FUTURES_RUNS) -> Futures:
    """Run ``runs`` futures of ``scn`` with the Numba engine: outcome table and fan bands.

    One ensemble at a time per server process: the kernel already uses every core (without
    the GIL, so other pages keep answering), and a class clicking at once queues instead of
    oversubscribing the machine. ``seconds`` counts the computation, not the wait.
    """
    global _futures_waiting
    with _waiting_lock:
        _futures_waiting += 1
    try:
        with _FUTURES_SLOT:
            start = time.perf_counter()
            res = run_ensemble(scn, runs=runs, seed=seed, engine="numba", progress=False,
                               bands=True)
    finally:
        with _waiting_lock:
            _futures_waiting -= 1
    return Futures(runs=runs, seed=int(seed), settings_hash=scn.content_hash(),
                   seconds=time.perf_counter() - start, summary=res.summary,
                   table=res.outcome_table(), bands=res.bands)


def warm_kernel() -> float:
    """Compile (or load from Numba's disk cache) the ensemble kernel; returns seconds taken.

    Called once when the app starts so that the first "Run 1,000 futures" answers at once.
    """
    start = time.perf_counter()
    run_futures(load_scenario(DEFAULT_SCENARIO), seed=0, runs=2)
    return time.perf_counter() - start


# ---- branches: what-ifs forked from the run ----------------------------------------------------

MAX_BRANCHES = 3
BRANCH_NAMES = "ABC"


@dataclass(frozen=True)
class Branch:
    """A what-if forked from the room's run: from month ``month + 1``, a change.

    Attributes:
        name: "A", "B" or "C".
        month: the month it forks at (the run's month when it was made).
        policy: a policy overlay switched on at the fork, or None.
        overrides: parameters moved at the fork, ``((dotted key, value), ...)``.
    """

    name: str
    month: int
    policy: str | None = None
    overrides: tuple[tuple[str, Any], ...] = ()

    def scenario(self, scn: Scenario) -> Scenario:
        """The branch of ``scn`` (:func:`sim.branch_scenario`)."""
        return branch_scenario(scn, self.month, policy=self.policy,
                               overrides=dict(self.overrides))

    @property
    def label(self) -> str:
        """``"A: from month 13, policy maximum_pressure, NATO cohesion = 1"``."""
        parts = [f"policy {self.policy}"] if self.policy else []
        for key, value in self.overrides:
            control = CONTROLS_BY_KEY.get(key)
            parts.append(f"{control.label if control else key} = {value:g}")
        return f"{self.name}: from month {self.month + 1}, {', '.join(parts) or 'no change'}"


@dataclass(frozen=True)
class Comparison:
    """The futures of the run as it is and of each branch, on one seed (common random numbers).

    ``futures[0]`` is the run as it is; ``futures[k]`` the branch ``branches[k - 1]``. Run r of
    every one of them is the same run r up to the fork month.
    """

    month: int
    branches: tuple[Branch, ...]
    futures: tuple[Futures, ...]

    @property
    def names(self) -> list[str]:
        """Column names: "as it is", then each branch's name."""
        return ["as it is", *(b.name for b in self.branches)]

    def rows(self) -> list[dict[str, Any]]:
        """The headline outcomes side by side: label, unit and one "estimate [CI]" per column."""
        tables = [f.table.set_index("outcome") for f in self.futures]
        out = []
        for r in self.futures[0].table[self.futures[0].table["headline"]].itertuples():
            cells = []
            for f, t in zip(self.futures, tables, strict=True):
                if r.outcome in t.index:
                    row = t.loc[r.outcome]
                    cells.append(f"{estimate_text(row['kind'], row['estimate'])} "
                                 f"{interval_text(row['kind'], row['lo'], row['hi'])}")
                elif r.column in f.summary.columns:  # left out of a table: cannot vary there
                    value = float(f.summary[r.column].mean())
                    cells.append(f"{estimate_text(r.kind, value)} (in every run)")
                else:
                    cells.append("cannot happen here")
            out.append({"outcome": r.outcome, "label": r.label, "unit": r.unit,
                        "cells": cells})
        return out

    def y_range(self, figure: str) -> tuple[float, float]:
        """One y range for the fans of ``figure`` side by side (the widest band)."""
        lo = min(float(f.fan(figure)["p5"].min()) for f in self.futures)
        hi = max(float(f.fan(figure)["p95"].max()) for f in self.futures)
        pad = 0.05 * (hi - lo) if hi > lo else 0.05
        return lo - pad, hi + pad


# ---- the session -------------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class Classroom:
    """One student's session: settings, the run they step through, and their last ensemble.

    Every public method is safe to call from the page's play thread and its event handlers at
    once (one lock). Methods that change a setting return True when it was applied and False when
    it was refused; the refusal's message is in :attr:`errors` under the control's key (or
    ``"seed"``, ``"scenario"``, ``"policy"``, ``"upload"``), until a valid value replaces it.

    Args:
        scenario: bundled scenario name to start with.
        policy: policy overlay to start with, or None.
        seed: seed of the run (and of the futures).
    """

    def __init__(self, scenario: str = DEFAULT_SCENARIO, policy: str | None = None,
                 seed: int = DEFAULT_SEED):
        self._lock = threading.RLock()
        self.errors: dict[str, str] = {}
        self.notice = ""
        self.source_label = scenario
        self.base = load_scenario(scenario)
        self.policy = policy
        self.overrides: dict[str, Any] = {}
        self.seed = int(seed)
        self.scenario = self._effective(self.base, policy, {})
        self.model = DiplomacyModel(self.scenario, seed=self.seed)
        self.futures: Futures | None = None
        self.branches: list[Branch] = []
        self.comparison: Comparison | None = None
        self.playing = False
        self._play_token = 0
        self._uploads: dict[str, Scenario] = {}
        self._rows: tuple[Any, tuple[str, ...], list[list[float | None]]] = (None, (), [])
        self._layout: tuple[Any, ...] = (None,)
        self._hash: tuple[Any, str] = (None, "")

    # ---- choices -------------------------------------------------------------------------
    @property
    def scenario_choices(self) -> list[str]:
        """Bundled scenario names, then any scenario uploaded in this session."""
        return [*list_scenarios(), *self._uploads]

    @property
    def policy_choices(self) -> list[str]:
        """:data:`NO_POLICY` and the bundled policy overlays."""
        return [NO_POLICY, *list_policies()]

    @property
    def controls(self) -> list[Control]:
        """The controls that apply to the current scenario (its actors and categories)."""
        values = self.control_values()
        return [c for c in CONTROLS if values[c.key] is not None]

    def control_values(self) -> dict[str, float | None]:
        """Current value of every control's key (None where the scenario lacks it)."""
        scn = self.scenario
        dump = scn.spec.model_dump(by_alias=True)
        return {c.key: read_value(scn, c.key, dump) for c in CONTROLS}

    def value(self, key: str) -> float | None:
        """Current value of a control's key in the settings the run uses."""
        return read_value(self.scenario, key)

    @property
    def teaching(self) -> dict[str, Any]:
        """Title, description, what to notice and things to try, for the current scenario."""
        spec = self.scenario.spec
        return {"title": spec.meta.title, "description": spec.teaching.description,
                "notice": list(spec.teaching.notice), "try": list(spec.teaching.try_)}

    # ---- settings ------------------------------------------------------------------------
    @staticmethod
    def _effective(base: Scenario, policy: str | None, overrides: dict[str, Any]) -> Scenario:
        scn = base.with_policy(policy) if policy else base
        return scn.with_overrides(overrides) if overrides else scn

    def _apply(self, base: Scenario, policy: str | None, overrides: dict[str, Any],
               seed: int) -> None:
        """Adopt validated settings and replay the run to the month it had reached."""
        scenario = self._effective(base, policy, overrides)
        month = self.model.month
        model = DiplomacyModel(scenario, seed=seed)
        model.run(min(month, scenario.horizon))
        self.base, self.policy, self.overrides, self.seed = base, policy, overrides, seed
        self.scenario, self.model = scenario, model
        if model.month >= scenario.horizon:
            self.playing = False

    def choose_scenario(self, name: str) -> bool:
        """Switch to a bundled (or uploaded) scenario; the controls take its values."""
        with self._lock:
            try:
                base = self._uploads[name] if name in self._uploads else \
                    load_scenario(name, allow_paths=False)
                self._apply(base, self.policy, {}, self.seed)
            except ScenarioError as exc:
                self.errors["scenario"] = refusal(exc)
                return False
            self.source_label = name
            self.errors.clear()
            policy = f" with policy {self.policy}" if self.policy else ""
            self.notice = f"Scenario {name}{policy}: the controls show its values."
            return True

    def choose_policy(self, name: str | None) -> bool:
        """Apply a policy overlay (None or :data:`NO_POLICY`: none) on the chosen scenario.

        The controls go back to the values of scenario plus policy.
        """
        policy = None if name in (None, "", NO_POLICY) else name
        with self._lock:
            try:
                if policy is not None and policy not in list_policies():
                    raise ScenarioError(policy[:60], "(name)", "no bundled policy of that name "
                                        f"(known: {', '.join(list_policies())})")
                self._apply(self.base, policy, {}, self.seed)
            except ScenarioError as exc:
                self.errors["policy"] = refusal(exc)
                return False
            self.errors.clear()
            self.notice = (f"Policy {policy} applied" if policy else "No policy overlay") + \
                ": the controls show the resulting values."
            return True

    def set_value(self, key: str, value: Any) -> bool:
        """Set a control's parameter. Refused values leave the run as it was."""
        with self._lock:
            overrides = {**self.overrides, key: value}
            try:
                self._apply(self.base, self.policy, overrides, self.seed)
            except ScenarioError as exc:
                self.errors[key] = refusal(exc, key)
                return False
            self.errors.pop(key, None)
            self.notice = ""
            return True

    def set_text(self, key: str, text: str) -> bool:
        """Set a control's parameter from typed text.

        The text is read as a TOML value (a number, :func:`classroom.controls.typed_value`),
        never evaluated.
        """
        try:
            value = typed_value(text)
        except RefusedText as exc:
            with self._lock:
                self.errors[key] = str(exc)
            return False
        return self.set_value(key, value)

    def set_seed(self, text: str | int) -> bool:
        """Set the seed (an integer from 0 to 2**64 - 1); the run is replayed with it."""
        with self._lock:
            try:
                seed = seed_from_text(text)
            except RefusedText as exc:
                self.errors["seed"] = str(exc)
                return False
            self._apply(self.base, self.policy, self.overrides, seed)
            self.errors.pop("seed", None)
            return True

    def upload(self, filename: str, data: bytes, slot: str = "upload") -> bool:
        """Use an uploaded scenario file (TOML), validated like any scenario file.

        It may ``extends = "baseline"``: a bundled scenario, by name only. A path in
        ``extends`` is refused and no file of the server is opened
        (:func:`sim.scenario.read_scenario_text` with ``allow_paths=False``). On success it
        joins the scenario choices under ``uploaded: NAME`` and becomes the current scenario;
        on a fault the message goes to ``errors[slot]``.
        """
        safe = _SAFE_NAME.sub("_", Path(filename or "scenario.toml").name) or "scenario.toml"
        if not safe.endswith(".toml"):
            safe += ".toml"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            with self._lock:
                self.errors[slot] = f"{safe}: (file): not UTF-8 text ({exc.reason})"
            return False
        with self._lock:
            try:
                base = read_scenario_text(text, safe, allow_paths=False)
                base.compile()
            except ScenarioError as exc:
                self.errors[slot] = f"{safe}: {exc.key}: {exc.fault}"
                return False
            label = f"uploaded: {safe}"
            self._uploads[label] = base
            self._apply(base, None, {}, self.seed)
            self.source_label = label
            self.errors.clear()
            self.notice = f"Using {safe}."
            return True

    def use_text(self, text: str) -> bool:
        """Use scenario text typed or pasted into the page (as the file ``edited.toml``).

        Validated like any scenario file; a fault goes to ``errors["edited"]``.
        """
        return self.upload(EDITED_NAME, (text or "").encode("utf-8"), slot="edited")

    # ---- the run -------------------------------------------------------------------------
    @property
    def month(self) -> int:
        """Months the run has stepped."""
        return self.model.month

    @property
    def finished(self) -> bool:
        """Whether the run has reached the scenario's horizon."""
        return self.model.month >= self.scenario.horizon

    def step(self) -> bool:
        """Step the run one month; False (and nothing happens) at the horizon."""
        with self._lock:
            if self.finished:
                return False
            self.model.step()
            return True

    def reset(self) -> None:
        """Back to month 0 with the current settings (and stop playing)."""
        with self._lock:
            self.playing = False
            self._play_token += 1
            self.model = DiplomacyModel(self.scenario, seed=self.seed)

    def play(self) -> int:
        """Start playing; returns the token the play loop passes to :meth:`play_tick`."""
        with self._lock:
            self._play_token += 1
            self.playing = not self.finished
            return self._play_token

    def pause(self) -> None:
        """Stop playing."""
        with self._lock:
            self.playing = False
            self._play_token += 1

    def play_tick(self, token: int) -> bool:
        """One month of play: steps if still playing under ``token``; True to go on."""
        with self._lock:
            if not self.playing or token != self._play_token:
                return False
            self.step()
            if self.finished:
                self.playing = False
            return self.playing

    def calendar(self, month: int | None = None) -> str:
        """Calendar month (YYYY-MM) of run month ``month`` (default: the current one)."""
        return calendar_month(self.scenario, self.month if month is None else month)

    def story_events_by_month(self, newest_first: bool = True
                              ) -> list[tuple[int, list[StoryEvent]]]:
        """The story so far grouped by month: ``[(month, [events])]``.

        Each :class:`sim.StoryEvent` has its sentence (``text``) and, for a decision, its
        reasons (``why``: ``"need 1.60, affinity 0.75, threat cost -0.06"``; '' for none),
        which the page shows under the sentence.
        """
        with self._lock:
            groups: dict[int, list[StoryEvent]] = {}
            for ev in self.model.story:
                groups.setdefault(ev.month, []).append(ev)
        return sorted(groups.items(), key=lambda item: item[0], reverse=newest_first)

    def story_by_month(self, newest_first: bool = True) -> list[tuple[int, list[str]]]:
        """The story's sentences so far grouped by month: ``[(month, [sentences])]``."""
        return [(month, [ev.text for ev in events])
                for month, events in self.story_events_by_month(newest_first)]

    @property
    def scenario_hash(self) -> str:
        """``self.scenario.content_hash()``, worked out once per scenario (the page asks often)."""
        scn = self.scenario
        if self._hash[0] is not scn:
            self._hash = (scn, scn.content_hash())
        return self._hash[1]

    def chart_rows(self, columns: list[str]) -> list[list[float | None]]:
        """The run's monthly figures of ``columns`` as rows for the browser's charts.

        Read from the model's DataCollector and kept: a step formats one new row only.
        Values have 5 significant digits (:func:`sent_value`).
        """
        with self._lock:
            model, names, rows = self._rows
            if model is not self.model or names != tuple(columns):
                model, names, rows = self.model, tuple(columns), []
            record = model.datacollector.model_vars
            for k in range(len(rows), len(record["month"])):
                rows.append([sent_value(record[c][k]) for c in names])
            self._rows = (model, names, rows)
            return list(rows)

    def monthly(self) -> pd.DataFrame:
        """The run's monthly record so far (month 0 is the start)."""
        with self._lock:
            return self.model.monthly().copy()

    def network(self) -> Any:
        """The relations at the current month (:func:`analysis.plots.relations_graph`).

        The one network view of the project: the app draws it with
        :func:`analysis.plots.network_plot`, as the report does.
        """
        from analysis.plots import relations_graph

        with self._lock:
            return relations_graph(self.model)

    def so_far(self) -> dict[str, str]:
        """A few headline facts of the run so far, in words."""
        with self._lock:
            out = self._outcomes()
            cs = self.model.compiled
        facts = {"Transfers exposed": f"{out.get('transfers_detected', 0.0):.0f}"}
        for t, kind in zip(cs.track_ids, cs.track_kinds, strict=True):
            m = out.get(f"{t}_month", math.nan)
            what = "Relief deal" if kind == "relief" else "Ceasefire"
            label = what if what not in facts else f"{what} ({t})"
            facts[label] = "not yet" if math.isnan(m) else f"month {m:.0f}"
        return facts

    def _outcomes(self) -> dict[str, float]:
        """``self.model.outcomes()``, with the outcome layout worked out once per model.

        The layout costs some milliseconds to declare, paid on every month of play otherwise.
        """
        model = self.model
        if self._layout[0] is not model.compiled:
            cs = model.compiled
            names, idx = outcome_layout(cs)
            pairs = np.array(cs.key_pairs, dtype=np.int64).reshape(-1, 2)
            self._layout = (cs, n_outcomes(cs), names, idx, pairs)
        _, n, names, idx, pairs = self._layout
        raw = np.zeros(n)
        summarize(raw, model.state.params, model.state.state, pairs)
        return {name: float(raw[k]) for name, k in zip(names, idx, strict=True)}

    # ---- futures -------------------------------------------------------------------------
    def run_futures(self, runs: int = FUTURES_RUNS) -> Futures:
        """Run ``runs`` futures of the current settings and seed (Numba engine)."""
        with self._lock:
            scn, seed = self.scenario, self.seed
        futures = run_futures(scn, seed, runs)
        with self._lock:
            self.futures = futures
        return futures

    @property
    def futures_current(self) -> bool:
        """Whether the last futures were computed for the current settings and seed."""
        f = self.futures
        return f is not None and f.settings_hash == self.scenario_hash and \
            f.seed == self.seed

    # ---- branches ------------------------------------------------------------------------
    def add_branch(self, policy: str | None = None, key: str | None = None,
                   value: Any = None) -> bool:
        """Fork the run at its month into a what-if: a policy switched and/or a control moved.

        ``value`` may be typed text (read like a control's box). Refused branches leave a
        message in ``errors["branch"]``.
        """
        policy = None if policy in (None, "", NO_POLICY) else policy
        with self._lock:
            try:
                if len(self.branches) >= MAX_BRANCHES:
                    raise RefusedText(f"at most {MAX_BRANCHES} branches: remove one first")
                if self.finished:
                    raise RefusedText("the run is at its horizon: Reset or step back first")
                if policy is not None and policy not in list_policies():
                    raise RefusedText(f"no bundled policy {policy[:40]!r}")
                overrides: tuple[tuple[str, Any], ...] = ()
                if key:
                    if key not in CONTROLS_BY_KEY:
                        raise RefusedText(f"no control {key[:60]!r}")
                    moved = typed_value(value) if isinstance(value, str) else value
                    overrides = ((key, moved),)
                if policy is None and not overrides:
                    raise RefusedText("choose a policy or a control to change")
                used = {b.name for b in self.branches}
                name = next(n for n in BRANCH_NAMES if n not in used)
                branch = Branch(name, self.month, policy, overrides)
                branch.scenario(self.scenario)  # validated now, not at the comparison
            except RefusedText as exc:
                self.errors["branch"] = str(exc)
                return False
            except ScenarioError as exc:
                self.errors["branch"] = refusal(exc)
                return False
            self.branches.append(branch)
            self.branches.sort(key=lambda b: b.name)
            self.errors.pop("branch", None)
            return True

    def remove_branch(self, name: str) -> None:
        """Remove the branch of that name."""
        with self._lock:
            self.branches = [b for b in self.branches if b.name != name]

    def compare_branches(self, runs: int = FUTURES_RUNS) -> Comparison:
        """Run ``runs`` futures of the run as it is and of every branch, on the room's seed.

        Run r of each is the same run up to its fork month, then meets the same draws.
        """
        with self._lock:
            scn, seed, branches = self.scenario, self.seed, tuple(self.branches)
        if not branches:
            raise RefusedText("add a branch first")
        futures = [run_futures(scn, seed, runs)]
        futures += [run_futures(b.scenario(scn), seed, runs) for b in branches]
        comparison = Comparison(min(b.month for b in branches), branches, tuple(futures))
        with self._lock:
            self.comparison = comparison
        return comparison

    # ---- share and print ---------------------------------------------------------------
    def whatif(self) -> dict[str, Any]:
        """This what-if as plain data: scenario, policy, controls, seed, month and branches.

        A bundled scenario is named; an uploaded or typed one is carried whole (its TOML), so
        the file reopens the same run anywhere (:meth:`open_whatif`).
        """
        with self._lock:
            bundled = self.source_label in list_scenarios()
            return {
                "format": WHATIF_FORMAT,
                "scenario": self.source_label if bundled else None,
                "scenario_toml": None if bundled else self.base.to_toml(),
                "scenario_name": self.source_label.removeprefix("uploaded: "),
                "policy": self.policy,
                "overrides": dict(self.overrides),
                "seed": str(self.seed),
                "month": self.month,
                "branches": [{"name": b.name, "month": b.month, "policy": b.policy,
                              "overrides": [[k, v] for k, v in b.overrides]}
                             for b in self.branches],
            }

    def whatif_json(self) -> str:
        """:meth:`whatif` as a JSON file's text."""
        return json.dumps(self.whatif(), indent=1) + "\n"

    def whatif_link(self) -> str:
        """:meth:`whatif` as a link's query (``?whatif=...``: zlib, then URL-safe base64)."""
        data = json.dumps(self.whatif(), separators=(",", ":")).encode()
        return "?whatif=" + base64.urlsafe_b64encode(zlib.compress(data, 9)).decode().rstrip("=")

    def open_whatif(self, text: str | bytes, slot: str = "whatif") -> bool:
        """Reopen a what-if (the JSON of :meth:`whatif_json`, or a link's ``whatif`` value).

        Everything in it is checked like the page's own inputs (bundled names only, a carried
        scenario read with ``allow_paths=False``, the controls validated, branches at their
        months); the run is replayed to the saved month. A fault leaves the room as it was
        and its message in ``errors[slot]``.
        """
        try:
            data = _whatif_data(text)
            base, source = self._whatif_base(data)
            policy = data.get("policy")
            if policy is not None and policy not in list_policies():
                raise RefusedText(f"policy: no bundled policy {str(policy)[:40]!r}")
            overrides = data.get("overrides") or {}
            if not isinstance(overrides, dict) or not all(isinstance(k, str) for k in overrides):
                raise RefusedText("overrides: must be a table of dotted keys and values")
            seed = seed_from_text(str(data.get("seed", DEFAULT_SEED)))
            scenario = self._effective(base, policy, overrides)
            month = data.get("month", 0)
            if not isinstance(month, int) or not 0 <= month <= scenario.horizon:
                raise RefusedText(f"month: must be a whole number from 0 to {scenario.horizon}")
            branches = [_branch_from(b, scenario) for b in data.get("branches") or []]
            if len(branches) > MAX_BRANCHES:
                raise RefusedText(f"branches: at most {MAX_BRANCHES}")
        except (RefusedText, ScenarioError) as exc:
            msg = refusal(exc) if isinstance(exc, ScenarioError) else str(exc)
            with self._lock:
                self.errors[slot] = f"what-if not opened: {msg}"
            return False
        with self._lock:
            self.playing = False
            self._play_token += 1
            self.base, self.policy, self.overrides, self.seed = base, policy, overrides, seed
            self.scenario = scenario
            self.model = DiplomacyModel(scenario, seed=seed)
            self.model.run(month)
            if source not in list_scenarios():
                self._uploads[source] = base
            self.source_label = source
            self.branches = branches
            self.comparison = None
            self.futures = None
            self.errors.clear()
            self.notice = f"What-if reopened: {source}, seed {seed}, month {month}" + \
                (f", {len(branches)} branch{'es' * (len(branches) != 1)}" if branches else "")
        return True

    @staticmethod
    def _whatif_base(data: dict[str, Any]) -> tuple[Scenario, str]:
        if data.get("scenario_toml") is not None:
            text = data["scenario_toml"]
            if not isinstance(text, str):
                raise RefusedText("scenario_toml: must be a scenario file's text")
            name = _SAFE_NAME.sub("_", str(data.get("scenario_name") or "whatif.toml"))[:60]
            name = name if name.endswith(".toml") else name + ".toml"
            return read_scenario_text(text, name, allow_paths=False), f"uploaded: {name}"
        name = data.get("scenario")
        if not isinstance(name, str):
            raise RefusedText("scenario: a bundled scenario's name is missing")
        return load_scenario(name, allow_paths=False), name

    def handout_html(self) -> str:
        """A printable handout of the run: settings, charts, story, futures, branches, questions.

        One self-contained HTML file (the charts are PNG images inside it, drawn with
        matplotlib as in the reports) that prints well on A4 or Letter.
        """
        from classroom.handout import handout

        return handout(self)

    # ---- downloads -----------------------------------------------------------------------
    def settings_toml(self) -> str:
        """The current settings as a self-contained scenario file.

        Policy and controls are folded in; ``diplosim run FILE`` and
        :func:`sim.load_scenario` read it back.
        """
        with self._lock:
            scn, seed, policy = self.scenario, self.seed, self.policy
        head = (f"# Saved from the diplosim classroom app: scenario {self.source_label}, "
                f"policy {policy or 'none'}, seed {seed}.\n"
                f"# Re-run: diplosim run THIS_FILE.toml --seed {seed}\n\n")
        return head + scn.to_toml()

    def settings_filename(self) -> str:
        """File name for :meth:`settings_toml`."""
        stem = _SAFE_NAME.sub("_", self.source_label.replace("uploaded: ", "")).removesuffix(
            ".toml")
        return f"{stem}_{self.policy or 'nopolicy'}_settings.toml"

    def monthly_csv(self) -> str:
        """The run's monthly record so far as CSV."""
        return _csv(self.monthly())

    def story_csv(self) -> str:
        """The run's story so far as CSV (month, kind, text, reasons)."""
        with self._lock:
            return _csv(self.model.story_frame())

    def futures_csv(self) -> str:
        """The last futures, one row per run, as CSV ('' if none yet)."""
        f = self.futures
        return "" if f is None else _csv(f.summary)

    def futures_table_csv(self) -> str:
        """The last futures' outcome table with confidence intervals as CSV ('' if none)."""
        f = self.futures
        return "" if f is None else _csv(f.table)


WHATIF_FORMAT = "diplosim-whatif/1"
MAX_WHATIF_BYTES = 1_000_000


def _whatif_data(text: str | bytes) -> dict[str, Any]:
    """The data of a what-if file (JSON) or link value (zlib + URL-safe base64)."""
    if isinstance(text, bytes):
        if len(text) > MAX_WHATIF_BYTES:
            raise RefusedText("larger than 1 MB: not a what-if file")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise RefusedText("not UTF-8 text: not a what-if file") from None
    text = text.strip()
    if text.startswith("?whatif="):
        text = text[len("?whatif="):]
    if not text.startswith("{"):
        inflate = zlib.decompressobj()
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            out = inflate.decompress(raw, MAX_WHATIF_BYTES)
            whole = inflate.eof or inflate.unconsumed_tail  # a bomb stops at 1 MB, not cut
            text = out.decode("utf-8")
        except (ValueError, zlib.error, UnicodeDecodeError):
            whole = False
        if not whole:
            raise RefusedText("not a what-if link (it was cut or changed?)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefusedText(f"not a what-if file (JSON: {exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != WHATIF_FORMAT:
        raise RefusedText(f"not a what-if file (its format should be {WHATIF_FORMAT})")
    return data


def _branch_from(data: Any, scenario: Scenario) -> Branch:
    """A saved branch, checked: its name, month, policy and moved controls."""
    if not isinstance(data, dict):
        raise RefusedText("branches: each branch is a table")
    name, month = data.get("name"), data.get("month")
    if name not in tuple(BRANCH_NAMES) or not isinstance(month, int):
        raise RefusedText("branches: each has a name (A, B or C) and a month")
    policy = data.get("policy")
    if policy is not None and policy not in list_policies():
        raise RefusedText(f"branch {name}: no bundled policy {str(policy)[:40]!r}")
    pairs = data.get("overrides") or []
    if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and p[0] in CONTROLS_BY_KEY for p in pairs):
        raise RefusedText(f"branch {name}: overrides are [control key, value] pairs")
    branch = Branch(name, month, policy, tuple((k, v) for k, v in pairs))
    branch.scenario(scenario)  # validated: a ScenarioError names the fault
    return branch


def calendar_month(scn: Scenario, month: int) -> str:
    """Calendar month (YYYY-MM) of month ``month`` of ``scn`` (month 1 is its ``meta.start``).

    Month 0 (the start) reads as month 1; '' if the scenario's start is not ``YYYY-MM``.
    """
    try:
        year, mon = (int(x) for x in scn.spec.meta.start.split("-")[:2])
    except ValueError:
        return ""
    k = year * 12 + (mon - 1) + max(month, 1) - 1
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def monthly_labels(scn: Scenario) -> dict[str, str]:
    """Plain-words labels of the monthly figures (``DiplomacyModel.monthly()`` columns)."""
    cs = scn.compile()
    name = dict(zip(cs.actor_ids, cs.actor_names, strict=True))
    short = {a: (n if len(n) <= 14 else a) for a, n in name.items()}
    out: dict[str, str] = {"war_intensity": "War intensity", "war_balance": "War balance"}
    for a in cs.actor_ids:
        out[f"gdp_index_{a}"] = f"GDP index, {name[a]}"
        out[f"pressure_{a}"] = f"Sanction pressure on {name[a]}"
        out[f"credibility_{a}"] = f"Credibility of {name[a]}"
        out[f"relief_priority_{a}"] = f"Relief priority of {name[a]}"
    for r, rid in enumerate(cs.route_ids):
        sup = cs.actor_ids[int(cs.RP[r, L.R_SUPPLIER])]
        rec = cs.actor_ids[int(cs.RP[r, L.R_RECIPIENT])]
        what = cs.category_units[int(cs.RP[r, L.R_CATEGORY])]
        out[f"shipped_{rid}"] = f"{short[sup]} → {short[rec]}: {what}"
        out[f"detected_{rid}"] = f"Exposed: {short[sup]} → {short[rec]}: {what}"
    for i, j in sanction_pairs(cs):
        a, b = cs.actor_ids[i], cs.actor_ids[j]
        out[f"sanctions_{a}_{b}"] = f"Sanctions {short[a]} on {short[b]}"
    for i, j in cs.key_pairs:
        a, b = cs.actor_ids[i], cs.actor_ids[j]
        out[f"affinity_{a}_{b}"] = f"{short[a]} – {short[b]}"
    for t in cs.track_ids:
        out[f"trust_{t}"] = f"Trust on the {t} track"
        out[f"active_{t}"] = f"{t.capitalize()} in force"
        out[f"implementing_{t}"] = f"{t.capitalize()} agreed, being implemented"
    return out
