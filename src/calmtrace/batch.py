"""Many recordings at once, on Dask: one cohort table, and a list of failures that never stop the run.

:func:`find_inputs` walks the given paths for recording folders and importable files;
:func:`analyze_one` analyses one of them into cohort rows (or a one-line failure);
:func:`run_batch` maps it over all inputs on a ``dask.distributed`` cluster: local worker processes
by default, or an existing cluster given by its scheduler address (``tcp://`` or ``tls://``, with
Dask's own security settings from its configuration). The results are the same as running
:func:`analyze_one` on each input serially, in the same order.

The cohort table has one row per recording, stressor and metric, with the subject id, the session
date and quality columns. It never carries device addresses: these are health data.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from .analysis import AnalysisConfig, analyze
from .errors import CalmtraceError, InputError
from .loader import load
from . import formats, store

__all__ = ["BatchResult", "find_inputs", "analyze_one", "run_batch", "COHORT_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns that lead the cohort table; the recovery figures follow.
COHORT_COLUMNS = [
    "input", "subject", "session_date", "simulated", "duration_s", "n_beats", "artifact_pct",
    "gap_s", "valid_windows_pct", "quality_ok",
]

#: A recording passes the cohort's quality check with at most this share of flagged beats, in %.
#: Kubios and Lipponen & Tarvainen (2019) treat more than 5% corrected beats as unreliable for HRV.
MAX_ARTIFACT_PCT = 5.0
#: ...and at least this share of valid windows, in %.
MIN_VALID_WINDOWS_PCT = 50.0

# Never in the cohort table (DESIGN.md: subject ids, never device addresses).
_PRIVATE_COLUMNS = ("address", "device_address", "device_name", "serial")


@dataclass
class BatchResult:
    """The outcome of a batch run.

    Attributes
    ----------
    cohort : pandas.DataFrame
        One row per recording, stressor and metric (recordings without stressors get one row with
        the quality columns and empty recovery figures).
    failures : pandas.DataFrame
        ``input`` and ``reason`` (one line) for every input that could not be analysed.
    """

    cohort: pd.DataFrame
    failures: pd.DataFrame

    def write(self, out: str | os.PathLike) -> list[Path]:
        """Write ``cohort.parquet``, ``cohort.csv`` and ``failures.csv`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, fn in (
            ("cohort.parquet", lambda p: self.cohort.to_parquet(p, index=False)),
            ("cohort.csv", lambda p: self.cohort.to_csv(p, index=False)),
            ("failures.csv", lambda p: self.failures.to_csv(p, index=False)),
        ):
            tmp = out / f".{name}.tmp"
            fn(tmp)
            os.replace(tmp, out / name)
            written.append(out / name)
        return written


def find_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Recording folders and importable files under ``paths``, sorted, each once.

    A folder with ``recording.json`` is one input (its CSV files are not looked into); other
    folders are searched recursively; a file counts when a format recognises it.

    Raises
    ------
    InputError
        When a path does not exist.
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if store.is_recording_folder(p) or p.is_file():
            found.append(p)
            continue
        for root, dirs, files in os.walk(p):
            r = Path(root)
            if store.is_recording_folder(r):
                found.append(r)
                dirs[:] = []
                continue
            dirs.sort()
            for f in sorted(files):
                fp = r / f
                if f.startswith(".") or fp.suffix.lower() in (".md", ".json", ".toml", ".py", ".parquet"):
                    continue
                try:
                    formats.detect(fp)
                except CalmtraceError:
                    continue
                found.append(fp)
    return sorted(dict.fromkeys(found))


def analyze_one(path: str | os.PathLike, config: dict[str, Any] | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """Analyse one input into cohort rows.

    Parameters
    ----------
    path : path-like
        A recording folder or importable file.
    config : dict, optional
        :meth:`AnalysisConfig.to_dict` output (plain data travels to workers safely).

    Returns
    -------
    (rows, None) or (None, reason)
        ``reason`` is the one-line error for an input that could not be analysed.
    """
    path = Path(path)
    try:
        cfg = AnalysisConfig.from_dict(config) if config else AnalysisConfig()
        rec = load(path)
        res = analyze(rec, cfg, source=path)
    except CalmtraceError as exc:
        return None, str(exc)
    except Exception as exc:  # a bug must not stop a cohort run either; it is reported as such
        log.exception("internal error on %s", path)
        return None, f"{path}: internal error: {type(exc).__name__}: {exc}"
    summary = dict(zip(res.summary["item"], res.summary["value"]))
    artifact = float(summary.get("artifact_share", math.nan))
    valid_pct = float(summary.get("valid_windows", math.nan))
    base = {
        "input": str(path),
        "subject": str(rec.meta.get("subject", rec.meta.get("subject_id", ""))),
        "session_date": rec.start.date().isoformat(),
        "simulated": bool(rec.meta.get("simulated", False)),
        "duration_s": float(rec.duration_s),
        "n_beats": int(len(rec.beats)),
        "artifact_pct": artifact,
        "gap_s": float(summary.get("gap_time", 0.0)),
        "valid_windows_pct": valid_pct,
        "quality_ok": bool(artifact <= MAX_ARTIFACT_PCT and valid_pct >= MIN_VALID_WINDOWS_PCT),
    }
    rc = res.recovery.drop(columns=[c for c in _PRIVATE_COLUMNS if c in res.recovery.columns])
    if len(rc) == 0:
        return pd.DataFrame([base]), None
    rows = pd.concat([pd.DataFrame([base] * len(rc)), rc.reset_index(drop=True)], axis=1)
    return rows, None


def _assemble(inputs: Sequence[Path], outcomes: Sequence[tuple[pd.DataFrame | None, str | None]]) -> BatchResult:
    frames = [rows for rows, _ in outcomes if rows is not None]
    cohort = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COHORT_COLUMNS)
    failures = pd.DataFrame(
        [(str(p), reason) for p, (_, reason) in zip(inputs, outcomes) if reason is not None],
        columns=["input", "reason"],
    )
    return BatchResult(cohort, failures)


def run_batch(
    paths: Iterable[str | os.PathLike],
    config: AnalysisConfig | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    serial: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Analyse every input under ``paths`` with one config.

    Parameters
    ----------
    paths : iterable of path-like
        Files and folders to search (see :func:`find_inputs`).
    config : AnalysisConfig, optional
        One config for all inputs.
    workers : int, optional
        Local worker processes (default: the number of cores). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler, ``tcp://HOST:PORT`` or
        ``tls://HOST:PORT`` (security settings from Dask's configuration).
    serial : bool
        Run in this process, without Dask (for debugging and as the reference).
    progress : callable, optional
        ``progress(done, total)`` after each input.

    Returns
    -------
    BatchResult
    """
    inputs = find_inputs(paths)
    cfg_dict = (config or AnalysisConfig()).to_dict()
    tick = progress or (lambda done, total: None)
    total = len(inputs)
    if serial or total == 0:
        outcomes = []
        for i, p in enumerate(inputs, start=1):
            outcomes.append(analyze_one(p, cfg_dict))
            tick(i, total)
        return _assemble(inputs, outcomes)

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://")):
            raise InputError(f"--scheduler must look like tcp://HOST:PORT or tls://HOST:PORT, got {scheduler!r}")
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"{scheduler}: cannot reach the Dask scheduler ({exc})") from None
    else:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        client = Client(cluster)
    try:
        futures = client.map(analyze_one, [str(p) for p in inputs], config=cfg_dict, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        outcomes: list[Any] = [None] * total
        for done, fut in enumerate(as_completed(futures), start=1):
            outcomes[index[fut.key]] = fut.result()
            tick(done, total)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _assemble(inputs, outcomes)
