"""The live recovery forecast scored on 20 simulated recoveries replayed through the virtual strap.

Each recovery is a simulated session (5 min baseline, 3 min stressor of +20 bpm, 10 min recovery)
with a known time constant tau (20-180 s, log-spaced, seeds 0-19), saved as a recording folder and
replayed with ``calmtrace capture --replay FOLDER --speed N`` (bleak API -> Bumble virtual strap ->
capture -> live forecast -> forecast.csv). The forecast made at 60 s of recovery is scored against
the simulator's truth, ``t50 = tau * ln 2`` (the mean curve ``base + L * exp(-t / tau)``), and,
for comparison, against the offline ``assess_recovery`` of the complete capture (60-s windows).
The same figures for the forecaster fed beat by beat without the strap are in
tests/live/test_forecast.py.

    python bench/forecast_replay.py [--speed 60] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import calmtrace
from calmtrace.signals.protocol import Segment
from calmtrace.signals.simulate import simulate_protocol


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="forecast-replay-"))
    rows = []
    for seed, tau in zip(range(20), np.geomspace(20.0, 180.0, 20)):
        proto = [Segment("baseline", "baseline", 300.0), Segment("task", "stressor", 180.0, 20.0, 0.5, tau_s=tau),
                 Segment("recovery", "recovery", 600.0)]
        src = calmtrace.save(simulate_protocol(proto, seed=seed), work / f"sim-{seed:02d}", force=True)
        cap = work / f"replay-{seed:02d}"
        p = subprocess.run([sys.executable, "-m", "calmtrace", "capture", "--replay", str(src), "--speed",
                            str(args.speed), "--no-live", "--force", "--out", str(cap)], capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(p.stderr)
        fc = pd.read_csv(cap / "forecast.csv")
        first = fc[fc["elapsed_s"] >= 60.0].iloc[0]
        truth = tau * math.log(2)
        res = calmtrace.analyze(calmtrace.load(cap))
        rc = res.recovery
        offline = rc[(rc["metric"] == "mean_hr_bpm")]["t50_s"].iloc[0]
        rows.append({"seed": seed, "tau_s": tau, "truth_t50_s": truth, "at_elapsed_s": first["elapsed_s"],
                     "t50_s": first["t50_s"], "low_s": first["t50_low_s"], "high_s": first["t50_high_s"],
                     "rel_err": abs(first["t50_s"] - truth) / truth,
                     "held": bool(first["t50_low_s"] <= truth <= first["t50_high_s"]),
                     "offline_t50_s": offline, "offline_rel_err": abs(offline - truth) / truth,
                     "n_gaps": len(calmtrace.load(cap).gaps)})
        r = rows[-1]
        print(f"seed {seed:2d} tau {tau:5.1f} s: truth t50 {truth:6.1f} s, forecast at {r['at_elapsed_s']:.1f} s "
              f"{r['t50_s']:6.1f} s [{r['low_s']:.1f}, {r['high_s']:.1f}] err {100 * r['rel_err']:4.1f} %"
              f"{'' if r['held'] else '  (outside the band)'}; offline t50 {offline:6.1f} s", flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(work / "forecast_replay.csv", index=False)
    print(f"\nspeed {args.speed:g}: median |t50 error| {100 * df['rel_err'].median():.1f} %, "
          f"80 % band held the truth in {int(df['held'].sum())}/20 ({100 * df['held'].mean():.0f} %); "
          f"offline assess_recovery median |t50 error| {100 * df['offline_rel_err'].median():.1f} %; "
          f"captures with a gap: {int((df['n_gaps'] > 0).sum())}/20 -> {work / 'forecast_replay.csv'}")


if __name__ == "__main__":
    main()
