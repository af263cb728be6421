"""The rules (sim.core.rules) against their closed forms, their invariants, determinism, and the
baseline's non-degeneracy.

* Analytic limits: pressure from one and two senders, leakage, detection with probability 0,
  closed routes, the Nash midpoint of a relief deal, the logistic supply choice, and, on the tiny
  one-route scenario, the distribution of detections and the GDP path with no shocks.
* Invariants of the whole state, month by month, over random seeds, every bundled scenario and
  two policies (Mesa engine), and of the ensemble summary over many runs (Numba engine).
* Determinism: the same (scenario, seed, run) gives the same run, another seed or run another.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from closed_forms import detected_within, gdp_index_without_shocks, raw_pressure
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

import sim
from sim.core import layout as L
from sim.core.rules import (
    Decisions,
    DrawKey,
    Params,
    State,
    decide_supply,
    decide_track,
    logistic,
    new_decisions,
    new_state,
    update_pressure,
)

unit = st.floats(0.0, 1.0, allow_nan=False)


def blank(n: int, nc: int = 1, nr: int = 0, nt: int = 0) -> tuple[Params, State, Decisions]:
    """Zeroed parameters, state and decisions for n actors, nc categories, nr routes, nt tracks."""
    p = Params(W=np.zeros(L.NW), AP=np.zeros((n, L.NA)), CP=np.zeros((nc, L.NC)),
               RP=np.zeros((nr, L.NR)), TP=np.zeros((nt, L.NT)), CAP=np.zeros((n, nc)),
               DEM=np.zeros((n, nc)), TM=np.zeros((nt, n)), AFF0=np.eye(n),
               SANC0=np.zeros((n, n)), TRADE0=np.zeros((n, n)), EV=np.zeros((0, 5)),
               BUILT0=np.zeros((n, nc)), BK=np.zeros((n, n)))
    p.AP[:, L.A_COHESION] = 1.0  # states act as one
    return p, new_state(n, nc, nr, nt), new_decisions(n, nr, nt)


# --------------------------------------------------------------------------------------------
# Pressure: diminishing returns and leakage (closed forms)
# --------------------------------------------------------------------------------------------


def composed_pressure(s: np.ndarray, lev: np.ndarray) -> float:
    """Raw pressure from senders with intensities ``s`` and leverages ``lev`` (closed_forms)."""
    return raw_pressure(zip(s, lev, strict=True))


def pressure_arrays(n: int, leverage: list[float], busting: list[float] | None = None,
                    coalition: float = 0.6, leak_gain: float = 1.5, max_leak: float = 0.8):
    """Actor 0's GDP is ``coalition`` of the world's; every other actor's is 1 (world: 1e6)."""
    p, s, _ = blank(n)
    p.W[L.W_WORLD_GDP], p.W[L.W_LEAK_GAIN], p.W[L.W_MAX_LEAK] = 1e6, leak_gain, max_leak
    p.AP[:, L.A_LEVERAGE] = leverage
    p.AP[:, L.A_BUSTING] = busting if busting is not None else 0.0
    p.AP[:, L.A_GDP] = 1.0
    p.AP[0, L.A_GDP] = coalition * 1e6
    s.SA[:, L.S_GDP] = 1.0
    return p, s


@given(s=unit, lev=unit)
def test_pressure_from_one_sender_is_intensity_times_leverage(s, lev):
    p, st_ = pressure_arrays(2, [lev, 0.7])
    st_.SANC[0, 1] = s
    update_pressure(p, st_)
    assert st_.SA[1, L.S_RAW] == pytest.approx(s * lev, abs=1e-15)
    assert st_.SA[1, L.S_LEAK] == 0.0  # no trade, no leakage
    assert st_.SA[1, L.S_PRESSURE] == pytest.approx(s * lev, abs=1e-15)
    assert st_.SA[0, L.S_PRESSURE] == 0.0  # nobody sanctions the sender


@given(st.lists(st.tuples(unit, unit), min_size=2, max_size=12))
def test_pressure_from_many_senders_has_diminishing_returns(pairs):
    # Senders 0..k-1 sanction target k: the raw pressure is the closed form, at least the largest
    # single sender's and at most the sum (and 1); adding the last sender raises it by at most
    # what that sender alone would bring.
    k = len(pairs)
    s = np.array([a for a, _ in pairs])
    lev = np.array([b for _, b in pairs])
    p, st_ = pressure_arrays(k + 1, [*lev, 0.0])
    st_.SANC[:k, k] = s
    update_pressure(p, st_)
    got = st_.SA[k, L.S_PRESSURE]
    assert got == pytest.approx(composed_pressure(s, lev), abs=1e-12)
    assert max(s * lev) - 1e-12 <= got <= min(1.0, float(np.sum(s * lev))) + 1e-12
    without = composed_pressure(s[:-1], lev[:-1])
    assert without - 1e-12 <= got <= without + s[-1] * lev[-1] + 1e-12


@given(s=st.floats(1e-6, 1.0), lev=unit, share=unit, bust=unit, hit=unit, coalition=unit,
       gain=st.floats(0.0, 10.0), cap=unit, aff=st.floats(-1.0, 1.0), size=st.floats(0.0, 100.0))
def test_leakage_through_a_busting_partner(s, lev, share, bust, hit, coalition, gain, cap, aff,
                                           size):
    # Actor 0 (a `coalition` share of the world economy) sanctions 1; 1 trades `share` with 2,
    # which busts at `bust`, has goodwill `aff` toward 1, an economy `size` times 1's, and is
    # itself hit by sanctions of intensity `hit` from 0 (a secondary sanction, say).
    p, st_ = pressure_arrays(3, [lev, 0.0, 0.0], [0.0, 0.0, bust], coalition, gain, cap)
    p.AP[2, L.A_GDP] = size
    st_.SANC[0, 1], st_.SANC[0, 2] = s, hit
    st_.TRADE[1, 2] = share
    st_.AFF[1, 2] = st_.AFF[2, 1] = aff
    update_pressure(p, st_)
    SA = st_.SA
    assert SA[1, L.S_COALITION] == pytest.approx(coalition, rel=1e-12)
    absorb = size / (size + 1.0)
    leak = min(cap, (1 - coalition) * gain * share * bust * (1 + aff) / 2 * absorb * (1 - hit))
    assert SA[1, L.S_LEAK] == pytest.approx(leak, abs=1e-12)
    assert SA[1, L.S_PRESSURE] == pytest.approx(s * lev * (1 - leak), abs=1e-12)
    assert 0.0 <= SA[1, L.S_LEAK] <= cap
    assert SA[1, L.S_PRESSURE] <= SA[1, L.S_RAW] + 1e-15


# --------------------------------------------------------------------------------------------
# The supply choice and the relief deal
# --------------------------------------------------------------------------------------------


@given(u=st.floats(-1e300, 1e300, allow_nan=False), v=st.floats(-1e300, 1e300, allow_nan=False))
def test_logistic_is_a_probability_monotone_and_symmetric(u, v):
    pu, pv = logistic(u), logistic(v)
    assert 0.0 <= pu <= 1.0
    assert pu + logistic(-u) == pytest.approx(1.0, abs=1e-15)
    if u < v:
        assert pu <= pv


def test_logistic_saturates_without_overflow():
    with np.errstate(all="raise"):
        assert logistic(-1e308) == 0.0
        assert logistic(1e308) == 1.0
        assert logistic(0.0) == 0.5


def test_a_huge_negative_propensity_never_ships(baseline, numba_kernel):
    overrides = {f"routes.{r}.propensity": -20.0 for r in baseline.spec.routes}
    overrides["world.supply_base"] = -20.0
    scn = baseline.with_overrides(overrides)
    summary = sim.run_ensemble(scn, runs=500, seed=11, engine="numba").summary
    delivered = summary[[f"delivered_{r}" for r in baseline.spec.routes]]
    assert (delivered == 0).all().all()
    assert summary["first_month_drones"].isna().all()
    # The same routes with the baseline's propensity do ship.
    base = sim.run_ensemble(baseline, runs=50, seed=11, engine="numba").summary
    assert (base["delivered_iran_russia_drones"] > 0).mean() > 0.9


def test_decide_supply_ships_the_units_needed_or_nothing():
    # One supplier (0), one recipient at war (1), one category; utility from the intercept only.
    p, st_, d = blank(3, nc=1, nr=1)
    p.W[L.W_ATTACKER], p.W[L.W_DEFENDER] = 1, 2
    p.AP[:, L.A_GDP] = 100.0
    p.CP[0, L.C_BUILDS] = -1
    p.RP[0, [L.R_SUPPLIER, L.R_RECIPIENT, L.R_CATEGORY, L.R_OPEN]] = [0, 1, 0, 1.0]
    p.CAP[0, 0] = 7.0
    p.DEM[1, 0] = 10.0
    st_.SA[:, L.S_GDP] = 1.0
    st_.AFF[:, :] = np.eye(3)
    seed = np.uint64(3)
    # Units: the recipient's unmet need (demand 10 x war intensity), capped by capacity 7.
    for base, intensity, want in ((40.0, 0.5, 5.0), (40.0, 1.0, 7.0), (-40.0, 1.0, 0.0)):
        p.W[L.W_SUPPLY_BASE] = base
        st_.G[L.G_INTENSITY] = intensity
        shipped = set()
        for month in range(1, 200):
            decide_supply(0, DrawKey(seed, 0, month), p, st_, d)
            shipped.add(float(d.DR[0]))
        assert shipped == {want}
    # A closed route ships nothing whatever the utility.
    p.RP[0, L.R_OPEN] = 0.0
    p.W[L.W_SUPPLY_BASE] = 40.0
    decide_supply(0, DrawKey(seed, 0, 1), p, st_, d)
    assert d.DR[0] == 0.0


def relief_arrays(prio, halt, ties, offers, levs, cohesion, trust=1.0, base_rate=1.0):
    """A relief track: party 0 ships to recipient 3; actors 1 and 2 are the counterparts."""
    p, s, d = blank(4, nc=1, nr=1, nt=1)
    p.AP[1:3, L.A_OFFER] = offers
    p.AP[1:3, L.A_LEVERAGE] = levs
    p.AP[1:3, L.A_COHESION] = cohesion
    p.RP[0, [L.R_SUPPLIER, L.R_RECIPIENT, L.R_CATEGORY, L.R_OPEN]] = [0, 3, 0, 1.0]
    p.TP[0, L.T_KIND], p.TP[0, L.T_PARTY], p.TP[0, L.T_MEDIATOR] = L.TRACK_RELIEF, 0, -1
    p.TP[0, L.T_HALT_COST], p.TP[0, L.T_BASE_RATE], p.TP[0, L.T_MIN_TRUST] = halt, base_rate, 0.0
    p.TM[0, 1:3] = 1.0
    s.SA[0, L.S_PRIO] = prio
    s.AFF[:, :] = np.eye(4)
    s.AFF[0, 3] = s.AFF[3, 0] = ties
    s.TS[0, L.TS_TRUST] = trust
    return p, s, d


@settings(max_examples=150)
@given(prio=st.floats(0.05, 1.0), halt=st.floats(0.0, 2.0), ties=st.floats(-1.0, 1.0),
       o1=unit, o2=unit, l1=unit, l2=unit, c1=st.floats(0.05, 1.0), c2=st.floats(0.05, 1.0))
def test_relief_terms_are_the_nash_midpoint(prio, halt, ties, o1, o2, l1, l2, c1, c2):
    p, s, d = relief_arrays(prio, halt, ties, [o1, o2], [l1, l2], [c1, c2])
    DT = d.DT
    w1, w2 = max(l1, 1e-9), max(l2, 1e-9)
    x_max = (w1 * o1 * c1 + w2 * o2 * c2) / (w1 + w2)
    x_min = halt * max(0.0, ties) / prio
    zopa = x_max > 0 and x_min <= x_max
    deal_months = []
    for month in range(1, 201):
        decide_track(0, DrawKey(np.uint64(9), 0, month), p, s, d)
        assert DT[0, L.DT_ZOPA] == float(zopa)
        if DT[0, L.DT_DEAL] == 1.0:
            deal_months.append(month)
            terms = DT[0, L.DT_TERMS]
            assert terms == pytest.approx(0.5 * (x_min + x_max), rel=1e-12, abs=1e-15)
            # It is the Nash bargaining solution: it maximises (prio x - c)(x_max - x).
            grid = np.linspace(x_min, x_max, 2001)
            nash = (prio * grid - halt * max(0.0, ties)) * (x_max - grid)
            assert abs(grid[np.argmax(nash)] - terms) <= (x_max - x_min) / 2000 + 1e-12
            break  # the state does not move here: later deals would have the same terms
    if not zopa:
        assert deal_months == []
    elif (x_max - x_min) / x_max > 0.1:
        # Monthly chance base_rate x trust x surplus > 0.1: 200 months without one is < 1e-9.
        assert deal_months


def test_no_deal_below_minimum_trust():
    p, s, d = relief_arrays(1.0, 0.0, 0.0, [0.5, 0.5], [0.3, 0.3], [1.0, 1.0], trust=0.2)
    p.TP[0, L.T_MIN_TRUST] = 0.3
    for month in range(1, 200):
        decide_track(0, DrawKey(np.uint64(1), 0, month), p, s, d)
        assert d.DT[0, L.DT_DEAL] == 0.0 and d.DT[0, L.DT_ZOPA] == 1.0


# --------------------------------------------------------------------------------------------
# Detection, escalation and closed routes, over many runs
# --------------------------------------------------------------------------------------------


def test_with_detection_zero_nothing_is_public_and_nobody_escalates(baseline, numba_kernel):
    # The rounds the baseline schedules (packages on Russia) are not escalations: left out here.
    raw = baseline.spec.model_dump(mode="json", by_alias=True, exclude={"extends"})
    raw["events"] = [e for e in raw["events"] if not e["key"].startswith("packages.")]
    baseline = baseline.with_overrides({"events": raw["events"]})
    overrides = {f"categories.{c}.detection": 0.0 for c in baseline.spec.categories}
    overrides |= {f"tracks.{t}.monitoring": 0.0 for t in baseline.spec.tracks}  # the monitors too
    for policy in ("maximum_pressure", "secondary_sanctions"):
        scn = baseline.with_policy(policy).with_overrides(overrides)
        s = sim.run_ensemble(scn, runs=400, seed=5, engine="numba").summary
        assert (s["transfers_detected"] == 0).all()
        assert (s["escalations"] == 0).all() and (s["failed_follow_through"] == 0).all()
        assert (s["relief_broken"] == 0).all()  # only an exposed transfer breaks a deal
        assert (s["delivered_iran_russia_drones"] > 0).mean() > 0.9  # transfers did happen
        for seed in (0, 1, 2):
            model = sim.DiplomacyModel(scn, seed=seed).run()
            monthly = model.monthly()
            sanc = monthly[[c for c in monthly if c.startswith("sanctions_")]]
            assert (sanc.iloc[1:].to_numpy() <= sanc.iloc[0].to_numpy() + 1e-12).all()
            text = model.story_text()
            assert "detected" not in text and "raises sanctions" not in text
    # With the baseline's detection, the same policies do escalate: the test can fail.
    s = sim.run_ensemble(baseline.with_policy("maximum_pressure"), runs=100, seed=5).summary
    assert (s["escalations"] > 0).mean() > 0.5


@pytest.mark.parametrize(("overrides", "route"), [
    ({"routes.iran_russia_drones.open": 0.0}, "iran_russia_drones"),
    ({"routes.usa_ukraine_aid.open": 0.0}, "usa_ukraine_aid"),
    ({"routes.iran_russia_missiles.open": 0.0}, "iran_russia_missiles"),
])
def test_nothing_moves_on_a_closed_route(baseline, numba_kernel, overrides, route):
    scn = baseline.with_overrides(overrides)
    s = sim.run_ensemble(scn, runs=300, seed=8, engine="numba").summary
    assert (s[f"delivered_{route}"] == 0).all() and (s[f"detected_{route}"] == 0).all()
    monthly = sim.DiplomacyModel(scn, seed=8).run().monthly()
    assert (monthly[f"shipped_{route}"] == 0).all()
    # Open, it carries arms in many runs (Iran's missiles in about 40% at the calibrated
    # baseline, the others in nearly all).
    opened = sim.run_ensemble(baseline, runs=100, seed=8, engine="numba").summary
    assert (opened[f"delivered_{route}"] > 0).mean() > 0.25


def test_a_scheduled_event_opens_a_route_in_its_month(baseline, tmp_path):
    # The baseline lets Iran choose when to ship missiles; a scenario may still script it.
    path = tmp_path / "scripted.toml"
    path.write_text('extends = "baseline"\n'
                    'events = [{ month = 9, key = "routes.iran_russia_missiles.open", '
                    'value = 1.0, note = "opened" }]\n'
                    '[meta]\ntitle = "scripted"\n'
                    '[routes.iran_russia_missiles]\nsupplier = "IRN"\nrecipient = "RUS"\n'
                    'category = "missiles"\nopen = 0.0\npropensity = 1.0\n')
    scripted = sim.load_scenario(path)
    for seed in range(5):
        monthly = sim.DiplomacyModel(scripted, seed=seed).run().monthly()
        assert (monthly.loc[monthly["month"] < 9, "shipped_iran_russia_missiles"] == 0).all()
        assert (monthly.loc[monthly["month"] >= 9, "shipped_iran_russia_missiles"] > 0).any()


# --------------------------------------------------------------------------------------------
# Closed forms on the tiny one-route scenario
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_detections_follow_the_binomial_law(tiny, numba_kernel, p):
    # The route always ships (propensity 20): over m months the number of detections is
    # Binomial(m, p), and the chance of none is (1 - p)^m.
    scn = tiny.with_overrides({"categories.widgets.detection": p})
    m = scn.horizon
    s = sim.run_ensemble(scn, runs=4000, seed=21, engine="numba").summary
    assert (s["delivered_sup_rec"] == 10 * m).all()
    k = s["detected_sup_rec"].to_numpy().astype(int)
    none = int((k == 0).sum())
    assert stats.binomtest(none, k.size, 1 - detected_within(p, m)).pvalue > 1e-3
    observed = np.bincount(k, minlength=m + 1)
    expected = stats.binom.pmf(np.arange(m + 1), m, p) * k.size
    big = expected >= 5  # pool the sparse tail into one cell
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_gdp_path_without_shocks_is_the_closed_form(tiny, numba_kernel):
    # Pressure on REC is 0.5 x 0.4 = 0.2 (no trade, no leakage). Damage adapts away at rate a:
    # gdp_m = exp(-sum_{t<m} damage_rate x 0.2 x (1 - a)^t / 12); the others stay at 1.
    w = tiny.spec.world
    s = sim.run_ensemble(tiny, runs=3, seed=1, engine="numba").summary
    m = tiny.horizon
    a = w.adaptation_rate
    expected = gdp_index_without_shocks(m, raw_pressure([(0.5, 0.4)]), w.damage_rate, a)
    assert s["gdp_index_REC"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert s["peak_pressure_REC"].to_numpy() == pytest.approx(0.2, abs=1e-15)
    assert (s["gdp_index_SUP"] == 1.0).all() and (s["gdp_index_SND"] == 1.0).all()


def test_text_only_parameters_do_not_change_a_run(baseline, numba_kernel):
    scn = baseline.with_overrides({"meta.title": "Another title", "teaching.description": "x",
                                   "events.0.note": "renamed", "sources.world": "other"})
    assert scn.content_hash() != baseline.content_hash()
    a = sim.run_ensemble(baseline, runs=50, seed=4).summary
    b = sim.run_ensemble(scn, runs=50, seed=4).summary
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------------------------
# Invariants, month by month (Mesa) and over many runs (Numba)
# --------------------------------------------------------------------------------------------


def assert_state_invariants(model: sim.DiplomacyModel, shipped_sum: np.ndarray,
                            detected_sum: np.ndarray) -> None:
    s = model.state
    assert np.isfinite(s.SA).all() and np.isfinite(s.AFF).all() and np.isfinite(s.SANC).all()
    assert (s.AFF >= -1.0).all() and (s.AFF <= 1.0).all()
    assert np.allclose(s.AFF, s.AFF.T)
    assert (s.SANC >= 0.0).all() and (s.SANC <= 1.0).all()
    assert (np.diag(s.SANC) == 0.0).all()
    assert (s.SA[:, L.S_GDP] > 0.0).all()
    for col in (L.S_PRESSURE, L.S_RAW, L.S_CRED, L.S_PRIO, L.S_ADAPT):
        assert ((s.SA[:, col] >= 0.0) & (s.SA[:, col] <= 1.0)).all(), col
    assert (s.SA[:, L.S_LEAK] >= 0).all() and (s.SA[:, L.S_LEAK] <= s.W[L.W_MAX_LEAK]).all()
    assert (s.SA[:, L.S_PRESSURE] <= s.SA[:, L.S_RAW] + 1e-15).all()
    assert (s.BUILT >= 0.0).all() and (s.BUILT <= np.maximum(s.DEM, s.BUILT0) + 1e-9).all()
    assert (s.TRADE >= 0.0).all() and (s.TRADE.sum(axis=1) <= 1.0 + 1e-9).all()
    assert ((s.TS[:, L.TS_TRUST] >= 0.0) & (s.TS[:, L.TS_TRUST] <= 1.0)).all()
    assert 0.0 <= s.G[L.G_INTENSITY] <= 1.0 and -1.0 <= s.G[L.G_BALANCE] <= 1.0
    shipped = s.RS[:, L.RS_SHIPPED]
    assert (shipped >= 0.0).all() and (shipped == np.round(shipped)).all()
    for r in range(s.RP.shape[0]):
        sup, cat = int(s.RP[r, L.R_SUPPLIER]), int(s.RP[r, L.R_CATEGORY])
        assert shipped[r] <= s.CAP[sup, cat]
        assert s.RS[r, L.RS_DETECTED] <= (shipped[r] > 0)  # only a shipment can be detected
    # What is shipped is what arrives: the running total is the sum of the monthly shipments,
    # and the count of detected shipments the sum of the monthly detections.
    assert np.array_equal(s.RS[:, L.RS_TOTAL], shipped_sum)
    assert np.array_equal(s.RS[:, L.RS_DETECTED_TOTAL], detected_sum)


CASES = [(name, policy) for name in sim.list_scenarios()
         for policy in (None, "maximum_pressure", "secondary_sanctions")]


@pytest.mark.parametrize(("name", "policy"), CASES)
@pytest.mark.parametrize(("seed", "run"), [(0, 0), (42, 7), (2**63, 1), (2**64 - 1, 2**32 - 1)])
def test_invariants_hold_every_month(name, policy, seed, run):
    model = sim.DiplomacyModel(name, seed=seed, run=run, policy=policy)
    shipped_sum = np.zeros(len(model.compiled.route_ids))
    detected_sum = np.zeros(len(model.compiled.route_ids))
    assert_state_invariants(model, shipped_sum, detected_sum)
    while model.month < model.horizon:
        model.step()
        shipped_sum += model.state.RS[:, L.RS_SHIPPED]
        detected_sum += model.state.RS[:, L.RS_DETECTED]
        assert_state_invariants(model, shipped_sum, detected_sum)
    monthly = model.monthly()
    outcomes = model.outcomes()
    assert len(monthly) == model.horizon + 1
    # The monthly record a user reads obeys the same bounds.
    for prefix, lo, hi in (("affinity_", -1, 1), ("sanctions_", 0, 1), ("trust_", 0, 1),
                           ("pressure_", 0, 1), ("credibility_", 0, 1), ("shipped_", 0, np.inf),
                           ("gdp_index_", np.nextafter(0, 1), np.inf), ("war_intensity", 0, 1),
                           ("war_balance", -1, 1)):
        block = monthly[[c for c in monthly if c.startswith(prefix)]].to_numpy()
        assert block.size and ((block >= lo) & (block <= hi)).all(), prefix
    for r in model.compiled.route_ids:
        assert monthly[f"shipped_{r}"].sum() == outcomes[f"delivered_{r}"]
        assert monthly[f"detected_{r}"].sum() == outcomes[f"detected_{r}"]


def numeric_parameters(scn: sim.Scenario) -> list[tuple[str, float, float, bool]]:
    """(dotted key, low, high, integer) of every bounded numeric parameter of ``scn``."""
    from sim.scenario import schema

    out = []
    sections = [("world", schema.World), ("theatre", schema.Theatre)]
    sections += [(f"actors.{a}", schema.Actor) for a in scn.spec.actors]
    sections += [(f"categories.{c}", schema.Category) for c in scn.spec.categories]
    sections += [(f"routes.{r}", schema.Route) for r in scn.spec.routes]
    sections += [(f"tracks.{k}", schema.Track) for k in scn.spec.tracks]
    for prefix, model in sections:
        for name, f in model.model_fields.items():
            if f.annotation not in (float, int):
                continue
            lo = hi = None
            for m in f.metadata:
                lo, hi = getattr(m, "ge", lo), getattr(m, "le", hi)
            if lo is None or hi is None or name in ("cohesion", "escalation_cap"):
                continue  # cohesion: a state's stays 1; a cap must stay above 0 with a step
            if name == "escalation_step" and scn.spec.actors[prefix[7:]].escalation_cap <= 0:
                continue
            out.append((f"{prefix}.{name}", lo, hi, f.annotation is int))
    return out


BASELINE_PARAMETERS = numeric_parameters(sim.load_scenario("baseline"))


@st.composite
def valid_parameters(draw) -> dict[str, float]:
    """Up to eight parameters of the baseline set anywhere within their bounds (edges too)."""
    out = {}
    for key, lo, hi, integer in draw(st.lists(st.sampled_from(BASELINE_PARAMETERS), min_size=1,
                                              max_size=8, unique=True)):
        if integer:
            out[key] = draw(st.integers(int(lo), min(int(hi), 48)))
        else:
            out[key] = draw(st.one_of(st.sampled_from([lo, hi]), st.floats(lo, hi)))
    return out


@settings(max_examples=40)
@given(overrides=valid_parameters(), seed=st.integers(0, 2**64 - 1))
def test_invariants_hold_for_any_valid_parameters(baseline, overrides, seed):
    # Any scenario the schema accepts runs without NaN, overflow or a bound broken (a draw that
    # breaks a rule across fields, such as arms sales above GDP, is refused at load and skipped).
    try:
        scn = baseline.with_overrides(overrides)
    except sim.ScenarioError:
        assume(False)
    model = sim.DiplomacyModel(scn, seed=seed)
    shipped_sum = np.zeros(len(model.compiled.route_ids))
    detected_sum = np.zeros(len(model.compiled.route_ids))
    with np.errstate(all="raise"):
        while model.month < model.horizon:
            model.step()
            shipped_sum += model.state.RS[:, L.RS_SHIPPED]
            detected_sum += model.state.RS[:, L.RS_DETECTED]
            assert_state_invariants(model, shipped_sum, detected_sum)


@pytest.mark.parametrize(("name", "policy"), CASES)
def test_invariants_hold_over_an_ensemble(name, policy, numba_kernel):
    scn = sim.load_scenario(name, policy=policy)
    s = sim.run_ensemble(scn, runs=300, seed=13, engine="numba").summary
    h = scn.horizon
    cols = s.columns

    def between(prefix, lo, hi):
        block = s[[c for c in cols if c.startswith(prefix)]].to_numpy()
        assert block.size and np.isfinite(block).all()
        assert ((block >= lo) & (block <= hi)).all(), prefix

    between("gdp_index_", 1e-300, np.inf)
    between("peak_pressure_", 0.0, 1.0)
    between("affinity_", -1.0, 1.0)
    between("credibility_", 0.0, 1.0)
    between("delivered_", 0.0, np.inf)
    routes = scn.spec.routes
    # A route is detected at most once a month.
    assert ((s[[f"detected_{r}" for r in routes]] >= 0) & (s[[f"detected_{r}" for r in routes]]
                                                           <= h)).all().all()
    between("war_intensity_final", 0.0, 1.0)
    between("war_balance_final", -1.0, 1.0)
    for r, route in routes.items():
        assert ((s[f"detected_{r}"] == 0) | (s[f"delivered_{r}"] > 0)).all()
        cat = route.category
        assert (s[f"first_month_{cat}"].isna() | s[f"first_month_{cat}"].between(1, h)).all()
    for c in scn.spec.categories:
        same = [f"detected_{r}" for r, route in routes.items() if route.category == c]
        assert (s[f"detected_{c}"] == s[same].sum(axis=1)).all()
    covert = [f"detected_{r}" for r, route in routes.items()
              if scn.spec.categories[route.category].escalation_weight > 0]
    assert (s["transfers_detected"] == s[covert].sum(axis=1)).all()
    for t in scn.spec.tracks:
        reached = s[f"{t}_reached"]
        assert reached.isin([0.0, 1.0]).all()
        assert (s.loc[reached == 1, f"{t}_month"].between(1, h)).all()
        assert s.loc[reached == 0, f"{t}_month"].isna().all()
    if "relief_broken" in cols:
        assert (s["relief_broken"] <= s["relief_reached"]).all()


# --------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------


def test_same_seed_same_run_other_seed_or_run_another(baseline):
    a = sim.DiplomacyModel(baseline, seed=7).run()
    b = sim.DiplomacyModel(sim.load_scenario("baseline"), seed=7).run()
    pd.testing.assert_frame_equal(a.monthly(), b.monthly(), check_exact=True)
    assert a.story_text() == b.story_text()
    assert pd.Series(a.outcomes()).equals(pd.Series(b.outcomes()))  # NaN (never) equals NaN
    other_seed = sim.DiplomacyModel(baseline, seed=8).run()
    other_run = sim.DiplomacyModel(baseline, seed=7, run=1).run()
    for other in (other_seed, other_run):
        assert not a.monthly().equals(other.monthly())
        assert a.story_text() != other.story_text()


def test_a_run_is_the_same_whatever_the_engine_or_the_company(baseline, numba_kernel):
    ids = np.array([5, 0, 17])
    alone = sim.run_ensemble(baseline, runs=np.array([17]), seed=3).summary
    together = sim.run_ensemble(baseline, runs=ids, seed=3).summary
    pd.testing.assert_frame_equal(alone.iloc[0:1].reset_index(drop=True),
                                  together.iloc[2:3].reset_index(drop=True), check_exact=True)
    mesa = sim.DiplomacyModel(baseline, seed=3, run=17).run().outcomes()
    row = alone.iloc[0]
    for key, value in mesa.items():
        if math.isnan(value):
            assert math.isnan(row[key]), key
        else:
            assert row[key] == value, key


def test_changing_one_parameter_does_not_shift_unrelated_draws(tiny, numba_kernel):
    # Common random numbers: the sanctioner's leverage changes the pressure on the recipient,
    # not the detection draws of the route, which match run by run.
    a = sim.run_ensemble(tiny, runs=300, seed=6).summary
    b = sim.run_ensemble(tiny.with_overrides({"actors.SND.leverage": 0.9}), runs=300,
                         seed=6).summary
    assert (a["peak_pressure_REC"] != b["peak_pressure_REC"]).all()
    pd.testing.assert_series_equal(a["detected_sup_rec"], b["detected_sup_rec"])
    c = sim.run_ensemble(tiny, runs=300, seed=7).summary  # another seed, other draws
    assert not a["detected_sup_rec"].equals(c["detected_sup_rec"])


def test_any_64_bit_seed_runs_in_an_ensemble_after_a_small_one(baseline, numba_kernel):
    sim.run_ensemble(baseline, runs=2, seed=7, months=3)
    big = sim.run_ensemble(baseline, runs=2, seed=2**64 - 1, months=3).summary
    mesa = sim.DiplomacyModel(baseline, seed=2**64 - 1, run=1).run(3).outcomes()
    assert big.loc[1, "delivered_iran_russia_drones"] == mesa["delivered_iran_russia_drones"]


# --------------------------------------------------------------------------------------------
# The baseline tells different stories in different runs
# --------------------------------------------------------------------------------------------


def test_the_baseline_is_not_degenerate(baseline, numba_kernel):
    s = sim.run_ensemble(baseline, runs=200, seed=2024, engine="numba").summary
    headline = {
        "relief deal": s["relief_reached"] == 1,
        "ceasefire": s["ceasefire_reached"] == 1,
        # North Korea's missiles are seen in every run (as on the record); Iran's are the question
        "Iranian missile transfers detected": s["detected_iran_russia_missiles"] > 0,
        "relief deal broken": s["relief_broken"] == 1,
        "ceasefire broken down": s["ceasefire_broken"] == 1,
        "a threat backed down from": s["failed_follow_through"] > 0,
    }
    for what, happened in headline.items():
        assert 0 < happened.sum() < len(s), f"{what}: in {happened.sum()} of {len(s)} runs"


# --------------------------------------------------------------------------------------------
# The compiled scenario is shared by every run: read-only
# --------------------------------------------------------------------------------------------


def test_compiled_arrays_are_read_only_and_runs_leave_them_as_they_were(baseline, numba_kernel):
    from sim.engines.ensemble import compute_chunk

    cs = baseline.compile()
    frozen = {name: getattr(cs, name).copy() for name in Params._fields}
    for name in Params._fields:
        with pytest.raises(ValueError, match="read-only"):
            getattr(cs, name).flat[0] = 1.0
    # Both engines run on them (events change AP in the baseline) and copy what they change:
    # the compiled arrays are still the scenario's.
    compute_chunk(cs, 3, np.arange(20), cs.horizon, record=True)
    model = sim.DiplomacyModel(baseline, seed=3).run()
    for name, before in frozen.items():
        assert np.array_equal(getattr(cs, name), before), name
        assert np.array_equal(getattr(model.compiled, name), before), name
    assert not np.array_equal(model.state.AP, cs.AP)  # the run's copy did change (events)
