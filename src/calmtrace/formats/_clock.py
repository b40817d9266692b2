"""``--start`` and ``--timezone``: setting what a file's clock leaves open, after any importer.

A file's clock is one of three kinds (``meta["clock"]``): UTC stated by the file (epoch times, FIT
time stamps, ISO offsets); local time without an offset, taken as UTC until told otherwise; or no
clock at all (``meta["start_unknown"]``). ``--timezone`` says where the local clock was: its times
are then converted to UTC with the zone's offset *at the start* (IANA tz database through
:mod:`zoneinfo`), and ``meta["utc_offset"]`` is set so that clock times in events files are read in
it. A local start inside an hour the zone repeats (the end of daylight saving) is the first of the
two when the file itself shows the clock going back later (``meta["clock_changes"]``), and is
otherwise refused as ambiguous, asking for ``--start`` with an offset. ``--start`` sets the start
outright (with an offset, or in ``--timezone``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InputError
from ..recording import Recording
from ._evidence import ImportOptions, add_note
from ._text import CLOCK_LOCAL_AS_UTC

__all__ = ["apply_clock_options", "parse_timezone", "parse_start"]


def parse_timezone(text: str) -> tzinfo:
    """An IANA zone name (``Europe/Berlin``) or a fixed offset (``+02:00``, ``UTC``)."""
    s = str(text).strip()
    if s.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})", s)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    try:
        return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"--timezone must be an IANA zone such as Europe/Berlin or an offset such as +02:00, "
                         f"got {s!r}") from exc


def parse_start(text: str) -> datetime:
    """An ISO 8601 date and time, with or without an offset (without one, ``--timezone`` is needed)."""
    s = str(text).strip()
    try:
        return datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
    except ValueError:
        raise InputError(f"--start must be an ISO 8601 date and time such as 2024-05-01T09:30:00+02:00, "
                         f"got {s!r}") from None


def _offset_text(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    total = int(off.total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _localize(naive: datetime, tz: tzinfo, goes_back_later: bool) -> tuple[datetime, str | None]:
    """``naive`` in ``tz``; a note when it was in a repeated or skipped hour."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, None
    # round trip tells a skipped hour (no such local time) from a repeated one
    back = first.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        return first, (f"the start {naive.isoformat()} does not exist in {tz} (the clock skipped that hour); "
                       f"read with the offset before the change")
    if goes_back_later:
        return first, (f"the start {naive.isoformat()} falls in the hour {tz} repeats; the file's own clock goes "
                       f"back later, so it is the first of the two ({_offset_text(first)})")
    raise InputError(f"the start {naive.isoformat()} falls in the hour that {tz} repeats, and nothing in the "
                     f"file says which of the two it is; give --start with its UTC offset")


def apply_clock_options(rec: Recording, opts: ImportOptions) -> Recording:
    """``rec`` with ``opts.start`` and ``opts.timezone`` applied (see the module docstring)."""
    if opts.start is None and opts.timezone is None:
        return rec
    meta = dict(rec.meta)
    tz = parse_timezone(opts.timezone) if opts.timezone else None
    start = rec.start
    if opts.start is not None:
        given = opts.start if isinstance(opts.start, datetime) else parse_start(str(opts.start))
        if given.tzinfo is None:
            if tz is None:
                raise InputError(f"--start {given.isoformat()} has no UTC offset; add one (+02:00) or give --timezone")
            given, note = _localize(given, tz, False)
            if note:
                add_note(meta, note)
        was = "unknown" if meta.get("start_unknown") else start.isoformat()
        start = given.astimezone(timezone.utc)
        meta.pop("start_unknown", None)
        meta["clock"] = "set by --start"
        meta["utc_offset"] = _offset_text(given)
        add_note(meta, f"start set by --start to {given.isoformat()} (the file gave {was})")
    elif tz is not None:
        if meta.get("start_unknown"):
            raise InputError(f"{meta.get('source_file', 'file')}: the file has no clock, so --timezone has nothing "
                             f"to convert; give --start")
        if meta.get("clock") == CLOCK_LOCAL_AS_UTC:
            naive = start.replace(tzinfo=None)
            goes_back = any(float(c.get("step_s", 0)) < 0 for c in meta.get("clock_changes") or [])
            local, note = _localize(naive, tz, goes_back)
            if note:
                add_note(meta, note)
            start = local.astimezone(timezone.utc)
            meta["clock"] = f"local time in {opts.timezone} (set by --timezone)"
            meta["utc_offset"] = _offset_text(local)
            add_note(meta, f"the file's local clock read in {opts.timezone}: start {local.isoformat()} = "
                           f"{start.isoformat()}")
        else:
            local = start.astimezone(tz)
            meta["utc_offset"] = _offset_text(local)
            add_note(meta, f"the file's times are UTC; --timezone {opts.timezone} sets the local offset "
                           f"{meta['utc_offset']} for clock times (events)")
    if tz is not None:
        meta["timezone"] = str(opts.timezone)
    return rec.replace(start=start, meta=meta)
