"""Run the virtual strap and a capture in virtual time, so that no test depends on machine speed.

The virtual strap (Bumble, in process) and the capture share one asyncio event loop and read its
clock. In real time, a loaded machine wakes the loop late, and at a strap speed of 25 a 100 ms
delay is 2.5 s of strap time: timings then depend on how busy the machine is. In
:class:`VirtualTimeLoop` the clock only moves when every task is waiting for a timer: it jumps to
the next timer. What happens in between (parsing, writing the folder, Bumble's packet exchange)
takes no virtual time, so every run of a test sees the same schedule, fast or slow machine, and
minutes of strap time pass in the time the work takes. Everything on this loop is in-process; code
that waited on real I/O or threads would not belong here.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any, Coroutine, TypeVar

__all__ = ["VirtualTimeLoop", "run_virtual"]

T = TypeVar("T")


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose :meth:`time` is virtual (s, starting at 0)."""

    def __init__(self) -> None:
        super().__init__(selectors.SelectSelector())
        self._virtual_s = 0.0

    def time(self) -> float:
        return self._virtual_s

    def _run_once(self) -> None:
        # nothing ready to run: jump the clock to the earliest timer instead of sleeping until it
        if not self._ready and self._scheduled:
            when = self._scheduled[0]._when
            if when > self._virtual_s:
                self._virtual_s = when
        super()._run_once()


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a :class:`VirtualTimeLoop`."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(coro)
