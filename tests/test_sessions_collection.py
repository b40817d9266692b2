"""What the trend counts: recordings that overlap, share a date or have no date; the day-rule message;
the band's printed digits.

Figures are derived here without the code under test: minutes per calendar date by counting the
day analysis' epochs by the clock date of their midpoints (standard library), overlaps from the
recordings' starts and durations, the band verdict from the printed table text parsed back to
numbers.
"""

from __future__ import annotations

import html as _html
import math
import re
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from calmtrace.analysis import analyze
from calmtrace.errors import InputError
from calmtrace.events import Events
from calmtrace.loader import load, load_acc
from calmtrace.report.trend import render_trend_report
from calmtrace.report.trend_day import balance_figure
from calmtrace.sessions import build_trend, collect_trend
from calmtrace.signals import metrics
from calmtrace.signals.day import STATES
from calmtrace.signals.day_sim import simulate_day
from calmtrace.signals.simulate import simulate
from calmtrace.store import save
from tests.conftest import shared_data

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


# -------------------------------------------------------------------------------------------
# two recordings on one calendar date; overlapping recordings
# -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def noon_to_noon():
    """Two 24-h heart-rate-only wears, noon to noon, back to back: both cover 2026-03-03."""
    a = simulate_day(1, seed=11, start=NOON, with_acc=False)
    b = simulate_day(1, seed=12, start=NOON + timedelta(days=1), with_acc=False)
    return analyze(a.recording), analyze(b.recording)


def _minutes_by_date(res) -> dict[str, dict[str, float]]:
    per = res.day.config.epoch_s / 60.0
    out: dict[str, dict[str, float]] = {}
    for t, s in zip(res.day.epochs["start_s"], res.day.epochs["state"]):
        d = (res.recording.start + timedelta(seconds=float(t) + res.day.config.epoch_s / 2)).date().isoformat()
        out.setdefault(d, dict.fromkeys(STATES, 0.0))[s] += per
    return out


def test_a_date_two_recordings_share_shows_each_recordings_own_minutes(noon_to_noon):
    a, b = noon_to_noon
    t = build_trend([b, a])
    shared = t.days[t.days["date"] == "2026-03-03"]
    assert shared["session"].tolist() == [1, 2]
    # each row is its own recording's minutes: 12 h of each, not 24 h of either and not their sum
    assert shared["covered_min"].tolist() == pytest.approx([720.0, 720.0], abs=1.0)
    for res, (_, row) in zip((a, b), shared.iterrows()):
        want = _minutes_by_date(res)["2026-03-03"]
        for s in STATES:
            assert row[f"{s}_min"] == pytest.approx(want[s]), s
    assert t.notes == ["Calendar day 2026-03-03 is covered by 2 recordings (sessions 1, 2); the day table and "
                       "panel show each recording's own minutes, side by side, not added up."]
    # the panel draws them as two bars, not one bar stacked to their sum
    fig = balance_figure(t.days)
    x = list(fig.data[0].x)
    assert len(set(x)) == len(x) == 4  # 2026-03-02, 03 twice, 04
    assert "2026-03-03 (session 1)" in x and "2026-03-03 (session 2)" in x


def test_recordings_of_one_subject_that_overlap_are_refused():
    one = simulate("tsst", seed=1, start=NOON, subject="p-01")
    # the second starts 5 minutes before the first ends (and lasts longer than that)
    two_start = one.end - timedelta(minutes=5)
    two = simulate("tsst", seed=2, start=two_start, subject="p-01")
    assert two.duration_s > 300
    with pytest.raises(InputError) as err:
        build_trend([analyze(one), analyze(two)])
    msg = str(err.value)
    assert "overlaps" in msg and "by 5 min (" in msg and "subject p-01" in msg and "leave one of them out" in msg
    assert f"{two_start:%Y-%m-%d %H:%M} to {one.end:%Y-%m-%d %H:%M} UTC" in msg
    # another subject at the same time is not refused (the report warns about mixed subjects)
    other = simulate("tsst", seed=2, start=two_start, subject="p-02")
    assert len(build_trend([analyze(one), analyze(other)]).sessions) == 2


# -------------------------------------------------------------------------------------------
# the day rule's message
# -------------------------------------------------------------------------------------------
def test_a_short_session_with_an_accelerometer_is_told_the_true_rule(tmp_path):
    sim = simulate_day(1, seed=4, acc_fs_hz=5.0)
    keep_s = 20 * 60.0
    b = sim.recording.beats
    rec = sim.recording.replace(beats=b[b["t_s"] < keep_s].reset_index(drop=True), events=Events([]),
                                gaps=sim.recording.gaps.iloc[0:0])
    folder = tmp_path / "short-with-acc"
    save(rec, folder)
    sim.acc[sim.acc["t_s"] < keep_s].to_csv(folder / "acc.csv", index=False, float_format="%.3f")
    loaded = load(folder)
    assert load_acc(folder, loaded.start) is not None  # the folder really has an accelerometer
    t = collect_trend([folder])
    hours = loaded.duration_s / 3600.0
    assert f"{hours:.1f}" == "0.3"
    assert t.day_notes == [f"Session 1 ({loaded.start:%Y-%m-%d}) has no day analysis: it lasts 0.3 h; the "
                           "trend's day panels take recordings of 4 h or more (calmtrace day analyses shorter "
                           "ones on request)."]
    assert "accelerometer" not in t.day_notes[0]


# -------------------------------------------------------------------------------------------
# the band's digits
# -------------------------------------------------------------------------------------------
def _cells_agree(value: str, band: str, vs: str) -> bool:
    v = float(value)
    lo, hi = (float(x) for x in band.split(" to "))
    return {"above": v > hi, "below": v < lo, "within": lo <= v <= hi}[vs]


@pytest.mark.parametrize("value, low, high, vs", [
    (4.4691, 4.4400, 4.4651, "above"),   # 0.004 above: 4.47 against a band up to 4.47 at 2 digits
    (4.4500, 4.4540, 4.4600, "below"),   # 0.004 below: 4.45 against a band from 4.45
    (4.4540, 4.4540, 4.4600, "within"),
    (5.2000, 4.1000, 4.3000, "above"),
])
def test_band_cells_print_the_verdict_in_their_numbers(value, low, high, vs):
    assert {"above": value > high, "below": value < low, "within": low <= value <= high}[vs]
    from calmtrace.report.trend_day import band_cells

    d = metrics.digits("ln_rmssd")
    if vs != "within" and value < 5:  # the case of the fault: at the registry's digits the verdict is hidden
        assert not _cells_agree(f"{value:.{d}f}", f"{low:.{d}f} to {high:.{d}f}", vs)
    v_txt, band_txt, verdict = band_cells("ln_rmssd", value, low, high, vs)
    assert _cells_agree(v_txt, band_txt, vs)
    assert verdict.startswith(vs)
    if vs == "above":
        assert f"+{float(verdict.split('+')[1].split()[0]):.4f}" == f"+{value - high:.4f}"
    if value > 5:  # far from the band: the registry's digits are enough
        assert v_txt == f"{value:.{d}f}"


def test_nights_table_shows_a_night_just_above_its_band(noon_to_noon):
    t = build_trend(list(noon_to_noon))
    nt = t.nights.copy()
    assert len(nt) >= 1
    # the last night, 0.004 above a band that rounds to its value at the registry's 2 digits
    k = nt.index[-1]
    nt.loc[k, ["ln_rmssd", "band_mean", "band_low", "band_high", "band_n", "vs_band", "band_note", "note"]] = [
        4.4691, 4.4525, 4.4400, 4.4651, 3, "above", "", ""]
    t.nights = nt
    page = render_trend_report(t)
    table = page[page.index('id="nights-table"'):]
    last = table[:table.index("</tbody>")].split("<tr>")[-1]
    cells = [_html.unescape(re.sub(r"<[^>]+>", "", c)) for c in last.split("</td>")]
    value, band, verdict = cells[7], cells[8], cells[9]
    band = band.split(" (n=")[0]
    assert float(value) > float(band.split(" to ")[1])
    assert verdict.startswith("above (+0.004")


# -------------------------------------------------------------------------------------------
# sessions without a date
# -------------------------------------------------------------------------------------------
def _text(page: str) -> str:
    """The page without its scripts (the plotly bundle has dates of its own)."""
    return re.sub(r"<script.*?</script>", "", page, flags=re.S)


def _undated(res):
    rec = res.recording.replace(meta={**res.recording.meta, "start_unknown": True},
                                start=datetime(1970, 1, 1, tzinfo=timezone.utc))
    return analyze(rec)


def test_an_undated_session_is_listed_apart_not_dated_1970(noon_to_noon):
    dated = analyze(simulate("tsst", seed=3, start=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)))
    undated = _undated(noon_to_noon[0])
    t = build_trend([undated, dated])
    assert t.undated == [undated] and t.results == [dated]
    assert t.sessions["date"].tolist() == [pd.Timestamp(dated.recording.start)]
    assert len(t.days) == 0 and len(t.nights) == 0  # the undated day analysis is not on the date axis
    assert len(t.notes) == 1 and t.notes[0].startswith("1 session without a date: ")
    page = _text(render_trend_report(t))
    assert "1970" not in page
    assert "1 session from 2026-11-02 to 2026-11-02." in page
    assert 'id="undated-table"' in page


def test_the_real_24h_file_without_a_date(tmp_path):
    path = shared_data("physionet-rr-24h", "Chapter8__healthy_ms__000.txt")
    rec = load(path)
    assert rec.meta.get("start_unknown")  # what calmtrace info shows as "start unknown"
    short = simulate("tsst", seed=5, start=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))
    folder = tmp_path / "dated"
    save(short, folder)
    t = collect_trend([path, folder])
    assert [str(r.provenance["source"]) for r in t.undated] == [str(path)]
    assert len(t.sessions) == 1 and t.sessions["date"].iloc[0].year == 2026
    hours = rec.duration_s / 3600.0
    assert t.notes[0].startswith(f"1 session without a date: {path} ({hours:.1f} h).")
    page = _text(render_trend_report(t))
    assert "1 session from 2026-11-02 to 2026-11-02." in page and "1970" not in page
    assert math.isfinite(hours) and hours > 20


def test_only_undated_sessions_make_no_trend_and_say_so(noon_to_noon):
    undated = _undated(noon_to_noon[1])
    assert undated.day is not None  # it has a day analysis; it is left out for want of a date
    t = build_trend([undated])
    assert len(t.sessions) == 0 and t.undated == [undated]
    page = _text(render_trend_report(t))
    assert "No session with a date was given, so there is no trend to show." in page
    assert "No sessions were given." not in page
    assert "No session with a date has a day analysis (the trend's day panels take recordings of 4 h or more)" \
        in page
    assert "1970" not in page
