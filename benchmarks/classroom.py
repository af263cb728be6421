"""A class on one server: N headless Chromium pages drive the classroom app at once.

    .venv/bin/python benchmarks/classroom.py            # 30 pages (a class)
    .venv/bin/python benchmarks/classroom.py --pages 5

Starts ``diplosim ui`` on a free loopback port and one headless Chromium (Debian's package,
through Playwright) with one browser context per student. Every page goes through the same
phases at the same time, as a class following the teacher does:

1. load: the students open the page one after another (``--arrive-every``, 1 s), each timed
   until its step counter and charts are drawn;
2. step: three Steps, each timed from the click to the month's point on the charts
   (click-to-chart: the ``data-months`` of the browser's charts);
3. slider: drone detection to its maximum (keyboard End), timed from the key to the charts
   redrawn with the replayed run;
4. futures: half the pages click "Run 1,000 futures" (timed to the outcome table shown) while
   the other half step three more months (click-to-chart while others' long work runs);
5. play: every page presses Play; months per second per page over ``--play-seconds``.

Meanwhile the resident memory (RSS) of the server's process tree is sampled every 0.5 s.
Prints p50/p95 of each timing, Play months/s per page (min, median), peak server memory and
the load average, and writes ``benchmarks/results/classroom-N.json``. The browser runs on the
same machine and cores as the server (and, here, beside other people's work): the figures
are pessimistic for a server whose students browse from their own laptops.

Targets (issue 16): p95 click-to-chart under 1 s, Play at 1 month/s or faster on every page,
server memory under 2 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from classroom.serve import CHROMIUM_ARGS, find_chromium, free_port, stop, wait_until_up  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TIMEOUT_MS = 300_000


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100, nearest rank) of ``values``, None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summary(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p95 and max of a list of seconds."""
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "max": max(values) if values else None}


class Memory(threading.Thread):
    """Samples the RSS of a process and its children every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0
        self.last = 0
        self.done = threading.Event()

    def procs(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> int:
        total = 0
        for proc in self.procs():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the process tree."""
        total = 0.0
        for proc in self.procs():
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.last = self.rss()
            self.peak = max(self.peak, self.last)


async def months(page) -> int:
    return int(await page.locator(".run-charts").get_attribute("data-months") or 0)


async def draws(page) -> int:
    return int(await page.locator(".run-charts").get_attribute("data-draws") or 0)


async def wait_months(page, month: int) -> None:
    await page.wait_for_function(
        "m => Number(document.querySelector('.run-charts')?.dataset.months) >= m", arg=month,
        polling=20, timeout=TIMEOUT_MS)


async def step(page, rec: list[float]) -> None:
    target = await months(page) + 1
    t = time.perf_counter()
    await page.get_by_role("button", name="Step", exact=True).click()
    await wait_months(page, target)
    rec.append(time.perf_counter() - t)


async def student(k: int, browser, url: str, barrier: asyncio.Barrier, rec: dict,
                  play_seconds: float, arrive_every: float, mark) -> None:
    """One student's page through the phases; a phase that fails is counted, not fatal.

    Every page waits at the same barriers whatever happened to it, so the phases stay aligned.
    """
    ctx = await browser.new_context(viewport={"width": 1280, "height": 1300})
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    alive = True

    async def phase(name: str, body) -> None:
        nonlocal alive
        await barrier.wait()
        if k == 0:
            mark(name)
        if not alive:
            return
        try:
            await body()
        except Exception as exc:  # noqa: BLE001 (counted and reported)
            rec["errors"].append(f"page {k}, {name}: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:160]}")
            alive = name != "load"  # a page that did not load sits the rest out

    async def load() -> None:
        await asyncio.sleep(k * arrive_every)  # students arrive one after another
        t = time.perf_counter()
        await page.goto(url, timeout=TIMEOUT_MS)
        await page.get_by_text("Step: 0", exact=True).wait_for()
        await page.wait_for_function(
            "() => Number(document.querySelector('.run-charts')?.dataset.draws) >= 1",
            polling=20, timeout=TIMEOUT_MS)
        rec["load"].append(time.perf_counter() - t)

    async def steps() -> None:
        for _ in range(3):
            await step(page, rec["step"])

    async def slider() -> None:
        before = await draws(page)
        control = page.locator(".control-categories-drones-detection").get_by_role("slider")
        await control.focus()
        t = time.perf_counter()
        await page.keyboard.press("End")
        await page.wait_for_function(
            "n => Number(document.querySelector('.run-charts')?.dataset.draws) > n",
            arg=before, polling=20, timeout=TIMEOUT_MS)
        rec["slider"].append(time.perf_counter() - t)

    async def futures() -> None:
        if k % 2 == 0:
            t = time.perf_counter()
            await page.get_by_role("button", name="Run 1,000 futures").click()
            await page.locator(".futures-done").wait_for()
            rec["futures"].append(time.perf_counter() - t)
        else:
            for _ in range(3):
                await step(page, rec["step_during_futures"])

    async def play() -> None:
        await page.get_by_role("button", name="Play", exact=True).click()
        await asyncio.sleep(2.0)  # past the first month's start
        m0, t0 = await months(page), time.perf_counter()
        await asyncio.sleep(play_seconds)
        m1, t1 = await months(page), time.perf_counter()
        rec["play"].append((m1 - m0) / (t1 - t0))
        await page.get_by_role("button", name="Pause", exact=True).click()

    async def done() -> None:
        pass

    for name, body in (("load", load), ("step", steps), ("slider", slider),
                       ("futures", futures), ("play", play), ("end", done)):
        await phase(name, body)
    await ctx.close()


async def drive(url: str, pages: int, play_seconds: float, arrive_every: float,
                mark) -> dict:
    from playwright.async_api import async_playwright

    rec: dict[str, list[float]] = {k: [] for k in ("load", "step", "slider", "futures",
                                                    "step_during_futures", "play",
                                                    "errors")}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=find_chromium(), headless=True,
                                          args=list(CHROMIUM_ARGS))
        barrier = asyncio.Barrier(pages)
        await asyncio.gather(*(student(k, browser, url, barrier, rec, play_seconds,
                                       arrive_every, mark) for k in range(pages)))
        await browser.close()
    return rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30, help="students (default 30)")
    parser.add_argument("--play-seconds", type=float, default=10.0,
                        help="how long Play is measured (default 10 s)")
    parser.add_argument("--arrive-every", type=float, default=1.0,
                        help="seconds between two students opening the page (default 1)")
    parser.add_argument("--log", type=Path, default=None,
                        help="keep the server's output in this file")
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON (default benchmarks/results/classroom-N.json)")
    args = parser.parse_args(argv)
    if not 1 <= args.pages <= 200:
        parser.error("--pages must be from 1 to 200")
    if find_chromium() is None:
        parser.error("no Chromium: apt-get install chromium (or set DIPLOSIM_CHROMIUM)")
    out = args.out or RESULTS / f"classroom-{args.pages}.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    load_start = os.getloadavg()
    with (args.log.open("w+") if args.log else tempfile.TemporaryFile("w+")) as log:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from sim.cli import main; "
                                 "sys.exit(main())", "ui", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        memory = Memory(proc.pid)
        try:
            wait_until_up(url, timeout=300, proc=proc)
            idle = memory.rss()
            memory.start()
            start, cpu0 = time.perf_counter(), memory.cpu()
            total0 = sum(psutil.cpu_times()[:3])
            marks: list[tuple[str, float, float]] = []

            def mark(name: str) -> None:
                marks.append((name, time.perf_counter(), memory.cpu()))

            rec = asyncio.run(drive(url, args.pages, args.play_seconds, args.arrive_every,
                                    mark))
            wall, server_cpu = time.perf_counter() - start, memory.cpu() - cpu0
            machine_cpu = sum(psutil.cpu_times()[:3]) - total0
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:])
            raise
        finally:
            memory.done.set()
            stop(proc)
    clicks = rec["step"] + rec["slider"] + rec["step_during_futures"]
    result = {
        "pages": args.pages,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_start": load_start, "load_average_end": os.getloadavg()},
        "wall_seconds": wall,
        "load_seconds": summary(rec["load"]),
        "click_to_chart_seconds": summary(clicks),
        "step_seconds": summary(rec["step"]),
        "slider_seconds": summary(rec["slider"]),
        "step_during_futures_seconds": summary(rec["step_during_futures"]),
        "futures_seconds": summary(rec["futures"]),
        "play_months_per_second": {"n": len(rec["play"]), "min": min(rec["play"] or [0]),
                                   "median": statistics.median(rec["play"] or [0]),
                                   "max": max(rec["play"] or [0])},
        "arrive_every_seconds": args.arrive_every,
        "errors": rec["errors"],
        "server_rss_mib": {"idle": idle / 2**20, "peak": memory.peak / 2**20,
                           "end": memory.last / 2**20},
        "server_cpu_by_phase": {a[0]: {"seconds": b[1] - a[1], "server_cpu": b[2] - a[2]}
                                for a, b in zip(marks, marks[1:], strict=False)},
        "cpu_seconds": {"server": server_cpu, "machine": machine_cpu,
                        "available": wall * (os.cpu_count() or 1)},
        "targets": {"p95_click_to_chart_s": 1.0, "play_months_per_s_min": 1.0,
                    "server_rss_mib": 2048},
    }
    result["met"] = {
        "p95_click_to_chart": (result["click_to_chart_seconds"]["p95"] or 0) < 1.0,
        "play_every_page": result["play_months_per_second"]["min"] >= 1.0
        and result["play_months_per_second"]["n"] == args.pages,
        "no_errors": not rec["errors"],
        "server_memory": result["server_rss_mib"]["peak"] < 2048,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    def line(name: str, s: dict) -> str:
        if not s["n"]:
            return f"{name:<34} (none)"
        return f"{name:<34} p50 {s['p50']:.2f} s  p95 {s['p95']:.2f} s  max {s['max']:.2f} s  " \
               f"(n={s['n']})"

    print(f"classroom benchmark: {args.pages} pages, one browser, {wall:.0f} s; load average "
          f"{load_start[0]:.1f} at the start, {result['machine']['load_average_end'][0]:.1f} "
          "at the end")
    print(line(f"page load (one every {args.arrive_every:g} s)", result["load_seconds"]))
    print(line("click-to-chart (all clicks)", result["click_to_chart_seconds"]))
    print(line("  step", result["step_seconds"]))
    print(line("  slider (replay)", result["slider_seconds"]))
    print(line("  step while others run futures", result["step_during_futures_seconds"]))
    print(line("1,000 futures (click to table)", result["futures_seconds"]))
    play = result["play_months_per_second"]
    print(f"{'Play, months/s per page':<34} min {play['min']:.2f}  median {play['median']:.2f}"
          f"  max {play['max']:.2f}")
    mem = result["server_rss_mib"]
    print(f"{'server memory (RSS, process tree)':<34} idle {mem['idle']:.0f} MiB, peak "
          f"{mem['peak']:.0f} MiB")
    cpu = result["cpu_seconds"]
    print(f"{'CPU seconds':<34} server {cpu['server']:.0f}, whole machine {cpu['machine']:.0f} "
          f"(browser, other users), of {cpu['available']:.0f} available")
    for name, ph in result["server_cpu_by_phase"].items():
        print(f"  phase {name:<12} {ph['seconds']:6.1f} s wall, "
              f"server CPU {ph['server_cpu']:.1f} s")
    print("targets met: " + ", ".join(f"{k} {'yes' if v else 'NO'}"
                                      for k, v in result["met"].items()))
    for err in rec["errors"][:10]:
        print(f"error: {err}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
