"""The app's charts, drawn with matplotlib's object interface (no pyplot state, thread safe).

Each function returns a :class:`matplotlib.figure.Figure` built from plain data (a monthly
table, a :class:`~classroom.state.NetworkView`, :class:`~classroom.state.Futures`), so they are
tested without a browser and reused by anyone who wants the same pictures in a notebook.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from classroom.state import Futures, NetworkView

_ACTOR_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
                  "#666666")


def _columns(monthly: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in monthly.columns if c.startswith(prefix)]


def _frame(ax, title: str, horizon: int, month: int, ylabel: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xlim(0, max(horizon, 1))
    ax.set_xlabel("month", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if month > 0:
        ax.axvline(month, color="#999999", lw=0.8, ls=":")


def run_charts(monthly: pd.DataFrame, labels: dict[str, str], horizon: int) -> Figure:
    """Six panels that grow month by month, up to the run's current month.

    GDP index, sanction pressure, deliveries per route, war intensity and balance, affinity of
    key pairs, trust on the negotiation tracks; the x axis spans the whole horizon.
    """
    # A fixed layout: the constrained layout engine would cost more than a third of the
    # drawing time, paid on every month of a run.
    fig = Figure(figsize=(12, 6.2), dpi=80)
    axes = fig.subplots(2, 3, gridspec_kw={"left": 0.055, "right": 0.995, "bottom": 0.075,
                                           "top": 0.955, "wspace": 0.26, "hspace": 0.36})
    month = int(monthly["month"].iloc[-1]) if len(monthly) else 0
    x = monthly["month"].to_numpy()

    def lines(ax, cols: list[str], strip: str = "") -> None:
        for k, col in enumerate(cols):
            label = labels.get(col, col).replace(strip, "")
            ax.plot(x, monthly[col].to_numpy(), lw=1.6, label=label,
                    color=_ACTOR_COLOURS[k % len(_ACTOR_COLOURS)])
        if cols:
            ax.legend(fontsize=7, loc="upper right", framealpha=0.7)

    ax = axes[0, 0]
    lines(ax, _columns(monthly, "gdp_index_"), "GDP index, ")
    _frame(ax, "GDP index", horizon, month, "1 = GDP at the start")

    ax = axes[0, 1]
    cols = [c for c in _columns(monthly, "pressure_") if monthly[c].abs().max() > 0]
    lines(ax, cols, "Sanction pressure on ")
    if not cols:
        ax.text(0.5, 0.5, "no sanction pressure yet", ha="center", va="center",
                transform=ax.transAxes, fontsize=8, color="#777777")
    ax.set_ylim(0, max(0.05, float(monthly[cols].max().max()) * 1.15 if cols else 0.05))
    _frame(ax, "Effective sanction pressure", horizon, month, "pressure, 0 to 1")

    ax = axes[0, 2]
    shipped = _columns(monthly, "shipped_")
    lines(ax, shipped)
    ax.set_yscale("symlog", linthresh=1.0)
    top = float(monthly[shipped].max().max()) if shipped else 0.0
    ax.set_ylim(0, max(10.0, 2.0 * top))
    _frame(ax, "Deliveries per route", horizon, month, "units per month (symlog)")

    ax = axes[1, 0]
    ax.plot(x, monthly["war_intensity"].to_numpy(), lw=1.8, color="#b2182b",
            label="intensity (0 to 1)")
    ax.plot(x, monthly["war_balance"].to_numpy(), lw=1.2, color="#2166ac", ls="--",
            label="balance (+1 attacker winning)")
    ax.set_ylim(-1, 1)
    ax.legend(fontsize=7, loc="lower left", framealpha=0.7)
    _frame(ax, "War", horizon, month, "intensity / balance")

    ax = axes[1, 1]
    lines(ax, _columns(monthly, "affinity_"))
    ax.set_ylim(-1, 1)
    _frame(ax, "Affinity of key pairs", horizon, month, "affinity, -1 to 1")

    ax = axes[1, 2]
    trust = _columns(monthly, "trust_")
    for k, col in enumerate(trust):
        colour = _ACTOR_COLOURS[k % len(_ACTOR_COLOURS)]
        ax.plot(x, monthly[col].to_numpy(), lw=1.6, color=colour, label=labels.get(col, col))
        active = monthly.get("active_" + col[len("trust_"):])
        if active is not None and active.to_numpy().any():
            ax.fill_between(x, 0, 1, where=active.to_numpy() >= 0.5, step="mid", alpha=0.12,
                            color=colour, label=labels.get(active.name, active.name))
    if trust:
        ax.legend(fontsize=7, loc="upper right", framealpha=0.7)
    ax.set_ylim(0, 1)
    _frame(ax, "Negotiation tracks", horizon, month, "trust (shaded: deal in force)")
    return fig


def network_figure(view: NetworkView) -> Figure:
    """The network of relations at one month.

    Actors on a circle; edges: affinity (green +, red dotted -), arms flows this month (blue
    arrows, width by units, solid if exposed), sanctions (dark red dashed arrows, width by
    intensity). Node colour shows effective sanction pressure.
    """
    fig = Figure(figsize=(6.4, 5.6), dpi=80, layout="constrained")
    ax = fig.subplots()
    n = len(view.nodes)
    pos = {node.actor: (math.cos(math.pi / 2 - 2 * math.pi * k / n),
                        math.sin(math.pi / 2 - 2 * math.pi * k / n))
           for k, node in enumerate(view.nodes)}

    def edge(a: str, b: str, colour: str, width: float, style: str, rad: float,
             arrow: bool) -> None:
        ax.add_patch(FancyArrowPatch(pos[a], pos[b], connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>" if arrow else "-", mutation_scale=14,
                                     lw=width, color=colour, ls=style, shrinkA=22, shrinkB=22,
                                     alpha=0.85, zorder=1))

    for a, b, v in view.affinity:
        edge(a, b, "#1a9850" if v > 0 else "#d73027", 0.5 + 3.0 * abs(v),
             "-" if v > 0 else ":", 0.0, False)
    biggest = max((f[3] for f in view.flows), default=1.0)
    for sup, rec, _what, units, detected in view.flows:
        edge(sup, rec, "#2166ac", 1.0 + 4.0 * math.sqrt(units / biggest),
             "-" if detected else "--", 0.18, True)
    for snd, tgt, v in view.sanctions:
        edge(snd, tgt, "#67001f", 0.5 + 3.5 * v, "--", -0.18, True)
    for node in view.nodes:
        x, y = pos[node.actor]
        shade = (1.0, 1.0 - 0.8 * min(node.pressure / 0.5, 1.0), 1.0 - 0.8 * min(
            node.pressure / 0.5, 1.0))
        ax.scatter([x], [y], s=1300, color=shade, edgecolors="#333333", zorder=2)
        ax.text(x, y + 0.02, node.actor, ha="center", va="center", fontsize=10,
                fontweight="bold", zorder=3)
        ax.text(x, y - 0.2, f"GDP {node.gdp_index:.2f}, pressure {node.pressure:.2f}",
                ha="center", va="top", fontsize=7, zorder=3,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"Relations at month {view.month}", fontsize=10, loc="left")
    legend = [("#1a9850", "-", "affinity > 0"), ("#d73027", ":", "affinity < 0"),
              ("#2166ac", "-", "arms flow this month (solid: exposed)"),
              ("#67001f", "--", "sanctions (width: intensity)")]
    for k, (colour, style, text) in enumerate(legend):
        y = -1.17 - 0.12 * (k // 2)
        x0 = -1.4 + 1.3 * (k % 2)
        ax.plot([x0, x0 + 0.12], [y, y], color=colour, ls=style, lw=2)
        ax.text(x0 + 0.14, y, text, fontsize=6, va="center")
    ax.text(1.4, 1.3, "node colour: sanction pressure", fontsize=6, ha="right", va="top")
    return fig


def fan_chart(futures: Futures, figure: str, label: str,
              run: pd.Series | None = None) -> Figure:
    """Fan chart of one monthly figure over the futures.

    Median, 50% and 90% bands; optionally the run being stepped through, for comparison.
    """
    fan = futures.fan(figure)
    fig = Figure(figsize=(6.4, 3.6), dpi=80, layout="constrained")
    ax = fig.subplots()
    m = fan["month"].to_numpy()
    ax.fill_between(m, fan["p5"], fan["p95"], color="#6baed6", alpha=0.3, label="90% of futures")
    ax.fill_between(m, fan["p25"], fan["p75"], color="#2171b5", alpha=0.35,
                    label="50% of futures")
    ax.plot(m, fan["p50"], color="#08306b", lw=1.8, label="median")
    if run is not None and len(run):
        ax.plot(np.arange(len(run)), run.to_numpy(), color="#d95f02", lw=1.4,
                label="this run (seed)")
    ax.set_xlim(0, m[-1])
    ax.set_title(f"{label}: {futures.runs:,} futures", fontsize=10, loc="left")
    ax.set_xlabel("month", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.7)
    return fig
