"""What the benchmarks share: the real 24-hour RR series, as a path and as a Recording, and timing.

The scripts are run as ``python bench/<name>.py``, so this folder is on ``sys.path``.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from calmtrace.recording import Recording

ROOT = Path(__file__).resolve().parents[1]
#: The 24-hour RR series of ../shared/data/physionet-rr-24h (Irurzun et al. 2021, CC BY 4.0).
RR_24H = Path(os.environ.get("CALMTRACE_SHARED_DATA", ROOT.parent / "shared" / "data")) / \
    "physionet-rr-24h" / "Chapter8__healthy_ms__000.txt"


def load_rr_recording(path: Path) -> tuple[np.ndarray, Recording]:
    """RR intervals (ms, one per line) and the Recording they make, beats at their cumulative sums."""
    rr = np.loadtxt(path)
    rec = Recording(start=datetime(2000, 1, 1, tzinfo=timezone.utc),
                    beats=pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0, "rr_ms": rr}))
    return rr, rec


def median_time(func: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU (all threads of this process) seconds of ``func()``."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)
