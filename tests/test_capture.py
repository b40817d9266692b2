"""Live capture end to end: bleak's own API, a virtual strap on Bumble, the recording folder on disk.

The virtual strap (devices/virtual.py) keeps books of every beat of its heart and of the beats it
could not notify (while its link was down); the test compares those with what landed on disk.
The strap's clock runs faster than real time so that minutes of capture take seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import calmtrace
from calmtrace.capture import Capture, capture_many
from calmtrace.devices.ble import StrapConfig
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace.store import load_folder, read_notifications
from tests.virtual_time import run_virtual

SPEED = 25.0


def _rr(n: int, seed: int = 1) -> list[float]:
    return calmtrace.simulate("tsst", seed=seed).rr_ms[:n].tolist()


async def _capture_with_faults(out: Path) -> tuple[VirtualStrap, Path]:
    radio = VirtualRadio()
    strap = VirtualStrap(radio, _rr(700), speed=SPEED)
    await strap.start()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    cap = Capture(strap.address, out, backend=radio, clock=lambda: (loop.time() - t0) * SPEED,
                  strap_config=StrapConfig(stall_timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.2))

    async def faults() -> None:
        for k in range(3):                       # three drops, the strap away for 4 s each
            await asyncio.sleep(2.0)
            await strap.drop_link(down_s=4.0)
        await asyncio.sleep(2.0)
        for _ in range(3):                       # malformed payloads, logged and skipped
            strap.inject_malformed(b"\x10")
        await asyncio.sleep(1.0)
        strap.stall()                            # the link stays up but goes silent

    task = asyncio.ensure_future(faults())
    try:
        await cap.run(duration_s=sum(_rr(700)) / 1000.0 + 8.0)
    finally:
        task.cancel()
        await strap.stop()
        await radio.close()
    return strap, out


@pytest.mark.slow
def test_every_beat_the_strap_sent_is_on_disk_through_drops_stalls_and_bad_payloads(tmp_path: Path) -> None:
    strap, out = run_virtual(_capture_with_faults(tmp_path / "cap"))
    rec = load_folder(out)
    assert rec.meta.get("complete") is None, "a finished capture is marked complete"
    unsent = {t for t, _ in strap.unsent}
    heard = [raw for t, raw in strap.beats if t not in unsent]
    on_disk = np.rint(rec.rr_ms * 1024 / 1000).astype(int).tolist()
    assert len(strap.unsent) > 0, "the drops cost the strap some beats (it could not notify them)"
    assert on_disk == heard, "every beat the strap notified is on disk, in order, exactly"
    # the losses are visible: one gap per drop and one for the stall
    reasons = rec.gaps["reason"].tolist()
    assert reasons.count("disconnect") >= 3 and ("stall" in reasons or len(reasons) >= 4), rec.gaps
    assert rec.meta["n_malformed_notifications"] == 3
    assert rec.meta["n_reconnects"] >= 4
    assert rec.meta["battery_pct"] == 87 and rec.meta["device_model"] == "H10"
    # raw notifications are kept: rebuilding from them gives the same beats
    from calmtrace.loader import rebuild_beats

    assert np.array_equal(rebuild_beats(out).rr_ms, rec.rr_ms)
    # beat times track the strap's own clock (offset removed) within 50 ms
    strap_t = np.array([t for t, _ in strap.beats if t not in unsent])
    resid = rec.t_s - strap_t
    assert np.ptp(resid - np.median(resid)) < 0.1, np.ptp(resid)


def test_two_straps_on_one_clock(tmp_path: Path) -> None:
    async def go() -> list[Path]:
        radio = VirtualRadio()
        a = VirtualStrap(radio, _rr(120, 1), speed=SPEED, name="Polar H10 AAAA", address="C0:CA:17:00:00:0A")
        b = VirtualStrap(radio, _rr(120, 2), speed=SPEED, name="Polar H10 BBBB", address="C0:CA:17:00:00:0B")
        await a.start()
        await b.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            return await capture_many([a.address, b.address], tmp_path / "couple", backend=radio,
                                      clock=lambda: (loop.time() - t0) * SPEED, duration_s=90.0,
                                      subject="couple-01")
        finally:
            await a.stop()
            await b.stop()
            await radio.close()

    folders = run_virtual(go())
    session = json.loads((tmp_path / "couple" / "session.json").read_text())
    assert [r["folder"] for r in session["recordings"]] == [f.name for f in folders]
    recs = [load_folder(f) for f in folders]
    assert recs[0].start == recs[1].start, "one clock for both"
    assert all(len(r.beats) > 60 for r in recs)
    assert recs[0].rr_ms[:5].tolist() != recs[1].rr_ms[:5].tolist()


def _cli_capture(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "calmtrace", "capture", "--simulate", "tsst", "--speed", "10",
                             "--no-live", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_beats(out: Path, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        p = out / "notifications.csv"
        if p.exists() and p.read_text().count("\n") > 40:
            return
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        time.sleep(0.2)
    raise AssertionError("the capture wrote no notifications")


@pytest.mark.slow
def test_sigkill_during_capture_loses_at_most_the_last_notification(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = _cli_capture(out)
    try:
        _wait_for_beats(out, proc)
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    rec = calmtrace.load(out)      # an interrupted capture: beats rebuilt from the raw notifications
    assert rec.meta["complete"] is False and rec.meta["beats_rebuilt_from_notifications"]
    notes = read_notifications(out)
    # every RR interval in every notification written is a beat; nothing in between is missing
    from calmtrace.devices.hrs import parse_hrm

    rr_written = [r for h in notes["payload_hex"] for r in parse_hrm(bytes.fromhex(h)).rr_raw]
    assert np.rint(rec.rr_ms * 1024 / 1000).astype(int).tolist() == rr_written
    truth = [int(round(r * 1024 / 1000)) for r in calmtrace.simulate("tsst", seed=1).rr_ms]
    assert rr_written == truth[: len(rr_written)], "the beats are the strap's, from its first on"
    # the strap notifies once a second: what it had not sent yet is at most the last second
    last_beat = rec.t_s[-1]
    assert notes["t_s"].iloc[-1] - last_beat < 1.5


@pytest.mark.slow
def test_ctrl_c_finishes_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    proc = _cli_capture(out)
    try:
        _wait_for_beats(out, proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "captured" in stdout
    rec = load_folder(out)
    assert rec.meta.get("complete") is None and len(rec.beats) > 20
    assert rec.meta["simulated"] is True and rec.events.df["label"].iloc[0] == "baseline"


def test_capture_needs_a_strap_or_simulate(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "calmtrace", "capture", "--no-live", "--out", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--device" in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_capture_30_s_then_info_and_analyze(tmp_path: Path) -> None:
    """The command of the issue, at real time: a folder that `info` and `analyze` read."""
    out = tmp_path / "c30"
    p = subprocess.run([sys.executable, "-m", "calmtrace", "capture", "--simulate", "tsst", "--duration", "30",
                        "--no-live", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    info = subprocess.run([sys.executable, "-m", "calmtrace", "info", str(out)], capture_output=True, text=True,
                          timeout=60)
    assert info.returncode == 0 and "SIMULATED" in info.stdout, info.stderr
    n_beats = int(info.stdout.split("beats")[1].split()[0])
    assert 25 <= n_beats <= 40, info.stdout                         # 30 s at 55-80 bpm
    res = subprocess.run([sys.executable, "-m", "calmtrace", "analyze", str(out), "--out", str(tmp_path / "res")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "res" / "report.html").read_text()
    assert "shorter than one 60-second analysis window" in html


def test_ecg_stream_lands_in_ecg_csv_on_the_beats_clock(tmp_path: Path) -> None:
    from calmtrace.signals.ecg import detect_beats
    from calmtrace.signals.simulate import ecg_from_beats

    rr = _rr(90)
    beat_t = np.cumsum(rr) / 1000.0                  # the strap's heart: beat k at the sum of RR

    async def go() -> None:
        radio = VirtualRadio()
        strap = VirtualStrap(radio, rr, ecg_uv=ecg_from_beats(beat_t).tolist(), speed=4.0)
        await strap.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        cap = Capture(strap.address, tmp_path / "ecg", backend=radio, ecg=True,
                      clock=lambda: (loop.time() - t0) * 4.0)
        try:
            await cap.run(duration_s=float(beat_t[-1]) + 2.0)
        finally:
            await strap.stop()
            await radio.close()

    run_virtual(go())
    rec = load_folder(tmp_path / "ecg")
    assert rec.ecg is not None and len(rec.ecg) > 100 * 130 * 0.5
    step = np.diff(rec.ecg["t_s"].to_numpy())
    exact = np.isclose(step, 1 / 130, rtol=0, atol=1e-6)
    # 130 Hz spacing from the sensor timestamps; the offset to the host clock is a running minimum
    # of the frames' latency, so it only ever moves earlier (a step shorter than 1/130 s, never a
    # longer one), at a few frame boundaries, by the latency improvement of that frame
    assert exact.mean() > 0.99, step[~exact]
    assert np.all(step[~exact] < 1 / 130), step[~exact]
    # R peaks of the streamed ECG fall on the captured beats (one heart, one clock)
    peaks = detect_beats(rec.ecg["ecg_uv"].to_numpy(), 130.0, sample_t_s=rec.ecg["t_s"].to_numpy())
    err_ms = np.array([1000 * np.min(np.abs(rec.t_s - t)) for t in peaks.t_s])
    assert len(peaks.t_s) >= 0.9 * len(rec.t_s)
    assert np.median(err_ms) < 20 and np.percentile(err_ms, 90) < 100, np.percentile(err_ms, [50, 90, 100])


@pytest.mark.slow
def test_a_drop_costs_at_most_3_beats_when_the_strap_is_back_at_once(tmp_path: Path) -> None:
    """Reconnection is quick: with the strap advertising again right after each of 5 drops, the
    beats nobody heard are at most 3 per drop (the strap runs 3x real time, so 3 beats ~ 0.8 s)."""
    speed = 3.0

    async def go() -> VirtualStrap:
        radio = VirtualRadio()
        strap = VirtualStrap(radio, _rr(110), speed=speed)
        await strap.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        cap = Capture(strap.address, tmp_path / "drops", backend=radio,
                      clock=lambda: (loop.time() - t0) * speed)

        async def drops() -> None:
            for _ in range(5):
                await asyncio.sleep(5.0)
                await strap.drop_link(down_s=0.0)

        task = asyncio.ensure_future(drops())
        try:
            await cap.run(duration_s=sum(_rr(110)) / 1000.0 + 4.0)
        finally:
            task.cancel()
            await strap.stop()
            await radio.close()
        return strap

    strap = run_virtual(go())
    rec = load_folder(tmp_path / "drops")
    assert (rec.gaps["reason"] == "disconnect").sum() == 5, rec.gaps
    assert len(strap.unsent) <= 3 * 5, strap.unsent
    lost_t = np.array([t for t, _ in strap.unsent])
    for g in rec.gaps.itertuples():             # each drop's lost beats are few, and inside its gap
        inside = (lost_t >= g.onset_s - 2.0) & (lost_t <= g.onset_s + g.duration_s + 2.0)
        assert inside.sum() <= 3
    assert len(rec.beats) == len(strap.beats) - len(strap.unsent)
