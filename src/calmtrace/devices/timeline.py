"""Beat times from Heart Rate Measurement notifications, and the gaps between them. Pure.

A strap does not say *when* a beat happened. Each notification carries the RR intervals of the
beats it detected since the previous notification (oldest first, exact to 1/1024 s), and the host
only knows when the notification *arrived*. This module turns ``(arrival_t_s, measurement)`` pairs
into beats ``(t_s, rr_ms)`` on the host clock, device heart-rate samples, and gaps.

How beat times are estimated
----------------------------
Within a *segment* (a run of notifications whose RR chain is unbroken), the strap's beat times are
known exactly on the strap's own clock: ``x`` = running sum of RR intervals. The last beat of a
notification happened shortly *before* its arrival ``a``, so ``y = a - x`` is the clock offset plus
a non-negative latency (up to one notification period, 1 s on most straps, plus radio and host
delay). The offset is therefore estimated from below: the **lower envelope** of the points
``(x, y)`` over the last ``window_s`` seconds -- a line ``offset(x) = alpha + beta * x`` lying under
every point, with the slope ``beta`` absorbing the drift between the strap's crystal and the host
clock (tens of ppm; the Bluetooth Core Specification v5.3, Vol 6 Part B 4.2.2, allows a sleep
clock up to 500 ppm, the bound used for ``beta``). This is the convex-hull skew estimator of
Moon, Skelly & Towsley (1999, *Estimation and removal of clock skew from network delay
measurements*, IEEE INFOCOM): the hull edge spanning the mean ``x``. With fewer than
``skew_min_span_s`` seconds of points the slope is taken as 0 and the envelope is the minimum.
A beat at strap time ``x`` gets ``t_s = x + offset(x)``.

Beats are *held* for ``hold_s`` (strap seconds) before they are released, so that the envelope
behind each beat also rests on the notifications that followed it, and so that a lost
notification can still be detected and the segment split before the beats after it are timed.
Device HR samples are released at once (their time is their arrival).

Accuracy: the envelope's distance above the true offset is the smallest latency among the
notifications in the window. With one notification per beat that is the radio latency (a few ms
to tens of ms). With one notification a second (Polar H10 and most straps) the latency of a
notification is spread over a whole second, and the minimum over ``n`` notifications is about
``1/n`` s: right after a (re)connection beat times are off by up to a few hundred ms, and within
a minute by a few tens of ms. RR intervals themselves are never changed.

Gaps
----
A segment ends, and a gap ``(onset_s, duration_s, reason)`` is recorded from the last beat before
it to the last *missing* beat (the start of the first RR interval after it), when

- ``mark(t_s, "disconnect")`` or ``mark(t_s, "stall")`` says the link was lost (the adapter knows);
- the RR chain and the arrival clock disagree: the notifications after some point all arrive
  later than their RR sums allow. A lost notification shifts every later point up by the RR
  intervals it carried. A shift is accepted as a loss when the *smallest* residual over the
  following ``step_confirm_s`` seconds exceeds ``step_s`` (0.5 s; with 1-s notification latency
  spread evenly over a second, 20 consecutive notifications all half a second late by chance
  happen with probability 2**-20), or, for notifications that cannot wait that long (at the end
  of a segment, or with ``hold_s`` = 0), when a residual exceeds ``drop_tolerance_s`` (1.5 s:
  one notification period of 1 s plus 0.5 s of latency jitter). A late *bunch* of notifications
  (the host was busy) is not a loss: the later ones in the bunch arrive on time again.

The reason is ``"dropped-notification"``, or ``"stall"`` when no notification came for more than
``stall_s`` before the break, or ``"no-contact"`` when the strap reported no skin contact in
between, or the reason given to :meth:`Timeline.mark`. Losses whose RR sum is below ``step_s``
(one beat at more than 120 bpm) cannot be told apart from latency and are not reported; the beats
after them are then placed up to that much early until the window forgets the earlier points.

A strap that sends heart rate but never RR intervals gives HR samples only;
:attr:`Timeline.hr_only` says so and it is logged once.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from dataclasses import dataclass, field

from ..errors import FormatError
from .hrs import HeartRateMeasurement, parse_hrm

__all__ = [
    "Beat",
    "HrSample",
    "Gap",
    "Emitted",
    "TimelineConfig",
    "Timeline",
    "MARK_REASONS",
    "rebuild",
]

log = logging.getLogger(__name__)

#: Reasons :meth:`Timeline.mark` accepts (a subset of ``calmtrace.recording.GAP_REASONS``).
MARK_REASONS: tuple[str, ...] = ("disconnect", "stall", "no-contact")


@dataclass(frozen=True)
class Beat:
    """A beat: the R wave that closes an RR interval.

    Attributes
    ----------
    t_s : float
        Time of the beat on the caller's clock (the clock of the arrival times), s.
    rr_ms : float
        The interval that ends at this beat, ms, exactly as the strap sent it.
    rr_raw : int
        The same interval in the strap's 1/1024 s units.
    """

    t_s: float
    rr_ms: float
    rr_raw: int


@dataclass(frozen=True)
class HrSample:
    """A heart rate the strap computed, stamped with the arrival time of its notification (s)."""

    t_s: float
    hr_bpm: int
    contact: str


@dataclass(frozen=True)
class Gap:
    """A stretch without beats: ``onset_s`` (s), ``duration_s`` (s, >= 0) and ``reason``."""

    onset_s: float
    duration_s: float
    reason: str


@dataclass
class Emitted:
    """What one call released: beats, HR samples and gaps, each in time order."""

    beats: list[Beat] = field(default_factory=list)
    hr: list[HrSample] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    def extend(self, other: "Emitted") -> "Emitted":
        """Append another :class:`Emitted` to this one, in place; returns self."""
        self.beats.extend(other.beats)
        self.hr.extend(other.hr)
        self.gaps.extend(other.gaps)
        return self


@dataclass(frozen=True)
class TimelineConfig:
    """Parameters of :class:`Timeline`; every default is explained in the module docstring.

    Attributes
    ----------
    window_s : float
        Span of notifications the offset envelope rests on, strap seconds (300: at 100 ppm the
        clocks drift 30 ms over it, which the slope absorbs).
    skew_min_span_s : float
        Below this span of points the drift slope is taken as 0, s (60).
    max_skew_ppm : float
        Bound on the drift slope, ppm (500, the Bluetooth sleep-clock accuracy bound).
    hold_s : float
        How long beats are held before release, strap seconds (30; must be at least
        ``step_confirm_s`` for small losses to be detected; 0 releases at once).
    step_s : float
        Smallest RR sum a lost notification must carry to be detected by the sustained-shift
        test, s (0.5).
    step_confirm_s : float
        How long the shift must last, strap seconds (20).
    drop_tolerance_s : float
        Residual that marks a loss at once, s (1.5).
    stall_s : float
        No notification for longer than this makes a following gap a ``"stall"``, s (5).
    hr_only_after : int
        Notifications without any RR interval before the strap is declared HR-only (10).
    """

    window_s: float = 300.0
    skew_min_span_s: float = 60.0
    max_skew_ppm: float = 500.0
    hold_s: float = 30.0
    step_s: float = 0.5
    step_confirm_s: float = 20.0
    drop_tolerance_s: float = 1.5
    stall_s: float = 5.0
    hr_only_after: int = 10

    def __post_init__(self) -> None:
        for name in ("window_s", "skew_min_span_s", "max_skew_ppm", "hold_s", "step_s",
                     "step_confirm_s", "drop_tolerance_s", "stall_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"TimelineConfig.{name} must be a finite number >= 0, got {v!r}")
        if self.window_s <= self.hold_s:
            raise ValueError(f"TimelineConfig.window_s ({self.window_s}) must exceed hold_s "
                             f"({self.hold_s})")


# ------------------------------------------------------------------------------------------
# the offset estimator
# ------------------------------------------------------------------------------------------
def _lower_envelope(xs: list[float], ys: list[float], max_skew: float,
                    min_span: float) -> tuple[float, float]:
    """Line ``alpha + beta * x`` under every point: the lower-hull edge spanning the mean x.

    ``xs`` must be strictly increasing. With too short a span the slope is 0 (the minimum).
    """
    n = len(xs)
    if n < 3 or xs[-1] - xs[0] < min_span:
        return min(ys), 0.0
    hull: list[tuple[float, float]] = []
    for p in zip(xs, ys):
        while len(hull) >= 2:
            (ax, ay), (bx, by) = hull[-2], hull[-1]
            if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) <= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    x_mean = math.fsum(xs) / n
    beta = 0.0
    for (px, py), (qx, qy) in zip(hull, hull[1:]):
        if qx >= x_mean:
            beta = (qy - py) / (qx - px)
            break
    beta = min(max(beta, -max_skew), max_skew)
    alpha = min(y - beta * x for x, y in zip(xs, ys))
    return alpha, beta


@dataclass
class _Note:
    """One notification with RR intervals, inside a segment."""

    x: float                                  # strap time of its last beat, s
    y: float                                  # arrival - x, s
    beats: list[tuple[float, float, int]]     # (x, rr_ms, rr_raw), oldest first
    hint: str | None                          # reason for a gap that would open before it
    released: int = 0                         # how many of its beats were released


class _Segment:
    """A run of notifications whose RR chain is unbroken."""

    def __init__(self) -> None:
        self.notes: list[_Note] = []
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.x_end = 0.0
        self.next_check = 1      # index of the next note to test as the first after a loss
        self.first_unreleased = 0

    def add(self, arrival: float, hrm: HeartRateMeasurement, hint: str | None) -> None:
        beats = []
        for raw, ms in zip(hrm.rr_raw, hrm.rr_ms):
            self.x_end += raw / 1024
            beats.append((self.x_end, ms, raw))
        note = _Note(self.x_end, arrival - self.x_end, beats, hint)
        self.notes.append(note)
        self.xs.append(note.x)
        self.ys.append(note.y)

    def window(self, lo_x: float, hi: int) -> tuple[list[float], list[float]]:
        lo = bisect_left(self.xs, lo_x, 0, hi)
        return self.xs[lo:hi], self.ys[lo:hi]

    def split(self, at: int) -> "_Segment":
        """Move notes ``at:`` into a new segment (none of their beats is released)."""
        new = _Segment()
        new.notes, self.notes = self.notes[at:], self.notes[:at]
        new.xs, self.xs = self.xs[at:], self.xs[:at]
        new.ys, self.ys = self.ys[at:], self.ys[:at]
        new.x_end, self.x_end = self.x_end, self.notes[-1].x
        self.next_check = min(self.next_check, len(self.notes))
        return new

    def trim(self, keep_from_x: float) -> None:
        """Forget fully released, already checked notes older than ``keep_from_x``."""
        k = min(bisect_left(self.xs, keep_from_x), self.first_unreleased, self.next_check - 1)
        if k > 512:
            del self.notes[:k], self.xs[:k], self.ys[:k]
            self.first_unreleased -= k
            self.next_check -= k


class Timeline:
    """Turn notifications into beats, device HR samples and gaps (see the module docstring).

    Parameters
    ----------
    config : TimelineConfig, optional
        Estimator and gap-detection parameters.

    Examples
    --------
    >>> from calmtrace.devices.hrs import encode_hrm
    >>> tl = Timeline(TimelineConfig(hold_s=0))
    >>> out = tl.feed_payload(10.0, encode_hrm(60, rr_raw=[1024]))
    >>> [(b.t_s, b.rr_ms) for b in out.beats]
    [(10.0, 1000.0)]
    """

    def __init__(self, config: TimelineConfig | None = None) -> None:
        self.config = config or TimelineConfig()
        self._seg: _Segment | None = None
        self._last_arrival: float | None = None
        self._last_beat_t: float | None = None
        self._gap_open: tuple[float, str] | None = None   # (onset_s, reason)
        self._no_contact = False
        self._stalled = False
        self._any_rr = False
        self._hr_only_logged = False
        #: Notifications fed (parsed or not).
        self.n_notifications = 0
        #: Malformed payloads skipped by :meth:`feed_payload`.
        self.n_malformed = 0
        #: Beats released so far.
        self.n_beats = 0

    # -- public API ----------------------------------------------------------------------------
    @property
    def hr_only(self) -> bool:
        """True once ``hr_only_after`` notifications came and none carried an RR interval."""
        return not self._any_rr and self.n_notifications >= self.config.hr_only_after

    def feed_payload(self, arrival_t_s: float, payload: bytes) -> Emitted:
        """Parse a raw 0x2A37 payload and :meth:`feed` it; a malformed one is logged and skipped.

        Parameters
        ----------
        arrival_t_s : float
            When the notification arrived, s on the caller's clock.
        payload : bytes
            The notification value as received.
        """
        try:
            hrm = parse_hrm(payload)
        except FormatError as exc:
            self.n_malformed += 1
            self.n_notifications += 1
            self._touch(float(arrival_t_s))
            log.warning("skipped a malformed notification at t=%.3f s: %s", arrival_t_s, exc)
            return Emitted()
        return self.feed(arrival_t_s, hrm)

    def feed(self, arrival_t_s: float, hrm: HeartRateMeasurement) -> Emitted:
        """Take one notification.

        Parameters
        ----------
        arrival_t_s : float
            When it arrived, s on the caller's clock (non-decreasing; an earlier time is taken
            as the previous one).
        hrm : HeartRateMeasurement
            The parsed notification.

        Returns
        -------
        Emitted
            The HR sample of this notification, and the beats and gaps that became final.
        """
        a = self._touch(float(arrival_t_s))
        self.n_notifications += 1
        out = Emitted(hr=[HrSample(a, hrm.hr_bpm, hrm.contact)])
        if hrm.contact == "no":
            self._no_contact = True
        if not hrm.rr_raw:
            if not self._any_rr:
                if self._gap_open is not None:          # HR-only strap: the gap ends here
                    self._close_gap(out, a)
                if self.hr_only and not self._hr_only_logged:
                    self._hr_only_logged = True
                    log.warning("the strap sends heart rate without RR intervals: recording "
                                "device HR samples only, no beats")
            return out

        hint = "stall" if self._stalled else ("no-contact" if self._no_contact else None)
        self._stalled = self._no_contact = False
        self._any_rr = True
        if self._seg is None:
            self._seg = _Segment()
        self._seg.add(a, hrm, hint)
        self._check_losses(out, closing=False)
        self._release(out, final=False)
        return out

    def mark(self, t_s: float, reason: str) -> Emitted:
        """Say the link was lost (``"disconnect"``, ``"stall"``) or contact lost (``"no-contact"``).

        The current segment ends: its held beats are released, and a gap with this reason opens
        (unless one is already open) and closes at the first beat after it.

        Parameters
        ----------
        t_s : float
            When it happened, s on the caller's clock.
        reason : str
            One of :data:`MARK_REASONS`.
        """
        if reason not in MARK_REASONS:
            raise ValueError(f"mark reason must be one of {MARK_REASONS}, got {reason!r}")
        log.debug("mark %s at t=%.3f s", reason, t_s)
        out = Emitted()
        self._end_segment(out, reason)
        if self._gap_open is None and not self._any_rr and self._last_arrival is not None:
            self._gap_open = (self._last_arrival, reason)   # HR-only: gap from the last sample
        return out

    def finish(self, t_end_s: float | None = None) -> Emitted:
        """Release everything held; close a gap still open at ``t_end_s`` (default: last arrival).

        Parameters
        ----------
        t_end_s : float, optional
            End of the recording, s on the caller's clock.
        """
        out = Emitted()
        self._end_segment(out, None)
        if self._gap_open is not None:
            end = t_end_s if t_end_s is not None else self._last_arrival
            self._close_gap(out, end if end is not None else self._gap_open[0])
        return out

    # -- internals -----------------------------------------------------------------------------
    def _touch(self, a: float) -> float:
        if not math.isfinite(a):
            raise ValueError(f"arrival_t_s must be finite, got {a!r}")
        if self._last_arrival is not None:
            if a < self._last_arrival:
                log.debug("arrival %.6f before the previous one %.6f; using the previous",
                          a, self._last_arrival)
                a = self._last_arrival
            if a - self._last_arrival > self.config.stall_s:
                self._stalled = True
        self._last_arrival = a
        return a

    def _envelope(self, seg: _Segment, hi: int) -> tuple[float, float]:
        cfg = self.config
        xs, ys = seg.window(seg.xs[hi - 1] - cfg.window_s, hi)
        return _lower_envelope(xs, ys, cfg.max_skew_ppm * 1e-6, cfg.skew_min_span_s)

    def _check_losses(self, out: Emitted, closing: bool) -> None:
        """Test held notes, oldest first, as the first note after a lost notification."""
        cfg = self.config
        seg = self._seg
        while seg is not None and seg.next_check < len(seg.notes):
            c = seg.next_check
            span = seg.x_end - seg.notes[c].x
            due = seg.notes[c].beats[0][0] <= seg.x_end - cfg.hold_s
            if span >= cfg.step_confirm_s:
                threshold = cfg.step_s
            elif closing or due:
                threshold = cfg.drop_tolerance_s
            else:
                return
            alpha, beta = self._envelope(seg, c)
            residuals = [y - (alpha + beta * x) for x, y in zip(seg.xs[c:], seg.ys[c:])]
            if min(residuals) > threshold:
                at = c + self._locate_loss(seg, c, residuals, alpha, beta, threshold)
                reason = seg.notes[at].hint or "dropped-notification"
                log.info("RR sums and arrival times disagree by %.3f s: notifications were "
                         "lost (%s)", min(residuals), reason)
                new = seg.split(at)
                self._end_segment(out, reason)
                self._seg = seg = new
            else:
                seg.next_check += 1

    def _locate_loss(self, seg: _Segment, c: int, residuals: list[float], alpha: float,
                     beta: float, threshold: float) -> int:
        """Where, from note ``c`` on, the (first) loss happened: an offset into ``residuals``.

        Every note after a loss is late by at least the lost RR sum, while the note just before
        it is late only by its own latency: a loss is where the smallest residual from there on
        stands above the residual of the note before by more than ``threshold``. The first such
        place is taken (a later loss in the same stretch is found when the rest is checked);
        failing one, the place where it stands furthest above.
        """
        previous = [seg.ys[c - 1] - (alpha + beta * seg.xs[c - 1])] + residuals[:-1]
        suffix_min = residuals[:]
        for k in range(len(residuals) - 2, -1, -1):
            suffix_min[k] = min(suffix_min[k], suffix_min[k + 1])
        steps = [m - p for m, p in zip(suffix_min, previous)]
        first = next((k for k, step in enumerate(steps) if step > threshold), None)
        return first if first is not None else max(range(len(steps)), key=steps.__getitem__)

    def _release(self, out: Emitted, final: bool) -> None:
        seg = self._seg
        if seg is None or seg.first_unreleased >= len(seg.notes):
            return
        cfg = self.config
        limit_x = math.inf if final else seg.x_end - cfg.hold_s
        checked = len(seg.notes) if final else seg.next_check
        alpha, beta = self._envelope(seg, len(seg.notes))
        while seg.first_unreleased < checked:
            note = seg.notes[seg.first_unreleased]
            while note.released < len(note.beats) and note.beats[note.released][0] <= limit_x:
                x, rr_ms, raw = note.beats[note.released]
                t = x + alpha + beta * x
                if self._gap_open is not None:
                    self._close_gap(out, t - rr_ms / 1000)
                if self._last_beat_t is not None and t <= self._last_beat_t:
                    log.debug("beat at %.6f s not after the previous one at %.6f s; nudged",
                              t, self._last_beat_t)
                    t = self._last_beat_t + 1e-3
                out.beats.append(Beat(t, rr_ms, raw))
                self._last_beat_t = t
                self.n_beats += 1
                note.released += 1
            if note.released < len(note.beats):
                break
            seg.first_unreleased += 1
        seg.trim(seg.x_end - cfg.window_s)

    def _end_segment(self, out: Emitted, reason: str | None) -> None:
        """Finish the current segment (release all its beats) and open a gap if a reason."""
        seg = self._seg
        if seg is not None:
            self._check_losses(out, closing=True)
            seg = self._seg          # the check may have split it
            self._release(out, final=True)
            self._seg = None
        if reason is not None and self._gap_open is None and self._last_beat_t is not None:
            self._gap_open = (self._last_beat_t, reason)

    def _close_gap(self, out: Emitted, end_s: float) -> None:
        assert self._gap_open is not None
        onset, reason = self._gap_open
        out.gaps.append(Gap(onset, max(0.0, end_s - onset), reason))
        self._gap_open = None


def rebuild(notifications, config: TimelineConfig | None = None) -> Emitted:
    """Rebuild beats, HR samples and gaps from recorded notifications (e.g. notifications.csv).

    Parameters
    ----------
    notifications : iterable of (float, bytes)
        ``(arrival_t_s, payload)`` of the 0x2A37 notifications in arrival order.
    config : TimelineConfig, optional
        As for :class:`Timeline`.

    Returns
    -------
    Emitted
        Everything, as a live :class:`Timeline` fed the same notifications would have released
        (disconnect marks are not in the log; the RR/arrival check finds those gaps, with the
        reason ``"dropped-notification"`` or ``"stall"``).
    """
    tl = Timeline(config)
    out = Emitted()
    for t_s, payload in notifications:
        out.extend(tl.feed_payload(t_s, payload))
    return out.extend(tl.finish())
