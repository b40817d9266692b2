"""Beat times and gaps from simulated notification streams with known truth.

The simulator below is independent of the code under test: it draws a physiological RR series
on the strap's 1/1024-s clock, runs the strap's clock ``drift_ppm`` fast or slow against the
host, forms notifications either one per beat or once a second (Polar H10 style, the beats since
the previous tick), adds radio/host latency, and loses the notifications it is told to. It keeps
the true host time of every beat, so each released beat can be checked against it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from calmtrace.devices.hrs import encode_hrm, parse_hrm
from calmtrace.devices.timeline import (
    Emitted,
    Timeline,
    TimelineConfig,
    rebuild,
)

HOST_OFFSET_S = 1000.0


@dataclass
class Note:
    arrival: float
    rr_raw: list[int]
    true_t: list[float]          # host time of each beat in it
    contact: str = "yes"
    lost: bool = False


@dataclass
class Stream:
    notes: list[Note]
    rr_all: list[int] = field(default_factory=list)


def simulate(mode: str, dur_s: float, seed: int, drift_ppm: float = 100.0,
             drop_runs=(), drop_single=()) -> Stream:
    """Notifications of ``dur_s`` seconds; ``drop_runs`` are (first, stop) note indices lost."""
    rng = np.random.default_rng(seed)
    n = int(dur_s / 0.75)
    k = np.arange(n)
    rr_s = 0.8 + 0.05 * np.sin(2 * np.pi * k * 0.8 / 4) + 0.1 * np.sin(2 * np.pi * k * 0.8 / 60) \
        + rng.normal(0, 0.02, n)
    raw = np.maximum(300, np.round(rr_s * 1024)).astype(int)
    strap_t = 3.0 + np.cumsum(raw) / 1024                       # beat times, strap clock

    def host(s):
        return s * (1 + drift_ppm * 1e-6) + HOST_OFFSET_S

    def latency():
        return 0.003 + rng.uniform(0, 0.03) + rng.exponential(0.005)

    notes: list[Note] = []
    if mode == "per_beat":
        for i in range(n):
            notes.append(Note(host(strap_t[i]) + latency(), [int(raw[i])], [host(strap_t[i])]))
    elif mode == "tick":
        j = 0
        for tick in np.arange(strap_t[0] - 0.5, strap_t[-1], 1.0):
            idx = []
            while j < n and strap_t[j] <= tick:
                idx.append(j)
                j += 1
            notes.append(Note(host(tick) + latency(), [int(raw[i]) for i in idx],
                              [host(strap_t[i]) for i in idx]))
    else:
        raise AssertionError(mode)
    for a, b in drop_runs:
        for note in notes[a:b]:
            note.lost = True
    for a in drop_single:
        notes[a].lost = True
    return Stream(notes, [int(r) for r in raw])


def run(stream: Stream, config: TimelineConfig | None = None, marks=None) -> tuple[Emitted, Timeline]:
    """Feed the delivered notifications (as raw payloads); ``marks`` maps note index -> reason."""
    tl = Timeline(config)
    out = Emitted()
    marks = marks or {}
    for i, note in enumerate(stream.notes):
        if i in marks:
            out.extend(tl.mark(note.arrival, marks[i]))
        if note.lost:
            continue
        payload = encode_hrm(72, contact=note.contact, rr_raw=note.rr_raw)
        out.extend(tl.feed_payload(note.arrival, payload))
    out.extend(tl.finish())
    return out, tl


def delivered(stream: Stream):
    return [n for n in stream.notes if not n.lost]


def check_beats(out: Emitted, stream: Stream) -> np.ndarray:
    """Every delivered beat exactly once, RR exact, in order; returns the timing errors (s)."""
    sent_raw = [r for n in delivered(stream) for r in n.rr_raw]
    true_t = [t for n in delivered(stream) for t in n.true_t]
    assert [b.rr_raw for b in out.beats] == sent_raw
    assert [b.rr_ms for b in out.beats] == [r * 1000 / 1024 for r in sent_raw]
    t = np.array([b.t_s for b in out.beats])
    assert np.all(np.diff(t) > 0), "beat times must be strictly increasing (no duplicates)"
    return t - np.array(true_t)


def lost_beat_times(stream: Stream) -> list[list[float]]:
    """True times of the beats in each run of consecutive lost notifications that had beats."""
    runs, cur = [], []
    for n in stream.notes:
        if n.lost:
            cur.extend(n.true_t)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return [r for r in runs if r]


def covers(gap, times, tol=0.05) -> bool:
    return all(gap.onset_s - tol <= t <= gap.onset_s + gap.duration_s + tol for t in times)


# ------------------------------------------------------------------------------------------
def test_single_notification_with_zero_latency_is_placed_at_arrival():
    tl = Timeline(TimelineConfig(hold_s=0))
    out = tl.feed(10.0, parse_hrm(encode_hrm(60, rr_raw=[1024])))
    assert [(b.t_s, b.rr_ms) for b in out.beats] == [(10.0, 1000.0)]
    assert [(h.t_s, h.hr_bpm, h.contact) for h in out.hr] == [(10.0, 60, "unsupported")]


def test_beats_in_one_notification_are_spaced_by_their_rr():
    tl = Timeline(TimelineConfig(hold_s=0))
    out = tl.feed(20.0, parse_hrm(encode_hrm(60, rr_raw=[512, 1024, 768])))
    # last beat at the arrival; earlier ones 0.75 s and 0.75 + 1.0 s before (hand-computed)
    assert [b.t_s for b in out.beats] == [18.25, 19.25, 20.0]


@pytest.mark.parametrize("drift_ppm", [100.0, -100.0])
def test_per_beat_stream_with_drift_and_drops(drift_ppm):
    # 30 min; lost: runs of 2-5 notifications and single ones, none in the last 40 s
    stream = simulate("per_beat", 1800, seed=3, drift_ppm=drift_ppm,
                      drop_runs=[(200, 204), (900, 902), (1700, 1705)],
                      drop_single=[450, 1200, 1900, 2100])
    out, _ = run(stream)
    err = check_beats(out, stream)
    assert np.abs(err).max() < 0.050
    runs = lost_beat_times(stream)
    assert len(runs) == 7
    assert len(out.gaps) == len(runs)
    for gap, times in zip(out.gaps, runs):
        assert covers(gap, times), (gap, times)
        assert gap.reason == "dropped-notification"


def test_polar_style_one_notification_a_second():
    # 1 Hz notifications: latency spreads over a whole second, so timing is looser (see
    # docs/devices.md); lost stretches of 3-6 s are found exactly.
    stream = simulate("tick", 1800, seed=5, drift_ppm=100.0,
                      drop_runs=[(300, 303), (800, 806), (1300, 1305)])
    out, _ = run(stream)
    err = np.abs(check_beats(out, stream))
    assert np.median(err) < 0.040
    assert np.percentile(err, 95) < 0.100
    assert err.max() < 1.0
    runs = lost_beat_times(stream)
    assert len(out.gaps) == len(runs) == 3
    for gap, times in zip(out.gaps, runs):
        assert covers(gap, times, tol=0.1)


def test_stall_gives_a_stall_gap():
    stream = simulate("per_beat", 300, seed=1, drop_runs=[(150, 162)])   # ~9 s silent
    out, _ = run(stream)
    check_beats(out, stream)
    assert [g.reason for g in out.gaps] == ["stall"]
    assert covers(out.gaps[0], lost_beat_times(stream)[0])


def test_disconnect_mark_gives_a_disconnect_gap():
    stream = simulate("tick", 300, seed=2, drop_runs=[(100, 104)])
    out, _ = run(stream, marks={100: "disconnect"})
    check_beats(out, stream)
    assert [g.reason for g in out.gaps] == ["disconnect"]
    assert covers(out.gaps[0], lost_beat_times(stream)[0], tol=0.1)


def test_short_reconnect_is_still_a_gap_when_marked():
    # one beat lost over a quick reconnect: too small for the RR/arrival test, but the mark says
    stream = simulate("per_beat", 200, seed=4, drop_single=[120])
    out, _ = run(stream, marks={120: "disconnect"})
    check_beats(out, stream)
    assert len(out.gaps) == 1 and out.gaps[0].reason == "disconnect"
    assert covers(out.gaps[0], stream.notes[120].true_t)


def test_no_contact_reason():
    stream = simulate("tick", 300, seed=6, drop_runs=[(150, 154)])
    for note in stream.notes[150:154]:
        note.lost, note.contact, note.rr_raw, note.true_t = False, "no", [], []
    lost = [t for n in simulate("tick", 300, seed=6).notes[150:154] for t in n.true_t]
    out, _ = run(stream)
    assert [g.reason for g in out.gaps] == ["no-contact"]
    assert covers(out.gaps[0], lost, tol=0.1)


def test_late_bunch_is_not_a_loss():
    # the host was busy for 3 s: 4 notifications arrive together, nothing is lost
    stream = simulate("per_beat", 300, seed=7)
    burst_at = stream.notes[203].arrival
    for note in stream.notes[200:204]:
        note.arrival = burst_at
    out, _ = run(stream)
    err = check_beats(out, stream)
    assert out.gaps == []
    assert np.abs(err).max() < 0.050


def test_capture_ending_during_a_disconnect_closes_the_gap_at_the_end():
    stream = simulate("per_beat", 120, seed=8)
    tl = Timeline()
    out = Emitted()
    for note in stream.notes[:100]:
        out.extend(tl.feed(note.arrival, parse_hrm(encode_hrm(70, rr_raw=note.rr_raw))))
    out.extend(tl.mark(stream.notes[100].arrival, "disconnect"))
    end = stream.notes[-1].arrival
    out.extend(tl.finish(end))
    assert len(out.beats) == 100
    (gap,) = out.gaps
    assert gap.reason == "disconnect"
    assert gap.onset_s == out.beats[-1].t_s
    assert gap.onset_s + gap.duration_s == pytest.approx(end)


def test_hr_only_strap(caplog):
    tl = Timeline()
    out = Emitted()
    with caplog.at_level(logging.WARNING, logger="calmtrace.devices.timeline"):
        for i in range(20):
            out.extend(tl.feed_payload(float(i), encode_hrm(65 + i % 3, contact="yes")))
        out.extend(tl.finish())
    assert out.beats == [] and out.gaps == []
    assert [h.t_s for h in out.hr] == [float(i) for i in range(20)]
    assert tl.hr_only is True
    assert sum("without RR intervals" in r.getMessage() for r in caplog.records) == 1


def test_hr_only_strap_gets_disconnect_gaps_from_samples():
    tl = Timeline()
    out = Emitted()
    for i in range(5):
        out.extend(tl.feed_payload(float(i), encode_hrm(70)))
    out.extend(tl.mark(5.0, "disconnect"))
    for i in range(12, 15):
        out.extend(tl.feed_payload(float(i), encode_hrm(70)))
    assert [(g.onset_s, g.duration_s, g.reason) for g in out.gaps] == [(4.0, 8.0, "disconnect")]


def test_malformed_payloads_are_logged_and_skipped(caplog):
    stream = simulate("per_beat", 120, seed=9)
    tl = Timeline()
    out = Emitted()
    with caplog.at_level(logging.WARNING, logger="calmtrace.devices.timeline"):
        for i, note in enumerate(stream.notes):
            if i in (30, 31, 80):
                out.extend(tl.feed_payload(note.arrival - 0.01, b"\x10\x40\x01"))  # odd RR bytes
            out.extend(tl.feed_payload(note.arrival, encode_hrm(70, rr_raw=note.rr_raw)))
        out.extend(tl.finish())
    assert tl.n_malformed == 3
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 3
    err = check_beats(out, stream)
    assert np.abs(err).max() < 0.050 and out.gaps == []


def test_rebuild_from_notifications_equals_live_feed():
    stream = simulate("tick", 600, seed=10, drop_runs=[(200, 205)])
    live, _ = run(stream)
    logged = [(n.arrival, encode_hrm(72, contact=n.contact, rr_raw=n.rr_raw))
              for n in delivered(stream)]
    again = rebuild(logged)
    assert again == live


def test_hold_zero_releases_at_once_and_still_finds_big_losses():
    stream = simulate("per_beat", 300, seed=12, drop_runs=[(150, 154)])   # ~3 s lost
    tl = Timeline(TimelineConfig(hold_s=0))
    gaps, n_released = [], []
    for note in delivered(stream):
        out = tl.feed(note.arrival, parse_hrm(encode_hrm(70, rr_raw=note.rr_raw)))
        n_released.append(len(out.beats))
        gaps += out.gaps
    gaps += tl.finish().gaps
    assert n_released == [1] * len(n_released)    # each beat released with its notification
    assert len(gaps) == 1 and covers(gaps[0], lost_beat_times(stream)[0])


@pytest.mark.parametrize("kwargs", [{"hold_s": -1}, {"window_s": 10, "hold_s": 30},
                                    {"stall_s": math.nan}])
def test_config_is_validated(kwargs):
    with pytest.raises(ValueError):
        TimelineConfig(**kwargs)


def test_mark_reason_is_validated():
    with pytest.raises(ValueError, match="disconnect"):
        Timeline().mark(0.0, "dropped")
