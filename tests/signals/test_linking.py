"""The event table and the intervention comparison, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from calmtrace.events import Event, Events
from calmtrace.signals.linking import (
    FOLLOW_S,
    event_table,
    format_duration,
    intervention_comparison,
    link_interventions,
    time_to_baseline,
    ttb_text,
)
from calmtrace.signals.recovery import recovery_columns


def recovery_rows(*rows: dict) -> pd.DataFrame:
    """A Recovery table with the real module's columns, filled from ``rows`` (NaN elsewhere)."""
    cols = recovery_columns()
    return pd.DataFrame([{c: r.get(c, np.nan) for c in cols} for r in rows], columns=cols)


def hr_row(label: str, onset: float, offset: float, **kw) -> dict:
    base = {"event_label": label, "onset_s": onset, "offset_s": offset, "recovery_start_s": offset,
            "metric": "mean_hr_bpm", "baseline_mean": 65.0, "baseline_sd": 2.0, "band_low": 63.0,
            "band_high": 67.0, "peak": 85.0, "reactivity": 20.0, "recovered": False, "note": "",
            "horizon_s": 600.0}
    base.update(kw)
    return base


@pytest.mark.parametrize("seconds, text", [(190, "3 min 10 s"), (45, "45 s"), (600, "10 min"),
                                           (3725, "1 h 2 min 5 s"), (0, "0 s"), (math.nan, "n/a")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_time_to_baseline_exact_censored_and_unknown():
    assert ttb_text(hr_row("a", 0, 1, recovered=True, time_to_baseline_s=190.0)) == "3 min 10 s"
    censored = hr_row("a", 0, 1, recovered=False, censored_at_s=600.0)
    assert ttb_text(censored) == "not back within 10 min"
    assert time_to_baseline(censored).censored
    # followed for 0 s (the next stressor began at once): unknown, not "not back within 0 s"
    assert ttb_text(hr_row("a", 0, 1, recovered=False, censored_at_s=0.0)) == "n/a"
    # no baseline band to return to: unknown, whatever the follow-up
    assert ttb_text(hr_row("a", 0, 1, recovered=False, censored_at_s=600.0, band_low=np.nan,
                           band_high=np.nan)) == "n/a"


def test_link_interventions_rules():
    ev = Events([
        Event(0, 300, "rest", "baseline"),
        Event(300, 300, "A", "stressor"),
        Event(600, 300, "breathing", "intervention"),      # right after A: linked, delay 0
        Event(1200, 300, "B", "stressor"),
        Event(1500 + FOLLOW_S + 80, 60, "walk", "intervention"),  # 200 s after B: too late
        Event(2000, 300, "C", "stressor"),
        Event(2295, 60, "music", "intervention"),          # 5 s before C's end: within the slack
        Event(3000, 100, "D", "stressor"),
        Event(3110, 10, "E", "stressor"),
        Event(3130, 60, "tea", "intervention"),            # after E, which began after D: E's
    ])
    links = link_interventions(ev)
    got = {(r.intervention, r.stressor, r.delay_s) for r in links.itertuples()}
    assert got == {("breathing", "A", 0.0), ("music", "C", -5.0), ("tea", "E", 10.0)}


def test_event_table_rows_and_links():
    ev = Events([Event(0, 300, "rest", "baseline"), Event(300, 300, "A", "stressor"),
                 Event(600, 300, "breathing", "intervention"), Event(1200, 300, "B", "stressor"),
                 Event(1400, 0, "phone rang", "note")])
    rc = recovery_rows(hr_row("A", 300, 600, recovered=True, time_to_baseline_s=120.0),
                       hr_row("A", 300, 600, metric="ln_rmssd", recovered=True, time_to_baseline_s=150.0),
                       hr_row("B", 1200, 1500, censored_at_s=600.0),
                       hr_row("B", 1200, 1500, metric="ln_rmssd", censored_at_s=600.0))
    t = event_table(ev, rc)
    # 3 non-stressor events, 2 stressors x 2 metrics
    assert len(t) == 3 + 4
    assert t["event"].tolist() == ["rest", "A", "A", "breathing", "B", "B", "phone rang"]
    a = t[t["event"] == "A"]
    assert a["metric"].tolist() == ["mean_hr_bpm", "ln_rmssd"]
    assert set(a["linked"]) == {"followed by 'breathing'"}
    assert t.loc[t["event"] == "breathing", "linked"].item() == "began right after 'A'"
    assert set(t.loc[t["event"] == "B", "time_to_baseline"]) == {"not back within 10 min"}
    assert t.loc[t["event"] == "rest", "metric"].item() == ""


def test_event_table_stressor_without_rows_says_so():
    ev = Events([Event(300, 300, "A", "stressor")])
    t = event_table(ev, recovery_rows())
    assert len(t) == 1 and "no recovery figures" in t["note"].item()


def _two_stressors(a: dict, b: dict) -> pd.DataFrame:
    ev = Events([Event(300, 300, "A", "stressor"), Event(600, 300, "breathing", "intervention"),
                 Event(1200, 300, "B", "stressor")])
    return event_table(ev, recovery_rows(hr_row("A", 300, 600, **a), hr_row("B", 1200, 1500, **b)))


def test_comparison_exact_difference_and_tau_interval():
    t = _two_stressors(dict(recovered=True, time_to_baseline_s=120.0, t50_s=30.0, tau_s=40.0,
                            tau_ci_low_s=30.0, tau_ci_high_s=50.0),
                       dict(recovered=True, time_to_baseline_s=300.0, t50_s=70.0, tau_s=80.0,
                            tau_ci_low_s=60.0, tau_ci_high_s=100.0))
    c = intervention_comparison(t, ci_level=0.95)
    assert len(c) == 1
    r = c.iloc[0]
    assert (r.intervention, r.with_stressors, r.without_stressors, r.n_with, r.n_without) == \
        ("breathing", "A", "B", 1, 1)
    assert r.ttb_diff_s == pytest.approx(-180.0) and r.ttb_diff_bound == "exact"
    assert r.t50_diff_s == pytest.approx(-40.0)
    assert r.tau_diff_s == pytest.approx(-40.0)
    # half-widths 10 s and 20 s combine in quadrature: sqrt(100 + 400) = 22.36 s
    assert r.tau_diff_ci_low_s == pytest.approx(-40.0 - math.sqrt(500.0), abs=1e-6)
    assert r.tau_diff_ci_high_s == pytest.approx(-40.0 + math.sqrt(500.0), abs=1e-6)
    assert "3 min faster" in r.statement
    assert "n = 1 stressor with, 1 without" in r.statement and "not a trial" in r.statement


def test_comparison_censored_without_gives_a_bound():
    t = _two_stressors(dict(recovered=True, time_to_baseline_s=120.0),
                       dict(recovered=False, censored_at_s=600.0))
    r = intervention_comparison(t).iloc[0]
    assert r.ttb_diff_bound == "upper" and r.ttb_diff_s == pytest.approx(120.0 - 600.0)
    assert "at least 8 min faster" in r.statement
    assert "Tau could not be compared" in r.statement


def test_comparison_both_censored_is_unknown():
    t = _two_stressors(dict(recovered=False, censored_at_s=600.0), dict(recovered=False, censored_at_s=600.0))
    r = intervention_comparison(t).iloc[0]
    assert r.ttb_diff_bound == "unknown" and math.isnan(r.ttb_diff_s)
    assert "neither recovery was complete" in r.statement


def test_no_comparison_without_a_stressor_lacking_an_intervention():
    ev = Events([Event(300, 300, "A", "stressor"), Event(600, 300, "breathing", "intervention")])
    t = event_table(ev, recovery_rows(hr_row("A", 300, 600, recovered=True, time_to_baseline_s=100.0)))
    assert len(intervention_comparison(t)) == 0


@pytest.fixture(scope="module")
def breathing_result():
    """Two stressors; paced breathing right after the first, none after the second."""
    from calmtrace.analysis import analyze
    from calmtrace.signals.simulate import simulate

    return analyze(simulate("breathing", seed=2))


def test_comparison_on_a_real_breathing_session(breathing_result):
    rc = breathing_result.recovery
    t = event_table(breathing_result.recording.events, rc)
    c = intervention_comparison(t)
    hr = c[c["metric"] == "mean_hr_bpm"].iloc[0]
    assert (hr.intervention, hr.with_stressors, hr.without_stressors) == \
        ("paced breathing 6/min", "arithmetic 1", "arithmetic 2")
    tau = rc[rc["metric"] == "mean_hr_bpm"].set_index("event_label")["tau_s"]
    assert hr.tau_diff_s == pytest.approx(tau["arithmetic 1"] - tau["arithmetic 2"])
