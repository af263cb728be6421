"""What the Dask backend costs against the local one, and what it buys.

    .venv/bin/python benchmarks/dask_overhead.py [--runs 100000] [--reps 3]

Measures, on the baseline scenario (its 36-month horizon), warm (the kernel compiled and loaded
on every worker before any timing; cluster start-up timed apart):

* the local backend: one process, the Numba kernel parallel over all cores;
* the Dask backend on a LocalCluster of 2 and of 1 single-threaded worker processes on
  127.0.0.1 (chunks of 5,000 runs, one Numba thread per task);
* the Dask backend with 2 workers writing every chunk durably to a result folder (``out=``);
* the overhead of Dask with 2 workers against the local backend, both on the machine's 2 cores
  (target < 20%), in wall time and in CPU time (driver, which hosts the LocalCluster's scheduler,
  plus workers: on a machine shared with other jobs, CPU time is the steadier measure of what the
  backend itself costs), throughput in run-months per second, and the peak resident memory of
  each worker process and of the driver.

Each figure is the best of ``--reps`` replications, interleaved so that a burst of load on a
shared machine hits every configuration alike. Every Dask result is checked row for row against
the local one. Figures go to stdout and to ``benchmarks/results/dask_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

import sim
from sim.jobs.backends import DEFAULT_CHUNK_SIZE, dask_client, run_durable
from sim.results.provenance import versions

SEED = 2024
RESULTS = Path(__file__).resolve().parent / "results" / "dask_overhead.json"


def _warm() -> int:
    import numpy as np

    import sim
    from sim.engines.ensemble import numba_summary

    numba_summary(sim.load_scenario("baseline"), 0, np.arange(64, dtype=np.int64))
    return os.getpid()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process, all its threads, so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _measured(fn, client=None):
    """(wall seconds, CPU seconds of the driver -- which hosts a LocalCluster's scheduler --
    plus every worker of ``client``, result)."""
    def cpu():
        workers = sum(client.run(_cpu_seconds).values()) if client is not None else 0.0
        return _cpu_seconds() + workers

    c0 = cpu()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    return wall, cpu() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    args = ap.parse_args()

    scn = sim.load_scenario("baseline")
    months = scn.horizon
    run_months = args.runs * months
    _warm()
    load_start = os.getloadavg()[0]
    print(f"baseline, {args.runs:,} runs x {months} months = {run_months:,} run-months; "
          f"chunks of {args.chunk_size:,} runs; {os.cpu_count()} cores; "
          f"load average {load_start:.1f} at start")

    times: dict[str, list[float]] = {"local": [], "dask_2_workers": [], "dask_1_worker": [],
                                      "dask_2_workers_durable": []}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    startup: dict[str, float] = {}
    worker_rss: dict[str, list[float]] = {}
    reference = None
    tmp = Path(tempfile.mkdtemp(prefix="diplosim-bench-"))
    try:
        t, c2cm = _timed(lambda: dask_client(workers=2))
        t_enter, c2 = _timed(c2cm.__enter__)
        startup["dask_2_workers"] = t + t_enter
        t_warm, _ = _timed(lambda: c2.run(_warm))
        startup["dask_2_workers_warm_kernel"] = t_warm
        t, c1cm = _timed(lambda: dask_client(workers=1))
        t_enter, c1 = _timed(c1cm.__enter__)
        startup["dask_1_worker"] = t + t_enter
        c1.run(_warm)
        try:
            for rep in range(args.reps):
                t, c, reference = _measured(lambda: run_durable(
                    scn, args.runs, SEED, chunk_size=args.chunk_size))
                times["local"].append(t)
                cpu["local"].append(c)
                for key, client in (("dask_2_workers", c2), ("dask_1_worker", c1)):
                    t, c, rows = _measured(lambda cl=client: run_durable(
                        scn, args.runs, SEED, chunk_size=args.chunk_size, scheduler=cl), client)
                    pd.testing.assert_frame_equal(rows, reference)
                    times[key].append(t)
                    cpu[key].append(c)
                out = tmp / f"rep{rep}"
                t, c, rows = _measured(lambda o=out: run_durable(
                    scn, args.runs, SEED, chunk_size=args.chunk_size, scheduler=c2, out=o), c2)
                pd.testing.assert_frame_equal(rows, reference)
                times["dask_2_workers_durable"].append(t)
                cpu["dask_2_workers_durable"].append(c)
                shutil.rmtree(out)
                print(f"  rep {rep + 1}: " + ", ".join(
                    f"{k} {v[-1]:.2f} s ({cpu[k][-1]:.1f} CPU s)" for k, v in times.items()),
                    flush=True)
            for key, client in (("dask_2_workers", c2), ("dask_1_worker", c1)):
                worker_rss[key] = sorted(
                    v / 1024.0 for v in client.run(
                        lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).values())
        finally:
            c1cm.__exit__(None, None, None)
            c2cm.__exit__(None, None, None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    best = {k: min(v) for k, v in times.items()}
    best_cpu = {k: min(v) for k, v in cpu.items()}
    overhead = best["dask_2_workers"] / best["local"] - 1.0
    durable_overhead = best["dask_2_workers_durable"] / best["local"] - 1.0
    cpu_overhead = best_cpu["dask_2_workers"] / best_cpu["local"] - 1.0
    result = {
        "scenario": "baseline", "runs": args.runs, "months": months, "reps": args.reps,
        "chunk_size": args.chunk_size, "cores": os.cpu_count(),
        "seconds_best": best, "seconds_all": times,
        "cpu_seconds_best": best_cpu, "cpu_seconds_all": cpu,
        "dask_cpu_overhead_vs_local": cpu_overhead,
        "load_average_start": load_start,
        "run_months_per_second": {k: run_months / v for k, v in best.items()},
        "dask_overhead_vs_local": overhead,
        "dask_durable_overhead_vs_local": durable_overhead,
        "speedup_2_vs_1_worker": best["dask_1_worker"] / best["dask_2_workers"],
        "cluster_startup_seconds": startup,
        "peak_rss_mb_per_worker": worker_rss,
        "peak_rss_mb_driver": _peak_rss_mb(),
        "load_average_end": os.getloadavg()[0],
        "identical_rows": True,
        "machine": platform.platform(), "versions": versions(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    print(f"\n{'configuration':<26} {'best s':>8} {'run-months/s':>14} {'CPU s':>8}")
    for k, v in best.items():
        print(f"{k:<26} {v:8.2f} {run_months / v:14,.0f} {best_cpu[k]:8.1f}")
    print(f"\nDask (2 workers) overhead vs local: {100 * overhead:+.1f}% wall (target < 20%), "
          f"{100 * cpu_overhead:+.1f}% CPU time")
    print(f"Dask (2 workers, durable parts) overhead vs local: {100 * durable_overhead:+.1f}%")
    print(f"2 workers vs 1: {result['speedup_2_vs_1_worker']:.2f}x")
    print("cluster start-up: " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
    for k, v in worker_rss.items():
        print(f"peak RSS per worker ({k}): " + ", ".join(f"{x:.0f} MB" for x in v))
    print(f"peak RSS of the driver (holds the {args.runs:,}-row result): "
          f"{result['peak_rss_mb_driver']:.0f} MB")
    print(f"rows identical to the local backend in every replication; wrote {RESULTS}")


if __name__ == "__main__":
    main()
