"""From heart rate to heartbeats: the random drive, the IPFM beat generator and a synthetic ECG.

Steps 2 and 3 of the simulator (the overview is in :mod:`calmtrace.signals.simulate`).
:class:`Drive` adds respiratory sinus arrhythmia, Mayer waves and 1/f noise to the mean curve of
:mod:`calmtrace.signals.protocol`::

    HR(t) = base + L(t)                                  mean curve
          + rsa * V(t) * G(t) * J(t) * sin(phase_breathing(t))   respiratory sinus arrhythmia (HF)
          + mayer(t)                                     Mayer waves, narrow band at ~0.1 Hz (LF)
          + pink(t)                                      1/f noise (Kobayashi & Musha 1982)

:func:`ipfm_beats` fires a beat each time the integral of HR/60 (Hz) reaches a whole number, and
``_drive_beats`` runs it over a whole session on the ``fs_hz`` grid, one hour of grid at a time.
:func:`ecg_from_beats` draws an ECG with an R peak at each beat time, for the virtual strap.

References (cited where used): Kobayashi & Musha 1982 (1/f noise); Bayly 1968 and Mateo & Laguna
2000 (the IPFM model); McSharry et al. 2003 (the P-QRS-T wave shapes).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import signal

from .protocol import _COARSE_HZ, Segment, SimParams, _plan, _segment_index, _states

__all__ = ["Drive", "hr_drive", "ipfm_beats", "ecg_from_beats"]

_PRE_ROLL_S = 3.0  # simulated before t = 0 so the first beat has a real preceding interval
_CHUNK_S = 3600.0  # fine-grid integration is done one hour at a time


# -------------------------------------------------------------------------------------------
# the full drive, with its random components
# -------------------------------------------------------------------------------------------
def _pink(rng: np.random.Generator, n: int, fs_hz: float) -> np.ndarray:
    """Unit-variance 1/f noise of n samples (random-phase spectrum with amplitude 1/sqrt(f))."""
    if n < 4:
        return np.zeros(n)
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)
    amp = np.zeros_like(f)
    amp[1:] = 1.0 / np.sqrt(f[1:])
    spec = amp * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    x = np.fft.irfft(spec, n)
    sd = x.std()
    return x / sd if sd > 0 else x


def _smooth_unit(rng: np.random.Generator, n: int, fs_hz: float, cutoff_hz: float) -> np.ndarray:
    """Unit-variance low-pass Gaussian noise (slow wandering), n samples."""
    if n < 16:
        return np.zeros(n)
    sos = signal.butter(2, cutoff_hz, btype="lowpass", fs=fs_hz, output="sos")
    x = signal.sosfiltfilt(sos, rng.standard_normal(n))
    sd = x.std()
    return x / sd if sd > 0 else x


class Drive:
    """The instantaneous heart rate of one simulated session, evaluable at any time.

    The random components (1/f noise, Mayer waves, breathing-rate and RSA-amplitude wandering, the
    breathing phase) are drawn once, on a 4 Hz grid covering the protocol, from ``seed``; calling
    the drive interpolates them, so any two evaluations of the same drive agree.

    Parameters
    ----------
    protocol : sequence of Segment
    params : SimParams
    seed : int
        Seed of the drive's random stream (``numpy.random.default_rng([seed, 0])``).
    """

    def __init__(self, protocol: Sequence[Segment], params: SimParams, seed: int) -> None:
        self.protocol = list(protocol)
        self.params = params
        self.duration_s = float(sum(s.duration_s for s in self.protocol))
        self._plan = _plan(self.protocol, params)
        rng = np.random.default_rng([int(seed), 0])
        self.phase0 = float(rng.uniform())  # IPFM integral at the start of the pre-roll
        self._breath_phase0 = float(rng.uniform())
        t0 = -_PRE_ROLL_S - 1.0
        n = int(math.ceil((self.duration_s + _PRE_ROLL_S + 2.0) * _COARSE_HZ)) + 1
        self._tc = t0 + np.arange(n) / _COARSE_HZ
        self._noise = params.noise_bpm * _pink(rng, n, _COARSE_HZ)
        lo = params.mayer_hz - params.mayer_bandwidth_hz / 2
        hi = params.mayer_hz + params.mayer_bandwidth_hz / 2
        sos = signal.butter(2, [lo, hi], btype="bandpass", fs=_COARSE_HZ, output="sos")
        mayer = signal.sosfiltfilt(sos, rng.standard_normal(n)) if n > 16 else np.zeros(n)
        sd = mayer.std()
        self._mayer = params.mayer_bpm / math.sqrt(2.0) * (mayer / sd if sd > 0 else mayer)
        # breathing rate wanders slowly (< 0.02 Hz) around its target; integrate the deviation
        dev = params.breathing_jitter * _smooth_unit(rng, n, _COARSE_HZ, 0.02)
        f_b = self._plan.breath_hz[_segment_index(self._plan, self._tc)]
        self._extra_cycles = np.concatenate(([0.0], np.cumsum(f_b * dev)[:-1])) / _COARSE_HZ
        self._jitter = np.maximum(1.0 + params.rsa_jitter * _smooth_unit(rng, n, _COARSE_HZ, 0.02), 0.0)

    def _breathing_cycles(self, t: np.ndarray, k: np.ndarray) -> np.ndarray:
        plan = self._plan
        base = plan.breath_phase0[k] + plan.breath_hz[k] * (t - plan.onset_s[k])
        # plus the cycles added by the slow wandering of the rate (its integral on the coarse grid)
        return self._breath_phase0 + base + np.interp(t, self._tc, self._extra_cycles)

    def components(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Every component of the drive at times ``t_s`` (s), in bpm unless stated.

        Returns
        -------
        dict
            ``mean`` (base + L), ``rise`` (L), ``vagal`` (V, dimensionless), ``rsa``, ``mayer``,
            ``noise``, ``breathing_hz`` (Hz) and ``hr`` (their sum, floored at ``min_hr_bpm``).
        """
        t = np.asarray(t_s, float)
        p = self.params
        k, rise, vagal = _states(self._plan, t)
        cycles = self._breathing_cycles(t, k)
        amp = p.rsa_bpm * vagal * self._plan.rsa_gain[k] * np.interp(t, self._tc, self._jitter)
        rsa = amp * np.sin(2.0 * np.pi * cycles)
        mayer = np.interp(t, self._tc, self._mayer)
        noise = np.interp(t, self._tc, self._noise)
        mean = p.base_hr_bpm + rise
        hr = np.maximum(mean + rsa + mayer + noise, p.min_hr_bpm)
        return {"mean": mean, "rise": rise, "vagal": vagal, "rsa": rsa, "mayer": mayer, "noise": noise,
                "breathing_hz": self._plan.breath_hz[k], "hr": hr}

    def __call__(self, t_s: np.ndarray) -> np.ndarray:
        """Instantaneous heart rate in bpm at times ``t_s`` (s)."""
        return self.components(t_s)["hr"]


def hr_drive(t_s: np.ndarray, protocol: Sequence[Segment], params: SimParams | None = None,
             seed: int = 1) -> np.ndarray:
    """Instantaneous heart rate in bpm that drives the IPFM model.

    Parameters
    ----------
    t_s : array of float
        Times in s since the start of the protocol.
    protocol : sequence of Segment
    params : SimParams, optional
        Defaults to ``SimParams()``.
    seed : int
        Seed of the random components; :func:`simulate` with the same seed, protocol and
        parameters uses exactly this drive.

    Returns
    -------
    numpy.ndarray
        HR in bpm (mean curve + RSA + Mayer waves + 1/f noise).
    """
    return Drive(protocol, params or SimParams(), seed)(t_s)


# -------------------------------------------------------------------------------------------
# IPFM
# -------------------------------------------------------------------------------------------
def ipfm_beats(t_s: np.ndarray, hr_bpm: np.ndarray, phase0: float = 0.0,
               return_phase: bool = False) -> np.ndarray | tuple[np.ndarray, float]:
    """Beat times of the integral pulse frequency modulation model (Bayly 1968).

    A beat fires each time the integral of the instantaneous rate ``hr_bpm / 60`` (Hz) passes a
    whole number. The integral is a cumulative trapezoid sum on the grid ``t_s``; the crossing
    time is interpolated linearly between the two grid points around it.

    Parameters
    ----------
    t_s : array of float
        Increasing grid times in s (e.g. 100 Hz).
    hr_bpm : array of float
        Instantaneous heart rate in bpm on that grid, > 0.
    phase0 : float
        Value of the integral (in beats, 0-1) at ``t_s[0]``: the share of an interval already
        elapsed.
    return_phase : bool
        Also return the fractional integral at ``t_s[-1]``, to continue on the next grid chunk.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, float)
        Beat times in s, and optionally the phase at the end.
    """
    t = np.asarray(t_s, float)
    rate = np.asarray(hr_bpm, float) / 60.0
    if t.size < 2:
        beats = np.array([], float)
        return (beats, float(phase0)) if return_phase else beats
    steps = 0.5 * (rate[1:] + rate[:-1]) * np.diff(t)
    integral = float(phase0) + np.concatenate(([0.0], np.cumsum(steps)))
    levels = np.arange(math.floor(integral[0]) + 1, math.floor(integral[-1]) + 1, dtype=float)
    j = np.clip(np.searchsorted(integral, levels, side="left"), 1, t.size - 1)
    frac = (levels - integral[j - 1]) / (integral[j] - integral[j - 1])
    beats = t[j - 1] + frac * (t[j] - t[j - 1])
    end = float(integral[-1] - math.floor(integral[-1]))
    return (beats, end) if return_phase else beats


def _drive_beats(drive: Drive) -> np.ndarray:
    """Beat times (s) of a drive from the pre-roll to its end, integrated one chunk at a time."""
    fs = drive.params.fs_hz
    n_total = int(math.ceil((drive.duration_s + _PRE_ROLL_S) * fs))
    per_chunk = int(_CHUNK_S * fs)
    out, phase = [], drive.phase0
    for i0 in range(0, n_total, per_chunk):
        idx = np.arange(i0, min(i0 + per_chunk, n_total) + 1)
        t = -_PRE_ROLL_S + idx / fs
        beats, phase = ipfm_beats(t, drive(t), phase, return_phase=True)  # type: ignore[misc]
        out.append(beats)
    return np.concatenate(out) if out else np.array([], float)


# -------------------------------------------------------------------------------------------
# a synthetic ECG at the beat times
# -------------------------------------------------------------------------------------------
#: Waves of one synthetic heartbeat: (name, offset from the R peak in s, width in s, amplitude in uV),
#: shaped after the P-QRS-T Gaussians of McSharry et al. (2003, IEEE Trans Biomed Eng 50:289).
_ECG_WAVES = (("P", -0.20, 0.025, 120.0), ("Q", -0.03, 0.010, -150.0), ("R", 0.0, 0.012, 1200.0),
              ("S", 0.03, 0.010, -250.0), ("T", 0.25, 0.045, 300.0))


def ecg_from_beats(t_s: np.ndarray, fs_hz: float = 130.0, duration_s: float | None = None) -> np.ndarray:
    """A synthetic ECG (microvolts) with an R peak at every beat time, for the virtual strap's ECG.

    Each beat is a sum of Gaussian P, Q, R, S and T waves (after McSharry et al. 2003); it is a test
    signal with the right timing for R-peak detection, not a model of cardiac electrophysiology.

    Parameters
    ----------
    t_s : array of float
        Beat (R-peak) times, s.
    fs_hz : float
        Sampling rate, Hz (130 Hz, the Polar H10's ECG rate).
    duration_s : float, optional
        Length of the signal, s; by default up to the last beat plus 0.5 s.

    Returns
    -------
    numpy.ndarray of int
        Samples in microvolts, starting at t = 0.
    """
    t_s = np.asarray(t_s, dtype=float)
    end = float(duration_s) if duration_s is not None else (float(t_s[-1]) + 0.5 if t_s.size else 0.0)
    grid = np.arange(int(round(end * fs_hz))) / fs_hz
    ecg = np.zeros_like(grid)
    for _name, offset, width, amp in _ECG_WAVES:
        centres = t_s + offset
        lo = np.searchsorted(grid, centres - 5 * width)
        hi = np.searchsorted(grid, centres + 5 * width)
        for c, a, b in zip(centres, lo, hi):
            seg = grid[a:b]
            ecg[a:b] += amp * np.exp(-0.5 * ((seg - c) / width) ** 2)
    return np.rint(ecg).astype(int)
