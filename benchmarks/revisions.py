"""Kernel throughput of this tree against an earlier revision, side by side in one run.

A refactoring that must not slow the model (issue 10's consolidation, say) is checked here: the
earlier revision is unpacked from git into a temporary folder, and both trees run the same
measurement in fresh processes, alternately, so a busy machine slows both alike. Printed: each
round's run-months/s (the Numba kernel alone through ``compute_chunk``, and a whole
``sim.run_ensemble``; and the kernel's run-months per CPU second of the process, every thread,
which a busy machine disturbs much less than wall-clock time) and the ratio of the means.

    .venv/bin/python benchmarks/revisions.py --base 21b034f --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MEASURE = """
import json, time, numpy as np, numba, sim
from sim.engines.ensemble import compute_chunk
runs, threads = {runs}, {threads}
numba.set_num_threads(threads)
scn = sim.load_scenario("baseline"); cs = scn.compile()
compute_chunk(cs, 1, np.arange(1000, dtype=np.int64), 36)  # compile or load, warm
best = best_cpu = 0.0
for rep in range(3):
    t, c = time.perf_counter(), time.process_time()
    compute_chunk(cs, rep, np.arange(runs, dtype=np.int64), 36)
    best = max(best, runs * 36 / (time.perf_counter() - t))
    best_cpu = max(best_cpu, runs * 36 / (time.process_time() - c))
t = time.perf_counter()
sim.run_ensemble(scn, runs=runs, seed=3, progress=False, bands=False, threads=threads)
print(json.dumps({{"kernel": best, "kernel_cpu": best_cpu,
                  "ensemble": runs * 36 / (time.perf_counter() - t)}}))
"""


def unpack(rev: str, into: Path) -> None:
    """The tree of ``rev`` (sim/ and scenarios/) into folder ``into``."""
    data = subprocess.run(["git", "-C", str(REPO), "archive", rev, "sim", "scenarios"],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")


def measure(tree: Path, runs: int, threads: int) -> dict[str, float]:
    """One fresh process of ``tree``'s code: best-of-3 kernel and one ensemble, run-months/s."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", MEASURE.format(runs=runs, threads=threads)],
                         capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        unpack(args.base, base)
        got: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
        for k in range(args.rounds):
            for name, tree in (("base", base), ("this", REPO)):
                got[name].append(measure(tree, args.runs, args.threads))
                r = got[name][-1]
                print(f"round {k + 1} {name:>4}: kernel {r['kernel']:>11,.0f}  ensemble "
                      f"{r['ensemble']:>11,.0f} run-months/s; kernel per CPU second "
                      f"{r['kernel_cpu']:>11,.0f}", flush=True)
    for what in ("kernel", "ensemble", "kernel_cpu"):
        b = statistics.mean(r[what] for r in got["base"])
        t = statistics.mean(r[what] for r in got["this"])
        print(f"{what}: base {b:,.0f}, this tree {t:,.0f} run-months/s (ratio {t / b:.2f}, "
              f"{args.threads} threads, {args.runs:,} runs x 36 months)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
