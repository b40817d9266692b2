"""Per-window rhythm check: is HRV here a measure of autonomic modulation at all?

Heart-rate variability reflects the autonomic modulation of the sinus node only while the sinus
node drives the heart (Task Force 1996). Two departures are visible in RR alone:

* **irregular** -- an irregularly irregular rhythm, as in atrial fibrillation: RR independent from
  beat to beat. Detected on the recorded RR (before cleaning, which would take irregular beats
  for artefacts) of a segment of 128 beats centred on each window, with the three statistics of
  Dash et al. (2009), "Automatic real time detection of atrial fibrillation", Ann Biomed Eng
  37(9):1701-1709, at their published thresholds:

  - normalised RMSSD, RMSSD / mean RR, above 0.1 (variability too large);
  - turning-point ratio (share of intervals that are a local maximum or minimum of their three)
    inside 0.54-0.77, the range expected of a random series (its mean is 2/3);
  - Shannon entropy of the RR histogram in 16 equal bins between the segment's shortest and
    longest interval, normalised by log(16), above 0.7 (intervals spread over the range);

  and the independence that defines the rhythm, tested directly: the Ljung-Box statistic of the
  first 10 autocorrelations (Ljung & Box 1978, Biometrika 65:297) must not reject white noise at
  the 0.1 % level. Two departures from Dash et al., both measured: they set aside the 8 longest
  and 8 shortest of 128 intervals before the statistics, which for normally distributed RR lowers
  the normalised RMSSD by a quarter and put the detection boundary at a coefficient of variation
  of 0.094 (a series with CV 0.10 was called irregular in 12-49 of 49 windows, by chance), so
  calmtrace keeps every interval (``trim_share`` = 0); the independence test then does what the
  trimming did for sinus rhythm with outliers, and more: a sinus session with strong, irregular
  respiratory arrhythmia (wearable-hrv P37) passes all three statistics in 79 segments but its
  intervals are correlated (Ljung-Box Q 43-665 against 30 at the 0.1 % level; independent
  series 2-36).
* **ectopy** -- persistent ectopy: more than ``ectopy_share`` of the window's beats are premature
  beats that cleaning moved (flag ``ectopic``).

Each window gets ``rhythm`` = ``sinus``, ``irregular``, ``ectopy`` or ``unknown`` (fewer than
``min_beats`` recorded beats: no judgement, and no flag). :func:`windowed_rhythm` returns the
column; :func:`summarise` the spans and the warning, "not sinus rhythm: HRV is not a measure of
autonomic modulation here", which :func:`calmtrace.analyze` writes into the summary,
``meta["rhythm"]`` (shown by ``calmtrace info`` and the report) and uses to invalidate those
windows for every autonomic metric.

The same rule serves the other steps, from here: :func:`judge` judges a whole recording on the
analysis grid; :func:`calmtrace.signals.clean.clean` judges before it corrects (an irregular
rhythm is not ectopy) and keeps the judgement in ``meta["rhythm"]``; :func:`span_rhythm` reads the
rhythm of any span from it, for :func:`calmtrace.hrv` and :func:`calmtrace.hrv_by_event`, which give
NaN for every metric but :data:`RATE_METRICS` where it is not sinus. :func:`rhythm_words` is what
each rhythm is called, everywhere.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from ..recording import Recording
from .config import RhythmConfig

__all__ = ["RhythmConfig", "RHYTHMS", "NOT_SINUS", "RATE_METRICS", "windowed_rhythm", "rhythm_features", "summarise",
           "judge", "describe_windows", "span_rhythm", "rhythm_words", "rhythm_lines"]

log = logging.getLogger(__name__)

#: Values of the ``rhythm`` column.
RHYTHMS: tuple[str, ...] = ("sinus", "irregular", "ectopy", "unknown")
#: The rhythms for which windowed HRV is not a measure of autonomic modulation.
NOT_SINUS: tuple[str, ...] = ("irregular", "ectopy")
#: What the summary, ``info`` and the report say about such windows.
NOT_SINUS_MESSAGE = "not sinus rhythm: HRV is not a measure of autonomic modulation here"
#: Metrics that keep their meaning whatever the rhythm: the rate itself (mean RR, mean heart rate).
#: Every variability metric (time domain, spectrum, Poincare, entropy, DFA, PNS/SNS indices) is a
#: measure of autonomic modulation of the sinus node only under sinus rhythm (Task Force 1996), so
#: span HRV (:func:`calmtrace.signals.segment.hrv`) gives NaN for them where the rhythm is not sinus.
RATE_METRICS: tuple[str, ...] = ("mean_rr_ms", "mean_hr_bpm")


def rhythm_words(config: RhythmConfig | None = None) -> dict[str, str]:
    """What each non-sinus rhythm is called in warnings, notes and the cleaning log (one source).

    Parameters
    ----------
    config : RhythmConfig, optional
        For the ectopy share named in the words.

    Returns
    -------
    dict
        ``{"irregular": ..., "ectopy": ...}``.
    """
    cfg = config or RhythmConfig()
    return {"irregular": "irregularly irregular RR (atrial-fibrillation-like, Dash et al. 2009)",
            "ectopy": f"persistent ectopy (more than {cfg.ectopy_share:.0%} of beats premature)"}


def rhythm_features(rr_ms: np.ndarray, config: RhythmConfig | None = None) -> dict[str, float]:
    """Dash et al. (2009) statistics and the independence test of one run of consecutive RR.

    Parameters
    ----------
    rr_ms : array of float, shape (n,)
        Consecutive RR intervals (ms), in order, none across a gap.
    config : RhythmConfig, optional
        Thresholds and trimming.

    Returns
    -------
    dict
        ``nrmssd`` (RMSSD / mean RR of the trimmed series), ``tpr`` (turning points / intervals),
        ``entropy`` (normalised Shannon entropy, 0-1), ``ljung_box`` (Q of the first
        ``independence_lags`` autocorrelations) and ``irregular`` (1.0 when all three pass Dash et
        al.'s thresholds and Q does not reject independence, else 0.0); NaN everywhere for fewer
        than ``min_beats``.
    """
    cfg = config or RhythmConfig()
    rr = np.asarray(rr_ms, dtype=float)
    nan = {"nrmssd": math.nan, "tpr": math.nan, "entropy": math.nan, "ljung_box": math.nan,
           "irregular": math.nan}
    if rr.size < cfg.min_beats:
        return nan
    k = int(round(cfg.trim_share * rr.size))
    order = np.argsort(rr, kind="stable")
    keep = np.ones(rr.size, dtype=bool)
    if k:
        keep[order[:k]] = False
        keep[order[-k:]] = False
    x = rr[keep]                                   # trimmed, in time order
    nrmssd = float(np.sqrt(np.mean(np.diff(x) ** 2)) / np.mean(x))
    mid = x[1:-1]
    turning = ((mid > x[:-2]) & (mid > x[2:])) | ((mid < x[:-2]) & (mid < x[2:]))
    tpr = float(turning.sum() / x.size)
    if x.max() > x.min():
        counts, _ = np.histogram(x, bins=cfg.entropy_bins, range=(x.min(), x.max()))
        p = counts[counts > 0] / x.size
        entropy = float(-(p * np.log(p)).sum() / math.log(cfg.entropy_bins))
    else:
        entropy = 0.0
    q = _ljung_box(x, min(cfg.independence_lags, x.size - 2))
    q_limit = float(chi2.ppf(1.0 - cfg.independence_p, min(cfg.independence_lags, x.size - 2)))
    lo, hi = cfg.tpr_range
    irregular = (nrmssd > cfg.nrmssd_threshold and lo <= tpr <= hi and entropy > cfg.entropy_threshold
                 and q <= q_limit)
    return {"nrmssd": nrmssd, "tpr": tpr, "entropy": entropy, "ljung_box": q, "irregular": float(irregular)}


def _ljung_box(x: np.ndarray, lags: int) -> float:
    """Ljung-Box Q of the first ``lags`` autocorrelations of ``x`` (Ljung & Box 1978)."""
    n = x.size
    d = x - x.mean()
    denom = float(d @ d)
    if denom == 0.0 or lags < 1:
        return 0.0
    k = np.arange(1, lags + 1)
    r = np.array([float(d[:-j] @ d[j:]) for j in k]) / denom
    return float(n * (n + 2) * np.sum(r * r / (n - k)))


#: Segments judged per block by :func:`_features_of_segments`: each block holds a few arrays of
#: ``_BLOCK x segment_beats`` floats (about 16 MB each at 128 beats), so memory stays bounded
#: whatever the number of windows (1.84 million windows of a 10-million-beat file needed 10 GB as
#: one block).
_BLOCK = 16384


def _features_of_segments(rr: np.ndarray, starts: np.ndarray, cfg: RhythmConfig) -> dict[str, np.ndarray]:
    """:func:`rhythm_features` (untrimmed) of many segments of ``cfg.segment_beats`` at once.

    The same statistics as the one-segment function, row by row (the tests check the two agree),
    computed in blocks of :data:`_BLOCK` segments; each segment's figures depend on its own row
    only, so the blocks give the same numbers as one block would.
    """
    names = ("nrmssd", "tpr", "entropy", "ljung_box", "irregular")
    out = {k: np.empty(starts.size) for k in names}
    for a in range(0, starts.size, _BLOCK):
        f = _features_of_block(rr, starts[a:a + _BLOCK], cfg)
        for k in names:
            out[k][a:a + _BLOCK] = f[k]
    return out


def _features_of_block(rr: np.ndarray, starts: np.ndarray, cfg: RhythmConfig) -> dict[str, np.ndarray]:
    """:func:`_features_of_segments` of one block of segments (all rows in memory at once)."""
    n = cfg.segment_beats
    x = rr[starts[:, None] + np.arange(n)[None, :]]
    mean = x.mean(axis=1)
    nrmssd = np.sqrt(np.mean(np.diff(x, axis=1) ** 2, axis=1)) / mean
    mid = x[:, 1:-1]
    turning = ((mid > x[:, :-2]) & (mid > x[:, 2:])) | ((mid < x[:, :-2]) & (mid < x[:, 2:]))
    tpr = turning.sum(axis=1) / n
    lo, hi = x.min(axis=1), x.max(axis=1)
    width = np.where(hi > lo, hi - lo, 1.0)
    nb = cfg.entropy_bins
    # numpy.histogram's bins: equal widths over [min, max], the maximum in the last bin
    b = np.minimum(((x - lo[:, None]) / width[:, None] * nb).astype(np.int64), nb - 1)
    b += (np.arange(x.shape[0]) * nb)[:, None]
    counts = np.bincount(b.ravel(), minlength=x.shape[0] * nb).reshape(x.shape[0], nb).astype(float)
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1) / math.log(nb)
    entropy = np.where(hi > lo, entropy, 0.0)
    lags = min(cfg.independence_lags, n - 2)
    d = x - mean[:, None]
    denom = (d * d).sum(axis=1)
    k = np.arange(1, lags + 1)
    r = np.column_stack([(d[:, :-j] * d[:, j:]).sum(axis=1) for j in k])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(denom[:, None] > 0, r / denom[:, None], 0.0)
    q = n * (n + 2) * (r * r / (n - k)[None, :]).sum(axis=1)
    q_limit = float(chi2.ppf(1.0 - cfg.independence_p, lags))
    t_lo, t_hi = cfg.tpr_range
    irregular = ((nrmssd > cfg.nrmssd_threshold) & (tpr >= t_lo) & (tpr <= t_hi)
                 & (entropy > cfg.entropy_threshold) & (q <= q_limit)).astype(float)
    return {"nrmssd": nrmssd, "tpr": tpr, "entropy": entropy, "ljung_box": q, "irregular": irregular}


def windowed_rhythm(recorded: Recording, cleaned: Recording, windows: pd.DataFrame,
                    config: RhythmConfig | None = None) -> pd.DataFrame:
    """The rhythm of every window.

    Parameters
    ----------
    recorded : Recording
        The recording before cleaning: its RR are judged for irregularity.
    cleaned : Recording
        The same recording after :func:`calmtrace.signals.clean.clean`: its ``ectopic`` flags are
        counted for persistent ectopy.
    windows : pandas.DataFrame
        A Windows table (``start_s``, ``end_s`` in s), e.g. from
        :func:`calmtrace.signals.hrv.windowed_hrv`.
    config : RhythmConfig, optional
        Thresholds; ``RhythmConfig()`` by default.

    Returns
    -------
    pandas.DataFrame
        One row per window, same index: ``rhythm`` (one of :data:`RHYTHMS`), ``nrmssd``, ``tpr``,
        ``rr_entropy`` (Dash et al.'s statistics of the window's recorded RR; NaN for
        ``unknown``) and ``ectopic_share`` (0-1).
    """
    return _windowed_rhythm(recorded, cleaned, windows, config)[0]


def _windowed_rhythm(recorded: Recording, cleaned: Recording, windows: pd.DataFrame,
                     config: RhythmConfig | None = None, _pre: tuple | None = None) -> tuple[pd.DataFrame, Any]:
    """:func:`windowed_rhythm`, and its per-window irregularity judgement and features, which a
    second call on the same recorded beats and windows (``_pre``) reuses instead of recomputing."""
    cfg = config or RhythmConfig()
    start = windows["start_s"].to_numpy(dtype=float)
    end = windows["end_s"].to_numpy(dtype=float)
    n_win = start.size
    out = pd.DataFrame({"rhythm": np.full(n_win, "unknown", dtype=object), "nrmssd": np.nan, "tpr": np.nan,
                        "rr_entropy": np.nan, "ectopic_share": np.nan}, index=windows.index)
    if n_win == 0 or not cfg.enabled:
        if not cfg.enabled:
            out["rhythm"] = "sinus"
        return out, None
    t, rr = recorded.t_s, recorded.rr_ms
    if t.size == 0:
        return out, None
    # runs of consecutive recorded beats: a break where beats are missing in between or a gap row
    brk = np.zeros(t.size, dtype=bool)
    if t.size > 1:
        brk[1:] = (np.diff(t) * 1000.0 - rr[1:]) > 250.0
    brk |= _gap_breaks(t, recorded.gaps["onset_s"].to_numpy(dtype=float),
                       recorded.gaps["duration_s"].to_numpy(dtype=float))
    lo = np.searchsorted(t, start, side="left")
    hi = np.searchsorted(t, end, side="left")
    tc, fc = cleaned.t_s, cleaned.flags
    clo = np.searchsorted(tc, start, side="left")
    chi = np.searchsorted(tc, end, side="left")
    ect = np.concatenate([[0], np.cumsum(fc == "ectopic")])
    rhythm = np.array(out["rhythm"].to_numpy(), dtype=object)  # a writable copy
    feats = np.full((n_win, 3), np.nan)
    share = np.full(n_win, np.nan)
    # gap-free runs of recorded beats: run_id per beat, and each run's first and last index
    run_id = np.cumsum(brk) if t.size else np.zeros(0, dtype=np.int64)
    run_first = np.searchsorted(run_id, run_id, side="left")
    run_last = np.searchsorted(run_id, run_id, side="right")
    centre = np.searchsorted(t, (start + end) / 2.0)
    half = cfg.segment_beats // 2
    has = (hi > lo) & (t.size > 0)
    c = np.clip(centre, lo, np.maximum(hi - 1, lo))
    c = np.minimum(c, max(t.size - 1, 0))
    a0, b0 = run_first[c], run_last[c]
    seg_b = np.minimum(b0, np.maximum(a0, c - half) + cfg.segment_beats)
    seg_a = np.maximum(a0, seg_b - cfg.segment_beats)
    n_clean = (chi - clo).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_clean > 0, (ect[chi] - ect[clo]) / n_clean, np.nan)
    irregular = np.full(n_win, np.nan)
    full = has & (seg_b - seg_a == cfg.segment_beats)
    if _pre is not None:               # the same recorded beats and windows, judged before
        irregular, feats = _pre
        rest = np.zeros(0, dtype=np.int64)
    elif full.any() and cfg.trim_share == 0 and cfg.segment_beats >= cfg.min_beats:
        f = _features_of_segments(rr, seg_a[full], cfg)
        feats[full] = np.column_stack([f["nrmssd"], f["tpr"], f["entropy"]])
        irregular[full] = f["irregular"]
        rest = np.flatnonzero(has & ~full)
    else:
        rest = np.flatnonzero(has)
    for i in rest.tolist():
        f1 = rhythm_features(rr[seg_a[i]:seg_b[i]], cfg)
        feats[i] = (f1["nrmssd"], f1["tpr"], f1["entropy"])
        irregular[i] = f1["irregular"]
    judged = ~np.isnan(irregular)
    rhythm[judged] = "sinus"
    rhythm[judged & (share > cfg.ectopy_share)] = "ectopy"
    rhythm[judged & (irregular == 1.0)] = "irregular"
    rhythm = _bridge(rhythm, (start + end) / 2.0, cfg.bridge_s)
    rhythm = _persistent(rhythm, (start + end) / 2.0, cfg.min_duration_s)
    out["rhythm"] = rhythm
    out["nrmssd"], out["tpr"], out["rr_entropy"] = feats[:, 0], feats[:, 1], feats[:, 2]
    out["ectopic_share"] = share
    log.info("rhythm: %s", out["rhythm"].value_counts().to_dict())
    return out, (irregular, feats)


def _gap_breaks(t: np.ndarray, onset_s: np.ndarray, duration_s: np.ndarray) -> np.ndarray:
    """Beats ``i >= 1`` that follow a gap row: ``onset < t[i]`` and ``onset + duration >= t[i-1]``.

    ``t`` (s, ascending, shape (n,)) is sorted, so each gap marks one contiguous range of beats,
    found by two binary searches (one pass over the beats for all gaps, not one per gap).
    Returns a bool array of shape (n,).
    """
    n = t.size
    diff = np.zeros(n + 1, dtype=np.int64)
    if n > 1 and onset_s.size:
        ok = ~(np.isnan(onset_s) | np.isnan(duration_s))
        g0, g1 = onset_s[ok], onset_s[ok] + duration_s[ok]
        first = np.maximum(np.searchsorted(t, g0, side="right"), 1)       # t[i] > onset
        last = np.minimum(np.searchsorted(t, g1, side="right"), n - 1)   # t[i-1] <= onset + duration
        use = first <= last
        np.add.at(diff, first[use], 1)
        np.add.at(diff, last[use] + 1, -1)
    return np.cumsum(diff[:n]) > 0


def _bridge(rhythm: np.ndarray, centre_s: np.ndarray, bridge_s: float) -> np.ndarray:
    """Sinus or unknown runs shorter than ``bridge_s`` between two non-sinus runs take the label
    of the run before them (window centres, s)."""
    bad = np.isin(rhythm, NOT_SINUS)
    if bad.sum() < 2 or bridge_s <= 0:
        return rhythm
    out = rhythm.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (~bad).view(np.int8), [0]])))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if a > 0 and b < rhythm.size and centre_s[b] - centre_s[a - 1] <= bridge_s:
            out[a:b] = rhythm[a - 1]
    return out


def _persistent(rhythm: np.ndarray, centre_s: np.ndarray, min_duration_s: float) -> np.ndarray:
    """Non-sinus labels kept only in runs of consecutive windows spanning ``min_duration_s``.

    A run is a stretch of consecutive windows with a non-sinus label (either kind); its span is
    from the first window's centre to the last one's. Shorter runs become ``sinus``.
    """
    bad = np.isin(rhythm, NOT_SINUS)
    if not bad.any() or min_duration_s <= 0:
        return rhythm
    out = rhythm.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.view(np.int8), [0]])))
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if centre_s[b - 1] - centre_s[a] < min_duration_s:
            out[a:b] = "sinus"
    return out


def summarise(windows: pd.DataFrame, rhythm: pd.Series | np.ndarray,
              config: RhythmConfig | None = None, log_warnings: bool = True) -> dict[str, Any]:
    """What the rhythm column says about the recording, for ``meta["rhythm"]`` and the summary.

    Parameters
    ----------
    windows : pandas.DataFrame
        The Windows table (``start_s``, ``end_s``).
    rhythm : array of str
        The ``rhythm`` column, one value per window.
    config : RhythmConfig, optional
        Written next to the result.
    log_warnings : bool
        Log each warning (default); False where the caller words its own.

    Returns
    -------
    dict
        ``method``, ``config``, ``counts`` (windows per rhythm), ``spans`` (list of
        ``{"rhythm", "start_s", "end_s"}``: merged stretches of overlapping non-sinus windows)
        and ``warnings`` (one line per non-sinus rhythm found, naming the spans).
    """
    cfg = config or RhythmConfig()
    r = np.asarray(rhythm, dtype=object)
    start = windows["start_s"].to_numpy(dtype=float)
    end = windows["end_s"].to_numpy(dtype=float)
    spans: list[dict[str, Any]] = []
    for kind in NOT_SINUS:
        idx = np.flatnonzero(r == kind)
        cur: list[float] | None = None
        for i in idx:
            if cur is not None and start[i] <= cur[1]:
                cur[1] = max(cur[1], end[i])
            else:
                if cur is not None:
                    spans.append({"rhythm": kind, "start_s": cur[0], "end_s": cur[1]})
                cur = [float(start[i]), float(end[i])]
        if cur is not None:
            spans.append({"rhythm": kind, "start_s": cur[0], "end_s": cur[1]})
    counts = {k: int((r == k).sum()) for k in RHYTHMS}
    warnings: list[str] = []
    words = rhythm_words(cfg)
    for kind in NOT_SINUS:
        mine = [s for s in spans if s["rhythm"] == kind]
        if not mine:
            continue
        where = ", ".join(f"{s['start_s']:.0f}-{s['end_s']:.0f} s" for s in mine[:5])
        more = f" and {len(mine) - 5} more" if len(mine) > 5 else ""
        warnings.append(f"{NOT_SINUS_MESSAGE} ({words[kind]} in {counts[kind]} of {len(r)} windows: "
                        f"{where}{more})")
    for w in (warnings if log_warnings else ()):
        log.warning(w)
    return {"method": "Dash et al. 2009 (normalised RMSSD, turning-point ratio, Shannon entropy) and "
                      "the share of ectopic beats", "config": cfg.to_dict(), "counts": counts,
            "spans": spans, "warnings": warnings}


def judge(recorded: Recording, cleaned: Recording, window_s: float = 60.0, step_s: float = 5.0,
          config: RhythmConfig | None = None, *, log_warnings: bool = True) -> dict[str, Any]:
    """The rhythm of a whole recording, judged on a grid of windows: the one rule, kept for later.

    Windows of ``window_s`` start at 0 and every ``step_s`` (the analysis grid); each is judged by
    :func:`windowed_rhythm`. :func:`calmtrace.signals.clean.clean` stores the result in
    ``meta["rhythm"]``, judged on the RR as recorded, so that span HRV of the cleaned recording
    (:func:`calmtrace.signals.segment.hrv`) can say which rhythm each span was in.

    Parameters
    ----------
    recorded, cleaned : Recording
        The recording before and after cleaning (see :func:`windowed_rhythm`).
    window_s, step_s : float
        The window grid, s (the analysis defaults).
    config : RhythmConfig, optional
        Thresholds.
    log_warnings : bool
        Log the warnings of :func:`summarise`.

    Returns
    -------
    dict
        :func:`describe_windows` of the grid.
    """
    return _judge(recorded, cleaned, window_s, step_s, config, log_warnings=log_warnings)[0]


def _judge(recorded: Recording, cleaned: Recording, window_s: float = 60.0, step_s: float = 5.0,
           config: RhythmConfig | None = None, *, log_warnings: bool = True,
           _pre: tuple | None = None) -> tuple[dict[str, Any], Any]:
    """:func:`judge`, and the irregularity judgement a second call on the same beats can reuse."""
    cfg = config or RhythmConfig()
    dur = recorded.duration_s if len(recorded.beats) else 0.0
    n = int(math.floor((dur - window_s) / step_s + 1e-9)) + 1 if dur >= window_s else 0
    start = np.arange(n) * step_s
    grid = pd.DataFrame({"start_s": start, "end_s": start + window_s})
    pre = None
    if n:
        win, pre = _windowed_rhythm(recorded, cleaned, grid, cfg, _pre)
        r = win["rhythm"]
    else:
        r = pd.Series([], dtype=object)
    return describe_windows(grid, r, cfg, window_s, step_s, log_warnings=log_warnings), pre


def describe_windows(windows: pd.DataFrame, rhythm: pd.Series | np.ndarray, config: RhythmConfig | None,
                     window_s: float, step_s: float, *, log_warnings: bool = True) -> dict[str, Any]:
    """:func:`summarise` plus the rhythm of every window, run-length coded, for :func:`span_rhythm`.

    Parameters
    ----------
    windows : pandas.DataFrame
        Windows of a regular grid (``start_s = k * step_s``, ``end_s = start_s + window_s``).
    rhythm : array of str
        One value of :data:`RHYTHMS` per window.
    config : RhythmConfig or None
        Thresholds (written next to the result).
    window_s, step_s : float
        The grid, s.
    log_warnings : bool
        Log the warnings of :func:`summarise`.

    Returns
    -------
    dict
        The keys of :func:`summarise`, and ``window_s``, ``step_s``, ``n_windows`` and ``runs``:
        ``[rhythm, first, last]`` for each run of consecutive windows ``k = first..last`` (window
        ``k`` starts at ``k * step_s``) with the same rhythm.
    """
    out = summarise(windows, rhythm, config, log_warnings=log_warnings)
    r = np.asarray(rhythm, dtype=object)
    start = windows["start_s"].to_numpy(dtype=float) if len(windows) else np.zeros(0)
    k = np.round(start / step_s).astype(np.int64)
    # a run starts at the first window and wherever the rhythm changes or a window is skipped
    new = np.ones(r.size, dtype=bool)
    if r.size > 1:
        new[1:] = (r[1:] != r[:-1]) | (k[1:] != k[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, r.size - 1) if first.size else first
    runs: list[list[Any]] = [[str(r[a]), int(k[a]), int(k[b])]
                             for a, b in zip(first.tolist(), last.tolist())]
    out.update(window_s=float(window_s), step_s=float(step_s), n_windows=int(r.size), runs=runs)
    return out


def span_rhythm(judgement: dict[str, Any], start_s: float, end_s: float) -> tuple[str, dict[str, int]]:
    """The rhythm of a span ``[start_s, end_s)``, from a judgement of the whole recording.

    The span's windows are those of the judgement's grid whose centre lies in the span (the one
    nearest to the span's middle when none does). The span is ``irregular`` or ``ectopy`` when any
    of its windows is (the kind with more windows when both), else ``sinus`` when any window is
    sinus, else ``unknown`` (too few beats to judge, or no window at all).

    Parameters
    ----------
    judgement : dict
        From :func:`judge` or :func:`describe_windows`.
    start_s, end_s : float
        The span, s since the recording's start.

    Returns
    -------
    (str, dict)
        The span's rhythm (one of :data:`RHYTHMS`) and its windows per rhythm.
    """
    counts = dict.fromkeys(RHYTHMS, 0)
    runs = judgement.get("runs") or []
    w, step = float(judgement.get("window_s", 60.0)), float(judgement.get("step_s", 5.0))
    if not runs:
        return "unknown", counts
    # window k's centre is k * step + w / 2; those in [start_s, end_s)
    k_lo = int(math.ceil((start_s - w / 2.0) / step - 1e-9))
    k_hi = int(math.ceil((end_s - w / 2.0) / step - 1e-9)) - 1
    for kind, a, b in runs:
        n = min(int(b), k_hi) - max(int(a), k_lo) + 1
        if n > 0:
            counts[kind] = counts.get(kind, 0) + n
    if not any(counts.values()):
        k_mid = int(round(((start_s + end_s) / 2.0 - w / 2.0) / step))
        first, last = runs[0][1], runs[-1][2]
        k_mid = min(max(k_mid, first), last)
        for kind, a, b in runs:
            if a <= k_mid <= b:
                counts[kind] += 1
    bad = {k: counts[k] for k in NOT_SINUS if counts[k]}
    if bad:
        return max(bad, key=lambda k: bad[k]), counts
    return ("sinus" if counts["sinus"] else "unknown"), counts


def rhythm_lines(recorded: Recording, cleaned: Recording, window_s: float = 60.0, step_s: float = 5.0,
                 config: RhythmConfig | None = None) -> list[str]:
    """One line on the rhythm of a recording, plus its warnings (for ``calmtrace info``).

    Parameters
    ----------
    recorded, cleaned : Recording
        The recording before and after cleaning.
    window_s, step_s : float
        The window grid, s (the analysis defaults).
    config : RhythmConfig, optional
        Thresholds.

    Returns
    -------
    list of str
        ``"sinus in N of M windows"`` (or why it was not judged), then the warnings of
        :func:`summarise`.
    """
    if len(recorded.beats) == 0 or recorded.duration_s < window_s:
        return [f"not judged: shorter than one {window_s:g} s window"]
    s = judge(recorded, cleaned, window_s, step_s, config)
    c, n = s["counts"], s["n_windows"]
    return [f"sinus in {c['sinus']} of {n} windows ({c['irregular']} irregular, {c['ectopy']} persistent "
            f"ectopy, {c['unknown']} too few beats to judge)"] + s["warnings"]
