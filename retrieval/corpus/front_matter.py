"""Read the YAML front matter of a site file (episode or guest page) without trusting the file.

Files come from a public repository, so a file may be hostile as well as broken: YAML anchors and
aliases are refused (a 500-byte alias bomb expands to gigabytes), nesting is capped (a thousand `[`
would exhaust the parser's recursion), the size is checked before anything is parsed, and error
messages quote bounded prefixes only. Whatever goes wrong becomes an EpisodeError naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from retrieval.errors import EpisodeError

# The largest real episode is about 100 KB; a limit well above it still stops a 50 MB "transcript".
MAX_FILE_BYTES = 5_000_000
# Real front matter nests four levels (transcript → item → links); a hundred is plenty and safe.
MAX_DEPTH = 100
YAML_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:(\s|$)")


class StrictSafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader without anchors or aliases, and with bounded nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "YAML anchors and aliases (&name, *name) are not allowed", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            node: yaml.Node | None = super().compose_node(parent, index)
            assert node is not None  # composing at an event always yields a node
            return node
        finally:
            self._depth -= 1


def front_matter(text: str, path: Path | str) -> tuple[str, tuple[str, ...]]:
    """The front matter and any warnings about where it was found.

    Front matter is the text between the first two lines that are exactly `---`. One site file
    lacks the opening `---`: when the text before the first `---` reads as YAML keys, the front
    matter runs from the start of the file to it. Text before an opening `---` that is not YAML
    (a stray `_` line in another file) is not front matter: it is skipped with a warning.
    """
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if line.rstrip("\r") == "---"]
    before = [line for line in lines[: fences[0]] if line.strip()] if fences else []
    if not fences or (not before and len(fences) < 2):
        raise EpisodeError(path, "no YAML front matter (expected it between two '---' lines)")
    if not before:
        return "\n".join(lines[fences[0] + 1 : fences[1]]), ()
    if YAML_KEY.match(before[0]) or len(fences) < 2:
        return "\n".join(lines[: fences[0]]), ()
    skipped = f"skipped {len(before)} line{'s' * (len(before) != 1)} of text before the opening '---'"
    return "\n".join(lines[fences[0] + 1 : fences[1]]), (skipped,)


def parse_front_matter(text: str, path: Path | str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The front matter of `text` as a mapping, and warnings about the file."""
    front, warnings = front_matter(text, path)
    try:
        # A SafeLoader subclass: it never builds arbitrary Python objects.
        meta = yaml.load(front, Loader=StrictSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc)[:200]
        raise EpisodeError(path, f"front matter is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise EpisodeError(path, "front matter is nested too deeply to read") from None
    if not isinstance(meta, dict):
        raise EpisodeError(path, "front matter is not a mapping of keys to values")
    return meta, warnings


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str, bytes]:
    """The file's text and raw bytes, refusing files over `max_bytes` before reading them whole."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise EpisodeError(path, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit for one episode")
        raw = path.read_bytes()
    except OSError as exc:
        raise EpisodeError(path, f"cannot read file ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        raise EpisodeError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_front_matter(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The front matter of the file at `path` (see `parse_front_matter`)."""
    text, _ = read_text(path, max_bytes)
    return parse_front_matter(text, path)
