"""The live commands end to end through the virtual strap: breathe --assess --simulate, capture --pacer.

The live assessment is compared with the assessment of the very beats the simulated person's strap
beat (the simulator's recording, read without any strap), and its chosen rate with the truth the
simulator holds.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calmtrace
from calmtrace.live.assess import assess_recording, simulate_assessment


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_breathe_assess_live_on_a_simulated_person(tmp_path: Path) -> None:
    seed, truth = 4, 6.0
    offline = assess_recording(simulate_assessment(seed, truth))
    assert offline.rate_bpm == truth, "this person is one the assessment gets right offline"
    out = tmp_path / "rf"
    p = _cli("breathe", "--assess", "--simulate", "--resonance-rate", str(truth), "--seed", str(seed),
             "--speed", "30", "--no-live", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert f"resonance rate: {truth:g}/min" in p.stdout and "true resonance rate 6/min" in p.stdout
    live = pd.read_csv(out / "resonance.csv")
    assert live["rate_bpm"].tolist() == [6.5, 6.0, 5.5, 5.0, 4.5]
    # the capture's beats are the simulated beats (RR to 1/1024 s), so the figures agree closely
    assert np.allclose(live["hr_osc_bpm"], offline.table["hr_osc_bpm"], rtol=0.05)
    assert np.allclose(live["lf_peak_hz"], offline.table["lf_peak_hz"], atol=0.002)
    with open(out / "events.csv", encoding="utf-8") as fh:
        labels = [r["label"] for r in csv.DictReader(fh)]
    assert labels == [f"paced breathing {r:g}/min (in:ex 1:1)" for r in (6.5, 6.0, 5.5, 5.0, 4.5)]
    again = _cli("breathe", "--assess", "--from", str(out), timeout=120)
    assert again.returncode == 0 and f"resonance rate: {truth:g}/min" in again.stdout


def test_breathe_needs_assess_and_one_source(tmp_path: Path) -> None:
    p = _cli("breathe", "--simulate", timeout=120)
    assert p.returncode == 2 and "--assess" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = _cli("breathe", "--assess", timeout=120)
    assert p.returncode == 2 and "--device, --simulate or --from" in p.stderr


@pytest.mark.slow
def test_capture_pacer_logs_its_intervention_with_the_rate(tmp_path: Path) -> None:
    out = tmp_path / "paced"
    p = _cli("capture", "--simulate", "rest", "--speed", "20", "--duration", "120", "--pacer", "5.5,1:1.5",
             "--no-live", "--out", str(out))
    assert p.returncode == 0, p.stderr
    # read as any program would: events.csv also holds the row written when the pacer started
    # (an open event, on disk at once), which the closing row supersedes
    rows = [ev for ev in calmtrace.load(out).events if ev.kind == "intervention"]
    assert len(rows) == 1 and rows[0].label == "paced breathing 5.5/min (in:ex 1:1.5)"
    assert 100 < rows[0].duration_s <= 120.5


def test_bad_pacer_and_serve_options(tmp_path: Path) -> None:
    p = _cli("capture", "--simulate", "tsst", "--pacer", "fast", "--no-live", "--out", str(tmp_path / "a"), timeout=120)
    assert p.returncode == 2 and "--pacer" in p.stderr and not (tmp_path / "a").exists()
    p = _cli("capture", "--simulate", "tsst", "--serve", "0", "--serve-host", "0.0.0.0", "--no-live",
             "--out", str(tmp_path / "b"), timeout=120)
    assert p.returncode == 2 and "--token" in p.stderr and not (tmp_path / "b").exists()
