"""Beat-table importer: the real VU-AMS export of WearableHRV, an Empatica E4 IBI.csv and generic
tables (including calmtrace's own beats.csv)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats import beat_table
from calmtrace.formats._text import UNKNOWN_START
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"


def test_real_vu_ams_export():
    path = shared_data("wearable-hrv-p37", "test_vu.txt")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("Subject Id:")
    header = lines[1].split("\t")
    rows = [ln.split("\t") for ln in lines[2:] if ln.strip()]
    i_time, i_cum, i_ibi = header.index("R-peak time"), header.index("ibi_cumulative"), header.index("ibi")
    first = datetime.strptime(rows[0][i_time], "%d-%m-%y/%H:%M:%S.%f").replace(tzinfo=timezone.utc)

    rec = formats.read(path)
    assert formats.detect(path).name == "beat-table"
    assert len(rec.beats) == len(rows) - 1 == 3040  # the first R peak opens the first interval
    assert rec.rr_ms.tolist() == [float(r[i_ibi]) for r in rows[1:]]
    assert rec.start == first
    assert rec.duration_s == pytest.approx(float(rows[-1][i_cum]) / 1000, abs=0.001)
    assert rec.t_s.tolist() == pytest.approx([float(r[i_cum]) / 1000 for r in rows[1:]], abs=0.001)
    assert len(rec.gaps) == 0
    assert rec.meta["subject"] == lines[0].split(":", 1)[1].strip() == "P37"
    assert rec.meta["model"] == "VU-AMS" and "taken as UTC" in rec.meta["clock"]
    assert set(rec.flags) == {"ok"}  # every row is marked O (original)


def test_vu_ams_interpolated_rows_labels_and_missing_beats(tmp_path):
    head = ("Subject Id: X1\nR-peak time\tibi_cumulative\tibi\tinterpolated\tLabelCode1\t\n")
    rows = [("01-05-24/09:30:00.000", 0, 0, "O", -9999),
            ("01-05-24/09:30:00.800", 800, 800, "O", 3),
            ("01-05-24/09:30:01.600", 1600, 800, "I", 3),
            ("01-05-24/09:30:05.000", 5000, 900, "O", -9999)]  # 2.5 s of beats missing before it
    p = tmp_path / "vu.txt"
    p.write_text(head + "".join(f"{a}\t{b}\t{c}\t{d}\t{e}\t\n" for a, b, c, d, e in rows))
    rec = formats.read(p)
    assert rec.flags.tolist() == ["ok", "interpolated", "ok"]
    assert rec.gaps["onset_s"].tolist() == pytest.approx([1.6])
    assert rec.gaps["duration_s"].tolist() == pytest.approx([5.0 - 0.9 - 1.6])
    ev = rec.events.df
    assert ev["label"].tolist() == ["LabelCode1 3"]
    assert ev["onset_s"].tolist() == pytest.approx([0.8]) and ev["offset_s"].tolist() == pytest.approx([1.6])


def test_e4_ibi_csv_with_gap():
    path = DATA / "txt_e4_IBI.csv"
    lines = path.read_text().splitlines()
    rows = [[float(x) for x in ln.split(",")] for ln in lines[1:]]
    rec = formats.read(path)
    assert formats.detect(path).name == "beat-table"
    assert rec.start == datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=float(lines[0].split(",")[0]))
    assert rec.t_s.tolist() == pytest.approx([r[0] for r in rows])
    assert rec.rr_ms.tolist() == pytest.approx([r[1] * 1000 for r in rows])
    # where a beat's interval began well after the previous beat, beats were missed
    expected = [(a[0], b[0] - b[1] - a[0]) for a, b in zip(rows, rows[1:]) if b[0] - b[1] - a[0] > 0.25]
    assert len(expected) == 1
    assert rec.gaps["onset_s"].tolist() == pytest.approx([expected[0][0]])
    assert rec.gaps["duration_s"].tolist() == pytest.approx([expected[0][1]])
    assert rec.meta["clock"].startswith("UTC")


def test_calmtrace_beats_csv_reads_back_with_flags(tmp_path):
    p = tmp_path / "beats.csv"
    p.write_text("t_s,rr_ms,flag\n0.8,800.0,ok\n1.61,810.0,ectopic\n2.4,790.0,ok\n")
    rec = formats.read(p)
    assert formats.detect(p).name == "beat-table"
    assert rec.t_s.tolist() == pytest.approx([0.8, 1.61, 2.4])
    assert rec.flags.tolist() == ["ok", "ectopic", "ok"]
    assert rec.start == UNKNOWN_START and rec.meta["start_unknown"] is True
    assert rec.meta["time_offset_s"] == pytest.approx(0.0)


def test_times_only_and_rr_only_and_datetimes(tmp_path):
    p = tmp_path / "peaks.csv"
    p.write_text("beat_time_s\n10.0\n10.8\n11.7\n")
    rec = formats.read(p, format="beat-table")
    assert rec.rr_ms.tolist() == pytest.approx([800.0, 900.0])
    assert rec.t_s.tolist() == pytest.approx([0.8, 1.7])  # t = 0 where the first interval begins
    assert rec.meta["time_offset_s"] == pytest.approx(10.0)

    p = tmp_path / "ibi.csv"
    p.write_text("IBI (s)\n0.8\n0.9\n")
    rec = formats.read(p, format="beat-table")
    assert rec.rr_ms.tolist() == pytest.approx([800.0, 900.0])

    p = tmp_path / "abs.csv"
    p.write_text("time;rr\n2024-05-01T09:30:00.800+02:00;800\n2024-05-01T09:30:01.700+02:00;900\n")
    rec = formats.read(p, format="beat-table")
    assert rec.start == datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)
    assert rec.meta["utc_offset"] == "+02:00"


@pytest.mark.parametrize("text,line,needle", [
    ("t_s,rr_ms\n1.0,800\n0.5,800\n", 3, "time column 't_s' goes back"),
    ("t_s,rr_ms\n1.0,800\n2.0,x\n", 3, "rr_ms must be a number"),
    ("t_s,rr_ms\n1.0,800\n1.8,800\n2.6,-1\n", 4, "-1 ms is negative"),
    ("t_s,rr_ms\n1.0,800\n2.0,800,5\n", 3, "3 comma-separated fields but the header has 2"),
])
def test_bad_rows_name_the_line(tmp_path, text, line, needle):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(FormatError, match=rf"bad\.csv line {line}: {needle}"):
        formats.read(p, format="beat-table")


def test_unknown_header(tmp_path):
    p = tmp_path / "u.csv"
    p.write_text("foo,bar\n1,2\n")
    with pytest.raises(FormatError, match="no beat-time or interval column"):
        formats.read(p, format="beat-table")


def test_sniff():
    assert beat_table.sniff(Path("a.txt"), b"Subject Id: P1\nR-peak time\tibi_cumulative\tibi\n") == 95
    assert beat_table.sniff(Path("a.csv"), b"1622541600.000000, IBI\n") == 95
    assert beat_table.sniff(Path("a.csv"), b"t_s,rr_ms\n") == 55
    # an events file with a timestamp column is not a beat table
    assert beat_table.sniff(Path("e.csv"), b"timestamp,conditions,datapoint\n") == 0


def test_cli_import_of_real_file_with_events(tmp_path):
    from click.testing import CliRunner

    from calmtrace.cli import cli
    from calmtrace.store import load_folder

    vu = shared_data("wearable-hrv-p37", "test_vu.txt")
    events = shared_data("wearable-hrv-p37", "test_events.csv")
    n_beats = sum(1 for ln in vu.read_text().splitlines()[2:] if ln.strip()) - 1
    n_events = sum(1 for ln in events.read_text().splitlines() if ln.endswith(",start"))
    out = tmp_path / "p37"
    result = CliRunner().invoke(cli, ["import", str(vu), "--out", str(out), "--events", str(events)])
    assert result.exit_code == 0, result.output
    assert f"{n_beats} beats" in result.output and "beat-table" in result.output
    rec = load_folder(out)
    assert len(rec.beats) == n_beats and len(rec.events) == n_events
    assert rec.meta["source_file"] == "test_vu.txt"


def test_vu_ams_blank_line_after_subject(tmp_path):
    # found by fuzzing: the layout check skipped the blank line, the reader did not
    p = tmp_path / "vu.txt"
    p.write_text("Subject Id: P1\n\nR-peak time\tibi_cumulative\tibi\tinterpolated\n"
                 "01-05-24/09:30:00.000\t0\t0\tO\n01-05-24/09:30:00.800\t800\t800\tO\n")
    rec = formats.read(p)
    assert rec.rr_ms.tolist() == [800.0] and rec.meta["subject"] == "P1"


@pytest.mark.parametrize("text", ["t_s,rr_ms\n1.0,800\n1.8,800\n2.6,0\n3.4,800\n4.2,800\n",
                                  "t_s,rr_ms\n1.0,800\n1.8,800\n2.6\n3.4,800\n4.2,800\n"])
def test_a_zero_or_missing_interval_is_a_removed_beat_not_a_refusal(tmp_path, text):
    p = tmp_path / "b.csv"
    p.write_text(text)
    rec = formats.read(p, format="beat-table")
    # the row at 2.6 s is removed; its beat time stays known, so the gap runs from the beat
    # before it (1.8 s) to where the next usable interval begins (3.4 - 0.8 = 2.6 s)
    assert rec.rr_ms.tolist() == [800, 800, 800, 800]
    assert (rec.t_s + 0.2).tolist() == pytest.approx([1.0, 1.8, 3.4, 4.2])
    assert len(rec.gaps) == 1 and rec.gaps["duration_s"].iloc[0] == pytest.approx(0.8)
    assert any("removed beat" in n for n in rec.meta["import_notes"])


def test_a_time_column_with_no_time_on_any_row_is_one_line(tmp_path):
    # found by fuzzing: a third column named like a time column, empty on every row
    p = tmp_path / "t.txt"
    p.write_text("ime;rr;T\n2024-05-01T09:30:00.800+02:00;800\n2024-05-01T09:30:01.700+02:00;900\n", encoding="utf-8")
    with pytest.raises(FormatError, match="no time on any row"):
        formats.read(p, format="beat-table")
