"""A virtual heart-rate strap (a Bumble GATT server) and a bleak backend that reaches it.

:class:`VirtualStrap` is a Polar-H10-like peripheral on a :class:`VirtualRadio`: it advertises
the Heart Rate Service and serves

- Heart Rate (0x180D): Heart Rate Measurement 0x2A37 (notify), Body Sensor Location 0x2A38;
- Battery (0x180F): Battery Level 0x2A19;
- Device Information (0x180A): manufacturer 0x2A29, model 0x2A24, serial 0x2A25, firmware 0x2A26;
- Polar Measurement Data (FB005C80-...): control point FB005C81 (read, write, indicate) and data
  FB005C82 (notify), streaming ECG at 130 Hz and acceleration at 25-200 Hz on request (see
  :mod:`calmtrace.devices.polar`); ``pmd=False`` leaves the service out (a strap of another make).

Acceleration comes from the caller's movement source (``acc_mg``): a callable of strap time, or an
iterable / async iterable of ``(x, y, z)`` mg samples, sample ``k`` at strap time ``k / fs`` for the
rate ``fs`` the client asks for; without one the strap lies still and upright (1 g on its y axis,
as :mod:`calmtrace.signals.day_sim` draws an upright chest). Values are rounded to whole mg and
clipped to the requested range, as a saturating accelerometer does. Frames carry
:func:`~calmtrace.devices.polar.acc_samples_per_frame` samples and leave the strap the moment their
last sample is taken, stamped with that sample's time on the same sensor clock as the ECG.

Its heart beats with the RR intervals the caller hands it (any iterable or async iterable of
ms; ``devices/`` does not simulate physiology itself). Every ``notify_interval_s`` of strap time
it notifies the beats since the previous notification, like a Polar H10 does once a second. The
strap's clock runs ``speed`` times faster than real time, so tests can stream an hour of beats
in minutes; *all durations given to the strap are in strap seconds*.

A beat source may also hand the strap a :class:`Silence` (the heart goes on, but the strap has no
skin contact and reports no beats for that long: it notifies heart rate 0 with contact "no"), and
:func:`replay_source` turns a recorded beat series (times and RR intervals, with its gaps) into
such a source, placed on the strap's 1/1024-s clock so that a replay's beats fall where the
recording's did (``calmtrace capture --replay``).

Faults on demand: :meth:`VirtualStrap.drop_link` (the link is lost; the strap stays silent for a
while), :meth:`VirtualStrap.stall` (the link stays up but nothing more is notified on it),
:meth:`VirtualStrap.inject_malformed` (a bad 0x2A37 payload), :meth:`VirtualStrap.inject_malformed_pmd`
(a bad PMD data frame). The strap keeps books:
:attr:`VirtualStrap.sent` (every notification handed to a subscribed link) and
:attr:`VirtualStrap.unsent` (beats that happened while nobody could hear them).

``VirtualRadio(...).scanner_backend`` and ``.client_backend`` are the ``backend=`` classes for
``BleakScanner`` / ``BleakClient``: ordinary bleak calls reach the strap through real HCI, L2CAP
and ATT (see :mod:`calmtrace.devices._bumble_backend`).

Example
-------
>>> async def demo():                                          # doctest: +SKIP
...     radio = VirtualRadio()
...     strap = VirtualStrap(radio, [800.0] * 100, speed=20)
...     await strap.start()
...     found = await BleakScanner.discover(1.0, backend=radio.scanner_backend)
...     async with BleakClient(strap.address, backend=radio.client_backend) as client:
...         print(await client.read_gatt_char("2a19"))       # battery
...     await radio.close()
"""

from __future__ import annotations

import asyncio
import math
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bumble import gatt
from bumble.core import UUID
from bumble.device import Connection

from ..errors import FormatError
from ._bumble_radio import VirtualRadio
from .hrs import encode_hrm
from .polar import (
    ACC_RANGES_G,
    ACC_RATES_HZ,
    ECG_FS_HZ,
    MEASUREMENT_ACC,
    MEASUREMENT_ECG,
    OP_GET_SETTINGS,
    OP_START,
    OP_STOP,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    POLAR_EPOCH,
    acc_samples_per_frame,
    encode_acc_frame,
    encode_cp_response,
    encode_ecg_frame,
    parse_start_request,
)

__all__ = ["VirtualRadio", "VirtualStrap", "SentNotification", "Silence", "replay_source",
           "BODY_SENSOR_LOCATIONS", "STILL_UPRIGHT_MG", "ACC_SETTINGS"]

log = logging.getLogger(__name__)

#: Body Sensor Location values (GATT Specification Supplement 3.29).
BODY_SENSOR_LOCATIONS = {0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand",
                         5: "ear lobe", 6: "foot"}

#: RR intervals per notification: 9 fit the 20 bytes of a default-MTU notification with a uint8
#: heart rate (1 flags + 1 HR + 2 x 9); a Polar H10 sends at most a few.
MAX_RR_PER_NOTIFICATION = 9
#: ECG samples per frame, as a Polar H10 sends with an MTU of 232 (10-byte header + 73 x 3).
ECG_SAMPLES_PER_FRAME = 73
#: Real seconds a clean drop waits for notifications already handed to the stack to land.
SETTLE_S = 0.05
#: Supervision timeout, the usual reason a central sees when a strap goes out of range.
HCI_CONNECTION_TIMEOUT = 0x08
#: Sensor clock of the virtual strap's ECG starts at this date (PMD epoch is 2000-01-01).
ECG_CLOCK_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
#: The acceleration of a strap given no movement source: still and upright, 1 g on the y axis, mg.
STILL_UPRIGHT_MG = (0, 1000, 0)
#: The ACC settings the strap offers (Get Settings answer): rates 25, 50, 100, 200 Hz; 16 bit;
#: ranges 2, 4, 8 g (Polar BLE SDK, H10 ACC settings).
ACC_SETTINGS = (bytes([0x00, len(ACC_RATES_HZ)]) + b"".join(r.to_bytes(2, "little") for r in ACC_RATES_HZ)
                + bytes([0x01, 0x01, 16, 0x00])
                + bytes([0x02, len(ACC_RANGES_G)]) + b"".join(g.to_bytes(2, "little") for g in ACC_RANGES_G))


@dataclass(frozen=True)
class SentNotification:
    """A notification the strap handed to a subscribed link.

    Attributes
    ----------
    t_strap_s : float
        Strap time when sent, s.
    payload : bytes
        The 0x2A37 value.
    rr_raw : tuple of int
        The RR intervals in it, 1/1024 s (empty for a malformed or HR-only one).
    malformed : bool
        Injected with :meth:`VirtualStrap.inject_malformed`.
    """

    t_strap_s: float
    payload: bytes
    rr_raw: tuple[int, ...]
    malformed: bool = False


@dataclass(frozen=True)
class Silence:
    """An item of a beat source: no beat is reported for ``duration_s`` strap seconds.

    The strap's clock moves on by ``duration_s`` before the next RR interval starts, and its
    notifications meanwhile carry no RR interval and sensor contact "no", as a strap that has
    slipped off the skin sends. As the first item of a source, a negative ``duration_s`` says
    that the first interval began that long before strap time 0 (a recording whose first beat
    closes an interval that started before the recording did).
    """

    duration_s: float


def replay_source(t_s: Sequence[float], rr_ms: Sequence[float]) -> list[float | Silence]:
    """A beat source that replays recorded beats on the strap's 1/1024-s clock.

    Each beat is placed at its recorded time rounded to 1/1024 s (the strap's resolution,
    Bluetooth SIG Heart Rate Service 1.0, 3.1.1.5), and each RR interval is the difference of two
    such times, so rounding never accumulates: every replayed RR differs from the recorded one by
    less than 1/1024 s and every beat time by at most 1/2048 s. Where the recording has a gap (a
    beat whose interval does not start at the previous beat), a :class:`Silence` fills it; the
    recording's time before its first interval is a silence too, and a first interval that began
    before the recording did starts with a negative silence, so strap time equals recording time.

    Parameters
    ----------
    t_s : sequence of float
        Beat times, s since the recording's start, increasing.
    rr_ms : sequence of float
        The RR interval ending at each beat, ms, > 0.

    Returns
    -------
    list of float and Silence
        RR intervals in ms (multiples of 1000/1024 ms) and silences, in order.

    Raises
    ------
    ValueError
        When the lengths differ or the times do not increase.
    """
    t = [float(x) for x in t_s]
    rr = [float(x) for x in rr_ms]
    if len(t) != len(rr):
        raise ValueError(f"replay_source: {len(t)} beat times but {len(rr)} RR intervals")
    out: list[float | Silence] = []
    prev_tick = 0                         # strap clock at the last beat, 1/1024 s
    shifted = 0
    for k, (tk, rk) in enumerate(zip(t, rr)):
        tick = round(tk * 1024)
        raw = max(1, round(rk * 1024 / 1000))
        if k and tk <= t[k - 1]:
            raise ValueError(f"replay_source: beat {k} at {tk} s is not after the one before")
        start = tick - raw
        if k == 0 and start < -1:         # the first interval began before the recording
            out.append(Silence(start / 1024))
            prev_tick = start
        elif start > prev_tick + 1:       # the interval starts after the last beat: a gap
            out.append(Silence((start - prev_tick) / 1024))
            prev_tick = start
        elif start >= prev_tick - 1:      # contiguous: follow the recorded time
            raw = tick - prev_tick
        else:                             # the interval overlaps the one before: keep the RR
            shifted += 1
        out.append(raw * 1000 / 1024)
        prev_tick += raw
    if shifted:
        log.info("replay_source: %d RR intervals overlap the beat before them; kept as recorded, "
                 "so the beats after them are placed later", shifted)
    return out


async def _aiter(source: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(source, AsyncIterable):
        async for item in source:
            yield item
    else:
        for item in source:
            yield item


def _string_char(uuid: UUID, text: str) -> gatt.Characteristic:
    return gatt.Characteristic(uuid, gatt.Characteristic.Properties.READ,
                               gatt.Characteristic.READABLE, text.encode("utf-8"))


class VirtualStrap:
    """A Polar-H10-like strap on a :class:`VirtualRadio` (see the module docstring).

    Parameters
    ----------
    radio : VirtualRadio
        The radio it advertises on.
    rr_ms : iterable or async iterable of float (or Silence)
        The RR intervals of its heart, ms; the strap stops beating when it ends. A
        :class:`Silence` item makes the strap lose skin contact for that long (see
        :func:`replay_source`).
    ecg_uv : iterable of int, optional
        ECG samples at 130 Hz, microvolts, streamed on a PMD start request; without them the
        strap answers "not supported".
    acc_mg : callable, iterable or async iterable, optional
        The movement source of the accelerometer: ``f(strap_t_s) -> (x, y, z)`` in mg, or
        ``(x, y, z)`` samples in mg, sample ``k`` at strap time ``k / fs`` for the rate ``fs``
        the client asks for (the stream ends with the iterable). Default: still and upright
        (:data:`STILL_UPRIGHT_MG`). The first ACC start request fixes the rate and range for the
        strap's life; a later one asking for others is answered "invalid state".
    pmd : bool
        False leaves out the Polar Measurement Data service (a strap of another make: heart rate
        only, no ECG, no accelerometer).
    name, address : str
        Advertised local name (at most 22 characters) and Bluetooth address (random static).
    speed : float
        How much faster than real time the strap's clock runs (1 = real time).
    notify_interval_s : float
        Strap seconds between notifications (1 s, as a Polar H10).
    battery_pct : int
        Battery level, %.
    manufacturer, model, firmware, serial : str
        Device Information strings.
    body_sensor_location : int
        Body Sensor Location code (1 = chest).
    send_rr : bool
        False makes an HR-only strap (no RR intervals in its notifications).
    advertising_interval_ms : float
        Real ms between advertisements (short, so that connections are quick).
    wait_for_listener : bool
        Start the heart only when a client first enables heart-rate notifications, so that no beat
        is lost while the first connection is made (a replay sends every beat of the recording);
        the strap's clock stands at 0 until then.
    """

    def __init__(self, radio: VirtualRadio, rr_ms: Iterable[float] | AsyncIterable[float], *,
                 ecg_uv: Iterable[int] | None = None,
                 acc_mg: Callable[[float], Sequence[float]] | Iterable[Sequence[float]]
                 | AsyncIterable[Sequence[float]] | None = None,
                 pmd: bool = True, name: str = "Polar H10 0A1B2C3D",
                 address: str = "C0:CA:17:0A:1B:2C", speed: float = 1.0,
                 notify_interval_s: float = 1.0, battery_pct: int = 87,
                 manufacturer: str = "Polar Electro Oy", model: str = "H10",
                 firmware: str = "3.2.0", serial: str = "0A1B2C3D",
                 body_sensor_location: int = 1, send_rr: bool = True,
                 advertising_interval_ms: float = 20.0, wait_for_listener: bool = False) -> None:
        if len(name.encode("utf-8")) > 22:
            raise ValueError(f"name {name!r} is too long to advertise (at most 22 bytes)")
        if speed <= 0 or notify_interval_s <= 0:
            raise ValueError("speed and notify_interval_s must be positive")
        self.radio = radio
        self.name = name
        self.address = address
        self.speed = float(speed)
        self.notify_interval_s = float(notify_interval_s)
        self.send_rr = send_rr
        self.battery_pct = battery_pct
        self.manufacturer, self.model, self.firmware, self.serial = (
            manufacturer, model, firmware, serial)
        self.body_sensor_location = body_sensor_location
        self._rr_source = rr_ms
        self._ecg_source = iter(ecg_uv) if ecg_uv is not None else None
        self._acc_source = acc_mg if acc_mg is not None else (lambda _t: STILL_UPRIGHT_MG)
        self.pmd = bool(pmd)
        #: Rate (Hz) and range (g) of the ACC stream, fixed by the first start request.
        self.acc_fs_hz: int | None = None
        self.acc_range_g: int | None = None
        self._advertising_interval_ms = advertising_interval_ms
        self._wait_for_listener = wait_for_listener
        self._heart_started = not wait_for_listener

        #: Notifications handed to a subscribed link, in order.
        self.sent: list[SentNotification] = []
        #: Beats that happened while no subscribed, working link could hear them:
        #: (strap time, s; RR interval, 1/1024 s).
        self.unsent: list[tuple[float, int]] = []
        #: Every beat of the heart: (strap time, s; RR interval, 1/1024 s).
        self.beats: list[tuple[float, int]] = []
        #: ECG frames handed to a subscribed link (payloads), in order.
        self.ecg_sent: list[bytes] = []
        #: ACC frames handed to a subscribed link (payloads), in order.
        self.acc_sent: list[bytes] = []
        #: ACC frames the strap made while no link listened (payloads), in order.
        self.acc_unsent: list[bytes] = []
        #: How many connections the strap has accepted.
        self.n_connections = 0
        #: Set when the RR source is exhausted and its last beats were notified (or not).
        self.finished = asyncio.Event()

        self.device = radio.new_device(name, address)
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._lock = asyncio.Lock()           # held while notifying, and by drop_link
        self._stalled: set[Connection] = set()
        self._ecg_targets: set[Connection] = set()
        self._acc_targets: set[Connection] = set()
        self._malformed: list[bytes] = []
        self._pmd_malformed: list[bytes] = []
        self._hr_bpm = 0
        self._closed = asyncio.Event()
        self._down_until = 0.0                # loop time before which the strap won't advertise
        self._heart_task: asyncio.Task | None = None
        self._ecg_task: asyncio.Task | None = None
        self._acc_task: asyncio.Task | None = None
        self._aux_tasks: set[asyncio.Task] = set()   # advertising, indications: never cancelled
        self._build_services()
        radio.on_close(self.stop)

    # -- clock -------------------------------------------------------------------------------
    def now_s(self) -> float:
        """Strap time, s since :meth:`start` (runs ``speed`` times faster than real time).

        With ``wait_for_listener``, 0 until the first client listens, then s since that moment.
        """
        if not self._heart_started:
            return 0.0
        return (self._loop.time() - self._t0) * self.speed

    def loop_time(self, strap_t_s: float) -> float:
        """The event-loop time (real s) at strap time ``strap_t_s``."""
        return self._t0 + strap_t_s / self.speed

    async def _sleep_until(self, strap_t_s: float) -> None:
        await asyncio.sleep(max(0.0, self._t0 + strap_t_s / self.speed - self._loop.time()))

    # -- GATT database -------------------------------------------------------------------------
    def _build_services(self) -> None:
        props = gatt.Characteristic.Properties
        self._hrm = gatt.Characteristic(gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC,
                                        props.NOTIFY, gatt.Characteristic.Permissions(0), b"")
        location = gatt.Characteristic(gatt.GATT_BODY_SENSOR_LOCATION_CHARACTERISTIC, props.READ,
                                       gatt.Characteristic.READABLE,
                                       bytes([self.body_sensor_location]))
        battery = gatt.Characteristic(gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC,
                                      props.READ | props.NOTIFY, gatt.Characteristic.READABLE,
                                      gatt.CharacteristicValue(read=lambda _c: bytes(
                                          [self.battery_pct])))
        self._pmd_cp = gatt.Characteristic(
            UUID(PMD_CONTROL_UUID), props.READ | props.WRITE | props.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=lambda _c: bytes([0x0F, 0x05, 0x00]),  # ECG + ACC
                                     write=self._on_pmd_write))
        self._pmd_data = gatt.Characteristic(UUID(PMD_DATA_UUID), props.NOTIFY,
                                             gatt.Characteristic.Permissions(0), b"")
        services = [
            gatt.Service(gatt.GATT_HEART_RATE_SERVICE, [self._hrm, location]),
            gatt.Service(gatt.GATT_BATTERY_SERVICE, [battery]),
            gatt.Service(gatt.GATT_DEVICE_INFORMATION_SERVICE, [
                _string_char(gatt.GATT_MANUFACTURER_NAME_STRING_CHARACTERISTIC, self.manufacturer),
                _string_char(gatt.GATT_MODEL_NUMBER_STRING_CHARACTERISTIC, self.model),
                _string_char(gatt.GATT_SERIAL_NUMBER_STRING_CHARACTERISTIC, self.serial),
                _string_char(gatt.GATT_FIRMWARE_REVISION_STRING_CHARACTERISTIC, self.firmware),
            ]),
        ]
        if self.pmd:
            services.append(gatt.Service(UUID(PMD_SERVICE_UUID), [self._pmd_cp, self._pmd_data]))
        self.device.add_services(services)

    def _advertising_data(self) -> bytes:
        name = self.name.encode("utf-8")
        return (bytes([2, 0x01, 0x06])                                  # LE general, no BR/EDR
                + bytes([len(name) + 1, 0x09]) + name                   # complete local name
                + bytes([3, 0x03]) + (0x180D).to_bytes(2, "little"))    # Heart Rate Service

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Power on, advertise, and start the heart (and, on request, the ECG)."""
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)
        await self.device.power_on()
        self._t0 = self._loop.time()
        await self._advertise()
        self._heart_task = asyncio.create_task(self._heart(), name=f"{self.name} heart")

    async def stop(self) -> None:
        """Stop beating and advertising (``VirtualRadio.close`` does it, and closes links).

        The heart, ECG and ACC tasks are cancelled; HCI procedures under way (advertising,
        indications) are let finish, since Bumble's host does not survive a command cancelled
        half-way.
        """
        if self._closed.is_set():
            return
        self._closed.set()
        tasks = [t for t in (self._heart_task, self._ecg_task, self._acc_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks,
                             *self._aux_tasks, return_exceptions=True)
        if self.device.is_advertising:
            await self.device.stop_advertising()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._aux_tasks.add(task)
        task.add_done_callback(self._aux_tasks.discard)

    async def _advertise(self) -> None:
        if self._closed.is_set() or self.device.is_advertising:
            return
        data = self._advertising_data()
        await self.device.start_advertising(
            advertising_data=data, scan_response_data=data,
            advertising_interval_min=self._advertising_interval_ms,
            advertising_interval_max=self._advertising_interval_ms)

    async def _advertise_after_downtime(self) -> None:
        try:
            await asyncio.wait_for(self._closed.wait(), self._down_until - self._loop.time())
        except TimeoutError:
            pass
        if not self.device.connections:
            await self._advertise()

    def _on_connection(self, connection: Connection) -> None:
        self.n_connections += 1
        connection.on(connection.EVENT_DISCONNECTION,
                      lambda reason: self._on_disconnection(connection, reason))
        log.debug("%s: connected (%d so far)", self.name, self.n_connections)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        self._stalled.discard(connection)
        self._ecg_targets.discard(connection)
        self._acc_targets.discard(connection)
        log.debug("%s: disconnected (reason 0x%02X)", self.name, reason)
        if not self._closed.is_set():
            self._spawn(self._advertise_after_downtime())

    # -- the heart -------------------------------------------------------------------------------
    async def _heart(self) -> None:
        if not self._heart_started:
            while not any(self._listening(c, self._hrm) for c in list(self.device.connections.values())):
                await asyncio.sleep(0.005)
            self._t0 = self._loop.time()
            self._heart_started = True
            log.debug("%s: a client listens, the heart starts", self.name)
        beats = _aiter(self._rr_source)
        last_beat_s = 0.0
        next_rr = await anext(beats, None)
        tick = 0
        silent_until = -1.0
        while next_rr is not None:
            tick += 1
            tick_s = tick * self.notify_interval_s
            await self._sleep_until(tick_s)
            due = []
            # the strap times beats on its 1/1024-s clock, as it reports them
            while next_rr is not None:
                if isinstance(next_rr, Silence):
                    # a negative silence is allowed first only: the first interval began before 0
                    d = float(next_rr.duration_s)
                    last_beat_s += d if d >= 0 or (tick == 1 and not due and not self.beats) else 0.0
                    silent_until = last_beat_s
                elif last_beat_s + self._raw(next_rr) / 1024 <= tick_s:
                    last_beat_s += self._raw(next_rr) / 1024
                    due.append((last_beat_s, self._raw(next_rr)))
                else:
                    break
                next_rr = await anext(beats, None)
            await self._notify_beats(due, contact="no" if not due and tick_s < silent_until else "yes")
        self.finished.set()

    @staticmethod
    def _raw(rr_ms: float) -> int:
        return max(1, min(0xFFFF, round(rr_ms * 1024 / 1000)))

    async def _notify_beats(self, due: list[tuple[float, int]], contact: str = "yes") -> None:
        """Notify the beats ``due`` ((strap time, RR in 1/1024 s), oldest first).

        With ``contact="no"`` (a :class:`Silence`) the notification says heart rate 0, no contact.
        """
        self.beats.extend(due)
        if due:
            self._hr_bpm = min(255, round(60 * 1024 / due[-1][1]))
        if contact == "no":
            async with self._lock:
                targets = [c for c in self.device.connections.values() if c not in self._stalled]
                payload = encode_hrm(0, contact="no")
                if await self._send(targets, self._hrm, payload):
                    self.sent.append(SentNotification(self.now_s(), payload, ()))
            return
        async with self._lock:
            targets = [c for c in self.device.connections.values() if c not in self._stalled]
            for payload in self._malformed:
                if await self._send(targets, self._hrm, payload):
                    self.sent.append(SentNotification(self.now_s(), payload, (), True))
            self._malformed.clear()
            if not self.send_rr:
                payload = encode_hrm(self._hr_bpm, contact="yes")
                if await self._send(targets, self._hrm, payload):
                    self.sent.append(SentNotification(self.now_s(), payload, ()))
                self.unsent.extend(due)
                return
            chunks = [due[i:i + MAX_RR_PER_NOTIFICATION]
                      for i in range(0, len(due), MAX_RR_PER_NOTIFICATION)] or [[]]
            for chunk in chunks:
                rr_raw = tuple(raw for _, raw in chunk)
                payload = encode_hrm(self._hr_bpm, contact="yes", rr_raw=rr_raw)
                if await self._send(targets, self._hrm, payload):
                    self.sent.append(SentNotification(self.now_s(), payload, rr_raw))
                else:
                    self.unsent.extend(chunk)

    def _listening(self, connection: Connection, characteristic: gatt.Characteristic) -> bool:
        """The link is up and its client enabled notifications on ``characteristic``."""
        if self.device.connections.get(connection.handle) is not connection:
            return False
        cccd = self.device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle)
        return bool(cccd) and bool(cccd[0] & 0x01)

    async def _send(self, targets: Iterable[Connection], characteristic: gatt.Characteristic,
                    payload: bytes) -> bool:
        """Notify ``payload`` to the listening targets; True if at least one got it."""
        sent = False
        for connection in list(targets):
            if self._listening(connection, characteristic):
                await self.device.notify_subscriber(connection, characteristic, payload)
                sent = True
        return sent

    # -- faults ------------------------------------------------------------------------------------
    async def drop_link(self, down_s: float = 0.0, *, settle: bool = True) -> None:
        """Lose the link: disconnect (supervision timeout) and stay silent ``down_s`` strap s.

        Parameters
        ----------
        down_s : float
            Strap seconds before the strap advertises again.
        settle : bool
            Let notifications already handed to the stack land first. With False, one in
            flight may be lost, as on a real radio; it still counts in :attr:`sent`.
        """
        async with self._lock:
            if settle:
                await asyncio.sleep(SETTLE_S)
            self._down_until = self._loop.time() + down_s / self.speed
            if self.device.is_advertising:
                await self.device.stop_advertising()
            for connection in list(self.device.connections.values()):
                await connection.disconnect(HCI_CONNECTION_TIMEOUT)
        log.info("%s: link dropped, silent for %.1f strap s", self.name, down_s)

    def stall(self) -> None:
        """Keep the current links up but notify nothing more on them (a new link works)."""
        self._stalled |= set(self.device.connections.values())
        log.info("%s: notifications stalled on %d link(s)", self.name, len(self._stalled))

    def inject_malformed(self, payload: bytes) -> None:
        """Send ``payload`` as an extra 0x2A37 notification before the next regular one."""
        self._malformed.append(bytes(payload))

    def inject_malformed_pmd(self, payload: bytes) -> None:
        """Send ``payload`` as an extra PMD data notification to the ACC listeners before the next
        ACC frame (it is not counted in :attr:`acc_sent`)."""
        self._pmd_malformed.append(bytes(payload))

    # -- Polar Measurement Data --------------------------------------------------------------------
    def _on_pmd_write(self, connection: Connection, value: bytes) -> None:
        value = bytes(value)
        op = value[0] if value else -1
        mtype = value[1] if len(value) > 1 else MEASUREMENT_ECG
        params = b""
        targets = {MEASUREMENT_ECG: self._ecg_targets, MEASUREMENT_ACC: self._acc_targets}.get(mtype)
        if op == OP_START:
            start = self._start_acc if mtype == MEASUREMENT_ACC else self._start_ecg
            status = start(connection, value)
        elif op == OP_STOP:
            status = 2 if targets is None else (0 if connection in targets else 6)
            if targets is not None:
                targets.discard(connection)
        elif op == OP_GET_SETTINGS:
            if mtype == MEASUREMENT_ACC:
                status, params = 0, ACC_SETTINGS
            else:
                status = 0 if mtype == MEASUREMENT_ECG and self._ecg_source is not None else 3
                params = bytes([0x00, 0x01, 0x82, 0x00, 0x01, 0x01, 0x0E, 0x00])
        else:
            status = 1
        response = encode_cp_response(op & 0xFF, mtype, status, params if status == 0 else b"")
        # the answer is indicated after the write response, as the H10 does
        self._spawn(self._indicate(connection, response))

    def _start_ecg(self, connection: Connection, value: bytes) -> int:
        try:
            mtype, settings = parse_start_request(value)
        except FormatError:
            return 4                                                  # invalid length
        if mtype != MEASUREMENT_ECG or self._ecg_source is None:
            return 3                                                  # not supported
        if settings.get(0x00, [ECG_FS_HZ]) != [ECG_FS_HZ] or settings.get(0x01, [14]) != [14]:
            return 5                                                  # invalid parameter
        if connection in self._ecg_targets:
            return 6                                                  # already in state
        if connection.att_mtu - 3 < 10 + 3 * ECG_SAMPLES_PER_FRAME:
            return 10                                                 # invalid MTU
        self._ecg_targets.add(connection)
        if self._ecg_task is None:
            self._ecg_task = asyncio.create_task(self._ecg(), name=f"{self.name} ECG")
        return 0

    def _start_acc(self, connection: Connection, value: bytes) -> int:
        try:
            _mtype, settings = parse_start_request(value)
        except FormatError:
            return 4                                                  # invalid length
        rate, resolution, range_g = settings.get(0x00), settings.get(0x01, [16]), settings.get(0x02, [8])
        if rate is None or len(rate) != 1 or rate[0] not in ACC_RATES_HZ:
            return 8                                                  # invalid sample rate
        if resolution != [16]:
            return 7                                                  # invalid resolution
        if len(range_g) != 1 or range_g[0] not in ACC_RANGES_G:
            return 9                                                  # invalid range
        if self._acc_task is not None and (rate[0], range_g[0]) != (self.acc_fs_hz, self.acc_range_g):
            return 12                                                 # invalid state
        if connection in self._acc_targets:
            return 6                                                  # already in state
        if connection.att_mtu - 3 < 10 + 6 * acc_samples_per_frame(rate[0]):
            return 10                                                 # invalid MTU
        self._acc_targets.add(connection)
        if self._acc_task is None:
            self.acc_fs_hz, self.acc_range_g = rate[0], range_g[0]
            self._acc_task = asyncio.create_task(self._acc(), name=f"{self.name} ACC")
        return 0

    async def _indicate(self, connection: Connection, response: bytes) -> None:
        if self.device.connections.get(connection.handle) is connection:
            await self.device.indicate_subscriber(connection, self._pmd_cp, response)

    async def _ecg(self) -> None:
        """Sample the ECG source at 130 Hz (strap time) and notify frames to the listeners.

        The source is the heart's ECG from strap time 0 (sample k at k / 130 s), the same clock as
        its beats: the samples before streaming was requested are skipped, never sent late.
        """
        assert self._ecg_source is not None
        clock_ns = int((ECG_CLOCK_START - POLAR_EPOCH).total_seconds()) * 1_000_000_000
        k = int(math.ceil(self.now_s() * ECG_FS_HZ))                   # sample index now
        for _ in zip(range(k), self._ecg_source):
            pass
        while True:
            await self._sleep_until((k + ECG_SAMPLES_PER_FRAME) / ECG_FS_HZ)
            samples = [v for _, v in zip(range(ECG_SAMPLES_PER_FRAME), self._ecg_source)]
            if not samples:
                return
            k += len(samples)
            last_ns = clock_ns + round(((k - 1) / ECG_FS_HZ) * 1e9)
            frame = encode_ecg_frame(last_ns, samples)
            if await self._send(self._ecg_targets, self._pmd_data, frame):
                self.ecg_sent.append(frame)

    async def _acc(self) -> None:
        """Sample the movement source at the requested rate (strap time) and notify ACC frames.

        Sample ``k`` is the movement at strap time ``k / fs`` (the heart's clock). Streaming
        starts with the first sample due after the request: the samples before it are skipped,
        never sent late. A frame leaves the moment its last sample is taken, stamped with that
        sample's time on the ECG's sensor clock.
        """
        fs = int(self.acc_fs_hz or 25)
        limit = 1000 * int(self.acc_range_g or 8)
        per_frame = acc_samples_per_frame(fs)
        clock_ns = int((ECG_CLOCK_START - POLAR_EPOCH).total_seconds()) * 1_000_000_000
        k = int(math.ceil(self.now_s() * fs))                        # sample index now
        source = self._acc_source
        if callable(source):
            async def samples():
                i = k
                while True:
                    yield source(i / fs)
                    i += 1
            stream = samples()
        else:
            stream = _aiter(source)
            for _ in range(k):                                        # the movement before now
                if await anext(stream, None) is None:
                    return

        def mg(v: float) -> int:
            return max(-limit, min(limit, int(round(float(v)))))

        while True:
            await self._sleep_until((k + per_frame - 1) / fs)
            frame_samples = []
            for _ in range(per_frame):
                xyz = await anext(stream, None)
                if xyz is None:
                    break
                x, y, z = xyz
                frame_samples.append((mg(x), mg(y), mg(z)))
            if not frame_samples:
                return
            k += len(frame_samples)
            last_ns = clock_ns + round(((k - 1) / fs) * 1e9)
            frame = encode_acc_frame(last_ns, frame_samples)
            while self._pmd_malformed:
                await self._send(self._acc_targets, self._pmd_data, self._pmd_malformed.pop(0))
            if await self._send(self._acc_targets, self._pmd_data, frame):
                self.acc_sent.append(frame)
            else:
                self.acc_unsent.append(frame)
