"""Reading beat data from text tables by evidence, and saying what was inferred.

Other tools write RR intervals, heart rates, beat times and arrival times in many layouts. This
module decides what a table holds from its content, in this order, and writes each decision with
its evidence into the import notes (``meta["import_notes"]``, shown by ``calmtrace info``):

1. **Structure** (:func:`split_grid`): the delimiter, whether the first line is a header, and
   whether numbers use decimal commas. A row with more fields than the header is never cut
   short: it is read as decimal commas only when that is the one reading that fits, else refused
   with the line and the likely cause.
2. **Units and meaning** (:func:`rr_unit`, :func:`time_meaning`): a column of intervals in ms,
   s or µs, or heart rates in bpm (refused: a heart rate is not an interval); a time column of
   beat times (its steps equal the intervals), or arrival times (they do not, but follow the
   running RR sum), relative or Unix epoch.
3. **Values** (:func:`series_from_rr`): ``nan``/blank/0 cells are removed beats and intervals longer
   than :data:`~calmtrace.signals.ecg.GAP_RR_MS` are gaps, counted in the notes; a file is
   refused only when too little usable series is left.

Every guess can be overridden by :class:`ImportOptions` (``calmtrace import --unit --columns
--start --timezone --fs``).
"""

from __future__ import annotations

import csv
import gc
import logging
import math
import re
from contextlib import contextmanager
from contextvars import ContextVar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import FormatError, InputError, where
from ..signals.ecg import GAP_RR_MS

log = logging.getLogger(__name__)

__all__ = [
    "NOTES_KEY",
    "ImportOptions",
    "options",
    "using_options",
    "add_note",
    "MISSING",
    "Grid",
    "split_grid",
    "check_row_width",
    "to_numbers",
    "rr_unit",
    "RR_UNITS",
    "Series",
    "series_from_rr",
    "stand_in_lengths",
    "MIN_USABLE_SHARE",
    "unit_by_median",
    "refuse_implausible_override",
    "UNIT_WORDS",
]

#: ``meta`` key of the list of import notes: every inference with its evidence, one line each.
NOTES_KEY = "import_notes"

#: Cells that stand for a missing value (what pandas, R, Excel and outlier-removal steps write).
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "-", "--", "#n/a", "#value!", "?"})

#: RR units and their factor to ms.
RR_UNITS = {"ms": 1.0, "s": 1000.0, "us": 0.001}
#: How messages name a unit.
UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}

#: RR that a human heart gives: 24 to 240 bpm, i.e. 250-2500 ms (the range used by Kubios HRV and
#: the Task Force 1996 for adult RR intervals, with room at both ends). The unit rule wants a
#: column's median in it (:func:`rr_unit`); an override must keep most intervals in it
#: (:func:`refuse_implausible_override`).
_RR_MS_RANGE = (250.0, 2500.0)
#: Median of a column of heart rates, bpm: 25-240 lies below any RR median in ms (>= 250) and
#: above any in s (<= 2.5), so the two can never be confused.
_HR_RANGE = (25.0, 240.0)

#: Smallest share of a file's rows that must give usable intervals; below it the file is refused
#: (it is more likely not an RR series at all than one with that many removed beats).
MIN_USABLE_SHARE = 0.5

#: How many usable intervals on each side give the stand-in length of a removed one.
_NEIGHBOURS = 5


# -------------------------------------------------------------------------------------------
# options and notes
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportOptions:
    """Overrides of the importers' inferences (``calmtrace import`` options).

    Parameters
    ----------
    unit : str, optional
        Unit of the RR values: ``ms``, ``s`` or ``us``.
    columns : tuple of str, optional
        Meaning of each column, in order: ``rr``, ``time`` (beat time), ``arrival`` (arrival time of
        the row), ``hr`` or ``-`` (ignored).
    time_unit : str, optional
        Unit of a relative time column: ``s``, ``ms`` or ``us``.
    fs_hz : float, optional
        Sampling rate of an ECG table, Hz.
    start : datetime, optional
        Start of the recording (aware, or naive with ``timezone``).
    timezone : str, optional
        IANA zone (``Europe/Berlin``) or offset (``+02:00``) of the file's local clock times.
    """

    unit: str | None = None
    columns: tuple[str, ...] | None = None
    time_unit: str | None = None
    fs_hz: float | None = None
    start: datetime | None = None
    timezone: str | None = None


_OPTIONS: ContextVar[ImportOptions] = ContextVar("calmtrace_import_options", default=ImportOptions())

#: Roles accepted in ``--columns``.
COLUMN_ROLES = ("rr", "time", "arrival", "hr", "-")


def options() -> ImportOptions:
    """The overrides of the import under way (defaults outside :func:`using_options`)."""
    return _OPTIONS.get()


@contextmanager
def using_options(opts: ImportOptions | None) -> Iterator[None]:
    """Make ``opts`` the overrides seen by :func:`options` inside the ``with`` block."""
    token = _OPTIONS.set(opts or ImportOptions())
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def parse_columns(text: str) -> tuple[str, ...]:
    """``"time,rr"`` -> ``("time", "rr")``; raises :class:`InputError` on an unknown role."""
    roles = tuple(r.strip().lower() for r in str(text).split(","))
    bad = [r for r in roles if r not in COLUMN_ROLES]
    if bad or not roles:
        raise InputError(f"--columns: each column must be one of {', '.join(COLUMN_ROLES)}, got {text!r}")
    return roles


def add_note(meta: dict, text: str, warn: bool = False) -> None:
    """Append one import note to ``meta`` and log it (as a warning when ``warn``: data was
    removed, a gap made or a clock change found)."""
    meta.setdefault(NOTES_KEY, []).append(text)
    (log.warning if warn else log.info)("%s: %s", meta.get("source_file", "import"), text)


# -------------------------------------------------------------------------------------------
# structure
# -------------------------------------------------------------------------------------------
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")


def _is_value(tok: str) -> bool:
    t = tok.strip().strip('"').strip()
    return t.lower() in MISSING or bool(_NUM.match(t)) or bool(_COMMA_DECIMAL.match(t)) or _looks_like_time(t)


def _looks_like_time(t: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", t) or re.match(r"^\d{1,2}:\d{2}(:\d{2})?", t))


@dataclass
class Grid:
    """A text table split into fields, numbers written with ``.``.

    Attributes
    ----------
    path : Path
    header : list of str or None
        Column names when the first line is a header.
    header_line : int or None
    rows : list of (line number, fields)
    delimiter : str
        ``"tab"``, ``";"``, ``","``, ``"whitespace"`` or ``"none"`` (one column).
    decimal_comma : bool
    width : int
        Number of columns.
    """

    path: Path
    header: list[str] | None
    header_line: int | None
    rows: list[tuple[int, list[str]]]
    delimiter: str
    decimal_comma: bool
    width: int

    def column(self, i: int) -> list[str]:
        if isinstance(self.rows, OneColumnRows):
            return list(self.rows.cells) if i == 0 else [""] * len(self.rows)
        return [f[i] if i < len(f) else "" for _, f in self.rows]

    @property
    def line_nos(self) -> list[int]:
        if isinstance(self.rows, OneColumnRows):
            return self.rows.line_nos.tolist()
        return [n for n, _ in self.rows]


class OneColumnRows(Sequence):
    """The rows of a one-column table (no delimiter) as ``(line number, [cell])``, stored compactly.

    A list of ``(int, [str])`` costs about 250 bytes a row (2.5 GB for a 10-million-line RR file);
    this keeps the line numbers in one int64 array and the cells in one list of the line texts, and
    makes each row's tuple only when it is asked for. Reading, indexing, slicing and iterating give
    the same rows as the list would.
    """

    __slots__ = ("line_nos", "cells")

    def __init__(self, line_nos: np.ndarray, cells: list[str]):
        self.line_nos = line_nos
        self.cells = cells

    def __len__(self) -> int:
        return len(self.cells)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [(n, [c]) for n, c in zip(self.line_nos[k].tolist(), self.cells[k])]
        return int(self.line_nos[k]), [self.cells[k]]

    def __iter__(self):
        return ((n, [c]) for n, c in zip(self.line_nos.tolist(), self.cells))


def _split(text: str, delim: str) -> list[str]:
    if delim == "none":
        return [text.strip()]
    if delim == "whitespace":
        return text.split()
    try:
        fields = next(csv.reader([text], delimiter=delim))
    except (csv.Error, StopIteration):
        fields = text.split(delim)
    return [f.strip() for f in fields]


def _delimiter(texts: list[str]) -> str:
    sample = texts[:200]
    for cand in ("\t", ";", ","):
        if sum(1 for t in sample if cand in t) >= max(1, len(sample) // 2):
            if cand == "," and _numbers_by_whitespace(sample):
                return "whitespace"  # "0,812 0,797": decimal commas in space-separated columns
            return cand
    if sum(1 for t in sample if len(t.split()) > 1) >= max(1, len(sample) // 2):
        return "whitespace"
    return "none"


def _numbers_by_whitespace(sample: list[str]) -> bool:
    """True when every line splits on spaces into the same number (>= 2) of numeric tokens."""
    body = sample[1:] if sample and not all(_is_value(t) for t in sample[0].split()) else sample
    widths = {len(t.split()) for t in body}
    return bool(body) and len(widths) == 1 and widths.pop() >= 2 and all(
        _NUM.match(tok) or _COMMA_DECIMAL.match(tok) or tok.lower() in MISSING for t in body for tok in t.split())


@contextmanager
def _no_cyclic_gc():
    """Pause Python's cyclic garbage collector while millions of small lists and tuples are built.

    The rows of a grid hold no reference cycles; without the pause each 700 new containers start
    a collection that walks the ones already made (2.7 of 8.6 s of a 2-million-line import).
    The collector's earlier state is restored on exit.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def split_grid(path: Path, lines: list[str], meta: dict, *, first_line: int = 1) -> Grid:
    """Split text lines into a :class:`Grid`, checking structure before any number is read.

    Its work is :func:`_split_grid`'s, with the cyclic garbage collector paused (no result changes).

    Parameters
    ----------
    path : Path
        The file, for messages.
    lines : list of str
        Its lines (``lines[0]`` is line 1).
    meta : dict
        Receives import notes (decimal commas read).
    first_line : int
        First line (1-based) of the table; lines before it are ignored.

    Raises
    ------
    FormatError
        A row with more fields than the header that decimal commas do not explain, or numbers
        whose decimal mark is ambiguous; the message names the line and the likely cause.
    """
    with _no_cyclic_gc():
        return _split_grid(path, lines, meta, first_line=first_line)


def _split_grid(path: Path, lines: list[str], meta: dict, *, first_line: int = 1) -> Grid:
    """:func:`split_grid` (see there)."""
    # line numbers and stripped texts of the data lines (two flat lists: no tuple per line)
    ns = [n for n, ln in enumerate(lines, start=1) if n >= first_line and ln.strip() and not ln.lstrip().startswith("#")]
    if not ns:
        raise FormatError(f"{path}: no rows")
    texts = [lines[n - 1].strip() for n in ns]
    delim_char = _delimiter(texts[:200])  # it reads the first 200
    delim = {"\t": "tab"}.get(delim_char, delim_char)
    first = _split(texts[0], delim_char)
    if delim_char == "whitespace":
        merged: list[str] = []
        for tok in first:  # "Time (s) RR (s)": a unit in brackets belongs to the name before it
            if merged and re.fullmatch(r"[\(\[][^\)\]]*[\)\]]", tok):
                merged[-1] += " " + tok
            else:
                merged.append(tok)
        first = merged
    header = None
    header_line = None
    if not all(_is_value(t) for t in first):
        header, header_line = first, ns[0]
        while header and header[-1] == "":
            header.pop()  # some apps end the header with the delimiter
    skip = 0 if header is None else 1
    if len(ns) == skip:
        raise FormatError(f"{where(path, header_line)}: no rows below the header")
    rows: list[tuple[int, list[str]]] | OneColumnRows
    if delim_char == "none":
        # one field per line, the line itself (already stripped), as _split gives it
        rows = OneColumnRows(np.array(ns[skip:], dtype=np.int64), texts[skip:])
    else:
        rows = [(n, _split(t, delim_char)) for n, t in zip(ns[skip:], texts[skip:])]
    del ns, texts
    if header is None and delim_char not in (",", "none"):  # "none": one field on every row
        widths = [len(f) for _, f in rows]
        if len(set(widths)) > 1:
            k = next(i for i, w in enumerate(widths) if w != widths[0])
            raise FormatError(f"{where(path, rows[k][0])}: {widths[k]} fields where line {rows[0][0]} has "
                              f"{widths[0]}; the rows of a table without a header must all have the same fields")
    decimal_comma = False
    if delim_char == ",":
        rows, decimal_comma, width = _comma_structure(path, header, rows, meta)
        if not decimal_comma:  # "1,139" survives splitting only when quoted
            decimal_comma = _decimal_commas(path, rows, meta)
    else:
        width = (len(header) if header is not None else 1 if isinstance(rows, OneColumnRows)
                 else max((len(f) for _, f in rows), default=1))
        for n, f in (rows if delim_char != "none" else ()):  # "none": one field per row, never too many
            while len(f) > width and f[-1] == "":
                f.pop()
            if len(f) > width:
                raise FormatError(
                    f"{where(path, n)}: {len(f)} fields but the header has {width} "
                    f"({'tab' if delim == 'tab' else repr(delim_char)}-separated); a row is never cut "
                    f"short: fix the line or name the columns with --columns"
                )
        decimal_comma = _decimal_commas(path, rows, meta)
    if decimal_comma:
        rows = [(n, [c.replace(",", ".") if _COMMA_DECIMAL.match(c) else c for c in f]) for n, f in rows]
    return Grid(path, header, header_line, rows, delim, decimal_comma, width)


def _decimal_commas(path: Path, rows: list[tuple[int, list[str]]], meta: dict) -> bool:
    """True when the numbers of a ``;``/tab/space table use decimal commas (noted in ``meta``)."""
    comma = dot = None
    cells = rows.cells if isinstance(rows, OneColumnRows) else (c for _, f in rows for c in f)
    if not any("," in c for c in cells):
        return False            # no comma anywhere: neither a decimal comma nor a mixed mark
    for n, f in rows:
        for c in f:
            if _COMMA_DECIMAL.match(c):
                comma = comma or (n, c)
            elif "." in c and _NUM.match(c):
                dot = dot or (n, c)
            elif "," in c and "." in c and re.match(r"^[+-]?[\d.,]+$", c):
                raise FormatError(f"{where(path, n)}: {c!r} mixes '.' and ',' (thousands separators?); "
                                  f"cannot tell the decimal mark; export numbers without grouping")
    if comma and dot:
        raise FormatError(f"{where(path, comma[0])}: {comma[1]!r} has a decimal comma but line {dot[0]} "
                          f"has {dot[1]!r} with a decimal point; the decimal mark is ambiguous")
    if comma:
        add_note(meta, f"decimal commas read as decimal points (e.g. {comma[1]!r} on line {comma[0]})")
        return True
    return False


def _comma_structure(path: Path, header: list[str] | None, rows: list[tuple[int, list[str]]],
                     meta: dict) -> tuple[list[tuple[int, list[str]]], bool, int]:
    """Rows of a comma-separated table, with decimal commas merged where that is unambiguous."""
    width = len(header) if header is not None else 0
    counts = {len(f) for _, f in rows}
    if header is None:
        # Without a header, "1,139" is one number with a decimal comma or two columns: it is one
        # number when every row has two fields, all integers, the first not increasing like a time
        # column and the second of a constant width (a fixed number of decimals); otherwise they
        # are columns.
        if counts == {2} and all(_INT.match(a) and _INT.match(b) for _, (a, b) in rows):
            firsts = np.array([float(a) for _, (a, _b) in rows])
            widths = {len(b.lstrip("+-")) for _, (_a, b) in rows}
            increasing = firsts.size > 2 and bool(np.all(np.diff(firsts) > 0))
            if len(widths) == 1 and not increasing:
                merged = [(n, [f"{a}.{b}"]) for n, (a, b) in rows]
                add_note(meta, f"each line holds one number with a decimal comma (e.g. "
                               f"{rows[0][1][0]},{rows[0][1][1]!s} on line {rows[0][0]}): the part after the "
                               f"comma always has {widths.pop()} digits and the part before it does not "
                               f"increase like a time column")
                return merged, True, 1
        return rows, False, max(counts) if counts else 1
    out = []
    merged_any = None
    plain_ambiguous = None
    for n, f in rows:
        while len(f) > width and f[-1] == "" and len(f) != 2 * width:
            f.pop()
        if len(f) <= width:
            if len(f) == width and width > 1 and all(_INT.match(c) for c in f):
                plain_ambiguous = plain_ambiguous or n
            out.append((n, f))
            continue
        if len(f) == 2 * width and all(_INT.match(c) for c in f):
            out.append((n, [f"{f[2 * k]}.{f[2 * k + 1]}" for k in range(width)]))
            merged_any = merged_any or (n, ",".join(f))
            continue
        cause = ("the values seem to use decimal commas inside a comma-separated file, so the columns "
                 "cannot be told apart" if any(_INT.match(c) for c in f) else "a field holds an unquoted comma")
        raise FormatError(
            f"{where(path, n)}: {len(f)} comma-separated fields but the header has {width}; {cause}. "
            f"A row is never cut short: export with ';' between fields or '.' as the decimal mark"
        )
    if merged_any and plain_ambiguous:
        raise FormatError(
            f"{where(path, plain_ambiguous)}: {width} fields where line {merged_any[0]} has {2 * width}: "
            f"decimal commas in a comma-separated file make the columns ambiguous; export with ';' "
            f"between fields or '.' as the decimal mark"
        )
    if merged_any:
        add_note(meta, f"rows have {2 * width} comma-separated integers under a header of {width} "
                       f"column(s): read as decimal commas (line {merged_any[0]}: {merged_any[1]!r} -> "
                       f"{out[[n for n, _ in out].index(merged_any[0])][1]})")
        return out, True, width
    return out, False, width


def check_row_width(path: Path, line: int, fields: list[str], width: int, delimiter: str) -> None:
    """Refuse a row with more non-empty fields than its header: never cut a row short.

    Raises
    ------
    FormatError
        Naming the line and the likely cause (decimal commas in a comma-separated file, or an
        unquoted delimiter inside a value).
    """
    extra = [f for f in fields[width:] if f.strip()]
    if not extra:
        return
    cause = ("the values seem to use decimal commas inside a comma-separated file"
             if delimiter == "," and any(_INT.match(f.strip()) for f in fields) else
             f"a value holds an unquoted {delimiter!r}")
    raise FormatError(f"{where(path, line)}: {len(fields)} fields but the header has {width}; {cause}. A row is "
                      f"never cut short: export with another delimiter or '.' as the decimal mark")


def to_numbers(grid: Grid, i: int, what: str) -> tuple[np.ndarray, int]:
    """Column ``i`` of ``grid`` as floats (NaN for missing cells) and its count of decimals.

    Raises
    ------
    FormatError
        A cell that is neither a number nor a missing-value mark, naming the line.
    """
    fast = _plain_numbers(grid.column(i))
    if fast is not None:
        return fast
    out = np.empty(len(grid.rows))
    decimals = 0
    for k, (n, f) in enumerate(grid.rows):
        c = (f[i] if i < len(f) else "").strip().strip('"').strip()
        if c.lower() in MISSING:
            out[k] = np.nan
            continue
        if not _NUM.match(c):
            raise FormatError(f"{where(grid.path, n)}: {what} must be a number, got {c[:40]!r}")
        v = float(c)
        if not math.isfinite(v):
            out[k] = np.nan
            continue
        out[k] = v
        if "." in c and "e" not in c.lower():
            decimals = max(decimals, len(c.split(".")[1]))
    return out, decimals


#: A line of :func:`_plain_numbers`' joined column that is not a plain decimal number.
_NOT_PLAIN = re.compile(r"(?m)^(?![+-]?(\d+(\.\d*)?|\.\d+)$)")


def _plain_numbers(cells: list[str]) -> tuple[np.ndarray, int] | None:
    """:func:`to_numbers` of a column whose every cell is a plain decimal number, in bulk.

    The cells are joined into one text and searched once for a line that is not ``[+-]digits[.digits]``
    (no exponent, quote, space, missing mark or empty cell); when there is none, each cell is
    converted by ``float`` as in the cell-by-cell loop, and the count of decimals is the longest run
    of digits after a point. Returns None (use the loop) otherwise. Same values, same decimals; about
    ten times faster on a 10-million-line file.
    """
    if not cells:
        return None
    text = "\n".join(cells)
    if _NOT_PLAIN.search(text):
        return None
    out = np.fromiter(map(float, cells), dtype=float, count=len(cells))
    out[~np.isfinite(out)] = np.nan
    decimals = 0
    while re.search(r"\.\d{%d}" % (decimals + 1), text):
        decimals += 1
    return out, decimals


# -------------------------------------------------------------------------------------------
# units
# -------------------------------------------------------------------------------------------
def rr_unit(path: Path, values: np.ndarray, meta: dict, *, stated: str | None = None,
            what: str = "the values") -> float:
    """Factor that turns a column of RR intervals into ms, decided from the values.

    Rule: the median of the positive values lies in 250-2500 for ms, 0.25-2.5 for s and
    250,000-2,500,000 for µs (human RR intervals, 24-240 bpm). A median of 25-240 is a heart rate
    in bpm: refused, because a heart rate is not an interval. Anything else is refused with the
    median. ``--unit`` (:class:`ImportOptions`) overrides the rule, unless it puts most values
    outside the human range (:func:`refuse_implausible_override`); a unit stated in the header is
    checked against the rule and, where they disagree, the values win and a note says so.

    Raises
    ------
    FormatError
        Heart rates, or values that fit no unit.
    InputError
        A ``--unit`` that gives intervals no human heart gives.
    """
    forced = options().unit
    v = values[np.isfinite(values) & (values > 0)]
    if forced:
        if forced not in RR_UNITS:
            raise InputError(f"--unit must be one of {', '.join(RR_UNITS)}, got {forced!r}")
        if v.size:  # a column without any positive value is refused below, by classify_rr
            with np.errstate(over="ignore"):
                refuse_implausible_override(path, v * RR_UNITS[forced], f"--unit {forced}",
                                            looks_like=unit_by_median(v, RR_UNITS), flag="--unit")
        add_note(meta, f"RR unit {forced} (set by --unit)")
        meta["rr_unit"] = forced
        return RR_UNITS[forced]
    if v.size == 0:
        raise FormatError(f"{path}: no positive values in {what}; no RR intervals")
    med = float(np.median(v))
    found = unit_by_median(v, RR_UNITS)
    if found is None:
        if _HR_RANGE[0] <= med <= _HR_RANGE[1]:
            raise FormatError(
                f"{path}: {what} look like heart rates in bpm (median {med:g}), not RR intervals; a "
                f"series of heart rates has no beat-to-beat intervals and is not read as one. If they "
                f"are intervals, name their unit with --unit"
            )
        raise FormatError(
            f"{path}: {what} (median {med:g}) fit no RR unit: 250-2500 ms, 0.25-2.5 s or "
            f"250000-2500000 us; name the unit with --unit"
        )
    with np.errstate(over="ignore"):
        ms = v * RR_UNITS[found]
    share = float(np.mean((ms >= 200) & (ms <= GAP_RR_MS)))
    evidence = (f"RR unit {found}: median {med:g} lies in the human range of RR intervals in {found} "
                f"({_RR_MS_RANGE[0] / RR_UNITS[found]:g}-{_RR_MS_RANGE[1] / RR_UNITS[found]:g}); "
                f"{100 * share:.0f}% of the values are 200-{GAP_RR_MS:g} ms")
    if stated and stated != found:
        evidence += f"; the header says {stated}, but the values are in {found}"
    add_note(meta, evidence)
    meta["rr_unit"] = found
    return RR_UNITS[found]


def unit_by_median(values: np.ndarray, factors: dict[str, float]) -> str | None:
    """The unit in which a column's median is that of human RR intervals, or None.

    Parameters
    ----------
    values : array of float, shape (n,)
        The column's values in its own (unknown) unit; NaN and values <= 0 are left out.
    factors : dict of str to float
        Each candidate unit and its factor to ms (:data:`RR_UNITS`, or a time column's units).

    Returns
    -------
    str or None
        The unit whose ms median lies in :data:`_RR_MS_RANGE` (24-240 bpm); the candidates are
        1000 apart, so at most one fits.
    """
    v = values[np.isfinite(values) & (values > 0)]
    if v.size == 0:
        return None
    med = float(np.median(v))
    lo, hi = _RR_MS_RANGE
    fits = [u for u, f in factors.items() if lo <= med * f <= hi]
    return fits[-1] if fits else None


def _ms_text(ms: float) -> str:
    return f"{ms:,.0f}" if abs(ms) >= 100 else f"{ms:.3g}"


def refuse_implausible_override(path: object, rr_ms: np.ndarray, override: str, *, looks_like: str | None = None,
                                flag: str | None = None) -> None:
    """Refuse intervals that an override made when most lie outside the human range.

    An override (``--unit``, ``--time-unit``, ``--columns``, ``--fs``) replaces the evidence, so
    nothing else checks what it gives: ``--unit ms`` on a file in seconds gives 0.8 ms intervals
    (75,000 bpm). When fewer than :data:`MIN_USABLE_SHARE` of the intervals lie in
    :data:`_RR_MS_RANGE` (a human heart, 24-240 bpm), the override is refused.

    Parameters
    ----------
    path : path-like
        The file, for the message.
    rr_ms : array of float, shape (n,)
        The intervals the override gives, ms (NaN and values <= 0 are left out).
    override : str
        The override(s) as typed, e.g. ``"--unit ms"``.
    looks_like : str, optional
        The unit the file's values fit by the median rule (:func:`unit_by_median`), named in the
        message when it is not the one set.
    flag : str, optional
        The option to set that unit with (``--unit``, ``--time-unit``).

    Raises
    ------
    InputError
        ``"<file>: --unit ms gives a median RR of 0.85 ms (70,588 bpm): 100% of the 300 intervals
        lie outside the human range ...; the file's values look like seconds (--unit s)"``.
    """
    v = np.asarray(rr_ms, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = _RR_MS_RANGE
    inside = float(np.mean((v >= lo) & (v <= hi))) if v.size else 0.0
    if inside >= MIN_USABLE_SHARE:
        return
    human = f"the human range of {lo:g}-{hi:g} ms ({60000 / hi:g}-{60000 / lo:g} bpm)"
    if v.size == 0:
        raise InputError(f"{path}: {override} gives no beat-to-beat interval; check {override.split()[0]} "
                         f"(a human heart gives {lo:g}-{hi:g} ms)")
    med = float(np.median(v))
    text = (f"{path}: {override} gives a median RR of {_ms_text(med)} ms ({_ms_text(60000 / med)} bpm): "
            f"{100 * (1 - inside):.0f}% of the {v.size} intervals lie outside {human}")
    set_unit = override.split()[-1] if flag and override.startswith(flag) else None
    if flag and looks_like and looks_like != set_unit:
        text += f"; the file's values look like {UNIT_WORDS.get(looks_like, looks_like)} ({flag} {looks_like})"
    elif flag and looks_like is None:
        text += "; the file's values fit no unit (check the column with --columns)"
    else:
        text += f"; check {override.split()[0]}"
    raise InputError(text)


# -------------------------------------------------------------------------------------------
# a series of RR intervals
# -------------------------------------------------------------------------------------------
@dataclass
class Series:
    """Beats and gaps from a column of intervals, times from the start of the first row.

    Attributes
    ----------
    keep : array of bool
        Rows that are beats.
    t_s : array of float
        Beat times (s) of the kept rows, the first row's interval beginning at 0.
    rr_ms : array of float
        Intervals of the kept rows, ms.
    gaps : list of (onset_s, duration_s, reason)
    row_end_s : array of float
        Running time at the end of every row (s), removed rows included (their stand-in length).
    """

    keep: np.ndarray
    t_s: np.ndarray
    rr_ms: np.ndarray
    gaps: list[tuple[float, float, str]] = field(default_factory=list)
    row_end_s: np.ndarray = field(default_factory=lambda: np.array([], float))


def classify_rr(path: Path, rr_ms: np.ndarray, line_nos: list[int], meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are usable intervals, which are removed beats and which are too long.

    Returns
    -------
    ok, long : arrays of bool
        ``ok``: 0 < rr <= :data:`GAP_RR_MS`; ``long``: rr > that (a gap of its own length);
        the rest (NaN, blank, 0) are removed beats of unknown length.

    Raises
    ------
    FormatError
        A negative value (naming its line: no tool writes one for a removed beat, so the column is
        not what it seems), or fewer than :data:`MIN_USABLE_SHARE` of the rows usable.
    """
    finite = np.isfinite(rr_ms)
    negative = np.flatnonzero(finite & (rr_ms < 0))
    if negative.size:
        k = int(negative[0])
        raise FormatError(f"{where(path, line_nos[k])}: {rr_ms[k]:g} ms is negative, not an interval (a sign "
                          f"error or a differenced column?); a removed beat is written as nan, blank or 0")
    ok = finite & (rr_ms > 0) & (rr_ms <= GAP_RR_MS)
    long = finite & (rr_ms > GAP_RR_MS)
    removed = ~ok & ~long
    n = rr_ms.size
    if n == 0 or ok.sum() < max(1, MIN_USABLE_SHARE * n):
        raise FormatError(
            f"{path}: only {int(ok.sum())} of {n} rows are usable RR intervals (0-{GAP_RR_MS:g} ms); "
            f"not an RR series (check the column and the unit, or set them with --columns and --unit)"
        )
    if removed.any():
        first = int(np.flatnonzero(removed)[0])
        add_note(meta, f"{int(removed.sum())} rows hold no usable interval (nan, blank or 0; first "
                       f"on line {line_nos[first]}): each is a removed beat, a gap in the series", warn=True)
    if long.any():
        first = int(np.flatnonzero(long)[0])
        add_note(meta, f"{int(long.sum())} intervals longer than {GAP_RR_MS:g} ms (first on line "
                       f"{line_nos[first]}: {rr_ms[first] / 1000:g} s) are not beat-to-beat intervals "
                       f"(e.g. the offset of the first beat, or a pause in recording): each is a gap of its "
                       f"own length", warn=True)
    meta["removed_rows"] = int(removed.sum())
    meta["long_intervals"] = int(long.sum())
    return ok, long


def stand_in_lengths(rr_ms: np.ndarray, ok: np.ndarray, long: np.ndarray, meta: dict,
                     path: object = "the file") -> np.ndarray:
    """Interval lengths (ms) with a stand-in for every removed one.

    A removed interval's length is unknown; it is given the median of up to five usable intervals
    on each side, and a note says that times after it carry that estimate.

    Raises
    ------
    FormatError
        When intervals were removed and no usable one is left to estimate them from.
    """
    good = np.flatnonzero(ok)
    lengths = np.where(ok | long, rr_ms, np.nan)
    removed = np.flatnonzero(~ok & ~long)
    if removed.size and not good.size:
        raise FormatError(f"{path}: no usable RR interval (every value is blank, nan or 0)")
    for k in removed:
        j = np.searchsorted(good, k)
        lengths[k] = float(np.median(rr_ms[good[max(0, j - _NEIGHBOURS):j + _NEIGHBOURS]]))
    if removed.size:
        add_note(meta, f"the length of {removed.size} removed interval(s) is unknown: each gap is given the median "
                       f"of the usable intervals around it, so beat times after it may be off by the error of "
                       f"that estimate (intervals are exact)")
    return lengths


def series_from_rr(path: Path, rr_ms: np.ndarray, line_nos: list[int], meta: dict) -> Series:
    """Beats and gaps from a plain column of intervals (no time column).

    Usable intervals are beats at their running sum. An interval longer than
    :data:`~calmtrace.signals.ecg.GAP_RR_MS` is a gap of its own length, so the beats after it
    keep their place. A removed beat (NaN, blank, 0) is a gap whose length is unknown:
    it is given the median of up to five usable intervals on each side, and the note says that the
    times after it carry that estimate.
    """
    ok, long = classify_rr(path, rr_ms, line_nos, meta)
    lengths = stand_in_lengths(rr_ms, ok, long, meta, path)
    end = np.cumsum(lengths) / 1000.0
    gaps: list[tuple[float, float, str]] = []
    for k, j in _runs(ok):
        onset = float(end[k - 1]) if k else 0.0
        gaps.append((onset, float(end[j]) - onset, "import"))
    return Series(ok, end[ok], rr_ms[ok], gaps, end)


def _runs(ok: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(first, last)`` row index of each run of consecutive rows that are not ``ok``, in order.

    Parameters
    ----------
    ok : array of bool, shape (n_rows,)
        Rows that are usable beats.

    Yields
    ------
    (int, int)
        First and last row of the run (both inclusive).

    Examples
    --------
    >>> list(_runs(np.array([True, False, False, True, False])))
    [(1, 2), (4, 4)]
    """
    bad = np.concatenate([[False], ~np.asarray(ok, dtype=bool), [False]])
    edges = np.flatnonzero(bad[1:] != bad[:-1])
    yield from zip(edges[0::2].tolist(), (edges[1::2] - 1).tolist())


def keep_gaps_for_rows(t_end_s: np.ndarray, rr_ms: np.ndarray, ok: np.ndarray,
                       runs_only: bool = False) -> list[tuple[float, float, str]]:
    """Gaps over runs of rows that are not beats, for rows whose end times are known.

    A run of removed rows ends where the next kept beat's interval begins. With ``runs_only``
    (every row has a length), a run spans from the start of its first row's interval to the end
    of its last row's.
    """
    if runs_only:
        out = []
        for k, j in _runs(ok):
            onset = float(t_end_s[k] - rr_ms[k] / 1000.0)
            out.append((onset, float(t_end_s[j]) - onset, "import"))
        return out
    gaps = []
    n = ok.size
    for k, j in _runs(ok):
        onset = float(t_end_s[k - 1]) if k else None
        end = float(t_end_s[j + 1] - rr_ms[j + 1] / 1000.0) if j + 1 < n else float(t_end_s[j])
        if onset is None:
            onset = float(t_end_s[k] - (rr_ms[k] / 1000.0 if np.isfinite(rr_ms[k]) and rr_ms[k] > 0 else 0.0))
        if end > onset + 1e-3:  # a run that loses no time (within the 1 ms of the files) is no gap
            gaps.append((onset, end - onset, "import"))
    return gaps
