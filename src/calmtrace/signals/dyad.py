"""Two people on one clock: physiological synchrony and co-regulation in a couples session.

:func:`dyad` takes two recordings (partner A and partner B) and

1. **aligns** them on their clocks (:func:`align`): B's times are moved by the difference of the
   two start times, or by an offset the caller states; recordings whose clocks cannot be trusted
   (a start the file did not carry, one clock in UTC and the other in unknown local time) or that
   do not overlap long enough are refused with a message that says which and how to state an
   offset;
2. builds two **series** per partner on one grid of ``series_hz`` (1 Hz): heart rate from the
   cleaned beats (instantaneous HR interpolated, low-passed below the respiratory band so that
   two people breathing at different rates do not enter), and a vagal index, lnRMSSD of sliding
   windows of ``vagal_window_s`` centred on each grid point;
3. computes the **windowed cross-correlation** of Boker et al. (2002, Psychological Methods
   7:338-355): windows of ``window_s`` every ``step_s``; in each, Pearson's r of the linearly
   detrended segments of A and of B shifted by every lag from ``-max_lag_s`` to ``+max_lag_s`` in
   steps of one sample; the **peak** correlation and its lag per window. ``r(lag) = corr(A(t),
   B(t + lag))``: a positive lag means B follows A (A leads), a negative one that B leads;
4. summarises **synchrony per phase** of the session's events (baseline, conflict discussion,
   repair...): the windows lying wholly inside the phase, their peak r averaged through Fisher's
   z, the median lag and how often each partner led;
5. tests each phase against **surrogates** (Palumbo et al. 2017, Pers Soc Psychol Rev 21:99-141,
   ask for this, because two people doing the same task correlate without any influence on each
   other): pseudo-pairs (A with the B of other couples' sessions, B with their A, aligned on the
   phase's onset; Moulder et al. 2018, Psychological Methods 23:757-773) where at least
   ``min_pseudo_pairs`` are available, else B's series circularly
   shifted within the phase (``"shift"``) or phase-randomised within it (``"phase"``, Theiler et
   al. 1992, Physica D 58:77-94). A phase's p value is the share of surrogates whose synchrony is
   at least the real one, ``(1 + k) / (1 + n)``; p values are Holm-adjusted across the phases of a
   series (Holm 1979, Scand J Stat 6:65-70) and a phase **exceeds chance** where the adjusted p
   is below ``alpha``;
6. **co-regulation**: each partner's recovery after the shared stressor by
   :func:`~calmtrace.signals.recovery.assess_recovery` (side by side), and the lagged association
   between one partner's arousal and the other's recovery after it: over the recovery span, the
   change of partner Y's heart rate in the next ``coreg_step_s`` regressed on Y's own arousal
   (heart rate above Y's baseline) and X's arousal ``lag`` seconds earlier, the cross-lagged form
   used in couples' co-regulation work (Butler & Randall 2013, Emotion Review 5:202-210). A
   positive partner coefficient means Y's heart rate came down more slowly (or rose) while X was
   aroused.

What the figures do not mean is in ``docs/dyads.md``: synchrony is not closeness, one session is
n = 1, and co-regulation coefficients from one session are descriptions, not tests.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import signal as sps

from .._version import __version__
from ..errors import AnalysisError, InputError
from ..events import Event, Events
from ..recording import Recording
from .clean import clean
from .config import CleanConfig, RecoveryConfig
from .hrv import HRVConfig, windowed_hrv
from .recovery import assess_recovery

__all__ = ["DyadConfig", "DyadResult", "Alignment", "align", "dyad", "windowed_cross_correlation",
           "SURROGATES", "SERIES", "PHASE_COLUMNS", "WINDOW_COLUMNS"]

log = logging.getLogger(__name__)

#: Surrogate kinds: automatic choice, pseudo-pairs, circular shift, phase randomisation.
SURROGATES: tuple[str, ...] = ("auto", "pseudo", "shift", "phase")
#: The two series of each partner: heart rate and the vagal index.
SERIES: dict[str, dict[str, str]] = {
    "hr": {"name": "heart rate", "unit": "bpm"},
    "vagal": {"name": "lnRMSSD", "unit": "ln(ms)"},
}
#: Columns of the per-window table.
WINDOW_COLUMNS: tuple[str, ...] = ("series", "start_s", "end_s", "center_s", "peak_r", "peak_lag_s", "r_lag0",
                                   "leader")
#: Columns of the per-phase table.
PHASE_COLUMNS: tuple[str, ...] = (
    "series", "phase", "kind", "onset_s", "offset_s", "n_windows", "synchrony_r", "mean_z", "median_lag_s",
    "share_a_leads", "share_b_leads", "share_same_time", "surrogate", "n_surrogates", "surrogate_mean_r",
    "surrogate_q95_r", "p", "p_holm", "exceeds_chance", "note",
)
_USABLE = ("ok", "corrected", "interpolated")
_PHASE_KINDS = ("baseline", "stressor", "recovery", "intervention")


@dataclass(frozen=True)
class DyadConfig:
    """Every parameter of :func:`dyad`, each with where it comes from. Times in seconds.

    Parameters
    ----------
    series_hz : float
        Grid of both partners' series, Hz. Default 1: second-by-second heart rate, the resolution
        of most interpersonal physiology studies reviewed by Palumbo et al. (2017); the lag step
        of the cross-correlation is one sample (1 s).
    hr_lowpass_hz : float
        Heart rate is low-passed below this frequency (2nd-order Butterworth, forward and back)
        before the correlation. Default 0.15 Hz, the lower edge of the respiratory (HF) band of
        Task Force (1996): respiratory sinus arrhythmia follows each person's own breathing and
        would otherwise dilute the correlation of the slower changes synchrony is about.
    window_s : float
        Window of the cross-correlation (Boker et al. 2002's window size). Default 60 s,
        calmtrace's choice: Behrens, Moulder, Boker & Kret (2020, bioRxiv 2020.08.27.269746) found
        that window size matters more than the maximum lag and that shorter windows separate real
        from pseudo-synchrony of heart rate better, but after the 0.15 Hz low-pass a 30-s window
        holds few independent values: on the dyad simulator 30-s windows found moderate coupling
        in 5 of 8 seeds, 60-s windows in 8 of 8, at the same false-positive rate (docs/dyads.md).
    step_s : float
        Window increment. Default 30 s (half a window, calmtrace's choice).
    max_lag_s : float
        Largest lag tried, each way (Boker et al.'s tau_max). Default 10 s (calmtrace's choice, a
        sixth of the window: Boker et al. 2002 keep the maximum lag well below the window so
        that each r rests on enough overlap; autonomic responses to a partner within seconds).
    vagal_window_s : float
        Length of the sliding lnRMSSD windows of the vagal series. Default 30 s: RMSSD from
        windows this short tracks the 5-min value (Munoz et al. 2015, PLoS One 10:e0138921).
    vagal_wcc_window_s : float
        Cross-correlation window of the vagal series. Default 120 s (calmtrace's choice): the
        vagal series is already a 30-s moving figure, so a 60-s window would hold about two
        independent values.
    surrogate : {"auto", "pseudo", "shift", "phase"}
        Null model of the surrogate test. ``auto``: pseudo-pairs where other sessions give at least
        ``min_pseudo_pairs``, else ``shift``.
    n_surrogates : int
        Surrogates per phase for ``shift`` and ``phase``, and the most pseudo-pairs used. Default
        199, so that p can reach 0.005 (a number n with (n + 1) alpha whole, as Theiler et al.
        1992 advise for rank tests).
    min_pseudo_pairs : int
        Fewest pseudo-pairs for a pseudo-pair test (``auto`` falls back to ``shift`` below it).
        Default 99, so that p can reach 0.01 = 1 / (99 + 1) and survive the Holm adjustment over
        three phases (0.01 x 3 < 0.05); ``n`` sessions give ``n (n - 1)`` pseudo-pairs, so 11
        sessions are enough.
    min_shift_s : float
        Shortest circular shift of B within a phase. Default 60 s (calmtrace's choice: more than a
        window plus the maximum lag, so that no surrogate window sees B's own aligned segment).
    alpha : float
        Significance level of the Holm-adjusted surrogate test. Default 0.05.
    min_window_share : float
        A window counts only if both series have values at this share of its samples (and every
        lag's). Default 1.0: no interpolation across gaps of the grid.
    max_beat_gap_s : float
        Heart rate is not interpolated between usable beats further apart than this. Default 6 s
        (calmtrace's choice: shorter than one period of the low-pass cutoff, 1 / 0.15 Hz = 6.7 s,
        so a hole left by a few excluded artefact beats holds no detail the series would keep,
        while a dropout longer than that is a break).
    min_overlap_s : float
        Shortest overlap of the two recordings that is analysed. Default 300 s (the 5-min
        short-term standard of Task Force 1996; fewer than ~20 windows per session otherwise).
    seed : int
        Seed of the surrogates' random numbers, so that a result can be reproduced.
    coreg_step_s : float
        Step of the co-regulation regression: heart rate is sampled every this many seconds and
        its change over the next step is the outcome. Default 10 s (calmtrace's choice, a third
        of a window, so successive samples are not near-copies).
    coreg_lags_s : tuple of float
        Lags of the partner's arousal tried. Default 0, 10, 20, 30 and 60 s (calmtrace's choice:
        up to one minute, the time scale of cardiac recovery steps).
    recovery : RecoveryConfig
        Recovery assessment of each partner (defaults and sources in :class:`RecoveryConfig`).
    clean : CleanConfig
        Artefact cleaning of each partner's beats.
    """

    series_hz: float = 1.0
    hr_lowpass_hz: float = 0.15
    window_s: float = 60.0
    step_s: float = 30.0
    max_lag_s: float = 10.0
    vagal_window_s: float = 30.0
    vagal_wcc_window_s: float = 120.0
    surrogate: str = "auto"
    n_surrogates: int = 199
    min_pseudo_pairs: int = 99
    min_shift_s: float = 60.0
    alpha: float = 0.05
    min_window_share: float = 1.0
    max_beat_gap_s: float = 6.0
    min_overlap_s: float = 300.0
    seed: int = 0
    coreg_step_s: float = 10.0
    coreg_lags_s: tuple[float, ...] = (0.0, 10.0, 20.0, 30.0, 60.0)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "coreg_lags_s", tuple(float(x) for x in self.coreg_lags_s))
        for name in ("series_hz", "hr_lowpass_hz", "window_s", "step_s", "vagal_window_s", "vagal_wcc_window_s",
                     "min_shift_s", "max_beat_gap_s", "min_overlap_s", "coreg_step_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"DyadConfig: {name} must be a positive number, got {v!r}")
        if not (isinstance(self.max_lag_s, (int, float)) and 0 <= self.max_lag_s < self.window_s):
            raise InputError(f"DyadConfig: max_lag_s must be >= 0 and shorter than window_s "
                             f"({self.window_s:g} s), got {self.max_lag_s!r}")
        if self.hr_lowpass_hz >= self.series_hz / 2:
            raise InputError(f"DyadConfig: hr_lowpass_hz must lie below half of series_hz "
                             f"({self.series_hz / 2:g} Hz), got {self.hr_lowpass_hz!r}")
        if self.surrogate not in SURROGATES:
            raise InputError(f"DyadConfig: surrogate must be one of {', '.join(SURROGATES)}, got {self.surrogate!r}")
        for name in ("n_surrogates", "min_pseudo_pairs", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "seed" else 1):
                raise InputError(f"DyadConfig: {name} must be a whole number >= {0 if name == 'seed' else 1}, got {v!r}")
        if not 0 < self.alpha < 1:
            raise InputError(f"DyadConfig: alpha must lie between 0 and 1, got {self.alpha!r}")
        if not 0 < self.min_window_share <= 1:
            raise InputError(f"DyadConfig: min_window_share must lie in (0, 1], got {self.min_window_share!r}")
        if any(not (math.isfinite(x) and x >= 0) for x in self.coreg_lags_s):
            raise InputError(f"DyadConfig: coreg_lags_s must be numbers >= 0, got {self.coreg_lags_s!r}")

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (for ``dyad.json``)."""
        d = dataclasses.asdict(self)
        return json.loads(json.dumps(d, default=str))

    @property
    def lag_step_s(self) -> float:
        """The lag increment of the cross-correlation: one sample of the series, s."""
        return 1.0 / self.series_hz


# -------------------------------------------------------------------------------------------
# alignment
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alignment:
    """How B's clock was put on A's.

    Attributes
    ----------
    b_offset_s : float
        B's ``t_s = 0`` lies this many seconds after A's: B's time ``t`` is A's ``t + b_offset_s``.
    how : str
        ``"clocks"`` (from the two start times) or ``"stated"`` (an offset the caller gave).
    overlap_s : (float, float)
        Start and end of the span both recordings cover, in A's seconds.
    note : str
        A sentence for the report.
    """

    b_offset_s: float
    how: str
    overlap_s: tuple[float, float]
    note: str


def _clock_problem(rec: Recording, who: str) -> str | None:
    if rec.meta.get("start_unknown"):
        return f"partner {who}'s recording carries no start time (its file has no clock)"
    return None


def _local_clock(rec: Recording) -> bool:
    return "offset unknown" in str(rec.meta.get("clock", ""))


def align(rec_a: Recording, rec_b: Recording, offset_s: float | None = None,
          min_overlap_s: float = DyadConfig.min_overlap_s) -> Alignment:
    """Put partner B's recording on partner A's clock.

    Parameters
    ----------
    rec_a, rec_b : Recording
    offset_s : float, optional
        Stated offset: B started this many seconds after A (negative: before). When given, the
        start times are not used; give it when the clocks cannot be trusted.
    min_overlap_s : float
        Shortest common span accepted, s.

    Returns
    -------
    Alignment

    Raises
    ------
    InputError
        When the clocks cannot be aligned and no offset is stated (a start time the file did not
        carry; one clock in UTC, the other in local time of unknown offset), or when the two
        recordings overlap for less than ``min_overlap_s``. The message says how to state an
        offset.
    """
    hint = "state B's start relative to A's with offset_s (--offset-s SECONDS on the command line)"
    if offset_s is None:
        for rec, who in ((rec_a, "A"), (rec_b, "B")):
            problem = _clock_problem(rec, who)
            if problem:
                raise InputError(f"cannot align the two recordings: {problem}; {hint}")
        if _local_clock(rec_a) != _local_clock(rec_b):
            local = "A" if _local_clock(rec_a) else "B"
            raise InputError(f"cannot align the two recordings: partner {local}'s clock is local time of unknown "
                             f"UTC offset and the other's is UTC; {hint}")
        b_off = (rec_b.start - rec_a.start).total_seconds()
        how = "clocks"
        note = (f"aligned on the recordings' clocks: B started {b_off:+.1f} s after A"
                if b_off else "aligned on the recordings' clocks: both started at the same time")
    else:
        if isinstance(offset_s, bool) or not isinstance(offset_s, (int, float)) or not math.isfinite(offset_s):
            raise InputError(f"offset_s must be a number of seconds, got {offset_s!r}")
        b_off = float(offset_s)
        how = "stated"
        note = f"aligned on a stated offset: B started {b_off:+.1f} s after A (the start times were not used)"
    t0 = max(0.0, b_off)
    t1 = min(rec_a.duration_s, b_off + rec_b.duration_s)
    if t1 - t0 < min_overlap_s:
        a_span = f"{rec_a.start:%Y-%m-%d %H:%M:%S}+{rec_a.duration_s:.0f} s"
        b_span = f"{rec_b.start:%Y-%m-%d %H:%M:%S}+{rec_b.duration_s:.0f} s"
        raise InputError(
            f"cannot align the two recordings: they overlap for {max(t1 - t0, 0.0):.0f} s, fewer than "
            f"{min_overlap_s:g} s (A: {a_span} UTC, B: {b_span} UTC, B offset {b_off:+.1f} s); if their clocks "
            f"differ, {hint}")
    return Alignment(b_off, how, (t0, t1), note)


# -------------------------------------------------------------------------------------------
# series
# -------------------------------------------------------------------------------------------
def _hr_series(rec: Recording, grid_s: np.ndarray, cfg: DyadConfig) -> np.ndarray:
    """Instantaneous heart rate of the usable beats on ``grid_s`` (s, the recording's own clock),
    low-passed; NaN outside the beats and across gaps."""
    ok = np.isin(rec.flags, _USABLE)
    t, hr = rec.t_s[ok], 60000.0 / rec.rr_ms[ok]
    out = np.full(grid_s.shape, np.nan)
    if t.size < 2:
        return out
    y = np.interp(grid_s, t, hr)
    j = np.searchsorted(t, grid_s, side="left")
    inside = (j > 0) & (j < t.size)
    jj = np.clip(j, 1, t.size - 1)
    inside &= (t[jj] - t[jj - 1]) <= cfg.max_beat_gap_s
    inside |= np.isin(grid_s, t)
    for g in rec.gaps.itertuples(index=False):
        inside &= ~((grid_s > g.onset_s) & (grid_s < g.onset_s + g.duration_s))
    out[inside] = y[inside]
    return _lowpass_runs(out, cfg.hr_lowpass_hz, cfg.series_hz)


def _lowpass_runs(x: np.ndarray, cutoff_hz: float, fs_hz: float) -> np.ndarray:
    """Low-pass each run of finite values separately (runs too short to filter become NaN)."""
    sos = sps.butter(2, cutoff_hz, btype="lowpass", fs=fs_hz, output="sos")
    out = np.full_like(x, np.nan)
    finite = np.isfinite(x)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(int), [0]))))
    min_len = 3 * (2 * sos.shape[0] + 1) + 1
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a >= min_len:
            out[a:b] = sps.sosfiltfilt(sos, x[a:b])
    return out


def _vagal_series(rec: Recording, grid_s: np.ndarray, cfg: DyadConfig) -> np.ndarray:
    """lnRMSSD of sliding ``vagal_window_s`` windows centred on the grid (own clock), NaN where a
    window is invalid."""
    out = np.full(grid_s.shape, np.nan)
    if rec.duration_s < cfg.vagal_window_s or len(rec.beats) < 3:
        return out
    win = windowed_hrv(rec, window_s=cfg.vagal_window_s, step_s=1.0 / cfg.series_hz,
                       config=HRVConfig(min_window_s=min(HRVConfig().min_window_s, cfg.vagal_window_s)))
    centre = (win["start_s"].to_numpy(float) + win["end_s"].to_numpy(float)) / 2
    v = win["ln_rmssd"].to_numpy(float).copy()
    v[~win["valid"].to_numpy(bool)] = np.nan
    idx = np.rint((grid_s - centre[0]) * cfg.series_hz).astype(int) if centre.size else np.array([], int)
    ok = (idx >= 0) & (idx < centre.size)
    out[ok] = v[idx[ok]]
    return out


# -------------------------------------------------------------------------------------------
# windowed cross-correlation (Boker et al. 2002)
# -------------------------------------------------------------------------------------------
def _detrended(seg: np.ndarray) -> np.ndarray:
    """Rows minus their least-squares line (mean and slope)."""
    n = seg.shape[-1]
    tc = np.arange(n) - (n - 1) / 2.0
    m = seg.mean(axis=-1, keepdims=True)
    slope = (seg * tc).sum(axis=-1, keepdims=True) / (tc * tc).sum()
    return seg - m - slope * tc


def _detrended_masked(seg: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Rows minus their least-squares line fitted to the samples where ``ok``; 0 elsewhere."""
    w = ok.astype(float)
    x = np.where(ok, seg, 0.0)
    t = np.arange(seg.shape[-1], dtype=float)[None, :]
    n = w.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = (w * t).sum(axis=-1, keepdims=True) / n
        xm = (w * x).sum(axis=-1, keepdims=True) / n
        tc = (t - tm) * w
        slope = (tc * (x - xm)).sum(axis=-1, keepdims=True) / (tc * tc).sum(axis=-1, keepdims=True)
    return np.nan_to_num((x - xm - slope * (t - tm)) * w)


def windowed_cross_correlation(x: np.ndarray, y: np.ndarray, fs_hz: float, window_s: float, step_s: float,
                               max_lag_s: float, starts: np.ndarray | None = None,
                               min_share: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windowed cross-correlation matrix of two series on one grid (Boker et al. 2002).

    Parameters
    ----------
    x, y : array of float, shape (n,)
        Partner A's and B's series on one grid of ``fs_hz``; NaN where missing.
    fs_hz : float
        Grid rate, Hz.
    window_s, step_s, max_lag_s : float
        Window size, window increment and largest lag, s. The lag increment is one sample.
    starts : array of int, optional
        Window start indices (into ``x``) to use instead of every ``step_s``.
    min_share : float
        Share of a window's samples both series must have (at every lag), else the row is NaN.

    Returns
    -------
    starts : array of int, shape (n_windows,)
        Start index of each window in ``x``.
    lags_s : array of float, shape (n_lags,)
        The lags, s, from ``-max_lag_s`` to ``+max_lag_s``.
    r : array of float, shape (n_windows, n_lags)
        Pearson's r of the linearly detrended window of ``x`` and ``y`` shifted by the lag:
        ``r[i, k] = corr(x[s_i : s_i + w], y[s_i + lag_k : s_i + lag_k + w])``. A positive lag
        pairs ``x`` with later ``y`` (``y`` follows ``x``).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = int(round(window_s * fs_hz))
    L = int(round(max_lag_s * fs_hz))
    n = x.size
    if starts is None:
        step = max(1, int(round(step_s * fs_hz)))
        starts = np.arange(L, n - w - L + 1, step, dtype=int)
    starts = np.asarray(starts, int)
    starts = starts[(starts - L >= 0) & (starts + w + L <= n)]
    lags = np.arange(-L, L + 1)
    r = np.full((starts.size, lags.size), np.nan)
    if starts.size == 0 or w < 3:
        return starts, lags / fs_hz, r
    idx = starts[:, None] + np.arange(w)[None, :]
    xs = x[idx]
    x_ok = np.isfinite(xs)
    for k, lag in enumerate(lags):
        ys = y[idx + lag]
        ok = x_ok & np.isfinite(ys)
        rows = ok.mean(axis=1) >= min_share
        if not rows.any():
            continue
        if min_share < 1.0:
            xa = _detrended_masked(xs[rows], ok[rows])
            ya = _detrended_masked(ys[rows], ok[rows])
        else:
            xa, ya = _detrended(xs[rows]), _detrended(ys[rows])
        num = (xa * ya).sum(axis=1)
        den = np.sqrt((xa * xa).sum(axis=1) * (ya * ya).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r[rows, k] = np.where(den > 0, num / den, np.nan)
    return starts, lags / fs_hz, r


def _peaks(r: np.ndarray, lags_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak r of each row and its lag; ties go to the lag nearest zero (Boker et al.'s peak
    picking starts from lag 0). A row with any lag missing has no peak: a peak over part of the
    lags would favour the lags that happen to be left."""
    peak = np.full(r.shape[0], np.nan)
    lag = np.full(r.shape[0], np.nan)
    ok = np.isfinite(r).all(axis=1) if r.shape[1] else np.zeros(r.shape[0], bool)
    if ok.any():
        order = np.argsort(np.abs(lags_s), kind="stable")
        rr = r[ok][:, order]
        k = np.argmax(rr, axis=1)
        peak[ok] = rr[np.arange(k.size), k]
        lag[ok] = lags_s[order][k]
    return peak, lag


def _fisher_mean(r: np.ndarray) -> float:
    v = r[np.isfinite(r)]
    if v.size == 0:
        return math.nan
    return float(np.mean(np.arctanh(np.clip(v, -0.999999, 0.999999))))


# -------------------------------------------------------------------------------------------
# the result
# -------------------------------------------------------------------------------------------
@dataclass
class DyadResult:
    """What :func:`dyad` returns.

    Attributes
    ----------
    rec_a, rec_b : Recording
        The cleaned recordings, each on its own clock.
    alignment : Alignment
        How B was put on A's clock.
    events : Events
        The session's events on A's clock (A's and B's, duplicates merged).
    series : pandas.DataFrame
        ``t_s`` (A's clock), ``hr_a``, ``hr_b`` (bpm), ``vagal_a``, ``vagal_b`` (ln(ms)).
    windows : pandas.DataFrame
        One row per series and window: :data:`WINDOW_COLUMNS`.
    wcc : dict
        Per series: ``(center_s, lags_s, r)``, the full cross-correlation matrix.
    phases : pandas.DataFrame
        One row per series and phase: :data:`PHASE_COLUMNS`.
    recovery : pandas.DataFrame
        Each partner's Recovery table (``partner`` column first; times on A's clock).
    coregulation : pandas.DataFrame
        Per stressor, direction (``from`` -> ``to``) and lag: the partner coefficient (bpm of
        change per bpm of partner arousal), the own coefficient, the partial correlation and n.
    config : DyadConfig
    labels : dict
        ``{"A": ..., "B": ...}``: the partners' subject ids or file names.
    provenance : dict
    """

    rec_a: Recording
    rec_b: Recording
    alignment: Alignment
    events: Events
    series: pd.DataFrame
    windows: pd.DataFrame
    wcc: dict
    phases: pd.DataFrame
    recovery: pd.DataFrame
    coregulation: pd.DataFrame
    config: DyadConfig
    labels: dict
    provenance: dict

    @property
    def simulated(self) -> bool:
        """True when either recording came from the simulator."""
        return bool(self.rec_a.meta.get("simulated") or self.rec_b.meta.get("simulated"))

    @property
    def start(self):
        """Datetime (UTC) of ``t_s = 0`` of the shared clock (A's start)."""
        return self.rec_a.start

    def to_json(self) -> dict[str, Any]:
        """``dyad.json``: config, alignment, labels, provenance and the per-phase table."""
        def plain(v: Any) -> Any:
            if isinstance(v, (np.floating, float)):
                return None if not math.isfinite(float(v)) else float(v)
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (np.bool_,)):
                return bool(v)
            return v

        return {
            "software": f"calmtrace {__version__}",
            "labels": self.labels,
            "alignment": dataclasses.asdict(self.alignment),
            "provenance": self.provenance,
            "config": self.config.to_dict(),
            "phases": [{k: plain(v) for k, v in row.items()} for row in self.phases.to_dict(orient="records")],
        }

    def write(self, out: str | os.PathLike) -> list[Path]:
        """Write ``series.csv``, ``synchrony_windows.csv``, ``synchrony_phases.csv``,
        ``recovery.csv``, ``coregulation.csv`` and ``dyad.json`` into ``out`` (each renamed into
        place)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        tables = {"series.csv": self.series, "synchrony_windows.csv": self.windows,
                  "synchrony_phases.csv": self.phases, "recovery.csv": self.recovery,
                  "coregulation.csv": self.coregulation}
        for name, df in tables.items():
            tmp = out / f".{name}.tmp"
            df.to_csv(tmp, index=False)
            os.replace(tmp, out / name)
            written.append(out / name)
        tmp = out / ".dyad.json.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, out / "dyad.json")
        written.append(out / "dyad.json")
        return written


# -------------------------------------------------------------------------------------------
# events and phases
# -------------------------------------------------------------------------------------------
def shared_events(rec_a: Recording, rec_b: Recording, b_offset_s: float, tolerance_s: float = 2.0) -> Events:
    """A's events and B's (moved onto A's clock), an event logged on both kept once.

    Two events are the same when label and kind agree and their onsets and durations differ by at
    most ``tolerance_s`` (the straps of one capture share the scripted events).
    """
    rows = list(rec_a.events)
    for e in rec_b.events:
        moved = Event(e.onset_s + b_offset_s, e.duration_s, e.label, e.kind, e.rating)
        if not any(r.label == moved.label and r.kind == moved.kind and abs(r.onset_s - moved.onset_s) <= tolerance_s
                   and abs(r.duration_s - moved.duration_s) <= tolerance_s for r in rows):
            rows.append(moved)
    return Events(rows)


def _phases(events: Events, t0: float, t1: float) -> pd.DataFrame:
    d = events.df
    d = d[d["kind"].isin(_PHASE_KINDS) & (d["duration_s"] > 0)].copy()
    d["onset_s"] = d["onset_s"].clip(lower=t0)
    d["offset_s"] = d["offset_s"].clip(upper=t1)
    return d[d["offset_s"] > d["onset_s"]].reset_index(drop=True)


# -------------------------------------------------------------------------------------------
# surrogates
# -------------------------------------------------------------------------------------------
def _phase_stat(x: np.ndarray, y: np.ndarray, starts: np.ndarray, fs: float, w_s: float, lag_s: float,
                share: float) -> float:
    _, lags, r = windowed_cross_correlation(x, y, fs, w_s, w_s, lag_s, starts=starts, min_share=share)
    peak, _ = _peaks(r, lags)
    return _fisher_mean(peak)


def _shifted(y: np.ndarray, a: int, b: int, rng: np.random.Generator, min_shift: int, how: str) -> np.ndarray | None:
    """y with its samples a:b replaced by a circular shift or a phase-randomised copy."""
    seg = y[a:b]
    n = seg.size
    out = y.copy()
    if how == "shift":
        if n - 2 * min_shift < 1:
            return None
        out[a:b] = np.roll(seg, int(rng.integers(min_shift, n - min_shift + 1)))
        return out
    finite = np.isfinite(seg)
    if finite.sum() < 8:
        return None
    filled = np.interp(np.arange(n), np.flatnonzero(finite), seg[finite])
    spec = np.fft.rfft(filled - filled.mean())
    phases = rng.uniform(0, 2 * np.pi, spec.size)
    phases[0] = 0.0
    if n % 2 == 0:
        phases[-1] = 0.0
    sur = np.fft.irfft(np.abs(spec) * np.exp(1j * phases), n) + filled.mean()
    sur[~finite] = np.nan
    out[a:b] = sur
    return out


# -------------------------------------------------------------------------------------------
# the analysis
# -------------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    """One session's aligned series, for the analysis and as pseudo-pair partner of others."""

    t_s: np.ndarray
    series: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (a, b)
    phases: pd.DataFrame
    alignment: Alignment
    events: Events
    rec_a: Recording
    rec_b: Recording


def _prepare(rec_a: Recording, rec_b: Recording, offset_s: float | None, cfg: DyadConfig) -> _Prepared:
    al = align(rec_a, rec_b, offset_s, cfg.min_overlap_s)
    ca, cb = clean(rec_a, cfg.clean), clean(rec_b, cfg.clean)
    dt = 1.0 / cfg.series_hz
    t0, t1 = al.overlap_s
    grid = np.arange(math.ceil(t0 * cfg.series_hz), math.floor(t1 * cfg.series_hz) + 1) * dt
    series = {
        "hr": (_hr_series(ca, grid, cfg), _hr_series(cb, grid - al.b_offset_s, cfg)),
        "vagal": (_vagal_series(ca, grid, cfg), _vagal_series(cb, grid - al.b_offset_s, cfg)),
    }
    events = shared_events(ca, cb, al.b_offset_s)
    return _Prepared(grid, series, _phases(events, float(grid[0]), float(grid[-1])), al, events, ca, cb)


def _from_result(res: "DyadResult", cfg: DyadConfig) -> _Prepared:
    """The prepared series of an earlier result (for pseudo-pairs without recomputing them)."""
    if res.config.series_hz != cfg.series_hz or res.config.hr_lowpass_hz != cfg.hr_lowpass_hz \
            or res.config.vagal_window_s != cfg.vagal_window_s:
        raise InputError("other sessions given as results must have the same series settings (series_hz, "
                         "hr_lowpass_hz, vagal_window_s) as this analysis")
    s = res.series
    t = s["t_s"].to_numpy(float)
    series = {"hr": (s["hr_a"].to_numpy(float), s["hr_b"].to_numpy(float)),
              "vagal": (s["vagal_a"].to_numpy(float), s["vagal_b"].to_numpy(float))}
    return _Prepared(t, series, _phases(res.events, float(t[0]), float(t[-1])), res.alignment, res.events,
                     res.rec_a, res.rec_b)


def _window_s(name: str, cfg: DyadConfig) -> float:
    return cfg.vagal_wcc_window_s if name == "vagal" else cfg.window_s


def _starts_in(t: np.ndarray, starts: np.ndarray, w: int, onset: float, offset: float) -> np.ndarray:
    begin = t[starts]
    end = t[np.minimum(starts + w - 1, t.size - 1)]
    return starts[(begin >= onset - 1e-9) & (end <= offset + 1e-9)]


def _holm(p: np.ndarray) -> np.ndarray:
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adj
    return out


def _synchrony(prep: _Prepared, others: Sequence[_Prepared], cfg: DyadConfig
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    fs, t = cfg.series_hz, prep.t_s
    rng = np.random.default_rng(cfg.seed)
    win_rows, phase_rows, wcc = [], [], {}
    for name, (x, y) in prep.series.items():
        w_s = _window_s(name, cfg)
        w = int(round(w_s * fs))
        starts, lags, r = windowed_cross_correlation(x, y, fs, w_s, cfg.step_s, cfg.max_lag_s,
                                                     min_share=cfg.min_window_share)
        peak, lag = _peaks(r, lags)
        centre = t[starts] + (w - 1) / (2 * fs) if starts.size else np.array([])
        wcc[name] = (centre, lags, r)
        for s_i, c, p, lg, r0 in zip(starts, centre, peak, lag, r[:, lags.size // 2] if starts.size else []):
            leader = "" if not math.isfinite(lg) else ("A" if lg > 0 else "B" if lg < 0 else "same time")
            win_rows.append({"series": name, "start_s": float(t[s_i]), "end_s": float(t[s_i] + w / fs),
                             "center_s": float(c), "peak_r": float(p), "peak_lag_s": float(lg),
                             "r_lag0": float(r0), "leader": leader})
        rows = []
        for ph in prep.phases.itertuples(index=False):
            ps = _starts_in(t, starts, w, ph.onset_s, ph.offset_s)
            sel = np.isin(starts, ps)
            pk, lg = peak[sel], lag[sel]
            okk = np.isfinite(pk)
            row: dict[str, Any] = {"series": name, "phase": ph.label, "kind": ph.kind, "onset_s": float(ph.onset_s),
                                   "offset_s": float(ph.offset_s), "n_windows": int(okk.sum())}
            mz = _fisher_mean(pk)
            row.update(synchrony_r=math.tanh(mz) if math.isfinite(mz) else math.nan, mean_z=mz,
                       median_lag_s=float(np.median(lg[okk])) if okk.any() else math.nan,
                       share_a_leads=float(np.mean(lg[okk] > 0)) if okk.any() else math.nan,
                       share_b_leads=float(np.mean(lg[okk] < 0)) if okk.any() else math.nan,
                       share_same_time=float(np.mean(lg[okk] == 0)) if okk.any() else math.nan)
            row.update(_surrogate_test(prep, others, name, ph, ps, mz, cfg, rng))
            rows.append(row)
        p = np.array([r_["p"] for r_ in rows], float)
        adj = _holm(p)
        for r_, a in zip(rows, adj):
            r_["p_holm"] = float(a)
            r_["exceeds_chance"] = bool(math.isfinite(a) and a < cfg.alpha)
        phase_rows += rows
    windows = pd.DataFrame(win_rows, columns=list(WINDOW_COLUMNS))
    phases = pd.DataFrame(phase_rows, columns=list(PHASE_COLUMNS))
    return windows, phases, wcc


def _surrogate_test(prep: _Prepared, others: Sequence[_Prepared], name: str, ph: Any, starts: np.ndarray,
                    real_z: float, cfg: DyadConfig, rng: np.random.Generator) -> dict[str, Any]:
    fs, t = cfg.series_hz, prep.t_s
    w_s = _window_s(name, cfg)
    nothing = {"surrogate": "", "n_surrogates": 0, "surrogate_mean_r": math.nan, "surrogate_q95_r": math.nan,
               "p": math.nan, "p_holm": math.nan, "exceeds_chance": False}
    if starts.size == 0 or not math.isfinite(real_z):
        return {**nothing, "note": "no complete window inside this phase (gaps, invalid windows, or a phase "
                                   "shorter than a window)"}
    x, y = prep.series[name]
    stats: list[float] = []
    kind = cfg.surrogate
    if kind in ("auto", "pseudo"):
        stats = _pseudo_stats(prep, others, name, ph, cfg, rng)
        if kind == "auto":
            kind = "pseudo" if len(stats) >= cfg.min_pseudo_pairs else "shift"
        if kind == "pseudo" and not stats:
            return {**nothing, "note": f"no other session has a phase '{ph.label}' for pseudo-pairs"}
    if kind in ("shift", "phase"):
        stats = []
        a = int(np.searchsorted(t, ph.onset_s - 1e-9))
        b = int(np.searchsorted(t, ph.offset_s + 1e-9))
        for _ in range(cfg.n_surrogates):
            ys = _shifted(y, a, b, rng, int(round(cfg.min_shift_s * fs)), kind)
            if ys is None:
                return {**nothing, "note": f"phase too short for {kind} surrogates "
                                           f"(needs more than {2 * cfg.min_shift_s:g} s)"}
            stats.append(_phase_stat(x, ys, starts, fs, w_s, cfg.max_lag_s, cfg.min_window_share))
    v = np.array([s for s in stats if math.isfinite(s)])
    if v.size == 0:
        return {**nothing, "surrogate": kind, "note": "no surrogate could be computed"}
    k = int(np.sum(v >= real_z))
    note = ""
    if v.size < cfg.min_pseudo_pairs and kind == "pseudo":
        note = (f"only {v.size} pseudo-pairs: p cannot fall below {1 / (1 + v.size):.3f} "
                f"(at least {cfg.min_pseudo_pairs} are needed for a test at this level)")
    return {"surrogate": kind, "n_surrogates": int(v.size), "surrogate_mean_r": math.tanh(float(v.mean())),
            "surrogate_q95_r": math.tanh(float(np.quantile(v, 0.95))), "p": (1 + k) / (1 + v.size),
            "note": note}


def _phase_span(o: _Prepared, ph: Any) -> tuple[int, int] | None:
    match = o.phases[(o.phases["label"] == ph.label) & (o.phases["kind"] == ph.kind)]
    if len(match) == 0:
        return None
    m = match.iloc[0]
    return int(np.searchsorted(o.t_s, m["onset_s"] - 1e-9)), int(np.searchsorted(o.t_s, m["offset_s"] + 1e-9))


def _pseudo_stats(prep: _Prepared, others: Sequence[_Prepared], name: str, ph: Any, cfg: DyadConfig,
                  rng: np.random.Generator) -> list[float]:
    """Synchrony of pseudo-pairs in this phase: partner A of one session with partner B of
    another, each pair aligned on the phase's onset (Moulder et al. 2018's pseudo-couples).

    Pairs with this session's A or B come first; the rest of the pool (A of one other session
    with B of a third) is drawn at random, up to ``n_surrogates`` pairs in all.
    """
    fs = cfg.series_hz
    w_s = _window_s(name, cfg)
    w = int(round(w_s * fs))
    L = int(round(cfg.max_lag_s * fs))
    step = max(1, int(round(cfg.step_s * fs)))
    pool = [(prep, _phase_span(prep, ph))] + [(o, _phase_span(o, ph)) for o in others]
    pool = [(o, sp) for o, sp in pool if sp is not None and sp[1] - sp[0] >= w]
    if not pool or pool[0][0] is not prep:
        return []
    own = [(0, j) for j in range(1, len(pool))] + [(j, 0) for j in range(1, len(pool))]
    rest = [(i, j) for i in range(1, len(pool)) for j in range(1, len(pool)) if i != j]
    room = max(cfg.n_surrogates - len(own), 0)
    if len(rest) > room:
        rest = [rest[k] for k in sorted(rng.choice(len(rest), size=room, replace=False))]
    out = []
    for i, j in (own + rest)[: max(cfg.n_surrogates, len(own))]:
        (oa, (a0, a1)), (ob, (b0, b1)) = pool[i], pool[j]
        sx, sy = oa.series[name][0], ob.series[name][1]
        n = min(a1 - a0, b1 - b0)
        lo = min(L, a0, b0)
        hi = min(L, sx.size - (a0 + n), sy.size - (b0 + n))
        xs = sx[a0 - lo:a0 + n + hi]
        ys = sy[b0 - lo:b0 + n + hi]
        st = np.arange(lo, lo + n - w + 1, step)
        st = st[(st - L >= 0) & (st + w + L <= xs.size)]
        if st.size:
            out.append(_phase_stat(xs, ys, st, fs, w_s, cfg.max_lag_s, cfg.min_window_share))
    return [s for s in out if math.isfinite(s)]


def _recovery(prep: _Prepared, labels: dict, cfg: DyadConfig) -> pd.DataFrame:
    frames = []
    for who, rec, off in (("A", prep.rec_a, 0.0), ("B", prep.rec_b, prep.alignment.b_offset_s)):
        if rec.duration_s < 60.0 or len(rec.beats) < 3:
            continue
        win = windowed_hrv(rec, window_s=60.0, step_s=5.0)
        ev = prep.events.shifted(-off)
        rc = assess_recovery(win, ev, cfg.recovery, beats=rec.beats)
        for c in ("onset_s", "offset_s", "peak_time_s", "baseline_start_s", "baseline_end_s"):
            if c in rc:
                rc[c] = rc[c] + off
        rc.insert(0, "partner", who)
        rc.insert(1, "subject", labels[who])
        frames.append(rc)
    if not frames:
        return pd.DataFrame(columns=["partner", "subject"])
    return pd.concat(frames, ignore_index=True)


_COREG_COLUMNS = ("stressor", "from", "to", "lag_s", "partner_coef", "own_coef", "partial_r", "n", "span_start_s",
                  "span_end_s", "note")


def _coregulation(prep: _Prepared, recovery: pd.DataFrame, cfg: DyadConfig) -> pd.DataFrame:
    """Cross-lagged regression of each partner's heart-rate change on their own arousal and the
    other's arousal ``lag`` earlier, over the recovery span after each stressor.

    Both partners recover from the same stressor at the same time, so the time since its end alone
    would make one partner's arousal predict the other's change. The regression therefore also
    holds each partner's own recovery curve, ``exp(-t / tau)`` with the tau the recovery
    assessment fitted, and a linear term in ``t`` constant: the partner coefficient describes how
    moment-to-moment departures of X's arousal go with Y's heart-rate change beyond both curves.
    """
    rows = []
    hr_a, hr_b = prep.series["hr"]
    t = prep.t_s
    st_ev = prep.events.stressors()
    hr_rows = recovery[recovery["metric"] == "mean_hr_bpm"] if len(recovery) and "metric" in recovery else recovery
    stride = max(1, int(round(cfg.coreg_step_s * cfg.series_hz)))
    for k, st in st_ev.iterrows():
        nxt = st_ev["onset_s"].iloc[k + 1] if k + 1 < len(st_ev) else math.inf
        span0 = float(st["offset_s"])
        span1 = float(min(span0 + cfg.recovery.horizon_s, nxt, t[-1]))
        base, tau = {}, {}
        for who in ("A", "B"):
            r = hr_rows[(hr_rows["partner"] == who) & np.isclose(hr_rows["onset_s"], st["onset_s"], atol=2.0)
                        & (hr_rows["event_label"] == st["label"])] if len(hr_rows) else hr_rows
            base[who] = float(r["baseline_mean"].iloc[0]) if len(r) else math.nan
            tau[who] = float(r["tau_s"].iloc[0]) if len(r) else math.nan
        arousal = {"A": hr_a - base["A"], "B": hr_b - base["B"]}
        level = {"A": hr_a, "B": hr_b}
        for frm, to in (("A", "B"), ("B", "A")):
            for lag in cfg.coreg_lags_s:
                row = {"stressor": st["label"], "from": frm, "to": to, "lag_s": lag, "span_start_s": span0,
                       "span_end_s": span1}
                empty = {"partner_coef": math.nan, "own_coef": math.nan, "partial_r": math.nan}
                if not math.isfinite(base[to]) or not math.isfinite(base[frm]):
                    rows.append({**row, **empty, "n": 0, "note": "no baseline heart rate for one partner"})
                    continue
                lag_n = int(round(lag * cfg.series_hz))
                i = np.flatnonzero((t >= span0) & (t + cfg.coreg_step_s <= span1))[::stride]
                i = i[(i - lag_n >= 0) & (i + stride < t.size)]
                dy = level[to][i + stride] - level[to][i]
                own = arousal[to][i]
                other = arousal[frm][i - lag_n]
                since = t[i] - span0
                curves = [np.exp(-since / tau[w]) for w in dict.fromkeys((to, frm)) if math.isfinite(tau[w])]
                missing = [w for w in dict.fromkeys((to, frm)) if not math.isfinite(tau[w])]
                ok = np.isfinite(dy) & np.isfinite(own) & np.isfinite(other)
                n = int(ok.sum())
                n_par = 4 + len(curves)
                if n < n_par + 5:
                    rows.append({**row, **empty, "n": n,
                                 "note": f"{n} usable samples in the recovery span, fewer than {n_par + 5}"})
                    continue
                covars = np.column_stack([np.ones(n), own[ok], since[ok] / 60.0] + [c[ok] for c in curves])
                X = np.column_stack([covars, other[ok]])
                coef, *_ = np.linalg.lstsq(X, dy[ok], rcond=None)
                res_y = dy[ok] - covars @ np.linalg.lstsq(covars, dy[ok], rcond=None)[0]
                res_x = other[ok] - covars @ np.linalg.lstsq(covars, other[ok], rcond=None)[0]
                den = math.sqrt(float(res_y @ res_y) * float(res_x @ res_x))
                note = (f"without the recovery curve of {', '.join(missing)} (no tau was fitted)" if missing else "")
                rows.append({**row, "partner_coef": float(coef[-1]), "own_coef": float(coef[1]),
                             "partial_r": float(res_y @ res_x) / den if den > 0 else math.nan, "n": n, "note": note})
    return pd.DataFrame(rows, columns=list(_COREG_COLUMNS))


def _label(rec: Recording, who: str) -> str:
    return str(rec.meta.get("subject") or rec.meta.get("subject_id") or rec.meta.get("source_file") or f"partner {who}")


def dyad(rec_a: Recording, rec_b: Recording, config: DyadConfig | None = None, *, offset_s: float | None = None,
         others: Sequence[tuple[Recording, Recording]] | None = None, source: Any = None) -> DyadResult:
    """Synchrony and co-regulation of two people recorded on one clock (a couples session).

    Parameters
    ----------
    rec_a, rec_b : Recording
        Partner A and partner B (for example the two folders of a couples capture).
    config : DyadConfig, optional
        Every parameter, with its source (see :class:`DyadConfig`).
    offset_s : float, optional
        B started this many seconds after A. Without it the recordings' start times are used;
        give it where those cannot be trusted.
    others : sequence of (Recording, Recording) or DyadResult, optional
        Other couples sessions with the same phases (same event labels), for pseudo-pair
        surrogates; their clocks are aligned the same way (without a stated offset). Earlier
        results of :func:`dyad` (same series settings) are used as they are.
    source : optional
        Where the recordings came from, written into the provenance.

    Returns
    -------
    DyadResult

    Raises
    ------
    InputError
        When the clocks cannot be aligned (see :func:`align`).
    AnalysisError
        When a partner has too few beats.

    Examples
    --------
    >>> from calmtrace.signals.dyad_sim import simulate_dyad
    >>> a, b = simulate_dyad(seed=1, coupling=0.6, lag_s=5)
    >>> res = dyad(a, b)                                          # doctest: +SKIP
    >>> res.phases[["series", "phase", "synchrony_r", "median_lag_s", "exceeds_chance"]]  # doctest: +SKIP
    """
    cfg = config or DyadConfig()
    if not isinstance(cfg, DyadConfig):
        raise InputError(f"config must be a DyadConfig, got {type(cfg).__name__}")
    for rec, who in ((rec_a, "A"), (rec_b, "B")):
        if not isinstance(rec, Recording):
            raise InputError(f"partner {who} must be a Recording, got {type(rec).__name__}")
        if len(rec.beats) < 3:
            raise AnalysisError(f"partner {who} ({_label(rec, who)}) has {len(rec.beats)} beats; at least 3 are "
                                "needed for any heart-rate series")
    prep = _prepare(rec_a, rec_b, offset_s, cfg)
    other_preps = []
    for k, other in enumerate(others or []):
        if isinstance(other, DyadResult):
            other_preps.append(_from_result(other, cfg))
            continue
        try:
            other_preps.append(_prepare(other[0], other[1], None, cfg))
        except InputError as exc:
            log.warning("other session %d left out of the pseudo-pairs: %s", k + 1, exc)
    labels = {"A": _label(rec_a, "A"), "B": _label(rec_b, "B")}
    windows, phases, wcc = _synchrony(prep, other_preps, cfg)
    recovery = _recovery(prep, labels, cfg)
    coreg = _coregulation(prep, recovery, cfg)
    series = pd.DataFrame({"t_s": prep.t_s, "hr_a": prep.series["hr"][0], "hr_b": prep.series["hr"][1],
                           "vagal_a": prep.series["vagal"][0], "vagal_b": prep.series["vagal"][1]})
    provenance = {"software_version": __version__, "source": [str(s) for s in source] if isinstance(source, (list, tuple))
                  else (str(source) if source is not None else None),
                  "start_a": rec_a.start.isoformat(), "start_b": rec_b.start.isoformat(),
                  "simulated": bool(rec_a.meta.get("simulated") or rec_b.meta.get("simulated")),
                  "n_other_sessions": len(other_preps)}
    log.info("dyad: %d windows, %d phases, %s", len(windows), len(phases) // max(1, len(SERIES)), prep.alignment.note)
    return DyadResult(prep.rec_a, prep.rec_b, prep.alignment, prep.events, series, windows, wcc, phases, recovery,
                      coreg, cfg, labels, provenance)
