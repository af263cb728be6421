"""The ``diplosim`` command line.

Verbs live in one registry (:data:`VERBS`); each is a pair of functions, one adding its
arguments and one running it. Modules that define more verbs (the analysis package, the app)
register them on import through :func:`verb`; ``main`` imports them from :data:`VERB_MODULES`.
Every user error (a bad scenario, a bad ``--set``) is printed on one line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import EXIT_FAILURE, EXIT_USAGE, JobError, ScenarioError, UsageError


@dataclass(frozen=True)
class Verb:
    """A CLI verb: its help line, how it adds its arguments, and what it runs."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


VERBS: dict[str, Verb] = {}
VERB_MODULES: tuple[str, ...] = (
    "sim.commands", "analysis.commands", "analysis.validation", "classroom.commands",
)


def verb(name: str, help: str, add_arguments: Callable[[argparse.ArgumentParser], None]):
    """Register the decorated function as the CLI verb ``name``."""

    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        VERBS[name] = Verb(name, help, add_arguments, fn)
        return fn

    return register


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


def seed_argument(text: str) -> int:
    """``--seed`` value: an integer in [0, 2**64) (0 is a seed like any other)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= seed < 2**64:
        raise argparse.ArgumentTypeError(f"{seed} is outside [0, 2**64)")
    return seed


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every verb that runs a scenario shares."""
    p.add_argument("scenario", help="bundled scenario name (see `diplosim list`) or a .toml path")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a parameter, e.g. --set actors.USA.escalation_step=0.3")
    p.add_argument("--seed", type=seed_argument, default=0,
                   help="seed of the random numbers, in [0, 2**64) (default 0)")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the CLI.

    ``diplosim: error: ...`` with a pointer to ``--help``, exit status 2.
    """

    def error(self, message: str):  # type: ignore[override]
        """Print the error on one line and exit with status 2."""
        self.exit(EXIT_USAGE, f"diplosim: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered verb."""
    for module in VERB_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # A verb module (or its package) that is not there yet adds no verbs; a missing
            # dependency *inside* one is a real error.
            if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
                raise
    parser = _Parser(
        prog="diplosim",
        description="Agent-based simulation of arms transfers, sanctions and negotiation.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for v in VERBS.values():
        p = sub.add_parser(v.name, help=v.help, description=v.help)
        v.add_arguments(p)
        p.set_defaults(_run=v.run)
    return parser


def _version() -> str:
    import sim

    return f"diplosim {sim.__version__}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``diplosim``; returns the exit status."""
    from sim.results.provenance import recording_command_line

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    try:
        # Manifests record this command line, also when ``main`` is called from Python.
        with recording_command_line(["diplosim", *argv]):
            return int(args._run(args) or 0)
    except (ScenarioError, UsageError) as exc:
        print(f"diplosim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except JobError as exc:
        print(f"diplosim: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("diplosim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


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


if __name__ == "__main__":
    # Under `python -m sim.cli` this file runs as __main__, a second copy of the module whose
    # registry the verb modules never see: run the imported module's main instead.
    from sim.cli import main as _main

    sys.exit(_main())
