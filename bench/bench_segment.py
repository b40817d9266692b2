"""Benchmark: span HRV per phase, and windowed DFA alpha1, against neurokit2 in the same run.

Run from the project root::

    python bench/bench_segment.py [path/to/Chapter8__healthy_ms__000.txt]

The recording is the 24-hour RR series of ../shared/data/physionet-rr-24h (one RR in ms per line).

1. ``hrv_by_event`` on that recording with 100 events (5-minute events every ~12.6 min, kinds
   cycling baseline, stressor, recovery, intervention), i.e. 100 event rows + 99 rows between
   events, every metric (time domain, Welch VLF/LF/HF, Poincare, stress index, SampEn, DFA
   alpha1/alpha2, PNS/SNS). Peers, on the beats of the same spans:

   * neurokit2 "same metrics": ``hrv_time`` + ``hrv_frequency`` + ``entropy_sample`` +
     ``fractal_dfa`` (alpha1 and alpha2 boxes) per span;
   * neurokit2 ``hrv`` (time + frequency + the whole ``hrv_nonlinear``), what a user would call.

   Both are timed on a random subset of spans and extrapolated to all of them.

2. DFA alpha1 in every 120 s window every 5 s: calmtrace's vectorised ``windowed_dfa`` (and the
   whole ``windowed_hrv`` table that now includes it) against ``nk.fractal_dfa`` per window, timed
   on a random subset of windows and extrapolated. Both with boxes of 4-16 beats.

Figures are medians of repeats; wall-clock and CPU time are both shown (the machine is shared).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

from _common import RR_24H, load_rr_recording, median_time
from calmtrace.events import Event, Events
from calmtrace.signals.hrv import HRVConfig, windowed_hrv
from calmtrace.signals.nonlinear import dfa_scales, windowed_dfa
from calmtrace.signals.segment import hrv_by_event

N_EVENTS, EVENT_S = 100, 300.0
KINDS = ("baseline", "stressor", "recovery", "intervention")
NK_SPANS, NK_REPEATS, REPEATS = 12, 1, 3
WINDOW_S, STEP_S, NK_WINDOWS = 120.0, 5.0, 300


def _bench_by_event(rr: np.ndarray, rec) -> None:
    t = rec.t_s
    every = (t[-1] - EVENT_S) / N_EVENTS
    events = Events([Event(10.0 + i * every, EVENT_S, f"event {i + 1}", KINDS[i % 4]) for i in range(N_EVENTS)])
    rec = rec.with_events(events)
    table = hrv_by_event(rec)  # warm-up
    ours, ours_cpu = median_time(lambda: hrv_by_event(rec), REPEATS)
    print(f"calmtrace hrv_by_event: {len(table)} spans ({N_EVENTS} events + {len(table) - N_EVENTS} between), "
          f"every metric: {ours:.2f} s wall, {ours_cpu:.2f} s CPU (median of {REPEATS})")

    import neurokit2 as nk

    rng = np.random.default_rng(0)
    subset = rng.choice(len(table), size=NK_SPANS, replace=False)
    inputs = []
    for i in subset:
        m = (t >= table.start_s.iloc[i]) & (t < table.end_s.iloc[i])
        inputs.append({"RRI": rr[m], "RRI_Time": t[m]})

    def nk_same_metrics() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for peaks in inputs:
                x = peaks["RRI"]
                nk.hrv_time(peaks)
                nk.hrv_frequency(peaks, interpolation_rate=4, psd_method="welch", normalize=False)
                nk.entropy_sample(x, delay=1, dimension=2, tolerance=0.2 * np.std(x, ddof=1))
                nk.fractal_dfa(x, scale=dfa_scales((4, 16), x.size))
                if x.size >= 640:
                    nk.fractal_dfa(x, scale=dfa_scales((16, 64), x.size))

    def nk_full() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for peaks in inputs:
                nk.hrv_time(peaks)
                nk.hrv_frequency(peaks, interpolation_rate=4, psd_method="welch", normalize=False)
                nk.hrv_nonlinear(peaks)

    for name, func in (("neurokit2 same metrics (hrv_time, hrv_frequency, entropy_sample, fractal_dfa)", nk_same_metrics),
                       ("neurokit2 hrv_time + hrv_frequency + hrv_nonlinear", nk_full)):
        wall, cpu = median_time(func, NK_REPEATS)
        scale = len(table) / NK_SPANS
        print(f"{name}: {wall / NK_SPANS * 1000:.0f} ms per span ({NK_SPANS} random spans) -> "
              f"{wall * scale:.1f} s wall, {cpu * scale:.1f} s CPU for all {len(table)} (extrapolated); "
              f"ratio {wall * scale / ours:.0f}x wall, {cpu * scale / ours_cpu:.0f}x CPU")


def _bench_windowed_dfa(rr: np.ndarray, rec) -> None:
    t = rec.t_s
    cfg = HRVConfig()
    win = windowed_hrv(rec, WINDOW_S, STEP_S, cfg)  # warm-up and the window list
    lo = np.searchsorted(t, win.start_s.to_numpy(), side="left")
    hi = np.searchsorted(t, win.end_s.to_numpy(), side="left")
    scales = dfa_scales(cfg.dfa_alpha1_beats, 0)
    ours, ours_cpu = median_time(lambda: windowed_dfa(rr, lo, hi - lo, scales), REPEATS)
    table, table_cpu = median_time(lambda: windowed_hrv(rec, WINDOW_S, STEP_S, cfg), REPEATS)
    print(f"calmtrace windowed DFA alpha1, {len(win)} windows of {WINDOW_S:g} s every {STEP_S:g} s: "
          f"{ours:.3f} s wall, {ours_cpu:.3f} s CPU; the whole windowed_hrv table with it: "
          f"{table:.2f} s wall, {table_cpu:.2f} s CPU (medians of {REPEATS})")

    import neurokit2 as nk

    rng = np.random.default_rng(1)
    subset = rng.choice(len(win), size=NK_WINDOWS, replace=False)
    slices = [rr[lo[i]:hi[i]] for i in subset]

    def nk_loop() -> None:
        for x in slices:
            nk.fractal_dfa(x, scale=scales)

    nk_loop()
    wall, cpu = median_time(nk_loop, REPEATS)
    scale = len(win) / NK_WINDOWS
    print(f"neurokit2 fractal_dfa per window: {wall / NK_WINDOWS * 1000:.2f} ms per window ({NK_WINDOWS} windows) "
          f"-> {wall * scale:.1f} s wall, {cpu * scale:.1f} s CPU for all {len(win)} (extrapolated); "
          f"ratio {wall * scale / ours:.0f}x wall, {cpu * scale / ours_cpu:.0f}x CPU")


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else RR_24H
    if not path.exists():
        print(f"{path}: not found (pass the path of the 24-hour RR file)", file=sys.stderr)
        return 2
    rr, rec = load_rr_recording(path)
    print(f"recording: {path.name}, {rr.size} beats, {rec.t_s[-1] / 3600:.2f} h")
    _bench_by_event(rr, rec)
    _bench_windowed_dfa(rr, rec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
