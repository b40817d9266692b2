"""Days and nights in the trend report: the daily stress/recovery balance and overnight HRV.

A pure renderer of the ``days``, ``nights`` and ``day_notes`` of a
:class:`calmtrace.sessions.SessionTrend` (built by :func:`calmtrace.sessions.day_trend_tables`
from each session's day analysis): it computes nothing. Two panels:

- **Daily stress/recovery balance**: minutes per state per calendar day (stacked bars), and below
  them the shares of measured waking time in stress and in recovery (calmtrace's own summary of its
  epoch states; see :mod:`calmtrace.signals.day_trend`).
- **Overnight lnRMSSD**: the mean lnRMSSD over the first hours of each night's sleep, with the
  smallest-worthwhile-change band of the nights before it (the same band as the sessions'
  baseline lnRMSSD; Plews et al. 2012, 2013, 2014). Nights above or below the band are marked.

Sessions without a day analysis are left out of both panels, each with a line saying why.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..signals import metrics as _metrics
from . import figures
from .day import STATE_COLOURS
from .html import esc, figure_html, fmt

__all__ = ["balance_figure", "overnight_figure", "day_trend_section", "day_trend_limits", "band_cells"]

#: Stacking order of the states in the balance panel (bottom first).
_STACK = ("stress", "recovery", "activity", "neutral", "unmeasured")
_VS_STYLE = {
    "above": ("above the band", figures.OKABE_ITO["blue"], "triangle-up"),
    "below": ("below the band", figures.OKABE_ITO["vermillion"], "triangle-down"),
    "within": ("within the band", figures.OKABE_ITO["black"], "circle"),
    "": ("no band yet", "#7F7F7F", "circle-open"),
}


def _x(rows: pd.DataFrame, col: str) -> list[str]:
    """Category labels: the date, or session and day/night number where the clock is unknown.

    A date that more than one session covers is labelled with the session too (``2026-01-09
    (session 3)``), so that two recordings' rows stand side by side instead of stacking into one
    bar of their sum.
    """
    dates = rows["date"].astype(str)
    shared = {d for d, g in rows.groupby(dates) if d and g["session"].nunique() > 1}
    return [(f"{r[col]} (session {r['session']})" if str(r["date"]) in shared else str(r[col]))
            if r["date"] else f"session {r['session']}, {r[col]}" for _, r in rows.iterrows()]


def band_cells(metric: str, value: float, low: float, high: float, vs: str) -> tuple[str, str, str]:
    """A value, its SWC band and the verdict as table text in which the verdict can be read.

    The metric's digits come from the registry (:func:`calmtrace.signals.metrics.digits`); where
    rounding to them would hide the verdict (a value 0.004 above a band edge printed as the edge
    itself), value and band are printed with as many more digits as it takes (up to four more).
    A value outside the band also gets its signed difference from the edge it crossed.

    Parameters
    ----------
    metric : str
        A registered metric name, e.g. ``"ln_rmssd"``.
    value, low, high : float
        The value and its band's edges (NaN where missing).
    vs : str
        ``"above"``, ``"below"``, ``"within"`` or ``""`` (no band).

    Returns
    -------
    (value_text, band_text, verdict_text) : three str
        e.g. ``("4.474", "4.451 to 4.470", "above (+0.004 over the upper edge)")``.
    """
    d0 = _metrics.digits(metric)
    v, lo, hi = (float(x) for x in (value, low, high))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return _metrics.format_value(metric, v, with_unit=False), "n/a", vs or "n/a"
    if not math.isfinite(v):
        return "n/a", f"{lo:.{d0}f} to {hi:.{d0}f}", vs or "n/a"

    def visible(d: int) -> bool:
        pv, pl, ph = (float(f"{x:.{d}f}") for x in (v, lo, hi))
        return {"above": pv > ph, "below": pv < pl, "within": pl <= pv <= ph}.get(vs, True)

    d = next((k for k in range(d0, d0 + 5) if visible(k)), d0 + 4)
    verdict = vs or "n/a"
    if vs == "above":
        verdict = f"above (+{v - hi:.{d}f} over the upper edge)"
    elif vs == "below":
        verdict = f"below (-{lo - v:.{d}f} under the lower edge)"
    return f"{v:.{d}f}", f"{lo:.{d}f} to {hi:.{d}f}", verdict


def balance_figure(days: pd.DataFrame, *, title: str = "Daily stress/recovery balance") -> go.Figure:
    """Minutes per state per calendar day, and the stress and recovery shares of waking time.

    Parameters
    ----------
    days : pandas.DataFrame
        :data:`calmtrace.sessions.TREND_DAY_COLUMNS`: ``session``, ``day``, ``date``,
        ``<state>_min`` (min), ``stress_pct`` and ``recovery_pct`` (% of measured waking minutes).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.62, 0.38])
    x = _x(days, "day")
    for s in _STACK:
        fig.add_trace(go.Bar(x=x, y=days[f"{s}_min"].to_numpy(float), name=s, legendgroup=s,
                             marker={"color": STATE_COLOURS[s], "line": {"color": "#7F7F7F", "width": 1}},
                             hovertemplate=f"{s}: %{{y:.0f}} min<extra>%{{x}}</extra>"), row=1, col=1)
    for col, name, colour, symbol in (
            ("stress_pct", "stress, % of measured waking time", STATE_COLOURS["stress"], "square"),
            ("recovery_pct", "recovery, % of measured waking time", STATE_COLOURS["recovery"], "diamond")):
        fig.add_trace(go.Scatter(x=x, y=days[col].to_numpy(float), mode="markers+lines", name=name,
                                 connectgaps=False, line={"color": colour},
                                 marker={"symbol": symbol, "size": 9, "color": colour}), row=2, col=1)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="minutes per state (min)", row=1, col=1)
    fig.update_yaxes(title_text="share of waking time (%)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(type="category", row=1, col=1)
    fig.update_xaxes(type="category", title_text="calendar day (recording's clock)", row=2, col=1)
    return figures._base_layout(fig, title, height=620)


#: The least span of the overnight lnRMSSD axis, ln(ms): 0.5, about 10 times the smallest
#: worthwhile change of nightly lnRMSSD (0.5 x a night-to-night SD of about 0.1; Plews et al. 2012),
#: so that differences far below it do not fill the plot (calmtrace's own choice).
MIN_LN_SPAN = 0.5


def overnight_figure(nights: pd.DataFrame, *, title: str = "Overnight lnRMSSD") -> go.Figure:
    """Each night's lnRMSSD over the first hours of sleep with the SWC band of the nights before it.

    Parameters
    ----------
    nights : pandas.DataFrame
        :data:`calmtrace.sessions.TREND_NIGHT_COLUMNS`: ``session``, ``night``, ``date``,
        ``ln_rmssd`` (ln(ms)), ``band_mean``, ``band_low``, ``band_high``, ``vs_band``.
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    fig = go.Figure()
    x = _x(nights, "night")
    if nights["band_mean"].notna().any():
        _band(fig, x, nights)
    y = nights["ln_rmssd"].to_numpy(float)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", connectgaps=False, showlegend=False, hoverinfo="skip",
                             line={"color": figures.OKABE_ITO["sky_blue"], "width": 1}))
    vs = nights["vs_band"].fillna("").astype(str).to_numpy()
    xs = np.array(x, dtype=object)
    for key, (name, colour, symbol) in _VS_STYLE.items():
        sel = (vs == key) & np.isfinite(y)
        if sel.any():
            fig.add_trace(go.Scatter(x=xs[sel], y=y[sel], mode="markers", name=f"night {name}",
                                     marker={"symbol": symbol, "size": 11, "color": colour,
                                             "line": {"width": 1.5, "color": colour}}))
    fig.update_yaxes(title_text=f"overnight {_metrics.axis_title('ln_rmssd')}")
    shown = np.concatenate([y, nights["band_low"].to_numpy(float), nights["band_high"].to_numpy(float)])
    shown = shown[np.isfinite(shown)]
    if shown.size and shown.max() - shown.min() < MIN_LN_SPAN:
        # nights a few hundredths apart would fill the axis and look far apart: keep a fixed least span
        mid = 0.5 * (shown.max() + shown.min())
        fig.update_yaxes(range=[mid - MIN_LN_SPAN / 2, mid + MIN_LN_SPAN / 2])
    fig.update_xaxes(type="category", title_text="night (date it ends, recording's clock)")
    return figures._base_layout(fig, title, height=480)


def _band(fig: go.Figure, x: list[str], nights: pd.DataFrame) -> None:
    """The SWC band (shaded) and the mean of the earlier nights (dashed)."""
    fig.add_trace(go.Scatter(x=x, y=nights["band_high"].to_numpy(float), mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip", connectgaps=False))
    fig.add_trace(go.Scatter(x=x, y=nights["band_low"].to_numpy(float), mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(0,158,115,0.2)", connectgaps=False,
                             name="smallest worthwhile change of the earlier nights"))
    mean = nights["band_mean"].to_numpy(float)
    # the half-width as error bars too, so that a band of a single night (no area to shade) shows
    fig.add_trace(go.Scatter(x=x, y=mean, mode="lines+markers", connectgaps=False,
                             name="mean of the earlier nights (bars: the band)",
                             line={"color": figures.OKABE_ITO["bluish_green"], "dash": "dash"},
                             marker={"symbol": "line-ew-open", "size": 10, "color": figures.OKABE_ITO["bluish_green"]},
                             error_y={"type": "data", "array": nights["band_high"].to_numpy(float) - mean,
                                      "arrayminus": mean - nights["band_low"].to_numpy(float),
                                      "color": figures.OKABE_ITO["bluish_green"], "width": 6}))


def day_trend_limits(trend: Any) -> list[str]:
    """What the day and night panels could not show, and why (for the report's limits)."""
    out = list(getattr(trend, "day_notes", []) or [])
    nights = getattr(trend, "nights", None)
    if nights is not None and len(nights):
        for r in nights.itertuples(index=False):
            if r.note:
                out.append(f"Night ending {r.night} (session {r.session}): no overnight figures, {r.note}.")
        if not nights["band_mean"].notna().any():
            out.append(f"No overnight SWC band yet: {nights['band_note'].iloc[-1]}.")
    return out


def _days_html(days: pd.DataFrame) -> str:
    rows = []
    for r in days.itertuples(index=False):
        rows.append(
            f'<tr><td class="num">{r.session}</td><td>{esc(r.day)}</td><td class="num">{fmt(r.covered_min, 0)}</td>'
            + "".join(f'<td class="num">{fmt(getattr(r, s + "_min"), 0)}</td>' for s in _STACK)
            + f'<td class="num">{fmt(r.waking_measured_min, 0)}</td><td class="num">{fmt(r.stress_pct, 1, "%")}</td>'
            f'<td class="num">{fmt(r.recovery_pct, 1, "%")}</td><td>{esc(r.balance_note)}</td></tr>')
    head = ("<tr><th>#</th><th>day</th><th>worn (min)</th>" + "".join(f"<th>{s} (min)</th>" for s in _STACK)
            + "<th>measured waking (min)</th><th>stress, % of waking</th><th>recovery, % of waking</th>"
            "<th>note</th></tr>")
    return f'<table id="days-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _nights_html(nights: pd.DataFrame) -> str:
    rows = []
    for r in nights.itertuples(index=False):
        value, band, verdict = band_cells("ln_rmssd", r.ln_rmssd, r.band_low, r.band_high, str(r.vs_band or ""))
        band = f"{band} (n={r.band_n})" if band != "n/a" else band
        rows.append(
            f'<tr><td class="num">{r.session}</td><td>{esc(r.night)}</td><td>{esc(r.onset)} to {esc(r.end)}</td>'
            f"<td>{esc(r.source)}</td><td class=\"num\">{fmt(r.first_h, 1, 'h')}</td>"
            f'<td class="num">{fmt(r.first_measured_pct, 0, "%")}</td>'
            f'<td class="num">{esc(_metrics.format_value("mean_hr_bpm", r.hr_bpm))}</td>'
            f'<td class="num">{esc(value)}</td>'
            f'<td class="num">{esc(band)}</td><td>{esc(verdict)}</td>'
            f"<td>{esc(r.note or r.band_note)}</td></tr>")
    head = ("<tr><th>#</th><th>night (ends)</th><th>sleep span</th><th>from</th><th>first hours</th>"
            "<th>measured</th><th>overnight HR</th><th>overnight lnRMSSD</th><th>SWC band of earlier nights</th>"
            "<th>vs. band</th><th>note</th></tr>")
    return f'<table id="nights-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def day_trend_section(trend: Any, *, simulated: bool = False) -> str:
    """The trend report's section on days and nights (HTML), from what sessions.py computed.

    Parameters
    ----------
    trend : SessionTrend
        Its ``days``, ``nights``, ``day_notes`` and ``config``.
    simulated : bool
        Mark the figure titles as simulated.
    """
    days = getattr(trend, "days", None)
    nights = getattr(trend, "nights", None)
    notes = list(getattr(trend, "day_notes", []) or [])
    tag = " [SIMULATED]" if simulated else ""
    parts = ['<section id="days"><h2>Days and nights</h2>']
    if days is None or len(days) == 0:
        day_min_h = float(getattr(trend, "day_min_s", math.nan)) / 3600.0
        which = "session with a date" if getattr(trend, "undated", None) else "session"
        parts.append(f'<p class="muted" id="days-none">No {which} has a day analysis (the trend\'s day panels take '
                     f"recordings of {day_min_h:g} h or more), so there is no daily balance or overnight HRV to "
                     "show.</p>")
    else:
        if notes:
            parts.append('<ul class="muted" id="days-skipped">' + "".join(f"<li>{esc(n)}</li>" for n in notes)
                         + "</ul>")
        parts.append(figure_html(
            balance_figure(days, title="Daily stress/recovery balance" + tag), "fig-balance",
            "Top: minutes of each calendar day (the recording's clock) in each state, stacked; first and last days "
            "of a recording are usually partial. Bottom: the share of measured waking minutes (outside sleep, not "
            "unmeasured) in stress and in recovery, calmtrace's own daily balance; missing where too little of "
            "the day was measured awake."))
        parts.append(_days_html(days))
        if nights is not None and len(nights):
            tc = trend.config
            parts.append(figure_html(
                overnight_figure(nights, title="Overnight lnRMSSD" + tag), "fig-overnight",
                f"Mean lnRMSSD over the first hours of each night's sleep (the day analysis' figure), by the date the "
                f"night ends. Shaded: the smallest-worthwhile-change band, the mean of the last {tc.swc_window} "
                f"earlier nights (at least {tc.swc_min_sessions}) &plusmn; {tc.swc_factor:g} &times; their SD, the "
                "band the sessions' baseline lnRMSSD uses. Triangles up/down: above/below the band; open grey "
                "circles: no band yet. Nights without overnight figures are listed in the table with the reason."))
            parts.append(_nights_html(nights))
        else:
            parts.append('<p class="muted" id="nights-none">No sleep span was found in any session with a day '
                         "analysis, so there is no overnight HRV to show.</p>")
    parts.append("</section>")
    return "".join(parts)
