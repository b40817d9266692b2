"""The whole day: a state for every epoch (stress, recovery, activity, neutral, unmeasured) with its
evidence, the sleep spans, a day summary and the diary linked to the body.

How an epoch (default 60 s) gets its state, in this order:

1. **unmeasured** - the epoch's HRV window is not valid (too few beats, coverage below 0.8, more
   than 5 % artefacts; :class:`~calmtrace.signals.hrv.HRVConfig`) or its rhythm is not sinus
   (:mod:`calmtrace.signals.rhythm`): what it cannot support is not guessed.
2. **activity** - the chest moves: ENMO (Euclidean norm minus one g, negatives set to zero, van Hees
   et al. 2013) of the epoch at or above ``activity_enmo_mg``; or, within ``post_activity_s`` after
   such an epoch, the heart rate is still raised by more than ``additional_hr_bpm`` (the metabolic
   after-effect of the movement, not psychological arousal). Without an accelerometer the
   documented fallback applies: heart rate at or above ``fallback_hrr_share`` of the heart-rate
   reserve (Karvonen et al. 1957; light-to-moderate boundary of Garber et al. 2011) above the
   resting reference, with HRmax = 208 - 0.7 age (Tanaka et al. 2001).
3. **stress** - heart rate above what movement explains and vagal activity below the person's own
   resting level: additional heart rate (Myrtek 2004; Wilhelm & Roth 1998: heart rate beyond the
   metabolic demand, "non-metabolic" or "emotional" heart rate) at or above ``additional_hr_bpm``
   and lnRMSSD at least ``stress_ln_drop`` below the resting reference (the non-metabolic HRV
   reduction of Verkuil et al. 2016).
4. **recovery** - still, vagal activity above the resting level (lnRMSSD at least
   ``recovery_ln_rise`` above it) and heart rate at or below it (additional HR at most
   ``recovery_hr_margin_bpm``).
5. **neutral** - measured and none of the above.

Additional heart rate is heart rate minus the heart rate the person's own movement predicts:
``HR_expected = HR_rest + slope * ENMO``, where ``HR_rest`` is the median heart rate of the still
waking epochs and ``slope`` (bpm per mg) the median of ``(HR - HR_rest) / ENMO`` over the moving
epochs, both learnt from the recording itself (calmtrace's own individual calibration, in the spirit
of Verkuil et al. 2016, who separate non-metabolic HRV reductions from those physical activity
explains; Myrtek's own algorithm compares each minute with the preceding ones instead). The resting vagal
reference is the median lnRMSSD of the still waking epochs (the rest of the recording); sleep is
kept apart because nocturnal HRV is higher than waking rest and would make every waking minute look
stressed. Where the recording has no still waking epochs, the sleep epochs are used and a warning is
written.

Sleep spans come from an event whose label contains "sleep" and has a duration (an events file),
or from a diary moment such as "to bed" followed by a "woke up" moment within 16 h, or else from
the quietest long spans: the ``sleep_search_s`` window with the lowest mean heart rate (still
epochs only, when there is an accelerometer), extended on both sides while the 15-min rolling
median heart rate stays below the midpoint between that window's and the rest of the recording's;
then the next quietest window at least 12 h away from every span found, as long as it is nearer
to the first night's heart rate than to the waking one (one span per night, at most one a day).

Every threshold lives in :class:`DayConfig`, each with its source or marked as calmtrace's own, and
is written next to the results (``DayResult.config``). These states describe autonomic and motor
signals; they are not a diagnosis of stress, anxiety or any illness (see docs/day.md).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ..recording import Recording
from .clean import clean
from .hrv import windowed_hrv
from .rhythm import NOT_SINUS, windowed_rhythm

__all__ = ["STATES", "DayConfig", "DayResult", "enmo_per_epoch", "epoch_states", "day_summary",
           "sleep_spans", "diary_links", "rm_corr", "analyze_day", "check_acc_overlap", "acc_share",
           "describe_mode", "warn_acc_share"]

log = logging.getLogger(__name__)

#: Epoch states, in the order they are decided.
STATES: tuple[str, ...] = ("unmeasured", "activity", "stress", "recovery", "neutral")

_G_MG = 1000.0


@dataclass(frozen=True)
class DayConfig:
    """Thresholds of the day analysis, each with its source.

    Parameters
    ----------
    epoch_s : float
        Epoch length, s. Default 60: the ultra-short standard for lnRMSSD (Esco & Flatt 2014) and
        the epoch of minute-by-minute ambulatory monitoring (Myrtek 2004).
    still_enmo_mg : float
        Below this ENMO (mg) an epoch counts as still. Default 15, calmtrace's own: above the
        sensor noise and fidgeting of sitting (a few mg), well below walking (~80 mg at the chest).
    activity_enmo_mg : float
        At or above this ENMO (mg) an epoch is physical activity. Default 40, calmtrace's own,
        below the hip MVPA cut-point of about 69 mg (Hildebrand et al. 2014) so that slow walking
        counts as movement.
    post_activity_s : float
        After a moving epoch, raised heart rate within this span is the movement's after-effect.
        Default 300 s, calmtrace's own: about four time constants of heart-rate recovery after
        moderate effort (tau 60-80 s; Imai et al. 1994, Pecanha et al. 2017).
    additional_hr_bpm : float
        Additional (non-metabolic) heart rate that, with low vagal activity, makes an epoch
        stress. Default 6 bpm, calmtrace's own, within the few-bpm criteria used for additional
        heart rate (Myrtek 2004; Wilhelm & Roth 1998) and above the minute-to-minute wander of a
        resting heart (about 2 bpm in the simulator).
    stress_ln_drop : float
        lnRMSSD this far below the resting reference (natural-log units) is vagal withdrawal.
        Default 0.3 (RMSSD about 26 % lower), calmtrace's own (non-metabolic HRV reduction:
        Verkuil et al. 2016).
    recovery_ln_rise : float
        lnRMSSD this far above the resting reference is vagal predominance. Default 0.3 (RMSSD
        about 35 % higher), calmtrace's own.
    recovery_hr_margin_bpm : float
        Recovery needs additional heart rate at most this. Default 0 bpm (heart rate at or below
        the resting reference), calmtrace's own.
    min_acc_coverage : float
        Share of an epoch's expected acceleration samples needed for its ENMO. Default 0.5,
        calmtrace's own; epochs below it use the heart-rate fallback for activity.
    default_slope_bpm_per_mg : float
        Heart rate per mg of ENMO when fewer than ``min_moving_epochs`` moving epochs exist to
        learn it. Default 0.3, calmtrace's own (the simulator's walking: +25 bpm at ~80 mg).
    min_moving_epochs : int
        Moving epochs needed to learn the slope. Default 10, calmtrace's own.
    age_years : float
        Age for HRmax = 208 - 0.7 age (Tanaka, Monahan & Seals 2001), used by the fallback only.
        Default 40, calmtrace's own stand-in when the age is unknown.
    fallback_hrr_share : float
        HR-only fallback: heart rate at or above ``HR_rest + share * (HRmax - HR_rest)`` is
        activity. Default 0.30, the lower bound of light-to-moderate intensity in heart-rate
        reserve (Karvonen et al. 1957; Garber et al. 2011, ACSM).
    sleep_search_s : float
        Length of the quietest window searched for sleep when no sleep event exists. Default
        4 h, calmtrace's own.
    sleep_first_s : float
        Overnight recovery figures use the first this-many seconds of sleep. Default 4 h,
        calmtrace's own (the first hours of sleep, where slow-wave sleep and vagal predominance
        are greatest).
    diary_window_s : float
        Physiology linked to a diary entry: the span this long before it. Default 1800 s,
        calmtrace's own.
    min_rm_days : int
        Repeated-measures correlation needs rated entries on at least this many days. Default 2.
    min_rm_df : int
        ... and at least this many degrees of freedom (entries - days - 1). Default 5,
        calmtrace's own; below it the association is NaN with the reason.
    min_acc_share : float
        An accelerometer that gives movement for fewer than this share of the epochs is warned
        about (both time spans and the share are logged) and the mode is not called
        ``accelerometer``. Default 0.5, calmtrace's own: below it most epochs use the heart-rate
        rule, so the result is mostly the fallback's. An accelerometer with no sample inside the
        recording is an error (usually a clock in another time zone).
    """

    epoch_s: float = 60.0
    still_enmo_mg: float = 15.0
    activity_enmo_mg: float = 40.0
    post_activity_s: float = 300.0
    additional_hr_bpm: float = 6.0
    stress_ln_drop: float = 0.3
    recovery_ln_rise: float = 0.3
    recovery_hr_margin_bpm: float = 0.0
    min_acc_coverage: float = 0.5
    default_slope_bpm_per_mg: float = 0.3
    min_moving_epochs: int = 10
    age_years: float = 40.0
    fallback_hrr_share: float = 0.30
    sleep_search_s: float = 4 * 3600.0
    sleep_first_s: float = 4 * 3600.0
    diary_window_s: float = 1800.0
    min_rm_days: int = 2
    min_rm_df: int = 5
    min_acc_share: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InputError(f"DayConfig: {f.name} must be a number, got {v!r}")
        for name in ("epoch_s", "activity_enmo_mg", "still_enmo_mg", "sleep_search_s", "sleep_first_s",
                     "diary_window_s", "age_years"):
            if getattr(self, name) <= 0:
                raise InputError(f"DayConfig: {name} must be > 0, got {getattr(self, name)!r}")
        if self.epoch_s < 10:
            raise InputError(f"DayConfig: epoch_s must be at least 10 s (HRV needs beats), got {self.epoch_s!r}")
        if self.still_enmo_mg > self.activity_enmo_mg:
            raise InputError("DayConfig: still_enmo_mg must not exceed activity_enmo_mg")
        if not 0 <= self.min_acc_share <= 1:
            raise InputError(f"DayConfig: min_acc_share must be between 0 and 1, got {self.min_acc_share!r}")
        if not 0 < self.fallback_hrr_share < 1:
            raise InputError(f"DayConfig: fallback_hrr_share must be between 0 and 1, got {self.fallback_hrr_share!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "DayConfig":
        """A config from a ``[day]`` table; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - names)
        if unknown:
            raise InputError(f"[day]: unknown key {unknown[0]!r}; known: {', '.join(sorted(names))}")
        return cls(**dict(mapping))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DayResult:
    """The day analysis of one recording.

    Attributes
    ----------
    epochs : pandas.DataFrame
        One row per epoch: ``start_s``, ``end_s``, ``state``, ``evidence`` (one line), ``hr_bpm``,
        ``ln_rmssd``, ``rmssd_ms``, ``enmo_mg`` (NaN without accelerometer), ``acc_coverage``,
        ``hr_expected_bpm``, ``additional_hr_bpm``, ``ln_rmssd_delta`` (against the resting
        reference), ``moving``, ``still``, ``asleep``, ``valid``, ``rhythm``, ``day``.
    sleep : pandas.DataFrame
        One row per sleep span: ``onset_s``, ``end_s``, ``source`` (event / diary / quietest span),
        ``hr_bpm`` and ``ln_rmssd`` over its first ``sleep_first_s``, ``recovery_pct``.
    summary : pandas.DataFrame
        ``day`` (0-based 24-h block, or ``all``), minutes per state, stress episodes, share in
        parasympathetic dominance.
    episodes : pandas.DataFrame
        Stress episodes: ``onset_s``, ``duration_s``, ``mean_additional_hr_bpm``,
        ``mean_ln_rmssd_delta``, ``day``.
    diary : pandas.DataFrame
        Rated diary entries with the state and physiology of the span before each.
    association : dict
        Repeated-measures correlations of rating with physiology (``rm_corr`` output per metric).
    reference : dict
        The learnt personal references (``hr_rest_bpm``, ``ln_rmssd_rest``, ``slope_bpm_per_mg``,
        ``hr_max_bpm`` ...) and how many epochs they came from.
    config : DayConfig
    mode : str
        ``accelerometer`` or ``heart-rate only`` (the documented fallback).
    warnings : list of str
    """

    epochs: pd.DataFrame
    sleep: pd.DataFrame
    summary: pd.DataFrame
    episodes: pd.DataFrame
    diary: pd.DataFrame
    association: dict
    reference: dict
    config: DayConfig
    mode: str
    warnings: list = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``day.json``: mode, config (every threshold), references, association, warnings."""
        def plain(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(k): plain(x) for k, x in v.items()}
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (float, np.floating)):
                return None if not math.isfinite(float(v)) else float(v)
            return v
        return plain({"mode": self.mode, "config": self.config.to_dict(), "reference": self.reference,
                      "association": self.association, "warnings": list(self.warnings),
                      "states": list(STATES)})

    def write(self, out: Any) -> list:
        """Write ``day_epochs.csv``, ``day_summary.csv``, ``sleep.csv``, ``stress_episodes.csv``,
        ``diary_links.csv`` and ``day.json`` into the folder ``out``; return their paths."""
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in (("day_epochs.csv", self.epochs), ("day_summary.csv", self.summary),
                         ("sleep.csv", self.sleep), ("stress_episodes.csv", self.episodes),
                         ("diary_links.csv", self.diary)):
            p = folder / name
            df.to_csv(p, index=False, float_format="%.6g")
            paths.append(p)
        p = folder / "day.json"
        p.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        paths.append(p)
        return paths


# -------------------------------------------------------------------------------------------
# movement
# -------------------------------------------------------------------------------------------
def enmo_per_epoch(acc: pd.DataFrame, n_epochs: int, epoch_s: float,
                   fs_hz: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ENMO per epoch (van Hees et al. 2013): mean of ``max(|a| - 1 g, 0)`` in mg.

    Parameters
    ----------
    acc : pandas.DataFrame
        ``t_s`` (s since the recording's start) and ``x_mg``, ``y_mg``, ``z_mg`` (mg).
    n_epochs : int
        Number of epochs from ``t_s = 0``.
    epoch_s : float
        Epoch length, s.
    fs_hz : float, optional
        Sampling rate, Hz; estimated from the median sample spacing when omitted.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ENMO in mg per epoch (NaN where no samples) and coverage (samples / expected, 0-1),
        both of shape ``(n_epochs,)``.
    """
    for c in ("t_s", "x_mg", "y_mg", "z_mg"):
        if c not in acc.columns:
            raise InputError(f"acceleration table: missing column {c!r}")
    t = acc["t_s"].to_numpy(dtype=float)
    if t.size == 0:
        return np.full(n_epochs, np.nan), np.zeros(n_epochs)
    if fs_hz is None:
        d = np.diff(t[: min(t.size, 100_001)])
        d = d[d > 0]
        fs_hz = 1.0 / float(np.median(d)) if d.size else 1.0
    k = np.floor(t / epoch_s).astype(np.int64)
    inside = (k >= 0) & (k < n_epochs)
    k = k[inside]
    x = acc["x_mg"].to_numpy(dtype=np.float32)[inside]
    y = acc["y_mg"].to_numpy(dtype=np.float32)[inside]
    z = acc["z_mg"].to_numpy(dtype=np.float32)[inside]
    norm = np.sqrt(x * x + y * y + z * z)
    del x, y, z
    enmo = np.maximum(norm - np.float32(_G_MG), np.float32(0.0))
    s = np.bincount(k, weights=enmo, minlength=n_epochs)[:n_epochs]
    n = np.bincount(k, minlength=n_epochs)[:n_epochs].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, s / np.maximum(n, 1), np.nan)
    cover = np.clip(n / (fs_hz * epoch_s), 0.0, 1.0)
    return out, cover


# -------------------------------------------------------------------------------------------
# epochs
# -------------------------------------------------------------------------------------------
def _epoch_table(recording: Recording, cfg: DayConfig, cleaned: Recording | None = None) -> pd.DataFrame:
    cleaned = clean(recording) if cleaned is None else cleaned
    win = windowed_hrv(cleaned, window_s=cfg.epoch_s, step_s=cfg.epoch_s)
    rhythm = windowed_rhythm(recording, cleaned, win)["rhythm"].to_numpy(dtype=object)
    valid = win["valid"].to_numpy(dtype=bool) & ~np.isin(rhythm, NOT_SINUS)
    return pd.DataFrame({
        "start_s": win["start_s"].to_numpy(float), "end_s": win["end_s"].to_numpy(float),
        "hr_bpm": win["mean_hr_bpm"].to_numpy(float), "rmssd_ms": win["rmssd_ms"].to_numpy(float),
        "ln_rmssd": win["ln_rmssd"].to_numpy(float), "coverage": win["coverage"].to_numpy(float),
        "artifact_pct": win["artifact_pct"].to_numpy(float), "valid": valid, "rhythm": rhythm,
    })


_BED = re.compile(r"\b(sleep|asleep|bed|bedtime|lights? out)\b", re.I)
_WAKE = re.compile(r"\b(wake|woke|awake|wakeup|got up|get up|up)\b", re.I)
#: A "to bed" diary moment is paired with the next "woke up" moment within this span (16 h).
_MAX_NIGHT_S = 16 * 3600.0


def _sleep_events(recording: Recording) -> list[tuple[float, float, str]]:
    """Sleep spans from events: an event whose label contains "sleep" and has a duration (source
    ``event``), or a diary moment like "to bed" / "asleep" followed by a "woke up" moment within
    16 h (source ``diary``). One span per night: a diary pair that overlaps a sleep event is the
    same night told twice and gives way to the event."""
    ev = recording.events.df
    if not len(ev):
        return []
    lab = ev["label"].astype(str)
    dur = ev["duration_s"].to_numpy(float)
    onset = ev["onset_s"].to_numpy(float)
    spans = [(float(o), float(o + d), "event") for o, d, text in zip(onset, dur, lab)
             if d > 0 and "sleep" in text.lower()]
    moments = sorted((float(o), text) for o, d, text in zip(onset, dur, lab) if d == 0)
    for i, (o, text) in enumerate(moments):
        if _BED.search(text) and not _WAKE.search(text):
            for o2, text2 in moments[i + 1:]:
                if o2 - o > _MAX_NIGHT_S:
                    break
                if _WAKE.search(text2):
                    if not any(a < o2 and o < b for a, b, _ in spans):
                        spans.append((o, o2, "diary"))
                    break
    return sorted(spans)


def sleep_spans(epochs: pd.DataFrame, recording: Recording, cfg: DayConfig) -> list[tuple[float, float, str]]:
    """Sleep spans: from ``sleep`` events, else the quietest long span of each 24-h block.

    Parameters
    ----------
    epochs : pandas.DataFrame
        Epochs with ``start_s``, ``hr_bpm``, ``valid`` and ``still`` (bool; all True without an
        accelerometer).
    recording : Recording
        For its events.
    cfg : DayConfig

    Returns
    -------
    list of (onset_s, end_s, source)
        ``source`` is ``event`` (a sleep event), ``diary`` (a to-bed / woke-up pair) or
        ``quietest span``.
    """
    spans = _sleep_events(recording)
    if spans:
        return spans
    start = epochs["start_s"].to_numpy(float)
    hr = np.where(epochs["valid"].to_numpy(bool) & epochs["still"].to_numpy(bool),
                  epochs["hr_bpm"].to_numpy(float), np.nan)
    n_win = int(round(cfg.sleep_search_s / cfg.epoch_s))
    if start.size < n_win or start.size * cfg.epoch_s < 6 * 3600.0:
        return []
    roll = pd.Series(hr).rolling(15, center=True, min_periods=5).median().to_numpy()
    free = np.ones(start.size, bool)  # epochs not yet inside a night or its 12-h surround
    out: list[tuple[float, float, str]] = []
    first_quiet = awake_med = math.nan
    n_max = int(start.size * cfg.epoch_s // 86400.0) + 1
    half_day = int(round(12 * 3600.0 / cfg.epoch_s))
    while len(out) < n_max:
        h = np.where(free, hr, np.nan)
        mean = np.array(pd.Series(h).rolling(n_win, min_periods=int(0.6 * n_win)).mean(), dtype=float)
        # a window must lie wholly in free epochs
        blocked = pd.Series((~free).astype(float)).rolling(n_win, min_periods=1).max().to_numpy() > 0
        mean[blocked] = np.nan
        if np.all(np.isnan(mean)):
            break
        j_end = int(np.nanargmin(mean))
        lo, hi = j_end - n_win + 1, j_end
        quiet = float(mean[j_end])
        if not out:
            rest = np.concatenate((hr[:lo], hr[hi + 1:]))
            awake_med = float(np.nanmedian(rest)) if np.isfinite(rest).any() else quiet
            first_quiet = quiet
        elif quiet > (first_quiet + awake_med) / 2.0:
            break  # no other span as quiet as a night: daytime is left
        limit = (quiet + awake_med) / 2.0
        while lo > 0 and free[lo - 1] and (np.isnan(roll[lo - 1]) or roll[lo - 1] < limit):
            lo -= 1
        while hi < start.size - 1 and free[hi + 1] and (np.isnan(roll[hi + 1]) or roll[hi + 1] < limit):
            hi += 1
        out.append((float(start[lo]), float(start[hi] + cfg.epoch_s), "quietest span"))
        free[max(0, lo - half_day):hi + 1 + half_day] = False
    return sorted(out)


def epoch_states(recording: Recording, acc: pd.DataFrame | None = None,
                 config: DayConfig | None = None, cleaned: Recording | None = None) -> DayResult:
    """Epoch states with their evidence, sleep spans and references (no summary or diary).

    Parameters
    ----------
    recording : Recording
        Beats as recorded (cleaned here).
    acc : pandas.DataFrame, optional
        Chest acceleration, ``t_s`` (same clock as the beats), ``x_mg``, ``y_mg``, ``z_mg``.
        Without it the documented heart-rate-only fallback decides activity.
    config : DayConfig, optional
    cleaned : Recording, optional
        ``recording`` already cleaned (:func:`calmtrace.signals.clean.clean`), e.g. by
        :func:`calmtrace.analysis.analyze`: it is used instead of cleaning again (for ten million
        beats a second cleaning costs about a minute and gigabytes).

    Returns
    -------
    DayResult
        With ``epochs``, ``sleep``, ``reference``, ``mode``; the other tables empty (see
        :func:`analyze_day` for everything).

    Raises
    ------
    AnalysisError
        When the recording is shorter than one epoch or has no valid epoch.
    """
    cfg = config or DayConfig()
    if not isinstance(cfg, DayConfig):
        raise InputError(f"config must be a DayConfig, got {type(cfg).__name__}")
    if not isinstance(recording, Recording):
        raise InputError(f"recording must be a Recording, got {type(recording).__name__}")
    if len(recording.beats) < 3 or recording.duration_s < cfg.epoch_s:
        raise AnalysisError(f"day: the recording ({recording.duration_s:.0f} s) is shorter than one "
                            f"{cfg.epoch_s:g} s epoch or has too few beats")
    if cleaned is not None and (not isinstance(cleaned, Recording) or "cleaning" not in cleaned.meta):
        raise InputError("cleaned must be a Recording returned by clean() (its meta has no 'cleaning')")
    ep = _epoch_table(recording, cfg, cleaned)
    n = len(ep)
    warnings: list[str] = []
    has_acc = acc is not None and len(acc) > 0
    if has_acc:
        enmo, cover = enmo_per_epoch(acc, n, cfg.epoch_s)  # type: ignore[arg-type]
        enmo = np.where(cover >= cfg.min_acc_coverage, enmo, np.nan)
    else:
        enmo, cover = np.full(n, np.nan), np.zeros(n)
    has_move = np.isfinite(enmo)
    moving = has_move & (enmo >= cfg.activity_enmo_mg)
    still = np.where(has_move, enmo < cfg.still_enmo_mg, True)
    valid = ep["valid"].to_numpy(bool) & np.isfinite(ep["hr_bpm"].to_numpy(float)) & \
        np.isfinite(ep["ln_rmssd"].to_numpy(float))
    if not valid.any():
        raise AnalysisError("day: no epoch has valid beats (coverage, artefacts or rhythm)")
    ep = ep.assign(enmo_mg=enmo, acc_coverage=cover, moving=moving, still=still, valid=valid)

    spans = sleep_spans(ep, recording, cfg)
    t0 = ep["start_s"].to_numpy(float)
    mid = t0 + cfg.epoch_s / 2.0
    asleep = np.zeros(n, bool)
    for o, e, _src in spans:
        asleep |= (mid >= o) & (mid < e)

    hr = ep["hr_bpm"].to_numpy(float)
    ln = ep["ln_rmssd"].to_numpy(float)
    rest = valid & still & ~moving & ~asleep
    ref_from = "still waking epochs" if has_acc else "waking epochs (no accelerometer: stillness unknown)"
    if rest.sum() < 10:
        rest = valid & still & ~moving
        ref_from = "still epochs including sleep (too few still waking epochs)"
        warnings.append(f"day: only {int((valid & still & ~moving & ~asleep).sum())} still waking epochs; "
                        "the resting reference includes sleep")
    if not rest.any():
        rest = valid
        ref_from = "all valid epochs (no still epoch)"
        warnings.append("day: no still epoch; the resting reference is the median of all valid epochs")
    hr_rest = float(np.median(hr[rest]))
    ln_rest = float(np.median(ln[rest]))
    hr_max = 208.0 - 0.7 * cfg.age_years
    mv = valid & moving & ~asleep & (enmo > 0)
    if mv.sum() >= cfg.min_moving_epochs:
        slope = float(max(np.median((hr[mv] - hr_rest) / enmo[mv]), 0.0))
        slope_from = f"median over {int(mv.sum())} moving epochs"
    else:
        slope = cfg.default_slope_bpm_per_mg
        slope_from = f"default (only {int(mv.sum())} moving epochs)"
    expected = hr_rest + slope * np.where(has_move, enmo, 0.0)
    add_hr = hr - expected
    dln = ln - ln_rest

    # activity: movement, its after-effect, or the fallback's heart-rate rule where no ENMO
    hr_activity = hr_rest + cfg.fallback_hrr_share * (hr_max - hr_rest)
    fallback_act = ~has_move & (hr >= hr_activity)
    recent = np.zeros(n, bool)
    k_post = int(round(cfg.post_activity_s / cfg.epoch_s))
    if k_post > 0 and moving.any():
        last = np.where(moving, np.arange(n), -10**9)
        last = np.maximum.accumulate(last)
        since = np.arange(n) - last
        recent = (since > 0) & (since <= k_post)
    after = recent & ~moving & (add_hr >= cfg.additional_hr_bpm)
    activity = valid & (moving | after | fallback_act)
    stress = valid & ~activity & (add_hr >= cfg.additional_hr_bpm) & (dln <= -cfg.stress_ln_drop)
    recovery = valid & ~activity & ~stress & still & (dln >= cfg.recovery_ln_rise) & \
        (add_hr <= cfg.recovery_hr_margin_bpm)
    state = np.full(n, "neutral", dtype=object)
    state[recovery] = "recovery"
    state[stress] = "stress"
    state[activity] = "activity"
    state[~valid] = "unmeasured"

    evidence = _evidence(state, ep, enmo, add_hr, dln, moving, after, fallback_act, cfg)
    day = np.floor(t0 / 86400.0).astype(int)
    ep = ep.assign(state=state, evidence=evidence, hr_expected_bpm=expected, additional_hr_bpm=add_hr,
                   ln_rmssd_delta=dln, asleep=asleep, day=day)
    ep = ep[["start_s", "end_s", "state", "evidence", "hr_bpm", "ln_rmssd", "rmssd_ms", "enmo_mg", "acc_coverage",
             "hr_expected_bpm", "additional_hr_bpm", "ln_rmssd_delta", "moving", "still", "asleep", "valid",
             "rhythm", "coverage", "artifact_pct", "day"]]
    sleep = _sleep_table(ep, spans, cfg)
    mode = "accelerometer" if has_acc else "heart-rate only"
    hr_rule = ~has_move & valid   # unmeasured epochs take no activity rule at all
    if has_acc and hr_rule.any():
        warnings.append(f"day: {int(hr_rule.sum())} measured epochs without enough acceleration samples use the "
                        "heart-rate-only rule for activity")
    reference = {
        "hr_rest_bpm": hr_rest, "ln_rmssd_rest": ln_rest, "reference_from": ref_from,
        "n_reference_epochs": int(rest.sum()), "slope_bpm_per_mg": slope, "slope_from": slope_from,
        "hr_max_bpm": hr_max, "hr_activity_fallback_bpm": hr_activity,
        "sleep_ln_rmssd": float(np.median(ln[valid & asleep])) if (valid & asleep).any() else math.nan,
    }
    return DayResult(ep, sleep, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {}, reference, cfg, mode, warnings)


def _evidence(state: np.ndarray, ep: pd.DataFrame, enmo: np.ndarray, add_hr: np.ndarray, dln: np.ndarray,
              moving: np.ndarray, after: np.ndarray, fallback_act: np.ndarray, cfg: DayConfig) -> np.ndarray:
    out = np.empty(state.size, dtype=object)
    rhythm = ep["rhythm"].to_numpy(dtype=object)
    cov = ep["coverage"].to_numpy(float)
    art = ep["artifact_pct"].to_numpy(float)
    for i, s in enumerate(state):
        if s == "unmeasured":
            if rhythm[i] in NOT_SINUS:
                out[i] = f"rhythm {rhythm[i]}: HRV is not autonomic modulation here"
            elif not np.isfinite(cov[i]) or cov[i] == 0:
                out[i] = "no beats (gap)"
            else:
                out[i] = f"window not valid (coverage {cov[i]:.2f}, artefacts {art[i]:.1f} %)"
            continue
        move = f"ENMO {enmo[i]:.0f} mg" if np.isfinite(enmo[i]) else "no ENMO"
        core = f"additional HR {add_hr[i]:+.1f} bpm, lnRMSSD {dln[i]:+.2f} vs rest"
        if s == "activity":
            if moving[i]:
                why = f"{move} >= {cfg.activity_enmo_mg:g} mg"
            elif after[i]:
                why = f"within {cfg.post_activity_s:g} s after movement, HR still raised"
            else:
                why = "heart rate in the activity range (no accelerometer: HR-only rule)"
            out[i] = f"{why}; {core}"
        else:
            out[i] = f"{core}; {move}"
    return out


def _sleep_table(ep: pd.DataFrame, spans: list[tuple[float, float, str]], cfg: DayConfig) -> pd.DataFrame:
    rows = []
    t = ep["start_s"].to_numpy(float) + cfg.epoch_s / 2.0
    valid = ep["valid"].to_numpy(bool)
    for o, e, src in spans:
        inside = (t >= o) & (t < e)
        first = inside & (t < o + cfg.sleep_first_s) & valid
        st = ep["state"].to_numpy(dtype=object)[inside & valid]
        rows.append({
            "onset_s": o, "end_s": e, "duration_h": (e - o) / 3600.0, "source": src,
            "hr_bpm": float(np.mean(ep["hr_bpm"].to_numpy(float)[first])) if first.any() else math.nan,
            "ln_rmssd": float(np.mean(ep["ln_rmssd"].to_numpy(float)[first])) if first.any() else math.nan,
            "first_s": cfg.sleep_first_s,
            "recovery_pct": float(100.0 * np.mean(st == "recovery")) if st.size else math.nan,
            "measured_pct": float(100.0 * np.mean(valid[inside])) if inside.any() else math.nan,
        })
    cols = ["onset_s", "end_s", "duration_h", "source", "hr_bpm", "ln_rmssd", "first_s", "recovery_pct",
            "measured_pct"]
    return pd.DataFrame(rows, columns=cols)


# -------------------------------------------------------------------------------------------
# summary, episodes, diary
# -------------------------------------------------------------------------------------------
def _episodes(ep: pd.DataFrame, cfg: DayConfig) -> pd.DataFrame:
    """Runs of consecutive stress epochs."""
    st = ep["state"].to_numpy(dtype=object) == "stress"
    cols = ["onset_s", "duration_s", "n_epochs", "mean_additional_hr_bpm", "mean_ln_rmssd_delta", "day"]
    if not st.any():
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    d = np.diff(np.concatenate(([0], st.astype(int), [0])))
    on, off = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    start = ep["start_s"].to_numpy(float)
    add = ep["additional_hr_bpm"].to_numpy(float)
    dln = ep["ln_rmssd_delta"].to_numpy(float)
    return pd.DataFrame({
        "onset_s": start[on], "duration_s": (off - on) * cfg.epoch_s, "n_epochs": off - on,
        "mean_additional_hr_bpm": [float(add[a:b].mean()) for a, b in zip(on, off)],
        "mean_ln_rmssd_delta": [float(dln[a:b].mean()) for a, b in zip(on, off)],
        "day": np.floor(start[on] / 86400.0).astype(int),
    })


def day_summary(ep: pd.DataFrame, episodes: pd.DataFrame, cfg: DayConfig) -> pd.DataFrame:
    """Minutes per state, stress episodes and share in parasympathetic dominance, per 24-h block.

    Parameters
    ----------
    ep : pandas.DataFrame
        :attr:`DayResult.epochs`.
    episodes : pandas.DataFrame
        :attr:`DayResult.episodes`.
    cfg : DayConfig

    Returns
    -------
    pandas.DataFrame
        One row per ``day`` (24-h block from the start, as text) and one for ``all``:
        ``<state>_min`` for every state, ``measured_min``, ``stress_episodes``,
        ``longest_stress_min``, ``pns_dominance_pct`` (recovery epochs per 100 measured epochs:
        vagal activity above the resting level with heart rate at or below it), ``stress_pct``.
    """
    rows = []
    groups = [(str(int(d)), ep[ep["day"] == d], episodes[episodes["day"] == d])
              for d in sorted(ep["day"].unique())]
    if len(groups) > 1:
        groups.append(("all", ep, episodes))
    for name, e, epi in groups:
        st = e["state"].to_numpy(dtype=object)
        row: dict[str, Any] = {"day": name}
        for s in STATES:
            row[f"{s}_min"] = float(np.sum(st == s) * cfg.epoch_s / 60.0)
        measured = float(np.sum(st != "unmeasured"))
        row["measured_min"] = measured * cfg.epoch_s / 60.0
        row["stress_episodes"] = int(len(epi))
        row["longest_stress_min"] = float(epi["duration_s"].max() / 60.0) if len(epi) else 0.0
        row["pns_dominance_pct"] = 100.0 * float(np.sum(st == "recovery")) / measured if measured else math.nan
        row["stress_pct"] = 100.0 * float(np.sum(st == "stress")) / measured if measured else math.nan
        row["activity_pct"] = 100.0 * float(np.sum(st == "activity")) / measured if measured else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def rm_corr(x: np.ndarray, y: np.ndarray, group: np.ndarray, min_groups: int = 2,
            min_df: int = 5) -> dict[str, Any]:
    """Repeated-measures correlation (Bakdash & Marusich 2017).

    The common within-group slope of ``y`` on ``x`` (an ANCOVA with a separate intercept per group):
    ``r_rm = sum(xc * yc) / sqrt(sum(xc^2) * sum(yc^2))`` with ``xc``, ``yc`` centred within each
    group, ``df = n - k - 1`` (n observations, k groups), the p-value from
    ``t = r sqrt(df / (1 - r^2))`` and the 95 % CI from Fisher's z with standard error
    ``1 / sqrt(df - 1)`` (as the rmcorr R package).

    Parameters
    ----------
    x, y : array of float, shape (n,)
    group : array, shape (n,)
        The unit each observation belongs to (here: the day).
    min_groups, min_df : int
        Below these, the result is NaN with the reason.

    Returns
    -------
    dict
        ``r``, ``ci_low``, ``ci_high``, ``p``, ``df``, ``n``, ``groups``, ``reason`` (empty when
        computed).
    """
    from scipy import stats

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    g = np.asarray(group)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, g = x[ok], y[ok], g[ok]
    # groups with a single observation carry no within-group information
    labels, inv, counts = np.unique(g, return_inverse=True, return_counts=True)
    keep = counts[inv] >= 2
    x, y, inv = x[keep], y[keep], inv[keep]
    k = int(np.unique(inv).size)
    n = int(x.size)
    df = n - k - 1
    out: dict[str, Any] = {"r": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p": math.nan,
                           "df": int(df), "n": n, "groups": k, "reason": "",
                           "method": "repeated-measures correlation (Bakdash & Marusich 2017)"}
    if k < min_groups:
        out["reason"] = f"needs rated entries on at least {min_groups} days with 2 or more entries each; found {k}"
        return out
    if df < min_df:
        out["reason"] = f"too few entries: {n} on {k} days gives {df} degrees of freedom, {min_df} needed"
        return out
    mx = np.bincount(inv, weights=x) / np.bincount(inv)
    my = np.bincount(inv, weights=y) / np.bincount(inv)
    xc, yc = x - mx[inv], y - my[inv]
    sxx, syy = float(np.sum(xc * xc)), float(np.sum(yc * yc))
    if sxx == 0 or syy == 0:
        out["reason"] = "no within-day variation in the rating or the physiology"
        return out
    r = float(np.sum(xc * yc) / math.sqrt(sxx * syy))
    r = min(max(r, -1.0), 1.0)
    if abs(r) < 1:
        t = r * math.sqrt(df / (1 - r * r))
        p = float(2 * stats.t.sf(abs(t), df))
        z = math.atanh(r)
        se = 1.0 / math.sqrt(df - 1)
        lo, hi = math.tanh(z - 1.959963984540054 * se), math.tanh(z + 1.959963984540054 * se)
    else:
        p, lo, hi = 0.0, r, r
    out.update({"r": r, "ci_low": lo, "ci_high": hi, "p": p})
    return out


#: Physiology set against diary ratings, with the direction expected under stress.
DIARY_METRICS = ("additional_hr_bpm", "ln_rmssd_delta", "stress_share")


def diary_links(ep: pd.DataFrame, recording: Recording, cfg: DayConfig) -> tuple[pd.DataFrame, dict]:
    """Rated diary entries set against the state and physiology of the span before each.

    Parameters
    ----------
    ep : pandas.DataFrame
        :attr:`DayResult.epochs`.
    recording : Recording
        Its events with a finite ``rating`` are the diary entries.
    cfg : DayConfig

    Returns
    -------
    (pandas.DataFrame, dict)
        Per entry: ``onset_s``, ``label``, ``rating``, ``day``, ``state_at_entry``,
        ``additional_hr_bpm``, ``ln_rmssd_delta`` (means over measured epochs in the
        ``diary_window_s`` before it), ``stress_share`` (0-1) and ``n_epochs``; and the
        repeated-measures correlation of rating with each of :data:`DIARY_METRICS` across days.
    """
    ev = recording.events.df
    cols = ["onset_s", "label", "rating", "day", "state_at_entry", "n_epochs", *DIARY_METRICS]
    rated = ev[np.isfinite(ev["rating"].to_numpy(float))] if len(ev) else ev
    t0 = ep["start_s"].to_numpy(float)
    meas = ep["state"].to_numpy(dtype=object) != "unmeasured"
    rows = []
    for o, lab, r in zip(rated.get("onset_s", []), rated.get("label", []), rated.get("rating", [])):
        o = float(o)
        sel = meas & (t0 + cfg.epoch_s <= o + 1e-9) & (t0 >= o - cfg.diary_window_s - 1e-9)
        k = int(np.searchsorted(t0, o, side="right") - 1)
        st = ep["state"].iloc[k] if 0 <= k < len(ep) else "unmeasured"
        rows.append({
            "onset_s": o, "label": str(lab), "rating": float(r), "day": int(o // 86400.0),
            "state_at_entry": st, "n_epochs": int(sel.sum()),
            "additional_hr_bpm": float(ep["additional_hr_bpm"].to_numpy(float)[sel].mean()) if sel.any() else math.nan,
            "ln_rmssd_delta": float(ep["ln_rmssd_delta"].to_numpy(float)[sel].mean()) if sel.any() else math.nan,
            "stress_share": float(np.mean(ep["state"].to_numpy(dtype=object)[sel] == "stress")) if sel.any() else math.nan,
        })
    diary = pd.DataFrame(rows, columns=cols)
    assoc = {}
    for m in DIARY_METRICS:
        assoc[m] = rm_corr(diary["rating"].to_numpy(float), diary[m].to_numpy(float),
                           diary["day"].to_numpy(int), cfg.min_rm_days, cfg.min_rm_df)
    return diary, assoc


def analyze_day(recording: Recording, acc: pd.DataFrame | None = None,
                config: DayConfig | None = None, cleaned: Recording | None = None) -> DayResult:
    """The whole day analysis: epoch states, sleep, summary, stress episodes, diary links.

    Parameters
    ----------
    recording : Recording
        Beats as recorded; events with ratings are the diary, ``sleep`` events the sleep spans.
    acc : pandas.DataFrame, optional
        Chest acceleration (``t_s``, ``x_mg``, ``y_mg``, ``z_mg``); without it the heart-rate-only
        fallback decides activity (``DayResult.mode``).
    config : DayConfig, optional
    cleaned : Recording, optional
        ``recording`` already cleaned; see :func:`epoch_states`.

    Returns
    -------
    DayResult

    Raises
    ------
    AnalysisError
        When the recording is shorter than one epoch or no epoch is valid.
    InputError
        When ``acc`` has no sample inside the recording (:func:`check_acc_overlap`); an
        accelerometer for fewer than ``config.min_acc_share`` of the epochs is a logged warning
        (:func:`warn_acc_share`).
    """
    check_acc_overlap(recording, acc)
    res = epoch_states(recording, acc, config, cleaned)
    cfg = res.config
    warn_acc_share(res, recording, acc)
    res.episodes = _episodes(res.epochs, cfg)
    res.summary = day_summary(res.epochs, res.episodes, cfg)
    res.diary, res.association = diary_links(res.epochs, recording, cfg)
    return res


# -------------------------------------------------------------------------------------------
# does the accelerometer cover the beats?
# -------------------------------------------------------------------------------------------
def _span_text(recording: Recording, t0_s: float, t1_s: float) -> str:
    """``t0-t1 s`` since the start, with the clock times when the start is known."""
    text = f"{t0_s:.0f}-{t1_s:.0f} s"
    if not recording.meta.get("start_unknown"):
        from datetime import timedelta

        a = recording.start + timedelta(seconds=float(t0_s))
        b = recording.start + timedelta(seconds=float(t1_s))
        fmt = "%Y-%m-%d %H:%M:%S"
        text += f" ({a.strftime(fmt)} to {b.strftime(fmt if a.date() != b.date() else '%H:%M:%S')} {a.strftime('%z')})"
    return text


def _acc_name(acc: pd.DataFrame) -> str:
    return str(acc.attrs.get("source") or "the acceleration table")


def check_acc_overlap(recording: Recording, acc: pd.DataFrame | None) -> None:
    """Refuse an accelerometer with no sample inside the recording.

    Parameters
    ----------
    recording : Recording
    acc : pandas.DataFrame or None
        ``t_s`` on the recording's clock (``acc.attrs["source"]``, set by
        :func:`calmtrace.formats.acc_csv.read_acc`, names the file in the message).

    Raises
    ------
    InputError
        One line naming the file, its time span and the recording's (clock times when the
        recording's start is known): usually the phone's clock was in another time zone.
    """
    if acc is None or len(acc) == 0 or "t_s" not in acc.columns:
        return
    t = acc["t_s"].to_numpy(dtype=float)
    t = t[np.isfinite(t)]
    dur = float(recording.duration_s)
    if t.size and np.any((t >= 0.0) & (t <= dur)):
        return
    acc_span = _span_text(recording, float(t.min()), float(t.max())) if t.size else "no time"
    raise InputError(f"{_acc_name(acc)}: the accelerometer covers {acc_span}, which does not overlap the "
                     f"recording ({_span_text(recording, 0.0, dur)}); is its clock in another time zone?")


def acc_share(epochs: pd.DataFrame) -> float:
    """Share (0-1) of the epochs with movement data (a finite ``enmo_mg``); 0 for no epochs."""
    if len(epochs) == 0 or "enmo_mg" not in epochs.columns:
        return 0.0
    return float(np.isfinite(epochs["enmo_mg"].to_numpy(dtype=float)).mean())


def describe_mode(result: DayResult) -> str:
    """What decided activity, for a person: ``accelerometer``, ``heart-rate only``, or
    ``accelerometer on N % of epochs, heart-rate rule elsewhere`` when fewer than
    ``config.min_acc_share`` of the epochs had movement data."""
    if result.mode != "accelerometer":
        return result.mode
    share = acc_share(result.epochs)
    if share >= result.config.min_acc_share:
        return "accelerometer"
    return f"accelerometer on {100 * share:.0f} % of epochs, heart-rate rule elsewhere"


def warn_acc_share(result: DayResult, recording: Recording, acc: pd.DataFrame | None) -> None:
    """Log a warning (and add it to ``result.warnings``) when the accelerometer gives movement for
    fewer than ``config.min_acc_share`` of the epochs, with both time spans and the share."""
    if acc is None or len(acc) == 0 or result.mode != "accelerometer":
        return
    share = acc_share(result.epochs)
    if share >= result.config.min_acc_share:
        return
    t = acc["t_s"].to_numpy(dtype=float)
    msg = (f"{_acc_name(acc)}: the accelerometer covers {_span_text(recording, float(np.nanmin(t)), float(np.nanmax(t)))}"
           f" of the recording's {_span_text(recording, 0.0, float(recording.duration_s))}: movement data for "
           f"{100 * share:.0f} % of epochs (below min_acc_share {100 * result.config.min_acc_share:.0f} %); the "
           "others use the heart-rate-only rule")
    log.warning("%s", msg)
    result.warnings.append(msg)
