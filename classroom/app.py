"""The classroom page (Solara): pick a scenario, move a slider, watch what happens and why.

Start it with ``diplosim ui`` (or ``solara run classroom/app.py``). Each browser tab gets its own
:class:`~classroom.session.Classroom`; this module only lays out its state and forwards clicks to
it. The page is written with plain Solara components rather than Mesa's ``SolaraViz``: SolaraViz
rebuilds the model from keyword arguments of its sliders, while here every setting is a dotted
scenario key validated by :meth:`sim.Scenario.with_overrides`, and a refused value must show its
message beside its control instead of stopping the page. The one run is still a Mesa model
(:class:`sim.DiplomacyModel`) and the step counter is Mesa's (``model.steps``).

Nothing typed or uploaded is executed: numbers are read as TOML values, files with
:mod:`tomllib`, and text is shown as text (no HTML, no Markdown).
"""

from __future__ import annotations

import html
import json
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable
from typing import Any

import solara
from solara import v

from classroom.charts import (
    RECORD_SCENARIO,
    EchartsFigure,
    RunChart,
    fan_option,
    figure_json,
    network_option,
    record_marks,
    run_panels,
    with_marks,
)
from classroom.controls import Control
from classroom.roleplay import Room, Rooms, compare_with_model
from classroom.session import (
    EDITOR_EXAMPLE,
    FUTURES_RUNS,
    NO_POLICY,
    Classroom,
    futures_waiting,
    monthly_labels,
    run_futures,
    warm_kernel,
)
from sim.core import layout as L
from sim.engines.choices import Choice
from sim.errors import UsageError


def first_figure(room: Classroom) -> str:
    """The figure a fan chart opens on: the GDP of the first covert supplier.

    Iran in the baseline, else the first actor: any scenario's actors, none assumed.
    """
    cs = room.scenario.compile()
    for r in range(len(cs.route_ids)):
        if cs.CP[int(cs.RP[r, L.R_CATEGORY]), L.C_ESC_W] > 0:
            return f"gdp_index_{cs.actor_ids[int(cs.RP[r, L.R_SUPPLIER])]}"
    return f"gdp_index_{cs.actor_ids[0]}"


PLAY_INTERVAL_S = 0.5
"""Pause between months while playing (seconds)."""
MAX_UPLOAD_BYTES = 1_000_000

_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def ensure_warm() -> None:
    """Compile or load the ensemble kernel once per server process, in the background."""
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None:
            _warm_thread = threading.Thread(target=warm_kernel, name="diplosim-warm",
                                            daemon=True)
            _warm_thread.start()


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _slug(key: str) -> str:
    return "control-" + key.replace(".", "-").replace("_", "-")


def _small(text: str, colour: str = "#555") -> None:
    solara.Text(text, style={"font-size": "12px", "color": colour})


def _error(text: str, slot: str) -> None:
    v.Html(tag="div", children=[text], class_=f"diplosim-error error-{slot}",
           style_="color: #b00020; font-size: 12px; margin: 2px 0 6px 0;")


@solara.component
def ControlView(control: Control, value: float | None, err: str | None,
                on_set: Callable[[str, Any], None], on_text: Callable[[str, str], None]):
    """One control with its name, unit and range.

    A slider (or switch), an exact-value field, and the message of a refused value beside it.
    It re-renders only when its value or message changes.
    """
    with solara.Column(gap="0px", classes=[_slug(control.key)],
                       style={"margin-bottom": "6px"}):
        solara.Text(control.label, style={"font-weight": "600", "font-size": "13px"})
        _small(f"{control.unit}; range {control.range_text}")
        with solara.Row(gap="8px", style={"align-items": "center"}):
            if control.kind == "switch":
                on = bool(value is not None and value >= 0.5)
                solara.Switch(label="yes" if on else "no", value=on,
                              on_value=lambda b: on_set(control.key, 1.0 if b else 0.0))
            else:
                shown = min(max(value if value is not None else control.lo, control.lo),
                            control.hi)
                with solara.Column(style={"flex": "1 1 auto", "min-width": "120px"}):
                    solara.SliderFloat(label="", value=shown, min=control.lo, max=control.hi,
                                       step=control.step,
                                       on_value=lambda x: on_set(control.key, float(x)))
            with solara.Column(style={"width": "86px", "flex": "0 0 86px"}):
                solara.InputText(label="value", value=_fmt(value), dense=True,
                                 error=bool(err),
                                 on_value=lambda text: on_text(control.key, text or ""))
        if err:
            _error(f"Not applied: {err}. The run keeps {_fmt(value)}.", control.key)


@solara.component
def ScenarioEditor(on_use: Callable[[str], None]):
    """A text box for typing or pasting a scenario, and a button to use it."""
    text, set_text = solara.use_state(EDITOR_EXAMPLE)
    with solara.Column(gap="4px", classes=["scenario-editor"]):
        _small("or type or paste a scenario:")
        solara.InputTextArea("Scenario (TOML)", value=text, on_value=set_text, rows=7,
                             continuous_update=True)
        solara.Button("Use this scenario", outlined=True, on_click=lambda: on_use(text))


@solara.component
def Teaching(room: Classroom, settings: int):
    """Title, description, what to notice and things to try, of the current scenario."""
    t = room.teaching
    with solara.Card(t["title"], classes=["teaching"]):
        if t["description"]:
            solara.Text(t["description"])
        for heading, items in (("What to notice", t["notice"]), ("Things to try", t["try"])):
            if items:
                solara.Text(heading, style={"font-weight": "600", "margin-top": "8px",
                                            "display": "block"})
                v.Html(tag="ul", children=[v.Html(tag="li", children=[item]) for item in items])
        if room.notice:
            solara.Info(room.notice, dense=True)


def _story_month_html(month: int, when: str, events: tuple[tuple[str, str], ...]) -> str:
    """One month of the story as HTML, every text escaped (shown as text, never as markup)."""
    out = [f'<div style="font-weight: 600; margin-top: 6px">Month {month} '
           f"({html.escape(when)})</div>"]
    for text, why in events:
        out.append(f'<div class="story-line" style="font-size: 13px">Month {month}: '
                   f"{html.escape(text)}</div>")
        if why:
            out.append('<div class="story-why" style="font-size: 12px; color: #666; '
                       f'margin: 0 0 3px 14px">why: {html.escape(why)}</div>')
    return "".join(out)


@solara.component
def StoryMonth(month: int, when: str, events: tuple[tuple[str, str], ...]):
    """One month of the story: one element, re-drawn only if that month's lines change."""
    text = solara.use_memo(lambda: _story_month_html(month, when, events), [month, when, events])
    solara.HTML(tag="div", unsafe_innerHTML=text, classes=["story-month"])


@solara.component
def Story(room: Classroom, run: int):
    """The story of the run in plain words, newest month first.

    Under each decision, in grey, its reasons: the terms that weighed most in it. A month is
    one element (its lines escaped), so a step adds one and leaves the others alone.
    """
    with solara.Card("Story of the run", classes=["story"]):
        months = room.story_events_by_month(newest_first=True)
        with solara.Column(gap="2px", style={"max-height": "440px", "overflow-y": "auto"}):
            if not months:
                _small("Nothing has happened yet: press Step or Play.")
            else:
                _small("Under a decision, why: the terms that weighed most in it (for a "
                       "shipment, its utility's terms: positive for shipping, negative against).")
            for month, events in months:
                StoryMonth(month, room.calendar(month),
                           tuple((ev.text, ev.why) for ev in events)).key(f"m{month}")


def use_background(work: Callable[[], Any], done: solara.Reactive[int]
                   ) -> tuple[Callable[[], None], bool, str]:
    """Run ``work`` in a thread of its own each time the returned ``start`` is called.

    For long work (an ensemble of futures): the Numba kernel releases the GIL, so other pages
    keep answering. Returns ``(start, busy, error)``: ``error`` is the last failure's message
    ('' after a success; the traceback goes to the server's log). ``done`` is moved on when the
    work ends, so that what shows its result re-renders. A hook: call it from a component.
    """
    request = solara.use_reactive(0)
    busy = solara.use_reactive(False)
    failed = solara.use_reactive("")

    def compute() -> None:
        if not request.value:
            return
        try:
            work()
            failed.value = ""
        except Exception as exc:  # noqa: BLE001 (shown beside the button, logged for us)
            traceback.print_exc()
            failed.value = f"{type(exc).__name__}: {exc}"
        finally:
            busy.value = False
            done.value += 1

    solara.use_thread(compute, dependencies=[request.value], intrusive_cancel=False)

    def start() -> None:
        busy.value = True
        request.value += 1

    return start, busy.value, failed.value


def _table_rows(rows: list[dict[str, Any]]) -> list[Any]:
    """Rows of :meth:`classroom.session.Futures.rows` as HTML table rows."""
    cell = "padding: 2px 10px; white-space: nowrap"
    return [v.Html(tag="tr", children=[
        v.Html(tag="td", children=[r["label"]], style_="padding: 2px 10px 2px 0"),
        v.Html(tag="td", children=[r["estimate"]], style_="text-align: right; " + cell),
        v.Html(tag="td", children=[r["ci"]], style_="color: #555; " + cell),
        v.Html(tag="td", children=[r["runs"]], style_="text-align: right; color: #555; " + cell),
        v.Html(tag="td", children=[r["unit"]], style_="padding: 2px 0; color: #777"),
    ]) for r in rows]


@solara.component
def FuturesView(room: Classroom, settings: int, futures: solara.Reactive[int]):
    """The "Run 1,000 futures" button, the outcome table with 95% intervals and a fan chart.

    The ensemble runs in a thread of its own (the Numba kernel releases the GIL), so other
    pages keep answering while it runs; one ensemble at a time per server
    (:func:`classroom.session.run_futures`). Not re-drawn by the run's steps: the fan chart's
    "this run" shows the run up to the month the chart was drawn.
    """
    _ = futures.value
    figure, set_figure = solara.use_state(first_figure(room))
    on_run, running, error = use_background(room.run_futures, futures)
    labels = solara.use_memo(lambda: monthly_labels(room.scenario),
                             [room.scenario_hash])
    f = room.futures
    fan_key = [id(f), figure, room.month, room.scenario_hash, room.seed]

    def draw_fan():
        if f is None or figure not in f.band_names:
            return None
        label = labels.get(figure, figure)
        mine = room.monthly().get(figure)
        return figure_json(fan_option(f.fan(figure), f"{label}: {f.runs:,} futures",
                                      run=None if mine is None else mine.tolist()))

    fig = solara.use_memo(draw_fan, fan_key)
    with solara.Card(f"{FUTURES_RUNS:,} futures", classes=["futures"]):
        _small("Every future is one run of the current settings with its own random draws "
               "(run r of the seed); the shares below are how often something happened, with "
               "95% confidence intervals (Wilson for shares, Student t for means).")
        with solara.Row(style={"align-items": "center"}):
            solara.Button(f"Run {FUTURES_RUNS:,} futures", color="primary", on_click=on_run,
                          disabled=running)
            if running:
                others = futures_waiting() - 1
                queue = f" ({others} other ensemble{'s' * (others != 1)} of the class first)" \
                    if others > 0 else ""
                solara.Text(f"Running {FUTURES_RUNS:,} futures…{queue}")
        if error:
            _error(f"The futures could not be run: {error}", "futures")
        if f is None:
            return
        when = "" if room.futures_current else \
            " (computed for earlier settings: run again to update)"
        solara.Text(f"{f.runs:,} futures, seed {f.seed}, in {f.seconds:.2f} s{when}",
                    classes=["futures-done"])
        head = v.Html(tag="tr", children=[
            v.Html(tag="th", children=[h], style_="text-align: left; padding: 2px 10px 2px 0")
            for h in ("outcome", "estimate", "95% CI", "runs", "unit")])
        choices = [n for n in f.band_names if n in labels]
        names = {labels[n]: n for n in choices}
        current = labels.get(figure, labels[choices[0]]) if choices else ""
        with solara.Columns([3, 2]):
            with solara.Column(gap="0px"):
                style = "font-size: 13px; border-collapse: collapse; margin: 8px 0"
                v.Html(tag="table", class_="futures-table", style_=style,
                       children=[head, *_table_rows(f.rows(headline=True))])
                more = f.rows(headline=False)
                solara.Details(f"Other outcomes ({len(more)})", children=[v.Html(
                    tag="table", class_="futures-table-more", style_=style,
                    children=[head, *_table_rows(more)])])
            with solara.Column():
                solara.Select("Fan chart of", values=list(names), value=current,
                              on_value=lambda label: set_figure(names[label]))
                if fig is not None:
                    with solara.Column(classes=["fan-chart"]):
                        EchartsFigure.element(option_json=fig,
                                              attributes={"style": "height: 320px;"})


@solara.component
def BranchesView(room: Classroom, month: int, settings: int):
    """What-if branches forked from the run at its month, and their futures side by side.

    Each branch switches a policy and/or moves a control from the next month on; "Compare"
    runs 1,000 futures of the run as it is and of each branch on the same seed, so that run r
    of every column shares its first months and meets the same draws (common random numbers).
    """
    version = solara.use_reactive(0)
    policy, set_policy = solara.use_state(NO_POLICY)
    control, set_control = solara.use_state("")
    value, set_value = solara.use_state("")
    figure, set_figure = solara.use_state(first_figure(room))
    _ = version.value
    on_compare, busy, failed = use_background(room.compare_branches, version)

    labels_by_key = {c.label: c.key for c in room.controls}

    def on_add() -> None:
        room.add_branch(policy, labels_by_key.get(control), value)
        version.value += 1

    def on_remove(name: str) -> None:
        room.remove_branch(name)
        version.value += 1

    labels = solara.use_memo(lambda: monthly_labels(room.scenario),
                             [room.scenario_hash])
    c = room.comparison
    with solara.Card("What-if branches", classes=["branches"]):
        _small(f"Fork the run at month {month}: from month {month + 1}, switch a policy "
               "and/or move a control, then compare 1,000 futures of each with the run as it "
               "is. Run r of every column is the same run up to the fork and meets the same "
               "random draws after it (common random numbers): the differences are the "
               "branch's doing.")
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            with solara.Column(style={"width": "200px"}):
                solara.Select("Switch to policy", values=room.policy_choices, value=policy,
                              on_value=set_policy)
            with solara.Column(style={"width": "220px"}, classes=["branch-control"]):
                solara.Select("and/or move", values=["", *labels_by_key], value=control,
                              on_value=set_control)
            with solara.Column(style={"width": "90px"}, classes=["branch-value"]):
                solara.InputText("to", value=value, on_value=set_value, dense=True)
            solara.Button("Add branch", outlined=True, on_click=on_add,
                          disabled=room.finished)
        if "branch" in room.errors:
            _error(room.errors["branch"], "branch")
        for b in room.branches:
            with solara.Row(style={"align-items": "center"}, classes=["branch-item"]):
                solara.Text(b.label)
                solara.Button("Remove", text=True, small=True,
                              on_click=lambda name=b.name: on_remove(name))
        with solara.Row(style={"align-items": "center"}):
            solara.Button(f"Compare {FUTURES_RUNS:,} futures of each", color="primary",
                          on_click=on_compare, disabled=busy or not room.branches)
            if busy:
                solara.Text("Running the futures of every branch…")
        if failed:
            _error(f"The branches could not be compared: {failed}", "branches")
        if c is None:
            return
        solara.Text(f"Futures from month {c.month}, seed {c.futures[0].seed}, "
                    f"{c.futures[0].runs:,} runs each", classes=["branches-done"])
        head = v.Html(tag="tr", children=[
            v.Html(tag="th", children=[h], style_="text-align: left; padding: 2px 10px 2px 0")
            for h in ("outcome", *c.names)])
        cell = "padding: 2px 10px; white-space: nowrap"
        rows = [v.Html(tag="tr", children=[
            v.Html(tag="td", children=[r["label"]], style_="padding: 2px 10px 2px 0"),
            *(v.Html(tag="td", children=[x], style_=cell) for x in r["cells"])])
            for r in c.rows()]
        v.Html(tag="table", class_="branches-table", children=[head, *rows],
               style_="font-size: 13px; border-collapse: collapse; margin: 8px 0")
        with solara.Column(gap="0px"):
            for b in c.branches:
                _small(b.label)
        choices = [n for n in c.futures[0].band_names if n in labels]
        names = {labels[n]: n for n in choices}
        solara.Select("Fan charts of", values=list(names),
                      value=labels.get(figure, labels[choices[0]]) if choices else "",
                      on_value=lambda label: set_figure(names[label]))
        if figure in choices:
            y = c.y_range(figure)
            with solara.Columns([1] * len(c.futures)):
                for name, f, b in zip(c.names, c.futures, (None, *c.branches), strict=True):
                    opt = fan_option(f.fan(figure), f"{labels[figure]}: {name}", y_range=y,
                                     since=None if b is None else b.month)
                    with solara.Column(classes=["branch-fan"]):
                        EchartsFigure.element(option_json=figure_json(opt),
                                              attributes={"style": "height: 280px;"})


def _marks_of(room: Classroom) -> dict[str, list[dict]]:
    """The observed record's marks for the run's panels (:func:`classroom.charts.record_marks`)."""
    from analysis.calibration.abc import target_columns

    return record_marks(room.scenario.spec.meta.start, room.scenario.horizon,
                        target_columns(room.scenario))


@solara.component
def RunCharts(room: Classroom, version: int, labels: dict[str, str], overlay: bool = False):
    """The run's six panels, drawn in the browser (:class:`classroom.charts.RunChart`).

    After each render the browser is brought to the run: a step sends that month's row only.
    With ``overlay``, the rows of the observed record that the calibration maps to a charted
    quantity are marked on their panels (triangles on the month axis; the source in the
    tooltip).
    """
    names = solara.use_memo(lambda: list(room.model.monthly_columns),
                            [room.scenario_hash])
    columns, panels = solara.use_memo(lambda: run_panels(names, labels), [names])
    marks = solara.use_memo(lambda: _marks_of(room) if overlay else {},
                            [overlay, room.scenario_hash])
    shown = solara.use_memo(lambda: figure_json(with_marks(panels, marks)), [panels, marks])
    chart = RunChart.element(panels=shown, horizon=room.scenario.horizon)

    def push() -> None:
        solara.get_widget(chart).show(room.chart_rows(columns))

    solara.use_effect(push, None)  # every render; nothing is sent when nothing changed
    return chart


@solara.component
def RunCard(room: Classroom, run: solara.Reactive[int], version: int,
            guarded: Callable[..., Any]):
    """Step, Play/Pause, Reset, Mesa's step counter, the run's facts so far and its charts.

    Re-rendered when the run changes (``version``: a step, a month of play, a replay); the
    sidebar is not. The play thread moves ``run`` on.
    """
    play_token = solara.use_reactive(0)
    overlay = solara.use_reactive(False)

    def play_loop() -> None:
        token = play_token.value
        if not token:
            return
        while True:
            time.sleep(PLAY_INTERVAL_S)
            try:
                going = room.play_tick(token)
            except Exception:  # noqa: BLE001 (logged; the page stops playing)
                traceback.print_exc()
                going = False
            run.value += 1
            if not going:
                return

    solara.use_thread(play_loop, dependencies=[play_token.value], intrusive_cancel=False)

    def on_play() -> None:
        if room.playing:
            room.pause()
            play_token.value = 0
        else:
            play_token.value = room.play()

    def on_reset() -> None:
        room.reset()
        play_token.value = 0

    handlers = solara.use_memo(lambda: (guarded(room.step), guarded(on_play),
                                        guarded(on_reset)), [])
    month, horizon = room.month, room.scenario.horizon
    labels = solara.use_memo(lambda: monthly_labels(room.scenario),
                             [room.scenario_hash])
    with solara.Card("One run", classes=["run"]):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Button("Step", color="primary", on_click=handlers[0],
                          disabled=room.playing or room.finished)
            solara.Button("Pause" if room.playing else "Play", color="primary",
                          on_click=handlers[1], disabled=room.finished and not room.playing)
            solara.Button("Reset", on_click=handlers[2])
            solara.Text(f"Step: {room.model.steps}", classes=["step-counter"],
                        style={"font-weight": "600", "margin-left": "12px"})
            solara.Text(f"Month {month} of {horizon}"
                        + (f" ({room.calendar()})" if month else " (start)")
                        + (" · end of the horizon" if room.finished else ""))
            for what, fact in room.so_far().items():
                _small(f"{what}: {fact}")
        if room.source_label == RECORD_SCENARIO:
            with solara.Row(classes=["record-overlay"], style={"align-items": "center"}):
                solara.Switch(label="Overlay the real record (2022-2025)", value=overlay)
                _small("Black triangles: what was observed, where the model has a "
                       "matching quantity (first deliveries, sanction rounds, growth, no "
                       "deal); hover one for its source.")
        RunCharts(room, version, labels,
                  overlay.value and room.source_label == RECORD_SCENARIO)


@solara.component
def NetworkCard(room: Classroom, run: int):
    """The network of relations at the current month, drawn in the browser."""
    key = [room.scenario_hash, room.seed, room.month, id(room.model)]
    net = solara.use_memo(lambda: figure_json(network_option(room.network())), key)
    with solara.Card("Network of relations", classes=["network"]):
        EchartsFigure.element(option_json=net, attributes={"style": "height: 400px;"})


@solara.component
def Settings(room: Classroom, settings: solara.Reactive[int], guarded: Callable[..., Any]):
    """The sidebar's settings: scenario, policy, seed, controls, your own scenario."""
    _ = settings.value
    handlers = solara.use_memo(lambda: {
        "scenario": guarded(room.choose_scenario), "policy": guarded(room.choose_policy),
        "seed": guarded(room.set_seed), "set": guarded(room.set_value),
        "text": guarded(room.set_text), "use": guarded(room.use_text),
        "upload": guarded(lambda info: _upload(room, info)),
    }, [])
    with solara.Card("Scenario", classes=["settings"]):
        solara.Select("Scenario", values=room.scenario_choices, value=room.source_label,
                      on_value=handlers["scenario"])
        if "scenario" in room.errors:
            _error(room.errors["scenario"], "scenario")
        solara.Select("Policy overlay", values=room.policy_choices,
                      value=room.policy or NO_POLICY, on_value=handlers["policy"])
        if "policy" in room.errors:
            _error(room.errors["policy"], "policy")
        with solara.Column(classes=["control-seed"], gap="0px"):
            solara.InputText("Seed", value=str(room.seed), error="seed" in room.errors,
                             on_value=handlers["seed"])
            _small("a whole number from 0 to 2**64 - 1; the same seed gives the same run")
            if "seed" in room.errors:
                _error(room.errors["seed"], "seed")
    with solara.Card("Controls", classes=["controls"]):
        _small("Changing a control replays the run to the current month with the new "
               "value. Type an exact value in the box beside a slider.")
        values = room.control_values()
        for control in room.controls:
            ControlView(control, values[control.key], room.errors.get(control.key),
                        handlers["set"], handlers["text"])
    with solara.Card("Your own scenario file", classes=["upload"]):
        _small("A .toml scenario (it may start with extends = \"baseline\", a bundled "
               "scenario by name); it is validated like any scenario file.")
        solara.FileDrop(label="Drop a .toml scenario file here", lazy=False,
                        on_file=handlers["upload"])
        if "upload" in room.errors:
            _error(room.errors["upload"], "upload")
        ScenarioEditor(handlers["use"])
        if "edited" in room.errors:
            _error(room.errors["edited"], "edited")


def _upload(room: Classroom, info: dict[str, Any]) -> None:
    data = info.get("data") or b""
    if len(data) > MAX_UPLOAD_BYTES:
        room.errors["upload"] = f"{info.get('name')}: larger than 1 MB, not a scenario file"
    else:
        room.upload(info.get("name", "scenario.toml"), data)


@solara.component
def Share(room: Classroom, settings: solara.Reactive[int], run: solara.Reactive[int],
          futures: solara.Reactive[int]):
    """Save this what-if to a file or a link that reopens it exactly; open a saved one.

    The what-if is the scenario (a bundled name, or the whole file when it was typed or
    uploaded), the policy, the controls, the seed, the month and the branches.
    """
    link, set_link = solara.use_state("")
    version = solara.use_reactive(0)
    _ = version.value

    def on_open(info: dict[str, Any]) -> None:
        if room.open_whatif(info.get("data") or b"", slot="whatif"):
            settings.value += 1
            run.value += 1
            futures.value += 1
        version.value += 1

    with solara.Card("Share this what-if", classes=["share"]):
        _small("Scenario, policy, controls, seed, month and branches, in one file or link "
               "that reopens this run exactly.")
        solara.FileDownload(room.whatif_json, filename="whatif.json",
                            label="This what-if (.json)", mime_type="application/json")
        solara.Button("Make a link", text=True, on_click=lambda: set_link(room.whatif_link()))
        if link:
            v.Html(tag="a", class_="whatif-link", attributes={"href": link, "target": "_blank"},
                   children=["Link to this what-if (copy it)"])
        solara.FileDrop(label="Drop a what-if file (.json) here to reopen it", lazy=False,
                        on_file=on_open)
        if "whatif" in room.errors:
            _error(room.errors["whatif"], "whatif")


@solara.component
def Downloads(room: Classroom, settings: solara.Reactive[int],
              futures: solara.Reactive[int]):
    """Settings as a scenario file, the run and its story, the futures: as files."""
    _ = settings.value, futures.value
    with solara.Card("Downloads", classes=["downloads"]):
        solara.FileDownload(room.settings_toml, filename=room.settings_filename(),
                            label="Settings as a scenario file (.toml)",
                            mime_type="application/toml")
        solara.FileDownload(room.monthly_csv, filename="run_monthly.csv",
                            label="This run, month by month (.csv)", mime_type="text/csv")
        solara.FileDownload(room.story_csv, filename="run_story.csv",
                            label="This run's story (.csv)", mime_type="text/csv")
        solara.FileDownload(room.handout_html, filename="handout.html",
                            label="Printable handout (.html)", mime_type="text/html")
        if room.futures is not None:
            solara.FileDownload(room.futures_table_csv, filename="futures_outcomes.csv",
                                label="Futures: outcomes with CIs (.csv)",
                                mime_type="text/csv")
            solara.FileDownload(room.futures_csv, filename="futures_runs.csv",
                                label="Futures: one row per run (.csv)",
                                mime_type="text/csv")


ROOMS = Rooms()
"""The role-play rooms of this server process (in memory only)."""
ROOM_POLL_S = 0.5
"""How often a page in a room looks for the other players' moves (seconds)."""


def _key_class(key: str) -> str:
    return "choice-" + "".join(ch if ch.isalnum() else "-" for ch in key)


@solara.component
def ChoiceView(choice: Choice, answer: str | None, on_answer: Callable[[str, str], None]):
    """One question of the month, its answers and the reasons the model would weigh."""
    with solara.Column(gap="0px", classes=["roleplay-choice", _key_class(choice.key)],
                       style={"margin-bottom": "8px"}):
        solara.Text(choice.question, style={"font-size": "13px", "font-weight": "600"})
        with solara.Row(gap="6px"):
            for option in choice.options:
                chosen = option == answer
                solara.Button(option, small=True, outlined=not chosen,
                              color="primary" if chosen else None,
                              classes=["answer-chosen" if chosen else "answer"],
                              on_click=lambda o=option: on_answer(choice.key, o))
        chance = "" if choice.chance is None else \
            f"the model's chance of choosing to {choice.options[0]}: {choice.chance:.2f}; "
        why = ", ".join(str(r) for r in choice.reasons)
        _small(f"{chance}what the model weighs: {why}" if why else chance)


@solara.component
def RolePlay(room: Classroom, settings: int):
    """Role-play: open or join a room, take a state, decide its months; the model plays the rest.

    A page polls its room every :data:`ROOM_POLL_S` seconds, so each player sees the month move
    on when the last seated player answers or the teacher advances it. The room lives in the
    server's memory (:class:`classroom.roleplay.Rooms`) until the teacher closes it.
    """
    code = solara.use_reactive("")
    teacher = solara.use_reactive(False)
    seat = solara.use_reactive("")
    typed = solara.use_reactive("")
    name = solara.use_reactive("")
    answers = solara.use_reactive({})
    message = solara.use_reactive("")
    tick = solara.use_reactive(0)
    verdicts = solara.use_reactive(None)
    _ = tick.value

    def poll() -> Callable[[], None]:
        stop = threading.Event()

        def version() -> int:
            try:
                return ROOMS.get(code.value).version
            except Exception:  # noqa: BLE001 (the room was closed: nothing to follow)
                return -1

        def loop() -> None:
            seen = version()
            while not stop.wait(ROOM_POLL_S):
                now = version()
                if now != seen:
                    seen = now
                    tick.value += 1

        if code.value:
            threading.Thread(target=loop, name="diplosim-room", daemon=True).start()
        return stop.set

    solara.use_effect(poll, [code.value])

    def act(fn: Callable[[], Any]) -> None:
        try:
            fn()
            message.value = ""
        except UsageError as exc:
            message.value = str(exc)
        tick.value += 1

    def on_open() -> None:
        def opened() -> None:
            code.value = ROOMS.open(room.scenario, room.seed).code
            teacher.value = True
            seat.value, answers.value, verdicts.value = "", {}, None
        act(opened)

    def on_join() -> None:
        def joined() -> None:
            code.value = ROOMS.get(typed.value).code
            teacher.value = False
            seat.value, answers.value, verdicts.value = "", {}, None
        act(joined)

    with solara.Card("Role-play: take a state's decisions", classes=["roleplay"]):
        r: Room | None = None
        if code.value:
            try:
                r = ROOMS.get(code.value)
            except UsageError:
                message.value = f"Room {code.value} has been closed."
                code.value = ""
        if r is None:
            _small("Open a room on the current scenario and seed, then take a state: each "
                   "month you decide what it decides (ship or hold, threaten, impose a "
                   "package or back down, agree a deal) and the model plays everyone else. "
                   "Give the room's code to your class to play several states at once.")
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
                solara.Button("Open a room", color="primary", on_click=on_open,
                              classes=["roleplay-open"])
                with solara.Column(style={"width": "140px"}, classes=["roleplay-code-input"]):
                    solara.InputText("Room code", value=typed, dense=True,
                                     continuous_update=True)
                solara.Button("Join", outlined=True, on_click=on_join,
                              classes=["roleplay-join"])
            if message.value:
                _error(message.value, "roleplay")
            return
        RoomView(r, teacher.value, seat, name, answers, verdicts, message, act,
                 tick.value, lambda: (code.set(""), teacher.set(False)))


@solara.component
def RoomView(r: Room, teacher: bool, seat: solara.Reactive[str], name: solara.Reactive[str],
             answers: solara.Reactive[dict],
             verdicts: solara.Reactive[Any], message: solara.Reactive[str],
             act: Callable[[Callable[[], Any]], None], tick: int,
             on_leave: Callable[[], None]):
    """One room as a player (and, for the page that opened it, its teacher) sees it."""
    done = solara.use_reactive(0)

    def compare() -> None:
        futures = run_futures(r.scenario, r.seed)
        verdicts.value = (futures.runs, compare_with_model(r.outcomes(), futures.summary,
                                                           r.scenario))

    on_compare, comparing, failed = use_background(compare, done)
    actors = r.actors
    month = "the run is over" if r.finished else f"month {r.month} of {r.horizon}"
    solara.Text(f"Room {r.code} · {r.scenario.spec.meta.title} · seed {r.seed} · {month}",
                classes=["roleplay-status"], style={"font-weight": "600"})
    seats = ", ".join(f"{actors[a]}{f' ({who})' if who else ''}" for a, who in r.seats.items())
    _small(f"Played: {seats or 'nobody yet'}; the model plays every other state.")
    waiting = r.waiting_for()
    if waiting:
        solara.Text("Waiting for: " + ", ".join(actors[a] for a in waiting),
                    classes=["roleplay-waiting"], style={"font-size": "13px"})
    if teacher:
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"},
                        classes=["roleplay-teacher"]):
            solara.Text("Teacher:", style={"font-size": "13px"})
            solara.Button("Advance the month", outlined=True, disabled=r.finished,
                          on_click=lambda: act(r.advance), classes=["roleplay-advance"])

            def to_end() -> None:
                while not r.finished:
                    r.advance()

            solara.Button("Model plays to the end", outlined=True, disabled=r.finished,
                          on_click=lambda: act(to_end), classes=["roleplay-to-end"])
            solara.FileDownload(lambda: json.dumps(r.record(), indent=1),
                                filename=f"room_{r.code}.json", label="Download the room",
                                mime_type="application/json")

            def close() -> None:
                ROOMS.close(r.code)
                on_leave()

            solara.Button("Close the room", text=True, on_click=lambda: act(close))
    if not seat.value:
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"},
                        classes=["roleplay-seat"]):
            with solara.Column(style={"width": "160px"}):
                solara.InputText("Your name (optional)", value=name, dense=True,
                                 continuous_update=True)
            _small("Play as:")

            def take(actor: str) -> None:
                r.seat(actor, name.value)
                seat.value = actor

            for actor, title in actors.items():
                if actor not in r.seats:
                    solara.Button(title, outlined=True, small=True, disabled=r.finished,
                                  on_click=lambda a=actor: act(lambda: take(a)),
                                  classes=[f"roleplay-seat-{actor}"])
    elif not r.finished:
        mine = r.choices(seat.value)
        answered = seat.value not in waiting
        with solara.Column(classes=["roleplay-month"], gap="2px"):
            solara.Text(f"You play {actors[seat.value]}. Month {r.month} "
                        f"({r.month_label()}): your decisions", style={"font-weight": "600"})
            if not mine:
                _small("Nothing to decide this month: it goes on when the others have "
                       "answered.")
            else:
                _small("A question you leave unanswered keeps the model's decision.")
            for c in mine:
                ChoiceView(c, answers.value.get(c.key),
                           lambda k, a: answers.set({**answers.value, k: a})).key(
                               f"{r.month}-{c.key}")

            def submit() -> None:
                given = {k: a for k, a in answers.value.items()
                         if k in {c.key for c in mine}}
                r.submit(seat.value, given)
                answers.value = {}

            if mine:
                with solara.Row(style={"align-items": "center"}):
                    solara.Button(f"Submit my decisions for month {r.month}",
                                  color="primary", on_click=lambda: act(submit),
                                  disabled=answered, classes=["roleplay-submit"])
                    if answered:
                        _small("Submitted: waiting for the others (or the teacher).")
    if message.value:
        _error(message.value, "roleplay")
    if r.finished:
        with solara.Column(classes=["roleplay-verdict"]):
            solara.Text("Your path against the model's", style={"font-weight": "600"})
            with solara.Row(style={"align-items": "center"}):
                solara.Button(f"Compare with {FUTURES_RUNS:,} model runs", color="primary",
                              on_click=on_compare, disabled=comparing,
                              classes=["roleplay-compare"])
                if comparing:
                    solara.Text("Running the model's runs…")
            if failed:
                _error(f"The comparison could not be run: {failed}", "roleplay-verdict")
            if verdicts.value:
                runs, rows = verdicts.value
                _small(f"The model's own runs of this scenario and seed ({runs:,} runs, run r "
                       "with its own draws; the room's run used the draws of run 0 where "
                       "no player decided).")
                v.Html(tag="ul", class_="verdicts", children=[
                    v.Html(tag="li", children=[row.sentence], style_="font-size: 13px")
                    for row in rows])
    months = r.story(newest_first=True)[:6]
    with solara.Column(gap="2px", classes=["roleplay-story"],
                       style={"max-height": "300px", "overflow-y": "auto"}):
        for m, events in months:
            StoryMonth(m, r.month_label(m), tuple((e.text, e.why) for e in events)).key(
                f"r{m}")


def _room_from_link(search: str) -> Classroom:
    """A new session; a ``?whatif=...`` link reopens that what-if in it."""
    room = Classroom()
    value = urllib.parse.parse_qs(search).get("whatif")
    if value:
        room.open_whatif(value[0])
    return room


@solara.component
def Page():
    """The whole page.

    Settings in the sidebar; teaching, the run, its network and story, and the futures in the
    main column. Each part re-renders only when what it shows changes: ``settings`` counts
    changes of the settings (which also replay the run), ``run`` changes of the run (a step,
    a month of play), ``futures`` new ensembles. A step thus costs the model's month, the run
    card, the network and one new month of story, not the whole page.
    """
    search = solara.use_router().search or ""
    room = solara.use_memo(lambda: _room_from_link(search), [])
    settings = solara.use_reactive(0)
    run = solara.use_reactive(0)
    futures = solara.use_reactive(0)
    app_error = solara.use_reactive("")
    solara.use_effect(ensure_warm, [])

    def guarded_for(*changed: solara.Reactive[int]) -> Callable[..., Callable[..., None]]:
        def guarded(fn: Callable[..., Any]) -> Callable[..., None]:
            """Run a handler; an unexpected fault becomes a message, never a dead page."""

            def handle(*args: Any) -> None:
                try:
                    fn(*args)
                    if app_error.peek():
                        app_error.value = ""
                except Exception as exc:  # noqa: BLE001 (shown to the user, logged for us)
                    traceback.print_exc()
                    app_error.value = f"{type(exc).__name__}: {exc}"
                for counter in changed:
                    counter.value += 1

            return handle

        return guarded

    on_settings = solara.use_memo(lambda: guarded_for(settings, run), [])
    on_run = solara.use_memo(lambda: guarded_for(run), [])

    solara.Title("diplosim classroom")
    with solara.AppBar():
        solara.AppBarTitle("diplosim classroom: arms transfers, sanctions and negotiation")

    with solara.Sidebar():
        Settings(room, settings, on_settings)
        Share(room, settings, run, futures)
        Downloads(room, settings, futures)

    Main(room, settings, run, futures, on_run, app_error)


@solara.component
def Main(room: Classroom, settings: solara.Reactive[int], run: solara.Reactive[int],
         futures: solara.Reactive[int], guarded: Callable[..., Any],
         app_error: solara.Reactive[str]):
    """The main column: teaching, the run, its network and story, the futures.

    The one component that follows the counters, so that a change is one render pass: its
    parts get the counters' values and re-render only when theirs changed.
    """
    settings_v, run_v = settings.value, run.value
    with solara.Column(style={"padding": "8px"}):
        if app_error.value:
            _error(f"Something went wrong (the page keeps working): {app_error.value}", "app")
        Teaching(room, settings_v)
        RunCard(room, run, run_v, guarded)
        with solara.Columns([1, 1]):
            NetworkCard(room, run_v)
            Story(room, run_v)
        FuturesView(room, settings_v, futures)
        BranchesView(room, room.month, settings_v)
        RolePlay(room, settings_v)
