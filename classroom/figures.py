"""The app's own chart, drawn with matplotlib's object interface (no pyplot state, thread safe).

:func:`run_charts` returns a :class:`matplotlib.figure.Figure` built from plain data (the run's
monthly table), so it is tested without a browser and reused by anyone who wants the same
picture in a notebook. The fan chart of the futures and the network of relations are the
project's own (:func:`analysis.plots.fan_chart`, :func:`analysis.plots.network_plot`), the same
pictures as in the report.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

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
    key pairs, trust on the negotiation tracks (shaded while a deal is in force, hatched while
    an agreement is being implemented); the x axis spans the whole horizon.
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
        implementing = monthly.get("implementing_" + col[len("trust_"):])
        if implementing is not None and implementing.to_numpy().any():
            ax.fill_between(x, 0, 1, where=implementing.to_numpy() >= 0.5, step="mid",
                            facecolor="none", edgecolor=colour, hatch="//", linewidth=0.0,
                            alpha=0.5, label=labels.get(implementing.name, implementing.name))
    if trust:
        ax.legend(fontsize=7, loc="upper right", framealpha=0.7)
    ax.set_ylim(0, 1)
    _frame(ax, "Negotiation tracks", horizon, month,
           "trust (shaded: in force; hatched: being implemented)")
    return fig
