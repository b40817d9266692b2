"""Polar H10 ECG importer: the real ECGLogger file, and a Polar Sensor Logger ECG fixture.

tests/data/ecg_psl_H10_ECG.txt is 12 s of ``nk.ecg_simulate(duration=12, sampling_rate=130,
heart_rate=72, heart_rate_std=0, random_state=7)`` in µV, written in Polar Sensor Logger's ECG
layout with the phone time starting 2024-03-02T10:15:30.250.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats._text import CLOCK_LOCAL_AS_UTC, CLOCK_UTC
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"
PSL = DATA / "ecg_psl_H10_ECG.txt"


@pytest.fixture(scope="module")
def ecglogger():
    path = shared_data("polar-h10-pvc", "polar_h10_ecglogger.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return path, rows, formats.read(path)


@pytest.mark.realdata
def test_ecglogger_start_duration_hr(ecglogger):
    path, rows, rec = ecglogger
    first, last = int(rows[0]["time"]), int(rows[-1]["time"])
    assert formats.detect(path).name == "polar-ecg"
    assert rec.meta["clock"] == CLOCK_UTC and rec.meta["model"] == "Polar H10"
    assert rec.start == datetime.fromtimestamp(first // 10**9, tz=timezone.utc).replace(
        microsecond=(first % 10**9) // 1000)
    assert rec.duration_s == pytest.approx((last - first) / 1e9, abs=1e-6)
    hr_rows = [r for r in rows if r["hr"]]
    assert len(rec.hr) == len(hr_rows)
    np.testing.assert_allclose(rec.hr["hr_bpm"], [float(r["hr"]) for r in hr_rows])
    assert rec.ecg["ecg_uv"].iloc[0] == pytest.approx(float(rows[0]["ecg"]) * 1000.0)
    assert rec.meta["ecg_fs_hz"] == pytest.approx((len(rows) - 1) / ((last - first) / 1e9), rel=1e-3)


@pytest.mark.realdata
def test_ecglogger_beats_agree_with_the_straps_rr(ecglogger):
    _, rows, rec = ecglogger
    t0 = int(rows[0]["time"])
    dev = [((int(r["time"]) - t0) / 1e9, float(r["rr"])) for r in rows if r["rr"]]
    assert rec.meta["device_rr_count"] == len(dev)
    # the strap misses a few beats (it merges their intervals); R-peaks find them
    assert abs(len(rec.beats) - len(dev)) <= 0.02 * len(dev)
    t, rr = rec.t_s, rec.rr_ms
    hits = 0
    for when, value in dev:
        near = (t >= when - 3.0) & (t <= when + 0.05)
        if near.any() and np.min(np.abs(rr[near] - value)) <= 20.0:
            hits += 1
    share = 100.0 * hits / len(dev)
    assert share >= 95.0
    assert rec.meta["device_rr_agreement_pct"] == pytest.approx(share, abs=0.01)


def test_polar_sensor_logger_fixture():
    assert formats.detect(PSL).name == "polar-ecg"
    rec = formats.read(PSL)
    lines = PSL.read_text().splitlines()
    first = lines[1].split(";")
    last = lines[-1].split(";")
    assert rec.start == datetime.fromisoformat(first[0]).replace(tzinfo=timezone.utc)
    assert rec.meta["clock"] == CLOCK_LOCAL_AS_UTC
    assert rec.duration_s == pytest.approx((int(last[1]) - int(first[1])) / 1e9)
    assert rec.ecg["ecg_uv"].iloc[0] == float(first[3])
    # 72 bpm for 12 s: 14.4 beats, 13 or 14 intervals inside the file
    assert 12 <= len(rec.beats) <= 14
    assert abs(np.median(rec.rr_ms) - 60000 / 72) <= 2 * 1000 / 130


def test_psl_dropped_frame_is_a_gap(tmp_path):
    lines = PSL.read_text().splitlines()
    del lines[600:673]  # one 73-sample frame of Polar's PMD stream, lost
    path = tmp_path / "x_ECG.txt"
    path.write_text("\n".join(lines) + "\n")
    rec = formats.read(path)
    hole_start = (int(lines[599].split(";")[1]) - int(lines[1].split(";")[1])) / 1e9
    hole_end = (int(lines[600].split(";")[1]) - int(lines[1].split(";")[1])) / 1e9
    assert len(rec.gaps) == 1
    g0, g1 = rec.gaps["onset_s"].iloc[0], rec.gaps["onset_s"].iloc[0] + rec.gaps["duration_s"].iloc[0]
    assert g0 <= hole_start and g1 >= hole_end
    assert rec.rr_ms.max() < 900


def test_bad_cell_names_its_line(tmp_path):
    lines = PSL.read_text().splitlines()
    cells = lines[41].split(";")
    cells[3] = "abc"
    lines[41] = ";".join(cells)
    path = tmp_path / "bad_ECG.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"line 42: ecg \[uV\] must be a number, got 'abc'"):
        formats.read(path)


def test_ecglogger_time_going_back(tmp_path):
    path = tmp_path / "e.csv"
    rows = ["time,ecg,hr,rr"] + [f"{1714920600000000000 + i * 7_692_308},0.1,," for i in range(800)]
    rows[300] = f"{1714920600000000000},0.1,,"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(FormatError, match="line 301: time must increase"):
        formats.read(path)


def test_other_header_is_refused(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FormatError, match="ECGLogger header"):
        formats.read(path, format="polar-ecg")
