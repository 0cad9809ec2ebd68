"""The serving process's index work, in a background thread: build it when empty, then keep it current.

A web process must bind its port at once, so it never embeds a corpus before serving: an empty
index is filled here (from the site when PODCAST_BOT_SYNC_EVERY is set, else from the episodes
folder) while questions are told to come back in a minute; afterwards the site is synced every
PODCAST_BOT_SYNC_EVERY while answers keep coming from the current index. With a Chroma server,
web processes only read: the clock process (`podcast-bot sync --every`) keeps the server current.
"""

from __future__ import annotations

import logging
import threading

from bot.loading import BUILDING, DOWNLOADING, READY, STARTING
from bot.runtime import Runtime
from retrieval import PodcastBotError

log = logging.getLogger(__name__)


class IndexKeeper:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        sync = runtime.settings.sync
        self.every = sync.every if not runtime.settings.store.is_server else None
        if sync.every and runtime.settings.store.is_server:
            log.info(
                "PODCAST_BOT_SYNC_EVERY is not used by web processes with a Chroma server; "
                "the clock process (`podcast-bot sync --every`) keeps the server current"
            )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> IndexKeeper:
        self.runtime.loading.set(STARTING)
        self._thread = threading.Thread(target=self._run, name="index-keeper", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop scheduling syncs; a sync already running finishes in the background (it is crash-safe)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._prepare()
        except PodcastBotError as error:
            log.error("%s", error)  # questions report it too, and retry
            return
        finally:
            self.runtime.loading.set(READY)
        while self.every and not self._stop.wait(self.every):
            self._sync(building=False)

    def _prepare(self) -> None:
        """Open the index (a sync creates it if missing); fill it if empty, else answer from it while syncing."""
        runtime = self.runtime
        index = runtime.writable_index() if self.every else runtime.index(build_if_empty=False)
        if index.episodes():
            runtime.loading.set(READY)
            runtime.warm_up()
            if self.every:
                self._sync(building=False)
            return
        synced = bool(self.every) and self._sync(building=True)
        # Without a sync (off, or failed: the site is unreachable) an empty default index is built
        # from the episodes already on disk, so the bot has something to answer from.
        if not synced and runtime.settings.build_on_first_use:
            runtime.loading.set(BUILDING, len(list(runtime.settings.episodes_dir.glob("*.md"))))
            runtime.build_from_episodes(index)
        runtime.loading.set(READY)
        runtime.warm_up()

    def _sync(self, building: bool) -> bool:
        """One sync; while `building` an empty index, its stages show in the loading message. False if it failed."""

        def stage(name: str, total: int | None) -> None:
            if building:
                self.runtime.loading.set(DOWNLOADING if name == "download" else BUILDING, total)

        try:
            report = self.runtime.sync(on_stage=stage)
        except PodcastBotError as error:
            log.error("sync failed: %s", error)
            return False
        except Exception:  # a bug: logged with its traceback, and the next sync still runs
            log.exception("sync failed")
            return False
        for failure in report.failed:
            log.warning("not ingested: %s", failure)
        log.info("%s", report.summary())
        return True
