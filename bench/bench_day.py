"""A week of continuous wear, and a 10-million-beat file, through the analysis and the report,
each against the first hour of the same data.

    python bench/bench_day.py [--days 7] [--acc-hz 25] [--big-beats 10000000] [--repeats 1] [--keep DIR]
    python bench/bench_day.py --stages DIR/rr-10000000.txt     # time and memory of each stage

The parent simulates ``--days`` days of wear (signals/day_sim.py: beats and a 25-Hz chest
accelerometer, about 100,000 beats and 2.2 million acceleration samples a day), writes them as a
recording folder with ``acc.csv``, crops the first hour into a second folder, and runs each in a
fresh child process: load the folder, read ``acc.csv``, ``analyze(rec, acc=acc)`` (cleaning,
windowed HRV, rhythm, recovery, the day analysis) and write the session report with its day view.
Each child reports its stage times (wall clock) and its peak resident memory
(``VmHWM`` of /proc/self/status, see :func:`peak_rss_mb`); the parent prints them side by side with the
week / hour ratios. Targets (issue 15): the week analyses in < 60 s and < 2 GB, and its report
stays < 25 MB. Times depend on the load of the shared machine; the ratio against the hour, run in
the same way in the same run, is the comparable figure.

The 10-million-beat file (issue 15: "a 10-million-beat file takes 3:48 and 5.7 GB to analyse and
writes an 848 MB report"; no earlier bench made it, so it is made here): 14 simulated days without
the accelerometer (``simulate_day(14, seed=1, with_acc=False)``, 1.3 million beats) repeated end to
end until ``--big-beats`` RR intervals (~106 days), written as a plain RR text file, one interval
in ms a line, the format of the real 24-hour series (its importer records "start unknown": the file
has no date). Its first hour is the peer. Each child loads the file, runs ``analyze(rec)`` (the day
analysis included, heart-rate only) and writes the session report. ``--big-beats 0`` skips it.
``--repeats`` runs every child that many times and prints medians (peak memory: the largest).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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
    acc = read_acc(folder / "acc.csv", rec.start) if folder.is_dir() else None
    t_acc = time.perf_counter()
    res = analyze(rec, acc=acc)
    t_an = time.perf_counter()
    out = report_dir / f"{folder.stem}.html"
    write_report(res, out)
    t_rep = time.perf_counter()
    return {
        "beats": len(rec.beats), "acc_samples": 0 if acc is None else len(acc),
        "epochs": len(res.day.epochs) if res.day else 0,
        "import_s": t_import - t0, "load_beats_s": t_load - t_import, "read_acc_s": t_acc - t_load,
        "analyze_s": t_an - t_acc, "report_s": t_rep - t_an, "report_mb": out.stat().st_size / 1e6,
        "max_rss_mb": peak_rss_mb(),
    }


def stages(path: Path, out: Path | None = None) -> dict:
    """Time and peak memory of each stage of ``analyze`` on ``path``, one after another in this
    process: ``load``, ``clean``, ``windowed_hrv``, ``windowed_rhythm``, ``describe_windows``.

    Peak memory is ``VmHWM`` reset before each stage (``echo 5 > /proc/self/clear_refs``), so each
    figure is the resident size at that stage's peak, including what the earlier stages left
    (the recording, the cleaned beats, the windows). ``out``: save the rhythm column there (.npy)
    to compare two versions of the code.
    """
    import numpy as np

    from calmtrace.analysis import AnalysisConfig
    from calmtrace.loader import load
    from calmtrace.signals.clean import clean
    from calmtrace.signals.hrv import windowed_hrv
    from calmtrace.signals.rhythm import describe_windows, windowed_rhythm

    cfg = AnalysisConfig()
    figures: dict = {}

    def run(name, fn):
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass
        before = rss_mb()
        t0 = time.perf_counter()
        r = fn()
        figures[name] = {"s": round(time.perf_counter() - t0, 2), "peak_mb": round(peak_rss_mb()),
                         "before_mb": round(before)}
        print(f"  {name:<18}{figures[name]['s']:>8.1f} s{figures[name]['peak_mb']:>9,} MB peak "
              f"({before:,.0f} MB resident before)", flush=True)
        return r

    rec = run("load", lambda: load(path))
    cleaned = run("clean", lambda: clean(rec, cfg.clean, cfg.rhythm))
    windows = run("windowed_hrv", lambda: windowed_hrv(cleaned, window_s=cfg.windows.window_s,
                                                       step_s=cfg.windows.step_s, config=cfg.hrv))
    rhythm = run("windowed_rhythm", lambda: windowed_rhythm(rec, cleaned, windows, cfg.rhythm))
    run("describe_windows", lambda: describe_windows(windows, rhythm["rhythm"], cfg.rhythm, cfg.windows.window_s,
                                                     cfg.windows.step_s))
    if out is not None:
        np.save(out, rhythm.to_numpy(dtype=object), allow_pickle=True)
    return figures


def rss_mb() -> float:
    """This process's resident memory now, MB (``VmRSS``; 0 where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB: ``VmHWM`` of /proc/self/status (Linux).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries the parent's resident size at the
    fork into the child's ru_maxrss across exec, so every child of a parent holding a simulated
    week reported at least the parent's ~1 GB (the first hour's "944 MB" of earlier runs).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--acc-hz", type=float, default=25.0)
    ap.add_argument("--keep", type=Path, default=None, help="Write the folders here and keep them.")
    ap.add_argument("--big-beats", type=int, default=10_000_000, help="Beats of the big RR file (0: skip it).")
    ap.add_argument("--repeats", type=int, default=1, help="Runs of each child (medians are printed).")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--report-dir", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--stages", type=Path, default=None,
                    help="Only time each stage of analyze (load, clean, windows, rhythm) on this file or folder.")
    ap.add_argument("--stages-out", type=Path, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stages is not None:
        print(json.dumps(stages(a.stages, a.stages_out)))
        return
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
    cases = [("hour", hour), ("week", week)]
    if a.big_beats:
        big, big_hour = big_rr_files(base, a.big_beats)
        cases += [("10M hour", big_hour), ("10M beats", big)]
    figures = {name: run_child(name, path, reports, a.repeats) for name, path in cases}
    keys = ["beats", "acc_samples", "epochs", "load_beats_s", "read_acc_s", "analyze_s", "report_s", "report_mb",
            "max_rss_mb"]
    pairs = [("hour", "week", f"week ({a.days} d)")]
    if a.big_beats:
        pairs.append(("10M hour", "10M beats", f"{a.big_beats / 1e6:g}M beats"))
    for hname, lname, label in pairs:
        print(f"{'figure':<14}{'first hour':>14}{label:>16}{'ratio':>10}")
        for k in keys:
            h, w = figures[hname][k], figures[lname][k]
            ratio = f"{w / h:.1f}x" if h else "-"
            print(f"{k:<14}{h:>14,.2f}{w:>16,.2f}{ratio:>10}")
        wk = figures[lname]
        total = wk["load_beats_s"] + wk["read_acc_s"] + wk["analyze_s"]
        print(f"{label}: load + read acc + analyze {total:.1f} s (analyze alone {wk['analyze_s']:.1f} s; week target "
              f"< 60 s), peak RSS {wk['max_rss_mb']:.0f} MB (week target < 2048 MB), report {wk['report_mb']:.1f} MB "
              f"(target < 25 MB)\n")
    print(f"medians of {a.repeats} run(s) per child; folders in {base}" + ("" if a.keep else " (temporary)"))


def run_child(name: str, path: Path, reports: Path, repeats: int) -> dict:
    """Medians of ``repeats`` fresh child runs (peak memory: the largest)."""
    runs = []
    for _ in range(repeats):
        p = subprocess.run([sys.executable, __file__, "--child", str(path), "--report-dir", str(reports)],
                           capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if p.returncode:
            print(p.stderr)
            raise SystemExit(f"{name}: child failed")
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
        print(f"  {name}: analyze {runs[-1]['analyze_s']:.1f} s, report {runs[-1]['report_s']:.1f} s, "
              f"peak RSS {runs[-1]['max_rss_mb']:.0f} MB", flush=True)
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["max_rss_mb"] = max(r["max_rss_mb"] for r in runs)
    return out


def big_rr_files(base: Path, n_beats: int) -> tuple[Path, Path]:
    """The ``n_beats`` RR text file (14 simulated days without accelerometer, repeated) and its
    first hour, written once into ``base``."""
    import numpy as np

    from calmtrace.signals.day_sim import simulate_day

    big, hour = base / f"rr-{n_beats}.txt", base / f"rr-{n_beats}-first-hour.txt"
    if big.exists() and hour.exists():
        return big, hour
    t0 = time.perf_counter()
    rr = simulate_day(14, seed=1, with_acc=False).recording.beats["rr_ms"].to_numpy(float)
    rr = np.tile(rr, -(-n_beats // rr.size))[:n_beats]
    np.savetxt(big, rr, fmt="%.1f")
    np.savetxt(hour, rr[np.cumsum(rr) <= 3600e3], fmt="%.1f")
    print(f"{n_beats:,}-beat RR file ({rr.sum() / 86400e3:.1f} days) written in {time.perf_counter() - t0:.1f} s",
          flush=True)
    return big, hour


if __name__ == "__main__":
    main()
