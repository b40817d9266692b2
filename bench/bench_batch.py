"""Batch benchmark: 200 simulated one-hour recordings, 1 worker against 2 workers, same run.

The peer is the same batch with one worker process: the ratio of wall times says how well the
work spreads over this machine's cores (target: at least 1.7 on 2 cores). Recordings per second
are printed for both. Run from the repository root::

    python bench/bench_batch.py            # 200 recordings
    python bench/bench_batch.py --n 40     # a quicker look

The recordings are written once into a temporary folder (not timed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import calmtrace
from calmtrace.batch import run_batch
from calmtrace.events import Event, Events
from calmtrace.store import save


def make_inputs(root: Path, n: int) -> None:
    for i in range(n):
        rec = calmtrace.simulate("rest", seed=1000 + i, duration_s=3600.0)
        rec = rec.with_events(Events([Event(300.0, 600.0, "baseline", "baseline"),
                                      Event(1200.0, 300.0, "task", "stressor"),
                                      Event(2400.0, 300.0, "task 2", "stressor")]))
        rec.meta["subject"] = f"b{i:03d}"
        save(rec, root / f"rec-{i:03d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="number of one-hour recordings")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each setting, alternating; medians reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_inputs(root, args.n)
        print(f"wrote {args.n} one-hour recordings in {time.perf_counter() - t0:.1f} s")
        times: dict[int, list[float]] = {1: [], 2: []}
        tables = {}
        for _ in range(args.repeats):
            for workers in (1, 2):
                t0 = time.perf_counter()
                res = run_batch([root], workers=workers)
                times[workers].append(time.perf_counter() - t0)
                tables[workers] = res.cohort
                assert len(res.failures) == 0, res.failures
        med = {w: statistics.median(v) for w, v in times.items()}
        for w in (1, 2):
            print(f"{w} worker(s): median {med[w]:6.1f} s wall over {args.repeats} runs "
                  f"({', '.join(f'{x:.1f}' for x in times[w])}), {args.n / med[w]:5.2f} recordings/s")
        same = tables[1].equals(tables[2])
        print(f"speed-up 2 workers / 1 worker: {med[1] / med[2]:.2f}x (target >= 1.7); identical tables: {same}")

if __name__ == "__main__":
    main()
