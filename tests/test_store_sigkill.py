"""SIGKILL a real process in the middle of writing a capture: the folder must read back.

The child process writes beats, HR samples and raw notifications through RecordingWriter as fast
as it can and, after each beat the writer accepted, reports its index on stdout. The parent kills
it with SIGKILL at a random moment and reads the folder back: every beat the writer had accepted
is there, exactly, in order, and nothing else is (at most the one line being written is lost).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from calmtrace.store import load_folder

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from calmtrace.store import RecordingWriter
    w = RecordingWriter(sys.argv[1], datetime(2024, 5, 1, 9, tzinfo=timezone.utc), {"device_name": "kill-test"})
    out = sys.stdout
    i = 0
    while True:
        i += 1
        rr_ms = 700.0 + (i * 37) % 300 + 0.125
        t_s = i * 1.0 + ((i * 37) % 300) / 1000.0
        w.add_notification(t_s, bytes([0x10, 60 + i % 100, i % 256, (i // 256) % 256]))
        w.add_beat(t_s, rr_ms)
        if i % 3 == 0:
            w.add_hr(t_s, 60.0 + i % 100, "yes")
        out.write(f"{i}\\n")
        out.flush()
    """
)


def _expected_beat(i: int) -> tuple[float, float]:
    return i * 1.0 + ((i * 37) % 300) / 1000.0, 700.0 + (i * 37) % 300 + 0.125


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_at_any_moment_leaves_a_readable_folder(tmp_path: Path, seed: int) -> None:
    folder = tmp_path / "capture"
    rng = random.Random(seed)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        # wait for the child to start writing, then let it run a random while
        first = proc.stdout.readline()
        assert first.strip() == "1", f"child did not start: {first!r}"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        rest = proc.stdout.read()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    acknowledged = max(int(x) for x in (first + rest).split())
    assert acknowledged > 10, "the child wrote too little to make the test meaningful"

    rec = load_folder(folder)
    n = len(rec.beats)
    # every beat the writer accepted is on disk; at most one more (written, not yet acknowledged)
    assert acknowledged <= n <= acknowledged + 1
    for i in (1, n // 2, n):
        t_s, rr_ms = _expected_beat(i)
        assert rec.t_s[i - 1] == t_s and rec.rr_ms[i - 1] == rr_ms
    assert rec.meta["device_name"] == "kill-test" and rec.meta["complete"] is False
    assert len(rec.hr) >= acknowledged // 3
