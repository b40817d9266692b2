"""HRV of a whole recording, of one span, and of every phase of a session.

:func:`hrv` gives one row of HRV for a span of a recording (by default all of it, every beat);
:func:`hrv_by_event` gives one row per event and per span between events, with each metric's
change from the session's baseline: the "three Rs" table (resting, reactivity, recovery) of
psychophysiology papers (Laborde, Mosley & Thayer 2017, Front Psychol 8:213).

Metrics, definitions and sources are in docs/metrics.md ("Spans and phases"). Beats are used by the
same rules as windowed HRV (:mod:`calmtrace.signals.hrv`): usable flags only, successive
differences never across a gap or an excluded beat. Every metric has a shortest span (or fewest
beats) it needs, in :class:`SegmentConfig` with its source; below it the metric is NaN and the
``notes`` column says why.

Every row says which rhythm its span was in (``rhythm``: ``sinus``, ``irregular``, ``ectopy`` or
``unknown``), by the one rule of :mod:`calmtrace.signals.rhythm` that ``analyze`` and ``calmtrace
info`` use. Where it is not sinus, HRV is not a measure of autonomic modulation: every metric but
mean RR and mean HR (:data:`calmtrace.signals.rhythm.RATE_METRICS`) is NaN, and ``notes`` says why.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ..recording import Recording
from . import balance
from . import rhythm as _rhythm
from .config import PSD_METHODS, SegmentConfig
from .hrv import _INTERPOLATION_ORDER, HRVConfig, _breaks
from .nonlinear import dfa, dfa_scales, sample_entropy

__all__ = ["SegmentConfig", "SEGMENT_METRICS", "SPAN_COLUMNS", "hrv", "hrv_by_event", "PSD_METHODS", "mean_hr_bpm",
           "whole_recording_rate"]

log = logging.getLogger(__name__)

#: Metric columns of a span row, in order (every one gets a change from baseline in hrv_by_event).
SEGMENT_METRICS: tuple[str, ...] = (
    "mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "sdsd_ms",
    "vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf", "lf_nu", "hf_nu", "vlf_peak_hz", "lf_peak_hz",
    "hf_peak_hz", "sd1_ms", "sd2_ms", "stress_index", "sampen", "dfa_alpha1", "dfa_alpha2",
    "pns_index", "sns_index",
)
#: Columns of :func:`hrv`'s row.
SPAN_COLUMNS: tuple[str, ...] = (
    ("start_s", "end_s", "duration_s", "n_beats", "coverage", "artifact_pct", "rhythm")
    + SEGMENT_METRICS + ("psd_method", "notes")
)


# -- public entry points -------------------------------------------------------------------------
def hrv(recording: Recording, start_s: float | None = None, end_s: float | None = None,
        config: SegmentConfig | None = None) -> pd.DataFrame:
    """HRV of a whole recording or of one span of it: one row.

    Parameters
    ----------
    recording : Recording
        Beats (``t_s``, ``rr_ms``, ``flag``) and gaps.
    start_s, end_s : float, optional
        The span ``[start_s, end_s)`` in s since the recording's start; a beat belongs to it when
        its time does. Both omitted: the whole recording, every beat (the span then runs from 0 to
        the recording's end and includes the last beat).
    config : SegmentConfig, optional
        Settings; ``SegmentConfig()`` by default.

    Returns
    -------
    pandas.DataFrame
        One row with the columns of :data:`SPAN_COLUMNS`: the span (``start_s``, ``end_s``,
        ``duration_s``), ``n_beats`` (usable beats), ``coverage`` (their summed RR over the span,
        clipped to 1), ``artifact_pct`` (% of the span's beats not ``ok``), ``rhythm`` (the span's
        rhythm, :func:`calmtrace.signals.rhythm.span_rhythm`), the metrics of
        :data:`SEGMENT_METRICS` (units in their names; docs/metrics.md), ``psd_method`` and
        ``notes``: for every NaN metric, why (``"lf_ms2: span 95 s < 120 s"``; under a rhythm
        that is not sinus, ``"sdnn_ms, ...: not sinus rhythm: ..."``). ``attrs["hrv"]`` holds the
        settings and the rhythm judgement of the recording (``rhythm``).

    Notes
    -----
    The rhythm is judged on the RR as recorded: a recording from
    :func:`calmtrace.signals.clean.clean` carries that judgement in ``meta["rhythm"]``; a recording
    that was not cleaned is judged here (cleaned with default settings only to count ectopic
    beats; its own beats are the ones measured). A recording cleaned without a judgement (by an
    older calmtrace) is judged on its cleaned RR, which ``attrs["hrv"]["rhythm"]["judged_on"]`` says.

    Raises
    ------
    InputError
        If the span is not a pair of numbers with ``start_s < end_s``, or config is not a
        SegmentConfig.
    AnalysisError
        If the recording has no beats.
    """
    cfg = _check_config(config)
    _check_recording(recording)
    whole = start_s is None and end_s is None
    t = recording.t_s
    start = 0.0 if start_s is None else _number("start_s", start_s)
    end = recording.duration_s if end_s is None else _number("end_s", end_s)
    if not end > start:
        raise InputError(f"end_s must be after start_s, got start_s={start:g}, end_s={end:g}")
    prep = _prepare(recording, cfg)
    judgement = _judgement(recording, cfg)
    lo = int(np.searchsorted(t, start, side="left"))
    hi = t.size if (whole or end_s is None) else int(np.searchsorted(t, end, side="left"))
    row = _span_row(prep, lo, hi, start, end, cfg, judgement)
    table = pd.DataFrame([row], columns=list(SPAN_COLUMNS))
    table.attrs["hrv"] = {"config": cfg.to_dict(), "rhythm": judgement}
    log.info("hrv: span %.1f-%.1f s, %d usable beats", start, end, row["n_beats"])
    return table


def hrv_by_event(recording: Recording, config: SegmentConfig | None = None) -> pd.DataFrame:
    """HRV per phase of a session: one row per event and one per span between events.

    Rows, in time order:

    * every event with a duration (moments, ``duration_s == 0``, have no span and are skipped),
      with its ``label`` and ``kind``;
    * every stretch between two consecutive events that no event covers, with kind
      ``inter-event`` and label ``"between <a> and <b>"``.

    Each metric ``m`` of :data:`SEGMENT_METRICS` also gets ``m_delta`` (value minus the session
    baseline's value) and ``m_delta_pct`` (100 x delta / |baseline|). The session baseline is the
    first event of kind ``baseline`` (Laborde, Mosley & Thayer 2017: a resting baseline of about
    5 min); without one the changes are NaN and ``attrs["hrv_by_event"]["baseline"]`` says so.

    Parameters
    ----------
    recording : Recording
        Beats, gaps and events.
    config : SegmentConfig, optional
        Settings; ``SegmentConfig()`` by default.

    Returns
    -------
    pandas.DataFrame
        ``label``, ``kind``, the columns of :data:`SPAN_COLUMNS` (``rhythm`` per phase, as in
        :func:`hrv`) and the change columns. ``attrs["hrv_by_event"]`` holds the baseline used,
        the settings and the rhythm judgement.

    Raises
    ------
    AnalysisError
        If the recording has no beats or no event with a duration.
    """
    cfg = _check_config(config)
    _check_recording(recording)
    ev = recording.events.df if hasattr(recording.events, "df") else pd.DataFrame()
    spans = _phase_spans(ev)
    if not spans:
        raise AnalysisError("hrv_by_event: the recording has no event with a duration (moments have no span)")
    prep = _prepare(recording, cfg)
    judgement = _judgement(recording, cfg)
    t = recording.t_s
    starts = np.array([s[2] for s in spans])
    ends = np.array([s[3] for s in spans])
    los = np.searchsorted(t, starts, side="left")
    his = np.searchsorted(t, ends, side="left")
    rows = []
    for (label, kind, s0, s1), lo, hi in zip(spans, los, his):
        row = {"label": label, "kind": kind}
        row.update(_span_row(prep, int(lo), int(hi), s0, s1, cfg, judgement))
        rows.append(row)
    table = pd.DataFrame(rows, columns=["label", "kind"] + list(SPAN_COLUMNS))
    base_idx = [i for i, s in enumerate(spans) if s[1] == "baseline"]
    deltas: dict[str, np.ndarray] = {}
    if base_idx:
        b = table.iloc[base_idx[0]]
        baseline_note = f"{b['label']} ({b['start_s']:g}-{b['end_s']:g} s)"
    else:
        b = None
        baseline_note = "none: the recording has no event of kind baseline, so changes are NaN"
    for m in SEGMENT_METRICS:
        v = table[m].to_numpy(dtype=float)
        ref = float(b[m]) if b is not None else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            d = v - ref
            pct = np.where(ref != 0, 100.0 * d / abs(ref), np.nan)
        deltas[f"{m}_delta"] = d
        deltas[f"{m}_delta_pct"] = pct
    table = pd.concat([table, pd.DataFrame(deltas, index=table.index)], axis=1)
    table.attrs["hrv_by_event"] = {"baseline": baseline_note, "config": cfg.to_dict(), "rhythm": judgement}
    log.info("hrv_by_event: %d spans, baseline %s", len(table), baseline_note)
    return table


def mean_hr_bpm(rr_ms: np.ndarray) -> float:
    """Mean heart rate, bpm: the mean of the instantaneous heart rates ``60000 / RR``.

    The definition of HRV software's "Mean HR" (pyhrv, hrv-analysis, BioSPPy: the mean of the
    beat-by-beat heart rates, shown beside their SD), which calmtrace's windows, spans, ``info``
    and reports all use. It is not ``60000 / mean RR`` (beats per minute over the span): by
    Jensen's inequality it is larger, by about ``var(HR) / mean(HR)`` (docs/metrics.md, "Mean
    heart rate").

    Parameters
    ----------
    rr_ms : array of float, shape (N,)
        Usable RR intervals, ms.

    Returns
    -------
    float
        bpm; NaN for no intervals.
    """
    x = np.asarray(rr_ms, dtype=float)
    return float(np.mean(60000.0 / x)) if x.size else math.nan


def whole_recording_rate(recording: Recording, config: HRVConfig | None = None) -> tuple[int, float, float]:
    """Usable beats, mean RR (ms) and mean HR (bpm) of a whole recording, as :func:`hrv` gives them.

    ``calmtrace info`` shows these, so that it and ``calmtrace hrv`` never show two mean heart
    rates for one file.

    Parameters
    ----------
    recording : Recording
        Usually cleaned; beats whose flag is in ``config.usable_flags`` count.
    config : HRVConfig, optional
        Beat rules; defaults when omitted.

    Returns
    -------
    (int, float, float)
        Usable beats, mean RR in ms (NaN without beats) and :func:`mean_hr_bpm` in bpm.
    """
    h = config if config is not None else HRVConfig()
    x = recording.rr_ms[np.isin(recording.flags, h.usable_flags)]
    return int(x.size), (float(x.mean()) if x.size else math.nan), mean_hr_bpm(x)


# -- helpers -------------------------------------------------------------------------------------
def _check_config(config: Any) -> SegmentConfig:
    cfg = config if config is not None else SegmentConfig()
    if not isinstance(cfg, SegmentConfig):
        raise InputError(f"config must be a SegmentConfig, got {type(cfg).__name__}")
    return cfg


def _judgement(recording: Recording, cfg: SegmentConfig) -> dict[str, Any]:
    """The rhythm judgement of the whole recording (:func:`calmtrace.signals.rhythm.judge`)."""
    kept = recording.meta.get("rhythm")
    if isinstance(kept, dict) and kept.get("runs") is not None and kept.get("config") == cfg.rhythm.to_dict():
        return kept                                       # from clean(), on the recorded RR
    if recording.meta.get("cleaning"):
        # cleaned without a kept judgement: only the cleaned RR are left to judge
        out = _rhythm.judge(recording, recording, config=cfg.rhythm, log_warnings=False)
        out["judged_on"] = "cleaned RR (the recording was cleaned without a rhythm judgement)"
        return out
    from .clean import clean

    return clean(recording, rhythm=cfg.rhythm).meta["rhythm"]


def _check_recording(recording: Any) -> None:
    if not isinstance(recording, Recording):
        raise InputError(f"recording must be a Recording, got {type(recording).__name__}")
    if recording.t_s.size == 0:
        raise AnalysisError("recording has no beats: there is nothing to compute HRV from")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise InputError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def _phase_spans(ev: pd.DataFrame) -> list[tuple[str, str, float, float]]:
    """(label, kind, start_s, end_s) of every event with a duration and every stretch between."""
    if ev is None or len(ev) == 0:
        return []
    ev = ev[ev["duration_s"] > 0].sort_values("onset_s", kind="stable")
    events = [(str(r.label), str(r.kind), float(r.onset_s), float(r.onset_s + r.duration_s))
              for r in ev.itertuples(index=False)]
    out: list[tuple[str, str, float, float]] = []
    reach, prev_label = -math.inf, None
    for label, kind, s0, s1 in events:
        if prev_label is not None and s0 > reach:
            out.append((f"between {prev_label} and {label}", "inter-event", reach, s0))
        out.append((label, kind, s0, s1))
        if s1 > reach:
            reach, prev_label = s1, label
    return sorted(out, key=lambda s: (s[2], s[3]))


@dataclass
class _Prepared:
    t: np.ndarray
    rr: np.ndarray
    usable: np.ndarray
    artefact: np.ndarray
    brk: np.ndarray


def _prepare(recording: Recording, cfg: SegmentConfig) -> _Prepared:
    t, rr, flags = recording.t_s, recording.rr_ms, recording.flags
    return _Prepared(t=t, rr=rr, usable=np.isin(flags, cfg.hrv.usable_flags), artefact=flags != "ok",
                     brk=_breaks(t, rr, recording.gaps, cfg.hrv.implicit_gap_ms))


def _span_row(p: _Prepared, lo: int, hi: int, start: float, end: float, cfg: SegmentConfig,
              judgement: dict[str, Any]) -> dict[str, Any]:
    """Every metric of the beats ``lo <= i < hi`` of a span ``[start, end)``, and its rhythm."""
    h = cfg.hrv
    duration = end - start
    notes: list[str] = []
    row: dict[str, Any] = dict.fromkeys(SPAN_COLUMNS, math.nan)
    row.update(start_s=start, end_s=end, duration_s=duration, psd_method=cfg.psd_method)
    use = p.usable[lo:hi]
    x = p.rr[lo:hi][use]
    tx = p.t[lo:hi][use]
    n = int(x.size)
    n_all = hi - lo
    row["n_beats"] = n
    row["coverage"] = min(float(x.sum()) / (duration * 1000.0), 1.0) if duration > 0 else math.nan
    row["artifact_pct"] = 100.0 * float(p.artefact[lo:hi].sum()) / n_all if n_all else math.nan
    kind, counts = _rhythm.span_rhythm(judgement, start, end)
    row["rhythm"] = kind

    def nan(names: tuple[str, ...] | list[str], reason: str) -> None:
        notes.append(f"{', '.join(names)}: {reason}")

    if duration < h.min_window_s:
        nan(["all metrics"], f"span {duration:.4g} s < {h.min_window_s:g} s ([hrv] min_window_s)")
        row["notes"] = "; ".join(notes)
        return row
    if n < 2:
        nan(["all metrics"], f"{n} usable beat{'s' if n != 1 else ''} (2 needed)")
        row["notes"] = "; ".join(notes)
        return row

    # -- time domain and Poincare
    pair = p.usable[lo + 1 : hi] & p.usable[lo : hi - 1] & ~p.brk[lo + 1 : hi]
    rr_all = p.rr[lo:hi]
    d = (rr_all[1:] - rr_all[:-1])[pair]
    s = (rr_all[1:] + rr_all[:-1])[pair]
    row["mean_rr_ms"] = float(x.mean())
    row["mean_hr_bpm"] = mean_hr_bpm(x)
    if kind in _rhythm.NOT_SINUS:
        # not sinus rhythm: the rate stands, no variability metric measures autonomic modulation
        words = _rhythm.rhythm_words(cfg.rhythm)[kind]
        n_win = sum(counts.values())
        nan([m for m in SEGMENT_METRICS if m not in _rhythm.RATE_METRICS],
            f"{_rhythm.NOT_SINUS_MESSAGE} ({words} in {counts[kind]} of {n_win} window{'s' if n_win != 1 else ''} "
            "of the span)")
        row["notes"] = "; ".join(notes)
        return row
    row["sdnn_ms"] = float(np.std(x, ddof=1))
    if d.size >= 1:
        row["rmssd_ms"] = float(np.sqrt(np.mean(d * d)))
        row["ln_rmssd"] = math.log(row["rmssd_ms"]) if row["rmssd_ms"] > 0 else math.nan
        if row["rmssd_ms"] == 0:
            nan(["ln_rmssd"], "RMSSD is 0")
        row["pnn50_pct"] = 100.0 * float(np.sum(np.abs(d) > h.pnn_threshold_ms)) / n
    else:
        nan(["rmssd_ms", "ln_rmssd", "pnn50_pct"], "no successive pair of usable beats without a gap")
    if d.size >= 2:
        row["sdsd_ms"] = float(np.std(d, ddof=1))
        row["sd1_ms"] = float(np.std(d / math.sqrt(2.0), ddof=1))
        row["sd2_ms"] = float(np.std(s / math.sqrt(2.0), ddof=1))
    else:
        nan(["sdsd_ms", "sd1_ms", "sd2_ms"], f"{d.size} successive difference(s) (2 needed)")
    si = balance.baevsky_stress_index(x, h.stress_bin_ms)
    row["stress_index"] = math.sqrt(si) if si == si else math.nan
    if not si == si:
        nan(["stress_index"], "all RR equal")
    row["pns_index"] = float(balance.pns_index(np.array([row["mean_rr_ms"]]), np.array([row["rmssd_ms"]]),
                                               np.array([row["sd1_ms"]]))[0])
    row["sns_index"] = float(balance.sns_index(np.array([row["mean_hr_bpm"]]), np.array([row["stress_index"]]),
                                               np.array([row["sd2_ms"]]))[0])
    if not (row["pns_index"] == row["pns_index"] and row["sns_index"] == row["sns_index"]):
        nan(["pns_index/sns_index"], "an input metric is NaN")

    # -- frequency domain
    _spectral(p, lo, hi, tx, x, duration, cfg, row, nan)

    # -- nonlinear
    if n >= cfg.sampen_min_beats:
        if _run_has_break(p, lo, hi):
            nan(["sampen"], "a gap inside the span (templates would join beats across it)")
        else:
            row["sampen"] = sample_entropy(x, dimension=cfg.sampen_dimension, tolerance_sd=cfg.sampen_tolerance_sd)
            if row["sampen"] != row["sampen"]:
                nan(["sampen"], "no template matches (undefined)")
    else:
        nan(["sampen"], f"{n} usable beats < {cfg.sampen_min_beats} ([segment] sampen_min_beats)")
    _dfa_columns(p, lo, hi, x, duration, cfg, row, nan)
    row["notes"] = "; ".join(notes)
    return row


def _run_has_break(p: _Prepared, lo: int, hi: int) -> bool:
    """A gap lies between the span's first and last usable beat."""
    idx = np.flatnonzero(p.usable[lo:hi])
    if idx.size < 2:
        return False
    return bool(p.brk[lo + idx[0] + 1 : lo + idx[-1] + 1].any())


def _dfa_columns(p: _Prepared, lo: int, hi: int, x: np.ndarray, duration: float, cfg: SegmentConfig,
                 row: dict[str, Any], nan: Any) -> None:
    n = x.size
    gap = _run_has_break(p, lo, hi)
    s1 = dfa_scales(cfg.hrv.dfa_alpha1_beats, n)
    if gap:
        nan(["dfa_alpha1", "dfa_alpha2"], "a gap inside the span (the profile would join beats across it)")
        return
    if duration < cfg.hrv.dfa_min_window_s:
        nan(["dfa_alpha1"], f"span {duration:.4g} s < {cfg.hrv.dfa_min_window_s:g} s ([hrv] dfa_min_window_s)")
    elif s1.size < 2 or n <= s1.max():
        nan(["dfa_alpha1"], f"{n} usable beats, more than the largest box ({int(s1.max()) if s1.size else '-'}) needed")
    else:
        row["dfa_alpha1"] = dfa(x, s1)
    s2 = dfa_scales(cfg.dfa_alpha2_beats, n)
    need = cfg.dfa_min_beats_per_box * (s2.max() if s2.size else cfg.dfa_alpha2_beats[0] + 1)
    if s2.size < 2 or n < need:
        nan(["dfa_alpha2"], f"{n} usable beats < {need:g} ({cfg.dfa_min_beats_per_box:g} x the largest box, "
                            "[segment] dfa_min_beats_per_box)")
    else:
        row["dfa_alpha2"] = dfa(x, s2)


def _spectral(p: _Prepared, lo: int, hi: int, tx: np.ndarray, x: np.ndarray, duration: float,
              cfg: SegmentConfig, row: dict[str, Any], nan: Any) -> None:
    h = cfg.hrv
    bands = {"vlf": (cfg.vlf_band_hz, cfg.vlf_min_span_s), "lf": (h.lf_band_hz, h.lf_min_window_s),
             "hf": (h.hf_band_hz, h.hf_min_window_s)}
    setting = {"vlf": "[segment] vlf_min_span_s", "lf": "[hrv] lf_min_window_s", "hf": "[hrv] hf_min_window_s"}
    stretch = float(tx[-1] - tx[0])
    wanted = []
    for name, (_, need) in bands.items():
        if duration < need:
            nan([f"{name}_ms2", f"{name}_peak_hz"], f"span {duration:.4g} s < {need:g} s ({setting[name]})")
        elif stretch < h.min_coverage * need:
            nan([f"{name}_ms2", f"{name}_peak_hz"],
                f"usable beats span {stretch:.4g} s < {h.min_coverage:g} x {need:g} s")
        else:
            wanted.append(name)
    if wanted:
        if cfg.psd_method == "welch":
            if _run_has_break(p, lo, hi):
                nan([f"{b}_ms2" for b in wanted], "a gap inside the span: Welch needs evenly resampled beats "
                    "and calmtrace never interpolates across a gap; psd_method='lomb' handles gaps")
                wanted = []
                freq = power = np.array([])
            else:
                freq, power = welch_psd(tx, x, h)
        else:
            freq, power = lomb_psd(tx, x, cfg)
        for name in wanted:
            f_lo, f_hi = bands[name][0]
            sel = (freq >= f_lo) & (freq < f_hi)
            if sel.sum() < 2:
                nan([f"{name}_ms2", f"{name}_peak_hz"], "fewer than two spectral bins in the band")
                continue
            value = float(np.trapezoid(power[sel], freq[sel])) if hasattr(np, "trapezoid") \
                else float(np.trapz(power[sel], freq[sel]))
            row[f"{name}_ms2"] = value
            row[f"{name}_peak_hz"] = float(freq[sel][int(np.argmax(power[sel]))])
    if x.size >= 2 and float(np.ptp(x)) == 0.0:
        # zero variability (every usable RR identical: a paced or synthetic series): the spectrum is
        # exactly zero, not the float noise of the interpolation (1e-28 ms2); the ratios are 0/0
        for name in ("vlf", "lf", "hf"):
            if row.get(f"{name}_ms2") == row.get(f"{name}_ms2"):
                row[f"{name}_ms2"] = 0.0
                row[f"{name}_peak_hz"] = math.nan
        nan(["lf_hf", "lf_nu", "hf_nu"], "undefined (0/0): every RR interval of the span is identical, "
            "so LF = HF = 0 ms2 (zero variability: a paced or synthetic series, not an autonomic state)")
        return
    lf, hf = row["lf_ms2"], row["hf_ms2"]
    if lf == lf and hf == hf:
        row["lf_hf"] = float(balance.lf_hf(np.array([lf]), np.array([hf]))[0])
        row["hf_nu"] = float(balance.hf_nu(np.array([lf]), np.array([hf]))[0])
        row["lf_nu"] = 100.0 - row["hf_nu"] if row["hf_nu"] == row["hf_nu"] else math.nan
    else:
        nan(["lf_hf", "lf_nu", "hf_nu"], "LF or HF is NaN")


def welch_psd(t_s: np.ndarray, rr_ms: np.ndarray, cfg: HRVConfig) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (ms^2/Hz) of RR resampled evenly, with neurokit2's set-up.

    The beats' RR are interpolated (``cfg.interpolation``: a spline through all the beats given,
    held at the last value past the last beat, as neurokit2's ``signal_interpolate``) at
    ``cfg.resample_hz`` on the grid ``t0, t0 + 1/fs, ...`` up to one step past the last beat;
    detrended (``cfg.detrend``); Welch with a Hann window of half the samples, 50 % overlap, FFT
    length twice the segment, density scaling; frequencies below ``4 fs / N`` (two cycles per
    segment) are dropped, as neurokit2's ``signal_psd`` does.

    Parameters
    ----------
    t_s, rr_ms : array of float, shape (N,)
        Beat times (s) and RR (ms) of a gap-free run.
    cfg : HRVConfig
        ``interpolation``, ``resample_hz``, ``detrend``.

    Returns
    -------
    freq_hz, psd_ms2_per_hz : numpy.ndarray
    """
    from scipy.interpolate import make_interp_spline
    from scipy.signal import detrend, welch

    fs = cfg.resample_hz
    step = 1.0 / fs
    grid = np.arange(t_s[0], t_s[-1] + step, step)
    k = min(_INTERPOLATION_ORDER[cfg.interpolation], t_s.size - 1)
    y = make_interp_spline(t_s, rr_ms, k=k)(grid) if k >= 1 else np.full(grid.size, rr_ms[0])
    y[grid > t_s[-1]] = rr_ms[-1]
    y = detrend(y, type="linear") if cfg.detrend == "linear" else y - y.mean()
    n = y.size
    min_f = (2 * fs) / (n / 2)
    nperseg = int((2 / min_f) * fs)
    if nperseg > n / 2:
        nperseg = int(n / 2)
    if nperseg < 8:
        return np.array([]), np.array([])
    freq, power = welch(y, fs=fs, scaling="density", detrend=False, nfft=2 * nperseg, average="mean",
                        nperseg=nperseg, window="hann")
    keep = freq >= min_f
    return freq[keep], power[keep]


def lomb_psd(t_s: np.ndarray, rr_ms: np.ndarray, cfg: SegmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Lomb-Scargle PSD (ms^2/Hz) of RR at the beats' own times, no interpolation.

    The periodogram ``P(f)`` of the mean-removed (or linearly detrended, ``cfg.hrv.detrend``) RR
    (Lomb 1976; Scargle 1982, ``scipy.signal.lombscargle``) is scaled to a one-sided density
    ``2 P(f) dt`` with ``dt`` the mean RR in s (the local sampling interval, which a gap does not
    stretch), so that it integrates to the variance as a Welch PSD does. Frequencies ``1/T ... 0.5 Hz`` every ``1 / (T * oversampling)``.

    Parameters
    ----------
    t_s, rr_ms : array of float, shape (N,)
        Beat times (s) and RR (ms); gaps allowed.
    cfg : SegmentConfig
        ``lomb_oversampling`` and ``hrv.detrend``.

    Returns
    -------
    freq_hz, psd_ms2_per_hz : numpy.ndarray
    """
    from scipy.signal import lombscargle

    t = np.asarray(t_s, dtype=float) - float(t_s[0])
    y = np.asarray(rr_ms, dtype=float)
    span = float(t[-1])
    if y.size < 4 or span <= 0:
        return np.array([]), np.array([])
    if cfg.hrv.detrend == "linear":
        y = y - np.polyval(np.polyfit(t, y, 1), t)
    else:
        y = y - y.mean()
    df = 1.0 / (span * cfg.lomb_oversampling)
    freq = np.arange(1.0 / span, 0.5 + df / 2, df)
    p = lombscargle(t, y, 2.0 * np.pi * freq)
    return freq, 2.0 * p * float(np.mean(rr_ms)) / 1000.0
