"""The shared reference figures (``shared/reference/figures.csv``) that scenarios and docs cite.

The shared folder sits next to the repository in the development setup (or next to the folder
of its worktrees); a fresh clone elsewhere has none, and the tests that need it skip, saying so.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURES = next((p / "shared" / "reference" / "figures.csv" for p in (ROOT.parent, ROOT.parents[1])
                if (p / "shared" / "reference" / "figures.csv").exists()),
               ROOT.parent / "shared" / "reference" / "figures.csv")


def figure_keys() -> set[str]:
    """Every key of figures.csv; skips the calling test when the shared folder is absent."""
    if not FIGURES.exists():
        pytest.skip(f"{FIGURES} not found: the shared reference folder sits next to the repository "
                    "in the development setup only")
    with FIGURES.open(newline="", encoding="utf-8") as fh:
        return {row["key"] for row in csv.DictReader(fh)}
