"""Run a Python script in a child process and SIGKILL it where it says it has got to: the kill
tests of the sync and of the attachments share it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def killed_child(script: str, *args: str) -> str:
    """Run ``script`` with ``args``, wait for the first line it prints (the marker of the point
    it has reached, where it then waits), SIGKILL it; return the marker. Fails with the child's
    stderr when it was not killed there (it ended or failed first)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        marker = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    errors = child.stderr.read()
    child.stdin.close(), child.stdout.close(), child.stderr.close()
    assert child.returncode == -signal.SIGKILL, f"not killed ({marker!r}): {errors}"
    return marker
