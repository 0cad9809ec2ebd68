"""Hostile episode files: each fails alone, quickly, with one message naming it, and never takes the
memory, the stack or the good file beside it down with it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from bot.cli.main import main
from retrieval.corpus.episodes import parse_episode_file
from retrieval.errors import EpisodeError
from retrieval.index.ingest import ingest
from tests.support.cli import python, run
from tests.support.corpus import small_episode

TRANSCRIPT = "transcript:\n- line: Hello there, this is a line.\n  sec: 1\n  who: Ann\n"
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(c)}: &{chr(c)} [*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)},"
        f"*{chr(c - 1)},*{chr(c - 1)},*{chr(c - 1)}]"
        for c in range(ord("b"), ord("j"))
    ]
)


def hostile_files(folder: Path) -> dict[str, str]:
    """File name -> what its error message must say."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "bomb-title.md": (
            "---\n" + ALIAS_BOMB + "\ntitle: *i\nids: {youtube: abcdefghijk}\n" + TRANSCRIPT + "---\n",
            "anchors and aliases",
        ),
        "bomb-transcript.md": (
            "---\n" + ALIAS_BOMB + "\ntitle: T\nids: {youtube: abcdefghijk}\ntranscript: *i\n---\n",
            "anchors and aliases",
        ),
        "brackets.md": ("---\ntitle: " + "[" * 20_000 + "\n---\n", "nested"),
        "deep-list.md": ("---\ntitle: T\nx:\n" + "".join("  " * n + "-\n" for n in range(1200)) + "---\n", "nested"),
        "huge.md": ("---\ntitle: T\n" + TRANSCRIPT + "---\n" + "x" * 20_000_000, "over the 5,000,000-byte limit"),
    }
    for name, (text, _) in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "binary.md").write_bytes(bytes(range(256)) * 64)
    (folder / "loop.md").symlink_to(folder / "loop.md")
    return {name: reason for name, (_, reason) in files.items()} | {
        "binary.md": "not UTF-8 text",
        "loop.md": "symbolic link that leads nowhere",
    }


def test_each_hostile_file_fails_alone_and_the_good_one_is_ingested(tmp_path, index, embedder):
    folder = tmp_path / "episodes"
    expected = hostile_files(folder)
    small_episode(folder, "s01e01-good.md")
    started = time.monotonic()
    report = ingest([folder], index, embedder)
    assert report.ingested == ["s01e01-good"]
    failed = {Path(error.path).name: str(error) for error in report.failed}
    assert set(failed) == set(expected)
    for name, reason in expected.items():
        assert reason in failed[name], failed[name]
        assert len(failed[name]) < 400  # bounded: no 800 MB repr of what the file held
    assert time.monotonic() - started < 30


def test_the_command_line_reports_them_without_a_traceback(tmp_path, capsys):
    folder = tmp_path / "episodes"
    hostile_files(folder)
    small_episode(folder, "s01e01-good.md")
    assert main(["ingest", str(folder), "--index", str(tmp_path / "index")]) == 0
    out, err = capsys.readouterr()
    assert "1 episodes ingested" in out
    assert "7 failed" in out
    assert "Traceback" not in err
    assert err.count("error: ") == 7


def test_a_file_over_the_configured_limit_is_refused_before_it_is_read(tmp_path):
    path = small_episode(tmp_path, "s01e01-small.md")
    with pytest.raises(EpisodeError, match="over the 1,000-byte limit"):
        parse_episode_file(path, max_bytes=1_000)


@pytest.mark.skipif(sys.platform != "linux", reason="address-space limits are Linux-specific here")
def test_parsing_the_bombs_stays_within_a_small_memory_ceiling(tmp_path):
    """In a process that may use at most 1 GiB of address space, every hostile file is refused;
    without the defences an alias bomb alone would need several GiB."""
    hostile_files(tmp_path)
    script = f"""
import json, resource
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from pathlib import Path
from retrieval.corpus.episodes import parse_episode_file
from retrieval.errors import EpisodeError
refused = []
for path in sorted(Path({str(tmp_path)!r}).iterdir()):
    try:
        parse_episode_file(path)
    except EpisodeError:
        refused.append(path.name)
# VmHWM is this process's own peak (ru_maxrss would carry over the parent's across exec).
peak_kib = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
print(json.dumps({{"refused": refused, "peak_mib": peak_kib / 1024}}))
"""
    done = run(python(script))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert len(result["refused"]) == 7
    assert result["peak_mib"] < 300
