"""The recording folder: exact round trip, refusal to overwrite, clear errors, the append-only writer."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmtrace.errors import CalmtraceError, FormatError, InputError, RecordingError
from calmtrace.events import Event, Events
from calmtrace.recording import BEAT_FLAGS, GAP_REASONS, Recording
from calmtrace.store import RecordingWriter, load_folder, save

START = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive_rr = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, width=64)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def recordings(draw) -> Recording:
    rr = draw(st.lists(positive_rr, min_size=0, max_size=60))
    first = draw(st.floats(min_value=0, max_value=1e4, allow_nan=False))
    t = first + np.cumsum(np.asarray(rr, float)) / 1000.0 if rr else np.array([], float)
    # cumulative sums of tiny RR may tie in float64; keep strictly increasing beats only
    keep = np.concatenate([[True], np.diff(t) > 0]) if len(t) else np.array([], bool)
    t, rr_arr = t[keep], np.asarray(rr, float)[keep] if rr else np.array([], float)
    flags = draw(st.lists(st.sampled_from(BEAT_FLAGS), min_size=len(t), max_size=len(t)))
    beats = pd.DataFrame({"t_s": t, "rr_ms": rr_arr, "flag": flags})
    n_gaps = draw(st.integers(0, 3))
    gaps = pd.DataFrame({
        "onset_s": draw(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=n_gaps, max_size=n_gaps)),
        "duration_s": draw(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=n_gaps, max_size=n_gaps)),
        "reason": draw(st.lists(st.sampled_from(GAP_REASONS), min_size=n_gaps, max_size=n_gaps)),
    })
    n_hr = draw(st.integers(0, 5))
    hr_t = sorted(draw(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=n_hr, max_size=n_hr)))
    hr = pd.DataFrame({"t_s": hr_t,
                       "hr_bpm": draw(st.lists(st.floats(0, 300, allow_nan=False), min_size=n_hr, max_size=n_hr)),
                       "contact": draw(st.lists(st.sampled_from(["yes", "no", "unsupported"]), min_size=n_hr, max_size=n_hr))})
    rec = Recording(start=START, beats=beats, gaps=gaps, hr=hr)
    dur = rec.duration_s
    n_ev = draw(st.integers(0, 4))
    evs = []
    for _ in range(n_ev):
        onset = draw(st.floats(0, max(dur, 0.0), allow_nan=False))
        rating = draw(st.one_of(st.just(math.nan), st.floats(0, 10, allow_nan=False)))
        evs.append(Event(onset, draw(st.floats(0, 1e3, allow_nan=False)), draw(text),
                         draw(st.sampled_from(["baseline", "stressor", "recovery", "intervention", "note"])), rating))
    meta = draw(st.dictionaries(st.text(min_size=1, max_size=8),
                                st.one_of(st.integers(-10**6, 10**6), text, st.booleans(), st.none(),
                                          st.floats(allow_nan=False, allow_infinity=False)), max_size=4))
    return rec.replace(events=Events(evs), meta=meta)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=recordings())
def test_round_trip_is_exact(rec: Recording, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("rt") / "rec"
    save(rec, folder)
    back = load_folder(folder)
    assert back.equals(rec)
    # bit-exact floats, not merely close ones
    assert np.array_equal(back.t_s.view(np.int64), rec.t_s.view(np.int64))
    assert np.array_equal(back.rr_ms.view(np.int64), rec.rr_ms.view(np.int64))


def _small() -> Recording:
    rr = np.array([800.0, 810.5, 790.25, 805.0])
    return Recording(start=START, beats=pd.DataFrame({"t_s": np.cumsum(rr) / 1000, "rr_ms": rr}),
                     events=Events([Event(0.5, 1.0, "speech", "stressor")]), meta={"subject": "s1"})


def test_save_refuses_to_overwrite_and_leaves_the_old_folder_intact(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    save(_small(), folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = _small().replace(meta={"subject": "someone else"})
    with pytest.raises(InputError, match="already exists"):
        save(other, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    save(other, folder, force=True)
    assert load_folder(folder).meta["subject"] == "someone else"
    assert [p.name for p in tmp_path.iterdir()] == ["rec"], "no temporary folders left behind"


def test_bad_cell_names_file_line_and_value(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    save(_small(), folder)
    lines = (folder / "beats.csv").read_text().splitlines()
    lines[3] = "2.4105,-3,ok"
    (folder / "beats.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError) as exc:
        load_folder(folder)
    msg = str(exc.value)
    assert "beats.csv line 4" in msg and "rr_ms must be a positive number" in msg and "'-3'" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("mutate, expected", [
    (lambda f: (f / "recording.json").write_text("{not json"), "recording.json: not valid JSON"),
    (lambda f: (f / "recording.json").write_text('{"schema_version": 99, "start": "2024-01-01T00:00:00+00:00"}'), "newer"),
    (lambda f: (f / "recording.json").write_text('{"schema_version": 1, "start": "2024-01-01T00:00:00"}'), "UTC offset"),
    (lambda f: (f / "beats.csv").write_text("time,rr\n1,2\n"), "expected header"),
    (lambda f: (f / "events.csv").write_text("onset_s,duration_s,label,kind,rating\n1,2,x,party,\n"), "kind must be one of"),
    (lambda f: (f / "beats.csv").unlink(), "missing beats.csv"),
])
def test_broken_folders_give_one_line_errors(tmp_path: Path, mutate, expected: str) -> None:
    folder = tmp_path / "rec"
    save(_small(), folder)
    mutate(folder)
    with pytest.raises(CalmtraceError) as exc:
        load_folder(folder)
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)


def test_recording_validation() -> None:
    with pytest.raises(RecordingError, match="timezone-aware"):
        Recording(start=datetime(2024, 1, 1))
    with pytest.raises(RecordingError, match="strictly increasing"):
        Recording(start=START, beats=pd.DataFrame({"t_s": [1.0, 0.5], "rr_ms": [800.0, 800.0]}))
    with pytest.raises(RecordingError, match="positive"):
        Recording(start=START, beats=pd.DataFrame({"t_s": [1.0, 2.0], "rr_ms": [800.0, 0.0]}))
    with pytest.raises(RecordingError, match="outside the recording"):
        Recording(start=START, beats=pd.DataFrame({"t_s": [1.0, 2.0], "rr_ms": [800.0, 1000.0]}),
                  events=Events([Event(100.0, 5.0, "late", "note")]))
    # an event that overlaps the recording is fine
    Recording(start=START, beats=pd.DataFrame({"t_s": [1.0, 2.0], "rr_ms": [800.0, 1000.0]}),
              events=Events([Event(1.5, 50.0, "long", "stressor")]))
    # non-UTC start is kept as the same instant, in UTC
    r = Recording(start=datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2))))
    assert r.start == datetime(2024, 1, 1, 8, tzinfo=timezone.utc)


def test_writer_appends_and_reads_back_incomplete(tmp_path: Path) -> None:
    folder = tmp_path / "cap"
    w = RecordingWriter(folder, START, {"device_name": "Polar H10 1234"})
    w.add_beat(0.8, 800.0)
    w.add_beat(1.61, 810.0)
    w.add_hr(1.0, 75.0, "yes")
    w.add_notification(1.0, bytes.fromhex("1648200320"))
    w.add_gap(2.0, 3.5, "disconnect")
    w.add_event(Event(0.5, 0.0, "start", "note"))
    mid = load_folder(folder)
    assert mid.meta.get("complete") is False
    assert len(mid.beats) == 2 and len(mid.gaps) == 1 and len(mid.events) == 1
    with pytest.raises(RecordingError, match="after the previous beat"):
        w.add_beat(1.0, 800.0)
    w.update_meta(battery_pct=87)
    w.close()
    done = load_folder(folder)
    assert "complete" not in done.meta and done.meta["battery_pct"] == 87
    assert done.rr_ms.tolist() == [800.0, 810.0]


def test_unterminated_last_line_of_an_interrupted_capture_is_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "cap"
    w = RecordingWriter(folder, START)
    for i in range(1, 6):
        w.add_beat(i * 0.8, 800.0)
    # simulate a kill in the middle of a write: part of a line, no newline
    with open(folder / "beats.csv", "a") as fh:
        fh.write("4.8,8")
    rec = load_folder(folder)
    assert len(rec.beats) == 5
    # the same bytes in a folder marked complete are an error, not silently dropped
    w.close()
    with open(folder / "beats.csv", "a") as fh:
        fh.write("4.8,8")
    with pytest.raises(FormatError, match="beats.csv line 7"):
        load_folder(folder)
