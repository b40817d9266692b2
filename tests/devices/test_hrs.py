"""Heart Rate Measurement (0x2A37) parser and encoder."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmtrace.devices.hrs import HeartRateMeasurement, encode_hrm, parse_hrm
from calmtrace.errors import FormatError


# --- hand-decoded payloads -----------------------------------------------------------------
def test_polar_payload_with_one_rr():
    # "16 3c 11 04" as printed by gatttool for a Polar H7: flags 0x16 = 0b0001_0110
    # -> contact supported (bit 2) and detected (bit 1), RR present (bit 4), uint8 HR.
    m = parse_hrm(bytes.fromhex("163c1104"))
    assert m.hr_bpm == 0x3C == 60
    assert m.contact == "yes"
    assert m.energy_kj is None
    assert m.rr_raw == (0x0411,) == (1041,)
    # 1041/1024 s = 1016.6015625 ms exactly (1041 * 1000 / 1024, worked by hand).
    assert m.rr_ms == (1016.6015625,)


def test_payload_without_rr():
    m = parse_hrm(bytes.fromhex("063c"))
    assert (m.hr_bpm, m.contact, m.energy_kj, m.rr_raw, m.rr_ms) == (60, "yes", None, (), ())


@pytest.mark.parametrize(
    "flags, contact",
    [(0b000, "unsupported"), (0b010, "unsupported"), (0b100, "no"), (0b110, "yes")],
)
def test_contact_bits(flags, contact):
    assert parse_hrm(bytes([flags, 70])).contact == contact


def test_uint16_hr_energy_and_several_rr():
    # flags: uint16 HR (bit0) | energy (bit3) | RR (bit4) = 0x19
    payload = bytes([0x19]) + (300).to_bytes(2, "little") + (1234).to_bytes(2, "little") \
        + (512).to_bytes(2, "little") + (1024).to_bytes(2, "little") + (2048).to_bytes(2, "little")
    m = parse_hrm(payload)
    assert m.hr_bpm == 300
    assert m.energy_kj == 1234
    assert m.contact == "unsupported"
    assert m.rr_raw == (512, 1024, 2048)
    assert m.rr_ms == (500.0, 1000.0, 2000.0)


def test_rr_flag_with_zero_intervals_is_valid():
    m = parse_hrm(bytes([0x10, 80]))
    assert m.rr_raw == () and m.hr_bpm == 80


def test_reserved_bits_are_ignored():
    assert parse_hrm(bytes([0xE0, 55])).hr_bpm == 55


@pytest.mark.parametrize(
    "payload, words",
    [
        (b"", "empty"),
        (bytes([0x00]), "truncated"),
        (bytes([0x01, 0x40]), "uint16"),
        (bytes([0x08, 60, 1]), "energy"),
        (bytes([0x10, 60, 1, 2, 3]), "odd number"),
        (bytes([0x10, 60, 0, 0]), "is 0"),
        (bytes([0x00, 60, 7]), "unexpected"),
    ],
)
def test_malformed_payloads_raise_format_error(payload, words):
    with pytest.raises(FormatError, match=words) as info:
        parse_hrm(payload)
    msg = str(info.value)
    assert "\n" not in msg and "0x2A37" in msg


# --- properties ----------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_parse_or_raise_format_error(data):
    try:
        m = parse_hrm(data)
    except FormatError:
        return
    assert isinstance(m, HeartRateMeasurement)
    assert all(v > 0 for v in m.rr_ms)


@settings(max_examples=300, deadline=None)
@given(
    hr=st.integers(0, 0xFFFF),
    contact=st.sampled_from(["yes", "no", "unsupported"]),
    energy=st.none() | st.integers(0, 0xFFFF),
    rr=st.lists(st.integers(1, 0xFFFF), max_size=9),
)
def test_encode_parse_round_trip(hr, contact, energy, rr):
    m = parse_hrm(encode_hrm(hr, contact=contact, energy_kj=energy, rr_raw=rr))
    assert m.hr_bpm == hr and m.contact == contact and m.energy_kj == energy
    assert m.rr_raw == tuple(rr)
    # exact conversion, checked with rational arithmetic
    assert [Fraction(v) for v in m.rr_ms] == [Fraction(r * 1000, 1024) for r in rr]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=30))
def test_parsed_payload_re_encodes_to_the_same_bytes(data):
    try:
        m = parse_hrm(data)
    except FormatError:
        return
    flags = data[0]
    again = encode_hrm(m.hr_bpm, contact=m.contact, energy_kj=m.energy_kj, rr_raw=m.rr_raw,
                       hr_uint16=bool(flags & 1), rr_flag=bool(flags & 0x10))
    canonical = flags & 0x1F  # reserved bits dropped
    if not canonical & 0x04:
        canonical &= ~0x02  # "detected" without "supported" means unsupported
    assert again == bytes([canonical]) + data[1:]
