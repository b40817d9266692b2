"""Garmin FIT activity files (``.fit``), read with fitdecode.

Beats come from one of two kinds of FIT message, tried in this order:

1. ``hr`` messages (HRM-Tri/HRM-Swim stored data, e.g. a pool swim): the time of every beat on the
   strap's clock (``event_timestamp``, 1/1024 s; after the first one, compressed to its low 12
   bits in ``event_timestamp_12``, eight beats a message). A message that also has ``timestamp``
   and ``fractional_timestamp`` ties the strap's clock to UTC. The 12-bit values are unwrapped here
   from the last full ``event_timestamp`` (fitdecode's own expansion ignores the high bits and the
   fraction of a second of the anchor); repeated values (padding of the last message) are dropped.
   The strap's ``filtered_bpm`` of each beat becomes the device HR where records have none.
2. ``hrv`` messages (watches recording a chest strap): up to five successive RR intervals in s,
   0xFFFF (65.535 s) meaning none. They carry no time stamp: beat times are the cumulative sum of
   the intervals from the first time stamp of the file, held to the time stamps of the messages
   written before them (:func:`_hrv_beats`): where ``hrv`` messages are missing while ``record``
   messages go on, the sum falls behind the time stamps and a gap opens at the dropout's true
   place, so the beats after it keep their time.

An interval longer than :data:`~calmtrace.signals.ecg.GAP_RR_MS` becomes a gap (reason
``import``). The watch's own heart rate (``record.heart_rate``) becomes ``Recording.hr``.

A FIT file with neither ``hr`` nor ``hrv`` messages but with ``record.heart_rate`` is imported as
heart-rate samples only: no beats, ``meta["beats_source"] = "none"`` and a plain statement in
``meta["note"]``. A FIT file with no heart-rate data at all is a :class:`FormatError`.

Time: FIT time stamps count seconds from 1989-12-31T00:00:00 UTC; fitdecode turns them into
timezone-aware UTC datetimes. The ``activity`` message's ``local_timestamp`` minus its
``timestamp`` is the watch's UTC offset: ``meta["utc_offset"]`` (rounded to a quarter hour), used
for clock times in events files.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CalmtraceError, FormatError
from ..recording import Recording
from ..signals.ecg import GAP_RR_MS, beats_from_times
from . import Format
from ._evidence import add_note
from ._text import CLOCK_TOLERANCE_S, CLOCK_UTC

__all__ = ["FORMAT", "read", "sniff"]

log = logging.getLogger(__name__)

#: FIT time zero (FIT SDK, "date_time" type): 1989-12-31T00:00:00 UTC.
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=timezone.utc)
#: ``event_timestamp`` resolution (FIT SDK profile, hr message: scale 1024).
_EVENT_TICKS_PER_S = 1024
#: Bits of each compressed ``event_timestamp_12`` value (FIT SDK profile, hr message).
_BITS_12 = 12
#: An ``hrv.time`` of 0xFFFF (65.535 s after scaling) means "no interval" (FIT SDK profile).
_HRV_INVALID_S = 65.535


def sniff(path: Path, head: bytes) -> int:
    """Score a file as FIT: 100 with a FIT header and a ``.fit`` name, 90 with the header only."""
    try:
        is_fit = len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT"
        named = Path(path).suffix.lower() == ".fit"
        if is_fit:
            return 100 if named else 90
        return 20 if named else 0
    except Exception:
        return 0


class _Collected:
    """What the importer keeps from the FIT messages, in file order."""

    def __init__(self) -> None:
        self.first_time: datetime | None = None
        self.session_start: datetime | None = None
        self.device: dict = {}
        self.sport: str | None = None
        self.hr_times: list[datetime] = []
        self.hr_bpm: list[float] = []
        self.hrv_s: list[float] = []
        self.hrv_clock: list[datetime | None] = []  # latest time stamp before each hrv value
        self.last_time: datetime | None = None
        self.local_offset_s: float | None = None  # activity.local_timestamp - timestamp
        self.hrv_invalid = 0
        self.beat_utc_s: list[float] = []  # beat times, s since FIT_EPOCH
        self.beat_bpm: list[float] = []
        self.n_hr_messages = 0
        self.n_hrv_messages = 0


def _seconds(dt: datetime) -> float:
    return (dt - FIT_EPOCH).total_seconds()


class _HrClock:
    """Unwraps ``hr`` message beat times onto UTC."""

    def __init__(self) -> None:
        self.ticks: int | None = None  # last full beat time on the strap's clock, 1/1024 s
        self.anchor: tuple[int, float] | None = None  # (strap ticks, UTC s since FIT_EPOCH)

    def full(self, ticks: int, utc_s: float | None) -> float | None:
        self.ticks = ticks
        if utc_s is not None:
            self.anchor = (ticks, utc_s)
        return self.utc(ticks)

    def compressed(self, low12: int) -> float | None:
        if self.ticks is None:
            return None
        mask = (1 << _BITS_12) - 1
        self.ticks = self.ticks + ((low12 - self.ticks) & mask)
        return self.utc(self.ticks)

    def utc(self, ticks: int) -> float | None:
        if self.anchor is None:
            return None
        return self.anchor[1] + (ticks - self.anchor[0]) / _EVENT_TICKS_PER_S


def _unpack12(raw: object) -> list[int]:
    """The 12-bit values packed little-endian in ``event_timestamp_12`` (a tuple of bytes)."""
    data = bytes(int(b) & 0xFF for b in (raw if isinstance(raw, (tuple, list)) else [raw]) if b is not None)
    value = int.from_bytes(data, "little")
    return [(value >> (_BITS_12 * k)) & 0xFFF for k in range(len(data) * 8 // _BITS_12)]


def _as_list(v: object) -> list:
    return list(v) if isinstance(v, (tuple, list)) else [v]


def _hr_message(msg, got: _Collected, clock: _HrClock) -> None:
    got.n_hr_messages += 1
    bpm = [b for b in _as_list(msg.get_value("filtered_bpm", fallback=None))]
    ts = msg.get_value("timestamp", fallback=None)
    frac = msg.get_value("fractional_timestamp", fallback=0.0) or 0.0
    anchor_s = _seconds(ts) + float(frac) if isinstance(ts, datetime) else None
    times: list[float | None] = []
    packed = msg.get_field("event_timestamp_12") if msg.has_field("event_timestamp_12") else None
    if packed is not None and packed.raw_value is not None:
        times = [clock.compressed(v) for v in _unpack12(packed.raw_value)]
    else:
        for f in msg.get_fields("event_timestamp"):
            if f.field_def is None:  # an expansion of event_timestamp_12, handled above
                continue
            for raw in _as_list(f.raw_value):
                if raw is not None:
                    times.append(clock.full(int(raw), anchor_s))
                    anchor_s = None  # the time stamp ties only the first beat to UTC
    for k, t in enumerate(times):
        if t is None:
            continue
        got.beat_utc_s.append(t)
        b = bpm[k] if k < len(bpm) else None
        got.beat_bpm.append(float(b) if isinstance(b, (int, float)) else np.nan)


def _collect(path: Path) -> _Collected:
    import fitdecode

    got = _Collected()
    clock = _HrClock()
    with fitdecode.FitReader(
        str(path), check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.RAISE
    ) as reader:
        for frame in reader:
            if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                continue
            name = frame.name
            ts = frame.get_value("timestamp", fallback=None) if frame.has_field("timestamp") else None
            if isinstance(ts, datetime) and got.first_time is None:
                got.first_time = ts
            if isinstance(ts, datetime):
                got.last_time = ts
            if name == "file_id":
                for key in ("manufacturer", "garmin_product", "product", "serial_number"):
                    v = frame.get_value(key, fallback=None)
                    if v is not None:
                        got.device[key] = v if isinstance(v, (str, int, float)) else str(v)
            elif name == "session":
                st = frame.get_value("start_time", fallback=None)
                if isinstance(st, datetime) and got.session_start is None:
                    got.session_start = st
                sp = frame.get_value("sport", fallback=None)
                got.sport = str(sp) if sp is not None else got.sport
            elif name == "record":
                hr = frame.get_value("heart_rate", fallback=None)
                if isinstance(ts, datetime) and isinstance(hr, (int, float)) and 0 < hr < 255:
                    got.hr_times.append(ts)
                    got.hr_bpm.append(float(hr))
            elif name == "hrv":
                got.n_hrv_messages += 1
                for v in _as_list(frame.get_value("time", fallback=None)):
                    if isinstance(v, (int, float)) and 0 < v < _HRV_INVALID_S:
                        got.hrv_s.append(float(v))
                        got.hrv_clock.append(got.last_time)
                    else:
                        got.hrv_invalid += 1
            elif name == "hr":
                _hr_message(frame, got, clock)
            elif name == "activity" and frame.has_field("local_timestamp") and frame.has_field("timestamp"):
                local = frame.get_field("local_timestamp").raw_value
                utc = frame.get_field("timestamp").raw_value
                if isinstance(local, int) and isinstance(utc, int):
                    got.local_offset_s = float(local - utc)
    return got


def read(path: Path) -> Recording:
    """Import a Garmin FIT file (see the module docstring for what is read and how).

    Parameters
    ----------
    path : path-like
        The ``.fit`` file.

    Returns
    -------
    Recording
        Beats from ``hr`` or ``hrv`` messages, device HR samples from ``record.heart_rate``.

    Raises
    ------
    FormatError
        When the file is not a readable FIT file, fails its CRC, or holds no heart-rate data.
    """
    path = Path(path)
    try:
        got = _collect(path)
    except CalmtraceError:
        raise
    except Exception as exc:  # fitdecode raises FitError subclasses, and bare errors on damaged data
        log.debug("fitdecode failed on %s", path, exc_info=True)
        raise FormatError(f"{path}: not a readable FIT file ({type(exc).__name__}: {exc})") from exc
    try:
        return _recording(path, got)
    except FormatError:
        raise
    except CalmtraceError as exc:  # e.g. time stamps going backwards in a damaged file
        raise FormatError(f"{path}: {exc}") from exc


def _hrv_beats(got: _Collected, start: datetime, meta: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Beats from ``hrv`` RR values: their running sum, held to the time stamps written before them.

    ``hrv`` messages carry no time, but they are written among time-stamped ``record`` (and other)
    messages, and a beat written after a time stamp cannot have happened much before it. Beat
    times are the running sum of the intervals from the first time stamp of the file; wherever
    that sum would put a beat more than :data:`~calmtrace.formats._text.CLOCK_TOLERANCE_S` before
    the latest time stamp written before it, beats were lost (``hrv`` messages missing while the
    records went on): the sum restarts at that time stamp and a gap covers the span, so the beats
    after a dropout keep their true time (within the spacing of the records) instead of moving
    early by the length of the dropout.
    """
    rr_ms = np.asarray(got.hrv_s, float) * 1000.0
    first = got.first_time or start
    floor = np.array([((c or first) - start).total_seconds() for c in got.hrv_clock])
    origin = (first - start).total_seconds()
    beat_s = np.empty(rr_ms.size)
    gaps: list[tuple[float, float, str]] = []
    t = origin
    n_dropouts = 0
    for i, r in enumerate(rr_ms):
        t_next = t + r / 1000.0
        if t_next < floor[i] - CLOCK_TOLERANCE_S:
            gaps.append((t, floor[i] - r / 1000.0 - t, "import"))
            t_next = floor[i]
            n_dropouts += 1
        beat_s[i] = t_next
        t = t_next
    long = rr_ms > GAP_RR_MS
    gaps += [(float(b - r / 1000.0), float(r / 1000.0), "import") for b, r in zip(beat_s[long], rr_ms[long])]
    last = (got.last_time - start).total_seconds() if got.last_time is not None else None
    if beat_s.size and last is not None and last - beat_s[-1] > CLOCK_TOLERANCE_S + 1.0:
        gaps.append((float(beat_s[-1]), last - float(beat_s[-1]), "import"))  # hrv stopped, records went on
        n_dropouts += 1
    add_note(meta, f"hrv RR intervals placed by their running sum from the first time stamp, held to the time "
                   f"stamps written before them: {n_dropouts} gap(s) where the sum fell more than "
                   f"{CLOCK_TOLERANCE_S:g} s behind them (hrv messages missing while records went on)",
             warn=n_dropouts > 0)
    beats = pd.DataFrame({"t_s": beat_s[~long], "rr_ms": rr_ms[~long]})
    return beats, pd.DataFrame([g for g in gaps if g[1] > 0], columns=["onset_s", "duration_s", "reason"])


def _recording(path: Path, got: _Collected) -> Recording:
    """The Recording from what was collected (see the module docstring for the rules)."""
    meta: dict = {"clock": CLOCK_UTC, "fit_sport": got.sport}
    if got.local_offset_s is not None:
        # time zones are whole quarter hours; a local_timestamp further than 14 h from UTC is junk
        quarter = round(got.local_offset_s / 900.0) * 900
        if abs(quarter) <= 14 * 3600 and abs(quarter - got.local_offset_s) <= 60:
            sign = "+" if quarter >= 0 else "-"
            minutes = abs(int(quarter)) // 60
            meta["utc_offset"] = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
            add_note(meta, f"UTC offset {meta['utc_offset']} from the activity message (local_timestamp minus "
                           f"timestamp): clock times in events files are read in it")
    product = got.device.get("garmin_product") or got.device.get("product")
    maker = got.device.get("manufacturer")
    if maker or product:
        meta["model"] = " ".join(str(v) for v in (maker, product) if v)
    if got.device.get("serial_number") is not None:
        meta["serial"] = got.device["serial_number"]
    beats_t_utc = np.array([], float)
    if got.beat_utc_s:
        beats_t_utc = np.unique(np.asarray(got.beat_utc_s, float))
        meta["beats_source"] = "fit hr messages (strap beat time stamps)"
    elif got.hrv_s:
        meta["beats_source"] = "fit hrv messages (RR intervals, times from the activity start, held to the time stamps)"
    else:
        meta["beats_source"] = "none"

    candidates = [t for t in (got.first_time, got.session_start) if t is not None]
    if len(beats_t_utc):
        candidates.append(FIT_EPOCH + timedelta(seconds=float(beats_t_utc[0])))
    if not candidates:
        raise FormatError(f"{path}: FIT file has no time stamps, so the recording has no start time")
    start = min(candidates)
    start_s = _seconds(start)

    if len(beats_t_utc):
        beats, gaps = beats_from_times(beats_t_utc - start_s)
    elif got.hrv_s:
        beats, gaps = _hrv_beats(got, start, meta)
        if got.hrv_invalid:
            log.debug("%s: %d empty hrv slots (0xFFFF) skipped", path, got.hrv_invalid)
    else:
        beats, gaps = None, None

    if got.hr_bpm:
        hr = pd.DataFrame({"t_s": [_seconds(t) - start_s for t in got.hr_times], "hr_bpm": got.hr_bpm})
        meta["hr_source"] = "fit record.heart_rate"
    elif got.beat_bpm:
        ok = np.isfinite(got.beat_bpm) & (np.asarray(got.beat_bpm) > 0)
        hr = pd.DataFrame({"t_s": np.asarray(got.beat_utc_s)[ok] - start_s,
                           "hr_bpm": np.asarray(got.beat_bpm)[ok]}).sort_values("t_s", kind="stable")
        meta["hr_source"] = "fit hr.filtered_bpm"
    else:
        hr = None

    if beats is None:
        if hr is None:
            raise FormatError(
                f"{path}: FIT file has no heart-rate data (no hr or hrv messages, no record heart_rate)"
            )
        meta["note"] = (
            "this FIT file has no beat-to-beat data (no hr or hrv messages); only the watch's "
            "heart-rate samples (record.heart_rate) were imported, so there are no beats"
        )
    meta["fit_messages"] = {"hr": got.n_hr_messages, "hrv": got.n_hrv_messages, "record_hr": len(got.hr_bpm)}
    kwargs = {k: v for k, v in (("beats", beats), ("gaps", gaps), ("hr", hr)) if v is not None}
    return Recording(start=start, meta=meta, **kwargs)


FORMAT = Format(
    name="fit",
    description="Garmin FIT activity file: beats from hr or hrv messages, watch heart rate",
    sniff=sniff,
    read=read,
)
