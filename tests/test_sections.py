"""Sections: they follow headers, stay small enough to embed, overlap a little and link to the second."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from retrieval.corpus.episodes import parse_episode_file, parse_episode_text
from retrieval.corpus.sections import MAX_WORDS, OVERLAP_WORDS, build_sections, timestamp
from retrieval.corpus.speakers import host_speakers
from tests.support.corpus import BUNDLED, NEWER, needs_shared


def test_sections_follow_headers_and_link_to_their_start():
    episode = parse_episode_file(BUNDLED)
    sections = build_sections(episode)
    headers = [item.text for item in episode.items if item.is_header]
    assert [s.header for s in sections if s.header]
    assert {s.header for s in sections if s.header} <= set(headers)
    for section in sections:
        assert section.url == f"https://www.youtube.com/watch?v=IxTyq96juVE&t={section.start_sec}s"
        assert section.start_sec <= section.end_sec
        assert section.episode_title == "DataTalks.Club Behind the Scenes"
        assert len(section.search_text.split()) <= MAX_WORDS + 40
    assert [s.position for s in sections] == list(range(len(sections)))
    assert sections[0].start_sec == 9
    assert sections[0].text.startswith("Eugene: Welcome to another session")


def test_a_section_opening_with_the_hosts_question_links_to_where_the_guest_answers():
    episode = parse_episode_file(BUNDLED)
    sections = build_sections(episode, hosts=host_speakers(episode, episode.guests))
    asking = [s for s in sections if s.lines()[0].by_host and any(not line.by_host for line in s.lines())]
    answering = [s for s in sections if not s.lines()[0].by_host]
    assert asking
    assert answering
    for section in asking:
        lines = section.lines()
        first_answer = next(line for line in lines if not line.by_host)
        assert section.answer_sec == first_answer.sec >= section.start_sec
        assert first_answer.speaker == "Alexey"
    # "Can you take us back to the very beginning?" (10:05) is answered from 10:13.
    beginning = next(s for s in asking if s.start_sec == 605)
    assert (beginning.answer_sec, timestamp(beginning.answer_sec)) == (613, "10:13")
    # A section that opens inside the guest's answer links to its own start.
    assert all(s.answer_sec == s.start_sec for s in answering)
    # An answer whose second is out of order (before its question) is linked at the section's start.
    out_of_order = replace(beginning, line_secs=(605, 590, *beginning.line_secs[2:]))
    assert out_of_order.answer_sec == 605


def test_speakers_are_named_in_the_text():
    sections = build_sections(parse_episode_file(BUNDLED))
    both = next(s for s in sections if len(s.speakers) == 2)
    for speaker in both.speakers:
        assert f"{speaker}: " in both.text


def test_consecutive_sections_in_a_header_block_overlap():
    sentences = " ".join(f"Point {n} is made here." for n in range(60))  # 300 words, one paragraph
    text = (
        f"---\ntitle: T\nids: {{youtube: abcdefghijk}}\ntranscript:\n- line: {sentences}\n  sec: 10\n  who: Ann\n---\n"
    )
    sections = build_sections(parse_episode_text(text, "overlap.md"))
    points = [[int(n) for n in re.findall(r"Point (\d+)", s.text)] for s in sections]
    assert len(sections) >= 2
    for before, after in itertools.pairwise(points):
        shared = len(set(before) & set(after))
        # The next section starts with the last sentences of the one before: a little, never a lot.
        assert 0 < shared * 5 <= OVERLAP_WORDS
        assert before[-shared:] == after[:shared]
    assert sorted({n for p in points for n in p}) == list(range(60))


def test_section_ids_are_stable_content_hashes():
    episode = parse_episode_file(BUNDLED)
    first = [s.id for s in build_sections(episode)]
    assert first == [s.id for s in build_sections(parse_episode_file(BUNDLED))]
    assert len(set(first)) == len(first)
    changed = BUNDLED.read_text(encoding="utf-8").replace("Something between that.", "Something else entirely.")
    second = [s.id for s in build_sections(parse_episode_text(changed, BUNDLED))]
    assert len(set(first) - set(second)) in range(1, 4)


def test_a_long_monologue_is_split_into_small_sections():
    words = " ".join(f"word{n}." for n in range(400))
    text = f"---\ntitle: T\nids: {{youtube: abcdefghijk}}\ntranscript:\n- line: {words}\n  sec: 10\n  who: Ann\n---\n"
    sections = build_sections(parse_episode_text(text, "long.md"))
    assert len(sections) >= 3
    assert all(len(s.text.split()) <= MAX_WORDS + 1 for s in sections)
    assert all(s.speakers == ("Ann",) for s in sections)


def test_timestamps_read_like_youtube():
    assert [timestamp(s) for s in (0, 59, 613, 3600, 3723)] == ["0:00", "0:59", "10:13", "1:00:00", "1:02:03"]


@needs_shared
def test_quotable_clips_name_sections_when_there_are_no_headers():
    text = (NEWER / "finops-for-data-engineers.md").read_text(encoding="utf-8")
    without_headers = "\n".join(line for line in text.split("\n") if not line.startswith("- header:"))
    episode = parse_episode_text(without_headers, "finops-for-data-engineers.md")
    names = {clip.name for clip in episode.clips}
    sections = build_sections(episode)
    assert {s.header for s in sections} <= names | {""}
    assert len({s.header for s in sections}) > 5
