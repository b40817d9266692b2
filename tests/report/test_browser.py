"""The reports in a real browser: headless Chromium, driven by Playwright, pages loaded from disk.

Each report must load from ``file://`` with no console error and no request other than
``file:`` and ``data:`` URLs, every figure must have drawn its traces, the event labels must be
visible, and a screenshot (and a PDF print) of each page is written to ``test-artifacts/``.
Chromium is Debian's (``/usr/bin/chromium``); these tests skip, saying so, where it is absent.
"""

from __future__ import annotations

import pytest

from calmtrace.report import write_report, write_trend_report
from calmtrace.sessions import collect_trend
from tests.browser import CHROMIUM, NO_CHROMIUM, Loaded, check_offline_and_drawn

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def pages(tmp_path_factory, breathing_result, messy_result, no_events_result, weekly_dirs):
    out = tmp_path_factory.mktemp("reports")
    return {
        "session-breathing": (write_report(breathing_result, out / "breathing.html"), breathing_result),
        "session-messy": (write_report(messy_result, out / "messy.html"), messy_result),
        "session-no-events": (write_report(no_events_result, out / "no-events.html"), no_events_result),
        "trend-weekly": (write_trend_report(collect_trend([weekly_dirs[0].parent]), out / "trend.html"), None),
    }


def test_session_report_loads_offline_draws_and_shows_the_events(browser, pages, artifacts_dir):
    path, res = pages["session-breathing"]
    view = check_offline_and_drawn(browser, path, artifacts_dir, "session-breathing")
    page = view.page
    n_stressors = sum(1 for e in res.recording.events if e.kind == "stressor")
    assert page.locator(".plotly-graph-div").count() == 3 + n_stressors
    overview = page.locator("#fig-overview")
    for e in res.recording.events:
        assert overview.locator("text.annotation-text", has_text=f"{e.label} ({e.kind})").first.is_visible()
        assert page.locator("#event-table td.ev", has_text=e.label).first.is_visible()
    assert page.locator("#simulated-banner").first.is_visible()
    assert page.locator("#summary li", has_text="Heart rate rose by").first.is_visible()
    # the overview's heart-rate line has a path with points
    assert overview.locator(".scatterlayer .trace path.js-line").first.get_attribute("d")
    pdf = page.pdf(path=str(artifacts_dir / "session-breathing.pdf"), format="A4", print_background=True)
    assert pdf[:4] == b"%PDF"
    page.close()


def test_messy_and_empty_sessions_load_and_say_what_is_missing(browser, pages, artifacts_dir):
    for name in ("session-messy", "session-no-events"):
        path, res = pages[name]
        view = check_offline_and_drawn(browser, path, artifacts_dir, name)
        assert view.page.locator("#limits").is_visible()
        # gaps are drawn as grey bands on the tachogram, one each
        n_gaps = len(res.recording.gaps)
        assert view.page.locator("#fig-tachogram .layer-below .shapelayer path").count() == n_gaps
        view.page.close()
    assert len(pages["session-messy"][1].recording.gaps) > 0


def test_trend_report_loads_offline_and_draws(browser, pages, artifacts_dir, weekly_dirs):
    path, _ = pages["trend-weekly"]
    view = check_offline_and_drawn(browser, path, artifacts_dir, "trend-weekly")
    page = view.page
    assert page.locator("#sessions-table tbody tr").count() == len(weekly_dirs)
    assert page.locator("#fig-trend text.ytitle", has_text="baseline lnRMSSD (ln(ms))").is_visible()
    pdf = page.pdf(path=str(artifacts_dir / "trend-weekly.pdf"), format="A4", print_background=True)
    assert pdf[:4] == b"%PDF"
    page.close()


# -- the P37 session (a real recording with its events file) -----------------------------------------
@pytest.fixture(scope="module")
def p37(tmp_path_factory):
    """The P37 session report; 30 s of beats are cut out as a gap so that gaps and notes both show."""
    import pandas as pd

    from calmtrace.analysis import analyze
    from calmtrace.loader import load

    from ..conftest import shared_data

    rec = load(shared_data("wearable-hrv-p37", "test_vu.txt"),
               events=shared_data("wearable-hrv-p37", "test_events.csv"))
    cut = (rec.beats["t_s"] > 1700.0) & (rec.beats["t_s"] <= 1730.0)
    gap = pd.DataFrame({"onset_s": [1700.0], "duration_s": [30.0], "reason": ["disconnect"]})
    rec = rec.replace(beats=rec.beats[~cut].reset_index(drop=True), gaps=gap)
    res = analyze(rec)
    out = tmp_path_factory.mktemp("p37")
    return write_report(res, out / "p37.html"), res


def _table_rows(page) -> list[dict]:
    """Rows of the rendered event table: stressor, metric, time-to-baseline and tau cells, and the
    note row under them."""
    return page.evaluate("""() => {
        const out = []; let ev = ''; let last = null;
        for (const tr of document.querySelectorAll('#event-table tbody tr')) {
            const cells = [...tr.querySelectorAll('td')].map(td => td.innerText.trim());
            if (tr.classList.contains('note')) { if (last) last.note = cells.join(' '); continue; }
            last = null;
            const evCell = tr.querySelector('td.ev');
            if (evCell) ev = evCell.innerText.split('(')[0].split(String.fromCharCode(10))[0].trim();
            // the last eight cells: metric, baseline, peak, reactivity, time to baseline, t50, tau, HRR60
            const k = cells.length - 8;
            if (k >= 0 && cells[k]) { last = {event: ev, metric: cells[k], ttb: cells[k + 4], tau: cells[k + 6], note: ''};
                                      out.push(last); }
        }
        return out;
    }""")


@pytest.mark.realdata
def test_p37_summary_never_contradicts_the_recovery_table(browser, p37, artifacts_dir):
    import re

    path, res = p37
    view = check_offline_and_drawn(browser, path, artifacts_dir, "session-p37")
    page = view.page
    findings = [t.strip() for t in page.locator("#summary ul.summary li").all_inner_texts()]
    rows = _table_rows(page)
    assert rows, "the event table has recovery rows"
    names = {"heart rate": "heart rate", "lnRMSSD": "lnRMSSD"}
    checked = 0
    for r in rows:
        if r["metric"] not in names:
            continue
        said = [f for f in findings if f.lower().startswith(r["metric"].lower()) and f"'{r['event']}'" in f]
        assert len(said) <= 1
        if not said:
            continue
        s, checked = said[0], checked + 1
        # a fit the table rejects is not quoted
        if "fit rejected" in r["tau"]:
            assert "time constant" not in s, (s, r)
        # a quoted tau whose interval is wider than itself is called imprecise
        m = re.search(r"time constant (.+?)(?:, | \()(?:imprecise: )?\d+% CI (\d+)-(\d+) s", s)
        if m:
            tau_s = sum(float(v) * {"min": 60, "s": 1, "h": 3600}[u]
                        for v, u in re.findall(r"(\d+) (min|s|h)\b", m.group(1)))
            if float(m.group(3)) - float(m.group(2)) > tau_s:
                assert "imprecise" in s, s
        # a response that stayed in the band is not said to have returned
        if "did not leave the baseline band" in (r["note"] or ""):
            assert "returned to baseline" not in s and "within the baseline band" in s, (s, r)
        # a quoted return time is the table's
        back = re.search(r"returned to baseline (.+?) after", s)
        if back:
            assert back.group(1) == r["ttb"], (s, r)
            half = re.search(r"half-recovery ((?:\d+ (?:h|min|s) ?)+)", s)
            if half and "later than the return" not in s:
                to_s = lambda text: sum(float(v) * {"min": 60, "s": 1, "h": 3600}[u]   # noqa: E731
                                        for v, u in re.findall(r"(\d+) (min|s|h)\b", text))
                assert to_s(half.group(1)) <= to_s(back.group(1)), s
    assert checked >= 2
    page.close()


@pytest.mark.realdata
def test_p37_event_labels_do_not_overlap_and_are_not_clipped(browser, p37, artifacts_dir):
    path, _ = p37
    view = Loaded(browser, path)
    page = view.page
    boxes = page.evaluate("""() => {
        const out = {};
        for (const gd of document.querySelectorAll('.plotly-graph-div')) {
            const svg = gd.querySelector('svg.main-svg').getBoundingClientRect();
            out[gd.id] = {svg: [svg.left, svg.top, svg.right, svg.bottom], labels: []};
            for (const g of gd.querySelectorAll('g.annotation')) {
                const t = g.querySelector('text.annotation-text');
                if (!t || !/ \\((baseline|stressor|recovery|intervention|note)\\)$/.test(t.textContent)) continue;
                const r = g.getBoundingClientRect();
                out[gd.id].labels.push({text: t.textContent, box: [r.left, r.top, r.right, r.bottom]});
            }
        }
        return out;
    }""")
    assert len(boxes["fig-overview"]["labels"]) == len(p37[1].recording.events)
    for fig, d in boxes.items():
        sl, st, sr, sb = d["svg"]
        labels = d["labels"]
        for a in labels:
            l, t, r, b = a["box"]
            assert l >= sl - 0.5 and r <= sr + 0.5 and t >= st - 0.5, (fig, a, d["svg"])   # not clipped
        for i, a in enumerate(labels):
            for c in labels[i + 1:]:
                (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], c["box"]
                overlap = min(r1, r2) - max(l1, l2) > 0.5 and min(b1, b2) - max(t1, t2) > 0.5
                assert not overlap, (fig, a, c)
    page.close()


@pytest.mark.realdata
def test_p37_note_shading_differs_from_gap_shading(browser, p37):
    from calmtrace.report.figures import clock_times

    path, res = p37
    rec = res.recording
    view = Loaded(browser, path)
    page = view.page
    # the rendered fill of every band on the overview, with its start in ms (plotly's date axis)
    shapes = page.evaluate("""() => {
        const gd = document.getElementById('fig-overview');
        return gd._fullLayout.shapes.map(s => ({
            x0: Date.parse(String(s.x0).replace(' ', 'T') + 'Z'), fill: s.fillcolor, opacity: s.opacity}));
    }""")
    epoch = lambda t: float(clock_times(rec, [t])[0].astype("datetime64[ms]").astype("int64"))  # noqa: E731
    notes = [e for e in rec.events if e.kind == "note" and e.duration_s > 0]
    assert notes and len(rec.gaps) == 1
    gap_x = epoch(float(rec.gaps["onset_s"].iloc[0]))
    gap_fill = {(s["fill"], s["opacity"]) for s in shapes if abs(s["x0"] - gap_x) < 1}
    note_fill = {(s["fill"], s["opacity"]) for e in notes for s in shapes if abs(s["x0"] - epoch(e.onset_s)) < 1}
    assert gap_fill and note_fill
    assert not (gap_fill & note_fill)
    assert {f for f, _ in gap_fill}.isdisjoint({f for f, _ in note_fill})
    # and the axis says what the clock is: this file's times are the device's, zone unknown
    assert page.locator("#fig-overview text", has_text="clock time (device local time, zone unknown)").count() >= 1
    page.close()
