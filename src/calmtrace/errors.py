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
    "MAX_MESSAGE_CHARS",
    "shorten",
]


#: Longest error message kept, in characters: what a message quotes from its input is cut in the
#: middle (marked ``[...]``), so that a 100 MB line never becomes a 100 MB message.
MAX_MESSAGE_CHARS = 500


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` on one line (line breaks become spaces) of at most ``limit`` characters, the
    middle cut out and marked ``[...]`` when it is longer."""
    if "\n" in text or "\r" in text:
        text = " ".join(text.splitlines())
    if len(text) <= limit:
        return text
    tail = max(limit // 4, 20)
    return f"{text[: limit - tail - 7]} [...] {text[-tail:]}"


class CalmtraceError(Exception):
    """Base class of every error calmtrace raises on purpose.

    The message is kept to one line of at most :data:`MAX_MESSAGE_CHARS` characters.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (shorten(args[0]),) + args[1:]
        super().__init__(*args)


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
