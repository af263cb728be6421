"""Data files of the bundled world.

``record.csv`` is the public record of August 2022 to December 2025 (one row per observation,
each with its publication): the scenarios cite its rows by id, and the calibration (issue 14)
reads it as its observed targets.
"""
