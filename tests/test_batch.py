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
                      dashboard_address="127.0.0.1:0") as cluster:
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


# ------------------------------------------------------------------------------------------
# issue 10: every file accounted for, nothing hangs, nothing loses the cohort
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory: pytest.TempPathFactory, deep_folder):
    """A cohort with every kind of trouble, and what each file must become (written by hand)."""
    import os

    root = tmp_path_factory.mktemp("mixed")
    analysed, failed, skipped = [], [], []
    for i, scen in enumerate(["tsst", "breathing"], start=1):
        save(calmtrace.simulate(scen, seed=i), root / f"p{i}")
        analysed.append(f"p{i}")
    deep = deep_folder(root / "deep", 1100)
    save(calmtrace.simulate("exercise", seed=3), deep / "p3")
    analysed.append(str((deep / "p3").relative_to(root)))
    (root / "damaged.hrm").write_text("[Params]\nVersion=106\n")            # a recording, damaged
    failed.append("damaged.hrm")
    (root / "gone.txt").symlink_to(root / "nowhere.txt")                   # unreadable: dangling link
    failed.append("gone.txt")
    (root / "loop.csv").symlink_to(root / "loop.csv")                      # unreadable: a link loop
    failed.append("loop.csv")
    os.mkfifo(root / "pipe.csv")                                           # never opened
    skipped.append("pipe.csv")
    (root / "notes.txt").write_text("this is not a recording\n")
    skipped.append("notes.txt")
    (root / "README.md").write_text("# study\n")
    skipped.append("README.md")
    name = os.fsdecode(b"caf\xe9-rr.txt")                                  # not UTF-8
    (root / name).write_text("\n".join(["800", "810", "790", "805"] * 100) + "\n")
    analysed.append("caf\\xe9-rr.txt")
    (root / ".hidden.txt").write_text("hidden files are passed over\n")
    (root / "cohort.csv").write_text("input\n")                           # calmtrace's own output
    return {"root": root, "analysed": sorted(analysed), "failed": sorted(failed), "skipped": sorted(skipped)}


def _within(timeout_s: float, fn):
    """``fn()``, or a failure when it has not returned within ``timeout_s`` (a named pipe opened
    by mistake blocks forever; the daemon thread is then left behind, blocked)."""
    import threading

    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test below
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout_s)
    if t.is_alive():
        pytest.fail(f"still running after {timeout_s:g} s (blocked on a named pipe?)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _rel(root: Path, shown: str) -> str:
    prefix = str(root).rstrip("/") + "/"
    assert shown.startswith(prefix), shown
    return shown[len(prefix):]


def test_every_file_is_analysed_failed_or_skipped_with_its_reason(mixed_dir: dict) -> None:
    root = mixed_dir["root"]
    res = _within(300.0, lambda: run_batch([root], serial=True))
    got = {
        "analysed": sorted(_rel(root, x) for x in res.cohort["input"].unique()),
        "failed": sorted(_rel(root, x) for x in res.failures["input"]),
        "skipped": sorted(_rel(root, x) for x in res.skipped["input"]),
    }
    assert got == {k: mixed_dir[k] for k in got}
    reasons = dict(zip(got["failed"], sorted(zip(res.failures["input"], res.failures["reason"]))))
    assert "cannot read" in reasons["gone.txt"][1] and "cannot read" in reasons["loop.csv"][1]
    assert "damaged.hrm" in reasons["damaged.hrm"][1]
    skipped = dict(zip(res.skipped["input"].map(lambda x: _rel(root, x)), res.skipped["reason"]))
    assert "named pipe" in skipped["pipe.csv"] and "not a recognised format" in skipped["notes.txt"]
    for reason in list(res.failures["reason"]) + list(res.skipped["reason"]):
        assert "\n" not in reason and len(reason) <= 300


def test_the_cli_counts_all_three_and_writes_names_that_are_not_utf8(mixed_dir: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "calmtrace", "batch", str(mixed_dir["root"]), "--out", str(out),
                        "--serial"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    n_a, n_f, n_s = (len(mixed_dir[k]) for k in ("analysed", "failed", "skipped"))
    assert f"analysed {n_a} recordings" in p.stdout and f", {n_f} failed, {n_s} skipped ->" in p.stdout
    assert "caf\\xe9-rr.txt" in pd.read_csv(out / "cohort.csv")["input"].str.cat()
    assert len(pd.read_csv(out / "skipped.csv")) == n_s and len(pd.read_csv(out / "failures.csv")) == n_f
    assert pd.read_parquet(out / "cohort.parquet")["input"].nunique() == n_a


def test_info_and_batch_refuse_a_named_pipe_at_once(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "rr.txt"
    os.mkfifo(fifo)
    p = subprocess.run([sys.executable, "-m", "calmtrace", "info", str(fifo)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2 and "not a regular file" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = subprocess.run([sys.executable, "-m", "calmtrace", "batch", str(fifo), "--out", str(tmp_path / "o"),
                        "--serial"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "0 failed, 1 skipped" in p.stdout, p.stderr


def test_cohort_csv_is_spreadsheet_safe_and_the_parquet_exact(tmp_path: Path) -> None:
    """OWASP CSV injection: a label starting with = + - @ tab or CR is prefixed with ' in the CSV."""
    from calmtrace.events import Event, Events

    labels = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tspeech", "\rmaths"]
    rec = calmtrace.simulate("tsst", seed=1)
    evs = [Event(e.onset_s, e.duration_s, labels[i % len(labels)], e.kind) for i, e in enumerate(rec.events)]
    extra = [Event(200.0 + 20 * k, 10.0, lab, "stressor") for k, lab in enumerate(labels)]
    save(rec.with_events(Events(evs + extra)), tmp_path / "in" / "rec")
    out = tmp_path / "out"
    run_batch([tmp_path / "in"], serial=True).write(out)
    exact = pd.read_parquet(out / "cohort.parquet")
    csv_labels = pd.read_csv(out / "cohort.csv", keep_default_na=False)["event_label"]
    assert set(labels) <= set(exact["event_label"])
    for exact_label, csv_label in zip(exact["event_label"], csv_labels):
        if exact_label[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert csv_label == "'" + exact_label
        else:
            assert csv_label == exact_label
    assert pd.read_csv(out / "cohort.csv")["duration_s"].dtype.kind == "f", "numbers stay numbers"


def test_a_wfdb_record_is_one_input_whatever_files_it_has(tmp_path: Path) -> None:
    # a record with its signal (.dat) and beat annotations (.atr) beside the header, and a
    # Long-Term-style record with header and annotations only: each is analysed once, through its
    # header; its other files are skipped with the reason
    wfdb = pytest.importorskip("wfdb")
    import numpy as np

    fs = 250
    t = np.arange(fs * 120) / fs
    ecg = np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)  # one sharp peak every 0.8 s
    for name in ("full", "annotated"):
        wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["ECG"], p_signal=ecg[:, None], fmt=["16"],
                    adc_gain=[1000.0], baseline=[0], write_dir=str(tmp_path))
        wfdb.wrann(name, "atr", np.arange(100, fs * 120, 200), symbol=["N"] * 150, write_dir=str(tmp_path))
    (tmp_path / "annotated.dat").unlink()
    res = run_batch([tmp_path], serial=True)
    assert sorted(Path(x).name for x in res.cohort["input"].unique()) == ["annotated.hea", "full.hea"]
    assert len(res.failures) == 0
    skipped = dict(zip(res.skipped["input"].map(lambda x: Path(x).name), res.skipped["reason"]))
    assert sorted(skipped) == ["annotated.atr", "full.atr", "full.dat"]
    assert "part of the WFDB record full.hea" in skipped["full.dat"]
