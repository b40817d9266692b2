"""Headless Chromium for the report tests: one place for the browser, its flags and the checks every
report page must pass (loads from ``file://`` with no console error, requests nothing but ``file:``
and ``data:`` URLs, draws every figure).

Chromium is Debian's (``/usr/bin/chromium``; Playwright's own download does not work offline); the
``browser`` fixture in ``tests/conftest.py`` skips, saying so, where it or Playwright is absent.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Why a browser test skips on a machine without Chromium.
NO_CHROMIUM = f"{CHROMIUM} is absent (apt-get install chromium to run the browser tests)"


@contextmanager
def chromium() -> Iterator[object]:
    """Headless Chromium through Playwright's sync API; skips the test, saying why, without either.

    Playwright's sync API runs an event loop in this thread while the browser is open, so a test
    that calls ``asyncio.run`` needs its own, function-scoped browser (tests/live/test_page.py)."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Loaded:
    """A page opened from disk, with what it logged and requested, once every figure is drawn."""

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
    """Open ``path``; assert no error, offline, every figure drawn with a trace; screenshot it."""
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
