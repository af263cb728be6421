"""Frozen results: the cases of the golden test and the script that (re)writes their files.

Every run of the model is a contract: a change that should not change results (a refactoring, a
speed-up) must give the same bits, and one that should (a new mechanism) regenerates these files
on purpose, in its own commit, with the figures that moved in its message::

    .venv/bin/python tests/golden_cases.py          # rewrite tests/golden/
    .venv/bin/python tests/golden_cases.py --check  # compare only (what tests/test_golden.py does)

A case is a table (or a text). For each case ``tests/golden/cases.json`` keeps the SHA-256 of
every column's canonical bytes (NaN-aware: every NaN hashes alike, -0.0 apart from 0.0), and
``tests/golden/head.parquet`` keeps the first rows of each table, so a failure names the case and
the column, and shows the first values that differ.

The cases: for every bundled scenario x every policy overlay (and none), the summaries of runs
0-1,999 at seed 20240917 and the monthly trajectories of runs 0-49; for every bundled scenario one
Mesa run's monthly record and story; a sweep table, a policy comparison table and the stylised
facts table at a small run count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
CASES_FILE = GOLDEN / "cases.json"
HEAD_FILE = GOLDEN / "head.parquet"

SEED = 20240917
SUMMARY_RUNS = 2000
TRAJECTORY_RUNS = 50
MESA_SEED = 42
HEAD_ROWS = 5


def canonical_column(values: pd.Series | np.ndarray) -> bytes:
    """The bytes a column hashes to: its dtype kind and its values, NaN made canonical."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64, copy=True)
        arr[np.isnan(arr)] = np.nan
        return b"f8:" + arr.tobytes()
    if arr.dtype.kind in "iub":
        return b"i8:" + arr.astype(np.int64).tobytes()
    return b"o:" + "\x1f".join("<NA>" if v is None or (isinstance(v, float) and v != v)
                               else str(v) for v in arr.tolist()).encode()


def column_hashes(frame: pd.DataFrame) -> dict[str, str]:
    """SHA-256 of every column of ``frame`` (and of its shape), in order."""
    out = {"__shape__": hashlib.sha256(repr(frame.shape).encode()).hexdigest()}
    for name in frame.columns:
        out[str(name)] = hashlib.sha256(canonical_column(frame[name])).hexdigest()
    return out


def _trajectory_frame(traj: np.ndarray, names: list[str]) -> pd.DataFrame:
    runs, months, k = traj.shape
    frame = pd.DataFrame(traj.reshape(runs * months, k), columns=names)
    frame.insert(0, "month", np.tile(np.arange(months), runs))
    frame.insert(0, "run", np.repeat(np.arange(runs), months))
    return frame


def _scenario_cases() -> Iterator[tuple[str, Callable[[], pd.DataFrame | str]]]:
    import sim
    from analysis.monthly import trajectories

    for name in sim.list_scenarios():
        for policy in [None, *sim.list_policies()]:
            label = f"{name}+{policy or 'none'}"

            def summary(name=name, policy=policy) -> pd.DataFrame:
                scn = sim.load_scenario(name, policy=policy)
                res = sim.run_ensemble(scn, runs=SUMMARY_RUNS, seed=SEED, progress=False,
                                       bands=False)
                return res.summary

            def monthly(name=name, policy=policy) -> pd.DataFrame:
                traj, names = trajectories(name, runs=TRAJECTORY_RUNS, seed=SEED, policy=policy)
                return _trajectory_frame(traj, names)

            yield f"summary/{label}", summary
            yield f"trajectories/{label}", monthly


def _mesa_cases() -> Iterator[tuple[str, Callable[[], pd.DataFrame | str]]]:
    import sim

    for name in sim.list_scenarios():
        def record(name=name) -> pd.DataFrame:
            model = sim.DiplomacyModel(name, seed=MESA_SEED).run()
            return model.monthly().reset_index()

        def story(name=name) -> str:
            return sim.DiplomacyModel(name, seed=MESA_SEED).run().story_text()

        yield f"mesa_record/{name}", record
        yield f"mesa_story/{name}", story


def _analysis_cases() -> Iterator[tuple[str, Callable[[], pd.DataFrame | str]]]:
    def sweep_table() -> pd.DataFrame:
        from analysis.sweep import sweep

        res = sweep("baseline", {"actors.USA.escalation_step": (0.05, 0.3),
                                 "categories.drones.detection": (0.1, 0.6)},
                    design="lhs", samples=8, runs_per_point=60, seed=SEED, progress=False)
        return res.table

    def comparison_table() -> pd.DataFrame:
        import sim
        from analysis.compare import compare_policies

        res = compare_policies("baseline", sim.list_policies(), runs=300, seed=SEED)
        return res.table

    def facts_table() -> pd.DataFrame:
        from analysis.facts import check_facts, facts_table

        return facts_table(check_facts(runs=200, seed=SEED, sensitivity=False))

    yield "sweep_table", sweep_table
    yield "comparison_table", comparison_table
    yield "facts_table", facts_table


def cases() -> Iterator[tuple[str, Callable[[], pd.DataFrame | str]]]:
    """Every golden case: a name and the function that computes it."""
    yield from _scenario_cases()
    yield from _mesa_cases()
    yield from _analysis_cases()


def fingerprint(value: pd.DataFrame | str) -> dict[str, str]:
    """What the golden file keeps of a case's value."""
    if isinstance(value, str):
        return {"__text__": hashlib.sha256(value.encode()).hexdigest()}
    return column_hashes(value)


def _head(value: pd.DataFrame | str) -> pd.DataFrame:
    if isinstance(value, str):
        return pd.DataFrame({"__text__": [value]})
    return value.head(HEAD_ROWS).reset_index(drop=True)


def write() -> None:
    """Compute every case and rewrite the golden files."""
    GOLDEN.mkdir(exist_ok=True)
    prints: dict[str, dict[str, str]] = {}
    heads = []
    for name, compute in cases():
        value = compute()
        prints[name] = fingerprint(value)
        head = _head(value)
        heads.append(pd.DataFrame({"case": name, "row": np.arange(len(head)),
                                   "columns": [json.dumps([str(c) for c in head.columns])] *
                                   len(head),
                                   "values": [json.dumps([_jsonable(v) for v in row])
                                              for row in head.itertuples(index=False)]}))
        print(f"{name}: {len(prints[name]) - 1} columns", flush=True)
    CASES_FILE.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    pd.concat(heads, ignore_index=True).to_parquet(HEAD_FILE, index=False)


def _jsonable(v: object) -> object:
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return {"f": f.hex()}
    if isinstance(v, (np.integer, int, bool, np.bool_)):
        return int(v)
    return str(v)


def stored_head(case: str) -> tuple[list[str], list[list[object]]]:
    """Columns and first rows of ``case`` as frozen (floats exact, via their hex form)."""
    heads = pd.read_parquet(HEAD_FILE)
    rows = heads[heads["case"] == case].sort_values("row")
    if rows.empty:
        return [], []
    columns = json.loads(rows["columns"].iloc[0])
    values = [[float.fromhex(v["f"]) if isinstance(v, dict) else v for v in json.loads(r)]
              for r in rows["values"]]
    return columns, values


def compare(name: str, value: pd.DataFrame | str, stored: dict[str, str]) -> list[str]:
    """What differs between ``value`` and the frozen fingerprint ``stored`` (empty if nothing)."""
    now = fingerprint(value)
    if now == stored:
        return []
    if isinstance(value, str) or "__text__" in stored:
        return [f"{name}: text differs"]
    faults = []
    if now["__shape__"] != stored.get("__shape__"):
        faults.append(f"{name}: shape {value.shape} differs from the frozen one")
    missing = [c for c in stored if c not in now]
    extra = [c for c in now if c not in stored]
    if missing or extra:
        faults.append(f"{name}: columns missing {missing}, new {extra}")
    changed = [c for c in now if c in stored and c != "__shape__" and now[c] != stored[c]]
    if changed:
        faults.append(f"{name}: {len(changed)} column(s) changed: {', '.join(changed[:12])}")
    return faults


def check() -> list[str]:
    """Compute every case and return what differs from the golden files."""
    stored = json.loads(CASES_FILE.read_text())
    faults = []
    seen = set()
    for name, compute in cases():
        seen.add(name)
        if name not in stored:
            faults.append(f"{name}: not in the golden files")
            continue
        faults += compare(name, compute(), stored[name])
    faults += [f"{name}: frozen but no longer computed" for name in sorted(set(stored) - seen)]
    return faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    if args.check:
        faults = check()
        print("\n".join(faults) or "golden: every case identical")
        return 1 if faults else 0
    write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
