"""Tests of the per-window rhythm check (calmtrace.signals.rhythm) and its wiring into analyze().

Truth is built here: irregular stretches drawn independently from beat to beat (as in atrial
fibrillation) at a known coefficient of variation and a known place, sinus stretches with
respiratory and Mayer waves; the shared atrial-fibrillation case (whose README gives its values)
and real sinus recordings (no rhythm flag expected). The Dash et al. statistics are checked
against a direct computation from their definitions.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.analysis import AnalysisConfig, analyze
from calmtrace.errors import InputError
from calmtrace.recording import Recording
from calmtrace.signals.clean import clean
from calmtrace.signals.hrv import windowed_hrv
from calmtrace.signals.rhythm import (NOT_SINUS_MESSAGE, RhythmConfig, rhythm_features, rhythm_lines,
                                      summarise, windowed_rhythm)
from tests.conftest import shared_case, shared_data
from tests.rr_series import irregular_rr, sinus_rr

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def _rec(rr_ms) -> Recording:
    rr = np.asarray(rr_ms, float)
    return Recording(START, pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0, "rr_ms": rr}))


def _rhythm_of(rec: Recording, window_s: float = 60.0, step_s: float = 5.0) -> pd.DataFrame:
    cleaned = clean(rec)
    win = windowed_hrv(cleaned, window_s=window_s, step_s=step_s)
    return win.join(windowed_rhythm(rec, cleaned, win))


def _flagged_span(win: pd.DataFrame) -> tuple[float, float]:
    bad = win[win["rhythm"].isin(["irregular", "ectopy"])]
    return float(bad["start_s"].min()), float(bad["end_s"].max())


# -- the statistics -------------------------------------------------------------------------------
def _by_hand(x: np.ndarray) -> dict[str, float]:
    tp = sum(1 for i in range(1, x.size - 1) if (x[i] - x[i - 1]) * (x[i + 1] - x[i]) < 0)
    counts = np.histogram(x, bins=16, range=(x.min(), x.max()))[0]
    p = counts[counts > 0] / x.size
    d = x - x.mean()
    r = [np.sum(d[:-k] * d[k:]) / np.sum(d * d) for k in range(1, 11)]
    q = x.size * (x.size + 2) * sum(r[k - 1] ** 2 / (x.size - k) for k in range(1, 11))
    return {"nrmssd": np.sqrt(np.mean(np.diff(x) ** 2)) / x.mean(), "tpr": tp / x.size,
            "entropy": -(p * np.log(p)).sum() / np.log(16), "ljung_box": q}


def test_dash_statistics_and_independence_follow_their_definitions():
    rr = irregular_rr(128, 800, 0.15, seed=1)
    f = rhythm_features(rr)
    for k, v in _by_hand(rr).items():
        assert f[k] == pytest.approx(v, rel=1e-9), k
    assert f["irregular"] == 1.0
    # a random series: turning-point ratio near its expectation 2/3; Q below the 0.1 % limit of
    # a chi-square with 10 degrees of freedom (29.59)
    assert 0.54 <= f["tpr"] <= 0.77 and f["ljung_box"] < 29.59
    # Dash et al.'s own trimming, 8 longest and 8 shortest of 128 set aside, time order kept
    order = np.argsort(rr, kind="stable")
    keep = np.ones(128, bool)
    keep[order[:8]] = keep[order[-8:]] = False
    trimmed = rhythm_features(rr, RhythmConfig(trim_share=1 / 16))
    assert trimmed["nrmssd"] == pytest.approx(_by_hand(rr[keep])["nrmssd"], rel=1e-9)


def test_correlated_variability_is_not_irregular():
    # large, random-looking but correlated variability (an AR(1) series, coefficient 0.6): it
    # passes Dash et al.'s three statistics, but beats are not independent
    rng = np.random.default_rng(3)
    e = rng.normal(0, 100, 128)
    x = np.empty(128)
    x[0] = e[0]
    for i in range(1, 128):
        x[i] = 0.6 * x[i - 1] + e[i]
    f = rhythm_features(900 + x)
    assert f["nrmssd"] > 0.1 and 0.54 <= f["tpr"] <= 0.77 and f["entropy"] > 0.7
    assert f["ljung_box"] > 29.59 and f["irregular"] == 0.0


def test_sinus_statistics_and_too_few_beats():
    f = rhythm_features(sinus_rr(128, 900, seed=2))
    assert f["irregular"] == 0.0 and f["nrmssd"] < 0.1
    # bigeminy alternates at every beat: a turning point everywhere, not random
    big = np.tile([560.0, 1240.0], 64)
    assert rhythm_features(big)["tpr"] > 0.77 and rhythm_features(big)["irregular"] == 0.0
    assert math.isnan(rhythm_features(np.full(10, 800.0))["irregular"])
    assert rhythm_features(np.full(64, 800.0))["irregular"] == 0.0


def test_config_validation_and_mapping():
    with pytest.raises(InputError, match="tpr_range"):
        RhythmConfig(tpr_range=(0.8, 0.5))
    with pytest.raises(InputError, match="ectopy_share"):
        RhythmConfig(ectopy_share=0)
    with pytest.raises(InputError, match="unknown key 'speed'"):
        RhythmConfig.from_mapping({"speed": 1})
    assert RhythmConfig.from_mapping({"tpr_range": [0.5, 0.8]}).tpr_range == (0.5, 0.8)


# -- irregular rhythms are flagged where they are ---------------------------------------------------
@pytest.mark.parametrize("cv", [0.10, 0.15, 0.20, 0.30])
@pytest.mark.parametrize("mean_rr", [500.0, 800.0, 1100.0])
def test_irregular_series_flagged_throughout(cv, mean_rr):
    win = _rhythm_of(_rec(irregular_rr(600, mean_rr, cv, seed=int(cv * 100 + mean_rr))))
    judged = win[win["rhythm"] != "unknown"]
    assert len(judged) > 10
    # irregular (or, where cleaning took the irregular beats for premature ones, ectopy): never
    # sinus over the whole series, start to end
    assert judged["rhythm"].isin(["irregular", "ectopy"]).all()
    assert (judged["rhythm"] == "irregular").mean() >= 0.9


@pytest.mark.parametrize("cv", [0.10, 0.20, 0.30])
def test_irregular_stretch_between_sinus_stretches_has_its_span_within_one_window(cv):
    parts = [sinus_rr(300, 900, seed=3), irregular_rr(500, 700, cv, seed=4), sinus_rr(300, 900, seed=5)]
    rr = np.concatenate(parts)
    rec = _rec(rr)
    t = rec.t_s
    true_start, true_end = t[300] - rr[300] / 1000, t[799]
    win = _rhythm_of(rec)
    lo, hi = _flagged_span(win)
    window_s = 60.0
    assert abs(lo - true_start) <= window_s and abs(hi - true_end) <= window_s
    # one span: the irregular stretch is not broken into pieces
    s = summarise(win, win["rhythm"])
    spans = sorted((x["start_s"], x["end_s"]) for x in s["spans"])
    merged_end = spans[0][1]
    for a, b in spans[1:]:
        assert a <= merged_end
        merged_end = max(merged_end, b)
    # windows wholly inside either sinus stretch are sinus
    sinus_windows = win[(win["end_s"] <= true_start) | (win["start_s"] >= true_end)]
    assert (sinus_windows["rhythm"] == "sinus").all()


def test_atrial_fibrillation_case_is_not_presented_as_high_vagal_tone(tmp_path):
    rec = calmtrace.load(shared_case("atrial-fibrillation", "af_cv50.txt"))
    res = analyze(rec)
    w = res.windows
    assert len(w) == 49
    # every window is judged irregular and none is valid for autonomic metrics
    assert (w["rhythm"] == "irregular").all()
    assert not w["valid"].any()
    # the summary says so, in the words of the issue
    s = res.summary.set_index("item")
    assert s.loc["non_sinus_windows", "value"] == 100.0
    assert NOT_SINUS_MESSAGE in str(s.loc["rhythm_warning", "value"])
    assert res.recording.meta["rhythm"]["spans"] == [{"rhythm": "irregular", "start_s": 0.0,
                                                      "end_s": float(w["end_s"].max())}]
    # written with the results, and shown by the report
    res.write(tmp_path)
    assert "irregular" in set(pd.read_csv(tmp_path / "windows.csv")["rhythm"])
    out = tmp_path / "report.html"
    calmtrace.write_report(res, out)
    assert "not sinus rhythm: HRV is not a measure of autonomic modulation here" in out.read_text(encoding="utf-8")


def test_info_names_the_irregular_rhythm():
    rec = calmtrace.load(shared_case("atrial-fibrillation", "af_cv50.txt"))
    lines = rhythm_lines(rec, clean(rec))
    assert lines[0].startswith("sinus in 0 of 49 windows (49 irregular")
    assert any(NOT_SINUS_MESSAGE in line for line in lines[1:])


def test_persistent_ectopy_windows_are_named_and_invalid():
    rr = sinus_rr(900, 850, seed=6)
    for k in range(300, 600, 2):                   # bigeminy over 300 beats
        rr[k + 1] += 0.4 * rr[k]
        rr[k] *= 0.6
    res = analyze(_rec(rr))
    w = res.windows
    t = res.recording.t_s
    inside = w[(w["start_s"] >= t[300]) & (w["end_s"] <= t[590])]
    assert len(inside) > 5 and (inside["rhythm"] == "ectopy").all() and not inside["valid"].any()
    outside = w[(w["end_s"] < t[290]) | (w["start_s"] > t[610])]
    assert (outside["rhythm"] == "sinus").all()


# -- sinus recordings raise no flag ---------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize("parts", [("physionet-rr-24h", "Chapter8__healthy_ms__000.txt"),
                                   ("wearable-hrv-p37", "test_vu.txt"),
                                   ("polar-hrm", "exercise_rri.hrm")], ids=["24h", "p37", "exercise"])
def test_sinus_recordings_raise_no_rhythm_flag(parts):
    path = shared_data(*parts)
    if parts[0] == "physionet-rr-24h":
        rr = np.loadtxt(path)
        rec = _rec(rr)
    else:
        rec = calmtrace.load(path)
    win = _rhythm_of(rec)
    assert not win["rhythm"].isin(["irregular", "ectopy"]).any()
    assert (win["rhythm"] == "sinus").mean() > 0.95


def test_rhythm_check_can_be_turned_off_and_is_in_the_config():
    rec = _rec(irregular_rr(400, 800, 0.2, seed=9))
    res = analyze(rec, AnalysisConfig.from_dict({"rhythm": {"enabled": False}}))
    assert (res.windows["rhythm"] == "sinus").all()
    assert res.config.to_dict()["rhythm"]["tpr_range"] == [0.54, 0.77]


def test_many_segments_at_once_agree_with_one_at_a_time():
    from calmtrace.signals.rhythm import _features_of_segments

    rng = np.random.default_rng(12)
    rr = np.concatenate([irregular_rr(400, 800, 0.2, seed=1), sinus_rr(400, 900, seed=2),
                         np.round(irregular_rr(300, 700, 0.1, seed=3))])    # ties in whole ms too
    cfg = RhythmConfig()
    starts = rng.integers(0, rr.size - cfg.segment_beats, 200)
    batch = _features_of_segments(rr, starts, cfg)
    for j, a in enumerate(starts):
        one = rhythm_features(rr[a:a + cfg.segment_beats], cfg)
        for k in ("nrmssd", "tpr", "entropy", "ljung_box", "irregular"):
            assert batch[k][j] == pytest.approx(one[k], rel=1e-9, abs=1e-12), (k, a)


def test_calmtrace_info_says_not_sinus_rhythm():
    import subprocess
    import sys

    path = shared_case("atrial-fibrillation", "af_cv50.txt")
    p = subprocess.run([sys.executable, "-m", "calmtrace", "info", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert "rhythm       sinus in 0 of 49 windows (49 irregular" in p.stdout
    assert f"warning      {NOT_SINUS_MESSAGE}" in p.stdout
