"""The trend report: one subject's sessions by date, to see whether recovery changes over weeks.

For each session: the baseline lnRMSSD, with the smallest-worthwhile-change (SWC) band of the
sessions before it; and per stressor, heart rate's time to baseline, half-recovery, time constant
and reactivity. Sessions that fail the quality checks stay in the tables and the figure, marked,
and are left out of the SWC band; they are never dropped.

The SWC band (Plews et al. 2012, Eur J Appl Physiol 112:3729-41; Plews et al. 2013, Sports Med
43:773-81; Plews et al. 2014, Int J Sports Physiol Perform 9:783-90): the rolling mean of
baseline lnRMSSD over the last :data:`SWC_WINDOW` quality-checked sessions *before* a session,
+/- :data:`SWC_FACTOR` x their SD. A session's value outside that band is a worthwhile change
from the recent norm. The band is built from earlier sessions only, so a value is never judged
against a band it helped to make.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import _version
from . import figures
from .html import (
    ARTIFACT_CAUTION_PCT,
    INVALID_WINDOWS_CAUTION_PCT,
    esc,
    figure_html,
    fmt,
    note_reason,
    page,
    write_text_atomic,
)
from .linking import format_duration, time_to_baseline

__all__ = ["SWC_WINDOW", "SWC_MIN_SESSIONS", "SWC_FACTOR", "collect_recordings", "analyze_all", "trend_tables",
           "write_trend_report", "render_trend_report"]

log = logging.getLogger(__name__)

#: Sessions in the rolling window of the SWC band. Default 7: Plews et al. (2012, 2013) roll over
#: 7 daily values; here one value is one session.
SWC_WINDOW: int = 7
#: Fewest earlier sessions for a band. Default 3: Plews et al. (2014) found that 3 values per
#: week already give a valid rolling mean of lnRMSSD.
SWC_MIN_SESSIONS: int = 3
#: Half-width of the band in SDs. Default 0.5 (Plews et al. 2012, 2013, after Hopkins' smallest
#: worthwhile change of 0.5 x the between-day SD).
SWC_FACTOR: float = 0.5

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
    from ..errors import InputError

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
    """Analysis results of ``items``: AnalysisResults as they are, paths loaded and analysed."""
    from ..analysis import analyze
    from ..loader import load

    results, paths = [], []
    for item in items:
        if hasattr(item, "recovery") and hasattr(item, "windows"):
            results.append(item)
        else:
            paths.append(item)
    for p in collect_recordings(paths) if paths else []:
        log.info("analysing %s for the trend report", p)
        results.append(analyze(load(p), config, source=p))
    return results


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


def _quality(result: Any, baseline: float) -> tuple[float, float, float, list[str]]:
    rec, win = result.recording, result.windows
    n = len(rec.beats)
    art = 100.0 * float((rec.flags != "ok").sum()) / n if n else math.nan
    inv = 100.0 * float((~win["valid"].astype(bool)).sum()) / len(win) if len(win) else math.nan
    gap_s = float(rec.gaps["duration_s"].sum()) if len(rec.gaps) else 0.0
    issues = []
    if not (art <= ARTIFACT_CAUTION_PCT):
        issues.append(f"artefacts {fmt(art, 1, '%')} (> {ARTIFACT_CAUTION_PCT:g}%)")
    if not (inv <= INVALID_WINDOWS_CAUTION_PCT):
        issues.append(f"invalid windows {fmt(inv, 0, '%')} (> {INVALID_WINDOWS_CAUTION_PCT:g}%)")
    if not math.isfinite(baseline):
        issues.append("no baseline lnRMSSD")
    return art, inv, gap_s, issues


def _swc(values: np.ndarray, ok: np.ndarray) -> pd.DataFrame:
    """Rolling SWC band of each session from the quality-checked sessions before it."""
    rows = []
    for k in range(len(values)):
        prior = [values[j] for j in range(k) if ok[j] and math.isfinite(values[j])][-SWC_WINDOW:]
        if len(prior) < SWC_MIN_SESSIONS:
            rows.append((math.nan, math.nan, math.nan, len(prior), ""))
            continue
        m, sd = float(np.mean(prior)), float(np.std(prior, ddof=1))
        lo, hi = m - SWC_FACTOR * sd, m + SWC_FACTOR * sd
        v = values[k]
        where = "" if not math.isfinite(v) else ("above" if v > hi else "below" if v < lo else "within")
        rows.append((m, lo, hi, len(prior), where))
    return pd.DataFrame(rows, columns=["swc_mean", "swc_low", "swc_high", "swc_n", "vs_swc"])


def trend_tables(results: Sequence[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The session table and the stressor table of a series of analysed sessions.

    Parameters
    ----------
    results : sequence of AnalysisResult
        Sessions of one subject, in any order (sorted here by start time).

    Returns
    -------
    (sessions, stressors) : two pandas.DataFrame
        ``sessions``: columns :data:`SESSION_COLUMNS`, one row per session (``session`` is its
        1-based rank by date; ``date`` its start, UTC). ``stressors``: columns
        :data:`STRESSOR_COLUMNS`, one row per session and stressor, heart-rate figures.
    """
    ordered = sorted(results, key=lambda r: r.recording.start)
    srows, trows = [], []
    for k, res in enumerate(ordered, start=1):
        rec = res.recording
        base, base_src = _baseline_ln_rmssd(res)
        art, inv, gap_s, issues = _quality(res, base)
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
        band = _swc(sessions["baseline_ln_rmssd"].to_numpy(float), sessions["quality_ok"].to_numpy(bool))
        sessions = pd.concat([sessions, band], axis=1)
    else:
        sessions = pd.DataFrame(columns=list(SESSION_COLUMNS))
    return sessions, pd.DataFrame(trows, columns=list(STRESSOR_COLUMNS))


# -------------------------------------------------------------------------------------------
# words
# -------------------------------------------------------------------------------------------
def trend_summary(sessions: pd.DataFrame, stressors: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Plain-language findings and limits of a trend: first against last session, and the band."""
    findings: list[str] = []
    limits: list[str] = []
    n = len(sessions)
    if n == 0:
        return findings, ["No sessions were given."]
    sim = int(sessions["simulated"].sum())
    if sim:
        findings.append(f"SIMULATED: {sim} of {n} sessions were generated by calmtrace's simulator.")
    first, last = sessions["date"].iloc[0], sessions["date"].iloc[-1]
    findings.append(f"{n} session{'s' if n > 1 else ''} from {first:%Y-%m-%d} to {last:%Y-%m-%d}. "
                    "This describes one person's sessions; it is not a statistical test of a change.")
    ok = sessions[sessions["quality_ok"]]
    bad = sessions[~sessions["quality_ok"]]
    for r in bad.itertuples(index=False):
        limits.append(f"Session {r.session} ({r.date:%Y-%m-%d}) failed the quality checks ({r.quality_issues}); "
                      "it is shown, marked with a grey cross, and left out of the SWC band.")
    vals = ok[ok["baseline_ln_rmssd"].notna()]
    if len(vals) >= 2:
        a, b = vals.iloc[0], vals.iloc[-1]
        findings.append(f"Baseline lnRMSSD went from {a['baseline_ln_rmssd']:.2f} ln(ms) (session {a['session']}) to "
                        f"{b['baseline_ln_rmssd']:.2f} ln(ms) (session {b['session']}).")
    banded = sessions[sessions["vs_swc"].isin(["above", "below", "within"])]
    if len(banded):
        def which(where: str) -> str:
            ids = banded.loc[banded["vs_swc"] == where, "session"].tolist()
            return f"{len(ids)} {where}" + (f" (session{'s' if len(ids) > 1 else ''} "
                                            f"{', '.join(map(str, ids))})" if ids else "")

        findings.append(f"Baseline lnRMSSD against the smallest-worthwhile-change band of the sessions before "
                        f"it: {which('above')}, {which('below')}, {which('within')}.")
    else:
        limits.append(f"No SWC band yet: it needs {SWC_MIN_SESSIONS} quality-checked sessions before a session.")
    for label in dict.fromkeys(stressors["label"]):
        s = stressors[(stressors["label"] == label) & stressors["quality_ok"]]
        for col, what in (("t50_s", "half-recovery"), ("tau_s", "time constant")):
            v = s[s[col].notna()]
            if len(v) >= 2:
                findings.append(f"Heart rate after '{label}': {what} went from {format_duration(v[col].iloc[0])} "
                                f"(session {v['session'].iloc[0]}) to {format_duration(v[col].iloc[-1])} "
                                f"(session {v['session'].iloc[-1]}).")
        known = s[s["time_to_baseline"] != "n/a"]
        if len(known) == 0 and len(s):
            reason = note_reason(s["note"].iloc[0], "time to baseline") or "see the session reports"
            limits.append(f"Time to baseline after '{label}' could not be measured in any session: {reason}.")
        elif len(known):
            back = int((~known["ttb_censored"]).sum())
            findings.append(f"Heart rate was back to baseline after '{label}' in {back} of {len(known)} sessions "
                            f"within the follow-up.")
    return findings, limits


# -------------------------------------------------------------------------------------------
# the page
# -------------------------------------------------------------------------------------------
def _sessions_html(sessions: pd.DataFrame) -> str:
    rows = []
    for r in sessions.itertuples(index=False):
        band = f"{fmt(r.swc_low, 2)} to {fmt(r.swc_high, 2)} (n={r.swc_n})" if math.isfinite(r.swc_low) else "n/a"
        q = "ok" if r.quality_ok else f"FAILED: {r.quality_issues}"
        rows.append(
            f'<tr class="{"ok" if r.quality_ok else "failed"}"><td class="num">{r.session}</td>'
            f"<td>{r.date:%Y-%m-%d %H:%M}</td><td>{esc(Path(r.source).name if r.source else '')}"
            f"{' (simulated)' if r.simulated else ''}</td><td>{esc(q)}</td>"
            f'<td class="num">{fmt(r.artifact_pct, 1, "%")}</td><td class="num">{fmt(r.invalid_pct, 0, "%")}</td>'
            f'<td class="num">{fmt(r.baseline_ln_rmssd, 2)}</td><td class="num">{esc(band)}</td>'
            f"<td>{esc(r.vs_swc or 'n/a')}</td></tr>")
    head = ("<tr><th>#</th><th>date (UTC)</th><th>recording</th><th>quality</th><th>artefacts</th>"
            "<th>invalid windows</th><th>baseline lnRMSSD (ln(ms))</th><th>SWC band of earlier sessions</th>"
            "<th>vs. band</th></tr>")
    return f'<table id="sessions-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _stressors_html(stressors: pd.DataFrame) -> str:
    if len(stressors) == 0:
        return '<p class="muted">No stressor was logged in any session, so no recovery could be followed.</p>'
    rows = []
    for r in stressors.itertuples(index=False):
        tau = fmt(r.tau_s, 0, "s") + (f" ({r.tau_ci_low_s:.0f}-{r.tau_ci_high_s:.0f})"
                                      if math.isfinite(r.tau_ci_low_s) else "")
        rows.append(
            f'<tr class="{"ok" if r.quality_ok else "failed"}"><td class="num">{r.session}</td>'
            f"<td>{r.date:%Y-%m-%d}</td><td>{esc(r.label)}</td>"
            f'<td class="num">{fmt(r.reactivity_bpm, 0, "bpm")}</td><td class="num">{esc(r.time_to_baseline)}</td>'
            f'<td class="num">{format_duration(r.t50_s)}</td><td class="num">{esc(tau)}</td>'
            f'<td class="num">{fmt(r.hrr60_bpm, 0, "bpm")}</td><td class="num">{esc(r.ln_rmssd_time_to_baseline)}</td>'
            f"<td>{'' if r.quality_ok else 'session FAILED quality checks'}</td></tr>")
    head = ("<tr><th>#</th><th>date</th><th>stressor</th><th>HR reactivity</th><th>HR time to baseline</th>"
            "<th>HR half-recovery</th><th>HR tau (CI)</th><th>HRR60</th><th>lnRMSSD time to baseline</th>"
            "<th>quality</th></tr>")
    return f'<table id="stressors-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def render_trend_report(results: Sequence[Any], *, title: str | None = None) -> str:
    """The trend report of analysed sessions as an HTML string."""
    sessions, stressors = trend_tables(results)
    findings, limits = trend_summary(sessions, stressors)
    subjects = sorted({str(s) for s in sessions["subject"] if s}) if len(sessions) else []
    simulated = bool(len(sessions) and sessions["simulated"].any())
    heading = title or f"Trend report: {', '.join(subjects) or 'unnamed subject'}"
    parts = [f"<h1>{esc(('SIMULATED - ' if simulated else '') + heading)}</h1>"]
    if len(subjects) > 1:
        limits.insert(0, f"The sessions belong to {len(subjects)} subjects ({', '.join(subjects)}); a trend "
                         "is meant for one person's sessions.")
    parts.append('<section id="summary"><h2>Summary</h2><ul class="summary">'
                 + "".join(f"<li>{esc(s)}</li>" for s in findings) + "</ul>")
    if limits:
        parts.append('<div class="limits" id="limits"><h3>What could not be computed, and why</h3><ul>'
                     + "".join(f"<li>{esc(s)}</li>" for s in limits) + "</ul></div>")
    parts.append("</section>")
    if len(sessions):
        fig = figures.trend_figure(sessions, stressors, title="Trend across sessions" + (" [SIMULATED]" if simulated else ""))
        parts.append('<section id="figures"><h2>Figures</h2>' + figure_html(
            fig, "fig-trend",
            "Top: baseline lnRMSSD per session (squares), the rolling mean of the earlier sessions (dashed) and "
            "the smallest-worthwhile-change band around it (shaded). Below, per stressor: heart rate's time to "
            "baseline (open triangles: not back within the follow-up, drawn at the follow-up, a lower bound), "
            "half-recovery and reactivity. Grey crosses: sessions that failed the quality checks.") + "</section>")
    parts.append(f'<section id="sessions"><h2>Sessions</h2>{_sessions_html(sessions)}</section>')
    parts.append(f'<section id="stressors"><h2>Recovery per stressor</h2>{_stressors_html(stressors)}</section>')
    parts.append(
        '<section id="methods"><h2>Methods</h2>'
        f"<p><b>Baseline lnRMSSD</b> of a session is the baseline its recovery assessment used for the first "
        f"stressor (else the mean over valid windows of its baseline events). <b>SWC band</b>: the mean of the "
        f"last {SWC_WINDOW} quality-checked sessions before a session (at least {SWC_MIN_SESSIONS}) &plusmn; "
        f"{SWC_FACTOR:g} &times; their SD (Plews et al. 2012, 2013, 2014). A session outside it differs from the "
        f"recent norm by more than the smallest worthwhile change.</p>"
        f"<p><b>Quality checks</b>: a session fails with more than {ARTIFACT_CAUTION_PCT:g}% of beats corrected "
        f"as artefacts, more than {INVALID_WINDOWS_CAUTION_PCT:g}% invalid windows, or no baseline lnRMSSD. "
        "Failed sessions are shown and marked, never dropped, and do not enter the band.</p>"
        "<p>Recovery figures per session are those of the session report (see its Methods): time to baseline "
        "of heart rate is censored (&quot;not within&quot;) where it was not back within the follow-up.</p>"
        "</section>")
    prov = "".join(f"<tr><td>{r.session}</td><td>{esc(r.source)}</td><td>{esc(res.provenance.get('input_checksum') or '')}</td></tr>"
                   for r, res in zip(sessions.itertuples(index=False), sorted(results, key=lambda x: x.recording.start)))
    parts.append(f'<section id="provenance"><h2>Provenance</h2><p>Written by calmtrace {esc(_version.__version__)}.</p>'
                 f'<table><thead><tr><th>#</th><th>source</th><th>input checksum</th></tr></thead><tbody>{prov}</tbody></table>'
                 "</section>")
    return page(heading, "\n".join(parts), simulated=simulated)


def write_trend_report(items: Iterable[Any], path: str | os.PathLike, *, config: Any = None,
                       title: str | None = None) -> Path:
    """Write the trend report of several sessions of one subject as one self-contained HTML file.

    Parameters
    ----------
    items : iterable of AnalysisResult or path-like
        Analysed sessions, or recordings to analyse: recording folders, importable files, or
        folders of recording folders (see :func:`collect_recordings`).
    path : path-like
        The HTML file to write.
    config : AnalysisConfig, optional
        For the recordings analysed here; defaults when omitted.
    title : str, optional

    Returns
    -------
    pathlib.Path
    """
    results = analyze_all(items, config)
    text = render_trend_report(results, title=title)
    p = write_text_atomic(text, path)
    log.info("wrote trend report %s over %d sessions", p, len(results))
    return p
