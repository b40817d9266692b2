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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from ..recording import Recording
from . import balance
from .hrv import _INTERPOLATION_ORDER, HRVConfig, _breaks
from .nonlinear import dfa, dfa_scales, sample_entropy

__all__ = ["SegmentConfig", "SEGMENT_METRICS", "SPAN_COLUMNS", "hrv", "hrv_by_event", "PSD_METHODS"]

log = logging.getLogger(__name__)

PSD_METHODS: tuple[str, ...] = ("welch", "lomb")

#: Metric columns of a span row, in order (every one gets a change from baseline in hrv_by_event).
SEGMENT_METRICS: tuple[str, ...] = (
    "mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "sdsd_ms",
    "vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf", "lf_nu", "hf_nu", "vlf_peak_hz", "lf_peak_hz",
    "hf_peak_hz", "sd1_ms", "sd2_ms", "stress_index", "sampen", "dfa_alpha1", "dfa_alpha2",
    "pns_index", "sns_index",
)
#: Columns of :func:`hrv`'s row.
SPAN_COLUMNS: tuple[str, ...] = (
    ("start_s", "end_s", "duration_s", "n_beats", "coverage", "artifact_pct")
    + SEGMENT_METRICS + ("psd_method", "notes")
)


@dataclass(frozen=True)
class SegmentConfig:
    """Settings of span HRV beyond those of windowed HRV, each with its source.

    Attributes
    ----------
    hrv : HRVConfig
        Beat rules, time-domain and Welch settings, LF/HF bands and their shortest spans, DFA
        alpha1 box sizes (``dfa_alpha1_beats``) and shortest span (``dfa_min_window_s``); see
        :class:`~calmtrace.signals.hrv.HRVConfig`.
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
            Field names and values; ``hrv`` may be a table of :class:`HRVConfig` settings.
        context : str
            Prefix for error messages.

        Raises
        ------
        InputError
            On an unknown key (the message lists the known ones) or a bad value.
        """
        from .config import config_from_mapping

        if not isinstance(mapping, Mapping):
            raise InputError(f"{context} must be a table, got {type(mapping).__name__}")
        values = dict(mapping)
        hrv_cfg = HRVConfig.from_mapping(values.pop("hrv", {}) or {})
        cfg = config_from_mapping(cls, values, context)
        return cls(**{**{k: getattr(cfg, k) for k in cfg.__dataclass_fields__}, "hrv": hrv_cfg})

    def to_dict(self) -> dict[str, Any]:
        """All settings as plain JSON-compatible values."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k != "hrv"}
        out["hrv"] = self.hrv.to_dict()
        return out


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
        clipped to 1), ``artifact_pct`` (% of the span's beats not ``ok``), the metrics of
        :data:`SEGMENT_METRICS` (units in their names; docs/metrics.md), ``psd_method`` and
        ``notes``: for every NaN metric, why (``"lf_ms2: span 95 s < 120 s"``). ``attrs["hrv"]``
        holds the settings.

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
    lo = int(np.searchsorted(t, start, side="left"))
    hi = t.size if (whole or end_s is None) else int(np.searchsorted(t, end, side="left"))
    row = _span_row(prep, lo, hi, start, end, cfg)
    table = pd.DataFrame([row], columns=list(SPAN_COLUMNS))
    table.attrs["hrv"] = {"config": cfg.to_dict()}
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
        ``label``, ``kind``, the columns of :data:`SPAN_COLUMNS` and the change columns.
        ``attrs["hrv_by_event"]`` holds the baseline used and the settings.

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
    t = recording.t_s
    starts = np.array([s[2] for s in spans])
    ends = np.array([s[3] for s in spans])
    los = np.searchsorted(t, starts, side="left")
    his = np.searchsorted(t, ends, side="left")
    rows = []
    for (label, kind, s0, s1), lo, hi in zip(spans, los, his):
        row = {"label": label, "kind": kind}
        row.update(_span_row(prep, int(lo), int(hi), s0, s1, cfg))
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
    table.attrs["hrv_by_event"] = {"baseline": baseline_note, "config": cfg.to_dict()}
    log.info("hrv_by_event: %d spans, baseline %s", len(table), baseline_note)
    return table


# -- helpers -------------------------------------------------------------------------------------
def _check_config(config: Any) -> SegmentConfig:
    cfg = config if config is not None else SegmentConfig()
    if not isinstance(cfg, SegmentConfig):
        raise InputError(f"config must be a SegmentConfig, got {type(cfg).__name__}")
    return cfg


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


def _span_row(p: _Prepared, lo: int, hi: int, start: float, end: float, cfg: SegmentConfig) -> dict[str, Any]:
    """Every metric of the beats ``lo <= i < hi`` of a span ``[start, end)``."""
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

    def nan(names: tuple[str, ...] | list[str], reason: str) -> None:
        notes.append(f"{', '.join(names)}: {reason}")

    time_cols = ["mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "sdsd_ms",
                 "sd1_ms", "sd2_ms", "stress_index"]
    if duration < h.min_window_s:
        nan(["all metrics"], f"span {duration:.4g} s < {h.min_window_s:g} s (HRVConfig.min_window_s)")
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
    row["mean_hr_bpm"] = float(np.mean(60000.0 / x))
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
        nan(["sampen"], f"{n} usable beats < {cfg.sampen_min_beats} (SegmentConfig.sampen_min_beats)")
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
        nan(["dfa_alpha1"], f"span {duration:.4g} s < {cfg.hrv.dfa_min_window_s:g} s (HRVConfig.dfa_min_window_s)")
    elif s1.size < 2 or n <= s1.max():
        nan(["dfa_alpha1"], f"{n} usable beats, more than the largest box ({int(s1.max()) if s1.size else '-'}) needed")
    else:
        row["dfa_alpha1"] = dfa(x, s1)
    s2 = dfa_scales(cfg.dfa_alpha2_beats, n)
    need = cfg.dfa_min_beats_per_box * (s2.max() if s2.size else cfg.dfa_alpha2_beats[0] + 1)
    if s2.size < 2 or n < need:
        nan(["dfa_alpha2"], f"{n} usable beats < {need:g} ({cfg.dfa_min_beats_per_box:g} x the largest box, "
                            "SegmentConfig.dfa_min_beats_per_box)")
    else:
        row["dfa_alpha2"] = dfa(x, s2)


def _spectral(p: _Prepared, lo: int, hi: int, tx: np.ndarray, x: np.ndarray, duration: float,
              cfg: SegmentConfig, row: dict[str, Any], nan: Any) -> None:
    h = cfg.hrv
    bands = {"vlf": (cfg.vlf_band_hz, cfg.vlf_min_span_s), "lf": (h.lf_band_hz, h.lf_min_window_s),
             "hf": (h.hf_band_hz, h.hf_min_window_s)}
    stretch = float(tx[-1] - tx[0])
    wanted = []
    for name, (_, need) in bands.items():
        if duration < need:
            nan([f"{name}_ms2", f"{name}_peak_hz"], f"span {duration:.4g} s < {need:g} s")
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
