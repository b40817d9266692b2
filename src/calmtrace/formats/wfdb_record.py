"""PhysioNet WFDB records (``.hea`` header + signal files), read with the wfdb package.

The path may be the ``.hea`` file, the ``.dat`` file beside it, or the record path without an
extension. One ECG channel is used, the first found in :data:`ECG_CHANNELS` order (MLII, the
modified lead II of the MIT-BIH databases, first); a record without a recognisable ECG channel is
a :class:`FormatError` listing its channel names. Physical units ``mV`` and ``V`` are converted to
µV. Invalid samples (NaN after wfdb's conversion) are holes: no interval is formed across them.

Start: the header's base date and time, which WFDB stores without a time zone, read as UTC
(``meta["clock"]`` says so); a header without a base date has no start time:
:data:`~calmtrace.formats._text.UNKNOWN_START` with ``meta["start_unknown"]`` true.

Beats are the R-peaks found by :func:`calmtrace.signals.ecg.ecg_to_recording`; the record's own
beat annotations (``.atr``) are not read.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..recording import Recording
from ..signals.ecg import ecg_to_recording
from . import Format, foreign_errors
from ._text import CLOCK_LOCAL_AS_UTC, UNKNOWN_START

__all__ = ["FORMAT", "read", "sniff", "ECG_CHANNELS", "record_base"]

log = logging.getLogger(__name__)

#: ECG channel names tried in order (lower case). MLII first: it is the lead the MIT-BIH
#: Arrhythmia Database was annotated on (Moody & Mark 2001); then lead II and the other leads.
ECG_CHANNELS: tuple[str, ...] = (
    "mlii", "ii", "ecg", "ecg1", "ecg i", "ecg ii", "ekg", "v5", "v1", "v2", "v3", "v4", "v6",
    "i", "iii", "mli", "mliii", "avr", "avl", "avf", "ecg2", "ecg 2", "ecg1+", "ecg_1",
)
_TO_UV = {"mv": 1000.0, "uv": 1.0, "µv": 1.0, "v": 1e6}
#: Bytes per sample of WFDB storage formats (WFDB "signal" man page); used only to refuse headers
#: that promise far more samples than the signal file can hold, before reading it.
_BYTES_PER_SAMPLE = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2, "212": 1.5,
                     "310": 4 / 3, "311": 4 / 3}
_RECORD_LINE = re.compile(r"^[A-Za-z0-9_\-.]+(/\d+)?\s+\d+(\s|$)")


def record_base(path: Path) -> Path | None:
    """The record path without extension for a ``.hea``, a signal file or a record base path."""
    path = Path(path)
    if path.suffix.lower() == ".hea" and path.is_file():
        return path.with_suffix("")
    if Path(str(path) + ".hea").is_file():
        return path
    if path.suffix and path.with_suffix(".hea").is_file():
        return path.with_suffix("")
    return None


def sniff(path: Path, head: bytes) -> int:
    """95 for a ``.hea`` file whose first line is a WFDB record line, 60 for a file beside one."""
    try:
        path = Path(path)
        if path.suffix.lower() == ".hea":
            text = head.decode("ascii")
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            return 95 if lines and _RECORD_LINE.match(lines[0]) else 10
        if path.suffix.lower() == ".dat" and path.with_suffix(".hea").is_file():
            return 60
        return 0
    except Exception:
        return 0


def _channel(names: list[str]) -> int | None:
    low = [str(n).strip().lower() for n in names]
    for want in ECG_CHANNELS:
        if want in low:
            return low.index(want)
    for k, n in enumerate(low):
        if n.startswith(("ecg", "ekg")):
            return k
    return None


def _check_size(path: Path, base: Path, header) -> None:
    """Refuse a header whose sample count cannot fit in its signal files."""
    n = header.sig_len
    if n is None or not header.file_name:
        return
    for fname, fmt in zip(header.file_name, header.fmt or []):
        f = base.parent / str(fname)
        per = _BYTES_PER_SAMPLE.get(str(fmt))
        if per is None or not f.is_file():
            continue
        n_in_file = sum(1 for g in header.file_name if g == fname)
        need = int(n) * n_in_file * per
        if need > f.stat().st_size + 4096:
            raise FormatError(
                f"{path}: header promises {n} samples of {n_in_file} signal(s) in {fname} "
                f"({need:.0f} bytes), but the file has {f.stat().st_size} bytes"
            )


def _read(path: Path) -> Recording:
    import wfdb

    base = record_base(path)
    if base is None:
        raise FormatError(f"{path}: no WFDB header (.hea) for this record")
    header = wfdb.rdheader(str(base))
    names = list(header.sig_name or [])
    k = _channel(names)
    if k is None:
        raise FormatError(f"{path}: no ECG channel among the record's signals {names} (expected e.g. MLII, II, ECG)")
    fs = float(header.fs) if header.fs is not None else None
    if fs is None or not np.isfinite(fs) or fs <= 0:
        raise FormatError(f"{path}: sampling frequency must be a positive number, got {header.fs!r}")
    _check_size(path, base, header)
    rec = wfdb.rdrecord(str(base), channels=[k], physical=True)
    x = np.asarray(rec.p_signal, dtype=float)[:, 0]
    unit = str((rec.units or ["?"])[0]).strip()
    factor = _TO_UV.get(unit.lower())
    if factor is not None:
        x = x * factor
        units = "uV" if factor == 1.0 else f"uV (converted from {unit})"
    else:
        units = f"{unit} (as in the header)"

    meta: dict = {
        "wfdb_record": str(header.record_name),
        "ecg_channel": str(names[k]),
        "header_comments": [str(c) for c in (header.comments or [])],
    }
    if header.base_date is not None and header.base_time is not None:
        start = datetime.combine(header.base_date, header.base_time).replace(tzinfo=timezone.utc)
        meta["clock"] = CLOCK_LOCAL_AS_UTC
    else:
        start = UNKNOWN_START
        meta["start_unknown"] = True
    ok = np.isfinite(x)
    sample_t = None
    if not ok.all():
        sample_t = np.flatnonzero(ok) / fs
        x = x[ok]
        log.info("%s: %d invalid samples left out", path, int((~ok).sum()))
    return ecg_to_recording(x, fs, start, meta, sample_t_s=sample_t, units=units)


def read(path: Path) -> Recording:
    """Import a WFDB record (see the module docstring).

    Parameters
    ----------
    path : path-like
        The ``.hea`` file, the signal file beside it, or the record path without extension.

    Returns
    -------
    Recording
        Beats from R-peak detection on the ECG channel, the ECG in µV.

    Raises
    ------
    FormatError
        When there is no header, no ECG channel, or wfdb cannot read the record.
    """
    path = Path(path)
    with foreign_errors(path, "WFDB record"):  # wfdb raises bare ValueError/IndexError/KeyError... on bad records
        return _read(path)


FORMAT = Format(
    name="wfdb",
    description="PhysioNet WFDB record (.hea + .dat): beats from R-peaks of the ECG channel",
    sniff=sniff,
    read=read,
)
