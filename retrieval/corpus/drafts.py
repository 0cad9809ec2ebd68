"""The site's drafts and templates: Jekyll publishes no file whose name starts with `_`
(`_podcast/_theme-park-….md`, `_people/_template.md`), so neither does the bot — its link would be a 404."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def is_draft(path: Path) -> bool:
    return path.name.startswith("_")


def published(folder: Path, pattern: str = "*.md") -> list[Path]:
    """The sorted files of `folder` matching `pattern`, without drafts (counted in the debug log)."""
    found = sorted(folder.glob(pattern))
    kept = [path for path in found if not is_draft(path)]
    if len(kept) < len(found):
        log.debug("%s: %d draft or template files (names starting with _) skipped", folder, len(found) - len(kept))
    return kept
