"""Events files: the real WearableHRV events of participant 37 and synthetic tables, JSON and
diaries."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import calmtrace
from calmtrace.errors import EventsError
from calmtrace.formats.events_file import infer_kind, read_events
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"
START = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_real_start_end_rows_against_the_vu_recording():
    vu = shared_data("wearable-hrv-p37", "test_vu.txt")
    path = shared_data("wearable-hrv-p37", "test_events.csv")
    rec = calmtrace.load(vu)
    rows = [ln.split(",") for ln in path.read_text().splitlines()[1:] if ln.strip()]
    day = rec.start.replace(hour=0, minute=0, second=0, microsecond=0)

    def secs(clock: str) -> float:
        h, m, s = (int(x) for x in clock.split(":"))
        return (day + timedelta(hours=h, minutes=m, seconds=s) - rec.start).total_seconds()

    starts = {r[1]: secs(r[0]) for r in rows if r[2] == "start"}
    ends = {r[1]: secs(r[0]) for r in rows if r[2] == "end"}
    ev = read_events(path, start=rec.start, duration_s=rec.duration_s).df.set_index("label")
    assert sorted(ev.index) == sorted(starts)
    for label in starts:
        assert ev.loc[label, "onset_s"] == pytest.approx(starts[label])
        assert ev.loc[label, "duration_s"] == pytest.approx(ends[label] - starts[label])
    assert ev.loc["sitting", "kind"] == "baseline"
    assert ev.loc["arithmetic", "kind"] == "stressor"
    assert ev.loc["recovery", "kind"] == "recovery"
    assert ev.loc["breathing", "kind"] == "intervention"
    assert ev.loc["walking", "kind"] == "note"


def test_loader_adds_events_to_the_recording():
    vu = shared_data("wearable-hrv-p37", "test_vu.txt")
    events = shared_data("wearable-hrv-p37", "test_events.csv")
    n = sum(1 for ln in events.read_text().splitlines()[1:] if ln.endswith(",start"))
    rec = calmtrace.load(vu, events=events)
    assert len(rec.events) == n == 8


def test_onset_duration_table_with_kind_and_rating(tmp_path):
    p = _write(tmp_path, "ev.csv", "onset_s,duration_s,label,kind,rating\n"
                                   "0,300,sit quietly,baseline,\n"
                                   "300,120,\"speech, part 1\",,8\n"
                                   "09:40:00,60,walk,,\n")
    ev = read_events(p, START).df
    assert ev["label"].tolist() == ["sit quietly", "speech, part 1", "walk"]
    assert ev["kind"].tolist() == ["baseline", "stressor", "note"]
    assert ev["onset_s"].tolist() == [0.0, 300.0, 600.0]
    assert ev["duration_s"].tolist() == [300.0, 120.0, 60.0]
    assert ev["rating"].iloc[1] == 8.0 and math.isnan(ev["rating"].iloc[0])


def test_start_end_columns_and_iso_datetimes(tmp_path):
    p = _write(tmp_path, "ev.csv", "start;end;event\n"
                                   "2024-05-01T11:35:00+02:00;2024-05-01T11:40:00+02:00;TSST speech\n")
    ev = read_events(p, START).df
    assert ev["onset_s"].tolist() == [300.0] and ev["duration_s"].tolist() == [300.0]
    assert ev["kind"].tolist() == ["stressor"]


def test_clock_times_in_the_recordings_offset(tmp_path):
    p = _write(tmp_path, "ev.csv", "time,label\n11:35,speech\n")
    ev = read_events(p, START, utc_offset="+02:00").df
    assert ev["onset_s"].tolist() == [300.0]


def test_naive_datetime_needs_an_offset(tmp_path):
    p = _write(tmp_path, "ev.csv", "time,label\n2024-05-01 09:35:00,speech\n")
    with pytest.raises(EventsError, match=r"ev\.csv line 2: onset: datetime .* has no UTC offset"):
        read_events(p, START)
    assert read_events(p, START - timedelta(hours=2), utc_offset="+02:00").df["onset_s"].tolist() == [300.0]


def test_json_events():
    ev = read_events(DATA / "txt_events.json", START).df
    assert ev["label"].tolist() == ["baseline rest", "speech", "paced breathing"]
    assert ev["kind"].tolist() == ["baseline", "stressor", "intervention"]
    assert ev["onset_s"].tolist() == [60.0, 240.0, 480.0]
    assert ev["duration_s"].tolist() == [120.0, 210.0, 90.0]
    assert ev["rating"].iloc[1] == 8.0


def test_diary_lines_with_ratings():
    ev = read_events(DATA / "txt_diary.txt", START).df
    assert ev["label"].tolist() == ["coffee", "argument with J.", "walk outside", "breathing exercise"]
    assert ev["onset_s"].tolist() == [60.0, 600.0, 1500.0, 1920.0]
    assert ev["kind"].tolist() == ["note", "stressor", "note", "intervention"]
    assert ev["rating"].tolist()[1:] == [7.0, 6.0, 3.0] and math.isnan(ev["rating"].iloc[0])
    assert set(ev["duration_s"]) == {0.0}


@pytest.mark.parametrize("text,line,needle", [
    ("onset,label,kind\n10,a,stressor\n20,b,panic\n", 3, "kind must be one of"),
    ("onset,label,rating\n10,a,11\n", 2, "rating must be a number from 0 to 10"),
    ("onset,label,duration\n10,a,-5\n", 2, "duration must be a number of seconds >= 0"),
    ("start,end,label\n20,10,a\n", 2, "end '10' is before the onset"),
    ("timestamp,conditions,datapoint\n09:31,a,start\n", 2, "'a' starts but never ends"),
    ("timestamp,conditions,datapoint\n09:31,a,end\n", 2, "'a' ends but never started"),
    ("onset,label\nsoon,a\n", 2, "onset: expected seconds, a clock time"),
    ("label,kind\na,note\n", 1, "no time column"),
    ("onset,label\n1e300,a\n", 2, "not a time of it"),
    ("onset,label\n10,a,b\n", 2, "3 fields but the header has 2"),
])
def test_errors_name_file_and_line(tmp_path, text, line, needle):
    p = _write(tmp_path, "bad.csv", text)
    with pytest.raises(EventsError, match=rf"bad\.csv line {line}: .*{needle}"):
        read_events(p, START)


def test_event_outside_the_recording_is_an_error(tmp_path):
    p = _write(tmp_path, "late.csv", "onset,label\n10,a\n7200,b\n")
    with pytest.raises(EventsError, match=r"late\.csv line 3: event 'b' .* lies outside the recording"):
        read_events(p, START, duration_s=3600)


def test_json_errors_name_the_item(tmp_path):
    p = _write(tmp_path, "e.json", '[{"onset": 1, "label": "a"}, {"label": "b"}]')
    with pytest.raises(EventsError, match=r"e\.json item 2: no onset"):
        read_events(p, START)
    p = _write(tmp_path, "e.json", '[{"onset": 1,,}]')
    with pytest.raises(EventsError, match=r"e\.json line 1: not valid JSON"):
        read_events(p, START)


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(EventsError, match="no such events file"):
        read_events(tmp_path / "nope.csv", START)
    assert len(read_events(_write(tmp_path, "empty.csv", "\n# nothing yet\n"), START)) == 0


@pytest.mark.parametrize("label,kind", [
    ("Baseline", "baseline"), ("resting", "baseline"), ("interest rates", "note"),
    ("Mental arithmetic", "stressor"), ("Stroop", "stressor"), ("post-stress recovery", "recovery"),
    ("paced breathing 6/min", "intervention"), ("Meditation", "intervention"), ("lunch", "note"),
    ("stressor", "stressor"),
])
def test_infer_kind_rule(label, kind):
    assert infer_kind(label) == kind


def test_diary_entries_outside_the_recording_are_left_out(tmp_path):
    p = _write(tmp_path, "day.txt", "07:10 woke up, 4\n09:40 meeting\n18:00 gym\n")
    ev = read_events(p, START, duration_s=3600).df
    assert ev["label"].tolist() == ["meeting"] and ev["onset_s"].tolist() == [600.0]
    p = _write(tmp_path, "night.txt", "22:10 bed\n")
    with pytest.raises(EventsError, match=r"night\.txt line 1: event 'bed' .* outside"):
        read_events(p, START, duration_s=3600)
