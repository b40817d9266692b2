"""Import overrides that give intervals no human heart gives are refused, on one line, naming the
file, the override and what the values look like; nothing is written.

The series are written here, so the expected median and heart rate of each wrong reading are
worked out from the written values (a unit is a factor of 1000), not by the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import InputError
from calmtrace.formats import ImportOptions
from tests.formats.test_import_cli import one_line_error, run

RNG = np.random.default_rng(7)
RR_MS = np.round(800 + 60 * RNG.standard_normal(240))  # a resting heart, 75 bpm


def _write(path: Path, values, header: str | None = None, fmt: str = "{:g}") -> Path:
    path.write_text((header + "\n" if header else "") + "".join(fmt.format(v) + "\n" for v in values))
    return path


def _bpm_text(median_ms: float) -> str:
    bpm = 60000 / median_ms
    return f"{bpm:,.0f} bpm" if bpm >= 100 else f"{bpm:.3g} bpm"


@pytest.mark.parametrize("written_unit,forced,looks", [
    ("s", "ms", "seconds (--unit s)"),        # the example of the last closing note: 75,000 bpm
    ("ms", "s", "milliseconds (--unit ms)"),  # 800 s per beat
    ("ms", "us", "milliseconds (--unit ms)"),
    ("s", "us", "seconds (--unit s)"),
])
def test_a_wrong_unit_is_refused_with_the_unit_the_values_fit(tmp_path: Path, written_unit, forced, looks):
    scale = {"s": 1e-3, "ms": 1.0}[written_unit]
    p = _write(tmp_path / "rr.txt", RR_MS * scale, fmt="{:.3f}" if written_unit == "s" else "{:g}")
    out = tmp_path / "rec"
    err = one_line_error(run("import", str(p), "--out", str(out), "--unit", forced))
    assert not out.exists()
    # what the wrong unit makes of the written values
    wrong_ms = np.median(np.round(RR_MS * scale, 3) if written_unit == "s" else RR_MS) * {"ms": 1, "s": 1000,
                                                                                         "us": 1e-3}[forced]
    assert str(p) in err and f"--unit {forced} gives a median RR of" in err
    assert _bpm_text(wrong_ms) in err
    assert "100% of the 240 intervals lie outside the human range" in err
    assert err.endswith(f"the file's values look like {looks}")


def test_the_right_unit_and_a_minority_of_odd_values_pass(tmp_path: Path) -> None:
    # 30 % of the values are 150 ms artefacts: most beats are human, so --unit ms stands
    rr = RR_MS.copy()
    rr[::10] = 150
    rr[1::10] = 150
    rr[2::10] = 150
    p = _write(tmp_path / "rr.txt", rr)
    rec = formats.read(p, options=ImportOptions(unit="ms"))
    assert rec.rr_ms.tolist() == rr.tolist()
    # an exercise series near the fast end of the range (180-220 bpm) with --unit s
    fast = _write(tmp_path / "fast.txt", np.linspace(0.273, 0.333, 200), fmt="{:.3f}")
    assert formats.read(fast, options=ImportOptions(unit="s")).rr_ms.max() == pytest.approx(333.0)


def test_the_python_api_refuses_the_same(tmp_path: Path) -> None:
    p = _write(tmp_path / "rr.txt", RR_MS / 1000, fmt="{:.3f}")
    with pytest.raises(InputError, match=r"rr\.txt: --unit ms gives a median RR of 0\.\d+ ms"):
        formats.read(p, options=ImportOptions(unit="ms"))


@pytest.mark.parametrize("forced,looks", [("ms", "seconds (--time-unit s)"), ("us", "seconds (--time-unit s)")])
def test_a_wrong_time_unit_of_beat_times_is_refused(tmp_path: Path, forced, looks) -> None:
    t_s = np.cumsum(RR_MS) / 1000
    p = _write(tmp_path / "beats.csv", t_s, header="t", fmt="{:.3f}")
    out = tmp_path / "rec"
    err = one_line_error(run("import", str(p), "--out", str(out), "--time-unit", forced))
    assert not out.exists()
    steps_ms = np.diff(np.round(t_s, 3)) * {"ms": 1.0, "us": 1e-3}[forced]
    assert f"--time-unit {forced} gives a median RR of" in err and _bpm_text(np.median(steps_ms)) in err
    assert err.endswith(f"look like {looks}")
    # the right unit imports
    ok = run("import", str(p), "--out", str(out), "--time-unit", "s")
    assert ok.returncode == 0, ok.stderr


def test_a_wrong_time_unit_beside_intervals_is_refused(tmp_path: Path) -> None:
    # the intervals are right, but in ms the time column would cover a thousandth of the recording:
    # every step would be a gap (beats that never arrived)
    t_s = np.cumsum(RR_MS) / 1000
    p = tmp_path / "two.csv"
    p.write_text("time,rr\n" + "".join(f"{a:.3f},{b:g}\n" for a, b in zip(t_s, RR_MS)))
    out = tmp_path / "rec"
    err = one_line_error(run("import", str(p), "--out", str(out), "--time-unit", "ms"))
    assert not out.exists()
    covered_s = np.sum(np.diff(np.round(t_s, 3))) / 1000
    total_s = RR_MS.sum() / 1000
    assert f"--time-unit ms makes time column 'time' cover {covered_s:.3g} s" in err
    assert f"its intervals add up to {total_s:.1f} s" in err and err.endswith("look like seconds (--time-unit s)")


def test_an_ecg_sampling_rate_far_off_is_refused(tmp_path: Path) -> None:
    nk = pytest.importorskip("neurokit2")
    fs = 250
    ecg = nk.ecg_simulate(duration=60, sampling_rate=fs, heart_rate=70, noise=0.0, random_state=1)
    p = tmp_path / "ecg.csv"
    p.write_text("ECG\n" + "".join(f"{v:.5f}\n" for v in ecg))
    out = tmp_path / "rec"
    for wrong in ("1000", "60"):
        r = run("import", str(p), "--out", str(out), "--fs", wrong)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        last = r.stderr.strip().splitlines()[-1]  # the R-peak detector may log a warning first
        assert last == f"calmtrace: error: {p}: --fs {wrong} gives no beat-to-beat interval; check --fs " \
                       f"(a human heart gives 250-2500 ms)"
        assert not out.exists()
    assert run("import", str(p), "--out", str(out), "--fs", str(fs)).returncode == 0


@pytest.mark.parametrize("header", ["t", None])
def test_beat_times_in_ms_without_a_stated_unit_are_read_as_ms(tmp_path: Path, header) -> None:
    # found while checking the overrides: a lone column of beat times in ms, its unit not in the
    # header, was read as seconds without a word (0 beats, 239 gaps of 13 min each); the median
    # step decides the unit as the median value does for an RR column
    t_ms = np.cumsum(RR_MS)
    p = _write(tmp_path / "beats.txt", t_ms, header=header, fmt="{:.0f}")
    opts = ImportOptions(columns=("time",)) if header is None else None
    rec = formats.read(p, options=opts)
    np.testing.assert_allclose(rec.rr_ms, RR_MS[1:], atol=1e-6)
    assert len(rec.gaps) == 0
    assert any(n.startswith("time unit ms: the median step") for n in rec.meta["import_notes"])
