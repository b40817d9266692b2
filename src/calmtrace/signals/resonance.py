"""Resonance-frequency assessment: which slow breathing rate makes the heart rate oscillate most. Pure.

Slow breathing near a person's *resonance frequency* (about 0.1 Hz, 4.5-7 breaths/min) makes the
respiratory and baroreflex rhythms of heart rate add up, so heart rate swings farthest with each
breath (Vaschillo, Lehrer et al. 2002). The assessment of Lehrer, Vaschillo & Vaschillo (2000),
as described by Shaffer & Meehan (2020, *A practical guide to resonance frequency assessment for
heart rate variability biofeedback*, Front. Neurosci. 14:570400), paces breathing for about two
minutes at each of 6.5, 6.0, 5.5, 5.0 and 4.5 breaths/min and compares, per rate,

- the **peak-to-trough heart-rate oscillation**: max - min of heart rate within each breath,
  averaged over the block's whole breaths (bpm);
- the **LF peak**: the highest point of the RR spectrum in the LF band 0.04-0.15 Hz (Task Force
  1996), its power density (ms^2/Hz) and frequency (Hz), and the LF band power (ms^2).

:func:`assess_resonance` chooses the rate with the best combined rank of the two primary criteria
(largest HR oscillation, largest LF peak; Shaffer & Meehan 2020 weigh peak-trough amplitude and LF
power highest), ties going to the larger HR oscillation, and says why. A block whose LF peak is
not at its breathing rate (more than :data:`PEAK_MATCH_HZ` away) is reported, since the heart then
did not follow the breathing (the pacer was not followed, or Mayer waves dominate).

Heart rate and RR are resampled at 4 Hz (Task Force 1996) by linear interpolation between beats;
the spectrum of each block is a Hann-windowed periodogram of the linearly detrended RR, zero-padded
to a 0.001-Hz grid (a 2-min block resolves 1/120 Hz = 0.5 breaths/min).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import integrate, signal

from ..errors import InputError

__all__ = [
    "ASSESSMENT_RATES_BPM",
    "BLOCK_S",
    "AssessmentBlock",
    "ResonanceResult",
    "breath_oscillation",
    "lf_peak",
    "assess_resonance",
]

log = logging.getLogger(__name__)

#: Breathing rates of the assessment, breaths/min, in the order paced (Lehrer, Vaschillo &
#: Vaschillo 2000; Shaffer & Meehan 2020).
ASSESSMENT_RATES_BPM: tuple[float, ...] = (6.5, 6.0, 5.5, 5.0, 4.5)
#: Length of each block, s: "about 2 minutes" per rate (Shaffer & Meehan 2020).
BLOCK_S = 120.0
#: Seconds at the start of each block left out while breathing settles into the new rate
#: (a modelling choice: one breath at 6/min).
SETTLE_S = 10.0
#: Resampling rate of heart rate and RR, Hz (Task Force 1996).
RESAMPLE_HZ = 4.0
#: LF band, Hz (Task Force 1996).
LF_BAND_HZ = (0.04, 0.15)
#: A block's LF peak is "at its breathing rate" when it lies within this many Hz of it: one
#: frequency bin of a 2-min block, 1/120 Hz, rounded up.
PEAK_MATCH_HZ = 0.01
#: Fewest whole breaths a block needs for its HR oscillation (a modelling choice).
MIN_BREATHS = 3


@dataclass(frozen=True)
class AssessmentBlock:
    """One paced block: breathing at ``rate_bpm`` breaths/min from ``onset_s`` for ``duration_s``.

    Attributes
    ----------
    rate_bpm : float
        Breathing rate, breaths/min.
    onset_s : float
        Start of the block (the first inhale), s.
    duration_s : float
        Length, s.
    """

    rate_bpm: float
    onset_s: float
    duration_s: float

    @property
    def breath_onsets_s(self) -> np.ndarray:
        """Start of each whole breath inside the block (pacer time), s."""
        period = 60.0 / self.rate_bpm
        n = int(math.floor(self.duration_s / period + 1e-9))
        return self.onset_s + period * np.arange(n + 1)


@dataclass
class ResonanceResult:
    """What :func:`assess_resonance` found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per block: ``rate_bpm``, ``onset_s``, ``duration_s``, ``n_breaths``,
        ``hr_osc_bpm`` (mean max - min HR per breath), ``hr_osc_sd_bpm``, ``lf_peak_hz``,
        ``lf_peak_ms2_hz``, ``lf_power_ms2``, ``peak_at_rate`` (bool), ``note``.
    rate_bpm : float
        The chosen resonance rate, breaths/min (NaN when no block could be assessed).
    reason : str
        Why that rate (or why none).
    """

    table: pd.DataFrame
    rate_bpm: float
    reason: str


def _grid(t_s: np.ndarray, values: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    grid = np.arange(t0, t1, 1.0 / RESAMPLE_HZ)
    return grid, np.interp(grid, t_s, values)


def _covered(t_s: np.ndarray, rr_ms: np.ndarray, t0: float, t1: float) -> bool:
    """Beats span [t0, t1] without a hole longer than 3 s (a gap or lost beats)."""
    sel = (t_s >= t0) & (t_s <= t1)
    if sel.sum() < 2 or t_s[sel][0] - t0 > 3.0 or t1 - t_s[sel][-1] > 3.0:
        return False
    return bool(np.max(np.diff(t_s[sel])) <= 3.0)


def breath_oscillation(t_s: np.ndarray, rr_ms: np.ndarray, breath_onsets_s: np.ndarray) -> np.ndarray:
    """Peak-to-trough heart-rate oscillation of each breath (Lehrer et al. 2000).

    Parameters
    ----------
    t_s : array of float, shape (n,)
        Beat times, s, increasing.
    rr_ms : array of float, shape (n,)
        RR intervals ending at those beats, ms.
    breath_onsets_s : array of float, shape (m + 1,)
        Start of each breath and end of the last, s.

    Returns
    -------
    numpy.ndarray, shape (m,)
        max - min of heart rate (bpm, 60000 / RR, resampled at 4 Hz) within each breath; NaN for a
        breath not covered by beats.
    """
    t_s = np.asarray(t_s, float)
    hr = 60000.0 / np.asarray(rr_ms, float)
    b = np.asarray(breath_onsets_s, float)
    out = np.full(max(b.size - 1, 0), math.nan)
    for k in range(b.size - 1):
        if not _covered(t_s, rr_ms, b[k], b[k + 1]):
            continue
        _, y = _grid(t_s, hr, b[k], b[k + 1])
        out[k] = float(y.max() - y.min())
    return out


def lf_peak(t_s: np.ndarray, rr_ms: np.ndarray, t0_s: float, t1_s: float) -> tuple[float, float, float]:
    """LF peak of the RR spectrum between ``t0_s`` and ``t1_s``.

    Parameters
    ----------
    t_s, rr_ms : array of float, shape (n,)
        Beat times (s) and RR intervals (ms).
    t0_s, t1_s : float
        The span, s.

    Returns
    -------
    (float, float, float)
        Peak frequency (Hz), peak power density (ms^2/Hz) and band power 0.04-0.15 Hz (ms^2) of a
        Hann-windowed periodogram of the linearly detrended, 4-Hz resampled RR; NaN when the span
        is not covered by beats.
    """
    t_s = np.asarray(t_s, float)
    rr_ms = np.asarray(rr_ms, float)
    if not _covered(t_s, rr_ms, t0_s, t1_s):
        return math.nan, math.nan, math.nan
    _, y = _grid(t_s, rr_ms, t0_s, t1_s)
    nfft = max(y.size, int(2 ** math.ceil(math.log2(RESAMPLE_HZ / 0.001))))
    f, p = signal.periodogram(y, fs=RESAMPLE_HZ, window="hann", detrend="linear", nfft=nfft, scaling="density")
    band = (f >= LF_BAND_HZ[0]) & (f <= LF_BAND_HZ[1])
    i = int(np.argmax(np.where(band, p, -np.inf)))
    power = float(integrate.trapezoid(p[band], f[band]))
    return float(f[i]), float(p[i]), power


def _check(t_s: np.ndarray, rr_ms: np.ndarray) -> None:
    if t_s.shape != rr_ms.shape or t_s.ndim != 1:
        raise InputError(f"assess_resonance: t_s and rr_ms must be 1-D of one length, got {t_s.shape} and {rr_ms.shape}")
    if t_s.size and (np.any(np.diff(t_s) <= 0) or np.any(~np.isfinite(rr_ms)) or np.any(rr_ms <= 0)):
        raise InputError("assess_resonance: beat times must increase and RR intervals be positive numbers")


def assess_resonance(t_s: Sequence[float], rr_ms: Sequence[float], blocks: Sequence[AssessmentBlock],
                     settle_s: float = SETTLE_S) -> ResonanceResult:
    """Assess each paced block and choose the resonance breathing rate.

    Parameters
    ----------
    t_s : sequence of float, shape (n,)
        Beat times, s (cleaned beats: artefacts distort the per-breath max - min).
    rr_ms : sequence of float, shape (n,)
        RR intervals, ms.
    blocks : sequence of AssessmentBlock
        The paced blocks (rates and times), e.g. from the pacer's events.
    settle_s : float
        Seconds left out at the start of each block (default :data:`SETTLE_S`); the analysed
        breaths are the pacer's whole breaths after that.

    Returns
    -------
    ResonanceResult

    Raises
    ------
    InputError
        When the beats are not increasing positive numbers or no block is given.
    """
    t = np.asarray(t_s, float)
    rr = np.asarray(rr_ms, float)
    _check(t, rr)
    if not blocks:
        raise InputError("assess_resonance: no paced blocks to assess")
    rows = []
    for blk in blocks:
        period = 60.0 / blk.rate_bpm
        skip = math.ceil(settle_s / period - 1e-9) * period       # whole breaths, so the phase holds
        inner = AssessmentBlock(blk.rate_bpm, blk.onset_s + skip, blk.duration_s - skip)
        onsets = inner.breath_onsets_s
        osc = breath_oscillation(t, rr, onsets) if onsets.size > 1 else np.array([])
        ok = osc[np.isfinite(osc)]
        f_pk, p_pk, p_lf = lf_peak(t, rr, inner.onset_s, inner.onset_s + inner.duration_s)
        notes = []
        if ok.size < MIN_BREATHS:
            notes.append(f"only {ok.size} whole breaths covered by beats (needs {MIN_BREATHS})")
        peak_at_rate = bool(math.isfinite(f_pk) and abs(f_pk - blk.rate_bpm / 60.0) <= PEAK_MATCH_HZ)
        if math.isfinite(f_pk) and not peak_at_rate:
            notes.append(f"LF peak at {f_pk * 60:.1f}/min, not at the breathing rate")
        rows.append({
            "rate_bpm": blk.rate_bpm, "onset_s": blk.onset_s, "duration_s": blk.duration_s,
            "n_breaths": int(ok.size),
            "hr_osc_bpm": float(ok.mean()) if ok.size >= MIN_BREATHS else math.nan,
            "hr_osc_sd_bpm": float(ok.std(ddof=1)) if ok.size >= MIN_BREATHS else math.nan,
            "lf_peak_hz": f_pk, "lf_peak_ms2_hz": p_pk, "lf_power_ms2": p_lf,
            "peak_at_rate": peak_at_rate, "note": "; ".join(notes),
        })
    table = pd.DataFrame(rows)
    rate, reason = _choose(table)
    return ResonanceResult(table, rate, reason)


def _choose(table: pd.DataFrame) -> tuple[float, str]:
    usable = table[np.isfinite(table["hr_osc_bpm"]) & np.isfinite(table["lf_peak_ms2_hz"])]
    if usable.empty:
        return math.nan, "no block had enough beats to assess (see each block's note)"
    osc_rank = usable["hr_osc_bpm"].rank(ascending=False, method="min")
    lf_rank = usable["lf_peak_ms2_hz"].rank(ascending=False, method="min")
    score = osc_rank + lf_rank
    best = usable.assign(score=score, osc_rank=osc_rank, lf_rank=lf_rank).sort_values(
        ["score", "hr_osc_bpm"], ascending=[True, False]).iloc[0]
    top_osc = usable.loc[usable["hr_osc_bpm"].idxmax()]
    top_lf = usable.loc[usable["lf_peak_ms2_hz"].idxmax()]
    rate = float(best["rate_bpm"])
    if best["osc_rank"] == 1 and best["lf_rank"] == 1:
        reason = (f"{rate:g}/min: largest heart-rate oscillation ({best['hr_osc_bpm']:.1f} bpm max-min per breath) "
                  f"and largest LF peak ({best['lf_peak_ms2_hz']:.0f} ms^2/Hz at {best['lf_peak_hz'] * 60:.2f}/min)")
    else:
        reason = (f"{rate:g}/min: best combined rank of heart-rate oscillation (rank {int(best['osc_rank'])}, "
                  f"{best['hr_osc_bpm']:.1f} bpm) and LF peak (rank {int(best['lf_rank'])}, "
                  f"{best['lf_peak_ms2_hz']:.0f} ms^2/Hz); the largest oscillation was at {top_osc['rate_bpm']:g}/min, "
                  f"the largest LF peak at {top_lf['rate_bpm']:g}/min")
    if not bool(best["peak_at_rate"]):
        reason += "; its LF peak is not at the breathing rate, so check that the pacer was followed"
    return rate, reason
