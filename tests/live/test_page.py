"""The live page in a real browser: headless Chromium (Playwright) against a capture of the virtual strap.

The capture (bleak API -> Bumble virtual strap -> Capture -> LiveSession -> LiveServer) runs on its
own event loop in a thread; the browser opens the page it serves. The test checks that the
values update, that a dropped strap shows as a drop and then as connected again, that a click
marks an event that lands in ``events.csv``, that nothing is requested from anywhere but the
server, and that the server refuses other hosts by default.
"""

from __future__ import annotations

import asyncio
import csv
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import calmtrace
from calmtrace.capture import Capture
from calmtrace.devices.ble import StrapConfig
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace.errors import InputError
from calmtrace.live.pacer import Pacer
from calmtrace.live.server import LiveServer
from calmtrace.live.session import LiveSession
from tests.browser import CHROMIUM, NO_CHROMIUM, chromium

SPEED = 10.0

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


class LiveCapture:
    """A virtual-strap capture with its live page, on an event loop in a thread."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(60):
            raise AssertionError("the capture did not start")
        if self.error:
            raise self.error

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:          # reported to the test thread
            self.error = exc
            self.ready.set()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def _main(self) -> None:
        self.radio = VirtualRadio()
        rr = calmtrace.simulate("tsst", seed=3).rr_ms.tolist()
        self.strap = VirtualStrap(self.radio, rr, speed=SPEED)
        await self.strap.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        self.cap = Capture(self.strap.address, self.out, backend=self.radio,
                           clock=lambda: (loop.time() - t0) * SPEED,
                           strap_config=StrapConfig(stall_timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.2))
        self.session = LiveSession(self.cap, pacer=Pacer(6.0, 1.0, 1.5), speed=SPEED)
        self.server = LiveServer(self.session, "127.0.0.1", 0)
        await self.server.start()
        self.ready.set()
        try:
            await self.cap.run(None, on_update=lambda _f: self.session.start())
        finally:
            self.session.close()
            await self.server.close()
            await self.strap.stop()
            await self.radio.close()

    def call(self, coro_fn, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.cap.stop)
        self.thread.join(60)
        if self.error:
            raise self.error


@pytest.fixture
def browser():
    """A browser of this test's own: the next test's asyncio.run needs Playwright's loop closed."""
    with chromium() as b:
        yield b


def _other_address() -> str | None:
    """A non-loopback address of this machine (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


@pytest.mark.slow
def test_the_live_page_updates_shows_a_drop_and_marks_events(tmp_path: Path, browser) -> None:
    live = LiveCapture(tmp_path / "cap")
    requests: list[str] = []
    try:
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(live.server.url)
        # values update (locator assertions: the page's Content-Security-Policy forbids eval)
        expect = pytest.importorskip("playwright.sync_api").expect
        expect(page.locator("#rr")).not_to_have_text("-", timeout=30000)
        first = page.inner_text("#elapsed")
        expect(page.locator("#elapsed")).not_to_have_text(first, timeout=20000)
        hr = page.inner_text("#hr")
        assert 40 <= float(hr) <= 120, hr
        expect(page.locator("#lnrmssd")).not_to_have_text("-", timeout=30000)
        assert 1.0 < float(page.inner_text("#lnrmssd")) < 6.0
        assert "breathe" in page.inner_text("#pacer") and "6.0 breaths/min" in page.inner_text("#pacerrate")
        # a drop shows as a drop, and the page says when the strap is back
        expect(page.locator("#banner")).to_be_hidden()
        live.call(lambda: live.strap.drop_link(down_s=40.0))
        expect(page.locator("#banner")).to_be_visible(timeout=20000)
        assert "strap connection lost" in page.inner_text("#banner")
        expect(page.locator("#banner")).to_be_hidden(timeout=30000)
        assert page.inner_text("#state") == "connected"
        # a click marks an event
        page.click("button[data-kind=note]")
        expect(page.locator("#events li", has_text="note")).to_have_count(1, timeout=20000)
        page.close()
    finally:
        live.stop()
    with open(tmp_path / "cap" / "events.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["kind"] for r in rows if r["label"] == "note"] == ["note"]
    assert any(r["kind"] == "intervention" and r["label"].startswith("paced breathing 6/min") for r in rows)
    rec = calmtrace.load(tmp_path / "cap")
    assert (rec.gaps["reason"] == "disconnect").any(), rec.gaps
    server = live.server.url.split("?")[0]
    assert requests and all(u.startswith(server) for u in requests), [u for u in requests if not u.startswith(server)]


@pytest.mark.slow
def test_other_hosts_are_refused_by_default(tmp_path: Path) -> None:
    live = LiveCapture(tmp_path / "cap")
    try:
        port = live.server.port
        other = _other_address()
        if other is not None:      # the server listens on the loopback address only
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()
        # a page reached under another host name (DNS rebinding) is refused
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"evil.example:{port}"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 403
        # a mark from another origin's page (no X-Calmtrace header) is refused and writes nothing
        req = urllib.request.Request(f"http://127.0.0.1:{port}/mark?kind=note", method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 403
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200 and b"calmtrace live" in r.read()
        assert live.server.n_refused == 2
    finally:
        live.stop()
    with open(tmp_path / "cap" / "events.csv", encoding="utf-8") as fh:
        assert not [r for r in csv.DictReader(fh) if r["kind"] == "note"]


def test_another_address_needs_a_token() -> None:
    with pytest.raises(InputError, match="token"):
        LiveServer(object(), "0.0.0.0", 0)


def test_with_a_token_every_request_must_carry_it() -> None:
    class Session:
        def snapshot(self) -> dict:
            return {}

    async def go() -> tuple[int, int]:
        server = LiveServer(Session(), "127.0.0.1", 0, token="s3cret")
        await server.start()
        codes = []
        for path in ("/", "/?token=wrong", "/?token=s3cret"):
            r, w = await asyncio.open_connection("127.0.0.1", server.port)
            w.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await w.drain()
            codes.append(int((await r.readline()).split()[1]))
            w.close()
        await server.close()
        return tuple(codes)

    assert asyncio.run(go()) == (403, 403, 200)
