"""Synchrony and co-regulation of two partners (calmtrace.signals.dyad) against the dyad simulator.

The simulator (calmtrace.signals.dyad_sim) couples partner B's slow arousal to partner A's with a
known lag and strength, or leaves them independent while both go through the same task. Figures
checked here are derived independently of the code under test: the cross-correlation matrix is
recomputed with scipy.signal.detrend and scipy.stats.pearsonr, the truth of lag and strength comes
from the simulator's parameters, and the recovery rows are recomputed with the recovery module
directly.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import signal, stats

import calmtrace
from calmtrace.errors import InputError
from calmtrace.events import Event, Events
from calmtrace.signals.clean import clean
from calmtrace.signals.dyad import DyadConfig, align, dyad, windowed_cross_correlation
from calmtrace.signals.dyad_sim import couple_protocol, simulate_dyad
from calmtrace.signals.hrv import windowed_hrv
from calmtrace.signals.recovery import assess_recovery

SEEDS = range(1, 21)
LAG_S = 5.0
MODERATE = 0.5
STRENGTHS = (0.0, 0.2, MODERATE, 0.8)


# -------------------------------------------------------------------------------------------
# the windowed cross-correlation itself
# -------------------------------------------------------------------------------------------
def test_wcc_matches_pearson_on_detrended_segments() -> None:
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.standard_normal(400))
    y = np.roll(x, 4) + rng.standard_normal(400)
    starts, lags, r = windowed_cross_correlation(x, y, fs_hz=1.0, window_s=60, step_s=30, max_lag_s=10)
    assert lags[0] == -10 and lags[-1] == 10 and len(lags) == 21
    for i, s in enumerate(starts):
        for k, lag in enumerate(lags.astype(int)):
            a = signal.detrend(x[s:s + 60])
            b = signal.detrend(y[s + lag:s + lag + 60])
            assert r[i, k] == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-9)
    # y is x delayed by 4 samples: the peak of every window is at lag +4 (y follows x)
    assert np.all(lags[np.nanargmax(r, axis=1)] == 4)


def test_wcc_with_a_share_of_missing_samples_is_pearson_on_the_rest() -> None:
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.standard_normal(200))
    y = x + rng.standard_normal(200)
    y[70:73] = np.nan
    starts, lags, r = windowed_cross_correlation(x, y, 1.0, 60, 60, 0, starts=np.array([50]), min_share=0.9)
    keep = np.isfinite(y[50:110])
    t = np.arange(60)[keep]
    a, b = x[50:110][keep], y[50:110][keep]
    a = a - np.polyval(np.polyfit(t, a, 1), t)
    b = b - np.polyval(np.polyfit(t, b, 1), t)
    assert r[0, 0] == pytest.approx(stats.pearsonr(a, b)[0], abs=1e-9)


def test_wcc_leaves_windows_with_missing_samples_empty() -> None:
    x = np.sin(np.arange(300) / 7.0)
    y = x.copy()
    y[100:105] = np.nan
    starts, lags, r = windowed_cross_correlation(x, y, 1.0, 60, 30, 10)
    touched = (starts - 10 <= 104) & (starts + 60 + 10 > 100)
    assert np.isnan(r[touched]).any(axis=1).all()
    assert np.isfinite(r[~touched]).all()


# -------------------------------------------------------------------------------------------
# alignment
# -------------------------------------------------------------------------------------------
def _late_start(rec: calmtrace.Recording, late_s: float, claimed_start=None) -> calmtrace.Recording:
    """The same person's recording, started ``late_s`` seconds later (its own clock restarted)."""
    beats = rec.beats[rec.beats["t_s"] > late_s].copy()
    beats["t_s"] = beats["t_s"] - late_s
    ev = Events([Event(max(e.onset_s - late_s, 0.0), e.offset_s - max(e.onset_s, late_s), e.label, e.kind)
                 for e in rec.events if e.offset_s > late_s])
    return rec.replace(beats=beats, events=ev, start=claimed_start or rec.start + timedelta(seconds=late_s))


@pytest.fixture(scope="module")
def pair():
    return simulate_dyad(seed=11, coupling=0.8, lag_s=LAG_S)


def test_a_later_start_is_aligned_on_the_clocks(pair) -> None:
    a, b = pair
    late = _late_start(b, 40.0)
    al = align(a, late)
    assert al.how == "clocks" and al.b_offset_s == pytest.approx(40.0)
    assert al.overlap_s[0] == pytest.approx(40.0)
    res = dyad(a, late, DyadConfig(n_surrogates=9))
    w = res.windows[res.windows["series"] == "hr"]
    assert abs(w["peak_lag_s"].median() - LAG_S) <= res.config.lag_step_s


def test_a_stated_offset_replaces_wrong_clocks(pair) -> None:
    a, b = pair
    wrong = _late_start(b, 40.0, claimed_start=a.start + timedelta(hours=5))
    with pytest.raises(InputError, match=r"overlap for 0 s.*offset"):
        dyad(a, wrong)
    res = dyad(a, wrong, DyadConfig(n_surrogates=9), offset_s=40.0)
    assert res.alignment.how == "stated"
    w = res.windows[res.windows["series"] == "hr"]
    assert abs(w["peak_lag_s"].median() - LAG_S) <= res.config.lag_step_s


def test_clocks_that_cannot_be_aligned_are_refused(pair) -> None:
    a, b = pair
    unknown = b.replace(meta={**b.meta, "start_unknown": True})
    with pytest.raises(InputError, match="partner B's recording carries no start time.*--offset-s"):
        dyad(a, unknown)
    local = b.replace(meta={**b.meta, "clock": "local time of the device, offset unknown; taken as UTC"})
    with pytest.raises(InputError, match="local time of unknown UTC offset"):
        align(a, local)
    assert align(a, unknown, offset_s=0.0).how == "stated"


def test_too_short_an_overlap_is_refused(pair) -> None:
    a, b = pair
    with pytest.raises(InputError, match="overlap for 100 s, fewer than 300 s"):
        align(a, b, offset_s=a.duration_s - 100.0)


# -------------------------------------------------------------------------------------------
# the simulator over 20 seeds
# -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs():
    """dyad() of simulated couples: 20 seeds x 4 coupling strengths, lag 5 s, A leading.

    The full shift-surrogate test (199 surrogates) runs for the independent and the moderate
    pairs; the other strengths only need lag and strength.
    """
    out = {}
    for c in STRENGTHS:
        cfg = DyadConfig() if c in (0.0, MODERATE) else DyadConfig(n_surrogates=9)
        for seed in SEEDS:
            a, b = simulate_dyad(seed=seed, coupling=c, lag_s=LAG_S)
            assert a.meta["truth"]["dyad"]["coupling"]["conflict discussion"] == c
            out[(c, seed)] = dyad(a, b, cfg)
    return out


def _hr(res):
    return res.windows[res.windows["series"] == "hr"], res.phases[res.phases["series"] == "hr"]


def _passes(res) -> bool:
    """The surrogate test of a session: some heart-rate phase above chance (Holm-adjusted)."""
    return bool(_hr(res)[1]["exceeds_chance"].any())


@pytest.mark.slow
def test_coupled_lag_is_found_within_one_step(runs) -> None:
    for c in (MODERATE, 0.8):
        for seed in SEEDS:
            res = runs[(c, seed)]
            w, _ = _hr(res)
            lag = float(w["peak_lag_s"].median())
            assert abs(lag - LAG_S) <= res.config.lag_step_s, (c, seed, lag)
            assert (w["leader"] == "A").mean() > 0.5, "A leads in most windows"


@pytest.mark.slow
def test_swapping_the_partners_flips_the_lag(runs) -> None:
    for seed in list(SEEDS)[:5]:
        r = runs[(0.8, seed)]
        swapped = dyad(r.rec_b, r.rec_a, DyadConfig(n_surrogates=9))
        w, _ = _hr(swapped)
        assert abs(float(w["peak_lag_s"].median()) + LAG_S) <= 1.0


@pytest.mark.slow
def test_strength_is_ordered(runs) -> None:
    def session_r(res):
        w, _ = _hr(res)
        return float(np.tanh(np.nanmean(np.arctanh(w["peak_r"]))))

    table = np.array([[session_r(runs[(c, seed)]) for c in STRENGTHS] for seed in SEEDS])
    means = table.mean(axis=0)
    assert np.all(np.diff(means) > 0), means
    # within every seed (same noise, stronger coupling) the order holds from 0 to 0.5 to 0.8
    assert np.all(table[:, 2] > table[:, 0]) and np.all(table[:, 3] > table[:, 2]), table


@pytest.mark.slow
def test_independent_pairs_sharing_the_task_rarely_pass(runs) -> None:
    passed = [_passes(runs[(0.0, seed)]) for seed in SEEDS]
    assert sum(passed) <= 0.10 * len(passed), passed


@pytest.mark.slow
def test_moderately_coupled_pairs_pass(runs) -> None:
    passed = [_passes(runs[(MODERATE, seed)]) for seed in SEEDS]
    assert sum(passed) >= 0.80 * len(passed), passed
    assert all(_hr(runs[(MODERATE, s)])[1]["surrogate"].eq("shift").all() for s in SEEDS)


@pytest.mark.slow
def test_pseudo_pairs_from_the_other_sessions(runs) -> None:
    """With the other 19 sessions, pseudo-pairs are the null: same task, different people."""
    for c, check in ((0.0, lambda k: k <= 2), (MODERATE, lambda k: k >= 16)):
        passed = []
        for seed in SEEDS:
            others = [runs[(c, s)] for s in SEEDS if s != seed]
            r = runs[(c, seed)]
            res = dyad(r.rec_a, r.rec_b, DyadConfig(), others=others)
            _, ph = _hr(res)
            assert ph["surrogate"].eq("pseudo").all() and ph["n_surrogates"].eq(199).all()
            passed.append(bool(ph["exceeds_chance"].any()))
        assert check(sum(passed)), (c, passed)


def test_per_phase_coupling_shows_in_its_phase() -> None:
    a, b = simulate_dyad(seed=4, coupling={"conflict discussion": 0.9}, lag_s=LAG_S)
    res = dyad(a, b)
    _, ph = _hr(res)
    by = ph.set_index("phase")
    assert by.loc["conflict discussion", "exceeds_chance"]
    assert by.loc["conflict discussion", "synchrony_r"] > by.loc["baseline", "synchrony_r"] + 0.15
    assert by.loc["conflict discussion", "synchrony_r"] > by.loc["repair", "synchrony_r"] + 0.15
    assert abs(by.loc["conflict discussion", "median_lag_s"] - LAG_S) <= 1.0


def test_phases_come_from_the_shared_events() -> None:
    a, b = simulate_dyad(seed=2, coupling=0.0)
    res = dyad(a, b, DyadConfig(n_surrogates=9))
    expected = [(s.label, s.kind) for s in couple_protocol()]
    for series in ("hr", "vagal"):
        got = res.phases[res.phases["series"] == series]
        assert list(zip(got["phase"], got["kind"])) == expected
    # one event each, though both recordings carry them
    assert len(res.events) == 3
    # a window counts for a phase only when it lies wholly inside it
    w, ph = _hr(res)
    for r in ph.itertuples(index=False):
        inside = w[(w["start_s"] >= r.onset_s) & (w["end_s"] <= r.offset_s + 1.0)]
        assert r.n_windows == int(inside["peak_r"].notna().sum())


# -------------------------------------------------------------------------------------------
# co-regulation
# -------------------------------------------------------------------------------------------
def test_recovery_side_by_side_is_the_recovery_module_per_partner(pair) -> None:
    a, b = pair
    res = dyad(a, b, DyadConfig(n_surrogates=9))
    for who, rec in (("A", a), ("B", b)):
        c = clean(rec)
        own = assess_recovery(windowed_hrv(c, 60.0, 5.0), c.events, beats=c.beats)
        got = res.recovery[res.recovery["partner"] == who].reset_index(drop=True)
        for col in ("reactivity", "time_to_baseline_s", "t50_s", "tau_s"):
            np.testing.assert_allclose(got[col].to_numpy(float), own[col].to_numpy(float), equal_nan=True)
    hr = res.recovery[res.recovery["metric"] == "mean_hr_bpm"].set_index("partner")
    # the simulator makes B recover more slowly (tau 120 s against 60 s)
    assert hr.loc["B", "tau_s"] > hr.loc["A", "tau_s"]


def test_coregulation_is_not_the_shared_recovery_curve() -> None:
    """Independent partners recovering from the same stressor: the partner coefficient stays near
    zero on average, because each partner's own recovery curve is held constant."""
    vals = []
    for seed in range(1, 9):
        a, b = simulate_dyad(seed=seed, coupling=0.0)
        res = dyad(a, b, DyadConfig(n_surrogates=1))
        cr = res.coregulation
        assert set(cr["lag_s"]) == set(DyadConfig().coreg_lags_s)
        vals.append(cr["partial_r"].to_numpy(float))
    mean = np.nanmean(np.array(vals), axis=0)
    assert np.all(np.abs(mean) < 0.2), mean


def test_results_are_written_and_reproducible(pair, tmp_path) -> None:
    a, b = pair
    r1 = dyad(a, b, DyadConfig(n_surrogates=19, seed=5))
    r2 = dyad(a, b, DyadConfig(n_surrogates=19, seed=5))
    pd.testing.assert_frame_equal(r1.phases, r2.phases)
    files = r1.write(tmp_path / "out")
    assert {f.name for f in files} == {"series.csv", "synchrony_windows.csv", "synchrony_phases.csv", "recovery.csv",
                                       "coregulation.csv", "dyad.json"}
    back = pd.read_csv(tmp_path / "out" / "synchrony_phases.csv")
    np.testing.assert_allclose(back["synchrony_r"], r1.phases["synchrony_r"])


def test_public_api_and_bad_input(pair) -> None:
    a, b = pair
    assert calmtrace.dyad is dyad
    with pytest.raises(InputError, match="max_lag_s"):
        DyadConfig(max_lag_s=60.0)
    with pytest.raises(InputError, match="surrogate must be one of"):
        DyadConfig(surrogate="magic")
    with pytest.raises(InputError, match="partner B must be a Recording"):
        dyad(a, "b.csv")  # type: ignore[arg-type]


def test_artefacts_and_a_dropout_leave_the_lag_and_break_the_windows_they_touch() -> None:
    a, b = simulate_dyad(seed=7, coupling=0.8, lag_s=LAG_S, artifact_pct=3.0)
    gap = (600.0, 60.0)
    beats = b.beats[(b.t_s < gap[0]) | (b.t_s > gap[0] + gap[1])]
    b = b.replace(beats=beats, gaps=pd.DataFrame({"onset_s": [gap[0]], "duration_s": [gap[1]],
                                                   "reason": ["disconnect"]}))
    res = dyad(a, b, DyadConfig(n_surrogates=19))
    s = res.series
    in_gap = (s["t_s"] > gap[0]) & (s["t_s"] < gap[0] + gap[1])
    assert s.loc[in_gap, "hr_b"].isna().all() and s.loc[~in_gap, "hr_b"].notna().mean() > 0.97
    w, _ = _hr(res)
    lag = res.config.max_lag_s
    touching = (w["start_s"] - lag < gap[0] + gap[1]) & (w["end_s"] + lag > gap[0])
    assert w.loc[touching, "peak_r"].isna().all()
    # every other window has its peak, except where a lag reaches the first second of the recording or
    # the second after the dropout (before the first beat there, nothing to interpolate from)
    end = gap[0] + gap[1]
    edge = (w["start_s"] - lag < 1.0) | ((w["start_s"] - lag < end + 1.0) & (w["end_s"] + lag > end))
    clear = ~touching & ~edge
    assert w.loc[clear, "peak_r"].notna().all() and clear.sum() >= len(w) - 8
    assert abs(float(w["peak_lag_s"].median()) - LAG_S) <= res.config.lag_step_s


def test_no_events_means_no_phases_and_says_so() -> None:
    a, b = simulate_dyad(seed=8, coupling=0.5)
    res = dyad(a.with_events(Events()), b.with_events(Events()), DyadConfig(n_surrogates=9))
    assert len(res.phases) == 0 and len(res.coregulation) == 0 and len(res.windows) > 0
    from calmtrace.report.dyad import render_dyad_report

    html = render_dyad_report(res)
    assert "No stressor was logged" in html
