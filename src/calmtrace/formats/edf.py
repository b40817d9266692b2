"""EDF, EDF+ and BDF files, read with pyedflib.

The ECG channel is the first whose label, in any case, is ``ECG`` or ``EKG`` or contains one of them
(``ECG I``, ``EKG lead II``, ``ECG_chest``); a file without one is a :class:`FormatError` listing its
labels. Physical dimensions ``mV`` and ``V`` are converted to µV.

Start: EDF stores the start date and time without a time zone (EDF+ spec: local time at the
patient); it is read as UTC and ``meta["clock"]`` says so. EDF+ annotations inside the
recording become ``note`` events.

Beats are the R-peaks found by :func:`calmtrace.signals.ecg.ecg_to_recording`.
"""

from __future__ import annotations

import logging
from datetime import timezone
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..events import Event, Events
from ..recording import Recording
from ..signals.ecg import ecg_to_recording
from . import Format, foreign_errors
from ._text import CLOCK_LOCAL_AS_UTC

__all__ = ["FORMAT", "read", "sniff", "ecg_channel"]

log = logging.getLogger(__name__)

_TO_UV = {"mv": 1000.0, "uv": 1.0, "µv": 1.0, "v": 1e6}
#: Longest annotation text kept as an event label, characters.
_MAX_LABEL = 200


def sniff(path: Path, head: bytes) -> int:
    """95 for a BDF header, 90 for an EDF header with an .edf/.bdf name, 70 for the header only."""
    try:
        suffix = Path(path).suffix.lower()
        if head[:8] == b"\xffBIOSEMI":
            return 95
        if head[:8] == b"0       " and len(head) >= 256:
            return 90 if suffix in (".edf", ".bdf", ".rec") else 70
        return 0
    except Exception:
        return 0


def ecg_channel(labels: list[str]) -> int | None:
    """Index of the ECG channel among EDF signal labels, or None."""
    low = [str(lab).strip().lower() for lab in labels]
    for want in ("ecg", "ekg"):
        if want in low:
            return low.index(want)
    for k, lab in enumerate(low):
        if "ecg" in lab or "ekg" in lab:
            return k
    return None


def _read(path: Path) -> Recording:
    import pyedflib

    f = pyedflib.EdfReader(str(path))
    try:
        labels = list(f.getSignalLabels())
        k = ecg_channel(labels)
        if k is None:
            raise FormatError(f"{path}: no ECG channel among the labels {labels} (expected a label with ECG or EKG)")
        fs = float(f.getSampleFrequency(k))
        unit = str(f.getPhysicalDimension(k)).strip()
        x = np.asarray(f.readSignal(k), dtype=float)
        local_start = f.getStartdatetime()
        duration_s = float(f.getFileDuration())
        try:
            onsets, durations, texts = f.readAnnotations()
        except Exception:  # a broken annotation channel should not hide the ECG
            log.info("%s: annotations unreadable, skipped", path, exc_info=True)
            onsets, durations, texts = [], [], []
        equipment = str(f.getEquipment()).strip()
    finally:
        f.close()

    factor = _TO_UV.get(unit.lower())
    if factor is not None:
        x = x * factor
        units = "uV" if factor == 1.0 else f"uV (converted from {unit})"
    else:
        units = f"{unit or 'unknown'} (as in the file)"
    events = []
    for onset, dur, text in zip(onsets, durations, texts):
        onset, dur = float(onset), float(dur)
        dur = dur if np.isfinite(dur) and dur > 0 else 0.0  # EDF+ writes -1 or nothing for "no duration"
        label = str(text).strip()[:_MAX_LABEL]
        if label and np.isfinite(onset) and 0 <= onset <= duration_s:
            events.append(Event(onset_s=onset, duration_s=min(dur, duration_s - onset), label=label, kind="note"))
    meta = {
        "ecg_channel": labels[k],
        "edf_equipment": equipment,
        "clock": CLOCK_LOCAL_AS_UTC,
    }
    start = local_start.replace(tzinfo=timezone.utc)
    return ecg_to_recording(x, fs, start, meta, units=units, events=Events(events) if events else None)


def read(path: Path) -> Recording:
    """Import the ECG channel of an EDF/EDF+/BDF file (see the module docstring).

    Parameters
    ----------
    path : path-like
        The ``.edf``/``.bdf`` file.

    Returns
    -------
    Recording
        Beats from R-peak detection, the ECG in µV, EDF+ annotations as note events.

    Raises
    ------
    FormatError
        When pyedflib cannot read the file or it has no ECG channel.
    """
    path = Path(path)
    with foreign_errors(path, "EDF/BDF file"):  # pyedflib raises OSError for non-EDF files, bare errors on bad headers
        return _read(path)


FORMAT = Format(
    name="edf",
    description="EDF/EDF+/BDF file: beats from R-peaks of the channel labelled ECG/EKG",
    sniff=sniff,
    read=read,
)
