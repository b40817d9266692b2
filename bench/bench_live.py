"""CPU cost of a live capture with its web page open, against the same capture without the page.

Both runs are ``calmtrace capture --simulate tsst --speed 1 --duration D --no-live`` in a child
process: a virtual strap at real time (one notification a second), the capture writing every
line. The run with the page adds ``--serve 0 --pacer 6`` and keeps the page open in headless
Chromium (Playwright) for the whole run, so the server pushes a snapshot 4 times a second and the
forecast and pacer run. The figure is the child's CPU time (user + system, read from
``/proc/PID/stat``) over the steady part of the run (from 15 s after it starts to 5 s before its
end, so that start-up, imports and connecting are left out) divided by that wall time: the share of
one core it used. The virtual strap and its emulated
Bluetooth controller (Bumble) run in the same process, so both figures include them: they are an
upper bound of what calmtrace costs with a real strap; the difference is the page's own cost.

    python bench/bench_live.py [--duration 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(duration_s: float, page: bool, work: Path) -> float:
    out = work / f"cap-{'page' if page else 'plain'}-{time.time_ns()}"
    cmd = [sys.executable, "-m", "calmtrace", "capture", "--simulate", "tsst", "--speed", "1",
           "--duration", str(duration_s), "--no-live", "--out", str(out)]
    if page:
        cmd += ["--serve", "0", "--pacer", "6"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    browser_ctx = None
    if page:
        from playwright.sync_api import sync_playwright

        url = None
        while url is None:
            line = proc.stderr.readline()
            if not line:
                raise SystemExit("the capture ended before serving its page")
            if line.startswith("live page: "):
                url = line.split(": ", 1)[1].strip()
        browser_ctx = sync_playwright().start()
        b = browser_ctx.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
        pg = b.new_page()
        pg.goto(url)
    time.sleep(max(0.0, t0 + 15.0 - time.perf_counter()))
    c1, w1 = cpu_s(proc.pid), time.perf_counter()
    time.sleep(max(0.0, t0 + duration_s - 5.0 - time.perf_counter()))
    c2, w2 = cpu_s(proc.pid), time.perf_counter()
    status = proc.wait()
    if browser_ctx is not None:
        browser_ctx.stop()
    if status != 0:
        raise SystemExit(f"capture failed: {proc.stderr.read()}")
    proc.stderr.close()
    return (c2 - c1) / (w2 - w1)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    plain, page = [], []
    for _ in range(args.repeats):                # interleaved, so both see the same machine load
        plain.append(run(args.duration, False, work))
        page.append(run(args.duration, True, work))
        print(f"  without page {100 * plain[-1]:.2f} % of a core, with page {100 * page[-1]:.2f} %", flush=True)
    mp, mq = statistics.median(plain), statistics.median(page)
    print(f"capture {args.duration:g} s at real time, median of {args.repeats}: without the page "
          f"{100 * mp:.2f} % of one core; with the page open {100 * mq:.2f} % (ratio {mq / mp:.2f}; "
          f"the page adds {100 * (mq - mp):.2f} points)")


if __name__ == "__main__":
    main()
