"""What a user sees in the terminal by default: results and one summary, no library chatter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import cli, run
from tests.support.corpus import small_episode
from tests.support.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.slow  # each test runs the command in a subprocess, as a user would


def test_ingest_prints_one_summary_and_details_only_with_verbose(tmp_path: Path) -> None:
    folder = tmp_path / "episodes"
    for name in ("s01e01-a.md", "s01e02-b.md"):
        small_episode(folder, name)
    quiet = run(cli("ingest", str(folder), "--index", str(tmp_path / "index")))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip().splitlines() == [quiet.stdout.strip()]
    assert "2 episodes ingested" in quiet.stdout
    assert quiet.stderr == ""
    small_episode(folder, "s01e03-c.md")
    verbose = run(cli("ingest", str(folder), "--index", str(tmp_path / "index"), "-v"))
    assert "ingested s01e03-c" in verbose.stderr


def test_llm_answers_print_no_http_request_lines(bundled_index_dir: Path) -> None:
    with FakeOpenAI(reply="Sponsors pay for workshops [1].") as server:
        env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}
        result = run(cli("ask", "How does DataTalks.Club make money?", "--index", str(bundled_index_dir)), env=env)
    assert result.returncode == 0, result.stderr
    assert "Sponsors pay for workshops [1]." in result.stdout
    assert server.requests
    assert result.stderr == ""
