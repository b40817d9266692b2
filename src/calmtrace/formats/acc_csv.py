"""Acceleration files: calmtrace's own ``acc.csv``, Polar Sensor Logger ACC exports, generic CSV.

Acceleration is not a recording of beats, so these files are read beside one (``calmtrace day REC
--acc FILE``) into a table ``t_s`` (s since the recording's start), ``x_mg``, ``y_mg``, ``z_mg``
(mg). Layouts, recognised by their header:

=================== ===============================================================================
calmtrace           ``t_s,x_mg,y_mg,z_mg`` (the ``acc.csv`` of a recording folder; already on its
                    clock)
Polar Sensor Logger ``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]``. Sample spacing
                    comes from the sensor timestamps; they are placed on the phone clock (taken as
                    UTC when it has no offset, as the beat importer does) by the median of phone
                    minus sensor time over the first 200,000 rows, which cancels the batching
                    delay of the phone timestamps.
generic CSV         a time column (``t_s``, ``time_s``, ``seconds``: s since the recording's start;
                    ``time``, ``timestamp``, ``datetime``: ISO date-times, or Unix seconds / ms)
                    and three axis columns whose names end in ``x``, ``y``, ``z`` (optionally with
                    a unit: ``[g]``, ``_g``, ``[mg]``, ``_mg``, ``m/s2``). Without a unit the
                    scale is guessed from the median vector norm (about 1: g, about 1000: mg,
                    about 9.8: m/s^2) and the guess is recorded in ``attrs["guesses"]``.
=================== ===============================================================================

Errors name the file, the line and the problem. The ``acc.csv`` of a capture that was killed (its
``recording.json`` still says ``"complete": false``) may end in a line the kill cut short; that
line is dropped, as the recording folder's reader does with its own files, and the drop recorded in
``attrs["guesses"]``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError, InputError
from ._text import device_datetime

__all__ = ["read_acc", "ACC_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns of an acceleration table.
ACC_COLUMNS = ("t_s", "x_mg", "y_mg", "z_mg")

_G_MS2 = 9.80665
#: Phone timestamps read to place a Polar Sensor Logger file's sensor clock (about 2 h at 25 Hz).
_PHONE_ROWS = 200_000
_AXIS_NAMES = ("x_mg", "y_mg", "z_mg", "x [mg]", "y [mg]", "z [mg]")


def _sep(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ("\t" if "\t" in header else ",")


def _numeric(df: pd.DataFrame, col: str, path: Path, header_lines: int = 1) -> np.ndarray:
    if df[col].dtype.kind == "f" and not df[col].isna().any():
        return df[col].to_numpy()
    v = pd.to_numeric(df[col], errors="coerce")
    bad = v.isna().to_numpy() | ~np.isfinite(v.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FormatError(f"{path} line {i + 1 + header_lines}: {col} must be a number, got {df[col].iloc[i]!r}")
    return v.to_numpy(dtype=float)


def _unit_scale(name: str) -> float | None:
    n = name.lower().replace(" ", "")
    if re.search(r"(\[mg\]|_mg$|\(mg\))", n):
        return 1.0
    if re.search(r"(\[g\]|_g$|\(g\))", n):
        return 1000.0
    if re.search(r"m/s\^?2|m/s²|ms-2|_ms2", n):
        return 1000.0 / _G_MS2
    return None


def read_acc(path: str | Path, start: datetime) -> pd.DataFrame:
    """Read an acceleration file onto a recording's clock.

    Parameters
    ----------
    path : path-like
        A calmtrace ``acc.csv``, a Polar Sensor Logger ACC file or a generic CSV (module docstring).
    start : datetime
        Timezone-aware start of the recording (its ``t_s = 0``).

    Returns
    -------
    pandas.DataFrame
        ``t_s`` (float64), ``x_mg``, ``y_mg``, ``z_mg`` (float32), sorted by time;
        ``attrs`` has ``layout``, ``source`` and ``guesses`` (list of str).

    Raises
    ------
    FormatError
        On an unreadable file, a missing column or a bad value (file and line named).
    InputError
        On a naive ``start``.
    """
    path = Path(path)
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise InputError(f"read_acc: start must be a timezone-aware datetime, got {start!r}")
    try:
        with open(path, "r", encoding="utf-8-sig", errors="strict") as fh:
            header = fh.readline().strip()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not a text acceleration file") from None
    if not header:
        raise FormatError(f"{path}: empty file, expected an acceleration table with a header")
    cut_short = _cut_short(path)
    sep = _sep(header)
    names = [c.strip() for c in header.split(sep)]
    # fast path: axes as float32 and times as float64 straight from the C parser (a week at 25 Hz
    # is 15 million rows: strings would take gigabytes); on any bad value the file is read again
    # as text so that the error can name the line
    dtypes = {c: "float32" for c in names if c.lower() in _AXIS_NAMES}
    dtypes.update({c: "float64" for c in names if c.lower() in ("t_s", "time_s", "seconds")})
    low_names = {c.lower(): c for c in names}
    psl = "phone timestamp" in low_names and {"x [mg]", "y [mg]", "z [mg]"} <= set(low_names)
    # Polar Sensor Logger: the phone timestamps (text) are only needed to place the sensor clock,
    # so the fast path reads them for the first rows only
    usecols = [c for c in names if c and c.lower() != "phone timestamp"] if psl else None
    df = None
    try:
        df = pd.read_csv(path, sep=sep, dtype=dtypes, encoding="utf-8-sig", skipinitialspace=True,
                         on_bad_lines="error", engine="c", usecols=usecols)
        df = df.iloc[:-1] if cut_short else df
        if any(df[c].isna().any() for c in dtypes if c in df.columns):
            df = None
    except (pd.errors.ParserError, ValueError, KeyError):
        df = None
    if df is None:
        try:
            df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                             skipinitialspace=True, on_bad_lines="error")
            df = df.iloc[:-1] if cut_short else df
        except (pd.errors.ParserError, ValueError) as exc:
            raise FormatError(f"{path}: not a readable acceleration table ({' '.join(str(exc).split())})") from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, [c for c in df.columns if c and not c.startswith("Unnamed")]]
    if len(df) == 0:
        raise FormatError(f"{path}: no samples after the header")
    lower = {c.lower(): c for c in df.columns}
    guesses: list[str] = ["the last line, cut short by an interrupted capture, was dropped"] if cut_short else []
    if {"t_s", "x_mg", "y_mg", "z_mg"} <= set(lower):
        layout = "calmtrace acc.csv"
        t = _numeric(df, lower["t_s"], path)
        xyz = [_numeric(df, lower[c], path) for c in ("x_mg", "y_mg", "z_mg")]
    elif psl:
        layout = "Polar Sensor Logger ACC"
        xyz = [_numeric(df, lower[c], path) for c in ("x [mg]", "y [mg]", "z [mg]")]
        phone_name = low_names["phone timestamp"]

        def phone_seconds(nrows: int | None) -> np.ndarray:
            if phone_name in df.columns:
                col = df[phone_name] if nrows is None else df[phone_name].iloc[:nrows]
            else:
                col = pd.read_csv(path, sep=sep, usecols=[phone_name], dtype=str, keep_default_na=False,
                                  encoding="utf-8-sig", skipinitialspace=True, nrows=nrows)[phone_name]
            return _clock_seconds(col, path, start, "Phone timestamp")

        sensor_col = lower.get("sensor timestamp [ns]")
        sensor = _numeric(df, sensor_col, path) / 1e9 if sensor_col else None
        if sensor is not None and np.all(sensor > 0) and np.all(np.diff(sensor) > 0):
            rel = sensor - sensor[0]
            phone = phone_seconds(_PHONE_ROWS)
            t = rel + float(np.median(phone - rel[: phone.size]))
        else:
            t = phone_seconds(None)
            guesses.append("sensor timestamps missing or not increasing: phone timestamps used")
    else:
        layout = "generic CSV"
        tcol = next((lower[c] for c in ("t_s", "time_s", "seconds", "time", "timestamp", "datetime", "date_time")
                     if c in lower), None)
        axes = {}
        for axis in ("x", "y", "z"):
            cand = [c for c in df.columns if re.sub(r"[\s_]*(\[.*\]|\(.*\)|_?mg|_?g|_?ms2)$", "", c.lower())
                    .endswith(axis) and c != tcol]
            if not cand:
                raise FormatError(f"{path}: no {axis} axis column; expected a header like "
                                  "'t_s,x_mg,y_mg,z_mg' or 'time,x,y,z'")
            axes[axis] = cand[0]
        if tcol is None:
            raise FormatError(f"{path}: no time column (t_s, time_s, seconds, time, timestamp or datetime)")
        raw = [_numeric(df, axes[a], path) for a in ("x", "y", "z")]
        scales = {_unit_scale(axes[a]) for a in ("x", "y", "z")}
        scale = scales.pop() if len(scales) == 1 else None
        if scale is None:
            norm = float(np.median(np.sqrt(raw[0] ** 2 + raw[1] ** 2 + raw[2] ** 2)))
            if 0.5 <= norm <= 2.0:
                scale = 1000.0
                guesses.append(f"axis unit not named; median norm {norm:.2f}: taken as g")
            elif 5.0 <= norm <= 20.0:
                scale = 1000.0 / _G_MS2
                guesses.append(f"axis unit not named; median norm {norm:.2f}: taken as m/s^2")
            elif 500.0 <= norm <= 2000.0:
                scale = 1.0
                guesses.append(f"axis unit not named; median norm {norm:.0f}: taken as mg")
            else:
                raise FormatError(f"{path}: axis unit not named and the median norm {norm:.3g} fits none of "
                                  "g, mg or m/s^2; name it in the header (e.g. x [mg])")
        xyz = [a * scale for a in raw]
        tl = tcol.lower()
        if tl in ("t_s", "time_s", "seconds"):
            t = _numeric(df, tcol, path)
        else:
            num = pd.to_numeric(df[tcol], errors="coerce")
            if num.notna().all():
                v = num.to_numpy(dtype=float)
                if np.nanmedian(v) > 1e11:
                    v = v / 1000.0
                    guesses.append(f"{tcol}: numbers above 1e11 taken as Unix milliseconds")
                elif np.nanmedian(v) > 1e8:
                    guesses.append(f"{tcol}: numbers taken as Unix seconds")
                else:
                    raise FormatError(f"{path}: {tcol} holds small numbers; name the column t_s for seconds "
                                      "since the recording's start")
                t = v - start.timestamp()
            else:
                t = _clock_seconds(df[tcol], path, start, tcol)
    del df
    out = pd.DataFrame({"t_s": np.asarray(t, float), "x_mg": np.asarray(xyz[0], np.float32),
                        "y_mg": np.asarray(xyz[1], np.float32), "z_mg": np.asarray(xyz[2], np.float32)})
    if not out["t_s"].is_monotonic_increasing:
        out = out.sort_values("t_s", kind="stable").reset_index(drop=True)
        guesses.append("samples were out of time order and were sorted")
    out.attrs = {"layout": layout, "source": str(path), "guesses": guesses}
    for g in guesses:
        log.info("%s: %s", path, g)
    return out


def _cut_short(path: Path) -> bool:
    """True when ``path`` does not end in a newline and sits in a recording folder whose capture did
    not finish (``recording.json`` with ``"complete": false``): its last line may be cut short."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            if fh.tell() == 0:
                return False
            fh.seek(-1, 2)
            if fh.read(1) == b"\n":
                return False
        header = json.loads((path.parent / "recording.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and header.get("complete") is False


def _clock_seconds(col: pd.Series, path: Path, start: datetime, what: str) -> np.ndarray:
    """Seconds since ``start`` of date-time strings (no offset: the clock taken as UTC)."""
    # utc=True: a stated offset is honoured, a time without one is taken as UTC (like the beats)
    try:
        parsed = pd.to_datetime(col, errors="coerce", format="ISO8601", utc=True)
    except (ValueError, TypeError):
        parsed = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        device_datetime(str(col.iloc[i]), path, i + 2, what)  # raises with the line
        raise FormatError(f"{path} line {i + 2}: {what} must be a date and time, got {col.iloc[i]!r}")
    naive = parsed.dt.tz_convert(None)
    # the resolution of the datetime64 unit differs between pandas 2 (ns) and 3 (us): ask it
    unit = np.datetime_data(naive.to_numpy().dtype)[0]
    per_s = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    ns = naive.to_numpy().astype("int64")
    st = start.astimezone(timezone.utc).timestamp()
    return ns / per_s - st if math.isfinite(st) else ns / per_s
