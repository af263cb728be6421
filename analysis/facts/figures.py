"""Figures of the facts: one PNG per validated fact and checked mechanism, and the fragility.

Drawn with matplotlib's object interface (a :class:`~matplotlib.figure.Figure` on an Agg canvas),
so that drawing them neither needs nor changes the user's pyplot backend.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from analysis.facts.check import FactCheck
from analysis.facts.measures import Fact
from sim.errors import UsageError


def write_figures(check: FactCheck, folder: str | Path) -> list[Path]:
    """Draw the figures of the validation and verification tables and of the fragility sweep.

    One PNG per validated fact (``fact_1.png`` .. ``fact_5.png``), one per mechanism the
    command checks on the case (``verification_v1.png`` ..), and ``validation_fragility.png``
    (if the sweep ran), into ``folder`` (created if missing); returns the paths written.
    """
    from sim.results.provenance import write_bytes_atomic

    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--figures {folder}: cannot create ({exc.strerror})") from None
    paths = []
    for f in check.facts:
        fig, ax = _figure((6.4, 4.0))
        _DRAW[f.number](ax, f)
        colour = "tab:green" if f.reproduced else "tab:red"
        fig.suptitle(f"Fact {f.number}: {f.title}\n{f.verdict}", fontsize=10, color=colour)
        fig.tight_layout()
        paths.append(write_bytes_atomic(out / f"fact_{f.number}.png", _png(fig)))
    for v in check.verification:
        if v.fact is None:
            continue
        fig, ax = _figure((6.4, 4.0))
        _DRAW[v.fact.number](ax, v.fact)
        colour = "tab:green" if v.fact.reproduced else "tab:red"
        fig.suptitle(f"{v.mechanism.key} ({v.mechanism.section}): {v.fact.title}\n{v.status}",
                     fontsize=10, color=colour)
        fig.tight_layout()
        paths.append(write_bytes_atomic(
            out / f"verification_{v.mechanism.key.lower()}.png", _png(fig)))
    if not check.fragility.empty:
        paths.append(write_bytes_atomic(out / "validation_fragility.png",
                                        _fragility_png(check)))
    return paths


def _figure(size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure of ``size`` inches at 110 dpi on its own Agg canvas, and its one axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _draw_1(ax: Any, f: Fact) -> None:
    m = f.data["months"]
    ax.plot(m, f.data["by_month"], "o-", label="durable compliance, read at each horizon")
    ax.axhspan(0.2, 0.5, color="grey", alpha=0.2, label="literature band 0.2-0.5")
    ax.errorbar([36], [f.estimate], yerr=[[f.estimate - f.low], [f.high - f.estimate]],
                fmt="o", color="k", label=f"success at 36 months {f.estimate:.2f}")
    ax.set(xlabel="horizon (months)", ylabel="share of episodes that succeed", ylim=(0, 1))
    ax.legend(fontsize=8)


def _draw_2(ax: Any, f: Fact) -> None:
    for s, curve in f.data["imposed_by_month"].items():
        ax.plot(np.arange(curve.size), 1 - curve, label=f"{s}: not yet imposed")
    ax.axhspan(0.35, 0.65, color="grey", alpha=0.2, label="TIES: about half never imposed")
    ax.set(xlabel="month", ylabel="share of threats with no imposition yet", ylim=(0, 1))
    ax.legend(fontsize=8)


def _draw_3(ax: Any, f: Fact) -> None:
    years = np.arange(1, len(f.data["multi"]) + 1)
    for key, label, dx in (("multi", "multilateral", -0.1), ("uni", "lead sender alone", 0.1)):
        est = np.array([d[0] for d in f.data[key]])
        err = np.array([[d[0] - d[1] for d in f.data[key]], [d[2] - d[0] for d in f.data[key]]])
        ax.errorbar(years + dx, est, yerr=err, fmt="o-", label=label)
    ax.axhspan(2.3, 3.5, color="tab:blue", alpha=0.12, label="UN: 2.3-3.5")
    ax.axhspan(0.5, 0.9, color="tab:orange", alpha=0.15, label="US only: 0.5-0.9")
    ax.set(xlabel="year after the first imposition", ylabel="growth loss (points/year)",
           xticks=years)
    ax.legend(fontsize=8)


def _draw_4(ax: Any, f: Fact) -> None:
    t = f.data["rows"]
    ax.errorbar(t.coalition_share, t.success, yerr=[t.success - t.success_lo,
                                                      t.success_hi - t.success],
                fmt="o-", color="tab:blue", label="success rate")
    ax.set(xlabel="coalition share of world economy", ylabel="success rate")
    ax.invert_xaxis()
    ax2 = ax.twinx()
    ax2.plot(t.coalition_share, t.pressure, "s--", color="tab:red", label="effective pressure")
    ax2.set_ylabel("mean effective pressure", color="tab:red")
    ax.legend(loc="upper right", fontsize=8)
    ax2.legend(loc="lower left", fontsize=8)


def _draw_5(ax: Any, f: Fact) -> None:
    (sm, su), (dm, du) = f.data["success"], f.data["damage"]
    x = np.arange(2)
    ax.bar(x - 0.2, [sm[0], su[0]], 0.4, yerr=[[sm[0] - sm[1], su[0] - su[1]],
                                                [sm[2] - sm[0], su[2] - su[0]]],
           label="success rate")
    ax2 = ax.twinx()
    ax2.bar(x + 0.2, [dm[0], du[0]], 0.4, color="tab:orange",
            yerr=[[dm[0] - dm[1], du[0] - du[1]], [dm[2] - dm[0], du[2] - du[0]]],
            label="mean annual growth loss")
    ax.set_xticks(x, ["multilateral", "lead sender alone"])
    ax.set_ylabel("success rate")
    ax2.set_ylabel("growth loss (points/year)", color="tab:orange")
    ax.legend(loc="upper right", fontsize=8)
    ax2.legend(loc="upper center", fontsize=8)


def _draw_6(ax: Any, f: Fact) -> None:
    k = f.data["k"]
    if f.data["up"] is not None:
        ax.plot(k + 1, 100 * f.data["up"], "o-", label="after a relief deal (gain)")
    if f.data["down"] is not None:
        ax.plot(k + 1, 100 * f.data["down"], "s-", label="after a breach and snap-back (loss)")
    ax.axvline(0.5, color="grey", lw=0.8)
    ax.set(xlabel="month relative to the event (1 = the event's month)",
           ylabel="change in annual growth (points)")
    ax.legend(fontsize=8)


def _draw_7(ax: Any, f: Fact) -> None:
    if "months" not in f.data:
        ax.text(0.5, 0.5, f.note, ha="center", wrap=True)
        return
    ax.step(f.data["months"], f.data["with"], where="post", label="with the change of government")
    ax.step(f.data["months"], f.data["without"], where="post", label="without")
    ax.axvline(f.data["event"], color="grey", ls=":", label="change of government")
    ax.set(xlabel="month", ylabel="share of runs with a relief deal", ylim=(0, 1))
    ax.legend(fontsize=8)


def _draw_8(ax: Any, f: Fact) -> None:
    m = np.arange(f.data["units_on"].size)
    ax.plot(m, f.data["units_on"], label="with production assistance")
    ax.plot(m, f.data["units_off"], label="without")
    if np.isfinite(f.data["loc_median"]):
        ax.axvline(f.data["loc_median"], color="grey", ls=":", label="median localisation month")
    ax.set(xlabel="month", ylabel=f"{f.data['built']} shipped per month (mean)")
    ax.legend(fontsize=8)


def _fragility_png(check: FactCheck) -> bytes:
    """The fragility figure: one panel per validated fact and sweep.

    Each panel shows the figure and its interval at each setting, green where the verdict of
    the fact holds there, red where it does not, the fact's band shaded.
    """
    t = check.fragility
    facts = sorted(t.fact.unique())
    panels = {n: list(dict.fromkeys(zip(t.sweep[t.fact == n], t.setting[t.fact == n],
                                        strict=True))) for n in facts}
    cols = max(len(v) for v in panels.values())
    fig, _ = _figure((2.7 * cols, 2.2 * len(facts)))
    fig.clear()
    grid = fig.subplots(len(facts), cols, squeeze=False)
    for i, n in enumerate(facts):
        for j in range(cols):
            ax = grid[i][j]
            if j >= len(panels[n]):
                ax.axis("off")
                continue
            sweep, setting = panels[n][j]
            rows = t[(t.fact == n) & (t.sweep == sweep) & (t.setting == setting)]
            x = np.arange(len(rows))
            for k, r in enumerate(rows.itertuples()):
                c = "tab:green" if r.holds else "tab:red"
                lo = r.estimate - r.low if np.isfinite(r.low) else 0.0
                hi = r.high - r.estimate if np.isfinite(r.high) else 0.0
                ax.errorbar([x[k]], [r.estimate], yerr=[[lo], [hi]], fmt="o", color=c, ms=4)
            band = _BANDS.get(n)
            if band is not None:
                ax.axhspan(*band, color="grey", alpha=0.2)
            else:
                ax.axhline(0.0, color="grey", lw=1.0)
            ax.set_xticks(x, [f"{v:g}" if isinstance(v, float) else str(v)
                              for v in rows.value], fontsize=6, rotation=45)
            ax.tick_params(axis="y", labelsize=6)
            ax.set_title(f"fact {n}: {sweep} {setting.split('.')[-1]}", fontsize=7)
    fig.suptitle("Fragility: each validated fact across horizons, codings and assumptions "
                 "(green: reproduced there; grey: the band, or 0 for a sign)", fontsize=9)
    fig.tight_layout()
    return _png(fig)


#: The band each fact's figure is read against (facts 4 and 5 are signs: a line at 0).
_BANDS: dict[int, tuple[float, float]] = {1: (0.2, 0.5), 2: (0.35, 0.65), 3: (0.5, 3.5)}


_DRAW: dict[int, Callable[[Any, Fact], None]] = {
    1: _draw_1, 2: _draw_2, 3: _draw_3, 4: _draw_4, 5: _draw_5, 6: _draw_6, 7: _draw_7,
    8: _draw_8,
}
