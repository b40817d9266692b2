"""What a simulated session is: the person, the scripted protocol and its mean curves.

Step 1 and the deterministic part of step 2 of the simulator (the overview is in
:mod:`calmtrace.signals.simulate`). :class:`SimParams` holds the physiology of the simulated person
and the sampling; :class:`Segment` is one contiguous part of a protocol (baseline, stressor,
intervention, recovery) and :func:`scenario_protocol` builds the segments of a named scenario
(:data:`SCENARIOS`); :func:`protocol_events` turns them into events. The mean-HR rise ``L`` (bpm
above baseline) and the vagal scale ``V`` (1 at rest) are first-order states that approach each
segment's targets exponentially; after a stressor that ends at ``t_end``::

    HR_mean(t) = base + L(t_end) * exp(-(t - t_end) / tau_s)
    V(t)       = 1 - (1 - V(t_end)) * exp(-(t - t_end) / tau_s)

:func:`mean_hr` and :func:`vagal_scale` read them. Nothing here is random: the oscillations and the
noise are added in :mod:`calmtrace.signals.ipfm`.

References (cited where used): Task Force 1996 (HF and LF bands, resting RR); Nunan, Sandercock &
Brodie 2010 (resting RMSSD, LF/HF); Julien 2006 (Mayer waves); Kobayashi & Musha 1982 (1/f noise);
Allen et al. 2014 (TSST heart-rate responses); Vaschillo, Lehrer et al. 2002 (RSA at resonance
breathing); Mateo & Laguna 2000 (IPFM grid rate); Imai et al. 1994, Pecanha et al. 2017
(heart-rate recovery time constants); Castaldo et al. 2015 (HF under mental stress); Hagberg et
al. 1980 (HR on-kinetics of effort).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..events import EVENT_KINDS, Event, Events

__all__ = [
    "SCENARIOS",
    "SimParams",
    "Segment",
    "scenario_protocol",
    "protocol_events",
    "mean_hr",
    "vagal_scale",
]

#: The scenarios :func:`simulate` knows, with a one-line description.
SCENARIOS: dict[str, str] = {
    "tsst": "5 min baseline, 5 min speech, 5 min arithmetic, 15 min recovery (Trier Social Stress Test)",
    "breathing": "baseline, stressor then paced breathing at 6/min, a second stressor without, recoveries",
    "exercise": "5 min rest, 10 min effort, 10 min heart-rate recovery",
    "rest": "one baseline segment of duration_s (default 3600 s)",
}

# grid of the random components (all below 0.5 Hz), interpolated to fs_hz; it lives here because
# SimParams checks that the Mayer band lies below its Nyquist frequency (used in ipfm.Drive)
_COARSE_HZ = 4.0


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

