"""Acceleration files beside a recording: acc.csv, Polar Sensor Logger ACC, generic CSV."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from calmtrace.errors import FormatError, InputError
from calmtrace.formats.acc_csv import read_acc
from tests.conftest import shared_data

START = datetime(2022, 4, 25, 11, 39, 30, tzinfo=timezone.utc)


def test_calmtrace_acc_csv_round_trip(tmp_path):
    df = pd.DataFrame({"t_s": [0.0, 0.04, 0.08], "x_mg": [1, 2, 3], "y_mg": [4, 5, 6], "z_mg": [1000, 999, 998]})
    p = tmp_path / "acc.csv"
    df.to_csv(p, index=False)
    out = read_acc(p, START)
    assert out.attrs["layout"] == "calmtrace acc.csv"
    assert np.allclose(out[["t_s", "x_mg", "y_mg", "z_mg"]].to_numpy(), df.to_numpy())


def test_polar_sensor_logger_acc_real_file():
    p = shared_data("polar-sensor-logger-verity", "Polar_Sense_ACC.HEAD500.txt")
    out = read_acc(p, START)
    assert out.attrs["layout"] == "Polar Sensor Logger ACC"
    raw = pd.read_csv(p, sep=";")
    assert len(out) == len(raw)
    assert (out["x_mg"].to_numpy() == raw["X [mg]"].to_numpy()).all()
    # spacing from the sensor clock (ns), independent of the phone's batching
    assert np.allclose(np.diff(out["t_s"]), np.diff(raw["sensor timestamp [ns]"].to_numpy()) / 1e9)
    # on the phone clock: within a batch delay of the phone timestamps (taken as UTC)
    phone = (pd.to_datetime(raw["Phone timestamp"]).dt.tz_localize("UTC") - pd.Timestamp(START)).dt.total_seconds()
    assert abs(float(np.median(out["t_s"].to_numpy() - phone.to_numpy()))) < 0.5


def test_generic_csv_in_g_is_guessed_and_recorded(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("time,x,y,z\n1650886770.0,0.0,0.0,1.0\n1650886770.04,0.01,0.0,1.02\n")
    out = read_acc(p, START)
    assert out["z_mg"].tolist() == pytest.approx([1000.0, 1020.0])
    assert out["t_s"].tolist() == pytest.approx([1650886770.0 - START.timestamp(), 1650886770.04 - START.timestamp()])
    assert any("taken as g" in g for g in out.attrs["guesses"])
    assert any("Unix seconds" in g for g in out.attrs["guesses"])


def test_generic_csv_with_named_unit_and_iso_times(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("timestamp,acc_x [mg],acc_y [mg],acc_z [mg]\n2022-04-25T11:39:31.000Z,1,2,1000\n"
                 "2022-04-25T13:39:31.040+02:00,3,4,1001\n")
    out = read_acc(p, START)
    assert out["t_s"].tolist() == pytest.approx([1.0, 1.04])
    assert out.attrs["guesses"] == []


@pytest.mark.parametrize("text, match", [
    ("t_s,x_mg,y_mg,z_mg\n0,1,2,3\n0.04,1,oops,3\n", "line 3: y_mg must be a number"),
    ("time,a,b,c\n0,1,2,3\n", "no x axis column"),
    ("", "empty file"),
    ("foo,x,y,z\n1,2,3,4\n", "no time column"),
    ("t_s,x,y,z\n0,0.001,0.001,0.001\n", "fits none of"),
])
def test_bad_files_say_where(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(FormatError, match=match):
        read_acc(p, START)


def test_naive_start_is_an_error(tmp_path):
    p = tmp_path / "acc.csv"
    p.write_text("t_s,x_mg,y_mg,z_mg\n0,0,0,1000\n")
    with pytest.raises(InputError):
        read_acc(p, datetime(2022, 1, 1))


def _psl_file(path, n, sensor_zero=False, bad_line=None):
    rng = np.random.default_rng(1)
    t = np.arange(n) / 25.0  # true sample times, s after START
    # the phone logs each batch of 9 samples when it arrives, 0.1-0.3 s after its last sample
    batch_end = (np.arange(n) // 9) * 9 + 8
    phone = t[np.minimum(batch_end, n - 1)] + rng.uniform(0.1, 0.3, n // 9 + 1)[np.arange(n) // 9]
    phone_text = (pd.Timestamp(START.replace(tzinfo=None)) + pd.to_timedelta(np.round(phone * 1000), unit="ms")) \
        .strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3]
    sensor = np.zeros(n, np.int64) if sensor_zero else (704_000_000_000_000_000 + np.round(t * 1e9)).astype(np.int64)
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    lines += [f"{p};{s};1;2;1000" for p, s in zip(phone_text, sensor)]
    if bad_line is not None:
        lines[bad_line - 1] = lines[bad_line - 1].replace(";1000", ";x")
    path.write_text("\n".join(lines) + "\n")
    return t


def test_polar_sensor_logger_long_file_on_the_phone_clock(tmp_path):
    p = tmp_path / "Polar_H10_ACC.txt"
    t = _psl_file(p, 250_000)
    out = read_acc(p, START)
    assert len(out) == 250_000
    # placed within the batching delay of the truth (median delay 0.2 s + half a batch)
    err = out["t_s"].to_numpy() - t
    assert np.ptp(err) < 1e-6 and 0.0 < float(np.median(err)) < 0.6
    # without sensor timestamps: the phone clock, said so
    p0 = tmp_path / "zero.txt"
    _psl_file(p0, 1000, sensor_zero=True)
    out0 = read_acc(p0, START)
    assert any("phone timestamps used" in g for g in out0.attrs["guesses"])
    pb = tmp_path / "bad.txt"
    _psl_file(pb, 1000, bad_line=500)
    with pytest.raises(FormatError, match="line 500: Z \\[mg\\] must be a number"):
        read_acc(pb, START)
