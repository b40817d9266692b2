"""The couples report: two partners on one clock, synchrony per phase, recovery side by side.

:func:`write_dyad_report` writes one self-contained HTML page for a
:class:`~calmtrace.signals.dyad.DyadResult` (the same page shell and print CSS as the session
report, :func:`calmtrace.report.html.page`); :func:`write_dyad_trend_report` one page over several
couples sessions, per-phase synchrony by date. The report renders results; it computes nothing
but words.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .. import _version
from . import dyad_figures as dfig
from .html import esc, figure_html, fmt, page, write_text_atomic
from ..signals.linking import format_duration

__all__ = ["CAVEATS", "dyad_summary", "render_dyad_report", "write_dyad_report", "dyad_trend_table",
           "render_dyad_trend_report", "write_dyad_trend_report"]

log = logging.getLogger(__name__)

#: Plain-language caveats printed on every couples report (docs/dyads.md explains them).
CAVEATS: tuple[str, ...] = (
    "Synchrony is not closeness. Hearts that move together can mean shared calm, shared distress or "
    "escalating conflict; partners who are close can show little synchrony. It describes physiology, not "
    "the relationship (Palumbo et al. 2017).",
    "This is one session of one couple (n = 1). The surrogate test says whether the heart rates moved together "
    "more than two people doing the same task would by chance in this session; it does not say that this is "
    "typical of the couple.",
    "Doing the same task at the same time makes two heart rates correlate without any influence between the "
    "partners. The surrogates keep each partner's own physiology and the task but break the moment-to-moment "
    "pairing; a phase above chance is synchrony beyond that, not proof that one partner caused the other's response.",
    "Who leads is the lag at which the correlation peaked. A lead of a few seconds can come from differences "
    "in how quickly two bodies respond, not only from one partner reacting to the other.",
    "The co-regulation figures are descriptions of one recovery period: they are not tests and carry no "
    "p values, because successive seconds of heart rate are not independent.",
)

_SERIES_NAME = {"hr": "heart rate", "vagal": "lnRMSSD"}


def _clock(res: Any, t_s: float) -> str:
    if not math.isfinite(t_s):
        return "n/a"
    return (res.rec_a.start + pd.Timedelta(seconds=float(t_s))).strftime("%H:%M:%S")


def _lead_words(lag_s: float) -> str:
    if not math.isfinite(lag_s):
        return "no lag could be estimated"
    if lag_s > 0:
        return f"B followed A by about {lag_s:g} s (A led)"
    if lag_s < 0:
        return f"A followed B by about {-lag_s:g} s (B led)"
    return "neither led (the peak was at lag 0)"


def _partner_names(labels: dict) -> str:
    """``"partner A is Alex, partner B is Sam; "``: only the labels that differ from the default
    ``partner A`` / ``partner B`` (a recording without a subject id), else nothing."""
    named = [f"partner {who} is {labels.get(who)}" for who in ("A", "B")
             if str(labels.get(who) or "").strip().lower() not in ("", f"partner {who.lower()}")]
    return ", ".join(named) + "; " if named else ""


def dyad_summary(res: Any) -> tuple[list[str], list[str]]:
    """Plain-language findings and limits of a couples session."""
    findings, limits = [], []
    al = res.alignment
    head = f"{_partner_names(res.labels)}{al.note}"
    findings.append(f"{head[:1].upper()}{head[1:]}. Both were followed for "
                    f"{format_duration(al.overlap_s[1] - al.overlap_s[0])} together.")
    ph = res.phases
    for r in ph.itertuples(index=False):
        name = _SERIES_NAME.get(r.series, r.series)
        if not math.isfinite(r.synchrony_r):
            limits.append(f"{name[0].upper() + name[1:]} synchrony in '{r.phase}' could not be computed: {r.note or 'no complete window'}.")
            continue
        verdict = ("more than chance" if r.exceeds_chance else "not more than chance")
        chance = (f"surrogates ({r.surrogate}, n = {r.n_surrogates}) reached {fmt(r.surrogate_mean_r, 2)} on average; "
                  f"Holm-adjusted p = {fmt(r.p_holm, 3)}") if r.n_surrogates else (r.note or "no surrogate test")
        if r.series == "hr" or r.exceeds_chance:
            findings.append(f"{name[0].upper() + name[1:]} in '{r.phase}': mean peak correlation {fmt(r.synchrony_r, 2)} over "
                            f"{r.n_windows} windows, {verdict} ({chance}); {_lead_words(r.median_lag_s)}.")
        if r.n_surrogates == 0 and r.note:
            limits.append(f"No surrogate test of {name} in '{r.phase}': {r.note}.")
    rc = res.recovery
    if len(rc) and "metric" in rc:
        hr = rc[rc["metric"] == "mean_hr_bpm"]
        for label in dict.fromkeys(hr["event_label"]):
            parts = []
            for who in ("A", "B"):
                row = hr[(hr["event_label"] == label) & (hr["partner"] == who)]
                if len(row) == 0:
                    continue
                x = row.iloc[0]
                ttb = x["time_to_baseline_s"]
                back = (f"back to baseline after {format_duration(ttb)}" if math.isfinite(ttb) and bool(x["recovered"])
                        else "not back to baseline within the follow-up" if math.isfinite(x["censored_at_s"])
                        else "time to baseline not measurable")
                parts.append(f"{who}'s heart rate rose by {fmt(x['reactivity'], 0, 'bpm')} and was {back}")
            if parts:
                findings.append(f"After '{label}': " + "; ".join(parts) + ".")
    else:
        limits.append("No stressor was logged, so recovery after a shared stressor could not be followed.")
    cr = res.coregulation
    if len(cr):
        for (st, frm, to), g in cr.groupby(["stressor", "from", "to"], sort=False):
            g = g[g["partner_coef"].notna()]
            if len(g) == 0:
                continue
            best = g.iloc[int(g["partial_r"].abs().to_numpy().argmax())]
            direction = "came down more slowly" if best["partner_coef"] > 0 else "came down faster"
            findings.append(
                f"Co-regulation after '{st}': while {frm} was aroused, {to}'s heart rate {direction} "
                f"({fmt(best['partner_coef'], 2)} bpm per {res.config.coreg_step_s:g} s per bpm of {frm}'s arousal "
                f"{best['lag_s']:g} s earlier, partial r = {fmt(best['partial_r'], 2)}, n = {int(best['n'])}; "
                "a description, not a test).")
    return findings, limits


def _phase_table_html(res: Any) -> str:
    rows = []
    for r in res.phases.itertuples(index=False):
        verdict = "yes" if r.exceeds_chance else ("no" if r.n_surrogates else "not tested")
        rows.append(
            f'<tr class="{"above" if r.exceeds_chance else "chance"}"><td>{esc(_SERIES_NAME.get(r.series, r.series))}</td>'
            f'<td class="ev">{esc(r.phase)}</td><td>{esc(r.kind)}</td><td>{_clock(res, r.onset_s)}-{_clock(res, r.offset_s)}</td>'
            f'<td class="num">{r.n_windows}</td><td class="num">{fmt(r.synchrony_r, 2)}</td>'
            f'<td class="num">{fmt(r.median_lag_s, 0, "s")}</td><td class="num">{fmt(100 * r.share_a_leads, 0, "%")}</td>'
            f'<td class="num">{fmt(100 * r.share_b_leads, 0, "%")}</td><td>{esc(r.surrogate or "-")} (n = {r.n_surrogates})</td>'
            f'<td class="num">{fmt(r.surrogate_q95_r, 2)}</td><td class="num">{fmt(r.p, 3)}</td>'
            f'<td class="num">{fmt(r.p_holm, 3)}</td><td class="verdict">{verdict}</td><td>{esc(r.note)}</td></tr>')
    head = ("<tr><th>series</th><th>phase</th><th>kind</th><th>clock time</th><th>windows</th><th>synchrony (mean peak r)</th>"
            "<th>median lag (&gt; 0: A leads)</th><th>A led</th><th>B led</th><th>surrogates</th>"
            "<th>surrogates' 95th pct.</th><th>p</th><th>p (Holm)</th><th>above chance</th><th>note</th></tr>")
    return f'<table id="phase-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _recovery_table_html(res: Any) -> str:
    rc = res.recovery
    if len(rc) == 0 or "metric" not in rc:
        return '<p class="muted">No stressor was logged: there is no recovery to compare.</p>'
    rows = []
    for (label, metric), g in rc.groupby(["event_label", "metric"], sort=False):
        cells = []
        for who in ("A", "B"):
            x = g[g["partner"] == who]
            if len(x) == 0:
                cells.append('<td colspan="4">n/a</td>')
                continue
            x = x.iloc[0]
            d = 0 if metric == "mean_hr_bpm" else 2
            ttb = (format_duration(x["time_to_baseline_s"]) if math.isfinite(x["time_to_baseline_s"])
                   else ("not within " + format_duration(x["censored_at_s"]) if math.isfinite(x["censored_at_s"]) else "n/a"))
            cells.append(f'<td class="num">{fmt(x["reactivity"], d)}</td><td class="num">{esc(ttb)}</td>'
                         f'<td class="num">{format_duration(x["t50_s"])}</td><td class="num">{fmt(x["tau_s"], 0, "s")}</td>')
        rows.append(f'<tr><td class="ev">{esc(label)}</td><td>{esc(metric)}</td>{"".join(cells)}</tr>')
    head = ('<tr><th rowspan="2">stressor</th><th rowspan="2">metric</th><th colspan="4">A: '
            f'{esc(res.labels["A"])}</th><th colspan="4">B: {esc(res.labels["B"])}</th></tr><tr>'
            + "<th>reactivity</th><th>time to baseline</th><th>half-recovery</th><th>tau</th>" * 2 + "</tr>")
    return f'<table id="recovery-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _coreg_table_html(res: Any) -> str:
    cr = res.coregulation
    if len(cr) == 0:
        return '<p class="muted">No stressor was logged: co-regulation after a stressor could not be described.</p>'
    rows = "".join(
        f"<tr><td>{esc(r.stressor)}</td><td>{esc(r['from'])} &rarr; {esc(r['to'])}</td>"
        f'<td class="num">{r.lag_s:g} s</td><td class="num">{fmt(r.partner_coef, 3)}</td>'
        f'<td class="num">{fmt(r.own_coef, 3)}</td><td class="num">{fmt(r.partial_r, 2)}</td>'
        f'<td class="num">{int(r.n)}</td><td>{esc(r.note)}</td></tr>'
        for _, r in cr.iterrows())
    head = ("<tr><th>stressor</th><th>arousal of &rarr; recovery of</th><th>lag</th><th>partner coefficient "
            f"(bpm change per {res.config.coreg_step_s:g} s per bpm)</th><th>own coefficient</th><th>partial r</th>"
            "<th>n</th><th>note</th></tr>")
    return f'<table id="coregulation-table"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def _methods_html(res: Any) -> str:
    c = res.config
    return (
        f"<p><b>Alignment.</b> {esc(res.alignment.note[:1].upper() + res.alignment.note[1:])}. Everything is drawn "
        "on partner A's clock.</p>"
        f"<p><b>Series.</b> Heart rate: instantaneous heart rate of the cleaned beats on a {c.series_hz:g} Hz grid, "
        f"not interpolated across gaps or between beats more than {c.max_beat_gap_s:g} s apart, low-passed below "
        f"{c.hr_lowpass_hz:g} Hz (the respiratory band, Task Force 1996). Vagal index: lnRMSSD of sliding "
        f"{c.vagal_window_s:g} s windows (Munoz et al. 2015).</p>"
        f"<p><b>Windowed cross-correlation</b> (Boker et al. 2002): windows of {c.window_s:g} s (lnRMSSD: "
        f"{c.vagal_wcc_window_s:g} s) every {c.step_s:g} s; in each, Pearson's r of the linearly detrended segments at "
        f"every lag from -{c.max_lag_s:g} to +{c.max_lag_s:g} s in steps of {c.lag_step_s:g} s; the peak r and its lag. "
        "A positive lag means B's series followed A's.</p>"
        "<p><b>Synchrony per phase</b>: the windows wholly inside the phase, their peak r averaged through Fisher's z. "
        f"<b>Surrogate test</b>: {esc(c.surrogate)} (pseudo-pairs with other sessions where at least "
        f"{c.min_pseudo_pairs} exist, else B circularly shifted within the phase by at least {c.min_shift_s:g} s, "
        f"{c.n_surrogates} times); p = (1 + surrogates at least as synchronous) / (1 + surrogates), Holm-adjusted "
        f"across the phases of a series; above chance where the adjusted p &lt; {c.alpha:g}.</p>"
        "<p><b>Recovery</b> of each partner as in the session report (calmtrace's recovery assessment). "
        f"<b>Co-regulation</b>: every {c.coreg_step_s:g} s of the recovery span, the change of one partner's heart "
        "rate over the next step regressed on their own arousal (heart rate above their baseline) and the other's "
        "arousal a lag earlier (Butler &amp; Randall 2013).</p>"
        "<p>Sources and what the figures do not mean: docs/dyads.md.</p>")


def render_dyad_report(res: Any, *, title: str | None = None) -> str:
    """The couples report of a :class:`~calmtrace.signals.dyad.DyadResult` as an HTML string."""
    findings, limits = dyad_summary(res)
    sim = " [SIMULATED]" if res.simulated else ""
    start = res.rec_a.start + pd.Timedelta(seconds=res.alignment.overlap_s[0])
    heading = title or f"Couples session: {res.labels['A']} and {res.labels['B']}, {start:%Y-%m-%d}"
    parts = [f"<h1>{esc(('SIMULATED - ' if res.simulated else '') + heading)}</h1>",
             f'<p class="meta">{start:%Y-%m-%d %H:%M} UTC, {format_duration(res.alignment.overlap_s[1] - res.alignment.overlap_s[0])} '
             f"together; A: {esc(res.labels['A'])}, B: {esc(res.labels['B'])}</p>",
             '<section id="summary"><h2>Summary</h2><ul class="summary">'
             + "".join(f"<li>{esc(s)}</li>" for s in findings) + "</ul>"]
    if limits:
        parts.append('<div class="limits" id="limits"><h3>What could not be computed, and why</h3><ul>'
                     + "".join(f"<li>{esc(s)}</li>" for s in limits) + "</ul></div>")
    parts.append("</section>")
    parts.append('<section id="caveats"><h2>How to read this</h2><ul class="caveats">'
                 + "".join(f"<li>{esc(s)}</li>" for s in CAVEATS) + "</ul></section>")
    parts.append('<section id="figures"><h2>Figures</h2>')
    parts.append(figure_html(dfig.dyad_overview(res, title="Both partners on one clock" + sim), "fig-dyad-overview",
                             "Top two rows: each partner's heart rate and lnRMSSD on one clock (A solid, B dashed); "
                             "shaded bands are the shared events. Third row: the peak windowed cross-correlation of "
                             "each window (synchrony over time). Bottom: the lag of that peak; above zero B followed A."))
    if len(res.wcc.get("hr", ([], [], []))[0]):
        parts.append(figure_html(dfig.dyad_wcc(res, "hr", title="Heart rate: correlation by window and lag" + sim),
                                 "fig-dyad-wcc", "Colour: Pearson's r of the two heart rates in each window (x) at each "
                                 "lag (y; above zero B follows A). Crosses: the peak picked in each window."))
    if len(res.phases):
        parts.append(figure_html(dfig.dyad_phases(res.phases, title="Synchrony per phase against chance" + sim),
                                 "fig-dyad-phases", "Per phase: the synchrony of the session (filled marker: above "
                                 "chance after Holm adjustment; open: not) against the surrogates' mean and 95th percentile."))
    parts.append(figure_html(dfig.dyad_recovery(res, title="Recovery after the shared stressor" + sim),
                             "fig-dyad-recovery", "Each partner's heart rate above their own baseline, aligned at the "
                             "end of the stressor (shaded before 0 s); markers: back to baseline."))
    parts.append("</section>")
    parts.append(f'<section id="phases"><h2>Synchrony per phase</h2>{_phase_table_html(res)}</section>')
    parts.append(f'<section id="recovery"><h2>Recovery side by side</h2>{_recovery_table_html(res)}</section>')
    parts.append(f'<section id="coregulation"><h2>Co-regulation</h2>{_coreg_table_html(res)}</section>')
    cfg_rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in res.config.to_dict().items()
                       if k not in ("recovery", "clean"))
    parts.append(f'<section id="methods"><h2>Methods</h2>{_methods_html(res)}<h3>Settings</h3>'
                 f"<table><tbody>{cfg_rows}</tbody></table></section>")
    prov = res.provenance
    parts.append(f'<section id="provenance"><h2>Provenance</h2><p>Written by calmtrace {esc(_version.__version__)}; '
                 f"source: {esc(prov.get('source') or '')}; A started {esc(prov.get('start_a'))}, "
                 f"B started {esc(prov.get('start_b'))}.</p></section>")
    return page(heading, "\n".join(parts), simulated=res.simulated)


def write_dyad_report(res: Any, path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write the couples report of a :class:`~calmtrace.signals.dyad.DyadResult` as one HTML file.

    Parameters
    ----------
    res : DyadResult
    path : path-like
        The HTML file (its folder is created; written beside its name and renamed into place).
    title : str, optional

    Returns
    -------
    pathlib.Path
    """
    text = render_dyad_report(res, title=title)
    p = write_text_atomic(text, path)
    log.info("wrote couples report %s", p)
    return p


# -------------------------------------------------------------------------------------------
# several couples sessions
# -------------------------------------------------------------------------------------------
def dyad_trend_table(results: Sequence[Any]) -> pd.DataFrame:
    """One row per session, series and phase: ``session``, ``date``, ``series``, ``phase``,
    ``synchrony_r``, ``median_lag_s``, ``p_holm``, ``exceeds_chance``, ``surrogate``."""
    rows = []
    for k, res in enumerate(sorted(results, key=lambda r: r.start), start=1):
        for r in res.phases.itertuples(index=False):
            rows.append({"session": k, "date": pd.Timestamp(res.start), "couple": f"{res.labels['A']} + {res.labels['B']}",
                         "series": r.series, "phase": r.phase, "synchrony_r": r.synchrony_r,
                         "median_lag_s": r.median_lag_s, "p_holm": r.p_holm, "exceeds_chance": bool(r.exceeds_chance),
                         "surrogate": r.surrogate, "n_surrogates": r.n_surrogates})
    return pd.DataFrame(rows, columns=["session", "date", "couple", "series", "phase", "synchrony_r", "median_lag_s",
                                       "p_holm", "exceeds_chance", "surrogate", "n_surrogates"])


def render_dyad_trend_report(results: Sequence[Any], *, title: str | None = None) -> str:
    """The trend report over several couples sessions (per-phase synchrony by date) as HTML."""
    table = dyad_trend_table(results)
    simulated = any(r.simulated for r in results)
    couples = list(dict.fromkeys(table["couple"])) if len(table) else []
    heading = title or f"Couples trend: {', '.join(couples) or 'no sessions'}"
    findings = [f"{len(results)} couples sessions"
                + (f" from {table['date'].min():%Y-%m-%d} to {table['date'].max():%Y-%m-%d}." if len(table) else "."),
                "Each point is one session (n = 1 each); a change across weeks is a description, not a test."]
    hr = table[table["series"] == "hr"]
    for ph in dict.fromkeys(hr["phase"]):
        d = hr[hr["phase"] == ph]
        if len(d) >= 2:
            findings.append(f"Heart-rate synchrony in '{ph}' went from {fmt(d['synchrony_r'].iloc[0], 2)} (session "
                            f"{d['session'].iloc[0]}) to {fmt(d['synchrony_r'].iloc[-1], 2)} (session "
                            f"{d['session'].iloc[-1]}); above chance in {int(d['exceeds_chance'].sum())} of {len(d)} sessions.")
    if len(couples) > 1:
        findings.append(f"The sessions belong to {len(couples)} different pairs of subjects; a trend is meant for one couple.")
    parts = [f"<h1>{esc(('SIMULATED - ' if simulated else '') + heading)}</h1>",
             '<section id="summary"><h2>Summary</h2><ul class="summary">'
             + "".join(f"<li>{esc(s)}</li>" for s in findings) + "</ul></section>",
             '<section id="caveats"><h2>How to read this</h2><ul class="caveats">'
             + "".join(f"<li>{esc(s)}</li>" for s in CAVEATS[:3]) + "</ul></section>"]
    if len(table):
        parts.append('<section id="figures"><h2>Figures</h2>' + figure_html(
            dfig.dyad_trend(table, title="Synchrony per phase across sessions" + (" [SIMULATED]" if simulated else "")),
            "fig-dyad-trend", "Per phase, the session's synchrony (mean peak r) by date: heart rate above, lnRMSSD "
            "below. Filled markers: above chance in that session (Holm-adjusted surrogate test); open: not.")
            + "</section>")
    body = "".join(
        f'<tr class="{"above" if r.exceeds_chance else "chance"}"><td class="num">{r.session}</td><td>{r.date:%Y-%m-%d}</td>'
        f"<td>{esc(_SERIES_NAME.get(r.series, r.series))}</td><td>{esc(r.phase)}</td>"
        f'<td class="num">{fmt(r.synchrony_r, 2)}</td><td class="num">{fmt(r.median_lag_s, 0, "s")}</td>'
        f'<td class="num">{fmt(r.p_holm, 3)}</td><td>{"yes" if r.exceeds_chance else "no"}</td>'
        f"<td>{esc(r.surrogate)} (n = {r.n_surrogates})</td></tr>" for r in table.itertuples(index=False))
    parts.append('<section id="sessions"><h2>Synchrony per session and phase</h2><table id="dyad-trend-table"><thead><tr>'
                 "<th>#</th><th>date</th><th>series</th><th>phase</th><th>synchrony (mean peak r)</th><th>median lag</th>"
                 f"<th>p (Holm)</th><th>above chance</th><th>surrogates</th></tr></thead><tbody>{body}</tbody></table></section>")
    parts.append(f'<section id="provenance"><h2>Provenance</h2><p>Written by calmtrace {esc(_version.__version__)}. '
                 "Methods as in each session's couples report (docs/dyads.md).</p></section>")
    return page(heading, "\n".join(parts), simulated=simulated)


def write_dyad_trend_report(results: Sequence[Any], path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Write the trend report over several couples sessions (DyadResults) as one HTML file."""
    text = render_dyad_trend_report(results, title=title)
    p = write_text_atomic(text, path)
    log.info("wrote couples trend report %s over %d sessions", p, len(results))
    return p
