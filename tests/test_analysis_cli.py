"""The analysis verbs (compare, sweep, report), their errors, the report from saved results alone,
the plots, and the Mesa batch_run example."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import sim
from analysis import plots
from analysis.monthly import bands_of, trajectories
from analysis.sweep import SweepResult
from sim.cli import main

REPO = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # a bad flag value: argparse exits from inside the parser
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A folder with a saved comparison and a saved Sobol sweep with a PRIM box."""
    root = tmp_path_factory.mktemp("results")
    assert main(["compare", "baseline", "--policy", "status_quo", "--policy",
                 "conditional_relief", "--runs", "120", "--months", "36", "--seed", "4",
                 "--out", str(root / "cmp")]) == 0
    assert main(["sweep", "baseline", "--vary", "actors.USA.relief_offer=0:0.9", "--vary",
                 "actors.BRICS.milex=0:1", "--design", "sobol", "--samples", "8",
                 "--runs-per-point", "20", "--months", "18", "--seed", "4", "--outcome",
                 "relief_agreed", "--discover", "relief_agreed>=0.2", "--out",
                 str(root / "sweep")]) == 0
    return root


def test_compare_prints_estimates_differences_and_words(capsys, tmp_path):
    code, out, err = _run(["compare", "baseline", "--policy", "status_quo", "--policy",
                           "maximum_pressure", "--runs", "60", "--months", "12",
                           "--outcome", "relief_reached", "--outcome", "transfers_detected",
                           "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert re.search(r"relief_reached\s+maximum_pressure\s+\S+% \[", out)
    assert "(reference)" in out and " pts [" in out
    assert "Under maximum pressure Iran" in out
    files = {p.name for p in tmp_path.iterdir()}
    assert {"comparison.parquet", "runs.parquet", "manifest.json", "scenario.toml",
            "forest.png"} <= files
    assert (tmp_path / "forest.png").read_bytes().startswith(PNG)


def test_sweep_prints_points_indices_and_box_and_saves_them(saved):
    files = {p.name for p in (saved / "sweep").iterdir()}
    assert {"sweep.parquet", "manifest.json", "sensitivity.parquet", "sensitivity.png",
            "discovery.json", "prim.png", "surface.png"} <= files
    res = SweepResult.load(saved / "sweep")
    assert len(res.table) == 8 * (2 + 2)
    idx = pd.read_parquet(saved / "sweep" / "sensitivity.parquet").set_index("parameter")
    assert idx.loc["actors.BRICS.milex", "ST"] == pytest.approx(0.0, abs=1e-12)


def test_the_same_sweep_twice_gives_the_same_table(tmp_path, capsys):
    args = ["sweep", "baseline", "--vary", "categories.missiles.detection=0.05:0.5",
            "--design", "lhs", "--samples", "5", "--runs-per-point", "15", "--months", "12",
            "--seed", "9"]
    for k in (1, 2):
        assert main([*args, "--out", str(tmp_path / f"s{k}")]) == 0
    capsys.readouterr()
    a = pd.read_parquet(tmp_path / "s1" / "sweep.parquet")
    b = pd.read_parquet(tmp_path / "s2" / "sweep.parquet")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("argv, words", [
    (["sweep", "baseline", "--vary", "actors.XYZ.gdp=1:2"], "unknown key"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0.5:0.2"], "low must be below"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0.5:0.5"], "low must be below"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0.1:0.5", "--samples", "0"],
     "samples >= 1"),
    (["sweep", "baseline", "--vary", "actors.IRN.name=0:1"], "not a numeric"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer"], "KEY=LOW:HIGH"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=a:b"], "must be numbers"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0:1", "--runs-per-point", "0"],
     "at least 1"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0:1.5"], "less than or equal"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0:1", "--vary",
      "actors.USA.relief_offer=0:0.5"], "given twice"),
    (["sweep", "baseline", "--vary", "actors.USA.relief_offer=0:1", "--discover", "x>>1"],
     "OUTCOME>=VALUE"),
    (["sweep", "nonexistent", "--vary", "actors.USA.relief_offer=0:1"], "no bundled scenario"),
    (["compare", "baseline", "--policy", "no_such_policy"], "no bundled policy"),
    (["compare", "baseline", "--policy", "status_quo", "--runs", "0"], "at least 2"),
    (["compare", "baseline", "--policy", "status_quo", "--outcome", "nonsense", "--runs", "5"],
     "unknown outcome"),
    (["report", "/nonexistent/folder"], "not a folder"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diplosim: error:")
    assert words in lines[0]
    assert "Traceback" not in err


def test_report_on_a_folder_without_results_exits_2(tmp_path, capsys):
    code, _, err = _run(["report", str(tmp_path)], capsys)
    assert code == 2 and "no saved results" in err


def test_report_is_built_from_saved_results_alone(saved, tmp_path):
    """A fresh interpreter in which running the model is impossible still builds the report."""
    out = tmp_path / "report.html"
    script = textwrap.dedent(f"""
        import sys
        import sim.engines.ensemble, sim.jobs.ensemble, sim.core.kernel, sim.engines.model
        def forbidden(*a, **k):
            raise AssertionError("the report tried to run the model")
        sim.engines.ensemble.numba_summary = forbidden
        sim.engines.ensemble.run_chunk = forbidden
        sim.jobs.ensemble.run_ensemble = forbidden
        sim.core.kernel.run_kernel = forbidden
        sim.engines.model.DiplomacyModel.__init__ = forbidden
        from sim.cli import main
        sys.exit(main(["report", {str(saved)!r}, "--out", {str(out)!r}]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # self-contained: every image is embedded, nothing is fetched
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 4
    assert all(base64.b64decode(b).startswith(PNG) for b in images)
    assert not re.search(r'(src|href)="https?:', page)
    # the plain-words summary, with levels, CIs and the paired difference
    assert re.search(r"Under conditional relief Iran, United States and European Union \(with "
                     r"the E3\) bring a sanctions-relief deal into force within 36 months in \d+% "
                     r"\[\d+-\d+%\] of runs, [\d.]+ points (more|fewer) than under status quo",
                     page)
    assert "depends most on actors.USA.relief_offer" in page
    assert "PRIM" in page and "relief_agreed&gt;=0.2" in page
    assert "bring a sanctions-relief deal into force" in proc.stdout


def test_report_reads_a_saved_single_run(tmp_path, capsys):
    assert main(["run", "baseline", "--seed", "2", "--months", "10", "--quiet", "--out",
                 str(tmp_path / "one")]) == 0
    code, out, err = _run(["report", str(tmp_path)], capsys)
    assert code == 0, err
    page = (tmp_path / "report.html").read_text()
    assert "One run: baseline" in page and "<h3>Story</h3>" in page


# ---------------------------------------------------------------------------------------------
# Plots and monthly bands


def test_trajectories_are_the_mesa_models_monthly_record():
    traj, names = trajectories("baseline", runs=3, seed=5, months=8)
    model = sim.DiplomacyModel("baseline", seed=5, run=2).run(8)
    np.testing.assert_array_equal(traj[2], model.monthly()[names].to_numpy())


def test_bands_are_ordered_quantiles(tmp_path):
    traj, names = trajectories("baseline", runs=60, seed=1, months=12)
    b = bands_of(traj, names, ["pressure_IRN", "gdp_index_RUS"])
    assert len(b) == 2 * 13
    q = b[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    x = traj[:, 7, names.index("pressure_IRN")]
    row = b[(b["metric"] == "pressure_IRN") & (b["month"] == 7)].iloc[0]
    assert row["q50"] == pytest.approx(np.sort(x)[29]) and row["mean"] == pytest.approx(x.mean())
    fig = plots.fan_chart(b, "pressure", ["IRN"], path=tmp_path / "fan.png")
    assert (tmp_path / "fan.png").read_bytes().startswith(PNG)
    assert len(fig.axes[0].lines) == 1
    with pytest.raises(KeyError):
        bands_of(traj, names, ["nonsense"])


def test_relations_graph_holds_the_months_arms_flows_and_sanctions(tmp_path):
    model = sim.DiplomacyModel("baseline", seed=7).run(12)
    g = plots.relations_graph(model)
    ids = model.compiled.actor_ids
    assert set(g.nodes) == set(ids)
    kinds = [d["kind"] for _, _, d in g.edges(data=True)]
    assert kinds.count("affinity") == len(ids) * (len(ids) - 1) // 2
    sanctions = {(u, v): d["weight"] for u, v, d in g.edges(data=True)
                 if d["kind"] == "sanctions"}
    i, r = ids.index("USA"), ids.index("IRN")
    assert sanctions[("USA", "IRN")] == pytest.approx(model.state.SANC[i, r])
    arms = {(u, v): d["weight"] for u, v, d in g.edges(data=True) if d["kind"] == "arms"}
    delivered = sum(model.outcomes()[c] for c in model.outcomes()
                    if c.startswith("delivered_iran_russia"))
    assert arms[("IRN", "RUS")] == pytest.approx(delivered)
    assert isinstance(g, nx.MultiDiGraph)
    plots.network_plot(g, path=tmp_path / "net.png")
    assert (tmp_path / "net.png").read_bytes().startswith(PNG)


# ---------------------------------------------------------------------------------------------
# Ecosystem: Mesa's batch_run


def test_the_batch_run_example_runs_the_same_models_as_diplosim(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "docs" / "examples" / "batch_run.py"),
                           "--seeds", "2", "--months", "3", "--processes", "1", "--csv"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=240,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    from io import StringIO

    df = pd.read_csv(StringIO(proc.stdout))
    assert len(df) == 4 and set(df["policy"]) == {"status_quo", "maximum_pressure"}
    for row in df.itertuples():
        m = sim.DiplomacyModel("baseline", seed=int(row.rng), policy=row.policy).run(3)
        last = m.monthly().iloc[-1]
        assert row.month == 3
        # The CSV holds repr(float), which reads back to the same bits.
        assert row.pressure_IRN == last["pressure_IRN"]
        assert row.gdp_index_IRN == last["gdp_index_IRN"]


def test_report_reads_a_saved_ensemble_with_its_bands(tmp_path, capsys):
    assert main(["run", "baseline", "--runs", "150", "--months", "12", "--seed", "3", "--out",
                 str(tmp_path / "ens")]) == 0
    code, out, err = _run(["report", str(tmp_path)], capsys)
    assert code == 0, err
    page = (tmp_path / "report.html").read_text()
    assert "Ensemble: baseline" in page and 'alt="fan chart"' in page
    assert re.search(r"(relief|ceasefire) is reached in \d+% \[\d+-\d+%\] of 150 runs", out)


def test_monthly_bands_are_the_ensemble_engines_and_match_exact_quantiles():
    from analysis.monthly import monthly_bands

    b = monthly_bands("baseline", ["pressure_IRN", "war_intensity"], runs=80, seed=2, months=10)
    traj, names = trajectories("baseline", runs=80, seed=2, months=10)
    exact = bands_of(traj, names, ["pressure_IRN", "war_intensity"])
    for col in ("q05", "q25", "q50", "q75", "q95", "mean"):
        np.testing.assert_array_equal(b[col], exact[col])
    with pytest.raises(KeyError):
        monthly_bands("baseline", ["nonsense"], runs=5, months=2)


def test_the_readme_figure_script_draws_every_figure(tmp_path):
    from analysis import figures

    assert figures.main([str(tmp_path), "--quick"]) == 0
    names = {"fan_pressure.png", "forest_policies.png", "network.png", "sobol.png",
             "sweep_surface.png", "prim.png"}
    assert {p.name for p in tmp_path.iterdir()} == names
    assert all((tmp_path / n).read_bytes().startswith(PNG) for n in names)
    assert names <= {p.name for p in (REPO / "docs" / "figures").iterdir()}


def test_every_saved_result_names_its_kind_and_the_report_reads_it(tmp_path):
    """Ensemble, single run, comparison and sweep folders share one format whose manifest names
    the kind; find_results reads it and never guesses from file names."""
    import json

    from analysis.compare import compare_policies
    from analysis.report import find_results
    from analysis.sweep import sweep
    from sim.engines.single import save_single_run
    from sim.errors import UsageError
    from sim.results.provenance import RESULT_FORMAT, read_result_manifest

    scn = sim.load_scenario("baseline")
    sim.run_ensemble(scn, 4, months=3, progress=False).save(tmp_path / "ens")
    save_single_run(sim.DiplomacyModel(scn, seed=1).run(3), tmp_path / "one")
    compare_policies(scn, ["status_quo", "engagement"], runs=3, months=3).save(tmp_path / "cmp")
    sweep(scn, {"actors.USA.relief_offer": (0.1, 0.9)}, design="grid", samples=2,
          runs_per_point=2, months=3).save(tmp_path / "swp")
    # Look-alikes: Parquet files with a manifest of no result kind, or of a former kind.
    (tmp_path / "odd").mkdir()
    sim.run_ensemble(scn, 2, months=3, progress=False).summary.to_parquet(
        tmp_path / "odd" / "summary.parquet")
    (tmp_path / "odd" / "manifest.json").write_text(json.dumps({"seed": 1}))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps({"kind": "single_run"}))
    found = {folder.name: info["kind"] for folder, info in find_results(tmp_path)}
    assert found == {"ens": "ensemble", "one": "single", "cmp": "comparison", "swp": "sweep",
                     "old": "single"}
    for name in ("ens", "one", "cmp", "swp"):
        info = read_result_manifest(tmp_path / name)
        assert info["format"] == RESULT_FORMAT and info["files"]
        assert all((tmp_path / name / f).is_file() for f in info["files"])
    with pytest.raises(UsageError, match="holds a sweep"):
        sim.load_results(tmp_path / "swp")
    with pytest.raises(UsageError, match="not a diplosim result"):
        read_result_manifest(tmp_path / "odd")
