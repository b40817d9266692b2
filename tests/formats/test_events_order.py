"""Clock-only times in events files are placed in file order, rolling over midnight (docs/formats.md).

Every expected onset is worked out by hand from the recording's start (given below) and the clock
time on the line: e.g. a recording started 08:00 UTC, "02:00" after a "14:00" entry is the next
day's 02:00, 18 h after the start (64,800 s).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from calmtrace.formats.events_file import CLOCK_TOLERANCE_S, read_events

START = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
H = 3600.0


def _read(tmp_path: Path, text: str, duration_s: float, name: str = "diary.txt", start: datetime = START,
          notes: list | None = None):
    p = tmp_path / name
    p.write_text(text)
    return p, read_events(p, start=start, duration_s=duration_s, notes=notes)


def test_a_two_day_diary_rolls_over_midnight_with_a_note(tmp_path: Path) -> None:
    notes: list = []
    _, ev = _read(tmp_path, "14:00, second-day meeting, 8\n02:00, woke at night, 6\n", 48 * H, notes=notes)
    got = [(e.label, e.onset_s, e.rating) for e in ev]
    assert got == [("second-day meeting", 6 * H, 8.0), ("woke at night", 18 * H, 6.0)]
    assert len(notes) == 1 and "line 2" in notes[0] and "'02:00'" in notes[0] and "2024-05-02" in notes[0], notes


def test_bed_and_wake_pair_on_a_24h_recording(tmp_path: Path) -> None:
    _, ev = _read(tmp_path, "21:30, to bed\n04:30, woke up\n", 24 * H)
    assert [e.onset_s for e in ev] == [13.5 * H, 20.5 * H]


def test_entries_outside_are_one_warning_naming_file_line_and_time(tmp_path: Path, caplog) -> None:
    # 09:00 (1 h in); 07:30 the next morning (23.5 h in); 09:30 the next day (25.5 h: after the end)
    with caplog.at_level(logging.WARNING, logger="calmtrace"):
        p, ev = _read(tmp_path, "09:00 breakfast\n07:30 woke, 3\n09:30 late entry\n", 24 * H)
    assert [e.onset_s for e in ev] == [1 * H, 23.5 * H]
    warns = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warns) == 1, warns
    assert str(p) in warns[0] and "line 3 '09:30'" in warns[0] and "2024-05-02 09:30" in warns[0], warns[0]


def test_the_first_entry_may_be_before_the_start_within_the_tolerance(tmp_path: Path, caplog) -> None:
    assert CLOCK_TOLERANCE_S == 6 * H
    # the diary began before the strap went on: 07:15 stays that morning (outside, said so)
    with caplog.at_level(logging.WARNING, logger="calmtrace"):
        _, ev = _read(tmp_path, "07:15 coffee\n08:40, argument, 7\n", 10 * H)
    assert [e.onset_s for e in ev] == [40 * 60.0]
    assert any("line 1 '07:15'" in r.getMessage() for r in caplog.records)
    # more than 6 h before the start: later (start 20:00, "07:00" -> the next morning, 11 h in;
    # start 15:00, "08:30" -> the next morning, 17.5 h in)
    _, ev = _read(tmp_path, "07:00 woke\n", 12 * H, start=datetime(2024, 5, 1, 20, 0, tzinfo=timezone.utc))
    assert [e.onset_s for e in ev] == [11 * H]
    _, ev = _read(tmp_path, "08:30 woke\n", 20 * H, start=datetime(2024, 5, 1, 15, 0, tzinfo=timezone.utc))
    assert [e.onset_s for e in ev] == [17.5 * H]


def test_an_end_after_midnight_follows_its_onset(tmp_path: Path) -> None:
    _, ev = _read(tmp_path, "onset,end,label\n23:30,00:30,night shift\n", 20 * H, name="ev.csv")
    (e,) = list(ev)
    assert (e.onset_s, e.duration_s) == (15.5 * H, 1 * H)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=300)


def test_day_and_info_take_start_and_show_the_rollover(tmp_path: Path) -> None:
    rr = 900.0 + 50 * np.sin(np.arange(1500) / 3.0)  # 22.5 min of RR, no date in the file
    f = tmp_path / "rr.txt"
    f.write_text("".join(f"{v:.1f}\n" for v in rr))
    diary = tmp_path / "diary.txt"
    diary.write_text("23:50, tired, 4\n00:05, still up, 5\n")
    p = _run("day", str(f), "--events", str(diary), "--out", str(tmp_path / "v0"))
    assert p.returncode == 2 and "--start ISO on calmtrace import, analyze or day" in p.stderr, p.stderr
    start = "2024-05-01T23:45:00+00:00"
    p = _run("day", str(f), "--events", str(diary), "--start", start, "--out", str(tmp_path / "v"))
    assert p.returncode == 0, p.stderr
    p = _run("import", str(f), "--events", str(diary), "--start", start, "--out", str(tmp_path / "rec"))
    assert p.returncode == 0, p.stderr
    info = _run("info", str(tmp_path / "rec"))
    assert "'00:05' placed on 2024-05-02 (the next day)" in info.stdout, info.stdout
    ev = (tmp_path / "rec" / "events.csv").read_text()
    assert "300" in ev and "1200" in ev  # 23:50 -> 300 s, 00:05 -> 1200 s after 23:45
