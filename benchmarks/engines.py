"""Mesa engine against the Numba engine, throughput, the physical limit, start-up and memory.

    .venv/bin/python benchmarks/engines.py            # full run, about 10 minutes
    .venv/bin/python benchmarks/engines.py --quick    # smaller counts, a minute or two

Prints every figure and writes ``benchmarks/results/engines.json``. Times are the best of several
repetitions (the machine is shared); compilation is timed apart from execution. The load average
at the start and the end is recorded: on a loaded machine every figure is pessimistic.

Figures (all on the baseline scenario, 36 months):

* Mesa engine (the rules compiled, one ``DiplomacyModel`` per run) against the Numba engine
  (``run_ensemble``), seconds per run, and their ratio (target >= 500x);
* the Mesa model under ``NUMBA_DISABLE_JIT=1`` (plain Python rules: a Mesa model written the usual
  way), in a subprocess, and its ratio to the Numba engine;
* throughput in run-months per second on 1 and 2 threads (target >= 1,000,000 on 2 threads);
* the physical limit: the same count of Philox draws (uniforms and normals in the ensemble's
  mix) in a bare compiled loop, and its time over the ensemble's (target >= 0.3);
* where the time goes: the cost of each phase of a month, measured by running the phase twice
  per month (decisions and pressure are idempotent, so the runs do not change) and taking the
  difference;
* cold start (empty Numba cache) and warm start (a new process, cache present) of
  ``diplosim run baseline --runs 10000`` (target warm < 5 s);
* peak RSS of summary-only ensembles of growing size up to 1,000,000 runs (target < 1 GB), and
  of ensembles with histogram bands, in subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

import sim
from sim.core.rng import normal, uniform
from sim.engines.ensemble import mesa_summary
from sim.jobs.ensemble import run_ensemble

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "engines.json"
PY = sys.executable
DIPLOSIM = str(Path(PY).with_name("diplosim"))
SEED = 7


def best_of(fn, repeat: int, clock=time.perf_counter) -> float:
    """Shortest of ``repeat`` timings of ``fn()`` (wall clock unless told otherwise)."""
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def say(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


# ---- draws per run-month, counted on the pure-Python path --------------------------------------

COUNT_DRAWS = r"""
import collections, json, sys
import numpy as np
import sim.core.rules as R
from sim.engines.ensemble import mesa_summary
from sim.scenario import load_scenario
cnt = collections.Counter()
u0, n0 = R.uniform, R.normal
def u(*a):
    cnt["uniform"] += 1
    return u0(*a)
def n(*a):
    cnt["normal"] += 1
    return n0(*a)
R.uniform, R.normal = u, n
runs = int(sys.argv[1])
with np.errstate(over="ignore"):
    mesa_summary(load_scenario("baseline"), 7, np.arange(runs))
print(json.dumps({k: v / (runs * 36) for k, v in cnt.items()}))
"""


def draws_per_run_month(runs: int) -> dict[str, float]:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([PY, "-W", "ignore", "-c", COUNT_DRAWS, str(runs)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@numba.njit(parallel=True, cache=True)
def bare_draws(seed, nruns, months, n_uniform, n_normal):
    """The ensemble's count of Philox draws in a bare loop: per run-month, ``n_uniform`` uniforms
    and ``n_normal`` normals (fractional counts spread evenly over the months)."""
    acc = np.zeros(nruns)
    for r in numba.prange(nruns):
        s = 0.0
        nu = 0.0
        nn = 0.0
        for m in range(months):
            nu += n_uniform
            nn += n_normal
            while nu >= 1.0:
                s += uniform(seed, r, m, 1, int(nu), 1)
                nu -= 1.0
            while nn >= 1.0:
                s += normal(seed, r, m, 2, int(nn), 6)
                nn -= 1.0
        acc[r] = s
    return acc


# ---- where the time goes ------------------------------------------------------------------------

def make_profile_kernel():
    """A copy of the ensemble's month with one phase run twice (phase 0: none)."""
    from sim.core.month import begin_month, end_month
    from sim.core.rules import (
        DrawKey,
        Params,
        apply_events,
        copy_into,
        decide_sanctions,
        decide_supply,
        decide_track,
        init_state,
        new_decisions,
        new_state,
        update_pressure,
    )

    @numba.njit(parallel=True)
    def kernel(seed, nruns, months, p0, phase):
        n, nc, nr, nt = p0.AP.shape[0], p0.CP.shape[0], p0.RP.shape[0], p0.TP.shape[0]
        out = np.zeros(nruns)
        for run in numba.prange(nruns):
            p = Params(p0.W.copy(), p0.AP.copy(), p0.CP.copy(), p0.RP.copy(), p0.TP.copy(),
                       p0.CAP.copy(), p0.DEM.copy(), p0.TM, p0.AFF0, p0.SANC0, p0.TRADE0, p0.EV)
            s = new_state(n, nc, nr, nt)
            d = new_decisions(n, nr, nt)
            init_state(p, s)
            for month in range(1, months + 1):
                key = DrawKey(seed, run, month)
                begin_month(key, p, s, d)
                if phase == 1:
                    apply_events(-1, p, s)  # a second pass over the events (none fires)
                for _rep in range(2 if phase == 2 else 1):
                    for r in range(nr):
                        decide_supply(r, key, p, s, d)
                for rep in range(2 if phase == 3 else 1):
                    if rep == 1:
                        copy_into(d.DS, s.SANC)  # the sanctions decided again from scratch
                    for i in range(n):
                        decide_sanctions(i, key, p, s, d)
                for _rep in range(2 if phase == 4 else 1):
                    for t in range(nt):
                        decide_track(t, key, p, s, d)
                end_month(key, p, s, d)
                if phase == 5:
                    update_pressure(p, s)
            out[run] = s.SA[0, 0]
        return out

    return kernel


PHASES = {1: "scheduled events", 2: "supply decisions (all routes)",
          3: "sanction decisions (all actors)", 4: "negotiation tracks",
          5: "pressure with leakage (inside resolution)"}


def profile(cs, runs: int, repeat: int) -> dict[str, float]:
    from sim.core.rules import params_of

    kernel = make_profile_kernel()
    args = (np.uint64(SEED), runs, 36, params_of(cs))
    for ph in range(6):
        kernel(args[0], 4, *args[2:], ph)
    per = runs * 36
    # One thread and CPU time: a shared machine steals wall time, not (much) CPU time. Phases are
    # measured interleaved, several rounds, keeping each one's best.
    best = dict.fromkeys(range(6), np.inf)
    for _ in range(repeat):
        for ph in range(6):
            t = best_of(lambda ph=ph: kernel(*args, ph), 1, time.process_time)
            best[ph] = min(best[ph], t / per * 1e9)
    base = best[0]
    costs = {}
    for ph in PHASES:
        costs[PHASES[ph]] = max(0.0, best[ph] - base)
    costs["rest of the resolution, run set-up and loop"] = max(0.0, base - sum(costs.values()))
    costs["total (profiling copy of the month)"] = base
    return costs


# ---- subprocess measurements ---------------------------------------------------------------------

RSS_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
import sim
runs, bands = int(sys.argv[1]), sys.argv[2] == "1"
t = time.perf_counter()
res = sim.run_ensemble("baseline", runs, seed=7, bands=bands, progress=False)
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"runs": runs, "bands": bands, "seconds": dt, "peak_rss_bytes": peak,
                  "summary_bytes": int(res.summary.memory_usage(deep=True).sum())}))
"""


def peak_rss(runs: int, bands: bool) -> dict:
    out = subprocess.run([PY, "-c", RSS_SCRIPT, str(runs), "1" if bands else "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_import_rss() -> int:
    code = ("import resource, sim; sim.run_ensemble('baseline', 2, months=1, bands=False, "
            "progress=False); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")
    return int(subprocess.run([PY, "-c", code], capture_output=True, text=True,
                              check=True).stdout.split()[-1])


def cli_start(runs: int, cache_dir: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    t = time.perf_counter()
    subprocess.run([DIPLOSIM, "run", "baseline", "--runs", str(runs), "--seed", "7"], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - t


PURE_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
import sim
from sim.engines.ensemble import mesa_summary
scn = sim.load_scenario("baseline")
runs = int(sys.argv[1])
with np.errstate(over="ignore"):
    mesa_summary(scn, 7, np.arange(1))
    t = time.perf_counter()
    mesa_summary(scn, 7, np.arange(1, runs + 1))
print(json.dumps({"seconds_per_run": (time.perf_counter() - t) / runs}))
"""


def pure_python_mesa(runs: int) -> float:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([PY, "-c", PURE_SCRIPT, str(runs)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds_per_run"]


# ---- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (for a smoke test)")
    parser.add_argument("--out", default=str(RESULTS), help="where to write the JSON")
    args = parser.parse_args()
    q = args.quick
    n_numba = 4_000 if q else 20_000
    n_mesa = 10 if q else 40
    n_pure = 2 if q else 6
    repeat = 3 if q else 5
    rss_runs = [10_000, 100_000] if q else [10_000, 100_000, 300_000, 1_000_000]
    band_runs = [10_000] if q else [10_000, 100_000, 300_000]
    scn = sim.load_scenario("baseline")
    cs = scn.compile()
    months = scn.horizon
    threads_max = numba.config.NUMBA_NUM_THREADS
    res: dict = {"machine": {"python": platform.python_version(), "numba": numba.__version__,
                             "cpus": os.cpu_count(), "numba_threads": threads_max,
                             "load_average_start": os.getloadavg()},
                 "scenario": "baseline", "months": months, "seed": SEED, "quick": q}
    print(f"diplosim engine benchmark (baseline, {months} months); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    # Compilation, timed apart.
    t = time.perf_counter()
    run_ensemble(scn, 4, seed=SEED, bands=False, progress=False)
    res["first_call_seconds_this_process"] = time.perf_counter() - t
    say("first ensemble call in this process (load or compile)",
        f"{res['first_call_seconds_this_process']:.2f} s")

    # Mesa engine against the Numba engine, the same runs.
    mesa_summary(scn, SEED, np.arange(1))
    t_mesa = best_of(lambda: mesa_summary(scn, SEED, np.arange(n_mesa)), 2) / n_mesa
    thr = {}
    per_run = {}
    for th in range(1, min(2, threads_max) + 1):
        numba.set_num_threads(th)
        t_nb = best_of(lambda: run_ensemble(scn, n_numba, seed=SEED, bands=False,
                                            progress=False), repeat)
        thr[th] = n_numba * months / t_nb
        per_run[th] = t_nb / n_numba
    numba.set_num_threads(threads_max)
    t_bands = best_of(lambda: run_ensemble(scn, n_numba, seed=SEED, progress=False), repeat)
    best_th = min(per_run, key=per_run.get)  # the faster thread count on this machine now
    res["mesa_seconds_per_run"] = t_mesa
    res["numba_seconds_per_run"] = {str(k): v for k, v in per_run.items()}
    res["mesa_over_numba"] = t_mesa / per_run[best_th]
    res["throughput_run_months_per_s"] = {str(k): v for k, v in thr.items()}
    res["throughput_with_histogram_bands_run_months_per_s"] = n_numba * months / t_bands
    say("Mesa engine (compiled rules), per run", f"{t_mesa * 1e3:.2f} ms")
    for th in per_run:
        say(f"Numba engine, per run, {th} thread(s)", f"{per_run[th] * 1e6:.1f} us")
    say(f"ratio Mesa / Numba ({best_th} threads; target >= 500)",
        f"{res['mesa_over_numba']:.0f}x")
    for th in thr:
        say(f"throughput, {th} thread(s) (target >= 1,000,000 on 2)",
            f"{thr[th]:,.0f} run-months/s")
    say(f"throughput with histogram bands, {best_th} threads",
        f"{res['throughput_with_histogram_bands_run_months_per_s']:,.0f} run-months/s")

    # Plain-Python Mesa model.
    t_pure = pure_python_mesa(n_pure)
    res["mesa_pure_python_seconds_per_run"] = t_pure
    res["pure_python_over_numba"] = t_pure / per_run[best_th]
    say("Mesa model, NUMBA_DISABLE_JIT=1 (plain Python), per run", f"{t_pure * 1e3:.1f} ms")
    say("ratio plain-Python Mesa / Numba", f"{res['pure_python_over_numba']:,.0f}x")

    # Physical limit: the same draws in a bare loop.
    draws = draws_per_run_month(3 if q else 10)
    nu, nn = draws.get("uniform", 0.0), draws.get("normal", 0.0)
    numba.set_num_threads(best_th)
    bare_draws(SEED, 4, months, nu, nn)
    t_bare = best_of(lambda: bare_draws(SEED, n_numba, months, nu, nn), repeat)
    numba.set_num_threads(threads_max)
    t_ens = n_numba * months / thr[best_th]
    res["draws_per_run_month"] = draws
    res["bare_draws_seconds"] = t_bare
    res["ensemble_seconds_same_runs"] = t_ens
    res["physical_limit_ratio"] = t_bare / t_ens
    say("Philox draws per run-month (uniform + normal)", f"{nu:.2f} + {nn:.2f}")
    say(f"bare loop of those draws, {n_numba} runs, {best_th} threads", f"{t_bare:.3f} s")
    say(f"ensemble, same runs, {best_th} threads", f"{t_ens:.3f} s")
    say("physical limit ratio bare / ensemble (target >= 0.3)",
        f"{res['physical_limit_ratio']:.2f}")

    # Where the time goes (one thread, ns per run-month).
    numba.set_num_threads(1)
    costs = profile(cs, 2000 if q else 5000, 3 if q else 7)
    numba.set_num_threads(threads_max)
    numba.set_num_threads(1)
    t_bare1 = best_of(lambda: bare_draws(SEED, n_numba, months, nu, nn), repeat,
                      time.process_time)
    numba.set_num_threads(threads_max)
    costs["of which Philox draws (bare-loop equivalent)"] = t_bare1 / (n_numba * months) * 1e9
    res["profile_ns_per_run_month_1_thread"] = costs
    print("  where the time goes, 1 thread, ns per run-month:")
    for k, v in costs.items():
        say(f"  {k}", f"{v:,.0f} ns")

    # Cold and warm start of the command line.
    with tempfile.TemporaryDirectory() as cache:
        cold = cli_start(10_000, cache)
        warm = min(cli_start(10_000, cache) for _ in range(2))
    res["cli_10000_runs_cold_seconds"] = cold
    res["cli_10000_runs_warm_seconds"] = warm
    say("diplosim run baseline --runs 10000, cold (empty cache)", f"{cold:.1f} s")
    say("diplosim run baseline --runs 10000, warm (target < 5 s)", f"{warm:.2f} s")

    # Memory.
    res["rss_after_import_and_tiny_run_bytes"] = baseline_import_rss()
    res["rss_summary_only"] = [peak_rss(n, False) for n in rss_runs]
    res["rss_with_histogram_bands"] = [peak_rss(n, True) for n in band_runs]
    say("peak RSS after import and a tiny run",
        f"{res['rss_after_import_and_tiny_run_bytes'] / 2**20:,.0f} MiB")
    for r in res["rss_summary_only"]:
        say(f"peak RSS, {r['runs']:,} runs, summary only (target < 1 GB at 1M)",
            f"{r['peak_rss_bytes'] / 2**20:,.0f} MiB (summary {r['summary_bytes'] / 2**20:,.0f}"
            f" MiB, {r['seconds']:.1f} s)")
    for r in res["rss_with_histogram_bands"]:
        say(f"peak RSS, {r['runs']:,} runs, with bands",
            f"{r['peak_rss_bytes'] / 2**20:,.0f} MiB (summary {r['summary_bytes'] / 2**20:,.0f}"
            f" MiB, {r['seconds']:.1f} s)")
    res["machine"]["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {args.out}; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
