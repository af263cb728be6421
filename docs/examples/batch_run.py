"""Run diplosim through Mesa's own ``batch_run``: policies x seeds, one Mesa model per run.

    .venv/bin/python docs/examples/batch_run.py --seeds 5 --months 24 --processes 2

``DiplomacyModel`` is an ordinary ``mesa.Model``: it takes keyword arguments (``scenario``,
``policy``, ``overrides``, ...), takes the seed as ``seed`` or ``rng``, whichever way
``batch_run`` passes it (Mesa 3.3 passes ``rng`` as a parameter; Mesa 3.4 and later take the seeds
in ``batch_run(rng=...)``, refuse them together with ``iterations``, and pass each to a model
with a ``seed`` argument as ``seed``; this script does either, and names the column ``rng``), stops
itself at the scenario's horizon (``model.running``), and records its monthly figures with a Mesa
``DataCollector``, which is what ``batch_run`` collects. ``batch_run`` starts worker processes
with the ``spawn`` method, hence the ``if __name__ == "__main__":`` guard below.

Mesa 3.3's ``batch_run`` reads the DataCollector at index ``model.steps - 1`` and so misses the
final step (mesa issue #2514, fixed by mesa PR #3109 in later releases). This example therefore
collects every month (``data_collection_period=1``), steps the model one month past the month it
reports (``max_steps=months``), and keeps the row whose ``month`` is the one asked for; the model
records month 0 at the start, so that row is the state after ``months`` months, whatever the Mesa
version. ``months`` must therefore be below the scenario's horizon (36 in the baseline).

For thousands of runs use the Numba engine instead (``diplosim run --runs N``,
``diplosim compare``): the numbers are the same run by run, only much faster.
"""

from __future__ import annotations

import argparse
import inspect
import sys

import pandas as pd

COLUMNS = ["policy", "rng", "month", "pressure_IRN", "gdp_index_IRN", "active_relief",
           "active_ceasefire", "war_intensity"]


def run_batch(scenario: str = "baseline", policies: tuple[str, ...] = ("status_quo",
              "maximum_pressure"), seeds: int = 3, months: int = 24,
              processes: int = 1, model_class: type | None = None) -> pd.DataFrame:
    """Run every policy with seeds ``0..seeds-1`` through ``mesa.batch_run``.

    ``model_class`` is ``sim.DiplomacyModel`` by default, or a subclass of it (with agents of
    your own, say) defined at module level, so that worker processes can import it.

    Returns the figures of month ``months`` of each run (one row per policy and seed; the seed
    is in the column ``rng``).
    """
    from mesa.batchrunner import batch_run  # sets the spawn start method: import it here only

    from sim import DiplomacyModel

    model_class = model_class or DiplomacyModel
    parameters = {"scenario": scenario, "policy": list(policies)}
    seed_values = list(range(seeds))
    if "rng" in inspect.signature(batch_run).parameters:
        # Mesa >= 3.4: seeds go in ``rng`` (not with ``iterations``, which it refuses), and
        # reach the model as its ``seed`` argument, in a column of that name.
        rows = batch_run(model_class, parameters=parameters, number_processes=processes,
                         rng=seed_values, data_collection_period=1, max_steps=months,
                         display_progress=False)
        df = pd.DataFrame(rows).rename(columns={"seed": "rng"})
    else:
        # Mesa 3.3: the seed is a model parameter like any other, passed as ``rng``.
        rows = batch_run(model_class, parameters={**parameters, "rng": seed_values},
                         number_processes=processes, iterations=1, data_collection_period=1,
                         max_steps=months, display_progress=False)
        df = pd.DataFrame(rows)
    # batch_run repeats the model's figures once per agent; keep one row per run and month.
    df = df[df["month"] == months].drop_duplicates(["policy", "rng"])
    if df.empty:
        raise SystemExit(f"no record of month {months}: use --months below the horizon")
    return df[COLUMNS].sort_values(["policy", "rng"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the batch and print (or write as CSV) the last month of each run."""
    p = argparse.ArgumentParser(description="diplosim through mesa.batch_run")
    p.add_argument("--scenario", default="baseline")
    p.add_argument("--policy", action="append", dest="policies",
                   help="policy overlay (repeat; default status_quo and maximum_pressure)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per policy")
    p.add_argument("--months", type=int, default=24,
                   help="month to report (below the horizon, see above)")
    p.add_argument("--processes", type=int, default=1, help="worker processes")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    args = p.parse_args(argv)
    df = run_batch(args.scenario, tuple(args.policies or ("status_quo", "maximum_pressure")),
                   args.seeds, args.months, args.processes)
    print(df.to_csv(index=False) if args.csv else df.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
