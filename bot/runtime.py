"""The long-lived objects of one process (embedder, index, searcher, answerer), built once from Settings.

The CLI, the REPL and the Slack app all share this wiring, so they answer the same way. Parts can
be handed in (tests pass a loaded embedder or a fake chat model, the CLI its progress bars); the
rest are built on first use, under one lock, so concurrent requests never build a part twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.loading import Loading
from retrieval import IndexStamp, Person, SectionIndex, StoreError, load_people, writing

# The search stack (LangChain, the model, BM25) is imported where a part is first built, so commands
# that need none of it (`--help`, `doctor`, `feedback`) start at once.
if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from retrieval import Answerer, Embedder, IngestReport, Searcher, ShowProgress, StageCallback, SyncReport

log = logging.getLogger(__name__)
# While the index is being opened, a question waits this long (seconds) before being told to come back.
STARTUP_WAIT = 5.0
UPDATING = "I'm updating the episodes right now; please ask again in a minute."


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        chat_model: BaseChatModel | None = None,
        progress: ShowProgress | None = None,
    ):
        self.settings = settings
        # How ingests and downloads show their progress; None: they log a line now and then.
        self.progress = progress
        # Re-entrant: building the answerer builds the searcher, which opens the index.
        self._lock = threading.RLock()
        self._embedder = embedder
        self._chat_model = chat_model
        self._chat_model_ready = chat_model is not None
        self._index: SectionIndex | None = None
        self._searcher: Searcher | None = None
        self._answerer: Answerer | None = None
        self._people: dict[str, Person] | None = None
        # Ready unless a serving process's background work (bot/background.py) says otherwise.
        self.loading = Loading()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from retrieval import make_embedder

                self._embedder = make_embedder(
                    self.settings.embedding_model,
                    model_cache=self.settings.model_cache,
                    api_key=self.settings.llm.api_key,
                    base_url=self.settings.llm.base_url,
                )
            return self._embedder

    @property
    def people(self) -> dict[str, Person]:
        """Guest pages by slug (read once): full names and bios for the episodes' metadata."""
        with self._lock:
            if self._people is None:
                self._people = load_people(self.settings.people_dir)
            return self._people

    def index(self, build_if_empty: bool = True) -> SectionIndex:
        """The index, opened lazily. An empty default index is built from the bundled episodes;
        any other empty index is an error that says how to fill it."""
        with self._lock:
            if self._index is None:
                store = self.settings.store
                if not store.is_server and not store.index_dir.exists() and not self.settings.build_on_first_use:
                    raise StoreError(
                        f"there is no index at {store.index_dir}; build it with "
                        f"`podcast-bot ingest --index {store.index_dir} [EPISODE FILES OR FOLDERS]`"
                    )
                index = SectionIndex(store, self.embedder.model_id)
                if build_if_empty and not index.episodes():
                    self._fill_on_first_use(index)
                self._index = index
            return self._index

    def _fill_on_first_use(self, index: SectionIndex) -> None:
        location = self.settings.store.location
        if not self.settings.build_on_first_use:
            flag = "" if self.settings.store.is_server else f" --index {location}"
            raise StoreError(
                f"the index at {location} is empty; fill it with `podcast-bot ingest{flag} [EPISODE FILES OR FOLDERS]`"
            )
        self.build_from_episodes(index)

    def build_from_episodes(self, index: SectionIndex) -> IngestReport:
        """Fill an empty index from the episodes folder."""
        from retrieval import ingest

        log.info(
            "the index at %s is empty; building it from %s", self.settings.store.location, self.settings.episodes_dir
        )
        report = ingest(
            [self.settings.episodes_dir],
            index,
            self.embedder,
            people=self.people,
            progress=self.progress,
            max_bytes=self.settings.max_episode_bytes,
        )
        for error in report.failed:
            log.warning("not ingested: %s", error)
        log.info("%s", report.summary())
        return report

    def reset_index(self) -> None:
        """Forget the open index so the next use reconnects (after a Chroma server outage)."""
        with self._lock:
            self._index = None
            self._searcher = None
            self._answerer = None

    def _writable(self, rebuild: bool = False) -> tuple[SectionIndex, Searcher | None]:
        """The index to write to (created when missing, as writing fills it), and the searcher to refresh after."""
        with self._lock:
            if rebuild:
                self._index = SectionIndex.rebuild(self.settings.store, self.embedder.model_id)
                self._searcher = self._answerer = None
            elif self._index is None:
                self._index = SectionIndex(self.settings.store, self.embedder.model_id)
            return self._index, self._searcher

    def writable_index(self) -> SectionIndex:
        """The index, created if missing: for filling it, not for answering from it."""
        return self._writable()[0]

    def ingest(self, paths: Iterable[Path], rebuild: bool = False) -> IngestReport:
        from retrieval import ingest

        with writing(self.settings.store):  # `--rebuild` drops the index: no other process may be writing it
            index, searcher = self._writable(rebuild)
            report = ingest(
                paths,
                index,
                self.embedder,
                people=self.people,
                progress=self.progress,
                max_bytes=self.settings.max_episode_bytes,
            )
        if searcher is not None:
            searcher.refresh(force=True)
        return report

    def sync(self, source: str | None = None, on_stage: StageCallback | None = None) -> SyncReport:
        """Bring the episodes, the guest pages and the index in line with the site (default: settings)."""
        from retrieval import sync_site

        index, searcher = self._writable()
        settings = self.settings
        report = sync_site(
            source or settings.sync.source,
            index,
            self.embedder,
            episodes_dir=settings.sync_episodes_dir,
            people_dir=settings.sync_people_dir,
            timeout=settings.sync.timeout,
            deadline=settings.sync.deadline,
            progress=self.progress,
            on_stage=on_stage,
            max_bytes=settings.max_episode_bytes,
            supersedes=(settings.bundled_dir,),
        )
        with self._lock:
            self._people = None  # the guest pages may have changed with the site
        if searcher is not None and not report.up_to_date:
            searcher.refresh(force=True)
        return report

    def episodes_loaded(self) -> int:
        """Episodes in the index so far (0 before it is open or when it cannot be read)."""
        index = self._index
        try:
            return len(index.episodes()) if index is not None else 0
        except StoreError:
            return 0

    def loading_message(self) -> str | None:
        """What to say instead of answering while the index is still being built, or written by another
        process, else None."""
        self.loading.wait_until_started(STARTUP_WAIT)
        if self.index_busy():
            return UPDATING
        return self.loading.message(self.episodes_loaded)

    def index_busy(self) -> bool:
        """True while another process writes the embedded index (this process cannot read it meanwhile)."""
        store = self.settings.store
        return not store.is_server and IndexStamp(store.index_dir).busy()

    def warm_up(self) -> None:
        """Open the index, build the keyword index and load the model now, not on the first question."""
        try:
            self.searcher.refresh()
            self.embedder.embed_query("warm-up")
        except Exception as error:  # the first question will report it properly
            log.warning("warm-up failed: %s", error)

    @property
    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                from retrieval import Searcher

                self._searcher = Searcher(self.index(), self.embedder, self.settings.search)
            return self._searcher

    @property
    def chat_model(self) -> BaseChatModel | None:
        """The configured chat model, or None for the offline mode (no OPENAI_API_KEY)."""
        with self._lock:
            if not self._chat_model_ready:
                self._chat_model = self._build_chat_model()
                self._chat_model_ready = True
            return self._chat_model

    def _build_chat_model(self) -> BaseChatModel | None:
        llm = self.settings.llm
        if not llm.enabled:
            return None
        from langchain.chat_models import init_chat_model

        return init_chat_model(
            llm.model,
            api_key=llm.api_key,
            base_url=llm.base_url,
            timeout=llm.timeout,
            max_retries=llm.max_retries,
            temperature=llm.temperature,
            streaming=llm.streaming,
        )

    def offline_answerer(self) -> Answerer:
        """An answerer that quotes (no LLM), whatever is configured: what `eval --answers` checks."""
        from retrieval import Answerer, load_prompts

        return Answerer(self.searcher, load_prompts(self.settings.prompts_dir), None, k=self.settings.search.k)

    @property
    def answerer(self) -> Answerer:
        with self._lock:
            if self._answerer is None:
                from retrieval import Answerer, load_prompts

                self._answerer = Answerer(
                    self.searcher, load_prompts(self.settings.prompts_dir), self.chat_model, k=self.settings.search.k
                )
            return self._answerer
