"""The bleak adapter: find heart-rate straps, connect, stream, and stay connected.

:func:`scan` lists straps advertising the Heart Rate Service. :class:`Strap` connects to one
(by address or by advertised name), reads its metadata (battery, body sensor location, Device
Information strings), subscribes to Heart Rate Measurement (0x2A37) and, on request, Polar ECG
and acceleration (one warning, and heart rate alone, on a strap without them), and from then on
**keeps the link up by itself**: when the link drops, or when no notification
has come for ``stall_timeout_s`` (a link that is up but silent, seen on BlueZ), it reconnects
with exponential backoff. Straps dropping every few minutes on BlueZ is the common case, so this
path is the main one, not an afterthought.

Everything the strap says comes out, in order, as events from :meth:`Strap.events` (or the
``on_event`` callback): :class:`Notification` (arrival time on the caller's clock, source
``"hrs"`` or ``"pmd"`` (ECG and ACC frames alike; byte 0 tells them apart), the raw payload) and
:class:`StateChange` (``connecting``,
``connected``, ``disconnected``, ``stalled``, ``reconnecting``, ``failed``, ``closed``). The
adapter does not parse payloads: a capture stores them raw and feeds them to
:class:`~calmtrace.devices.timeline.Timeline`, telling it about ``disconnected`` and ``stalled``
with :meth:`~calmtrace.devices.timeline.Timeline.mark`.

bleak's errors (``BleakError``, ``BleakDeviceNotFoundError``, ``TimeoutError``) are translated
into :class:`~calmtrace.errors.DeviceError` naming the strap. ``backend=`` selects the bleak
backend: None for the platform's (BlueZ, CoreBluetooth, WinRT), or a
:class:`~calmtrace.devices.virtual.VirtualRadio` (anything with ``scanner_backend`` and
``client_backend``), or a ``(scanner class, client class)`` pair.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Callable

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from ..errors import DeviceError
from . import polar

__all__ = [
    "HRS_SERVICE_UUID",
    "HRM_UUID",
    "FoundStrap",
    "Notification",
    "StateChange",
    "StrapConfig",
    "Strap",
    "scan",
    "STATES",
    "no_adapter",
]

log = logging.getLogger(__name__)

HRS_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HRM_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Device Information strings read into the metadata (metadata key -> characteristic).
DEVICE_INFO_UUIDS = {
    "device_manufacturer": "00002a29-0000-1000-8000-00805f9b34fb",
    "device_model": "00002a24-0000-1000-8000-00805f9b34fb",
    "device_serial": "00002a25-0000-1000-8000-00805f9b34fb",
    "device_hardware": "00002a27-0000-1000-8000-00805f9b34fb",
    "device_firmware": "00002a26-0000-1000-8000-00805f9b34fb",
    "device_software": "00002a28-0000-1000-8000-00805f9b34fb",
}
_BODY_SENSOR_LOCATIONS = {0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand",
                          5: "ear lobe", 6: "foot"}
#: Connection states reported by :class:`StateChange`.
STATES = ("connecting", "connected", "disconnected", "stalled", "reconnecting", "failed", "closed")

#: Seconds :meth:`Strap.close` lets a connection attempt under way finish before cancelling it.
CLOSE_GRACE_S = 1.0

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}"
                      r"-[0-9A-Fa-f]{12}$")
#: Errors a bleak backend raises for radio trouble (EOFError / OSError: the D-Bus link to BlueZ).
_BLEAK_ERRORS = (BleakError, TimeoutError, OSError, EOFError)


@dataclass(frozen=True)
class FoundStrap:
    """A strap seen while scanning: advertised ``name`` (or None), ``address``, ``rssi`` (dBm)."""

    name: str | None
    address: str
    rssi: int


@dataclass(frozen=True)
class Notification:
    """A notification as received: ``t_s`` (caller's clock, s), ``source`` and ``payload``.

    ``source`` is ``"hrs"`` for Heart Rate Measurement (0x2A37), ``"pmd"`` for Polar PMD data.
    """

    t_s: float
    source: str
    payload: bytes


@dataclass(frozen=True)
class StateChange:
    """The link changed: ``t_s`` (caller's clock, s), ``state`` (one of :data:`STATES`),
    ``detail`` in words, ``attempt`` (reconnection attempt number, 0 otherwise)."""

    t_s: float
    state: str
    detail: str = ""
    attempt: int = 0


@dataclass(frozen=True)
class StrapConfig:
    """How :class:`Strap` connects and reconnects. All times are real seconds.

    Attributes
    ----------
    connect_timeout_s : float
        Time for one connection attempt (10 s; bleak's BlueZ backend waits 30 s by default,
        which makes a missing strap slow to report).
    scan_timeout_s : float
        Time to find a strap by name (10 s; straps advertise every 0.1-1 s).
    stall_timeout_s : float
        No notification for this long on a link that is up counts as a stall and forces a
        reconnection (5 s: five missed notifications of a strap that notifies every second).
    backoff_initial_s, backoff_factor, backoff_max_s : float
        Reconnection delays: the first attempt is immediate, then ``initial * factor**k`` capped
        at ``max`` (1 s, x2, 30 s: retries quickly after a glitch, then every 30 s while the
        strap is away, e.g. taken off).
    max_attempts : int or None
        Give up after this many failed attempts in a row (None: never; the capture decides).
    """

    connect_timeout_s: float = 10.0
    scan_timeout_s: float = 10.0
    stall_timeout_s: float = 5.0
    backoff_initial_s: float = 1.0
    backoff_factor: float = 2.0
    backoff_max_s: float = 30.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "scan_timeout_s", "stall_timeout_s",
                     "backoff_initial_s", "backoff_max_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"StrapConfig.{name} must be > 0, got {getattr(self, name)!r}")
        if not self.backoff_factor >= 1:
            raise ValueError(f"StrapConfig.backoff_factor must be >= 1, got {self.backoff_factor!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"StrapConfig.max_attempts must be >= 1 or None, "
                             f"got {self.max_attempts!r}")

    def backoff_s(self, attempt: int) -> float:
        """Delay before reconnection attempt ``attempt`` (1-based), s."""
        if attempt <= 1:
            return 0.0
        return min(self.backoff_max_s,
                   self.backoff_initial_s * self.backoff_factor ** (attempt - 2))


class _EventStream:
    """Async iterator over a strap's event queue; ``None`` in the queue ends it."""

    def __init__(self, queue: asyncio.Queue, ended: bool) -> None:
        self._queue = queue
        self._ended = ended

    def __aiter__(self) -> "_EventStream":
        return self

    async def __anext__(self) -> Notification | StateChange:
        if self._ended:
            raise StopAsyncIteration
        event = await self._queue.get()      # cancellation-safe: nothing is taken if cancelled
        if event is None:
            self._ended = True
            self._queue.put_nowait(None)     # other iterators end too
            raise StopAsyncIteration
        return event


def no_adapter(exc: BaseException) -> bool:
    """True when a failed scan or connection means there is no Bluetooth adapter to use: BlueZ's
    D-Bus socket missing (``FileNotFoundError``), BlueZ not running, or bleak finding no adapter
    (the exception or any of its causes)."""
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 10:
        if isinstance(e, FileNotFoundError):
            return True
        text = str(e).lower()
        if "no bluetooth adapter" in text or "org.freedesktop.dbus.error.serviceunknown" in text:
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def _backends(backend: Any) -> tuple[Any, Any]:
    if backend is None:
        return None, None
    if isinstance(backend, tuple):
        return backend
    return backend.scanner_backend, backend.client_backend


async def scan(timeout_s: float = 5.0, *, backend: Any = None) -> list[FoundStrap]:
    """List the straps advertising the Heart Rate Service, strongest signal first.

    Parameters
    ----------
    timeout_s : float
        How long to listen, s.
    backend : optional
        See the module docstring.

    Raises
    ------
    DeviceError
        When the Bluetooth adapter cannot scan ("no Bluetooth adapter found (BlueZ/D-Bus not
        available): ..." when there is none to use).
    """
    scanner_backend, _ = _backends(backend)
    try:
        found = await BleakScanner.discover(timeout_s, return_adv=True,
                                            service_uuids=[HRS_SERVICE_UUID],
                                            backend=scanner_backend)
    except _BLEAK_ERRORS as exc:
        if no_adapter(exc):
            raise DeviceError(f"no Bluetooth adapter found (BlueZ/D-Bus not available: "
                              f"{exc or type(exc).__name__}); is Bluetooth on and BlueZ running? "
                              "`calmtrace scan --simulate tsst` shows a virtual strap") from exc
        raise DeviceError(f"Bluetooth scan failed: {exc or type(exc).__name__}") from exc
    straps = [FoundStrap(adv.local_name or device.name, device.address, adv.rssi)
              for device, adv in found.values() if HRS_SERVICE_UUID in adv.service_uuids]
    return sorted(straps, key=lambda s: -s.rssi)


class Strap:
    """A heart-rate strap kept connected (see the module docstring).

    Parameters
    ----------
    target : str
        Bluetooth address (``AA:BB:CC:DD:EE:FF``, or a macOS UUID) or advertised name.
    backend : optional
        See the module docstring.
    config : StrapConfig, optional
        Timeouts and backoff.
    clock : callable
        Returns the current time in s; stamps notification arrivals (``time.monotonic``).
    ecg : bool
        Also stream Polar ECG (PMD) where the strap has it.
    acc : bool
        Also stream Polar acceleration (PMD) where the strap has it, at ``acc_fs_hz`` (one of
        :data:`~calmtrace.devices.polar.ACC_RATES_HZ`) and ``acc_range_g`` (one of
        :data:`~calmtrace.devices.polar.ACC_RANGES_G`). A strap without it (no PMD service, or a
        refusal) streams heart rate alone, with one warning.
    on_event : callable, optional
        Called with every event; when given, :meth:`events` yields nothing.

    Examples
    --------
    >>> async def record():                                     # doctest: +SKIP
    ...     async with Strap("Polar H10 0A1B2C3D") as strap:
    ...         print(strap.metadata["battery_pct"])
    ...         async for event in strap.events():
    ...             ...
    """

    def __init__(self, target: str, *, backend: Any = None, config: StrapConfig | None = None,
                 clock: Callable[[], float] = time.monotonic, ecg: bool = False,
                 on_event: Callable[[Notification | StateChange], None] | None = None,
                 acc: bool = False, acc_fs_hz: int = 25, acc_range_g: int = 8) -> None:
        self.target = target
        self.config = config or StrapConfig()
        self._scanner_backend, self._client_backend = _backends(backend)
        self._clock = clock
        self._want_ecg = ecg
        self._want_acc = acc
        # the request is checked now: a bad rate or range is the caller's error, not the strap's
        self._acc_command = polar.start_acc_command(acc_fs_hz, acc_range_g) if acc else b""
        self.acc_fs_hz, self.acc_range_g = int(acc_fs_hz), int(acc_range_g)
        self._warned: set[str] = set()          # warnings given once per strap, not per reconnection
        self._on_event = on_event
        self._queue: asyncio.Queue[Notification | StateChange | None] = asyncio.Queue()
        self._client: BleakClient | None = None
        self._address: str | None = target if _ADDRESS.match(target) else None
        self._name: str | None = None if self._address else target
        self._lost = asyncio.Event()
        self._closing = asyncio.Event()
        self._last_rx = 0.0                  # loop time of the last HRS notification
        self._supervisor: asyncio.Task | None = None
        self._ended = False
        #: Latest metadata read from the strap (see :meth:`connect`).
        self.metadata: dict[str, Any] = {}
        #: Current state, one of :data:`STATES` (``"closed"`` before :meth:`connect`).
        self.state = "closed"
        #: Reconnections that succeeded.
        self.n_reconnects = 0

    # -- public API ------------------------------------------------------------------------------
    async def __aenter__(self) -> "Strap":
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def connect(self) -> dict[str, Any]:
        """Connect (one attempt), subscribe, and start keeping the link up.

        Returns
        -------
        dict
            The metadata: ``device_name``, ``device_address``, ``device_manufacturer``,
            ``device_model``, ``device_serial``, ``device_hardware``, ``device_firmware``,
            ``device_software`` (those the strap has), ``battery_pct`` (%),
            ``body_sensor_location`` (e.g. ``"chest"``), ``ecg`` (ECG streaming started) and, when
            acceleration was asked for, ``acc`` (started), ``acc_fs_hz`` and ``acc_range_g``.

        Raises
        ------
        DeviceError
            When the strap cannot be found or reached, naming it.
        """
        if self._supervisor is not None:
            raise DeviceError(f"strap {self.target}: already connected")
        await self._connect_once(attempt=0)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"strap {self.target}")
        return self.metadata

    def events(self) -> AsyncIterator[Notification | StateChange]:
        """Iterate over the events in order until the strap is closed (or gives up).

        Waiting for the next event may be cancelled (e.g. with a timeout) without losing
        anything: the iterator goes on where it was. With an ``on_event`` callback the events go
        there instead, and this iterator ends at once.
        """
        return _EventStream(self._queue, ended=self._on_event is not None)

    async def close(self) -> None:
        """Stop streaming, disconnect, and end :meth:`events` (with a ``closed`` state).

        A reconnection attempt under way is given :data:`CLOSE_GRACE_S` to finish, then
        cancelled.
        """
        self._closing.set()
        if self._supervisor is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._supervisor), CLOSE_GRACE_S)
            except TimeoutError:
                self._supervisor.cancel()
                await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        await self._teardown(stop_ecg=True)
        self._end("closed", "closed by the caller")

    # -- events ----------------------------------------------------------------------------------
    def _emit(self, event: Notification | StateChange) -> None:
        if self._on_event is not None:
            self._on_event(event)
        else:
            self._queue.put_nowait(event)

    def _set_state(self, state: str, detail: str = "", attempt: int = 0) -> None:
        self.state = state
        log.log(logging.INFO if state != "failed" else logging.ERROR,
                "strap %s: %s%s", self.target, state, f" ({detail})" if detail else "")
        self._emit(StateChange(self._clock(), state, detail, attempt))

    def _end(self, state: str, detail: str) -> None:
        if not self._ended:
            self._ended = True
            self._set_state(state, detail)
            if self._on_event is None:
                self._queue.put_nowait(None)

    # -- connecting --------------------------------------------------------------------------------
    def _what(self) -> str:
        if self._name and self._address:
            return f"{self._name} ({self._address})"
        return self.target

    async def _resolve(self) -> str:
        """The strap's address, scanning for its name the first time."""
        if self._address is not None:
            return self._address
        name = self._name or ""
        device = await BleakScanner.find_device_by_filter(
            lambda d, ad: (ad.local_name or d.name or "").strip().lower() == name.strip().lower(),
            timeout=self.config.scan_timeout_s, backend=self._scanner_backend)
        if device is None:
            raise DeviceError(f"strap {name!r}: not found (no strap advertising that name within "
                              f"{self.config.scan_timeout_s:g} s; is it worn and awake?)")
        self._address = device.address
        return device.address

    async def _connect_once(self, attempt: int) -> None:
        self._set_state("connecting", self._what(), attempt)
        client: BleakClient | None = None
        try:
            address = await self._resolve()
            client = BleakClient(address, disconnected_callback=self._on_disconnected,
                                 timeout=self.config.connect_timeout_s,
                                 backend=self._client_backend)
            await client.connect()
            self._client = client
            self._lost.clear()
            await self._read_metadata(client)
            self._last_rx = asyncio.get_running_loop().time()
            await client.start_notify(HRM_UUID, self._on_hrm)
            if self._want_ecg or self._want_acc:
                await self._start_pmd(client)
        except _BLEAK_ERRORS as exc:
            self._client = None
            if client is not None:
                await self._disconnect(client)
            raise DeviceError(f"strap {self._what()}: could not connect: "
                              f"{exc or type(exc).__name__}") from exc
        except DeviceError:
            self._client = None
            if client is not None:
                await self._disconnect(client)
            raise
        self._set_state("connected", f"{self._what()}, battery {self.metadata.get('battery_pct')}%",
                        attempt)

    async def _read_metadata(self, client: BleakClient) -> None:
        meta: dict[str, Any] = {"device_name": client.name or self._name,
                                "device_address": client.address}
        chars = {c.uuid: c for c in client.services.characteristics.values()}

        async def read(uuid: str) -> bytes | None:
            if uuid not in chars:
                return None
            try:
                return bytes(await client.read_gatt_char(chars[uuid]))
            except BleakError as exc:          # a missing or unreadable field is not fatal
                log.warning("strap %s: could not read %s: %s", self._what(), uuid, exc)
                return None

        for key, uuid in DEVICE_INFO_UUIDS.items():
            value = await read(uuid)
            if value is not None:
                meta[key] = value.decode("utf-8", "replace").rstrip("\x00").strip()
        value = await read(BATTERY_LEVEL_UUID)
        if value:
            meta["battery_pct"] = value[0]
        value = await read(BODY_SENSOR_LOCATION_UUID)
        if value:
            meta["body_sensor_location"] = _BODY_SENSOR_LOCATIONS.get(value[0], f"code {value[0]}")
        meta["ecg"] = False
        if self._want_acc:
            meta.update(acc=False, acc_fs_hz=self.acc_fs_hz, acc_range_g=self.acc_range_g)
        if HRM_UUID not in chars:
            raise DeviceError(f"strap {self._what()}: has no Heart Rate Measurement "
                              "characteristic (0x2A37); is it a heart-rate strap?")
        self.metadata = meta

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        """A warning about what the strap cannot do, given once (not at every reconnection)."""
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    async def _start_pmd(self, client: BleakClient) -> None:
        """Start the PMD streams asked for (ECG, ACC); heart rate goes on without those refused."""
        wanted = [name for name, want in (("ECG", self._want_ecg), ("accelerometer", self._want_acc)) if want]
        if polar.PMD_CONTROL_UUID not in {c.uuid for c in client.services.characteristics.values()}:
            self._warn_once("no pmd", "strap %s: no Polar PMD service, so no %s; streaming heart rate only",
                            self._what(), " and no ".join(wanted))
            return
        requests = []
        if self._want_ecg:
            requests.append((polar.MEASUREMENT_ECG, polar.START_ECG_COMMAND))
        if self._want_acc:
            requests.append((polar.MEASUREMENT_ACC, self._acc_command))
        try:
            answers = await polar.start_pmd(client, self._on_pmd, requests)
        except DeviceError as exc:            # heart rate goes on without ECG and ACC
            self._warn_once(f"pmd {exc}", "%s; streaming heart rate only", exc)
            return
        started = [reply.ok for reply in answers.values()]
        for mtype, key, what in ((polar.MEASUREMENT_ECG, "ecg", "ECG"), (polar.MEASUREMENT_ACC, "acc", "ACC")):
            reply = answers.get(mtype)
            if reply is None:
                continue
            if reply.ok:
                self.metadata[key] = True
            else:
                self._warn_once(f"{key} {reply.status}", "%s: the strap refused to start %s: %s%s", client.address,
                                what, reply.status_name, "" if any(started) else "; streaming heart rate only")

    # -- callbacks ---------------------------------------------------------------------------------
    def _on_hrm(self, _char: Any, data: bytearray) -> None:
        self._last_rx = asyncio.get_running_loop().time()
        self._emit(Notification(self._clock(), "hrs", bytes(data)))

    def _on_pmd(self, data: bytes) -> None:
        self._emit(Notification(self._clock(), "pmd", data))

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is self._client:
            self._lost.set()

    # -- keeping the link up -------------------------------------------------------------------
    async def _watch(self) -> str | None:
        """Wait until the link is lost (``"disconnect"``), silent (``"stall"``) or we close."""
        loop = asyncio.get_running_loop()
        lost = asyncio.create_task(self._lost.wait())
        closing = asyncio.create_task(self._closing.wait())
        try:
            while True:
                remaining = self._last_rx + self.config.stall_timeout_s - loop.time()
                if remaining <= 0:
                    return "stall"
                await asyncio.wait({lost, closing}, timeout=remaining,
                                   return_when=asyncio.FIRST_COMPLETED)
                if self._closing.is_set():
                    return None
                if self._lost.is_set():
                    return "disconnect"
        finally:
            lost.cancel()
            closing.cancel()

    async def _supervise(self) -> None:
        try:
            while not self._closing.is_set():
                why = await self._watch()
                if why is None:
                    return
                if why == "stall":
                    self._set_state("stalled", f"no notification for "
                                               f"{self.config.stall_timeout_s:g} s")
                else:
                    self._set_state("disconnected", "the link was lost")
                await self._teardown(stop_ecg=False)
                if not await self._reconnect():
                    return
        except Exception as exc:      # the supervisor must never die silently
            log.exception("strap %s: supervisor failed", self._what())
            await self._teardown(stop_ecg=False)
            self._end("failed", f"internal error: {exc!r}")

    async def _reconnect(self) -> bool:
        attempt = 0
        while not self._closing.is_set():
            attempt += 1
            delay = self.config.backoff_s(attempt)
            self._set_state("reconnecting", f"attempt {attempt} in {delay:g} s", attempt)
            try:
                await asyncio.wait_for(self._closing.wait(), delay)
                return False                          # closed while waiting
            except TimeoutError:
                pass
            try:
                await self._connect_once(attempt)
            except DeviceError as exc:
                log.warning("%s", exc)
                if self.config.max_attempts is not None and attempt >= self.config.max_attempts:
                    self._end("failed", f"gave up after {attempt} attempts: {exc}")
                    return False
                continue
            self.n_reconnects += 1
            return True
        return False

    async def _teardown(self, stop_ecg: bool) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        for key, stop in (("ecg", polar.stop_ecg), ("acc", polar.stop_acc)):
            if stop_ecg and self.metadata.get(key) and client.is_connected:
                try:
                    await asyncio.wait_for(stop(client), self.config.connect_timeout_s)
                except _BLEAK_ERRORS as exc:
                    log.debug("strap %s: stopping %s: %r", self._what(), key.upper(), exc)
        await self._disconnect(client)

    async def _disconnect(self, client: BleakClient) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), self.config.connect_timeout_s)
        except _BLEAK_ERRORS as exc:
            log.debug("strap %s: disconnecting: %r", self._what(), exc)
