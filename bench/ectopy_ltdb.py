"""Ectopy detection scored against expert beat labels: MIT-BIH Long-Term ECG records.

Data: ``../shared/data/ltdb-dev`` (records 14046, 14134, 14172: beat annotations only; see its
PROVENANCE.txt), or any folder of WFDB ``.atr`` files given on the command line, scored the same
way. RR intervals are the differences of the labelled beat times (``wfdb.rdann``: sample / fs);
non-beat annotations (``~`` signal quality, ``+`` rhythm ...) are dropped.

Scoring, per beat, by time:

* **abnormal**: a beat whose label is not a normal-origin beat (N, L, R, B): V, F, S, A, a, J, j,
  E, e, Q, ...;
* **visible**: an abnormal beat whose RR differs by 15 % or more from the local normal median: the
  median of the 20 nearest normal-to-normal intervals (10 before, 10 after; an NN interval joins
  two beats labelled normal). These are the abnormal beats that distort HRV and that any RR-only
  method can see; an abnormal beat at its sinus time (many fusion beats) is not;
* **flagged**: for calmtrace, every beat whose flag after :func:`calmtrace.signals.clean.clean` is
  not ``ok``, placed on the input beat nearest in time (a moved beat is nearest its own original
  time, an inserted one lands on a neighbour and counts against precision), except ``extra``,
  which by its definition marks the beat after a removed one and is placed on the removed beat
  (the input beat before it that is missing from the output); for neurokit2, the
  union of the four artefact classes of ``nk.signal_fixpeaks(method="kubios", iterative=False)``
  on the beat positions (the single pass, whose indices are those of the input beats; the
  iterative result reports only its last pass, in a re-indexed series);
* sensitivity (visible) = flagged visible abnormal / visible abnormal; sensitivity (all) =
  flagged abnormal / abnormal; precision = flagged abnormal / flagged, all pooled over the
  records, full length.

Run from the repository root::

    python bench/ectopy_ltdb.py                      # ../shared/data/ltdb-dev
    python bench/ectopy_ltdb.py path/to/folder       # other records, same scoring

Three detectors: calmtrace's default (``CleanConfig.method = "pattern"``), calmtrace's reference
path (Lipponen & Tarvainen through the port, then the fixed-threshold ectopy screen) and
neurokit2's own ``signal_fixpeaks(method="kubios")``.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from _common import ROOT
from calmtrace.recording import Recording
from calmtrace.signals.clean import clean
from calmtrace.signals.config import CleanConfig

LTDB_DEV = ROOT.parent / "shared" / "data" / "ltdb-dev"
#: WFDB beat symbols (annotation codes that mark a QRS complex).
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")
#: Beats of normal (sinus) origin.
NORMAL_SYMBOLS = set("NLRB")
VISIBLE_SHARE = 0.15
NN_NEIGHBOURS = 10


def read_record(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Beat times (s) and labels of one record, non-beat annotations dropped."""
    import wfdb

    ann = wfdb.rdann(str(path.with_suffix("")), "atr")
    sym = np.asarray(ann.symbol, dtype=object)
    keep = np.isin(sym, list(BEAT_SYMBOLS))
    return np.asarray(ann.sample, dtype=float)[keep] / float(ann.fs), sym[keep]


def truth(t_s: np.ndarray, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RR (ms) per beat (NaN for the first), abnormal mask and visible mask."""
    rr = np.full(t_s.size, np.nan)
    rr[1:] = np.diff(t_s) * 1000.0
    normal = np.isin(symbols, list(NORMAL_SYMBOLS))
    abnormal = ~normal
    abnormal[0] = False                                  # no interval to judge it by
    nn = np.zeros(t_s.size, dtype=bool)
    nn[1:] = normal[1:] & normal[:-1]
    nn_idx = np.flatnonzero(nn)
    nn_rr = rr[nn_idx]
    # the NN_NEIGHBOURS NN intervals before and after each beat (not its own)
    k = np.arange(t_s.size)
    before = np.searchsorted(nn_idx, k, side="left")
    after = np.searchsorted(nn_idx, k, side="right")
    ref = np.full(t_s.size, np.nan)
    for i in range(t_s.size):
        sel = np.concatenate([nn_rr[max(before[i] - NN_NEIGHBOURS, 0):before[i]],
                              nn_rr[after[i]:after[i] + NN_NEIGHBOURS]])
        if sel.size:
            ref[i] = np.median(sel)
    with np.errstate(invalid="ignore"):
        visible = abnormal & (np.abs(rr - ref) >= VISIBLE_SHARE * ref)
    return rr, abnormal, visible


def calmtrace_flags(t_s: np.ndarray, config: CleanConfig | None = None) -> np.ndarray:
    """Which input beats calmtrace's cleaning flags (first beat: never; it has no RR)."""
    rec = Recording(start=datetime(2000, 1, 1, tzinfo=timezone.utc),
                    beats=pd.DataFrame({"t_s": t_s[1:], "rr_ms": np.diff(t_s) * 1000.0}))
    out = clean(rec, config).beats
    flag = out["flag"].to_numpy()
    t_out = out["t_s"].to_numpy()
    flagged = np.zeros(t_s.size, dtype=bool)
    t_flag = t_out[(flag != "ok") & (flag != "extra")]
    if t_flag.size:
        j = np.clip(np.searchsorted(t_s, t_flag), 1, t_s.size - 1)
        nearest = np.where(t_flag - t_s[j - 1] <= t_s[j] - t_flag, j - 1, j)
        flagged[nearest] = True
    # "extra" sits on the beat after the one removed: score the removed beat, the last input
    # beat before the flagged one that is not in the output
    kept = np.zeros(t_s.size, dtype=bool)
    pos = np.clip(np.searchsorted(t_s, t_out), 0, t_s.size - 1)
    kept[pos[t_s[pos] == t_out]] = True
    for te in t_out[flag == "extra"]:
        j = int(np.searchsorted(t_s, te)) - 1
        while j > 0 and kept[j]:
            j -= 1
        if j >= 1 and not kept[j] and te - t_s[j] < 3.0:
            flagged[j] = True
        else:                                             # nothing removed nearby: score the beat itself
            flagged[min(int(np.searchsorted(t_s, te)), t_s.size - 1)] = True
    return flagged


def neurokit2_flags(t_s: np.ndarray, fs: float = 128.0) -> np.ndarray:
    """Which beats neurokit2's kubios method (one pass) flags."""
    import neurokit2 as nk

    peaks = np.round(t_s * fs).astype(np.int64)
    info, _ = nk.signal_fixpeaks(peaks, sampling_rate=fs, iterative=False, method="kubios", show=False)
    flagged = np.zeros(t_s.size, dtype=bool)
    for c in ("ectopic", "missed", "extra", "longshort"):
        idx = np.asarray(info[c], dtype=np.int64)
        flagged[idx[(idx >= 0) & (idx < t_s.size)]] = True
    return flagged


def score(flagged: np.ndarray, abnormal: np.ndarray, visible: np.ndarray) -> dict[str, int]:
    """Counts for the pooled figures."""
    return {"flagged": int(flagged.sum()), "tp": int((flagged & abnormal).sum()),
            "abnormal": int(abnormal.sum()), "visible": int(visible.sum()),
            "tp_visible": int((flagged & visible).sum())}


def figures(c: dict[str, int]) -> str:
    sens_v = 100.0 * c["tp_visible"] / c["visible"] if c["visible"] else float("nan")
    sens = 100.0 * c["tp"] / c["abnormal"] if c["abnormal"] else float("nan")
    prec = 100.0 * c["tp"] / c["flagged"] if c["flagged"] else float("nan")
    return (f"sens(visible) {sens_v:5.1f} %  sens(all) {sens:5.1f} %  precision {prec:5.1f} %  "
            f"[flagged {c['flagged']}, abnormal {c['abnormal']}, visible {c['visible']}]")


METHODS = {
    "calmtrace (pattern)": lambda t: calmtrace_flags(t),
    "calmtrace (L&T+screen)": lambda t: calmtrace_flags(t, CleanConfig(method="lipponen-tarvainen")),
    "neurokit2 kubios": neurokit2_flags,
}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)
    folder = Path(argv[1]) if len(argv) > 1 else LTDB_DEV
    records = sorted(folder.glob("*.atr"))
    if not records:
        print(f"{folder}: no .atr files", file=sys.stderr)
        return 2
    pooled = {m: {} for m in METHODS}
    for rec in records:
        t_s, sym = read_record(rec)
        rr, abnormal, visible = truth(t_s, sym)
        print(f"record {rec.stem}: {t_s.size} beats, {int(abnormal.sum())} abnormal, {int(visible.sum())} visible")
        for name, method in METHODS.items():
            t0 = time.perf_counter()
            c = score(method(t_s), abnormal, visible)
            print(f"  {name:24s} {figures(c)}  ({time.perf_counter() - t0:.1f} s)")
            for k, v in c.items():
                pooled[name][k] = pooled[name].get(k, 0) + v
    print(f"pooled over {len(records)} records:")
    for name in METHODS:
        print(f"  {name:24s} {figures(pooled[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
