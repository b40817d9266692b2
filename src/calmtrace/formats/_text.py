"""Shared helpers of the text importers.

- reading a text file into numbered lines (:func:`read_lines`), and the same for the first bytes
  a sniffer sees (:func:`head_lines`);
- numbers, RR intervals and device clock times with one-line errors naming the file and the line
  (:func:`number`, :func:`rr_value`, :func:`device_datetime`);
- the unit rule for RR intervals written in seconds or milliseconds (:func:`rr_scale_to_ms`);
- beat times from RR intervals plus a rough per-beat clock, with gaps where beats are missing
  (:func:`anchor_beats`), for apps that log the phone's arrival time of every interval;
- :func:`build_recording`, which turns importer output into a validated
  :class:`~calmtrace.recording.Recording` and names the file in any error.

Conventions shared by every text importer
-----------------------------------------
Clock times written without a UTC offset (a phone's or a watch's local time) are taken as UTC and
the recording says so in ``meta["clock"]`` (:data:`CLOCK_LOCAL_AS_UTC`); ``meta["utc_offset"]`` is
set only when the file states the offset. A file with no start time at all starts at
:data:`UNKNOWN_START` with ``meta["start_unknown"] = True``: never the file's modification time,
which would make the same file import differently on different machines.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import CalmtraceError, FormatError, RecordingError, where
from ..events import Events
from ..recording import Recording

log = logging.getLogger(__name__)

__all__ = [
    "CLOCK_LOCAL_AS_UTC",
    "CLOCK_UTC",
    "UNKNOWN_START",
    "MAX_RR_MS",
    "CLOCK_TOLERANCE_S",
    "read_lines",
    "head_lines",
    "safe_sniff",
    "number",
    "rr_value",
    "device_datetime",
    "has_offset",
    "offset_text",
    "clock_meta",
    "rr_scale_to_ms",
    "anchor_beats",
    "anchor_arrivals",
    "Anchored",
    "clock_change_notes",
    "CLOCK_JUMP_S",
    "gaps_from_beat_times",
    "correct_clock",
    "build_recording",
    "events_inside",
]

#: ``meta["clock"]`` of a recording whose file gives local clock times without a UTC offset.
CLOCK_LOCAL_AS_UTC = "local time of the device, offset unknown; taken as UTC"
#: ``meta["clock"]`` of a recording whose file gives true UTC (e.g. Unix epoch timestamps).
CLOCK_UTC = "UTC (stated by the file)"
#: Start of a recording whose file gives no date or time at all; ``meta["start_unknown"]`` is set.
#: The Unix epoch, chosen because no real recording starts there, so reports show it is unknown.
UNKNOWN_START = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: Longest RR interval accepted, in ms. The BLE Heart Rate Measurement characteristic carries RR in
#: a uint16 of 1/1024 s (Bluetooth SIG, Heart Rate Service 1.0, sec. 3.1.1.5), so no strap can
#: report more than 64 s; a larger number is not a heartbeat interval but a sentinel or a typo.
MAX_RR_MS = 60_000.0

#: How far (s) a beat's logged clock time may run ahead of the time its RR intervals add up to
#: before the importer decides that beats are missing there. Straps notify about once per second
#: (Heart Rate Service 1.0, sec. 3.1: "typically ... once per second"), so a logged arrival time
#: trails its beat by up to ~1 s plus Bluetooth latency; 2 s keeps that jitter from opening gaps
#: while any loss of 2 s or more of beats opens one.
CLOCK_TOLERANCE_S = 2.0

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# -------------------------------------------------------------------------------------------
# reading text
# -------------------------------------------------------------------------------------------
def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Windows tools write cp1252/latin-1; latin-1 maps every byte, so this cannot fail.
        return data.decode("latin-1")


def read_lines(path: Path, what: str = "text") -> list[str]:
    """The lines of a text file, without line ends (``lines[0]`` is line 1).

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file should be, for the error message.

    Raises
    ------
    FormatError
        When the file holds NUL bytes (binary data).
    """
    data = Path(path).read_bytes()
    if b"\x00" in data:
        raise FormatError(f"{path}: holds binary data (NUL bytes), not {what}")
    lines = _LINE_BREAK.split(_decode(data))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def head_lines(head: bytes, n: int = 50) -> list[str] | None:
    """The first ``n`` complete-looking lines of a sniffer's head bytes; None for binary data."""
    if b"\x00" in head:
        return None
    return _LINE_BREAK.split(_decode(head))[:n]


def safe_sniff(fn: Callable[[Path, bytes], int]) -> Callable[[Path, bytes], int]:
    """Wrap a sniffer so that it never raises and always returns an int in 0..100."""

    @functools.wraps(fn)
    def wrapper(path: Path, head: bytes) -> int:
        try:
            return max(0, min(100, int(fn(Path(path), head))))
        except Exception:  # a sniffer must answer, never crash; a crash means "not mine"
            log.debug("sniffer %s failed on %s", fn.__module__, path, exc_info=True)
            return 0

    return wrapper


# -------------------------------------------------------------------------------------------
# values
# -------------------------------------------------------------------------------------------
def number(text: str, path: Path, line: int, what: str) -> float:
    """A finite number, or :class:`FormatError` naming file, line and value."""
    s = str(text).strip()
    try:
        v = float(s)
    except ValueError:
        raise FormatError(f"{where(path, line)}: {what} must be a number, got {s!r}") from None
    if not math.isfinite(v):
        raise FormatError(f"{where(path, line)}: {what} must be a finite number, got {s!r}")
    return v


def rr_value(v: float, path: Path, line: int, what: str = "RR interval", text: str | None = None) -> float:
    """Check that an interval in ms is positive and at most :data:`MAX_RR_MS`; return it."""
    shown = text if text is not None else f"{v:g}"
    if not v > 0:
        raise FormatError(f"{where(path, line)}: {what} must be a positive number of ms, got {shown!r}")
    if v > MAX_RR_MS:
        raise FormatError(
            f"{where(path, line)}: {what} of {shown} ms is longer than {MAX_RR_MS / 1000:g} s, "
            f"not a heartbeat interval"
        )
    return v


#: A UTC tzinfo object that marks "this was a local time without offset, taken as UTC".
_LocalAsUTC = timezone(timedelta(0), "local-as-UTC")


def device_datetime(text: str, path: Path, line: int, what: str = "time",
                    formats: Iterable[str] = ()) -> datetime:
    """A datetime written by a device: ISO 8601 or one of ``formats`` (``strptime`` patterns).

    Returns an aware datetime: with the file's own UTC offset where it states one, else the clock
    time taken as UTC (see :data:`CLOCK_LOCAL_AS_UTC`) under a marker tzinfo, so that
    :func:`has_offset` and :func:`clock_meta` can tell the two apart.
    """
    s = str(text).strip()
    dt = None
    for fmt in formats:
        try:
            dt = datetime.strptime(s, fmt)
            break
        except ValueError:
            continue
    if dt is None:
        try:
            dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
        except ValueError:
            raise FormatError(f"{where(path, line)}: {what} must be a date and time, got {s!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_LocalAsUTC)
    return dt


def has_offset(dt: datetime) -> bool:
    """True when a datetime from :func:`device_datetime` carried its own UTC offset."""
    return dt.tzinfo is not _LocalAsUTC


def offset_text(dt: datetime) -> str | None:
    """``"+02:00"`` for a datetime that carried its own offset; None otherwise."""
    if not has_offset(dt) or dt.utcoffset() is None:
        return None
    total = int(dt.utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def clock_meta(dt: datetime) -> dict:
    """``meta`` entries describing the clock a datetime from :func:`device_datetime` came from."""
    off = offset_text(dt)
    if off is None:
        return {"clock": CLOCK_LOCAL_AS_UTC}
    return {"clock": CLOCK_UTC, "utc_offset": off}


def rr_scale_to_ms(values: np.ndarray) -> float:
    """Factor that turns RR intervals written in seconds or ms into ms.

    Rule: a median below 10 means seconds (factor 1000), otherwise milliseconds (factor 1). Human RR
    intervals lie between about 0.25 and 2.5 s (heart rates of 24 to 240 bpm), i.e. 250-2500 ms, so
    the two units are 100-fold apart around the threshold and a file cannot be read in the wrong one
    unless nearly all of it is nonsense.
    """
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return 1.0
    return 1000.0 if float(np.median(v)) < 10.0 else 1.0


# -------------------------------------------------------------------------------------------
# beat times
# -------------------------------------------------------------------------------------------
#: How many of a segment's latest beats give the reference lag in :func:`anchor_beats`.
ANCHOR_WINDOW = 16
#: Quantile of a segment's clock lags that places it in :func:`anchor_beats`: low, because a
#: logged time trails its beat, but not the minimum, so one mis-stamped row cannot move a segment.
ANCHOR_QUANTILE = 0.1


#: A forward step of the clock (relative to the running RR sum) this close to one hour, s, is a
#: clock change (daylight saving, a time-zone change), not an hour of lost beats: a dropout's
#: length is arbitrary, a clock change is a whole hour (IANA tz database: every daylight-saving
#: rule in use shifts by 1 h except Lord Howe Island's 30 min).
CLOCK_JUMP_S = 3600.0


@dataclass
class Anchored:
    """Beat times placed on a logged clock by :func:`anchor_arrivals`.

    Attributes
    ----------
    beat_s : array of float
        Time of the beat closing each interval, on the clock of the *first* row (s).
    gaps : list of (onset_s, duration_s)
        Spans without beats, same origin.
    clock_changes : list of (index, step_s)
        Rows at which the logged clock stepped by ``step_s`` (negative: it went back) without the
        beats doing so; from that row on its clock reads ``step_s`` more than the beat times say.
    """

    beat_s: np.ndarray
    gaps: list[tuple[float, float]]
    clock_changes: list[tuple[int, float]]


def anchor_arrivals(rr_ms: np.ndarray, clock_s: np.ndarray,
                    tolerance_s: float = CLOCK_TOLERANCE_S) -> Anchored:
    """Beat times from RR intervals and the logged (arrival) clock time of each.

    Phone apps log each RR interval with the time it *arrived*, which trails the beat by a
    variable delay and clumps beats sent together. The intervals themselves are exact but say
    nothing about beats the phone never received, and the clock itself may step (daylight saving,
    a network time correction). This takes beat times from the running sum of the intervals
    ("lag" = clock minus running sum) and compares each lag with the median lag of the segment's
    latest :data:`ANCHOR_WINDOW` rows:

    - more than ``tolerance_s`` *below* it: the clock went back while beats went on (beats cannot
      overlap), so it is a clock change;
    - more than ``tolerance_s`` *above* it by one hour (:data:`CLOCK_JUMP_S`, within
      ``tolerance_s``): a clock change forward;
    - otherwise more than ``tolerance_s`` above it: beats were lost; a new segment starts.

    The size of a step is the median lag of the next rows minus the reference lag, so one late row
    cannot make one. Each segment is placed at the :data:`ANCHOR_QUANTILE` of its (clock-change
    corrected) lags, and never before the end of the segment before it; the time between segments
    becomes a gap.

    Parameters
    ----------
    rr_ms : array of float
        Consecutive intervals in ms, all >= 0 (0 for an interval that only keeps its place).
    clock_s : array of float
        The logged time of each interval's closing beat (s, any origin), e.g. its arrival time.
    tolerance_s : float
        See :data:`CLOCK_TOLERANCE_S`.

    Returns
    -------
    Anchored
    """
    rr = np.asarray(rr_ms, dtype=float)
    clock = np.asarray(clock_s, dtype=float)
    n = rr.size
    if n == 0:
        return Anchored(np.array([], float), [], [])
    s = np.cumsum(rr) / 1000.0
    lag = clock - s
    corrected = lag.copy()
    starts = [0]
    changes: list[tuple[int, float]] = []
    offset = 0.0
    window = deque([float(lag[0])], maxlen=ANCHOR_WINDOW)
    for i in range(1, n):
        li = float(lag[i]) - offset
        ref = statistics.median(window)
        d = li - ref
        if d < -tolerance_s or d > tolerance_s:
            ahead = lag[i:i + ANCHOR_WINDOW] - offset
            # only the rows up to the next discontinuity: a second step close behind must not
            # blend into this one
            cut = np.flatnonzero(np.abs(np.diff(ahead)) > 2 * tolerance_s)
            if cut.size:
                ahead = ahead[:cut[0] + 1]
            step = float(np.median(ahead)) - ref
            if step < -tolerance_s or abs(step - CLOCK_JUMP_S) <= tolerance_s:
                if abs(abs(step) - CLOCK_JUMP_S) <= tolerance_s:
                    step = float(np.copysign(CLOCK_JUMP_S, step))  # daylight saving moves whole hours
                changes.append((i, step))
                offset += step
                li -= step
            elif d > tolerance_s:
                starts.append(i)
                window = deque([li], maxlen=ANCHOR_WINDOW)
                corrected[i] = li
                continue
        corrected[i] = li
        window.append(li)
    bounds = starts + [n]
    beat_s = np.empty(n)
    gaps: list[tuple[float, float]] = []
    prev_anchor = None
    for k in range(len(starts)):
        a, b = bounds[k], bounds[k + 1]
        anchor = float(np.quantile(corrected[a:b], ANCHOR_QUANTILE))
        if prev_anchor is not None:
            if anchor > prev_anchor:
                gaps.append((prev_anchor + float(s[a - 1]), anchor - prev_anchor))
            else:
                anchor = prev_anchor
        beat_s[a:b] = anchor + s[a:b]
        prev_anchor = anchor
    return Anchored(beat_s, gaps, changes)


def anchor_beats(rr_ms: np.ndarray, clock_s: np.ndarray,
                 tolerance_s: float = CLOCK_TOLERANCE_S) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Beat times and gaps of :func:`anchor_arrivals` (without its clock changes).

    Returns
    -------
    beat_s : array of float
    gaps : list of (onset_s, duration_s)
    """
    a = anchor_arrivals(rr_ms, clock_s, tolerance_s)
    return a.beat_s, a.gaps


def clock_change_notes(anchored: Anchored, clock_s: np.ndarray, t0_s: float,
                       ref: datetime) -> tuple[list[dict], list[str]]:
    """``meta["clock_changes"]`` entries and import notes for the clock changes of ``anchored``.

    Parameters
    ----------
    anchored : Anchored
    clock_s : array of float
        The logged clock of each row, s since ``ref``.
    t0_s : float
        Time (same origin as the beats) that becomes ``t_s = 0``.
    ref : datetime
        The clock reading of ``clock_s = 0`` (as written in the file, local or UTC).
    """
    out, notes = [], []
    for i, step in anchored.clock_changes:
        before = ref + timedelta(seconds=float(clock_s[i - 1]))
        after = ref + timedelta(seconds=float(clock_s[i]))
        t = float(anchored.beat_s[i]) - t0_s
        out.append({"t_s": round(t, 3), "step_s": round(step, 3),
                    "clock_before": before.replace(tzinfo=None).isoformat(timespec="seconds"),
                    "clock_after": after.replace(tzinfo=None).isoformat(timespec="seconds")})
        what = ("daylight saving or time-zone change" if abs(abs(step) - CLOCK_JUMP_S) <= CLOCK_TOLERANCE_S
                else "clock correction")
        notes.append(f"clock change at {t:.1f} s: the file's clock went {'back' if step < 0 else 'forward'} "
                     f"{abs(step):.0f} s ({before.strftime('%H:%M:%S')} -> {after.strftime('%H:%M:%S')}) while "
                     f"the RR intervals ran on ({what}); beats keep their true spacing, the clock after it "
                     f"is read {-step:+.0f} s")
    return out, notes


def correct_clock(times_s: np.ndarray, steps_s: list[float], tolerance_s: float = CLOCK_TOLERANCE_S) -> np.ndarray:
    """Times of rows logged on a clock that stepped by ``steps_s`` (in order), put back on one clock.

    Each step is found in ``times_s`` as the first later row where the time moves by about that
    step (back, or forward); from there on the step is taken off. Used for the rows of a sibling
    file (heart rate, markers) once :func:`anchor_arrivals` has found the clock changes in the RR
    rows of the same session.
    """
    t = np.asarray(times_s, dtype=float).copy()
    start = 1
    for step in steps_s:
        d = np.diff(t)
        tail = d[start - 1:]
        hits = np.flatnonzero(tail <= step + tolerance_s if step < 0 else tail >= step - tolerance_s)
        if not hits.size:
            continue
        j = start + int(hits[0])
        t[j:] -= step
        start = j + 1
    return t


def gaps_from_beat_times(t_s: np.ndarray, rr_ms: np.ndarray, tolerance_s: float) -> list[tuple[float, float]]:
    """Gaps where consecutive beat times lie further apart than the interval between them.

    A beat at ``t[i]`` closes an interval that began at ``t[i] - rr[i]``; when that is more than
    ``tolerance_s`` after ``t[i-1]``, the beats in between are missing.
    """
    t = np.asarray(t_s, dtype=float)
    rr = np.asarray(rr_ms, dtype=float)
    if t.size < 2:
        return []
    begin = t[1:] - rr[1:] / 1000.0
    excess = begin - t[:-1]
    idx = np.flatnonzero(excess > tolerance_s)
    return [(float(t[i]), float(excess[i])) for i in idx]


# -------------------------------------------------------------------------------------------
# recordings
# -------------------------------------------------------------------------------------------
def events_inside(events: Events, duration_s: float, source: str) -> Events:
    """The events that overlap ``[0, duration_s]``; the others are dropped with a log line."""
    if len(events) == 0:
        return events
    kept = [e for e in events if e.offset_s >= 0 and e.onset_s <= duration_s]
    if len(kept) < len(events):
        log.warning("%s: %d of %d events lie outside the recording and were dropped",
                    source, len(events) - len(kept), len(events))
    return Events(kept)


def build_recording(path: Path, start: datetime, *, t_s: np.ndarray | None = None,
                    rr_ms: np.ndarray | None = None, flags: np.ndarray | None = None,
                    gaps: list[tuple[float, float, str]] | None = None,
                    hr: pd.DataFrame | None = None, events: Events | None = None,
                    meta: dict | None = None) -> Recording:
    """A validated :class:`Recording` from importer output; errors name ``path``.

    Times are seconds since ``start``. Events outside the recording are dropped (logged).
    """
    beats = pd.DataFrame({"t_s": np.asarray(t_s if t_s is not None else [], float),
                          "rr_ms": np.asarray(rr_ms if rr_ms is not None else [], float)})
    if flags is not None:
        beats["flag"] = np.asarray(flags, dtype=object)
    g = pd.DataFrame(gaps or [], columns=["onset_s", "duration_s", "reason"])
    try:
        rec = Recording(start=start, beats=beats, gaps=g, hr=hr if hr is not None else None,
                        meta=dict(meta or {}))
        if events is not None and len(events):
            rec = rec.with_events(events_inside(events, rec.duration_s, str(path)))
    except RecordingError as exc:
        raise FormatError(f"{path}: {exc}") from None
    except (OverflowError, ValueError) as exc:  # datetime arithmetic beyond year 9999 and similar
        if isinstance(exc, CalmtraceError):
            raise
        raise FormatError(f"{path}: times out of range ({exc})") from None
    return rec
