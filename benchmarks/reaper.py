"""A watchdog that ends what a killed process started: the local Ray instance of ``benchmark run``.

A ``SIGKILL`` cannot be caught, and Ray's dashboard and runtime-env agents outlive a killed driver (its GCS,
raylet and task workers share the driver's fate; the agents are re-parented to init and keep running).
:func:`start` launches this file as a separate process in its own session (it imports only the standard
library, so it starts in milliseconds). Every ``poll_s`` it records the driver's descendants with their
start times (from ``/proc``); once the driver is gone it sends ``SIGKILL`` to every recorded process that
is still the same process (same start time: a recycled pid is left alone), then exits. After a normal end
(``ray.shutdown()`` has stopped everything) there is nothing left to kill. Linux only (``/proc``);
elsewhere :func:`start` does nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["descendants", "start"]

PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, or None (gone or a zombie)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> dict[int, int]:
    """Every live process below ``pid``: pid -> start time (clock ticks since boot)."""
    children: dict[int, list[int]] = {}
    start: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None:
                children.setdefault(info[0], []).append(int(entry.name))
                start[int(entry.name)] = info[1]
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = start[child]
                todo.append(child)
    return found


def watch(pid: int, started: int, poll_s: float = 0.5) -> int:
    """Track ``pid``'s descendants until it is gone, then kill the survivors; how many were killed."""
    tracked: dict[int, int] = {}
    while True:
        info = _stat(pid)
        if info is None or info[1] != started:
            break
        tracked.update(descendants(pid))
        tracked.pop(os.getpid(), None)  # the watchdog is one of the descendants
        time.sleep(poll_s)
    killed = 0
    for child, child_start in tracked.items():
        info = _stat(child)
        if info is not None and info[1] == child_start:
            try:
                os.kill(child, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def start() -> subprocess.Popen[bytes] | None:
    """Watch the calling process from a separate one (Linux); ``None`` where ``/proc`` is missing."""
    me = _stat(os.getpid()) if PROC.is_dir() else None
    if me is None:
        return None
    return subprocess.Popen(
        [sys.executable, "-I", "-S", __file__, str(os.getpid()), str(me[1])],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]))
