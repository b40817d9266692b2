"""What the figures of a long recording draw: reduced data within a fixed budget of points.

A week of wear is ~700,000 beats and ~120,000 five-second windows; drawn point by point, the
session report's figures weigh tens of megabytes (a 10-million-beat file: hundreds) although a
screen shows ~1,000 pixel columns. Above the budget, the figures draw:

- **lines** (tachogram, windowed metrics): the M4 aggregation of Jugel et al. (2014, "M4: a
  visualization-oriented time series data aggregation", Proc. VLDB Endow. 7(10):797-808): per
  time bucket the first, smallest, largest and last value, in time order. A line through these
  points is the same picture, pixel for pixel, as the line through every point when there are at
  least as many buckets as pixel columns. Breaks are kept exactly: where the data had a break (a
  gap, an invalid window) between two drawn points, the drawn line breaks too; nothing is joined
  across a break.
- **markers** on a time axis (flagged beats, the artefact rug): per bucket the smallest and
  largest value, so every bucket with a flagged beat still shows one, at its extremes.
- **the Poincaré cloud**: a random subsample with a fixed seed (the same figure every time),
  the budget shared so that small phases (a stressor among days of wear) are kept whole, plus
  each phase's extreme pairs, so the cloud's extent is the full data's.

Below the budget nothing is reduced: a lab session's figures draw every beat, as before. The full
data stay in the CSV outputs (the recording's beats, ``windows.csv``); each reduced figure says
so. The budget lives here, once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PLOT_BUCKETS", "MAX_POINTS", "MAX_POINCARE_POINTS", "SEED", "m4_indices", "reduce_line",
           "reduce_markers", "subsample_groups", "drawn_note"]

#: Time buckets of a reduced line. The report's figures are at most ~1,050 px wide on screen and
#: 2,100 px in a PNG export (``toImageButtonOptions`` scale 2); 2,500 buckets is more than one
#: per pixel column of either, which M4 needs to be pixel-exact (Jugel et al. 2014).
PLOT_BUCKETS = 2500
#: Largest number of points one line or marker trace draws (4 per bucket: first, min, max, last).
#: A one-hour session (~5,000 beats) and every lab session stay below it: unreduced.
MAX_POINTS = 4 * PLOT_BUCKETS
#: Largest number of pairs the Poincaré plot draws (calmtrace's own: ~0.3 MB of plotly JSON, and
#: a cloud this dense already shows its shape; a 1-h session's ~5,000 pairs stay whole).
MAX_POINCARE_POINTS = 10_000
#: Seed of the Poincaré subsample: the same recording gives the same figure.
SEED = 20141001


def m4_indices(t: np.ndarray, y: np.ndarray, buckets: int = PLOT_BUCKETS) -> np.ndarray:
    """Indices of the first, smallest, largest and last point of each time bucket (M4).

    Parameters
    ----------
    t : array of float, shape (n,)
        Times, non-decreasing, all finite.
    y : array of float, shape (n,)
        Values, all finite.
    buckets : int
        Number of equal-width buckets over ``[t[0], t[-1]]``.

    Returns
    -------
    numpy.ndarray of int
        Sorted, distinct indices into ``t``; at most ``4 * buckets``.
    """
    if t.size == 0:
        return np.array([], dtype=np.int64)
    starts, ends, i_min, i_max = _buckets(t, y, buckets)
    return np.unique(np.concatenate((starts, ends, i_min, i_max)))


def _buckets(t: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, ...]:
    """First, last, smallest-value and largest-value index of each non-empty time bucket."""
    n = t.size
    span = float(t[-1] - t[0])
    if span <= 0:
        b = np.zeros(n, dtype=np.int64)
    else:
        b = np.minimum(((t - t[0]) * (buckets / span)).astype(np.int64), buckets - 1)
    starts = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
    ends = np.concatenate((starts[1:], [n])) - 1
    counts = np.diff(np.concatenate((starts, [n])))
    pos = np.arange(n)
    lo = np.repeat(np.minimum.reduceat(y, starts), counts)
    hi = np.repeat(np.maximum.reduceat(y, starts), counts)
    i_min = np.minimum.reduceat(np.where(y == lo, pos, n), starts)
    i_max = np.minimum.reduceat(np.where(y == hi, pos, n), starts)
    return starts, ends, i_min, i_max


def reduce_line(t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS,
                buckets: int = PLOT_BUCKETS) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A line's points within the budget, its breaks kept (see the module's text).

    Parameters
    ----------
    t : array of float, shape (n,)
        Times (any unit), non-decreasing where finite. A point whose time or value is NaN is a
        break: the line stops there.
    y : array of float, shape (n,)
    max_points : int
        Above this many drawable (finite) points the line is reduced.
    buckets : int
        M4 buckets when reduced.

    Returns
    -------
    (t, y, drawn, total)
        The points to draw (NaN at every break between two drawn points), the number of finite
        points drawn and the number there were. Unchanged (the same arrays) when ``total <=
        max_points``.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    fin = np.isfinite(t) & np.isfinite(y)
    idx = np.flatnonzero(fin)
    if idx.size <= max_points:
        return t, y, int(idx.size), int(idx.size)
    sel = idx[m4_indices(t[idx], y[idx], buckets)]
    broken = np.cumsum(~fin)
    after_break = np.flatnonzero(broken[sel[1:]] - broken[sel[:-1]] > 0) + 1
    ts = np.insert(t[sel], after_break, np.nan)
    ys = np.insert(y[sel], after_break, np.nan)
    return ts, ys, int(sel.size), int(idx.size)


def reduce_markers(t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS,
                   buckets: int = PLOT_BUCKETS) -> np.ndarray:
    """Indices of the markers to draw: all of them up to ``max_points``, else the smallest and
    largest ``y`` of each time bucket.

    Parameters
    ----------
    t, y : array of float, shape (n,)
        Times (non-decreasing) and values, finite.
    max_points : int
    buckets : int

    Returns
    -------
    numpy.ndarray of int
        Sorted indices; all ``n`` up to ``max_points``, else at most ``2 * buckets``.
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if t.size <= max_points:
        return np.arange(t.size)
    _, _, i_min, i_max = _buckets(t, y, buckets)
    return np.unique(np.concatenate((i_min, i_max)))


def subsample_groups(sizes: dict[str, int], budget: int = MAX_POINCARE_POINTS) -> dict[str, int]:
    """How many points of each group to draw so that the total stays within ``budget``.

    The budget is shared water-filling fashion: groups smaller than an equal share are kept
    whole and what they leave goes to the larger ones.

    Parameters
    ----------
    sizes : dict of str to int
        Points in each group.
    budget : int

    Returns
    -------
    dict of str to int
        Points to draw per group (the sizes themselves when their sum is within the budget).
    """
    if sum(sizes.values()) <= budget:
        return dict(sizes)
    out: dict[str, int] = {}
    left = budget
    order = sorted(sizes, key=lambda k: sizes[k])
    for i, k in enumerate(order):
        share = left // (len(order) - i)
        out[k] = min(sizes[k], share)
        left -= out[k]
    return {k: out[k] for k in sizes}


def drawn_note(drawn: int, total: int, what: str, where: str) -> str:
    """"drawn from 9,876 of 653,295 beats; every beat is in beats.csv" (empty when not reduced)."""
    if drawn >= total:
        return ""
    return f"drawn from {drawn:,} of {total:,} {what}; every one is in {where}"
