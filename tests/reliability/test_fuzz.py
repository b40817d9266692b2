"""Bad input, fuzzed: every importer, the Heart Rate Measurement parser and the folder reader.

For each importer in :data:`calmtrace.formats.REGISTRY`, hypothesis writes 1000 inputs into one
file (reused per worker) and imports it with the format forced: random bytes, random text, and
small valid examples of that format mutated (bytes flipped, set, inserted, deleted, truncated,
awkward tokens such as ``nan`` or ``1e309`` put in; for text formats also lines duplicated,
dropped or swapped). Whatever the input, the only exception allowed is a
:class:`~calmtrace.errors.CalmtraceError` (and, pytest running with warnings as errors, no
warning either). The valid examples are built here from the simulator's RR intervals and from a
few seconds of simulated ECG, and a test checks that each one imports, so the fuzzing starts from
files that reach the decoders. The mutation strategies are those of the per-format fuzz tests
(tests/formats/test_fuzz_*.py), imported.

:func:`calmtrace.devices.hrs.parse_hrm` gets 1000 payloads and must either raise
:class:`~calmtrace.errors.FormatError` or return exactly what an independent decoder written here
from the Heart Rate Service specification reads. :func:`calmtrace.store.load_folder` (and
:func:`calmtrace.load`, which rebuilds an interrupted capture's beats from its notifications)
gets 1000 recording folders with one or two files damaged.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calmtrace
from calmtrace import formats, store
from calmtrace.devices.hrs import CONTACT_VALUES, encode_hrm, parse_hrm
from calmtrace.errors import CalmtraceError, FormatError
from calmtrace.events import Event
from calmtrace.recording import Recording

nk = pytest.importorskip("neurokit2")
pyedflib = pytest.importorskip("pyedflib")
wfdb = pytest.importorskip("wfdb")
from pyedflib import highlevel  # noqa: E402

from tests.formats.test_fit import FILE_ID, fit_file, hrv, records  # noqa: E402
from tests.formats.test_fuzz_binary_formats import _fix_fit_crc  # noqa: E402
from tests.formats.test_fuzz_binary_formats import mutated as mutated_bytes  # noqa: E402
from tests.formats.test_fuzz_text_formats import SEEDS as TEXT_SEEDS  # noqa: E402
from tests.formats.test_fuzz_text_formats import mutated as mutated_text  # noqa: E402

#: Examples per fuzzed function, in the suite's own run.
EXAMPLES = 1000
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: The file each format is written to: names some importers read (a date, a sampling rate, _RR).
FILE_NAMES = {
    "polar-sensor-logger": "Polar_H10_A1B2C3D4_20240501_093000_RR.txt",
    "hrm": "session.hrm",
    "hrv-logger": "rr.csv",
    "beat-table": "beats.txt",
    "fit": "activity.fit",
    "polar-ecg": "Polar_H10_A1B2C3D4_20240501_093000_ECG.txt",
    "wfdb": "rec.hea",
    "edf": "ecg.edf",
    "ecg-csv": "ecg_250hz.csv",
    "rr-text": "2024-05-01 09-30-00.txt",
}
TEXT_FORMATS = {"polar-sensor-logger", "hrm", "hrv-logger", "beat-table", "rr-text", "polar-ecg", "ecg-csv"}


# ------------------------------------------------------------------------------------------
# small valid examples of each format
# ------------------------------------------------------------------------------------------
def _rr(n: int = 24) -> list[int]:
    """The first ``n`` RR intervals of a simulated session, whole ms."""
    return [int(round(r)) for r in calmtrace.simulate("tsst", seed=1).rr_ms[:n]]


def _ecg(seconds: float, fs_hz: int) -> np.ndarray:
    """A few seconds of simulated ECG, mV: enough beats for R-peak detection, and cheap."""
    return nk.ecg_simulate(duration=seconds, sampling_rate=fs_hz, heart_rate=70, random_state=11)


def _rr_examples() -> dict[str, list[bytes]]:
    rr = _rr()
    t = np.cumsum(rr) / 1000.0
    clock = [f"2024-05-01T09:30:{s:06.3f}" for s in 1.0 + t]
    out = {
        "polar-sensor-logger": ["Phone timestamp;RR-interval [ms]\n"
                                + "".join(f"{c};{r}\n" for c, r in zip(clock, rr))],
        "hrm": ["[Params]\nVersion=106\nMonitor=22\nDate=20240501\nStartTime=09:30:00.0\n"
                "Interval=238\n\n[HRData]\n" + "".join(f"{r}\n" for r in rr)],
        "hrv-logger": ["date,rr,since start\n" + "".join(
            f"2024-05-01 09:30:{s:06.3f},{r},{round(s * 1000)}\n" for s, r in zip(t, rr))],
        "beat-table": ["t_s,rr_ms,flag\n" + "".join(f"{s:.3f},{r}.0,ok\n" for s, r in zip(t, rr))],
        "rr-text": ["".join(f"{r}\n" for r in rr)],
    }
    # and the hand-made examples of the per-format fuzz tests
    return {name: [s.encode() for s in seeds + TEXT_SEEDS.get(name, ("", []))[1]]
            for name, seeds in out.items()}


def _ecg_examples(folder: Path) -> dict[str, Any]:
    x = _ecg(5, 130)
    psl = "Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n" + "".join(
        f"2024-05-01T09:30:{i / 130:06.3f};{762 * 10**15 + round(i * 1e9 / 130)};{i * 1000 / 130:.3f};"
        f"{round(v * 1000)}\n" for i, v in enumerate(x))
    y = _ecg(5, 250)
    csv = "ECG_250Hz\n" + "".join(f"{v:.3f}\n" for v in y)
    edf = folder / "example.edf"
    header = [highlevel.make_signal_header("ECG", dimension="mV", sample_frequency=128,
                                           physical_min=-5, physical_max=5)]
    highlevel.write_edf(str(edf), [_ecg(5, 128)], header, highlevel.make_header(),
                        file_type=pyedflib.FILETYPE_EDFPLUS)
    wfdb.wrsamp("rec", fs=250, units=["mV"], sig_name=["ECG"], p_signal=y[:, None], fmt=["16"],
                adc_gain=[1000.0], baseline=[0], write_dir=str(folder))
    rows = [(800, 810, 0xFFFF, 0xFFFF, 0xFFFF), (790, 805, 815, 820, 0xFFFF)]
    return {
        "polar-ecg": [psl.encode()],
        "ecg-csv": [csv.encode()],
        "edf": [edf.read_bytes()],
        "wfdb": [((folder / "rec.hea").read_bytes(), (folder / "rec.dat").read_bytes())],
        "fit": [fit_file(FILE_ID + records([60, 61, 62]) + hrv(rows))],
    }


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """Format name -> valid examples (bytes; for WFDB, (header, signal) pairs)."""
    return {**_rr_examples(), **_ecg_examples(tmp_path_factory.mktemp("examples"))}


def _write(folder: Path, name: str, content: Any) -> Path:
    path = folder / FILE_NAMES[name]
    if name == "wfdb":
        header, signal = content
        (folder / "rec.dat").write_bytes(signal)
        path.write_bytes(header)
    else:
        path.write_bytes(content)
    return path


def test_every_importer_has_valid_examples_that_import(examples: dict[str, list[Any]], tmp_path: Path) -> None:
    assert set(examples) == set(formats.REGISTRY), "every importer is fuzzed from valid examples"
    for name, contents in examples.items():
        for k, content in enumerate(contents):
            rec = formats.read(_write(tmp_path, name, content), format=name)
            assert isinstance(rec, Recording)
            if k == 0:                                   # the example built here has beats
                assert len(rec.beats) >= 3, name


# ------------------------------------------------------------------------------------------
# importers
# ------------------------------------------------------------------------------------------
_TEXTISH = "0123456789.,;:-+eE \t\n\rTZ[]=#/abcdefHRPmsECG"


def _inputs(name: str, contents: list[Any]) -> st.SearchStrategy:
    """Random bytes, random text, or a valid example mutated, for format ``name``."""
    if name == "wfdb":
        return st.one_of(
            st.tuples(st.binary(max_size=400), st.sampled_from([c[1] for c in contents])),
            st.tuples(st.text(alphabet=_TEXTISH, max_size=200).map(str.encode),
                      st.binary(max_size=400)),
            st.sampled_from(contents).flatmap(lambda c: st.tuples(
                st.one_of(st.just(c[0]), mutated_bytes(c[0])), st.one_of(st.just(c[1]), mutated_bytes(c[1])))),
        )
    choices = [
        st.binary(max_size=2000),
        st.text(max_size=300).map(str.encode),
        st.text(alphabet=_TEXTISH, max_size=600).map(str.encode),
        st.sampled_from(contents).flatmap(mutated_bytes),
    ]
    if name in TEXT_FORMATS:
        choices.append(mutated_text([c.decode() for c in contents]))
    if name == "fit":
        choices.append(st.sampled_from(contents).flatmap(mutated_bytes).map(_fix_fit_crc))
    return st.one_of(choices)


@pytest.mark.parametrize("name", sorted(FILE_NAMES))
def test_importer_raises_only_calmtrace_errors(name: str, examples: dict[str, list[Any]],
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.getbasetemp() / f"fuzz-{name}"       # one file, reused
    folder.mkdir(exist_ok=True)
    outcomes = {"imported": 0, "refused": 0}

    @FUZZ
    @given(_inputs(name, examples[name]))
    def run(content: Any) -> None:
        path = _write(folder, name, content)
        try:
            rec = formats.read(path, format=name)
        except CalmtraceError:
            outcomes["refused"] += 1
            return
        assert isinstance(rec, Recording)
        outcomes["imported"] += 1

    run()
    assert sum(outcomes.values()) >= EXAMPLES, outcomes
    assert outcomes["imported"] > 0, "some mutated examples still import: the fuzzing reaches the decoders"


# ------------------------------------------------------------------------------------------
# the Heart Rate Measurement parser
# ------------------------------------------------------------------------------------------
def _reference_hrm(b: bytes) -> tuple[int, str, int | None, tuple[int, ...]] | None:
    """Decode a 0x2A37 payload from the layout in Heart Rate Service 1.0, section 3.1, with the
    rules parse_hrm documents (RR intervals positive, nothing after the last announced field).
    None when the payload breaks them."""
    if not b:
        return None
    flags, pos = b[0], 1
    size = 2 if flags & 0x01 else 1
    if len(b) < pos + size:
        return None
    hr = int.from_bytes(b[pos:pos + size], "little")
    pos += size
    contact = ("yes" if flags & 0x02 else "no") if flags & 0x04 else "unsupported"
    energy = None
    if flags & 0x08:
        if len(b) < pos + 2:
            return None
        energy = int.from_bytes(b[pos:pos + 2], "little")
        pos += 2
    rest = b[pos:]
    if not flags & 0x10:
        return None if rest else (hr, contact, energy, ())
    if len(rest) % 2:
        return None
    rr = tuple(rest[i] | rest[i + 1] << 8 for i in range(0, len(rest), 2))
    return None if 0 in rr else (hr, contact, energy, rr)


@st.composite
def _valid_hrm(draw: st.DrawFn) -> bytes:
    hr = draw(st.integers(0, 0xFFFF))
    return encode_hrm(hr, contact=draw(st.sampled_from(CONTACT_VALUES)),
                      energy_kj=draw(st.none() | st.integers(0, 0xFFFF)),
                      rr_raw=draw(st.lists(st.integers(1, 0xFFFF), max_size=9)),
                      hr_uint16=True if hr > 0xFF else draw(st.booleans()))


def test_hrm_parser_gives_a_format_error_or_exactly_what_the_payload_says() -> None:
    counts = {"parsed": 0, "refused": 0}

    @FUZZ
    @given(st.one_of(st.binary(max_size=40), _valid_hrm(), _valid_hrm().flatmap(mutated_bytes)))
    def run(payload: bytes) -> None:
        expected = _reference_hrm(payload)
        try:
            m = parse_hrm(payload)
        except FormatError:
            assert expected is None, f"{payload.hex()} is a valid payload"
            counts["refused"] += 1
            return
        assert expected is not None, f"{payload.hex()} is malformed, parsed as {m}"
        assert (m.hr_bpm, m.contact, m.energy_kj, m.rr_raw) == expected
        assert m.rr_ms == tuple(r * 1000 / 1024 for r in expected[3])
        counts["parsed"] += 1

    run()
    assert sum(counts.values()) >= EXAMPLES and min(counts.values()) > 100, counts


# ------------------------------------------------------------------------------------------
# recording folders
# ------------------------------------------------------------------------------------------
FOLDER_FILES = ["recording.json", "beats.csv", "events.csv", "gaps.csv", "hr.csv", "notifications.csv"]


def _capture_like_folder(folder: Path) -> None:
    """A small capture folder written by the append-only writer: 20 beats, a gap, two events."""
    rr = [r * 1024 // 1000 for r in _rr(20)]
    start = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
    with store.RecordingWriter(folder, start, {"subject": "fuzz"}) as w:
        t = 0.0
        for k in range(0, len(rr), 2):
            t += 1.0
            w.add_notification(t, encode_hrm(70, contact="yes", rr_raw=rr[k:k + 2]))
            w.add_hr(t, 70.0, "yes")
        t_beat = 0.0
        for r in rr:
            t_beat += r / 1024
            w.add_beat(t_beat, r * 1000 / 1024)
        w.add_gap(5.0, 1.5, "disconnect")
        w.add_event(Event(0.0, 5.0, "rest", "baseline"))
        w.add_event(Event(6.0, 0.0, "a, \"quoted\" note", "note", 3.0))


@pytest.fixture(scope="module")
def folder_versions(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, bytes]]:
    """Two valid folders, file name -> content: a finished capture and an interrupted one."""
    base = tmp_path_factory.mktemp("folders") / "capture"
    _capture_like_folder(base)
    done = {name: (base / name).read_bytes() for name in FOLDER_FILES}
    interrupted = dict(done, **{"recording.json": done["recording.json"].replace(
        b'"complete": true', b'"complete": false')})
    assert interrupted != done
    return [done, interrupted]


def test_the_valid_folders_read_back(folder_versions: list[dict[str, bytes]], tmp_path: Path) -> None:
    for version in folder_versions:
        for name, content in version.items():
            (tmp_path / name).write_bytes(content)
        rec = calmtrace.load(tmp_path)
        assert len(rec.beats) == 20 and len(rec.events) == 2 and len(rec.gaps) == 1


@st.composite
def _damaged_folder(draw: st.DrawFn, versions: list[dict[str, bytes]]) -> dict[str, bytes]:
    folder = dict(draw(st.sampled_from(versions)))
    for name in draw(st.lists(st.sampled_from(FOLDER_FILES), min_size=1, max_size=2, unique=True)):
        if draw(st.integers(0, 9)) == 0:
            folder[name] = draw(st.binary(max_size=300))
        else:
            folder[name] = draw(mutated_bytes(folder[name]))
    return folder


def test_damaged_recording_folders_raise_only_calmtrace_errors(
        folder_versions: list[dict[str, bytes]], tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.getbasetemp() / "fuzz-folder"          # one folder, reused
    folder.mkdir(exist_ok=True)
    outcomes = {"read": 0, "refused": 0}

    @FUZZ
    @given(_damaged_folder(folder_versions))
    def run(files: dict[str, bytes]) -> None:
        for name, content in files.items():
            (folder / name).write_bytes(content)
        try:
            rec = store.load_folder(folder)
            rec = calmtrace.load(folder)
        except CalmtraceError:
            outcomes["refused"] += 1
            return
        assert isinstance(rec, Recording)
        assert np.all(np.isfinite(rec.t_s)) and np.all(rec.rr_ms > 0) and not math.isnan(rec.duration_s)
        outcomes["read"] += 1

    run()
    assert sum(outcomes.values()) >= EXAMPLES and min(outcomes.values()) > 20, outcomes
