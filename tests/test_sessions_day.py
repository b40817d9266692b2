"""Days and nights in the trend across sessions, against figures derived without the code under test.

Three sessions of one simulated person: three days of continuous wear (analysed in memory, with
the accelerometer), one day two days later recorded on a clock two hours ahead of UTC (written as a
recording folder with ``acc.csv`` and collected from disk), and a short lab session with no day
analysis. Minutes per state are summed from ``day_epochs.csv`` (what ``DayResult.write`` puts
beside ``day.json``) by the clock date of each epoch, computed here with the standard library;
overnight lnRMSSD is recomputed with numpy from the night's beats; the band by hand from the nightly
values.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import statistics
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from calmtrace.analysis import analyze
from calmtrace.signals.config import TrendConfig
from calmtrace.signals.day import STATES
from calmtrace.signals.day_sim import DAY_START, simulate_day
from calmtrace.signals.day_trend import calendar_days, nights, recording_clock
from calmtrace.signals.simulate import simulate
from calmtrace.sessions import TREND_DAY_COLUMNS, TREND_NIGHT_COLUMNS, build_trend, collect_trend
from calmtrace.store import save

SUBJECT = "sim-day-01"


@pytest.fixture(scope="module")
def three_days():
    sim = simulate_day(3, seed=2)
    return analyze(sim.recording, acc=sim.acc)


@pytest.fixture(scope="module")
def folder_day(tmp_path_factory):
    """One day on a clock 2 h ahead of UTC, as a recording folder with acc.csv (5 Hz keeps it small)."""
    sim = simulate_day(1, seed=3, start=DAY_START + timedelta(days=4), acc_fs_hz=5.0)
    rec = sim.recording.replace(meta={**sim.recording.meta, "utc_offset": "+02:00"})
    folder = tmp_path_factory.mktemp("sessions") / "day-2"
    save(rec, folder)
    sim.acc.to_csv(folder / "acc.csv", index=False, float_format="%.3f")
    return folder


@pytest.fixture(scope="module")
def short_session():
    return analyze(simulate("tsst", seed=1, start=DAY_START + timedelta(days=6), subject=SUBJECT))


@pytest.fixture(scope="module")
def trend(three_days, folder_day, short_session):
    return collect_trend([three_days, folder_day, short_session])


def _state_minutes(folder, start, offset_h: float) -> pd.DataFrame:
    """Minutes per state per clock date from day_epochs.csv, by each epoch's midpoint."""
    ep = pd.read_csv(folder / "day_epochs.csv")
    cfg = json.loads((folder / "day.json").read_text())["config"]
    mid = ep["start_s"] + cfg["epoch_s"] / 2.0
    ep["date"] = [(start + timedelta(hours=offset_h, seconds=float(t))).date().isoformat() for t in mid]
    out = ep.groupby(["date", "state"]).size().unstack(fill_value=0) * cfg["epoch_s"] / 60.0
    return out.reindex(columns=list(STATES), fill_value=0.0)


def test_days_minutes_per_state_match_the_day_outputs(trend, three_days, tmp_path):
    days = trend.days
    assert list(days.columns) == list(TREND_DAY_COLUMNS)
    three_days.day.write(tmp_path / "s1")
    want = _state_minutes(tmp_path / "s1", three_days.recording.start, 0.0)
    got = days[days["session"] == 1].set_index("day")
    # 07:00 UTC on Monday for 72 h: Monday (partial) to Thursday (partial)
    assert list(got.index) == ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]
    assert list(want.index) == list(got.index)
    for s in STATES:
        assert got[f"{s}_min"].to_numpy() == pytest.approx(want[s].to_numpy()), s
    # the calendar days add up to the day analysis' own whole-recording summary
    summ = pd.read_csv(tmp_path / "s1" / "day_summary.csv")
    total = summ[summ["day"] == "all"].iloc[0]
    for s in STATES:
        assert got[f"{s}_min"].sum() == pytest.approx(float(total[f"{s}_min"]))
    assert got["covered_min"].tolist() == pytest.approx([17 * 60, 1440, 1440, 7 * 60], abs=1.0)


def test_a_clock_ahead_of_utc_moves_the_day_boundary(trend, folder_day, tmp_path):
    res = trend.results[1]
    assert res.day is not None and res.day.mode == "accelerometer"  # acc.csv of the folder was read
    assert recording_clock(res.recording) == (timedelta(hours=2), "UTC+02:00")
    res.day.write(tmp_path / "s2")
    want = _state_minutes(tmp_path / "s2", res.recording.start, 2.0)
    got = trend.days[trend.days["session"] == 2].set_index("day")
    # 09:00 local to 09:00 local the next day
    assert list(got.index) == ["2026-01-09", "2026-01-10"] == list(want.index)
    for s in STATES:
        assert got[f"{s}_min"].to_numpy() == pytest.approx(want[s].to_numpy()), s
    assert got["covered_min"].tolist() == pytest.approx([15 * 60, 9 * 60], abs=1.0)


def test_balance_is_the_share_of_measured_waking_minutes(trend, three_days):
    ep = three_days.day.epochs
    per = three_days.day.config.epoch_s / 60.0
    dates = [(three_days.recording.start + timedelta(seconds=float(t) + 30.0)).date().isoformat()
             for t in ep["start_s"]]
    ep = ep.assign(date=dates)
    got = trend.days[trend.days["session"] == 1].set_index("day")
    for date, g in ep.groupby("date"):
        wake = g[(g["state"] != "unmeasured") & ~g["asleep"]]
        row = got.loc[date]
        assert row["waking_measured_min"] == pytest.approx(len(wake) * per)
        if len(wake) * per >= TrendConfig().balance_min_waking_min:
            assert row["stress_pct"] == pytest.approx(100.0 * (wake["state"] == "stress").mean())
            assert row["recovery_pct"] == pytest.approx(100.0 * (wake["state"] == "recovery").mean())
            assert row["balance_note"] == ""
        else:
            assert math.isnan(row["stress_pct"]) and math.isnan(row["recovery_pct"])
            assert "measured waking minutes" in row["balance_note"]
    # the last morning is all sleep: no waking time, so no balance, with the reason
    assert got.loc["2026-01-08", "waking_measured_min"] == 0.0
    # the simulated desk stressors: a few percent of waking time, every full day
    full = got.loc[["2026-01-06", "2026-01-07"]]
    assert ((full["stress_pct"] > 3) & (full["stress_pct"] < 20)).all()


def _overnight_direct(res, onset_s: float, first_s: float, epoch_s: float) -> tuple[float, float]:
    """Mean over the night's first hours of per-epoch ln(RMSSD) and HR, from the beats with numpy."""
    b = res.recording.beats
    t, rr = b["t_s"].to_numpy(float), b["rr_ms"].to_numpy(float)
    ln, hr = [], []
    k0 = math.ceil(onset_s / epoch_s - 0.5)
    k = k0
    while (k + 0.5) * epoch_s < onset_s + first_s:
        sel = (t >= k * epoch_s) & (t < (k + 1) * epoch_s)
        r = rr[sel]
        ln.append(math.log(math.sqrt(np.mean(np.diff(r) ** 2))))
        hr.append(float(np.mean(60000.0 / r)))
        k += 1
    return float(np.mean(ln)), float(np.mean(hr))


def test_overnight_ln_rmssd_from_the_nights_beats(trend, three_days):
    nt = trend.nights
    assert list(nt.columns) == list(TREND_NIGHT_COLUMNS)
    # three nights of the first session (dated by the morning they end), one of the second
    assert nt["night"].tolist() == ["2026-01-06", "2026-01-07", "2026-01-08", "2026-01-10"]
    assert nt["session"].tolist() == [1, 1, 1, 2]
    cfg = three_days.day.config
    for r in nt[nt["session"] == 1].itertuples(index=False):
        ln, hr = _overnight_direct(three_days, r.onset_s, cfg.sleep_first_s, cfg.epoch_s)
        assert r.ln_rmssd == pytest.approx(ln, abs=0.01)
        assert r.hr_bpm == pytest.approx(hr, abs=0.2)
        assert r.first_h == pytest.approx(cfg.sleep_first_s / 3600.0)
        assert r.note == ""
    # the simulated sleep: heart rate about 10 bpm below the resting 65 bpm
    assert nt["hr_bpm"].between(50, 60).all()


def test_overnight_band_by_hand_and_too_few_nights(trend, three_days, short_session, folder_day):
    nt = trend.nights
    cfg = TrendConfig()
    values = nt["ln_rmssd"].tolist()
    for k, r in enumerate(nt.itertuples(index=False)):
        prior = values[:k][-cfg.swc_window:]
        if len(prior) < cfg.swc_min_sessions:
            assert math.isnan(r.band_mean) and r.vs_band == ""
            assert r.band_note == (f"{len(prior)} earlier night{'' if len(prior) == 1 else 's'} with an "
                                   f"overnight lnRMSSD; the band needs {cfg.swc_min_sessions}")
            continue
        m, sd = statistics.mean(prior), statistics.stdev(prior)
        assert r.band_mean == pytest.approx(m)
        assert r.band_low == pytest.approx(m - cfg.swc_factor * sd)
        assert r.band_high == pytest.approx(m + cfg.swc_factor * sd)
        want = "above" if values[k] > m + cfg.swc_factor * sd else "below" if values[k] < m - cfg.swc_factor * sd \
            else "within"
        assert r.vs_band == want and r.band_note == ""
    assert nt["band_mean"].notna().tolist() == [False, False, False, True]
    # a smaller minimum from the [trend] config draws the band earlier
    two = build_trend(trend.results, TrendConfig(swc_min_sessions=2)).nights
    assert two["band_mean"].notna().tolist() == [False, False, True, True]
    assert two["band_mean"].iloc[2] == pytest.approx(statistics.mean(values[:2]))


def test_sessions_without_day_data_are_left_out_with_a_note(trend):
    assert set(trend.days["session"]) == {1, 2} and set(trend.nights["session"]) == {1, 2}
    assert len(trend.day_notes) == 1
    assert trend.day_notes[0].startswith("Session 3 (2026-01-11) has no day analysis: it lasts 0.")
    assert trend.day_notes[0].endswith("the trend's day panels take recordings of 4 h or more "
                                       "(calmtrace day analyses shorter ones on request).")
    # the existing tables are unchanged: three sessions, the short one with its stressors
    assert len(trend.sessions) == 3 and set(trend.stressors["session"]) == {3}


def test_unknown_clock_gives_numbered_days_and_nights(three_days):
    rec = three_days.recording.replace(meta={**three_days.recording.meta, "start_unknown": True})
    d = calendar_days(three_days.day, rec)
    assert d["day"].tolist() == ["day 1", "day 2", "day 3"] and set(d["date"]) == {""}
    assert d["clock"].iloc[0].startswith("start unknown")
    ep = three_days.day.epochs
    for i, g in ep.groupby(ep["start_s"] // 86400):
        assert d.loc[int(i), "stress_min"] == pytest.approx(float((g["state"] == "stress").sum()))
    n = nights(three_days.day, rec)
    assert n["night"].tolist() == ["night 1", "night 2", "night 3"]


def test_nights_the_recording_cannot_support_are_nan_with_the_reason(three_days):
    day = three_days.day
    sl = day.sleep.copy()
    # the first night as if found at the recording's start; the last as if the recording ended 2 h in
    sl.loc[0, ["onset_s", "source"]] = [0.0, "quietest span"]
    last = sl.index[-1]
    end = float(day.epochs["end_s"].max())
    sl.loc[last, "onset_s"] = end - 2 * 3600.0
    n = nights(dataclasses.replace(day, sleep=sl), three_days.recording)
    assert math.isnan(n["ln_rmssd"].iloc[0]) and "starts inside this night" in n["note"].iloc[0]
    assert math.isnan(n["ln_rmssd"].iloc[-1]) and "ends 2.0 h into this night" in n["note"].iloc[-1]
    assert n["note"].iloc[1] == "" and math.isfinite(n["ln_rmssd"].iloc[1])
    # too little of the first hours measured: 60 of the second night's first 240 epochs lost (25 %)
    ep = day.epochs.copy()
    o2 = float(day.sleep["onset_s"].iloc[1])
    lost = (ep["start_s"] >= o2) & (ep["start_s"] < o2 + 3600.0)
    assert lost.sum() == 60
    ep.loc[lost, "valid"] = False
    holed = dataclasses.replace(day, epochs=ep)
    n = nights(holed, three_days.recording)
    assert n["first_measured_pct"].tolist() == pytest.approx([100.0, 75.0, 100.0])
    assert n["note"].tolist() == ["", "", ""]
    strict = nights(holed, three_days.recording, TrendConfig(night_min_measured_pct=80.0))
    assert strict["ln_rmssd"].isna().tolist() == [False, True, False]
    assert strict["note"].iloc[1] == "75 % of the first 4 h of sleep measured; at least 80 % needed"


def test_a_copied_folder_is_counted_once_and_named_in_one_line(three_days, folder_day, tmp_path, caplog):
    """cp -r of a session folder: the same input checksum, so one session, one date, one night."""
    dup = tmp_path / "dup-day-2"
    shutil.copytree(folder_day, dup)
    with caplog.at_level(logging.WARNING, logger="calmtrace.sessions"):
        t = collect_trend([three_days, folder_day, dup])
    line = f"{dup} is the same recording as {folder_day}; counted once"
    assert t.notes == [line]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [line]
    assert len(t.results) == len(t.sessions) == 2
    # each date of the copied day once: 2026-01-09 and 2026-01-10, as without the copy
    assert t.days.loc[t.days["session"] == 2, "day"].tolist() == ["2026-01-09", "2026-01-10"]
    assert not t.days["date"].duplicated().any()
    # four distinct nights; the copied day's night is not an "earlier night" of its own band
    assert t.nights["night"].tolist() == ["2026-01-06", "2026-01-07", "2026-01-08", "2026-01-10"]
    assert t.nights["band_n"].tolist() == [0, 1, 2, 3]
    # the copy was not analysed again: its result is the original's, under its own name
    from calmtrace.sessions import analyze_all

    again = analyze_all([folder_day, dup])
    assert again[1].windows is again[0].windows and again[1].provenance["source"] == str(dup)
    # the report says it under "What could not be computed"
    from calmtrace.report.trend import render_trend_report

    html = render_trend_report(t)
    limits = html[html.index('id="limits"'):html.index("</div>", html.index('id="limits"'))]
    assert limits.count("counted once") == 1 and "dup-day-2" in limits
