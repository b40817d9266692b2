"""Forecast of heart-rate recovery while it happens: t50 and time to baseline, with a band. Pure.

After a stressor ends at ``t0``, heart rate returns toward the person's baseline close to a single
exponential (Imai et al. 1994; Pecanha et al. 2017; the simulator's model, see
:mod:`calmtrace.signals.simulate`)::

    HR(t0 + x) = baseline + A * exp(-x / tau)

:func:`forecast_recovery` fits that curve to the recovery seen so far (5-s bins of beat heart
rate, baseline fixed at the person's baseline of this session) and forecasts, in the terms of
docs/recovery.md,

- ``t50_s``: when half the reactivity (peak - baseline) is recovered,
  ``tau * ln(A / (reactivity / 2))``;
- ``time_to_baseline_s``: when heart rate enters the baseline band (baseline + ``k_sd`` x baseline
  SD, ``k_sd`` = 2 as in :class:`~calmtrace.signals.config.RecoveryConfig`),
  ``tau * ln(A / band)``;

each with an uncertainty band. The fit is a profile over a log-spaced grid of tau (``A`` is linear
given tau), and the band comes from the profile likelihood: with ``n_eff`` effectively independent
bins (``n * (1 - r1) / (1 + r1)``, ``r1`` the lag-1 autocorrelation of the residuals, the usual
correction for autocorrelated errors), the weight of each tau is ``SSE(tau) ** (-n_eff / 2)``
under a log-uniform prior (the grid), and the band is the weighted 10th-90th percentile of the
forecast across the grid. This approximates the posterior of a Gaussian-error model; its coverage
on simulated recoveries is measured in docs/recovery.md ("Live recovery forecast").

Nothing here knows about devices or the live view; :mod:`calmtrace.live.forecast` feeds it beat by
beat.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

__all__ = ["RecoveryForecast", "forecast_recovery", "window_hr", "FORECAST_COLUMNS", "BIN_S", "TAU_GRID_S"]

#: Bin length of the recovery curve, s: long enough to average out respiratory sinus arrhythmia
#: (a breath lasts 2.5-6 s at rest), short enough to follow a 20-s time constant (a modelling choice).
BIN_S = 5.0
#: The tau grid of the profile fit, s: 400 log-spaced values from 3 s to 3600 s (faster than any
#: heart-rate recovery time constant reported, Imai et al. 1994, to an hour).
TAU_GRID_S = np.geomspace(3.0, 3600.0, 400)
#: Central probability of the band.
BAND_LEVEL = 0.8
#: Factor dividing the effective number of bins in the profile likelihood, widening the band to
#: allow for what the single-exponential, Gaussian-error model leaves out (slow drift, Mayer waves,
#: the peak's noise). Calibrated on simulated recoveries with seeds 100-119 and 200-279 (80 % bands
#: held the truth in 61 % of them with 1, 77 % with 2, 88 % with 3); the coverage reported in docs/recovery.md is
#: measured on other seeds (0-19).
SPREAD = 2.5


@dataclass(frozen=True)
class RecoveryForecast:
    """One forecast, made ``elapsed_s`` after the stressor ended.

    Attributes
    ----------
    elapsed_s : float
        Time since the stressor's end (start of recovery), s.
    hr_bpm : float
        Heart rate of the last bin, bpm.
    baseline_bpm, band_bpm, reactivity_bpm : float
        Baseline mean, half-width of the baseline band, and peak - baseline, bpm.
    amp_bpm, tau_s : float
        Fitted excess at the start of recovery (bpm) and time constant (s).
    t50_s, t50_low_s, t50_high_s : float
        Forecast half-recovery time and its band, s after the stressor's end.
    time_to_baseline_s, ttb_low_s, ttb_high_s : float
        Forecast time to baseline and its band, s after the stressor's end.
    recovered_pct : float
        Share of the reactivity recovered by now, %.
    n_bins : int
        Bins fitted.
    note : str
        Why a figure is NaN, or what to keep in mind.
    """

    elapsed_s: float
    hr_bpm: float
    baseline_bpm: float
    band_bpm: float
    reactivity_bpm: float
    amp_bpm: float
    tau_s: float
    t50_s: float
    t50_low_s: float
    t50_high_s: float
    time_to_baseline_s: float
    ttb_low_s: float
    ttb_high_s: float
    recovered_pct: float
    n_bins: int
    note: str = ""

    def as_row(self) -> dict:
        """The forecast as a flat dict (a row of ``forecast.csv``)."""
        return asdict(self)


#: Columns of a forecast row, in order.
FORECAST_COLUMNS: tuple[str, ...] = tuple(RecoveryForecast.__dataclass_fields__)


def window_hr(t_s: np.ndarray, rr_ms: np.ndarray, t0_s: float, t1_s: float) -> float:
    """Mean beat heart rate (60000 / RR, bpm) of the beats in ``[t0_s, t1_s)``; NaN without beats."""
    sel = (t_s >= t0_s) & (t_s < t1_s)
    return float(np.mean(60000.0 / rr_ms[sel])) if sel.any() else math.nan


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    ok = np.isfinite(x) & (w > 0)
    if not ok.any():
        return [math.nan] * len(qs)
    order = np.argsort(x[ok])
    xs, ws = x[ok][order], w[ok][order]
    cum = np.cumsum(ws) / ws.sum()
    return [float(xs[min(np.searchsorted(cum, q), xs.size - 1)]) for q in qs]


def _nan_forecast(elapsed_s: float, hr: float, base: float, band: float, react: float, n: int, note: str) -> RecoveryForecast:
    nan = math.nan
    return RecoveryForecast(elapsed_s, hr, base, band, react, nan, nan, nan, nan, nan, nan, nan, nan, nan, n, note)


def forecast_recovery(t_s: np.ndarray, rr_ms: np.ndarray, t0_s: float, now_s: float, baseline_bpm: float,
                      baseline_sd_bpm: float, peak_bpm: float, k_sd: float = 2.0,
                      bin_s: float = BIN_S, level: float = BAND_LEVEL) -> RecoveryForecast:
    """Forecast t50 and time to baseline from the recovery seen between ``t0_s`` and ``now_s``.

    Parameters
    ----------
    t_s, rr_ms : array of float, shape (n,)
        Beat times (s) and RR intervals (ms), cleaned or raw; only beats in ``[t0_s, now_s)`` are used.
    t0_s : float
        End of the stressor (start of recovery), s.
    now_s : float
        The time the forecast is made, s.
    baseline_bpm, baseline_sd_bpm : float
        The session's baseline heart rate and its SD (over 60-s windows), bpm.
    peak_bpm : float
        Peak heart rate of the stressor (docs/recovery.md), bpm.
    k_sd : float
        Half-width of the baseline band in baseline SDs (2, RecoveryConfig.k_sd).
    bin_s : float
        Bin length, s (:data:`BIN_S`).
    level : float
        Central probability of the band (0.8: the 10th to 90th percentile).

    Returns
    -------
    RecoveryForecast
        NaN figures with a note when there is no baseline, no reactivity or fewer than 6 bins.
    """
    t_s = np.asarray(t_s, float)
    rr_ms = np.asarray(rr_ms, float)
    elapsed = float(now_s - t0_s)
    n_bins = int(math.floor(elapsed / bin_s))
    edges = t0_s + bin_s * np.arange(n_bins + 1)
    idx = np.searchsorted(edges, t_s, side="right") - 1
    sel = (idx >= 0) & (idx < n_bins)
    sums = np.bincount(idx[sel], weights=60000.0 / rr_ms[sel], minlength=n_bins)
    counts = np.bincount(idx[sel], minlength=n_bins)
    has = counts > 0
    x = (edges[:-1] + bin_s / 2 - t0_s)[has]
    y = sums[has] / np.maximum(counts[has], 1) - baseline_bpm
    hr_now = float(y[-1] + baseline_bpm) if y.size else math.nan
    band = k_sd * baseline_sd_bpm
    react = peak_bpm - baseline_bpm
    if not (math.isfinite(baseline_bpm) and math.isfinite(band)):
        return _nan_forecast(elapsed, hr_now, baseline_bpm, band, react, int(x.size), "no baseline")
    if not (math.isfinite(react) and react > band / 2 and react > 0):
        return _nan_forecast(elapsed, hr_now, baseline_bpm, band, react, int(x.size),
                             "no reactivity: heart rate did not rise above its baseline")
    if x.size < 6:
        return _nan_forecast(elapsed, hr_now, baseline_bpm, band, react, int(x.size), "fewer than 6 bins of recovery")
    # profile fit: for each tau, the best A is linear least squares
    taus = TAU_GRID_S
    basis = np.exp(-x[None, :] / taus[:, None])                      # (n_tau, n_bins)
    amp = np.maximum((basis @ y) / np.einsum("ij,ij->i", basis, basis), 1e-9)
    resid = y[None, :] - amp[:, None] * basis
    sse = np.einsum("ij,ij->i", resid, resid)
    best = int(np.argmin(sse))
    r = resid[best]
    r1 = float(np.corrcoef(r[:-1], r[1:])[0, 1]) if r.size > 3 and np.std(r) > 0 else 0.0
    r1 = min(max(r1 if math.isfinite(r1) else 0.0, 0.0), 0.95)
    n_eff = max(x.size * (1 - r1) / (1 + r1), 2.0)
    logw = -0.5 * (n_eff / SPREAD) * np.log(np.maximum(sse, 1e-12))
    w = np.exp(logw - logw.max())
    t50 = taus * np.log(np.maximum(amp / (react / 2), 1.0))
    ttb = taus * np.log(np.maximum(amp / band, 1.0)) if band > 0 else np.full_like(taus, math.nan)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    t50_lo, t50_mid, t50_hi = _weighted_quantiles(t50, w, (lo_q, 0.5, hi_q))
    ttb_lo, ttb_mid, ttb_hi = _weighted_quantiles(ttb, w, (lo_q, 0.5, hi_q))
    recovered = 100.0 * (react - y[-1]) / react
    note = ""
    if amp[best] < react / 2:
        note = "already half-recovered when recovery started"
    return RecoveryForecast(elapsed, hr_now, float(baseline_bpm), float(band), float(react), float(amp[best]),
                            float(taus[best]), t50_mid, t50_lo, t50_hi, ttb_mid, ttb_lo, ttb_hi, float(recovered),
                            int(x.size), note)
