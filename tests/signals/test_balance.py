"""Tests of calmtrace.signals.balance and calmtrace.signals.norms, against hand computations."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from calmtrace.errors import AnalysisError, InputError
from calmtrace.signals import balance
from calmtrace.signals.norms import NORMS


def _si_by_hand(rr: list[float], bin_ms: float = 50.0) -> float:
    classes = Counter(int(r // bin_ms) for r in rr)
    top = max(classes.values())
    modal = min(c for c, k in classes.items() if k == top)
    mo_s = (modal + 0.5) * bin_ms / 1000
    return (100.0 * top / len(rr)) / (2 * mo_s * (max(rr) - min(rr)) / 1000)


def test_stress_index_of_a_worked_example():
    # 10 beats: classes 800-850 (x5), 850-900 (x3), 750-800 (x2); Mo = 0.825 s, AMo = 50 %,
    # MxDMn = 880 - 760 = 120 ms -> SI = 50 / (2 * 0.825 * 0.12) = 252.525...
    rr = [760, 790, 800, 810, 820, 830, 840, 860, 870, 880]
    assert balance.baevsky_stress_index(np.array(rr, float)) == pytest.approx(50 / (2 * 0.825 * 0.12))


def test_stress_index_is_nan_when_undefined():
    assert math.isnan(balance.baevsky_stress_index(np.array([800.0])))
    assert math.isnan(balance.baevsky_stress_index(np.array([800.0, 800.0, 800.0])))


def test_windowed_stress_index_matches_a_per_window_loop():
    rng = np.random.default_rng(4)
    rr = 900 + 80 * np.sin(np.arange(3000) * 0.05) + rng.normal(0, 30, 3000)
    usable = rng.random(3000) > 0.05
    lo = np.arange(0, 2900, 37)
    hi = np.minimum(lo + rng.integers(0, 120, lo.size), 3000)
    got = balance.windowed_stress_index(rr, usable, lo, hi)
    for i, (a, b) in enumerate(zip(lo, hi)):
        beats = [float(r) for r, u in zip(rr[a:b], usable[a:b]) if u]
        if len(beats) < 2:
            assert math.isnan(got[i])
        else:
            assert got[i] == pytest.approx(_si_by_hand(beats), rel=1e-12)


def test_lf_hf_and_hf_nu():
    lf = np.array([300.0, 0.0, np.nan, 100.0])
    hf = np.array([100.0, 0.0, 50.0, 300.0])
    np.testing.assert_allclose(balance.lf_hf(lf, hf), [3.0, np.nan, np.nan, 1 / 3])
    np.testing.assert_allclose(balance.hf_nu(lf, hf), [25.0, np.nan, np.nan, 75.0])


def test_norms_carry_nunan_values_and_their_derivations():
    assert (NORMS["mean_rr_ms"].mean, NORMS["mean_rr_ms"].sd) == (926.0, 90.0)
    assert (NORMS["rmssd_ms"].mean, NORMS["rmssd_ms"].sd) == (42.0, 15.0)
    assert (NORMS["sdnn_ms"].mean, NORMS["sdnn_ms"].sd) == (50.0, 16.0)
    assert NORMS["sd1_ms"].mean == pytest.approx(29.698, abs=1e-3)  # 42 / sqrt 2
    assert NORMS["sd2_ms"].mean == pytest.approx(math.sqrt(5000 - 882), rel=1e-9)  # 2*50^2 - 42^2/2
    assert NORMS["mean_hr_bpm"].mean == pytest.approx(64.79, abs=0.01)
    assert NORMS["stress_index"].mean == pytest.approx(9.659, abs=1e-3)
    for name, norm in NORMS.items():
        assert norm.sd > 0 and norm.source, name
        assert "Nunan" in norm.source or "Baevsky" in norm.source, name


def test_pns_and_sns_at_the_norms_are_zero_and_move_the_right_way():
    n = NORMS
    assert balance.pns_index(926.0, 42.0, n["sd1_ms"].mean) == pytest.approx(0.0, abs=1e-12)
    assert balance.sns_index(n["mean_hr_bpm"].mean, n["stress_index"].mean, n["sd2_ms"].mean) == \
        pytest.approx(0.0, abs=1e-12)
    # one SD slower heart and one SD more RMSSD and SD1: PNS index +1
    assert balance.pns_index(926.0 + 90, 42.0 + 15, n["sd1_ms"].mean + n["sd1_ms"].sd) == pytest.approx(1.0)
    # less SD2 means more sympathetic: SNS goes up by 1/3 per SD of SD2 lost
    assert balance.sns_index(n["mean_hr_bpm"].mean, n["stress_index"].mean,
                             n["sd2_ms"].mean - n["sd2_ms"].sd) == pytest.approx(1 / 3)


def _windows(values: dict[str, list[float]], valid: list[bool]) -> pd.DataFrame:
    k = len(valid)
    df = pd.DataFrame({"start_s": np.arange(k) * 60.0, "end_s": np.arange(k) * 60.0 + 60.0})
    for col, v in values.items():
        df[col] = v
    df["valid"] = valid
    return df


def test_baseline_z_by_hand():
    values = {
        "mean_rr_ms": [900, 920, 910, 700, 650],
        "rmssd_ms": [40, 44, 42, 20, 15],
        "sd1_ms": [28, 31, 30, 14, 11],
        "mean_hr_bpm": [66.7, 65.2, 65.9, 85.7, 92.3],
        "stress_index": [9.0, 8.5, 8.8, 14.0, 16.0],
        "sd2_ms": [60, 66, 63, 40, 35],
    }
    valid = [True, True, True, True, False]
    mask = np.array([True, True, True, False, False])
    out = balance.baseline_z(_windows(values, valid), mask)
    for col, v in values.items():
        m, s = statistics.mean(v[:3]), statistics.stdev(v[:3])
        np.testing.assert_allclose(out[f"{col}_z"], [(x - m) / s for x in v], rtol=1e-12)
        assert out.attrs["baseline"][col]["n_windows"] == 3

    def z(col, i):
        return (values[col][i] - statistics.mean(values[col][:3])) / statistics.stdev(values[col][:3])

    i = 3  # the stressed window
    assert out["pns_index"][i] == pytest.approx((z("mean_rr_ms", i) + z("rmssd_ms", i) + z("sd1_ms", i)) / 3)
    assert out["sns_index"][i] == pytest.approx((z("mean_hr_bpm", i) + z("stress_index", i) - z("sd2_ms", i)) / 3)
    assert out["pns_index"][i] < -3 and out["sns_index"][i] > 3


def test_baseline_z_refuses_bad_masks_and_thin_baselines():
    values = {c: [1.0, 2.0, 3.0] for c in balance.BALANCE_FEATURES}
    win = _windows(values, [True, False, True])
    with pytest.raises(InputError, match="3 booleans"):
        balance.baseline_z(win, np.array([True, True]))
    with pytest.raises(InputError, match="3 booleans"):
        balance.baseline_z(win, np.array([1, 1, 0]))
    with pytest.raises(AnalysisError, match="at least 2 valid baseline windows, found 1"):
        balance.baseline_z(win, np.array([True, True, False]))  # the second one is not valid
    with pytest.raises(InputError, match="lacks column"):
        balance.baseline_z(win.drop(columns="sd2_ms"), np.array([True, True, True]))
    flat = _windows({c: [5.0, 5.0, 5.0] for c in balance.BALANCE_FEATURES}, [True] * 3)
    with pytest.raises(AnalysisError, match="does not vary"):
        balance.baseline_z(flat, np.array([True, True, True]))
