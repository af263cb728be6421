"""Approximate Bayesian computation (ABC-SMC, ELFI) of the assumption parameters on the record.

The sampler is ELFI's (``elfi.SMC``): it hands the simulator a whole batch of parameter draws,
which here is one design of cell edits run by the compiled kernel in one call per chunk
(:func:`analysis.calibration.statistics.run_statistics`); each draw runs ``runs`` times on common
random numbers and its summary statistics are the means over those runs. The distance is the
Euclidean norm of the scaled differences from the record. The first population is rejection
sampling from the priors; each later one keeps the given quantile of the previous distances.

The sampler runs population by population (ELFI's SMC continues from the populations it holds:
``set_objective`` with one more quantile starts the next round from the last population's
particles and weights). With a ``checkpoint`` file, ELFI's state after each population (its
populations, its counters and the index of its next batch, which seeds that batch's prior draws
and runs) is written there; ``resume=True`` restores it and continues, so an interrupted
calibration ends with the same posterior as one run straight through with the same seed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.calibration import statistics as S
from analysis.calibration.record import DEFAULT_MAPPING, Target, file_digest, load_targets
from sim.errors import UsageError
from sim.jobs.posterior import Posterior
from sim.scenario import Scenario

#: The priors bundled with the package.
DEFAULT_PRIORS = Path(__file__).with_name("priors.csv")


class _ProposalNotices(logging.Filter):
    """Counts ELFI's "difficult to find enough valid proposals" warnings instead of printing each.

    ELFI warns once per batch whose perturbed proposals needed 100 tries to land inside the
    priors' bounds: with eight uniform priors and a posterior that leans on a bound this happens
    in many batches, and the same three lines repeated tens of times on stderr say nothing more
    than their count, which the manifest keeps (``proposal_notices``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "difficult to find enough valid proposals" in record.getMessage():
            self.count += 1
            return False
        return True


@dataclass(frozen=True)
class Prior:
    """A uniform prior on one parameter: its dotted key, bounds (its unit) and source."""

    key: str
    low: float
    high: float
    source: str


def read_priors(path: str | Path = DEFAULT_PRIORS) -> list[Prior]:
    """The priors of a CSV (key, distribution, low, high, source); only ``uniform`` for now."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such priors file")
    priors = []
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            where = f"{path}:{line}"
            if (row.get("distribution") or "").strip() != "uniform":
                raise UsageError(f"{where}: distribution {row.get('distribution')!r} is not "
                                    "'uniform'")
            try:
                low, high = float(row["low"]), float(row["high"])
            except (TypeError, ValueError, KeyError):
                raise UsageError(f"{where}: low and high must be numbers") from None
            if not low < high:
                raise UsageError(f"{where}: low {low} must be below high {high}")
            if not (row.get("source") or "").strip():
                raise UsageError(f"{where}: {row['key']}: empty source (write 'assumption' "
                                    "and why)")
            priors.append(Prior(row["key"].strip(), low, high, row["source"].strip()))
    if not priors:
        raise UsageError(f"{path}: no priors")
    return priors


@dataclass
class Calibration:
    """A calibration's result: the posterior and what it was fitted to.

    Attributes:
        posterior: the weighted particles (with the manifest).
        targets: the targets used.
        left_out: targets of the mapping not used, with the reason.
        distances: the accepted particles' distances.
        populations: per population, its threshold and the simulations spent.
        seconds: wall time.
    """

    posterior: Posterior
    targets: list[Target]
    left_out: dict[str, str]
    distances: np.ndarray
    populations: list[dict[str, float]]
    seconds: float


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("diplosim", "elfi", "numpy", "numba"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def calibrate(base: Scenario, record: str | Path | None = None, *,
              targets: Sequence[Target] | None = None, priors: Sequence[Prior] | None = None,
              until: int | None = None, mapping: str | Path = DEFAULT_MAPPING,
              particles: int = 200, runs: int = 8, batch: int = 20,
              quantiles: Sequence[float] = (0.2, 0.5, 0.5), seed: int = 1,
              on_population: Callable[[int, float, int], None] | None = None,
              checkpoint: str | Path | None = None, resume: bool = False,
              **options: Any) -> Calibration:
    """Calibrate ``priors``' parameters of ``base`` on the record's targets by ABC-SMC (ELFI).

    Args:
        base: the scenario (the hindcast); months 1..``until`` are fitted.
        record: the record CSV (or give ``targets``).
        targets: targets to fit instead of the record's (synthetic data, say).
        priors: the parameters and their priors (default: the bundled ``priors.csv``).
        until: last month of the window (default: the scenario's horizon); later rows are held
            out (see :mod:`analysis.calibration.scoring`).
        mapping: the targets' mapping.
        particles: particles in each population.
        runs: runs per parameter draw (a draw's statistics are means over them).
        batch: parameter draws per call of the simulator (one design). The draws of a batch
            share their runs' random numbers (a design runs on common random numbers), so a
            population must span many batches for its noise to vary: keep ``batch`` at about
            a tenth of ``particles`` or less (the coverage test uses 100 and 20).
        quantiles: per population, the share of the previous distances kept (the first one of
            the prior's).
        seed: seed of the sampler and of the runs.
        on_population: called as ``(population, threshold, simulations)`` after each one
            (populations restored by ``resume`` too).
        checkpoint: a file to write the sampler's state to after each population.
        resume: continue from ``checkpoint`` if it exists (it must come from a calibration
            with the same scenario, record, priors, budget and seed, else a UsageError).
        **options: passed to :func:`sim.jobs.backends.run_design`.

    Returns:
        The :class:`Calibration`.
    """
    try:
        import elfi
    except ImportError:
        from sim.errors import UsageError

        raise UsageError("calibration needs ELFI, which diplosim installs on Python 3.11 and "
                         "3.12 only (its matplotlib pin has no wheel for 3.13): run it on 3.11 "
                         "or 3.12") from None

    started = time.perf_counter()
    priors = list(read_priors() if priors is None else priors)
    horizon = base.spec.meta.horizon
    until = horizon if until is None else until
    if targets is None:
        if record is None:
            raise UsageError("calibrate: give a record or targets")
        targets, left_out = load_targets(record, base.spec.meta.start, horizon,
                                         target_columns(base), until=until, mapping=mapping)
    else:
        targets, left_out = list(targets), {}
    if not targets:
        raise UsageError(f"no target of the record falls in months 1..{until} of "
                         f"{base.name}: {left_out}")
    keys = [p.key for p in priors]
    S.run_statistics(base, keys, np.array([[(p.low + p.high) / 2 for p in priors]]), targets,
                     until, 1, seed)  # refuses a bad key once, before the sampler starts
    scale = S.scales(targets)

    def simulator(*params: np.ndarray, batch_size: int = 1, random_state: Any = None
                  ) -> np.ndarray:
        values = np.column_stack([np.asarray(p, dtype=np.float64).reshape(-1) for p in params])
        draw_seed = int(random_state.randint(2**31)) if random_state is not None else seed
        stats = S.run_statistics(base, keys, values, targets, until, runs, draw_seed,
                                 **options)
        return S.summaries(stats) / scale

    model = elfi.new_model()
    nodes = [elfi.Prior("uniform", p.low, p.high - p.low, model=model, name=f"p{k}")
             for k, p in enumerate(priors)]
    observed = (S.observed(targets) / scale)[None, :]
    sim_node = elfi.Simulator(simulator, *nodes, observed=observed, name="hindcast",
                              model=model)
    dist = elfi.Distance("euclidean", sim_node, name="distance", model=model)
    # One batch in flight at a time: the kernel is parallel itself, and ELFI draws a cancelled
    # batch's proposals all the same, which would make a population depend on timing.
    smc = elfi.SMC(dist, batch_size=batch, seed=seed, max_parallel_batches=1)
    smc.bar = False            # what ``sample`` sets; the command shows its own bar
    identity = _identity(base, priors, targets, until, particles, runs, batch, quantiles, seed)
    populations: list[dict[str, float]] = []
    spent = 0.0
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        spent = _restore(smc, Path(checkpoint), identity)
        for k, pop in enumerate(smc._populations):
            populations.append(_population_row(pop))
            if on_population is not None:
                on_population(k, populations[-1]["threshold"], populations[-1]["simulations"])
    notices = _ProposalNotices()
    elfi_log = logging.getLogger("elfi.methods.utils")
    elfi_log.addFilter(notices)
    try:
        for k in range(len(smc._populations), len(quantiles)):
            smc.set_objective(particles, quantiles=[quantiles[k]])
            while not smc.finished:
                smc.iterate()
            smc.batches.cancel_pending()
            smc.extract_result()                 # appends the population to smc._populations
            populations.append(_population_row(smc._populations[-1]))
            if checkpoint is not None:
                _save(smc, Path(checkpoint), identity, spent + time.perf_counter() - started)
            if on_population is not None:
                on_population(k, populations[-1]["threshold"], populations[-1]["simulations"])
    finally:
        elfi_log.removeFilter(notices)
    result = smc._populations[-1]
    draws = np.column_stack([np.asarray(result.samples[f"p{k}"], dtype=np.float64)
                             for k in range(len(priors))])
    weights = np.asarray(result.weights if result.weights is not None
                         else np.ones(draws.shape[0]), dtype=np.float64)
    distances = np.asarray(result.discrepancies, dtype=np.float64)
    seconds = spent + time.perf_counter() - started
    manifest = {
        "scenario": base.name, "scenario_source": str(base.source), "until": until,
        "horizon": horizon, "record": None if record is None else str(record),
        "record_sha256": None if record is None else file_digest(record),
        "mapping_sha256": None if record is None else file_digest(mapping),
        "priors": [vars(p) for p in priors],
        "targets": [dict(vars(t), records=list(t.records)) for t in targets],
        "left_out": left_out, "seed": seed,
        "budget": {"particles": particles, "runs_per_draw": runs, "batch": batch,
                   "quantiles": list(quantiles),
                   "simulations": int(sum(p["simulations"] for p in populations)) * runs},
        "populations": populations, "wall_seconds": round(seconds, 1),
        "resumed": bool(spent), "proposal_notices": notices.count,
        "sampler": "elfi.SMC", "versions": _versions(),
    }
    posterior = Posterior(tuple(keys), draws, weights / weights.sum(), manifest)
    return Calibration(posterior, targets, left_out, distances, populations, seconds)


def _population_row(pop: Any) -> dict[str, float]:
    return {"threshold": float(getattr(pop, "threshold", np.nan)), "simulations": int(pop.n_sim)}


def _identity(base: Scenario, priors: Sequence[Prior], targets: Sequence[Target], until: int,
              particles: int, runs: int, batch: int, quantiles: Sequence[float], seed: int
              ) -> dict[str, Any]:
    """What a checkpoint must share with the calibration that resumes it."""
    return {"scenario": base.content_hash(), "priors": [vars(p) for p in priors],
            "targets": [[t.name, t.how, t.month, t.observed, t.scale] for t in targets],
            "until": until, "particles": particles, "runs": runs, "batch": batch,
            "quantiles": [float(q) for q in quantiles], "seed": seed}


def _digest(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _save(smc: Any, path: Path, identity: dict[str, Any], seconds: float) -> None:
    """Write ELFI's state after a population, atomically (a kill leaves the previous one)."""
    state = {"identity": identity, "digest": _digest(identity),
             "populations": smc._populations, "state": dict(smc.state),
             "next_batch": smc.batches.next_index, "seconds": seconds}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _restore(smc: Any, path: Path, identity: dict[str, Any]) -> float:
    """Put the state of ``path`` into a fresh ``smc``; returns the seconds already spent."""
    try:
        with path.open("rb") as f:
            state = pickle.load(f)  # noqa: S301 - our own checkpoint, in the output folder
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise UsageError(f"--resume: cannot read the checkpoint {path}: {exc}") from None
    if state.get("digest") != _digest(identity):
        old = state.get("identity", {})
        differ = sorted(k for k in identity if old.get(k) != identity[k])
        raise UsageError(f"--resume: {path} comes from another calibration (it differs in "
                         f"{', '.join(differ) or 'its format'}); start afresh in another folder")
    smc._populations = list(state["populations"])
    smc.state.update(state["state"])
    smc.batches._next_batch_index = int(state["next_batch"])
    return float(state["seconds"])


def target_columns(base: Scenario) -> set[str]:
    """What a target may name: the summary's outcomes and the monthly figures (for rounds)."""
    from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs

    cs = base.compile()
    return set(outcome_layout(cs)[0]) | set(monthly_names(cs, sanction_pairs(cs)))
