"""The recording folder: one folder per session, plain CSV and JSON files.

Layout (``schema_version`` 1)::

    recording.json       schema_version, written_by, start (ISO 8601 with offset), complete, meta
    beats.csv            t_s,rr_ms,flag
    gaps.csv             onset_s,duration_s,reason
    events.csv           onset_s,duration_s,label,kind,rating
    hr.csv               t_s,hr_bpm,contact
    notifications.csv    t_s,source,payload_hex        (captures only: what the strap really sent)
    ecg.csv              t_s,ecg_uv                    (where ECG was streamed or imported)
    acc.csv              t_s,x_mg,y_mg,z_mg            (where acceleration was streamed; read beside
                                                        the recording by formats/acc_csv.read_acc)

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

A folder has one writer at a time. :class:`RecordingWriter` and :func:`save` hold an exclusive
``fcntl.flock`` on ``.calmtrace.lock`` inside the folder while they write it; the operating system
drops the lock when the process ends, however it ends, so a killed capture never leaves a folder
locked. A second writer is refused with one line. ``force`` replaces only a calmtrace recording
folder (a ``recording.json`` and the recording's own files); a folder holding anything else is
refused, and no file a recording does not own is ever deleted.

An event mark opened during a capture (a stressor started, not yet ended) is written at once, with
an empty ``duration_s``; when it is closed a second row with its duration follows. A reader that
finds an open row never closed (the capture was killed) reads it as an event censored at the
recording's end, listed in ``meta["open_events"]``. A capture's events that reach past its last
beat (a note marked just before quitting, a protocol step cut by ``--duration``) are cut at the
recording's end on reading and listed in ``meta["events_cut_at_end"]``.
"""

from __future__ import annotations

import csv
import errno
import fcntl
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

__all__ = ["SCHEMA_VERSION", "save", "load_folder", "is_recording_folder", "RecordingWriter", "FolderLock",
           "LOCK_NAME", "claim", "spreadsheet_safe", "write_spreadsheet_csv", "ACC_FILE", "acc_file_stats"]

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

#: A capture's acceleration file and its columns (s since the recording's start; mg per axis). It is
#: not part of :class:`~calmtrace.recording.Recording`: ``calmtrace day`` reads it beside the beats.
ACC_FILE = ("acc.csv", ["t_s", "x_mg", "y_mg", "z_mg"])

#: The lock file of a recording folder (held with ``fcntl.flock`` by its one writer).
LOCK_NAME = ".calmtrace.lock"
#: Every name a recording folder may hold; ``force`` replaces only folders holding nothing else.
_OWN_NAMES = frozenset({"recording.json", "recording.json.tmp", "acc.csv", LOCK_NAME}
                       | {name for name, _cols in _FILES.values()})


#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` for a CSV meant to be opened in a spreadsheet.

    A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'``, so that no spreadsheet runs it as a formula (OWASP, "CSV Injection"); a
    spreadsheet shows the cell as the text it was. Numbers are left alone. This is for analysis
    outputs (``recovery.csv``, ``phases.csv``, ``cohort.csv``, ``failures.csv``, ``skipped.csv``); the exact
    text stays in the recording folder, ``analysis.json`` and ``cohort.parquet``.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.

    Returns
    -------
    pandas.DataFrame
        A copy; text columns with a prefixed cell become object columns.
    """
    out = df.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype.kind in "biufcmM":
            continue
        arr = values.to_numpy(dtype=object, na_value=None)
        mask = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_TRIGGERS) for v in arr), bool, len(arr))
        if mask.any():
            fixed = values.to_numpy(dtype=object).copy()
            fixed[mask] = ["'" + v for v in arr[mask]]
            out[col] = pd.Series(fixed, index=out.index, dtype=object)
    return out


def write_spreadsheet_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as a CSV meant for spreadsheets: :func:`spreadsheet_safe` cells, and text
    quoted when a cell holds a carriage return (which CSV readers split lines on otherwise)."""
    safe = spreadsheet_safe(df)
    has_cr = any(safe[c].map(lambda v: isinstance(v, str) and "\r" in v).any()
                 for c in safe.columns if safe[c].dtype.kind not in "biufcmM")
    safe.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL)


# ------------------------------------------------------------------------------------------
# one writer per folder
# ------------------------------------------------------------------------------------------
class FolderLock:
    """An exclusive, non-blocking ``fcntl.flock`` on a recording folder's ``.calmtrace.lock``.

    The lock dies with its process (the kernel releases it when the file is closed, also on
    SIGKILL). :meth:`release` removes the lock file while still holding the lock; a process that
    opened the file before then notices, because the path no longer names the file it locked, and
    tries again with a fresh file.

    Parameters
    ----------
    folder : path-like
        An existing folder.

    Raises
    ------
    InputError
        When another process holds the lock (naming its process id), or the lock file cannot be
        created.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        for _attempt in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(f"{self.folder}: cannot create its lock file ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_pid(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise InputError(
                        f"{self.folder}: another calmtrace process{f' (pid {holder})' if holder else ''} is writing "
                        "this recording folder; wait for it to finish or choose another folder") from None
                raise InputError(f"{self.folder}: cannot lock it ({exc.strerror or exc})") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                except OSError:
                    pass  # the pid is only for the message of a refused writer
                return
            os.close(fd)  # the file was removed by its last holder: lock the new one
        raise InputError(f"{self.folder}: its lock file keeps changing; is another process writing it?")

    @property
    def held(self) -> bool:
        """True until :meth:`release`."""
        return self._fd is not None

    def release(self, *, remove: bool = True) -> None:
        """Remove the lock file (unless ``remove`` is false) and release the lock."""
        if self._fd is None:
            return
        if remove:
            try:
                if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                    os.unlink(self.path)
            except OSError:
                pass
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def claim(folder: str | os.PathLike, *, force: bool = False) -> tuple[FolderLock, bool]:
    """Take a folder for writing: check it may be written, create it, and lock it.

    Parameters
    ----------
    folder : path-like
        The recording folder to be.
    force : bool
        Accept an existing recording folder (to be replaced by the writer).

    Returns
    -------
    (FolderLock, bool)
        The lock, and whether the folder was created here (so that a writer that never starts can
        remove it again).

    Raises
    ------
    InputError
        When ``folder`` is a file, is not empty (without ``force``), is not a recording folder (with
        ``force``), or another process holds its lock. Nothing is created then.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder}: exists and is not a folder")
        if _occupied(folder):
            if not force:
                raise InputError(f"{folder}: already exists and is not empty (use --force to replace it)")
            _check_replaceable(folder)
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return FolderLock(folder), made
    except BaseException:
        if made:
            _rmdir_quietly(folder)
        raise


def _rmdir_quietly(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _foreign_entries(folder: Path) -> list[str]:
    """Names in ``folder`` that are not a recording's own files."""
    return sorted(e.name for e in folder.iterdir() if e.name not in _OWN_NAMES or not e.is_file())


def _occupied(folder: Path) -> bool:
    """True when ``folder`` holds anything besides its lock file."""
    return any(e.name != LOCK_NAME for e in folder.iterdir())


def _check_replaceable(folder: Path) -> None:
    """Refuse to replace anything but a calmtrace recording folder (``force`` never deletes other files)."""
    if not (folder / "recording.json").is_file():
        raise InputError(f"{folder}: not a calmtrace recording folder (no recording.json); --force replaces only "
                         "a recording folder, so choose another folder")
    foreign = _foreign_entries(folder)
    if foreign:
        shown = ", ".join(repr(n[:60]) for n in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(f"{folder}: holds {shown}, not part of a recording; --force replaces only a recording "
                         "folder's own files, so move them or choose another folder")


def _remove_own_files(folder: Path) -> None:
    """Delete a recording's own files in ``folder`` (never anything else; never the lock file)."""
    for name in _OWN_NAMES - {LOCK_NAME}:
        p = folder / name
        if p.is_symlink() or p.is_file():
            p.unlink()  # a link itself, never what it points to


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
        Replace an existing recording folder. Without it, an existing non-empty folder is an
        error and is left untouched; with it, only a folder holding a ``recording.json`` and a
        recording's own files is replaced (anything else is refused, never deleted).

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    InputError
        When the folder exists (and ``force`` is false), is a file, is not a recording folder, or
        another process is writing it.
    """
    folder = Path(folder)
    lock: FolderLock | None = None
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder}: exists and is not a folder")
        if _occupied(folder):
            if not force:
                raise InputError(f"{folder}: already exists and is not empty (use --force / force=True to replace it)")
            _check_replaceable(folder)
        lock = FolderLock(folder)
    try:
        parent = folder.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent))
        try:
            _write_folder(rec, tmp)
            if lock is not None:
                if _occupied(folder):
                    _check_replaceable(folder)  # again, under the lock
                old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=parent))
                os.rmdir(old)
                os.replace(folder, old)
                os.replace(tmp, folder)
                lock.release(remove=False)
                _remove_own_files(old)
                (old / LOCK_NAME).unlink(missing_ok=True)
                try:
                    os.rmdir(old)
                except OSError:  # something appeared there meanwhile: keep it, never delete it
                    log.warning("%s: kept %s, which held files that are not part of a recording", folder, old)
            else:
                try:
                    os.replace(tmp, folder)
                except OSError as exc:
                    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                        raise InputError(f"{folder}: another process created it meanwhile; it was left untouched") from None
                    raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        if lock is not None:
            lock.release()
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


def _open_duration(s: str) -> float:
    """An event's duration: a finite number >= 0, or empty for a mark still open."""
    if s == "":
        return math.nan
    v = float(s)
    if not math.isfinite(v) or v < 0:
        raise ValueError
    return v


_open_duration.expect = "duration_s must be a finite number >= 0 (or empty for an open event)"  # type: ignore[attr-defined]

_PARSERS: dict[str, dict[str, Callable[[str], Any]]] = {
    "beats": {"t_s": _finite("t_s"), "rr_ms": _positive("rr_ms"), "flag": _choice("flag", BEAT_FLAGS)},
    "gaps": {"onset_s": _finite("onset_s"), "duration_s": _finite("duration_s", 0.0),
             "reason": _choice("reason", GAP_REASONS)},
    "events": {"onset_s": _finite("onset_s"), "duration_s": _open_duration, "label": _text,
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
        raise FormatError(f"{p}: not valid JSON ({str(exc)[:120]})") from None
    except RecursionError:
        raise FormatError(f"{p}: nested too deeply to be a recording header") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
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
    open_rows = None
    if ev is not None and len(ev):
        ev, open_rows = _split_open_events(ev)
    events = Events(ev) if ev is not None and len(ev) else Events()
    beats = tables["beats"]
    if not complete and len(beats) > 1:
        # a capture writes beats in time order; keep the strictly increasing prefix
        t = beats["t_s"].to_numpy()
        bad = np.flatnonzero(np.diff(t) <= 0)
        if bad.size:
            raise FormatError(f"{where(folder / 'beats.csv', int(bad[0]) + 3)}: t_s must be strictly increasing")
    captured = "capture_target" in meta
    try:
        rec = Recording(
            start=start,
            beats=beats,
            gaps=tables["gaps"],
            hr=tables["hr"],
            events=Events() if captured else events,
            meta=meta,
            ecg=tables["ecg"],
        )
        if captured or (open_rows is not None and len(open_rows)):
            rec = _events_within(rec, events, open_rows, cut=captured)
    except RecordingError as exc:
        raise RecordingError(f"{folder}: {exc}") from None
    if not complete:
        rec.meta["complete"] = False
    return rec


def _split_open_events(ev: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Closed event rows, and the open ones (empty duration) that no later row closed."""
    is_open = ev["duration_s"].isna().to_numpy()
    closed = ev[~is_open].reset_index(drop=True)
    opened = ev[is_open].reset_index(drop=True)
    if len(opened) and len(closed):
        done = set(zip(closed["onset_s"].tolist(), closed["kind"].tolist()))
        keep = [(o, k) not in done for o, k in zip(opened["onset_s"].tolist(), opened["kind"].tolist())]
        opened = opened[np.asarray(keep, bool)].reset_index(drop=True)
    return closed, opened


def _events_within(rec: Recording, events: Events, open_rows: pd.DataFrame | None, *, cut: bool) -> Recording:
    """Add a capture's events to ``rec``: open ones censored at its end, and (``cut``) the ones
    reaching past its end cut there; both noted in ``meta``."""
    end = rec.duration_s
    out: list[Event] = []
    cut_notes: list[str] = []
    for e in events:
        if cut and e.offset_s > end:
            onset = min(e.onset_s, end)
            out.append(Event(onset, end - onset, e.label, e.kind, e.rating))
            cut_notes.append(f"{e.kind} {e.label[:40]!r} at {e.onset_s:g}-{e.offset_s:g} s cut at {end:g} s")
        else:
            out.append(e)
    open_notes = []
    for r in (open_rows.itertuples(index=False) if open_rows is not None else ()):
        onset = min(float(r.onset_s), end)
        out.append(Event(onset, end - onset, str(r.label), str(r.kind), float(r.rating)))
        open_notes.append({"onset_s": float(r.onset_s), "kind": str(r.kind), "label": str(r.label),
                           "censored_at_s": end})
    meta = dict(rec.meta)
    if cut_notes:
        meta["events_cut_at_end"] = cut_notes
        log.info("%d capture events reach past the last beat; cut at %g s", len(cut_notes), end)
    if open_notes:
        meta["open_events"] = open_notes
        log.info("%d events were still open when the capture ended; censored at %g s", len(open_notes), end)
    return rec.replace(events=Events(out), meta=meta)


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
        Replace an existing recording folder (only a recording folder: see :func:`claim`).
    ecg : bool
        Create ``ecg.csv``.
    lock : FolderLock, optional
        The folder's lock, from :func:`claim`, when the caller claimed it already; the writer
        releases it when it closes (or fails to start).

    Raises
    ------
    InputError
        When the folder is taken (not empty without ``force``, not a recording folder, or being
        written by another process). A writer that cannot start (disk full) leaves nothing of its
        own behind.

    Examples
    --------
    >>> with RecordingWriter("rec", start) as w:          # doctest: +SKIP
    ...     w.add_beat(0.81, 810.0)
    """

    def __init__(self, folder: str | os.PathLike, start: datetime, meta: dict | None = None, *,
                 force: bool = False, ecg: bool = False, lock: FolderLock | None = None) -> None:
        from .recording import _as_utc

        self.folder = Path(folder)
        self.start = _as_utc(start)
        self.meta = dict(meta or {})
        self.closed = False
        self._files: dict[str, Any] = {}
        if lock is None:
            lock, made = claim(self.folder, force=force)
        else:
            made = False
        self._lock = lock
        try:
            if _occupied(self.folder):
                if not force:
                    raise InputError(f"{self.folder}: already exists and is not empty (use --force to replace it)")
                _check_replaceable(self.folder)
                _remove_own_files(self.folder)
            self._last_beat_t = -math.inf
            kinds = ["beats", "gaps", "events", "hr", "notifications"] + (["ecg"] if ecg else [])
            for kind in kinds:
                name, cols = _FILES[kind]
                fh = open(self.folder / name, "w", encoding="utf-8", newline="", buffering=1)
                self._files[kind] = fh
                fh.write(",".join(cols) + "\n")
                fh.flush()
            _atomic_write_text(self.folder / "recording.json", _header_json(self.start, self.meta, False))
        except BaseException:
            # a writer that could not start (disk full, refused) leaves nothing of its own behind
            for fh in self._files.values():
                try:
                    fh.close()
                except OSError:
                    pass
            for name in list(_OWN_NAMES - {LOCK_NAME}) if self._files else []:
                (self.folder / name).unlink(missing_ok=True)
            self._lock.release()
            if made:
                _rmdir_quietly(self.folder)
            self.closed = True
            raise

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

    def add_open_event(self, onset_s: float, label: str, kind: str) -> None:
        """Append an event whose end is not known yet (a mark pressed once), with an empty
        duration; :meth:`add_event` with the same onset and kind closes it. A reader that finds
        it never closed censors it at the recording's end."""
        check_kind(kind)
        self._append("events", (float(onset_s), "", label, kind, math.nan))

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

    def add_acc(self, t_s: Sequence[float], samples_mg: Sequence[Sequence[int]]) -> None:
        """Append a block of acceleration samples (one frame), flushed as one write.

        ``acc.csv`` (:data:`ACC_FILE`) is created with the first block, its header and first rows
        in one write, so that a capture whose strap sends no acceleration leaves no empty file and a
        killed one never leaves a header without rows.

        Parameters
        ----------
        t_s : sequence of float, shape (n,)
            Sample times, s since the recording's start.
        samples_mg : sequence of (int, int, int), shape (n, 3)
            Acceleration per axis, mg.
        """
        if self.closed:
            raise InputError(f"{self.folder}: writer is closed")
        text = "".join(f"{_fmt(float(t))},{int(x)},{int(y)},{int(z)}\n" for t, (x, y, z) in zip(t_s, samples_mg))
        if "acc" not in self._files:
            name, cols = ACC_FILE
            self._files["acc"] = open(self.folder / name, "w", encoding="utf-8", newline="", buffering=1)
            text = ",".join(cols) + "\n" + text
        fh = self._files["acc"]
        fh.write(text)
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
        try:
            error = self._close_files(sync=True)
            if error is not None:
                raise error
            _atomic_write_text(self.folder / "recording.json", _header_json(self.start, self.meta, True))
        finally:
            self._lock.release()

    def abort(self) -> None:
        """Close every file after a failed write, ignoring further errors, and leave the recording
        marked incomplete (a file may end in a line cut short, which the reader then drops)."""
        if not self.closed:
            self._close_files(sync=False)

    def release(self) -> None:
        """Let another writer have the folder (after :meth:`close`, or :meth:`abort` and the last
        :meth:`update_meta`). The lock also goes when the process ends."""
        self._lock.release()

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def acc_file_stats(folder: str | os.PathLike) -> dict[str, float] | None:
    """Sample count and time span of a recording folder's ``acc.csv``, without reading it all.

    Returns
    -------
    dict or None
        ``n_samples``, ``first_t_s``, ``last_t_s`` (s since the recording's start; NaN when
        unreadable), or None when the folder has no ``acc.csv``. A last line cut short by an
        interrupted capture is not counted.
    """
    path = Path(folder) / ACC_FILE[0]
    if not path.is_file():
        return None
    n_lines, first, last_complete, tail = 0, b"", b"", b""
    with open(path, "rb") as fh:
        fh.readline()                                   # the header
        first = fh.readline()
        if first.endswith(b"\n"):
            n_lines = 1
            while chunk := fh.read(1 << 20):
                n_lines += chunk.count(b"\n")
                tail = (tail + chunk)[-4096:]
    if first.endswith(b"\n"):
        body = (first + tail) if n_lines == 1 else tail
        lines = body.split(b"\n")
        last_complete = lines[-2] if len(lines) >= 2 else first

    def t_of(line: bytes) -> float:
        try:
            return float(line.split(b",", 1)[0])
        except ValueError:
            return math.nan

    if not n_lines:
        return {"n_samples": 0, "first_t_s": math.nan, "last_t_s": math.nan}
    return {"n_samples": n_lines, "first_t_s": t_of(first), "last_t_s": t_of(last_complete)}
