"""Small faults a new user met in `analyze` (issue 15's user report): an empty phases.csv, a
header-only beats.csv, and one mean heart rate and labelled beat counts across info and analyze."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calmtrace.recording import Recording
from calmtrace.store import save

START = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=300)


def test_phases_csv_without_phases_reads_as_an_empty_table(tmp_path: Path) -> None:
    from calmtrace.analysis import analyze
    from calmtrace.signals.segment import SPAN_COLUMNS

    rr = 850.0 + 40 * np.sin(np.arange(800) / 4.0)
    rec = Recording(start=START, beats=pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0, "rr_ms": rr}))
    res = analyze(rec)
    res.write(tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "phases.csv")
    assert len(table) == 0
    assert list(table.columns[:2]) == ["label", "kind"]
    assert set(SPAN_COLUMNS) <= set(table.columns)
    assert {"rmssd_ms_delta", "rmssd_ms_delta_pct"} <= set(table.columns)


def test_a_folder_with_no_beats_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "empty-rec"
    save(Recording(start=START, beats=pd.DataFrame({"t_s": [], "rr_ms": []})), folder)
    assert (folder / "beats.csv").read_text().strip().count("\n") == 0  # only the header
    for cmd in ("analyze", "day"):
        p = run(cmd, str(folder), "--out", str(tmp_path / f"o-{cmd}"))
        assert p.returncode == 1, (cmd, p.stdout, p.stderr)  # an AnalysisError: the data cannot support it
        err = p.stderr.strip()
        assert len(err.splitlines()) == 1 and str(folder) in err and "0 beats" in err, (cmd, err)


@pytest.mark.realdata
def test_analyze_gives_the_mean_hr_and_beat_counts_info_gives(tmp_path: Path) -> None:
    from tests.conftest import shared_data

    import calmtrace
    from calmtrace.analysis import analyze
    from calmtrace.signals import metrics

    vu = shared_data("wearable-hrv-p37", "test_vu.txt")
    recorded = calmtrace.load(vu)
    res = analyze(recorded)
    items = res.summary.set_index("item")["value"]
    # the definition by hand: the mean of 60000/RR over the cleaned beats flagged ok
    c = calmtrace.clean(recorded)
    x = c.rr_ms[c.flags == "ok"]
    assert float(items["mean_hr_bpm"]) == pytest.approx(float(np.mean(60000.0 / x)), rel=1e-12)
    assert int(items["usable_beats"]) == x.size
    assert int(items["beats_recorded"]) == len(recorded.beats)
    assert int(items["beats"]) == len(c.beats)
    info = run("info", str(vu))
    line = next(ln for ln in info.stdout.splitlines() if ln.strip().startswith("beats"))
    assert f"mean HR {metrics.format_value('mean_hr_bpm', float(items['mean_hr_bpm']))}" in line, line
    assert f"{len(recorded.beats)} recorded, {len(c.beats)} after cleaning" in line, line
    assert f"over the {x.size} usable beats" in line, line
