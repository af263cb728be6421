"""The ``diplosim`` command line.

Every verb is declared once, in the static table :data:`VERBS`: its name, its help line and the
module that defines it. ``main`` imports only the module of the verb it runs, so ``diplosim list``
does not pay for pandas, Numba or Mesa, and ``diplosim --help`` lists the verbs from the table
without importing any of them. A verb's module defines it with :func:`verb` (a function adding
its arguments and the decorated function running it); the decorator refuses a verb missing from
the table or defined in another module than the table says.

The option groups that several verbs share (the scenario with its policy and ``--set``
overrides, the seed, the run count, the months, the backend flags with ``--out``) are defined
here once. Every :class:`~sim.errors.DiplosimError` is printed on one line, without a traceback,
and the process exits with its class's ``exit_code``; argparse's own errors are one line too
(exit 2).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import EXIT_USAGE, DiplosimError, UsageError

#: Exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130

#: The longest run a scenario may ask for (the schema's bound on ``meta.horizon``), in months.
MAX_MONTHS = 600


@dataclass(frozen=True)
class Verb:
    """A CLI verb as the table declares it: its name, its help line and its module."""

    name: str
    help: str
    module: str


#: Every verb, in the order ``diplosim --help`` lists them.
VERBS: dict[str, Verb] = {v.name: v for v in (
    Verb("list", "list the bundled scenarios and policy overlays", "sim.commands"),
    Verb("validate", "check a scenario file and report the first fault", "sim.commands"),
    Verb("run", "run a scenario once (its story) or many times (an ensemble's outcome table)",
         "sim.commands"),
    Verb("compare", "compare sanctions policies on common random numbers, with paired CIs",
         "analysis.commands"),
    Verb("sweep", "sweep parameters over a design (grid, lhs, sobol, morris): outcomes per "
         "point, sensitivity indices, PRIM boxes", "analysis.commands"),
    Verb("report", "turn saved results into one self-contained HTML page", "analysis.commands"),
    Verb("facts", "check the stylised facts of the sanctions literature (pattern-oriented "
         "validation)", "analysis.facts.command"),
    Verb("calibrate", "fit assumption parameters to the public record (ABC-SMC), check and "
         "score out of sample", "analysis.calibration.command"),
    Verb("ui", "start the classroom app in your browser (on 127.0.0.1) and print its address",
         "classroom.commands"),
)}

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

#: The verbs whose module has been imported: name -> (add its arguments, run it).
_DEFINED: dict[str, tuple[AddArguments, Run]] = {}


def verb(name: str, add_arguments: AddArguments) -> Callable[[Run], Run]:
    """Define the decorated function as the runner of the table's verb ``name``.

    Args:
        name: a verb of :data:`VERBS`, whose ``module`` is the module this is called from.
        add_arguments: adds the verb's arguments to its parser.

    Raises:
        KeyError: ``name`` is not in the table.
        ValueError: the table names another module for ``name``.
    """
    if name not in VERBS:
        raise KeyError(f"verb {name!r} is not in sim.cli.VERBS: declare it there first")

    def define(run: Run) -> Run:
        if run.__module__ != VERBS[name].module:
            raise ValueError(f"verb {name!r} is defined in {run.__module__}, but sim.cli.VERBS "
                             f"says {VERBS[name].module}")
        _DEFINED[name] = (add_arguments, run)
        return run

    return define


def definition(name: str) -> tuple[AddArguments, Run]:
    """The verb's (add arguments, run) pair, importing its module (only it) if needed."""
    if name not in _DEFINED:
        importlib.import_module(VERBS[name].module)
    if name not in _DEFINED:
        raise LookupError(f"module {VERBS[name].module} does not define verb {name!r}")
    return _DEFINED[name]


# ---------------------------------------------------------------------------------------------
# Values of flags (argparse types: a bad value is one line naming the flag, exit 2)


def seed_argument(text: str) -> int:
    """``--seed`` value: an integer in [0, 2**64) (0 is a seed like any other)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= seed < 2**64:
        raise argparse.ArgumentTypeError(f"{seed} is outside [0, 2**64)")
    return seed


def count_argument(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high] (no upper bound if ``high`` is None)."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"{value}: must be {bound}")
        return value

    count.__name__ = "whole number"
    return count


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", ...]`` -> ``{"a.b": 1}``, values read as TOML values."""
    from sim.scenario import parse_override_value

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {item!r}: expected dotted.key=value")
        out[key.strip()] = parse_override_value(value.strip())
    return out


# ---------------------------------------------------------------------------------------------
# Option groups shared by the verbs


def add_scenario_arguments(p: argparse.ArgumentParser, *, policy: str = "one",
                           as_flag: str | None = None) -> None:
    """The scenario a verb runs, its policy overlay(s) and ``--set`` overrides.

    Args:
        p: the verb's parser.
        policy: ``"one"`` (an optional ``--policy NAME``), ``"many"`` (``--policy`` repeated,
            at least once, into ``args.policies``; the first is the reference) or ``"none"``.
        as_flag: None for a positional ``scenario``; else the default of a ``--scenario``
            flag (for verbs that have a natural scenario, such as ``facts``).
    """
    where = "bundled scenario name (see `diplosim list`) or a .toml path"
    if as_flag is None:
        p.add_argument("scenario", help=where)
    else:
        p.add_argument("--scenario", default=as_flag, help=f"{where} (default {as_flag})")
    if policy == "one":
        p.add_argument("--policy", help="policy overlay (see `diplosim list`)")
    elif policy == "many":
        p.add_argument("--policy", action="append", dest="policies", metavar="NAME",
                       required=True, help="a policy overlay (repeat; the first is the reference)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a parameter, e.g. --set actors.USA.escalation_step=0.3")


def add_seed_argument(p: argparse.ArgumentParser) -> None:
    """``--seed``: the seed of every random number, in [0, 2**64), default 0."""
    p.add_argument("--seed", type=seed_argument, default=0,
                   help="seed of the random numbers, in [0, 2**64) (default 0)")


def add_runs_argument(p: argparse.ArgumentParser, default: int, help: str, *,
                      minimum: int = 1, flag: str = "--runs") -> None:
    """``--runs`` (or ``flag``): a count of Monte Carlo runs, at least ``minimum``.

    Also ``--long-job``: a job whose estimated time is above :data:`MAX_JOB_HOURS` is refused
    before it starts (see :func:`check_job_size`) unless it is given.
    """
    p.add_argument(flag, type=count_argument(minimum), default=default,
                   help=f"{help} (default {default}, at least {minimum})")
    p.add_argument("--long-job", action="store_true",
                   help=f"run a job estimated to take more than {MAX_JOB_HOURS:g} hours "
                   "(refused otherwise, before it starts)")


def add_months_argument(p: argparse.ArgumentParser) -> None:
    """``--months``: months per run, 1 to :data:`MAX_MONTHS` (default: the horizon)."""
    p.add_argument("--months", type=count_argument(1, MAX_MONTHS),
                   help="months per run (default: the scenario's horizon)")


def add_out_argument(p: argparse.ArgumentParser, what: str) -> None:
    """``--out DIR``: the folder a verb writes ``what`` into (created if missing).

    Also ``--overwrite``: a folder that already holds a result is refused unless it is given
    (see :func:`sim.results.provenance.claim_output_folder`).
    """
    p.add_argument("--out", metavar="DIR", help=f"write {what} here (a new or empty folder, "
                   "or see --overwrite)")
    add_overwrite_argument(p)


def add_overwrite_argument(p: argparse.ArgumentParser) -> None:
    """``--overwrite``: replace an earlier result in an output folder (refused otherwise)."""
    p.add_argument("--overwrite", action="store_true",
                   help="replace the result already in the output folder (its files are "
                   "deleted before the job starts; other files stay); without it such a "
                   "folder is refused")


def add_backend_arguments(p: argparse.ArgumentParser, *,
                          resume_help: str = "keep every finished chunk in --out DIR and "
                          "continue the job there if it was interrupted, computing only its "
                          "missing chunks") -> None:
    """The flags of every verb that runs many runs: where to run them and how to store them.

    ``--out`` is added by :func:`add_out_argument` (each verb says what it writes there);
    ``--resume`` applies to it, and ``resume_help`` says how (``calibrate`` resumes
    populations, not chunks).
    """
    g = p.add_argument_group("backend (see docs/scaling.md)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="run on a running Dask cluster, e.g. tcp://127.0.0.1:8786")
    g.add_argument("--workers", type=count_argument(1), metavar="N",
                   help="run on a Dask LocalCluster of N worker processes on 127.0.0.1")
    g.add_argument("--chunk-size", type=count_argument(1), metavar="K",
                   help="(point, run) items per chunk on a backend (default: the backend's "
                   "chunk size, sim.jobs.backends.DEFAULT_CHUNK_SIZE); never changes a result")
    g.add_argument("--resume", action="store_true", help=resume_help)


def backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """Backend settings from the flags of :func:`add_backend_arguments`.

    Returns ``backend`` (``"dask"`` or ``"local"``), ``scheduler``, ``workers``, ``resume`` and
    ``chunk_size`` (None when not given: the caller's default applies).

    Raises:
        UsageError: inconsistent flags (both --scheduler and --workers, a scheduler that is not
            an address, --resume without --out).
    """
    scheduler = getattr(args, "scheduler", None)
    workers = getattr(args, "workers", None)
    if scheduler is not None and workers is not None:
        raise UsageError("--scheduler and --workers: give one or the other")
    if scheduler is not None and "://" not in scheduler:
        raise UsageError(f"--scheduler {scheduler!r}: expected an address like "
                         "tcp://127.0.0.1:8786")
    resume = bool(getattr(args, "resume", False))
    if resume and getattr(args, "out", None) is None:
        raise UsageError("--resume needs --out DIR (the folder of the job to continue)")
    return {"backend": "dask" if scheduler is not None or workers is not None else "local",
            "scheduler": scheduler, "workers": workers, "resume": resume,
            "chunk_size": getattr(args, "chunk_size", None)}


def chunked_options(args: argparse.Namespace, out: str | Path | None) -> dict[str, Any]:
    """Keyword arguments for a verb's function from the backend flags.

    Empty (the verb's usual local path) unless a Dask backend or ``--resume`` is asked for;
    otherwise ``backend``, ``scheduler``, ``workers``, ``chunk_size``, ``resume`` and ``out``:
    the chunks of the job are kept in ``OUT/chunks`` (the verb's own files stay in ``OUT``).
    """
    opts = backend_options(args)
    if opts["backend"] != "dask" and not opts["resume"]:
        return {}
    return {**opts, "out": None if out is None else Path(out) / "chunks"}


def ensure_out_dir(path: str | None) -> Path | None:
    """The ``--out`` folder, created if missing; a UsageError if it cannot be."""
    if path is None:
        return None
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {path}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create ({exc.strerror})") from None
    return out


# ---------------------------------------------------------------------------------------------
# Before a job: its size, its output folder, the compiled kernel

#: The longest job the command line starts without ``--long-job``, in estimated hours.
MAX_JOB_HOURS = 2.0
#: Share of the memory available when a job starts that its tables may take.
MEMORY_SHARE = 0.5
#: Run-months per second per core of the compiled kernel on a scenario of
#: :data:`REFERENCE_ACTORS` actors (the baseline: about 900,000 on 2 cores, README), and the
#: exponent of the actor count its cost grows with (a 200-actor scenario: about 80 run-months
#: per second on 2 cores, so about n**2.7). An estimate for refusing jobs that would take days,
#: not a benchmark.
RUN_MONTHS_PER_CORE_S = 450_000.0
#: The same for the Mesa engine (one Mesa model a run, on one core: about 70 run-months a second
#: on the baseline here).
MESA_RUN_MONTHS_S = 70.0
REFERENCE_ACTORS = 6
COST_EXPONENT = 2.7


@dataclass(frozen=True)
class JobSize:
    """What a job will compute and hold, estimated before it starts.

    Attributes:
        flag: the option that sets its size (``--runs``, ``--runs-per-point``), for messages.
        runs: Monte Carlo runs in all (every policy, point or variant).
        months: months per run.
        actors: actors of the scenario.
        memory_bytes: the largest tables it holds at once.
        write_bytes: what it writes into its output folder (0: nothing).
        cores: cores (threads or workers) it runs on.
        rate: run-months per second per core on a scenario of :data:`REFERENCE_ACTORS` actors.
    """

    flag: str
    runs: int
    months: int
    actors: int
    memory_bytes: float
    write_bytes: float = 0.0
    cores: int = 1
    rate: float = RUN_MONTHS_PER_CORE_S

    @property
    def seconds(self) -> float:
        """Estimated time on :attr:`cores` (see :data:`RUN_MONTHS_PER_CORE_S`)."""
        scale = max(1.0, self.actors / REFERENCE_ACTORS) ** COST_EXPONENT
        return self.runs * self.months * scale / (self.rate * max(1, self.cores))


def available_memory() -> int:
    """Bytes of memory available to a new job (``MemAvailable`` on Linux; physical elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:,.0f} days"


def check_job_size(size: JobSize, value: int, *, long_job: bool = False) -> None:
    """Refuse, before anything is allocated, a job this machine cannot hold or should not start.

    Memory: the job's tables may take at most :data:`MEMORY_SHARE` of the memory available now
    (no flag lifts this: the job would fail with a MemoryError). Time: a job estimated above
    :data:`MAX_JOB_HOURS` needs ``--long-job``.

    Args:
        size: the job's estimate.
        value: the value of ``size.flag`` as given, for the message.
        long_job: ``--long-job`` was given.

    Raises:
        UsageError: one line saying what the job needs, the limit, and what to do.
    """
    limit = MEMORY_SHARE * available_memory()
    if size.memory_bytes > limit:
        most = int(value * limit / size.memory_bytes)
        raise UsageError(f"{size.flag} {value:,}: the job would hold about "
                         f"{_gb(size.memory_bytes)} of tables in memory (about "
                         f"{size.memory_bytes / value:,.0f} bytes per run), above the limit of "
                         f"{100 * MEMORY_SHARE:.0f}% of the {_gb(limit / MEMORY_SHARE)} "
                         f"available; use {size.flag} {most:,} or fewer")
    if size.seconds > MAX_JOB_HOURS * 3600 and not long_job:
        cores = f"{size.cores} core" + ("s" if size.cores != 1 else "")
        raise UsageError(f"{size.flag} {value:,}: the job is estimated at about "
                         f"{_duration(size.seconds)} ({size.runs:,} runs of {size.months} months, "
                         f"{size.actors} actors, {cores}), above the {MAX_JOB_HOURS:g}-hour "
                         "limit; use fewer runs, or add --long-job to start it anyway")


def _cores(args: argparse.Namespace) -> int:
    if getattr(args, "workers", None):
        return int(args.workers)
    if getattr(args, "threads", None):
        return int(args.threads)
    return os.cpu_count() or 1


def _job_scenario(args: argparse.Namespace, policy: str | None):
    from sim.scenario import load_scenario

    scn = load_scenario(args.scenario, policy=policy)
    return scn.with_overrides(parse_sets(args.sets)) if getattr(args, "sets", None) else scn


def _row_bytes(scn) -> int:
    """Bytes of one run's row of outcomes (8 bytes a column, the run index included)."""
    from sim.core.outcomes import n_outcomes

    return 8 * (n_outcomes(scn.compile()) + 1)


def _design_points(design: str, samples: int, factors: int) -> int:
    """Points of a sweep design (see :data:`analysis.sweep.DESIGNS`)."""
    return {"grid": samples ** factors, "sobol": samples * (factors + 2),
            "morris": samples * (factors + 1)}.get(design, samples)


def job_size(args: argparse.Namespace) -> tuple[JobSize, int, object] | None:
    """The estimate of the job a verb's arguments ask for, the flag's value and the scenario.

    None for a verb or an invocation that runs no Monte Carlo job (``run --runs 1``, ``list``,
    ``report``, ...). ``facts`` estimates its own job (it knows its variants).
    """
    name = getattr(args, "verb", None)
    chunked = getattr(args, "workers", None) or getattr(args, "scheduler", None) \
        or getattr(args, "resume", False)
    if name == "run" and args.runs > 1:
        scn = _job_scenario(args, args.policy)
        months = args.months or scn.horizon
        row = _row_bytes(scn)
        # the outcome array and its DataFrame (2 copies), the run indices; on the chunked path
        # the rows of the finished chunks too
        memory = args.runs * (2 * row + 8) * (2 if chunked else 1)
        write = args.runs * row * (2 if chunked else 1) if args.out else 0
        mesa = args.engine == "mesa" and not (getattr(args, "workers", None)
                                              or getattr(args, "scheduler", None))
        return (JobSize("--runs", args.runs, months, len(scn.spec.actors), memory, write,
                        1 if mesa else _cores(args),
                        MESA_RUN_MONTHS_S if args.engine == "mesa" else RUN_MONTHS_PER_CORE_S),
                args.runs, scn)
    if name == "compare":
        scn = _job_scenario(args, None)
        months = args.months or scn.horizon
        runs = args.runs * len(args.policies)
        row = _row_bytes(scn)
        memory = runs * (3 * row + 8)  # every policy's runs, the paired table and a copy
        write = runs * row * (2 if chunked else 1) if args.out else 0
        return (JobSize("--runs", runs, months, len(scn.spec.actors), memory, write,
                        _cores(args)), args.runs, scn)
    if name == "sweep":
        scn = _job_scenario(args, args.policy)
        months = args.months or scn.horizon
        points = _design_points(args.design, max(1, args.samples), len(args.vary))
        runs = points * args.runs_per_point
        row = _row_bytes(scn)
        # one point's runs at a time, and the table of points; every run's row when chunked
        memory = (runs if chunked else args.runs_per_point + points) * (2 * row + 8)
        write = (runs if chunked else points) * row if args.out else 0
        return (JobSize("--runs-per-point", runs, months, len(scn.spec.actors), memory, write,
                        _cores(args)), args.runs_per_point, scn)
    return None


#: The kind of result each verb writes into ``--out`` (``run``: by ``--runs``).
OUT_KINDS = {"compare": "comparison", "sweep": "sweep"}


def _claim(path: str, kind: str, flag: str, args: argparse.Namespace, need: float,
           created: list[Path]) -> None:
    from sim.results.provenance import claim_output_folder

    folder, new = claim_output_folder(path, kind, flag=flag,
                                      overwrite=bool(getattr(args, "overwrite", False)),
                                      resume=bool(getattr(args, "resume", False)),
                                      need_bytes=int(need))
    if new:
        created.append(folder)


def claim_outputs(args: argparse.Namespace, size: JobSize | None) -> list[Path]:
    """Check every output of the verb before it computes; return the folders this created.

    See :func:`sim.results.provenance.claim_output_folder`.
    """
    created: list[Path] = []
    name = getattr(args, "verb", None)
    need = size.write_bytes if size is not None else 0
    if name in ("run", "compare", "sweep") and getattr(args, "out", None):
        kind = OUT_KINDS.get(name) or ("single" if args.runs == 1 else "ensemble")
        _claim(args.out, kind, "--out", args, need, created)
    if name == "facts":
        if args.figures:
            _claim(args.figures, "facts", "--figures", args, 0, created)
        if args.csv:
            claim_output_file(args.csv, "--csv", bool(args.overwrite), created)
    return created


def claim_output_file(path: str, flag: str, overwrite: bool, created: list[Path]) -> None:
    """An output file: refused if it exists (unless ``overwrite``); its folder made writable."""
    from sim.results.provenance import probe_folder

    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{flag} {path}: is a folder")
    if target.exists() and not overwrite:
        raise UsageError(f"{flag} {path}: exists; add --overwrite to replace it, or choose a "
                         "new file")
    folder = target.parent
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise UsageError(f"{flag} {path}: cannot create its folder ({exc.strerror})"
                             ) from None
        created.append(folder)
    probe_folder(folder, flag)


#: A first run of the compiled kernel that takes longer than this (seconds) is compiling it
#: (a cached kernel loads in well under a second), and says so on stderr.
COMPILE_NOTICE_S = 8.0


def warm_kernel(scn, *, single: bool) -> float | None:
    """Compile (or load from the cache) what the job runs, saying so if it is compiling.

    Runs two runs of one month (or, for ``single``, one Mesa run of one month). If that takes
    more than :data:`COMPILE_NOTICE_S`, "compiling the kernel (first use, up to ~90 s) ..."
    appears on stderr, and a line with the time when it is done; quiet when the kernel is
    cached. Returns the seconds it took when it compiled, else None.
    """
    import threading
    import time

    said = threading.Event()

    def notice() -> None:
        said.set()
        print("diplosim: compiling the kernel (first use, up to ~90 s) ...", file=sys.stderr,
              flush=True)

    timer = threading.Timer(COMPILE_NOTICE_S, notice)
    timer.daemon = True
    start = time.perf_counter()
    timer.start()
    try:
        if single:
            from sim.engines.model import DiplomacyModel

            DiplomacyModel(scn, seed=0).run(1)
        else:
            from sim.jobs.ensemble import run_ensemble

            run_ensemble(scn, runs=2, seed=0, months=1, progress=False)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - start
    if said.is_set():
        print(f"diplosim: kernel compiled in {seconds:.0f} s (cached for the next runs)",
              file=sys.stderr, flush=True)
        return seconds
    return None


def preflight(args: argparse.Namespace, created: list[Path]) -> None:
    """Everything a job checks before it computes: size, output folders, the kernel.

    Appends to ``created`` the output folders it creates (removed again if the job then fails
    before writing anything in them).
    """
    found = job_size(args)
    size = None
    if found is not None:
        size, value, scn = found
        check_job_size(size, value, long_job=bool(getattr(args, "long_job", False)))
    created.extend(claim_outputs(args, size))
    name = getattr(args, "verb", None)
    if name == "run" and args.runs > 1 and args.engine == "mesa":
        return
    if name == "run" and args.runs == 1:
        warm_kernel(_job_scenario(args, args.policy), single=True)
    elif found is not None:
        warm_kernel(scn, single=False)


def _remove_if_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()  # only succeeds on an empty folder
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# The parser and the entry point


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the CLI.

    ``diplosim: error: ...`` with a pointer to ``--help``, exit status 2.
    """

    def error(self, message: str):  # type: ignore[override]
        """Print the error on one line and exit with status 2."""
        self.exit(EXIT_USAGE, f"diplosim: error: {message} (see `{self.prog} --help`)\n")


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every verb of the table, with the arguments of ``chosen`` only.

    Only the module of ``chosen`` is imported; the other verbs appear (in ``--help`` and as
    choices) with their help line alone.
    """
    parser = _Parser(
        prog="diplosim",
        description="Agent-based simulation of arms transfers, sanctions and negotiation.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for v in VERBS.values():
        p = sub.add_parser(v.name, help=v.help, description=v.help)
        if v.name == chosen:
            add_arguments, run = definition(v.name)
            add_arguments(p)
            p.set_defaults(_run=run)
    return parser


def _version() -> str:
    from sim import __version__

    return f"diplosim {__version__}"


def _chosen_verb(argv: list[str]) -> str | None:
    """The verb ``argv`` asks for: its first word that is not a flag, if the table has it.

    The top-level flags (``--help``, ``--version``) take no value, so the first other word is
    the verb.
    """
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in VERBS else None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _quiet_stderr() -> None:
    """Send what is left of this process's stderr to /dev/null (after an interrupt).

    Once the one line about the interrupt is printed, the process still closes a Dask cluster
    and runs exit handlers that report the interrupted start-up or shutdown at length; the
    user asked to stop, so those reports are not shown.
    """
    try:
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``diplosim``; returns the exit status."""
    as_script = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen_verb(argv))
    args = parser.parse_args(argv)
    created: list[Path] = []
    try:
        from sim.results.provenance import recording_command_line

        # Manifests record this command line, also when ``main`` is called from Python.
        with recording_command_line(["diplosim", *argv]):
            preflight(args, created)
            return int(args._run(args) or 0)
    except DiplosimError as exc:
        _remove_if_empty(created)
        print(f"diplosim: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _remove_if_empty(created)
        print("diplosim: interrupted; nothing half-written is left (with --out and --resume "
              "the finished chunks are kept: rerun with --resume)", file=sys.stderr, flush=True)
        if as_script:
            _quiet_stderr()
        return EXIT_INTERRUPTED
    except MemoryError:
        print("diplosim: error: out of memory; use fewer runs", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            return 0
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"diplosim: error: {where}{exc.strerror or _one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    # Under `python -m sim.cli` this file runs as __main__, a second copy of the module whose
    # table of defined verbs the verb modules never fill: run the imported module's main instead.
    from sim.cli import main as _main

    sys.exit(_main())
