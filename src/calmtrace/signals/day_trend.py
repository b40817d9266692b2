"""A day analysis cut into calendar days and nights, for the trend across sessions.

:func:`calmtrace.signals.day.analyze_day` labels every epoch of a long recording and finds its
sleep spans; its own summary counts 24-h blocks from the recording's start. The trend across
sessions (:mod:`calmtrace.sessions`) sets days and nights of several recordings side by side, so
this module regroups the same epochs and sleep spans by the recording's clock:

- **Calendar day**: the date of an epoch's midpoint on the recording's clock, i.e. its start
  (UTC) shifted by ``meta["utc_offset"]`` when the importer or ``--timezone`` set one. A file that
  gave its device's local time without an offset keeps those times (they are taken as UTC by the
  importer, so the dates are the device's own). A recording whose start is unknown
  (``meta["start_unknown"]``) has no dates: its days are 24-h blocks from its start, labelled
  ``day 1``, ``day 2`` ... A recording over several days is split into several calendar days; the
  first and last are usually partial (``covered_min`` says how much of the day was worn).
- **Stress/recovery balance** of a day: the share of its *measured waking* minutes (epochs neither
  ``unmeasured`` nor inside a sleep span) in ``stress`` and in ``recovery``, in percent. This is
  calmtrace's own summary of its own epoch states. It follows the idea of a daily balance of
  stress and recovery reactions in commercial lifestyle assessments (Firstbeat's, for context
  only: their method is closed, and these figures are not theirs and not comparable with them).
  Below ``TrendConfig.balance_min_waking_min`` measured waking minutes the shares are NaN with the
  reason.
- **Night**: each sleep span of the day analysis, named by the clock date on which it ends (the
  morning, as morning HRV readings are dated in the HRV-guided training literature, Plews et al.
  2012, 2013). Its overnight heart rate and lnRMSSD are the day analysis' own: the means over the
  valid epochs of the first ``DayConfig.sleep_first_s`` of sleep. They are NaN with the reason when
  the recording starts inside the night (the first hours were not recorded), ends before the first
  hours are over, or fewer than ``TrendConfig.night_min_measured_pct`` percent of the first hours'
  epochs are measured.

Nothing here is a diagnosis; see docs/day.md for what the states are not.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..recording import Recording
from .config import TrendConfig
from .day import STATES

__all__ = ["DAY_COLUMNS", "NIGHT_COLUMNS", "recording_clock", "calendar_days", "nights"]

log = logging.getLogger(__name__)

#: Columns of :func:`calendar_days`.
DAY_COLUMNS: tuple[str, ...] = (
    "day", "date", "clock", "covered_min", *(f"{s}_min" for s in STATES), "measured_min", "asleep_min",
    "waking_measured_min", "waking_stress_min", "waking_recovery_min", "stress_pct", "recovery_pct",
    "balance_note",
)
#: Columns of :func:`nights`.
NIGHT_COLUMNS: tuple[str, ...] = (
    "night", "date", "clock", "onset", "end", "onset_s", "end_s", "source", "duration_h", "first_h",
    "first_measured_pct", "hr_bpm", "ln_rmssd", "note",
)

_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def recording_clock(recording: Recording) -> tuple[timedelta | None, str]:
    """The offset that turns the recording's UTC start into its clock time, and the clock's name.

    Parameters
    ----------
    recording : Recording

    Returns
    -------
    (datetime.timedelta or None, str)
        The offset (``meta["utc_offset"]``, e.g. ``"+02:00"``; zero when absent) and a name such as
        ``"UTC"``, ``"UTC+02:00"`` or ``"device local time, zone unknown"``. The offset is None, and
        the name says so, when the recording's start is unknown (``meta["start_unknown"]``).
    """
    meta = recording.meta
    if meta.get("start_unknown"):
        return None, "start unknown: 24-h blocks from the recording's start"
    m = _OFFSET.fullmatch(str(meta.get("utc_offset") or "").strip())
    if m:
        sign = 1 if m.group(1) == "+" else -1
        off = sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return off, "UTC" if off == timedelta(0) else f"UTC{m.group(1)}{m.group(2)}:{m.group(3)}"
    if "offset unknown" in str(meta.get("clock", "")):
        return timedelta(0), "device local time, zone unknown"
    return timedelta(0), "UTC"


def _local_times(recording: Recording, offset: timedelta, t_s: np.ndarray) -> pd.DatetimeIndex:
    origin = pd.Timestamp(recording.start).tz_convert("UTC").tz_localize(None) + pd.Timedelta(offset)
    return origin + pd.to_timedelta(np.asarray(t_s, float), unit="s")


def _day_keys(day: Any, recording: Recording) -> tuple[np.ndarray, np.ndarray, str]:
    """Per epoch: the day label and its date (``""`` without a clock), and the clock's name."""
    ep = day.epochs
    mid = ep["start_s"].to_numpy(float) + day.config.epoch_s / 2.0
    offset, name = recording_clock(recording)
    if offset is None:
        k = np.floor(mid / 86400.0).astype(int) + 1
        labels = np.array([f"day {i}" for i in k], dtype=object)
        return labels, np.full(len(ep), "", dtype=object), name
    dates = np.asarray(_local_times(recording, offset, mid).strftime("%Y-%m-%d"), dtype=object)
    return dates, dates, name


def calendar_days(day: Any, recording: Recording, config: TrendConfig | None = None) -> pd.DataFrame:
    """Minutes per state and the stress/recovery balance of each calendar day of a day analysis.

    Parameters
    ----------
    day : DayResult
        From :func:`calmtrace.signals.day.analyze_day` (its ``epochs`` and ``config``).
    recording : Recording
        The recording it came from (its start and clock).
    config : TrendConfig, optional
        ``balance_min_waking_min``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DAY_COLUMNS`, one row per calendar day in time order: ``day`` (the date
        ``YYYY-MM-DD``, or ``day N`` without a clock), ``date`` (the same date, ``""`` without a
        clock), ``clock`` (:func:`recording_clock`'s name), ``covered_min`` (epochs in the day x
        epoch length), ``<state>_min`` for every state of :data:`calmtrace.signals.day.STATES`,
        ``measured_min``, ``asleep_min``, ``waking_measured_min``, ``waking_stress_min``,
        ``waking_recovery_min``, ``stress_pct`` and ``recovery_pct`` (of the measured waking
        minutes, %) and ``balance_note`` (why the shares are NaN; empty otherwise).
    """
    cfg = config or TrendConfig()
    ep = day.epochs
    per_min = day.config.epoch_s / 60.0
    keys, dates, name = _day_keys(day, recording)
    state = ep["state"].to_numpy(dtype=object)
    asleep = ep["asleep"].to_numpy(dtype=bool)
    measured = state != "unmeasured"
    rows = []
    for key in dict.fromkeys(keys):
        sel = keys == key
        row: dict[str, Any] = {"day": str(key), "date": str(dates[sel][0]), "clock": name,
                               "covered_min": float(sel.sum() * per_min)}
        for s in STATES:
            row[f"{s}_min"] = float(np.sum(sel & (state == s)) * per_min)
        wake = sel & measured & ~asleep
        row["measured_min"] = float(np.sum(sel & measured) * per_min)
        row["asleep_min"] = float(np.sum(sel & asleep) * per_min)
        row["waking_measured_min"] = float(wake.sum() * per_min)
        row["waking_stress_min"] = float(np.sum(wake & (state == "stress")) * per_min)
        row["waking_recovery_min"] = float(np.sum(wake & (state == "recovery")) * per_min)
        if row["waking_measured_min"] >= cfg.balance_min_waking_min:
            row["stress_pct"] = 100.0 * row["waking_stress_min"] / row["waking_measured_min"]
            row["recovery_pct"] = 100.0 * row["waking_recovery_min"] / row["waking_measured_min"]
            row["balance_note"] = ""
        else:
            row["stress_pct"] = row["recovery_pct"] = math.nan
            row["balance_note"] = (f"{row['waking_measured_min']:.0f} measured waking minutes; the balance needs "
                                   f"at least {cfg.balance_min_waking_min:g}")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(DAY_COLUMNS))


def nights(day: Any, recording: Recording, config: TrendConfig | None = None) -> pd.DataFrame:
    """The nights of a day analysis with their overnight heart rate and lnRMSSD.

    Parameters
    ----------
    day : DayResult
        From :func:`calmtrace.signals.day.analyze_day` (its ``sleep``, ``epochs`` and ``config``).
    recording : Recording
        The recording it came from (its start and clock).
    config : TrendConfig, optional
        ``night_min_measured_pct``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NIGHT_COLUMNS`, one row per sleep span in time order: ``night`` (the clock
        date it ends on, or ``night N`` without a clock), ``date`` (``""`` without a clock),
        ``clock``, ``onset`` and ``end`` (clock times as text), ``onset_s`` and ``end_s`` (s since
        the recording's start), ``source`` (``event`` or ``quietest span``), ``duration_h``,
        ``first_h`` (the hours of sleep the overnight figures cover), ``first_measured_pct`` (share
        of the first hours' epochs that are measured, %), ``hr_bpm`` (bpm) and ``ln_rmssd``
        (ln(ms)), NaN with ``note`` saying why where the night cannot support them.
    """
    cfg = config or TrendConfig()
    sl = day.sleep
    ep = day.epochs
    first_s = float(day.config.sleep_first_s)
    epoch_s = float(day.config.epoch_s)
    mid = ep["start_s"].to_numpy(float) + epoch_s / 2.0
    valid = ep["valid"].to_numpy(bool)
    rec_end = float(ep["end_s"].max()) if len(ep) else 0.0
    offset, name = recording_clock(recording)
    rows = []
    for k, r in enumerate(sl.itertuples(index=False), start=1):
        o, e = float(r.onset_s), float(r.end_s)
        first_end = min(e, o + first_s)
        inside = (mid >= o) & (mid < first_end)
        pct = float(100.0 * valid[inside].mean()) if inside.any() else math.nan
        if offset is None:
            label, date, on_txt, end_txt = f"night {k}", "", f"start + {o / 3600:.1f} h", f"start + {e / 3600:.1f} h"
        else:
            t = _local_times(recording, offset, np.array([o, e]))
            date = t[1].strftime("%Y-%m-%d")
            label, on_txt, end_txt = date, t[0].strftime("%Y-%m-%d %H:%M"), t[1].strftime("%Y-%m-%d %H:%M")
        note = ""
        if o < 0 or (str(r.source) != "event" and o < epoch_s):
            note = "the recording starts inside this night: its first hours were not recorded"
        elif first_end - o < first_s and e >= rec_end - epoch_s:
            note = (f"the recording ends {(e - o) / 3600:.1f} h into this night, before its first "
                    f"{first_s / 3600:g} h were over")
        elif not math.isfinite(pct) or pct < cfg.night_min_measured_pct:
            note = (f"{0.0 if not math.isfinite(pct) else pct:.0f} % of the first {first_s / 3600:g} h of sleep "
                    f"measured; at least {cfg.night_min_measured_pct:g} % needed")
        elif not math.isfinite(float(r.ln_rmssd)):
            note = "no measured epoch in the first hours of sleep"
        usable = note == ""
        rows.append({
            "night": label, "date": date, "clock": name, "onset": on_txt, "end": end_txt, "onset_s": o, "end_s": e,
            "source": str(r.source), "duration_h": (e - o) / 3600.0, "first_h": (first_end - o) / 3600.0,
            "first_measured_pct": pct,
            "hr_bpm": float(r.hr_bpm) if usable else math.nan,
            "ln_rmssd": float(r.ln_rmssd) if usable else math.nan, "note": note,
        })
    return pd.DataFrame(rows, columns=list(NIGHT_COLUMNS))
