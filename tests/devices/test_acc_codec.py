"""Polar PMD ACC frames: parser against the encoder (property test) and hand-built bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st

from calmtrace.devices.polar import (
    ACC_RATES_HZ,
    EcgClock,
    encode_acc_frame,
    parse_acc_frame,
    parse_start_request,
    start_acc_command,
)
from calmtrace.errors import FormatError

_I16 = st.integers(-(2**15), 2**15 - 1)


@settings(max_examples=200, deadline=None)
@given(ts=st.integers(0, 2**64 - 1), samples=st.lists(st.tuples(_I16, _I16, _I16), max_size=80))
def test_round_trip_int16(ts, samples):
    frame = parse_acc_frame(encode_acc_frame(ts, samples))
    assert frame.timestamp_ns == ts
    assert list(frame.samples_mg) == samples


@settings(max_examples=100, deadline=None)
@given(ft=st.sampled_from([0, 1, 2]), data=st.data())
def test_round_trip_every_width(ft, data):
    lim = 2 ** (8 * (ft + 1) - 1)
    v = st.integers(-lim, lim - 1)
    samples = data.draw(st.lists(st.tuples(v, v, v), max_size=30))
    assert list(parse_acc_frame(encode_acc_frame(123, samples, ft)).samples_mg) == samples


def test_hand_built_frame():
    # type 2, timestamp 10 s after 2000-01-01, frame type 1, two samples with struct (independent of the encoder)
    payload = bytes([2]) + struct.pack("<Q", 10_000_000_000) + bytes([1]) + struct.pack("<6h", -12, 34, 1000, 5, -6, 998)
    f = parse_acc_frame(payload)
    assert f.samples_mg == ((-12, 34, 1000), (5, -6, 998))
    assert f.sample_times_s(25.0) == pytest.approx([10.0 - 0.04, 10.0])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_format_error(payload):
    try:
        parse_acc_frame(payload)
    except FormatError:
        pass


def test_bad_frames_name_the_problem():
    with pytest.raises(FormatError, match="not ACC"):
        parse_acc_frame(bytes(10))
    with pytest.raises(FormatError, match="frame type 0x80"):
        parse_acc_frame(bytes([2]) + bytes(8) + bytes([0x80]) + bytes(6))
    with pytest.raises(FormatError, match="multiple of 6"):
        parse_acc_frame(bytes([2]) + bytes(8) + bytes([1]) + bytes(5))


def test_start_command_and_clock():
    mtype, settings_ = parse_start_request(start_acc_command(50, 4))
    assert mtype == 2 and settings_ == {0: [50], 1: [16], 2: [4]}
    with pytest.raises(FormatError):
        start_acc_command(30)
    assert 25 in ACC_RATES_HZ
    # ACC frames are placed on the host clock by the same clock as ECG
    clock = EcgClock(25.0)
    f = parse_acc_frame(encode_acc_frame(5_000_000_000, [(0, 0, 1000)] * 5))
    times = clock.place(100.0, f)
    assert times[-1] == pytest.approx(100.0) and times[0] == pytest.approx(100.0 - 4 / 25)
