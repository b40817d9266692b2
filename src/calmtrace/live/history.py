"""Is this recovery on course? The live forecast against the person's own earlier sessions.

Earlier captures keep their forecasts in ``forecast.csv`` (see :mod:`calmtrace.live.forecast`).
For each stressor of an earlier session, the last forecast of its recovery is the best informed
one (it saw the whole followed recovery); :func:`earlier_t50_s` collects their t50. Comparing like
with like, the same forecast method on the same person, avoids mixing in the offline t50 of 60-s
windows, which runs longer for fast recoveries (docs/recovery.md).

:func:`course` says, for a forecast with its 80 % band, whether recovery is going faster than
usual (the whole band below the earlier median), slower (the whole band above it) or as usual.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import InputError

#: File name of the forecasts beside a capture (written by :mod:`calmtrace.live.forecast`).
FORECAST_FILE = "forecast.csv"

__all__ = ["earlier_t50_s", "course"]

log = logging.getLogger(__name__)


def earlier_t50_s(folders: Sequence[str | os.PathLike]) -> list[float]:
    """The t50 (s) of each stressor's last forecast in earlier captures' ``forecast.csv``.

    Parameters
    ----------
    folders : sequence of path-like
        Earlier recording folders of the same person.

    Returns
    -------
    list of float
        One t50 per earlier stressor with a finite forecast.

    Raises
    ------
    InputError
        When a folder does not exist, or its ``forecast.csv`` cannot be read or lacks the columns.
    """
    out: list[float] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"--history {folder}: no such recording folder")
        path = folder / FORECAST_FILE
        if not path.is_file():
            log.warning("%s: no %s (no forecast was made in that session); left out", folder, FORECAST_FILE)
            continue
        try:
            df = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot be read as a forecast table ({exc})") from None
        missing = [c for c in ("stressor", "t50_s") if c not in df.columns]
        if missing:
            raise InputError(f"{path}: expected the columns stressor and t50_s, missing {', '.join(missing)}")
        t50 = pd.to_numeric(df["t50_s"], errors="coerce")
        for _label, idx in df.groupby("stressor", sort=False).groups.items():
            last = t50.loc[idx].dropna()
            if len(last):
                out.append(float(last.iloc[-1]))
    return out


def course(t50_low_s: float, t50_high_s: float, usual_t50_s: float) -> str:
    """``"faster than usual"``, ``"slower than usual"``, ``"as usual"``, or ``""`` without figures.

    Parameters
    ----------
    t50_low_s, t50_high_s : float
        The forecast's 80 % band of t50, s.
    usual_t50_s : float
        The median t50 of earlier sessions, s.
    """
    if not all(math.isfinite(x) for x in (t50_low_s, t50_high_s, usual_t50_s)):
        return ""
    if t50_high_s < usual_t50_s:
        return "faster than usual"
    if t50_low_s > usual_t50_s:
        return "slower than usual"
    return "as usual"
