"""The counter-based generator (sim.core.rng): Philox4x32-10 as published, uniform, independent
streams keyed by meaning, identical compiled and pure-Python, and strict seeds.

Statistical tests use fixed seeds, so they are deterministic; the significance level is stated
with each, and a failure means the generator (or the keying) is broken, not bad luck.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.core import rng
from sim.core.rng import normal, philox4x32, seed_key, uniform

ALPHA = 1e-3  # significance of every statistical test in this file

# Random123 tests/kat_vectors (DEShawResearch/random123), the three "philox4x32 10" lines:
# counter (4 words), key (2 words), expected output (4 words).
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

PURPOSES = [rng.SHIP, rng.DETECT, rng.COHESION, rng.DENY, rng.DEAL, rng.SHOCK, rng.WAR,
            rng.SECONDARY, rng.COMPLY]


def draws(seed: int, keys) -> np.ndarray:
    """Uniform draws for an iterable of (run, month, actor, counterpart, purpose).

    The seed goes in as ``np.uint64``, as the engines pass it: every 64-bit seed then uses the
    same compiled specialisation.
    """
    key = np.uint64(seed)
    return np.array([uniform(key, *k) for k in keys])


@pytest.mark.parametrize(("ctr", "key", "expected"), KAT)
def test_philox_known_answer_vectors(ctr, key, expected):
    assert tuple(int(x) for x in philox4x32(*ctr, *key)) == expected


def test_purposes_are_distinct_and_fit_the_counter_layout():
    assert len(set(PURPOSES)) == len(PURPOSES)
    assert all(0 < p < 256 for p in PURPOSES)


def test_uniform_draws_pass_ks_and_chi_square():
    # 10^5 draws along the run axis and 10^5 along the month axis of one stream family.
    by_run = draws(12345, ((r, 7, 0, 0, rng.SHIP) for r in range(100_000)))
    assert by_run.min() >= 0.0 and by_run.max() < 1.0
    assert stats.kstest(by_run, "uniform").pvalue > ALPHA
    counts = np.histogram(by_run, bins=100, range=(0.0, 1.0))[0]
    assert stats.chisquare(counts).pvalue > ALPHA
    by_month = draws(99, ((3, m, 2, 5, rng.DETECT) for m in range(1, 100_001)))
    assert stats.kstest(by_month, "uniform").pvalue > ALPHA


def test_uniform_draws_are_not_serially_correlated():
    u = draws(7, ((r, 1, 1, 1, rng.SHIP) for r in range(50_000)))
    # Under independence sqrt(n) * r is about N(0, 1): |z| > 3.29 has probability 1e-3.
    for lag in (1, 2, 3, 10):
        r = np.corrcoef(u[:-lag], u[lag:])[0, 1]
        assert abs(r) * np.sqrt(u.size - lag) < 3.29, lag


def test_normal_draws_are_standard_normal():
    z = np.array([normal(2024, r, 3, 1, 0, rng.SHOCK) for r in range(50_000)])
    assert np.isfinite(z).all()
    assert stats.kstest(z, "norm").pvalue > ALPHA
    assert stats.normaltest(z).pvalue > ALPHA


# Pairs of streams that differ in exactly one part of the key; each must be uncorrelated with
# the other across 20 000 runs.
STREAM_PAIRS = {
    "purpose": ((0, 5, 0, 1, rng.SHIP), (0, 5, 0, 1, rng.DETECT)),
    "actor": ((0, 5, 0, 1, rng.SHIP), (0, 5, 1, 1, rng.SHIP)),
    "counterpart": ((0, 5, 0, 1, rng.SHIP), (0, 5, 0, 2, rng.SHIP)),
    "month": ((0, 5, 0, 1, rng.SHIP), (0, 6, 0, 1, rng.SHIP)),
    "actor/counterpart swapped": ((0, 5, 2, 3, rng.COHESION), (0, 5, 3, 2, rng.COHESION)),
}


@pytest.mark.parametrize("which", list(STREAM_PAIRS))
def test_streams_differing_in_one_key_part_are_uncorrelated(which):
    (_, m1, a1, c1, p1), (_, m2, a2, c2, p2) = STREAM_PAIRS[which]
    n = 20_000
    x = draws(31, ((r, m1, a1, c1, p1) for r in range(n)))
    y = draws(31, ((r, m2, a2, c2, p2) for r in range(n)))
    assert abs(np.corrcoef(x, y)[0, 1]) * np.sqrt(n) < 3.29
    # Equal draws would betray a shared counter; 53-bit draws never coincide by chance here.
    assert not np.any(x == y)
    # The joint distribution is uniform on the unit square (chi-square on a 10 x 10 grid).
    grid = np.histogram2d(x, y, bins=10, range=[[0, 1], [0, 1]])[0].ravel()
    assert stats.chisquare(grid).pvalue > ALPHA


def test_runs_are_uncorrelated_across_the_month_axis():
    n = 20_000
    x = draws(5, ((0, m, 0, 0, rng.SHOCK) for m in range(n)))
    y = draws(5, ((1, m, 0, 0, rng.SHOCK) for m in range(n)))
    assert abs(np.corrcoef(x, y)[0, 1]) * np.sqrt(n) < 3.29


def test_distinct_keys_never_share_a_counter():
    # Month, purpose and draw index share one 32-bit word: every combination within the layout's
    # bounds (month < 4096, purpose < 256, index < 2) maps to its own word, edges included.
    words = {}
    for m, p, k in itertools.product([0, 1, 2, 600, 4095], PURPOSES, [0, 1]):
        word = int(rng._counter1(m, p, k))
        assert word < 2**32
        assert words.setdefault(word, (m, p, k)) == (m, p, k)
    # And the draws of a grid of ~10^5 distinct keys are all distinct (no stream collisions).
    keys = itertools.product(range(4), range(1, 37), range(6), range(8), PURPOSES[:6])
    u = draws(2**40 + 17, keys)
    assert u.size == 4 * 36 * 6 * 8 * 6
    assert np.unique(u).size == u.size


def test_identity_keys_are_stable_distinct_and_never_zero():
    # The keys are part of every result: a change of the hash would change every run.
    assert rng.identity_key("actor", "IRN") == rng.identity_key("actor", "IRN")
    ids = [f"A{k}" for k in range(2000)]
    keys = {rng.identity_key("actor", i) for i in ids}
    assert len(keys) == len(ids)
    assert all(0 < k < 2**32 for k in keys)
    assert rng.identity_key("actor", "X") != rng.identity_key("route", "X")


def test_seed_zero_is_a_seed_and_differs_from_seed_one():
    keys = [(r, 1, 0, 0, rng.SHIP) for r in range(100)]
    zero, one = draws(0, keys), draws(1, keys)
    assert seed_key(0) == 0
    assert not np.any(zero == one)
    assert stats.kstest(zero, "uniform").pvalue > ALPHA


def test_seed_uses_all_64_bits():
    keys = [(r, 1, 0, 0, rng.SHIP) for r in range(50)]
    low = draws(5, keys)
    high = draws(5 + 2**32, keys)  # same low word, other high word
    top = draws(2**64 - 1, keys)
    assert not np.any(low == high)
    assert not np.any(top == low)
    assert np.all((top >= 0) & (top < 1))


@pytest.mark.parametrize("bad", [True, False, -1, 2**64, 2**70, 1.0, "7", None, np.float64(3)])
def test_seed_key_refuses_what_is_not_a_64_bit_seed(bad):
    with pytest.raises((TypeError, ValueError)):
        seed_key(bad)


@pytest.mark.parametrize("good", [0, 1, 2**63, 2**64 - 1, np.int64(7), np.uint64(2**64 - 1)])
def test_seed_key_accepts_every_64_bit_seed(good):
    assert seed_key(good) == int(good)


def test_draws_are_a_pure_function_of_the_key():
    k = (3, 4, 1, 2, rng.DEAL)
    first = uniform(77, *k)
    # Drawing lots of other numbers in between changes nothing: no hidden generator state.
    draws(77, ((r, 4, 1, 2, rng.DEAL) for r in range(1000)))
    assert uniform(77, *k) == first
    assert normal(77, *k) == normal(77, *k)


_PURE_SCRIPT = """
import json, sys
import numpy as np
from sim.core import jit as _jit
assert _jit.JIT_DISABLED, "NUMBA_DISABLE_JIT was not honoured"
from sim.core.rng import normal, philox4x32, uniform
keys = json.loads(sys.argv[1])
with np.errstate(over="ignore"):
    out = {
        "uniform": [uniform(*k) for k in keys],
        "normal": [normal(*k) for k in keys],
        "philox": [[int(x) for x in philox4x32(*k[1:5], 0, k[0] % 2**32)] for k in keys],
    }
print(json.dumps(out))
"""


def test_compiled_and_pure_python_draws_agree(tmp_path: Path):
    keys = [[0, 0, 1, 0, 0, 1], [7, 3, 36, 5, 4, 2], [2**64 - 1, 2**32 - 1, 600, 1023, 1023, 8],
            [123456789, 99, 12, 2, 0, 6], [2**40, 5, 9, 3, 1, 7]]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    proc = subprocess.run([sys.executable, "-c", _PURE_SCRIPT, json.dumps(keys)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pure = json.loads(proc.stdout)
    compiled_u = [uniform(np.uint64(k[0]), *k[1:]) for k in keys]
    compiled_n = [normal(np.uint64(k[0]), *k[1:]) for k in keys]
    compiled_p = [[int(x) for x in philox4x32(*k[1:5], 0, k[0] % 2**32)] for k in keys]
    assert pure["philox"] == compiled_p
    assert pure["uniform"] == compiled_u  # integer arithmetic then one exact division
    np.testing.assert_allclose(pure["normal"], compiled_n, rtol=0, atol=1e-12)
