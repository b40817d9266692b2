"""A couples session in the simulator: two people on one clock, their heart rates coupled or not.

Each partner is the simulator's person (:mod:`calmtrace.signals.protocol`,
:mod:`calmtrace.signals.ipfm`) going through the same scripted protocol (:func:`couple_protocol`:
baseline, a conflict discussion as the shared stressor, repair). On top of the drive of
:class:`~calmtrace.signals.ipfm.Drive` each partner's heart rate carries a slow *arousal*
fluctuation ``arousal_bpm * u(t)``, where ``u`` is unit-variance Gaussian noise band-limited to
:data:`AROUSAL_BAND_HZ`. Partner A's ``u_A`` is their own; partner B's is::

    u_B(t) = sqrt(1 - s(t)^2) * e_B(t) + s(t) * u_A(t - lag_s)

with ``e_B`` B's own noise (independent of A's), ``s(t)`` the coupling strength of the protocol
segment at ``t`` (0-1) and ``lag_s`` how long B follows A. ``s`` is then the correlation of B's
arousal with A's arousal ``lag_s`` earlier; with ``s = 0`` the two are independent and share only
the task timing (both hearts speed up in the conflict discussion because of the task, not because
of each other). The truth is written to each recording's ``meta["truth"]["dyad"]``.

The model is a test bench for :mod:`calmtrace.signals.dyad`, not a theory of couples: real
partners influence each other both ways, through breathing, talk and movement (Palumbo et al.
2017, Pers Soc Psychol Rev 21:99-141, review the mechanisms).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np
from scipy import signal

from ..errors import InputError
from ..recording import Recording
from .ipfm import Drive
from .protocol import _COARSE_HZ, Segment, SimParams
from .simulate import DEFAULT_START, simulate_protocol

__all__ = ["AROUSAL_BAND_HZ", "couple_protocol", "simulate_dyad", "simulate_dyad_series", "DyadDrive"]

#: Band of the slow arousal fluctuation in Hz: periods of 10 s to about a minute, the band of the
#: heart-rate changes that synchrony studies follow (slower than breathing, which the HF band
#: 0.15-0.4 Hz of Task Force 1996 holds). A modelling choice.
AROUSAL_BAND_HZ: tuple[float, float] = (0.015, 0.1)
_PAD_S = 120.0  # arousal is drawn this far before 0 so that u_A(t - lag) exists at t = 0


def couple_protocol(tau_s: float = 60.0, amp_bpm: float = 12.0, hf_withdrawal: float = 0.4,
                    baseline_s: float = 300.0, conflict_s: float = 600.0, repair_s: float = 600.0) -> list[Segment]:
    """The couples protocol: baseline, a conflict discussion (the shared stressor), repair.

    Parameters
    ----------
    tau_s : float
        This partner's recovery time constant after the discussion, s.
    amp_bpm : float
        This partner's mean heart-rate rise during the discussion, bpm. Default 12, a modelling
        choice below the 10-25 bpm of the Trier Social Stress Test (Allen et al. 2014).
    hf_withdrawal : float
        Share of vagal modulation withdrawn during the discussion, 0-1.
    baseline_s, conflict_s, repair_s : float
        Segment lengths, s (default 5, 10 and 10 minutes: a rest period, a discussion of a
        disagreement and a recovery, after the design of Levenson & Gottman 1983; the lengths are
        a modelling choice).

    Returns
    -------
    list of Segment
    """
    return [
        Segment("baseline", "baseline", float(baseline_s)),
        Segment("conflict discussion", "stressor", float(conflict_s), float(amp_bpm), float(hf_withdrawal),
                tau_s=float(tau_s)),
        Segment("repair", "recovery", float(repair_s)),
    ]


class DyadDrive(Drive):
    """A :class:`~calmtrace.signals.ipfm.Drive` plus a given arousal fluctuation (bpm).

    Parameters
    ----------
    protocol, params, seed
        As :class:`~calmtrace.signals.ipfm.Drive`.
    arousal_t_s : array of float
        Grid times of the arousal series, s.
    arousal_bpm : array of float
        Arousal added to the heart rate at those times, bpm (interpolated in between).
    """

    def __init__(self, protocol: Sequence[Segment], params: SimParams, seed: int,
                 arousal_t_s: np.ndarray, arousal_bpm: np.ndarray) -> None:
        super().__init__(protocol, params, seed)
        self._arousal_t = np.asarray(arousal_t_s, float)
        self._arousal = np.asarray(arousal_bpm, float)

    def components(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Every component of :meth:`Drive.components` plus ``arousal`` (bpm), in ``hr``."""
        c = super().components(t_s)
        t = np.asarray(t_s, float)
        arousal = np.interp(t, self._arousal_t, self._arousal)
        c["arousal"] = arousal
        c["hr"] = np.maximum(c["mean"] + c["rsa"] + c["mayer"] + c["noise"] + arousal, self.params.min_hr_bpm)
        return c


def _band_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    sos = signal.butter(2, AROUSAL_BAND_HZ, btype="bandpass", fs=_COARSE_HZ, output="sos")
    x = signal.sosfiltfilt(sos, rng.standard_normal(n))
    return x / x.std()


def _coupling_curve(coupling: float | Mapping[str, float], protocol: Sequence[Segment],
                    t_s: np.ndarray) -> np.ndarray:
    labels = [s.label for s in protocol]
    if isinstance(coupling, Mapping):
        unknown = sorted(set(coupling) - set(labels))
        if unknown:
            raise InputError(f"simulate_dyad: coupling names unknown segment {unknown[0]!r}; "
                             f"segments: {', '.join(labels)}")
        per_seg = [float(coupling.get(lab, 0.0)) for lab in labels]
    else:
        per_seg = [float(coupling)] * len(protocol)
    for lab, v in zip(labels, per_seg):
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise InputError(f"simulate_dyad: coupling of {lab!r} must be from 0 to 1, got {v!r}")
    edges = np.concatenate(([0.0], np.cumsum([s.duration_s for s in protocol])))
    k = np.clip(np.searchsorted(edges, t_s, side="right") - 1, 0, len(protocol) - 1)
    return np.asarray(per_seg, float)[k]


def simulate_dyad(
    seed: int = 1,
    coupling: float | Mapping[str, float] = 0.5,
    lag_s: float = 5.0,
    arousal_bpm: float = 2.0,
    tau_s: tuple[float, float] = (60.0, 120.0),
    amp_bpm: tuple[float, float] = (14.0, 10.0),
    base_hr_bpm: tuple[float, float] = (66.0, 74.0),
    start: datetime | None = None,
    couple: str = "sim-couple-01",
    artifact_pct: float = 0.0,
    protocol_s: tuple[float, float, float] = (300.0, 600.0, 600.0),
) -> tuple[Recording, Recording]:
    """Simulate a couples session: partner A and partner B on one clock.

    Parameters
    ----------
    seed : int
        Random seed (>= 0); A's drive uses ``2 * seed``, B's ``2 * seed + 1``, the arousal
        ``numpy.random.default_rng([seed, 7])``.
    coupling : float or mapping of segment label to float
        Strength ``s`` (0-1) with which B's arousal follows A's; one value for the whole session
        or one per segment of :func:`couple_protocol` (missing labels: 0). 0: independent
        partners sharing only the task timing.
    lag_s : float
        How long B's arousal follows A's, s (>= 0, at most 60).
    arousal_bpm : float
        Standard deviation of each partner's arousal fluctuation, bpm. Default 2, a modelling
        choice of the same order as the Mayer waves and RSA of the simulated person.
    tau_s, amp_bpm, base_hr_bpm : (float, float)
        Per partner (A, B): recovery time constant after the discussion (s), heart-rate rise
        during it (bpm) and resting heart rate (bpm). Defaults make B react less and recover more
        slowly than A, so that co-regulation figures differ between them.
    start : datetime, optional
        Timezone-aware start of both recordings; default :data:`DEFAULT_START`.
    couple : str
        Couple id; the subjects are ``<couple>-A`` and ``<couple>-B``.
    artifact_pct : float
        Artefact percentage of each recording (see :func:`simulate_protocol`).
    protocol_s : (float, float, float)
        Lengths of baseline, conflict discussion and repair, s.

    Returns
    -------
    (Recording, Recording)
        A and B. ``meta["truth"]["dyad"]`` holds ``coupling`` (per segment), ``lag_s``,
        ``leader`` ("A") and ``arousal_bpm``; ``meta["couple"]`` the couple id and the partner.

    Raises
    ------
    InputError
        On a coupling outside 0-1, a negative or too long lag, or a bad seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"simulate_dyad: seed must be a whole number >= 0, got {seed!r}")
    if not (isinstance(lag_s, (int, float)) and 0.0 <= lag_s <= 60.0):
        raise InputError(f"simulate_dyad: lag_s must be from 0 to 60 s, got {lag_s!r}")
    if not (isinstance(arousal_bpm, (int, float)) and math.isfinite(arousal_bpm) and arousal_bpm >= 0):
        raise InputError(f"simulate_dyad: arousal_bpm must be a number >= 0, got {arousal_bpm!r}")
    start = DEFAULT_START if start is None else start
    protocols = [couple_protocol(tau_s=tau_s[i], amp_bpm=amp_bpm[i], baseline_s=protocol_s[0],
                                 conflict_s=protocol_s[1], repair_s=protocol_s[2]) for i in (0, 1)]
    duration_s = float(sum(protocol_s))
    n = int(math.ceil((duration_s + 2 * _PAD_S) * _COARSE_HZ)) + 1
    tc = -_PAD_S + np.arange(n) / _COARSE_HZ
    rng = np.random.default_rng([int(seed), 7])
    u_a = _band_noise(rng, n)
    e_b = _band_noise(rng, n)
    s = _coupling_curve(coupling, protocols[0], tc)
    u_b = np.sqrt(1.0 - s ** 2) * e_b + s * np.interp(tc - float(lag_s), tc, u_a)
    per_seg = {seg.label: float(_coupling_curve(coupling, protocols[0], np.array([o + 1.0]))[0])
               for seg, o in zip(protocols[0], np.concatenate(([0.0], np.cumsum(protocol_s)[:-1])))}
    recs = []
    for i, (who, u) in enumerate((("A", u_a), ("B", u_b))):
        params = SimParams(base_hr_bpm=float(base_hr_bpm[i]))
        drive_seed = 2 * int(seed) + i
        drive = DyadDrive(protocols[i], params, drive_seed, tc, float(arousal_bpm) * u)
        truth: dict[str, Any] = {"coupling": per_seg, "lag_s": float(lag_s), "leader": "A",
                                 "arousal_bpm": float(arousal_bpm), "arousal_band_hz": list(AROUSAL_BAND_HZ),
                                 "model": "u_B(t) = sqrt(1 - s^2) e_B(t) + s u_A(t - lag_s)"}
        rec = simulate_protocol(protocols[i], params, seed=drive_seed, artifact_pct=artifact_pct, start=start,
                                meta={"scenario": "couple", "subject": f"{couple}-{who}",
                                      "couple": {"id": couple, "partner": who}},
                                drive=drive)
        rec.meta["seed"] = int(seed)
        rec.meta["truth"]["dyad"] = truth
        recs.append(rec)
    return recs[0], recs[1]


def simulate_dyad_series(n_sessions: int = 6, seed: int = 1, couple: str = "sim-couple-01",
                         start: datetime | None = None, conflict_first: float = 0.7, conflict_last: float = 0.2,
                         repair_first: float = 0.1, repair_last: float = 0.6, lag_s: float = 5.0) -> list[tuple[Recording, Recording]]:
    """Weekly couples sessions in which synchrony moves from the conflict to the repair phase.

    Session ``k`` (0-based) starts ``k`` weeks after ``start`` and uses seed ``seed + k``; the
    coupling of the conflict discussion goes linearly from ``conflict_first`` to
    ``conflict_last`` and that of repair from ``repair_first`` to ``repair_last`` (a modelling
    choice mimicking a couple that learns to settle together after a disagreement).

    Returns
    -------
    list of (Recording, Recording)
        ``meta["series"]`` has ``session`` (1-based) and ``n_sessions``.
    """
    if isinstance(n_sessions, bool) or not isinstance(n_sessions, int) or n_sessions < 1:
        raise InputError(f"simulate_dyad_series: n_sessions must be a whole number >= 1, got {n_sessions!r}")
    start = DEFAULT_START if start is None else start
    out = []
    for k in range(n_sessions):
        x = k / (n_sessions - 1) if n_sessions > 1 else 0.0
        coupling = {"conflict discussion": round(conflict_first + (conflict_last - conflict_first) * x, 4),
                    "repair": round(repair_first + (repair_last - repair_first) * x, 4)}
        pair = simulate_dyad(seed=seed + k, coupling=coupling, lag_s=lag_s, start=start + timedelta(weeks=k),
                             couple=couple)
        for r in pair:
            r.meta["series"] = {"session": k + 1, "n_sessions": n_sessions, "series_seed": seed}
        out.append(pair)
    return out
