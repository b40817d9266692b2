"""The recording folder: exact round trip, refusal to overwrite, clear errors, the append-only writer."""

from __future__ import annotations

import errno
import math
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------------------------------
# issue 10: --force, one writer per folder, what a capture wrote always reads back
# ------------------------------------------------------------------------------------------
def _small_recording(seed: int = 1) -> Recording:
    rr = np.full(50, 800.0 + seed)
    return Recording(start=START, beats=pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0, "rr_ms": rr}),
                     meta={"writer": seed})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_force_refuses_a_folder_that_is_not_a_recording_and_deletes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"PK\x03\x04 three years of work")
    before = _snapshot(folder)
    with pytest.raises(InputError, match="not a calmtrace recording folder") as exc:
        save(_small_recording(), folder, force=True)
    assert "\n" not in str(exc.value)
    with pytest.raises(InputError, match="not a calmtrace recording folder"):
        RecordingWriter(folder, START, force=True)
    assert _snapshot(folder) == before


def test_force_refuses_a_recording_folder_holding_other_files_and_deletes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    save(_small_recording(1), folder)
    (folder / "thesis.docx").write_bytes(b"PK\x03\x04 beside the recording")
    before = _snapshot(folder)
    for attempt in (lambda: save(_small_recording(2), folder, force=True),
                    lambda: RecordingWriter(folder, START, force=True)):
        with pytest.raises(InputError, match="thesis.docx.*not part of a recording"):
            attempt()
        assert _snapshot(folder) == before
    assert load_folder(folder).meta["writer"] == 1


def test_force_replaces_a_recording_folder(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    save(_small_recording(1), folder)
    save(_small_recording(2), folder, force=True)
    assert load_folder(folder).meta["writer"] == 2
    w = RecordingWriter(folder, START, {"writer": 3}, force=True)
    w.add_beat(0.8, 800.0)
    w.close()
    assert load_folder(folder).meta["writer"] == 3 and len(load_folder(folder).beats) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["beats.csv", "events.csv", "gaps.csv", "hr.csv",
                                                       "notifications.csv", "recording.json"]
    assert not list(tmp_path.glob(".*")), "no temporary folder left beside it"


def test_the_cli_import_force_keeps_a_file_beside_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    rr = tmp_path / "rr.txt"
    rr.write_text("\n".join(["800", "810", "790"] * 20) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"three years")
    p = subprocess.run([sys.executable, "-m", "calmtrace", "import", str(rr), "--out", str(out), "--force"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "not a calmtrace recording folder" in p.stderr
    assert [x.name for x in out.iterdir()] == ["thesis.docx"] and (out / "thesis.docx").read_bytes() == b"three years"


def test_a_folder_has_one_writer_at_a_time(tmp_path: Path) -> None:
    folder = tmp_path / "cap"
    w = RecordingWriter(folder, START, {"writer": 1})
    w.add_beat(0.8, 800.0)
    for attempt in (lambda: RecordingWriter(folder, START, force=True),
                    lambda: save(_small_recording(2), folder, force=True)):
        with pytest.raises(InputError, match=f"another calmtrace process \\(pid {os.getpid()}\\) is writing"):
            attempt()
    w.add_beat(1.6, 800.0)   # the first writer goes on, its folder untouched
    w.close()
    rec = load_folder(folder)
    assert rec.meta["writer"] == 1 and rec.rr_ms.tolist() == [800.0, 800.0]
    save(_small_recording(2), folder, force=True)   # once it is done, the folder can be replaced
    assert load_folder(folder).meta["writer"] == 2


def _race(kind: str, folder: str, start_evt: Any, results: Any, who: int) -> None:  # pragma: no cover - child
    from calmtrace.store import RecordingWriter as W, save as sv

    start_evt.wait()
    try:
        if kind == "writer":
            w = W(folder, START, {"writer": who})
            for i in range(1, 21):
                w.add_beat(i * 0.8, 800.0 + who)
            w.close()
        else:
            sv(_small_recording(who), folder)
        results.put((who, "ok"))
    except InputError as exc:
        results.put((who, "refused:" + str(exc)))
    except BaseException as exc:
        results.put((who, f"crash:{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("kind", ["writer", "save"])
def test_two_writers_claiming_one_folder_at_the_same_instant(tmp_path: Path, kind: str) -> None:
    """Two processes, started together 25 times: one writes, the other is refused with one line;
    never two "successes", never a crash, and the folder holds the winner's data."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for trial in range(25):
        folder = tmp_path / f"t{trial}"
        go, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(kind, str(folder), go, results, who)) for who in (1, 2)]
        for p in procs:
            p.start()
        go.set()
        outcome = dict(results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        winners = [who for who, o in outcome.items() if o == "ok"]
        assert len(winners) == 1, (trial, outcome)
        loser = 3 - winners[0]
        assert outcome[loser].startswith("refused:") and "\n" not in outcome[loser], outcome
        rec = load_folder(folder)
        assert rec.meta["writer"] == winners[0]
        assert set(rec.rr_ms.tolist()) == {800.0 + winners[0]}
        assert not list(tmp_path.glob(".*")), "no temporary folder left beside it"


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    folder = tmp_path / "cap"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from datetime import datetime, timezone; from calmtrace.store import RecordingWriter\n"
        "w = RecordingWriter(sys.argv[1], datetime(2024, 5, 1, tzinfo=timezone.utc)); w.add_beat(0.8, 800.0)\n"
        "print('ready', flush=True); time.sleep(600)\n"), str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(InputError, match=f"pid {child.pid}"):
            RecordingWriter(folder, START, force=True)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert load_folder(folder).rr_ms.tolist() == [800.0]   # what it wrote reads back
    w = RecordingWriter(folder, START, {"writer": "next"}, force=True)
    w.close()
    assert load_folder(folder).meta["writer"] == "next"


def test_a_writer_that_cannot_start_leaves_nothing_behind(tmp_path: Path) -> None:
    """A full disk at the very start (a 100-byte file-size limit: the CSV headers fit,
    recording.json does not): the error, and no folder, so that a retry is not refused."""
    import subprocess
    import sys

    folder = tmp_path / "cap"
    p = subprocess.run([sys.executable, "-c", (
        "import resource, signal, sys; from datetime import datetime, timezone\n"
        "from calmtrace.store import RecordingWriter\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))\n"
        "try:\n    RecordingWriter(sys.argv[1], datetime(2024, 5, 1, tzinfo=timezone.utc), {'pad': 'x' * 300})\n"
        "except OSError as exc:\n    print('failed', exc.errno)\n"), str(folder)], capture_output=True, text=True, timeout=120)
    assert p.stdout.split() == ["failed", str(errno.EFBIG)], p.stderr
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_an_open_event_is_on_disk_at_once_and_reads_back_censored(tmp_path: Path) -> None:
    folder = tmp_path / "cap"
    w = RecordingWriter(folder, START, {"capture_target": "strap"})
    for i in range(1, 101):
        w.add_beat(i * 0.8, 800.0)
    w.add_open_event(20.0, "speech", "stressor")
    w.add_open_event(30.0, "breathing", "intervention")
    w.add_event(Event(30.0, 10.0, "breathing", "intervention"))   # closed again
    for i in range(101, 151):
        w.add_beat(i * 0.8, 800.0)
    # the process is killed here: nothing more is written, recording.json says incomplete
    w.abort()
    w.release()
    rec = load_folder(folder)
    ev = {e.label: e for e in rec.events}
    assert set(ev) == {"speech", "breathing"}
    assert ev["speech"].onset_s == 20.0 and ev["speech"].offset_s == 150 * 0.8   # censored at the end
    assert ev["breathing"].duration_s == 10.0
    assert rec.meta["open_events"] == [{"onset_s": 20.0, "kind": "stressor", "label": "speech",
                                        "censored_at_s": 150 * 0.8}]


def test_a_capture_event_past_the_last_beat_reads_back_cut_at_the_end(tmp_path: Path) -> None:
    """A note marked after the last beat, and a protocol step cut by --duration after it: the
    capture wrote them, so the folder reads back (they are cut at the end, and this is noted)."""
    folder = tmp_path / "cap"
    w = RecordingWriter(folder, START, {"capture_target": "strap"})
    for i in range(1, 375):
        w.add_beat(i * 0.8, 800.0)            # last beat at 299.2 s
    w.add_event(Event(299.9, 0.0, "note", "note"))
    w.add_event(Event(300.0, 0.012, "arithmetic", "stressor"))
    w.close()
    rec = load_folder(folder)
    end = 374 * 0.8
    assert [(e.label, e.onset_s, e.offset_s) for e in rec.events] == [("note", end, end), ("arithmetic", end, end)]
    assert len(rec.meta["events_cut_at_end"]) == 2
    # a folder not written by a capture keeps its strict check
    other = tmp_path / "other"
    save(_small_recording(), other)
    text = (other / "events.csv").read_text() + "999.0,1.0,late,note,\n"
    (other / "events.csv").write_text(text)
    with pytest.raises(RecordingError, match="outside the recording"):
        load_folder(other)


def test_a_recording_json_nested_thousands_deep_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "deep"
    save(_small_recording(), folder)
    (folder / "recording.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(FormatError, match="nested too deeply") as exc:
        load_folder(folder)
    assert len(str(exc.value)) < 200
