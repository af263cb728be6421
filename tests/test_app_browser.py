"""The classroom app in a real browser: headless Chromium (Debian's package, driven by
Playwright with ``executable_path``) against ``diplosim ui`` started by the test on a free
loopback port. Each test saves a screenshot of the page under its ``tmp_path``.

Skipped, with the reason shown in ``pytest -ra``, when no Chromium is installed or the app's
extras (solara, playwright) are missing; ``.ci/run`` installs Chromium so CI runs them.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import skip_without_a_browser

import sim
from sim.results.table import estimate_text

pytestmark = pytest.mark.browser

skip_without_a_browser()

from playwright.sync_api import Page, expect  # noqa: E402

TIMEOUT_MS = 45_000  # generous: the machine running the tests may be busy
#: The baseline's missile detection as the page shows it (a calibrated value).
MISSILE_DETECTION = f'{sim.load_scenario("baseline").spec.categories["missiles"].detection:g}'
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def frames() -> list[str]:
    """The text frames the page received on its websocket (the server's messages)."""
    return []


@pytest.fixture
def page(browser, app_url: str, tmp_path: Path, request: pytest.FixtureRequest,
         frames: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1600},
                                  accept_downloads=True)
    pg = context.new_page()
    pg.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
        f if isinstance(f, str) else "")))
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(app_url)
    expect(pg.get_by_text("Step: 0", exact=True)).to_be_visible(timeout=90_000)
    yield pg
    pg.screenshot(path=str(tmp_path / f"{request.node.name}.png"))
    context.close()


def _step(page: Page, times: int, start: int) -> None:
    for k in range(start + 1, start + times + 1):
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.get_by_text(f"Step: {k}", exact=True)).to_be_visible()


def _story_line(page: Page, month: int, text: str):
    return page.locator(".story-line", has_text=re.compile(rf"^Month {month}: {text}"))


def test_page_loads_with_the_baseline(page: Page) -> None:
    expect(page.get_by_text("Baseline 2024: Iranian and North Korean arms to Russia")
           ).to_be_visible()
    expect(page.get_by_text("Iran supplies Russia with drones", exact=False)).to_be_visible()
    expect(page.get_by_text("What to notice")).to_be_visible()
    expect(page.get_by_text("Iran and Russia draw closer", exact=False)).to_be_visible()
    expect(page.get_by_text("Raise EU cohesion to 1.0", exact=False)).to_be_visible()
    expect(page.get_by_text("Month 0 of 36 (start)")).to_be_visible()
    missile = page.locator(".control-categories-missiles-detection")
    expect(missile).to_contain_text("Missile detection")
    expect(missile).to_contain_text("chance per month that a shipment is exposed; range 0 to 1")
    expect(missile.locator("input[type=text]")).to_have_value(MISSILE_DETECTION)
    expect(page.locator(".control-actors-USA-warning")).to_contain_text("US has warned")
    expect(page.locator(".control-seed input[type=text]")).to_have_value("7")
    expect(page.locator(".network canvas")).to_have_count(1)  # drawn in the browser
    expect(page.locator(".run-chart canvas")).to_have_count(6)
    expect(page.locator(".run-charts")).to_have_attribute("data-months", "0")
    expect(page.get_by_text("Nothing has happened yet", exact=False)).to_be_visible()


def test_stepping_advances_the_month_and_the_story(page: Page, frames: list[str]) -> None:
    loaded = len(frames)
    _step(page, 1, 0)
    # The charts grow by one point: the server sent that month's figures, not pictures.
    expect(page.locator(".run-charts")).to_have_attribute("data-months", "1")
    step = frames[loaded:]
    appends = [f for f in step if '"method": "append"' in f]
    assert len(appends) == 1 and len(appends[0]) < 3000, [len(f) for f in appends]
    assert not any("image/png" in f for f in step)
    # One line for each route Iran ships on in month 1 of the same run (seed 7).
    first = sim.DiplomacyModel("baseline", seed=7).run(1).story
    shipped = [e for e in first if e.month == 1 and e.text.startswith("Iran ships")]
    assert shipped
    expect(_story_line(page, 1, "Iran ships")).to_have_count(len(shipped))
    # Under each decision, its reasons: the largest terms of Iran's utility for a shipment.
    whys = [f"why: {e.why}" for e in first if e.why]
    assert any(w.startswith("why: need ") for w in whys)
    expect(page.locator(".story-why")).to_have_count(len(whys))
    for why in whys:
        expect(page.locator(".story-why", has_text=why).first).to_be_visible()
    expect(page.get_by_text("Month 1 of 36 (2024-01)")).to_be_visible()
    _step(page, 2, 1)
    expect(page.get_by_text("Month 3 of 36 (2024-03)")).to_be_visible()
    expect(page.locator(".run-charts")).to_have_attribute("data-months", "3")
    third = sim.DiplomacyModel("baseline", seed=7).run(3).story
    iran = [e for e in third if e.month == 3 and e.text.startswith("Iran ")]
    assert iran  # a shipment or a restraint: Iran decides every month
    expect(_story_line(page, 3, re.escape(iran[0].text[:40])).first).to_be_visible()

    page.get_by_role("button", name="Play", exact=True).click()
    # At least month 5: on a busy machine the page may show months 4 and 6 but never 5.
    expect(page.locator(".step-counter")).to_have_text(re.compile(r"^Step: ([5-9]|[1-3]\d)$"))
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    counter = page.locator(".step-counter")
    paused_at = counter.inner_text()
    time.sleep(1.5)
    assert counter.inner_text() == paused_at, "the run kept going after Pause"
    assert int(paused_at.split()[-1]) >= 5

    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_text("Step: 0", exact=True)).to_be_visible()
    expect(page.get_by_text("Nothing has happened yet", exact=False)).to_be_visible()


def _drone_lines(detection: float, months: int = 2) -> list[str]:
    """The drone lines of the page's run (baseline, seed 7) with that drone detection."""
    scn = sim.load_scenario("baseline").with_overrides({"categories.drones.detection": detection})
    model = sim.DiplomacyModel(scn, seed=7).run(months)
    return [f"Month {e.month}: {e.text}" for e in model.story
            if e.kind in ("transfer", "restraint") and "Shahed drone" in e.text]


def _expect_story(page: Page, lines: list[str]) -> None:
    for line in lines:
        expect(page.locator(".story-line", has_text=line)).to_have_count(1)


def test_slider_change_changes_the_run(page: Page) -> None:
    _step(page, 2, 0)
    default, exposed, hidden = _drone_lines(0.25), _drone_lines(1.0), _drone_lines(0.0)
    # The three settings tell different stories: every drone shipment exposed (at full
    # detection Iran is deterred and holds back), or none.
    assert default != exposed and default != hidden
    assert any(" ships " in line for line in default + hidden)
    assert all("detected and made public" in line for line in exposed if " ships " in line)
    assert all("detected" not in line for line in hidden)
    _expect_story(page, default)

    drones = page.locator(".control-categories-drones-detection")
    drones.get_by_role("slider").focus()
    page.keyboard.press("End")  # the slider's maximum: any drone shipment would be exposed
    expect(drones.locator("input[type=text]")).to_have_value("1")
    _expect_story(page, exposed)
    expect(page.get_by_text("Step: 2", exact=True)).to_be_visible()  # replayed to month 2

    page.keyboard.press("Home")
    expect(drones.locator("input[type=text]")).to_have_value("0")
    _expect_story(page, hidden)
    expect(page.locator(".story-line", has_text=re.compile(r"Shahed drones?.* detected"))
           ).to_have_count(0)


def test_run_1000_futures_shows_probabilities(page: Page, numba_kernel) -> None:
    res = sim.run_ensemble(sim.load_scenario("baseline"), runs=1000, seed=7)
    table = res.outcome_table().set_index("outcome")
    relief = estimate_text("probability", table.loc["relief_reached", "estimate"])
    ceasefire = estimate_text("probability", table.loc["ceasefire_reached", "estimate"])

    page.get_by_role("button", name="Run 1,000 futures").click()
    expect(page.get_by_text(re.compile(r"^1,000 futures, seed 7, in [0-9.]+ s$"))).to_be_visible()
    shown = page.locator(".futures-table")
    relief_row = shown.locator("tr", has_text=table.loc["relief_reached", "label"])
    expect(relief_row).to_contain_text(relief)
    expect(shown.locator("tr", has_text=table.loc["ceasefire_reached", "label"])
           ).to_contain_text(ceasefire)
    expect(relief_row).to_contain_text(re.compile(r"\[\d+\.\d%, \d+\.\d%\]"))
    # Every other row of the outcome table (as ``diplosim run`` prints it) is one click away.
    more = page.locator(".futures-table-more")
    page.get_by_text(re.compile(r"^Other outcomes \(\d+\)$")).click()
    expect(more.locator("tr", has_text="Final war balance")).to_be_visible()
    rows = page.locator(".futures-table tr, .futures-table-more tr")
    expect(rows).to_have_count(len(table) + 2)  # and a header row each
    expect(page.locator(".fan-chart canvas")).to_have_count(1)  # the fan chart
    expect(page.get_by_text("Futures: outcomes with CIs (.csv)")).to_be_visible()


def test_bad_value_shows_an_error_beside_the_control(page: Page) -> None:
    missile = page.locator(".control-categories-missiles-detection")
    field = missile.locator("input[type=text]")
    field.fill("1.5")
    field.press("Enter")
    expect(missile.locator(".diplosim-error")).to_contain_text(
        "Not applied: Input should be less than or equal to 1 (got 1.5). The run keeps "
        f"{MISSILE_DETECTION}.")
    seed = page.locator(".control-seed")
    seed.locator("input[type=text]").fill("seven")
    seed.locator("input[type=text]").press("Enter")
    expect(seed.locator(".diplosim-error")).to_contain_text("whole number")
    _step(page, 1, 0)  # the page keeps working with the last valid settings
    field.fill("0.6")
    field.press("Enter")
    expect(missile.locator(".diplosim-error")).to_have_count(0)


def test_download_settings_as_a_scenario_file(page: Page, tmp_path: Path) -> None:
    nato = page.locator(".control-actors-NATO-cohesion input[type=text]")
    nato.fill("0.95")
    nato.press("Enter")
    expect(nato).to_have_value("0.95")
    with page.expect_download() as info:
        page.get_by_text("Settings as a scenario file (.toml)").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    scn = sim.load_scenario(path)
    expected = sim.load_scenario("baseline").with_overrides({"actors.NATO.cohesion": 0.95})
    assert scn.content_hash() == expected.content_hash()


def test_scenario_and_policy_pickers(page: Page) -> None:
    page.get_by_role("button", name="Policy overlay (none)").click()
    page.get_by_role("option", name="maximum_pressure").click()
    step = page.locator(".control-actors-USA-escalation-step input[type=text]")
    expect(step).to_have_value("0.3")  # the overlay's doctrine
    expect(page.get_by_text("Policy maximum_pressure applied", exact=False)).to_be_visible()
    page.get_by_role("button", name="Scenario baseline").click()
    page.get_by_role("option", name="split_nato_leaky_brics").click()
    expect(page.get_by_text("What-if: a split NATO and a leaky BRICS")).to_be_visible()
    expect(page.locator(".control-actors-NATO-cohesion input[type=text]")).to_have_value("0.35")
    expect(step).to_have_value("0.3")  # the policy stays applied on the new scenario


def test_typed_scenario_is_validated_and_a_path_extends_refused(page: Page) -> None:
    # One page for both: a refused scenario leaves the page as it was.
    editor = page.locator(".scenario-editor textarea")
    error = page.locator(".upload .diplosim-error")
    editor.fill('extends = "/etc/passwd"\n[actors.NATO]\ncohesion = 0.9\n')
    page.get_by_role("button", name="Use this scenario").click()
    expect(error).to_contain_text("edited.toml: extends: may only name a bundled scenario "
                                  f"(known: {', '.join(sim.list_scenarios())}), not a path")
    expect(error).not_to_contain_text("root")  # nothing of the file is echoed
    expect(page.get_by_text("Baseline 2024: Iranian and North Korean arms to Russia")
           ).to_be_visible()
    bad = 'extends = "baseline"\n[actors.NATO]\ncohesion = 2.0\n'
    editor.fill(bad)
    page.get_by_role("button", name="Use this scenario").click()
    expect(error).to_contain_text(
        "edited.toml: actors.NATO.cohesion: Input should be less than or equal to 1 (got 2.0)")
    expect(page.get_by_text("Baseline 2024: Iranian and North Korean arms to Russia")
           ).to_be_visible()
    expect(page.locator(".control-actors-NATO-cohesion input[type=text]")).not_to_have_value(
        "0.9")  # the refused path's value was not applied either
    editor.fill(bad.replace("2.0", "0.2"))
    page.get_by_role("button", name="Use this scenario").click()
    expect(page.locator(".control-actors-NATO-cohesion input[type=text]")).to_have_value("0.2")
    expect(error).to_have_count(0)


def test_branches_side_by_side(page: Page, numba_kernel) -> None:
    _step(page, 3, 0)
    branches = page.locator(".branches")
    branches.get_by_role("button", name="Switch to policy (none)").click()
    page.get_by_role("option", name="maximum_pressure").click()
    branches.get_by_role("button", name="Add branch").click()
    expect(branches.locator(".branch-item")).to_have_text(
        re.compile(r"^A: from month 4, policy maximum_pressure"))
    branches.get_by_role("button", name="Compare 1,000 futures of each").click()
    expect(branches.locator(".branches-done")).to_have_text(
        "Futures from month 3, seed 7, 1,000 runs each")
    table = branches.locator(".branches-table")
    expect(table.locator("tr").first).to_have_text(re.compile(r"outcome\s*as it is\s*A"))
    scn = sim.load_scenario("baseline")
    for col, s in enumerate((scn, sim.branch_scenario(scn, 3, policy="maximum_pressure"))):
        t = sim.run_ensemble(s, runs=1000, seed=7).outcome_table().set_index("outcome")
        for outcome in ("gdp_index_IRN", "any_escalations"):
            row = t.loc[outcome]
            cell = table.locator("tr", has_text=row["label"]).locator("td").nth(col + 1)
            expect(cell).to_contain_text(estimate_text(row["kind"], row["estimate"]))
    expect(branches.locator(".branch-fan canvas")).to_have_count(2)  # side by side


def _drop_file(page: Page, selector: str, name: str, text: str) -> None:
    """Drop a file on Solara's FileDrop (which has no file input) as a user would."""
    page.locator(selector).evaluate(
        """(el, [name, text]) => {
            // A dropped file as the browser gives it (a file system entry of the file).
            const file = new File([text], name, {type: "application/json"});
            const item = {webkitGetAsEntry: () => ({isFile: true, file: (ok) => ok(file)})};
            const drop = new Event("drop", {bubbles: true, cancelable: true});
            Object.defineProperty(drop, "dataTransfer", {value: {items: [item]}});
            el.dispatchEvent(drop);
        }""", [name, text])


def test_share_and_reopen(page: Page, browser, app_url: str, tmp_path: Path) -> None:
    nato = page.locator(".control-actors-NATO-cohesion input[type=text]")
    nato.fill("0.95")
    nato.press("Enter")
    expect(nato).to_have_value("0.95")
    _step(page, 2, 0)
    story = page.locator(".story-line").all_inner_texts()
    share = page.locator(".share")
    share.get_by_role("button", name="Make a link").click()
    href = share.locator(".whatif-link").get_attribute("href")
    assert href and href.startswith("?whatif=")
    with page.expect_download() as info:
        share.get_by_text("This what-if (.json)").click()
    saved = tmp_path / "whatif.json"
    info.value.save_as(saved)

    for how in ("link", "file"):
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        other = context.new_page()
        other.set_default_timeout(TIMEOUT_MS)
        if how == "link":
            other.goto(app_url + href)
        else:
            other.goto(app_url)
            expect(other.get_by_text("Step: 0", exact=True)).to_be_visible(timeout=90_000)
            _drop_file(other, ".share .solara-file-drop", "whatif.json",
                       saved.read_text())
        expect(other.get_by_text("Step: 2", exact=True)).to_be_visible(timeout=90_000)
        expect(other.get_by_text("What-if reopened: baseline, seed 7, month 2")).to_be_visible()
        expect(other.locator(".control-actors-NATO-cohesion input[type=text]")
               ).to_have_value("0.95")
        expect(other.locator(".run-charts")).to_have_attribute("data-months", "2")
        assert other.locator(".story-line").all_inner_texts() == story
        other.screenshot(path=str(tmp_path / f"reopened-{how}.png"))
        context.close()
    with page.expect_download() as info:
        page.get_by_text("Printable handout (.html)").click()
    handout = tmp_path / "handout.html"
    info.value.save_as(handout)
    text = handout.read_text()
    assert "<h2>Questions</h2>" in text
    assert html.escape(story[0].split(": ", 1)[1]) in text  # the story, without the month
