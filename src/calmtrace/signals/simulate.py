"""Physiological RR generator for scripted stress-recovery protocols.

A simulated session is built in four steps, each a function of its own:

1. **Protocol** (:class:`Segment`, :func:`scenario_protocol`): a list of contiguous segments
   (baseline, stressor, intervention, recovery), each with the mean heart-rate rise it drives,
   how much vagal (HF) modulation it withdraws, the breathing rate and, for stressors, the
   recovery time constant after it.
2. **Drive** (:func:`mean_hr`, :func:`hr_drive`): the instantaneous heart rate in bpm::

       HR(t) = base + L(t)                                  mean curve
             + rsa * V(t) * G(t) * J(t) * sin(phase_breathing(t))   respiratory sinus arrhythmia (HF)
             + mayer(t)                                     Mayer waves, narrow band at ~0.1 Hz (LF)
             + pink(t)                                      1/f noise (Kobayashi & Musha 1982)

   ``L`` (bpm above baseline) and ``V`` (vagal scale, 1 at rest) are first-order states that
   approach each segment's targets exponentially. In a stressor they approach ``amp_bpm`` and
   ``1 - hf_withdrawal`` with the rise time constant; after the stressor they return with its
   recovery time constant ``tau_s``, so after a stressor that ends at ``t_end``::

       HR_mean(t) = base + L(t_end) * exp(-(t - t_end) / tau_s)
       V(t)       = 1 - (1 - V(t_end)) * exp(-(t - t_end) / tau_s)

   ``L(t_end)`` equals ``amp_bpm`` to within ``exp(-duration / rise)`` (1e-6 or less in the
   scenarios). The same form is the heart-rate recovery after exercise (a single exponential, as
   fitted by Imai et al. 1994 and Pecanha et al. 2017); its implied HRR60 (Cole et al. 1999: HR at
   the end of effort minus HR one minute later) is ``L(t_end) * (1 - exp(-60 / tau_s))`` and is
   written to ``meta["truth"]``. ``G`` is the RSA gain of paced breathing (resonance breathing at
   6/min enlarges RSA; Lehrer et al. 2000, Vaschillo et al. 2002), ``J`` a slow amplitude jitter.
3. **Beats** (:func:`ipfm_beats`): the integral pulse frequency modulation model (Bayly 1968;
   Mateo & Laguna 2000) fires a beat each time the integral of HR/60 (Hz) reaches 1. The drive is
   integrated on a fine grid (``fs_hz``, 100 Hz) with a cumulative trapezoid sum; beat times are
   interpolated between grid points (``searchsorted``), one hour of grid at a time, so memory
   stays bounded and a 24-h recording takes a few seconds.
4. **Strap** (:func:`simulate`): beat times rounded to the strap's resolution (1 ms), optional
   disconnect gaps and artefacts (ectopic, missed, extra beats), events from the segments, and
   the true parameters in ``meta["truth"]``. Nothing is flagged: raw strap data is all ``ok``.

Randomness comes from three independent :class:`numpy.random.Generator` streams seeded with
``[seed, 0]`` (drive), ``[seed, 1]`` (gaps) and ``[seed, 2]`` (artefacts), so the same seed gives
the same beats with or without artefacts and gaps.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import signal

from ..errors import InputError
from ..events import EVENT_KINDS, Event, Events
from ..recording import Recording

__all__ = [
    "DEFAULT_START",
    "SCENARIOS",
    "ARTIFACT_TYPES",
    "SimParams",
    "Segment",
    "Drive",
    "scenario_protocol",
    "protocol_events",
    "mean_hr",
    "vagal_scale",
    "hr_drive",
    "ipfm_beats",
    "simulate",
    "simulate_protocol",
    "simulate_series",
    "ecg_from_beats",
]

log = logging.getLogger(__name__)

#: Default start of a simulated session: a fixed Monday morning in UTC, so output is deterministic.
DEFAULT_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)

#: The scenarios :func:`simulate` knows, with a one-line description.
SCENARIOS: dict[str, str] = {
    "tsst": "5 min baseline, 5 min speech, 5 min arithmetic, 15 min recovery (Trier Social Stress Test)",
    "breathing": "baseline, stressor then paced breathing at 6/min, a second stressor without, recoveries",
    "exercise": "5 min rest, 10 min effort, 10 min heart-rate recovery",
    "rest": "one baseline segment of duration_s (default 3600 s)",
}

#: Artefact types :func:`simulate` can put into the beats (Lipponen & Tarvainen 2019).
ARTIFACT_TYPES: tuple[str, ...] = ("ectopic", "missed", "extra")

_PRE_ROLL_S = 3.0  # simulated before t = 0 so the first beat has a real preceding interval
_COARSE_HZ = 4.0  # grid of the random components (all below 0.5 Hz), interpolated to fs_hz
_CHUNK_S = 3600.0  # fine-grid integration is done one hour at a time


# -------------------------------------------------------------------------------------------
# parameters and protocol
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimParams:
    """Physiology of the simulated person and the sampling of the simulation.

    Parameters
    ----------
    base_hr_bpm : float
        Resting mean heart rate in bpm. Default 65, inside the 60-80 bpm typical of resting adults
        (Task Force 1996 uses RR ~ 1 s as its reference).
    breathing_hz : float
        Spontaneous breathing rate in Hz. Default 0.25 (15/min), in the middle of the HF band
        0.15-0.4 Hz (Task Force 1996).
    rsa_bpm : float
        Peak amplitude of respiratory sinus arrhythmia at rest, in bpm. Default 3.0, which gives a
        resting RMSSD near 40 ms, close to the adult mean of 42 ms (Nunan, Sandercock & Brodie 2010).
    mayer_bpm : float
        Amplitude (sine equivalent, RMS * sqrt 2) of the Mayer waves in bpm. Default 1.5, so LF and
        HF power are of the same order at rest (LF/HF ~ 1-2, Nunan et al. 2010).
    mayer_hz : float
        Centre frequency of the Mayer waves in Hz. Default 0.1 (Julien 2006).
    mayer_bandwidth_hz : float
        Width of the Mayer-wave band in Hz (Butterworth band-pass, 2nd order). Default 0.04, which
        keeps the peak inside the LF band 0.04-0.15 Hz (Task Force 1996).
    noise_bpm : float
        Standard deviation of the 1/f heart-rate noise in bpm (Kobayashi & Musha 1982). Default 0.5,
        a modelling choice: slow drift of this size leaves a single recovery's tau identifiable
        (median error ~4 % over seeds with 5-s bins), larger drift makes it a coin toss.
    breathing_jitter : float
        Relative standard deviation of the breathing rate around its target (slow wandering).
        Default 0.05, a modelling choice that broadens the HF peak a little.
    rsa_jitter : float
        Relative standard deviation of the slow RSA amplitude fluctuation. Default 0.15, a
        modelling choice.
    rise_tau_s : float
        Time constant in s with which HR and vagal withdrawal reach a stressor's targets. Default
        20 s: the HR response to mental stress is complete within the first minute (Allen et al.
        2014 review of TSST responses).
    paced_rsa_gain : float
        Factor on RSA amplitude during paced breathing at the resonance frequency (~6/min).
        Default 2.5: RSA amplitude rises several-fold at resonance (Vaschillo, Lehrer et al. 2002).
    min_hr_bpm : float
        Floor of the instantaneous heart rate in bpm, so the IPFM integral always advances.
        Default 20 (a modelling guard, never reached with the default parameters).
    fs_hz : float
        Integration grid of the IPFM model in Hz. Default 100: beat-time error well under 1 ms
        for a drive band-limited below 0.5 Hz (Mateo & Laguna 2000 use similar rates).
    resolution_ms : float
        Beat times are rounded to this resolution in ms. Default 1, the RR resolution of chest
        straps (Polar H10 reports RR in 1/1024 s).
    """

    base_hr_bpm: float = 65.0
    breathing_hz: float = 0.25
    rsa_bpm: float = 3.0
    mayer_bpm: float = 1.5
    mayer_hz: float = 0.1
    mayer_bandwidth_hz: float = 0.04
    noise_bpm: float = 0.5
    breathing_jitter: float = 0.05
    rsa_jitter: float = 0.15
    rise_tau_s: float = 20.0
    paced_rsa_gain: float = 2.5
    min_hr_bpm: float = 20.0
    fs_hz: float = 100.0
    resolution_ms: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise InputError(f"simulate: {f.name} must be a finite number >= 0, got {v!r}")
        for name in ("base_hr_bpm", "breathing_hz", "mayer_hz", "mayer_bandwidth_hz", "rise_tau_s",
                     "min_hr_bpm", "fs_hz", "resolution_ms"):
            if getattr(self, name) <= 0:
                raise InputError(f"simulate: {name} must be > 0, got {getattr(self, name)!r}")
        lo = self.mayer_hz - self.mayer_bandwidth_hz / 2
        if lo <= 0 or self.mayer_hz + self.mayer_bandwidth_hz / 2 >= _COARSE_HZ / 2:
            raise InputError(
                f"simulate: the Mayer band {self.mayer_hz:g} +/- {self.mayer_bandwidth_hz / 2:g} Hz must lie "
                f"between 0 and {_COARSE_HZ / 2:g} Hz"
            )


@dataclass(frozen=True)
class Segment:
    """One contiguous part of a protocol.

    Parameters
    ----------
    label : str
        Event label shown in reports ("speech", "paced breathing 6/min").
    kind : str
        One of :data:`calmtrace.events.EVENT_KINDS`.
    duration_s : float
        Length in s, > 0.
    amp_bpm : float
        Mean heart-rate rise above baseline that the segment drives, in bpm (stressors; 0 else).
    hf_withdrawal : float
        Share of vagal (HF) modulation withdrawn during the segment, 0-1 (0: none).
    breathing_hz : float, optional
        Breathing rate in Hz during the segment; ``None`` is the person's spontaneous rate.
    rsa_gain : float
        Factor on RSA amplitude during the segment (paced breathing: ``SimParams.paced_rsa_gain``).
    tau_s : float, optional
        Stressors: time constant in s of the return of HR and HF after the stressor ends.
    rise_s : float, optional
        Time constant in s with which the segment's targets are approached; ``None`` means
        ``SimParams.rise_tau_s`` for a stressor and the last stressor's ``tau_s`` otherwise.
    """

    label: str
    kind: str
    duration_s: float
    amp_bpm: float = 0.0
    hf_withdrawal: float = 0.0
    breathing_hz: float | None = None
    rsa_gain: float = 1.0
    tau_s: float | None = None
    rise_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise InputError(f"segment {self.label!r}: kind must be one of {', '.join(EVENT_KINDS)}, got {self.kind!r}")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise InputError(f"segment {self.label!r}: duration_s must be > 0, got {self.duration_s!r}")
        if not 0 <= self.hf_withdrawal <= 1:
            raise InputError(f"segment {self.label!r}: hf_withdrawal must be from 0 to 1, got {self.hf_withdrawal!r}")
        for name in ("tau_s", "rise_s", "breathing_hz"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise InputError(f"segment {self.label!r}: {name} must be > 0, got {v!r}")
        if self.kind == "stressor" and self.tau_s is None:
            raise InputError(f"segment {self.label!r}: a stressor needs a recovery tau_s")


def _check_tau(tau_s: float | None) -> None:
    if tau_s is not None and not (isinstance(tau_s, (int, float)) and math.isfinite(tau_s) and tau_s > 0):
        raise InputError(f"simulate: tau_s must be a number of seconds > 0, got {tau_s!r}")


def _per_stressor(value: float | Sequence[float] | None, defaults: Sequence[float], name: str) -> list[float]:
    if value is None:
        return [float(v) for v in defaults]
    if isinstance(value, (int, float)):
        return [float(value)] * len(defaults)
    vals = [float(v) for v in value]
    if len(vals) != len(defaults):
        raise InputError(f"simulate: {name} needs one value or {len(defaults)} (one per stressor), got {len(vals)}")
    return vals


def scenario_protocol(
    name: str,
    tau_s: float | None = None,
    amp_bpm: float | Sequence[float] | None = None,
    hf_withdrawal: float | Sequence[float] | None = None,
    duration_s: float | None = None,
    breathing_speedup: float = 0.5,
    paced_rsa_gain: float = SimParams.paced_rsa_gain,
) -> list[Segment]:
    """The segments of a named scenario.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`.
    tau_s : float, optional
        Recovery time constant in s of every stressor (``breathing``: of the stressor without
        paced breathing; the one followed by paced breathing gets ``tau_s * breathing_speedup``).
        Defaults: tsst 60 s, breathing 80 s, exercise 80 s (heart-rate recovery after moderate
        effort; Imai et al. 1994, Pecanha et al. 2017).
    amp_bpm : float or sequence of float, optional
        Mean HR rise of the stressors in bpm (one value for all, or one per stressor). Defaults:
        tsst 15 and 20 (speech, arithmetic; TSST rises are 10-25 bpm, Allen et al. 2014),
        breathing 18 and 18, exercise 70 (moderate effort).
    hf_withdrawal : float or sequence of float, optional
        Share of HF modulation withdrawn during the stressors, 0-1. Defaults: tsst 0.5 and 0.6,
        breathing 0.5 and 0.5 (HF falls by about half under mental stress; Castaldo et al. 2015),
        exercise 0.85 (vagal withdrawal during effort).
    duration_s : float, optional
        ``rest`` only: length in s (default 3600).
    breathing_speedup : float
        ``breathing`` only: factor on tau of the recovery that starts with paced breathing.
        Default 0.5, a modelling choice (slow breathing is taught to speed recovery), not a
        published effect size.
    paced_rsa_gain : float
        RSA gain during paced breathing (see :class:`SimParams`).

    Returns
    -------
    list of Segment
    """
    _check_tau(tau_s)
    if name == "tsst":
        tau = 60.0 if tau_s is None else float(tau_s)
        amp = _per_stressor(amp_bpm, (15.0, 20.0), "amp_bpm")
        w = _per_stressor(hf_withdrawal, (0.5, 0.6), "hf_withdrawal")
        return [
            Segment("baseline", "baseline", 300.0),
            Segment("speech", "stressor", 300.0, amp[0], w[0], tau_s=tau),
            Segment("arithmetic", "stressor", 300.0, amp[1], w[1], tau_s=tau),
            Segment("recovery", "recovery", 900.0),
        ]
    if name == "breathing":
        tau = 80.0 if tau_s is None else float(tau_s)
        if not (math.isfinite(breathing_speedup) and breathing_speedup > 0):
            raise InputError(f"simulate: breathing_speedup must be > 0, got {breathing_speedup!r}")
        amp = _per_stressor(amp_bpm, (18.0, 18.0), "amp_bpm")
        w = _per_stressor(hf_withdrawal, (0.5, 0.5), "hf_withdrawal")
        return [
            Segment("baseline", "baseline", 300.0),
            Segment("arithmetic 1", "stressor", 300.0, amp[0], w[0], tau_s=tau * breathing_speedup),
            Segment("paced breathing 6/min", "intervention", 300.0, breathing_hz=0.1, rsa_gain=paced_rsa_gain),
            Segment("recovery 1", "recovery", 300.0),
            Segment("arithmetic 2", "stressor", 300.0, amp[1], w[1], tau_s=tau),
            Segment("recovery 2", "recovery", 600.0),
        ]
    if name == "exercise":
        tau = 80.0 if tau_s is None else float(tau_s)
        amp = _per_stressor(amp_bpm, (70.0,), "amp_bpm")
        w = _per_stressor(hf_withdrawal, (0.85,), "hf_withdrawal")
        # HR on-kinetics of moderate effort: ~30-60 s (Hagberg et al. 1980); breathing ~24/min.
        return [
            Segment("rest", "baseline", 300.0),
            Segment("effort", "stressor", 600.0, amp[0], w[0], breathing_hz=0.4, tau_s=tau, rise_s=40.0),
            Segment("recovery", "recovery", 600.0),
        ]
    if name == "rest":
        d = 3600.0 if duration_s is None else float(duration_s)
        return [Segment("rest", "baseline", d)]
    raise InputError(f"simulate: scenario must be one of {', '.join(SCENARIOS)}, got {name!r}")


def protocol_events(protocol: Sequence[Segment]) -> Events:
    """Events of a protocol: one per segment, back to back from ``t_s = 0``.

    Parameters
    ----------
    protocol : sequence of Segment

    Returns
    -------
    Events
    """
    onsets = np.concatenate(([0.0], np.cumsum([s.duration_s for s in protocol])[:-1]))
    return Events([Event(float(o), float(s.duration_s), s.label, s.kind) for o, s in zip(onsets, protocol)])


# -------------------------------------------------------------------------------------------
# the deterministic drive: mean curve, vagal scale, breathing
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """Per-segment arrays of a protocol: onsets, targets, time constants, states at onset."""

    onset_s: np.ndarray
    tau_s: np.ndarray
    l_target: np.ndarray
    v_target: np.ndarray
    l_start: np.ndarray
    v_start: np.ndarray
    breath_hz: np.ndarray
    breath_phase0: np.ndarray  # cycles of breathing completed at each onset (from t = 0)
    rsa_gain: np.ndarray


def _plan(protocol: Sequence[Segment], params: SimParams) -> _Plan:
    if len(protocol) == 0:
        raise InputError("simulate: the protocol has no segments")
    dur = np.array([s.duration_s for s in protocol], float)
    onset = np.concatenate(([0.0], np.cumsum(dur)[:-1]))
    taus, last_tau = [], params.rise_tau_s
    for s in protocol:
        if s.kind == "stressor":
            taus.append(s.rise_s if s.rise_s is not None else params.rise_tau_s)
            last_tau = float(s.tau_s)  # type: ignore[arg-type]
        else:
            taus.append(s.rise_s if s.rise_s is not None else last_tau)
    tau = np.array(taus, float)
    l_t = np.array([s.amp_bpm for s in protocol], float)
    v_t = np.array([1.0 - s.hf_withdrawal for s in protocol], float)
    l0, v0 = np.zeros(len(protocol)), np.ones(len(protocol))
    for k in range(1, len(protocol)):
        decay = math.exp(-dur[k - 1] / tau[k - 1])
        l0[k] = l_t[k - 1] + (l0[k - 1] - l_t[k - 1]) * decay
        v0[k] = v_t[k - 1] + (v0[k - 1] - v_t[k - 1]) * decay
    fb = np.array([s.breathing_hz if s.breathing_hz is not None else params.breathing_hz for s in protocol], float)
    ph0 = np.concatenate(([0.0], np.cumsum(fb * dur)[:-1]))
    gain = np.array([s.rsa_gain for s in protocol], float)
    return _Plan(onset, tau, l_t, v_t, l0, v0, fb, ph0, gain)


def _segment_index(plan: _Plan, t: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(plan.onset_s, t, side="right") - 1, 0, len(plan.onset_s) - 1)


def _states(plan: _Plan, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment index, mean-HR rise L (bpm) and vagal scale V at times t (s)."""
    k = _segment_index(plan, t)
    dt = np.maximum(t - plan.onset_s[k], 0.0)  # before t = 0 the first segment's start state holds
    decay = np.exp(-dt / plan.tau_s[k])
    rise = plan.l_target[k] + (plan.l_start[k] - plan.l_target[k]) * decay
    vagal = plan.v_target[k] + (plan.v_start[k] - plan.v_target[k]) * decay
    return k, rise, vagal


def mean_hr(t_s: np.ndarray, protocol: Sequence[Segment], params: SimParams | None = None) -> np.ndarray:
    """The mean heart-rate curve ``base + L(t)`` in bpm, without oscillations or noise.

    Parameters
    ----------
    t_s : array of float
        Times in s since the start of the protocol.
    protocol : sequence of Segment
    params : SimParams, optional
        Defaults to ``SimParams()``.

    Returns
    -------
    numpy.ndarray
        Mean HR in bpm at each time.
    """
    params = params or SimParams()
    _, rise, _ = _states(_plan(protocol, params), np.asarray(t_s, float))
    return params.base_hr_bpm + rise


def vagal_scale(t_s: np.ndarray, protocol: Sequence[Segment], params: SimParams | None = None) -> np.ndarray:
    """The vagal scale ``V(t)`` (1 at rest, ``1 - hf_withdrawal`` at the height of a stressor).

    Parameters
    ----------
    t_s : array of float
        Times in s since the start of the protocol.
    protocol : sequence of Segment
    params : SimParams, optional

    Returns
    -------
    numpy.ndarray
        Dimensionless factor on RSA amplitude.
    """
    params = params or SimParams()
    _, _, vagal = _states(_plan(protocol, params), np.asarray(t_s, float))
    return vagal


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
# the strap: rounding, gaps, artefacts
# -------------------------------------------------------------------------------------------
def _cut_gaps(rng: np.random.Generator, t_ms: np.ndarray, rr_ms: np.ndarray, n_gaps: int,
              duration_s: float, gap_s: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Remove the beats inside ``n_gaps`` random disconnect spans; return beats and gaps table."""
    margin_s = 10.0
    durs = rng.uniform(gap_s[0], gap_s[1], n_gaps)
    free = duration_s - 2 * margin_s - durs.sum() - max(n_gaps - 1, 0) * margin_s
    if free <= 0:
        raise InputError(
            f"simulate: {n_gaps} gaps of {gap_s[0]:g}-{gap_s[1]:g} s do not fit in {duration_s:g} s"
        )
    offsets = np.sort(rng.uniform(0.0, free, n_gaps))
    before = np.concatenate(([0.0], np.cumsum(durs)[:-1]))
    onsets = margin_s + offsets + before + np.arange(n_gaps) * margin_s
    onsets = np.round(onsets, 3)
    durs = np.round(durs, 3)
    t_s = t_ms / 1000.0
    inside = np.zeros(t_ms.size, bool)
    for on, d in zip(onsets, durs):
        inside |= (t_s >= on) & (t_s < on + d)
    gaps = pd.DataFrame({"onset_s": onsets, "duration_s": durs, "reason": ["disconnect"] * n_gaps})
    return t_ms[~inside], rr_ms[~inside], gaps


def _pick_spaced(rng: np.random.Generator, candidates: np.ndarray, n: int, spacing: int) -> np.ndarray:
    """n indices from candidates, in random order, at least ``spacing`` apart."""
    taken: list[int] = []
    blocked: set[int] = set()
    for i in rng.permutation(candidates):
        if len(taken) == n:
            break
        if int(i) in blocked:
            continue
        taken.append(int(i))
        blocked.update(range(int(i) - spacing + 1, int(i) + spacing))
    if len(taken) < n:
        raise InputError(f"simulate: cannot place {n} artefacts at least {spacing} beats apart in "
                         f"{candidates.size} beats; lower artifact_pct")
    return np.sort(np.array(taken, dtype=int))


def _add_artifacts(rng: np.random.Generator, t_ms: np.ndarray, rr_ms: np.ndarray, artifact_pct: float,
                   resolution_ms: float) -> tuple[np.ndarray, np.ndarray, list[int], list[str]]:
    """Make ``artifact_pct`` % of the beats ectopic, missed or extra; return beats and the truth.

    - ectopic at i: beat i comes early (after 60-80 % of its interval) and the next interval is
      longer by as much (full compensatory pause); index i is the premature beat.
    - missed at i: beat i is lost, its interval merges into the next; the index is that of the
      long merged interval.
    - extra at i: a spurious beat splits interval i at 35-65 %; the index is the spurious beat.
    """
    n = t_ms.size
    n_art = int(round(artifact_pct / 100.0 * n))
    if n_art == 0:
        return t_ms, rr_ms, [], []
    # beat i is "contiguous" when its interval starts at the previous beat (no gap in between)
    contiguous = np.zeros(n, bool)
    contiguous[1:] = np.abs((t_ms[1:] - rr_ms[1:]) - t_ms[:-1]) < 0.5 * resolution_ms
    ok = np.zeros(n, bool)
    ok[2:n - 2] = contiguous[2:n - 2] & contiguous[3:n - 1]
    idx = _pick_spaced(rng, np.flatnonzero(ok), n_art, spacing=4)
    kinds = rng.choice(np.array(ARTIFACT_TYPES, dtype=object), size=idx.size)
    frac = rng.uniform(0.0, 1.0, idx.size)
    t, rr = t_ms.astype(float).copy(), rr_ms.astype(float).copy()
    keep = np.ones(n, bool)
    label = np.array([""] * n, dtype=object)
    new_t, new_rr = [], []

    def q(x: float) -> float:
        return max(resolution_ms, round(x / resolution_ms) * resolution_ms)

    for i, kind, u in zip(idx, kinds, frac):
        if kind == "ectopic":
            short = q((0.6 + 0.2 * u) * rr[i])
            delta = rr[i] - short
            t[i] -= delta
            rr[i] = short
            rr[i + 1] += delta
            label[i] = "ectopic"
        elif kind == "missed":
            keep[i] = False
            rr[i + 1] += rr[i]
            label[i + 1] = "missed"
        else:
            first = q((0.35 + 0.3 * u) * rr[i])
            new_t.append(t[i] - rr[i] + first)
            new_rr.append(first)
            rr[i] -= first
    all_t = np.concatenate((t[keep], np.array(new_t, float)))
    all_rr = np.concatenate((rr[keep], np.array(new_rr, float)))
    all_label = np.concatenate((label[keep], np.array(["extra"] * len(new_t), dtype=object)))
    order = np.argsort(all_t, kind="stable")
    all_t, all_rr, all_label = all_t[order], all_rr[order], all_label[order]
    where = np.flatnonzero(all_label != "")
    return all_t, all_rr, [int(i) for i in where], [str(s) for s in all_label[where]]


# -------------------------------------------------------------------------------------------
# truth and the public faces
# -------------------------------------------------------------------------------------------
def _plain(x: Any) -> Any:
    """Python floats/ints/lists for JSON (numpy scalars and tuples converted)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    return x


def _truth(protocol: Sequence[Segment], params: SimParams) -> dict:
    plan = _plan(protocol, params)
    segments, stressors = [], []
    for k, s in enumerate(protocol):
        onset = float(plan.onset_s[k])
        segments.append({
            "label": s.label, "kind": s.kind, "onset_s": onset, "duration_s": float(s.duration_s),
            "amp_bpm": float(s.amp_bpm), "hf_withdrawal": float(s.hf_withdrawal),
            "breathing_hz": float(plan.breath_hz[k]), "rsa_gain": float(s.rsa_gain),
            "approach_tau_s": float(plan.tau_s[k]),
        })
        if s.kind == "stressor":
            end = onset + s.duration_s
            hr_end, hr_60 = mean_hr(np.array([end, end + 60.0]), protocol, params)
            nxt = protocol[k + 1] if k + 1 < len(protocol) else None
            recovers = nxt is not None and nxt.kind != "stressor"
            stressors.append({
                "label": s.label, "onset_s": onset, "offset_s": float(end), "amp_bpm": float(s.amp_bpm),
                "hf_withdrawal": float(s.hf_withdrawal), "tau_s": float(s.tau_s),  # type: ignore[arg-type]
                "hf_tau_s": float(s.tau_s),  # type: ignore[arg-type]
                "hr_at_offset_bpm": float(hr_end),
                "reactivity_bpm": float(hr_end - params.base_hr_bpm),
                # HRR60 (Cole et al. 1999) only where HR is left to recover, not into another stressor
                "hrr60_bpm": float(hr_end - hr_60) if recovers else None,
                "recovers": recovers,
                "followed_by": nxt.label if nxt is not None else None,
            })
    return {
        "model": "IPFM (Bayly 1968); HR(t) = base + L(t) + RSA + Mayer + 1/f noise; "
                 "after a stressor L(t) = L(t_end) * exp(-(t - t_end) / tau_s)",
        "baseline_hr_bpm": params.base_hr_bpm,
        "params": asdict(params),
        "segments": segments,
        "stressors": stressors,
    }


_PARAM_NAMES = tuple(f.name for f in fields(SimParams))
_PROTOCOL_KNOBS = ("amp_bpm", "hf_withdrawal", "duration_s", "breathing_speedup")


def simulate_protocol(
    protocol: Sequence[Segment],
    params: SimParams | None = None,
    seed: int = 1,
    artifact_pct: float = 0.0,
    n_gaps: int = 0,
    start: datetime | None = None,
    gap_s: tuple[float, float] = (5.0, 30.0),
    meta: dict | None = None,
) -> Recording:
    """Simulate a session from an explicit protocol (the engine behind :func:`simulate`).

    Parameters
    ----------
    protocol : sequence of Segment
    params : SimParams, optional
        Defaults to ``SimParams()``.
    seed : int
        Random seed; the same seed gives the same recording.
    artifact_pct : float
        Percent (0-20) of the beats left after gaps that are made ectopic, missed or extra.
    n_gaps : int
        Number of disconnect gaps (each ``gap_s`` long, uniform) cut into the beats.
    start : datetime, optional
        Timezone-aware start; default :data:`DEFAULT_START`.
    gap_s : (float, float)
        Shortest and longest gap in s. Default 5-30 s, a modelling choice resembling a strap that
        loses skin contact or a phone out of Bluetooth range for a moment.
    meta : dict, optional
        Extra metadata merged into the recording's (``subject``, ``scenario``...).

    Returns
    -------
    Recording
        Beats all flagged ``ok``; ``meta["truth"]`` holds the model's true parameters and the
        artefacts (``artifact_index``, ``artifact_type``) and gaps it made.
    """
    params = params or SimParams()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"simulate: seed must be a whole number >= 0, got {seed!r}")
    if not (isinstance(artifact_pct, (int, float)) and 0 <= artifact_pct <= 20):
        raise InputError(f"simulate: artifact_pct must be a percentage from 0 to 20, got {artifact_pct!r}")
    if isinstance(n_gaps, bool) or not isinstance(n_gaps, (int, np.integer)) or n_gaps < 0:
        raise InputError(f"simulate: n_gaps must be a whole number >= 0, got {n_gaps!r}")
    if not (len(gap_s) == 2 and 0 < gap_s[0] <= gap_s[1]):
        raise InputError(f"simulate: gap_s must be (shortest, longest) in s with 0 < shortest <= longest, got {gap_s!r}")
    start = DEFAULT_START if start is None else start
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise InputError(f"simulate: start must be a timezone-aware datetime, got {start!r}")

    drive = Drive(protocol, params, int(seed))
    beats = _drive_beats(drive)
    res = params.resolution_ms
    t_ms = np.round(beats * 1000.0 / res) * res
    rr_ms = np.diff(t_ms)
    t_ms = t_ms[1:]
    keep = (t_ms > 0) & (t_ms <= drive.duration_s * 1000.0)
    t_ms, rr_ms = t_ms[keep], rr_ms[keep]

    gaps = pd.DataFrame({"onset_s": [], "duration_s": [], "reason": []})
    if n_gaps:
        t_ms, rr_ms, gaps = _cut_gaps(np.random.default_rng([int(seed), 1]), t_ms, rr_ms, int(n_gaps),
                                      drive.duration_s, (float(gap_s[0]), float(gap_s[1])))
    t_ms, rr_ms, art_idx, art_type = _add_artifacts(np.random.default_rng([int(seed), 2]), t_ms, rr_ms,
                                                    float(artifact_pct), res)
    truth = _truth(protocol, params)
    truth.update({
        "artifact_pct": float(artifact_pct),
        "artifact_index": art_idx,
        "artifact_type": art_type,
        "gaps": [[float(o), float(d)] for o, d in zip(gaps["onset_s"], gaps["duration_s"])],
        "gap_s": [float(gap_s[0]), float(gap_s[1])],
    })
    full_meta = {"simulated": True, "device_name": "calmtrace simulator", "model": "IPFM simulator",
                 "seed": int(seed), **(meta or {}), "truth": truth}
    rec = Recording(
        start=start,
        beats=pd.DataFrame({"t_s": t_ms / 1000.0, "rr_ms": rr_ms}),
        gaps=gaps,
        events=protocol_events(protocol),
        meta=_plain(full_meta),
    )
    log.debug("simulated %d beats over %.0f s (seed %d, %d artefacts, %d gaps)",
              len(rec.beats), drive.duration_s, seed, len(art_idx), len(gaps))
    return rec


def simulate(
    scenario: str,
    seed: int = 1,
    tau_s: float | None = None,
    artifact_pct: float = 0.0,
    n_gaps: int = 0,
    start: datetime | None = None,
    **overrides: Any,
) -> Recording:
    """Simulate a session of a named scenario: beats from an IPFM model of a scripted protocol.

    Parameters
    ----------
    scenario : str
        One of :data:`SCENARIOS`: ``tsst``, ``breathing``, ``exercise``, ``rest``.
    seed : int
        Random seed; the same arguments give the same recording.
    tau_s : float, optional
        Recovery time constant in s of the stressors (see :func:`scenario_protocol` for the
        defaults and for how ``breathing`` uses it).
    artifact_pct : float
        Percent (0-20) of beats made ectopic, missed or extra (truth in ``meta["truth"]``).
    n_gaps : int
        Number of disconnect gaps cut into the beats.
    start : datetime, optional
        Timezone-aware start; default :data:`DEFAULT_START` (2026-01-05T09:00:00+00:00).
    **overrides
        Any :class:`SimParams` field (``base_hr_bpm``, ``rsa_bpm``, ``noise_bpm``...), the
        protocol knobs of :func:`scenario_protocol` (``amp_bpm``, ``hf_withdrawal``,
        ``duration_s``, ``breathing_speedup``), ``gap_s`` and ``subject`` (default ``sim-01``).

    Returns
    -------
    Recording
        ``meta`` has ``simulated`` (True), ``scenario``, ``seed``, ``subject`` and ``truth``.

    Raises
    ------
    InputError
        On an unknown scenario or override, or a value out of range.

    Examples
    --------
    >>> rec = simulate("tsst", seed=1, tau_s=45)
    >>> rec.meta["truth"]["stressors"][-1]["tau_s"]
    45.0
    """
    if not isinstance(scenario, str) or scenario not in SCENARIOS:
        raise InputError(f"simulate: scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    allowed = _PARAM_NAMES + _PROTOCOL_KNOBS + ("gap_s", "subject")
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise InputError(f"simulate: unknown override {unknown[0]!r}; allowed: {', '.join(allowed)}")
    params = SimParams(**{k: v for k, v in overrides.items() if k in _PARAM_NAMES})
    knobs = {k: overrides[k] for k in _PROTOCOL_KNOBS if k in overrides}
    protocol = scenario_protocol(scenario, tau_s=tau_s, paced_rsa_gain=params.paced_rsa_gain, **knobs)
    subject = str(overrides.get("subject", "sim-01"))
    return simulate_protocol(protocol, params, seed=seed, artifact_pct=artifact_pct, n_gaps=n_gaps,
                             start=start, gap_s=tuple(overrides.get("gap_s", (5.0, 30.0))),  # type: ignore[arg-type]
                             meta={"scenario": scenario, "subject": subject})


def simulate_series(
    n_sessions: int = 8,
    seed: int = 1,
    subject: str = "sim-client-01",
    start: datetime | None = None,
    tau_first_s: float = 150.0,
    tau_last_s: float = 45.0,
    artifact_pct: float = 0.0,
) -> list[Recording]:
    """One simulated client over weekly ``tsst`` sessions whose recovery gets faster.

    Session ``k`` (0-based) starts ``k`` weeks after ``start`` and uses seed ``seed + k``. Its
    recovery tau falls geometrically from ``tau_first_s`` to ``tau_last_s``; RSA amplitude rises
    linearly from 2.6 to 3.3 bpm (baseline lnRMSSD up by about 0.3) and resting HR falls from 68 to
    65 bpm, a modelling choice mimicking a client whose vagal recovery improves with therapy.

    Parameters
    ----------
    n_sessions : int
        Number of weekly sessions (>= 1).
    seed : int
        Seed of the first session; session k uses ``seed + k``.
    subject : str
        ``meta["subject"]`` of every session.
    start : datetime, optional
        Start of the first session; default :data:`DEFAULT_START`.
    tau_first_s, tau_last_s : float
        Recovery time constant in s of the first and the last session.
    artifact_pct : float
        Artefact percentage of every session.

    Returns
    -------
    list of Recording
        ``meta["series"]`` has ``session`` (1-based), ``n_sessions`` and ``series_seed``.
    """
    if isinstance(n_sessions, bool) or not isinstance(n_sessions, int) or n_sessions < 1:
        raise InputError(f"simulate_series: n_sessions must be a whole number >= 1, got {n_sessions!r}")
    _check_tau(tau_first_s)
    _check_tau(tau_last_s)
    start = DEFAULT_START if start is None else start
    out = []
    for k in range(n_sessions):
        x = k / (n_sessions - 1) if n_sessions > 1 else 0.0
        tau = tau_first_s * (tau_last_s / tau_first_s) ** x
        rec = simulate("tsst", seed=seed + k, tau_s=round(tau, 3), artifact_pct=artifact_pct,
                       start=start + timedelta(weeks=k), subject=subject,
                       rsa_bpm=round(2.6 + 0.7 * x, 4), base_hr_bpm=round(68.0 - 3.0 * x, 4))
        rec.meta["series"] = {"session": k + 1, "n_sessions": n_sessions, "series_seed": seed}
        out.append(rec)
    return out


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
