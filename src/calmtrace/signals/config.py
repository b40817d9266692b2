"""Configuration of every analysis stage, in one module.

Each stage has one frozen dataclass holding every parameter that shapes its result: the window
grid (:class:`WindowConfig`), artefact cleaning (:class:`CleanConfig`), windowed HRV
(:class:`HRVConfig`), the rhythm check (:class:`RhythmConfig`), recovery (:class:`RecoveryConfig`),
the quality verdict (:class:`QualityConfig`), links between interventions and stressors
(:class:`LinkConfig`) and the trend across sessions (:class:`TrendConfig`). Every default
names its source; where no published value exists the default is marked as calmtrace's own
choice, with the reason. Configs are written next to the results they shaped (see
:func:`calmtrace.signals.recovery.assess_recovery`) and can be built from a TOML table with
:func:`config_from_mapping`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from ..errors import InputError
from ..recording import BEAT_FLAGS
from . import metrics as _metrics

__all__ = ["WindowConfig", "CleanConfig", "HRVConfig", "RhythmConfig", "SegmentConfig", "RecoveryConfig", "QualityConfig", "LinkConfig", "TrendConfig", "config_from_mapping", "DEFAULT_DIRECTIONS", "SEGMENT_SETTINGS", "PSD_METHODS"]


#: The detectors :func:`calmtrace.signals.clean.clean` offers (``CleanConfig.method``).
CLEAN_METHODS: tuple[str, ...] = ("pattern", "lipponen-tarvainen")


@dataclass(frozen=True)
class CleanConfig:
    """Parameters of RR artefact detection and correction (:func:`calmtrace.signals.clean.clean`).

    Parameters
    ----------
    max_rr_ms : float
        An RR interval longer than this (ms) is treated as a gap: cleaning never works across it.
        Default 3000 ms: 3 s is the pause length commonly taken as a clinically significant sinus
        pause (e.g. the 2018 ACC/AHA/HRS bradycardia guideline, Kusumoto et al. 2019); a longer
        "RR" in a strap recording is almost always lost beats or lost contact.
    implicit_gap_ms : float
        When the time between two beats exceeds the later beat's RR by more than this (ms),
        beats are missing between them (e.g. dropped notifications): a gap, even if none was
        recorded. Default 250 ms, the value windowed HRV uses (``HRVConfig.implicit_gap_ms``):
        shorter than any physiological RR, longer than timing jitter.
    sampling_rate_hz : float
        Beat times are turned into peak indices at this rate for neurokit2 (Hz). Default 1000 Hz,
        i.e. 1 ms resolution, the resolution at which Lipponen & Tarvainen (2019) state RR.
    iterative : bool
        Repeat detection and correction while the number of artefacts found keeps falling, as
        neurokit2's ``iterative=True`` does. Default True (neurokit2's default). Measured on the
        simulator (2 % artefacts): RMSSD after cleaning within ~10 % of the artefact-free value
        with passes, 20-80 % too high with a single pass; the passes also flag some neighbours
        of an artefact (precision 0.68 instead of 0.83 at the same sensitivity).
    min_segment_beats : int
        A contiguous stretch between gaps with fewer beats than this is left uncleaned: the
        method's thresholds are quartiles over a 91-beat window and mean nothing over a handful
        of beats. Default 10 (calmtrace's choice).
    method : {"pattern", "lipponen-tarvainen"}
        The detector. ``"pattern"`` (default): calmtrace's pattern-aware detector (see
        :mod:`calmtrace.signals.clean`), which judges each interval against the median of the
        *normal* intervals around it, so that it holds in bigeminy and trigeminy where the
        neighbourhood is itself ectopic. Measured on MIT-BIH Long-Term ECG records with expert
        labels (``bench/ectopy_ltdb.py``), it finds 97-98 % of the abnormal beats visible in RR at
        95-96 % precision, where Lipponen & Tarvainen's method finds 22-28 % at 29-34 %.
        ``"lipponen-tarvainen"``: the reference method (Lipponen & Tarvainen 2019, the port of
        neurokit2's ``signal_fixpeaks(method="kubios")``), followed by the ectopy screen below.
    premature_share : float
        Pattern detector: an interval shorter than the local normal median by more than this
        share closes a premature beat. Default 0.15, calmtrace's choice: the share by which an
        interval must be off the normal median to distort HRV, as the MIT-BIH scoring counts it;
        with a median of normal intervals as the reference, fewer than 0.5 % of expert-labelled
        normal-to-normal intervals are that short (``bench/ectopy_ltdb.py``).
    pattern_premature_share, pattern_pause_share : float
        Pattern detector: a premature-compensatory pair, an interval shorter than the normal
        median by more than ``pattern_premature_share`` followed by one longer by more than
        ``pattern_pause_share``, also closes a premature beat. Defaults 0.10 and 0.10,
        calmtrace's choice: together a jump of 20 % of the cycle between successive intervals,
        twice the beat-to-beat change of respiratory sinus arrhythmia of 10 % that the 20 %
        Holter editing rule allows for (Malik et al. 1989, Eur Heart J 10:1060).
    reference_beats : int
        Pattern detector: the local reference is the median of this many normal intervals before
        and as many after the beat. Default 10 (calmtrace's choice: about 20 s, shorter than the
        Mayer wave and longer than the runs of bigeminy that an 11-beat median mistakes for the
        rhythm).
    sum_tolerance : float
        Evidence for a missed beat: an interval is split in two only when it matches the sum of
        its two neighbouring intervals, both normal, within this share of that sum; evidence for
        an extra beat: two short intervals are merged only when their sum matches the local
        normal median within this share. Default 0.15, calmtrace's choice (the same share as
        ``premature_share``). Both detectors apply the rule to missed beats: an interval is never
        split because it is long for the local median alone.
    abrupt_share : float
        Pattern detector: a run of short intervals counts as premature beats only when it begins
        with a drop of more than this share from the interval before it and ends with a rise of
        more than this share into the interval after it: a premature beat comes suddenly and the
        rhythm returns at once, where sinus rhythm (respiratory arrhythmia, an acceleration) reaches
        and leaves short intervals over several beats. Default 0.07, calmtrace's choice, measured
        (``bench/ectopy_ltdb.py``): on the MIT-BIH Long-Term records it costs 2 % of the visible
        abnormal beats; on a sinus recording with deep respiratory arrhythmia (wearable-hrv-p37)
        it removes three quarters of the false flags. 0 turns the check (and ``max_run_beats``) off.
    max_run_beats : int
        Pattern detector: a run of more than this many successive short intervals is a rhythm
        (sinus acceleration, a respiratory phase), not premature beats. Default 3, calmtrace's
        choice: a couplet or triplet of premature beats is flagged; a longer run (non-sustained
        ventricular tachycardia by the usual definition, three or more beats) at the fourth beat
        is left to the rhythm check (:mod:`calmtrace.signals.rhythm`).
    c1, c2 : float
        Slope and offset of the ectopic decision boundary in subspace S12. Defaults 0.13 and 0.17
        (Lipponen & Tarvainen 2019, eq. 5-6; neurokit2 defaults).
    alpha : float
        Threshold multiplier on the quartile deviation. Default 5.2 (Lipponen & Tarvainen 2019).
    window_width : int
        Beats in the moving window of the time-varying thresholds. Default 91 (Lipponen &
        Tarvainen 2019).
    medfilt_order : int
        Beats in the median filter of the dRR/mRR series. Default 11 (Lipponen & Tarvainen 2019).
    ectopy_screen : bool
        After Lipponen & Tarvainen's method, flag as ``ectopic`` every premature beat it left in
        place, found by the fixed rule below, and the beat after it. Default True: the adaptive
        thresholds learn persistent ectopy (bigeminy, trigeminy) as normal variability and then
        flag only a few of the premature beats. The premature beats are counted (and warned
        about, see ``ectopy_warn_share``) either way.
    ectopy_prematurity : float
        A beat is premature when its RR is shorter than the local reference by more than this
        share. Default 0.20, the 20 % rule of Holter HRV editing (Malik et al. 1989, Eur Heart J
        10:1060; Acar et al. 2000, Comput Methods Programs Biomed 63:123: an RR more than 20 %
        off the preceding one / the mean of the last nine is not normal-to-normal).
    ectopy_pause : float
        ... and the next RR is longer than the reference by more than this share. Default 0.15,
        calmtrace's choice: a beat 20 % premature with a full compensatory pause is followed by an
        interval 20 % long; 15 % leaves room for the pause to be partly compensatory (sinus
        reset), while still asking for a jump of 35 % of the reference between two successive
        intervals, far beyond respiratory sinus arrhythmia from one beat to the next.
    ectopy_reference_beats : int
        The reference is the median, over this many successive pairs centred on the beat, of the
        mean of two successive RR (s). The pair mean stays at the sinus cycle length across a
        premature beat and its compensatory pause, so the reference holds in bigeminy, where a
        median of single RR is half premature intervals. Default 11, the length of Lipponen &
        Tarvainen's (2019) median filter.
    ectopy_warn_share : float
        When more than this share of the beats is premature by the rule, ``meta["cleaning"]
        ["warnings"]`` says that HRV from the recording is not a measure of autonomic modulation.
        Default 0.10, calmtrace's choice: twice the 5 % artefact share above which windowed HRV
        rejects a window (``HRVConfig.max_artifact_pct``, after Kubios guidance).
    """

    max_rr_ms: float = 3000.0
    implicit_gap_ms: float = 250.0
    sampling_rate_hz: float = 1000.0
    iterative: bool = True
    min_segment_beats: int = 10
    c1: float = 0.13
    c2: float = 0.17
    alpha: float = 5.2
    window_width: int = 91
    medfilt_order: int = 11
    ectopy_screen: bool = True
    ectopy_prematurity: float = 0.20
    ectopy_pause: float = 0.15
    ectopy_reference_beats: int = 11
    ectopy_warn_share: float = 0.10
    method: str = "pattern"
    premature_share: float = 0.15
    pattern_premature_share: float = 0.10
    pattern_pause_share: float = 0.10
    reference_beats: int = 10
    sum_tolerance: float = 0.15
    abrupt_share: float = 0.07
    max_run_beats: int = 3

    def __post_init__(self) -> None:
        if self.method not in CLEAN_METHODS:
            raise InputError(f"CleanConfig: method must be one of {', '.join(CLEAN_METHODS)}, got {self.method!r}")
        if not isinstance(self.reference_beats, int) or isinstance(self.reference_beats, bool) \
                or self.reference_beats < 1:
            raise InputError(f"CleanConfig: reference_beats must be a positive integer, got {self.reference_beats!r}")
        _positive(self, "premature_share", "pattern_premature_share", "pattern_pause_share", "sum_tolerance")
        if not (isinstance(self.abrupt_share, (int, float)) and 0 <= self.abrupt_share < 1):
            raise InputError(f"CleanConfig: abrupt_share must be a share from 0 to below 1, got {self.abrupt_share!r}")
        if not isinstance(self.max_run_beats, int) or isinstance(self.max_run_beats, bool) or self.max_run_beats < 1:
            raise InputError(f"CleanConfig: max_run_beats must be a positive integer, got {self.max_run_beats!r}")
        for name in ("premature_share", "pattern_premature_share", "sum_tolerance"):
            if getattr(self, name) >= 1:
                raise InputError(f"CleanConfig: {name} must be a share below 1, got {getattr(self, name)!r}")
        _positive(self, "max_rr_ms", "implicit_gap_ms", "sampling_rate_hz", "alpha")
        for name in ("min_segment_beats", "window_width", "medfilt_order", "ectopy_reference_beats"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InputError(f"CleanConfig: {name} must be a positive integer, got {v!r}")
        if not isinstance(self.ectopy_screen, bool):
            raise InputError(f"CleanConfig: ectopy_screen must be true or false, got {self.ectopy_screen!r}")
        _positive(self, "ectopy_prematurity", "ectopy_pause", "ectopy_warn_share")
        for name in ("ectopy_prematurity", "ectopy_warn_share"):
            if getattr(self, name) >= 1:
                raise InputError(f"CleanConfig: {name} must be a share below 1, got {getattr(self, name)!r}")


#: Direction of a stress response per metric: +1 rises under stress (heart rate, sympathetic
#: indices), -1 falls (vagal indices), read from the metrics registry
#: (:mod:`calmtrace.signals.metrics`; Laborde, Mosley & Thayer 2017: vagally mediated HRV is
#: withdrawn under stress; heart rate rises). Peak = max for +1, min for -1.
DEFAULT_DIRECTIONS: tuple[tuple[str, int], ...] = tuple(
    (m.name, m.direction) for m in _metrics.METRICS.values() if m.direction)

BANDS = ("sd", "swc")
BAND_SIDES = ("one", "two")
WINDOW_TIMES = ("center", "end")


@dataclass(frozen=True)
class RecoveryConfig:
    """Parameters of recovery assessment (:func:`calmtrace.signals.recovery.assess_recovery`).

    Times are in seconds. See ``docs/recovery.md`` for the definitions they shape.

    Parameters
    ----------
    metrics : tuple of str
        Window columns to assess. Default heart rate, lnRMSSD and the PNS index, the three the
        design names (Laborde, Mosley & Thayer 2017 recommend a vagal index such as lnRMSSD next
        to heart rate).
    directions : tuple of (str, int)
        Stress direction per metric (+1 rises, -1 falls); default :data:`DEFAULT_DIRECTIONS`.
    window_time : {"center", "end"}
        Which instant of a window its value is placed at. Default ``"center"``: for a smoothly
        changing metric a window's mean is closest to the metric at its centre (the lag of the
        end is window_s / 2 = 30 s for 60 s windows, larger than the t50 accuracy target). Use
        ``"end"`` for causal, live figures.
    baseline_span_s : float
        Without a baseline event, the baseline is the valid windows lying wholly inside the span
        this long before the stressor onset. Default 300 s: the 5-min resting baseline of
        Laborde, Mosley & Thayer (2017), after the Task Force (1996) short-term standard.
    min_baseline_windows : int
        Fewer valid baseline windows than this and the row carries a note and NaNs. Default 5
        (calmtrace's choice: a mean and SD from fewer overlapping windows are not worth quoting).
    band : {"sd", "swc"}
        ``"sd"``: baseline mean +/- ``k_sd`` x baseline SD. ``"swc"``: the smallest worthwhile
        change, mean +/- ``swc_factor`` x SD, where the SD is ``swc_reference_sd`` (e.g. the
        patient's day-to-day SD of lnRMSSD) when given, else the baseline SD (Plews et al. 2012).
    k_sd : float
        Half-width of the ``"sd"`` band in baseline SDs. Default 2.0, calmtrace's choice: no
        published consensus exists (Linden et al. 1997 list return-to-baseline scoring without
        fixing a tolerance); +/- 2 SD holds ~95 % of the baseline windows' own fluctuation if it is
        normal. The SD of overlapping 60 s windows over 5 min is small (0.1-0.3 bpm for heart
        rate in the simulator), so 1 SD left half the simulated recoveries censored by slow drift.
    band_floor_share : float
        The ``"sd"`` band is never narrower than this share of the metric's between-person SD in
        healthy adults at rest (:data:`calmtrace.signals.norms.NORMS`, Nunan et al. 2010). Default
        0.2: Hopkins' smallest worthwhile change, 0.2 x the between-subject SD (Hopkins 2000,
        Sports Med 30:1-15; Batterham & Hopkins 2006, Int J Sports Physiol Perform 1:50-57),
        i.e. +/- 1.3 bpm for heart rate and +/- 0.07 ln(ms) for lnRMSSD. Without it the band of
        overlapping 60 s windows over 5 min is as narrow as +/- 0.2 bpm, and whether heart rate
        "returns" within it depends on slow drift more than on the recovery (time to baseline
        then swings from session to session while the fitted recovery changes steadily). 0 turns
        the floor off.
    swc_factor : float
        Half-width of the ``"swc"`` band in SDs. Default 0.5 (Plews et al. 2012, 2014: SWC of
        lnRMSSD = 0.5 x SD, after Hopkins' smallest-worthwhile-change reasoning).
    swc_reference_sd : float or None
        SD (metric units) the SWC band is built on; None uses the baseline windows' SD.
    band_sides : {"one", "two"}
        ``"one"``: recovered once the metric is back on the calm side of the band's stress-side
        edge (an overshoot, e.g. a vagal rebound, counts as recovered). ``"two"``: it must be
        inside the band. Default ``"one"`` (calmtrace's choice; post-stress vagal rebound is
        common and is not a failure to recover).
    hold_s : float
        The metric must stay recovered this long for the return to count. Default 60 s, one
        analysis window (calmtrace's choice: a single window dipping into the band is noise).
    horizon_s : float
        How long after the stressor recovery is followed; later returns are censored. Default
        600 s: Linden et al. (1997) found recovery periods too short to see a return and urge
        longer ones; twice Laborde et al.'s 5-min period.
    peak_search_s : float
        For a stressor logged as a moment (``duration_s == 0``), the peak response is sought in
        this span after it and recovery is measured from that peak. Default 120 s (calmtrace's
        choice: two 60 s windows, long enough for the cardiac response to an acute stressor).
    hrr_lag_s : float
        Heart-rate recovery lag. Default 60 s (Cole et al. 1999: HR at end of exercise minus HR
        one minute later).
    hrr_average_s : float
        Heart rate at each end of HRR is the mean instantaneous HR of the beats in a span this
        long (ending at the stressor end; centred on the lag). Default 10 s (calmtrace's choice;
        Cole et al. read HR from the ECG at the two instants).
    recovery_pct_times_s : tuple of float
        Times after the stressor at which percent recovery is reported. Default 60, 120, 300 s
        (the 1-, 2- and 5-minute marks of heart-rate recovery reporting, Cole et al. 1999 and
        Laborde et al. 2017's 5-min period).
    tau_bounds_s : tuple of float
        Bounds of the fitted time constant. Default (1, 3600) s (calmtrace's choice: wider than
        any cardiac recovery time constant reported, e.g. Imai et al. 1994).
    fit_min_points : int
        Fewest valid windows for the exponential fit. Default 5 (3 parameters + 2 degrees of
        freedom for the t-based interval).
    ci_level : float
        Confidence level of the tau interval. Default 0.95.
    fit_min_r2 : float
        The exponential fit passes its quality test only with R² at least this; otherwise (or at
        a tau bound, or when the curve moves away from baseline) ``fit_quality`` is
        ``"rejected"`` and the report quotes no tau. Default 0.5, calmtrace's choice: the
        model explains at least half of the variance of the recovery windows.
    tau_imprecise_ci_ratio : float
        A fit whose tau interval is wider than this multiple of tau (or has none) is
        ``"imprecise"``; the report says so beside the value. Default 1.0, calmtrace's choice:
        an interval wider than the estimate itself cannot tell a tau from its double.
    """

    metrics: tuple[str, ...] = ("mean_hr_bpm", "ln_rmssd", "pns_index")
    directions: tuple[tuple[str, int], ...] = DEFAULT_DIRECTIONS
    window_time: str = "center"
    baseline_span_s: float = 300.0
    min_baseline_windows: int = 5
    band: str = "sd"
    k_sd: float = 2.0
    band_floor_share: float = 0.2
    swc_factor: float = 0.5
    swc_reference_sd: float | None = None
    band_sides: str = "one"
    hold_s: float = 60.0
    horizon_s: float = 600.0
    peak_search_s: float = 120.0
    hrr_lag_s: float = 60.0
    hrr_average_s: float = 10.0
    recovery_pct_times_s: tuple[float, ...] = (60.0, 120.0, 300.0)
    tau_bounds_s: tuple[float, float] = (1.0, 3600.0)
    fit_min_points: int = 5
    ci_level: float = 0.95
    fit_min_r2: float = 0.5
    tau_imprecise_ci_ratio: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(str(m) for m in self.metrics))
        object.__setattr__(self, "directions", tuple((str(m), int(d)) for m, d in self.directions))
        object.__setattr__(self, "recovery_pct_times_s", tuple(float(t) for t in self.recovery_pct_times_s))
        object.__setattr__(self, "tau_bounds_s", tuple(float(t) for t in self.tau_bounds_s))
        for name, allowed in (("band", BANDS), ("band_sides", BAND_SIDES), ("window_time", WINDOW_TIMES)):
            if getattr(self, name) not in allowed:
                raise InputError(
                    f"RecoveryConfig: {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        _positive(self, "baseline_span_s", "k_sd", "swc_factor", "horizon_s", "peak_search_s",
                  "hrr_lag_s", "hrr_average_s")
        if not math.isfinite(self.hold_s) or self.hold_s < 0:
            raise InputError(f"RecoveryConfig: hold_s must be a number >= 0, got {self.hold_s!r}")
        if isinstance(self.band_floor_share, bool) or not isinstance(self.band_floor_share, (int, float)) \
                or not (math.isfinite(self.band_floor_share) and self.band_floor_share >= 0):
            raise InputError(f"RecoveryConfig: band_floor_share must be a number >= 0, got {self.band_floor_share!r}")
        if self.swc_reference_sd is not None and not (self.swc_reference_sd > 0):
            raise InputError(
                f"RecoveryConfig: swc_reference_sd must be > 0 or None, got {self.swc_reference_sd!r}")
        if len(self.tau_bounds_s) != 2 or not (0 < self.tau_bounds_s[0] < self.tau_bounds_s[1]):
            raise InputError(
                f"RecoveryConfig: tau_bounds_s must be (low, high) with 0 < low < high, got {self.tau_bounds_s!r}")
        if not 0 < self.ci_level < 1:
            raise InputError(f"RecoveryConfig: ci_level must lie between 0 and 1, got {self.ci_level!r}")
        if not (isinstance(self.fit_min_r2, (int, float)) and -math.inf < self.fit_min_r2 <= 1):
            raise InputError(f"RecoveryConfig: fit_min_r2 must be a number <= 1, got {self.fit_min_r2!r}")
        _positive(self, "tau_imprecise_ci_ratio")
        for name in ("min_baseline_windows", "fit_min_points"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 2:
                raise InputError(f"RecoveryConfig: {name} must be an integer >= 2, got {v!r}")
        if self.fit_min_points < 4:
            raise InputError(f"RecoveryConfig: fit_min_points must be >= 4 (3 parameters + 1), got {self.fit_min_points!r}")
        for m, d in self.directions:
            if d not in (-1, 1):
                raise InputError(f"RecoveryConfig: direction of {m!r} must be +1 or -1, got {d!r}")

    def direction(self, metric: str) -> int | None:
        """Stress direction (+1 or -1) of ``metric``: from ``directions``, else from the metrics
        registry (:mod:`calmtrace.signals.metrics`), else None (no direction agreed)."""
        d = dict(self.directions).get(metric)
        if d is None and metric not in dict(self.directions):
            d = _metrics.direction(metric) or None
        return d


@dataclass(frozen=True)
class QualityConfig:
    """The thresholds of the one quality verdict of a session (:func:`calmtrace.signals.quality.assess_quality`).

    The session report, the trend report, the cohort table and ``calmtrace info`` all show this
    verdict; none has a rule of its own.

    Parameters
    ----------
    max_artifact_pct : float
        A session passes with at most this share of beats flagged by cleaning, in %. Default 5 %:
        Peltola (2012, Front Physiol 3:148) shows that even a few percent of edited beats bias
        short-term HRV, and Lipponen & Tarvainen (2019) and Kubios treat more than 5 % corrected
        beats as unreliable.
    max_invalid_windows_pct : float
        ...and at most this share of analysis windows failing the validity minimums of windowed
        HRV (``HRVConfig``) or the rhythm check, in %. Default 20 %: calmtrace's choice (one
        window in five missing leaves gaps in every recovery curve).
    """

    max_artifact_pct: float = 5.0
    max_invalid_windows_pct: float = 20.0

    def __post_init__(self) -> None:
        for name in ("max_artifact_pct", "max_invalid_windows_pct"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= 100):
                raise InputError(f"QualityConfig: {name} must be a percentage from 0 to 100, got {v!r}")


@dataclass(frozen=True)
class LinkConfig:
    """How interventions are linked to the stressors they followed
    (:func:`calmtrace.signals.linking.link_interventions`).

    Parameters
    ----------
    follow_s : float
        An intervention "follows" a stressor when it begins within this many seconds after the
        stressor's end (and before the next stressor begins). Default 120 s: calmtrace's choice,
        the span :attr:`RecoveryConfig.peak_search_s` gives the cardiac response to show itself;
        an intervention begun later acts on a recovery already under way.
    tolerance_s : float
        Slack before the stressor's end, in s, for marks pressed a little early during capture.
        Default 10 s (calmtrace's choice: a few seconds of reaction time on either mark).
    """

    follow_s: float = 120.0
    tolerance_s: float = 10.0

    def __post_init__(self) -> None:
        _positive(self, "follow_s")
        if not (isinstance(self.tolerance_s, (int, float)) and math.isfinite(self.tolerance_s)
                and self.tolerance_s >= 0):
            raise InputError(f"LinkConfig: tolerance_s must be a number >= 0, got {self.tolerance_s!r}")


@dataclass(frozen=True)
class TrendConfig:
    """The smallest-worthwhile-change band of a series of sessions (:mod:`calmtrace.sessions`).

    Parameters
    ----------
    swc_window : int
        Sessions in the rolling window of the SWC band. Default 7: Plews et al. (2012, Eur J Appl
        Physiol 112:3729; 2013, Sports Med 43:773) roll over 7 daily values; here one value is one
        session.
    swc_min_sessions : int
        Fewest earlier quality-checked sessions for a band. Default 3: Plews et al. (2014, Int J
        Sports Physiol Perform 9:783) found 3 values per week already give a valid rolling mean of
        lnRMSSD.
    swc_factor : float
        Half-width of the band in SDs. Default 0.5 (Plews et al. 2012, 2013, after Hopkins'
        smallest worthwhile change of 0.5 x the between-day SD).
    balance_min_waking_min : float
        Fewest measured waking minutes in a calendar day for its stress/recovery balance (else NaN
        with the reason). Default 60 min, calmtrace's own: below an hour a few epochs swing the
        shares by many percent.
    night_min_measured_pct : float
        Fewest measured epochs, in percent of the first hours of a night's sleep, for its overnight
        lnRMSSD and heart rate in the trend (else NaN with the reason). Default 50 %, calmtrace's own.

    The overnight lnRMSSD band of the trend reuses ``swc_window``, ``swc_min_sessions`` and
    ``swc_factor``, one value per night (Plews et al. 2012, 2013 roll over one morning value a day).
    """

    swc_window: int = 7
    swc_min_sessions: int = 3
    swc_factor: float = 0.5
    balance_min_waking_min: float = 60.0
    night_min_measured_pct: float = 50.0

    def __post_init__(self) -> None:
        for name in ("swc_window", "swc_min_sessions"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 2:
                raise InputError(f"TrendConfig: {name} must be an integer >= 2, got {v!r}")
        if self.swc_min_sessions > self.swc_window:
            raise InputError("TrendConfig: swc_min_sessions must not exceed swc_window")
        _positive(self, "swc_factor", "balance_min_waking_min")
        v = self.night_min_measured_pct
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 100:
            raise InputError(f"TrendConfig: night_min_measured_pct must be a number from 0 to 100, got {v!r}")


@dataclass(frozen=True)
class WindowConfig:
    """The window grid of the windowed HRV.

    Parameters
    ----------
    window_s : float
        Window length in s. Default 60 s: the ultra-short window in which lnRMSSD agrees with
        the 5-min criterion (Esco & Flatt 2014; Munoz et al. 2015), short enough to follow a
        recovery. LF needs longer windows (see ``[hrv] lf_min_window_s``).
    step_s : float
        Step between window starts in s. Default 5 s, the time resolution of the recovery curves
        (Laborde, Mosley & Thayer 2017 recommend reporting the time course, not only means).
    """

    window_s: float = 60.0
    step_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("window_s", "step_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"[windows] {name} must be a positive number of seconds, got {v!r}")


_INTERPOLATION_ORDER = {"linear": 1, "quadratic": 2, "cubic": 3}
_DETRENDS = ("mean", "linear")


@dataclass(frozen=True)
class HRVConfig:
    """Every parameter of windowed HRV, each with its source.

    Attributes
    ----------
    usable_flags : tuple of str
        Beat flags whose RR enters the metrics. ``corrected`` and ``interpolated`` beats carry
        repaired values and are used, as Kubios uses corrected beats (Lipponen & Tarvainen 2019);
        ``ectopic``, ``missed`` and ``extra`` are excluded.
    min_window_s : float
        Shortest window accepted, s. RMSSD from 10 s agrees with 5-min values (Munoz et al. 2015,
        PLoS One 10:e0138921); lnRMSSD from 60 s is the ultra-short standard of Esco & Flatt 2014.
    min_beats : int
        Absolute minimum of usable beats for a valid window: a standard deviation of fewer than
        ten values is too noisy to report (ten beats is also Munoz et al.'s 10 s at rest).
    min_beat_share : float
        Usable beats must be at least this share of those expected at the window's mean HR
        (``window_s * mean_hr_bpm / 60``); 0.8, the same figure as ``min_coverage``.
    min_coverage : float
        Share of the window that usable beats must cover (sum of their RR / window length).
        0.8: calmtrace's rule, matching the common "at least 80% of the data" criterion for
        wearable HRV windows; below it a window is mostly interpolation or gap.
    max_artifact_pct : float
        Largest number of corrected artefact *events* per 100 beats of the window. 5 %: Kubios
        guidance that corrected beats should stay below about 5 % of the analysed beats
        (Tarvainen et al., Kubios HRV user's guide; Lipponen & Tarvainen 2019, J Med Eng Technol
        43:173, who count "corrected beats", one per artefact). An event is one beat flagged
        ``corrected``, ``ectopic``, ``missed`` or ``extra``: an ectopic beat moved to the midpoint
        of its neighbours is one event though it changes two intervals, and the ``interpolated``
        beat inserted for a missed one belongs to the ``missed`` event of the beat closing its
        interval (:data:`EVENT_FLAGS`). Counting every touched beat instead made each ectopic
        event cost three beats and pushed windows with 2 % ectopic events over 5 %.
    implicit_gap_ms : float
        When the time between two beats exceeds the later beat's RR by more than this, beats are
        missing between them: a gap, even if no gap was recorded. 250 ms is shorter than any
        physiological RR (300 ms = 200 bpm), so a single dropped beat is caught, while timing
        jitter of a few ms is not.
    pnn_threshold_ms : float
        Successive-difference threshold of pNN50, ms (Task Force 1996).
    hf_min_window_s, lf_min_window_s : float
        Shortest windows for HF and LF power, s. Task Force 1996: "approximately 1 min is needed
        to assess the HF components while approximately 2 min are needed to address the LF
        component" (the rule behind it: at least ten cycles of the band's lowest frequency, which
        strictly is 67 s for 0.15 Hz and 250 s for 0.04 Hz). Shorter windows get NaN.
    lf_band_hz, hf_band_hz : tuple of float
        Band edges in Hz, lower edge included, upper excluded (Task Force 1996).
    resample_hz : float
        Rate at which RR is evenly resampled before the FFT, Hz; 4 Hz as Kubios (Tarvainen et
        al. 2014, Comput Methods Programs Biomed 113:210).
    interpolation : {"cubic", "quadratic", "linear"}
        Spline through the usable beats' RR at the beat times. Cubic as Kubios; ``quadratic`` is
        what neurokit2's ``hrv_frequency`` uses (and the setting under which calmtrace matches it).
    detrend : {"linear", "mean"}
        What is removed from each window's resampled RR before the spectrum. ``linear`` removes a
        straight-line trend, which otherwise leaks into LF (Task Force 1996 asks for stationary
        segments; Kubios detrends). ``mean`` removes only the mean, as neurokit2 does.
    stress_bin_ms : float
        Histogram class width of Baevsky's stress index, ms (Baevsky & Chernikova 2017).
    dfa_alpha1_beats : (int, int)
        Box sizes of DFA alpha1, beats: every integer from 4 to 16 (Peng et al. 1995, Chaos 5:82;
        Kubios). neurokit2 uses (4, 11).
    dfa_min_window_s : float
        Shortest window (or span) for DFA alpha1, s: 120 s, the 2-minute windows of the exercise
        studies that read alpha1 (Rogers et al. 2021, Front Physiol 11:596567). Shorter windows,
        and windows with a gap between their first and last usable beat, get NaN.

    Notes
    -----
    Spectra: Welch's method with a Hann window of half the window's samples, 50% overlap (three
    segments) and FFT length twice the segment, density scaling, one-sided; band power is the
    trapezoid integral of the PSD over the band's frequencies. These are neurokit2's
    ``hrv_frequency(psd_method="welch")`` choices; see docs/metrics.md for the measured agreement.
    """

    usable_flags: tuple[str, ...] = ("ok", "corrected", "interpolated")
    min_window_s: float = 10.0
    min_beats: int = 10
    min_beat_share: float = 0.8
    min_coverage: float = 0.8
    max_artifact_pct: float = 5.0
    implicit_gap_ms: float = 250.0
    pnn_threshold_ms: float = 50.0
    hf_min_window_s: float = 60.0
    lf_min_window_s: float = 120.0
    lf_band_hz: tuple[float, float] = (0.04, 0.15)
    hf_band_hz: tuple[float, float] = (0.15, 0.40)
    resample_hz: float = 4.0
    interpolation: str = "cubic"
    detrend: str = "linear"
    stress_bin_ms: float = 50.0
    dfa_alpha1_beats: tuple[int, int] = (4, 16)
    dfa_min_window_s: float = 120.0

    def __post_init__(self) -> None:
        self._check_dfa()
        object.__setattr__(self, "usable_flags", tuple(self.usable_flags))
        object.__setattr__(self, "lf_band_hz", tuple(float(f) for f in self.lf_band_hz))
        object.__setattr__(self, "hf_band_hz", tuple(float(f) for f in self.hf_band_hz))
        unknown = [f for f in self.usable_flags if f not in BEAT_FLAGS]
        if unknown or not self.usable_flags:
            raise InputError(
                f"HRVConfig.usable_flags must be a non-empty selection of {', '.join(BEAT_FLAGS)}, "
                f"got {list(self.usable_flags)!r}"
            )
        if self.interpolation not in _INTERPOLATION_ORDER:
            raise InputError(
                f"HRVConfig.interpolation must be one of {', '.join(_INTERPOLATION_ORDER)}, "
                f"got {self.interpolation!r}"
            )
        if self.detrend not in _DETRENDS:
            raise InputError(f"HRVConfig.detrend must be one of {', '.join(_DETRENDS)}, got {self.detrend!r}")
        for name in ("min_window_s", "min_beat_share", "min_coverage", "implicit_gap_ms",
                     "pnn_threshold_ms", "hf_min_window_s", "lf_min_window_s", "resample_hz",
                     "stress_bin_ms"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError(f"HRVConfig.{name} must be a positive number, got {value!r}")
        if not (isinstance(self.max_artifact_pct, (int, float)) and 0 <= self.max_artifact_pct <= 100):
            raise InputError(f"HRVConfig.max_artifact_pct must be within 0-100, got {self.max_artifact_pct!r}")
        if not (isinstance(self.min_beats, int) and self.min_beats >= 2):
            raise InputError(f"HRVConfig.min_beats must be an integer >= 2, got {self.min_beats!r}")
        for name in ("lf_band_hz", "hf_band_hz"):
            lo, hi = getattr(self, name)
            if not (0 <= lo < hi <= self.resample_hz / 2):
                raise InputError(
                    f"HRVConfig.{name} must satisfy 0 <= low < high <= resample_hz/2 "
                    f"({self.resample_hz / 2:g} Hz), got ({lo:g}, {hi:g})"
                )

    def _check_dfa(self) -> None:
        a1 = tuple(self.dfa_alpha1_beats)
        object.__setattr__(self, "dfa_alpha1_beats", a1)
        if len(a1) != 2 or not all(isinstance(b, int) and not isinstance(b, bool) for b in a1) or not 3 <= a1[0] < a1[1]:
            raise InputError(f"HRVConfig.dfa_alpha1_beats must be (low, high) beats with 3 <= low < high, "
                             f"got {self.dfa_alpha1_beats!r}")
        v = self.dfa_min_window_s
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            raise InputError(f"HRVConfig.dfa_min_window_s must be a positive number, got {v!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "HRVConfig":
        """Build a config from a mapping (e.g. a TOML table), rejecting unknown keys.

        Parameters
        ----------
        mapping : mapping of str to value
            Field names and values; absent fields keep their defaults.

        Raises
        ------
        InputError
            On an unknown key (the message lists the known ones) or a bad value.
        """
        return config_from_mapping(cls, mapping, "[hrv]")

    def to_dict(self) -> dict[str, Any]:
        """All settings as plain JSON-compatible values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}




@dataclass(frozen=True)
class RhythmConfig:
    """Parameters of the rhythm check, each with its source.

    Attributes
    ----------
    enabled : bool
        Run the check (default True).
    nrmssd_threshold : float
        Normalised RMSSD (RMSSD / mean RR) above which variability is irregular. Default 0.1
        (Dash et al. 2009).
    tpr_range : tuple of float
        Turning-point ratio range of a random series. Default (0.54, 0.77) (Dash et al. 2009).
    entropy_threshold : float
        Normalised Shannon entropy above which the RR histogram is spread out. Default 0.7
        (Dash et al. 2009).
    entropy_bins : int
        Histogram bins for the entropy. Default 16 (Dash et al. 2009).
    trim_share : float
        Share of the segment's intervals set aside at each end (longest, shortest) before the
        statistics. Default 0; Dash et al. (2009) set aside 1/16 at each end (8 of 128), which
        biases the normalised RMSSD low (see the module docstring).
    independence_lags : int
        Autocorrelation lags in the Ljung-Box statistic. Default 10 (calmtrace's choice: longer
        than a respiratory cycle at rest, 3-6 beats, so respiratory arrhythmia is caught).
    independence_p : float
        Significance level below which the Ljung-Box test rejects independence. Default 0.001
        (calmtrace's choice: each window's segment is tested, so a strict level keeps chance
        rejections in a truly irregular rhythm rare).
    segment_beats : int
        Recorded beats judged for a window: the ``segment_beats`` beats centred on the window's
        centre (within the gap-free run that holds it). Default 128, Dash et al.'s segment
        length (longer than a 60 s window at rest, and the length at which their thresholds
        were set; over 60 s windows alone the statistics are noisier, measured: 27 of 566
        windows of a sinus recording with strong respiratory arrhythmia called irregular,
        instead of 3).
    min_beats : int
        Fewest gap-free recorded beats for a judgement; fewer gives ``unknown``. Default 32,
        calmtrace's choice (a quarter of Dash et al.'s segment).
    min_duration_s : float
        A non-sinus rhythm is reported only where consecutive windows say so over at least this
        span of window centres. Default 30 s: the shortest atrial fibrillation episode by the
        HRS/EHRA/ECAS consensus definition (Calkins et al. 2017, Heart Rhythm 14:e275).
    bridge_s : float
        A return to sinus rhythm shorter than this between two non-sinus stretches (from the
        last non-sinus window's centre to the next one's) is not reported as one: those windows
        take the label before them. Default 60 s, calmtrace's choice (one analysis window): the
        statistics of overlapping segments of a truly irregular rhythm cross a threshold by
        chance now and then (measured: at most 50 s at a time in series with CV 0.10).
    ectopy_share : float
        Share of a window's beats flagged ``ectopic`` above which the window is ``ectopy``.
        Default 0.20, calmtrace's choice: one beat in five; bigeminy (50 %), trigeminy (33 %)
        and quadrigeminy (25 %) exceed it, while clusters of isolated premature beats in sinus
        recordings do not (measured: at most 11.5 % in any 60 s window of the healthy 24-hour
        Holter series and of the wearable-hrv P37 session).
    """

    enabled: bool = True
    nrmssd_threshold: float = 0.1
    tpr_range: tuple[float, float] = (0.54, 0.77)
    entropy_threshold: float = 0.7
    entropy_bins: int = 16
    trim_share: float = 0.0
    independence_lags: int = 10
    independence_p: float = 0.001
    segment_beats: int = 128
    min_beats: int = 32
    min_duration_s: float = 30.0
    bridge_s: float = 60.0
    ectopy_share: float = 0.20

    def __post_init__(self) -> None:
        object.__setattr__(self, "tpr_range", tuple(float(x) for x in self.tpr_range))
        if not isinstance(self.enabled, bool):
            raise InputError(f"RhythmConfig: enabled must be true or false, got {self.enabled!r}")
        for name in ("nrmssd_threshold", "entropy_threshold", "ectopy_share"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"RhythmConfig: {name} must be a positive number, got {v!r}")
        if len(self.tpr_range) != 2 or not 0 <= self.tpr_range[0] < self.tpr_range[1] <= 1:
            raise InputError(f"RhythmConfig: tpr_range must be (low, high) within 0-1, got {self.tpr_range!r}")
        if not (isinstance(self.trim_share, (int, float)) and 0 <= self.trim_share < 0.5):
            raise InputError(f"RhythmConfig: trim_share must lie in 0-0.5, got {self.trim_share!r}")
        for name in ("min_duration_s", "bridge_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"RhythmConfig: {name} must be a number >= 0, got {v!r}")
        if not (isinstance(self.independence_p, (int, float)) and 0 < self.independence_p < 1):
            raise InputError(f"RhythmConfig: independence_p must lie between 0 and 1, got {self.independence_p!r}")
        for name, low in (("entropy_bins", 2), ("min_beats", 8), ("segment_beats", 8), ("independence_lags", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise InputError(f"RhythmConfig: {name} must be an integer >= {low}, got {v!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "RhythmConfig":
        """Build a config from a mapping (a TOML ``[rhythm]`` table), rejecting unknown keys."""
        return config_from_mapping(cls, mapping, "[rhythm]")

    def to_dict(self) -> dict[str, Any]:
        """All settings as plain values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


#: Spectrum estimates of span HRV (``SegmentConfig.psd_method``).
PSD_METHODS: tuple[str, ...] = ("welch", "lomb")


@dataclass(frozen=True)
class SegmentConfig:
    """Settings of span HRV beyond those of windowed HRV, each with its source.

    Attributes
    ----------
    hrv : HRVConfig
        Beat rules, time-domain and Welch settings, LF/HF bands and their shortest spans, DFA
        alpha1 box sizes (``dfa_alpha1_beats``) and shortest span (``dfa_min_window_s``); see
        :class:`HRVConfig`. In an analysis config these are the ``[hrv]`` section's.
    rhythm : RhythmConfig
        The rhythm check that says which rhythm each span is in (:class:`RhythmConfig`); where it
        is not sinus, every metric but mean RR and mean HR is NaN. In an analysis config these are
        the ``[rhythm]`` section's.
    psd_method : {"welch", "lomb"}
        Spectrum estimate. ``welch`` (default, as neurokit2 and windowed HRV) resamples the beats
        evenly and needs a gap-free span; ``lomb`` is the Lomb-Scargle periodogram of the beats at
        their own times, without interpolation, the method recommended for unevenly sampled and
        gappy series (Laguna, Moody & Mark 1998, IEEE Trans Biomed Eng 45:698; Clifford &
        Tarassenko 2005, IEEE Trans Biomed Eng 52:630).
    vlf_band_hz : (float, float)
        VLF band edges, Hz (Task Force 1996: 0.0033-0.04 Hz).
    vlf_min_span_s : float
        Shortest span for VLF, s: 300 s. Task Force 1996: VLF from short-term recordings of 5 min
        or less is "a dubious measure" and should be avoided; calmtrace reports it from 5 min.
    lomb_oversampling : int
        Frequency grid of the Lomb periodogram: spacing ``1 / (span * oversampling)`` Hz up to
        0.5 Hz. 4, the oversampling factor of Press & Rybicki (1989, Astrophys J 338:277).
    sampen_dimension : int
        Template length ``m`` of sample entropy; 2 (Richman & Moorman 2000; neurokit2).
    sampen_tolerance_sd : float
        Tolerance ``r`` as a share of the span's RR SD (ddof 1); 0.2 (Richman & Moorman 2000;
        neurokit2's ``hrv_nonlinear``).
    sampen_min_beats : int
        Fewest usable beats for sample entropy: 200. Yentes et al. 2013 (Ann Biomed Eng
        41:349) found SampEn with m = 2, r = 0.2 SD unstable below about 200 points.
    dfa_alpha2_beats : (int, int or None)
        Box sizes of DFA alpha2 in beats; (16, 64) after Peng et al. 1995 (Chaos 5:82), as
        Kubios. ``(12, None)`` is neurokit2's choice (12 beats up to a tenth of the series).
    dfa_min_beats_per_box : float
        DFA alpha2 needs at least this many beats per beat of its largest box: 10, neurokit2's
        rule (its largest alpha2 box is a tenth of the series), i.e. 640 beats for a 64-beat box.
    """

    hrv: HRVConfig = field(default_factory=HRVConfig)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    psd_method: str = "welch"
    vlf_band_hz: tuple[float, float] = (0.0033, 0.04)
    vlf_min_span_s: float = 300.0
    lomb_oversampling: int = 4
    sampen_dimension: int = 2
    sampen_tolerance_sd: float = 0.2
    sampen_min_beats: int = 200
    dfa_alpha2_beats: tuple[int, int | None] = (16, 64)
    dfa_min_beats_per_box: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.hrv, Mapping):
            object.__setattr__(self, "hrv", HRVConfig.from_mapping(self.hrv))
        if not isinstance(self.hrv, HRVConfig):
            raise InputError(f"SegmentConfig.hrv must be an HRVConfig, got {type(self.hrv).__name__}")
        if isinstance(self.rhythm, Mapping):
            object.__setattr__(self, "rhythm", RhythmConfig.from_mapping(self.rhythm))
        if not isinstance(self.rhythm, RhythmConfig):
            raise InputError(f"SegmentConfig.rhythm must be a RhythmConfig, got {type(self.rhythm).__name__}")
        if self.psd_method not in PSD_METHODS:
            raise InputError(f"SegmentConfig.psd_method must be one of {', '.join(PSD_METHODS)}, "
                             f"got {self.psd_method!r}")
        lo, hi = (float(f) for f in self.vlf_band_hz)
        object.__setattr__(self, "vlf_band_hz", (lo, hi))
        if not 0 <= lo < hi:
            raise InputError(f"SegmentConfig.vlf_band_hz must satisfy 0 <= low < high, got ({lo:g}, {hi:g})")
        a2 = tuple(self.dfa_alpha2_beats)
        object.__setattr__(self, "dfa_alpha2_beats", a2)
        if len(a2) != 2 or not isinstance(a2[0], int) or a2[0] < 3 or not (
                a2[1] is None or (isinstance(a2[1], int) and a2[1] > a2[0])):
            raise InputError("SegmentConfig.dfa_alpha2_beats must be (low, high) beats with 3 <= low < high, "
                             f"or (low, None), got {self.dfa_alpha2_beats!r}")
        for name in ("vlf_min_span_s", "sampen_tolerance_sd", "dfa_min_beats_per_box"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"SegmentConfig.{name} must be a positive number, got {v!r}")
        for name in ("lomb_oversampling", "sampen_dimension", "sampen_min_beats"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"SegmentConfig.{name} must be a positive integer, got {v!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], context: str = "[segment]") -> "SegmentConfig":
        """Build a config from a mapping (e.g. a TOML table), rejecting unknown keys.

        Parameters
        ----------
        mapping : mapping of str to value
            Field names and values; ``hrv`` and ``rhythm`` may be tables of :class:`HRVConfig`
            and :class:`RhythmConfig` settings.
        context : str
            Prefix for error messages.

        Raises
        ------
        InputError
            On an unknown key (the message lists the known ones) or a bad value.
        """
        if not isinstance(mapping, Mapping):
            raise InputError(f"{context} must be a table, got {type(mapping).__name__}")
        values = dict(mapping)
        hrv_cfg = HRVConfig.from_mapping(values.pop("hrv", {}) or {})
        rhythm_cfg = RhythmConfig.from_mapping(values.pop("rhythm", {}) or {})
        return cls.from_section(values, context, hrv=hrv_cfg, rhythm=rhythm_cfg)

    @classmethod
    def from_section(cls, mapping: Mapping[str, Any], context: str = "[segment]", *,
                     hrv: "HRVConfig | None" = None, rhythm: "RhythmConfig | None" = None) -> "SegmentConfig":
        """Build a config from the ``[segment]`` table of an analysis config: its own settings only.

        The beat rules and the rhythm check come from the ``[hrv]`` and ``[rhythm]`` sections
        (``hrv`` and ``rhythm`` here), so that span HRV, windowed HRV and the rhythm check of one
        analysis share them.

        Parameters
        ----------
        mapping : mapping of str to value
            Any of :data:`SEGMENT_SETTINGS`.
        context : str
            Prefix for error messages (file and table).
        hrv, rhythm : HRVConfig, RhythmConfig, optional
            The analysis' settings; defaults when omitted.

        Raises
        ------
        InputError
            On an unknown key (the message lists the allowed ones; ``hrv`` and ``rhythm`` are
            pointed to their own sections) or a bad value.
        """
        if not isinstance(mapping, Mapping):
            raise InputError(f"{context} must be a table, got {type(mapping).__name__}")
        for key in ("hrv", "rhythm"):
            if key in mapping:
                raise InputError(f"{context}: unknown key {key!r}; the {key} settings of span HRV are the [{key}] "
                                 f"section's; allowed here: {', '.join(SEGMENT_SETTINGS)}")
        unknown = [k for k in mapping if k not in SEGMENT_SETTINGS]
        if unknown:
            raise InputError(f"{context}: unknown key {unknown[0]!r}; allowed: {', '.join(SEGMENT_SETTINGS)}")
        defaults = cls()
        kwargs = {k: _coerce(getattr(defaults, k), v, f"{context} {k}") for k, v in mapping.items()}
        try:
            return cls(hrv=hrv if hrv is not None else HRVConfig(),
                       rhythm=rhythm if rhythm is not None else RhythmConfig(), **kwargs)
        except InputError as exc:
            raise InputError(f"{context}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise InputError(f"{context}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """All settings as plain JSON-compatible values."""
        out = self.section_dict()
        out["hrv"] = self.hrv.to_dict()
        out["rhythm"] = self.rhythm.to_dict()
        return out

    def section_dict(self) -> dict[str, Any]:
        """The ``[segment]`` section's settings (:data:`SEGMENT_SETTINGS`) as plain values."""
        return {k: list(getattr(self, k)) if isinstance(getattr(self, k), tuple) else getattr(self, k)
                for k in SEGMENT_SETTINGS}


#: The settings of the ``[segment]`` section (span HRV's own; the rest are ``[hrv]``'s and ``[rhythm]``'s).
SEGMENT_SETTINGS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SegmentConfig)
                                          if f.name not in ("hrv", "rhythm"))


def _positive(cfg: object, *names: str) -> None:
    for name in names:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InputError(f"{type(cfg).__name__}: {name} must be a positive number, got {v!r}")


C = TypeVar("C")


def _coerce(default: Any, value: Any, context: str) -> Any:
    """``value`` (from TOML) converted to the type of the field's ``default``, or an InputError."""
    if isinstance(default, bool) or isinstance(value, bool):
        if not (isinstance(default, bool) and isinstance(value, bool)):
            raise InputError(f"{context} must be like {default!r}, got {value!r}")
        return value
    if isinstance(default, (int, float)):
        if not isinstance(value, (int, float)):
            raise InputError(f"{context} must be a number, got {value!r}")
        return float(value) if isinstance(default, float) else value
    if isinstance(default, str) and not isinstance(value, str):
        raise InputError(f"{context} must be text, got {value!r}")
    if isinstance(value, Mapping):
        return tuple(value.items())
    if isinstance(value, list):
        return tuple(tuple(x) if isinstance(x, list) else x for x in value)
    return value


def config_from_mapping(cls: type[C], values: Mapping[str, Any], context: str = "config") -> C:
    """Build a config dataclass from a mapping such as a TOML table, rejecting unknown keys.

    Parameters
    ----------
    cls : type
        A frozen config dataclass (:class:`CleanConfig`, :class:`RecoveryConfig`,
        :class:`~calmtrace.signals.hrv.HRVConfig`...); absent fields keep their defaults.
    values : mapping
        Field names and values; lists are accepted where the field is a tuple, a table where it
        is a tuple of pairs.
    context : str
        Prefix for error messages (file and table), e.g. ``"calmtrace.toml [recovery]"``.

    Returns
    -------
    An instance of ``cls``.

    Raises
    ------
    InputError
        On an unknown key (the message lists the allowed ones), a value of the wrong type, or an
        invalid value.
    """
    if not isinstance(values, Mapping):
        raise InputError(f"{context} must be a table, got {type(values).__name__}")
    defaults = cls()
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k not in allowed]
    if unknown:
        raise InputError(f"{context}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}")
    kwargs = {k: _coerce(getattr(defaults, k), v, f"{context} {k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except InputError as exc:
        raise InputError(f"{context}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"{context}: {exc}") from None
