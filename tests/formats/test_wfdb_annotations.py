"""WFDB records without their signal: beats from the beat annotations (``.atr``).

The real files are three MIT-BIH Long-Term ECG records shared as header + annotations only
(../shared/data/ltdb-dev). Expected beats come from ``wfdb.rdann`` and the PhysioNet beat codes
here, expected label counts from the data set's PROVENANCE.txt; small records are written here with
``wfdb.wrsamp`` / ``wfdb.wrann`` at known sample numbers.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, time, timezone
from pathlib import Path

import numpy as np
import pytest

from calmtrace import formats
from calmtrace.errors import FormatError
from calmtrace.store import load_folder
from tests.conftest import shared_data
from tests.formats.test_import_cli import one_line_error, run

wfdb = pytest.importorskip("wfdb")

#: PhysioNet beat annotation codes (MIT-BIH Arrhythmia Database Directory, table 1)
BEAT_CODES = list("NLRBAaJSVrFejnE/fQ?")


def _rdann(base: Path, ext: str = "atr"):
    with warnings.catch_warnings():  # wfdb's own pandas deprecations, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return wfdb.rdann(str(base), ext)


@pytest.mark.realdata
@pytest.mark.parametrize("name,n_v", [("14046", 9767), ("14134", 9836), ("14172", 6530)])
def test_long_term_records_import_from_their_annotations(name: str, n_v: int) -> None:
    hea = shared_data("ltdb-dev", f"{name}.hea")
    assert not hea.with_suffix(".dat").exists()  # the point of this test: no signal file
    ann = _rdann(hea.with_suffix(""))
    sym = np.array(ann.symbol)
    t = ann.sample[np.isin(sym, BEAT_CODES)] / 128.0  # PROVENANCE.txt: 128 Hz
    rr = np.diff(t) * 1000
    keep = rr <= 3000  # longer: a gap (the 3 s pause limit of the importers)
    for path in (hea, hea.with_suffix(".atr"), hea.with_suffix("")):
        rec = formats.read(path)
        assert rec.meta["source_format"] == "wfdb"
        np.testing.assert_allclose(rec.t_s, t[1:][keep], rtol=0, atol=1e-9)
        np.testing.assert_allclose(rec.rr_ms, rr[keep], rtol=0, atol=1e-6)
        assert len(rec.gaps) == int((~keep).sum())
        assert rec.meta["beat_labels"]["V"] == n_v
        assert rec.meta["start_unknown"] is True  # the ltdb headers have no base date
        assert any("atr annotations at 128 Hz" in n for n in rec.meta["import_notes"])


@pytest.mark.realdata
def test_the_cli_imports_an_annotation_only_record(tmp_path: Path) -> None:
    hea = shared_data("ltdb-dev", "14134.hea")
    out = tmp_path / "rec"
    r = run("import", str(hea.with_suffix(".atr")), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "FileNotFoundError" not in r.stderr + r.stdout
    ann = _rdann(hea.with_suffix(""))
    n_beats = int(np.isin(np.array(ann.symbol), BEAT_CODES).sum())
    rec = load_folder(out)
    assert len(rec.beats) + len(rec.gaps) == n_beats - 1  # every interval is a beat or a gap


def _annotated_record(tmp_path: Path, fs: int = 250) -> tuple[Path, np.ndarray]:
    """A two-signal record (header only, its .dat removed) with hand-placed annotations."""
    x = np.zeros((fs * 20, 2))
    wfdb.wrsamp("rec", fs=fs, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=x, fmt=["16", "16"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path),
                base_date=date(2024, 3, 1), base_time=time(7, 30, 0))
    (tmp_path / "rec.dat").unlink()
    # beats every 200 samples (0.8 s); an unreadable stretch 8.5-9.9 s (no beat annotated there)
    # is marked with '~' subtype -1 and ended by a '~' subtype 0; '+' (rhythm) and '|' (artefact)
    # are not beats
    beats = np.array([s for s in range(100, fs * 20, 200) if not 8.5 * fs <= s <= 9.9 * fs])
    extra = [(int(8.5 * fs), "~", -1), (int(9.9 * fs), "~", 0), (50, "+", 0), (1450, "|", 0)]
    sample = np.concatenate([beats, [e[0] for e in extra]])
    symbol = ["N"] * beats.size + [e[1] for e in extra]
    subtype = np.concatenate([np.zeros(beats.size, int), [e[2] for e in extra]])
    aux = [""] * beats.size + ["", "", "(N", ""]
    order = np.argsort(sample, kind="stable")
    # no fs= here: the header holds it (and wfdb 4.1.1's wrann fails when given one)
    wfdb.wrann("rec", "atr", sample[order], symbol=list(np.array(symbol)[order]),
               subtype=subtype[order], aux_note=list(np.array(aux, dtype=object)[order]),
               write_dir=str(tmp_path))
    return tmp_path / "rec.hea", beats / fs


def test_written_annotations_give_exact_beats_and_a_hole_for_the_unreadable_stretch(tmp_path: Path) -> None:
    hea, t = _annotated_record(tmp_path)
    rec = formats.read(hea)
    assert rec.start == datetime(2024, 3, 1, 7, 30, tzinfo=timezone.utc)
    # the interval across 8.5-9.9 s (from the beat at 8.4 s to the one at 10.0 s, 1.6 s: short
    # enough to pass for one slow beat) is not formed
    across = (t[:-1] < 8.5) & (t[1:] > 9.9)
    assert across.sum() == 1
    want_t = t[1:][~across]
    np.testing.assert_allclose(rec.t_s, want_t, atol=1e-9)
    np.testing.assert_allclose(rec.rr_ms, 800.0, atol=1e-9)
    assert len(rec.gaps) == 1 and rec.gaps.iloc[0]["onset_s"] == pytest.approx(t[:-1][across][0])
    assert rec.meta["beat_labels"] == {"N": t.size}


def test_a_header_without_signal_or_annotations_is_one_line(tmp_path: Path) -> None:
    hea, _ = _annotated_record(tmp_path)
    (tmp_path / "rec.atr").unlink()
    with pytest.raises(FormatError, match=r"rec\.hea: its signal file rec\.dat is missing and no beat "
                                          r"annotations \(rec\.atr or rec\.qrs\)"):
        formats.read(hea)
    err = one_line_error(run("import", str(hea), "--out", str(tmp_path / "o")))
    assert "rec.dat is missing" in err and "FileNotFoundError" not in err
    assert not (tmp_path / "o").exists()


def test_annotations_without_a_header_are_one_line(tmp_path: Path) -> None:
    hea, _ = _annotated_record(tmp_path)
    hea.unlink()
    err = one_line_error(run("info", str(tmp_path / "rec.atr")))
    assert "rec.atr: no WFDB header (.hea)" in err and "sampling rate" in err
