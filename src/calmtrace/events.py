"""Events: labelled intervals of a session (baseline, stressor, recovery, intervention, note).

An event has an onset and a duration in seconds since the recording's start, a free-text label
and a kind. A stressor is what recovery is measured after; an event with ``duration_s == 0`` is a
moment (a diary note, a key pressed during capture). An optional ``rating`` carries a 0-10 stress
or mood rating from diary-style logs; it is NaN where none was given.

The model follows MNE-Python's annotations (onset, duration, description) relative to an absolute
origin, which here is the recording's ``start``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from .errors import EventsError

__all__ = ["Event", "Events", "EVENT_KINDS", "check_kind", "parse_time"]

#: The kinds an event can be. ``stressor`` is what recovery is measured after.
EVENT_KINDS: tuple[str, ...] = ("baseline", "stressor", "recovery", "intervention", "note")

_COLUMNS = ["onset_s", "duration_s", "label", "kind", "rating"]


def check_kind(kind: str, context: str = "event") -> str:
    """Return ``kind`` if it is one of :data:`EVENT_KINDS`, else raise :class:`EventsError`.

    Parameters
    ----------
    kind : str
        The kind to check (case-insensitive, surrounding spaces ignored).
    context : str
        Where the value came from, used as the message prefix.
    """
    k = str(kind).strip().lower()
    if k not in EVENT_KINDS:
        raise EventsError(
            f"{context}: kind must be one of {', '.join(EVENT_KINDS)}, got {kind!r}"
        )
    return k


@dataclass(frozen=True)
class Event:
    """One event.

    Parameters
    ----------
    onset_s : float
        Onset in seconds since the recording's start.
    duration_s : float
        Duration in seconds, ``>= 0``; 0 for a moment.
    label : str
        Free text shown in reports ("speech", "paced breathing").
    kind : str
        One of :data:`EVENT_KINDS`.
    rating : float
        Optional 0-10 stress or mood rating, NaN where none.
    """

    onset_s: float
    duration_s: float
    label: str
    kind: str
    rating: float = math.nan

    @property
    def offset_s(self) -> float:
        """End of the event in seconds since the recording's start."""
        return self.onset_s + self.duration_s


class Events:
    """An ordered, validated table of events.

    Parameters
    ----------
    rows : iterable of Event or pandas.DataFrame, optional
        The events. A DataFrame needs the columns ``onset_s``, ``duration_s``, ``label``,
        ``kind`` and may have ``rating``.

    Raises
    ------
    EventsError
        When an onset or duration is not a finite number, a duration is negative, or a kind is
        unknown.

    Examples
    --------
    >>> ev = Events([Event(300.0, 300.0, "speech", "stressor")])
    >>> ev.stressors().label.tolist()
    ['speech']
    """

    def __init__(self, rows: Iterable[Event] | pd.DataFrame | None = None) -> None:
        if rows is None:
            df = pd.DataFrame({c: [] for c in _COLUMNS})
        elif isinstance(rows, pd.DataFrame):
            df = rows.copy()
            if "rating" not in df.columns:
                df["rating"] = np.nan
            missing = [c for c in _COLUMNS if c not in df.columns]
            if missing:
                raise EventsError(f"events table: missing columns {missing}")
            df = df[_COLUMNS]
        else:
            df = pd.DataFrame([[e.onset_s, e.duration_s, e.label, e.kind, e.rating] for e in rows],
                              columns=_COLUMNS)
        for i, r in enumerate(df.itertuples(index=False), start=1):
            ctx = f"event {i} ({r.label!r})"
            for name in ("onset_s", "duration_s"):
                v = getattr(r, name)
                if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                    raise EventsError(f"{ctx}: {name} must be a finite number, got {v!r}")
            if r.duration_s < 0:
                raise EventsError(f"{ctx}: duration_s must be >= 0, got {r.duration_s!r}")
            rt = r.rating
            if rt is not None and not (isinstance(rt, float) and math.isnan(rt)):
                if not isinstance(rt, (int, float, np.integer, np.floating)) or not 0 <= rt <= 10:
                    raise EventsError(f"{ctx}: rating must be a number from 0 to 10, got {rt!r}")
            check_kind(r.kind, ctx)
        df["onset_s"] = df["onset_s"].astype("float64")
        df["duration_s"] = df["duration_s"].astype("float64")
        df["rating"] = pd.to_numeric(df["rating"], errors="coerce").astype("float64")
        df["label"] = df["label"].astype(str)
        df["kind"] = [str(k).strip().lower() for k in df["kind"]]
        df = df.sort_values(["onset_s", "duration_s"], kind="stable").reset_index(drop=True)
        self._df = df

    # -- views -------------------------------------------------------------------------------
    @property
    def df(self) -> pd.DataFrame:
        """A copy of the events as a DataFrame with ``offset_s`` added."""
        out = self._df.copy()
        out["offset_s"] = out["onset_s"] + out["duration_s"]
        return out

    def __len__(self) -> int:
        return len(self._df)

    def __iter__(self) -> Iterator[Event]:
        for r in self._df.itertuples(index=False):
            yield Event(float(r.onset_s), float(r.duration_s), r.label, r.kind, float(r.rating))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Events):
            return NotImplemented
        return self._df.equals(other._df)

    def __repr__(self) -> str:
        return f"Events({len(self)} events: {', '.join(self._df.label.tolist()[:5])}{'...' if len(self) > 5 else ''})"

    def of_kind(self, kind: str) -> pd.DataFrame:
        """Events of one kind as a DataFrame (see :attr:`df`)."""
        k = check_kind(kind)
        d = self.df
        return d[d.kind == k].reset_index(drop=True)

    def stressors(self) -> pd.DataFrame:
        """The stressor events, the ones recovery is measured after."""
        return self.of_kind("stressor")

    def add(self, event: Event) -> "Events":
        """Return a new :class:`Events` with ``event`` added."""
        return Events(list(self) + [event])

    def merge(self, other: "Events") -> "Events":
        """Return the events of both, sorted by onset."""
        return Events(list(self) + list(other))

    def shifted(self, delta_s: float) -> "Events":
        """Return the events with every onset moved by ``delta_s`` seconds."""
        d = self._df.copy()
        d["onset_s"] = d["onset_s"] + float(delta_s)
        return Events(d)


def parse_time(text: str, start: datetime, utc_offset: str | None = None, context: str = "time") -> float:
    """Seconds since ``start`` of a time written by a person or another tool.

    Three spellings are accepted:

    - a plain number (``"300"``, ``"300.5"``, ``"300s"``): seconds since the recording's start;
    - a clock time ``HH:MM`` or ``HH:MM:SS[.fff]``: that time on the recording's date, in the
      recording's local UTC offset (``utc_offset``, e.g. ``"+02:00"``; UTC when unknown); a clock
      time earlier than the start is taken on the next day (recordings that span midnight);
    - an ISO 8601 datetime with a UTC offset (``2024-05-01T14:05:00+02:00``). A datetime without an
      offset is an error: it is never guessed.

    Parameters
    ----------
    text : str
        The time as written.
    start : datetime
        Timezone-aware start of the recording.
    utc_offset : str, optional
        The recording's local offset from UTC, ``"+HH:MM"`` or ``"-HH:MM"``.
    context : str
        Prefix for error messages (file and line).

    Returns
    -------
    float
        Seconds since ``start``; may be negative for a time before it.
    """
    import re
    from datetime import timedelta, timezone

    s = str(text).strip()
    num = s[:-1] if s.lower().endswith("s") else s
    try:
        v = float(num)
        if math.isfinite(v):
            return v
    except ValueError:
        pass
    tz = timezone.utc
    if utc_offset:
        m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", str(utc_offset).strip())
        if not m:
            raise EventsError(f"{context}: utc_offset must look like +02:00, got {utc_offset!r}")
        sign = 1 if m.group(1) == "+" else -1
        tz = timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?", s)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        sec = float(m.group(3)) if m.group(3) else 0.0
        if h > 23 or mi > 59 or sec >= 60:
            raise EventsError(f"{context}: not a valid clock time, got {text!r}")
        local_start = start.astimezone(tz)
        day = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
        when = day + timedelta(hours=h, minutes=mi, seconds=sec)
        if when < local_start - timedelta(minutes=1) and (local_start - when) > timedelta(hours=12):
            when = when + timedelta(days=1)
        return (when - start).total_seconds()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise EventsError(
            f"{context}: expected seconds, a clock time HH:MM[:SS] or an ISO datetime with offset, got {text!r}"
        ) from None
    if dt.tzinfo is None:
        raise EventsError(f"{context}: datetime {text!r} has no UTC offset (add e.g. +00:00; it is not guessed)")
    return (dt - start).total_seconds()
