"""The ``diplosim`` command line: list, validate, run; one-line errors with exit status 2;
results written atomically, with a manifest, reproducibly.

Most tests call ``sim.cli.main([...])`` in-process; a few run the installed ``diplosim``
executable in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.errors import ArgumentError, JobError, UsageError
from sim.results import provenance

EXE = Path(sys.executable).with_name("diplosim")
if not EXE.exists():  # pragma: no cover - an unusual install
    EXE = Path(shutil.which("diplosim") or "diplosim")

PARQUETS = ("monthly.parquet", "events.parquet", "outcomes.parquet")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The error text, asserting it is exactly one line and not a traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("broken")
    base = sim.load_scenario("baseline").to_toml()
    files = {
        "unknown_key.toml": (base.replace("[world]\n", "[world]\nleak_gian = 1.0\n", 1),
                             "world.leak_gian"),
        "nan.toml": (base.replace("shock_sd = 0.02", "shock_sd = nan", 1), "world.shock_sd"),
        "actor.toml": (base.replace('supplier = "IRN"', 'supplier = "IRAN"', 1),
                       "routes.iran_russia_drones.supplier"),
        "syntax.toml": (base + "\n[meta\n", "(file)"),
        "horizon.toml": (base.replace("month = 7", "month = 99", 1), "events.1.month"),
    }
    for name, (text, _) in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


BROKEN_KEYS = {"unknown_key.toml": "world.leak_gian", "nan.toml": "world.shock_sd",
               "actor.toml": "routes.iran_russia_drones.supplier", "syntax.toml": "(file)",
               "horizon.toml": "events.1.month"}


def test_list_shows_scenarios_with_titles_and_policies(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for name in sim.list_scenarios():
        assert name in out
    assert sim.load_scenario("drones_only").spec.meta.title in out
    for policy in sim.list_policies():
        assert policy in out


def test_validate_a_good_file(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(sim.load_scenario("relief_first").to_toml(), encoding="utf-8")
    code, out, err = run_cli(capsys, "validate", str(path))
    assert code == 0 and err == ""
    assert str(path) in out and "valid" in out
    code, out, _ = run_cli(capsys, "validate", "baseline", "--policy", "engagement")
    assert code == 0 and sim.load_scenario("baseline", "engagement").content_hash()[:12] in out


@pytest.mark.parametrize("name", list(BROKEN_KEYS))
def test_validate_a_broken_file_is_one_line_naming_file_and_key(capsys, broken, name):
    path = broken / name
    code, out, err = run_cli(capsys, "validate", str(path))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("diplosim: error: ")
    assert str(path) in line and BROKEN_KEYS[name] in line


def test_run_prints_the_outcome_table_and_the_story(capsys):
    code, out, err = run_cli(capsys, "run", "baseline", "--seed", "7")
    assert code == 0 and err == ""
    model = sim.DiplomacyModel("baseline", seed=7).run()
    assert "seed 7, 36 months" in out
    assert "outcome" in out and "relief_reached" in out and "gdp_index_IRN" in out
    # The seed reached the model: the printed story is the story of seed 7.
    story = out.split("Story of the run:\n", 1)[1].strip()
    assert story == model.story_text()
    assert "Month 1: Iran ships" in story
    for key in ("delivered_iran_russia_drones", "escalations"):
        line = next(x for x in out.splitlines() if x.startswith(key + " "))
        assert line.split()[-1] == f"{model.outcomes()[key]:.0f}"


def test_run_applies_sets_policy_and_months(capsys):
    code, out, _ = run_cli(capsys, "run", "baseline", "--seed", "3", "--months", "12",
                           "--set", "routes.iran_russia_drones.open=0",
                           "--set", "actors.NATO.cohesion=1.0", "--policy", "maximum_pressure")
    assert code == 0
    assert "seed 3, 12 months, policy maximum_pressure" in out
    assert "ships" in out and "Shahed drone" not in "".join(
        line for line in out.splitlines() if " ships " in line)
    assert "Month 13" not in out


@pytest.mark.parametrize(("argv", "words"), [
    (["--set", "actors.USA.escalation_stepp=0.3"], ["actors.USA.escalation_stepp"]),
    (["--set", "actors.USA.escalation_step=1.5"], ["actors.USA.escalation_step"]),
    (["--set", "actors.USA.escalation_step=fast"], ["actors.USA.escalation_step"]),
    (["--set", "world.leak_gain"], ["--set", "world.leak_gain"]),
    (["--set", "=3"], ["--set"]),
    (["--policy", "appeasement"], ["appeasement"]),
    (["--seed", "-1"], ["--seed", "-1"]),
    (["--seed", str(2**64)], ["--seed"]),
    (["--seed", "seven"], ["--seed", "seven"]),
    (["--months", "0"], ["--months", "0"]),
    (["--months", "100000"], ["--months", "100000", "600"]),
    (["--bogus"], ["--bogus"]),
])
def test_run_with_bad_arguments_exits_2_with_one_line(capsys, argv, words):
    try:
        code = main(["run", "baseline", *argv])
    except SystemExit as exc:  # argparse's own errors exit from inside the parser
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    line = one_line_error(err)
    assert line.startswith("diplosim: error: ")
    for word in words:
        assert word in line


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and sim.__version__ in capsys.readouterr().out


def test_run_of_an_unknown_scenario_or_a_missing_verb(capsys):
    code, _, err = run_cli(capsys, "run", "no_such_scenario")
    assert code == 2 and "baseline" in one_line_error(err)
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    one_line_error(capsys.readouterr().err)


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_run_out_writes_parquet_and_a_manifest(capsys, tmp_path):
    out = tmp_path / "results" / "seed7"
    code, stdout, _ = run_cli(capsys, "run", "baseline", "--seed", "7", "--out", str(out),
                              "--quiet", "--set", "world.leak_gain=2.0")
    assert code == 0 and "wrote" in stdout
    assert sorted(p.name for p in out.iterdir()) == sorted([*PARQUETS, "manifest.json"])
    scn = sim.load_scenario("baseline").with_overrides({"world.leak_gain": 2.0})
    model = sim.DiplomacyModel(scn, seed=7).run()
    monthly = pd.read_parquet(out / "monthly.parquet")
    pd.testing.assert_frame_equal(monthly, model.monthly(), check_exact=True)
    events = pd.read_parquet(out / "events.parquet")
    pd.testing.assert_frame_equal(events, model.story_frame())
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert list(outcomes.columns) == ["run", *model.outcomes()]
    man = read_manifest(out)
    assert man["scenario_hash"] == scn.content_hash()
    assert man["scenario_hash"] != sim.load_scenario("baseline").content_hash()
    assert man["seed"] == 7 and man["run"] == 0 and man["months"] == 36
    assert man["engine"] == "mesa" and man["scenario"] == "baseline"
    assert {"python", "diplosim", "numpy", "numba", "mesa", "pandas", "pyarrow"} <= set(
        man["versions"])
    assert man["versions"]["diplosim"] == sim.__version__
    assert man["command_line"] == ["diplosim", "run", "baseline", "--seed", "7", "--out",
                                   str(out), "--quiet", "--set", "world.leak_gain=2.0"]
    assert man["files"] == list(PARQUETS)


def test_the_same_run_twice_gives_identical_files(capsys, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        assert main(["run", "baseline", "--seed", "11", "--policy", "engagement", "--out",
                     str(folder), "--quiet"]) == 0
    capsys.readouterr()
    for name in PARQUETS:
        # The tables are equal, and so are the files byte for byte: pyarrow writes no time
        # stamp, so Parquet metadata (schema, pandas metadata, writer version) is the same.
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name),
                                      check_exact=True)
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = read_manifest(a), read_manifest(b)
    for volatile in ("created_utc", "command_line"):  # the time and the --out folder differ
        ma.pop(volatile), mb.pop(volatile)
    assert ma == mb
    # Another seed gives other data.
    assert main(["run", "baseline", "--seed", "12", "--out", str(tmp_path / "c"), "--quiet"]) == 0
    assert (tmp_path / "c" / "monthly.parquet").read_bytes() != (a / "monthly.parquet").read_bytes()


def test_run_out_onto_a_file_is_refused(capsys, tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    code, _, err = run_cli(capsys, "run", "baseline", "--out", str(target), "--quiet")
    assert code == 2 and str(target) in one_line_error(err)
    assert target.read_text() == "not a folder"


def test_the_executable_runs_validates_and_fails_cleanly(tmp_path, broken):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ok = subprocess.run([str(EXE), "run", "baseline", "--seed", "7", "--months", "8"],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "seed 7, 8 months" in ok.stdout and "Story of the run:" in ok.stdout
    assert sim.DiplomacyModel("baseline", seed=7).run(8).story_text() in ok.stdout
    bad = subprocess.run([str(EXE), "validate", str(broken / "actor.toml")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    line = one_line_error(bad.stderr)
    assert str(broken / "actor.toml") in line and "routes.iran_russia_drones.supplier" in line


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_failed_parquet_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "table.parquet"
    old = pd.DataFrame({"x": [1, 2, 3]})
    provenance.write_parquet_atomic(old, path)
    before = path.read_bytes()

    def broken_to_parquet(self, target, *args, **kwargs):
        target.write(b"PAR1 half a table")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken_to_parquet)
    with pytest.raises(OSError, match="disk full"):
        provenance.write_parquet_atomic(pd.DataFrame({"x": [9]}), path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_a_failed_byte_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    provenance.write_json_atomic(path, {"old": True})

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(provenance.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        provenance.write_json_atomic(path, {"new": True})
    assert json.loads(path.read_text()) == {"old": True}
    assert leftovers(tmp_path) == []
    # A new file that fails is simply absent.
    with pytest.raises(OSError):
        provenance.write_bytes_atomic(tmp_path / "new.bin", b"data")
    assert not (tmp_path / "new.bin").exists()


_KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from sim.results import provenance
    def stall(fd):                       # the data is written but not yet renamed into place
        print("writing", flush=True)
        time.sleep(120)
    provenance.os.fsync = stall
    provenance.write_bytes_atomic(sys.argv[1], b"new content " * 100_000)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_write_never_leaves_a_half_written_file(tmp_path):
    path = tmp_path / "result.bin"
    path.write_bytes(b"old content")
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == b"old content"
    # What a killed writer leaves is a hidden temporary, never the target half-written.
    assert all(name.startswith(".result.bin.") for name in leftovers(tmp_path))


@pytest.mark.parametrize("error, status", [
    (JobError("2 of 5 chunks failed:\nchunk 0 ...\nchunk 3 ..."), 1),
    (ArgumentError("sweep", "design", "unknown design 'nope'"), 2),
    (UsageError("--out x: exists and is not a folder"), 2),
    (sim.ScenarioError("a.toml", "world.shock_sd", "must be finite"), 2),
])
def test_every_diplosim_error_is_one_line_with_its_class_exit_code(capsys, monkeypatch, error,
                                                                  status):
    import sim.commands

    def fail():
        raise error

    monkeypatch.setattr(sim.commands, "list_scenarios", fail)
    assert main(["list"]) == status == type(error).exit_code
    line = one_line_error(capsys.readouterr().err)
    assert line == "diplosim: error: " + " ".join(str(error).split())


@pytest.mark.parametrize("argv", [
    ["facts", "--seed", str(2**64)],
    ["compare", "baseline", "--policy", "status_quo", "--seed", str(2**64)],
    ["sweep", "baseline", "--vary", "world.shock_sd=0:0.05", "--seed", "-1"],
    ["run", "baseline", "--runs", "0"],
    ["compare", "baseline", "--policy", "status_quo", "--runs", "1"],
    ["sweep", "baseline", "--vary", "world.shock_sd=0:0.05", "--runs-per-point", "0"],
    ["run", "baseline", "--runs", "5", "--workers", "0"],
])
def test_shared_flags_refuse_bad_values_the_same_way_in_every_verb(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_line_error(capsys.readouterr().err)
    flag = next(a for a in reversed(argv) if a.startswith("--"))
    assert line.startswith(f"diplosim: error: argument {flag}") and argv[-1] in line
