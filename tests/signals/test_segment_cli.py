"""``calmtrace hrv``: the command line face of span HRV, run as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_data


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", "hrv", *args], capture_output=True, text=True,
                          timeout=300)


def _rr_file(tmp_path: Path, n: int = 900) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(2)
    rr = np.round(820 + 40 * np.sin(np.arange(n) * 0.3) + rng.normal(0, 15, n))
    path = tmp_path / "rr.txt"
    path.write_text("\n".join(str(int(v)) for v in rr) + "\n")
    return path, rr


def test_whole_recording_to_csv_uses_every_beat(tmp_path):
    path, rr = _rr_file(tmp_path)
    out = tmp_path / "one.csv"
    p = _run(str(path), "--raw", "--out", str(out))
    assert p.returncode == 0, p.stderr
    row = pd.read_csv(out).iloc[0]
    assert row["n_beats"] == rr.size
    assert row["sdnn_ms"] == pytest.approx(np.std(rr, ddof=1), rel=1e-9)
    assert row["rmssd_ms"] == pytest.approx(np.sqrt(np.mean(np.diff(rr) ** 2)), rel=1e-9)


def test_span_in_seconds_and_parquet(tmp_path):
    path, rr = _rr_file(tmp_path)
    out = tmp_path / "span.parquet"
    p = _run(str(path), "--raw", "--start", "60", "--end", "360", "--out", str(out))
    assert p.returncode == 0, p.stderr
    row = pd.read_parquet(out).iloc[0]
    t = np.cumsum(rr) / 1000.0
    sel = (t >= 60) & (t < 360)
    assert row["n_beats"] == sel.sum()
    assert row["mean_rr_ms"] == pytest.approx(rr[sel].mean(), rel=1e-12)


def test_printed_span_lists_the_reasons_for_nan(tmp_path):
    path, _ = _rr_file(tmp_path)
    p = _run(str(path), "--raw", "--start", "0", "--end", "90")
    assert p.returncode == 0, p.stderr
    assert "NaN: lf_ms2, lf_peak_hz: span 90 s < 120 s" in p.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    path, _ = _rr_file(tmp_path)
    # input errors exit 2; an analysis that the data cannot support (no phases) exits 1
    for args, text, status in [
            ((str(path), "--out", str(tmp_path / "x.txt")), "--out must end in .csv or .parquet", 2),
            ((str(path), "--start", "300", "--end", "100"), "end_s must be after start_s", 2),
            ((str(path), "--by-event", "--start", "1"), "leave out --start and --end", 2),
            ((str(path), "--by-event"), "no event with a duration", 1)]:
        p = _run(*args)
        assert p.returncode == status, (args, p.stderr)
        assert p.stderr.count("\n") == 1 and text in p.stderr, p.stderr
        assert "Traceback" not in p.stderr
    existing = tmp_path / "keep.csv"
    existing.write_text("precious\n")
    p = _run(str(path), "--out", str(existing))
    assert p.returncode == 2 and existing.read_text() == "precious\n"


@pytest.mark.realdata
def test_p37_by_event_table(tmp_path):
    vu = shared_data("wearable-hrv-p37", "test_vu.txt")
    events = shared_data("wearable-hrv-p37", "test_events.csv")
    out = tmp_path / "phases.csv"
    p = _run(str(vu), "--events", str(events), "--by-event", "--out", str(out))
    assert p.returncode == 0, p.stderr
    tab = pd.read_csv(out)
    n_events = sum(1 for ln in events.read_text().splitlines() if ln.endswith(",start"))
    assert (tab["kind"] != "inter-event").sum() == n_events
    assert {"mean_hr_bpm_delta", "rmssd_ms_delta_pct", "notes"} <= set(tab.columns)


def test_hrv_of_an_irregular_rhythm_says_it_is_not_sinus(tmp_path):
    # the kind of ../shared/cases/atrial-fibrillation: RR independent from beat to beat, CV 0.14
    rng = np.random.default_rng(12)
    rr = rng.normal(700.0, 0.14 * 700.0, 420).clip(350, 1400)
    path = tmp_path / "irregular.txt"
    path.write_text("\n".join(f"{v:.0f}" for v in rr) + "\n", encoding="utf-8")
    for extra in ([], ["--raw"]):
        p = subprocess.run([sys.executable, "-m", "calmtrace", "hrv", str(path), *extra],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert "not sinus rhythm" in p.stderr, (extra, p.stderr)
        # and the table itself says so: the rhythm, no vagal-looking numbers, the reason
        out = tmp_path / f"row{len(extra)}.csv"
        p = _run(str(path), *extra, "--out", str(out))
        assert p.returncode == 0, p.stderr
        row = pd.read_csv(out).iloc[0]
        assert row["rhythm"] == "irregular"
        assert np.isnan(row["rmssd_ms"]) and np.isnan(row["pns_index"]) and np.isfinite(row["mean_hr_bpm"])
        assert "not sinus rhythm" in row["notes"]


def test_segment_settings_come_from_the_config_file(tmp_path):
    path, rr = _rr_file(tmp_path)
    toml = tmp_path / "span.toml"
    toml.write_text('[segment]\npsd_method = "lomb"\nsampen_min_beats = 5000\n')
    out = tmp_path / "one.csv"
    p = _run(str(path), "--raw", "--config", str(toml), "--out", str(out))
    assert p.returncode == 0, p.stderr
    row = pd.read_csv(out).iloc[0]
    assert row["psd_method"] == "lomb"
    assert np.isnan(row["sampen"]) and "900 usable beats < 5000 ([segment] sampen_min_beats)" in row["notes"]
    # --psd still overrides the file
    p = _run(str(path), "--raw", "--config", str(toml), "--psd", "welch", "--out", str(out), "--force")
    assert p.returncode == 0, p.stderr
    assert pd.read_csv(out).iloc[0]["psd_method"] == "welch"
    toml.write_text("[segment]\nsampen_minimum = 5\n")
    p = _run(str(path), "--config", str(toml))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [f"calmtrace: error: {toml}: [segment]: unknown key 'sampen_minimum'; "
                                             "allowed: psd_method, vlf_band_hz, vlf_min_span_s, lomb_oversampling, "
                                             "sampen_dimension, sampen_tolerance_sd, sampen_min_beats, "
                                             "dfa_alpha2_beats, dfa_min_beats_per_box"]


def test_hrv_of_a_sinus_recording_raises_no_rhythm_warning():
    p = subprocess.run([sys.executable, "-m", "calmtrace", "hrv", str(Path(__file__).parents[2] / "recordings" / "sample" / "tsst")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "not sinus" not in p.stderr
