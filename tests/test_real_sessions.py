"""`calmtrace analyze` on two real sessions, checked against a hand calculation of the definitions.

- wearable-hrv-p37 (VU-AMS beat table with the session's events file): sitting baseline, mental
  arithmetic, then recovery;
- polar-hrm exercise_rri.hrm (Polar S810 RR): lap 2 is the effort, lap 3 the recovery.

The hand calculation below uses only the cleaned beats the analysis reports (their flags and RR)
and the definitions of docs/metrics.md and docs/recovery.md, written out as plain loops: window
membership ``start <= t_s < start + 60``, heart rate as the mean of 60000/RR over usable beats,
window time at the centre, baseline = valid windows wholly inside the baseline span, peak = max
heart rate among windows centred in the stressor, t50 = first crossing of half the reactivity
(linear interpolation), HRR60 = mean beat HR over the 10 s before the stressor's end minus the
mean over the 10 s centred 60 s later (Cole et al. 1999).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_data

USABLE = {"ok", "corrected", "interpolated"}


def _analyze(tmp_path: Path, rec: Path, events: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "calmtrace", "analyze", str(rec), "--events", str(events),
                        "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return (pd.read_csv(out / "windows.csv"), pd.read_csv(out / "recovery.csv"),
            json.loads((out / "analysis.json").read_text()))


def _cleaned_beats(rec: Path, events: Path) -> pd.DataFrame:
    import calmtrace

    r = calmtrace.clean(calmtrace.load(rec, events=events))
    return r.beats


def _hand_hr_windows(beats: pd.DataFrame, starts: np.ndarray, window_s: float = 60.0) -> np.ndarray:
    t = beats["t_s"].to_numpy()
    rr = beats["rr_ms"].to_numpy()
    ok = np.array([f in USABLE for f in beats["flag"]])
    out = []
    for s in starts:
        sel = (t >= s) & (t < s + window_s) & ok
        out.append(float(np.mean(60000.0 / rr[sel])) if sel.any() else math.nan)
    return np.array(out)


def _hand_recovery(win: pd.DataFrame, hr: np.ndarray, base: tuple[float, float], onset: float, offset: float):
    centre = (win["start_s"] + win["end_s"]).to_numpy() / 2
    valid = win["valid"].to_numpy().astype(bool)
    in_base = valid & (win["start_s"].to_numpy() >= base[0]) & (win["end_s"].to_numpy() <= base[1])
    b = hr[in_base]
    base_mean, base_sd = b.mean(), b.std(ddof=1)
    in_st = valid & (centre >= onset) & (centre <= offset)
    peak = hr[in_st].max()
    reactivity = peak - base_mean
    # t50: first window after the offset whose HR is back half-way, interpolated from the one before
    after = np.flatnonzero(valid & (centre >= offset))
    t_prev, y_prev = None, None
    t50 = math.nan
    for i in after:
        t_i, y_i = centre[i] - offset, hr[i] - base_mean
        if y_i <= reactivity / 2:
            if t_prev is None:
                t50 = 0.0
            else:
                t50 = t_prev + (y_prev - reactivity / 2) / (y_prev - y_i) * (t_i - t_prev)
            break
        t_prev, y_prev = t_i, y_i
    return base_mean, base_sd, peak, reactivity, t50


def _hand_hrr60(beats: pd.DataFrame, offset: float) -> float:
    t = beats["t_s"].to_numpy()
    hr = 60000.0 / beats["rr_ms"].to_numpy()
    ok = np.array([f in USABLE for f in beats["flag"]])
    before = ok & (t > offset - 10) & (t <= offset)
    later = ok & (t >= offset + 55) & (t <= offset + 65)
    return float(hr[before].mean() - hr[later].mean())


def _check(win: pd.DataFrame, rc: pd.DataFrame, beats: pd.DataFrame, label: str,
           base: tuple[float, float], onset: float, offset: float) -> dict:
    hr = _hand_hr_windows(beats, win["start_s"].to_numpy())
    valid = win["valid"].to_numpy().astype(bool)
    np.testing.assert_allclose(win["mean_hr_bpm"].to_numpy()[valid], hr[valid], rtol=1e-9)
    base_mean, base_sd, peak, reactivity, t50 = _hand_recovery(win, hr, base, onset, offset)
    row = rc[(rc["event_label"] == label) & (rc["metric"] == "mean_hr_bpm")].iloc[0]
    assert row["baseline_mean"] == pytest.approx(base_mean, rel=1e-9)
    assert row["baseline_sd"] == pytest.approx(base_sd, rel=1e-9)
    assert row["peak"] == pytest.approx(peak, rel=1e-9)
    assert row["reactivity"] == pytest.approx(reactivity, rel=1e-9)
    assert row["t50_s"] == pytest.approx(t50, abs=1e-6)
    assert row["hrr60_bpm"] == pytest.approx(_hand_hrr60(beats, offset), rel=1e-6)
    return {"baseline": base_mean, "peak": peak, "reactivity": reactivity, "t50": t50}


@pytest.mark.realdata
def test_p37_arithmetic_recovery_matches_hand_calculation(tmp_path: Path) -> None:
    rec = shared_data("wearable-hrv-p37", "test_vu.txt")
    events = shared_data("wearable-hrv-p37", "test_events.csv")
    win, rc, meta = _analyze(tmp_path, rec, events)
    beats = _cleaned_beats(rec, events)
    # the events file's clock times against the first beat at 14:08:59.580 (by hand from the files)
    onset = (14 * 3600 + 17 * 60 + 3) - (14 * 3600 + 8 * 60 + 59.580)
    offset = onset + 180.0
    base = ((14 * 3600 + 9 * 60 + 20) - (14 * 3600 + 8 * 60 + 59.580), 0.0)
    base = (base[0], base[0] + 300.0)
    got = _check(win, rc, beats, "arithmetic", base, onset, offset)
    assert got["reactivity"] > 0, "heart rate rose during arithmetic"
    assert meta["provenance"]["input_checksum"].startswith("sha256:")


@pytest.mark.realdata
def test_exercise_hrm_recovery_matches_hand_calculation(tmp_path: Path) -> None:
    rec = shared_data("polar-hrm", "exercise_rri.hrm")
    # lap boundaries from the file's [IntTimes] section, read by hand here (h:mm:ss.s per lap)
    text = rec.read_text(errors="replace")
    block = text.split("[IntTimes]")[1].split("[")[0].strip().splitlines()
    laps = [line.split()[0] for line in block[::5]]
    ends = [sum(float(x) * m for x, m in zip(lap.split(":"), (3600, 60, 1))) for lap in laps]
    lap1_end, lap2_end = ends[0], ends[1]
    events = tmp_path / "events.csv"
    events.write_text("onset_s,duration_s,label,kind\n"
                      f"{lap1_end - 300},300,rest,baseline\n"
                      f"{lap1_end},{lap2_end - lap1_end},effort,stressor\n")
    win, rc, _ = _analyze(tmp_path, rec, events)
    beats = _cleaned_beats(rec, events)
    got = _check(win, rc, beats, "effort", (lap1_end - 300, lap1_end), lap1_end, lap2_end)
    assert got["reactivity"] > 20, "exercise raised heart rate by more than 20 bpm"
