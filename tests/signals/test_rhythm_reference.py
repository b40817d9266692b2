"""windowed_rhythm against a straightforward per-window reference implementation.

:func:`calmtrace.signals.rhythm.windowed_rhythm` judges all windows at once (binary searches for
window bounds and runs, Dash et al.'s statistics of many 128-beat segments per block, gap breaks by
binary search). The reference below does the same rule one window at a time with plain loops and
the one-segment :func:`rhythm_features`: beats of the window by a boolean mask, breaks in the
recorded beats from every gap row in turn, the 128-beat segment around the window's centre inside
its gap-free run, the ectopic share counted beat by beat, then the bridging and persistence rules
over the window list. Labels must agree exactly, statistics to rounding.

Series: independent random RR (atrial-fibrillation-like) between sinus stretches, a stretch of
frequent premature beats (persistent ectopy), missing beats and gap rows; and the shared
atrial-fibrillation case. The block size is shrunk so that the blocked path runs over many blocks.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from calmtrace.recording import Recording
from calmtrace.signals import rhythm as rhythm_mod
from calmtrace.signals.clean import clean
from calmtrace.signals.hrv import windowed_hrv
from calmtrace.signals.rhythm import RhythmConfig, describe_windows, rhythm_features, windowed_rhythm
from tests.conftest import SHARED_DATA

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
NOT_SINUS = ("irregular", "ectopy")


def _reference(recorded: Recording, cleaned: Recording, windows: pd.DataFrame, cfg: RhythmConfig) -> pd.DataFrame:
    t, rr = recorded.t_s, recorded.rr_ms
    n = t.size
    brk = [False] * n
    for i in range(1, n):
        if (t[i] - t[i - 1]) * 1000.0 - rr[i] > 250.0:
            brk[i] = True
        for g0, d in zip(recorded.gaps["onset_s"], recorded.gaps["duration_s"]):
            if g0 < t[i] and g0 + d >= t[i - 1]:
                brk[i] = True
    run_of = np.cumsum(brk)
    tc, ectopic = cleaned.t_s, np.asarray(cleaned.flags == "ectopic")
    rows = []
    for s, e in zip(windows["start_s"], windows["end_s"]):
        inside = np.flatnonzero((t >= s) & (t < e))
        cin = np.flatnonzero((tc >= s) & (tc < e))
        share = ectopic[cin].sum() / cin.size if cin.size else math.nan
        if inside.size == 0:
            rows.append(("unknown", math.nan, math.nan, math.nan, share))
            continue
        c = int(np.searchsorted(t, (s + e) / 2.0))
        c = min(max(c, inside[0]), inside[-1])
        members = np.flatnonzero(run_of == run_of[c])
        a0, b0 = members[0], members[-1] + 1
        seg_b = min(b0, max(a0, c - cfg.segment_beats // 2) + cfg.segment_beats)
        seg_a = max(a0, seg_b - cfg.segment_beats)
        f = rhythm_features(rr[seg_a:seg_b], cfg)
        if math.isnan(f["irregular"]):
            label = "unknown"
        elif f["irregular"] == 1.0:
            label = "irregular"
        elif share > cfg.ectopy_share:
            label = "ectopy"
        else:
            label = "sinus"
        rows.append((label, f["nrmssd"], f["tpr"], f["entropy"], share))
    out = pd.DataFrame(rows, columns=["rhythm", "nrmssd", "tpr", "rr_entropy", "ectopic_share"], index=windows.index)
    centre = ((windows["start_s"] + windows["end_s"]) / 2.0).to_list()
    lab = out["rhythm"].to_list()
    # bridging: a sinus/unknown stretch between two non-sinus windows, short enough, takes the label before it
    if sum(x in NOT_SINUS for x in lab) >= 2 and cfg.bridge_s > 0:
        new = list(lab)
        i = 0
        while i < len(lab):
            if lab[i] in NOT_SINUS:
                i += 1
                continue
            j = i
            while j < len(lab) and lab[j] not in NOT_SINUS:
                j += 1
            if i > 0 and j < len(lab) and centre[j] - centre[i - 1] <= cfg.bridge_s:
                new[i:j] = [lab[i - 1]] * (j - i)
            i = j
        lab = new
    # persistence: non-sinus stretches shorter than min_duration_s become sinus
    if cfg.min_duration_s > 0:
        new = list(lab)
        i = 0
        while i < len(lab):
            if lab[i] not in NOT_SINUS:
                i += 1
                continue
            j = i
            while j < len(lab) and lab[j] in NOT_SINUS:
                j += 1
            if centre[j - 1] - centre[i] < cfg.min_duration_s:
                new[i:j] = ["sinus"] * (j - i)
            i = j
        lab = new
    out["rhythm"] = lab
    return out


def _series(seed: int) -> Recording:
    """Sinus, an AF-like stretch, sinus with a stretch of frequent premature beats, missing beats and a gap."""
    rng = np.random.default_rng(seed)
    parts = []
    n1 = 900
    tt = np.arange(n1) * 0.85
    parts.append(850 * (1 + 0.05 * np.sin(2 * np.pi * 0.25 * tt + rng.uniform(0, 6))) + rng.normal(0, 8, n1))
    parts.append(rng.normal(700, 0.2 * 700, 700).clip(300, 2000))                      # irregular
    n3 = 900
    s3 = 900 * (1 + 0.04 * np.sin(2 * np.pi * 0.2 * np.arange(n3) * 0.9)) + rng.normal(0, 6, n3)
    pvc = np.flatnonzero(rng.random(n3 - 1) < 0.3)
    pvc = pvc[np.diff(np.concatenate([[-2], pvc])) > 1]                                 # not two in a row
    s3[pvc] *= 0.6                                                                      # premature
    s3[pvc + 1] *= 1.4                                                                  # compensatory pause
    parts.append(s3)
    parts.append(rng.normal(800, 0.15 * 800, 400).clip(300, 2000))                     # irregular again
    parts.append(800 + rng.normal(0, 10, 600))
    rr = np.concatenate(parts)
    t = np.cumsum(rr) / 1000.0
    keep = np.ones(rr.size, dtype=bool)
    keep[rng.choice(rr.size, 25, replace=False)] = False                                # missing beats
    t, rr = t[keep], rr[keep]
    gap_at = [float(t[1200]) + 0.1, float(t[2500]) - 3.0]
    gaps = pd.DataFrame({"onset_s": gap_at, "duration_s": [2.0, 0.0], "reason": ["disconnect", "dropped-notification"]})
    return Recording(START, pd.DataFrame({"t_s": t, "rr_ms": rr}), gaps=gaps)


def _compare(rec: Recording, cfg: RhythmConfig, monkeypatch) -> pd.DataFrame:
    cleaned = clean(rec)
    win = windowed_hrv(cleaned, window_s=60.0, step_s=5.0)
    monkeypatch.setattr(rhythm_mod, "_BLOCK", 7)
    got = windowed_rhythm(rec, cleaned, win, cfg)
    want = _reference(rec, cleaned, win, cfg)
    assert got["rhythm"].to_list() == want["rhythm"].to_list()
    for c in ("nrmssd", "tpr", "rr_entropy", "ectopic_share"):
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=c)
    # the run-length coding of describe_windows against a loop over the windows
    runs = describe_windows(win, got["rhythm"], cfg, 60.0, 5.0, log_warnings=False)["runs"]
    k = np.round(win["start_s"].to_numpy(float) / 5.0).astype(int)
    loop: list[list] = []
    for r, ki in zip(got["rhythm"], k.tolist()):
        if loop and loop[-1][0] == r and loop[-1][2] == ki - 1:
            loop[-1][2] = ki
        else:
            loop.append([r, ki, ki])
    assert runs == loop
    return got


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windowed_rhythm_equals_the_per_window_reference(seed, monkeypatch):
    got = _compare(_series(seed), RhythmConfig(), monkeypatch)
    # the series has what it is meant to have, so the comparison covers every label
    assert {"sinus", "irregular"} <= set(got["rhythm"])


def test_reference_agreement_covers_ectopy_and_unknown(monkeypatch):
    # a shorter segment and a lower ectopy share: more windows judged ectopy, and short runs unknown
    cfg = RhythmConfig(segment_beats=48, min_beats=40, ectopy_share=0.1, min_duration_s=10.0, bridge_s=20.0)
    got = _compare(_series(3), cfg, monkeypatch)
    assert {"sinus", "irregular", "ectopy"} <= set(got["rhythm"])


def test_random_rr_equals_the_reference(monkeypatch):
    rng = np.random.default_rng(7)
    rr = np.where(rng.random(3000) < 0.5, rng.normal(800, 160, 3000), rng.normal(800, 20, 3000)).clip(300, 2000)
    t = np.cumsum(rr) / 1000.0
    _compare(Recording(START, pd.DataFrame({"t_s": t, "rr_ms": rr})), RhythmConfig(), monkeypatch)


def test_af_case_equals_the_reference(monkeypatch):
    p = SHARED_DATA.parent / "cases" / "atrial-fibrillation" / "af_cv50.txt"
    if not p.exists():
        pytest.skip(f"quirk case {p} is absent (../shared/cases is not beside this checkout)")
    from calmtrace.loader import load

    got = _compare(load(p), RhythmConfig(), monkeypatch)
    assert "irregular" in set(got["rhythm"])
