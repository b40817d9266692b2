"""EDF/BDF importer, on files written here with pyedflib from a simulated ECG (no real EDF is shared)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats._text import CLOCK_LOCAL_AS_UTC

pyedflib = pytest.importorskip("pyedflib")
nk = pytest.importorskip("neurokit2")
from pyedflib import highlevel  # noqa: E402

FS = 256
HR = 66
DURATION_S = 30
START = datetime(2024, 5, 1, 9, 30, 0)


@pytest.fixture(scope="module")
def ecg_mv():
    return nk.ecg_simulate(duration=DURATION_S, sampling_rate=FS, heart_rate=HR, heart_rate_std=0, random_state=4)


def _write(path, signals, labels, dims, file_type=pyedflib.FILETYPE_EDFPLUS, annotations=()):
    headers = [highlevel.make_signal_header(lab, dimension=dim, sample_frequency=FS,
                                            physical_min=-5, physical_max=5)
               for lab, dim in zip(labels, dims)]
    header = highlevel.make_header(startdate=START, equipment="calmtrace test")
    header["annotations"] = [list(a) for a in annotations]
    highlevel.write_edf(str(path), signals, headers, header, file_type=file_type)
    return path


@pytest.fixture(scope="module")
def edf_file(tmp_path_factory, ecg_mv):
    resp = np.sin(np.arange(len(ecg_mv)) / FS * 2 * np.pi * 0.25)
    path = tmp_path_factory.mktemp("edf") / "session.edf"
    return _write(path, [resp, ecg_mv], ["Resp chest", "ECG II"], ["uV", "mV"],
                  annotations=[(5.0, 2.0, "stressor"), (12.5, -1, "note moment"), (400.0, 1.0, "after the end")])


def test_reads_ecg_channel_units_start(edf_file, ecg_mv):
    assert formats.detect(edf_file).name == "edf"
    rec = formats.read(edf_file)
    assert rec.meta["ecg_channel"] == "ECG II"
    assert rec.start == START.replace(tzinfo=timezone.utc)
    assert rec.meta["clock"] == CLOCK_LOCAL_AS_UTC
    # mV -> µV; EDF stores 16-bit integers over +-5 mV, so 10 mV / 65535 steps = 0.15 µV resolution
    np.testing.assert_allclose(rec.ecg["ecg_uv"].to_numpy(), ecg_mv * 1000.0, atol=0.2)
    assert rec.duration_s == pytest.approx((DURATION_S * FS - 1) / FS)


def test_beats_match_simulated_rate(edf_file):
    rec = formats.read(edf_file)
    assert abs(np.median(rec.rr_ms) - 60000.0 / HR) <= 2 * 1000.0 / FS
    expected = DURATION_S * HR / 60  # beats in the simulation; the first closes no interval
    assert expected - 3 <= len(rec.beats) <= expected


def test_annotations_inside_become_note_events(edf_file):
    rec = formats.read(edf_file)
    ev = rec.events.df
    assert list(ev["label"]) == ["stressor", "note moment"]
    assert list(ev["kind"]) == ["note", "note"]
    assert list(ev["onset_s"]) == [5.0, 12.5]
    assert list(ev["duration_s"]) == [2.0, 0.0]


def test_bdf(tmp_path, ecg_mv):
    path = _write(tmp_path / "s.bdf", [ecg_mv], ["EKG"], ["mV"], file_type=pyedflib.FILETYPE_BDFPLUS)
    assert formats.detect(path).name == "edf"
    rec = formats.read(path)
    assert rec.meta["ecg_channel"] == "EKG"
    assert abs(np.median(rec.rr_ms) - 60000.0 / HR) <= 2 * 1000.0 / FS


def test_no_ecg_label_names_the_labels(tmp_path, ecg_mv):
    path = _write(tmp_path / "n.edf", [ecg_mv, ecg_mv], ["EEG Fz", "EOG left"], ["uV", "uV"])
    with pytest.raises(FormatError, match=r"EEG Fz.*EOG left"):
        formats.read(path)


def test_not_an_edf(tmp_path):
    path = tmp_path / "x.edf"
    path.write_bytes(b"0       " + b"garbage" * 50)
    with pytest.raises(FormatError, match="not a readable EDF"):
        formats.read(path, format="edf")
