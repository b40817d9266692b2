"""A capture session: strap -> timeline -> recording folder, with event marks and live figures.

:class:`Capture` connects to one strap through :class:`~calmtrace.devices.ble.Strap` (which
reconnects by itself), writes every raw notification to ``notifications.csv`` the moment it
arrives, turns notifications into beats with :class:`~calmtrace.devices.timeline.Timeline`, and
appends beats, device heart rate, gaps, ECG, acceleration and event marks through the append-only
:class:`~calmtrace.store.RecordingWriter`. Every line is flushed as it is written, so a capture
killed at any moment leaves a folder that reads back. Beats are written once the timeline has
timed them (it holds them ``hold_s`` to detect lost notifications), so a killed capture's last beats
are only in ``notifications.csv``: :func:`calmtrace.load` rebuilds the beats of an interrupted
capture from there (:func:`calmtrace.loader.rebuild_beats`), losing at most the notification that
was being written.

Polar PMD frames (ECG and acceleration share the data characteristic; byte 0 tells them apart) are
placed on the capture clock by :class:`~calmtrace.devices.polar.EcgClock`: exact spacing from the
sensor timestamps, offset from the earliest arrival (for acceleration, reached by steps of at most
half a sample per frame, so that the times in ``acc.csv`` never go backwards). Acceleration goes to ``acc.csv``
(``t_s,x_mg,y_mg,z_mg``, one block per frame, created with the first frame), which
``calmtrace day`` reads beside the beats. A malformed frame is logged and skipped.

When the disk fills up (or a file reaches the size limit, or a write fails in any other way), the
capture stops at once: the strap is released, the files are closed, the recording stays marked
incomplete (so that :func:`calmtrace.load` drops a last line the failed write cut short, reads
everything before it and rebuilds the last beats from ``notifications.csv``), and
:meth:`Capture.run` raises a :class:`~calmtrace.errors.CalmtraceError` naming the folder and the
problem.

:func:`capture_many` runs several straps at once on one clock (two partners in a couples
session): one recording folder each and a ``session.json`` that links them.

The live figures (:class:`LiveFigures`: heart rate, last RR, rolling RMSSD over the last 60 s,
PNS and SNS index, connection state, battery, elapsed time, gaps) are computed here and drawn by
the command line.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import math
import os
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._version import __version__
from .devices.ble import Notification, StateChange, Strap, StrapConfig, no_adapter
from .devices.polar import (ACC_RANGES_G, ACC_RATES_HZ, MEASUREMENT_ACC, EcgClock, parse_acc_frame,
                            parse_ecg_frame)
from .devices.timeline import Emitted, Timeline, TimelineConfig
from .errors import CalmtraceError, DeviceError, FormatError, InputError
from .events import EVENT_KINDS, Event
from .signals import balance
from .store import RecordingWriter, claim

__all__ = ["Capture", "LiveFigures", "capture_many", "LIVE_WINDOW_S"]

log = logging.getLogger(__name__)

#: Span of the rolling live figures, s: the 60-s ultra-short window of lnRMSSD (Esco & Flatt 2014).
LIVE_WINDOW_S = 60.0


@dataclass
class LiveFigures:
    """What the live view shows, updated as beats arrive.

    Attributes
    ----------
    elapsed_s : float
        Time since the capture started, s.
    hr_bpm : float
        The strap's latest heart rate, bpm (NaN before the first notification).
    last_rr_ms : float
        The latest RR interval, ms.
    rmssd_ms : float
        RMSSD of the beats of the last :data:`LIVE_WINDOW_S`, ms.
    pns_index, sns_index : float
        Kubios-style indices of the same beats (see :mod:`calmtrace.signals.balance`).
    state : str
        Connection state (``connected``, ``reconnecting``...).
    battery_pct : int or None
        Battery level read at the last connection, %.
    n_beats, n_gaps, n_malformed, n_reconnects : int
        Counters.
    gap_s : float
        Total duration of the gaps, s.
    open_marks : list of str
        Event kinds whose interval is open (pressed once, not yet closed).
    """

    elapsed_s: float = 0.0
    hr_bpm: float = math.nan
    last_rr_ms: float = math.nan
    rmssd_ms: float = math.nan
    pns_index: float = math.nan
    sns_index: float = math.nan
    state: str = "connecting"
    battery_pct: int | None = None
    n_beats: int = 0
    n_gaps: int = 0
    gap_s: float = 0.0
    n_malformed: int = 0
    n_reconnects: int = 0
    open_marks: list[str] = field(default_factory=list)


def _rolling(rr_ms: np.ndarray) -> tuple[float, float, float]:
    """RMSSD, PNS and SNS index of a short run of beats (NaN when fewer than 10)."""
    if rr_ms.size < 10:
        return math.nan, math.nan, math.nan
    d = np.diff(rr_ms)
    rmssd = float(np.sqrt(np.mean(d * d)))
    sd1 = float(np.std(d, ddof=1) / math.sqrt(2))
    sdnn = float(np.std(rr_ms, ddof=1))
    sd2 = math.sqrt(max(2 * sdnn * sdnn - sd1 * sd1, 0.0))
    mean_rr = float(np.mean(rr_ms))
    si = math.sqrt(balance.baevsky_stress_index(rr_ms))
    pns = float(balance.pns_index(np.array([mean_rr]), np.array([rmssd]), np.array([sd1]))[0])
    sns = float(balance.sns_index(np.array([60000.0 / mean_rr]), np.array([si]), np.array([sd2]))[0])
    return rmssd, pns, sns


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "strap"


#: errno values that mean "no room left" and the words the user sees for them.
_FULL = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full (quota exceeded)", errno.EFBIG: "file too large"}


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _no_adapter(exc: BaseException) -> bool:
    """True when a failed connection means there is no Bluetooth adapter to use (see
    :func:`calmtrace.devices.ble.no_adapter`)."""
    return no_adapter(exc)


def _storage_problem(exc: OSError) -> str:
    """Words for a failed write: ``"disk full"``, ``"file too large"`` or the system's message."""
    return _FULL.get(exc.errno, f"cannot write ({exc.strerror or exc})")


class Capture:
    """Capture one strap into a recording folder.

    Parameters
    ----------
    target : str
        Bluetooth address or advertised name of the strap.
    out : path-like
        Recording folder to create (must not exist unless ``force``).
    backend : optional
        bleak backend (see :mod:`calmtrace.devices.ble`): None for the real radio, or a
        :class:`~calmtrace.devices.virtual.VirtualRadio`.
    clock : callable, optional
        Returns seconds since the capture's start (shared by several captures on one clock).
        Default: the event loop's clock from :meth:`run`'s start.
    start : datetime, optional
        Timezone-aware wall-clock time of ``t_s = 0`` (default: now, UTC).
    subject : str, optional
        Subject id written into the metadata.
    ecg : bool
        Also stream Polar ECG into ``ecg.csv``.
    acc : bool
        Also stream Polar acceleration into ``acc.csv`` (a strap without it: one warning, and the
        beats are captured all the same).
    acc_fs_hz : int
        Acceleration sample rate, one of 25, 50, 100, 200 Hz (25, calmtrace's default: the H10's
        lowest rate, ample for movement per 60-s epoch, and a week of wear stays at 15 million
        samples).
    acc_range_g : int
        Accelerometer range, 2, 4 or 8 g (8: the H10's widest, so that running does not saturate).
    strap_config, timeline_config : optional
        Connection and beat-timing parameters.
    meta : dict, optional
        Extra metadata (e.g. ``simulated``).
    scripted_events : iterable of Event, optional
        Events known in advance (a simulated protocol), written as the capture clock passes their
        end; one still running when the capture ends is cut there.
    force : bool
        Replace an existing recording folder (only a recording folder: anything else is refused).

    Raises
    ------
    InputError
        When ``out`` is taken: not empty (without ``force``), not a recording folder, or being
        written by another process (one writer per folder, see :func:`calmtrace.store.claim`); or
        on an acceleration rate or range the H10 does not offer.
    """

    def __init__(self, target: str, out: str | os.PathLike, *, backend: Any = None,
                 clock: Callable[[], float] | None = None, start: datetime | None = None,
                 subject: str | None = None, ecg: bool = False,
                 strap_config: StrapConfig | None = None, timeline_config: TimelineConfig | None = None,
                 meta: dict | None = None, scripted_events: Any = None, force: bool = False,
                 acc: bool = False, acc_fs_hz: int = 25, acc_range_g: int = 8) -> None:
        if acc and (acc_fs_hz not in ACC_RATES_HZ or acc_range_g not in ACC_RANGES_G):
            raise InputError(f"accelerometer: rate must be one of {', '.join(map(str, ACC_RATES_HZ))} Hz and range "
                             f"one of {', '.join(map(str, ACC_RANGES_G))} g, got {acc_fs_hz!r} Hz, {acc_range_g!r} g")
        self.target = target
        self._scripted = sorted(scripted_events or [], key=lambda e: e.offset_s)
        self.out = Path(out)
        self.backend = backend
        self.start = start or datetime.now(timezone.utc)
        if self.start.tzinfo is None:
            raise InputError(f"capture start must be timezone-aware, got {self.start.isoformat()}")
        self._clock = clock
        self.ecg = ecg
        self.acc, self.acc_fs_hz, self.acc_range_g = bool(acc), int(acc_fs_hz), int(acc_range_g)
        self.strap_config = strap_config or StrapConfig()
        self.timeline = Timeline(timeline_config)
        meta = dict(meta or {})
        meta.setdefault("software_version", __version__)
        meta.setdefault("capture_target", target)
        if subject:
            meta["subject"] = subject
        # the folder is claimed (checked, created, locked) now, and written once the strap is
        # connected: a capture that never connects leaves nothing behind
        self._meta = meta
        self._force = force
        self._lock, self._made = claim(self.out, force=force)
        #: The recording folder's writer, from the moment the strap is connected.
        self.writer: RecordingWriter | None = None
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        #: The write that failed and stopped the capture (None while writing works).
        self.storage_error: OSError | None = None
        self.live = LiveFigures()
        self._recent: deque[tuple[float, float]] = deque()
        # each clock moves at most half a sample earlier per frame: times stay in order on disk
        self._ecg_clock = EcgClock()
        self._acc_clock = EcgClock(self.acc_fs_hz)
        self._open: dict[str, tuple[float, str]] = {}
        self._stop = asyncio.Event()
        self.strap: Strap | None = None
        self._events: Any = None
        #: Live tools (calmtrace.live) listening to what is written: each is called as
        #: ``listener(kind, item)`` with ("beat", Beat), ("gap", Gap) or ("event", Event).
        self.listeners: list[Callable[[str, Any], None]] = []

    def _tell(self, kind: str, item: Any) -> None:
        for listener in self.listeners:
            listener(kind, item)

    # -- time ---------------------------------------------------------------------------------
    def now_s(self) -> float:
        """Seconds since the capture's start."""
        if self._clock is None:
            raise RuntimeError("the capture has not started")
        return self._clock()

    # -- marks --------------------------------------------------------------------------------
    def mark(self, kind: str, label: str | None = None, duration_s: float | None = None) -> Event | None:
        """Mark an event now.

        A ``note`` (or any kind given a ``duration_s``) is written at once. Other kinds toggle: the
        first call opens an interval, the second closes it and writes the event with its
        duration (open intervals are closed when the capture ends).

        Returns
        -------
        Event or None
            The event written, or None when an interval was opened (or when the disk is full: the
            capture then stops, see :meth:`run`).
        """
        try:
            return self._mark(kind, label, duration_s)
        except OSError as exc:
            self._storage_failed(exc)
            return None

    def _mark(self, kind: str, label: str | None = None, duration_s: float | None = None) -> Event | None:
        if kind not in EVENT_KINDS:
            raise InputError(f"mark kind must be one of {', '.join(EVENT_KINDS)}, got {kind!r}")
        t = self.now_s()
        if kind == "note" or duration_s is not None:
            ev = Event(t, float(duration_s or 0.0), label or kind, kind)
            self._put("add_event", ev)
            self._tell("event", ev)
            return ev
        if kind in self._open:
            onset, lab = self._open.pop(kind)
            ev = Event(onset, max(0.0, t - onset), label or lab, kind)
            self._put("add_event", ev)
            self._tell("event", ev)
            self.live.open_marks = list(self._open)
            return ev
        self._open[kind] = (t, label or kind)
        # on disk at once: a capture killed now still has it, read back as open (censored)
        self._put("add_open_event", t, label or kind, kind)
        self.live.open_marks = list(self._open)
        return None

    def _put(self, method: str, *args: Any) -> None:
        """Write a mark now, or as soon as the writer exists (marks made while connecting)."""
        if self.writer is None:
            self._pending.append((method, args))
        else:
            getattr(self.writer, method)(*args)

    def _start_writer(self) -> None:
        """Create the recording folder's files (the strap is connected) and write the marks made
        meanwhile."""
        try:
            self.writer = RecordingWriter(self.out, self.start, self._meta, force=self._force, ecg=self.ecg,
                                          lock=self._lock)
        except OSError as exc:
            self._lock = None
            if exc.errno not in _FULL:
                raise
            raise CalmtraceError(f"{self.out}: {_storage_problem(exc)}; the capture could not start") from exc
        self._lock = None  # the writer holds it now
        for method, args in self._pending:
            getattr(self.writer, method)(*args)
        self._pending.clear()

    def _leave_nothing(self) -> None:
        """A capture that never started writing: release the folder, and remove it if it was
        created for this capture (and is still empty)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._made:
            try:
                self.out.rmdir()
            except OSError:
                pass

    def stop(self) -> None:
        """Ask :meth:`run` to finish (as Ctrl-C does)."""
        self._stop.set()

    def _storage_failed(self, exc: OSError) -> None:
        """A write failed: remember the first failure and stop the capture."""
        if self.storage_error is None:
            self.storage_error = exc
            log.debug("%s: a write failed, stopping the capture", self.out, exc_info=exc)
        self._stop.set()

    # -- the loop -----------------------------------------------------------------------------
    def _write(self, out: Emitted) -> None:
        for b in out.beats:
            self.writer.add_beat(b.t_s, b.rr_ms)
            self._recent.append((b.t_s, b.rr_ms))
            self.live.last_rr_ms = b.rr_ms
            self.live.n_beats += 1
            self._tell("beat", b)
        for h in out.hr:
            self.writer.add_hr(h.t_s, float(h.hr_bpm), h.contact)
            self.live.hr_bpm = float(h.hr_bpm)
        for g in out.gaps:
            self.writer.add_gap(g.onset_s, g.duration_s, g.reason)
            self.live.n_gaps += 1
            self.live.gap_s += g.duration_s
            self._tell("gap", g)
        if out.beats:
            horizon = out.beats[-1].t_s - LIVE_WINDOW_S
            while self._recent and self._recent[0][0] < horizon:
                self._recent.popleft()
            rr = np.fromiter((r for _, r in self._recent), float)
            self.live.rmssd_ms, self.live.pns_index, self.live.sns_index = _rolling(rr)

    def _write_scripted(self, t_s: float, final: bool = False) -> None:
        while self._scripted and (self._scripted[0].offset_s <= t_s or final):
            ev = self._scripted.pop(0)
            if ev.onset_s <= t_s:
                ev = Event(ev.onset_s, min(ev.offset_s, t_s) - ev.onset_s, ev.label, ev.kind)
                self.writer.add_event(ev)
                self._tell("event", ev)

    def _handle(self, event: Notification | StateChange) -> None:
        if isinstance(event, Notification):
            self.writer.add_notification(event.t_s, event.payload, event.source)
            if event.source == "hrs":
                before = self.timeline.n_malformed
                self._write(self.timeline.feed_payload(event.t_s, event.payload))
                self.live.n_malformed += self.timeline.n_malformed - before
            elif event.source == "pmd":
                self._on_pmd(event)
            return
        self.live.state = event.state
        if event.state in ("disconnected", "stalled"):
            self._write(self.timeline.mark(event.t_s, "disconnect" if event.state == "disconnected" else "stall"))
        elif event.state == "connected" and self.strap is not None:
            self.live.n_reconnects = self.strap.n_reconnects
            self._update_device_meta(self.strap.metadata)

    def _on_pmd(self, event: Notification) -> None:
        """A PMD data frame, acceleration or ECG by its measurement type: decoded, placed on the
        host clock and appended; a malformed one is skipped with a warning and counted."""
        is_acc = event.payload[:1] == bytes([MEASUREMENT_ACC])
        what, parse = ("ACC", parse_acc_frame) if is_acc else ("ECG", parse_ecg_frame)
        try:
            frame = parse(event.payload)
        except FormatError as exc:
            log.warning("skipped a malformed %s frame at t=%.3f s: %s", what, event.t_s, exc)
            self.live.n_malformed += 1
            return
        if is_acc:
            self.writer.add_acc(self._acc_clock.place(event.t_s, frame), frame.samples_mg)
        else:
            self.writer.add_ecg(self._ecg_clock.place(event.t_s, frame), frame.samples_uv)

    def _update_device_meta(self, metadata: dict[str, Any]) -> None:
        if metadata:
            self.live.battery_pct = metadata.get("battery_pct", self.live.battery_pct)
            self.writer.update_meta(**{k: v for k, v in metadata.items() if v is not None})

    async def run(self, duration_s: float | None = None,
                  on_update: Callable[[LiveFigures], None] | None = None) -> Path:
        """Connect, stream until ``duration_s`` (or :meth:`stop`), then finish cleanly.

        Parameters
        ----------
        duration_s : float, optional
            Capture length in s on the capture clock; None runs until :meth:`stop`.
        on_update : callable, optional
            Called with :attr:`live` after every event (the live view).

        Returns
        -------
        pathlib.Path
            The recording folder, marked complete.

        Raises
        ------
        DeviceError
            When the strap cannot be reached at the start ("no Bluetooth adapter: ..." when there
            is no adapter to use). Nothing is left on disk then: the folder is created and locked
            when the capture is made, written only once the strap is connected, and removed
            again (if it was created for this capture) when it never was.
        CalmtraceError
            When a write fails (disk full, file too large): the capture stops there and the
            message names the folder and the problem; everything written before stays readable.
        """
        if self._clock is None:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            self._clock = lambda: loop.time() - t0
        self.strap = Strap(self.target, backend=self.backend, config=self.strap_config,
                           clock=self._clock, ecg=self.ecg, acc=self.acc, acc_fs_hz=self.acc_fs_hz,
                           acc_range_g=self.acc_range_g)
        try:
            try:
                metadata = await self.strap.connect()
            except DeviceError as exc:
                if _no_adapter(exc):
                    raise DeviceError(f"no Bluetooth adapter: cannot reach strap {self.target} "
                                      f"({_short(exc.__cause__ or exc)}); is Bluetooth on and BlueZ running?") from exc
                raise
            self._start_writer()
            try:
                self._update_device_meta(metadata)
            except OSError as exc:
                self._storage_failed(exc)
            self.live.state = self.strap.state
            events = self._events = self.strap.events().__aiter__()
            stop_task = asyncio.ensure_future(self._stop.wait())
            deadline = None if duration_s is None else float(duration_s)
            try:
                while not self._stop.is_set():
                    timeout = None
                    if deadline is not None:
                        timeout = max(0.0, deadline - self.now_s())
                        if timeout == 0.0:
                            break
                    nxt = asyncio.ensure_future(events.__anext__())
                    done, _ = await asyncio.wait({nxt, stop_task}, timeout=min(timeout or 0.5, 0.5),
                                                 return_when=asyncio.FIRST_COMPLETED)
                    event = None
                    if nxt not in done:
                        nxt.cancel()
                        try:
                            await nxt
                        except (asyncio.CancelledError, StopAsyncIteration):
                            pass
                    else:
                        try:
                            event = nxt.result()
                        except StopAsyncIteration:
                            break
                    try:
                        if event is not None:
                            self._handle(event)
                        self.live.elapsed_s = self.now_s()
                        self._write_scripted(self.live.elapsed_s)
                    except OSError as exc:  # disk full: stop, keep what is written
                        self._storage_failed(exc)
                        break
                    if on_update:
                        on_update(self.live)
            finally:
                stop_task.cancel()
        finally:
            await self._finish()
        return self.out

    def _counters(self) -> dict[str, Any]:
        return {"n_notifications": self.timeline.n_notifications,
                "n_malformed_notifications": self.timeline.n_malformed,
                "n_reconnects": self.strap.n_reconnects if self.strap else 0,
                "hr_only": bool(self.timeline.hr_only)}

    async def _finish(self) -> None:
        t_end = self.now_s() if self._clock is not None else 0.0
        if self.writer is None:  # never connected (or could not start writing): nothing on disk
            if self.strap is not None:
                try:
                    await self.strap.close()
                except Exception:
                    log.debug("strap %s did not close cleanly", self.target, exc_info=True)
            self._leave_nothing()
            return
        if self.strap is not None:
            try:
                await self.strap.close()
            except Exception:  # closing a broken link must not lose the recording
                log.warning("strap %s did not close cleanly", self.target, exc_info=True)
            if self._events is not None:  # what the strap said while closing, up to its end
                async for event in self._events:
                    if self.storage_error is None:
                        try:
                            self._handle(event)
                        except OSError as exc:
                            self._storage_failed(exc)
        if self.storage_error is None:
            try:
                self._write(self.timeline.finish(t_end))
                self._write_scripted(t_end, final=True)
                for kind in list(self._open):
                    self._mark(kind)
                self.writer.update_meta(**self._counters())
                self.writer.close()
            except OSError as exc:
                self._storage_failed(exc)
        if self.storage_error is not None:
            problem = _storage_problem(self.storage_error)
            self._abandon_writer(t_end, problem)
            raise CalmtraceError(f"{self.out}: {problem}; the capture stopped at {t_end:.0f} s, "
                                 "everything written before is kept") from self.storage_error

    def _abandon_writer(self, t_end: float, problem: str) -> None:
        """Close the files after a failed write, leaving the recording marked incomplete.

        Not :meth:`RecordingWriter.close`: that would mark the recording complete, and a file may
        end in a line cut short by the failed write, which only an incomplete recording's reader
        drops. Every step is best effort: on a full disk, nothing more may fit. The events still
        open (marks pressed once, scripted events under way) are written first, cut at the stop.
        """
        try:
            self._write_scripted(t_end, final=True)
            for kind in list(self._open):
                self._mark(kind)
        except OSError:
            log.debug("%s: the open events did not fit", self.out, exc_info=True)
        self.writer.abort()
        try:  # recording.json is replaced atomically and stays marked incomplete
            self.writer.update_meta(capture_stopped=f"{problem} at {t_end:.1f} s", **self._counters())
        except OSError:
            log.debug("%s: could not note the failure in recording.json", self.out, exc_info=True)
        self.writer.release()


async def capture_many(targets: Sequence[str], out: str | os.PathLike, *, duration_s: float | None = None,
                       stop: asyncio.Event | None = None, on_update: Callable[[str, LiveFigures], None] | None = None,
                       **kwargs: Any) -> list[Path]:
    """Capture several straps at once on one clock: one folder each, and ``session.json``.

    Parameters
    ----------
    targets : sequence of str
        Addresses or names.
    out : path-like
        Session folder; each strap's recording goes into ``out/<target>``.
    duration_s : float, optional
        Capture length, s.
    stop : asyncio.Event, optional
        Set to finish all captures.
    on_update : callable, optional
        ``on_update(target, live)``.
    **kwargs
        Passed to :class:`Capture` (``backend``, ``subject``...).
    """
    out = Path(out)
    if len(set(targets)) != len(targets):
        raise InputError(f"the same strap is named twice: {', '.join(targets)}")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    start = kwargs.pop("start", None) or datetime.now(timezone.utc)
    clock = kwargs.pop("clock", None) or (lambda: loop.time() - t0)
    force = kwargs.pop("force", False)
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"{out}: already exists and is not empty (use --force to replace it)")
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    caps: list[Capture] = []
    try:
        for t in targets:
            caps.append(Capture(t, out / _slug(t), clock=clock, start=start, force=force, **kwargs))
    except BaseException:
        for c in caps:
            c._leave_nothing()
        if made:
            _rmdir_quietly(out)
        raise
    (out / "session.json").write_text(json.dumps({
        "start": start.isoformat(), "software_version": __version__,
        "recordings": [{"target": c.target, "folder": c.out.name} for c in caps],
    }, indent=2) + "\n", encoding="utf-8")

    async def watch_stop() -> None:
        if stop is not None:
            await stop.wait()
            for c in caps:
                c.stop()

    watcher = asyncio.ensure_future(watch_stop())
    try:
        results = await asyncio.gather(*(c.run(duration_s, (lambda live, t=c.target: on_update(t, live)) if on_update else None)
                                         for c in caps), return_exceptions=True)
    finally:
        watcher.cancel()
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors and all(c.writer is None for c in caps):  # none connected: leave nothing behind
        (out / "session.json").unlink(missing_ok=True)
        if made:
            _rmdir_quietly(out)
    if errors:
        raise errors[0]
    return [Path(r) for r in results]
