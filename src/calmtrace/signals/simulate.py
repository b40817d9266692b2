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

The steps live in modules of their own: :mod:`calmtrace.signals.protocol` (parameters, segments,
the mean curve ``L`` and the vagal scale ``V``), :mod:`calmtrace.signals.ipfm` (the random drive,
the IPFM beats, a synthetic ECG) and :mod:`calmtrace.signals.strap_faults` (gaps and artefacts).
This module rounds the beats to the strap's resolution, writes ``meta["truth"]`` and holds the
entry points :func:`simulate`, :func:`simulate_protocol` and :func:`simulate_series`; every name in
its ``__all__`` can be imported from here.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..recording import Recording
from .ipfm import Drive, _drive_beats, ecg_from_beats, hr_drive, ipfm_beats
from .protocol import (
    SCENARIOS,
    Segment,
    SimParams,
    _check_tau,
    _plan,
    mean_hr,
    protocol_events,
    scenario_protocol,
    vagal_scale,
)
from .strap_faults import ARTIFACT_TYPES, _add_artifacts, _cut_gaps

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
    drive: Drive | None = None,
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
    drive : Drive, optional
        A prebuilt drive of this protocol (the dyad simulator, :mod:`calmtrace.signals.dyad_sim`,
        couples two); default ``Drive(protocol, params, seed)``.

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

    drive = Drive(protocol, params, int(seed)) if drive is None else drive
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
