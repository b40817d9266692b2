"""Property tests: files of each quirk kind written with a known truth are read back as that truth
or refused with a :class:`FormatError`, never as a different series.

Kinds: delimiters and decimal marks (with BOM and CRLF), RR units (ms, s, µs), heart rates in
place of intervals, nan/blank rows, arrival-time logs in several layouts with jitter and
quantisation, clock jumps of +-1 h and dropouts, and FIT files with missing ``hrv`` messages.
The truth is the series the test generated, never calmtrace's output.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from calmtrace import formats
from calmtrace.errors import FormatError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _rr(seed: int, n: int, mean_ms: float = 850.0) -> np.ndarray:
    """A sinus-like RR series in whole ms: slow drift plus respiratory and random variation."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    rr = mean_ms + 60 * np.sin(2 * np.pi * k / 70) + 35 * np.sin(2 * np.pi * k / 4.5) + 15 * rng.standard_normal(n)
    return np.round(np.clip(rr, 450, 1400))


def _write(path, lines: list[str], bom: bool, crlf: bool) -> None:
    text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


# -- delimiters, decimal marks, units -----------------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(20, 200), unit=st.sampled_from(["ms", "s", "us"]),
       decimal=st.sampled_from([".", ","]), delim=st.sampled_from([",", ";", "\t", " "]),
       layout=st.sampled_from(["rr", "rr-header", "time-rr", "time-rr-header"]),
       bom=st.booleans(), crlf=st.booleans(), half_ms=st.booleans())
def test_delimiters_decimals_and_units(tmp_path_factory, seed, n, unit, decimal, delim, layout, bom, crlf, half_ms):
    rr = _rr(seed, n) + (0.5 if half_ms and unit == "ms" else 0.0)
    t = np.cumsum(rr) / 1000.0
    fmt_rr = {"ms": lambda v: f"{v:g}", "s": lambda v: f"{v / 1000:.4f}", "us": lambda v: f"{v * 1000:.0f}"}[unit]

    def num(text: str) -> str:
        return text.replace(".", decimal)

    rows = []
    for ti, v in zip(t, rr):
        if layout.startswith("time"):
            rows.append(f"{num(f'{ti:.4f}')}{delim}{num(fmt_rr(v))}")
        else:
            rows.append(num(fmt_rr(v)))
    if layout == "rr-header":
        rows.insert(0, "RR")
    elif layout == "time-rr-header":
        rows.insert(0, f"time{delim}rr")
    path = tmp_path_factory.mktemp("delim") / "rr.txt"
    _write(path, rows, bom, crlf)
    try:
        rec = formats.read(path)
    except FormatError:
        # a refusal is allowed only where the file is truly ambiguous: decimal commas in a
        # comma-separated two-column table
        assert layout.startswith("time") and delim == "," and decimal == ","
        return
    np.testing.assert_allclose(rec.rr_ms, rr, atol=1e-6)
    assert len(rec.gaps) == 0
    np.testing.assert_allclose(np.diff(rec.t_s), rr[1:] / 1000.0, atol=2e-4)
    assert rec.meta["rr_unit"] == unit
    if decimal == "," and (unit == "s" or (half_ms and unit == "ms") or layout.startswith("time")):
        assert any("decimal comma" in note for note in rec.meta["import_notes"])


# -- heart rates are never intervals ------------------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), mean=st.floats(40, 200), header=st.booleans())
def test_heart_rates_are_refused(tmp_path_factory, seed, n, mean, header):
    rng = np.random.default_rng(seed)
    hr = np.clip(np.round(mean + 5 * rng.standard_normal(n)), 30, 220)
    path = tmp_path_factory.mktemp("hr") / "values.txt"
    _write(path, (["hr"] if header else []) + [f"{v:g}" for v in hr], False, False)
    with pytest.raises(FormatError, match="heart rate"):
        formats.read(path)


# -- nan and blank rows -------------------------------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(20, 200), share=st.floats(0.01, 0.3),
       token=st.sampled_from(["nan", "NaN", "", "NA"]), with_time=st.booleans())
def test_nan_rows_are_removed_beats(tmp_path_factory, seed, n, share, token, with_time):
    rr = _rr(seed, n)
    t = np.cumsum(rr) / 1000.0
    rng = np.random.default_rng(seed + 1)
    missing = rng.random(n) < share
    missing[rng.integers(n)] = True
    if missing.all() or (~missing).sum() < n / 2 or (token == "" and not with_time):
        return  # blank lines in a plain list are skipped, not rows; covered with a time column
    rows = [f"{ti:.3f},{'' if m and token == '' else (token if m else f'{v:g}')}" if with_time
            else (token if m else f"{v:g}") for ti, v, m in zip(t, rr, missing)]
    path = tmp_path_factory.mktemp("nan") / "rr.csv"
    _write(path, (["t_s,rr_ms"] if with_time else []) + rows, False, False)
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == rr[~missing].tolist()
    runs = int(np.sum(np.diff(np.r_[0, missing.astype(int)]) == 1))
    if with_time and missing[0] and not missing[1]:
        runs -= 1  # the first beat's time is known: one removed first interval loses no time
    assert len(rec.gaps) == runs
    if with_time:  # beat times are known: they are kept exactly, and the gaps end where the next interval begins
        np.testing.assert_allclose(rec.t_s + rec.meta["time_offset_s"], t[~missing], atol=1e-9)
        starts = t[~missing] - rr[~missing] / 1000.0
        for g in rec.gaps.itertuples():
            end = g.onset_s + g.duration_s + rec.meta["time_offset_s"]
            assert np.min(np.abs(starts - end)) < 1e-6 or end == pytest.approx(t[-1])


# -- arrival-time logs: jitter, quantisation, clock jumps, dropouts -----------------------------
def _arrival_file(path, layout: str, clock: list[datetime], rr: np.ndarray, quantum: float) -> None:
    def stamp(c: datetime) -> str:
        return c.replace(tzinfo=None).isoformat(timespec="milliseconds")

    if layout == "epoch-s":
        lines = ["timestamp,rr"] + [f"{(c - EPOCH).total_seconds():.3f},{v:g}" for c, v in zip(clock, rr)]
    elif layout == "iso":
        lines = ["time;rr"] + [f"{stamp(c)};{v:g}" for c, v in zip(clock, rr)]
    elif layout == "psl":
        lines = ["Phone timestamp;RR-interval [ms]"] + [f"{stamp(c)};{v:g}" for c, v in zip(clock, rr)]
    else:  # hrv-logger
        since = np.cumsum(rr)
        lines = ["date,rr,since start"] + [f"{c.replace(tzinfo=None).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]},{v:g},{s:g}"
                                           for c, v, s in zip(clock, rr, since)]
    path.write_text("\n".join(lines) + "\n")


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(120, 600), layout=st.sampled_from(["epoch-s", "iso", "psl", "hrv-logger"]),
       max_delay=st.floats(0.0, 0.95), quantum=st.sampled_from([0.001, 1.0]),
       jump=st.sampled_from([0, 3600, -3600]), drop_s=st.sampled_from([0.0, 8.0, 30.0, 90.0]),
       nan_share=st.sampled_from([0.0, 0.03]))
def test_arrival_logs(tmp_path_factory, seed, n, layout, max_delay, quantum, jump, drop_s, nan_share):
    rng = np.random.default_rng(seed)
    rr = _rr(seed, n)
    t0 = datetime(2024, 3, 31, 0, 30, tzinfo=timezone.utc)
    beat = np.cumsum(rr) / 1000.0  # true beat times, s after t0
    keep = np.ones(n, bool)
    if drop_s:
        a = int(n * 0.3)
        b = a + int(np.searchsorted(beat[a:] - beat[a], drop_s))
        assume(b < n - 20)  # beats after the dropout: a loss at the very end leaves no trace in a log
        keep[a:b] = False
    arrival = beat + rng.uniform(0, max_delay, n)
    arrival = np.floor(arrival / quantum) * quantum if quantum >= 1 else np.round(arrival, 3)
    arrival = np.maximum.accumulate(arrival)
    j = int(n * 0.6) if jump else n
    # a clock change inside a dropout cannot be told from a longer dropout (docs/formats.md): the
    # truth is only defined with the change among received rows
    assume(keep[j - 1:j + 1].all() if jump else True)
    clock_s = arrival + np.where(np.arange(n) >= j, jump, 0)
    kept = np.flatnonzero(keep)
    # rows whose interval was removed (nan): away from the ends, the dropout and the clock jump
    blank = (rng.random(n) < nan_share) & keep
    blank[:3] = blank[-3:] = False
    for edge in (np.flatnonzero(np.diff(keep.astype(int))).tolist() + ([j] if jump else [])):
        blank[max(0, edge - 3):edge + 4] = False
    blank &= ~np.r_[False, blank[:-1]]  # single rows: a run's length is estimated as a whole
    clock = [t0 + timedelta(seconds=float(clock_s[k])) for k in kept]
    path = tmp_path_factory.mktemp("arrival") / "log.csv"
    written = np.where(blank, np.nan, rr)[kept]
    _arrival_file(path, layout, clock, written, quantum)
    try:
        rec = formats.read(path)
    except FormatError as exc:  # pragma: no cover - a refusal must say why; none is expected here
        pytest.fail(f"refused: {exc}")
    good = keep & ~blank
    assert rec.rr_ms.tolist() == rr[good].tolist()
    slack = max_delay + quantum + 0.05 + (0.3 if blank.any() else 0.0)  # + stand-in length errors
    # absolute beat times on the clock before any jump (local times are read as UTC)
    got = np.array([(rec.start - t0).total_seconds()]) + rec.t_s
    err = got - beat[good]
    assert np.all(np.abs(err) <= slack), f"max error {np.max(np.abs(err)):.3f} s"
    blank_gaps = rec.gaps[rec.gaps["duration_s"] < 2.0]
    assert len(blank_gaps) == int(blank.sum())
    gaps = rec.gaps[rec.gaps["duration_s"] >= 2.0]
    if drop_s and not keep.all():
        (g,) = gaps.itertuples()
        lost = beat[~keep]
        true_onset = lost[0] - rr[~keep][0] / 1000.0
        assert abs(g.onset_s + (rec.start - t0).total_seconds() - true_onset) <= slack
        assert abs(g.duration_s - rr[~keep].sum() / 1000.0) <= slack
    else:
        assert len(gaps) == 0
    changes = rec.meta.get("clock_changes") or []
    if jump and j < n and keep[j:].any():
        assert len(changes) == 1 and abs(changes[0]["step_s"] - jump) <= 2.0
    else:
        assert changes == []


# -- FIT: hrv messages missing while records go on ----------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(200, 700), drop=st.sampled_from([0, 5, 20, 60, 120]))
def test_fit_hrv_dropouts(tmp_path_factory, seed, n, drop):
    from tests.formats.test_fit import FILE_ID, T0, UINT8, UINT16, UINT32, data, definition, fit_file

    rr = _rr(seed, n)
    beat = np.cumsum(rr) / 1000.0
    secs = int(np.ceil(beat[-1])) + 1
    d0 = secs // 3
    lost = (beat >= d0) & (beat < d0 + drop) if drop else np.zeros(n, bool)
    msgs = FILE_ID + [definition(1, 20, [(253, 4, UINT32), (3, 1, UINT8)]), definition(2, 78, [(0, 10, UINT16)])]
    for s in range(secs):
        msgs.append(data(1, "IB", T0 + s, 70))
        inside = np.flatnonzero((beat >= s) & (beat < s + 1) & ~lost)
        for k in range(0, inside.size, 5):
            vals = [int(v) for v in rr[inside[k:k + 5]]] + [0xFFFF] * (5 - inside[k:k + 5].size)
            msgs.append(data(2, "5H", *vals))
    path = tmp_path_factory.mktemp("fit") / "a.fit"
    path.write_bytes(fit_file(msgs))
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == rr[~lost].tolist()
    assert np.max(np.abs(rec.t_s - beat[~lost])) < 1.0
    if lost.any():
        (g,) = rec.gaps.itertuples()
        assert abs(g.duration_s - rr[lost].sum() / 1000.0) < 1.0
        assert abs(g.onset_s - (beat[lost][0] - rr[lost][0] / 1000.0)) < 1.0
    else:
        assert len(rec.gaps) == 0
