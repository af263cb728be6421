"""Reports: one self-contained HTML page from saved results.

Tables, plots (embedded PNG) and a summary in plain words.

The report reads only what is on disk: each result folder's ``manifest.json`` and its Parquet
files (a policy comparison, a sweep with its sensitivity indices and PRIM box, an ensemble, a
single run). It never runs the model, so a report can be rebuilt anywhere from the files alone.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analysis._common import fmt_pct
from sim.errors import UsageError
from sim.results.provenance import MANIFEST, RESULT_KINDS, read_result_manifest

#: The kinds of result folder a report shows.
KINDS = RESULT_KINDS


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.summary { background: #f6f8fa; border-left: 4px solid #36c; padding: 0.6em 1em; }
.meta { color: #666; font-size: 0.85em; }
"""


def find_results(folder: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Result folders at or below ``folder`` (two levels), each with its manifest.

    A folder is a result when its ``manifest.json`` names one of
    :data:`sim.results.provenance.RESULT_KINDS` (read by
    :func:`sim.results.provenance.read_result_manifest`); other folders (a chunked job's
    dataset, files of other programs) are skipped.
    """
    folder = Path(folder)
    found = []
    candidates = [folder / MANIFEST, *sorted(folder.glob(f"*/{MANIFEST}")),
                  *sorted(folder.glob(f"*/*/{MANIFEST}"))]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            info = read_result_manifest(path.parent)
        except UsageError:
            continue
        found.append((path.parent, info))
    return found


def _kind(folder: Path, info: dict[str, Any]) -> str:
    """The folder's kind, as its manifest names it (checked by :func:`find_results`)."""
    return info["kind"]


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(fig: Any, alt: str) -> str:
    import matplotlib.pyplot as plt

    from analysis.plots import png_bytes

    try:
        return _img(png_bytes(fig), alt)
    finally:
        plt.close(fig)


def _table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    return df.to_html(index=False, border=0, float_format=floatfmt.format, na_rep="n/a",
                      escape=True)


def _meta_line(info: dict[str, Any]) -> str:
    keys = ("scenario", "seed", "runs", "months", "design", "runs_per_point", "created_utc",
            "scenario_hash")
    parts = []
    for k in keys:
        if k in info:
            v = info[k]
            if k == "scenario_hash":
                v = str(v)[:12]
            parts.append(f"{k}: {html.escape(str(v))}")
    versions = info.get("versions", {})
    if versions:
        parts.append("diplosim " + html.escape(str(versions.get("diplosim", "?"))))
    return f'<p class="meta">{"; ".join(parts)}</p>'


# ---------------------------------------------------------------------------------------------
# Sections


def comparison_section(folder: Path, info: dict[str, Any]) -> tuple[str, list[str]]:
    """HTML and summary sentences of a saved policy comparison."""
    from analysis.compare import PolicyComparison
    from analysis.plots import forest_plot

    cmp = PolicyComparison.load(folder)
    sentences = cmp.sentences()
    outcomes = list(dict.fromkeys(cmp.table["outcome"]))
    shares = set(cmp.table.loc[cmp.table["kind"] == "proportion", "outcome"])
    shown = [o for o in outcomes if o in shares] + [
        o for o in ("transfers_detected", "escalations", "war_intensity_final")
        if o in outcomes]
    shown = shown or outcomes[:6]
    t = cmp.table[cmp.table["outcome"].isin(shown)].copy()
    rows = []
    for _, r in t.iterrows():
        prop = r["kind"] == "proportion"
        f = (lambda v: fmt_pct(v, 1)) if prop else (lambda v: f"{v:.4g}")
        if prop:
            d = (f"{100 * r['diff']:+.1f} pts [{100 * r['diff_low']:+.1f}, "
                 f"{100 * r['diff_high']:+.1f}]")
        else:
            d = f"{r['diff']:+.4g} [{r['diff_low']:+.4g}, {r['diff_high']:+.4g}]"
        rows.append({"outcome": r["outcome"], "policy": cmp.titles.get(r["policy"], r["policy"]),
                     "estimate": f(r["estimate"]), "95% CI": f"[{f(r['low'])}, {f(r['high'])}]",
                     f"paired difference from {cmp.titles.get(cmp.reference, cmp.reference)}":
                     "reference" if r["policy"] == cmp.reference else d})
    fig = forest_plot(cmp.table, [o for o in shown if o != "relief_broken"][:3], cmp.reference,
                      cmp.titles)
    title = info.get("title", info.get("scenario", ""))
    body = [f"<h2>Policy comparison: {html.escape(str(title))}</h2>", _meta_line(info),
            '<div class="summary">' + "".join(f"<p>{html.escape(s)}</p>" for s in sentences)
            + "</div>",
            f"<p>{cmp.n_runs} runs per policy on common random numbers (run <i>r</i> of every "
            "policy sees the same draws), so differences are paired. Proportions with Wilson "
            "intervals, means and paired differences with Student t intervals.</p>",
            _figure(fig, "forest plot"), _table(pd.DataFrame(rows))]
    return "\n".join(body), sentences


def sweep_section(folder: Path, info: dict[str, Any]) -> tuple[str, list[str]]:
    """HTML and summary sentences of a saved sweep (with sensitivity and PRIM if saved)."""
    from analysis import plots
    from analysis.discovery import discover
    from analysis.sensitivity import format_table
    from analysis.sweep import SweepResult

    res = SweepResult.load(folder)
    keys = [f.key for f in res.factors]
    shares = set(info.get("proportions", ()))  # the yes/no outcomes, from their declarations
    outcomes = info.get("outcomes") or [o for o in res.outcomes if o in shares][:3]
    sentences = []
    factors = pd.DataFrame([{"parameter": f.key, "low": f.low, "high": f.high}
                            for f in res.factors])
    body = [f"<h2>Sweep ({html.escape(res.design)} design): "
            f"{html.escape(str(info.get('title', info.get('scenario', ''))))}</h2>",
            _meta_line(info),
            f"<p>{len(res.table)} design points x {res.runs_per_point} runs each, the same "
            "runs at every point (common random numbers).</p>", _table(factors)]
    for o in outcomes:
        col = res.table[o]
        if col.isna().all():
            continue
        lo_pt, hi_pt = res.table.loc[col.idxmin()], res.table.loc[col.idxmax()]
        fmt = (lambda v: fmt_pct(v)) if o in shares else (lambda v: f"{v:.3g}")
        text = f"Across the sweep, {o.replace('_', ' ')} ranges from {fmt(col.min())}"
        if len(keys) <= 2:
            text += (f" (at {', '.join(f'{k} = {lo_pt[k]:.3g}' for k in keys)}) to "
                     f"{fmt(col.max())} (at {', '.join(f'{k} = {hi_pt[k]:.3g}' for k in keys)}).")
        else:
            text += f" to {fmt(col.max())} over the design points."
        sentences.append(text)
    sens_path = folder / "sensitivity.parquet"
    if sens_path.exists():
        idx = pd.read_parquet(sens_path)
        body.append("<h3>Sensitivity</h3>")
        body.append(_figure(plots.sensitivity_bars(idx), "sensitivity indices"))
        body.append(f"<pre>{html.escape(format_table(idx))}</pre>")
        col = "ST" if "ST" in idx.columns else "mu_star"
        for o, block in idx.groupby("outcome", sort=False):
            top = block.sort_values(col, ascending=False).iloc[0]
            what = "total Sobol' index" if col == "ST" else "Morris mu*"
            sentences.append(f"{o.replace('_', ' ').capitalize()} depends most on "
                             f"{top['parameter']} ({what} {top[col]:.2f}).")
    box = None
    disc_path = folder / "discovery.json"
    if disc_path.exists():
        disc = json.loads(disc_path.read_text())
        box = discover(res.table, keys, disc["condition"])
        body.append("<h3>Scenario discovery (PRIM)</h3>")
        body.append(f"<p>Where <code>{html.escape(disc['condition'])}</code>: "
                    f"{html.escape(box.describe())}.</p>")
        body.append(_figure(plots.prim_trajectory(box), "PRIM trajectory"))
        sentences.append(f"{disc['condition']} holds mostly where {' and '.join(box.conditions())}"
                         f" (coverage {box.coverage:.0%}, density {box.density:.0%})."
                         if box.restricted else f"{disc['condition']}: PRIM found no "
                         "restriction of the parameters that concentrates it.")
    if len(keys) >= 2 and outcomes:
        body.append(_figure(plots.sweep_surface(res.table, keys[0], keys[1], outcomes[0],
                                                box=box, share=outcomes[0] in shares),
                            "sweep surface"))
    elif len(keys) == 1 and outcomes:
        body.append(_figure(_line(res.table, keys[0], outcomes), "sweep outcome"))
    show = res.table[["point", *keys, *outcomes]]
    body.append(_table(show.head(50)))
    if len(show) > 50:
        body.append(f"<p class='meta'>(first 50 of {len(show)} points; all in "
                    "sweep.parquet)</p>")
    return "\n".join(body), sentences


def _line(table: pd.DataFrame, key: str, outcomes: list[str]) -> Any:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(outcomes), figsize=(4 * len(outcomes), 3.2), squeeze=False)
    t = table.sort_values(key)
    for ax, o in zip(axes[0], outcomes, strict=True):
        ax.plot(t[key], t[o], "o-", ms=3)
        ax.set_xlabel(key)
        ax.set_title(o.replace("_", " "), fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _summary_frame(folder: Path, info: dict[str, Any]) -> pd.DataFrame | None:
    names = info.get("files") or [p.name for p in sorted(folder.glob("*.parquet"))]
    for name in names:
        path = folder / name
        if path.suffix != ".parquet" or not path.exists():
            continue
        df = pd.read_parquet(path)
        if "run" in df.columns and "month" not in df.columns and len(df.columns) > 2:
            return df
    return None


def ensemble_section(folder: Path, info: dict[str, Any]) -> tuple[str, list[str]]:
    """HTML and summary of a saved ensemble: its outcome table, and a fan chart if bands saved.

    The table is :func:`sim.results.table.outcome_table`, the one ``diplosim run`` prints and the
    classroom app shows, read with the scenario saved beside the runs (its outcome
    declarations).
    """
    from analysis.plots import fan_chart
    from sim.results.table import constant_note, estimate_text, interval_text, outcome_table
    from sim.scenario import load_scenario

    df = _summary_frame(folder, info)
    title = f"<h2>Ensemble: {html.escape(str(info.get('scenario', folder.name)))}</h2>"
    if df is None:
        return f"{title}<p>No run summaries found in {html.escape(str(folder))}.</p>", []
    if not (folder / "scenario.toml").is_file():
        return (f"{title}<p>No scenario.toml beside the runs: its outcomes cannot be "
                "described.</p>", [])
    table = outcome_table(df, load_scenario(folder / "scenario.toml"))
    rows, sentences = [], []
    for r in table.itertuples(index=False):
        rows.append({"outcome": r.outcome, "what": r.label,
                     "estimate": estimate_text(r.kind, r.estimate),
                     "95% CI": interval_text(r.kind, r.lo, r.hi), "runs": r.n, "unit": r.unit})
        if r.outcome.endswith("_reached") and r.kind == "probability" and r.n:
            sentences.append(f"In {info.get('scenario', folder.name)}, "
                             f"{r.outcome.removesuffix('_reached')} is reached in "
                             f"{fmt_pct(r.estimate)} [{fmt_pct(r.lo)[:-1]}-{fmt_pct(r.hi)}] of "
                             f"{r.n} runs.")
    body = [title, _meta_line(info)]
    for path in sorted(folder.glob("*.parquet")):
        b = pd.read_parquet(path) if "band" in path.name else None
        if b is not None and {"month", "metric", "q05", "q25", "q50", "q75", "q95"} <= \
                set(b.columns):
            actors = [m[len("pressure_"):] for m in dict.fromkeys(b["metric"])
                      if m.startswith("pressure_") and b.loc[b["metric"] == m, "q95"].max() > 0]
            if actors:
                body.append(_figure(fan_chart(b, "pressure", actors[:4]), "fan chart"))
    body.append(_table(pd.DataFrame(rows)))
    note = constant_note(table)
    if note:
        body.append(f"<p class=\"constant\">{html.escape(note[:1].upper() + note[1:])}.</p>")
    return "\n".join(body), sentences


def single_run_section(folder: Path, info: dict[str, Any]) -> tuple[str, list[str]]:
    """HTML of a saved single run: outcomes, monthly pressure and the story."""
    import matplotlib.pyplot as plt

    body = [f"<h2>One run: {html.escape(str(info.get('scenario', folder.name)))}, seed "
            f"{html.escape(str(info.get('seed', '?')))}</h2>", _meta_line(info)]
    sentences = []
    if (folder / "monthly.parquet").exists():
        m = pd.read_parquet(folder / "monthly.parquet")
        cols = [c for c in m.columns if c.startswith("pressure_") and m[c].max() > 0]
        if cols:
            fig, ax = plt.subplots(figsize=(7, 3.4))
            for c in cols:
                ax.plot(m["month"] if "month" in m else m.index, m[c], label=c[9:])
            ax.set_xlabel("month")
            ax.set_ylabel("sanction pressure")
            ax.legend(frameon=False, fontsize=8)
            ax.grid(alpha=0.3)
            fig.tight_layout()
            body.append(_figure(fig, "monthly pressure"))
    if (folder / "outcomes.parquet").exists():
        o = pd.read_parquet(folder / "outcomes.parquet").T.reset_index()
        o.columns = ["outcome", "value"]
        body.append(_table(o))
    if (folder / "events.parquet").exists():
        ev = pd.read_parquet(folder / "events.parquet")
        body.append("<h3>Story</h3><ul>" + "".join(
            f"<li>month {int(r.month)}: {html.escape(str(r.text))}</li>"
            for r in ev.itertuples()) + "</ul>")
        sentences.append(f"One run of {info.get('scenario', folder.name)} (seed "
                         f"{info.get('seed', '?')}) tells {len(ev)} events.")
    return "\n".join(body), sentences


SECTIONS = {"comparison": comparison_section, "sweep": sweep_section,
            "ensemble": ensemble_section, "single": single_run_section}


def build_report(found: Iterable[tuple[Path, dict[str, Any]]],
                 title: str = "diplosim report") -> tuple[str, list[str]]:
    """The HTML page and its plain-words summary lines from result folders."""
    parts, summary, groups = [], [], []
    labels = {"comparison": "Policy comparison", "sweep": "Sweep", "ensemble": "Ensemble",
              "single": "One run"}
    for folder, info in found:
        kind = _kind(folder, info)
        section, sentences = SECTIONS[kind](folder, info)
        parts.append(section)
        summary.extend(sentences)
        if sentences:
            groups.append((f"{labels[kind]} ({folder.name})", sentences))
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class='meta'>Built {made} from saved results by "
            "<code>diplosim report</code>. A what-if model, not a forecast: every figure "
            "depends on the scenario's assumptions.</p>")
    summary_html = ("<h2>Summary</h2><div class='summary'>" + "".join(
        f"<h4>{html.escape(head)}</h4>" + "".join(f"<p>{html.escape(s)}</p>" for s in lines)
        for head, lines in groups) + "</div>") if groups else ""
    page = head + summary_html + "\n".join(parts) + "</body></html>\n"
    return page, summary
