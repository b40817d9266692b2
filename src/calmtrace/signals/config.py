"""Configuration of the signal stages: artefact cleaning and recovery assessment.

Each stage has one frozen dataclass holding every parameter that shapes its result. Every default
names its source; where no published value exists the default is marked as calmtrace's own
choice, with the reason. Configs are written next to the results they shaped (see
:func:`calmtrace.signals.recovery.assess_recovery`) and can be built from a TOML table with
:func:`config_from_mapping`.

(The windowed-HRV configuration, ``HRVConfig``, lives with its stage in :mod:`calmtrace.signals.hrv`.)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, TypeVar

from ..errors import InputError
from . import metrics as _metrics

__all__ = ["CleanConfig", "RecoveryConfig", "QualityConfig", "LinkConfig", "TrendConfig", "config_from_mapping", "DEFAULT_DIRECTIONS"]


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
    """

    metrics: tuple[str, ...] = ("mean_hr_bpm", "ln_rmssd", "pns_index")
    directions: tuple[tuple[str, int], ...] = DEFAULT_DIRECTIONS
    window_time: str = "center"
    baseline_span_s: float = 300.0
    min_baseline_windows: int = 5
    band: str = "sd"
    k_sd: float = 2.0
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
        if self.swc_reference_sd is not None and not (self.swc_reference_sd > 0):
            raise InputError(
                f"RecoveryConfig: swc_reference_sd must be > 0 or None, got {self.swc_reference_sd!r}")
        if len(self.tau_bounds_s) != 2 or not (0 < self.tau_bounds_s[0] < self.tau_bounds_s[1]):
            raise InputError(
                f"RecoveryConfig: tau_bounds_s must be (low, high) with 0 < low < high, got {self.tau_bounds_s!r}")
        if not 0 < self.ci_level < 1:
            raise InputError(f"RecoveryConfig: ci_level must lie between 0 and 1, got {self.ci_level!r}")
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
    """

    swc_window: int = 7
    swc_min_sessions: int = 3
    swc_factor: float = 0.5

    def __post_init__(self) -> None:
        for name in ("swc_window", "swc_min_sessions"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 2:
                raise InputError(f"TrendConfig: {name} must be an integer >= 2, got {v!r}")
        if self.swc_min_sessions > self.swc_window:
            raise InputError("TrendConfig: swc_min_sessions must not exceed swc_window")
        _positive(self, "swc_factor")


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
