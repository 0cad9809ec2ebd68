"""`podcast-bot` (or a script of this repository) in a fresh process, as a user, a dyno or a scheduler runs it.

The process inherits this one's environment, which the tests' `hermetic_environment` fixture has
cleared of the machine's app settings, with the repository on PYTHONPATH and `env` on top.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from tests.support.corpus import ROOT


def cli(*args: str) -> list[str]:
    """The command line of `podcast-bot ARGS`."""
    return [sys.executable, "-m", "bot.cli", *args]


def python(script: str, *args: str) -> list[str]:
    """The command line of `python -c SCRIPT ARGS`."""
    return [sys.executable, "-c", script, *args]


def environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with the repository importable and `env` on top."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}


def run(
    command: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float | None = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run `command` (see `cli`, `python`) to its end; its exit code and text output."""
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=environment(env), timeout=timeout)


def start(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    stdin: int | None = None,
    stdout: int | IO[Any] | None = subprocess.DEVNULL,
    stderr: int | IO[Any] | None = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """Start `command` and return at once; by default its stderr is a pipe to read, its stdout discarded.
    The caller ends it (by its process id) and waits for it."""
    return subprocess.Popen(
        command, cwd=cwd, env=environment(env), stdin=stdin, stdout=stdout, stderr=stderr, text=True
    )
