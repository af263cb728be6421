r"""Measure the findings of issue 12 (the war, the ceasefire, the actors) before and after.

Issue 12 quotes measurements of the first part of the second edition: the war decided by
imported arms alone, ripeness as an initial condition, a ceasefire that can never break, routes
that overfill their recipient's need, and a baseline without the US administration change of
January 2025. This script measures each through the public Python API only (``sim.load_scenario``,
``Scenario.with_overrides``, ``sim.run_ensemble``, ``sim.DiplomacyModel``), so that it runs
unchanged on the model before part 2 and after it (a figure the model cannot give is "n/a").

Usage (from the repository root; the "before" run puts the older code first on the path)::

    PYTHONPATH=/path/to/checkout-before .venv/bin/python docs/war_findings.py --runs 4000 \
        --out docs/figures/war-findings-before.json
    .venv/bin/python docs/war_findings.py --runs 4000 --out docs/figures/war-findings-after.json
    .venv/bin/python docs/war_findings.py --before docs/figures/war-findings-before.json \
        --after docs/figures/war-findings-after.json --write-md docs/model-changes.md

Comparisons of two variants use common random numbers (run ``r`` of each is keyed by the seed
and ``r``), so a difference is the variant's effect, not Monte Carlo noise.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

import sim
from sim.core import layout as L

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_findings import Gone, run  # noqa: E402

#: Figures issue 12 quotes (for the comparison only; never used in a computation).
ISSUE: dict[str, float] = {
    "ceasefire_reached": 0.65, "ceasefire_reached_no_iran_arms": 0.18,
    "balance_final_no_iran_arms": -0.57, "ripe_at_first_possible_month": 0.993,
    "ukraine_aid_over_asked": 1.36, "ukraine_aid_over_asked_ceasefire": 1.66,
    "relief_reached_without_administration_change": 0.725,
    "relief_reached_with_administration_change": 0.375,
}

#: First month of the US administration change of January 2025 in the baseline (start 2024-01).
ADMINISTRATION_MONTH = 13


def iran_routes(scn: sim.Scenario) -> list[str]:
    """The relief party's routes (Iran's in the baseline)."""
    party = next(t.party for t in scn.spec.tracks.values() if t.kind == "relief")
    return [r for r, spec in scn.spec.routes.items() if spec.supplier == party]


def mean(x: np.ndarray) -> float:
    """Mean over runs, NaN-aware (a month column is NaN where the event never happened)."""
    x = np.asarray(x, dtype=float)
    return float(np.nanmean(x)) if np.isfinite(x).any() else math.nan


def imports_alone(base: sim.Scenario, runs: int, seed: int) -> dict[str, float]:
    """Ceasefire and the front with and without every Iranian route (common random numbers)."""
    closed = base.with_overrides({f"routes.{r}.open": 0.0 for r in iran_routes(base)})
    a, b = run(base, runs, seed, monthly=False), run(closed, runs, seed, monthly=False)
    return {"ceasefire_reached": mean(a.col("ceasefire_reached")),
            "ceasefire_reached_no_iran_arms": mean(b.col("ceasefire_reached")),
            "balance_final": mean(a.col("war_balance_final")),
            "balance_final_no_iran_arms": mean(b.col("war_balance_final"))}


def ripeness(base: sim.Scenario, runs: int, seed: int) -> dict[str, float]:
    """When the war first becomes ripe (the stalemate count reaches ``stalemate_months``).

    Read month by month from the Mesa model's state, so the same code measures the first
    edition (which has no ripeness outcome).
    """
    t = next(k for k, tr in enumerate(sorted(base.spec.tracks)) if
             base.spec.tracks[tr].kind == "ceasefire")
    need = next(tr.stalemate_months for tr in base.spec.tracks.values() if tr.kind == "ceasefire")
    first = []
    for r in range(runs):
        model = sim.DiplomacyModel(base, seed=seed, run=r)
        month = math.nan
        for m in range(1, model.horizon + 1):
            model.step()
            if model.state.TS[t, L.TS_STALEMATE] >= need:
                month = m
                break
        first.append(month)
    first = np.array(first, dtype=float)
    return {"ripe_share": float(np.isfinite(first).mean()),
            "ripe_at_first_possible_month": float((first == need).mean()),
            "ripe_month_mean": mean(first), "ripe_month_sd": float(np.nanstd(first))}


def breakdowns(base: sim.Scenario, runs: int, seed: int) -> dict[str, float]:
    """Share of ceasefires that broke down; with a strong agreement; with no Iranian arms."""
    out: dict[str, float] = {}
    a = run(base, runs, seed, monthly=False)
    reached = a.col("ceasefire_reached") > 0
    try:
        broken = a.col("ceasefire_broken")
    except Gone:
        broken = np.zeros(len(reached))  # the first edition's ceasefire could not break
    out["ceasefire_broken_given_reached"] = float(broken[reached].mean()) if reached.any() \
        else math.nan
    try:
        strong = run(base.with_overrides({"tracks.ceasefire.strength": 0.9}), runs, seed,
                     monthly=False)
        weak = run(base.with_overrides({"tracks.ceasefire.strength": 0.0}), runs, seed,
                   monthly=False)
    except Exception:  # noqa: BLE001  (the field does not exist in the first edition)
        return out
    for name, res in (("strength_0.9", strong), ("strength_0", weak)):
        hit = res.col("ceasefire_reached") > 0
        out[f"ceasefire_broken_given_reached_{name}"] = float(
            res.col("ceasefire_broken")[hit].mean())
    return out


def overfill(base: sim.Scenario, runs: int, seed: int) -> dict[str, float]:
    """What Ukraine receives over what it asks for (demand x last month's war intensity)."""
    res = run(base, runs, seed)
    routes = [r for r, spec in base.spec.routes.items() if spec.recipient == "UKR"]
    cat = base.spec.routes[routes[0]].category
    demand = base.spec.actors["UKR"].demand[cat]
    got = sum(res.series(f"shipped_{r}")[:, 1:] for r in routes)
    asked = demand * res.series("war_intensity")[:, :-1]
    ratio = got / np.where(asked > 0, asked, np.nan)
    cease = res.series("active_ceasefire")[:, 1:] >= 0.5 if res.has("active_ceasefire") \
        else np.zeros_like(got, dtype=bool)
    return {"ukraine_aid_over_asked": float(np.nanmean(ratio)),
            "ukraine_aid_over_asked_ceasefire": float(np.nanmean(ratio[cease]))
            if cease.any() else math.nan,
            "ukraine_aid_max_over_asked": float(np.nanmax(ratio))}


def administration(base: sim.Scenario, runs: int, seed: int) -> dict[str, float]:
    """Relief in force by the horizon with and without the US events from January 2025."""
    raw = base.spec.model_dump(mode="json", by_alias=True, exclude={"extends"})
    ours = [e for e in raw["events"] if e["month"] >= ADMINISTRATION_MONTH
            and e["key"].startswith("actors.USA.")]
    if not ours:
        raise Gone("the US administration change (no events on actors.USA from month 13)")
    raw["events"] = [e for e in raw["events"] if e not in ours]
    import tempfile

    import tomli_w

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "without_administration_change.toml"
        path.write_text(tomli_w.dumps(raw), encoding="utf-8")
        without = sim.load_scenario(path)
        b = run(without, runs, seed, monthly=False)
    a = run(base, runs, seed, monthly=False)
    return {"relief_reached_with_administration_change": mean(a.col("relief_reached")),
            "relief_reached_without_administration_change": mean(b.col("relief_reached")),
            "administration_events": float(len(ours))}


def policies(runs: int, seed: int) -> dict[str, float]:
    """Relief, ceasefire and the front under each bundled policy, against no policy.

    Each policy's paired difference from no policy with its 95% interval (common random
    numbers): do the policies differ beyond noise?
    """
    out: dict[str, float] = {}
    cols = ("relief_reached", "ceasefire_reached", "war_balance_final")
    base = run(sim.load_scenario("baseline"), runs, seed, monthly=False)
    for policy in [None, *sim.list_policies()]:
        res = base if policy is None else run(sim.load_scenario("baseline", policy=policy), runs,
                                              seed, monthly=False)
        name = policy or "none"
        for col in cols:
            try:
                x, x0 = res.col(col), base.col(col)
            except Gone:
                continue
            out[f"{col}_{name}"] = mean(x)
            if policy is not None:
                diff = x - x0
                half = 1.96 * float(np.std(diff, ddof=1)) / math.sqrt(len(diff))
                out[f"{col}_{name}_minus_none"] = float(np.mean(diff))
                out[f"{col}_{name}_minus_none_ci95"] = half
    return out


MEASURES = {"imports_alone": imports_alone, "ripeness": ripeness, "breakdowns": breakdowns,
            "overfill": overfill, "administration": administration}


def measure(runs: int, seed: int) -> dict[str, Any]:
    """Every finding on the bundled baseline; "n/a" where this model cannot give it."""
    base = sim.load_scenario("baseline")
    out: dict[str, Any] = {"runs": runs, "seed": seed}
    for name, fn in MEASURES.items():
        n = min(runs, 1000) if name == "ripeness" else runs
        try:
            out[name] = fn(base, n, seed)
        except Gone as gone:
            out[name] = f"n/a ({gone})"
        print(name, out[name], file=sys.stderr, flush=True)
    out["policies"] = policies(runs, seed)
    return out


def _fmt(x: Any) -> str:
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.3f}"


def table(before: dict[str, Any], after: dict[str, Any]) -> str:
    """A markdown table of every figure: issue, before, after."""
    rows = ["| finding | figure | issue 12 quotes | before | after |", "|---|---|---|---|---|"]
    for group in [*MEASURES, "policies"]:
        b, a = before.get(group, {}), after.get(group, {})
        keys = list(dict.fromkeys([*(b if isinstance(b, dict) else {}),
                                   *(a if isinstance(a, dict) else {})]))
        if not keys:
            rows.append(f"| {group} | | | {_fmt(b)} | {_fmt(a)} |")
        for k in keys:
            bv = b.get(k) if isinstance(b, dict) else b
            av = a.get(k) if isinstance(a, dict) else a
            rows.append(f"| {group} | `{k}` | {_fmt(ISSUE.get(k))} | {_fmt(bv)} | {_fmt(av)} |")
    return "\n".join(rows)


def write_md(path: Path, text: str) -> None:
    """Replace the block between the war-findings markers of ``path`` (appended if absent)."""
    begin, end = "<!-- war-findings:begin -->", "<!-- war-findings:end -->"
    page = path.read_text(encoding="utf-8") if path.is_file() else ""
    block = f"{begin}\n{text}\n{end}"
    if begin in page:
        page = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, page,
                      flags=re.S)
    else:
        page = page.rstrip() + "\n\n" + block + "\n"
    path.write_text(page, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Measure (``--out``) or compare two measurements (``--before``/``--after``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--before", type=Path)
    ap.add_argument("--after", type=Path)
    ap.add_argument("--write-md", type=Path)
    args = ap.parse_args(argv)
    if args.before and args.after:
        before = json.loads(args.before.read_text())
        after = json.loads(args.after.read_text())
        text = table(before, after)
        if args.write_md:
            write_md(args.write_md, text)
        print(text)
        return 0
    result = measure(args.runs, args.seed)
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
