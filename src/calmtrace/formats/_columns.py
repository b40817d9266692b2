"""Beats from a table of intervals and/or times whose meaning is decided by evidence.

Used by the ``rr-text`` and ``beat-table`` importers for every layout that is not a named app's
own (plain RR lists, Kubios-style two-column text, generic CSV). The rules, in order:

Roles
    From ``--columns`` when given; else from the header names (beat time: ``t_s``, ``time``,
    ``timestamp``...; interval: ``rr``, ``rr_ms``, ``ibi``, ``nn``...; heart rate: ``hr``,
    ``bpm``, ``heart_rate``); else, without a header, one column is intervals and of two columns
    the one that increases is the time.
Interval unit
    :func:`~calmtrace.formats._evidence.rr_unit` (ms, s or µs by the median; heart rates refused).
Time unit
    From the header (``_ms``, ``[s]``...) or ``--time-unit``; else the unit (s, ms, µs) in which the
    time column spans the same time as the intervals add up to. A time column in the seconds of
    the Unix epoch (1973-2096) gives a UTC start; date-time strings give the file's clock.
Time meaning
    *Beat times* when, for at least 80 % of consecutive usable rows, the step of the time column
    equals the interval of the later row (the time is the beat closing the interval) or of the
    earlier row (the beat opening it), within the resolution of both columns plus
    :data:`MATCH_MS`. *Arrival times* otherwise, when the column follows the running sum of the
    intervals (most steps of the lag, clock minus running sum, stay within
    :data:`~calmtrace.formats._text.CLOCK_TOLERANCE_S`): then the intervals are placed by
    :func:`~calmtrace.formats._text.anchor_arrivals`, which also finds lost beats (gaps) and clock
    changes. A time column that fits neither is refused.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError, InputError, where
from ..recording import BEAT_FLAGS, Recording
from ._evidence import (
    Grid,
    add_note,
    classify_rr,
    keep_gaps_for_rows,
    options,
    refuse_implausible_override,
    rr_unit,
    series_from_rr,
    unit_by_median,
    UNIT_WORDS,
    stand_in_lengths,
    to_numbers,
    MISSING,
)
from ._text import (
    CLOCK_LOCAL_AS_UTC,
    CLOCK_TOLERANCE_S,
    CLOCK_UTC,
    UNKNOWN_START,
    anchor_arrivals,
    build_recording,
    clock_change_notes,
    clock_meta,
    device_datetime,
)

__all__ = ["recording_from_grid", "norm_name", "TIME_NAMES", "RR_NAMES", "HR_NAMES", "MATCH_MS",
           "BEAT_TIME_SHARE"]

TIME_NAMES = ("t_s", "t_ms", "t", "time", "time_s", "time_ms", "time_us", "beat_time", "beat_time_s",
              "r_peak_time", "peak_time", "rpeak_time", "timestamp", "timestamp_s", "timestamp_ms", "seconds",
              "date", "datetime", "phone_timestamp", "arrival", "arrival_time", "clock")
RR_NAMES = ("rr_ms", "rr", "rr_s", "rr_us", "rri", "rri_ms", "rri_s", "ibi", "ibi_ms", "ibi_s", "nn", "nn_ms",
            "nn_s", "rr_interval", "rr_interval_ms", "rr_interval_s", "interval", "interval_ms", "interval_s",
            "rr_intervals", "pp_interval", "ppi", "ppi_ms")
HR_NAMES = ("hr", "hr_bpm", "bpm", "heart_rate", "heartrate", "heart_rate_bpm", "pulse", "pulse_rate")

#: Slack (ms) added to the resolution of the columns when a time step is compared with an
#: interval: BLE RR values are in 1/1024 s (Heart Rate Service 1.0), so a value rounded to 1 ms
#: may differ by up to 1 ms from the time step that was computed from unrounded values.
MATCH_MS = 2.0
#: Share of consecutive rows whose time step must equal an interval for the times to be beat times.
BEAT_TIME_SHARE = 0.8

#: Coarsest resolution (ms) of a time column whose rounding is allowed for when its steps are
#: compared with the intervals: a 1-ms or 10-ms column (RR intervals vary by tens of ms); the steps
#: of a coarser column (whole seconds) must equal the intervals exactly, or within its resolution
#: any step would "equal" any interval.
MAX_BEAT_TIME_RES_MS = 50.0

#: Unix epoch seconds accepted as absolute times: 1973-03-03 to 2096-10-02.
_EPOCH_RANGE_S = (1e8, 4e9)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Time a relative time column covers over what its intervals add up to, that a time unit must
#: give: up to twice (beats lost between logged arrivals), down to half.
_TIME_SPAN_RATIO = (0.5, 2.0)


def norm_name(name: str) -> str:
    """Lower case, units in brackets as suffixes, other punctuation as ``_``: ``RR [ms]`` -> ``rr_ms``."""
    s = str(name).strip().strip('"').lower().replace("µ", "u")
    s = re.sub(r"\[\s*(ms|s|us|bpm)\s*\]|\(\s*(ms|s|us|bpm)\s*\)", lambda m: "_" + (m.group(1) or m.group(2)), s)
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def _unit_suffix(name: str) -> str | None:
    for u in ("ms", "us", "s"):
        if name.endswith("_" + u) or name == u:
            return u
    return None


def _roles(grid: Grid, meta: dict) -> dict[str, int]:
    forced = options().columns
    if forced:
        if len(forced) != grid.width:
            raise FormatError(f"{grid.path}: --columns names {len(forced)} columns, the file has {grid.width}")
        roles = {r: i for i, r in enumerate(forced) if r != "-"}
        add_note(meta, f"columns set by --columns: {','.join(forced)}")
        return roles
    if grid.header is not None and grid.width == 1:
        nm = norm_name(grid.header[0])
        role = "hr" if nm in HR_NAMES else "time" if nm in TIME_NAMES else "rr"
        add_note(meta, f"one column, headed {grid.header[0]!r}: "
                       f"{ {'hr': 'heart rate', 'time': 'beat times', 'rr': 'intervals'}[role]}")
        return {role: 0}
    if grid.header is not None:
        names = [norm_name(c) for c in grid.header]
        roles: dict[str, int] = {}
        for role, table in (("rr", RR_NAMES), ("time", TIME_NAMES), ("hr", HR_NAMES)):
            for alias in table:
                if alias in names and names.index(alias) not in roles.values():
                    roles[role] = names.index(alias)
                    break
        if "flag" in names:
            roles["flag"] = names.index("flag")
        if "rr" in roles or "time" in roles or "hr" in roles:
            shown = ", ".join(f"{grid.header[i]!r} = {r}" for r, i in roles.items())
            add_note(meta, f"columns from the header: {shown}")
            return roles
        raise FormatError(f"{where(grid.path, grid.header_line)}: no interval, time or heart-rate column in the "
                          f"header {grid.header!r}; name the columns with --columns (e.g. time,rr)")
    if grid.width == 1:
        return {"rr": 0}
    if grid.width == 2:
        a, _ = to_numbers(grid, 0, "column 1")
        b, _ = to_numbers(grid, 1, "column 2")
        inc_a = _increasing_share(a)
        inc_b = _increasing_share(b)
        if inc_a >= 0.95 and inc_b < 0.95:
            add_note(meta, f"no header; column 1 increases on {100 * inc_a:.0f}% of rows: time; column 2: intervals")
            return {"time": 0, "rr": 1}
        if inc_b >= 0.95 and inc_a < 0.95:
            add_note(meta, f"no header; column 2 increases on {100 * inc_b:.0f}% of rows: time; column 1: intervals")
            return {"time": 1, "rr": 0}
    hint = ""
    if grid.delimiter == "," and all(_INT_TEXT.match(c) for _, f in grid.rows[:50] for c in f if c):
        n, f = grid.rows[0]
        hint = (f", or the numbers use decimal commas ({','.join(f)!r} on line {n}) with varying decimals; "
                f"export with '.' as the decimal mark")
    raise FormatError(f"{grid.path}: {grid.width} columns without a header; cannot tell which holds the "
                      f"intervals: name them with --columns (e.g. time,rr){hint}")


_INT_TEXT = re.compile(r"^[+-]?\d+$")


def _name(grid: Grid, i: int) -> str:
    return repr(grid.header[i]) if grid.header else f"column {i + 1}"


def _increasing_share(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if x.size < 3:
        return 0.0
    return float(np.mean(np.diff(x) > 0))


def _time_values(grid: Grid, i: int, name: str, meta: dict) -> tuple[np.ndarray, datetime | None, int]:
    """Column ``i`` as seconds; the datetime of 0 for date-time strings (else None); decimals."""
    texts = [c.strip().strip('"') for c in grid.column(i)]
    first = next((t for t in texts if t.lower() not in MISSING), "")
    if re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", first):
        v, dec = to_numbers(grid, i, name)
        return v, None, dec
    if re.fullmatch(r"\d{1,2}:\d{2}:\d{2}(\.\d+)?", first):
        return _time_of_day(grid, texts, name, meta)
    stamps: list[datetime | None] = []
    for (n, _), t in zip(grid.rows, texts):
        stamps.append(None if t.lower() in MISSING else device_datetime(t, grid.path, n, name))
    ref = next((s for s in stamps if s is not None), None)
    if ref is None:
        raise FormatError(f"{grid.path}: the time column {name!r} has no time on any row")
    meta.update(clock_meta(ref))
    secs = np.array([np.nan if s is None else (s - ref).total_seconds() for s in stamps])
    frac = [len(t.split(".")[-1]) for t in texts if "." in t[-7:]]
    return secs, ref, max(frac) if frac else 0


def _time_of_day(grid: Grid, texts: list[str], name: str, meta: dict) -> tuple[np.ndarray, None, int]:
    """Clock times without a date (``09:30:01.250``) as seconds since the first midnight.

    The date is unknown, so the times are relative (the start stays unknown); a time more than
    12 h before the one above it is on the next day.
    """
    out = np.full(len(texts), np.nan)
    day = 0.0
    prev = None
    decimals = 0
    for k, ((n, _), t) in enumerate(zip(grid.rows, texts)):
        if t.lower() in MISSING:
            continue
        m = re.fullmatch(r"(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)", t)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or float(m.group(3)) >= 60:
            raise FormatError(f"{where(grid.path, n)}: {name} must be a clock time like 09:30:01, got {t[:40]!r}")
        v = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        if prev is not None and v + day < prev - 43200:
            day += 86400.0
        out[k] = v + day
        prev = out[k]
        if "." in m.group(3):
            decimals = max(decimals, len(m.group(3).split(".")[1]))
    add_note(meta, f"time column {name!r} holds clock times without a date: the start date is unknown")
    return out, None, decimals


def recording_from_grid(path: Path, grid: Grid, meta: dict, *, name_start: datetime | None = None) -> Recording:
    """The recording a table of intervals and/or times holds (see the module docstring).

    Parameters
    ----------
    path : Path
    grid : Grid
        From :func:`~calmtrace.formats._evidence.split_grid`.
    meta : dict
        Metadata so far (notes are added).
    name_start : datetime, optional
        Start found in the file's name (local time), used when the table has no clock.

    Raises
    ------
    FormatError
        Heart rates only, a unit that fits nothing, a time column that fits neither meaning, too
        few usable rows; naming the file and, where one is to blame, the line.
    """
    roles = _roles(grid, meta)
    line_nos = grid.line_nos
    if "rr" not in roles:
        if "hr" in roles:
            raise FormatError(f"{path}: the table holds heart rates ({_name(grid, roles['hr'])}), not RR intervals; "
                              f"a heart-rate series has no beat-to-beat intervals and its times are not beat times")
        return _from_times_only(path, grid, roles, meta)
    rr_name = grid.header[roles["rr"]] if grid.header else f"column {roles['rr'] + 1}"
    raw, rr_dec = to_numbers(grid, roles["rr"], str(rr_name))
    stated = _unit_suffix(norm_name(rr_name)) if grid.header else None
    scale = rr_unit(path, raw, meta, stated=stated, what=f"the values of {rr_name!r}" if grid.header else "the values")
    with np.errstate(over="ignore"):
        rr_ms = raw * scale  # a value too large for its unit becomes inf: a removed beat
    rr_res_ms = 10.0 ** (-rr_dec) * scale
    if "hr" in roles:
        add_note(meta, f"column {roles['hr'] + 1} (heart rate) is not used for beats")
    flags = None
    if "flag" in roles:
        vals = [c.strip() or "ok" for c in grid.column(roles["flag"])]
        if all(v in BEAT_FLAGS for v in vals):
            flags = np.array(vals, dtype=object)
    if "time" not in roles and "arrival" not in roles:
        series = series_from_rr(path, rr_ms, line_nos, meta)
        start, known = (name_start, True) if name_start is not None else (UNKNOWN_START, False)
        _start_meta(meta, known, name_start is not None)
        return build_recording(path, start, t_s=series.t_s, rr_ms=series.rr_ms,
                               flags=flags[series.keep] if flags is not None else None, gaps=series.gaps, meta=meta)
    t_col = roles.get("time", roles.get("arrival"))
    t_name = str(grid.header[t_col]) if grid.header else f"column {t_col + 1}"
    t_raw, ref, t_dec = _time_values(grid, t_col, t_name, meta)
    ok, long = classify_rr(path, rr_ms, line_nos, meta)
    has_t = np.isfinite(t_raw)
    if ref is None:
        t_s, t_res = _time_unit(path, t_raw, rr_ms, ok, t_name, t_dec, meta, grid)
    else:
        t_s, t_res = t_raw, 10.0 ** (-t_dec)
    epoch = ref is None and _is_epoch(t_s[has_t])
    if epoch:
        ref = _EPOCH
        meta["clock"] = CLOCK_UTC
        add_note(meta, f"time column {t_name!r} holds Unix epoch seconds (UTC): from "
                       f"{(_EPOCH + timedelta(seconds=float(np.nanmin(t_s)))).isoformat(timespec='seconds')}")
    usable = ok & has_t
    if "arrival" in roles:
        meaning = "arrival"
    else:
        meaning = _meaning(path, line_nos, t_s, rr_ms, usable, t_res * 1000 + rr_res_ms, t_name, meta,
                           forced="time" in roles and bool(options().columns))
    if meaning == "arrival":
        keep = has_t
        # removed rows keep a stand-in length and long intervals their own: both keep their time
        # in the anchoring and become gaps
        lengths = stand_in_lengths(rr_ms, ok, long, meta, path)[keep] if (~ok & has_t).any() else rr_ms[keep]
        anchored = anchor_arrivals(lengths, t_s[keep], CLOCK_TOLERANCE_S)
        beat_all = anchored.beat_s
        is_beat = ok[keep]
        gaps = [(a, d, "import") for a, d in anchored.gaps]
        gaps += keep_gaps_for_rows(beat_all, lengths, is_beat, runs_only=True)
        beat_s, rr_keep = beat_all[is_beat], lengths[is_beat]
        fl = flags[keep][is_beat] if flags is not None else None
        t0 = min([float(beat_s[0] - rr_keep[0] / 1000.0)] + [g[0] for g in gaps]) if beat_s.size else 0.0
        if anchored.clock_changes:
            clock_rows = t_s[keep]
            changes, notes = clock_change_notes(anchored, clock_rows - clock_rows[0] if ref is None else clock_rows,
                                                t0, ref if ref is not None else _EPOCH)
            meta["clock_changes"] = changes
            for note in notes:
                add_note(meta, note)
        if anchored.gaps:
            add_note(meta, f"{len(anchored.gaps)} gap(s) where the arrival clock ran ahead of the RR sum by more "
                           f"than {CLOCK_TOLERANCE_S:g} s (beats that never arrived)", warn=True)
    else:
        b = t_s if meaning == "closing" else t_s + rr_ms / 1000.0
        keep = ok & has_t
        b = _beat_clock_changes(b, rr_ms, keep, line_nos, ref, meta)
        beat_s, rr_keep = b[keep], rr_ms[keep]
        fl = flags[keep] if flags is not None else None
        gaps = keep_gaps_for_rows(b, rr_ms, keep) if not keep.all() else []
        # beats missing without a mark: an interval that begins after the previous beat
        from ._text import gaps_from_beat_times
        tol = max(0.25, (t_res * 1000 + rr_res_ms + MATCH_MS) / 1000.0)
        marked = {round(g[0], 6) for g in gaps}
        for a, d in gaps_from_beat_times(beat_s, rr_keep, tol):
            if round(a, 6) not in marked:
                gaps.append((a, d, "import"))
        bad = np.flatnonzero(np.diff(beat_s) <= 0)
        if bad.size:
            n = [ln for ln, k in zip(line_nos, keep) if k][int(bad[0]) + 1]
            raise FormatError(f"{where(path, n)}: beat time {t_name!r} does not increase")
        t0 = min([float(beat_s[0] - rr_keep[0] / 1000.0)] + [g[0] for g in gaps]) if beat_s.size else 0.0
    if ref is not None:
        start = ref + timedelta(seconds=t0)
        if not epoch and not meta.get("clock"):
            meta["clock"] = CLOCK_LOCAL_AS_UTC
    else:
        if name_start is not None:
            start = name_start + timedelta(seconds=t0)
            meta["clock"] = CLOCK_LOCAL_AS_UTC
        else:
            start = UNKNOWN_START
            meta["start_unknown"] = True
            meta["time_offset_s"] = t0
            add_note(meta, "start unknown: the file gives relative times only (set it with --start)")
    gaps = [(a - t0, d, r) for a, d, r in gaps if d > 0]
    for change in meta.get("clock_changes") or []:
        if "line" in change:  # found among beat times: still on the file's time origin
            change["t_s"] = round(float(change["t_s"]) - t0, 3)
    return build_recording(path, start, t_s=beat_s - t0, rr_ms=rr_keep, flags=fl, gaps=gaps, meta=meta)


def _beat_clock_changes(b: np.ndarray, rr_ms: np.ndarray, keep: np.ndarray, line_nos: list[int],
                        ref: datetime | None, meta: dict) -> np.ndarray:
    """Beat times on one clock, where the clock that wrote them stepped by about an hour.

    A beat time that lies an hour (:data:`~calmtrace.formats._text.CLOCK_JUMP_S`, within
    :data:`~calmtrace.formats._text.CLOCK_TOLERANCE_S`) after or before where the interval it
    closes puts it is a clock change (daylight saving), not an hour of missing beats: the times
    after it are moved back onto the clock of the first row and the change is noted.
    """
    from ._text import CLOCK_JUMP_S

    idx = np.flatnonzero(keep)
    if idx.size < 2:
        return b
    out = b.copy()
    changes = []
    for p, k in zip(idx[:-1], idx[1:]):
        excess = (out[k] - rr_ms[k] / 1000.0) - out[p]
        for step in (CLOCK_JUMP_S, -CLOCK_JUMP_S):
            if abs(excess - step) <= CLOCK_TOLERANCE_S:
                out[k:] -= step
                changes.append((k, step))
    for k, step in changes:
        t = float(out[k])
        meta.setdefault("clock_changes", []).append({"t_s": t, "step_s": step, "line": line_nos[k]})
        add_note(meta, f"clock change at line {line_nos[k]}: the beat time jumps {step:+.0f} s beyond its interval "
                       f"(daylight saving or a time-zone change), not {abs(step):.0f} s of missing beats; later "
                       f"times are read on the clock of the first row", warn=True)
    return out


def _start_meta(meta: dict, known: bool, from_name: bool) -> None:
    if known and from_name:
        meta["clock"] = CLOCK_LOCAL_AS_UTC
        add_note(meta, "start from the file name (local time, offset unknown)")
    elif not known:
        meta["start_unknown"] = True
        add_note(meta, "start unknown: the file has no date or time (set it with --start)")


def _is_epoch(t: np.ndarray) -> bool:
    return t.size > 0 and _EPOCH_RANGE_S[0] <= float(np.min(t)) <= _EPOCH_RANGE_S[1]


def _time_unit(path: Path, t_raw: np.ndarray, rr_ms: np.ndarray, ok: np.ndarray, name: str, decimals: int,
               meta: dict, grid: Grid) -> tuple[np.ndarray, float]:
    """Relative or epoch times in s, and their resolution in s."""
    forced = options().time_unit
    stated = _unit_suffix(norm_name(name)) if grid.header else None
    steps = np.diff(t_raw[np.isfinite(t_raw)])
    total_s = float(np.sum(rr_ms[ok])) / 1000.0
    # the time the column covers, in each unit, counting steps of up to 10 s only, so that a
    # clock change or a pause cannot decide the unit
    covered = {u: float(np.sum(np.clip(steps * f, 0.0, 10.0))) for u, f in _TIME_UNITS.items()}
    ratios = {u: c / total_s for u, c in covered.items() if c > 0} if total_s > 0 else {}
    fits = min(ratios, key=lambda u: abs(np.log(ratios[u]))) if ratios else None
    if fits is not None and not _TIME_SPAN_RATIO[0] <= ratios[fits] <= _TIME_SPAN_RATIO[1]:
        fits = None
    if forced and fits is not None and fits != forced:
        # another unit fits and the one set is at least 1000 times off: the override is wrong
        raise InputError(f"{path}: --time-unit {forced} makes time column {name!r} cover {covered[forced]:.3g} s "
                         f"while its intervals add up to {total_s:.1f} s; the column's values look like "
                         f"{UNIT_WORDS[fits]} (--time-unit {fits})")
    if forced or stated:
        unit = forced or stated
        add_note(meta, f"time unit {unit} ({'set by --time-unit' if forced else 'stated by the header'})")
    else:
        if not steps.size or not np.any(steps > 0) or total_s <= 0:
            raise FormatError(f"{path}: time column {name!r} does not advance; cannot tell its unit")
        unit = min(ratios, key=lambda u: abs(np.log(ratios[u])))
        if fits is None:
            raise FormatError(f"{path}: time column {name!r} covers {covered[unit]:.1f} s in {unit} while the "
                              f"intervals add up to {total_s:.1f} s: no unit (s, ms, us) fits; set it with "
                              f"--time-unit or --columns")
        add_note(meta, f"time unit {unit}: its steps cover {covered[unit]:.1f} s, the intervals add up to "
                       f"{total_s:.1f} s")
    f = _TIME_UNITS[unit]
    return t_raw * f, 10.0 ** (-decimals) * f


def _meaning(path: Path, line_nos: list[int], t_s: np.ndarray, rr_ms: np.ndarray, usable: np.ndarray,
             res_ms: float, name: str, meta: dict, forced: bool) -> str:
    """``closing``, ``opening`` (beat times) or ``arrival``, from the evidence (see the module docstring)."""
    pair = usable[1:] & usable[:-1]
    step_ms = np.diff(t_s) * 1000.0
    # a coarse column (whole seconds) must match exactly: within its own resolution any step
    # would "equal" any interval
    tol = (res_ms if res_ms <= MAX_BEAT_TIME_RES_MS else 0.0) + MATCH_MS
    n_pairs = int(pair.sum())
    closing = float(np.mean(np.abs(step_ms - rr_ms[1:])[pair] <= tol)) if n_pairs else 0.0
    opening = float(np.mean(np.abs(step_ms - rr_ms[:-1])[pair] <= tol)) if n_pairs else 0.0
    if forced or max(closing, opening) >= BEAT_TIME_SHARE:
        which = "closing" if closing >= opening else "opening"
        add_note(meta, f"time column {name!r} holds beat times (the beat {which} each interval): its step equals "
                       f"the interval on {100 * max(closing, opening):.0f}% of consecutive rows (within "
                       f"{tol:g} ms)")
        return which
    t = t_s[usable]
    back = np.flatnonzero((np.diff(t) < 0) & (np.diff(t) > -CLOCK_TOLERANCE_S))
    if back.size:
        n = line_nos[int(np.flatnonzero(usable)[back[0] + 1])]
        raise FormatError(f"{where(path, n)}: time column {name!r} goes back by {-np.diff(t)[back[0]]:g} s: "
                          f"neither beat times nor a logged clock")
    lag = t - np.cumsum(rr_ms[usable]) / 1000.0
    dl = np.abs(np.diff(lag))
    steady = float(np.mean(dl <= CLOCK_TOLERANCE_S)) if dl.size else 1.0
    repeated = float(np.mean(np.diff(t) == 0)) if t.size > 1 else 0.0
    if steady >= BEAT_TIME_SHARE:
        add_note(meta, f"time column {name!r} holds arrival times, not beat times: its step equals the interval on "
                       f"only {100 * max(closing, opening):.0f}% of rows ({100 * repeated:.0f}% of rows repeat the "
                       f"time before), yet it follows the running sum of the intervals within "
                       f"{CLOCK_TOLERANCE_S:g} s on {100 * steady:.0f}% of rows: the intervals are placed by "
                       f"their sum, anchored to this clock")
        return "arrival"
    raise FormatError(
        f"{path}: time column {name!r} is neither beat times (its step equals the "
        f"interval on {100 * max(closing, opening):.0f}% of rows) nor arrival times (it follows the running RR sum "
        f"on {100 * steady:.0f}% of rows); set its meaning with --columns (time or arrival)"
    )


def _from_times_only(path: Path, grid: Grid, roles: dict[str, int], meta: dict) -> Recording:
    """Beats from a column of beat times alone (the first row opens the first interval)."""
    t_col = roles.get("time", roles.get("arrival"))
    assert t_col is not None
    name = str(grid.header[t_col]) if grid.header else f"column {t_col + 1}"
    t_raw, ref, dec = _time_values(grid, t_col, name, meta)
    keep = np.isfinite(t_raw)
    if keep.sum() < 2:
        raise FormatError(f"{path}: needs at least two beat times to give an interval")
    nm = norm_name(name)
    forced = options().time_unit
    stated = _unit_suffix(nm) if ref is None else "s"
    steps = np.diff(t_raw[keep])
    # numbers without a stated unit: the unit in which the median step is a human RR interval
    by_median = unit_by_median(steps, {u: f * 1000.0 for u, f in _TIME_UNITS.items()}) if ref is None else None
    unit = forced or stated or by_median or "s"
    t = t_raw[keep] * _TIME_UNITS[unit]
    if forced and ref is None:
        refuse_implausible_override(path, steps * _TIME_UNITS[unit] * 1000.0, f"--time-unit {unit}",
                                    looks_like=by_median, flag="--time-unit")
    elif not stated and by_median:
        add_note(meta, f"time unit {unit}: the median step between beat times, {np.median(steps[steps > 0]):g}, "
                       f"is a human RR interval in {unit}")
    lines = [n for n, k in zip(grid.line_nos, keep) if k]
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        raise FormatError(f"{where(path, lines[int(bad[0]) + 1])}: {name} must increase, got {t[bad[0] + 1]:g} s "
                          f"after {t[bad[0]]:g} s")
    from ..signals.ecg import beats_from_times
    add_note(meta, f"only beat times ({name!r}, {unit}): each interval is the step between consecutive beats; "
                   f"steps over the gap limit are gaps")
    epoch = ref is None and _is_epoch(t)
    if epoch:
        ref = _EPOCH
        meta["clock"] = CLOCK_UTC
    t0 = float(t[0])
    beats, gaps = beats_from_times(t - t0)
    if ref is not None:
        start = ref + timedelta(seconds=t0)
    else:
        start = UNKNOWN_START
        meta["start_unknown"] = True
        meta["time_offset_s"] = t0
    return build_recording(path, start, t_s=beats["t_s"].to_numpy(), rr_ms=beats["rr_ms"].to_numpy(),
                           gaps=[(r.onset_s, r.duration_s, r.reason) for r in gaps.itertuples()], meta=meta)
