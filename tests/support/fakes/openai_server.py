"""A fake OpenAI API served over real HTTP on 127.0.0.1.

Point ``openai.OpenAI`` / ``langchain_openai.ChatOpenAI`` / ``OpenAIEmbeddings``
at ``server.base_url`` to exercise the real client stack::

    with FakeOpenAI(reply="Episode 12, at 03:15.") as server:
        llm = ChatOpenAI(base_url=server.base_url, api_key="test", model="gpt-4o-mini")
        assert llm.invoke("hi").content == "Episode 12, at 03:15."

Endpoints: ``POST /v1/chat/completions`` (JSON, or SSE chunks when the body has
``"stream": true``) and ``POST /v1/embeddings`` (deterministic vectors from
``fake_embedding``, as floats or base64 per ``encoding_format``). Failures are
switched on with the ``status``, ``delay`` and ``malformed`` attributes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any, TypedDict

from . import FakeHTTPServer, Request, Response

Reply = str | Callable[[dict[str, Any]], str]
"""A fixed reply text, or a function from the request JSON to the reply text."""

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"

# (type, code, message) of OpenAI error bodies; other statuses fall back to the HTTP phrase.
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "We could not parse the JSON body of your request."),
    404: ("invalid_request_error", "unknown_url", "Unknown request URL."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
}


class RecordedRequest(TypedDict):
    """A request the fake received: path, lower-cased headers, parsed JSON body (None if invalid), and
    when it arrived (time.perf_counter(), for benchmarks)."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


def fake_embedding(text: str, dimensions: int = 8) -> list[float]:
    """Deterministic unit vector for ``text``, exactly representable as float32.

    Equal texts give equal vectors and different texts (almost surely) differ,
    and the float32 rounding makes the float and base64 wire formats agree.
    """
    blocks = math.ceil(dimensions * 2 / hashlib.sha256().digest_size)
    digest = b"".join(hashlib.sha256(f"{block}:{text}".encode()).digest() for block in range(blocks))
    values = [int.from_bytes(digest[2 * i : 2 * i + 2], "big") / 32767.5 - 1.0 for i in range(dimensions)]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(value / norm for value in values))
    return list(struct.unpack(f"<{dimensions}f", packed))


class FakeOpenAI(FakeHTTPServer):
    """Fake OpenAI server; use as ``with FakeOpenAI() as server:``.

    Attributes, settable at any time (read on each request):

    * ``reply`` -- chat answer text, or ``callable(request_json) -> str``.
    * ``status`` -- anything but 200 answers every request with that status and an
      OpenAI error body ``{"error": {"message", "type", "param", "code"}}``.
    * ``delay`` -- seconds to wait before answering (provokes client timeouts).
    * ``malformed`` -- answer 200 with a body that is not valid JSON (or, for a
      streaming request, an SSE event whose data is not valid JSON).
    * ``embedding_dim`` -- vector size when the request has no ``dimensions``.
    * ``retry_after_ms`` -- ``retry-after-ms`` header sent with errors, so clients
      that retry do so quickly.
    * ``lists_models`` -- False makes ``GET /v1/models`` a 404, as on servers that only chat.
    * ``chunk_delay`` -- seconds between the SSE events of a streamed completion after its first
      word (the role and the first word come at once, as from a model that has begun).
    * ``stall`` -- ``(n, seconds)``: after the first ``n`` SSE events, wait ``seconds``
      before the rest, as a model that stops mid-answer.

    ``requests`` records every request, failed ones included, in arrival order.
    """

    def __init__(self, reply: Reply = "This is a fake reply.", *, embedding_dim: int = 8) -> None:
        super().__init__()
        self.reply: Reply = reply
        self.status = 200
        self.delay = 0.0
        self.malformed = False
        self.embedding_dim = embedding_dim
        self.retry_after_ms = 10
        self.lists_models = True
        self.chunk_delay = 0.0
        self.stall: tuple[int, float] | None = None
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        """The ``base_url`` for OpenAI clients, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"{self.url}/v1"

    def handle(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(
                RecordedRequest(path=request.path, headers=request.headers, body=body, at=time.perf_counter())
            )

        if self.delay > 0:
            self.pause(self.delay)
        if self.status != 200:
            return self._error(self.status)
        if request.method == "GET" and request.path == "/v1/models" and self.lists_models:
            return Response.json(
                {"object": "list", "data": [{"id": DEFAULT_MODEL, "object": "model", "created": 0, "owned_by": "fake"}]}
            )
        if not isinstance(body, dict):
            return self._error(400)
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._chat_completion(body)
        if request.method == "POST" and request.path == "/v1/embeddings":
            return self._embeddings(body)
        return self._error(404)

    def _error(self, status: int) -> Response:
        default_type = "server_error" if status >= 500 else "invalid_request_error"
        error_type, code, message = _ERRORS.get(status, (default_type, None, HTTPStatus(status).phrase))
        error = {"message": message, "type": error_type, "param": None, "code": code}
        return Response.json({"error": error}, status=status, headers={"retry-after-ms": str(self.retry_after_ms)})

    def _chat_completion(self, body: dict[str, Any]) -> Response:
        streaming = bool(body.get("stream"))
        if self.malformed:
            if streaming:
                broken_event = b'data: {"id": "chatcmpl-broken", "choices": [\n\n'
                return Response(body=[broken_event], content_type="text/event-stream")
            return Response(body=b'{"id": "chatcmpl-broken", "choices": [')

        content = self.reply(body) if callable(self.reply) else self.reply
        prompt_tokens = sum(_count_tokens(_message_text(message)) for message in body.get("messages", []))
        completion_tokens = _count_tokens(content)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        header = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "created": int(time.time()),
            "model": body.get("model", DEFAULT_MODEL),
        }

        if streaming:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _completion_chunks(header, content, usage if include_usage else None)
            return Response(body=self._paced(chunks), content_type="text/event-stream")
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
        return Response.json({**header, "object": "chat.completion", "choices": [choice], "usage": usage})

    def _paced(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks``, ``chunk_delay`` seconds apart (the role and first word at once) and with any ``stall``,
        as a model writes."""
        for n, chunk in enumerate(chunks):
            if n > 1 and self.chunk_delay > 0:
                self.pause(self.chunk_delay)
            if self.stall is not None and n == self.stall[0]:
                self.pause(self.stall[1])
            yield chunk

    def _embeddings(self, body: dict[str, Any]) -> Response:
        if self.malformed:
            return Response(body=b'{"object": "list", "data": [')

        dimensions = int(body.get("dimensions") or self.embedding_dim)
        as_base64 = body.get("encoding_format") == "base64"
        texts = [item if isinstance(item, str) else json.dumps(item) for item in _embedding_inputs(body.get("input"))]
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dimensions)
            encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if as_base64 else vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(_count_tokens(text) for text in texts)
        return Response.json(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", DEFAULT_EMBEDDING_MODEL),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _completion_chunks(header: dict[str, Any], content: str, usage: dict[str, int] | None) -> Iterator[bytes]:
    """SSE events of a streamed completion: role, content pieces, stop, optional usage, [DONE]."""
    chunk = {**header, "object": "chat.completion.chunk"}
    deltas = [{"role": "assistant", "content": ""}] + [{"content": piece} for piece in _split_words(content)]
    for delta in deltas:
        yield _sse({**chunk, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]})
    yield _sse({**chunk, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]})
    if usage is not None:
        yield _sse({**chunk, "choices": [], "usage": usage})
    yield b"data: [DONE]\n\n"


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _split_words(text: str) -> list[str]:
    """Split before each word that follows whitespace; the pieces join back to ``text``."""
    return re.split(r"(?<=\s)(?=\S)", text)


def _count_tokens(text: str) -> int:
    return len(text.split())


def _message_text(message: dict[str, Any]) -> str:
    """Text of a chat message whose content is a string or a list of content parts."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content if isinstance(part, dict))


def _embedding_inputs(value: Any) -> list[Any]:
    """Normalise ``input`` (a string, token list, or list of either) to a list of items."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        return [value]
    return list(value or [])
