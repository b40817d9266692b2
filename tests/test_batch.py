"""Cohorts: `calmtrace batch` on a real dask.distributed cluster gives the serial run's table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import calmtrace
from calmtrace.batch import analyze_one, find_inputs, run_batch
from calmtrace.store import save


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cohort")
    for i, scen in enumerate(["tsst", "breathing", "exercise"], start=1):
        rec = calmtrace.simulate(scen, seed=i)
        rec.meta["subject"] = f"p{i:02d}"
        rec.meta["device_address"] = f"AA:BB:CC:DD:EE:{i:02X}"
        save(rec, root / f"p{i:02d}" / scen)
    (root / "p04").mkdir()
    (root / "p04" / "broken.hrm").write_text("[Params]\nVersion=106\n[HRData]\n800\n-5\n")
    (root / "notes.txt").write_text("this is not a recording\n")
    return root


def test_find_inputs_finds_folders_and_files(cohort_dir: Path) -> None:
    found = [p.relative_to(cohort_dir).as_posix() for p in find_inputs([cohort_dir])]
    assert found == ["p01/tsst", "p02/breathing", "p03/exercise", "p04/broken.hrm"]


def test_serial_batch_table(cohort_dir: Path) -> None:
    res = run_batch([cohort_dir], serial=True)
    assert sorted(res.cohort["subject"].unique()) == ["p01", "p02", "p03"]
    assert len(res.failures) == 1 and "broken.hrm" in res.failures.iloc[0]["reason"]
    assert "\n" not in res.failures.iloc[0]["reason"]
    # subject ids, never device addresses
    text = res.cohort.to_csv()
    assert "AA:BB:CC" not in text
    # the rows of one input are that input's own analysis
    rows, err = analyze_one(cohort_dir / "p01" / "tsst")
    assert err is None
    mine = res.cohort[res.cohort["input"] == str(cohort_dir / "p01" / "tsst")].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, rows.reset_index(drop=True), check_dtype=False)
    assert set(mine["event_label"]) == {"speech", "arithmetic"}
    assert mine["session_date"].iloc[0] == "2026-01-05"


def test_batch_on_a_real_dask_cluster_matches_serial(cohort_dir: Path, tmp_path: Path) -> None:
    """A LocalCluster (scheduler and worker processes on loopback) reached through --scheduler."""
    from dask.distributed import LocalCluster

    serial = run_batch([cohort_dir], serial=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        out = tmp_path / "out"
        p = subprocess.run([sys.executable, "-m", "calmtrace", "batch", str(cohort_dir), "--out", str(out),
                            "--scheduler", cluster.scheduler_address], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    dist = pd.read_parquet(out / "cohort.parquet")
    pd.testing.assert_frame_equal(dist, serial.cohort.reset_index(drop=True), check_dtype=False)
    failures = pd.read_csv(out / "failures.csv")
    assert failures["input"].tolist() == serial.failures["input"].tolist()
    assert "failed:" in p.stderr and "broken.hrm" in p.stderr


def test_bad_scheduler_address_is_one_line(cohort_dir: Path, tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "calmtrace", "batch", str(cohort_dir), "--out", str(tmp_path / "o"),
                        "--scheduler", "http://nowhere"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "tcp://HOST:PORT" in p.stderr and len(p.stderr.strip().splitlines()) == 1
