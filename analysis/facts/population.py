"""A population of synthetic sanctions episodes, run through the model's own rules.

Facts 1, 2, 3 and 5 of the reference list are base rates over many different sender-target pairs
(HSE's 204 episodes, TIES's threats, GSDB's cases). Comparing them with the chance variation of
one case (Iran in the baseline) is a category error, so they are measured here on a population:
each episode is one small scenario (:data:`EPISODE_TOML`: a target that arms a belligerent, a
lead sender, a second sender, a busting partner, a relief track) whose covariates are drawn from
the priors of :data:`PRIORS`, then run once with the same compiled rules as every scenario.

Every episode differs from the template only in parameter cells, so the whole population runs as
one design of cell edits (:class:`sim.jobs.edits.PointEdits`) in one call of the kernel per arm,
recording the monthly figures the facts need (:func:`sim.engines.ensemble.raw_outcomes`, the
runner of :func:`sim.jobs.backends.run_design`'s chunks). Episode ``e`` is run ``e`` of point
``e``: the episodes are independent draws (each its own random numbers), and the arms of one
episode (multilateral, unilateral, no sanctions) share them (common random numbers).

The priors. The episode datasets code their cases on a few covariates: HSE (Hufbauer, Schott,
Elliott & Oegg 2007) the sender-target GNP ratio, the trade linkage (the sender's share of the
target's trade), prior relations, the cost to the sender and international cooperation; TIES
(Morgan, Bapat & Kobayashi 2014) the number of senders and the sender's costs; GSDB (Felbermayr
et al. 2020) multilateral against unilateral cases. The distributions of those covariates are not
in the project's reference figures (``../shared/reference/figures.csv``), so each prior below
states which covariate it stands for, what its range rests on (a reference key, a baseline value)
and, where no figure exists, "assumption". The priors are wide on purpose: the population is a
space of plausible episodes, not a fit to one dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.facts.roles import Roles
from analysis.facts.variants import Ensemble
from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs
from sim.core.rng import seed_key
from sim.scenario import Scenario
from sim.scenario.loading import read_scenario_text

#: The episode template. Every value not drawn by a prior is the baseline's value for the actor
#: in the same role (TGT: Iran; BEL: Russia; FOE: Ukraine; LEAD: the United States; ALLY: the
#: EU; BUST: China; the category: the baseline's drones). The episode starts with no sanctions
#: and no sanctions history (``sanctioned_months = 0``), so the target's trend growth is its
#: growth without sanctions and the whole damage of the episode is measured (fact 3). The lead
#: sender and the ally warn at the start (the threat stage: a public threat over the target's
#: arms transfers); the ally is passive in a unilateral episode.
EPISODE_TOML = """\
relations = [
  { a = "TGT", b = "BEL", affinity = 0.6 },
  { a = "TGT", b = "LEAD", affinity = -0.7 },
  { a = "TGT", b = "ALLY", affinity = -0.5 },
  { a = "TGT", b = "BUST", affinity = 0.4 },
  { a = "TGT", b = "FOE", affinity = -0.3 },
  { a = "BEL", b = "LEAD", affinity = -0.8 },
  { a = "BEL", b = "ALLY", affinity = -0.8 },
  { a = "BEL", b = "FOE", affinity = -1.0 },
  { a = "BEL", b = "BUST", affinity = 0.5 },
  { a = "LEAD", b = "ALLY", affinity = 0.8 },
  { a = "LEAD", b = "FOE", affinity = 0.7 },
  { a = "ALLY", b = "FOE", affinity = 0.8 },
  { a = "LEAD", b = "BUST", affinity = -0.2 },
  { a = "ALLY", b = "BUST", affinity = 0.0 },
]
trade = [
  { from = "TGT", to = "BUST", share = 0.46 },
  { from = "TGT", to = "LEAD", share = 0.02 },
  { from = "TGT", to = "ALLY", share = 0.05 },
  { from = "TGT", to = "BEL", share = 0.05 },
  { from = "BUST", to = "LEAD", share = 0.11 },
  { from = "BUST", to = "ALLY", share = 0.13 },
]
sanctions = [
  { sender = "LEAD", target = "TGT", intensity = 0.0 },
  { sender = "ALLY", target = "TGT", intensity = 0.0 },
]

[meta]
title = "A synthetic sanctions episode (template of the facts' population)"
horizon = 60

[world]
world_gdp = 105000.0
leak_gain = 1.5
max_leak = 0.8
damage_rate = 0.10
adaptation_rate = 0.012
shock_sd = 0.02
war_cost = 0.30
relief_boost = 0.06
w_risk = 6.0
w_relief = 6.0

[actors.TGT]
name = "Target"
kind = "state"
gdp = 404.63
milex = 10.3
alignment = -0.8
openness = 0.3
growth = 0.03
busting = 0.3
capacity = { arms = 300 }
relief_priority = 0.3
control = 0.6
pain_sensitivity = 0.6
deny_probability = 0.9

[actors.BEL]
name = "Belligerent"
kind = "state"
gdp = 2020.0
milex = 109.0
alignment = -0.9
openness = 0.45
growth = 0.036
busting = 0.5
war_exposure = 0.15
demand = { arms = 400 }

[actors.FOE]
name = "Defender"
kind = "state"
gdp = 178.8
milex = 64.8
alignment = 0.8
openness = 0.5
growth = 0.053
war_exposure = 1.0

[actors.LEAD]
name = "Lead sender"
kind = "state"
gdp = 27361.0
alignment = 1.0
openness = 0.25
growth = 0.02
leverage = 0.30
warning = 1.0
escalation_step = 0.15
escalation_cap = 0.95
escalation_threshold = 1.0
deadline = 12
audience_cost = 1.0
ease_step = 0.05
credibility = 0.6
credibility_gain = 0.15
credibility_loss = 0.2
relief_offer = 0.4
snapback = 0.2

[actors.ALLY]
name = "Second sender"
kind = "bloc"
members = ["the lead sender's allies"]
cohesion = 0.7
gdp = 18350.0
alignment = 0.9
openness = 0.45
growth = 0.012
leverage = 0.25
warning = 1.0
escalation_step = 0.10
escalation_cap = 0.8
escalation_threshold = 1.5
deadline = 12
audience_cost = 0.5
ease_step = 0.05
credibility = 0.5
credibility_gain = 0.15
credibility_loss = 0.25
relief_offer = 0.5
snapback = 0.15

[actors.BUST]
name = "Busting partner"
kind = "state"
gdp = 17795.0
alignment = -0.3
openness = 0.35
growth = 0.052
busting = 0.7

[categories.arms]
unit = "units"
value = 1.0
price = 0.05
detection = 0.25
escalation_weight = 1.0

[routes.tgt_bel_arms]
supplier = "TGT"
recipient = "BEL"
category = "arms"

[tracks.relief]
kind = "relief"
party = "TGT"
counterparts = ["LEAD", "ALLY"]
trust = 0.25
trust_gain = 0.06
trust_loss = 0.2
min_trust = 0.35
base_rate = 0.4
halt_cost = 0.2
implementation_months = 6
monitoring = 0.5

[theatre]
attacker = "BEL"
defender = "FOE"
intensity = 0.8
balance = 0.1
base_intensity = 0.6
value_per_milex = 25.0
supply_ref = 5500.0
"""

#: Months over which the population's facts are measured (the baseline's horizon; the
#: template runs 60 months so that fact 3 can follow damage for three years after an
#: imposition, and the fragility figure shows 12 to 60).
HORIZON = 36


@dataclass(frozen=True)
class Prior:
    """One covariate of an episode and the distribution it is drawn from.

    Attributes:
        name: the covariate, in the datasets' words.
        keys: the template's dotted keys it sets (one value for all of them).
        kind: ``"uniform"``, ``"loguniform"`` or ``"bernoulli"`` (``low`` is then p).
        low, high: the range (for ``bernoulli``: p and unused).
        uses: the dataset covariate it stands for and what its range rests on ("assumption"
            where no figure exists).
    """

    name: str
    keys: tuple[str, ...]
    kind: str
    low: float
    high: float
    uses: str

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws from the prior."""
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.kind == "loguniform":
            return np.exp(rng.uniform(np.log(self.low), np.log(self.high), n))
        if self.kind == "bernoulli":
            return (rng.random(n) < self.low).astype(float)
        raise ValueError(f"unknown prior kind {self.kind!r}")

    def describe(self) -> str:
        """The distribution in a few words."""
        if self.kind == "bernoulli":
            return f"Bernoulli({self.low:g})"
        word = "log-uniform" if self.kind == "loguniform" else "uniform"
        return f"{word} [{self.low:g}, {self.high:g}]"


#: The priors of an episode's covariates. Sender and target economies, trade dependence,
#: detection, sender costs, target resolve, coalition size: the covariates the issue names.
PRIORS: tuple[Prior, ...] = (
    Prior("target economy (GDP, USD bn)", ("actors.TGT.gdp",), "loguniform", 25.0, 2000.0,
          "HSE's sender-target GNP ratio (targets far smaller than their senders); range from "
          "the sanctioned economies of the bundled world, North Korea's ~29 (the baseline's "
          "PRK) to Russia's 2020 (gdp_russia)"),
    Prior("lead sender's share of the world economy", ("share_lead",), "uniform", 0.05, 0.30,
          "HSE's principal senders (the US, the EU, the UN's members); the top is gdp_usa / "
          "gdp_world (0.26), the bottom a middle power: assumption"),
    Prior("multilateral coalition's share of the world economy", ("share_coalition",),
          "uniform", 0.35, 0.80,
          "GSDB's multilateral cases; sanctions_coalition_world_share (80 -> 60%) for the "
          "Western coalition, the bottom (0.35) assumption"),
    Prior("multilateral episode", ("multilateral",), "bernoulli", 0.4, 0.0,
          "TIES's number of senders / HSE's international cooperation: the share of episodes "
          "with a second sender is assumption (0.4)"),
    Prior("target's trade openness (trade / GDP)", ("actors.TGT.openness",), "uniform", 0.15,
          0.60, "HSE's trade linkage; Iran 0.3 and Russia 0.45 in the baseline: assumption"),
    Prior("target's trade with the lead sender (share)", ("trade.1.share",), "uniform", 0.0,
          0.25, "HSE's trade linkage (the sender's share of the target's trade); Iran's 0.02 "
          "with the US at the low end: assumption"),
    Prior("target's trade with the second sender (share)", ("trade.2.share",), "uniform", 0.0,
          0.25, "as above, for the second sender: assumption"),
    Prior("target's trade with a busting partner (share)", ("trade.0.share",), "uniform", 0.05,
          0.45, "Early 2015 (busting partners); iran_crude_exports_2024 (77% of crude to "
          "China) at the top: assumption"),
    Prior("lead sender's leverage", ("actors.LEAD.leverage",), "uniform", 0.05, 0.35,
          "HSE's sender-target GNP ratio and the dollar system; the US 0.30 in the baseline: "
          "assumption"),
    Prior("detection of a shipment (per month)", ("categories.arms.detection",), "uniform",
          0.05, 0.40, "the baseline's categories (0.1 production assistance to 0.3 dual use): "
          "assumption"),
    Prior("lead sender's audience cost (% of GDP)", ("actors.LEAD.audience_cost",),
          "loguniform", 0.05, 2.0, "HSE's and TIES's cost to the sender; the baseline's US "
          "(1.0) and EU (0.5): assumption"),
    Prior("second sender's audience cost (% of GDP)", ("actors.ALLY.audience_cost",),
          "loguniform", 0.05, 1.0, "as above: assumption"),
    Prior("target's resolve: weight on relief", ("actors.TGT.relief_priority",), "uniform",
          0.1, 0.7, "Iran 0.3 before and 0.6 after its 2024 change of government "
          "(pezeshkian_runoff): assumption"),
    Prior("target's resolve: government control of transfers", ("actors.TGT.control",),
          "uniform", 0.3, 0.9, "Iran 0.6 in the baseline: assumption"),
    Prior("prior relations with the senders (affinity)", ("relations.1.affinity",
                                                          "relations.2.affinity"),
          "uniform", -0.9, -0.2, "HSE's prior relations (antagonistic to cordial; a threat "
          "needs hostility, ODD 7.2): assumption"),
)


def draw_covariates(n: int, seed: int) -> pd.DataFrame:
    """``n`` episodes' covariates, one row each (columns: the priors' first keys).

    A Bernoulli prior's column comes with the uniforms it was drawn from (``KEY_u``).

    Drawn with numpy's generator keyed by ``seed`` and a purpose of their own (not the model's
    draws, which are keyed by episode in the kernel).
    """
    rng = np.random.default_rng([seed_key(seed) % 2**32, 15, 1])
    cols: dict[str, np.ndarray] = {}
    for p in PRIORS:
        if p.kind == "bernoulli":
            # Kept: the uniforms let the fragility sweep redraw the flag at another p, nested.
            u = rng.random(n)
            cols[p.keys[0]] = (u < p.low).astype(float)
            cols[p.keys[0] + "_u"] = u
        else:
            cols[p.keys[0]] = p.draw(rng, n)
    return pd.DataFrame(cols)


@lru_cache(maxsize=2)
def episode_template(unilateral: bool = False) -> Scenario:
    """The episode template: multilateral (both senders at the relief table) or unilateral.

    In the unilateral template only the lead sender sits at the relief talks (a structural
    difference, so it is a template of its own); the second sender stays as a passive actor.
    """
    text = EPISODE_TOML
    if unilateral:
        text = text.replace('counterparts = ["LEAD", "ALLY"]', 'counterparts = ["LEAD"]')
    return read_scenario_text(text, "episode.toml" if not unilateral else "episode_uni.toml")


#: The arms every episode is run in. ``multi``/``uni``: the coalition of the episode's kind
#: (both senders, or the lead alone); ``*_q``: relief talks off (``base_rate`` 0), so that a deal
#: does not mix into the damage (fact 3); ``none_q``: no sender threatens or imposes.
ARMS = ("multi", "uni", "multi_q", "uni_q", "none_q")


def arm_values(cov: pd.DataFrame, arm: str, template: Scenario,
               assumptions: dict[str, float] | None = None) -> tuple[list[str], np.ndarray]:
    """The dotted keys and the points x keys values of one arm of the population.

    The coalition shares set the senders' GDP (the model computes the coalition's share from who
    sanctions, ODD 7.5): the lead's GDP is its share of ``world.world_gdp``; the second sender's
    the rest of the coalition. ``assumptions`` sets fixed keys (the fragility sweep).
    """
    world = template.spec.world.world_gdp
    n = len(cov)
    keys: list[str] = []
    cols: list[np.ndarray] = []

    def put(key: str, value: np.ndarray | float) -> None:
        if key in keys:
            cols[keys.index(key)] = np.broadcast_to(np.asarray(value, float), n).copy()
            return
        keys.append(key)
        cols.append(np.broadcast_to(np.asarray(value, float), n).copy())

    for p in PRIORS:
        if p.keys[0] in ("share_lead", "share_coalition", "multilateral"):
            continue
        for k in p.keys:
            put(k, cov[p.keys[0]].to_numpy())
    lead = cov["share_lead"].to_numpy()
    ally = np.maximum(cov["share_coalition"].to_numpy() - lead, 0.02)
    put("actors.LEAD.gdp", lead * world)
    put("actors.ALLY.gdp", ally * world)
    ally_on = 1.0 if arm in ("multi", "multi_q") else 0.0
    lead_on = 0.0 if arm == "none_q" else 1.0
    put("actors.ALLY.warning", ally_on)
    put("actors.ALLY.escalation_step", 0.10 * ally_on)
    put("actors.ALLY.relief_offer", 0.5 * ally_on)
    put("actors.ALLY.snapback", 0.15 * ally_on)
    put("actors.LEAD.warning", lead_on)
    put("actors.LEAD.escalation_step", 0.15 * lead_on)
    put("actors.LEAD.snapback", 0.2 * lead_on)
    if arm.endswith("_q"):
        put("tracks.relief.base_rate", 0.0)
    for k, v in (assumptions or {}).items():
        put(k, v)
    return keys, np.column_stack(cols)


@dataclass
class Population:
    """A population of episodes, each run once in every arm (common random numbers).

    Attributes:
        covariates: one row per episode (the priors' draws).
        arms: per arm, the runs as an :class:`Ensemble` (row ``e`` is episode ``e``).
        multilateral: per episode, whether it is a multilateral episode (its own arm for facts
            1 and 2 is ``multi``, else ``uni``).
        roles: who is who in the template.
        seed: the seed of the model's draws.
        assumptions: the fixed keys of this population (empty: the template's values).
    """

    covariates: pd.DataFrame
    arms: dict[str, Ensemble]
    multilateral: np.ndarray
    roles: Roles
    seed: int
    assumptions: dict[str, float]

    @property
    def episodes(self) -> int:
        """Number of episodes."""
        return len(self.covariates)

    def own(self, name: str, quiet: bool = False) -> np.ndarray:
        """Monthly figure ``name`` of every episode in its own arm (multi or uni)."""
        suffix = "_q" if quiet else ""
        m = self.arms["multi" + suffix].series(name)
        u = self.arms["uni" + suffix].series(name)
        return np.where(self.multilateral[:, None], m, u)

    def own_summary(self, column: str) -> np.ndarray:
        """Summary column of every episode in its own arm."""
        m = self.arms["multi"].summary[column].to_numpy()
        u = self.arms["uni"].summary[column].to_numpy()
        return np.where(self.multilateral, m, u)


def _cells(template: Scenario, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The cells the dotted ``keys`` set in the template, and the key of each cell."""
    from sim.jobs.edits import cell_targets

    targets = [cell_targets(template, k) for k in keys]
    bad = [k for k, t in zip(keys, targets, strict=True) if t is None]
    if bad:
        raise ValueError(f"not a parameter cell of the episode template: {', '.join(bad)}")
    cells = np.array([c for t in targets for c in t], dtype=np.int64).reshape(-1, 3)
    factor = np.array([f for f, t in enumerate(targets) for _ in t], dtype=np.int64)
    return cells, factor


def run_arm(template: Scenario, keys: list[str], values: np.ndarray, seed: int,
            months: int | None = None, check: bool = True) -> Ensemble:
    """Every episode of one arm: run ``e`` of point ``e``, with monthly figures.

    One call of the compiled kernel over the design of cell edits (the points of
    :class:`sim.jobs.edits.PointEdits` and the runner of :func:`sim.jobs.backends.run_design`'s
    chunks, which keeps only the summaries; the facts need the monthly record). With ``check``
    the design is validated first (:func:`sim.jobs.edits.check_design`: every value within its
    bounds, the rules between fields), as a scenario file would be.
    """
    from sim.engines.ensemble import raw_outcomes
    from sim.jobs.edits import check_design

    if check:
        check_design(template, keys, values)
    cells, factor = _cells(template, tuple(keys))
    cs = template.compile()
    months = template.horizon if months is None else int(months)
    n = values.shape[0]
    ids = np.arange(n, dtype=np.int64)
    point_values = np.ascontiguousarray(values[:, factor], dtype=np.float64)
    raw, traj = raw_outcomes(cs, seed_key(seed), ids, months, item_points=ids, cells=cells,
                             point_values=point_values, record=True)
    names, idx = outcome_layout(cs)
    summary = pd.DataFrame(raw[:, idx], columns=names)
    summary.insert(0, "run", ids)
    monthly = {m: traj[:, :, k] for k, m in enumerate(monthly_names(cs, sanction_pairs(cs)))}
    return Ensemble(template, summary, monthly)


def run_population(episodes: int, seed: int, assumptions: dict[str, float] | None = None,
                   arms: tuple[str, ...] = ARMS) -> Population:
    """Draw ``episodes`` episodes (covariates from ``seed``) and run each in ``arms``.

    Args:
        episodes: number of synthetic episodes (each run once per arm).
        seed: seed of the covariates' draws and of the model's draws.
        assumptions: dotted keys of the template set to one value in every episode (the
            fragility sweep: ``{"actors.TGT.pain_sensitivity": 0.0}``).
        arms: which arms to run (see :data:`ARMS`).
    """
    cov = draw_covariates(episodes, seed)
    out: dict[str, Ensemble] = {}
    for k, arm in enumerate(arms):
        template = episode_template(unilateral=arm.startswith("uni"))
        keys, values = arm_values(cov, arm, template, assumptions)
        # The arms differ only in switching senders off (0) or on (the template's values) and
        # relief talks off: validating the first arm validates the drawn and assumed values.
        out[arm] = run_arm(template, keys, values, seed, check=k == 0)
    roles = Roles.of(episode_template())
    return Population(cov, out, cov["multilateral"].to_numpy() > 0.5, roles, seed,
                      dict(assumptions or {}))


def priors_table() -> pd.DataFrame:
    """The priors as a table: covariate, keys, distribution, what it uses."""
    return pd.DataFrame([{"covariate": p.name, "keys": ", ".join(p.keys),
                          "prior": p.describe(), "uses": p.uses} for p in PRIORS])
