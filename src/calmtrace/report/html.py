"""The session report: one self-contained HTML file a clinician can open from disk and print.

Order of the page: a plain-language summary (what happened at each stressor, and what could not
be computed and why), the figures and the event table, the intervention comparison, then data
quality, methods and provenance. plotly's JavaScript is embedded once, inline; the page loads
nothing from the network. Print CSS keeps each figure and table row on one page.

The page shell (:func:`page`) is shared with the trend report (:mod:`calmtrace.report.trend`).
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from .._version import __version__
from . import figures
from .linking import (
    METRIC_NAMES,
    event_table,
    format_duration,
    intervention_comparison,
    Censored,
)

__all__ = ["write_report", "render_report", "session_summary", "session_figures", "page", "figure_html",
           "write_text_atomic", "note_reason", "esc", "fmt", "ARTIFACT_CAUTION_PCT", "INVALID_WINDOWS_CAUTION_PCT"]

log = logging.getLogger(__name__)

#: Above this share of flagged (corrected) beats the summary says the figures are less certain.
#: Default 5 %: calmtrace's choice, after the common advice to read HRV from recordings with more
#: than ~5 % edited beats with caution (Peltola 2012, Front Physiol 3:148, shows that even a few
#: percent of edited beats bias short-term HRV).
ARTIFACT_CAUTION_PCT: float = 5.0
#: Above this share of windows failing the quality minimums the summary says so. Default 20 %:
#: calmtrace's choice (one window in five missing leaves gaps in every recovery curve).
INVALID_WINDOWS_CAUTION_PCT: float = 20.0

_CSS = """
:root { --ink: #000; --muted: #444; --rule: #bbb; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px;
       padding: 16px 24px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.6em; margin: 0.2em 0; } h2 { font-size: 1.25em; border-bottom: 1px solid var(--rule);
  padding-bottom: 2px; margin-top: 1.6em; } h3 { font-size: 1.05em; }
.meta { color: var(--muted); }
.simulated { border: 3px solid #D55E00; color: #000; background: #fff3e6; padding: 8px 12px; font-weight: bold;
             font-size: 1.1em; letter-spacing: 0.02em; margin: 8px 0; }
.summary li { margin: 0.3em 0; }
.limits { border-left: 4px solid #E69F00; padding: 4px 12px; background: #fffaf0; }
figure.fig { margin: 18px 0; border: 1px solid #ddd; padding: 6px; }
figure.fig figcaption { font-size: 0.9em; color: var(--muted); padding: 4px 6px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.88em; width: 100%; }
th, td { border: 1px solid var(--rule); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.stressor td.ev { background: #fdebe0; } tr.intervention td.ev { background: #f7e6f0; }
tr.note td { font-size: 0.92em; color: var(--muted); border-top: none; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 0.85em; }
.muted { color: var(--muted); }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  table { font-size: 8pt; } td.num { white-space: normal; }
  figure.fig, table, tr, .summary li, .simulated { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  .modebar-container { display: none !important; }
  .simulated { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# Plotly graphs are sized to their container; redraw them for the paper width before printing.
_PRINT_JS = """
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('.js-plotly-plot').forEach(function (d) { Plotly.Plots.resize(d); });
});
"""

_PLOT_CONFIG = {"displaylogo": False, "responsive": True,
                "toImageButtonOptions": {"format": "png", "scale": 2}}


# -------------------------------------------------------------------------------------------
# the page shell
# -------------------------------------------------------------------------------------------
def esc(text: Any) -> str:
    """HTML-escape any value's text."""
    return html.escape(str(text), quote=True)


def figure_html(fig: go.Figure, div_id: str, caption: str) -> str:
    """A figure as an HTML fragment (no plotly.js: :func:`page` embeds it once) with a caption."""
    inner = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_PLOT_CONFIG)
    return f'<figure class="fig" id="{esc(div_id)}-figure">{inner}<figcaption>{caption}</figcaption></figure>'


def page(title: str, body: str, simulated: bool = False) -> str:
    """A complete, self-contained HTML page: print CSS, plotly.js inline once, then ``body``.

    Parameters
    ----------
    title : str
        The document title (prefixed "SIMULATED" when ``simulated``).
    body : str
        HTML of the page's content.
    simulated : bool
        Put a SIMULATED banner at the top.
    """
    full_title = ("SIMULATED - " if simulated else "") + title
    banner = ('<div class="simulated" id="simulated-banner">SIMULATED RECORDING: these data were generated by '
              'calmtrace\'s physiological simulator, not recorded from a person. Do not use them for any '
              'clinical decision.</div>') if simulated else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"generator\" content=\"calmtrace {esc(__version__)}\">\n"
        f"<title>{esc(full_title)}</title>\n<style>{_CSS}</style>\n"
        f"<script>{plotly.offline.get_plotlyjs()}</script>\n<script>{_PRINT_JS}</script>\n"
        f"</head>\n<body>\n{banner}\n{body}\n{banner}\n</body>\n</html>\n"
    )


def write_text_atomic(text: str, path: str | os.PathLike) -> Path:
    """Write ``text`` (UTF-8) beside ``path`` and rename it into place; create the folder."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p


# -------------------------------------------------------------------------------------------
# numbers in words
# -------------------------------------------------------------------------------------------
def fmt(value: Any, digits: int = 0, unit: str = "") -> str:
    """A number rounded to ``digits`` with its unit, or ``"n/a"`` when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    text = f"{v:.{digits}f}"
    return f"{text} {unit}".strip() if unit else text


def _metric_digits(metric: str) -> int:
    return 0 if metric in ("mean_hr_bpm", "rmssd_ms", "mean_rr_ms", "stress_index") else 2


def _cfg(result: Any, section: str, name: str, default: Any) -> Any:
    return getattr(getattr(getattr(result, "config", None), section, None), name, default)


def _clock(result: Any, t_s: float, seconds: bool = False) -> str:
    if not math.isfinite(t_s):
        return "n/a"
    ts = pd.Timestamp(figures.clock_times(result.recording, [t_s])[0])
    return ts.strftime("%H:%M:%S" if seconds else "%H:%M")


def _quality(result: Any) -> dict[str, Any]:
    """Data-quality figures of a session, computed from the cleaned beats, gaps and windows."""
    rec, win = result.recording, result.windows
    flags = pd.Series(rec.flags)
    n = len(flags)
    n_flagged = int((flags != "ok").sum())
    n_win = len(win)
    n_valid = int(win["valid"].sum()) if n_win else 0
    gaps = rec.gaps
    return {
        "beats": n, "flagged": n_flagged, "artifact_pct": 100.0 * n_flagged / n if n else math.nan,
        "by_flag": flags[flags != "ok"].value_counts().to_dict(),
        "gaps": len(gaps), "gap_s": float(gaps["duration_s"].sum()) if len(gaps) else 0.0,
        "longest_gap_s": float(gaps["duration_s"].max()) if len(gaps) else 0.0,
        "windows": n_win, "valid_windows": n_valid,
        "invalid_pct": 100.0 * (n_win - n_valid) / n_win if n_win else math.nan,
        "duration_s": rec.duration_s,
    }


# -------------------------------------------------------------------------------------------
# the plain-language summary
# -------------------------------------------------------------------------------------------
#: Words by which the parts of a Recovery row's ``note`` name the figure they are about. Parts
#: that name none (e.g. "no valid windows after the stressor (data end)") concern every figure.
_NOTE_TOPICS: dict[str, tuple[str, ...]] = {
    "baseline": ("no baseline",),
    "reactivity": ("no peak",),
    "time to baseline": ("not back in the band", "need a baseline"),
    "half-recovery": ("half-recovered", "no t50"),
    "time constant (tau)": ("tau", "fit"),
    "usable time constant (tau)": ("tau at the fit bound",),
    "HRR60": ("HRR",),
}
_INFO_ONLY = ("baseline shared", "recovery measured from the moment")


def note_reason(note: str, what: str) -> str:
    """The parts of a Recovery ``note`` that explain why ``what`` (a key of :data:`_NOTE_TOPICS`)
    is missing: those about no figure in particular (they explain every figure), else those
    about ``what``; "" when none do."""
    parts = [p.strip() for p in note.split(";") if p.strip()]
    parts = [p for p in parts if not p.startswith(_INFO_ONLY)]
    mine = [p for p in parts if any(w in p for w in _NOTE_TOPICS[what])]
    general = [p for p in parts if not any(w in p for words in _NOTE_TOPICS.values() for w in words)]
    text = "; ".join(re.sub(r"^no [\w ]+: ", "", p) for p in (general or mine))   # "no tau: 0 valid..."
    for column, (name, _) in METRIC_NAMES.items():
        text = text.replace(column, name)
    return text.replace("(data end)", "(the recording ends)")


def _missing_reason(result: Any, row: pd.Series, what: str) -> str:
    """Why the figure ``what`` (a key of :data:`_NOTE_TOPICS`) of a Recovery row is missing.

    The parts of the row's ``note`` about no figure in particular (they explain every figure),
    else the parts about that figure; without a note, what the data show (the recording ending inside the follow-up,
    or too few valid windows).
    """
    reason = note_reason(str(row.get("note", "") or ""), what)
    if reason:
        return reason
    if what == "baseline":
        return "too few valid windows before the stressor to set a baseline"
    horizon = float(_cfg(result, "recovery", "horizon_s", 600.0))
    follow = result.recording.duration_s - float(row["offset_s"])
    if follow < horizon:
        return (f"the recording ends {format_duration(max(follow, 0.0))} after the stressor ended, "
                f"and recovery is followed for up to {format_duration(horizon)}")
    return "too few valid windows after the stressor (gaps or artefacts) to follow the recovery"


def _missing_sentence(result: Any, raw: pd.Series, subject: str, whats: list[str]) -> str:
    """One sentence naming the missing figures of a row, grouped by their reason."""
    by_reason: dict[str, list[str]] = {}
    for w in whats:
        by_reason.setdefault(_missing_reason(result, raw, w), []).append(w)
    def listed(ws: list[str]) -> str:
        return ws[0] if len(ws) == 1 else ", ".join(ws[:-1]) + " or " + ws[-1]

    return subject + ": " + "; ".join(f"no {listed(ws)}, because: {reason}" for reason, ws in by_reason.items()) + "."


def _capital(name: str) -> str:
    """Sentence case, leaving names such as lnRMSSD alone."""
    return name if any(c.isupper() for c in name) else name[0].upper() + name[1:]


def _stressor_sentences(result: Any, table: pd.DataFrame, limits: list[str]) -> list[str]:
    """One sentence per stressor and headline metric (heart rate, lnRMSSD); missing figures go to
    ``limits`` with their reasons."""
    out = []
    st = table[table["kind"] == "stressor"]
    ci = f"{round(100 * float(_cfg(result, 'recovery', 'ci_level', 0.95)))}%"
    for (label, onset), grp in st.groupby(["event", "onset_s"], sort=False):
        first = grp.iloc[0]
        if first["metric"] == "":
            limits.append(f"No recovery figures for '{label}': {first['note'] or 'the analysis returned none'}.")
            continue
        rec_rows = result.recovery[(result.recovery["event_label"] == label)
                                   & np.isclose(result.recovery["onset_s"].to_numpy(float), onset)]
        for _, r in grp[grp["metric"].isin(["mean_hr_bpm", "ln_rmssd"])].iterrows():
            metric = r["metric"]
            raw = rec_rows[rec_rows["metric"] == metric].iloc[0]
            name, unit = METRIC_NAMES.get(metric, (metric, ""))
            d = _metric_digits(metric)
            cap = _capital(name)
            if not math.isfinite(r["baseline_mean"]):
                limits.append(f"{cap} around '{label}': no baseline, so no reactivity and no recovery figures, "
                              f"because: {_missing_reason(result, raw, 'baseline')}.")
                continue
            moment = float(r["duration_s"]) == 0
            during, ended = ("after", "its peak") if moment else ("during", "it ended")
            missing = []
            if math.isfinite(r["reactivity"]):
                verb = "rose" if r["reactivity"] > 0 else "fell"
                s = (f"{cap} {verb} by {fmt(abs(r['reactivity']), d, unit)} {during} '{label}' "
                     f"(baseline {fmt(r['baseline_mean'], d, unit)}, peak {fmt(r['peak'], d, unit)})")
            else:
                s = f"{cap} {during} '{label}': the response could not be measured"
                missing.append("reactivity")
            ttb = Censored(float(r["time_to_baseline_s"]), bool(r["ttb_censored"]))
            if ttb.known and not ttb.censored:
                s += f" and returned to baseline {format_duration(ttb.value_s)} after {ended}"
            elif ttb.known:
                s += f" and was not back to baseline within {format_duration(ttb.value_s)} after {ended}"
            else:
                s += "; its return to baseline could not be measured"
                missing.append("time to baseline")
            extra = []
            if math.isfinite(r["t50_s"]):
                extra.append(f"half-recovery {format_duration(r['t50_s'])}")
            elif ttb.known and not ttb.censored:
                missing.append("half-recovery")
            if math.isfinite(r["tau_s"]) and "tau at the fit bound" in str(raw.get("note", "")):
                missing.append("usable time constant (tau)")   # a fit stuck at its bound says nothing
            elif math.isfinite(r["tau_s"]):
                tau = f"time constant {format_duration(r['tau_s'])}"
                if math.isfinite(r["tau_ci_low_s"]) and math.isfinite(r["tau_ci_high_s"]):
                    tau += f", {ci} CI {r['tau_ci_low_s']:.0f}-{r['tau_ci_high_s']:.0f} s"
                extra.append(tau)
            else:
                missing.append("time constant (tau)")
            if metric == "mean_hr_bpm":
                if math.isfinite(r["hrr60_bpm"]):
                    extra.append(f"heart-rate recovery in the first minute (HRR60) {fmt(r['hrr60_bpm'], 0, 'bpm')}")
                else:
                    missing.append("HRR60")
            if extra:
                s += " (" + "; ".join(extra) + ")"
            out.append(s + ".")
            if missing:
                limits.append(_missing_sentence(result, raw, f"{cap} after '{label}'", missing))
        if first["linked"]:
            out.append(f"'{label}' was {first['linked']}.")
    return out


def session_summary(result: Any, table: pd.DataFrame | None = None,
                    comparison: pd.DataFrame | None = None) -> tuple[list[str], list[str]]:
    """The plain-language summary of a session: findings, and what could not be computed and why.

    Parameters
    ----------
    result : AnalysisResult
    table : pandas.DataFrame, optional
        From :func:`~calmtrace.report.linking.event_table` (built when omitted).
    comparison : pandas.DataFrame, optional
        From :func:`~calmtrace.report.linking.intervention_comparison`.

    Returns
    -------
    (findings, limits) : two lists of str
        Sentences, in the order they are shown.
    """
    if table is None:
        table = event_table(result.recording.events, result.recovery)
    if comparison is None:
        comparison = intervention_comparison(table, float(_cfg(result, "recovery", "ci_level", 0.95)))
    rec = result.recording
    q = _quality(result)
    findings: list[str] = []
    limits: list[str] = []
    if result.provenance.get("simulated") or rec.meta.get("simulated"):
        findings.append("SIMULATED: this session was generated by calmtrace's simulator; it is not a "
                        "person's recording.")
    valid = result.windows[result.windows["valid"]] if len(result.windows) else result.windows
    if len(valid):
        findings.append(
            f"Over the {format_duration(q['duration_s'])} recorded, heart rate averaged "
            f"{fmt(valid['mean_hr_bpm'].mean(), 0, 'bpm')} and lnRMSSD {fmt(valid['ln_rmssd'].mean(), 2, 'ln(ms)')} "
            f"(mean over the {len(valid)} valid analysis windows).")
    elif len(result.windows) == 0:
        window_s = float(_cfg(result, "windows", "window_s", 60.0))
        limits.append(f"The recording ({format_duration(q['duration_s'])}) is shorter than one "
                      f"{window_s:g}-second analysis window, so no heart-rate variability figure could be "
                      "computed.")
    else:
        limits.append("No analysis window passed the quality checks (enough beats, coverage and few "
                      "artefacts), so no heart-rate variability figure could be computed.")
    events = rec.events.df
    if len(events) == 0:
        limits.append("No events were logged, so no recovery could be measured: time to baseline, "
                      "half-recovery and tau are measured after a stressor. Mark events during capture, "
                      "or add them with 'calmtrace events add' or an events file (--events).")
    elif not (events["kind"] == "stressor").any():
        limits.append(f"No stressor was logged (events: {', '.join(repr(x) for x in events['label'])}), so no "
                      "recovery could be measured: recovery is measured after an event of kind 'stressor'.")
    findings += _stressor_sentences(result, table, limits)
    for c in comparison.itertuples(index=False):
        if c.metric in ("mean_hr_bpm", "ln_rmssd"):
            findings.append(f"Intervention '{c.intervention}': {c.statement}")
    lone = table[(table["kind"] == "intervention") & (table["linked"] == "")]
    for label in lone["event"]:
        limits.append(f"Intervention '{label}' did not begin within the link span after a stressor's end, "
                      "so it is not compared with anything.")
    linked = table[(table["kind"] == "intervention") & (table["linked"] != "")]
    if len(linked) and len(comparison) == 0:
        limits.append("An intervention followed a stressor, but there is no stressor without one (or no "
                      "recovery figures for one) to compare it with.")
    if math.isfinite(q["artifact_pct"]) and q["artifact_pct"] > ARTIFACT_CAUTION_PCT:
        limits.append(f"{q['artifact_pct']:.1f}% of beats were flagged as artefacts and corrected (more than "
                      f"{ARTIFACT_CAUTION_PCT:g}%): heart-rate variability figures of this session are less certain.")
    if math.isfinite(q["invalid_pct"]) and q["invalid_pct"] > INVALID_WINDOWS_CAUTION_PCT:
        limits.append(f"{q['invalid_pct']:.0f}% of the analysis windows failed the quality checks and were left "
                      "out of every figure (the lines break there).")
    for warning in (rec.meta.get("cleaning") or {}).get("warnings") or []:
        limits.append(f"Cleaning: {warning}.")
    for warning in (rec.meta.get("rhythm") or {}).get("warnings") or []:
        limits.append(f"Rhythm: {warning}.")
    for warning in (rec.meta.get("hrv") or {}).get("warnings") or []:
        limits.append(f"HRV: {warning}.")
    if q["gaps"]:
        limits.append(f"The recording has {q['gaps']} gap{'s' if q['gaps'] > 1 else ''} without beats "
                      f"({format_duration(q['gap_s'])} in all, the longest {format_duration(q['longest_gap_s'])}); "
                      "nothing is interpolated across them.")
    return findings, limits


# -------------------------------------------------------------------------------------------
# tables
# -------------------------------------------------------------------------------------------
def _event_table_html(result: Any, table: pd.DataFrame) -> str:
    ci = f"{round(100 * float(_cfg(result, 'recovery', 'ci_level', 0.95)))}%"
    head = ("<tr><th>event (kind)</th><th>clock time</th><th>linked</th><th>metric</th>"
            "<th>baseline mean ± SD</th><th>peak</th><th>reactivity</th><th>time to baseline</th>"
            f"<th>half-recovery</th><th>tau ({ci} CI)</th><th>HRR60</th></tr>")
    body = []
    for (onset, label, kind), grp in table.groupby(["onset_s", "event", "kind"], sort=False):
        n = len(grp) + int((grp["note"] != "").sum())
        first = grp.iloc[0]
        span = f' rowspan="{n}"' if n > 1 else ""
        lead = (f'<td class="ev"{span}><b>{esc(label)}</b><br><span class="muted">{esc(kind)}</span></td>'
                f'<td class="num"{span}>{_clock(result, onset, seconds=True)}<br>'
                f'<span class="muted">{format_duration(first["duration_s"])}</span></td>'
                f"<td{span}>{esc(first['linked'])}</td>")
        for k, (_, r) in enumerate(grp.iterrows()):
            cells = lead if k == 0 else ""
            if r["metric"]:
                d = _metric_digits(r["metric"])
                unit = r["unit"]
                base = (f"{fmt(r['baseline_mean'], d)} ± {fmt(r['baseline_sd'], d + 1)} {unit}"
                        if math.isfinite(r["baseline_mean"]) else "n/a")
                tau = fmt(r["tau_s"], 0, "s")
                if math.isfinite(r["tau_ci_low_s"]):
                    tau += f" ({r['tau_ci_low_s']:.0f}-{r['tau_ci_high_s']:.0f})"
                if "tau at the fit bound" in r["note"]:
                    tau += ", at the fit bound: not usable"
                hrr = fmt(r["hrr60_bpm"], 0, "bpm") if r["metric"] == "mean_hr_bpm" else ""
                cells += (f"<td>{esc(r['metric_name'])}</td><td class=\"num\">{esc(base)}</td>"
                          f'<td class="num">{fmt(r["peak"], d, unit)}</td>'
                          f'<td class="num">{fmt(r["reactivity"], d, unit)}</td>'
                          f'<td class="num">{esc(r["time_to_baseline"])}</td>'
                          f'<td class="num">{format_duration(r["t50_s"])}</td><td class="num">{esc(tau)}</td>'
                          f'<td class="num">{hrr}</td>')
            else:
                cells += '<td colspan="8"></td>' if not r["note"] else ""
            body.append(f'<tr class="{esc(kind)}">{cells}</tr>')
            if r["note"]:
                body.append(f'<tr class="note"><td colspan="8">note ({esc(r["metric_name"] or "event")}): '
                            f'{esc(r["note"])}</td></tr>')
    if not body:
        return '<p class="muted">No events were logged.</p>'
    return f'<table id="event-table"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'


def _comparison_html(comparison: pd.DataFrame) -> str:
    if len(comparison) == 0:
        return ('<p class="muted">No comparison: it needs an intervention that began right after a stressor '
                'and another stressor without one, both with recovery figures.</p>')
    rows, readings = [], []
    for c in comparison.itertuples(index=False):
        ci = f"{round(100 * c.ci_level)}%"

        def ttb(v: float, cens: bool) -> str:
            return ("not within " if cens else "") + format_duration(v)

        def tau(v: float, lo: float, hi: float) -> str:
            return f"{fmt(v, 0, 's')} ({fmt(lo)}-{fmt(hi)})" if math.isfinite(lo) else fmt(v, 0, "s")

        tau_d = (f"{c.tau_diff_s:+.0f} s ({fmt(c.tau_diff_ci_low_s)} to {fmt(c.tau_diff_ci_high_s)})"
                 if math.isfinite(c.tau_diff_ci_low_s) else (f"{c.tau_diff_s:+.0f} s" if math.isfinite(c.tau_diff_s)
                                                             else "n/a"))
        bound = {"exact": "", "upper": "at most ", "lower": "at least ", "unknown": ""}[c.ttb_diff_bound]
        diff = f"{bound}{c.ttb_diff_s:+.0f} s" if math.isfinite(c.ttb_diff_s) and c.ttb_diff_bound != "unknown" \
            else "cannot be compared"
        rows.append(
            f"<tr><td>{esc(c.intervention)}</td><td>{esc(c.metric_name)}</td>"
            f"<td>{esc(c.with_stressors)} (n={c.n_with})<br>{esc(c.without_stressors)} (n={c.n_without})</td>"
            f'<td class="num">{ttb(c.ttb_with_s, c.ttb_with_censored)}<br>{ttb(c.ttb_without_s, c.ttb_without_censored)}</td>'
            f'<td class="num">{esc(diff)}</td>'
            f'<td class="num">{esc(tau(c.tau_with_s, c.tau_with_ci_low_s, c.tau_with_ci_high_s))}<br>'
            f'{esc(tau(c.tau_without_s, c.tau_without_ci_low_s, c.tau_without_ci_high_s))}</td>'
            f'<td class="num">{esc(tau_d)}</td></tr>')
        readings.append(f"<li><b>{esc(c.intervention)}, {esc(c.metric_name)}:</b> {esc(c.statement)}</li>")
    ci = f"{round(100 * comparison['ci_level'].iloc[0])}%"
    head = ("<tr><th>intervention</th><th>metric</th><th>stressors: with it<br>without</th>"
            "<th>time to baseline: with<br>without</th><th>difference (with - without)</th>"
            f"<th>tau ({ci} CI): with<br>without</th><th>tau difference ({ci} CI)</th></tr>")
    return (f'<table id="comparison-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            f'<ul class="readings">{"".join(readings)}</ul>')


def _quality_html(q: dict[str, Any], result: Any) -> str:
    flag_text = ", ".join(f"{k}: {v}" for k, v in sorted(q["by_flag"].items())) or "none"
    gaps = result.recording.gaps
    gap_rows = "".join(
        f'<tr><td class="num">{_clock(result, g.onset_s, True)}</td><td class="num">{format_duration(g.duration_s)}</td>'
        f"<td>{esc(g.reason)}</td></tr>" for g in gaps.itertuples(index=False))
    gap_table = (f"<table><thead><tr><th>gap start</th><th>length</th><th>reason</th></tr></thead>"
                 f"<tbody>{gap_rows}</tbody></table>") if len(gaps) else ""
    return (
        '<table id="quality-table"><tbody>'
        f'<tr><th>beats</th><td class="num">{q["beats"]}</td></tr>'
        f'<tr><th>artefact share (beats flagged by cleaning)</th><td class="num">{fmt(q["artifact_pct"], 1, "%")} '
        f'({q["flagged"]} beats; {esc(flag_text)})</td></tr>'
        f'<tr><th>gaps without beats</th><td class="num">{q["gaps"]} ({format_duration(q["gap_s"])})</td></tr>'
        f'<tr><th>invalid windows (failed the quality minimums)</th><td class="num">{q["windows"] - q["valid_windows"]} '
        f'of {q["windows"]} ({fmt(q["invalid_pct"], 0, "%")})</td></tr>'
        f"</tbody></table>{gap_table}")


def _config_html(result: Any) -> str:
    """The analysis settings, one row per stage with its settings as ``name = value``."""
    try:
        cfg = result.config.to_dict()
    except AttributeError:
        cfg = {}
    rows = []
    for stage, settings in cfg.items():
        items = settings.items() if isinstance(settings, dict) else [("value", settings)]
        text = "; ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in items)
        rows.append(f"<tr><th>{esc(stage)}</th><td>{esc(text)}</td></tr>")
    return f'<table id="config"><tbody>{"".join(rows)}</tbody></table>'


def _provenance_html(result: Any) -> str:
    prov = dict(result.provenance or {})
    prov.setdefault("software_version", __version__)
    prov["report_written_by"] = f"calmtrace {__version__}"
    meta = {k: v for k, v in result.recording.meta.items() if k not in ("truth",)}
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in prov.items())
    mrows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v if not isinstance(v, (dict, list)) else json.dumps(v))}</td></tr>"
                    for k, v in meta.items())
    return (f'<table id="provenance-table"><tbody>{rows}</tbody></table>'
            f"<h3>Recording metadata</h3><table><tbody>{mrows or '<tr><td>none</td></tr>'}</tbody></table>")


_METHODS = """
<p><b>Cleaning.</b> Artefacts (ectopic, missed, extra beats and outlying intervals) are detected and
corrected with the method of Lipponen &amp; Tarvainen (2019); every beat keeps a flag saying what was
done to it. Nothing is interpolated across a gap.</p>
<p><b>Windows.</b> Heart rate and heart-rate variability are computed in sliding windows of
{window_s:g} s every {step_s:g} s. A window is valid only with enough beats, coverage and few enough
artefacts; invalid windows are left out (the lines break there). lnRMSSD is the natural log of the
root mean square of successive RR differences, the vagal index recommended for short recordings
(Task Force 1996; Laborde, Mosley &amp; Thayer 2017; Esco &amp; Flatt 2014). The PNS and SNS indices
follow Kubios' recipe: 0 is the population mean, &plusmn;1 one population SD.</p>
<p><b>Recovery.</b> For each stressor and metric: the <i>baseline</i> is the mean (and SD) of the
valid windows of the baseline event, or of the {baseline_span} before the stressor when there is
none; the <i>band</i> around it is {band_text}. <i>Reactivity</i> is the peak minus the baseline.
<i>Time to baseline</i> is the time after the stressor's end until the metric is back in the band
and stays there for {hold}; recovery is followed for {horizon}, and a metric not back by then is
reported as "not back within" that time (a censored value, not a number). <i>Half-recovery</i>
(t50) is the time until half of the reactivity is recovered. <i>Tau</i> is the time constant of an
exponential fitted to the recovery, with its {ci} confidence interval. <i>HRR60</i> is heart rate
at the stressor's end minus heart rate one minute later (Cole et al. 1999).</p>
<p><b>Interventions.</b> An intervention beginning within {follow} after a stressor's end is linked
to that stressor. Recovery after stressors followed by an intervention is compared with recovery
after those without; within one session this is one case (n = 1 per arm), not a trial.</p>
"""


def _methods_html(result: Any) -> str:
    from .linking import FOLLOW_S

    band = _cfg(result, "recovery", "band", "sd")
    if band == "swc":
        band_text = (f"the smallest worthwhile change, &plusmn;{_cfg(result, 'recovery', 'swc_factor', 0.5):g} SD "
                     "(Plews et al. 2012, 2014)")
    else:
        band_text = f"&plusmn;{_cfg(result, 'recovery', 'k_sd', 1.0):g} baseline SD"
    if _cfg(result, "recovery", "band_sides", "one") == "one":
        band_text += " (only the stress-side edge counts: an overshoot past baseline is recovered)"
    return _METHODS.format(
        window_s=float(_cfg(result, "windows", "window_s", 60.0)), step_s=float(_cfg(result, "windows", "step_s", 5.0)),
        baseline_span=format_duration(float(_cfg(result, "recovery", "baseline_span_s", 300.0))),
        band_text=band_text, hold=format_duration(float(_cfg(result, "recovery", "hold_s", 60.0))),
        horizon=format_duration(float(_cfg(result, "recovery", "horizon_s", 600.0))),
        ci=f"{round(100 * float(_cfg(result, 'recovery', 'ci_level', 0.95)))}%",
        follow=format_duration(FOLLOW_S),
    )


# -------------------------------------------------------------------------------------------
# the figures of a session
# -------------------------------------------------------------------------------------------
def session_figures(result: Any) -> list[tuple[str, go.Figure, str]]:
    """(id, figure, caption) of every figure of the session report, in page order."""
    rec, win, rcv = result.recording, result.windows, result.recovery
    wt = str(_cfg(result, "recovery", "window_time", "center"))
    horizon = float(_cfg(result, "recovery", "horizon_s", 600.0))
    sim = " [SIMULATED]" if (result.provenance.get("simulated") or rec.meta.get("simulated")) else ""
    out: list[tuple[str, go.Figure, str]] = []
    if len(win):
        out.append(("fig-overview", figures.session_overview(rec, win, rcv, window_time=wt,
                                                             title="Session overview" + sim),
                    "Heart rate, lnRMSSD and the PNS and SNS indices in sliding windows, on clock time. "
                    "Shaded bands are the logged events (label above; border: solid stressor, dashed "
                    "intervention, dotted recovery, dash-dot baseline), grey bands are gaps without beats "
                    "(the lines break there and at invalid windows), ticks under the heart rate mark beats "
                    "corrected as artefacts, and the dotted black segments the baseline each stressor is "
                    "compared with, over the span it was taken from."))
    if len(rcv):
        for i, ((label, onset), rows) in enumerate(rcv.groupby(["event_label", "onset_s"], sort=False)):
            if not rows.drop(columns=[c for c in ("event_label", "metric", "note") if c in rows]).select_dtypes("number") \
                    .notna().any().any():
                continue
            out.append((f"fig-recovery-{i + 1}",
                        figures.recovery_panel(rec, win, rows, window_time=wt,
                                               title=f"Recovery after '{label}'" + sim),
                        f"Each metric aligned at the end of '{label}' (0 s; the stressor is shaded before it). "
                        "Green band: baseline &plusmn; tolerance. Dashed line: time to baseline; dotted line: "
                        "half-recovery; black dashes: the fitted exponential."))
    out.append(("fig-tachogram", figures.tachogram(rec, title="Tachogram: beat-to-beat RR intervals" + sim),
                "Every RR interval over clock time. Symbols mark beats the cleaning flagged (by kind); "
                "grey bands and breaks are gaps without beats."))
    if len(rec.beats) > 2:
        usable = tuple(_cfg(result, "hrv", "usable_flags", figures.USABLE_FLAGS))
        out.append(("fig-poincare", figures.poincare(rec, rcv, horizon_s=horizon, usable_flags=usable,
                                                     title="Poincaré plot" + sim),
                    "Each RR interval against the next, by phase (beats the cleaning could not use, ectopic, missed "
                    "or extra, are left out). A wide cloud is high variability; during a "
                    "stressor the cloud usually shrinks and moves to shorter intervals."))
    return out


def render_report(result: Any, *, title: str | None = None) -> str:
    """The session report of an :class:`~calmtrace.analysis.AnalysisResult` as an HTML string."""
    rec = result.recording
    simulated = bool(result.provenance.get("simulated") or rec.meta.get("simulated"))
    ci_level = float(_cfg(result, "recovery", "ci_level", 0.95))
    table = event_table(rec.events, result.recovery)
    comparison = intervention_comparison(table, ci_level)
    findings, limits = session_summary(result, table, comparison)
    q = _quality(result)
    subject = rec.meta.get("subject") or rec.meta.get("subject_id") or "unnamed subject"
    source = result.provenance.get("source") or rec.meta.get("source_file") or ""
    start, end = pd.Timestamp(figures.clock_times(rec, [0.0])[0]), pd.Timestamp(figures.clock_times(rec, [rec.duration_s])[0])
    zone = figures.clock_label(rec).removeprefix("clock time ")
    heading = title or f"Session report: {subject}, {start:%Y-%m-%d}"
    parts = [
        f"<h1>{esc(('SIMULATED - ' if simulated else '') + heading)}</h1>",
        f'<p class="meta">{start:%Y-%m-%d %H:%M} to {end:%H:%M} {esc(zone)} '
        f"({format_duration(rec.duration_s)}); device: {esc(rec.meta.get('device_name') or rec.meta.get('model') or 'unknown')}; "
        f"source: {esc(source)}</p>",
        '<section id="summary"><h2>Summary</h2><ul class="summary">'
        + "".join(f"<li>{esc(s)}</li>" for s in findings) + "</ul>",
    ]
    if limits:
        parts.append('<div class="limits" id="limits"><h3>What could not be computed, and why</h3><ul>'
                     + "".join(f"<li>{esc(s)}</li>" for s in limits) + "</ul></div>")
    parts.append("</section>")
    parts.append('<section id="figures"><h2>Figures</h2>')
    for div_id, fig, caption in session_figures(result):
        parts.append(figure_html(fig, div_id, caption))
    parts.append("</section>")
    from .day import day_section

    parts.append(day_section(getattr(result, "day", None), rec))
    parts.append(f'<section id="events"><h2>Events and recovery</h2>{_event_table_html(result, table)}</section>')
    from .phases import phase_table, phase_table_html

    parts.append(f'<section id="phases"><h2>Phases</h2>{phase_table_html(phase_table(result))}</section>')
    parts.append('<section id="interventions"><h2>Interventions compared</h2>'
                 f"{_comparison_html(comparison)}</section>")
    parts.append(f'<section id="quality"><h2>Data quality</h2>{_quality_html(q, result)}</section>')
    parts.append(f'<section id="methods"><h2>Methods</h2>{_methods_html(result)}'
                 f"<h3>Analysis settings</h3>{_config_html(result)}</section>")
    parts.append(f'<section id="provenance"><h2>Provenance</h2>{_provenance_html(result)}</section>')
    return page(heading, "\n".join(parts), simulated=simulated)


def write_report(result: Any, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write the session report of an analysis as one self-contained HTML file.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`calmtrace.analysis.analyze`.
    path : path-like
        The HTML file to write (its folder is created; the file is written beside its final
        name and renamed into place).
    title : str, optional
        Heading; default "Session report: <subject>, <date>".

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    text = render_report(result, title=title)
    p = write_text_atomic(text, path)
    log.info("wrote session report %s (%.1f MB)", p, len(text) / 1e6)
    return p
