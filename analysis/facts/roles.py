"""Who is who in the experiments, what an episode and its success are, and the counterfactuals.

The roles are read from the scenario's relief track (the target, its senders, the recipient of
its arms, its routes); the counterfactual variants (no sanctions on the target, the lead sender
alone) are overrides of the scenario, never a parameter set for one fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import UsageError
from sim.scenario import Scenario

if TYPE_CHECKING:
    from analysis.facts.variants import Ensemble

#: A sender "imposes" sanctions when its intensity on the target rises at least this much above
#: the starting level: one escalation step of the baseline's smallest stepper (the EU, 0.10).
IMPOSITION = 0.10


@dataclass(frozen=True)
class Roles:
    """Who is who in the experiments.

    Who is who in the experiments, read from the scenario's relief track: the target (the
    sanctioned supplier), its senders, the recipient of its arms and its routes.
    """

    track: str
    target: str
    senders: tuple[str, ...]
    routes: tuple[str, ...]
    recipient: str

    @staticmethod
    def of(scn: Scenario) -> Roles:
        """The roles in ``scn``; a UsageError if it has no relief track or the target no route."""
        spec = scn.spec
        tracks = [(tid, t) for tid, t in spec.tracks.items() if t.kind == "relief"]
        if not tracks:
            raise UsageError(f"{scn.source}: the facts need a relief track (none found)")
        tid, track = tracks[0]
        routes = tuple(r for r, route in spec.routes.items() if route.supplier == track.party)
        if not routes:
            raise UsageError(f"{scn.source}: the relief track's party {track.party} supplies "
                             "no route")
        recipient = spec.routes[routes[0]].recipient
        return Roles(tid, track.party, tuple(track.counterparts), routes, recipient)


def imposition_month(ens: Ensemble, roles: Roles) -> np.ndarray:
    """Per run, the month of the first new imposition on the target.

    Per run, the first month a sender's sanctions on the target stand ``IMPOSITION`` above
    their starting level (a new imposition), or +inf if none.
    """
    first = np.full(len(ens.summary), np.inf)
    for s in roles.senders:
        x = ens.series(f"sanctions_{s}_{roles.target}")
        up = (x - x[:, :1]) >= IMPOSITION - 1e-12
        hit = up.any(axis=1)
        first = np.where(hit, np.minimum(first, up.argmax(axis=1)), first)
    return first


def durable_compliance(ens: Ensemble, roles: Roles) -> tuple[np.ndarray, np.ndarray]:
    """Episodes (a new imposition on the target) and their success (durable compliance).

    Success: a relief deal (the target's verifiable halt of transfers) is first struck after the
    imposition, is never broken, and is in force at the horizon.
    """
    t = roles.track
    imp = imposition_month(ens, roles)
    episode = np.isfinite(imp)
    deal = ens.summary[f"{t}_month"].to_numpy()
    kept = ((ens.summary[f"{t}_reached"].to_numpy() > 0.5)
            & (ens.summary[f"{t}_broken"].to_numpy() < 0.5)
            & (ens.series(f"active_{t}")[:, -1] > 0.5))
    success = episode & kept & (np.nan_to_num(deal, nan=-1.0) > imp)
    return episode, success


def growth(ens: Ensemble, actor: str) -> np.ndarray:
    """Annualised monthly growth of ``actor``'s GDP, runs x months (month m is column m-1)."""
    g = ens.series(f"gdp_index_{actor}")
    return 12.0 * np.diff(np.log(g), axis=1)


def coalition_share(scn: Scenario, roles: Roles) -> float:
    """The coalition's share of the world economy at the start.

    The GDP of the senders that sanction the target over ``world.world_gdp``, as the model
    computes it (ODD 7.5).
    """
    spec = scn.spec
    senders = {s.sender for s in spec.sanctions if s.target == roles.target and s.intensity > 0}
    return sum(spec.actors[s].gdp for s in senders) / spec.world.world_gdp


def coalition_overrides(scn: Scenario, roles: Roles, share: float) -> dict[str, Any]:
    """Overrides giving the coalition ``share`` of the world economy at the start.

    The coalition's share is computed from who sanctions (ODD 7.5); to move it with the same
    senders, the world economy it is a share of is set: ``world_gdp = senders' GDP / share``.
    """
    return {"world.world_gdp": coalition_share(scn, roles) * scn.spec.world.world_gdp / share}
