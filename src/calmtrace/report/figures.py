"""Plotly figure builders for the session and trend reports: pure functions of data -> go.Figure.

Every builder takes plain data (a :class:`~calmtrace.recording.Recording`, the Windows and
Recovery tables of :func:`calmtrace.analysis.analyze`, the trend table of
:mod:`calmtrace.report.trend`) and returns a new figure; none reads files or keeps state.

Conventions, the same in every figure:

- colours from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
  distinguishable under the common colour-vision deficiencies; every series also differs by
  marker symbol or dash style so that it survives black-and-white printing;
- every axis title carries its unit;
- gaps in the data are gaps in the lines: values are NaN there and ``connectgaps`` is off, so
  nothing is interpolated across a disconnect or an invalid window;
- session times are clock times: the recording's start plus ``t_s``, in UTC unless the
  recording's ``meta["utc_offset"]`` (``"+02:00"``) says otherwise; a recording whose file gave
  no date or time (``meta["start_unknown"]``, what ``calmtrace info`` reports as "start unknown")
  is drawn on elapsed time, h:mm from its start, and the axis says "clock unknown";
- long recordings draw reduced data within a fixed budget of points (:mod:`.reduce`), and the
  figure says so; short ones draw every beat.
"""

from __future__ import annotations

import html
import math
import re
from datetime import timedelta, timezone
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..recording import Recording
from ..signals import metrics as _metrics
from ..signals.linking import format_duration, time_to_baseline
from .reduce import MAX_POINCARE_POINTS, SEED, drawn_note, reduce_line, reduce_markers, subsample_groups

__all__ = [
    "OKABE_ITO",
    "KIND_STYLE",
    "METRIC_INFO",
    "METRIC_STYLE",
    "metric_info",
    "clock_times",
    "clock_name",
    "clock_label",
    "clock_known",
    "time_x",
    "time_label",
    "format_elapsed",
    "style_time_axis",
    "reduction_note",
    "plain",
    "window_times_s",
    "series_with_breaks",
    "session_overview",
    "recovery_panel",
    "fit_windows",
    "fitted_curve",
    "tachogram",
    "beat_phases",
    "poincare",
    "USABLE_FLAGS",
    "trend_figure",
]

#: The Okabe-Ito palette (Okabe & Ito 2008), by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
_GREY = "#7F7F7F"

#: Fill colour and border dash of each event kind's band (the dash tells kinds apart in print).
KIND_STYLE: dict[str, dict[str, str]] = {
    "baseline": {"color": OKABE_ITO["bluish_green"], "dash": "dashdot"},
    "stressor": {"color": OKABE_ITO["vermillion"], "dash": "solid"},
    "recovery": {"color": OKABE_ITO["sky_blue"], "dash": "dot"},
    "intervention": {"color": OKABE_ITO["reddish_purple"], "dash": "dash"},
    # not grey: grey shades gaps (no beats), and a note is not a gap
    "note": {"color": OKABE_ITO["yellow"], "dash": "longdash"},
}

#: Colour, dash and marker symbol of each Windows metric drawn (style only: its name and unit
#: come from the metrics registry, :mod:`calmtrace.signals.metrics`).
METRIC_STYLE: dict[str, dict[str, str]] = {
    "mean_hr_bpm": {"color": OKABE_ITO["vermillion"], "dash": "solid", "symbol": "circle"},
    "ln_rmssd": {"color": OKABE_ITO["blue"], "dash": "solid", "symbol": "square"},
    "pns_index": {"color": OKABE_ITO["bluish_green"], "dash": "solid", "symbol": "diamond"},
    "sns_index": {"color": OKABE_ITO["orange"], "dash": "dash", "symbol": "triangle-up"},
    "rmssd_ms": {"color": OKABE_ITO["blue"], "dash": "solid", "symbol": "square"},
    "mean_rr_ms": {"color": OKABE_ITO["black"], "dash": "solid", "symbol": "circle"},
    "stress_index": {"color": OKABE_ITO["orange"], "dash": "dot", "symbol": "x"},
    "dfa_alpha1": {"color": OKABE_ITO["reddish_purple"], "dash": "dashdot", "symbol": "star"},
}
_DEFAULT_STYLE = {"color": OKABE_ITO["black"], "dash": "solid", "symbol": "circle"}


def metric_info(metric: str) -> dict[str, str]:
    """Display name and unit (from the metrics registry) and style of ``metric``."""
    return {"name": _metrics.label(metric), "unit": _metrics.unit(metric),
            **METRIC_STYLE.get(metric, _DEFAULT_STYLE)}


#: Display name, unit and style of each metric with a style (read from the registry).
METRIC_INFO: dict[str, dict[str, str]] = {m: metric_info(m) for m in METRIC_STYLE}

#: Marker symbol of each beat flag on the tachogram (``ok`` beats are the line only).
FLAG_SYMBOL: dict[str, str] = {
    "corrected": "circle-open",
    "ectopic": "x",
    "missed": "triangle-down",
    "extra": "triangle-up",
    "interpolated": "diamond-open",
}
_FLAG_COLOR: dict[str, str] = {
    "corrected": OKABE_ITO["orange"],
    "ectopic": OKABE_ITO["vermillion"],
    "missed": OKABE_ITO["reddish_purple"],
    "extra": OKABE_ITO["blue"],
    "interpolated": OKABE_ITO["bluish_green"],
}

#: Phases of the Poincare plot: colour and marker symbol.
PHASE_STYLE: dict[str, dict[str, str]] = {
    "baseline": {"color": OKABE_ITO["bluish_green"], "symbol": "circle"},
    "stressor": {"color": OKABE_ITO["vermillion"], "symbol": "x"},
    "recovery": {"color": OKABE_ITO["blue"], "symbol": "triangle-up"},
}

_TEMPLATE = "simple_white"
_FONT = {"family": "Helvetica, Arial, sans-serif", "size": 12, "color": "#000000"}


# -------------------------------------------------------------------------------------------
# time helpers
# -------------------------------------------------------------------------------------------
def _utc_offset(recording: Recording) -> timedelta:
    """The recording's local UTC offset from ``meta["utc_offset"]`` (``"+02:00"``), else 0."""
    text = str(recording.meta.get("utc_offset") or "")
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if not m:
        return timedelta(0)
    sign = 1 if m.group(1) == "+" else -1
    return sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))


def clock_name(recording: Recording) -> str:
    """What the recording's clock is: ``"UTC"``, ``"UTC+02:00"``, or ``"device local time, zone
    unknown"`` when the file gave a local clock time without its offset (the times are then shown
    as the device showed them, not as UTC)."""
    if "offset unknown" in str(recording.meta.get("clock", "")) and not recording.meta.get("utc_offset"):
        return "device local time, zone unknown"
    off = _utc_offset(recording)
    if off == timedelta(0):
        return "UTC"
    return f"UTC{timezone(off).tzname(None)[3:]}"


def clock_label(recording: Recording) -> str:
    """Axis title of clock time, naming what the clock is, e.g. ``"clock time (UTC+02:00)"`` or
    ``"clock time (device local time, zone unknown)"``."""
    if clock_name(recording) != "UTC" and not clock_name(recording).startswith("UTC"):
        return f"clock time ({clock_name(recording)})"
    off = _utc_offset(recording)
    if off == timedelta(0):
        return "clock time (UTC)"
    return f"clock time (UTC{timezone(off).tzname(None)[3:]})"


def clock_times(recording: Recording, t_s: Iterable[float] | np.ndarray) -> np.ndarray:
    """Clock times of ``t_s`` (s since start) as naive ``datetime64[ms]`` in the local offset.

    plotly.js ignores time zones, so times are shifted to the recording's local offset
    (:func:`clock_label` names it) and handed over without one. NaN stays NaT.

    Parameters
    ----------
    recording : Recording
    t_s : array of float
        Seconds since ``recording.start``.

    Returns
    -------
    numpy.ndarray of datetime64[ms]
    """
    t = np.asarray(t_s, dtype=float)
    origin = np.datetime64((recording.start + _utc_offset(recording)).replace(tzinfo=None), "ms")
    out = np.full(t.shape, np.datetime64("NaT"), dtype="datetime64[ms]")
    ok = np.isfinite(t)
    out[ok] = origin + np.round(t[ok] * 1000.0).astype("int64").astype("timedelta64[ms]")
    return out


def clock_known(recording: Recording) -> bool:
    """Whether the recording's start is a real date and time: False when the file gave none
    (``meta["start_unknown"]``, set by the importers; the one fact ``calmtrace info`` reports as
    "start unknown"), whose ``start`` is then a placeholder (1970-01-01) never to be shown."""
    return not recording.meta.get("start_unknown")


def format_elapsed(t_s: float, seconds: bool = False) -> str:
    """Elapsed time as ``h:mm`` (``h:mm:ss`` with ``seconds``); hours go past 24 (``"31:05"``)."""
    if not math.isfinite(t_s):
        return "n/a"
    sign = "-" if t_s < 0 else ""
    total = int(round(abs(t_s)))
    h, rem = divmod(total, 3600)
    m, sec = divmod(rem, 60)
    if seconds:
        return f"{sign}{h}:{m:02d}:{sec:02d}"
    h, m = divmod(int(round(abs(t_s) / 60.0)), 60)
    return f"{sign}{h}:{m:02d}"


def time_x(recording: Recording, t_s: Iterable[float] | np.ndarray) -> np.ndarray:
    """x values of session times: clock times (:func:`clock_times`), or hours since the start
    (float) when the clock is unknown (:func:`clock_known`)."""
    if clock_known(recording):
        return clock_times(recording, t_s)
    return np.asarray(t_s, dtype=float) / 3600.0


def _x(recording: Recording, t_s: float) -> object:
    """One session time as an x value for a shape or an annotation."""
    v = time_x(recording, [t_s])[0]
    return pd.Timestamp(v) if clock_known(recording) else float(v)


def time_label(recording: Recording) -> str:
    """Title of a session-time axis: :func:`clock_label`, or ``"time from start (h:mm; clock
    unknown)"`` when the file gave no date or time."""
    return clock_label(recording) if clock_known(recording) else "time from start (h:mm; clock unknown)"


#: Tick steps of an elapsed-time axis, s (the first that gives at most 12 ticks is used).
_ELAPSED_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
                    2419200)


def style_time_axis(fig: go.Figure, recording: Recording, t_lo_s: float, t_hi_s: float,
                    n_rows: int | None = None) -> None:
    """Title the session-time axis (the bottom row's) and, when the clock is unknown, tick it in
    h:mm from the start.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    recording : Recording
    t_lo_s, t_hi_s : float
        The span shown, s since start.
    n_rows : int, optional
        Rows of a ``make_subplots`` grid sharing the axis (None: a single plot).
    """
    where = {} if n_rows is None else {"row": n_rows, "col": 1}
    fig.update_xaxes(title_text=time_label(recording), **where)
    if clock_known(recording):
        return
    span = max(float(t_hi_s) - float(t_lo_s), 1.0)
    step = next((s for s in _ELAPSED_STEPS_S if span / s <= 12), _ELAPSED_STEPS_S[-1])
    ticks = np.arange(math.floor(t_lo_s / step), math.ceil(t_hi_s / step) + 1) * step
    fig.update_xaxes(tickmode="array", tickvals=(ticks / 3600.0).tolist(),
                     ticktext=[format_elapsed(t) for t in ticks], hoverformat=".3f")


def reduction_note(fig: go.Figure) -> str:
    """What a reduced figure says it draws ("drawn from 9,876 of 653,295 beats; ..."), or ""."""
    meta = fig.layout.meta
    return str(meta.get("reduced", "")) if isinstance(meta, dict) else ""


def _say_reduced(fig: go.Figure, notes: list[str]) -> None:
    """Put what a figure draws of its data in its title (a second, small line) and its meta."""
    notes = [n for n in notes if n]
    if not notes:
        return
    text = "; ".join(notes)
    fig.update_layout(meta={"reduced": text})
    title = fig.layout.title.text or ""
    fig.update_layout(title_text=f"{title}<br><sup>{plain(text)}</sup>")
    fig.update_layout(margin={"t": (fig.layout.margin.t or 90) + 16},
                      height=(fig.layout.height or 450) + 16)


def window_times_s(windows: pd.DataFrame, window_time: str = "center") -> np.ndarray:
    """The instant each window's value is placed at: its centre or its end (s since start).

    Parameters
    ----------
    windows : pandas.DataFrame
        The Windows table (``start_s``, ``end_s``).
    window_time : {"center", "end"}
        As :attr:`RecoveryConfig.window_time` (the recovery figures use the same instant).
    """
    start = windows["start_s"].to_numpy(dtype=float)
    end = windows["end_s"].to_numpy(dtype=float)
    return end if window_time == "end" else (start + end) / 2.0


def _in_gaps(t_s: np.ndarray, gaps: pd.DataFrame) -> np.ndarray:
    """True where a time lies inside one of the recording's gaps."""
    inside = np.zeros(len(t_s), dtype=bool)
    for onset, dur in zip(gaps["onset_s"].to_numpy(float), gaps["duration_s"].to_numpy(float)):
        inside |= (t_s >= onset) & (t_s <= onset + dur)
    return inside


def series_with_breaks(windows: pd.DataFrame, metric: str, gaps: pd.DataFrame | None = None,
                       window_time: str = "center") -> tuple[np.ndarray, np.ndarray]:
    """Times and values of one metric, NaN where a window is invalid or its instant is in a gap.

    Parameters
    ----------
    windows : pandas.DataFrame
        The Windows table (``start_s``, ``end_s``, ``valid`` and ``metric``).
    metric : str
        Column to take.
    gaps : pandas.DataFrame, optional
        The recording's gaps (``onset_s``, ``duration_s``).
    window_time : {"center", "end"}

    Returns
    -------
    (t_s, values) : two float arrays
        ``values`` is NaN where the line must break.
    """
    t = window_times_s(windows, window_time)
    v = windows[metric].to_numpy(dtype=float).copy()
    valid = windows["valid"].to_numpy(dtype=bool) if "valid" in windows else np.ones(len(v), bool)
    v[~valid] = np.nan
    if gaps is not None and len(gaps):
        v[_in_gaps(t, gaps)] = np.nan
    return t, v


def _beat_breaks(recording: Recording) -> np.ndarray:
    """Indices ``i`` of beats that follow a gap (a break belongs before beat ``i``)."""
    t = recording.t_s
    if len(t) < 2:
        return np.array([], dtype=int)
    rr_s = recording.rr_ms / 1000.0
    # A beat whose interval does not reach back to the previous beat (with 0.5 s slack for rounded
    # or corrected times) follows lost beats; so does any beat after a recorded gap's onset.
    jump = np.flatnonzero(t[1:] - t[:-1] > rr_s[1:] + 0.5) + 1
    after_gap = []
    for onset in recording.gaps["onset_s"].to_numpy(float):
        i = int(np.searchsorted(t, onset, side="right"))
        if 0 < i < len(t):
            after_gap.append(i)
    return np.unique(np.concatenate([jump, np.array(after_gap, dtype=int)]))


def _insert_breaks(x: np.ndarray, y: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN point before each index in ``breaks`` so that a line stops there."""
    if len(breaks) == 0:
        return x, y
    xb = np.insert(x.astype(float), breaks, np.nan)
    yb = np.insert(y.astype(float), breaks, np.nan)
    return xb, yb


# -------------------------------------------------------------------------------------------
# shared decorations
# -------------------------------------------------------------------------------------------
def plain(text: object) -> str:
    """Text for a plotly title, name or annotation, shown exactly as written.

    Plotly reads a subset of HTML in these strings (``<a href>``, ``<b>``, ``<br>``...): an event
    label or a subject id from a client's diary must never become a link or markup in a
    clinician's report. ``&``, ``<`` and ``>`` become entities, which plotly shows as the
    characters themselves.
    """
    return html.escape(str(text), quote=False)


def _base_layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        template=_TEMPLATE, title={"text": plain(title), "x": 0.0, "xanchor": "left"}, height=height,
        font=_FONT, margin={"l": 70, "r": 20, "t": 90, "b": 130},
        # the legend sits in the bottom margin, below the x-axis title, whatever the height
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0, "x": 0.0},
        hovermode="closest",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#E5E5E5")
    fig.update_yaxes(showgrid=True, gridcolor="#E5E5E5")
    return fig


#: Vertical step between label levels above a figure, px.
LABEL_LEVEL_PX = 18
#: Plot width, px, assumed when labels are laid out (narrower than the report's figures, so that
#: labels kept apart at this width are apart on screen and on paper).
_LABEL_PLOT_PX = 640.0
#: Width of one character of an 11 px label, px (generous for Helvetica/Arial).
_LABEL_CHAR_PX = 7.0


def label_places(x_s: np.ndarray, texts: list[str], t_lo: float, t_hi: float,
                 plot_px: float = _LABEL_PLOT_PX) -> list[tuple[float, str, int]]:
    """Where each event label goes so that none overlaps another or runs off the plot.

    Parameters
    ----------
    x_s : array of float
        The preferred centre of each label, s (an event's middle).
    texts : list of str
        The labels.
    t_lo, t_hi : float
        The x range of the plot, s.
    plot_px : float
        Plot width assumed, px.

    Returns
    -------
    list of (x_s, xanchor, level)
        The anchor point, ``"left"``/``"center"``/``"right"`` (labels near an edge are anchored
        to it so they are not clipped), and the level (0 = just above the plot; each level is
        :data:`LABEL_LEVEL_PX` higher), chosen greedily as the lowest free one.
    """
    span = max(t_hi - t_lo, 1e-9)
    s_per_px = span / plot_px
    taken: list[list[tuple[float, float]]] = []
    out = []
    for x, text in zip(x_s, texts):
        w = (len(text) * _LABEL_CHAR_PX + 8) * s_per_px
        if x - w / 2 < t_lo:
            a, b, anchor, at = t_lo, t_lo + w, "left", t_lo
        elif x + w / 2 > t_hi:
            a, b, anchor, at = t_hi - w, t_hi, "right", t_hi
        else:
            a, b, anchor, at = x - w / 2, x + w / 2, "center", float(x)
        level = 0
        while level < len(taken) and any(a < hi and lo < b for lo, hi in taken[level]):
            level += 1
        if level == len(taken):
            taken.append([])
        taken[level].append((a, b))
        out.append((at, anchor, level))
    return out


def _event_bands(fig: go.Figure, recording: Recording, n_rows: int) -> int:
    """Shade every event as a labelled band across all rows; a moment is a vertical line.
    Returns the top margin, px, that the labels' levels need."""
    events = recording.events.df
    bands: list[dict] = []
    for ev in events.itertuples(index=False):
        style = KIND_STYLE.get(ev.kind, KIND_STYLE["note"])
        x0, x1 = _x(recording, ev.onset_s), _x(recording, ev.offset_s)
        for row in range(1, n_rows + 1):
            if ev.duration_s > 0:
                bands.append(_band(row, x0, x1, fillcolor=style["color"], opacity=0.15, layer="below",
                                   line={"color": style["color"], "width": 1, "dash": style["dash"]}))
            else:
                bands.append(_band(row, x0, x0, type="line",
                                   line={"color": style["color"], "width": 2, "dash": style["dash"]}))
    _add_shapes(fig, bands)
    # Label once, above the top row, each on the lowest level where it overlaps no other label
    texts = [f"{ev.label} ({ev.kind})" for ev in events.itertuples(index=False)]
    if not len(events):
        return 0
    t_lo = min(0.0, float(events["onset_s"].min()))
    t_hi = max(recording.duration_s, float(events["offset_s"].max()))
    places = label_places(((events["onset_s"] + events["offset_s"]) / 2).to_numpy(float), texts, t_lo, t_hi)
    for ev, text, (x_s, anchor, level) in zip(events.itertuples(index=False), texts, places):
        fig.add_annotation(
            x=_x(recording, x_s), y=1.0, yshift=level * LABEL_LEVEL_PX, xref="x",
            yref="paper", text=plain(text), showarrow=False, yanchor="bottom", xanchor=anchor,
            font={"size": 11, "color": "#000000"}, bgcolor="rgba(255,255,255,0.7)",
        )
    n_levels = 1 + max(level for _, _, level in places)
    fig.update_layout(margin={"t": 70 + LABEL_LEVEL_PX * n_levels})
    return 70 + LABEL_LEVEL_PX * n_levels


def _gap_bands(fig: go.Figure, recording: Recording, n_rows: int) -> None:
    """Shade every gap (no beats) in grey across all rows, labelled in the hover."""
    bands = [_band(row, _x(recording, g.onset_s), _x(recording, g.onset_s + g.duration_s), fillcolor=_GREY,
                   opacity=0.35, layer="below", line={"width": 0})
             for g in recording.gaps.itertuples(index=False) for row in range(1, n_rows + 1)]
    _add_shapes(fig, bands)


def _band(row: int, x0: object, x1: object, type: str = "rect", **style: object) -> dict:
    """A shape spanning subplot ``row`` from top to bottom between ``x0`` and ``x1`` (what
    ``add_vrect``/``add_vline`` make for one row)."""
    ax = "" if row == 1 else str(row)
    return {"type": type, "xref": f"x{ax}", "yref": f"y{ax} domain", "x0": x0, "x1": x1, "y0": 0, "y1": 1, **style}


def _add_shapes(fig: go.Figure, shapes: list[dict]) -> None:
    """Add many shapes at once: plotly validates the whole shape list on every ``add_*`` call,
    which is quadratic (a minute for the few hundred event bands of a week of diary entries)."""
    if shapes:
        fig.layout.shapes = tuple(fig.layout.shapes) + tuple(go.layout.Shape(**s) for s in shapes)


def _legend_swatch(fig: go.Figure, name: str, color: str, symbol: str = "square", group: str | None = None,
                   on_grid: bool = True) -> None:
    """A legend entry with no data (plotly shapes have no legend entries of their own).

    ``on_grid`` says whether ``fig`` was made by ``make_subplots`` (the entry goes to row 1).
    """
    trace = go.Scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=group,
                       marker={"color": color, "symbol": symbol, "size": 12, "opacity": 0.5})
    if on_grid:
        fig.add_trace(trace, row=1, col=1)
    else:
        fig.add_trace(trace)


# -------------------------------------------------------------------------------------------
# session overview
# -------------------------------------------------------------------------------------------
_OVERVIEW_ROWS: tuple[str, ...] = ("mean_hr_bpm", "ln_rmssd", "pns_index", "sns_index")


def _baseline_spans(recovery: pd.DataFrame | None) -> pd.DataFrame:
    """Distinct (metric, baseline span, mean) rows of the Recovery table."""
    cols = ["metric", "baseline_start_s", "baseline_end_s", "baseline_mean"]
    if recovery is None or len(recovery) == 0 or not set(cols) <= set(recovery.columns):
        return pd.DataFrame(columns=cols)
    b = recovery[cols].dropna()
    return b.drop_duplicates().reset_index(drop=True)


def session_overview(recording: Recording, windows: pd.DataFrame, recovery: pd.DataFrame | None = None,
                     *, window_time: str = "center", metrics: Sequence[str] = _OVERVIEW_ROWS,
                     title: str = "Session overview") -> go.Figure:
    """Heart rate, lnRMSSD, PNS and SNS index over the session on one clock-time axis.

    Events are labelled shaded bands (kind told apart by colour and border dash), gaps are grey
    bands and breaks in the lines, artefact beats are a rug of ticks under the heart-rate line,
    and the baseline each stressor is compared with is a dotted black segment at the baseline
    mean over the span it was taken from.

    Parameters
    ----------
    recording : Recording
        The cleaned recording (beats with flags, gaps, events, start).
    windows : pandas.DataFrame
        The Windows table.
    recovery : pandas.DataFrame, optional
        The Recovery table (for the baseline spans).
    window_time : {"center", "end"}
        Instant each window's value is placed at.
    metrics : sequence of str
        Windows columns, one row each.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    metrics = [m for m in metrics if m in windows.columns]
    n = max(len(metrics), 1)
    titles = [_metrics.axis_title(m) for m in metrics]
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    spans = _baseline_spans(recovery)
    drawn, total = 0, 0
    for row, metric in enumerate(metrics, start=1):
        info = metric_info(metric)
        t, v = series_with_breaks(windows, metric, recording.gaps, window_time)
        t, v, n_drawn, n_total = reduce_line(t, v)
        drawn, total = max(drawn, n_drawn if n_drawn < n_total else 0), max(total, n_total)
        x = time_x(recording, t)
        fig.add_trace(go.Scatter(
            x=x, y=v, mode="lines", name=info["name"], connectgaps=False, legendgroup=metric,
            line={"color": info["color"], "dash": info["dash"], "width": 2},
        ), row=row, col=1)
        lone = _isolated(v)
        if lone.any():   # a valid window between two breaks is a point, not an invisible line
            fig.add_trace(go.Scatter(x=x[lone], y=v[lone], mode="markers", name=info["name"], showlegend=False,
                                     legendgroup=metric, marker={"color": info["color"], "size": 4}),
                          row=row, col=1)
        for j, s in enumerate(spans[spans["metric"] == metric].itertuples(index=False)):
            fig.add_trace(go.Scatter(
                x=time_x(recording, [s.baseline_start_s, s.baseline_end_s]),
                y=[s.baseline_mean, s.baseline_mean], mode="lines", name="baseline (mean over its span)",
                legendgroup="baseline", showlegend=(row == 1 and j == 0),
                line={"color": OKABE_ITO["black"], "dash": "dot", "width": 3},
            ), row=row, col=1)
        fig.update_yaxes(title_text=titles[row - 1], row=row, col=1)
    rug = ""
    if "mean_hr_bpm" in metrics:
        rug = _artifact_rug(fig, recording, windows, row=metrics.index("mean_hr_bpm") + 1)
    top_px = _event_bands(fig, recording, n)
    _gap_bands(fig, recording, n)
    if len(recording.gaps):
        _legend_swatch(fig, "gap (no beats)", _GREY)
    for kind in dict.fromkeys(recording.events.df["kind"]):
        _legend_swatch(fig, f"{kind} event", KIND_STYLE[kind]["color"], group=f"kind-{kind}")
    style_time_axis(fig, recording, 0.0, recording.duration_s, n_rows=n)
    # the event labels' levels need their room above the plot (the figure grows by it, so the plot
    # keeps its height) and the title goes to the top, above the highest level
    top_px = max(top_px, 90)
    height = 220 * n + 140 + top_px - 90
    fig = _base_layout(fig, title, height=height)
    fig.update_layout(margin={"t": top_px},
                      title={"yref": "container", "y": 1.0 - 24.0 / height, "yanchor": "top"})
    _say_reduced(fig, [drawn_note(drawn, total, "windows per line (smallest, largest, first and last of "
                                  "each time bucket)", "windows.csv") if drawn else "", rug])
    return fig


def _isolated(v: np.ndarray) -> np.ndarray:
    """True at finite values whose neighbours are both missing (NaN or the series' end)."""
    ok = np.isfinite(v)
    before = np.concatenate([[False], ok[:-1]])
    after = np.concatenate([ok[1:], [False]])
    return ok & ~before & ~after


def _artifact_rug(fig: go.Figure, recording: Recording, windows: pd.DataFrame, row: int) -> str:
    """Ticks under the heart-rate line at every beat the cleaning flagged (in a long recording,
    one per time bucket that has one); returns what was left out, or ""."""
    flags = recording.flags
    bad = np.flatnonzero(flags != "ok")
    if bad.size == 0:
        return ""
    hr = windows["mean_hr_bpm"].to_numpy(dtype=float)
    floor = float(np.nanmin(hr)) - 3.0 if np.isfinite(hr).any() else 40.0
    n_bad = bad.size
    bad = bad[reduce_markers(recording.t_s[bad], np.zeros(bad.size))]
    fig.add_trace(go.Scatter(
        x=time_x(recording, recording.t_s[bad]), y=np.full(bad.size, floor), mode="markers",
        name=f"artefact beat ({n_bad}, corrected by cleaning)",
        marker={"symbol": "line-ns-open", "size": 10, "color": OKABE_ITO["black"], "line": {"width": 1}},
        text=flags[bad], hovertemplate="%{x}<br>%{text}<extra>artefact</extra>",
    ), row=row, col=1)
    return drawn_note(bad.size, n_bad, "artefact ticks (one per time bucket)", "the recording's beat flags")


# -------------------------------------------------------------------------------------------
# recovery panel
# -------------------------------------------------------------------------------------------
def fit_windows(windows: pd.DataFrame, row: pd.Series) -> np.ndarray:
    """Indices of the windows an exponential was fitted to: the first ``fit_n`` valid windows
    (with a value) wholly after the recovery start (``recovery_start_s``)."""
    t0 = float(row["recovery_start_s"])
    n_fit = int(row.get("fit_n", 0) or 0)
    y = windows[row["metric"]].to_numpy(dtype=float)
    ok = windows["valid"].to_numpy(dtype=bool) & np.isfinite(y) & (windows["start_s"].to_numpy(float) >= t0 - 1e-6)
    return np.flatnonzero(ok)[:n_fit]


def fitted_curve(windows: pd.DataFrame, row: pd.Series, t_rel_s: np.ndarray,
                 window_time: str = "center") -> np.ndarray | None:
    """The exponential fitted to one recovery, ``y(t) = y_inf + A exp(-t / tau)``, at ``t_rel_s``.

    ``t`` is seconds since the recovery start (``recovery_start_s``). The parameters are those
    the recovery assessment fitted and wrote (``fit_y_inf``, ``fit_amp``, ``tau_s``); nothing is
    refitted here.

    Parameters
    ----------
    windows : pandas.DataFrame
        The Windows table (unused; kept for the signature).
    row : pandas.Series
        One Recovery row.
    t_rel_s : array of float
        Times in s since the recovery start.
    window_time : {"center", "end"}

    Returns
    -------
    numpy.ndarray or None
        None when there is no fit (or the row has no fitted parameters).
    """
    tau = float(row.get("tau_s", np.nan))
    y_inf, amp = float(row.get("fit_y_inf", np.nan)), float(row.get("fit_amp", np.nan))
    if not (math.isfinite(tau) and tau > 0 and math.isfinite(y_inf) and math.isfinite(amp)):
        return None
    return y_inf + amp * np.exp(-np.asarray(t_rel_s, dtype=float) / tau)


def recovery_panel(recording: Recording, windows: pd.DataFrame, recovery_rows: pd.DataFrame, *,
                   window_time: str = "center", pre_s: float | None = None,
                   title: str | None = None) -> go.Figure:
    """One stressor's recovery: each assessed metric aligned at the start of its recovery.

    The x axis is seconds since the recovery start (``recovery_start_s``: the stressor's end,
    or for a stressor logged as a moment, the time of the peak response after it); the stressor
    is shaded before it. Per metric (one row each): the window values (gaps and invalid windows
    break the line), the baseline mean (dotted) and its band (``band_low``..``band_high``,
    shaded), the time to baseline (dashed vertical) or a note that the metric was not back
    within the time it was followed, the half-recovery time (dotted vertical) and the fitted
    exponential (black dashes).

    Parameters
    ----------
    recording : Recording
    windows : pandas.DataFrame
        The Windows table.
    recovery_rows : pandas.DataFrame
        The Recovery rows of this one stressor (one per metric).
    window_time : {"center", "end"}
    pre_s : float, optional
        Seconds before the recovery start to show; default the stressor's duration plus 120 s.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if len(recovery_rows) == 0:
        raise ValueError("recovery_panel needs at least one Recovery row")
    first = recovery_rows.iloc[0]
    onset = float(first["onset_s"])
    t0 = float(first["recovery_start_s"]) if math.isfinite(float(first.get("recovery_start_s", np.nan))) \
        else float(first["offset_s"])
    horizon = float(first.get("horizon_s", 600.0))
    pre = float(pre_s) if pre_s is not None else (t0 - onset) + 120.0
    metrics = [m for m in dict.fromkeys(recovery_rows["metric"]) if m in windows.columns]
    n = max(len(metrics), 1)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    label = str(first["event_label"])
    ev = recording.events.df
    later = ev[(ev["kind"] == "stressor") & (ev["onset_s"] > onset + 1e-6)]
    next_onset = float(later["onset_s"].min()) if len(later) else math.inf
    for i, metric in enumerate(metrics, start=1):
        r = recovery_rows[recovery_rows["metric"] == metric].iloc[0]
        info = metric_info(metric)
        t, v = series_with_breaks(windows, metric, recording.gaps, window_time)
        rel = t - t0
        # this recovery ends where the next stressor begins: later windows belong to that one
        keep = (rel >= -pre) & (rel <= horizon) & (windows["end_s"].to_numpy(float) <= next_onset + 1e-6)
        show = i == 1
        lo, hi = float(r.get("band_low", np.nan)), float(r.get("band_high", np.nan))
        if math.isfinite(lo) and math.isfinite(hi):
            fig.add_hrect(y0=lo, y1=hi, fillcolor=OKABE_ITO["bluish_green"], opacity=0.2, line_width=0,
                          layer="below", row=i, col=1)
            fig.add_trace(go.Scatter(x=[-pre, horizon], y=[float(r["baseline_mean"])] * 2, mode="lines",
                                     name="baseline mean (shaded: its band)", legendgroup="base",
                                     showlegend=show, line={"color": OKABE_ITO["bluish_green"], "dash": "dot"}),
                          row=i, col=1)
        fig.add_trace(go.Scatter(
            x=rel[keep], y=v[keep], mode="lines+markers", name=info["name"], connectgaps=False,
            line={"color": info["color"], "width": 2}, marker={"symbol": info["symbol"], "size": 5},
        ), row=i, col=1)
        fitted = window_times_s(windows, window_time)[fit_windows(windows, r)] - t0
        t_fit = np.linspace(fitted[0], fitted[-1], 121) if fitted.size > 1 else np.array([])
        curve = fitted_curve(windows, r, t_fit, window_time) if t_fit.size else None
        if curve is not None:
            fig.add_trace(go.Scatter(
                x=t_fit, y=curve, mode="lines", name="fitted exponential", legendgroup="fit", showlegend=show,
                line={"color": OKABE_ITO["black"], "dash": "dash", "width": 1.5},
            ), row=i, col=1)
        _mark_times(fig, r, i)
        fig.update_yaxes(title_text=f"{info['name']} ({info['unit']})", row=i, col=1)
    levels = _panel_events(fig, ev, t0, -pre, horizon, n)   # after the traces: plotly skips empty subplots
    relation = str(first.get("stressor_relation", "") or "")
    if relation and relation != "nan":
        # say why the panel has no recovery in it: the table's note on this stressor
        why = next((p.strip() for p in str(first.get("note", "")).split(";")
                    if p.strip().startswith(("followed at once", "overlaps", "duplicate"))), relation)
        head, _, tail = why.partition(": ")
        fig.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper",
                           text=plain(head) + (":<br>" + plain(tail) if tail else ""),
                           showarrow=False, font={"size": 13, "color": "#000000"},
                           bgcolor="rgba(255,255,255,0.85)", bordercolor=_GREY)
    fig.update_xaxes(title_text=plain(f"time since the end of '{label}' (s)"), row=n, col=1)
    fig.update_xaxes(range=[-pre, horizon])
    fig = _base_layout(fig, title or f"Recovery after '{label}'", height=230 * n + 160)
    fig.update_layout(margin={"t": 70 + LABEL_LEVEL_PX * max(levels, 1)})
    return fig


def _panel_events(fig: go.Figure, events: pd.DataFrame, t0_s: float, x_lo: float, x_hi: float,
                  n_rows: int) -> int:
    """Shade the events that fall in a recovery panel's span (x relative to ``t0_s``), labelled;
    returns the number of label levels used."""
    shown: list[tuple[float, str]] = []
    for e in events.itertuples(index=False):
        if e.kind not in ("stressor", "intervention"):
            continue
        a, b = e.onset_s - t0_s, e.offset_s - t0_s
        if b < x_lo or a >= x_hi:
            continue
        style = KIND_STYLE[e.kind]
        for row in range(1, n_rows + 1):
            if b > a:
                fig.add_vrect(x0=max(a, x_lo), x1=min(b, x_hi), fillcolor=style["color"], opacity=0.12, layer="below",
                              line={"color": style["color"], "width": 1, "dash": style["dash"]}, row=row, col=1)
            else:
                fig.add_vline(x=a, line={"color": style["color"], "width": 2, "dash": style["dash"]}, row=row, col=1)
        shown.append(((max(a, x_lo) + min(b, x_hi)) / 2, f"{e.label} ({e.kind})"))
    if not shown:
        return 0
    places = label_places(np.array([x for x, _ in shown]), [t for _, t in shown], x_lo, x_hi)
    for (_, text), (x, anchor, level) in zip(shown, places):
        fig.add_annotation(x=x, y=1.0, yshift=level * LABEL_LEVEL_PX, xref="x", yref="paper", yanchor="bottom",
                           xanchor=anchor, text=plain(text), showarrow=False, font={"size": 11},
                           bgcolor="rgba(255,255,255,0.7)")
    return 1 + max(level for _, _, level in places)


def _mark_times(fig: go.Figure, r: pd.Series, row: int) -> None:
    """Vertical markers of time-to-baseline and half-recovery (or a not-recovered note)."""
    ttb = time_to_baseline(r)
    axis = "" if row == 1 else str(row)
    if ttb.known and not ttb.censored:
        fig.add_vline(x=ttb.value_s, line={"color": OKABE_ITO["black"], "dash": "dash", "width": 2},
                      row=row, col=1, annotation_text=f"back to baseline: {format_duration(ttb.value_s)}",
                      annotation_position="top right", annotation_font_size=11)
    else:
        text = (f"not back to baseline within {format_duration(ttb.value_s)}" if ttb.known
                else "time to baseline: not computable (see the note)")
        fig.add_annotation(x=1, y=1, xref=f"x{axis} domain", yref=f"y{axis} domain", xanchor="right",
                           yanchor="top", text=text, showarrow=False, font={"size": 11},
                           bgcolor="rgba(255,255,255,0.8)")
    t50 = float(r.get("t50_s", np.nan))
    if math.isfinite(t50):
        fig.add_vline(x=t50, line={"color": OKABE_ITO["blue"], "dash": "dot", "width": 2}, row=row, col=1,
                      annotation_text=f"half-recovery: {format_duration(t50)}",
                      annotation_position="bottom right", annotation_font_size=11)


# -------------------------------------------------------------------------------------------
# tachogram
# -------------------------------------------------------------------------------------------
def tachogram(recording: Recording, *, title: str = "Tachogram (beat-to-beat RR intervals)") -> go.Figure:
    """RR interval of every beat over clock time, gaps as breaks, flagged beats as symbols.

    Parameters
    ----------
    recording : Recording
        The cleaned recording (per-beat flags).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    t, rr = recording.t_s, recording.rr_ms
    breaks = _beat_breaks(recording)
    tb, rrb = _insert_breaks(t, rr, breaks)
    tb, rrb, drawn, total = reduce_line(tb, rrb)
    fig.add_trace(go.Scatter(x=time_x(recording, tb), y=rrb, mode="lines", name="RR interval",
                             connectgaps=False, line={"color": OKABE_ITO["black"], "width": 1}))
    notes = [drawn_note(drawn, total, "beats (smallest, largest, first and last of each time bucket)",
                        "the recording's beats")]
    flags = recording.flags
    for flag, symbol in FLAG_SYMBOL.items():
        idx = np.flatnonzero(flags == flag)
        if idx.size:
            shown = idx[reduce_markers(t[idx], rr[idx])]
            fig.add_trace(go.Scatter(
                x=time_x(recording, t[shown]), y=rr[shown], mode="markers",
                name=f"{flag} ({idx.size}{'' if shown.size == idx.size else f'; {shown.size} drawn'})",
                marker={"symbol": symbol, "size": 8, "color": _FLAG_COLOR[flag], "line": {"width": 1.5}},
            ))
            if shown.size < idx.size:
                notes.append(f"{flag} beats: the shortest and longest of each time bucket")
    gap_lines = [_band(1, _x(recording, g.onset_s), _x(recording, g.onset_s + g.duration_s), fillcolor=_GREY,
                       opacity=0.35, line={"width": 0}, layer="below") for g in recording.gaps.itertuples(index=False)]
    _add_shapes(fig, gap_lines)
    if gap_lines:
        _legend_swatch(fig, "gap (no beats)", _GREY, on_grid=False)
    style_time_axis(fig, recording, 0.0, recording.duration_s)
    fig.update_yaxes(title_text="RR interval (ms)")
    fig = _base_layout(fig, title, height=380)
    _say_reduced(fig, notes)
    return fig


# -------------------------------------------------------------------------------------------
# Poincare plot
# -------------------------------------------------------------------------------------------
def beat_phases(recording: Recording, recovery: pd.DataFrame | None = None,
                horizon_s: float = 600.0) -> np.ndarray:
    """Phase of each beat: ``baseline``, ``stressor``, ``recovery`` or ``""`` (none).

    A beat is *stressor* inside a stressor event; *baseline* inside a baseline event or inside
    the baseline span a Recovery row used; *recovery* inside a recovery event or within
    ``horizon_s`` after a stressor's end. Stressor wins over the others, then baseline.

    Parameters
    ----------
    recording : Recording
    recovery : pandas.DataFrame, optional
        The Recovery table (``baseline_start_s``, ``baseline_end_s``).
    horizon_s : float
        Follow-up after a stressor in s (:attr:`RecoveryConfig.horizon_s`).

    Returns
    -------
    numpy.ndarray of str
    """
    t = recording.t_s
    phase = np.full(len(t), "", dtype=object)
    ev = recording.events.df

    def mark(lo: float, hi: float, name: str, overwrite: Iterable[str]) -> None:
        sel = (t >= lo) & (t <= hi) & np.isin(phase, list(overwrite))
        phase[sel] = name

    for e in ev[ev["kind"] == "recovery"].itertuples(index=False):
        mark(e.onset_s, e.offset_s, "recovery", [""])
    for e in ev[ev["kind"] == "stressor"].itertuples(index=False):
        mark(e.offset_s, e.offset_s + horizon_s, "recovery", [""])
    for e in ev[ev["kind"] == "baseline"].itertuples(index=False):
        mark(e.onset_s, e.offset_s, "baseline", ["", "recovery"])
    for s in _baseline_spans(recovery).itertuples(index=False):
        mark(s.baseline_start_s, s.baseline_end_s, "baseline", [""])
    for e in ev[ev["kind"] == "stressor"].itertuples(index=False):
        mark(e.onset_s, e.offset_s, "stressor", ["", "recovery", "baseline"])
    return phase


#: Beat flags whose intervals enter the Poincaré plot: those windowed HRV uses
#: (:attr:`HRVConfig.usable_flags`; ectopic, missed and extra beats are left out).
USABLE_FLAGS: tuple[str, ...] = ("ok", "corrected", "interpolated")


def poincare(recording: Recording, recovery: pd.DataFrame | None = None, *, horizon_s: float = 600.0,
             usable_flags: Sequence[str] = USABLE_FLAGS,
             title: str = "Poincaré plot: baseline, stressor and recovery beats",
             max_poincare_points: int = MAX_POINCARE_POINTS) -> go.Figure:
    """RR(n+1) against RR(n) for consecutive beats, by phase (see :func:`beat_phases`).

    Pairs that straddle a gap or include a beat whose flag is not in ``usable_flags`` are left
    out; pairs whose second beat belongs to no phase are drawn
    as faint grey rings ("outside these phases"), so a session without events still has its plot.

    Parameters
    ----------
    recording : Recording
    recovery : pandas.DataFrame, optional
    horizon_s : float
    usable_flags : sequence of str
        Beat flags whose intervals are plotted.
    title : str
    max_poincare_points : int
        Above this many pairs the plot draws a subsample (:mod:`.reduce`) and says so.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    rr = recording.rr_ms
    phase = beat_phases(recording, recovery, horizon_s)
    ok_pair = np.ones(max(len(rr) - 1, 0), dtype=bool)
    breaks = _beat_breaks(recording)
    ok_pair[breaks[breaks >= 1] - 1] = False
    usable = np.isin(recording.flags, list(usable_flags))
    ok_pair &= usable[:-1] & usable[1:]
    fig = go.Figure()
    styles = {**PHASE_STYLE, "": {"color": _GREY, "symbol": "circle-open"}}
    pairs = {name: np.flatnonzero(ok_pair & (phase[1:] == name)) for name in styles}
    pairs = {k: v for k, v in pairs.items() if v.size}
    quota = subsample_groups({k: v.size for k, v in pairs.items()}, max_poincare_points)
    rng = np.random.default_rng(SEED)
    lo, hi = math.inf, -math.inf
    for name, sel in pairs.items():
        style = styles[name]
        lo, hi = min(lo, float(np.min(rr[sel]))), max(hi, float(np.max(rr[sel])))
        n_all = sel.size
        if quota[name] < n_all:
            sel = _sample_pairs(rr, sel, quota[name], rng)
        count = f"{n_all} beats" if sel.size == n_all else f"{sel.size:,} of {n_all:,} beats drawn"
        fig.add_trace(go.Scatter(
            x=rr[sel], y=rr[sel + 1], mode="markers", name=f"{name or 'outside these phases'} ({count})",
            marker={"color": style["color"], "symbol": style["symbol"], "size": 5, "opacity": 0.6 if name else 0.35},
        ))
    n_total = sum(v.size for v in pairs.values())
    n_drawn = sum(len(tr.x) for tr in fig.data)
    if pairs:
        pad = 0.05 * (hi - lo) + 5.0
        lo, hi = lo - pad, hi + pad
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="identity line",
                                 line={"color": _GREY, "dash": "dot", "width": 1}))
        fig.update_xaxes(range=[lo, hi])
        fig.update_yaxes(range=[lo, hi])
    fig.update_xaxes(title_text="RRₙ (ms)", constrain="domain")
    fig.update_yaxes(title_text="RRₙ₊₁ (ms)", scaleanchor="x", scaleratio=1, constrain="domain")
    fig = _base_layout(fig, title, height=520)
    _say_reduced(fig, [drawn_note(n_drawn, n_total, "beat pairs (a fixed-seed random sample per phase, small "
                                  "phases whole, with each phase's extreme pairs)", "the recording's beats")])
    return fig


def _sample_pairs(rr: np.ndarray, sel: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` of the pairs ``sel`` (indices of RR(n)): the extreme pairs (smallest and largest
    RR(n), RR(n+1), their sum and difference) and a random sample of the rest, in index order."""
    x, y = rr[sel], rr[sel + 1]
    ext = np.unique([f(v) for v in (x, y, x + y, x - y) for f in (np.argmin, np.argmax)])[:k]
    rest = np.setdiff1d(np.arange(sel.size), ext, assume_unique=True)
    pick = rng.choice(rest, size=max(k - ext.size, 0), replace=False)
    return sel[np.sort(np.concatenate((ext, pick)))]


# -------------------------------------------------------------------------------------------
# trend figure
# -------------------------------------------------------------------------------------------
def trend_figure(sessions: pd.DataFrame, stressors: pd.DataFrame, *,
                 title: str = "Trend across sessions") -> go.Figure:
    """Baseline lnRMSSD with its smallest-worthwhile-change band, and recovery per stressor.

    Rows: baseline lnRMSSD (with the rolling mean and the band), time-to-baseline of heart rate
    per stressor (an open triangle pointing up at the censoring time where it was not back within
    the horizon), half-recovery per stressor, and heart-rate reactivity per stressor. Sessions that
    failed the quality checks keep their place but are drawn as grey crosses.

    Parameters
    ----------
    sessions : pandas.DataFrame
        One row per session (:func:`calmtrace.sessions.trend_tables`): ``date``,
        ``baseline_ln_rmssd``, ``swc_mean``, ``swc_low``, ``swc_high``, ``quality_ok``.
    stressors : pandas.DataFrame
        One row per session and stressor: ``date``, ``label``, ``time_to_baseline_s`` (the
        follow-up where censored), ``ttb_censored``, ``t50_s``, ``reactivity_bpm``, ``quality_ok``.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.05)
    x = pd.to_datetime(sessions["date"]).dt.tz_localize(None) if len(sessions) else []
    ok = sessions["quality_ok"].to_numpy(dtype=bool) if len(sessions) else np.array([], bool)
    y = sessions["baseline_ln_rmssd"].to_numpy(dtype=float) if len(sessions) else np.array([])
    if len(sessions):
        fig.add_trace(go.Scatter(x=x, y=sessions["swc_high"], mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip", connectgaps=False), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=sessions["swc_low"], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(0,158,115,0.2)", connectgaps=False,
                                 name="smallest worthwhile change (earlier sessions' mean ± 0.5 SD)"), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=sessions["swc_mean"], mode="lines", connectgaps=False,
                                 name="mean of earlier sessions",
                                 line={"color": OKABE_ITO["bluish_green"], "dash": "dash"}), row=1, col=1)
        fig.add_trace(go.Scatter(x=x[ok], y=y[ok], mode="markers+lines", name="baseline lnRMSSD",
                                 line={"color": OKABE_ITO["blue"]}, marker={"symbol": "square", "size": 9}),
                      row=1, col=1)
        _failed_markers(fig, x[~ok], y[~ok], row=1, show=True)
    labels = list(dict.fromkeys(stressors["label"])) if len(stressors) else []
    styles = [(OKABE_ITO["vermillion"], "circle", "solid"), (OKABE_ITO["orange"], "diamond", "dash"),
              (OKABE_ITO["reddish_purple"], "square", "dot"), (OKABE_ITO["sky_blue"], "triangle-down", "dashdot")]
    for j, label in enumerate(labels):
        color, symbol, dash = styles[j % len(styles)]
        s = stressors[stressors["label"] == label]
        xs = pd.to_datetime(s["date"]).dt.tz_localize(None)
        sok = s["quality_ok"].to_numpy(dtype=bool)
        cens = s["ttb_censored"].to_numpy(dtype=bool)
        for row, col in ((2, "time_to_baseline_s"), (3, "t50_s"), (4, "reactivity_bpm")):
            yv = s[col].to_numpy(dtype=float)
            exact = sok & (~cens if row == 2 else np.ones(len(s), bool))
            fig.add_trace(go.Scatter(
                x=xs[exact], y=yv[exact], mode="markers+lines", name=plain(f"'{label}'"), legendgroup=label,
                showlegend=(row == 2), line={"color": color, "dash": dash},
                marker={"symbol": symbol, "size": 9, "color": color},
            ), row=row, col=1)
            if row == 2 and (sok & cens).any():
                fig.add_trace(go.Scatter(
                    x=xs[sok & cens], y=yv[sok & cens], mode="markers", legendgroup=label,
                    name=plain(f"'{label}': not back within the horizon (value = follow-up, a lower bound)"),
                    marker={"symbol": "triangle-up-open", "size": 12, "color": color, "line": {"width": 2}},
                ), row=row, col=1)
            _failed_markers(fig, xs[~sok], yv[~sok], row=row, show=False)
    units = [("baseline lnRMSSD (ln(ms))", 1), ("time to baseline, HR (s)", 2),
             ("half-recovery, HR (s)", 3), ("HR reactivity (bpm)", 4)]
    for text, row in units:
        fig.update_yaxes(title_text=text, row=row, col=1)
    fig.update_xaxes(title_text="session date", row=4, col=1)
    return _base_layout(fig, title, height=1000)


def _failed_markers(fig: go.Figure, x, y, row: int, show: bool) -> None:
    if len(x) == 0:
        return
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name="session failed quality checks",
                             legendgroup="failed", showlegend=show,
                             marker={"symbol": "x-thin-open", "size": 14, "color": _GREY, "line": {"width": 3}}),
                  row=row, col=1)
