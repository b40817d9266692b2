"""`analyze` on the real 24-hour RR series: wall time and peak memory, against the targets.

Targets (signal-module issue): the whole analysis of the 24-hour series in at most 10 s, with
peak memory under 1 GB. The peer measured in the same run is the same analysis on the first hour
of the series, so the ratio shows how the cost scales with length (ideally ~24x or less).

    python bench/bench_analyze.py [--repeats 3]

Peak memory is the process's maximum resident set size (``resource.getrusage``), measured in a
fresh subprocess per case so that one case's peak does not hide the other's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from _common import RR_24H

DATA = RR_24H

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from datetime import datetime, timezone
t_import = time.perf_counter()
import calmtrace
from calmtrace.analysis import analyze
t_import = time.perf_counter() - t_import
rr = np.loadtxt(sys.argv[1])
hours = float(sys.argv[2])
t = np.cumsum(rr) / 1000.0
keep = t <= hours * 3600.0
rec = calmtrace.Recording(start=datetime(2021, 1, 1, tzinfo=timezone.utc),
                          beats=pd.DataFrame({"t_s": t[keep], "rr_ms": rr[keep]}))
t0 = time.perf_counter()
res = analyze(rec)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "import_s": t_import, "beats": int(keep.sum()), "windows": len(res.windows),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(hours: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(DATA), str(hours)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent (../shared/data beside the checkout)")
    full = [run(25.0) for _ in range(args.repeats)]
    hour = [run(1.0) for _ in range(args.repeats)]
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    print(f"24 h series: {full[0]['beats']} beats, {full[0]['windows']} windows")
    print(f"analyze, 24 h: median {med(full, 'wall_s'):.2f} s (target <= 10 s), peak RSS "
          f"{max(r['peak_rss_mb'] for r in full):.0f} MB (target < 1024 MB); import {med(full, 'import_s'):.2f} s")
    print(f"analyze, first hour (peer): median {med(hour, 'wall_s'):.2f} s; "
          f"ratio 24 h / 1 h = {med(full, 'wall_s') / med(hour, 'wall_s'):.1f}x")


if __name__ == "__main__":
    main()
