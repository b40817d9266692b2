"""HRV Logger RR exports (the iOS/Android app by Marco Altini) and the same layout from other apps.

Two headers, one layout (comma-separated, one row per RR interval as it reached the phone):

``date,rr,since start``
    HRV Logger. ``date`` is the phone's local date and time (``2024-05-01 09:30:15.123``),
    ``rr`` the interval in ms, ``since start`` the running time of the recording in ms.
``timestamp, rr, since_start``
    FatMaxxer's RR log and files converted to HRV Logger's layout (e.g. by WearableHRV, whose
    ``test_rhythm.csv`` is a Scosche Rhythm24 recording): ``timestamp`` is Unix epoch
    milliseconds, i.e. true UTC.

How beats are timed
    ``date``/``timestamp`` is when the phone received the interval, not when the beat happened,
    and ``since start`` only adds up the intervals received, so neither shows beats that never
    arrived on its own. Beat times are the running sum of the intervals, anchored to the phone clock
    by :func:`~calmtrace.formats._text.anchor_beats`: where the clock runs ahead of the sum by more
    than 2 s (:data:`~calmtrace.formats._text.CLOCK_TOLERANCE_S`), beats were lost and a gap
    (reason ``import``) is recorded. ``since start`` is therefore not used.

Clock
    Epoch milliseconds are UTC (``meta["clock"]`` says so; the local offset stays unknown).
    ``date`` strings without an offset are local time taken as UTC, and ``meta["clock"]`` says so.

Values
    ``rr`` must be a positive number of ms of at most 60 s, else a
    :class:`~calmtrace.errors.FormatError` names the file and line. Implausible but positive
    intervals (artefacts, ectopic beats) are kept for the cleaning step to flag; HRV Logger's own
    artefact correction, when it was switched on, has already acted on the file.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError, where
from ..recording import Recording
from . import Format
from ._evidence import MISSING, add_note, check_row_width, keep_gaps_for_rows, stand_in_lengths
from ._text import (
    CLOCK_TOLERANCE_S,
    CLOCK_UTC,
    anchor_arrivals,
    clock_change_notes,
    build_recording,
    clock_meta,
    device_datetime,
    head_lines,
    number,
    read_lines,
    rr_value,
    safe_sniff,
)

__all__ = ["FORMAT", "read", "sniff"]

#: Epoch-millisecond timestamps before this (1973-03-03) are not epoch milliseconds.
_MIN_EPOCH_MS = 1e11
#: Epoch seconds accepted in place of milliseconds: 1973-03-03 to 2096-10-02.
_MIN_EPOCH_S, _MAX_EPOCH_S = 1e8, 4e9
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower())


def _columns(header: str) -> tuple[int, int, int | None] | None:
    """(time column, rr column, since-start column) of a header, or None if it is not one."""
    cols = [_norm(c) for c in header.split(",")]
    time_col = next((i for i, c in enumerate(cols) if c in ("date", "timestamp")), None)
    rr_col = next((i for i, c in enumerate(cols) if c == "rr"), None)
    since = next((i for i, c in enumerate(cols) if c == "since start"), None)
    if time_col is None or rr_col is None:
        return None
    return time_col, rr_col, since


@safe_sniff
def sniff(path: Path, head: bytes) -> int:
    """95 for ``date|timestamp, rr, since start|since_start``; 50 without the since-start column."""
    lines = head_lines(head, 2)
    if not lines:
        return 0
    cols = _columns(lines[0])
    if cols is None:
        return 0
    return 95 if cols[2] is not None else 50


def read(path: Path) -> Recording:
    """Import an HRV Logger RR file (see the module docstring).

    Returns
    -------
    Recording
        Beats and gaps; ``meta``: ``source_file``, ``source_app``, ``clock`` (and ``utc_offset``
        when the dates state it).

    Raises
    ------
    FormatError
        A bad header, time or interval (naming file and line), or a file without intervals.
    """
    path = Path(path)
    lines = read_lines(path, "an HRV Logger file")
    if not lines:
        raise FormatError(f"{path}: empty file")
    cols = _columns(lines[0])
    if cols is None:
        raise FormatError(f"{where(path, 1)}: expected a header like 'date,rr,since start', got {lines[0][:60]!r}")
    time_col, rr_col, _ = cols
    clocks: list[datetime] = []
    rr: list[float] = []
    epoch = None
    meta_notes: dict = {}
    epoch_s_noted = False
    removed: list[int] = []
    for n, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        fields = text.split(",")
        check_row_width(path, n, fields, len(lines[0].split(",")), ",")
        if max(time_col, rr_col) >= len(fields):
            raise FormatError(f"{where(path, n)}: expected {len(lines[0].split(','))} comma-separated fields, "
                              f"got {text[:60]!r}")
        stamp = fields[time_col].strip()
        is_epoch = bool(re.fullmatch(r"\d+(\.\d+)?", stamp))
        if epoch is None:
            epoch = is_epoch
        elif epoch != is_epoch:
            raise FormatError(f"{where(path, n)}: time {stamp!r} is not written like the rows above it")
        if is_epoch:
            ms = float(stamp)
            if _MIN_EPOCH_S <= ms < _MAX_EPOCH_S:  # epoch seconds (FatMaxxer-like logs written in s)
                if not epoch_s_noted:
                    add_note(meta_notes, f"timestamp {stamp} is Unix epoch seconds (1973-2096), not milliseconds")
                    epoch_s_noted = True
                ms *= 1000.0
            if not _MIN_EPOCH_MS <= ms < 253402300800000:  # before year 10000
                raise FormatError(f"{where(path, n)}: timestamp must be Unix epoch milliseconds or seconds, "
                                  f"got {stamp!r}")
            clocks.append(_EPOCH + timedelta(milliseconds=ms))
        else:
            clocks.append(device_datetime(stamp, path, n, "date"))
        if fields[rr_col].strip().lower() in MISSING:  # a removed interval: no beat, its time kept
            removed.append(n)
            rr.append(np.nan)
            continue
        v = number(fields[rr_col], path, n, "rr")
        rr.append(rr_value(v, path, n, "rr", fields[rr_col].strip()))
    if not rr:
        raise FormatError(f"{path}: no RR intervals below the header")
    ref = clocks[0]
    clock_s = np.array([(c - ref).total_seconds() for c in clocks])
    rr_all = np.array(rr)
    is_beat = np.isfinite(rr_all)
    if not is_beat.any():
        raise FormatError(f"{path}: no RR intervals below the header")
    notes_meta: dict = {}
    lengths = stand_in_lengths(rr_all, is_beat, np.zeros_like(is_beat), notes_meta, path) if removed else rr_all
    anchored = anchor_arrivals(lengths, clock_s, CLOCK_TOLERANCE_S)
    gaps = list(anchored.gaps) + [(a, d) for a, d, _ in keep_gaps_for_rows(anchored.beat_s, lengths, is_beat,
                                                                           runs_only=True)]
    beat_s, rr_ms = anchored.beat_s[is_beat], rr_all[is_beat]
    t0 = min([float(beat_s[0] - rr_ms[0] / 1000.0)] + [a for a, _ in gaps])
    meta: dict = {"source_file": path.name,
                  "source_app": "HRV Logger layout (epoch ms)" if epoch else "HRV Logger"}
    meta.update(meta_notes)
    if removed:
        add_note(meta, f"{len(removed)} rows without an interval (nan or blank; first on line {removed[0]}): "
                       f"removed beats, each a gap", warn=True)
        for note in notes_meta.get("import_notes", []):
            add_note(meta, note)
    add_note(meta, f"{'timestamp' if epoch else 'date'} is the phone's arrival time of each interval: beats are "
                   f"the running sum of the intervals, anchored to it; {len(anchored.gaps)} gap(s) where it ran ahead "
                   f"by more than {CLOCK_TOLERANCE_S:g} s")
    if anchored.clock_changes:
        changes, notes = clock_change_notes(anchored, clock_s, t0, ref)
        meta["clock_changes"] = changes
        for note in notes:
            add_note(meta, note, warn=True)
    meta.update({"clock": CLOCK_UTC} if epoch else clock_meta(ref))
    try:
        start = ref + timedelta(seconds=t0)
    except OverflowError:
        raise FormatError(f"{path}: times out of range") from None
    return build_recording(path, start, t_s=beat_s - t0, rr_ms=rr_ms,
                           gaps=[(a - t0, d, "import") for a, d in gaps], meta=meta)


FORMAT = Format(
    name="hrv-logger",
    description="HRV Logger CSV (date, rr, since start) and its epoch-ms variant (FatMaxxer, WearableHRV)",
    sniff=sniff,
    read=read,
)
