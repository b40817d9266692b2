"""`capture --acc`: the strap's accelerometer into acc.csv, on the beats' clock, through the real stack.

The virtual strap (Bumble) is fed a movement source whose samples name their own index k, so every
row of acc.csv says which sample it is; sample k was taken at strap time k / fs, which the strap
maps to the event loop's clock (``VirtualStrap.loop_time``) and the test maps to the capture's clock.
Nothing here compares with the capture's own arithmetic: the expected times come from the strap.

Clock tolerance. The capture places a frame's samples at ``sensor time + offset``, the offset being
the smallest ``arrival - sensor time of the last sample`` seen so far (``EcgClock``). The strap sends
a frame the moment its last sample is taken, and in virtual time (tests/virtual_time.py) the stack
adds no delay, so a sample's placed time is its true time up to the float64 rounding of sensor
seconds since 2000 (about 8e8 s: 1.2e-7 s per ulp). The test allows 1e-6 s before the true time
(rounding) and a quarter of a sample period after it, which a placement one sample off (1/fs) or
a frame's spacing computed from its first sample instead of its last would exceed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.capture import Capture
from calmtrace.devices.ble import StrapConfig
from calmtrace.devices.polar import MEASUREMENT_ACC, parse_acc_frame
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace.formats.acc_csv import read_acc
from calmtrace.store import RecordingWriter, load_folder, read_notifications
from tests.virtual_time import run_virtual

SPEED = 10.0


def _rr(n: int, seed: int = 1) -> list[float]:
    return calmtrace.simulate("tsst", seed=seed).rr_ms[:n].tolist()


def _source(n: int) -> list[tuple[int, int, int]]:
    return [(k % 4000 - 2000, (k * 7919) % 8000 - 4000, k // 4000) for k in range(n)]


def _index(acc: pd.DataFrame) -> np.ndarray:
    x, z = acc["x_mg"].to_numpy().astype(int), acc["z_mg"].to_numpy().astype(int)
    return z * 4000 + x + 2000


def _cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_the_straps_acc_lands_in_acc_csv_with_its_true_times_through_drops(tmp_path: Path, caplog) -> None:
    fs = 50
    src = _source(400 * fs)
    out = tmp_path / "acc"

    async def go():
        radio = VirtualRadio()
        strap = VirtualStrap(radio, _rr(200), acc_mg=src, speed=SPEED)
        await strap.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        cap = Capture(strap.address, out, backend=radio, acc=True, acc_fs_hz=fs, acc_range_g=8,
                      clock=lambda: (loop.time() - t0) * SPEED,
                      strap_config=StrapConfig(stall_timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.2))

        async def faults() -> None:
            await asyncio.sleep(2.0)
            await strap.drop_link(down_s=3.0)
            await asyncio.sleep(2.0)
            strap.inject_malformed_pmd(bytes([MEASUREMENT_ACC]) + bytes(9) + b"\x01\x02")   # not whole triples
            await asyncio.sleep(2.0)
            await strap.drop_link(down_s=1.0)

        task = asyncio.ensure_future(faults())
        try:
            with caplog.at_level(logging.WARNING, logger="calmtrace.capture"):
                await cap.run(duration_s=100.0)
        finally:
            task.cancel()
            await strap.stop()
            await radio.close()
        return strap, t0

    strap, t0 = run_virtual(go())
    rec = load_folder(out)
    assert rec.meta.get("complete") is None and rec.meta["acc"] is True
    assert rec.meta["acc_fs_hz"] == fs and rec.meta["acc_range_g"] == 8
    acc = read_acc(out / "acc.csv", rec.start)
    assert acc.attrs["layout"] == "calmtrace acc.csv" and acc.attrs["guesses"] == []
    # every frame the strap handed to the link is on disk, exactly, in order; nothing else is
    sent = [xyz for p in strap.acc_sent for xyz in parse_acc_frame(p).samples_mg]
    on_disk = list(zip(*(acc[c].to_numpy().astype(int).tolist() for c in ("x_mg", "y_mg", "z_mg"))))
    assert on_disk == sent
    k = _index(acc)
    assert [src[i] for i in k] == on_disk
    # the drops cost the frames made while the link was down: two holes in k, each inside a gap
    holes = np.flatnonzero(np.diff(k) != 1)
    assert len(holes) == 2 and len(strap.acc_unsent) > 0
    assert (rec.gaps["reason"] == "disconnect").sum() == 2
    # times: the strap's clock for sample k, mapped onto the capture's clock
    true_t = (strap.loop_time(k / fs) - t0) * SPEED
    err = acc["t_s"].to_numpy() - true_t
    assert err.min() >= -1e-6 and err.max() <= 0.25 / fs, (err.min(), err.max())
    # on the beats' clock: the capture spans the same strap seconds as its beats
    assert rec.t_s[0] - 2.0 < acc["t_s"].iloc[0] < rec.t_s[-1] and acc["t_s"].iloc[-1] <= rec.duration_s + 1.0
    assert any("malformed ACC frame" in r.getMessage() for r in caplog.records)
    print(f"\nACC capture: {len(strap.acc_sent)} frames sent, {len(strap.acc_unsent)} unsent, {len(acc)} samples "
          f"on disk; time error {err.min():.2e} to {err.max():.2e} s")


def test_a_strap_without_an_accelerometer_warns_once_and_its_beats_are_captured(tmp_path: Path, caplog) -> None:
    out = tmp_path / "garmin"

    async def go():
        radio = VirtualRadio()
        strap = VirtualStrap(radio, _rr(90), pmd=False, name="HRM-Pro 12345", speed=SPEED)
        await strap.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        cap = Capture(strap.address, out, backend=radio, acc=True, clock=lambda: (loop.time() - t0) * SPEED,
                      strap_config=StrapConfig(stall_timeout_s=0.5, backoff_initial_s=0.05, backoff_max_s=0.2))

        async def drop() -> None:
            await asyncio.sleep(2.0)
            await strap.drop_link(down_s=1.0)

        task = asyncio.ensure_future(drop())
        try:
            with caplog.at_level(logging.WARNING):
                await cap.run(duration_s=sum(_rr(90)) / 1000.0 + 3.0)
        finally:
            task.cancel()
            await strap.stop()
            await radio.close()
        return strap

    strap = run_virtual(go())
    rec = load_folder(out)
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "accelerometer" in r.getMessage()]
    assert len(warned) == 1 and "no Polar PMD service" in warned[0], warned
    assert rec.meta["acc"] is False and rec.meta["n_reconnects"] >= 1
    assert not (out / "acc.csv").exists(), "no empty acc.csv that `day` would refuse"
    assert len(rec.beats) == len(strap.beats) - len(strap.unsent) >= 70


def test_cli_acc_options_are_checked_in_one_line(tmp_path: Path) -> None:
    p = _cli("capture", "--simulate", "tsst", "--acc-hz", "50", "--no-live", "--out", str(tmp_path / "x"))
    assert p.returncode == 2 and "--acc-hz and --acc-range apply only to --acc" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    p = _cli("capture", "--simulate", "tsst", "--acc", "--acc-hz", "30", "--no-live", "--out", str(tmp_path / "x"))
    assert p.returncode == 2 and "30" in p.stderr
    calmtrace.save(calmtrace.simulate("rest", seed=1), tmp_path / "rest")
    p = _cli("capture", "--replay", str(tmp_path / "rest"), "--acc", "--no-live", "--out", str(tmp_path / "x"))
    assert p.returncode == 2 and "a replay has no movement to stream" in p.stderr and not (tmp_path / "x").exists()


def test_scan_without_bluez_says_so_in_one_line() -> None:
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/calmtrace-test/system_bus_socket")
    p = _cli("scan", "--timeout", "1", env=env, timeout=60)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Bluetooth adapter found (BlueZ/D-Bus not available" in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_every_fully_written_acc_line_reads_back_wherever_a_kill_cuts_the_last_one(tmp_path: Path) -> None:
    """A SIGKILL can stop a write part-way through a line (the kernel copies page by page); the
    reader must return every whole line exactly and never a number cut short."""
    from datetime import datetime, timezone

    start = datetime(2026, 1, 5, 7, tzinfo=timezone.utc)
    folder = tmp_path / "w"
    w = RecordingWriter(folder, start, {"device_name": "cut"})
    frames = [([i * 0.04 + j * 0.01 for j in range(4)], [(i, -1000 - i, 1000 + 10 * j) for j in range(4)])
              for i in range(5)]
    for t, xyz in frames:
        w.add_acc(t, xyz)
    w.abort()                                  # files closed, recording.json still incomplete
    w.release()
    full = (folder / "acc.csv").read_bytes()
    want = [(t, *v) for ts, xyz in frames for t, v in zip(ts, xyz)]
    last_start = full.rstrip(b"\n").rfind(b"\n") + 1
    for cut in range(last_start, len(full) + 1):
        (folder / "acc.csv").write_bytes(full[:cut])
        acc = read_acc(folder / "acc.csv", start)
        n = len(want) - (cut < len(full))
        # values exactly; times to a nanosecond (pandas 2.1's C parser may differ from repr in the last bit)
        rows = list(zip(*(acc[c].to_numpy().astype(int).tolist() for c in ("x_mg", "y_mg", "z_mg"))))
        assert rows == [w[1:] for w in want[:n]], cut
        assert np.allclose(acc["t_s"].to_numpy(), [w[0] for w in want[:n]], rtol=0, atol=1e-9), cut
        assert bool(acc.attrs["guesses"]) == (last_start < cut < len(full)), (cut, acc.attrs["guesses"])
    # a finished recording is read as written: its last line stands even without a newline
    header = json.loads((folder / "recording.json").read_text())
    header["complete"] = True
    (folder / "recording.json").write_text(json.dumps(header))
    (folder / "acc.csv").write_bytes(full.rstrip(b"\n"))
    assert len(read_acc(folder / "acc.csv", start)) == len(want)


def _cli_capture(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "calmtrace", "capture", "--simulate", "tsst", "--speed", "10",
                             "--no-live", "--acc", "--acc-hz", "50", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_sigkilled_capture_keeps_acc_csv_losing_at_most_the_last_second(tmp_path: Path, seed: int) -> None:
    from calmtrace.cli import _scenario_movement

    out = tmp_path / "killed"
    proc = _cli_capture(out)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            p = out / "acc.csv"
            if p.exists() and p.read_bytes().count(b"\n") > 300:
                break
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read())
            time.sleep(0.1)
        else:
            raise AssertionError("the capture wrote no acceleration")
        time.sleep(random.Random(seed).uniform(0.1, 2.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    rec = calmtrace.load(out)
    assert rec.meta["complete"] is False
    acc = read_acc(out / "acc.csv", rec.start)
    rows = list(zip(*(acc[c].to_numpy().astype(int).tolist() for c in ("x_mg", "y_mg", "z_mg"))))
    # what the strap sent, from the raw notifications written as they arrived
    notes = read_notifications(out)
    pmd = notes[notes["source"] == "pmd"]
    frames = [parse_acc_frame(bytes.fromhex(h)) for h in pmd["payload_hex"]]
    n_frames = len(frames)
    per = len(frames[0].samples_mg)
    sent = [xyz for f in frames for xyz in f.samples_mg]
    # every whole line is a sample the strap sent, in order; at most the frame being written is missing
    assert rows == sent[:len(rows)]
    assert len(rows) >= (n_frames - 1) * per, (len(rows), n_frames)
    # ... and they are the scenario's movement, none skipped or repeated
    movement = _scenario_movement(calmtrace.simulate("tsst", seed=1), 50, 1)
    i0 = next(i for i in range(len(movement)) if movement[i:i + per] == list(frames[0].samples_mg))
    assert rows == movement[i0:i0 + len(rows)]
    # exact 50-Hz spacing inside each frame, from the sensor clock; between frames the offset only
    # ever moves earlier, by at most half a sample (a step of 1/100 to 1/50 s): times never go back
    assert "samples were out of time order and were sorted" not in acc.attrs["guesses"]
    step = np.diff(acc["t_s"].to_numpy())
    inside = (np.arange(1, len(rows)) % per) != 0
    assert np.allclose(step[inside], 1 / 50, rtol=0, atol=1e-6)
    assert np.all((step[~inside] >= 0.5 / 50 - 1e-6) & (step[~inside] <= 1 / 50 + 1e-6)), step[~inside]
    # at most the last second is lost: the last sample on disk is at most one frame (per / 50 s =
    # 0.5 s) behind the last frame received, and the strap frames its samples every 0.5 s
    j, i = divmod(len(rows) - 1, per)
    last_on_disk_s = frames[j].sample_times_s(50)[i]
    last_received_s = frames[-1].timestamp_ns / 1e9
    assert per / 50 <= 0.5 and last_received_s - last_on_disk_s <= per / 50 + 1e-6


@pytest.mark.slow
def test_a_capture_with_acc_goes_through_day_with_enmo(tmp_path: Path) -> None:
    out, day = tmp_path / "ex", tmp_path / "day"
    p = _cli("capture", "--simulate", "exercise", "--speed", "25", "--duration", "540", "--acc", "--no-live",
             "--out", str(out))
    assert p.returncode == 0, p.stderr
    info = _cli("info", str(out))
    assert info.returncode == 0, info.stderr
    acc_line = next(line for line in info.stdout.splitlines() if line.strip().startswith("acc "))
    n = len(read_acc(out / "acc.csv", calmtrace.load(out).start))
    assert f"acc.csv: {n} samples at 25 Hz, range 8 g" in acc_line, acc_line
    d = _cli("day", str(out), "--out", str(day))
    assert d.returncode == 0, d.stderr
    assert "(accelerometer)" in d.stdout
    epochs = pd.read_csv(day / "day_epochs.csv")
    assert epochs["enmo_mg"].notna().all() and (epochs["acc_coverage"] > 0.9).sum() >= len(epochs) - 1
    # the exercise scenario rests 300 s, then runs: seated epochs barely move, running ones do
    seated = epochs[epochs["end_s"] <= 290]
    running = epochs[epochs["start_s"] >= 300]
    assert len(seated) >= 4 and len(running) >= 3
    assert seated["enmo_mg"].max() < 15 and running["enmo_mg"].min() > 100, epochs[["start_s", "enmo_mg"]]
    assert set(running["state"]) == {"activity"}
