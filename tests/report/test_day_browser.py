"""The day view in a real browser (headless Chromium through Playwright), loaded from disk."""

from __future__ import annotations

import pytest

from calmtrace.analysis import analyze
from calmtrace.report import write_report
from calmtrace.signals.day_sim import simulate_day
from tests.browser import CHROMIUM, NO_CHROMIUM, Loaded

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


def test_day_view_draws_offline(browser, tmp_path, artifacts_dir):
    sim = simulate_day(1, seed=1)
    res = analyze(sim.recording, acc=sim.acc)
    path = write_report(res, tmp_path / "day.html")
    states = set(res.day.epochs["state"])
    view = Loaded(browser, path)
    page = view.page
    assert view.errors == []
    assert all(u.startswith(("file:", "data:")) for u in view.requests)
    fig = page.locator("#fig-day")
    # one bar trace per state present, drawn; the lines of HR, lnRMSSD, expected HR and ENMO
    assert fig.locator(".barlayer .trace").count() == len(states)
    assert fig.locator(".scatterlayer .trace path.js-line").count() >= 4
    assert fig.locator("text.annotation-text", has_text="sleep").first.is_visible()
    assert page.locator("#day-summary").is_visible()
    assert page.locator("#day-sleep li").count() == 1
    # the legend and the axis titles do not overlap, and the legend is inside the figure
    boxes = page.evaluate("""() => {
        const gd = document.getElementById('fig-day');
        const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        return {svg: box(gd.querySelector('svg.main-svg')), legend: box(gd.querySelector('g.legend')),
                // axis titles (class xtitle, x4title, ytitle...) and subplot titles (annotations)
                titles: [...gd.querySelectorAll('text')]
                          .filter(t => /^[xy]\\d*title$/.test(t.getAttribute('class') || '')
                                       || t.classList.contains('annotation-text'))
                          .filter(t => t.textContent.trim()).map(t => ({text: t.textContent, box: box(t)}))};
    }""")
    sl, st, sr, sb = boxes["svg"]
    ll, lt, lr, lb = boxes["legend"]
    assert ll >= sl - 0.5 and lr <= sr + 0.5 and lt >= st - 0.5 and lb <= sb + 0.5, boxes
    assert any(t["text"].startswith("clock time") for t in boxes["titles"])
    for t in boxes["titles"]:
        l, tp, r, bt = t["box"]
        overlap = min(r, lr) - max(l, ll) > 0.5 and min(bt, lb) - max(tp, lt) > 0.5
        assert not overlap, (t, boxes["legend"])
    fig.screenshot(path=str(artifacts_dir / "day-view.png"))
    page.close()
