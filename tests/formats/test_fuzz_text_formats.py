"""Fuzzing of the text importers and the events reader: whatever the bytes, they raise nothing
but :class:`~calmtrace.errors.CalmtraceError` (with warnings as errors, a warning fails too).

Two kinds of input per format: random bytes, and valid-looking content of that format mutated by
random edits (characters deleted, inserted or replaced, lines duplicated, swapped or dropped,
numbers replaced by extreme values). ``CALMTRACE_FUZZ_EXAMPLES`` sets the number of examples per
test (200 by default; raise it for a long run).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calmtrace import formats
from calmtrace.errors import CalmtraceError
from calmtrace.formats.events_file import read_events
from calmtrace.recording import Recording

EXAMPLES = int(os.environ.get("CALMTRACE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

START = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)

# valid-looking content of each format, to be mutated
SEEDS: dict[str, tuple[str, list[str]]] = {
    "polar-sensor-logger": ("Polar_H10_A1B2C3D4_20240501_093000_RR.txt", [
        "Phone timestamp;RR-interval [ms]\n2024-05-01T09:30:01.062;812\n2024-05-01T09:30:01.852;790\n"
        "2024-05-01T09:30:02.657;805\n2024-05-01T09:30:12.657;905\n2024-05-01T09:30:13.557;900\n",
        "Phone timestamp;PP-interval [ms];error estimate [ms];blocker;contact;contact;hr [bpm]\n"
        "2022-04-25T11:39:41.224;1117;882;1;1;1;0\n2022-04-25T11:39:42.341;1135;866;0;1;1;0\n"
        "2022-04-25T11:39:43.476;1295;705;0;0;1;61\n2022-04-25T11:39:44.771;1839;19;0;1;1;62\n",
        "Phone timestamp;sensor timestamp [ns];HR [bpm];RR-interval [ms]\n"
        "2024-05-01T09:30:01.100;0;60;900\n2024-05-01T09:30:01.100;0;60;950\n2024-05-01T09:30:02.100;0;62;\n",
        "Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n"
        "2024-05-01T09:30:01.120;0;;;\n2024-05-01T09:30:02.120;71;;;\n2024-05-01T09:30:03.120;72;;;\n",
    ]),
    "hrm": ("x.hrm", [
        "[Params]\nVersion=106\nMonitor=13\nDate=20080208\nStartTime=08:50:31.0\nLength=00:00:03.0\n"
        "Interval=238\n\n[IntTimes]\n00:00:01.6\t83\t38\t76\t94\n0\t0\t0\t0\t0\t0\n\n[IntNotes]\n1\tspeech\n\n"
        "[HRData]\n1589\n783\n752\n",
        "[Params]\nVersion=106\nMonitor=12\nDate=20050430\nStartTime=17:05:12.0\nInterval=5\n\n"
        "[Note]\nEasy\n\n[HRData]\n0\t0\n98\t12\n104\t12\n",
    ]),
    "hrv-logger": ("rr.csv", [
        "date,rr,since start\n2024-03-15 09:00:01.402,1002,1002\n2024-03-15 09:00:02.389,987,1989\n"
        "2024-03-15 09:00:08.399,1010,2999\n",
        "timestamp, rr, since_start \n\n1688126297704,919,16064\n1688126298681,1207,17271\n"
        "1688126298693,695,17966\n1688126304713,1167,19133\n",
    ]),
    "beat-table": ("beats.txt", [
        "Subject Id: P37\nR-peak time\tibi_cumulative\tibi\tinterpolated\tLabelCode1\t\n"
        "30-06-23/14:08:59.580\t0\t0\tO\t-9999\t\n30-06-23/14:09:00.516\t936\t936\tO\t2\t\n"
        "30-06-23/14:09:01.480\t1900\t964\tI\t2\t\n",
        "1622541600.000000, IBI\n10.812000,0.812000\n11.609000,0.797000\n15.414000,0.805000\n",
        "t_s,rr_ms,flag\n0.8,800.0,ok\n1.61,810.0,ectopic\n2.4,790.0,ok\n",
        "time;rr\n2024-05-01T09:30:00.800+02:00;800\n2024-05-01T09:30:01.700+02:00;900\n",
    ]),
    "rr-text": ("2024-05-01 09-30-00.txt", [
        "1012\n998\n1005\n987\n0\n",
        "RR\n0.812\n0.790\n0.805\n",
        "# list\n800\n\n810\n820\n",
    ]),
}

EVENT_SEEDS = [
    "timestamp,conditions,datapoint\n09:31:20,sitting,start\n09:36:20,sitting,end\n",
    "onset_s,duration_s,label,kind,rating\n0,300,sit,baseline,\n300,120,\"speech, 1\",,8\n",
    "# diary\n09:31 coffee\n09:40, argument, 7\n2024-05-01T13:05:00+02:00; walk; mood 6/10\n",
    '{"events": [{"onset": 60, "duration": 120, "label": "rest"}, '
    '{"start": "09:34:00", "end": "09:37:30", "label": "speech", "kind": "stressor", "rating": 8}]}',
]

_NASTY = ["", "0", "-1", "1e309", "nan", "inf", "99999999999999999999", "9" * 30, "-0", "1e-300",
          "99:99", "23:59:59.999", "2024-02-30T25:61:61", "0000-00-00", "9999-12-31T23:59:59",
          ";", ",", "\t", "\r", "\"", "[HRData]", "[Params]", "MARKER_START", "MARKER_STOP", "start", "end",
          "Phone timestamp", "\u00e9", "\ufeff", "\u2028"]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> bytes:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "insert", "nasty", "dup_line", "drop_line", "swap_lines"]))
        n = len(text)
        lines = text.split("\n")
        if op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            text = text[:i] + text[i + draw(st.integers(1, 8)):]
        elif op == "insert":
            i = draw(st.integers(0, n))
            text = text[:i] + draw(st.text(alphabet=";,:.-+ \t\n0123456789eE[]TZ", max_size=8)) + text[i:]
        elif op == "nasty":
            i = draw(st.integers(0, n))
            j = min(n, i + draw(st.integers(0, 6)))
            text = text[:i] + draw(st.sampled_from(_NASTY)) + text[j:]
        elif op == "dup_line" and lines:
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        elif op == "drop_line" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "\n".join(lines)
        elif op == "swap_lines" and len(lines) > 1:
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text.encode("utf-8")


def _read_only_calmtrace_errors(path: Path, fmt: str, data: bytes) -> str:
    """Import ``data`` as ``fmt``: "imported" (a valid Recording) or "refused" (a CalmtraceError)."""
    path.write_bytes(data)
    try:
        rec = formats.read(path, format=fmt)
    except CalmtraceError as exc:
        assert "\n" not in str(exc), "error messages are one line"
        return "refused"
    assert isinstance(rec, Recording)
    assert (rec.rr_ms > 0).all() and (len(rec.t_s) < 2 or (rec.t_s[1:] > rec.t_s[:-1]).all())
    return "imported"


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_text")


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_random_bytes(fuzz_dir: Path, fmt: str) -> None:
    folder = fuzz_dir / f"bytes-{fmt}"
    folder.mkdir(exist_ok=True)
    path = folder / SEEDS[fmt][0]

    outcomes: list[str] = []

    @FUZZ
    @given(st.binary(max_size=3000))
    def run(data: bytes) -> None:
        outcomes.append(_read_only_calmtrace_errors(path, fmt, data))

    run()
    assert "refused" in outcomes


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_mutated_content(fuzz_dir: Path, fmt: str) -> None:
    folder = fuzz_dir / f"mutated-{fmt}"
    folder.mkdir(exist_ok=True)
    path = folder / SEEDS[fmt][0]

    outcomes: list[str] = []

    @FUZZ
    @given(mutated(SEEDS[fmt][1]))
    def run(data: bytes) -> None:
        outcomes.append(_read_only_calmtrace_errors(path, fmt, data))

    run()
    # the mutations reach the decoder: some inputs still import, others are refused
    assert {"imported", "refused"} <= set(outcomes), sorted(set(outcomes))


def test_mutated_marker_file_beside_a_good_rr_file(fuzz_dir: Path) -> None:
    folder = fuzz_dir / "marker"
    folder.mkdir(exist_ok=True)
    rr = folder / "Polar_H10_A1B2C3D4_20240501_093000_RR.txt"
    rr.write_text(SEEDS["polar-sensor-logger"][1][0])
    marker = folder / "MARKER.txt"
    seeds = ["Phone timestamp;Marker start/stop\n2024-05-01T09:30:01.500;MARKER_START speech\n"
             "2024-05-01T09:30:02.500;MARKER_STOP \n2024-05-01T09:30:03.000;MARKER_START \n"]

    @FUZZ
    @given(mutated(seeds))
    def run(data: bytes) -> None:
        marker.write_bytes(data)
        try:
            formats.read(rr, format="polar-sensor-logger")
        except CalmtraceError:
            pass

    run()


def test_detect_then_read_mutated_content(fuzz_dir: Path) -> None:
    path = fuzz_dir / "detect.txt"
    all_seeds = [s for _, seeds in SEEDS.values() for s in seeds]

    @FUZZ
    @given(mutated(all_seeds))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        try:
            fmt = formats.detect(path)
            if fmt.name in SEEDS:  # other importers are fuzzed by their own tests
                formats.read(path, format=fmt.name)
        except CalmtraceError:
            pass

    run()


@pytest.mark.parametrize("kind", ["bytes", "mutated"])
def test_events_file(fuzz_dir: Path, kind: str) -> None:
    paths = [fuzz_dir / "events.csv", fuzz_dir / "events.json", fuzz_dir / "diary.txt"]
    strategy = st.binary(max_size=3000) if kind == "bytes" else mutated(EVENT_SEEDS)

    @FUZZ
    @given(strategy, st.sampled_from(paths), st.sampled_from([None, "+02:00", "-05:30"]),
           st.sampled_from([None, 3600.0]))
    def run(data: bytes, path: Path, offset: str | None, duration_s: float | None) -> None:
        path.write_bytes(data)
        try:
            read_events(path, START, duration_s=duration_s, utc_offset=offset)
        except CalmtraceError:
            pass

    run()
