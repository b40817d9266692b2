"""The day simulator: deterministic, 24 h per day, movement that matches its blocks."""

from __future__ import annotations

import numpy as np
import pytest

from calmtrace.errors import InputError
from calmtrace.signals.day import enmo_per_epoch
from calmtrace.signals.day_sim import MOVEMENTS, simulate_day


def test_deterministic_and_a_whole_day():
    a = simulate_day(1, seed=9)
    b = simulate_day(1, seed=9)
    assert a.recording.equals(b.recording)
    assert a.acc.equals(b.acc)
    assert a.blocks["duration_s"].sum() == 86400.0
    assert a.recording.duration_s == pytest.approx(86400.0, abs=2.0)
    assert not simulate_day(1, seed=10).recording.equals(a.recording)


def test_strap_off_has_no_beats_no_acc_and_a_gap():
    sim = simulate_day(1, seed=3)
    off = sim.blocks[sim.blocks["movement"] == "off"].iloc[0]
    o, e = off["onset_s"], off["onset_s"] + off["duration_s"]
    t = sim.recording.beats["t_s"].to_numpy()
    assert not ((t >= o) & (t < e)).any()
    ta = sim.acc["t_s"].to_numpy()
    assert not ((ta >= o) & (ta < e)).any()
    g = sim.recording.gaps
    assert ((g["onset_s"] == o) & (g["reason"] == "no-contact")).any()


def test_movement_levels_by_block():
    sim = simulate_day(1, seed=4)
    n = int(sim.recording.duration_s // 60)
    enmo, _ = enmo_per_epoch(sim.acc, n, 60.0)
    truth = sim.truth(60.0)
    by = {m: float(np.nanmedian(enmo[: len(truth)][truth["movement"].to_numpy() == m]))
          for m in MOVEMENTS if m != "off"}
    assert by["lying"] < by["sit"] < by["desk"] < 15 < 40 < by["walk"] < by["run"]
    assert sim.acc["x_mg"].dtype == np.int16


def test_heart_follows_the_blocks():
    sim = simulate_day(1, seed=5)
    b = sim.recording.beats
    hr = 60000.0 / b["rr_ms"].to_numpy()
    t = b["t_s"].to_numpy()

    def mean_in(label):
        rows = sim.blocks[sim.blocks["label"] == label]
        sel = np.zeros(t.size, bool)
        for o, d in zip(rows["onset_s"], rows["duration_s"]):
            sel |= (t >= o + 120) & (t < o + d)
        return float(hr[sel].mean())

    assert mean_in("run") > mean_in("commute walk") > mean_in("deadline") > mean_in("desk") > mean_in("sleep")
    ratings = sim.recording.events.df["rating"]
    assert np.isfinite(ratings).sum() >= 4


def test_bad_arguments():
    with pytest.raises(InputError, match="n_days"):
        simulate_day(0)
    with pytest.raises(InputError, match="seed"):
        simulate_day(1, seed=-1)
