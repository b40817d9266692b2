"""The virtual radio: Bumble's in-process LocalLink with a host adapter on it.

Every virtual device (the host's adapter and each virtual strap) is a real Bumble host stack
(``bumble.device.Device`` + ``bumble.host.Host``) talking HCI to its own virtual controller
(``bumble.controller.Controller``); the controllers exchange advertising, link-layer and ACL
packets over a ``bumble.link.LocalLink``. So everything above the radio -- HCI, L2CAP, ATT, GATT
-- is the real protocol.

Bumble objects need a running event loop when they are created; :class:`VirtualRadio` must be
made inside ``async`` code, and everything on it lives and dies with that loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from ._bumble_backend import bind_backends

__all__ = ["VirtualRadio"]

log = logging.getLogger(__name__)


class _Controller(Controller):
    """Bumble's virtual controller, answering *LE Create Connection Cancel* as the spec says.

    Bumble 0.0.236's controller acknowledges the cancel but keeps the connection attempt pending
    and never reports its end, so after one timed-out connect the host waits forever and every
    later connect is refused. Bluetooth Core 5.3, Vol 4 Part E 7.8.13: after Command Complete the
    controller ends the attempt with an LE Connection Complete event, status *Unknown Connection
    Identifier* (0x02).
    """

    def on_hci_le_create_connection_cancel_command(self, command):  # noqa: D401 (bumble hook)
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None

        def report_cancelled() -> None:
            self.send_hci_packet(hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            ))

        # after the Command Complete that the caller sends for this return value
        asyncio.get_running_loop().call_soon(report_cancelled)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class VirtualRadio:
    """A LocalLink with the host's adapter on it; straps join with :meth:`new_device`.

    Use :attr:`scanner_backend` and :attr:`client_backend` as the ``backend=`` of
    ``BleakScanner`` / ``BleakClient`` to reach the devices on this radio.

    Parameters
    ----------
    adapter_address : str
        Bluetooth address of the host's adapter.
    """

    def __init__(self, adapter_address: str = "F0:CA:17:00:00:01") -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("VirtualRadio must be created inside a running event loop "
                               "(Bumble objects are bound to it); create it in async code"
                               ) from None
        self.link = LocalLink()
        self._adapter_address = adapter_address
        self._adapter: Device | None = None
        self._adapter_lock = asyncio.Lock()
        #: Serialises connection attempts (the adapter makes one at a time).
        self.connect_lock = asyncio.Lock()
        self._scanners = 0
        self._devices: list[Device] = []
        self._on_close: list[Callable[[], Awaitable[None]]] = []
        self.scanner_backend, self.client_backend = bind_backends(self)

    async def __aenter__(self) -> "VirtualRadio":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def on_close(self, stop: Callable[[], Awaitable[None]]) -> None:
        """Have :meth:`close` await ``stop()`` first (virtual straps register their stop)."""
        self._on_close.append(stop)

    def new_device(self, name: str, address: str) -> Device:
        """A Bumble host stack with its own controller on this radio (not yet powered on)."""
        controller = _Controller(name, link=self.link)
        device = Device(name=name, address=hci.Address(address),
                        host=Host(controller, AsyncPipeSink(controller)))
        self._devices.append(device)
        return device

    async def adapter(self) -> Device:
        """The host's adapter, powered on at first use."""
        async with self._adapter_lock:
            if self._adapter is None:
                device = self.new_device("calmtrace-host", self._adapter_address)
                await device.power_on()
                self._adapter = device
        return self._adapter

    async def start_scanning(self) -> None:
        """Scan (reference-counted: several scanners may share the adapter)."""
        adapter = await self.adapter()
        self._scanners += 1
        if self._scanners == 1:
            await adapter.start_scanning(filter_duplicates=False)

    async def stop_scanning(self) -> None:
        """Undo one :meth:`start_scanning`."""
        adapter = await self.adapter()
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0 and adapter.is_scanning:
            await adapter.stop_scanning()

    async def close(self) -> None:
        """Stop the straps, then disconnect and power off every device on this radio."""
        for stop in self._on_close:
            await stop()
        self._on_close.clear()
        for device in reversed(self._devices):
            try:
                for connection in list(device.connections.values()):
                    await asyncio.wait_for(connection.disconnect(), 1.0)
                if device.is_advertising:
                    await device.stop_advertising()
                if device.is_scanning:
                    await device.stop_scanning()
                await device.power_off()
            except Exception as exc:   # closing best-effort: a half-dead device must not block
                log.debug("closing %s: %s", device.name, exc)
        self._devices.clear()
