"""Ordinary bleak calls and the Strap adapter against a virtual strap on a real Bluetooth stack.

The strap is a Bumble GATT server on an in-process LocalLink; bleak reaches it through the
backend in calmtrace.devices (real HCI, L2CAP and ATT). Its clock runs SPEED times faster than
real time (a notification every 1/SPEED s), so a five-minute session takes seconds. The strap
keeps books of what it sent and what nobody heard; the tests compare them with what arrived.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError

from calmtrace.devices.ble import Notification, StateChange, Strap, StrapConfig, scan
from calmtrace.devices.hrs import parse_hrm
from calmtrace.devices.polar import EcgClock, parse_ecg_frame
from calmtrace.devices.timeline import Emitted, Timeline, TimelineConfig
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace.errors import DeviceError, FormatError
from tests.virtual_time import run_virtual

SPEED = 40.0
NAME = "Polar H10 0A1B2C3D"
ADDRESS = "C0:CA:17:0A:1B:2C"
# Fast reconnection for tests (real seconds; the strap's 1-s notifications take 25 ms here, so
# 1 s of silence is 40 missed notifications, and a busy machine does not fake a stall).
FAST = StrapConfig(connect_timeout_s=0.5, scan_timeout_s=1.0, stall_timeout_s=1.0,
                   backoff_initial_s=0.05, backoff_factor=2.0, backoff_max_s=0.2)
# Loop jitter of a few ms is a few hundred strap ms at SPEED; the sustained-shift test of the
# timeline is tuned for real time, so it is made coarser here (the marks carry the gaps).
TIMELINE = TimelineConfig(step_s=2.0, drop_tolerance_s=4.0)


def run_async(fn):
    """Run an async test in a fresh virtual-time event loop (tests/virtual_time.py), failing (not
    hanging) after 60 s of virtual time."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        async def guarded():
            return await asyncio.wait_for(fn(*args, **kwargs), 60)
        return run_virtual(guarded())
    return wrapper


def rr_series(n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return list(800 + 60 * np.sin(2 * np.pi * k / 12) + rng.normal(0, 15, n))


class Session:
    """Consume a Strap's events the way a capture does: raw notifications -> Timeline."""

    def __init__(self, strap: Strap, config: TimelineConfig = TIMELINE) -> None:
        self.strap = strap
        self.timeline = Timeline(config)
        self.out = Emitted()
        self.events: list = []
        self.rx_rr: list[int] = []
        self.pmd: list[Notification] = []
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        async for ev in self.strap.events():
            self.events.append(ev)
            if isinstance(ev, Notification) and ev.source == "hrs":
                try:
                    self.rx_rr.extend(parse_hrm(ev.payload).rr_raw)
                except FormatError:
                    pass
                self.out.extend(self.timeline.feed_payload(ev.t_s, ev.payload))
            elif isinstance(ev, Notification):
                self.pmd.append(ev)
            elif ev.state in ("disconnected", "stalled"):
                reason = "disconnect" if ev.state == "disconnected" else "stall"
                self.out.extend(self.timeline.mark(ev.t_s, reason))

    async def finish(self) -> None:
        """Close the strap and the timeline; a gap still open ends now."""
        await self.strap.close()
        await self.task
        self.out.extend(self.timeline.finish(host_clock()()))

    def states(self) -> list[str]:
        return [e.state for e in self.events if isinstance(e, StateChange)]


def host_clock():
    loop = asyncio.get_running_loop()
    return lambda: loop.time() * SPEED


def host_t(strap: VirtualStrap, strap_t_s: float) -> float:
    """True time of a strap-clock instant on the host clock used above."""
    return strap.loop_time(strap_t_s) * SPEED


def sent_rr(strap: VirtualStrap) -> list[int]:
    return [r for n in strap.sent for r in n.rr_raw]


# ------------------------------------------------------------------------------------------
@run_async
async def test_scan_lists_heart_rate_straps_only():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(50), speed=SPEED)
    await strap.start()
    other = radio.new_device("Lamp", "C0:11:22:33:44:55")       # advertises no HRS
    await other.power_on()
    await other.start_advertising(advertising_data=bytes([5, 0x09]) + b"Lamp",
                                  advertising_interval_min=20, advertising_interval_max=20)
    found = await scan(0.3, backend=radio)
    everything = await BleakScanner.discover(0.3, backend=radio.scanner_backend)
    await strap.stop()
    await radio.close()
    assert found and {(s.name, s.address, s.rssi) for s in found} == {(NAME, ADDRESS, -50)}
    assert {d.address for d in everything} == {ADDRESS, "C0:11:22:33:44:55"}


@run_async
async def test_plain_bleak_calls_reach_the_strap():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(400), speed=SPEED, battery_pct=64, firmware="9.8.7")
    await strap.start()
    devices = await BleakScanner.discover(0.2, backend=radio.scanner_backend)
    assert [d.address for d in devices] == [ADDRESS]
    got: list[bytes] = []
    async with BleakClient(devices[0], backend=radio.client_backend, timeout=2) as client:
        services = {s.uuid for s in client.services}
        assert {"0000180d-0000-1000-8000-00805f9b34fb", "0000180f-0000-1000-8000-00805f9b34fb",
                "0000180a-0000-1000-8000-00805f9b34fb",
                "fb005c80-02e7-f387-1cad-8acd2d8df0c8"} <= services
        assert await client.read_gatt_char("2a19") == bytearray([64])
        assert await client.read_gatt_char("2a38") == bytearray([1])          # chest
        assert (await client.read_gatt_char("2a26")).decode() == "9.8.7"
        assert (await client.read_gatt_char("2a29")).decode() == "Polar Electro Oy"
        assert client.name == NAME
        n_before = len(strap.sent)
        await client.start_notify("2a37", lambda _c, data: got.append(bytes(data)))
        await asyncio.sleep(0.5)
        await client.stop_notify("2a37")
        await asyncio.sleep(0.05)
        n_after = len(strap.sent)
    assert not client.is_connected
    await strap.stop()
    await radio.close()
    assert len(got) >= 10
    assert got == [n.payload for n in strap.sent[n_before:n_after]]


@run_async
async def test_connect_times_out_then_the_next_connect_works():
    # Bumble's virtual controller ignores LE Create Connection Cancel; without the fix in
    # calmtrace.devices the second connect hangs.
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(100), speed=SPEED)
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient(ADDRESS, backend=radio.client_backend, timeout=0.2).connect()
    await strap.start()
    client = BleakClient(ADDRESS, backend=radio.client_backend, timeout=2)
    await asyncio.wait_for(client.connect(), 5)
    assert client.is_connected
    await client.disconnect()
    await strap.stop()
    await radio.close()


@run_async
async def test_every_beat_arrives_through_drops_stalls_and_malformed_payloads(caplog):
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(330, seed=1), speed=SPEED, battery_pct=71)
    await strap.start()
    adapter = Strap(NAME, backend=radio, config=FAST, clock=host_clock())   # by name
    meta = await adapter.connect()
    assert meta == {"device_name": NAME, "device_address": ADDRESS,
                    "device_manufacturer": "Polar Electro Oy", "device_model": "H10",
                    "device_serial": "0A1B2C3D", "device_firmware": "3.2.0", "battery_pct": 71,
                    "body_sensor_location": "chest", "ecg": False}
    session = Session(adapter)
    with caplog.at_level(logging.WARNING, logger="calmtrace.devices.timeline"):
        await asyncio.sleep(1.0)
        await strap.drop_link(down_s=6.0)              # out of range for 6 s
        await asyncio.sleep(1.5)
        strap.stall()                                  # link up, nothing comes
        await asyncio.sleep(2.0)
        strap.inject_malformed(b"\x10\x40\x01")        # odd RR bytes
        strap.inject_malformed(b"")
        await asyncio.sleep(0.5)
        await strap.drop_link(down_s=2.0)
        await strap.finished.wait()
        await asyncio.sleep(0.1)
        await session.finish()
    await strap.stop()
    await radio.close()

    # every beat the strap sent arrived, once, exactly; and nothing else
    sent = sent_rr(strap)
    assert len(sent) + len(strap.unsent) == len(strap.beats) == 330
    assert session.rx_rr == sent
    assert [b.rr_raw for b in session.out.beats] == sent
    assert [b.rr_ms for b in session.out.beats] == [r * 1000 / 1024 for r in sent]
    # it reconnected by itself, three times, and said why
    assert adapter.n_reconnects == 3 and strap.n_connections == 4
    states = session.states()
    assert [s for s in states if s in ("disconnected", "stalled")] == \
        ["disconnected", "stalled", "disconnected"]
    assert states.count("connected") == 4 and states[-1] == "closed"
    # a gap where each outage was, covering the beats nobody heard
    gaps = session.out.gaps
    assert [g.reason for g in gaps] == ["disconnect", "stall", "disconnect"]
    # (beats before the first subscription are before the recording, not in a gap)
    first_heard = min(host_t(strap, t) for t, _ in set(strap.beats) - set(strap.unsent))
    unheard = [host_t(strap, t) for t, _ in strap.unsent if host_t(strap, t) > first_heard]
    assert len(unheard) > 3 * 6
    for t in unheard:
        assert any(g.onset_s - 0.5 <= t <= g.onset_s + g.duration_s + 0.5 for g in gaps), \
            (t, [(g.onset_s, g.onset_s + g.duration_s) for g in gaps])
    # the malformed payloads were logged and skipped
    assert session.timeline.n_malformed == 2
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 2
    # beats are placed near their true times (the fine accuracy is tested in test_timeline)
    unsent = set(strap.unsent)
    sent_times = [t for t, raw in strap.beats if (t, raw) not in unsent]
    err = [b.t_s - host_t(strap, t) for b, t in zip(session.out.beats, sent_times)]
    assert len(err) == len(sent)
    assert max(abs(e) for e in err) < 2.0


@run_async
async def test_abrupt_drop_loses_at_most_the_notification_in_flight():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(150, seed=2), speed=SPEED)
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock())   # by address
    await adapter.connect()
    session = Session(adapter)
    await asyncio.sleep(1.0)
    await strap.drop_link(down_s=3.0, settle=False)
    await strap.finished.wait()
    await asyncio.sleep(0.1)
    await session.finish()
    await strap.stop()
    await radio.close()
    sent = [n.rr_raw for n in strap.sent]
    received = session.rx_rr
    # the received beats are the sent ones with at most one notification missing
    candidates = [[r for k, n in enumerate(sent) if k != skip for r in n]
                  for skip in range(-1, len(sent))]
    assert received in candidates
    assert [b.rr_raw for b in session.out.beats] == received
    assert [g.reason for g in session.out.gaps] == ["disconnect"]


@run_async
async def test_reconnection_backs_off_exponentially():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(120, seed=3), speed=SPEED)
    await strap.start()
    config = StrapConfig(connect_timeout_s=0.1, scan_timeout_s=1.0, stall_timeout_s=1.0,
                         backoff_initial_s=0.05, backoff_factor=2.0, backoff_max_s=0.2)
    adapter = Strap(ADDRESS, backend=radio, config=config, clock=host_clock())
    await adapter.connect()
    session = Session(adapter)
    await asyncio.sleep(0.5)
    await strap.drop_link(down_s=40.0)                # 1 s of real time away
    await strap.finished.wait()
    await asyncio.sleep(0.1)
    await session.finish()
    await strap.stop()
    await radio.close()
    attempts = [e for e in session.events if isinstance(e, StateChange)
                and e.state == "reconnecting"]
    n = len(attempts)
    assert n >= 5
    expected = [0.0] + [min(0.2, 0.05 * 2 ** k) for k in range(n - 1)]     # 0, .05, .1, .2, .2
    assert [e.attempt for e in attempts] == list(range(1, n + 1))
    assert [e.detail for e in attempts] == [f"attempt {k + 1} in {d:g} s"
                                            for k, d in enumerate(expected)]
    assert session.rx_rr == sent_rr(strap)
    assert adapter.n_reconnects == 1


@run_async
async def test_giving_up_after_max_attempts():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(400, seed=4), speed=SPEED)
    await strap.start()
    config = StrapConfig(connect_timeout_s=0.1, stall_timeout_s=1.0, backoff_initial_s=0.02,
                         backoff_max_s=0.05, max_attempts=3)
    adapter = Strap(ADDRESS, backend=radio, config=config, clock=host_clock())
    await adapter.connect()
    session = Session(adapter)
    await asyncio.sleep(0.3)
    await strap.drop_link(down_s=1e6)                 # gone for good
    await asyncio.wait_for(session.task, 10)          # events end by themselves
    states = session.states()
    assert states[-1] == "failed" and states.count("reconnecting") == 3
    assert "gave up after 3 attempts" in session.events[-1].detail
    await session.finish()                            # closing afterwards is harmless
    await strap.stop()
    await radio.close()


@run_async
async def test_missing_straps_raise_device_error_naming_them():
    radio = VirtualRadio()
    with pytest.raises(DeviceError, match="'Polar H10 FFFFFFFF'.*not found"):
        await Strap("Polar H10 FFFFFFFF", backend=radio,
                    config=StrapConfig(scan_timeout_s=0.2)).connect()
    with pytest.raises(DeviceError, match="C0:00:00:00:00:99: could not connect") as info:
        await Strap("C0:00:00:00:00:99", backend=radio,
                    config=StrapConfig(connect_timeout_s=0.2)).connect()
    assert "\n" not in str(info.value)
    await radio.close()


@run_async
async def test_ecg_frames_arrive():
    # Waits for what it checks (frames received), never for wall-clock time, so that a loaded
    # machine (which starts streaming later in strap time) cannot fail it.
    fs = 130
    ecg = [int(1000 * math.sin(2 * math.pi * 1.2 * i / fs)) + (i % 7) for i in range(600 * fs)]
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(800, seed=5), ecg_uv=ecg, speed=SPEED)
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock(), ecg=True)
    meta = await adapter.connect()
    session = Session(adapter)
    for _ in range(1200):                                 # at most 60 s of waiting on a slow machine
        if len(session.pmd) >= 12 or strap.finished.is_set():
            break
        await asyncio.sleep(0.05)
    await session.finish()
    await strap.stop()
    await radio.close()
    assert meta["ecg"] is True
    assert len(session.pmd) >= 12
    payloads = [n.payload for n in session.pmd]
    # every frame received is one the strap sent, in order; at most the frame in flight when the
    # session finished was sent and not received
    assert payloads == strap.ecg_sent[:len(payloads)]
    assert len(strap.ecg_sent) - len(payloads) <= 1
    frames = [parse_ecg_frame(n.payload) for n in session.pmd]
    samples = [v for f in frames for v in f.samples_uv]
    # sample k of the source is the heart's ECG at strap time k / fs: the frame timestamps say which
    # sample came first, and from there on the source arrives in order, none skipped or repeated
    from calmtrace.devices.polar import POLAR_EPOCH
    from calmtrace.devices.virtual import ECG_CLOCK_START

    clock0_ns = int((ECG_CLOCK_START - POLAR_EPOCH).total_seconds()) * 1_000_000_000
    k_last = round((frames[0].timestamp_ns - clock0_ns) * fs / 1e9)
    k0 = k_last - (len(frames[0].samples_uv) - 1)
    assert k0 >= 0, "no sample from before strap time 0"
    assert samples == ecg[k0:k0 + len(samples)]
    clock = EcgClock()
    times = [t for n, f in zip(session.pmd, frames) for t in clock.place(n.t_s, f)]
    assert np.allclose(np.diff(times[-73:]), 1 / fs, atol=1e-6)


@run_async
async def test_strap_without_ecg_keeps_streaming_heart_rate(caplog):
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(60, seed=6), speed=SPEED)      # no ECG source
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock(), ecg=True)
    with caplog.at_level(logging.WARNING, logger="calmtrace.devices.ble"):
        meta = await adapter.connect()
        session = Session(adapter)
        await strap.finished.wait()
        await asyncio.sleep(0.1)
        await session.finish()
    await strap.stop()
    await radio.close()
    assert meta["ecg"] is False
    assert any("not supported" in r.getMessage() for r in caplog.records)
    assert session.rx_rr == sent_rr(strap) and len(session.rx_rr) + len(strap.unsent) == 60
    assert len(session.rx_rr) >= 50


@run_async
async def test_hr_only_strap_gives_hr_samples_only():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(40, seed=7), speed=SPEED, send_rr=False)
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock())
    await adapter.connect()
    session = Session(adapter)
    await strap.finished.wait()
    await asyncio.sleep(0.1)
    await session.finish()
    await strap.stop()
    await radio.close()
    assert session.out.beats == [] and session.rx_rr == []
    assert len(session.out.hr) == len(strap.sent) >= 20
    assert session.timeline.hr_only is True


@run_async
async def test_waiting_for_an_event_can_be_cancelled_without_losing_any():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(60, seed=8), speed=SPEED)
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock())
    await adapter.connect()
    events = adapter.events().__aiter__()
    received: list[int] = []
    n_timeouts = 0
    closing = None
    while True:
        if strap.finished.is_set() and closing is None:
            closing = asyncio.create_task(adapter.close())
        try:
            event = await asyncio.wait_for(events.__anext__(), 0.005)   # often times out
        except TimeoutError:
            n_timeouts += 1
            continue
        except StopAsyncIteration:
            break
        if isinstance(event, Notification):
            received.extend(parse_hrm(event.payload).rr_raw)
    await closing
    await radio.close()
    assert n_timeouts > 10
    assert received == sent_rr(strap) and len(received) >= 50
