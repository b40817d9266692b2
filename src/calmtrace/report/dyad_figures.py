"""Plotly figures of the couples report: pure functions of a :class:`~calmtrace.signals.dyad.DyadResult`.

The conventions of :mod:`calmtrace.report.figures` hold here too: Okabe-Ito colours plus a
second cue (dash or marker) for every series, units in every axis title, clock time on the x axis
(partner A's clock, on which B was aligned), gaps as breaks in the lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import KIND_STYLE, OKABE_ITO, _base_layout, clock_label, clock_times

__all__ = ["PARTNER_STYLE", "dyad_overview", "dyad_wcc", "dyad_phases", "dyad_recovery", "dyad_trend"]

#: Colour, dash and marker of each partner, the same in every figure.
PARTNER_STYLE: dict[str, dict[str, str]] = {
    "A": {"color": OKABE_ITO["blue"], "dash": "solid", "symbol": "circle"},
    "B": {"color": OKABE_ITO["vermillion"], "dash": "dash", "symbol": "square"},
}
_SERIES_STYLE = {"hr": {"color": OKABE_ITO["black"], "symbol": "circle", "name": "heart rate"},
                 "vagal": {"color": OKABE_ITO["bluish_green"], "symbol": "diamond-open", "name": "lnRMSSD"}}


def _events_bands(fig: go.Figure, res: Any, n_rows: int) -> None:
    """Shade the shared events across all rows, labelled once above the top row."""
    for i, ev in enumerate(res.events.df.itertuples(index=False)):
        style = KIND_STYLE.get(ev.kind, KIND_STYLE["note"])
        x0, x1 = (pd.Timestamp(v) for v in clock_times(res.rec_a, [ev.onset_s, ev.offset_s]))
        for row in range(1, n_rows + 1):
            if ev.duration_s > 0:
                fig.add_vrect(x0=x0, x1=x1, fillcolor=style["color"], opacity=0.12, layer="below",
                              line={"color": style["color"], "width": 1, "dash": style["dash"]}, row=row, col=1)
            else:
                fig.add_vline(x=x0, line={"color": style["color"], "width": 2, "dash": style["dash"]}, row=row, col=1)
        fig.add_annotation(x=x0 + (x1 - x0) / 2, y=1.0 + (0.035 if i % 2 else 0.0), xref="x", yref="paper",
                           text=f"{ev.label} ({ev.kind})", showarrow=False, yanchor="bottom",
                           font={"size": 11, "color": "#000000"}, bgcolor="rgba(255,255,255,0.7)")


def dyad_overview(res: Any, *, title: str = "Couples session") -> go.Figure:
    """Both partners on one clock: heart rate, lnRMSSD, synchrony over time and who leads.

    Rows: heart rate of A and B (bpm); lnRMSSD of A and B (ln(ms)); the peak windowed
    cross-correlation of each window (heart rate and lnRMSSD); the lag of that peak (s, positive:
    B follows A). Shared events are shaded bands on every row.
    """
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.05)
    s = res.series
    x = clock_times(res.rec_a, s["t_s"].to_numpy(float))
    for row, (col, unit) in enumerate((("hr", "bpm"), ("vagal", "ln(ms)")), start=1):
        for who in ("A", "B"):
            st = PARTNER_STYLE[who]
            fig.add_trace(go.Scatter(x=x, y=s[f"{col}_{who.lower()}"], mode="lines", connectgaps=False,
                                     name=f"{who}: {res.labels[who]}", legendgroup=who, showlegend=(row == 1),
                                     line={"color": st["color"], "dash": st["dash"], "width": 1.6}),
                          row=row, col=1)
    w = res.windows
    for name, st in _SERIES_STYLE.items():
        ww = w[w["series"] == name]
        if len(ww) == 0:
            continue
        xc = clock_times(res.rec_a, ww["center_s"].to_numpy(float))
        fig.add_trace(go.Scatter(x=xc, y=ww["peak_r"], mode="markers+lines", connectgaps=False,
                                 name=f"peak r, {st['name']}", legendgroup=f"sync-{name}",
                                 line={"color": st["color"], "width": 1, "dash": "dot" if name == "vagal" else "solid"},
                                 marker={"symbol": st["symbol"], "size": 7, "color": st["color"]}), row=3, col=1)
        fig.add_trace(go.Scatter(x=xc, y=ww["peak_lag_s"], mode="markers", name=f"lag of the peak, {st['name']}",
                                 legendgroup=f"sync-{name}", showlegend=False,
                                 marker={"symbol": st["symbol"], "size": 7, "color": st["color"]}), row=4, col=1)
    fig.add_hline(y=0, line={"color": "#7F7F7F", "width": 1}, row=4, col=1)
    _events_bands(fig, res, 4)
    for text, row in (("heart rate (bpm)", 1), ("lnRMSSD (ln(ms))", 2), ("peak r (windowed)", 3),
                      ("lag (s), > 0: B follows A", 4)):
        fig.update_yaxes(title_text=text, row=row, col=1)
    fig.update_yaxes(range=[-1.05, 1.05], row=3, col=1)
    fig.update_xaxes(title_text=clock_label(res.rec_a), row=4, col=1)
    return _base_layout(fig, title, height=980)


def dyad_wcc(res: Any, series: str = "hr", *, title: str = "Windowed cross-correlation") -> go.Figure:
    """The windowed cross-correlation matrix of one series: r by window (clock time) and lag, with
    the picked peaks drawn over it."""
    centre, lags, r = res.wcc[series]
    fig = go.Figure()
    x = clock_times(res.rec_a, np.asarray(centre, float))
    fig.add_trace(go.Heatmap(x=x, y=lags, z=np.asarray(r).T, zmin=-1, zmax=1, colorscale="RdBu_r",
                             colorbar={"title": {"text": "r"}}, name="r"))
    ww = res.windows[res.windows["series"] == series]
    fig.add_trace(go.Scatter(x=clock_times(res.rec_a, ww["center_s"].to_numpy(float)), y=ww["peak_lag_s"],
                             mode="markers", name="peak of each window",
                             marker={"symbol": "x", "size": 8, "color": OKABE_ITO["black"]}))
    fig.add_hline(y=0, line={"color": "#7F7F7F", "width": 1})
    fig.update_yaxes(title_text="lag (s), > 0: B follows A")
    fig.update_xaxes(title_text=clock_label(res.rec_a))
    return _base_layout(fig, title, height=420)


def dyad_phases(phases: pd.DataFrame, *, title: str = "Synchrony per phase") -> go.Figure:
    """Per phase and series: the synchrony (mean peak r, Fisher-z averaged) against the surrogates'
    mean and 95th percentile. Filled markers: above chance (Holm-adjusted), open: not."""
    fig = go.Figure()
    for name, st in _SERIES_STYLE.items():
        p = phases[phases["series"] == name]
        if len(p) == 0:
            continue
        labels = [f"{r.phase} ({r.kind})" for r in p.itertuples(index=False)]
        above = p["exceeds_chance"].to_numpy(bool)
        sym = [st["symbol"].replace("-open", "") + ("" if a else "-open") for a in above]
        fig.add_trace(go.Scatter(x=labels, y=p["synchrony_r"], mode="markers", name=f"{st['name']}: synchrony",
                                 marker={"symbol": sym, "size": 13, "color": st["color"], "line": {"width": 2}}))
        fig.add_trace(go.Scatter(x=labels, y=p["surrogate_q95_r"], mode="markers",
                                 name=f"{st['name']}: 95th percentile of the surrogates",
                                 marker={"symbol": "line-ew-open", "size": 26, "color": st["color"],
                                         "line": {"width": 3}}))
        fig.add_trace(go.Scatter(x=labels, y=p["surrogate_mean_r"], mode="markers",
                                 name=f"{st['name']}: surrogates' mean",
                                 marker={"symbol": "line-ew-open", "size": 18, "color": "#7F7F7F",
                                         "line": {"width": 2}}))
    fig.update_yaxes(title_text="mean peak r (Fisher z averaged)", range=[-0.05, 1.05])
    fig.update_xaxes(title_text="phase")
    fig.update_layout(scattermode="group")
    return _base_layout(fig, title, height=440)


def dyad_recovery(res: Any, *, title: str = "Recovery after the shared stressor") -> go.Figure:
    """Each partner's heart rate above their own baseline, aligned at the end of each stressor
    (0 s), with each partner's time to baseline marked."""
    st_ev = res.events.stressors()
    n = max(len(st_ev), 1)
    fig = make_subplots(rows=n, cols=1, vertical_spacing=0.12,
                        subplot_titles=[f"after '{lab}'" for lab in st_ev["label"]] or [""])
    rc = res.recovery
    t = res.series["t_s"].to_numpy(float)
    for i, ev in enumerate(st_ev.itertuples(index=False), start=1):
        lo, hi = ev.onset_s - 60.0, ev.offset_s + float(res.config.recovery.horizon_s)
        m = (t >= lo) & (t <= hi)
        for who in ("A", "B"):
            style = PARTNER_STYLE[who]
            rows = rc[(rc["partner"] == who) & (rc["metric"] == "mean_hr_bpm") & (rc["event_label"] == ev.label)] \
                if len(rc) else rc
            base = float(rows["baseline_mean"].iloc[0]) if len(rows) else 0.0
            y = res.series[f"hr_{who.lower()}"].to_numpy(float)[m] - base
            fig.add_trace(go.Scatter(x=t[m] - ev.offset_s, y=y, mode="lines", connectgaps=False,
                                     name=f"{who}: {res.labels[who]}", legendgroup=who, showlegend=(i == 1),
                                     line={"color": style["color"], "dash": style["dash"]}), row=i, col=1)
            if len(rows) and np.isfinite(rows["time_to_baseline_s"].iloc[0]):
                ttb = float(rows["time_to_baseline_s"].iloc[0])
                fig.add_trace(go.Scatter(x=[ttb], y=[0.0], mode="markers", legendgroup=who, showlegend=(i == 1),
                                         name=f"{who}: back to baseline",
                                         marker={"symbol": style["symbol"], "size": 12, "color": style["color"],
                                                 "line": {"color": "#000000", "width": 1}}), row=i, col=1)
        fig.add_vrect(x0=ev.onset_s - ev.offset_s, x1=0.0, fillcolor=KIND_STYLE["stressor"]["color"], opacity=0.12,
                      layer="below", line_width=0, row=i, col=1)
        fig.add_hline(y=0, line={"color": "#7F7F7F", "width": 1, "dash": "dot"}, row=i, col=1)
        fig.update_yaxes(title_text="HR above own baseline (bpm)", row=i, col=1)
        fig.update_xaxes(title_text="time since the end of the stressor (s)", row=i, col=1)
    if len(st_ev) == 0:
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="no stressor logged",
                                 marker={"color": "#7F7F7F"}))
    return _base_layout(fig, title, height=360 * n + 120)


def dyad_trend(table: pd.DataFrame, *, title: str = "Synchrony per phase across sessions") -> go.Figure:
    """Per-phase heart-rate and lnRMSSD synchrony of several couples sessions by date.

    ``table``: one row per session, series and phase with ``date``, ``series``, ``phase``,
    ``synchrony_r`` and ``exceeds_chance``. Filled markers: above chance; open: not.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    styles = [(OKABE_ITO["vermillion"], "circle", "solid"), (OKABE_ITO["blue"], "square", "dash"),
              (OKABE_ITO["bluish_green"], "diamond", "dot"), (OKABE_ITO["orange"], "triangle-up", "dashdot"),
              (OKABE_ITO["reddish_purple"], "triangle-down", "longdash")]
    phases = list(dict.fromkeys(table["phase"])) if len(table) else []
    for row, name in enumerate(("hr", "vagal"), start=1):
        for j, ph in enumerate(phases):
            color, symbol, dash = styles[j % len(styles)]
            d = table[(table["series"] == name) & (table["phase"] == ph)]
            if len(d) == 0:
                continue
            x = pd.to_datetime(d["date"]).dt.tz_localize(None)
            sym = [symbol + ("" if a else "-open") for a in d["exceeds_chance"].to_numpy(bool)]
            fig.add_trace(go.Scatter(x=x, y=d["synchrony_r"], mode="markers+lines", name=f"'{ph}'",
                                     legendgroup=ph, showlegend=(row == 1), line={"color": color, "dash": dash},
                                     marker={"symbol": sym, "size": 11, "color": color, "line": {"width": 2}}),
                          row=row, col=1)
    fig.update_yaxes(title_text="heart-rate synchrony (mean peak r)", row=1, col=1)
    fig.update_yaxes(title_text="lnRMSSD synchrony (mean peak r)", row=2, col=1)
    fig.update_xaxes(title_text="session date", row=2, col=1)
    return _base_layout(fig, title, height=720)
