"""The virtual strap's accelerometer through the real Bluetooth stack (Bumble) and bleak's own API.

The strap's movement source says what sample k is (at strap time k / fs for the rate the client
asks for); the tests compare the frames that arrive, decoded with the PMD codec, with the source:
values, order, the timestamps on the strap's sensor clock, and the moment each frame left.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from bleak import BleakClient

from calmtrace.devices.ble import Strap
from calmtrace.devices.polar import (
    ACC_MAX_SAMPLES_PER_FRAME,
    MEASUREMENT_ACC,
    MEASUREMENT_ECG,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    POLAR_EPOCH,
    STOP_ACC_COMMAND,
    acc_samples_per_frame,
    parse_acc_frame,
    parse_cp_response,
    parse_ecg_frame,
    start_acc_command,
)
from calmtrace.devices.virtual import ECG_CLOCK_START, VirtualRadio, VirtualStrap
from tests.devices.test_virtual_ble import ADDRESS, FAST, SPEED, Session, host_clock, rr_series, run_async

CLOCK0_NS = int((ECG_CLOCK_START - POLAR_EPOCH).total_seconds()) * 1_000_000_000


def _source(n: int) -> list[tuple[int, int, int]]:
    """Samples that name their own index k, some beyond 4 g (to see the range clip them)."""
    return [(k % 4000 - 2000, (k * 7919) % 12000 - 6000, k // 4000) for k in range(n)]


class _Pmd:
    """A plain bleak client on the PMD service: control point answers and data frames."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()
        self.frames: list[tuple[float, bytes]] = []

    async def subscribe(self) -> None:
        loop = asyncio.get_running_loop()
        await self.client.start_notify(PMD_CONTROL_UUID, lambda _c, d: self.answers.put_nowait(bytes(d)))
        await self.client.start_notify(PMD_DATA_UUID, lambda _c, d: self.frames.append((loop.time(), bytes(d))))

    async def ask(self, command: bytes):
        await self.client.write_gatt_char(PMD_CONTROL_UUID, command, response=True)
        return parse_cp_response(await asyncio.wait_for(self.answers.get(), 5))

    async def wait_frames(self, n: int, strap: VirtualStrap) -> None:
        for _ in range(2000):
            if len(self.frames) >= n or strap.finished.is_set():
                return
            await asyncio.sleep(0.01)


@run_async
async def test_acc_frames_carry_the_source_on_the_sensor_clock_at_the_requested_rate():
    fs, range_g = 50, 4
    src = _source(300 * fs)
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(400, seed=11), acc_mg=src, speed=SPEED)
    await strap.start()
    async with BleakClient(ADDRESS, backend=radio.client_backend) as client:
        pmd = _Pmd(client)
        await pmd.subscribe()
        await asyncio.sleep(0.05)                         # strap time moves on before the request
        reply = await pmd.ask(start_acc_command(fs, range_g))
        assert (reply.op_code, reply.measurement_type, reply.status) == (0x02, MEASUREMENT_ACC, 0)
        await pmd.wait_frames(12, strap)
        assert (await pmd.ask(STOP_ACC_COMMAND)).status == 0
        n_after_stop = len(pmd.frames)
        await asyncio.sleep(0.2)                          # 8 strap seconds: nothing more comes
        assert len(pmd.frames) == n_after_stop
    await strap.stop()
    await radio.close()

    frames = [parse_acc_frame(p) for _, p in pmd.frames]
    assert len(frames) >= 12
    assert [p for _, p in pmd.frames] == strap.acc_sent[:len(frames)]
    assert all(p[9] == 0x01 for _, p in pmd.frames), "uncompressed int16 frames"
    per = acc_samples_per_frame(fs)
    assert per == 25 and all(len(f.samples_mg) == per for f in frames)
    # the timestamp is the sensor time of the last sample: sample k at k / fs since the clock's start
    k_last = [(f.timestamp_ns - CLOCK0_NS) * fs / 1e9 for f in frames]
    assert np.allclose(k_last, np.round(k_last), atol=1e-6)
    k_last = np.round(k_last).astype(int)
    assert np.all(np.diff(k_last) == per), "consecutive frames, none skipped"
    k0 = int(k_last[0]) - (per - 1)
    assert k0 > 0, "streaming began when it was asked for, not at strap time 0"
    got = [xyz for f in frames for xyz in f.samples_mg]
    limit = 1000 * range_g
    want = [tuple(max(-limit, min(limit, v)) for v in xyz) for xyz in src[k0:k0 + len(got)]]
    assert got == want
    assert any(abs(v) == limit for xyz in got for v in xyz), "the source goes beyond the range: clipped"
    # a frame leaves when its last sample is taken (never before), on the strap's clock
    for (arrival, _), k in zip(pmd.frames, k_last):
        taken = strap.loop_time(k / fs)
        assert 0.0 <= arrival - taken < 0.5 / fs / SPEED


@run_async
async def test_acc_requests_the_strap_cannot_serve_are_refused_with_the_pmd_status():
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(200, seed=12), speed=SPEED)
    await strap.start()
    async with BleakClient(ADDRESS, backend=radio.client_backend) as client:
        pmd = _Pmd(client)
        await pmd.subscribe()
        settings = await pmd.ask(bytes([0x01, MEASUREMENT_ACC]))
        # rates 25/50/100/200 Hz, 16 bit, ranges 2/4/8 g (setting id, count, uint16 values)
        assert settings.status == 0 and settings.parameters == bytes.fromhex(
            "0004" "1900" "3200" "6400" "c800" "0101" "1000" "0203" "0200" "0400" "0800")
        good = start_acc_command(25, 8)
        bad_rate = good[:4] + (30).to_bytes(2, "little") + good[6:]
        bad_resolution = good[:8] + (12).to_bytes(2, "little") + good[10:]
        bad_range = good[:12] + (16).to_bytes(2, "little")
        assert (await pmd.ask(bad_rate)).status_name == "invalid sample rate"
        assert (await pmd.ask(bad_resolution)).status_name == "invalid resolution"
        assert (await pmd.ask(bad_range)).status_name == "invalid range"
        assert (await pmd.ask(good[:7])).status_name == "invalid length"
        assert (await pmd.ask(good)).status == 0
        assert (await pmd.ask(good)).status_name == "already in state"
        # the first request fixed rate and range for the strap's life
        assert (await pmd.ask(start_acc_command(100, 8))).status_name == "invalid state"
        await pmd.wait_frames(3, strap)
        assert (await pmd.ask(STOP_ACC_COMMAND)).status == 0
        assert (await pmd.ask(STOP_ACC_COMMAND)).status_name == "already in state"
    await strap.stop()
    await radio.close()
    # default movement: still and upright, 1 g on the y axis
    assert pmd.frames and {xyz for _, p in pmd.frames for xyz in parse_acc_frame(p).samples_mg} == {(0, 1000, 0)}


@run_async
async def test_a_movement_source_may_be_a_function_of_strap_time_or_an_async_iterable():
    fs = 25

    def swing(t_s: float) -> tuple[float, float, float]:
        return (100.4 * np.sin(t_s), 1000.0, -3.6 * t_s)

    async def stepping():
        k = 0
        while True:
            yield (k, -k, 7)
            k += 1

    for source in (swing, stepping()):
        radio = VirtualRadio()
        strap = VirtualStrap(radio, rr_series(200, seed=13), acc_mg=source, speed=SPEED)
        await strap.start()
        async with BleakClient(ADDRESS, backend=radio.client_backend) as client:
            pmd = _Pmd(client)
            await pmd.subscribe()
            await asyncio.sleep(0.02)
            assert (await pmd.ask(start_acc_command(fs, 8))).status == 0
            await pmd.wait_frames(4, strap)
        await strap.stop()
        await radio.close()
        for _, p in pmd.frames:
            f = parse_acc_frame(p)
            k_last = round((f.timestamp_ns - CLOCK0_NS) * fs / 1e9)
            for i, xyz in enumerate(f.samples_mg):
                k = k_last - (len(f.samples_mg) - 1 - i)
                if source is swing:
                    want = tuple(int(round(v)) for v in swing(k / fs))
                else:
                    want = (k, -k, 7)
                assert xyz == want, (k, xyz, want)


@run_async
async def test_ecg_and_acc_stream_together_through_the_strap_adapter():
    fs = 100
    ecg = [(i * 37) % 2000 - 1000 for i in range(130 * 400)]
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(300, seed=14), ecg_uv=ecg, acc_mg=_source(400 * fs), speed=SPEED)
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock(), ecg=True, acc=True, acc_fs_hz=fs,
                    acc_range_g=8)
    meta = await adapter.connect()
    session = Session(adapter)
    for _ in range(1200):
        kinds = {n.payload[0] for n in session.pmd}
        if len(session.pmd) >= 20 and kinds == {MEASUREMENT_ECG, MEASUREMENT_ACC}:
            break
        await asyncio.sleep(0.05)
    await session.finish()
    await strap.stop()
    await radio.close()
    assert meta["ecg"] is True and meta["acc"] is True and meta["acc_fs_hz"] == fs and meta["acc_range_g"] == 8
    acc = [n.payload for n in session.pmd if n.payload[0] == MEASUREMENT_ACC]
    ecg_frames = [n.payload for n in session.pmd if n.payload[0] == MEASUREMENT_ECG]
    assert acc and ecg_frames
    assert acc == strap.acc_sent[:len(acc)] and ecg_frames == strap.ecg_sent[:len(ecg_frames)]
    assert all(len(parse_acc_frame(p).samples_mg) == ACC_MAX_SAMPLES_PER_FRAME for p in acc)
    assert all(len(parse_ecg_frame(p).samples_uv) == 73 for p in ecg_frames)


@run_async
async def test_a_strap_without_pmd_warns_once_and_streams_heart_rate(caplog):
    radio = VirtualRadio()
    strap = VirtualStrap(radio, rr_series(120, seed=15), pmd=False, name="HRM-Pro 12345",
                         manufacturer="Garmin", model="HRM-Pro", speed=SPEED)
    await strap.start()
    adapter = Strap(ADDRESS, backend=radio, config=FAST, clock=host_clock(), acc=True)
    with caplog.at_level(logging.WARNING, logger="calmtrace.devices.ble"):
        meta = await adapter.connect()
        session = Session(adapter)
        await asyncio.sleep(0.5)
        await strap.drop_link(down_s=0.5)                 # the reconnection does not warn again
        await strap.finished.wait()
        await asyncio.sleep(0.1)
        await session.finish()
    await strap.stop()
    await radio.close()
    assert adapter.n_reconnects >= 1
    assert meta["acc"] is False
    warned = [r.getMessage() for r in caplog.records if "PMD" in r.getMessage()]
    assert len(warned) == 1 and "no accelerometer" in warned[0] and "heart rate only" in warned[0], warned
    assert session.pmd == [] and len(session.rx_rr) >= 80


def test_the_acc_clock_keeps_times_in_order_when_the_first_frames_came_late():
    """The clock's default (ECG and ACC alike) slews by half a sample per frame. Latencies of 300, 120, 40, 10, 10 ms at 25 Hz (40-ms samples): the running minimum alone would
    place the second frame 180 ms earlier, before the end of the first; slewed by at most half a
    sample per frame, every time follows the one before, and the offset reaches the minimum."""
    from calmtrace.devices.polar import AccFrame, EcgClock

    fs, per = 25, 12
    latency = [0.300, 0.120, 0.040] + [0.010] * 20         # 290 ms to catch up at 20 ms a frame
    frames, arrivals = [], []
    for j, lat in enumerate(latency):
        last_k = (j + 1) * per - 1
        frames.append(AccFrame(round(1e9 * (100.0 + last_k / fs)), tuple((0, 1000, 0) for _ in range(per))))
        arrivals.append(7.0 + last_k / fs + lat)             # host clock: sensor 100 s is host 7 s

    plain, slewed = EcgClock(fs, max_slew_s=float("inf")), EcgClock(fs)
    t_plain = [t for a, f in zip(arrivals, frames) for t in plain.place(a, f)]
    t_slew = [t for a, f in zip(arrivals, frames) for t in slewed.place(a, f)]
    assert np.any(np.diff(t_plain) <= 0), "the plain running minimum goes back in time here"
    step = np.diff(t_slew)
    assert np.all(step >= 0.5 / fs - 1e-9) and np.all(step <= 1 / fs + 1e-9)
    # the last frame sits on the true time plus the smallest latency, as the plain clock has it
    true_last = [7.0 + k / fs + 0.010 for k in range(len(t_slew) - per, len(t_slew))]
    assert np.allclose(t_slew[-per:], true_last, atol=1e-9) and np.allclose(t_plain[-per:], true_last, atol=1e-9)
