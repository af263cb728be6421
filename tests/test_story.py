"""The story says why (issue 11, item 9).

Every kind of story line occurs in some seeded run of the bundled baseline and its policies,
decision lines with their reasons; and what the story says agrees with the decision arrays of
the month it tells: a shipment's reasons are the largest terms of its utility (``DW``), a threat
line is a threat decision (``DTH``), a package's costs are the sender's trade cost and audience
cost, a deal's phases are the track's state (``TS``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from builders import ScenarioBuilder

from sim.core import layout as L
from sim.engines.model import DiplomacyModel, Reason, StoryEvent


class Recording(DiplomacyModel):
    """A model that keeps, for each month, the state its decisions read and the decisions.

    ``before[m]``: the state after month m's events, when the agents decide; ``decided[m]``:
    the decision arrays and the state after the month.
    """

    def __init__(self, *args, **kwargs):
        self.before: dict[int, dict[str, np.ndarray]] = {}
        self.decided: dict[int, dict[str, np.ndarray]] = {}
        super().__init__(*args, **kwargs)
        do = self.agents.do

        def snapshot_then(name: str):
            self.before[self.month] = {k: getattr(self.state, k).copy() for k in (
                "SANC", "SA", "TRADE", "TS", "THR", "TDL", "RS")}
            return do(name)

        self.agents.do = snapshot_then

    def step(self) -> None:
        s = self.state
        month = self.month + 1
        super().step()
        assert set(self.before) == set(range(1, month + 1))
        self.decided[month] = {k: getattr(s, k).copy() for k in ("DW", "DTH", "DT", "DR", "RS",
                                                                  "SANC", "SA", "TS", "THR",
                                                                  "TDL", "AP", "W", "RP")}


# The variants the story is read in: the baseline, its policies, an EU whose public punishes
# no back-down (any package that costs it anything is too costly), and hardliners who take
# Iran's security apparatus out of the government's hands in month 24 (a deal in force before
# then is defied after it: the stance on a halt is decided once per agreement).
VARIANTS = {
    "baseline": {},
    "conditional_relief": {"policy": "conditional_relief"},
    "engagement": {"policy": "engagement"},
    "secondary_sanctions": {"policy": "secondary_sanctions"},
    "eu_no_audience": {"overrides": {"actors.EU.audience_cost": 0.0}},
    "hardliners": {"overrides": {"tracks.relief.trust": 0.8, "tracks.relief.min_trust": 0.0,
                                 "tracks.relief.implementation_months": 1}},
    # the bundled what-if where the IRGC defies halts and breaks deals (Iran's control 0.2): at
    # the calibrated baseline breaches and defiance are rare (about 1 breach in 100 runs)
    "irgc_overrules": {},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    """``run(variant, seed)``: one whole run of a variant (runs are shared between tests)."""
    hardliners = (ScenarioBuilder.from_scenario("baseline")
                  .event(24, "actors.IRN.control", 0.0,
                         note="Hardliners take the security apparatus out of the government's "
                              "hands")
                  .build(tmp_path_factory.mktemp("hardliners"), "hardliners"))
    scenarios = {v: hardliners if v == "hardliners" else "baseline" for v in VARIANTS}
    scenarios["irgc_overrules"] = "irgc_overrules"
    runs: dict[tuple[str, int], Recording] = {}

    def one(variant: str, seed: int) -> Recording:
        if (variant, seed) not in runs:
            runs[variant, seed] = Recording(scenarios[variant], seed=seed,
                                            **VARIANTS[variant]).run()
        return runs[variant, seed]

    return one


def find(run, pred, variants=tuple(VARIANTS), seeds=range(60)) -> tuple[Recording, StoryEvent]:
    """The first line (seed by seed, variant by variant) for which ``pred`` holds."""
    for seed in seeds:
        for variant in variants:
            model = run(variant, seed)
            for ev in model.story:
                if pred(ev):
                    return model, ev
    raise AssertionError("no such line in any run searched")


# label: (what identifies the line, whether it tells a decision and so must give reasons)
KINDS = {
    "public warning": (lambda e: e.kind == "threat" and "publicly warns" in e.text, True),
    "threat issued": (lambda e: e.kind == "threat" and "after a detected shipment" in e.text,
                      True),
    "package imposed": (lambda e: e.kind == "sanctions" and "imposes the package" in e.text,
                        True),
    "back-down, members disagree": (lambda e: e.kind == "back-down"
                                    and "fail to agree" in e.text, True),
    "back-down, too costly": (lambda e: e.kind == "back-down" and "cost it more" in e.text, True),
    "threat complied with": (lambda e: e.kind == "compliance", False),
    "threat lapses at the cap": (lambda e: "nothing left to impose" in e.text, False),
    "shipment despite a threat": (lambda e: e.kind == "transfer"
                                  and "despite the threat" in e.text, True),
    "restraint": (lambda e: e.kind == "restraint", True),
    "halt ordered": (lambda e: e.kind == "halt", True),
    "halt defied": (lambda e: e.kind == "transfer" and "defies the government's halt" in e.text,
                    True),
    "relief agreed": (lambda e: e.kind == "deal" and "agrees a relief deal" in e.text, True),
    "implementation progress": (lambda e: e.kind == "implementation"
                                and "verified for month" in e.text, False),
    "halt not verified": (lambda e: "cannot be verified" in e.text, False),
    "Implementation Day": (lambda e: e.text.startswith("Implementation Day"), False),
    "breach in implementation": (lambda e: e.kind == "breach"
                                 and "while it is being implemented" in e.text, False),
    "breach with snap-back": (lambda e: e.kind == "breach" and "snap back" in e.text, False),
    "secondary sanctions": (lambda e: "imposes secondary sanctions" in e.text, True),
    "ceasefire": (lambda e: e.kind == "ceasefire", True),
    "stalemate": (lambda e: "mutually hurting stalemate" in e.text, True),
    "ceasefire breaks down": (lambda e: e.kind == "ceasefire" and "breaks down" in e.text, True),
    "production": (lambda e: e.kind == "production", False),
    "event": (lambda e: e.kind == "event", False),
}


@pytest.mark.parametrize("label", list(KINDS))
def test_each_kind_of_line_is_told_in_some_run(run, label):
    pred, decision = KINDS[label]
    _, ev = find(run, pred)
    assert ev.text and ev.text[0].isupper()
    if decision:
        assert ev.reasons and ev.why and str(ev).endswith(f" (why: {ev.why})"), ev
    else:
        assert not ev.reasons and str(ev) == f"Month {ev.month}: {ev.text}", ev


def test_the_old_mechanisms_are_not_told(run):
    text = "\n".join(run(v, seed).story_text() for v in VARIANTS for seed in range(4))
    assert "fails to agree on new sanctions" not in text  # the old failed follow-through
    assert "of a response to further transfers" not in text  # the old trigger-based warning
    assert "strikes a relief deal" not in text and "verifiable halt" not in text


def _route_of(model: Recording, ev: StoryEvent) -> int:
    """The covert route a supply line tells (by its category's unit, singular or plural)."""
    cs = model.compiled
    hits = []
    for r in range(len(cs.route_ids)):
        c = int(cs.RP[r, L.R_CATEGORY])
        unit = re.escape(cs.category_units[c].rstrip("s"))
        if cs.CP[c, L.C_ESC_W] > 0 and re.search(rf"\b{unit}s?\b", ev.text):
            hits.append(r)
    if len(hits) > 1:  # two suppliers of one category (Iran's and North Korea's missiles)
        hits = [r for r in hits if ev.text.startswith(
            cs.actor_names[int(cs.RP[r, L.R_SUPPLIER])])]
    assert len(hits) == 1, ev
    return hits[0]


def _expected_reasons(d: dict[str, np.ndarray], r: int) -> list[tuple[str, float]]:
    """The utility's terms, read from DW and the parameters, the three largest in |value|."""
    dw = d["DW"][r]
    terms = [("need", dw[L.DW_NEED]), ("affinity", dw[L.DW_AFFINITY]),
             ("revenue", dw[L.DW_PRICE]), ("threat cost", dw[L.DW_RISK]),
             ("relief at risk", dw[L.DW_RELIEF]),
             ("propensity", d["W"][L.W_SUPPLY_BASE] + d["RP"][r, L.R_PROPENSITY])]
    assert sum(v for _, v in terms) == pytest.approx(dw[L.DW_UTILITY], abs=1e-12)
    ranked = sorted(terms, key=lambda t: -abs(t[1]))[:3]
    return [(name, float(v)) for name, v in ranked if abs(v) >= 0.005]


def test_shipment_reasons_are_the_largest_terms_of_the_utility(run):
    checked = {"transfer": 0, "restraint": 0, "defied": 0}
    # a shipment that defies the government's halt: in run 0 of seeds 13 and 16 of
    # irgc_overrules (22 of seeds 0-79 have one; the calibrated baseline only seed 25)
    for variant, seeds in (("baseline", range(8)), ("conditional_relief", range(8)),
                           ("engagement", range(8)), ("irgc_overrules", (13, 16))):
        for seed in seeds:
            model = run(variant, seed)
            told = set()
            for ev in model.story:
                if ev.kind not in ("transfer", "restraint"):
                    continue
                r = _route_of(model, ev)
                d = model.decided[ev.month]
                told.add((ev.month, r))
                got = [(x.term, x.value) for x in ev.reasons]
                want = _expected_reasons(d, r)
                assert [t for t, _ in got] == [t for t, _ in want], ev
                np.testing.assert_allclose([v for _, v in got], [v for _, v in want],
                                           rtol=0, atol=1e-12)
                assert ev.why == ", ".join(f"{t} {v:.2f}" for t, v in want)
                defied = d["DW"][r, L.DW_DEFIED] >= 0.5
                assert ("defies the government's halt" in ev.text) == (
                    defied and ev.kind == "transfer"), ev
                if ev.kind == "transfer":
                    # What arrived (its share of a need shared with another supplier), and
                    # what it offered when that was more.
                    got_units = d["RS"][r, L.RS_SHIPPED]
                    assert d["DR"][r] > 0 and (
                        f"ships {got_units:.0f} " in ev.text if got_units > 0
                        else f"offers {d['DR'][r]:.0f} " in ev.text), ev
                    if 0 < got_units < d["DR"][r]:
                        assert f"it offered {d['DR'][r]:.0f}" in ev.text, ev
                    checked["defied"] += defied
                else:
                    assert d["DR"][r] == 0 and 0 < d["DW"][r, L.DW_PROBABILITY], ev
                    assert f"was {d['DW'][r, L.DW_PROBABILITY]:.2f}" in ev.text, ev
                    assert ev.month == 1 or model.before[ev.month]["RS"][r, L.RS_SHIPPED] > 0
                checked[ev.kind] += 1
                # A threat is named where one stands over the month's shipments on the route.
                thr, tdl = model.before[ev.month]["THR"][:, r], model.before[ev.month]["TDL"][:, r]
                standing = ((thr > 0) & (thr <= ev.month) & (ev.month <= tdl)).any()
                assert (" the threat" in ev.text) == standing, ev
            # Every covert shipment of the record is told, and every choice not to ship on a
            # route that shipped the month before (or in the first month).
            for month, d in model.decided.items():
                for r in range(len(model.compiled.route_ids)):
                    if model.compiled.CP[int(d["RP"][r, L.R_CATEGORY]), L.C_ESC_W] <= 0:
                        continue
                    shipped_before = model.before[month]["RS"][r, L.RS_SHIPPED] > 0
                    chose = d["DW"][r, L.DW_PROBABILITY] > 0 and (month == 1 or shipped_before)
                    assert ((month, r) in told) == (d["DR"][r] > 0 or chose), (
                        variant, seed, month, r)
    assert all(checked.values()), checked


def test_threat_lines_are_the_threat_decisions(run):
    words = {L.TH_ISSUE: "after a detected shipment", L.TH_IMPOSE: "imposes the package",
             L.TH_BACK_DOWN: "backs down", L.TH_COMPLIED: "counts as complied with",
             L.TH_EXHAUSTED: "nothing left to impose"}
    seen = dict.fromkeys(words, 0)
    for variant in ("baseline", "eu_no_audience", "secondary_sanctions"):
        for seed in range(6):
            model = run(variant, seed)
            names = model.compiled.actor_names
            for month, d in model.decided.items():
                before = model.before[month]
                lines = [e for e in model.story if e.month == month]
                for code, phrase in words.items():
                    told = [e for e in lines if phrase in e.text]
                    assert len(told) == int((d["DTH"] == code).sum()), (variant, seed, month)
                    seen[code] += len(told)
                for i, r in zip(*np.nonzero(d["DTH"]), strict=True):
                    code = int(d["DTH"][i, r])
                    j = int(d["RP"][r, L.R_SUPPLIER])
                    who = names[i]
                    line = next(e for e in lines if words[code] in e.text and who in e.text
                                and model.compiled.category_units[int(d["RP"][r, L.R_CATEGORY])]
                                in e.text and names[j] in e.text)
                    if code in (L.TH_ISSUE, L.TH_IMPOSE):
                        # The threat binds from next month to its deadline, as the text says.
                        assert f"month {d['TDL'][i, r]:.0f}" in line.text
                        assert d["THR"][i, r] == month + 1
                    if code not in (L.TH_IMPOSE, L.TH_BACK_DOWN):
                        continue
                    # The sender's cost of the package, in % of its GDP, against its audience cost.
                    old = before["SANC"][i, j]
                    m = re.search(r"from (\d\.\d+) to (\d\.\d+)", line.text) if \
                        code == L.TH_IMPOSE else None
                    cost, audience = line.reasons[0], line.reasons[1]
                    assert cost.term == f"cost to {who}" and cost.unit == "%"
                    assert audience.value == d["AP"][i, L.A_AUDIENCE]
                    if code == L.TH_IMPOSE:
                        level = float(m[2])
                        assert float(m[1]) == pytest.approx(old, abs=0.0051)
                        assert d["SANC"][i, j] >= level - 0.0051
                        assert cost.value <= audience.value
                        rise = d["SANC"][i, j] - old
                        if rise > 0 and d["SANC"][i, j] == pytest.approx(level, abs=0.005):
                            trade = (before["TRADE"][j, i] * d["AP"][j, L.A_OPEN]
                                     * d["AP"][j, L.A_GDP] * before["SA"][j, L.S_GDP])
                            gdp = d["AP"][i, L.A_GDP] * before["SA"][i, L.S_GDP]
                            assert cost.value == pytest.approx(100 * rise * trade / gdp,
                                                               rel=1e-6, abs=1e-12)
                    else:
                        assert ("cost it more" in line.text) == (cost.value > audience.value)
                        assert f"credibility falls to {d['SA'][i, L.S_CRED]:.2f}" in line.text
    assert all(seen.values()), seen


def test_relief_lines_follow_the_track(run):
    counts = dict.fromkeys(("agreed", "day", "breach", "snap", "progress", "unverified"), 0)
    for variant in ("baseline", "conditional_relief", "engagement", "hardliners",
                    "irgc_overrules"):
        for seed in range(24):
            model = run(variant, seed)
            cs = model.compiled
            t = cs.track_ids.index("relief")
            party = int(cs.TP[t, L.T_PARTY])
            for month, d in model.decided.items():
                ts0, ts1 = model.before[month]["TS"][t], d["TS"][t]
                text = "\n".join(e.text for e in model.story if e.month == month)
                agreed = d["DT"][t, L.DT_DEAL] >= 0.5
                implementing = ts0[L.TS_IMPLEMENTING] >= 0.5 or agreed
                day = implementing and ts1[L.TS_ACTIVE] >= 0.5
                breach = (implementing and not day
                          and ts1[L.TS_BREACHES] > ts0[L.TS_BREACHES])
                snap = ts0[L.TS_ACTIVE] >= 0.5 and ts1[L.TS_ACTIVE] < 0.5
                progress = (implementing and not day and not breach
                            and ts1[L.TS_IMPLEMENTING] >= 0.5 and ts1[L.TS_CLEAN] > 0)
                unverified = (implementing and not day and not breach
                              and ts1[L.TS_IMPLEMENTING] >= 0.5 and ts1[L.TS_CLEAN] == 0)
                assert ("agrees a relief deal" in text) == agreed, (variant, seed, month)
                assert ("Implementation Day" in text) == day
                assert ("while it is being implemented" in text) == breach
                assert ("snap back" in text) == snap
                assert ("verified for month" in text) == progress
                assert ("cannot be verified" in text) == unverified
                if progress:
                    assert f"verified for month {ts1[L.TS_CLEAN]:.0f} of " in text
                if snap:
                    for i in np.nonzero(cs.TM[t])[0]:
                        assert f"{cs.actor_names[i]} to {d['SANC'][i, party]:.2f}" in text
                if agreed:
                    deal = next(e for e in model.story if e.month == month
                                and "agrees a relief deal" in e.text)
                    assert f"{100 * d['TS'][t, L.TS_TERMS]:.0f}% of sanctions" in deal.text
                    assert deal.reasons == (
                        Reason("relief priority", model.before[month]["SA"][party, L.S_PRIO]),
                        Reason("trust", ts0[L.TS_TRUST]))
                for key, happened in (("agreed", agreed), ("day", day), ("breach", breach),
                                      ("snap", snap), ("progress", progress),
                                      ("unverified", unverified)):
                    counts[key] += happened
    assert all(counts.values()), counts


def test_halts_are_told_when_ordered_and_defiance_when_it_ships(run):
    found = 0
    for variant in ("conditional_relief", "engagement", "baseline", "hardliners"):
        for seed in range(24):
            model = run(variant, seed)
            halted_before = False
            for month, d in model.decided.items():
                halt = bool((d["DW"][:, L.DW_HALT] >= 0.5).any())
                lines = [e for e in model.story if e.month == month and e.kind == "halt"]
                assert len(lines) == int(halt and not halted_before), (variant, seed, month)
                for e in lines:
                    defied = bool((d["DW"][:, L.DW_DEFIED] >= 0.5).any())
                    assert ("defies the order" in e.text) == defied
                    sup = int(d["RP"][np.nonzero(d["DW"][:, L.DW_HALT])[0][0], L.R_SUPPLIER])
                    assert e.text.startswith(f"{model.compiled.actor_names[sup]}'s government")
                    assert e.reasons == (Reason("government's control",
                                                d["AP"][sup, L.A_CONTROL]),)
                    found += 1
                halted_before = halt
    assert found


def test_story_frame_and_text_carry_the_reasons(run):
    model = run("baseline", 0)
    frame = model.story_frame()
    assert list(frame.columns) == ["month", "kind", "text", "reasons"]
    assert list(frame["reasons"]) == [e.why for e in model.story]
    assert (frame["reasons"] != "").any() and (frame["reasons"] == "").any()
    assert set(frame["kind"]) <= {
        "event", "threat", "transfer", "restraint", "halt", "sanctions", "back-down",
        "compliance", "deal", "implementation", "breach", "ceasefire", "war", "production"}
    plain = model.story_text(reasons=False).splitlines()
    full = model.story_text().splitlines()
    assert len(plain) == len(full) == len(model.story)
    for e, a, b in zip(model.story, plain, full, strict=True):
        assert a == f"Month {e.month}: {e.text}" and "(why:" not in a
        assert b == (f"{a} (why: {e.why})" if e.reasons else a)


def test_reasons_read_in_plain_words():
    assert str(Reason("need", 1.6)) == "need 1.60"
    assert str(Reason("threat cost", -0.0612)) == "threat cost -0.06"
    assert str(Reason("cost to NATO", 0.0018, "%")) == "cost to NATO 0.0018% of GDP"
    assert str(Reason("audience cost of backing down", 0.5, "%")) == \
        "audience cost of backing down 0.50% of GDP"
    assert str(Reason("stalemate", 8.0, "months")) == "stalemate 8 months"
    ev = StoryEvent(3, "transfer", "Iran ships 1 ballistic missile to Russia",
                    (Reason("need", 1.6), Reason("propensity", -1.5)))
    assert ev.why == "need 1.60, propensity -1.50"
    assert str(ev) == ("Month 3: Iran ships 1 ballistic missile to Russia "
                       "(why: need 1.60, propensity -1.50)")
