"""The recording folder: one folder per session, plain CSV and JSON files.

Layout (``schema_version`` 1)::

    recording.json       schema_version, written_by, start (ISO 8601 with offset), complete, meta
    beats.csv            t_s,rr_ms,flag
    gaps.csv             onset_s,duration_s,reason
    events.csv           onset_s,duration_s,label,kind,rating
    hr.csv               t_s,hr_bpm,contact
    notifications.csv    t_s,source,payload_hex        (captures only: what the strap really sent)
    ecg.csv              t_s,ecg_uv                    (where ECG was streamed or imported)

Floats are written with Python's shortest round-trip representation, so a write followed by a read
gives back exactly the same numbers. :func:`save` writes into a temporary folder beside the target
and renames it into place, so a failed or interrupted save never leaves a half-written recording and
never damages one already there (it refuses to replace one without ``force=True``).

:class:`RecordingWriter` is the append-only writer of a live capture. It writes
``recording.json`` with ``"complete": false`` first, then appends line by line and flushes every
line to the operating system, so a process killed with SIGKILL at any moment leaves a folder that
:func:`load` reads back, missing at most the line that was being written. While ``complete`` is
false, the reader drops an unterminated last line of each file (the one the kill interrupted)
instead of misreading it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ._version import __version__
from .errors import FormatError, InputError, RecordingError, where
from .events import EVENT_KINDS, Event, Events, check_kind
from .recording import BEAT_FLAGS, GAP_REASONS, Recording

__all__ = ["SCHEMA_VERSION", "save", "load_folder", "is_recording_folder", "RecordingWriter"]

log = logging.getLogger(__name__)

#: Version of the folder layout written by this module.
SCHEMA_VERSION = 1

_FILES = {
    "beats": ("beats.csv", ["t_s", "rr_ms", "flag"]),
    "gaps": ("gaps.csv", ["onset_s", "duration_s", "reason"]),
    "events": ("events.csv", ["onset_s", "duration_s", "label", "kind", "rating"]),
    "hr": ("hr.csv", ["t_s", "hr_bpm", "contact"]),
    "notifications": ("notifications.csv", ["t_s", "source", "payload_hex"]),
    "ecg": ("ecg.csv", ["t_s", "ecg_uv"]),
}


# ------------------------------------------------------------------------------------------
# formatting helpers
# ------------------------------------------------------------------------------------------
def _fmt(x: Any) -> str:
    """Format one cell: floats in shortest round-trip form, NaN as empty."""
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return "" if math.isnan(x) else repr(x)
    if isinstance(x, (int, np.integer)):
        return repr(float(x))
    return str(x)


def _row(values: Sequence[Any]) -> str:
    cells = [_fmt(v) for v in values]
    buf = io.StringIO()
    # csv quotes a cell holding "\n" but not one holding a lone "\r", which readers split on
    quoting = csv.QUOTE_ALL if any("\r" in c for c in cells) else csv.QUOTE_MINIMAL
    csv.writer(buf, lineterminator="\n", quoting=quoting).writerow(cells)
    return buf.getvalue()


def _write_table(path: Path, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(columns) + "\n")
        for r in rows:
            fh.write(_row(r))


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"meta value of type {type(o).__name__} is not JSON-serialisable: {o!r}")


def _header_json(start: datetime, meta: dict, complete: bool) -> str:
    return json.dumps(
        {"schema_version": SCHEMA_VERSION, "written_by": f"calmtrace {__version__}",
         "start": start.isoformat(), "complete": complete, "meta": meta},
        indent=2, default=_json_default, allow_nan=False,
    ) + "\n"


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a replacement that did not fit leaves nothing behind
        raise


# ------------------------------------------------------------------------------------------
# save
# ------------------------------------------------------------------------------------------
def save(rec: Recording, folder: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a recording folder.

    Parameters
    ----------
    rec : Recording
        What to write.
    folder : path-like
        Target folder. Written into a temporary folder beside it and renamed into place.
    force : bool
        Replace an existing folder. Without it, an existing non-empty folder is an error and is
        left untouched.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    InputError
        When the folder exists (and ``force`` is false) or is a file.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder}: exists and is not a folder")
        if any(folder.iterdir()) and not force:
            raise InputError(f"{folder}: already exists and is not empty (use --force / force=True to replace it)")
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
    try:
        _write_folder(rec, tmp)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _write_folder(rec: Recording, folder: Path) -> None:
    (folder / "recording.json").write_text(_header_json(rec.start, rec.meta, True), encoding="utf-8")
    b = rec.beats
    _write_table(folder / "beats.csv", _FILES["beats"][1],
                 zip(b["t_s"].tolist(), b["rr_ms"].tolist(), b["flag"].tolist()))
    g = rec.gaps
    _write_table(folder / "gaps.csv", _FILES["gaps"][1],
                 zip(g["onset_s"].tolist(), g["duration_s"].tolist(), g["reason"].tolist()))
    e = rec.events.df
    _write_table(folder / "events.csv", _FILES["events"][1],
                 zip(e["onset_s"].tolist(), e["duration_s"].tolist(), e["label"].tolist(),
                     e["kind"].tolist(), e["rating"].tolist()))
    h = rec.hr
    _write_table(folder / "hr.csv", _FILES["hr"][1],
                 zip(h["t_s"].tolist(), h["hr_bpm"].tolist(), h["contact"].tolist()))
    if rec.ecg is not None:
        _write_table(folder / "ecg.csv", _FILES["ecg"][1],
                     zip(rec.ecg["t_s"].tolist(), rec.ecg["ecg_uv"].tolist()))


# ------------------------------------------------------------------------------------------
# load
# ------------------------------------------------------------------------------------------
def is_recording_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder with a ``recording.json``."""
    p = Path(path)
    return p.is_dir() and (p / "recording.json").is_file()


def _positive(name: str) -> Callable[[str], float]:
    def parse(s: str) -> float:
        v = float(s)
        if not (math.isfinite(v) and v > 0):
            raise ValueError
        return v
    parse.expect = f"{name} must be a positive number"  # type: ignore[attr-defined]
    return parse


def _finite(name: str, minimum: float | None = None) -> Callable[[str], float]:
    def parse(s: str) -> float:
        v = float(s)
        if not math.isfinite(v) or (minimum is not None and v < minimum):
            raise ValueError
        return v
    parse.expect = (f"{name} must be a finite number" + (f" >= {minimum:g}" if minimum is not None else ""))  # type: ignore[attr-defined]
    return parse


def _optional_rating(s: str) -> float:
    if s.strip() == "":
        return math.nan
    v = float(s)
    if not 0 <= v <= 10:
        raise ValueError
    return v


_optional_rating.expect = "rating must be empty or a number from 0 to 10"  # type: ignore[attr-defined]


def _choice(name: str, allowed: Sequence[str]) -> Callable[[str], str]:
    def parse(s: str) -> str:
        if s not in allowed:
            raise ValueError
        return s
    parse.expect = f"{name} must be one of {', '.join(allowed)}"  # type: ignore[attr-defined]
    return parse


def _text(s: str) -> str:
    return s


_text.expect = "text"  # type: ignore[attr-defined]

_PARSERS: dict[str, dict[str, Callable[[str], Any]]] = {
    "beats": {"t_s": _finite("t_s"), "rr_ms": _positive("rr_ms"), "flag": _choice("flag", BEAT_FLAGS)},
    "gaps": {"onset_s": _finite("onset_s"), "duration_s": _finite("duration_s", 0.0),
             "reason": _choice("reason", GAP_REASONS)},
    "events": {"onset_s": _finite("onset_s"), "duration_s": _finite("duration_s", 0.0), "label": _text,
               "kind": _choice("kind", EVENT_KINDS), "rating": _optional_rating},
    "hr": {"t_s": _finite("t_s"), "hr_bpm": _finite("hr_bpm", 0.0), "contact": _text},
    "ecg": {"t_s": _finite("t_s"), "ecg_uv": _finite("ecg_uv")},
    "notifications": {"t_s": _finite("t_s"), "source": _text, "payload_hex": _text},
}


def _read_text(path: Path, complete: bool) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # an interrupted multi-byte character can only be at the very end of a capture
        if not complete and exc.start >= len(raw) - 4:
            text = raw[: exc.start].decode("utf-8")
        else:
            raise FormatError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if not complete and text and not text.endswith("\n"):
        cut = text.rfind("\n") + 1
        if cut < len(text):
            log.warning("%s: dropping an unterminated last line (capture was interrupted)", path)
        text = text[:cut]
    return text


def _read_table(path: Path, kind: str, complete: bool) -> pd.DataFrame:
    columns = _FILES[kind][1]
    parsers = _PARSERS[kind]
    text = _read_text(path, complete)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        if complete:
            raise FormatError(f"{path}: empty file, expected a header line {','.join(columns)}") from None
        return pd.DataFrame({c: [] for c in columns})
    except csv.Error as exc:
        raise FormatError(f"{where(path, 1)}: not CSV ({exc})") from None
    if header != columns:
        raise FormatError(f"{where(path, 1)}: expected header {','.join(columns)}, got {','.join(header)[:80]!r}")
    data: dict[str, list[Any]] = {c: [] for c in columns}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FormatError(f"{where(path, reader.line_num)}: not CSV ({exc})") from None
        lineno = reader.line_num
        if not row:
            continue
        if len(row) != len(columns):
            raise FormatError(f"{where(path, lineno)}: expected {len(columns)} fields ({','.join(columns)}), got {len(row)}")
        for c, cell in zip(columns, row):
            try:
                data[c].append(parsers[c](cell))
            except ValueError:
                raise FormatError(f"{where(path, lineno)}: {parsers[c].expect}, got {cell!r}") from None  # type: ignore[attr-defined]
    return pd.DataFrame(data)


def _read_header(folder: Path) -> tuple[datetime, dict, bool]:
    p = folder / "recording.json"
    try:
        head = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(f"{folder}: not a recording folder (no recording.json)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(head, dict):
        raise FormatError(f"{p}: expected a JSON object, got {type(head).__name__}")
    version = head.get("schema_version")
    if not isinstance(version, int):
        raise FormatError(f"{p}: schema_version must be an integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise FormatError(
            f"{p}: schema_version {version} is newer than this calmtrace reads ({SCHEMA_VERSION}); upgrade calmtrace"
        )
    try:
        start = datetime.fromisoformat(str(head.get("start")))
    except ValueError:
        raise FormatError(f"{p}: start must be an ISO 8601 datetime with offset, got {head.get('start')!r}") from None
    if start.tzinfo is None:
        raise FormatError(f"{p}: start must carry a UTC offset (naive datetimes are not guessed), got {head.get('start')!r}")
    meta = head.get("meta") or {}
    if not isinstance(meta, dict):
        raise FormatError(f"{p}: meta must be a JSON object")
    return start.astimezone(timezone.utc), meta, bool(head.get("complete", True))


def load_folder(folder: str | os.PathLike) -> Recording:
    """Read a recording folder written by :func:`save` or :class:`RecordingWriter`.

    Parameters
    ----------
    folder : path-like
        The recording folder.

    Returns
    -------
    Recording

    Raises
    ------
    FormatError
        Naming the file, the line and the problem, when anything does not parse.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such recording folder")
    start, meta, complete = _read_header(folder)
    tables: dict[str, pd.DataFrame | None] = {}
    for kind, (name, _cols) in _FILES.items():
        p = folder / name
        tables[kind] = _read_table(p, kind, complete) if p.is_file() else None
    if tables["beats"] is None:
        raise FormatError(f"{folder}: missing beats.csv")
    ev = tables["events"]
    events = Events(ev) if ev is not None and len(ev) else Events()
    beats = tables["beats"]
    if not complete and len(beats) > 1:
        # a capture writes beats in time order; keep the strictly increasing prefix
        t = beats["t_s"].to_numpy()
        bad = np.flatnonzero(np.diff(t) <= 0)
        if bad.size:
            raise FormatError(f"{where(folder / 'beats.csv', int(bad[0]) + 3)}: t_s must be strictly increasing")
    try:
        rec = Recording(
            start=start,
            beats=beats,
            gaps=tables["gaps"],
            hr=tables["hr"],
            events=events,
            meta=meta,
            ecg=tables["ecg"],
        )
    except RecordingError as exc:
        raise RecordingError(f"{folder}: {exc}") from None
    if not complete:
        rec.meta["complete"] = False
    return rec


def read_notifications(folder: str | os.PathLike) -> pd.DataFrame:
    """The raw notifications of a capture (``t_s``, ``source``, ``payload_hex``), empty if none."""
    folder = Path(folder)
    _start, _meta, complete = _read_header(folder)
    p = folder / "notifications.csv"
    if not p.is_file():
        return pd.DataFrame({c: [] for c in _FILES["notifications"][1]})
    return _read_table(p, "notifications", complete)


# ------------------------------------------------------------------------------------------
# the append-only writer
# ------------------------------------------------------------------------------------------
class RecordingWriter:
    """Append-only writer of a recording folder, for live capture.

    Every ``add_*`` call writes one line (or, for ECG, one block of lines) and flushes it to the
    operating system before it returns, so nothing handed to the writer is lost when the process
    is killed. :meth:`close` marks the recording complete.

    Parameters
    ----------
    folder : path-like
        The folder to create. It must not exist or be empty unless ``force`` is true.
    start : datetime
        Timezone-aware datetime of ``t_s = 0``.
    meta : dict, optional
        Initial metadata; :meth:`update_meta` adds more later (battery, firmware).
    force : bool
        Replace an existing recording folder.
    ecg : bool
        Create ``ecg.csv``.

    Examples
    --------
    >>> with RecordingWriter("rec", start) as w:          # doctest: +SKIP
    ...     w.add_beat(0.81, 810.0)
    """

    def __init__(self, folder: str | os.PathLike, start: datetime, meta: dict | None = None, *,
                 force: bool = False, ecg: bool = False) -> None:
        from .recording import _as_utc

        self.folder = Path(folder)
        self.start = _as_utc(start)
        self.meta = dict(meta or {})
        if self.folder.exists():
            if not self.folder.is_dir():
                raise InputError(f"{self.folder}: exists and is not a folder")
            if any(self.folder.iterdir()):
                if not force:
                    raise InputError(f"{self.folder}: already exists and is not empty (use --force to replace it)")
                shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._last_beat_t = -math.inf
        self._files: dict[str, Any] = {}
        kinds = ["beats", "gaps", "events", "hr", "notifications"] + (["ecg"] if ecg else [])
        for kind in kinds:
            name, cols = _FILES[kind]
            fh = open(self.folder / name, "w", encoding="utf-8", newline="", buffering=1)
            fh.write(",".join(cols) + "\n")
            fh.flush()
            self._files[kind] = fh
        _atomic_write_text(self.folder / "recording.json", _header_json(self.start, self.meta, False))
        self.closed = False

    def _append(self, kind: str, values: Sequence[Any]) -> None:
        if self.closed:
            raise InputError(f"{self.folder}: writer is closed")
        fh = self._files[kind]
        fh.write(_row(values))
        fh.flush()

    def add_beat(self, t_s: float, rr_ms: float, flag: str = "ok") -> None:
        """Append one beat; beats must come in time order with positive RR."""
        if not (math.isfinite(rr_ms) and rr_ms > 0):
            raise RecordingError(f"beat at {t_s!r} s: rr_ms must be a positive number, got {rr_ms!r}")
        if not t_s > self._last_beat_t:
            raise RecordingError(f"beat at {t_s!r} s: t_s must be after the previous beat ({self._last_beat_t!r} s)")
        self._last_beat_t = t_s
        self._append("beats", (float(t_s), float(rr_ms), flag))

    def add_gap(self, onset_s: float, duration_s: float, reason: str) -> None:
        """Append a gap (``reason`` one of :data:`calmtrace.recording.GAP_REASONS`)."""
        if reason not in GAP_REASONS:
            raise RecordingError(f"gap reason must be one of {', '.join(GAP_REASONS)}, got {reason!r}")
        self._append("gaps", (float(onset_s), max(0.0, float(duration_s)), reason))

    def add_hr(self, t_s: float, hr_bpm: float, contact: str = "unsupported") -> None:
        """Append one device heart-rate sample."""
        self._append("hr", (float(t_s), float(hr_bpm), contact))

    def add_event(self, event: Event) -> None:
        """Append one event (a mark made during capture)."""
        check_kind(event.kind)
        self._append("events", (event.onset_s, event.duration_s, event.label, event.kind, event.rating))

    def add_notification(self, t_s: float, payload: bytes, source: str = "hrs") -> None:
        """Append one raw notification as it arrived (arrival time in s since start)."""
        self._append("notifications", (float(t_s), source, bytes(payload).hex()))

    def add_ecg(self, t_s: Sequence[float], ecg_uv: Sequence[float]) -> None:
        """Append a block of ECG samples, flushed as one write."""
        if "ecg" not in self._files:
            name, cols = _FILES["ecg"]
            fh = open(self.folder / name, "w", encoding="utf-8", newline="", buffering=1)
            fh.write(",".join(cols) + "\n")
            self._files["ecg"] = fh
        fh = self._files["ecg"]
        fh.write("".join(_row((float(a), float(b))) for a, b in zip(t_s, ecg_uv)))
        fh.flush()

    def update_meta(self, **items: Any) -> None:
        """Add or change metadata; ``recording.json`` is replaced atomically (still marked
        incomplete; also after :meth:`abort`, to note why the capture stopped)."""
        self.meta.update(items)
        _atomic_write_text(self.folder / "recording.json", _header_json(self.start, self.meta, False))

    def _close_files(self, sync: bool) -> OSError | None:
        """Close every file even when one fails; return the first error."""
        first: OSError | None = None
        for fh in self._files.values():
            try:
                if sync:
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                first = first or exc
            try:
                fh.close()
            except OSError as exc:  # closing retries a write that failed (disk full)
                first = first or exc
        self.closed = True
        return first

    def close(self) -> None:
        """Flush, fsync and mark the recording complete.

        Raises
        ------
        OSError
            When a file cannot be flushed (disk full); every file is closed all the same and the
            recording stays marked incomplete, so that its reader drops a line cut short.
        """
        if self.closed:
            return
        error = self._close_files(sync=True)
        if error is not None:
            raise error
        _atomic_write_text(self.folder / "recording.json", _header_json(self.start, self.meta, True))

    def abort(self) -> None:
        """Close every file after a failed write, ignoring further errors, and leave the recording
        marked incomplete (a file may end in a line cut short, which the reader then drops)."""
        if not self.closed:
            self._close_files(sync=False)

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
