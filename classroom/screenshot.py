"""Make the README's screenshot of the classroom app: ``python -m classroom.screenshot``.

Starts ``diplosim ui`` on a free loopback port, opens it in headless Chromium (Debian's
package, through Playwright), steps the baseline run to month 14, runs 1,000 futures and saves
the page as a PNG (default ``docs/figures/app.png``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from classroom.serve import free_port, launch_chromium, stop, wait_until_up

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "figures" / "app.png"
MONTHS = 14


def make_screenshot(out: Path, months: int = MONTHS, width: int = 1440,
                    height: int = 2560) -> Path:
    """Serve the app, drive it to an informative state and save a screenshot to ``out``."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=90_000)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from sim.cli import main; "
                                 "sys.exit(main())", "ui", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, timeout=300, proc=proc)
            with sync_playwright() as p:
                browser = launch_chromium(p)
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(90_000)
                page.goto(url)
                expect(page.get_by_text("Step: 0", exact=True)).to_be_visible()
                for k in range(1, months + 1):
                    page.get_by_role("button", name="Step", exact=True).click()
                    expect(page.get_by_text(f"Step: {k}", exact=True)).to_be_visible()
                page.get_by_role("button", name="Run 1,000 futures").click()
                expect(page.locator(".futures img")).to_have_count(1)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
                browser.close()
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read())
            raise
        finally:
            stop(proc)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m classroom.screenshot [--out PATH] [--months N]``."""
    parser = argparse.ArgumentParser(prog="python -m classroom.screenshot",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"PNG to write (default {DEFAULT_OUT})")
    parser.add_argument("--months", type=int, default=MONTHS,
                        help=f"months to step before the shot (default {MONTHS})")
    args = parser.parse_args(argv)
    if not 0 <= args.months <= 600:
        parser.error("--months must be from 0 to 600")
    path = make_screenshot(args.out, args.months)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
