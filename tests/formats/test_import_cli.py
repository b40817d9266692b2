"""``calmtrace import`` overrides and ``calmtrace info`` import notes, through the real command line.

Expected figures are written into the input files by the tests themselves.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from calmtrace.store import load_folder
from tests.formats.test_cases import case


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=120)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("calmtrace: error: "), err
    return err


RR = [812, 790, 805, 830, 845, 820, 798, 776, 801, 822]


def test_info_shows_notes_and_an_unknown_start(tmp_path: Path) -> None:
    p = tmp_path / "rr.txt"
    p.write_text("RR\n" + "\n".join(f"{v / 1000:.3f}".replace(".", ",") for v in RR) + "\n")
    out = run("info", str(p))
    assert out.returncode == 0, out.stderr
    assert "start        unknown" in out.stdout and "1970" not in out.stdout
    assert any(ln.startswith("  import") and "decimal comma" in ln for ln in out.stdout.splitlines())
    assert "import       RR unit s" in out.stdout


def test_import_start_and_unit_are_kept_with_notes(tmp_path: Path) -> None:
    p = tmp_path / "rr.txt"
    p.write_text("\n".join(str(v) for v in RR) + "\n")
    out = tmp_path / "rec"
    r = run("import", str(p), "--out", str(out), "--unit", "ms", "--start", "2024-05-01T09:30:00+02:00")
    assert r.returncode == 0, r.stderr
    assert "note: RR unit ms (set by --unit)" in r.stdout
    rec = load_folder(out)
    assert rec.start == datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)
    assert rec.rr_ms.tolist() == RR
    assert any("--start" in n for n in rec.meta["import_notes"])  # the notes survive the folder
    info = run("info", str(out))
    assert "start        2024-05-01T07:30:00+00:00 (local +02:00)" in info.stdout


def test_import_columns_override(tmp_path: Path) -> None:
    # rr first, time second, no header: the inference would need the increasing column; say it
    t = np.cumsum(RR) / 1000.0
    p = tmp_path / "two.txt"
    p.write_text("".join(f"{v}\t{x:.3f}\n" for v, x in zip(RR, t)))
    out = tmp_path / "rec"
    r = run("import", str(p), "--out", str(out), "--columns", "rr,time")
    assert r.returncode == 0, r.stderr
    rec = load_folder(out)
    assert rec.rr_ms.tolist() == RR
    np.testing.assert_allclose(np.diff(rec.t_s), np.diff(t), atol=1e-9)


def test_import_timezone_converts_local_clock(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    r = run("import", str(case("dst-autumn", "Polar_H10_A1B2C3D4_20241027_025940_RR.txt")), "--out", str(out),
            "--timezone", "Europe/Berlin")
    assert r.returncode == 0, r.stderr
    rec = load_folder(out)
    # 02:59:40 before the clock went back is summer time (+02:00): 00:59:40 UTC
    assert rec.start == datetime(2024, 10, 27, 0, 59, 40, tzinfo=timezone.utc)
    assert "clock        changed -3600 s" in run("info", str(out)).stdout


@pytest.mark.parametrize("args,needle", [
    (["--unit", "s", "--format", "fit"], "--unit does not apply to fit files"),
    (["--columns", "time,banana"], "--columns: each column must be one of"),
    (["--timezone", "Mars/Olympus"], "--timezone must be an IANA zone"),
    (["--start", "2024-05-01T09:30:00"], "has no UTC offset"),
    (["--start", "yesterday"], "--start must be an ISO 8601"),
])
def test_bad_overrides_give_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    p = tmp_path / "rr.txt"
    p.write_text("\n".join(str(v) for v in RR) + "\n")
    err = one_line_error(run("import", str(p), "--out", str(tmp_path / "o"), *args))
    assert needle in err
    assert not (tmp_path / "o").exists()


def test_heart_rates_are_refused_on_one_line(tmp_path: Path) -> None:
    p = tmp_path / "hr.txt"
    p.write_text("72\n71\n73\n74\n75\n")
    err = one_line_error(run("import", str(p), "--out", str(tmp_path / "o")))
    assert "heart rates" in err and "hr.txt" in err
