"""On course? The live forecast against the person's earlier sessions' forecasts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from calmtrace.errors import InputError
from calmtrace.live.forecast import LiveForecaster
from calmtrace.live.history import course, earlier_t50_s
from calmtrace.signals.protocol import Segment
from calmtrace.signals.simulate import simulate_protocol


def _session(folder: Path, seed: int, tau_s: float, usual_t50_s: float = math.nan) -> None:
    proto = [Segment("baseline", "baseline", 300.0), Segment("task", "stressor", 180.0, 20.0, 0.5, tau_s=tau_s),
             Segment("recovery", "recovery", 600.0)]
    rec = simulate_protocol(proto, seed=seed)
    folder.mkdir()
    f = LiveForecaster(folder, usual_t50_s=usual_t50_s)
    evs = sorted(rec.events, key=lambda e: e.offset_s)
    for t, rr in zip(rec.t_s, rec.rr_ms):
        while evs and evs[0].offset_s <= t:
            f.add_event(evs.pop(0))
        f.add_beat(t, rr)
    f.close()


def test_earlier_sessions_give_their_last_t50_and_a_fast_recovery_is_faster_than_usual(tmp_path: Path) -> None:
    _session(tmp_path / "w1", 11, 120.0)
    _session(tmp_path / "w2", 12, 140.0)
    hist = earlier_t50_s([tmp_path / "w1", tmp_path / "w2"])
    assert len(hist) == 2
    assert all(abs(h - tau * math.log(2)) < 0.25 * tau * math.log(2) for h, tau in zip(hist, (120.0, 140.0))), hist
    usual = sorted(hist)[0] / 2 + sorted(hist)[1] / 2
    _session(tmp_path / "now", 13, 25.0, usual_t50_s=usual)
    import pandas as pd

    now = pd.read_csv(tmp_path / "now" / "forecast.csv")
    assert (now["course"] == "faster than usual").all() and np.allclose(now["usual_t50_s"], usual)
    assert pd.read_csv(tmp_path / "w1" / "forecast.csv")["course"].isna().all(), "no history, no verdict"
    first = now.iloc[0]
    assert course(first["t50_low_s"], first["t50_high_s"], usual) == "faster than usual"
    assert course(first["t50_low_s"], first["t50_high_s"], first["t50_s"]) == "as usual"
    assert course(first["t50_low_s"], first["t50_high_s"], 1.0) == "slower than usual"
    assert course(first["t50_low_s"], first["t50_high_s"], math.nan) == ""


def test_history_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such recording folder"):
        earlier_t50_s([tmp_path / "absent"])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "forecast.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="missing stressor, t50_s"):
        earlier_t50_s([tmp_path / "bad"])
    (tmp_path / "none").mkdir()
    assert earlier_t50_s([tmp_path / "none"]) == []
