"""The metrics registry: one entry per metric, read by every part that names, orders or judges one.

Each :class:`Metric` states a Windows column's display label, unit, stress direction, the digits it
is shown with, the source that defines it, and the shortest window it means anything over. The
windowed HRV (:mod:`calmtrace.signals.hrv`), recovery (:mod:`calmtrace.signals.recovery`, through
:data:`calmtrace.signals.config.DEFAULT_DIRECTIONS`), the session and trend reports and the cohort
table read these facts from here and nowhere else.

Adding a metric is one :func:`register` entry here plus its computation (a Windows column
written by :func:`calmtrace.signals.hrv.windowed_hrv`). ``dfa_alpha1`` below is such an entry: the
windows compute it, and from this entry recovery knows its direction, the report its label, unit
and digits, the trend and cohort tables its name.

Stress direction (Laborde, Mosley & Thayer 2017, Front Psychol 8:213): vagally mediated HRV is
withdrawn under acute stress and heart rate rises; +1 rises under stress, -1 falls, 0 none agreed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Metric", "METRICS", "register", "metric", "label", "unit", "digits", "direction",
           "axis_title", "format_value", "min_span_s"]


@dataclass(frozen=True)
class Metric:
    """What is known about one metric, once.

    Attributes
    ----------
    name : str
        The Windows / Recovery column name (unit in the name, e.g. ``rmssd_ms``).
    label : str
        Display name (``"lnRMSSD"``).
    unit : str
        Display unit (``"ln(ms)"``; ``""`` for a dimensionless number).
    direction : int
        Stress direction: +1 rises under stress, -1 falls, 0 when no direction is agreed (then
        recovery is not assessed for it by default).
    digits : int
        Decimals shown in reports and tables.
    source : str
        The published definition the computation follows.
    min_span : str
        The :class:`~calmtrace.signals.config.HRVConfig` field that holds the shortest window (s)
        over which the metric is computed at all (NaN in shorter windows), e.g.
        ``"lf_min_window_s"``; ``""`` when any window of at least ``min_window_s`` will do. The
        number itself lives in the config, once (:func:`min_span_s` reads it).
    """

    name: str
    label: str
    unit: str
    direction: int
    digits: int
    source: str
    min_span: str = ""

    def __post_init__(self) -> None:
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"metric {self.name!r}: direction must be -1, 0 or +1, got {self.direction!r}")
        if not (isinstance(self.digits, int) and self.digits >= 0):
            raise ValueError(f"metric {self.name!r}: digits must be an integer >= 0, got {self.digits!r}")


#: Every metric, by Windows column name, in display order.
METRICS: dict[str, Metric] = {}

_TF = "Task Force of the ESC and NASPE 1996, Circulation 93:1043-65"


def register(m: Metric) -> Metric:
    """Add ``m`` to :data:`METRICS` (replacing an entry of the same name) and return it."""
    METRICS[m.name] = m
    return m


for _m in (
    # one definition everywhere: calmtrace.signals.segment.mean_hr_bpm (spans, `calmtrace hrv`,
    # `calmtrace info`) and its prefix-sum form in calmtrace.signals.hrv (windows); docs/metrics.md
    Metric("mean_hr_bpm", "heart rate", "bpm", +1, 0,
           "mean of the instantaneous heart rates 60000 / RR (as pyhrv and hrv-analysis; not 60000 / mean RR)"),
    Metric("mean_rr_ms", "mean RR", "ms", -1, 0, _TF),
    Metric("sdnn_ms", "SDNN", "ms", -1, 1, _TF),
    Metric("rmssd_ms", "RMSSD", "ms", -1, 0, _TF),
    Metric("ln_rmssd", "lnRMSSD", "ln(ms)", -1, 2,
           "natural log of RMSSD (Plews et al. 2012, Eur J Appl Physiol 112:3729; Esco & Flatt 2014)"),
    Metric("pnn50_pct", "pNN50", "%", -1, 1, _TF),
    Metric("sd1_ms", "SD1", "ms", -1, 1, "Poincare plot width (Brennan, Palaniswami & Kamen 2001)"),
    Metric("sd2_ms", "SD2", "ms", 0, 1, "Poincare plot length (Brennan, Palaniswami & Kamen 2001)"),
    Metric("lf_ms2", "LF power", "ms²", 0, 0, _TF + " (0.04-0.15 Hz)", "lf_min_window_s"),
    Metric("hf_ms2", "HF power", "ms²", -1, 0, _TF + " (0.15-0.40 Hz)", "hf_min_window_s"),
    Metric("lf_hf", "LF/HF", "", +1, 2, _TF, "lf_min_window_s"),
    Metric("hf_nu", "HF", "n.u.", -1, 1, _TF + " (HF / (LF + HF) x 100)", "lf_min_window_s"),
    Metric("pns_index", "PNS index", "SD units vs. norms", -1, 2,
           "mean z-score of mean RR, RMSSD and SD1 against Nunan et al. 2010 (as Kubios HRV)"),
    Metric("sns_index", "SNS index", "SD units vs. norms", +1, 2,
           "mean z-score of mean HR, stress index and SD2 against Nunan et al. 2010 (as Kubios HRV)"),
    # Baevsky's SI = AMo / (2 Mo MxDMn) has the unit 1/s² (AMo in %, Mo and MxDMn in s); the column
    # holds its square root, as Kubios HRV reports it (Tarvainen et al. 2014), so its unit is 1/s.
    Metric("stress_index", "√ Baevsky stress index", "1/s", +1, 1,
           "square root of Baevsky's SI (Baevsky & Chernikova 2017, Cardiometry 10:66; as Kubios HRV)"),
    Metric("dfa_alpha1", "DFA α1", "", 0, 2,
           "short-term detrended fluctuation exponent, boxes of 4-16 beats (Peng et al. 1995, Chaos 5:82)",
           "dfa_min_window_s"),
):
    register(_m)


def metric(name: str) -> Metric:
    """The registry entry of ``name``; an unregistered name gets a plain entry (label = name)."""
    m = METRICS.get(name)
    return m if m is not None else Metric(name, name, "", 0, 2, "")


def label(name: str) -> str:
    """Display label of ``name``."""
    return metric(name).label


def unit(name: str) -> str:
    """Display unit of ``name`` (``""`` when dimensionless)."""
    return metric(name).unit


def digits(name: str) -> int:
    """Decimals ``name`` is shown with."""
    return metric(name).digits


def direction(name: str) -> int:
    """Stress direction of ``name``: +1, -1, or 0 when none is agreed."""
    return metric(name).direction


def axis_title(name: str) -> str:
    """``"lnRMSSD (ln(ms))"``; the label alone for a dimensionless metric."""
    m = metric(name)
    return f"{m.label} ({m.unit})" if m.unit else m.label


def min_span_s(name: str, hrv_config: object = None) -> float:
    """Shortest window (s) over which ``name`` is computed, read from ``hrv_config``
    (:class:`~calmtrace.signals.config.HRVConfig`, defaults when None)."""
    from .config import HRVConfig

    cfg = hrv_config if hrv_config is not None else HRVConfig()
    key = metric(name).min_span or "min_window_s"
    return float(getattr(cfg, key))


def format_value(name: str, value: float, with_unit: bool = True) -> str:
    """``value`` rounded to the metric's digits, with its unit; ``"n/a"`` when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(v):
        return "n/a"
    m = metric(name)
    text = f"{v:.{m.digits}f}"
    return f"{text} {m.unit}" if with_unit and m.unit else text
