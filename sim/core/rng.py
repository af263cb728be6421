"""Counter-based random numbers keyed by meaning.

Every random number in diplosim is a pure function of
``(seed, run, month, actor, counterpart, purpose)``. The generator is Philox4x32-10
(Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3", SC'11,
doi:10.1145/2063384.2063405), the counter-based design of the Random123 library, which passes
the TestU01 BigCrush battery. No generator state is carried between draws, so a run gives the
same numbers whatever the thread count, chunking, engine or backend, and two policies compared
on the same seed see the same shocks (common random numbers).

Counter layout (four 32-bit words)::

    c0 = run
    c1 = month | purpose << 12 | kind << 20       (month < 4096, purpose < 256; kind 0 for a
                                                   uniform draw, 1 for a normal one)
    c2 = key of the actor (a stable 32-bit hash of its id)
    c3 = key of the counterpart (an actor, route or track: the hash of its id; 0 for none)

The month slot holds the month of the draw, except for a stance taken once per agreement (the
``COMPLY`` draw of :func:`sim.core.rules.halt_defied`), keyed by the agreement's month.

A draw is keyed by the identities of who decides and about what, never by their position in the
scenario file: listing actors, routes or tracks in another order, or adding an actor, changes no
other draw (the keys are made in :func:`identity_key`, stored in the ``*_ID`` columns).
The 64-bit seed is the 2 x 32-bit key. The test-suite checks the Random123 known-answer vectors.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.identity import identity_key
from sim.core.jit import rule_njit as njit

__all__ = ["identity_key", "uniform", "normal", "philox4x32", "seed_key"]

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)

# Purposes: one stream per kind of decision, so adding a draw of one kind never shifts another.
SHIP = 1
DETECT = 2
COHESION = 3
DENY = 4
DEAL = 5
SHOCK = 6
WAR = 7
SECONDARY = 8
COMPLY = 9
BREAKDOWN = 10


@njit
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32 with 10 rounds on 32-bit words held in uint64; returns four uint64 < 2**32."""
    x0 = np.uint64(c0) & _MASK
    x1 = np.uint64(c1) & _MASK
    x2 = np.uint64(c2) & _MASK
    x3 = np.uint64(c3) & _MASK
    a = np.uint64(k0) & _MASK
    b = np.uint64(k1) & _MASK
    for _ in range(10):
        p0 = _M0 * x0
        p1 = _M1 * x2
        hi0 = p0 >> _S32
        lo0 = p0 & _MASK
        hi1 = p1 >> _S32
        lo1 = p1 & _MASK
        x0 = (hi1 ^ x1 ^ a) & _MASK
        x1 = lo1
        x2 = (hi0 ^ x3 ^ b) & _MASK
        x3 = lo0
        a = (a + _W0) & _MASK
        b = (b + _W1) & _MASK
    return x0, x1, x2, x3


@njit
def _counter1(month, purpose, index):
    return np.uint64(month) | (np.uint64(purpose) << np.uint64(12)) | (
        np.uint64(index) << np.uint64(20))


@njit
def uniform(seed, run, month, actor, counterpart, purpose):
    """A uniform number in [0, 1) with 53 random bits for the keyed draw.

    ``actor`` and ``counterpart`` are identity keys (the ``*_ID`` columns, see
    :func:`identity_key`), not positions.
    """
    s = np.uint64(seed)
    x0, x1, _, _ = philox4x32(
        run, _counter1(month, purpose, 0), np.uint64(actor), np.uint64(counterpart),
        s & _MASK, s >> _S32
    )
    hi = np.float64(x0 >> np.uint64(5))
    lo = np.float64(x1 >> np.uint64(6))
    return (hi * 67108864.0 + lo) / 9007199254740992.0


@njit
def normal(seed, run, month, actor, counterpart, purpose):
    """A standard normal number for the keyed draw (Box-Muller on one Philox block)."""
    s = np.uint64(seed)
    x0, x1, x2, x3 = philox4x32(
        run, _counter1(month, purpose, 1), np.uint64(actor), np.uint64(counterpart),
        s & _MASK, s >> _S32
    )
    u1 = ((np.float64(x0 >> np.uint64(5)) * 67108864.0 + np.float64(x1 >> np.uint64(6))) + 1.0) / (
        9007199254740992.0 + 1.0
    )
    u2 = (np.float64(x2 >> np.uint64(5)) * 67108864.0 + np.float64(x3 >> np.uint64(6))) / (
        9007199254740992.0
    )
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def seed_key(seed: int) -> int:
    """Validate a user seed and return it as the 64-bit Philox key (0 is a valid seed)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return int(seed)
