"""URLs that may carry a password (`https://user:password@host/…`, `?password=…`): shown masked,
and requested with the password as credentials rather than in the URL, so no log line holds it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit


def masked_url(url: str) -> str:
    """`url` with any password (in the user part or a `password=` parameter) replaced by `***`."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is None and not any(key == "password" for key, _ in query):
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user_part, host_part = netloc.rsplit("@", 1)
        netloc = f"{user_part.split(':', 1)[0]}:***@{host_part}"
    masked_query = urlencode([(key, "***" if key == "password" else value) for key, value in query], safe="*")
    return parts._replace(netloc=netloc, query=masked_query).geturl()


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """`url` without its `user:password@`, and that user and password (None when it has none)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=host).geturl(), (parts.username or "", parts.password or "")
