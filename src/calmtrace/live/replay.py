"""Replay a recording as a live strap: ``calmtrace capture --replay FILE [--speed N]``.

Any recording :func:`calmtrace.load` reads (a recording folder or another tool's file, with an
events file beside it if given) is turned into a beat source for the virtual strap
(:func:`calmtrace.devices.virtual.replay_source`: beats on the strap's 1/1024-s clock at their
recorded times, gaps as loss of skin contact), so every live feature runs on real recordings. The
recording's events are handed to the capture as scripted events, written as the capture clock
passes their end, so a stressor in the file ends, for the live forecast, when it ended in the file.

The capture of a replay is marked as such in its metadata (``replay``, ``replay_of``,
``replay_source_format``, ``virtual_strap_speed``) and starts at the recording's own start time,
so clock times and events line up with the source.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..devices.virtual import Silence, VirtualRadio, VirtualStrap, replay_source
from ..errors import InputError
from ..events import Event
from ..recording import Recording

__all__ = ["ReplayPlan", "plan_replay", "start_replay_strap", "REPLAY_TAIL_S"]

log = logging.getLogger(__name__)

#: Strap seconds the capture runs past the recording's last beat, so its last notification (sent
#: at most one notification interval, 1 s, after the beat) arrives and is timed.
REPLAY_TAIL_S = 3.0


@dataclass
class ReplayPlan:
    """What a replay streams and how the capture of it is set up.

    Attributes
    ----------
    source : Recording
        The recording replayed.
    beat_source : list of float and Silence
        RR intervals (ms) and silences for :class:`~calmtrace.devices.virtual.VirtualStrap`.
    events : list of Event
        The recording's events, as scripted events of the capture.
    duration_s : float
        Capture length, s (the recording's last beat plus :data:`REPLAY_TAIL_S`).
    meta : dict
        Metadata of the capture.
    """

    source: Recording
    beat_source: list[float | Silence]
    events: list[Event]
    duration_s: float
    meta: dict[str, Any] = field(default_factory=dict)


def plan_replay(rec: Recording, path: str | os.PathLike, speed: float) -> ReplayPlan:
    """Prepare the replay of ``rec`` (read from ``path``) at ``speed`` times real time.

    Parameters
    ----------
    rec : Recording
        The recording, as :func:`calmtrace.load` returned it (with its events).
    path : path-like
        Where it was read from (written into the capture's metadata).
    speed : float
        How much faster than real time the virtual strap runs, > 0.

    Returns
    -------
    ReplayPlan

    Raises
    ------
    InputError
        When the recording has no beats (an HR-only file cannot be replayed beat by beat).
    """
    if len(rec.beats) == 0:
        raise InputError(f"{path}: has no beats (RR intervals) to replay; only recordings with beats can be "
                         "streamed through the virtual strap")
    src = replay_source(rec.t_s, rec.rr_ms)
    n_silent = sum(isinstance(x, Silence) for x in src)
    meta = {"replay": True, "replay_of": str(Path(path).resolve()),
            "replay_source_format": rec.meta.get("source_format") or "calmtrace",
            "virtual_strap_speed": float(speed), "simulated": bool(rec.meta.get("simulated", False))}
    if rec.meta.get("subject"):
        meta["subject"] = rec.meta["subject"]
    log.info("replay of %s: %d beats, %d gaps, %d events, %.0f s", path, len(rec.beats), n_silent,
             len(rec.events), rec.duration_s)
    return ReplayPlan(rec, src, list(rec.events), float(rec.t_s[-1]) + REPLAY_TAIL_S, meta)


async def start_replay_strap(radio: VirtualRadio, plan: ReplayPlan, speed: float,
                             name: str = "Polar H10 0A1B2C3D", address: str = "C0:CA:17:0A:1B:2C") -> VirtualStrap:
    """Start a virtual strap on ``radio`` whose heart beats the replayed recording.

    Parameters
    ----------
    radio : VirtualRadio
    plan : ReplayPlan
    speed : float
        Strap clock speed (times real time).
    name, address : str
        Advertised name (at most 22 bytes) and address.

    Returns
    -------
    VirtualStrap
        Started and advertising; its heart (and clock) starts when the capture subscribes, so
        that the first beat of the recording is heard too.
    """
    strap = VirtualStrap(radio, plan.beat_source, speed=speed, name=name[:22], address=address,
                         wait_for_listener=True)
    await strap.start()
    return strap
