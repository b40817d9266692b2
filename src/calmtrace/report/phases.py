"""The phase table of the session report: HRV per baseline, stressor, recovery and intervention.

What a psychophysiology paper reports per participant (Laborde, Mosley & Thayer 2017, "the three
Rs": resting, reactivity, recovery): each phase's heart rate and vagal HRV, and its change from the
resting baseline. The figures are :func:`calmtrace.signals.segment.hrv_by_event`'s; this module
only selects the rows and columns a clinician reads and renders them.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

__all__ = ["PHASE_KINDS", "PHASE_COLUMNS", "phase_table", "phase_table_html"]

#: Event kinds that make a phase (notes and the stretches between events are left out).
PHASE_KINDS: tuple[str, ...] = ("baseline", "stressor", "recovery", "intervention")

#: (column, heading, digits, unit, change shown: "abs" or "pct")
PHASE_COLUMNS: tuple[tuple[str, str, int, str, str], ...] = (
    ("mean_hr_bpm", "heart rate", 0, "bpm", "abs"),
    ("rmssd_ms", "RMSSD", 0, "ms", "pct"),
    ("ln_rmssd", "lnRMSSD", 2, "", "abs"),
    ("hf_ms2", "HF power", 0, "ms²", "pct"),
    ("lf_hf", "LF/HF", 2, "", "abs"),
    ("dfa_alpha1", "DFA α1", 2, "", "abs"),
)


def phase_table(result: Any) -> pd.DataFrame:
    """The phases of an analysed session, one row per event of a phase kind, in time order.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`calmtrace.analysis.analyze`; its ``phases`` table (computed there, never here).

    Returns
    -------
    pandas.DataFrame
        The rows of ``result.phases`` whose kind is in :data:`PHASE_KINDS` (all its columns);
        empty when the session has no such event with a duration. ``attrs["baseline"]`` names the
        baseline the changes refer to.
    """
    table = getattr(result, "phases", None)
    if table is None or len(table) == 0 or "kind" not in table:
        return pd.DataFrame()
    out = table[table["kind"].isin(PHASE_KINDS)].reset_index(drop=True)
    out.attrs["baseline"] = table.attrs.get("hrv_by_event", {}).get("baseline", "")
    return out


def _fmt(value: Any, digits: int, unit: str = "") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}" + (f" {unit}" if unit else "")


def _signed(value: Any, digits: int, unit: str = "") -> str:
    text = _fmt(value, digits, unit)
    return text if text == "n/a" or text.startswith("-") else "+" + text


def phase_table_html(phases: pd.DataFrame) -> str:
    """The phase table as an HTML fragment (``<table id="phase-table">``).

    Parameters
    ----------
    phases : pandas.DataFrame
        From :func:`phase_table`.

    Returns
    -------
    str
        A table with one row per phase: label and kind, duration and beats, and for each metric
        of :data:`PHASE_COLUMNS` the value and its change from baseline (absolute, or in % for
        RMSSD and HF power); "n/a" where a metric is NaN, with the reasons listed below the
        table. A short paragraph when there are no phases.
    """
    esc = html.escape
    if phases is None or len(phases) == 0:
        return ('<p class="muted">No baseline, stressor, recovery or intervention event with a duration was '
                "logged, so there is no phase table.</p>")
    head = ["<th>phase (kind)</th><th>duration</th><th>beats</th>"]
    for _, heading, _, _, change in PHASE_COLUMNS:
        head.append(f"<th>{esc(heading)}</th><th>change{' (%)' if change == 'pct' else ''}</th>")
    rows = []
    notes = []
    for r in phases.itertuples(index=False):
        r = r._asdict()
        cells = [f'<td class="ev"><b>{esc(str(r["label"]))}</b><br><span class="muted">{esc(str(r["kind"]))}</span></td>',
                 f'<td class="num">{_fmt(r["duration_s"] / 60.0, 1, "min")}</td>',
                 f'<td class="num">{int(r["n_beats"])}</td>']
        for col, _, digits, unit, change in PHASE_COLUMNS:
            delta = _signed(r[f"{col}_delta_pct"], 0, "%") if change == "pct" else _signed(r[f"{col}_delta"], digits, unit)
            cells.append(f'<td class="num">{_fmt(r[col], digits, unit)}</td><td class="num">{delta}</td>')
        rows.append(f'<tr class="{esc(str(r["kind"]))}">{"".join(cells)}</tr>')
        shown = {c for c, *_ in PHASE_COLUMNS}
        for note in filter(None, str(r.get("notes", "")).split("; ")):
            if any(name.strip() in shown for name in note.split(":")[0].split(",")):
                notes.append(f"{r['label']}: {note}")
    baseline = phases.attrs.get("baseline", "")
    caption = (f"Change from the resting baseline, {esc(baseline)}." if baseline else "")
    note_html = ("<ul class=\"muted\">" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else ""
    return (f'<table id="phase-table"><thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="muted">{caption} Every figure is computed from all usable beats of the phase '
            f"(docs/metrics.md, \"Spans and phases\"); n/a marks a figure the phase is too short for.</p>{note_html}")
