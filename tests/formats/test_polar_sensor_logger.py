"""Polar Sensor Logger importer: real Verity Sense files and a synthetic H10 session.

Expected figures come from reading the files with plain Python in the test (csv rows, datetime
parsing), never from the importer.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats import polar_sensor_logger as psl
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"
H10 = DATA / "txt_psl_h10"
H10_RR = H10 / "Polar_H10_A1B2C3D4_20240501_093000_RR.txt"
H10_HR = H10 / "Polar_H10_A1B2C3D4_20240501_093000_HR.txt"


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    return [ln.split(";") for ln in lines[1:] if ln.strip()]


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)


def _runs(mask: list[bool]) -> int:
    return sum(1 for i, m in enumerate(mask) if m and (i == 0 or not mask[i - 1]))


# -------------------------------------------------------------------------------------------
# real files (BIOBSS sample record, Polar Verity Sense)
# -------------------------------------------------------------------------------------------
def test_real_ppi_beats_gaps_hr_and_marker():
    path = shared_data("polar-sensor-logger-verity", "Polar_Sense_PPI.txt")
    rows = _rows(path)
    # header: Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]
    blocked = [r[3].strip() == "1" for r in rows]
    kept_pp = [float(r[1]) for r, b in zip(rows, blocked) if not b]
    rec = formats.read(path)

    assert len(rec.beats) == len(kept_pp) == 421
    assert rec.rr_ms.tolist() == kept_pp
    # each run of blocked rows is one gap lasting exactly the blocked intervals
    assert len(rec.gaps) == _runs(blocked)
    blocked_s = sum(float(r[1]) for r, b in zip(rows, blocked) if b) / 1000
    assert rec.gaps["duration_s"].sum() == pytest.approx(blocked_s, abs=1e-6)
    assert set(rec.gaps["reason"]) == {"import"}
    # start and end within the 3-s clock tolerance of the phone times (a row's time opens its
    # interval, so the last interval closes at last time + last PP)
    first, last = _when(rows[0][0]), _when(rows[-1][0])
    assert abs((rec.start - first).total_seconds()) <= psl.PPI_TOLERANCE_S
    span = (last - first).total_seconds() + float(rows[-1][1]) / 1000
    assert rec.duration_s == pytest.approx(span, abs=psl.PPI_TOLERANCE_S)
    # device HR: every row with hr > 0
    assert len(rec.hr) == sum(1 for r in rows if float(r[6]) > 0)
    # the MARKER.txt beside it: one start/stop pair
    marks = _rows(path.parent / "MARKER.txt")
    assert len(rec.events) == 1
    ev = next(iter(rec.events))
    assert ev.kind == "note" and ev.label == "marker 1"
    assert ev.duration_s == pytest.approx((_when(marks[1][0]) - _when(marks[0][0])).total_seconds(), abs=1e-6)
    assert ev.onset_s == pytest.approx((_when(marks[0][0]) - first).total_seconds()
                                       - (rec.start - first).total_seconds(), abs=1e-6)
    assert rec.meta["model"] == "Polar Sense"
    assert "taken as UTC" in rec.meta["clock"] and "utc_offset" not in rec.meta
    assert rec.meta["ppi_blocked"] == sum(blocked)


def test_real_hr_file_gives_device_hr_only():
    path = shared_data("polar-sensor-logger-verity", "Polar_Sense_HR.txt")
    rows = _rows(path)
    positive = [r for r in rows if float(r[1]) > 0]
    rec = formats.read(path)
    assert len(rec.beats) == 0
    assert len(rec.hr) == len(positive)
    assert rec.hr["hr_bpm"].tolist() == [float(r[1]) for r in positive]
    assert rec.start == _when(rows[0][0])
    assert rec.duration_s == pytest.approx((_when(positive[-1][0]) - _when(rows[0][0])).total_seconds())
    assert len(rec.events) == 1


@pytest.mark.parametrize("name", ["Polar_Sense_ACC.HEAD500.txt", "Polar_Sense_PPG.HEAD500.txt"])
def test_real_motion_and_ppg_files_are_refused_with_reason(name):
    path = shared_data("polar-sensor-logger-verity", name)
    assert formats.detect(path).name == "polar-sensor-logger"
    with pytest.raises(FormatError, match="not heartbeats"):
        formats.read(path)


def test_real_marker_file_alone_is_refused():
    path = shared_data("polar-sensor-logger-verity", "MARKER.txt")
    with pytest.raises(FormatError, match="only markers"):
        formats.read(path)


@pytest.mark.parametrize("name", ["Polar_Sense_PPI.txt", "Polar_Sense_HR.txt"])
def test_real_files_are_detected(name):
    assert formats.detect(shared_data("polar-sensor-logger-verity", name)).name == "polar-sensor-logger"


# -------------------------------------------------------------------------------------------
# synthetic H10 session: RR + HR + MARKER files, 8 beats lost in the middle
# -------------------------------------------------------------------------------------------
def test_h10_rr_with_sibling_hr_markers_and_lost_beats():
    rows = _rows(H10_RR)
    rr = [float(r[1]) for r in rows]
    rec = formats.read(H10_RR)
    assert rec.rr_ms.tolist() == rr
    assert rec.meta["model"] == "Polar H10" and rec.meta["device_id"] == "A1B2C3D4"
    # the phone clock jumps ahead of the intervals where beats were lost: one gap of that size
    times = [_when(r[0]) for r in rows]
    lags = [(t - times[0]).total_seconds() - sum(rr[1:i + 1]) / 1000 for i, t in enumerate(times)]
    jump = max(b - a for a, b in zip(lags, lags[1:]))
    assert jump > 5  # the fixture's loss, seen from the file alone
    assert len(rec.gaps) == 1
    assert rec.gaps["duration_s"].iloc[0] == pytest.approx(jump, abs=0.01)
    # beats are spaced by their intervals, except across the gap, which adds its length
    excess = np.diff(rec.t_s) - np.array(rr[1:]) / 1000
    assert np.count_nonzero(np.abs(excess) > 1e-9) == 1
    assert excess.max() == pytest.approx(rec.gaps["duration_s"].iloc[0])
    # HR samples from the sibling HR file (HR 0 is "no reading" and skipped)
    hr_rows = _rows(H10_HR)
    assert len(rec.hr) == sum(1 for r in hr_rows if float(r[1]) > 0)
    assert rec.meta["hr_file"] == H10_HR.name
    # markers: a labelled start/stop pair (kind from the label) and an unclosed start
    ev = rec.events.df
    assert ev["label"].tolist() == ["speech", "marker 2"]
    assert ev["kind"].tolist() == ["stressor", "note"]
    marks = _rows(H10 / "MARKER_20240501_093000.txt")
    assert ev["duration_s"].iloc[0] == pytest.approx((_when(marks[1][0]) - _when(marks[0][0])).total_seconds())
    assert ev["offset_s"].iloc[1] == pytest.approx(rec.duration_s)


def test_h10_hr_file_takes_beats_from_sibling_rr():
    rec_hr = formats.read(H10_HR)
    rec_rr = formats.read(H10_RR)
    assert rec_hr.rr_ms.tolist() == rec_rr.rr_ms.tolist()
    assert len(rec_hr.hr) == len(rec_rr.hr)
    assert rec_hr.start == rec_rr.start


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_hr_file_with_rr_column_repeats_hr_once_per_notification(tmp_path):
    text = ("Phone timestamp;sensor timestamp [ns];HR [bpm];RR-interval [ms]\n"
            "2024-05-01T09:30:01.100;0;60;900\n"
            "2024-05-01T09:30:01.100;0;60;950\n"
            "2024-05-01T09:30:02.100;0;62;\n"
            "2024-05-01T09:30:03.100;0;63;1000\n")
    rec = formats.read(_write(tmp_path / "x_HR.txt", text))
    assert rec.rr_ms.tolist() == [900.0, 950.0, 1000.0]
    assert rec.hr["hr_bpm"].tolist() == [60.0, 62.0, 63.0]


def test_ppi_lost_contact_becomes_no_contact_gap(tmp_path):
    text = ("Phone timestamp;sensor timestamp [ns];HR [bpm];PP-interval [ms];error estimate [ms];"
            "blocker;skin contact;skin contact supported\n"
            "2024-05-01T09:30:01.000;0;60;1000;5;0;1;1\n"
            "2024-05-01T09:30:02.000;0;60;1000;5;0;0;1\n"
            "2024-05-01T09:30:03.000;0;60;1000;5;0;0;1\n"
            "2024-05-01T09:30:04.000;0;60;1000;5;0;1;1\n")
    rec = formats.read(_write(tmp_path / "x_PPI.txt", text))
    assert len(rec.beats) == 2
    assert rec.gaps["reason"].tolist() == ["no-contact"]
    assert rec.gaps["duration_s"].iloc[0] == pytest.approx(2.0)


@pytest.mark.parametrize("value,needle", [("-3", "positive"), ("abc", "must be a number"),
                                          ("70000", "longer than 60 s")])
def test_bad_rr_names_file_and_line(tmp_path, value, needle):
    text = ("Phone timestamp;RR-interval [ms]\n2024-05-01T09:30:01.000;800\n"
            f"2024-05-01T09:30:02.000;{value}\n")
    path = _write(tmp_path / "bad_RR.txt", text)
    with pytest.raises(FormatError, match=rf"bad_RR\.txt line 3: .*{needle}"):
        formats.read(path, format="polar-sensor-logger")


def test_bad_timestamp_names_line(tmp_path):
    path = _write(tmp_path / "t_RR.txt", "Phone timestamp;RR-interval [ms]\nyesterday;800\n")
    with pytest.raises(FormatError, match=r"line 2: Phone timestamp must be a date and time"):
        formats.read(path, format="polar-sensor-logger")


def test_sniff_scores():
    ecg = b"Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n2024-05-01T09:30:01.000;1;0.0;12\n"
    assert psl.sniff(Path("x_ECG.txt"), ecg) == 0
    assert psl.sniff(Path("x.txt"), b"time,rr\n1,2\n") == 0
    assert psl.sniff(Path("x.txt"), b"\x00\xff\xfe") == 0
    assert psl.sniff(H10_RR, H10_RR.read_bytes()) == 95
    assert formats.detect(H10_RR).name == "polar-sensor-logger"


def test_no_rows_is_an_error(tmp_path):
    path = _write(tmp_path / "e_RR.txt", "Phone timestamp;RR-interval [ms]\n")
    with pytest.raises(FormatError, match="no data rows"):
        formats.read(path)
