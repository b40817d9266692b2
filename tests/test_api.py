"""The public API is small and pinned: a change to it is a deliberate change to this test."""

from __future__ import annotations

import inspect
import subprocess
import sys

import calmtrace

EXPECTED = [
    "__version__", "CalmtraceError", "Event", "Events", "Recording",
    "load", "save", "simulate", "clean", "windowed_hrv", "assess_recovery",
    "analyze", "AnalysisConfig", "write_report", "hrv", "hrv_by_event", "dyad",
]


def test_all_is_pinned() -> None:
    assert calmtrace.__all__ == EXPECTED


def test_every_public_name_resolves_and_is_documented() -> None:
    for name in EXPECTED:
        obj = getattr(calmtrace, name)
        if callable(obj):
            assert inspect.getdoc(obj), f"calmtrace.{name} has no docstring"


def test_import_is_light() -> None:
    """``import calmtrace`` does not pull in plotly, neurokit2 or bleak."""
    code = "import sys, calmtrace; print(sorted(m for m in ('plotly', 'neurokit2', 'bleak', 'bumble') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
