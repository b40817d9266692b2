"""One dtype per column of a Recording's tables, whatever built it.

The schema lives in :data:`calmtrace.recording.TABLE_DTYPES`; this test spells the expected dtypes
out again (independently of that table) and checks every way of building a Recording: the
constructor (from lists, from pandas-3 ``str`` columns, empty), a recording folder, an importer,
the simulator, cleaning and the rebuild of an interrupted capture from its raw notifications.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.devices.hrs import encode_hrm
from calmtrace.loader import rebuild_beats
from calmtrace.recording import Recording
from calmtrace.store import RecordingWriter

START = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
DATA = Path(__file__).parent / "data"

F8, OBJ = np.dtype("float64"), np.dtype(object)
EXPECTED = {
    "beats": {"t_s": F8, "rr_ms": F8, "flag": OBJ},
    "gaps": {"onset_s": F8, "duration_s": F8, "reason": OBJ},
    "hr": {"t_s": F8, "hr_bpm": F8, "contact": OBJ},
}


def assert_pinned(rec: Recording) -> None:
    for table, cols in EXPECTED.items():
        df = getattr(rec, table)
        assert list(df.columns) == list(cols), table
        assert {c: df[c].dtype for c in df.columns} == cols, table
        assert isinstance(df.index, pd.RangeIndex), table
        for c, dt in cols.items():
            if dt == OBJ:
                assert all(type(v) is str for v in df[c]), (table, c)
    if rec.ecg is not None:
        assert {c: rec.ecg[c].dtype for c in rec.ecg.columns} == {"t_s": F8, "ecg_uv": F8}


def _from_lists() -> Recording:
    return Recording(START, beats=pd.DataFrame({"t_s": [1, 2, 3], "rr_ms": [1000, 1000, 1000]}),
                     gaps=pd.DataFrame({"onset_s": [5], "duration_s": [1], "reason": ["import"]}),
                     hr=pd.DataFrame({"t_s": [1.0], "hr_bpm": [60]}))


def _from_string_columns() -> Recording:
    beats = pd.DataFrame({"t_s": [1.0, 2.0], "rr_ms": [1000.0, 1000.0],
                          "flag": pd.array(["ok", "ectopic"], dtype="string")})
    gaps = pd.DataFrame({"onset_s": [5.0], "duration_s": [1.0], "reason": pd.array(["stall"], dtype="string")})
    return Recording(START, beats=beats, gaps=gaps)


def _empty() -> Recording:
    return Recording(START)


def _folder(tmp_path: Path) -> Recording:
    src = calmtrace.simulate("tsst", seed=3)
    calmtrace.save(src, tmp_path / "rec")
    return calmtrace.load(tmp_path / "rec")


def _importer(tmp_path: Path) -> Recording:
    return calmtrace.load(DATA / "txt_hrv_logger_RR.csv")


def _simulator(tmp_path: Path) -> Recording:
    return calmtrace.simulate("tsst", seed=3)


def _cleaned(tmp_path: Path) -> Recording:
    return calmtrace.clean(calmtrace.simulate("tsst", seed=3))


def _capture_rebuild(tmp_path: Path) -> Recording:
    folder = tmp_path / "cap"
    w = RecordingWriter(folder, START, {"source": "test"})
    t = 0.0
    for k in range(40):
        t += 1.0
        w.add_notification(t, encode_hrm(60, contact="yes", rr_raw=(1024,)))
    # no close(): an interrupted capture, whose beats come back from its notifications
    for fh in w._files.values():
        fh.flush()
    rec = rebuild_beats(folder)
    w.abort()
    return rec


@pytest.mark.parametrize("build", [_from_lists, _from_string_columns, _empty],
                         ids=["lists", "string-columns", "empty"])
def test_constructor_pins_dtypes(build):
    assert_pinned(build())


@pytest.mark.parametrize("build", [_folder, _importer, _simulator, _cleaned, _capture_rebuild],
                         ids=["folder", "importer", "simulator", "cleaned", "capture-rebuild"])
def test_every_path_pins_dtypes(build, tmp_path):
    rec = build(tmp_path)
    assert len(rec.beats) > 0
    assert_pinned(rec)


def test_round_trip_is_equal_whatever_built_it(tmp_path):
    for k, rec in enumerate([_from_lists(), _from_string_columns(), calmtrace.simulate("tsst", seed=3)]):
        calmtrace.save(rec, tmp_path / f"r{k}")
        assert calmtrace.load(tmp_path / f"r{k}").equals(rec)
