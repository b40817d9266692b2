"""A breathing pacer: where in the breath the person should be, and the event that logs it.

The pacer is a pure function of the capture clock: a breath lasts ``60 / rate_bpm`` s, of which the
share ``inhale / (inhale + exhale)`` is the inhale. Exhaling longer than inhaling is the usual
instruction in HRV biofeedback (Lehrer & Gevirtz 2014 suggest a slightly longer exhale; a ratio of
1:1 is the default of Lehrer, Vaschillo & Vaschillo 2000). The intervention is logged as an
``intervention`` event labelled with the rate and ratio (``paced breathing 6/min (in:ex 1:1.5)``)
from when the pacer starts to when it stops, so the report links recovery to it.

``--pacer`` takes ``RATE`` or ``RATE,IN:EX`` (``6``, ``5.5,1:1.5``, ``6,4:6``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["Pacer", "PacerState", "parse_pacer", "pacer_label", "rate_from_label", "RATE_RANGE_BPM"]

#: Breathing rates the pacer accepts, breaths/min: from the slowest rate of the resonance
#: assessment range used clinically (3/min) to a normal spontaneous rate (20/min).
RATE_RANGE_BPM = (3.0, 20.0)

_LABEL = re.compile(r"^paced breathing ([0-9]+(?:\.[0-9]+)?)/min")


@dataclass(frozen=True)
class PacerState:
    """Where the pacer is at one moment.

    Attributes
    ----------
    phase : str
        ``inhale`` or ``exhale``.
    fraction : float
        How far into that phase, 0-1.
    remaining_s : float
        Seconds left in that phase.
    breath : int
        Number of the breath since the pacer started (0 first).
    """

    phase: str
    fraction: float
    remaining_s: float
    breath: int


@dataclass(frozen=True)
class Pacer:
    """A breathing pacer started at ``t0_s`` on the capture clock.

    Parameters
    ----------
    rate_bpm : float
        Breaths per minute, within :data:`RATE_RANGE_BPM`.
    inhale, exhale : float
        Relative lengths of inhale and exhale (1 and 1 by default), > 0.
    t0_s : float
        Capture time of the first inhale, s.
    """

    rate_bpm: float
    inhale: float = 1.0
    exhale: float = 1.0
    t0_s: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = RATE_RANGE_BPM
        if not (math.isfinite(self.rate_bpm) and lo <= self.rate_bpm <= hi):
            raise InputError(f"pacer: rate must be {lo:g}-{hi:g} breaths/min, got {self.rate_bpm!r}")
        if not (self.inhale > 0 and self.exhale > 0 and math.isfinite(self.inhale + self.exhale)):
            raise InputError(f"pacer: inhale and exhale must be > 0, got {self.inhale!r}:{self.exhale!r}")

    @property
    def period_s(self) -> float:
        """Length of one breath, s."""
        return 60.0 / self.rate_bpm

    @property
    def inhale_s(self) -> float:
        """Length of the inhale, s."""
        return self.period_s * self.inhale / (self.inhale + self.exhale)

    @property
    def label(self) -> str:
        """The intervention event's label."""
        return pacer_label(self.rate_bpm, self.inhale, self.exhale)

    def at(self, t_s: float) -> PacerState:
        """The pacer's state at capture time ``t_s`` (s); before ``t0_s`` it waits to inhale."""
        if t_s < self.t0_s:
            return PacerState("exhale", 1.0, self.t0_s - t_s, -1)
        x = t_s - self.t0_s
        k = int(x // self.period_s)
        r = x - k * self.period_s
        if r < self.inhale_s:
            return PacerState("inhale", r / self.inhale_s, self.inhale_s - r, k)
        ex = self.period_s - self.inhale_s
        return PacerState("exhale", (r - self.inhale_s) / ex, self.period_s - r, k)


def _fmt(x: float) -> str:
    return f"{x:g}"


def pacer_label(rate_bpm: float, inhale: float = 1.0, exhale: float = 1.0) -> str:
    """``paced breathing 6/min (in:ex 1:1.5)``: the label of the pacer's event."""
    return f"paced breathing {_fmt(rate_bpm)}/min (in:ex {_fmt(inhale)}:{_fmt(exhale)})"


def rate_from_label(label: str) -> float:
    """The rate (breaths/min) in a pacer event's label, NaN when the label is not one."""
    m = _LABEL.match(str(label))
    return float(m.group(1)) if m else math.nan


def parse_pacer(text: str, t0_s: float = 0.0) -> Pacer:
    """A :class:`Pacer` from ``RATE`` or ``RATE,IN:EX`` (``"6"``, ``"5.5,1:1.5"``).

    Raises
    ------
    InputError
        Naming what was expected and what was found.
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(?:,\s*([0-9]*\.?[0-9]+)\s*:\s*([0-9]*\.?[0-9]+)\s*)?", str(text))
    if not m:
        raise InputError(f"--pacer: expected RATE or RATE,IN:EX (e.g. 6 or 5.5,1:1.5), got {text!r}")
    rate = float(m.group(1))
    inhale = float(m.group(2)) if m.group(2) else 1.0
    exhale = float(m.group(3)) if m.group(3) else 1.0
    return Pacer(rate, inhale, exhale, t0_s)
