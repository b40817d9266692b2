"""Clinician reports: the session report and the trend report, self-contained HTML.

::

    from calmtrace.report import write_report, write_trend_report
    write_report(result, "out/report.html")                        # one analysed session
    write_trend_report(calmtrace.sessions.collect_trend(["recordings/sample/weekly"]), "trend.html")

The report renders analysis results and computes nothing: the event table and the intervention
comparison come from :mod:`calmtrace.signals.linking`, the trend tables from
:mod:`calmtrace.sessions`. Parts: :mod:`.figures`
(plotly figures, pure functions of data), :mod:`.html` (the session report and the page shell)
and :mod:`.trend` (the trend report). plotly is imported only here, in ``report/``.
"""

from __future__ import annotations

from .html import render_report, write_report
from .trend import render_trend_report, write_trend_report

__all__ = [
    "write_report",
    "render_report",
    "write_trend_report",
    "render_trend_report",
]
