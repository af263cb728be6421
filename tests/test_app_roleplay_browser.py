"""Role-play and the real-record overlay in a real browser (headless Chromium via Playwright).

One ``diplosim ui`` server and one browser for the module, as in ``test_app_browser.py``:
a student plays Iran for a few months and sees the comparison with the model's runs; a room
with two seats (two browser contexts: two students) advances when both have answered; the
hindcast's charts overlay the observed record with its sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import skip_without_a_browser

import sim

pytestmark = pytest.mark.browser

skip_without_a_browser()

from playwright.sync_api import Page, expect  # noqa: E402

TIMEOUT_MS = 45_000
expect.set_options(timeout=TIMEOUT_MS)


def _open(browser, app_url: str) -> Page:
    """A new student: a browser context of its own with the app loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    expect(page.get_by_text("Step: 0", exact=True)).to_be_visible(timeout=90_000)
    return page


@pytest.fixture(scope="module")
def page(browser, app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """One student's page for the module's tests, in their order (loading a page costs
    seconds): the role-play tests close their rooms, the overlay test comes last."""
    pg = _open(browser, app_url)
    yield pg
    pg.screenshot(path=str(tmp_path_factory.mktemp("shots") / "roleplay.png"))
    pg.context.close()


def _click_until(button, done, tries: int = 4) -> None:
    """Click ``button`` until ``done`` (a locator) is visible.

    A button drawn a moment ago may not listen yet: the browser shows a new widget before its
    click handler is attached, and Playwright clicks at once (a person never does).
    """
    for _ in range(tries - 1):
        button.click()
        try:
            expect(done).to_be_visible(timeout=3_000)
            return
        except AssertionError:
            continue
    button.click()
    expect(done).to_be_visible()


def _take_seat(page: Page, actor: str):
    room = page.locator(".roleplay")
    _click_until(room.locator(".roleplay-seat").get_by_role("button", name=actor, exact=True),
                 room.get_by_text(f"You play {actor}.", exact=False))
    return room


def _answer(room, key: str, answer: str, month: int) -> None:
    """Answer one question of ``month`` (once the page shows that month's questions)."""
    expect(room.locator(".roleplay-submit")).to_have_text(
        re.compile(rf"Submit my decisions for month {month}$", re.I))
    question = room.locator(f".choice-{key}")
    _click_until(question.get_by_role("button", name=answer, exact=True),
                 question.locator(".answer-chosen", has_text=re.compile(answer, re.I)))


def _status(room, month: int):
    expect(room.locator(".roleplay-status")).to_contain_text(re.compile(
        rf"month {month} of \d+"))


def test_a_student_plays_iran_and_sees_the_comparison(page: Page) -> None:
    room = page.locator(".roleplay")
    room.get_by_role("button", name="Open a room").click()
    expect(room.locator(".roleplay-status")).to_contain_text(re.compile(r"^Room [A-Z2-9]{5} "))
    _take_seat(page, "Iran")
    drones = room.locator(".choice-ship-iran-russia-drones")
    model = sim.DiplomacyModel("baseline", seed=7)  # the page's scenario and seed
    model.open_month()
    choice = next(c for c in model.choices("IRN") if c.key == "ship:iran_russia_drones")
    expect(drones).to_contain_text(choice.question)
    expect(drones).to_contain_text(f"the model's chance of choosing to ship: {choice.chance:.2f}")
    expect(drones).to_contain_text("what the model weighs: " + ", ".join(
        f"{r.term} {r.value:.2f}" for r in choice.reasons[:2]))
    for month in (1, 2, 3):
        _answer(room, "ship-iran-russia-drones", "hold", month)
        room.locator(".roleplay-submit").click()
    _status(room, 4)
    story = room.locator(".roleplay-story")
    expect(story.locator(".story-line", has_text=re.compile(
        r"^Month 3: Iran is played: asked .Ship \d+ Shahed drones to Russia this month\?., "
        r"the player chooses to hold"))).to_have_count(1)
    room.get_by_role("button", name="Model plays to the end").click()
    expect(room.locator(".roleplay-status")).to_contain_text("the run is over")
    room.get_by_role("button", name="Compare with 1,000 model runs").click()
    verdicts = room.locator(".verdicts li")
    expect(verdicts.first).to_be_visible()
    expect(room.locator(".verdicts")).to_contain_text(re.compile(
        r"Relief deal .*: in your run it (did not happen|happened); it happened in "
        r"\d+% of model runs\."))
    with page.expect_download() as download:
        room.get_by_role("button", name="Download the room").click()
    record = Path(download.value.path()).read_text()
    assert '"IRN": {' in record and '"ship:iran_russia_drones": "hold"' in record
    room.get_by_role("button", name="Close the room").click()
    expect(room.get_by_role("button", name="Open a room")).to_be_visible()


def test_a_room_of_two_advances_when_both_have_answered(page: Page, browser,
                                                        app_url: str) -> None:
    """Two students (two browser contexts); the first opened the room (the teacher)."""
    teacher = page.locator(".roleplay")
    teacher.get_by_role("button", name="Open a room").click()
    status = teacher.locator(".roleplay-status")
    expect(status).to_contain_text("month 1 of 36")
    code = re.match(r"Room (\w+) ", status.inner_text()).group(1)
    _take_seat(page, "Iran")
    other = _open(browser, app_url)
    try:
        room = other.locator(".roleplay")
        room.locator(".roleplay-code-input input").fill(code.lower())
        room.get_by_role("button", name="Join").click()
        _take_seat(other, "United States")
        expect(teacher.locator(".roleplay-waiting")).to_have_text(
            "Waiting for: Iran, United States")
        teacher.locator(".roleplay-submit").click()
        expect(room.locator(".roleplay-waiting")).to_have_text("Waiting for: United States")
        _status(room, 1)
        room.locator(".roleplay-submit").click()
        _status(room, 2)
        _status(teacher, 2)  # the other page follows without a click
        expect(teacher.locator(".roleplay-waiting")).to_have_text(
            "Waiting for: Iran, United States")
        teacher.get_by_role("button", name="Close the room").click()
        expect(room.get_by_text(f"Room {code} has been closed.")).to_be_visible()
    finally:
        other.context.close()


def test_the_hindcast_overlays_the_record_with_its_sources(page: Page) -> None:
    page.get_by_role("button", name="Scenario baseline").click()
    page.get_by_role("option", name="hindcast_2022").click()
    overlay = page.locator(".record-overlay")
    expect(overlay).to_contain_text("Overlay the real record (2022-2025)")
    charts = page.locator(".run-charts")
    expect(charts).to_have_attribute("data-record", "0")
    overlay.get_by_role("switch").check(force=True)  # Vuetify's ripple covers the input
    # the rows mapped to a panel: 3 first deliveries, 6 rounds on Iran, 2 growths, 2 absences
    expect(charts).to_have_attribute("data-record", "13")
    for _ in range(2):
        page.get_by_role("button", name="Step", exact=True).click()
    expect(charts).to_have_attribute("data-months", "2")
    deliveries = page.locator('.run-chart[data-panel="deliveries"]')
    deliveries.scroll_into_view_if_needed()
    box = deliveries.bounding_box()
    # The record's row of month 26 (Iranian missiles delivered) is alone at its month (the
    # run is at month 2): hover there (the grid spans 40 px to 10 px before the right edge).
    x = 40 + (box["width"] - 50) * 26 / 41
    deliveries.hover(position={"x": x, "y": box["height"] - 40})
    expect(deliveries).to_contain_text("observed: 2024-09: US Secretary of State Blinken: "
                                       "Russia has received shipments of Iranian Fath-360")
    expect(deliveries).to_contain_text("Source: US Secretary of State A. Blinken")
