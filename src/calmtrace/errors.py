"""Errors raised by calmtrace.

Every error calmtrace raises on purpose is a :class:`CalmtraceError`. Errors caused by the
caller's input (a file, an option, a value) are also :class:`ValueError`, so code that already
catches ``ValueError`` keeps working. A message names the thing, what was expected and what was
found, on one line: ``"beats.csv line 212: rr_ms must be a positive number, got '-3'"``.
"""

from __future__ import annotations

__all__ = [
    "CalmtraceError",
    "InputError",
    "FormatError",
    "RecordingError",
    "EventsError",
    "AnalysisError",
    "DeviceError",
]


class CalmtraceError(Exception):
    """Base class of every error calmtrace raises on purpose."""


class InputError(CalmtraceError, ValueError):
    """The caller's input is wrong: a file, an option or a value."""


class FormatError(InputError):
    """A file is not in the format it was read as, or no format fits it."""


class RecordingError(InputError):
    """A recording is inconsistent: unsorted beats, non-positive RR, naive start time..."""


class EventsError(InputError):
    """An event or an events file is invalid."""


class AnalysisError(CalmtraceError):
    """An analysis cannot be carried out on the data it was given."""


class DeviceError(CalmtraceError):
    """A Bluetooth strap could not be found, reached or understood."""


def where(path: object, line: int | None = None) -> str:
    """Format a location prefix for error messages, e.g. ``"rec/beats.csv line 212"``.

    Parameters
    ----------
    path : path-like or str
        The file the problem is in, shown as given.
    line : int, optional
        1-based line number in that file.

    Returns
    -------
    str
        ``"<path>"`` or ``"<path> line <n>"``.
    """
    return f"{path} line {line}" if line is not None else f"{path}"
