"""The watchdog of benchmarks/reaper.py ends the descendants of a process killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splitgym.benchmarks import reaper

DRIVER = """
import subprocess, sys, time
from splitgym.benchmarks import reaper
reaper.start()
child = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); time.sleep(300)"])
print(child.pid, flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    return reaper._stat(pid) is not None


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")
def test_descendants_of_a_killed_process_are_ended_and_the_watchdog_exits(tmp_path: Path) -> None:
    # Outside the checkout: its bare splitgym/ folder would shadow the installed package.
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert driver.stdout is not None
    child = int(driver.stdout.readline())
    deadline = time.monotonic() + 30
    below: dict[int, int] = {}
    while time.monotonic() < deadline and len(below) < 3:  # watchdog, child, grandchild
        time.sleep(0.2)
        below = reaper.descendants(driver.pid)
    assert len(below) >= 3 and child in below
    time.sleep(1.0)  # a poll of the watchdog sees the grandchild
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(p) for p in below):
        time.sleep(0.2)
    left = [p for p in below if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"left running: {left}"


def test_a_watchdog_of_a_process_that_ends_normally_kills_nothing_else() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # A process that is gone at once: watch() returns without touching unrelated processes.
        assert reaper.watch(pid=2**22 + 7, started=0, poll_s=0.01) == 0
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
