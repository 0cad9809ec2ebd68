"""What a failure of the embedded index folder means for the user: locked, read-only, full disk or
damaged, each with what to do (shared by the index and its writer's lock and stamp)."""

from __future__ import annotations

from pathlib import Path

from retrieval.disk_space import disk_is_full
from retrieval.errors import IndexNotWritableError, StoreError


def embedded_error(folder: Path, action: str, exc: BaseException) -> StoreError:
    """What went wrong with an embedded index, in words that tell the user what to do. Only an index
    that is actually damaged needs `--rebuild`; a lock, a read-only folder or a full disk does not,
    and rebuilding would drop what another process is writing."""
    text = f"{type(exc).__name__}: {exc}".lower()
    errno = getattr(exc, "errno", None)
    cause = short_reason(exc)
    if "locked" in text or "busy" in text:
        advice = "another process (an ingest?) is writing to it; wait for it to finish and run this again"
    elif "readonly" in text or "read-only" in text or "permission" in text or errno in (1, 13, 30):
        return IndexNotWritableError(
            f"the index at {folder} failed to {action} ({cause}): the folder is read-only for this user; "
            f"make {folder} writable (or choose another --index), then rerun; nothing was lost"
        )
    elif "disk is full" in text or "no space" in text or errno == 28 or disk_is_full(folder):
        # Chroma's own message may name only its symptom ("Failed to apply logs to the metadata segment").
        return IndexNotWritableError(
            f"the index at {folder} failed to {action} ({cause}): the disk is full; free some space and "
            "run this again; nothing was lost"
        )
    elif any(sign in text for sign in ("malformed", "not a database", "corrupt", "no such table", "hnsw")):
        return StoreError(
            f"the index at {folder} is damaged and failed to {action} ({cause}); "
            f"rebuild it with `podcast-bot ingest --rebuild`"
        )
    else:
        advice = "run this again; if it keeps failing, `podcast-bot doctor` shows what is wrong"
    return StoreError(f"the index at {folder} failed to {action} ({cause}): {advice}; nothing was lost")


def short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
