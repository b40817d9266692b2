"""calmtrace: stress-recovery physiology from Bluetooth heart-rate straps.

The small public API (DESIGN.md)::

    import calmtrace
    rec = calmtrace.load(path, format=None)        # a recording folder, or any importable file
    calmtrace.save(rec, folder)
    rec = calmtrace.simulate("tsst", seed=1)        # physiological simulator
    rec = calmtrace.clean(rec)                      # per-beat flags, corrected RR
    win = calmtrace.windowed_hrv(rec, window_s=60, step_s=5)
    one = calmtrace.hrv(rec, start_s=None, end_s=None)   # one row: a whole recording or a span
    phases = calmtrace.hrv_by_event(rec)            # one row per event and per span between events
    rc = calmtrace.assess_recovery(win, rec.events)
    res = calmtrace.analyze(rec, config=None)       # .windows, .recovery, .summary, .config
    calmtrace.write_report(res, "report.html")
    dy = calmtrace.dyad(rec_a, rec_b)               # couples session: synchrony, co-regulation

The functions are imported on first use, so ``import calmtrace`` stays quick and does not pull in
plotly or neurokit2 until they are needed.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import CalmtraceError
from .events import Event, Events
from .recording import Recording

# name -> module that defines it, imported lazily
_LAZY = {
    "load": "calmtrace.loader",
    "save": "calmtrace.store",
    "simulate": "calmtrace.signals.simulate",
    "clean": "calmtrace.signals.clean",
    "windowed_hrv": "calmtrace.signals.hrv",
    "assess_recovery": "calmtrace.signals.recovery",
    "analyze": "calmtrace.analysis",
    "AnalysisConfig": "calmtrace.analysis",
    "write_report": "calmtrace.report.html",
    "hrv": "calmtrace.signals.segment",
    "hrv_by_event": "calmtrace.signals.segment",
    "dyad": "calmtrace.signals.dyad",
}

__all__ = [
    "__version__",
    "CalmtraceError",
    "Event",
    "Events",
    "Recording",
    "load",
    "save",
    "simulate",
    "clean",
    "windowed_hrv",
    "assess_recovery",
    "analyze",
    "AnalysisConfig",
    "write_report",
    "hrv",
    "hrv_by_event",
    "dyad",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'calmtrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
