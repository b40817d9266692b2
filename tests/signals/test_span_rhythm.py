"""Span HRV (``calmtrace.hrv``, ``hrv_by_event``) says which rhythm each span was in.

The rhythm is the one of :mod:`calmtrace.signals.rhythm` (what ``analyze`` and ``info`` use). The
expected rhythms come from how the inputs were made, never from calmtrace: the shared
``atrial-fibrillation`` case (its README: RR independent from beat to beat, CV 0.14), simulated
sinus recordings, and series built here from independent RR (irregular) between sinus stretches.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.events import Event, Events
from calmtrace.recording import Recording
from calmtrace.signals.config import RhythmConfig, SegmentConfig
from calmtrace.signals.rhythm import NOT_SINUS_MESSAGE, RATE_METRICS
from calmtrace.signals.segment import SEGMENT_METRICS, hrv, hrv_by_event
from tests.conftest import shared_case
from tests.rr_series import irregular_rr, sinus_rr

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
VARIABILITY = [m for m in SEGMENT_METRICS if m not in RATE_METRICS]


def _rec(rr, events=None) -> Recording:
    rr = np.asarray(rr, float)
    return Recording(START, pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0, "rr_ms": rr}), events=events)


def _af() -> Recording:
    return calmtrace.load(shared_case("atrial-fibrillation", "af_cv50.txt"))


@pytest.mark.parametrize("cleaned", [False, True], ids=["as-recorded", "cleaned"])
def test_af_case_gives_the_irregular_rhythm_and_no_vagal_numbers(cleaned):
    rec = _af()
    row = calmtrace.hrv(calmtrace.clean(rec) if cleaned else rec).iloc[0]
    # README: irregularly irregular; before, RMSSD 122 ms and PNS index +2.8 ("high vagal tone")
    assert row["rhythm"] == "irregular"
    for m in VARIABILITY:
        assert math.isnan(row[m]), m
    assert NOT_SINUS_MESSAGE in row["notes"] and "rmssd_ms" in row["notes"] and "pns_index" in row["notes"]
    # the rate stands: the mean of 60000/RR over the usable beats
    rr = rec.rr_ms if not cleaned else calmtrace.clean(rec).rr_ms[calmtrace.clean(rec).flags == "ok"]
    assert row["mean_hr_bpm"] == pytest.approx(np.mean(60000.0 / rr), rel=1e-12)
    assert row["mean_rr_ms"] == pytest.approx(np.mean(rr), rel=1e-12)


def test_simulated_sinus_series_is_sinus_with_every_metric():
    rec = calmtrace.clean(calmtrace.simulate("rest", seed=3))
    row = hrv(rec).iloc[0]
    assert row["rhythm"] == "sinus"
    assert NOT_SINUS_MESSAGE not in row["notes"]
    for m in ("sdnn_ms", "rmssd_ms", "hf_ms2", "lf_ms2", "sd1_ms", "sampen", "dfa_alpha1", "pns_index"):
        assert np.isfinite(row[m]), m
    x = rec.rr_ms[np.isin(rec.flags, ("ok", "corrected", "interpolated"))]
    assert row["sdnn_ms"] == pytest.approx(np.std(x, ddof=1), rel=1e-12)


def test_each_span_gets_the_rhythm_it_was_in():
    a, b, c = sinus_rr(500, 850, seed=1), irregular_rr(500, 800, 0.15, seed=2), sinus_rr(500, 850, seed=3)
    t = np.cumsum(np.concatenate([a, b, c])) / 1000.0
    af_from, af_to = t[a.size - 1], t[a.size + b.size - 1]          # the true irregular stretch
    rec = calmtrace.clean(_rec(np.concatenate([a, b, c])))
    inside_sinus = hrv(rec, 30.0, af_from - 60.0).iloc[0]
    inside_af = hrv(rec, af_from + 60.0, af_to - 60.0).iloc[0]
    across = hrv(rec, af_from - 100.0, af_from + 100.0).iloc[0]
    after = hrv(rec, af_to + 60.0, t[-1] - 10.0).iloc[0]
    assert inside_sinus["rhythm"] == "sinus" and np.isfinite(inside_sinus["rmssd_ms"])
    assert after["rhythm"] == "sinus" and np.isfinite(after["rmssd_ms"])
    assert inside_af["rhythm"] == "irregular" and math.isnan(inside_af["rmssd_ms"])
    # a span that holds part of the irregular stretch is not presented as autonomic either
    assert across["rhythm"] == "irregular" and math.isnan(across["rmssd_ms"])
    assert "windows of the span" in across["notes"]


def test_phases_carry_their_rhythm():
    a, b = sinus_rr(450, 850, seed=4), irregular_rr(450, 800, 0.15, seed=5)
    ta = float(np.sum(a)) / 1000.0
    tb = float(np.sum(b)) / 1000.0
    ev = Events([Event(10.0, ta - 40.0, "rest", "baseline"), Event(ta + 40.0, tb - 60.0, "episode", "note")])
    table = hrv_by_event(calmtrace.clean(_rec(np.concatenate([a, b]), events=ev)))
    rows = table.set_index("label")
    assert rows.loc["rest", "rhythm"] == "sinus" and np.isfinite(rows.loc["rest", "rmssd_ms"])
    assert rows.loc["episode", "rhythm"] == "irregular"
    assert math.isnan(rows.loc["episode", "rmssd_ms"]) and math.isnan(rows.loc["episode", "rmssd_ms_delta"])
    assert np.isfinite(rows.loc["episode", "mean_hr_bpm_delta"])
    # analyze's phase table is the same table
    res = calmtrace.analyze(_rec(np.concatenate([a, b]), events=ev))
    assert res.phases.set_index("label").loc["episode", "rhythm"] == "irregular"


def test_the_judgement_survives_save_and_load(tmp_path):
    cleaned = calmtrace.clean(_af())
    calmtrace.save(cleaned, tmp_path / "af")
    again = calmtrace.load(tmp_path / "af")
    # judged before cleaning, on the recorded RR; the cleaned RR alone read sinus in 17 of 49 windows
    assert again.meta["rhythm"]["counts"]["irregular"] == 49
    assert hrv(again).iloc[0]["rhythm"] == "irregular"


def test_rhythm_check_off_gives_the_numbers_back():
    row = hrv(_af(), config=SegmentConfig(rhythm=RhythmConfig(enabled=False))).iloc[0]
    assert row["rhythm"] == "sinus"
    assert np.isfinite(row["rmssd_ms"]) and np.isfinite(row["pns_index"])


def test_too_short_to_judge_is_unknown_and_keeps_its_numbers():
    row = hrv(_rec(sinus_rr(40, 800, seed=7))).iloc[0]        # 32 s: shorter than one 60 s window
    assert row["rhythm"] == "unknown"
    assert np.isfinite(row["rmssd_ms"])
