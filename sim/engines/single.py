"""Saving one run: the monthly record and the story as Parquet, with a manifest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.engines.model import DiplomacyModel
from sim.results.provenance import write_parquet_atomic, write_result_manifest


def save_single_run(model: DiplomacyModel, out: str | Path) -> list[Path]:
    """Write ``monthly.parquet``, ``events.parquet``, ``outcomes.parquet`` and ``manifest.json``.

    The files go into ``out``, a result folder of kind ``single`` (see
    :mod:`sim.results.provenance`); each is written atomically, the manifest last.
    """
    out = Path(out)
    scn = model.diplo_scenario
    monthly = model.monthly()
    events = model.story_frame()
    outcomes = pd.DataFrame([{"run": model.run_index, **model.outcomes()}])
    paths = [
        write_parquet_atomic(monthly, out / "monthly.parquet"),
        write_parquet_atomic(events, out / "events.parquet"),
        write_parquet_atomic(outcomes, out / "outcomes.parquet"),
    ]
    paths.append(write_result_manifest(
        out, "single", paths, scenario=scn.name, scenario_source=scn.source,
        scenario_hash=scn.content_hash(), policies=list(scn.policies), seed=model.seed,
        run=model.run_index, months=model.month, engine="mesa"))
    return paths
