"""Starting and stopping the app's server, and finding a browser.

Shared by ``diplosim ui``, the screenshot command and the browser tests.

The server is ``solara run classroom/app.py --production`` on 127.0.0.1 by default (loopback
only: the app is for the person at this machine); ``diplosim ui --host`` serves a class network
and says what that exposes (:func:`exposure`). Solara's front end is served from the installed
``solara-assets`` package, so the page works offline.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--metrics-recording-only", "--mute-audio")
"""Flags for headless Chromium in containers and CI (no sandbox as root, no GPU, no network
chatter of its own)."""


def app_path() -> Path:
    """Path of the Solara page module."""
    return Path(__file__).resolve().parent / "app.py"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_problem(port: int, host: str = HOST) -> str | None:
    """Why the app cannot listen on ``host``:``port``, or None if it can right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except PermissionError:
            return "not allowed for this user (ports below 1024 need root)"
        except socket.gaierror:
            return f"{host} is not an address of this machine"
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"already in use on {host}"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this machine"
            return f"cannot be opened on {host} ({exc.strerror})"
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (only this machine can connect)."""
    return host in ("localhost", "::1") or host.startswith("127.")


def exposure(host: str, port: int) -> list[str]:
    """What serving on ``host``:``port`` exposes, in plain words ([] for loopback)."""
    if is_loopback(host):
        return []
    where = "every network interface of this machine" if host in ("0.0.0.0", "::") else \
        f"the network address {host}"
    return [
        f"the app listens on {where}, port {port}: anyone who can reach this machine there "
        "can open it",
        "no login and no encryption (plain http): use it on a class network you trust, not "
        "on the internet",
        "every visitor can run simulations (each 'Run 1,000 futures' takes about a second of "
        "this machine's CPU) and sees only their own session",
        "visitors cannot read files here: a typed or uploaded scenario may extend only the "
        "bundled scenarios, by name",
    ]


def server_command(port: int, host: str = HOST) -> list[str]:
    """The command line that serves the app on ``host``:``port``."""
    return [sys.executable, "-m", "solara", "run", str(app_path()), "--host", host, "--port",
            str(port), "--production", "--no-open"]


def server_env() -> dict[str, str]:
    """Environment of the server: the caller's, with Solara's telemetry off (offline use)."""
    env = dict(os.environ)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    return env


def wait_until_up(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers HTTP 200.

    Raises:
        RuntimeError: if ``proc`` exits first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app's server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise RuntimeError(f"the app did not answer at {url} within {timeout:.0f} s ({last})")


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop a server started by this module (terminate, then kill)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def find_chromium() -> str | None:
    """Path of a Chromium to drive, or None.

    ``DIPLOSIM_CHROMIUM`` wins; then Debian's ``chromium`` package (``/usr/bin/chromium``) or
    any ``chromium``/``chromium-browser`` on PATH. Never a browser downloaded by Playwright.
    """
    env = os.environ.get("DIPLOSIM_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def launch_chromium(playwright, executable: str | None = None):
    """Headless Chromium through Playwright, with :data:`CHROMIUM_ARGS`."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium found: install Debian's chromium package "
                           "(apt-get install chromium) or set DIPLOSIM_CHROMIUM")
    return playwright.chromium.launch(executable_path=executable, headless=True,
                                      args=list(CHROMIUM_ARGS))
