"""An ensemble's result: its runs' summary, monthly bands and kept trajectories, as a folder.

:class:`EnsembleResult` is what :func:`sim.run_ensemble` returns; :meth:`EnsembleResult.save`
writes it as a result folder of kind ``ensemble`` (see :mod:`sim.results.provenance`) and
:func:`load_results` reads it back without running the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.results.provenance import (
    read_result_manifest,
    write_bytes_atomic,
    write_parquet_atomic,
    write_result_manifest,
)
from sim.results.table import outcome_table
from sim.scenario import Scenario, load_scenario

RESULT_FILES = {"summary": "summary.parquet", "bands": "bands.parquet",
                "trajectories": "trajectories.parquet", "scenario": "scenario.toml",
                "manifest": "manifest.json"}


@dataclass
class EnsembleResult:
    """The runs of an ensemble.

    Attributes:
        scenario: the scenario the runs were made of (policies and overrides folded in).
        seed: the seed of every draw.
        engine: ``"numba"`` or ``"mesa"``.
        months: months per run.
        summary: one row per run, column ``run`` first, then every outcome of
            :func:`sim.core.outcomes.outcome_layout`.
        bands: per month and monthly figure, quantiles q05..q95, the mean, the error bound of
            the quantiles and the count of values outside the histogram range (see
            :mod:`sim.results.bands`); None if not asked for.
        trajectories: full monthly figures of the runs in ``keep_runs``: columns ``run``,
            ``month`` and one per figure; None if none kept.
        meta: how it was computed (threads, chunk size, band method, seconds).
    """

    scenario: Scenario
    seed: int
    engine: str
    months: int
    summary: pd.DataFrame
    bands: pd.DataFrame | None = None
    trajectories: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        """Number of runs."""
        return len(self.summary)

    def trajectory(self, run: int) -> pd.DataFrame:
        """Monthly figures of one kept run (one row per month from 0)."""
        if self.trajectories is None or run not in set(self.trajectories["run"]):
            raise KeyError(f"run {run} was not kept (pass keep_runs=[{run}] to run_ensemble)")
        t = self.trajectories
        return t[t["run"] == run].drop(columns="run").reset_index(drop=True)

    def outcome_table(self, confidence: float = 0.95) -> pd.DataFrame:
        """Each outcome's probability or mean with a confidence interval.

        The one outcome table of :func:`sim.results.table.outcome_table`: what ``diplosim run``
        prints, the report and the classroom app show.
        """
        return outcome_table(self.summary, self.scenario, confidence)

    def save(self, out: str | Path) -> list[Path]:
        """Write the result into folder ``out``: Parquet tables, the scenario and a manifest.

        Every file is written atomically (a reader never sees half a file); the manifest, written
        last, names the files, the scenario's content hash, seed, runs, engine and versions.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [write_parquet_atomic(self.summary, out / RESULT_FILES["summary"])]
        if self.bands is not None:
            paths.append(write_parquet_atomic(self.bands, out / RESULT_FILES["bands"]))
        if self.trajectories is not None:
            paths.append(write_parquet_atomic(self.trajectories,
                                              out / RESULT_FILES["trajectories"]))
        paths.append(write_bytes_atomic(out / RESULT_FILES["scenario"],
                                        self.scenario.to_toml().encode()))
        scn = self.scenario
        paths.append(write_result_manifest(
            out, "ensemble", paths, scenario=scn.name, scenario_source=scn.source,
            scenario_hash=scn.content_hash(), policies=list(scn.policies), seed=self.seed,
            runs=self.runs, months=self.months, engine=self.engine, meta=_jsonable(self.meta)))
        return paths


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def load_results(folder: str | Path) -> EnsembleResult:
    """Read an ensemble written by :meth:`EnsembleResult.save`.

    Raises:
        FileNotFoundError: if the folder or its manifest is missing.
        UsageError: the folder holds another kind of result (see
            :func:`sim.results.provenance.read_result_manifest`).
        ValueError: if the files do not match the manifest (another scenario, other run count).
    """
    folder = Path(folder)
    man = read_result_manifest(folder, "ensemble")
    scn = load_scenario(folder / RESULT_FILES["scenario"])
    scn = Scenario(man["scenario"], man.get("scenario_source", scn.source), scn.spec, scn.raw,
                   tuple(man.get("policies", ())))
    if scn.content_hash() != man["scenario_hash"]:
        raise ValueError(f"{folder}: scenario.toml does not match the manifest's scenario_hash")
    summary = pd.read_parquet(folder / RESULT_FILES["summary"])
    if len(summary) != man["runs"]:
        raise ValueError(f"{folder}: summary has {len(summary)} runs, manifest says {man['runs']}")
    files = set(man.get("files", []))

    def optional(key: str) -> pd.DataFrame | None:
        name = RESULT_FILES[key]
        return pd.read_parquet(folder / name) if name in files else None

    return EnsembleResult(scn, int(man["seed"]), man["engine"], int(man["months"]), summary,
                          optional("bands"), optional("trajectories"), man.get("meta", {}))
