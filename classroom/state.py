"""The state of one classroom session, in plain Python (no Solara, no browser).

A :class:`Classroom` holds what a student has chosen (scenario, policy overlay, the values of the
controls, the seed), the one run they are stepping through (a :class:`sim.DiplomacyModel`) and
the last ensemble they asked for (:class:`Futures`). Every change of a setting goes through
:meth:`sim.Scenario.with_overrides`, so it is validated exactly like a scenario file: a bad value
is kept out of the run and its message is stored under the control's key for the page to show
beside that control. Text typed into a control is read as a TOML value (numbers, booleans), never
evaluated; an uploaded scenario is read with :mod:`tomllib` like any scenario file.

The page (:mod:`classroom.app`) is a thin view of this object, so everything here is tested
without a browser.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sim.core import layout as L
from sim.jobs.ensemble import run_ensemble
from sim.engines.model import DiplomacyModel
from sim.core.outcomes import sanction_pairs
from sim.scenario import (
    Scenario,
    ScenarioError,
    list_policies,
    list_scenarios,
    load_scenario,
    parse_override_value,
)
from sim.scenario.schema import Actor, Category
from sim.results.stats import mean_interval, wilson_interval

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


# ---- the controls ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Control:
    """A parameter a class plays with: a slider (or a switch) bound to a dotted scenario key.

    ``lo``/``hi`` are the slider's range. For parameters with closed bounds in the schema they
    are those bounds, so every slider position is a value the schema accepts (cross-parameter
    rules can still refuse one, e.g. a cap of 0 with a positive escalation step).
    """

    key: str
    label: str
    unit: str
    lo: float
    hi: float
    step: float
    kind: Literal["slider", "switch"] = "slider"
    help: str = ""

    @property
    def range_text(self) -> str:
        """The range as shown beside the control, e.g. ``0 to 1``."""
        if self.kind == "switch":
            return "off (0) or on (1)"
        return f"{_num(self.lo)} to {_num(self.hi)}"


def _num(x: float) -> str:
    return f"{x:g}"


def _schema_bounds(model: type, name: str) -> tuple[float, float]:
    field = model.model_fields[name]
    lo = hi = None
    for m in field.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    if lo is None or hi is None:
        raise ValueError(f"{model.__name__}.{name} has no closed bounds in the schema")
    return float(lo), float(hi)


def _schema_control(key: str, label: str, unit: str, model: type, name: str, step: float,
                    help: str, kind: Literal["slider", "switch"] = "slider") -> Control:
    lo, hi = _schema_bounds(model, name)
    return Control(key, label, unit, lo, hi, step, kind, help)


CONTROLS: tuple[Control, ...] = (
    _schema_control("categories.missiles.detection", "Missile detection",
                    "chance per month that a shipment is exposed", Category, "detection", 0.01,
                    "How likely a month's missile shipment is detected and made public."),
    _schema_control("categories.drones.detection", "Drone detection",
                    "chance per month that a shipment is exposed", Category, "detection", 0.01,
                    "How likely a month's drone shipment is detected and made public."),
    _schema_control("actors.USA.escalation_step", "US escalation step",
                    "sanction intensity added per escalation", Actor, "escalation_step", 0.01,
                    "How far the US raises its sanctions each time exposed transfers pass its "
                    "threshold."),
    _schema_control("actors.USA.escalation_cap", "US escalation cap",
                    "highest sanction intensity", Actor, "escalation_cap", 0.01,
                    "The most the US will ever impose (must stay above 0 while it escalates)."),
    _schema_control("actors.NATO.escalation_step", "NATO escalation step",
                    "sanction intensity added per escalation", Actor, "escalation_step", 0.01,
                    "How far NATO raises its sanctions when its members agree to act."),
    _schema_control("actors.NATO.escalation_cap", "NATO escalation cap",
                    "highest sanction intensity", Actor, "escalation_cap", 0.01,
                    "The most NATO will ever impose (must stay above 0 while it escalates)."),
    _schema_control("actors.NATO.cohesion", "NATO cohesion",
                    "chance that the members act together", Actor, "cohesion", 0.01,
                    "Low cohesion: escalations fail and NATO's threats lose credibility."),
    _schema_control("actors.BRICS.busting", "BRICS busting (leakage)",
                    "share of willingness to trade around sanctions", Actor, "busting", 0.01,
                    "How readily BRICS partners trade around Western sanctions, which leaks "
                    "pressure away."),
    _schema_control("actors.IRN.relief_priority", "Iran's priority for relief",
                    "weight of sanctions relief in its choices", Actor, "relief_priority", 0.01,
                    "At the start; a scheduled event (a new government) and economic pain may "
                    "raise it later."),
    Control("actors.RUS.demand.drones", "Russia's demand for drones",
            "drones per month at full war intensity", 0.0, 1000.0, 10.0, "slider",
            "What Russia's war needs from suppliers; typed values above 1000 are accepted."),
    Control("actors.RUS.demand.missiles", "Russia's demand for missiles",
            "missiles per month at full war intensity", 0.0, 200.0, 1.0, "slider",
            "What Russia's war needs from suppliers; typed values above 200 are accepted."),
    _schema_control("actors.USA.warning", "US has warned", "flag", Actor, "warning", 1.0,
                    "Whether the US has publicly warned of a severe response at the start.",
                    kind="switch"),
)
CONTROLS_BY_KEY: dict[str, Control] = {c.key: c for c in CONTROLS}


def read_value(scn: Scenario, key: str, dump: dict[str, Any] | None = None) -> float | None:
    """The value of dotted ``key`` in ``scn`` (policy and overrides applied).

    None when the scenario has no such parameter (e.g. an uploaded scenario without NATO).
    ``dump`` may pass ``scn.spec.model_dump(by_alias=True)`` when reading many keys.
    """
    node: Any = scn.spec.model_dump(by_alias=True) if dump is None else dump
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (isinstance(node, dict) and depth == len(parts) - 1 and len(parts) == 4
              and parts[0] == "actors" and parts[2] in ("capacity", "demand")
              and part in scn.spec.categories):
            return 0.0  # a category the actor neither makes nor needs
        else:
            return None
    if isinstance(node, bool):
        return float(node)
    return float(node) if isinstance(node, (int, float)) else None


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
        table: outcome, label, kind ("probability" or "mean"), estimate, lo, hi (95% CI), unit.
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


def outcome_table(scn: Scenario, summary: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The headline outcomes of an ensemble, in words, each with a confidence interval.

    Yes/no outcomes get the share of runs where they happened with a Wilson score interval
    (:func:`sim.results.stats.wilson_interval`); quantities get their mean with a Student t interval
    (:func:`sim.results.stats.mean_interval`).
    """
    cs = scn.compile()
    n = len(summary)
    names = {a: spec.name for a, spec in scn.spec.actors.items()}
    rows: list[dict[str, Any]] = []

    def prob(col: str, label: str, happened: Callable[[pd.Series], pd.Series]) -> None:
        if col not in summary:
            return
        k = int(happened(summary[col]).sum())
        lo, hi = wilson_interval(k, n, confidence)
        rows.append({"outcome": col, "label": label, "kind": "probability",
                     "estimate": k / n, "lo": lo, "hi": hi, "unit": "share of runs"})

    def mean(col: str, label: str, unit: str) -> None:
        if col not in summary:
            return
        est, lo, hi = mean_interval(summary[col].to_numpy(), confidence)
        rows.append({"outcome": col, "label": label, "kind": "mean", "estimate": est,
                     "lo": lo, "hi": hi, "unit": unit})

    def yes(s: pd.Series) -> pd.Series:
        return s >= 0.5

    kinds = cs.track_kinds
    for t, kind in zip(cs.track_ids, kinds, strict=True):
        suffix = f" ({t})" if kinds.count(kind) > 1 else ""
        if kind == "relief":
            prob(f"{t}_reached", f"Relief deal reached{suffix}", yes)
            prob(f"{t}_broken", f"Relief deal broken by an exposed transfer{suffix}", yes)
        else:
            prob(f"{t}_reached", f"Ceasefire agreed{suffix}", yes)
    carried = {int(r[L.R_CATEGORY]) for r in cs.RP}
    for c, cid in enumerate(cs.category_ids):
        if c not in carried or cs.CP[c, L.C_ESC_W] <= 0:
            continue  # open aid is not a transfer anyone sanctions
        unit = cs.category_units[c]
        prob(f"first_month_{cid}", f"{unit[:1].upper()}{unit[1:]} shipped at least once",
             lambda s: s.notna())
        prob(f"detected_{cid}", f"{unit[:1].upper()}{unit[1:]} transfer exposed",
             lambda s: s > 0)
    prob("escalations", "Sanctions escalated at least once", lambda s: s > 0)
    prob("failed_follow_through", "A warning not followed through", lambda s: s > 0)
    suppliers = sorted({int(r[L.R_SUPPLIER]) for r in cs.RP
                        if cs.CP[int(r[L.R_CATEGORY]), L.C_ESC_W] > 0})
    for i in suppliers:
        a = cs.actor_ids[i]
        mean(f"peak_pressure_{a}", f"Peak sanction pressure on {names[a]}", "pressure, 0 to 1")
    focus = [cs.actor_ids[i] for i in suppliers]
    for role in (L.W_ATTACKER, L.W_DEFENDER):
        a = cs.actor_ids[int(cs.W[role])]
        if a not in focus:
            focus.append(a)
    for a in focus:
        mean(f"gdp_index_{a}", f"Final GDP index of {names[a]}", "1 = GDP at the start")
    for t, kind in zip(cs.track_ids, kinds, strict=True):
        if kind == "relief":
            mean(f"{t}_month", f"Month of the relief deal, in runs with one ({t})", "month")
    return pd.DataFrame(rows, columns=["outcome", "label", "kind", "estimate", "lo", "hi", "unit"])


def run_futures(scn: Scenario, seed: int, runs: int = FUTURES_RUNS) -> Futures:
    """Run ``runs`` futures of ``scn`` with the Numba engine: outcome table and fan bands."""
    start = time.perf_counter()
    res = run_ensemble(scn, runs=runs, seed=seed, engine="numba", progress=False, bands=True)
    table = outcome_table(scn, res.summary)
    return Futures(runs=runs, seed=int(seed), settings_hash=scn.content_hash(),
                   seconds=time.perf_counter() - start, summary=res.summary, table=table,
                   bands=res.bands)


def warm_kernel() -> float:
    """Compile (or load from Numba's disk cache) the ensemble kernel; returns seconds taken.

    Called once when the app starts so that the first "Run 1,000 futures" answers at once.
    """
    start = time.perf_counter()
    run_futures(load_scenario(DEFAULT_SCENARIO), seed=0, runs=2)
    return time.perf_counter() - start


def format_share(x: float) -> str:
    """A probability as a percentage with one decimal, e.g. ``72.8%``."""
    return f"{100 * x:.1f}%"


# ---- the network of relations at the current month --------------------------------------------

@dataclass(frozen=True)
class NetworkNode:
    """An actor as a node: id, display name, GDP index, effective sanction pressure."""

    actor: str
    name: str
    gdp_index: float
    pressure: float


@dataclass(frozen=True)
class NetworkView:
    """Relations at the current month: nodes, and affinity, arms-flow and sanction edges."""

    month: int
    nodes: list[NetworkNode]
    affinity: list[tuple[str, str, float]]
    """Undirected (a, b, affinity in [-1, 1]) for pairs with |affinity| >= the threshold."""
    flows: list[tuple[str, str, str, float, bool]]
    """(supplier, recipient, what, units shipped this month, detected) per active route."""
    sanctions: list[tuple[str, str, float]]
    """(sender, target, intensity in (0, 1]) for sanctions in force."""


def network_view(model: DiplomacyModel, affinity_threshold: float = 0.25,
                 sanction_threshold: float = 0.01) -> NetworkView:
    """The network of relations of ``model`` at its current month."""
    cs = model.compiled
    s = model.state
    ids = cs.actor_ids
    nodes = [NetworkNode(a, cs.actor_names[i], float(s.SA[i, L.S_GDP]),
                         float(s.SA[i, L.S_PRESSURE])) for i, a in enumerate(ids)]
    aff = [(ids[i], ids[j], float(s.AFF[i, j])) for i in range(len(ids))
           for j in range(i + 1, len(ids)) if abs(s.AFF[i, j]) >= affinity_threshold]
    flows = []
    for r in range(len(cs.route_ids)):
        units = float(s.RS[r, L.RS_SHIPPED])
        if units > 0:
            c = int(s.RP[r, L.R_CATEGORY])
            flows.append((ids[int(s.RP[r, L.R_SUPPLIER])], ids[int(s.RP[r, L.R_RECIPIENT])],
                          cs.category_units[c], units, bool(s.RS[r, L.RS_DETECTED] >= 0.5)))
    sanc = [(ids[i], ids[j], float(s.SANC[i, j])) for i in range(len(ids))
            for j in range(len(ids)) if i != j and s.SANC[i, j] >= sanction_threshold]
    return NetworkView(model.month, nodes, aff, flows, sanc)


# ---- the session -------------------------------------------------------------------------------

_SEED_TEXT = re.compile(r"[0-9]{1,20}")
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
        self.playing = False
        self._play_token = 0
        self._uploads: dict[str, Scenario] = {}

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
                base = self._uploads[name] if name in self._uploads else load_scenario(name)
                self._apply(base, self.policy, {}, self.seed)
            except ScenarioError as exc:
                self.errors["scenario"] = _message(exc)
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
                self._apply(self.base, policy, {}, self.seed)
            except ScenarioError as exc:
                self.errors["policy"] = _message(exc)
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
                self.errors[key] = _message(exc, key)
                return False
            self.errors.pop(key, None)
            self.notice = ""
            return True

    def set_text(self, key: str, text: str) -> bool:
        """Set a control's parameter from typed text.

        The text is read as a TOML value (a number), never evaluated.
        """
        text = (text or "").strip()
        if not text:
            with self._lock:
                self.errors[key] = "enter a number"
            return False
        value = parse_override_value(text)
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        return self.set_value(key, value)

    def set_seed(self, text: str | int) -> bool:
        """Set the seed (an integer from 0 to 2**64 - 1); the run is replayed with it."""
        text = str(text).strip()
        with self._lock:
            if not _SEED_TEXT.fullmatch(text) or int(text) >= 2**64:
                self.errors["seed"] = (f"the seed must be a whole number from 0 to 2**64 - 1 "
                                       f"(got {text[:30]!r})")
                return False
            self._apply(self.base, self.policy, self.overrides, int(text))
            self.errors.pop("seed", None)
            return True

    def upload(self, filename: str, data: bytes, slot: str = "upload") -> bool:
        """Use an uploaded scenario file (TOML), validated like any scenario file.

        It may ``extends = "baseline"`` (a bundled name). On success it joins the scenario
        choices under ``uploaded: NAME`` and becomes the current scenario; on a fault the
        message goes to ``errors[slot]``.
        """
        safe = _SAFE_NAME.sub("_", Path(filename or "scenario.toml").name) or "scenario.toml"
        if not safe.endswith(".toml"):
            safe += ".toml"
        with self._lock:
            with tempfile.TemporaryDirectory(prefix="diplosim-upload-") as tmp:
                path = Path(tmp) / safe
                path.write_bytes(data)
                try:
                    base = load_scenario(path)
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
        month = self.month if month is None else month
        start = self.scenario.spec.meta.start
        try:
            year, mon = (int(x) for x in start.split("-")[:2])
        except ValueError:
            return ""
        k = year * 12 + (mon - 1) + max(month, 1) - 1
        return f"{k // 12:04d}-{k % 12 + 1:02d}"

    def story_by_month(self, newest_first: bool = True) -> list[tuple[int, list[str]]]:
        """The story so far grouped by month: ``[(month, [sentences])]``."""
        with self._lock:
            groups: dict[int, list[str]] = {}
            for ev in self.model.story:
                groups.setdefault(ev.month, []).append(ev.text)
        items = sorted(groups.items(), reverse=newest_first)
        return items

    def monthly(self) -> pd.DataFrame:
        """The run's monthly record so far (month 0 is the start)."""
        with self._lock:
            return self.model.monthly().copy()

    def network(self) -> NetworkView:
        """The network of relations at the current month."""
        with self._lock:
            return network_view(self.model)

    def so_far(self) -> dict[str, str]:
        """A few headline facts of the run so far, in words."""
        with self._lock:
            out = self.model.outcomes()
            cs = self.model.compiled
        facts = {"Transfers exposed": f"{out.get('transfers_detected', 0.0):.0f}"}
        for t, kind in zip(cs.track_ids, cs.track_kinds, strict=True):
            m = out.get(f"{t}_month", math.nan)
            what = "Relief deal" if kind == "relief" else "Ceasefire"
            label = what if what not in facts else f"{what} ({t})"
            facts[label] = "not yet" if math.isnan(m) else f"month {m:.0f}"
        return facts

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
        return f is not None and f.settings_hash == self.scenario.content_hash() and \
            f.seed == self.seed

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
        """The run's story so far as CSV (month, kind, text)."""
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


def _message(exc: ScenarioError, key: str | None = None) -> str:
    """A refusal in words: the fault, naming the parameter when it is not the control's own."""
    if key is not None and exc.key == key:
        return exc.fault
    return f"{exc.key}: {exc.fault}"


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
    return out
