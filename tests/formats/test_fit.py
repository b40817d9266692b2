"""Garmin FIT importer: the two real files, and small FIT files written here byte by byte.

Expected figures for the real files come from fitdecode's own decoding, read in the test.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from tests.conftest import shared_data

fitdecode = pytest.importorskip("fitdecode")
from fitdecode.utils import compute_crc  # noqa: E402

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=timezone.utc)


# -- a minimal FIT writer (FIT SDK "Flexible and Interoperable Data Transfer" protocol) ----------
def fit_file(records: list[bytes]) -> bytes:
    data = b"".join(records)
    header = struct.pack("<BBHI4s", 14, 0x20, 2093, len(data), b".FIT")
    header += struct.pack("<H", compute_crc(header))
    body = header + data
    return body + struct.pack("<H", compute_crc(body))


def definition(local: int, global_num: int, fields: list[tuple[int, int, int]]) -> bytes:
    out = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
    return out + b"".join(struct.pack("<BBB", *f) for f in fields)


def data(local: int, fmt: str, *values) -> bytes:
    return struct.pack("<B", local) + struct.pack("<" + fmt, *values)


UINT8, UINT16, UINT32, ENUM, BYTE = 0x02, 0x84, 0x86, 0x00, 0x0D
T0 = 1_000_000_000  # FIT seconds: 2021-09-09T01:46:40Z
FILE_ID = [definition(0, 0, [(0, 1, ENUM), (1, 2, UINT16), (4, 4, UINT32)]), data(0, "BHI", 4, 1, T0)]


def records(hr_values=None, n=5):
    if hr_values is None:
        out = [definition(1, 20, [(253, 4, UINT32)])]
        return out + [data(1, "I", T0 + k) for k in range(n)]
    out = [definition(1, 20, [(253, 4, UINT32), (3, 1, UINT8)])]
    return out + [data(1, "IB", T0 + k, hr) for k, hr in enumerate(hr_values)]


def hrv(rr_ms_rows):
    out = [definition(2, 78, [(0, 10, UINT16)])]
    return out + [data(2, "5H", *row) for row in rr_ms_rows]


# -- real files --------------------------------------------------------------------------------
def _messages(path, name):
    with fitdecode.FitReader(str(path)) as r:
        return [f for f in r if isinstance(f, fitdecode.FitDataMessage) and f.name == name]


def _first_timestamp(path):
    with fitdecode.FitReader(str(path)) as r:
        for f in r:
            if isinstance(f, fitdecode.FitDataMessage) and f.has_field("timestamp"):
                v = f.get_value("timestamp")
                if isinstance(v, datetime):
                    return v


@pytest.mark.realdata
def test_event_timestamp_fit_beats_from_hr_messages():
    path = shared_data("garmin-fit", "event_timestamp.fit")
    rec = formats.read(path)
    hr_msgs = _messages(path, "hr")
    # fitdecode's expansion: each block starts at a message with the full time; later messages
    # carry beat times as datetimes (within 4 s of the truth: fitdecode drops the fraction and
    # high bits of the anchor, but differences inside a block are exact).
    blocks: list[list[float]] = []
    anchors = []
    bpm = []
    for m in hr_msgs:
        if m.has_field("event_timestamp_12"):
            times = [f.value for f in m.fields if f.name == "event_timestamp" and f.field_def is None]
            blocks[-1].extend((t - FIT_EPOCH).total_seconds() for t in times)
            bpm.extend(v for v in m.get_value("filtered_bpm") if v)
        else:
            anchor = m.get_value("timestamp") + timedelta(seconds=m.get_value("fractional_timestamp"))
            anchors.append(anchor)
            blocks.append([])
            bpm.append(m.get_value("filtered_bpm"))
    assert len(anchors) == 4
    intervals = []
    for b in blocks:
        t = np.unique(np.asarray(b))
        intervals.extend(np.diff(t))
    n_short = int(np.sum(np.asarray(intervals) <= 3.0))
    # + one interval from each anchor beat to the first compressed beat of its block
    assert abs(len(rec.beats) - (n_short + len(blocks))) <= len(blocks)
    assert rec.start == min(anchors[0], _first_timestamp(path))
    assert rec.meta["beats_source"].startswith("fit hr messages")
    file_id = _messages(path, "file_id")[0]
    assert rec.meta["model"] == f"{file_id.get_value('manufacturer')} {file_id.get_value('garmin_product')}"
    assert rec.meta["serial"] == file_id.get_value("serial_number")
    # the strap's own filtered heart rate agrees with the beats
    assert abs(60000.0 / np.median(rec.rr_ms) - np.median(bpm)) <= 5
    last = max(b[-1] for b in blocks if b)
    last_beat = rec.start + timedelta(seconds=rec.t_s[-1])
    assert abs((last_beat - (FIT_EPOCH + timedelta(seconds=last))).total_seconds()) <= 4.0


@pytest.mark.realdata
def test_fenix_run_beats_from_hrv_messages():
    path = shared_data("garmin-fit", "garmin-fenix-5-run.fit")
    rec = formats.read(path)
    rr_s = []
    for m in _messages(path, "hrv"):
        rr_s.extend(v for v in m.get_value("time") if v is not None and v < 65.535)
    rr_s = np.asarray(rr_s)
    assert len(rec.beats) == int(np.sum(rr_s <= 3.0))
    np.testing.assert_allclose(rec.rr_ms, rr_s[rr_s <= 3.0] * 1000.0)
    assert rec.start == _first_timestamp(path)
    assert rec.t_s[-1] == pytest.approx(rr_s.sum())
    heart = [(m.get_value("timestamp"), m.get_value("heart_rate")) for m in _messages(path, "record")
             if m.get_value("heart_rate", fallback=None) is not None]
    assert len(rec.hr) == len(heart)
    np.testing.assert_allclose(rec.hr["hr_bpm"], [h for _, h in heart])
    assert rec.hr["t_s"].iloc[-1] == pytest.approx((heart[-1][0] - rec.start).total_seconds())


@pytest.mark.realdata
def test_real_files_are_sniffed_as_fit():
    for name in ("event_timestamp.fit", "garmin-fenix-5-run.fit"):
        assert formats.detect(shared_data("garmin-fit", name)).name == "fit"


# -- written files -----------------------------------------------------------------------------
def test_hrv_with_empty_slots(tmp_path):
    rows = [(800, 810, 0xFFFF, 0xFFFF, 0xFFFF), (790, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF), (805, 815, 820, 0xFFFF, 0xFFFF)]
    path = tmp_path / "a.fit"
    path.write_bytes(fit_file(FILE_ID + records([60, 61, 62]) + hrv(rows)))
    rec = formats.read(path)
    assert list(rec.rr_ms) == pytest.approx([800, 810, 790, 805, 815, 820])
    assert list(rec.t_s) == pytest.approx(np.cumsum([800, 810, 790, 805, 815, 820]) / 1000.0)
    assert rec.start == FIT_EPOCH + timedelta(seconds=T0)
    assert list(rec.hr["hr_bpm"]) == [60, 61, 62]


def test_long_hrv_interval_is_a_gap(tmp_path):
    rows = [(800, 5000, 800, 0xFFFF, 0xFFFF)]
    path = tmp_path / "g.fit"
    path.write_bytes(fit_file(FILE_ID + records([60]) + hrv(rows)))
    rec = formats.read(path)
    assert list(rec.rr_ms) == pytest.approx([800, 800])
    assert list(rec.gaps["onset_s"]) == pytest.approx([0.8])
    assert list(rec.gaps["duration_s"]) == pytest.approx([5.0])


def test_hr_messages_with_compressed_times(tmp_path):
    # beats on the strap's clock, in 1/1024 s; they cross several 4-s (4096-tick) wraps
    anchor_ticks = 3_000_000_123
    rr_ticks = [800, 1000, 900, 3900, 700, 820, 1020, 990, 880]
    ticks = anchor_ticks + np.concatenate([[0], np.cumsum(rr_ticks)])
    ts, frac = T0 + 10, 0.25
    msgs = [definition(3, 132, [(253, 4, UINT32), (9, 4, UINT32), (0, 2, UINT16), (6, 1, UINT8)]),
            data(3, "IIHB", ts, anchor_ticks, int(frac * 32768), 70),
            definition(4, 132, [(6, 8, UINT8), (10, 12, BYTE)])]
    for block in (ticks[1:9], np.concatenate([ticks[9:], [ticks[-1]] * 7])):
        packed = 0
        for k, v in enumerate(block):
            packed |= (int(v) & 0xFFF) << (12 * k)
        msgs.append(data(4, "8B12s", *([72] * 8), packed.to_bytes(12, "little")))
    path = tmp_path / "h.fit"
    path.write_bytes(fit_file(FILE_ID + records(None, n=2) + msgs))
    rec = formats.read(path)
    expected_rr = np.array(rr_ticks) / 1024 * 1000
    keep = expected_rr <= 3000
    np.testing.assert_allclose(rec.rr_ms, expected_rr[keep])
    anchor_utc = FIT_EPOCH + timedelta(seconds=ts + frac)
    beat_utc = [anchor_utc + timedelta(seconds=(int(t) - anchor_ticks) / 1024) for t in ticks[1:]]
    got_utc = [rec.start + timedelta(seconds=float(t)) for t in rec.t_s]
    kept_utc = [b for b, k in zip(beat_utc, keep) if k]
    assert all(abs((g - e).total_seconds()) < 1e-5 for g, e in zip(got_utc, kept_utc))
    assert len(rec.gaps) == 1 and rec.gaps["duration_s"].iloc[0] == pytest.approx(3900 / 1024)
    assert list(rec.hr["hr_bpm"][:2]) == [70, 72]


def test_no_beat_data_gives_hr_only_with_a_note(tmp_path):
    path = tmp_path / "hr_only.fit"
    path.write_bytes(fit_file(FILE_ID + records([70, 72, 75, 74])))
    rec = formats.read(path)
    assert len(rec.beats) == 0
    assert list(rec.hr["hr_bpm"]) == [70, 72, 75, 74]
    assert list(rec.hr["t_s"]) == [0, 1, 2, 3]
    assert rec.meta["beats_source"] == "none"
    assert "no beat-to-beat data" in rec.meta["note"]


def test_no_heart_rate_at_all_is_a_format_error(tmp_path):
    path = tmp_path / "nothing.fit"
    path.write_bytes(fit_file(FILE_ID + records(None)))
    with pytest.raises(FormatError, match="no heart-rate data"):
        formats.read(path)


def test_damaged_crc_is_a_format_error(tmp_path):
    raw = bytearray(fit_file(FILE_ID + records([60, 61]) + hrv([(800, 810, 0xFFFF, 0xFFFF, 0xFFFF)])))
    raw[-1] ^= 0xFF
    path = tmp_path / "bad.fit"
    path.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="not a readable FIT file"):
        formats.read(path)
