"""Polar Measurement Data (PMD) service: ECG and acceleration streaming from a Polar H10.

The PMD service (UUIDs below) has a *control point* (read, write, indicate) and a *data*
characteristic (notify). From the Polar BLE SDK's *Polar Measurement Data Specification*
(github.com/polarofficial/polar-ble-sdk, technical_documentation/) and its sources:

Control point requests (written with response)::

    01 tt                  get the measurement settings of type tt
    02 tt <settings>       start measurement tt; each setting is <id> <count> <uint16 value>...
    03 tt                  stop measurement tt

    start ECG at 130 Hz, 14 bit (H10's only ECG setting):
    02 00 | 00 01 82 00 (sample rate: 1 value, 130) | 01 01 0E 00 (resolution: 1 value, 14)

Control point responses (indicated): ``F0 <op code> <type> <status> [more] [parameters]``;
status 0 is success, the other codes are in :data:`STATUS_NAMES`.

Data frames (notified)::

    byte 0      measurement type (0 = ECG)
    bytes 1-8   sensor timestamp, uint64 little-endian, ns since 2000-01-01T00:00:00, of the
                LAST sample in the frame
    byte 9      frame type (0 = uncompressed: 3-byte samples)
    then        samples, 3-byte signed little-endian, microvolts, oldest first

so sample ``i`` of ``n`` was taken at ``timestamp - (n - 1 - i) / 130 Hz``.

:func:`parse_ecg_frame`, :func:`parse_cp_response` and :func:`parse_start_request` raise
:class:`~calmtrace.errors.FormatError` and nothing else on any byte string; the encoders serve the
virtual strap. :func:`start_ecg` / :func:`stop_ecg`, :func:`start_acc` / :func:`stop_acc` and
:func:`start_pmd` (both at once) drive a connected ``BleakClient``.

Acceleration (measurement type 2) travels the same way: :func:`start_acc_command` asks for a rate
of 25-200 Hz, 16-bit resolution and a range of 2, 4 or 8 g; its frames carry int16 x, y, z in mg
and are stamped like ECG frames (sensor time of the last sample), see :func:`parse_acc_frame`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ..errors import DeviceError, FormatError

__all__ = [
    "PMD_SERVICE_UUID",
    "PMD_CONTROL_UUID",
    "PMD_DATA_UUID",
    "ECG_FS_HZ",
    "MEASUREMENT_ECG",
    "START_ECG_COMMAND",
    "STOP_ECG_COMMAND",
    "STATUS_NAMES",
    "POLAR_EPOCH",
    "EcgFrame",
    "ControlPointResponse",
    "parse_ecg_frame",
    "encode_ecg_frame",
    "parse_cp_response",
    "encode_cp_response",
    "parse_start_request",
    "EcgClock",
    "start_pmd",
    "start_ecg",
    "stop_ecg",
    "MEASUREMENT_ACC",
    "ACC_RATES_HZ",
    "ACC_RANGES_G",
    "AccFrame",
    "parse_acc_frame",
    "encode_acc_frame",
    "start_acc_command",
    "STOP_ACC_COMMAND",
    "ACC_MAX_SAMPLES_PER_FRAME",
    "acc_samples_per_frame",
    "start_acc",
    "stop_acc",
]

log = logging.getLogger(__name__)

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: The H10's ECG sample rate, Hz (Polar BLE SDK: H10 ECG 130 Hz).
ECG_FS_HZ = 130
MEASUREMENT_ECG = 0x00
OP_GET_SETTINGS = 0x01
OP_START = 0x02
OP_STOP = 0x03
RESPONSE_CODE = 0xF0
SETTING_SAMPLE_RATE = 0x00
SETTING_RESOLUTION = 0x01

START_ECG_COMMAND = bytes([OP_START, MEASUREMENT_ECG,
                           SETTING_SAMPLE_RATE, 0x01, 0x82, 0x00,     # 130 Hz
                           SETTING_RESOLUTION, 0x01, 0x0E, 0x00])     # 14 bit
STOP_ECG_COMMAND = bytes([OP_STOP, MEASUREMENT_ECG])

#: Control point status codes (Polar Measurement Data Specification).
STATUS_NAMES: dict[int, str] = {
    0: "success", 1: "invalid op code", 2: "invalid measurement type", 3: "not supported",
    4: "invalid length", 5: "invalid parameter", 6: "already in state",
    7: "invalid resolution", 8: "invalid sample rate", 9: "invalid range", 10: "invalid MTU",
    11: "invalid number of channels", 12: "invalid state", 13: "device in charger",
}

#: Epoch of PMD sensor timestamps.
POLAR_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

_HEADER_BYTES = 10


def _hex(payload: bytes, limit: int = 16) -> str:
    return payload[:limit].hex(" ") + (" ..." if len(payload) > limit else "")


@dataclass(frozen=True)
class EcgFrame:
    """One PMD ECG data frame.

    Attributes
    ----------
    timestamp_ns : int
        Sensor time of the last sample, ns since :data:`POLAR_EPOCH`.
    samples_uv : tuple of int
        ECG samples, microvolts, oldest first.
    """

    timestamp_ns: int
    samples_uv: tuple[int, ...]

    def sample_times_s(self, fs_hz: float = ECG_FS_HZ) -> list[float]:
        """Sensor time of every sample, s since :data:`POLAR_EPOCH` (back-computed at ``fs_hz``)."""
        n = len(self.samples_uv)
        last = self.timestamp_ns / 1e9
        return [last - (n - 1 - i) / fs_hz for i in range(n)]


def parse_ecg_frame(payload: bytes | bytearray | memoryview) -> EcgFrame:
    """Decode a PMD data notification carrying uncompressed ECG.

    Raises
    ------
    FormatError
        When the payload is shorter than the 10-byte header, is not ECG (type 0), uses another
        frame type than 0, or its sample bytes are not a multiple of 3.
    """
    data = bytes(payload)
    where = f"Polar PMD data frame [{_hex(data)}]"
    if len(data) < _HEADER_BYTES:
        raise FormatError(f"{where}: {len(data)} byte(s), shorter than the 10-byte header")
    if data[0] != MEASUREMENT_ECG:
        raise FormatError(f"{where}: measurement type {data[0]} is not ECG (0)")
    if data[9] != 0:
        raise FormatError(f"{where}: frame type {data[9]} is not supported (only 0, "
                          "uncompressed 3-byte samples)")
    body = data[_HEADER_BYTES:]
    if len(body) % 3:
        raise FormatError(f"{where}: {len(body)} sample bytes, not a multiple of 3")
    samples = tuple(int.from_bytes(body[i:i + 3], "little", signed=True)
                    for i in range(0, len(body), 3))
    return EcgFrame(int.from_bytes(data[1:9], "little"), samples)


def encode_ecg_frame(timestamp_ns: int, samples_uv) -> bytes:
    """Build an uncompressed PMD ECG data frame (the inverse of :func:`parse_ecg_frame`).

    Parameters
    ----------
    timestamp_ns : int
        Sensor time of the last sample, ns since :data:`POLAR_EPOCH` (0 .. 2**64 - 1).
    samples_uv : sequence of int
        Samples, microvolts, each in -2**23 .. 2**23 - 1.
    """
    out = bytearray([MEASUREMENT_ECG])
    out += int(timestamp_ns).to_bytes(8, "little")
    out.append(0)
    for v in samples_uv:
        out += int(v).to_bytes(3, "little", signed=True)
    return bytes(out)


@dataclass(frozen=True)
class ControlPointResponse:
    """A PMD control point response: ``op_code``, ``measurement_type``, ``status``, ``more``,
    ``parameters`` (bytes)."""

    op_code: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        """Success, or "already in state" (the measurement already runs / is stopped)."""
        return self.status in (0, 6)

    @property
    def status_name(self) -> str:
        """The status in words."""
        return STATUS_NAMES.get(self.status, f"unknown status {self.status}")


def parse_cp_response(payload: bytes | bytearray | memoryview) -> ControlPointResponse:
    """Decode a PMD control point response (``F0 op type status [more] [parameters]``).

    Raises
    ------
    FormatError
        When it is shorter than 4 bytes or does not start with 0xF0.
    """
    data = bytes(payload)
    where = f"Polar PMD control point response [{_hex(data)}]"
    if len(data) < 4:
        raise FormatError(f"{where}: {len(data)} byte(s), expected at least 4")
    if data[0] != RESPONSE_CODE:
        raise FormatError(f"{where}: first byte 0x{data[0]:02X} is not the response code 0xF0")
    more = bool(data[4]) if len(data) > 4 else False
    return ControlPointResponse(data[1], data[2], data[3], more, data[5:])


def encode_cp_response(op_code: int, measurement_type: int, status: int,
                       parameters: bytes = b"") -> bytes:
    """Build a PMD control point response (the inverse of :func:`parse_cp_response`)."""
    return bytes([RESPONSE_CODE, op_code, measurement_type, status, 0]) + bytes(parameters)


def parse_start_request(
        payload: bytes | bytearray | memoryview) -> tuple[int, dict[int, list[int]]]:
    """Decode a PMD start request ``02 tt <setting id> <count> <uint16> ...``.

    Returns
    -------
    (int, dict)
        Measurement type and ``{setting id: [values]}``.

    Raises
    ------
    FormatError
        When it is not a start request or a setting is truncated.
    """
    data = bytes(payload)
    where = f"Polar PMD start request [{_hex(data)}]"
    if len(data) < 2 or data[0] != OP_START:
        raise FormatError(f"{where}: expected 0x02 and a measurement type")
    settings: dict[int, list[int]] = {}
    pos = 2
    while pos < len(data):
        if pos + 2 > len(data):
            raise FormatError(f"{where}: setting at offset {pos} has no count")
        sid, count = data[pos], data[pos + 1]
        end = pos + 2 + 2 * count
        if end > len(data):
            raise FormatError(f"{where}: setting 0x{sid:02X} announces {count} value(s) but is "
                              "truncated")
        settings[sid] = [int.from_bytes(data[i:i + 2], "little") for i in range(pos + 2, end, 2)]
        pos = end
    return data[1], settings


class EcgClock:
    """Place ECG (or ACC) samples on the host clock.

    The sensor timestamps give exact spacing; the offset to the host clock is the running
    minimum of ``arrival - sensor time of the last sample`` over the frames seen (a frame leaves
    the strap after its last sample, never before), so it only ever moves earlier.

    Parameters
    ----------
    fs_hz : float
        Sample rate, Hz.
    max_slew_s : float, optional
        The most the offset may move earlier from one frame to the next, s. Default half a sample
        period: a frame never starts before the previous one ended, so times written line by line
        stay in order even when the first frames came late (a connection still settling); the
        offset then reaches the running minimum over a few frames instead of at once.
    """

    def __init__(self, fs_hz: float = ECG_FS_HZ, max_slew_s: float | None = None) -> None:
        self.fs_hz = fs_hz
        self.max_slew_s = 0.5 / fs_hz if max_slew_s is None else max_slew_s
        self._offset_s: float | None = None
        self._min_s: float | None = None

    def place(self, arrival_t_s: float, frame: EcgFrame) -> list[float]:
        """Host times (s, the arrival clock) of the samples in ``frame``."""
        sensor = frame.sample_times_s(self.fs_hz)
        if not sensor:
            return []
        candidate = arrival_t_s - sensor[-1]
        if self._offset_s is None:
            self._offset_s = self._min_s = candidate
        else:
            self._min_s = min(self._min_s, candidate)
            step = self._offset_s - self._min_s
            step = min(step, self.max_slew_s)
            self._offset_s -= step
        return [s + self._offset_s for s in sensor]


async def start_pmd(client: Any, on_frame: Callable[[bytes], None], requests: list[tuple[int, bytes]],
                    timeout_s: float = 5.0) -> dict[int, ControlPointResponse]:
    """Start one or more PMD measurements (ECG, ACC) on a connected Polar strap.

    Subscribes once to the control point (indications) and the data characteristic (every data
    notification, whatever its measurement type, goes to ``on_frame``), then writes each start
    request in turn and waits for the control point's answer to it.

    Parameters
    ----------
    client : bleak.BleakClient
        A connected client.
    on_frame : callable
        Called with the raw bytes of every data notification; byte 0 is the measurement type.
    requests : list of (int, bytes)
        ``(measurement type, start request)``, e.g. ``(MEASUREMENT_ECG, START_ECG_COMMAND)``.
    timeout_s : float
        How long to wait for each answer, s (5; the H10 answers within a connection interval).

    Returns
    -------
    dict
        Measurement type -> :class:`ControlPointResponse` (check ``.ok``: a refusal is an answer,
        not an error).

    Raises
    ------
    DeviceError
        When the strap does not answer a request within ``timeout_s``.
    """
    responses: asyncio.Queue[bytes] = asyncio.Queue()

    def on_cp(_char: Any, data: bytearray) -> None:
        responses.put_nowait(bytes(data))

    await client.start_notify(PMD_CONTROL_UUID, on_cp)
    await client.start_notify(PMD_DATA_UUID, lambda _char, data: on_frame(bytes(data)))
    answers: dict[int, ControlPointResponse] = {}
    for mtype, command in requests:
        await client.write_gatt_char(PMD_CONTROL_UUID, command, response=True)
        what = {MEASUREMENT_ECG: "ECG", MEASUREMENT_ACC: "ACC"}.get(mtype, f"measurement {mtype}")
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    try:
                        reply = parse_cp_response(await responses.get())
                    except FormatError as exc:
                        log.warning("ignored a malformed PMD control point response: %s", exc)
                        continue
                    if reply.op_code == OP_START and reply.measurement_type == mtype:
                        break
        except TimeoutError:
            raise DeviceError(f"{client.address}: no answer to the {what} start request within "
                              f"{timeout_s} s") from None
        answers[mtype] = reply
    return answers


async def start_ecg(client: Any, on_frame: Callable[[bytes], None],
                    timeout_s: float = 5.0) -> ControlPointResponse:
    """Start 130-Hz ECG on a connected Polar strap.

    Subscribes to the control point (indications) and the data characteristic, writes
    :data:`START_ECG_COMMAND` and waits for the control point's answer (see :func:`start_pmd`,
    which starts ECG and ACC together).

    Parameters
    ----------
    client : bleak.BleakClient
        A connected client.
    on_frame : callable
        Called with the raw bytes of every data notification.
    timeout_s : float
        How long to wait for the answer, s (5; the H10 answers within a connection interval).

    Raises
    ------
    DeviceError
        When the strap refuses (status other than success / already running) or does not answer.
    """
    reply = (await start_pmd(client, on_frame, [(MEASUREMENT_ECG, START_ECG_COMMAND)],
                             timeout_s))[MEASUREMENT_ECG]
    if not reply.ok:
        raise DeviceError(f"{client.address}: the strap refused to start ECG: {reply.status_name}")
    return reply


async def stop_ecg(client: Any) -> None:
    """Stop ECG streaming (write :data:`STOP_ECG_COMMAND`); the caller handles bleak errors."""
    await client.write_gatt_char(PMD_CONTROL_UUID, STOP_ECG_COMMAND, response=True)


# -------------------------------------------------------------------------------------------
# ACC: the H10's accelerometer over the same service
# -------------------------------------------------------------------------------------------
#: PMD measurement type of acceleration.
MEASUREMENT_ACC = 0x02
#: Sample rates (Hz) and ranges (g) the H10 offers for ACC (Polar BLE SDK, H10 ACC settings).
ACC_RATES_HZ = (25, 50, 100, 200)
ACC_RANGES_G = (2, 4, 8)
SETTING_RANGE = 0x02
#: Uncompressed ACC frame types: bytes per axis value (0: int8, 1: int16, 2: int24).
_ACC_FRAME_BYTES = {0x00: 1, 0x01: 2, 0x02: 3}


def start_acc_command(fs_hz: int = 25, range_g: int = 8) -> bytes:
    """The control point request that starts ACC: ``02 02`` + sample rate, resolution 16, range.

    Parameters
    ----------
    fs_hz : int
        One of :data:`ACC_RATES_HZ`.
    range_g : int
        One of :data:`ACC_RANGES_G`.

    Raises
    ------
    FormatError
        On a rate or range the H10 does not offer.
    """
    if fs_hz not in ACC_RATES_HZ:
        raise FormatError(f"Polar ACC: sample rate must be one of {ACC_RATES_HZ} Hz, got {fs_hz!r}")
    if range_g not in ACC_RANGES_G:
        raise FormatError(f"Polar ACC: range must be one of {ACC_RANGES_G} g, got {range_g!r}")
    return bytes([OP_START, MEASUREMENT_ACC,
                  SETTING_SAMPLE_RATE, 0x01, *int(fs_hz).to_bytes(2, "little"),
                  SETTING_RESOLUTION, 0x01, 16, 0x00,
                  SETTING_RANGE, 0x01, *int(range_g).to_bytes(2, "little")])


@dataclass(frozen=True)
class AccFrame:
    """One PMD ACC data frame.

    Attributes
    ----------
    timestamp_ns : int
        Sensor time of the last sample, ns since :data:`POLAR_EPOCH` (stamped like ECG).
    samples_mg : tuple of (int, int, int)
        ``(x, y, z)`` acceleration per sample, mg, oldest first.
    """

    timestamp_ns: int
    samples_mg: tuple[tuple[int, int, int], ...]

    def sample_times_s(self, fs_hz: float = 25.0) -> list[float]:
        """Sensor time of every sample, s since :data:`POLAR_EPOCH` (back-computed at ``fs_hz``);
        so :class:`EcgClock` ``(fs_hz)`` places ACC frames on the host clock as it does ECG."""
        n = len(self.samples_mg)
        last = self.timestamp_ns / 1e9
        return [last - (n - 1 - i) / fs_hz for i in range(n)]


def parse_acc_frame(payload: bytes | bytearray | memoryview) -> AccFrame:
    """Decode a PMD data notification carrying uncompressed acceleration.

    Layout: byte 0 measurement type (2 = ACC), bytes 1-8 the sensor timestamp of the last sample
    (uint64 little-endian, ns since 2000-01-01), byte 9 the frame type (0, 1, 2: signed 1-, 2- or
    3-byte little-endian values; the H10 at 16-bit resolution sends 1), then x, y, z of each
    sample in mg, oldest first.

    Raises
    ------
    FormatError
        When the payload is shorter than the header, is not ACC, uses a compressed or unknown
        frame type, or its sample bytes are not whole (x, y, z) triples.
    """
    data = bytes(payload)
    where = f"Polar PMD ACC frame [{_hex(data)}]"
    if len(data) < _HEADER_BYTES:
        raise FormatError(f"{where}: {len(data)} byte(s), shorter than the 10-byte header")
    if data[0] != MEASUREMENT_ACC:
        raise FormatError(f"{where}: measurement type {data[0]} is not ACC (2)")
    width = _ACC_FRAME_BYTES.get(data[9])
    if width is None:
        raise FormatError(f"{where}: frame type 0x{data[9]:02X} is not supported (only uncompressed 0, 1, 2)")
    body = data[_HEADER_BYTES:]
    step = 3 * width
    if len(body) % step:
        raise FormatError(f"{where}: {len(body)} sample bytes, not a multiple of {step} (x, y, z of {width} byte(s))")
    vals = [int.from_bytes(body[i:i + width], "little", signed=True) for i in range(0, len(body), width)]
    samples = tuple((vals[i], vals[i + 1], vals[i + 2]) for i in range(0, len(vals), 3))
    return AccFrame(int.from_bytes(data[1:9], "little"), samples)


def encode_acc_frame(timestamp_ns: int, samples_mg, frame_type: int = 0x01) -> bytes:
    """Build an uncompressed PMD ACC data frame (the inverse of :func:`parse_acc_frame`).

    Parameters
    ----------
    timestamp_ns : int
        Sensor time of the last sample, ns since :data:`POLAR_EPOCH` (0 .. 2**64 - 1).
    samples_mg : sequence of (int, int, int)
        ``(x, y, z)`` in mg; each fits the frame type's signed width (int16 for type 1).
    frame_type : int
        0, 1 or 2 (1-, 2- or 3-byte values).
    """
    width = _ACC_FRAME_BYTES.get(frame_type)
    if width is None:
        raise FormatError(f"Polar ACC: frame type must be 0, 1 or 2, got {frame_type!r}")
    out = bytearray([MEASUREMENT_ACC])
    out += int(timestamp_ns).to_bytes(8, "little")
    out.append(frame_type)
    for xyz in samples_mg:
        for v in xyz:
            out += int(v).to_bytes(width, "little", signed=True)
    return bytes(out)


#: The control point request that stops ACC.
STOP_ACC_COMMAND = bytes([OP_STOP, MEASUREMENT_ACC])
#: The most (x, y, z) int16 samples an ACC frame carries with the H10's 232-byte ATT MTU
#: (10-byte header + 36 x 6 bytes = 226 <= 232 - 3).
ACC_MAX_SAMPLES_PER_FRAME = 36


def acc_samples_per_frame(fs_hz: int) -> int:
    """Samples per ACC frame of the virtual strap: half a second's worth, at most what one
    232-byte-MTU notification holds (:data:`ACC_MAX_SAMPLES_PER_FRAME`).

    The H10's own batching is not documented; half a second keeps what a killed capture has not
    yet received under a second at every rate (calmtrace's choice).
    """
    return max(1, min(ACC_MAX_SAMPLES_PER_FRAME, int(fs_hz) // 2))


async def start_acc(client: Any, on_frame: Callable[[bytes], None], fs_hz: int = 25, range_g: int = 8,
                    timeout_s: float = 5.0) -> ControlPointResponse:
    """Start acceleration streaming on a connected Polar strap (see :func:`start_ecg`).

    Parameters
    ----------
    client : bleak.BleakClient
        A connected client.
    on_frame : callable
        Called with the raw bytes of every data notification.
    fs_hz : int
        Sample rate, one of :data:`ACC_RATES_HZ`.
    range_g : int
        Range, one of :data:`ACC_RANGES_G`.
    timeout_s : float
        How long to wait for the answer, s.

    Raises
    ------
    FormatError
        On a rate or range the H10 does not offer.
    DeviceError
        When the strap refuses or does not answer.
    """
    command = start_acc_command(fs_hz, range_g)
    reply = (await start_pmd(client, on_frame, [(MEASUREMENT_ACC, command)], timeout_s))[MEASUREMENT_ACC]
    if not reply.ok:
        raise DeviceError(f"{client.address}: the strap refused to start ACC: {reply.status_name}")
    return reply


async def stop_acc(client: Any) -> None:
    """Stop ACC streaming (write :data:`STOP_ACC_COMMAND`); the caller handles bleak errors."""
    await client.write_gatt_char(PMD_CONTROL_UUID, STOP_ACC_COMMAND, response=True)
