"""Identity keys: what a draw is keyed by, instead of a position in the scenario file.

A pure function of an item's kind and id, so listing the items of a scenario in another order,
or adding one, changes no other item's key (and no other draw; see :mod:`sim.core.rng`). This
module imports no compiled code, so loading a scenario does not load Numba.
"""

from __future__ import annotations

import hashlib


def identity_key(kind: str, ident: str) -> int:
    """The stable 32-bit key of a scenario item (``kind``: actor, category, route or track).

    The first four bytes of BLAKE2b over ``"kind:id"``, little-endian; never 0 (0 keys "no
    counterpart").
    """
    digest = hashlib.blake2b(f"{kind}:{ident}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") or 1
