"""Benchmark: calmtrace's vectorised windowed HRV against a per-window neurokit2 loop.

Run from the project root::

    python bench/bench_hrv.py [path/to/Chapter8__healthy_ms__000.txt]

The recording is the 24-hour RR series of ../shared/data/physionet-rr-24h (one RR in ms per line).
Both sides run in this process on the same beats:

* calmtrace: ``windowed_hrv(rec, window_s=60, step_s=5)``, every column of the Windows table;
* neurokit2: ``hrv_time`` + ``hrv_frequency`` on the beats of each window, timed on a random
  subset of windows and extrapolated to all of them.

Each figure is the median of several repeats. Peak memory is what tracemalloc sees allocated
during one windowed_hrv call (numpy reports its buffers to tracemalloc), plus the process's
maximum resident set size at the end.
"""

from __future__ import annotations

import resource
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from _common import RR_24H, load_rr_recording, median_time
from calmtrace.signals.hrv import windowed_hrv

WINDOW_S, STEP_S = 60.0, 5.0
REPEATS = 5
NK_WINDOWS, NK_REPEATS = 100, 3



def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else RR_24H
    if not path.exists():
        print(f"{path}: not found (pass the path of the 24-hour RR file)", file=sys.stderr)
        return 2
    rr, rec = load_rr_recording(path)
    t = rec.t_s
    print(f"recording: {path.name}, {rr.size} beats, {t[-1] / 3600:.2f} h")

    windows = windowed_hrv(rec, WINDOW_S, STEP_S)  # warm-up, and the window list
    ours, ours_cpu = median_time(lambda: windowed_hrv(rec, WINDOW_S, STEP_S), REPEATS)
    print(f"calmtrace windowed_hrv: {len(windows)} windows of {WINDOW_S:g} s every {STEP_S:g} s, "
          f"all metrics: {ours:.3f} s wall, {ours_cpu:.3f} s CPU (median of {REPEATS})")

    import neurokit2 as nk

    rng = np.random.default_rng(0)
    subset = rng.choice(len(windows), size=NK_WINDOWS, replace=False)
    spans = [(t >= windows.start_s[i]) & (t < windows.end_s[i]) for i in subset]
    inputs = [{"RRI": rr[m], "RRI_Time": t[m]} for m in spans]

    def nk_loop() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # neurokit2's notes about short windows
            for peaks in inputs:
                nk.hrv_time(peaks)
                nk.hrv_frequency(peaks, interpolation_rate=4, psd_method="welch", normalize=False)

    nk_loop()  # warm-up
    wall, cpu = median_time(nk_loop, NK_REPEATS)
    theirs, theirs_cpu = wall / NK_WINDOWS * len(windows), cpu / NK_WINDOWS * len(windows)
    print(f"neurokit2 hrv_time + hrv_frequency: {wall / NK_WINDOWS * 1000:.2f} ms per window "
          f"(median of {NK_REPEATS} runs over {NK_WINDOWS} windows) -> {theirs:.1f} s wall, "
          f"{theirs_cpu:.1f} s CPU for all {len(windows)} windows (extrapolated)")
    print(f"speed-up: {theirs / ours:.0f}x wall, {theirs_cpu / ours_cpu:.0f}x CPU")

    for other in (120.0, 300.0):  # LF needs >= 2 min: these windows also fill LF, LF/HF, HF n.u.
        wall, cpu = median_time(lambda: windowed_hrv(rec, other, STEP_S), REPEATS)
        print(f"calmtrace windowed_hrv, {other:g} s windows every {STEP_S:g} s: {wall:.3f} s wall, "
              f"{cpu:.3f} s CPU (median of {REPEATS})")

    tracemalloc.start()
    windowed_hrv(rec, WINDOW_S, STEP_S)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory of one windowed_hrv call (tracemalloc): {peak / 2**20:.1f} MiB; "
          f"process max RSS: {maxrss_mb:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
