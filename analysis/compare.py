"""Policy comparison on common random numbers.

Every policy runs the same run indices with the same seed. A policy overlay changes only the
sanctioners' doctrine, and every random number is keyed by (seed, run, month, actor, counterpart,
purpose), so run ``r`` of each policy sees the same shocks and the same detection draws: the
difference between two policies in run ``r`` is the policy's doing, not noise. The comparison
therefore estimates each policy's effect from *paired* differences, whose variance is far below
that of the difference of two independent ensembles (see the tests), and a policy compared with
itself differs by exactly zero.

Estimates: a proportion (a deal reached or broken) with the Wilson score interval, a mean with the
Student t interval (:mod:`sim.results.stats`); the paired difference from the reference policy
(the first) as the mean of the per-run differences with its Student t interval. Month outcomes
(NaN when the event never happened) are averaged over the runs where it happened, and their
differences over the runs where it happened under both policies.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis._common import as_scenario, fmt_pct, track_phrases
from sim.core.outcomes import declare_outcomes
from sim.core.rng import seed_key
from sim.errors import ArgumentError
from sim.results.provenance import (
    read_result_manifest,
    write_bytes_atomic,
    write_parquet_atomic,
    write_result_manifest,
)
from sim.results.stats import mean_interval, wilson_interval
from sim.scenario import Scenario, scenario_dir

TABLE_COLUMNS = ["policy", "outcome", "kind", "estimate", "low", "high", "n", "diff", "diff_low",
                 "diff_high", "n_pairs"]


def policy_title(policy: str) -> str:
    """The title of a bundled policy overlay (or of an overlay file), else its name."""
    path = Path(policy)
    if not (policy.endswith(".toml") or path.exists()):
        path = scenario_dir() / "policies" / f"{policy}.toml"
    try:
        title = tomllib.loads(path.read_text()).get("policy", {}).get("title")
    except (OSError, tomllib.TOMLDecodeError):
        title = None
    return str(title) if title else path.stem.replace("_", " ")


def _labels(policies: Sequence[str]) -> list[str]:
    labels: list[str] = []
    for p in policies:
        base = Path(p).stem if p.endswith(".toml") else p
        label, k = base, 2
        while label in labels:
            label, k = f"{base} ({k})", k + 1
        labels.append(label)
    return labels


def estimate(values: np.ndarray, proportion: bool, confidence: float) -> tuple[float, ...]:
    """``(estimate, low, high, n)`` of one outcome over runs.

    Wilson for a proportion, Student t for a mean; NaN runs (an event that never happened) are
    dropped.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan, 0
    if proportion:
        k = int(np.count_nonzero(x))
        lo, hi = wilson_interval(k, x.size, confidence)
        return k / x.size, lo, hi, x.size
    mean, lo, hi = mean_interval(x, confidence)
    return mean, lo, hi, x.size


def paired_difference(values: np.ndarray, reference: np.ndarray,
                      confidence: float) -> tuple[float, float, float, int]:
    """``(mean, low, high, n_pairs)`` of the per-run differences ``values - reference``.

    Both arrays are indexed by the same run ids (common random numbers); pairs where either is NaN
    are dropped. The interval is Student t on the differences (for 0/1 outcomes the usual large-
    sample interval of a difference of paired proportions).
    """
    d = np.asarray(values, dtype=float) - np.asarray(reference, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return math.nan, math.nan, math.nan, 0
    mean, lo, hi = mean_interval(d, confidence)
    return mean, lo, hi, d.size


@dataclass
class PolicyComparison:
    """The result of :func:`compare_policies`.

    ``table`` has one row per (policy, outcome): ``kind`` (proportion or mean), ``estimate``,
    ``low``, ``high`` (the CI), ``n`` (runs used), ``diff``, ``diff_low``, ``diff_high`` (paired
    difference from the reference policy, with its CI) and ``n_pairs``. ``runs`` has the run
    summaries of every policy (column ``policy`` first, then ``run`` and the outcomes).
    """

    scenario: Scenario | None
    policies: list[str]
    titles: dict[str, str]
    seed: int
    n_runs: int
    months: int
    confidence: float
    table: pd.DataFrame
    runs: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """The policy the others are compared with (the first)."""
        return self.policies[0]

    def row(self, policy: str, outcome: str) -> pd.Series:
        """The table's row for ``policy`` and ``outcome``."""
        t = self.table
        hit = t[(t["policy"] == policy) & (t["outcome"] == outcome)]
        if hit.empty:
            raise KeyError(f"no row for policy {policy!r} and outcome {outcome!r}")
        return hit.iloc[0]

    @property
    def tracks(self) -> list[dict[str, Any]]:
        """Negotiation tracks in words (stored, so a loaded comparison needs no scenario)."""
        if "tracks" in self.meta:
            return self.meta["tracks"]
        return track_phrases(self.scenario) if self.scenario is not None else []

    def sentences(self) -> list[str]:
        """A plain-words summary of each track's deal under each policy.

        With CIs and the paired difference from the reference policy in percentage points.
        """
        return summary_sentences(self.table, self.policies, self.titles, self.tracks,
                                 self.months, self.confidence)

    def save(self, out: str | Path) -> list[Path]:
        """Write the comparison into folder ``out``.

        Files: ``comparison.parquet``, ``runs.parquet``, ``scenario.toml`` and
        ``manifest.json``, each written atomically.
        """
        out = Path(out)
        paths = [write_parquet_atomic(self.table, out / "comparison.parquet"),
                 write_parquet_atomic(self.runs, out / "runs.parquet")]
        info: dict[str, Any] = {
            "policies": self.policies, "titles": self.titles,
            "reference": self.reference, "seed": self.seed, "runs": self.n_runs,
            "months": self.months, "confidence": self.confidence, "tracks": self.tracks,
            "run_ids": "0..runs-1 for every policy (common random numbers)",
        }
        if self.scenario is not None:
            paths.append(write_bytes_atomic(out / "scenario.toml",
                                            self.scenario.to_toml().encode()))
            info.update(scenario=self.scenario.name, scenario_source=self.scenario.source,
                        scenario_hash=self.scenario.content_hash(),
                        title=self.scenario.spec.meta.title)
        paths.append(write_result_manifest(out, "comparison", paths, **info))
        return paths

    @classmethod
    def load(cls, folder: str | Path) -> PolicyComparison:
        """Read a comparison written by :meth:`save` (no model run needed)."""
        folder = Path(folder)
        info = read_result_manifest(folder, "comparison")
        table = pd.read_parquet(folder / "comparison.parquet")
        runs = pd.read_parquet(folder / "runs.parquet")
        keep = {k: v for k, v in info.items() if k not in {
            "kind", "format", "policies", "titles", "seed", "runs", "months", "confidence"}}
        return cls(None, list(info["policies"]), dict(info["titles"]), int(info["seed"]),
                   int(info["runs"]), int(info["months"]), float(info["confidence"]), table,
                   runs, keep)


def compare_policies(scenario: Scenario | str, policies: Sequence[str], runs: int = 1000,
                     seed: int = 0, months: int | None = None,
                     outcomes: Sequence[str] | None = None,
                     confidence: float = 0.95, progress: bool = False,
                     **backend: Any) -> PolicyComparison:
    """Compare sanctions policies on common random numbers.

    Args:
        scenario: a Scenario or a bundled name / path.
        policies: policy overlay names (see ``diplosim list``) or overlay paths; the first is the
            reference the others are compared with. A name may repeat (it then differs from
            itself by exactly zero).
        runs: Monte Carlo runs per policy (run ids ``0..runs-1`` for every policy).
        seed: seed of every draw, the same for every policy.
        months: months per run (default: the scenario's horizon).
        outcomes: outcome columns to put in the table (default: all).
        confidence: two-sided confidence level of every interval.
        progress: show a progress bar of the job's chunks.
        **backend: ``backend``, ``scheduler``, ``workers``, ``out``, ``resume``,
            ``chunk_size`` of :func:`sim.jobs.backends.run_job`. Every policy is one point of
            one job (:mod:`sim.jobs.job`), run in this process by default, on Dask, or durably
            into ``out``; the numbers are the same.

    Returns:
        A :class:`PolicyComparison`.

    Raises:
        ScenarioError: unknown policy or scenario (before any run).
        ArgumentError: bad sizes or outcome names (before any run).
    """
    from sim.jobs.backends import run_points

    base = as_scenario(scenario)
    if not policies:
        raise ArgumentError("compare", "policy", "name at least one policy")
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 2:
        raise ArgumentError("compare", "runs", f"must be at least 2 (got {runs})")
    if not 0.0 < float(confidence) < 1.0:
        raise ArgumentError("compare", "confidence", f"must be in (0, 1) (got {confidence})")
    months = base.horizon if months is None else int(months)
    if months < 1:
        raise ArgumentError("compare", "months", f"must be at least 1 (got {months})")
    seed = seed_key(seed)
    scns = [base.with_policy(p) for p in policies]  # all overlays checked before any run
    labels = _labels(policies)
    run_ids = np.arange(int(runs), dtype=np.int64)
    # Every policy is a point of one job: the same seed and run ids (CRN), one executor.
    frames = run_points(scns, run_ids, seed, labels=[{"policy": lab} for lab in labels],
                        months=months, progress=bool(progress), **backend)
    summaries = dict(zip(labels, frames, strict=True))
    names = [c for c in summaries[labels[0]].columns if c != "run"]
    if outcomes:
        unknown = [o for o in outcomes if o not in names]
        if unknown:
            raise ArgumentError("compare", "outcome", f"unknown outcome {unknown[0]!r} (known: "
                                f"{', '.join(names)})")
        names = list(outcomes)
    table = comparison_table(summaries, names, confidence, scenario=base)
    runs_long = pd.concat([df.assign(policy=lab) for lab, df in summaries.items()],
                          ignore_index=True)
    runs_long = runs_long[["policy", "run", *names]]
    titles = {lab: policy_title(p) for lab, p in zip(labels, policies, strict=True)}
    return PolicyComparison(base, labels, titles, seed, int(runs), months, float(confidence),
                            table, runs_long, {"tracks": track_phrases(base)})


def comparison_table(summaries: dict[str, pd.DataFrame], outcomes: Sequence[str],
                     confidence: float = 0.95, *, scenario: Scenario) -> pd.DataFrame:
    """Per policy and outcome: the estimate with its CI and the paired difference.

    ``summaries`` maps policy -> run summaries with the same ``run`` ids (CRN); differences are
    taken from the first policy. An outcome's ``kind`` comes from its declaration in
    ``scenario`` (:func:`sim.core.outcomes.declare_outcomes`): ``proportion`` for a yes/no
    outcome, ``mean`` for every other.
    """
    declared = declare_outcomes(scenario.compile())
    labels = list(summaries)
    ref = summaries[labels[0]].set_index("run")
    rows = []
    for lab in labels:
        df = summaries[lab].set_index("run")
        if not df.index.equals(ref.index):
            raise ValueError(f"policy {lab!r} ran other run ids than {labels[0]!r}: a paired "
                             "comparison needs the same runs")
        for name in outcomes:
            prop = declared[name].kind == "binary"
            est, lo, hi, n = estimate(df[name].to_numpy(), prop, confidence)
            d, dlo, dhi, npairs = paired_difference(df[name].to_numpy(), ref[name].to_numpy(),
                                                    confidence)
            rows.append({"policy": lab, "outcome": name,
                         "kind": "proportion" if prop else "mean", "estimate": est, "low": lo,
                         "high": hi, "n": n, "diff": d, "diff_low": dlo, "diff_high": dhi,
                         "n_pairs": npairs})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _lower_first(title: str) -> str:
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def summary_sentences(table: pd.DataFrame, policies: Sequence[str], titles: dict[str, str],
                      tracks: list[dict[str, Any]], months: int,
                      confidence: float = 0.95) -> list[str]:
    """Plain-words sentences for each track's ``<track>_reached`` outcome.

    For example: "Under maximum pressure Iran, United States and NATO reach a sanctions-relief
    deal within 36 months in 12% [10-14%] of runs, 19 points fewer than under conditional relief
    (paired 95% CI -21.0 to -17.0 points)."
    """
    ref = policies[0]
    level = f"{100 * confidence:g}%"
    out = []
    for words in tracks:
        name = f"{words['id']}_reached"
        if name not in set(table["outcome"]):
            continue
        for pol in policies:
            r = table[(table["policy"] == pol) & (table["outcome"] == name)].iloc[0]
            digits = 1 if min(r["low"], 1 - r["high"]) < 0.01 else 0
            est, lo, hi = (fmt_pct(r[k], digits) for k in ("estimate", "low", "high"))
            text = (f"Under {_lower_first(titles.get(pol, pol))} {words['parties']} "
                    f"{words['reach']} within {months} months in {est} [{lo[:-1]}-{hi}] of runs")
            if pol != ref:
                pts, lo, hi = (100 * r["diff"], 100 * r["diff_low"], 100 * r["diff_high"])
                ref_title = _lower_first(titles.get(ref, ref))
                ci = f"paired {level} CI {lo:+.1f} to {hi:+.1f} points"
                if lo == hi == 0.0:
                    text += f", identical to {ref_title} in every run"
                elif lo <= 0.0 <= hi:
                    text += (f", no clear difference from {ref_title} ({pts:+.1f} points, "
                             f"{ci})")
                else:
                    word = "fewer" if pts < 0 else "more"
                    shown = f"{abs(pts):.0f}" if abs(pts) >= 10 else f"{abs(pts):.1f}"
                    text += f", {shown} points {word} than under {ref_title} ({ci})"
            out.append(text + ".")
    return out


def compare_posterior(scenario: Scenario | str, policies: Sequence[str], posterior: Any,
                      runs: int = 1000, seed: int = 0, months: int | None = None,
                      draws: int | None = None) -> pd.DataFrame:
    """Compare policies with every run's parameters drawn from a calibration's posterior.

    The same parameter draws and, within each draw, the same runs (common random numbers) serve
    every policy (:func:`sim.jobs.posterior.posterior_outcomes`). Per policy and outcome: the
    mean, the 5%-95% spread of the draws' means (what we do not know about the parameters), the
    Monte Carlo standard error, and the same for the difference from the first policy.

    Args:
        scenario: a Scenario or a bundled name / path.
        policies: policy overlays; the first is the reference.
        posterior: a :class:`sim.jobs.posterior.Posterior` or its folder.
        runs: runs per policy (rounded up to a multiple of the draws).
        seed: seed of the draws and of the runs.
        months: months per run (default: the horizon).
        draws: parameter draws (default :func:`sim.jobs.posterior.default_draws`).
    """
    from sim.jobs.posterior import Posterior, load_posterior, posterior_outcomes, spread_table

    post = posterior if isinstance(posterior, Posterior) else load_posterior(posterior)
    base = as_scenario(scenario)
    scenarios = [base.with_policy(p) for p in policies]
    columns, values = posterior_outcomes(scenarios, post, runs, seed, draws=draws,
                                         months=months)
    frames = []
    for policy, v in zip(policies, values, strict=True):
        own = spread_table(columns, v)
        diff = spread_table(columns, v - values[0]).add_prefix("diff_")
        frame = own.merge(diff, left_on="outcome", right_on="diff_outcome", how="left")
        frames.append(frame.drop(columns="diff_outcome").assign(policy=policy))
    return pd.concat(frames, ignore_index=True)

