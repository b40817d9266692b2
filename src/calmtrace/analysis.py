"""``analyze``: the offline pipeline, from a recording to windows, balance and recovery.

::

    recording -> signals.clean -> signals.hrv (windows, with balance indices) -> signals.recovery
                                        +-> signals.rhythm (per window; not sinus -> invalid)

Every parameter lives in one :class:`AnalysisConfig` (with the cited defaults of the stage it
belongs to), can be read from a TOML file with sections ``[windows]``, ``[clean]``, ``[hrv]``,
``[recovery]``, ``[rhythm]``, ``[segment]``, ``[quality]``, ``[links]`` and ``[trend]``, and is written next to
the results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ._version import __version__
from .errors import AnalysisError, InputError
from .recording import Recording
from .signals.clean import clean
from .signals.day import DayConfig
from .signals.config import (CleanConfig, HRVConfig, LinkConfig, QualityConfig, RecoveryConfig, RhythmConfig,
                             SegmentConfig, TrendConfig, WindowConfig, config_from_mapping)
from .signals.linking import event_table, intervention_comparison
from .signals.quality import Quality, assess_quality
from .signals.hrv import WINDOW_COLUMNS, windowed_hrv
from .signals.recovery import assess_recovery
from .signals.segment import hrv_by_event
from .signals.rhythm import NOT_SINUS, describe_windows, windowed_rhythm
from .store import write_spreadsheet_csv

__all__ = ["AnalysisConfig", "AnalysisResult", "analyze", "load_config", "checksum"]

log = logging.getLogger(__name__)

#: progress(stage, fraction_done) callback type used by :func:`analyze`.
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class AnalysisConfig:
    """Every parameter of :func:`analyze`, one sub-config per stage.

    Parameters
    ----------
    windows : WindowConfig
        Window length and step of the windowed HRV.
    clean : CleanConfig
        Artefact detection and correction (Lipponen & Tarvainen 2019).
    hrv : HRVConfig
        Windowed HRV: window and step lengths, validity minimums (Task Force 1996; Esco & Flatt
        2014; Munoz et al. 2015).
    recovery : RecoveryConfig
        Baseline, band, hold time, horizon... (Laborde, Mosley & Thayer 2017; Linden et al. 1997;
        Cole et al. 1999).
    rhythm : RhythmConfig
        The per-window rhythm check (Dash et al. 2009; persistent ectopy): windows whose rhythm is
        not sinus are invalid for every autonomic metric.
    quality : QualityConfig
        The thresholds of the one quality verdict (Peltola 2012; Lipponen & Tarvainen 2019).
    links : LinkConfig
        How interventions are linked to the stressors they followed.
    trend : TrendConfig
        The smallest-worthwhile-change band across sessions (Plews et al. 2012-2014).
    day : DayConfig
        The day analysis of long recordings (epoch states, sleep, diary links; docs/day.md), run
        when the recording lasts ``DAY_MIN_S`` or more or an accelerometer is given.
    segment : SegmentConfig
        HRV of spans and phases (``phases.csv``, ``calmtrace hrv``): spectrum method, VLF band and
        span, SampEn and DFA alpha2 settings. Its beat rules and rhythm check are the ``hrv`` and
        ``rhythm`` sections' (kept equal to them here); the ``[segment]`` table holds the rest
        (:data:`calmtrace.signals.config.SEGMENT_SETTINGS`).
    """

    windows: WindowConfig = field(default_factory=WindowConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    hrv: HRVConfig = field(default_factory=HRVConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    links: LinkConfig = field(default_factory=LinkConfig)
    trend: TrendConfig = field(default_factory=TrendConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    day: DayConfig = field(default_factory=DayConfig)

    def __post_init__(self) -> None:
        seg = self.segment
        if not isinstance(seg, SegmentConfig):
            raise InputError(f"AnalysisConfig.segment must be a SegmentConfig, got {type(seg).__name__}")
        default = SegmentConfig()
        for name in ("hrv", "rhythm"):
            mine, ours = getattr(seg, name), getattr(self, name)
            if mine != ours and mine != getattr(default, name):
                raise InputError(f"AnalysisConfig.segment.{name} differs from AnalysisConfig.{name}: span HRV takes "
                                 f"its {name} settings from the [{name}] section; set them there")
        if seg.hrv != self.hrv or seg.rhythm != self.rhythm:
            object.__setattr__(self, "segment", dataclasses.replace(seg, hrv=self.hrv, rhythm=self.rhythm))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The config as plain data, for JSON and TOML."""
        return {name: _plain(self.segment.section_dict() if name == "segment"
                             else dataclasses.asdict(getattr(self, name))) for name in _SECTIONS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "AnalysisConfig":
        """Build a config from plain data; unknown sections or keys are errors naming them."""
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a table of sections, got {type(data).__name__}")
        parts: dict[str, Any] = {}
        defaults = cls()
        for name, value in data.items():
            if name not in _SECTIONS:
                raise InputError(f"{source}: unknown section [{name}]; expected one of "
                                 + ", ".join(f"[{n}]" for n in _SECTIONS))
            if name == "segment":
                continue
            parts[name] = config_from_mapping(type(getattr(defaults, name)), value, f"{source}: [{name}]")
        if "segment" in data:
            parts["segment"] = SegmentConfig.from_section(data["segment"], f"{source}: [segment]",
                                                          hrv=parts.get("hrv"), rhythm=parts.get("rhythm"))
        return cls(**parts)


#: The tables an analysis config file may hold, in the order analysis.json writes them.
CONFIG_SECTIONS = ("windows", "clean", "hrv", "recovery", "rhythm", "segment", "quality", "links", "trend", "day")
_SECTIONS = CONFIG_SECTIONS


def _plain(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _plain(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [_plain(v) for v in d]
    if isinstance(d, float) and not math.isfinite(d):
        return None
    return d


def load_config(path: str | os.PathLike) -> AnalysisConfig:
    """Read an :class:`AnalysisConfig` from a TOML file.

    Examples
    --------
    A file that changes the window and the band::

        [windows]
        window_s = 120.0

        [recovery]
        band = "swc"
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such config file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML ({' '.join(str(exc).split())[:160]})") from None
    except RecursionError:
        raise InputError(f"{p}: nested too deeply to be a calmtrace config") from None
    return AnalysisConfig.from_dict(data, source=str(p))


@dataclass
class AnalysisResult:
    """What :func:`analyze` returns.

    Attributes
    ----------
    recording : Recording
        The cleaned recording (per-beat flags set).
    windows : pandas.DataFrame
        The Windows table (DESIGN.md), one row per window.
    recovery : pandas.DataFrame
        The Recovery table, one row per stressor and metric.
    summary : pandas.DataFrame
        One row per summary item: ``item``, ``value``, ``unit``, ``note``.
    config : AnalysisConfig
        The parameters that shaped the results.
    provenance : dict
        Software version, input checksum and source.
    phases : pandas.DataFrame
        HRV of each event and of the spans between events, with the change from the session's
        baseline (:func:`calmtrace.signals.segment.hrv_by_event` on the cleaned recording with the
        ``[segment]`` settings, and the ``[hrv]`` and ``[rhythm]`` ones), each with its rhythm; empty
        when the recording has no event with a duration.
    quality : Quality
        The session's one quality verdict (:func:`calmtrace.signals.quality.assess_quality`).
    events_table : pandas.DataFrame
        Every event with the recovery figures of each stressor and the links between
        interventions and stressors (:func:`calmtrace.signals.linking.event_table`, ``[links]``).
    interventions : pandas.DataFrame
        Recovery after stressors an intervention followed against those none followed
        (:func:`calmtrace.signals.linking.intervention_comparison`).
    """

    recording: Recording
    windows: pd.DataFrame
    recovery: pd.DataFrame
    summary: pd.DataFrame
    config: AnalysisConfig
    provenance: dict
    phases: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The day analysis (:func:`calmtrace.signals.day.analyze_day`) of recordings at least
    #: ``DAY_MIN_S`` long, else None.
    day: Any = None
    quality: Quality | None = None
    events_table: pd.DataFrame | None = None
    interventions: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.quality is None:
            self.quality = assess_quality(self.recording, self.windows, self.config.quality)
        if self.events_table is None:
            self.events_table = event_table(self.recording.events, self.recovery,
                                            follow_s=self.config.links.follow_s,
                                            tolerance_s=self.config.links.tolerance_s)
        if self.interventions is None:
            self.interventions = intervention_comparison(self.events_table, self.config.recovery.ci_level)

    def to_json(self) -> dict[str, Any]:
        """``analysis.json``: config, provenance and summary as plain data."""
        return {
            "software": f"calmtrace {__version__}",
            "provenance": self.provenance,
            "config": self.config.to_dict(),
            "summary": [
                {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
                for row in self.summary.to_dict(orient="records")
            ],
        }

    def write(self, out: str | os.PathLike) -> list[Path]:
        """Write ``windows.csv``, ``recovery.csv``, ``phases.csv``, ``interventions.csv`` and
        ``analysis.json`` into ``out``.

        Each file is written beside its final name and renamed into place.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, writer in (
            ("windows.csv", lambda p: self.windows.to_csv(p, index=False, float_format=None)),
            ("recovery.csv", lambda p: write_spreadsheet_csv(self.recovery, p)),
            ("phases.csv", lambda p: write_spreadsheet_csv(self.phases, p)),
            ("interventions.csv", lambda p: write_spreadsheet_csv(self.interventions, p)),
            ("analysis.json", lambda p: p.write_text(json.dumps(self.to_json(), indent=2, allow_nan=False,
                                                                  default=_json_default) + "\n", encoding="utf-8")),
        ):
            final = out / name
            tmp = out / f".{name}.tmp"
            writer(tmp)
            os.replace(tmp, final)
            written.append(final)
        return written


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not math.isfinite(float(o)) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def checksum(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a recording folder's files (names and contents, sorted).

    Returns
    -------
    str
        ``"sha256:<hex>"``.
    """
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()


def _summary(rec: Recording, windows: pd.DataFrame, recovery: pd.DataFrame, quality: Quality) -> pd.DataFrame:
    n = len(rec.beats)
    gap_s = quality.gap_s
    n_win = quality.n_windows
    n_valid = quality.n_valid_windows
    rows: list[tuple[str, Any, str, str]] = [
        ("duration", rec.duration_s, "s", ""),
        ("beats", n, "beats", ""),
        ("artifact_pct", quality.artifact_pct, "%", "beats flagged by cleaning"),
        ("gaps", len(rec.gaps), "gaps", f"{gap_s:.1f} s without beats"),
        ("gap_time", gap_s, "s", ""),
        ("windows", n_win, "windows", ""),
        ("valid_windows", 100.0 - quality.invalid_windows_pct if n_win else math.nan, "%",
         "windows passing the validity minimums"),
        ("quality", quality.verdict, "", "the one quality verdict (QualityConfig)"),
        ("events", len(rec.events), "events", ""),
        ("stressors", len(rec.events.stressors()), "events", ""),
        ("simulated", bool(rec.meta.get("simulated", False)), "", ""),
    ]
    cleaning = rec.meta.get("cleaning") or {}
    ectopy = cleaning.get("ectopy") or {}
    if "share" in ectopy:
        rows.append(("ectopy_share", 100.0 * float(ectopy["share"]), "%",
                     "premature beats found by cleaning"))
    for text in cleaning.get("warnings") or []:
        rows.append(("cleaning_warning", str(text), "", "data quality"))
    rhythm = rec.meta.get("rhythm") or {}
    if rhythm.get("counts") and n_win:
        off = sum(rhythm["counts"].get(k, 0) for k in NOT_SINUS)
        rows.append(("non_sinus_windows", 100.0 * off / n_win, "%",
                     "windows whose rhythm is not sinus (irregular or persistent ectopy); invalid for HRV"))
    for text in rhythm.get("warnings") or []:
        rows.append(("rhythm_warning", str(text), "", "rhythm"))
    for text in (rec.meta.get("hrv") or {}).get("warnings") or []:
        rows.append(("hrv_warning", str(text), "", "windowed HRV"))
    if n_valid:
        v = windows[windows["valid"]]
        rows += [
            ("windows_mean_hr_bpm", float(v["mean_hr_bpm"].mean()), "bpm",
             "mean of the valid windows' mean HR (mean_hr_bpm is the whole recording's)"),
            ("ln_rmssd", float(v["ln_rmssd"].mean()), "ln(ms)", "mean over valid windows"),
        ]
    if len(recovery) and "stressor_relation" in recovery:
        related = [isinstance(x, str) and x != "" for x in recovery["stressor_relation"]]
        rel = recovery[np.asarray(related, dtype=bool)]
        for r in rel.drop_duplicates(["event_label", "onset_s"]).itertuples(index=False):
            first = str(r.note).split(";")[0].strip()
            rows.append((f"stressor_relation[{r.event_label}]", str(r.stressor_relation), "", first))
    if len(recovery):
        rec_rows = recovery[recovery["metric"] == "mean_hr_bpm"] if "metric" in recovery else recovery.iloc[0:0]
        for r in rec_rows.itertuples(index=False):
            ttb = getattr(r, "time_to_baseline_s", math.nan)
            rows.append((f"time_to_baseline[{r.event_label}]", ttb, "s",
                         "heart rate" + ("" if getattr(r, "recovered", True) else "; not back within the horizon")))
    return pd.DataFrame(rows, columns=["item", "value", "unit", "note"])


def analyze(recording: Recording | str | os.PathLike, config: AnalysisConfig | None = None, *,
            progress: Progress | None = None, source: str | os.PathLike | None = None,
            acc: pd.DataFrame | None = None) -> AnalysisResult:
    """Clean, window, balance and assess recovery of one recording.

    Parameters
    ----------
    recording : Recording or path-like
        From :func:`calmtrace.load`, :func:`calmtrace.simulate` or a capture; a path (recording
        folder or importable file) is loaded first, and is the provenance's source.
    config : AnalysisConfig, optional
        Defaults (with their sources) when omitted.
    progress : callable, optional
        ``progress(stage, fraction)`` called as the stages complete (the CLI draws a bar).
    source : path-like, optional
        The file or folder the recording came from, for the checksum in the provenance.
    acc : pandas.DataFrame, optional
        Chest acceleration (``t_s``, ``x_mg``, ``y_mg``, ``z_mg``) for the day analysis, which runs
        on recordings of at least ``DAY_MIN_S`` or whenever ``acc`` is given (its thresholds:
        ``config.day``). :func:`calmtrace.formats.acc_csv.read_acc_beside` reads a folder's own.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    AnalysisError
        When the recording has too few beats to analyse at all.
    """
    if isinstance(recording, (str, os.PathLike)):
        # a path: load it as calmtrace.load would (recording folder or importable file)
        from .loader import load

        source = recording if source is None else source
        recording = load(recording)
    if not isinstance(recording, Recording):
        raise InputError(f"analyze: expected a Recording or a path to one, got {type(recording).__name__}")
    cfg = config or AnalysisConfig()
    tick = progress or (lambda stage, frac: None)
    if len(recording.beats) < 3:
        raise AnalysisError(
            (f"{source}: " if source is not None else "") +
            f"recording has {len(recording.beats)} beats; at least 3 are needed for any HRV "
            "(a strap that sent heart rate without RR intervals gives HR samples only)"
        )
    tick("clean", 0.0)
    cleaned = clean(recording, cfg.clean, cfg.rhythm)
    tick("windows", 0.3)
    if cleaned.duration_s < cfg.windows.window_s:
        # too short for one window: an explicit empty table, said in the summary, not an error,
        # so that a short capture still gets its report
        log.warning("recording lasts %.1f s, shorter than one %g s window: no HRV windows",
                    cleaned.duration_s, cfg.windows.window_s)
        windows = pd.DataFrame({c: pd.Series(dtype=bool if c == "valid" else float) for c in WINDOW_COLUMNS})
    else:
        windows = windowed_hrv(cleaned, window_s=cfg.windows.window_s, step_s=cfg.windows.step_s,
                               config=cfg.hrv)
    if len(windows):
        # the rhythm of each window; not sinus -> not a measure of autonomic modulation: invalid
        rhythm = windowed_rhythm(recording, cleaned, windows, cfg.rhythm)
        windows = windows.assign(rhythm=rhythm["rhythm"].to_numpy(dtype=object))
        windows["valid"] = windows["valid"].to_numpy(dtype=bool) & ~np.isin(windows["rhythm"], NOT_SINUS)
    else:
        windows = windows.assign(rhythm=pd.Series(dtype=object))
    hrv_attrs = windows.attrs.get("hrv") or {}
    cleaned = cleaned.replace(meta={
        **cleaned.meta,
        "rhythm": {**describe_windows(windows, windows["rhythm"], cfg.rhythm, cfg.windows.window_s,
                                      cfg.windows.step_s),
                   "judged_on": "recorded RR (irregularity) and the cleaned beats' ectopic flags (ectopy)"},
        "hrv": {"notes": dict(hrv_attrs.get("notes") or {}), "warnings": list(hrv_attrs.get("warnings") or [])},
    })
    tick("recovery", 0.8)
    recovery = assess_recovery(windows, cleaned.events, cfg.recovery, beats=cleaned.beats)
    tick("phases", 0.9)
    phases = _phases(cleaned, cfg)
    tick("summary", 0.95)
    quality = assess_quality(cleaned, windows, cfg.quality)
    summary = _summary(cleaned, windows, recovery, quality)
    _add_rate_rows(summary, recording, cleaned, cfg)
    if len(windows) == 0:
        summary.loc[len(summary)] = ["too_short", cleaned.duration_s, "s",
                                     f"shorter than one {cfg.windows.window_s:g} s analysis window: no HRV computed"]
    provenance = {
        "software_version": __version__,
        "source": str(source) if source is not None else recording.meta.get("source_file"),
        "input_checksum": checksum(source) if source is not None and Path(source).exists() else None,
        # null when the file gave no date or time (its start is then a placeholder, never written)
        "recording_start": None if recording.meta.get("start_unknown") else recording.start.isoformat(),
        "simulated": bool(recording.meta.get("simulated", False)),
    }
    day = _day(recording, cleaned, acc, cfg.day)
    tick("done", 1.0)
    return AnalysisResult(cleaned, windows, recovery, summary, cfg, provenance, phases, day=day, quality=quality)


#: Recordings at least this long get the day analysis (4 h, calmtrace's own: long enough for the
#: waking rest reference and the quietest span to mean something).
DAY_MIN_S = 4 * 3600.0


def _day(recording: Recording, cleaned: Recording, acc: pd.DataFrame | None, day_config: DayConfig) -> Any:
    """The day analysis of a long recording (on the analysis' own cleaned beats), or None (short, or
    nothing valid: logged)."""
    if recording.duration_s < DAY_MIN_S and acc is None:
        return None
    from .signals.day import analyze_day

    try:
        return analyze_day(recording, acc, day_config, cleaned=cleaned)
    except AnalysisError as exc:
        log.info("no day analysis: %s", exc)
        return None


def _add_rate_rows(summary: pd.DataFrame, recording: Recording, cleaned: Recording, cfg: AnalysisConfig) -> None:
    """The whole recording's mean HR as ``info`` and ``hrv`` give it (the one function
    :func:`~calmtrace.signals.segment.mean_hr_bpm` on the same cleaned, usable beats), and the
    beat counts labelled: recorded, after cleaning (the ``beats`` row), usable."""
    from .signals.segment import whole_recording_rate

    n_use, _mean_rr, mean_hr = whole_recording_rate(cleaned, cfg.hrv)
    summary.loc[len(summary)] = ["beats_recorded", len(recording.beats), "beats",
                                 "as recorded, before cleaning (the beats row counts them after cleaning: "
                                 "missed beats inserted, extra beats removed)"]
    summary.loc[len(summary)] = ["usable_beats", n_use, "beats", "after cleaning, usable for HRV"]
    summary.loc[len(summary)] = ["mean_hr_bpm", mean_hr, "bpm",
                                 f"mean of the beat-by-beat heart rate over the {n_use} usable beats, as "
                                 "calmtrace info and hrv give it"]


def _empty_phases() -> pd.DataFrame:
    """The phase table with no rows: its header (label, kind, the span columns and the changes)."""
    from .signals.segment import SEGMENT_METRICS, SPAN_COLUMNS

    cols = ["label", "kind", *SPAN_COLUMNS]
    cols += [f"{m}_{d}" for m in SEGMENT_METRICS for d in ("delta", "delta_pct")]
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("label", "kind", "rhythm", "psd_method", "notes") else float)
                         for c in cols})


def _phases(cleaned: Recording, cfg: AnalysisConfig) -> pd.DataFrame:
    """HRV per event and inter-event span, or an empty table (with its header) when no event has a duration."""
    if not any(ev.duration_s > 0 for ev in cleaned.events) or len(cleaned.beats) == 0:
        return _empty_phases()
    try:
        return hrv_by_event(cleaned, cfg.segment)
    except AnalysisError as exc:
        log.info("no phase table: %s", exc)
        return _empty_phases()
