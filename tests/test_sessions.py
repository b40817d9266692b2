"""Many sessions of one person (calmtrace.sessions): on the weekly samples, heart rate's time to
baseline follows the simulated recovery, which gets faster every week."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from calmtrace.sessions import collect_trend

WEEKLY = Path(__file__).resolve().parents[1] / "recordings" / "sample" / "weekly"


def _inversions(values) -> int:
    return int(np.sum(np.diff(np.asarray(values, float)) > 0))


def test_weekly_hr_time_to_baseline_decreases_with_at_most_one_inversion():
    trend = collect_trend([WEEKLY])
    truth = [json.loads((d / "recording.json").read_text())["meta"]["truth"] for d in sorted(WEEKLY.iterdir())]
    for label in ("arithmetic",):
        true_tau = [next(s["tau_s"] for s in t["stressors"] if s["label"] == label) for t in truth]
        assert _inversions(true_tau) == 0 and true_tau[0] > true_tau[-1]     # the simulated truth
        st = trend.stressors[trend.stressors["label"] == label]
        ttb = st["time_to_baseline_s"].to_numpy(float)
        assert len(ttb) == 8 and np.isfinite(ttb).all() and not st["ttb_censored"].any()
        assert ttb[0] > ttb[-1] and _inversions(ttb) <= 1, ttb


def test_a_stressor_followed_at_once_says_so_in_the_trend():
    trend = collect_trend([WEEKLY / "week-01"])
    speech = trend.stressors[trend.stressors["label"] == "speech"].iloc[0]
    assert speech["note"].startswith("followed at once by stressor 'arithmetic'")
