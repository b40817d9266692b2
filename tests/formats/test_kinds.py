"""More files of the quirk kinds of ../shared/cases, in layouts the cases do not show.

Each file is written here from a known series; the expected figures are that series.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError

RR = np.array([812, 790, 805, 830, 845, 820, 798, 776, 801, 822, 840, 815, 790, 770, 800, 825], float)


def test_quoted_decimal_commas_in_a_comma_file(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes(b"\xef\xbb\xbf" + ("RR [s]\r\n" + "".join(f'"{v / 1000:.3f}"\r\n'.replace(".", ",") for v in RR))
                  .encode())
    rec = formats.read(p)
    np.testing.assert_allclose(rec.rr_ms, RR)
    assert any("decimal comma" in n for n in rec.meta["import_notes"])


def test_semicolon_excel_export_with_decimal_commas_and_times(tmp_path):
    t = np.cumsum(RR) / 1000
    p = tmp_path / "export.csv"
    p.write_text("Time (s);RR (ms)\n" + "".join(f"{x:.3f};{v:.1f}\n".replace(".", ",") for x, v in zip(t, RR)))
    rec = formats.read(p)
    np.testing.assert_allclose(rec.rr_ms, RR)
    np.testing.assert_allclose(np.diff(rec.t_s), RR[1:] / 1000, atol=1e-9)


def test_kubios_header_with_units_in_brackets_separated_by_spaces(tmp_path):
    t = np.cumsum(RR) / 1000
    p = tmp_path / "kubios.txt"
    p.write_text("Time (s)  RR (s)\n" + "".join(f"{x:.3f}  {v / 1000:.3f}\n" for x, v in zip(t, RR)))
    rec = formats.read(p)
    np.testing.assert_allclose(rec.rr_ms, RR)


@pytest.mark.parametrize("header,row", [
    ("date,rr,since start", "2024-05-01 09:30:15.123,1,139,1139"),       # HRV Logger
    ("time,ecg", "0.004,0,0035"),                                        # ECG table
])
def test_rows_longer_than_the_header_are_refused_in_app_layouts(tmp_path, header, row):
    p = tmp_path / "long.csv"
    extra = "# fs_hz = 250\n" if "ecg" in header else ""
    p.write_text(extra + header + "\n" + row + "\n" + row + "\n")
    with pytest.raises(FormatError, match=r"long\.csv line \d: .*fields but the header has"):
        formats.read(p)


def test_arrival_log_with_clock_times_only(tmp_path):
    beat = np.cumsum(RR) / 1000
    arrival = np.floor(beat + 0.3)
    p = tmp_path / "log.csv"
    p.write_text("time,rr\n" + "".join(
        f"{(datetime(2024, 1, 1, 23, 59, 55) + timedelta(seconds=float(a))).strftime('%H:%M:%S')},{v:g}\n"
        for a, v in zip(arrival, RR)))
    rec = formats.read(p)
    assert rec.rr_ms.tolist() == RR.tolist() and len(rec.gaps) == 0  # across midnight
    assert rec.meta["start_unknown"] is True


def test_spring_forward_in_a_polar_sensor_logger_file(tmp_path):
    beat = np.cumsum(np.tile(RR, 10)) / 1000
    rr = np.tile(RR, 10)
    t0 = datetime(2024, 3, 31, 1, 58)
    clock = [t0 + timedelta(seconds=float(b + 0.4)) for b in beat]
    clock = [c + timedelta(hours=1) if c >= datetime(2024, 3, 31, 2, 0) else c for c in clock]
    p = tmp_path / "Polar_H10_X_20240331_015800_RR.txt"
    p.write_text("Phone timestamp;RR-interval [ms]\n" + "".join(
        f"{c.isoformat(timespec='milliseconds')};{v:g}\n" for c, v in zip(clock, rr)))
    rec = formats.read(p)
    assert len(rec.gaps) == 0 and rec.rr_ms.tolist() == rr.tolist()
    (change,) = rec.meta["clock_changes"]
    assert change["step_s"] == 3600.0
    assert abs((rec.start.replace(tzinfo=None) - t0).total_seconds()) < 1.0
    zoned = formats.read(p, options=formats.ImportOptions(timezone="Europe/Berlin"))
    assert abs((zoned.start - datetime(2024, 3, 31, 0, 58, tzinfo=timezone.utc)).total_seconds()) < 1.0


def test_microseconds_and_offset_first_value_in_ms(tmp_path):
    p = tmp_path / "us.txt"
    p.write_text("\n".join(f"{v * 1000:.0f}" for v in RR) + "\n")
    np.testing.assert_allclose(formats.read(p).rr_ms, RR)
    q = tmp_path / "offset.txt"
    q.write_text("225800\n" + "\n".join(f"{v:g}" for v in RR) + "\n")
    rec = formats.read(q)
    np.testing.assert_allclose(rec.t_s, 225.8 + np.cumsum(RR) / 1000)
    assert rec.gaps["duration_s"].tolist() == [225.8]


def test_table_with_rr_and_heart_rate_uses_the_intervals(tmp_path):
    p = tmp_path / "rr_hr.csv"
    p.write_text("RR,HR\n" + "".join(f"{v:g},{60000 / v:.0f}\n" for v in RR))
    rec = formats.read(p)
    assert rec.rr_ms.tolist() == RR.tolist()
    assert any("heart rate" in n for n in rec.meta["import_notes"])


def test_clock_times_cannot_be_placed_on_an_unknown_start(tmp_path):
    from calmtrace.errors import EventsError
    from calmtrace.loader import load

    p = tmp_path / "rr.txt"
    p.write_text("\n".join(f"{v:g}" for v in RR) + "\n")
    ev = tmp_path / "ev.csv"
    ev.write_text("onset,label\n09:00,speech\n")
    with pytest.raises(EventsError, match=r"ev\.csv line 2: .*start is unknown"):
        load(p, events=ev)
    ev.write_text("onset,label\n2.5,speech\n")
    assert list(load(p, events=ev).events)[0].onset_s == 2.5
    # with --start the same clock time lands where it should
    ev.write_text("onset,label\n09:00:05,speech\n")
    rec = load(p, events=ev, options=formats.ImportOptions(start=datetime(2024, 5, 1, 9, tzinfo=timezone.utc)))
    assert list(rec.events)[0].onset_s == 5.0


def test_ecg_table_without_a_rate_takes_fs_option(tmp_path):
    nk = pytest.importorskip("neurokit2")
    fs = 250
    ecg = nk.ecg_simulate(duration=30, sampling_rate=fs, heart_rate=70, noise=0.0, random_state=1)
    p = tmp_path / "ecg.csv"
    p.write_text("ECG\n" + "".join(f"{v:.5f}\n" for v in ecg))
    with pytest.raises(FormatError, match="--fs"):
        formats.read(p)
    rec = formats.read(p, options=formats.ImportOptions(fs_hz=fs))
    assert rec.meta["ecg_fs_source"] == "--fs"
    assert 60000 / np.median(rec.rr_ms) == pytest.approx(70, abs=3)  # the simulated heart rate
    with pytest.raises(Exception, match="does not apply"):
        formats.read(p, options=formats.ImportOptions(unit="ms"))


@pytest.mark.realdata
def test_fit_local_timestamp_gives_the_utc_offset():
    fitdecode = pytest.importorskip("fitdecode")
    from tests.conftest import shared_data

    path = shared_data("garmin-fit", "garmin-fenix-5-run.fit")
    with fitdecode.FitReader(str(path)) as reader:
        act = next(f for f in reader if f.frame_type == fitdecode.FIT_FRAME_DATA and f.name == "activity")
        offset_s = act.get_field("local_timestamp").raw_value - act.get_field("timestamp").raw_value
    rec = formats.read(path)
    sign = "+" if offset_s >= 0 else "-"
    assert rec.meta["utc_offset"] == f"{sign}{abs(offset_s) // 3600:02d}:{abs(offset_s) % 3600 // 60:02d}"


def test_diary_in_an_iana_zone_across_the_end_of_daylight_saving(tmp_path):
    from calmtrace.errors import EventsError
    from calmtrace.loader import load

    # epoch (UTC) arrival log over the night of 2024-10-27 in Berlin: 00:30-04:30 local
    start = datetime(2024, 10, 26, 22, 30, tzinfo=timezone.utc)
    rr = np.tile(RR, 1200)[:17000]
    beat = np.cumsum(rr) / 1000
    p = tmp_path / "night.csv"
    p.write_text("timestamp,rr\n" + "".join(f"{(start - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() + b + 0.3:.3f},{v:g}\n"
                                            for b, v in zip(beat, rr)))
    opts = formats.ImportOptions(timezone="Europe/Berlin")
    ev = tmp_path / "diary.csv"
    ev.write_text("onset,label\n02:30,woke up\n")  # shown twice in Berlin that night
    with pytest.raises(EventsError, match=r"diary\.csv line 2: .*ambiguous"):
        load(p, events=ev, options=opts)
    ev.write_text("onset,label\n03:10,alarm\n")  # 03:10 CET = 02:10 UTC = 3 h 40 min after the start
    rec = load(p, events=ev, options=opts)
    assert list(rec.events)[0].onset_s == pytest.approx(220 * 60 - (rec.start - start).total_seconds())
