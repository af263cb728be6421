"""``diplosim calibrate``: ABC-SMC on the public record, checks and out-of-sample scores.

One command writes a folder: ``posterior.parquet`` and ``manifest.json`` (read back by
``--posterior DIR``), ``checks.csv`` (posterior predictive checks of every target),
``scores.csv`` (with ``--until``: Brier and log scores of the held-out rows against the null
models), ``fans.csv`` and ``fans.png`` (the hindcast's monthly 5-50-95% over posterior draws x
runs against the record's points), ``marginals.png``, ``pairs.png`` and ``checks.png``.
``abc_checkpoint.pkl`` holds the sampler's state after each population: ``--resume``
continues a killed calibration from it (the same posterior as a run straight through).
``--figures-only`` redraws the figures of a finished folder (and re-runs the fans only).
The design's runs take the backend flags of ``sweep`` (``--workers N``, ``--scheduler ADDR``):
one Dask client serves the whole calibration.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import scenarios
from sim.cli import (
    add_backend_arguments,
    add_scenario_arguments,
    add_seed_argument,
    count_argument,
    parse_sets,
    verb,
)
from sim.errors import UsageError

#: The record bundled with the scenarios.
DEFAULT_RECORD = Path(scenarios.__file__).with_name("data") / "record.csv"
#: The sampler's state after each population, in the output folder.
CHECKPOINT_FILE = "abc_checkpoint.pkl"


def hindcast(scenario: Any, out: str | Path, *, record: str | Path = DEFAULT_RECORD,
             until: str | None = None, priors: str | Path | None = None, particles: int = 200,
             runs: int = 8, batch: int = 20, quantiles: tuple[float, ...] = (0.2, 0.5, 0.5),
             check_draws: int = 100, check_runs: int = 10, seed: int = 1,
             fan_draws: int = 40, fan_runs: int = 10, resume: bool = False,
             on_population: Any = None, **options: Any) -> dict[str, Any]:
    """Calibrate ``scenario`` on ``record``, check it, score it out of sample, write ``out``.

    Args:
        scenario: a loaded scenario (the hindcast).
        out: the folder to write.
        record: the record CSV.
        until: the cut-off (``YYYY-MM``): fit the rows up to it, predict the later ones.
            None: fit the whole horizon (no out-of-sample scores).
        priors: a priors CSV (default: the bundled one).
        particles: particles per population of the ABC-SMC.
        runs: runs per parameter draw of the ABC-SMC.
        batch: parameter draws per design (one call of the simulator).
        quantiles: per population, the share of distances kept.
        check_draws: posterior draws of the checks and scores.
        check_runs: runs per draw of the checks and scores.
        seed: seed of everything.
        fan_draws: posterior draws of the fan charts.
        fan_runs: runs per draw of the fan charts.
        resume: continue the calibration checkpointed in ``out`` (see the module).
        on_population: called as ``(population, threshold, simulations)`` after each one.
        **options: passed to :func:`sim.jobs.backends.run_design` (``backend``,
            ``scheduler``, ``workers``, ``chunk_size``); with a Dask backend one client
            serves every design of the calibration.

    Returns:
        A summary: wall seconds, simulations, the paths written, the mean scores per model.
    """
    from analysis.calibration import scoring
    from analysis.calibration.abc import calibrate, read_priors, target_columns
    from analysis.calibration.record import load_targets, scenario_month

    started = time.perf_counter()
    out = Path(out)
    horizon = scenario.spec.meta.horizon
    cutoff = horizon if until is None else scenario_month(until, scenario.spec.meta.start)
    if not 1 <= cutoff <= horizon:
        raise UsageError(f"--until {until}: month {cutoff} is outside months 1..{horizon} of "
                         f"{scenario.name}")
    prior_list = read_priors() if priors is None else read_priors(priors)
    out.mkdir(parents=True, exist_ok=True)
    with _design_options(options) as options:
        result = calibrate(scenario, record, priors=prior_list, until=cutoff,
                           particles=particles, runs=runs, batch=batch, quantiles=quantiles,
                           seed=seed % 2**32, checkpoint=out / CHECKPOINT_FILE, resume=resume,
                           on_population=on_population, **options)
        post = result.posterior
        columns = target_columns(scenario)
        full, _ = load_targets(record, scenario.spec.meta.start, horizon, columns)
        stats = scoring.predictive(scenario, post, full, horizon, draws=check_draws,
                                   runs=check_runs, seed=seed, **options)
        checks = scoring.check_table(stats, full)
        post.manifest["calibrate_wall_seconds"] = round(result.seconds, 1)
        post.manifest["fans"] = {"draws": fan_draws, "runs": fan_runs}
        post.save(out)
        checks.to_csv(out / "checks.csv", index=False)
        summary: dict[str, Any] = {"calibrate_seconds": round(result.seconds, 1),
                                   "simulations": post.manifest["budget"]["simulations"],
                                   "targets": [t.name for t in result.targets],
                                   "left_out": result.left_out,
                                   "proposal_notices": post.manifest["proposal_notices"]}
        if cutoff < horizon:
            held = scoring.held_out(result.targets, full)
            if held:
                summary["scores"] = _scores(scenario, post, prior_list, held, full, stats,
                                            cutoff, check_draws, check_runs, seed, out,
                                            **options)
            else:
                summary["scores"] = "no row of the record after the cut-off has a target"
    written = draw_figures(scenario, out, record=record, priors=prior_list, post=post,
                           checks=checks, cutoff=cutoff)
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    summary["written"] = [str(p) for p in (out / "posterior.parquet", out / "manifest.json",
                                           out / "checks.csv", *written)]
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def draw_figures(scenario: Any, out: str | Path, *, record: str | Path = DEFAULT_RECORD,
                 priors: Any = None, post: Any = None, checks: Any = None,
                 cutoff: int | None = None) -> list[Path]:
    """Draw a calibration folder's figures: marginals, pairs, checks and the hindcast fans.

    The fans run the posterior's draws with their monthly figures (``fan_draws`` x
    ``fan_runs`` of the manifest, 40 x 10 by default; one call of the kernel); the rest is read
    from the folder when not given. Returns the paths written (``fans.csv`` among them).
    """
    import pandas as pd

    from analysis.calibration import fans
    from analysis.calibration.abc import Prior, read_priors
    from analysis.calibration.figures import write_figures
    from sim.jobs.posterior import load_posterior

    out = Path(out)
    post = load_posterior(out) if post is None else post
    if priors is None:
        saved = post.manifest.get("priors")
        priors = [Prior(**p) for p in saved] if saved else read_priors()
    checks = pd.read_csv(out / "checks.csv") if checks is None else checks
    cutoff = post.manifest.get("until") if cutoff is None else cutoff
    written = write_figures(post, priors, checks, out)
    size = post.manifest.get("fans", {})
    names, traj = fans.monthly_runs(scenario, post, int(size.get("draws", 40)),
                                    int(size.get("runs", 10)), int(post.manifest.get("seed", 1)))
    table = fans.fan_table(fans.fan_series(names, traj))
    table.to_csv(out / "fans.csv", index=False)
    points = fans.observed_points(record, scenario.spec.meta.start, scenario.spec.meta.horizon)
    fitted = "the whole record" if not cutoff or cutoff >= scenario.spec.meta.horizon \
        else f"the record to month {cutoff}"
    written.append(fans.write_fans(
        table, points, out, cutoff=cutoff,
        title=f"{scenario.name} calibrated on {fitted}: 5-95% and median over posterior draws "
        "x runs; black: the record"))
    written.insert(len(written) - 1, out / "fans.csv")
    return written


@contextmanager
def _design_options(options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The design's backend options, with one Dask client for the whole calibration."""
    backend = options.get("backend")
    if backend != "dask" and options.get("scheduler") is None and not options.get("workers"):
        yield {k: v for k, v in options.items() if k == "chunk_size" and v is not None}
        return
    from sim.jobs.backends import dask_client

    with dask_client(options.get("scheduler"), options.get("workers")) as client:
        kept = {"backend": "dask", "scheduler": client}
        if options.get("chunk_size") is not None:
            kept["chunk_size"] = options["chunk_size"]
        yield kept


def _scores(scenario: Any, post: Any, priors: list, held: list, full: list, stats: Any,
            cutoff: int, draws: int, runs: int, seed: int, out: Path, **options: Any
            ) -> dict[str, Any]:
    from analysis.calibration import scoring

    horizon = scenario.spec.meta.horizon
    index = {t.name: j for j, t in enumerate(full)}
    off = scoring.predictive(scenario, post, full, horizon, draws=draws, runs=runs, seed=seed,
                             fixed=scoring.mechanisms_off(scenario), **options)
    prior = scoring.prior_draws(priors, draws, seed)
    plain = scoring.predictive(scenario, prior, full, horizon, draws=draws, runs=runs,
                               seed=seed, **options)
    probs: dict[str, dict[str, float]] = {"calibrated": {}, "uncalibrated": {},
                                          "mechanisms_off": {}, "base_rate": {}}
    for t in held:
        j = index[t.name]
        probs["calibrated"][t.name] = scoring.event_probability(stats[:, :, j], t)[0]
        probs["uncalibrated"][t.name] = scoring.event_probability(plain[:, :, j], t)[0]
        probs["mechanisms_off"][t.name] = scoring.event_probability(off[:, :, j], t)[0]
        probs["base_rate"][t.name] = scoring.base_rate(t, cutoff)
    table = scoring.score_table(probs, held)
    table.to_csv(out / "scores.csv", index=False)
    means = table[table["event"] == "mean"]
    return {r.model: {"brier": round(r.brier, 4), "log": round(r.log, 4)}
            for r in means.itertuples()}


class _PopulationBar:
    """A progress bar over the sampler's populations (on a terminal), with each threshold."""

    def __init__(self, total: int) -> None:
        import sys

        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="ABC-SMC", unit="population", file=sys.stderr,
                        disable=not sys.stderr.isatty(), dynamic_ncols=True)

    def population(self, k: int, threshold: float, simulations: int) -> None:
        self.bar.set_postfix(threshold=f"{threshold:.3g}", draws=simulations)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        q = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "numbers") from None
    if not q or not all(0 < x < 1 for x in q):
        raise argparse.ArgumentTypeError(f"{text!r}: each quantile must be in (0, 1)")
    return q


def _add_arguments(p: argparse.ArgumentParser) -> None:
    add_scenario_arguments(p, policy="none")
    add_seed_argument(p)
    p.add_argument("--record", default=str(DEFAULT_RECORD),
                   help="the observed record CSV (default scenarios/data/record.csv)")
    p.add_argument("--until", metavar="YYYY-MM",
                   help="cut-off: fit the record up to this month, score the later rows "
                   "(default: fit the whole horizon)")
    p.add_argument("--priors", metavar="CSV", help="priors (default: the bundled priors.csv)")
    p.add_argument("--particles", type=count_argument(10), default=200,
                   help="particles per population (default 200)")
    p.add_argument("--runs", type=count_argument(1), default=8,
                   help="runs per parameter draw (default 8)")
    p.add_argument("--batch", type=count_argument(1), default=20,
                   help="parameter draws per compiled design; they share their runs' random "
                   "numbers, so keep it to a tenth of --particles or less (default 20)")
    p.add_argument("--quantiles", type=_quantiles, default=(0.2, 0.5, 0.5),
                   help="share of distances kept, per population (default 0.2,0.5,0.5)")
    p.add_argument("--check-draws", type=count_argument(1), default=100,
                   help="posterior draws of the checks and scores (default 100)")
    p.add_argument("--check-runs", type=count_argument(1), default=10,
                   help="runs per draw of the checks and scores (default 10)")
    p.add_argument("--fan-draws", type=count_argument(1), default=40,
                   help="posterior draws of the hindcast fan charts (default 40)")
    p.add_argument("--fan-runs", type=count_argument(1), default=10,
                   help="runs per draw of the fan charts (default 10)")
    p.add_argument("--out", metavar="DIR", required=True, help="write the posterior here")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a posterior already in --out")
    p.add_argument("--figures-only", action="store_true",
                   help="redraw the figures of the calibration in --out (runs only the fans)")
    add_backend_arguments(p, resume_help="continue the calibration checkpointed in --out "
                          "(after its last finished population); same posterior as a run "
                          "straight through")


@verb("calibrate", _add_arguments)
def calibrate_command(args: argparse.Namespace) -> int:
    """``diplosim calibrate``: fit, check, score; print where everything went."""
    from sim.cli import backend_options
    from sim.jobs.posterior import DRAWS_FILE
    from sim.scenario import load_scenario

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file")
    scn = load_scenario(args.scenario)
    scn = scn.with_overrides(parse_sets(args.sets)) if args.sets else scn
    if args.figures_only:
        for path in draw_figures(scn, out, record=args.record):
            print(f"wrote {path}")
        return 0
    if (out / DRAWS_FILE).exists() and not (args.overwrite or args.resume):
        raise UsageError(f"--out {out}: already holds a posterior (give --overwrite to "
                         "replace it, --resume to finish it)")
    if args.overwrite and not args.resume:
        (out / CHECKPOINT_FILE).unlink(missing_ok=True)
    elif not args.resume and (out / CHECKPOINT_FILE).exists():
        raise UsageError(f"--out {out}: holds an unfinished calibration (give --resume to "
                         "continue it, --overwrite to start afresh)")
    opts = backend_options(args)
    bar = _PopulationBar(len(args.quantiles))
    try:
        summary = hindcast(scn, out, record=args.record, until=args.until, priors=args.priors,
                           particles=args.particles, runs=args.runs, batch=args.batch,
                           quantiles=args.quantiles, check_draws=args.check_draws,
                           check_runs=args.check_runs, seed=args.seed, fan_draws=args.fan_draws,
                           fan_runs=args.fan_runs, resume=args.resume,
                           on_population=bar.population, backend=opts["backend"],
                           scheduler=opts["scheduler"], workers=opts["workers"],
                           chunk_size=opts["chunk_size"])
    finally:
        bar.close()
    print(f"calibrated {scn.name} on {len(summary['targets'])} targets "
          f"({', '.join(summary['targets'])}) in {summary['calibrate_seconds']} s, "
          f"{summary['simulations']} simulations")
    for name, why in summary["left_out"].items():
        print(f"  left out {name}: {why}")
    if summary.get("proposal_notices"):
        print(f"  ELFI needed 100 or more tries to perturb a batch's proposals inside the priors' "
              f"bounds {summary['proposal_notices']} times (the posterior leans on a bound; "
              f"counted in manifest.json, not printed each time)")
    if "scores" in summary:
        print(f"out-of-sample scores (mean Brier, log; lower is better): {summary['scores']}")
    for path in summary["written"]:
        print(f"wrote {path}")
    return 0
