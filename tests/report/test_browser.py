"""The reports in a real browser: headless Chromium, driven by Playwright, pages loaded from disk.

Each report must load from ``file://`` with no console error and no request other than
``file:`` and ``data:`` URLs, every figure must have drawn its traces, the event labels must be
visible, and a screenshot (and a PDF print) of each page is written to ``test-artifacts/``.
Chromium is Debian's (``/usr/bin/chromium``); these tests skip, saying so, where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calmtrace.report import write_report, write_trend_report
from calmtrace.sessions import collect_trend

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} is absent (apt-get install chromium to run the browser tests)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory, breathing_result, messy_result, no_events_result, weekly_dirs):
    out = tmp_path_factory.mktemp("reports")
    return {
        "session-breathing": (write_report(breathing_result, out / "breathing.html"), breathing_result),
        "session-messy": (write_report(messy_result, out / "messy.html"), messy_result),
        "session-no-events": (write_report(no_events_result, out / "no-events.html"), no_events_result),
        "trend-weekly": (write_trend_report(collect_trend([weekly_dirs[0].parent]), out / "trend.html"), None),
    }


class Loaded:
    """A page opened from disk, with what it logged and requested."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length === "
                                    "document.querySelectorAll('.plotly-graph-div').length")


def check_offline_and_drawn(browser, path: Path, artifacts: Path, name: str) -> Loaded:
    view = Loaded(browser, path)
    page = view.page
    assert view.errors == []
    assert view.requests and all(u.startswith(("file:", "data:")) for u in view.requests), view.requests
    plots = page.locator(".plotly-graph-div")
    n = plots.count()
    assert n >= 1
    for i in range(n):
        plot = plots.nth(i)
        assert plot.locator("svg.main-svg").count() >= 1, f"figure {i} of {name} has no svg"
        assert plot.locator(".scatterlayer .trace").count() >= 1, f"figure {i} of {name} drew no trace"
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    return view


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
