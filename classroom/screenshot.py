"""Make the README's screenshots of the classroom app: ``python -m classroom.screenshot``.

Starts ``diplosim ui`` on a free loopback port, opens it in headless Chromium (Debian's
package, through Playwright) and saves, under ``docs/figures/`` by default:

* ``classroom-app.png``: the baseline run stepped to month 14, with 1,000 futures;
* ``classroom-branches.png``: two what-if branches forked at month 12 and their futures side by
  side;
* ``classroom-share.png``: a what-if reopened from its link (another browser context);
* ``classroom-refusal.png``: a pasted scenario that extends a path, refused;
* ``classroom-handout.png``: the first page of the printable handout;
* ``classroom-roleplay.png``: a role-play room where a student plays Iran, at month 3;
* ``classroom-record.png``: the hindcast run at month 14 with the observed record overlaid.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from classroom.serve import free_port, launch_chromium, stop, wait_until_up

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "docs" / "figures"
MONTHS = 14
SHOTS = ("app", "branches", "share", "refusal", "handout", "roleplay", "record")


def _step_to(page, months: int, start: int = 0) -> None:
    from playwright.sync_api import expect

    for k in range(start + 1, months + 1):
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.get_by_text(f"Step: {k}", exact=True)).to_be_visible()


def make_screenshots(out_dir: Path, months: int = MONTHS, only: tuple[str, ...] = SHOTS,
                     width: int = 1440) -> list[Path]:
    """Serve the app, drive it to each state and save the screenshots into ``out_dir``."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    out_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    written: list[Path] = []
    with tempfile.TemporaryFile("w+") as log, tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from sim.cli import main; "
                                 "sys.exit(main())", "ui", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, timeout=300, proc=proc)
            with sync_playwright() as p:
                browser = launch_chromium(p)

                def new_page(height: int = 2300, address: str = url):
                    ctx = browser.new_context(viewport={"width": width, "height": height},
                                              accept_downloads=True)
                    page = ctx.new_page()
                    page.set_default_timeout(120_000)
                    page.goto(address)
                    expect(page.locator(".step-counter")).to_be_visible()
                    return page

                def shot(page, name: str, **kwargs) -> None:
                    path = out_dir / f"classroom-{name}.png"
                    page.screenshot(path=str(path), **kwargs)
                    written.append(path)

                if "app" in only:
                    page = new_page()
                    _step_to(page, months)
                    page.get_by_role("button", name="Run 1,000 futures").click()
                    expect(page.locator(".fan-chart canvas")).to_have_count(1)
                    shot(page, "app", clip={"x": 0, "y": 0, "width": width, "height": 2200})
                if "branches" in only or "share" in only:
                    page = new_page()
                    _step_to(page, 12)
                    branches = page.locator(".branches")
                    for policy in ("maximum_pressure", "engagement"):
                        branches.get_by_role("button", name="Switch to policy").click()
                        page.get_by_role("option", name=policy).click()
                        branches.get_by_role("button", name="Add branch").click()
                    branches.get_by_role("button", name="Compare 1,000 futures of each").click()
                    expect(branches.locator(".branch-fan canvas")).to_have_count(3)
                    branches.scroll_into_view_if_needed()
                    if "branches" in only:
                        box = branches.bounding_box()
                        shot(page, "branches", clip={"x": box["x"] - 8, "y": box["y"] - 8,
                                                     "width": box["width"] + 16,
                                                     "height": box["height"] + 16})
                    if "share" in only:
                        share = page.locator(".share")
                        share.get_by_role("button", name="Make a link").click()
                        href = share.locator(".whatif-link").get_attribute("href")
                        other = new_page(height=1300, address=url + href)
                        expect(other.get_by_text("What-if reopened", exact=False)
                               ).to_be_visible()
                        expect(other.get_by_text("Step: 12", exact=True)).to_be_visible()
                        shot(other, "share")
                if "refusal" in only:
                    page = new_page(height=1300)
                    page.locator(".scenario-editor textarea").fill(
                        'extends = "/etc/passwd"\n[actors.NATO]\ncohesion = 0.9\n')
                    page.get_by_role("button", name="Use this scenario").click()
                    expect(page.locator(".upload .diplosim-error")).to_be_visible()
                    page.locator(".upload").scroll_into_view_if_needed()
                    shot(page, "refusal")
                if "handout" in only:
                    page = new_page()
                    _step_to(page, months)
                    with page.expect_download() as info:
                        page.get_by_text("Printable handout (.html)").click()
                    handout = Path(tmp) / "handout.html"
                    info.value.save_as(handout)
                    ctx = browser.new_context(viewport={"width": 900, "height": 1300})
                    view = ctx.new_page()
                    view.goto(handout.as_uri())
                    shot(view, "handout")
                if "roleplay" in only:
                    page = new_page()
                    room = page.locator(".roleplay")
                    room.get_by_role("button", name="Open a room").click()
                    expect(room.locator(".roleplay-status")).to_be_visible()
                    page.wait_for_timeout(1000)  # new buttons listen a moment after they show
                    room.locator(".roleplay-seat").get_by_role(
                        "button", name="Iran", exact=True).click()
                    for month, answer in ((1, "hold"), (2, "ship")):
                        submit = room.get_by_role(
                            "button", name=f"Submit my decisions for month {month}")
                        expect(submit).to_be_visible()
                        page.wait_for_timeout(1000)
                        room.locator(".choice-ship-iran-russia-drones").get_by_role(
                            "button", name=answer, exact=True).click()
                        expect(room.locator(".choice-ship-iran-russia-drones .answer-chosen")
                               ).to_be_visible()
                        submit.click()
                    expect(room.get_by_role("button", name="Submit my decisions for month 3")
                           ).to_be_visible()
                    room.scroll_into_view_if_needed()
                    box = room.bounding_box()
                    shot(page, "roleplay", clip={"x": box["x"] - 8, "y": box["y"] - 8,
                                                 "width": box["width"] + 16,
                                                 "height": min(box["height"], 1100) + 16})
                if "record" in only:
                    page = new_page(height=1600)
                    page.get_by_role("button", name="Scenario baseline").click()
                    page.get_by_role("option", name="hindcast_2022").click()
                    overlay = page.locator(".record-overlay")
                    overlay.get_by_role("switch").check(force=True)
                    expect(page.locator(".run-charts")).not_to_have_attribute("data-record", "0")
                    _step_to(page, months)
                    run = page.locator(".run")
                    run.scroll_into_view_if_needed()
                    pressure = page.locator('.run-chart[data-panel="pressure"]')
                    pbox = pressure.bounding_box()
                    # The EU's drone sanctions of 2023-07 (month 12 of 41): their tooltip.
                    pressure.hover(position={"x": 40 + (pbox["width"] - 50) * 12 / 41,
                                             "y": pbox["height"] - 40})
                    expect(pressure).to_contain_text("observed")
                    box = run.bounding_box()
                    shot(page, "record", clip={"x": box["x"] - 8, "y": box["y"] - 8,
                                               "width": box["width"] + 16,
                                               "height": box["height"] + 16})
                browser.close()
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read())
            raise
        finally:
            stop(proc)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m classroom.screenshot [--out-dir DIR] [--only NAME ...]``."""
    parser = argparse.ArgumentParser(prog="python -m classroom.screenshot",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_DIR,
                        help=f"folder of the PNG files (default {DEFAULT_DIR})")
    parser.add_argument("--months", type=int, default=MONTHS,
                        help=f"months to step before the main shot (default {MONTHS})")
    parser.add_argument("--only", nargs="+", choices=SHOTS, default=list(SHOTS),
                        help="which screenshots (default: all)")
    args = parser.parse_args(argv)
    if not 0 <= args.months <= 36:
        parser.error("--months must be from 0 to 36")
    for path in make_screenshots(args.out_dir, args.months, tuple(args.only)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
