"""Capture faults, end to end: a virtual strap on a virtual radio, the capture, the folder on disk.

Each test attacks a running capture (links dropped, a silent link, malformed payloads, a strap
without RR intervals, SIGKILL, a full disk) and ends by reading the recording back and counting what
was lost against the strap's own books: :attr:`VirtualStrap.beats` (every beat of its heart),
:attr:`VirtualStrap.sent` (every notification it handed to a listening link) and
:attr:`VirtualStrap.unsent` (beats it could not notify). The expected figures come from those
books and from the simulator's RR intervals, never from the capture code; RR intervals in 1/1024 s
are read out of the raw payloads with the few lines of :func:`_rr_raw` below (Heart Rate Service
1.0, section 3.1), not with calmtrace's parser.

The strap's clock runs :data:`SPEED` times faster than real time, so ten minutes of capture take
about fifteen seconds.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import numpy as np
import pytest

import calmtrace
from calmtrace.capture import Capture
from calmtrace.devices.ble import StrapConfig
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace import store
from calmtrace.errors import AnalysisError, CalmtraceError
from calmtrace.store import load_folder
from tests.virtual_time import run_virtual

#: How many times faster than real time the strap's clock runs.
SPEED = 40.0
#: Reconnection quick enough for a fast clock; the stall timeout (real s) is 40 strap s, far above
#: the 1-s notification period even on a busy machine.
FAST = StrapConfig(stall_timeout_s=1.0, backoff_initial_s=0.05, backoff_max_s=0.2)
#: The strap notifies once a strap second: a beat is notified at most this long after it happened.
NOTIFY_S = 1.0

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _rr_ms(seconds: float, seed: int) -> list[float]:
    """Simulated RR intervals (ms) of a ``seconds``-long heart."""
    rr = calmtrace.simulate("tsst", seed=seed).rr_ms
    n = int(np.searchsorted(np.cumsum(rr), seconds * 1000.0)) + 1
    return rr[:n].tolist()


def _raw(rr_ms: Any) -> list[int]:
    """RR intervals in the strap's 1/1024-s units (exact: ms = raw * 1000 / 1024)."""
    return np.rint(np.asarray(rr_ms, float) * 1024 / 1000).astype(int).tolist()


def _rr_raw(payload: bytes) -> list[int]:
    """RR intervals (1/1024 s) of a well-formed 0x2A37 payload, read by hand from the spec."""
    flags = payload[0]
    pos = 1 + (2 if flags & 0x01 else 1) + (2 if flags & 0x08 else 0)
    if not flags & 0x10:
        return []
    return [int.from_bytes(payload[i:i + 2], "little") for i in range(pos, len(payload), 2)]


def _complete_lines(path: Path) -> list[str]:
    """The data lines of a CSV file that end in a newline (a line cut short is not one)."""
    text = path.read_bytes().decode("utf-8", "replace")
    return text[: text.rfind("\n") + 1].splitlines()[1:]


async def _capture(out: Path, rr_ms: list[float],
                   faults: Callable[[VirtualStrap, Callable[[float], Awaitable[None]]], Awaitable[Any]],
                   *, config: StrapConfig = FAST, speed: float = SPEED,
                   **strap_kwargs: Any) -> tuple[VirtualStrap, Any]:
    """Capture a virtual strap beating ``rr_ms`` while ``faults(strap, sleep_until)`` attacks it.

    ``sleep_until(t)`` waits until strap time ``t`` (s). The capture lasts until the strap's last
    beat has been notified, plus a few seconds. Returns the strap and what ``faults`` returned.
    """
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_ms, speed=speed, **strap_kwargs)
    await strap.start()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    cap = Capture(strap.address, out, backend=radio, clock=lambda: (loop.time() - t0) * speed,
                  strap_config=config)

    async def sleep_until(t_strap_s: float) -> None:
        await asyncio.sleep(max(0.0, strap.loop_time(t_strap_s) - loop.time()))

    task = asyncio.ensure_future(faults(strap, sleep_until))
    try:
        await cap.run(duration_s=sum(rr_ms) / 1000.0 + 8.0)
        result = task.result() if task.done() else None
    finally:
        task.cancel()
        await strap.stop()
        await radio.close()
    return strap, result


def _books(strap: VirtualStrap) -> tuple[list[int], list[tuple[float, int]]]:
    """(RR of every beat the strap notified, in order; the beats it could not notify once the
    capture was listening).

    The strap starts beating before the capture has connected; the beats before its first
    notification reached no one because no one was listening yet (the first few strap seconds),
    and are left out of the losses.
    """
    unsent = set(strap.unsent)
    first = strap.sent[0].t_strap_s
    return ([raw for t, raw in strap.beats if (t, raw) not in unsent],
            [(t, raw) for t, raw in strap.unsent if t >= first - NOTIFY_S])


def _first_sent_after(strap: VirtualStrap, t_strap_s: float) -> float:
    """Strap time of the first notification handed to a link after ``t_strap_s``."""
    return min(s.t_strap_s for s in strap.sent if s.t_strap_s > t_strap_s)


def _lost_in(unsent: list[tuple[float, int]], start: float, end: float) -> list[tuple[float, int]]:
    """The unsent beats that a fault from ``start`` to ``end`` (strap s) explains.

    A beat is notified at the first tick after it; a beat up to one notification period before
    the fault is still waiting for its tick when the link goes.
    """
    return [(t, raw) for t, raw in unsent if start - NOTIFY_S < t <= end]


# ------------------------------------------------------------------------------------------
# link faults
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_twenty_drops_in_ten_minutes_lose_only_the_beats_of_the_drops(tmp_path: Path) -> None:
    rng = random.Random(20)
    rr = _rr_ms(600, seed=3)

    async def drops(strap: VirtualStrap, sleep_until) -> list[float]:
        at = []
        for k in range(20):          # one drop every ~30 s, away 1-6 strap s each
            await sleep_until(15 + 28.5 * k + rng.uniform(0, 8))
            at.append(strap.now_s())
            await strap.drop_link(down_s=rng.uniform(1, 6))
        return at

    strap, drop_t = run_virtual(_capture(tmp_path / "drops", rr, drops))
    assert drop_t is not None and len(drop_t) == 20, "the 20 drops happened within the capture"
    rec = calmtrace.load(tmp_path / "drops")
    assert rec.meta.get("complete") is None, "the capture finished and marked its folder complete"
    heard, unsent = _books(strap)

    # beats on disk == beats the strap notified, in order, exactly; lost == the strap's unsent
    assert _raw(rec.rr_ms) == heard
    assert len(heard) + len(strap.unsent) == len(strap.beats) == len(rr)
    # ... and every lost beat belongs to a drop: none is lost while the link is up
    windows = [(t, _first_sent_after(strap, t)) for t in drop_t]
    per_drop = [_lost_in(unsent, a, b) for a, b in windows]
    assert sum(len(lost) for lost in per_drop) == len(unsent)
    assert all(per_drop), "each drop cost the beats of its downtime"
    # one disconnect gap per drop, as long as the beats the drop cost (within a notification period)
    gaps = rec.gaps[rec.gaps["reason"] == "disconnect"]
    assert len(gaps) == 20, rec.gaps
    assert rec.meta["n_reconnects"] == 20
    lost_s = np.array([sum(raw for _, raw in lost) / 1024 for lost in per_drop])
    assert np.all(np.abs(gaps["duration_s"].to_numpy() - lost_s) < NOTIFY_S), (gaps, lost_s)


@pytest.mark.slow
def test_a_silent_link_is_reconnected_and_the_gap_is_a_stall(tmp_path: Path) -> None:
    rr = _rr_ms(120, seed=4)

    async def stall(strap: VirtualStrap, sleep_until) -> float:
        await sleep_until(40.0)
        t = strap.now_s()
        strap.stall()                 # the link stays up; nothing more is notified on it
        return t

    strap, t_stall = run_virtual(_capture(tmp_path / "stall", rr, stall))
    rec = calmtrace.load(tmp_path / "stall")
    heard, unsent = _books(strap)
    assert _raw(rec.rr_ms) == heard
    lost = _lost_in(unsent, t_stall, _first_sent_after(strap, t_stall))
    assert lost and lost == unsent, "beats are lost only while the link was silent"
    assert rec.gaps["reason"].tolist() == ["stall"]
    assert rec.meta["n_reconnects"] == 1, "the adapter reconnected by itself"
    assert abs(rec.gaps["duration_s"].iloc[0] - sum(raw for _, raw in lost) / 1024) < NOTIFY_S


# ------------------------------------------------------------------------------------------
# bad payloads and straps without RR
# ------------------------------------------------------------------------------------------
#: Payloads that break the Heart Rate Measurement layout (Heart Rate Service 1.0, section 3.1).
MALFORMED = [
    bytes.fromhex("01"),              # flags say uint16 heart rate; no heart rate at all
    bytes.fromhex("013c"),            # uint16 heart rate cut after one byte
    bytes.fromhex("103c0003"),        # RR field of 3 bytes: RR intervals are 2 bytes each
    bytes.fromhex("103c0000"),        # an RR interval of 0
    bytes.fromhex("003cff"),          # a byte after the heart rate that no flag announces
    bytes.fromhex("083c01"),          # energy expended announced, one byte of it
]


@pytest.mark.slow
def test_one_percent_malformed_payloads_are_logged_and_skipped_without_losing_a_beat(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(1)
    seconds = 400
    rr = _rr_ms(seconds, seed=5)
    # 1% of the ~400 notifications, at random strap seconds, each a random kind of damage
    plan = sorted(rng.sample(range(10, seconds - 10), seconds // 100))

    async def inject(strap: VirtualStrap, sleep_until) -> list[bytes]:
        injected = []
        for t in plan:
            await sleep_until(t + 0.5)
            payload = rng.choice(MALFORMED)
            strap.inject_malformed(payload)
            injected.append(payload)
        return injected

    with caplog.at_level(logging.WARNING, logger="calmtrace"):
        strap, injected = run_virtual(_capture(tmp_path / "bad", rr, inject))
    assert injected is not None and len(injected) == 4
    rec = calmtrace.load(tmp_path / "bad")
    bad_sent = [s.payload for s in strap.sent if s.malformed]
    assert bad_sent == injected, "every injected payload reached the capture"
    assert rec.meta["n_malformed_notifications"] == len(injected)
    assert rec.meta["n_notifications"] == len(strap.sent)
    # skipped, not lost: every beat of the heart since the capture connected is on disk; no gap
    heard, unsent = _books(strap)
    assert not unsent
    assert _raw(rec.rr_ms) == heard == _raw(rr)[len(strap.unsent):]
    assert len(rec.gaps) == 0
    # logged: one warning each, and the raw payload kept in notifications.csv
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == len(injected)
    stored = [line.split(",")[2] for line in _complete_lines(tmp_path / "bad" / "notifications.csv")]
    assert sorted(h for h in stored if bytes.fromhex(h) in MALFORMED) == sorted(p.hex() for p in injected)


@pytest.mark.slow
def test_a_strap_without_rr_gives_hr_samples_only_and_a_clear_analysis_error(tmp_path: Path) -> None:
    rr = _rr_ms(60, seed=6)

    async def nothing(strap: VirtualStrap, sleep_until) -> None:
        return None

    strap, _ = run_virtual(_capture(tmp_path / "hr-only", rr, nothing, send_rr=False))
    rec = calmtrace.load(tmp_path / "hr-only")
    assert rec.meta["hr_only"] is True
    assert len(rec.beats) == 0 and len(strap.beats) == len(rr)
    # every notification is an HR sample, with the heart rate the strap sent (byte 1 of the payload)
    assert rec.hr["hr_bpm"].tolist() == [float(s.payload[1]) for s in strap.sent]
    assert len(rec.hr) >= 50
    with pytest.raises(AnalysisError, match=r"0 beats.*heart rate without RR"):
        calmtrace.analyze(rec)


# ------------------------------------------------------------------------------------------
# the capture process killed, the disk full
# ------------------------------------------------------------------------------------------
def _cli_capture(out: Path, *extra: str, speed: str = "10", **popen: Any) -> subprocess.Popen:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen([sys.executable, "-m", "calmtrace", "capture", "--simulate", "tsst",
                             "--speed", speed, "--no-live", "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=out.parent, **popen)


def _truth_raw() -> list[int]:
    """The RR intervals (1/1024 s) the CLI's virtual strap beats: the simulator's, seed 1."""
    return _raw(calmtrace.simulate("tsst", seed=1).rr_ms)


def _assert_contiguous_run_of_truth(written: list[int], truth: list[int]) -> None:
    """``written`` is the simulator's beats from some early beat on, none missing in between.

    The virtual strap starts beating when the process starts; the beats before the capture
    connected (a few strap seconds, more at high speed) reached no one.
    """
    k = next((k for k in range(40) if truth[k:k + len(written)] == written), None)
    assert k is not None, "the beats on disk are the strap's, in order, with none missing"


def _notified_rr(folder: Path) -> list[int]:
    """RR intervals of every complete line of notifications.csv, in order."""
    rows = [line.split(",") for line in _complete_lines(folder / "notifications.csv")]
    return [r for row in rows if row[1] == "hrs" for r in _rr_raw(bytes.fromhex(row[2]))]


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_at_most_the_last_notification(tmp_path: Path) -> None:
    rng = random.Random(9)
    delays = [rng.uniform(0.5, 6.0) for _ in range(3)]    # real s after the first notifications
    outs = [tmp_path / f"killed-{k}" for k in range(3)]
    procs = [_cli_capture(out) for out in outs]           # three at once, killed independently
    kill_at: list[float | None] = [None] * 3
    try:
        deadline = time.time() + 90
        while any(p.returncode is None for p in procs) and time.time() < deadline:
            for k, (p, out) in enumerate(zip(procs, outs)):
                if p.poll() is not None:
                    continue
                if kill_at[k] is None and (out / "notifications.csv").is_file() \
                        and (out / "notifications.csv").read_bytes().count(b"\n") > 3:
                    kill_at[k] = time.time() + delays[k]
                if kill_at[k] is not None and time.time() >= kill_at[k]:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=10)
            time.sleep(0.02)
    finally:
        for p in procs:
            p.kill()
            p.communicate()
    assert [p.returncode for p in procs] == [-signal.SIGKILL] * 3, "each capture was killed mid-way"
    truth = _truth_raw()
    for out in outs:
        rec = calmtrace.load(out)          # reads back: beats rebuilt from the raw notifications
        assert rec.meta["complete"] is False and rec.meta["beats_rebuilt_from_notifications"]
        written = _notified_rr(out)
        assert len(written) > 0
        # every RR interval of every notification written is a beat, none missing in between
        assert _raw(rec.rr_ms) == written
        _assert_contiguous_run_of_truth(written, truth)
        # what was lost is at most the notification being written: less than one line, cut short
        raw = (out / "notifications.csv").read_bytes()
        assert len(raw) - raw.rfind(b"\n") - 1 < 64
        # and the beats of the last notification written are in the recording
        last_arrival_s = float(_complete_lines(out / "notifications.csv")[-1].split(",")[0])
        assert last_arrival_s - rec.t_s[-1] < 1.5 * NOTIFY_S


def _file_size_limit(limit: int) -> Callable[[], None]:
    def limit_file_size() -> None:                        # runs in the child, before exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_file_size


@pytest.mark.slow
@pytest.mark.parametrize("streams, limit", [([], 6000), (["--ecg"], 60000)], ids=["beats", "beats-and-ecg"])
def test_a_full_disk_stops_the_capture_with_one_line_and_keeps_what_was_written(
        tmp_path: Path, streams: list[str], limit: int) -> None:
    """The file-size limit (bytes) is a few minutes of notifications, or ~15 s of ECG."""
    out = tmp_path / "full"
    proc = _cli_capture(out, *streams, speed="100", preexec_fn=_file_size_limit(limit))
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert str(out) in lines[0] and "file too large" in lines[0], lines[0]
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    assert max(sizes.values()) == limit, f"the limit was reached: {sizes}"
    assert not list(out.glob("*.tmp")), "no temporary file left"
    # everything written so far reads back: every complete notification's beats, in order
    rec = calmtrace.load(out)
    assert rec.meta["complete"] is False and "file too large" in rec.meta["capture_stopped"]
    written = _notified_rr(out)
    assert len(written) > (100 if not streams else 10)
    assert _raw(rec.rr_ms) == written
    _assert_contiguous_run_of_truth(written, _truth_raw())
    # the beats the capture had timed before it stopped (it holds them 30 s) are a prefix of those
    stored = _raw([float(line.split(",")[1]) for line in _complete_lines(out / "beats.csv")])
    assert stored == written[: len(stored)] and (len(stored) > 0 or streams)
    assert load_folder(out).meta["complete"] is False
    if streams:          # the ECG too: the file that filled up, read up to its last whole line
        assert sizes["ecg.csv"] == limit
        assert len(rec.ecg) == len(_complete_lines(out / "ecg.csv")) > 100


@pytest.mark.slow
def test_a_disk_full_at_the_final_write_leaves_a_readable_recording(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last write of a capture (recording.json marked complete) fails as on a full disk: half
    of its temporary file is written, then ENOSPC. The capture must not crash: it says so, keeps
    every beat and leaves no temporary file."""
    real = store._atomic_write_text

    def full_disk(path: Path, text: str) -> None:
        if '"complete": true' not in text:
            return real(path, text)
        path.with_name(path.name + ".tmp").write_text(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "_atomic_write_text", full_disk)

    async def nothing(strap: VirtualStrap, sleep_until) -> None:
        return None

    out = tmp_path / "full-at-close"
    with pytest.raises(CalmtraceError, match="disk full") as info:
        run_virtual(_capture(out, _rr_ms(45, seed=8), nothing))
    assert str(out) in str(info.value) and "\n" not in str(info.value)
    assert not list(out.glob("*.tmp"))
    rec = calmtrace.load(out)
    assert rec.meta["complete"] is False and rec.meta["capture_stopped"].startswith("disk full")
    written = _notified_rr(out)
    assert _raw(rec.rr_ms) == written and len(written) > 30
    truth = _raw(_rr_ms(45, seed=8))
    assert written == truth[len(truth) - len(written):], "every beat since the capture connected"
