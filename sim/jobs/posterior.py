"""A calibration's posterior on disk, and parameter draws from it for runs.

A posterior (written by ``diplosim calibrate``, :mod:`analysis.calibration`) is a folder:
``posterior.parquet`` (one row per accepted particle: a column per calibrated parameter, by its
dotted key, and ``weight``) and ``manifest.json`` (the scenario, the record's hash, the priors,
the targets, the seed, the budget and the versions). ``run``, ``compare`` and ``sweep`` draw
each run's parameters from it (:meth:`Posterior.draw`), so an outcome table can show the spread
over what we do not know about the parameters apart from the Monte Carlo error of the runs.

This module lives under :mod:`sim.jobs` (not :mod:`analysis`) so that the run commands can read
a posterior without importing the analysis layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UsageError

DRAWS_FILE = "posterior.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class Posterior:
    """Weighted parameter draws of a calibration.

    Attributes:
        keys: dotted keys of the calibrated parameters.
        draws: particles x keys, in the keys' units.
        weights: particles, summing to 1.
        manifest: what produced them (scenario, record hash, priors, targets, seed, versions).
    """

    keys: tuple[str, ...]
    draws: np.ndarray
    weights: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.draws.ndim != 2 or self.draws.shape[1] != len(self.keys):
            raise UsageError(f"posterior: draws of shape {self.draws.shape} do not match "
                             f"{len(self.keys)} keys")
        if self.weights.shape != (self.draws.shape[0],) or not np.all(self.weights >= 0) \
                or not self.weights.sum() > 0:
            raise UsageError("posterior: weights must be one per particle, >= 0, not all 0")

    @property
    def n_particles(self) -> int:
        """Number of particles."""
        return int(self.draws.shape[0])

    def draw(self, n: int, seed: int) -> np.ndarray:
        """``n`` parameter vectors (n x keys) drawn by weight with replacement, seeded."""
        rng = np.random.default_rng([seed, 0x9057])
        p = self.weights / self.weights.sum()
        return self.draws[rng.choice(self.n_particles, size=n, replace=True, p=p)]

    def mean(self) -> np.ndarray:
        """Weighted mean of each parameter."""
        return (self.weights[:, None] * self.draws).sum(axis=0) / self.weights.sum()

    def overrides(self) -> dict[str, float]:
        """The posterior mean as ``--set``-style overrides (key -> value)."""
        return dict(zip(self.keys, (float(v) for v in self.mean()), strict=True))

    def save(self, folder: str | Path) -> Path:
        """Write ``posterior.parquet`` and ``manifest.json`` into ``folder`` (created)."""
        import pandas as pd

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(self.draws, columns=list(self.keys))
        frame["weight"] = self.weights
        frame.to_parquet(folder / DRAWS_FILE, index=False)
        manifest = dict(self.manifest, keys=list(self.keys), particles=self.n_particles)
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                            encoding="utf-8")
        return folder


def load_posterior(folder: str | Path) -> Posterior:
    """The posterior stored in ``folder``; a missing or malformed folder is a one-line error."""
    import pandas as pd

    folder = Path(folder)
    draws, manifest = folder / DRAWS_FILE, folder / MANIFEST_FILE
    if not draws.is_file() or not manifest.is_file():
        raise UsageError(f"--posterior {folder}: not a posterior folder (needs {DRAWS_FILE} and "
                         f"{MANIFEST_FILE}, written by diplosim calibrate)")
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        frame = pd.read_parquet(draws)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--posterior {folder}: {exc}") from None
    keys = tuple(meta.get("keys", [c for c in frame.columns if c != "weight"]))
    missing = [k for k in (*keys, "weight") if k not in frame.columns]
    if missing:
        raise UsageError(f"--posterior {folder}: {DRAWS_FILE} lacks column(s) {missing}")
    return Posterior(keys, frame[list(keys)].to_numpy(dtype=np.float64),
                     frame["weight"].to_numpy(dtype=np.float64), meta)
