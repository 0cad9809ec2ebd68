"""Who speaks in which role: the host asks, the guest answers.

A question is best answered by the guest's reply, not by the host's question before it nor by the
host's introduction of the episode, so ranking and quoting need each line's role. Guests come from
the episode's front matter (slugs, full names from the guest pages); transcripts call speakers by
first name. The host is whoever is not a guest; when every speaker is listed as a guest (or none
is), it is the speaker who asks the most questions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from retrieval.corpus.episodes import Episode


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def is_guest(speaker: str, guest_names: Iterable[str]) -> bool:
    """True when `speaker` (a transcript name, usually a first name) is one of the guests
    (full names like "Eugene Yan", or slugs like "eugeneyan")."""
    key = _key(speaker)
    if not key:
        return False
    for guest in guest_names:
        words = [_key(word) for word in guest.split()]
        if key in words or key == _key(guest) or (len(words) == 1 and words[0].startswith(key)):
            return True
    return False


def is_question(text: str) -> bool:
    """A paragraph that ends by asking something (hosts' questions do; answers rarely do)."""
    return text.rstrip(" \"'”’)").endswith("?")


def host_speakers(episode: Episode, guest_names: Sequence[str]) -> tuple[str, ...]:
    """The speakers of `episode` who host it."""
    spoken = [item for item in episode.items if not item.is_header and item.speaker]
    speakers = list(dict.fromkeys(item.speaker for item in spoken))
    hosts = [speaker for speaker in speakers if not is_guest(speaker, [*guest_names, *episode.guests])]
    if hosts and len(hosts) < len(speakers):
        return tuple(hosts)
    questions = Counter(item.speaker for item in spoken if is_question(item.text))
    lines = Counter(item.speaker for item in spoken)
    if not questions:
        return ()
    # Everyone (or no one) is a listed guest: the host is who asks the largest share of questions.
    asker = max(speakers, key=lambda speaker: (questions[speaker] / lines[speaker], questions[speaker]))
    return (asker,)
