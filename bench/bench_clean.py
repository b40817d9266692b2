"""Benchmark: clean() with calmtrace's Lipponen & Tarvainen port against the neurokit2 path.

Run from the project root::

    python bench/bench_clean.py [path/to/Chapter8__healthy_ms__000.txt]

The recording is the 24-hour RR series of ../shared/data/physionet-rr-24h (one RR in ms per line).
Both sides run in this process on the same beats, through the same :func:`calmtrace.signals.clean.clean`
(segments, iterative passes, beat tracing, flags, ectopy screen):

* port: clean() as it is, detection and correction by :mod:`calmtrace.signals.kubios`;
* neurokit2: clean() with each pass done by ``nk.signal_fixpeaks(peaks, iterative=False,
  method="kubios")``, the path clean() took before the port (neurokit2's own function called
  directly; nothing is reused between passes).

The two must give the same cleaned beats; the benchmark checks it. Each time is the median of
three runs (wall clock and CPU). The import times of ``calmtrace.signals.clean`` and of
``neurokit2`` are measured in fresh interpreters. Peak memory is what tracemalloc sees allocated
during one clean() call with the port, plus the process's maximum resident set size at the end.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np

from _common import RR_24H, load_rr_recording, median_time
from calmtrace.signals import clean as clean_module
from calmtrace.signals import kubios
from calmtrace.signals.config import CleanConfig

REPEATS = 3
#: The Lipponen & Tarvainen path of clean() (the default detector, "pattern", does not use the port).
LT = CleanConfig(method="lipponen-tarvainen")



def _import_time(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter (median of three)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True).stdout) for _ in range(3)]
    return statistics.median(runs)


def _neurokit2_path():
    """A stand-in for the kubios module whose passes are neurokit2's signal_fixpeaks."""
    import neurokit2 as nk

    fixed_of: dict[int, np.ndarray] = {}

    def find_artifacts(peaks, c1, c2, alpha, window_width, medfilt_order, sampling_rate, previous=None):
        info, fixed = nk.signal_fixpeaks(peaks, sampling_rate=sampling_rate, iterative=False,
                                         method="kubios", show=False, c1=c1, c2=c2, alpha=alpha,
                                         window_width=window_width, medfilt_order=medfilt_order)
        fixed_of[id(info)] = fixed
        return info, None

    def correct_artifacts(info, peaks):
        return fixed_of.pop(id(info))

    return SimpleNamespace(find_artifacts=find_artifacts, correct_artifacts=correct_artifacts,
                           ARTIFACT_CLASSES=kubios.ARTIFACT_CLASSES)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else RR_24H
    if not path.exists():
        print(f"{path}: not found (pass the path of the 24-hour RR file)", file=sys.stderr)
        return 2
    rr, rec = load_rr_recording(path)
    print(f"recording: {path.name}, {rr.size} beats, {rr.sum() / 3.6e6:.2f} h")

    ours_import, nk_import = _import_time("calmtrace.signals.clean"), _import_time("neurokit2")
    print(f"import calmtrace.signals.clean: {ours_import:.2f} s; import neurokit2: {nk_import:.2f} s "
          "(fresh interpreters, median of 3)")

    port_out = clean_module.clean(rec, LT)  # warm-up
    port, port_cpu = median_time(lambda: clean_module.clean(rec, LT), REPEATS)
    print(f"clean() with the port: {port:.2f} s wall, {port_cpu:.2f} s CPU (median of {REPEATS})")

    with mock.patch.object(clean_module, "kubios", _neurokit2_path()):
        nk_out = clean_module.clean(rec, LT)
        theirs, theirs_cpu = median_time(lambda: clean_module.clean(rec, LT), REPEATS)
    print(f"clean() with neurokit2 signal_fixpeaks: {theirs:.2f} s wall, {theirs_cpu:.2f} s CPU "
          f"(median of {REPEATS})")
    same = port_out.beats.equals(nk_out.beats)
    print(f"same cleaned beats: {same}; flags: {port_out.meta['cleaning']['flag_counts']}")
    print(f"speed-up: {theirs / port:.1f}x wall, {theirs_cpu / port_cpu:.1f}x CPU "
          f"(plus {nk_import:.1f} s of neurokit2 import no longer paid)")

    tracemalloc.start()
    clean_module.clean(rec, LT)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory of one clean() call with the port (tracemalloc): {peak / 2**20:.1f} MiB; "
          f"process max RSS: {maxrss_mb:.0f} MiB")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
