"""Calibration of the model on the public record by likelihood-free inference (issue 14).

The record (``scenarios/data/record.csv``) becomes targets (:mod:`.record`), the runs of a design
of parameter draws become summary statistics and a distance (:mod:`.statistics`), ELFI's ABC-SMC
turns priors into a posterior (:mod:`.abc`), stored with a manifest
(:mod:`sim.jobs.posterior`), and the posterior is checked out of sample with Brier and log scores
against null models, and by posterior predictive checks (:mod:`.scoring`).
"""

from analysis.calibration.abc import Calibration, Prior, calibrate, read_priors
from analysis.calibration.record import Target, load_targets, read_record

__all__ = ["Calibration", "Prior", "Target", "calibrate", "load_targets", "read_priors",
           "read_record"]
