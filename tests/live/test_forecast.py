"""The live recovery forecast, scored against the simulator's truth.

Each simulated person recovers from a 3-min stressor with a known time constant tau (20-180 s);
the simulator's mean curve ``base + L * exp(-t / tau)`` makes the true half-recovery time
``tau * ln 2``. Beats and events are fed to the forecaster one at a time, in the order a capture
writes them (an event when the capture clock passes its end), as the live capture does.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from calmtrace.live.forecast import FORECAST_FILE, LiveForecaster
from calmtrace.signals.forecast import forecast_recovery
from calmtrace.signals.protocol import Segment
from calmtrace.signals.simulate import simulate_protocol


def _recovery(seed: int, tau_s: float):
    proto = [Segment("baseline", "baseline", 300.0), Segment("task", "stressor", 180.0, 20.0, 0.5, tau_s=tau_s),
             Segment("recovery", "recovery", 600.0)]
    return simulate_protocol(proto, seed=seed)


def _feed(rec, f: LiveForecaster, until_s: float = math.inf) -> None:
    evs = sorted(rec.events, key=lambda e: e.offset_s)
    for t, rr in zip(rec.t_s, rec.rr_ms):
        if t > until_s:
            break
        while evs and evs[0].offset_s <= t:
            f.add_event(evs.pop(0))
        f.add_beat(t, rr)


def test_forecast_at_60_s_on_20_simulated_recoveries() -> None:
    errs, held = [], []
    for seed, tau in zip(range(20), np.geomspace(20.0, 180.0, 20)):
        rec = _recovery(seed, tau)
        f = LiveForecaster()
        _feed(rec, f, until_s=480 + 70)
        fc = f.history[0][2]
        assert 60.0 <= fc.elapsed_s < 62.0, "the first forecast comes at 60 s of recovery"
        truth = tau * math.log(2)
        errs.append(abs(fc.t50_s - truth) / truth)
        held.append(fc.t50_low_s <= truth <= fc.t50_high_s)
    assert np.median(errs) <= 0.20, np.median(errs)
    assert 0.70 <= np.mean(held) <= 0.90, np.mean(held)


def test_forecast_is_written_beside_the_capture_each_beat(tmp_path: Path) -> None:
    rec = _recovery(5, 60.0)
    f = LiveForecaster(tmp_path)
    _feed(rec, f)
    f.close()
    with open(tmp_path / FORECAST_FILE, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    n_beats = int(np.sum((rec.t_s >= 480 + 60) & (rec.t_s <= 480 + 600)))
    assert len(rows) == n_beats, "one forecast per beat from 60 s to the horizon"
    assert {r["stressor"] for r in rows} == {"task"}
    last = rows[-1]
    assert abs(float(last["t50_s"]) - 60 * math.log(2)) < 0.25 * 60 * math.log(2)
    assert float(last["recovered_pct"]) > 80


def test_no_baseline_or_no_rise_gives_nan_with_a_reason() -> None:
    rec = _recovery(3, 60.0)
    t, rr = rec.t_s, rec.rr_ms
    fc = forecast_recovery(t, rr, 480.0, 560.0, math.nan, math.nan, 90.0)
    assert math.isnan(fc.t50_s) and fc.note == "no baseline"
    fc = forecast_recovery(t, rr, 480.0, 560.0, 65.0, 1.0, 65.2)
    assert math.isnan(fc.t50_s) and "no reactivity" in fc.note


def test_a_new_stressor_ends_the_episode() -> None:
    rec = _recovery(2, 60.0)
    f = LiveForecaster(stressor_under_way=lambda t: t >= 600.0)
    _feed(rec, f)
    assert f.history and max(t for t, _, _ in f.history) < 600.0
