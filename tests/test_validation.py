"""Analytic limits of the model and the stylised-fact checks (``diplosim facts``).

The closed forms: pressure composition with diminishing returns and leakage; the chance that a
route shipping every month is detected within m months, 1 - (1 - p)^m; no transfer-triggered
sanctions when nothing can be detected; a parameter that does not enter the model changes
nothing (same draws, same results). Then the facts package (analysis.facts) itself: eight facts with
intervals, the command line, its figures and its refusals.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from closed_forms import detected_within
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from analysis.facts import FactCheck, check_facts, facts_table, run_variant
from analysis.facts.measures import EVENT_WINDOW, PRE_WINDOW, half_time, rate_ratio
from analysis.facts.roles import Roles, coalition_share, unilateral, without_target_sanctions
from sim.cli import main
from sim.core import layout as L
from sim.core.rules import init_state, new_state, params_of
from sim.results.stats import wilson_interval

# ------------------------------------------------------------------------------------------
# Pressure on the baseline's actors (the composition's closed form is in tests/test_rules.py)
# ------------------------------------------------------------------------------------------


def _initial_state(scn: sim.Scenario) -> np.ndarray:
    cs = scn.compile()
    n, nc, nr, nt = len(cs.actor_ids), cs.CP.shape[0], cs.RP.shape[0], cs.TP.shape[0]
    state = new_state(n, nc, nr, nt)
    init_state(params_of(cs), state)
    return state.SA


@given(share=st.floats(0.05, 1.0), gain=st.floats(0.0, 10.0), cap=st.floats(0.0, 1.0))
@settings(max_examples=30)
def test_pressure_on_iran_matches_the_closed_form(baseline, share, gain, cap):
    """Effective pressure on Iran at the start, computed here by hand from the scenario's tables
    (ODD 7.5): raw = 1 - prod_i (1 - s_i x reach_i), reach_i = min(1, leverage_i + openness x
    trade with i); leak = min(max_leak, (1 - coalition) x leak_gain x sum_k trade_k x busting_k
    x (1 + affinity_k) / 2 x GDP_k / (GDP_k + GDP) x (1 - max_i s_ik) x (1 - s_kj)), the
    coalition being the senders' GDP over the world's (set here to give ``share``)."""
    spec0 = baseline.spec
    j = "IRN"
    senders = [s.sender for s in spec0.sanctions if s.target == j and s.intensity > 0]
    world = sum(spec0.actors[a].gdp for a in senders) / share
    scn = baseline.with_overrides({"world.world_gdp": world, "world.leak_gain": gain,
                                   "world.max_leak": cap})
    spec = scn.spec
    me = spec.actors[j]
    trade = {(t.source, t.to): t.share for t in spec.trade}
    affinity = {frozenset((r.a, r.b)): r.affinity for r in spec.relations}
    raw = 1.0 - math.prod(
        1.0 - s.intensity * min(1.0, spec.actors[s.sender].leverage
                                + me.openness * trade.get((j, s.sender), 0.0))
        for s in spec.sanctions if s.target == j)
    sanc = {(s.sender, s.target): s.intensity for s in spec.sanctions}
    busting = 0.0
    for t in spec.trade:
        if t.source != j:
            continue
        k = t.to
        hit = max([v for (a, b), v in sanc.items() if b == k] + [0.0])
        size = spec.actors[k].gdp / (spec.actors[k].gdp + me.gdp)
        goodwill = (1.0 + affinity.get(frozenset((j, k)), 0.0)) / 2.0
        busting += (t.share * spec.actors[k].busting * goodwill * size * (1 - hit)
                    * (1 - sanc.get((k, j), 0.0)))
    leak = min(cap, (1.0 - min(1.0, share)) * gain * busting)
    SA = _initial_state(scn)
    i = scn.actor_ids.index(j)
    assert SA[i, L.S_COALITION] == pytest.approx(share, rel=1e-9)
    assert SA[i, L.S_RAW] == pytest.approx(raw, abs=1e-12)
    assert SA[i, L.S_LEAK] == pytest.approx(leak, abs=1e-12)
    assert SA[i, L.S_PRESSURE] == pytest.approx(raw * (1.0 - leak), abs=1e-12)


def test_a_full_coalition_leaks_nothing(baseline):
    """With the whole world in the coalition, effective pressure equals raw pressure."""
    senders = {s.sender for s in baseline.spec.sanctions}
    world = sum(baseline.spec.actors[a].gdp for a in senders)
    SA = _initial_state(baseline.with_overrides({"world.world_gdp": world}))
    np.testing.assert_allclose(SA[:, L.S_PRESSURE], SA[:, L.S_RAW], atol=0, rtol=0)
    targets = SA[:, L.S_RAW] > 0  # (an actor nobody sanctions has nothing to leak)
    sanctioned = {s.target for s in baseline.spec.sanctions if s.intensity > 0}
    assert {baseline.actor_ids[i] for i in np.flatnonzero(targets)} == sanctioned
    assert (SA[targets, L.S_COALITION] == 1).all()
    assert (SA[targets, L.S_LEAK] == 0).all()


# ------------------------------------------------------------------------------------------
# Detection within m months on a one-route scenario
# ------------------------------------------------------------------------------------------

ONE_ROUTE = textwrap.dedent("""\
    # One route: SUP ships gadgets to REC every month; nobody sanctions, nobody negotiates.
    relations = [{ a = "SUP", b = "REC", affinity = 0.5 }]

    [meta]
    title = "One route"
    horizon = 12

    [world]
    shock_sd = 0.0

    [actors.SUP]
    name = "Supplier"
    capacity = { gadgets = 5 }

    [actors.REC]
    name = "Recipient"
    demand = { gadgets = 5 }

    [actors.FOE]
    name = "Opponent"

    [categories.gadgets]
    detection = {p}
    escalation_weight = 1.0

    [routes.sup_rec]
    supplier = "SUP"
    recipient = "REC"
    category = "gadgets"
    propensity = 20.0

    [theatre]
    attacker = "REC"
    defender = "FOE"
    intensity = 1.0
    base_intensity = 1.0
    """)


def _one_route(tmp_path: Path, p: float) -> sim.Scenario:
    path = tmp_path / f"one_route_{p}.toml"
    path.write_text(ONE_ROUTE.replace("{p}", repr(p)), encoding="utf-8")
    return sim.load_scenario(path)


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_detection_within_m_months_is_geometric(tmp_path, p):
    """P(detected within m months) = 1 - (1 - p)^m, inside a 99% Wilson interval, for a route
    that ships every month (propensity +20: P(ship) = 1 - 2e-9)."""
    scn = _one_route(tmp_path, p)
    runs = 4000
    for m in (1, 3, 6, 12):
        df = sim.run_ensemble(scn, runs=runs, seed=11, months=m).summary
        assert (df["delivered_sup_rec"] == 5 * m).all()  # it shipped every month
        hits = int((df["detected_sup_rec"] > 0).sum())
        lo, hi = wilson_interval(hits, runs, confidence=0.99)
        expected = detected_within(p, m)
        assert lo <= expected <= hi, (m, hits / runs, expected)
        # The count of detections is binomial(m, p): its mean is m p.
        mean = df["detected_sup_rec"].mean()
        assert mean == pytest.approx(m * p, abs=4 * math.sqrt(m * p * (1 - p) / runs))


def test_detection_never_happens_at_zero_and_always_at_one(tmp_path):
    """The limits p = 0 and p = 1 are exact."""
    for p, want in ((0.0, 0), (1.0, 12)):
        df = sim.run_ensemble(_one_route(tmp_path, p), runs=200, seed=3).summary
        assert (df["detected_sup_rec"] == want).all()


# ------------------------------------------------------------------------------------------
# No detection, no transfer-triggered sanctions
# ------------------------------------------------------------------------------------------


def test_no_transfer_triggered_sanctions_when_detection_is_zero(baseline):
    """With every category undetectable, no sender escalates, no deal is broken and sanctions on
    Iran never rise above their start. The scheduled rounds of sanctions (``packages.*`` events,
    on Russia) are removed: they are raised by the calendar, not by a transfer."""
    spec = baseline.spec
    over: dict[str, object] = {f"categories.{c}.detection": 0.0 for c in spec.categories}
    over["tracks.relief.monitoring"] = 0.0  # the deal's monitors would see them otherwise
    over["events"] = [e.model_dump(by_alias=True) for e in spec.events
                      if not e.key.startswith("packages.")]
    assert len(over["events"]) < len(spec.events)  # the baseline has scheduled rounds
    scn = baseline.with_overrides(over)
    ens = run_variant(scn, 300, seed=5)
    df = ens.summary
    assert (df["escalations"] == 0).all()
    assert (df["failed_follow_through"] == 0).all()
    for r in ("iran_russia_drones", "iran_russia_missiles", "iran_russia_production"):
        assert (df[f"detected_{r}"] == 0).all()
        assert df[f"delivered_{r}"].sum() > 0  # the transfers did happen
    assert (df["relief_broken"] == 0).all()
    for s in Roles.of(baseline).senders:
        x = ens.series(f"sanctions_{s}_IRN")
        assert (x <= x[:, :1] + 1e-12).all()
    # ... and the same scenario with detection restored does escalate (the test can fail).
    assert (run_variant(baseline, 300, seed=5).summary["escalations"] > 0).mean() > 0.9


# ------------------------------------------------------------------------------------------
# A parameter that does not enter the model changes nothing
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["IRN", "RUS", "USA", "NATO", "BRICS", "UKR"])
@pytest.mark.parametrize("milex", [0.0, 1e5])
def test_parameters_outside_the_model_change_nothing(baseline, milex, who):
    """Military spending of an actor outside the war (only the attacker's and the defender's
    feed their own war production, ODD 7.9), display names, the start month and the teaching
    text are recorded but do not enter the rules: same draws, identical results, bit for bit."""
    ref = run_variant(baseline, 64, seed=9)
    over = {f"actors.{who}.name": "Renamed", "meta.start": "1999-12",
            "teaching.description": "changed"}
    if who not in (baseline.spec.theatre.attacker, baseline.spec.theatre.defender):
        over[f"actors.{who}.milex"] = milex
    other = baseline.with_overrides(over)
    got = run_variant(other, 64, seed=9)
    pd.testing.assert_frame_equal(ref.summary, got.summary, check_exact=True)
    for name, x in ref.monthly.items():
        np.testing.assert_array_equal(x, got.monthly[name], err_msg=name)


def test_a_parameter_that_enters_does_change_results(baseline):
    """The control of the test above: a parameter of the rules does move the results, and so
    does the military spending of the war's attacker (its home production)."""
    ref = run_variant(baseline, 64, seed=9).summary
    got = run_variant(baseline.with_overrides({"actors.IRN.growth": 0.05}), 64, seed=9).summary
    assert not ref["gdp_index_IRN"].equals(got["gdp_index_IRN"])
    war = baseline.with_overrides({f"actors.{baseline.spec.theatre.attacker}.milex": 0.0})
    assert not ref.equals(run_variant(war, 64, seed=9).summary)


# ------------------------------------------------------------------------------------------
# The facts package (analysis.facts)
# ------------------------------------------------------------------------------------------


def test_run_variant_gives_the_runs_of_run_ensemble(baseline):
    """The facts' runs (with monthly figures) are the ensemble's runs, row for row."""
    ref = sim.run_ensemble(baseline, runs=40, seed=6).summary
    got = run_variant(baseline, 40, seed=6)
    pd.testing.assert_frame_equal(ref.reset_index(drop=True), got.summary[ref.columns],
                                  check_dtype=False)
    months = baseline.horizon
    assert all(x.shape == (40, months + 1) for x in got.monthly.values())


def test_rate_ratio_known_answers():
    """Equal rates give 1 inside the interval; the interval narrows with more events."""
    est, lo, hi = rate_ratio(50, 1000.0, 50, 1000.0)
    assert est == 1.0 and lo < 1.0 < hi
    est, lo, hi = rate_ratio(200, 1000.0, 100, 1000.0)
    assert est == pytest.approx(2.0) and 1.5 < lo < 2.0 < hi < 2.6
    assert math.isnan(rate_ratio(0, 10.0, 5, 10.0)[0])


def test_half_time_of_a_step_and_a_ramp():
    """A step reaches half its level in the event's month (1); a ramp later."""
    pre = np.zeros((50, PRE_WINDOW))
    step = np.hstack([pre, np.ones((50, EVENT_WINDOW))])
    assert half_time(step) == 1.0
    ramp = np.hstack([pre, np.tile(np.arange(1.0, EVENT_WINDOW + 1), (50, 1))])
    level = np.arange(1.0, EVENT_WINDOW + 1).mean()
    assert half_time(ramp) == float(np.argmax(np.arange(1, 7) >= level / 2) + 1)


def test_counterfactual_without_sanctions_has_no_pressure_on_the_target(baseline):
    """Fact 3's 'no sanctions' arm (relief talks off, so no snap-back either) really keeps
    every sanction off the target for the whole run; with the talks on, a broken deal's
    snap-back would bring sanctions back (the reason the arm switches them off)."""
    roles = Roles.of(baseline)
    over = without_target_sanctions(baseline, roles)
    quiet = baseline.with_overrides({**over, "tracks.relief.base_rate": 0.0})
    assert (run_variant(quiet, 100, seed=2).series("pressure_IRN") == 0).all()
    talks = run_variant(baseline.with_overrides(over), 100, seed=2)
    assert (talks.series("pressure_IRN") > 0).any()
    over, lead = unilateral(baseline, roles)
    assert lead == "USA"
    alone = baseline.with_overrides(over)
    assert 0 < coalition_share(alone, roles) < coalition_share(baseline, roles)


@pytest.fixture(scope="module")
def small_check() -> FactCheck:
    return check_facts(runs=300, seed=4, sensitivity=False)


def test_check_facts_reports_every_fact_with_an_interval(small_check):
    facts = small_check.facts
    assert [f.number for f in facts] == list(range(1, 9))
    for f in facts:
        assert f.literature and f.source and f.measure and f.band
        assert f.verdict in ("reproduced", "not reproduced")
        assert math.isfinite(f.estimate), f.number
        if math.isfinite(f.low) and math.isfinite(f.high):
            assert f.low <= f.estimate <= f.high, f.number
        if not f.reproduced:
            assert f.note, f"fact {f.number} not reproduced without a reason"
    table = facts_table(small_check)
    assert list(table["fact"]) == list(range(1, 9))
    assert list(table["verdict"]) == [f.verdict for f in facts]
    assert small_check.reproduced == sum(f.verdict == "reproduced" for f in facts)


#: The verdicts of docs/validation.md, at 4000 runs per variant and seed 0 (issue 12's world:
#: the USA and the EU sanction Iran): four of eight facts, facts 5, 6, 7 and 8; facts 1, 2, 3 and
#: 4 not reproduced. Six verdicts (facts 1, 2, 3, 5, 7, 8) rest on intervals that clear their
#: band's edge by more than their own half-width (checked below), and keep them with seeds 1 and
#: 2, so they are not Monte Carlo luck: a model change that flips one fails here, and one that
#: only moves a figure does not. Facts 4 and 6 are not resolved with that margin: fact 4's effect
#: on success is within half a point of 0, and fact 6's snap-back rests on about 40 breaches
#: whose mean loss of growth is barely above 0 at seed 2 (docs/validation.md), so their verdicts
#: are not pinned: what holds for them with a margin is checked instead.
PINNED_RUNS = 4000
PINNED_VERDICTS = {1: False, 2: False, 3: False, 5: True, 7: True, 8: True}


def _clears(ci: tuple[float, float], low: float = -math.inf, high: float = math.inf) -> bool:
    """The interval lies inside [low, high] with a margin larger than its half-width."""
    half = (ci[1] - ci[0]) / 2
    return ci[0] - half > low and ci[1] + half < high


@pytest.fixture(scope="module")
def pinned_check() -> FactCheck:
    return check_facts(runs=PINNED_RUNS, seed=0, sensitivity=False)


def test_the_verdicts_of_the_stylised_facts_are_pinned(pinned_check):
    facts = {f.number: f for f in pinned_check.facts}
    assert {k: facts[k].reproduced for k in PINNED_VERDICTS} == PINNED_VERDICTS
    assert 3 <= pinned_check.reproduced <= 5  # the settled ones, and facts 4 and 6 or not
    ci = {k: (f.low, f.high) for k, f in facts.items()}
    assert _clears(ci[1], low=0.50)                        # success rate above the band
    assert _clears(ci[2], high=0.35)                       # threats nearly always carried out
    # Fact 3 (not reproduced since the second edition): growth adds only the change of sanction
    # damage since the start, so the damage the experiment measures is a few hundredths of a
    # point in both arms, far below both bands; it still fades (year 3 below year 1).
    multi, uni = facts[3].data["multi"], facts[3].data["uni"]
    assert _clears(multi[0][1:], high=2.0)                 # multilateral far below 2-4,
    assert _clears(uni[0][1:], high=0.5)                   # unilateral below 0.5-1,
    assert _clears(multi[-1][1:], high=multi[0][1])        # and damage fades
    # Fact 4 (not reproduced: the fall in success from coalition 0.8 to 0.6 is not resolved at
    # seeds 0, 1 or 2): pressure falls at every step with a margin, and the effect on success
    # is within two points either way.
    rows = facts[4].data["rows"]
    assert (rows["pressure_hi"].to_numpy()[1:] < rows["pressure_lo"].to_numpy()[:-1]).all()
    assert _clears(ci[4], -0.02, 0.02)
    assert _clears(ci[5], low=0.0)                         # multilateral succeeds more
    # Fact 6 (reproduced at seeds 0, 1 and 2, but the snap-back's mean loss rests on about 40
    # breaches): relief pays off within a month, and the slower half-time is resolved well
    # within six months.
    assert half_time(facts[6].data["up"][None, :]) <= 1
    assert _clears(ci[6], high=6.0)
    assert _clears(ci[7], low=1.0)                         # hazard ratio above 1
    assert _clears(ci[8], low=0.0)                         # localisation cuts shipments


def test_check_facts_is_reproducible(small_check):
    again = check_facts(runs=300, seed=4, sensitivity=False)
    pd.testing.assert_frame_equal(facts_table(small_check), facts_table(again))


def test_facts_command_writes_table_csv_and_figures(tmp_path, capsys):
    figs = tmp_path / "figs"
    csv = tmp_path / "facts.csv"
    code = main(["facts", "--runs", "200", "--seed", "1", "--figures", str(figs),
                 "--csv", str(csv)])
    out = capsys.readouterr().out
    assert code == 0
    assert "of 8 facts reproduced" in out and "Sensitivity" in out
    names = sorted(p.name for p in figs.glob("*.png"))
    assert names == [f"fact_{k}.png" for k in range(1, 9)] + ["fact_sensitivity.png"]
    for p in figs.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(csv)
    assert len(table) == 8 and {"model", "ci_low", "ci_high", "verdict"} <= set(table)


@pytest.mark.parametrize("argv, words", [
    (["facts", "--runs", "5"], ["--runs", "5", "at least 100"]),
    (["facts", "--runs", "200", "--seed", "-1"], ["--seed", "-1"]),
    (["facts", "--runs", "200", "--seed", str(2**64)], ["--seed", str(2**64)]),
    (["facts", "--runs", "200", "--scenario", "no_such_scenario"], ["no_such_scenario"]),
    (["facts", "--runs", "200", "--set", "world.leak_gain=-3"], ["world.leak_gain"]),
])
def test_facts_command_refuses_bad_input_in_one_line(argv, words, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:  # a bad flag value: argparse exits from inside the parser
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith("diplosim: error: ")
    for word in words:
        assert word in err
