"""Heart Rate Measurement (GATT characteristic 0x2A37): parser and encoder, pure.

A heart-rate strap notifies this characteristic, typically once a second. The layout, from the
Bluetooth SIG *Heart Rate Service 1.0* specification (section 3.1) and the GATT Specification
Supplement (section 3.113), is::

    byte 0      flags
                  bit 0     heart rate format: 0 = uint8, 1 = uint16 (little-endian)
                  bits 1-2  sensor contact: 0b00 / 0b01 = feature not supported,
                            0b10 = supported but no contact, 0b11 = supported and in contact
                  bit 3     energy expended field present (uint16, kJ)
                  bit 4     RR-interval field present (uint16 each, 1/1024 s, oldest first)
                  bits 5-7  reserved for future use (ignored)
    then        heart rate (uint8 or uint16, beats per minute)
    then        energy expended (uint16, kJ), if bit 3
    then        zero or more RR intervals (uint16, 1/1024 s), if bit 4, up to the end

:func:`parse_hrm` turns a payload into a :class:`HeartRateMeasurement` or raises
:class:`~calmtrace.errors.FormatError`; it raises nothing else on any byte string.
:func:`encode_hrm` builds payloads (used by the virtual strap and by the round-trip tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import FormatError

__all__ = [
    "HeartRateMeasurement",
    "parse_hrm",
    "encode_hrm",
    "rr_raw_to_ms",
    "CONTACT_VALUES",
    "RR_UNITS_PER_S",
]

#: RR intervals are counted in 1/1024 s (Heart Rate Service 1.0, section 3.1.1.5).
RR_UNITS_PER_S = 1024
#: The three sensor-contact states a measurement can report.
CONTACT_VALUES: tuple[str, ...] = ("yes", "no", "unsupported")

_FLAG_HR_UINT16 = 0x01
_FLAG_CONTACT_DETECTED = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10


def rr_raw_to_ms(rr_raw: int) -> float:
    """Convert an RR interval from 1/1024 s units to milliseconds, exactly.

    ``rr_raw * 1000 / 1024`` is exact in binary floating point (the divisor is a power of two
    and the numerator stays far below 2**53), so no rounding is involved.

    Parameters
    ----------
    rr_raw : int
        RR interval in 1/1024 s (0-65535).

    Returns
    -------
    float
        The same interval in ms.
    """
    return rr_raw * 1000 / RR_UNITS_PER_S


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement notification.

    Attributes
    ----------
    hr_bpm : int
        Heart rate the strap computed, beats per minute (0 is common without skin contact).
    contact : str
        ``"yes"`` (in contact), ``"no"`` (feature supported, no contact) or ``"unsupported"``
        (the strap does not report contact).
    energy_kj : int or None
        Accumulated energy expended, kJ, where the strap sends it.
    rr_raw : tuple of int
        RR intervals as sent, 1/1024 s, oldest first (may be empty).
    rr_ms : tuple of float
        The same intervals in ms, converted exactly (``rr_raw * 1000 / 1024``).
    """

    hr_bpm: int
    contact: str
    energy_kj: int | None
    rr_raw: tuple[int, ...]
    rr_ms: tuple[float, ...]


def _hex(payload: bytes, limit: int = 24) -> str:
    text = payload[:limit].hex(" ")
    return text + (" ..." if len(payload) > limit else "")


def _bad(payload: bytes, problem: str) -> FormatError:
    return FormatError(f"Heart Rate Measurement (0x2A37) payload [{_hex(payload)}]: {problem}")


def parse_hrm(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) payload.

    Parameters
    ----------
    payload : bytes-like
        The notification value exactly as received.

    Returns
    -------
    HeartRateMeasurement
        The decoded fields, RR intervals in both 1/1024 s and ms.

    Raises
    ------
    FormatError
        When the payload is empty, shorter than its flags announce, has an odd number of RR
        bytes, an RR interval of 0, or bytes after the last field the flags announce. Nothing
        else is raised for any byte string.
    """
    data = bytes(payload)
    if not data:
        raise _bad(data, "empty payload (expected at least a flags byte and a heart rate)")
    flags = data[0]
    pos = 1

    hr_size = 2 if flags & _FLAG_HR_UINT16 else 1
    if len(data) < pos + hr_size:
        fmt = "uint16" if hr_size == 2 else "uint8"
        raise _bad(data, f"truncated: flags announce a {fmt} heart rate but the payload is "
                         f"{len(data)} byte(s) long")
    hr_bpm = int.from_bytes(data[pos:pos + hr_size], "little")
    pos += hr_size

    if flags & _FLAG_CONTACT_SUPPORTED:
        contact = "yes" if flags & _FLAG_CONTACT_DETECTED else "no"
    else:
        contact = "unsupported"

    energy_kj: int | None = None
    if flags & _FLAG_ENERGY:
        if len(data) < pos + 2:
            raise _bad(data, f"truncated: flags announce energy expended (2 bytes at offset {pos}) "
                             f"but the payload is {len(data)} byte(s) long")
        energy_kj = int.from_bytes(data[pos:pos + 2], "little")
        pos += 2

    rest = data[pos:]
    if flags & _FLAG_RR:
        if len(rest) % 2:
            raise _bad(data, f"odd number of RR-interval bytes ({len(rest)}) after offset {pos}; "
                             "each RR interval is 2 bytes")
        rr_raw = tuple(int.from_bytes(rest[i:i + 2], "little") for i in range(0, len(rest), 2))
        for i, rr in enumerate(rr_raw):
            if rr == 0:
                raise _bad(data, f"RR interval {i + 1} is 0 (an interval must be positive)")
    else:
        if rest:
            raise _bad(data, f"{len(rest)} unexpected byte(s) after offset {pos}; the flags "
                             "announce no further fields")
        rr_raw = ()

    return HeartRateMeasurement(
        hr_bpm=hr_bpm,
        contact=contact,
        energy_kj=energy_kj,
        rr_raw=rr_raw,
        rr_ms=tuple(rr_raw_to_ms(rr) for rr in rr_raw),
    )


def encode_hrm(
    hr_bpm: int,
    *,
    contact: str = "unsupported",
    energy_kj: int | None = None,
    rr_raw: tuple[int, ...] | list[int] = (),
    hr_uint16: bool | None = None,
    rr_flag: bool | None = None,
) -> bytes:
    """Build a Heart Rate Measurement (0x2A37) payload.

    Parameters
    ----------
    hr_bpm : int
        Heart rate, beats per minute (0-65535).
    contact : {"yes", "no", "unsupported"}
        Sensor contact state.
    energy_kj : int, optional
        Energy expended, kJ (0-65535); omitted when None.
    rr_raw : sequence of int
        RR intervals in 1/1024 s (1-65535), oldest first.
    hr_uint16 : bool, optional
        Force the uint16 heart-rate format; by default uint8 is used when ``hr_bpm`` fits.
    rr_flag : bool, optional
        Set the RR-present flag even with no RR intervals; by default it is set when
        ``rr_raw`` is non-empty.

    Returns
    -------
    bytes
        The payload.

    Raises
    ------
    ValueError
        On out-of-range values or an unknown ``contact`` (a programming error, not input).
    """
    if contact not in CONTACT_VALUES:
        raise ValueError(f"contact must be one of {CONTACT_VALUES}, got {contact!r}")
    if not 0 <= hr_bpm <= 0xFFFF:
        raise ValueError(f"hr_bpm must be in 0..65535, got {hr_bpm}")
    if hr_uint16 is None:
        hr_uint16 = hr_bpm > 0xFF
    if not hr_uint16 and hr_bpm > 0xFF:
        raise ValueError(f"hr_bpm {hr_bpm} does not fit the uint8 format")
    rr = [int(v) for v in rr_raw]
    for v in rr:
        if not 1 <= v <= 0xFFFF:
            raise ValueError(f"RR intervals must be in 1..65535 (1/1024 s), got {v}")
    if rr_flag is None:
        rr_flag = bool(rr)
    if rr and not rr_flag:
        raise ValueError("rr_flag=False with RR intervals given")

    flags = 0
    body = bytearray()
    if hr_uint16:
        flags |= _FLAG_HR_UINT16
        body += hr_bpm.to_bytes(2, "little")
    else:
        body += hr_bpm.to_bytes(1, "little")
    if contact != "unsupported":
        flags |= _FLAG_CONTACT_SUPPORTED
        if contact == "yes":
            flags |= _FLAG_CONTACT_DETECTED
    if energy_kj is not None:
        if not 0 <= energy_kj <= 0xFFFF:
            raise ValueError(f"energy_kj must be in 0..65535, got {energy_kj}")
        flags |= _FLAG_ENERGY
        body += energy_kj.to_bytes(2, "little")
    if rr_flag:
        flags |= _FLAG_RR
        for v in rr:
            body += v.to_bytes(2, "little")
    return bytes([flags]) + bytes(body)
