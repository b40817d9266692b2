"""ECG -> R-peaks -> beats.

R-peaks are found with neurokit2 (``nk.ecg_clean`` then ``nk.ecg_peaks``) and turned into a beat
table (``t_s``, ``rr_ms``). neurokit2's own artefact correction (``correct_artifacts``) stays OFF:
finding and correcting ectopic, missed and extra beats is the job of :mod:`calmtrace.signals.clean`,
which keeps a per-beat flag of what it changed.

Measured on MIT-BIH Arrhythmia record 100 (MLII, 360 Hz, 30 min, 2273 annotated beats; 150 ms
match window of ANSI/AAMI EC57): method ``neurokit`` finds 2270 beats, sensitivity 0.9987,
positive predictivity 1.0000, median absolute timing error 0.0 ms, 95th percentile 2.8 ms. See
``docs/ecg.md``.

Where the ECG has holes (samples missing between two time stamps), each stretch of contiguous
samples is searched separately and no RR interval is formed across a hole.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ..recording import Recording

__all__ = [
    "DetectedBeats",
    "detect_beats",
    "beats_from_times",
    "ecg_to_recording",
    "METHODS",
    "DEFAULT_METHOD",
    "GAP_RR_MS",
    "MIN_FS_HZ",
    "MIN_SEGMENT_S",
    "KEEP_ECG_MAX_SAMPLES",
    "SAMPLE_GAP_FACTOR",
]

log = logging.getLogger(__name__)

#: R-peak detectors of neurokit2 offered here (measured in docs/ecg.md; elgendi2010 and
#: christov2004 are left out: PPV 0.93 and a 97 ms 95th-percentile timing error on MIT-BIH 100).
#: ``neurokit`` is the default: on MIT-BIH record 100, sensitivity 0.9987, PPV 1.0, median timing
#: error 0 ms; 98.3 % agreement with a Polar H10's own RR values; and the fewest implausible
#: intervals on NeuroKit2's noisy 100 Hz resting file (engzeemod2012 agrees 99.0 % with the H10
#: but gives five times as many implausible intervals in noise, and is 13 times slower).
METHODS: tuple[str, ...] = (
    "neurokit",
    "pantompkins1985",
    "hamilton2002",
    "engzeemod2012",
    "kalidas2017",
    "rodrigues2021",
    "nabian2018",
)
DEFAULT_METHOD = "neurokit"

#: Longest RR interval kept, ms. A longer interval is a hole in the data (lost contact, a noisy
#: stretch without detectable beats), recorded as a gap instead of a beat. 3 s is the pause length
#: the 2018 ACC/AHA/HRS bradycardia guideline (Kusumoto et al. 2019) treats as clinically
#: significant, far beyond any RR interval of an awake adult in sinus rhythm.
GAP_RR_MS = 3000.0

#: Lowest ECG sampling rate accepted, Hz. Below it the QRS band (5-15 Hz, Pan & Tompkins 1985)
#: sits too close to the Nyquist frequency for neurokit2's filters; the Task Force (1996)
#: recommends 250-500 Hz for HRV, and consumer straps stream 130 Hz (Polar H10).
MIN_FS_HZ = 50.0

#: Shortest stretch of contiguous ECG searched for R-peaks, s: two beats at 30 bpm. Shorter
#: stretches are too short for neurokit2's filters (padding) and smoothing windows.
MIN_SEGMENT_S = 4.0

#: Largest ECG kept in :attr:`Recording.ecg`, samples: about 2 h at 130 Hz (Polar H10) or 46 min
#: at 360 Hz, some 25 MB as ``ecg.csv``. Longer ECG gives beats but is not kept.
KEEP_ECG_MAX_SAMPLES = 1_000_000

#: A step between two sample time stamps longer than this many nominal sample periods means at
#: least one sample is missing: the ECG is split there (a missing sample is the smallest hole).
SAMPLE_GAP_FACTOR = 1.5


@dataclass(frozen=True)
class DetectedBeats:
    """R-peaks found in an ECG.

    Attributes
    ----------
    peak_idx : numpy.ndarray of int
        Sample index of each R-peak.
    t_s : numpy.ndarray of float
        Time of each R-peak in s (``t0_s + peak_idx / fs_hz``, or the sample's own time stamp).
    rr_ms : numpy.ndarray of float
        Interval between consecutive R-peaks in ms; ``rr_ms[i]`` ends at ``t_s[i + 1]``, so it has
        one element fewer than ``t_s``.
    fs_hz : float
        Sampling rate of the ECG, Hz.
    method : str
        The neurokit2 method used.
    """

    peak_idx: np.ndarray
    t_s: np.ndarray
    rr_ms: np.ndarray
    fs_hz: float
    method: str

    def __len__(self) -> int:
        return len(self.peak_idx)


def _check_fs(fs_hz: float) -> float:
    try:
        fs = float(fs_hz)
    except (TypeError, ValueError):
        raise InputError(f"fs_hz must be a number in Hz, got {fs_hz!r}") from None
    if not np.isfinite(fs) or fs < MIN_FS_HZ:
        raise InputError(f"fs_hz must be at least {MIN_FS_HZ:g} Hz to detect R-peaks, got {fs_hz!r}")
    return fs


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return method


def _as_signal(ecg: object) -> np.ndarray:
    try:
        x = np.asarray(ecg, dtype=float)
    except (TypeError, ValueError):
        raise InputError("ecg must be a 1-D sequence of numbers") from None
    if x.ndim != 1:
        raise InputError(f"ecg must be 1-D, got an array of shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise InputError(f"ecg sample {bad[0]}: must be a finite number, got {x[bad[0]]!r}")
    return x


def _find_peaks(x: np.ndarray, fs: float, method: str) -> np.ndarray:
    """Run neurokit2 on one contiguous stretch; sample indices of its R-peaks."""
    import neurokit2 as nk  # imported here: it takes a second to import, and only ECG needs it

    if len(x) < MIN_SEGMENT_S * fs or np.ptp(x) == 0:
        return np.array([], dtype=int)
    # neurokit2 reports numerical trouble (e.g. a flat stretch) through `warnings`; calmtrace
    # reports through `logging`, so its warnings are caught here and logged, not lost or raised.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clean = nk.ecg_clean(x, sampling_rate=fs, method="neurokit")
            _, info = nk.ecg_peaks(clean, sampling_rate=fs, method=method, correct_artifacts=False)
        except Exception as exc:  # neurokit2 raises bare ValueError/TypeError/IndexError
            raise AnalysisError(f"R-peak detection ({method}) failed: {exc}") from exc
    for w in caught:
        log.info("neurokit2 (%s): %s", method, w.message)
    peaks = np.asarray(info.get("ECG_R_Peaks", []), dtype=float)
    peaks = peaks[np.isfinite(peaks)].astype(int)
    return np.unique(peaks[(peaks >= 0) & (peaks < len(x))])


def _segments(sample_t_s: np.ndarray | None, n: int, fs: float) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of contiguous samples."""
    if sample_t_s is None or n < 2:
        return [(0, n)]
    cuts = np.flatnonzero(np.diff(sample_t_s) > SAMPLE_GAP_FACTOR / fs) + 1
    edges = np.concatenate([[0], cuts, [n]])
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def detect_beats(
    ecg: np.ndarray,
    fs_hz: float,
    method: str = DEFAULT_METHOD,
    *,
    t0_s: float = 0.0,
    sample_t_s: np.ndarray | None = None,
) -> DetectedBeats:
    """Find R-peaks in an ECG.

    Parameters
    ----------
    ecg : array of float
        The ECG, any units (µV, mV): detection does not depend on scale.
    fs_hz : float
        Sampling rate in Hz, at least :data:`MIN_FS_HZ`. With ``sample_t_s`` it is the nominal
        rate, used for filtering and to tell where samples are missing.
    method : str
        A neurokit2 R-peak method, one of :data:`METHODS`; default :data:`DEFAULT_METHOD`
        (measured best, see the module docstring).
    t0_s : float
        Time of the first sample in s, used when ``sample_t_s`` is not given.
    sample_t_s : array of float, optional
        Time stamp of every sample in s, strictly increasing. Where a step exceeds
        :data:`SAMPLE_GAP_FACTOR` sample periods, the ECG is split and each part searched on its own.

    Returns
    -------
    DetectedBeats
        Peak indices, their times in s and the RR intervals in ms between them (intervals that
        span a hole in ``sample_t_s`` included; :func:`beats_from_times` drops them).

    Raises
    ------
    InputError
        When the ECG, the rate, the method or the time stamps are invalid.
    AnalysisError
        When neurokit2 fails on the signal.
    """
    x = _as_signal(ecg)
    fs = _check_fs(fs_hz)
    method = _check_method(method)
    if len(x) < MIN_SEGMENT_S * fs:
        raise InputError(
            f"ECG of {len(x)} samples ({len(x) / fs:.3g} s at {fs:g} Hz) is too short to find beats; "
            f"need at least {MIN_SEGMENT_S:g} s"
        )
    times = None
    if sample_t_s is not None:
        times = np.asarray(sample_t_s, dtype=float)
        if times.shape != x.shape:
            raise InputError(f"sample_t_s has {times.size} values for {x.size} ECG samples")
        if not np.all(np.isfinite(times)):
            raise InputError("sample_t_s must be finite numbers")
        bad = np.flatnonzero(np.diff(times) <= 0)
        if bad.size:
            raise InputError(
                f"sample_t_s must be strictly increasing: sample {bad[0] + 1} at {times[bad[0] + 1]!r} s "
                f"follows {times[bad[0]]!r} s"
            )
    segments = _segments(times, len(x), fs)
    too_short = sum(b - a for a, b in segments if b - a < MIN_SEGMENT_S * fs)
    if too_short > 0.01 * len(x):
        log.warning("%d of %d ECG samples lie in stretches shorter than %g s between holes; no beats "
                    "are searched there", too_short, len(x), MIN_SEGMENT_S)
    parts = [_find_peaks(x[a:b], fs, method) + a for a, b in segments]
    idx = np.concatenate(parts).astype(int) if parts else np.array([], dtype=int)
    t = times[idx] if times is not None else float(t0_s) + idx / fs
    return DetectedBeats(peak_idx=idx, t_s=t, rr_ms=np.diff(t) * 1000.0, fs_hz=fs, method=method)


def beats_from_times(
    beat_t_s: np.ndarray,
    holes: list[tuple[float, float]] | None = None,
    gap_rr_ms: float = GAP_RR_MS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Beat table and gaps from the times of successive beats.

    Every beat but the first closes the interval from the one before. An interval longer than
    ``gap_rr_ms``, or one that spans a hole in the data, is not a beat but a gap (reason
    ``import``); a time equal to the one before (a repeated time stamp) is dropped.

    Parameters
    ----------
    beat_t_s : array of float
        Beat times in s, non-decreasing.
    holes : list of (start_s, end_s), optional
        Stretches without data (missing ECG samples); no interval is formed across them.
    gap_rr_ms : float
        Longest interval kept as a beat, ms; default :data:`GAP_RR_MS`.

    Returns
    -------
    beats : pandas.DataFrame
        ``t_s``, ``rr_ms``.
    gaps : pandas.DataFrame
        ``onset_s``, ``duration_s``, ``reason``: one row per interval that was not kept, and one
        per hole that no interval covered.
    """
    t = np.asarray(beat_t_s, dtype=float)
    if t.size and (not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0)):
        raise InputError("beat times must be finite and non-decreasing")
    t = t[np.concatenate([[True], np.diff(t) > 0])] if t.size else t
    rr = np.diff(t) * 1000.0
    prev, nxt = t[:-1], t[1:]
    spans_hole = np.zeros(len(rr), dtype=bool)
    for h0, h1 in holes or []:
        spans_hole |= (prev < h1) & (nxt > h0)
    keep = (rr <= gap_rr_ms) & ~spans_hole
    beats = pd.DataFrame({"t_s": nxt[keep], "rr_ms": rr[keep]})
    gap_on = list(prev[~keep])
    gap_len = list((nxt - prev)[~keep])
    for h0, h1 in holes or []:
        covered = np.any((prev[~keep] <= h0) & (nxt[~keep] >= h1))
        if not covered:
            gap_on.append(h0)
            gap_len.append(h1 - h0)
    gaps = pd.DataFrame(
        {"onset_s": np.array(gap_on, float), "duration_s": np.array(gap_len, float),
         "reason": pd.Series(["import"] * len(gap_on), dtype=object)}
    )
    return beats, gaps.sort_values("onset_s", kind="stable").reset_index(drop=True)


def _holes(sample_t_s: np.ndarray | None, fs: float) -> list[tuple[float, float]]:
    if sample_t_s is None or len(sample_t_s) < 2:
        return []
    sample_t_s = np.asarray(sample_t_s, dtype=float)
    i = np.flatnonzero(np.diff(sample_t_s) > SAMPLE_GAP_FACTOR / fs)
    return [(float(sample_t_s[k]), float(sample_t_s[k + 1])) for k in i]


def ecg_to_recording(
    ecg: np.ndarray,
    fs_hz: float,
    start: datetime,
    meta: dict | None = None,
    t0_s: float = 0.0,
    *,
    sample_t_s: np.ndarray | None = None,
    method: str = DEFAULT_METHOD,
    hr: pd.DataFrame | None = None,
    events=None,
    units: str = "uV",
    keep_ecg_max_samples: int = KEEP_ECG_MAX_SAMPLES,
) -> Recording:
    """A :class:`Recording` whose beats are the R-peaks of an ECG.

    Parameters
    ----------
    ecg : array of float
        The ECG, in ``units``.
    fs_hz : float
        Sampling rate in Hz (nominal when ``sample_t_s`` is given).
    start : datetime
        Timezone-aware datetime of ``t_s = 0``.
    meta : dict, optional
        Metadata of the source; ``beats_source``, ``ecg_method``, ``ecg_fs_hz``, ``ecg_samples``,
        ``ecg_units`` and ``ecg_kept`` are added.
    t0_s : float
        Time of the first sample in s since ``start`` (without ``sample_t_s``).
    sample_t_s : array of float, optional
        Time of every sample in s since ``start``; holes in it become gaps (reason ``import``).
    method : str
        neurokit2 R-peak method, default :data:`DEFAULT_METHOD`.
    hr : pandas.DataFrame, optional
        Device heart-rate samples (``t_s``, ``hr_bpm``) to keep beside the beats.
    events : Events, optional
        Events of the source.
    units : str
        Units of ``ecg`` as stored in ``Recording.ecg["ecg_uv"]``: ``"uV"`` when they are µV.
    keep_ecg_max_samples : int
        Keep the ECG in :attr:`Recording.ecg` only up to this many samples; default
        :data:`KEEP_ECG_MAX_SAMPLES`.

    Returns
    -------
    Recording
        Beats from R-peaks (no artefact correction; flags all ``ok``), gaps for holes and for
        intervals longer than :data:`GAP_RR_MS`.
    """
    x = _as_signal(ecg)
    fs = _check_fs(fs_hz)
    found = detect_beats(x, fs, method, t0_s=t0_s, sample_t_s=sample_t_s)
    times = np.asarray(sample_t_s, float) if sample_t_s is not None else float(t0_s) + np.arange(len(x)) / fs
    beats, gaps = beats_from_times(found.t_s, holes=_holes(sample_t_s, fs))
    import neurokit2 as nk

    info = dict(meta or {})
    info.update(
        beats_source="ecg",
        ecg_method=f"neurokit2 {nk.__version__} ecg_clean(neurokit) + ecg_peaks({method}), no artefact correction",
        ecg_fs_hz=round(fs, 6),
        ecg_samples=int(len(x)),
        ecg_units=units,
        ecg_kept=bool(len(x) <= keep_ecg_max_samples),
    )
    if len(beats) == 0:
        log.warning("no beats found in %d s of ECG", int(len(x) / fs))
    kept = pd.DataFrame({"t_s": times, "ecg_uv": x}) if info["ecg_kept"] else None
    kwargs = {} if events is None else {"events": events}
    return Recording(start=start, beats=beats, gaps=gaps, hr=hr, meta=info, ecg=kept, **kwargs)
