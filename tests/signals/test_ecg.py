"""ECG -> R-peaks -> beats, measured against the MIT-BIH Arrhythmia Database reference annotations.

The beat matching below is written here, independently of calmtrace: each reference beat is paired
with the nearest unpaired detection within 150 ms (the match window of ANSI/AAMI EC57), and
sensitivity, positive predictivity and timing error follow from the pairs.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from calmtrace.errors import CalmtraceError, InputError
from calmtrace.signals.ecg import (
    KEEP_ECG_MAX_SAMPLES,
    GAP_RR_MS,
    beats_from_times,
    detect_beats,
    ecg_to_recording,
)
from tests.conftest import shared_data

#: WFDB annotation codes that mark a beat (PhysioNet "annotation codes"; '+' rhythm changes,
#: '~' noise, '|' artefact and the other non-beat codes are left out).
BEAT_CODES = set("NLRBAaJSVrFejnE/fQ?")
TOLERANCE_S = 0.150
START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def match(reference_s: np.ndarray, detected_s: np.ndarray, tol_s: float = TOLERANCE_S):
    """Greedy nearest pairing; returns (true positives, absolute timing errors in ms)."""
    used = np.zeros(len(detected_s), dtype=bool)
    errors = []
    for r in reference_s:
        k = int(np.searchsorted(detected_s, r))
        best = None
        for c in (k - 1, k):
            if 0 <= c < len(detected_s) and not used[c] and abs(detected_s[c] - r) <= tol_s:
                if best is None or abs(detected_s[c] - r) < abs(detected_s[best] - r):
                    best = c
        if best is not None:
            used[best] = True
            errors.append(abs(detected_s[best] - r) * 1000.0)
    return len(errors), np.asarray(errors)


@pytest.fixture(scope="module")
def mitdb100():
    """Record 100's MLII lead, its rate and the reference beat times in s."""
    wfdb = pytest.importorskip("wfdb")
    base = shared_data("mitdb-100", "100.hea").with_suffix("")
    rec = wfdb.rdrecord(str(base))
    ann = wfdb.rdann(str(base), "atr")
    lead = rec.p_signal[:, rec.sig_name.index("MLII")]
    ref = np.array([s for s, c in zip(ann.sample, ann.symbol) if c in BEAT_CODES]) / rec.fs
    return lead, float(rec.fs), ref


@pytest.fixture(scope="module")
def mitdb100_detected(mitdb100):
    lead, fs, _ = mitdb100
    return detect_beats(lead, fs)


@pytest.mark.realdata
def test_mitdb100_sensitivity_and_predictivity(mitdb100, mitdb100_detected):
    _, _, ref = mitdb100
    tp, _ = match(ref, mitdb100_detected.t_s)
    sensitivity = tp / len(ref)
    ppv = tp / len(mitdb100_detected.t_s)
    assert len(ref) == 2273  # the MIT-BIH directory lists 2273 beats for record 100
    assert sensitivity >= 0.99, sensitivity
    assert ppv >= 0.99, ppv


@pytest.mark.realdata
def test_mitdb100_timing_error(mitdb100, mitdb100_detected):
    _, _, ref = mitdb100
    _, err_ms = match(ref, mitdb100_detected.t_s)
    # measured: median 0.0 ms, 95th percentile 2.8 ms (one sample at 360 Hz is 2.8 ms)
    assert np.median(err_ms) <= 3.0
    assert np.percentile(err_ms, 95) <= 6.0


@pytest.mark.realdata
def test_detected_rr_is_the_difference_of_peak_times(mitdb100, mitdb100_detected):
    _, fs, _ = mitdb100
    d = mitdb100_detected
    assert len(d.rr_ms) == len(d.t_s) - 1
    np.testing.assert_allclose(d.t_s, d.peak_idx / fs)
    np.testing.assert_allclose(d.rr_ms, np.diff(d.peak_idx) / fs * 1000.0)


def _simulated(duration_s=20, fs=250, hr=72, seed=3):
    nk = pytest.importorskip("neurokit2")
    return nk.ecg_simulate(duration=duration_s, sampling_rate=fs, heart_rate=hr, heart_rate_std=0, random_state=seed)


def test_simulated_ecg_gives_its_heart_rate():
    ecg = _simulated(duration_s=20, fs=250, hr=72)
    d = detect_beats(ecg, 250)
    expected_rr = 60000.0 / 72
    assert abs(np.median(d.rr_ms) - expected_rr) <= 2 * 1000 / 250
    assert 20 * 72 / 60 - 2 <= len(d.t_s) <= 20 * 72 / 60 + 1


def test_t0_shifts_beat_times():
    ecg = _simulated(duration_s=10)
    a = detect_beats(ecg, 250)
    b = detect_beats(ecg, 250, t0_s=100.0)
    np.testing.assert_allclose(b.t_s, a.t_s + 100.0)


def test_a_hole_in_the_samples_is_a_gap_not_an_interval():
    ecg = _simulated(duration_s=20, fs=250, hr=72)
    t = np.arange(len(ecg)) / 250.0
    t[2500:] += 7.0  # 7 s of samples missing after the first 10 s
    rec = ecg_to_recording(ecg, 250, START, {}, sample_t_s=t)
    hole_start, hole_end = t[2499], t[2500]
    spans = (rec.t_s - rec.rr_ms / 1000.0 < hole_end) & (rec.t_s > hole_start)
    assert not spans.any()
    g = rec.gaps
    assert len(g) == 1 and g["reason"].iloc[0] == "import"
    assert g["onset_s"].iloc[0] <= hole_start and g["onset_s"].iloc[0] + g["duration_s"].iloc[0] >= hole_end
    assert rec.rr_ms.max() < 1000


def test_beats_from_times_hand_computed():
    beats, gaps = beats_from_times(np.array([1.0, 1.8, 1.8, 2.6, 7.0, 7.9]))
    np.testing.assert_allclose(beats["t_s"], [1.8, 2.6, 7.9])
    np.testing.assert_allclose(beats["rr_ms"], [800.0, 800.0, 900.0])
    assert list(gaps["onset_s"]) == [2.6]
    assert gaps["duration_s"].iloc[0] == pytest.approx(4.4)
    assert GAP_RR_MS < 4400


def test_ecg_to_recording_keeps_small_ecg_only():
    ecg = _simulated(duration_s=10)
    kept = ecg_to_recording(ecg, 250, START, {"device": "sim"})
    assert kept.ecg is not None and len(kept.ecg) == len(ecg)
    assert kept.meta["ecg_kept"] is True and kept.meta["device"] == "sim"
    assert len(ecg) < KEEP_ECG_MAX_SAMPLES
    dropped = ecg_to_recording(ecg, 250, START, {}, keep_ecg_max_samples=100)
    assert dropped.ecg is None and dropped.meta["ecg_kept"] is False
    assert dropped.beats.equals(kept.beats)


@pytest.mark.parametrize(
    "ecg, fs, kw, words",
    [
        (np.array([0.0, np.nan] * 2000), 250, {}, "finite"),
        (np.zeros(5000), 10, {}, "at least"),
        (np.zeros(100), 250, {}, "too short"),
        (np.zeros(5000), 250, {"method": "magic"}, "neurokit"),
        (np.zeros((50, 100)), 250, {}, "1-D"),
    ],
)
def test_bad_input_is_an_input_error(ecg, fs, kw, words):
    with pytest.raises(InputError, match=words):
        detect_beats(ecg, fs, **kw)


def test_flat_ecg_has_no_beats_and_no_error():
    d = detect_beats(np.zeros(5000), 250)
    assert len(d) == 0


def test_wild_values_raise_only_calmtrace_errors():
    rng = np.random.default_rng(5)
    wild = (rng.normal(size=3000) * 1e300, rng.integers(-5, 5, size=3000).astype(float), np.tile([0.0, 1e-300], 1500))
    for x in wild:
        try:
            detect_beats(x, 250)
        except CalmtraceError:
            pass
