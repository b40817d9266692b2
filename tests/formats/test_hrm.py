"""Polar .hrm importer: the real S810 R-R file of the ``hrv`` package and synthetic files.

The test reads [Params], [IntTimes] and [HRData] with plain string handling to get its own figures.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats import hrm
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"


def _section(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    i = lines.index(f"[{name}]")
    out = []
    for ln in lines[i + 1:]:
        if ln.startswith("["):
            break
        out.append(ln)
    return out


def _hms(text: str) -> float:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_real_rr_file():
    path = shared_data("polar-hrm", "exercise_rri.hrm")
    text = path.read_text()
    params = dict(ln.split("=", 1) for ln in _section(text, "Params") if "=" in ln)
    rr = [int(ln.split()[0]) for ln in _section(text, "HRData") if ln.strip()]
    d, st = params["Date"], params["StartTime"]
    start = datetime(int(d[:4]), int(d[4:6]), int(d[6:]), tzinfo=timezone.utc).timestamp() + _hms(st)

    rec = formats.read(path)
    assert len(rec.beats) == len(rr) == 4117
    assert rec.rr_ms.tolist() == [float(x) for x in rr]
    assert rec.start.timestamp() == pytest.approx(start)
    assert rec.duration_s == pytest.approx(sum(rr) / 1000)
    assert rec.duration_s == pytest.approx(_hms(params["Length"]), abs=1.0)  # the file's own Length
    assert "taken as UTC" in rec.meta["clock"]
    assert rec.meta["monitor_code"] == params["Monitor"] == "13"
    assert "S810" in rec.meta["model"]  # Monitor 13 in Polar's HRM format description
    assert len(rec.gaps) == 0
    # laps: the lines of [IntTimes] that start with a time
    laps = [_hms(ln.split()[0]) for ln in _section(text, "IntTimes") if ln.split() and ":" in ln.split()[0]]
    ev = rec.events.df
    assert ev["label"].tolist() == [f"lap {i}" for i in range(1, len(laps) + 1)]
    assert ev["offset_s"].tolist() == pytest.approx(laps)
    assert ev["onset_s"].tolist() == pytest.approx([0.0] + laps[:-1])
    assert set(ev["kind"]) == {"note"}


def test_real_file_is_detected():
    assert formats.detect(shared_data("polar-hrm", "exercise_rri.hrm")).name == "hrm"


def test_hr_mode_file_gives_device_hr_and_noted_laps():
    path = DATA / "txt_hrm_hr_mode.hrm"
    text = path.read_text()
    hr = [int(ln) for ln in _section(text.replace("\r", ""), "HRData") if ln.strip()]
    rec = formats.read(path)
    assert len(rec.beats) == 0
    # Interval=5: one sample every 5 s; 0 means no reading
    assert rec.hr["hr_bpm"].tolist() == [float(v) for v in hr if v > 0]
    assert rec.hr["t_s"].tolist() == [5.0 * i for i, v in enumerate(hr) if v > 0]
    assert rec.start == datetime(2005, 4, 30, 17, 5, 12, tzinfo=timezone.utc)
    assert rec.meta["note"] == "Easy run by the river"
    assert rec.meta["model"].startswith("Polar S710")
    ev = rec.events.df
    assert ev["label"].tolist() == ["lap 1", "lap 2: hill sprint effort"]
    assert ev["kind"].tolist() == ["note", "stressor"]  # "effort" in the lap note
    assert ev["onset_s"].tolist() == [0.0, 20.0] and ev["offset_s"].tolist() == [20.0, 55.0]


def _hrm(tmp_path: Path, hrdata: str, interval: str = "238", date: str = "20240501") -> Path:
    p = tmp_path / "x.hrm"
    p.write_text(f"[Params]\nVersion=106\nMonitor=37\nDate={date}\nStartTime=09:30:00.0\n"
                 f"Interval={interval}\n\n[HRData]\n{hrdata}")
    return p


def test_zero_rr_names_the_line(tmp_path):
    with pytest.raises(FormatError, match=r"x\.hrm line 11: RR interval must be a positive"):
        formats.read(_hrm(tmp_path, "800\n810\n0\n"), format="hrm")


def test_text_in_hrdata_names_the_line(tmp_path):
    with pytest.raises(FormatError, match=r"x\.hrm line 10: RR interval must be a number, got 'eight'"):
        formats.read(_hrm(tmp_path, "800\neight\n"), format="hrm")


def test_bad_date_and_interval(tmp_path):
    with pytest.raises(FormatError, match=r"line 4: Date is not a valid date"):
        formats.read(_hrm(tmp_path, "800\n", date="20241340"), format="hrm")
    with pytest.raises(FormatError, match=r"Interval must be 238"):
        formats.read(_hrm(tmp_path, "60\n", interval="0"), format="hrm")


def test_missing_sections(tmp_path):
    p = tmp_path / "y.hrm"
    p.write_text("[Params]\nDate=20240501\nStartTime=09:30:00.0\nInterval=238\n")
    with pytest.raises(FormatError, match="no \\[HRData\\]"):
        formats.read(p, format="hrm")
    p.write_text("800\n900\n")
    with pytest.raises(FormatError, match="expected \\[Params\\]"):
        formats.read(p, format="hrm")


def test_sniff():
    assert hrm.sniff(Path("a.hrm"), b"[Params]\r\nVersion=106\r\nMonitor=12\r\n") == 95
    assert hrm.sniff(Path("a.txt"), b"800\n900\n") == 0
    assert hrm.sniff(Path("a.txt"), b"\x00\x01") == 0
