"""A bleak backend over the virtual radio: ordinary ``BleakScanner`` / ``BleakClient`` calls,
carried by real HCI, L2CAP and ATT to the devices on a :class:`VirtualRadio`.

bleak instantiates the class given as ``backend=`` with the arguments of ``BleakScanner`` /
``BleakClient``; :func:`bind_backends` makes subclasses that know their radio, so no global
state is involved. Bumble's errors are translated at this boundary into what bleak's own
backends raise: ``BleakDeviceNotFoundError`` (the address is not advertising within the
timeout), ``BleakGATTProtocolError`` (an ATT error response), ``TimeoutError`` and
``BleakError`` (disconnected, or any other failure).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, gatt, hci
from bumble.device import Connection, Peer

if TYPE_CHECKING:
    from ._bumble_radio import VirtualRadio

__all__ = ["bind_backends", "VirtualBleakScanner", "VirtualBleakClient"]

log = logging.getLogger(__name__)

#: The MTU the client asks for after connecting, as BlueZ does (bytes; BlueZ asks for 517,
#: Polar's ECG frames need at least 232).
REQUESTED_MTU = 247

_PROPERTY_NAMES = [
    (gatt.Characteristic.Properties.BROADCAST, "broadcast"),
    (gatt.Characteristic.Properties.READ, "read"),
    (gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (gatt.Characteristic.Properties.WRITE, "write"),
    (gatt.Characteristic.Properties.NOTIFY, "notify"),
    (gatt.Characteristic.Properties.INDICATE, "indicate"),
    (gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (gatt.Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
]


def ad_fields(data: bytes) -> list[tuple[int, bytes]]:
    """Split advertising data into ``(AD type, value)`` pairs (Core 5.3, Vol 3 Part C 11)."""
    out = []
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0 or pos + 1 + length > len(data):
            break
        out.append((data[pos + 1], bytes(data[pos + 2:pos + 1 + length])))
        pos += 1 + length
    return out


def _uuid(u: core.UUID) -> str:
    return normalize_uuid_str(u.to_hex_str("-"))


def _advertisement(adv: Any) -> tuple[str | None, AdvertisementData]:
    """Bleak's AdvertisementData from a Bumble advertisement (parsed from the raw AD bytes)."""
    name = None
    uuids: list[str] = []
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    tx_power = None
    for ad_type, value in ad_fields(adv.data_bytes):
        if ad_type in (0x08, 0x09):                          # shortened / complete local name
            if name is None or ad_type == 0x09:
                name = value.decode("utf-8", "replace")
        elif ad_type in (0x02, 0x03):                        # 16-bit service UUIDs
            uuids += [normalize_uuid_str(f"{int.from_bytes(value[i:i + 2], 'little'):04x}")
                      for i in range(0, len(value) - 1, 2)]
        elif ad_type in (0x06, 0x07):                        # 128-bit service UUIDs
            uuids += [_uuid(core.UUID.from_bytes(value[i:i + 16]))
                      for i in range(0, len(value) - 15, 16)]
        elif ad_type == 0xFF and len(value) >= 2:            # manufacturer specific data
            manufacturer[int.from_bytes(value[:2], "little")] = value[2:]
        elif ad_type == 0x16 and len(value) >= 2:            # 16-bit service data
            key = normalize_uuid_str(f"{int.from_bytes(value[:2], 'little'):04x}")
            service_data[key] = value[2:]
        elif ad_type == 0x0A and value:                      # TX power level
            tx_power = int.from_bytes(value[:1], "little", signed=True)
    data = AdvertisementData(local_name=name, manufacturer_data=manufacturer,
                             service_data=service_data, service_uuids=uuids, tx_power=tx_power,
                             rssi=adv.rssi, platform_data=(adv,))
    return name, data


class VirtualBleakScanner(BaseBleakScanner):
    """``BleakScanner`` backend: scans with the radio's adapter."""

    radio: "VirtualRadio"

    def __init__(self, detection_callback: Any = None, service_uuids: list[str] | None = None,
                 scanning_mode: str = "active", **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._scanning = False

    def _on_advertisement(self, adv: Any) -> None:
        name, data = _advertisement(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = adv.address.to_string(False)
        device = self.create_or_update_device(address, address, name, adv.address, data)
        self.call_detection_callbacks(device, data)

    async def start(self) -> None:
        self.seen_devices = {}
        adapter = await self.radio.adapter()
        adapter.on(adapter.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self.radio.start_scanning()
        self._scanning = True

    async def stop(self) -> None:
        if not self._scanning:
            return
        adapter = await self.radio.adapter()
        adapter.remove_listener(adapter.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self.radio.stop_scanning()
        self._scanning = False


class VirtualBleakClient(BaseBleakClient):
    """``BleakClient`` backend: connects with the radio's adapter and speaks GATT over ATT."""

    radio: "VirtualRadio"

    def __init__(self, address_or_ble_device: BLEDevice | str, *,
                 disconnected_callback: Callable[[], None] | None = None, timeout: float = 10.0,
                 **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback,
                         timeout=timeout)
        self._connection: Connection | None = None
        self._disconnecting = False
        self._device_name: str | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # -- connection ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._device_name or self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        adapter = await self.radio.adapter()
        try:
            address = hci.Address(self.address)
        except (core.InvalidArgumentError, ValueError) as exc:
            raise BleakError(f"{self.address!r} is not a Bluetooth address") from exc
        async with self.radio.connect_lock:
            try:
                connection = await adapter.connect(address, transport=core.PhysicalTransport.LE,
                                                   timeout=self._timeout)
            except core.TimeoutError:
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found "
                                  f"(not advertising within {self._timeout} s)") from None
            except core.BaseBumbleError as exc:
                raise BleakError(f"{self.address}: connection failed: {exc!r}") from exc
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._connection = connection
        try:
            peer = Peer(connection)
            await self._call(lambda: peer.request_mtu(REQUESTED_MTU), "MTU exchange")
            self.services = await self._discover(peer)
            await self._read_device_name(peer)
        except BaseException:
            await self.disconnect()
            raise
        log.debug("connected to %s (MTU %d)", self.address, connection.att_mtu)

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        services = BleakGATTServiceCollection()
        await self._call(peer.discover_services, "service discovery")
        for svc in peer.services:
            bleak_svc = BleakGATTService(svc, svc.handle, _uuid(svc.uuid))
            services.add_service(bleak_svc)
            await self._call(lambda: svc.discover_characteristics(), "characteristic discovery")
            for char in svc.characteristics:
                props = [name for flag, name in _PROPERTY_NAMES if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, _uuid(char.uuid), props,
                    lambda: self.mtu_size - 3, bleak_svc)
                services.add_characteristic(bleak_char)
                await self._call(lambda: char.discover_descriptors(), "descriptor discovery")
                for desc in char.descriptors:
                    services.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, _uuid(desc.type), bleak_char))
        return services

    async def _read_device_name(self, peer: Peer) -> None:
        chars = peer.get_characteristics_by_uuid(gatt.GATT_DEVICE_NAME_CHARACTERISTIC)
        if chars:
            value = await self._call(lambda: peer.read_value(chars[0]), "device name read")
            self._device_name = bytes(value).decode("utf-8", "replace")

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._subscribers.clear()
        log.debug("%s disconnected (reason 0x%02X)", self.address, reason)
        if not self._disconnecting and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            await asyncio.wait_for(connection.disconnect(), max(self._timeout, 1.0))
        except (core.BaseBumbleError, TimeoutError) as exc:
            log.debug("disconnecting %s: %r", self.address, exc)
        finally:
            self._disconnecting = False
            self._connection = None
            self._subscribers.clear()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        log.info("virtual straps need no pairing; pair() does nothing")

    async def unpair(self) -> None:
        log.info("virtual straps need no pairing; unpair() does nothing")

    # -- GATT ----------------------------------------------------------------------------------
    async def _call(self, make: Callable[[], Any], what: str) -> Any:
        """Run one GATT procedure, translating Bumble's errors into bleak's."""
        if self._connection is None:
            raise BleakError(f"{self.address}: not connected ({what})")
        try:
            return await make()
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except core.TimeoutError as exc:
            raise TimeoutError(f"{self.address}: {what} timed out") from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # Bumble cancels the pending ATT request when the link drops
            raise BleakError(f"{self.address}: disconnected during {what}") from None
        except core.BaseBumbleError as exc:
            raise BleakError(f"{self.address}: {what} failed: {exc!r}") from exc

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *,
                             use_cached: bool = False, **kwargs: Any) -> bytearray:
        client = self._gatt_client()
        value = await self._call(lambda: client.read_value(characteristic.obj),
                                 f"read of {characteristic.uuid}")
        return bytearray(value)

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *,
                                   use_cached: bool = False, **kwargs: Any) -> bytearray:
        client = self._gatt_client()
        value = await self._call(lambda: client.read_value(descriptor.obj),
                                 f"read of descriptor {descriptor.handle}")
        return bytearray(value)

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any,
                              response: bool) -> None:
        client = self._gatt_client()
        await self._call(lambda: client.write_value(characteristic.obj, bytes(data),
                                                    with_response=response),
                         f"write of {characteristic.uuid}")

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        client = self._gatt_client()
        await self._call(lambda: client.write_value(descriptor.obj, bytes(data),
                                                    with_response=True),
                         f"write of descriptor {descriptor.handle}")

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        client = self._gatt_client()

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        await self._call(lambda: client.subscribe(characteristic.obj, on_value, prefer_notify=True),
                         f"subscription to {characteristic.uuid}")
        self._subscribers[characteristic.handle] = on_value

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        client = self._gatt_client()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._call(lambda: client.unsubscribe(characteristic.obj, subscriber),
                         f"unsubscription from {characteristic.uuid}")

    def _gatt_client(self) -> Any:
        if self._connection is None:
            raise BleakError(f"{self.address}: not connected")
        return self._connection.gatt_client


def bind_backends(radio: "VirtualRadio") -> tuple[type[VirtualBleakScanner],
                                                  type[VirtualBleakClient]]:
    """Scanner and client backend classes bound to ``radio`` (pass them as ``backend=``)."""
    scanner = type("VirtualBleakScanner", (VirtualBleakScanner,), {"radio": radio})
    client = type("VirtualBleakClient", (VirtualBleakClient,), {"radio": radio})
    return scanner, client
