"""Events linked to recovery: the event table and the intervention comparison of a session.

This is analysis, not rendering: :func:`calmtrace.analyze` builds both tables with its
``[links]`` settings (:class:`~calmtrace.signals.config.LinkConfig`), and the report shows them.

:func:`event_table` lists every event of a session; a stressor's rows carry the recovery figures
measured after it (one row per assessed metric: baseline, reactivity, time-to-baseline or "not
back within N min", half-recovery, tau with its confidence interval, HRR60).

:func:`link_interventions` says which stressor each intervention followed, and
:func:`intervention_comparison` sets the recovery of the stressors that an intervention followed
against the recovery of those that no intervention followed, with the difference and what it can
and cannot mean. One session is one case, not a trial: the comparison states its n, carries the
fit intervals through, and treats a recovery that was not complete within the horizon as a
censored (lower-bound) value instead of a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from ..events import Events
from . import metrics as _metrics
from .config import LinkConfig

__all__ = [
    "FOLLOW_S",
    "LINK_TOLERANCE_S",
    "link_interventions",
    "event_table",
    "intervention_comparison",
    "Censored",
    "format_duration",
    "ttb_text",
]

#: The defaults of :class:`~calmtrace.signals.config.LinkConfig` (their sources are there).
FOLLOW_S: float = LinkConfig().follow_s
LINK_TOLERANCE_S: float = LinkConfig().tolerance_s


def format_duration(seconds: float) -> str:
    """``190`` -> ``"3 min 10 s"``, ``45`` -> ``"45 s"``, ``600`` -> ``"10 min"``, NaN -> ``"n/a"``.

    Parameters
    ----------
    seconds : float
        A duration in s (rounded to whole seconds).
    """
    if seconds is None or not math.isfinite(float(seconds)):
        return "n/a"
    s = int(round(float(seconds)))
    sign = "-" if s < 0 else ""
    h, rem = divmod(abs(s), 3600)
    m, sec = divmod(rem, 60)
    parts = ([f"{h} h"] if h else []) + ([f"{m} min"] if m else [])
    if sec or not parts:
        parts.append(f"{sec} s")
    return sign + " ".join(parts)


def _num(row: pd.Series | dict, key: str) -> float:
    """``row[key]`` as float, NaN when absent or not a number."""
    v = row.get(key, math.nan) if hasattr(row, "get") else math.nan
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v


def _flag(row: pd.Series | dict, key: str) -> bool | None:
    """``row[key]`` as bool, None when absent or missing."""
    v = row.get(key, None)
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return bool(v)


@dataclass(frozen=True)
class Censored:
    """A time that may be censored: ``value_s`` is exact, or a lower bound when ``censored``.

    Attributes
    ----------
    value_s : float
        Seconds; NaN when unknown.
    censored : bool
        True when the true value is at least ``value_s`` (not back within the follow-up).
    """

    value_s: float
    censored: bool

    @property
    def known(self) -> bool:
        """True when there is a number (exact or a bound)."""
        return math.isfinite(self.value_s)


def time_to_baseline(row: pd.Series | dict) -> Censored:
    """The time-to-baseline of a Recovery row as a possibly censored value.

    A recovered row gives its ``time_to_baseline_s``. A row that did not recover is censored at
    ``censored_at_s`` (how long recovery was followed); it is unknown (NaN) when it was not
    followed at all (``censored_at_s`` 0 or missing) or had no baseline band to return to.
    """
    if _flag(row, "recovered"):
        return Censored(_num(row, "time_to_baseline_s"), False)
    if not (math.isfinite(_num(row, "band_low")) or math.isfinite(_num(row, "band_high"))):
        return Censored(math.nan, False)
    followed = _num(row, "censored_at_s")
    if math.isfinite(followed) and followed > 0:
        return Censored(followed, True)
    return Censored(math.nan, False)


def ttb_text(row: pd.Series | dict) -> str:
    """Time-to-baseline in words: ``"3 min 10 s"``, ``"not back within 10 min"`` or ``"n/a"``."""
    c = time_to_baseline(row)
    if not c.known:
        return "n/a"
    if c.censored:
        return f"not back within {format_duration(c.value_s)}"
    return format_duration(c.value_s)


# -------------------------------------------------------------------------------------------
# linking interventions to stressors
# -------------------------------------------------------------------------------------------
def link_interventions(events: Events, follow_s: float = FOLLOW_S,
                       tolerance_s: float = LINK_TOLERANCE_S) -> pd.DataFrame:
    """Which stressor each intervention followed.

    An intervention follows a stressor when its onset lies between ``tolerance_s`` before the
    stressor's end and ``follow_s`` after it, and no other stressor begins in between. An
    intervention follows at most one stressor (the latest that qualifies).

    Parameters
    ----------
    events : Events
    follow_s : float
        Longest delay in s from the stressor's end to the intervention's onset.
    tolerance_s : float
        Slack in s before the stressor's end.

    Returns
    -------
    pandas.DataFrame
        One row per link: ``stressor``, ``stressor_onset_s``, ``stressor_offset_s``,
        ``intervention``, ``intervention_onset_s``, ``delay_s`` (intervention onset minus
        stressor end, s).
    """
    ev = events.df
    stressors = ev[ev["kind"] == "stressor"].sort_values("onset_s")
    rows = []
    for iv in ev[ev["kind"] == "intervention"].itertuples(index=False):
        best = None
        for s in stressors.itertuples(index=False):
            delay = iv.onset_s - s.offset_s
            if not (-tolerance_s <= delay <= follow_s):
                continue
            later = stressors[(stressors["onset_s"] > s.onset_s) & (stressors["onset_s"] <= iv.onset_s)]
            if len(later):
                continue
            best = (s, delay)
        if best is not None:
            s, delay = best
            rows.append((s.label, s.onset_s, s.offset_s, iv.label, iv.onset_s, delay))
    table = pd.DataFrame(rows, columns=["stressor", "stressor_onset_s", "stressor_offset_s", "intervention",
                                        "intervention_onset_s", "delay_s"])
    # numeric even when empty (pandas 2 gives an empty frame object columns)
    return table.astype({c: "float64" for c in ("stressor_onset_s", "stressor_offset_s",
                                                 "intervention_onset_s", "delay_s")})


# -------------------------------------------------------------------------------------------
# the event table
# -------------------------------------------------------------------------------------------
EVENT_TABLE_COLUMNS: tuple[str, ...] = (
    "event", "kind", "onset_s", "offset_s", "duration_s", "linked",
    "metric", "metric_name", "unit", "baseline_mean", "baseline_sd", "baseline_start_s", "baseline_end_s",
    "peak", "reactivity", "time_to_baseline_s", "recovered", "ttb_censored", "time_to_baseline", "t50_s",
    "tau_s", "tau_ci_low_s", "tau_ci_high_s", "tau_r2", "fit_quality", "response_in_band", "stressor_relation",
    "hrr60_bpm", "note",
)


def _rows_of(recovery: pd.DataFrame, label: str, onset_s: float) -> pd.DataFrame:
    if recovery is None or len(recovery) == 0:
        return pd.DataFrame()
    sel = (recovery["event_label"] == label) & np.isclose(recovery["onset_s"].to_numpy(float), onset_s, atol=1e-6)
    return recovery[sel]


def event_table(events: Events, recovery: pd.DataFrame | None,
                metrics: Iterable[str] | None = None, follow_s: float = FOLLOW_S,
                tolerance_s: float = LINK_TOLERANCE_S) -> pd.DataFrame:
    """Every event of a session, with the recovery figures of each stressor.

    Parameters
    ----------
    events : Events
    recovery : pandas.DataFrame or None
        The Recovery table (one row per stressor and metric).
    metrics : iterable of str, optional
        Metrics to include, in this order; default every metric of ``recovery``.
    follow_s, tolerance_s : float
        See :func:`link_interventions` (``LinkConfig.follow_s``, ``LinkConfig.tolerance_s``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EVENT_TABLE_COLUMNS`, sorted by onset. A stressor has one row per
        metric (``metric`` set); any other event one row with the recovery columns empty. A
        stressor without Recovery rows has one row whose ``note`` says so. ``linked`` names the
        intervention(s) that followed a stressor, or the stressor an intervention followed.
    """
    links = link_interventions(events, follow_s, tolerance_s)
    rec = recovery if recovery is not None else pd.DataFrame()
    wanted = list(metrics) if metrics is not None else (list(dict.fromkeys(rec["metric"])) if len(rec) else [])
    out: list[dict] = []
    for ev in events.df.itertuples(index=False):
        base = {"event": ev.label, "kind": ev.kind, "onset_s": ev.onset_s, "offset_s": ev.offset_s,
                "duration_s": ev.duration_s, "linked": ""}
        if ev.kind == "stressor":
            lk = links[(links["stressor"] == ev.label) & np.isclose(links["stressor_onset_s"], ev.onset_s)]
            if len(lk):
                base["linked"] = "followed by " + ", ".join(f"'{x}'" for x in lk["intervention"])
            rows = _rows_of(rec, ev.label, ev.onset_s)
            rows = rows[rows["metric"].isin(wanted)] if len(rows) else rows
            if len(rows) == 0:
                out.append({**base, "note": "no recovery figures: the analysis returned none for this stressor"})
                continue
            order = {m: i for i, m in enumerate(wanted)}
            rows = rows.assign(_o=rows["metric"].map(order)).sort_values("_o")
            for _, r in rows.iterrows():
                name, unit = _metrics.label(r["metric"]), _metrics.unit(r["metric"])
                ttb = time_to_baseline(r)
                out.append({
                    **base, "metric": r["metric"], "metric_name": name, "unit": unit,
                    "baseline_mean": _num(r, "baseline_mean"), "baseline_sd": _num(r, "baseline_sd"),
                    "baseline_start_s": _num(r, "baseline_start_s"), "baseline_end_s": _num(r, "baseline_end_s"),
                    "peak": _num(r, "peak"), "reactivity": _num(r, "reactivity"),
                    "time_to_baseline_s": ttb.value_s, "recovered": _flag(r, "recovered"), "ttb_censored": ttb.censored,
                    "time_to_baseline": ttb_text(r), "t50_s": _num(r, "t50_s"), "tau_s": _num(r, "tau_s"),
                    "tau_ci_low_s": _num(r, "tau_ci_low_s"), "tau_ci_high_s": _num(r, "tau_ci_high_s"),
                    "tau_r2": _num(r, "tau_r2"), "hrr60_bpm": _num(r, "hrr60_bpm"),
                    "fit_quality": str(r.get("fit_quality", "") or "") if not pd.isna(r.get("fit_quality", "")) else "",
                    "response_in_band": bool(_flag(r, "response_in_band")),
                    "stressor_relation": (str(r.get("stressor_relation", "") or "")
                                          if not pd.isna(r.get("stressor_relation", "")) else ""),
                    "note": str(r.get("note", "") or "") if not pd.isna(r.get("note", "")) else "",
                })
        else:
            if ev.kind == "intervention":
                lk = links[(links["intervention"] == ev.label) & np.isclose(links["intervention_onset_s"], ev.onset_s)]
                if len(lk):
                    d = float(lk["delay_s"].iloc[0])
                    when = "right after" if abs(d) < 1 else (f"{format_duration(d)} after" if d > 0
                                                            else f"{format_duration(-d)} before the end of")
                    base["linked"] = f"began {when} '{lk['stressor'].iloc[0]}'"
            out.append(base)
    table = pd.DataFrame(out, columns=list(EVENT_TABLE_COLUMNS))
    for c in ("linked", "note", "metric", "metric_name", "unit", "time_to_baseline", "fit_quality",
              "stressor_relation"):
        # element-wise: under pandas 3 fillna("") on an all-NaN float column is an error
        table[c] = pd.Series(["" if pd.isna(v) else str(v) for v in table[c]], index=table.index, dtype=object)
    return table


# -------------------------------------------------------------------------------------------
# the intervention comparison
# -------------------------------------------------------------------------------------------
COMPARISON_COLUMNS: tuple[str, ...] = (
    "intervention", "metric", "metric_name", "with_stressors", "without_stressors", "n_with", "n_without",
    "ttb_with_s", "ttb_with_censored", "ttb_without_s", "ttb_without_censored", "ttb_diff_s", "ttb_diff_bound",
    "t50_with_s", "t50_without_s", "t50_diff_s",
    "tau_with_s", "tau_with_ci_low_s", "tau_with_ci_high_s",
    "tau_without_s", "tau_without_ci_low_s", "tau_without_ci_high_s",
    "tau_diff_s", "tau_diff_ci_low_s", "tau_diff_ci_high_s", "ci_level", "statement",
)


def _pooled_ttb(values: list[Censored]) -> Censored:
    """Mean time-to-baseline of a group; a lower bound when any member is censored."""
    known = [c for c in values if c.known]
    if not known or len(known) < len(values):
        return Censored(math.nan, False)
    return Censored(float(np.mean([c.value_s for c in known])), any(c.censored for c in known))


def _pooled_tau(rows: pd.DataFrame, z: float) -> tuple[float, float, float, float]:
    """Mean tau of a group, its interval and standard error, from the fits' intervals.

    Each fit's standard error is recovered from its interval as half-width / z (the interval is
    taken as symmetric and normal); the mean's SE is sqrt(sum SE^2) / n.
    """
    tau = rows["tau_s"].to_numpy(float) if "tau_s" in rows else np.array([])
    lo = rows["tau_ci_low_s"].to_numpy(float) if "tau_ci_low_s" in rows else np.full(len(tau), np.nan)
    hi = rows["tau_ci_high_s"].to_numpy(float) if "tau_ci_high_s" in rows else np.full(len(tau), np.nan)
    if len(tau) == 0 or not np.isfinite(tau).all():
        return (math.nan,) * 4
    mean = float(tau.mean())
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return mean, math.nan, math.nan, math.nan
    se = float(np.sqrt(np.sum(((hi - lo) / (2.0 * z)) ** 2)) / len(tau))
    if len(tau) == 1:
        return mean, float(lo[0]), float(hi[0]), se
    return mean, mean - z * se, mean + z * se, se


def _difference_statement(metric_name: str, iv: str, n_with: int, n_without: int, ttb_w: Censored,
                          ttb_wo: Censored, diff: float, bound: str, tau: tuple, ci_level: float,
                          same_session: bool = True) -> str:
    """The comparison in words, saying what it is (a case) and what it is not (a trial)."""
    parts = []
    if bound == "exact":
        faster = "faster" if diff < 0 else "slower"
        parts.append(f"{metric_name} was back to baseline {format_duration(abs(diff))} {faster} after the "
                     f"stressor{'s' if n_with > 1 else ''} followed by '{iv}' "
                     f"({format_duration(ttb_w.value_s)} against {format_duration(ttb_wo.value_s)}).")
    elif bound in ("upper", "lower") and (diff >= 0 if bound == "upper" else diff <= 0):
        parts.append(f"The time-to-baseline of {metric_name} cannot be ordered: one recovery was not complete "
                     f"within a follow-up ({format_duration((ttb_wo if bound == 'upper' else ttb_w).value_s)}) "
                     "shorter than the other's time-to-baseline.")
    elif bound == "upper":
        parts.append(f"{metric_name} was back to baseline at least {format_duration(-diff)} faster with '{iv}': "
                     f"{format_duration(ttb_w.value_s)} with it, not within {format_duration(ttb_wo.value_s)} "
                     "without it.")
    elif bound == "lower":
        parts.append(f"{metric_name} took at least {format_duration(diff)} longer with '{iv}': not back within "
                     f"{format_duration(ttb_w.value_s)} with it, {format_duration(ttb_wo.value_s)} without it.")
    else:
        parts.append(f"The time-to-baseline of {metric_name} cannot be compared: "
                     + ("neither recovery was complete within the follow-up."
                        if ttb_w.censored and ttb_wo.censored else "it is missing for at least one stressor."))
    tau_d, tau_lo, tau_hi = tau
    pct = f"{round(100 * ci_level):d}%"
    if math.isfinite(tau_d) and math.isfinite(tau_lo):
        parts.append(f"Difference in the fitted time constant tau: {tau_d:+.0f} s ({pct} CI {tau_lo:+.0f} to "
                     f"{tau_hi:+.0f} s, from the fits' intervals"
                     + ("; the interval includes 0)." if tau_lo <= 0 <= tau_hi else ")."))
    elif math.isfinite(tau_d):
        parts.append(f"Difference in tau: {tau_d:+.0f} s (no interval: a fit gave none).")
    else:
        parts.append("Tau could not be compared (an exponential fit failed).")
    parts.append(f"n = {n_with} stressor{'s' if n_with != 1 else ''} with, {n_without} without, "
                 + ("in one session: this is one case, not a trial. The stressors differ in order and "
                    "content, so the difference cannot be attributed to the intervention."
                    if same_session else "across sessions."))
    return " ".join(parts)


def intervention_comparison(table: pd.DataFrame, ci_level: float = 0.95) -> pd.DataFrame:
    """Recovery after stressors followed by each intervention against stressors without one.

    For each intervention (by label) and metric: the stressors it followed ("with") and the
    stressors no intervention followed ("without"); the time-to-baseline of each group (the
    mean when a group has several), the difference with - without, and whether that
    difference is exact, an upper bound (``"upper"``: "with" recovered, "without" not within
    its follow-up, so with - without is at most the value), a lower bound (``"lower"``) or
    unknown (``"unknown"``); the same for t50; and tau with the fits' intervals and the
    difference with an interval from their standard errors (half-width / z of each interval,
    combined in quadrature; an approximation that treats the intervals as symmetric and normal).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`event_table`.
    ci_level : float
        Confidence level of the fits' intervals (:attr:`RecoveryConfig.ci_level`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`; empty when there is no intervention that followed a
        stressor, or no stressor without one to compare with.
    """
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    st = table[(table["kind"] == "stressor") & (table["metric"] != "")]
    rows = []
    if len(st) == 0:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    keys = st[["event", "onset_s", "linked"]].drop_duplicates()
    without_keys = keys[keys["linked"] == ""]
    interventions = table[(table["kind"] == "intervention") & (table["linked"] != "")]["event"].unique()
    for iv in interventions:
        with_keys = keys[keys["linked"].str.contains(f"'{iv}'", regex=False)]
        if len(with_keys) == 0 or len(without_keys) == 0:
            continue
        for metric in dict.fromkeys(st["metric"]):
            m = st[st["metric"] == metric]
            w = m.merge(with_keys[["event", "onset_s"]], on=["event", "onset_s"])
            wo = m.merge(without_keys[["event", "onset_s"]], on=["event", "onset_s"])
            if len(w) == 0 or len(wo) == 0:
                continue
            ttb_w = _pooled_ttb([Censored(r.time_to_baseline_s, bool(r.ttb_censored)) for r in w.itertuples()])
            ttb_wo = _pooled_ttb([Censored(r.time_to_baseline_s, bool(r.ttb_censored)) for r in wo.itertuples()])
            diff, bound = _censored_difference(ttb_w, ttb_wo)
            t50_w = float(w["t50_s"].mean()) if w["t50_s"].notna().all() else math.nan
            t50_wo = float(wo["t50_s"].mean()) if wo["t50_s"].notna().all() else math.nan
            tw, tw_lo, tw_hi, se_w = _pooled_tau(w, z)
            two, two_lo, two_hi, se_wo = _pooled_tau(wo, z)
            tau_d = tw - two
            half = z * math.sqrt(se_w ** 2 + se_wo ** 2) if math.isfinite(se_w) and math.isfinite(se_wo) else math.nan
            name = str(m["metric_name"].iloc[0])
            rows.append({
                "intervention": iv, "metric": metric, "metric_name": name,
                "with_stressors": ", ".join(w["event"]), "without_stressors": ", ".join(wo["event"]),
                "n_with": len(w), "n_without": len(wo),
                "ttb_with_s": ttb_w.value_s, "ttb_with_censored": ttb_w.censored,
                "ttb_without_s": ttb_wo.value_s, "ttb_without_censored": ttb_wo.censored,
                "ttb_diff_s": diff, "ttb_diff_bound": bound,
                "t50_with_s": t50_w, "t50_without_s": t50_wo, "t50_diff_s": t50_w - t50_wo,
                "tau_with_s": tw, "tau_with_ci_low_s": tw_lo, "tau_with_ci_high_s": tw_hi,
                "tau_without_s": two, "tau_without_ci_low_s": two_lo, "tau_without_ci_high_s": two_hi,
                "tau_diff_s": tau_d, "tau_diff_ci_low_s": tau_d - half, "tau_diff_ci_high_s": tau_d + half,
                "ci_level": ci_level,
                "statement": _difference_statement(name, iv, len(w), len(wo), ttb_w, ttb_wo, diff, bound,
                                                   (tau_d, tau_d - half, tau_d + half), ci_level),
            })
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _censored_difference(w: Censored, wo: Censored) -> tuple[float, str]:
    """``w - wo`` and what it is: ``exact``, ``upper`` (bound), ``lower`` (bound) or ``unknown``.

    With ``w`` exact and ``wo`` censored (true ``wo`` >= its value) the true difference is at
    most ``w - wo``: an upper bound. The reverse gives a lower bound; both censored, unknown.
    """
    if not (w.known and wo.known):
        return math.nan, "unknown"
    d = w.value_s - wo.value_s
    if not w.censored and not wo.censored:
        return d, "exact"
    if not w.censored and wo.censored:
        return d, "upper"
    if w.censored and not wo.censored:
        return d, "lower"
    return math.nan, "unknown"
