"""Data files of the bundled world: ``record.csv``, the public record of August 2022 to December
2025 (one row per observation, each with its publication), which the scenarios cite by row id
and the calibration (issue 14) reads as its observed targets."""
