"""Figures of long recordings draw reduced data within a fixed budget; short ones draw every beat.

The reductions are checked against what they promise, computed here independently (bucket
extremes with pandas, breaks from the input's NaNs), and on real reports: a two-day simulated
recording (its figures within the budget and its report no bigger than one day's, give or take)
and short sessions (every beat and window drawn, as before).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from calmtrace.analysis import analyze
from calmtrace.events import Events
from calmtrace.recording import Recording
from calmtrace.report import figures
from calmtrace.report.html import render_report, session_figures
from calmtrace.report.reduce import (MAX_POINCARE_POINTS, MAX_POINTS, PLOT_BUCKETS, reduce_line, reduce_markers,
                                     subsample_groups)
from calmtrace.signals.day_sim import simulate_day
from calmtrace.signals.simulate import simulate


def _buckets(t: np.ndarray, buckets: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Equal-width bucket of each time over [lo, hi] (default: the times' own range)."""
    lo = np.nanmin(t) if lo is None else lo
    hi = np.nanmax(t) if hi is None else hi
    return np.minimum(np.floor((t - lo) / (hi - lo) * buckets), buckets - 1)


def _noisy_line(n: int, seed: int = 0, nan_share: float = 0.02):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.5, 1.5, n))
    y = 800 + 100 * np.sin(t / 500) + rng.normal(0, 40, n)
    y[rng.random(n) < nan_share] = np.nan
    return t, y


def test_a_line_below_the_budget_is_returned_as_it_is():
    t, y = _noisy_line(MAX_POINTS)
    ts, ys, drawn, total = reduce_line(t, y)
    assert ts is not None and np.array_equal(ts, t) and np.array_equal(ys, y, equal_nan=True)
    assert drawn == total == int(np.isfinite(y).sum())


def test_reduced_line_keeps_every_bucket_extreme_and_its_ends():
    t, y = _noisy_line(200_000)
    ts, ys, drawn, total = reduce_line(t, y)
    fin = np.isfinite(ys)
    assert drawn == int(fin.sum()) <= MAX_POINTS < total == int(np.isfinite(y).sum())
    # independently: min, max, first and last finite value of each of PLOT_BUCKETS equal-width buckets
    ok = np.isfinite(y)
    full = pd.DataFrame({"b": _buckets(t[ok], PLOT_BUCKETS), "t": t[ok], "y": y[ok]})
    want = full.groupby("b").agg(lo=("y", "min"), hi=("y", "max"), first=("t", "min"), last=("t", "max"))
    got = pd.DataFrame({"b": _buckets(ts[fin], PLOT_BUCKETS, t[ok][0], t[ok][-1]), "t": ts[fin], "y": ys[fin]})
    have = got.groupby("b").agg(lo=("y", "min"), hi=("y", "max"), first=("t", "min"), last=("t", "max"))
    pd.testing.assert_frame_equal(have, want)
    # the drawn points are points of the data, in time order
    assert np.all(np.diff(ts[fin]) > 0)
    assert np.isin(ts[fin], t).all()


def test_reduced_line_never_joins_points_across_a_break():
    t, y = _noisy_line(100_000, seed=3, nan_share=0.01)
    t[40_000:40_050] = np.nan   # a gap: NaN times too, as the tachogram's inserted breaks are
    ts, ys, _, _ = reduce_line(t, y)
    pos = {v: i for i, v in enumerate(t) if np.isfinite(v)}
    broken_in = np.concatenate(([0], np.cumsum(~(np.isfinite(t) & np.isfinite(y)))))
    out_fin = np.isfinite(ts) & np.isfinite(ys)
    idx_fin = np.flatnonzero(out_fin)
    for a, b in zip(idx_fin[:-1], idx_fin[1:]):
        i, j = pos[ts[a]], pos[ts[b]]
        joined = b == a + 1            # no NaN between them in the output: plotly draws a segment
        data_broken = broken_in[j] - broken_in[i + 1] > 0
        assert joined != data_broken, (i, j)
    assert idx_fin.size > 1000


def test_markers_keep_each_buckets_extremes():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 7 * 86400, 60_000))
    y = rng.normal(900, 150, t.size)
    idx = reduce_markers(t, y)
    assert idx.size <= 2 * PLOT_BUCKETS
    full = pd.DataFrame({"b": _buckets(t, PLOT_BUCKETS), "y": y}).groupby("b")["y"].agg(["min", "max"])
    kept = pd.DataFrame({"b": _buckets(t, PLOT_BUCKETS)[idx], "y": y[idx]}).groupby("b")["y"].agg(["min", "max"])
    pd.testing.assert_frame_equal(kept, full)
    assert np.array_equal(reduce_markers(t[:100], y[:100]), np.arange(100))


def test_budget_is_shared_with_small_groups_kept_whole():
    got = subsample_groups({"baseline": 300, "stressor": 2_000, "": 700_000}, budget=10_000)
    assert got["baseline"] == 300 and got["stressor"] == 2_000 and sum(got.values()) == 10_000
    assert subsample_groups({"a": 10, "b": 20}, budget=100) == {"a": 10, "b": 20}


def test_poincare_of_many_beats_is_a_fixed_sample_with_the_full_extent():
    rng = np.random.default_rng(7)
    rr = np.clip(rng.normal(900, 120, 60_000), 400, 1600)
    t = np.cumsum(rr) / 1000.0
    rec = Recording(start=datetime(2026, 1, 5, tzinfo=timezone.utc), beats=pd.DataFrame({"t_s": t, "rr_ms": rr}))
    fig = figures.poincare(rec)
    clouds = [tr for tr in fig.data if tr.name != "identity line"]
    assert sum(len(tr.x) for tr in clouds) == MAX_POINCARE_POINTS
    assert f"of {rr.size - 1:,} beats drawn" in clouds[0].name
    # the axes span the whole cloud, as they do unreduced: its extreme pairs are drawn
    x = np.concatenate([tr.x for tr in clouds])
    y = np.concatenate([tr.y for tr in clouds])
    assert x.min() == rr[:-1].min() and x.max() == rr[:-1].max()
    assert y.min() == rr[1:].min() and y.max() == rr[1:].max()
    assert "drawn from 10,000 of 59,999" in figures.reduction_note(fig)
    again = figures.poincare(rec)
    assert np.array_equal(again.data[0].x, fig.data[0].x)   # fixed seed: the same figure


# -- whole reports --------------------------------------------------------------------------------
def _finite_points(trace) -> int:
    """Points of a trace with both coordinates present (not NaN/NaT/None)."""
    if trace.x is None:
        return 0
    xs = pd.notna(pd.Series(list(trace.x), dtype=object)).to_numpy()
    ys = pd.notna(pd.Series(list(trace.y), dtype=object)).to_numpy()
    return int((xs & ys).sum())


#: Most bytes one drawn point takes in plotly's JSON: an ISO clock time ("2026-11-20T08:00:00.789",
#: quoted, comma: 27) and a value (plotly >= 6 writes base64 float64, 11 characters; plotly 5 a JSON
#: number, at most ~22).
BYTES_PER_POINT = 50
#: Layout of one figure (axes, title, legend, event and gap shapes, annotations), bytes.
LAYOUT_BYTES = 60_000


@pytest.fixture(scope="module")
def multi_day():
    """One and two days of simulated wear (with the accelerometer at a low rate: only the day
    view uses it), analysed."""
    out = {}
    for days in (1, 2):
        sim = simulate_day(days, seed=1, acc_fs_hz=1.0)
        out[days] = analyze(sim.recording, acc=sim.acc)
    return out


def test_multi_day_figures_stay_within_the_budget(multi_day):
    res = multi_day[2]
    n_beats = len(res.recording.beats)
    assert n_beats > 10 * MAX_POINTS and len(res.windows) > MAX_POINTS   # this is a long recording
    figs = {fid: fig for fid, fig, _ in session_figures(res)}
    assert {"fig-overview", "fig-tachogram", "fig-poincare"} <= set(figs)
    for fid, fig in figs.items():
        for tr in fig.data:
            assert _finite_points(tr) <= MAX_POINTS, (fid, tr.name)
        # plotly JSON: the points drawn and a layout, nothing per beat hidden elsewhere
        entries = sum(len(tr.x) for tr in fig.data if tr.x is not None)
        size = len(fig.to_json())
        assert size <= BYTES_PER_POINT * entries + LAYOUT_BYTES + 200 * len(fig.layout.shapes), (fid, size)
        assert figures.reduction_note(fig), fid
    poincare = figs["fig-poincare"]
    assert sum(len(tr.x) for tr in poincare.data if tr.name != "identity line") <= MAX_POINCARE_POINTS
    tach = figs["fig-tachogram"]
    assert f"of {n_beats:,} beats" in figures.reduction_note(tach)


def test_report_size_does_not_grow_with_the_days(multi_day):
    one, two = (len(render_report(multi_day[d]).encode()) for d in (1, 2))
    # twice the beats, the same budget: the figures weigh the same; what grows is the day view
    # (runs of states, its own reduction) and the tables (a row per day, event and gap)
    assert two < 1.25 * one, (one, two)
    html = render_report(multi_day[2])
    assert html.count("Reduced for this long recording") == 3
    assert "windows.csv" in html


def _short_checks(res):
    rec = res.recording
    figs = {fid: fig for fid, fig, _ in session_figures(res)}
    tach = figs["fig-tachogram"]
    breaks = figures._beat_breaks(rec)
    assert len(tach.data[0].x) == len(rec.beats) + len(breaks)        # every beat (and a NaN per break)
    assert _finite_points(tach.data[0]) == len(rec.beats)
    for tr in tach.data[1:]:
        if tr.name.split(" (")[0] in figures.FLAG_SYMBOL:
            assert len(tr.x) == int((rec.flags == tr.name.split(" (")[0]).sum())
    usable = np.isin(rec.flags, list(figures.USABLE_FLAGS))
    pairs = np.ones(len(rec.beats) - 1, bool)
    pairs[breaks[breaks >= 1] - 1] = False
    pairs &= usable[:-1] & usable[1:]
    poin = figs["fig-poincare"]
    assert sum(len(tr.x) for tr in poin.data if tr.name != "identity line") == int(pairs.sum())
    ov = figs["fig-overview"]
    lines = [tr for tr in ov.data if tr.mode == "lines" and tr.showlegend is not False and "baseline" not in tr.name]
    assert lines and all(len(tr.x) == len(res.windows) for tr in lines)
    for fig in figs.values():
        assert figures.reduction_note(fig) == ""
    assert "Reduced for this long recording" not in render_report(res)


def test_lab_session_figures_draw_every_beat(breathing_result):
    _short_checks(breathing_result)


def test_first_hour_of_wear_draws_every_beat():
    sim = simulate_day(1, seed=1, with_acc=False)
    rec = sim.recording
    ev = rec.events.df
    hour = rec.replace(beats=rec.beats[rec.beats["t_s"] < 3600.0][["t_s", "rr_ms"]],
                       gaps=rec.gaps[rec.gaps["onset_s"] + rec.gaps["duration_s"] <= 3600.0],
                       events=Events(ev[ev["onset_s"] + ev["duration_s"] <= 3600.0]))
    res = analyze(hour)
    assert len(res.recording.beats) < MAX_POINTS
    _short_checks(res)


# -- no date in the file: elapsed time, "clock unknown" ---------------------------------------------
def test_recording_without_a_date_is_drawn_on_elapsed_time():
    rec = simulate("tsst", seed=3)
    unknown = rec.replace(start=datetime(1970, 1, 1, tzinfo=timezone.utc), meta={**rec.meta, "start_unknown": True})
    res = analyze(unknown)
    for fid, fig, _ in session_figures(res):
        lay = fig.layout.to_plotly_json()
        titles = [v.get("title", {}).get("text", "") for k, v in lay.items() if k.startswith("xaxis")]
        if fid.startswith("fig-recovery") or fid == "fig-poincare":
            continue
        assert "time from start (h:mm; clock unknown)" in titles, fid
        ticks = [t for k, v in lay.items() if k.startswith("xaxis") for t in (v.get("ticktext") or [])]
        assert ticks and all(":" in t and not t.startswith("1970") for t in ticks)
        x = np.asarray(fig.data[0].x, dtype=float)     # hours since the start
        assert np.nanmax(x) == pytest.approx(res.recording.duration_s / 3600.0, abs=0.05)
    assert res.provenance["recording_start"] is None    # analysis.json: no placeholder date either
    html = render_report(res)
    body = html[html.index("</head>"):]
    assert "1970-01-0" not in body
    assert "date and clock unknown" in body
    # the event table shows the events' times from the start, h:mm:ss
    first = res.recording.events.df.iloc[0]
    assert "+" + figures.format_elapsed(float(first["onset_s"]), True) in body or \
        "+" + figures.format_elapsed(float(first["onset_s"])) in body


def test_format_elapsed_counts_hours_past_a_day():
    assert figures.format_elapsed(0.0) == "0:00"
    assert figures.format_elapsed(31 * 3600 + 5 * 60 + 20) == "31:05"
    assert figures.format_elapsed(3725.0, seconds=True) == "1:02:05"
    assert json.dumps(figures.format_elapsed(float("nan"))) == '"n/a"'
