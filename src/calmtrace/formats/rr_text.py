"""Plain RR-interval text: one interval per line (Elite HRV, Kubios, PhysioNet, the ``hrv``
package, many phone apps).

Layout
    One number per line. Blank lines and lines starting with ``#`` are skipped; the first
    non-blank line may be a header word (``RR``, ``rr_ms``, ``RRI``...). A line with more than one
    value is an error (a table with times is a ``beat-table``).

Unit rule
    :func:`~calmtrace.formats._text.rr_scale_to_ms`: a median below 10 means seconds, otherwise
    milliseconds; ``meta["rr_unit"]`` records which.

Values
    Every interval must be a positive number of at most 60 s, else a
    :class:`~calmtrace.errors.FormatError` names the file and line. One exception: zeros at the
    very end of the file are dropped, because some exporters end their list with a 0 (the
    ``hrv`` package's ``real_rri.txt`` does); ``meta["trailing_zeros_dropped"]`` counts them. A 0
    anywhere else is an error, since the time it stands for is unknown. Positive but implausible
    intervals are kept for the cleaning step to flag.

Start time
    From the file name where it holds a date and time: ``2024-05-01 09-30-00`` (Elite HRV),
    ``2024-05-01_09-30-00``, ``2024-05-01T09:30:00``, ``20240501_093000`` or ``20240501-093000``,
    as local time taken as UTC (``meta["clock"]``). Otherwise the start is unknown: it is set to
    :data:`~calmtrace.formats._text.UNKNOWN_START` with ``meta["start_unknown"] = True``, never
    to the file's modification time (which would change from copy to copy).

Beats are the running sum of the intervals, the first interval starting at ``t_s = 0``. A plain
list cannot show missing data, so there are no gaps.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError, where
from ..recording import Recording
from . import Format
from ._text import (
    CLOCK_LOCAL_AS_UTC,
    MAX_RR_MS,
    UNKNOWN_START,
    build_recording,
    head_lines,
    read_lines,
    rr_scale_to_ms,
    rr_value,
    safe_sniff,
)

__all__ = ["FORMAT", "read", "sniff", "start_from_name"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_HEADER_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ()\[\]/.-]{0,40}$")

# file-name date-time patterns, tried in order
_NAME_PATTERNS = [
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[ _T](\d{2})[-.:](\d{2})[-.:](\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_-](\d{2})(\d{2})(\d{2})(?!\d)"),
]


def start_from_name(name: str) -> datetime | None:
    """The start time a file name holds (see the module docstring), as UTC; None if it holds none.

    Examples
    --------
    >>> start_from_name("2024-05-01 09-30-00.txt").isoformat()
    '2024-05-01T09:30:00+00:00'
    >>> start_from_name("rest_rri.txt") is None
    True
    """
    for rx in _NAME_PATTERNS:
        for m in rx.finditer(name):
            try:
                y, mo, d, h, mi, s = (int(g) for g in m.groups())
                return datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
            except ValueError:
                continue
    return None


def _values(lines: list[str]) -> tuple[list[int], list[str]]:
    numbered = [(n, t.strip()) for n, t in enumerate(lines, start=1)]
    numbered = [(n, t) for n, t in numbered if t and not t.startswith("#")]
    return [n for n, _ in numbered], [t for _, t in numbered]


@safe_sniff
def sniff(path: Path, head: bytes) -> int:
    """40 for a file of single numbers that look like RR intervals in ms or s, else 0.

    Low, because any column of numbers looks like this: more specific formats win.
    """
    lines = head_lines(head, 200)
    if not lines:
        return 0
    if len(head) >= 65536:
        lines = lines[:-1]  # the last line of a cut head may be cut too
    _, texts = _values(lines)
    if texts and not _NUMBER.match(texts[0]) and _HEADER_WORD.match(texts[0]):
        texts = texts[1:]
    if len(texts) < 3 or not all(_NUMBER.match(t) for t in texts):
        return 0
    v = np.array([float(t) for t in texts])
    med = float(np.median(v))
    if 250 <= med <= 2500 or 0.25 <= med <= 2.5:
        return 40
    return 10


def read(path: Path) -> Recording:
    """Import a plain RR text file (see the module docstring).

    Returns
    -------
    Recording
        Beats; ``meta``: ``source_file``, ``rr_unit``, ``clock`` or ``start_unknown``.

    Raises
    ------
    FormatError
        A line that is not one number, an interval <= 0 (other than trailing zeros) or > 60 s,
        naming the file and line; a file with no intervals.
    """
    path = Path(path)
    line_nos, texts = _values(read_lines(path, "RR intervals"))
    if texts and not _NUMBER.match(texts[0]) and _HEADER_WORD.match(texts[0]):
        line_nos, texts = line_nos[1:], texts[1:]
    try:
        rr = np.array(texts, dtype=float)
    except ValueError:
        rr = None
    if rr is None or not np.isfinite(rr).all() or not all(_NUMBER.match(t) for t in texts):
        for n, t in zip(line_nos, texts):
            if not _NUMBER.match(t):
                fields = t.split()
                if len(fields) > 1 or "," in t or ";" in t:
                    raise FormatError(f"{where(path, n)}: expected one RR interval per line, got {t[:60]!r}")
                raise FormatError(f"{where(path, n)}: RR interval must be a number, got {t[:60]!r}")
        raise FormatError(f"{path}: RR intervals must be finite numbers")  # pragma: no cover
    meta: dict = {"source_file": path.name}
    trailing = 0
    while rr.size and rr[-1] == 0:
        rr = rr[:-1]
        trailing += 1
    if trailing:
        meta["trailing_zeros_dropped"] = trailing
        line_nos = line_nos[: rr.size]
    if rr.size == 0:
        raise FormatError(f"{path}: no RR intervals in the file")
    scale = rr_scale_to_ms(rr[rr > 0]) if (rr > 0).any() else 1.0
    meta["rr_unit"] = "s" if scale == 1000.0 else "ms"
    bad = np.flatnonzero(~((rr > 0) & (rr <= MAX_RR_MS / scale)))  # checked before scaling: no overflow
    if bad.size:
        i = int(bad[0])
        rr_value(float(rr[i]) * scale, path, line_nos[i], "RR interval", texts[i] if scale == 1.0 else None)
    rr_ms = rr * scale
    start = start_from_name(path.name)
    if start is None:
        start = UNKNOWN_START
        meta["start_unknown"] = True
    else:
        meta["clock"] = CLOCK_LOCAL_AS_UTC
    return build_recording(path, start, t_s=np.cumsum(rr_ms) / 1000.0, rr_ms=rr_ms, meta=meta)


FORMAT = Format(
    name="rr-text",
    description="one RR interval per line, ms or s (Elite HRV, Kubios, PhysioNet, apps)",
    sniff=sniff,
    read=read,
)
