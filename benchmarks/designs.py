"""Designs at kernel speed: many parameter points in one compiled call, side by side.

    .venv/bin/python benchmarks/designs.py            # full run, a few minutes
    .venv/bin/python benchmarks/designs.py --quick    # smaller counts, for a smoke test

Prints every figure against its target and writes ``benchmarks/results/designs.json``. Times are
the best of several repetitions (the machine is shared); the load average at the start and the
end is recorded (on a loaded machine every figure is pessimistic). On the baseline, 36 months:

* the ensemble's throughput (``run_ensemble``, summaries only), run-months per second;
* a Latin hypercube of 10,000 points x 10 runs over 5 parameters (``analysis.sweep``: sampling,
  validation once per design, the runs as cell edits of one compiled scenario, the table), its
  throughput and its ratio to the ensemble's (target >= 0.5);
* the same design on a two-worker Dask LocalCluster (cluster start included, and apart);
* the ensemble with monthly bands over without (10,000 runs: histogram bands; target >= 0.8),
  timed alternately;
* first use of ``diplosim run baseline --runs 10000``: cold (an empty Numba cache in a temporary
  ``NUMBA_CACHE_DIR``; target < 20 s) and warm (a new process, the cache filled);
* the kernel against the physical limit of :mod:`benchmarks.engines`: the ensemble's count of
  Philox draws in a bare compiled loop, over the ensemble's time (target >= 0.3).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba

import sim
from analysis.sweep import sweep
from sim.jobs.ensemble import run_ensemble

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "designs.json"
PY = sys.executable
DIPLOSIM = str(Path(PY).with_name("diplosim"))
SEED = 7

#: The five parameters of the design and their ranges (all cells of the baseline).
VARY = {
    "actors.USA.relief_offer": (0.0, 0.9),
    "categories.missiles.detection": (0.05, 0.6),
    "actors.BRICS.openness": (0.0, 1.0),
    "actors.USA.escalation_step": (0.05, 0.4),
    "world.shock_sd": (0.0, 0.05),
}

TARGETS = {"design_over_ensemble": 0.5, "bands_on_over_off": 0.8, "cold_start_seconds": 20.0,
           "physical_limit_ratio": 0.3}


#: CPU seconds (this process, every thread) of each timing :func:`best_of` kept: on a shared
#: machine wall-clock time measures the load as much as the code, CPU time much less.
CPU: dict[str, float] = {}


def best_of(fn, repeat: int, label: str = "") -> float:
    """Shortest of ``repeat`` wall-clock timings of ``fn()``; its least CPU time (over this
    call and earlier calls of the same ``label``) goes to ``CPU``."""
    times = []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t, time.process_time() - c))
    wall, cpu = min(times)
    if label:
        CPU[label] = min([c for _, c in times] + [CPU.get(label, math.inf)])
    return wall


def say(label: str, value: str) -> None:
    print(f"  {label:<64} {value}", flush=True)


def cli_run(runs: int, cache_dir: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``diplosim run baseline --runs RUNS`` in a new process."""
    import resource

    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([DIPLOSIM, "run", "baseline", "--runs", str(runs), "--seed", str(SEED)],
                   env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def physical_limit(scn, runs: int, repeat: int) -> dict:
    """The bare-draw loop of ``benchmarks/engines.py`` against the ensemble, side by side.

    Both timed in turn, best of ``repeat`` each, wall clock and CPU time; the ratio is bare
    over ensemble (1 would be a kernel that does nothing but draw its random numbers).
    """
    sys.path.insert(0, str(REPO / "benchmarks"))
    from engines import bare_draws, draws_per_run_month

    draws = draws_per_run_month(3)
    nu, nn = draws.get("uniform", 0.0), draws.get("normal", 0.0)
    bare_draws(SEED, 4, scn.horizon, nu, nn)
    walls = {"bare": [], "ensemble": []}
    cpus = {"bare": [], "ensemble": []}
    for _ in range(repeat):
        for name, fn in (("bare", lambda: bare_draws(SEED, runs, scn.horizon, nu, nn)),
                         ("ensemble", lambda: run_ensemble(scn, runs, seed=SEED, bands=False,
                                                           progress=False))):
            t, c = time.perf_counter(), time.process_time()
            fn()
            walls[name].append(time.perf_counter() - t)
            cpus[name].append(time.process_time() - c)
    return {"draws_per_run_month": draws, "runs": runs,
            "bare_seconds": min(walls["bare"]), "ensemble_seconds": min(walls["ensemble"]),
            "bare_cpu_seconds": min(cpus["bare"]), "ensemble_cpu_seconds": min(cpus["ensemble"]),
            "ratio": min(walls["bare"]) / min(walls["ensemble"]),
            "ratio_cpu": min(cpus["bare"]) / min(cpus["ensemble"])}


def verdict(name: str, value: float) -> str:
    target = TARGETS[name]
    ok = value < target if name == "cold_start_seconds" else value >= target
    return "met" if ok else "not met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke test)")
    parser.add_argument("--out", default=str(RESULTS), help="where to write the JSON")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the cold first use (it compiles the kernel, 20-100 s)")
    args = parser.parse_args()
    q = args.quick
    n_ens = 4_000 if q else 20_000
    points, runs_per_point = (1_000, 10) if q else (10_000, 10)
    n_bands = 10_000
    repeat = 2 if q else 3
    scn = sim.load_scenario("baseline")
    months = scn.horizon
    res: dict = {"machine": {"python": platform.python_version(), "numba": numba.__version__,
                             "cpus": os.cpu_count(),
                             "numba_threads": numba.config.NUMBA_NUM_THREADS,
                             "load_average_start": os.getloadavg()},
                 "scenario": "baseline", "months": months, "seed": SEED, "quick": q,
                 "targets": TARGETS}
    print(f"diplosim design benchmark (baseline, {months} months); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    t = time.perf_counter()
    run_ensemble(scn, 4, seed=SEED, bands=False, progress=False)
    sweep(scn, VARY, design="lhs", samples=4, runs_per_point=2, seed=SEED, progress=False)
    res["first_calls_seconds_this_process"] = time.perf_counter() - t
    say("first calls in this process (load or compile)",
        f"{res['first_calls_seconds_this_process']:.2f} s")

    # The ensemble.
    t_ens = best_of(lambda: run_ensemble(scn, n_ens, seed=SEED, bands=False, progress=False),
                    repeat, "ensemble")
    ens = n_ens * months / t_ens
    res["ensemble_run_months_per_s"] = ens
    say(f"ensemble, {n_ens:,} runs, summaries only", f"{ens:,.0f} run-months/s")

    # The design, here.
    def design(**backend):
        return sweep(scn, VARY, design="lhs", samples=points, runs_per_point=runs_per_point,
                     seed=SEED, progress=False, **backend)

    t_design = best_of(design, repeat, "design")
    run_months = points * runs_per_point * months
    res["design"] = {"design": "lhs", "points": points, "runs_per_point": runs_per_point,
                     "parameters": list(VARY), "seconds": t_design,
                     "run_months_per_s": run_months / t_design}
    res["design_over_ensemble"] = res["design"]["run_months_per_s"] / ens
    res["design_over_ensemble_cpu"] = (run_months / CPU["design"]) / (n_ens * months
                                                                      / CPU["ensemble"])
    say(f"LHS design {points:,} points x {runs_per_point} runs over {len(VARY)} parameters",
        f"{t_design:.2f} s, {run_months / t_design:,.0f} run-months/s")
    ratio = res["design_over_ensemble"]
    say(f"design / ensemble throughput (target >= {TARGETS['design_over_ensemble']})",
        f"{ratio:.2f} ({verdict('design_over_ensemble', ratio)}); per CPU second "
        f"{res['design_over_ensemble_cpu']:.2f}")

    # The same design on a two-worker LocalCluster (started here; its start timed apart).
    from sim.jobs.backends import dask_client

    t = time.perf_counter()
    with dask_client(workers=2) as client:
        t_start = time.perf_counter() - t
        client.run(lambda: __import__("sim.engines.ensemble"))
        design(scheduler=client)  # warms the workers (kernel loaded from the cache)
        t_dask = best_of(lambda: design(scheduler=client), repeat)
    res["design_dask_2_workers"] = {"seconds": t_dask, "cluster_start_seconds": t_start,
                                    "run_months_per_s": run_months / t_dask,
                                    "over_local": t_design / t_dask}
    say("the same design on a 2-worker LocalCluster (cluster running)",
        f"{t_dask:.2f} s, {run_months / t_dask:,.0f} run-months/s")
    say("  LocalCluster start (apart)", f"{t_start:.2f} s")

    # Bands on and off.
    # Alternately, so that a change of the machine's load hits both alike.
    t_off = t_on = math.inf
    for _ in range(repeat):
        t_off = min(t_off, best_of(lambda: run_ensemble(scn, n_bands, seed=SEED, bands=False,
                                                        progress=False), 1, "bands_off"))
        t_on = min(t_on, best_of(lambda: run_ensemble(scn, n_bands, seed=SEED, bands=True,
                                                      progress=False), 1, "bands_on"))
    res["bands"] = {"runs": n_bands, "off_seconds": t_off, "on_seconds": t_on,
                    "off_run_months_per_s": n_bands * months / t_off,
                    "on_run_months_per_s": n_bands * months / t_on}
    res["bands_on_over_off"] = t_off / t_on
    res["bands_on_over_off_cpu"] = CPU["bands_off"] / CPU["bands_on"]
    say(f"ensemble {n_bands:,} runs without / with bands",
        f"{n_bands * months / t_off:,.0f} / {n_bands * months / t_on:,.0f} run-months/s")
    ratio = res["bands_on_over_off"]
    say(f"bands on / off throughput (target >= {TARGETS['bands_on_over_off']})",
        f"{ratio:.2f} ({verdict('bands_on_over_off', ratio)}); per CPU second "
        f"{res['bands_on_over_off_cpu']:.2f}")

    # First use, cold and warm.
    if not args.no_cold:
        cache = tempfile.mkdtemp(prefix="diplosim-cold-")
        try:
            cold, cold_cpu = cli_run(10_000, cache)
            warm, warm_cpu = min(cli_run(10_000, cache) for _ in range(2))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        res["first_use"] = {"command": "diplosim run baseline --runs 10000",
                            "cold_seconds": cold, "cold_cpu_seconds": cold_cpu,
                            "warm_seconds": warm, "warm_cpu_seconds": warm_cpu}
        res["cold_start_seconds"] = cold
        say("diplosim run baseline --runs 10000, cold (empty Numba cache)",
            f"{cold:.1f} s, {cold_cpu:.1f} CPU s ({verdict('cold_start_seconds', cold)}, "
            "target < 20 s)")
        say("  the same, warm (new process, cache filled)", f"{warm:.1f} s, {warm_cpu:.1f} CPU s")

    # The kernel against the physical limit.
    lim = physical_limit(scn, n_ens, repeat)
    res["physical_limit"] = lim
    res["physical_limit_ratio"] = lim["ratio"]
    res["cpu_seconds"] = CPU
    say(f"bare Philox draws / ensemble time (target >= {TARGETS['physical_limit_ratio']})",
        f"{lim['ratio']:.2f} ({verdict('physical_limit_ratio', lim['ratio'])}); per CPU "
        f"second {lim['ratio_cpu']:.2f}")

    res["machine"]["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
