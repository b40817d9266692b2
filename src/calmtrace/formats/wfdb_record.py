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
beat annotations (``.atr``) are not read when the ECG is there.

**Annotation-only records** (e.g. the MIT-BIH Long-Term ECG Database as often shared: ``.hea`` and
``.atr``, no ``.dat``): when the ECG channel's signal file is missing, the beats are the record's
beat annotations, read with ``wfdb.rdann``, first of :data:`BEAT_ANNOTATORS` found: every
annotation whose code is a beat (:data:`BEAT_CODES`) at ``sample / fs``, ``fs`` from the header.
Every beat keeps its interval, ectopic ones too (cleaning judges them, as for any strap); the
counts of each label are in ``meta["beat_labels"]`` and the import notes. A stretch the annotators
marked unreadable (a ``~`` annotation with subtype -1, up to the next ``~``) is a hole: no
interval is formed across it. The path may name the annotation file (``14134.atr``). Without a
header (no ``fs``) or without annotations the record is refused on one line saying what is
missing.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..recording import Recording
from ..signals.ecg import beats_from_times, ecg_to_recording
from . import Format, foreign_errors
from ._evidence import add_note
from ._text import CLOCK_LOCAL_AS_UTC, UNKNOWN_START, build_recording

__all__ = ["FORMAT", "read", "sniff", "ECG_CHANNELS", "record_base", "BEAT_ANNOTATORS", "BEAT_CODES"]

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
#: Annotation files read as beats when the signal is missing, in order: ``atr``, the reference
#: (expert-reviewed) annotations of the PhysioNet databases, then ``qrs``, a QRS detector's output
#: (WFDB's sqrs/gqrs write it).
BEAT_ANNOTATORS: tuple[str, ...] = ("atr", "qrs")
#: Annotation codes that mark a beat (PhysioNet, "MIT-BIH Arrhythmia Database Directory: Table 1,
#: Beat annotations"; the WFDB library's ``isqrs``): normal, bundle branch block, aberrant and
#: (supra)ventricular premature and escape beats, fusion, paced and unclassifiable beats. Other
#: codes (rhythm ``+``, noise ``~``, artefact ``|``, comments ...) are not beats.
BEAT_CODES = frozenset("NLRBAaJSVrFejnE/fQ?")
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
        if path.suffix.lower().lstrip(".") in BEAT_ANNOTATORS:
            # binary annotations: the header beside it makes it a record; without one the reader
            # says what is missing
            return 60 if path.with_suffix(".hea").is_file() else 30
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
        what = ("its sampling rate, needed to time the annotated beats, is in the header"
                if path.suffix.lower().lstrip(".") in BEAT_ANNOTATORS else "")
        raise FormatError(f"{path}: no WFDB header (.hea) for this record{'; ' + what if what else ''}")
    header = wfdb.rdheader(str(base))
    names = list(header.sig_name or [])
    fs = float(header.fs) if header.fs is not None else None
    if fs is None or not np.isfinite(fs) or fs <= 0:
        raise FormatError(f"{path}: sampling frequency must be a positive number, got {header.fs!r}")
    k = _channel(names)
    files = list(header.file_name or [])
    signal = base.parent / str(files[k]) if k is not None and k < len(files) else None
    if signal is None or not signal.is_file():
        missing = f"its signal file {signal.name} is missing" if signal is not None else (
            "it has no ECG signal" if not names else f"no ECG channel among its signals {names}")
        return _from_annotations(path, base, header, fs, missing)
    if k is None:
        raise FormatError(f"{path}: no ECG channel among the record's signals {names} (expected e.g. MLII, II, ECG)")
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
    start = _start(header, meta)
    ok = np.isfinite(x)
    sample_t = None
    if not ok.all():
        sample_t = np.flatnonzero(ok) / fs
        x = x[ok]
        log.info("%s: %d invalid samples left out", path, int((~ok).sum()))
    return ecg_to_recording(x, fs, start, meta, sample_t_s=sample_t, units=units)


def _start(header, meta: dict) -> datetime:
    """The header's base date and time (read as UTC, noted in ``meta``), or the unknown start."""
    if header.base_date is not None and header.base_time is not None:
        meta["clock"] = CLOCK_LOCAL_AS_UTC
        return datetime.combine(header.base_date, header.base_time).replace(tzinfo=timezone.utc)
    meta["start_unknown"] = True
    return UNKNOWN_START


def _from_annotations(path: Path, base: Path, header, fs: float, missing: str) -> Recording:
    """Beats from the record's beat annotations, when its ECG signal is not there (module docstring).

    Parameters
    ----------
    path : Path
        What was asked for, for messages.
    base : Path
        The record path without extension.
    header : wfdb.io.record.Record
        The header, from ``wfdb.rdheader``.
    fs : float
        Sampling rate of the annotation sample numbers, Hz (the header's).
    missing : str
        Why the ECG cannot be read (``"its signal file 14134.dat is missing"``).

    Raises
    ------
    FormatError
        No annotation file of :data:`BEAT_ANNOTATORS` beside the header, or one without beats.
    """
    import wfdb

    annotator = next((a for a in BEAT_ANNOTATORS if base.with_name(f"{base.name}.{a}").is_file()), None)
    if annotator is None:
        tried = " or ".join(f"{base.name}.{a}" for a in BEAT_ANNOTATORS)
        raise FormatError(f"{path}: {missing} and no beat annotations ({tried}) are beside the header; "
                          f"calmtrace needs the ECG or the annotated beats")
    ann = wfdb.rdann(str(base), annotator)
    sample = np.asarray(ann.sample, dtype=np.int64)
    code = np.asarray(ann.symbol, dtype=object)
    subtype = np.asarray(ann.subtype if ann.subtype is not None else np.zeros(sample.size), dtype=np.int64)
    is_beat = np.isin(code, sorted(BEAT_CODES))
    if not is_beat.any():
        raise FormatError(f"{path}: {missing} and {base.name}.{annotator} holds no beat annotations "
                          f"({sample.size} annotations of other kinds)")
    order = np.argsort(sample[is_beat], kind="stable")
    beat_t_s = sample[is_beat][order] / fs
    # unreadable stretches: from a noise annotation with subtype -1 to the next noise annotation
    noise = np.flatnonzero(code == "~")
    holes = [(sample[i] / fs, sample[noise[j + 1]] / fs if j + 1 < noise.size else np.inf)
             for j, i in enumerate(noise) if subtype[i] == -1]
    beats, gaps = beats_from_times(beat_t_s, holes=holes)
    labels = {c: int(n) for c, n in zip(*np.unique(code[is_beat], return_counts=True))}
    meta: dict = {
        "wfdb_record": str(header.record_name),
        "beats_source": f"annotations ({annotator})",
        "wfdb_annotator": annotator,
        "annotation_fs_hz": fs,
        "beat_labels": labels,
        "header_comments": [str(c) for c in (header.comments or [])],
        "source_file": path.name,
    }
    start = _start(header, meta)
    shown = ", ".join(f"{c} {n:,}" for c, n in sorted(labels.items(), key=lambda x: -x[1]))
    add_note(meta, f"no ECG ({missing}): beats from the record's {annotator} annotations at {fs:g} Hz "
                   f"(sample / fs), {int(is_beat.sum()):,} beats ({shown}); every labelled beat keeps its "
                   f"interval, ectopic ones too, for cleaning to judge")
    if len(gaps):
        add_note(meta, f"{len(gaps)} gap(s) where beats are more than the gap limit apart or a stretch was "
                       f"marked unreadable", warn=True)
    return build_recording(path, start, t_s=beats["t_s"].to_numpy(), rr_ms=beats["rr_ms"].to_numpy(),
                           gaps=[(g.onset_s, g.duration_s, g.reason) for g in gaps.itertuples()], meta=meta)


def read(path: Path) -> Recording:
    """Import a WFDB record (see the module docstring).

    Parameters
    ----------
    path : path-like
        The ``.hea`` file, the signal file beside it, or the record path without extension.

    Returns
    -------
    Recording
        Beats from R-peak detection on the ECG channel, the ECG in µV; or, when the ECG's signal
        file is missing, beats from the record's beat annotations.

    Raises
    ------
    FormatError
        When there is no header, no ECG channel and no beat annotations, or wfdb cannot read the
        record.
    """
    path = Path(path)
    with foreign_errors(path, "WFDB record"):  # wfdb raises bare ValueError/IndexError/KeyError... on bad records
        return _read(path)


FORMAT = Format(
    name="wfdb",
    description="PhysioNet WFDB record (.hea + .dat): beats from R-peaks of the ECG channel, or from the "
                "beat annotations (.atr) when the signal is missing",
    sniff=sniff,
    read=read,
)
