"""Events files: what happened when, written by a person, a protocol script or a phone diary.

:func:`read_events` reads three layouts, all into :class:`~calmtrace.events.Events`:

**Tables** (CSV with ``,`` ``;`` or tab, recognised by a header row). Column names are matched
case-insensitively, ignoring units in brackets and spaces:

=========== ===================================================================================
onset       ``onset``, ``onset_s``, ``start``, ``start_s``, ``begin``, ``time``, ``timestamp``,
            ``datetime``, ``date``, ``when``, ``clock``
end         ``end``, ``end_s``, ``offset``, ``offset_s``, ``stop``, ``until``
duration    ``duration``, ``duration_s``, ``dur``, ``length_s`` (seconds)
label       ``label``, ``event``, ``name``, ``description``, ``annotation``, ``condition``,
            ``conditions``, ``note``, ``text``, ``comment``, ``activity``
kind        ``kind``, ``type``, ``category``
rating      ``rating``, ``stress``, ``mood``, ``score``, ``stress_rating``, ``mood_rating``
start/end   ``datapoint``, ``marker``, ``edge``, ``boundary``: ``start``/``end`` rows of one
            label are paired into one event (the layout of WearableHRV's events files)
=========== ===================================================================================

Rows give either onset and duration, or onset and end, or an onset alone (a moment, duration 0),
or start and end rows paired by label.

**JSON**: a list of objects with the same keys (or ``{"events": [...]}``).

**Diary lines** (no header; e.g. a note kept on a phone all day)::

    08:15 coffee
    09:40, argument with J., 7
    2024-05-01T13:05:00+02:00; lunch walk; mood 6/10

A time, then a note, then optionally a 0-10 rating: the last field when the line is split by
``,`` ``;`` or tab, or a number after ``stress``/``mood``/``rating``, or ``N/10``. Each entry is
a moment (duration 0). A diary covers the whole day, so entries outside the recording are left
out, with one warning naming the file, each line and its time; in the other layouts an event
outside the recording is an error.

Clock-only times (``02:00``) are read in file order: each is placed at its first occurrence at
or after the entry before it (an end at or after its own onset), the file's first at or after
the recording's start minus :data:`CLOCK_TOLERANCE_S`, rolling over midnight; each roll-over to
a later day is returned as a note (``notes``), which the loader adds to the import notes.

Times (every layout) are read by :func:`calmtrace.events.parse_time`: seconds since the
recording's start (``300``, ``300s``), a clock time on the recording's date (``14:05``,
``14:05:30``) in the recording's UTC offset (UTC when unknown), or an ISO datetime with an offset.
A datetime without an offset is an error unless ``utc_offset`` is given, in which case it is taken
in that offset.

Kinds come from the kind column when there is one, otherwise from the label by
:func:`infer_kind`. Every error names the file and the line (for JSON: the item).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import EventsError, FormatError, where
from ..events import EVENT_KINDS, Event, Events, check_kind, parse_time
from ._text import read_lines

__all__ = ["read_events", "infer_kind", "KIND_KEYWORDS"]

log = logging.getLogger(__name__)

#: Keyword rule for an event's kind when no kind is given: the first kind whose keywords start a
#: word of the label (case-insensitive) wins, in this order; otherwise ``note``. Recovery comes
#: first so that "post-stress recovery" is recovery; baseline before stressor so that "rest before
#: speech" is a baseline. The stressors are the classic laboratory stressors (Trier Social Stress
#: Test speech and mental arithmetic, Stroop, cold pressor; Kirschbaum et al. 1993) and everyday
#: ones from diaries; effort and exercise count as stressors because heart-rate recovery is
#: measured after them.
KIND_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("recovery", ("recover",)),
    ("baseline", ("baseline", "rest", "sitting", "seated", "supine")),
    ("intervention", ("breath", "meditat", "intervention", "relax", "paced", "biofeedback", "mindful")),
    ("stressor", ("stress", "speech", "arithmetic", "math", "tsst", "argument", "exam", "stroop",
                  "cold pressor", "public speaking", "interview", "effort", "exercise", "workout")),
)

#: Largest distance from the recording's start, in s, of an event time or duration (about 32
#: years); beyond it a number is a typo, not a time.
MAX_SPAN_S = 1e9

_KEYWORD_RES = [(kind, re.compile(r"\b(?:" + "|".join(re.escape(k) for k in kws) + r")"))
                for kind, kws in KIND_KEYWORDS]


def infer_kind(label: str) -> str:
    """The kind of an event from its label by the :data:`KIND_KEYWORDS` rule.

    Examples
    --------
    >>> infer_kind("Speech task"), infer_kind("post-stress recovery"), infer_kind("lunch")
    ('stressor', 'recovery', 'note')
    """
    text = str(label).lower()
    if text.strip() in EVENT_KINDS:
        return text.strip()
    for kind, rx in _KEYWORD_RES:
        if rx.search(text):
            return kind
    return "note"


# -------------------------------------------------------------------------------------------
# column names
# -------------------------------------------------------------------------------------------
_ALIASES: dict[str, tuple[str, ...]] = {
    "onset": ("onset", "onset_s", "start", "start_s", "start_time", "begin", "time", "time_s",
              "timestamp", "datetime", "date", "when", "clock", "t", "t_s"),
    "end": ("end", "end_s", "end_time", "offset", "offset_s", "stop", "stop_s", "until"),
    "duration": ("duration", "duration_s", "dur", "length_s"),
    "label": ("label", "event", "name", "description", "annotation", "condition", "conditions",
              "note", "notes", "text", "comment", "activity"),
    "kind": ("kind", "type", "category"),
    "rating": ("rating", "stress", "mood", "score", "stress_rating", "mood_rating"),
    "edge": ("datapoint", "marker", "edge", "boundary"),
}


def _norm(name: str) -> str:
    s = re.sub(r"[\[\(].*?[\]\)]", "", str(name)).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def _columns(names: list[str]) -> dict[str, int]:
    normed = [_norm(n) for n in names]
    found: dict[str, int] = {}
    for role, aliases in _ALIASES.items():
        for alias in aliases:  # the alias order is the preference order
            if alias in normed and normed.index(alias) not in found.values():
                found[role] = normed.index(alias)
                break
    return found


# -------------------------------------------------------------------------------------------
# values
# -------------------------------------------------------------------------------------------
_NAIVE_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")


_CLOCK_TIME = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")

#: The first clock-only time of a file is placed at its first occurrence at or after the
#: recording's start minus this many seconds (6 h, calmtrace's own): a diary often begins a few
#: hours before the strap is put on ("07:10 woke up" for a recording started at 09:00 stays that
#: morning, outside the recording and said so), while an evening time on a morning recording
#: ("21:30 to bed", start 08:00) is that evening, not the evening before.
CLOCK_TOLERANCE_S = 6 * 3600.0


@dataclass
class _Ctx:
    path: Path
    start: datetime
    utc_offset: str | None
    clock_changes: list | None = None
    duration_s: float | None = None
    start_known: bool = True
    timezone: str | None = None
    #: the time of the previous entry (file order), the floor of the next clock-only time
    prev_s: float | None = None
    #: roll-overs past midnight, for the recording's import notes
    notes: list = field(default_factory=list)
    #: line -> the onset as written, for the warning about entries outside the recording
    written: dict = field(default_factory=dict)

    def in_zone(self, s: str, ctx: str) -> float | None:
        """A clock time or naive date-time read in the recording's IANA zone (None when there is
        none): an error when the zone shows that reading twice (the hour repeated when daylight
        saving ends) or never."""
        if not self.timezone or "/" not in self.timezone:
            return None
        from datetime import timedelta, timezone as _tz
        from zoneinfo import ZoneInfo

        try:
            zone = ZoneInfo(self.timezone)
        except Exception:  # an unknown zone was refused at import; a hand-edited one is ignored
            return None
        m = _CLOCK_TIME.fullmatch(s)
        if m:
            local_start = self.start.astimezone(zone)
            h, mi, *rest = s.split(":")
            sec = float(rest[0]) if rest else 0.0
            naive = local_start.replace(tzinfo=None, hour=int(h), minute=int(mi), second=0, microsecond=0)
            naive += timedelta(seconds=sec)
            if naive < local_start.replace(tzinfo=None) - timedelta(hours=12):
                naive += timedelta(days=1)
        elif _NAIVE_ISO.fullmatch(s):
            naive = datetime.fromisoformat(s)
        else:
            return None
        first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
        if first.utcoffset() != second.utcoffset():
            back = first.astimezone(_tz.utc).astimezone(zone).replace(tzinfo=None)
            if back != naive:
                raise EventsError(f"{ctx} {s!r} never appeared on the clocks of {self.timezone} (they jumped "
                                  f"forward over it)")
            a = (first - self.start).total_seconds()
            b = (second - self.start).total_seconds()
            raise EventsError(f"{ctx} {s!r} is ambiguous: {self.timezone} showed it twice (daylight saving ended), "
                              f"so it may be {a:.0f} s or {b:.0f} s after the start; write it in seconds since the "
                              f"start or as a date-time with its UTC offset")
        return (first - self.start).total_seconds()

    def on_clock(self, v: float, s: str, ctx: str) -> float:
        """A local clock reading (``v`` s after the start's clock) as a time of the recording, through
        its clock changes; an error when the clock showed it more than once or never."""
        changes = sorted((float(c["t_s"]), float(c["step_s"])) for c in self.clock_changes or [])
        if not changes:
            return v
        bounds = [0.0] + [t for t, _ in changes] + [math.inf if self.duration_s is None else self.duration_s]
        cum = [0.0]
        for _, step in changes:
            cum.append(cum[-1] + step)
        hits = [v - cum[k] for k in range(len(cum)) if bounds[k] <= v - cum[k] < bounds[k + 1] or
                (k == len(cum) - 1 and v - cum[k] == bounds[k + 1])]
        # a reading inside an hour the clock repeated is ambiguous even where the recording saw it once
        repeated = [(k, v - cum[k - 1], v - cum[k]) for k in range(1, len(cum))
                    if cum[k] < cum[k - 1] and bounds[k] + cum[k] <= v < bounds[k] + cum[k - 1]]
        if len(hits) > 1 or repeated:
            times = sorted(set(round(h, 3) for h in hits) | {round(x, 3) for _, a, b in repeated for x in (a, b)})
            shown = " or ".join(f"{h:.0f} s" for h in times)
            where_changes = ", ".join(f"{step:+.0f} s at {t:.0f} s" for t, step in changes)
            raise EventsError(
                f"{ctx} {s!r} is ambiguous: it falls in the hour that the clock showed twice (it changed "
                f"{where_changes}), so it may be {shown} after the start; write it in seconds since the "
                f"start or as a date-time with its UTC offset"
            )
        if hits:
            return hits[0]
        if any(bounds[k] <= v - cum[k - 1] < bounds[k] + max(0.0, cum[k - 1] - cum[k]) for k in range(1, len(cum))
               if cum[k] > cum[k - 1]):
            raise EventsError(f"{ctx} {s!r} never appeared on the recording's clock (it jumped forward over it)")
        # outside the recording: keep the first clock's reading, or the last one's after the end
        return v if v < 0 else v - cum[-1]

    def time(self, text: str, line: int | str, what: str = "time") -> float:
        s = str(text).strip()
        ctx = f"{self._where(line)}: {what}"
        if not s:
            raise EventsError(f"{ctx} is empty")
        if not self.start_known and not re.fullmatch(r"[+-]?\d+(\.\d*)?s?", s):
            raise EventsError(f"{ctx} {s!r} is a clock time, but the recording's start is unknown (its file has no "
                              f"date or time); write the time in seconds since the start, or give the start: "
                              f"--start ISO on calmtrace import, analyze or day (e.g. --start 2024-05-01T09:30:00+02:00)")
        if not self.clock_changes:
            try:
                zoned = self.in_zone(s, ctx)
            except ValueError as exc:
                if isinstance(exc, EventsError):
                    raise
                raise EventsError(f"{ctx}: not a valid clock time, got {s!r}") from None
            if zoned is not None:
                return zoned
        if self.utc_offset and _NAIVE_ISO.fullmatch(s):
            s = s + self.utc_offset
        try:
            v = parse_time(s, self.start, self.utc_offset, context=ctx)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, EventsError):
                raise
            raise EventsError(f"{ctx}: cannot read {s!r} ({exc})") from None
        if self.clock_changes and (_CLOCK_TIME.fullmatch(str(text).strip()) or _NAIVE_ISO.fullmatch(str(text).strip())):
            v = self.on_clock(v, str(text).strip(), ctx)
        if abs(v) > MAX_SPAN_S:
            raise EventsError(f"{ctx}: {s!r} is {v:g} s from the recording's start, not a time of it")
        if _CLOCK_TIME.fullmatch(str(text).strip()):
            v = self.in_file_order(v, str(text).strip(), line)
        if what != "end":  # an end is placed after its own onset, the next entry after this onset
            self.prev_s = v
        return v

    def _local(self, v: float) -> datetime:
        """The recording's local clock at ``v`` s (its zone, its UTC offset, else UTC)."""
        from datetime import timedelta, timezone as _tz

        tz: Any = _tz.utc
        if self.timezone and "/" in self.timezone:
            try:
                from zoneinfo import ZoneInfo

                tz = ZoneInfo(self.timezone)
            except Exception:
                tz = _tz.utc
        elif self.utc_offset:
            m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", str(self.utc_offset).strip())
            if m:
                sign = 1 if m.group(1) == "+" else -1
                tz = _tz(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
        return (self.start + timedelta(seconds=v)).astimezone(tz)

    def in_file_order(self, v: float, s: str, line: int | str) -> float:
        """A clock-only time at its first occurrence at or after the previous entry (the first entry:
        at or after the start minus :data:`CLOCK_TOLERANCE_S`), rolling over midnight; a roll-over
        to a later day than the previous entry's is written as a note."""
        floor = self.prev_s if self.prev_s is not None else -CLOCK_TOLERANCE_S
        k = math.ceil((floor - v - 1e-6) / 86400.0)
        placed = v + 86400.0 * k
        before = self._local(self.prev_s if self.prev_s is not None else 0.0)
        here = self._local(placed)
        if here.date() > before.date():
            after = (f"the previous entry ({before.strftime('%Y-%m-%d %H:%M')})" if self.prev_s is not None
                     else f"the recording's start ({before.strftime('%Y-%m-%d %H:%M')})")
            days = (here.date() - before.date()).days
            self.notes.append(f"{self._where(line)}: clock time {s!r} placed on {here.strftime('%Y-%m-%d')} "
                              f"({'the next day' if days == 1 else f'{days} days later'}), after {after}: "
                              "clock times are read in file order, each at its first occurrence after the one "
                              "before (docs/formats.md)")
        return placed

    def seconds(self, text: str, line: int | str, what: str) -> float:
        s = str(text).strip()
        num = s[:-1] if s.lower().endswith("s") else s
        try:
            v = float(num)
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or v < 0 or v > MAX_SPAN_S:
            raise EventsError(f"{self._where(line)}: {what} must be a number of seconds >= 0 (at most {MAX_SPAN_S:g}), got {s!r}")
        return v

    def rating(self, text: Any, line: int | str) -> float:
        s = str(text).strip() if text is not None else ""
        if s == "" or s.lower() in ("nan", "na", "none", "null", "-"):
            return math.nan
        s = re.sub(r"\s*/\s*10$", "", s)
        try:
            v = float(s)
        except ValueError:
            v = math.nan
        if not (math.isfinite(v) and 0 <= v <= 10):
            raise EventsError(f"{self._where(line)}: rating must be a number from 0 to 10, got {str(text).strip()!r}")
        return v

    def kind(self, text: Any, label: str, line: int | str) -> str:
        s = str(text).strip() if text is not None else ""
        if not s:
            return infer_kind(label)
        return check_kind(s, self._where(line))

    def _where(self, line: int | str) -> str:
        return where(self.path, line) if isinstance(line, int) else f"{self.path} {line}"


def _inside(events: list[tuple[Event, int | str]], ctx: _Ctx, duration_s: float | None,
            diary: bool) -> list[tuple[Event, int | str]]:
    """The events that overlap ``[0, duration_s]``.

    An event wholly outside is an error (usually a clock time in the wrong UTC offset), except in
    a diary, which covers a whole day: there the outside entries are dropped (and logged), and only
    a diary with no entry inside is an error.
    """
    if duration_s is None:
        return events
    inside = [(e, ln) for e, ln in events if e.offset_s >= 0 and e.onset_s <= duration_s]
    outside = [(e, ln) for e, ln in events if not (e.offset_s >= 0 and e.onset_s <= duration_s)]
    if not outside or (diary and inside):
        if outside:
            listed = ", ".join(f"line {ln} {ctx.written.get(ln, f'{e.onset_s:g} s')!r} "
                               f"({ctx._local(e.onset_s).strftime('%Y-%m-%d %H:%M')})" for e, ln in outside)
            log.warning("%s: %d diary entr%s outside the recording (%s to %s) left out: %s", ctx.path, len(outside),
                        "y" if len(outside) == 1 else "ies", ctx._local(0.0).strftime("%Y-%m-%d %H:%M"),
                        ctx._local(duration_s).strftime("%Y-%m-%d %H:%M"), listed)
        return inside
    ev, line = outside[0]
    hint = "; is a clock time in another UTC offset than the recording's?" if ctx.utc_offset is None else ""
    raise EventsError(
        f"{ctx._where(line)}: event {ev.label!r} at {ev.onset_s:g}-{ev.offset_s:g} s lies outside "
        f"the recording (0-{duration_s:g} s){hint}"
    )


# -------------------------------------------------------------------------------------------
# layouts
# -------------------------------------------------------------------------------------------
def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _from_rows(rows: list[tuple[int | str, dict[str, Any]]], ctx: _Ctx) -> list[tuple[Event, int | str]]:
    """Events from rows that are already split into roles (onset, end, label...)."""
    out: list[tuple[Event, int | str]] = []
    open_starts: dict[str, tuple[int | str, float, dict[str, Any]]] = {}
    for n, (line, r) in enumerate(rows, start=1):
        label = str(r.get("label") or "").strip()
        onset = ctx.time(r.get("onset", ""), line, "onset")
        edge = str(r.get("edge") or "").strip().lower()
        if edge:
            if not label:
                raise EventsError(f"{ctx._where(line)}: a {edge!r} row needs a label to pair it with")
            if edge in ("start", "begin", "on"):
                if label in open_starts:
                    raise EventsError(f"{ctx._where(line)}: {label!r} starts again before it ended")
                open_starts[label] = (line, onset, r)
                continue
            if edge in ("end", "stop", "off"):
                if label not in open_starts:
                    raise EventsError(f"{ctx._where(line)}: {label!r} ends but never started")
                line0, onset0, r0 = open_starts.pop(label)
                if onset < onset0:
                    raise EventsError(f"{ctx._where(line)}: {label!r} ends before it starts")
                kind = ctx.kind(r0.get("kind") or r.get("kind"), label, line0)
                rating = ctx.rating(r0.get("rating") if r0.get("rating") not in (None, "") else r.get("rating"), line0)
                out.append((Event(onset0, onset - onset0, label, kind, rating), line0))
                continue
            raise EventsError(f"{ctx._where(line)}: start/end column must say start or end, got {edge!r}")
        if not label:
            label = f"event {n}"
        duration = 0.0
        if str(r.get("end") or "").strip():
            end = ctx.time(r["end"], line, "end")
            if end < onset:
                raise EventsError(f"{ctx._where(line)}: end {str(r['end']).strip()!r} is before the onset")
            duration = end - onset
        elif str(r.get("duration") or "").strip():
            duration = ctx.seconds(r["duration"], line, "duration")
        kind = ctx.kind(r.get("kind"), label, line)
        rating = ctx.rating(r.get("rating"), line)
        out.append((Event(onset, duration, label, kind, rating), line))
    for label, (line0, _, _) in open_starts.items():
        raise EventsError(f"{ctx._where(line0)}: {label!r} starts but never ends")
    return out


def _read_table(lines: list[tuple[int, str]], ctx: _Ctx) -> list[tuple[Event, int | str]]:
    header_line, header = lines[0]
    delim = _sniff_delimiter(header)
    try:
        names = next(csv.reader([header], delimiter=delim))
    except (csv.Error, StopIteration) as exc:
        raise EventsError(f"{ctx._where(header_line)}: cannot read the header ({exc})") from None
    cols = _columns(names)
    if "onset" not in cols:
        raise EventsError(
            f"{ctx._where(header_line)}: no time column (have {', '.join(n.strip() for n in names)}); "
            f"name one onset, start or time"
        )
    rows: list[tuple[int | str, dict[str, Any]]] = []
    for line_no, text in lines[1:]:
        try:
            fields = next(csv.reader([text], delimiter=delim))
        except (csv.Error, StopIteration) as exc:
            raise EventsError(f"{ctx._where(line_no)}: cannot split the line ({exc})") from None
        if len(fields) > len(names) and any(f.strip() for f in fields[len(names):]):
            raise EventsError(
                f"{ctx._where(line_no)}: {len(fields)} fields but the header has {len(names)} "
                f"(quote labels that contain {delim!r})"
            )
        r = {role: (fields[i] if i < len(fields) else "") for role, i in cols.items()}
        rows.append((line_no, r))
    return _from_rows(rows, ctx)


_TIME_TOKEN = re.compile(
    r"\s*(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"|\d+(?:\.\d+)?s?)(?=[\s,;\t]|$)\s*[,;\t]?\s*(?P<rest>.*)$"
)
_RATING_WORD = re.compile(r"(?:^|[\s,;\t])(?:stress|mood|rating)\s*[:=]?\s*(\d+(?:\.\d+)?)(?:\s*/\s*10)?\s*$", re.I)
_RATING_OF_10 = re.compile(r"(?:^|\s)(\d+(?:\.\d+)?)\s*/\s*10\s*$")


def _looks_like_diary(text: str) -> bool:
    m = _TIME_TOKEN.match(text)
    return bool(m)


def _diary_line(text: str, line: int, ctx: _Ctx) -> tuple[Event, int]:
    m = _TIME_TOKEN.match(text)
    if not m:
        raise EventsError(f"{ctx._where(line)}: expected a time then a note, got {text.strip()!r}")
    onset = ctx.time(m.group("time"), line)
    ctx.written[line] = m.group("time")
    rest = m.group("rest").strip()
    rating = math.nan
    note = rest
    fields = re.split(r"\s*[,;\t]\s*", rest) if re.search(r"[,;\t]", rest) else [rest]
    rm = _RATING_WORD.search(rest) or _RATING_OF_10.search(rest)
    if rm:
        rating = ctx.rating(rm.group(1), line)
        note = rest[: rm.start()].strip(" ,;\t")
    elif len(fields) > 1 and re.fullmatch(r"\d+(?:\.\d+)?", fields[-1]):
        rating = ctx.rating(fields[-1], line)
        note = ", ".join(f for f in fields[:-1] if f)
    label = note or "note"
    return Event(onset, 0.0, label, infer_kind(label), rating), line


def _read_json(text: str, ctx: _Ctx) -> list[tuple[Event, int | str]]:
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise EventsError(f"{where(ctx.path, line)}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        doc = doc["events"]
    if not isinstance(doc, list):
        raise EventsError(f"{ctx.path}: expected a JSON list of events or {{\"events\": [...]}}, "
                          f"got {type(doc).__name__}")
    rows: list[tuple[int | str, dict[str, Any]]] = []
    for i, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            raise EventsError(f"{ctx.path} item {i}: expected an object, got {type(item).__name__}")
        cols = _columns(list(item.keys()))
        keys = list(item.keys())
        r = {role: ("" if item[keys[j]] is None else item[keys[j]]) for role, j in cols.items()}
        if "onset" not in r:
            raise EventsError(f"{ctx.path} item {i}: no onset, start or time (keys: {', '.join(map(str, keys))})")
        for role in ("onset", "end", "duration", "label", "kind", "edge"):
            if role in r and isinstance(r[role], (dict, list)):
                raise EventsError(f"{ctx.path} item {i}: {role} must be a number or text, got {type(r[role]).__name__}")
        r = {k: (repr(v) if isinstance(v, float) else str(v)) if not isinstance(v, str) else v
             for k, v in r.items()}
        rows.append((f"item {i}", r))
    return _from_rows(rows, ctx)


# -------------------------------------------------------------------------------------------
# entry point
# -------------------------------------------------------------------------------------------
def read_events(path: str | os.PathLike, start: datetime, duration_s: float | None = None,
                utc_offset: str | None = None, clock_changes: list | None = None,
                start_known: bool = True, timezone: str | None = None, notes: list | None = None) -> Events:
    """Read an events file (CSV table, JSON or diary lines; see the module docstring).

    Parameters
    ----------
    path : path-like
        The events file.
    start : datetime
        Timezone-aware start of the recording the events belong to (``t = 0``).
    duration_s : float, optional
        Length of that recording in s; when given, an event lying wholly outside ``[0,
        duration_s]`` is an error (usually a clock time in the wrong UTC offset), except in a
        diary, whose entries outside the recording are left out (one inside is enough).
    utc_offset : str, optional
        The recording's local offset from UTC (``"+02:00"``), for clock times and for datetimes
        written without an offset. Clock times are taken as UTC when it is None.
    clock_changes : list of dict, optional
        The recording's clock changes (``meta["clock_changes"]``: ``t_s``, ``step_s``). A clock time
        is then the time of the recording at which its clock showed it; one that it showed twice (a
        time in the hour repeated when daylight saving ended) is an error that says so.
    timezone : str, optional
        The recording's IANA zone (``meta["timezone"]``, set by ``import --timezone``): clock times
        and naive date-times are then read in it, with its daylight-saving rules; one in the hour
        it repeats is an error that says so.
    start_known : bool
        False for a recording whose start is unknown (``meta["start_unknown"]``): clock times and
        date-times are then an error, since they cannot be placed.
    notes : list, optional
        Receives one line per clock time placed on a later day than the entry before it (the
        roll-over over midnight), for the recording's import notes (``calmtrace info``).

    Returns
    -------
    Events

    Raises
    ------
    EventsError
        With the file, the line (or JSON item) and the problem.
    InputError
        When the file does not exist or cannot be read.
    """
    p = Path(path)
    try:
        raw = read_lines(p, "an events file")
    except FormatError as exc:
        raise EventsError(str(exc)) from None
    except FileNotFoundError:
        raise EventsError(f"{p}: no such events file") from None
    except OSError as exc:
        raise EventsError(f"{p}: cannot read ({exc.strerror or exc})") from None
    ctx = _Ctx(p, start, utc_offset, clock_changes, duration_s, start_known, timezone)
    if notes is not None:
        ctx.notes = notes
    text = "\n".join(raw)
    numbered = [(i, t) for i, t in enumerate(raw, start=1) if t.strip() and not t.lstrip().startswith("#")]
    if not numbered:
        return Events()
    diary = False
    if p.suffix.lower() == ".json" or numbered[0][1].lstrip()[:1] in ("[", "{"):
        events = _read_json(text, ctx)
    elif _looks_like_diary(numbered[0][1]):
        diary = True
        events = [_diary_line(t, i, ctx) for i, t in numbered]
    else:
        events = _read_table(numbered, ctx)
    events = _inside(events, ctx, duration_s, diary)
    try:
        return Events([e for e, _ in events])
    except EventsError as exc:
        raise EventsError(f"{p}: {exc}") from None
