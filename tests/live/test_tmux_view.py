"""The live terminal view in a real terminal: tmux at 80x24, a simulated strap, real key presses.

Every field is on screen without wrapping, SIMULATED is said, every key press is confirmed on the
view's last line, a note takes a label, and with --no-script only the keys' marks are written.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")

FIELDS = ("strap", "state", "elapsed", "HR", "last RR", "RMSSD", "PNS / SNS", "battery", "beats", "gaps",
          "open marks")


class Pane:
    def __init__(self, tmp: Path, command: str):
        self.sock = str(tmp / "tmux.sock")
        self._tmux("new-session", "-d", "-s", "live", "-x", "80", "-y", "24", command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, "-S", self.sock, *args], capture_output=True, text=True, timeout=30).stdout

    def text(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "live")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", "live", *(["-l"] if literal else []), *keys)

    def wait_for(self, needle: str, within_s: float = 60.0) -> str:
        """The screen once it shows ``needle`` (polled; the test fails with the screen if it never does)."""
        end = time.monotonic() + within_s
        while True:
            screen = self.text()
            if needle in screen or time.monotonic() > end:
                assert needle in screen, screen
                return screen
            time.sleep(0.2)

    def close(self) -> None:
        self._tmux("kill-server")


def test_live_view_fits_80x24_and_confirms_every_key(tmp_path):
    out = tmp_path / "cap"
    done = tmp_path / "done"
    cmd = (f"{sys.executable} -m calmtrace capture --simulate tsst --speed 20 --duration 900 --no-script "
           f"--out {out}; echo exit=$? > {done}; sleep 60")
    pane = Pane(tmp_path, cmd)
    try:
        screen = pane.wait_for("connected")
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "SIMULATED" in lines[0]
        for field in FIELDS:
            assert any(line.startswith(f" {field} ") or f"  {field} " in line for line in lines), (field, screen)
        # the key line is whole on one line (not wrapped at 80 columns)
        assert any("b baseline" in line and "q finish" in line for line in lines), screen

        pane.keys("b")
        pane.wait_for("> b: baseline opened at")
        pane.keys("n")
        pane.wait_for("note label:")
        pane.keys("cough", literal=True)
        pane.wait_for("note label: cough")
        pane.keys("Enter")
        pane.wait_for("> n: note 'cough' written")
        pane.keys("x")
        pane.wait_for("> 'x': not a key here")
        pane.keys("s")
        pane.wait_for("> s: stressor opened at")
        pane.keys("s")
        pane.wait_for("> s: stressor 'stressor' written")
        pane.keys("q")
        pane.wait_for("> q: finishing")
        end = time.monotonic() + 60
        while not done.exists() and time.monotonic() < end:
            time.sleep(0.2)
        assert done.read_text().strip() == "exit=0", pane.text()
    finally:
        pane.close()
    with open(out / "events.csv", newline="", encoding="utf-8") as fh:
        events = list(csv.DictReader(fh))
    labels = [(e["label"], e["kind"]) for e in events]
    assert ("cough", "note") in labels and ("stressor", "stressor") in labels and ("baseline", "baseline") in labels
    # --no-script: the scenario's scripted events (speech, arithmetic...) are not written
    assert not {"speech", "arithmetic"} & {label for label, _ in labels}
