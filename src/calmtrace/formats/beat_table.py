"""Beat-time tables: one row per beat, with its time and/or the interval it closes.

Three layouts, recognised by their first lines:

VU-AMS (VU-DAMS export, ``.txt``, tab-separated)
    An optional ``Subject Id: P37`` line, then ``R-peak time``, ``ibi_cumulative``, ``ibi``,
    ``interpolated`` and ``LabelCode1``...``LabelCode5`` columns. ``R-peak time`` is the local date
    and time of each R peak (``30-06-23/14:08:59.580``, day-month-year), ``ibi`` the interval it
    closes in ms (0 on the first row, whose R peak opens the first interval and sets the start).
    Beats: the intervals of the following rows at the R-peak times. A row whose ``interpolated``
    column is not ``O`` (original) is flagged ``interpolated``. Runs of one value other than -9999
    in a ``LabelCode`` column become events (kind ``note``).
Empatica E4 ``IBI.csv``
    First line ``<Unix start time>, IBI``; then ``<s since start>,<interval in s>`` rows, the time
    being that of the beat closing the interval. The start is true UTC.
Generic tables (``,`` ``;``, tab or spaces) with a header naming a beat-time, arrival-time
    and/or interval column: read by the shared evidence rules of
    :mod:`calmtrace.formats._columns` (``docs/formats.md``): the delimiter and decimal mark,
    the interval unit (ms, s, µs; heart rates refused), the time unit and whether the times are
    beat times or arrival times (which then anchor the running sum of the intervals, with gaps
    where beats were lost and clock changes reported); removed and implausible intervals are gaps.
    A ``flag`` column is kept when every value is a calmtrace beat flag (a calmtrace ``beats.csv``
    reads back with its flags). Relative times start at an unknown start
    (``meta["start_unknown"]``, ``meta["time_offset_s"]`` the file's time at ``t_s = 0``).

Values
    Intervals of the VU-AMS and E4 layouts must be positive and at most 60 s, beat times strictly
    increasing; anything else is a :class:`~calmtrace.errors.FormatError` naming file and line.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError, where
from ..events import Event, Events
from ..recording import Recording
from . import Format
from ._columns import HR_NAMES, recording_from_grid
from ._evidence import split_grid
from ._text import (
    CLOCK_UTC,
    build_recording,
    clock_meta,
    device_datetime,
    gaps_from_beat_times,
    head_lines,
    number,
    read_lines,
    rr_value,
    safe_sniff,
)

__all__ = ["FORMAT", "read", "sniff", "GAP_TOLERANCE_S"]

#: A beat whose interval began more than this many seconds after the previous beat shows missing
#: beats. Well above the 1-ms resolution of these exports, and below the shortest physiological
#: RR interval (~0.25 s at 240 bpm), so that even one missing beat shows.
GAP_TOLERANCE_S = 0.25

_VU_TIME_FORMATS = ("%d-%m-%y/%H:%M:%S.%f", "%d-%m-%y/%H:%M:%S", "%d-%m-%Y/%H:%M:%S.%f", "%d-%m-%Y/%H:%M:%S")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_TIME_NAMES = ("t_s", "t_ms", "time", "time_s", "time_ms", "beat_time", "beat_time_s", "r_peak_time",
               "peak_time", "rpeak_time", "timestamp", "seconds")
_RR_NAMES = ("rr_ms", "rr", "rr_s", "rri", "rri_ms", "ibi", "ibi_ms", "ibi_s", "nn", "nn_ms",
             "rr_interval", "rr_interval_ms", "interval", "interval_ms")


def _norm(name: str) -> str:
    s = name.strip().lower()
    s = re.sub(r"\[\s*(ms|s)\s*\]|\(\s*(ms|s)\s*\)", lambda m: "_" + (m.group(1) or m.group(2)), s)
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_names(line: str) -> list[str]:
    """Normalised names of a header split by tab, ``;``, ``,`` or, with none of them, spaces."""
    if any(d in line for d in ("\t", ";", ",")):
        return [_norm(c) for c in line.split(_delimiter(line))]
    return [_norm(c) for c in line.split()]


def _layout(lines: list[str]) -> str | None:
    """``vu``, ``e4`` or ``generic`` from the first lines; None when none fits."""
    body = [ln for ln in lines if ln.strip()]
    if not body:
        return None
    first = body[0].strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?\s*,\s*IBI", first):
        return "e4"
    header = body[1] if first.lower().startswith("subject id") and len(body) > 1 else body[0]
    names = _header_names(header)
    if "r_peak_time" in names and "ibi" in names:
        return "vu"
    if any(n in _TIME_NAMES for n in names) or any(n in _RR_NAMES for n in names):
        return "generic"
    return None


@safe_sniff
def sniff(path: Path, head: bytes) -> int:
    """95 for VU-AMS and E4 IBI files; generic tables: 55 with time and RR columns, 35 with RR
    only, 20 with a lone time column (0 when other columns suggest an events file)."""
    lines = head_lines(head, 5)
    if not lines:
        return 0
    layout = _layout(lines)
    if layout in ("vu", "e4"):
        return 95
    if layout == "generic":
        header = next(ln for ln in lines if ln.strip())
        names = _header_names(header)
        has_t = any(n in _TIME_NAMES for n in names)
        has_rr = any(n in _RR_NAMES for n in names)
        if has_t and has_rr:
            return 55
        if has_rr:
            return 35
        if any(n in HR_NAMES for n in names):
            return 30  # time and heart rate: read only to refuse it with the reason
        # a time column alone: a beat table only when there is little else (not an events file)
        return 20 if len([n for n in names if n and n != "flag"]) == 1 else 0
    return 0


# -------------------------------------------------------------------------------------------
# layouts
# -------------------------------------------------------------------------------------------
def _rows(path: Path, lines: list[str], first: int, delim: str) -> list[tuple[int, list[str]]]:
    out = []
    for n in range(first, len(lines) + 1):
        text = lines[n - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        out.append((n, [f.strip() for f in text.split(delim)]))
    return out


def _field(path: Path, n: int, fields: list[str], i: int, name: str) -> str:
    if i >= len(fields):
        raise FormatError(f"{where(path, n)}: missing the {name} column")
    return fields[i]


#: Largest beat time accepted in a table, in s (about 32 years): beyond it a number is not a time.
MAX_TIME_S = 1e9


def _time_value(text: str, path: Path, n: int, what: str) -> float:
    v = number(text, path, n, what)
    if abs(v) > MAX_TIME_S * 1000:  # room for a time in ms
        raise FormatError(f"{where(path, n)}: {what} of {text.strip()} is not a beat time")
    return v


def _check_increasing(path: Path, lines: list[int], t: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise FormatError(f"{where(path, lines[i])}: {what} must increase, got {t[i]:g} s after {t[i - 1]:g} s")


def _read_vu(path: Path, lines: list[str]) -> Recording:
    meta: dict = {"source_file": path.name, "model": "VU-AMS", "source_app": "VU-DAMS"}
    # the same lines _layout looked at: skip blank lines, then an optional subject line
    first = 1
    while not lines[first - 1].strip():
        first += 1
    if lines[first - 1].strip().lower().startswith("subject id"):
        subject = lines[first - 1].split(":", 1)[1].strip() if ":" in lines[first - 1] else ""
        if subject:
            meta["subject"] = subject
        first += 1
        while not lines[first - 1].strip():
            first += 1
    header = [c.strip() for c in lines[first - 1].split("\t")]
    names = [_norm(c) for c in header]
    i_time, i_ibi = names.index("r_peak_time"), names.index("ibi")
    i_interp = names.index("interpolated") if "interpolated" in names else None
    label_cols = [(i, header[i]) for i, n in enumerate(names) if n.startswith("labelcode")]
    rows = _rows(path, lines, first + 1, "\t")
    if len(rows) < 2:
        raise FormatError(f"{path}: needs at least two R peaks, found {len(rows)}")
    times, ibi, flags, line_nos = [], [], [], []
    labels: list[list[str]] = [[] for _ in label_cols]
    for n, f in rows:
        times.append(device_datetime(_field(path, n, f, i_time, "R-peak time"), path, n, "R-peak time",
                                     _VU_TIME_FORMATS))
        ibi.append(number(_field(path, n, f, i_ibi, "ibi"), path, n, "ibi"))
        flags.append("ok" if i_interp is None or _field(path, n, f, i_interp, "interpolated").upper() in ("O", "")
                     else "interpolated")
        for k, (i, _) in enumerate(label_cols):
            labels[k].append(f[i] if i < len(f) else "")
        line_nos.append(n)
    ref = times[0]
    t = np.array([(x - ref).total_seconds() for x in times])
    _check_increasing(path, line_nos, t, "R-peak time")
    rr = np.array(ibi[1:])
    for v, n, text in zip(rr, line_nos[1:], (f[i_ibi] for _, f in rows[1:])):
        rr_value(v, path, n, "ibi", text)
    gaps = [(a, d, "import") for a, d in gaps_from_beat_times(t, np.r_[0.0, rr], GAP_TOLERANCE_S)]
    events = []
    for k, (_, name) in enumerate(label_cols):
        events.extend(_label_runs(name, labels[k], t))
    meta.update(clock_meta(ref))
    return build_recording(path, ref, t_s=t[1:], rr_ms=rr, flags=np.array(flags[1:], dtype=object),
                           gaps=gaps, events=Events(events), meta=meta)


def _label_runs(name: str, values: list[str], t: np.ndarray) -> list[Event]:
    events = []
    k = 0
    while k < len(values):
        v = values[k].strip()
        if v in ("", "-9999"):
            k += 1
            continue
        j = k
        while j + 1 < len(values) and values[j + 1].strip() == v:
            j += 1
        events.append(Event(float(t[k]), float(t[j] - t[k]), f"{name} {v}", "note"))
        k = j + 1
    return events


def _read_e4(path: Path, lines: list[str]) -> Recording:
    body = [(n, ln) for n, ln in enumerate(lines, start=1) if ln.strip()]
    n0, first = body[0]
    stamp = number(first.split(",")[0], path, n0, "start time")
    try:
        start = _EPOCH + timedelta(seconds=stamp)
    except OverflowError:
        raise FormatError(f"{where(path, n0)}: start time out of range, got {stamp:g}") from None
    t, rr, line_nos = [], [], []
    for n, text in body[1:]:
        f = text.split(",")
        if len(f) < 2:
            raise FormatError(f"{where(path, n)}: expected 'time,interval', got {text[:60]!r}")
        t.append(_time_value(f[0], path, n, "time"))
        rr.append(rr_value(number(f[1], path, n, "interval") * 1000.0, path, n, "interval", None))
        line_nos.append(n)
    if not rr:
        raise FormatError(f"{path}: no intervals below the start line")
    tt, rr_ms = np.array(t), np.array(rr)
    _check_increasing(path, line_nos, tt, "time")
    if tt[0] - rr_ms[0] / 1000.0 < 0:
        raise FormatError(f"{where(path, line_nos[0])}: the first interval begins before the start time")
    gaps = [(a, d, "import") for a, d in gaps_from_beat_times(tt, rr_ms, GAP_TOLERANCE_S)]
    meta = {"source_file": path.name, "model": "Empatica E4", "clock": CLOCK_UTC}
    return build_recording(path, start, t_s=tt, rr_ms=rr_ms, gaps=gaps, meta=meta)


def _read_generic(path: Path, lines: list[str]) -> Recording:
    """A generic table: roles, units and the meaning of its time column by evidence
    (:mod:`calmtrace.formats._columns`)."""
    meta: dict = {"source_file": path.name}
    grid = split_grid(path, lines, meta)
    return recording_from_grid(path, grid, meta)


def read(path: Path) -> Recording:
    """Import a beat-time table (see the module docstring).

    Returns
    -------
    Recording
        Beats (with flags where the file has them), gaps, label events (VU-AMS); ``meta`` with
        ``source_file``, ``model`` where the layout names the device, ``subject`` (VU-AMS) and the
        clock.

    Raises
    ------
    FormatError
        An unknown header, a bad value or decreasing times, naming file and line.
    """
    path = Path(path)
    lines = read_lines(path, "a beat table")
    layout = _layout(lines)
    if layout == "vu":
        return _read_vu(path, lines)
    if layout == "e4":
        return _read_e4(path, lines)
    if layout == "generic":
        return _read_generic(path, lines)
    first = next((ln for ln in lines if ln.strip()), "")
    raise FormatError(f"{where(path, 1)}: no beat-time or interval column in the header {first[:60]!r} "
                      f"(expected e.g. t_s, rr_ms, ibi, R-peak time)")


FORMAT = Format(
    name="beat-table",
    description="beat-time tables: VU-AMS export, Empatica E4 IBI.csv, CSV with beat times and/or RR",
    sniff=sniff,
    read=read,
    options=("unit", "columns", "time_unit"),
)
