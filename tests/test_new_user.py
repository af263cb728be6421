"""A new user's path (issue 17): nothing lost, no tracebacks, commands that run as written.

The cases run the ``diplosim`` command line in a subprocess, in temporary folders, as a user
would: a child scenario that extends the baseline, output folders that already hold results, a
folder it cannot write, Ctrl-C during a Dask job, the first compile of the kernel, the facts'
run counts, and a 200-actor scenario. Run counts this machine cannot hold are refused before
anything runs, so those cases call the console script's entry point (``sim.cli.main``) in this
process instead (a subprocess would only add its start-up, some 3 s each).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim
from sim.scenario.loading import MAX_ACTORS, scenario_dir, scenario_warnings

EXE = Path(sys.executable).with_name("diplosim")


def diplosim(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300,
             **kwargs) -> subprocess.CompletedProcess:
    """``diplosim ARGS`` in a subprocess from ``cwd``."""
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
                          check=False, **kwargs)


def diplosim_here(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> subprocess.CompletedProcess:
    """``diplosim ARGS`` from ``cwd`` through ``sim.cli.main`` in this process, as its exit
    status, stdout and stderr (an uncaught exception fails the test as a traceback would)."""
    from sim.cli import main

    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse exits from inside the parser
        code = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["diplosim", *args], int(code or 0), out, err)


def one_error_line(proc: subprocess.CompletedProcess, *words: str) -> str:
    """The error of a refused command: exit 2, one line on stderr, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("diplosim: error:")]
    assert len(errors) == 1, proc.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


# ---------------------------------------------------------------------------------------------
# extends: lists merge by key


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


NEW_ACTOR = """
[actors.BLR]
name = "Belarus"
kind = "state"
gdp = 30.0
alignment = -0.9
openness = 0.05
growth = 0.01
leverage = 0.01
capacity = { missiles = 100 }

[routes.blr_russia_missiles]
supplier = "BLR"
recipient = "RUS"
category = "missiles"
"""


def test_a_child_adds_relations_without_losing_the_parents(tmp_path):
    base = sim.load_scenario("baseline")
    child = write(tmp_path / "blr.toml", 'extends = "baseline"\nrelations = [\n'
                  '  { a = "BLR", b = "RUS", affinity = 0.6 },\n'
                  '  { a = "USA", b = "BLR", affinity = -0.9 },\n'
                  '  { a = "RUS", b = "IRN", affinity = 0.9 },\n]\n'
                  'sanctions = [{ sender = "USA", target = "BLR", intensity = 0.9 }]\n'
                  'trade = [{ from = "IRN", to = "BRICS", share = 0.3 }]\n' + NEW_ACTOR)
    scn = sim.load_scenario(child)
    pairs = {frozenset((r.a, r.b)): r.affinity for r in scn.spec.relations}
    assert len(pairs) == len(base.spec.relations) + 2
    assert pairs[frozenset(("IRN", "RUS"))] == 0.9  # same pair, either order: replaced
    assert pairs[frozenset(("BLR", "USA"))] == -0.9
    # replaced in place, new pairs appended: the parent's order is kept
    assert [frozenset((r.a, r.b)) for r in scn.spec.relations][:len(base.spec.relations)] == \
        [frozenset((r.a, r.b)) for r in base.spec.relations]
    assert len(scn.spec.sanctions) == len(base.spec.sanctions) + 1
    shares = {(t.source, t.to): t.share for t in scn.spec.trade}
    assert len(shares) == len(base.spec.trade) and shares[("IRN", "BRICS")] == 0.3
    assert len(scn.spec.events) == len(base.spec.events)
    proc = diplosim("validate", str(child), cwd=tmp_path)
    assert proc.returncode == 0 and "valid" in proc.stdout and "warning" not in proc.stderr


def test_remove_true_deletes_a_parents_entry_and_nothing_else(tmp_path):
    child = write(tmp_path / "c.toml", 'extends = "baseline"\nevents = [\n'
                  '  { month = 7, key = "actors.NATO.warning", remove = true },\n'
                  '  { month = 7, key = "actors.IRN.relief_priority", value = 0.5 },\n]\n'
                  'relations = [{ a = "UKR", b = "BRICS", remove = true }]\n'
                  '[meta]\ntitle = "t"\n')
    scn = sim.load_scenario(child)
    base = sim.load_scenario("baseline").spec.events
    assert [(e.month, e.key, e.value) for e in scn.spec.events] == [
        (e.month, e.key, 0.5 if e.key == "actors.IRN.relief_priority" else e.value)
        for e in base if e.key != "actors.NATO.warning"]
    assert frozenset(("BRICS", "UKR")) not in {frozenset((r.a, r.b)) for r in scn.spec.relations}


@pytest.mark.parametrize("body, key, fault", [
    ('events = [{ month = 10, key = "actors.NATO.warning", remove = true }]', "events.0.remove",
     "has no events entry"),
    ('relations = [{ a = "IRN", b = "RUS", remove = "yes" }]', "relations.0.remove",
     "true or false"),
    ('relations = [{ a = "IRN", b = "RUS", affinity = 0.1, remove = true }]',
     "relations.0.affinity", "only its key"),
    ('sanctions = [{ sender = "USA", target = "RUS", intensity = 0.1 },\n'
     '             { sender = "USA", target = "RUS", intensity = 0.2 }]', "sanctions.1",
     "given twice"),
])
def test_a_bad_merge_is_one_line_naming_the_key(tmp_path, body, key, fault):
    child = write(tmp_path / "bad.toml", f'extends = "baseline"\n{body}\n')
    line = one_error_line(diplosim("validate", str(child), cwd=tmp_path), key, fault)
    assert str(child) in line


def test_remove_without_a_parent_is_refused(tmp_path):
    text = (scenario_dir() / "baseline.toml").read_text(encoding="utf-8")
    text = text.replace('{ a = "IRN", b = "RUS", affinity = 0.5 }',
                        '{ a = "IRN", b = "RUS", remove = true }')
    one_error_line(diplosim("validate", str(write(tmp_path / "x.toml", text)), cwd=tmp_path),
                   "relations.0.remove", "extends")


def test_bundled_what_ifs_merge_to_what_they_say():
    base = sim.load_scenario("baseline")
    drones = sim.load_scenario("drones_only")
    assert "routes.iran_russia_missiles.open" not in {e.key for e in drones.spec.events}
    assert len(drones.spec.events) == len(base.spec.events)
    assert drones.spec.relations == base.spec.relations
    for name in sim.list_scenarios():
        assert scenario_warnings(sim.load_scenario(name).spec) == [], name


def test_validate_warns_about_an_actor_nobody_can_sanction(tmp_path):
    lonely = write(tmp_path / "lonely.toml", 'extends = "baseline"\n' + NEW_ACTOR)
    proc = diplosim("validate", str(lonely), cwd=tmp_path)
    assert proc.returncode == 0 and "valid" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("diplosim: warning")]
    assert len(warnings) == 1 and "actors.BLR: no relation" in warnings[0], proc.stderr
    friendly = write(tmp_path / "friendly.toml", 'extends = "baseline"\nrelations = [\n'
                     '  { a = "BLR", b = "RUS", affinity = 0.6 },\n]\n' + NEW_ACTOR)
    proc = diplosim("validate", str(friendly), cwd=tmp_path)
    assert proc.returncode == 0
    assert "routes.blr_russia_missiles: no sanctioner" in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------------------------
# Nothing lost: output folders


def test_out_refuses_another_kind_and_the_same_kind_unless_told(tmp_path):
    one = diplosim("run", "baseline", "--months", "3", "--out", "res", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    single = sorted(p.name for p in (tmp_path / "res").iterdir())
    ens = diplosim("run", "baseline", "--runs", "20", "--months", "3", "--out", "res",
                   cwd=tmp_path)
    one_error_line(ens, "holds a single run", "--overwrite")
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == single  # untouched
    again = diplosim("run", "baseline", "--months", "3", "--out", "res", cwd=tmp_path)
    one_error_line(again, "holds a single run", "--overwrite")
    cmp = diplosim("compare", "baseline", "--policy", "status_quo", "--policy", "engagement",
                   "--runs", "20", "--months", "3", "--out", "res", cwd=tmp_path)
    one_error_line(cmp, "holds a single run", "not a policy comparison")
    ens = diplosim("run", "baseline", "--runs", "20", "--months", "3", "--out", "res",
                   "--overwrite", cwd=tmp_path)
    assert ens.returncode == 0, ens.stderr
    files = {p.name for p in (tmp_path / "res").iterdir()}
    assert "summary.parquet" in files and not files & {"monthly.parquet", "events.parquet"}
    assert sim.load_results(tmp_path / "res").summary.shape[0] == 20


def test_out_keeps_a_users_files(tmp_path):
    (tmp_path / "mine").mkdir()
    write(tmp_path / "mine" / "notes.txt", "my notes")
    proc = diplosim("run", "baseline", "--months", "2", "--out", "mine", cwd=tmp_path)
    one_error_line(proc, "not a diplosim result")
    proc = diplosim("run", "baseline", "--months", "2", "--out", "mine", "--overwrite",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my notes"


def test_facts_refuses_an_existing_csv_before_computing(tmp_path):
    write(tmp_path / "facts.csv", "mine")
    start = time.perf_counter()
    proc = diplosim("facts", "--runs", "100", "--no-sensitivity", "--csv", "facts.csv",
                    cwd=tmp_path)
    one_error_line(proc, "--csv facts.csv", "exists", "--overwrite")
    assert time.perf_counter() - start < 60
    assert (tmp_path / "facts.csv").read_text() == "mine"


# ---------------------------------------------------------------------------------------------
# No tracebacks: sizes, folders, Ctrl-C


RUN = ("run", "baseline", "--runs")
COMPARE = ("compare", "baseline", "--policy", "status_quo", "--policy", "engagement", "--runs")
FACTS = ("facts", "--no-sensitivity", "--runs")
SWEEP = ("sweep", "baseline", "--vary", "actors.USA.relief_offer=0:0.9", "--runs-per-point")


# 10**8 runs of `run` (about 110 GB) or of a sweep's point could fit a very large machine; from
# 10**9 (over 1 TB) no machine holds them.
@pytest.mark.parametrize("verb, runs", [
    (RUN, "1000000000"), (RUN, "1000000000000"), (COMPARE, "100000000"),
    (COMPARE, "1000000000000"), (FACTS, "100000000"), (FACTS, "1000000000000"),
    (SWEEP, "1000000000"), (SWEEP, "1000000000000"),
])
def test_a_run_count_beyond_memory_is_one_line_before_anything_runs(tmp_path, verb, runs,
                                                                   monkeypatch, capsys):
    start = time.perf_counter()
    proc = diplosim_here(*verb, runs, "--out" if verb[0] != "facts" else "--figures", "res",
                         cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    one_error_line(proc, f"{verb[-1]} {int(runs):,}", "memory", "or fewer")
    assert time.perf_counter() - start < 60
    assert not (tmp_path / "res").exists()  # the folder it would have made is gone again


def test_a_sweep_of_days_is_refused_unless_long_job(tmp_path, monkeypatch, capsys):
    args = ("sweep", "baseline", "--vary", "actors.USA.relief_offer=0:0.9", "--samples",
            "10000", "--runs-per-point", "1000000")
    line = one_error_line(diplosim_here(*args, cwd=tmp_path, monkeypatch=monkeypatch,
                                        capsys=capsys), "days", "2-hour limit", "--long-job")
    assert "10,000,000,000 runs" in line


def _read_only(folder: Path, on: bool) -> None:
    """Make ``folder`` read-only (or writable again), for root too.

    For a user, its mode; root writes regardless of modes, so for root the folder is made
    immutable (``chattr +i``, which root obeys); the test is skipped where that is not possible.
    """
    if os.geteuid() != 0:
        folder.chmod(0o555 if on else 0o755)
        return
    done = subprocess.run(["chattr", "+i" if on else "-i", str(folder)], capture_output=True,
                          check=False)
    if done.returncode != 0 and on:
        pytest.skip(f"cannot make a folder read-only as root here: {done.stderr!r}")


def test_a_read_only_output_folder_is_refused_before_computing(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(ro, True)
    try:
        proc = diplosim("run", "baseline", "--runs", "200", "--out", str(ro / "ens"),
                        cwd=tmp_path)
        existing = diplosim("run", "baseline", "--runs", "200", "--out", str(ro), cwd=tmp_path)
    finally:
        _read_only(ro, False)
    one_error_line(proc, "--out", "cannot create it")
    one_error_line(existing, "--out", "cannot write there")
    assert "compiling" not in proc.stderr + existing.stderr
    assert not any(ro.iterdir())


def _file_size_limit(nbytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


def test_a_full_output_folder_is_refused_before_computing(tmp_path):
    # No file may grow past 64 KB: writes fail as on a full disk (EFBIG; Python ignores SIGXFSZ).
    proc = diplosim("run", "baseline", "--runs", "200", "--out", "full", cwd=tmp_path,
                    preexec_fn=_file_size_limit(64 * 1024))
    one_error_line(proc, "--out full", "cannot write there")
    assert not any((tmp_path / "full").glob("*"))


def _ctrl_c_as_in_a_terminal() -> None:
    # A job started in the background of a non-interactive shell inherits SIGINT ignored, and
    # Python keeps it so: the child gets Ctrl-C's default, as a command typed in a terminal does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_with_workers_is_one_line_and_leaves_nothing_half_written(tmp_path):
    pytest.importorskip("distributed")
    # enough runs to be interrupted, few enough for the memory guard (the baseline has 9 actors)
    # (chunks of 5,000 runs: the first is written a few seconds sooner than one of 20,000)
    cmd = [str(EXE), "run", "baseline", "--runs", "1000000", "--workers", "2", "--chunk-size",
           "5000", "--out", "ens", "--long-job"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg"},
                            start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    # Ctrl-C once the workers compute (a chunk is written), to every process of the job as a
    # terminal sends it
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not any((tmp_path / "ens" / "chunks"
                                                   ).glob("part-*.parquet")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert [line for line in err.splitlines() if "interrupted" in line] == [err.splitlines()[-1]]
    assert err.splitlines()[-1].startswith("diplosim: interrupted")
    assert not (tmp_path / "ens" / "manifest.json").exists()  # no result written half
    assert not list((tmp_path / "ens").rglob(".*.tmp"))
    import pandas as pd

    for part in (tmp_path / "ens" / "chunks").glob("part-*.parquet"):
        assert len(pd.read_parquet(part)) == 5000  # every part kept is whole


# ---------------------------------------------------------------------------------------------
# The first compile says so; a cached kernel is quiet


def test_the_first_compile_says_so_and_a_cached_kernel_is_quiet(tmp_path, numba_kernel):
    # An empty cache: the notice comes within seconds (the compile itself is not waited for:
    # the suite compiles the kernel once already, into the project's cache).
    env = {**os.environ, "MPLBACKEND": "Agg", "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([str(EXE), "run", "baseline", "--runs", "50", "--months", "2"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        first = proc.stderr.readline()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert first == "diplosim: compiling the kernel (first use, up to ~90 s) ...\n", first
    # The project's cache, filled by the session's kernel (and by the first of these runs for
    # anything the command compiles besides): the next run is quiet. Not the empty cache above,
    # which would compile the whole kernel again in every test session.
    diplosim("run", "baseline", "--runs", "50", "--months", "2", cwd=tmp_path, timeout=600)
    again = diplosim("run", "baseline", "--runs", "50", "--months", "2", cwd=tmp_path)
    assert again.returncode == 0 and "compiling" not in again.stderr, again.stderr


# ---------------------------------------------------------------------------------------------
# Facts state their run counts and reasons


def test_facts_state_runs_and_reasons(tmp_path):
    proc = diplosim("facts", "--runs", "200", "--no-sensitivity", "--csv", "f.csv",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "facts reproduced at 200 runs per variant" in proc.stdout
    import pandas as pd

    table = pd.read_csv(tmp_path / "f.csv", keep_default_na=False)
    assert (table["runs"] == 200).all()
    failed = table[table["verdict"] == "not reproduced"]
    assert (failed["reason"].str.len() > 0).all()
    assert (table.loc[table["verdict"] == "reproduced", "reason"] == "").all()


def test_fact_1_inside_its_band_but_unresolved_says_so():
    from analysis.facts.measures import band_reason

    why = band_reason(0.46, 0.40, 0.52, 0.2, 0.5, 300, "episodes")
    assert "inside the band" in why and "300 episodes" in why and "--runs" in why
    assert band_reason(0.3, 0.25, 0.35, 0.2, 0.5, 300, "episodes") == ""
    assert "above the band" in band_reason(0.6, 0.55, 0.65, 0.2, 0.5, 300, "episodes")


def test_fact_2s_figure_ends_at_its_table_figure():
    from analysis.facts import check_facts

    fact = check_facts(runs=200, seed=3, sensitivity=False).facts[1]
    ends = {s: 1 - curve[-1] for s, curve in fact.data["imposed_by_month"].items()}
    for sender, (est, _, _) in fact.data["per_sender"].items():
        assert ends[sender] == pytest.approx(est, abs=1e-12)
        curve = fact.data["imposed_by_month"][sender]
        assert (curve[1:] >= curve[:-1]).all()  # imposed *by* month m: never falls


# ---------------------------------------------------------------------------------------------
# A 200-actor scenario runs; more than the limit is refused


def big_scenario(tmp_path: Path, n: int) -> Path:
    """A scenario extending the baseline to ``n`` actors, each hostile to the US."""
    ids = [f"X{k:03d}" for k in range(n - len(sim.load_scenario("baseline").spec.actors))]
    rel = ",\n".join(f'  {{ a = "{a}", b = "USA", affinity = -0.3 }}' for a in ids)
    actors = "\n".join(f'[actors.{a}]\nname = "{a}"\nkind = "state"\ngdp = 50.0\n'
                       'alignment = 0.0\nopenness = 0.3\ngrowth = 0.02\nleverage = 0.01'
                       for a in ids)
    return write(tmp_path / f"big{n}.toml", f'extends = "baseline"\nrelations = [\n{rel}\n]\n'
                 f'[meta]\ntitle = "{n} actors"\n{actors}\n')


def test_a_200_actor_scenario_runs_and_more_than_the_limit_is_refused(tmp_path):
    big = big_scenario(tmp_path, 200)
    proc = diplosim("validate", str(big), cwd=tmp_path)
    assert proc.returncode == 0 and "200 actors" in proc.stdout, proc.stderr
    run = diplosim("run", str(big), "--runs", "4", "--months", "6", "--out", "big", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert sim.load_results(tmp_path / "big").summary.shape[0] == 4
    too_many = big_scenario(tmp_path, MAX_ACTORS + 1)
    one_error_line(diplosim("validate", str(too_many), cwd=tmp_path),
                   f"{MAX_ACTORS + 1} actors", f"at most {MAX_ACTORS}")
    slow = diplosim("run", str(big), "--runs", "100000", cwd=tmp_path)
    one_error_line(slow, "200 actors", "--long-job")
