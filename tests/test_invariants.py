"""Invariants of the model (issue 11), over every bundled scenario x policy and drawn scenarios.

What must hold whatever the parameters, run by run and month by month:

* **order-free**: listing the actors, routes and tracks of a scenario in another order changes
  no run (every draw and every sum is keyed by identity, not by position in the file);
* **an inert actor changes nothing**: adding an actor with no routes, trade, relations,
  sanctions or doctrine leaves every other actor's run bit for bit as it was (common random
  numbers between a scenario and its variant with one more actor);
* **relief after a halt**: no relief deal is reached in a month in which its party ships
  covertly (on a route whose category sanctioners react to, escalation weight above 0);
* **caps hold**: no sanction rises above its sender's escalation cap (or its level at the start,
  if that was higher) unless the doctrine says why;
* **warnings deter**: on the baseline, Iran delivers fewer covert units under the credible
  warnings of the scenario than with every warning removed, beyond Monte Carlo noise.

Runs are compared on common random numbers (same seed, same run indices) with the Numba engine
(the Mesa engine gives the same runs: ``tests/test_engine_contract.py``). Columns and monthly
figures are mapped by name, and names are built from ids, so mapping by name is mapping by id.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from builders import ScenarioBuilder
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import sim
from sim.core import layout as L
from sim.core.outcomes import monthly_names, outcome_layout, sanction_pairs
from sim.engines.ensemble import compute_chunk
from sim.results.stats import mean_interval
from sim.scenario import CompiledScenario, Scenario

SEED = 20261201
RUNS = 200
POLICIES: list[str | None] = [None, *sim.list_policies()]
CASES = [(name, policy) for name in sim.list_scenarios() for policy in POLICIES]
CASE_IDS = [f"{name}+{policy or 'none'}" for name, policy in CASES]


@dataclass(frozen=True)
class Runs:
    """An ensemble's summary columns and monthly figures, by name.

    Attributes:
        summary: column -> one value per run.
        monthly: figure -> runs x (months + 1) (month 0 is the starting state).
    """

    summary: dict[str, np.ndarray]
    monthly: dict[str, np.ndarray]


def simulate(scn: Scenario, runs: int = RUNS, seed: int = SEED) -> Runs:
    """Runs ``0..runs-1`` of ``scn`` over its whole horizon, summaries and monthly figures."""
    cs = scn.compile()
    chunk = compute_chunk(cs, seed, np.arange(runs), cs.horizon, record=True)
    names, _ = outcome_layout(cs)
    figures = monthly_names(cs, sanction_pairs(cs))
    assert chunk.trajectories is not None
    return Runs(dict(zip(names, chunk.outcomes.T, strict=True)),
                {f: chunk.trajectories[:, :, k] for k, f in enumerate(figures)})


@functools.cache
def case(name: str, policy: str | None) -> Scenario:
    """A bundled scenario with a bundled policy overlay (or none)."""
    return sim.load_scenario(name, policy=policy)


@functools.cache
def case_runs(name: str, policy: str | None) -> Runs:
    """The ensemble of a bundled case, computed once per session."""
    return simulate(case(name, policy))


def _identical(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Element by element: the same number, bit for bit (NaN equals NaN, -0.0 is not 0.0)."""
    both_nan = np.isnan(x) & np.isnan(y)
    return both_nan | ((x == y) & (np.signbit(x) == np.signbit(y)))


def differences(a: Runs, b: Runs, skip: str = "") -> list[str]:
    """Where two ensembles differ, column by column and figure by figure, earliest month first.

    Names containing the id ``skip`` (an actor's own figures) are left out.
    """

    def keep(name: str) -> bool:
        return not skip or f"_{skip}_" not in f"_{name}_"

    faults: list[tuple[int, str]] = []
    for label, x, y in (("summary", a.summary, b.summary), ("monthly", a.monthly, b.monthly)):
        names_x = {k for k in x if keep(k)}
        names_y = {k for k in y if keep(k)}
        for name in sorted(names_x ^ names_y):
            faults.append((-1, f"{label} {name} only in {'one' if name in names_x else 'other'}"))
        for name in sorted(names_x & names_y):
            same = _identical(x[name], y[name])
            if same.all():
                continue
            runs = np.flatnonzero(~same.reshape(same.shape[0], -1).all(axis=1))
            if label == "monthly":
                month = int(np.flatnonzero(~same.all(axis=0))[0])
                faults.append((month, f"{name} from month {month} in {runs.size} runs"))
            else:
                faults.append((10**9, f"summary {name} in {runs.size} runs"))
    faults.sort()
    return [text for _, text in faults]


def assert_same_runs(a: Runs, b: Runs, what: str, skip: str = "") -> None:
    faults = differences(a, b, skip)
    assert not faults, (f"{what}: {len(faults)} columns/figures differ; first: "
                        + "; ".join(faults[:8]))


# ---- 1. order-free ------------------------------------------------------------------------------


def reordered(scn: Scenario, how: str, folder: Path) -> Scenario:
    """``scn`` with its actors, routes and tracks listed in reverse or a seeded shuffled order."""
    builder = ScenarioBuilder.from_scenario(scn)
    orders = {}
    rng = random.Random(SEED)
    for table in ("actors", "routes", "tracks"):
        ids = builder.order(table)
        if how == "reverse":
            new = ids[::-1]
        else:
            new = rng.sample(ids, len(ids))
            if new == ids and len(ids) > 1:
                new = ids[1:] + ids[:1]
        orders[table] = new
    return builder.reorder(**orders).build(folder, f"{how}")


@pytest.mark.parametrize("how", ["reverse", "shuffle"])
@pytest.mark.parametrize(("name", "policy"), CASES, ids=CASE_IDS)
def test_listing_order_changes_no_run(name, policy, how, numba_kernel, tmp_path):
    scn = case(name, policy)
    other = reordered(scn, how, tmp_path)
    listed = list(other.spec.actors)  # the file's order (the arrays hold them sorted by id)
    assert listed != list(scn.spec.actors)
    assert_same_runs(case_runs(name, policy), simulate(other),
                     f"{name}+{policy or 'none'} listed in {how} order "
                     f"(actors {', '.join(listed)})")


# ---- 2. an inert actor --------------------------------------------------------------------------

INERT = "INERT"


def with_inert_actor(scn: Scenario, first: bool, folder: Path) -> Scenario:
    """``scn`` with one more state that takes no part, listed first or last.

    No route, trade, relation, sanction, track or doctrine (leverage, busting, war exposure,
    escalation step all 0), and no economy either (GDP 0): it weighs nothing in a world total
    (a coalition's share of world GDP computed from its members, say).
    """
    builder = ScenarioBuilder.from_scenario(scn)
    ids = builder.order("actors")
    builder.actor(INERT, "An inert state", gdp=0.0, leverage=0.0, busting=0.0,
                  war_exposure=0.0, escalation_step=0.0, escalation_cap=0.0, warning=0.0,
                  relief_priority=0.0, pain_sensitivity=0.0, deny_probability=0.0,
                  secondary=0.0, relief_offer=0.0)
    builder.reorder(actors=[INERT, *ids] if first else [*ids, INERT])
    return builder.build(folder, "inert_first" if first else "inert_last")


@pytest.mark.parametrize("first", [True, False], ids=["listed_first", "listed_last"])
@pytest.mark.parametrize("policy", POLICIES, ids=[p or "none" for p in POLICIES])
def test_an_inert_actor_changes_no_other_actors_run(policy, first, numba_kernel, tmp_path):
    scn = case("baseline", policy)
    other = with_inert_actor(scn, first, tmp_path)
    assert_same_runs(case_runs("baseline", policy), simulate(other),
                     f"baseline+{policy or 'none'} with an inert actor listed "
                     f"{'first' if first else 'last'}", skip=INERT)


# ---- 3. relief only after a halt ----------------------------------------------------------------


def covert_routes(cs: CompiledScenario, supplier: int) -> list[str]:
    """Routes of ``supplier`` whose category sanctioners react to (escalation weight above 0)."""
    return [rid for r, rid in enumerate(cs.route_ids)
            if int(cs.RP[r, L.R_SUPPLIER]) == supplier
            and cs.CP[int(cs.RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0.0]


def deal_months(runs: Runs, track: str) -> list[tuple[int, int]]:
    """(run, month) of every relief deal reached on ``track``.

    The first from the summary's ``<track>_month``; later ones (after a breach) from the month
    the track comes into force (``active_<track>`` rising from 0 to 1).
    """
    out = set()
    first = runs.summary[f"{track}_month"]
    for run in np.flatnonzero(~np.isnan(first)):
        out.add((int(run), int(first[run])))
    active = runs.monthly[f"active_{track}"] >= 0.5
    rises = active[:, 1:] & ~active[:, :-1]
    for run, before in zip(*np.nonzero(rises), strict=True):
        out.add((int(run), int(before) + 1))
    return sorted(out)


def shipping_deals(scn: Scenario, runs: Runs) -> list[str]:
    """Relief deals reached in a month their party shipped covertly, one line per track."""
    cs = scn.compile()
    faults = []
    for t, (tid, kind) in enumerate(zip(cs.track_ids, cs.track_kinds, strict=True)):
        if kind != "relief":
            continue
        party = int(cs.TP[t, L.T_PARTY])
        routes = covert_routes(cs, party)
        deals = deal_months(runs, tid)
        bad = [(run, m) for run, m in deals
               if any(runs.monthly[f"shipped_{r}"][run, m] > 0 for r in routes)]
        if bad:
            faults.append(f"{tid}: {len(bad)} of {len(deals)} deals reached in a month "
                          f"{cs.actor_ids[party]} shipped on {', '.join(routes)} "
                          f"(run, month: {bad[:5]})")
    return faults


@pytest.mark.parametrize(("name", "policy"), CASES, ids=CASE_IDS)
def test_no_relief_deal_in_a_month_its_party_ships_covertly(name, policy, numba_kernel):
    faults = shipping_deals(case(name, policy), case_runs(name, policy))
    assert not faults, f"{name}+{policy or 'none'}: " + "; ".join(faults)


# ---- 4. sanctions within the sender's cap -------------------------------------------------------


def sanction_ceiling(cs: CompiledScenario, sender: int, target: int) -> float:
    """The highest sanction ``sender`` may hold on ``target``: its escalation cap (the highest
    any event sets), or the level at the start if that was higher, raised by the rounds the
    scenario schedules.

    The one place that says what the doctrine allows: a doctrine that lets a sender go above its
    cap (and says why) is written here.
    """
    cap = cs.AP[sender, L.A_ESC_CAP]
    for _month, table, row, col, value in cs.EV:
        if int(table) == L.EV_ACTOR and int(row) == sender and int(col) == L.A_ESC_CAP:
            cap = max(cap, value)
    level = max(cap, cs.SANC0[sender, target])
    # Rounds the scenario schedules (packages.SENDER.TARGET) may go beyond the cap: each cuts its
    # share of what is left (a package is monotone in the level, so this bounds the run).
    for _month, table, row, col, value in sorted(map(tuple, cs.EV)):
        if int(table) == L.EV_PACKAGE and (int(row), int(col)) == (sender, target):
            level = 1.0 - (1.0 - level) * (1.0 - value)
    return level


def sanctions_over_cap(scn: Scenario, runs: Runs) -> list[str]:
    """Recorded sanctions above their ceiling (:func:`sanction_ceiling`), one line per pair."""
    cs = scn.compile()
    ids = cs.actor_ids
    faults = []
    for i, j in sanction_pairs(cs):
        x = runs.monthly[f"sanctions_{ids[i]}_{ids[j]}"]
        ceiling = sanction_ceiling(cs, int(i), int(j))
        over = (x > ceiling + 1e-12).any(axis=1)
        if over.any():
            faults.append(f"{ids[i]} on {ids[j]} above {ceiling:.3g} in {int(over.sum())} of "
                          f"{len(over)} runs (up to {x.max():.3g})")
    return faults


@pytest.mark.parametrize(("name", "policy"), CASES, ids=CASE_IDS)
def test_no_sanction_exceeds_its_senders_cap(name, policy, numba_kernel):
    faults = sanctions_over_cap(case(name, policy), case_runs(name, policy))
    assert not faults, f"{name}+{policy or 'none'}: " + "; ".join(faults)


# ---- 3 and 4 on drawn scenarios -----------------------------------------------------------------

unit = st.floats(0.0, 1.0)


@st.composite
def relief_scenarios(draw) -> ScenarioBuilder:
    """A valid scenario with a covert supplier, one or two sanctioners, a relief track and a
    war, its parameters drawn within their bounds and its actors listed in a drawn order.

    SUP ships covertly to REC (at war with DEF); S1 (and maybe S2, a bloc) sanction SUP and
    offer relief for a halt; BUS trades with SUP and busts sanctions. Parameters are drawn so
    that deals, shipments and escalations all happen in some runs.
    """
    horizon = draw(st.integers(12, 36))
    b = ScenarioBuilder("Drawn: a covert supplier and its sanctioners", horizon=horizon,
                        shock_sd=draw(st.floats(0.0, 0.1)),
                        trigger_memory=draw(unit), w_risk=draw(st.floats(0.0, 20.0)),
                        w_relief=draw(st.floats(0.0, 20.0)), w_need=draw(st.floats(0.0, 5.0)),
                        supply_base=draw(st.floats(-2.0, 3.0)))
    n_cov = draw(st.integers(1, 2))
    cats = [f"c{k}" for k in range(n_cov)]
    for c in cats:
        b.category(c, value=draw(st.floats(0.0, 10.0)), price=draw(st.floats(0.0, 0.5)),
                   detection=draw(unit), escalation_weight=draw(st.floats(0.01, 5.0)))
    b.category("aid", value=5.0, price=0.0, detection=1.0, escalation_weight=0.0)
    b.actor("SUP", gdp=500.0, capacity={c: draw(st.floats(1.0, 100.0)) for c in cats},
            relief_priority=draw(unit), pain_sensitivity=draw(st.floats(0.0, 5.0)),
            deny_probability=draw(unit), busting=draw(unit), control=draw(unit),
            sanctioned_months=draw(st.floats(0.0, 120.0)))
    b.actor("REC", gdp=1000.0, demand={c: draw(st.floats(1.0, 100.0)) for c in cats},
            war_exposure=draw(unit))
    b.actor("DEF", gdp=200.0, demand={"aid": 10.0}, war_exposure=draw(unit))
    b.actor("BUS", gdp=5000.0, busting=draw(unit))
    sanctioners = ["S1"] + (["S2"] if draw(st.booleans()) else [])
    for s in sanctioners:
        step = draw(st.floats(0.01, 0.5))
        fields = dict(gdp=10000.0, leverage=draw(unit), escalation_step=step,
                      escalation_cap=draw(st.floats(0.01, 1.0)),
                      escalation_threshold=draw(st.floats(0.0, 3.0)), warning=float(
                          draw(st.booleans())), credibility=draw(unit),
                      relief_offer=draw(st.floats(0.2, 1.0)), snapback=draw(unit),
                      deadline=float(draw(st.integers(1, 24))),
                      audience_cost=draw(st.floats(0.0, 5.0)),
                      ease_step=draw(st.floats(0.0, 0.3)),
                      secondary=draw(unit), capacity={"aid": 10.0})
        if s == "S2":
            b.bloc(s, ["A", "B"], cohesion=draw(unit), **fields)
        else:
            b.actor(s, **fields)
        b.relation(s, "SUP", draw(st.floats(-1.0, -0.05)))
        b.relation(s, "REC", draw(st.floats(-1.0, 0.0)))
        b.relation(s, "BUS", draw(st.floats(-0.5, 0.5)))
        b.sanction(s, "SUP", draw(unit))
        b.route(f"{s.lower()}_aid", s, "DEF", "aid")
    for c in cats:
        b.route(f"sup_{c}", "SUP", "REC", c, propensity=draw(st.floats(-3.0, 3.0)))
    b.relation("SUP", "REC", draw(unit))
    b.trade("SUP", "BUS", draw(st.floats(0.0, 0.9)))
    b.track("relief", "relief", "SUP", sanctioners, trust=draw(unit),
            min_trust=draw(st.floats(0.0, 0.5)), base_rate=draw(st.floats(0.1, 1.0)),
            trust_gain=draw(unit), trust_loss=draw(unit), halt_cost=draw(st.floats(0.0, 0.5)),
            implementation_months=draw(st.integers(0, 8)), monitoring=draw(unit))
    b.theatre("REC", "DEF")
    if draw(st.booleans()):
        b.event(draw(st.integers(1, horizon)), "actors.SUP.relief_priority", draw(unit))
    order = draw(st.permutations(b.order("actors")))
    return b.reorder(actors=list(order))


@pytest.fixture(scope="module")
def drawn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("drawn")


def _drawn(builder: ScenarioBuilder, folder: Path) -> Scenario:
    try:
        return builder.build(folder, "drawn")
    except sim.ScenarioError:
        assume(False)
        raise


@settings(max_examples=30)
@given(builder=relief_scenarios(), seed=st.integers(0, 2**32))
def test_no_relief_deal_while_shipping_in_drawn_scenarios(builder, seed, numba_kernel,
                                                          drawn_dir):
    scn = _drawn(builder, drawn_dir)
    faults = shipping_deals(scn, simulate(scn, runs=100, seed=seed))
    assert not faults, "; ".join(faults)


@settings(max_examples=30)
@given(builder=relief_scenarios(), seed=st.integers(0, 2**32))
def test_no_sanction_over_its_cap_in_drawn_scenarios(builder, seed, numba_kernel, drawn_dir):
    scn = _drawn(builder, drawn_dir)
    faults = sanctions_over_cap(scn, simulate(scn, runs=100, seed=seed))
    assert not faults, "; ".join(faults)


@settings(max_examples=20)
@given(builder=relief_scenarios(), data=st.data())
def test_listing_order_changes_no_run_in_drawn_scenarios(builder, data, numba_kernel,
                                                         drawn_dir):
    scn = _drawn(builder, drawn_dir)
    orders = {table: data.draw(st.permutations(builder.order(table)), label=table)
              for table in ("actors", "routes", "tracks")}
    other = builder.reorder(**orders).build(drawn_dir, "drawn_reordered")
    assert_same_runs(simulate(scn, runs=100), simulate(other, runs=100),
                     f"listed as {orders}")


# ---- 5. warnings deter --------------------------------------------------------------------------


def without_warnings(scn: Scenario) -> Scenario:
    """``scn`` with every warning removed: no actor has warned at the start and no event warns.

    A warning is a set of standing threats, one over each covert route of a hostile supplier
    (``threaten_all``); without one, a sender threatens only once a transfer on a route is
    exposed (the threat stage of ``decide_sanctions``), so the first shipments face no threat.
    """
    events = [e for e in scn.raw.get("events", [])
              if not (e["key"].startswith("actors.") and e["key"].endswith(".warning"))]
    overrides: dict[str, object] = {f"actors.{a}.warning": 0.0 for a in scn.actor_ids}
    overrides["events"] = events
    return scn.with_overrides(overrides)


def covert_units(scn: Scenario, runs: Runs, supplier: str) -> np.ndarray:
    """Units ``supplier`` delivered on its covert routes, one total per run."""
    cs = scn.compile()
    routes = covert_routes(cs, cs.actor_ids.index(supplier))
    return sum(runs.summary[f"delivered_{r}"] for r in routes)


def test_a_credible_warning_deters_covert_shipments(numba_kernel):
    warned = case("baseline", None)
    unwarned = without_warnings(warned)
    assert not any(a.warning for a in unwarned.spec.actors.values())
    runs = 2000
    sim_w, sim_wo = simulate(warned, runs=runs), simulate(unwarned, runs=runs)
    with_w = covert_units(warned, sim_w, "IRN")
    without_w = covert_units(unwarned, sim_wo, "IRN")
    # Paired on common random numbers: run r of each sees the same shocks and draws.
    diff = with_w - without_w
    mean, lo, hi = mean_interval(diff, 0.99)
    share = mean / without_w.mean()
    told = (f"covert units with warnings minus without: {mean:.2f} a run [{lo:.2f}, {hi:.2f}] "
            f"(99%), {100 * share:+.2f}% of {without_w.mean():.1f} units")
    assert hi < 0.0, f"{told}: no deterrence beyond Monte Carlo noise"
    # The gravest transfer is deterred most: its threatened package is the largest.
    m_with = sim_w.summary["delivered_iran_russia_missiles"]
    m_without = sim_wo.summary["delivered_iran_russia_missiles"]
    m_mean, _, m_hi = mean_interval(m_with - m_without, 0.99)
    assert m_hi < 0.0, f"missiles with warnings minus without: {m_mean:.2f} a run"
    assert m_mean / m_without.mean() < share, "missiles should be deterred more than the rest"
