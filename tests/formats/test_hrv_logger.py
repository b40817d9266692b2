"""HRV Logger importer: the real Rhythm24 file of WearableHRV (epoch-ms layout) and a synthetic
HRV Logger export (date layout)."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats import hrv_logger
from calmtrace.formats._text import CLOCK_TOLERANCE_S
from tests.conftest import shared_data

DATA = Path(__file__).resolve().parents[1] / "data"


def _table(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return [r for r in rows[1:] if r]


def test_real_epoch_ms_file_with_lost_beats():
    path = shared_data("wearable-hrv-p37", "test_rhythm.csv")
    rows = _table(path)
    stamps_ms = [int(r[0]) for r in rows]
    rr = [float(r[1]) for r in rows]
    rec = formats.read(path)
    assert formats.detect(path).name == "hrv-logger"
    assert len(rec.beats) == len(rows) == 2604
    assert rec.rr_ms.tolist() == rr
    # true UTC: the first beat arrived at the first timestamp, a little after it happened
    first = datetime.fromtimestamp(stamps_ms[0] / 1000, tz=timezone.utc)
    first_beat = rec.start + timedelta(seconds=float(rec.t_s[0]))
    assert timedelta(0) <= first - first_beat <= timedelta(seconds=CLOCK_TOLERANCE_S)
    assert rec.meta["clock"].startswith("UTC")
    # the phone clock ran for much longer than the intervals add up to: that time is gaps
    clock_span = (stamps_ms[-1] - stamps_ms[0]) / 1000
    lost = clock_span - sum(rr[1:]) / 1000
    assert lost > 600  # more than 10 of the 55 minutes were never received
    assert rec.gaps["duration_s"].sum() == pytest.approx(lost, abs=2 * CLOCK_TOLERANCE_S)
    assert rec.duration_s == pytest.approx(clock_span + rr[0] / 1000, abs=2 * CLOCK_TOLERANCE_S)
    # every second of the recording is either a beat's interval or a gap
    assert rec.duration_s == pytest.approx(rec.rr_ms.sum() / 1000 + rec.gaps["duration_s"].sum())


def test_synthetic_hrv_logger_date_layout():
    path = DATA / "txt_hrv_logger_RR.csv"
    rows = _table(path)
    rr = [float(r[1]) for r in rows]
    rec = formats.read(path)
    assert formats.detect(path).name == "hrv-logger"
    assert rec.rr_ms.tolist() == rr
    assert len(rec.gaps) == 0
    # local time taken as UTC. Every row arrived 0.4 s after its beat; a constant delay cannot be
    # seen in the file, so beats sit at their arrival times: t = 0 is the first date minus the
    # first interval
    first = datetime.strptime(rows[0][0], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    assert rec.start == first - timedelta(seconds=rr[0] / 1000)
    assert "taken as UTC" in rec.meta["clock"]
    assert rec.duration_s == pytest.approx(sum(rr) / 1000)


EPOCH_HEAD = "timestamp, rr, since_start\n1688126297704,900,900\n"
DATE_HEAD = "date,rr,since start\n2024-05-01 10:00:00,900,900\n"


@pytest.mark.parametrize("text,needle", [
    (EPOCH_HEAD + "1688126298681,-5,1\n", "rr must be a positive"),
    (EPOCH_HEAD + "1688126298681,x,1\n", "rr must be a number"),
    ("timestamp, rr, since_start\n12,900,900\n", "timestamp must be Unix epoch milliseconds"),
    (DATE_HEAD + "2024-13-01 10:00:00,800,1\n", "date must be a date and time"),
    (DATE_HEAD + "2024-05-01 10:00:01\n", "expected 3 comma-separated fields"),
])
def test_bad_rows_name_the_line(tmp_path, text, needle):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    line = len(text.splitlines())
    with pytest.raises(FormatError, match=rf"bad\.csv line {line}: {needle}"):
        formats.read(p, format="hrv-logger")


def test_mixed_time_layouts_are_an_error(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("date,rr,since start\n2024-05-01 10:00:00,900,900\n1688126298681,900,1800\n")
    with pytest.raises(FormatError, match="line 3: time .* not written like the rows above"):
        formats.read(p, format="hrv-logger")


def test_sniff():
    assert hrv_logger.sniff(Path("a.csv"), b"date,rr,since start\n") == 95
    assert hrv_logger.sniff(Path("a.csv"), b"timestamp, rr, since_start \n\n1,2,3\n") == 95
    assert hrv_logger.sniff(Path("a.csv"), b"t_s,rr_ms\n") == 0


def test_beat_times_recovered_from_jittered_arrivals(tmp_path):
    """Simulated strap: beats notified once per second (so each arrives 0-1 s late), 6 s of
    notifications lost. The importer must put beats within 1 s of their true times and report
    the loss as one gap of about its true length."""
    rng = np.random.default_rng(7)
    rr = rng.normal(850, 40, 400).round()
    beat = np.cumsum(rr) / 1000 + 100.0  # true beat times, s
    lost = (beat > 150) & (beat <= 156)
    arrival = np.ceil(beat) + 0.05  # delivered with the next once-per-second notification
    t0 = 1_700_000_000_000
    p = tmp_path / "sim.csv"
    p.write_text("timestamp, rr, since_start\n" + "".join(
        f"{t0 + int(a * 1000)},{int(r)},0\n" for a, r, x in zip(arrival, rr, lost) if not x))
    rec = formats.read(p, format="hrv-logger")
    true_t = beat[~lost]
    got = rec.start.timestamp() + rec.t_s - t0 / 1000
    assert np.abs(got - true_t).max() < 1.0
    assert len(rec.gaps) == 1
    true_gap = beat[lost][-1] - beat[lost][0] + rr[lost][0] / 1000  # from the first lost interval
    assert rec.gaps["duration_s"].iloc[0] == pytest.approx(true_gap, abs=1.0)
