"""Commands that need no search start at once: `--help`, argument errors, `doctor --help` and
`feedback` load no model, LangChain, Chroma or BM25 (checked in a fresh interpreter)."""

from __future__ import annotations

import json

from tests.support.cli import python, run

HEAVY = ("chromadb", "langchain", "langchain_core", "langchain_openai", "onnxruntime", "tokenizers", "bm25s")

RUN_COMMANDS = """
import contextlib, io, json, sys
from bot.cli.main import main

outcomes = {}
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    outcomes[" ".join(argv)] = [code, out.getvalue() + err.getvalue()]
heavy = sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)
print(json.dumps({"outcomes": outcomes, "heavy": heavy}))
"""


def test_help_argument_errors_doctor_help_and_feedback_load_no_search_stack(tmp_path):
    commands = [["--help"], ["search"], ["ask", "--k", "many", "q"], ["nonsense"], ["doctor", "--help"]]
    commands.append(["feedback", "--since", "all"])
    done = run(
        python(RUN_COMMANDS, json.dumps(commands), json.dumps(HEAVY)),
        env={"PODCAST_BOT_STATE": str(tmp_path / "state.sqlite3")},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    outcomes = result["outcomes"]
    assert outcomes["--help"][0] == 0
    assert "ingest" in outcomes["--help"][1]
    assert outcomes["search"][0] == 2
    assert outcomes["nonsense"][0] == 2
    assert outcomes["ask --k many q"][0] == 2
    assert "--k" in outcomes["ask --k many q"][1]
    assert outcomes["doctor --help"][0] == 0
    assert outcomes["feedback --since all"][0] == 0
    assert result["heavy"] == []
