"""A throwaway PostgreSQL server on 127.0.0.1 (Debian's binaries), for tests and benchmarks."""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.support.http import free_port

POSTGRES_INSTALL_HINT = "install the Debian package `postgresql` (apt-get install -y postgresql)"


def postgres_binaries() -> Path | None:
    """The folder of the newest installed `initdb` and `postgres` (Debian keeps them out of PATH), or None."""
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: [int(part) for part in re.findall(r"\d+", folder.parent.name)],
    )
    initdb = shutil.which("initdb")
    if initdb:
        folders.append(Path(initdb).resolve().parent)
    return next((f for f in reversed(folders) if (f / "initdb").exists() and (f / "postgres").exists()), None)


def postgres_unavailable_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None when it can."""
    if postgres_binaries() is None:
        return f"the PostgreSQL server binaries (initdb, postgres) are not installed; {POSTGRES_INSTALL_HINT}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "PostgreSQL refuses to run as root and there is no `postgres` user to run it as"
    return None


class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1 with password authentication, its data in a fresh
    temporary folder. As root (which PostgreSQL refuses) it runs as the `postgres` user.

        with PostgresServer() as server:
            url = server.create_database("bench")   # postgresql://postgres:…@127.0.0.1:PORT/bench

    `stop()` and `start()` again keep the data and the port: a database outage and its return.
    """

    def __init__(self, port: int | None = None):
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError(f"no PostgreSQL server binaries; {POSTGRES_INSTALL_HINT}")
        self.binaries = binaries
        self.port = port or free_port()
        self.password = secrets.token_hex(12)
        self.folder = Path(tempfile.mkdtemp(prefix="podcast-postgres-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; then it runs as `postgres`, which must own its folder.
        self._account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._account:
            os.chown(self.folder, self._account.pw_uid, self._account.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run_as_owner(self) -> dict[str, Any]:
        if self._account is None:
            return {}
        return {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": []}

    def _initdb(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if self._account:
            os.chown(password_file, self._account.pw_uid, self._account.pw_gid)
        command = [str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8"]
        command += ["--auth=scram-sha-256", f"--pwfile={password_file}", "--no-sync"]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, **self._run_as_owner())
        password_file.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """Create the cluster on first start, start the server, and return once it accepts connections."""
        if not self.data.exists():
            self._initdb()
        command = [str(self.binaries / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=100"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, **self._run_as_owner()
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"PostgreSQL did not accept connections on port {self.port}:\n{tail}") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server by its process id: a fast shutdown, which ends every connection at once."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def close(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
