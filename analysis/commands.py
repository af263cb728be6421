"""The analysis verbs of the ``diplosim`` CLI: ``compare``, ``sweep`` and ``report``."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import pandas as pd

from sim.cli import (
    add_backend_arguments,
    add_months_argument,
    add_out_argument,
    add_runs_argument,
    add_scenario_arguments,
    add_seed_argument,
    chunked_options,
    ensure_out_dir,
    parse_sets,
    verb,
)
from sim.errors import UsageError
from sim.scenario import Scenario, load_scenario

#: Outcomes shown by ``compare`` and analysed by ``sweep`` unless ``--outcome`` says otherwise.
DEFAULT_OUTCOMES = ("relief_reached", "relief_broken", "ceasefire_reached", "transfers_detected",
                    "escalations")


def _scenario(args: argparse.Namespace, policy: str | None = None) -> Scenario:
    scn = load_scenario(args.scenario, policy=policy)
    return scn.with_overrides(parse_sets(args.sets)) if args.sets else scn


def _default_outcomes(columns: list[str]) -> list[str]:
    return [o for o in DEFAULT_OUTCOMES if o in columns]


def _fmt(value: float, proportion: bool) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{100 * value:.1f}%" if proportion else f"{value:.4g}"


# ---------------------------------------------------------------------------------------------
# compare


def _compare_args(p: argparse.ArgumentParser) -> None:
    add_scenario_arguments(p, policy="many")
    add_seed_argument(p)
    add_runs_argument(p, 1000, "runs per policy", minimum=2)
    add_months_argument(p)
    p.add_argument("--outcome", action="append", dest="outcomes", metavar="NAME",
                   help="outcome to show (repeat; default: deals, detections, escalations)")
    p.add_argument("--confidence", type=float, default=0.95, help="CI level (default 0.95)")
    add_out_argument(p, "the comparison (Parquet, manifest, plot)")
    p.add_argument("--posterior", metavar="DIR", help="draw each run's parameters from a "
                   "posterior (diplosim calibrate --out DIR); prints the parameters' spread")
    add_backend_arguments(p)


@verb("compare", _compare_args)
def cmd_compare(args: argparse.Namespace) -> int:
    """Run every policy on the same runs; print estimates, paired differences and a summary."""
    from analysis.compare import compare_policies

    out = ensure_out_dir(args.out)
    scn = _scenario(args)
    if args.posterior is not None:
        from analysis.compare import compare_posterior

        table = compare_posterior(scn, args.policies, args.posterior, runs=args.runs,
                                  seed=args.seed, months=args.months)
        shown = args.outcomes or _default_outcomes(list(table["outcome"]))
        print(f"{scn.spec.meta.title}\n{args.runs} runs per policy, parameters drawn from "
              f"{args.posterior}; common random numbers within each draw\n")
        print(table[table["outcome"].isin(shown)].to_string(index=False, float_format="%.4g"))
        return 0
    cmp = compare_policies(scn, args.policies, runs=args.runs, seed=args.seed,
                           months=args.months, outcomes=args.outcomes,
                           confidence=args.confidence, progress=sys.stderr.isatty(),
                           **chunked_options(args, out))
    shown = args.outcomes or _default_outcomes(list(cmp.table["outcome"]))
    print(f"{scn.spec.meta.title}")
    print(f"{cmp.n_runs} runs per policy, seed {cmp.seed}, {cmp.months} months; common random "
          f"numbers; reference: {cmp.reference}\n")
    print(format_comparison(cmp.table, shown, cmp.reference, cmp.confidence))
    print()
    for line in cmp.sentences():
        print(line)
    if out is not None:
        from analysis.plots import forest_plot

        paths = cmp.save(out)
        paths.append(out / "forest.png")
        forest_plot(cmp.table, shown[:4], cmp.reference, cmp.titles, path=out / "forest.png")
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def format_comparison(table: pd.DataFrame, outcomes: list[str], reference: str,
                      confidence: float = 0.95) -> str:
    """A text table of a comparison: per outcome and policy, estimate and paired difference.

    Each with its CI; proportions in %, their differences in percentage points.
    """
    level = f"{100 * confidence:g}%"
    rows = [("outcome", "policy", f"estimate [{level} CI]", f"vs {reference} [paired CI]")]
    for outcome in outcomes:
        block = table[table["outcome"] == outcome]
        for _, r in block.iterrows():
            prop = r["kind"] == "proportion"
            est = f"{_fmt(r['estimate'], prop)} [{_fmt(r['low'], prop)}, {_fmt(r['high'], prop)}]"
            if r["policy"] == reference:
                diff = "(reference)"
            elif prop:
                diff = (f"{100 * r['diff']:+.1f} pts [{100 * r['diff_low']:+.1f}, "
                        f"{100 * r['diff_high']:+.1f}]")
            else:
                diff = f"{r['diff']:+.4g} [{r['diff_low']:+.4g}, {r['diff_high']:+.4g}]"
            rows.append((outcome, r["policy"], est, diff))
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# sweep


def _sweep_args(p: argparse.ArgumentParser) -> None:
    from analysis.sweep import DESIGNS

    add_scenario_arguments(p)
    add_seed_argument(p)
    p.add_argument("--vary", action="append", metavar="KEY=LOW:HIGH", required=True,
                   help="a parameter and its range, e.g. actors.USA.escalation_step=0.05:0.4 "
                   "(repeat)")
    p.add_argument("--design", choices=list(DESIGNS), default="lhs",
                   help="; ".join(f"{d.name}: {d.about}" for d in DESIGNS.values()))
    p.add_argument("--samples", type=int, default=32, help="the design's size (default 32)")
    add_runs_argument(p, 100, "runs at each design point", flag="--runs-per-point")
    add_months_argument(p)
    p.add_argument("--outcome", action="append", dest="outcomes", metavar="NAME",
                   help="outcome to show and analyse (repeat; default: deals, detections, "
                   "escalations)")
    p.add_argument("--discover", metavar="OUTCOME>=VALUE",
                   help="find the PRIM box of parameters where this holds, e.g. "
                   "'relief_reached>=0.8'")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar with time left (default: on a terminal)")
    add_out_argument(p, "the sweep (Parquet, manifest, plots)")
    p.add_argument("--posterior", metavar="DIR", help="draw each point's other parameters from "
                   "a posterior (diplosim calibrate --out DIR); prints the parameters' spread")
    add_backend_arguments(p)


def parse_vary_items(items: list[str]) -> dict[str, tuple[float, float]]:
    """``["key=0.1:0.4", ...]`` -> ``{"key": (0.1, 0.4)}``; UsageError on a malformed item."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        key, sep, rng = item.partition("=")
        low, colon, high = rng.partition(":")
        if not sep or not colon or not key.strip():
            raise UsageError(f"--vary {item!r}: expected KEY=LOW:HIGH, e.g. "
                             "actors.USA.escalation_step=0.05:0.4")
        if key.strip() in out:
            raise UsageError(f"--vary {key.strip()}: given twice")
        try:
            out[key.strip()] = (float(low), float(high))
        except ValueError:
            raise UsageError(f"--vary {item!r}: LOW and HIGH must be numbers") from None
    return out


@verb("sweep", _sweep_args)
def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep, print its points, sensitivity and discovery, optionally save everything."""
    from analysis.discovery import discover
    from analysis.sensitivity import format_table, sensitivity
    from analysis.sweep import DESIGNS, sweep

    vary = parse_vary_items(args.vary)
    out = ensure_out_dir(args.out)
    scn = _scenario(args, args.policy)
    if args.discover:
        from analysis.discovery import parse_condition

        parse_condition(args.discover)
    if args.design == "sobol" and args.samples > 0 and args.samples & (args.samples - 1):
        print(f"note: --samples {args.samples} is not a power of 2; Sobol' sequences keep their "
              "balance properties only at powers of 2", file=sys.stderr)
    res = sweep(scn, vary, design=args.design, samples=args.samples,
                runs_per_point=args.runs_per_point, seed=args.seed, months=args.months,
                progress=args.progress, posterior=args.posterior, **chunked_options(args, out))
    outcomes = args.outcomes or _default_outcomes(res.outcomes)
    unknown = [o for o in outcomes if o not in res.outcomes]
    if unknown:
        raise UsageError(f"--outcome {unknown[0]}: unknown outcome (known: "
                         f"{', '.join(res.outcomes)})")
    keys = [f.key for f in res.factors]
    print(f"{scn.spec.meta.title}")
    print(f"{args.design} design, {len(res.table)} points x {res.runs_per_point} runs, seed "
          f"{res.seed}, {res.months} months (same runs at every point)\n")
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.max_rows", 12):
        print(res.table[["point", *keys, *outcomes]].to_string(max_rows=12,
                                                               float_format="{:.4g}".format))
    if res.spread is not None:
        post = res.meta["posterior"]
        print(f"\nparameters {', '.join(post['drawn'])} drawn from {args.posterior}: "
              f"{post['draws']} draws x {post['runs_per_draw']} runs per point, common random "
              "numbers within each draw; param_p05-param_p95: spread of the draws' means (what "
              "we do not know about the parameters), mc_se: Monte Carlo error")
        shown = res.spread[res.spread["outcome"].isin(outcomes)]
        print(shown.to_string(index=False, max_rows=24, float_format="{:.4g}".format))
    indices = None
    if DESIGNS[args.design].analysis is not None:
        indices = sensitivity(res, outcomes, seed=res.seed)
        method = "Sobol' indices" if args.design == "sobol" else "Morris elementary effects"
        print(f"\n{method} (+/-: 95% CI half-width)")
        print(format_table(indices))
    box = None
    if args.discover:
        box = discover(res.table, keys, args.discover)
        print(f"\nPRIM box where {args.discover}: {box.describe()}")
    if out is not None:
        paths = save_sweep_outputs(res, out, outcomes, indices, box)
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def save_sweep_outputs(res, out: Path, outcomes: list[str], indices: pd.DataFrame | None,
                       box) -> list[Path]:
    """Write a sweep, its sensitivity indices, its PRIM box and their plots into ``out``."""
    from analysis import plots
    from sim.core.outcomes import outcome_declaration

    res.meta["outcomes"] = list(outcomes)
    res.sensitivity, res.box = indices, box  # SweepResult.save writes them (and load reads)
    paths = res.save(out)
    keys = [f.key for f in res.factors]
    if indices is not None:
        plots.sensitivity_bars(indices, path=out / "sensitivity.png")
        paths.append(out / "sensitivity.png")
    if box is not None:
        plots.prim_trajectory(box, path=out / "prim.png")
        paths.append(out / "prim.png")
    if len(keys) >= 2 and outcomes:
        share = outcome_declaration(res.scenario.compile(), outcomes[0]).kind == "binary"
        plots.sweep_surface(res.table, keys[0], keys[1], outcomes[0], box=box, share=share,
                            path=out / "surface.png")
        paths.append(out / "surface.png")
    return paths


# ---------------------------------------------------------------------------------------------
# report


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="a folder of saved results (compare/sweep/run --out folders, "
                   "or a folder holding several)")
    p.add_argument("--out", metavar="FILE", help="HTML file to write (default: DIR/report.html)")
    p.add_argument("--title", default="diplosim report", help="the page's title")


@verb("report", _report_args)
def cmd_report(args: argparse.Namespace) -> int:
    """Build the HTML report from the manifests and Parquet files under DIR alone."""
    from analysis.report import build_report, find_results

    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{args.dir}: not a folder")
    found = find_results(folder)
    if not found:
        raise UsageError(f"{args.dir}: no saved results (no manifest.json of a comparison, "
                         "sweep, ensemble or run)")
    out = Path(args.out) if args.out else folder / "report.html"
    try:
        html, summary = build_report(found, title=args.title)
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{args.dir}: cannot read saved results ({exc})") from None
    from sim.results.provenance import write_bytes_atomic

    write_bytes_atomic(out, html.encode())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(out, 0o666 & ~umask)  # a page to share, not a private temporary file
    for line in summary:
        print(line)
    print(f"\nwrote {out} ({len(found)} result folder(s), {len(html) // 1024} KiB)")
    return 0

