"""Plain RR-interval text: one interval per line (Elite HRV, Kubios, PhysioNet, the ``hrv``
package, many phone apps), or Kubios-style two columns (time and RR, no header).

Layout
    One number per line, or two per line (a time column and the intervals, space, tab or ``;``
    separated). Blank lines and lines starting with ``#`` are skipped; the first line may be a
    header word (``RR``, ``rr_ms``, ``RRI``...). Structure, decimal commas, the unit and the
    meaning of a time column follow the shared evidence rules of
    :mod:`calmtrace.formats._evidence` and :mod:`calmtrace.formats._columns` (see
    ``docs/formats.md``); every inference is an import note.

Values
    ``nan``, blank or 0 values are removed beats (a negative value is refused) and intervals
    longer than 3 s are gaps of their own length (e.g. the offset of the first beat written as the
    first value); the file is refused only when fewer than half its rows are usable. Zeros at the very end of the file
    are dropped, because some exporters end their list with a 0 (the ``hrv`` package's
    ``real_rri.txt`` does); ``meta["trailing_zeros_dropped"]`` counts them. Heart rates are
    refused, never read as intervals.

Start time
    From the file name where it holds a date and time: ``2024-05-01 09-30-00`` (Elite HRV),
    ``2024-05-01_09-30-00``, ``2024-05-01T09:30:00``, ``20240501_093000`` or ``20240501-093000``,
    as local time taken as UTC (``meta["clock"]``). Otherwise the start is unknown:
    ``meta["start_unknown"] = True`` (``calmtrace info`` says so; ``import --start`` sets it),
    never the file's modification time (which would change from copy to copy).

Beats are the running sum of the intervals (or the beat times of a time column), the first
interval starting at ``t_s = 0``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError, where
from ..recording import Recording
from . import Format
from ._columns import recording_from_grid
from ._evidence import add_note, options, split_grid, to_numbers
from ._text import head_lines, read_lines, safe_sniff

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


def _data_lines(lines: list[str]) -> list[str]:
    return [t.strip() for t in lines if t.strip() and not t.lstrip().startswith("#")]


@safe_sniff
def sniff(path: Path, head: bytes) -> int:
    """40 for single numbers (or ``nan``) per line, or two numeric columns without a header
    (Kubios-style time and RR), that look like RR intervals in ms, s or µs; else 0 or 10.

    The head is split by :func:`~calmtrace.formats._evidence.split_grid`, the reader's own
    structure rules. Low, because any column of numbers looks like this: more specific formats win.
    """
    lines = head_lines(head, 200)
    if not lines:
        return 0
    if len(head) >= 65536:
        lines = lines[:-1]  # the last line of a cut head may be cut too
    if len(_data_lines(lines)) < 3:
        return 0
    try:
        grid = split_grid(path, lines, {})
    except FormatError:
        return 0
    if grid.header is not None and (len(grid.header) != 1 or not _HEADER_WORD.match(grid.header[0])):
        return 0
    if grid.width == 2:
        a, _ = to_numbers(grid, 0, "column 1")
        b, _ = to_numbers(grid, 1, "column 2")
        if not np.all(np.diff(a[np.isfinite(a)]) > 0):
            return 10  # two columns, the first not a time: some other table
        v = b
    elif grid.width == 1:
        v, _ = to_numbers(grid, 0, "column 1")
    else:
        return 0
    v = v[np.isfinite(v)]
    if v.size < 2:
        return 0
    med = float(np.median(v))
    if 250 <= med <= 2500 or 0.25 <= med <= 2.5 or 250_000 <= med <= 2_500_000:
        return 40
    return 10


def read(path: Path) -> Recording:
    """Import a plain RR text file or a two-column (time, RR) text file (see the module docstring).

    Returns
    -------
    Recording
        Beats and gaps; ``meta``: ``source_file``, ``rr_unit``, ``import_notes``, ``clock`` or
        ``start_unknown``.

    Raises
    ------
    FormatError
        A line that is not a number, heart rates instead of intervals, a unit that fits nothing,
        or too few usable intervals, naming the file and line.
    """
    path = Path(path)
    lines = read_lines(path, "RR intervals")
    meta: dict = {"source_file": path.name}
    # zeros at the very end are an exporter's terminator (the hrv package's real_rri.txt)
    trailing = 0
    while lines and lines[-1].strip() in ("0", "0.0", "0.000", ""):
        if lines[-1].strip():
            trailing += 1
        lines = lines[:-1]
    if trailing:
        meta["trailing_zeros_dropped"] = trailing
        add_note(meta, f"{trailing} zero(s) at the end of the file dropped (an exporter's end mark)")
    if not any(t.strip() and not t.lstrip().startswith("#") for t in lines):   # no _data_lines
        raise FormatError(f"{path}: no RR intervals in the file")
    grid = split_grid(path, lines, meta)
    if grid.width == 1:
        # in a single column a blank line inside the list is a missing value (pandas writes NaN
        # as an empty line): a removed beat, not nothing
        first = grid.rows[0][0]
        last = grid.rows[-1][0]
        blanks = [n for n in range(first, last + 1) if not lines[n - 1].strip()]
        if blanks:
            blank = set(blanks)
            lines = ["nan" if (n in blank) else ln for n, ln in enumerate(lines, start=1)]
            add_note(meta, f"{len(blanks)} blank line(s) inside the list (first: line {blanks[0]}) read as "
                           f"missing values")
            grid = split_grid(path, lines, meta)
    if grid.width > 2 or (grid.width == 2 and grid.header is not None and not options().columns
                          and not _two_named(grid.header)):
        n, f = grid.rows[0]
        raise FormatError(f"{where(path, n)}: expected one RR interval per line (or time and RR), got "
                          f"{len(f)} fields {' '.join(f)[:60]!r}")
    start = start_from_name(path.name)
    return recording_from_grid(path, grid, meta, name_start=start)


def _two_named(header: list[str]) -> bool:
    from ._columns import RR_NAMES, TIME_NAMES, norm_name

    names = [norm_name(h) for h in header]
    return any(n in RR_NAMES for n in names) and any(n in TIME_NAMES for n in names)


FORMAT = Format(
    name="rr-text",
    description="RR intervals one per line (ms, s or us), or Kubios-style time and RR columns",
    sniff=sniff,
    read=read,
    options=("unit", "columns", "time_unit"),
)
