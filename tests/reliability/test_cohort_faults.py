"""Cohort faults: `batch` on a real Dask cluster while things break.

A scheduler killed half-way, a worker killed while it analyses an input, and a cohort holding a
named pipe, folders nested 1,100 deep, a name that is not UTF-8 and unreadable files. In every case
the results finished are kept (and equal the serial run's rows for the same inputs), every input is
accounted for (analysed, failed with a one-line reason, or skipped with its reason), and nothing
ends in a traceback. Expected sets come from how each cohort is built here, never from the code
under test.

The scheduler of the first test is a `dask scheduler` process (so that it can be SIGKILLed) with a
`dask worker` process; the others use a ``LocalCluster`` (scheduler in this process, workers in
their own processes).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dask
import pandas as pd
import pytest

import calmtrace
from calmtrace.batch import analyze_one, run_batch
from calmtrace.store import save

pytestmark = pytest.mark.slow

N_COHORT = 8


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cohort")
    for i in range(N_COHORT):
        rec = calmtrace.simulate(["tsst", "breathing"][i % 2], seed=i + 1)
        rec.meta["subject"] = f"p{i:02d}"
        save(rec, root / f"p{i:02d}")
    return root


@pytest.fixture(scope="module")
def serial_rows(cohort: Path) -> dict[str, pd.DataFrame]:
    """Each input's own rows, analysed alone in this process (the reference)."""
    out = {}
    for p in sorted(cohort.iterdir()):
        rows, err = analyze_one(p)
        assert err is None
        out[str(p)] = rows.reset_index(drop=True)
    return out


def _assert_kept_rows_are_right(res, serial_rows: dict[str, pd.DataFrame]) -> None:
    for name, rows in res.cohort.groupby("input", sort=False):
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), serial_rows[name], check_dtype=False)


def _start(cmd: list[str]) -> subprocess.Popen:
    env = dict(os.environ, DASK_LOGGING__DISTRIBUTED="error")
    return subprocess.Popen([sys.executable, "-m", *cmd], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_for_workers(address: str, n: int, timeout_s: float = 60.0) -> None:
    from dask.distributed import Client

    with Client(address, timeout="30s") as c:
        c.wait_for_workers(n, timeout=timeout_s)


def test_scheduler_killed_at_half_way_keeps_the_finished_results(cohort: Path, serial_rows, tmp_path: Path) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    sched = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
    worker = None
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or sched.poll() is not None:
                    pytest.fail("the dask scheduler did not start")
                time.sleep(0.2)
        worker = _start(["distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
                         "--no-dashboard"])
        _wait_for_workers(address, 1)
        seen: list[int] = []

        def progress(done: int, total: int) -> None:
            seen.append(done)
            if done == total // 2:
                os.killpg(sched.pid, signal.SIGKILL)

        res = run_batch([cohort], scheduler=address, progress=progress)
    finally:
        for proc in (worker, sched):
            if proc is not None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=30)
    half = N_COHORT // 2
    assert res.lost and "scheduler was lost" in res.lost and "\n" not in res.lost
    # what finished before the kill is kept (at least the half counted; one more may have landed)
    assert half <= res.n_analysed <= half + 1, (res.n_analysed, seen)
    assert res.n_analysed + len(res.failures) == N_COHORT, "every input accounted for"
    assert set(res.cohort["input"]) | set(res.failures["input"]) == {str(p) for p in cohort.iterdir()}
    _assert_kept_rows_are_right(res, serial_rows)
    assert all("not analysed: the Dask scheduler was lost" in r for r in res.failures["reason"])
    # written like any other run: the kept rows and the failures
    res.write(tmp_path / "out")
    assert pd.read_parquet(tmp_path / "out" / "cohort.parquet")["input"].nunique() == res.n_analysed
    assert len(pd.read_csv(tmp_path / "out" / "failures.csv")) == N_COHORT - res.n_analysed


def test_the_cli_says_in_one_line_that_the_scheduler_was_lost(cohort: Path, tmp_path: Path) -> None:
    """A scheduler with no worker, killed after 5 s: exit 1, the closing line, then one error line."""
    port = _free_port()
    sched = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
    try:
        time.sleep(3)
        out = tmp_path / "out"
        cli = subprocess.Popen([sys.executable, "-m", "calmtrace", "batch", str(cohort), "--out", str(out),
                                "--scheduler", f"tcp://127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)
        os.killpg(sched.pid, signal.SIGKILL)
        stdout, stderr = cli.communicate(timeout=300)
    finally:
        try:
            os.killpg(sched.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        sched.wait(timeout=30)
    assert cli.returncode == 1, stderr
    assert f"analysed 0 recordings (0 rows), {N_COHORT} failed, 0 skipped" in stdout
    errors = [line for line in stderr.splitlines() if line.startswith("calmtrace: error:")]
    assert len(errors) == 1 and "scheduler was lost" in errors[0], stderr
    assert "Traceback" not in stderr
    assert len(pd.read_csv(out / "failures.csv")) == N_COHORT


def test_a_worker_killed_on_an_input_costs_only_its_own_rows(cohort: Path, serial_rows) -> None:
    """KilledWorker: SIGKILL the worker that is analysing an input (allowed-failures 0, so the
    scheduler gives the input up at once, as it does for an input that crashes every worker)."""
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address="127.0.0.1:0", silence_logs=50)
    victims: dict[str, list[str]] = {}

    def progress(done: int, total: int) -> None:
        if victims:
            return
        for ws in list(cluster.scheduler.workers.values()):
            if ws.processing:
                victims[ws.address] = [ts.key for ts in ws.processing]
                os.kill(ws.pid, signal.SIGKILL)
                return

    try:
        res = run_batch([cohort], scheduler=cluster.scheduler_address, progress=progress)
    finally:
        cluster.close()
    assert victims, "a worker was busy after the first result"
    killed = [r for r in res.failures["reason"] if "a worker process died while analysing it" in r]
    assert 1 <= len(killed) == len(res.failures), res.failures
    assert res.lost is None
    assert res.n_analysed + len(res.failures) == N_COHORT
    _assert_kept_rows_are_right(res, serial_rows)


def test_pipe_deep_nesting_undecodable_names_and_unreadable_files_on_a_local_cluster(tmp_path: Path, deep_folder) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    save(calmtrace.simulate("tsst", seed=1), root / "p1")
    deep = deep_folder(root / "deep", 1100)
    save(calmtrace.simulate("breathing", seed=2), deep / "p2")
    os.mkfifo(root / "stream.txt")
    (root / os.fsdecode(b"\xff\xfe-rr.txt")).write_text("\n".join(["812", "798", "805", "790"] * 80) + "\n")
    (root / os.fsdecode(b"\xff-notes.txt")).write_text("not a recording\n")
    (root / "gone.hrm").symlink_to(root / "nowhere.hrm")
    (root / "locked.txt").write_text("\n".join(["800", "810", "795", "805"] * 80) + "\n")
    (root / "locked.txt").chmod(0)
    readable_as_root = os.access(root / "locked.txt", os.R_OK)
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "calmtrace", "batch", str(root), "--out", str(out), "-j", "2"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    cohort = pd.read_parquet(out / "cohort.parquet")
    failures = pd.read_csv(out / "failures.csv")
    skipped = pd.read_csv(out / "skipped.csv")
    r = str(root) + "/"
    analysed = {x.removeprefix(r) for x in cohort["input"]}
    assert {"p1", "\\xff\\xfe-rr.txt"} <= analysed and any(x.endswith("/d/p2") for x in analysed)
    assert "gone.hrm" in {x.removeprefix(r) for x in failures["input"]}
    assert {"stream.txt", "\\xff-notes.txt"} <= {x.removeprefix(r) for x in skipped["input"]}
    # the locked file: unreadable (failed) for a normal user; root reads it (then it is analysed)
    where = analysed if readable_as_root else {x.removeprefix(r) for x in failures["input"]}
    assert "locked.txt" in where
    n = len(analysed) + len(failures) + len(skipped)
    assert n == 7, (analysed, failures, skipped)
    assert f"analysed {len(analysed)} recordings" in p.stdout
    assert f"{len(failures)} failed, {len(skipped)} skipped" in p.stdout
    # quiet by default: stderr holds the failure lines only, no Dask logging
    assert all(line.startswith("  failed: ") for line in p.stderr.splitlines()), p.stderr
