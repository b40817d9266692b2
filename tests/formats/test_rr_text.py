"""Plain RR text importer: real lists from the hrv package and PhysioNet, synthetic edge cases.

The test counts and sums the numeric lines itself.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats import rr_text
from calmtrace.formats._text import UNKNOWN_START
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"


def _numbers(path: Path) -> list[float]:
    return [float(ln) for ln in path.read_text().splitlines() if ln.strip()]


@pytest.mark.parametrize("folder,name", [
    ("polar-hrm", "real_rri.txt"),
    ("polar-hrm", "rest_rri.txt"),
    ("physionet-rr-24h", "Chapter8__healthy_ms__000.txt"),
])
def test_real_lists(folder, name):
    path = shared_data(folder, name)
    values = _numbers(path)
    trailing = 0
    while values and values[-1] == 0:
        values.pop()
        trailing += 1
    rec = formats.read(path)
    assert formats.detect(path).name == "rr-text"
    assert len(rec.beats) == len(values)
    assert rec.rr_ms.tolist() == values
    assert rec.duration_s == pytest.approx(sum(values) / 1000)
    assert rec.start == UNKNOWN_START and rec.meta["start_unknown"] is True
    assert rec.meta["rr_unit"] == "ms"
    assert rec.meta.get("trailing_zeros_dropped", 0) == trailing


def test_real_24h_list_size():
    path = shared_data("physionet-rr-24h", "Chapter8__healthy_ms__000.txt")
    rec = formats.read(path)
    assert len(rec.beats) > 80_000 and rec.duration_s > 20 * 3600  # about a day, as PhysioNet says


def test_trailing_zero_of_hrv_package_file_is_dropped():
    rec = formats.read(shared_data("polar-hrm", "real_rri.txt"))
    assert rec.meta["trailing_zeros_dropped"] == 1


def test_start_from_elite_hrv_file_name():
    path = DATA / "txt_2024-05-01 09-30-00.txt"
    rec = formats.read(path)
    assert rec.start == datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
    assert "taken as UTC" in rec.meta["clock"] and "start_unknown" not in rec.meta
    assert rec.rr_ms.tolist() == _numbers(path)


@pytest.mark.parametrize("name,expected", [
    ("rec_20240501_093015.txt", datetime(2024, 5, 1, 9, 30, 15, tzinfo=timezone.utc)),
    ("20240501-093015 RR.txt", datetime(2024, 5, 1, 9, 30, 15, tzinfo=timezone.utc)),
    ("2024-05-01T09.30.15.txt", datetime(2024, 5, 1, 9, 30, 15, tzinfo=timezone.utc)),
    ("20241399_093015.txt", None),   # not a date
    ("rest_rri.txt", None),
])
def test_start_from_name(name, expected):
    assert rr_text.start_from_name(name) == expected


def test_seconds_are_detected_by_the_median_rule(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("RR\n0.812\n0.790\n0.805\n")
    rec = formats.read(p, format="rr-text")
    assert rec.rr_ms.tolist() == pytest.approx([812.0, 790.0, 805.0])
    assert rec.meta["rr_unit"] == "s"


@pytest.mark.parametrize("text,line,needle", [
    ("800\n810\nabc\n", 3, "must be a number"),
    ("800\n-5\n810\n820\n", 2, "negative, not an interval"),
    ("800\n810 820\n", 2, "2 fields where line 1 has 1"),
    ("800\n810\n820\n830,5\n830.5\n", 4, "decimal mark is ambiguous"),
])
def test_bad_values_name_the_line(tmp_path, text, line, needle):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(FormatError, match=rf"bad\.txt line {line}: .*{needle}"):
        formats.read(p, format="rr-text")


@pytest.mark.parametrize("text,kept,gap_s", [
    ("800\n0\n810\n820\n", [800, 810, 820], 0.81),        # 0: a removed beat, length unknown
    ("# comment\n800\n90000\n810\n820\n", [800, 810, 820], 90.0),  # too long: a gap of its length
    ("800\n810\n\n820\n830\n", [800, 810, 820, 830], 0.815),  # a blank line inside: a missing value
    ("0.8\n0.9\n0.1e309\n0.85\n", [800, 900, 850], 0.85),   # found by fuzzing: overflowed when scaled
])
def test_implausible_values_are_gaps_not_refusals(tmp_path, text, kept, gap_s):
    p = tmp_path / "gap.txt"
    p.write_text(text)
    rec = formats.read(p, format="rr-text")
    assert rec.rr_ms.tolist() == pytest.approx(kept)
    assert len(rec.gaps) == 1 and rec.gaps["duration_s"].iloc[0] == pytest.approx(gap_s)
    assert rec.meta["import_notes"]


def test_empty_and_zero_only(tmp_path):
    p = tmp_path / "z.txt"
    p.write_text("0\n0\n")
    with pytest.raises(FormatError, match="no RR intervals"):
        formats.read(p, format="rr-text")


def test_sniff():
    assert rr_text.sniff(Path("a.txt"), b"800\n810\n790\n") == 40
    assert rr_text.sniff(Path("a.txt"), b"RR\n0.8\n0.81\n0.79\n") == 40
    assert rr_text.sniff(Path("a.txt"), b"800\n") == 0  # too little to tell
    assert rr_text.sniff(Path("a.txt"), b"0.000 0.797\n0.852 0.852\n1.699 0.847\n") == 40  # Kubios time, RR
    assert rr_text.sniff(Path("a.txt"), b"[Params]\nVersion=106\n") == 0
    assert rr_text.sniff(Path("a.txt"), b"800;1\n810;2\n790;3\n") == 10  # RR in the first column: not Kubios
