# ruff: noqa: I001
# The public API of `retrieval`, the library `bot/` imports from, in the order of the pipeline.
# `__init__.py` loads each name from its module on first use (lazy_loader reads this file).

# Shared: errors, settings, progress, disk space
from .disk_space import disk_trouble as disk_trouble
from .errors import EpisodeError as EpisodeError
from .errors import IndexBusyError as IndexBusyError
from .errors import ModelMismatchError as ModelMismatchError
from .errors import PodcastBotError as PodcastBotError
from .errors import StoreError as StoreError
from .errors import UsageError as UsageError
from .progress import ProgressBar as ProgressBar
from .progress import ShowProgress as ShowProgress
from .release_memory import limit_arenas as limit_arenas
from .release_memory import release_freed_memory as release_freed_memory
from .settings import DEFAULT_SOURCE as DEFAULT_SOURCE
from .settings import MINILM_INT8_MODEL_ID as MINILM_INT8_MODEL_ID
from .settings import MINILM_MODEL_ID as MINILM_MODEL_ID
from .settings import SearchConfig as SearchConfig
from .settings import StoreConfig as StoreConfig

# Sources: the site's pages, synced
from .sources.site_source import github_archive_url as github_archive_url
from .sources.sync import StageCallback as StageCallback
from .sources.sync import SyncReport as SyncReport
from .sources.sync import sync_site as sync_site
from .sources.urls import masked_url as masked_url

# Corpus: episodes, guests, sections
from .corpus.front_matter import MAX_FILE_BYTES as MAX_FILE_BYTES
from .corpus.people import Person as Person
from .corpus.people import load_people as load_people
from .corpus.sections import timestamp as timestamp

# Index: embedding, storing, ingesting
from .index.embedding import Embedder as Embedder
from .index.embedding import make_embedder as make_embedder
from .index.folder import writing as writing
from .index.ingest import IngestReport as IngestReport
from .index.ingest import ingest as ingest
from .index.records import EpisodeRecord as EpisodeRecord
from .index.stamp import IndexStamp as IndexStamp
from .index.store import SectionIndex as SectionIndex

# Search
from .search.filters import SearchFilters as SearchFilters
from .search.moments import EpisodeMatch as EpisodeMatch
from .search.moments import Moment as Moment
from .search.searcher import Searcher as Searcher

# Answering
from .answering.answerer import Answerer as Answerer
from .answering.answers import Answer as Answer
from .answering.answers import Source as Source
from .answering.catalogue import newest as newest
from .answering.catalogue import newest_first as newest_first
from .answering.citations import CITATION as CITATION
from .answering.citations import keep_source_links as keep_source_links
from .answering.prompts import load_prompts as load_prompts

# Evaluation
from .evaluation.answer_check import AnswerCheck as AnswerCheck
from .evaluation.metrics import Level as Level
from .evaluation.metrics import Scores as Scores
from .evaluation.metrics import Share as Share
from .evaluation.questions import SLACK_SEC as SLACK_SEC
from .evaluation.questions import load_question_files as load_question_files
from .evaluation.questions import named_episode_files as named_episode_files
from .evaluation.runner import EvalReport as EvalReport
from .evaluation.runner import Summary as Summary
from .evaluation.runner import evaluate as evaluate
