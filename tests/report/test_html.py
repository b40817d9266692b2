"""The session report's HTML: self-contained, summary in words, and honest about what is missing."""

from __future__ import annotations

import html
import re

import numpy as np
import plotly.offline
import pytest

from calmtrace.analysis import analyze
from calmtrace.events import Event, Events
from calmtrace.report import render_report, write_report
from calmtrace.signals.simulate import simulate

from .conftest import MESSY_GAPS


def text_of(page: str) -> str:
    """The visible text of a report (tags stripped, entities decoded, spaces collapsed)."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, flags=re.S)
    assert m, f"no section {sid}"
    return text_of(m.group(1))


@pytest.fixture(scope="module")
def breathing_page(breathing_result) -> str:
    return render_report(breathing_result)


def test_written_file_is_self_contained(breathing_result, tmp_path):
    p = write_report(breathing_result, tmp_path / "out" / "report.html")
    page = p.read_text(encoding="utf-8")
    bundle_head = plotly.offline.get_plotlyjs()[:300]
    assert page.count(bundle_head) == 1                      # plotly.js inline, exactly once
    assert not re.search(r"<script[^>]+src=", page)          # no external scripts
    assert not re.search(r"<link[^>]+href=", page)           # no external style sheets
    # one plot per stressor, plus overview, tachogram and Poincare
    n_stressors = sum(1 for e in breathing_result.recording.events if e.kind == "stressor")
    figures_code = page.replace(plotly.offline.get_plotlyjs(), "")   # some bundles name newPlot themselves
    assert figures_code.count("Plotly.newPlot(") == 3 + n_stressors
    assert not list(tmp_path.joinpath("out").glob(".*.tmp"))


def test_print_css_keeps_figures_whole(breathing_page):
    css = re.search(r"@media print \{(.*?)\n\}", breathing_page, flags=re.S).group(1)
    assert re.search(r"figure\.fig[^{]*\{[^}]*break-inside: avoid", css)


def test_summary_comes_first_and_states_the_stressors(breathing_result, breathing_page):
    order = [breathing_page.index(f'<section id="{s}">') for s in
             ("summary", "figures", "events", "interventions", "quality", "methods", "provenance")]
    assert order == sorted(order)
    summary = section(breathing_page, "summary")
    rc = breathing_result.recovery
    for r in rc[rc["metric"] == "mean_hr_bpm"].itertuples():
        rise = round(r.peak - r.baseline_mean)              # independent of the report's own numbers
        assert f"Heart rate rose by {rise} bpm during '{r.event_label}'" in summary
        if r.recovered:
            m, s = divmod(int(round(r.time_to_baseline_s)), 60)
            assert f"returned to baseline {m} min {s} s after it ended" in summary.replace(" 0 s", "")
        elif r.censored_at_s > 0:
            m = int(round(r.censored_at_s)) // 60
            assert f"was not back to baseline within {m} min" in summary
    assert "'arithmetic 1' was followed by 'paced breathing 6/min'" in summary
    assert "Intervention 'paced breathing 6/min':" in summary and "not a trial" in summary


def test_simulated_sessions_are_marked(breathing_page, breathing_result):
    assert "<title>SIMULATED - " in breathing_page
    assert breathing_page.count('id="simulated-banner"') == 2          # top and bottom of the page
    real = breathing_result.recording.replace(meta={**breathing_result.recording.meta, "simulated": False})
    page = render_report(analyze(real))
    assert "simulated-banner" not in page and "<title>SIMULATED" not in page


def test_no_events_says_why_there_is_no_recovery(no_events_result):
    page = render_report(no_events_result)
    summary = section(page, "summary")
    assert "No events were logged, so no recovery could be measured" in summary
    assert 'id="fig-recovery-' not in page and "No events were logged." in section(page, "events")


def test_stressor_without_recovery_span_says_what_is_missing(stressor_only_result):
    res = stressor_only_result
    page = render_report(res)
    limits = text_of(re.search(r'<div class="limits" id="limits">(.*?)</div>', page, flags=re.S).group(1))
    # the recording ends with the stressor: there is nothing after it to follow
    assert res.recording.duration_s <= 600.0
    hr = re.search(r"Heart rate after 'speech': no ([^.]*)\.", limits)
    assert hr, limits
    assert "time to baseline" in hr.group(1) and "time constant (tau)" in hr.group(1) and "HRR60" in hr.group(1)
    assert "because: no valid windows after the stressor (the recording ends)" in hr.group(1)
    assert "lnRMSSD after 'speech': no time to baseline" in limits
    # what could be measured still is: the rise during the stressor
    rise = res.recovery.loc[res.recovery["metric"] == "mean_hr_bpm", "reactivity"].item()
    assert f"Heart rate rose by {round(rise)} bpm during 'speech'" in section(page, "summary")


def test_gaps_and_heavy_artefacts_are_reported(messy_result):
    res = messy_result
    page = render_report(res)
    summary = section(page, "summary")
    flagged_pct = 100.0 * float(np.mean(res.recording.flags != "ok"))
    assert flagged_pct > 5.0
    assert f"{flagged_pct:.1f}% of beats were flagged as artefacts" in summary
    assert f"The recording has {MESSY_GAPS} gaps without beats" in summary
    w = res.windows
    invalid = 100.0 * float((~w["valid"]).mean())
    if invalid > 20:
        assert f"{invalid:.0f}% of the analysis windows failed the quality checks" in summary
    quality = section(page, "quality")
    assert f"{int((~w['valid']).sum())} of {len(w)}" in quality


def test_methods_and_provenance(breathing_result, breathing_page):
    prov = section(breathing_page, "provenance")
    assert breathing_result.provenance["software_version"] in prov
    methods = section(breathing_page, "methods")
    cfg = breathing_result.config
    assert f"horizon_s = {cfg.recovery.horizon_s}" in methods and "Lipponen & Tarvainen (2019)" in methods
    assert f"sliding windows of {cfg.windows.window_s:g} s every {cfg.windows.step_s:g} s" in methods


def test_source_checksum_in_provenance(weekly_results):
    page = render_report(weekly_results[0])
    assert weekly_results[0].provenance["input_checksum"].startswith("sha256:")
    assert weekly_results[0].provenance["input_checksum"] in section(page, "provenance")


def test_stressor_without_baseline_says_so():
    # the only event is a stressor at the very start: there is no time before it for a baseline
    rec = simulate("tsst", seed=7)
    res = analyze(rec.with_events(Events([Event(0.0, 300.0, "speech", "stressor")])))
    page = render_report(res)
    limits = text_of(re.search(r'<div class="limits" id="limits">(.*?)</div>', page, flags=re.S).group(1))
    assert "Heart rate around 'speech': no baseline, so no reactivity and no recovery figures, because:" in limits


def test_methods_read_the_config_values_never_defaults(breathing_result):
    """The report states the values that shaped the result (k_sd once fell back to 1.0 here)."""
    import dataclasses

    from calmtrace.analysis import analyze
    from calmtrace.signals.config import LinkConfig, RecoveryConfig

    cfg = dataclasses.replace(breathing_result.config, recovery=RecoveryConfig(k_sd=3.0),
                              links=LinkConfig(follow_s=90.0))
    res = analyze(breathing_result.recording, cfg)
    page = render_report(res)
    assert "&plusmn;3 baseline SD" in page and "&plusmn;2 baseline SD" not in page
    assert "1 min 30 s" in page
    from pathlib import Path

    src = (Path(__file__).resolve().parents[2] / "src" / "calmtrace" / "report" / "html.py").read_text()
    # no config read with a fallback value of its own
    assert re.findall(r"_cfg\([^()]*,[^()]*,[^()]*,", src) == []


def test_analysis_json_writes_every_stage_config(breathing_result, tmp_path):
    import json

    breathing_result.write(tmp_path)
    cfg = json.loads((tmp_path / "analysis.json").read_text())["config"]
    assert cfg["quality"] == {"max_artifact_pct": 5.0, "max_invalid_windows_pct": 20.0}
    assert cfg["links"] == {"follow_s": 120.0, "tolerance_s": 10.0}
    assert cfg["trend"] == {"swc_window": 7, "swc_min_sessions": 3, "swc_factor": 0.5,
                            "balance_min_waking_min": 60.0, "night_min_measured_pct": 50.0}
