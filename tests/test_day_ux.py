"""`calmtrace day` as a new user meets it: accelerometer files that miss the beats, the terminal
summary, and `calmtrace simulate day` (issue 15's user report)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calmtrace.recording import Recording
from calmtrace.store import ACC_FILE, save

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
DURATION_S = 20 * 60 + 59.0  # 20 whole minutes and 59 s: the tail is shorter than a 60 s epoch


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def rec20(tmp_path_factory) -> Path:
    """A 20 min 59 s resting recording (beats about 1 s apart, RSA-like wander), start 09:00 UTC."""
    rng = np.random.default_rng(7)
    rr = 950.0 + 60 * np.sin(np.arange(2000) * 2 * np.pi / 4.5) + rng.normal(0, 15, 2000)
    t = np.cumsum(rr) / 1000.0
    keep = t <= DURATION_S
    t, rr = t[keep], rr[keep]
    # the last beat exactly at DURATION_S
    t[-1] = DURATION_S
    rr[-1] = 1000.0 * (t[-1] - t[-2])
    rec = Recording(start=START, beats=pd.DataFrame({"t_s": t, "rr_ms": rr}))
    return save(rec, tmp_path_factory.mktemp("day-ux") / "rec")


def _psl_acc(path: Path, t0_s: float, t1_s: float, fs_hz: float = 25.0) -> None:
    """A Polar Sensor Logger ACC file whose phone clock reads START + t (still: 1 g on z)."""
    t = np.arange(t0_s, t1_s, 1.0 / fs_hz)
    phone = (pd.Timestamp(START.replace(tzinfo=None)) + pd.to_timedelta(np.round(t * 1000), unit="ms")) \
        .strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3]
    sensor = (704_000_000_000_000_000 + np.round(t * 1e9)).astype(np.int64)
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    lines += [f"{p};{s};3;-2;1001" for p, s in zip(phone, sensor)]
    path.write_text("\n".join(lines) + "\n")


def _one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    err = p.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_an_acc_file_two_hours_off_is_refused_naming_both_spans(rec20: Path, tmp_path: Path) -> None:
    acc = tmp_path / "psl_shift.txt"
    _psl_acc(acc, 7200.0, 7200.0 + DURATION_S)  # the phone's clock 2 h ahead
    out = tmp_path / "view"
    err = _one_line_error(run("day", str(rec20), "--acc", str(acc), "--out", str(out)))
    assert str(acc) in err
    assert "11:00:00" in err and "11:20:" in err, err  # the file's span on the clock
    assert "09:00:00" in err and "09:20:59" in err, err  # the recording's
    assert not out.exists() or not any(out.iterdir()), "nothing written"


def test_an_acc_file_covering_3_of_20_minutes_is_warned_and_not_called_accelerometer(rec20: Path,
                                                                                      tmp_path: Path) -> None:
    acc = tmp_path / "psl_short.txt"
    _psl_acc(acc, 0.0, 180.0)  # the first 3 min of 20 whole epochs
    out = tmp_path / "view"
    p = run("day", str(rec20), "--acc", str(acc), "--out", str(out))
    assert p.returncode == 0, p.stderr
    # 3 of the 20 epochs have movement data: 15 %
    assert "(accelerometer)" not in p.stdout
    assert "accelerometer on 15 % of epochs" in p.stdout, p.stdout
    warn = [ln for ln in p.stderr.splitlines() if str(acc) in ln]
    assert len(warn) == 1, p.stderr
    assert "15 %" in warn[0] and "09:00:00" in warn[0] and "09:20:59" in warn[0] and "09:02:" in warn[0], warn[0]
    ep = pd.read_csv(out / "day_epochs.csv")
    assert int(np.isfinite(ep["enmo_mg"]).sum()) == 3


def test_the_summary_prints_every_state_with_the_epochs_and_the_unlabelled_tail(rec20: Path,
                                                                                tmp_path: Path) -> None:
    out = tmp_path / "view"
    p = run("day", str(rec20), "--out", str(out), "--epoch", "30")
    assert p.returncode == 0, p.stderr
    ep = pd.read_csv(out / "day_epochs.csv")
    n = math.floor(DURATION_S / 30.0)  # 41 whole 30 s epochs in 20 min 59 s
    assert len(ep) == n
    line = p.stdout
    for state in ("stress", "recovery", "activity", "neutral", "unmeasured"):
        m = re.search(rf"\b{state} (\d+\.\d)\b", line)
        assert m, (state, line)
        assert float(m.group(1)) == pytest.approx(int((ep["state"] == state).sum()) * 0.5), (state, line)
    assert f"total {n * 0.5:.1f} min in {n} epochs of 30 s" in line, line
    tail = DURATION_S - n * 30.0  # 29 s
    assert f"the last {tail:.0f} s, shorter than one epoch, is not labelled" in line, line


def test_simulate_day_writes_the_recording_and_its_accelerometer(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    pa = run("simulate", "day", "--seed", "2", "--out", str(a))
    pb = run("simulate", "day", "--seed", "2", "--no-acc", "--out", str(b))
    assert pa.returncode == 0 and pb.returncode == 0, (pa.stderr, pb.stderr)
    beats_a, beats_b = pd.read_csv(a / "beats.csv"), pd.read_csv(b / "beats.csv")
    assert beats_a.equals(beats_b), "--no-acc changes nothing but the accelerometer"
    assert not (b / ACC_FILE[0]).exists()
    acc = pd.read_csv(a / ACC_FILE[0])
    assert list(acc.columns) == ACC_FILE[1]
    assert acc["t_s"].iloc[0] >= 0 and acc["t_s"].iloc[-1] > 23.9 * 3600  # one whole day
    assert '"simulated": true' in (a / "recording.json").read_text()
    # another seed, other beats
    c = tmp_path / "c"
    assert run("simulate", "day", "--seed", "3", "--no-acc", "--out", str(c)).returncode == 0
    assert not pd.read_csv(c / "beats.csv").equals(beats_a)
    view = run("day", str(a), "--out", str(tmp_path / "view"))
    assert view.returncode == 0, view.stderr
    ep = pd.read_csv(tmp_path / "view" / "day_epochs.csv")
    assert {"stress", "recovery", "activity"} <= set(ep["state"]), "the example shows something"
    assert "(accelerometer" in view.stdout


def test_simulate_day_days_and_help(tmp_path: Path) -> None:
    p = run("simulate", "day", "--days", "2", "--no-acc", "--out", str(tmp_path / "d2"))
    assert p.returncode == 0, p.stderr
    t = pd.read_csv(tmp_path / "d2" / "beats.csv")["t_s"]
    assert t.iloc[-1] > 47.5 * 3600
    assert "simulate day --out results/day && calmtrace day results/day" in run("day", "--help").stdout
    assert "days-and-nights" in run("report", "--help").stdout
    bad = run("simulate", "tsst", "--days", "2", "--out", str(tmp_path / "t"))
    assert bad.returncode == 2 and "day scenario" in bad.stderr
