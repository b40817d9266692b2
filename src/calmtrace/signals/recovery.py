"""Recovery after stressors: baseline, reactivity, time to baseline, half-recovery, tau, HRR60, AUC.

:func:`assess_recovery` reads the Windows table of windowed HRV (one row per analysis window:
``start_s``, ``end_s``, ``valid`` and metric columns such as ``mean_hr_bpm``, ``ln_rmssd``,
``pns_index``) and the events, and returns the Recovery table: one row per stressor and metric.
The definitions, formulas and sources are in ``docs/recovery.md``; in short, for a stressor whose
recovery starts at ``t0`` (its end; for a moment, the time of the peak response after it) and a
metric with stress direction ``d`` (+1 rises under stress, -1 falls):

- baseline mean and SD of the valid windows wholly inside the baseline span (the last baseline
  event before the stressor, else ``baseline_span_s`` before its onset);
- peak: the extreme in the stress direction during the stressor; reactivity = peak - baseline;
- recovered once ``d * (y - baseline) <= half_width`` (the band; ``"two"``-sided: ``|y -
  baseline| <= half_width``) for ``hold_s``; ``time_to_baseline_s`` is the entry time, else the
  row is censored (``recovered`` False, ``censored_at_s`` says how long it was followed);
- ``t50_s``: first time the metric has recovered half the reactivity;
- ``tau_s``: time constant of ``y(t) = y_inf + A exp(-t / tau)`` fitted to the windows lying wholly
  after ``t0`` (a boxcar mean of an exponential is the same exponential, so window smoothing does
  not bias tau), with a t-based confidence interval from the fit covariance, scaled for the
  overlap of the windows (their residuals are correlated), and R²;
- ``hrr60_bpm``: heart rate at ``t0`` minus heart rate 60 s later (Cole et al. 1999);
- percent recovery at fixed times, and the area between the metric and its baseline.

A window's value is placed at its centre by default (``RecoveryConfig.window_time``). Times in
the output are seconds since the recording's start (onsets, peak) or since ``t0`` (everything
that measures recovery). Rows never carry silent numbers: what could not be computed is NaN and
the ``note`` column says why. Every parameter that shaped a row is a column of it, and the whole
config is in ``df.attrs["config"]``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from ..errors import InputError
from ..events import Events
from .config import RecoveryConfig
from .norms import NORMS

__all__ = ["assess_recovery", "recovery_columns"]

log = logging.getLogger(__name__)

_TOL_S = 1e-6
_HR_METRIC = "mean_hr_bpm"
#: Two stressors whose onsets and ends agree within this many seconds are one stressor logged twice.
_DUP_TOL_S = 1.0

_BASE_COLUMNS: list[tuple[str, str]] = [
    ("event_label", "object"), ("onset_s", "float64"), ("offset_s", "float64"),
    ("recovery_start_s", "float64"), ("metric", "object"), ("direction", "float64"),
    ("baseline_source", "object"), ("baseline_start_s", "float64"), ("baseline_end_s", "float64"),
    ("baseline_n_windows", "int64"), ("baseline_mean", "float64"), ("baseline_sd", "float64"),
    ("band", "object"), ("band_low", "float64"), ("band_high", "float64"), ("band_floor", "float64"),
    ("peak", "float64"), ("peak_time_s", "float64"), ("reactivity", "float64"),
    ("response_in_band", "bool"), ("recovered", "bool"), ("time_to_baseline_s", "float64"), ("censored_at_s", "float64"),
    ("t50_s", "float64"), ("tau_s", "float64"), ("tau_ci_low_s", "float64"),
    ("tau_ci_high_s", "float64"), ("tau_r2", "float64"), ("fit_quality", "object"), ("fit_n", "int64"),
    ("fit_y_inf", "float64"), ("fit_amp", "float64"),
    ("hrr60_bpm", "float64"), ("hrr60_source", "object"),
]
_TAIL_COLUMNS: list[tuple[str, str]] = [
    ("auc_metric_s", "float64"), ("auc_span_s", "float64"), ("stressor_relation", "object"),
    ("followed_by", "object"), ("note", "object"),
    ("window_s", "float64"), ("step_s", "float64"), ("window_time", "object"),
    ("k_sd", "float64"), ("band_floor_share", "float64"), ("swc_factor", "float64"), ("band_sides", "object"), ("hold_s", "float64"),
    ("horizon_s", "float64"), ("baseline_span_s", "float64"), ("peak_search_s", "float64"),
    ("hrr_lag_s", "float64"),
]


def _pct_column(t_s: float) -> str:
    return f"recovery_pct_{t_s:g}s"


def recovery_columns(config: RecoveryConfig | None = None) -> list[str]:
    """Column names of the Recovery table for ``config`` (the percent-recovery columns follow
    ``config.recovery_pct_times_s``)."""
    cfg = config or RecoveryConfig()
    return ([c for c, _ in _BASE_COLUMNS] + [_pct_column(t) for t in cfg.recovery_pct_times_s]
            + [c for c, _ in _TAIL_COLUMNS])


def assess_recovery(
    windows: pd.DataFrame,
    events: Events | pd.DataFrame,
    config: RecoveryConfig | None = None,
    beats: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Measure reactivity and recovery after every stressor, for every configured metric.

    Parameters
    ----------
    windows : pandas.DataFrame
        The Windows table: ``start_s`` and ``end_s`` (s since the recording's start), ``valid``
        (bool) and the metric columns (``mean_hr_bpm`` in bpm, ``ln_rmssd`` in ln(ms),
        ``pns_index`` unitless...).
    events : Events or pandas.DataFrame
        The session's events (``onset_s``, ``duration_s``, ``label``, ``kind``); rows of kind
        ``stressor`` are assessed, rows of kind ``baseline`` give explicit baselines.
    config : RecoveryConfig, optional
        All parameters; defaults cite their sources (see :class:`RecoveryConfig`).
    beats : pandas.DataFrame, optional
        Beats (``t_s`` in s, ``rr_ms`` in ms), preferably cleaned. When given, ``hrr60_bpm`` is
        computed from the beats' instantaneous heart rate; otherwise from the windows' heart rate
        (smoothed by the window, so smaller). ``hrr60_source`` says which.

    Returns
    -------
    pandas.DataFrame
        One row per stressor and metric, columns :func:`recovery_columns`; an empty table with
        these columns when there is no stressor. ``attrs["config"]`` holds the config as a dict.

    Raises
    ------
    InputError
        When ``windows`` lacks ``start_s``, ``end_s`` or ``valid``.

    Examples
    --------
    >>> win = windowed_hrv(rec, window_s=60, step_s=5)                  # doctest: +SKIP
    >>> rc = assess_recovery(win, rec.events, beats=rec.beats)          # doctest: +SKIP
    >>> rc[["event_label", "metric", "time_to_baseline_s", "t50_s", "tau_s"]]  # doctest: +SKIP
    """
    cfg = config or RecoveryConfig()
    win = _check_windows(windows)
    ev = events.df if isinstance(events, Events) else Events(events).df
    stressors = ev[ev["kind"] == "stressor"].reset_index(drop=True)
    baselines = ev[(ev["kind"] == "baseline") & (ev["duration_s"] > 0)].reset_index(drop=True)
    geometry = _geometry(win)
    t_win = (win["start_s"] + win["end_s"]).to_numpy() / 2 if cfg.window_time == "center" else win["end_s"].to_numpy()

    rows = []
    spans: list[tuple[float, float, str, str]] = []
    relations = stressor_relations(stressors, geometry[0] if math.isfinite(geometry[0]) else 0.0)
    for k, st in stressors.iterrows():
        rel = relations[k]
        nxt = stressors.iloc[rel["next"]] if rel["next"] is not None else None
        prev = stressors.iloc[k - 1] if k > 0 else None
        spans.append(_baseline_span(st, prev, spans[-1] if spans else None, baselines, cfg))
        for metric in cfg.metrics:
            if rel["relation"] == "duplicate":
                row = {c: math.nan for c, _ in _BASE_COLUMNS}
                row.update(event_label=st["label"], onset_s=float(st["onset_s"]), offset_s=float(st["offset_s"]),
                           metric=metric, recovered=False, fit_n=0, baseline_n_windows=0, note=[rel["note"]])
                for c in ("baseline_source", "band", "hrr60_source"):
                    row[c] = ""
            else:
                row = _assess(st, nxt, spans[-1], win, t_win, metric, cfg, beats, geometry)
                if rel["note"]:
                    row["note"].insert(0, rel["note"])
            row["stressor_relation"] = rel["relation"]
            row["followed_by"] = rel["followed_by"]
            rows.append(row)
    out = _table(rows, cfg, geometry)
    log.info("assessed recovery: %d stressors x %d metrics", len(stressors), len(cfg.metrics))
    return out


# -- input ------------------------------------------------------------------------------------------
def _check_windows(windows: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(windows, pd.DataFrame):
        raise InputError(f"windows must be a pandas DataFrame, got {type(windows).__name__}")
    missing = [c for c in ("start_s", "end_s", "valid") if c not in windows.columns]
    if missing:
        raise InputError(f"windows: missing column {missing[0]!r} (have {list(windows.columns)})")
    win = windows.copy()
    win["start_s"] = pd.to_numeric(win["start_s"], errors="coerce").astype(float)
    win["end_s"] = pd.to_numeric(win["end_s"], errors="coerce").astype(float)
    bad = ~np.isfinite(win["start_s"].to_numpy()) | ~np.isfinite(win["end_s"].to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"windows row {i + 1}: start_s and end_s must be finite numbers")
    win["valid"] = win["valid"].eq(True).to_numpy()
    return win.sort_values("start_s", kind="stable").reset_index(drop=True)


def stressor_relations(stressors: pd.DataFrame, window_s: float) -> list[dict]:
    """How each stressor stands to the others: alone, followed at once, overlapping, or a duplicate.

    Parameters
    ----------
    stressors : pandas.DataFrame
        Stressor events sorted by onset (``label``, ``onset_s``, ``offset_s``).
    window_s : float
        Analysis window length (s): a stressor whose successor begins less than one window after
        it ends is "consecutive" (no window lies in between, so no recovery from it alone).

    Returns
    -------
    list of dict
        Per stressor: ``relation`` ("", "consecutive", "overlapping" or "duplicate"),
        ``followed_by`` (the label of the stressor that cuts its recovery short, or ""), ``next``
        (index of the next stressor that is not a duplicate of it, or None) and ``note``.
    """
    on = stressors["onset_s"].to_numpy(float)
    off = stressors["offset_s"].to_numpy(float)
    lab = [str(x) for x in stressors["label"]]
    n = len(on)
    dup_of = [None] * n
    for k in range(n):
        for j in range(k):
            if dup_of[j] is None and abs(on[j] - on[k]) <= _DUP_TOL_S and abs(off[j] - off[k]) <= _DUP_TOL_S:
                dup_of[k] = j
                break
    out = []
    for k in range(n):
        if dup_of[k] is not None:
            j = dup_of[k]
            out.append({"relation": "duplicate", "followed_by": "", "next": None,
                        "note": f"duplicate of stressor {lab[j]!r} (same onset and end, {on[j]:g}-{off[j]:g} s): "
                                "assessed once, under the first"})
            continue
        nxt = next((j for j in range(k + 1, n) if dup_of[j] is None), None)
        rel, by, note = "", "", ""
        if nxt is not None:
            gap = on[nxt] - off[k]
            if gap < -_DUP_TOL_S:
                rel, by = "overlapping", lab[nxt]
                note = (f"overlaps stressor {lab[nxt]!r}, which begins at {on[nxt]:g} s, before this one ends at "
                        f"{off[k]:g} s: no recovery from this stressor alone can be measured")
            elif gap < window_s:
                rel, by = "consecutive", lab[nxt]
                note = (f"followed at once by stressor {lab[nxt]!r} ({max(gap, 0.0):g} s after it ends): no recovery "
                        f"from this stressor alone can be measured; the recovery after {lab[nxt]!r} covers both")
        out.append({"relation": rel, "followed_by": by, "next": nxt, "note": note})
    return out


def band_floor(metric: str, config: RecoveryConfig | None = None) -> float:
    """Least half-width of the ``"sd"`` baseline band of ``metric``, in its unit (NaN: no floor).

    ``config.band_floor_share`` x the between-person SD of the metric in healthy adults at rest
    (:data:`calmtrace.signals.norms.NORMS`, Nunan et al. 2010): Hopkins' smallest worthwhile
    change (0.2 x between-subject SD; Hopkins 2000, Sports Med 30:1-15; Batterham & Hopkins 2006).
    For lnRMSSD the SD of ln(RMSSD) is taken by the delta method, SD(RMSSD) / mean(RMSSD).
    A metric without a norm has no floor.
    """
    cfg = config or RecoveryConfig()
    if cfg.band_floor_share <= 0:
        return math.nan
    if metric == "ln_rmssd":
        sd = NORMS["rmssd_ms"].sd / NORMS["rmssd_ms"].mean
    elif metric in NORMS:
        sd = NORMS[metric].sd
    else:
        return math.nan
    return cfg.band_floor_share * sd


def _geometry(win: pd.DataFrame) -> tuple[float, float]:
    """Window length and step (s): as windowed HRV recorded them (``attrs["hrv"]``), else
    inferred from the table for a Windows table from elsewhere (NaN where undefined)."""
    rec = win.attrs.get("hrv") or {}
    if "window_s" in rec and "step_s" in rec:
        return float(rec["window_s"]), float(rec["step_s"])
    if len(win) == 0:
        return math.nan, math.nan
    window_s = float(np.median(win["end_s"] - win["start_s"]))
    starts = np.unique(win["start_s"].to_numpy())
    step_s = float(np.median(np.diff(starts))) if starts.size > 1 else math.nan
    return window_s, step_s


# -- one stressor x metric --------------------------------------------------------------------------
def _assess(st, nxt, span, win, t_win, metric, cfg, beats, geometry) -> dict:
    window_s, _ = geometry
    onset, dur = float(st["onset_s"]), float(st["duration_s"])
    offset = onset + dur
    row: dict = {"event_label": st["label"], "onset_s": onset, "offset_s": offset, "metric": metric,
                 "recovered": False, "baseline_n_windows": 0, "fit_n": 0, "band": cfg.band}
    notes: list[str] = []
    row["note"] = notes
    direction = cfg.direction(metric)
    if metric not in win.columns:
        notes.append(f"windows table has no column {metric!r}")
        return row
    if direction is None:
        notes.append(f"no stress direction configured for {metric!r} (RecoveryConfig.directions)")
        return row
    row["direction"] = float(direction)
    y_all = pd.to_numeric(win[metric], errors="coerce").to_numpy(dtype=float)
    usable = win["valid"].to_numpy() & np.isfinite(y_all)
    next_onset = float(nxt["onset_s"]) if nxt is not None else math.inf
    before_next = win["end_s"].to_numpy() <= next_onset + _TOL_S
    if not usable.any():
        notes.append(f"no valid windows with {metric}")

    # baseline
    base_mean, base_sd = _baseline(row, notes, span, win, y_all, usable, cfg)
    half_width = math.nan
    if math.isfinite(base_sd):
        ref_sd = cfg.swc_reference_sd if (cfg.band == "swc" and cfg.swc_reference_sd) else base_sd
        half_width = (cfg.k_sd if cfg.band == "sd" else cfg.swc_factor) * ref_sd
        floor = band_floor(metric, cfg)
        row["band_floor"] = floor
        if cfg.band == "sd" and math.isfinite(floor) and half_width < floor:
            half_width = floor
        row["band_low"], row["band_high"] = base_mean - half_width, base_mean + half_width

    # peak and the start of recovery
    t0 = _peak(row, notes, onset, dur, usable & before_next, t_win, y_all, direction, cfg)
    reactivity = row.get("peak", math.nan) - base_mean
    row["reactivity"] = reactivity
    if math.isfinite(reactivity) and math.isfinite(half_width) and direction * reactivity <= half_width:
        # the response is no larger than the baseline's own fluctuation: nothing to recover from
        row["response_in_band"] = True
        notes.append(f"the response (reactivity {reactivity:.3g}) did not leave the baseline band "
                     f"(+/- {half_width:.3g}): there is no recovery to time")

    # the recovery series: valid windows after t0, before the next stressor, within the horizon
    series = usable & before_next
    last_t = float(t_win[usable].max()) if usable.any() else -math.inf
    limit_abs = min(t0 + cfg.horizon_s, next_onset, last_t)
    if not math.isfinite(limit_abs):
        limit_abs = t0
    limit = max(0.0, limit_abs - t0)
    after = series & (t_win > t0 + _TOL_S) & (t_win <= limit_abs + _TOL_S)
    tr, yr = t_win[after] - t0, y_all[after]
    pre = series & (t_win <= t0 + _TOL_S) & (t_win >= t0 - (window_s if math.isfinite(window_s) else 0))
    t_pre = float(t_win[pre][-1] - t0) if pre.any() else math.nan
    y_pre = float(y_all[pre][-1]) if pre.any() else math.nan
    if tr.size == 0 and usable.any():
        notes.append("no valid windows after the stressor" + _why_limit(t0, cfg, nxt, next_onset, last_t))

    # time to baseline
    if math.isfinite(half_width) and math.isfinite(base_mean):
        def excess(v):
            dev = direction * (np.asarray(v, float) - base_mean)
            return (dev if cfg.band_sides == "one" else np.abs(dev)) - half_width
        ttb = _time_to_band(tr, excess(yr), t_pre, excess(y_pre) if math.isfinite(y_pre) else math.nan, cfg.hold_s)
        if math.isfinite(ttb):
            row["recovered"], row["time_to_baseline_s"] = True, ttb
            if ttb == 0.0:
                notes.append("already in the band at the start of recovery")
        elif tr.size:
            notes.append(f"not back in the band for {cfg.hold_s:g} s within {limit:g} s"
                         + _why_limit(t0, cfg, nxt, next_onset, last_t))
    elif not math.isfinite(base_mean):
        notes.append("time to baseline, t50, percent recovery and AUC need a baseline")
    if not row["recovered"]:
        row["censored_at_s"] = limit          # how long recovery was followed, 0 when not at all

    # half recovery
    if math.isfinite(reactivity) and direction * reactivity > 0:
        half = direction * reactivity / 2
        def excess_half(v):
            return direction * (np.asarray(v, float) - base_mean) - half
        t50 = _time_to_band(tr, excess_half(yr), t_pre, excess_half(y_pre) if math.isfinite(y_pre) else math.nan, 0.0)
        row["t50_s"] = t50
        if t50 == 0.0:
            notes.append("already half-recovered in the window at the start of recovery")
        if not math.isfinite(t50) and tr.size:
            notes.append(f"not half-recovered within {limit:g} s")
    elif math.isfinite(reactivity):
        notes.append(f"no response in the stress direction (reactivity {reactivity:.3g}): no t50, no percent recovery")

    # exponential fit on windows wholly after t0
    fit_mask = after & (win["start_s"].to_numpy() >= t0 - _TOL_S)
    _fit_tau(row, notes, t_win[fit_mask] - t0, y_all[fit_mask], direction, cfg, geometry)

    # HRR60
    if metric == _HR_METRIC:
        _hrr(row, notes, t0, limit, beats, t_win[series], y_all[series], window_s, cfg)

    # percent recovery and AUC
    t_curve = np.concatenate([[t_pre], tr]) if math.isfinite(t_pre) else tr
    y_curve = np.concatenate([[y_pre], yr]) if math.isfinite(t_pre) else yr
    _percent_and_auc(row, t_curve, y_curve, tr, yr, base_mean, reactivity, direction, limit, window_s, cfg)
    return row


def _peak(row, notes, onset, dur, usable, t_win, y_all, direction, cfg) -> float:
    """Write the peak and its time into ``row``; return t0, the start of recovery (s).

    A stressor with a duration: the extreme among windows centred in it; t0 is its end. A moment:
    the extreme in the ``peak_search_s`` after it; t0 is the peak's time (the moment itself when
    no valid window is there).
    """
    lo, hi = onset, (onset + dur if dur > 0 else onset + cfg.peak_search_s)
    t0 = onset + dur
    in_search = usable & (t_win >= lo - _TOL_S) & (t_win <= hi + _TOL_S)
    if in_search.any():
        idx = np.flatnonzero(in_search)
        j = idx[np.argmax(direction * y_all[idx])]
        row["peak"], row["peak_time_s"] = float(y_all[j]), float(t_win[j])
        if dur == 0:
            t0 = float(t_win[j])
    else:
        what = "during the stressor" if dur > 0 else f"in the {cfg.peak_search_s:g} s after the moment"
        notes.append(f"no valid window {what}: no peak")
        if dur == 0:
            notes.append("recovery measured from the moment itself")
    row["recovery_start_s"] = t0
    return t0


def _percent_and_auc(row, t_curve, y_curve, tr, yr, base_mean, reactivity, direction, limit, window_s, cfg) -> None:
    """Percent recovery at fixed times and the area between the metric and its baseline."""
    if math.isfinite(reactivity) and direction * reactivity > 0:
        for tq in cfg.recovery_pct_times_s:
            v = _value_at(tq, t_curve, y_curve, window_s) if tq <= limit + _TOL_S else math.nan
            row[_pct_column(tq)] = 100.0 * (row["peak"] - v) / reactivity
    if math.isfinite(base_mean) and tr.size:
        y0 = _value_at(0.0, t_curve, y_curve, window_s)
        tt, yy = (np.concatenate([[0.0], tr]), np.concatenate([[y0], yr])) if math.isfinite(y0) else (tr, yr)
        row["auc_metric_s"] = float(integrate.trapezoid(yy - base_mean, tt))
        row["auc_span_s"] = float(tt[-1] - tt[0])


def _baseline_span(st, prev, prev_span, baselines, cfg) -> tuple[float, float, str, str]:
    """(start_s, end_s, source, note) of a stressor's baseline.

    The last baseline event that ends by the onset; else the ``baseline_span_s`` before the
    onset; but when the previous stressor ended inside that span (a block of stressors, as in
    the TSST's speech and arithmetic), the previous stressor's baseline is shared, because the
    span would hold that stressor's recovery rather than a resting baseline.
    """
    onset = float(st["onset_s"])
    explicit = baselines[baselines["offset_s"] <= onset + _TOL_S]
    if len(explicit):
        b = explicit.iloc[-1]
        return float(b["onset_s"]), float(b["offset_s"]), f"event:{b['label']}", ""
    b0 = onset - cfg.baseline_span_s
    if prev is not None and prev_span is not None and float(prev["offset_s"]) > b0 + _TOL_S:
        note = (f"baseline shared with the previous stressor {prev['label']!r}, which ended "
                f"{onset - float(prev['offset_s']):g} s before this one")
        return prev_span[0], prev_span[1], prev_span[2], note
    return b0, onset, "span", ""


def _baseline(row, notes, span, win, y_all, usable, cfg) -> tuple[float, float]:
    b0, b1, source, note = span
    if note:
        notes.append(note)
    row.update(baseline_source=source, baseline_start_s=b0, baseline_end_s=b1)
    inside = usable & (win["start_s"].to_numpy() >= b0 - _TOL_S) & (win["end_s"].to_numpy() <= b1 + _TOL_S)
    n = int(inside.sum())
    row["baseline_n_windows"] = n
    if n < cfg.min_baseline_windows:
        notes.append(f"no baseline: {n} valid windows in {b0:g}-{b1:g} s (need {cfg.min_baseline_windows})")
        return math.nan, math.nan
    v = y_all[inside]
    mean, sd = float(v.mean()), float(v.std(ddof=1))
    row["baseline_mean"], row["baseline_sd"] = mean, sd
    return mean, sd


def _why_limit(t0, cfg, nxt, next_onset, last_t) -> str:
    if next_onset < t0 + cfg.horizon_s:
        return f" (next stressor {nxt['label']!r} at {next_onset:g} s)"
    if last_t < t0 + cfg.horizon_s:
        return " (data end)"
    return f" (horizon {cfg.horizon_s:g} s)"


def _time_to_band(t: np.ndarray, exc: np.ndarray, t_pre: float, exc_pre: float, hold_s: float) -> float:
    """First time the excess drops to <= 0 and stays there for ``hold_s``, or NaN.

    ``t`` (s after t0) and ``exc`` (<= 0 inside) are the valid samples after t0; ``t_pre``,
    ``exc_pre`` the last valid sample at or before t0 (NaN if none). The entry time is
    interpolated linearly between the last sample outside and the first inside, clipped to
    >= 0; a run of inside samples counts once it spans ``hold_s``.
    """
    inside = exc <= 0
    n = t.size
    i = 0
    while i < n:
        if not inside[i]:
            i += 1
            continue
        e = i
        while e + 1 < n and inside[e + 1]:
            e += 1
        if t[e] - t[i] >= hold_s - _TOL_S:
            if i > 0:
                ta, ea = t[i - 1], exc[i - 1]
            elif math.isfinite(exc_pre):
                ta, ea = t_pre, exc_pre
            else:
                return float(t[i])
            if ea <= 0:           # already inside before t0: back at once
                return 0.0
            tb, eb = t[i], exc[i]
            return float(max(0.0, ta + (tb - ta) * ea / (ea - eb)))
        i = e + 1
    return math.nan


def _value_at(tq: float, t: np.ndarray, y: np.ndarray, window_s: float) -> float:
    """Linear interpolation of the valid samples at ``tq``, NaN unless bracketed within 2 windows."""
    if t.size == 0:
        return math.nan
    j = int(np.searchsorted(t, tq))
    if j < t.size and abs(t[j] - tq) < _TOL_S:
        return float(y[j])
    if j == 0 or j == t.size:
        return math.nan
    if math.isfinite(window_s) and t[j] - t[j - 1] > 2 * window_s:
        return math.nan
    return float(y[j - 1] + (y[j] - y[j - 1]) * (tq - t[j - 1]) / (t[j] - t[j - 1]))


def _exp_model(t, y_inf, amp, tau):
    return y_inf + amp * np.exp(-t / tau)


def _fit_tau(row, notes, t, y, direction, cfg, geometry) -> None:
    """Fit y = y_inf + A exp(-t/tau); write tau_s, its CI, R², fit_y_inf, fit_amp and fit_n into
    ``row`` (t in s since the recovery start)."""
    n = t.size
    window_s, step_s = geometry
    row["fit_n"] = int(n)
    if n < cfg.fit_min_points:
        notes.append(f"no tau: {n} valid windows wholly after the stressor (need {cfg.fit_min_points})")
        return
    lo, hi = cfg.tau_bounds_s
    tail = y[t >= t[0] + 0.8 * (t[-1] - t[0])]
    y_inf0 = float(np.mean(tail))
    amp0 = float(y[0] - y_inf0)
    # starting tau from where the data first cover 63 % of the way to the tail level
    reached = np.flatnonzero(np.abs(y - y_inf0) <= abs(amp0) / math.e)
    guess = t[reached[0]] - t[0] if reached.size and reached[0] > 0 else (t[-1] - t[0]) / 3
    tau0 = float(np.clip(guess, lo * 1.01, hi * 0.99))
    try:
        with warnings.catch_warnings():
            # a degenerate covariance is reported as a missing CI below, not as a warning
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            popt, pcov = optimize.curve_fit(
                _exp_model, t, y, p0=[y_inf0, amp0 * math.exp(t[0] / tau0), tau0],
                bounds=([-np.inf, -np.inf, lo], [np.inf, np.inf, hi]), maxfev=10000,
            )
    except (RuntimeError, ValueError) as exc:
        notes.append(f"exponential fit failed: {exc}")
        return
    y_inf, amp, tau = (float(p) for p in popt)
    resid = y - _exp_model(t, *popt)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    row["tau_s"] = tau
    # the fitted curve's other parameters, so that a figure draws this fit and never refits
    row["fit_y_inf"], row["fit_amp"] = y_inf, amp
    row["tau_r2"] = 1.0 - float(np.sum(resid ** 2)) / ss_tot if ss_tot > 0 else math.nan
    # Overlapping windows share most of their beats, so their residuals are correlated and the
    # plain covariance is too small: scale it by the windows per independent window
    # (window_s / step_s) and count degrees of freedom in independent windows.
    overlap = window_s / step_s if (math.isfinite(window_s) and math.isfinite(step_s) and step_s > 0) else 1.0
    overlap = max(1.0, overlap)
    dof = max(1, int(n / overlap) - 3)
    se = float(np.sqrt(pcov[2, 2] * overlap)) if np.isfinite(pcov[2, 2]) and pcov[2, 2] >= 0 else math.nan
    if math.isfinite(se):
        q = float(stats.t.ppf(0.5 + cfg.ci_level / 2, dof))
        row["tau_ci_low_s"], row["tau_ci_high_s"] = max(0.0, tau - q * se), tau + q * se
    else:
        notes.append("tau confidence interval undefined (singular fit covariance)")
    rejected = []
    if tau <= lo * 1.01 or tau >= hi * 0.99:
        notes.append(f"tau at the fit bound ({lo:g}-{hi:g} s)")
        rejected.append("at bound")
    if direction * amp < 0:
        notes.append("fitted curve moves away from baseline, not towards it")
        rejected.append("away")
    r2 = row["tau_r2"]
    if not (math.isfinite(r2) and r2 >= cfg.fit_min_r2):
        notes.append(f"exponential fit rejected: R² {r2:.2f} below {cfg.fit_min_r2:g}")
        rejected.append("r2")
    lo_ci, hi_ci = row.get("tau_ci_low_s", math.nan), row.get("tau_ci_high_s", math.nan)
    if rejected:
        row["fit_quality"] = "rejected"
    elif not (math.isfinite(lo_ci) and math.isfinite(hi_ci)) or hi_ci - lo_ci > cfg.tau_imprecise_ci_ratio * tau:
        row["fit_quality"] = "imprecise"
    else:
        row["fit_quality"] = "ok"


def _hrr(row, notes, t0, limit, beats, t_series, hr_series, window_s, cfg) -> None:
    """Heart-rate recovery: HR at t0 minus HR ``hrr_lag_s`` later (Cole et al. 1999)."""
    lag, avg = cfg.hrr_lag_s, cfg.hrr_average_s
    if lag > limit + _TOL_S:
        notes.append(f"no HRR{lag:g}: recovery followed for only {limit:g} s")
        return
    if beats is not None and len(beats):
        t = np.asarray(beats["t_s"], float)
        hr = 60000.0 / np.asarray(beats["rr_ms"], float)
        end = (t >= t0 - avg - _TOL_S) & (t <= t0 + _TOL_S)
        later = (t >= t0 + lag - avg / 2 - _TOL_S) & (t <= t0 + lag + avg / 2 + _TOL_S)
        if end.sum() < 3 or later.sum() < 3:
            notes.append(f"no HRR{lag:g}: fewer than 3 beats in a {avg:g} s span")
            return
        row["hrr60_bpm"] = float(hr[end].mean() - hr[later].mean())
        row["hrr60_source"] = "beats"
        return
    h0 = _value_at(t0, t_series, hr_series, window_s)
    h1 = _value_at(t0 + lag, t_series, hr_series, window_s)
    if math.isfinite(h0) and math.isfinite(h1):
        row["hrr60_bpm"] = h0 - h1
        row["hrr60_source"] = "windows"
    else:
        notes.append(f"no HRR{lag:g}: no valid heart-rate windows around {t0:g} s and {t0 + lag:g} s")


# -- output -----------------------------------------------------------------------------------------
def _table(rows: list[dict], cfg: RecoveryConfig, geometry: tuple[float, float]) -> pd.DataFrame:
    dtypes = dict(_BASE_COLUMNS) | {_pct_column(t): "float64" for t in cfg.recovery_pct_times_s} | dict(_TAIL_COLUMNS)
    cols = recovery_columns(cfg)
    params = {"window_s": geometry[0], "step_s": geometry[1], "window_time": cfg.window_time,
              "k_sd": cfg.k_sd, "band_floor_share": cfg.band_floor_share, "swc_factor": cfg.swc_factor, "band_sides": cfg.band_sides,
              "hold_s": cfg.hold_s, "horizon_s": cfg.horizon_s, "baseline_span_s": cfg.baseline_span_s,
              "peak_search_s": cfg.peak_search_s, "hrr_lag_s": cfg.hrr_lag_s}
    data = {}
    for c in cols:
        if c in params:
            values = [params[c]] * len(rows)
        elif c == "note":
            values = ["; ".join(r["note"]) for r in rows]
        else:
            default = "" if dtypes[c] == "object" else (False if dtypes[c] == "bool" else math.nan)
            values = [r.get(c, default) for r in rows]
        data[c] = pd.Series(values, dtype=dtypes[c])
    df = pd.DataFrame(data, columns=cols)
    df.attrs["config"] = dataclasses.asdict(cfg)
    return df
