"""Nonlinear HRV: sample entropy and detrended fluctuation analysis (DFA alpha1, alpha2).

Both follow their published definitions and neurokit2's implementation choices, so that under
neurokit2's parameters they agree with ``nk.entropy_sample`` and ``nk.fractal_dfa`` (docs/metrics.md,
"Nonlinear"); calmtrace computes them itself because neurokit2's versions are too slow for what
calmtrace needs (a 24-hour record, DFA alpha1 in every window of a day):

* :func:`sample_entropy` counts template matches with a k-d tree (``scipy.spatial.cKDTree``,
  Chebyshev distance) instead of listing neighbours, so a 24-hour series takes seconds.
* :func:`dfa` computes each scale's fluctuation with array operations on all segments at once.
* :func:`windowed_dfa` computes every window's DFA exponent from one pass per scale over the whole
  recording: with linear detrending inside each segment, a segment's residual does not depend on
  where the profile (the integrated series) was started or on the mean that was removed from it,
  so one profile of the whole recording serves every window.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError

__all__ = ["sample_entropy", "dfa", "dfa_scales", "windowed_dfa"]

log = logging.getLogger(__name__)

#: Segments whose residual variance is at most this share of the largest one are left out of the
#: fluctuation function, as neurokit2 does (``var > 1e-8 * max(var)``): a segment with no variance
#: (a run of equal RR) would otherwise pull the log-fluctuation to minus infinity. (neurokit2
#: 0.2.10 uses an absolute threshold, ``var > 1e-8``; on RR in ms both leave out exactly the
#: segments whose variance is zero up to rounding, since any real variance is far above 1e-8 ms^2.)
_ZERO_VARIANCE_SHARE = 1e-8


# -- sample entropy ------------------------------------------------------------------------------
def sample_entropy(rr_ms: np.ndarray, dimension: int = 2, tolerance: float | None = None,
                   tolerance_sd: float = 0.2) -> float:
    """Sample entropy (SampEn) of a series of RR intervals.

    ``SampEn = -ln(A / B)`` (Richman & Moorman 2000, Am J Physiol Heart Circ Physiol 278:H2039):
    ``B`` is the number of pairs of templates of length ``m = dimension`` (among the first
    ``N - m``) whose Chebyshev distance is at most ``r``, ``A`` the same for length ``m + 1``;
    self-matches are excluded. This is neurokit2's ``entropy_sample(delay=1)`` as ``hrv_nonlinear``
    calls it (``r = 0.2 * SD`` with ddof 1).

    Parameters
    ----------
    rr_ms : array of float, shape (N,)
        Consecutive RR intervals, ms.
    dimension : int
        Template length ``m``; 2 as Richman & Moorman and neurokit2.
    tolerance : float, optional
        Match tolerance ``r`` in ms. Default ``tolerance_sd`` times the SD (ddof 1) of ``rr_ms``.
    tolerance_sd : float
        ``r`` as a multiple of the SD when ``tolerance`` is not given; 0.2 (Richman & Moorman 2000).

    Returns
    -------
    float
        SampEn (dimensionless). NaN when it is undefined: fewer than ``dimension + 2`` intervals,
        no variance, or no match of length ``m`` or ``m + 1`` (neurokit2 returns -inf / inf there).
    """
    from scipy.spatial import cKDTree

    x = np.asarray(rr_ms, dtype=float)
    m = int(dimension)
    if m < 1:
        raise InputError(f"dimension must be a positive integer, got {dimension!r}")
    n = x.size
    if n < m + 2:
        return math.nan
    r = float(tolerance) if tolerance is not None else tolerance_sd * float(np.std(x, ddof=1))
    if not (r > 0):
        return math.nan
    counts = []
    for dim in (m, m + 1):
        # N - m templates of both lengths (neurokit2 drops the last length-m template)
        emb = np.lib.stride_tricks.sliding_window_view(x, dim)[: n - m]
        tree = cKDTree(emb)
        counts.append(int(tree.count_neighbors(tree, r, p=np.inf)) - emb.shape[0])
    b, a = counts
    if a == 0 or b == 0:
        return math.nan
    return float(-math.log(a / b))


# -- DFA -----------------------------------------------------------------------------------------
def dfa_scales(beats: Sequence[int | None], n: int) -> np.ndarray:
    """The box sizes (in beats) of one DFA exponent: every integer from ``low`` to ``high``.

    Parameters
    ----------
    beats : (int, int or None)
        ``(low, high)``; ``high=None`` is neurokit2's rule for alpha2, ``(n + 1) / 10`` (the
        number of beats over ten), rounded down.
    n : int
        Length of the series (for ``high=None``).

    Returns
    -------
    numpy.ndarray of int
        The scales; empty when ``high < low + 1``.
    """
    low, high = beats
    top = int((n + 1) / 10) if high is None else int(high)
    if top < int(low) + 1:
        return np.array([], dtype=np.int64)
    return np.arange(int(low), top + 1, dtype=np.int64)


def _residual_variance(profile_segments: np.ndarray) -> np.ndarray:
    """Variance (ddof 0) of each row after removing its least-squares straight line."""
    w = profile_segments.shape[-1]
    k = np.arange(w, dtype=float)
    k -= k.mean()
    yc = profile_segments - profile_segments.mean(axis=-1, keepdims=True)
    slope = (yc @ k) / (k @ k)
    res = yc - slope[..., None] * k
    return np.einsum("...i,...i->...", res, res) / w


def _slope(log_scales: np.ndarray, log_f: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``log_f`` (rows: series, columns: scales) on ``log_scales``."""
    xc = log_scales - log_scales.mean()
    return (log_f - log_f.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)


def dfa(rr_ms: np.ndarray, scales: np.ndarray) -> float:
    """DFA exponent of a series over the given box sizes (Peng et al. 1995, Chaos 5:82).

    The profile ``y = cumsum(x - mean(x))`` is cut, for each box size ``w``, into segments of ``w``
    beats starting every ``w // 2`` beats (50 % overlap, starts ``0, w//2, ...`` below ``N - w``, as
    neurokit2's ``fractal_dfa(overlap=True)``); each segment's straight line is removed and ``F(w)``
    is the root mean of the segments' residual variances (segments with no variance left out, as
    neurokit2). The exponent is the least-squares slope of ``log2 F(w)`` on ``log2 w``.

    Parameters
    ----------
    rr_ms : array of float, shape (N,)
        Consecutive RR intervals, ms.
    scales : array of int
        Box sizes in beats, each at least 3 and below ``N``; at least two.

    Returns
    -------
    float
        The exponent; NaN when fewer than two scales, a scale >= N, or no segment varies.
    """
    x = np.asarray(rr_ms, dtype=float)
    scales = np.asarray(scales, dtype=np.int64)
    n = x.size
    if scales.size < 2 or scales.max() >= n or scales.min() < 3:
        return math.nan
    y = np.cumsum(x - x.mean())
    f = np.empty(scales.size)
    for i, w in enumerate(scales):
        w = int(w)
        hop = w // 2
        starts = np.arange(0, n - w, hop)
        view = np.lib.stride_tricks.sliding_window_view(y, w)[starts]
        var = _residual_variance(view)
        var = var[var > _ZERO_VARIANCE_SHARE * var.max()] if var.size and var.max() > 0 else var[:0]
        f[i] = math.sqrt(var.mean()) if var.size else math.nan
    if not np.all(np.isfinite(f)):
        return math.nan
    return float(_slope(np.log2(scales.astype(float)), np.log2(f)))


def windowed_dfa(rr_ms: np.ndarray, first: np.ndarray, count: np.ndarray, scales: np.ndarray,
                 chunk_rows: int = 4096) -> np.ndarray:
    """DFA exponent of many windows of one series at once.

    Window ``i`` is ``rr_ms[first[i] : first[i] + count[i]]``; its exponent equals
    :func:`dfa` of that slice. Each scale's residual variances are computed once for segments
    starting at every beat of the series; a window then gathers those of its own segments
    (starts ``first, first + w//2, ...`` below ``first + count - w``). With a straight line removed
    per segment, the residual of a segment of the whole series' profile equals that of the
    window's own profile (they differ by a constant and a linear term).

    Parameters
    ----------
    rr_ms : array of float, shape (N,)
        The whole series (usable beats only, in order), ms.
    first, count : array of int, shape (W,)
        Start index and number of beats of each window.
    scales : array of int
        Box sizes in beats (at least two, each >= 3).
    chunk_rows : int
        Windows gathered at a time (bounds memory).

    Returns
    -------
    numpy.ndarray, shape (W,)
        Exponent per window; NaN where a window has ``count <= max(scales)`` beats or a scale
        has no varying segment.
    """
    x = np.asarray(rr_ms, dtype=float)
    first = np.asarray(first, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    scales = np.asarray(scales, dtype=np.int64)
    n_win = first.size
    out = np.full(n_win, np.nan)
    if scales.size < 2 or x.size <= scales.max() or n_win == 0:
        return out
    ok = count > scales.max()
    if not ok.any():
        return out
    y = np.cumsum(x - x.mean())
    log_f = np.full((n_win, scales.size), np.nan)
    rows_ok = np.flatnonzero(ok)
    for j, w in enumerate(scales):
        w = int(w)
        hop = w // 2
        var_all = _residual_variance(np.lib.stride_tricks.sliding_window_view(y, w))
        n_seg = -(-(count[rows_ok] - w) // hop)  # ceil((count - w) / hop) segments
        m_max = int(n_seg.max())
        steps = np.arange(m_max) * hop
        for c0 in range(0, rows_ok.size, chunk_rows):
            rows = rows_ok[c0 : c0 + chunk_rows]
            ns = n_seg[c0 : c0 + chunk_rows]
            mask = np.arange(m_max)[None, :] < ns[:, None]
            idx = np.where(mask, first[rows, None] + steps[None, :], 0)
            v = np.where(mask, var_all[idx], 0.0)
            vmax = v.max(axis=1)
            keep = mask & (v > _ZERO_VARIANCE_SHARE * vmax[:, None])
            k = keep.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_var = np.where(keep, v, 0.0).sum(axis=1) / k
                log_f[rows, j] = np.where(k > 0, 0.5 * np.log2(mean_var), np.nan)
    good = np.all(np.isfinite(log_f), axis=1)
    out[good] = _slope(np.log2(scales.astype(float)), log_f[good])
    return out
