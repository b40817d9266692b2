"""``load``: one entry point for recording folders and other tools' files."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import logging

import numpy as np
import pandas as pd

from .errors import FormatError, InputError
from .recording import Recording
from . import formats, store

__all__ = ["load", "load_acc", "rebuild_beats"]

log = logging.getLogger(__name__)


def load(path: str | os.PathLike, format: str | None = None, events: str | os.PathLike | None = None,
         options: "formats.ImportOptions | None" = None) -> Recording:
    """Load a recording folder or import a file from another tool.

    Parameters
    ----------
    path : path-like
        A calmtrace recording folder (with ``recording.json``) or a file in any format of
        :func:`calmtrace.formats.format_names`.
    format : str, optional
        Force a file format instead of sniffing it. Not allowed with a recording folder.
    events : path-like, optional
        An events file (CSV or JSON, see :mod:`calmtrace.formats.events_file`) whose events are
        added to the recording's own.
    options : calmtrace.formats.ImportOptions, optional
        Overrides of an importer's inferences (unit, columns, sampling rate, start, time zone).

    Returns
    -------
    Recording

    Raises
    ------
    InputError
        When the path does not exist or cannot be read as asked; the message names the path.

    Examples
    --------
    >>> rec = load("recordings/sample/tsst")           # doctest: +SKIP
    """
    p = Path(path)
    if not p.exists() and not (format == "wfdb" or p.with_suffix(".hea").exists()):
        raise InputError(f"{p}: no such file or folder")
    for q in (p, Path(events) if events is not None else None):
        if q is not None and q.exists() and not (q.is_file() or q.is_dir()):
            # a named pipe, socket or device: opening one may wait forever
            raise InputError(f"{q}: not a regular file (a named pipe, socket or device); calmtrace reads files "
                             "and recording folders")
    if store.is_recording_folder(p):
        if format is not None or options is not None:
            raise InputError(f"{p}: is a recording folder; --format and import options apply only to files")
        rec = store.load_folder(p)
        if rec.meta.get("complete") is False and (p / "notifications.csv").is_file():
            rebuilt = rebuild_beats(p, rec)
            log.warning("%s: the capture was interrupted; %d beats rebuilt from its raw notifications "
                        "(%d were written before it stopped)", p, len(rebuilt.beats), len(rec.beats))
            rec = rebuilt
    elif p.is_dir():
        raise InputError(f"{p}: is a folder but not a recording folder (no recording.json)")
    else:
        rec = formats.read(p, format=format, options=options)
    if events is not None:
        from .formats.events_file import read_events

        notes: list[str] = []
        extra = read_events(events, start=rec.start, duration_s=rec.duration_s, utc_offset=rec.meta.get("utc_offset"),
                            clock_changes=rec.meta.get("clock_changes"), start_known=not rec.meta.get("start_unknown"),
                            timezone=rec.meta.get("timezone"), notes=notes)
        rec = rec.with_events(rec.events.merge(extra))
        if notes:  # clock times rolled over midnight: guesses, shown by `calmtrace info`
            for note in notes:
                log.info("%s", note)
            rec = rec.replace(meta={**rec.meta, "import_notes": [*(rec.meta.get("import_notes") or []), *notes]})
    return rec


def load_acc(folder: str | os.PathLike, start: datetime) -> pd.DataFrame | None:
    """The ``acc.csv`` a capture wrote beside the beats of a recording folder, or None.

    The one rule by which ``analyze``, ``day`` and the trend find a recording's own accelerometer.

    Parameters
    ----------
    folder : path-like
        A recording folder (anything else, e.g. an imported file, has none: None).
    start : datetime
        Timezone-aware start of the recording (``Recording.start``).

    Returns
    -------
    pandas.DataFrame or None
        As :func:`calmtrace.formats.acc_csv.read_acc`; None when ``folder`` is not a folder or
        holds no ``acc.csv`` (:data:`calmtrace.store.ACC_FILE`).

    Raises
    ------
    FormatError
        When the ``acc.csv`` is there but cannot be read.
    """
    from .formats.acc_csv import read_acc

    path = Path(folder) / store.ACC_FILE[0]
    return read_acc(path, start) if path.is_file() else None


def rebuild_beats(folder: str | os.PathLike, rec: Recording | None = None, config: object = None) -> Recording:
    """Rebuild a capture's beats, HR samples and gaps from the raw notifications it stored.

    A capture writes each notification the moment it arrives but writes a beat only once the
    timeline has timed it, so the beats of the last seconds of a killed capture are only in
    ``notifications.csv``. :func:`load` calls this for captures not marked complete; it also
    re-times beats with other :class:`~calmtrace.devices.timeline.TimelineConfig` settings.

    Parameters
    ----------
    folder : path-like
        A capture's recording folder.
    rec : Recording, optional
        The folder already loaded (events, ECG, metadata and disconnect gaps are kept from it).
    config : TimelineConfig, optional
        Beat-timing parameters.

    Returns
    -------
    Recording
        With ``meta["beats_rebuilt_from_notifications"] = True``.
    """
    from .devices.timeline import rebuild

    rec = rec if rec is not None else store.load_folder(folder)
    notes = store.read_notifications(folder)
    hrs = notes[notes["source"] == "hrs"]
    try:
        pairs = [(float(t), bytes.fromhex(h)) for t, h in zip(hrs["t_s"], hrs["payload_hex"])]
    except ValueError as exc:
        raise FormatError(f"{Path(folder) / 'notifications.csv'}: payload_hex is not hexadecimal ({exc})") from None
    em = rebuild(pairs, config)
    beats = pd.DataFrame({"t_s": [b.t_s for b in em.beats], "rr_ms": [b.rr_ms for b in em.beats]})
    hr = pd.DataFrame({"t_s": [h.t_s for h in em.hr], "hr_bpm": [float(h.hr_bpm) for h in em.hr],
                       "contact": [h.contact for h in em.hr]})
    gaps = pd.DataFrame({"onset_s": [g.onset_s for g in em.gaps], "duration_s": [g.duration_s for g in em.gaps],
                         "reason": [g.reason for g in em.gaps]})
    # keep the stored gaps (disconnects the adapter saw) that the rebuild did not find itself
    if len(rec.gaps):
        on, end = gaps["onset_s"].to_numpy(), (gaps["onset_s"] + gaps["duration_s"]).to_numpy()
        keep = [not np.any((on <= g.onset_s + g.duration_s) & (end >= g.onset_s)) for g in rec.gaps.itertuples()]
        gaps = pd.concat([gaps, rec.gaps[keep]], ignore_index=True).sort_values("onset_s", ignore_index=True)
    meta = dict(rec.meta)
    meta["beats_rebuilt_from_notifications"] = True
    return rec.replace(beats=beats, hr=hr, gaps=gaps, meta=meta)
