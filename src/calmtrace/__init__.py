"""calmtrace: stress-recovery physiology from Bluetooth heart-rate straps.

The small public API::

    rec = calmtrace.load(path)                 # a recording folder or any importable file
    calmtrace.save(rec, folder)
    rec = calmtrace.simulate("tsst", seed=1)
"""

from __future__ import annotations

from ._version import __version__  # noqa: E402

from .errors import CalmtraceError  # noqa: E402
from .events import Event, Events  # noqa: E402
from .recording import Recording  # noqa: E402
from .loader import load  # noqa: E402
from .store import save  # noqa: E402
# from .signals.simulate import simulate  # noqa: E402  (lands with the simulator)

__all__ = [
    "__version__",
    "CalmtraceError",
    "Event",
    "Events",
    "Recording",
    "load",
    "save",
    # "simulate",
]
