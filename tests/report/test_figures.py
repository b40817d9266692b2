"""The figure builders as pure functions: traces, axis titles with units, gaps as NaN breaks."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from calmtrace.events import Event, Events
from calmtrace.recording import Recording
from calmtrace.report import figures
from calmtrace.report.figures import OKABE_ITO

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
UNIT = re.compile(r"\(.+\)")


def steady_recording(duration_s: float = 240.0, rr_ms: float = 1000.0, gap=None, flags=None, events=None):
    """Beats every ``rr_ms``; ``gap`` = (onset_s, duration_s) removes the beats inside it."""
    t = np.arange(rr_ms / 1000.0, duration_s + 1e-9, rr_ms / 1000.0)
    rr = np.full(t.size, rr_ms)
    gaps = pd.DataFrame({"onset_s": [], "duration_s": [], "reason": []})
    if gap is not None:
        keep = ~((t > gap[0]) & (t < gap[0] + gap[1]))
        t, rr = t[keep], rr[keep]
        gaps = pd.DataFrame({"onset_s": [gap[0]], "duration_s": [gap[1]], "reason": ["disconnect"]})
    beats = pd.DataFrame({"t_s": t, "rr_ms": rr})
    if flags:
        f = np.array(["ok"] * t.size, dtype=object)
        for i, name in flags.items():
            f[i] = name
        beats["flag"] = f
    return Recording(start=START, beats=beats, gaps=gaps, events=events or Events(), meta={})


def axis_titles(fig: go.Figure) -> dict[str, str]:
    lay = fig.layout.to_plotly_json()
    return {k: v.get("title", {}).get("text", "") for k, v in lay.items() if re.fullmatch(r"[xy]axis\d*", k)}


def test_clock_times_are_start_plus_t_in_the_local_offset():
    rec = steady_recording()
    got = figures.clock_times(rec, [0.0, 90.5, np.nan])
    assert str(got[0]) == "2026-01-05T09:00:00.000" and str(got[1]) == "2026-01-05T09:01:30.500"
    assert np.isnat(got[2])
    assert figures.clock_label(rec) == "clock time (UTC)"
    local = rec.replace(meta={"utc_offset": "+02:00"})
    assert str(figures.clock_times(local, [0.0])[0]) == "2026-01-05T11:00:00.000"
    assert figures.clock_label(local) == "clock time (UTC+02:00)"


def test_series_breaks_at_invalid_windows_and_gaps():
    w = pd.DataFrame({"start_s": np.arange(0, 100, 10.0), "end_s": np.arange(0, 100, 10.0) + 20,
                      "valid": [True] * 10, "ln_rmssd": np.linspace(3, 4, 10)})
    w.loc[3, "valid"] = False
    gaps = pd.DataFrame({"onset_s": [64.0], "duration_s": [12.0], "reason": ["disconnect"]})
    t, v = figures.series_with_breaks(w, "ln_rmssd", gaps)
    # centres are start + 10; NaN at the invalid row 3 and at centres inside 64-76 s (70 s: row 6)
    expected_nan = [i for i in range(10) if i == 3 or 64 <= w.start_s[i] + 10 <= 76]
    assert expected_nan == [3, 6]
    assert np.flatnonzero(np.isnan(v)).tolist() == expected_nan
    assert t.tolist() == (w.start_s + 10).tolist()


def test_tachogram_breaks_the_line_at_a_gap_and_marks_flagged_beats():
    rec = steady_recording(gap=(100.0, 20.0), flags={10: "ectopic", 11: "corrected", 50: "corrected"})
    fig = figures.tachogram(rec)
    line = fig.data[0]
    y = np.asarray(line.y, dtype=float)
    assert line.connectgaps is False
    # one NaN, right before the first beat after the gap
    nan_at = np.flatnonzero(np.isnan(y))
    assert nan_at.size == 1
    x = pd.to_datetime(pd.Series(line.x))
    first_after = (rec.t_s > 100.0).argmax()
    assert x[nan_at[0] + 1] == pd.Timestamp("2026-01-05 09:00:00") + pd.Timedelta(seconds=rec.t_s[first_after])
    markers = {tr.name.split(" ")[0]: len(tr.y) for tr in fig.data[1:] if tr.mode == "markers" and tr.y[0] is not None}
    assert markers == {"ectopic": 1, "corrected": 2}
    assert UNIT.search(fig.layout.yaxis.title.text) and fig.layout.xaxis.title.text == "clock time (UTC)"
    # the gap is a shaded band from 09:01:40 to 09:02:00
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(band) == 1 and pd.Timestamp(band[0].x0) == pd.Timestamp("2026-01-05 09:01:40")


def test_poincare_counts_pairs_by_phase():
    ev = Events([Event(0, 60, "rest", "baseline"), Event(60, 60, "task", "stressor")])
    rec = steady_recording(duration_s=300.0, events=ev)
    flags = np.array(["ok"] * len(rec.beats), dtype=object)
    flags[[29, 149]] = ["ectopic", "extra"]          # beats at 30 s and 150 s: 2 pairs each go
    rec = rec.replace(beats=rec.beats.assign(flag=flags))
    fig = figures.poincare(rec, horizon_s=100.0)
    counts = {tr.name.split(" ")[0]: len(tr.x) for tr in fig.data if tr.mode == "markers"}
    t = rec.t_s
    # a pair is phased by its second beat; beats at 1, 2, ... 300 s; beat 1 s has no predecessor
    keep = (flags[:-1] == "ok") & (flags[1:] == "ok")
    second = t[1:][keep]
    assert counts == {
        "baseline": int(((second >= 0) & (second < 60)).sum()),
        "stressor": int(((second >= 60) & (second <= 120)).sum()),
        "recovery": int(((second > 120) & (second <= 220)).sum()),
        "outside": int((second > 220).sum()),
    }
    assert fig.layout.xaxis.title.text == "RRₙ (ms)" and fig.layout.yaxis.title.text == "RRₙ₊₁ (ms)"


def test_fitted_curve_draws_the_written_fit_and_never_refits():
    # windows whose value is exactly 60 + 20 exp(-t / 50) at their centres after t0 = 300 s
    start = np.arange(200.0, 900.0, 5.0)
    centre = start + 30.0
    y = np.where(start >= 300, 60 + 20 * np.exp(-(centre - 300) / 50.0), 80.0)
    w = pd.DataFrame({"start_s": start, "end_s": start + 60, "valid": True, "mean_hr_bpm": y})
    n_fit = int((start >= 300).sum())
    row = pd.Series({"metric": "mean_hr_bpm", "recovery_start_s": 300.0, "tau_s": 50.0, "fit_n": n_fit,
                     "fit_y_inf": 60.0, "fit_amp": 20.0})
    t = np.array([0.0, 50.0, 200.0])
    np.testing.assert_allclose(figures.fitted_curve(w, row, t), 60 + 20 * np.exp(-t / 50.0), rtol=1e-12)
    assert figures.fitted_curve(w, row.drop("tau_s"), t) is None
    # without the written parameters there is no curve: the figure does not fit one itself
    assert figures.fitted_curve(w, row.drop(["fit_y_inf", "fit_amp"]), t) is None


def test_session_overview_rows_units_and_breaks(gappy_result):
    res = gappy_result
    fig = figures.session_overview(res.recording, res.windows, res.recovery)
    titles = axis_titles(fig)
    y_titles = [titles[k] for k in sorted(titles) if k.startswith("y")]
    assert y_titles == ["heart rate (bpm)", "lnRMSSD (ln(ms))", "PNS index (SD units vs. norms)",
                        "SNS index (SD units vs. norms)"]
    assert titles["xaxis4"] == "clock time (UTC)"
    hr = next(tr for tr in fig.data if tr.name == "heart rate")
    y = np.asarray(hr.y, dtype=float)
    # independently: NaN where the window is invalid or its centre lies in a gap
    w, g = res.windows, res.recording.gaps
    centre = ((w.start_s + w.end_s) / 2).to_numpy()
    in_gap = np.zeros(len(w), bool)
    for o, d in zip(g.onset_s, g.duration_s):
        in_gap |= (centre >= o) & (centre <= o + d)
    assert len(g) == 3 and in_gap.any()
    expected = ~w["valid"].to_numpy(bool) | in_gap
    assert 0 < expected.sum() < len(w)            # some breaks, some line: the check means something
    np.testing.assert_array_equal(np.isnan(y), expected)
    nan = np.isnan(y)
    lone = ~nan & np.r_[True, nan[:-1]] & np.r_[nan[1:], True]
    dots = [tr for tr in fig.data if tr.name == "heart rate" and tr.mode == "markers"]
    assert len(dots) == int(lone.any()) and (not dots or len(dots[0].x) == int(lone.sum()))
    rug = next(tr for tr in fig.data if tr.name and tr.name.startswith("artefact beat"))
    assert len(rug.x) == int(sum(f != "ok" for f in res.recording.flags))
    # one labelled band per event (annotation text "label (kind)")
    notes = {a.text for a in fig.layout.annotations}
    assert {f"{e.label} ({e.kind})" for e in res.recording.events} <= notes


def test_recovery_panel_marks_and_fit(breathing_result):
    res = breathing_result
    rc = res.recovery
    rows = rc[rc["event_label"] == "arithmetic 2"]
    fig = figures.recovery_panel(res.recording, res.windows, rows)
    titles = axis_titles(fig)
    assert all(UNIT.search(t) for k, t in titles.items() if k.startswith("y") and t)
    assert titles["xaxis3"] == "time since the end of 'arithmetic 2' (s)"
    texts = " | ".join(a.text for a in fig.layout.annotations)
    for r in rows.itertuples():
        if r.recovered:
            assert f"back to baseline: {figures.format_duration(r.time_to_baseline_s)}" in texts
            assert any(s.type == "line" and s.x0 == pytest.approx(r.time_to_baseline_s) for s in fig.layout.shapes)
        elif r.censored_at_s > 0:
            assert f"not back to baseline within {figures.format_duration(r.censored_at_s)}" in texts
        if np.isfinite(r.t50_s):
            assert f"half-recovery: {figures.format_duration(r.t50_s)}" in texts
    n_fits = sum(1 for tr in fig.data if tr.name == "fitted exponential")
    assert n_fits == int(rows["tau_s"].notna().sum()) > 0


def test_colours_come_from_okabe_ito(breathing_result):
    res = breathing_result
    allowed = set(OKABE_ITO.values()) | {"#7F7F7F"}
    for fig in (figures.session_overview(res.recording, res.windows, res.recovery),
                figures.tachogram(res.recording), figures.poincare(res.recording, res.recovery)):
        for tr in fig.data:
            for c in (tr.line.color if "line" in tr else None, tr.marker.color if "marker" in tr else None):
                if isinstance(c, str):
                    assert c in allowed, (tr.name, c)


def test_trend_figure_keeps_failed_sessions():
    dates = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"]).tz_localize("UTC")
    sessions = pd.DataFrame({"date": dates, "baseline_ln_rmssd": [3.4, 3.5, 2.0], "quality_ok": [True, True, False],
                             "swc_mean": np.nan, "swc_low": np.nan, "swc_high": np.nan})
    stressors = pd.DataFrame({"date": dates, "label": "speech", "time_to_baseline_s": [300.0, 600.0, 200.0],
                              "ttb_censored": [False, True, False], "t50_s": [60.0, 50.0, 40.0],
                              "reactivity_bpm": [15.0, 16.0, 14.0], "quality_ok": [True, True, False]})
    fig = figures.trend_figure(sessions, stressors)
    failed = [tr for tr in fig.data if tr.name == "session failed quality checks"]
    assert len(failed) == 4 and all(len(tr.x) == 1 for tr in failed)   # one per row of the figure
    censored = [tr for tr in fig.data if "not back within" in (tr.name or "")]
    assert len(censored) == 1 and list(censored[0].y) == [600.0]
    titles = axis_titles(fig)
    assert all(UNIT.search(titles[f"yaxis{k}"]) for k in ("", "2", "3", "4"))


def test_fitted_curve_matches_an_independent_fit_of_the_real_recovery(breathing_result):
    from scipy import optimize

    w = breathing_result.windows
    rows = breathing_result.recovery[breathing_result.recovery["tau_s"].notna()]
    assert len(rows)
    for _, row in rows.iterrows():
        t0 = row["recovery_start_s"]
        # the windows recovery.py fits: valid, wholly after t0, the first fit_n of them
        ok = w["valid"] & w[row["metric"]].notna() & (w["start_s"] >= t0)
        sel = w[ok].iloc[: int(row["fit_n"])]
        t = (sel["start_s"] + sel["end_s"]).to_numpy() / 2 - t0
        y = sel[row["metric"]].to_numpy()
        popt, _ = optimize.curve_fit(lambda tt, a, b, tau: a + b * np.exp(-tt / tau), t, y,
                                     p0=[y[-1], y[0] - y[-1], row["tau_s"]], maxfev=10000)
        assert popt[2] == pytest.approx(row["tau_s"], rel=1e-3)
        np.testing.assert_allclose(figures.fitted_curve(w, row, t), popt[0] + popt[1] * np.exp(-t / popt[2]),
                                   atol=1e-3 * np.ptp(y))


def test_an_isolated_valid_window_is_drawn_as_a_point():
    rec = steady_recording(duration_s=200.0)
    start = np.arange(0.0, 140.0, 10.0)
    valid = np.ones(start.size, bool)
    valid[[3, 5]] = False                         # window 4 is valid between two invalid ones
    w = pd.DataFrame({"start_s": start, "end_s": start + 60, "valid": valid, "mean_hr_bpm": 60.0 + start / 10})
    fig = figures.session_overview(rec, w, metrics=("mean_hr_bpm",))
    dots = [tr for tr in fig.data if tr.name == "heart rate" and tr.mode == "markers"]
    assert len(dots) == 1 and list(dots[0].y) == [64.0]
    assert fig.layout.yaxis.title.text == "heart rate (bpm)"
