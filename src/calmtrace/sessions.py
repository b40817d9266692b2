"""Many sessions of one person: collection, the quality of each, and the trend statistics.

This is the analysis layer of the trend report (:mod:`calmtrace.report.trend` only renders what
is built here). :func:`collect_trend` expands paths into recordings, analyses them, and builds a
:class:`SessionTrend`: one row per session (date, the one quality verdict of
:func:`calmtrace.signals.quality.assess_quality`, baseline lnRMSSD and its smallest-worthwhile-
change band) and one row per session and stressor (heart-rate recovery figures); and, for the
sessions that have a day analysis (recordings of at least ``analysis.DAY_MIN_S``), one row per
calendar day (minutes per state, the stress/recovery balance) and one per night (overnight
lnRMSSD and heart rate, with the same SWC band over nights; :mod:`calmtrace.signals.day_trend`).

The SWC band (Plews et al. 2012, Eur J Appl Physiol 112:3729-41; Plews et al. 2013, Sports Med
43:773-81; Plews et al. 2014, Int J Sports Physiol Perform 9:783-90): the rolling mean of baseline
lnRMSSD over the last ``TrendConfig.swc_window`` quality-checked sessions *before* a session,
+/- ``TrendConfig.swc_factor`` x their SD. A session's value outside that band is a worthwhile
change from the recent norm. The band is built from earlier sessions only, so a value is never
judged against a band it helped to make.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .analysis import DAY_MIN_S, analyze, checksum
from .errors import AnalysisError, InputError
from .loader import load, load_acc
from .signals.config import TrendConfig
from .signals.day_trend import DAY_COLUMNS, NIGHT_COLUMNS, calendar_days, nights
from .signals.linking import format_duration, time_to_baseline
from .signals.quality import Quality, assess_quality

__all__ = ["SessionTrend", "collect_recordings", "analyze_all", "trend_tables", "build_trend", "collect_trend",
           "day_trend_tables", "drop_duplicates", "check_overlaps", "start_unknown", "session_name",
           "undated_line", "shared_date_notes", "day_rule", "SESSION_COLUMNS", "STRESSOR_COLUMNS",
           "TREND_DAY_COLUMNS", "TREND_NIGHT_COLUMNS", "SWC_WINDOW", "SWC_MIN_SESSIONS", "SWC_FACTOR"]

log = logging.getLogger(__name__)

#: The defaults of :class:`~calmtrace.signals.config.TrendConfig` (sources there).
SWC_WINDOW: int = TrendConfig().swc_window
SWC_MIN_SESSIONS: int = TrendConfig().swc_min_sessions
SWC_FACTOR: float = TrendConfig().swc_factor

SESSION_COLUMNS: tuple[str, ...] = (
    "session", "date", "subject", "source", "simulated", "duration_s", "artifact_pct", "invalid_pct", "gap_s",
    "baseline_ln_rmssd", "baseline_source", "baseline_hr_bpm", "quality_ok", "quality_issues",
    "swc_mean", "swc_low", "swc_high", "swc_n", "vs_swc",
)
STRESSOR_COLUMNS: tuple[str, ...] = (
    "session", "date", "label", "onset_s", "quality_ok", "reactivity_bpm", "time_to_baseline_s", "recovered",
    "ttb_censored", "time_to_baseline", "t50_s", "tau_s", "tau_ci_low_s", "tau_ci_high_s", "hrr60_bpm",
    "ln_rmssd_time_to_baseline", "note",
)
#: Columns of the trend's calendar days (:func:`day_trend_tables`).
TREND_DAY_COLUMNS: tuple[str, ...] = ("session", *DAY_COLUMNS)
_NIGHT_COLUMNS_SESSION: tuple[str, ...] = ("session", *NIGHT_COLUMNS)
#: Columns of the trend's nights (:func:`day_trend_tables`): a night's columns, then its SWC band.
TREND_NIGHT_COLUMNS: tuple[str, ...] = (
    *_NIGHT_COLUMNS_SESSION, "band_mean", "band_low", "band_high", "band_n", "vs_band", "band_note",
)


@dataclass
class SessionTrend:
    """What the trend report renders.

    Attributes
    ----------
    results : list of AnalysisResult
        The sessions, by start time.
    sessions, stressors : pandas.DataFrame
        :func:`trend_tables` of ``results``.
    config : TrendConfig
        The SWC band's parameters (written in the report's methods).
    quality : list of Quality
        Each session's verdict, in the order of ``results``.
    days, nights : pandas.DataFrame
        :func:`day_trend_tables` of ``results`` (columns :data:`TREND_DAY_COLUMNS`,
        :data:`TREND_NIGHT_COLUMNS`); empty when no session has a day analysis.
    day_notes : list of str
        One line per session left out of the day and night tables, saying why.
    undated : list of AnalysisResult
        Sessions whose start is unknown (``meta["start_unknown"]``, what ``calmtrace info`` shows
        as "start unknown"): not given a date, so left out of every table and panel ordered by
        date, and listed apart (:func:`undated_line`).
    notes : list of str
        One line per fact about the collection the reader must know: recordings given twice
        (counted once), sessions without a date, calendar dates or nights covered by more than
        one recording.
    day_min_s : float
        The shortest recording the trend gives a day analysis (``analysis.DAY_MIN_S``, s).
    """

    results: list
    sessions: pd.DataFrame
    stressors: pd.DataFrame
    config: TrendConfig = field(default_factory=TrendConfig)
    quality: list = field(default_factory=list)
    days: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TREND_DAY_COLUMNS)))
    nights: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TREND_NIGHT_COLUMNS)))
    day_notes: list = field(default_factory=list)
    undated: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    day_min_s: float = DAY_MIN_S


def _trend_config(results: Sequence[Any]) -> TrendConfig:
    for r in results:
        t = getattr(getattr(r, "config", None), "trend", None)
        if isinstance(t, TrendConfig):
            return t
    return TrendConfig()


def build_trend(results: Sequence[Any], config: TrendConfig | None = None) -> SessionTrend:
    """A :class:`SessionTrend` of analysed sessions (sorted by start time).

    Before anything is counted: a recording given twice (the same ``input_checksum`` in its
    provenance, e.g. a copied folder) is kept once, the first given, with a note naming both;
    sessions whose start is unknown are set apart (``undated``), never given a date; and two dated
    recordings of one subject that overlap in time are refused (:func:`check_overlaps`).

    Raises
    ------
    InputError
        When two recordings of the same subject overlap in time.
    """
    kept, notes = drop_duplicates(results)
    undated = [r for r in kept if start_unknown(r)]
    dated = [r for r in kept if not start_unknown(r)]
    check_overlaps(dated)
    ordered = sorted(dated, key=lambda r: r.recording.start)
    cfg = config or _trend_config(ordered or undated)
    sessions, stressors = trend_tables(ordered, cfg)
    days, nights_, day_notes = day_trend_tables(ordered, cfg)
    if undated:
        notes.append(undated_line(undated))
    notes += shared_date_notes(days, nights_)
    for line in notes:
        log.warning("%s", line)
    return SessionTrend(ordered, sessions, stressors, cfg, [_quality(r) for r in ordered], days, nights_, day_notes,
                        undated, notes)


def collect_trend(items: Iterable[Any], config: Any = None) -> SessionTrend:
    """Analyse ``items`` (results, recordings, folders; see :func:`analyze_all`) into a trend.

    Parameters
    ----------
    items : iterable of AnalysisResult or path-like
    config : AnalysisConfig, optional
        For the recordings analysed here, and its ``[trend]`` section for the SWC band.
    """
    results = analyze_all(items, config)
    return build_trend(results, getattr(config, "trend", None))


# -------------------------------------------------------------------------------------------
# inputs
# -------------------------------------------------------------------------------------------
def collect_recordings(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand the paths given on the command line into recordings.

    A recording folder (it has ``recording.json``) or a file is taken as it is; any other folder
    stands for the recording folders directly inside it (sorted by name), e.g.
    ``recordings/sample/weekly`` for ``week-01`` ... ``week-08``.

    Raises
    ------
    InputError
        When a path does not exist or a folder holds no recording folder.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if p.is_dir() and not (p / "recording.json").exists():
            inner = sorted(q for q in p.iterdir() if q.is_dir() and (q / "recording.json").exists())
            if not inner:
                raise InputError(f"{p}: neither a recording folder nor a folder of recording folders")
            out += inner
        else:
            out.append(p)
    return out


def analyze_all(items: Iterable[Any], config: Any = None) -> list[Any]:
    """Analysis results of ``items``: AnalysisResults as they are, paths loaded and analysed.

    A path whose checksum (:func:`calmtrace.analysis.checksum`) equals an earlier path's is the same
    recording (e.g. a copied folder): it is not analysed again; its result is the earlier one's
    with its own ``source`` in the provenance, so that :func:`build_trend` names it and counts it
    once.
    """
    results, paths = [], []
    for item in items:
        if hasattr(item, "recovery") and hasattr(item, "windows"):
            results.append(item)
        else:
            paths.append(item)
    seen: dict[str, Any] = {}
    for p in collect_recordings(paths) if paths else []:
        key = checksum(p)
        if key in seen:
            log.info("%s is the same recording as %s: not analysed again", p, seen[key].provenance.get("source"))
            results.append(replace(seen[key], provenance={**seen[key].provenance, "source": str(p)}))
            continue
        log.info("analysing %s for the trend report", p)
        rec = load(p)
        # a long recording's day analysis uses the chest accelerometer, as `calmtrace day` does
        acc = load_acc(p, rec.start) if rec.duration_s >= DAY_MIN_S else None
        results.append(analyze(rec, config, source=p, acc=acc))
        seen[key] = results[-1]
    return results


# -------------------------------------------------------------------------------------------
# the collection: duplicates, sessions without a date, overlaps
# -------------------------------------------------------------------------------------------
def session_name(result: Any) -> str:
    """How a session is named in messages: its source as given (path or file), else its start."""
    src = result.provenance.get("source") or result.recording.meta.get("source_file")
    if src:
        return str(src)
    if start_unknown(result):  # its start is a placeholder, never a date to show
        return f"an unnamed recording of {result.recording.meta.get('subject') or 'an unnamed subject'}"
    return f"the recording starting {pd.Timestamp(result.recording.start).isoformat()}"


def start_unknown(result: Any) -> bool:
    """True when the recording's file gave no date or time (``meta["start_unknown"]``, set by the
    importers and shown by ``calmtrace info`` as "start unknown")."""
    return bool(result.recording.meta.get("start_unknown"))


def drop_duplicates(results: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """The results with every recording given more than once kept once (the first given).

    Two results are the same recording when their provenance has the same ``input_checksum``
    (SHA-256 of the file, or of a folder's file names and contents: a copied folder has the same).
    Results without a checksum (analysed in memory) are all kept; :func:`check_overlaps` catches
    them if they are the same recording.

    Returns
    -------
    (kept, notes)
        ``kept`` in the order given; ``notes`` one line per dropped result, e.g.
        ``"dup-day1 is the same recording as trend/day1; counted once"``.
    """
    first: dict[str, Any] = {}
    kept, notes = [], []
    for r in results:
        key = (getattr(r, "provenance", None) or {}).get("input_checksum")
        if key and key in first:
            notes.append(f"{session_name(r)} is the same recording as {session_name(first[key])}; counted once")
            continue
        if key:
            first[key] = r
        kept.append(r)
    return kept, notes


def _zone_known(result: Any) -> bool:
    return "offset unknown" not in str(result.recording.meta.get("clock", ""))


def check_overlaps(results: Sequence[Any]) -> None:
    """Refuse two dated recordings of the same subject that overlap in time.

    A moment recorded twice would be counted twice (its minutes in the day table, its night among
    the "earlier nights" of its own SWC band), and calmtrace cannot tell which of the two
    recordings to trust where they differ (two devices worn together, or one recording imported
    twice from different files); merging them would give figures neither recording has. So the
    trend refuses, and the user leaves one out. Recordings are compared only when both clocks
    are of the same kind (both with a known UTC offset, or both device local time without one);
    recordings of different subjects are never compared (the report warns about those).

    Raises
    ------
    InputError
        Naming both recordings, the subject and the overlap.
    """
    spans = []
    for r in results:
        start = pd.Timestamp(r.recording.start)
        spans.append((start, start + pd.Timedelta(seconds=float(r.recording.duration_s)), r))
    spans.sort(key=lambda t: t[0])
    for i, (a0, a1, ra) in enumerate(spans):
        for b0, b1, rb in spans[i + 1:]:
            if b0 >= a1:
                break
            if (str(ra.recording.meta.get("subject", "")) != str(rb.recording.meta.get("subject", ""))
                    or _zone_known(ra) != _zone_known(rb)):
                continue
            ov_s = (min(a1, b1) - b0).total_seconds()
            subject = ra.recording.meta.get("subject", "") or "unnamed"
            raise InputError(
                f"{session_name(rb)}: overlaps {session_name(ra)} by {format_duration(ov_s)} "
                f"({b0:%Y-%m-%d %H:%M} to {min(a1, b1):%Y-%m-%d %H:%M} UTC, subject {subject}); the trend counts "
                "each moment once and cannot tell which recording to trust there: leave one of them out")


def undated_line(undated: Sequence[Any]) -> str:
    """The one line naming the sessions without a date."""
    n = len(undated)
    names = ", ".join(f"{session_name(r)} ({r.recording.duration_s / 3600:.1f} h)" for r in undated)
    return (f"{n} session{'' if n == 1 else 's'} without a date: {names}. "
            f"{'Its' if n == 1 else 'Their'} file gave no date or time, so {'it is' if n == 1 else 'they are'} "
            "left out of the trend's tables and panels, which are ordered by date "
            "(set the start with calmtrace import --start to include it).")


def shared_date_notes(days: pd.DataFrame, nights_: pd.DataFrame) -> list[str]:
    """One line per calendar date (or night) that more than one recording covers.

    Such a date has one row per recording in the day table, each with that recording's own
    minutes; they are not added up (two recordings on one date that do not overlap in time, e.g.
    a morning and an evening one, each cover a part of the day).
    """
    out = []
    for table, col, what in ((days, "date", "day table and panel show each recording's own minutes"),
                             (nights_, "date", "night table and panel show each recording's night")):
        if not len(table):
            continue
        dated = table[table[col].astype(str) != ""]
        for date, g in dated.groupby(col, sort=True):
            ids = sorted(set(int(s) for s in g["session"]))
            if len(ids) > 1:
                kind = "Calendar day" if table is days else "Night ending"
                out.append(f"{kind} {date} is covered by {len(ids)} recordings (sessions "
                           f"{', '.join(map(str, ids))}); the {what}, side by side, not added up.")
    return out


# -------------------------------------------------------------------------------------------
# tables
# -------------------------------------------------------------------------------------------
def _baseline_ln_rmssd(result: Any) -> tuple[float, str]:
    """A session's baseline lnRMSSD and where it came from.

    The baseline the recovery assessment used for the first stressor (so the trend and the
    session report agree); without one, the mean over valid windows wholly inside the
    session's baseline events.
    """
    rc = result.recovery
    if len(rc) and "ln_rmssd" in set(rc["metric"]):
        row = rc[rc["metric"] == "ln_rmssd"].sort_values("onset_s").iloc[0]
        if math.isfinite(float(row["baseline_mean"])):
            return float(row["baseline_mean"]), f"baseline of '{row['event_label']}'"
    win, ev = result.windows, result.recording.events.df
    base = ev[(ev["kind"] == "baseline") & (ev["duration_s"] > 0)]
    if len(win) and len(base):
        inside = np.zeros(len(win), dtype=bool)
        for b in base.itertuples(index=False):
            inside |= (win["start_s"].to_numpy(float) >= b.onset_s) & (win["end_s"].to_numpy(float) <= b.offset_s)
        v = win.loc[inside & win["valid"].to_numpy(bool), "ln_rmssd"]
        if len(v):
            return float(v.mean()), "baseline events"
    return math.nan, ""


def _quality(result: Any) -> Quality:
    """The session's one verdict (computed by analyze; assessed here for older results)."""
    q = getattr(result, "quality", None)
    if q is None:
        cfg = getattr(getattr(result, "config", None), "quality", None)
        q = assess_quality(result.recording, result.windows, cfg)
    return q


def _swc(values: np.ndarray, ok: np.ndarray, cfg: TrendConfig) -> pd.DataFrame:
    """Rolling SWC band of each session from the quality-checked sessions before it."""
    rows = []
    for k in range(len(values)):
        prior = [values[j] for j in range(k) if ok[j] and math.isfinite(values[j])][-cfg.swc_window:]
        if len(prior) < cfg.swc_min_sessions:
            rows.append((math.nan, math.nan, math.nan, len(prior), ""))
            continue
        m, sd = float(np.mean(prior)), float(np.std(prior, ddof=1))
        lo, hi = m - cfg.swc_factor * sd, m + cfg.swc_factor * sd
        v = values[k]
        where = "" if not math.isfinite(v) else ("above" if v > hi else "below" if v < lo else "within")
        rows.append((m, lo, hi, len(prior), where))
    return pd.DataFrame(rows, columns=["swc_mean", "swc_low", "swc_high", "swc_n", "vs_swc"])


def trend_tables(results: Sequence[Any], config: TrendConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The session table and the stressor table of a series of analysed sessions.

    Parameters
    ----------
    results : sequence of AnalysisResult
        Sessions of one subject, in any order (sorted here by start time).
    config : TrendConfig, optional
        The SWC band; default the ``[trend]`` section of the first session's config.

    Returns
    -------
    (sessions, stressors) : two pandas.DataFrame
        ``sessions``: columns :data:`SESSION_COLUMNS`, one row per session (``session`` is its
        1-based rank by date; ``date`` its start, UTC). ``stressors``: columns
        :data:`STRESSOR_COLUMNS`, one row per session and stressor, heart-rate figures.
    """
    ordered = sorted(results, key=lambda r: r.recording.start)
    cfg = config or _trend_config(ordered)
    srows, trows = [], []
    for k, res in enumerate(ordered, start=1):
        rec = res.recording
        base, base_src = _baseline_ln_rmssd(res)
        q = _quality(res)
        art, inv, gap_s, issues = q.artifact_pct, q.invalid_windows_pct, q.gap_s, list(q.issues)
        rc = res.recovery
        hr = rc[rc["metric"] == "mean_hr_bpm"] if len(rc) else rc
        base_hr = float(hr["baseline_mean"].iloc[0]) if len(hr) else math.nan
        srows.append({
            "session": k, "date": pd.Timestamp(rec.start), "subject": rec.meta.get("subject", ""),
            "source": str(res.provenance.get("source") or rec.meta.get("source_file") or ""),
            "simulated": bool(res.provenance.get("simulated") or rec.meta.get("simulated")),
            "duration_s": rec.duration_s, "artifact_pct": art, "invalid_pct": inv, "gap_s": gap_s,
            "baseline_ln_rmssd": base, "baseline_source": base_src, "baseline_hr_bpm": base_hr,
            "quality_ok": not issues, "quality_issues": "; ".join(issues),
        })
        ln = rc[rc["metric"] == "ln_rmssd"] if len(rc) else rc
        for _, r in hr.iterrows():
            ttb = time_to_baseline(r)
            lr = ln[(ln["event_label"] == r["event_label"]) & np.isclose(ln["onset_s"], r["onset_s"])]
            ln_text = ""
            if len(lr):
                c = time_to_baseline(lr.iloc[0])
                ln_text = "n/a" if not c.known else (("not within " if c.censored else "") + format_duration(c.value_s))
            trows.append({
                "session": k, "date": pd.Timestamp(rec.start), "label": r["event_label"], "onset_s": float(r["onset_s"]),
                "quality_ok": not issues, "reactivity_bpm": float(r["reactivity"]),
                "time_to_baseline_s": ttb.value_s, "recovered": bool(r["recovered"]), "ttb_censored": ttb.censored,
                "time_to_baseline": "n/a" if not ttb.known else (("not within " if ttb.censored else "")
                                                                 + format_duration(ttb.value_s)),
                "t50_s": float(r["t50_s"]), "tau_s": float(r["tau_s"]), "tau_ci_low_s": float(r["tau_ci_low_s"]),
                "tau_ci_high_s": float(r["tau_ci_high_s"]), "hrr60_bpm": float(r["hrr60_bpm"]),
                "ln_rmssd_time_to_baseline": ln_text, "note": str(r.get("note", "") or ""),
            })
    sessions = pd.DataFrame(srows, columns=[c for c in SESSION_COLUMNS if c not in
                                            ("swc_mean", "swc_low", "swc_high", "swc_n", "vs_swc")])
    if len(sessions):
        band = _swc(sessions["baseline_ln_rmssd"].to_numpy(float), sessions["quality_ok"].to_numpy(bool), cfg)
        sessions = pd.concat([sessions, band], axis=1)
    else:
        sessions = pd.DataFrame(columns=list(SESSION_COLUMNS))
    return sessions, pd.DataFrame(trows, columns=list(STRESSOR_COLUMNS))


# -------------------------------------------------------------------------------------------
# days and nights
# -------------------------------------------------------------------------------------------
def day_rule(day_min_s: float = DAY_MIN_S) -> str:
    """The trend's rule for which recordings get a day analysis, in words (one place for the fact).

    :func:`analyze_all` reads a recording's accelerometer, and :func:`calmtrace.analysis.analyze`
    runs the day analysis, only for recordings of at least ``day_min_s``
    (``analysis.DAY_MIN_S``); ``calmtrace day`` analyses a shorter one when asked.
    """
    return (f"the trend's day panels take recordings of {day_min_s / 3600:g} h or more "
            "(calmtrace day analyses shorter ones on request)")


def _no_day_reason(result: Any) -> str:
    """Why an analysed session has no day analysis."""
    rec = result.recording
    if rec.duration_s < DAY_MIN_S:
        return f"it lasts {rec.duration_s / 3600:.1f} h; {day_rule(DAY_MIN_S)}"
    from .signals.day import analyze_day

    try:
        analyze_day(rec, None, getattr(result.day, "config", None))
    except AnalysisError as exc:
        return str(exc)
    return "it was analysed without its day analysis"


def day_trend_tables(results: Sequence[Any], config: TrendConfig | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Calendar days and nights of the sessions that have a day analysis, and notes on the others.

    Parameters
    ----------
    results : sequence of AnalysisResult
        Sessions of one subject, in any order (sorted here by start time, as
        :func:`trend_tables`, so that ``session`` is the same rank). A session's day analysis is
        its ``day`` attribute: :func:`calmtrace.analysis.analyze` computes it for recordings of at
        least ``DAY_MIN_S`` (or given an accelerometer), the same as ``calmtrace day`` writes.
    config : TrendConfig, optional
        The balance's minimum, the nights' minimum measured share and the SWC band.

    Returns
    -------
    (days, nights, notes)
        ``days``: :data:`TREND_DAY_COLUMNS`, one row per session and calendar day
        (:func:`calmtrace.signals.day_trend.calendar_days`). ``nights``:
        :data:`TREND_NIGHT_COLUMNS`, one row per night of every session in time order
        (:func:`calmtrace.signals.day_trend.nights`), with the smallest-worthwhile-change band of
        the nights before it: the mean of the last ``swc_window`` nights with an overnight
        lnRMSSD, +/- ``swc_factor`` x their SD, once at least ``swc_min_sessions`` such nights
        precede it (the band of :func:`trend_tables`, one value per night; Plews et al. 2012,
        2013, 2014); ``vs_band`` is ``above``, ``below`` or ``within``, and ``band_note`` says why
        there is no band. ``notes``: one line per session without a day analysis.
    """
    ordered = sorted(results, key=lambda r: r.recording.start)
    cfg = config or _trend_config(ordered)
    day_parts: list[dict] = []
    night_parts: list[tuple[pd.Timestamp, dict]] = []
    notes: list[str] = []
    for k, res in enumerate(ordered, start=1):
        day = getattr(res, "day", None)
        if day is None:
            notes.append(f"Session {k} ({pd.Timestamp(res.recording.start):%Y-%m-%d}) has no day analysis: "
                         f"{_no_day_reason(res)}.")
            continue
        day_parts += [{"session": k, **row} for row in calendar_days(day, res.recording, cfg).to_dict("records")]
        start = pd.Timestamp(res.recording.start)
        night_parts += [(start + pd.Timedelta(seconds=float(row["onset_s"])), {"session": k, **row})
                        for row in nights(day, res.recording, cfg).to_dict("records")]
    # rows, not frames, are joined: no concatenation of all-NaN columns (pandas 2 and 3 alike)
    days = pd.DataFrame(day_parts, columns=list(TREND_DAY_COLUMNS))
    if night_parts:
        night_parts.sort(key=lambda tr: tr[0])
        nt = pd.DataFrame([row for _, row in night_parts], columns=list(_NIGHT_COLUMNS_SESSION))
        values = nt["ln_rmssd"].to_numpy(float)
        band = _swc(values, np.isfinite(values), cfg)
        band.columns = ["band_mean", "band_low", "band_high", "band_n", "vs_band"]
        band["band_note"] = ["" if math.isfinite(m) else
                             f"{n_prior} earlier night{'' if n_prior == 1 else 's'} with an overnight lnRMSSD; "
                             f"the band needs {cfg.swc_min_sessions}"
                             for m, n_prior in zip(band["band_mean"], band["band_n"])]
        nt = pd.concat([nt, band], axis=1)
    else:
        nt = pd.DataFrame(columns=list(TREND_NIGHT_COLUMNS))
    return days[list(TREND_DAY_COLUMNS)], nt[list(TREND_NIGHT_COLUMNS)], notes
