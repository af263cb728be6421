"""Charts drawn in the browser from data the server sends: ECharts, served offline.

The server sends figures, not pictures. :class:`RunChart` is a widget whose browser side
(``charts.vue``) draws the six panels of the run with ECharts from a table of rows (one per
month); when the run steps one month, the server sends that month's row alone (one message of
a few hundred bytes) and every panel grows by one point. The run's whole table is sent only when
the run is replaced (a slider, the seed, another scenario, Reset). The network, the futures' fan
charts and the branches' fans are ECharts options built here from plain data
(:func:`network_option`, :func:`fan_option`) and drawn by :class:`EchartsFigure`; one browser
side (``charts.vue``) loads and mounts ECharts for both widgets. For the hindcast, the run's
panels can mark the rows of the observed record that map to a charted quantity
(:func:`record_marks`).

ECharts itself (5.4, Apache-2.0) comes from the ``solara-assets`` package, which Solara's server
serves under ``/_solara/cdn/``: nothing is loaded from the internet. The matplotlib figures of
:mod:`classroom.figures` and :mod:`analysis.plots` stay for the printable handout and downloads.

The option builders are pure functions of data, tested without a browser.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import ipyvuetify
import pandas as pd
import traitlets

from classroom.session import sent_value as _num

COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
           "#666666")
"""Series colours, as in :mod:`classroom.figures`."""


def _columns(names: list[str], prefix: str) -> list[str]:
    return [c for c in names if c.startswith(prefix)]


def run_panels(names: list[str], labels: dict[str, str]) -> tuple[list[str], list[dict]]:
    """The six panels of a run's charts, from the names of its monthly figures.

    Returns the columns the panels use (``month`` first: a row sent to the browser holds these
    values in this order) and the panels: ``id``, ``title``, ``ylabel``, ``ymin``/``ymax``
    (None: fitted), ``hide_zero`` (leave out series that are zero so far) and ``series``
    (``name``, ``col`` index in a row, ``colour``, ``style``: "line", "dash" or "area", an
    area being a 0/1 flag shaded where it is 1).
    """
    columns = ["month"]

    def col(name: str) -> int:
        if name not in columns:
            columns.append(name)
        return columns.index(name)

    def lines(prefix: str, strip: str = "") -> list[dict]:
        return [{"name": labels.get(c, c).replace(strip, ""), "col": col(c),
                 "colour": COLOURS[k % len(COLOURS)], "style": "line"}
                for k, c in enumerate(_columns(names, prefix))]

    trust: list[dict] = []
    for k, c in enumerate(_columns(names, "trust_")):
        colour = COLOURS[k % len(COLOURS)]
        trust.append({"name": labels.get(c, c), "col": col(c), "colour": colour,
                      "style": "line"})
        for flag in ("active_", "implementing_"):
            name = flag + c[len("trust_"):]
            if name in names:
                trust.append({"name": labels.get(name, name), "col": col(name),
                              "colour": colour, "style": "area"})
    war = [{"name": "intensity (0 to 1)", "col": col("war_intensity"), "colour": "#b2182b",
            "style": "line"},
           {"name": "balance (+1 attacker winning)", "col": col("war_balance"),
            "colour": "#2166ac", "style": "dash"}] if "war_intensity" in names else []
    panels = [
        {"id": "gdp", "title": "GDP index", "ylabel": "1 = GDP at the start", "ymin": None,
         "ymax": None, "hide_zero": False, "series": lines("gdp_index_", "GDP index, ")},
        {"id": "pressure", "title": "Effective sanction pressure", "ylabel": "0 to 1",
         "ymin": 0, "ymax": None, "hide_zero": True,
         "series": lines("pressure_", "Sanction pressure on ")},
        {"id": "deliveries", "title": "Deliveries per route", "ylabel": "units per month",
         "ymin": 0, "ymax": None, "hide_zero": False, "series": lines("shipped_")},
        {"id": "war", "title": "War", "ylabel": "intensity / balance", "ymin": -1, "ymax": 1,
         "hide_zero": False, "series": war},
        {"id": "affinity", "title": "Affinity of key pairs", "ylabel": "-1 to 1", "ymin": -1,
         "ymax": 1, "hide_zero": False, "series": lines("affinity_")},
        {"id": "tracks", "title": "Negotiation tracks",
         "ylabel": "trust (shaded: in force)", "ymin": 0, "ymax": 1, "hide_zero": False,
         "series": trust},
    ]
    return columns, panels


RECORD_SCENARIO = "hindcast_2022"
"""The bundled scenario whose months are those of the observed record (month 1 = 2022-08)."""


def _panel_of(outcome: str) -> str | None:
    """The run panel that charts the quantity a calibration target's outcome is about."""
    if outcome.startswith(("first_month_", "delivered_")):
        return "deliveries"  # a route's (or category's) first shipment
    if outcome.startswith(("escalations_", "sanctions_")):
        return "pressure"  # a round of sanctions raises the pressure on its target
    if outcome.startswith("gdp_index_"):
        return "gdp"
    if outcome.endswith("_month"):
        return "tracks"  # a deal or a ceasefire reached, or not, by a month
    return None


def record_marks(start: str, horizon: int, columns: set[str],
                 record: str | Path | None = None) -> dict[str, list[dict]]:
    """Rows of the observed record to mark on the run's panels: ``{panel id: [mark]}``.

    Only rows the calibration maps to a model quantity a panel charts
    (:func:`analysis.calibration.record.load_targets`: first shipments on the deliveries
    panel, sanction rounds on the pressure panel, growth figures on the GDP panel, deals and
    ceasefires reached or not on the tracks panel), inside months 1 to ``horizon`` of a
    scenario starting at ``start``. A mark is ``{"month", "id", "tip"}``; the tip says what was
    observed, when, and its source.
    """
    from analysis.calibration.command import DEFAULT_RECORD
    from analysis.calibration.record import load_targets, read_record, scenario_month

    path = DEFAULT_RECORD if record is None else Path(record)
    rows = read_record(path)
    targets, _ = load_targets(path, start, horizon, columns)
    marks: dict[str, list[dict]] = {}
    for target in targets:
        panel = _panel_of(target.outcome)
        if panel is None:
            continue
        for rid in target.records:
            row = rows[rid]
            month = scenario_month(row.date, start)
            if not 1 <= month <= horizon or any(m["id"] == rid for m in marks.get(panel, ())):
                continue
            value = f" ({row.value} {row.unit})".replace(" )", ")") if row.value else ""
            marks.setdefault(panel, []).append(
                {"month": month, "id": rid,
                 "tip": f"{row.date}: {row.what}{value}. Source: {row.source}"})
    return marks


def with_marks(panels: list[dict], marks: dict[str, list[dict]]) -> list[dict]:
    """The panels with the record's marks of each (:func:`record_marks`) under ``marks``."""
    return [{**p, "marks": marks.get(p["id"], [])} for p in panels]


def chart_rows(monthly: pd.DataFrame, columns: list[str]) -> list[list[float | None]]:
    """The rows the browser draws: one per month, the values of ``columns`` in that order."""
    data = monthly.reindex(columns=columns).to_numpy(dtype=float)
    return [[_num(x) for x in row] for row in data]


class _Echarts(ipyvuetify.VuetifyTemplate):
    """ECharts in the page: the one browser side (``charts.vue``) of both chart widgets.

    The browser loads ECharts once (from the app's own server) and mounts it the same way for
    one chart (:class:`EchartsFigure`, ``single``) and for the run's panels (:class:`RunChart`).
    """

    template_file = (__file__, "charts.vue")

    single = traitlets.Bool(False).tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    @traitlets.default("cdn")
    def _cdn(self) -> str | None:
        import solara.settings

        return None if solara.settings.assets.proxy else solara.settings.assets.cdn


class EchartsFigure(_Echarts):
    """One ECharts chart whose option comes as JSON text.

    Like :func:`solara.FigureEcharts`, but the option is one string: the page's renderer walks
    every list and dict of a component's arguments on each render, and a fan chart's option
    holds hundreds of points.
    """

    single = traitlets.Bool(True).tag(sync=True)
    option_json = traitlets.Unicode("").tag(sync=True)
    attributes = traitlets.Dict({}).tag(sync=True)


def figure_json(option: dict) -> str:
    """An ECharts option as the JSON text :class:`EchartsFigure` takes."""
    return json.dumps(option, separators=(",", ":"))


class RunChart(_Echarts):
    """The run's six panels, drawn in the browser; they grow by one point a month.

    ``panels`` (JSON text, see :class:`EchartsFigure`) and ``horizon`` describe the charts
    (sent when the scenario changes); ``rows``
    is the run's table. :meth:`show` sends only what changed: the new months' rows as one
    small message when the run stepped on, the whole table when it was replaced.
    """

    panels = traitlets.Unicode("[]").tag(sync=True)
    horizon = traitlets.Int(36).tag(sync=True)
    rows = traitlets.List().tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.sent_bytes = 0
        """Bytes of the last update sent to the browser (rows as JSON): for the benchmark."""

    def show(self, rows: list[list[float | None]]) -> str:
        """Bring the browser's charts to ``rows``; returns "append", "replace" or "same".

        A step (``rows`` extends what the browser has) sends only the new rows; the widget's
        own state is updated without a message, so a page that reconnects draws the whole run.
        """
        old = self.rows
        if rows == old:
            return "same"
        # Not the first rows: a message sent before the browser's view exists would be lost.
        if old and len(rows) > len(old) and rows[:len(old)] == old:
            new = rows[len(old):]
            with self._lock_property(rows=json.loads(json.dumps(rows))):
                self.rows = rows
            self.send({"method": "append", "args": [new]})
            self.sent_bytes = len(json.dumps(new))
            return "append"
        self.rows = rows
        self.sent_bytes = len(json.dumps(rows))
        return "replace"


def network_option(graph: Any, min_affinity: float = 0.25, min_sanction: float = 0.01) -> dict:
    """The relations graph (:func:`analysis.plots.relations_graph`) as an ECharts option.

    The layout of :func:`analysis.plots.network_plot`: actors on an ellipse, the West on the
    right; node colour by sanction pressure (darkest from 0.5); affinity as green (friendly) or
    red dotted (hostile) lines, hidden below ``min_affinity``; arms as orange arrows, width by
    units delivered so far, solid when shipped this month and labelled when exposed; sanctions
    as dark red dashed arrows, width by intensity.
    """
    nodes = sorted(graph.nodes, key=lambda a: -graph.nodes[a]["alignment"])
    n = max(len(nodes), 1)
    out_nodes = []
    for k, a in enumerate(nodes):
        nd = graph.nodes[a]
        angle = -math.pi / 2 + 2 * math.pi * (k + 0.5) / n
        heat = min(1.0, nd["pressure"] / 0.5)
        red = (int(255 - 90 * heat), int(240 - 220 * heat), int(230 - 210 * heat))
        out_nodes.append({
            "name": a, "x": round(155 * math.cos(angle), 1), "y": round(-120 * math.sin(angle), 1),
            "symbol": "rect" if nd["kind"] == "bloc" else "circle",
            "symbolSize": 46 if nd["kind"] == "bloc" else 42,
            "itemStyle": {"color": f"rgb({red[0]},{red[1]},{red[2]})", "borderColor": "#333"},
            "label": {"show": True, "position": "bottom", "fontSize": 9,
                      "formatter": f"{a}: GDP {nd['gdp_index']:.2f}, "
                                   f"pressure {nd['pressure']:.2f}"},
        })
    links = []
    edges = list(graph.edges(data=True))
    arms = [d["weight"] for _, _, d in edges if d["kind"] == "arms"]
    top = max(arms, default=1.0) or 1.0
    for u, v, d in edges:
        kind, w = d["kind"], float(d["weight"])
        if kind == "affinity" and abs(w) >= min_affinity:
            links.append({"source": u, "target": v, "symbol": ["none", "none"],
                          "lineStyle": {"color": "#1a9850" if w > 0 else "#d73027",
                                        "width": round(0.5 + 3 * abs(w), 2),
                                        "type": "solid" if w > 0 else "dotted", "curveness": 0}})
        elif kind == "arms":
            links.append({"source": u, "target": v, "symbol": ["none", "arrow"],
                          "label": {"show": bool(d.get("exposed")), "formatter": "exposed",
                                    "color": "#7f2704", "fontSize": 9},
                          "lineStyle": {"color": "#ff7f0e",
                                        "width": round(1.2 + 4 * math.sqrt(w / top), 2),
                                        "type": "solid" if d.get("shipped", 0) > 0 else "dotted",
                                        "curveness": 0.18}})
        elif kind == "sanctions" and w >= min_sanction:
            links.append({"source": u, "target": v, "symbol": ["none", "arrow"],
                          "lineStyle": {"color": "#67001f", "width": round(0.5 + 3.5 * w, 2),
                                        "type": "dashed", "curveness": -0.18}})
    return {
        "animation": False,
        "title": {"text": f"Relations at month {graph.graph.get('month', '?')}", "left": 0,
                  "textStyle": {"fontSize": 12}},
        "graphic": [{"type": "text", "left": 4, "bottom": 4, "style": {
            "text": "green: affinity > 0 · red dotted: < 0 · orange: arms delivered "
                    "(solid: this month) · dark red dashed: sanctions · colour: pressure",
            "fontSize": 9, "fill": "#666"}}],
        "series": [{"type": "graph", "layout": "none", "roam": False, "data": out_nodes,
                    "links": links, "edgeSymbolSize": 9, "top": 60, "bottom": 60,
                    "left": 70, "right": 70}],
    }


def fan_option(fan: pd.DataFrame, title: str, run: list[float] | None = None,
               y_range: tuple[float, float] | None = None, since: int | None = None) -> dict:
    """A fan chart (median, 50% and 90% bands) as an ECharts option.

    ``fan`` has month, p5, p25, p50, p75, p95 (:meth:`classroom.session.Futures.fan`);
    ``run`` is one run's values from month 0, drawn over the bands; ``y_range`` fixes the y
    axis (branches side by side share one); ``since`` marks the month a branch forks.
    """
    months = [int(m) for m in fan["month"]]

    def pts(values: Any) -> list[float | None]:
        return [_num(v) for v in values]

    def width(lo: str, hi: str) -> list[float | None]:
        return [_num(b - a) for a, b in zip(fan[lo], fan[hi], strict=True)]

    # Bands are stacked areas (lower edge, then the band's width on top of it): ECharts stacks
    # areas on a category axis, one category per month.
    band = {"type": "line", "showSymbol": False, "lineStyle": {"width": 0}, "silent": True}
    series = [
        {**band, "name": "p5", "data": pts(fan["p5"]), "stack": "b90"},
        {**band, "name": "90% of futures", "data": width("p5", "p95"), "stack": "b90",
         "areaStyle": {"color": "#9ecae1", "opacity": 0.5}, "color": "#9ecae1"},
        {**band, "name": "p25", "data": pts(fan["p25"]), "stack": "b50"},
        {**band, "name": "50% of futures", "data": width("p25", "p75"), "stack": "b50",
         "areaStyle": {"color": "#3182bd", "opacity": 0.45}, "color": "#3182bd"},
        {"type": "line", "name": "median", "showSymbol": False, "data": pts(fan["p50"]),
         "color": "#08519c", "lineStyle": {"width": 2}},
    ]
    if run is not None:
        series.append({"type": "line", "name": "this run", "showSymbol": False,
                       "color": "#d95f02", "lineStyle": {"width": 2},
                       "data": [_num(v) for v in run]})
    if since is not None:
        series[-1]["markLine"] = {"silent": True, "symbol": "none", "label": {
            "formatter": f"fork: month {since}", "fontSize": 9},
            "lineStyle": {"color": "#999", "type": "dashed"}, "data": [{"xAxis": str(since)}]}
    y: dict[str, Any] = {"type": "value", "scale": True}
    if y_range is not None:
        y.update(min=math.floor(y_range[0] * 100) / 100, max=math.ceil(y_range[1] * 100) / 100)
    return {
        "animation": False,
        "title": {"text": title, "left": 0, "textStyle": {"fontSize": 12}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 20, "data": ["90% of futures", "50% of futures", "median",
                                       *(["this run"] if run is not None else [])],
                   "textStyle": {"fontSize": 10}},
        "grid": {"left": 50, "right": 14, "top": 50, "bottom": 28},
        "xAxis": {"type": "category", "data": [str(m) for m in months], "boundaryGap": False,
                  "name": "month", "nameLocation": "middle", "nameGap": 20},
        "yAxis": y,
        "series": series,
    }
