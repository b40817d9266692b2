"""Epoch states of a simulated day against its known truth (signals/day.py, signals/day_sim.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from calmtrace.errors import AnalysisError, InputError
from calmtrace.events import Events
from calmtrace.signals.day import DayConfig, analyze_day, enmo_per_epoch, epoch_states, rm_corr
from calmtrace.signals.day_sim import epoch_truth, simulate_day


@pytest.fixture(scope="module")
def day1():
    return simulate_day(1, seed=1)


@pytest.fixture(scope="module")
def states1(day1):
    return epoch_states(day1.recording, day1.acc)


def _joined(res, sim, epoch_s=60.0):
    truth = epoch_truth(sim.blocks, sim.recording.duration_s, epoch_s)
    return pd.merge(res.epochs[["start_s", "state"]], truth, on="start_s", how="inner")


def test_states_agree_with_truth_in_90_percent_of_measurable_epochs(day1, states1):
    m = _joined(states1, day1)
    measurable = m["truth"] != "unmeasured"
    agree = float((m["state"] == m["truth"])[measurable].mean())
    assert agree >= 0.90, pd.crosstab(m["truth"], m["state"])
    # the strap-off span is unmeasured, every minute of it
    assert (m.loc[~measurable, "state"] == "unmeasured").all()


@pytest.mark.parametrize("seed", [3, 4])
def test_stress_at_rest_never_activity_and_exercise_never_stress(seed):
    sim = simulate_day(1, seed=seed)
    m = _joined(epoch_states(sim.recording, sim.acc), sim)
    stress = m[m["truth"] == "stress"]
    assert (stress["state"] == "activity").mean() <= 0.05
    exercise = m[m["movement"].isin(["walk", "run"])]
    assert len(exercise) > 30
    assert (exercise["state"] == "stress").mean() <= 0.05
    assert float((m["state"] == m["truth"])[m["truth"] != "unmeasured"].mean()) >= 0.90


def test_heart_rate_only_fallback_figures(day1):
    """Without the accelerometer: the documented HR-only rule. Its known weakness is walking
    (HR below the activity range, so raised HR reads as stress); vigorous effort is still
    activity and stress at rest is still stress."""
    res = epoch_states(day1.recording, None)
    assert res.mode == "heart-rate only"
    assert res.epochs["enmo_mg"].isna().all()
    m = _joined(res, day1)
    run = m[m["movement"] == "run"]
    assert (run["state"] == "activity").mean() >= 0.9
    stress = m[m["truth"] == "stress"]
    assert (stress["state"] == "stress").mean() >= 0.9
    measurable = m["truth"] != "unmeasured"
    agree = float((m["state"] == m["truth"])[measurable].mean())
    walk = m[m["movement"] == "walk"]
    print(f"HR-only fallback: agreement {agree:.3f}; walking labelled stress "
          f"{(walk['state'] == 'stress').mean():.2f}; running activity {(run['state'] == 'activity').mean():.2f}")
    assert agree >= 0.85


def test_every_threshold_written_with_the_results(states1):
    cfg = states1.config.to_dict()
    assert cfg["epoch_s"] == 60.0 and cfg["additional_hr_bpm"] == 6.0
    assert set(states1.reference) >= {"hr_rest_bpm", "ln_rmssd_rest", "slope_bpm_per_mg"}
    # every non-unmeasured epoch says why, with its figures
    ev = states1.epochs["evidence"]
    assert ev.str.len().gt(10).all()
    act = states1.epochs[states1.epochs["state"] == "activity"]
    assert act["evidence"].str.contains("ENMO|after movement").all()


def test_resting_reference_is_the_still_waking_median(day1, states1):
    e = states1.epochs
    rest = e["valid"] & e["still"] & ~e["moving"] & ~e["asleep"]
    assert states1.reference["hr_rest_bpm"] == pytest.approx(float(np.median(e.loc[rest, "hr_bpm"])))
    # the simulated person rests at 65 bpm and sleeps 10 bpm lower
    assert states1.reference["hr_rest_bpm"] == pytest.approx(65.0, abs=2.0)


def test_configurable_epoch(day1):
    res = epoch_states(day1.recording, day1.acc, DayConfig(epoch_s=120.0))
    assert (np.diff(res.epochs["start_s"]) == 120.0).all()
    m = _joined(res, day1, 120.0)
    assert float((m["state"] == m["truth"])[m["truth"] != "unmeasured"].mean()) >= 0.88


def test_enmo_definition():
    # 10 s at 25 Hz: half the samples 1.2 g along z, half 0.9 g: ENMO = mean(max(|a|-1, 0)) = 100 mg
    n = 250
    z = np.where(np.arange(n) % 2 == 0, 1200, 900)
    acc = pd.DataFrame({"t_s": np.arange(n) / 25.0, "x_mg": np.zeros(n), "y_mg": np.zeros(n), "z_mg": z})
    enmo, cover = enmo_per_epoch(acc, 1, 10.0)
    assert enmo[0] == pytest.approx(100.0)
    assert cover[0] == pytest.approx(1.0)
    # (300, 400, 0) mg has norm 500 mg: below 1 g, ENMO 0
    acc2 = acc.assign(x_mg=300, y_mg=400, z_mg=0)
    assert enmo_per_epoch(acc2, 1, 10.0)[0][0] == 0.0


def test_sleep_from_event_and_from_the_quietest_span(day1):
    res = epoch_states(day1.recording, day1.acc)
    assert list(res.sleep["source"]) == ["event"]
    true = day1.blocks[day1.blocks["label"] == "sleep"].iloc[0]
    rec = day1.recording.with_events(Events())
    res2 = epoch_states(rec, day1.acc)
    assert list(res2.sleep["source"]) == ["quietest span"]
    o, e = float(res2.sleep["onset_s"].iloc[0]), float(res2.sleep["end_s"].iloc[0])
    t_on, t_off = float(true["onset_s"]), float(true["onset_s"] + true["duration_s"])
    overlap = max(0.0, min(e, t_off) - max(o, t_on))
    assert overlap / (t_off - t_on) >= 0.9
    assert (e - o) <= 1.15 * (t_off - t_on)
    # overnight figures: lower HR and higher lnRMSSD than waking rest
    assert res.sleep["hr_bpm"].iloc[0] < res.reference["hr_rest_bpm"] - 5
    assert res.sleep["ln_rmssd"].iloc[0] > res.reference["ln_rmssd_rest"] + 0.3


def test_summary_minutes_and_episodes_follow_the_epochs():
    sim = simulate_day(2, seed=5)
    res = analyze_day(sim.recording, sim.acc)
    e = res.epochs
    for day, grp in e.groupby("day"):
        row = res.summary[res.summary["day"] == str(day)].iloc[0]
        for s in ("stress", "recovery", "activity", "neutral", "unmeasured"):
            assert row[f"{s}_min"] == float((grp["state"] == s).sum())
        meas = (grp["state"] != "unmeasured").sum()
        assert row["pns_dominance_pct"] == pytest.approx(100.0 * (grp["state"] == "recovery").sum() / meas)
    # episodes: one per simulated stressful block (4 a day), durations near the blocks'
    truth_blocks = sim.blocks[sim.blocks["truth"] == "stress"]
    assert len(res.episodes) == len(truth_blocks)
    for _, b in truth_blocks.iterrows():
        near = res.episodes[(res.episodes["onset_s"] - b["onset_s"]).abs() <= 180]
        assert len(near) == 1
        assert abs(float(near["duration_s"].iloc[0]) - b["duration_s"]) <= 240
    assert (res.episodes["mean_additional_hr_bpm"] >= 6).all()


def test_rm_corr_equals_ancova_partial_correlation():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(4), 6)
    x = rng.normal(size=g.size) + g
    y = 0.6 * x + rng.normal(size=g.size) - 2 * g
    out = rm_corr(x, y, g)
    # independent route: residuals of x and y on day dummies (OLS), then Pearson r; p from the
    # OLS t of x in y ~ x + day
    D = (g[:, None] == np.arange(4)[None, :]).astype(float)
    rx = x - D @ np.linalg.lstsq(D, x, rcond=None)[0]
    ry = y - D @ np.linalg.lstsq(D, y, rcond=None)[0]
    r = float(np.corrcoef(rx, ry)[0, 1])
    assert out["r"] == pytest.approx(r, abs=1e-12)
    X = np.column_stack([x, D])
    beta, res_ss, *_ = np.linalg.lstsq(X, y, rcond=None)
    dof = g.size - 4 - 1
    sigma2 = float(res_ss[0]) / dof
    se = math.sqrt(sigma2 * np.linalg.inv(X.T @ X)[0, 0])
    from scipy import stats
    p = 2 * stats.t.sf(abs(beta[0] / se), dof)
    assert out["df"] == dof
    assert out["p"] == pytest.approx(p, rel=1e-9)
    assert out["ci_low"] < out["r"] < out["ci_high"]


def test_rm_corr_is_honest_with_too_few_entries():
    out = rm_corr(np.array([1.0, 2, 3]), np.array([2.0, 1, 3]), np.array([0, 0, 0]))
    assert math.isnan(out["r"]) and "at least 2 days" in out["reason"]
    out = rm_corr(np.array([1.0, 2, 3, 4]), np.array([2.0, 1, 3, 5]), np.array([0, 0, 1, 1]))
    assert math.isnan(out["r"]) and "degrees of freedom" in out["reason"]


def test_diary_linked_across_days():
    sim = simulate_day(3, seed=2)
    res = analyze_day(sim.recording, sim.acc)
    d = res.diary
    assert len(d) == int(np.isfinite(sim.recording.events.df["rating"]).sum())
    # entries after stressful blocks see more stress than calm entries
    after = d["label"].str.contains("after")
    assert d.loc[after, "stress_share"].mean() > d.loc[~after, "stress_share"].mean() + 0.3
    a = res.association["additional_hr_bpm"]
    assert a["groups"] == 3 and a["r"] > 0 and a["ci_low"] > 0
    one = analyze_day(simulate_day(1, seed=2).recording, None)
    assert math.isnan(one.association["additional_hr_bpm"]["r"])
    assert one.association["additional_hr_bpm"]["reason"]


def test_bad_input():
    with pytest.raises(InputError, match="epoch_s"):
        DayConfig(epoch_s=0)
    with pytest.raises(InputError, match="unknown key"):
        DayConfig.from_mapping({"epoch": 60})
    sim = simulate_day(1, seed=1)
    short = sim.recording.replace(beats=sim.recording.beats.iloc[:20], events=Events())
    with pytest.raises(AnalysisError):
        epoch_states(short)


def test_sleep_from_diary_moments(day1):
    from calmtrace.events import Event

    true = day1.blocks[day1.blocks["label"] == "sleep"].iloc[0]
    o, e = float(true["onset_s"]), float(true["onset_s"] + true["duration_s"])
    rec = day1.recording.with_events(Events([Event(o, 0.0, "to bed", "note"),
                                             Event(e - 1.0, 0.0, "woke up", "note")]))
    res = epoch_states(rec, day1.acc)
    assert list(res.sleep["source"]) == ["diary"]
    assert res.sleep["onset_s"].iloc[0] == o and res.sleep["end_s"].iloc[0] == e - 1.0


def test_a_diary_night_beside_a_sleep_event_is_one_night(day1):
    """The same night told by the recording's sleep event and by a diary's to-bed / woke-up pair
    (30 min earlier, 15 min earlier) is one span, the event's, not two overlapping ones."""
    from calmtrace.events import Event

    true = day1.blocks[day1.blocks["label"] == "sleep"].iloc[0]
    o, e = float(true["onset_s"]), float(true["onset_s"] + true["duration_s"])
    events = list(day1.recording.events) + [Event(o - 1800.0, 0.0, "to bed", "note"),
                                            Event(e - 900.0, 0.0, "woke up", "note")]
    res = epoch_states(day1.recording.with_events(Events(events)), day1.acc)
    assert list(res.sleep["source"]) == ["event"]
    assert (res.sleep["onset_s"].iloc[0], res.sleep["end_s"].iloc[0]) == (o, e)


def test_irregular_rhythm_and_gaps_are_unmeasured(day1):
    """An hour of irregular RR (iid intervals, as in atrial fibrillation) is unmeasured, with the reason."""
    rec = day1.recording
    b = rec.beats.copy()
    lo, hi = 3.0 * 3600, 4.0 * 3600
    inside = (b["t_s"] >= lo) & (b["t_s"] < hi)
    rng = np.random.default_rng(3)
    n = int(inside.sum())
    rr = rng.uniform(450.0, 1150.0, n)
    t = lo + np.cumsum(rr) / 1000.0
    keep = t < hi
    new = pd.concat([b[b["t_s"] < lo], pd.DataFrame({"t_s": t[keep], "rr_ms": rr[keep]}), b[b["t_s"] >= hi]],
                    ignore_index=True)
    res = epoch_states(rec.replace(beats=new[["t_s", "rr_ms"]]), day1.acc)
    e = res.epochs
    mid = (e["start_s"] >= lo + 120) & (e["end_s"] <= hi - 120)
    assert (e.loc[mid, "state"] == "unmeasured").mean() >= 0.9
    assert e.loc[mid & (e["state"] == "unmeasured"), "evidence"].str.contains("rhythm").mean() >= 0.9


def test_quietest_span_finds_every_night_of_several_days():
    sim = simulate_day(3, seed=4, sleep_event=False)
    nights = sim.blocks[sim.blocks["label"] == "sleep"]
    for acc in (sim.acc, None):
        res = analyze_day(sim.recording, acc)
        assert len(res.sleep) == len(nights) == 3
        for (_, n), (_, s) in zip(nights.iterrows(), res.sleep.iterrows()):
            # the heart rate falls with a 10-min time constant at sleep onset: within 15 min
            assert abs(s["onset_s"] - n["onset_s"]) <= 900
            assert abs(s["end_s"] - (n["onset_s"] + n["duration_s"])) <= 900


def test_an_already_cleaned_recording_gives_the_same_states(day1, states1):
    """analyze() has cleaned the beats already: handing them over skips a second cleaning (a
    minute for ten million beats) and changes nothing."""
    from calmtrace.signals.clean import clean

    again = epoch_states(day1.recording, day1.acc, cleaned=clean(day1.recording))
    pd.testing.assert_frame_equal(again.epochs, states1.epochs)
    with pytest.raises(InputError, match="cleaned must be"):
        epoch_states(day1.recording, day1.acc, cleaned=day1.recording)


def test_the_acceleration_warning_counts_only_measured_epochs(day1, states1):
    """Epochs of a strap-off gap have neither beats nor movement: they are unmeasured, no activity
    rule applies to them, and the warning about the heart-rate-only rule does not count them."""
    ep = states1.epochs
    no_move = ep["enmo_mg"].isna()
    assert (no_move & (ep["state"] == "unmeasured")).any(), "the simulated day has a gap without movement"
    n = int((no_move & (ep["state"] != "unmeasured")).sum())
    said = [w for w in states1.warnings if "acceleration samples" in w]
    assert said == [] if n == 0 else (len(said) == 1 and f"{n} measured epochs" in said[0])
