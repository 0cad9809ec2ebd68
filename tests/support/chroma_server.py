"""A real Chroma server (`chroma run`, shipped with chromadb) on 127.0.0.1, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.http import free_port


class ChromaServer:
    """`chroma run` storing in `path`, on `port` (a free one by default): `start()` returns once it
    answers, `stop()` ends it; or use as `with ChromaServer(path) as chroma:`."""

    def __init__(self, path: Path, port: int | None = None):
        self.path = path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(self.port)}

    def start(self, timeout: float = 30.0) -> ChromaServer:
        chroma = Path(sys.executable).parent / "chroma"
        self.process = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"chroma run exited with {self.process.returncode}") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma run did not answer on port {self.port} within {timeout} s")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it keeps its port and connections but answers nothing."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self, kill: bool = False) -> None:
        """Stop the server by its process id (SIGKILL with `kill`, as a crash would)."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a paused server cannot act on SIGTERM
            os.kill(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
