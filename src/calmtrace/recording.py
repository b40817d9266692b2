"""Recording: beats, gaps, device heart-rate samples, ECG, events and metadata of one session.

Times are seconds since :attr:`Recording.start`, a timezone-aware UTC datetime. A beat is the
R-wave (or pulse) that *closes* an RR interval: ``t_s[i]`` is its time and ``rr_ms[i]`` the interval
that ends there. After cleaning, ``flag`` says what happened to each beat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from .errors import RecordingError
from .events import Events

__all__ = ["Recording", "BEAT_FLAGS", "GAP_REASONS", "TABLE_DTYPES", "pin_dtypes", "empty_beats", "empty_gaps",
           "empty_hr"]

#: Per-beat flags. ``ok`` until cleaning says otherwise.
BEAT_FLAGS: tuple[str, ...] = ("ok", "corrected", "ectopic", "missed", "extra", "interpolated")
#: Why a stretch of the recording has no beats.
GAP_REASONS: tuple[str, ...] = ("disconnect", "no-contact", "dropped-notification", "import", "stall")


#: The one place that fixes each table's columns and dtypes, whatever builds a Recording
#: (constructor, recording folder, importer, simulator, capture rebuild). Text columns are plain
#: ``object`` so that pandas 2 and pandas 3 (whose default string dtype is ``str``) agree.
TABLE_DTYPES: dict[str, dict[str, Any]] = {
    "beats": {"t_s": np.dtype("float64"), "rr_ms": np.dtype("float64"), "flag": np.dtype(object)},
    "gaps": {"onset_s": np.dtype("float64"), "duration_s": np.dtype("float64"), "reason": np.dtype(object)},
    "hr": {"t_s": np.dtype("float64"), "hr_bpm": np.dtype("float64"), "contact": np.dtype(object)},
    "ecg": {"t_s": np.dtype("float64"), "ecg_uv": np.dtype("float64")},
}


def pin_dtypes(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``df`` with exactly the columns of ``table`` in :data:`TABLE_DTYPES`, in their dtypes.

    Parameters
    ----------
    df : pandas.DataFrame
        A table holding at least the columns of ``table``.
    table : {"beats", "gaps", "hr", "ecg"}
        Which table's schema to apply.

    Returns
    -------
    pandas.DataFrame
        A new frame with a default RangeIndex; text columns hold Python ``str`` in ``object`` dtype.
    """
    schema = TABLE_DTYPES[table]
    return pd.DataFrame({
        c: pd.Series(np.asarray(df[c].to_numpy(), dtype=dt), dtype=dt) for c, dt in schema.items()
    })


def _empty(table: str) -> pd.DataFrame:
    return pin_dtypes(pd.DataFrame({c: [] for c in TABLE_DTYPES[table]}), table)


def empty_beats() -> pd.DataFrame:
    """An empty beats table with the right columns and dtypes."""
    return _empty("beats")


def empty_gaps() -> pd.DataFrame:
    """An empty gaps table (``onset_s``, ``duration_s``, ``reason``)."""
    return _empty("gaps")


def empty_hr() -> pd.DataFrame:
    """An empty device heart-rate table (``t_s``, ``hr_bpm``, ``contact``)."""
    return _empty("hr")


def _as_utc(start: Any) -> datetime:
    if isinstance(start, pd.Timestamp):
        start = start.to_pydatetime()
    if not isinstance(start, datetime):
        raise RecordingError(f"start must be a datetime, got {type(start).__name__} {start!r}")
    if start.tzinfo is None or start.tzinfo.utcoffset(start) is None:
        raise RecordingError(
            f"start must be timezone-aware (e.g. 2024-05-01T09:00:00+00:00), got naive {start.isoformat()}"
        )
    return start.astimezone(timezone.utc)


def _check_numeric(df: pd.DataFrame, cols: list[str], what: str) -> None:
    for c in cols:
        v = df[c].to_numpy()
        if v.dtype.kind not in "fiu":
            raise RecordingError(f"{what}: {c} must be numeric, got dtype {v.dtype}")
        bad = np.flatnonzero(~np.isfinite(v.astype(float)))
        if bad.size:
            raise RecordingError(f"{what} row {bad[0] + 1}: {c} must be a finite number, got {v[bad[0]]!r}")


@dataclass(eq=False)
class Recording:
    """One session's data, validated on construction.

    Parameters
    ----------
    start : datetime
        Timezone-aware datetime of ``t_s = 0``; stored in UTC. A naive datetime is an error.
    beats : pandas.DataFrame
        ``t_s`` (s since start, strictly increasing), ``rr_ms`` (ms, > 0) and optionally ``flag``
        (one of :data:`BEAT_FLAGS`, ``ok`` when absent).
    gaps : pandas.DataFrame, optional
        ``onset_s``, ``duration_s`` (s, >= 0) and ``reason`` (one of :data:`GAP_REASONS`).
    hr : pandas.DataFrame, optional
        Device-reported heart rate: ``t_s``, ``hr_bpm`` and ``contact`` (``yes``, ``no`` or
        ``unsupported``).
    events : Events, optional
        Labelled intervals; each must lie inside or overlap the recording.
    meta : dict, optional
        Device name, address, model, firmware, battery, subject id, source file, ``simulated``,
        software version... Must be JSON-serialisable.
    ecg : pandas.DataFrame, optional
        Raw ECG where it was streamed or imported: ``t_s`` and ``ecg_uv`` (microvolts or the
        device's own units, see ``meta["ecg_units"]``).

    Raises
    ------
    RecordingError
        On any inconsistency, with a message naming the row and the value.
    """

    start: datetime
    beats: pd.DataFrame = field(default_factory=empty_beats)
    gaps: pd.DataFrame = field(default_factory=empty_gaps)
    hr: pd.DataFrame = field(default_factory=empty_hr)
    events: Events = field(default_factory=Events)
    meta: dict = field(default_factory=dict)
    ecg: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.start = _as_utc(self.start)
        self.beats = pin_dtypes(self._check_beats(self.beats), "beats")
        self.gaps = pin_dtypes(self._check_gaps(self.gaps), "gaps")
        self.hr = pin_dtypes(self._check_hr(self.hr), "hr")
        if self.ecg is not None:
            self.ecg = pin_dtypes(self._check_ecg(self.ecg), "ecg")
        if self.events is None:
            self.events = Events()
        if not isinstance(self.events, Events):
            raise RecordingError(f"events must be an Events object, got {type(self.events).__name__}")
        self._check_events_inside()
        self.meta = dict(self.meta or {})

    # -- validation --------------------------------------------------------------------------
    @staticmethod
    def _check_beats(beats: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(beats, pd.DataFrame):
            raise RecordingError(f"beats must be a DataFrame, got {type(beats).__name__}")
        for c in ("t_s", "rr_ms"):
            if c not in beats.columns:
                raise RecordingError(f"beats: missing column {c!r} (have {list(beats.columns)})")
        b = pd.DataFrame({"t_s": beats["t_s"].to_numpy(), "rr_ms": beats["rr_ms"].to_numpy()})
        if len(b) == 0:
            b = empty_beats()
        _check_numeric(b, ["t_s", "rr_ms"], "beats")
        b["t_s"] = b["t_s"].astype("float64")
        b["rr_ms"] = b["rr_ms"].astype("float64")
        rr = b["rr_ms"].to_numpy()
        bad = np.flatnonzero(rr <= 0)
        if bad.size:
            raise RecordingError(f"beats row {bad[0] + 1}: rr_ms must be a positive number, got {rr[bad[0]]!r}")
        t = b["t_s"].to_numpy()
        bad = np.flatnonzero(np.diff(t) <= 0)
        if bad.size:
            i = bad[0] + 1
            raise RecordingError(
                f"beats row {i + 1}: t_s must be strictly increasing, got {t[i]!r} after {t[i - 1]!r}"
            )
        if "flag" in beats.columns and len(beats):
            flags = pd.Series(beats["flag"].to_numpy(), dtype=object).fillna("ok").astype(str)
            unknown = ~flags.isin(BEAT_FLAGS)
            if unknown.any():
                i = int(np.flatnonzero(unknown.to_numpy())[0])
                raise RecordingError(
                    f"beats row {i + 1}: flag must be one of {', '.join(BEAT_FLAGS)}, got {flags.iloc[i]!r}"
                )
            codes, uniq = pd.factorize(flags.to_numpy())
            b["flag"] = pd.Series(np.asarray([str(u) for u in uniq], dtype=object)[codes], dtype=object)
        else:
            b["flag"] = pd.Series(["ok"] * len(b), dtype=object)
        return b.reset_index(drop=True)

    @staticmethod
    def _check_gaps(gaps: pd.DataFrame) -> pd.DataFrame:
        if gaps is None or len(gaps) == 0:
            return empty_gaps()
        for c in ("onset_s", "duration_s", "reason"):
            if c not in gaps.columns:
                raise RecordingError(f"gaps: missing column {c!r}")
        g = gaps[["onset_s", "duration_s", "reason"]].copy()
        _check_numeric(g, ["onset_s", "duration_s"], "gaps")
        g["onset_s"] = g["onset_s"].astype("float64")
        g["duration_s"] = g["duration_s"].astype("float64")
        d = g["duration_s"].to_numpy()
        bad = np.flatnonzero(d < 0)
        if bad.size:
            raise RecordingError(f"gaps row {bad[0] + 1}: duration_s must be >= 0, got {d[bad[0]]!r}")
        reasons = g["reason"].astype(str)
        unknown = ~reasons.isin(GAP_REASONS)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise RecordingError(
                f"gaps row {i + 1}: reason must be one of {', '.join(GAP_REASONS)}, got {reasons.iloc[i]!r}"
            )
        g["reason"] = reasons.to_numpy(dtype=object)
        return g.sort_values("onset_s", kind="stable").reset_index(drop=True)

    @staticmethod
    def _check_hr(hr: pd.DataFrame) -> pd.DataFrame:
        if hr is None or len(hr) == 0:
            return empty_hr()
        for c in ("t_s", "hr_bpm"):
            if c not in hr.columns:
                raise RecordingError(f"hr: missing column {c!r}")
        h = pd.DataFrame({"t_s": hr["t_s"].to_numpy(), "hr_bpm": hr["hr_bpm"].to_numpy()})
        _check_numeric(h, ["t_s", "hr_bpm"], "hr")
        h = h.astype("float64")
        if "contact" in hr.columns:
            h["contact"] = pd.Series(hr["contact"].to_numpy(), dtype=object).fillna("unsupported").astype(str).to_numpy()
        else:
            h["contact"] = pd.Series(["unsupported"] * len(h), dtype=object)
        bad = np.flatnonzero(np.diff(h["t_s"].to_numpy()) < 0)
        if bad.size:
            raise RecordingError(f"hr row {bad[0] + 2}: t_s must not decrease")
        return h

    @staticmethod
    def _check_ecg(ecg: pd.DataFrame) -> pd.DataFrame:
        for c in ("t_s", "ecg_uv"):
            if c not in ecg.columns:
                raise RecordingError(f"ecg: missing column {c!r}")
        e = pd.DataFrame({"t_s": ecg["t_s"].to_numpy(), "ecg_uv": ecg["ecg_uv"].to_numpy()})
        _check_numeric(e, ["t_s", "ecg_uv"], "ecg")
        return e.astype("float64")

    def _check_events_inside(self) -> None:
        if len(self.events) == 0:
            return
        t0, t1 = 0.0, self.duration_s
        for i, ev in enumerate(self.events, start=1):
            if ev.offset_s < t0 or ev.onset_s > t1:
                raise RecordingError(
                    f"event {i} ({ev.label!r}) at {ev.onset_s:g}-{ev.offset_s:g} s lies outside the "
                    f"recording (0-{t1:g} s)"
                )

    # -- derived views ------------------------------------------------------------------------
    @property
    def t_s(self) -> np.ndarray:
        """Beat times in seconds since :attr:`start` (float64 array)."""
        return self.beats["t_s"].to_numpy()

    @property
    def rr_ms(self) -> np.ndarray:
        """RR intervals in milliseconds (float64 array)."""
        return self.beats["rr_ms"].to_numpy()

    @property
    def flags(self) -> np.ndarray:
        """Per-beat flags (object array of str)."""
        return self.beats["flag"].to_numpy()

    @property
    def duration_s(self) -> float:
        """Span of the recording in seconds: the last of beats, HR samples, ECG and gaps."""
        ends = [0.0]
        if len(self.beats):
            ends.append(float(self.beats["t_s"].iloc[-1]))
        if len(self.hr):
            ends.append(float(self.hr["t_s"].iloc[-1]))
        if self.ecg is not None and len(self.ecg):
            ends.append(float(self.ecg["t_s"].iloc[-1]))
        if len(self.gaps):
            ends.append(float((self.gaps["onset_s"] + self.gaps["duration_s"]).max()))
        return max(ends)

    @property
    def end(self) -> datetime:
        """Datetime of the end of the recording (UTC)."""
        return self.start + timedelta(seconds=self.duration_s)

    def clock(self, t_s: float) -> datetime:
        """Datetime (UTC) of a time in seconds since start."""
        return self.start + timedelta(seconds=float(t_s))

    def seconds(self, when: datetime) -> float:
        """Seconds since start of a timezone-aware datetime."""
        return (_as_utc(when) - self.start).total_seconds()

    def with_events(self, events: Events) -> "Recording":
        """Return a copy with ``events`` (replacing the current ones)."""
        return replace(self, events=events)

    def replace(self, **changes: Any) -> "Recording":
        """Return a validated copy with some fields changed."""
        return replace(self, **changes)

    def equals(self, other: "Recording") -> bool:
        """Exact equality of every table, the start and the metadata."""
        if not isinstance(other, Recording):
            return False
        same_ecg = (self.ecg is None and other.ecg is None) or (
            self.ecg is not None and other.ecg is not None and self.ecg.equals(other.ecg)
        )
        return (
            self.start == other.start
            and self.beats.equals(other.beats)
            and self.gaps.equals(other.gaps)
            and self.hr.equals(other.hr)
            and self.events == other.events
            and self.meta == other.meta
            and same_ecg
        )

    def __repr__(self) -> str:
        return (
            f"Recording(start={self.start.isoformat()}, duration={self.duration_s:.1f} s, "
            f"beats={len(self.beats)}, gaps={len(self.gaps)}, events={len(self.events)}, "
            f"hr={len(self.hr)}{', ecg' if self.ecg is not None else ''})"
        )


def beats_from_rr(rr_ms: np.ndarray, first_t_s: float | None = None) -> pd.DataFrame:
    """Beat table from consecutive RR intervals, beat times as their cumulative sum.

    Parameters
    ----------
    rr_ms : array of float
        Consecutive RR intervals in ms.
    first_t_s : float, optional
        Time of the first beat in s; by default the first interval's own length, so that the
        interval that the first beat closes starts at ``t_s = 0``.

    Returns
    -------
    pandas.DataFrame
        ``t_s``, ``rr_ms``.
    """
    rr = np.asarray(rr_ms, dtype=float)
    t = np.cumsum(rr) / 1000.0
    if first_t_s is not None and len(rr):
        t = t - t[0] + float(first_t_s)
    return pd.DataFrame({"t_s": t, "rr_ms": rr})


def is_nan(x: Any) -> bool:
    """True for a float NaN (and None)."""
    return x is None or (isinstance(x, float) and math.isnan(x))
