"""Executable README: every command and Python example in README.md runs as documented.

What is run (in README order, one test per command or block):

- ```` ```sh ```` blocks: every line starting with ``.venv/bin/diplosim`` or ``diplosim`` (a line
  ending in a backslash continues on the next), from the repository root, through the console
  script's entry point ``sim.cli.main`` in this process (``DIPLOSIM_DOCTEST_SUBPROCESS=1``: each
  in its own ``diplosim`` process; one test always runs the installed script). Other lines
  (``make ...``, ``pip ...``) are not run. Exit status 0 is expected.
- ```` ```text ```` and ```` ```console ```` blocks: every transcript line ``$ diplosim ...``.
  If the documented output under it has a line starting with ``diplosim: error:``, the command
  must exit with status 2, print that line on stderr (``...`` in the documented line matches
  anything) and no traceback; otherwise it must exit 0.
- ```` ```python ```` blocks: each block on its own, in a fresh interpreter (the one running the
  tests), from a scratch folder that mirrors the repository root (its top-level entries are
  symlinked), so ``scenarios/...`` paths work and new files land in the scratch folder. Exit
  status 0 is expected. Write only to new top-level paths from a README example.

Outputs never touch the repository: the value of an output option (``--out``, ``--output``,
``-o``, ``--out-dir``, ``--output-dir``, ``--save``) and any argument that looks like a path (it has
a slash or a file extension) and does not exist in the repository are redirected into a scratch
folder, the same way in every command, so a command may read what an earlier one wrote. After
each command the test checks that none of the redirected paths appeared in the repository.

Markers for README writers (put them on the line just before what they apply to):

- ``# doc-test: skip (reason)`` before a command in a sh block, or as the first line of a
  Python block: not run (for a browser, a server, or a long sweep); the reason is reported.
- ``<!-- doc-test: skip (reason) -->`` before a fence: the whole block is not run.
- ``# doc-test: exit N`` before a command: exit status ``N`` is expected instead of 0.

Keep the whole file under about a minute: mark anything slow with a skip and say why.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
TIMEOUT_S = 240

COMMAND_START = re.compile(r"^(\.venv/bin/diplosim|diplosim)(\s|$)")
SKIP = re.compile(r"^\s*(?:#|<!--)\s*doc-test:\s*skip\b\s*(.*?)\s*(?:-->)?\s*$")
EXIT = re.compile(r"^\s*#\s*doc-test:\s*exit\s+(\d+)\s*$")
OUT_OPTIONS = {"--out", "--output", "-o", "--out-dir", "--output-dir", "--outdir", "--save"}
PATH_LIKE = re.compile(r"(/|\.(html|parquet|csv|json|png|svg|pdf|toml|md|txt|zip|nc|zarr|yaml)$)")
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1"}
# Commands run in this process through the console script's entry point (``sim.cli.main``), which
# saves the interpreter start-up and imports of every command (about 2 s of CPU each); set
# DIPLOSIM_DOCTEST_SUBPROCESS=1 to run each in its own ``diplosim`` process instead.
IN_PROCESS = os.environ.get("DIPLOSIM_DOCTEST_SUBPROCESS", "") in ("", "0")


@dataclass
class DocItem:
    """One runnable thing of the README."""

    kind: str  # "sh", "text" or "python"
    line: int  # 1-based line in README.md
    text: str  # the command, or the Python source
    skip: str | None = None
    expect: int = 0
    errors: list[str] = field(default_factory=list)  # documented "diplosim: error:" lines

    @property
    def id(self) -> str:
        first = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"README:{self.line} {first[:60]}"


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------


def extract(markdown: str) -> list[DocItem]:
    """The runnable items of a README, in order, with their markers.

    Fenced blocks are found by a CommonMark parser (markdown-it-py), so fences inside code spans,
    indented fences and longer fences are read as a Markdown renderer reads them.
    """
    items: list[DocItem] = []
    lines = markdown.splitlines()
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type != "fence" or token.map is None:
            continue
        lang = (token.info.split() or [""])[0].lower()
        start = token.map[0] + 1  # 1-based line of the opening fence
        body = token.content.splitlines()
        if lang in ("sh", "bash", "shell"):
            found = _shell_items(body, start)
        elif lang in ("text", "console"):
            found = _transcript_items(body, start)
        elif lang in ("python", "py"):
            found = _python_items(body, start)
        else:
            found = []
        block_skip = _marker_before(lines, token.map[0])
        for item in found:
            if block_skip is not None and item.skip is None:
                item.skip = block_skip
        items.extend(found)
    return items


def _marker_before(lines: list[str], k: int) -> str | None:
    j = k - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0:
        m = SKIP.match(lines[j])
        if m:
            return m.group(1) or "no reason given"
    return None


def _joined(body: list[str], start: int) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with its README line number."""
    out: list[tuple[int, str]] = []
    buf, first = "", None
    for offset, raw in enumerate(body):
        if first is None:
            first = start + offset + 1
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        out.append((first, buf + raw))
        buf, first = "", None
    if buf:
        out.append((first, buf))
    return out


def _shell_items(body: list[str], start: int) -> list[DocItem]:
    items = []
    skip, expect = None, 0
    for line_no, text in _joined(body, start):
        stripped = text.strip()
        m_skip, m_exit = SKIP.match(stripped), EXIT.match(stripped)
        if m_skip:
            skip = m_skip.group(1) or "no reason given"
            continue
        if m_exit:
            expect = int(m_exit.group(1))
            continue
        if COMMAND_START.match(stripped):
            items.append(DocItem("sh", line_no, stripped, skip, expect))
        if stripped:
            skip, expect = None, 0
    return items


def _transcript_items(body: list[str], start: int) -> list[DocItem]:
    items: list[DocItem] = []
    skip = None
    for offset, raw in enumerate(body):
        stripped = raw.strip()
        m_skip = SKIP.match(stripped)
        if m_skip:
            skip = m_skip.group(1) or "no reason given"
            continue
        if stripped.startswith("$ "):
            command = stripped[2:].strip()
            if COMMAND_START.match(command):
                items.append(DocItem("text", start + offset + 1, command, skip))
            skip = None
        elif items and stripped.startswith("diplosim: error:"):
            items[-1].errors.append(stripped)
            items[-1].expect = 2
    return items


def _python_items(body: list[str], start: int) -> list[DocItem]:
    source = "\n".join(body) + "\n"
    if not source.strip():
        return []
    first = next(line for line in body if line.strip())
    m = SKIP.match(first)
    return [DocItem("python", start + 1, source, (m.group(1) or "no reason given") if m else None)]


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


class Redirector:
    """Maps output paths of README commands into a scratch folder, consistently."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.redirected: dict[str, Path] = {}

    def _target(self, value: str) -> Path:
        rel = value.lstrip("./") if not value.startswith("/") else value.lstrip("/")
        target = self.scratch / rel
        self.redirected[value] = target
        return target

    def _under_redirected(self, value: str) -> Path | None:
        for old, new in self.redirected.items():
            if value == old:
                return new
            if value.startswith(old.rstrip("/") + "/"):
                return new / value[len(old.rstrip("/")) + 1:]
        return None

    def path_arg(self, value: str) -> str:
        """A positional or option value: redirected unless it is a file of the repository.

        "Of the repository" means tracked by git (``scenarios/baseline.toml``), not merely
        present: a user's own ``out/`` or ``facts.csv`` from running the README by hand is
        redirected too, so the tests never rewrite it.
        """
        hit = self._under_redirected(value)
        if hit is not None:
            return str(hit)
        if "://" in value:  # an address (tcp://..., https://...), not a path
            return value
        if PATH_LIKE.search(value) and "=" not in value and not in_repository(value):
            return str(self._target(value))
        return value

    def rewrite(self, tokens: list[str]) -> list[str]:
        out: list[str] = tokens[:1]  # the program (``.venv/bin/diplosim``) is not an output
        previous = tokens[0] if tokens else ""
        for tok in tokens[1:]:
            if tok in SHELL_OPERATORS:
                out.append(tok)
            elif previous in OUT_OPTIONS:
                hit = self._under_redirected(tok)
                out.append(str(hit if hit is not None else self._target(tok)))
            elif previous == "--set" or tok.startswith("-") and "=" not in tok:
                out.append(tok)
            elif tok.startswith("-") and "=" in tok:
                opt, _, value = tok.partition("=")
                if opt in OUT_OPTIONS:
                    hit = self._under_redirected(value)
                    value = str(hit if hit is not None else self._target(value))
                elif opt != "--set":
                    value = self.path_arg(value)
                out.append(f"{opt}={value}")
            else:
                out.append(self.path_arg(tok))
            previous = tok
        return out


def _tracked() -> set[str]:
    """Paths git tracks in the repository, and their folders (empty without git)."""
    try:
        proc = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                              timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return set()
    out: set[str] = set()
    for line in proc.stdout.splitlines():
        parts = line.split("/")
        out.update("/".join(parts[:k]) for k in range(1, len(parts) + 1))
    return out


TRACKED = _tracked()


def in_repository(value: str) -> bool:
    """Whether ``value`` names a file or folder the repository ships (tracked by git).

    Without git (an unpacked archive), whatever exists under the repository root counts.
    """
    rel = os.path.normpath(value.lstrip("./") if not value.startswith("/") else value)
    if TRACKED:
        return rel in TRACKED
    return (REPO / value).exists()


def _diplosim() -> list[str]:
    script = Path(sys.executable).with_name("diplosim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTHONSTARTUP", None)
    return env


def run_command(item: DocItem, redirector: Redirector,
                in_process: bool = IN_PROCESS) -> subprocess.CompletedProcess:
    """Run a README command from the repository root, outputs redirected.

    In process, ``sim.cli.main`` (the console script's entry point) is called with the command's
    arguments; otherwise, and always for a command with shell operators, the ``diplosim`` script
    runs in a subprocess.
    """
    tokens = shlex.split(item.text, comments=True)
    rewritten = redirector.rewrite(tokens)
    shell = any(t in SHELL_OPERATORS for t in tokens)
    if in_process and not shell:
        return _run_main(rewritten[1:])
    head = rewritten[0]
    if head == ".venv/bin/diplosim" and (REPO / head).exists():
        argv = [head, *rewritten[1:]]
    else:
        argv = [*_diplosim(), *rewritten[1:]]
    if shell:
        script = " ".join(t if t in SHELL_OPERATORS else shlex.quote(t) for t in argv)
        argv = ["bash", "-o", "pipefail", "-c", script]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S,
                          env=_env(), check=False)


def _alarm(signum, frame):
    raise subprocess.TimeoutExpired("diplosim (in process)", TIMEOUT_S)


def _run_main(args: list[str]) -> subprocess.CompletedProcess:
    """``diplosim ARGS`` in this process, from the repository root; output captured.

    Exit status as the console script would give it: ``main``'s return value, or the code of a
    ``SystemExit`` (argparse); an uncaught exception prints its traceback and gives 1.
    """
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    os.chdir(REPO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except subprocess.TimeoutExpired:
                raise
            except Exception:  # what a user would see as a traceback
                traceback.print_exc()
                code = 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(cwd)
    return subprocess.CompletedProcess(["diplosim", *args], int(code or 0), out.getvalue(),
                                       err.getvalue())


def run_python(item: DocItem, sandbox: Path) -> subprocess.CompletedProcess:
    script = sandbox.parent / f"readme_line_{item.line}.py"
    script.write_text(item.text, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], cwd=sandbox, capture_output=True,
                          text=True, timeout=TIMEOUT_S, env=_env(), check=False)


def _mirror(root: Path) -> Path:
    """A folder whose top-level entries are symlinks to the repository's shipped ones.

    Only entries the repository ships (and ``.venv``): a user's own ``out/`` or ``runs/``
    is not linked, so an example writing there writes into the scratch folder.
    """
    root.mkdir(parents=True, exist_ok=True)
    for entry in REPO.iterdir():
        if not (in_repository(entry.name) or entry.name == ".venv"):
            continue
        if entry.name != ".git" and not (root / entry.name).exists():
            (root / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return root


ITEMS = extract(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def redirector(scratch) -> Redirector:
    return Redirector(scratch / "out")


def _report(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n" \
           f"--- stderr ---\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("item", ITEMS, ids=[i.id for i in ITEMS])
def test_readme_item_runs(item: DocItem, scratch: Path, redirector: Redirector):
    if item.skip is not None:
        pytest.skip(f"README line {item.line}: doc-test: skip {item.skip}")
    try:
        if item.kind == "python":
            proc = run_python(item, _mirror(scratch / "root"))
        else:
            before = {p for p in redirector.redirected if (REPO / p).exists()}
            proc = run_command(item, redirector)
    except subprocess.TimeoutExpired:
        pytest.fail(f"README line {item.line} did not finish in {TIMEOUT_S} s: make it faster "
                    "or mark it `# doc-test: skip (reason)`", pytrace=False)
    if item.kind == "python":
        assert proc.returncode == 0, f"README line {item.line}: Python block failed\n" \
                                     + _report(proc)
        return
    assert proc.returncode == item.expect, (
        f"README line {item.line}: `{item.text}` expected exit {item.expect}\n" + _report(proc))
    assert "Traceback" not in proc.stderr, f"README line {item.line}: traceback\n" \
                                           + _report(proc)
    for documented in item.errors:
        pattern = ".*".join(re.escape(part) for part in documented.split("..."))
        assert any(re.fullmatch(pattern, line.strip()) for line in proc.stderr.splitlines()), (
            f"README line {item.line}: documented error line not printed:\n  {documented}\n"
            + _report(proc))
    leaked = [p for p in redirector.redirected
              if (REPO / p).exists() and p not in before and not in_repository(p)]
    assert not leaked, f"README line {item.line} wrote into the repository: {leaked}"


def test_the_console_script_runs_from_the_repository_root(tmp_path):
    """The first README command, through the installed ``diplosim`` script, as a user types it."""
    first = next(i for i in ITEMS if i.kind == "sh" and i.skip is None)
    proc = run_command(first, Redirector(tmp_path), in_process=False)
    assert proc.returncode == first.expect, _report(proc)
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------
# The extraction itself (so README writers can rely on the rules above)
# ---------------------------------------------------------------------------------------------


def test_readme_has_runnable_examples():
    kinds = [i.kind for i in ITEMS]
    assert kinds.count("sh") >= 3, "README.md should show diplosim commands in ```sh blocks"
    assert "python" in kinds, "README.md should show a Python example"
    assert any(i.expect == 2 and i.errors for i in ITEMS), \
        "README.md should show the one-line error of a bad override (exit 2)"


SAMPLE = """\
Intro.

```sh
make demo    # not run
.venv/bin/diplosim run baseline --seed 7 --out runs/one   # a comment
# doc-test: skip (needs a browser)
diplosim ui
# doc-test: exit 2
diplosim validate broken.toml
diplosim report runs/one \\
    --output report.html
```

<!-- doc-test: skip (a long sweep) -->
```sh
diplosim sweep baseline --runs 100000
```

```python
import sim
```

```python
# doc-test: skip (slow)
import time
```

```text
$ diplosim run baseline --set actors.USA.escalation_step=1.5
diplosim: error: .../baseline.toml (override): actors.USA.escalation_step: too big
```
"""


def test_extraction_follows_the_documented_rules():
    items = extract(SAMPLE)
    got = [(i.kind, i.text.strip().splitlines()[0], i.skip, i.expect) for i in items]
    assert got == [
        ("sh", ".venv/bin/diplosim run baseline --seed 7 --out runs/one   # a comment", None, 0),
        ("sh", "diplosim ui", "(needs a browser)", 0),
        ("sh", "diplosim validate broken.toml", None, 2),
        ("sh", "diplosim report runs/one      --output report.html", None, 0),
        ("sh", "diplosim sweep baseline --runs 100000", "(a long sweep)", 0),
        ("python", "import sim", None, 0),
        ("python", "# doc-test: skip (slow)", "(slow)", 0),
        ("text", "diplosim run baseline --set actors.USA.escalation_step=1.5", None, 2),
    ]
    assert items[0].line == 5 and items[3].line == 10
    assert items[-1].errors == ["diplosim: error: .../baseline.toml (override): "
                                "actors.USA.escalation_step: too big"]


def test_outputs_are_redirected_consistently(tmp_path):
    r = Redirector(tmp_path)
    first = r.rewrite(shlex.split("diplosim run baseline --seed 7 --set a.b=0.3 --out runs/one",
                                  comments=True))
    assert first[:6] == ["diplosim", "run", "baseline", "--seed", "7", "--set"]
    assert first[6] == "a.b=0.3"
    assert first[-1] == str(tmp_path / "runs/one")
    # a later command reading what the first wrote, and a new output file
    second = r.rewrite(["diplosim", "report", "runs/one/monthly.parquet", "--output=out.html"])
    assert second[2] == str(tmp_path / "runs/one/monthly.parquet")
    assert second[3] == f"--output={tmp_path / 'out.html'}"
    # inputs that exist in the repository stay as they are, and so do addresses
    third = r.rewrite(["diplosim", "validate", "scenarios/baseline.toml"])
    assert third[2] == "scenarios/baseline.toml"
    fourth = r.rewrite(["diplosim", "sweep", "baseline", "--scheduler", "tcp://127.0.0.1:8786"])
    assert fourth[-1] == "tcp://127.0.0.1:8786"


def test_commands_run_as_written_in_a_fresh_shell(tmp_path):
    """Every command of a sh block calls ``.venv/bin/diplosim``, which a fresh shell (no
    activated environment: ``.venv/bin`` not on PATH) runs from the repository root."""
    commands = [i for i in ITEMS if i.kind == "sh"]
    assert all(i.text.startswith(".venv/bin/diplosim") for i in commands), [
        i.id for i in commands if not i.text.startswith(".venv/bin/diplosim")]
    if not (REPO / ".venv" / "bin" / "diplosim").exists():
        pytest.skip("no .venv in the repository (make install creates it)")
    first = next(i for i in commands if i.skip is None)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if ".venv" not in p)
    env = {**_env(), "PATH": path or "/usr/bin:/bin", "HOME": os.environ.get("HOME", "")}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-c", first.text], cwd=REPO,
                          capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                          check=False)
    assert proc.returncode == 0, _report(proc)
    assert "Traceback" not in proc.stderr


def test_a_users_own_outputs_in_the_repository_are_redirected_too(tmp_path):
    """After a user ran the README by hand, ``out/`` and ``facts.csv`` exist in the repository:
    the tests must still write elsewhere (git does not track them), never over the user's."""
    r = Redirector(tmp_path)
    assert not in_repository("out/report.html") and not in_repository("facts.csv")
    assert in_repository("scenarios/baseline.toml") and in_repository("./scenarios")
    got = r.rewrite(["diplosim", "facts", "--csv", "facts.csv", "--figures", "out/facts"])
    assert got[3] == str(tmp_path / "facts.csv") and got[5] == str(tmp_path / "out/facts")
    assert r.rewrite(["diplosim", "report", "out/"])[2] == str(tmp_path / "out")
    assert r.rewrite(["diplosim", "validate", "scenarios/baseline.toml"])[2] == \
        "scenarios/baseline.toml"
