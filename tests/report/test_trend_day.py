"""The trend report's days and nights: the two panels draw what sessions.py computed, in Chromium too.

A three-day simulated wear (heart rate only, the fast path) and a short lab session without a day
analysis; the figures' data are compared with the trend's own tables (the report computes
nothing), the skipped session must be named with its reason, and headless Chromium (Playwright)
must draw both panels with their titles, offline and without console errors.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from calmtrace.analysis import analyze
from calmtrace.report.trend import render_trend_report, write_trend_report
from calmtrace.report.trend_day import balance_figure, overnight_figure
from calmtrace.sessions import build_trend
from calmtrace.signals.config import TrendConfig
from calmtrace.signals.day_sim import DAY_START, simulate_day
from calmtrace.signals.simulate import simulate
from tests.browser import CHROMIUM, NO_CHROMIUM, check_offline_and_drawn



@pytest.fixture(scope="module")
def day_trend():
    sim = simulate_day(3, seed=7, with_acc=False)
    short = simulate("tsst", seed=3, start=DAY_START + timedelta(days=5), subject="sim-day-01")
    return build_trend([analyze(sim.recording), analyze(short)])


def test_balance_figure_draws_the_days_table(day_trend):
    days = day_trend.days
    fig = balance_figure(days)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["stress", "recovery", "activity", "neutral", "unmeasured"]
    for t in bars:
        assert list(t.x) == days["day"].tolist()
        assert np.asarray(t.y, float) == pytest.approx(days[f"{t.name}_min"].to_numpy(float))
    lines = {t.name: np.asarray(t.y, float) for t in fig.data if t.type == "scatter"}
    np.testing.assert_array_equal(lines["stress, % of measured waking time"], days["stress_pct"].to_numpy(float))
    np.testing.assert_array_equal(lines["recovery, % of measured waking time"], days["recovery_pct"].to_numpy(float))
    assert fig.layout.barmode == "stack"


def test_overnight_figure_draws_the_nights_and_their_band(day_trend):
    nt = day_trend.nights
    fig = overnight_figure(nt)
    by_name = {t.name: t for t in fig.data if t.name}
    # three nights, none with three earlier ones: all drawn as "no band yet", and no band
    assert len(nt) == 3 and nt["band_mean"].isna().all()
    assert set(by_name) == {"night no band yet"}
    marks = by_name["night no band yet"]
    assert list(marks.x) == nt["night"].tolist()
    assert np.asarray(marks.y, float) == pytest.approx(nt["ln_rmssd"].to_numpy(float))
    # with a band from two earlier nights ([trend] swc_min_sessions = 2) the third night has one
    nt2 = build_trend(day_trend.results, TrendConfig(swc_min_sessions=2)).nights
    by_name = {t.name: t for t in overnight_figure(nt2).data if t.name}
    mean = by_name["mean of the earlier nights (bars: the band)"]
    np.testing.assert_array_equal(np.asarray(mean.y, float), nt2["band_mean"].to_numpy(float))
    np.testing.assert_allclose(np.asarray(mean.error_y.array, float)[2], nt2["band_high"].iloc[2] - nt2["band_mean"].iloc[2])
    np.testing.assert_array_equal(np.asarray(by_name["smallest worthwhile change of the earlier nights"].y, float),
                                  nt2["band_low"].to_numpy(float))
    where = nt2["vs_band"].iloc[2]
    assert where in ("above", "below", "within")
    assert list(by_name[f"night {where} the band"].x) == [nt2["night"].iloc[2]]


def test_overnight_axis_keeps_a_least_span(day_trend):
    """Nights 0.01 apart do not fill the axis: it spans MIN_LN_SPAN around them; nights further apart
    than that keep plotly's own range."""
    from calmtrace.report.trend_day import MIN_LN_SPAN

    close = day_trend.nights.assign(ln_rmssd=[4.452, 4.458, 4.462])
    rng = overnight_figure(close).layout.yaxis.range
    assert rng is not None and rng[1] - rng[0] == pytest.approx(MIN_LN_SPAN)
    assert rng[0] < 4.452 and rng[1] > 4.462
    apart = day_trend.nights.assign(ln_rmssd=[3.6, 4.0, 4.4])
    assert overnight_figure(apart).layout.yaxis.range is None


def test_report_section_tables_and_notes(day_trend):
    html = render_trend_report(day_trend)
    assert 'id="fig-trend"' in html  # the existing panels stay
    assert 'id="fig-balance"' in html and 'id="fig-overnight"' in html
    body = html.split('id="days-table"')[1].split("</table>")[0]
    assert body.count("<tr>") == len(day_trend.days) + 1
    body = html.split('id="nights-table"')[1].split("</table>")[0]
    assert body.count("<tr>") == len(day_trend.nights) + 1
    assert "Session 2 (2026-01-10) has no day analysis: it lasts 0.5 h" in html
    assert "No overnight SWC band yet: 2 earlier nights with an overnight lnRMSSD; the band needs 3." in html


def test_without_day_data_the_section_says_so(no_events_result):
    html = render_trend_report(build_trend([no_events_result]))
    assert 'id="days-none"' in html and 'id="fig-balance"' not in html and 'id="fig-overnight"' not in html
    assert "has no day analysis: it lasts 0.2 h" in html
    # no baseline and no stressor: a sentence, not an empty chart
    assert 'id="fig-trend-none"' in html and 'id="fig-trend"' not in html


@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_both_panels_render_in_chromium(browser, day_trend, tmp_path, artifacts_dir):
    path = write_trend_report(day_trend, tmp_path / "trend-days.html")
    page = check_offline_and_drawn(browser, path, artifacts_dir, "trend-days-page").page
    bal = page.locator("#fig-balance")
    assert bal.locator("text.gtitle", has_text="Daily stress/recovery balance").is_visible()
    assert bal.locator(".barlayer .trace").count() == 5
    assert bal.locator(".scatterlayer .trace path.js-line").count() >= 2
    night = page.locator("#fig-overnight")
    assert night.locator("text.gtitle", has_text="Overnight lnRMSSD").is_visible()
    assert night.locator(".scatterlayer .trace .point").count() >= len(day_trend.nights)
    assert page.locator("#fig-trend text.gtitle").is_visible()
    page.locator("#days").screenshot(path=str(artifacts_dir / "trend-days.png"))
    page.close()
