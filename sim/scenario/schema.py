"""The scenario schema: every parameter of the model, with its meaning, unit and bounds.

A scenario file (TOML) maps one to one onto these models. Each field carries its unit and a
one-line meaning in its metadata; ``docs/ODD.md``'s parameter table is generated from here
(``docs/make_parameter_table.py``, checked by ``tests/test_docs.py``), so the documentation
cannot drift from the code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def P(default: Any, unit: str, doc: str, ge: float | None = None, le: float | None = None,
      read: bool = True):
    """A model parameter: default, unit, meaning, closed bounds and whether a rule reads it.

    ``read=False`` declares the parameter descriptive: it documents the actor (and may be shown)
    but no rule of the model reads it, so moving it changes no run. ``tests/test_parameters.py``
    verifies every declaration behaviourally.
    """
    return Field(default, ge=ge, le=le, description=doc,
                 json_schema_extra={"unit": unit, "read": read})


def Prob(default: float, doc: str, unit: str = "probability", read: bool = True):
    """A parameter in [0, 1]."""
    return P(default, unit, doc, ge=0.0, le=1.0, read=read)


def is_read(model: type[BaseModel], name: str) -> bool:
    """Whether a rule of the model reads field ``name`` of ``model`` (its declaration)."""
    extra = model.model_fields[name].json_schema_extra or {}
    return bool(extra.get("read", True)) if isinstance(extra, dict) else True


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class Meta(_Strict):
    """Identity and time frame of a scenario."""

    title: str = Field(description="Human title of the scenario.")
    start: str = P("2024-01", "YYYY-MM", "Calendar month of month 1 (for the story only).")
    horizon: int = P(36, "months", "Number of monthly steps in a run.", ge=1, le=600)


class Teaching(_Strict):
    """Text shown to students: what the scenario is, what to notice, what to try."""

    description: str = ""
    notice: list[str] = Field(default_factory=list)
    try_: list[str] = Field(default_factory=list, alias="try")

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class World(_Strict):
    """Global parameters: economy, leakage, affinity dynamics and the supply-choice weights."""

    world_gdp: float = P(105000.0, "USD bn", "World GDP: the coalition's share of the world "
                         "economy is its senders' GDP over this.", ge=1.0, le=1e7)
    leak_gain: float = P(1.5, "1", "Leakage per unit of busting trade outside the coalition.",
                         ge=0.0, le=10.0)
    max_leak: float = Prob(0.8, "Ceiling on the share of pressure lost to leakage.", "fraction")
    damage_rate: float = P(0.10, "1/year", "Annual GDP loss per unit of effective sanction "
                           "pressure before adaptation.", ge=0.0, le=1.0)
    sanction_years: float = P(7.0, "years", "Years a sanctions package is expected to hurt: a "
                              "threatened package's damage counts over them.", ge=0.0, le=50.0)
    adaptation_rate: float = Prob(0.012, "Monthly share of remaining sanction damage a "
                                  "pressured target adapts away.", "1/month")
    shock_sd: float = P(0.02, "1/year", "Standard deviation of the annual GDP shock.", ge=0.0,
                        le=0.5)
    war_cost: float = P(0.10, "1/year", "Annual GDP cost of war at intensity 1, times the "
                        "actor's war exposure.", ge=0.0, le=1.0)
    relief_boost: float = P(0.06, "1/year", "Extra annual growth of a target under full relief "
                            "(oil exports return).", ge=0.0, le=0.5)
    affinity_drift: float = Prob(0.03, "Monthly pull of affinity back to its starting value.",
                                 "1/month")
    transfer_pull: float = P(0.02, "1/month", "Affinity gain of supplier and recipient per month "
                             "of deliveries meeting the recipient's full need.", ge=0.0, le=1.0)
    co_sanction_pull: float = P(0.01, "1/month", "Affinity gain between two targets per unit of "
                                "sanctions from a common sender.", ge=0.0, le=1.0)
    exposure_penalty: float = P(0.04, "affinity", "Affinity loss with non-aligned audiences when "
                                "a transfer is exposed and not denied (their goodwill sets how "
                                "much they bust sanctions on the supplier).", ge=0.0, le=1.0)
    denial_softening: float = Prob(0.6, "Share of that loss avoided by a public denial.",
                                   "fraction")
    trigger_memory: float = Prob(0.7, "Monthly persistence of detected transfers in the "
                                 "sanctioners' trigger.", "1/month")
    trade_diversion: float = P(0.02, "1/month", "Monthly shift of a pressured target's trade "
                               "toward partners that bust sanctions.", ge=0.0, le=1.0)
    supply_base: float = P(0.0, "utility", "Intercept of the supply logit.", ge=-20.0, le=20.0)
    w_affinity: float = P(1.5, "utility", "Weight of supplier-recipient affinity in the supply "
                          "logit.", ge=0.0, le=20.0)
    w_need: float = P(2.0, "utility", "Weight of the recipient's unmet need.", ge=0.0, le=20.0)
    w_price: float = P(1.0, "utility per % of GDP", "Weight of the month's arms revenue (per % "
                       "of the supplier's GDP).", ge=0.0, le=100.0)
    w_risk: float = P(6.0, "utility per % of GDP", "Weight of the expected cost of the "
                      "threatened packages a shipment would set off (their expected GDP loss "
                      "over sanction_years, % of GDP).", ge=0.0, le=1000.0)
    w_relief: float = P(4.0, "utility", "Weight of the relief a supplier puts at risk.", ge=0.0,
                        le=100.0)


class Actor(_Strict):
    """A state or bloc: economy, position, arms, domestic politics and its sanction doctrine."""

    name: str = Field(description="Display name.")
    kind: Literal["state", "bloc"] = "state"
    members: list[str] = Field(default_factory=list, description="Member states of a bloc.")
    cohesion: float = Prob(1.0, "Chance that a bloc's members act together on a decision.")
    gdp: float = P(100.0, "USD bn", "GDP at the start (current USD).", ge=0.0, le=1e6)
    milex: float = P(1.0, "USD bn", "Military spending per year: a party to the war produces "
                     "arms at home in proportion to it (theatre.value_per_milex).", ge=0.0,
                     le=1e5)
    alignment: float = P(0.0, "axis", "Position on the West (+1) to anti-West (-1) axis.",
                         ge=-1.0, le=1.0)
    openness: float = Prob(0.3, "Trade openness (trade / GDP): how much of its economy a trade "
                           "partner's sanctions reach, and what sanctioning it costs senders.",
                           "fraction")
    growth: float = P(0.02, "1/year", "Trend real growth.", ge=-0.5, le=0.5)
    leverage: float = Prob(0.0, "Economic leverage of this actor's sanctions on a target.",
                           "fraction")
    busting: float = Prob(0.0, "Willingness to trade around others' sanctions.", "fraction")
    war_exposure: float = Prob(0.0, "Share of the war's cost this actor bears.", "fraction")
    capacity: dict[str, float] = Field(default_factory=dict,
                                       description="Units per month it can export, by category.")
    demand: dict[str, float] = Field(default_factory=dict,
                                     description="Units per month it needs at war intensity 1.")
    built: dict[str, float] = Field(default_factory=dict,
                                    description="Units per month it already builds at home at the "
                                    "start, by category (its need for imports is its demand less "
                                    "this; production assistance adds to it).")
    backs: list[str] = Field(default_factory=list,
                             description="Actors whose threats its public warning backs: while it "
                             "has warned, their threats are more credible, as far as its members "
                             "act together (Martin 1992).")
    relief_priority: float = Prob(0.0, "Weight its government puts on sanctions relief.",
                                  "weight")
    control: float = Prob(1.0, "Its government's control over the transfers its security "
                          "apparatus runs: the chance a halt it orders is obeyed, and the weight "
                          "of relief in the apparatus's choice (1: a unitary actor).", "share")
    sanctioned_months: float = P(0.0, "months", "Age at the start of the sanctions episode "
                                 "against it: adaptation has accrued over these months.", ge=0.0,
                                 le=600.0)
    pain_sensitivity: float = P(0.0, "1/year", "Rise of relief priority per unit of effective "
                                "sanction pressure per year.", ge=0.0, le=10.0)
    deny_probability: float = Prob(0.0, "Chance it denies a transfer publicly when exposed.")
    # Doctrine: what a policy overlay may change.
    warning: float = Prob(0.0, "1 if at the start it has publicly threatened every hostile "
                          "supplier over each of its covert routes.", "flag")
    escalation_step: float = Prob(0.0, "Size of a sanctions package per unit of the transfer's "
                                  "escalation weight: the share of the target's remaining "
                                  "exposure it cuts.", "share")
    escalation_cap: float = Prob(0.0, "Highest sanction intensity it will impose.", "intensity")
    escalation_threshold: float = P(1.0, "weighted detections", "Evidence (escalation-"
                                    "weighted detected transfers, with memory) a violated "
                                    "threat needs before its package is imposed.",
                                    ge=0.0, le=100.0)
    deadline: float = P(12.0, "months", "Months a threat stands: complied with until then, it "
                        "lapses as a success.", ge=1.0, le=600.0)
    audience_cost: float = P(1.0, "% of GDP", "Audience cost of backing down from a public "
                             "threat: it imposes a package only if the package costs it less "
                             "(its lost trade with the target, % of its GDP).", ge=0.0, le=100.0)
    ease_step: float = Prob(0.05, "Monthly easing while a relief deal is kept.", "intensity")
    secondary: float = Prob(0.0, "Strength of secondary sanctions on facilitators, as a share "
                            "of the escalation step and cap.", "fraction")
    credibility: float = Prob(0.6, "Starting credibility of its threats.", "probability")
    credibility_gain: float = Prob(0.15, "Share of lost credibility regained when it imposes a "
                                   "threatened package or a threat is complied with.", "fraction")
    credibility_loss: float = Prob(0.2, "Share of credibility lost when it backs down from a "
                                   "threat.", "fraction")
    relief_offer: float = Prob(0.0, "Largest share of its sanctions it would lift in a deal.",
                               "fraction")
    snapback: float = Prob(0.2, "Sanctions added above the pre-deal level when a deal is broken "
                           "(never above its escalation cap, or the pre-deal level if higher).",
                           "intensity")


DOCTRINE_KEYS: frozenset[str] = frozenset({
    "warning", "escalation_step", "escalation_cap", "escalation_threshold", "deadline",
    "audience_cost", "ease_step", "secondary", "credibility_gain", "credibility_loss",
    "relief_offer", "snapback",
})


class Category(_Strict):
    """An arms category: what it is worth, costs, how visible and how grave it is."""

    unit: str = Field("units", description="Name of one unit (for the story).")
    value: float = P(1.0, "value/unit", "Military value of one unit.", ge=0.0, le=1e6)
    price: float = P(0.05, "USD mn/unit", "Price paid to the supplier per unit.", ge=0.0,
                     le=1e5)
    detection: float = Prob(0.3, "Chance that a month's shipment is detected and made public.",
                            "1/month")
    escalation_weight: float = P(1.0, "1", "How gravely sanctioners treat a detected transfer.",
                                 ge=0.0, le=100.0)
    builds: str = Field("", description="Category whose production this one builds up in the "
                        "recipient (production assistance), or empty.")
    build_rate: float = P(0.0, "units/month per unit", "Monthly capacity of `builds` added per "
                          "unit delivered.", ge=0.0, le=1e5)


class Route(_Strict):
    """A supply route: who may ship what to whom."""

    supplier: str
    recipient: str
    category: str
    open: float = Prob(1.0, "1 if the route is open (scheduled events may open or close it).",
                       "flag")
    propensity: float = P(0.0, "utility", "Route-specific bias of the supply logit.", ge=-20.0,
                          le=20.0)


class Track(_Strict):
    """A negotiation track: sanctions relief or a ceasefire."""

    kind: Literal["relief", "ceasefire"]
    party: str = Field(description="Relief: the sanctioned supplier. Ceasefire: the attacker.")
    counterparts: list[str] = Field(description="Relief: the sanctioners. Ceasefire: defender.")
    mediator: str = ""
    trust: float = Prob(0.2, "Starting trust between the sides.", "trust")
    trust_gain: float = Prob(0.04, "Monthly share of missing trust gained in a quiet month.",
                             "1/month")
    trust_loss: float = Prob(0.25, "Share of trust lost per exposed transfer (relief) or per "
                             "unit of arms flow (ceasefire).", "fraction")
    min_trust: float = Prob(0.3, "Trust needed before a deal can be struck.", "trust")
    base_rate: float = Prob(0.15, "Monthly chance of a deal when a zone of agreement exists and "
                            "trust is full.", "1/month")
    halt_cost: float = P(0.2, "utility", "Relief: what halting transfers costs the party, per "
                         "unit of its affinity with the recipients.", ge=0.0, le=10.0)
    implementation_months: int = P(0, "months", "Relief: months of verified halt between the "
                                   "agreement and the relief's start (Implementation Day).",
                                   ge=0, le=600)
    monitoring: float = Prob(0.0, "Relief: extra chance that a covert shipment of the party is "
                             "detected while a deal is being implemented or in force.")
    mediator_bonus: float = P(0.5, "1", "Ceasefire: relative rise of the deal rate with a "
                              "mediator, times the mediator's cohesion.", ge=0.0, le=10.0)
    stalemate_band: float = P(0.1, "balance/year", "Ceasefire: yearly movement of the front "
                              "(the smoothed trend of the balance) below which neither side "
                              "expects to win by fighting on.", ge=0.0, le=2.0)
    stalemate_months: int = P(6, "months", "Ceasefire: months of stalemate in a row before it "
                              "hurts both sides enough; also the span of the balance's trend.",
                              ge=1, le=600)
    hurting_intensity: float = Prob(0.4, "Ceasefire: war intensity above which the stalemate "
                                    "hurts.", "intensity")
    break_rate: float = Prob(0.0, "Ceasefire: monthly chance that a ceasefire with no "
                             "guarantees breaks down, at no arms inflow and with terms that match "
                             "the balance of forces.", "1/month")
    strength: float = Prob(0.0, "Ceasefire: strength of the agreement (Fortna 2004: demilitarised "
                           "zone, peacekeepers, guarantees, joint commission); cuts the breakdown "
                           "hazard by this share.", "fraction")


class Theatre(_Strict):
    """The war: who fights, how hard and who is winning."""

    attacker: str
    defender: str
    intensity: float = Prob(0.8, "Starting war intensity.", "intensity")
    balance: float = P(0.1, "balance", "Starting balance (+1 attacker winning, -1 defender).",
                       ge=-1.0, le=1.0)
    base_intensity: float = Prob(0.6, "Intensity the war tends to with no arms inflow.",
                                 "intensity")
    intensity_rate: float = Prob(0.1, "Monthly speed of intensity toward its target.", "1/month")
    value_per_milex: float = P(0.0, "value/month per USD bn", "Military value a party to the "
                               "war produces at home each month per USD bn of its yearly "
                               "military spending (`milex`).", ge=0.0, le=1e6)
    supply_ref: float = P(1000.0, "value/month", "Arms value per month and side (home production "
                          "and imports) that counts as full supply.", ge=1e-9, le=1e9)
    supply_intensity: float = P(0.4, "intensity", "Rise of target intensity at full supply.",
                                ge=0.0, le=1.0)
    balance_gain: float = P(0.05, "balance/month", "Shift of the balance when one side has all "
                            "the supply: the shift is this times (attacker - defender) / "
                            "(attacker + defender).", ge=0.0, le=1.0)
    balance_reversion: float = Prob(0.03, "Monthly pull of the balance back to 0.", "1/month")
    balance_sd: float = P(0.03, "balance/month", "Standard deviation of monthly battlefield "
                          "luck.", ge=0.0, le=1.0)
    ceasefire_intensity: float = Prob(0.05, "Intensity under a ceasefire.", "intensity")


class Relation(_Strict):
    """Starting affinity between two actors (symmetric)."""

    a: str
    b: str
    affinity: float = P(0.0, "affinity", "Starting affinity.", ge=-1.0, le=1.0)


class Trade(_Strict):
    """Share of one actor's foreign trade that goes to another."""

    source: str = Field(alias="from")
    to: str
    share: float = Prob(0.0, "Share of `from`'s trade with `to`.", "fraction")

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True,
                              populate_by_name=True)


class Sanction(_Strict):
    """Sanctions in force at the start."""

    sender: str
    target: str
    intensity: float = Prob(0.0, "Starting intensity.", "intensity")


class Event(_Strict):
    """A scheduled event: in `month`, parameter `key` takes `value`."""

    month: int = Field(ge=1, description="Month it fires (1..horizon).")
    key: str = Field(description="Dotted path of a numeric parameter, e.g. actors.IRN.relief_"
                     "priority.")
    value: float | bool
    note: str = Field("", description="What happened, in plain words (for the story).")


class Outcomes(_Strict):
    """Which pairs' final affinity the run summary reports."""

    key_pairs: list[list[str]] = Field(default_factory=list)


class ScenarioSpec(_Strict):
    """A whole scenario file."""

    extends: str = ""
    meta: Meta
    teaching: Teaching = Teaching()
    world: World = World()
    actors: dict[str, Actor]
    categories: dict[str, Category]
    routes: dict[str, Route]
    tracks: dict[str, Track] = Field(default_factory=dict)
    theatre: Theatre
    relations: list[Relation] = Field(default_factory=list)
    trade: list[Trade] = Field(default_factory=list)
    sanctions: list[Sanction] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    outcomes: Outcomes = Outcomes()
    sources: dict[str, str] = Field(default_factory=dict,
                                    description="Dotted key -> source (reference key or "
                                    "'assumption').")


def parameter_table() -> list[dict[str, str]]:
    """Rows (section, name, unit, default, bounds, meaning) for every numeric parameter."""
    rows = []
    for section, model in [("world", World), ("actors.<id>", Actor), ("categories.<id>", Category),
                           ("routes.<id>", Route), ("tracks.<id>", Track), ("theatre", Theatre),
                           ("meta", Meta)]:
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra or {}
            if "unit" not in extra:
                continue
            lo = hi = None
            for m in field.metadata:
                lo = getattr(m, "ge", lo)
                hi = getattr(m, "le", hi)
            rows.append({
                "section": section, "name": field.alias or name, "unit": str(extra["unit"]),
                "default": repr(field.default), "bounds": f"[{lo}, {hi}]",
                "meaning": field.description or "",
                "doctrine": "yes" if (section == "actors.<id>" and name in DOCTRINE_KEYS) else "",
            })
    return rows


if __name__ == "__main__":
    print("| key | unit | default | bounds | meaning |")
    print("|---|---|---|---|---|")
    for r in parameter_table():
        d = " (doctrine)" if r["doctrine"] else ""
        print(f"| `{r['section']}.{r['name']}` | {r['unit']} | {r['default']} | {r['bounds']} "
              f"| {r['meaning']}{d} |")
