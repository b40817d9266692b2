"""The one quality verdict of a session, and the artefact share, computed once.

:func:`assess_quality` is the only rule that says whether a session's figures can be trusted. The
session report, the trend report, the cohort table of ``calmtrace batch`` and ``calmtrace info``
all show its :class:`Quality`; none has thresholds of its own. The thresholds are
:class:`~calmtrace.signals.config.QualityConfig`, written with the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..recording import Recording
from .clean import artifact_share
from .config import QualityConfig

__all__ = ["Quality", "assess_quality", "artifact_pct"]


def artifact_pct(recording: Recording) -> float:
    """Share of beats flagged by cleaning, in % (NaN without beats).

    The one place the artefact share of a session is computed for display:
    ``100 x`` :func:`calmtrace.signals.clean.artifact_share`. A recording that was never cleaned
    gives NaN, not 0: nothing was looked for, so nothing can be said to be clean.

    Parameters
    ----------
    recording : Recording
        A cleaned recording (``meta["cleaning"]`` set by :func:`calmtrace.signals.clean.clean`).
    """
    if "cleaning" not in recording.meta:
        return math.nan
    return 100.0 * artifact_share(recording)


@dataclass(frozen=True)
class Quality:
    """A session's quality verdict and the figures it rests on.

    Attributes
    ----------
    ok : bool
        True when every check passed.
    artifact_pct : float
        Beats flagged by cleaning, % (NaN without beats).
    invalid_windows_pct : float
        Analysis windows failing the validity minimums, % (NaN without windows).
    n_windows, n_valid_windows : int
    gap_s : float
        Time without beats (s).
    issues : tuple of str
        One phrase per failed check (empty when ``ok``).
    config : QualityConfig
        The thresholds.
    """

    ok: bool
    artifact_pct: float
    invalid_windows_pct: float
    n_windows: int
    n_valid_windows: int
    gap_s: float
    issues: tuple[str, ...]
    config: QualityConfig

    @property
    def verdict(self) -> str:
        """``"ok"`` or ``"FAILED: <issues>"``, the one wording every face shows."""
        return "ok" if self.ok else "FAILED: " + "; ".join(self.issues)


def assess_quality(recording: Recording, windows: pd.DataFrame,
                   config: QualityConfig | None = None) -> Quality:
    """The quality verdict of an analysed session.

    A session passes when its artefact share is at most ``config.max_artifact_pct`` and the share
    of invalid windows at most ``config.max_invalid_windows_pct`` (both inclusive). A session with
    no beats or no windows fails: there is nothing to trust.

    Parameters
    ----------
    recording : Recording
        The cleaned recording.
    windows : pandas.DataFrame
        Its Windows table (with the ``valid`` column).
    config : QualityConfig, optional
        Thresholds; the cited defaults when omitted.

    Returns
    -------
    Quality
    """
    cfg = config or QualityConfig()
    art = artifact_pct(recording)
    n_win = int(len(windows))
    n_valid = int(np.asarray(windows["valid"], dtype=bool).sum()) if n_win else 0
    inv = 100.0 * (n_win - n_valid) / n_win if n_win else math.nan
    gap_s = float(recording.gaps["duration_s"].sum()) if len(recording.gaps) else 0.0
    issues = []
    if not math.isfinite(art):
        issues.append("artefacts not assessed" if len(recording.beats) else "no beats")
    elif art > cfg.max_artifact_pct:
        issues.append(f"artefacts {art:.1f}% (> {cfg.max_artifact_pct:g}%)")
    if not n_win:
        issues.append("no analysis windows")
    elif inv > cfg.max_invalid_windows_pct:
        issues.append(f"invalid windows {inv:.0f}% (> {cfg.max_invalid_windows_pct:g}%)")
    return Quality(not issues, art, inv, n_win, n_valid, gap_s, tuple(issues), cfg)
