"""analyze() and `calmtrace analyze`: the whole offline pipeline on simulated and real sessions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.analysis import AnalysisConfig, analyze, checksum, load_config
from calmtrace.errors import AnalysisError, InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "recordings" / "sample"


@pytest.fixture(scope="module")
def tsst_result():
    rec = calmtrace.load(SAMPLE / "tsst")
    return analyze(rec, source=SAMPLE / "tsst")


def test_result_has_the_design_tables(tsst_result) -> None:
    w = tsst_result.windows
    for col in ["start_s", "end_s", "n_beats", "coverage", "artifact_pct", "mean_rr_ms", "mean_hr_bpm",
                "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "sd1_ms", "sd2_ms", "lf_ms2", "hf_ms2",
                "lf_hf", "hf_nu", "pns_index", "sns_index", "stress_index", "valid"]:
        assert col in w.columns, col
    rc = tsst_result.recovery
    assert set(rc["event_label"]) == {"speech", "arithmetic"}
    assert {"mean_hr_bpm", "ln_rmssd", "pns_index"} <= set(rc["metric"])
    assert tsst_result.provenance["input_checksum"] == checksum(SAMPLE / "tsst")


def test_window_grid_follows_the_config() -> None:
    rec = calmtrace.simulate("tsst", seed=4)
    cfg = AnalysisConfig.from_dict({"windows": {"window_s": 120, "step_s": 10}})
    res = analyze(rec, cfg)
    w = res.windows
    assert np.allclose(w["end_s"] - w["start_s"], 120.0)
    assert np.allclose(np.diff(w["start_s"]), 10.0)
    assert res.to_json()["config"]["windows"]["window_s"] == 120.0


def test_config_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[windows]\nwindow = 60\n")
    with pytest.raises(InputError, match=r"\[windows\]: unknown key .window."):
        load_config(bad)
    bad.write_text("[hrvv]\nwindow_s = 60\n")
    with pytest.raises(InputError, match=r"unknown section \[hrvv\]"):
        load_config(bad)
    bad.write_text("[windows]\nwindow_s = 'long'\n")
    with pytest.raises(InputError, match="must be a number"):
        load_config(bad)
    bad.write_text("[hrv\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(bad)


def test_too_few_beats_is_a_clear_error() -> None:
    rec = calmtrace.Recording(start=calmtrace.simulate("tsst").start,
                              beats=pd.DataFrame({"t_s": [1.0, 2.0], "rr_ms": [1000.0, 1000.0]}))
    with pytest.raises(AnalysisError, match="2 beats"):
        analyze(rec)


def test_cli_analyze_writes_the_three_files(tmp_path: Path) -> None:
    out = tmp_path / "res"
    cfg = tmp_path / "c.toml"
    cfg.write_text("[windows]\nstep_s = 10.0\n")
    p = subprocess.run([sys.executable, "-m", "calmtrace", "analyze", str(SAMPLE / "breathing"),
                        "--out", str(out), "--config", str(cfg)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    w = pd.read_csv(out / "windows.csv")
    rc = pd.read_csv(out / "recovery.csv")
    meta = json.loads((out / "analysis.json").read_text())
    assert np.allclose(np.diff(w["start_s"]), 10.0)
    assert len(rc) > 0
    assert meta["config"]["windows"]["step_s"] == 10.0
    assert meta["provenance"]["input_checksum"].startswith("sha256:")
    assert meta["software"].startswith("calmtrace ")
    # the phase table: one row per event with a duration (and per span between events), each
    # event's beat count read back from the beats themselves
    ph = pd.read_csv(out / "phases.csv")
    rec = calmtrace.load(SAMPLE / "breathing")
    for ev in rec.events:
        if ev.duration_s > 0:
            row = ph[(ph["label"] == ev.label) & np.isclose(ph["start_s"], ev.onset_s)]
            assert len(row) == 1, ev
            inside = ((rec.t_s > ev.onset_s) & (rec.t_s <= ev.offset_s)) | ((rec.t_s >= ev.onset_s) & (rec.t_s < ev.offset_s))
            assert abs(int(row["n_beats"].iloc[0]) - int(inside.sum())) <= 1
    # a second run refuses to overwrite, with one line and exit 2
    again = subprocess.run([sys.executable, "-m", "calmtrace", "analyze", str(SAMPLE / "breathing"),
                            "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already holds" in again.stderr and "Traceback" not in again.stderr


def _rec_from_rr(rr_ms, gaps=None, events=None):
    import calmtrace as ct

    rr = np.asarray(rr_ms, float)
    kw = {}
    if gaps is not None:
        kw["gaps"] = gaps
    if events is not None:
        kw["events"] = events
    return ct.Recording(start=calmtrace.simulate("tsst").start,
                        beats=pd.DataFrame({"t_s": np.cumsum(rr) / 1000, "rr_ms": rr}), **kw)


def test_short_input_gives_an_explicit_empty_result() -> None:
    res = analyze(_rec_from_rr([800.0] * 40))                   # 32 s: shorter than one window
    assert len(res.windows) == 0 and list(res.windows.columns)[:2] == ["start_s", "end_s"]
    item = res.summary.set_index("item").loc["too_short"]
    assert "shorter than one 60 s" in item["note"]


def test_gappy_input_marks_windows_and_never_bridges_the_gap() -> None:
    rng = np.random.default_rng(3)
    rr = 800 + 30 * rng.standard_normal(900)
    t = np.cumsum(rr) / 1000
    keep = (t < 200) | (t > 320)                                 # two minutes without beats
    rec = calmtrace.Recording(start=calmtrace.simulate("tsst").start,
                              beats=pd.DataFrame({"t_s": t[keep], "rr_ms": rr[keep]}),
                              gaps=pd.DataFrame({"onset_s": [200.0], "duration_s": [120.0], "reason": ["disconnect"]}))
    w = analyze(rec).windows
    inside = w[(w.start_s >= 200) & (w.end_s <= 320)]
    assert len(inside) > 0 and not inside["valid"].any()
    assert (inside["n_beats"] == 0).all() and inside["rmssd_ms"].isna().all()
    straddling = w[(w.start_s < 200) & (w.end_s > 200)]
    assert (straddling["coverage"] < 1).all()


def test_all_artefact_input_gives_invalid_windows_not_numbers() -> None:
    rng = np.random.default_rng(5)
    rr = rng.choice([350.0, 1700.0, 600.0, 2600.0], size=600)     # nothing physiological
    res = analyze(_rec_from_rr(rr))
    assert not res.windows["valid"].any()
    assert res.summary.set_index("item").loc["valid_windows", "value"] == 0.0


def test_event_less_input_gives_an_empty_recovery_table_with_its_columns() -> None:
    rng = np.random.default_rng(7)
    res = analyze(_rec_from_rr(850 + 40 * rng.standard_normal(800)))
    assert len(res.recovery) == 0
    assert {"event_label", "metric", "time_to_baseline_s", "tau_s", "recovered"} <= set(res.recovery.columns)


def test_out_of_range_values_are_errors_at_the_door() -> None:
    from calmtrace.errors import RecordingError

    with pytest.raises(RecordingError, match="positive"):
        _rec_from_rr([800.0, -5.0, 800.0])
    with pytest.raises(RecordingError, match="finite"):
        _rec_from_rr([800.0, float("inf"), 800.0])


def test_analyze_takes_a_path(tmp_path):
    import calmtrace
    from calmtrace.signals.simulate import simulate
    from calmtrace.store import save

    folder = tmp_path / "rec"
    save(simulate("rest", seed=3, duration_s=600.0), folder)
    res = calmtrace.analyze(str(folder))
    again = calmtrace.analyze(calmtrace.load(folder))
    assert res.provenance["source"] == str(folder) and res.provenance["input_checksum"].startswith("sha256:")
    assert res.windows.drop(columns=["rhythm"]).equals(again.windows.drop(columns=["rhythm"]))
    with pytest.raises(calmtrace.CalmtraceError, match="expected a Recording or a path"):
        calmtrace.analyze(42)


# -- [segment]: span HRV's settings from the config file ------------------------------------------------
def test_segment_section_sets_span_hrv_and_is_written_with_the_results(tmp_path: Path) -> None:
    toml = tmp_path / "span.toml"
    toml.write_text('[segment]\npsd_method = "lomb"\nsampen_min_beats = 5000\nvlf_band_hz = [0.005, 0.04]\n'
                    '[hrv]\ndfa_min_window_s = 100\n[rhythm]\nmin_duration_s = 45\n')
    cfg = load_config(toml)
    assert cfg.segment.psd_method == "lomb" and cfg.segment.sampen_min_beats == 5000
    assert cfg.segment.vlf_band_hz == (0.005, 0.04)
    # the beat rules and the rhythm check of span HRV are the [hrv] and [rhythm] sections'
    assert cfg.segment.hrv == cfg.hrv and cfg.segment.hrv.dfa_min_window_s == 100.0
    assert cfg.segment.rhythm == cfg.rhythm and cfg.rhythm.min_duration_s == 45.0
    res = analyze(calmtrace.simulate("tsst", seed=4), cfg)
    assert set(res.phases["psd_method"]) == {"lomb"}
    assert res.phases["sampen"].isna().all()
    assert all("[segment] sampen_min_beats" in n for n in res.phases["notes"])
    res.write(tmp_path / "out")
    written = json.loads((tmp_path / "out" / "analysis.json").read_text())["config"]["segment"]
    assert written["psd_method"] == "lomb" and written["sampen_min_beats"] == 5000
    assert written["vlf_band_hz"] == [0.005, 0.04]
    assert "hrv" not in written and "rhythm" not in written     # written once, in their own sections
    # and read back into the same config
    assert AnalysisConfig.from_dict(res.to_json()["config"]) == cfg


def test_segment_section_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    for text, message in [
        ("[segment]\nsampen_m = 3\n", r"\[segment\]: unknown key 'sampen_m'; allowed: psd_method, vlf_band_hz"),
        ('[segment]\npsd_method = "burg"\n', r"\[segment\]: .*psd_method must be one of welch, lomb, got 'burg'"),
        ("[segment]\nsampen_min_beats = 0\n", r"\[segment\]: .*sampen_min_beats must be a positive integer"),
        ("[segment]\nsampen_min_beats = 'many'\n", r"\[segment\] sampen_min_beats must be a number"),
        ("[segment]\nvlf_band_hz = [0.04, 0.01]\n", r"\[segment\]: .*vlf_band_hz must satisfy 0 <= low < high"),
        ("[segment]\n[segment.hrv]\nmin_beats = 5\n", r"\[segment\]: unknown key 'hrv'; the hrv settings .* \[hrv\]"),
        ("segment = 3\n", r"\[segment\] must be a table"),
    ]:
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            load_config(bad)


def test_segment_config_given_in_python_shares_the_analysis_beat_rules() -> None:
    from calmtrace.signals.config import HRVConfig, SegmentConfig

    cfg = AnalysisConfig(hrv=HRVConfig(min_beats=12), segment=SegmentConfig(psd_method="lomb"))
    assert cfg.segment.hrv.min_beats == 12 and cfg.segment.psd_method == "lomb"
    with pytest.raises(InputError, match="segment.hrv differs from AnalysisConfig.hrv"):
        AnalysisConfig(hrv=HRVConfig(min_beats=12), segment=SegmentConfig(hrv=HRVConfig(min_beats=20)))
