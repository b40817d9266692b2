"""Importers for other tools' files, one module per format, and format sniffing.

Each format module defines a :class:`Format` named ``FORMAT`` and registers it in
:data:`REGISTRY` below. A format has

- ``name``: what ``--format`` takes (``polar-sensor-logger``, ``hrm``, ``rr-text`` ...);
- ``sniff(path, head)``: a score from 0 (not this format) to 100 (certainly this one), from the
  file's name and its first 64 KiB (``head``, bytes); it must never raise;
- ``read(path)``: a :class:`~calmtrace.recording.Recording`, raising only
  :class:`~calmtrace.errors.CalmtraceError` subclasses whose message names the file, the line and
  the problem.

:func:`read` picks the highest-scoring format when none is given, and names every format it tried
when none fits.
"""

from __future__ import annotations

import importlib
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..errors import CalmtraceError, FormatError, InputError
from ..recording import Recording

__all__ = ["Format", "REGISTRY", "format_names", "detect", "read", "HEAD_BYTES", "foreign_errors",
           "ImportOptions"]

log = logging.getLogger(__name__)

#: How many bytes of a file sniffers see.
HEAD_BYTES = 65536


@dataclass(frozen=True)
class Format:
    """An importable file format.

    Parameters
    ----------
    name : str
        The ``--format`` name.
    description : str
        One line for ``--help`` and error messages.
    sniff : callable
        ``sniff(path: Path, head: bytes) -> int``, 0-100.
    read : callable
        ``read(path: Path) -> Recording``.
    """

    name: str
    description: str
    sniff: Callable[[Path, bytes], int]
    read: Callable[[Path], Recording]
    #: Overrides of :class:`~calmtrace.formats._evidence.ImportOptions` this format uses besides
    #: ``start`` and ``timezone`` (which every format takes).
    options: tuple[str, ...] = ()


@contextmanager
def foreign_errors(path: Path, what: str,
                   errors: type[BaseException] | tuple[type[BaseException], ...] = Exception) -> Iterator[None]:
    """Translate errors at an importer's boundary into one-line :class:`FormatError` s.

    A :class:`FormatError` passes through; another :class:`CalmtraceError` gets the file's name in
    front; ``errors`` (what a third-party reader raises on a broken file) become
    ``"<path>: not a readable <what> (<type>: <message>)"``.

    Examples
    --------
    >>> with foreign_errors(path, "EDF/BDF file"):      # doctest: +SKIP
    ...     return _read(path)
    """
    try:
        yield
    except FormatError:
        raise
    except CalmtraceError as exc:
        raise FormatError(f"{path}: {exc}") from exc
    except errors as exc:
        log.debug("reading %s failed", path, exc_info=True)
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise FormatError(f"{path}: not a readable {what} ({message})") from exc


# Modules that define FORMAT, in the order they are tried on ties.
_MODULES = [
    "polar_sensor_logger",
    "hrm",
    "hrv_logger",
    "beat_table",
    "fit",
    "polar_ecg",
    "wfdb_record",
    "edf",
    "ecg_csv",
    "rr_text",
]


def _load_registry() -> dict[str, Format]:
    reg: dict[str, Format] = {}
    for mod in _MODULES:
        try:
            m = importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(mod):
                continue  # that importer is not part of this build
            raise
        fmt = getattr(m, "FORMAT")
        reg[fmt.name] = fmt
    return reg


#: name -> Format, for every importer present.
REGISTRY: dict[str, Format] = _load_registry()


def format_names() -> list[str]:
    """Names accepted by ``--format``."""
    return list(REGISTRY)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except IsADirectoryError:
        return b""
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc


def detect(path: str | os.PathLike) -> Format:
    """The format of a file, sniffed from its name and content.

    Raises
    ------
    FormatError
        When no format fits, naming the formats tried.
    """
    path = Path(path)
    if not path.exists():
        if Path(str(path) + ".hea").is_file() and "wfdb" in REGISTRY:
            return REGISTRY["wfdb"]  # a WFDB record named without its extension
        raise InputError(f"{path}: no such file")
    head = _head(path)
    if path.is_file() and path.stat().st_size == 0:
        raise FormatError(f"{path}: empty file")
    scores = []
    for fmt in REGISTRY.values():
        try:
            s = int(fmt.sniff(path, head))
        except Exception:  # a sniffer must not decide anything by crashing
            log.debug("sniffer %s failed on %s", fmt.name, path, exc_info=True)
            s = 0
        scores.append((s, fmt))
    best = max(scores, key=lambda x: x[0]) if scores else (0, None)
    if best[0] <= 0 or best[1] is None:
        raise FormatError(
            f"{path}: not a recognised format (tried {', '.join(REGISTRY)}); "
            f"name one with --format"
        )
    return best[1]


def read(path: str | os.PathLike, format: str | None = None, options: "ImportOptions | None" = None) -> Recording:
    """Import a file from another tool.

    Parameters
    ----------
    path : path-like
        The file (or, for WFDB, the ``.hea`` file or the record path without extension).
    format : str, optional
        One of :func:`format_names`; sniffed when omitted.
    options : ImportOptions, optional
        Overrides of what the importer would infer (unit, columns, sampling rate, start, time
        zone); each one used is written into ``meta["import_notes"]``.

    Returns
    -------
    Recording
        With ``meta["source_file"]`` and ``meta["source_format"]`` set.

    Raises
    ------
    InputError
        An override that the format does not use (e.g. ``--unit`` for a FIT file).
    """
    path = Path(path)
    if format is None:
        fmt = detect(path)
    else:
        if format not in REGISTRY:
            raise InputError(f"unknown format {format!r}; choose one of {', '.join(REGISTRY)}")
        fmt = REGISTRY[format]
        if not path.exists() and not fmt.name == "wfdb":
            raise InputError(f"{path}: no such file")
    opts = options or ImportOptions()
    for name, flag in (("unit", "--unit"), ("columns", "--columns"), ("time_unit", "--time-unit"), ("fs_hz", "--fs")):
        if getattr(opts, name) is not None and name not in fmt.options:
            users = [f.name for f in REGISTRY.values() if name in f.options]
            raise InputError(f"{path}: {flag} does not apply to {fmt.name} files (it does to {', '.join(users)})")
    try:
        with using_options(opts):
            rec = fmt.read(path)
    except CalmtraceError:
        raise
    except (UnicodeDecodeError,) as exc:
        raise FormatError(f"{path}: not text in a known encoding as {fmt.name} expects ({exc.reason})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rec.meta.setdefault("source_file", path.name)
    rec.meta.setdefault("source_format", fmt.name)
    _check_override_intervals(path, rec, opts)
    from ._clock import apply_clock_options

    return apply_clock_options(rec, opts)


#: Overrides that shape the intervals (``ImportOptions`` field, option): what they give is checked
#: against the human range, since no evidence stands behind it.
_INTERVAL_OVERRIDES = (("unit", "--unit"), ("columns", "--columns"), ("time_unit", "--time-unit"), ("fs_hz", "--fs"))


def _check_override_intervals(path: Path, rec: Recording, opts: "ImportOptions") -> None:
    """Refuse a recording whose intervals an override made impossible (see
    :func:`~calmtrace.formats._evidence.refuse_implausible_override`).

    The importers check what they can say more about (``--unit`` and ``--time-unit`` name the unit
    the values fit); this catches the rest, e.g. ``--fs`` far from an ECG's real rate.
    """
    given = []
    for name, flag in _INTERVAL_OVERRIDES:
        value = getattr(opts, name)
        if isinstance(value, tuple):
            given.append(f"{flag} {','.join(value)}")
        elif isinstance(value, float):
            given.append(f"{flag} {value:g}")
        elif value is not None:
            given.append(f"{flag} {value}")
    if given:
        from ._evidence import refuse_implausible_override

        refuse_implausible_override(path, rec.rr_ms, " with ".join(given))


from ._evidence import ImportOptions, using_options  # noqa: E402  (after Format: the modules import it)
