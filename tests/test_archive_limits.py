"""Hostile site archives: headers that declare a gigabyte, and more pages than the site could have,
are refused in one line before memory is spent on them. Offline: the archives are local files."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from bot.cli.main import main
from retrieval.errors import SyncError
from retrieval.sources.site_archive import Limits, read_site_archive
from tests.support.archive_server import github_archive
from tests.support.cli import python, run
from tests.support.corpus import BUNDLED, cut_episode

GIB = 1 << 30


def header_bomb(path: Path, kind: bytes) -> None:
    """A .tar.gz whose first header (pax or GNU long name) declares 1 GiB, which follows, as gzip
    members of 1 MiB each: about 1 MB on disk."""
    header = tarfile.TarInfo("././@PaxHeader" if kind == tarfile.XHDTYPE else "././@LongLink")
    header.type, header.size = kind, GIB
    filler = gzip.compress(b"9" * (1 << 20))
    with path.open("wb") as file:
        file.write(gzip.compress(header.tobuf(tarfile.GNU_FORMAT)))
        for _ in range(GIB >> 20):
            file.write(filler)


@pytest.mark.slow
@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME], ids=["pax", "gnu-long-name"])
def test_a_header_declaring_a_gigabyte_is_refused_within_a_small_memory_ceiling(tmp_path, kind):
    archive = tmp_path / "bomb.tar.gz"
    header_bomb(archive, kind)
    assert archive.stat().st_size < 2_000_000
    script = """
import json, sys
from bot.cli.main import main
from retrieval.errors import SyncError
from retrieval.sources.site_archive import Limits, read_site_archive
code = main(["sync"])
# VmHWM is this process's own peak (ru_maxrss would carry over the parent's across exec).
peak_kib = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
print(json.dumps({"code": code, "peak_mib": peak_kib / 1024}))
"""
    env = {
        "PODCAST_BOT_SOURCE": str(archive),
        "PODCAST_BOT_EPISODES": str(tmp_path / "site" / "episodes"),
        "PODCAST_BOT_INDEX": str(tmp_path / "index"),
    }
    done = run(python(script), env=env)
    result = json.loads(done.stdout)
    assert result["code"] == 1, done.stderr
    assert f"has a {GIB:,}-byte header (at most 65,536 are accepted); refusing all of it" in done.stderr
    assert done.stderr.count("error: ") == 1
    assert "Traceback" not in done.stderr
    assert result["peak_mib"] < 300
    assert not (tmp_path / "site" / "episodes").exists()


def test_an_archive_with_more_pages_than_the_site_could_have_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    page = cut_episode(BUNDLED).encode()
    archive = tmp_path / "site.tar.gz"
    archive.write_bytes(github_archive({f"_podcast/s01e{n:04d}.md": page for n in range(5_001)}, "c" * 40))
    monkeypatch.setenv("PODCAST_BOT_SOURCE", str(archive))
    monkeypatch.setenv("PODCAST_BOT_EPISODES", str(tmp_path / "site" / "episodes"))
    monkeypatch.setenv("PODCAST_BOT_INDEX", str(tmp_path / "index"))
    assert main(["sync"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "more than 5,000 episode and guest pages (_podcast/*.md, _people/*.md); refusing all of it" in err
    assert not (tmp_path / "site" / "episodes").exists()


def _archive(entries: list[tuple[tarfile.TarInfo, bytes]]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": "c" * 40}) as tar:
        for entry, data in entries:
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def _page(name: str, data: bytes, **pax: str) -> tuple[tarfile.TarInfo, bytes]:
    entry = tarfile.TarInfo(f"datatalksclub.github.io-main/{name}")
    entry.pax_headers = pax
    return entry, data


def test_long_names_in_pax_headers_and_skipped_entries_are_read_as_before(tmp_path):
    episode = cut_episode(BUNDLED).encode()
    long_name = "_podcast/" + "a-very-long-episode-name-" * 8 + ".md"
    stream = _archive(
        [_page("assets/image.png", b"\x89PNG" * 3000), _page(long_name, episode), _page("_people/ann.md", b"---\n")]
    )
    commit, files = read_site_archive(stream, "site.tar.gz", tmp_path)
    assert commit == "c" * 40
    assert files is not None
    assert (files.episodes, files.people) == (1, 1)
    assert (tmp_path / long_name).read_bytes() == episode


def test_more_entries_than_the_cap_are_refused(tmp_path):
    stream = _archive([_page(f"assets/{n}.png", b"x") for n in range(4)])
    with pytest.raises(SyncError, match=r"site\.tar\.gz: the archive has more than 3 entries; refusing all of it"):
        read_site_archive(stream, "site.tar.gz", tmp_path, limits=Limits(entries=3))


def test_a_pax_size_record_that_would_move_the_next_header_is_refused(tmp_path):
    stream = _archive([_page("_podcast/a.md", cut_episode(BUNDLED).encode(), size="10")])
    with pytest.raises(SyncError, match="has a pax 'size' record, which GitHub never writes"):
        read_site_archive(stream, "site.tar.gz", tmp_path)
