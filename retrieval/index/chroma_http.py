"""A Chroma server client with a deadline on every request.

The stock client (chromadb 1.5.9, `chromadb/api/fastapi.py`) builds its httpx session with
`timeout=None` and offers no setting for it, so a stalled server (hung, paused, behind a dead
proxy) would hold every caller forever. Here the server is first asked for its heartbeat with a
deadline, so a server that doesn't answer fails fast, and the client's session then gets the same
deadline for every later request.
"""

from __future__ import annotations

import logging
from typing import Any

import chromadb
import httpx
from chromadb.config import Settings

log = logging.getLogger(__name__)

# Connecting takes milliseconds on a working network; a refused or unroutable host fails fast.
CONNECT_SECONDS = 3.0


def http_client(host: str, port: int, *, ssl: bool, headers: dict[str, str], seconds: float) -> Any:
    """A chromadb HTTP client whose every request fails after `seconds` rather than waiting forever."""
    timeout = httpx.Timeout(seconds, connect=min(seconds, CONNECT_SECONDS))
    url = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
    httpx.get(url, headers=headers, timeout=timeout).raise_for_status()
    client = chromadb.HttpClient(
        host=host, port=port, ssl=ssl, headers=headers or None, settings=Settings(anonymized_telemetry=False)
    )
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = timeout
    else:
        log.warning("this chromadb version has no session to put a deadline on; requests may wait forever")
    return client
