"""Tests of the physiological simulator (calmtrace.signals.simulate).

Figures are derived here independently of the simulator: beats counted in plain Python, recovery
tau fitted with scipy's curve_fit on 5-s-binned beat HR, spectra from scipy.signal.welch on RR
resampled at 4 Hz, hand-computed beat times for a constant rate.
"""

from __future__ import annotations

import ast
import json
import math
import re
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.integrate import trapezoid
from scipy.optimize import curve_fit
from scipy.signal import detrend, welch

from calmtrace.errors import InputError
from calmtrace.events import EVENT_KINDS
from calmtrace.signals.simulate import (
    SimParams,
    hr_drive,
    ipfm_beats,
    mean_hr,
    scenario_protocol,
    simulate,
    simulate_series,
)
from calmtrace.store import load_folder

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "recordings" / "sample"


# -------------------------------------------------------------------------------------------
# helpers computed in the test
# -------------------------------------------------------------------------------------------
def _segment(rec, label):
    ev = [e for e in rec.events if e.label == label]
    assert len(ev) == 1, f"no single event {label!r} in {[e.label for e in rec.events]}"
    return ev[0]


def _fit_recovery_tau(rec, stressor_label, recovery_label):
    """Fit base + a * exp(-t / tau) to 5-s-binned beat HR after the stressor's end."""
    t0 = _segment(rec, stressor_label).offset_s
    t1 = _segment(rec, recovery_label).offset_s
    m = (rec.t_s >= t0) & (rec.t_s < t1)
    t = rec.t_s[m] - t0
    hr = 60000.0 / rec.rr_ms[m]
    bins = np.floor(t / 5.0).astype(int)
    x = np.array([t[bins == b].mean() for b in np.unique(bins)])
    y = np.array([hr[bins == b].mean() for b in np.unique(bins)])

    def model(tt, base, a, tau):
        return base + a * np.exp(-tt / tau)

    p, _ = curve_fit(model, x, y, p0=[y[-20:].mean(), y[0] - y[-20:].mean(), 60.0])
    return p[2]


def _band_power(rec, t0, t1, lo_hz, hi_hz):
    """Power (ms^2) of the RR series in [lo, hi) Hz between t0 and t1 (RR resampled at 4 Hz)."""
    m = (rec.t_s >= t0) & (rec.t_s < t1)
    t, rr = rec.t_s[m], rec.rr_ms[m]
    grid = np.arange(t[0], t[-1], 0.25)
    x = detrend(np.interp(grid, t, rr))
    f, p = welch(x, fs=4.0, nperseg=256)
    sel = (f >= lo_hz) & (f < hi_hz)
    return trapezoid(p[sel], f[sel])


# -------------------------------------------------------------------------------------------
# IPFM and the drive
# -------------------------------------------------------------------------------------------
def test_ipfm_constant_rate_gives_hand_computed_beats():
    t = np.arange(0, 1001) / 100.0  # 10 s at 100 Hz
    beats = ipfm_beats(t, np.full(t.size, 60.0))
    np.testing.assert_allclose(beats, np.arange(1.0, 11.0), atol=1e-9)
    beats, phase = ipfm_beats(t, np.full(t.size, 90.0), phase0=0.5, return_phase=True)
    # integral 0.5 + 1.5 t crosses k = 1..15 at t = (k - 0.5) / 1.5 s and ends at 15.5 beats
    np.testing.assert_allclose(beats, (np.arange(1, 16) - 0.5) / 1.5, atol=1e-9)
    assert phase == pytest.approx(0.5, abs=1e-9)


def test_mean_curve_recovers_exponentially_with_tau():
    proto = scenario_protocol("tsst", tau_s=75.0)
    base = SimParams().base_hr_bpm
    t_end = 900.0  # end of arithmetic: 300 s baseline + 300 s speech + 300 s arithmetic
    amp = 20.0  # the documented default rise of the arithmetic stressor
    t = t_end + np.array([0.0, 75.0, 150.0, 300.0])
    np.testing.assert_allclose(mean_hr(t, proto) - base, amp * np.exp(-(t - t_end) / 75.0), rtol=1e-5)


def test_exercise_truth_hrr60_matches_the_exponential_form():
    rec = simulate("exercise", seed=1, tau_s=50.0)
    st = rec.meta["truth"]["stressors"][0]
    assert st["label"] == "effort" and st["tau_s"] == 50.0
    # Cole 1999 HRR60: HR at end of effort minus HR one minute later, for HR = base + A exp(-t/tau)
    assert st["hrr60_bpm"] == pytest.approx(st["reactivity_bpm"] * (1 - math.exp(-60.0 / 50.0)), rel=1e-9)
    assert st["reactivity_bpm"] == pytest.approx(70.0, abs=1e-3)


# -------------------------------------------------------------------------------------------
# determinism and plausibility
# -------------------------------------------------------------------------------------------
def test_same_seed_same_recording_and_different_seeds_differ():
    a = simulate("breathing", seed=7, artifact_pct=1.0, n_gaps=2)
    b = simulate("breathing", seed=7, artifact_pct=1.0, n_gaps=2)
    c = simulate("breathing", seed=8, artifact_pct=1.0, n_gaps=2)
    assert a.equals(b)
    assert not a.equals(c)
    n = min(len(a.beats), len(c.beats))
    assert not np.array_equal(a.rr_ms[:n], c.rr_ms[:n])


def test_meta_marks_simulation_and_is_json():
    rec = simulate("tsst", seed=3)
    assert rec.meta["simulated"] is True
    assert rec.meta["scenario"] == "tsst" and rec.meta["seed"] == 3 and rec.meta["subject"]
    assert json.loads(json.dumps(rec.meta, allow_nan=False)) == rec.meta
    truth = rec.meta["truth"]
    assert truth["baseline_hr_bpm"] == SimParams().base_hr_bpm
    assert [s["tau_s"] for s in truth["stressors"]] == [60.0, 60.0]
    assert rec.start == datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("scenario", ["tsst", "breathing", "exercise"])
def test_beats_are_physiologically_plausible(scenario):
    rec = simulate(scenario, seed=5)
    rr = rec.rr_ms
    assert rr.min() > 300 and rr.max() < 2000  # 30-200 bpm
    assert np.abs(np.diff(rr) / rr[:-1]).max() < 0.2  # no artefact-sized jumps in clean data
    assert (rec.flags == "ok").all()
    # consecutive beats: each interval ends at its beat and starts at the previous one
    np.testing.assert_allclose(np.diff(rec.t_s) * 1000.0, rr[1:], atol=1e-6)
    kinds = {e.kind for e in rec.events}
    assert kinds <= set(EVENT_KINDS) and "stressor" in kinds and "baseline" in kinds
    base = _segment(rec, rec.events.of_kind("baseline").label[0])
    m = rec.t_s < base.offset_s
    rmssd = np.sqrt(np.mean(np.diff(rr[m]) ** 2))
    assert 50 < 60000 / rr[m].mean() < 90 and 15 < rmssd < 80


def test_tsst_events_follow_the_protocol():
    rec = simulate("tsst", seed=1)
    got = [(e.onset_s, e.duration_s, e.label, e.kind) for e in rec.events]
    assert got == [(0.0, 300.0, "baseline", "baseline"), (300.0, 300.0, "speech", "stressor"),
                   (600.0, 300.0, "arithmetic", "stressor"), (900.0, 900.0, "recovery", "recovery")]


@pytest.mark.parametrize("scenario", ["tsst", "breathing", "exercise"])
def test_segment_mean_hr_matches_the_drive(scenario):
    seed = 2
    rec = simulate(scenario, seed=seed)
    proto = scenario_protocol(scenario)
    for ev in rec.events:
        n_beats = int(((rec.t_s >= ev.onset_s) & (rec.t_s < ev.offset_s)).sum())
        grid = np.linspace(ev.onset_s, ev.offset_s, int(ev.duration_s * 100) + 1)
        expected_beats = trapezoid(hr_drive(grid, proto, seed=seed) / 60.0, grid)
        assert abs(n_beats - expected_beats) <= 2, (ev.label, n_beats, expected_beats)
        # against the mean curve alone: oscillations and drift average out to within 1.5 bpm
        mean_curve = trapezoid(mean_hr(grid, proto), grid) / ev.duration_s
        assert abs(60.0 * n_beats / ev.duration_s - mean_curve) < 1.5, ev.label


# -------------------------------------------------------------------------------------------
# recovery and spectra
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [20.0, 45.0, 90.0, 180.0])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fitted_recovery_tau_matches_the_truth(tau, seed):
    # quiet drift so that one recovery identifies tau; the default noise is tested just below
    rec = simulate("tsst", seed=seed, tau_s=tau, noise_bpm=0.2)
    assert _fit_recovery_tau(rec, "arithmetic", "recovery") == pytest.approx(tau, rel=0.15)


def test_fitted_recovery_tau_with_default_noise_is_right_on_median():
    fits = [_fit_recovery_tau(simulate("tsst", seed=s, tau_s=60.0), "arithmetic", "recovery") for s in range(1, 8)]
    assert np.median(fits) == pytest.approx(60.0, rel=0.15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stressor_withdraws_hf_power(seed):
    rec = simulate("tsst", seed=seed)
    hf_base = _band_power(rec, 0.0, 300.0, 0.15, 0.4)
    hf_stress = _band_power(rec, 600.0, 900.0, 0.15, 0.4)
    assert hf_stress < 0.5 * hf_base


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paced_breathing_raises_lf_power(seed):
    rec = simulate("breathing", seed=seed)
    paced = _segment(rec, "paced breathing 6/min")
    assert paced.kind == "intervention"
    lf_base = _band_power(rec, 0.0, 300.0, 0.04, 0.15)
    lf_paced = _band_power(rec, paced.onset_s, paced.offset_s, 0.04, 0.15)
    assert lf_paced > 2.0 * lf_base
    # and the breathing scenario's second stressor has no intervention after it
    assert [e.kind for e in rec.events] == ["baseline", "stressor", "intervention", "recovery", "stressor", "recovery"]


# -------------------------------------------------------------------------------------------
# artefacts and gaps
# -------------------------------------------------------------------------------------------
def test_artifacts_have_the_requested_count_and_shape():
    clean = simulate("tsst", seed=4)
    rec = simulate("tsst", seed=4, artifact_pct=2.0)
    n0 = len(clean.beats)
    idx = rec.meta["truth"]["artifact_index"]
    kinds = rec.meta["truth"]["artifact_type"]
    assert len(idx) == len(kinds) == round(0.02 * n0)
    assert set(kinds) == {"ectopic", "missed", "extra"}
    assert len(rec.beats) == n0 - kinds.count("missed") + kinds.count("extra")
    assert (rec.flags == "ok").all()  # raw strap data: nothing flagged
    rr = rec.rr_ms
    typical = np.median(clean.rr_ms)
    for i, k in zip(idx, kinds):
        local = np.median(rr[max(0, i - 10):i - 1])
        if k == "ectopic":
            assert rr[i] < 0.85 * local and rr[i + 1] > 1.1 * local
            assert rr[i] + rr[i + 1] == pytest.approx(2 * local, rel=0.15)  # compensatory pause
        elif k == "missed":
            assert rr[i] > 1.6 * local
        else:
            assert rr[i] < 0.7 * local and rr[i + 1] < 0.7 * local
            assert rr[i] + rr[i + 1] == pytest.approx(local, rel=0.15)
    # every other beat is exactly a clean beat
    touched = set(idx) | {i + 1 for i in idx}
    clean_pairs = set(zip(clean.t_s.tolist(), clean.rr_ms.tolist()))
    others = [(t, r) for j, (t, r) in enumerate(zip(rec.t_s.tolist(), rr.tolist())) if j not in touched]
    assert all(p in clean_pairs for p in others)
    assert 400 < typical < 1100


def test_gaps_have_the_requested_count_and_remove_beats():
    clean = simulate("exercise", seed=6)
    rec = simulate("exercise", seed=6, n_gaps=3)
    assert len(rec.gaps) == 3 and list(rec.gaps.reason) == ["disconnect"] * 3
    removed = 0
    for on, d in zip(rec.gaps.onset_s, rec.gaps.duration_s):
        assert 5.0 <= d <= 30.0
        assert not ((rec.t_s >= on) & (rec.t_s < on + d)).any()
        removed += int(((clean.t_s >= on) & (clean.t_s < on + d)).sum())
    assert removed > 0 and len(rec.beats) == len(clean.beats) - removed
    # the beat after each gap keeps its true interval, not the time since the last kept beat
    after = np.searchsorted(rec.t_s, rec.gaps.onset_s + rec.gaps.duration_s)
    j = np.searchsorted(clean.t_s, rec.t_s[after])
    np.testing.assert_array_equal(rec.rr_ms[after], clean.rr_ms[j])
    assert rec.meta["truth"]["gaps"] == [[o, d] for o, d in zip(rec.gaps.onset_s, rec.gaps.duration_s)]


def test_artifacts_and_gaps_together_keep_truth_indices_right():
    rec = simulate("tsst", seed=9, artifact_pct=3.0, n_gaps=2)
    assert len(rec.gaps) == 2
    idx = rec.meta["truth"]["artifact_index"]
    assert len(idx) == round(0.03 * (len(rec.beats) + rec.meta["truth"]["artifact_type"].count("missed")
                                     - rec.meta["truth"]["artifact_type"].count("extra")))
    rr = rec.rr_ms
    for i, k in zip(idx, rec.meta["truth"]["artifact_type"]):
        local = np.median(rr[max(0, i - 10):i - 1])
        assert abs(rr[i] / local - 1) > 0.15, (i, k)


# -------------------------------------------------------------------------------------------
# errors
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, text", [
    ({"scenario": "yoga"}, "scenario must be one of tsst, breathing, exercise"),
    ({"scenario": "tsst", "tau_s": -5.0}, "tau_s must be"),
    ({"scenario": "tsst", "artifact_pct": 50.0}, "artifact_pct"),
    ({"scenario": "tsst", "n_gaps": -1}, "n_gaps"),
    ({"scenario": "tsst", "n_gaps": 200}, "do not fit"),
    ({"scenario": "tsst", "heart": 3}, "unknown override 'heart'"),
    ({"scenario": "tsst", "start": datetime(2026, 1, 5, 9, 0)}, "timezone-aware"),
    ({"scenario": "tsst", "seed": -1}, "seed"),
])
def test_bad_arguments_raise_input_error(kwargs, text):
    with pytest.raises(InputError, match=text):
        simulate(**kwargs)


# -------------------------------------------------------------------------------------------
# the weekly series
# -------------------------------------------------------------------------------------------
def test_series_recovers_faster_week_by_week():
    recs = simulate_series(n_sessions=8, seed=21, subject="sim-client-01")
    assert len(recs) == 8
    assert [r.start - recs[0].start for r in recs] == [timedelta(weeks=k) for k in range(8)]
    assert {r.meta["subject"] for r in recs} == {"sim-client-01"}
    taus = [r.meta["truth"]["stressors"][-1]["tau_s"] for r in recs]
    assert taus[0] == 150.0 and taus[-1] == 45.0 and all(np.diff(taus) < 0)
    fitted = [_fit_recovery_tau(r, "arithmetic", "recovery") for r in recs]
    assert np.polyfit(np.arange(8), fitted, 1)[0] < 0
    ln_rmssd = [np.log(np.sqrt(np.mean(np.diff(r.rr_ms[r.t_s < 300.0]) ** 2))) for r in recs]
    slope = np.polyfit(np.arange(8), ln_rmssd, 1)[0]
    assert 0 < slope * 7 < 1.0  # rising, slightly


# -------------------------------------------------------------------------------------------
# CLI and the committed samples
# -------------------------------------------------------------------------------------------
def test_cli_writes_what_simulate_returns(tmp_path):
    from calmtrace.cli import cli

    out = tmp_path / "sim"
    res = CliRunner().invoke(cli, ["simulate", "breathing", "--out", str(out), "--seed", "5", "--tau", "70",
                                   "--artifacts", "1.5", "--gaps", "2"])
    assert res.exit_code == 0, res.output
    assert load_folder(out).equals(simulate("breathing", seed=5, tau_s=70.0, artifact_pct=1.5, n_gaps=2))


def _same_within_float_noise(a, b, rtol: float = 1e-12) -> bool:
    """Recordings equal but for the last bits of floats.

    A sample is stale when its parameters or the simulator changed, not when numpy's elementwise
    math (``exp``, SIMD kernels) rounds the last bit differently: numpy 1.26 and 2.4 give
    a truth value of 12.642410209734535 and ...521 from the same seed.
    """
    def same(x, y) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
            return len(x) == len(y) and all(same(u, v) for u, v in zip(x, y))
        if isinstance(x, float) and isinstance(y, (float, int)):
            return math.isclose(x, y, rel_tol=rtol) or (math.isnan(x) and math.isnan(float(y)))
        return x == y

    def same_table(x, y) -> bool:
        if list(x.columns) != list(y.columns) or len(x) != len(y):
            return False
        for c in x.columns:
            u, v = x[c].to_numpy(), y[c].to_numpy()
            if u.dtype.kind == "f":
                if not np.allclose(u, v, rtol=rtol, atol=0, equal_nan=True):
                    return False
            elif not np.array_equal(u, v):
                return False
        return True

    return (a.start == b.start and same_table(a.beats, b.beats) and same_table(a.gaps, b.gaps)
            and same_table(a.hr, b.hr) and a.events == b.events and same(a.meta, b.meta))


def _readme_commands():
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    sims = [shlex.split(line.strip()) for line in text.splitlines() if line.strip().startswith("calmtrace simulate ")]
    series = [m for line in text.splitlines() if line.strip().startswith("python -c ")
              for m in re.findall(r"simulate_series\(([^)]*)\)", line)]
    return sims, series


def test_committed_samples_equal_a_fresh_simulation():
    from calmtrace.cli import simulate_cmd

    sims, series = _readme_commands()
    assert len(sims) >= 3 and len(series) == 1
    expected_folders = set()
    for argv in sims:
        params = simulate_cmd.make_context("simulate", argv[2:]).params
        folder = ROOT / params["out"]
        expected_folders.add(folder.relative_to(SAMPLE).parts[0])
        fresh = simulate(params["scenario"], seed=params["seed"], tau_s=params["tau_s"],
                         artifact_pct=params["artifact_pct"], n_gaps=params["n_gaps"])
        assert _same_within_float_noise(load_folder(folder), fresh), f"{folder} is stale: re-run the README's command"
    call = ast.parse(f"f({series[0]})", mode="eval").body
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    recs = simulate_series(**kwargs)
    weekly = sorted(p.name for p in (SAMPLE / "weekly").iterdir() if p.is_dir())
    assert weekly == [f"week-{k:02d}" for k in range(1, len(recs) + 1)]
    for k, rec in enumerate(recs, start=1):
        assert _same_within_float_noise(load_folder(SAMPLE / "weekly" / f"week-{k:02d}"), rec), f"week-{k:02d} is stale"
    expected_folders.add("weekly")
    assert {p.name for p in SAMPLE.iterdir() if p.is_dir()} == expected_folders
