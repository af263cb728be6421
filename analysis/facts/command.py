"""The ``diplosim facts`` verb: the validation and verification tables.

Optionally it writes the figures, CSVs and the documentation page.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from analysis.facts.check import check_facts, facts_job
from analysis.facts.report import facts_table, format_report, verification_table
from sim.cli import (
    JobSize,
    add_overwrite_argument,
    add_runs_argument,
    add_scenario_arguments,
    add_seed_argument,
    check_job_size,
    claim_output_file,
    parse_sets,
    verb,
    warm_kernel,
)
from sim.errors import UsageError


def _add_arguments(p: argparse.ArgumentParser) -> None:
    add_scenario_arguments(p, as_flag="baseline")
    add_seed_argument(p)
    add_runs_argument(p, 4000, "Monte Carlo runs per variant", minimum=100)
    p.add_argument("--figures", metavar="DIR",
                   help="write fact_1.png .. fact_5.png, verification_v*.png and "
                        "validation_fragility.png here")
    p.add_argument("--csv", metavar="FILE",
                   help="write the validation table as CSV here (and the verification table "
                        "beside it, FILE's stem + _verification.csv)")
    p.add_argument("--page", metavar="FILE",
                   help="write the validation page (docs/validation.md) here, its figures "
                        "linked from --figures")
    p.add_argument("--posterior", metavar="DIR",
                   help="run the case's facts (fact 4, the checks of V1-V3 and fact 4's "
                        "fragility) with each run's parameters drawn from a calibrated "
                        "posterior (diplosim calibrate --out DIR); the population's facts do "
                        "not use it")
    p.add_argument("--no-sensitivity", action="store_true",
                   help="skip the fragility sweep (horizons, codings, assumptions)")
    add_overwrite_argument(p)


@verb("facts", _add_arguments)
def facts_command(args: argparse.Namespace) -> int:
    """``diplosim facts``: print the validation and verification tables.

    The scenario (default the baseline; it needs a relief track) may take a policy overlay and
    ``--set`` overrides like every other verb's.
    """
    from sim.scenario import load_scenario

    scn = load_scenario(args.scenario, policy=args.policy)
    scn = scn.with_overrides(parse_sets(args.sets)) if args.sets else scn
    if args.posterior is not None:
        from analysis.facts.calibrated import case_draws

        # Refused before anything runs: not a posterior, or a key the scenario does not have.
        case_draws(args.posterior, scn, args.runs, args.seed)
    runs, per_run = facts_job(scn, args.runs, not args.no_sensitivity)
    check_job_size(JobSize("--runs", runs, scn.horizon, len(scn.spec.actors),
                           args.runs * per_run, 0, os.cpu_count() or 1), args.runs,
                   long_job=args.long_job)
    if args.page:
        # Refused before anything runs, like --csv and --figures (sim.cli.claim_outputs).
        claim_output_file(args.page, "--page", bool(args.overwrite), [])
    warm_kernel(scn, single=False)
    check = check_facts(runs=args.runs, seed=args.seed, scenario=scn,
                        sensitivity=not args.no_sensitivity, posterior=args.posterior)
    print(format_report(check))
    if args.csv:
        from sim.results.provenance import write_bytes_atomic

        path = Path(args.csv)
        if path.is_dir():
            raise UsageError(f"--csv {args.csv}: is a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--csv {args.csv}: cannot create its folder ({exc.strerror})"
                             ) from None
        write_bytes_atomic(path, facts_table(check).to_csv(index=False).encode())
        write_bytes_atomic(path.with_name(path.stem + "_verification.csv"),
                           verification_table(check).to_csv(index=False).encode())
    if args.figures:
        from analysis.facts.figures import write_figures

        for p in write_figures(check, args.figures):
            print(f"wrote {p}")
    if args.page:
        from analysis.facts.page import write_page

        print(f"wrote {write_page(check, args.page, args.figures, overwrite=True)}")
    return 0
