"""Write the README's figures: ``python -m analysis.figures docs/figures``.

Each figure comes from the public functions of :mod:`analysis` on the bundled baseline, with
fixed seeds, so rerunning this script redraws the same pictures. ``--quick`` uses fewer runs (a
smoke test of the script, not for the README).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analysis import plots
from analysis.compare import compare_policies
from analysis.discovery import discover
from analysis.monthly import monthly_bands
from analysis.sensitivity import sensitivity
from analysis.sweep import sweep

POLICIES = ["status_quo", "maximum_pressure", "secondary_sanctions", "conditional_relief",
            "engagement"]
SOBOL_VARY = {
    "actors.USA.relief_offer": (0.0, 0.9),
    "actors.IRN.relief_priority": (0.0, 1.0),
    "categories.missiles.detection": (0.05, 0.6),
    "actors.NATO.cohesion": (0.2, 1.0),
    "actors.BRICS.milex": (0.0, 1000.0),  # descriptive, read by no rule: its indices must be 0
}
SURFACE_VARY = {"actors.USA.relief_offer": (0.0, 0.9),
                "categories.missiles.detection": (0.05, 0.6)}


def main(argv: list[str] | None = None) -> int:
    """Draw every figure into the folder given (default ``docs/figures``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default="docs/figures")
    p.add_argument("--quick", action="store_true", help="few runs, to check the script works")
    args = p.parse_args(argv)
    out = Path(args.out)
    q = args.quick
    t0 = time.perf_counter()

    def done(name: str) -> None:
        print(f"{time.perf_counter() - t0:6.1f} s  {out / name}", file=sys.stderr)

    bands = monthly_bands("baseline", ["pressure_IRN", "pressure_RUS", "gdp_index_IRN",
                                       "gdp_index_RUS"], runs=100 if q else 2000, seed=7)
    plots.fan_chart(bands, "pressure", ["IRN", "RUS"], path=out / "fan_pressure.png",
                    title="Sanction pressure on Iran and Russia, baseline (2,000 runs)")
    done("fan_pressure.png")

    cmp = compare_policies("baseline", POLICIES, runs=200 if q else 4000, seed=7)
    plots.forest_plot(cmp.table, ["relief_reached", "ceasefire_reached", "transfers_detected"],
                      cmp.reference, cmp.titles, path=out / "forest_policies.png")
    done("forest_policies.png")

    plots.relations_network("baseline", seed=7, run=0, month=18, path=out / "network.png")
    done("network.png")

    sob = sweep("baseline", SOBOL_VARY, design="sobol", samples=16 if q else 256,
                runs_per_point=20 if q else 200, seed=7)
    idx = sensitivity(sob, ["relief_reached", "ceasefire_reached", "transfers_detected"],
                      seed=7)
    plots.sensitivity_bars(idx, path=out / "sobol.png")
    done("sobol.png")

    grid = sweep("baseline", SURFACE_VARY, design="grid", samples=4 if q else 12,
                 runs_per_point=20 if q else 400, seed=7)
    box = discover(grid.table, list(SURFACE_VARY), "relief_agreed>=0.5")
    plots.sweep_surface(grid.table, *SURFACE_VARY, "relief_agreed", box=box, share=True,
                        path=out / "sweep_surface.png")
    done("sweep_surface.png")
    plots.prim_trajectory(box, path=out / "prim.png")
    done("prim.png")
    print(f"PRIM box where relief_agreed>=0.5: {box.describe()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
