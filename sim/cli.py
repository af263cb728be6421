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
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import EXIT_USAGE, DiplosimError, UsageError

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
    """``--runs`` (or ``flag``): a count of Monte Carlo runs, at least ``minimum``."""
    p.add_argument(flag, type=count_argument(minimum), default=default,
                   help=f"{help} (default {default}, at least {minimum})")


def add_months_argument(p: argparse.ArgumentParser) -> None:
    """``--months``: months per run, 1 to :data:`MAX_MONTHS` (default: the horizon)."""
    p.add_argument("--months", type=count_argument(1, MAX_MONTHS),
                   help="months per run (default: the scenario's horizon)")


def add_out_argument(p: argparse.ArgumentParser, what: str) -> None:
    """``--out DIR``: the folder a verb writes ``what`` into (created if missing)."""
    p.add_argument("--out", metavar="DIR", help=f"write {what} here")


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of every verb that runs many runs: where to run them and how to store them.

    ``--out`` is added by :func:`add_out_argument` (each verb says what it writes there);
    ``--resume`` applies to it.
    """
    g = p.add_argument_group("backend (see docs/scaling.md)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="run on a running Dask cluster, e.g. tcp://127.0.0.1:8786")
    g.add_argument("--workers", type=count_argument(1), metavar="N",
                   help="run on a Dask LocalCluster of N worker processes on 127.0.0.1")
    g.add_argument("--chunk-size", type=count_argument(1), metavar="K",
                   help="(point, run) items per chunk on a backend (default: the backend's "
                   "chunk size, sim.jobs.backends.DEFAULT_CHUNK_SIZE); never changes a result")
    g.add_argument("--resume", action="store_true",
                   help="keep every finished chunk in --out DIR and continue the job there if "
                   "it was interrupted, computing only its missing chunks")


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``diplosim``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen_verb(argv))
    args = parser.parse_args(argv)
    try:
        from sim.results.provenance import recording_command_line

        # Manifests record this command line, also when ``main`` is called from Python.
        with recording_command_line(["diplosim", *argv]):
            return int(args._run(args) or 0)
    except DiplosimError as exc:
        print(f"diplosim: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("diplosim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    # Under `python -m sim.cli` this file runs as __main__, a second copy of the module whose
    # table of defined verbs the verb modules never fill: run the imported module's main instead.
    from sim.cli import main as _main

    sys.exit(_main())
