"""Results are a contract: every golden case gives the same bits as when it was frozen.

The cases and the script that regenerates the files are in ``tests/golden_cases.py``. A change
that should not change results must pass this test unchanged; one that should (a new mechanism)
regenerates the files on purpose, in its own commit, saying which figures moved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_cases as G  # noqa: E402

STORED = json.loads(G.CASES_FILE.read_text())
CASES = dict(G.cases())


def test_every_frozen_case_is_still_computed():
    assert sorted(CASES) == sorted(STORED)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_is_bit_identical(name):
    value = CASES[name]()
    if isinstance(value, str):
        faults = G.compare(name, value, STORED[name])
        assert not faults, faults
        return
    columns, rows = G.stored_head(name)
    head = value.head(G.HEAD_ROWS).reset_index(drop=True)
    assert [str(c) for c in head.columns] == columns, f"{name}: columns differ"
    for k, col in enumerate(columns):
        frozen = np.array([r[k] for r in rows], dtype=object)
        now = head.iloc[:, k].to_numpy(dtype=object)
        if pd.api.types.is_float_dtype(head.iloc[:, k]):
            np.testing.assert_array_equal(now.astype(float), frozen.astype(float),
                                          err_msg=f"{name}: column {col}, first rows")
        else:
            assert [str(v) if not isinstance(v, (int, np.integer)) else int(v) for v in now] == \
                [v for v in frozen], f"{name}: column {col}, first rows"
    faults = G.compare(name, value, STORED[name])
    assert not faults, faults


def test_canonical_bytes_see_every_bit():
    a = pd.DataFrame({"x": [0.1, np.nan, 1.0]})
    b = pd.DataFrame({"x": [0.1, np.nan, np.nextafter(1.0, 2.0)]})
    c = pd.DataFrame({"x": [0.1, float("nan"), 1.0]})
    assert G.column_hashes(a) != G.column_hashes(b)
    assert G.column_hashes(a) == G.column_hashes(c)
    assert G.compare("t", b, G.fingerprint(a)) == ["t: 1 column(s) changed: x"]
