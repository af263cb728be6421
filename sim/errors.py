"""The errors a user can meet, and the exit code of each kind: a leaf module every layer imports.

Every fault a user can make (a bad scenario, a bad flag, an unusable output folder) is a
:class:`DiplosimError` whose message names what is wrong and where; the command line prints it on
one line, without a traceback, and exits with its class's :attr:`~DiplosimError.exit_code`.
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2


class DiplosimError(Exception):
    """Base of every error diplosim reports to a user in one line."""

    exit_code: int = EXIT_USAGE


class ScenarioError(DiplosimError, ValueError):
    """A fault in a scenario, overlay or override: names the file, the key path and the fault."""

    def __init__(self, source: str, key: str, fault: str):
        self.source = source
        self.key = key
        self.fault = fault
        super().__init__(f"{source}: {key}: {fault}")


class UsageError(DiplosimError, ValueError):
    """A user error outside scenario files (bad flag value, bad output folder, ...)."""


class ArgumentError(UsageError):
    """A bad argument to an analysis function: not a fault of the scenario.

    An unknown design or outcome name, a run count or sample size too small, a malformed
    condition. Names the function, the argument and the fault, like :class:`ScenarioError`
    names the file, the key and the fault; the CLI prints it on one line and exits 2.
    """

    def __init__(self, function: str, key: str, fault: str):
        self.function = function
        self.key = key
        self.fault = fault
        super().__init__(f"{function}: {key}: {fault}")


class JobError(DiplosimError, RuntimeError):
    """A job that ran but failed in part (chunks that raised): one line on stderr, exit 1."""

    exit_code = EXIT_FAILURE
