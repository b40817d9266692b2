"""The local web page of a capture: ``calmtrace capture --serve [PORT]``.

A small HTTP server on the capture's own event loop (``asyncio.start_server``, standard library
only) serves

- ``GET /``: the page (:data:`calmtrace.live.page.PAGE_HTML`: one document, its script and style inline, nothing fetched from
  anywhere else; a Content-Security-Policy forbids any other origin);
- ``GET /stream``: server-sent events (the WHATWG HTML "Server-sent events" format), one JSON
  snapshot of :meth:`LiveSession.snapshot` at most every :data:`PUSH_S` s when something changed,
  and a comment every 10 s to keep the connection open;
- ``POST /mark?kind=KIND``: an event mark, as the keys do (``note`` at once, other kinds open and
  close an interval);
- ``POST /pacer``: stop or restart the pacer.

Access: by default the server listens on 127.0.0.1 only, so other hosts cannot connect at all; it
also answers only requests whose ``Host`` header names the loopback address (against DNS
rebinding) and POSTs that carry the ``X-Calmtrace`` header, which a page of another origin cannot
send without a CORS preflight this server never grants. Another address needs ``host`` given
explicitly *and* an access ``token``; every request must then carry it (``?token=`` in the page's
address, which the page passes on).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import InputError
from ..events import EVENT_KINDS
from .page import PAGE_HTML

__all__ = ["LiveServer", "DEFAULT_PORT", "PUSH_S"]

log = logging.getLogger(__name__)

#: Default port of ``--serve`` (unassigned by IANA in the user range).
DEFAULT_PORT = 8765
#: Least real time between two pushed snapshots, s (4 updates a second, as the terminal view).
PUSH_S = 0.25
_KEEPALIVE_S = 10.0
_MAX_HEADER = 16384


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


class LiveServer:
    """Serve a live session's page.

    Parameters
    ----------
    session : LiveSession
    host : str
        Address to listen on (127.0.0.1 by default; any other needs ``token``).
    port : int
        TCP port (0: any free port).
    token : str, optional
        Access token every request must carry (required unless ``host`` is a loopback address).

    Raises
    ------
    InputError
        When a non-loopback ``host`` is given without a token.
    """

    def __init__(self, session: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 token: str | None = None) -> None:
        if not _is_loopback(host) and not token:
            raise InputError(f"--serve-host {host}: serving beyond this computer needs an access token (--token)")
        self.session = session
        self.host = host
        self.port = port
        self.token = token
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.Queue] = set()
        self._pusher: asyncio.Task | None = None
        self._page = PAGE_HTML.encode("utf-8")
        #: Requests refused (wrong host, missing token, other origin): for the log and tests.
        self.n_refused = 0

    @property
    def url(self) -> str:
        """Address of the page (with the token when one is needed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    async def start(self) -> None:
        """Listen, and start pushing snapshots."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._pusher = asyncio.ensure_future(self._push())
        log.info("live page at %s", self.url)

    async def close(self) -> None:
        """Stop pushing, tell the pages the capture ended, and stop listening."""
        if self._pusher is not None:
            self._pusher.cancel()
            await asyncio.gather(self._pusher, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        for q in list(self._clients):
            q.put_nowait(None)              # each stream says "end" and closes
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                log.debug("live page: a connection did not close in time")

    # -- pushing ---------------------------------------------------------------------------------
    async def _push(self) -> None:
        last = None
        while True:
            await asyncio.sleep(PUSH_S)
            if not self._clients:
                continue
            snap = json.dumps(self.session.snapshot(), separators=(",", ":"))
            if snap != last:
                last = snap
                for q in list(self._clients):
                    if q.qsize() < 8:           # a slow page skips snapshots rather than piling them up
                        q.put_nowait(snap)

    # -- requests --------------------------------------------------------------------------------
    def _allowed(self, peer: str, headers: dict[str, str], query: dict[str, list[str]]) -> str | None:
        """None when the request may be served, else the reason it is refused."""
        if self.token is None:
            if not _is_loopback(peer):
                return "only this computer may connect"
            host = headers.get("host", "").rsplit(":", 1)[0]
            if not _is_loopback(host):
                return "the page must be opened as 127.0.0.1 or localhost"
            return None
        given = (query.get("token") or [headers.get("x-calmtrace-token", "")])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return "a valid access token is needed"
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            writer.close()
            return
        try:
            await self._respond(head, reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                writer.close()
            except RuntimeError:                # the loop is closing
                pass

    async def _respond(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(head) > _MAX_HEADER:
            return await self._send(writer, 431, b"request header too large")
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return await self._send(writer, 400, b"bad request line")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        url = urlsplit(target)
        query = parse_qs(url.query)
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        why = self._allowed(peer, headers, query)
        if why is not None:
            self.n_refused += 1
            log.warning("live page: refused %s %s from %s: %s", method, url.path, peer, why)
            return await self._send(writer, 403, why.encode())
        if method == "GET" and url.path == "/":
            return await self._send(writer, 200, self._page, "text/html; charset=utf-8")
        if method == "GET" and url.path == "/stream":
            return await self._stream(writer)
        if method == "POST" and url.path in ("/mark", "/pacer"):
            if headers.get("x-calmtrace") != "1":
                self.n_refused += 1
                return await self._send(writer, 403, b"missing X-Calmtrace header")
            length = int(headers.get("content-length", "0") or 0)
            if 0 < length <= 4096:
                await reader.readexactly(length)
            if url.path == "/pacer":
                on = self.session.toggle_pacer()
                return await self._json(writer, {"pacer": on})
            kind = (query.get("kind") or [""])[0]
            if kind not in EVENT_KINDS:
                return await self._send(writer, 400, f"kind must be one of {', '.join(EVENT_KINDS)}".encode())
            ev = self.session.capture.mark(kind)
            return await self._json(writer, {"kind": kind, "written": ev is not None,
                                             "open": list(self.session.capture.live.open_marks)})
        return await self._send(writer, 404, b"not found")

    async def _json(self, writer: asyncio.StreamWriter, obj: Any) -> None:
        await self._send(writer, 200, json.dumps(obj).encode(), "application/json")

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes,
                    ctype: str = "text/plain; charset=utf-8") -> None:
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                  431: "Request Header Fields Too Large"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n"
                     "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                     "style-src 'unsafe-inline'; connect-src 'self'; img-src data:\r\n\r\n".encode() + body)
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                     b"Connection: keep-alive\r\n\r\nretry: 1000\n\n")
        q: asyncio.Queue = asyncio.Queue()
        q.put_nowait(json.dumps(self.session.snapshot(), separators=(",", ":")))
        self._clients.add(q)
        try:
            while True:
                try:
                    snap = await asyncio.wait_for(q.get(), _KEEPALIVE_S)
                except asyncio.TimeoutError:
                    writer.write(b": keep-alive\n\n")
                    await writer.drain()
                    continue
                if snap is None:
                    writer.write(b"event: end\ndata: {}\n\n")
                    await writer.drain()
                    return
                writer.write(b"data: " + snap.encode() + b"\n\n")
                await writer.drain()
        finally:
            self._clients.discard(q)
