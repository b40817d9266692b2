"""Recovery accuracy against the simulator's truth: tau_s and t50_s of heart rate.

For each seed and true tau, simulate the ``tsst`` protocol (recovery after the arithmetic
stressor, tau known), run the whole pipeline (:func:`calmtrace.analyze`: cleaning, windowed HRV,
recovery) and compare the heart-rate ``tau_s`` and ``t50_s`` with the truth. For an exponential
return, the true half-recovery time is ``tau * ln 2``.

Run from the repository root::

    python bench/recovery_accuracy.py                 # 20 seeds x taus 20..180 s x {0, 2} % artefacts
    python bench/recovery_accuracy.py --seeds 5       # quicker

The table printed is the one quoted in the closing note; tests/signals/test_recovery_accuracy.py
checks the same figures on a smaller grid.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

import calmtrace


def run_case(seed: int, tau_s: float, artifact_pct: float) -> dict:
    """One simulated session through the whole pipeline; errors of tau and t50 for heart rate."""
    rec = calmtrace.simulate("tsst", seed=seed, tau_s=tau_s, artifact_pct=artifact_pct)
    res = calmtrace.analyze(rec)
    truth = next(s for s in rec.meta["truth"]["stressors"] if s["recovers"])
    rc = res.recovery
    row = rc[(rc["event_label"] == truth["label"]) & (rc["metric"] == "mean_hr_bpm")].iloc[0]
    t50_true = truth["tau_s"] * math.log(2)
    return {
        "seed": seed, "tau_true_s": tau_s, "artifact_pct": artifact_pct,
        "tau_s": row["tau_s"], "t50_s": row["t50_s"],
        "tau_rel_err": abs(row["tau_s"] - tau_s) / tau_s,
        "t50_abs_err_s": abs(row["t50_s"] - t50_true),
        "tau_in_ci": bool(row["tau_ci_low_s"] <= tau_s <= row["tau_ci_high_s"]),
    }


def study(seeds: list[int], taus: list[float], artifacts: list[float]) -> pd.DataFrame:
    """All cases of the grid as one table."""
    return pd.DataFrame([run_case(s, t, a) for a in artifacts for t in taus for s in seeds])


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Median absolute errors per artefact level and tau, and over all taus."""
    g = df.groupby(["artifact_pct", "tau_true_s"])
    per_tau = g.agg(n=("seed", "size"), tau_med_rel_err=("tau_rel_err", "median"),
                    t50_med_abs_err_s=("t50_abs_err_s", "median"), ci_coverage=("tau_in_ci", "mean"))
    overall = df.groupby("artifact_pct").agg(n=("seed", "size"), tau_med_rel_err=("tau_rel_err", "median"),
                                             t50_med_abs_err_s=("t50_abs_err_s", "median"),
                                             ci_coverage=("tau_in_ci", "mean"))
    overall["tau_true_s"] = "all"
    return pd.concat([per_tau.reset_index(), overall.reset_index()], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    df = study(list(range(1, args.seeds + 1)), [20.0, 45.0, 90.0, 135.0, 180.0], [0.0, 2.0])
    s = summarise(df)
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(s.to_string(index=False))
    print(f"\ncases: {len(df)}; median |tau error| {100 * df.tau_rel_err.median():.1f} %, "
          f"median |t50 error| {df.t50_abs_err_s.median():.1f} s; NaN tau: {int(np.isnan(df.tau_s).sum())}")


if __name__ == "__main__":
    main()
