"""A simulated day (or week) of wear: desk stress, walks, exercise, meals, sleep, movement and truth.

The heart is the session simulator's own (:func:`calmtrace.signals.simulate.simulate_protocol`:
the mean curve of :mod:`~calmtrace.signals.protocol` and the IPFM beats of
:mod:`~calmtrace.signals.ipfm`), driven by a day-long protocol of :class:`Activity` blocks; nothing
in those modules is changed. Each block also says how the body moves, from which a tri-axial chest
accelerometer is drawn (int16 per axis in mg, like the Polar H10's ACC stream), and what the true
epoch state is (``stress``, ``recovery``, ``activity``, ``neutral``, ``unmeasured``).

The day (:func:`day_plan`), with durations jittered per day from the seed:

=================  ==========  ==============  ================================================
block              truth       movement        heart (Segment knobs)
=================  ==========  ==============  ================================================
wake, desk         neutral     sit / desk      base
breakfast, lunch,  neutral     sit             +4 bpm, 10 % vagal withdrawal (postprandial
dinner                                         rise; a modelling choice)
commute walk       activity    walk (1.8 Hz)   +25 bpm, 50 % withdrawal
run                activity    run (2.6 Hz)    +60 bpm, 80 % withdrawal (Hagberg et al. 1980
                                               on-kinetics, rise 40 s)
cool-down          activity    sit             HR returning after the run (tau 80 s; Imai et
                                               al. 1994); its truth is the run's after-effect
deadline, meeting, stress      desk            +12-20 bpm, 50-60 % withdrawal (TSST-like rises,
presentation,                                  Allen et al. 2014; HF halves under mental stress,
argument                                       Castaldo et al. 2015)
relaxation         recovery    sit             paced breathing 6/min, RSA x 2.5 (Vaschillo,
                                               Lehrer et al. 2002)
shower             unmeasured  (strap off)     beats and acceleration removed, a ``no-contact``
                                               gap
sleep              recovery    lying           -10 bpm, RSA x 1.6, breathing 14/min (nocturnal
                                               HR fall and vagal predominance; a modelling
                                               choice)
=================  ==========  ==============  ================================================

Movement model (all modelling choices, sized so that ENMO, van Hees et al. 2013, lands where
free-living studies put it: sitting well under 20 mg, walking ~80 mg, running > 200 mg; Hildebrand
et al. 2014): gravity of 1000 mg along the body axis (on the sensor's y axis upright, its z axis
lying), white sensor noise of 3 mg, low-passed fidgeting of 4 mg (sit) or 12 mg (desk), and for
walking/running a vertical oscillation at the step frequency of 250 / 700 mg with a 40 % second
harmonic. During sleep the posture turns a few times.

Diary entries (events of kind ``note`` with a 0-10 ``rating``) are written 5 min after every
stressful block (rating from its HR rise plus noise) and at a few calm moments, and one ``sleep``
event spans the night when ``sleep_event`` is true.

Randomness: ``numpy.random.default_rng([seed, 10])`` for the schedule, ``[seed, 11]`` for the
accelerometer, ``[seed, 12]`` for the diary; the heart uses the simulator's own streams.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from ..errors import InputError
from ..events import Event, Events
from ..recording import Recording
from .protocol import Segment, SimParams
from .simulate import simulate_protocol

__all__ = ["Activity", "DaySimulation", "DAY_START", "MOVEMENTS", "TRUTH_STATES", "day_plan",
           "simulate_day", "simulate_acc", "epoch_truth"]

log = logging.getLogger(__name__)

#: Start of a simulated day: 07:00 UTC on a fixed Monday, so output is deterministic.
DAY_START = datetime(2026, 1, 5, 7, 0, 0, tzinfo=timezone.utc)

#: True epoch states of the simulator (the states of :mod:`calmtrace.signals.day`).
TRUTH_STATES = ("stress", "recovery", "activity", "neutral", "unmeasured")

#: Movement kinds: (vertical oscillation amplitude mg, step frequency Hz, fidget SD mg, lying).
MOVEMENTS: dict[str, tuple[float, float, float, bool]] = {
    "sit": (0.0, 0.0, 4.0, False),
    "desk": (0.0, 0.0, 12.0, False),
    "walk": (250.0, 1.8, 20.0, False),
    "run": (700.0, 2.6, 40.0, False),
    "lying": (0.0, 0.0, 2.0, True),
    "off": (0.0, 0.0, 0.0, False),
}

_NOISE_MG = 3.0
_ACC_LIMIT_MG = 8000.0  # the H10's widest range, 8 g


@dataclass(frozen=True)
class Activity:
    """One block of a simulated day.

    Parameters
    ----------
    label : str
        What happens ("deadline", "run").
    truth : str
        True epoch state, one of :data:`TRUTH_STATES`.
    movement : str
        One of :data:`MOVEMENTS`.
    segment : Segment
        The heart's part of the block (mean-HR rise, vagal withdrawal, breathing, tau).
    rating : float
        Diary rating written 5 min after a stressful block (NaN: no entry).
    """

    label: str
    truth: str
    movement: str
    segment: Segment
    rating: float = math.nan

    @property
    def duration_s(self) -> float:
        return float(self.segment.duration_s)


def _block(label: str, truth: str, movement: str, minutes: float, kind: str = "note", amp: float = 0.0,
           withdrawal: float = 0.0, tau: float | None = None, rise: float | None = None,
           breathing: float | None = None, gain: float = 1.0) -> Activity:
    seg = Segment(label, kind, float(minutes) * 60.0, amp, withdrawal, breathing_hz=breathing, rsa_gain=gain,
                  tau_s=tau, rise_s=rise)
    return Activity(label, truth, movement, seg)


def day_plan(rng: np.random.Generator) -> list[Activity]:
    """The blocks of one 24-h day from 07:00, durations and stress sizes jittered by ``rng``.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    list of Activity
        Back to back, 86 400 s in all.
    """
    def j(m: float) -> float:  # +/- 20 % on a block's length, whole minutes
        return float(max(5, round(m * rng.uniform(0.8, 1.2))))

    def stress(label: str, minutes: float) -> Activity:
        amp = float(rng.uniform(12.0, 20.0))
        w = float(rng.uniform(0.5, 0.6))
        a = _block(label, "stress", "desk", j(minutes), "stressor", amp, w, tau=60.0)
        return Activity(a.label, a.truth, a.movement, a.segment, rating=amp)

    sleep_rise = 600.0
    blocks = [
        _block("wake", "neutral", "sit", j(20), rise=300.0),
        _block("breakfast", "neutral", "sit", j(20), amp=4.0, withdrawal=0.1, rise=300.0),
        _block("commute walk", "activity", "walk", j(20), "stressor", 25.0, 0.5, tau=60.0, rise=30.0),
        _block("desk", "neutral", "desk", j(60)),
        stress("deadline", 25),
        _block("desk", "neutral", "desk", j(45)),
        stress("meeting", 20),
        _block("desk", "neutral", "desk", j(50)),
        _block("lunch", "neutral", "sit", j(30), amp=4.0, withdrawal=0.1, rise=300.0),
        _block("desk", "neutral", "desk", j(90), rise=300.0),
        stress("presentation", 15),
        _block("desk", "neutral", "desk", j(90)),
        _block("commute walk", "activity", "walk", j(20), "stressor", 25.0, 0.5, tau=60.0, rise=30.0),
        _block("desk", "neutral", "sit", j(30)),
        _block("run", "activity", "run", j(40), "stressor", 60.0, 0.8, tau=80.0, rise=40.0),
        _block("cool-down", "activity", "sit", 5),
        _block("shower", "unmeasured", "off", j(10)),
        _block("dinner", "neutral", "sit", j(30), amp=4.0, withdrawal=0.1, rise=300.0),
        _block("relaxation", "recovery", "sit", j(15), "intervention", breathing=0.1, gain=2.5, rise=60.0),
        _block("evening", "neutral", "sit", j(60), rise=120.0),
        stress("argument", 15),
        _block("evening", "neutral", "sit", j(60)),
    ]
    used = sum(b.duration_s for b in blocks)
    sleep_s = 8 * 3600.0
    fill = 86400.0 - sleep_s - used
    if fill < 300:
        raise InputError(f"day_plan: the blocks take {used / 3600:.1f} h, no room for the evening")
    blocks.append(_block("evening", "neutral", "sit", fill / 60.0))
    blocks.append(_block("sleep", "recovery", "lying", sleep_s / 60.0, amp=-10.0, breathing=0.23, gain=1.6,
                         rise=sleep_rise))
    return blocks


@dataclass
class DaySimulation:
    """A simulated day: the recording, its accelerometer and the truth.

    Attributes
    ----------
    recording : Recording
        Beats (all ``ok``), the strap-off gaps, diary events with ratings (and the ``sleep`` span).
    acc : pandas.DataFrame
        ``t_s`` (s since start, float64), ``x_mg``, ``y_mg``, ``z_mg`` (int16): the chest
        accelerometer at ``acc_fs_hz``; none during strap-off spans.
    blocks : pandas.DataFrame
        One row per block: ``onset_s``, ``duration_s``, ``label``, ``truth``, ``movement``,
        ``amp_bpm``, ``hf_withdrawal``, ``day``.
    """

    recording: Recording
    acc: pd.DataFrame
    blocks: pd.DataFrame

    def truth(self, epoch_s: float = 60.0) -> pd.DataFrame:
        """True state per epoch (see :func:`epoch_truth`)."""
        return epoch_truth(self.blocks, self.recording.duration_s, epoch_s)


def epoch_truth(blocks: pd.DataFrame, duration_s: float, epoch_s: float = 60.0) -> pd.DataFrame:
    """The true state of every epoch: that of the block holding the epoch's midpoint.

    Parameters
    ----------
    blocks : pandas.DataFrame
        :attr:`DaySimulation.blocks`.
    duration_s : float
        Length of the recording, s.
    epoch_s : float
        Epoch length, s.

    Returns
    -------
    pandas.DataFrame
        ``start_s``, ``end_s``, ``truth``, ``movement``, ``label``, one row per whole epoch.
    """
    n = int(math.floor(duration_s / epoch_s + 1e-9))
    start = np.arange(n) * float(epoch_s)
    mid = start + epoch_s / 2.0
    onset = blocks["onset_s"].to_numpy(float)
    k = np.clip(np.searchsorted(onset, mid, side="right") - 1, 0, len(onset) - 1)
    return pd.DataFrame({"start_s": start, "end_s": start + epoch_s,
                         "truth": blocks["truth"].to_numpy(dtype=object)[k],
                         "movement": blocks["movement"].to_numpy(dtype=object)[k],
                         "label": blocks["label"].to_numpy(dtype=object)[k]})


def simulate_acc(blocks: pd.DataFrame, duration_s: float, fs_hz: float = 25.0, seed: int = 1) -> pd.DataFrame:
    """Tri-axial chest acceleration (mg, int16) for a sequence of blocks.

    Parameters
    ----------
    blocks : pandas.DataFrame
        ``onset_s``, ``duration_s``, ``movement`` (a key of :data:`MOVEMENTS`).
    duration_s : float
        Length, s.
    fs_hz : float
        Sampling rate, Hz (the H10 streams 25-200 Hz).
    seed : int
        ``default_rng([seed, 11])`` draws the noise, fidgeting, step phase and sleep postures.

    Returns
    -------
    pandas.DataFrame
        ``t_s``, ``x_mg``, ``y_mg``, ``z_mg``; no samples in ``off`` blocks.
    """
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise InputError(f"simulate_acc: fs_hz must be > 0, got {fs_hz!r}")
    rng = np.random.default_rng([int(seed), 11])
    parts = []
    for onset, dur, move in zip(blocks["onset_s"].to_numpy(float), blocks["duration_s"].to_numpy(float),
                                blocks["movement"].to_numpy(dtype=object)):
        amp, f_step, fidget, lying = MOVEMENTS[str(move)]
        i0 = int(math.ceil(onset * fs_hz - 1e-9))
        i1 = int(math.ceil(min(onset + dur, duration_s) * fs_hz - 1e-9))
        if move == "off" or i1 <= i0:
            continue
        t = np.arange(i0, i1) / fs_hz
        n = t.size
        xyz = rng.normal(0.0, _NOISE_MG, (n, 3))
        if fidget > 0:
            k = max(int(fs_hz), 1)  # about 1-s smoothing of the fidget noise
            raw = rng.normal(0.0, 1.0, (n + k, 3))
            c = np.cumsum(raw, axis=0)
            sm = (c[k:] - c[:-k]) / math.sqrt(k)
            xyz += fidget * sm[:n]
        if lying:
            # a few turns in the night: the gravity axis changes between z and x
            n_turn = max(1, int(dur // 5400))
            cuts = np.sort(rng.integers(0, n, n_turn))
            posture = np.searchsorted(cuts, np.arange(n), side="right") % 2
            xyz[:, 2] += np.where(posture == 0, 1000.0, 0.0)
            xyz[:, 0] += np.where(posture == 1, 1000.0, 0.0)
        else:
            xyz[:, 1] += 1000.0
        if amp > 0:
            ph = 2 * np.pi * (f_step * t + rng.uniform())
            xyz[:, 1] += amp * (np.sin(ph) + 0.4 * np.sin(2 * ph + 0.5))
            xyz[:, 0] += 0.3 * amp * np.sin(ph / 2.0)  # lateral sway at half the step frequency
        xyz = np.clip(np.rint(xyz), -_ACC_LIMIT_MG, _ACC_LIMIT_MG).astype(np.int16)
        parts.append((t, xyz))
    if not parts:
        return pd.DataFrame({"t_s": np.array([], float), "x_mg": np.array([], np.int16),
                             "y_mg": np.array([], np.int16), "z_mg": np.array([], np.int16)})
    t = np.concatenate([p[0] for p in parts])
    xyz = np.concatenate([p[1] for p in parts])
    return pd.DataFrame({"t_s": t, "x_mg": xyz[:, 0], "y_mg": xyz[:, 1], "z_mg": xyz[:, 2]})


def simulate_day(n_days: int = 1, seed: int = 1, start: datetime | None = None, acc_fs_hz: float = 25.0,
                 sleep_event: bool = True, artifact_pct: float = 0.0,
                 params: SimParams | None = None, with_acc: bool = True) -> DaySimulation:
    """Simulate ``n_days`` of continuous wear with movement and true epoch states.

    Parameters
    ----------
    n_days : int
        Number of consecutive 24-h days (1-14).
    seed : int
        Random seed; the same arguments give the same simulation.
    start : datetime, optional
        Timezone-aware start; default :data:`DAY_START` (07:00 UTC).
    acc_fs_hz : float
        Accelerometer rate, Hz.
    sleep_event : bool
        Add one ``sleep`` event (kind ``note``) per night, as a diary or events file would.
    artifact_pct : float
        Percent of beats made ectopic, missed or extra (see :func:`simulate_protocol`).
    params : SimParams, optional
        The person; ``SimParams()`` by default.
    with_acc : bool
        Draw the accelerometer (False leaves ``acc`` empty, e.g. for the HR-only fallback).

    Returns
    -------
    DaySimulation
    """
    if isinstance(n_days, bool) or not isinstance(n_days, (int, np.integer)) or not 1 <= n_days <= 14:
        raise InputError(f"simulate_day: n_days must be a whole number from 1 to 14, got {n_days!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"simulate_day: seed must be a whole number >= 0, got {seed!r}")
    start = DAY_START if start is None else start
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise InputError(f"simulate_day: start must be a timezone-aware datetime, got {start!r}")
    rng = np.random.default_rng([int(seed), 10])
    acts: list[Activity] = []
    day_of: list[int] = []
    for d in range(int(n_days)):
        plan = day_plan(rng)
        acts.extend(plan)
        day_of.extend([d] * len(plan))
    protocol = [a.segment for a in acts]
    rec = simulate_protocol(protocol, params, seed=int(seed), artifact_pct=artifact_pct, start=start,
                            meta={"scenario": "day", "subject": "sim-day-01", "n_days": int(n_days)})
    dur = np.array([a.duration_s for a in acts])
    onset = np.concatenate(([0.0], np.cumsum(dur)[:-1]))
    blocks = pd.DataFrame({
        "onset_s": onset, "duration_s": dur, "label": [a.label for a in acts],
        "truth": [a.truth for a in acts], "movement": [a.movement for a in acts],
        "amp_bpm": [a.segment.amp_bpm for a in acts], "hf_withdrawal": [a.segment.hf_withdrawal for a in acts],
        "day": day_of,
    })
    # the strap is off in the "off" blocks: no beats, a no-contact gap
    beats = rec.beats
    t = beats["t_s"].to_numpy(float)
    keep = np.ones(t.size, bool)
    gaps = []
    for o, d, m in zip(onset, dur, blocks["movement"]):
        if m == "off":
            keep &= ~((t >= o) & (t < o + d))
            gaps.append((float(o), float(d), "no-contact"))
    beats = beats.loc[keep].reset_index(drop=True)
    gap_df = pd.concat([rec.gaps, pd.DataFrame(gaps, columns=["onset_s", "duration_s", "reason"])],
                       ignore_index=True) if gaps else rec.gaps
    # diary: a rated entry 5 min after each stressful block, and calm entries after some desk blocks
    drng = np.random.default_rng([int(seed), 12])
    events = []
    for a, o in zip(acts, onset):
        end = o + a.duration_s
        if a.truth == "stress":
            r = float(np.clip(np.rint(a.rating / 2.5 + drng.normal(0.0, 1.0)), 0, 10))
            events.append(Event(float(end + 300.0), 0.0, f"diary: after {a.label}", "note", r))
        elif a.label in ("desk", "evening") and a.duration_s >= 2400 and drng.uniform() < 0.5:
            r = float(np.clip(np.rint(drng.normal(2.0, 1.0)), 0, 10))
            events.append(Event(float(o + a.duration_s / 2.0), 0.0, f"diary: {a.label}", "note", r))
        if sleep_event and a.label == "sleep":
            events.append(Event(float(o), float(a.duration_s), "sleep", "note"))
    total = float(dur.sum())
    events = [e for e in events if e.onset_s + e.duration_s <= total]
    meta = dict(rec.meta)
    meta["day_truth"] = {"blocks": int(len(blocks)), "acc_fs_hz": float(acc_fs_hz),
                         "note": "truth per block in DaySimulation.blocks (signals/day_sim.py)"}
    rec = Recording(start=rec.start, beats=beats[["t_s", "rr_ms"]], gaps=gap_df, events=Events(events), meta=meta)
    acc = simulate_acc(blocks, total, acc_fs_hz, int(seed)) if with_acc else simulate_acc(blocks.iloc[:0], 0.0)
    log.debug("simulated %d day(s): %d beats, %d acceleration samples", n_days, len(beats), len(acc))
    return DaySimulation(rec, acc, blocks)

