"""One live session: a capture with its pacer, recovery forecast and the state the views show.

:class:`LiveSession` attaches to a :class:`~calmtrace.capture.Capture` through its ``listeners``
hook and keeps what the terminal view and the web page show: the capture's live figures, the
last minute of beats (for the RR trace and lnRMSSD), the events written so far, the pacer and the
latest recovery forecast (:class:`~calmtrace.live.forecast.LiveForecaster`, writing
``forecast.csv`` in the recording folder).

The pacer is either one :class:`~calmtrace.live.pacer.Pacer` running from the start of the capture
(``capture --pacer``; its intervention event is opened then and closed when the pacer stops or the
capture ends) or a schedule of paced blocks whose events are written by the capture itself
(``breathe --assess``).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any, Sequence

import numpy as np

from ..events import Event
from ..signals.resonance import AssessmentBlock
from .forecast import LiveForecaster
from .history import course
from .pacer import Pacer

__all__ = ["LiveSession", "LAST_MINUTE_S"]

log = logging.getLogger(__name__)

#: Span of the RR trace and of lnRMSSD in the live view, s (ultra-short lnRMSSD over 60 s; Esco &
#: Flatt 2014).
LAST_MINUTE_S = 60.0


class LiveSession:
    """The live tools of one capture.

    Parameters
    ----------
    capture : Capture
        The capture (not yet running).
    pacer : Pacer, optional
        A pacer started when the capture starts (its ``t0_s`` is then set to that moment).
    schedule : sequence of AssessmentBlock, optional
        Paced blocks (rate and time), shown one after another; their events are the capture's own.
    known_events : sequence of Event, optional
        Events known in advance (a replay's or a protocol's): their onsets tell, live, that a
        stressor has begun, so the forecast of the recovery before it stops.
    forecast : bool
        Run the recovery forecast (written to ``forecast.csv`` in the recording folder).
    speed : float
        Capture seconds per real second (a virtual strap run faster), for the page's pacer.
    history_t50_s : sequence of float, optional
        t50 of the person's earlier recoveries (:func:`calmtrace.live.history.earlier_t50_s`):
        the forecast then says whether this recovery is on course.
    """

    def __init__(self, capture: Any, pacer: Pacer | None = None, schedule: Sequence[AssessmentBlock] = (),
                 known_events: Sequence[Event] = (), forecast: bool = True, speed: float = 1.0,
                 history_t50_s: Sequence[float] = ()) -> None:
        self.capture = capture
        self.usual_t50_s = float(np.median(history_t50_s)) if len(history_t50_s) else math.nan
        self.n_history = len(history_t50_s)
        self.speed = float(speed)
        self.pacer = pacer
        self.schedule = list(schedule)
        self._known_stressors = [(e.onset_s, e.offset_s) for e in known_events if e.kind == "stressor"]
        self.beats: deque[tuple[float, float]] = deque()
        self.events: list[Event] = []
        self.forecaster = (LiveForecaster(capture.out, self.stressor_under_way, usual_t50_s=self.usual_t50_s)
                           if forecast else None)
        self._pacer_on = False
        capture.listeners.append(self._on)
        if self.forecaster is not None:
            capture.listeners.append(self.forecaster)

    # -- what the capture tells ---------------------------------------------------------------
    def _on(self, kind: str, item: Any) -> None:
        if kind == "beat":
            self.beats.append((item.t_s, item.rr_ms))
            horizon = item.t_s - LAST_MINUTE_S
            while self.beats and self.beats[0][0] < horizon:
                self.beats.popleft()
        elif kind == "event":
            self.events.append(item)

    def stressor_under_way(self, t_s: float) -> bool:
        """A stressor has begun and not ended at ``t_s`` (an open mark, or a known event)."""
        if "stressor" in self.capture.live.open_marks:
            return True
        return any(on <= t_s < off for on, off in self._known_stressors)

    # -- pacer ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the pacer (call once the capture's clock runs); opens its intervention event."""
        if self.pacer is not None and not self._pacer_on:
            self.pacer = Pacer(self.pacer.rate_bpm, self.pacer.inhale, self.pacer.exhale, self.capture.now_s())
            self.capture.mark("intervention", self.pacer.label)
            self._pacer_on = True
            log.info("pacer started: %s", self.pacer.label)

    def toggle_pacer(self) -> bool:
        """Stop the running pacer (closing its event) or start it again; returns whether it runs."""
        if self.pacer is None:
            return False
        if self._pacer_on:
            self.capture.mark("intervention", self.pacer.label)
            self._pacer_on = False
        else:
            self.start()
        return self._pacer_on

    def pacer_at(self, t_s: float) -> Pacer | None:
        """The pacer showing at capture time ``t_s`` (None when none)."""
        for b in self.schedule:
            if b.onset_s <= t_s < b.onset_s + b.duration_s:
                return Pacer(b.rate_bpm, 1.0, 1.0, b.onset_s)
        return self.pacer if self._pacer_on else None

    # -- what the views show --------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The state the views draw, JSON-ready (NaN as None)."""
        live = self.capture.live
        t = live.elapsed_s
        rr = np.array([r for _, r in self.beats])
        ln_rmssd = math.nan
        if rr.size >= 10:
            d = np.diff(rr)
            rmssd = float(np.sqrt(np.mean(d * d)))
            ln_rmssd = math.log(rmssd) if rmssd > 0 else math.nan
        pacer = self.pacer_at(t)
        pstate = None
        if pacer is not None:
            s = pacer.at(t)
            pstate = {"rate_bpm": pacer.rate_bpm, "inhale_s": pacer.inhale_s, "period_s": pacer.period_s,
                      "t0_s": pacer.t0_s, "phase": s.phase, "fraction": s.fraction, "remaining_s": s.remaining_s}
        fc = None
        f = self.forecaster
        if f is not None and f.latest is not None and f.history and t - f.history[-1][0] < 30.0:
            fc = {"stressor": f.latest_label, **f.latest.as_row(), "usual_t50_s": self.usual_t50_s,
                  "n_earlier": self.n_history,
                  "course": course(f.latest.t50_low_s, f.latest.t50_high_s, self.usual_t50_s)}
        return _plain({
            "t_s": t, "speed": self.speed, "state": live.state, "hr_bpm": live.hr_bpm, "last_rr_ms": live.last_rr_ms,
            "ln_rmssd": ln_rmssd, "n_beats": live.n_beats, "n_gaps": live.n_gaps, "gap_s": live.gap_s,
            "battery_pct": live.battery_pct, "open_marks": list(live.open_marks),
            "rr": [[round(bt, 3), round(br, 1)] for bt, br in self.beats],
            "events": [{"onset_s": e.onset_s, "duration_s": e.duration_s, "label": e.label, "kind": e.kind}
                       for e in self.events[-20:]],
            "pacer": pstate, "forecast": fc,
        })

    def close(self) -> None:
        """Close the forecast file."""
        if self.forecaster is not None:
            self.forecaster.close()


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
