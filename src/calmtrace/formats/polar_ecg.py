"""Polar H10 ECG exports: ECGLogger CSV and Polar Sensor Logger ``*_ECG.txt``.

**ECGLogger** (comma separated; header ``time,ecg,hr,rr``): ``time`` is the sample's time in
nanoseconds since 1970-01-01 UTC, ``ecg`` the ECG in millivolts (converted here to µV), and on the
rows where the strap sent a Heart Rate Measurement its ``hr`` (bpm) and ``rr`` (ms) values,
several RR values on consecutive rows when one notification carried several.

**Polar Sensor Logger** (semicolon separated; header
``Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]``): the phone's clock time
(local, without a zone), the strap's own time stamp in ns, ms since the first sample and the ECG
in µV. Sample times come from the strap's time stamps. The phone time of the first sample is the
start; its time zone is not in the file, so it is read as UTC and ``meta["clock"]`` says so.

Beats are the R-peaks of the ECG (:func:`calmtrace.signals.ecg.ecg_to_recording`), never the
strap's RR values. ECGLogger's ``hr`` values become ``Recording.hr``; its ``rr`` values are
compared with the detected beats: ``meta["device_rr_count"]`` and ``meta["device_rr_agreement_pct"]``,
the share of the strap's RR values matched by a detected interval (see :func:`rr_agreement`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CalmtraceError, FormatError
from ..recording import Recording
from ..signals.ecg import ecg_to_recording
from . import Format
from ._text import CLOCK_LOCAL_AS_UTC, CLOCK_UTC, read_lines
from ._evidence import check_row_width
from .ecg_csv import split_header

__all__ = ["FORMAT", "read", "sniff", "rr_agreement"]

_PSL_HEADER = ["phone timestamp", "sensor timestamp [ns]", "timestamp [ms]", "ecg [uv]"]
_ECGLOGGER_REQUIRED = ["time", "ecg"]
#: Largest difference between a strap RR value and a detected interval that still counts as
#: agreement, ms: two ECG sample periods at the H10's 130 Hz (15.4 ms) plus the 1/1024 s
#: resolution of Bluetooth RR values (Heart Rate Service spec), rounded up.
RR_MATCH_MS = 20.0
#: How long before the row carrying a strap RR value its beat may lie, s: the H10 sends a Heart
#: Rate Measurement about once a second, with the RR values of the beats since the last one.
RR_SEARCH_S = 3.0


def _layout(line: str) -> str | None:
    sep, names = split_header(line)
    low = [n.lower() for n in names]
    if sep == ";" and [n for n in low if n][:4] == _PSL_HEADER:
        return "polar-sensor-logger"
    if sep == "," and low[:2] == _ECGLOGGER_REQUIRED and set(low) <= {"time", "ecg", "hr", "rr"}:
        return "ecglogger"
    return None


def sniff(path: Path, head: bytes) -> int:
    """95 for a Polar Sensor Logger ECG header, 90 for an ECGLogger header, else 0."""
    try:
        first = head.decode("utf-8-sig").splitlines()[0] if head else ""
    except (UnicodeDecodeError, IndexError):
        return 0
    try:
        kind = _layout(first)
    except Exception:
        return 0
    return {"polar-sensor-logger": 95, "ecglogger": 90}.get(kind or "", 0)


def rr_agreement(beat_t_s: np.ndarray, beat_rr_ms: np.ndarray, device_t_s: np.ndarray,
                 device_rr_ms: np.ndarray) -> float:
    """Share of the strap's RR values that a detected interval matches, in %.

    A strap value reported at ``device_t_s`` matches when a detected interval ending in the
    :data:`RR_SEARCH_S` before it (or up to 50 ms after: the row's time is the sample nearest the
    notification) differs by at most :data:`RR_MATCH_MS`.

    Parameters
    ----------
    beat_t_s, beat_rr_ms : arrays of float
        Detected beats (s) and the intervals they close (ms).
    device_t_s, device_rr_ms : arrays of float
        Time (s) of the row carrying each strap RR value, and the value (ms).

    Returns
    -------
    float
        Percentage, NaN when the strap sent no RR values.
    """
    if len(device_rr_ms) == 0:
        return float("nan")
    lo = np.searchsorted(beat_t_s, np.asarray(device_t_s) - RR_SEARCH_S, side="left")
    hi = np.searchsorted(beat_t_s, np.asarray(device_t_s) + 0.05, side="right")
    hits = 0
    for a, b, r in zip(lo, hi, device_rr_ms):
        if b > a and np.min(np.abs(beat_rr_ms[a:b] - r)) <= RR_MATCH_MS:
            hits += 1
    return 100.0 * hits / len(device_rr_ms)


def _cell(path: Path, line_no: int, name: str, cell: str, *, integer: bool = False, empty_ok: bool = False):
    s = cell.strip().strip('"')
    if s == "" and empty_ok:
        return None
    try:
        v = int(s) if integer else float(s)
    except ValueError:
        raise FormatError(f"{path} line {line_no}: {name} must be a number, got {s[:40]!r}") from None
    if integer and not -(2**63) < v < 2**63:
        raise FormatError(f"{path} line {line_no}: {name} must fit in 64 bits (ns time stamp), got {s[:40]!r}")
    if not integer and not np.isfinite(v):
        raise FormatError(f"{path} line {line_no}: {name} must be a finite number, got {s!r}")
    return v


def _check_increasing(path: Path, t: np.ndarray, line_nos: list[int], name: str) -> None:
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        raise FormatError(f"{path} line {line_nos[bad[0] + 1]}: {name} must increase from sample to sample")


def _fs(path: Path, t_s: np.ndarray) -> float:
    if len(t_s) < 2:
        raise FormatError(f"{path}: needs at least two ECG samples, got {len(t_s)}")
    return 1.0 / float(np.median(np.diff(t_s)))


def spread_frames(path: Path, t: np.ndarray, line_nos: list[int], notes: list[str]) -> np.ndarray:
    """Sample times for an ECG whose samples carry one time stamp per Bluetooth frame.

    Loggers that write the frame's time on every sample of it (73 samples of a Polar H10 PMD frame
    at 130 Hz) give runs of equal times. The samples of a frame are spread at the nominal rate,
    ending at the frame's stamp: a PMD frame's time stamp is that of its last sample (Polar BLE
    SDK, PMD "Measurement data" frame). The nominal rate is the median of the frames' own rates
    (samples in a frame over the step to the next stamp); ``--fs`` sets it.

    Raises
    ------
    FormatError
        When stamps go back, or frames are too few to tell the rate.
    """
    from ._evidence import options

    starts = np.r_[0, np.flatnonzero(np.diff(t) != 0) + 1]
    stamps = t[starts]
    counts = np.diff(np.r_[starts, t.size])
    back = np.flatnonzero(np.diff(stamps) < 0)
    if back.size:
        raise FormatError(f"{path} line {line_nos[starts[back[0] + 1]]}: time goes back from one frame to the next")
    forced = options().fs_hz
    if forced:
        fs = float(forced)
        how = "set by --fs"
    else:
        if stamps.size < 3:
            raise FormatError(f"{path}: samples share time stamps and there are too few frames to tell the sampling "
                              f"rate; give it with --fs")
        fs = float(np.median(counts[:-1] / np.diff(stamps)))
        how = "the median rate of the frames (samples per frame over the step between frame stamps)"
    out = np.concatenate([stamps[k] - (np.arange(c)[::-1]) / fs for k, c in enumerate(counts)])
    notes.append(f"samples share one time stamp per Bluetooth frame ({int(np.median(counts))} samples a frame, "
                 f"{stamps.size} frames): spread at {fs:.2f} Hz ({how}), each frame ending at its stamp")
    # a frame spread at the nominal rate may reach back past the previous frame's end by jitter:
    # keep the order of samples, which is the truth, by clipping to just after the previous one
    for k in range(1, out.size):
        if out[k] <= out[k - 1]:
            out[k] = out[k - 1] + 1e-6
    return out


def _read_ecglogger(path: Path, lines: list[str], header: int) -> Recording:
    _, names = split_header(lines[header])
    col = {n.lower(): k for k, n in enumerate(names)}
    ns: list[int] = []
    ecg: list[float] = []
    line_nos: list[int] = []
    hr_rows: list[tuple[int, float]] = []
    rr_rows: list[tuple[int, float]] = []
    for i in range(header + 1, len(lines)):
        if not lines[i].strip():
            continue
        cells = lines[i].split(",")
        if len(cells) != len(names):
            raise FormatError(f"{path} line {i + 1}: expected {len(names)} columns, got {len(cells)}")
        ns.append(_cell(path, i + 1, "time", cells[col["time"]], integer=True))
        ecg.append(_cell(path, i + 1, "ecg", cells[col["ecg"]]))
        line_nos.append(i + 1)
        for key, rows in (("hr", hr_rows), ("rr", rr_rows)):
            if key in col:
                v = _cell(path, i + 1, key, cells[col[key]], empty_ok=True)
                if v is not None:
                    if v <= 0:
                        raise FormatError(f"{path} line {i + 1}: {key} must be positive, got {v!r}")
                    rows.append((len(ns) - 1, v))
    if not ns:
        raise FormatError(f"{path}: no samples after the header")
    ns_arr = np.asarray(ns, dtype=object)
    rel_ns = np.array([int(v - ns[0]) for v in ns_arr], dtype=float)
    t = rel_ns / 1e9
    notes: list[str] = []
    if np.any(np.diff(t) == 0):
        t = spread_frames(path, t, line_nos, notes)
    _check_increasing(path, t, line_nos, "time")
    try:
        start = datetime.fromtimestamp(ns[0] // 1_000_000_000, tz=timezone.utc) + timedelta(
            microseconds=(ns[0] % 1_000_000_000) // 1000)
    except (OverflowError, OSError, ValueError):
        raise FormatError(f"{path} line {line_nos[0]}: time must be ns since 1970-01-01 UTC, got {ns[0]!r}") from None
    hr = None
    if hr_rows:
        hr = pd.DataFrame({"t_s": [t[k] for k, _ in hr_rows], "hr_bpm": [v for _, v in hr_rows]})
    meta = {"model": "Polar H10", "source_app": "ECGLogger", "clock": CLOCK_UTC}
    if notes:
        meta["import_notes"] = notes
    rec = ecg_to_recording(np.asarray(ecg) * 1000.0, _fs(path, t), start, meta, sample_t_s=t, hr=hr,
                           units="uV (converted from mV)")
    dev_t = np.array([t[k] for k, _ in rr_rows], float)
    dev_rr = np.array([v for _, v in rr_rows], float)
    rec.meta["device_rr_count"] = int(len(dev_rr))
    agree = rr_agreement(rec.t_s, rec.rr_ms, dev_t, dev_rr)
    rec.meta["device_rr_agreement_pct"] = None if np.isnan(agree) else round(agree, 2)
    return rec


def _read_psl(path: Path, lines: list[str], header: int) -> Recording:
    ns: list[int] = []
    ecg: list[float] = []
    line_nos: list[int] = []
    phone_first = None
    for i in range(header + 1, len(lines)):
        if not lines[i].strip():
            continue
        cells = lines[i].split(";")
        if len(cells) < 4:
            raise FormatError(f"{path} line {i + 1}: expected 4 columns, got {len(cells)}")
        check_row_width(path, i + 1, cells, len([c for c in lines[header].split(";") if c.strip()]), ";")
        if phone_first is None:
            phone_first = (i + 1, cells[0].strip())
        ns.append(_cell(path, i + 1, "sensor timestamp [ns]", cells[1], integer=True))
        ecg.append(_cell(path, i + 1, "ecg [uV]", cells[3]))
        line_nos.append(i + 1)
    if phone_first is None:
        raise FormatError(f"{path}: no samples after the header")
    try:
        local = datetime.fromisoformat(phone_first[1])
    except ValueError:
        raise FormatError(
            f"{path} line {phone_first[0]}: Phone timestamp must be a date and time like "
            f"2022-04-25T11:39:36.978, got {phone_first[1]!r}"
        ) from None
    start = local if local.tzinfo is not None else local.replace(tzinfo=timezone.utc)
    t = np.array([float(v - ns[0]) for v in ns]) / 1e9
    notes: list[str] = []
    if np.any(np.diff(t) == 0):
        t = spread_frames(path, t, line_nos, notes)
    _check_increasing(path, t, line_nos, "sensor timestamp [ns]")
    meta = {
        "model": "Polar H10",
        "source_app": "Polar Sensor Logger",
        "clock": CLOCK_LOCAL_AS_UTC if local.tzinfo is None else CLOCK_UTC,
    }
    if notes:
        meta["import_notes"] = notes
    return ecg_to_recording(np.asarray(ecg), _fs(path, t), start, meta, sample_t_s=t, units="uV")


def read(path: Path) -> Recording:
    """Import a Polar H10 ECG export (ECGLogger CSV or Polar Sensor Logger ECG).

    Parameters
    ----------
    path : path-like
        The ``.csv``/``.txt`` file.

    Returns
    -------
    Recording
        Beats from R-peak detection, the ECG in µV, ECGLogger's ``hr`` as device HR samples.

    Raises
    ------
    FormatError
        When the header is neither layout or a cell is not a number; the message names the line.
    """
    path = Path(path)
    lines = read_lines(path, "a Polar ECG export")
    header = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if header is None:
        raise FormatError(f"{path}: empty file")
    kind = _layout(lines[header])
    try:
        if kind == "ecglogger":
            return _read_ecglogger(path, lines, header)
        if kind == "polar-sensor-logger":
            return _read_psl(path, lines, header)
    except FormatError:
        raise
    except CalmtraceError as exc:
        raise FormatError(f"{path}: {exc}") from exc
    except (ValueError, OverflowError, TypeError) as exc:  # numbers or dates outside what can be represented
        raise FormatError(f"{path}: not a readable Polar ECG file ({type(exc).__name__}: {exc})") from exc
    raise FormatError(
        f"{path} line {header + 1}: expected an ECGLogger header (time,ecg,hr,rr) or a Polar Sensor "
        f"Logger ECG header ({';'.join(['Phone timestamp', 'sensor timestamp [ns]', 'timestamp [ms]', 'ecg [uV]'])}), "
        f"got {lines[header][:80]!r}"
    )


FORMAT = Format(
    name="polar-ecg",
    description="Polar H10 ECG: ECGLogger CSV or Polar Sensor Logger *_ECG.txt (beats from R-peaks)",
    sniff=sniff,
    read=read,
    options=("fs_hz",),
)
