"""Generic ECG table importer: NeuroKit2's example files and small tables written here.

For the real files there is no reference annotation, so an independent, deliberately simple R-peak
detector written here (5-30 Hz band-pass, rectified, scipy find_peaks) gives the figures to check.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from tests.conftest import shared_data

nk = pytest.importorskip("neurokit2")
signal = pytest.importorskip("scipy.signal")


def simple_peaks_s(x: np.ndarray, fs: float) -> np.ndarray:
    b, a = signal.butter(2, [5 / (fs / 2), min(30.0, 0.45 * fs) / (fs / 2)], "bandpass")
    y = np.abs(signal.filtfilt(b, a, x))
    peaks, _ = signal.find_peaks(y, distance=int(0.3 * fs), height=0.35 * np.percentile(y, 99.5))
    return peaks / fs


def _column(path, name):
    lines = path.read_text().splitlines()
    k = lines[0].split(",").index(name)
    return np.array([float(ln.split(",")[k]) for ln in lines[1:] if ln.strip()])


@pytest.mark.realdata
@pytest.mark.parametrize("name, fs", [("ecg_1000hz.csv", 1000.0), ("bio_resting_5min_100hz.csv", 100.0),
                                      ("bio_eventrelated_100hz.csv", 100.0)])
def test_neurokit_example_files(name, fs):
    path = shared_data("neurokit", name)
    assert formats.detect(path).name == "ecg-csv"
    rec = formats.read(path)
    x = _column(path, "ECG")
    assert rec.meta["ecg_fs_hz"] == fs and "file name" in rec.meta["ecg_fs_source"]
    assert rec.duration_s == pytest.approx((len(x) - 1) / fs)
    assert rec.start == datetime(1970, 1, 1, tzinfo=timezone.utc) and rec.meta["start_unknown"] is True
    ref = simple_peaks_s(x, fs)
    # every detected beat but the first closes an interval
    assert abs((len(rec.beats) + 1) - len(ref)) <= 0.02 * len(ref) + 1
    near = np.min(np.abs(rec.t_s[:, None] - ref[None, :]), axis=1)
    assert np.mean(near <= 0.150) >= 0.97


@pytest.fixture(scope="module")
def sim_ecg():
    return nk.ecg_simulate(duration=15, sampling_rate=250, heart_rate=80, heart_rate_std=0, random_state=9)


def _write(path, header, rows, comments=()):
    path.write_text("".join(f"{c}\n" for c in comments) + header + "\n" + "\n".join(rows) + "\n")
    return path


def _check_beats(rec, hr=80, fs=250):
    assert abs(np.median(rec.rr_ms) - 60000 / hr) <= 2 * 1000 / fs
    assert 15 * hr / 60 - 3 <= len(rec.beats) <= 15 * hr / 60


def test_rate_in_column_name(tmp_path, sim_ecg):
    path = _write(tmp_path / "x.csv", "ECG_250Hz,resp", [f"{v:.5f},0" for v in sim_ecg])
    rec = formats.read(path)
    assert rec.meta["ecg_fs_hz"] == 250.0 and "column name" in rec.meta["ecg_fs_source"]
    _check_beats(rec)


def test_rate_and_start_in_comments(tmp_path, sim_ecg):
    path = _write(tmp_path / "y.csv", "ecg", [f"{v:.5f}" for v in sim_ecg],
                  comments=["# exported by a lab tool", "# fs_hz = 250", "# start = 2024-05-01T09:00:00+02:00"])
    rec = formats.read(path)
    assert rec.meta["ecg_fs_hz"] == 250.0
    assert rec.start == datetime(2024, 5, 1, 7, 0, tzinfo=timezone.utc)
    assert "start_unknown" not in rec.meta
    _check_beats(rec)


def test_time_column_in_ms_and_millivolts(tmp_path, sim_ecg):
    rows = [f"{i * 4.0:.1f};{v:.5f}" for i, v in enumerate(sim_ecg)]
    path = _write(tmp_path / "z.csv", "time_ms;ECG [mV]", rows)
    rec = formats.read(path)
    assert rec.meta["ecg_fs_hz"] == pytest.approx(250.0)
    assert rec.meta["ecg_units"].startswith("uV")
    np.testing.assert_allclose(rec.ecg["ecg_uv"], np.round(sim_ecg, 5) * 1000.0)
    assert rec.duration_s == pytest.approx((len(sim_ecg) - 1) * 0.004)
    _check_beats(rec)


def test_no_rate_says_how_to_give_one(tmp_path, sim_ecg):
    path = _write(tmp_path / "plain.csv", "ECG", [f"{v:.5f}" for v in sim_ecg])
    assert formats.detect(path).name == "ecg-csv"
    with pytest.raises(FormatError, match=r"sampling rate.*time_s.*ECG_250Hz.*fs_hz"):
        formats.read(path)


def test_bad_value_names_its_line(tmp_path, sim_ecg):
    rows = [f"{v:.5f}" for v in sim_ecg]
    rows[9] = "n/a"
    path = _write(tmp_path / "ecg_250hz.csv", "ECG", rows)
    with pytest.raises(FormatError, match=r"line 11: ECG must be a number, got 'n/a'"):
        formats.read(path)


def test_naive_start_comment_is_refused(tmp_path, sim_ecg):
    path = _write(tmp_path / "s.csv", "ECG", [f"{v:.5f}" for v in sim_ecg],
                  comments=["# fs_hz: 250", "# start: 2024-05-01 09:00:00"])
    with pytest.raises(FormatError, match="UTC offset"):
        formats.read(path)


def test_too_short(tmp_path):
    path = _write(tmp_path / "t_250hz.csv", "ECG", ["0.1", "0.2", "0.3"])
    with pytest.raises(FormatError, match="too short"):
        formats.read(path)


def test_no_ecg_column(tmp_path):
    path = _write(tmp_path / "n_250hz.csv", "PPG,RSP", ["1,2"] * 10)
    assert formats.REGISTRY["ecg-csv"].sniff(path, path.read_bytes()) == 0
    with pytest.raises(FormatError, match="no ECG column"):
        formats.read(path, format="ecg-csv")
