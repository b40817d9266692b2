"""The command line as a user meets it: a real subprocess, one-line errors, exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datetime import datetime, timezone

from calmtrace.events import Event, Events
from calmtrace.recording import Recording
from calmtrace.store import load_folder, save

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    err = p.stderr.strip()
    assert "Traceback" not in p.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("calmtrace: error: ")
    return err


@pytest.fixture
def rec_folder(tmp_path: Path) -> Path:
    rr = 800.0 + 40 * np.sin(np.arange(600) / 5.0)
    rec = Recording(start=START, beats=pd.DataFrame({"t_s": np.cumsum(rr) / 1000, "rr_ms": rr}),
                    events=Events([Event(60.0, 120.0, "speech", "stressor")]))
    return save(rec, tmp_path / "rec")


def test_help_teaches_with_examples() -> None:
    top = run("--help")
    assert top.returncode == 0 and "calmtrace simulate tsst" in top.stdout
    for cmd in (["import"], ["info"], ["events", "add"], ["simulate"]):
        p = run(*cmd, "--help")
        assert p.returncode == 0, p.stderr
        assert "Example" in p.stdout, f"{' '.join(cmd)} --help has no example"


def test_info_describes_a_recording(rec_folder: Path) -> None:
    p = run("info", str(rec_folder))
    assert p.returncode == 0, p.stderr
    assert "beats        600" in p.stdout
    assert "speech" in p.stdout and "stressor" in p.stdout
    # keys line up: every "  key  value" line has its value in the same column
    body = [ln for ln in p.stdout.splitlines()[1:] if ln.startswith("  ") and not ln.startswith("    ")]
    assert body and all(ln[15] != " " and ln[14] == " " for ln in body), body


def test_info_lists_each_warning_once_and_the_quality_verdict(tmp_path: Path) -> None:
    from calmtrace.signals.simulate import simulate

    folder = tmp_path / "messy"
    save(simulate("tsst", seed=6, artifact_pct=15.0), folder)
    p = run("info", str(folder))
    assert p.returncode == 0, p.stderr
    verdict = [ln for ln in p.stdout.splitlines() if ln.startswith("  quality ")]
    assert len(verdict) == 1 and "FAILED: artefacts" in verdict[0]
    warnings = [ln for ln in (p.stdout + p.stderr).splitlines() if "warning" in ln.lower()]
    assert len(warnings) == len(set(w.split("warning", 1)[-1].strip() for w in warnings))


def test_events_add_clock_time_and_seconds(rec_folder: Path) -> None:
    p = run("events", "add", str(rec_folder), "--label", "breathing", "--kind", "intervention",
            "--onset", "09:05", "--duration", "60")
    assert p.returncode == 0, p.stderr
    ev = load_folder(rec_folder).events.df
    row = ev[ev.label == "breathing"].iloc[0]
    assert row.onset_s == 300.0 and row.duration_s == 60.0 and row.kind == "intervention"


@pytest.mark.parametrize("case, args, needle", [
    ("missing file", ["info", "{tmp}/nope.csv"], "nope.csv"),
    ("empty file", ["info", "{tmp}/empty.txt"], "empty.txt"),
    ("unknown format", ["info", "{tmp}/garbage.bin"], "not a recognised format"),
    ("unknown --format", ["import", "{tmp}/garbage.bin", "--out", "{tmp}/o", "--format", "nope"], "unknown format 'nope'"),
    ("negative RR", ["info", "{tmp}/badrec"], "rr_ms must be a positive number, got '-3'"),
    ("non-numeric RR", ["info", "{tmp}/textrec"], "rr_ms must be a positive number, got 'abc'"),
    ("naive datetime", ["events", "add", "{rec}", "--label", "x", "--kind", "note", "--onset", "2024-05-01T09:01:00"], "no UTC offset"),
    ("event outside", ["events", "add", "{rec}", "--label", "x", "--kind", "note", "--onset", "99999"], "outside the recording"),
    ("bad kind", ["events", "add", "{rec}", "--label", "x", "--kind", "party", "--onset", "3"], "--kind"),
    ("missing option", ["import", "{tmp}/garbage.bin"], "--out"),
    ("unknown command", ["frobnicate"], "frobnicate"),
    ("existing out", ["simulate", "tsst", "--out", "{rec}"], "already exists"),
])
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, rec_folder: Path, case: str, args: list[str], needle: str) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "garbage.bin").write_bytes(bytes(range(256)) * 4)
    for name, cell in (("badrec", "-3"), ("textrec", "abc")):
        folder = tmp_path / name
        save(load_folder(rec_folder), folder)
        lines = (folder / "beats.csv").read_text().splitlines()
        lines[5] = f"4.1,{cell},ok"
        (folder / "beats.csv").write_text("\n".join(lines) + "\n")
    before = {p: p.read_bytes() for p in rec_folder.iterdir()}
    args = [a.format(tmp=tmp_path, rec=rec_folder) for a in args]
    err = one_line_error(run(*args))
    assert needle in err, err
    if "badrec" in " ".join(args):
        assert "beats.csv line 6" in err
    # nothing already on disk was damaged
    assert {p: p.read_bytes() for p in rec_folder.iterdir()} == before


def test_help_and_error_texts() -> None:
    from calmtrace.formats import REGISTRY
    from calmtrace.signals.protocol import SCENARIOS

    p = run("analyze")
    assert p.returncode == 2
    assert p.stderr.strip().startswith("calmtrace: error: analyze: ") and p.stderr.count("calmtrace") == 1
    for cmd in ("analyze", "info"):
        text = " ".join(run(cmd, "--help").stdout.split()).replace("- ", "-")   # click wraps at hyphens
        assert all(name in text for name in REGISTRY), cmd
    text = " ".join(run("capture", "--help").stdout.split())
    assert all(name in text for name in SCENARIOS)
    out = run("import", "--help").stdout
    assert "list above" in out and "below" not in out
    assert out.index("rr-text") < out.index("Options:")


@pytest.mark.realdata
def test_info_and_hrv_give_one_mean_heart_rate_for_p37(tmp_path: Path) -> None:
    # before: info 63 bpm (60000 / mean RR of every recorded beat), hrv 66.4 bpm (mean of 60000/RR)
    from tests.conftest import shared_data

    from calmtrace.signals import metrics

    vu = shared_data("wearable-hrv-p37", "test_vu.txt")
    info = run("info", str(vu))
    assert info.returncode == 0, info.stderr
    line = next(ln for ln in info.stdout.splitlines() if ln.strip().startswith("beats"))
    out = tmp_path / "hrv.csv"
    p = run("hrv", str(vu), "--out", str(out))
    assert p.returncode == 0, p.stderr
    row = pd.read_csv(out).iloc[0]
    assert f"mean HR {metrics.format_value('mean_hr_bpm', row['mean_hr_bpm'])}" in line, line
    assert f"mean RR {metrics.format_value('mean_rr_ms', row['mean_rr_ms'])}" in line, line
    assert f"over the {int(row['n_beats'])} usable beats" in line
    # the definition, checked by hand on the file's beats that hrv used (docs/metrics.md: mean of
    # the instantaneous heart rates, as pyhrv and hrv-analysis; not 60000 / mean RR)
    import calmtrace

    c = calmtrace.clean(calmtrace.load(vu))
    x = c.rr_ms[c.flags == "ok"]
    assert x.size == row["n_beats"]
    assert row["mean_hr_bpm"] == pytest.approx(sum(60000.0 / v for v in x) / x.size, rel=1e-12)
    assert round(row["mean_hr_bpm"]) != round(60000.0 / x.mean())      # the two definitions differ here
