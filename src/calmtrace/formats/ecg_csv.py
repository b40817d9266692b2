"""Generic ECG tables (CSV, semicolon or tab separated) with a known sampling rate.

The table has a header line and one row per sample; the ECG is the first column whose name starts
with ``ecg`` or ``ekg`` (any case: ``ECG``, ``ecg_uv``, ``ECG_1000Hz``, ``ECG [mV]``). Lines before
the header that start with ``#`` are comments and may set ``key = value`` (or ``key: value``)
settings.

**Sampling rate rule.** A bare column of numbers does not say how far apart its samples are, and
calmtrace does not guess. The rate comes from the first of these that the file has:

1. a time column in seconds or milliseconds: ``t_s``, ``time_s``, ``time [s]``, ``time (s)``,
   ``seconds``, ``t_ms``, ``time_ms``, ``time [ms]``, ``time (ms)`` (its median step gives the rate,
   and its values are the sample times);
2. the rate in the ECG column's name: ``ECG_1000Hz``, ``ecg (250 Hz)``;
3. a comment line ``# fs_hz = 250`` (also ``sampling_rate`` or ``sampling rate``, in Hz);
4. the rate in the file's name: ``ecg_1000hz.csv``, ``bio_resting_5min_100hz.csv``.

Without any of them reading fails with a :class:`FormatError` that says how to add one.

**Units**: ``uV``/``µV`` in the ECG column name means microvolts; ``mV`` means millivolts (converted
to µV); otherwise the values are kept as they are and ``meta["ecg_units"]`` says the units are
unknown.

**Start time**: a comment ``# start = 2024-05-01T09:00:00+02:00`` (with its UTC offset) sets it;
otherwise the start is unknown: :data:`~calmtrace.formats._text.UNKNOWN_START` (1970-01-01T00:00:00Z)
with ``meta["start_unknown"]`` true, as for every importer.

Beats are the R-peaks found by :func:`calmtrace.signals.ecg.ecg_to_recording`.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..recording import Recording
from ..signals.ecg import ecg_to_recording
from . import Format, foreign_errors
from ._evidence import check_row_width, options
from ._text import CLOCK_UTC, UNKNOWN_START, number, read_lines

__all__ = ["FORMAT", "read", "sniff", "split_header"]

_ECG_NAME = re.compile(r"^(ecg|ekg)(?![a-z])", re.IGNORECASE)
_HZ = re.compile(r"(\d+(?:\.\d+)?)\s*hz", re.IGNORECASE)
#: Time column names (lower case, spaces removed) and their factor to seconds.
_TIME_COLUMNS = {
    "t_s": 1.0, "time_s": 1.0, "time[s]": 1.0, "time(s)": 1.0, "seconds": 1.0,
    "t_ms": 1e-3, "time_ms": 1e-3, "time[ms]": 1e-3, "time(ms)": 1e-3,
}
_RATE_KEYS = ("fs_hz", "sampling_rate", "sampling rate", "fs")
_SEPARATORS = (",", ";", "\t")


def split_header(line: str) -> tuple[str, list[str]]:
    """The separator of a header line (comma, semicolon or tab) and its cleaned column names."""
    counts = {s: line.count(s) for s in _SEPARATORS}
    sep = max(counts, key=lambda s: counts[s]) if max(counts.values()) > 0 else ","
    return sep, [c.strip().strip('"').strip("'").strip() for c in line.split(sep)]


def _comments_and_header(lines: list[str]) -> tuple[dict[str, str], int]:
    """``key = value`` settings from leading ``#`` lines and the index of the header line."""
    settings: dict[str, str] = {}
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = re.match(r"#\s*([A-Za-z_ ]+?)\s*[:=]\s*(.+?)\s*$", s)
            if m:
                settings[m.group(1).strip().lower()] = m.group(2)
            continue
        return settings, i
    return settings, -1


def _ecg_column(names: list[str]) -> int | None:
    for k, n in enumerate(names):
        if _ECG_NAME.match(n):
            return k
    return None


def _time_column(names: list[str]) -> tuple[int, float] | None:
    for k, n in enumerate(names):
        key = n.lower().replace(" ", "")
        if key in _TIME_COLUMNS:
            return k, _TIME_COLUMNS[key]
    return None


def _rate(path: Path, ecg_name: str, settings: dict[str, str]) -> tuple[float, str] | None:
    """The sampling rate in Hz and where it came from, by rules 2-4 of the module docstring."""
    m = _HZ.search(ecg_name)
    if m:
        return float(m.group(1)), f"column name {ecg_name!r}"
    for key in _RATE_KEYS:
        if key in settings:
            m = re.match(r"^(\d+(?:\.\d+)?)\s*(hz)?$", settings[key].strip(), re.IGNORECASE)
            if not m:
                raise FormatError(f"{path}: comment {key} must be a rate in Hz, got {settings[key]!r}")
            return float(m.group(1)), f"comment {key}"
    found = _HZ.findall(Path(path).stem)
    if found:
        return float(found[-1]), f"file name {Path(path).name!r}"
    return None


def sniff(path: Path, head: bytes) -> int:
    """50 for a text table with an ECG column and a sampling rate, 25 with an ECG column only."""
    try:
        text = head.decode("utf-8-sig", errors="strict") if b"\x00" not in head else ""
    except UnicodeDecodeError:
        return 0
    try:
        lines = text.splitlines()
        settings, h = _comments_and_header(lines)
        if h < 0:
            return 0
        _, names = split_header(lines[h])
        k = _ecg_column(names)
        if k is None:
            return 0
        if _time_column(names) is not None or _rate(Path(path), names[k], settings) is not None:
            return 50
        return 25
    except Exception:
        return 0


def _start(path: Path, settings: dict[str, str]) -> tuple[datetime, bool]:
    if "start" not in settings:
        return UNKNOWN_START, False
    text = settings["start"].strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"{path}: comment start must be an ISO 8601 date and time, got {text!r}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise FormatError(f"{path}: comment start must include its UTC offset (e.g. +02:00), got {text!r}")
    return when.astimezone(timezone.utc), True


def _read(path: Path) -> Recording:
    lines = read_lines(path, "an ECG table")
    settings, h = _comments_and_header(lines)
    if h < 0:
        raise FormatError(f"{path}: no header line (expected column names such as ECG)")
    sep, names = split_header(lines[h])
    k = _ecg_column(names)
    if k is None:
        raise FormatError(f"{path} line {h + 1}: no ECG column (a column named ecg, ECG or ECG_<rate>Hz), got {names}")
    time_col = _time_column(names)
    forced_fs = options().fs_hz
    rate = (float(forced_fs), "--fs") if forced_fs else None if time_col else _rate(path, names[k], settings)
    if forced_fs and time_col:
        time_col = None  # --fs wins over the time column

    if time_col is None and rate is None:
        raise FormatError(
            f"{path}: cannot tell the ECG sampling rate; add a time column (time_s or time_ms), "
            f"name the ECG column like ECG_250Hz, add a comment line '# fs_hz = 250', "
            f"put the rate in the file name (e.g. ecg_250hz.csv), or give it with --fs"
        )
    start, start_known = _start(path, settings)

    need = max(k, time_col[0] if time_col else 0)
    ecg: list[float] = []
    times: list[float] = []
    sample_lines: list[int] = []
    for i in range(h + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split(sep)
        check_row_width(path, i + 1, cells, len(names), sep)
        if len(cells) <= need:
            raise FormatError(f"{path} line {i + 1}: expected at least {need + 1} columns, got {len(cells)}")
        ecg.append(number(cells[k].strip().strip('"'), path, i + 1, names[k]))
        sample_lines.append(i + 1)
        if time_col:
            times.append(number(cells[time_col[0]].strip().strip('"'), path, i + 1, names[time_col[0]]))

    x = np.asarray(ecg, dtype=float)
    sample_t = None
    frame_notes: list[str] = []
    if time_col:
        if len(times) < 2:
            raise FormatError(f"{path}: needs at least two samples to tell the sampling rate, got {len(times)}")
        t = np.asarray(times, dtype=float) * time_col[1]
        if np.any(np.diff(t) == 0) and not np.any(np.diff(t) < 0):
            from .polar_ecg import spread_frames

            t = spread_frames(path, t, sample_lines, frame_notes)
        step = np.diff(t)
        bad = np.flatnonzero(step <= 0)
        if bad.size:
            raise FormatError(f"{path}: {names[time_col[0]]} must increase from sample to sample, "
                              f"row {bad[0] + 2} has {times[bad[0] + 1]!r} after {times[bad[0]]!r}")
        fs = 1.0 / float(np.median(step))
        rate_source = f"time column {names[time_col[0]]!r}"
        sample_t = t - t[0]
    else:
        fs, rate_source = rate  # type: ignore[misc]

    lname = names[k].lower()
    if "uv" in lname or "µv" in lname or "microv" in lname:
        units = "uV"
    elif "mv" in lname:
        x = x * 1000.0
        units = "uV (converted from mV)"
    else:
        units = "unknown (as in the file)"
    meta = {"ecg_column": names[k], "ecg_fs_source": rate_source}
    if time_col and frame_notes:
        meta["import_notes"] = frame_notes
    meta.update({"clock": CLOCK_UTC} if start_known else {"start_unknown": True})
    return ecg_to_recording(x, fs, start, meta, sample_t_s=sample_t, units=units)


def read(path: Path) -> Recording:
    """Import a generic ECG table (see the module docstring for the rules).

    Parameters
    ----------
    path : path-like
        The CSV/TSV file.

    Returns
    -------
    Recording
        Beats from R-peak detection, the ECG in ``Recording.ecg`` (when not too long).

    Raises
    ------
    FormatError
        When the file has no ECG column, no sampling rate, or a value that is not a number; the
        message names the line.
    """
    path = Path(path)
    with foreign_errors(path, "ECG table", (ValueError, OverflowError)):  # numbers or dates outside what can be represented
        return _read(path)


FORMAT = Format(
    name="ecg-csv",
    description="ECG table (CSV) with a time column or its sampling rate in a column or file name",
    sniff=sniff,
    read=read,
    options=("fs_hz",),
)
