"""Analytic limits of the model and the stylised-fact checks (``diplosim facts``).

The closed forms: pressure composition with diminishing returns and leakage; the chance that a
route shipping every month is detected within m months, 1 - (1 - p)^m; no transfer-triggered
sanctions when nothing can be detected; a parameter that does not enter the model changes
nothing (same draws, same results). Then the facts package (analysis.facts) itself: the population
of synthetic episodes, the validated facts with their pinned verdicts, the verification rows, the
command line, its figures, its page and its refusals.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from closed_forms import detected_within
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from analysis.facts import (
    MECHANISMS,
    PRIORS,
    WHERE,
    FactCheck,
    check_facts,
    facts_table,
    run_population,
    run_variant,
    verification_table,
)
from analysis.facts.base_rates import (
    fact_1_population,
    fact_2_population,
    fact_3_population,
    fact_5_population,
)
from analysis.facts.calibrated import case_draws
from analysis.facts.check import PINNED_EPISODES, PINNED_RUNS
from analysis.facts.coalitions import COALITION_SWEEP, fact_4_leakage
from analysis.facts.events import fact_6_relief, fact_7_government, fact_8_localisation
from analysis.facts.measures import EVENT_WINDOW, PRE_WINDOW, half_time, rate_ratio
from analysis.facts.population import arm_values, draw_covariates, episode_template, run_arm
from analysis.facts.roles import Roles, coalition_overrides
from analysis.facts.variants import Context
from sim.cli import main
from sim.core import layout as L
from sim.core.rules import init_state, new_state, params_of
from sim.errors import UsageError
from sim.jobs.edits import PointEdits
from sim.jobs.posterior import Posterior
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
    """The case's runs (with monthly figures) are the ensemble's runs, row for row."""
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


# The population of synthetic episodes ----------------------------------------------------


def test_the_priors_draw_within_their_ranges_and_reproducibly():
    """Every covariate lies in its prior's range; the same seed draws the same episodes and
    another seed others; about the stated share of episodes is multilateral."""
    cov = draw_covariates(4000, 3)
    for p in PRIORS:
        x = cov[p.keys[0]].to_numpy()
        if p.kind == "bernoulli":
            assert set(np.unique(x)) <= {0.0, 1.0}
            assert abs(x.mean() - p.low) < 4 * math.sqrt(p.low * (1 - p.low) / x.size)
        else:
            assert (x >= p.low).all() and (x <= p.high).all(), p.name
            assert x.std() > 0.1 * (p.high - p.low), p.name  # really drawn, not a constant
        assert p.uses, p.name  # every prior says what it rests on
    pd.testing.assert_frame_equal(cov, draw_covariates(4000, 3))
    assert not cov.equals(draw_covariates(4000, 4))


def test_an_episode_is_its_own_scenario_run_through_the_same_rules():
    """Episode e of the batched population (one kernel call of cell edits) is exactly run e of
    the template with that episode's values set by ``with_overrides``, in every arm; the
    template starts with no sanctions on the target, and the no-sanctions arm keeps it so."""
    cov = draw_covariates(6, 8)
    for arm in ("multi", "uni", "none_q"):
        template = episode_template(unilateral=arm == "uni")
        keys, values = arm_values(cov, arm, template)
        ens = run_arm(template, keys, values, seed=8)
        edits = PointEdits.from_design(template, keys, values)
        for e in (0, 5):
            own = run_variant(edits.scenario(e), e + 1, seed=8)
            row = own.summary.iloc[e].drop("run")
            got = ens.summary.iloc[e].drop("run")
            pd.testing.assert_series_equal(got[row.index], row, check_names=False,
                                           check_exact=False, rtol=0, atol=1e-12)
        assert (ens.series("sanctions_LEAD_TGT")[:, 0] == 0).all()
        if arm == "none_q":
            assert (ens.series("pressure_TGT") == 0).all()
    assert (run_arm(episode_template(), *arm_values(cov, "multi", episode_template()), seed=8)
            .series("sanctions_LEAD_TGT")[:, -1] > 0).any()  # ... and the sanctions arm acts


@pytest.fixture(scope="module")
def small_check() -> FactCheck:
    return check_facts(runs=300, seed=4, sensitivity=False)


def test_check_facts_reports_both_tables(small_check):
    """Five validated facts (1, 2, 3, 5 on the population, 4 on the case) with intervals, and the
    verification table with the tests that hold each mechanism (the former facts 6-8 among
    them, checked on the case)."""
    facts = small_check.facts
    assert [f.number for f in facts] == [1, 2, 3, 4, 5]
    assert [WHERE[f.number] for f in facts] == ["population"] * 3 + ["case", "population"]
    for f in facts:
        assert f.literature and f.source and f.measure and f.band
        assert math.isfinite(f.estimate), f.number
        if math.isfinite(f.low) and math.isfinite(f.high):
            assert f.low <= f.estimate <= f.high, f.number
        assert f.reproduced or f.reason, f"fact {f.number} not reproduced without a reason"
    table = facts_table(small_check)
    assert list(table["fact"]) == [1, 2, 3, 4, 5]
    assert small_check.reproduced == (table["verdict"] == "reproduced").sum()
    ver = verification_table(small_check)
    assert sorted(ver["was_fact"].dropna().astype(int)) == [6, 7, 8]
    here = Path(__file__).parent
    names = {p.stem: p.read_text(encoding="utf-8") for p in here.glob("test_*.py")}
    for tests in ver["tests"]:
        for t in tests.split("; "):
            file, name = t.split("::")
            assert f"def {name}(" in names[Path(file).stem], t  # every named test exists


def test_check_facts_is_reproducible(small_check):
    again = check_facts(runs=300, seed=4, sensitivity=False)
    pd.testing.assert_frame_equal(facts_table(small_check), facts_table(again))


# Pinned verdicts ---------------------------------------------------------------------------

#: The verdicts of docs/validation.md, pinned at PINNED_EPISODES (3000) episodes, seed 0, for
#: the population's facts (facts 1 and 2 reproduced, 3 and 5 not), and what holds with a margin
#: at PINNED_RUNS (1000) runs per variant for the case's fact 4 (not resolved, so not pinned).
#: A verdict is pinned only where its interval clears the band's edge by more than its own
#: half-width at this count (``_clears``), checked at seeds 0, 1 and 2: fact 1's lower end
#: minus its half-width is 0.219, 0.207 and 0.221 (the edge is 0.20: the thinnest margin);
#: fact 2's interval 0.42-0.45 against 0.35-0.65; fact 3's damage 0.42-0.47 points against the
#: band's 0.5; fact 5's upper end plus its half-width -0.013 to -0.004 against 0. At 2000
#: episodes facts 1 and 5 lose that margin. A model change that flips one fails here and is
#: reported on purpose.
PINNED = {1: True, 2: True, 3: False, 5: False}


def _clears(ci: tuple[float, float], low: float = -math.inf, high: float = math.inf) -> bool:
    """The interval lies inside [low, high] with a margin larger than its half-width."""
    half = (ci[1] - ci[0]) / 2
    return ci[0] - half > low and ci[1] + half < high


@pytest.fixture(scope="module")
def pinned_population():
    return run_population(PINNED_EPISODES, seed=0)


def test_the_population_verdicts_are_pinned(pinned_population):
    pop = pinned_population
    f1, f2 = fact_1_population(pop), fact_2_population(pop)
    f3, f5 = fact_3_population(pop), fact_5_population(pop)
    assert {1: f1.reproduced, 2: f2.reproduced, 3: f3.reproduced, 5: f5.reproduced} == PINNED
    assert _clears((f1.low, f1.high), 0.20, 0.50)            # about a third (a quarter) succeed
    assert _clears((f2.low, f2.high), 0.35, 0.65)            # half of threats unimposed
    # Fact 3: the first-year damage after an imposition is real (above 0) but below both bands,
    # and it does not fade within three years (year 3 above year 1).
    multi, uni = f3.data["multi"], f3.data["uni"]
    assert _clears(multi[0][1:], 0.0, 0.5) and _clears(uni[0][1:], 0.0, 0.5)
    assert _clears(f3.data["fade"]["multi_q"][1:], high=0.0)
    # Fact 5: the same episode with a second sender succeeds less, not more.
    assert _clears((f5.low, f5.high), high=0.0)


def test_the_case_fact_4_holds_what_it_holds_with_a_margin(baseline):
    """Fact 4 on the Iran case is not resolved (its effect on success is within a point of 0 at
    every run count tried), so its verdict is not pinned: pressure falls at every step down of
    the coalition with a margin, and the effect on success lies within two points either way."""
    ctx = Context(baseline, Roles.of(baseline), PINNED_RUNS, 0)
    f4 = fact_4_leakage(ctx)
    rows = f4.data["rows"]
    assert (rows["pressure_hi"].to_numpy()[1:] < rows["pressure_lo"].to_numpy()[:-1]).all()
    assert _clears((f4.low, f4.high), -0.04, 0.04)
    assert not f4.reproduced


def test_verification_rows_hold(baseline):
    """The former facts 6-8 hold by construction, so a few hundred runs settle them: relief pays
    off within the deal's month, a change of government toward relief raises the hazard of a
    deal, and localisation cuts the recipient's demand for shipments."""
    ctx = Context(baseline, Roles.of(baseline), 600, 0)
    f6, f7, f8 = fact_6_relief(ctx), fact_7_government(ctx), fact_8_localisation(ctx)
    assert half_time(f6.data["up"][None, :]) <= 1
    assert _clears((f7.low, f7.high), low=1.0)
    assert _clears((f8.low, f8.high), low=0.0)


# The command -------------------------------------------------------------------------------


def test_facts_command_prints_both_tables_and_writes_figures_csv_and_page(tmp_path, capsys):
    figs = tmp_path / "figs"
    csv = tmp_path / "facts.csv"
    page = tmp_path / "validation.md"
    code = main(["facts", "--runs", "100", "--seed", "1", "--figures", str(figs),
                 "--csv", str(csv), "--page", str(page)])
    out = capsys.readouterr().out
    assert code == 0
    assert "VALIDATION" in out and "VERIFICATION" in out and "Fragility" in out
    count = int(re.search(r"(\d) of 5 validated facts reproduced", out).group(1))
    names = sorted(p.name for p in figs.glob("*.png"))
    assert names == sorted([f"fact_{k}.png" for k in range(1, 6)]
                           + [f"verification_v{k}.png" for k in (1, 2, 3)]
                           + ["validation_fragility.png"])
    for p in figs.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(csv)
    assert len(table) == 5 and {"model", "ci_low", "ci_high", "verdict", "where"} <= set(table)
    assert len(pd.read_csv(tmp_path / "facts_verification.csv")) == len(MECHANISMS)
    text = page.read_text(encoding="utf-8")
    assert f"**{count} of 5 validated facts are reproduced**" in text
    assert "](figs/fact_1.png)" in text and "## Verification" in text
    assert "## Held-out checks" in text
    assert main(["facts", "--runs", "200", "--no-sensitivity", "--page", str(page)]) == 2


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


# The case on a calibrated posterior (diplosim facts --posterior) ----------------------------

#: A posterior's record hash and calibration seed as a manifest holds them.
_MANIFEST = {"scenario": "baseline", "seed": 7, "record_sha256": "5eed" * 16}


def _posterior(keys: dict[str, list[float]], weights: list[float] | None = None) -> Posterior:
    """A posterior of the given particles (one value list per key)."""
    draws = np.array(list(keys.values()), dtype=float).T
    w = np.ones(draws.shape[0]) if weights is None else np.array(weights, float)
    return Posterior(tuple(keys), draws, w / w.sum(), dict(_MANIFEST))


def test_the_case_on_a_posterior_of_its_own_values_is_the_case_itself(baseline):
    """A posterior whose one particle holds the scenario's own values changes nothing, bit for
    bit: run r of every variant is run r of the scenario (the draws only set cells)."""
    spec = baseline.spec
    post = _posterior({"world.leak_gain": [spec.world.leak_gain],
                       "actors.IRN.control": [spec.actors["IRN"].control]})
    roles = Roles.of(baseline)
    case = case_draws(post, baseline, 60, seed=3, draws=4)
    assert (case.draws, case.per_draw, case.runs) == (4, 15, 60)
    on = Context(baseline, roles, case.runs, 3, posterior=case)
    off = Context(baseline, roles, 60, 3)
    f_on, f_off = fact_4_leakage(on), fact_4_leakage(off)
    assert set(on.cache) == set(off.cache) and len(on.cache) == len(COALITION_SWEEP)
    for key, ens in on.cache.items():
        pd.testing.assert_frame_equal(ens.summary, off.cache[key].summary, check_exact=True)
        for name, series in ens.monthly.items():
            assert np.array_equal(series, off.cache[key].monthly[name], equal_nan=True), name
    assert (f_on.estimate, f_on.low, f_on.high) == (f_off.estimate, f_off.low, f_off.high)


def test_the_variants_on_a_posterior_share_the_draws_and_the_runs(baseline):
    """Run r of every variant has the same parameter draw and the same random numbers: draw d
    holds runs d x per_draw onwards, and each equals the scenario with that draw's values (and
    the variant's own overrides) run on those run ids, so a comparison is paired run by run."""
    from sim.engines.ensemble import run_chunk

    post = _posterior({"world.w_relief": [2.0, 6.0, 11.0],
                       "tracks.relief.base_rate": [0.1, 0.4, 0.55],
                       "actors.IRN.control": [0.3, 0.6, 0.95]}, weights=[1, 2, 1])
    roles = Roles.of(baseline)
    case = case_draws(post, baseline, 24, seed=5, draws=3)
    ctx = Context(baseline, roles, case.runs, 5, posterior=case)
    share = coalition_overrides(baseline, roles, 0.6)
    variants = {"base": {}, "f4_0.6": share}
    for key, overrides in variants.items():
        ens = ctx.ensemble(key, overrides or None)
        for d in range(case.draws):
            ids = np.arange(d * case.per_draw, (d + 1) * case.per_draw, dtype=np.int64)
            drawn = dict(zip(post.keys, case.values[d].tolist(), strict=True))
            scn = baseline.with_overrides({**drawn, **overrides})
            alone = run_chunk(scn, 5, ids, record=True)
            assert np.array_equal(ens.summary.drop(columns="run").to_numpy()[ids],
                                  alone.outcomes, equal_nan=True)
            traj = np.stack(list(ens.monthly.values()), axis=-1)[ids]
            assert np.array_equal(traj, alone.trajectories, equal_nan=True), (key, d)
    # A draw of the experiment is its runs of every variant, numbered from 0.
    one = ctx.draw(1)
    assert one.runs == case.per_draw and set(one.cache) == set(variants)
    assert np.array_equal(one.cache["base"].series(f"pressure_{roles.target}"),
                          ctx.cache["base"].series(f"pressure_{roles.target}")[8:16])
    with pytest.raises(KeyError):
        one.ensemble("f4_0.8", coalition_overrides(baseline, roles, 0.8))


def test_a_posterior_moves_the_case_in_the_direction_of_its_values(baseline):
    """Fact 4 works through leakage: a one-particle posterior with no leakage
    (world.leak_gain = 0) makes the coalition's share irrelevant, so pressure and success do
    not move (exactly 0, run by run, and 0 in every draw); one with four times the leakage
    per unit of busting trade makes pressure fall further than the baseline's does."""
    runs = 200

    def pressure_fall(check: FactCheck) -> float:
        rows = check.facts[3].data["rows"]["pressure"].to_numpy()
        return float(rows[-1] - rows[0])

    plain = check_facts(runs=runs, seed=2, sensitivity=False)
    none = check_facts(runs=runs, seed=2, sensitivity=False,
                       posterior=_posterior({"world.leak_gain": [0.0]}))
    much = check_facts(runs=runs, seed=2, sensitivity=False,
                       posterior=_posterior({"world.leak_gain": [6.0]}))
    f4 = none.facts[3]
    assert (f4.estimate, f4.low, f4.high) == (0.0, 0.0, 0.0)
    assert (f4.param_p05, f4.param_p95, f4.mc_se) == (0.0, 0.0, 0.0)
    assert f4.draws == 50 and np.all(f4.data["per_run"] == 0)
    assert pressure_fall(none) == 0.0
    assert pressure_fall(much) < pressure_fall(plain) < 0.0
    # The population does not use the posterior.
    for k in (0, 1, 2, 4):
        assert none.facts[k].estimate == plain.facts[k].estimate
        assert math.isnan(none.facts[k].param_p05) and none.facts[k].draws == 0


def test_facts_on_a_posterior_name_it_and_report_the_spread(tmp_path, capsys):
    """``diplosim facts --posterior DIR``: the case's rows give the spread over the draws
    (param_p05, param_p95, mc_se in the CSV; NaN for the population's rows), the report and
    the page name the posterior (folder, particles, record SHA-256, seed) and say the case ran
    on it; without --posterior there are no spread columns."""
    folder = tmp_path / "post"
    _posterior({"world.leak_gain": [1.0, 1.5, 2.5], "actors.IRN.control": [0.5, 0.6, 0.8]}
               ).save(folder)
    csv, page = tmp_path / "facts.csv", tmp_path / "validation.md"
    assert main(["facts", "--runs", "100", "--seed", "1", "--posterior", str(folder),
                 "--csv", str(csv), "--page", str(page), "--figures", str(tmp_path / "f")]) == 0
    out = capsys.readouterr().out
    assert f"on the calibrated posterior {folder}: 3 particles of 2 parameters" in out
    assert "posterior:  5-95% over" in out
    table = pd.read_csv(csv).set_index("fact")
    assert {"param_p05", "param_p95", "mc_se", "draws"} <= set(table)
    assert table.loc[[1, 2, 3, 5], "param_p05"].isna().all()
    assert (table.loc[[1, 2, 3, 5], "draws"] == 0).all()
    assert table.loc[4, "draws"] == 50 and table.loc[4, "param_p05"] <= table.loc[4, "param_p95"]
    assert np.isfinite(table.loc[4, "mc_se"]) and table.loc[4, "runs"] == 100
    assert "on the calibrated posterior" in table.loc[4, "model_measure"]
    ver = pd.read_csv(tmp_path / "facts_verification.csv").set_index("check")
    assert (ver.loc[["V1", "V2", "V3"], "draws"] > 0).all()
    assert ver.loc[["V4", "V5"], "param_p05"].isna().all()
    text = page.read_text(encoding="utf-8")
    assert f"diplosim facts --posterior {folder} --figures" in text
    assert f"the posterior in `{folder}`: 3 particles of 2 parameters" in text
    assert f"seed 7 from the record of SHA-256 `{'5eed' * 16}`" in text
    assert "the Iran case on the calibrated posterior" in text
    assert "draws 5-95%:" in text and "do not use the posterior" in text
    assert "posterior was being re-run" not in text
    assert "`actors.IRN.pain_sensitivity`" in text.split("## What this page does not show")[1]
    plain = facts_table(check_facts(runs=100, seed=1, sensitivity=False))
    assert "param_p05" not in plain
    for k in (1, 2, 3, 5):  # the population's facts are the same with or without a posterior
        assert table.loc[k, "model"] == pytest.approx(plain.set_index("fact").loc[k, "model"],
                                                      rel=0, abs=1e-12)


def test_facts_refuse_a_bad_posterior_in_one_line(tmp_path, baseline, capsys):
    """A folder that is not a posterior, or one whose key the scenario does not have: one line
    naming the folder and the key, before anything runs; the Python API raises the same."""
    odd = tmp_path / "odd"
    _posterior({"actors.XYZ.control": [0.5]}).save(odd)
    for folder, words in ((tmp_path, [str(tmp_path), "not a posterior folder"]),
                          (odd, [str(odd), "actors.XYZ.control", "not a parameter"])):
        assert main(["facts", "--runs", "100", "--posterior", str(folder)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "Traceback" not in err
        assert err.startswith("diplosim: error: ")
        for word in words:
            assert word in err
    with pytest.raises(UsageError, match="actors.XYZ.control"):
        check_facts(runs=100, posterior=odd, sensitivity=False)
    with pytest.raises(UsageError, match="parameter draws"):
        case_draws(_posterior({"world.leak_gain": [1.0]}), baseline, 10, 0, draws=11)
