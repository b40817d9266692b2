"""Autonomic-balance indices: Baevsky's stress index, PNS and SNS indices, LF/HF, baseline z-scores.

The PNS and SNS indices follow the recipe Kubios publishes (Tarvainen et al., Kubios HRV user's
guide; kubios.com "HRV and ANS function"): the PNS index combines mean RR, RMSSD and Poincare SD1,
the SNS index mean heart rate, Baevsky's stress index (its square root, as Kubios reports it) and
Poincare SD2, each as a z-score against normal values (:mod:`calmtrace.signals.norms`, Nunan et al.
2010). Kubios states that it uses SD1 and SD2 "in normalized units" and does not publish that
normalisation or its weights, so calmtrace uses SD1 and SD2 in ms and an equal-weight mean. The
indices point the same way as Kubios's and sit on the same scale (0 = population average, +-1 =
one population SD) but are not numerically Kubios's.

This module knows nothing about windows of a recording except the index ranges it is handed;
:mod:`calmtrace.signals.hrv` calls it (never the reverse).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import AnalysisError, InputError
from .norms import NORMS, Norm

__all__ = [
    "BALANCE_FEATURES",
    "baevsky_stress_index",
    "windowed_stress_index",
    "lf_hf",
    "hf_nu",
    "pns_index",
    "sns_index",
    "baseline_z",
]

log = logging.getLogger(__name__)

#: Windows columns that enter the PNS index (all count positive) ...
PNS_FEATURES: tuple[str, ...] = ("mean_rr_ms", "rmssd_ms", "sd1_ms")
#: ... and the SNS index (mean HR and stress index count positive, SD2 negative: less long-term
#: variability means more sympathetic drive).
SNS_FEATURES: tuple[str, ...] = ("mean_hr_bpm", "stress_index", "sd2_ms")
BALANCE_FEATURES: tuple[str, ...] = PNS_FEATURES + SNS_FEATURES


# -- Baevsky's stress index -----------------------------------------------------------------------
def baevsky_stress_index(rr_ms: np.ndarray, bin_ms: float = 50.0) -> float:
    """Baevsky's stress index of one run of RR intervals (reference, one window at a time).

    ``SI = AMo / (2 * Mo * MxDMn)`` (Baevsky & Chernikova 2017, Cardiometry 10:66-76) with the RR
    histogram in ``bin_ms`` classes aligned to multiples of ``bin_ms`` (0-50, 50-100 ... ms):

    * ``Mo`` (s): centre of the most populated class (ties: the shortest RR class);
    * ``AMo`` (%): share of intervals in that class;
    * ``MxDMn`` (s): longest minus shortest interval.

    Parameters
    ----------
    rr_ms : array of float
        RR intervals in ms (already restricted to usable beats).
    bin_ms : float
        Histogram class width in ms; 50 ms as Baevsky.

    Returns
    -------
    float
        SI in 1/s^2 (Baevsky's "conventional units"); NaN with fewer than two intervals or when
        all intervals are equal (MxDMn = 0).
    """
    rr = np.asarray(rr_ms, dtype=float)
    if rr.size < 2 or rr.max() == rr.min():
        return float("nan")
    bins = np.floor(rr / bin_ms).astype(np.int64)
    values, counts = np.unique(bins, return_counts=True)
    best = int(np.argmax(counts))  # first maximum = shortest class
    mo_s = (values[best] + 0.5) * bin_ms / 1000.0
    amo_pct = 100.0 * counts[best] / rr.size
    mxdmn_s = (rr.max() - rr.min()) / 1000.0
    return float(amo_pct / (2.0 * mo_s * mxdmn_s))


def _window_reduce(ufunc: np.ufunc, values: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   fill: float) -> np.ndarray:
    """``ufunc.reduce(values[lo[i]:hi[i]])`` for every window, in one ``reduceat`` call."""
    ext = np.append(values, fill)  # so that hi == len(values) is a valid index
    idx = np.empty(2 * lo.size, dtype=np.intp)
    idx[0::2] = lo
    idx[1::2] = hi
    out = ufunc.reduceat(ext, idx)[0::2]
    return np.where(hi > lo, out, fill)


def windowed_stress_index(rr_ms: np.ndarray, usable: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                          bin_ms: float = 50.0) -> np.ndarray:
    """Baevsky's stress index of every window at once.

    Same definition as :func:`baevsky_stress_index`, over the usable beats ``lo[i] <= j < hi[i]``.
    The modal class comes from one cumulative count per histogram class (a few dozen classes span
    all physiological RR), the range from one ``numpy.maximum.reduceat`` / ``minimum.reduceat``.

    Parameters
    ----------
    rr_ms : array of float
        RR intervals in ms of the whole recording.
    usable : array of bool
        Which beats count (artefacts excluded).
    lo, hi : array of int
        Beat index range ``[lo, hi)`` of each window.
    bin_ms : float
        Histogram class width in ms.

    Returns
    -------
    numpy.ndarray
        SI per window (1/s^2); NaN where fewer than two usable beats or MxDMn = 0.
    """
    rr = np.asarray(rr_ms, dtype=float)
    usable = np.asarray(usable, dtype=bool)
    lo = np.asarray(lo, dtype=np.intp)
    hi = np.asarray(hi, dtype=np.intp)
    n_windows = lo.size
    si = np.full(n_windows, np.nan)
    if n_windows == 0 or not usable.any():
        return si
    count = np.concatenate([[0], np.cumsum(usable)])
    n = count[hi] - count[lo]
    bins = np.where(usable, np.floor(rr / bin_ms), -1).astype(np.int64)
    best_count = np.zeros(n_windows, dtype=np.int64)
    best_bin = np.zeros(n_windows, dtype=np.int64)
    for b in range(int(bins[usable].min()), int(bins[usable].max()) + 1):
        in_bin = np.concatenate([[0], np.cumsum(bins == b)])
        c = in_bin[hi] - in_bin[lo]
        better = c > best_count  # strict: ties keep the shorter class
        best_count = np.where(better, c, best_count)
        best_bin = np.where(better, b, best_bin)
    rr_max = _window_reduce(np.maximum, np.where(usable, rr, -np.inf), lo, hi, -np.inf)
    rr_min = _window_reduce(np.minimum, np.where(usable, rr, np.inf), lo, hi, np.inf)
    ok = (n >= 2) & (rr_max > rr_min)
    mo_s = (best_bin + 0.5) * bin_ms / 1000.0
    amo_pct = 100.0 * best_count / np.maximum(n, 1)
    mxdmn_s = np.where(ok, rr_max - rr_min, np.nan) / 1000.0
    si[ok] = (amo_pct / (2.0 * mo_s * mxdmn_s))[ok]
    return si


# -- spectral ratios ------------------------------------------------------------------------------
def lf_hf(lf_ms2: np.ndarray, hf_ms2: np.ndarray) -> np.ndarray:
    """LF/HF power ratio (Task Force 1996); NaN where HF is not positive or either is missing."""
    lf = np.asarray(lf_ms2, dtype=float)
    hf = np.asarray(hf_ms2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hf > 0, lf / hf, np.nan)


def hf_nu(lf_ms2: np.ndarray, hf_ms2: np.ndarray) -> np.ndarray:
    """HF in normalised units, ``100 * HF / (LF + HF)`` (Task Force 1996); NaN where undefined."""
    lf = np.asarray(lf_ms2, dtype=float)
    hf = np.asarray(hf_ms2, dtype=float)
    total = lf + hf
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 100.0 * hf / total, np.nan)


# -- PNS / SNS ------------------------------------------------------------------------------------
def _z(values: np.ndarray, norm: Norm) -> np.ndarray:
    return (np.asarray(values, dtype=float) - norm.mean) / norm.sd


def pns_index(mean_rr_ms: np.ndarray, rmssd_ms: np.ndarray, sd1_ms: np.ndarray,
              norms: Mapping[str, Norm] = NORMS) -> np.ndarray:
    """Parasympathetic (PNS) index: mean of the z-scores of mean RR, RMSSD and SD1.

    Parameters
    ----------
    mean_rr_ms, rmssd_ms, sd1_ms : array of float
        Per-window mean RR, RMSSD and Poincare SD1, in ms.
    norms : mapping of str to Norm
        Reference mean and SD per Windows column; defaults to :data:`~calmtrace.signals.norms.NORMS`.

    Returns
    -------
    numpy.ndarray
        Index (dimensionless): 0 at the reference mean, positive = more vagal activity.
    """
    return (_z(mean_rr_ms, norms["mean_rr_ms"]) + _z(rmssd_ms, norms["rmssd_ms"])
            + _z(sd1_ms, norms["sd1_ms"])) / 3.0


def sns_index(mean_hr_bpm: np.ndarray, stress_index: np.ndarray, sd2_ms: np.ndarray,
              norms: Mapping[str, Norm] = NORMS) -> np.ndarray:
    """Sympathetic (SNS) index: mean of z(mean HR), z(stress index) and -z(SD2).

    Parameters
    ----------
    mean_hr_bpm : array of float
        Per-window mean heart rate in beats/min.
    stress_index : array of float
        Per-window square root of Baevsky's SI (the ``stress_index`` column).
    sd2_ms : array of float
        Per-window Poincare SD2 in ms; its z-score enters with a minus sign.
    norms : mapping of str to Norm
        Reference mean and SD per Windows column.

    Returns
    -------
    numpy.ndarray
        Index (dimensionless): 0 at the reference mean, positive = more sympathetic drive.
    """
    return (_z(mean_hr_bpm, norms["mean_hr_bpm"]) + _z(stress_index, norms["stress_index"])
            - _z(sd2_ms, norms["sd2_ms"])) / 3.0


def baseline_z(windows: pd.DataFrame, baseline_mask: np.ndarray | pd.Series) -> pd.DataFrame:
    """z-scores of the balance features against the session's own baseline windows.

    The reference mean and SD of each feature come from the windows selected by
    ``baseline_mask`` that are also ``valid``; overlapping windows are not independent, so the SD
    is the spread of the windowed values over the baseline, not a sampling error. The PNS and SNS
    indices are then recomputed with these personal references in place of population norms.

    Parameters
    ----------
    windows : pandas.DataFrame
        A Windows table from :func:`calmtrace.signals.hrv.windowed_hrv`.
    baseline_mask : array of bool
        One entry per window: True for windows inside the baseline period.

    Returns
    -------
    pandas.DataFrame
        Same index as ``windows``: ``start_s``, ``end_s``, ``<feature>_z`` for mean_rr_ms,
        rmssd_ms, sd1_ms, mean_hr_bpm, stress_index and sd2_ms, then ``pns_index`` and
        ``sns_index``. ``attrs["baseline"]`` holds each feature's baseline mean, SD and window
        count.

    Raises
    ------
    InputError
        If the mask is not one boolean per window or a column is missing.
    AnalysisError
        If fewer than two valid baseline windows have a value for some feature, or its baseline
        SD is zero.
    """
    missing = [c for c in ("start_s", "end_s", "valid", *BALANCE_FEATURES) if c not in windows.columns]
    if missing:
        raise InputError(f"baseline_z: windows table lacks column(s) {', '.join(missing)}")
    mask = np.asarray(baseline_mask)
    if mask.shape != (len(windows),) or mask.dtype != bool:
        raise InputError(
            f"baseline_z: baseline_mask must be {len(windows)} booleans (one per window), "
            f"got shape {mask.shape} dtype {mask.dtype}"
        )
    use = mask & windows["valid"].to_numpy(dtype=bool)
    refs: dict[str, Norm] = {}
    n_used: dict[str, int] = {}
    for col in BALANCE_FEATURES:
        v = windows[col].to_numpy(dtype=float)[use]
        v = v[np.isfinite(v)]
        if v.size < 2:
            raise AnalysisError(
                f"baseline_z: {col} needs at least 2 valid baseline windows, found {v.size} "
                f"(of {int(mask.sum())} windows in the baseline)"
            )
        sd = float(np.std(v, ddof=1))
        if sd == 0.0:
            raise AnalysisError(f"baseline_z: {col} does not vary over the baseline (SD 0)")
        refs[col] = Norm(float(np.mean(v)), sd, "", "session baseline")
        n_used[col] = int(v.size)
    out = pd.DataFrame({"start_s": windows["start_s"], "end_s": windows["end_s"]}, index=windows.index)
    for col in BALANCE_FEATURES:
        out[f"{col}_z"] = _z(windows[col].to_numpy(dtype=float), refs[col])
    out["pns_index"] = pns_index(windows["mean_rr_ms"], windows["rmssd_ms"], windows["sd1_ms"], refs)
    out["sns_index"] = sns_index(windows["mean_hr_bpm"], windows["stress_index"], windows["sd2_ms"], refs)
    out.attrs["baseline"] = {c: {"mean": r.mean, "sd": r.sd, "n_windows": n_used[c]}
                             for c, r in refs.items()}
    log.debug("baseline_z: references %s", out.attrs["baseline"])
    return out
