"""The session report's phase table (report/phases.py), checked against hrv_by_event's rows."""

from __future__ import annotations

import re

import pytest

import calmtrace
from calmtrace.report.html import render_report
from calmtrace.report.phases import PHASE_KINDS, phase_table, phase_table_html
from calmtrace.signals.segment import hrv_by_event


@pytest.fixture(scope="module")
def tsst_result():
    return calmtrace.analyze(calmtrace.simulate("tsst", seed=3))


def test_phase_rows_are_the_phase_events(tsst_result):
    phases = phase_table(tsst_result)
    events = tsst_result.recording.events.df
    expected = events[(events["duration_s"] > 0) & events["kind"].isin(PHASE_KINDS)].sort_values("onset_s")
    assert phases["label"].tolist() == expected["label"].tolist()
    full = hrv_by_event(tsst_result.recording)
    for r in phases.itertuples(index=False):
        ref = full[full["label"] == r.label].iloc[0]
        assert r.mean_hr_bpm == ref["mean_hr_bpm"] and r.rmssd_ms_delta_pct == ref["rmssd_ms_delta_pct"]


def test_report_shows_the_phase_table_with_changes(tsst_result):
    text = render_report(tsst_result)
    assert '<section id="phases">' in text
    table = re.search(r'<table id="phase-table">.*?</table>', text, re.S).group(0)
    phases = phase_table(tsst_result)
    assert table.count("<tr class=") == len(phases)
    stressor = phases[phases["kind"] == "stressor"].iloc[0]
    delta = f"+{stressor['mean_hr_bpm_delta']:.0f} bpm" if stressor["mean_hr_bpm_delta"] >= 0 else \
        f"{stressor['mean_hr_bpm_delta']:.0f} bpm"
    assert delta in table


def test_no_phase_events_gives_a_sentence_not_a_table():
    assert 'id="phase-table"' not in phase_table_html(phase_table(calmtrace.analyze(calmtrace.simulate("tsst", seed=3).with_events(calmtrace.Events()))))
