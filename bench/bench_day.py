"""A week of continuous wear through `calmtrace day`, against the first hour of the same data.

    python bench/bench_day.py [--days 7] [--acc-hz 25] [--keep DIR]

The parent simulates ``--days`` days of wear (signals/day_sim.py: beats and a 25-Hz chest
accelerometer, about 100,000 beats and 2.2 million acceleration samples a day), writes them as a
recording folder with ``acc.csv``, crops the first hour into a second folder, and runs each in a
fresh child process: load the folder, read ``acc.csv``, ``analyze(rec, acc=acc)`` (cleaning,
windowed HRV, rhythm, recovery, the day analysis) and write the session report with its day view.
Each child reports its stage times (wall clock) and its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``); the parent prints them side by side with the
week / hour ratios. Targets (issue 15): the week analyses in < 60 s and < 2 GB, and its report
stays < 25 MB. Times depend on the load of the shared machine; the ratio against the hour, run in
the same way in the same run, is the comparable figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(folder: Path, report_dir: Path) -> dict:
    t0 = time.perf_counter()
    from calmtrace.analysis import analyze
    from calmtrace.formats.acc_csv import read_acc
    from calmtrace.loader import load
    from calmtrace.report import write_report

    t_import = time.perf_counter()
    rec = load(folder)
    t_load = time.perf_counter()
    acc = read_acc(folder / "acc.csv", rec.start)
    t_acc = time.perf_counter()
    res = analyze(rec, acc=acc)
    t_an = time.perf_counter()
    out = report_dir / f"{folder.name}.html"
    write_report(res, out)
    t_rep = time.perf_counter()
    return {
        "beats": len(rec.beats), "acc_samples": len(acc), "epochs": len(res.day.epochs) if res.day else 0,
        "import_s": t_import - t0, "load_beats_s": t_load - t_import, "read_acc_s": t_acc - t_load,
        "analyze_s": t_an - t_acc, "report_s": t_rep - t_an, "report_mb": out.stat().st_size / 1e6,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--acc-hz", type=float, default=25.0)
    ap.add_argument("--keep", type=Path, default=None, help="Write the folders here and keep them.")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--report-dir", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        print(json.dumps(child(a.child, a.report_dir)))
        return

    from calmtrace.events import Events
    from calmtrace.signals.day_sim import simulate_day
    from calmtrace.store import save

    base = a.keep or Path(tempfile.mkdtemp(prefix="calmtrace-bench-day-"))
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sim = simulate_day(a.days, seed=1, acc_fs_hz=a.acc_hz)
    print(f"simulated {a.days} day(s): {len(sim.recording.beats):,} beats, {len(sim.acc):,} acceleration "
          f"samples in {time.perf_counter() - t0:.1f} s")
    week, hour = base / "week", base / "hour"
    save(sim.recording, week, force=True)
    sim.acc.to_csv(week / "acc.csv", index=False, float_format="%.3f")
    rec = sim.recording
    b = rec.beats[rec.beats["t_s"] < 3600.0]
    ev = rec.events.df
    ev = ev[(ev["onset_s"] + ev["duration_s"]) <= 3600.0]
    g = rec.gaps[rec.gaps["onset_s"] + rec.gaps["duration_s"] <= 3600.0]
    save(rec.replace(beats=b[["t_s", "rr_ms"]], events=Events(ev), gaps=g), hour, force=True)
    sim.acc[sim.acc["t_s"] < 3600.0].to_csv(hour / "acc.csv", index=False, float_format="%.3f")
    reports = base / "reports"
    reports.mkdir(exist_ok=True)
    figures = {}
    for name, folder in (("hour", hour), ("week", week)):
        p = subprocess.run([sys.executable, __file__, "--child", str(folder), "--report-dir", str(reports)],
                           capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if p.returncode:
            print(p.stderr)
            raise SystemExit(f"{name}: child failed")
        figures[name] = json.loads(p.stdout.strip().splitlines()[-1])
    keys = ["beats", "acc_samples", "epochs", "load_beats_s", "read_acc_s", "analyze_s", "report_s", "report_mb",
            "max_rss_mb"]
    print(f"{'figure':<14}{'first hour':>14}{'week':>14}{'week/hour':>12}")
    for k in keys:
        h, w = figures["hour"][k], figures["week"][k]
        ratio = f"{w / h:.1f}x" if h else "-"
        print(f"{k:<14}{h:>14,.2f}{w:>14,.2f}{ratio:>12}")
    wk = figures["week"]
    total = wk["load_beats_s"] + wk["read_acc_s"] + wk["analyze_s"]
    print(f"week: load + read acc + analyze {total:.1f} s (target < 60 s), peak RSS {wk['max_rss_mb']:.0f} MB "
          f"(target < 2048 MB), report {wk['report_mb']:.1f} MB (target < 25 MB)")
    print(f"folders in {base}" + ("" if a.keep else " (temporary)"))


if __name__ == "__main__":
    main()
