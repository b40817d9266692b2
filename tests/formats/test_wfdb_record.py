"""WFDB importer: the real MIT-BIH record 100 and small records written here with wfdb.wrsamp."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.formats import wfdb_record
from calmtrace.formats._text import CLOCK_LOCAL_AS_UTC
from tests.conftest import shared_data

wfdb = pytest.importorskip("wfdb")
nk = pytest.importorskip("neurokit2")

BEAT_CODES = set("NLRBAaJSVrFejnE/fQ?")


@pytest.fixture(scope="module")
def mitdb_rec():
    return formats.read(shared_data("mitdb-100", "100.hea"))


def _header_numbers(hea_path):
    """(n_signals, fs, n_samples, first signal line's description) from the header text itself."""
    lines = [ln for ln in hea_path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    _, n_sig, fs, n = lines[0].split()[:4]
    return int(n_sig), float(fs), int(n), [ln.split()[-1] for ln in lines[1:]]


@pytest.mark.realdata
def test_mitdb100_beats_duration_start(mitdb_rec):
    hea = shared_data("mitdb-100", "100.hea")
    n_sig, fs, n, names = _header_numbers(hea)
    assert mitdb_rec.meta["ecg_channel"] == names[0] == "MLII"
    assert mitdb_rec.meta["ecg_fs_hz"] == fs
    assert mitdb_rec.duration_s == pytest.approx((n - 1) / fs)
    assert mitdb_rec.start == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert mitdb_rec.meta["start_unknown"] is True
    ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
    ref_s = np.array([s for s, c in zip(ann.sample, ann.symbol) if c in BEAT_CODES]) / fs
    # every beat but the first closes an interval; allow 1 % misses at the edges
    assert abs(len(mitdb_rec.beats) - (len(ref_s) - 1)) <= 0.01 * len(ref_s)
    near = np.min(np.abs(mitdb_rec.t_s[:, None] - ref_s[None, :]), axis=1)
    assert np.mean(near <= 0.150) >= 0.99


@pytest.mark.realdata
def test_mitdb100_ecg_in_microvolts(mitdb_rec):
    rec = wfdb.rdrecord(str(shared_data("mitdb-100", "100.hea").with_suffix("")), channels=[0], sampto=1000)
    np.testing.assert_allclose(mitdb_rec.ecg["ecg_uv"].to_numpy()[:1000], rec.p_signal[:, 0] * 1000.0)


@pytest.mark.realdata
def test_mitdb100_by_base_path_and_dat():
    hea = shared_data("mitdb-100", "100.hea")
    assert formats.detect(hea).name == "wfdb"
    assert formats.detect(hea.with_suffix(".dat")).name == "wfdb"
    assert wfdb_record.record_base(hea.with_suffix("")) == hea.with_suffix("")
    assert wfdb_record.record_base(hea.with_suffix(".dat")) == hea.with_suffix("")


def _write(tmp_path, names, units, ecg, fs=250, base_date=None, base_time=None, name="rec"):
    sig = np.column_stack(ecg)
    wfdb.wrsamp(name, fs=fs, units=units, sig_name=names, p_signal=sig, fmt=["16"] * len(names),
                adc_gain=[1000.0] * len(names), baseline=[0] * len(names), write_dir=str(tmp_path),
                base_date=base_date, base_time=base_time)
    return tmp_path / f"{name}.hea"


def test_written_record_picks_ecg_channel_and_start(tmp_path):
    from datetime import date, time

    ecg = nk.ecg_simulate(duration=20, sampling_rate=250, heart_rate=60, heart_rate_std=0, random_state=2)
    resp = np.sin(np.arange(len(ecg)) / 250 * 2 * np.pi * 0.25)
    hea = _write(tmp_path, ["RESP", "ECG"], ["mV", "mV"], [resp, ecg],
                 base_date=date(2023, 11, 5), base_time=time(8, 15, 30))
    rec = formats.read(hea)
    assert rec.meta["ecg_channel"] == "ECG"
    assert rec.start == datetime(2023, 11, 5, 8, 15, 30, tzinfo=timezone.utc)
    assert rec.meta["clock"] == CLOCK_LOCAL_AS_UTC and "start_unknown" not in rec.meta
    assert abs(np.median(rec.rr_ms) - 1000.0) <= 8
    assert 17 <= len(rec.beats) <= 20
    np.testing.assert_allclose(rec.ecg["ecg_uv"].to_numpy(), np.round(ecg * 1000) , atol=1.0)


def test_record_without_ecg_channel_names_its_channels(tmp_path):
    x = np.zeros(2000)
    hea = _write(tmp_path, ["RESP", "PLETH"], ["mV", "mV"], [x, x])
    with pytest.raises(FormatError, match=r"RESP.*PLETH"):
        formats.read(hea)


def test_header_promising_more_samples_than_the_file_holds(tmp_path):
    ecg = nk.ecg_simulate(duration=10, sampling_rate=250, random_state=1)
    hea = _write(tmp_path, ["ECG"], ["mV"], [ecg])
    text = hea.read_text().splitlines()
    first = text[0].split()
    first[3] = "900000000000"
    text[0] = " ".join(first)
    hea.write_text("\n".join(text) + "\n")
    with pytest.raises(FormatError, match="promises"):
        formats.read(hea)


def test_missing_header(tmp_path):
    dat = tmp_path / "x.dat"
    dat.write_bytes(b"\x00" * 100)
    with pytest.raises(FormatError, match="no WFDB header"):
        formats.read(dat, format="wfdb")
