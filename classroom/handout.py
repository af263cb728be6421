"""A printable handout of a classroom run: one HTML file with its story, charts and questions.

:func:`handout` writes what a teacher hands out or a student hands in: the scenario and its
settings (enough to reopen the run: scenario, policy, controls, seed, month), the six charts and
the network (matplotlib, as in the reports, as PNG images inside the file), the futures' outcome
table and the branches side by side when they were computed, the story with its reasons, and
questions from the scenario's teaching section. Every text is escaped; the file needs nothing
else (no script, no web font, no network) and its print style puts each part on whole pages.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from classroom.session import Classroom

_STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 820px; margin: 24px auto;
       color: #222; line-height: 1.35; }
h1 { font-size: 22px; margin-bottom: 2px; } h2 { font-size: 17px; margin-top: 22px;
     border-bottom: 1px solid #999; } .meta { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
td, th { padding: 2px 8px; text-align: left; border-bottom: 1px solid #ddd; }
img { max-width: 100%; } .why { color: #666; font-size: 11px; margin-left: 16px; }
.month { font-weight: bold; margin-top: 6px; } .story div { font-size: 12px; }
.question { margin: 8px 0 26px 0; } .answer { border-bottom: 1px dotted #999; height: 22px; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               .figure, table, .question { break-inside: avoid; } }
@page { margin: 16mm; }
"""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


def _img(fig: Figure, alt: str) -> str:
    return (f'<div class="figure"><img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{_png(fig)}"></div>')


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    e = html.escape
    out = [f'<table class="{cls}"><tr>' + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
    return "".join(out) + "</table>"


def questions(teaching: dict) -> list[str]:
    """Questions for the handout from the scenario's teaching section.

    Each "what to notice" becomes a question about the run in hand, each "thing to try" an
    exercise; two general questions about chance and reasons close the list.
    """
    out = [f"{item} Where do you see this in your run (month, story line, chart), or why "
           "not?" for item in teaching["notice"]]
    out += [f"Try this: {item} What changed, from which month, and why?"
            for item in teaching["try"]]
    out.append("Which decision in the story mattered most for how your run ended? Read its "
               "reasons: what would have had to differ for it to go the other way?")
    out.append("Your run is one of many futures. Is its ending the usual one? Use the "
               "futures' table (or run them) to say how often it happens.")
    return out


def handout(room: Classroom) -> str:
    """The handout of ``room``'s run, as one HTML document (see the module's text)."""
    from analysis.plots import network_plot, relations_graph
    from classroom.figures import run_charts
    from classroom.session import monthly_labels

    e = html.escape
    with room._lock:
        scn, model = room.scenario, room.model
        t = room.teaching
        monthly = room.monthly()
        graph = relations_graph(model)
        story = room.story_events_by_month(newest_first=False)
        settings = room.whatif()
        futures, comparison = room.futures, room.comparison
        facts = room.so_far()
        month = room.month
    labels = monthly_labels(scn)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{e(t['title'])}: handout</title><style>{_STYLE}</style></head><body>"]
    parts.append(f"<h1>{e(t['title'])}</h1>")
    controls = ", ".join(f"{k} = {v}" for k, v in settings["overrides"].items()) or "none"
    parts.append(
        f"<div class='meta'>diplosim classroom · scenario {e(settings['scenario_name'])} · "
        f"policy {e(settings['policy'] or 'none')} · controls moved: {e(controls)} · seed "
        f"{e(settings['seed'])} · month {month} of {scn.horizon} "
        f"({e(room.calendar()) if month else 'start'})</div>")
    if t["description"]:
        parts.append(f"<p>{e(t['description'])}</p>")
    parts.append("<p>" + " · ".join(f"{e(k)}: {e(v)}" for k, v in facts.items()) + "</p>")
    parts.append("<h2>The run, month by month</h2>")
    parts.append(_img(run_charts(monthly, labels, scn.horizon), "the run's six charts"))
    parts.append(_img(network_plot(graph), f"relations at month {month}"))
    if futures is not None:
        parts.append(f"<h2>{futures.runs:,} futures of these settings (seed {futures.seed})"
                     "</h2>")
        rows = [[r["label"], r["estimate"], r["ci"], r["unit"]]
                for r in futures.rows(headline=True)]
        parts.append(_table(["outcome", "estimate", "95% CI", "unit"], rows, "futures"))
    if comparison is not None:
        parts.append(f"<h2>What-if branches (from month {comparison.month}, same draws)</h2>")
        parts.append("<ul>" + "".join(f"<li>{e(b.label)}</li>" for b in comparison.branches)
                     + "</ul>")
        rows = [[r["label"], *r["cells"]] for r in comparison.rows()]
        parts.append(_table(["outcome", *comparison.names], rows, "branches"))
    parts.append("<h2>The story of the run</h2><div class='story'>")
    for m, events in story:
        parts.append(f"<div class='month'>Month {m} ({e(room.calendar(m))})</div>")
        for ev in events:
            parts.append(f"<div>{e(ev.text)}</div>")
            if ev.why:
                parts.append(f"<div class='why'>why: {e(ev.why)}</div>")
    if not story:
        parts.append("<div>Nothing has happened yet: the run is at its start.</div>")
    parts.append("</div><h2>Questions</h2><ol>")
    for q in questions(t):
        parts.append(f"<li class='question'>{e(q)}<div class='answer'></div>"
                     "<div class='answer'></div></li>")
    parts.append("</ol><p class='meta'>Reopen this run: load the what-if file saved with it "
                 "in the classroom app, or run the scenario with the seed above.</p>"
                 "</body></html>")
    return "".join(parts)
