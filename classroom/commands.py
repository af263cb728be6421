"""The ``ui`` verb: start the classroom app (on 127.0.0.1 unless told) and print its address."""

from __future__ import annotations

import argparse
import importlib.util
import signal
import subprocess
from types import FrameType

from sim.cli import verb
from sim.errors import UsageError

DEFAULT_PORT = 8765


def _ui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only); "
                        "0.0.0.0 serves a class on every network interface (prints what that "
                        "exposes)")


@verb("ui", _ui_args)
def cmd_ui(args: argparse.Namespace) -> int:
    """Check the port, warm the ensemble kernel, then serve the app until Ctrl-C."""
    from classroom.serve import exposure, port_problem, server_command, server_env, stop

    port, host = args.port, args.host
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: must be from 1 to 65535")
    missing = [m for m in ("solara", "ipyvuetify") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"the app needs {', '.join(missing)}: pip install -e '.[ui]'")
    problem = port_problem(port, host)
    if problem:
        flag = f"--host {host}" if "address" in problem else f"--port {port}"
        raise UsageError(f"{flag}: {problem}" + ("" if "address" in problem else
                                                  "; choose another port"))
    from classroom.session import warm_kernel

    print("diplosim: preparing the ensemble kernel (compiled once, then cached) ...",
          flush=True)
    seconds = warm_kernel()
    print(f"diplosim: kernel ready in {seconds:.1f} s", flush=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    print(f"diplosim classroom app: {url}  (open it in your browser; Ctrl-C stops it)",
          flush=True)
    for line in exposure(host, port):
        print(f"diplosim: note: {line}", flush=True)
    if exposure(host, port):
        print(f"diplosim: note: students open http://THIS-MACHINE'S-ADDRESS:{port}/",
              flush=True)
    proc = subprocess.Popen(server_command(port, host), env=server_env())

    stopping: list[int] = []

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)  # handled below, outside the signal handler

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while True:
            try:
                status = proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                if stopping:
                    stop(proc, timeout=3.0)  # the server may linger on open connections
                    return 0
    except KeyboardInterrupt:
        stop(proc, timeout=3.0)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0 if status in (0, -signal.SIGTERM, -signal.SIGINT) else status
