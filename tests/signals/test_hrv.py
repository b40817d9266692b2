"""Tests of calmtrace.signals.hrv.windowed_hrv.

Reference figures come from neurokit2 (run on the same beats of each window) or are computed by
hand in plain Python inside the test, never copied from windowed_hrv's own output.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import Counter
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from calmtrace.errors import AnalysisError, InputError
from calmtrace.recording import Recording
from calmtrace.signals.hrv import HRVConfig, windowed_hrv
from tests.conftest import shared_data

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
DESIGN_COLUMNS = [
    "start_s", "end_s", "n_beats", "coverage", "artifact_pct", "mean_rr_ms", "mean_hr_bpm",
    "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "sd1_ms", "sd2_ms", "lf_ms2", "hf_ms2",
    "lf_hf", "hf_nu", "pns_index", "sns_index", "stress_index", "dfa_alpha1", "valid",
]
TIME_METRICS = ["mean_rr_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "sd1_ms", "sd2_ms"]


def _recording(rr_ms, flags=None, t_s=None, gaps=None) -> Recording:
    rr = np.asarray(rr_ms, dtype=float)
    beats = pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0 if t_s is None else t_s, "rr_ms": rr})
    if flags is not None:
        beats["flag"] = flags
    return Recording(start=START, beats=beats, gaps=gaps)


def _synthetic_rr(n: int, seed: int = 0) -> np.ndarray:
    """RR with respiratory (0.25 Hz-ish) and slower oscillations plus noise, ms."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return 850 + 40 * np.sin(k * 0.3) + 25 * np.sin(k * 0.07) + rng.normal(0, 15, n)


# -- the real 24-hour series -----------------------------------------------------------------
@pytest.fixture(scope="module")
def day():
    path = shared_data("physionet-rr-24h", "Chapter8__healthy_ms__000.txt")
    rr = np.loadtxt(path)
    t = np.cumsum(rr) / 1000.0
    return t, rr, Recording(start=START, beats=pd.DataFrame({"t_s": t, "rr_ms": rr}))


def _nk_quiet(func, *args, **kwargs):
    """Call a neurokit2 function, ignoring the warnings it raises about indices we do not use.

    hrv_nonlinear computes entropies and DFA besides SD1/SD2 and warns (NeuroKitWarning, and a
    numpy RuntimeWarning from multiscale entropy) that 60 s is too short for some of them;
    hrv_frequency warns about the ULF/VLF bands. pytest turns warnings into errors, so they are
    silenced for the duration of the call only.
    """
    from neurokit2.misc import NeuroKitWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeuroKitWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(*args, **kwargs)


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


@pytest.mark.realdata
def test_time_domain_matches_neurokit_on_200_windows_of_a_day(day):
    import neurokit2 as nk

    t, rr, rec = day
    win = windowed_hrv(rec, window_s=60.0, step_s=5.0)
    # the number of windows follows from the recording's length alone
    assert len(win) == math.floor((t[-1] - 60.0) / 5.0) + 1
    rng = np.random.default_rng(20240501)
    worst = dict.fromkeys(TIME_METRICS, 0.0)
    for i in rng.choice(len(win), size=200, replace=False):
        row = win.iloc[i]
        inside = (t >= row.start_s) & (t < row.end_s)
        peaks = {"RRI": rr[inside], "RRI_Time": t[inside]}
        td = nk.hrv_time(peaks)
        nl = _nk_quiet(nk.hrv_nonlinear, peaks)
        assert row.n_beats == inside.sum()
        ref = {"mean_rr_ms": td["HRV_MeanNN"][0], "sdnn_ms": td["HRV_SDNN"][0],
               "rmssd_ms": td["HRV_RMSSD"][0], "pnn50_pct": td["HRV_pNN50"][0],
               "sd1_ms": nl["HRV_SD1"][0], "sd2_ms": nl["HRV_SD2"][0]}
        for name, value in ref.items():
            if value == 0.0:
                assert row[name] == 0.0
            else:
                worst[name] = max(worst[name], _relative(row[name], value))
    assert max(worst.values()) < 1e-6, worst


@pytest.mark.realdata
def test_time_domain_skips_excluded_beats_like_neurokit(day):
    import neurokit2 as nk

    t, rr, _ = day
    n = 20000  # the first ~5 hours are enough here
    flags = np.array(["ok"] * n, dtype=object)
    flags[np.arange(50, n, 97)] = "ectopic"  # about 1% of beats excluded, never at a window edge on purpose
    rec = _recording(rr[:n], flags=flags, t_s=t[:n])
    win = windowed_hrv(rec, window_s=60.0, step_s=30.0)
    keep = flags == "ok"
    rng = np.random.default_rng(7)
    for i in rng.choice(len(win), size=25, replace=False):
        row = win.iloc[i]
        inside = (t[:n] >= row.start_s) & (t[:n] < row.end_s)
        use = inside & keep
        peaks = {"RRI": rr[:n][use], "RRI_Time": t[:n][use]}
        td = nk.hrv_time(peaks)
        nl = _nk_quiet(nk.hrv_nonlinear, peaks)
        assert row.n_beats == use.sum()
        assert row.artifact_pct == pytest.approx(100.0 * (inside & ~keep).sum() / inside.sum(), rel=1e-12)
        for name, col in [("mean_rr_ms", "HRV_MeanNN"), ("sdnn_ms", "HRV_SDNN"), ("rmssd_ms", "HRV_RMSSD")]:
            assert _relative(row[name], td[col][0]) < 1e-6, (name, i)
        for name, col in [("sd1_ms", "HRV_SD1"), ("sd2_ms", "HRV_SD2")]:
            assert _relative(row[name], nl[col][0]) < 1e-6, (name, i)


@pytest.mark.realdata
def test_band_powers_match_neurokit_within_2_percent_on_2_minute_windows(day):
    import neurokit2 as nk

    t, rr, rec = day
    # neurokit2 interpolates with a quadratic spline and removes only the mean (docs/metrics.md)
    cfg = HRVConfig(interpolation="quadratic", detrend="mean", resample_hz=4.0)
    win = windowed_hrv(rec, window_s=120.0, step_s=5.0, config=cfg)
    rng = np.random.default_rng(11)
    worst_lf = worst_hf = 0.0
    for i in rng.choice(len(win), size=60, replace=False):
        row = win.iloc[i]
        inside = (t >= row.start_s) & (t < row.end_s)
        fd = _nk_quiet(nk.hrv_frequency, {"RRI": rr[inside], "RRI_Time": t[inside]},
                       interpolation_rate=4, psd_method="welch", normalize=False,
                       lf=(0.04, 0.15), hf=(0.15, 0.4))
        worst_lf = max(worst_lf, _relative(row.lf_ms2, fd["HRV_LF"][0]))
        worst_hf = max(worst_hf, _relative(row.hf_ms2, fd["HRV_HF"][0]))
        assert row.lf_hf == pytest.approx(row.lf_ms2 / row.hf_ms2, rel=1e-12)
        assert row.hf_nu == pytest.approx(100 * row.hf_ms2 / (row.lf_ms2 + row.hf_ms2), rel=1e-12)
    assert worst_lf < 0.02 and worst_hf < 0.02, (worst_lf, worst_hf)


@pytest.mark.realdata
def test_default_settings_give_every_column_on_a_clean_day(day):
    _, _, rec = day
    win = windowed_hrv(rec, window_s=120.0, step_s=60.0)
    assert list(win.columns) == DESIGN_COLUMNS
    assert win["valid"].all()  # a clean Holter series: no flags, no gaps
    # every figure computed; the artefact share is unknown (never cleaned), said in a note
    assert win[[c for c in DESIGN_COLUMNS[:-1] if c != "artifact_pct"]].notna().all().all()
    assert win["artifact_pct"].isna().all() and "not cleaned" in win.attrs["hrv"]["notes"]["artifact_pct"]
    assert win.attrs["hrv"]["window_s"] == 120.0
    assert win.attrs["hrv"]["config"]["interpolation"] == "cubic"


# -- one window by hand --------------------------------------------------------------------------
def test_one_window_by_hand_including_stress_pns_and_sns():
    rr = _synthetic_rr(200, seed=3)
    rec = _recording(rr)
    win = windowed_hrv(rec, window_s=60.0, step_s=20.0)
    row = win.iloc[2]  # [40, 100) s
    t = list(np.cumsum(rr) / 1000.0)
    beats = [r for r, ti in zip(rr.tolist(), t) if 40.0 <= ti < 100.0]
    diffs = [b - a for a, b in zip(beats, beats[1:])]
    mean_rr = sum(beats) / len(beats)
    sdnn = statistics.stdev(beats)
    rmssd = math.sqrt(sum(d * d for d in diffs) / len(diffs))
    pnn50 = 100.0 * sum(abs(d) > 50 for d in diffs) / len(beats)
    sd1 = statistics.stdev([(a - b) / math.sqrt(2) for a, b in zip(beats, beats[1:])])
    sd2 = statistics.stdev([(a + b) / math.sqrt(2) for a, b in zip(beats, beats[1:])])
    mean_hr = sum(60000.0 / b for b in beats) / len(beats)
    # Baevsky: 50 ms classes, Mo = class centre (s), AMo = % in the modal class, MxDMn (s)
    classes = Counter(int(b // 50) for b in beats)
    top = max(classes.values())
    modal = min(c for c, k in classes.items() if k == top)
    si = (100.0 * top / len(beats)) / (2 * (modal * 50 + 25) / 1000 * (max(beats) - min(beats)) / 1000)

    expected = {"n_beats": len(beats), "mean_rr_ms": mean_rr, "sdnn_ms": sdnn, "rmssd_ms": rmssd,
                "ln_rmssd": math.log(rmssd), "pnn50_pct": pnn50, "sd1_ms": sd1, "sd2_ms": sd2,
                "mean_hr_bpm": mean_hr, "stress_index": math.sqrt(si),
                "coverage": min(1.0, sum(beats) / 60000.0)}
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    # never cleaned: the artefact share is unknown, not 0, and says why
    assert math.isnan(row["artifact_pct"])
    assert "not cleaned" in win.attrs["hrv"]["notes"]["artifact_pct"]

    # z-scores against Nunan et al. 2010 (mean RR 926 +- 90, RMSSD 42 +- 15, SDNN 50 +- 16 ms),
    # SD1 = RMSSD/sqrt2, SD2^2 = 2 SDNN^2 - SD1^2 (Brennan 2001), HR = 60000/RR; sqrt(SI) from the
    # normal SI range 50-150 read as a 95% range.
    z_rr = (mean_rr - 926) / 90
    z_rmssd = (rmssd - 42) / 15
    z_sd1 = (sd1 - 42 / math.sqrt(2)) / (15 / math.sqrt(2))
    hr_mean, hr_sd = 60000 / 926, 60000 * 90 / 926**2
    sd1n = 42 / math.sqrt(2)
    sd2_mean = math.sqrt(2 * 50**2 - sd1n**2)
    sd2_sd = math.sqrt((2 * 50 / sd2_mean * 16) ** 2 + (sd1n / sd2_mean * 15 / math.sqrt(2)) ** 2)
    si_mean = (math.sqrt(50) + math.sqrt(150)) / 2
    si_sd = (math.sqrt(150) - math.sqrt(50)) / 3.92
    pns = (z_rr + z_rmssd + z_sd1) / 3
    sns = ((mean_hr - hr_mean) / hr_sd + (math.sqrt(si) - si_mean) / si_sd - (sd2 - sd2_mean) / sd2_sd) / 3
    assert row.pns_index == pytest.approx(pns, rel=1e-9)
    assert row.sns_index == pytest.approx(sns, rel=1e-9)
    # 60 s window: HF is allowed (>= 1 min), LF is not (< 2 min) and so neither are LF/HF, HF n.u.
    assert row.hf_ms2 > 0
    assert np.isnan([row.lf_ms2, row.lf_hf, row.hf_nu]).all()


def test_windows_tile_the_recording_as_documented():
    rr = np.full(400, 750.0)  # 300 s exactly
    win = windowed_hrv(_recording(rr), window_s=60.0, step_s=15.0)
    assert win["start_s"].tolist() == [15.0 * k for k in range(17)]  # last ends at 300 s
    assert (win["end_s"] - win["start_s"] == 60.0).all()
    # beats at 0.75, 1.5, ... s; a window holds [start, end): the first has no beat at 0 s
    assert win["n_beats"].tolist() == [79] + [80] * 16
    assert (win["sdnn_ms"] == 0).all() and (win["rmssd_ms"] == 0).all()
    assert win["ln_rmssd"].isna().all()  # ln 0 is not a number to report
    assert win["stress_index"].isna().all()  # MxDMn = 0: SI undefined


# -- artefacts, gaps, short and empty input --------------------------------------------------------
def test_all_artefact_recording_gives_invalid_rows_with_nan_metrics():
    rr = _synthetic_rr(300)
    win = windowed_hrv(_recording(rr, flags=["ectopic"] * 300), window_s=60.0, step_s=30.0)
    assert len(win) > 0
    assert not win["valid"].any()
    assert (win["n_beats"] == 0).all() and (win["coverage"] == 0).all()
    assert (win["artifact_pct"] == 100.0).all()
    metrics = [c for c in DESIGN_COLUMNS if c not in ("start_s", "end_s", "n_beats", "coverage",
                                                      "artifact_pct", "valid")]
    assert win[metrics].isna().all().all()


def test_artefact_share_decides_validity_and_corrected_beats_are_used():
    rr = _synthetic_rr(150, seed=5)
    t = np.cumsum(rr) / 1000.0
    in_first = np.flatnonzero(t < 60.0)  # window [0, 60)
    flags = np.array(["ok"] * rr.size, dtype=object)
    flags[in_first[10]] = "corrected"  # 1 of ~70 beats: 1.4%, used in the metrics
    win = windowed_hrv(_recording(rr, flags=flags), window_s=60.0, step_s=60.0)
    first = win.iloc[0]
    assert first.n_beats == in_first.size
    assert first.artifact_pct == pytest.approx(100.0 / in_first.size)
    assert first.valid
    flags[in_first[20:25]] = "ectopic"  # now 6 of ~70 are not ok: above 5%
    win = windowed_hrv(_recording(rr, flags=flags), window_s=60.0, step_s=60.0)
    first = win.iloc[0]
    assert first.n_beats == in_first.size - 5
    assert first.artifact_pct == pytest.approx(600.0 / in_first.size)
    assert not first.valid
    # successive differences skip the excluded run: by hand
    beats = rr[in_first]
    ok = flags[in_first] != "ectopic"
    diffs = [beats[i] - beats[i - 1] for i in range(1, beats.size) if ok[i] and ok[i - 1]]
    assert first.rmssd_ms == pytest.approx(math.sqrt(sum(d * d for d in diffs) / len(diffs)), rel=1e-9)


def _cut(rr: np.ndarray, t0: float, t1: float):
    """Drop the beats in [t0, t1) and describe the hole as a recorded gap."""
    t = np.cumsum(rr) / 1000.0
    keep = (t < t0) | (t >= t1)
    before, after = t[t < t0][-1], t[t >= t1][0]
    gaps = pd.DataFrame({"onset_s": [before], "duration_s": [after - before], "reason": ["disconnect"]})
    return t, keep, gaps


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded-gap", "implicit-gap"])
def test_gap_lowers_coverage_and_is_never_bridged(recorded):
    rr = _synthetic_rr(700, seed=9)
    t, keep, gaps = _cut(rr, 200.0, 240.0)
    rec = _recording(rr[keep], t_s=t[keep], gaps=gaps if recorded else None)
    win = windowed_hrv(rec, window_s=60.0, step_s=10.0)
    whole = windowed_hrv(_recording(rr), window_s=60.0, step_s=10.0)

    across = win[(win.start_s < 240.0) & (win.end_s > 200.0)]
    assert (across["coverage"] < 1.0).all()
    # a window that loses 40 of its 60 s to the gap is invalid, its spectrum NaN
    mostly_gap = win[(win.start_s >= 190.0) & (win.start_s <= 200.0)]
    assert not mostly_gap["valid"].any() and mostly_gap["hf_ms2"].isna().all()

    # successive differences on each side only, never the jump across the gap: by hand
    row = win[win.start_s == 190.0].iloc[0]
    inside = keep & (t >= 190.0) & (t < 250.0)
    idx = np.flatnonzero(inside)
    diffs = [rr[j] - rr[i] for i, j in zip(idx, idx[1:]) if j == i + 1]
    assert len(diffs) == idx.size - 2  # one pair lost to the gap
    assert row.rmssd_ms == pytest.approx(math.sqrt(sum(d * d for d in diffs) / len(diffs)), rel=1e-9)

    # windows clear of the gap are untouched by it
    clear = (win.end_s <= 200.0) | (win.start_s >= 240.0)
    cols = ["n_beats", "mean_rr_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "sd1_ms", "sd2_ms", "stress_index"]
    pd.testing.assert_frame_equal(win.loc[clear, cols], whole.loc[clear, cols], rtol=1e-9)
    before = win.end_s <= 200.0
    pd.testing.assert_series_equal(win.loc[before, "hf_ms2"], whole.loc[before, "hf_ms2"], rtol=1e-6)


def test_empty_recording_is_an_analysis_error():
    with pytest.raises(AnalysisError, match="no beats"):
        windowed_hrv(Recording(start=START))


def test_recording_shorter_than_one_window_is_an_analysis_error():
    rec = _recording(np.full(30, 800.0))  # 24 s
    with pytest.raises(AnalysisError, match="shorter than one 60 s window"):
        windowed_hrv(rec, window_s=60.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"window_s": 5.0}, "at least 10 s"),
    ({"window_s": -60.0}, "window_s must be a positive number"),
    ({"step_s": 0}, "step_s must be a positive number"),
    ({"step_s": float("nan")}, "step_s must be a positive number"),
    ({"config": {"resample_hz": 4}}, "config must be an HRVConfig"),
])
def test_bad_arguments_are_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        windowed_hrv(_recording(_synthetic_rr(200)), **kwargs)


def test_short_windows_get_nan_spectra_not_numbers():
    rr = _synthetic_rr(400)
    win = windowed_hrv(_recording(rr), window_s=30.0, step_s=30.0)  # < 1 min: no HF, no LF
    assert win[["lf_ms2", "hf_ms2", "lf_hf", "hf_nu"]].isna().all().all()
    assert win["rmssd_ms"].notna().all()  # RMSSD is fine from 10 s up (Munoz et al. 2015)
    win = windowed_hrv(_recording(rr), window_s=120.0, step_s=60.0)
    assert win[["lf_ms2", "hf_ms2", "lf_hf", "hf_nu"]].notna().all().all()


def test_config_from_mapping_rejects_unknown_and_bad_settings():
    cfg = HRVConfig.from_mapping({"resample_hz": 8.0, "lf_band_hz": [0.04, 0.15]})
    assert cfg.resample_hz == 8.0 and cfg.lf_band_hz == (0.04, 0.15)
    with pytest.raises(InputError, match="unknown key .resample_rate.; allowed:.*resample_hz"):
        HRVConfig.from_mapping({"resample_rate": 4})
    with pytest.raises(InputError, match="interpolation must be one of linear, quadratic, cubic"):
        HRVConfig(interpolation="akima")
    with pytest.raises(InputError, match="hf_band_hz"):
        HRVConfig(hf_band_hz=(0.15, 3.0))
    with pytest.raises(InputError, match="max_artifact_pct"):
        HRVConfig(max_artifact_pct=150)
    with pytest.raises(InputError, match="usable_flags must be a non-empty selection of ok, corrected"):
        HRVConfig(usable_flags=("ok", "fine"))
