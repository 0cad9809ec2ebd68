"""The one error hierarchy of podcast-bot: every error whose message is written for a user.

Anything else that escapes is a bug and keeps its traceback. The command line turns these into a
message and an exit code (`bot/exit_codes.py`).
"""

from __future__ import annotations

from pathlib import Path


class PodcastBotError(Exception):
    """Base class: the message says what is wrong and, where it can, what to do."""


class UsageError(PodcastBotError):
    """The user asked for something that cannot be done as asked (an empty question, a bad value)."""


class EpisodeError(PodcastBotError):
    """A file that cannot be read as an episode; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class StoreError(PodcastBotError):
    """The index cannot be used as it is; the message tells the user what to do."""


class IndexUnavailableError(StoreError):
    """The Chroma server cannot be reached."""


class IndexNotWritableError(StoreError):
    """The index cannot be written at all (a full disk, a read-only folder): every other write would
    fail the same way, so a batch stops at the first."""


class IndexBusyError(StoreError):
    """Another process is writing the embedded index; reading resumes when it has finished."""


class ModelMismatchError(StoreError):
    """The index was built with another embedding model."""


class EmbeddingModelError(PodcastBotError):
    """The embedding model cannot be loaded or used; the message says what to do."""


class SyncError(PodcastBotError):
    """The site could not be synced (download, archive or folder); the message names the URL, file or
    folder, and the episodes, guest pages and index are as they were before."""


class FilterError(UsageError):
    """A search filter matches nothing that is indexed."""


class PromptError(PodcastBotError):
    """A prompt file is missing or malformed; the message names the file."""


class QuestionFileError(PodcastBotError):
    """An evaluation question file is malformed; the message names the file and the entry."""
