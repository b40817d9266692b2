"""``calmtrace capture --replay``: a recording streamed through the virtual strap, checked against itself.

The figures the capture is compared with are the source recording's own beats and events, read by
:func:`calmtrace.load`, independently of the replay. RR intervals go over the air in 1/1024 s
(Heart Rate Service 1.0), so a replayed interval may differ from the recorded one by less than
1/1024 s and by no more; beat times on the host are estimated from arrival times (see
devices/timeline.py: within a few tens of ms of the strap's clock, never changing an RR interval).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.devices.virtual import Silence, replay_source
from calmtrace.events import Event, Events
from calmtrace.recording import Recording
from tests.conftest import shared_data

TICK_MS = 1000.0 / 1024.0


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=timeout)


def test_replay_source_places_every_beat_on_the_1024_clock_without_drift() -> None:
    rng = np.random.default_rng(3)
    rr = rng.uniform(600, 1100, 400)
    t = np.cumsum(rr) / 1000.0 + 0.25          # the recording starts a quarter second before its first RR
    keep = np.ones(rr.size, bool)
    keep[100:130] = False                       # a gap of 30 beats
    t, rr = t[keep], rr[keep]
    src = replay_source(t, rr)
    silences = [x for x in src if isinstance(x, Silence)]
    assert len(silences) == 2                   # the lead-in and the gap
    clock, times, rrs = 0.0, [], []
    for x in src:
        if isinstance(x, Silence):
            clock += x.duration_s
        else:
            clock += round(x * 1024 / 1000) / 1024   # what the strap does with each interval
            times.append(clock)
            rrs.append(x)
    assert np.max(np.abs(np.array(times) - t)) <= 1 / 2048 + 1e-12, "no drift over 370 beats"
    assert np.max(np.abs(np.array(rrs) - rr)) < TICK_MS
    assert abs(silences[1].duration_s - (t[100] - rr[100] / 1000 - t[99])) < 2 / 1024


def test_a_first_interval_that_began_before_the_recording_keeps_its_time() -> None:
    src = replay_source([0.3, 1.1], [800.0, 800.0])          # the first beat's interval began at -0.5 s
    assert isinstance(src[0], Silence) and abs(src[0].duration_s + 0.5) < 1 / 1024
    assert abs(src[0].duration_s + src[1] / 1000 - 0.3) <= 1 / 2048 + 1e-12


def test_replay_source_rejects_times_that_do_not_increase() -> None:
    with pytest.raises(ValueError, match="beat 2"):
        replay_source([1.0, 2.0, 2.0], [1000.0, 1000.0, 1000.0])


def _compare(src: Recording, cap: Recording, tol_t_s: float) -> None:
    assert len(cap.beats) == len(src.beats), (len(cap.beats), len(src.beats))
    assert np.max(np.abs(cap.rr_ms - src.rr_ms)) < TICK_MS, "RR within the strap's 1/1024 s"
    # on the strap's clock the beats are the recording's: the RR chain rebuilds the recorded times
    # (no gap in between) to within the 1/2048-s placement, without drift
    chain = src.t_s[0] + np.cumsum(np.r_[0.0, cap.rr_ms[1:]]) / 1000.0
    contiguous = np.r_[True, np.isclose(np.diff(src.t_s) * 1000.0, src.rr_ms[1:], atol=1.0)].all()
    if contiguous:
        assert np.max(np.abs(chain - src.t_s)) < 0.002, np.max(np.abs(chain - src.t_s))
    # on the host the beat times are estimated from arrival times; a busy machine delays some
    # notifications by a few ms, which the strap's speed-up multiplies, so the bound is on the median
    resid = cap.t_s - src.t_s
    assert np.median(np.abs(resid)) < tol_t_s, (resid.min(), np.median(resid), resid.max())


@pytest.mark.slow
@pytest.mark.realdata
def test_a_real_recording_replayed_at_speed_20_gives_its_beats_and_events(tmp_path: Path) -> None:
    rec_file = shared_data("wearable-hrv-p37", "test_vu.txt")
    events_file = shared_data("wearable-hrv-p37", "test_events.csv")
    out = tmp_path / "replay"
    p = _cli("capture", "--replay", str(rec_file), "--replay-events", str(events_file), "--speed", "20",
             "--no-live", "--out", str(out))
    assert p.returncode == 0, p.stderr
    src = calmtrace.load(rec_file, events=events_file)
    cap = calmtrace.load(out)
    _compare(src, cap, tol_t_s=0.2)
    # no beat is missing; on a busy machine a notification held up a few ms (times 20 on the strap's
    # clock) may still be taken for a lost one, which the timeline reports as a short gap
    assert set(cap.gaps["reason"]) <= {"dropped-notification"} and (cap.gaps["duration_s"] < 1.0).all(), cap.gaps
    a = src.events.df[["onset_s", "duration_s", "label", "kind"]].reset_index(drop=True)
    b = cap.events.df[["onset_s", "duration_s", "label", "kind"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, atol=1e-6)
    assert cap.meta["replay"] is True and cap.meta["replay_of"] == str(rec_file.resolve())
    assert cap.meta["virtual_strap_speed"] == 20.0 and cap.meta["replay_source_format"] == "beat-table"
    assert cap.start == src.start
    info = _cli("info", str(out), timeout=120)
    assert info.returncode == 0 and "replay of" in info.stdout, info.stdout


@pytest.mark.slow
def test_a_gap_in_the_recording_is_a_gap_in_the_replay(tmp_path: Path) -> None:
    rr = calmtrace.simulate("rest", seed=4).rr_ms[:260]
    t = np.cumsum(rr) / 1000.0
    keep = np.ones(rr.size, bool)
    keep[120:140] = False
    beats = pd.DataFrame({"t_s": t[keep], "rr_ms": rr[keep]})
    gap_onset, gap_end = t[119], t[140] - rr[140] / 1000
    src = Recording(start=pd.Timestamp("2026-01-05T09:00:00Z").to_pydatetime(), beats=beats,
                    events=Events([Event(30.0, 60.0, "task", "stressor")]), meta={"simulated": True})
    folder = calmtrace.save(src, tmp_path / "src")
    out = tmp_path / "replay"
    p = _cli("capture", "--replay", str(folder), "--speed", "25", "--no-live", "--out", str(out))
    assert p.returncode == 0, p.stderr
    cap = calmtrace.load(out)
    _compare(calmtrace.load(folder), cap, tol_t_s=0.2)
    assert len(cap.gaps) == 1, cap.gaps
    g = cap.gaps.iloc[0]
    assert abs(g["onset_s"] - gap_onset) < 0.3 and abs(g["onset_s"] + g["duration_s"] - gap_end) < 0.3
    assert cap.events.df["label"].tolist() == ["task"] and cap.meta["simulated"] is True


@pytest.mark.realdata
def test_a_recording_without_beats_cannot_be_replayed(tmp_path: Path) -> None:
    hr_only = shared_data("polar-sensor-logger-verity", "Polar_Sense_HR.txt")
    p = _cli("capture", "--replay", str(hr_only), "--no-live", "--out", str(tmp_path / "x"), timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "Polar_Sense_HR.txt" in p.stderr and "no beats" in p.stderr
    assert not (tmp_path / "x").exists()


def test_replay_options_need_replay(tmp_path: Path) -> None:
    p = _cli("capture", "--simulate", "tsst", "--replay-events", "e.csv", "--no-live", "--out", str(tmp_path / "x"),
             timeout=120)
    assert p.returncode == 2 and "--replay" in p.stderr and len(p.stderr.strip().splitlines()) == 1
