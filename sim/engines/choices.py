"""Role-play: a month in which some actors' decisions are made by players instead of the model.

A month of the Mesa engine has two halves (:meth:`DiplomacyModel.open_month`, then
:meth:`DiplomacyModel.close_month`): the month's events fire and every agent decides, then all
decisions are resolved at once. Between the two, :func:`open_choices` lists what an actor decides
this month as questions a player can answer (:class:`Choice`), each with the model's own answer,
its chance and the reasons it weighed; :func:`apply_choices` writes the players' answers over the
model's decisions before the month is resolved, and tells each in the story.

The questions are the decisions the rules give an actor (:mod:`sim.core.rules`):

- ``ship:<route>`` (a supplier, each open route with a need to fill): ``ship`` or ``hold``; a
  shipment is the units the model would ship (the recipient's unmet need, capped by capacity).
- ``threat:<route>`` (a sanctioner, when the model issues a threat over a detected shipment):
  ``threaten`` or ``hold off``.
- ``package:<route>`` (a sanctioner, when a shipment violated its threat and the evidence calls
  for the package): ``impose`` or ``back down``; the package, the credibility gained or lost and
  any secondary sanctions follow as the rules set them.
- ``deal:<track>`` (the party of a track, when a zone of agreement exists and trust suffices):
  ``agree`` or ``decline``; an agreement takes the terms the model would agree (the Nash
  bargaining solution).

Every other decision of the month stays the model's, drawn from the same keyed random numbers,
so a month with no answers, or with the model's own answers, is exactly the model's month.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.core import layout as L
from sim.core.rules import (
    after_package,
    decide_sanctions,
    decide_track,
    new_decisions,
    package_of,
    route_need,
    sender_cost,
    settle_threats,
)
from sim.engines.model import Reason, StoryEvent, _flow, _who, supply_reasons
from sim.errors import UsageError

if TYPE_CHECKING:
    from sim.engines.model import DiplomacyModel

OPTIONS = {"ship": ("ship", "hold"), "threat": ("threaten", "hold off"),
           "package": ("impose", "back down"), "deal": ("agree", "decline")}
"""The answers to each kind of question; the first is the one that acts."""


@dataclass(frozen=True)
class Choice:
    """One decision an actor makes this month, as a question a player can answer.

    Attributes:
        key: ``"<kind>:<route or track id>"`` (``"ship:IRN_RUS_drones"``).
        actor: the id of the actor who decides.
        kind: ``ship``, ``threat``, ``package`` or ``deal``.
        question: the question in plain words.
        options: the possible answers (:data:`OPTIONS`).
        model: the model's own answer this month.
        chance: the model's chance of the first option (``None`` where it is no draw).
        reasons: the terms the model weighed, largest first.
    """

    key: str
    actor: str
    kind: str
    question: str
    options: tuple[str, ...]
    model: str
    chance: float | None
    reasons: tuple[Reason, ...]


def _route(model: DiplomacyModel, key: str) -> int:
    return model.compiled.route_ids.index(key.split(":", 1)[1])


def _track(model: DiplomacyModel, key: str) -> int:
    return model.compiled.track_ids.index(key.split(":", 1)[1])


def _units(model: DiplomacyModel, r: int) -> float:
    """The units route ``r`` would ship this month (as :func:`sim.core.rules.decide_supply`)."""
    s = model.state
    sup, c = int(s.RP[r, L.R_SUPPLIER]), int(s.RP[r, L.R_CATEGORY])
    _, units = route_need(r, s.params, s.state)
    return float(math.floor(min(units, s.params.CAP[sup, c]) + 0.5))


def open_choices(model: DiplomacyModel, actor: str) -> list[Choice]:
    """The decisions ``actor`` makes in the open month, with the model's answers and reasons.

    Raises:
        UsageError: if no month is open or ``actor`` is not an actor of the scenario.
    """
    if not model.month_open:
        raise UsageError("no month is open: call open_month() first")
    ids = model.compiled.actor_ids
    if actor not in ids:
        raise UsageError(f"actor {actor!r} is not in the scenario (actors: {', '.join(ids)})")
    i = ids.index(actor)
    s, cs = model.state, model.compiled
    out: list[Choice] = []
    for r, rid in enumerate(cs.route_ids):
        if int(s.RP[r, L.R_SUPPLIER]) != i or s.RP[r, L.R_OPEN] < 0.5:
            continue
        units = _units(model, r)
        if units <= 0:
            continue
        what = cs.category_units[int(s.RP[r, L.R_CATEGORY])]
        rec = _who(model, int(s.RP[r, L.R_RECIPIENT]))
        question = f"Ship {units:.0f} {what} to {rec} this month?"
        if s.DW[r, L.DW_HALT] >= 0.5:
            question += " (your government has agreed to halt these transfers)"
        out.append(Choice(f"ship:{rid}", actor, "ship", question, OPTIONS["ship"],
                          "ship" if s.DR[r] > 0 else "hold",
                          float(s.DW[r, L.DW_PROBABILITY]), supply_reasons(s.DW[r], most=5)))
    for r, rid in enumerate(cs.route_ids):
        code = int(s.DTH[i, r])
        j = int(s.RP[r, L.R_SUPPLIER])
        before = model.month_before
        if code == L.TH_ISSUE:
            out.append(Choice(f"threat:{rid}", actor, "threat", f"A shipment was "
                              f"detected in {_flow(model, r)}: threaten {_who(model, j)} with "
                              f"a sanctions package if it ships again?", OPTIONS["threat"],
                              "threaten", None,
                              (Reason(f"affinity with {_who(model, j)}",
                                      float(before.AFF[i, j])),
                               Reason("credibility", float(before.SA[i, L.S_CRED])))))
        elif code in (L.TH_IMPOSE, L.TH_BACK_DOWN):
            now = float(before.SANC[i, j])
            level = float(after_package(now, package_of(i, int(s.RP[r, L.R_CATEGORY]),
                                                        s.params), s.AP[i, L.A_ESC_CAP]))
            cost = float(sender_cost(i, j, level - now, s.params, before))
            out.append(Choice(f"package:{rid}", actor, "package", f"{_who(model, j)} shipped "
                              f"despite your threat over {_flow(model, r, its=True)}: impose "
                              f"the package (sanctions on {_who(model, j)} from {now:.2f} to "
                              f"{level:.2f}) or back down?", OPTIONS["package"],
                              "impose" if code == L.TH_IMPOSE else "back down", None,
                              (Reason(f"cost to {_who(model, i)}", cost, "%"),
                               Reason("audience cost of backing down",
                                      float(s.AP[i, L.A_AUDIENCE]), "%"),
                               Reason("credibility", float(before.SA[i, L.S_CRED])))))
    for t, tid in enumerate(cs.track_ids):
        if int(s.TP[t, L.T_PARTY]) != i or s.DT[t, L.DT_ZOPA] < 0.5:
            continue
        trust = float(model.month_before.TS[t, L.TS_TRUST])
        if trust < s.TP[t, L.T_MIN_TRUST]:
            continue
        members = [_who(model, k) for k in range(len(ids)) if s.TM[t, k] > 0]
        if cs.track_kinds[t] == "relief":
            question = (f"Agree a relief deal with {', '.join(members)}: halt your covert arms "
                        "transfers in exchange for the lifting of part of their sanctions?")
            reasons = (Reason("relief priority", float(model.month_before.SA[i, L.S_PRIO])),
                       Reason("trust", trust))
        else:
            question = f"Agree a ceasefire with {', '.join(members)}?"
            reasons = (Reason("stalemate", float(model.month_before.TS[t, L.TS_STALEMATE]),
                              "months"), Reason("trust", trust))
        out.append(Choice(f"deal:{tid}", actor, "deal", question, OPTIONS["deal"],
                          "agree" if s.DT[t, L.DT_DEAL] >= 0.5 else "decline", None, reasons))
    return out


def apply_choices(model: DiplomacyModel,
                  played: Mapping[str, Mapping[str, str]]) -> list[StoryEvent]:
    """Write the players' answers over the model's decisions of the open month.

    Args:
        model: a model with a month open.
        played: ``{actor id: {choice key: answer}}``; a question left out keeps the model's
            answer.

    Returns:
        One story line per answer given, telling the choice and the model's own answer.

    Raises:
        UsageError: naming the actor, question or answer that is not open this month.
    """
    lines: list[StoryEvent] = []
    for actor, answers in played.items():
        open_now = {c.key: c for c in open_choices(model, actor)}
        changed_sanctions = False
        for key, answer in answers.items():
            if key not in open_now:
                raise UsageError(f"{actor} has no question {key!r} in month {model.month} "
                                 f"(open: {', '.join(open_now) or 'none'})")
            choice = open_now[key]
            if answer not in choice.options:
                raise UsageError(f"{actor}: {key}: answer must be one of "
                                 f"{', '.join(choice.options)}, got {answer!r}")
            lines.append(_tell_choice(model, choice, answer))
            if answer == choice.model:
                continue
            if choice.kind == "ship":
                r = _route(model, key)
                model.state.DR[r] = _units(model, r) if answer == "ship" else 0.0
            elif choice.kind == "deal":
                _set_deal(model, _track(model, key), answer == "agree")
            else:
                r = _route(model, key)
                i = model.compiled.actor_ids.index(actor)
                model.state.DTH[i, r] = {"threaten": L.TH_ISSUE, "hold off": L.TH_NONE,
                                         "impose": L.TH_IMPOSE,
                                         "back down": L.TH_BACK_DOWN}[answer]
                changed_sanctions = True
        if changed_sanctions:
            _redo_sanctions(model, model.compiled.actor_ids.index(actor))
    return lines


def _tell_choice(model: DiplomacyModel, choice: Choice, answer: str) -> StoryEvent:
    model_said = ("as the model would have" if answer == choice.model
                  else f"the model would have chosen to {choice.model}")
    text = (f"{_who(model, model.compiled.actor_ids.index(choice.actor))} is played: asked "
            f"\u201c{choice.question}\u201d, the player chooses to {answer} ({model_said})")
    return StoryEvent(model.month, "choice", text, choice.reasons)


def _set_deal(model: DiplomacyModel, t: int, agree: bool) -> None:
    """Agree (with the model's terms) or decline the deal on track ``t`` this month."""
    s = model.state
    if not agree:
        s.DT[t, L.DT_DEAL] = 0.0
        s.DT[t, L.DT_TERMS] = 0.0
        return
    # The terms the rule would agree: decide the track again with a certain agreement.
    tp = s.params.TP.copy()
    tp[t, L.T_BASE_RATE] = np.inf
    scratch = new_decisions(len(model.compiled.actor_ids), s.DR.shape[0], tp.shape[0])
    key = model.month_arrays()[0]
    decide_track(t, key, s.params._replace(TP=tp), model.month_before, scratch)
    if scratch.DT[t, L.DT_DEAL] >= 0.5:
        s.DT[t, L.DT_DEAL] = 1.0
        s.DT[t, L.DT_TERMS] = scratch.DT[t, L.DT_TERMS]


def _redo_sanctions(model: DiplomacyModel, i: int) -> None:
    """Sender ``i``'s sanctions, credibility and counts for its threat decisions as they stand.

    The row of sanctions is the model's without any package (its easing under a deal in force);
    :func:`sim.core.rules.settle_threats`, where the model's own month ends too, then applies
    the threat decisions as answered: packages, secondary sanctions, credibility and counts.
    """
    s, key = model.state, model.month_arrays()[0]
    p, before = s.params, model.month_before
    ap = p.AP.copy()
    ap[i, L.A_ESC_STEP] = 0.0
    n, nr = ap.shape[0], p.RP.shape[0]
    scratch = new_decisions(n, nr, p.TP.shape[0])
    scratch.DS[:, :] = before.SANC
    decide_sanctions(i, key, p._replace(AP=ap), before, scratch)
    s.DS[i, :] = scratch.DS[i, :]
    settle_threats(i, key, p, before, s.decisions)
