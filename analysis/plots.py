"""Pictures of results, drawn with matplotlib and written as PNG.

Every function takes results (DataFrames from :mod:`analysis`), returns the matplotlib
``Figure`` and, given ``path``, writes it there. Nothing here runs the model except
:func:`relations_network`, which steps one Mesa run to the month asked for.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

_DPI = 110
_COLORS = matplotlib.colormaps["tab10"].colors


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
               squeeze: bool = True) -> tuple[Figure, Any]:
    """A figure on its own Agg canvas and its axes, like ``pyplot.subplots`` without pyplot.

    No pyplot state and no backend: drawing to a file never touches the user's backend, and
    the figure is freed with its last reference (no ``plt.close`` needed).
    """
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def save(fig: Figure, path: str | Path | None) -> Figure:
    """Write ``fig`` as PNG to ``path`` (atomically, folders created) unless ``path`` is None."""
    if path is not None:
        from sim.results.provenance import write_bytes_atomic

        write_bytes_atomic(path, png_bytes(fig))
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (for embedding in a report)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight",
                metadata={"Software": None})
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Fan chart


def fan_chart(bands: pd.DataFrame, metric: str, actors: list[str] | None = None,
              title: str | None = None, path: str | Path | None = None, *,
              run: Any = None, ylabel: str | None = None) -> Figure:
    """Monthly bands of ``metric``: the median, the 50% band (q25-q75) and the 90% band (q05-q95).

    The one fan chart of the project: the report draws it from a saved ensemble's bands, the
    classroom app from its futures with the run being stepped through on top. Drawn on a
    :class:`~matplotlib.figure.Figure` of its own (no pyplot state), so threads may draw at once.

    Args:
        bands: long-form bands: ``month``, ``metric``, ``q05`` ... ``q95``
            (:attr:`sim.EnsembleResult.bands`, :func:`analysis.monthly.bands_of`).
        metric: a metric name, or the stem of per-actor metrics (``"pressure"`` with
            ``actors=["IRN", "RUS"]`` draws ``pressure_IRN`` and ``pressure_RUS``).
        actors: actor ids to draw (None: ``metric`` is a full metric name).
        title: the figure's title.
        path: where to write the PNG.
        run: one run's monthly values of the figure (month 0 first), drawn over the bands; only
            with a single figure.
        ylabel: the y axis' label (default: the metric's name).

    Raises:
        KeyError: if the bands have no rows for a metric asked for.
        ValueError: if ``run`` is given with more than one figure.
    """
    series = [metric] if not actors else [f"{metric}_{a}" for a in actors]
    labels = [metric] if not actors else list(actors)
    one = len(series) == 1
    if run is not None and not one:
        raise ValueError("a run can be drawn over the bands of one figure only")
    fig = Figure(figsize=(7.0, 3.9), dpi=80)  # a fixed layout: the app redraws it every month
    ax = fig.subplots(gridspec_kw={"left": 0.09, "right": 0.98, "bottom": 0.13, "top": 0.92})
    last = 0
    for k, (name, label) in enumerate(zip(series, labels, strict=True)):
        b = bands[bands["metric"] == name].sort_values("month")
        if b.empty:
            raise KeyError(f"no bands for metric {name!r}")
        c = _COLORS[k % len(_COLORS)]
        m = b["month"].to_numpy()
        last = max(last, int(m[-1]))
        ax.fill_between(m, b["q05"], b["q95"], color=c, alpha=0.18, lw=0,
                        label="90% of runs" if one else None)
        ax.fill_between(m, b["q25"], b["q75"], color=c, alpha=0.35, lw=0,
                        label="50% of runs" if one else None)
        ax.plot(m, b["q50"], color=c, lw=2, label="median" if one else f"{label} (median)")
    if run is not None and len(run):
        values = np.asarray(run, dtype=float)
        ax.plot(np.arange(values.size), values, color="#d95f02", lw=1.4, label="this run")
    ax.set_xlim(0, max(last, 1))
    ax.set_xlabel("month", fontsize=9)
    ax.set_ylabel(metric.replace("_", " ") if ylabel is None else ylabel, fontsize=9)
    ax.set_title(title or f"{metric.replace('_', ' ')}: median, 50% and 90% bands", fontsize=10,
                 loc="left")
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# Forest plot of a policy comparison


def forest_plot(table: pd.DataFrame, outcomes: list[str], reference: str,
                titles: dict[str, str] | None = None, path: str | Path | None = None) -> Figure:
    """Paired differences from the reference policy with their CIs, one panel per outcome.

    Proportions (rows of kind ``proportion``) are drawn in percentage points. Each row is
    labelled with the policy's own estimate and CI, so the plot reads as both levels and
    differences.
    """
    titles = titles or {}
    policies = list(dict.fromkeys(table["policy"]))
    fig, axes = new_figure(1, len(outcomes), figsize=(4.2 * len(outcomes), 0.55 *
                           len(policies) + 1.6), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        t = table[table["outcome"] == outcome].set_index("policy").loc[policies]
        scale = 100.0 if (t["kind"] == "proportion").all() else 1.0
        y = np.arange(len(policies))[::-1]
        d = t["diff"].to_numpy() * scale
        lo = t["diff_low"].to_numpy() * scale
        hi = t["diff_high"].to_numpy() * scale
        for k, p in enumerate(policies):
            c = "0.5" if p == reference else _COLORS[0]
            ax.errorbar([d[k]], [y[k]], xerr=[[d[k] - lo[k]], [hi[k] - d[k]]], fmt="o", ms=5,
                        color=c, capsize=3)
        ax.axvline(0.0, color="0.3", lw=1, ls="--")
        labels = []
        for p in policies:
            r = t.loc[p]
            if scale == 100.0:
                est = f"{100 * r['estimate']:.0f}% [{100 * r['low']:.0f}-{100 * r['high']:.0f}]"
            else:
                est = f"{r['estimate']:.3g} [{r['low']:.3g}, {r['high']:.3g}]"
            labels.append(f"{titles.get(p, p)}\n{est}")
        ax.set_yticks(y, labels, fontsize=8)
        unit = "points" if scale == 100.0 else "difference"
        ax.set_xlabel(f"{unit} vs {titles.get(reference, reference)} (paired 95% CI)",
                      fontsize=8)
        ax.set_title(outcome.replace("_", " "), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# Sensitivity bars


def sensitivity_bars(indices: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Sobol' S1/ST (or Morris mu*/sigma) bars with CI whiskers, one panel per outcome."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    sobol_kind = "ST" in indices.columns
    params = list(dict.fromkeys(indices["parameter"]))
    fig, axes = new_figure(1, len(outcomes), figsize=(4.4 * len(outcomes),
                           0.45 * len(params) + 1.8), squeeze=False)
    y = np.arange(len(params))[::-1]
    h = 0.38
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        b = indices[indices["outcome"] == outcome].set_index("parameter").loc[params]
        if sobol_kind:
            ax.barh(y + h / 2, b["S1"], h, xerr=b["S1_conf"], label="first order S1",
                    color=_COLORS[0], capsize=2)
            ax.barh(y - h / 2, b["ST"], h, xerr=b["ST_conf"], label="total ST",
                    color=_COLORS[1], capsize=2)
            ax.set_xlabel("Sobol' index (share of variance)")
        else:
            ax.barh(y + h / 2, b["mu_star"], h, xerr=b["mu_star_conf"], label="mu*",
                    color=_COLORS[0], capsize=2)
            ax.barh(y - h / 2, b["sigma"], h, label="sigma", color=_COLORS[2])
            ax.set_xlabel("elementary effect (outcome units)")
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set_yticks(y, params, fontsize=8)
        ax.set_title(outcome.replace("_", " "), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# A sweep's outcome over two parameters


def sweep_surface(table: pd.DataFrame, x: str, y: str, outcome: str,
                  path: str | Path | None = None, box: Any = None,
                  share: bool = False) -> Figure:
    """An outcome over two swept parameters.

    A heat map on a grid, else filled contours of the scattered design points (which are drawn
    too). ``box`` (a PRIM box) is outlined if given. ``share``: the outcome is a share of runs
    (a yes/no outcome, see :mod:`sim.core.outcomes`; a sweep's manifest lists them under
    ``proportions``), drawn in percent.
    """
    fig, ax = new_figure(figsize=(6.2, 4.8))
    xs, ys = np.unique(table[x]), np.unique(table[y])
    z = table[outcome].to_numpy(dtype=float)
    scale = 100.0 if share else 1.0
    label = f"{outcome.replace('_', ' ')}" + (" (% of runs)" if scale == 100.0 else "")
    lattice = len(xs) * len(ys) == len(table.drop_duplicates([x, y]))
    if lattice and len(xs) > 1 and len(ys) > 1 and len(table) == len(xs) * len(ys):
        grid = table.pivot_table(index=y, columns=x, values=outcome, aggfunc="mean")
        mesh = ax.pcolormesh(grid.columns, grid.index, grid.to_numpy() * scale, shading="nearest",
                             cmap="viridis")
    else:
        ok = np.isfinite(z)
        mesh = ax.tricontourf(table[x][ok], table[y][ok], z[ok] * scale, levels=12,
                              cmap="viridis")
        ax.scatter(table[x], table[y], s=6, c="k", alpha=0.4, lw=0)
    fig.colorbar(mesh, ax=ax, label=label)
    if box is not None:
        lx, hx = box.limits.loc[x] if x in box.limits.index else (xs.min(), xs.max())
        ly, hy = box.limits.loc[y] if y in box.limits.index else (ys.min(), ys.max())
        ax.add_patch(Rectangle((lx, ly), hx - lx, hy - ly, fill=False, ec="w", lw=2,
                               ls="--", label="PRIM box"))
        ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(label)
    fig.tight_layout()
    return save(fig, path)


def prim_trajectory(box: Any, path: str | Path | None = None) -> Figure:
    """PRIM's peeling trajectory: density against coverage, coloured by mass.

    The chosen (pasted) box is circled; the dashed line is the base rate.
    """
    t = box.trajectory
    fig, ax = new_figure(figsize=(5.6, 4.2))
    sc = ax.scatter(t["coverage"], t["density"], c=t["mass"], cmap="viridis", s=18)
    fig.colorbar(sc, ax=ax, label="mass (share of points in the box)")
    ax.scatter([box.coverage], [box.density], s=140, facecolors="none", edgecolors="r", lw=2,
               label="chosen box (pasted)")
    ax.axhline(box.base_density, color="0.4", ls="--", lw=1, label="base rate")
    ax.set_xlabel("coverage")
    ax.set_ylabel("density")
    ax.set_title("PRIM peeling trajectory")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# The network of relations at a month


def relations_graph(model: Any) -> Any:
    """The relations of a :class:`sim.DiplomacyModel` at its current month as a networkx graph.

    The one network view of the project (the report's figure and the classroom app's panel).
    Nodes are actors (``name``, ``kind``, ``alignment``, ``gdp_index``, ``pressure``); edges
    carry a ``kind``: ``affinity`` (one per pair, ``weight`` in [-1, 1]), ``arms`` (supplier to
    recipient, summed over their routes: ``weight`` = units delivered so far, ``shipped`` =
    units shipped this month, ``exposed`` = a covert shipment (of a category sanctioners react
    to) detected this month, ``what`` = the categories delivered) and ``sanctions`` (sender to
    target, ``weight`` = intensity).
    """
    import networkx as nx

    from sim.core import layout as L

    s = model.state
    cs = model.compiled
    ids = cs.actor_ids
    g = nx.MultiDiGraph(month=model.month)
    for aid in ids:
        a = model.diplo_scenario.spec.actors[aid]
        agent = model.actors_by_id[aid]
        g.add_node(aid, name=a.name, kind=a.kind, alignment=a.alignment,
                   gdp_index=agent.gdp_index, pressure=agent.pressure)
    n = len(ids)
    for i in range(n):
        for j in range(i + 1, n):
            g.add_edge(ids[i], ids[j], kind="affinity", weight=float(s.AFF[i, j]))
    flows: dict[tuple[int, int], dict[str, Any]] = {}
    for r in range(s.RP.shape[0]):
        key = (int(s.RP[r, L.R_SUPPLIER]), int(s.RP[r, L.R_RECIPIENT]))
        f = flows.setdefault(key, {"weight": 0.0, "shipped": 0.0, "exposed": False, "what": []})
        f["weight"] += float(s.RS[r, L.RS_TOTAL])
        f["shipped"] += float(s.RS[r, L.RS_SHIPPED])
        covert = s.CP[int(s.RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0  # not aid announced openly
        f["exposed"] |= bool(covert and s.RS[r, L.RS_SHIPPED] > 0
                             and s.RS[r, L.RS_DETECTED] >= 0.5)
        if s.RS[r, L.RS_TOTAL] > 0:
            f["what"].append(cs.category_units[int(s.RP[r, L.R_CATEGORY])])
    for (i, j), f in flows.items():
        if f["weight"] > 0:
            g.add_edge(ids[i], ids[j], kind="arms", weight=f["weight"], shipped=f["shipped"],
                       exposed=f["exposed"], what=tuple(f["what"]))
    for i in range(n):
        for j in range(n):
            if i != j and s.SANC[i, j] > 0:
                g.add_edge(ids[i], ids[j], kind="sanctions", weight=float(s.SANC[i, j]))
    return g


def network_plot(graph: Any, title: str | None = None, path: str | Path | None = None,
                 min_affinity: float = 0.25, min_sanction: float = 0.01) -> Figure:
    """Draw a relations graph (:func:`relations_graph`).

    Actors on an ellipse, the West (by alignment) on the right and anti-West states on the
    left; node colour: sanction pressure (darkest from 0.5). Affinity as lines (green friendly,
    red dotted hostile; hidden below ``min_affinity`` in absolute value); arms as orange arrows,
    width by units delivered so far, solid when shipped this month, tagged when a shipment was
    exposed this month; sanctions of at least ``min_sanction`` as dark red dashed arrows, width
    by intensity. Drawn on a :class:`~matplotlib.figure.Figure` of its own (no pyplot state).
    """
    from matplotlib import colormaps
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    nodes = sorted(graph.nodes, key=lambda a: -graph.nodes[a]["alignment"])
    n = len(nodes)
    pos = {a: (1.55 * np.cos(-np.pi / 2 + 2 * np.pi * (k + 0.5) / n),
               1.2 * np.sin(-np.pi / 2 + 2 * np.pi * (k + 0.5) / n))
           for k, a in enumerate(nodes)}
    # A fixed layout: the app redraws this every month of a run, and the constrained layout
    # engine would cost more than the drawing.
    fig = Figure(figsize=(7.2, 5.4), dpi=80)
    ax = fig.subplots(gridspec_kw={"left": 0.01, "right": 0.99, "bottom": 0.1, "top": 0.94})

    def edge(u: str, v: str, colour: str, width: float, style: str, rad: float, arrow: bool,
             zorder: int) -> None:
        ax.add_patch(FancyArrowPatch(pos[u], pos[v], connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>" if arrow else "-", mutation_scale=14,
                                     lw=width, color=colour, ls=style, shrinkA=22, shrinkB=22,
                                     alpha=0.85, zorder=zorder))

    edges = list(graph.edges(data=True))
    for u, v, d in edges:
        if d["kind"] == "affinity" and abs(d["weight"]) >= min_affinity:
            edge(u, v, "#1a9850" if d["weight"] > 0 else "#d73027", 0.5 + 3.0 * abs(d["weight"]),
                 "-" if d["weight"] > 0 else ":", 0.0, False, 1)
    arms = [(u, v, d) for u, v, d in edges if d["kind"] == "arms"]
    top = max((d["weight"] for _, _, d in arms), default=1.0)
    for u, v, d in arms:
        edge(u, v, "tab:orange", 1.2 + 4.0 * np.sqrt(d["weight"] / top),
             "-" if d.get("shipped", 0.0) > 0 else ":", 0.18, True, 3)
        if d.get("exposed"):  # on the arc's middle (arc3: control point rad x the chord away)
            dx, dy = pos[v][0] - pos[u][0], pos[v][1] - pos[u][1]
            mx = (pos[u][0] + pos[v][0]) / 2 + 0.5 * 0.18 * dy
            my = (pos[u][1] + pos[v][1]) / 2 - 0.5 * 0.18 * dx
            ax.text(mx, my, "exposed", fontsize=7, color="#7f2704", ha="center", va="center",
                    zorder=6, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "#7f2704",
                                    "pad": 1.5})
    for u, v, d in edges:
        if d["kind"] == "sanctions" and d["weight"] >= min_sanction:
            edge(u, v, "#67001f", 0.5 + 3.5 * d["weight"], "--", -0.18, True, 2)
    reds = colormaps["Reds"]
    for a in nodes:
        nd = graph.nodes[a]
        x, y = pos[a]
        ax.scatter([x], [y], s=1100 if nd["kind"] == "bloc" else 900,
                   marker="s" if nd["kind"] == "bloc" else "o",
                   color=reds(0.1 + 0.8 * min(1.0, nd["pressure"] / 0.5)), edgecolors="#333333",
                   zorder=4)
        ax.text(x, y, a, ha="center", va="center", fontsize=9, fontweight="bold", zorder=5)
        ax.text(x, y - 0.2, f"GDP {nd['gdp_index']:.2f}, pressure {nd['pressure']:.2f}",
                ha="center", va="top", fontsize=7, zorder=5,
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
    handles = [Line2D([], [], color="#1a9850", lw=2, label="affinity > 0"),
               Line2D([], [], color="#d73027", lw=2, ls=":", label="affinity < 0"),
               Line2D([], [], color="tab:orange", lw=2,
                      label="arms delivered so far (solid: shipped this month)"),
               Line2D([], [], color="#67001f", lw=2, ls="--", label="sanctions (intensity)")]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, 0.0), ncol=2)
    ax.set_title(title or f"Relations at month {graph.graph.get('month', '?')}", fontsize=10,
                 loc="left")
    ax.text(-2.05, 1.45, "anti-West", fontsize=8, color="0.4")
    ax.text(2.05, 1.45, "West", fontsize=8, color="0.4", ha="right")
    ax.text(2.05, -1.5, "node colour: sanction pressure", fontsize=7, color="0.4", ha="right")
    ax.set_xlim(-2.1, 2.1)
    ax.set_ylim(-1.55, 1.55)
    ax.set_aspect("equal")
    ax.axis("off")
    return save(fig, path)


def relations_network(scenario: Any, seed: int = 0, run: int = 0, month: int | None = None,
                      policy: str | None = None, path: str | Path | None = None) -> Figure:
    """Step one Mesa run to ``month`` (default: the horizon) and draw its relations."""
    from sim.engines.model import DiplomacyModel

    model = DiplomacyModel(scenario, seed=seed, run=run, policy=policy).run(month)
    title = (f"{model.diplo_scenario.name}, seed {seed}, run {run}: relations at month "
             f"{model.month}")
    return network_plot(relations_graph(model), title=title, path=path)
