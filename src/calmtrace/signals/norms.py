"""Normative (population) values of short-term HRV features, each with its source.

The PNS and SNS indices of :mod:`calmtrace.signals.balance` are means of z-scores against these
values. Where a source publishes a feature directly it is used as published; where it does not, the
value is *derived* from published ones by a stated identity, and the derivation is written out in
code below so that anyone can check it.

Primary source for resting short-term (about 5 min) values in healthy adults:

Nunan D, Sandercock GRH, Brodie DA (2010). A quantitative systematic review of normal values for
short-term heart rate variability in healthy adults. Pacing Clin Electrophysiol 33(11):1407-1417.
doi:10.1111/j.1540-8159.2010.02841.x (44 studies, 21,438 participants; values are mean +- SD).

These are population figures for 5-minute resting recordings. A z-score against them says where a
window sits relative to healthy adults at rest, not whether that person is unwell: age, sex, posture,
breathing rate and window length all move these values (Shaffer & Ginsberg 2017). For a person's
change from their own rest, use :func:`calmtrace.signals.balance.baseline_z`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Norm", "NORMS", "NUNAN_2010"]

NUNAN_2010 = (
    "Nunan, Sandercock & Brodie 2010, Pacing Clin Electrophysiol 33:1407-1417, "
    "doi:10.1111/j.1540-8159.2010.02841.x"
)


@dataclass(frozen=True)
class Norm:
    """Mean and standard deviation of one feature in a healthy reference population.

    Attributes
    ----------
    mean : float
        Population mean, in ``unit``.
    sd : float
        Between-person standard deviation, in ``unit``.
    unit : str
        Unit of ``mean`` and ``sd`` (``ms``, ``bpm``, ``ms2``, ``%``, or ``1`` for none).
    source : str
        Citation, and the derivation where the value is not published as such.
    """

    mean: float
    sd: float
    unit: str
    source: str

    def z(self, value: float) -> float:
        """z-score of ``value``: ``(value - mean) / sd``."""
        return (value - self.mean) / self.sd


# -- published directly (Nunan et al. 2010, table of pooled normal values) ---------------------
_MEAN_RR = Norm(926.0, 90.0, "ms", NUNAN_2010)
_SDNN = Norm(50.0, 16.0, "ms", NUNAN_2010)
_RMSSD = Norm(42.0, 15.0, "ms", NUNAN_2010)
_LF = Norm(519.0, 291.0, "ms2", NUNAN_2010)
_HF = Norm(657.0, 777.0, "ms2", NUNAN_2010)
_LF_HF = Norm(2.8, 2.6, "1", NUNAN_2010)
_HF_NU = Norm(40.0, 10.0, "%", NUNAN_2010)

# -- derived ---------------------------------------------------------------------------------
# Mean heart rate: 60000 / mean RR, its SD by the delta method (|d(60000/x)/dx| = 60000 / x^2).
_MEAN_HR = Norm(
    60000.0 / _MEAN_RR.mean,
    60000.0 * _MEAN_RR.sd / _MEAN_RR.mean**2,
    "bpm",
    f"derived from mean RR 926 +- 90 ms ({NUNAN_2010}): 60000/RR, SD by the delta method",
)

# SD1 = RMSSD / sqrt(2) (Brennan, Palaniswami & Kamen 2001, IEEE TBME 48:1342; Ciccone et al.
# 2017, Muscle Nerve 56:674), a linear map, so mean and SD both scale by 1/sqrt(2).
_SD1 = Norm(
    _RMSSD.mean / math.sqrt(2.0),
    _RMSSD.sd / math.sqrt(2.0),
    "ms",
    f"derived from RMSSD 42 +- 15 ms ({NUNAN_2010}) by SD1 = RMSSD/sqrt(2) (Brennan et al. 2001)",
)

# SD2^2 = 2 SDNN^2 - SD1^2 (Brennan et al. 2001). Mean at the mean values; SD by the delta method
# assuming SDNN and RMSSD uncorrelated across people. They are positively correlated in reality,
# which would make the true SD smaller: this SD is an upper bound, so SD2 z-scores are conservative.
_SD2_MEAN = math.sqrt(2.0 * _SDNN.mean**2 - _SD1.mean**2)
_SD2_SD = math.sqrt(
    (2.0 * _SDNN.mean / _SD2_MEAN * _SDNN.sd) ** 2 + (_SD1.mean / _SD2_MEAN * _SD1.sd) ** 2
)
_SD2 = Norm(
    _SD2_MEAN,
    _SD2_SD,
    "ms",
    f"derived from SDNN 50 +- 16 and RMSSD 42 +- 15 ms ({NUNAN_2010}) by SD2^2 = 2 SDNN^2 - SD1^2 "
    "(Brennan et al. 2001); SD by the delta method assuming SDNN, RMSSD uncorrelated (upper bound)",
)

# Stress index, as Kubios reports it: the square root of Baevsky's SI (50 ms histogram bins).
# Baevsky & Berseneva (2008, Methodical recommendations for the KARDiVAR system, Moscow-Prague)
# give 50-150 conventional units as the normal range of SI. We read that range as the central 95%
# of a normal distribution of sqrt(SI): mean = midpoint of sqrt(50)..sqrt(150), SD = width / 3.92.
_SQRT_SI_LO, _SQRT_SI_HI = math.sqrt(50.0), math.sqrt(150.0)
_STRESS_INDEX = Norm(
    (_SQRT_SI_LO + _SQRT_SI_HI) / 2.0,
    (_SQRT_SI_HI - _SQRT_SI_LO) / (2.0 * 1.96),
    "1",
    "derived from the normal SI range 50-150 c.u. (Baevsky & Berseneva 2008), read as the central "
    "95% of sqrt(SI)",
)

#: Normative values keyed by the Windows column they apply to.
NORMS: dict[str, Norm] = {
    "mean_rr_ms": _MEAN_RR,
    "mean_hr_bpm": _MEAN_HR,
    "sdnn_ms": _SDNN,
    "rmssd_ms": _RMSSD,
    "sd1_ms": _SD1,
    "sd2_ms": _SD2,
    "stress_index": _STRESS_INDEX,
    "lf_ms2": _LF,
    "hf_ms2": _HF,
    "lf_hf": _LF_HF,
    "hf_nu": _HF_NU,
}
