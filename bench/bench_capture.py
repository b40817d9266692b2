"""Capture cost: per notification, and the CPU share of a capture at real time.

1. Per notification: a simulated session's Heart Rate Measurement notifications (one a second, as a
   Polar H10 sends them) go through the capture pipeline (raw line to disk, parse, beat timeline,
   beats/HR lines to disk). The peer in the same run is the bare write of the raw line alone.
2. At real time: a 60-s capture from the virtual strap at speed 1, process CPU time over wall
   time. The virtual strap and its Bluetooth stack (Bumble's controller, host and GATT server) run
   in the same process, so the peer in the same run is that strap streaming to a bleak client that
   only subscribes and discards; the capture's own share is the difference (target: under 5% of
   one core).

    python bench/bench_capture.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import calmtrace
from calmtrace.capture import Capture
from calmtrace.devices.ble import Notification, Strap
from calmtrace.devices.hrs import encode_hrm
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace.store import RecordingWriter


def notifications(n_seconds: int) -> list[Notification]:
    """One notification a second carrying the beats of that second (RR in 1/1024 s)."""
    rec = calmtrace.simulate("rest", seed=3, duration_s=float(n_seconds) + 5)
    t = rec.t_s
    raw = np.rint(rec.rr_ms * 1024 / 1000).astype(int)
    out = []
    for s in range(1, n_seconds):
        sel = (t > s - 1) & (t <= s)
        hr = int(round(60000 / rec.rr_ms[sel].mean())) if sel.any() else 60
        out.append(Notification(s + 0.05 + 0.3 * ((s * 7) % 10) / 10, "hrs",
                                encode_hrm(hr, rr_raw=raw[sel].tolist(), contact="yes")))
    return out


def per_notification(n_seconds: int = 7200, repeats: int = 3) -> tuple[float, float]:
    notes = notifications(n_seconds)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pipeline, bare = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cap = Capture("bench", Path(tmp) / "a", start=start, clock=lambda: 0.0)
            t0 = time.perf_counter()
            for n in notes:
                cap._handle(n)
            pipeline.append((time.perf_counter() - t0) / len(notes))
            cap.writer.close()
            w = RecordingWriter(Path(tmp) / "b", start)
            t0 = time.perf_counter()
            for n in notes:
                w.add_notification(n.t_s, n.payload)
            bare.append((time.perf_counter() - t0) / len(notes))
            w.close()
    return statistics.median(pipeline), statistics.median(bare)


async def _strap_run(seconds: float, with_capture: bool) -> tuple[float, float]:
    radio = VirtualRadio()
    strap = VirtualStrap(radio, calmtrace.simulate("rest", seed=4, duration_s=seconds + 30).rr_ms.tolist())
    await strap.start()
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if with_capture:
            cap = Capture(strap.address, Path(tmp) / "cap", backend=radio)
            await cap.run(duration_s=seconds)
        else:
            strap_client = Strap(strap.address, backend=radio)
            await strap_client.connect()
            deadline = time.perf_counter() + seconds
            async for _event in strap_client.events():
                if time.perf_counter() > deadline:
                    break
            await strap_client.close()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await strap.stop()
    await radio.close()
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the real-time runs")
    args = ap.parse_args()
    pipe, bare = per_notification()
    print(f"per notification: capture pipeline {pipe * 1e6:.0f} us, bare raw write {bare * 1e6:.0f} us "
          f"(ratio {pipe / bare:.1f}x); at one notification a second that is {pipe * 100:.3f}% of a core")
    cap_cpu, cap_wall = asyncio.run(_strap_run(args.seconds, True))
    peer_cpu, peer_wall = asyncio.run(_strap_run(args.seconds, False))
    share = (cap_cpu / cap_wall - peer_cpu / peer_wall) * 100
    print(f"real time, {args.seconds:.0f} s: with capture {100 * cap_cpu / cap_wall:.2f}% of a core, "
          f"virtual strap + bare subscriber (peer) {100 * peer_cpu / peer_wall:.2f}%; "
          f"capture's own share {share:.2f}% (target < 5%)")


if __name__ == "__main__":
    main()
