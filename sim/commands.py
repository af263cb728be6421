"""The core verbs: ``list``, ``validate`` and ``run``."""

from __future__ import annotations

import argparse
import math
import sys

from sim.cli import (
    add_backend_arguments,
    add_months_argument,
    add_out_argument,
    add_runs_argument,
    add_scenario_arguments,
    add_seed_argument,
    backend_options,
    ensure_out_dir,
    parse_sets,
    verb,
)
from sim.errors import ScenarioError, UsageError
from sim.scenario import list_policies, list_scenarios, load_scenario


def _list_args(p: argparse.ArgumentParser) -> None:
    pass


@verb("list", _list_args)
def cmd_list(args: argparse.Namespace) -> int:
    """Print bundled scenarios (with titles) and policies."""
    print("Scenarios:")
    for name in list_scenarios():
        try:
            title = load_scenario(name).spec.meta.title
        except ScenarioError as exc:
            title = f"(invalid: {exc.fault})"
        print(f"  {name:<24} {title}")
    print("Policies (use with --policy NAME):")
    for name in list_policies():
        print(f"  {name}")
    return 0


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="scenario .toml file (or bundled name) to check")
    p.add_argument("--policy", help="also check with this policy overlay applied")


@verb("validate", _validate_args)
def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a file; exit 0 and say so, or raise ScenarioError (printed, exit 2).

    A valid file may still hold a silent trap (an actor no relation names, a supplier no
    sanctioner is hostile to): each is one warning line on stderr, exit status still 0.
    """
    from sim.scenario.loading import scenario_warnings

    scn = load_scenario(args.file, policy=args.policy)
    scn.compile()
    print(f"{scn.source}: valid ({len(scn.spec.actors)} actors, {len(scn.spec.routes)} routes, "
          f"{len(scn.spec.tracks)} tracks, {scn.horizon} months; content hash "
          f"{scn.content_hash()[:12]})")
    for line in scenario_warnings(scn.spec):
        print(f"diplosim: warning: {scn.source}: {line}", file=sys.stderr)
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    add_scenario_arguments(p)
    add_seed_argument(p)
    add_months_argument(p)
    add_out_argument(p, "results (Parquet + manifest.json)")
    p.add_argument("--quiet", action="store_true", help="print the outcome table only")
    add_runs_argument(p, 1, "Monte Carlo runs: 1 gives one run and its story, more an ensemble "
                      "and its outcome table with 95%% confidence intervals")
    p.add_argument("--engine", choices=("numba", "mesa"), default="numba",
                   help="engine of an ensemble (default numba; both give the same numbers)")
    p.add_argument("--threads", type=int,
                   help="threads of the numba engine (default: all cores)")
    p.add_argument("--posterior", metavar="DIR", help="draw each run's parameters from a "
                   "posterior (diplosim calibrate --out DIR); needs --runs N")
    add_backend_arguments(p)


@verb("run", _run_args)
def cmd_run(args: argparse.Namespace) -> int:
    """One run with the Mesa engine (outcome table, story), or an ensemble; optional files.

    Mesa is imported only for the single run (or an ensemble with ``--engine mesa``).
    """
    scn = load_scenario(args.scenario, policy=args.policy)
    scn = scn.with_overrides(parse_sets(args.sets)) if args.sets else scn
    if args.threads is not None:
        import numba

        if not 1 <= args.threads <= numba.config.NUMBA_NUM_THREADS:
            raise UsageError(f"--threads {args.threads}: must be in [1, "
                             f"{numba.config.NUMBA_NUM_THREADS}] on this machine")
    backend = backend_options(args)
    if args.runs == 1 and (backend["backend"] == "dask" or backend["resume"]):
        raise UsageError("--scheduler, --workers and --resume are for ensembles (--runs N)")
    out = ensure_out_dir(args.out)
    if args.posterior is not None:
        return _run_posterior(args, scn)
    if args.runs > 1:
        return _run_ensemble(args, scn, out, backend)
    from sim.engines.model import DiplomacyModel
    from sim.engines.single import save_single_run

    model = DiplomacyModel(scn, seed=args.seed)
    model.run(args.months)
    print(f"{scn.spec.meta.title}")
    pol = f", policy {'+'.join(scn.policies)}" if scn.policies else ""
    print(f"seed {args.seed}, {model.month} months{pol}\n")
    print(format_outcomes(model.outcomes()))
    if not args.quiet:
        print("\nStory of the run:")
        print(model.story_text() or "(nothing happened)")
    if out is not None:
        paths = save_single_run(model, out)
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def _run_ensemble(args: argparse.Namespace, scn, out, backend: dict) -> int:
    """``run --runs N``: an ensemble, its outcome table, optional result folder.

    On Dask or with ``--resume`` the runs go chunk by chunk through :mod:`sim.jobs.backends`; with
    ``--out DIR`` each finished chunk is kept in ``DIR/chunks`` (a Parquet dataset) so that an
    interrupted job continues with ``--resume``. Only the summary is computed on that path.
    """
    from sim.jobs.ensemble import run_ensemble
    from sim.results.table import format_outcome_table

    chunked = backend["backend"] == "dask" or backend["resume"]
    res = run_ensemble(scn, runs=args.runs, seed=args.seed, engine=args.engine,
                       months=args.months, threads=None if chunked else args.threads,
                       progress=True, chunk_size=backend["chunk_size"],
                       backend=backend["backend"] if chunked else None,
                       scheduler=backend["scheduler"], workers=backend["workers"],
                       out=out / "chunks" if chunked and out is not None else None,
                       resume=backend["resume"])
    print(f"{scn.spec.meta.title}")
    pol = f", policy {'+'.join(scn.policies)}" if scn.policies else ""
    if backend["backend"] == "dask":
        where = backend["scheduler"] or f"a local cluster of {backend['workers']} workers"
        threads = f" on Dask ({where})"
    elif args.engine == "numba" and "threads" in res.meta:
        threads = f" on {res.meta['threads']} threads"
    else:
        threads = ""
    print(f"seed {res.seed}, {res.runs} runs of {res.months} months{pol}; {args.engine} engine"
          f"{threads}, {res.meta['seconds']:.2f} s\n")
    print(format_outcome_table(res.outcome_table()))
    if out is not None:
        paths = res.save(out)
        print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def _run_posterior(args: argparse.Namespace, scn) -> int:
    """``run --posterior DIR --runs N``: outcomes with the parameters' spread apart from chance."""
    from sim.jobs.posterior import load_posterior, posterior_outcomes, spread_table

    if args.runs < 2:
        raise UsageError("--posterior needs an ensemble (--runs N, N >= 2)")
    post = load_posterior(args.posterior)
    columns, (values,) = posterior_outcomes([scn], post, args.runs, args.seed,
                                            months=args.months)
    print(f"{scn.spec.meta.title}")
    print(f"seed {args.seed}, {values.shape[0]} parameter draws from {args.posterior} x "
          f"{values.shape[1]} runs each\n")
    print(spread_table(columns, values).to_string(index=False, float_format="%.4g"))
    return 0


def format_outcomes(outcomes: dict[str, float]) -> str:
    """A two-column text table of a run's outcomes (never: for a month that did not happen)."""
    width = max(len(k) for k in outcomes)
    lines = [f"{'outcome':<{width}}  value", f"{'-' * width}  -----"]
    for key, value in outcomes.items():
        if isinstance(value, float) and math.isnan(value):
            shown = "never"
        elif float(value).is_integer():
            shown = f"{value:.0f}"
        else:
            shown = f"{value:.3f}"
        lines.append(f"{key:<{width}}  {shown}")
    return "\n".join(lines)
