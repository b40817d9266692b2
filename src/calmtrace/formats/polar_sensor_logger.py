"""Polar Sensor Logger exports (the Android app by Jukka Happonen): HR, RR, PPI and MARKER files.

Every file is ``;``-separated text whose first column is the phone's clock (``Phone timestamp``,
ISO 8601 local time without a UTC offset, e.g. ``2022-04-25T11:39:41.224``). Layouts read here,
recognised by their header, not by position:

======== ============================================================================================
HR       ``Phone timestamp;HR [bpm]`` (older), ``Phone timestamp;HR [bpm];HRV [ms];Breathing interval
         [rpm];`` (newer: the HRV column is the app's own figure, not RR, and is ignored), or with an
         ``RR-interval [ms]`` column (one row per interval, HR repeated), which gives beats too.
RR       ``Phone timestamp;RR-interval [ms]``
PPI      ``Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]``
         (Polar Verity Sense / OH1 optical pulse-to-pulse intervals), also with a ``sensor
         timestamp [ns]`` column and ``skin contact;skin contact supported`` names.
MARKER   ``Phone timestamp;Marker start/stop`` with ``MARKER_START`` / ``MARKER_STOP`` rows.
======== ============================================================================================

ECG files belong to the ``polar-ecg`` importer (this sniffer gives them 0). ACC, PPG, GYRO and
MAGN files are motion and raw optical samples, not heartbeats: they are recognised so that
importing one fails with a message saying so, rather than being misread by a generic reader.

How beats are timed
    The phone timestamp of an RR or PPI row is when the phone logged it, not when the beat
    happened (PPI rows arrive in batches several seconds long, and within a batch a row's time is
    that of the beat opening its interval), so beat times come from the running
    sum of the intervals, anchored to the phone clock by
    :func:`~calmtrace.formats._text.anchor_beats`; where the clock runs ahead of the sum, beats were
    lost and a gap (reason ``import``) is recorded. The ``sensor timestamp [ns]`` column
    (nanoseconds since 2000-01-01 on the sensor's clock, which the app sets from the phone's local
    time) is not used for beats: it is per notification rather than per beat, and zero in some
    versions.

PPI quality flags
    A PPI row with ``blocker`` = 1 (Polar: the interval was disturbed, e.g. by movement) is not
    kept as a beat, nor is one whose skin contact is supported but reported lost; a run of such
    rows becomes a gap (``import`` for blocker, ``no-contact`` for lost contact). Their intervals
    still count in the running time, so the beats after them stay in place. The error estimate is
    not used to reject intervals (Polar publishes no threshold); its median is in
    ``meta["ppi_error_estimate_median_ms"]`` and the cleaning step judges the intervals themselves.

Device heart rate
    HR values (the HR file, or the ``hr`` column of PPI files) become device HR samples; 0 means
    the sensor had no reading yet and is skipped.

Markers and sibling files
    Every ``*MARKER*.txt`` file beside the imported one is read; each ``MARKER_START`` ..
    ``MARKER_STOP`` pair becomes an event labelled ``marker N`` (or the text after
    ``MARKER_START``, when the app wrote one), of kind ``note`` unless the label says otherwise
    (:func:`~calmtrace.formats.events_file.infer_kind`). A start without a stop lasts to the end of
    the recording. Markers outside the recording are dropped. Importing ``X_RR.txt`` also reads
    the device HR of ``X_HR.txt`` beside it, and importing an ``X_HR.txt`` without RR column also
    reads the beats of ``X_RR.txt``, because the app splits one strap's data over those two files.

Clock
    Phone timestamps carry no UTC offset: they are taken as UTC and ``meta["clock"]`` says so.

RR values must be positive numbers of at most 60 s (:data:`~calmtrace.formats._text.MAX_RR_MS`);
anything else is a :class:`~calmtrace.errors.FormatError` naming the file and line. Intervals that
are positive but implausible (300 ms at rest, 2500 ms) are kept for the cleaning step to flag.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, where
from ..events import Event, Events
from ..recording import Recording
from . import Format
from ._text import (
    CLOCK_TOLERANCE_S,
    MAX_RR_MS,
    anchor_arrivals,
    anchor_beats,
    clock_change_notes,
    correct_clock,
    build_recording,
    clock_meta,
    device_datetime,
    head_lines,
    number,
    read_lines,
    rr_value,
    safe_sniff,
)
from ._evidence import MISSING, add_note, check_row_width, keep_gaps_for_rows, stand_in_lengths
from .events_file import infer_kind

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "read", "sniff", "PPI_TOLERANCE_S"]

#: Clock tolerance (s) for PPI files: the Verity Sense sends PPI in batches, so a row's phone time
#: trails its beat by up to the batch length; in the real sample of BIOBSS (Polar_Sense_PPI.txt)
#: rows trail by up to 1.7 s, so 2 s (the HR-strap value) would be too tight. 3 s.
PPI_TOLERANCE_S = 3.0

#: Highest device heart rate accepted, in bpm: above any human heart rate (Tanaka et al. 2001 put
#: the age-predicted maximum at 208 - 0.7 x age) with room for tachyarrhythmias.
MAX_HR_BPM = 300.0

_PHONE_COL = re.compile(r"^phone( data rx)? timestamp$")

# What a file is, from the normalised names of its columns.
_NOT_BEATS = {
    "acc": "accelerometer (ACC) samples",
    "ppg": "raw optical (PPG) samples",
    "gyro": "gyroscope (GYRO) samples",
    "magn": "magnetometer (MAGN) samples",
}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def _kind_of(columns: list[str]) -> str | None:
    """``hr``, ``rr``, ``ppi``, ``marker``, ``ecg``, ``acc``... or None when not a PSL file."""
    if not columns or not _PHONE_COL.match(columns[0]):
        return None
    cols = set(columns)
    if "marker start/stop" in cols:
        return "marker"
    if any(c.startswith("ecg") for c in cols):
        return "ecg"
    if "pp-interval [ms]" in cols:
        return "ppi"
    if "rr-interval [ms]" in cols:
        return "hr" if "hr [bpm]" in cols else "rr"
    if "hr [bpm]" in cols:
        return "hr"
    if "x [mg]" in cols:
        return "acc"
    if "x [dps]" in cols:
        return "gyro"
    if "x [g]" in cols:
        return "magn"
    if "channel 0" in cols or "ambient" in cols:
        return "ppg"
    return None


def _header(line: str) -> list[str]:
    cols = [_norm(c) for c in line.split(";")]
    while cols and cols[-1] == "":
        cols.pop()  # the app ends some headers with ';'
    return cols


@safe_sniff
def sniff(path: Path, head: bytes) -> int:
    """95 for HR/RR/PPI/MARKER files, 90 for motion/PPG files (read refuses them), 0 otherwise."""
    lines = head_lines(head, 2)
    if not lines:
        return 0
    kind = _kind_of(_header(lines[0]))
    if kind in ("hr", "rr", "ppi", "marker"):
        return 95
    if kind in _NOT_BEATS:
        return 90
    return 0


# -------------------------------------------------------------------------------------------
# parsing
# -------------------------------------------------------------------------------------------
@dataclass
class _Table:
    """One PSL file split into columns; times are datetimes, values are raw strings."""

    path: Path
    kind: str
    columns: list[str]
    lines: list[int] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def col(self, *names: str, occurrence: int = 0) -> int | None:
        hits = [i for i, c in enumerate(self.columns) if c in names]
        return hits[occurrence] if len(hits) > occurrence else None

    def values(self, i: int, what: str, *, blank_ok: bool = False) -> np.ndarray:
        out = np.empty(len(self.rows))
        for k, (line, row) in enumerate(zip(self.lines, self.rows)):
            text = row[i] if i < len(row) else ""
            if blank_ok and text.strip().lower() in MISSING:  # blank, nan, NA: no value on that row
                out[k] = np.nan
            else:
                out[k] = number(text, self.path, line, what)
        return out


def _read_table(path: Path) -> _Table:
    lines = read_lines(path, "a Polar Sensor Logger file")
    if not lines:
        raise FormatError(f"{path}: empty file")
    columns = _header(lines[0])
    kind = _kind_of(columns)
    if kind is None:
        raise FormatError(
            f"{where(path, 1)}: not a Polar Sensor Logger HR, RR, PPI or MARKER header, got {lines[0][:80]!r}"
        )
    table = _Table(path, kind, columns)
    for n, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        fields = text.split(";")
        if len(fields) < 2:
            raise FormatError(f"{where(path, n)}: expected ';'-separated fields, got {text[:80]!r}")
        check_row_width(path, n, fields, len(columns), ";")
        table.lines.append(n)
        table.times.append(device_datetime(fields[0], path, n, "Phone timestamp"))
        table.rows.append(fields)
    return table


def _seconds(times: list[datetime], ref: datetime) -> np.ndarray:
    return np.array([(t - ref).total_seconds() for t in times], dtype=float)


@dataclass
class _Parts:
    """What one file contributes, times in s since ``ref``."""

    beat_s: np.ndarray = field(default_factory=lambda: np.array([], float))
    rr_ms: np.ndarray = field(default_factory=lambda: np.array([], float))
    gaps: list[tuple[float, float, str]] = field(default_factory=list)
    hr_s: np.ndarray = field(default_factory=lambda: np.array([], float))
    hr_bpm: np.ndarray = field(default_factory=lambda: np.array([], float))
    meta: dict = field(default_factory=dict)
    anchored: object = None
    clock_s: np.ndarray = field(default_factory=lambda: np.array([], float))


def _hr_part(table: _Table, ref: datetime, hr_col: int | None, steps: list[float] | None = None) -> _Parts:
    parts = _Parts()
    if hr_col is None or not table.rows:
        return parts
    t = correct_clock(_seconds(table.times, ref), steps or [])
    hr = table.values(hr_col, "HR [bpm]", blank_ok=True)
    bad = np.flatnonzero((hr < 0) | (hr > MAX_HR_BPM))
    if bad.size:
        i = int(bad[0])
        raise FormatError(f"{where(table.path, table.lines[i])}: HR must be 0-{MAX_HR_BPM:g} bpm, got {hr[i]:g}")
    keep = np.isfinite(hr) & (hr > 0)
    # one row per interval repeats the notification's HR: keep one sample per (time, HR)
    if keep.any():
        tt, hh = t[keep], hr[keep]
        first = np.r_[True, (np.diff(tt) != 0) | (np.diff(hh) != 0)]
        tt, hh = tt[first], hh[first]
        order = np.argsort(tt, kind="stable")
        parts.hr_s, parts.hr_bpm = tt[order], hh[order]
    parts.meta["hr_zero_samples"] = int(np.count_nonzero(np.isfinite(hr) & (hr == 0)))
    return parts


def _rr_part(table: _Table, ref: datetime, rr_col: int) -> _Parts:
    """Beats from an RR column.

    A blank cell in an HR file's RR column is a notification without intervals: skipped. A
    ``nan``/``NA`` cell, or a blank one in an RR file (one row per interval), is a removed
    interval: it keeps a stand-in length in the running sum and becomes a gap.
    """
    parts = _Parts()
    rr = table.values(rr_col, "RR-interval [ms]", blank_ok=True)
    texts = [(row[rr_col] if rr_col < len(row) else "").strip() for row in table.rows]
    removed = np.array([not np.isfinite(v) and (t != "" or table.kind == "rr") for v, t in zip(rr, texts)], bool)
    has = np.isfinite(rr)
    for k in np.flatnonzero(has):
        rr_value(rr[k], table.path, table.lines[k], "RR-interval [ms]", texts[k])
    rows = has | removed
    t = _seconds(table.times, ref)[rows]
    lengths = rr[rows]
    is_beat = has[rows]
    if removed.any():
        lengths = stand_in_lengths(lengths, is_beat, np.zeros_like(is_beat), parts.meta, table.path)
        add_note(parts.meta, f"{int(removed.sum())} rows without an interval (nan or blank; first on line "
                             f"{table.lines[int(np.flatnonzero(removed)[0])]}): removed beats, each a gap", warn=True)
    anchored = anchor_arrivals(lengths, t, CLOCK_TOLERANCE_S)
    parts.beat_s, parts.rr_ms = anchored.beat_s[is_beat], lengths[is_beat]
    parts.gaps = [(a, d, "import") for a, d in anchored.gaps]
    parts.gaps += keep_gaps_for_rows(anchored.beat_s, lengths, is_beat, runs_only=True)
    parts.anchored, parts.clock_s = anchored, t
    return parts


def _ppi_part(table: _Table, ref: datetime) -> _Parts:
    path = table.path
    pp_col = table.col("pp-interval [ms]")
    err_col = table.col("error estimate [ms]")
    blk_col = table.col("blocker")
    contact_col = table.col("skin contact", "contact")
    supported_col = table.col("skin contact supported")
    if supported_col is None:
        supported_col = table.col("contact", occurrence=1)  # older header: contact;contact
    assert pp_col is not None  # guaranteed by _kind_of
    n = len(table.rows)
    pp = table.values(pp_col, "PP-interval [ms]")
    blocked = table.values(blk_col, "blocker") == 1 if blk_col is not None else np.zeros(n, bool)
    contact = table.values(contact_col, "contact") if contact_col is not None else np.ones(n)
    supported = table.values(supported_col, "contact supported") if supported_col is not None else np.zeros(n)
    no_contact = (supported == 1) & (contact == 0) & ~blocked
    bad = blocked | no_contact
    for k in np.flatnonzero(~bad):  # rejected rows may hold anything; they are not used
        rr_value(pp[k], path, table.lines[k], "PP-interval [ms]", table.rows[k][pp_col].strip())
    t = _seconds(table.times, ref)
    # Rejected intervals still keep time (their lengths agree with the phone clock in the BIOBSS
    # sample), unless their value is no interval at all; then the clock alone bridges them.
    pp_time = np.where((pp > 0) & (pp <= MAX_RR_MS), pp, 0.0)
    # Within a batch the app spaces rows by the interval on the same row (t[i+1] - t[i] == pp[i]
    # on 77 % of the rows of the BIOBSS sample), i.e. a row's time is that of the beat that opens
    # its interval: the closing beat's clock time is time + PP.
    beat_s, clock_gaps = anchor_beats(pp_time, t + pp_time / 1000.0, PPI_TOLERANCE_S)
    parts = _Parts()
    parts.gaps = [(a, d, "import") for a, d in clock_gaps]
    k = 0
    while k < n:  # each run of rejected rows -> one gap over their intervals
        if not bad[k]:
            k += 1
            continue
        j = k
        while j + 1 < n and bad[j + 1]:
            j += 1
        onset = float(beat_s[k] - pp_time[k] / 1000.0)
        reason = "no-contact" if no_contact[k:j + 1].all() else "import"
        parts.gaps.append((onset, float(beat_s[j]) - onset, reason))
        k = j + 1
    parts.beat_s, parts.rr_ms = beat_s[~bad], pp[~bad]
    parts.meta.update({
        "ppi_rows": int(n),
        "ppi_blocked": int(blocked.sum()),
        "ppi_no_contact": int(no_contact.sum()),
    })
    if err_col is not None and n:
        err = table.values(err_col, "error estimate [ms]")
        err = np.clip(err[~bad], 0.0, MAX_RR_MS)  # an absurd estimate must not overflow the median
        parts.meta["ppi_error_estimate_median_ms"] = float(np.median(err)) if err.size else None
    hr_col = table.col("hr [bpm]")
    hr = _hr_part(table, ref, hr_col)
    parts.hr_s, parts.hr_bpm = hr.hr_s, hr.hr_bpm
    return parts


# -------------------------------------------------------------------------------------------
# markers and siblings
# -------------------------------------------------------------------------------------------
def _marker_files(path: Path) -> list[Path]:
    folder = path.parent
    try:
        names = sorted(p for p in folder.iterdir()
                       if p.is_file() and "marker" in p.name.lower() and p.suffix.lower() == ".txt")
    except OSError:
        return []
    return [p for p in names if p.resolve() != path.resolve()]


def _markers(path: Path, ref: datetime, end_s: float) -> list[Event]:
    """Events from a MARKER file; times in s since ``ref``; an unclosed start lasts to ``end_s``."""
    table = _read_table(path)
    if table.kind != "marker":
        return []
    col = table.col("marker start/stop")
    assert col is not None
    events: list[Event] = []
    open_at: tuple[float, str, int] | None = None
    count = 0
    for line, when, row in zip(table.lines, _seconds(table.times, ref), table.rows):
        text = row[col].strip() if col < len(row) else ""
        m = re.match(r"(?i)marker_(start|stop)\b\s*(.*)$", text)
        if not m:
            raise FormatError(f"{where(path, line)}: expected MARKER_START or MARKER_STOP, got {text[:40]!r}")
        if m.group(1).lower() == "start":
            if open_at is not None:  # a start while one is open closes the open one here
                events.append(_marker_event(open_at, when))
            count += 1
            open_at = (float(when), m.group(2).strip() or f"marker {count}", line)
        else:
            if open_at is None:
                count += 1
                label = m.group(2).strip() or f"marker {count} (stop only)"
                events.append(Event(float(when), 0.0, label, infer_kind(label)))
            else:
                events.append(_marker_event(open_at, when))
                open_at = None
    if open_at is not None:
        events.append(_marker_event(open_at, max(end_s, open_at[0])))
    return events


def _marker_event(open_at: tuple[float, str, int], end: float) -> Event:
    onset, label, _ = open_at
    return Event(onset, max(0.0, float(end) - onset), label, infer_kind(label))


def _sibling(path: Path, own: str, other: str) -> Path | None:
    m = re.match(rf"(?i)^(.*_){own}(\.txt)$", path.name)
    if not m:
        return None
    for cand in (path.with_name(m.group(1) + other + m.group(2)),
                 path.with_name(m.group(1) + other.lower() + m.group(2))):
        if cand.is_file():
            return cand
    return None


def _device_meta(path: Path) -> dict:
    """Model and device ID from names like ``Polar_H10_A1B2C3D4_20240501_093000_RR.txt``."""
    m = re.match(r"(?i)^polar_([a-z0-9]+)_(?:([0-9a-f]{8})_)?", path.name)
    if not m:
        return {}
    meta = {"model": f"Polar {m.group(1)}"}
    if m.group(2):
        meta["device_id"] = m.group(2).upper()
        meta["device_name"] = f"Polar {m.group(1)} {m.group(2).upper()}"
    return meta


# -------------------------------------------------------------------------------------------
# read
# -------------------------------------------------------------------------------------------
def _steps(parts: _Parts) -> list[float]:
    return [step for _, step in parts.anchored.clock_changes] if parts.anchored is not None else []


def read(path: Path) -> Recording:
    """Import a Polar Sensor Logger HR, RR or PPI file (see the module docstring).

    Parameters
    ----------
    path : Path
        The ``*_HR.txt``, ``*_RR.txt`` or ``*_PPI.txt`` file.

    Returns
    -------
    Recording
        Beats (from RR or PPI), gaps, device HR samples, marker events; ``meta`` with
        ``source_file``, ``model``/``device_id`` where the file name gives them, ``psl_file``
        (hr, rr or ppi) and ``clock``.

    Raises
    ------
    FormatError
        For MARKER, ECG, ACC, PPG, GYRO or MAGN files (with what to import instead), for a
        malformed line (naming file and line) and for a file with no data rows.
    """
    path = Path(path)
    table = _read_table(path)
    if table.kind == "marker":
        raise FormatError(
            f"{path}: a MARKER file holds only markers; import the HR, RR or PPI file beside it "
            f"(its markers are added as events)"
        )
    if table.kind == "ecg":
        raise FormatError(f"{path}: a Polar Sensor Logger ECG file; import it with --format polar-ecg")
    if table.kind in _NOT_BEATS:
        raise FormatError(
            f"{path}: a Polar Sensor Logger file of {_NOT_BEATS[table.kind]}, not heartbeats; "
            f"import the HR, RR or PPI file of the same session"
        )
    if not table.rows:
        raise FormatError(f"{path}: no data rows below the header")
    ref = table.times[0]
    meta: dict = {"source_file": path.name, "source_app": "Polar Sensor Logger", "psl_file": table.kind}
    meta.update(_device_meta(path))
    meta.update(clock_meta(ref))
    hr_col = table.col("hr [bpm]")
    tolerance = CLOCK_TOLERANCE_S
    if table.kind == "ppi":
        parts = _ppi_part(table, ref)
        tolerance = PPI_TOLERANCE_S
    elif table.kind == "rr":
        parts = _rr_part(table, ref, table.col("rr-interval [ms]"))  # type: ignore[arg-type]
        sib = _sibling(path, "RR", "HR")
        if sib is not None:
            other = _read_table(sib)
            if other.kind == "hr":
                hr = _hr_part(other, ref, other.col("hr [bpm]"), _steps(parts))
                parts.hr_s, parts.hr_bpm = hr.hr_s, hr.hr_bpm
                meta["hr_file"] = sib.name
    else:  # hr
        rr_col = table.col("rr-interval [ms]")
        parts = _rr_part(table, ref, rr_col) if rr_col is not None else _Parts()
        if rr_col is None:
            sib = _sibling(path, "HR", "RR")
            if sib is not None:
                other = _read_table(sib)
                if other.kind == "rr":
                    parts = _rr_part(other, ref, other.col("rr-interval [ms]"))  # type: ignore[arg-type]
                    meta["rr_file"] = sib.name
        hr = _hr_part(table, ref, hr_col, _steps(parts))
        parts.hr_s, parts.hr_bpm = hr.hr_s, hr.hr_bpm
        meta.update(hr.meta)
    notes = meta.get("import_notes", []) + parts.meta.pop("import_notes", [])
    meta.update(parts.meta)
    if notes:
        meta["import_notes"] = notes

    # t = 0 at the earliest of: the start of the first interval, the first HR sample
    firsts = []
    if parts.rr_ms.size:
        firsts.append(float(parts.beat_s[0] - parts.rr_ms[0] / 1000.0))
    if parts.gaps:
        firsts.append(min(g[0] for g in parts.gaps))
    if parts.hr_s.size:
        firsts.append(float(parts.hr_s[0]))
    if not firsts:
        raise FormatError(f"{path}: no beats and no heart-rate samples (every row is empty or 0)")
    t0 = min(firsts)
    gaps = [(a - t0, d, r) for a, d, r in parts.gaps]
    if parts.anchored is not None and parts.anchored.clock_changes:
        changes, notes = clock_change_notes(parts.anchored, parts.clock_s, t0, ref)
        meta["clock_changes"] = changes
        for note in notes:
            add_note(meta, note, warn=True)
    if parts.rr_ms.size:
        first_interval = float(parts.beat_s[0] - parts.rr_ms[0] / 1000.0) - t0
        covered = min([first_interval] + [g[0] for g in gaps])
        if covered > tolerance:  # device HR ran before the first interval arrived
            gaps.append((0.0, covered, "import"))
    hr = pd.DataFrame({"t_s": parts.hr_s - t0, "hr_bpm": parts.hr_bpm,
                       "contact": ["unsupported"] * parts.hr_s.size})
    try:
        start = ref + timedelta(seconds=t0)
    except OverflowError:
        raise FormatError(f"{path}: times out of range") from None
    end_s = max([float(parts.beat_s[-1] - t0) if parts.beat_s.size else 0.0,
                 float(parts.hr_s[-1] - t0) if parts.hr_s.size else 0.0])
    events: list[Event] = []
    for mf in _marker_files(path):
        evs = [Event(e.onset_s - t0, e.duration_s, e.label, e.kind) for e in _markers(mf, ref, end_s + t0)]
        if evs:
            meta.setdefault("marker_files", []).append(mf.name)
        events.extend(evs)
    return build_recording(path, start, t_s=parts.beat_s - t0, rr_ms=parts.rr_ms, gaps=gaps, hr=hr,
                           events=Events(events), meta=meta)


FORMAT = Format(
    name="polar-sensor-logger",
    description="Polar Sensor Logger HR/RR/PPI exports (.txt, ';'), with MARKER files as events",
    sniff=sniff,
    read=read,
)
