"""Windowed heart-rate variability, computed for all windows of a recording at once.

:func:`windowed_hrv` slides a window of ``window_s`` seconds in steps of ``step_s`` over a
recording and returns the Windows table (see DESIGN.md): one row per window with time-domain,
Poincare, spectral and autonomic-balance metrics and a ``valid`` flag.

How it stays fast (a 24-hour recording, ~17,000 windows, in well under two seconds):

* **Time domain** from prefix (cumulative) sums over beats: count, sum and sum of squares of RR,
  and of the successive differences and sums of neighbouring beats (for SD1/SD2). RR is centred on
  its overall mean first, so that a window's variance is not the small difference of two huge
  numbers. A window's sums are then two look-ups, whatever its length.
* **Spectra**: RR is interpolated once (piecewise, never across a gap), each window's samples are
  read from it on the window's own grid, and the Welch periodograms of all windows with the same
  number of samples are batched: one matrix product per Welch segment with the DFT matrix of the
  FFT bins inside the LF/HF bands (the same values an FFT gives at those bins, without the bins
  that are never used).

Which beats count: beats whose ``flag`` is in :attr:`HRVConfig.usable_flags` (``ok``,
``corrected``, ``interpolated``). Successive differences are taken only between two neighbouring
beats that are both usable and not separated by a gap (a recorded gap, or beat times further
apart than the RR says). Spectra interpolate over excluded beats but not over gaps: a window with a
gap between its first and last usable beat has NaN spectral columns.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.interpolate import PPoly, make_interp_spline

from ..errors import AnalysisError, InputError
from ..recording import Recording
from . import balance
from .config import _INTERPOLATION_ORDER, HRVConfig

__all__ = ["HRVConfig", "WINDOW_COLUMNS", "windowed_hrv"]

log = logging.getLogger(__name__)

#: Columns of the Windows table, in order.
WINDOW_COLUMNS: tuple[str, ...] = (
    "start_s", "end_s", "n_beats", "coverage", "artifact_pct", "mean_rr_ms", "mean_hr_bpm",
    "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "sd1_ms", "sd2_ms", "lf_ms2", "hf_ms2",
    "lf_hf", "hf_nu", "pns_index", "sns_index", "stress_index", "dfa_alpha1", "valid",
)

#: Beat flags that each mark one corrected artefact event (``interpolated`` beats are part of the
#: ``missed`` event that inserted them), counted by ``artifact_pct``.
EVENT_FLAGS: tuple[str, ...] = ("corrected", "ectopic", "missed", "extra")

#: Upper bound on resampled points handled per FFT batch (bounds memory to tens of MB).
_BATCH_POINTS = 1 << 21


# -- public entry point ------------------------------------------------------------------------
def windowed_hrv(recording: Recording, window_s: float = 60.0, step_s: float = 5.0,
                 config: HRVConfig | None = None) -> pd.DataFrame:
    """HRV of every window of a recording: the Windows table.

    Windows start at ``t_s = 0`` and every ``step_s`` after it, and span ``[start_s, end_s)`` with
    ``end_s = start_s + window_s``; the last one ends at or before the recording's end. A beat
    belongs to a window when its time ``t_s`` (the beat that closes its RR interval) does.

    Parameters
    ----------
    recording : Recording
        Beats (``t_s``, ``rr_ms``, ``flag``) and gaps.
    window_s : float
        Window length in s; 60 s is the ultra-short standard for lnRMSSD (Esco & Flatt 2014).
        LF needs 120 s and HF 60 s (Task Force 1996); shorter windows get NaN for them.
    step_s : float
        Step between window starts in s.
    config : HRVConfig, optional
        All other settings; ``HRVConfig()`` by default.

    Returns
    -------
    pandas.DataFrame
        One row per window with the columns of :data:`WINDOW_COLUMNS`:

        * ``n_beats``: usable beats in the window; ``coverage``: their summed RR over the window
          length (clipped to 1); ``artifact_pct``: corrected artefact events per 100 of the
          window's beats (:data:`EVENT_FLAGS`; an inserted ``interpolated`` beat is part of its
          ``missed`` event);
        * ``mean_rr_ms``, ``mean_hr_bpm`` (mean of 60000/RR), ``sdnn_ms`` (ddof=1), ``rmssd_ms``,
          ``ln_rmssd`` (natural log of RMSSD in ms), ``pnn50_pct`` (successive differences > 50
          ms per usable beat, in %), ``sd1_ms``, ``sd2_ms`` (Poincare, ddof=1 as neurokit2);
        * ``lf_ms2``, ``hf_ms2`` (Welch PSD band power), ``lf_hf``, ``hf_nu`` (HF/(LF+HF) in %);
        * ``stress_index`` (square root of Baevsky's SI, as Kubios), ``pns_index``, ``sns_index``
          (see :mod:`calmtrace.signals.balance`);
        * ``dfa_alpha1``: DFA alpha1 of the window's usable beats (boxes of
          ``config.dfa_alpha1_beats``; NaN below ``config.dfa_min_window_s`` or across a gap);
        * ``valid``: enough beats and coverage and few enough artefacts (see :class:`HRVConfig`).

        Metrics are computed wherever they are defined (two usable beats for SDNN, two successive
        differences for SD1/SD2) and NaN elsewhere; ``valid`` says whether to trust them.
        ``attrs["hrv"]`` records ``window_s``, ``step_s`` and the config.

    Raises
    ------
    InputError
        If ``window_s``/``step_s`` are not positive numbers or the window is shorter than
        ``config.min_window_s``.
    AnalysisError
        If the recording has no beats or is shorter than one window.
    """
    cfg = config if config is not None else HRVConfig()
    if not isinstance(cfg, HRVConfig):
        raise InputError(f"config must be an HRVConfig, got {type(cfg).__name__}")
    window_s = _positive("window_s", window_s)
    step_s = _positive("step_s", step_s)
    if window_s < cfg.min_window_s:
        raise InputError(
            f"window_s must be at least {cfg.min_window_s:g} s (HRVConfig.min_window_s), got {window_s:g}"
        )
    if not isinstance(recording, Recording):
        raise InputError(f"recording must be a Recording, got {type(recording).__name__}")
    t = recording.t_s
    rr = recording.rr_ms
    flags = recording.flags
    if t.size == 0:
        raise AnalysisError("recording has no beats: there is nothing to compute HRV from")
    duration_s = recording.duration_s
    if duration_s < window_s:
        raise AnalysisError(
            f"recording lasts {duration_s:.1f} s, shorter than one {window_s:g} s window"
        )

    n_windows = int(math.floor((duration_s - window_s) / step_s + 1e-9)) + 1
    start = np.arange(n_windows) * step_s
    end = start + window_s
    lo = np.searchsorted(t, start, side="left")
    hi = np.searchsorted(t, end, side="left")

    usable = np.isin(flags, cfg.usable_flags)
    artefact = np.isin(flags, EVENT_FLAGS)
    brk = _breaks(t, rr, recording.gaps, cfg.implicit_gap_ms)

    out: dict[str, np.ndarray] = {"start_s": start, "end_s": end}
    out.update(_time_domain(rr, usable, artefact, brk, lo, hi, window_s, cfg))
    out["stress_index"] = np.sqrt(balance.windowed_stress_index(rr, usable, lo, hi, cfg.stress_bin_ms))

    lf = np.full(n_windows, np.nan)
    hf = np.full(n_windows, np.nan)
    if window_s >= cfg.hf_min_window_s:
        bands = [cfg.hf_band_hz] + ([cfg.lf_band_hz] if window_s >= cfg.lf_min_window_s else [])
        powers = _band_powers(t, rr, usable, brk, lo, hi, window_s, bands, cfg)
        hf = powers[0]
        if len(powers) > 1:
            lf = powers[1]
    # zero variability (every usable RR of the window identical, e.g. a paced or synthetic
    # series): the spectrum is exactly zero, not the float noise of the interpolation (1e-28 ms2)
    zero_var = (out["n_beats"] >= 2) & (_window_range(rr, usable, lo, hi) == 0.0)
    lf = np.where(zero_var & np.isfinite(lf), 0.0, lf)
    hf = np.where(zero_var & np.isfinite(hf), 0.0, hf)
    out["lf_ms2"] = lf
    out["hf_ms2"] = hf
    out["lf_hf"] = balance.lf_hf(lf, hf)
    out["hf_nu"] = balance.hf_nu(lf, hf)
    out["pns_index"] = balance.pns_index(out["mean_rr_ms"], out["rmssd_ms"], out["sd1_ms"])
    out["sns_index"] = balance.sns_index(out["mean_hr_bpm"], out["stress_index"], out["sd2_ms"])
    out["dfa_alpha1"] = _windowed_dfa_alpha1(rr, usable, brk, lo, hi, window_s, cfg)

    n = out["n_beats"]
    # A recording never cleaned has every beat flagged ok because nothing was looked for: its
    # artefact share is unknown (NaN with a note), not 0; validity then rests on the other minimums.
    uncleaned = "cleaning" not in recording.meta and bool(np.all(np.asarray(recording.flags) == "ok"))
    with np.errstate(invalid="ignore"):
        expected = window_s * out["mean_hr_bpm"] / 60.0
        out["valid"] = (
            (n >= cfg.min_beats)
            & (n >= cfg.min_beat_share * expected)
            & (out["coverage"] >= cfg.min_coverage)
            & ((out["artifact_pct"] <= cfg.max_artifact_pct) | uncleaned)
        )
    if uncleaned:
        out["artifact_pct"] = np.full(n_windows, np.nan)
    table = pd.DataFrame({c: out[c] for c in WINDOW_COLUMNS})
    table.attrs["hrv"] = {"window_s": window_s, "step_s": step_s, "config": cfg.to_dict(),
                          "notes": {}, "warnings": []}
    if uncleaned:
        table.attrs["hrv"]["notes"]["artifact_pct"] = (
            "not assessed: the recording was not cleaned (calmtrace.clean finds and flags artefacts)")
    n_zero = int(zero_var.sum())
    if n_zero:
        reason = ("undefined (0/0): the window's RR intervals are all identical, so LF = HF = 0 ms2 "
                  "(zero variability)")
        table.attrs["hrv"]["notes"].update({"lf_hf": reason, "hf_nu": reason})
        table.attrs["hrv"]["warnings"].append(
            f"zero variability: {n_zero} of {n_windows} windows have identical RR intervals; LF = HF = 0 "
            "and LF/HF, HF n.u. are undefined there (a paced rhythm or a synthetic series, not an "
            "autonomic state)")
        log.warning(table.attrs["hrv"]["warnings"][-1])
    log.info("windowed_hrv: %d windows of %g s every %g s, %d valid", n_windows, window_s, step_s,
             int(table["valid"].sum()))
    return table


def _window_range(rr: np.ndarray, usable: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Longest minus shortest usable RR of every window (ms); NaN without usable beats."""
    def reduce(ufunc: np.ufunc, fill: float) -> np.ndarray:
        ext = np.append(np.where(usable, rr, fill), fill)
        idx = np.empty(2 * lo.size, dtype=np.intp)
        idx[0::2], idx[1::2] = lo, hi
        return np.where(hi > lo, ufunc.reduceat(ext, idx)[0::2], fill)

    with np.errstate(invalid="ignore"):
        out = reduce(np.maximum, -np.inf) - reduce(np.minimum, np.inf)
    return np.where(np.isfinite(out), out, np.nan)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a positive number of seconds, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive number of seconds, got {value!r}")
    return value


# -- gaps ----------------------------------------------------------------------------------------
def _breaks(t: np.ndarray, rr: np.ndarray, gaps: pd.DataFrame, implicit_gap_ms: float) -> np.ndarray:
    """``brk[i]``: beats ``i-1`` and ``i`` are separated by a gap (``brk[0]`` is False).

    A gap is a recorded one whose span touches ``(t[i-1], t[i])``, or beat times further apart
    than ``rr[i]`` by more than ``implicit_gap_ms`` (beats are missing in between).
    """
    brk = np.zeros(t.size, dtype=bool)
    if t.size > 1:
        brk[1:] = (np.diff(t) * 1000.0 - rr[1:]) > implicit_gap_ms
    if len(gaps):
        g0 = gaps["onset_s"].to_numpy()
        g1 = g0 + gaps["duration_s"].to_numpy()
        # first beat after the gap's onset, and first beat at or after its end
        a = np.searchsorted(t, g0, side="right")
        b = np.searchsorted(t, g1, side="left")
        for i, j in zip(a, np.maximum(a, b)):
            if 0 < i < t.size:
                brk[i : min(j, t.size - 1) + 1] = True
    return brk


# -- time domain ---------------------------------------------------------------------------------
def _prefix(values: np.ndarray) -> np.ndarray:
    """Prefix sums with a leading zero: ``p[k] = values[:k].sum()``."""
    return np.concatenate([[0], np.cumsum(values)])


def _time_domain(rr: np.ndarray, usable: np.ndarray, artefact: np.ndarray, brk: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, window_s: float, cfg: HRVConfig) -> dict[str, np.ndarray]:
    """Time-domain and Poincare metrics of every window from prefix sums."""
    centre = float(rr[usable].mean()) if usable.any() else 0.0
    x = np.where(usable, rr - centre, 0.0)
    n = _prefix(usable.astype(np.int64))
    s1 = _prefix(x)
    s2 = _prefix(x * x)
    s_rr = _prefix(np.where(usable, rr, 0.0))
    s_hr = _prefix(np.where(usable, 60000.0 / rr, 0.0))
    s_art = _prefix(artefact.astype(np.int64))

    # successive pairs (i-1, i): both usable, no gap between them
    pair = np.zeros(rr.size, dtype=bool)
    pair[1:] = usable[1:] & usable[:-1] & ~brk[1:]
    d = np.zeros(rr.size)
    d[1:] = rr[1:] - rr[:-1]
    d = np.where(pair, d, 0.0)
    s = np.zeros(rr.size)
    s[1:] = x[1:] + x[:-1]  # (RR[i-1] + RR[i]) - 2*centre
    s = np.where(pair, s, 0.0)
    p_n = _prefix(pair.astype(np.int64))
    p_d = _prefix(d)
    p_d2 = _prefix(d * d)
    p_s = _prefix(s)
    p_s2 = _prefix(s * s)
    p_nn = _prefix(pair & (np.abs(d) > cfg.pnn_threshold_ms))

    def win(p: np.ndarray) -> np.ndarray:
        return p[hi] - p[lo]

    lo1 = np.minimum(lo + 1, hi)  # a pair (i-1, i) is inside when lo <= i-1 and i < hi

    def win_pairs(p: np.ndarray) -> np.ndarray:
        return p[hi] - p[lo1]

    k = win(n).astype(float)
    m = win_pairs(p_n).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w1, w2 = win(s1), win(s2)
        mean_rr = np.where(k >= 1, w1 / k + centre, np.nan)
        var_rr = np.where(k >= 2, (w2 - w1 * w1 / k) / (k - 1), np.nan)
        sdnn = np.sqrt(np.maximum(var_rr, 0.0))
        d1, d2 = win_pairs(p_d), win_pairs(p_d2)
        rmssd = np.where(m >= 1, np.sqrt(d2 / m), np.nan)
        ln_rmssd = np.where(rmssd > 0, np.log(np.where(rmssd > 0, rmssd, 1.0)), np.nan)
        var_d = np.where(m >= 2, (d2 - d1 * d1 / m) / (m - 1), np.nan)
        q1, q2 = win_pairs(p_s), win_pairs(p_s2)
        var_s = np.where(m >= 2, (q2 - q1 * q1 / m) / (m - 1), np.nan)
        n_all = (hi - lo).astype(float)
        return {
            "n_beats": win(n),
            "coverage": np.clip(win(s_rr) / (window_s * 1000.0), 0.0, 1.0),
            "artifact_pct": np.where(n_all > 0, 100.0 * win(s_art) / n_all, np.nan),
            "mean_rr_ms": mean_rr,
            "mean_hr_bpm": np.where(k >= 1, win(s_hr) / k, np.nan),
            "sdnn_ms": sdnn,
            "rmssd_ms": rmssd,
            "ln_rmssd": ln_rmssd,
            "pnn50_pct": np.where((k >= 1) & (m >= 1), 100.0 * win_pairs(p_nn) / k, np.nan),
            "sd1_ms": np.sqrt(np.maximum(var_d, 0.0) / 2.0),
            "sd2_ms": np.sqrt(np.maximum(var_s, 0.0) / 2.0),
        }


# -- DFA alpha1 ----------------------------------------------------------------------------------
def _windowed_dfa_alpha1(rr: np.ndarray, usable: np.ndarray, brk: np.ndarray, lo: np.ndarray,
                         hi: np.ndarray, window_s: float, cfg: HRVConfig) -> np.ndarray:
    """DFA alpha1 of every window over its usable beats (excluded beats dropped, as neurokit2 is
    given them); NaN for windows shorter than ``dfa_min_window_s`` or with a gap between their
    first and last usable beat. See :func:`calmtrace.signals.nonlinear.windowed_dfa`."""
    from .nonlinear import dfa_scales, windowed_dfa

    out = np.full(lo.size, np.nan)
    if window_s < cfg.dfa_min_window_s or not usable.any():
        return out
    idx = np.flatnonzero(usable)
    first = np.searchsorted(idx, lo, side="left")
    count = np.searchsorted(idx, hi, side="left") - first
    scales = dfa_scales(cfg.dfa_alpha1_beats, 0)
    has = count > scales.max()
    first_b = idx[np.minimum(first, idx.size - 1)]
    last_b = idx[np.clip(first + count - 1, 0, idx.size - 1)]
    bcum = _prefix(brk.astype(np.int64))
    has &= (bcum[last_b + 1] - bcum[first_b + 1]) == 0
    rows = np.flatnonzero(has)
    if rows.size:
        out[rows] = windowed_dfa(rr[idx], first[rows], count[rows], scales)
    return out


# -- frequency domain ----------------------------------------------------------------------------
def _rr_curve(t: np.ndarray, rr: np.ndarray, usable: np.ndarray, brk: np.ndarray, order: int) -> PPoly:
    """One piecewise polynomial through the usable beats' RR, a separate spline per gap-free run.

    Between two runs (across a gap) the curve holds the earlier run's last value; windows that
    span a gap never read it (their spectra are NaN).
    """
    idx = np.flatnonzero(usable)
    tb, yb = t[idx], rr[idx]
    bcum = _prefix(brk.astype(np.int64))
    # new run where a gap lies between consecutive usable beats
    split = np.flatnonzero(bcum[idx[1:] + 1] - bcum[idx[:-1] + 1] > 0) + 1
    xs: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    last_y = 0.0  # the previous run's last RR, held across the gap before the next run
    for a, b in zip(np.concatenate([[0], split]), np.concatenate([split, [idx.size]])):
        x, y = tb[a:b], yb[a:b]
        k = min(order, x.size - 1)
        if k >= 1:
            pp = PPoly.from_spline(make_interp_spline(x, y, k=k))
            px, pc = pp.x, pp.c
        else:  # a lone beat: a constant over a zero-length piece
            px, pc = np.array([x[0], x[0]]), np.array([[y[0]]])
        pc = np.vstack([np.zeros((order + 1 - pc.shape[0], pc.shape[1])), pc])
        if xs:  # filler piece across the gap: hold the previous run's last RR
            filler = np.zeros((order + 1, 1))
            filler[-1, 0] = last_y
            cs.append(filler)
        xs.append(px)
        cs.append(pc)
        last_y = y[-1]
    return PPoly(np.concatenate(cs, axis=1), np.concatenate(xs), extrapolate=True)


def _band_dft(nperseg: int, fs: float, bands: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """What Welch needs for one segment length, restricted to the FFT bins inside the bands.

    Returns the Hann-windowed DFT matrix ``[cos | sin]`` (``nperseg x 2*bins``) for the bins of an
    FFT of length ``2 * nperseg`` that fall in some band, and for each band the weights
    (``bins x bands``) that turn the power at those bins into the trapezoid integral of the PSD
    over the bins in ``[low, high)``, the density scale and one-sided factor 2 included.
    """
    nfft = 2 * nperseg
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)  # periodic Hann
    freqs = np.arange(nfft // 2 + 1) * fs / nfft
    df = fs / nfft
    weights = np.zeros((freqs.size, len(bands)))
    for j, (f_lo, f_hi) in enumerate(bands):
        sel = np.flatnonzero((freqs >= f_lo) & (freqs < f_hi))
        if sel.size >= 2:
            weights[sel, j] = df
            weights[sel[0], j] = weights[sel[-1], j] = df / 2.0
    bins = np.flatnonzero(weights.any(axis=1))
    one_sided = np.where((bins == 0) | (bins == nfft // 2), 1.0, 2.0)
    scale = one_sided / (fs * np.sum(window**2))
    angle = 2.0 * np.pi * np.outer(np.arange(nperseg), bins) / nfft
    dft = np.hstack([window[:, None] * np.cos(angle), window[:, None] * np.sin(angle)])
    return dft, weights[bins] * scale[:, None]


def _band_powers(t: np.ndarray, rr: np.ndarray, usable: np.ndarray, brk: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, window_s: float, bands: list[tuple[float, float]],
                 cfg: HRVConfig) -> list[np.ndarray]:
    """Welch band powers (ms^2) of every window, batched over windows of equal length.

    A window gets NaN unless the stretch from its first to its last usable beat is free of gaps
    and spans at least ``min_coverage`` of the window (a window cut short by a gap at its edge is
    not silently analysed as a shorter one).

    Each window is resampled at ``resample_hz`` from its first usable beat ``t0``:
    ``t0 + k / resample_hz`` for ``k = 0 .. n-1``, ``n = ceil((t_last - t0) * fs) + 1`` (so the
    grid covers the last usable beat), exactly neurokit2's grid. Windows with the same ``n`` share
    one Welch set-up; their segments' spectra are one matrix product with the DFT matrix of the
    in-band FFT bins (the FFT's own values at those bins, without computing the others: the FFT
    lengths here, twice half the window's samples, are often prime-rich and slow).
    """
    fs = cfg.resample_hz
    order = _INTERPOLATION_ORDER[cfg.interpolation]
    n_windows = lo.size
    result = [np.full(n_windows, np.nan) for _ in bands]
    idx = np.flatnonzero(usable)
    if idx.size < order + 1:
        return result
    first = np.searchsorted(idx, lo, side="left")
    last = np.searchsorted(idx, hi, side="left") - 1
    has = last - first + 1 >= order + 1
    first_b = idx[np.minimum(first, idx.size - 1)]
    last_b = idx[np.clip(last, 0, idx.size - 1)]
    bcum = _prefix(brk.astype(np.int64))
    has &= (bcum[last_b + 1] - bcum[first_b + 1]) == 0  # no gap between first and last usable beat
    t0 = t[first_b]
    has &= (t[last_b] - t0) >= cfg.min_coverage * window_s
    step = 1.0 / fs
    n_pts = np.zeros(n_windows, dtype=np.int64)
    n_pts[has] = np.ceil(((t[last_b[has]] + step) - t0[has]) / step).astype(np.int64)
    has &= n_pts >= 16  # at least 8-point Welch segments
    if not has.any():
        return result
    curve = _rr_curve(t, rr, usable, brk, order)
    for n in np.unique(n_pts[has]):
        n = int(n)
        rows_all = np.flatnonzero(has & (n_pts == n))
        nperseg = n // 2
        hop = nperseg - nperseg // 2  # 50% overlap
        n_seg = (n - nperseg) // hop + 1
        dft, weights = _band_dft(nperseg, fs, bands)
        n_bins = weights.shape[0]
        k = np.arange(n) * step
        chunk = max(1, _BATCH_POINTS // n)
        for c0 in range(0, rows_all.size, chunk):
            rows = rows_all[c0 : c0 + chunk]
            y = _detrend(curve((t0[rows, None] + k[None, :]).ravel()).reshape(rows.size, n), cfg.detrend)
            power = np.zeros((rows.size, n_bins))
            for j in range(n_seg):
                spec = y[:, j * hop : j * hop + nperseg] @ dft  # [real | imaginary] parts
                power += spec[:, :n_bins] ** 2 + spec[:, n_bins:] ** 2
            power = (power / n_seg) @ weights
            for j in range(len(bands)):
                result[j][rows] = power[:, j]
    return result


def _detrend(y: np.ndarray, how: str) -> np.ndarray:
    """Remove each row's mean, or its least-squares straight line."""
    y = y - y.mean(axis=1, keepdims=True)
    if how == "linear":
        k = np.arange(y.shape[1], dtype=float)
        k -= k.mean()
        slope = (y @ k) / (k @ k)
        y = y - slope[:, None] * k[None, :]
    return y
