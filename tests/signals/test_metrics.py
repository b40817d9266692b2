"""The metrics registry: one entry per metric, read by recovery, the report, the trend and the cohort."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from calmtrace.analysis import AnalysisConfig, WindowConfig, analyze
from calmtrace.signals import metrics
from calmtrace.signals.config import DEFAULT_DIRECTIONS, RecoveryConfig
from calmtrace.signals.hrv import WINDOW_COLUMNS
from calmtrace.signals.simulate import simulate


def test_every_window_metric_is_registered_with_a_source():
    for col in WINDOW_COLUMNS:
        if col in ("start_s", "end_s", "n_beats", "coverage", "artifact_pct", "valid"):
            continue
        m = metrics.METRICS[col]
        assert m.source and m.label and m.direction in (-1, 0, 1)


def test_stress_index_is_labelled_as_the_square_root_of_baevskys_si():
    m = metrics.METRICS["stress_index"]
    # SI = AMo[%] / (2 Mo[s] MxDMn[s]) has the unit 1/s²; its square root 1/s
    assert m.unit == "1/s" and "√" in m.label
    assert "square root" in m.source


def test_recovery_directions_come_from_the_registry():
    assert dict(DEFAULT_DIRECTIONS) == {k: m.direction for k, m in metrics.METRICS.items() if m.direction}
    assert RecoveryConfig().direction("mean_hr_bpm") == +1 and RecoveryConfig().direction("ln_rmssd") == -1
    assert RecoveryConfig().direction("dfa_alpha1") is None     # no agreed stress direction


def test_adding_a_metric_is_one_registry_entry(monkeypatch):
    """dfa_alpha1 is computed by windowed HRV; one registry entry with a direction makes it flow
    into recovery, the session report's event table and the cohort rows, with its label and unit."""
    entry = dataclasses.replace(metrics.METRICS["dfa_alpha1"], direction=+1)
    monkeypatch.setitem(metrics.METRICS, "dfa_alpha1", entry)
    cfg = AnalysisConfig(windows=WindowConfig(window_s=120.0, step_s=10.0),
                         recovery=RecoveryConfig(metrics=("mean_hr_bpm", "dfa_alpha1")))
    res = analyze(simulate("tsst", seed=3), cfg)
    rc = res.recovery[res.recovery["metric"] == "dfa_alpha1"]
    assert len(rc) == 2 and (rc["direction"] == 1.0).all()
    assert np.isfinite(rc["baseline_mean"]).all()
    tab = res.events_table[res.events_table["metric"] == "dfa_alpha1"]
    assert set(tab["metric_name"]) == {"DFA α1"} and set(tab["unit"]) == {""}
    from calmtrace.report.html import render_report

    page = render_report(res)
    assert "DFA α1" in page
    shown = metrics.format_value("dfa_alpha1", float(rc["baseline_mean"].iloc[0]), with_unit=False)
    assert len(shown.split(".")[1]) == entry.digits and shown in page


def test_format_value_uses_the_registry_digits_and_unit():
    assert metrics.format_value("mean_hr_bpm", 71.46) == "71 bpm"
    assert metrics.format_value("ln_rmssd", 3.14159) == "3.14 ln(ms)"
    assert metrics.format_value("ln_rmssd", math.nan) == "n/a"
    assert metrics.axis_title("lf_hf") == "LF/HF"
    with pytest.raises(ValueError):
        metrics.Metric("x", "x", "", 2, 0, "")


def test_a_registered_metric_reaches_the_cohort_table(monkeypatch, tmp_path):
    from calmtrace.batch import analyze_one
    from calmtrace.store import save

    entry = dataclasses.replace(metrics.METRICS["dfa_alpha1"], direction=+1)
    monkeypatch.setitem(metrics.METRICS, "dfa_alpha1", entry)
    save(simulate("tsst", seed=3), tmp_path / "s")
    cfg = AnalysisConfig(windows=WindowConfig(window_s=120.0, step_s=10.0),
                         recovery=RecoveryConfig(metrics=("mean_hr_bpm", "dfa_alpha1")))
    rows, reason = analyze_one(tmp_path / "s", cfg.to_dict())
    assert reason is None
    dfa = rows[rows["metric"] == "dfa_alpha1"]
    assert len(dfa) == 2 and set(dfa["metric_label"]) == {"DFA α1"} and (dfa["direction"] == 1.0).all()
    assert set(rows.loc[rows["metric"] == "mean_hr_bpm", "metric_unit"]) == {"bpm"}


def test_minimum_spans_are_read_from_the_config_and_hold_in_the_windows():
    from calmtrace.signals.config import HRVConfig
    from calmtrace.signals.hrv import windowed_hrv

    assert metrics.min_span_s("lf_hf") == HRVConfig().lf_min_window_s
    assert metrics.min_span_s("dfa_alpha1", HRVConfig(dfa_min_window_s=90.0)) == 90.0
    assert metrics.min_span_s("rmssd_ms") == HRVConfig().min_window_s
    win = windowed_hrv(simulate("rest", seed=1, duration_s=600.0), window_s=60.0, step_s=30.0)
    for name in metrics.METRICS:
        if name in win and metrics.min_span_s(name) > 60.0:
            assert win[name].isna().all(), name
        elif name in win:
            assert win[name].notna().any(), name
