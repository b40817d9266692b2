"""``load``: one entry point for recording folders and other tools' files."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError
from .recording import Recording
from . import formats, store

__all__ = ["load"]


def load(path: str | os.PathLike, format: str | None = None, events: str | os.PathLike | None = None) -> Recording:
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
    if store.is_recording_folder(p):
        if format is not None:
            raise InputError(f"{p}: is a recording folder; --format applies only to files")
        rec = store.load_folder(p)
    elif p.is_dir():
        raise InputError(f"{p}: is a folder but not a recording folder (no recording.json)")
    else:
        rec = formats.read(p, format=format)
    if events is not None:
        from .formats.events_file import read_events

        extra = read_events(events, start=rec.start, duration_s=rec.duration_s)
        rec = rec.with_events(rec.events.merge(extra))
    return rec
