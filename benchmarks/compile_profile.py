"""Where a cold first use spends its compilation: per function, per specialisation, per pass.

    .venv/bin/python benchmarks/compile_profile.py    # diplosim run baseline --runs 10000
    .venv/bin/python benchmarks/compile_profile.py -- run baseline --runs 100 --no-bands

Runs the ``diplosim`` command given after ``--`` in a new process with an empty Numba cache (a
temporary ``NUMBA_CACHE_DIR``), listening to Numba's compile events (``numba.core.event``), and
prints: wall and CPU seconds of the whole command; every compiled function with its number of
specialisations (argument types compiled for) and its own compile time (nested compiles of its
callees excluded); and the compiler passes that took the time (type inference, Numba's lowering,
LLVM's optimisation and code generation inside ``NativeLowering``...). Writes
``benchmarks/results/compile_profile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "compile_profile.json"
DEFAULT_COMMAND = ["run", "baseline", "--runs", "10000", "--seed", "7"]

_CHILD = r"""
import json, os, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from numba.core import event as ev

stack, funcs, passes = [], {}, {}
pass_stack = []

class Compiles(ev.Listener):
    def on_start(self, event):
        disp = event.data["dispatcher"]
        name = f"{disp.py_func.__module__}.{disp.py_func.__qualname__}"
        stack.append([name, str(event.data["args"]), time.perf_counter(), 0.0])
    def on_end(self, event):
        name, args, start, nested = stack.pop()
        total = time.perf_counter() - start
        if stack:
            stack[-1][3] += total
        f = funcs.setdefault(name, {"specialisations": [], "self_seconds": 0.0,
                                    "total_seconds": 0.0})
        f["specialisations"].append(args)
        f["self_seconds"] += total - nested
        f["total_seconds"] += total

class Passes(ev.Listener):
    def on_start(self, event):
        pass_stack.append([event.data["name"], time.perf_counter(), 0.0])
    def on_end(self, event):
        name, start, nested = pass_stack.pop()
        total = time.perf_counter() - start
        if pass_stack:
            pass_stack[-1][2] += total
        passes[name] = passes.get(name, 0.0) + total - nested

llvm, per_library = {}, {}

def _timed(cls, method, label):
    inner = getattr(cls, method)
    def wrapper(self, *a, **k):
        t = time.perf_counter()
        try:
            return inner(self, *a, **k)
        finally:
            dt = time.perf_counter() - t
            llvm[label] = llvm.get(label, 0.0) + dt
            lib = per_library.setdefault(self.name, {})
            lib[label] = lib.get(label, 0.0) + dt
    setattr(cls, method, wrapper)

from numba.core import codegen as _cg
_timed(_cg.CPUCodeLibrary, "_optimize_functions", "LLVM function passes")
_timed(_cg.CPUCodeLibrary, "_optimize_final_module", "LLVM module passes (linked callees)")
_timed(_cg.JITCodeLibrary, "_finalize_specific", "machine code (MCJIT)")
_timed(_cg.CPUCodeLibrary, "serialize_using_object_code", "cache: object code")
ev.register("numba:compile", Compiles())
ev.register("numba:run_pass", Passes())
from sim.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
json.dump({"wall_seconds": wall, "cpu_seconds": cpu, "exit": code, "functions": funcs,
           "passes": passes, "llvm": llvm,
           "llvm_per_library": per_library}, open(os.environ["PROFILE_OUT"], "w"))
"""


def profile(command: list[str], env_extra: dict[str, str] | None = None,
            tree: Path = REPO) -> dict:
    """Profile ``diplosim COMMAND`` of the code in ``tree``, new process, empty Numba cache."""
    cache = tempfile.mkdtemp(prefix="diplosim-cold-")
    out = Path(cache) / "profile.json"
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PROFILE_OUT": str(out), **(env_extra or {})}
    if tree != REPO:
        env["PYTHONPATH"] = str(tree)
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", _CHILD, *command], env=env, check=True,
                       capture_output=True, cwd=tree)
        outer = time.perf_counter() - t
        res = json.loads(out.read_text())
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    res["process_wall_seconds"] = outer
    res["command"] = ["diplosim", *command]
    res["load_average"] = os.getloadavg()
    return res


def report(res: dict) -> None:
    """Print the profile."""
    funcs = res["functions"]
    print(f"{' '.join(res['command'])}: {res['process_wall_seconds']:.1f} s wall (process), "
          f"{res['cpu_seconds']:.1f} CPU s after imports start; load {res['load_average'][0]:.2f}")
    total_self = sum(f["self_seconds"] for f in funcs.values())
    print(f"compiled functions: {len(funcs)}, specialisations: "
          f"{sum(len(f['specialisations']) for f in funcs.values())}, compile time "
          f"{total_self:.1f} s")
    for name, f in sorted(funcs.items(), key=lambda kv: -kv[1]["self_seconds"])[:25]:
        print(f"  {f['self_seconds']:7.2f} s self {f['total_seconds']:7.2f} s total "
              f"x{len(f['specialisations'])}  {name}")
    by_pass: dict[str, float] = {}
    for name, s in res["passes"].items():
        by_pass[name.split(" [")[0]] = by_pass.get(name.split(" [")[0], 0.0) + s
    print("compiler passes (self time, every function):")
    for name, s in sorted(by_pass.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {s:7.2f} s  {name}")
    print("LLVM inside native_lowering:")
    for name, s in res["llvm"].items():
        print(f"  {s:7.2f} s  {name}")
    libs = sorted(res["llvm_per_library"].items(), key=lambda kv: -sum(kv[1].values()))
    print("LLVM per library (optimisation + machine code), largest:")
    for name, parts in libs[:12]:
        print(f"  {sum(parts.values()):7.2f} s  {name.split('.')[-1][:60]}  "
              + ", ".join(f"{v:.2f}" for v in parts.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(RESULTS), help="where to write the JSON")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the profiled process (repeatable)")
    parser.add_argument("--base", metavar="REV",
                        help="also profile git revision REV, alternately with this tree")
    parser.add_argument("--rounds", type=int, default=1, help="rounds (with --base)")
    parser.add_argument("command", nargs="*", help="diplosim arguments (after --)")
    args = parser.parse_args()
    env = dict(e.split("=", 1) for e in args.env)
    command = args.command or DEFAULT_COMMAND
    if args.base:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from revisions import unpack

        rounds: dict[str, list[dict]] = {"base": [], "this": []}
        with tempfile.TemporaryDirectory() as tmp:
            unpack(args.base, Path(tmp))
            for _ in range(args.rounds):
                for name, tree in (("base", Path(tmp)), ("this", REPO)):
                    res = profile(command, env, tree)
                    rounds[name].append(res)
                    print(f"{name:>4}: {res['process_wall_seconds']:6.1f} s wall, "
                          f"{res['cpu_seconds']:5.1f} CPU s, "
                          f"{sum(len(f['specialisations']) for f in res['functions'].values())}"
                          f" specialisations; load {res['load_average'][0]:.2f}", flush=True)
        res = {"base": args.base, "rounds": rounds}
    else:
        res = profile(command, env)
        report(res)
    res["env"] = env
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
