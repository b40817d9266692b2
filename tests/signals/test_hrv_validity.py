"""Window validity counts corrected events; zero variability gives zero spectra and undefined ratios.

Truth is built here: premature beats inserted at known places into a sinus series (each event
changes two intervals and is corrected by moving one beat), missed beats (an inserted beat and the
beat closing its interval: one event), and the paced series of the shared constant-rr case (400
intervals of exactly 800 ms, whose LF and HF power is zero by definition).
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.analysis import AnalysisConfig, analyze
from calmtrace.recording import Recording
from calmtrace.signals.clean import clean
from calmtrace.signals.hrv import EVENT_FLAGS, windowed_hrv
from tests.conftest import shared_case

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def _sinus(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.85
    return 850 + 35 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6)) + rng.normal(0, 8, n)


def test_an_ectopic_event_counts_once():
    rr = _sinus(400, seed=1)
    events = np.arange(20, 380, 25)                 # one premature beat every 25 beats: 4 %
    for k in events:
        rr[k + 1] += 0.35 * rr[k]
        rr[k] *= 0.65
    rec = Recording(START, pd.DataFrame({"t_s": np.cumsum(rr) / 1000, "rr_ms": rr}))
    cleaned = clean(rec)
    win = windowed_hrv(cleaned, window_s=60.0, step_s=5.0)
    # by hand: events = beats whose flag is an event flag, per 100 beats of the window
    t, f = cleaned.t_s, cleaned.flags
    for row in win.itertuples():
        inside = (t >= row.start_s) & (t < row.end_s)
        assert row.artifact_pct == pytest.approx(100 * np.isin(f[inside], EVENT_FLAGS).sum() / inside.sum())
    # 4 % ectopic events: every window keeps under the 5 % rule and stays valid (three flagged
    # beats per event, as before, put most windows at 10-12 %)
    assert win["artifact_pct"].max() <= 5.0
    assert win["valid"].all()


def test_a_missed_beat_is_one_event():
    beats = pd.DataFrame({"t_s": [1.0, 2.0, 2.5, 3.0, 4.0], "rr_ms": [1000.0, 1000.0, 500.0, 500.0, 1000.0],
                          "flag": ["ok", "ok", "interpolated", "missed", "ok"]})
    win = windowed_hrv(Recording(START, beats), window_s=4.0, step_s=4.0,
                       config=calmtrace.signals.hrv.HRVConfig(min_window_s=1.0))
    # the window [0, 4) holds the beats at 1, 2, 2.5 and 3 s: one event in four beats
    assert win["artifact_pct"].iloc[0] == pytest.approx(100 * 1 / 4)


def test_constant_rr_gives_zero_power_and_undefined_ratios_with_a_reason():
    rec = calmtrace.load(shared_case("constant-rr", "paced_800ms.txt"))
    assert np.all(rec.rr_ms == 800.0)
    res = analyze(rec, AnalysisConfig.from_dict({"windows": {"window_s": 120.0}}))
    w = res.windows
    assert len(w) > 0
    assert (w["lf_ms2"] == 0.0).all() and (w["hf_ms2"] == 0.0).all()
    assert w["lf_hf"].isna().all() and w["hf_nu"].isna().all()
    assert (w["sdnn_ms"] == 0.0).all() and (w["rmssd_ms"] == 0.0).all()
    notes = res.recording.meta["hrv"]["notes"]
    assert "zero variability" in notes["lf_hf"] and "zero variability" in notes["hf_nu"]
    warning = res.summary.set_index("item").loc["hrv_warning", "value"]
    assert str(warning).startswith(f"zero variability: {len(w)} of {len(w)} windows")
    # a paced rhythm is regular: no rhythm flag
    assert (w["rhythm"] == "sinus").all()


def test_variable_windows_keep_their_spectra():
    rr = _sinus(400, seed=2)
    rr[200:300] = 800.0                            # a paced stretch in the middle
    rec = Recording(START, pd.DataFrame({"t_s": np.cumsum(rr) / 1000, "rr_ms": rr}))
    win = windowed_hrv(rec, window_s=60.0, step_s=5.0)
    t = rec.t_s
    flat = (win["start_s"] >= t[200]) & (win["end_s"] <= t[299])
    assert flat.any() and (win.loc[flat, "hf_ms2"] == 0.0).all() and win.loc[flat, "hf_nu"].isna().all()
    assert (win.loc[~flat, "hf_ms2"].dropna() > 0).all()
    assert len(win.attrs["hrv"]["warnings"]) == 1
