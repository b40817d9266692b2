"""What a chest strap gets wrong: disconnect gaps and artefacts (ectopic, missed and extra beats).

Part of step 4 of the simulator (the overview is in :mod:`calmtrace.signals.simulate`), applied to
beat times already rounded to the strap's resolution. ``_cut_gaps`` removes the beats inside random
disconnect spans and returns the gaps table; ``_add_artifacts`` makes a share of the remaining
beats ectopic, missed or extra and returns which ones, for ``meta["truth"]``. Each takes its own
random generator (``simulate_protocol`` seeds them ``[seed, 1]`` and ``[seed, 2]``), so the same
seed gives the same beats with or without artefacts and gaps.

References (cited where used): Lipponen & Tarvainen 2019 (the artefact types).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["ARTIFACT_TYPES"]

#: Artefact types :func:`simulate` can put into the beats (Lipponen & Tarvainen 2019).
ARTIFACT_TYPES: tuple[str, ...] = ("ectopic", "missed", "extra")


# -------------------------------------------------------------------------------------------
# the strap: gaps, artefacts
# -------------------------------------------------------------------------------------------
def _cut_gaps(rng: np.random.Generator, t_ms: np.ndarray, rr_ms: np.ndarray, n_gaps: int,
              duration_s: float, gap_s: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Remove the beats inside ``n_gaps`` random disconnect spans; return beats and gaps table."""
    margin_s = 10.0
    durs = rng.uniform(gap_s[0], gap_s[1], n_gaps)
    free = duration_s - 2 * margin_s - durs.sum() - max(n_gaps - 1, 0) * margin_s
    if free <= 0:
        raise InputError(
            f"simulate: {n_gaps} gaps of {gap_s[0]:g}-{gap_s[1]:g} s do not fit in {duration_s:g} s"
        )
    offsets = np.sort(rng.uniform(0.0, free, n_gaps))
    before = np.concatenate(([0.0], np.cumsum(durs)[:-1]))
    onsets = margin_s + offsets + before + np.arange(n_gaps) * margin_s
    onsets = np.round(onsets, 3)
    durs = np.round(durs, 3)
    t_s = t_ms / 1000.0
    inside = np.zeros(t_ms.size, bool)
    for on, d in zip(onsets, durs):
        inside |= (t_s >= on) & (t_s < on + d)
    gaps = pd.DataFrame({"onset_s": onsets, "duration_s": durs, "reason": ["disconnect"] * n_gaps})
    return t_ms[~inside], rr_ms[~inside], gaps


def _pick_spaced(rng: np.random.Generator, candidates: np.ndarray, n: int, spacing: int) -> np.ndarray:
    """n indices from candidates, in random order, at least ``spacing`` apart."""
    taken: list[int] = []
    blocked: set[int] = set()
    for i in rng.permutation(candidates):
        if len(taken) == n:
            break
        if int(i) in blocked:
            continue
        taken.append(int(i))
        blocked.update(range(int(i) - spacing + 1, int(i) + spacing))
    if len(taken) < n:
        raise InputError(f"simulate: cannot place {n} artefacts at least {spacing} beats apart in "
                         f"{candidates.size} beats; lower artifact_pct")
    return np.sort(np.array(taken, dtype=int))


def _add_artifacts(rng: np.random.Generator, t_ms: np.ndarray, rr_ms: np.ndarray, artifact_pct: float,
                   resolution_ms: float) -> tuple[np.ndarray, np.ndarray, list[int], list[str]]:
    """Make ``artifact_pct`` % of the beats ectopic, missed or extra; return beats and the truth.

    - ectopic at i: beat i comes early (after 60-80 % of its interval) and the next interval is
      longer by as much (full compensatory pause); index i is the premature beat.
    - missed at i: beat i is lost, its interval merges into the next; the index is that of the
      long merged interval.
    - extra at i: a spurious beat splits interval i at 35-65 %; the index is the spurious beat.
    """
    n = t_ms.size
    n_art = int(round(artifact_pct / 100.0 * n))
    if n_art == 0:
        return t_ms, rr_ms, [], []
    # beat i is "contiguous" when its interval starts at the previous beat (no gap in between)
    contiguous = np.zeros(n, bool)
    contiguous[1:] = np.abs((t_ms[1:] - rr_ms[1:]) - t_ms[:-1]) < 0.5 * resolution_ms
    ok = np.zeros(n, bool)
    ok[2:n - 2] = contiguous[2:n - 2] & contiguous[3:n - 1]
    idx = _pick_spaced(rng, np.flatnonzero(ok), n_art, spacing=4)
    kinds = rng.choice(np.array(ARTIFACT_TYPES, dtype=object), size=idx.size)
    frac = rng.uniform(0.0, 1.0, idx.size)
    t, rr = t_ms.astype(float).copy(), rr_ms.astype(float).copy()
    keep = np.ones(n, bool)
    label = np.array([""] * n, dtype=object)
    new_t, new_rr = [], []

    def q(x: float) -> float:
        return max(resolution_ms, round(x / resolution_ms) * resolution_ms)

    for i, kind, u in zip(idx, kinds, frac):
        if kind == "ectopic":
            short = q((0.6 + 0.2 * u) * rr[i])
            delta = rr[i] - short
            t[i] -= delta
            rr[i] = short
            rr[i + 1] += delta
            label[i] = "ectopic"
        elif kind == "missed":
            keep[i] = False
            rr[i + 1] += rr[i]
            label[i + 1] = "missed"
        else:
            first = q((0.35 + 0.3 * u) * rr[i])
            new_t.append(t[i] - rr[i] + first)
            new_rr.append(first)
            rr[i] -= first
    all_t = np.concatenate((t[keep], np.array(new_t, float)))
    all_rr = np.concatenate((rr[keep], np.array(new_rr, float)))
    all_label = np.concatenate((label[keep], np.array(["extra"] * len(new_t), dtype=object)))
    order = np.argsort(all_t, kind="stable")
    all_t, all_rr, all_label = all_t[order], all_rr[order], all_label[order]
    where = np.flatnonzero(all_label != "")
    return all_t, all_rr, [int(i) for i in where], [str(s) for s in all_label[where]]
