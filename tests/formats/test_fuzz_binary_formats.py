"""Fuzzing the ECG and binary importers: random and mutated bytes raise only CalmtraceError.

For each format a few valid seed files are built here (FIT byte by byte, EDF with pyedflib, WFDB
with wfdb.wrsamp, the text formats from a simulated ECG). Hypothesis then feeds each importer
random bytes and seeds with bytes flipped, inserted, deleted, truncated, or with awkward tokens
("nan", "1e309", separators, huge integers) put in. For FIT, half of the mutated files get their
CRCs recomputed so that the damage reaches the message decoder instead of the CRC check.

``CALMTRACE_FUZZ_EXAMPLES`` sets the number of examples per format (default 100).
"""

from __future__ import annotations

import itertools
import os
import struct

import pytest

from calmtrace import formats
from calmtrace.errors import CalmtraceError
from calmtrace.recording import Recording

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

nk = pytest.importorskip("neurokit2")
fitdecode = pytest.importorskip("fitdecode")
pyedflib = pytest.importorskip("pyedflib")
wfdb = pytest.importorskip("wfdb")
from fitdecode.utils import compute_crc  # noqa: E402
from pyedflib import highlevel  # noqa: E402

from tests.formats.test_fit import FILE_ID, fit_file, hrv, records  # noqa: E402

EXAMPLES = int(os.environ.get("CALMTRACE_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKENS = [b"", b"nan", b"inf", b"-1", b"0", b"1e309", b"9" * 40, b";", b",", b"\n", b"\t", b"#", b"Hz",
          b"\xff\xfe", b"\x00", b"2024-13-45T99:99:99", b"-99999999999999999999", b"ECG"]

_counter = itertools.count()


def _ecg(seconds=6, fs=130):
    return nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=70, random_state=11)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """name -> list of seed contents; WFDB seeds are (header bytes, signal bytes)."""
    d = tmp_path_factory.mktemp("seeds")
    out: dict[str, list] = {}

    rows = [(800, 810, 0xFFFF, 0xFFFF, 0xFFFF), (790, 805, 815, 820, 0xFFFF)]
    out["fit"] = [fit_file(FILE_ID + records([60, 61, 62]) + hrv(rows)), fit_file(FILE_ID + records([70, 72]))]

    x = _ecg()
    psl = ["Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"]
    psl += [f"2024-03-02T10:15:{30 + i / 130:06.3f};{762 * 10**15 + round(i * 1e9 / 130)};{i * 1000 / 130:.6f};"
            f"{round(v * 1000)}" for i, v in enumerate(x)]
    logger = ["time,ecg,hr,rr"] + [
        f"{1714920600 * 10**9 + round(i * 1e9 / 130)},{v:.3f},{'72' if i % 130 == 0 else ''},"
        f"{'833' if i % 130 == 0 else ''}" for i, v in enumerate(x)]
    out["polar-ecg"] = ["\n".join(psl).encode() + b"\n", "\n".join(logger).encode() + b"\n"]

    y = _ecg(fs=250)
    out["ecg-csv"] = [("ECG_250Hz,RSP\n" + "\n".join(f"{v:.4f},0.1" for v in y) + "\n").encode(),
                      ("# fs_hz = 250\ntime_s;ecg\n" + "\n".join(f"{i / 250:.4f};{v:.4f}" for i, v in enumerate(y))
                       + "\n").encode()]

    edf = d / "seed.edf"
    hdr = [highlevel.make_signal_header("ECG", dimension="mV", sample_frequency=128, physical_min=-5, physical_max=5)]
    highlevel.write_edf(str(edf), [_ecg(fs=128)], hdr, highlevel.make_header(), file_type=pyedflib.FILETYPE_EDFPLUS)
    out["edf"] = [edf.read_bytes()]

    wfdb.wrsamp("rec", fs=250, units=["mV"], sig_name=["ECG"], p_signal=y[:, None], fmt=["16"],
                adc_gain=[1000.0], baseline=[0], write_dir=str(d))
    out["wfdb"] = [((d / "rec.hea").read_bytes(), (d / "rec.dat").read_bytes())]
    return out


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "token"]))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[pos:]
        else:
            end = pos + draw(st.integers(0, 12))
            data[pos:end] = draw(st.sampled_from(TOKENS))
    return bytes(data)


def _fix_fit_crc(raw: bytes) -> bytes:
    """Recompute the header and file CRCs of a (damaged) FIT file, when it is long enough."""
    if len(raw) < 16 or raw[0] != 14:
        return raw
    b = bytearray(raw)
    b[12:14] = struct.pack("<H", compute_crc(bytes(b[:12])))
    b[-2:] = struct.pack("<H", compute_crc(bytes(b[:-2])))
    return bytes(b)


def _check(path, name):
    try:
        rec = formats.read(path, format=name)
    except CalmtraceError:
        return
    assert isinstance(rec, Recording)


def _content(data, seeds, name):
    choice = data.draw(st.sampled_from(["random", "mutated"]))
    if name == "wfdb":
        hea, dat = data.draw(st.sampled_from(seeds["wfdb"]))
        if choice == "random":
            return data.draw(st.binary(max_size=400)), dat
        return data.draw(mutated(hea)), data.draw(st.one_of(st.just(dat), mutated(dat)))
    if choice == "random":
        return data.draw(st.binary(max_size=4000))
    raw = data.draw(mutated(data.draw(st.sampled_from(seeds[name]))))
    if name == "fit" and data.draw(st.booleans()):
        raw = _fix_fit_crc(raw)
    return raw


@pytest.mark.parametrize("name", ["fit", "polar-ecg", "ecg-csv", "edf", "wfdb"])
@FUZZ
@given(data=st.data())
def test_random_and_mutated_bytes_raise_only_calmtrace_errors(tmp_path_factory, seeds, name, data):
    d = tmp_path_factory.getbasetemp() / f"fuzz-{name}"
    d.mkdir(exist_ok=True)
    content = _content(data, seeds, name)
    n = next(_counter)
    if name == "wfdb":
        hea, dat = content
        (d / "rec.dat").write_bytes(dat)
        path = d / "rec.hea"
        path.write_bytes(hea)
    else:
        suffix = {"fit": ".fit", "edf": ".edf"}.get(name, ".csv")
        path = d / f"f{n % 4}_250hz{suffix}"
        path.write_bytes(content)
    _check(path, name)


def test_seeds_are_valid(seeds, tmp_path):
    """The unmutated seeds import, so the fuzzing starts from files that reach the decoders."""
    for name, contents in seeds.items():
        for k, content in enumerate(contents):
            if name == "wfdb":
                (tmp_path / "rec.dat").write_bytes(content[1])
                path = tmp_path / "rec.hea"
                path.write_bytes(content[0])
            else:
                path = tmp_path / f"s{k}_250hz{ {'fit': '.fit', 'edf': '.edf'}.get(name, '.csv') }"
                path.write_bytes(content)
            rec = formats.read(path, format=name)
            assert isinstance(rec, Recording)
            if name != "fit" or k == 0:
                assert len(rec.beats) > 3, (name, k)
