"""The trend report's tables: dates, baseline lnRMSSD, the SWC band, failed sessions kept."""

from __future__ import annotations

import math
import re
import statistics

import numpy as np
import pytest

from calmtrace.errors import InputError
from calmtrace.report.trend import render_trend_report, trend_summary
from calmtrace.sessions import (
    SWC_FACTOR,
    SWC_MIN_SESSIONS,
    SWC_WINDOW,
    build_trend,
    collect_recordings,
    trend_tables,
)

from .conftest import WEEKLY


@pytest.fixture(scope="module")
def tables(weekly_results, messy_result):
    return trend_tables(list(weekly_results) + [messy_result])


def test_collect_recordings_expands_a_folder_of_sessions(weekly_dirs, tmp_path):
    assert collect_recordings([WEEKLY]) == weekly_dirs
    assert collect_recordings([weekly_dirs[0]]) == [weekly_dirs[0]]
    with pytest.raises(InputError, match="no such file"):
        collect_recordings([tmp_path / "absent"])
    with pytest.raises(InputError, match="neither a recording folder"):
        collect_recordings([tmp_path])


def test_sessions_are_ordered_by_date_and_failed_ones_kept(tables, weekly_results, messy_result):
    sessions, _ = tables
    assert len(sessions) == 9
    dates = list(sessions["date"])
    assert dates == sorted(dates)
    # the messy session starts 3.5 weeks after the first: it is the 5th by date
    assert sessions["date"].iloc[4] == messy_result.recording.start
    assert sessions["quality_ok"].tolist() == [True] * 4 + [False] + [True] * 4
    assert "artefacts" in sessions["quality_issues"].iloc[4]
    weekly = sessions.drop(index=4)
    gaps_days = np.diff(weekly["date"].to_numpy()).astype("timedelta64[D]").astype(int)
    assert gaps_days.tolist() == [7] * 7


def test_baseline_ln_rmssd_is_the_mean_of_the_baseline_windows(tables, weekly_results):
    sessions, _ = tables
    for res, got in zip(weekly_results, sessions.drop(index=4)["baseline_ln_rmssd"]):
        base = next(e for e in res.recording.events if e.kind == "baseline")
        w = res.windows
        inside = (w["start_s"] >= base.onset_s) & (w["end_s"] <= base.offset_s) & w["valid"]
        assert got == pytest.approx(float(w.loc[inside, "ln_rmssd"].mean()))


def test_swc_band_from_earlier_quality_checked_sessions(tables):
    sessions, _ = tables
    values = sessions["baseline_ln_rmssd"].tolist()
    ok = sessions["quality_ok"].tolist()
    for k in range(len(values)):
        prior = [values[j] for j in range(k) if ok[j]][-SWC_WINDOW:]
        row = sessions.iloc[k]
        if len(prior) < SWC_MIN_SESSIONS:
            assert math.isnan(row["swc_mean"]) and row["vs_swc"] == ""
            continue
        m, sd = statistics.mean(prior), statistics.stdev(prior)
        assert row["swc_mean"] == pytest.approx(m)
        assert row["swc_low"] == pytest.approx(m - SWC_FACTOR * sd)
        assert row["swc_high"] == pytest.approx(m + SWC_FACTOR * sd)
        want = ("" if math.isnan(values[k]) else "above" if values[k] > m + SWC_FACTOR * sd
                else "below" if values[k] < m - SWC_FACTOR * sd else "within")
        assert row["vs_swc"] == want


def test_stressor_rows_carry_the_recovery_figures(tables, weekly_results):
    _, stressors = tables
    n_stressors = sum(sum(1 for e in r.recording.events if e.kind == "stressor") for r in weekly_results)
    assert len(stressors) == n_stressors + 2            # the messy TSST has two stressors as well
    first = weekly_results[0].recovery
    hr = first[first["metric"] == "mean_hr_bpm"].set_index("event_label")
    rows = stressors[stressors["session"] == 1].set_index("label")
    for label in hr.index:
        assert rows.loc[label, "t50_s"] == pytest.approx(hr.loc[label, "t50_s"], nan_ok=True)
        assert rows.loc[label, "reactivity_bpm"] == pytest.approx(hr.loc[label, "peak"] - hr.loc[label, "baseline_mean"])


def test_summary_names_the_failed_session_and_the_trend(tables):
    sessions, stressors = tables
    findings, limits = trend_summary(sessions, stressors)
    assert any("Session 5" in s and "failed the quality checks" in s for s in limits)
    assert any(s.startswith("9 sessions from 2026-01-05 to 2026-02-23") for s in findings)
    ok = sessions[sessions["quality_ok"]]
    first, last = ok["baseline_ln_rmssd"].iloc[0], ok["baseline_ln_rmssd"].iloc[-1]
    assert any(f"went from {first:.2f} ln(ms) (session 1) to {last:.2f} ln(ms) (session 9)" in s for s in findings)


def test_trend_page_is_marked_simulated_and_lists_every_session(weekly_results, messy_result):
    page = render_trend_report(build_trend(list(weekly_results) + [messy_result]))
    assert "<title>SIMULATED - Trend report: sim-client-01</title>" in page
    rows = re.findall(r'<tr class="(ok|failed)"><td class="num">\d+</td>', page.split('id="sessions-table"')[1]
                      .split("</table>")[0])
    assert rows == ["ok"] * 4 + ["failed"] + ["ok"] * 4


def test_write_trend_report_from_results_and_from_a_path(weekly_results, weekly_dirs, tmp_path):
    from calmtrace.report import write_trend_report
    from calmtrace.sessions import analyze_all

    p = write_trend_report(build_trend(weekly_results[:3]), tmp_path / "t" / "trend.html")
    assert p.read_text(encoding="utf-8").count('<tr class="ok">') == 3 + 6   # 3 sessions, 2 stressors each
    (res,) = analyze_all([weekly_dirs[0]])
    assert res.provenance["input_checksum"] == weekly_results[0].provenance["input_checksum"]
