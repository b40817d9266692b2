"""The resonance-frequency assessment run live, and a simulated person to run it on.

``calmtrace breathe --assess`` paces breathing in blocks (:func:`assessment_blocks`: about 2 min at
6.5, 6.0, 5.5, 5.0 and 4.5 breaths/min, after a minute of spontaneous breathing; Lehrer, Vaschillo
& Vaschillo 2000; Shaffer & Meehan 2020), logs each block as an ``intervention`` event labelled with
its rate, and then assesses the beats with :func:`calmtrace.signals.resonance.assess_resonance`
(:func:`assess_recording` reads the blocks back from the events, so a recording made earlier can
be assessed again).

:func:`simulate_assessment` is a simulated person doing the assessment, for tests and for
``breathe --assess --simulate``: the simulator's respiratory sinus arrhythmia is scaled during each
paced block by a resonance curve of the breathing rate (:func:`resonance_gain`) that peaks at the
person's resonance rate, which is written to ``meta["truth"]["resonance_rate_bpm"]``.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..events import Event
from ..recording import Recording
from ..signals.protocol import Segment, SimParams
from ..signals.resonance import ASSESSMENT_RATES_BPM, BLOCK_S, AssessmentBlock, ResonanceResult, assess_resonance
from ..signals.simulate import simulate_protocol
from .pacer import pacer_label, rate_from_label

__all__ = ["LEAD_IN_S", "assessment_blocks", "block_events", "blocks_from_events", "assess_recording",
           "resonance_gain", "simulate_assessment"]

#: Spontaneous breathing before the first paced block, s (a modelling choice: time to settle).
LEAD_IN_S = 60.0
#: Relative RSA amplitude at the resonance rate and far from it among slow rates, and the width
#: (SD, breaths/min) of the resonance curve of the simulated person. RSA rises several-fold at
#: resonance (Vaschillo, Lehrer et al. 2002); the width is a modelling choice that makes the
#: amplitude 0.5/min away about 15 % lower than at resonance.
SIM_PEAK_GAIN = 3.0
SIM_FLOOR_GAIN = 1.5
SIM_WIDTH_BPM = 0.6


def assessment_blocks(rates_bpm: Sequence[float] = ASSESSMENT_RATES_BPM, block_s: float = BLOCK_S,
                      onset_s: float = LEAD_IN_S) -> list[AssessmentBlock]:
    """The paced blocks, back to back from ``onset_s`` (s), ``block_s`` s each."""
    return [AssessmentBlock(float(r), onset_s + k * block_s, block_s) for k, r in enumerate(rates_bpm)]


def block_events(blocks: Sequence[AssessmentBlock]) -> list[Event]:
    """One ``intervention`` event per block, labelled with its rate (see :func:`pacer_label`)."""
    return [Event(b.onset_s, b.duration_s, pacer_label(b.rate_bpm), "intervention") for b in blocks]


def blocks_from_events(rec: Recording) -> list[AssessmentBlock]:
    """The paced blocks of a recording: its intervention events whose label names a pacer rate."""
    out = []
    for ev in rec.events:
        rate = rate_from_label(ev.label)
        if ev.kind == "intervention" and math.isfinite(rate) and ev.duration_s > 0:
            out.append(AssessmentBlock(rate, ev.onset_s, ev.duration_s))
    return out


def assess_recording(rec: Recording) -> ResonanceResult:
    """Assess a recording made with ``breathe --assess``: cleaned beats, blocks from its events.

    Raises
    ------
    InputError
        When the recording has no paced blocks.
    """
    from ..signals.clean import clean

    cleaned = clean(rec)
    usable = np.isin(cleaned.flags, ("ok", "corrected", "interpolated"))
    return assess_resonance(cleaned.t_s[usable], cleaned.rr_ms[usable], blocks_from_events(rec))


def resonance_gain(rate_bpm: float, resonance_bpm: float, peak: float = SIM_PEAK_GAIN,
                   floor: float = SIM_FLOOR_GAIN, width_bpm: float = SIM_WIDTH_BPM) -> float:
    """RSA gain of the simulated person breathing at ``rate_bpm``: a Gaussian resonance curve.

    ``floor + (peak - floor) * exp(-((rate - resonance) / width)^2 / 2)``, largest at
    ``resonance_bpm`` (breaths/min).
    """
    return float(floor + (peak - floor) * math.exp(-0.5 * ((rate_bpm - resonance_bpm) / width_bpm) ** 2))


def simulate_assessment(seed: int, resonance_bpm: float | None = None,
                        rates_bpm: Sequence[float] = ASSESSMENT_RATES_BPM, block_s: float = BLOCK_S,
                        params: SimParams | None = None) -> Recording:
    """A simulated person doing the assessment, with a known resonance rate.

    Parameters
    ----------
    seed : int
        Random seed (the drive's noise, and the resonance rate when not given).
    resonance_bpm : float, optional
        The person's resonance rate, breaths/min; by default one of ``rates_bpm`` drawn with
        ``numpy.random.default_rng([seed, 7])``.
    rates_bpm : sequence of float
        The paced rates, in order.
    block_s : float
        Length of each block, s.
    params : SimParams, optional
        The person; by default ``SimParams(breathing_jitter=0.02)`` (paced breathing wanders less
        than spontaneous breathing: a modelling choice).

    Returns
    -------
    Recording
        Beats, one intervention event per block, ``meta["truth"]["resonance_rate_bpm"]``.
    """
    if resonance_bpm is None:
        resonance_bpm = float(np.random.default_rng([int(seed), 7]).choice(np.asarray(rates_bpm, float)))
    params = params or SimParams(breathing_jitter=0.02)
    protocol = [Segment("spontaneous breathing", "baseline", LEAD_IN_S)]
    for r in rates_bpm:
        protocol.append(Segment(pacer_label(r), "intervention", block_s, breathing_hz=r / 60.0,
                                rsa_gain=resonance_gain(r, resonance_bpm)))
    rec = simulate_protocol(protocol, params, seed=seed, meta={"scenario": "resonance assessment"})
    meta = dict(rec.meta)
    meta["truth"] = {**meta["truth"], "resonance_rate_bpm": float(resonance_bpm),
                     "resonance_curve": {"peak_gain": SIM_PEAK_GAIN, "floor_gain": SIM_FLOOR_GAIN,
                                         "width_bpm": SIM_WIDTH_BPM,
                                         "gain_by_rate": {f"{r:g}": resonance_gain(r, resonance_bpm) for r in rates_bpm}}}
    return rec.replace(meta=meta)
