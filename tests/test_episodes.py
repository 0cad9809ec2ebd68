"""Parsing episode files: the bundled one, every format variant, the newer format and bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from retrieval.corpus.episodes import EpisodeError, parse_episode_file, parse_episode_text
from tests.support.corpus import BUNDLED, EPISODES, NEWER, needs_shared, shared_episode

MINIMAL = """---
title: A test episode
guests: [jane]
season: 1
episode: 2
ids:
  youtube: {youtube}
transcript:
{transcript}
---
Links:
"""


def episode_text(transcript: str, youtube: str = "abcdefghijk") -> str:
    return MINIMAL.format(transcript=transcript, youtube=youtube)


def test_bundled_episode_is_the_seed_file_byte_for_byte():
    if EPISODES.is_dir():
        assert BUNDLED.read_bytes() == shared_episode(BUNDLED.name).read_bytes()
    episode = parse_episode_file(BUNDLED)
    assert episode.id == "s07e01-datatalksclub-behind-the-scenes"
    assert episode.title == "DataTalks.Club Behind the Scenes"
    assert (episode.season, episode.number, episode.youtube_id) == (7, 1, "IxTyq96juVE")
    assert episode.guests == ("eugeneyan", "alexeygrigorev")
    assert set(episode.speakers) == {"Eugene", "Alexey"}
    assert episode.links["youtube"] == "https://www.youtube.com/watch?v=IxTyq96juVE"
    first = next(item for item in episode.items if not item.is_header)
    assert (first.speaker, first.sec) == ("Eugene", 9)
    assert first.text.startswith("Welcome to another session of the DataTalks.Club podcast.")
    assert "Alexey’s background" in [item.text for item in episode.items if item.is_header]
    assert episode.url_at(613) == "https://www.youtube.com/watch?v=IxTyq96juVE&t=613s"


def test_follow_on_items_take_the_previous_second_and_speaker():
    episode = parse_episode_text(
        episode_text(
            "- line: First paragraph.\n  sec: 75\n  time: '1:15'\n  who: Jane\n"
            "- line: Still Jane, no timestamp.\n  who: Jane\n"
            "- line: A line with neither sec nor who.\n"
        ),
        "x.md",
    )
    assert [(i.speaker, i.sec) for i in episode.items] == [("Jane", 75), ("Jane", 75), ("Jane", 75)]


def test_a_repeated_line_without_speaker_or_time_is_dropped_not_credited_to_the_guest():
    episode = parse_episode_text(
        episode_text(
            "- line: So how did it start?\n  sec: 100\n  who: Host\n"
            "- line: It started with a newsletter.\n  sec: 130\n  who: Jane\n"
            "- line: So how did it start?\n"
            "- line: Then came the Slack community.\n"
            "- line: Nice.\n  sec: 150\n  who: Host\n"
            "- line: Nice.\n  sec: 151\n  who: Jane\n"
        ),
        "x.md",
    )
    assert [(i.text, i.speaker, i.sec) for i in episode.items] == [
        ("So how did it start?", "Host", 100),
        ("It started with a newsletter.", "Jane", 130),
        ("Then came the Slack community.", "Jane", 130),
        ("Nice.", "Host", 150),
        ("Nice.", "Jane", 151),
    ]


def test_sec_wins_over_a_wrong_time_and_time_is_used_only_without_sec():
    episode = parse_episode_text(
        episode_text(
            "- line: One.\n  sec: 3608\n  time: '60:08'\n  who: A\n"
            "- line: Two.\n  sec: 100\n  time: '37:567'\n  who: A\n"
            "- line: Three.\n  time: '1:02:03'\n  who: B\n"
        ),
        "x.md",
    )
    assert [i.sec for i in episode.items] == [3608, 100, 3723]


def test_speaker_names_with_trailing_punctuation_are_cleaned():
    episode = parse_episode_text(
        episode_text("- line: Hi.\n  sec: 1\n  who: 'Alexey:'\n- line: Hello.\n  sec: 2\n  who: Theo.\n"), "x.md"
    )
    assert [i.speaker for i in episode.items] == ["Alexey", "Theo"]


def test_who_holding_a_paragraph_is_kept_as_text_of_the_current_speaker():
    episode = parse_episode_text(
        episode_text(
            "- line: Opening words.\n  sec: 1\n  who: Lior\n"
            "- line: '= and the rest of it.'\n  sec: 5\n"
            "  who: Quantifying the value changes the conversation drastically.\n"
        ),
        "x.md",
    )
    second = episode.items[1]
    assert second.speaker == "Lior"
    assert second.text == "Quantifying the value changes the conversation drastically. and the rest of it."


def test_a_line_that_is_just_a_speaker_name_switches_the_speaker():
    episode = parse_episode_text(
        episode_text(
            "- line: Question?\n  sec: 1\n  who: Alexey\n"
            "- line: Answer.\n  sec: 2\n  who: Eddy\n"
            "- line: 43:32Alexey\n  sec: 3\n  who: Eddy\n"
            "- line: Alexey really says this.\n  sec: 4\n  who: Eddy\n"
            "- line: Eddy again.\n  sec: 5\n  who: Alexey\n"
        ),
        "x.md",
    )
    assert [(i.speaker, i.text) for i in episode.items] == [
        ("Alexey", "Question?"),
        ("Eddy", "Answer."),
        ("Alexey", "Alexey really says this."),
        ("Alexey", "Eddy again."),
    ]


def test_invisible_characters_and_cyrillic_lookalikes_are_removed():
    episode = parse_episode_text(
        episode_text('- line: "Zero\\u200bwidth,\\u00a0no-break\\u202a and \\u041dow"\n  sec: 1\n  who: A\n'), "x.md"
    )
    assert episode.items[0].text == "Zerowidth, no-break and How"


def test_malformed_youtube_id_is_repaired():
    episode = parse_episode_text(episode_text("- line: Hi.\n  sec: 1\n  who: A\n", youtube="NfAJAr7FvyY&t"), "x.md")
    assert episode.youtube_id == "NfAJAr7FvyY"
    assert episode.url_at(5) == "https://www.youtube.com/watch?v=NfAJAr7FvyY&t=5s"


def test_front_matter_closing_on_the_last_line_without_newline():
    text = episode_text("- line: Hi.\n  sec: 1\n  who: A\n").split("Links:")[0].rstrip("\n")
    assert text.endswith("---")
    assert parse_episode_text(text, "x.md").items[0].text == "Hi."


def test_newer_format_without_opening_fence_and_without_who():
    text = (
        "title: New\nguests:\n- someone\nids:\n  youtube: abcdefghijk\nduration: PT00H10M\ntopics: [a]\n"
        "transcript:\n- line: No who here.\n  sec: 3\n---\n"
    )
    episode = parse_episode_text(text, "new-style-name.md")
    assert episode.id == "new-style-name"
    assert episode.items[0].text == "No who here."
    assert episode.items[0].sec == 3
    assert episode.topics == ("a",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("just some markdown\n", "no YAML front matter"),
        ("---\ntitle: [unclosed\n---\n", "not valid YAML"),
        ("---\ntitle: No transcript\nids: {youtube: abcdefghijk}\n---\n", "no 'transcript'"),
        ("---\n- a list\n---\n", "not a mapping"),
        ("---\ntitle: x\nids: {youtube: abcdefghijk}\ntranscript: text\n---\n", "'transcript' must be a list"),
        (
            "---\ntitle: x\nids: {youtube: abcdefghijk}\nseason: one\ntranscript:\n- line: a\n---\n",
            "'season' must be a number",
        ),
        ("---\ntitle: x\nids: {youtube: '?'}\ntranscript:\n- line: a\n---\n", "no valid YouTube id"),
        ("---\ntitle: x\nids: {youtube: abcdefghijk}\ntranscript:\n- header: only a header\n---\n", "no spoken lines"),
    ],
)
def test_bad_files_give_one_clear_error_naming_file_and_reason(tmp_path: Path, text: str, reason: str):
    path = tmp_path / "bad.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EpisodeError) as caught:
        parse_episode_file(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


@needs_shared
def test_every_shared_episode_parses_with_speakers_and_seconds():
    for path in sorted(EPISODES.glob("*.md")) + sorted(NEWER.glob("*.md")):
        episode = parse_episode_file(path)
        spoken = [item for item in episode.items if not item.is_header]
        assert len(spoken) > 20, path
        assert len(episode.youtube_id) == 11, path
        assert all(item.text and "\u200b" not in item.text and "\u00a0" not in item.text for item in spoken), path
        assert sum(1 for item in spoken if item.speaker) / len(spoken) > 0.9, path


@needs_shared
def test_real_variants_in_the_shared_corpus():
    abc = parse_episode_file(shared_episode("s02e07-abc-data-science.md"))
    follow_on = [i for i in abc.items if i.text.startswith("That drew me towards my first role outside of university")]
    assert follow_on
    assert follow_on[0].sec == abc.items[abc.items.index(follow_on[0]) - 1].sec

    team = parse_episode_file(shared_episode("s01e03-building-ds-team.md"))
    assert any(i.sec == 3608 for i in team.items)  # time says '60:08'

    finops = parse_episode_file(
        shared_episode("s20e06-from-supply-chain-management-to-digital-warehousing-and-finops.md")
    )
    assert not any(i.text in {"Alexey", "43:32Alexey"} for i in finops.items)
    evolution = next(
        i for i in finops.items if i.text.startswith("Another thing I was thinking about is the evolution")
    )
    assert evolution.speaker == "Alexey"

    mindful = parse_episode_file(shared_episode("s21e02-mindful-data-strategy-from-pipelines-to-business-impact.md"))
    assert all(len(name.split()) <= 2 for name in mindful.speakers)
    assert any(i.text.startswith("Quantifying the value changes the conversation drastically.") for i in mindful.items)


@needs_shared
def test_newer_format_files_match_their_older_versions():
    newer = parse_episode_file(NEWER / "datatalksclub-building-scaling-data-community.md")
    older = parse_episode_file(BUNDLED)
    assert newer.youtube_id == older.youtube_id
    assert newer.clips
    assert newer.clips[0].name == "Podcast Introduction"
    assert newer.date
    assert newer.description
    assert newer.intro
    assert newer.topics
    assert (older.date, older.description, older.topics) == ("", "", ())
    newer_text = " ".join(i.text for i in newer.items if not i.is_header)
    assert newer_text.startswith("Welcome to another session of the DataTalks.Club podcast.")


def _with_repeated_questions(path: Path) -> tuple[str, int]:
    """The file with the newer site's quirk added: after each answer to a question, the question
    again with neither `who` nor time. Also how many were added."""
    lines = path.read_text(encoding="utf-8").splitlines()
    meta = yaml.safe_load("\n".join(lines[1 : lines.index("---", 1)]))
    transcript, added = [], 0
    items = meta["transcript"]
    for before, item, after in zip([{}, *items[:-1]], items, [*items[1:], {}], strict=True):
        transcript.append(item)
        asked = str(before.get("line", "")).strip()
        if asked.endswith("?") and before.get("who") not in (None, item.get("who"), after.get("who")):
            transcript.append({"line": before["line"]})
            added += 1
    return "---\n" + yaml.safe_dump(meta | {"transcript": transcript}, allow_unicode=True) + "---\n", added


@pytest.mark.slow
@needs_shared
def test_repeated_questions_without_speaker_or_time_are_never_shown_as_the_guests():
    added = shown = 0
    for path in sorted(EPISODES.glob("*.md")) + sorted(NEWER.glob("*.md")):
        text, count = _with_repeated_questions(path)
        truth = Counter((i.text, i.speaker, i.sec) for i in parse_episode_file(path).items)
        quirky = Counter((i.text, i.speaker, i.sec) for i in parse_episode_text(text, path).items)
        added += count
        shown += (quirky - truth).total()
    assert added > 500
    assert shown == 0
