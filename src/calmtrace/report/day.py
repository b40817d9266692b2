"""The day view: epoch states over clock time with heart rate, lnRMSSD, movement, diary and sleep.

A pure renderer of a :class:`~calmtrace.signals.day.DayResult`: it computes nothing physiological.
Long recordings draw reduced data: the state band is drawn as runs of equal state (one bar per run,
not per epoch) and, beyond ``MAX_POINTS`` epochs, heart rate, lnRMSSD and ENMO are drawn as the
median of consecutive blocks of epochs (the full per-epoch data stay in ``day_epochs.csv``), so a
week's view weighs a few hundred kB, not megabytes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import figures

__all__ = ["STATE_COLOURS", "MAX_POINTS", "MAX_SLEEP_LABELS", "DAY_VIEW_MIN_S", "day_figure", "day_section", "reduce_series"]

#: Colours of the states (Okabe-Ito palette, readable with colour-vision deficiency).
STATE_COLOURS = {"stress": "#D55E00", "recovery": "#009E73", "activity": "#0072B2", "neutral": "#BBBBBB",
                 "unmeasured": "#FFFFFF"}
#: Above this many epochs the line traces are block medians.
MAX_POINTS = 2000
#: The session report shows the day view for recordings at least this long (4 h, calmtrace's own).
DAY_VIEW_MIN_S = 4 * 3600.0
#: Sleep spans are labelled "sleep" up to this many (two weeks of nights); beyond, the labels would
#: run into each other and the blue shading (named in the caption) says it alone.
MAX_SLEEP_LABELS = 14
#: Height of the bottom margin's legend band, px (two rows of legend entries at 12 px text).
LEGEND_PX = 60


def reduce_series(t_s: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Block medians of ``y`` so that at most ``max_points`` remain (NaN blocks stay NaN).

    Parameters
    ----------
    t_s, y : array of float, shape (n,)
    max_points : int

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Block-centre times and medians (blocks of ``ceil(n / max_points)`` values, the last one
        possibly shorter); the input unchanged when ``n <= max_points``.
    """
    t_s = np.asarray(t_s, float)
    y = np.asarray(y, float)
    if t_s.size <= max_points:
        return t_s, y
    k = int(math.ceil(t_s.size / max_points))
    pad = (-t_s.size) % k   # the last block may be shorter: padded with NaN, never dropped
    tp = np.concatenate((t_s, np.full(pad, np.nan)))
    tb = np.nanmean(tp.reshape(-1, k), axis=1)
    yb = np.concatenate((y, np.full(pad, np.nan))).reshape(-1, k)
    with np.errstate(all="ignore"):
        ok = np.isfinite(yb).any(axis=1)
        med = np.full(yb.shape[0], np.nan)
        if ok.any():
            med[ok] = np.nanmedian(yb[ok], axis=1)
    return tb, med


def _runs(state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    change = np.flatnonzero(state[1:] != state[:-1]) + 1
    on = np.concatenate(([0], change))
    off = np.concatenate((change, [state.size]))
    return on, off


def day_figure(day: Any, recording: Any, *, title: str = "The day") -> go.Figure:
    """The day view.

    Parameters
    ----------
    day : DayResult
        From :func:`calmtrace.signals.day.analyze_day`.
    recording : Recording
        For the clock (start and UTC offset).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
        Four rows on one clock axis: state band (with sleep spans and diary marks), heart rate with
        the movement-expected heart rate, lnRMSSD with the resting reference, ENMO.
    """
    ep = day.epochs
    epoch_s = float(day.config.epoch_s)
    has_acc = bool(np.isfinite(ep["enmo_mg"].to_numpy(float)).any())
    rows = 4 if has_acc else 3
    titles = ["State", "Heart rate (bpm)", "lnRMSSD (ln ms)"] + (["Movement, ENMO (mg)"] if has_acc else [])
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04, subplot_titles=titles,
                        row_heights=[0.16] + [0.28] * (rows - 1))
    start = ep["start_s"].to_numpy(float)
    state = ep["state"].to_numpy(dtype=object)
    if start.size:
        on, off = _runs(state)
        for s, colour in STATE_COLOURS.items():
            sel = state[on] == s
            if not sel.any():
                continue
            t_on = start[on[sel]]
            dur = (off[sel] - on[sel]) * epoch_s
            x = figures.time_x(recording, t_on + dur / 2.0)
            # bar widths in the axis' unit: ms on a clock (date) axis, hours on an elapsed one
            width = dur * 1000.0 if figures.clock_known(recording) else dur / 3600.0
            fig.add_trace(go.Bar(x=x, y=np.ones(x.size), width=width, name=s, marker_color=colour,
                                 marker_line_width=0.5 if s == "unmeasured" else 0,
                                 marker_line_color="#999999",
                                 customdata=np.round(dur / 60.0, 1),
                                 hovertemplate=f"{s}: %{{customdata}} min<extra></extra>"), row=1, col=1)
    # sleep spans: one band per row, written as plain shapes (plotly's add_vrect checks every
    # trace for each span, which took minutes for the ~100 nights of a 10-million-beat file)
    bands, labels = [], []
    for _, sp in day.sleep.iterrows():
        x0, x1 = figures.time_x(recording, [sp["onset_s"], sp["end_s"]])
        if figures.clock_known(recording):
            x0, x1 = pd.Timestamp(x0), pd.Timestamp(x1)
        for r in range(1, rows + 1):
            ax = "" if r == 1 else str(r)
            bands.append(go.layout.Shape(type="rect", xref=f"x{ax}", yref=f"y{ax} domain", x0=x0, x1=x1, y0=0, y1=1,
                                         fillcolor="#56B4E9", opacity=0.12, line_width=0, layer="below"))
        if len(day.sleep) <= MAX_SLEEP_LABELS:
            labels.append(go.layout.Annotation(x=x0, y=1.0, xref="x", yref="y domain", text="sleep", showarrow=False,
                                               xanchor="left", yanchor="bottom"))
    fig.layout.shapes = tuple(fig.layout.shapes) + tuple(bands)
    fig.layout.annotations = tuple(fig.layout.annotations) + tuple(labels)
    if len(day.diary):
        x = figures.time_x(recording, day.diary["onset_s"].to_numpy(float))
        fig.add_trace(go.Scatter(x=x, y=np.full(x.size, 1.12), mode="markers+text", name="diary (0-10)",
                                 text=[f"{r:g}" for r in day.diary["rating"]], textposition="middle right",
                                 marker={"symbol": "triangle-down", "size": 9, "color": "#000000"},
                                 hovertext=day.diary["label"].astype(str), hoverinfo="text+x"), row=1, col=1)
    mid = start + epoch_s / 2.0
    ref = day.reference
    for row, col, name, colour, refval in (
        (2, "hr_bpm", "heart rate", "#000000", ref.get("hr_rest_bpm")),
        (3, "ln_rmssd", "lnRMSSD", "#009E73", ref.get("ln_rmssd_rest")),
    ):
        y = np.where(ep["valid"].to_numpy(bool), ep[col].to_numpy(float), np.nan)
        t, yr = reduce_series(mid, y)
        fig.add_trace(go.Scatter(x=figures.time_x(recording, t), y=np.round(yr, 2), mode="lines",
                                 name=name, line={"color": colour, "width": 1}, connectgaps=False), row=row, col=1)
        if refval is not None and np.isfinite(refval):
            # drawn above the trace: the reference is the trace's own median, which would hide it
            fig.add_hline(y=float(refval), line_dash="dot", line_color="#555555", row=row, col=1, layer="above",
                          exclude_empty_subplots=False)
    if has_acc:
        t, yr = reduce_series(mid, ep["hr_expected_bpm"].to_numpy(float))
        fig.add_trace(go.Scatter(x=figures.time_x(recording, t), y=np.round(yr, 2), mode="lines",
                                 name="HR expected from movement", line={"color": "#0072B2", "width": 1, "dash": "dot"}),
                      row=2, col=1)
        t, yr = reduce_series(mid, ep["enmo_mg"].to_numpy(float))
        fig.add_trace(go.Scatter(x=figures.time_x(recording, t), y=np.round(yr, 1), mode="lines",
                                 name="ENMO", line={"color": "#0072B2", "width": 1}), row=4, col=1)
        fig.add_hline(y=float(day.config.activity_enmo_mg), line_dash="dash", line_color="#0072B2", row=4, col=1,
                      exclude_empty_subplots=False)
    fig.update_yaxes(visible=False, range=[0, 1.3], row=1, col=1)
    # the legend sits in the bottom margin, below the x-axis title (as in the session figures):
    # placed in the plot's own coordinates it ran into the axis title
    fig.update_layout(barmode="overlay", bargap=0, title=title, height=300 + 170 * (rows - 1) + LEGEND_PX,
                      template="simple_white", margin={"b": 70 + LEGEND_PX},
                      legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "x": 0.0},
                      font={"family": "Helvetica, Arial, sans-serif", "size": 12, "color": "#000000"})
    t_hi = float(ep["end_s"].max()) if len(ep) else recording.duration_s
    figures.style_time_axis(fig, recording, 0.0, t_hi, n_rows=rows)
    return fig


def _fmt(v: Any, digits: int = 0) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "n/a" if not math.isfinite(f) else f"{f:.{digits}f}"


def day_section(day: Any, recording: Any) -> str:
    """The day section of the session report (figure, summary, sleep, diary, thresholds) as HTML.

    Parameters
    ----------
    day : DayResult or None
    recording : Recording

    Returns
    -------
    str
        Empty when ``day`` is None.
    """
    if day is None:
        return ""
    from .html import esc, figure_html

    sim = " [SIMULATED]" if recording.meta.get("simulated") else ""
    moved = bool(np.isfinite(day.epochs["enmo_mg"].to_numpy(float)).any())
    fig = day_figure(day, recording, title="The day: states, heart rate, lnRMSSD" + (" and movement" if moved else "")
                     + sim)
    mode = ("states from heart rate, HRV and the chest accelerometer" if day.mode == "accelerometer" else
            "no accelerometer: activity by the heart-rate-only rule (walking may read as stress)")
    ref = day.reference
    has_ref = any(ref.get(k) is not None and np.isfinite(ref.get(k)) for k in ("hr_rest_bpm", "ln_rmssd_rest"))
    caption = (f"Each {day.config.epoch_s:g}-s epoch's state ({esc(mode)}). Orange: stress (heart rate above "
               + ("what movement explains" if moved else "the resting reference")
               + " and lnRMSSD below the resting level); green: recovery; blue: activity; grey: neutral; white: "
               "unmeasured."
               + (" Blue shading: sleep." if len(day.sleep) else "")
               + (" Triangles: diary ratings." if len(day.diary) else "")
               + (" Dotted lines: the personal resting references learnt from this recording." if has_ref else "")
               + (f" The lines are drawn from block medians of the {len(day.epochs):,} epochs (at most "
                  f"{MAX_POINTS:,} points); every epoch is in day_epochs.csv." if len(day.epochs) > MAX_POINTS else ""))
    parts = ['<section id="day"><h2>The day</h2>', figure_html(fig, "fig-day", caption)]
    s = day.summary
    if len(s):
        head = ("<tr><th>day</th><th>stress min</th><th>recovery min</th><th>activity min</th><th>neutral min</th>"
                "<th>unmeasured min</th><th>stress episodes</th><th>parasympathetic dominance %</th></tr>")
        body = "".join(
            f"<tr><td>{esc(r['day'])}</td><td>{_fmt(r['stress_min'])}</td><td>{_fmt(r['recovery_min'])}</td>"
            f"<td>{_fmt(r['activity_min'])}</td><td>{_fmt(r['neutral_min'])}</td><td>{_fmt(r['unmeasured_min'])}</td>"
            f"<td>{_fmt(r['stress_episodes'])}</td><td>{_fmt(r['pns_dominance_pct'], 1)}</td></tr>"
            for _, r in s.iterrows())
        parts.append(f'<table class="day-summary" id="day-summary">{head}{body}</table>')
    if len(day.sleep):
        rows = "".join(
            f"<li>sleep {esc(_clock(recording, r['onset_s']))} to {esc(_clock(recording, r['end_s']))} "
            f"({_fmt(r['duration_h'], 1)} h, from {esc(r['source'])}): first {_fmt(r['first_s'] / 3600, 0)} h "
            f"heart rate {_fmt(r['hr_bpm'], 1)} bpm, lnRMSSD {_fmt(r['ln_rmssd'], 2)}; recovery in "
            f"{_fmt(r['recovery_pct'], 0)} % of measured sleep epochs</li>" for _, r in day.sleep.iterrows())
        parts.append(f'<h3>Sleep</h3><ul id="day-sleep">{rows}</ul>')
    assoc = day.association or {}
    if len(day.diary):
        items = []
        for metric, a in assoc.items():
            if a.get("reason"):
                items.append(f"<li>rating vs {esc(metric)}: not estimated ({esc(a['reason'])})</li>")
            else:
                items.append(f"<li>rating vs {esc(metric)}: r<sub>rm</sub> = {_fmt(a['r'], 2)} (95 % CI "
                             f"{_fmt(a['ci_low'], 2)} to {_fmt(a['ci_high'], 2)}, df {a['df']}, "
                             f"{a['groups']} days)</li>")
        parts.append(f"<h3>Diary</h3><p>{len(day.diary)} rated entries, each set against the "
                     f"{day.config.diary_window_s / 60:g} min before it. Within-person association across days "
                     f"(repeated-measures correlation, Bakdash &amp; Marusich 2017):</p><ul id=\"day-diary\">"
                     + "".join(items) + "</ul>")
    ref = day.reference
    parts.append(
        "<h3>How the states were decided</h3><p>Resting references learnt from this recording "
        f"({esc(ref.get('reference_from'))}, {ref.get('n_reference_epochs')} epochs): heart rate "
        f"{_fmt(ref.get('hr_rest_bpm'), 1)} bpm, lnRMSSD {_fmt(ref.get('ln_rmssd_rest'), 2)}; heart rate per mg "
        f"of movement {_fmt(ref.get('slope_bpm_per_mg'), 2)} ({esc(ref.get('slope_from'))}). Thresholds: "
        + esc(", ".join(f"{k} = {v:g}" for k, v in day.config.to_dict().items()))
        + ". These states describe heart and movement signals; they are not a diagnosis.</p>")
    for w in day.warnings:
        parts.append(f'<p class="limits">{esc(w)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _clock(recording: Any, t_s: float) -> str:
    if not figures.clock_known(recording):   # no date or time in the file: h:mm from the start
        return f"+{figures.format_elapsed(t_s)} from the start"
    return str(pd.Timestamp(figures.clock_times(recording, [t_s])[0]).strftime("%a %H:%M"))
