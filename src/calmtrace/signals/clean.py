"""RR artefact detection and correction, with a flag per beat.

Two detectors, chosen by :attr:`CleanConfig.method`.

**pattern** (the default): calmtrace's pattern-aware detector, for recordings where ectopy is
frequent. Median- and quartile-based thresholds fail there, because the neighbourhood they learn
from is itself ectopic (in bigeminy half the intervals are premature). This detector judges each
interval against the median of the *normal* intervals around it (:attr:`CleanConfig.
reference_beats` either side), found in two passes: a first reference is the moving median of the
mean of two successive intervals, which stays at the sinus cycle across a premature beat and its
compensatory pause; intervals that are neither premature, nor the pause after one, nor part of an
extra or missed beat are then taken as normal, and the classification is repeated against their
median. Classes (``ref`` the reference, ``p`` = :attr:`CleanConfig.premature_share`, ``tol`` =
:attr:`CleanConfig.sum_tolerance`):

* premature: ``rr[k] < (1 - p) ref``, or a premature-compensatory pair (``rr[k]`` short by more
  than :attr:`CleanConfig.pattern_premature_share` and ``rr[k+1]`` long by more than
  :attr:`CleanConfig.pattern_pause_share`); a run of such intervals counts only when it starts
  with a sudden drop and ends with a sudden rise (:attr:`CleanConfig.abrupt_share`) and lasts at
  most :attr:`CleanConfig.max_run_beats` beats, because sinus rhythm reaches and leaves short
  intervals over several beats. Each run is spread evenly between the beat before and the beat
  after it (an isolated premature beat moves to the midpoint of its neighbours, Lipponen &
  Tarvainen's correction of ectopic beats): ``ectopic`` on each moved beat, one flag per event;
  the beat closing the compensatory pause keeps its time and ``ok``, its interval now the
  other half of the pair;
* extra: a short interval that with the next one makes one normal interval (their sum within
  ``tol`` of ``ref``): the beat between them is removed, ``extra`` on the beat after it;
* missed: an interval that matches the sum of its two neighbouring intervals, both of normal
  length (within ``tol`` of that sum): a beat is inserted midway (``interpolated``), ``missed``
  on the beat closing the interval. An interval is never split because it is long for the local
  median alone, so no beat is invented in a sinus series.

Measured against expert labels (MIT-BIH Long-Term ECG, three records, ``bench/ectopy_ltdb.py``;
abnormal beats whose RR is at least 15 % off the median of the normal intervals around them):
95.8 % found at 97.0 % precision, where Lipponen & Tarvainen's method (neurokit2) finds 21.8 % at
33.6 %. The premature beats found are the ectopy count below.

**lipponen-tarvainen**, the reference method, kept as published (it may split an interval that is
only long for its neighbourhood, and in frequent ectopy flags few premature beats; both are why it
is not the default). The method is Lipponen & Tarvainen (2019), "A robust algorithm for heart rate variability time
series artefact correction using novel beat classification" (J Med Eng Technol 43(3):173-181),
as implemented by neurokit2's ``signal_fixpeaks(method="kubios")`` and run here through
:mod:`calmtrace.signals.kubios`, a vectorised port of it that gives identical results (checked
against neurokit2 by the tests) about ten times faster, without importing neurokit2. It
classifies beats from the successive differences of RR and their deviation from a local median,
against thresholds that adapt over a 91-beat window, into four classes, and corrects each:

============  ===================================================  ==============================
class         what the method does to the peak series              flag in the cleaned beats
============  ===================================================  ==============================
ectopic       moves the beat to the midpoint of its neighbours     ``ectopic`` on the moved beat
long/short    moves the beat to the midpoint of its neighbours     ``corrected`` on the moved beat
missed        inserts a beat midway into the too-long interval     ``interpolated`` on the inserted
                                                                   beat, ``missed`` on the beat
                                                                   that closed the long interval
extra         deletes the spurious beat                            ``extra`` on the beat after it
                                                                   (its RR now spans both parts;
                                                                   the method often also moves
                                                                   that beat a little, as
                                                                   long/short)
============  ===================================================  ==============================

So the cleaned table can have more rows (missed) or fewer (extra) than the input. Every row keeps
the invariant of :class:`~calmtrace.recording.Recording`: ``t_s`` strictly increasing, ``rr_ms``
the interval ending at ``t_s``. A beat whose own time was not changed keeps its original ``t_s``;
its ``rr_ms`` is the original value unless the beat before it was moved, inserted or removed, in
which case ``rr_ms`` is the difference of the corrected times (so a flag says what happened to
the *beat*, as in Kubios' "beats corrected" count; the interval after a moved beat changes too,
while its beat stays ``ok``). Moved and inserted beats get their time by linear interpolation of
the original beat times. A beat that was flagged before cleaning keeps its flag.

Persistent ectopy, either method: ``meta["cleaning"]["ectopy"]`` records the premature beats
found (by the pattern detector, or by the screen below), their share of the beats; when the
share exceeds :attr:`CleanConfig.ectopy_warn_share` (10 %), ``meta["cleaning"]["warnings"]`` says
that HRV from the recording is not a measure of autonomic modulation.

Lipponen & Tarvainen and persistent ectopy. The method's thresholds adapt to the recording, so in bigeminy or trigeminy
(every second or third beat premature) they learn the pattern as normal variability and flag
only a few of the premature beats. A fixed-threshold screen therefore follows it. On each
segment's recorded RR, beat k is premature when its RR is more than 20 % shorter than a local
reference and the next RR is more than 15 % longer (a short-long sequence: a premature beat and
its compensatory pause; the 20 % is the prematurity rule of Holter HRV editing, Malik et al.
1989). The reference is the median, over 11 pairs, of the mean of two successive RR, which stays
at the sinus cycle length across a premature beat and its pause even in bigeminy, where a median
of single RR is half premature intervals. With :attr:`CleanConfig.ectopy_screen` (on by default),
each premature beat that the method left at its own time, and the beat after it, are flagged
``ectopic`` where they are ``ok`` (neither interval is normal-to-normal, so windowed HRV leaves
both out); the screen moves no beat. ``meta["cleaning"]["ectopy"]`` records the premature beats
found, their share of the beats, and how many beats the screen flagged; when the share exceeds
:attr:`CleanConfig.ectopy_warn_share` (10 %), ``meta["cleaning"]["warnings"]`` says that HRV from
the recording is not a measure of autonomic modulation (counted and said with or without the
flags). Measured: artefact-free simulated recordings, no premature beat; a healthy 24-hour Holter
series (PhysioNet, 80 k beats), 96 premature beats (0.12 %), 16 more beats flagged (0.02 %); a
Polar H10 recording in trigeminy, 30 %, with nearly every PVC flagged (8 % without the screen).

Both methods: cleaning never works across a gap. The beats are split into segments at every row of
``recording.gaps``, wherever consecutive beats lie further apart than the later one's RR by more
than :attr:`CleanConfig.implicit_gap_ms` (dropped notifications), and at every RR longer than
:attr:`CleanConfig.max_rr_ms` (3000 ms); each segment is cleaned on its own. A beat whose RR
exceeds ``max_rr_ms`` is left uncorrected and flagged ``missed`` (its interval spans lost beats).
Segments shorter than :attr:`CleanConfig.min_segment_beats` are left as they are. Corrections
that the method does not make at the edges of a segment (the first two beats, the last beat)
leave the beat's times unchanged but still flag it.

neurokit2's own ``iterative=True`` returns the artefact indices of its last pass only, in the
index space of the previous pass, so flags could not be traced back to beats. :func:`clean` runs
the same loop itself, one pass at a time (detect, correct, repeat while the number of artefacts
found keeps falling), tracing each beat through every pass; the corrected beat times are
identical to neurokit2's ``iterative=True`` result. Each pass reuses the moving-window
statistics of the previous one where the beats did not change.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging

import numpy as np
import pandas as pd

from ..recording import Recording
from . import kubios
from .config import CleanConfig, RhythmConfig
from .rhythm import NOT_SINUS_MESSAGE, _judge as judge_rhythm, rhythm_words

__all__ = ["clean", "artifact_share", "ARTIFACT_CLASSES", "FLAG_OF_CLASS"]

log = logging.getLogger(__name__)

#: The method's artefact classes (keys of neurokit2's ``info`` dict).
ARTIFACT_CLASSES: tuple[str, ...] = kubios.ARTIFACT_CLASSES
#: The flag a beat of each class gets.
FLAG_OF_CLASS: dict[str, str] = {"ectopic": "ectopic", "longshort": "corrected", "missed": "missed", "extra": "extra"}


def clean(recording: Recording, config: CleanConfig | None = None, rhythm: RhythmConfig | None = None) -> Recording:
    """Detect and correct RR artefacts; return a copy with per-beat flags.

    Before anything is corrected, the rhythm is judged on the RR as recorded
    (:func:`calmtrace.signals.rhythm.judge`, the analysis grid of 60 s windows every 5 s). Where it
    is irregular (atrial-fibrillation-like: RR independent from beat to beat), short intervals are
    not ectopic beats: their premature-looking beats are not counted as ectopy, and the warning
    says "irregular rhythm (possible atrial fibrillation), not ectopy" and how many beats cleaning
    flagged there. Cleaning still corrects there, as it cannot tell an AF interval from a premature
    beat, and the rhythm check also calls some stretches of dense multifocal ectopy irregular
    (measured: leaving those stretches uncorrected lost 2 % of the expert-labelled ectopic beats of
    the MIT-BIH Long-Term records). The final judgement (irregular stretches on the recorded RR,
    persistent ectopy among the cleaned beats) is kept in ``meta["rhythm"]``, so that later steps
    (span HRV) know the rhythm the recorded beats were in.

    Parameters
    ----------
    recording : Recording
        The recording; its ``beats`` (``t_s`` in s, ``rr_ms`` in ms) and ``gaps`` are used.
    config : CleanConfig, optional
        Detection parameters; :class:`CleanConfig` defaults (Lipponen & Tarvainen 2019).
    rhythm : RhythmConfig, optional
        Thresholds of the rhythm check; :class:`RhythmConfig` defaults.

    Returns
    -------
    Recording
        A copy whose beats have corrected ``t_s``/``rr_ms`` and a ``flag`` per beat (see the module
        docstring for exactly what each flag means), whose ``meta["cleaning"]`` records the
        method, the parameters, the count of each flag, the ectopy figures (``ectopy``, counted
        outside irregular stretches), the irregular stretches (``irregular_spans``) and any
        ``warnings``, and whose
        ``meta["rhythm"]`` holds the rhythm judgement (:func:`calmtrace.signals.rhythm.judge`).

    Examples
    --------
    >>> from calmtrace.signals.clean import clean, artifact_share
    >>> cleaned = clean(rec)                                    # doctest: +SKIP
    >>> artifact_share(cleaned)                                 # doctest: +SKIP
    0.012
    """
    cfg = config or CleanConfig()
    rcfg = rhythm or RhythmConfig()

    b = recording.beats
    t = b["t_s"].to_numpy(dtype=float)
    rr = b["rr_ms"].to_numpy(dtype=float)
    flags = b["flag"].to_numpy(dtype=object).copy()
    too_long = rr > cfg.max_rr_ms
    flags[too_long & (flags == "ok")] = "missed"
    # irregular stretches, judged on the recorded RR: an irregular rhythm is not ectopy, and no
    # correction can tell its short intervals from premature beats
    before, pre = judge_rhythm(recording, recording, config=rcfg, log_warnings=False)
    irregular = [(float(sp["start_s"]), float(sp["end_s"])) for sp in before["spans"] if sp["rhythm"] == "irregular"]
    if irregular and t.size:            # a stretch that reaches the grid's first or last window reaches the edge
        grid_end = (before["n_windows"] - 1) * before["step_s"] + before["window_s"]
        irregular = [(min(a, float(t[0])) if a <= 0.0 else a, max(z, float(t[-1])) if z >= grid_end else z)
                     for a, z in irregular]
    in_irregular = np.zeros(t.size, dtype=bool)
    for a, z in irregular:
        in_irregular |= (t >= a) & (t <= z)

    parts = []
    premature = flagged = 0
    for lo, hi in _segments(t, rr, too_long, recording.gaps, cfg.implicit_gap_ms):
        if hi - lo < cfg.min_segment_beats or too_long[lo]:
            parts.append((t[lo:hi], rr[lo:hi], flags[lo:hi]))
            if not too_long[lo]:
                log.info("beats %d-%d: segment of %d beats left uncleaned (< %d)", lo, hi - 1, hi - lo,
                         cfg.min_segment_beats)
            continue
        if cfg.method == "pattern":
            seg_t, seg_rr, seg_flag, prem = _pattern_segment(t[lo:hi], rr[lo:hi], flags[lo:hi], cfg)
            premature += int((prem & ~in_irregular[lo:hi]).sum())
            parts.append((seg_t, seg_rr, seg_flag))
            continue
        seg_t, seg_rr, seg_flag = _clean_segment(t[lo:hi], rr[lo:hi], flags[lo:hi], cfg)
        # the fixed-threshold ectopy screen (see the module docstring)
        found = _premature_beats(rr[lo:hi], cfg)
        premature += int((~in_irregular[lo:hi][found]).sum())
        if cfg.ectopy_screen:
            seg_flag, n = _flag_premature(t[lo:hi][found], seg_t, seg_flag)
            flagged += n
        parts.append((seg_t, seg_rr, seg_flag))

    if parts:
        beats = pd.DataFrame({
            "t_s": np.concatenate([p[0] for p in parts]),
            "rr_ms": np.concatenate([p[1] for p in parts]),
            "flag": np.concatenate([p[2] for p in parts]).astype(object),
        })
    else:
        beats = b.copy()
    counts = {f: int(n) for f, n in beats["flag"].value_counts().items()}
    n_judged = int((~in_irregular).sum())       # premature beats are counted outside irregular stretches
    share = premature / n_judged if n_judged else 0.0
    cautions: list[str] = []
    if irregular:
        irr_s = sum(z - a for a, z in irregular)
        where = ", ".join(f"{a:.0f}-{z:.0f} s" for a, z in irregular[:5])
        more = f" and {len(irregular) - 5} more" if len(irregular) > 5 else ""
        t_out = beats["t_s"].to_numpy(dtype=float)
        there = np.zeros(t_out.size, dtype=bool)
        for a, z in irregular:
            there |= (t_out >= a) & (t_out <= z)
        n_flag = int((beats["flag"].to_numpy() != "ok")[there].sum())
        cautions.append(
            f"irregular rhythm (possible atrial fibrillation), not ectopy: {rhythm_words(rcfg)['irregular']} "
            f"over {irr_s:.0f} s ({where}{more}); its short intervals are not counted as premature beats, "
            f"though cleaning, which cannot tell them apart, flagged {n_flag} of the {int(there.sum())} beats there; "
            f"{NOT_SINUS_MESSAGE}"
        )
        log.warning(cautions[-1])
    if share > cfg.ectopy_warn_share:
        cautions.append(
            f"persistent ectopy: {share:.0%} of beats are premature (more than "
            f"{cfg.ectopy_warn_share:.0%}); HRV from this recording is not a measure of autonomic modulation"
        )
        log.warning(cautions[-1])
    meta = dict(recording.meta)
    meta["cleaning"] = {
        "method": ("calmtrace pattern-aware detector (premature beats against the median of normal "
                   "intervals; splits and merges only on sum evidence)" if cfg.method == "pattern" else
                   "Lipponen & Tarvainen 2019 (calmtrace.signals.kubios, a port of neurokit2's "
                   "signal_fixpeaks(method='kubios'))"
                   + (", then a fixed-threshold ectopy screen" if cfg.ectopy_screen else "")),
        "config": dataclasses.asdict(cfg),
        "flag_counts": counts,
        "beats_in": int(len(b)),
        "beats_out": int(len(beats)),
        "ectopy": {
            "premature_beats": int(premature),
            "share": share,
            "flagged_by_screen": int(flagged),
            "beats_judged": n_judged,
        },
        "irregular_spans": [{"start_s": a, "end_s": z} for a, z in irregular],
        "warnings": cautions,
    }
    log.info("cleaned %d beats -> %d: %s", len(b), len(beats), counts)
    cleaned = recording.replace(beats=beats, meta=meta)
    # the rhythm as span HRV will need it: irregularity on the recorded RR, ectopy on the flags
    meta["rhythm"] = judge_rhythm(recording, cleaned, config=rcfg, log_warnings=False, _pre=pre)[0]
    meta["rhythm"]["judged_on"] = "recorded RR (irregularity) and the cleaned beats' ectopic flags (ectopy)"
    return cleaned.replace(meta=meta)


def artifact_share(recording: Recording | pd.DataFrame) -> float:
    """Share of beats whose flag is not ``ok`` (0..1).

    Parameters
    ----------
    recording : Recording or pandas.DataFrame
        A cleaned recording, or its beats table (with a ``flag`` column).

    Returns
    -------
    float
        Non-``ok`` beats / all beats in the (cleaned) table, so inserted beats count in both; NaN
        for a recording without beats. An uncleaned recording has only ``ok`` flags and gives 0.
    """
    beats = recording.beats if isinstance(recording, Recording) else recording
    if len(beats) == 0:
        return float("nan")
    return float((beats["flag"].to_numpy() != "ok").mean())


# -- ectopy screen --------------------------------------------------------------------------------
def _premature_beats(rr: np.ndarray, cfg: CleanConfig) -> np.ndarray:
    """Indices of premature beats followed by a pause, by the fixed rule, in one segment's RR.

    Beat k is premature when ``rr[k] < (1 - ectopy_prematurity) x ref[k]`` and the next interval
    is a pause, ``rr[k+1] > (1 + ectopy_pause) x ref[k]``, where ``ref[k]`` is the median, over
    ``ectopy_reference_beats`` pairs centred on (k, k+1), of the mean of two successive RR.
    """
    if len(rr) < 2:
        return np.zeros(0, dtype=np.int64)
    pair_mean = (rr[:-1] + rr[1:]) / 2.0
    ref = pd.Series(pair_mean).rolling(cfg.ectopy_reference_beats, center=True, min_periods=1).median().to_numpy()
    return np.flatnonzero((rr[:-1] < (1.0 - cfg.ectopy_prematurity) * ref)
                          & (rr[1:] > (1.0 + cfg.ectopy_pause) * ref))


def _flag_premature(t_premature: np.ndarray, t: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, int]:
    """Flag ``ectopic`` each premature beat still at its own time and the beat after it.

    Only ``ok`` beats are flagged; a premature beat that cleaning already moved keeps what
    cleaning said. Returns the new flags and how many beats changed.
    """
    if len(t) == 0 or len(t_premature) == 0:
        return flags, 0
    at = np.minimum(np.searchsorted(t, t_premature), len(t) - 1)
    at = at[t[at] == t_premature]                         # still at its own time
    rows = np.unique(np.concatenate([at, at[at + 1 < len(t)] + 1]))
    rows = rows[flags[rows] == "ok"]
    if rows.size == 0:
        return flags, 0
    flags = flags.copy()
    flags[rows] = "ectopic"
    return flags, int(rows.size)


# -- segments -------------------------------------------------------------------------------------
def _segments(t: np.ndarray, rr: np.ndarray, too_long: np.ndarray, gaps: pd.DataFrame,
              implicit_gap_ms: float) -> list[tuple[int, int]]:
    """Index ranges [lo, hi) of contiguous beats between gaps and over-long RR intervals.

    A break falls before beat k when a gap row overlaps the stretch between beat k-1 and beat k
    (``onset_s < t[k]`` and ``onset_s + duration_s >= t[k-1]``), when the beats are further apart
    than ``rr[k]`` by more than ``implicit_gap_ms`` (beats missing in between), and on both sides
    of a beat whose RR is too long (that beat forms a one-beat range of its own).
    """
    n = len(t)
    if n == 0:
        return []
    breaks = np.zeros(n, dtype=bool)
    breaks[0] = True
    breaks[1:] |= (np.diff(t) * 1000.0 - rr[1:]) > implicit_gap_ms
    for g0, d in zip(gaps["onset_s"].to_numpy(), gaps["duration_s"].to_numpy()):
        breaks[1:] |= (g0 < t[1:]) & (g0 + d >= t[:-1])
    breaks |= too_long
    breaks[1:] |= too_long[:-1]
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], n)
    return list(zip(starts.tolist(), ends.tolist()))


# -- one segment ----------------------------------------------------------------------------------
def _clean_segment(t: np.ndarray, rr: np.ndarray, flags: np.ndarray, cfg: CleanConfig) -> tuple:
    """Clean one contiguous segment; return (t_s, rr_ms, flag) arrays of the cleaned beats.

    Peak 0 is a virtual beat opening the first interval (at ``t[0] - rr[0]/1000``), so that the
    first real beat's RR is checked too.
    """
    fs = cfg.sampling_rate_hz
    peaks0 = np.round(np.concatenate([[0.0], np.cumsum(rr)]) * fs / 1000.0).astype(np.int64)
    if np.any(np.diff(peaks0) <= 0):
        log.warning("segment at t=%.3f s: RR shorter than one sample at %g Hz; left uncleaned", t[0], fs)
        return t, rr, flags
    t_raw = np.concatenate([[t[0] - rr[0] / 1000.0], t])

    peaks = peaks0
    origin = np.arange(len(peaks0))                      # index into peaks0, -1 for inserted
    flag = np.concatenate([["ok"], flags]).astype(object)
    n_before = None
    subspaces = None
    while True:
        info, subspaces = kubios.find_artifacts(
            peaks, c1=cfg.c1, c2=cfg.c2, alpha=cfg.alpha, window_width=cfg.window_width,
            medfilt_order=cfg.medfilt_order, sampling_rate=fs, previous=subspaces,
        )
        n_found = sum(len(info[c]) for c in ARTIFACT_CLASSES)
        # neurokit2's loop: accept a further pass only while it finds fewer artefacts
        if n_found == 0 or (n_before is not None and n_found >= n_before):
            break
        fixed = np.asarray(kubios.correct_artifacts(info, peaks), dtype=np.int64)
        if np.any(np.diff(fixed) <= 0):       # two beats corrected onto one sample: keep the last good pass
            log.warning("segment at t=%.3f s: correction pass produced coincident beats; pass discarded", t[0])
            break
        origin, flag = _trace(peaks, fixed, info, origin, flag)
        peaks = fixed
        n_before = n_found
        if not cfg.iterative:
            break

    if peaks[0] != peaks0[0]:            # the virtual opening beat was removed: put it back
        peaks = np.concatenate([[peaks0[0]], peaks])
        origin = np.concatenate([[0], origin])
        flag = np.concatenate([["ok"], flag]).astype(object)

    kept = origin >= 0
    kept[kept] = peaks[kept] == peaks0[origin[kept]]     # beats whose time did not change
    t_new = np.interp(peaks, peaks0[origin[kept]], t_raw[origin[kept]])
    t_new[kept] = t_raw[origin[kept]]
    rr_new = np.diff(t_new) * 1000.0
    same_interval = kept[1:] & kept[:-1] & (origin[1:] == origin[:-1] + 1)
    rr_new[same_interval] = rr[origin[1:][same_interval] - 1]
    return t_new[1:], rr_new, flag[1:]


def _trace(before: np.ndarray, after: np.ndarray, info: dict, origin: np.ndarray,
           flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Carry each beat's origin and flag through one correction pass.

    Beats whose position is unchanged are matched by value. A moved beat (ectopic or long/short)
    is matched to the nearest new position; new positions left over are inserted beats. The
    artefact classes (indices into ``before``) then set the flags described in the module
    docstring; a beat that already has a flag keeps it.
    """
    cls: dict[int, str] = {}
    for c in ARTIFACT_CLASSES:
        for i in info[c]:
            cls.setdefault(int(i), c)

    new_origin = np.full(len(after), -1, dtype=np.int64)
    new_flag = np.full(len(after), "interpolated", dtype=object)
    survived = _members(before, after)
    pos = np.searchsorted(after, before[survived])
    new_origin[pos] = origin[survived]
    new_flag[pos] = flag[survived]

    fresh = np.zeros(len(after), dtype=bool)             # flag set in this pass (not inherited)
    free = np.flatnonzero(~_members(after, before))      # new positions, ascending
    free_pos, free_val = free.tolist(), after[free].tolist()
    for i in np.flatnonzero(~survived).tolist():
        if cls.get(i) == "extra" or not free_pos:
            continue
        # the nearest free new position (the earlier one on a tie)
        v = int(before[i])
        k = bisect.bisect_left(free_val, v)
        if k == len(free_val) or (k > 0 and v - free_val[k - 1] <= free_val[k] - v):
            k -= 1
        j = free_pos.pop(k)
        free_val.pop(k)
        new_origin[j] = origin[i]
        if flag[i] != "ok":
            new_flag[j] = flag[i]
        else:
            new_flag[j] = FLAG_OF_CLASS[cls.get(i, "longshort")]
            fresh[j] = True

    for i, c in cls.items():
        if c == "extra" and not survived[i]:
            # the beat that now closes the merged interval; "extra" says more than the
            # "corrected" neurokit2 often adds by also moving that beat
            j = int(np.searchsorted(after, before[i]))
            if j < len(after) and (new_flag[j] == "ok" or (fresh[j] and new_flag[j] == "corrected")):
                new_flag[j] = "extra"
        elif c != "extra" and survived[i]:
            j = int(np.searchsorted(after, before[i]))     # classified, but left in place
            if new_flag[j] == "ok":
                new_flag[j] = FLAG_OF_CLASS[c]
    return new_origin, new_flag


def _members(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which values of ``a`` occur in ``b``; both strictly increasing (``np.isin``, faster)."""
    if len(b) == 0:
        return np.zeros(len(a), dtype=bool)
    pos = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return b[pos] == a


# -- the pattern-aware detector ---------------------------------------------------------------------
def _normal_median(rr: np.ndarray, normal: np.ndarray, half: int) -> np.ndarray:
    """Per beat, the median RR of the ``half`` normal intervals before it and ``half`` after it.

    Computed as a centred moving median of ``2 * half + 1`` values over the normal intervals
    alone, read at each beat's place among them (a normal beat's own interval is the middle
    value). Where no interval is normal, the plain moving median of all intervals is used.
    """
    idx = np.flatnonzero(normal)
    if idx.size == 0:
        return pd.Series(rr).rolling(2 * half + 1, center=True, min_periods=1).median().to_numpy()
    med = pd.Series(rr[idx]).rolling(2 * half + 1, center=True, min_periods=1).median().to_numpy()
    pos = np.minimum(np.searchsorted(idx, np.arange(rr.size)), idx.size - 1)
    return med[pos]


def _pattern_classes(rr: np.ndarray, cfg: CleanConfig) -> dict[str, np.ndarray]:
    """Classify the intervals of one segment: premature, extra, missed (boolean masks) and ``ref``.

    1. A first reference is the moving median of the mean of two successive intervals over
       ``2 * reference_beats + 1`` pairs: across a premature beat and its compensatory pause the
       pair mean stays at the sinus cycle, so it holds in bigeminy and trigeminy.
    2. Intervals are classified against it; those that are neither premature, nor the pause
       after one, nor parts of an extra or missed beat are taken as normal, and the reference
       becomes the median of the ``reference_beats`` normal intervals on either side. The
       classification is repeated once against it.

    Classes (``p`` = ``premature_share``, ``tol`` = ``sum_tolerance``):

    * extra beat k: ``rr[k] < (1 - p) ref`` and ``|rr[k] + rr[k+1] - ref| <= tol ref`` (two
      short intervals that make one normal one);
    * missed beat closing interval k: both neighbours normal-length (within ``p`` of ``ref``)
      and ``|rr[k] - (rr[k-1] + rr[k+1])| <= tol (rr[k-1] + rr[k+1])``; never for being long
      alone;
    * premature beat k: ``rr[k] < (1 - p) ref``, or ``rr[k] < (1 - pattern_premature_share)
      ref`` followed by ``rr[k+1] > (1 + pattern_pause_share) ref`` (a premature-compensatory
      pair); not extra.
    """
    n = rr.size
    h = cfg.reference_beats
    p, tol = cfg.premature_share, cfg.sum_tolerance
    nxt = np.append(rr[1:], np.nan)
    prev = np.insert(rr[:-1], 0, np.nan)
    pair = np.append((rr[:-1] + rr[1:]) / 2.0, rr[-1:]) if n else rr
    ref = pd.Series(pair).rolling(2 * h + 1, center=True, min_periods=1).median().to_numpy()
    out: dict[str, np.ndarray] = {}
    for _ in range(2):
        with np.errstate(invalid="ignore"):
            short = rr < (1.0 - p) * ref
            extra = short & (np.abs(rr + nxt - ref) <= tol * ref)
            extra[1:] &= ~extra[:-1]                    # one beat of a pair, the first
            near = np.abs(rr - ref) <= p * ref
            nb = prev + nxt
            missed = (np.roll(near, 1) & np.roll(near, -1) & (np.abs(rr - nb) <= tol * nb)
                      & (rr > (1.0 + p) * ref))
            missed[[0, -1]] = False
            premature = ~extra & (short | ((rr < (1.0 - cfg.pattern_premature_share) * ref)
                                           & (nxt > (1.0 + cfg.pattern_pause_share) * ref)))
            premature[1:] &= ~extra[:-1]                 # the second part of an extra beat's pair
            premature = _abrupt_runs(rr, premature, cfg.abrupt_share, cfg.max_run_beats)
        odd = premature | extra | missed
        normal = ~odd
        normal[1:] &= ~premature[:-1] & ~extra[:-1]      # the pause after, the rest of an extra
        out = {"premature": premature, "extra": extra, "missed": missed, "ref": ref}
        ref = _normal_median(rr, normal, h)
    return out


def _abrupt_runs(rr: np.ndarray, candidate: np.ndarray, share: float, max_run: int) -> np.ndarray:
    """Keep the runs of candidate intervals that begin and end abruptly.

    A run of consecutive candidates ``a..m`` is kept when its first interval is shorter than the
    one before it by more than ``share`` (``rr[a] < (1 - share) rr[a-1]``) and the interval after
    it is longer than its last by more than ``share`` (``rr[m+1] > (1 + share) rr[m]``): a
    premature beat comes suddenly and the rhythm comes back at once, where sinus rhythm
    (respiratory arrhythmia, an acceleration) reaches and leaves short intervals gradually. A
    run at the start or end of the segment is judged on the side it has.
    """
    if share <= 0 or not candidate.any():
        return candidate
    edges = np.flatnonzero(np.diff(np.concatenate([[0], candidate.view(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2] - 1
    n = rr.size
    with np.errstate(invalid="ignore"):
        entry = (starts == 0) | (rr[starts] < (1.0 - share) * rr[np.maximum(starts - 1, 0)])
        leave = (ends == n - 1) | (rr[np.minimum(ends + 1, n - 1)] > (1.0 + share) * rr[ends])
    out = np.zeros(n, dtype=bool)
    keep = entry & leave & (ends - starts + 1 <= max_run)
    for a, m in zip(starts[keep].tolist(), ends[keep].tolist()):
        out[a:m + 1] = True
    return out


def _pattern_segment(t: np.ndarray, rr: np.ndarray, flags: np.ndarray,
                     cfg: CleanConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Detect and correct one segment with the pattern detector; (t_s, rr_ms, flag, premature mask).

    Corrections (beat times in s, the virtual beat ``t[0] - rr[0]`` opening the first interval):

    * an extra beat is removed; the beat after it is flagged ``extra`` (its RR spans both parts);
    * a missed beat is inserted midway into the interval (``interpolated``), the beat closing the
      interval is flagged ``missed``;
    * each run of premature beats is spread evenly between the beat before it and the beat after
      it (an isolated premature beat moves to the midpoint of its neighbours, as Lipponen &
      Tarvainen correct ectopic beats), flagged ``ectopic``; a run at the end of the segment is
      flagged and left in place. The interval after the run then holds the rest of the
      compensatory pause; that beat keeps its time and its ``ok``.

    A beat that was flagged before cleaning keeps its flag.
    """
    c = _pattern_classes(rr, cfg)
    tt = np.concatenate([[t[0] - rr[0] / 1000.0], t])      # tt[k + 1] closes interval k
    new_flag = flags.astype(object).copy()
    moved = tt.copy()
    prem = c["premature"]
    # runs of premature beats: [a, b] in interval indices
    edges = np.flatnonzero(np.diff(np.concatenate([[0], prem.view(np.int8), [0]])))
    for a, b in zip(edges[::2].tolist(), (edges[1::2] - 1).tolist()):
        if b + 2 < tt.size:                              # a beat after the run
            lo, hi = tt[a], tt[b + 2]
            moved[a + 1:b + 2] = lo + (hi - lo) * np.arange(1, b - a + 2) / (b - a + 2)
    mark = prem & (new_flag == "ok")
    new_flag[mark] = "ectopic"
    miss = c["missed"] & (new_flag == "ok")
    new_flag[miss] = "missed"
    # extra: drop beat k (closing interval k); the next beat gets the flag
    extra = np.flatnonzero(c["extra"])
    extra = extra[extra + 1 < rr.size]
    after = extra + 1
    new_flag[after[new_flag[after] == "ok"]] = "extra"
    keep = np.ones(rr.size, dtype=bool)
    keep[extra] = False
    times = moved[1:]
    # inserted beats, midway into each missed interval
    ins_idx = np.flatnonzero(c["missed"])
    ins_t = (tt[ins_idx] + tt[ins_idx + 1]) / 2.0
    all_t = np.concatenate([times[keep], ins_t])
    all_flag = np.concatenate([new_flag[keep], np.full(ins_t.size, "interpolated", dtype=object)])
    was = np.concatenate([np.flatnonzero(keep), np.full(ins_t.size, -1)])
    order = np.argsort(all_t, kind="stable")
    all_t, all_flag, was = all_t[order], all_flag[order], was[order]
    # RR: the recorded value where a beat and the one before it are both unchanged, else the
    # difference of the corrected times
    t_prev = np.concatenate([[tt[0]], all_t[:-1]])
    new_rr = (all_t - t_prev) * 1000.0
    unchanged = (was >= 0) & (all_t == t[np.maximum(was, 0)])
    same = unchanged.copy()
    same[1:] &= unchanged[:-1] & (was[1:] == was[:-1] + 1)
    same[:1] &= was[:1] == 0
    new_rr[same] = rr[was[same]]
    return all_t, new_rr, all_flag, prem
