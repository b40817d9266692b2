"""Tests of recovery assessment (calmtrace.signals.recovery).

The windows tables are built here from curves with a known time constant; the expected time to
baseline, t50, percent recovery, AUC and HRR60 are worked out analytically in each test from
the curve and the baseline values the test itself put in the table.
"""

from __future__ import annotations

import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest

from calmtrace.errors import InputError
from calmtrace.events import Event, Events
from calmtrace.signals.config import RecoveryConfig, config_from_mapping
from calmtrace.signals.recovery import assess_recovery, recovery_columns

BASE, AMP, ON, OFF = 65.0, 20.0, 300.0, 600.0


def step_response(t, tau, base=BASE, amp=AMP, on=ON, off=OFF, floor=None):
    """Plateau ``base + amp`` during [on, off), then exponential return to ``floor`` (default base)."""
    t = np.asarray(t, float)
    floor = base if floor is None else floor
    y = np.full_like(t, base)
    y[(t >= on) & (t < off)] = base + amp
    after = t >= off
    y[after] = floor + (base + amp - floor) * np.exp(-(t[after] - off) / tau)
    return y


def make_windows(curve, end_s=1500.0, window_s=60.0, step_s=5.0, wiggle=0.5, metric="mean_hr_bpm"):
    """Windows whose value is the curve at the window centre; baseline windows (ending by ON)
    alternate +/- ``wiggle`` so the baseline has a known, non-zero SD."""
    starts = np.arange(0.0, end_s - window_s + 1e-9, step_s)
    ends = starts + window_s
    y = curve((starts + ends) / 2)
    base = ends <= ON
    y[base] += wiggle * (-1.0) ** np.arange(base.sum())
    return pd.DataFrame({"start_s": starts, "end_s": ends, "valid": True, metric: y})


def stressor(onset=ON, duration=OFF - ON, label="speech"):
    return Event(onset, duration, label, "stressor")


def baseline_stats(win, metric="mean_hr_bpm", lo=0.0, hi=ON):
    v = win.loc[(win.start_s >= lo) & (win.end_s <= hi), metric].tolist()
    return statistics.fmean(v), statistics.stdev(v)


def assess(win, events, config=None, beats=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return assess_recovery(win, Events(events), config, beats)


def one(df, metric="mean_hr_bpm", label=None):
    d = df[df.metric == metric]
    if label is not None:
        d = d[d.event_label == label]
    assert len(d) == 1
    return d.iloc[0]


# -- analytic figures ---------------------------------------------------------------------------------
def test_analytic_recovery_figures():
    tau = 60.0
    win = make_windows(lambda t: step_response(t, tau))
    rc = assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",)))
    r = one(rc)
    mean_b, sd_b = baseline_stats(win)
    # default band: mean +/- 2 SD, never narrower than 0.2 x the between-person SD of resting HR
    # (Hopkins' smallest worthwhile change; HR SD from mean RR 926 +- 90 ms, Nunan et al. 2010)
    hw = max(2.0 * sd_b, 0.2 * 60000.0 * 90.0 / 926.0 ** 2)
    peak = BASE + AMP
    assert r.baseline_mean == pytest.approx(mean_b) and r.baseline_sd == pytest.approx(sd_b)
    assert r.baseline_n_windows == 49 and r.baseline_source == "span"
    assert r.band_high == pytest.approx(mean_b + hw)
    assert r.peak == pytest.approx(peak) and r.reactivity == pytest.approx(peak - mean_b)
    assert r.recovery_start_s == OFF
    # time to baseline: BASE + AMP exp(-t/tau) = mean_b + hw
    ttb = tau * math.log(AMP / (mean_b + hw - BASE))
    assert r.recovered and r.time_to_baseline_s == pytest.approx(ttb, abs=1.0)
    assert math.isnan(r.censored_at_s)
    # t50: the curve has recovered half of (peak - mean_b)
    t50 = tau * math.log(AMP / (mean_b - BASE + (peak - mean_b) / 2))
    assert r.t50_s == pytest.approx(t50, abs=0.5)
    assert r.tau_s == pytest.approx(tau, rel=0.01)
    assert r.tau_ci_low_s <= r.tau_s <= r.tau_ci_high_s and r.tau_r2 > 0.999
    # the fitted curve's other parameters are written, so no figure has to refit
    assert r.fit_y_inf == pytest.approx(BASE, abs=0.05) and r.fit_amp == pytest.approx(AMP, rel=0.01)
    assert r.fit_n == 1 + int(600 // 5) - 6          # windows wholly after OFF, centre <= OFF + 600
    # percent recovery and AUC over the 600 s horizon
    for ts in (60.0, 120.0, 300.0):
        y = BASE + AMP * math.exp(-ts / tau)
        assert r[f"recovery_pct_{ts:g}s"] == pytest.approx(100 * (peak - y) / (peak - mean_b), abs=0.01)
    auc = AMP * tau * (1 - math.exp(-600 / tau)) + 600 * (BASE - mean_b)
    assert r.auc_metric_s == pytest.approx(auc, rel=0.005) and r.auc_span_s == 600.0
    # HRR60 from the windows when no beats are given
    assert r.hrr60_source == "windows"
    assert r.hrr60_bpm == pytest.approx(AMP * (1 - math.exp(-60 / tau)), abs=1e-6)
    # every parameter that shaped the row is next to it
    assert (r.window_s, r.step_s, r.window_time, r.band, r.k_sd, r.hold_s, r.horizon_s, r.baseline_span_s) == \
        (60.0, 5.0, "center", "sd", 2.0, 60.0, 600.0, 300.0)
    assert rc.attrs["config"]["k_sd"] == 2.0 and rc.attrs["config"]["band_sides"] == "one"
    assert r.note == ""


@pytest.mark.parametrize("tau", [20.0, 90.0, 180.0])
def test_time_constant_and_t50_across_taus_without_noise(tau):
    win = make_windows(lambda t: step_response(t, tau), end_s=OFF + 1200)
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",))))
    mean_b, _ = baseline_stats(win)
    peak = BASE + AMP
    assert r.tau_s == pytest.approx(tau, rel=0.01)
    assert r.t50_s == pytest.approx(tau * math.log(AMP / (mean_b - BASE + (peak - mean_b) / 2)), abs=1.0)


def test_accuracy_with_noise_and_window_smoothing():
    """tau 20..180 s; windows are boxcar means of a noisy 2 Hz heart-rate curve."""
    rng = np.random.default_rng(2024)
    rel_err, t50_err, covered = [], [], []
    for tau in (20, 40, 60, 90, 120, 150, 180):
        for _ in range(3):
            grid = np.arange(0.25, 1500.0, 0.5)
            hr = step_response(grid, tau) + rng.normal(0, 3.0, grid.size)
            starts = np.arange(0.0, 1440.0 + 1e-9, 5.0)
            idx = np.searchsorted(grid, starts)
            csum = np.concatenate([[0.0], np.cumsum(hr)])
            vals = (csum[idx + 120] - csum[idx]) / 120 + rng.normal(0, 0.2, starts.size)
            win = pd.DataFrame({"start_s": starts, "end_s": starts + 60, "valid": True, "mean_hr_bpm": vals})
            r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",))))
            rel_err.append(abs(r.tau_s - tau) / tau)
            t50_err.append(abs(r.t50_s - tau * math.log(2)))      # the curve's own half-recovery
            covered.append(r.tau_ci_low_s <= tau <= r.tau_ci_high_s)
    # measured: median 5 % and 3.3 s; the 95 % interval holds the true tau in 20 of 21 runs
    assert np.median(rel_err) <= 0.15
    assert np.median(t50_err) <= 10.0
    assert np.mean(covered) >= 0.75


def test_vagal_metric_falls_under_stress():
    tau = 90.0
    curve = lambda t: step_response(t, tau, base=3.8, amp=-1.0)     # lnRMSSD: withdrawn, then back
    win = make_windows(curve, wiggle=0.05, metric="ln_rmssd")
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("ln_rmssd",))), metric="ln_rmssd")
    mean_b, _ = baseline_stats(win, "ln_rmssd")
    assert r.direction == -1 and r.peak == pytest.approx(2.8)
    assert r.reactivity == pytest.approx(2.8 - mean_b) and r.reactivity < 0
    assert r.tau_s == pytest.approx(tau, rel=0.01)
    assert r.t50_s == pytest.approx(tau * math.log(1.0 / (3.8 - mean_b + (mean_b - 2.8) / 2)), abs=1.0)
    assert r.recovered and math.isnan(r.hrr60_bpm)


def test_moment_stressor_measured_from_peak_response():
    tau, t_peak = 70.0, 630.0

    def curve(t):
        t = np.asarray(t, float)
        y = np.full_like(t, BASE)
        rise = (t >= 600) & (t < t_peak)
        y[rise] = BASE + AMP * (t[rise] - 600) / (t_peak - 600)
        y[t >= t_peak] = BASE + AMP * np.exp(-(t[t >= t_peak] - t_peak) / tau)
        return y

    win = make_windows(curve)
    r = one(assess(win, [Event(600.0, 0.0, "argument at 14:05", "stressor")],
                   RecoveryConfig(metrics=("mean_hr_bpm",))))
    mean_b, _ = baseline_stats(win, hi=600.0)
    assert r.onset_s == r.offset_s == 600.0
    assert r.recovery_start_s == t_peak and r.peak_time_s == t_peak
    assert r.baseline_start_s == 300.0 and r.baseline_end_s == 600.0
    assert r.t50_s == pytest.approx(tau * math.log(AMP / (mean_b - BASE + (BASE + AMP - mean_b) / 2)), abs=1.0)
    assert r.tau_s == pytest.approx(tau, rel=0.01)


# -- censoring ----------------------------------------------------------------------------------------
def test_censored_at_the_horizon():
    win = make_windows(lambda t: step_response(t, 60.0))
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",), horizon_s=100.0)))
    assert not r.recovered and math.isnan(r.time_to_baseline_s)
    assert r.censored_at_s == 100.0 and "horizon 100 s" in r.note
    assert r.auc_span_s == 100.0 and r.horizon_s == 100.0


def test_censored_by_the_next_stressor_and_baseline_shared():
    win = make_windows(lambda t: step_response(t, 60.0))
    rc = assess(win, [stressor(), stressor(OFF + 120.0, 60.0, "arithmetic")], RecoveryConfig(metrics=("mean_hr_bpm",)))
    first, second = one(rc, label="speech"), one(rc, label="arithmetic")
    assert not first.recovered and first.censored_at_s == 120.0
    assert "next stressor 'arithmetic'" in first.note
    # the 300 s before the second stressor hold the first one's recovery: its baseline is shared
    assert (second.baseline_start_s, second.baseline_end_s) == (0.0, ON)
    assert "baseline shared with the previous stressor 'speech'" in second.note


def test_censored_at_data_end():
    win = make_windows(lambda t: step_response(t, 60.0), end_s=760.0)
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",))))
    assert not r.recovered and r.censored_at_s == pytest.approx(760.0 - 30.0 - OFF)
    assert "data end" in r.note


def test_hold_time_rejects_a_brief_dip():
    tau = 60.0

    def curve(t):
        y = step_response(t, tau)
        t = np.asarray(t, float)
        y[(t >= 650) & (t < 670)] = BASE           # a 20 s dip to baseline, then back up the curve
        return y

    win = make_windows(curve)
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",), band_floor_share=0.0)))
    mean_b, sd_b = baseline_stats(win)
    assert r.time_to_baseline_s == pytest.approx(tau * math.log(AMP / (mean_b + 2 * sd_b - BASE)), abs=1.0)
    r0 = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",), hold_s=0.0, band_floor_share=0.0)))
    assert 45.0 <= r0.time_to_baseline_s <= 50.0    # entered with the dip (centres 650..665)


# -- edge cases ---------------------------------------------------------------------------------------
def test_no_stressors_gives_an_empty_table_with_the_columns():
    win = make_windows(lambda t: step_response(t, 60.0))
    rc = assess(win, [Event(0.0, 300.0, "rest", "baseline")])
    assert len(rc) == 0 and list(rc.columns) == recovery_columns()
    assert rc.attrs["config"]["horizon_s"] == 600.0


def test_stressor_without_baseline_data():
    win = make_windows(lambda t: step_response(t, 60.0, on=30.0, off=330.0))
    r = one(assess(win, [stressor(30.0, 300.0)], RecoveryConfig(metrics=("mean_hr_bpm",))))
    assert "no baseline: 0 valid windows" in r.note
    for c in ("baseline_mean", "baseline_sd", "reactivity", "time_to_baseline_s", "t50_s", "auc_metric_s",
              "recovery_pct_60s"):
        assert math.isnan(r[c]), c
    assert not r.recovered
    assert r.tau_s == pytest.approx(60.0, rel=0.01)     # the fit needs no baseline


def test_all_invalid_windows_give_a_censored_row_with_a_reason():
    win = make_windows(lambda t: step_response(t, 60.0))
    win["valid"] = False
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",))))
    assert not r.recovered and math.isnan(r.time_to_baseline_s) and r.censored_at_s == 0.0
    assert "no valid windows" in r.note
    assert math.isnan(r.tau_s) and math.isnan(r.peak)


def test_invalid_windows_are_skipped():
    tau = 60.0
    win = make_windows(lambda t: step_response(t, tau))
    win.loc[(win.start_s > 100) & (win.start_s < 150), "valid"] = False
    win.loc[(win.start_s > 100) & (win.start_s < 150), "mean_hr_bpm"] = 500.0   # junk must not count
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",))))
    mean_b, sd_b = baseline_stats(win[win.valid])
    assert r.baseline_mean == pytest.approx(mean_b) and r.baseline_n_windows == 49 - 9


def test_explicit_baseline_event():
    win = make_windows(lambda t: step_response(t, 60.0))
    rc = assess(win, [Event(100.0, 150.0, "rest", "baseline"), stressor()], RecoveryConfig(metrics=("mean_hr_bpm",)))
    r = one(rc)
    mean_b, sd_b = baseline_stats(win, lo=100.0, hi=250.0)
    assert r.baseline_source == "event:rest" and (r.baseline_start_s, r.baseline_end_s) == (100.0, 250.0)
    assert r.baseline_mean == pytest.approx(mean_b) and r.baseline_sd == pytest.approx(sd_b)


def test_swc_band_with_a_reference_sd():
    win = make_windows(lambda t: step_response(t, 60.0))
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",), band="swc", swc_reference_sd=3.0)))
    assert r.band == "swc" and r.band_high - r.baseline_mean == pytest.approx(1.5)
    mean_b, _ = baseline_stats(win)
    assert r.time_to_baseline_s == pytest.approx(60.0 * math.log(AMP / (mean_b + 1.5 - BASE)), abs=1.0)


def test_one_sided_band_accepts_an_overshoot_two_sided_does_not():
    win = make_windows(lambda t: step_response(t, 60.0, floor=BASE - 5.0))
    cfg = RecoveryConfig(metrics=("mean_hr_bpm",))
    one_sided = one(assess(win, [stressor()], cfg))
    two_sided = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",), band_sides="two")))
    assert one_sided.recovered
    assert not two_sided.recovered and two_sided.censored_at_s == 600.0


def test_window_end_time_shifts_times_by_half_a_window():
    win = make_windows(lambda t: step_response(t, 60.0))
    c = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",))))
    e = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",), window_time="end")))
    assert e.t50_s - c.t50_s == pytest.approx(30.0, abs=0.01)
    assert e.window_time == "end"


def test_hrr60_from_beats():
    # heart rate 90 bpm until t0 = 600 s, then falling linearly by 0.2 bpm/s for 100 s
    def hr(t):
        return 90.0 if t < OFF else max(70.0, 90.0 - 0.2 * (t - OFF))

    t, times = 0.5, []
    while t < 1500:
        times.append(t)
        t += 60.0 / hr(t)
    times = np.array(times)
    beats = pd.DataFrame({"t_s": times[1:], "rr_ms": np.diff(times) * 1000})
    win = make_windows(lambda x: np.array([hr(v) for v in np.atleast_1d(x)]))
    r = one(assess(win, [stressor()], RecoveryConfig(metrics=("mean_hr_bpm",)), beats=beats))
    # HR over the 10 s before t0 is 90; over 55-65 s after it is 90 - 0.2 * 60 = 78
    assert r.hrr60_source == "beats" and r.hrr60_bpm == pytest.approx(12.0, abs=0.3)


def test_missing_metric_and_bad_windows():
    win = make_windows(lambda t: step_response(t, 60.0))
    r = one(assess(win, [stressor()]), metric="pns_index")
    assert "no column 'pns_index'" in r.note and math.isnan(r.baseline_mean)
    with pytest.raises(InputError, match="missing column 'valid'"):
        assess_recovery(win.drop(columns="valid"), Events([stressor()]))


def test_config_validation_and_mapping():
    with pytest.raises(InputError, match="band must be one of sd, swc"):
        RecoveryConfig(band="percent")
    with pytest.raises(InputError, match="hold_s"):
        RecoveryConfig(hold_s=-1.0)
    cfg = config_from_mapping(RecoveryConfig, {"k_sd": 1.5, "recovery_pct_times_s": [30, 90]}, "t.toml [recovery]")
    assert cfg.k_sd == 1.5 and cfg.recovery_pct_times_s == (30.0, 90.0)
    assert "recovery_pct_30s" in recovery_columns(cfg)


# -- with the simulator and windowed HRV --------------------------------------------------------------
def _hr_windows(t_s: np.ndarray, rr_ms: np.ndarray, window_s=60.0, step_s=5.0) -> pd.DataFrame:
    """Mean heart rate per window, computed plainly from the beats (not by calmtrace)."""
    starts = np.arange(0.0, t_s[-1] - window_s + 1e-9, step_s)
    lo = np.searchsorted(t_s, starts, side="right")
    hi = np.searchsorted(t_s, starts + window_s, side="right")
    csum = np.concatenate([[0.0], np.cumsum(rr_ms)])
    n = hi - lo
    mean_rr = (csum[hi] - csum[lo]) / np.maximum(n, 1)
    return pd.DataFrame({"start_s": starts, "end_s": starts + window_s, "valid": n >= 20,
                         "mean_hr_bpm": np.where(n > 0, 60000.0 / np.maximum(mean_rr, 1e-9), np.nan)})


def test_simulated_tsst_recovery():
    sim = pytest.importorskip("calmtrace.signals.simulate")
    tau_err, t50_err, hrr_err = [], [], []
    for seed, tau in ((1, 40.0), (2, 90.0), (3, 150.0)):
        rec = sim.simulate("tsst", seed=seed, tau_s=tau)
        win = _hr_windows(rec.t_s, rec.rr_ms)
        rc = assess(win, list(rec.events), RecoveryConfig(metrics=("mean_hr_bpm",)), beats=rec.beats)
        truth = rec.meta["truth"]["stressors"][-1]
        r = one(rc, label=truth["label"])
        tau_err.append(abs(r.tau_s - tau) / tau)
        t50_err.append(abs(r.t50_s - tau * math.log(2)))
        hrr_err.append(abs(r.hrr60_bpm - truth["hrr60_bpm"]))
    assert max(tau_err) <= 0.15
    assert max(t50_err) <= 15.0
    assert max(hrr_err) <= 1.5


def test_end_to_end_with_windowed_hrv():
    hrv = pytest.importorskip("calmtrace.signals.hrv")
    sim = pytest.importorskip("calmtrace.signals.simulate")
    rec = sim.simulate("tsst", seed=4, tau_s=60.0)
    win = hrv.windowed_hrv(rec, window_s=60, step_s=5)
    rc = assess(win, list(rec.events), beats=rec.beats)
    assert len(rc) == 2 * 3
    last = rec.meta["truth"]["stressors"][-1]
    hr = one(rc, "mean_hr_bpm", last["label"])
    assert hr.tau_s == pytest.approx(60.0, rel=0.25)
    assert hr.reactivity == pytest.approx(last["reactivity_bpm"], abs=3.0)
    assert one(rc, "ln_rmssd", last["label"]).reactivity < 0


# -- the band floor, and stressors that follow, overlap or repeat each other -------------------------
def test_band_floor_is_hopkins_swc_of_the_population_sd():
    from calmtrace.signals.recovery import band_floor

    # 0.2 x between-person SD (Hopkins 2000); HR SD from mean RR 926 +- 90 ms by the delta method
    assert band_floor("mean_hr_bpm") == pytest.approx(0.2 * 60000.0 * 90.0 / 926.0 ** 2)
    assert band_floor("ln_rmssd") == pytest.approx(0.2 * 15.0 / 42.0)
    assert math.isnan(band_floor("dfa_alpha1"))
    assert math.isnan(band_floor("mean_hr_bpm", RecoveryConfig(band_floor_share=0.0)))


def test_consecutive_overlapping_and_duplicate_stressors_are_reported():
    win = make_windows(lambda t: step_response(t, 60.0), end_s=OFF + 1200)
    events = [Event(300.0, 300.0, "speech", "stressor"), Event(600.0, 300.0, "arithmetic", "stressor"),
              Event(600.0, 300.0, "arithmetic again", "stressor"),
              Event(1000.0, 200.0, "noise", "stressor"), Event(1100.0, 200.0, "alarm", "stressor")]
    rc = assess(win, events, RecoveryConfig(metrics=("mean_hr_bpm",)))
    by = {r.event_label: r for r in rc.itertuples(index=False)}
    assert by["speech"].stressor_relation == "consecutive" and by["speech"].followed_by == "arithmetic"
    assert by["speech"].note.startswith("followed at once by stressor 'arithmetic'")
    assert by["arithmetic again"].stressor_relation == "duplicate"
    assert "duplicate of stressor 'arithmetic'" in by["arithmetic again"].note
    assert math.isnan(by["arithmetic again"].reactivity)
    # the first of the duplicates is not cut short by its copy: its next stressor is 'noise'
    assert "'arithmetic again'" not in by["arithmetic"].note
    assert by["noise"].stressor_relation == "overlapping" and by["noise"].followed_by == "alarm"
    assert "overlaps stressor 'alarm'" in by["noise"].note
    assert by["alarm"].stressor_relation == ""
