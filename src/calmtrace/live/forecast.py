"""The live recovery forecast: after each stressor, from 60 s of recovery on, updated with every beat.

:class:`LiveForecaster` listens to a capture (``Capture.listeners``): it keeps the beats, notes
baseline events, and when a stressor event is written (a mark closed, or a replayed/scripted
stressor reaching its end) it opens a recovery *episode* from the stressor's end. Each beat from
:data:`MIN_RECOVERY_S` into the recovery until :data:`HORIZON_S` (or until another stressor begins)
gives a :class:`~calmtrace.signals.forecast.RecoveryForecast`, kept in :attr:`LiveForecaster.latest`
for the live view and appended to ``forecast.csv`` in the recording folder, flushed line by line,
so it can be scored against what happened afterwards.

Baseline and peak follow docs/recovery.md: the baseline is the mean and SD of 60-s windows (step
5 s) of beat heart rate lying inside the last ``baseline`` event that ends by the stressor's onset,
or inside the 300 s before the onset without one; the peak is the largest 60-s window centred in
the stressor.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..events import Event
from ..signals.forecast import FORECAST_COLUMNS, RecoveryForecast, forecast_recovery, window_hr
from .history import FORECAST_FILE, course

__all__ = ["LiveForecaster", "MIN_RECOVERY_S", "HORIZON_S", "FORECAST_FILE"]

log = logging.getLogger(__name__)

#: The first forecast is made this long into the recovery, s (the issue: "from the first 60 s").
MIN_RECOVERY_S = 60.0
#: Recovery is followed this long, s (RecoveryConfig.horizon_s).
HORIZON_S = 600.0
#: Baseline span without a baseline event, s (RecoveryConfig.baseline_span_s; Laborde et al. 2017).
BASELINE_SPAN_S = 300.0
#: Windows of baseline and peak, s (the windowed-HRV defaults: 60 s, step 5 s).
WINDOW_S, STEP_S = 60.0, 5.0
_MIN_BASELINE_WINDOWS = 5


class LiveForecaster:
    """Forecast recovery live from a capture's beats and events.

    Parameters
    ----------
    out : path-like, optional
        Recording folder: forecasts are appended to ``out/forecast.csv``. None keeps them in memory.
    stressor_under_way : callable, optional
        ``stressor_under_way(t_s) -> bool``: a stressor has begun and not ended (an open mark);
        the episode stops then.
    every_s : float
        Least capture time between two forecasts, s (0: every beat).
    usual_t50_s : float
        Median t50 of the person's earlier recoveries (:mod:`calmtrace.live.history`), s; NaN
        without history. Each row of ``forecast.csv`` then says whether recovery is on course.
    """

    def __init__(self, out: str | os.PathLike | None = None,
                 stressor_under_way: Callable[[float], bool] | None = None, every_s: float = 0.0,
                 usual_t50_s: float = math.nan) -> None:
        self.usual_t50_s = float(usual_t50_s)
        self._t: list[float] = []
        self._rr: list[float] = []
        self._baselines: list[Event] = []
        self._episode: dict[str, Any] | None = None
        self._under_way = stressor_under_way or (lambda _t: False)
        self.every_s = float(every_s)
        self._last_s = -math.inf
        #: The latest forecast (None before the first) and the stressor it is for.
        self.latest: RecoveryForecast | None = None
        self.latest_label: str | None = None
        #: Every forecast made: (capture time s, stressor label, forecast).
        self.history: list[tuple[float, str, RecoveryForecast]] = []
        self._file = None
        self._writer: Any = None
        self._path = Path(out) / FORECAST_FILE if out is not None else None

    # -- listener ------------------------------------------------------------------------------
    def __call__(self, kind: str, item: Any) -> None:
        """``Capture.listeners`` entry: ("beat", Beat), ("event", Event), ("gap", Gap)."""
        if kind == "beat":
            self.add_beat(item.t_s, item.rr_ms)
        elif kind == "event":
            self.add_event(item)

    def add_event(self, ev: Event) -> None:
        """Note a baseline, or open a recovery episode after a stressor."""
        if ev.kind == "baseline":
            self._baselines.append(ev)
        elif ev.kind == "stressor":
            self._start_episode(ev)

    def add_beat(self, t_s: float, rr_ms: float) -> None:
        """Add a beat; forecast when an episode is running and 60 s of recovery are in."""
        self._t.append(float(t_s))
        self._rr.append(float(rr_ms))
        ep = self._episode
        if ep is None:
            return
        elapsed = t_s - ep["t0"]
        if elapsed > HORIZON_S or (elapsed > 0 and self._under_way(t_s)):
            self._episode = None
            return
        if elapsed < MIN_RECOVERY_S or t_s - self._last_s < self.every_s:
            return
        self._last_s = t_s
        if "base" not in ep:
            self._reference(ep)
        t, rr = self._arrays(ep["t0"])
        fc = forecast_recovery(t, rr, ep["t0"], t_s, ep["base"], ep["sd"], ep["peak"])
        self.latest, self.latest_label = fc, ep["label"]
        self.history.append((t_s, ep["label"], fc))
        self._write(t_s, ep["label"], fc)

    # -- internals -----------------------------------------------------------------------------
    def _arrays(self, since_s: float) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(self._t)
        i = int(np.searchsorted(t, since_s - WINDOW_S))
        return t[i:], np.asarray(self._rr[i:])

    def _windows(self, t: np.ndarray, rr: np.ndarray, a: float, b: float, centred: bool) -> np.ndarray:
        """HR of 60-s windows (step 5 s) inside [a, b], or centred in it with ``centred``."""
        if centred:
            starts = np.arange(a - WINDOW_S / 2, b - WINDOW_S / 2 + 1e-9, STEP_S)
        else:
            starts = np.arange(a, b - WINDOW_S + 1e-9, STEP_S)
        vals = np.array([window_hr(t, rr, s, s + WINDOW_S) for s in starts])
        return vals[np.isfinite(vals)]

    def _start_episode(self, ev: Event) -> None:
        self._episode = {"t0": ev.offset_s, "label": ev.label, "event": ev}
        self._last_s = -math.inf
        log.info("recovery forecast: after %r from %.1f s", ev.label, ev.offset_s)

    def _reference(self, ep: dict[str, Any]) -> None:
        """Baseline and peak of an episode, computed at its first forecast.

        Not when the stressor's event arrives: the capture holds the last seconds of beats
        a little longer (to time them), so the stressor's last windows are complete only now.
        """
        ev = ep["event"]
        t, rr = np.asarray(self._t), np.asarray(self._rr)
        spans = [b for b in self._baselines if b.offset_s <= ev.onset_s + 1e-9 and b.duration_s >= WINDOW_S]
        a, b = ((spans[-1].onset_s, spans[-1].offset_s) if spans
                else (ev.onset_s - BASELINE_SPAN_S, ev.onset_s))
        base = self._windows(t, rr, a, b, centred=False)
        peak = self._windows(t, rr, ev.onset_s, ev.offset_s, centred=True)
        ok = base.size >= _MIN_BASELINE_WINDOWS
        ep["base"] = float(base.mean()) if ok else math.nan
        ep["sd"] = float(base.std(ddof=1)) if ok else math.nan
        ep["peak"] = float(peak.max()) if peak.size else math.nan
        log.info("recovery forecast after %r: baseline %.1f bpm, peak %.1f bpm", ev.label, ep["base"], ep["peak"])

    def _write(self, t_s: float, label: str, fc: RecoveryForecast) -> None:
        if self._path is None:
            return
        if self._writer is None:
            new = not self._path.exists()
            self._file = open(self._path, "a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._file)
            if new:
                self._writer.writerow(("t_s", "stressor") + FORECAST_COLUMNS + ("usual_t50_s", "course"))
        row = fc.as_row()
        row["usual_t50_s"] = self.usual_t50_s
        row["course"] = course(fc.t50_low_s, fc.t50_high_s, self.usual_t50_s)
        self._writer.writerow([f"{t_s:.3f}", label] + [
            (f"{v:.3f}" if isinstance(v, float) and math.isfinite(v) else ("" if isinstance(v, float) else v))
            for v in (row[c] for c in FORECAST_COLUMNS + ("usual_t50_s", "course"))])
        self._file.flush()

    def close(self) -> None:
        """Close ``forecast.csv``."""
        if self._file is not None:
            self._file.close()
            self._file, self._writer = None, None
