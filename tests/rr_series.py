"""RR series for the rhythm tests: a sinus rhythm and an irregular (atrial-fibrillation-like) one."""

from __future__ import annotations

import numpy as np


def sinus_rr(n: int, mean_rr: float, seed: int) -> np.ndarray:
    """``n`` RR intervals (ms) of sinus rhythm: respiratory (0.25 Hz) and 0.1-Hz modulation of 5 %
    and 3 %, plus 1 % beat-to-beat noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * mean_rr / 1000.0
    return (mean_rr * (1 + 0.05 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6))
                       + 0.03 * np.sin(2 * np.pi * 0.1 * t)) + rng.normal(0, 0.01 * mean_rr, n))


def irregular_rr(n: int, mean_rr: float, cv: float, seed: int) -> np.ndarray:
    """``n`` RR intervals (ms) independent from beat to beat (atrial-fibrillation-like), normal with
    the given coefficient of variation, clipped to 250-2500 ms."""
    return np.random.default_rng(seed).normal(mean_rr, cv * mean_rr, n).clip(250, 2500)
