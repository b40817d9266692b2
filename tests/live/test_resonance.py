"""Resonance-frequency assessment on simulated people whose resonance rate is known.

The simulated person's RSA gain follows a resonance curve of the breathing rate that peaks at a
rate drawn per seed (``meta["truth"]["resonance_rate_bpm"]``, set inside the simulator); the
assessment sees only the beats and the pacer's events.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from calmtrace.errors import InputError
from calmtrace.live.assess import assess_recording, assessment_blocks, blocks_from_events, simulate_assessment
from calmtrace.live.pacer import Pacer, parse_pacer, rate_from_label
from calmtrace.signals.resonance import AssessmentBlock, assess_resonance, breath_oscillation, lf_peak


def test_the_chosen_rate_is_the_true_one_in_at_least_90_percent_of_20_seeds() -> None:
    hits, truths = 0, set()
    for seed in range(20):
        rec = simulate_assessment(seed)
        truth = rec.meta["truth"]["resonance_rate_bpm"]
        truths.add(truth)
        res = assess_recording(rec)
        hits += res.rate_bpm == truth
        assert res.reason.startswith(f"{res.rate_bpm:g}/min")
    assert len(truths) >= 3, "the seeds cover several true rates, so no fixed answer can pass"
    assert hits >= 18, f"{hits}/20"


def test_blocks_come_back_from_the_events() -> None:
    rec = simulate_assessment(1, resonance_bpm=5.5)
    assert blocks_from_events(rec) == assessment_blocks()
    table = assess_recording(rec).table
    assert table["rate_bpm"].tolist() == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert table["peak_at_rate"].all() and (table["n_breaths"] >= 8).all()


def test_per_breath_oscillation_and_lf_peak_of_a_pure_sine() -> None:
    # HR = 60 + 5 sin(2 pi f t) at f = 0.1 Hz: max - min per breath is 10 bpm, the LF peak at 0.1 Hz
    f = 0.1
    t, beats = 0.0, []
    while t < 130:
        hr = 60 + 5 * math.sin(2 * math.pi * f * t)
        t += 60.0 / hr
        beats.append((t, 60000.0 / (60 + 5 * math.sin(2 * math.pi * f * t))))
    tb, rr = np.array(beats).T
    osc = breath_oscillation(tb, rr, np.arange(10, 121, 10.0))
    # beats sample HR about once a second, so an extreme is missed by up to half a beat:
    # 5 * (1 - cos(pi * f * 1 s)) = 0.24 bpm at each of peak and trough
    assert np.all((osc <= 10.0 + 1e-9) & (osc >= 10.0 - 0.5)), osc
    f_pk, p_pk, p_lf = lf_peak(tb, rr, 10, 120)
    assert abs(f_pk - f) < 0.005 and p_pk > 0 and p_lf > 0


def test_a_block_without_beats_is_nan_with_a_note() -> None:
    rec = simulate_assessment(2)
    t, rr = rec.t_s, rec.rr_ms
    keep = (t < 200) | (t > 300)            # the 6.0/min block (180-300 s) mostly lost
    res = assess_resonance(t[keep], rr[keep], assessment_blocks())
    row = res.table.set_index("rate_bpm").loc[6.0]
    assert math.isnan(row["hr_osc_bpm"]) and "whole breaths" in row["note"]
    assert res.rate_bpm != 6.0 and math.isfinite(res.rate_bpm)


def test_no_blocks_is_an_error() -> None:
    with pytest.raises(InputError, match="no paced blocks"):
        assess_resonance([1.0, 2.0], [1000.0, 1000.0], [])


def test_pacer_phases_and_parsing() -> None:
    p = parse_pacer("6,1:1.5", t0_s=10.0)
    assert (p.rate_bpm, p.inhale, p.exhale) == (6.0, 1.0, 1.5)
    assert p.period_s == 10.0 and p.inhale_s == 4.0
    s = p.at(12.0)
    assert s.phase == "inhale" and s.fraction == 0.5 and s.remaining_s == 2.0 and s.breath == 0
    s = p.at(27.0)
    assert s.phase == "exhale" and s.breath == 1 and abs(s.remaining_s - 3.0) < 1e-9
    assert rate_from_label(p.label) == 6.0 and p.label == "paced breathing 6/min (in:ex 1:1.5)"
    for bad in ("fast", "6,1", "0.5", "40"):
        with pytest.raises(InputError, match="pacer"):
            parse_pacer(bad)
    assert Pacer(5.5).at(0.0).phase == "inhale"
    assert AssessmentBlock(6.0, 0.0, 120.0).breath_onsets_s.size == 13
