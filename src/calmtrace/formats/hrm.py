"""Polar ``.hrm`` files (Polar Precision Performance / ProTrainer exports of S- and RS-series
watches), after Polar's "HRM File Format Description" (version 1.4, 2009).

An INI-like text file. Read here:

``[Params]``
    ``Version``, ``Monitor`` (watch model code), ``Date`` (``yyyymmdd``), ``StartTime``
    (``hh:mm:ss.s``), ``Length`` and ``Interval``: the recording interval in seconds, or ``238``
    for R-R recording, in which case ``[HRData]`` holds one RR interval in ms per line.
``[Note]``
    Free text, kept as ``meta["note"]``.
``[IntTimes]``
    Laps. Each lap takes several lines (five from version 1.06 on); its first line starts with the
    lap time, ``hh:mm:ss.s`` since the start. Lap *i* becomes an event from the previous lap time
    to its own, labelled ``lap i`` (or ``lap i: <note>`` from ``[IntNotes]``), of kind ``note``
    unless the note names another kind (:func:`~calmtrace.formats.events_file.infer_kind`).
    Lap times that do not increase are lap *durations* (a known writer bug): read as durations
    when they add up to no more than the recording, else refused naming the line; noted either way.
``[HRData]``
    R-R mode: the first number of each line is an RR interval in ms; beat times are their running
    sum from the start. Other modes: the first number is the heart rate in bpm every ``Interval``
    seconds; those become device HR samples (0, no reading, is skipped) and there are no beats.

The start is ``Date`` + ``StartTime`` on the watch's clock, local time with no UTC offset in the
file: it is taken as UTC and ``meta["clock"]`` says so. RR intervals must be positive and at most
60 s; an interval of 0 or less, or text, is a :class:`~calmtrace.errors.FormatError` naming the
file and the line. Implausible but positive intervals are kept for the cleaning step to flag.
The file shows no missing data, so there are no gaps.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, where
from ..events import Event, Events
from ..recording import Recording
from . import Format
from ._text import CLOCK_LOCAL_AS_UTC, build_recording, head_lines, number, read_lines, rr_value, safe_sniff
from ._evidence import add_note
from .events_file import infer_kind

__all__ = ["FORMAT", "read", "sniff", "MONITORS", "RR_INTERVAL_CODE"]

#: ``Interval`` value that means R-R recording (HRM File Format Description 1.4, sec. 2).
RR_INTERVAL_CODE = 238

#: ``Monitor`` codes (HRM File Format Description 1.4, sec. 2).
MONITORS: dict[int, str] = {
    1: "Polar Sport Tester / Vantage XL",
    2: "Polar Vantage NV",
    3: "Polar Accurex Plus",
    4: "Polar XTrainer Plus",
    6: "Polar S520",
    7: "Polar Coach",
    8: "Polar S210",
    9: "Polar S410",
    10: "Polar S510",
    11: "Polar S610 / S610i",
    12: "Polar S710 / S710i / S720i",
    13: "Polar S810 / S810i",
    15: "Polar E600",
    20: "Polar AXN500",
    21: "Polar AXN700",
    22: "Polar S625X / S725X",
    23: "Polar S725",
    33: "Polar CS400",
    34: "Polar CS600X",
    35: "Polar CS600",
    36: "Polar RS400",
    37: "Polar RS800",
    38: "Polar RS800X",
}

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_CLOCK = re.compile(r"^(\d{1,3}):(\d{2}):(\d{2}(?:\.\d+)?)$")


@safe_sniff
def sniff(path: Path, head: bytes) -> int:
    """95 for a file starting with ``[Params]`` that has ``Interval=`` or ``Monitor=``."""
    lines = head_lines(head, 40)
    if not lines:
        return 0
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first.lower() != "[params]":
        return 0
    body = "\n".join(lines).lower()
    if "interval=" in body or "monitor=" in body:
        return 95
    return 60 if path.suffix.lower() == ".hrm" else 30


def _sections(path: Path, lines: list[str]) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    for n, text in enumerate(lines, start=1):
        m = _SECTION.match(text)
        if m:
            current = m.group(1).strip().lower()
            out.setdefault(current, [])
            continue
        if current is None:
            if text.strip():
                raise FormatError(f"{where(path, n)}: expected [Params] before any data, got {text[:60]!r}")
            continue
        out[current].append((n, text))
    return out


def _clock_s(text: str, path: Path, line: int, what: str) -> float:
    m = _CLOCK.match(text.strip())
    if not m:
        raise FormatError(f"{where(path, line)}: {what} must be hh:mm:ss.s, got {text.strip()!r}")
    h, mi, s = int(m.group(1)), int(m.group(2)), float(m.group(3))
    if mi > 59 or s >= 60:
        raise FormatError(f"{where(path, line)}: {what} is not a valid time, got {text.strip()!r}")
    return h * 3600 + mi * 60 + s


def _params(path: Path, rows: list[tuple[int, str]]) -> dict[str, tuple[int, str]]:
    params: dict[str, tuple[int, str]] = {}
    for n, text in rows:
        if "=" in text:
            k, v = text.split("=", 1)
            params[k.strip().lower()] = (n, v.strip())
    return params


def _start(path: Path, params: dict[str, tuple[int, str]]) -> datetime:
    for key in ("date", "starttime"):
        if key not in params:
            raise FormatError(f"{path}: [Params] has no {key.capitalize()}= line; the start is unknown")
    n, date = params["date"]
    if not re.fullmatch(r"\d{8}", date):
        raise FormatError(f"{where(path, n)}: Date must be yyyymmdd, got {date!r}")
    try:
        day = datetime.strptime(date, "%Y%m%d")
    except ValueError:
        raise FormatError(f"{where(path, n)}: Date is not a valid date, got {date!r}") from None
    n, st = params["starttime"]
    secs = _clock_s(st, path, n, "StartTime")
    if secs >= 86400:
        raise FormatError(f"{where(path, n)}: StartTime must be within the day, got {st!r}")
    h, rem = divmod(secs, 3600)
    mi, s = divmod(rem, 60)
    whole = int(s)
    return day.replace(hour=int(h), minute=int(mi), second=whole,
                       microsecond=int(round((s - whole) * 1e6)) % 1_000_000, tzinfo=timezone.utc)


def _first_numbers(path: Path, rows: list[tuple[int, str]], what: str) -> tuple[np.ndarray, list[int]]:
    values, lines = [], []
    for n, text in rows:
        tokens = text.split()
        if not tokens:
            continue
        values.append(number(tokens[0], path, n, what))
        lines.append(n)
    return np.array(values, dtype=float), lines


#: How much longer (s) than the recording the lap durations may add up to and still be read as
#: durations: the watch's ``Length`` and the sum of the RR intervals differ by up to a beat and the
#: lap times are written to 0.1 s, so 5 s (or 1 % of the length) covers rounding, not a lap.
LAP_SUM_SLACK_S = 5.0


def _laps(path: Path, sections: dict[str, list[tuple[int, str]]], duration_s: float, meta: dict,
          length_s: float | None = None) -> list[Event]:
    """Lap events from ``[IntTimes]``.

    Lap times are cumulative (time since the start) by the format description. Some writers put
    each lap's *duration* there instead: then lap times repeat or decrease. Such a file is read as
    durations when they add up to no more than the recording's length (plus
    :data:`LAP_SUM_SLACK_S`), else refused; a note says which.
    """
    notes: dict[int, str] = {}
    for _, text in sections.get("intnotes", []):
        m = re.match(r"^\s*(\d+)\s+(.*\S)\s*$", text)
        if m:
            notes[int(m.group(1))] = m.group(2)
    times: list[tuple[int, str, float]] = []
    for n, text in sections.get("inttimes", []):
        tokens = text.split()
        if not tokens or ":" not in tokens[0]:
            continue  # the lap's further lines: altitudes, speeds, flags
        times.append((n, tokens[0], _clock_s(tokens[0], path, n, "lap time")))
    values = [t for _, _, t in times]
    cumulative = values
    not_increasing = [k for k in range(1, len(values)) if values[k] <= values[k - 1]]
    if not_increasing:
        k = not_increasing[0]
        n, text, _ = times[k]
        total = float(np.sum(values))
        length = max(duration_s, length_s or 0.0)
        if total <= length + max(LAP_SUM_SLACK_S, 0.01 * length):
            cumulative = list(np.cumsum(values))
            add_note(meta, f"[IntTimes] lap times do not increase (line {n}: {text} after "
                           f"{times[k - 1][1]}): read as lap durations, which add up to {total:g} s of the "
                           f"{length:g} s recording", warn=True)
        else:
            raise FormatError(
                f"{where(path, n)}: lap time {text} is not after the previous lap ({times[k - 1][1]}), and read "
                f"as durations the laps add up to {total:g} s, more than the {length:g} s recording; the "
                f"[IntTimes] section is neither cumulative times nor durations"
            )
    events: list[Event] = []
    previous = 0.0
    for i, t in enumerate(cumulative, start=1):
        label = f"lap {i}: {notes[i]}" if i in notes else f"lap {i}"
        kind = infer_kind(notes[i]) if i in notes else "note"
        events.append(Event(previous, float(t) - previous, label, kind))
        previous = float(t)
    return [e for e in events if e.onset_s <= duration_s]


def read(path: Path) -> Recording:
    """Import a Polar ``.hrm`` file (see the module docstring).

    Returns
    -------
    Recording
        R-R mode: beats; other modes: device HR samples. Laps as events. ``meta``: ``model``
        (from ``Monitor``), ``monitor_code``, ``hrm_version``, ``interval_s`` or ``rr_mode``,
        ``length_s``, ``note``, ``clock``.

    Raises
    ------
    FormatError
        Missing ``[Params]``/``[HRData]``, an unreadable value, or a non-positive RR interval,
        naming the file and line.
    """
    path = Path(path)
    lines = read_lines(path, "a Polar .hrm file")
    sections = _sections(path, lines)
    if "params" not in sections:
        raise FormatError(f"{path}: no [Params] section; not a Polar .hrm file")
    if "hrdata" not in sections:
        raise FormatError(f"{path}: no [HRData] section; the file holds no heart data")
    params = _params(path, sections["params"])
    start = _start(path, params)
    if "interval" not in params:
        raise FormatError(f"{path}: [Params] has no Interval= line")
    n_int, interval_text = params["interval"]
    interval = number(interval_text, path, n_int, "Interval")
    meta: dict = {"source_file": path.name, "clock": CLOCK_LOCAL_AS_UTC}
    if "version" in params:
        meta["hrm_version"] = params["version"][1]
    if "monitor" in params:
        code = params["monitor"][1]
        meta["monitor_code"] = code
        if code.isdigit() and int(code) in MONITORS:
            meta["model"] = MONITORS[int(code)]
    if "length" in params:
        n, text = params["length"]
        meta["length_s"] = _clock_s(text, path, n, "Length")
    note = "\n".join(t for _, t in sections.get("note", []) if t.strip()).strip()
    if note:
        meta["note"] = note

    if interval == RR_INTERVAL_CODE:
        meta["rr_mode"] = True
        rr, rr_lines = _first_numbers(path, sections["hrdata"], "RR interval")
        for v, n in zip(rr, rr_lines):
            rr_value(v, path, n, "RR interval")
        t_s = np.cumsum(rr) / 1000.0
        duration = float(t_s[-1]) if t_s.size else 0.0
        events = Events(_laps(path, sections, duration, meta, meta.get("length_s")))
        return build_recording(path, start, t_s=t_s, rr_ms=rr, events=events, meta=meta)

    if not (interval > 0 and interval <= 3600 and interval == int(interval)):
        raise FormatError(f"{where(path, n_int)}: Interval must be 238 (R-R) or a sampling interval "
                          f"of 1-3600 s, got {interval_text!r}")
    meta["interval_s"] = float(interval)
    hr, hr_lines = _first_numbers(path, sections["hrdata"], "heart rate")
    for v, n in zip(hr, hr_lines):
        if not 0 <= v <= 300:
            raise FormatError(f"{where(path, n)}: heart rate must be 0-300 bpm, got {v:g}")
    t = np.arange(hr.size) * float(interval)
    keep = hr > 0
    hr_df = pd.DataFrame({"t_s": t[keep], "hr_bpm": hr[keep], "contact": ["unsupported"] * int(keep.sum())})
    duration = float(t[-1]) if t.size else 0.0
    events = Events(_laps(path, sections, duration, meta, meta.get("length_s")))
    return build_recording(path, start, hr=hr_df, events=events, meta=meta)


FORMAT = Format(
    name="hrm",
    description="Polar .hrm files ([Params], [IntTimes] laps as events, [HRData] RR or HR)",
    sniff=sniff,
    read=read,
)
